/*
 * kernel.c: the seam between jailcore and the two backends.
 *
 * Every jc_* function takes the backend (JC_BACKEND_KERNEL: FreeBSD's libc;
 * JC_BACKEND_MODEL: the kernel model), makes exactly one call, and returns its
 * result, or -errno when it failed: the errno travels in the return value, so
 * nothing that runs after the call (a Python signal handler making calls of
 * its own, say) can replace it, and no out-parameter is allocated per call.
 * Every call wrapped here returns -1 on failure and 0 or more otherwise.
 * cffi releases the GIL around each of these calls (the calls that return a
 * jail descriptor take it back: see jc_jail_desc_call).
 *
 * On FreeBSD the kernel calls are libc's; the jail descriptor calls of
 * FreeBSD 15 are called directly when the headers have them and looked up
 * with dlsym(3) otherwise, so that a build against the 14.0 ABI runs on 14
 * and still uses descriptors on a 15 kernel.  Elsewhere the kernel backend
 * fails with ENOSYS.
 */
/* The stable ABI of the oldest Python jailcore supports, as the rest of the
 * abi3 extension uses: only for the GIL, held around the descriptor calls. */
#define Py_LIMITED_API 0x030A0000
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jailcore.h"

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/jail.h>
#include <sys/linker.h>
#include <sys/rctl.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <dlfcn.h>
#include <stdlib.h>
#if defined(JAIL_OWN_DESC) && __FreeBSD_version >= 1500000
#define JC_DIRECT_JAILDESC 1
#else
#define JC_DIRECT_JAILDESC 0
#endif
#endif

#define JC_ENOSYS() return -ENOSYS

#if defined(__FreeBSD__) && !JC_DIRECT_JAILDESC
typedef int (*jc_fd_fn)(int);

static jc_fd_fn
jc_lookup_fd_fn(const char *name)
{
	return (jc_fd_fn)dlsym(RTLD_DEFAULT, name);
}
#endif

int
jc_has_jaildesc(int backend)
{
	if (backend == JC_BACKEND_MODEL)
		return jailmodel_version() >= 15;
#if defined(__FreeBSD__)
#if JC_DIRECT_JAILDESC
	return 1;
#else
	return jc_lookup_fd_fn("jail_attach_jd") != NULL;
#endif
#else
	return 0;
#endif
}

static int
jc_jail_set_call(int backend, struct iovec *iov, unsigned int niov, int flags)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_set(iov, niov, flags));
#if defined(__FreeBSD__)
	return jc_result(jail_set(iov, niov, flags));
#else
	(void)iov, (void)niov, (void)flags;
	JC_ENOSYS();
#endif
}

static int
jc_jail_get_call(int backend, struct iovec *iov, unsigned int niov, int flags)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_get(iov, niov, flags));
#if defined(__FreeBSD__)
	return jc_result(jail_get(iov, niov, flags));
#else
	(void)iov, (void)niov, (void)flags;
	JC_ENOSYS();
#endif
}

/* jail_set(2) and jail_get(2) flags that make the call return a new jail
 * descriptor in its "desc" parameter (sys/jail.h, FreeBSD 15). */
#define JC_JAIL_GET_DESC 0x40
#define JC_JAIL_OWN_DESC 0x80

/* Make close-on-exec the descriptor that a successful JAIL_GET_DESC or
 * JAIL_OWN_DESC call wrote into its first "desc" pair.  FreeBSD allocates it
 * without the flag (kern_jaildesc.c, jaildesc_alloc: falloc_caps(td, &fp,
 * fdp, 0, NULL)) and has no flag asking for it, so a program exec'd without
 * closing descriptors (os.system, subprocess with close_fds=False) would
 * inherit the jail, and an owning descriptor would keep it alive. */
static void
jc_desc_cloexec(const struct iovec *iov, unsigned int niov)
{
	int fd;

	for (unsigned int i = 0; i + 1 < niov; i += 2) {
		if (iov[i].iov_base == NULL || iov[i].iov_len != sizeof("desc") ||
		    memcmp(iov[i].iov_base, "desc", sizeof("desc")) != 0)
			continue;
		if (iov[i + 1].iov_base != NULL && iov[i + 1].iov_len == sizeof(fd)) {
			memcpy(&fd, iov[i + 1].iov_base, sizeof(fd));
			if (fd >= 0)
				(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
		return;
	}
}

/* A call that returns a new descriptor runs with the GIL held (cffi released
 * it around this function): no Python thread can fork or exec (os.fork,
 * os.system, subprocess) between the call and the flag.  Threads that are
 * not Python's are beyond reach; FreeBSD offers no atomic way. */
static int
jc_jail_desc_call(int (*call)(int, struct iovec *, unsigned int, int), int backend,
                  struct iovec *iov, unsigned int niov, int flags)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	int r = call(backend, iov, niov, flags);

	if (r >= 0)
		jc_desc_cloexec(iov, niov);
	PyGILState_Release(gil);
	return r;
}

int
jc_jail_set(int backend, struct iovec *iov, unsigned int niov, int flags)
{
	if (flags & (JC_JAIL_GET_DESC | JC_JAIL_OWN_DESC))
		return jc_jail_desc_call(jc_jail_set_call, backend, iov, niov, flags);
	return jc_jail_set_call(backend, iov, niov, flags);
}

int
jc_jail_get(int backend, struct iovec *iov, unsigned int niov, int flags)
{
	if (flags & (JC_JAIL_GET_DESC | JC_JAIL_OWN_DESC))
		return jc_jail_desc_call(jc_jail_get_call, backend, iov, niov, flags);
	return jc_jail_get_call(backend, iov, niov, flags);
}

int
jc_jail_attach(int backend, int jid)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_attach(jid));
#if defined(__FreeBSD__)
	return jc_result(jail_attach(jid));
#else
	(void)jid;
	JC_ENOSYS();
#endif
}

int
jc_jail_remove(int backend, int jid)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_remove(jid));
#if defined(__FreeBSD__)
	return jc_result(jail_remove(jid));
#else
	(void)jid;
	JC_ENOSYS();
#endif
}

#if defined(__FreeBSD__) && !JC_DIRECT_JAILDESC
static int
jc_call_fd_fn(const char *name, int fd)
{
	jc_fd_fn fn = jc_lookup_fd_fn(name);

	if (fn == NULL)
		JC_ENOSYS();
	return jc_result(fn(fd));
}
#endif

int
jc_jail_attach_jd(int backend, int fd)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_attach_jd(fd));
#if defined(__FreeBSD__) && JC_DIRECT_JAILDESC
	return jc_result(jail_attach_jd(fd));
#elif defined(__FreeBSD__)
	return jc_call_fd_fn("jail_attach_jd", fd);
#else
	(void)fd;
	JC_ENOSYS();
#endif
}

int
jc_jail_remove_jd(int backend, int fd)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_remove_jd(fd));
#if defined(__FreeBSD__) && JC_DIRECT_JAILDESC
	return jc_result(jail_remove_jd(fd));
#elif defined(__FreeBSD__)
	return jc_call_fd_fn("jail_remove_jd", fd);
#else
	(void)fd;
	JC_ENOSYS();
#endif
}

int
jc_sysctl(int backend, const int *name, unsigned int namelen, void *oldp, size_t *oldlenp,
          const void *newp, size_t newlen)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_sysctl(name, namelen, oldp, oldlenp, newp, newlen));
#if defined(__FreeBSD__)
	return jc_result(sysctl(name, namelen, oldp, oldlenp, newp, newlen));
#else
	(void)name, (void)namelen, (void)oldp, (void)oldlenp, (void)newp, (void)newlen;
	JC_ENOSYS();
#endif
}

int
jc_sysctlbyname(int backend, const char *name, void *oldp, size_t *oldlenp, const void *newp,
                size_t newlen)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_sysctlbyname(name, oldp, oldlenp, newp, newlen));
#if defined(__FreeBSD__)
	return jc_result(sysctlbyname(name, oldp, oldlenp, newp, newlen));
#else
	(void)name, (void)oldp, (void)oldlenp, (void)newp, (void)newlen;
	JC_ENOSYS();
#endif
}

int
jc_sysctlnametomib(int backend, const char *name, int *mibp, size_t *sizep)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_sysctlnametomib(name, mibp, sizep));
#if defined(__FreeBSD__)
	return jc_result(sysctlnametomib(name, mibp, sizep));
#else
	(void)name, (void)mibp, (void)sizep;
	JC_ENOSYS();
#endif
}

int
jc_kldload(int backend, const char *file)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_kldload(file));
#if defined(__FreeBSD__)
	return jc_result(kldload(file));
#else
	(void)file;
	JC_ENOSYS();
#endif
}

int
jc_kldfind(int backend, const char *file)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_kldfind(file));
#if defined(__FreeBSD__)
	return jc_result(kldfind(file));
#else
	(void)file;
	JC_ENOSYS();
#endif
}

#if defined(__FreeBSD__)
/* The process table as kvm_getprocs(KERN_PROC_PROC) reads it on a live
 * system (lib/libkvm/kvm_proc.c: sysctl kern.proc.proc, one kinfo_proc per
 * process), the buffer grown while the table grows between the size query
 * and the read (ENOMEM).  The kernel lists only what the caller may see
 * (sysctl_kern_proc, p_cansee): from inside a jail, that jail's processes
 * and its descendants'.  A zombie is listed (SZOMB, its credential and so
 * its ki_jid kept until it is reaped); it is left out here, as jail(8)
 * counts it as gone (kevent NOTE_EXIT fires at exit, not at the reaping). */
static int
jc_kernel_jail_pids(int jid, int *pids, int n)
{
	int mib[3] = {CTL_KERN, KERN_PROC, KERN_PROC_PROC};
	struct kinfo_proc *kp = NULL;
	size_t len = 0, count;
	int found = 0, err;

	for (int tries = 0;; tries++) {
		if (sysctl(mib, 3, NULL, &len, NULL, 0) == -1) {
			err = errno;
			free(kp);
			return -err;
		}
		len += len / 8 + 16 * sizeof(*kp);
		free(kp);
		if ((kp = malloc(len)) == NULL)
			return -ENOMEM;
		if (sysctl(mib, 3, kp, &len, NULL, 0) == 0)
			break;
		if (errno != ENOMEM || tries == 8) {
			err = errno;
			free(kp);
			return -err;
		}
	}
	count = len / sizeof(*kp);
	if (count > 0 && kp[0].ki_structsize != (int)sizeof(*kp)) {
		free(kp);
		return -EINVAL; /* a kernel of another ABI */
	}
	for (size_t i = 0; i < count; i++) {
		if (kp[i].ki_jid != jid || kp[i].ki_stat == SZOMB)
			continue;
		if (found < n)
			pids[found] = kp[i].ki_pid;
		found++;
	}
	free(kp);
	return found;
}
#endif

int
jc_jail_pids(int backend, int jid, int *pids, int n)
{
	if (jid < 1 || n < 0)
		return -EINVAL;
	if (n > 0 && pids == NULL)
		return -EFAULT;
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_jail_pids(jid, pids, n));
#if defined(__FreeBSD__)
	return jc_kernel_jail_pids(jid, pids, n);
#else
	(void)jid, (void)pids, (void)n;
	JC_ENOSYS();
#endif
}

/* ---- kqueue ------------------------------------------------------------- */

#if defined(__FreeBSD__)
#include <sys/event.h>
#include <time.h>
#endif

int
jc_kqueue(int backend)
{
	int fd;

	if (backend == JC_BACKEND_MODEL) {
		fd = jailmodel_kqueue();
		if (fd >= 0)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		return jc_result(fd);
	}
#if defined(__FreeBSD__)
	fd = kqueue();
	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return jc_result(fd);
#else
	(void)fd;
	JC_ENOSYS();
#endif
}

int
jc_kqueue_close(int backend, int kq)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_kqueue_close(kq));
#if defined(__FreeBSD__)
	return jc_result(close(kq));
#else
	(void)kq;
	JC_ENOSYS();
#endif
}

#define JC_KEVENT_BATCH 64

int
jc_kevent(int backend, int kq, const struct jc_kevent *changes, int nchanges,
          struct jc_kevent *events, int nevents, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	int n;

	if (nchanges < 0 || nevents < 0 || nchanges > JC_KEVENT_BATCH || nevents > JC_KEVENT_BATCH)
		return -EINVAL;
	if (timeout_ns >= 0) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000);
		ts.tv_nsec = (long)(timeout_ns % 1000000000);
		tsp = &ts;
	}
	if (backend == JC_BACKEND_MODEL) {
		struct jailmodel_kevent in[JC_KEVENT_BATCH], out[JC_KEVENT_BATCH];

		for (int i = 0; i < nchanges; i++) {
			memset(&in[i], 0, sizeof(in[i]));
			in[i].ident = (uintptr_t)changes[i].ident;
			in[i].filter = (short)changes[i].filter;
			in[i].flags = (unsigned short)changes[i].flags;
			in[i].fflags = changes[i].fflags;
			in[i].data = changes[i].data;
			in[i].udata = (void *)(uintptr_t)changes[i].udata;
		}
		n = jailmodel_kevent(kq, in, nchanges, out, nevents, tsp);
		for (int i = 0; i < n; i++) {
			memset(&events[i], 0, sizeof(events[i]));
			events[i].ident = out[i].ident;
			events[i].filter = out[i].filter;
			events[i].flags = out[i].flags;
			events[i].fflags = out[i].fflags;
			events[i].data = out[i].data;
			events[i].udata = (uint64_t)(uintptr_t)out[i].udata;
		}
		return jc_result(n);
	}
#if defined(__FreeBSD__)
	{
		struct kevent in[JC_KEVENT_BATCH], out[JC_KEVENT_BATCH];

		for (int i = 0; i < nchanges; i++)
			EV_SET(&in[i], (uintptr_t)changes[i].ident, (short)changes[i].filter,
			    (unsigned short)changes[i].flags, changes[i].fflags, changes[i].data,
			    (void *)(uintptr_t)changes[i].udata);
		n = kevent(kq, in, nchanges, out, nevents, tsp);
		for (int i = 0; i < n; i++) {
			memset(&events[i], 0, sizeof(events[i]));
			events[i].ident = out[i].ident;
			events[i].filter = out[i].filter;
			events[i].flags = out[i].flags;
			events[i].fflags = out[i].fflags;
			events[i].data = out[i].data;
			events[i].udata = (uint64_t)(uintptr_t)out[i].udata;
		}
		return jc_result(n);
	}
#else
	(void)kq, (void)changes, (void)events, (void)tsp, (void)n;
	JC_ENOSYS();
#endif
}

typedef int (*jc_rctl_fn)(const char *, size_t, char *, size_t);

int
jc_rctl(int backend, int op, const char *inbuf, size_t inbuflen, char *outbuf, size_t outbuflen)
{
	static const jc_rctl_fn model[] = {
		jailmodel_rctl_get_racct, jailmodel_rctl_get_rules, jailmodel_rctl_get_limits,
		jailmodel_rctl_add_rule, jailmodel_rctl_remove_rule,
	};
#if defined(__FreeBSD__)
	static const jc_rctl_fn kernel[] = {
		rctl_get_racct, rctl_get_rules, rctl_get_limits, rctl_add_rule, rctl_remove_rule,
	};
#endif

	if (op < JC_RCTL_GET_RACCT || op > JC_RCTL_REMOVE_RULE)
		return -EINVAL;
	if (backend == JC_BACKEND_MODEL)
		return jc_result(model[op](inbuf, inbuflen, outbuf, outbuflen));
#if defined(__FreeBSD__)
	return jc_result(kernel[op](inbuf, inbuflen, outbuf, outbuflen));
#else
	(void)inbuf, (void)inbuflen, (void)outbuf, (void)outbuflen;
	JC_ENOSYS();
#endif
}

void
jc_iov_pack(struct iovec *iov, unsigned int n, char *blob, const size_t *lens)
{
	size_t off = 0;

	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_len = lens[i];
		iov[i].iov_base = lens[i] > 0 ? blob + off : NULL;
		off += lens[i];
	}
}
