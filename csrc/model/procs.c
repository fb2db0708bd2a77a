/*
 * procs.c: the processes of a jail, as jail(8) finds them before it stops
 * one.
 *
 * jail(8) (usr.sbin/jail/command.c, term_procs) reads the process table with
 * kvm_getprocs(KERN_PROC_PROC), keeps the processes whose ki_jid is the
 * jail's, sends each SIGTERM and waits for NOTE_EXIT on each: a process
 * counts as gone once it has exited, while it may still be a zombie that
 * its parent has not reaped.  jailmodel_jail_pids answers with the model's
 * processes attached to the jail that have not exited: a zombie still holds
 * its jail (the model keeps it in the jail's count until it is reaped, as
 * the kernel keeps its credential), but it is not listed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <poll.h>
#include <sys/syscall.h>
#endif
#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#endif

#include "model.h"
#include "tree.h"

/* What the system's process table says of `pid`: 1 exited (a zombie), 0
 * running, -1 when it cannot tell. */
static int
jm_table_exited(pid_t pid)
{
#if defined(__linux__)
	/* /proc/PID/stat: "PID (COMM) S ...", COMM at most 15 bytes and the
	 * fields after the state numbers only, so the last ')' of the first
	 * bytes closes COMM.  Through the real root when this process is
	 * chrooted into a jail's directory (see jm_realroot in get.c). */
	char path[64], buf[128];
	const char *close_paren;
	int fd, rr = jm_realroot_fd();
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = rr >= 0 ? openat(rr, path + 1, O_RDONLY | O_CLOEXEC) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	close_paren = NULL;
	for (const char *c = buf; c < buf + n; c++)
		if (*c == ')')
			close_paren = c;
	if (close_paren == NULL || close_paren + 2 >= buf + n || close_paren[1] != ' ')
		return -1;
	return close_paren[2] == 'Z' || close_paren[2] == 'X';
#elif defined(__FreeBSD__)
	int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
	struct kinfo_proc kp;
	size_t len = sizeof(kp);

	if (sysctl(mib, 4, &kp, &len, NULL, 0) == -1 || len != sizeof(kp) ||
	    kp.ki_structsize != (int)sizeof(kp))
		return -1;
	return kp.ki_stat == SZOMB;
#else
	(void)pid;
	return -1;
#endif
}

/* Whether process `pid`, which kill(2) still finds, has exited.  Where the
 * process table cannot be read (/proc hidden or absent): waitid(2) with
 * WNOWAIT for a child of this process, which leaves it to be reaped by its
 * own waiter; on Linux a pidfd, readable once the process has exited;
 * otherwise it counts as running. */
static int
jm_proc_exited(pid_t pid)
{
	siginfo_t si;
	int r = jm_table_exited(pid);

	if (r >= 0)
		return r;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		return si.si_pid == pid;
#if defined(__linux__) && defined(SYS_pidfd_open)
	{
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		struct pollfd pf;

		if (pfd >= 0) {
			pf.fd = pfd;
			pf.events = POLLIN;
			pf.revents = 0;
			r = poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN) != 0;
			close(pfd);
			return r;
		}
		if (errno == ESRCH)
			return 1;
	}
#endif
	return 0;
}

int
jailmodel_jail_pids(int jid, int *pids, int n)
{
	struct jm_host *h;
	int mypr, nprocs, count = 0;

	if (jid < 1 || n < 0) {
		errno = EINVAL;
		return -1;
	}
	if (n > 0 && pids == NULL) {
		errno = EFAULT;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	mypr = jm_caller_prison(h);
	/* The table is the file's: its bound is checked again here, each entry's
	 * prison before it indexes anything. */
	nprocs = jm_bounded(h->g.nprocs_hint, JM_MAXPROCS);
	for (int i = 0; i < nprocs; i++) {
		const struct jm_proc *p = &h->procs[i];
		const struct jm_prison *pr;
		int s = p->prison;

		if (p->pid == 0)
			continue;
		if (p->pid < 0 || !jm_slot_ok(h, s)) {
			jm_broken();
			continue;
		}
		pr = &h->prisons[s];
		if (pr->gen != p->gen || pr->jid != jid)
			continue;
		/* A jailed caller sees the processes of its own jail and of its
		 * descendants only (p_cansee -> prison_check), as the kernel's
		 * KERN_PROC_PROC lists no other: the others' are not there. */
		if (s != mypr && !jm_is_descendant(h, s, mypr))
			continue;
		if (jm_proc_exited((pid_t)p->pid))
			continue;
		if (count < n)
			pids[count] = p->pid;
		count++;
	}
	if (jm_unlock(h) != 0)
		return -1;
	return count;
}
