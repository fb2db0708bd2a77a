/*
 * net.c: the model's network interfaces (placeholder: nothing yet).
 */
#include <errno.h>
#include <stddef.h>

#include "model.h"

void jm_net_init(struct jm_host *h) { JM_UNUSED(h); }
int jm_net_core_valid(const struct jm_host *h) { JM_UNUSED(h); return 1; }
int jm_net_valid(const struct jm_host *h) { JM_UNUSED(h); return 1; }
void jm_net_prison_freed(struct jm_host *h, int slot) { JM_UNUSED(h); JM_UNUSED(slot); }

int
jm_net_ioctl(int fd, unsigned long request, void *data)
{
	JM_UNUSED(fd), JM_UNUSED(request), JM_UNUSED(data);
	errno = ENOSYS;
	return -1;
}

int
jailmodel_getifaddrs(struct jailmodel_ifaddrs **ifap)
{
	JM_UNUSED(ifap);
	errno = ENOSYS;
	return -1;
}

void
jailmodel_freeifaddrs(struct jailmodel_ifaddrs *ifa)
{
	JM_UNUSED(ifa);
}

int
jailmodel_add_ether(const char *name)
{
	JM_UNUSED(name);
	errno = ENOSYS;
	return -1;
}
