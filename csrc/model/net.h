/*
 * net.h: the model's network interfaces (placeholder until net.c lands).
 */
#ifndef JAILCORE_MODEL_NET_H
#define JAILCORE_MODEL_NET_H

#include <stdint.h>

struct jm_host;

struct jm_net {
	int32_t reserved;
};

void jm_net_init(struct jm_host *h);
/* O(1) checks at every lock; full checks when a host file is mapped. */
int jm_net_core_valid(const struct jm_host *h);
int jm_net_valid(const struct jm_host *h);
/* A prison is being freed: its vnet, if it has one, goes away. */
void jm_net_prison_freed(struct jm_host *h, int slot);
int jm_net_ioctl(int fd, unsigned long request, void *data);

#endif
