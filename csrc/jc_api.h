/* jc_api.h: jailcore's own C interface, the seam and the spawn helper.
 *
 * Plain declarations and integer constants only, with no include guard or
 * other preprocessor lines: csrc/jailcore.h includes it for the compiler, and
 * csrc/build.py hands the same text to cffi's cdef, so the two cannot drift.
 * It needs struct iovec and size_t declared before it. */

#define JC_BACKEND_KERNEL 0
#define JC_BACKEND_MODEL 1

const char *jc_version(void);
int jc_has_jaildesc(int backend);

/* The seam: syscall-shaped, errno captured in C into *err (0 on success). */
int jc_jail_set(int backend, struct iovec *iov, unsigned int niov, int flags, int *err);
int jc_jail_get(int backend, struct iovec *iov, unsigned int niov, int flags, int *err);
int jc_jail_attach(int backend, int jid, int *err);
int jc_jail_remove(int backend, int jid, int *err);
int jc_jail_attach_jd(int backend, int fd, int *err);
int jc_jail_remove_jd(int backend, int fd, int *err);
int jc_sysctl(int backend, const int *name, unsigned int namelen, void *oldp,
              size_t *oldlenp, const void *newp, size_t newlen, int *err);
int jc_sysctlbyname(int backend, const char *name, void *oldp, size_t *oldlenp,
                    const void *newp, size_t newlen, int *err);
int jc_sysctlnametomib(int backend, const char *name, int *mibp, size_t *sizep, int *err);
int jc_kldload(int backend, const char *file, int *err);
int jc_kldfind(int backend, const char *file, int *err);

/* A prepared jail_get: copy the template iovec, whose value entries hold
 * offsets into one buffer, and make them pointers into `base`. */
void jc_iov_rebase(struct iovec *dst, const struct iovec *tmpl, unsigned int n, char *base);
/* Point n iovec entries at consecutive pieces of `blob`, of lengths lens[]
 * (a zero length gets a NULL base). */
void jc_iov_pack(struct iovec *iov, unsigned int n, char *blob, const size_t *lens);

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
};

struct jc_spawn_error {
    int step;
    int err;
};

int jc_spawn(const struct jc_spawn *s, struct jc_spawn_error *e);
