/*
 * jexec.c: jailcore-jexec, the program that jailcore's spawn helper executes
 * instead of the user's program when a user or a login environment is asked
 * for (Jail.spawn's user=, host_user=, login=; jexec's -U, -u, -l).
 *
 * Looking a user up (getpwnam, initgroups, the login class) is not
 * async-signal-safe, so the forked child of a threaded Python process may
 * not do it between fork and exec.  It executes this program instead, on
 * the host and before attaching, with its descriptors, signals and
 * environment already arranged for the user's program; this program, a
 * fresh single-threaded process, then does what jexec(8) does
 * (usr.sbin/jexec/jexec.c), in jexec's order:
 *
 *   1. -u USER, or -l without -U: USER (or the real uid's entry) from the
 *      host's databases, its login class (FreeBSD), initgroups;
 *   2. attach: jail_attach(jid) on the kernel, or chroot to the jail's root
 *      on the model (whose parent registered this process already);
 *      chdir("/");
 *   3. -U USER: USER from the jail's own databases, now that its files are
 *      this process's (pwd.db and nsswitch.conf inside the jail, never a
 *      file of the host), its login class, initgroups;
 *   4. with -l: the environment emptied but for TERM, PATH=/bin:/usr/bin;
 *   5. setgid; on FreeBSD setusercontext(3) with everything but the groups
 *      and the login name when a user was named (umask, resource limits,
 *      priority, PATH and the class's environment, the uid), only PATH and
 *      the environment with -l alone; elsewhere setuid, and with -l the PATH
 *      of FreeBSD's default login class;
 *   6. USER, HOME and SHELL set; with -l, chdir to the user's home;
 *   7. the program executed, looked up in the final PATH as execvp(3) does
 *      but without handing a file the kernel cannot run to /bin/sh.
 *
 * Where jailcore's API says more than jexec can (an explicit environment, a
 * working directory), the environment is left as given and the directory is
 * used instead of the home.  A failing step is written to the error pipe
 * the spawn helper handed down, as {step, errno} (steps of jc_api.h), and
 * the program exits 127; a successful exec closes the pipe.
 *
 * Usage (built by jailcore, not for people):
 *   jailcore-jexec ERRFD ROOT JID MODE USER FLAGS CWD PROGRAM [ARG0 ARG...]
 *     ERRFD  the error pipe's descriptor, or "-": report on standard error
 *            (exit status 1), as `jailcore exec` does
 *     ROOT   the model: the directory to chroot to; "" on the kernel
 *     JID    the kernel: the jail to attach to; 0 on the model
 *     MODE   U (USER in the jail), u (USER on the host), l (the real uid on
 *            the host)
 *     FLAGS  any of: l (a login environment), e (the environment is the
 *            caller's: leave it), c (CWD is the working directory)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/jail.h>
#include <login_cap.h>
#endif

#include <stdint.h>
#include <sys/uio.h>

#include "jc_api.h"

extern char **environ;

/* FreeBSD's default login class PATH (/etc/login.conf, class "default"),
 * used with -l where there are no login classes. */
#define JC_LOGIN_PATH "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:"
#define JC_DEFAULT_PATH "/usr/bin:/bin"
#define JC_BSHELL "/bin/sh"

static int errfd = -1;

/* With no error pipe ("-": `jailcore exec`, which replaced itself with this
 * program), failures are told on standard error as jexec's err(3) would,
 * under the command's name, and the exit status is 1. */
static const char *const step_names[] = {
	[JC_STEP_ATTACH] = "jail_attach", [JC_STEP_CHDIR] = "chdir",
	[JC_STEP_SETGROUPS] = "initgroups", [JC_STEP_SETGID] = "setgid",
	[JC_STEP_SETUID] = "setuid", [JC_STEP_EXEC] = "execvp",
	[JC_STEP_GETPWNAM] = "getpwnam", [JC_STEP_LOGINCLASS] = "login_getpwclass",
	[JC_STEP_SETUSERCONTEXT] = "setusercontext", [JC_STEP_ENV] = "setenv",
	[JC_STEP_HOMEDIR] = "chdir",
};

static void
tell(int step, int err, const char *detail)
{
	const char *what = step > 0 && step < (int)(sizeof(step_names) / sizeof(step_names[0])) &&
	    step_names[step] != NULL ? step_names[step] : "jailcore-jexec";

	if (step == JC_STEP_GETPWNAM && err == ENOENT)
		fprintf(stderr, "jailcore exec: %s: no such user\n", detail);
	else if (detail[0] != '\0')
		fprintf(stderr, "jailcore exec: %s: %s: %s\n", what, detail, strerror(err));
	else
		fprintf(stderr, "jailcore exec: %s: %s\n", what, strerror(err));
	fflush(stderr);
	_exit(1);   /* no atexit work (a sanitizer's leak check) inside a jail */
}

/* Report the failed step, its errno and a detail ("" for none) on the error
 * pipe, as {step, errno, length} and the detail's bytes (spawn.c reads
 * them); exit 127 as the spawn helper's child does. */
static void
fail_at(int step, int err, const char *detail)
{
	char msg[3 * sizeof(int) + JC_DETAIL_MAX];
	size_t len = strnlen(detail, JC_DETAIL_MAX - 1);
	int rec[3] = {step, err, (int)len};
	ssize_t n;

	if (errfd < 0)
		tell(step, err, detail);
	memcpy(msg, rec, sizeof(rec));
	memcpy(msg + sizeof(rec), detail, len);
	do
		n = write(errfd, msg, sizeof(rec) + len);
	while (n == -1 && errno == EINTR);
	_exit(127);
}

static void
fail(int step, int err)
{
	fail_at(step, err, "");
}

#if defined(__FreeBSD__)
typedef login_cap_t *jc_class;
#else
typedef void *jc_class;
#endif

/* jexec's get_user_info: the user (by name, or the real uid's entry), its
 * login class, and initgroups. */
static struct passwd *
user_info(const char *name, jc_class *lc)
{
	struct passwd *pw;

	errno = 0;
	if (name == NULL)
		pw = getpwuid(getuid());
	else if (name[0] == '#')    /* jailcore's user=UID: by number */
		pw = getpwuid((uid_t)strtoul(name + 1, NULL, 10));
	else
		pw = getpwnam(name);
	if (pw == NULL)
		fail_at(JC_STEP_GETPWNAM, errno != 0 ? errno : ENOENT,
		    name != NULL ? name : "the real uid");
#if defined(__FreeBSD__)
	*lc = login_getpwclass(pw);
	if (*lc == NULL)
		fail_at(JC_STEP_LOGINCLASS, errno != 0 ? errno : ENOENT, pw->pw_name);
#else
	*lc = NULL;
#endif
	if (initgroups(pw->pw_name, pw->pw_gid) == -1)
		fail(JC_STEP_SETGROUPS, errno);
	return pw;
}

static void
attach(const char *root, long jid)
{
	if (jid > 0) {
#if defined(__FreeBSD__)
		if (jail_attach((int)jid) == -1)
			fail(JC_STEP_ATTACH, errno);
#else
		fail(JC_STEP_ATTACH, ENOSYS);
#endif
	} else if (root[0] != '\0') {
		if (chdir(root) == -1)
			fail(JC_STEP_ATTACH, errno);
		if (strcmp(root, "/") != 0 && chroot(".") == -1)
			fail(JC_STEP_ATTACH, errno);
	}
	if (chdir("/") == -1)
		fail(JC_STEP_CHDIR, errno);
}

/* execvp(3)'s search without its ENOEXEC fallback to the shell: try each
 * candidate, remember EACCES, go on past ENOENT (and ENOTDIR). */
static void
run(const char *program, char *const argv[])
{
	const char *path, *p, *colon;
	char buf[PATH_MAX];
	int err = ENOENT, sawacces = 0;

	if (strchr(program, '/') != NULL) {
		execve(program, argv, environ);
		fail_at(JC_STEP_EXEC, errno, program);
	}
	path = getenv("PATH");
	if (path == NULL)
		path = JC_DEFAULT_PATH;
	for (p = path;; p = colon + 1) {
		size_t dl, pl = strlen(program);

		colon = strchr(p, ':');
		dl = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if (dl == 0) {
			buf[0] = '.';
			dl = 1;
		} else if (dl < sizeof(buf)) {
			memcpy(buf, p, dl);
		}
		if (dl + 1 + pl < sizeof(buf)) {
			buf[dl] = '/';
			memcpy(buf + dl + 1, program, pl + 1);
			execve(buf, argv, environ);
			err = errno;
			if (err == EACCES)
				sawacces = 1;
			else if (err != ENOENT && err != ENOTDIR)
				fail_at(JC_STEP_EXEC, err, program);
		}
		if (colon == NULL)
			break;
	}
	fail_at(JC_STEP_EXEC, sawacces ? EACCES : err, program);
}

int
main(int argc, char *argv[])
{
	const char *root, *mode, *flags, *cwd, *user, *term;
	struct passwd *pw = NULL;
	jc_class lc = NULL;
	long jid;
	int login, keepenv, named;
	char *end;

	if (argc < 9)
		return 126;
	if (strcmp(argv[1], "-") != 0) {
		errfd = (int)strtol(argv[1], &end, 10);
		if (*end != '\0' || errfd < 0 || fcntl(errfd, F_SETFD, FD_CLOEXEC) == -1)
			return 126;
	}
	root = argv[2];
	jid = strtol(argv[3], &end, 10);
	mode = argv[4];
	user = argv[5];
	flags = argv[6];
	cwd = argv[7];
	login = strchr(flags, 'l') != NULL;
	keepenv = strchr(flags, 'e') != NULL;
	named = mode[0] == 'U' || mode[0] == 'u';

	/* 1. A user of the host's databases, before attaching. */
	if (mode[0] == 'u')
		pw = user_info(user, &lc);
	else if (mode[0] == 'l')
		pw = user_info(NULL, &lc);
	/* 2. Into the jail. */
	attach(root, jid);
	/* 3. A user of the jail's own databases. */
	if (mode[0] == 'U')
		pw = user_info(user, &lc);
	if (pw == NULL)
		fail(JC_STEP_GETPWNAM, EINVAL);
	/* 4. A login's environment: TERM kept, PATH as jexec sets it. */
	if (login && !keepenv) {
		term = getenv("TERM");
		term = term != NULL ? strdup(term) : NULL;
		environ = calloc(1, sizeof(char *));
		if (environ == NULL || setenv("PATH", "/bin:/usr/bin", 1) == -1 ||
		    (term != NULL && setenv("TERM", term, 1) == -1))
			fail(JC_STEP_ENV, errno);
	}
	/* 5. The ids, and the login class where there are login classes. */
	if (setgid(pw->pw_gid) == -1)
		fail(JC_STEP_SETGID, errno);
#if defined(__FreeBSD__)
	{
		unsigned int what = named ?
		    LOGIN_SETALL & ~LOGIN_SETGROUP & ~LOGIN_SETLOGIN :
		    LOGIN_SETPATH | LOGIN_SETENV;

		if (keepenv)
			what &= ~(LOGIN_SETPATH | LOGIN_SETENV);
		if (setusercontext(lc, pw, pw->pw_uid, what) != 0)
			fail(JC_STEP_SETUSERCONTEXT, errno != 0 ? errno : EPERM);
		login_close(lc);
	}
#else
	(void)lc;
	if (named && setuid(pw->pw_uid) == -1)
		fail(JC_STEP_SETUID, errno);
	if (login && !keepenv) {
		char *path = malloc(sizeof(JC_LOGIN_PATH) + strlen(pw->pw_dir) + 4);

		if (path == NULL)
			fail(JC_STEP_ENV, ENOMEM);
		strcpy(path, JC_LOGIN_PATH);
		strcat(path, pw->pw_dir);
		strcat(path, "/bin");
		if (setenv("PATH", path, 1) == -1)
			fail(JC_STEP_ENV, errno);
		free(path);
	}
#endif
	/* 6. The user's variables and directory. */
	if (!keepenv && (setenv("USER", pw->pw_name, 1) == -1 ||
	    setenv("HOME", pw->pw_dir, 1) == -1 ||
	    setenv("SHELL", pw->pw_shell[0] != '\0' ? pw->pw_shell : JC_BSHELL, 1) == -1))
		fail(JC_STEP_ENV, errno);
	if (strchr(flags, 'c') != NULL) {
		if (chdir(cwd) == -1)
			fail_at(JC_STEP_CHDIR, errno, cwd);
	} else if (login && chdir(pw->pw_dir) == -1) {
		fail_at(JC_STEP_HOMEDIR, errno, pw->pw_dir);
	}
	endpwent();
	/* 7. The program; with none (jexec without a command), the user's
	 * shell, interactive. */
	if (argv[8][0] == '\0') {
		const char *shell = getenv("SHELL");
		char *sh[3] = {NULL, "-i", NULL};

		sh[0] = (char *)(shell != NULL ? shell : JC_BSHELL);
		run(sh[0], sh);
	}
	run(argv[8], argv + 9);
	return 127;
}
