/*
 * rctl.c: resource limits and accounting, rctl(2) of FreeBSD's RACCT/RCTL.
 *
 * The five calls follow sys/kern/kern_rctl.c: ENOSYS unless the kernel has
 * RACCT and kern.racct.enable is set (checked before privilege), then
 * PRIV_RCTL_* (root outside any jail), then the input (copied in as a
 * string within inbuflen), then rctl_string_to_rule's parse.  Rules are kept
 * in the host, in their kernel form; jail rules name a jail (a prison_racct
 * is found or made by name), so they may be added before the jail exists and
 * outlive it.
 *
 * Usage is not counted as the kernel counts it (racct_add at every
 * allocation): it is measured when asked, from what the host's process table
 * says of the processes of a jail.  A process belongs to the jail it was
 * attached to through the model, and so does every descendant of such a
 * process that has not attached elsewhere (a fork keeps its parent's
 * credential).  A jail's figures include its descendants' (racct_add_cred
 * charges the prison and each of its parents).  docs/model.rst lists what is
 * measured and how.
 *
 * Only deny acts, and only on maxproc (per jail): when the spawn helper
 * makes a process of a jail that has reached a deny rule's amount, the
 * attach fails with EAGAIN, fork(2)'s error when racct_proc_fork refuses.
 * jail_attach(2) itself is never refused, as racct_proc_ucred_changed moves
 * a process's counts without a check.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#endif

#include "model.h"
#include "tree.h"

/* ---- names (kern_rctl.c's dictionaries) ---------------------------------- */

enum { S_PROCESS = 1, S_USER, S_LOGINCLASS, S_JAIL };
static const char *const subject_names[] = {NULL, "process", "user", "loginclass", "jail"};
#define NSUBJECTS 4

/* Resource indexes are RACCT_* + 1. */
enum {
	R_CPU = 1, R_DATA, R_STACK, R_CORE, R_RSS, R_MEMLOCK, R_NPROC, R_NOFILE, R_VMEM,
	R_NPTS, R_SWAP, R_NTHR, R_MSGQQUEUED, R_MSGQSIZE, R_NMSGQ, R_NSEM, R_NSEMOP,
	R_NSHM, R_SHMSIZE, R_WALLCLOCK, R_PCTCPU, R_READBPS, R_WRITEBPS, R_READIOPS,
	R_WRITEIOPS,
};
#define NRES 25
static const char *const resource_names[NRES + 1] = {
	NULL, "cputime", "datasize", "stacksize", "coredumpsize", "memoryuse",
	"memorylocked", "maxproc", "openfiles", "vmemoryuse", "pseudoterminals",
	"swapuse", "nthr", "msgqqueued", "msgqsize", "nmsgq", "nsem", "nsemop",
	"nshm", "shmsize", "wallclock", "pcpu", "readbps", "writebps", "readiops",
	"writeiops",
};

/* racct_types[] of kern_racct.c. */
#define F_MILLIONS 1
#define F_DENIABLE 2
#define F_SLOPPY 4
#define F_DECAYING 8
static const unsigned char resource_flags[NRES + 1] = {
	[R_CPU] = F_MILLIONS,
	[R_DATA] = F_DENIABLE,
	[R_STACK] = F_DENIABLE,
	[R_CORE] = F_DENIABLE,
	[R_RSS] = 0,
	[R_MEMLOCK] = F_DENIABLE,
	[R_NPROC] = F_DENIABLE,
	[R_NOFILE] = F_DENIABLE,
	[R_VMEM] = F_DENIABLE,
	[R_NPTS] = F_DENIABLE | F_SLOPPY,
	[R_SWAP] = F_DENIABLE | F_SLOPPY,
	[R_NTHR] = F_DENIABLE,
	[R_MSGQQUEUED] = F_DENIABLE | F_SLOPPY,
	[R_MSGQSIZE] = F_DENIABLE | F_SLOPPY,
	[R_NMSGQ] = F_DENIABLE | F_SLOPPY,
	[R_NSEM] = F_DENIABLE | F_SLOPPY,
	[R_NSEMOP] = F_DENIABLE,
	[R_NSHM] = F_DENIABLE | F_SLOPPY,
	[R_SHMSIZE] = F_DENIABLE | F_SLOPPY,
	[R_WALLCLOCK] = F_MILLIONS,
	[R_PCTCPU] = F_DECAYING | F_DENIABLE | F_MILLIONS,
	[R_READBPS] = F_DECAYING,
	[R_WRITEBPS] = F_DECAYING,
	[R_READIOPS] = F_DECAYING,
	[R_WRITEIOPS] = F_DECAYING,
};

/* Actions: the signals (RCTL_ACTION_SIG*), then the others. */
enum { A_DENY = 32, A_LOG, A_DEVCTL, A_THROTTLE };
static const char *const action_names[] = {
	NULL, "sighup", "sigint", "sigquit", "sigill", "sigtrap", "sigabrt", "sigemt",
	"sigfpe", "sigkill", "sigbus", "sigsegv", "sigsys", "sigpipe", "sigalrm",
	"sigterm", "sigurg", "sigstop", "sigtstp", "sigchld", "sigttin", "sigttou",
	"sigio", "sigxcpu", "sigxfsz", "sigvtalrm", "sigprof", "sigwinch", "siginfo",
	"sigusr1", "sigusr2", "sigthr", "deny", "log", "devctl", "throttle",
};
#define NACTIONS 35

#define AMOUNT_UNDEFINED (-1)

/* str2value: a name of `table` in any case; its index, or 0. */
static int
str2value(const char *s, const char *const *table, int n)
{
	for (int i = 1; i <= n; i++)
		if (strcasecmp(table[i], s) == 0)
			return i;
	return 0;
}

/* str2id and str2int64: strtoul in base 10 over the whole string. */
static int
str2u(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return *end == '\0' ? 0 : EINVAL;
}

/* strsep(3) on one of `delims`: the field before it, *p moved past it (NULL
 * when there was none); NULL when *p is NULL. */
static char *
field(char **p, const char *delims)
{
	char *s = *p, *d;

	if (s == NULL)
		return NULL;
	d = strpbrk(s, delims);
	if (d != NULL) {
		*d = '\0';
		*p = d + 1;
	} else
		*p = NULL;
	return s;
}

static int
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* pfind(): whether process `id` exists. */
static int
proc_exists(int64_t id)
{
	if (id <= 0 || id > INT32_MAX)
		return 0;
	return kill((pid_t)id, 0) == 0 || errno == EPERM;
}

/* rctl_string_to_rule. */
static int
parse_rule(char *str, struct jm_rule *r)
{
	char *subject = field(&str, ":"), *id = field(&str, ":");
	char *resource = field(&str, ":"), *action = field(&str, "=/");
	char *amount = field(&str, "/"), *per = str;
	unsigned long v;

	memset(r, 0, sizeof(*r));
	r->amount = AMOUNT_UNDEFINED;
	if (!empty(subject) && (r->subject = (int8_t)str2value(subject, subject_names, NSUBJECTS)) == 0)
		return EINVAL;
	if (!empty(id)) {
		switch (r->subject) {
		case 0:
			return EINVAL;
		case S_PROCESS:
			if (str2u(id, &v) != 0)
				return EINVAL;
			r->id = (int64_t)v;
			if (!proc_exists(r->id))
				return ESRCH;
			break;
		case S_USER:
			if (str2u(id, &v) != 0)
				return EINVAL;
			r->id = (int64_t)(uint32_t)v; /* uifind(uid_t) */
			break;
		case S_LOGINCLASS:
			if (strlen(id) >= JM_MAXLOGNAME) /* loginclass_find */
				return ENAMETOOLONG;
			strcpy(r->name, id);
			break;
		case S_JAIL:
			if (strlen(id) >= JM_MAXHOSTNAMELEN) /* prison_racct_find */
				return ENAMETOOLONG;
			strcpy(r->name, id);
			break;
		}
		r->idset = 1;
	}
	if (!empty(resource) && (r->resource = (int8_t)str2value(resource, resource_names, NRES)) == 0)
		return EINVAL;
	if (!empty(action) && (r->action = (int8_t)str2value(action, action_names, NACTIONS)) == 0)
		return EINVAL;
	if (!empty(amount)) {
		if (str2u(amount, &v) != 0)
			return EINVAL;
		r->amount = (int64_t)v;
		if (r->amount < 0)
			return ERANGE;
		if (r->resource != 0 && (resource_flags[r->resource] & F_MILLIONS)) {
			if (r->amount > INT64_MAX / 1000000)
				return ERANGE;
			r->amount *= 1000000;
		}
	}
	if (!empty(per) && (r->per = (int8_t)str2value(per, subject_names, NSUBJECTS)) == 0)
		return EINVAL;
	return 0;
}

static int
has_id(const struct jm_rule *r)
{
	return r->idset != 0;
}

static int
same_id(const struct jm_rule *a, const struct jm_rule *b)
{
	if (a->subject == S_PROCESS || a->subject == S_USER)
		return a->id == b->id;
	return strcmp(a->name, b->name) == 0;
}

/* rctl_rule_matches. */
static int
rule_matches(const struct jm_rule *r, const struct jm_rule *f)
{
	if (f->subject != 0) {
		if (r->subject != f->subject)
			return 0;
		if (has_id(f) && !same_id(r, f))
			return 0;
	}
	if (f->resource != 0 && r->resource != f->resource)
		return 0;
	if (f->action != 0 && r->action != f->action)
		return 0;
	if (f->amount != AMOUNT_UNDEFINED && r->amount != f->amount)
		return 0;
	if (f->per != 0 && r->per != f->per)
		return 0;
	return 1;
}

/* ---- output ---------------------------------------------------------------- */

struct sbuf {
	char *buf;
	size_t len, cap;
	int nomem;
};

static void
sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->nomem)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->nomem = 1;
			return;
		}
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		{
			size_t cap = (sb->cap + (size_t)n + 1) * 2;
			char *nb = realloc(sb->buf, cap);

			if (nb == NULL) {
				sb->nomem = 1;
				return;
			}
			sb->buf = nb;
			sb->cap = cap;
		}
	}
}

/* rctl_rule_to_sbuf. */
static void
rule_to_sbuf(struct sbuf *sb, const struct jm_rule *r)
{
	int64_t amount = r->amount;

	sb_printf(sb, "%s:", subject_names[r->subject]);
	if (r->subject == S_PROCESS || r->subject == S_USER)
		sb_printf(sb, "%d:", (int)r->id);
	else
		sb_printf(sb, "%s:", r->name);
	if (amount != AMOUNT_UNDEFINED && (resource_flags[r->resource] & F_MILLIONS))
		amount /= 1000000;
	sb_printf(sb, "%s:%s=%" PRId64, resource_names[r->resource], action_names[r->action], amount);
	if (r->per != r->subject)
		sb_printf(sb, "/%s", subject_names[r->per]);
}

/* rctl_write_outbuf: the text and its NUL, ERANGE when they do not fit. */
static int
write_outbuf(struct sbuf *sb, char *out, size_t outlen)
{
	if (sb->nomem)
		return ENOMEM;
	if (outlen < sb->len + 1)
		return ERANGE;
	if (out == NULL)
		return EFAULT;
	memcpy(out, sb->buf != NULL ? sb->buf : "", sb->len);
	out[sb->len] = '\0';
	return 0;
}

/* The list calls print into a buffer of outbuflen bytes (SBUF_FIXEDLEN),
 * which holds outbuflen - 1 characters: a list whose trailing comma does
 * not fit is ERANGE, though the text without it would. */
static int
write_list(struct sbuf *sb, char *out, size_t outlen)
{
	if (sb->len > 0 && (outlen == 0 || sb->len > outlen - 1))
		return ERANGE;
	if (sb->len > 0)
		sb->len--; /* the trailing "," */
	return write_outbuf(sb, out, outlen);
}

/* ---- the rule store --------------------------------------------------------- */

static int
rule_live(const struct jm_rule *r)
{
	if (r->serial == 0)
		return 0;
	/* A process's rules go with it (racct_proc_exit). */
	return r->subject != S_PROCESS || proc_exists(r->id);
}

static int
nrules(const struct jm_host *h)
{
	return jm_bounded(h->rctl.nrules_hint, JM_MAXRULES);
}

/* A rule read from the host: its indexes within the tables and its name
 * ended, or the host is broken. */
static int
rule_ok(const struct jm_rule *r)
{
	if (r->subject < 1 || r->subject > NSUBJECTS || r->per < 1 || r->per > NSUBJECTS ||
	    r->resource < 1 || r->resource > NRES || r->action < 1 || r->action > NACTIONS ||
	    memchr(r->name, '\0', sizeof(r->name)) == NULL) {
		jm_broken();
		return 0;
	}
	return 1;
}

/* rctl_rule_remove: forget the rules matching `f`; how many. */
static int
remove_matching(struct jm_host *h, const struct jm_rule *f)
{
	int found = 0;

	for (int i = 0; i < nrules(h); i++) {
		struct jm_rule *r = &h->rctl.rules[i];

		if (!rule_live(r) || !rule_ok(r) || !rule_matches(r, f))
			continue;
		jm_save(h, r, sizeof(*r));
		memset(r, 0, sizeof(*r));
		found++;
	}
	return found;
}

/* rctl_rule_add. */
static int
add_rule(struct jm_host *h, const struct jm_rule *rule)
{
	unsigned char fl = resource_flags[rule->resource];
	struct jm_rule f = *rule;
	int free_idx = -1;

	if (rule->action == A_DENY && !(fl & F_DENIABLE) && rule->resource != R_RSS &&
	    rule->resource != R_PCTCPU)
		return EOPNOTSUPP;
	if (rule->action == A_THROTTLE && (!(fl & F_DECAYING) || rule->resource == R_PCTCPU))
		return EOPNOTSUPP;
	if (rule->per == S_PROCESS && (fl & F_SLOPPY))
		return EOPNOTSUPP;

	/* No duplicates; a deny rule replaces one differing only in amount. */
	if (rule->action == A_DENY)
		f.amount = AMOUNT_UNDEFINED;
	(void)remove_matching(h, &f);

	for (int i = 0; i < nrules(h); i++)
		if (!rule_live(&h->rctl.rules[i])) {
			free_idx = i;
			break;
		}
	if (free_idx < 0) {
		if (nrules(h) >= JM_MAXRULES)
			return ENOMEM;
		jm_save(h, &h->rctl, offsetof(struct jm_rctl, rules));
		free_idx = h->rctl.nrules_hint++;
	}
	jm_save(h, &h->rctl, offsetof(struct jm_rctl, rules));
	jm_save(h, &h->rctl.rules[free_idx], sizeof(struct jm_rule));
	h->rctl.rules[free_idx] = *rule;
	if (++h->rctl.next_serial == 0)
		++h->rctl.next_serial;
	h->rctl.rules[free_idx].serial = h->rctl.next_serial;
	return 0;
}

void
jm_rctl_init(struct jm_host *h)
{
	int n = h->rctl.nrules_hint > 0 && h->rctl.nrules_hint <= JM_MAXRULES ? h->rctl.nrules_hint
	                                                                        : JM_MAXRULES;

	memset(h->rctl.rules, 0, sizeof(h->rctl.rules[0]) * (size_t)n);
	h->rctl.next_serial = 0;
	h->rctl.nrules_hint = 0;
}

/* ---- usage --------------------------------------------------------------- */

/* What the system says of one process. */
struct pinfo {
	pid_t pid;
	pid_t ppid;
	uint32_t ruid;
	int slot;         /* the prison it belongs to; -1 until known */
	int detailed;     /* status and descriptors read (ptable_details) */
	int64_t r[NRES + 1];
};

/* All processes of the system, sorted by pid; NULL when the process table
 * cannot be read (the caller then falls back on the model's own table). */
struct ptable {
	struct pinfo *p;
	size_t n;
	int procdir;      /* /proc, open while details may be read; -1 */
};

#if defined(__linux__)
static int
read_file_at(int dir, const char *path, char *buf, size_t size)
{
	int fd = dir >= 0 ? openat(dir, path, O_RDONLY | O_CLOEXEC) : open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* kB figure of a /proc/PID/status line "Key:\t N kB", in bytes. */
static int64_t
status_kb(const char *status, const char *key)
{
	const char *l = strstr(status, key);

	return l != NULL ? (int64_t)strtoll(l + strlen(key), NULL, 10) * 1024 : 0;
}

/* What /proc/PID/stat says (read for every process: it is cheap). */
static void
linux_stat(struct pinfo *pi, const char *stat_tail, int64_t now_ticks, long hz)
{
	unsigned long utime = 0, stime = 0, vsize = 0;
	long nthr = 0, rss = 0;
	unsigned long long start = 0;
	int64_t cpu_us, wall_us;

	/* Fields 14 (utime) to 24 (rss) of stat, counted after "S ". */
	if (sscanf(stat_tail, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld "
	           "%*d %llu %lu %ld", &utime, &stime, &nthr, &start, &vsize, &rss) != 6)
		return;
	pi->r[R_NPROC] = 1;
	pi->r[R_NTHR] = nthr;
	pi->r[R_VMEM] = (int64_t)vsize;
	pi->r[R_RSS] = (int64_t)rss * sysconf(_SC_PAGESIZE);
	cpu_us = (int64_t)(utime + stime) * 1000000 / hz;
	wall_us = now_ticks > (int64_t)start ? (now_ticks - (int64_t)start) * 1000000 / hz : 0;
	pi->r[R_CPU] = cpu_us;
	pi->r[R_WALLCLOCK] = wall_us;
	/* racct_getpcpu's estimate for young processes: run time over age. */
	pi->r[R_PCTCPU] = wall_us > 0 ? cpu_us * 100 * 1000000 / wall_us : 0;
}

/* What /proc/PID/status and /proc/PID/fd say: read only for the processes
 * a call measures. */
static void
linux_details(int procdir, struct pinfo *pi)
{
	char path[64], status[4096];
	DIR *d;
	int dfd;

	snprintf(path, sizeof(path), "%ld/status", (long)pi->pid);
	if (read_file_at(procdir, path, status, sizeof(status)) > 0) {
		pi->r[R_DATA] = status_kb(status, "\nVmData:");
		pi->r[R_STACK] = status_kb(status, "\nVmStk:");
		pi->r[R_MEMLOCK] = status_kb(status, "\nVmLck:");
		pi->r[R_SWAP] = status_kb(status, "\nVmSwap:");
		{
			const char *u = strstr(status, "\nUid:");
			if (u != NULL)
				pi->ruid = (uint32_t)strtoul(u + 5, NULL, 10);
		}
	}
	snprintf(path, sizeof(path), "%ld/fd", (long)pi->pid);
	dfd = openat(procdir, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && (d = fdopendir(dfd)) != NULL) {
		struct dirent *e;

		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				pi->r[R_NOFILE]++;
		closedir(d);
	} else if (dfd >= 0)
		close(dfd);
}
#endif

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = ((const struct pinfo *)a)->pid, y = ((const struct pinfo *)b)->pid;

	return x < y ? -1 : x > y;
}

static struct pinfo *ptable_find(const struct ptable *t, pid_t pid);

static void
ptable_free(struct ptable *t)
{
	free(t->p);
	t->p = NULL;
	t->n = 0;
	if (t->procdir >= 0)
		close(t->procdir);
	t->procdir = -1;
}

static int
ptable_read(struct ptable *t)
{
	t->p = NULL;
	t->n = 0;
	t->procdir = -1;
#if defined(__linux__)
	{
		int rr = jm_realroot_fd();
		int procdir = rr >= 0 ? openat(rr, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		                      : open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		long hz = sysconf(_SC_CLK_TCK);
		struct timespec ts;
		int64_t now_ticks;
		size_t cap = 0;
		DIR *d;
		struct dirent *e;

		if (procdir < 0 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
			if (procdir >= 0)
				close(procdir);
			return -1;
		}
		now_ticks = (int64_t)ts.tv_sec * hz + (int64_t)ts.tv_nsec * hz / 1000000000;
		if ((d = fdopendir(dup(procdir))) == NULL) {
			close(procdir);
			return -1;
		}
		while ((e = readdir(d)) != NULL) {
			char path[64], stat[512];
			const char *close_paren = NULL;
			struct pinfo *pi;
			long pid;
			char *end;

			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			pid = strtol(e->d_name, &end, 10);
			if (*end != '\0' || pid <= 0 || pid > INT32_MAX)
				continue;
			snprintf(path, sizeof(path), "%ld/stat", pid);
			if (read_file_at(procdir, path, stat, sizeof(stat)) <= 0)
				continue;
			for (char *c = stat; *c != '\0'; c++)
				if (*c == ')')
					close_paren = c;
			if (close_paren == NULL || close_paren[1] != ' ')
				continue;
			if (t->n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct pinfo *np = realloc(t->p, ncap * sizeof(*np));

				if (np == NULL)
					break;
				t->p = np;
				cap = ncap;
			}
			pi = &t->p[t->n++];
			memset(pi, 0, sizeof(*pi));
			pi->pid = (pid_t)pid;
			pi->slot = -1;
			pi->ppid = (pid_t)strtol(close_paren + 4, NULL, 10);
			linux_stat(pi, close_paren + 2, now_ticks, hz);
		}
		closedir(d);
		t->procdir = procdir;
	}
#elif defined(__FreeBSD__)
	{
		int mib[3] = {CTL_KERN, KERN_PROC, KERN_PROC_PROC};
		struct kinfo_proc *kp = NULL;
		size_t len = 0;
		struct timespec now;
		long pagesize = sysconf(_SC_PAGESIZE);

		for (int tries = 0; tries < 8; tries++) {
			if (sysctl(mib, 3, NULL, &len, NULL, 0) == -1)
				return -1;
			len += len / 4 + sizeof(*kp);
			free(kp);
			if ((kp = malloc(len)) == NULL)
				return -1;
			if (sysctl(mib, 3, kp, &len, NULL, 0) == 0)
				break;
			if (errno != ENOMEM) {
				free(kp);
				return -1;
			}
		}
		if (len == 0 || len % sizeof(*kp) != 0 || kp[0].ki_structsize != (int)sizeof(*kp) ||
		    (t->p = calloc(len / sizeof(*kp), sizeof(*t->p))) == NULL) {
			free(kp);
			return -1;
		}
		clock_gettime(CLOCK_REALTIME, &now);
		for (size_t i = 0; i < len / sizeof(*kp); i++) {
			struct pinfo *pi = &t->p[t->n++];
			int64_t wall_us = ((int64_t)now.tv_sec - kp[i].ki_start.tv_sec) * 1000000 +
			    ((int64_t)now.tv_nsec / 1000 - kp[i].ki_start.tv_usec);

			pi->pid = kp[i].ki_pid;
			pi->ppid = kp[i].ki_ppid;
			pi->ruid = kp[i].ki_ruid;
			pi->slot = -1;
			pi->detailed = 1;
			pi->r[R_NPROC] = 1;
			pi->r[R_NTHR] = kp[i].ki_numthreads;
			pi->r[R_RSS] = (int64_t)kp[i].ki_rssize * pagesize;
			pi->r[R_VMEM] = (int64_t)kp[i].ki_size;
			pi->r[R_DATA] = (int64_t)kp[i].ki_dsize * pagesize;
			pi->r[R_STACK] = (int64_t)kp[i].ki_ssize * pagesize;
			pi->r[R_CPU] = (int64_t)kp[i].ki_runtime;
			pi->r[R_WALLCLOCK] = wall_us > 0 ? wall_us : 0;
			pi->r[R_PCTCPU] = wall_us > 0 ? pi->r[R_CPU] * 100 * 1000000 / wall_us : 0;
		}
		free(kp);
	}
#else
	return -1;
#endif
	qsort(t->p, t->n, sizeof(*t->p), cmp_pid);
	/* A table without the caller in it was not read (an empty /proc). */
	if (ptable_find(t, getpid()) == NULL) {
		ptable_free(t);
		return -1;
	}
	return 0;
}

static struct pinfo *
ptable_find(const struct ptable *t, pid_t pid)
{
	struct pinfo key;

	key.pid = pid;
	return t->n > 0 ? bsearch(&key, t->p, t->n, sizeof(*t->p), cmp_pid) : NULL;
}

/* The model's process of `pid` (an attach it recorded): its prison's slot,
 * or -1. */
static int
attached_slot(const struct jm_host *h, pid_t pid)
{
	int n = jm_bounded(h->g.nprocs_hint, JM_MAXPROCS);

	for (int i = 0; i < n; i++) {
		const struct jm_proc *p = &h->procs[i];

		if (p->pid == pid && jm_slot_ok(h, p->prison) && h->prisons[p->prison].gen == p->gen)
			return p->prison;
	}
	return -1;
}

/* Give every process of the table its prison: its own attach, else its
 * parent's, up the tree (prison0 when no ancestor attached). */
static void
ptable_assign(const struct jm_host *h, struct ptable *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct pinfo *chain[64];
		int nchain = 0, slot = 0;
		struct pinfo *p = &t->p[i];

		while (p != NULL && p->slot < 0 && nchain < 64) {
			int s = attached_slot(h, p->pid);

			if (s >= 0) {
				p->slot = s;
				break;
			}
			chain[nchain++] = p;
			p = p->ppid > 0 && p->ppid != p->pid ? ptable_find(t, p->ppid) : NULL;
		}
		if (p != NULL && p->slot >= 0)
			slot = p->slot;
		while (nchain > 0)
			chain[--nchain]->slot = slot;
	}
}

/* Where the process table cannot be read: the model's attached processes
 * that still exist, counted, nothing measured. */
static void
ptable_fallback(const struct jm_host *h, struct ptable *t)
{
	int n = jm_bounded(h->g.nprocs_hint, JM_MAXPROCS);

	t->procdir = -1;
	if ((t->p = calloc((size_t)n + 1, sizeof(*t->p))) == NULL)
		return;
	/* The caller, wherever it is (nothing more to read: detailed). */
	t->p[0].pid = getpid();
	t->p[0].ruid = (uint32_t)getuid();
	t->p[0].slot = attached_slot(h, getpid()) >= 0 ? attached_slot(h, getpid()) : 0;
	t->p[0].r[R_NPROC] = 1;
	t->p[0].detailed = 1;
	t->n = 1;
	for (int i = 0; i < n; i++) {
		const struct jm_proc *p = &h->procs[i];

		if (p->pid <= 0 || p->pid == getpid() || !jm_slot_ok(h, p->prison) ||
		    h->prisons[p->prison].gen != p->gen || !proc_exists(p->pid))
			continue;
		t->p[t->n].pid = p->pid;
		t->p[t->n].ruid = UINT32_MAX; /* unknown without the process table */
		t->p[t->n].slot = p->prison;
		t->p[t->n].r[R_NPROC] = 1;
		t->p[t->n].detailed = 1;
		t->n++;
	}
	qsort(t->p, t->n, sizeof(*t->p), cmp_pid);
}

static void
ptable_load(const struct jm_host *h, struct ptable *t)
{
	if (ptable_read(t) == 0)
		ptable_assign(h, t);
	else
		ptable_fallback(h, t);
}

/* The figures that need more than the first pass read. */
static void
ptable_details(struct ptable *t, struct pinfo *p)
{
	if (p->detailed)
		return;
	p->detailed = 1;
#if defined(__linux__)
	if (t->procdir >= 0)
		linux_details(t->procdir, p);
#else
	(void)t;
#endif
}

static void
add_usage(struct ptable *t, int64_t *sum, struct pinfo *p)
{
	ptable_details(t, p);
	for (int i = 1; i <= NRES; i++)
		if (INT64_MAX - sum[i] > p->r[i])
			sum[i] += p->r[i];
}

/* Whether prison `s` or one of its ancestors has the name `name` (the
 * prison_racct of a jail rule applies to its descendants' processes). */
static int
in_named(const struct jm_host *h, int s, const char *name)
{
	for (int depth = 0; s >= 0 && depth <= JM_MAXPRISONS; depth++, s = jm_parent_slot(h, s))
		if (jm_prison_check(h, s) && strcmp(h->prisons[s].name, name) == 0)
			return 1;
	return 0;
}

/* The usage of a jail's prison_racct: the processes of every prison by that
 * name and of its descendants. */
static void
jail_usage(const struct jm_host *h, struct ptable *t, const char *name, int64_t *sum)
{
	for (size_t i = 0; i < t->n; i++)
		if (in_named(h, t->p[i].slot, name))
			add_usage(t, sum, &t->p[i]);
}

/* The processes of a jail's prison_racct (maxproc), nothing measured. */
static int64_t
jail_nproc(const struct jm_host *h, const struct ptable *t, const char *name)
{
	int64_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (in_named(h, t->p[i].slot, name))
			n += t->p[i].r[R_NPROC];
	return n;
}

int
jm_racct_fork_check(struct jm_host *h, int slot)
{
	struct ptable t;
	int64_t nproc = 0;
	int err = 0, checked = 0;

	if (h->g.racct != JAILMODEL_RACCT_ENABLED)
		return 0;
	for (int i = 0; i < nrules(h) && err == 0; i++) {
		const struct jm_rule *r = &h->rctl.rules[i];

		if (!rule_live(r) || !rule_ok(r) || r->subject != S_JAIL || r->resource != R_NPROC ||
		    r->action != A_DENY || r->per != S_JAIL || !in_named(h, slot, r->name))
			continue;
		if (!checked) {
			/* rctl_available_resource: per jail, the new process's
			 * own prison's racct. */
			ptable_load(h, &t);
			nproc = jail_nproc(h, &t, h->prisons[slot].name);
			ptable_free(&t);
			checked = 1;
		}
		if (r->amount - nproc < 1)
			err = EAGAIN;
	}
	return err;
}

/* ---- the calls ------------------------------------------------------------ */

enum { C_GET_RACCT, C_GET_RULES, C_GET_LIMITS, C_ADD_RULE, C_REMOVE_RULE };

/* rctl_read_inbuf: copyinstr within inbuflen. */
static int
read_inbuf(const char *in, size_t inlen, char *buf)
{
	const char *nul;

	if (inlen == 0)
		return EINVAL;
	if (inlen > JM_RCTL_MAX_INBUFSIZE)
		return E2BIG;
	if (in == NULL)
		return EFAULT;
	if ((nul = memchr(in, '\0', inlen)) == NULL)
		return ENAMETOOLONG;
	memcpy(buf, in, (size_t)(nul - in) + 1);
	return 0;
}

static void
racct_to_sbuf(struct sbuf *sb, const int64_t *r, int sloppy)
{
	for (int i = 1; i <= NRES; i++) {
		int64_t amount = r[i];

		if (!sloppy && (resource_flags[i] & F_SLOPPY))
			continue;
		if (resource_flags[i] & F_MILLIONS)
			amount /= 1000000;
		sb_printf(sb, "%s=%" PRId64 ",", resource_names[i], amount);
	}
	if (sb->len > 0)
		sb->len--;
}

static int
get_racct(struct jm_host *h, const struct jm_rule *f, struct sbuf *sb)
{
	struct ptable t;
	int64_t sum[NRES + 1];

	if (f->subject == 0 || !has_id(f))
		return EINVAL;
	memset(sum, 0, sizeof(sum));
	ptable_load(h, &t);
	for (size_t i = 0; i < t.n; i++) {
		struct pinfo *p = &t.p[i];

		switch (f->subject) {
		case S_PROCESS:
			if (p->pid == f->id)
				add_usage(&t, sum, p);
			break;
		case S_USER:
			ptable_details(&t, p); /* the real uid */
			if (p->ruid == (uint32_t)f->id)
				add_usage(&t, sum, p);
			break;
		case S_LOGINCLASS:
			/* Every process of the model is of login class
			 * "default" (no setloginclass(2) here). */
			if (strcmp(f->name, "default") == 0)
				add_usage(&t, sum, p);
			break;
		}
	}
	if (f->subject == S_JAIL)
		jail_usage(h, &t, f->name, sum);
	ptable_free(&t);
	racct_to_sbuf(sb, sum, f->subject != S_PROCESS);
	return 0;
}

/* The rules in get_rules' order: the process rules, then loginclass, user
 * and jail rules, each container's newest first (LIST_INSERT_HEAD). */
static void
rules_to_sbuf(struct jm_host *h, const struct jm_rule *f, struct sbuf *sb, int only_subject)
{
	static const int order[] = {S_PROCESS, S_LOGINCLASS, S_USER, S_JAIL};
	int n = nrules(h);

	for (int k = 0; k < 4; k++) {
		uint32_t last = UINT32_MAX;

		if (only_subject != 0 && order[k] != only_subject)
			continue;
		/* Newest first: by serial, descending. */
		for (;;) {
			int best = -1;

			for (int i = 0; i < n; i++) {
				const struct jm_rule *r = &h->rctl.rules[i];

				if (!rule_live(r) || r->subject != order[k] || r->serial >= last ||
				    (best >= 0 && r->serial <= h->rctl.rules[best].serial))
					continue;
				best = i;
			}
			if (best < 0)
				break;
			last = h->rctl.rules[best].serial;
			if (rule_ok(&h->rctl.rules[best]) && rule_matches(&h->rctl.rules[best], f)) {
				rule_to_sbuf(sb, &h->rctl.rules[best]);
				sb_printf(sb, ",");
			}
		}
	}
}

/* The rules linked to process `pid` (get_limits): its own, its user's, its
 * login class's, its jail's and its jail's ancestors'. */
static void
limits_to_sbuf(struct jm_host *h, pid_t pid, struct sbuf *sb)
{
	struct ptable t;
	struct pinfo *p;
	uint32_t ruid = (uint32_t)-1;
	int slot = 0, n = nrules(h);
	uint32_t last = UINT32_MAX;

	ptable_load(h, &t);
	if ((p = ptable_find(&t, pid)) != NULL) {
		ptable_details(&t, p);
		ruid = p->ruid;
		slot = p->slot >= 0 ? p->slot : 0;
	} else {
		if (attached_slot(h, pid) >= 0)
			slot = attached_slot(h, pid);
		if (pid == getpid())
			ruid = (uint32_t)getuid();
	}
	ptable_free(&t);
	for (;;) {
		int best = -1;

		for (int i = 0; i < n; i++) {
			const struct jm_rule *r = &h->rctl.rules[i];
			int applies;

			if (!rule_live(r) || r->serial >= last ||
			    (best >= 0 && r->serial <= h->rctl.rules[best].serial) || !rule_ok(r))
				continue;
			switch (r->subject) {
			case S_PROCESS:
				applies = r->id == pid;
				break;
			case S_USER:
				applies = (uint32_t)r->id == ruid;
				break;
			case S_LOGINCLASS:
				applies = strcmp(r->name, "default") == 0;
				break;
			default:
				applies = in_named(h, slot, r->name);
			}
			if (applies)
				best = i;
		}
		if (best < 0)
			break;
		last = h->rctl.rules[best].serial;
		rule_to_sbuf(sb, &h->rctl.rules[best]);
		sb_printf(sb, ",");
	}
}

static int
rctl_call(int call, const char *in, size_t inlen, char *out, size_t outlen)
{
	char str[JM_RCTL_MAX_INBUFSIZE + 1];
	struct sbuf sb = {NULL, 0, 0, 0};
	struct jm_rule rule;
	struct jm_host *h;
	int err, mypr;

	if ((h = jm_lock()) == NULL)
		return -1;
	mypr = jm_caller_prison(h);
	if (h->g.racct != JAILMODEL_RACCT_ENABLED)
		err = ENOSYS;
	else if (!jm_caller_is_root() || mypr != 0)
		err = EPERM; /* priv_check(PRIV_RCTL_*): not granted in a jail */
	else if ((err = read_inbuf(in, inlen, str)) == 0)
		err = parse_rule(str, &rule);
	if (err != 0)
		return jm_unlock_ret(h, err);

	switch (call) {
	case C_GET_RACCT:
		if ((err = get_racct(h, &rule, &sb)) == 0)
			err = write_outbuf(&sb, out, outlen);
		break;
	case C_GET_RULES:
		if (outlen > h->g.rctl_maxbufsize) {
			err = E2BIG;
			break;
		}
		rules_to_sbuf(h, &rule, &sb, 0);
		err = write_list(&sb, out, outlen);
		break;
	case C_GET_LIMITS:
		if (rule.subject == 0)
			err = EINVAL;
		else if (rule.subject != S_PROCESS)
			err = EOPNOTSUPP;
		else if (!has_id(&rule))
			err = EINVAL;
		else if (outlen > h->g.rctl_maxbufsize)
			err = E2BIG;
		else {
			limits_to_sbuf(h, (pid_t)rule.id, &sb);
			err = write_list(&sb, out, outlen);
		}
		break;
	case C_ADD_RULE:
		/* The per part is optional. */
		if (rule.per == 0 && rule.subject != 0)
			rule.per = rule.subject;
		if (rule.subject == 0 || !has_id(&rule) || rule.resource == 0 || rule.action == 0 ||
		    rule.amount == AMOUNT_UNDEFINED || rule.per == 0) {
			err = EINVAL;
			break;
		}
		jm_change_begin(h);
		if ((err = add_rule(h, &rule)) != 0)
			jm_change_abort(h);
		else
			jm_change_commit(h);
		break;
	case C_REMOVE_RULE:
		jm_change_begin(h);
		err = remove_matching(h, &rule) > 0 ? 0 : ESRCH;
		jm_change_commit(h);
		break;
	}
	free(sb.buf);
	return jm_unlock_ret(h, err);
}

int
jailmodel_rctl_get_racct(const char *in, size_t inlen, char *out, size_t outlen)
{
	return rctl_call(C_GET_RACCT, in, inlen, out, outlen);
}

int
jailmodel_rctl_get_rules(const char *in, size_t inlen, char *out, size_t outlen)
{
	return rctl_call(C_GET_RULES, in, inlen, out, outlen);
}

int
jailmodel_rctl_get_limits(const char *in, size_t inlen, char *out, size_t outlen)
{
	return rctl_call(C_GET_LIMITS, in, inlen, out, outlen);
}

int
jailmodel_rctl_add_rule(const char *in, size_t inlen, char *out, size_t outlen)
{
	return rctl_call(C_ADD_RULE, in, inlen, out, outlen);
}

int
jailmodel_rctl_remove_rule(const char *in, size_t inlen, char *out, size_t outlen)
{
	return rctl_call(C_REMOVE_RULE, in, inlen, out, outlen);
}

/* ---- control ------------------------------------------------------------- */

int
jailmodel_set_racct(int mode)
{
	struct jm_host *h;
	int err = 0;

	if (mode != JAILMODEL_RACCT_ABSENT && mode != JAILMODEL_RACCT_DISABLED &&
	    mode != JAILMODEL_RACCT_ENABLED) {
		errno = EINVAL;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	if ((err = jm_reboot_check(h)) == 0) {
		jm_change_begin(h);
		jm_save_globals(h);
		jm_save(h, &h->rctl, offsetof(struct jm_rctl, rules));
		for (int i = 0; i < nrules(h); i++)
			if (h->rctl.rules[i].serial != 0) {
				jm_save(h, &h->rctl.rules[i], sizeof(h->rctl.rules[i]));
				memset(&h->rctl.rules[i], 0, sizeof(h->rctl.rules[i]));
			}
		h->rctl.nrules_hint = 0;
		h->g.racct = mode;
		h->g.rctl_maxbufsize = JM_RCTL_MAX_OUTBUFSIZE;
		jm_change_commit(h);
	}
	return jm_unlock_ret(h, err);
}

int
jailmodel_racct(int *mode)
{
	struct jm_host *h;

	if (mode == NULL) {
		errno = EFAULT;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	*mode = h->g.racct;
	return jm_unlock(h);
}

/* The value a new host boots with: JAILCORE_MODEL_RACCT. */
int
jm_racct_boot_mode(void)
{
	const char *v = getenv("JAILCORE_MODEL_RACCT");

	if (v == NULL)
		return JAILMODEL_RACCT_DISABLED;
	if (strcmp(v, "1") == 0)
		return JAILMODEL_RACCT_ENABLED;
	if (strcmp(v, "absent") == 0)
		return JAILMODEL_RACCT_ABSENT;
	return JAILMODEL_RACCT_DISABLED;
}
