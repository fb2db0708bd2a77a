/*
 * mount.c: the seam's mount calls, nmount(2), unmount(2) and getfsstat(2),
 * on both backends.  getfsstat's rows are FreeBSD's struct statfs on the
 * kernel (from <sys/mount.h>) and the model's struct jailmodel_statfs, of the
 * same layout, on the model; both are copied into struct jc_mount_row, so
 * that Python never sees a statfs.
 */
#include <stdlib.h>
#include <string.h>

#include "jailcore.h"

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/ucred.h>
#include <sys/mount.h>
#endif

#define JC_MNT_NOWAIT 2

int
jc_nmount(int backend, struct iovec *iov, unsigned int niov, int flags)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_nmount(iov, niov, flags));
#if defined(__FreeBSD__)
	return jc_result(nmount(iov, niov, flags));
#else
	(void)iov, (void)niov, (void)flags;
	return -ENOSYS;
#endif
}

int
jc_unmount(int backend, const char *path, int flags)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_unmount(path, flags));
#if defined(__FreeBSD__)
	return jc_result(unmount(path, flags));
#else
	(void)path, (void)flags;
	return -ENOSYS;
#endif
}

/* One statfs, of either kind, into a row. */
#define JC_ROW_FROM(row, sf)                                                        \
	do {                                                                        \
		memcpy((row)->fstype, (sf)->f_fstypename, sizeof((row)->fstype));   \
		(row)->fstype[sizeof((row)->fstype) - 1] = '\0';                    \
		memcpy((row)->from, (sf)->f_mntfromname, sizeof((row)->from));      \
		(row)->from[sizeof((row)->from) - 1] = '\0';                        \
		memcpy((row)->on, (sf)->f_mntonname, sizeof((row)->on));            \
		(row)->on[sizeof((row)->on) - 1] = '\0';                            \
		(row)->flags = (sf)->f_flags;                                       \
		memcpy((row)->fsid, &(sf)->f_fsid, sizeof((row)->fsid));            \
		(row)->owner = (sf)->f_owner;                                       \
	} while (0)

/* Count the mounts, then read them into a buffer with room for a few more
 * (a mount made in between), as getmntinfo(3) does. */
#define JC_GETFSSTAT(type, call)                                                    \
	do {                                                                        \
		int n = (call)(NULL, 0, JC_MNT_NOWAIT), got;                        \
		type *buf;                                                          \
		if (n < 0)                                                          \
			return jc_result(n);                                        \
		buf = calloc((size_t)n + 8, sizeof(type));                          \
		if (buf == NULL)                                                    \
			return -ENOMEM;                                             \
		got = (call)(buf, (long)(((size_t)n + 8) * sizeof(type)), JC_MNT_NOWAIT); \
		if (got < 0) {                                                      \
			got = jc_result(got);                                       \
			free(buf);                                                  \
			return got;                                                 \
		}                                                                   \
		for (int i = 0; i < got && i < nrows; i++)                          \
			JC_ROW_FROM(&rows[i], &buf[i]);                             \
		free(buf);                                                          \
		return got == n + 8 ? got + 1 : got;                                \
	} while (0)

int
jc_getfsstat(int backend, struct jc_mount_row *rows, int nrows)
{
	if (backend == JC_BACKEND_MODEL)
		JC_GETFSSTAT(struct jailmodel_statfs, jailmodel_getfsstat);
#if defined(__FreeBSD__)
	JC_GETFSSTAT(struct statfs, getfsstat);
#else
	(void)rows, (void)nrows;
	return -ENOSYS;
#endif
}
