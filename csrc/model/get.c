/*
 * get.c: jail_get(2), jail_attach(2), jail_remove(2) and their descriptor
 * forms.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_PATH
#define O_PATH 0
#endif

#include "model.h"
#include "tree.h"

static const struct {
	const char *name, *noname;
	uint32_t flag;
} jm_get_bools[] = {
	{"persist", "nopersist", JM_PR_PERSIST},
	{"ip4.saddrsel", "ip4.nosaddrsel", JM_PR_IP4_SADDRSEL},
	{"ip6.saddrsel", "ip6.nosaddrsel", JM_PR_IP6_SADDRSEL},
};

#define JM_TRY(call)                              \
	do {                                      \
		int e_ = (call);                  \
		if (e_ != 0 && e_ != ENOENT)      \
			return e_;                \
	} while (0)

static int
jm_set_int(struct jm_opts *o, const char *name, int v)
{
	return jm_opt_set(o, name, &v, sizeof(v));
}

/* Fill every requested parameter of prison `s` as seen from `mypr`. */
static int
jm_fill(struct jm_host *h, struct jm_opts *o, int s, int mypr)
{
	const struct jm_prison *pr = &h->prisons[s];
	char noname[JM_MAXHOSTNAMELEN + 2];
	unsigned long hostid = (unsigned long)pr->hostid;
	int alive = pr->state == JM_PRISON_STATE_ALIVE, parent;

	/* Its strings are read below: ended within their fields first. */
	if (!jm_prison_check(h, s) || !jm_prison_check(h, mypr))
		return EINVAL;
	parent = jm_parent(h, s);
	JM_TRY(jm_set_int(o, "jid", pr->jid));
	JM_TRY(jm_set_int(o, "parent", parent == mypr || parent < 0 ? 0 : h->prisons[parent].jid));
	JM_TRY(jm_opt_set_str(o, "name", jm_relative_name(h, s, mypr)));
	JM_TRY(jm_opt_set_str(o, "path", jm_relative_path(h, s, mypr)));
	JM_TRY(jm_set_int(o, "securelevel", pr->securelevel));
	JM_TRY(jm_set_int(o, "children.cur", jm_children_cur(h, s)));
	JM_TRY(jm_set_int(o, "children.max", pr->children_max));
	JM_TRY(jm_opt_set_str(o, "host.hostname", jm_host_text(h, s, JM_ST_HOSTNAME)));
	JM_TRY(jm_opt_set_str(o, "host.domainname", jm_host_text(h, s, JM_ST_DOMAINNAME)));
	JM_TRY(jm_opt_set_str(o, "host.hostuuid", jm_host_text(h, s, JM_ST_HOSTUUID)));
	JM_TRY(jm_opt_set(o, "host.hostid", &hostid, sizeof(hostid)));
	{
		uint32_t n4, n6;
		const uint8_t *ip4 = jm_ips(h, s, 0, &n4), *ip6 = jm_ips(h, s, 1, &n6);

		JM_TRY(jm_opt_set_part(o, "ip4.addr", ip4, (size_t)n4 * 4));
		JM_TRY(jm_opt_set_part(o, "ip6.addr", ip6, (size_t)n6 * 16));
	}
	JM_TRY(jm_set_int(o, "enforce_statfs", pr->enforce_statfs));
	JM_TRY(jm_set_int(o, "devfs_ruleset", pr->devfs_ruleset));
	JM_TRY(jm_opt_set_str(o, "osrelease", pr->osrelease));
	JM_TRY(jm_set_int(o, "osreldate", pr->osreldate));
	JM_TRY(jm_set_int(o, "cpuset.id", pr->cpuset_id));
	for (size_t i = 0; i < JM_ARRAY_LEN(jm_get_bools); i++) {
		int v = (pr->flags & jm_get_bools[i].flag) != 0;

		JM_TRY(jm_set_int(o, jm_get_bools[i].name, v));
		JM_TRY(jm_set_int(o, jm_get_bools[i].noname, !v));
	}
	JM_TRY(jm_set_int(o, "host", (pr->flags & JM_PR_HOST) ? JM_JAIL_SYS_NEW : JM_JAIL_SYS_INHERIT));
	JM_TRY(jm_set_int(o, "vnet", (pr->flags & JM_PR_VNET) ? JM_JAIL_SYS_NEW : JM_JAIL_SYS_INHERIT));
	JM_TRY(jm_set_int(o, "ip4", (pr->flags & JM_PR_IP4_USER) ? JM_JAIL_SYS_DISABLE : JM_JAIL_SYS_INHERIT));
	JM_TRY(jm_set_int(o, "ip6", (pr->flags & JM_PR_IP6_USER) ? JM_JAIL_SYS_DISABLE : JM_JAIL_SYS_INHERIT));
	for (int i = 0; i < jm_nallow_params; i++) {
		const struct jm_allow_param *a = &jm_allow_params[i];
		int v = (pr->allow & a->bit) != 0;

		if (!jm_allow_present(h, a))
			continue;
		JM_TRY(jm_set_int(o, a->name, v));
		jm_noname(noname, sizeof(noname), a->name);
		JM_TRY(jm_set_int(o, noname, !v));
	}
	JM_TRY(jm_set_int(o, "dying", !alive));
	JM_TRY(jm_set_int(o, "nodying", alive));
	if (h->g.version >= 15)
		JM_TRY(jm_meta_get(h, o, s));
	JM_TRY(jm_sysv_get(h, o, s));
	return 0;
}

static int
jm_jail_get_locked(struct jm_host *h, struct iovec *iov, unsigned int niov, int flags,
                   struct jm_opts *o, int *jidp)
{
	int mypr = jm_caller_prison(h);
	int v15 = h->g.version >= 15;
	int getmask = v15 ? JM_JAIL_GET_MASK_15 : JM_JAIL_GET_MASK_14;
	int err, s = -1, jid, dfd = -1;
	int dying_ok = (flags & JM_JAIL_DYING) != 0;
	struct jm_opt *desc = NULL, *u;
	void *val;
	size_t len;

	if (flags & ~getmask)
		return EINVAL;
	if ((flags & JM_JAIL_USE_DESC) && (flags & JM_JAIL_AT_DESC))
		return EINVAL;
	if ((err = jm_opts_build(o, iov, niov)) != 0)
		return err;
	if (v15) {
		int dflags = flags & (JM_JAIL_AT_DESC | JM_JAIL_GET_DESC | JM_JAIL_OWN_DESC);

		desc = jm_opt_find(o, "desc");
		if (desc == NULL && dflags) {
			jm_opt_error(o, "missing desc");
			return ENOENT;
		}
		if (desc != NULL && !(dflags || (flags & JM_JAIL_USE_DESC))) {
			jm_opt_error(o, "unexpected desc");
			return EINVAL;
		}
		if (desc != NULL && desc->len != sizeof(int))
			return EINVAL;
		if (desc != NULL && (flags & (JM_JAIL_USE_DESC | JM_JAIL_AT_DESC))) {
			const char *msg = NULL;
			int fd, slot;

			memcpy(&fd, desc->value, sizeof(fd));
			if ((err = jm_desc_lookup(h, fd, &slot, &msg)) != 0) {
				if (msg != NULL)
					jm_opt_error(o, "%s", msg);
				return err;
			}
			if (flags & JM_JAIL_AT_DESC)
				mypr = slot;
			else
				s = slot;
		}
		if ((flags & (JM_JAIL_GET_DESC | JM_JAIL_OWN_DESC)) &&
		    (flags & JM_JAIL_OWN_DESC) && !jm_caller_is_root())
			return EPERM;
	}

	if (s >= 0) {
		if (h->prisons[s].state != JM_PRISON_STATE_ALIVE && !dying_ok) {
			jm_opt_error(o, "jail %d is dying", h->prisons[s].jid);
			return ENOENT;
		}
	} else if ((err = jm_opt_copy(o, "lastjid", &jid, sizeof(jid))) == 0) {
		int best = -1;

		for (int i = jm_index_after(h, jid); i < h->g.nbyjid && best < 0; i++) {
			int t = h->byjid[i];
			const struct jm_prison *p;

			if (t <= 0 || !jm_slot_ok(h, t)) {
				jm_broken();
				break;
			}
			p = &h->prisons[t];
			if (jm_is_descendant(h, t, mypr) &&
			    (p->state == JM_PRISON_STATE_ALIVE || dying_ok))
				best = t;
		}
		if (best < 0) {
			jm_opt_error(o, "no jail after %d", jid);
			return ENOENT;
		}
		s = best;
	} else if (err != ENOENT) {
		return err;
	} else if ((err = jm_opt_copy(o, "jid", &jid, sizeof(jid))) == 0 && jid != 0) {
		s = jm_find_child_jid(h, mypr, jid);
		if (s < 0) {
			jm_opt_error(o, "jail %d not found", jid);
			return ENOENT;
		}
		if (h->prisons[s].state != JM_PRISON_STATE_ALIVE && !dying_ok) {
			jm_opt_error(o, "jail %d is dying", jid);
			return ENOENT;
		}
	} else if (err != 0 && err != ENOENT) {
		return err;
	} else if ((err = jm_opt_get(o, "name", &val, &len)) == 0) {
		if (len == 0 || ((char *)val)[len - 1] != '\0')
			return EINVAL;
		s = jm_find_name(h, mypr, val);
		if (s < 0) {
			jm_opt_error(o, "jail \"%s\" not found", (char *)val);
			return ENOENT;
		}
		if (h->prisons[s].state != JM_PRISON_STATE_ALIVE && !dying_ok) {
			jm_opt_error(o, "jail \"%s\" is dying", (char *)val);
			return ENOENT;
		}
	} else {
		jm_opt_error(o, "no jail specified");
		return ENOENT;
	}

	if ((err = jm_fill(h, o, s, mypr)) != 0)
		return err;
	if ((u = jm_opt_unseen(o)) != NULL) {
		jm_opt_error(o, "unknown parameter: %s", u->name);
		return EINVAL;
	}
	if (desc != NULL && (flags & (JM_JAIL_GET_DESC | JM_JAIL_OWN_DESC))) {
		dfd = jm_desc_new(h, s, (flags & JM_JAIL_OWN_DESC) != 0);
		if (dfd < 0)
			return errno;
		memcpy(desc->value, &dfd, sizeof(dfd));
	}
	jm_opts_copyout(o, iov, niov, 1);
	*jidp = h->prisons[s].jid;
	return 0;
}

int
jailmodel_jail_get(struct iovec *iov, unsigned int niov, int flags)
{
	struct jm_host *h;
	struct jm_opts *o;
	int err, jid = -1;

	if ((o = jm_opts_new(iov, niov, 0)) == NULL)
		return -1;
	if ((h = jm_lock()) == NULL) {
		free(o);
		return -1;
	}
	err = jm_jail_get_locked(h, iov, niov, flags, o, &jid);
	if (err != 0 && o->n > 0)
		jm_opts_copyout(o, iov, niov, 0);
	if (jm_unlock(h) != 0)
		err = EINVAL;
	jm_opts_free(o);
	free(o);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return jid;
}

/* The jail's root directory as a path from the caller's own root; EACCES
 * when the jail lies outside it. */
static int
jm_attach_root(const struct jm_host *h, int mypr, int slot, const char **rel)
{
	const char *mine = jm_root(h, mypr), *root = jm_root(h, slot);
	size_t ml = strcmp(mine, "/") == 0 ? 0 : strlen(mine);

	if (ml > 0 && (strncmp(root, mine, ml) != 0 || (root[ml] != '/' && root[ml] != '\0')))
		return EACCES;
	*rel = root[ml] == '\0' ? "/" : root + ml;
	return 0;
}

/* The machine's real root, as this process saw it before its first chroot(2)
 * through the model: the kernel changes a process's root by vnode
 * (do_jail_attach -> pwd_chroot_chdir(td, pr->pr_root) in
 * sys/kern/kern_jail.c), with no check that the jail's path lies under the
 * caller's own root, so a jailed process may attach to a descendant whose
 * path lies outside its root.  The model reaches such a directory through
 * this handle, which stands for the kernel's vnode reference and is not one
 * of the process's descriptors as far as the attach rule below goes.  It is
 * close-on-exec; fork(2) inherits it; its device and inode tell whether the
 * descriptor still is that handle. */
static int jm_realroot = -1;
static dev_t jm_realroot_dev;
static ino_t jm_realroot_ino;

static int
jm_realroot_ok(void)
{
	struct stat st;

	return jm_realroot >= 0 && fstat(jm_realroot, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_dev == jm_realroot_dev && st.st_ino == jm_realroot_ino;
}

int
jm_realroot_fd(void)
{
	return jm_realroot_ok() ? jm_realroot : -1;
}

static void
jm_realroot_open(void)
{
	struct stat st;
	int fd;

	if (jm_realroot_ok())
		return;
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return;
	}
	jm_realroot = fd;
	jm_realroot_dev = st.st_dev;
	jm_realroot_ino = st.st_ino;
}

static int
jm_in(int fd, const int *set, int n)
{
	for (int i = 0; i < n; i++)
		if (set[i] == fd)
			return 1;
	return 0;
}

/* FreeBSD refuses the attach of a process that holds an open directory
 * descriptor: do_jail_attach (sys/kern/kern_jail.c) calls pwd_chroot_chdir
 * (sys/kern/kern_descrip.c), which calls chroot_refuse_vdir_fds and fails with
 * EPERM if any descriptor is a vnode of type VDIR -- unconditionally, unlike
 * chroot(2), which kern.chroot_allow_open_directories may relax.  This comes
 * after the privilege check, the lookup, the dying check, the module hooks,
 * the cpuset change and change_dir() of the jail's root.
 *
 * The model reads the descriptors of process `pid` in /proc/<pid>/fd (through
 * the real-root handle when this process is chrooted), leaving out `skip` when
 * `pid` is this process (the model's own handles, which stand for the
 * kernel's vnode references).  Without /proc, it tries each descriptor of this
 * process in turn; another process's it cannot see, and lets pass. */
static int
jm_refuse_vdir_fds(pid_t pid, const int *skip, int nskip)
{
	char path[64];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int self = pid == getpid(), dfd = -1, err = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if (jm_realroot_ok())
		dfd = openat(jm_realroot, path + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		long max = sysconf(_SC_OPEN_MAX);

		if (!self)
			return 0;
		for (int fd = 0; fd < (max > 0 && max < INT_MAX ? (int)max : 1024); fd++)
			if (!jm_in(fd, skip, nskip) && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
				return EPERM;
		return 0;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end != '\0')
			continue;
		if (self && (fd == dfd || jm_in((int)fd, skip, nskip)))
			continue;
		/* fstatat follows /proc's link to the open file itself. */
		if (fstatat(dfd, e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
			err = EPERM;
			break;
		}
	}
	closedir(d);
	return err;
}

/* Move the calling process into prison `slot`: its root directory and
 * working directory become the jail's root, and it counts as a process of
 * the jail from now on.  On failure nothing has changed. */
int
jm_do_attach(struct jm_host *h, int mypr, int slot)
{
	const char *root, *rel;
	int same, tfd, cwd, err, skip[2];

	if (!jm_prison_check(h, slot) || !jm_prison_check(h, mypr))
		return EINVAL;
	root = jm_root(h, slot);
	same = strcmp(root, jm_root(h, mypr)) == 0;

	/* change_dir(pr->pr_root): the jail's root as a directory the process
	 * can go to, found from the caller's root or, outside it, from the real
	 * root (see jm_realroot). */
	if (jm_attach_root(h, mypr, slot, &rel) == 0)
		tfd = open(rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else if (jm_realroot_ok())
		tfd = openat(jm_realroot, root[1] != '\0' ? root + 1 : ".",
		    O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		return EACCES; /* a process that has no handle on the real root */
	if (tfd < 0)
		return errno;
	skip[0] = tfd;
	skip[1] = jm_realroot;
	if ((err = jm_refuse_vdir_fds(getpid(), skip, 2)) != 0) {
		close(tfd);
		return err;
	}
	if (!same && strcmp(jm_root(h, mypr), "/") == 0)
		jm_realroot_open();
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fchdir(tfd) == -1 || (!same && chroot(".") == -1)) {
		err = errno;
		if (cwd >= 0)
			(void)fchdir(cwd); /* back where it was: nothing changed */
	}
	close(tfd);
	if (cwd >= 0)
		close(cwd);
	if (err != 0)
		return err;
	if ((err = jm_proc_attach(h, getpid(), slot)) != 0)
		return err;
	jm_knote(h, slot, JM_NOTE_JAIL_ATTACH, getpid());
	jm_settle(h);
	return 0;
}

int
jailmodel_attach_pid(int pid, int jid, char *root, size_t rootsize)
{
	struct jm_host *h = jm_lock();
	const char *rel = NULL;
	int mypr, s, err, tfd;

	if (h == NULL)
		return -1;
	mypr = jm_caller_prison(h);
	s = jid > 0 ? jm_find_child_jid(h, mypr, jid) : -1;
	if (!jm_caller_privileged(h, mypr))
		err = EPERM;
	else if (pid <= 0)
		err = ESRCH;
	else if (s < 0 || h->prisons[s].state != JM_PRISON_STATE_ALIVE)
		err = EINVAL;
	else if ((err = jm_attach_root(h, mypr, s, &rel)) == 0 && strlen(rel) >= rootsize)
		err = ENAMETOOLONG;
	if (err == 0) {
		/* change_dir, then the attach rule on the child's own descriptors
		 * as they are now: the spawner calls this once the child has closed
		 * what it does not need and waits to chroot. */
		if ((tfd = open(rel, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			err = errno;
		else
			close(tfd);
	}
	if (err == 0)
		err = jm_refuse_vdir_fds((pid_t)pid, NULL, 0);
	/* The child is the jail's new process: fork(2)'s racct check. */
	if (err == 0)
		err = jm_racct_fork_check(h, s);
	if (err == 0) {
		strcpy(root, rel);
		err = jm_proc_attach(h, (pid_t)pid, s);
	}
	if (err == 0)
		jm_knote(h, s, JM_NOTE_JAIL_ATTACH, pid);
	if (err == 0)
		jm_settle(h);
	return jm_unlock_ret(h, err);
}

static int
jm_attach_locked(struct jm_host *h, int s, int mypr)
{
	if (s < 0 || h->prisons[s].state != JM_PRISON_STATE_ALIVE)
		return EINVAL;
	return jm_do_attach(h, mypr, s);
}

int
jailmodel_jail_attach(int jid)
{
	struct jm_host *h = jm_lock();
	int mypr, err;

	if (h == NULL)
		return -1;
	mypr = jm_caller_prison(h);
	if (!jm_caller_privileged(h, mypr))
		err = EPERM;
	else
		err = jm_attach_locked(h, jid > 0 ? jm_find_child_jid(h, mypr, jid) : -1, mypr);
	return jm_unlock_ret(h, err);
}

int
jailmodel_jail_remove(int jid)
{
	struct jm_host *h = jm_lock();
	int mypr, s, err = 0;

	if (h == NULL)
		return -1;
	mypr = jm_caller_prison(h);
	if (!jm_caller_privileged(h, mypr)) {
		err = EPERM;
	} else {
		s = jid > 0 ? jm_find_child_jid(h, mypr, jid) : -1;
		if (s < 0)
			err = EINVAL;
		else if (h->prisons[s].state == JM_PRISON_STATE_ALIVE)
			jm_prison_remove(h, s);
	}
	return jm_unlock_ret(h, err);
}

static int
jm_desc_call(int fd, int remove)
{
	struct jm_host *h = jm_lock();
	const char *msg = NULL;
	int mypr, s, err;

	if (h == NULL)
		return -1;
	if (h->g.version < 15) {
		if (jm_unlock(h) == 0)
			errno = ENOSYS;
		return -1;
	}
	mypr = jm_caller_prison(h);
	if ((err = jm_desc_lookup(h, fd, &s, &msg)) == 0) {
		if (!jm_caller_privileged(h, mypr))
			err = EPERM;
		else if (remove) {
			if (h->prisons[s].state == JM_PRISON_STATE_ALIVE)
				jm_prison_remove(h, s);
		} else
			err = jm_attach_locked(h, s, mypr);
	}
	return jm_unlock_ret(h, err);
}

int
jailmodel_jail_attach_jd(int fd)
{
	return jm_desc_call(fd, 0);
}

int
jailmodel_jail_remove_jd(int fd)
{
	return jm_desc_call(fd, 1);
}
