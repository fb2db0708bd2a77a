/*
 * mount.h: the model's mount table (nmount(2), unmount(2), getfsstat(2)).
 *
 * The table records mounts; on Linux nothing is mounted for real.  Entries
 * [0, n) are in mount order, as getfsstat lists them.  A mount point is
 * kept as a global path (from the host's root, as a jail's path is) and as
 * the device and inode that stat(2) gave for its directory when it was
 * mounted: a descriptor of that directory names the mount (DEVFSIO).
 * Like every table of the host, its contents are checked before use.
 */
#ifndef JAILCORE_MODEL_MOUNT_H
#define JAILCORE_MODEL_MOUNT_H

#include <stdint.h>

#include "devfsrule.h"

struct jm_host;

#define JM_MNT_MAX 128
#define JM_MFSNAMELEN 16
#define JM_MNAMELEN 1024

struct jm_mount {
	char fstype[JM_MFSNAMELEN];
	char fspath[JM_MNAMELEN]; /* global */
	char from[JM_MNAMELEN];
	uint64_t flags;           /* MNT_* as getfsstat reports them */
	uint64_t dev, ino;        /* of the mount point directory */
	int32_t fsid[2];
	int32_t prison;           /* slot of the mounting process's prison */
	uint32_t prison_gen;
	uint32_t owner;           /* uid of the mounting process (f_owner) */
	int32_t ruleset;          /* devfs: the active ruleset, 0 for none */
	struct jm_devfs_nodes nodes; /* devfs: the device nodes */
};

struct jm_mnt {
	uint32_t n;           /* entries in use, m[0 .. n) */
	uint32_t next_fsid;   /* fsid[0] of the next mount */
	struct jm_mount m[JM_MNT_MAX];
	struct jm_devfs devfs; /* the ruleset registry (devfsrule.c) */
};

void jm_mnt_init(struct jm_host *h);
/* O(1) checks at every lock; full checks when a host file is mapped. */
int jm_mnt_core_valid(const struct jm_host *h);
int jm_mnt_valid(const struct jm_host *h);
void jm_mnt_prison_freed(struct jm_host *h, int slot);
/* The devfs mount whose mount point directory `fd` is, and that the caller
 * can see (entry index), or -1: not a directory, not a devfs mount. */
int jm_mnt_devfs_at(struct jm_host *h, int fd);
/* DEVFSIO_* on `fd` (devfsrule.c). */
int jm_devfs_ioctl(int fd, unsigned long request, void *data);

#endif
