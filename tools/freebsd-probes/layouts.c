/*
 * layouts.c: compiled by tools/xbuild.py for each FreeBSD target, never run.
 *
 * The kernel model's host-side structures (csrc/model/jailmodel.h) claim
 * FreeBSD's layouts, so that a request built for FreeBSD works on the model
 * unchanged and the seam (csrc/net.c, csrc/mount.c) can hand FreeBSD's own
 * structures to either backend.  Each assertion compares one member's
 * offset and size, or a structure's size, with FreeBSD's header: the file
 * compiles only if every one holds.  The request numbers and constants are
 * compared the same way.
 */
#include <sys/param.h>
#include <sys/event.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <fs/devfs/devfs.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <ifaddrs.h>
#include <stddef.h>

#include "jailmodel.h"

#define SAME_SIZE(ours, theirs) \
	_Static_assert(sizeof(struct ours) == sizeof(struct theirs), #theirs " size")
#define SAME_MEMBER(ours, theirs, m_ours, m_theirs)                                   \
	_Static_assert(offsetof(struct ours, m_ours) == offsetof(struct theirs, m_theirs) && \
	                   sizeof(((struct ours *)0)->m_ours) ==                            \
	                       sizeof(((struct theirs *)0)->m_theirs),                      \
	               #theirs "." #m_theirs)
#define SAME_VALUE(ours, theirs) _Static_assert((ours) == (theirs), #theirs)

SAME_SIZE(jailmodel_sockaddr, sockaddr);
SAME_MEMBER(jailmodel_sockaddr, sockaddr, sa_len, sa_len);
SAME_MEMBER(jailmodel_sockaddr, sockaddr, sa_family, sa_family);
SAME_MEMBER(jailmodel_sockaddr, sockaddr, sa_data, sa_data);

SAME_SIZE(jailmodel_sockaddr_in, sockaddr_in);
SAME_MEMBER(jailmodel_sockaddr_in, sockaddr_in, sin_len, sin_len);
SAME_MEMBER(jailmodel_sockaddr_in, sockaddr_in, sin_family, sin_family);
SAME_MEMBER(jailmodel_sockaddr_in, sockaddr_in, sin_port, sin_port);
SAME_MEMBER(jailmodel_sockaddr_in, sockaddr_in, sin_addr, sin_addr);
SAME_MEMBER(jailmodel_sockaddr_in, sockaddr_in, sin_zero, sin_zero);

SAME_SIZE(jailmodel_sockaddr_in6, sockaddr_in6);
SAME_MEMBER(jailmodel_sockaddr_in6, sockaddr_in6, sin6_len, sin6_len);
SAME_MEMBER(jailmodel_sockaddr_in6, sockaddr_in6, sin6_family, sin6_family);
SAME_MEMBER(jailmodel_sockaddr_in6, sockaddr_in6, sin6_port, sin6_port);
SAME_MEMBER(jailmodel_sockaddr_in6, sockaddr_in6, sin6_flowinfo, sin6_flowinfo);
SAME_MEMBER(jailmodel_sockaddr_in6, sockaddr_in6, sin6_addr, sin6_addr);
SAME_MEMBER(jailmodel_sockaddr_in6, sockaddr_in6, sin6_scope_id, sin6_scope_id);

SAME_SIZE(jailmodel_sockaddr_dl, sockaddr_dl);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_len, sdl_len);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_family, sdl_family);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_index, sdl_index);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_type, sdl_type);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_nlen, sdl_nlen);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_alen, sdl_alen);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_slen, sdl_slen);
SAME_MEMBER(jailmodel_sockaddr_dl, sockaddr_dl, sdl_data, sdl_data);

SAME_SIZE(jailmodel_ifreq, ifreq);
SAME_MEMBER(jailmodel_ifreq, ifreq, ifr_name, ifr_name);
SAME_MEMBER(jailmodel_ifreq, ifreq, ifr_ifru.ifru_addr, ifr_addr);
SAME_MEMBER(jailmodel_ifreq, ifreq, ifr_ifru.ifru_flags, ifr_ifru.ifru_flags);
SAME_MEMBER(jailmodel_ifreq, ifreq, ifr_ifru.ifru_jid, ifr_jid);
SAME_MEMBER(jailmodel_ifreq, ifreq, ifr_ifru.ifru_data, ifr_data);

SAME_SIZE(jailmodel_in_aliasreq, in_aliasreq);
SAME_MEMBER(jailmodel_in_aliasreq, in_aliasreq, ifra_name, ifra_name);
SAME_MEMBER(jailmodel_in_aliasreq, in_aliasreq, ifra_addr, ifra_addr);
SAME_MEMBER(jailmodel_in_aliasreq, in_aliasreq, ifra_broadaddr, ifra_broadaddr);
SAME_MEMBER(jailmodel_in_aliasreq, in_aliasreq, ifra_mask, ifra_mask);
SAME_MEMBER(jailmodel_in_aliasreq, in_aliasreq, ifra_vhid, ifra_vhid);

SAME_SIZE(jailmodel_in6_addrlifetime, in6_addrlifetime);
SAME_MEMBER(jailmodel_in6_addrlifetime, in6_addrlifetime, ia6t_expire, ia6t_expire);
SAME_MEMBER(jailmodel_in6_addrlifetime, in6_addrlifetime, ia6t_preferred, ia6t_preferred);
SAME_MEMBER(jailmodel_in6_addrlifetime, in6_addrlifetime, ia6t_vltime, ia6t_vltime);
SAME_MEMBER(jailmodel_in6_addrlifetime, in6_addrlifetime, ia6t_pltime, ia6t_pltime);

SAME_SIZE(jailmodel_in6_aliasreq, in6_aliasreq);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_name, ifra_name);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_addr, ifra_addr);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_dstaddr, ifra_dstaddr);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_prefixmask, ifra_prefixmask);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_flags, ifra_flags);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_lifetime, ifra_lifetime);
SAME_MEMBER(jailmodel_in6_aliasreq, in6_aliasreq, ifra_vhid, ifra_vhid);

SAME_SIZE(jailmodel_in6_ifreq, in6_ifreq);
SAME_MEMBER(jailmodel_in6_ifreq, in6_ifreq, ifr_name, ifr_name);
SAME_MEMBER(jailmodel_in6_ifreq, in6_ifreq, ifr_ifru.ifru_addr, ifr_ifru.ifru_addr);

SAME_SIZE(jailmodel_devfs_rule, devfs_rule);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_magic, dr_magic);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_id, dr_id);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_icond, dr_icond);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_dswflags, dr_dswflags);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_pathptrn, dr_pathptrn);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_iacts, dr_iacts);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_bacts, dr_bacts);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_uid, dr_uid);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_gid, dr_gid);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_mode, dr_mode);
SAME_MEMBER(jailmodel_devfs_rule, devfs_rule, dr_incset, dr_incset);

SAME_SIZE(jailmodel_statfs, statfs);
SAME_MEMBER(jailmodel_statfs, statfs, f_version, f_version);
SAME_MEMBER(jailmodel_statfs, statfs, f_type, f_type);
SAME_MEMBER(jailmodel_statfs, statfs, f_flags, f_flags);
SAME_MEMBER(jailmodel_statfs, statfs, f_bsize, f_bsize);
SAME_MEMBER(jailmodel_statfs, statfs, f_blocks, f_blocks);
SAME_MEMBER(jailmodel_statfs, statfs, f_namemax, f_namemax);
SAME_MEMBER(jailmodel_statfs, statfs, f_owner, f_owner);
SAME_MEMBER(jailmodel_statfs, statfs, f_fsid, f_fsid);
SAME_MEMBER(jailmodel_statfs, statfs, f_fstypename, f_fstypename);
SAME_MEMBER(jailmodel_statfs, statfs, f_mntfromname, f_mntfromname);
SAME_MEMBER(jailmodel_statfs, statfs, f_mntonname, f_mntonname);

SAME_SIZE(jailmodel_ifaddrs, ifaddrs);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_next, ifa_next);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_name, ifa_name);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_flags, ifa_flags);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_addr, ifa_addr);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_netmask, ifa_netmask);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_dstaddr, ifa_dstaddr);
SAME_MEMBER(jailmodel_ifaddrs, ifaddrs, ifa_data, ifa_data);

SAME_VALUE(JAILMODEL_AF_INET, AF_INET);
SAME_VALUE(JAILMODEL_AF_INET6, AF_INET6);
SAME_VALUE(JAILMODEL_AF_LINK, AF_LINK);
SAME_VALUE(JAILMODEL_IFNAMSIZ, IFNAMSIZ);
SAME_VALUE(JAILMODEL_MFSNAMELEN, MFSNAMELEN);
SAME_VALUE(JAILMODEL_MNAMELEN, MNAMELEN);
SAME_VALUE(JAILMODEL_DEVFS_MAXPTRNLEN, DEVFS_MAXPTRNLEN);
SAME_VALUE(JAILMODEL_DEVFS_MAGIC, DEVFS_MAGIC);
SAME_VALUE(JAILMODEL_SIOCSIFFLAGS, SIOCSIFFLAGS);
SAME_VALUE(JAILMODEL_SIOCGIFFLAGS, SIOCGIFFLAGS);
SAME_VALUE(JAILMODEL_SIOCDIFADDR, SIOCDIFADDR);
SAME_VALUE(JAILMODEL_SIOCSIFNAME, SIOCSIFNAME);
SAME_VALUE(JAILMODEL_SIOCAIFADDR, SIOCAIFADDR);
SAME_VALUE(JAILMODEL_SIOCSIFVNET, SIOCSIFVNET);
SAME_VALUE(JAILMODEL_SIOCSIFRVNET, SIOCSIFRVNET);
SAME_VALUE(JAILMODEL_SIOCIFDESTROY, SIOCIFDESTROY);
SAME_VALUE(JAILMODEL_SIOCIFCREATE, SIOCIFCREATE);
SAME_VALUE(JAILMODEL_SIOCIFCREATE2, SIOCIFCREATE2);
SAME_VALUE(JAILMODEL_SIOCAIFADDR_IN6, SIOCAIFADDR_IN6);
SAME_VALUE(JAILMODEL_SIOCDIFADDR_IN6, SIOCDIFADDR_IN6);
SAME_VALUE(JAILMODEL_DEVFSIO_RADD, DEVFSIO_RADD);
SAME_VALUE(JAILMODEL_DEVFSIO_RDEL, DEVFSIO_RDEL);
SAME_VALUE(JAILMODEL_DEVFSIO_RAPPLY, DEVFSIO_RAPPLY);
SAME_VALUE(JAILMODEL_DEVFSIO_RAPPLYID, DEVFSIO_RAPPLYID);
SAME_VALUE(JAILMODEL_DEVFSIO_RGETNEXT, DEVFSIO_RGETNEXT);
SAME_VALUE(JAILMODEL_DEVFSIO_SUSE, DEVFSIO_SUSE);
SAME_VALUE(JAILMODEL_DEVFSIO_SAPPLY, DEVFSIO_SAPPLY);
SAME_VALUE(JAILMODEL_DEVFSIO_SGETNEXT, DEVFSIO_SGETNEXT);

/* A translation unit needs a declaration besides assertions. */
int jailcore_layouts_checked(void);
int jailcore_layouts_checked(void) { return 1; }

/* kqueue(2) (csrc/model/kevent.c): FreeBSD 12's struct kevent; the jail
 * filters and notes exist in FreeBSD 15's header only. */
SAME_SIZE(jailmodel_kevent, kevent);
SAME_MEMBER(jailmodel_kevent, kevent, ident, ident);
SAME_MEMBER(jailmodel_kevent, kevent, filter, filter);
SAME_MEMBER(jailmodel_kevent, kevent, flags, flags);
SAME_MEMBER(jailmodel_kevent, kevent, fflags, fflags);
SAME_MEMBER(jailmodel_kevent, kevent, data, data);
SAME_MEMBER(jailmodel_kevent, kevent, udata, udata);
SAME_MEMBER(jailmodel_kevent, kevent, ext, ext);
#ifdef EVFILT_JAIL
SAME_VALUE(JAILMODEL_EVFILT_JAIL, EVFILT_JAIL);
SAME_VALUE(JAILMODEL_EVFILT_JAILDESC, EVFILT_JAILDESC);
#endif
