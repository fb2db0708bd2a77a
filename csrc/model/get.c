/*
 * get.c: jail_get(2), jail_attach(2), jail_remove(2) and their descriptor
 * forms.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	int alive = pr->state == JM_PRISON_STATE_ALIVE;

	JM_TRY(jm_set_int(o, "jid", pr->jid));
	JM_TRY(jm_set_int(o, "parent", pr->parent == mypr ? 0 : h->prisons[pr->parent].jid));
	JM_TRY(jm_opt_set_str(o, "name", jm_relative_name(h, s, mypr)));
	JM_TRY(jm_opt_set_str(o, "path", jm_relative_path(h, s, mypr)));
	JM_TRY(jm_set_int(o, "securelevel", pr->securelevel));
	JM_TRY(jm_set_int(o, "children.cur", jm_children_cur(h, s)));
	JM_TRY(jm_set_int(o, "children.max", pr->children_max));
	JM_TRY(jm_opt_set_str(o, "host.hostname", pr->hostname));
	JM_TRY(jm_opt_set_str(o, "host.domainname", pr->domainname));
	JM_TRY(jm_opt_set_str(o, "host.hostuuid", pr->hostuuid));
	JM_TRY(jm_opt_set(o, "host.hostid", &hostid, sizeof(hostid)));
	JM_TRY(jm_opt_set_part(o, "ip4.addr", pr->ip4, (size_t)pr->ip4_count * 4));
	JM_TRY(jm_opt_set_part(o, "ip6.addr", pr->ip6, (size_t)pr->ip6_count * 16));
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
			const struct jm_prison *p = &h->prisons[t];

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

	if (niov & 1) {
		errno = EINVAL;
		return -1;
	}
	if ((err = jm_iov_copyin(iov, niov)) != 0) {
		errno = err;
		return -1;
	}
	o = malloc(sizeof(*o));
	if (o == NULL)
		return -1;
	o->n = 0;
	o->errmsg_idx = -1;
	o->errmsg_set = 0;
	if ((h = jm_lock()) == NULL) {
		free(o);
		return -1;
	}
	err = jm_jail_get_locked(h, iov, niov, flags, o, &jid);
	if (err != 0 && o->n > 0)
		jm_opts_copyout(o, iov, niov, 0);
	jm_unlock(h);
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
	const char *mine = h->prisons[mypr].root, *root = h->prisons[slot].root;
	size_t ml = strcmp(mine, "/") == 0 ? 0 : strlen(mine);

	if (ml > 0 && (strncmp(root, mine, ml) != 0 || (root[ml] != '/' && root[ml] != '\0')))
		return EACCES;
	*rel = root[ml] == '\0' ? "/" : root + ml;
	return 0;
}

/* Move the calling process into prison `slot`: its root directory and
 * working directory become the jail's root, and it counts as a process of
 * the jail from now on. */
int
jm_do_attach(struct jm_host *h, int mypr, int slot)
{
	const char *rel;
	int err;

	if ((err = jm_attach_root(h, mypr, slot, &rel)) != 0)
		return err;
	if (chdir(rel) == -1)
		return errno;
	if (strcmp(rel, "/") != 0 && chroot(".") == -1)
		return errno;
	if ((err = jm_proc_attach(h, getpid(), slot)) != 0)
		return err;
	jm_settle(h);
	return 0;
}

int
jailmodel_attach_pid(int pid, int jid, char *root, size_t rootsize)
{
	struct jm_host *h = jm_lock();
	const char *rel = NULL;
	int mypr, s, err;

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
		strcpy(root, rel);
		err = jm_proc_attach(h, (pid_t)pid, s);
	}
	if (err == 0)
		jm_settle(h);
	jm_unlock(h);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
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
	jm_unlock(h);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
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
	jm_unlock(h);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
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
		jm_unlock(h);
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
	jm_unlock(h);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
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
