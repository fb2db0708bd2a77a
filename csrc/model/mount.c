/*
 * mount.c: the model's mount table and devfs rulesets (placeholder).
 */
#include <errno.h>
#include <stddef.h>

#include "model.h"

void jm_mnt_init(struct jm_host *h) { JM_UNUSED(h); }
int jm_mnt_core_valid(const struct jm_host *h) { JM_UNUSED(h); return 1; }
int jm_mnt_valid(const struct jm_host *h) { JM_UNUSED(h); return 1; }
void jm_mnt_prison_freed(struct jm_host *h, int slot) { JM_UNUSED(h); JM_UNUSED(slot); }

int
jailmodel_nmount(struct iovec *iov, unsigned int niov, int flags)
{
	JM_UNUSED(iov), JM_UNUSED(niov), JM_UNUSED(flags);
	errno = ENOSYS;
	return -1;
}

int
jailmodel_unmount(const char *path, int flags)
{
	JM_UNUSED(path), JM_UNUSED(flags);
	errno = ENOSYS;
	return -1;
}

int
jailmodel_getfsstat(struct jailmodel_statfs *buf, long bufsize, int mode)
{
	JM_UNUSED(buf), JM_UNUSED(bufsize), JM_UNUSED(mode);
	errno = ENOSYS;
	return -1;
}

int
jm_mnt_devfs_at(struct jm_host *h, int fd)
{
	JM_UNUSED(h), JM_UNUSED(fd);
	return -1;
}
