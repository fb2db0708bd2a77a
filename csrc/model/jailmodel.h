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
#include <sys/uio.h>

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
/* For crash tests: make this process SIGKILL itself at a point in the middle
 * of its next change of the host, while it holds the lock (1: jail_set after
 * the first changes are made; 0: never). */
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
