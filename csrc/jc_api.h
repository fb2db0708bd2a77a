/* jc_api.h: jailcore's own C interface, the seam and the spawn helper.
 *
 * Plain declarations and integer constants only, with no include guard or
 * other preprocessor lines: csrc/jailcore.h includes it for the compiler, and
 * csrc/build.py hands the same text to cffi's cdef, so the two cannot drift.
 * It needs struct iovec, size_t and the <stdint.h> types declared before it. */

#define JC_BACKEND_KERNEL 0
#define JC_BACKEND_MODEL 1

const char *jc_version(void);
int jc_has_jaildesc(int backend);

/* The seam: syscall-shaped, except that a failed call returns -errno. */
int jc_jail_set(int backend, struct iovec *iov, unsigned int niov, int flags);
int jc_jail_get(int backend, struct iovec *iov, unsigned int niov, int flags);
int jc_jail_attach(int backend, int jid);
int jc_jail_remove(int backend, int jid);
int jc_jail_attach_jd(int backend, int fd);
int jc_jail_remove_jd(int backend, int fd);
int jc_sysctl(int backend, const int *name, unsigned int namelen, void *oldp,
              size_t *oldlenp, const void *newp, size_t newlen);
int jc_sysctlbyname(int backend, const char *name, void *oldp, size_t *oldlenp,
                    const void *newp, size_t newlen);
int jc_sysctlnametomib(int backend, const char *name, int *mibp, size_t *sizep);
int jc_kldload(int backend, const char *file);
int jc_kldfind(int backend, const char *file);
/* The processes of jail jid, as jail(8) lists them before it stops the jail
 * (usr.sbin/jail/command.c, term_procs): those whose ki_jid is jid, zombies
 * left out.  The first n pids into pids; returns how many there are (call
 * again with room for them when it is more than n), or -errno. */
int jc_jail_pids(int backend, int jid, int *pids, int n);
/* rctl(2), the five calls of RACCT/RCTL (FreeBSD 9.0 and later, libc
 * FBSD_1.2), chosen by op; the arguments are the calls' own. */
#define JC_RCTL_GET_RACCT 0
#define JC_RCTL_GET_RULES 1
#define JC_RCTL_GET_LIMITS 2
#define JC_RCTL_ADD_RULE 3
#define JC_RCTL_REMOVE_RULE 4
int jc_rctl(int backend, int op, const char *inbuf, size_t inbuflen, char *outbuf,
            size_t outbuflen);

/* kqueue(2) and kevent(2) for the jail filters (FreeBSD 15): one kevent as
 * jailcore passes it, whatever the platform's struct kevent. */
#define JC_EVFILT_JAIL -14
#define JC_EVFILT_JAILDESC -15
struct jc_kevent {
    uint64_t ident;
    int32_t filter;
    uint32_t flags;
    uint32_t fflags;
    uint32_t pad;
    int64_t data;
    uint64_t udata;
};
/* A new kqueue (close-on-exec): its descriptor, or -errno. */
int jc_kqueue(int backend);
/* kevent(2) with timeout_ns nanoseconds (< 0: wait as long as it takes): the
 * number of events, or -errno. */
int jc_kevent(int backend, int kq, const struct jc_kevent *changes, int nchanges,
              struct jc_kevent *events, int nevents, int64_t timeout_ns);
/* Close a kqueue of jc_kqueue: 0 or -errno. */
int jc_kqueue_close(int backend, int kq);

/* Point n iovec entries at consecutive pieces of `blob`, of lengths lens[]
 * (a zero length gets a NULL base). */
void jc_iov_pack(struct iovec *iov, unsigned int n, char *blob, const size_t *lens);

/* Prepared calls (prepared.c): the iovec of a call through a plan, made once
 * per set of names in Python, laid out around the values; the call itself
 * then goes through jc_jail_set or jc_jail_get. */
#define JC_PREPARED_INVALID -2
#define JC_ERRMSG_LEN 1024

/* How a jail_set value travels.  The values come in one buffer, each followed
 * by a NUL, with their lengths (without that NUL) in lens[]. */
#define JC_SET_RAW 0       /* the bytes as they are (none: no value) */
#define JC_SET_STRING 1    /* text, sent with its NUL; none inside, shorter than size */
#define JC_SET_BOOL 2      /* one byte picking the name: 0 name, 1 alt; no value */
#define JC_SET_OPTIONAL 3  /* as RAW, but the pair is left out when it is empty */
#define JC_SET_ADDR4 4     /* IPv4 addresses as text, "A" or "A,B", blanks around each
                              allowed, packed here with inet_pton(3) */
#define JC_SET_ADDR6 5     /* the same for IPv6 */
#define JC_SET_ADDR_OPTIONAL 8 /* with ADDR4/ADDR6: no address leaves the pair out */

struct jc_set_slot {
    const char *name;
    size_t name_len;   /* with its NUL */
    const char *alt;   /* JC_SET_BOOL: the other form (nopersist for persist) */
    size_t alt_len;
    unsigned int kind;
    unsigned int size; /* JC_SET_STRING: the kernel's buffer, NUL included (0: no limit) */
};

/* Lay out the pairs of nslots values in iov, which has room for 2 * nslots + 2
 * entries followed by JC_ERRMSG_LEN bytes, where the errmsg pair points (zeroed).
 * lens has nlens entries.  Returns the number of entries, or JC_PREPARED_INVALID
 * when there are fewer lengths than slots or a value breaks a rule checked
 * here (the caller's general path then explains it). */
int jc_set_iov(struct iovec *iov, const struct jc_set_slot *slots, unsigned int nslots,
               const char *values, const unsigned int *lens, unsigned int nlens,
               unsigned char *scratch, size_t scratch_size);
/* Bytes of scratch that the addresses of a call need at most (the packed
 * addresses of JC_SET_ADDR4/6 slots go there). */
size_t jc_set_scratch(const struct jc_set_slot *slots, unsigned int nslots,
                      const unsigned int *lens, unsigned int nlens);
/* The same layout and the call through jc_jail_set at once, the iovec and
 * the packed addresses on the stack (or, for many, the heap): the jid;
 * JC_SET_FALLBACK when a value needs the general path; or, for a failed call,
 * -(errno + JC_ERRNO_SPAN * k), the kernel's message then in
 * jc_set_errmsg(k).  The messages are kept in a ring of JC_ERRMSG_RING per
 * thread, so that calls made in between (a Python signal handler's) do not
 * replace one before it is read.  Here lens is packed: nlens native 32-bit
 * unsigned integers, one after the other (as Python's struct packs "I"),
 * with no alignment asked of it. */
#define JC_SET_FALLBACK -100000
#define JC_ERRNO_SPAN 4096
#define JC_ERRMSG_RING 8
int jc_set_call(int backend, const struct jc_set_slot *slots, unsigned int nslots,
                const char *values, const char *lens, unsigned int nlens, int flags);
const char *jc_set_errmsg(int k);

/* One value of a prepared jail_get.  Slot 0 is the key. */
struct jc_get_slot {
    const char *name;
    size_t name_len;     /* with its NUL */
    unsigned int offset; /* of the value's buffer in the call's buffer */
    unsigned int size;   /* of that buffer */
};

/* The call's buffer: the iovec (2 * nslots + 2 entries) at its start, the
 * value buffers (contiguous, from slot 0's up to lengths), the lengths and
 * the error message.  A buffer may serve call after call: it need not be
 * zeroed. */
struct jc_get_plan {
    const struct jc_get_slot *slots;
    unsigned int nslots;
    unsigned int lengths; /* nslots uint32: each returned iov_len, at most its size */
    unsigned int errmsg;  /* JC_ERRMSG_LEN bytes */
};

/* Clear the value buffers, copy the key into slot 0 and lay out the iovec at
 * the start of buf (NULL: the key does not fit).  jc_get_gather, after the
 * call, fills the lengths. */
struct iovec *jc_get_iov(const struct jc_get_plan *plan, char *buf, const char *key,
                         unsigned int key_len);
void jc_get_gather(const struct jc_get_plan *plan, char *buf);
/* jc_get_iov, the call through jc_jail_get and jc_get_gather at once: the
 * jid, -errno, or JC_SET_FALLBACK when the key does not fit. */
int jc_get_call(int backend, const struct jc_get_plan *plan, char *buf, const char *key,
                unsigned int key_len, int flags);

/* A prepared jail_get's values as Python objects (values.c): how each is
 * made from its bytes in the call's buffer.  jc_values_install adds
 * values_plan(), get_call(), values(), set_plan() and set_call() to
 * jailcore._native; 0, or -1 if it could not. */
#define JV_I32 0      /* int32_t */
#define JV_U32 1      /* uint32_t */
#define JV_I64 2      /* int64_t */
#define JV_U64 3      /* uint64_t */
#define JV_BOOL 4     /* its byte at the offset is not 0 */
#define JV_NOBOOL 5   /* its byte at the offset is 0 */
#define JV_STR 6      /* text up to its NUL, UTF-8 with surrogateescape */
#define JV_JAILSYS 7  /* fn[int32_t], fn being the 3 JailSys members; else the int */
#define JV_STRFN 8    /* fn(the text, as JV_STR) */
#define JV_ADDRS 9    /* a tuple of fn(bytes of each size-byte address) */
#define JV_BYTESFN 10 /* fn(the bytes of its returned length) */
#define JV_V4 11      /* a tuple of IPv4Address made as jailcore.params._fast_address does */
#define JV_V6 12      /* the same of IPv6Address */
/* How set_plan's encoders encode (values.c), as jailcore/_iov.py's do. */
#define JE_STR 0  /* a str, as UTF-8 */
#define JE_BOOL 1 /* True or False: the byte that picks the name */
#define JE_ADDR 2 /* a str, or a list or tuple of str joined by ",", as UTF-8 */
#define JE_SINT 3 /* an int from lo to hi, as a C integer of size bytes */
#define JE_UINT 4 /* an int from 0 to hi, as a C unsigned integer of size bytes */
#define JE_FN 5   /* the bytes fn returns */
#define JC_PLAN_MAX_SLOTS 4096 /* more values than any call takes */
int jc_values_install(void);

/* Starting a program inside a jail (spawn.c). */
#define JC_STEP_PIPE 1
#define JC_STEP_FORK 2
#define JC_STEP_ATTACH 3
#define JC_STEP_CHDIR 4
#define JC_STEP_SETGROUPS 5
#define JC_STEP_SETGID 6
#define JC_STEP_SETUID 7
#define JC_STEP_SIGNALS 8
#define JC_STEP_FDS 9
#define JC_STEP_EXEC 10
/* Steps of jailcore-jexec (jexec.c), which the child executes when a user or
 * a login environment is asked for. */
#define JC_STEP_GETPWNAM 11       /* no such user (ENOENT), or the lookup failed */
#define JC_STEP_LOGINCLASS 12     /* login_getpwclass */
#define JC_STEP_SETUSERCONTEXT 13
#define JC_STEP_ENV 14
#define JC_STEP_HOMEDIR 15        /* -l: chdir to the user's home */
#define JC_STEP_HELPER 16         /* executing jailcore-jexec itself */
#define JC_STEP_SETFIB 17         /* setfib(2), before the attach (jail(8)'s exec.fib) */
#define JC_STEP_SETSID 18         /* setsid(2): a new session */
/* The longest root directory the model's parent sends a child, NUL included. */
#define JC_ROOT_MAX 1024

struct jc_spawn {
    int backend;
    int jid;                     /* the jail to attach to; 0: none */
    const char *const *paths;    /* candidate programs, NULL-terminated */
    char *const *argv;
    char *const *envp;
    const char *cwd;             /* inside the jail; NULL: its root */
    int set_ids;                 /* switch to groups, gid and uid below */
    int ngroups;
    const unsigned int *groups;
    unsigned int gid;
    unsigned int uid;
    int fd_in, fd_out, fd_err;   /* -1: inherited as they are */
    const int *keep;             /* descriptors to pass, sorted */
    int nkeep;
    int close_fds;
    int maxfd;
    /* jailcore-jexec (jexec.c) to execute in place of the program, or NULL.
     * With it the child neither attaches nor changes ids or directory:
     * jailcore-jexec does, and looks the user up.  Its argv[1] (12 bytes)
     * and argv[2] (JC_ROOT_MAX bytes) are buffers the child fills with the
     * error pipe's number and, on the model, the root to chroot to. */
    const char *helper;
    char **helper_argv;
    /* The routing table (FIB) for the program, set with setfib(2) before the
     * attach as jail(8) does for exec.fib; -1: the one inherited. */
    int fib;
    int new_session;             /* setsid(2) first: a background command's */
};

/* What failed: the step, its errno, and from jailcore-jexec a detail (the
 * directory of JC_STEP_HOMEDIR), "" otherwise. */
#define JC_DETAIL_MAX 1024

struct jc_spawn_error {
    int step;
    int err;
    char detail[JC_DETAIL_MAX];
};

int jc_spawn(const struct jc_spawn *s, struct jc_spawn_error *e);

/* The open descriptors below maxfd that are directories, lowest first: the
 * first nout of them into out, and their number (fstat only, so that a forked
 * child may call it). */
int jc_dir_fds(int *out, int nout, int maxfd);

/* ---- Interfaces: addresses, cloning, renaming, vnet moves (csrc/net.c) ---- */

/* Families as FreeBSD numbers them (sys/socket.h), whatever the build host. */
#define JC_AF_INET 2
#define JC_AF_LINK 18
#define JC_AF_INET6 28
#define JC_IFNAMSIZ 16

/* An address to add (SIOCAIFADDR, SIOCAIFADDR_IN6) or remove (SIOCDIFADDR,
 * SIOCDIFADDR_IN6) on interface `name`: the bytes of the address in network
 * order (4 or 16 used), its prefix length (-1: no mask sent, the kernel's
 * default) and, for IPv4, a broadcast address when has_dst. */
struct jc_ifaddr_req {
	char name[16];
	int family;
	unsigned char addr[16];
	int prefixlen;
	int has_dst;
	unsigned char dst[16];
};
/* 1 add, 0 remove; 0 or -errno. */
int jc_if_addr(int backend, int add, const struct jc_ifaddr_req *r);

/* Requests on one interface name (name is IFNAMSIZ bytes, written back):
 * CREATE (SIOCIFCREATE2: the created name back), DESTROY (SIOCIFDESTROY),
 * RENAME (SIOCSIFNAME to newname), VNET (SIOCSIFVNET to jail arg), RVNET
 * (SIOCSIFRVNET from jail arg), GETFLAGS (SIOCGIFFLAGS: returns the flags),
 * SETFLAGS (SIOCSIFFLAGS to arg).  >= 0 or -errno. */
#define JC_IF_CREATE 1
#define JC_IF_DESTROY 2
#define JC_IF_RENAME 3
#define JC_IF_VNET 4
#define JC_IF_RVNET 5
#define JC_IF_GETFLAGS 6
#define JC_IF_SETFLAGS 7
int jc_if_op(int backend, int op, char *name, int arg, const char *newname);

/* One row of getifaddrs(3): family JC_AF_LINK for an interface (index, type,
 * mtu, MAC), JC_AF_INET/JC_AF_INET6 for one of its addresses. */
struct jc_ifrow {
	char name[16];
	int family;
	unsigned int flags;
	unsigned int index;
	unsigned int type;
	unsigned int mtu;
	int maclen;
	unsigned char mac[8];
	unsigned char addr[16];
	int prefixlen;
	int has_dst;
	unsigned char dst[16];
	unsigned int scope;
};
/* The first nrows rows into rows; returns how many there are (more than
 * nrows: call again with room for them), or -errno. */
int jc_if_list(int backend, struct jc_ifrow *rows, int nrows);


/* ---- Mounts and devfs rulesets (csrc/mount.c) ---- */

/* A mount as getfsstat(2) reports it (from struct statfs). */
struct jc_mount_row {
    char fstype[16];
    char from[1024];
    char on[1024];
    unsigned long long flags;
    int fsid[2];
    unsigned int owner;
};

int jc_nmount(int backend, struct iovec *iov, unsigned int niov, int flags);
int jc_unmount(int backend, const char *path, int flags);
/* getfsstat(2), MNT_NOWAIT: the first nrows mounts into rows, and the number
 * of mounts there are (call again with more rows when it is larger). */
int jc_getfsstat(int backend, struct jc_mount_row *rows, int nrows);

/* devfs rulesets (csrc/devfs.c): the DEVFSIO_* ioctls on fd, a directory
 * descriptor of a devfs mount point.  struct devfs_rule, flat: id is
 * ruleset << 16 | rule. */
struct jc_devfs_rule {
	unsigned int id;
	int icond;
	int dswflags;
	char pathptrn[200];
	int iacts;
	int bacts;
	unsigned int uid;
	unsigned int gid;
	unsigned int mode;
	unsigned int incset;
};
/* RADD (r->id written back: the ruleset resolved), RAPPLY, RGETNEXT (the
 * next rule into r).  0 or -errno. */
#define JC_DEVFS_RADD 1
#define JC_DEVFS_RAPPLY 2
#define JC_DEVFS_RGETNEXT 3
int jc_devfs_rule_ioctl(int backend, int fd, int op, struct jc_devfs_rule *r);
/* RDEL, RAPPLYID of rule id rid.  0 or -errno. */
#define JC_DEVFS_RDEL 4
#define JC_DEVFS_RAPPLYID 5
int jc_devfs_rid_ioctl(int backend, int fd, int op, unsigned int rid);
/* SUSE, SAPPLY, SGETNEXT (the next ruleset number into *rs).  0 or -errno. */
#define JC_DEVFS_SUSE 6
#define JC_DEVFS_SAPPLY 7
#define JC_DEVFS_SGETNEXT 8
int jc_devfs_set_ioctl(int backend, int fd, int op, unsigned short *rs);
/* The model's visible nodes of the devfs mount at fd (jailmodel_devfs_nodes):
 * the first n into out, returns their number; -ENOSYS on the kernel. */
struct jc_devfs_node {
	char name[64];
	unsigned int mode;
	unsigned int uid;
	unsigned int gid;
};
int jc_devfs_nodes(int backend, int fd, struct jc_devfs_node *out, int n);
/* The model's jailmodel_devfs_load_defaults; -ENOSYS on the kernel. */
int jc_devfs_load_defaults(int backend);
