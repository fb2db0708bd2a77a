/*
 * mount.h: the model's mount table and devfs rulesets (placeholder until
 * mount.c lands).
 */
#ifndef JAILCORE_MODEL_MOUNT_H
#define JAILCORE_MODEL_MOUNT_H

#include <stdint.h>

struct jm_host;

struct jm_mnt {
	int32_t reserved;
};

void jm_mnt_init(struct jm_host *h);
int jm_mnt_core_valid(const struct jm_host *h);
int jm_mnt_valid(const struct jm_host *h);
void jm_mnt_prison_freed(struct jm_host *h, int slot);
int jm_devfs_ioctl(int fd, unsigned long request, void *data);

#endif
