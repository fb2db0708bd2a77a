/*
 * jailmodel.h: the public ABI of jailcore's kernel model.
 *
 * The model is a user-space implementation of FreeBSD's jail subsystem.  Its
 * syscall entry points take exactly the arguments of the FreeBSD system calls
 * of the same name and, like the libc wrappers, return -1 and set errno on
 * failure.  The behavioural contract is shared/spec/freebsd-jail-kernel.md.
 *
 * The state of the modelled host lives in shared memory: a forked child and
 * its parent see the same host.  By default it is the user's own host, kept
 * in the state file /tmp/jailcore-UID/host, so that jails outlive the
 * process that made them as they outlive a command on FreeBSD.  The
 * environment variable JAILCORE_MODEL_STATE, or jailmodel_open(), names
 * another state file; JAILCORE_MODEL_STATE=:private: (or jailmodel_open(NULL))
 * selects anonymous memory private to the process tree.
 */
#ifndef JAILMODEL_H
#define JAILMODEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JAILMODEL_API __attribute__((visibility("default")))

/* The system calls (jail_set(2), jail_get(2), jail_attach(2), jail_remove(2),
 * and the FreeBSD 15 descriptor forms). */
JAILMODEL_API int jailmodel_jail_set(struct iovec *iov, unsigned int niov, int flags);
JAILMODEL_API int jailmodel_jail_get(struct iovec *iov, unsigned int niov, int flags);
JAILMODEL_API int jailmodel_jail_attach(int jid);
JAILMODEL_API int jailmodel_jail_remove(int jid);
JAILMODEL_API int jailmodel_jail_attach_jd(int fd);
JAILMODEL_API int jailmodel_jail_remove_jd(int fd);

/* sysctl(3) over the model's tree (security.jail.*, a few kern.* leaves and
 * the {0,x} meta-sysctls). */
JAILMODEL_API int jailmodel_sysctl(const int *name, unsigned int namelen, void *oldp,
                                   size_t *oldlenp, const void *newp, size_t newlen);
JAILMODEL_API int jailmodel_sysctlbyname(const char *name, void *oldp, size_t *oldlenp,
                                         const void *newp, size_t newlen);
JAILMODEL_API int jailmodel_sysctlnametomib(const char *name, int *mibp, size_t *sizep);

/* kldload(2)/kldfind(2)/kldunload(2) over the model's loadable modules:
 * sysvmsg, sysvsem, sysvshm, fdescfs, nullfs, procfs, tmpfs, zfs.  Each
 * returns a file id (> 1) or -1 with errno. */
JAILMODEL_API int jailmodel_kldload(const char *file);
JAILMODEL_API int jailmodel_kldfind(const char *file);
JAILMODEL_API int jailmodel_kldunload(int fileid);

/* ---- The host side: interfaces, mounts, devfs rulesets ------------------
 *
 * The calls ifconfig(8), mount(8), umount(8) and devfs(8) make, with
 * FreeBSD's arguments: the structures below have the layout of FreeBSD's
 * (amd64 and arm64; tools/xbuild.py compares them with FreeBSD's headers),
 * and the constants FreeBSD's values, so that a request built for FreeBSD
 * works on the model unchanged.  Nothing here touches the machine's own
 * interfaces or mounts: the model records them in its host.
 * Facts: shared/spec/freebsd-jail-host.md sections B, C and E. */

#define JAILMODEL_AF_INET 2
#define JAILMODEL_AF_LINK 18
#define JAILMODEL_AF_INET6 28
#define JAILMODEL_IFNAMSIZ 16
#define JAILMODEL_MFSNAMELEN 16
#define JAILMODEL_MNAMELEN 1024
#define JAILMODEL_DEVFS_MAXPTRNLEN 200
#define JAILMODEL_DEVFS_MAGIC 0xdb0a087au

/* ioctl(2) requests (sys/sockio.h, netinet6/in6_var.h, fs/devfs/devfs.h). */
#define JAILMODEL_SIOCSIFFLAGS 0x80206910ul
#define JAILMODEL_SIOCGIFFLAGS 0xc0206911ul
#define JAILMODEL_SIOCDIFADDR 0x80206919ul
#define JAILMODEL_SIOCSIFNAME 0x80206928ul
#define JAILMODEL_SIOCAIFADDR 0x8044692bul
#define JAILMODEL_SIOCSIFVNET 0xc020695aul
#define JAILMODEL_SIOCSIFRVNET 0xc020695bul
#define JAILMODEL_SIOCIFDESTROY 0x80206979ul
#define JAILMODEL_SIOCIFCREATE 0xc020697aul
#define JAILMODEL_SIOCIFCREATE2 0xc020697cul
#define JAILMODEL_SIOCAIFADDR_IN6 0x8088691bul
#define JAILMODEL_SIOCDIFADDR_IN6 0x81206919ul
#define JAILMODEL_DEVFSIO_RADD 0xc0ec4400ul
#define JAILMODEL_DEVFSIO_RDEL 0x80044401ul
#define JAILMODEL_DEVFSIO_RAPPLY 0x80ec4402ul
#define JAILMODEL_DEVFSIO_RAPPLYID 0x80044403ul
#define JAILMODEL_DEVFSIO_RGETNEXT 0xc0ec4404ul
#define JAILMODEL_DEVFSIO_SUSE 0x8002440aul
#define JAILMODEL_DEVFSIO_SAPPLY 0x8002440bul
#define JAILMODEL_DEVFSIO_SGETNEXT 0xc002440cul

struct jailmodel_sockaddr {
	unsigned char sa_len;
	unsigned char sa_family;
	char sa_data[14];
};

struct jailmodel_sockaddr_in {
	unsigned char sin_len; /* 16 */
	unsigned char sin_family;
	unsigned short sin_port;
	unsigned char sin_addr[4];
	char sin_zero[8];
};

struct jailmodel_sockaddr_in6 {
	unsigned char sin6_len; /* 28 */
	unsigned char sin6_family;
	unsigned short sin6_port;
	unsigned int sin6_flowinfo;
	unsigned char sin6_addr[16];
	unsigned int sin6_scope_id;
};

struct jailmodel_sockaddr_dl {
	unsigned char sdl_len;
	unsigned char sdl_family; /* AF_LINK */
	unsigned short sdl_index;
	unsigned char sdl_type;
	unsigned char sdl_nlen;
	unsigned char sdl_alen;
	unsigned char sdl_slen;
	char sdl_data[46];
};

struct jailmodel_ifreq {
	char ifr_name[JAILMODEL_IFNAMSIZ];
	union {
		struct jailmodel_sockaddr ifru_addr;
		short ifru_flags[2];
		int ifru_jid;
		char *ifru_data;
	} ifr_ifru;
};

struct jailmodel_in_aliasreq {
	char ifra_name[JAILMODEL_IFNAMSIZ];
	struct jailmodel_sockaddr_in ifra_addr;
	struct jailmodel_sockaddr_in ifra_broadaddr;
	struct jailmodel_sockaddr_in ifra_mask;
	int ifra_vhid;
};

struct jailmodel_in6_addrlifetime {
	long long ia6t_expire;
	long long ia6t_preferred;
	unsigned int ia6t_vltime;
	unsigned int ia6t_pltime;
};

struct jailmodel_in6_aliasreq {
	char ifra_name[JAILMODEL_IFNAMSIZ];
	struct jailmodel_sockaddr_in6 ifra_addr;
	struct jailmodel_sockaddr_in6 ifra_dstaddr;
	struct jailmodel_sockaddr_in6 ifra_prefixmask;
	int ifra_flags;
	struct jailmodel_in6_addrlifetime ifra_lifetime;
	int ifra_vhid;
};

struct jailmodel_in6_ifreq {
	char ifr_name[JAILMODEL_IFNAMSIZ];
	union {
		struct jailmodel_sockaddr_in6 ifru_addr;
		unsigned long long ifru_stat[34]; /* the largest member's size */
	} ifr_ifru;
};

struct jailmodel_devfs_rule {
	unsigned int dr_magic;
	unsigned int dr_id; /* ruleset << 16 | rule */
	int dr_icond;
	int dr_dswflags;
	char dr_pathptrn[JAILMODEL_DEVFS_MAXPTRNLEN];
	int dr_iacts;
	int dr_bacts;
	unsigned int dr_uid;
	unsigned int dr_gid;
	unsigned short dr_mode;
	unsigned short dr_incset;
};

struct jailmodel_statfs {
	unsigned int f_version;
	unsigned int f_type;
	unsigned long long f_flags;
	unsigned long long f_bsize;
	unsigned long long f_iosize;
	unsigned long long f_blocks;
	unsigned long long f_bfree;
	long long f_bavail;
	unsigned long long f_files;
	long long f_ffree;
	unsigned long long f_syncwrites;
	unsigned long long f_asyncwrites;
	unsigned long long f_syncreads;
	unsigned long long f_asyncreads;
	unsigned int f_nvnodelistsize;
	unsigned int f_spare0;
	unsigned long long f_spare[9];
	unsigned int f_namemax;
	unsigned int f_owner;
	int f_fsid[2];
	char f_charspare[80];
	char f_fstypename[JAILMODEL_MFSNAMELEN];
	char f_mntfromname[JAILMODEL_MNAMELEN];
	char f_mntonname[JAILMODEL_MNAMELEN];
};

struct jailmodel_ifaddrs {
	struct jailmodel_ifaddrs *ifa_next;
	char *ifa_name;
	unsigned int ifa_flags;
	struct jailmodel_sockaddr *ifa_addr;
	struct jailmodel_sockaddr *ifa_netmask;
	struct jailmodel_sockaddr *ifa_dstaddr;
	void *ifa_data;
};

/* A device node of a devfs mount, as ls -l would show it. */
struct jailmodel_devfs_node {
	char name[64]; /* relative to the mount point: "null", "pts/0" */
	unsigned int mode; /* with the file type bits: S_IFCHR, S_IFDIR, S_IFLNK */
	unsigned int uid;
	unsigned int gid;
};

/* nmount(2), unmount(2), getfsstat(2) (mode MNT_WAIT 1 or MNT_NOWAIT 2). */
JAILMODEL_API int jailmodel_nmount(struct iovec *iov, unsigned int niov, int flags);
JAILMODEL_API int jailmodel_unmount(const char *path, int flags);
JAILMODEL_API int jailmodel_getfsstat(struct jailmodel_statfs *buf, long bufsize, int mode);
/* ioctl(2): the SIOC* requests above on a socket (any socket: the model
 * does not look at its family), the DEVFSIO_* requests on a directory
 * descriptor of a devfs mount the model recorded. */
JAILMODEL_API int jailmodel_ioctl(int fd, unsigned long request, void *data);
/* The visible nodes of the devfs mount whose mount point directory `fd` is:
 * the first n into out (in the model's device list order), and their number;
 * -1 with ENOTTY when fd is not one (no FreeBSD counterpart: on FreeBSD the
 * directory is listed). */
JAILMODEL_API int jailmodel_devfs_nodes(int fd, struct jailmodel_devfs_node *out, int n);
/* getifaddrs(3)/freeifaddrs(3): the interfaces of the caller's vnet, an
 * AF_LINK entry for each, then one per address. */
JAILMODEL_API int jailmodel_getifaddrs(struct jailmodel_ifaddrs **ifap);
JAILMODEL_API void jailmodel_freeifaddrs(struct jailmodel_ifaddrs *ifa);
/* Control calls for the host side (the host's superuser, outside a jail):
 * add an Ethernet-like interface to the host (as a NIC found at boot; a
 * fresh host has em0), and load FreeBSD's default devfs rulesets 1 to 5
 * (what rc.d/devfs does at boot; a fresh host has them). */
JAILMODEL_API int jailmodel_add_ether(const char *name);
JAILMODEL_API int jailmodel_devfs_load_defaults(void);

/* Control calls (no FreeBSD counterpart).  Those that change the host
 * (reset, set_version, hold, release, and kldload/kldunload above) need the
 * host's superuser (root or the host's creator) outside any jail, as the
 * kernel's equivalents need root: others get EPERM. */

/* Return the host to its initial state: no jails, FreeBSD 15 semantics,
 * no optional module loaded, every process detached.  0, or -1 with errno
 * (EPERM for an unprivileged caller). */
JAILMODEL_API int jailmodel_reset(void);
/* Select the semantics of a FreeBSD major release: 14 or 15 (EINVAL
 * otherwise).  Only allowed while the host has no jail (EBUSY). */
JAILMODEL_API int jailmodel_set_version(int major);
JAILMODEL_API int jailmodel_version(void);
/* The kernel's resource limits, as booted: JAILMODEL_RACCT_ABSENT (a kernel
 * built without options RACCT and RCTL: no kern.racct sysctls, and every
 * rctl call ENOSYS), JAILMODEL_RACCT_DISABLED (GENERIC's default:
 * kern.racct.enable=0, every rctl call ENOSYS) or JAILMODEL_RACCT_ENABLED
 * (kern.racct.enable=1 set in loader.conf).  A host starts (is created or
 * reset) with the value of the environment variable JAILCORE_MODEL_RACCT
 * ("1" enabled, "0" disabled, "absent"), disabled when it is unset; the
 * tunable is read-only at run time, so changing it is a reboot: only while
 * the host has no jail (EBUSY), by its superuser outside any jail (EPERM),
 * and the rules go. */
#define JAILMODEL_RACCT_ABSENT (-1)
#define JAILMODEL_RACCT_DISABLED 0
#define JAILMODEL_RACCT_ENABLED 1
JAILMODEL_API int jailmodel_set_racct(int mode);
JAILMODEL_API int jailmodel_racct(int *mode);
/* kqueue(2) and kevent(2) for the jail filters of FreeBSD 15, EVFILT_JAIL
 * (ident: a jid, 0 for the caller's own jail) and EVFILT_JAILDESC (ident: a
 * jail descriptor), with FreeBSD's struct kevent (LP64 layout).  The
 * kqueue is a real descriptor, readable while events are pending, so
 * poll(2), select(2) and event loops work on it; close it with
 * jailmodel_kqueue_close().  Like a FreeBSD kqueue it is not inherited
 * across fork (EBADF in the child).  In the 14.x mode both filters are
 * EINVAL.  Events caused by other processes sharing the host wake it too. */
#define JAILMODEL_EVFILT_JAIL (-14)
#define JAILMODEL_EVFILT_JAILDESC (-15)
struct jailmodel_kevent {
	uintptr_t ident;
	short filter;
	unsigned short flags;
	unsigned int fflags;
	int64_t data;
	void *udata;
	uint64_t ext[4];
};
JAILMODEL_API int jailmodel_kqueue(void);
JAILMODEL_API int jailmodel_kevent(int kq, const struct jailmodel_kevent *changelist, int nchanges,
                                   struct jailmodel_kevent *eventlist, int nevents,
                                   const struct timespec *timeout);
JAILMODEL_API int jailmodel_kqueue_close(int kq);
/* rctl(2): rctl_get_racct, rctl_get_rules, rctl_get_limits, rctl_add_rule
 * and rctl_remove_rule, with FreeBSD's arguments, checks and results. */
JAILMODEL_API int jailmodel_rctl_get_racct(const char *inbufp, size_t inbuflen, char *outbufp,
                                           size_t outbuflen);
JAILMODEL_API int jailmodel_rctl_get_rules(const char *inbufp, size_t inbuflen, char *outbufp,
                                           size_t outbuflen);
JAILMODEL_API int jailmodel_rctl_get_limits(const char *inbufp, size_t inbuflen, char *outbufp,
                                            size_t outbuflen);
JAILMODEL_API int jailmodel_rctl_add_rule(const char *inbufp, size_t inbuflen, char *outbufp,
                                          size_t outbuflen);
JAILMODEL_API int jailmodel_rctl_remove_rule(const char *inbufp, size_t inbuflen, char *outbufp,
                                             size_t outbuflen);
/* Hold or release a lingering kernel reference on the jail with this jid
 * (alive or dying), as an open socket or file of the jail would: a jail
 * that loses its last user reference stays dying while one is held.
 * ENOENT when no such jail exists; EINVAL when releasing an unheld one. */
JAILMODEL_API int jailmodel_hold(int jid);
JAILMODEL_API int jailmodel_release(int jid);
/* Switch this process to the host kept in a state file (created when absent);
 * NULL switches to a fresh anonymous host.  Returns 0 or -1 with errno;
 * EINVAL for a file that is not a model state file of this version. */
JAILMODEL_API int jailmodel_open(const char *path);
/* The state file of the current host (before the first call: of the host
 * the process will use), or NULL for an anonymous one. */
JAILMODEL_API const char *jailmodel_state_path(void);
/* The user's default state file, /tmp/jailcore-UID/host. */
JAILMODEL_API const char *jailmodel_default_state_path(void);
/* Why the host this process chose cannot be used ("FILE: reason"), or NULL
 * when it is mapped (or was never tried).  Every call fails with -1 and the
 * errno of that failure until it can be used. */
JAILMODEL_API const char *jailmodel_host_error(void);
/* Why the last jailmodel_open() failed ("FILE: reason"), or NULL if it did not. */
JAILMODEL_API const char *jailmodel_open_error(void);
/* For a spawner: make process `pid` (a child that has not yet exec'd) a
 * process of jail `jid`, with the checks of jail_attach(2) made for the
 * caller, and write into `root` the path, from the caller's root, that the
 * child must chroot(2) to.  The child then needs only async-signal-safe
 * calls (chdir, chroot) to complete the attach.  FreeBSD's rule on open
 * directory descriptors (EPERM) is applied to the child's descriptors as
 * they are at this call: make it once the child has closed what it does not
 * need.  A jail outside the caller's root gives EACCES here (the child could
 * not reach it by path). */
JAILMODEL_API int jailmodel_attach_pid(int pid, int jid, char *root, size_t rootsize);
/* The jid of the jail this process is attached to in the model (0: host). */
JAILMODEL_API int jailmodel_current_jid(void);
/* The processes of jail `jid`, as jail(8) lists them to stop it (those whose
 * ki_jid is `jid` in kvm_getprocs(KERN_PROC_PROC)): the pids of the first n
 * into pids, in the model's table order, and how many there are (more than
 * n: call again with room for them).  Only the jail's own processes, not
 * those of its children; a process that has exited and waits to be reaped
 * (a zombie) is not listed.  A jailed caller sees its own jail's and its
 * descendants' processes only: any other jail, or a jid that names no jail,
 * has none.  -1 with EINVAL for a jid below 1 or a negative n, EFAULT for a
 * NULL pids with n > 0. */
JAILMODEL_API int jailmodel_jail_pids(int jid, int *pids, int n);
/* For crash tests: make this process SIGKILL itself at a point in the middle
 * of its next change of the host, while it holds the lock (1: jail_set after
 * the first changes are made; 2: jail_set after the new texts are stored;
 * 3: nmount with the new mount in the table (and a module it loaded);
 * 4: unmount with the mount taken out; 0: never). */
JAILMODEL_API void jailmodel_test_crash_at(int point);
/* For tests that write into a state file as another process could: the
 * offset within the file of a field of the host ("magic", "g.nbyjid",
 * "prisons", "prison.name", ..., see state.c), or the size of a table's entry
 * ("sizeof.prison", "sizeof.proc"); -1 for a name it does not know. */
JAILMODEL_API long jailmodel_test_offset(const char *field);

#ifdef __cplusplus
}
#endif

#endif /* JAILMODEL_H */
