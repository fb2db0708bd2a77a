/* The cdef surface of jailcore._native: declarations only (cffi parses this
 * file; csrc/jailcore.h is what the C compiler sees). */

struct iovec {
    void *iov_base;
    size_t iov_len;
};

#define JC_BACKEND_KERNEL 0
#define JC_BACKEND_MODEL 1

static const int JC_HAS_KERNEL;

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

/* The kernel model's own ABI (csrc/model/jailmodel.h). */
int jailmodel_jail_set(struct iovec *iov, unsigned int niov, int flags);
int jailmodel_jail_get(struct iovec *iov, unsigned int niov, int flags);
int jailmodel_jail_attach(int jid);
int jailmodel_jail_remove(int jid);
int jailmodel_jail_attach_jd(int fd);
int jailmodel_jail_remove_jd(int fd);
int jailmodel_sysctl(const int *name, unsigned int namelen, void *oldp, size_t *oldlenp,
                     const void *newp, size_t newlen);
int jailmodel_sysctlbyname(const char *name, void *oldp, size_t *oldlenp,
                           const void *newp, size_t newlen);
int jailmodel_sysctlnametomib(const char *name, int *mibp, size_t *sizep);
int jailmodel_kldload(const char *file);
int jailmodel_kldfind(const char *file);
int jailmodel_kldunload(int fileid);
void jailmodel_reset(void);
int jailmodel_set_version(int major);
int jailmodel_version(void);
int jailmodel_hold(int jid);
int jailmodel_release(int jid);
int jailmodel_open(const char *path);
const char *jailmodel_state_path(void);
int jailmodel_current_jid(void);
void jailmodel_test_crash_at(int point);
