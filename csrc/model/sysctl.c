/*
 * sysctl.c: the model's sysctl(3) surface.
 *
 * The tree is described by one constant table, jm_oids[] below.  Whether an
 * entry exists is decided at every call from the host state (the FreeBSD
 * release being modelled, the modules loaded), and every value is read from
 * the host at the time of the call, so loading a module or switching release
 * changes the tree at once.
 *
 * Numbers: the meta-sysctls (0.*), CTL_KERN (1) and the kern.* leaves keep
 * FreeBSD's fixed numbers; every other oid gets an OID_AUTO-style number
 * CTL_AUTO_START + its position in the table, so numbers never depend on
 * which modules are loaded.  A node that is itself a parameter (host, ip4,
 * ip6, allow.mount, sysv*) carries its type in an empty-named child whose
 * number is the node's number minus one, which is where libjail looks for it
 * (its NODE case asks {0,1} for the names of node-1 and node+1).  The
 * module-provided entries come last in the table, so they have the highest
 * numbers and are enumerated after the built-in siblings.
 *
 * Request semantics follow FreeBSD's kern_sysctl.c (described, not copied):
 * a handler first produces the old value (copying what fits into oldp and
 * counting the full size), and only then consumes the new value; the call
 * fails with ENOMEM when oldp was too small, and *oldlenp then holds the
 * caller's buffer size (what was copied), or the size needed when oldp is
 * NULL.  Errors other than ENOMEM leave *oldlenp alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "model.h"

/* ---- FreeBSD constants (sys/sysctl.h) ------------------------------------ */

#define CTL_MAXNAME 24
#define CTL_AUTO_START 0x100
#define OID_AUTO (-1)

#define CTLTYPE 0xfu
#define CTLTYPE_NODE 1u
#define CTLTYPE_INT 2u
#define CTLTYPE_STRING 3u
#define CTLTYPE_STRUCT 5u
#define CTLTYPE_UINT 6u
#define CTLTYPE_ULONG 8u
#define CTLTYPE_U8 0xau
#define CTLTYPE_U32 0xfu

#define CTLFLAG_RD 0x80000000u
#define CTLFLAG_WR 0x40000000u
#define CTLFLAG_RW (CTLFLAG_RD | CTLFLAG_WR)
#define CTLFLAG_ANYBODY 0x10000000u
#define CTLFLAG_PRISON 0x04000000u
#define CTLFLAG_DYN 0x02000000u
#define CTLFLAG_TUN 0x00080000u
#define CTLFLAG_RDTUN (CTLFLAG_RD | CTLFLAG_TUN)
#define CTLFLAG_MPSAFE 0x00040000u
#define CTLFLAG_CAPRD 0x00008000u
#define CTLFLAG_CAPWR 0x00004000u
#define CTLFLAG_CAPRW (CTLFLAG_CAPRD | CTLFLAG_CAPWR)

#define CTL_SYSCTL 0
#define CTL_SYSCTL_NAME 1
#define CTL_SYSCTL_NEXT 2
#define CTL_SYSCTL_NAME2OID 3
#define CTL_SYSCTL_OIDFMT 4
#define CTL_SYSCTL_OIDDESCR 5
#define CTL_KERN 1
#define KERN_OSRELEASE 2
#define KERN_SECURELVL 9
#define KERN_HOSTNAME 10
#define KERN_OSRELDATE 24

#define XPRISON_VERSION 3

/* ---- the oid table ------------------------------------------------------- */

/* What reading (and writing) an oid does. */
enum jm_handler {
	H_NONE,          /* a node without handler: reading it is EISDIR */
	H_META_NAME,     /* {0,1,...} */
	H_META_NEXT,     /* {0,2,...} */
	H_META_NAME2OID, /* {0,3} */
	H_META_OIDFMT,   /* {0,4,...} */
	H_META_OIDDESCR, /* {0,5,...} */
	H_PARAM,         /* security.jail.param.*: type announcement */
	H_PARAM_META,    /* security.jail.param.meta/env: "A" with the buffer size */
	H_JAILED,
	H_VNET,
	H_LIST,
	H_MAX_AF_IPS,
	H_DEFAULT_ALLOW,     /* deprecated *_allowed: arg = pr_allow bit */
	H_DEFAULT_ALLOW_INV, /* socket_unixiproute_only: inverted bit */
	H_MOUNT_ALLOWED,     /* mount_<module fs>_allowed: bit from jm_modules[] */
	H_ENFORCE_STATFS,
	H_DEVFS_RULESET,
	H_CHILDREN_MAX,
	H_CHILDREN_CUR,
	H_META_MAXBUFSIZE,
	H_ENV,
	H_KERN_OSRELEASE,
	H_KERN_SECURELEVEL,
	H_KERN_HOSTNAME,
	H_KERN_OSRELDATE,
	H_RACCT_ENABLE,
	H_RCTL_MAXBUFSIZE,
};

struct jm_oid {
	int16_t parent;    /* index of the parent node; ROOT at the top */
	int32_t num;       /* fixed number, or OID_AUTO */
	const char *name;
	uint32_t kind;     /* CTLTYPE_* | CTLFLAG_* */
	const char *fmt;
	const char *descr;
	uint8_t handler;   /* enum jm_handler */
	uint8_t since;     /* 0: every release; 15: FreeBSD 15 only */
	uint8_t module;    /* 0: built in; JM_MOD_* + 1: exists while loaded */
	uint8_t racct;     /* exists in a kernel built with RACCT only */
	uint64_t arg;      /* handler argument (string size, element size, bit) */
};

#define ROOT (-1)

/* Table entry helpers.  Extra designated initialisers (.since, .module) may
 * follow the fixed arguments. */
#define NODE(par, nm, access, d, ...)                                          \
	{ .parent = (par), .num = OID_AUTO, .name = (nm),                      \
	  .kind = CTLTYPE_NODE | (access), .fmt = "N", .descr = (d),           \
	  .handler = H_NONE, __VA_ARGS__ }
#define PNODE(nm, d, ...) NODE(O_PARAM, nm, CTLFLAG_MPSAFE, d, __VA_ARGS__)
#define PARAM(par, nm, kd, f, a, d, ...)                                       \
	{ .parent = (par), .num = OID_AUTO, .name = (nm),                      \
	  .kind = (kd) | CTLFLAG_MPSAFE, .fmt = (f), .descr = (d),             \
	  .handler = H_PARAM, .arg = (a), __VA_ARGS__ }
#define PINT(par, nm, access, f, d, ...)                                       \
	PARAM(par, nm, CTLTYPE_INT | (access), f, 0, d, __VA_ARGS__)
#define PSTR(par, nm, access, len, d, ...)                                     \
	PARAM(par, nm, CTLTYPE_STRING | (access), "A", len, d, __VA_ARGS__)
#define ALLOW(nm, d, ...) PINT(O_ALLOW, nm, CTLFLAG_RW, "B", d, __VA_ARGS__)
#define LEAF(par, nm, kd, f, h, a, d, ...)                                     \
	{ .parent = (par), .num = OID_AUTO, .name = (nm), .kind = (kd),        \
	  .fmt = (f), .descr = (d), .handler = (h), .arg = (a), __VA_ARGS__ }
#define FIXED(par, n, nm, kd, f, h, d)                                         \
	{ .parent = (par), .num = (n), .name = (nm), .kind = (kd), .fmt = (f), \
	  .descr = (d), .handler = (h) }
#define MOD(m) .module = (m) + 1

enum {
	/* security.* (numbered CTL_AUTO_START + index) */
	O_SECURITY,
	O_JAIL,
	J_LIST,
	J_JAILED,
	J_VNET,
	J_MAX_AF_IPS,
	J_SET_HOSTNAME_ALLOWED,
	J_SOCKET_UNIXIPROUTE_ONLY,
	J_SYSVIPC_ALLOWED,
	J_ALLOW_RAW_SOCKETS,
	J_CHFLAGS_ALLOWED,
	J_MOUNT_ALLOWED,
	J_MLOCK_ALLOWED,
	J_ENFORCE_STATFS,
	J_DEVFS_RULESET,
	J_CHILDREN,
	J_CHILDREN_MAX,
	J_CHILDREN_CUR,
	O_PARAM,
	P_JID,
	P_PARENT,
	P_NAME,
	P_PATH,
	P_SECURELEVEL,
	P_OSRELDATE,
	P_OSRELEASE,
	P_ENFORCE_STATFS,
	P_DEVFS_RULESET,
	P_PERSIST,
	P_VNET,
	P_DYING,
	P_CHILDREN,
	P_CHILDREN_CUR,
	P_CHILDREN_MAX,
	P_HOST_TYPE, /* security.jail.param.host. (number = host - 1) */
	P_HOST,
	P_HOST_HOSTNAME,
	P_HOST_DOMAINNAME,
	P_HOST_HOSTUUID,
	P_HOST_HOSTID,
	P_CPUSET,
	P_CPUSET_ID,
	P_IP4_TYPE,
	P_IP4,
	P_IP4_ADDR,
	P_IP4_SADDRSEL,
	P_IP6_TYPE,
	P_IP6,
	P_IP6_ADDR,
	P_IP6_SADDRSEL,
	O_ALLOW,
	A_SET_HOSTNAME,
	A_SYSVIPC,
	A_RAW_SOCKETS,
	A_CHFLAGS,
	A_QUOTAS,
	A_SOCKET_AF,
	A_MLOCK,
	A_RESERVED_PORTS,
	A_READ_MSGBUF,
	A_UNPRIV_PROC_DEBUG,
	A_UNPRIV_PARENT_TAMPERING,
	A_SUSER,
	A_NFSD,
	A_EXTATTR,
	A_ADJTIME,
	A_SETTIME,
	A_ROUTING,
	A_MOUNT_TYPE, /* security.jail.param.allow.mount. (number = mount - 1) */
	O_ALLOW_MOUNT,
	A_MOUNT_DEVFS,
	P_META,
	P_ENV,
	J_META_MAXBUFSIZE,
	J_ENV,
	J_MOUNT_DEVFS_ALLOWED,
	K_RACCT,
	K_RACCT_ENABLE,
	K_RACCT_RCTL,
	K_RACCT_RCTL_MAXBUFSIZE,
	/* module-provided, numbered after every built-in oid */
	M_MOUNT_FDESCFS,
	M_MOUNT_FDESCFS_ALLOWED,
	M_MOUNT_NULLFS,
	M_MOUNT_NULLFS_ALLOWED,
	M_MOUNT_PROCFS,
	M_MOUNT_PROCFS_ALLOWED,
	M_MOUNT_TMPFS,
	M_MOUNT_TMPFS_ALLOWED,
	M_MOUNT_ZFS,
	M_MOUNT_ZFS_ALLOWED,
	M_SYSVMSG_TYPE,
	M_SYSVMSG,
	M_SYSVSEM_TYPE,
	M_SYSVSEM,
	M_SYSVSHM_TYPE,
	M_SYSVSHM,
	/* fixed FreeBSD numbers */
	F_SYSCTL,
	F_SYSCTL_NAME,
	F_SYSCTL_NEXT,
	F_SYSCTL_NAME2OID,
	F_SYSCTL_OIDFMT,
	F_SYSCTL_OIDDESCR,
	F_KERN,
	F_KERN_OSRELEASE,
	F_KERN_SECURELEVEL,
	F_KERN_HOSTNAME,
	F_KERN_OSRELDATE,
	JM_NOIDS
};

#define RW CTLFLAG_RW
#define RD CTLFLAG_RD
#define RDTUN CTLFLAG_RDTUN
#define MPSAFE CTLFLAG_MPSAFE
#define INT_RD (CTLTYPE_INT | RD | MPSAFE)
/* The deprecated *_allowed defaults: RW in FreeBSD, read-only here (the model
 * keeps no jail_default_allow). */
#define ALLOWED_KIND (CTLTYPE_INT | RD | MPSAFE)
#define MOUNT_FS(fs, m)                                                        \
	PINT(O_ALLOW_MOUNT, #fs, RW | CTLFLAG_DYN, "B",                        \
	    "Jail may mount file systems of type " #fs, MOD(m))
#define MOUNT_FS_ALLOWED(fs, m)                                                \
	LEAF(O_JAIL, "mount_" #fs "_allowed", ALLOWED_KIND | CTLFLAG_DYN, "I", \
	    H_MOUNT_ALLOWED, 0,                                                 \
	    "Default for jail(2): jails may mount " #fs " (deprecated)", MOD(m))
#define SYSV_TYPE(nm, m, d)                                                    \
	PINT(M_##nm, "", RW, "E,jailsys", d, MOD(m))
#define SYSV_NODE(nm, m, d) PNODE(nm, d, MOD(m))

static const struct jm_oid jm_oids[JM_NOIDS] = {
	[O_SECURITY] = NODE(ROOT, "security", RW | MPSAFE, "Security policies"),
	[O_JAIL] = NODE(O_SECURITY, "jail", RW | MPSAFE, "Jails"),
	[J_LIST] = LEAF(O_JAIL, "list", CTLTYPE_STRUCT | RD | MPSAFE, "S", H_LIST, 0,
	    "A struct xprison record for every jail below the caller"),
	[J_JAILED] = LEAF(O_JAIL, "jailed", INT_RD, "I", H_JAILED, 0,
	    "Whether the caller runs in a jail"),
	[J_VNET] = LEAF(O_JAIL, "vnet", INT_RD, "I", H_VNET, 0,
	    "Whether the caller's jail has a virtual network stack of its own"),
	[J_MAX_AF_IPS] = LEAF(O_JAIL, "jail_max_af_ips",
	    CTLTYPE_UINT | RW | MPSAFE, "IU", H_MAX_AF_IPS, 0,
	    "Most addresses of one family a jail may have (deprecated)"),
	[J_SET_HOSTNAME_ALLOWED] = LEAF(O_JAIL, "set_hostname_allowed",
	    ALLOWED_KIND, "I", H_DEFAULT_ALLOW, JM_PR_ALLOW_SET_HOSTNAME,
	    "Default for jail(2): jails may set their hostname (deprecated)"),
	[J_SOCKET_UNIXIPROUTE_ONLY] = LEAF(O_JAIL, "socket_unixiproute_only",
	    ALLOWED_KIND, "I", H_DEFAULT_ALLOW_INV, JM_PR_ALLOW_SOCKET_AF,
	    "Default for jail(2): jails only get UNIX, IP and routing sockets "
	    "(deprecated)"),
	[J_SYSVIPC_ALLOWED] = LEAF(O_JAIL, "sysvipc_allowed", ALLOWED_KIND, "I",
	    H_DEFAULT_ALLOW, JM_PR_ALLOW_SYSVIPC,
	    "Default for jail(2): jails may use System V IPC (deprecated)"),
	[J_ALLOW_RAW_SOCKETS] = LEAF(O_JAIL, "allow_raw_sockets", ALLOWED_KIND,
	    "I", H_DEFAULT_ALLOW, JM_PR_ALLOW_RAW_SOCKETS,
	    "Default for jail(2): jailed root may open raw sockets (deprecated)"),
	[J_CHFLAGS_ALLOWED] = LEAF(O_JAIL, "chflags_allowed", ALLOWED_KIND, "I",
	    H_DEFAULT_ALLOW, JM_PR_ALLOW_CHFLAGS,
	    "Default for jail(2): jails may change system file flags (deprecated)"),
	[J_MOUNT_ALLOWED] = LEAF(O_JAIL, "mount_allowed", ALLOWED_KIND, "I",
	    H_DEFAULT_ALLOW, JM_PR_ALLOW_MOUNT,
	    "Default for jail(2): jails may mount jail-safe file systems "
	    "(deprecated)"),
	[J_MLOCK_ALLOWED] = LEAF(O_JAIL, "mlock_allowed", ALLOWED_KIND, "I",
	    H_DEFAULT_ALLOW, JM_PR_ALLOW_MLOCK,
	    "Default for jail(2): jails may wire memory pages (deprecated)"),
	[J_ENFORCE_STATFS] = LEAF(O_JAIL, "enforce_statfs",
	    CTLTYPE_INT | RW | MPSAFE, "I", H_ENFORCE_STATFS, 0,
	    "Mount visibility of new jails; inside a jail, its own (deprecated)"),
	[J_DEVFS_RULESET] = LEAF(O_JAIL, "devfs_ruleset", INT_RD, "I",
	    H_DEVFS_RULESET, 0, "The caller's devfs ruleset (deprecated)"),
	[J_CHILDREN] = NODE(O_JAIL, "children", RW | MPSAFE,
	    "The caller's limit and count of jails below it"),
	[J_CHILDREN_MAX] = LEAF(J_CHILDREN, "max", INT_RD, "I", H_CHILDREN_MAX, 0,
	    "How many jails the caller's jail may hold below it"),
	[J_CHILDREN_CUR] = LEAF(J_CHILDREN, "cur", INT_RD, "I", H_CHILDREN_CUR, 0,
	    "How many jails exist below the caller's jail"),

	[O_PARAM] = NODE(O_JAIL, "param", RW | MPSAFE,
	    "The parameters of jail_set(2) and jail_get(2), with their types"),
	[P_JID] = PINT(O_PARAM, "jid", RDTUN, "I", "Jail identifier"),
	[P_PARENT] = PINT(O_PARAM, "parent", RD, "I",
	    "Identifier of the jail's parent"),
	[P_NAME] = PSTR(O_PARAM, "name", RW, JM_MAXHOSTNAMELEN, "Jail name"),
	[P_PATH] = PSTR(O_PARAM, "path", RDTUN, JM_MAXPATHLEN,
	    "Root directory of the jail"),
	[P_SECURELEVEL] = PINT(O_PARAM, "securelevel", RW, "I",
	    "Securelevel inside the jail"),
	[P_OSRELDATE] = PINT(O_PARAM, "osreldate", RDTUN, "I",
	    "kern.osreldate seen inside the jail"),
	[P_OSRELEASE] = PSTR(O_PARAM, "osrelease", RDTUN, JM_OSRELEASELEN,
	    "kern.osrelease seen inside the jail"),
	[P_ENFORCE_STATFS] = PINT(O_PARAM, "enforce_statfs", RW, "I",
	    "Which mount points the jail can see"),
	[P_DEVFS_RULESET] = PINT(O_PARAM, "devfs_ruleset", RW, "I",
	    "devfs ruleset for mounts inside the jail"),
	[P_PERSIST] = PINT(O_PARAM, "persist", RW, "B",
	    "Jail stays without processes"),
	[P_VNET] = PINT(O_PARAM, "vnet", RDTUN, "E,jailsys",
	    "Own or inherited network stack"),
	[P_DYING] = PINT(O_PARAM, "dying", RD, "B", "Jail is being removed"),
	[P_CHILDREN] = PNODE("children", "Jails below this one"),
	[P_CHILDREN_CUR] = PINT(P_CHILDREN, "cur", RD, "I",
	    "Number of jails below this one"),
	[P_CHILDREN_MAX] = PINT(P_CHILDREN, "max", RW, "I",
	    "Limit on the jails below this one"),
	[P_HOST_TYPE] = PINT(P_HOST, "", RW, "E,jailsys",
	    "Own or inherited host identity"),
	[P_HOST] = PNODE("host", "Own or inherited host identity"),
	[P_HOST_HOSTNAME] = PSTR(P_HOST, "hostname", RW, JM_MAXHOSTNAMELEN,
	    "Host name of the jail"),
	[P_HOST_DOMAINNAME] = PSTR(P_HOST, "domainname", RW, JM_MAXHOSTNAMELEN,
	    "NIS domain name of the jail"),
	[P_HOST_HOSTUUID] = PSTR(P_HOST, "hostuuid", RW, JM_HOSTUUIDLEN,
	    "Host UUID of the jail"),
	[P_HOST_HOSTID] = PARAM(P_HOST, "hostid", CTLTYPE_ULONG | RW, "LU", 0,
	    "Host ID of the jail"),
	[P_CPUSET] = PNODE("cpuset", "CPU set of the jail"),
	[P_CPUSET_ID] = PINT(P_CPUSET, "id", RD, "I",
	    "Identifier of the jail's root CPU set"),
	[P_IP4_TYPE] = PINT(P_IP4, "", RDTUN, "E,jailsys",
	    "IPv4 restricted or inherited"),
	[P_IP4] = PNODE("ip4", "IPv4 restricted or inherited"),
	[P_IP4_ADDR] = PARAM(P_IP4, "addr", CTLTYPE_STRUCT | RW, "S,in_addr,a",
	    sizeof(uint32_t), "IPv4 addresses of the jail"),
	[P_IP4_SADDRSEL] = PINT(P_IP4, "saddrsel", RW, "B",
	    "Pick IPv4 source addresses, not only the first address"),
	[P_IP6_TYPE] = PINT(P_IP6, "", RDTUN, "E,jailsys",
	    "IPv6 restricted or inherited"),
	[P_IP6] = PNODE("ip6", "IPv6 restricted or inherited"),
	[P_IP6_ADDR] = PARAM(P_IP6, "addr", CTLTYPE_STRUCT | RW, "S,in6_addr,a",
	    16, "IPv6 addresses of the jail"),
	[P_IP6_SADDRSEL] = PINT(P_IP6, "saddrsel", RW, "B",
	    "Pick IPv6 source addresses, not only the first address"),
	[O_ALLOW] = PNODE("allow", "Permissions of the jail"),
	[A_SET_HOSTNAME] = ALLOW("set_hostname", "May change its host name"),
	[A_SYSVIPC] = ALLOW("sysvipc", "May use System V IPC (old switch)"),
	[A_RAW_SOCKETS] = ALLOW("raw_sockets", "May open raw sockets"),
	[A_CHFLAGS] = ALLOW("chflags", "May change system file flags"),
	[A_QUOTAS] = ALLOW("quotas", "May manage file system quotas"),
	[A_SOCKET_AF] = ALLOW("socket_af",
	    "May open sockets of every address family"),
	[A_MLOCK] = ALLOW("mlock", "May wire memory pages"),
	[A_RESERVED_PORTS] = ALLOW("reserved_ports",
	    "May bind ports below 1024"),
	[A_READ_MSGBUF] = ALLOW("read_msgbuf",
	    "May read the kernel message buffer"),
	[A_UNPRIV_PROC_DEBUG] = ALLOW("unprivileged_proc_debug",
	    "Ordinary users may debug their processes"),
	[A_UNPRIV_PARENT_TAMPERING] = ALLOW("unprivileged_parent_tampering",
	    "Same-uid processes of the parent may signal and debug its "
	    "processes", .since = 15),
	[A_SUSER] = ALLOW("suser", "Root inside has root's privileges"),
	[A_NFSD] = ALLOW("nfsd", "May run an NFS server"),
	[A_EXTATTR] = ALLOW("extattr", "May set system extended attributes"),
	[A_ADJTIME] = ALLOW("adjtime", "May slew the clock"),
	[A_SETTIME] = ALLOW("settime", "May set the clock"),
	[A_ROUTING] = ALLOW("routing", "May change routing tables", .since = 15),
	[A_MOUNT_TYPE] = PINT(O_ALLOW_MOUNT, "", RW, "B",
	    "May mount jail-safe file systems"),
	[O_ALLOW_MOUNT] = NODE(O_ALLOW, "mount", MPSAFE,
	    "May mount jail-safe file systems"),
	[A_MOUNT_DEVFS] = PINT(O_ALLOW_MOUNT, "devfs", RW | CTLFLAG_DYN, "B",
	    "Jail may mount file systems of type devfs"),
	[P_META] = LEAF(O_PARAM, "meta", CTLTYPE_STRING | RW | MPSAFE,
	    "A,keyvalue", H_PARAM_META, 0,
	    "Key=value text kept for the parent, hidden from the jail",
	    .since = 15),
	[P_ENV] = LEAF(O_PARAM, "env", CTLTYPE_STRING | RW | MPSAFE,
	    "A,keyvalue", H_PARAM_META, 0, "Key=value text the jail can read",
	    .since = 15),
	[J_META_MAXBUFSIZE] = LEAF(O_JAIL, "meta_maxbufsize",
	    CTLTYPE_U32 | RW | MPSAFE, "IU", H_META_MAXBUFSIZE, 0,
	    "Largest meta or env text, in bytes", .since = 15),
	[J_ENV] = LEAF(O_JAIL, "env", CTLTYPE_STRING | RD | MPSAFE, "A", H_ENV, 0,
	    "The env text that the parent gave the caller's jail", .since = 15),
	[J_MOUNT_DEVFS_ALLOWED] = LEAF(O_JAIL, "mount_devfs_allowed",
	    ALLOWED_KIND | CTLFLAG_DYN, "I", H_DEFAULT_ALLOW,
	    JM_PR_ALLOW_MOUNT_DEVFS,
	    "Default for jail(2): jails may mount devfs (deprecated)"),
	/* kern_racct.c and kern_rctl.c: present in a kernel with RACCT. */
	[K_RACCT] = NODE(F_KERN, "racct", RW, "Resource Accounting", .racct = 1),
	[K_RACCT_ENABLE] = LEAF(K_RACCT, "enable", CTLTYPE_U8 | RDTUN, "CU",
	    H_RACCT_ENABLE, 0, "Enable RACCT/RCTL", .racct = 1),
	[K_RACCT_RCTL] = NODE(K_RACCT, "rctl", RW, "Resource Limits", .racct = 1),
	[K_RACCT_RCTL_MAXBUFSIZE] = LEAF(K_RACCT_RCTL, "maxbufsize",
	    CTLTYPE_UINT | RW | CTLFLAG_TUN, "IU", H_RCTL_MAXBUFSIZE, 0,
	    "Maximum output buffer size", .racct = 1),

	[M_MOUNT_FDESCFS] = MOUNT_FS(fdescfs, JM_MOD_FDESCFS),
	[M_MOUNT_FDESCFS_ALLOWED] = MOUNT_FS_ALLOWED(fdescfs, JM_MOD_FDESCFS),
	[M_MOUNT_NULLFS] = MOUNT_FS(nullfs, JM_MOD_NULLFS),
	[M_MOUNT_NULLFS_ALLOWED] = MOUNT_FS_ALLOWED(nullfs, JM_MOD_NULLFS),
	[M_MOUNT_PROCFS] = MOUNT_FS(procfs, JM_MOD_PROCFS),
	[M_MOUNT_PROCFS_ALLOWED] = MOUNT_FS_ALLOWED(procfs, JM_MOD_PROCFS),
	[M_MOUNT_TMPFS] = MOUNT_FS(tmpfs, JM_MOD_TMPFS),
	[M_MOUNT_TMPFS_ALLOWED] = MOUNT_FS_ALLOWED(tmpfs, JM_MOD_TMPFS),
	[M_MOUNT_ZFS] = MOUNT_FS(zfs, JM_MOD_ZFS),
	[M_MOUNT_ZFS_ALLOWED] = MOUNT_FS_ALLOWED(zfs, JM_MOD_ZFS),
	[M_SYSVMSG_TYPE] = SYSV_TYPE(SYSVMSG, JM_MOD_SYSVMSG,
	    "System V message queues: none, own or the parent's"),
	[M_SYSVMSG] = SYSV_NODE("sysvmsg", JM_MOD_SYSVMSG,
	    "System V message queues: none, own or the parent's"),
	[M_SYSVSEM_TYPE] = SYSV_TYPE(SYSVSEM, JM_MOD_SYSVSEM,
	    "System V semaphores: none, own or the parent's"),
	[M_SYSVSEM] = SYSV_NODE("sysvsem", JM_MOD_SYSVSEM,
	    "System V semaphores: none, own or the parent's"),
	[M_SYSVSHM_TYPE] = SYSV_TYPE(SYSVSHM, JM_MOD_SYSVSHM,
	    "System V shared memory: none, own or the parent's"),
	[M_SYSVSHM] = SYSV_NODE("sysvshm", JM_MOD_SYSVSHM,
	    "System V shared memory: none, own or the parent's"),

	[F_SYSCTL] = FIXED(ROOT, CTL_SYSCTL, "sysctl", CTLTYPE_NODE | RW | MPSAFE,
	    "N", H_NONE, "Information about the sysctl tree itself"),
	[F_SYSCTL_NAME] = FIXED(F_SYSCTL, CTL_SYSCTL_NAME, "name",
	    CTLTYPE_NODE | RD | MPSAFE | CTLFLAG_CAPRD, "N", H_META_NAME, ""),
	[F_SYSCTL_NEXT] = FIXED(F_SYSCTL, CTL_SYSCTL_NEXT, "next",
	    CTLTYPE_NODE | RD | MPSAFE | CTLFLAG_CAPRD, "N", H_META_NEXT, ""),
	[F_SYSCTL_NAME2OID] = FIXED(F_SYSCTL, CTL_SYSCTL_NAME2OID, "name2oid",
	    CTLTYPE_INT | RW | CTLFLAG_ANYBODY | MPSAFE | CTLFLAG_CAPRW, "I",
	    H_META_NAME2OID, ""),
	[F_SYSCTL_OIDFMT] = FIXED(F_SYSCTL, CTL_SYSCTL_OIDFMT, "oidfmt",
	    CTLTYPE_NODE | RD | MPSAFE | CTLFLAG_CAPRD, "N", H_META_OIDFMT, ""),
	[F_SYSCTL_OIDDESCR] = FIXED(F_SYSCTL, CTL_SYSCTL_OIDDESCR, "oiddescr",
	    CTLTYPE_NODE | RD | MPSAFE | CTLFLAG_CAPRD, "N", H_META_OIDDESCR, ""),
	[F_KERN] = FIXED(ROOT, CTL_KERN, "kern",
	    CTLTYPE_NODE | RW | CTLFLAG_CAPRD | MPSAFE, "N", H_NONE,
	    "Kernel-wide settings"),
	[F_KERN_OSRELEASE] = FIXED(F_KERN, KERN_OSRELEASE, "osrelease",
	    CTLTYPE_STRING | CTLFLAG_CAPRD | RD | MPSAFE, "A", H_KERN_OSRELEASE,
	    "Release name seen by the caller"),
	[F_KERN_SECURELEVEL] = FIXED(F_KERN, KERN_SECURELVL, "securelevel",
	    CTLTYPE_INT | RW | CTLFLAG_PRISON | MPSAFE, "I", H_KERN_SECURELEVEL,
	    "Securelevel of the caller's jail (or the host)"),
	/* RW|PRISON in FreeBSD; the model does not let it be written. */
	[F_KERN_HOSTNAME] = FIXED(F_KERN, KERN_HOSTNAME, "hostname",
	    CTLTYPE_STRING | RD | CTLFLAG_CAPRD | MPSAFE, "A", H_KERN_HOSTNAME,
	    "Host name seen by the caller"),
	[F_KERN_OSRELDATE] = FIXED(F_KERN, KERN_OSRELDATE, "osreldate",
	    CTLTYPE_INT | CTLFLAG_CAPRD | RD | MPSAFE, "I", H_KERN_OSRELDATE,
	    "Release date number seen by the caller"),
};

/* ---- tree navigation ------------------------------------------------------ */

static int
oid_number(int i)
{
	return jm_oids[i].num == OID_AUTO ? CTL_AUTO_START + i : jm_oids[i].num;
}

static bool
oid_is_node(int i)
{
	return (jm_oids[i].kind & CTLTYPE) == CTLTYPE_NODE;
}

/* A node whose children are listed here (not one that handles its own
 * sub-names, like sysctl.name). */
static bool
oid_is_dir(int i)
{
	return oid_is_node(i) && jm_oids[i].handler == H_NONE;
}

/* Whether the oid (and every node above it) exists on this host now. */
static bool
oid_present(const struct jm_host *h, int i)
{
	for (; i != ROOT; i = jm_oids[i].parent) {
		const struct jm_oid *o = &jm_oids[i];
		if (o->since > h->g.version)
			return false;
		if (o->module != 0 && h->g.module_fileid[o->module - 1] == 0)
			return false;
		if (o->racct && h->g.racct == JAILMODEL_RACCT_ABSENT)
			return false;
	}
	return true;
}

/* The present child of `parent` with the smallest number >= `from`; -1 if none. */
static int
child_from(const struct jm_host *h, int parent, long from)
{
	int best = -1;
	for (int i = 0; i < JM_NOIDS; i++) {
		if (jm_oids[i].parent != parent || oid_number(i) < from)
			continue;
		if (best >= 0 && oid_number(i) >= oid_number(best))
			continue;
		if (oid_present(h, i))
			best = i;
	}
	return best;
}

static int
child_by_number(const struct jm_host *h, int parent, int number)
{
	int i = child_from(h, parent, number);
	return i >= 0 && oid_number(i) == number ? i : -1;
}

static int
child_by_name(const struct jm_host *h, int parent, const char *name, size_t len)
{
	for (int i = 0; i < JM_NOIDS; i++) {
		if (jm_oids[i].parent == parent && strlen(jm_oids[i].name) == len &&
		    memcmp(jm_oids[i].name, name, len) == 0 && oid_present(h, i))
			return i;
	}
	return -1;
}

/*
 * Resolve a MIB.  A node without handler ends the walk only at the last
 * component; a node with a handler ends it at once (the rest are its
 * arguments; *used tells how many components were consumed); a leaf
 * followed by more components is ENOTDIR.
 */
static int
find_oid(const struct jm_host *h, const int *name, unsigned int namelen, int *oidp,
    unsigned int *used)
{
	int parent = ROOT;

	if (namelen == 0)
		return ENOENT;
	for (unsigned int indx = 0; indx < namelen && indx < CTL_MAXNAME;) {
		int i = child_by_number(h, parent, name[indx]);
		if (i < 0)
			return ENOENT;
		indx++;
		if (oid_is_node(i)) {
			if (!oid_is_dir(i) || indx == namelen) {
				*oidp = i;
				*used = indx;
				return 0;
			}
			parent = i;
		} else if (indx == namelen) {
			*oidp = i;
			*used = indx;
			return 0;
		} else {
			return ENOTDIR;
		}
	}
	return ENOENT;
}

/* strnlen(), which strict C11 does not declare. */
static size_t
bounded_len(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max);
	return nul != NULL ? (size_t)(nul - s) : max;
}

/* ---- requests ------------------------------------------------------------- */

struct jm_sreq {
	void *oldp;
	size_t oldlen; /* size of the caller's buffer */
	size_t oldidx; /* bytes produced so far, copied or not */
	const void *newp;
	size_t newlen;
	size_t newidx;
};

struct jm_sctx {
	struct jm_host *h;
	int slot; /* caller's prison */
	int root; /* caller's euid is 0 */
};

/* Produce `len` bytes of the old value: copy what fits, count it all. */
static int
req_out(struct jm_sreq *r, const void *p, size_t len)
{
	size_t at = r->oldidx, n = len;

	r->oldidx += len;
	if (r->oldp == NULL)
		return 0;
	if (at >= r->oldlen)
		n = 0;
	else if (n > r->oldlen - at)
		n = r->oldlen - at;
	if (n > 0)
		memcpy((char *)r->oldp + at, p, n);
	return n < len ? ENOMEM : 0;
}

/* Consume `len` bytes of the new value. */
static int
req_in(struct jm_sreq *r, void *p, size_t len)
{
	if (r->newp == NULL)
		return 0;
	if (r->newlen - r->newidx < len)
		return EINVAL;
	memcpy(p, (const char *)r->newp + r->newidx, len);
	r->newidx += len;
	return 0;
}

static int
out_str(struct jm_sreq *r, const char *s, size_t size)
{
	return req_out(r, s, bounded_len(s, size - 1) + 1);
}

/* An int: old value out, then (when writing) the new one in *v. */
static int
handle_int(struct jm_sreq *r, void *v)
{
	int error = req_out(r, v, sizeof(int));
	if (error != 0 || r->newp == NULL)
		return error;
	return req_in(r, v, sizeof(int));
}

/* A read-only int. */
static int
out_int(struct jm_sreq *r, int v)
{
	return req_out(r, &v, sizeof(v));
}

/* ---- meta-sysctls ---------------------------------------------------------- */

/* {0,1,...}: dotted name; components that are not in the tree are written
 * as decimal numbers (as FreeBSD does). */
static int
meta_name(const struct jm_host *h, const int *name, unsigned int namelen,
    struct jm_sreq *r)
{
	int parent = ROOT;
	bool listed = true; /* still walking the tree */
	int error = 0;

	while (namelen > 0 && error == 0) {
		int i = listed ? child_by_number(h, parent, *name) : -1;
		char buf[16];
		const char *part;

		if (listed && i < 0) {
			listed = false;
			continue;
		}
		if (i >= 0) {
			part = jm_oids[i].name;
			listed = oid_is_dir(i);
			parent = i;
		} else {
			snprintf(buf, sizeof(buf), "%d", *name);
			part = buf;
		}
		if (r->oldidx > 0)
			error = req_out(r, ".", 1);
		if (error == 0)
			error = req_out(r, part, strlen(part));
		name++;
		namelen--;
	}
	if (error == 0)
		error = req_out(r, "", 1);
	return error;
}

/*
 * The leaf after name[] below `parent`, depth first, children by number.
 * Nodes with a handler count as leaves.  As in FreeBSD, when the searched
 * component is absent the walk continues with the next larger sibling, still
 * matching the remaining components inside it.
 */
static bool
next_leaf(const struct jm_host *h, int parent, const int *name, unsigned int namelen,
    int *next, unsigned int level, unsigned int *len)
{
	if (level > CTL_MAXNAME)
		return false;
	for (int i = child_from(h, parent, namelen > 0 ? (long)name[0] : LONG_MIN);
	     i >= 0; i = child_from(h, parent, (long)oid_number(i) + 1)) {
		bool exact = namelen > 0 && oid_number(i) == name[0];
		bool found;

		if (!oid_is_dir(i)) {
			if (exact)
				continue; /* the given leaf itself */
			found = true;
		} else {
			found = next_leaf(h, i, namelen > 0 ? name + 1 : NULL,
			    namelen > 0 ? namelen - 1 : 0, next + 1, level + 1, len);
			if (!found)
				namelen = 0; /* any leaf of a later sibling */
		}
		if (found) {
			*next = oid_number(i);
			if (level > *len)
				*len = level;
			return true;
		}
	}
	return false;
}

static int
meta_next(const struct jm_host *h, const int *name, unsigned int namelen,
    struct jm_sreq *r)
{
	int next[CTL_MAXNAME];
	unsigned int len = 0;

	if (!next_leaf(h, ROOT, name, namelen, next, 1, &len))
		return ENOENT;
	return req_out(r, next, len * sizeof(int));
}

/* name -> oid; a trailing dot is ignored, as in FreeBSD. */
static int
name2oid(const struct jm_host *h, const char *name, int *oid, unsigned int *len)
{
	int parent = ROOT;

	for (*len = 0; *len < CTL_MAXNAME;) {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
		int i = child_by_name(h, parent, name, n);

		if (i < 0)
			return ENOENT;
		oid[(*len)++] = oid_number(i);
		name += n;
		if (*name == '.')
			name++;
		if (*name == '\0')
			return 0;
		if (!oid_is_dir(i))
			break;
		parent = i;
	}
	return ENOENT;
}

static int
meta_name2oid(const struct jm_host *h, struct jm_sreq *r)
{
	char buf[JM_MAXPATHLEN];
	int oid[CTL_MAXNAME];
	unsigned int len;
	size_t n = r->newlen - r->newidx;
	int error;

	if (r->newp == NULL || n == 0)
		return ENOENT;
	if (n >= JM_MAXPATHLEN)
		return ENAMETOOLONG;
	error = req_in(r, buf, n);
	if (error != 0)
		return error;
	buf[n] = '\0';
	error = name2oid(h, buf, oid, &len);
	if (error != 0)
		return error;
	return req_out(r, oid, len * sizeof(int));
}

static int
meta_oidfmt(const struct jm_host *h, const int *name, unsigned int namelen,
    struct jm_sreq *r)
{
	unsigned int used;
	int i, error = find_oid(h, name, namelen, &i, &used);

	if (error != 0)
		return error;
	uint32_t kind = jm_oids[i].kind;
	error = req_out(r, &kind, sizeof(kind));
	if (error == 0)
		error = req_out(r, jm_oids[i].fmt, strlen(jm_oids[i].fmt) + 1);
	return error;
}

static int
meta_oiddescr(const struct jm_host *h, const int *name, unsigned int namelen,
    struct jm_sreq *r)
{
	unsigned int used;
	int i, error = find_oid(h, name, namelen, &i, &used);

	if (error != 0)
		return error;
	return req_out(r, jm_oids[i].descr, strlen(jm_oids[i].descr) + 1);
}

/* ---- security.jail.param.* ------------------------------------------------ */

/* What the parameter sysctls announce (FreeBSD's sysctl_jail_param): ints 0,
 * unsigned long 0, strings the decimal maximum length, structs the element
 * size.  A write (root only, RW ones only) is accepted and has no effect,
 * except that a string of 12 bytes or more does not fit the handler's
 * buffer (EINVAL). */
static int
handle_param(const struct jm_oid *o, uint64_t arg, struct jm_sreq *r)
{
	switch (o->kind & CTLTYPE) {
	case CTLTYPE_ULONG: {
		unsigned long l = 0;
		return req_out(r, &l, sizeof(l));
	}
	case CTLTYPE_INT:
		return out_int(r, 0);
	case CTLTYPE_STRING: {
		char num[12];
		int error;

		snprintf(num, sizeof(num), "%llu", (unsigned long long)arg);
		error = out_str(r, num, sizeof(num));
		if (error != 0 || r->newp == NULL)
			return error;
		return r->newlen - r->newidx >= sizeof(num) ? EINVAL : 0;
	}
	case CTLTYPE_STRUCT: {
		size_t s = (size_t)arg;
		return req_out(r, &s, sizeof(s));
	}
	}
	return 0;
}

/* ---- security.jail.* and kern.* ------------------------------------------- */

static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = bounded_len(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* FreeBSD's prison_path(): the path of `slot` as seen from `viewer`. */
static const char *
relative_path(const struct jm_host *h, int slot, int viewer)
{
	const char *p1 = jm_path(h, viewer), *p2 = jm_path(h, slot);
	size_t n = bounded_len(p1, JM_MAXPATHLEN);

	if (strcmp(p1, "/") == 0 || strncmp(p1, p2, n) != 0)
		return p2;
	if (p2[n] == '\0')
		return "/";
	return p2[n] == '/' ? p2 + n : p2;
}

/*
 * struct xprison version 3 (sys/jail.h), amd64 layout, 1560 bytes:
 *      0  int      pr_version   (3)
 *      4  int      pr_id        (jid)
 *      8  int      pr_state     (PRISON_STATE_*)
 *     12  int      pr_cpusetid
 *     16  char     pr_path[1024] relative to the caller, as jail_get's path
 *   1040  char     pr_host[256]  the jail's host.hostname
 *   1296  char     pr_name[256]  relative to the caller
 *   1552  uint32_t pr_ip4s
 *   1556  uint32_t pr_ip6s
 * Every member is 4-byte aligned, so there is no padding.  Each record is
 * followed by pr_ip4s struct in_addr (4 bytes each) and then pr_ip6s struct
 * in6_addr (16 bytes each), in network byte order.  The counts are the
 * jail's own (FreeBSD may overstate them, reusing a growing buffer; the
 * model does not).
 */
struct jm_xprison {
	int32_t version;
	int32_t id;
	int32_t state;
	int32_t cpusetid;
	char path[JM_MAXPATHLEN];
	char host[JM_MAXHOSTNAMELEN];
	char name[JM_MAXHOSTNAMELEN];
	uint32_t ip4s;
	uint32_t ip6s;
};
_Static_assert(sizeof(struct jm_xprison) == 1560, "struct xprison is 1560 bytes");
_Static_assert(offsetof(struct jm_xprison, ip4s) == 1552, "xprison layout");

/* How many prison slots may be in use. */
static int
prison_slots(const struct jm_host *h)
{
	int n = h->g.nprisons_hint;
	return n > 0 && n <= JM_MAXPRISONS ? n : JM_MAXPRISONS;
}

/* Descendants of `top` in order: depth first, siblings by (jid, slot). */
static bool
sib_before(const struct jm_host *h, int a, int b)
{
	return h->prisons[a].jid < h->prisons[b].jid ||
	    (h->prisons[a].jid == h->prisons[b].jid && a < b);
}

/* The first child of `parent` that sorts after `after` (-1: the first). */
static int
child_after(const struct jm_host *h, int parent, int after)
{
	int best = -1;
	for (int s = 1; s < prison_slots(h); s++) {
		if (!h->prisons[s].used || h->prisons[s].parent != parent || s == parent)
			continue;
		if (after >= 0 && !sib_before(h, after, s))
			continue;
		if (best < 0 || sib_before(h, s, best))
			best = s;
	}
	return best;
}

static int
preorder_next(const struct jm_host *h, int cur, int top)
{
	int s = child_after(h, cur, -1), depth = 0;
	if (s >= 0)
		return s;
	for (; cur != top && cur > 0; cur = jm_parent_slot(h, cur)) {
		if (++depth > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			break;
		}
		s = child_after(h, jm_parent_slot(h, cur), cur);
		if (s >= 0)
			return s;
	}
	return -1;
}

static int
handle_list(const struct jm_sctx *c, struct jm_sreq *r)
{
	const struct jm_host *h = c->h;
	struct jm_xprison xp;
	int error = 0, steps = 0;

	for (int s = preorder_next(h, c->slot, c->slot); s > 0 && error == 0;
	     s = preorder_next(h, s, c->slot)) {
		const struct jm_prison *pr = &h->prisons[s];
		uint32_t n4, n6;
		const uint8_t *ip4, *ip6;

		/* Every prison is listed once: more steps mean a cycle.  Its
		 * strings are read below: ended within their fields first. */
		if (++steps > JM_MAXPRISONS || !jm_prison_check(h, s)) {
			jm_broken();
			return EINVAL;
		}
		ip4 = jm_ips(h, s, 0, &n4);
		ip6 = jm_ips(h, s, 1, &n6);

		memset(&xp, 0, sizeof(xp));
		xp.version = XPRISON_VERSION;
		xp.id = pr->jid;
		xp.state = pr->state;
		xp.cpusetid = pr->cpuset_id;
		copy_str(xp.path, sizeof(xp.path), relative_path(h, s, c->slot));
		copy_str(xp.host, sizeof(xp.host), jm_host_text(h, s, JM_ST_HOSTNAME));
		copy_str(xp.name, sizeof(xp.name), jm_relative_name(h, s, c->slot));
		xp.ip4s = n4;
		xp.ip6s = n6;
		error = req_out(r, &xp, sizeof(xp));
		if (error == 0 && n4 > 0)
			error = req_out(r, ip4, (size_t)n4 * 4);
		if (error == 0 && n6 > 0)
			error = req_out(r, ip6, (size_t)n6 * 16);
	}
	return error;
}

static uint64_t
mount_module_bit(const struct jm_oid *o)
{
	return o->module != 0 ? jm_modules[o->module - 1].allow_bit : 0;
}

/* The deprecated *_allowed: the host reads the jail(2) defaults (FreeBSD's
 * JAIL_DEFAULT_ALLOW), a jail reads its own permission. */
static int
handle_default_allow(const struct jm_sctx *c, uint64_t bit, bool invert,
    struct jm_sreq *r)
{
	uint64_t allow = c->slot == 0 ? JM_JAIL_DEFAULT_ALLOW
	                              : c->h->prisons[c->slot].allow;
	int v = (allow & bit) != 0;
	return out_int(r, invert ? !v : v);
}

/* kern.hostname: the nearest prison (from the caller up) with a host of its
 * own. */
static const char *
caller_hostname(const struct jm_host *h, int slot)
{
	for (int depth = 0; slot > 0 && !(h->prisons[slot].flags & JM_PR_HOST);
	     slot = jm_parent(h, slot))
		if (++depth > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			return "";
		}
	return jm_host_text(h, slot < 0 ? 0 : slot, JM_ST_HOSTNAME);
}

/* Change host-wide settings under the undo log. */
static int
set_globals(struct jm_host *h, const struct jm_globals *g)
{
	jm_change_begin(h);
	jm_save_globals(h);
	h->g = *g;
	jm_change_commit(h);
	return 0;
}

static int
handle_securelevel(const struct jm_sctx *c, struct jm_sreq *r)
{
	struct jm_host *h = c->h;
	int level = h->prisons[c->slot].securelevel;
	int error = handle_int(r, &level);

	if (error != 0 || r->newp == NULL)
		return error;
	if (level < h->prisons[c->slot].securelevel)
		return EPERM;
	jm_change_begin(h);
	jm_save_prison(h, c->slot);
	h->prisons[c->slot].securelevel = level;
	for (int s = 1; s < prison_slots(h); s++) {
		if (s == c->slot || !h->prisons[s].used ||
		    !jm_is_descendant(h, s, c->slot) ||
		    h->prisons[s].securelevel >= level)
			continue;
		jm_save_prison(h, s);
		h->prisons[s].securelevel = level;
	}
	jm_change_commit(h);
	return 0;
}

static int
handle_leaf(const struct jm_sctx *c, int i, const int *args, unsigned int nargs,
    struct jm_sreq *r)
{
	const struct jm_oid *o = &jm_oids[i];
	struct jm_host *h = c->h;
	const struct jm_prison *pr = &h->prisons[c->slot];
	struct jm_globals g;
	int error;

	switch ((enum jm_handler)o->handler) {
	case H_NONE:
		return EISDIR;
	case H_META_NAME:
		return meta_name(h, args, nargs, r);
	case H_META_NEXT:
		return meta_next(h, args, nargs, r);
	case H_META_NAME2OID:
		return meta_name2oid(h, r);
	case H_META_OIDFMT:
		return meta_oidfmt(h, args, nargs, r);
	case H_META_OIDDESCR:
		return meta_oiddescr(h, args, nargs, r);
	case H_PARAM:
		return handle_param(o, o->arg, r);
	case H_PARAM_META:
		/* kern_jailmeta.c, jm_sysctl_param_meta: the soft limit. */
		return handle_param(o, h->g.meta_softmax, r);
	case H_JAILED:
		return out_int(r, c->slot != 0);
	case H_VNET:
		return out_int(r, c->slot != 0 && (pr->flags & JM_PR_VNET) != 0);
	case H_LIST:
		return handle_list(c, r);
	case H_MAX_AF_IPS: {
		uint32_t v = h->g.max_af_ips;
		error = handle_int(r, &v);
		if (error != 0 || r->newp == NULL)
			return error;
		/* kern_jail.c: a SYSCTL_UINT, any u_int. */
		g = h->g;
		g.max_af_ips = v;
		return set_globals(h, &g);
	}
	case H_DEFAULT_ALLOW:
		return handle_default_allow(c, o->arg, false, r);
	case H_DEFAULT_ALLOW_INV:
		return handle_default_allow(c, o->arg, true, r);
	case H_MOUNT_ALLOWED:
		return handle_default_allow(c, mount_module_bit(o), false, r);
	case H_ENFORCE_STATFS: {
		int v = c->slot == 0 ? h->g.enforce_statfs : pr->enforce_statfs;
		error = handle_int(r, &v);
		if (error != 0 || r->newp == NULL)
			return error;
		/* Only the host gets here (no CTLFLAG_PRISON); like FreeBSD,
		 * the value is not range-checked. */
		g = h->g;
		g.enforce_statfs = v;
		return set_globals(h, &g);
	}
	case H_DEVFS_RULESET:
		return out_int(r, pr->devfs_ruleset);
	case H_CHILDREN_MAX:
		return out_int(r, pr->children_max);
	case H_CHILDREN_CUR:
		return out_int(r, jm_children_cur(h, c->slot));
	case H_RACCT_ENABLE: {
		unsigned char v = h->g.racct == JAILMODEL_RACCT_ENABLED;
		return req_out(r, &v, sizeof(v));
	}
	case H_RCTL_MAXBUFSIZE: {
		uint32_t v = h->g.rctl_maxbufsize;
		error = handle_int(r, &v);
		if (error != 0 || r->newp == NULL)
			return error;
		g = h->g;
		g.rctl_maxbufsize = v;
		return set_globals(h, &g);
	}
	case H_META_MAXBUFSIZE: {
		uint32_t v = h->g.meta_maxbufsize;
		error = handle_int(r, &v);
		if (error != 0 || r->newp == NULL)
			return error;
		/* Any u_int, as jm_sysctl_meta_maxbufsize takes it. */
		/* kern_jailmeta.c, jm_sysctl_meta_maxbufsize: the soft limit
		 * follows a raised hard one, and a lowered one only while no
		 * jail (alive or dying) exists. */
		g = h->g;
		g.meta_maxbufsize = v;
		if (v >= g.meta_softmax || g.nbyjid == 0)
			g.meta_softmax = v;
		return set_globals(h, &g);
	}
	case H_ENV: {
		/* kern_jailmeta.c, jm_sysctl_env: the caller's jail's env and
		 * its NUL.  The handler ignores what SYSCTL_OUT returns, so a
		 * buffer too small gets what fits and the call succeeds. */
		const char *env = jm_meta_text(h, c->slot, 1);

		(void)req_out(r, env, strlen(env) + 1);
		return 0;
	}
	case H_KERN_OSRELEASE:
		return out_str(r, pr->osrelease, sizeof(pr->osrelease));
	case H_KERN_SECURELEVEL:
		return handle_securelevel(c, r);
	case H_KERN_HOSTNAME:
		return out_str(r, caller_hostname(h, c->slot), JM_MAXHOSTNAMELEN);
	case H_KERN_OSRELDATE:
		return out_int(r, pr->osreldate);
	}
	return EINVAL;
}

/* FreeBSD's sysctl_root(): resolve, check access, run the handler. */
static int
sysctl_root(const struct jm_sctx *c, const int *name, unsigned int namelen,
    struct jm_sreq *r)
{
	unsigned int used;
	int i, error = find_oid(c->h, name, namelen, &i, &used);

	if (error != 0)
		return error;
	if (oid_is_dir(i))
		return EISDIR;
	if (r->newp != NULL) {
		uint32_t kind = jm_oids[i].kind;
		if (!(kind & CTLFLAG_WR))
			return EPERM;
		if (!(kind & CTLFLAG_ANYBODY)) {
			/* priv_check(PRIV_SYSCTL_WRITE or _WRITEJAIL) */
			if (!c->root)
				return EPERM;
			if (c->slot != 0 && (!(kind & CTLFLAG_PRISON) ||
			    !(c->h->prisons[c->slot].allow & JM_PR_ALLOW_SUSER)))
				return EPERM;
		}
	}
	return handle_leaf(c, i, name + used, namelen - used, r);
}

/* ---- entry points ---------------------------------------------------------- */

static struct jm_host *
begin(struct jm_sctx *c)
{
	c->h = jm_lock();
	if (c->h == NULL)
		return NULL;
	c->slot = jm_caller_prison(c->h);
	if (c->slot < 0 || c->slot >= JM_MAXPRISONS) {
		int e = errno != 0 ? errno : ESRCH;
		if (jm_unlock(c->h) == 0)
			errno = e;
		return NULL;
	}
	c->root = jm_caller_is_root();
	return c->h;
}

/* One request on a resolved MIB, with the lock held; 0, ENOMEM or an errno.
 * Sets *retlen like the kernel's userland_sysctl() on 0 and ENOMEM. */
static int
run(const struct jm_sctx *c, const int *name, unsigned int namelen, void *oldp,
    const size_t *oldlenp, const void *newp, size_t newlen, size_t *retlen)
{
	struct jm_sreq r = {
		.oldp = oldp,
		.oldlen = oldlenp != NULL ? *oldlenp : 0,
		.newp = newp,
		.newlen = newp != NULL ? newlen : 0,
	};
	int error = sysctl_root(c, name, namelen, &r);

	if (error == 0 || error == ENOMEM)
		*retlen = (oldp != NULL && r.oldidx > r.oldlen) ? r.oldlen : r.oldidx;
	return error;
}

static int
finish(int error)
{
	if (error == 0)
		return 0;
	errno = error;
	return -1;
}

int
jailmodel_sysctl(const int *name, unsigned int namelen, void *oldp, size_t *oldlenp,
    const void *newp, size_t newlen)
{
	struct jm_sctx c;
	size_t retlen = 0;
	int mib[CTL_MAXNAME];
	int error;

	if (namelen < 2 || namelen > CTL_MAXNAME)
		return finish(EINVAL);
	if (name == NULL)
		return finish(EFAULT);
	memcpy(mib, name, namelen * sizeof(int));
	if (begin(&c) == NULL)
		return -1;
	error = run(&c, mib, namelen, oldp, oldlenp, newp, newlen, &retlen);
	if (jm_unlock(c.h) != 0)
		error = EINVAL;
	if ((error == 0 || error == ENOMEM) && oldlenp != NULL)
		*oldlenp = retlen;
	return finish(error);
}

/* FreeBSD 15's libc calls __sysctlbyname(name, strlen(name), ...): the
 * kernel resolves the name with name2oid, then runs the request; the
 * returned length is copied out only on success. */
int
jailmodel_sysctlbyname(const char *name, void *oldp, size_t *oldlenp,
    const void *newp, size_t newlen)
{
	struct jm_sctx c;
	int mib[CTL_MAXNAME];
	unsigned int miblen;
	size_t retlen = 0, len;
	int error;

	if (name == NULL)
		return finish(EFAULT);
	len = bounded_len(name, JM_MAXPATHLEN + 1);
	if (len == 0 || len > JM_MAXPATHLEN)
		return finish(EINVAL);
	if (len >= JM_MAXPATHLEN)
		return finish(ENAMETOOLONG);
	if (begin(&c) == NULL)
		return -1;
	error = name2oid(c.h, name, mib, &miblen);
	if (error == 0)
		error = run(&c, mib, miblen, oldp, oldlenp, newp, newlen, &retlen);
	if (jm_unlock(c.h) != 0)
		error = EINVAL;
	if (error == 0 && oldlenp != NULL)
		*oldlenp = retlen;
	return finish(error);
}

/* libc's sysctlnametomib(): {0,3} with the name as the new value and the
 * MIB buffer (counted in ints) as the old one. */
int
jailmodel_sysctlnametomib(const char *name, int *mibp, size_t *sizep)
{
	static const int name2oid_mib[2] = { CTL_SYSCTL, CTL_SYSCTL_NAME2OID };
	size_t bytes;
	int ret;

	if (name == NULL || sizep == NULL)
		return finish(EFAULT);
	bytes = *sizep * sizeof(int);
	ret = jailmodel_sysctl(name2oid_mib, 2, mibp, &bytes, name, strlen(name));
	if (ret == 0 || errno == ENOMEM)
		*sizep = bytes / sizeof(int);
	return ret;
}
