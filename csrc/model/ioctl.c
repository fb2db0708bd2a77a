/*
 * ioctl.c: jailmodel_ioctl, which hands a request to its subsystem by the
 * request's group letter, as FreeBSD's ioctl(2) reaches ifioctl for a
 * socket's 'i' requests and devfs_rioctl for a devfs directory's 'D' ones.
 */
#include <errno.h>
#include <stddef.h>

#include "model.h"

/* IOCGROUP of sys/ioccom.h. */
#define JM_IOCGROUP(x) (((x) >> 8) & 0xff)

int
jailmodel_ioctl(int fd, unsigned long request, void *data)
{
	switch (JM_IOCGROUP(request)) {
	case 'i':
		return jm_net_ioctl(fd, request, data);
	case 'D':
		return jm_devfs_ioctl(fd, request, data);
	default:
		errno = ENOTTY;
		return -1;
	}
}

/* The layouts of FreeBSD's structures on amd64 and arm64 (shared/spec/
 * freebsd-jail-host.md Z.3); tools/xbuild.py checks them against FreeBSD's
 * own headers, member by member. */
_Static_assert(sizeof(struct jailmodel_ifreq) == 32, "struct ifreq");
_Static_assert(sizeof(struct jailmodel_in_aliasreq) == 68, "struct in_aliasreq");
_Static_assert(sizeof(struct jailmodel_in6_aliasreq) == 136, "struct in6_aliasreq");
_Static_assert(offsetof(struct jailmodel_in6_aliasreq, ifra_lifetime) == 104, "ifra_lifetime");
_Static_assert(sizeof(struct jailmodel_in6_ifreq) == 288, "struct in6_ifreq");
_Static_assert(sizeof(struct jailmodel_devfs_rule) == 236, "struct devfs_rule");
_Static_assert(offsetof(struct jailmodel_devfs_rule, dr_mode) == 232, "dr_mode");
_Static_assert(sizeof(struct jailmodel_statfs) == 2344, "struct statfs");
_Static_assert(offsetof(struct jailmodel_statfs, f_fstypename) == 280, "f_fstypename");
_Static_assert(offsetof(struct jailmodel_statfs, f_mntonname) == 1320, "f_mntonname");
_Static_assert(sizeof(struct jailmodel_sockaddr_dl) == 54, "struct sockaddr_dl");
