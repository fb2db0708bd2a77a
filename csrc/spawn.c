/*
 * spawn.c: start a program inside a jail.
 *
 * fork -> attach to the jail -> chdir -> setgroups, setgid, setuid (each
 * checked) -> reset signal dispositions and mask -> arrange file descriptors
 * -> execve.  Between fork and exec the child makes only async-signal-safe
 * calls and allocates nothing: everything it needs (argument and environment
 * vectors, candidate paths for the program, group list) was built by the
 * parent.  A failing step is reported to the parent through a close-on-exec
 * pipe as the step and its errno; an exec that succeeds closes the pipe.
 *
 * Before it attaches, the child closes every descriptor the program will not
 * get, and with close_fds off at least every directory: FreeBSD refuses
 * jail_attach(2) with EPERM while the process holds an open directory
 * descriptor (do_jail_attach -> pwd_chroot_chdir -> chroot_refuse_vdir_fds,
 * sys/kern/kern_jail.c and sys/kern/kern_descrip.c), and a Python process
 * often holds some (os.scandir, dir_fd, another thread's os.walk).
 *
 * When a user or a login environment is asked for, the child does not attach
 * or change its ids: with its signals and descriptors arranged, it executes
 * jailcore-jexec (jexec.c) on the host, which looks the user up as jexec(8)
 * does (the host's databases before attaching, the jail's after), attaches,
 * applies the login class and runs the program.  The child hands it the error
 * pipe, and on the model the root to chroot to.
 *
 * On the kernel backend the child then calls jail_attach(2).  On the model,
 * whose bookkeeping takes a lock, the child tells the parent that its
 * descriptors are settled; the parent registers it with
 * jailmodel_attach_pid() (which applies the same rule to the child's
 * descriptors) while the child waits on a pipe, then sends it the directory
 * to chroot(2) to.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/jail.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#endif

#include "jailcore.h"

_Static_assert(sizeof(gid_t) == sizeof(unsigned int), "gid_t is an unsigned int");
_Static_assert(sizeof(uid_t) == sizeof(unsigned int), "uid_t is an unsigned int");

/* What goes through the error pipe: the step, its errno and the length of a
 * detail that follows (three ints; only jailcore-jexec sends a detail).  The
 * length says where the message ends: a sibling child forked by another
 * thread may hold the pipe open, so end of file cannot. */
#define JC_RECORD (3 * sizeof(int))

static void
jc_report(int fd, int step, int err)
{
	int rec[3] = {step, err, 0};
	ssize_t n;

	do
		n = write(fd, rec, sizeof(rec));
	while (n == -1 && errno == EINTR);
	_exit(127);
}

static int
jc_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)got;
		got += (size_t)n;
	}
	return (int)got;
}

/* Close every descriptor in [lo, hi]. */
static void
jc_close_range(int lo, int hi, int maxfd)
{
	if (lo > hi)
		return;
#if defined(__FreeBSD__) || (defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)))
	if (close_range((unsigned int)lo, (unsigned int)hi, 0) == 0)
		return;
#endif
	if (hi > maxfd)
		hi = maxfd;
	for (int fd = lo; fd <= hi; fd++)
		(void)close(fd);
}

/* How many descriptors this process has open, or -1 where the system does
 * not say: on FreeBSD (13.0 and later) one sysctl, kern.proc.nfds, so that a
 * scan for directories stops at the last open descriptor instead of running
 * to a descriptor limit that may be in the hundreds of thousands.  A system
 * call only: async-signal-safe. */
static int
jc_open_count(void)
{
#if defined(__FreeBSD__) && defined(KERN_PROC_NFDS)
	int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_NFDS, 0};
	int nfds;
	size_t len = sizeof(nfds);

	if (sysctl(mib, 4, &nfds, &len, NULL, 0) == 0 && len == sizeof(nfds))
		return nfds;
#endif
	return -1;
}

int
jc_dir_fds(int *out, int nout, int maxfd)
{
	struct stat st;
	int n = 0, seen = 0, nopen = jc_open_count();

	for (int fd = 0; fd < maxfd && (nopen < 0 || seen < nopen); fd++) {
		if (fstat(fd, &st) != 0)
			continue;
		seen++;
		if (S_ISDIR(st.st_mode)) {
			if (n < nout)
				out[n] = fd;
			n++;
		}
	}
	return n;
}

/* Whether the child must keep `fd` open across the attach: 0, 1, 2, the
 * sources of 0, 1, 2, the descriptors to pass, the pipes to the parent. */
static int
jc_needed(const struct jc_spawn *s, int fd, int errfd, int gofd)
{
	if (fd < 3 || fd == s->fd_in || fd == s->fd_out || fd == s->fd_err ||
	    fd == errfd || fd == gofd)
		return 1;
	for (int k = 0; k < s->nkeep; k++)
		if (s->keep[k] == fd)
			return 1;
	return 0;
}

/* The lowest needed descriptor >= lo above 2, or INT32_MAX. */
static int
jc_next_needed(const struct jc_spawn *s, int lo, int errfd, int gofd)
{
	int best = INT32_MAX;
	int extra[5] = {s->fd_in, s->fd_out, s->fd_err, errfd, gofd};

	for (int i = 0; i < 5; i++)
		if (extra[i] >= lo && extra[i] < best)
			best = extra[i];
	for (int k = 0; k < s->nkeep; k++)
		if (s->keep[k] >= lo && s->keep[k] < best)
			best = s->keep[k];
	return best;
}

/* In the child, before the attach: close every descriptor the program will
 * not get (close_fds), or else every directory among them. */
static void
jc_child_preclose(const struct jc_spawn *s, int errfd, int gofd)
{
	struct stat st;

	if (!s->close_fds) {
		int nopen = jc_open_count(), seen = 0;

		for (int fd = 0; fd < 3; fd++)
			seen += fstat(fd, &st) == 0;
		for (int fd = 3; fd < s->maxfd && (nopen < 0 || seen < nopen); fd++) {
			if (fstat(fd, &st) != 0)
				continue;
			seen++;
			if (!jc_needed(s, fd, errfd, gofd) && S_ISDIR(st.st_mode))
				(void)close(fd);
		}
		return;
	}
	for (int lo = 3;;) {
		int next = jc_next_needed(s, lo, errfd, gofd);

		jc_close_range(lo, next - 1, s->maxfd);
		if (next == INT32_MAX)
			break;
		lo = next + 1;
	}
}

/* In the child: descriptors 0, 1, 2 from the given ones, the kept ones
 * inheritable, the others closed when asked.  0 or an errno. */
static int
jc_child_fds(const struct jc_spawn *s, int errfd)
{
	int fds[3] = {s->fd_in, s->fd_out, s->fd_err};
	int lo = 3;

	/* Move sources that sit on 0..2 out of the way before any dup2. */
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0 && fds[i] < 3 && fds[i] != i) {
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			if (fds[i] == -1)
				return errno;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (fds[i] == i) {
			if (fcntl(i, F_SETFD, 0) == -1)
				return errno;
		} else if (fds[i] >= 0 && dup2(fds[i], i) == -1) {
			return errno;
		}
	}
	for (int k = 0; k < s->nkeep; k++)
		if (s->keep[k] > 2 && fcntl(s->keep[k], F_SETFD, 0) == -1)
			return errno;
	if (!s->close_fds)
		return 0;
	/* keep[] is sorted; the error pipe stays open until exec closes it. */
	for (int k = 0; k <= s->nkeep; k++) {
		int next = k < s->nkeep ? s->keep[k] : INT32_MAX;

		if (errfd >= lo && errfd < next) {
			jc_close_range(lo, errfd - 1, s->maxfd);
			lo = errfd + 1;
		}
		if (next == INT32_MAX)
			break;
		if (next >= lo) {
			jc_close_range(lo, next - 1, s->maxfd);
			lo = next + 1;
		}
	}
	jc_close_range(lo, INT32_MAX, s->maxfd);
	return 0;
}

/* Read the parent's message, a string with its NUL, into buf.  Stop at the NUL,
 * not at end of file: a sibling child forked by another thread at the same time
 * holds a copy of the pipe's write end until it execs, so end of file may come
 * only after that child (itself maybe waiting for its own message) goes on.
 * Its length with the NUL, or 0 on end of file or error before one arrived. */
static int
jc_read_message(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		for (size_t i = got; i < got + (size_t)n; i++)
			if (buf[i] == '\0')
				return (int)(i + 1);
		got += (size_t)n;
	}
	return 0;
}

/* Write n >= 0 in decimal into buf (room for 12 bytes): async-signal-safe. */
static void
jc_decimal(char *buf, int n)
{
	char tmp[12];
	int len = 0;

	do
		tmp[len++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	for (int i = 0; i < len; i++)
		buf[i] = tmp[len - 1 - i];
	buf[len] = '\0';
}

/* The highest signal number to reset: SIGRTMAX where the system has it
 * (FreeBSD's NSIG is 32, the historical signals only, while its real-time
 * signals run to SIGRTMAX, 126: sys/signal.h), else NSIG - 1.  Read in the
 * parent: glibc's SIGRTMAX is a function call. */
static int
jc_max_signal(void)
{
	int max = NSIG - 1;

#ifdef SIGRTMAX
	if (SIGRTMAX > max)
		max = SIGRTMAX;
#endif
	return max;
}

/* setfib(2) for the child, a system call only (async-signal-safe): 0 or an
 * errno.  Off FreeBSD, the model has FIB 0 alone, like a FreeBSD booted with
 * net.fibs=1, where setfib refuses every fib >= rt_numfibs with EINVAL. */
static int
jc_setfib(int fib)
{
#if defined(__FreeBSD__)
	return setfib(fib) == -1 ? errno : 0;
#else
	return fib == 0 ? 0 : EINVAL;
#endif
}

static void
jc_child(const struct jc_spawn *s, int errfd, int gofd, int maxsig)
{
	struct sigaction dfl;
	sigset_t none;
	int err = 0;

	/* jail(8) sets exec.fib in the child before jail_attach (run_command,
	 * usr.sbin/jail/command.c); a FIB is kept across jail_attach and exec. */
	/* jail(8) calls setsid() first in the child of a background command. */
	if (s->new_session && setsid() == -1)
		jc_report(errfd, JC_STEP_SETSID, errno);
	if (s->fib >= 0 && (err = jc_setfib(s->fib)) != 0)
		jc_report(errfd, JC_STEP_SETFIB, err);
	if (s->jid > 0)
		jc_child_preclose(s, errfd, gofd);
	if (s->jid > 0 && s->backend == JC_BACKEND_MODEL) {
		int ready[3] = {0, 0, 0};
		char own[JC_ROOT_MAX];
		/* With jailcore-jexec to run, the root goes to it: it chroots. */
		char *root = s->helper != NULL ? s->helper_argv[2] : own;
		ssize_t n;

		/* Settled: the parent may look at this process's descriptors. */
		do
			n = write(errfd, ready, sizeof(ready));
		while (n == -1 && errno == EINTR);
		/* The parent sends the root path with its NUL, or nothing on failure. */
		if (jc_read_message(gofd, root, JC_ROOT_MAX) == 0)
			_exit(127);
		if (s->helper == NULL && chdir(root) == -1)
			jc_report(errfd, JC_STEP_ATTACH, errno);
		if (s->helper == NULL && strcmp(root, "/") != 0 && chroot(".") == -1)
			jc_report(errfd, JC_STEP_ATTACH, errno);
	} else if (s->jid > 0 && s->helper == NULL) {
#if defined(__FreeBSD__)
		if (jail_attach(s->jid) == -1)
			jc_report(errfd, JC_STEP_ATTACH, errno);
#else
		jc_report(errfd, JC_STEP_ATTACH, ENOSYS);
#endif
	}
	if (s->helper == NULL && chdir(s->cwd != NULL ? s->cwd : "/") == -1)
		jc_report(errfd, JC_STEP_CHDIR, errno);
	if (s->helper == NULL && s->set_ids) {
		if (setgroups(s->ngroups, (const gid_t *)s->groups) == -1)
			jc_report(errfd, JC_STEP_SETGROUPS, errno);
		if (setgid((gid_t)s->gid) == -1)
			jc_report(errfd, JC_STEP_SETGID, errno);
		if (setuid((uid_t)s->uid) == -1)
			jc_report(errfd, JC_STEP_SETUID, errno);
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	/* Every disposition back to the default (an inherited SIG_IGN of a
	 * real-time signal included); sigaction fails harmlessly for numbers
	 * the C library keeps for itself. */
	for (int sig = 1; sig <= maxsig; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		jc_report(errfd, JC_STEP_SIGNALS, errno);
	if ((err = jc_child_fds(s, errfd)) != 0)
		jc_report(errfd, JC_STEP_FDS, err);
	if (s->helper != NULL) {
		/* jailcore-jexec attaches, looks the user up and runs the program;
		 * it reports on the error pipe, which it must inherit. */
		jc_decimal(s->helper_argv[1], errfd);
		if (fcntl(errfd, F_SETFD, 0) == -1)
			jc_report(errfd, JC_STEP_FDS, errno);
		execve(s->helper, s->helper_argv, s->envp);
		err = errno;
		(void)fcntl(errfd, F_SETFD, FD_CLOEXEC);
		jc_report(errfd, JC_STEP_HELPER, err);
	}
	/* Like execvp: try each candidate; remember EACCES, go on past ENOENT. */
	err = ENOENT;
	for (int i = 0; s->paths[i] != NULL; i++) {
		execve(s->paths[i], s->argv, s->envp);
		if (errno == EACCES)
			err = EACCES;
		else if (errno != ENOENT && errno != ENOTDIR) {
			err = errno;
			break;
		}
	}
	jc_report(errfd, JC_STEP_EXEC, err);
}

/* Read a record {step, errno} into e: the bytes read (JC_RECORD when whole). */
static int
jc_read_record(int fd, struct jc_spawn_error *e)
{
	int rec[3];
	int n = jc_read_full(fd, rec, sizeof(rec));

	if (n == (int)sizeof(rec)) {
		e->step = rec[0];
		e->err = rec[1];
		if (rec[2] > 0 && rec[2] < (int)sizeof(e->detail))
			jc_read_full(fd, e->detail, (size_t)rec[2]);
	}
	return n;
}

int
jc_spawn(const struct jc_spawn *s, struct jc_spawn_error *e)
{
	int errpipe[2] = {-1, -1}, gopipe[2] = {-1, -1};
	int model = s->jid > 0 && s->backend == JC_BACKEND_MODEL;
	sigset_t all, old;
	pid_t pid;
	ssize_t n;
	int maxsig;

	memset(e, 0, sizeof(*e));
	/* pipe2: close-on-exec from the start, or a fork by another thread in
	 * between could hand these to a program for good. */
	if (pipe2(errpipe, O_CLOEXEC) == -1 || (model && pipe2(gopipe, O_CLOEXEC) == -1)) {
		e->step = JC_STEP_PIPE;
		e->err = errno;
		goto fail;
	}
	maxsig = jc_max_signal();
	/* No signal handler may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(errpipe[0]);
		if (model)
			close(gopipe[1]);
		jc_child(s, errpipe[1], gopipe[0], maxsig);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		e->step = JC_STEP_FORK;
		e->err = errno;
		goto fail;
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	if (model) {
		char root[JC_ROOT_MAX];
		size_t len;

		close(gopipe[0]);
		gopipe[0] = -1;
		/* Wait until the child has closed what it does not need: the attach
		 * rule applies to its descriptors as they are then. */
		n = jc_read_record(errpipe[0], e);
		if (n != (ssize_t)JC_RECORD || e->step != 0) {
			if (n != (ssize_t)JC_RECORD) {
				e->step = JC_STEP_ATTACH;
				e->err = EIO;
			}
			close(gopipe[1]);
			gopipe[1] = -1;
			while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
				;
			goto fail;
		}
		if (jailmodel_attach_pid((int)pid, s->jid, root, sizeof(root)) == -1) {
			e->step = JC_STEP_ATTACH;
			e->err = errno;
			kill(pid, SIGKILL);
			close(gopipe[1]);
			gopipe[1] = -1;
			while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
				;
			goto fail;
		}
		len = strlen(root) + 1;
		do
			n = write(gopipe[1], root, len);
		while (n == -1 && errno == EINTR);
		close(gopipe[1]);
		gopipe[1] = -1;
	}
	n = jc_read_record(errpipe[0], e);
	close(errpipe[0]);
	if (n == 0)
		return (int)pid;
	/* The child failed before exec and has exited: reap it. */
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)JC_RECORD) {
		e->step = JC_STEP_EXEC;
		e->err = EIO;
	}
	return -1;
fail:
	for (int i = 0; i < 2; i++) {
		if (errpipe[i] >= 0)
			close(errpipe[i]);
		if (gopipe[i] >= 0)
			close(gopipe[i]);
	}
	return -1;
}
