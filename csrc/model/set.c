/*
 * set.c: jail_set(2).  The checks run in the order of the spec's section
 * 4.1 (FreeBSD 15; 14 where the switch says so); nothing in the host
 * changes until every check has passed, except what FreeBSD itself does
 * early (the jid counter, a dying jail's new jid).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "tree.h"

/* What the caller asked for, parsed. */
struct jm_req {
	int flags, cuflags;
	int jid;
	int got_slevel, slevel;
	int got_childmax, childmax;
	int got_enforce, enforce;
	int got_rsnum, rsnum;
	uint32_t pr_flags, ch_flags;
	uint64_t pr_allow, ch_allow;
	const char *name;
	const char *hostname, *domainname, *hostuuid;
	int got_hostid;
	unsigned long hostid;
	int got_ip4, got_ip6;
	uint32_t ip4_count, ip6_count;
	uint8_t *ip4, *ip6; /* sorted copies (malloc) */
	const char *osrelease;
	int got_osreldate, osreldate;
	int got_path;
	char path[JM_MAXPATHLEN]; /* global */
	int desc_fd, desc_pos;
	int32_t sysv[3];
};

/* jailsys parameters: name, the pr_flags bit for "disable", for "new". */
static const struct {
	const char *name;
	uint32_t disable, new;
} jm_sys_params[] = {
	{"host", 0, JM_PR_HOST},
	{"vnet", 0, JM_PR_VNET},
	{"ip4", JM_PR_IP4_USER, JM_PR_IP4_USER},
	{"ip6", JM_PR_IP6_USER, JM_PR_IP6_USER},
};

static const struct {
	const char *name, *noname;
	uint32_t flag;
} jm_bool_params[] = {
	{"persist", "nopersist", JM_PR_PERSIST},
	{"ip4.saddrsel", "ip4.nosaddrsel", JM_PR_IP4_SADDRSEL},
	{"ip6.saddrsel", "ip6.nosaddrsel", JM_PR_IP6_SADDRSEL},
};

static int
jm_strtoul_like(const char *s, const char **end, unsigned long *out)
{
	const char *p = s;
	unsigned long v = 0;
	int neg = 0, any = 0, over = 0;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned long d = (unsigned long)(*p - '0');

		any = 1;
		if (v > (ULONG_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (!any) {
		*end = s;
		*out = 0;
		return 0;
	}
	*end = p;
	*out = over ? ULONG_MAX : (neg ? (unsigned long)(-(long long)v) : v);
	return 1;
}

static int
jm_ip_cmp4(const void *a, const void *b)
{
	uint32_t x, y;

	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	x = ntohl(x);
	y = ntohl(y);
	return x < y ? -1 : x > y;
}

static int
jm_ip_cmp6(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* prison_ip_copyin: size, count, validity, order (primary first, the rest
 * sorted), duplicates.  Returns 0 or an errno. */
static int
jm_ip_copyin(struct jm_host *h, struct jm_opts *o, const void *val, size_t len, int v6,
             uint8_t **dstp, uint32_t *count)
{
	size_t esz = v6 ? 16 : 4;
	uint32_t n;
	uint8_t *dst;

	if (len % esz != 0)
		return EINVAL;
	n = (uint32_t)(len / esz);
	/* security.jail.jail_max_af_ips is any u_int (kern_jail.c:
	 * SYSCTL_UINT); the option size limit bounds the count. */
	if (n > h->g.max_af_ips) {
		jm_opt_error(o, "too many %s addresses", v6 ? "IPv6" : "IPv4");
		return EINVAL;
	}
	if ((dst = *dstp = malloc(len > 0 ? len : 1)) == NULL)
		return ENOMEM;
	if (n > 0)
		memcpy(dst, val, len);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *a = dst + i * esz;
		static const uint8_t zero[16], ones[4] = {255, 255, 255, 255};

		if (memcmp(a, zero, esz) == 0 || (!v6 && memcmp(a, ones, 4) == 0))
			return EINVAL;
	}
	if (n > 2)
		qsort(dst + esz, n - 1, esz, v6 ? jm_ip_cmp6 : jm_ip_cmp4);
	for (uint32_t i = 1; i < n; i++) {
		if (memcmp(dst, dst + i * esz, esz) == 0)
			return EINVAL;
		if (i + 1 < n && memcmp(dst + i * esz, dst + (i + 1) * esz, esz) == 0)
			return EINVAL;
	}
	*count = n;
	return 0;
}

static int
jm_ip_member(const uint8_t *list, uint32_t n, const uint8_t *a, size_t esz)
{
	for (uint32_t i = 0; i < n; i++)
		if (memcmp(list + i * esz, a, esz) == 0)
			return 1;
	return 0;
}

/* Addresses of a (possibly) new jail against its parent's and its
 * neighbours' in the same network stack. */
static int
jm_ip_checks(struct jm_host *h, struct jm_opts *o, int ppr, int target, int v6,
             const uint8_t *ips, uint32_t n)
{
	size_t esz = v6 ? 16 : 4;
	uint32_t restricted = v6 ? JM_PR_IP6 : JM_PR_IP4;
	const struct jm_prison *pp = &h->prisons[ppr];
	uint32_t pn;
	const uint8_t *pl = jm_ips(h, ppr, v6, &pn);
	int stack = ppr;

	if (n == 0)
		return 0;
	if (pp->flags & restricted) {
		for (uint32_t i = 0; i < n; i++)
			if (!jm_ip_member(pl, pn, ips + i * esz, esz))
				return EPERM;
	}
	for (int depth = 0; stack > 0 && !(h->prisons[stack].flags & JM_PR_VNET);
	     stack = jm_parent_slot(h, stack))
		if (++depth > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			return EINVAL;
		}
	if (stack < 0)
		stack = 0;
	/* One address clashes only with a list of two or more: none held
	 * anywhere (counted as lists are stored), none to look at. */
	if (n == 1 && h->g.nmulti[v6] == 0)
		return 0;
	JM_FOREACH_DESCENDANT(h, stack, s, steps) {
		const struct jm_prison *t = &h->prisons[s];
		uint32_t tn;
		const uint8_t *tl;
		int skip = 0;

		/* Not below the target, a vnet jail, a dead one, or a jail
		 * restricted for this family (those hold the addresses). */
		for (int a = jm_parent_slot(h, s), depth = 0; a >= 0 && a != stack;
		     a = jm_parent_slot(h, a)) {
			const struct jm_prison *ap = &h->prisons[a];

			if (a == target || (ap->flags & (JM_PR_VNET | restricted)) ||
			    ap->state != JM_PRISON_STATE_ALIVE)
				skip = 1;
			if (++depth > JM_MAXPRISONS) { /* a cycle */
				jm_broken();
				return EINVAL;
			}
		}
		if (skip || s == target || (t->flags & JM_PR_VNET) ||
		    t->state != JM_PRISON_STATE_ALIVE || !(t->flags & restricted))
			continue;
		tl = jm_ips(h, s, v6, &tn);
		if (tn == 0 || (n == 1 && tn == 1))
			continue;
		for (uint32_t i = 0; i < n; i++) {
			if (jm_ip_member(tl, tn, ips + i * esz, esz)) {
				jm_opt_error(o, "%s addresses clash", v6 ? "IPv6" : "IPv4");
				return EADDRINUSE;
			}
		}
	}
	return 0;
}

/* Steps 10 to 23 of section 4.1: every parameter, parsed and checked alone. */
static int
jm_parse(struct jm_host *h, struct jm_opts *o, struct jm_req *r, int mypr)
{
	void *val;
	size_t len;
	int err;
	int32_t jsys;
	char noname[JM_MAXHOSTNAMELEN + 2];

	(void)mypr;
	/* Typed scalars. */
	if ((err = jm_opt_copy(o, "jid", &r->jid, sizeof(r->jid))) == ENOENT)
		r->jid = 0;
	else if (err != 0)
		return err;
	if ((err = jm_opt_copy(o, "securelevel", &r->slevel, sizeof(int))) == 0)
		r->got_slevel = 1;
	else if (err != ENOENT)
		return err;
	if ((err = jm_opt_copy(o, "children.max", &r->childmax, sizeof(int))) == 0)
		r->got_childmax = 1;
	else if (err != ENOENT)
		return err;
	if ((err = jm_opt_copy(o, "enforce_statfs", &r->enforce, sizeof(int))) == 0) {
		if (r->enforce < 0 || r->enforce > 2)
			return EINVAL;
		r->got_enforce = 1;
	} else if (err != ENOENT)
		return err;
	if ((err = jm_opt_copy(o, "devfs_ruleset", &r->rsnum, sizeof(int))) == 0)
		r->got_rsnum = 1;
	else if (err != ENOENT)
		return err;

	/* Booleans. */
	for (size_t i = 0; i < JM_ARRAY_LEN(jm_bool_params); i++) {
		if (jm_opt_flag(o, jm_bool_params[i].name))
			r->pr_flags |= jm_bool_params[i].flag;
		if (jm_opt_flag(o, jm_bool_params[i].noname))
			r->ch_flags |= jm_bool_params[i].flag;
	}
	r->ch_flags |= r->pr_flags;

	/* jailsys. */
	for (size_t i = 0; i < JM_ARRAY_LEN(jm_sys_params); i++) {
		if ((err = jm_opt_copy(o, jm_sys_params[i].name, &jsys, sizeof(jsys))) == ENOENT)
			continue;
		if (err != 0)
			return err;
		switch (jsys) {
		case JM_JAIL_SYS_DISABLE:
			if (jm_sys_params[i].disable == 0)
				return EINVAL;
			r->pr_flags |= jm_sys_params[i].disable;
			break;
		case JM_JAIL_SYS_NEW:
			r->pr_flags |= jm_sys_params[i].new;
			break;
		case JM_JAIL_SYS_INHERIT:
			break;
		default:
			return EINVAL;
		}
		r->ch_flags |= jm_sys_params[i].new | jm_sys_params[i].disable;
	}
	if ((r->flags & (JM_JAIL_CREATE | JM_JAIL_ATTACH)) == JM_JAIL_CREATE &&
	    !(r->pr_flags & JM_PR_PERSIST)) {
		jm_opt_error(o, "new jail must persist or attach");
		return EINVAL;
	}
	if ((r->flags & JM_JAIL_UPDATE) && (r->ch_flags & JM_PR_VNET)) {
		jm_opt_error(o, "vnet cannot be changed after creation");
		return EINVAL;
	}
	if ((r->flags & JM_JAIL_UPDATE) && (r->ch_flags & JM_PR_IP4_USER)) {
		jm_opt_error(o, "ip4 cannot be changed after creation");
		return EINVAL;
	}
	if ((r->flags & JM_JAIL_UPDATE) && (r->ch_flags & JM_PR_IP6_USER)) {
		jm_opt_error(o, "ip6 cannot be changed after creation");
		return EINVAL;
	}

	/* allow.* */
	for (int i = 0; i < jm_nallow_params; i++) {
		const struct jm_allow_param *a = &jm_allow_params[i];

		if (!jm_allow_present(h, a))
			continue;
		if (jm_opt_flag(o, a->name))
			r->pr_allow |= a->bit;
		jm_noname(noname, sizeof(noname), a->name);
		if (jm_opt_flag(o, noname))
			r->ch_allow |= a->bit;
	}
	r->ch_allow |= r->pr_allow;

	/* name */
	if ((err = jm_opt_get(o, "name", &val, &len)) == 0) {
		if (len == 0 || ((char *)val)[len - 1] != '\0')
			return EINVAL;
		if (len > JM_MAXHOSTNAMELEN)
			return ENAMETOOLONG;
		r->name = val;
	} else if (err != ENOENT)
		return err;

	/* host.* */
	{
		static const struct {
			const char *name;
			size_t max;
			size_t off;
		} hs[] = {
			{"host.hostname", JM_MAXHOSTNAMELEN, offsetof(struct jm_req, hostname)},
			{"host.domainname", JM_MAXHOSTNAMELEN, offsetof(struct jm_req, domainname)},
			{"host.hostuuid", JM_HOSTUUIDLEN, offsetof(struct jm_req, hostuuid)},
		};
		for (size_t i = 0; i < JM_ARRAY_LEN(hs); i++) {
			if ((err = jm_opt_get(o, hs[i].name, &val, &len)) == ENOENT)
				continue;
			if (err != 0)
				return err;
			if (len == 0 || ((char *)val)[len - 1] != '\0')
				return EINVAL;
			if (len > hs[i].max)
				return ENAMETOOLONG;
			*(const char **)((char *)r + hs[i].off) = val;
			r->ch_flags |= JM_PR_HOST;
			r->pr_flags |= JM_PR_HOST;
		}
		if ((err = jm_opt_copy(o, "host.hostid", &r->hostid, sizeof(r->hostid))) == 0) {
			r->got_hostid = 1;
			r->ch_flags |= JM_PR_HOST;
			r->pr_flags |= JM_PR_HOST;
		} else if (err != ENOENT)
			return err;
	}

	/* ip4.addr, ip6.addr */
	for (int v6 = 0; v6 <= 1; v6++) {
		const char *pn = v6 ? "ip6.addr" : "ip4.addr";
		uint32_t user = v6 ? JM_PR_IP6_USER : JM_PR_IP4_USER;

		if ((err = jm_opt_get(o, pn, &val, &len)) == ENOENT)
			continue;
		if (err != 0)
			return err;
		r->ch_flags |= user;
		r->pr_flags |= user;
		if (v6) {
			r->got_ip6 = 1;
			err = jm_ip_copyin(h, o, val, len, 1, &r->ip6, &r->ip6_count);
		} else {
			r->got_ip4 = 1;
			err = jm_ip_copyin(h, o, val, len, 0, &r->ip4, &r->ip4_count);
		}
		if (err != 0)
			return err;
	}
	if ((r->ch_flags & JM_PR_VNET) && (r->ch_flags & (JM_PR_IP4_USER | JM_PR_IP6_USER))) {
		jm_opt_error(o, "vnet jails cannot have IP address restrictions");
		return EINVAL;
	}

	/* osrelease, osreldate */
	if ((err = jm_opt_get(o, "osrelease", &val, &len)) == 0) {
		if (r->flags & JM_JAIL_UPDATE) {
			jm_opt_error(o, "osrelease cannot be changed after creation");
			return EINVAL;
		}
		if (len == 0 || ((char *)val)[len - 1] != '\0')
			return EINVAL;
		if (len >= JM_OSRELEASELEN) {
			jm_opt_error(o, "osrelease string must be 1-%d bytes long",
			             JM_OSRELEASELEN - 1);
			return ENAMETOOLONG;
		}
		r->osrelease = val;
	} else if (err != ENOENT)
		return err;
	if ((err = jm_opt_copy(o, "osreldate", &r->osreldate, sizeof(int))) == 0) {
		if (r->flags & JM_JAIL_UPDATE) {
			jm_opt_error(o, "osreldate cannot be changed after creation");
			return EINVAL;
		}
		if (r->osreldate == 0) {
			jm_opt_error(o, "osreldate cannot be 0");
			return EINVAL;
		}
		r->got_osreldate = 1;
	} else if (err != ENOENT)
		return err;

	/* path */
	if ((err = jm_opt_get(o, "path", &val, &len)) == 0) {
		char real[PATH_MAX];
		struct stat st;
		const char *mine = jm_root(h, mypr);
		size_t ml;

		if (r->flags & JM_JAIL_UPDATE) {
			jm_opt_error(o, "path cannot be changed after creation");
			return EINVAL;
		}
		if (len == 0 || ((char *)val)[len - 1] != '\0')
			return EINVAL;
		/* Every path, "" and "/" included, goes through namei: "" is
		 * its ENOENT (namei refuses an empty path), and "/" is the
		 * caller's root, stored as a global path like any other
		 * (kern_jail_set: namei, then vn_path_to_global_path). */
		if (((char *)val)[0] == '\0')
			return ENOENT;
		if (len > JM_MAXPATHLEN)
			return ENAMETOOLONG;
		if (realpath(val, real) == NULL)
			return errno;
		if (stat(real, &st) == -1)
			return errno;
		if (!S_ISDIR(st.st_mode))
			return ENOTDIR;
		ml = strcmp(mine, "/") == 0 ? 0 : strlen(mine);
		if (ml + strlen(real) >= JM_MAXPATHLEN)
			return ENAMETOOLONG;
		memcpy(r->path, mine, ml);
		strcpy(r->path + ml, ml > 0 && strcmp(real, "/") == 0 ? "" : real);
		if (r->path[0] == '\0')
			strcpy(r->path, "/");
		r->got_path = 1;
	} else if (err != ENOENT)
		return err;
	return 0;
}

/* Step 8: the descriptor parameter of FreeBSD 15.  A JAIL_AT_DESC descriptor
 * is resolved here, before the privilege check and the parameters
 * (kern_jail_set calls jaildesc_find for JAIL_AT_DESC as soon as it has
 * copied "desc"; the spec's step 26 holds for JAIL_USE_DESC only); a
 * JAIL_USE_DESC one is kept in r->desc_fd for jm_use_desc (step 26). */
static int
jm_desc_param(struct jm_host *h, struct jm_opts *o, struct jm_req *r, int *mypr)
{
	int dflags = r->flags & (JM_JAIL_USE_DESC | JM_JAIL_AT_DESC | JM_JAIL_GET_DESC |
	                         JM_JAIL_OWN_DESC);
	struct jm_opt *op;
	const char *msg = NULL;
	int fd, slot, err;

	r->desc_fd = -1;
	r->desc_pos = -1;
	if (h->g.version < 15)
		return 0;
	op = jm_opt_find(o, "desc");
	if (op == NULL) {
		if (dflags) {
			jm_opt_error(o, "missing desc");
			return ENOENT;
		}
		return 0;
	}
	/* vfs_copyopt of "desc" fails on a wrong size before the flags are
	 * looked at (EINVAL, no message). */
	if (op->len != sizeof(int))
		return EINVAL;
	if (!dflags) {
		jm_opt_error(o, "unexpected desc");
		return EINVAL;
	}
	memcpy(&fd, op->value, sizeof(int));
	r->desc_pos = op->pos;
	r->desc_fd = fd;
	if (!(r->flags & JM_JAIL_AT_DESC))
		return 0;
	if ((err = jm_desc_lookup(h, fd, &slot, &msg)) != 0) {
		if (msg != NULL)
			jm_opt_error(o, "%s", msg);
		return err;
	}
	*mypr = slot;
	return 0;
}

/* Step 26: a JAIL_USE_DESC descriptor, resolved under the lock after every
 * parameter check (kern_jail_set: jaildesc_find once allprison_lock is
 * held), so a bad value is reported before a bad descriptor.  A dying
 * jail's descriptors are detached ("descriptor to dead jail"), except those
 * made after it started dying. */
static int
jm_use_desc(struct jm_host *h, struct jm_opts *o, const struct jm_req *r, int *usepr)
{
	const char *msg = NULL;
	int err;

	if ((err = jm_desc_lookup(h, r->desc_fd, usepr, &msg)) != 0) {
		if (msg != NULL)
			jm_opt_error(o, "%s", msg);
		*usepr = -1;
		return err;
	}
	/* The privilege of the descriptor's credential, not the caller's
	 * (kern_jail_set: priv_check_cred(jdcred, PRIV_JAIL_SET), and
	 * PRIV_JAIL_ATTACH with JAIL_ATTACH, which the model grants alike). */
	if (!jm_desc_cred_privileged(r->desc_fd)) {
		*usepr = -1;
		return EPERM;
	}
	return 0;
}

/* 0, or ENOMEM when the host's heap has no room for the list. */
static int
jm_set_ips(struct jm_host *h, int slot, int v6, const uint8_t *ips, uint32_t n)
{
	struct jm_prison *pr = &h->prisons[slot];
	int err = jm_store_set(h, slot, v6 ? JM_ST_IP6 : JM_ST_IP4, ips, (size_t)n * (v6 ? 16 : 4), 0);

	if (err != 0)
		return err;
	jm_save_prison(h, slot);
	if (v6)
		pr->ip6_count = n;
	else
		pr->ip4_count = n;
	return 0;
}

/* A parent's list changed: children without their own take it, children
 * with their own keep what the parent still has; and so on down. */
static int
jm_ip_propagate(struct jm_host *h, int slot, int v6, int depth)
{
	uint32_t user = v6 ? JM_PR_IP6_USER : JM_PR_IP4_USER;
	uint32_t restricted = v6 ? JM_PR_IP6 : JM_PR_IP4;
	size_t esz = v6 ? 16 : 4;
	int err;

	if (depth > JM_MAXPRISONS) { /* a cycle of parents */
		jm_broken();
		return EINVAL;
	}
	JM_FOREACH_CHILD(h, slot, s, steps) {
		struct jm_prison *c = &h->prisons[s];
		uint32_t pn, cn, k = 0;
		const uint8_t *pl;

		if (c->flags & JM_PR_VNET)
			continue;
		pl = jm_ips(h, slot, v6, &pn);
		jm_save_prison(h, s);
		c->flags |= restricted;
		if (c->flags & user) {
			const uint8_t *cl = jm_ips(h, s, v6, &cn);
			uint8_t *keep = malloc(cn > 0 ? (size_t)cn * esz : 1);

			if (keep == NULL)
				return ENOMEM;
			for (uint32_t i = 0; i < cn; i++)
				if (jm_ip_member(pl, pn, cl + i * esz, esz))
					memcpy(keep + (k++) * esz, cl + i * esz, esz);
			err = jm_set_ips(h, s, v6, keep, k);
			free(keep);
		} else {
			err = jm_set_ips(h, s, v6, pl, pn);
		}
		if (err != 0 || (err = jm_ip_propagate(h, s, v6, depth + 1)) != 0)
			return err;
	}
	return 0;
}

/* Prison dst takes src's host.hostname, host.domainname, host.hostuuid and
 * host.hostid; 0 or ENOMEM. */
static int
jm_host_copy(struct jm_host *h, int dst, int src)
{
	static const int fields[] = {JM_ST_HOSTNAME, JM_ST_DOMAINNAME, JM_ST_HOSTUUID};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		/* src's block stays where it is while dst gets a new one. */
		int err = jm_host_text_set(h, dst, fields[i], jm_host_text(h, src, fields[i]));

		if (err != 0)
			return err;
	}
	jm_save_prison(h, dst);
	h->prisons[dst].hostid = h->prisons[src].hostid;
	return 0;
}

static int
jm_host_propagate(struct jm_host *h, int slot, int depth)
{
	if (depth > JM_MAXPRISONS) { /* a cycle of parents */
		jm_broken();
		return 0;
	}
	JM_FOREACH_CHILD(h, slot, s, steps) {
		struct jm_prison *c = &h->prisons[s];
		int err;

		if ((c->flags & JM_PR_HOST) || !jm_prison_check(h, s))
			continue;
		if ((err = jm_host_copy(h, s, slot)) != 0 ||
		    (err = jm_host_propagate(h, s, depth + 1)) != 0)
			return err;
	}
	return 0;
}

/* get_next_prid: the next automatic jid, or 0 when none is free. */
static int
jm_next_prid(struct jm_host *h)
{
	int start = h->g.lastprid % JM_JAIL_MAX + 1;

	for (int pass = 0; pass < 2; pass++) {
		int lo = pass == 0 ? start : 1, hi = pass == 0 ? JM_JAIL_MAX : h->g.lastprid;

		for (int jid = lo; jid <= hi; jid++) {
			if (jm_find_jid(h, jid) < 0) {
				jm_save_globals(h);
				h->g.lastprid = jid;
				return jid;
			}
		}
	}
	return 0;
}

/* get_next_deadid: a new jid for a dying jail, counting down. */
static int
jm_next_deadid(struct jm_host *h)
{
	int start = h->g.lastdeadid <= 1 ? JM_JAIL_MAX : h->g.lastdeadid - 1;

	if (h->g.lastdeadid == 0)
		start = JM_JAIL_MAX;
	for (int pass = 0; pass < 2; pass++) {
		int hi = pass == 0 ? start : JM_JAIL_MAX, lo = pass == 0 ? 1 : start + 1;

		for (int jid = hi; jid >= lo; jid--) {
			if (jm_find_jid(h, jid) < 0) {
				jm_save_globals(h);
				h->g.lastdeadid = jid;
				return jid;
			}
		}
	}
	return 0;
}

/* The full name of a jail named `comp` under `ppr`; ENAMETOOLONG if it
 * does not fit. */
static int
jm_full_name(const struct jm_host *h, int ppr, const char *comp, char *out)
{
	size_t pl;

	if (!jm_prison_check(h, ppr))
		return EINVAL;
	pl = ppr == 0 ? 0 : strlen(h->prisons[ppr].name) + 1;

	if (pl + strlen(comp) >= JM_MAXHOSTNAMELEN)
		return ENAMETOOLONG;
	if (ppr != 0) {
		memcpy(out, h->prisons[ppr].name, pl - 1);
		out[pl - 1] = '.';
	}
	strcpy(out + pl, comp);
	return 0;
}

static void
jm_rename_descendants(struct jm_host *h, int slot, size_t oldlen)
{
	const char *newname = h->prisons[slot].name;
	size_t nl = strlen(newname);

	JM_FOREACH_DESCENDANT(h, slot, s, steps) {
		struct jm_prison *d = &h->prisons[s];
		char buf[JM_MAXHOSTNAMELEN];

		if (!jm_prison_check(h, s) || strlen(d->name) < oldlen) {
			jm_broken();
			continue;
		}
		memcpy(buf, newname, nl);
		strcpy(buf + nl, d->name + oldlen);
		jm_prison_rename(h, s, buf);
	}
}

/* A failure after the changes were applied (a module's PR_METHOD_SET, the
 * attach): a jail this call created goes away, an update keeps its changes,
 * as in kern_jail_set. */
static void
jm_fail_late(struct jm_host *h, int pr, int created)
{
	if (created) {
		jm_save_prison(h, pr);
		h->prisons[pr].flags &= ~JM_PR_PERSIST;
		jm_prison_die(h, pr);
	}
	jm_settle(h);
}

static int
jm_jail_set_locked(struct jm_host *h, struct iovec *iov, unsigned int niov, int flags,
                   struct jm_opts *o, int *jidp)
{
	struct jm_req *r;
	int mypr = jm_caller_prison(h), callerpr = mypr;
	int v15 = h->g.version >= 15;
	int setmask = v15 ? JM_JAIL_SET_MASK_15 : JM_JAIL_SET_MASK_14;
	int err, pr = -1, ppr, usepr = -1, deadpr = -1, created, slot;
	int maybe_changed = 0; /* kern_jail_set's: every check passed */
	const char *namelc = NULL;
	char fullname[JM_MAXHOSTNAMELEN];
	struct jm_prison *np;

	if (!v15) {
		if (!jm_caller_privileged(h, mypr))
			return EPERM;
		if ((flags & JM_JAIL_CREATE) && h->prisons[mypr].children_max == 0)
			return EPERM;
		if (flags & ~setmask)
			return EINVAL;
	} else {
		if ((flags & JM_JAIL_CREATE) && !(flags & JM_JAIL_AT_DESC) &&
		    h->prisons[mypr].children_max == 0)
			return EPERM;
		if (flags & ~setmask)
			return EINVAL;
		if ((flags & JM_JAIL_USE_DESC) && (flags & JM_JAIL_AT_DESC))
			return EINVAL;
	}
	if ((err = jm_opts_build(o, iov, niov)) != 0)
		return err;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ENOMEM;
	r->flags = flags;
	r->cuflags = flags & (JM_JAIL_CREATE | JM_JAIL_UPDATE);
	for (int m = 0; m < 3; m++)
		r->sysv[m] = -1;
	if (r->cuflags == 0) {
		jm_opt_error(o, "no valid operation (create or update)");
		err = EINVAL;
		goto out;
	}
	if ((err = jm_desc_param(h, o, r, &mypr)) != 0)
		goto out;
	if ((flags & JM_JAIL_AT_DESC) && (flags & JM_JAIL_CREATE) &&
	    h->prisons[mypr].children_max == 0) {
		err = EPERM;
		goto out;
	}
	/* Under JAIL_AT_DESC the privilege is still the real caller's
	 * (priv_check(td)), not that of the descriptor's jail; under
	 * JAIL_USE_DESC it is the descriptor's credential, checked after the
	 * lookup (jm_use_desc). */
	if (v15 && !(flags & JM_JAIL_USE_DESC) && !jm_caller_privileged(h, callerpr)) {
		err = EPERM;
		goto out;
	}
	if (v15 && (flags & JM_JAIL_OWN_DESC) && !jm_caller_is_root()) {
		err = EPERM;
		goto out;
	}
	if ((err = jm_parse(h, o, r, mypr)) != 0)
		goto out;
	if (r->cuflags == JM_JAIL_CREATE && r->jid == 0 && r->name != NULL) {
		const char *dot = strrchr(r->name, '.'), *end;
		unsigned long v;

		if (jm_strtoul_like(dot != NULL ? dot + 1 : r->name, &end, &v) && *end == '\0')
			r->jid = (int)(uint32_t)v;
	}
	if (h->prisons[mypr].state != JM_PRISON_STATE_ALIVE) {
		err = EAGAIN;
		goto out;
	}
	if (v15 && (flags & JM_JAIL_USE_DESC) && (err = jm_use_desc(h, o, r, &usepr)) != 0)
		goto out;

	/* Locate the jail, or at least its parent (4.2, 4.3). */
	ppr = mypr;
	if (usepr >= 0) {
		struct jm_prison *u = &h->prisons[usepr];

		if (r->cuflags == JM_JAIL_CREATE) {
			jm_opt_error(o, "jail %d already exists", u->jid);
			err = EEXIST;
			goto out;
		}
		/* Only a descriptor made after the jail started dying (jail_get
		 * with JAIL_DYING) still reaches a dying jail. */
		if (u->state != JM_PRISON_STATE_ALIVE) {
			jm_opt_error(o, "jail %d is dying", u->jid);
			err = ENOENT;
			goto out;
		}
		if (r->jid != 0 && r->jid != u->jid) {
			jm_opt_error(o, "cannot change jid");
			err = EINVAL;
			goto out;
		}
		pr = usepr;
		ppr = jm_parent(h, usepr);
	} else if (r->jid != 0) {
		int found;

		if (r->jid < 0) {
			jm_opt_error(o, "negative jid");
			err = EINVAL;
			goto out;
		}
		found = jm_find_jid(h, r->jid);
		if (found >= 0 && h->prisons[found].state != JM_PRISON_STATE_ALIVE) {
			if (v15) {
				deadpr = found;
				found = -1;
			} else if (r->cuflags == JM_JAIL_CREATE) {
				jm_opt_error(o, "jail %d already exists", r->jid);
				err = EEXIST;
				goto out;
			} else if (!(flags & JM_JAIL_DYING)) {
				jm_opt_error(o, "jail %d is dying", r->jid);
				err = ENOENT;
				goto out;
			}
		}
		if (r->cuflags == JM_JAIL_CREATE && found >= 0) {
			jm_opt_error(o, "jail %d already exists", r->jid);
			err = EEXIST;
			goto out;
		}
		if (found < 0 ? r->cuflags == JM_JAIL_UPDATE : !jm_is_descendant(h, found, mypr)) {
			jm_opt_error(o, "jail %d not found", r->jid);
			err = ENOENT;
			goto out;
		}
		if (found >= 0) {
			pr = found;
			ppr = jm_parent(h, found);
		}
	}
	if (r->name != NULL) {
		const char *dot = strrchr(r->name, '.');

		namelc = r->name;
		if (dot != NULL) {
			size_t plen = (size_t)(dot - r->name);

			if (pr >= 0) {
				const char *pname = jm_relative_name(h, ppr, mypr);

				if (ppr == mypr || strncmp(r->name, pname, plen) != 0 ||
				    pname[plen] != '\0') {
					jm_opt_error(o, "cannot change jail's parent");
					err = EINVAL;
					goto out;
				}
			} else {
				char pbuf[JM_MAXHOSTNAMELEN];

				memcpy(pbuf, r->name, plen);
				pbuf[plen] = '\0';
				ppr = jm_find_name(h, mypr, pbuf);
				if (ppr < 0) {
					jm_opt_error(o, "jail \"%s\" not found", pbuf);
					err = ENOENT;
					goto out;
				}
				if (h->prisons[ppr].state != JM_PRISON_STATE_ALIVE) {
					jm_opt_error(o, "jail \"%s\" is dying", pbuf);
					err = ENOENT;
					goto out;
				}
			}
			namelc = dot + 1;
		}
		if (namelc[0] != '\0') {
			int steps = 0, s = -1;

			/* The alive child of ppr of that name, by the name index (a
			 * name too long for one has none). */
			if (jm_full_name(h, ppr, namelc, fullname) == 0)
				s = jm_name_first(h, fullname, &steps);
			for (; s >= 0; s = jm_name_next(h, s, &steps)) {
				const struct jm_prison *t = &h->prisons[s];

				if (t->parent != ppr || s == pr || t->state != JM_PRISON_STATE_ALIVE ||
				    !jm_prison_check(h, s))
					continue;
				if (r->cuflags == JM_JAIL_CREATE || pr >= 0) {
					jm_opt_error(o, "jail \"%s\" already exists", r->name);
					err = EEXIST;
					goto out;
				}
				pr = s;
				break;
			}
			if (pr < 0 && r->cuflags == JM_JAIL_UPDATE) {
				jm_opt_error(o, "jail \"%s\" not found", r->name);
				err = ENOENT;
				goto out;
			}
		}
	}
	/* The model's decision for an update that names no jail (section 11). */
	if (pr < 0 && r->cuflags == JM_JAIL_UPDATE) {
		jm_opt_error(o, "update specified no jail");
		err = ENOENT;
		goto out;
	}

	created = pr < 0;
	if (created) {
		for (int t = mypr, depth = 0; t >= 0; t = jm_parent_slot(h, t)) {
			if (++depth > JM_MAXPRISONS) { /* a cycle */
				jm_broken();
				err = EINVAL;
				goto out;
			}
			if (jm_children_cur(h, t) >= h->prisons[t].children_max) {
				jm_opt_error(o, "prison limit exceeded");
				err = EPERM;
				goto out;
			}
		}
		if (deadpr >= 0) {
			int deadid = jm_next_deadid(h);

			if (deadid == 0) {
				jm_opt_error(o, "no available jail IDs");
				err = EAGAIN;
				goto out;
			}
			jm_prison_renumber(h, deadpr, deadid);
		}
		if (r->jid == 0 && (r->jid = jm_next_prid(h)) == 0) {
			jm_opt_error(o, "no available jail IDs");
			err = EAGAIN;
			goto out;
		}
	} else {
		const struct jm_prison *t = &h->prisons[pr];

		if ((t->flags & JM_PR_VNET) && (r->ch_flags & (JM_PR_IP4_USER | JM_PR_IP6_USER))) {
			jm_opt_error(o, "vnet jails cannot have IP address restrictions");
			err = EINVAL;
			goto out;
		}
		if (r->got_ip4 && !(t->flags & JM_PR_IP4_USER)) {
			jm_opt_error(o, "ip4 cannot be changed after creation");
			err = EINVAL;
			goto out;
		}
		if (r->got_ip6 && !(t->flags & JM_PR_IP6_USER)) {
			jm_opt_error(o, "ip6 cannot be changed after creation");
			err = EINVAL;
			goto out;
		}
	}

	/* Constraints from the parent (4.1 step 29). */
	{
		const struct jm_prison *pp = &h->prisons[ppr];

		if (r->got_slevel && r->slevel < pp->securelevel) {
			err = EPERM;
			goto out;
		}
		if (r->got_childmax && r->childmax >= pp->children_max) {
			err = EPERM;
			goto out;
		}
		if (r->got_enforce && r->enforce < pp->enforce_statfs) {
			err = EPERM;
			goto out;
		}
		if (r->got_rsnum) {
			if (r->rsnum < 0 || r->rsnum > 65535) {
				err = EINVAL;
				goto out;
			}
			/* jailed(td->td_ucred): the real caller, even under
			 * JAIL_AT_DESC. */
			if (callerpr != 0) {
				if (r->rsnum != 0 && r->rsnum != pp->devfs_ruleset) {
					err = EPERM;
					goto out;
				}
				r->rsnum = pp->devfs_ruleset;
			}
		}
		if (r->got_ip4 && (err = jm_ip_checks(h, o, ppr, pr, 0, r->ip4, r->ip4_count)) != 0)
			goto out;
		if (r->got_ip6 && (err = jm_ip_checks(h, o, ppr, pr, 1, r->ip6, r->ip6_count)) != 0)
			goto out;
	}

	/* The name (4.4). */
	if (namelc != NULL && namelc[0] != '\0') {
		const char *end;
		unsigned long v;
		int jid = created ? r->jid : h->prisons[pr].jid;

		if (jm_strtoul_like(namelc, &end, &v) && *end == '\0' &&
		    ((int)(uint32_t)v != jid || namelc[0] < '1' || namelc[0] > '9')) {
			jm_opt_error(o, "name cannot be numeric (unless it is the jid)");
			err = EINVAL;
			goto out;
		}
	}
	if (namelc != NULL) {
		char comp[24];
		const char *c = namelc;

		if (c[0] == '\0') {
			snprintf(comp, sizeof(comp), "%d", created ? r->jid : h->prisons[pr].jid);
			c = comp;
		}
		if ((err = jm_full_name(h, ppr, c, fullname)) != 0)
			goto out;
		if (!created) {
			size_t oldlen = strlen(h->prisons[pr].name), newlen = strlen(fullname);

			JM_FOREACH_DESCENDANT(h, pr, s, steps) {
				if (!jm_prison_check(h, s) || strlen(h->prisons[s].name) < oldlen) {
					err = EINVAL;
					jm_broken();
					goto out;
				}
				if (strlen(h->prisons[s].name) - oldlen + newlen >= JM_MAXHOSTNAMELEN) {
					err = ENAMETOOLONG;
					goto out;
				}
			}
		}
	} else if (created) {
		char comp[24];

		snprintf(comp, sizeof(comp), "%d", r->jid);
		if ((err = jm_full_name(h, ppr, comp, fullname)) != 0)
			goto out;
	}

	/* allow.* against the parent (step 31). */
	if (r->pr_allow & ~h->prisons[ppr].allow &
	    ~(uint64_t)(JM_PR_ALLOW_UNPRIV_DEBUG |
	                (v15 ? JM_PR_ALLOW_UNPRIV_PARENT_TAMPER : 0))) {
		err = EPERM;
		goto out;
	}

	/* Module CHECK hooks: meta/env, then SysV. */
	if (v15 && (err = jm_meta_check(h, o)) != 0)
		goto out;
	if ((err = jm_sysv_check(h, o, ppr, r->sysv)) != 0)
		goto out;

	/* Anything nobody consumed. */
	{
		struct jm_opt *u = jm_opt_unseen(o);

		if (u != NULL) {
			jm_opt_error(o, "unknown parameter: %s", u->name);
			err = EINVAL;
			goto out;
		}
	}

	/* ---- apply ---- */
	if (created) {
		const struct jm_prison *pp = &h->prisons[ppr];

		slot = jm_alloc_slot(h);
		if (slot < 0) {
			jm_opt_error(o, "no available jail IDs");
			err = EAGAIN;
			goto out;
		}
		jm_save_prison(h, slot);
		np = &h->prisons[slot];
		{
			uint32_t gen = np->gen;

			memset(np, 0, sizeof(*np));
			np->gen = gen;
		}
		np->used = 1;
		np->jid = r->jid;
		np->parent = ppr;
		np->state = JM_PRISON_STATE_ALIVE;
		np->securelevel = pp->securelevel;
		/* The global default only, not the parent's value (kern_jail_set:
		 * pr_enforce_statfs = jail_default_enforce_statfs); the EPERM
		 * "< parent's" check looks only at an explicit enforce_statfs
		 * (gotenforce), so a default below the parent's is kept. */
		np->enforce_statfs = h->g.enforce_statfs;
		np->devfs_ruleset = pp->devfs_ruleset;
		np->osreldate = r->got_osreldate ? r->osreldate : pp->osreldate;
		strcpy(np->osrelease, r->osrelease != NULL ? r->osrelease : pp->osrelease);
		np->cpuset_id = jm_alloc_cpuset(h);
		np->allow = JM_JAIL_DEFAULT_ALLOW & pp->allow;
		np->flags = JM_PR_HOST | JM_PR_IP4_SADDRSEL | JM_PR_IP6_SADDRSEL;
		strcpy(np->name, fullname);
		{
			/* Copied first: the caller's root lives in the heap. */
			char root[JM_MAXPATHLEN];
			const char *path = r->got_path ? r->path : "/";

			snprintf(root, sizeof(root), "%s", r->got_path ? r->path : jm_root(h, mypr));
			if ((err = jm_store_set(h, slot, JM_ST_PATH, path, strlen(path), 1)) != 0 ||
			    (err = jm_store_set(h, slot, JM_ST_ROOT, root, strlen(root), 1)) != 0 ||
			    (err = jm_host_text_set(h, slot, JM_ST_HOSTUUID, JM_DEFAULT_HOSTUUID)) != 0)
				goto nomem;
		}
		if ((r->ch_flags & JM_PR_VNET) && (r->pr_flags & JM_PR_VNET))
			np->flags |= JM_PR_VNET;
		for (int v6 = 0; v6 <= 1; v6++) {
			uint32_t user = v6 ? JM_PR_IP6_USER : JM_PR_IP4_USER;
			uint32_t restricted = v6 ? JM_PR_IP6 : JM_PR_IP4;

			if (np->flags & JM_PR_VNET)
				continue;
			if (!(r->ch_flags & user) || (r->pr_flags & user)) {
				/* No ip4 parameter, disable, new, or an address list. */
				np->flags |= user | restricted;
			} else if (pp->flags & restricted) {
				/* inherit from a restricted parent: its list. */
				uint32_t pn;
				const uint8_t *pl = jm_ips(h, ppr, v6, &pn);

				np->flags |= restricted;
				if ((err = jm_set_ips(h, slot, v6, pl, pn)) != 0)
					goto nomem;
			}
		}
		if (!(r->ch_flags & JM_PR_HOST) || (r->pr_flags & JM_PR_HOST)) {
			np->flags |= JM_PR_HOST;
		} else {
			np->flags &= ~JM_PR_HOST;
			if ((err = jm_host_copy(h, slot, ppr)) != 0)
				goto nomem;
		}
		for (int m = 0; m < 3; m++)
			np->sysv[m] = JM_JAIL_SYS_DISABLE;
		jm_prison_link(h, slot);
		if (np->flags & JM_PR_VNET)
			jm_net_vnet_created(h, slot); /* its own lo0 (net.c) */
		pr = slot;
	}
	/* Past every check: an update changes the jail from here on, and
	 * kqueue hears of it even when a later step fails. */
	maybe_changed = !created;
	np = &h->prisons[pr];
	jm_save_prison(h, pr);
	if (r->got_ip4) {
		if ((err = jm_set_ips(h, pr, 0, r->ip4, r->ip4_count)) != 0)
			goto nomem;
		np->flags |= JM_PR_IP4 | JM_PR_IP4_USER;
		if ((err = jm_ip_propagate(h, pr, 0, 0)) != 0)
			goto nomem;
	}
	if (r->got_ip6) {
		if ((err = jm_set_ips(h, pr, 1, r->ip6, r->ip6_count)) != 0)
			goto nomem;
		np->flags |= JM_PR_IP6 | JM_PR_IP6_USER;
		if ((err = jm_ip_propagate(h, pr, 1, 0)) != 0)
			goto nomem;
	}
	jm_crash_point(1);
	if (r->got_slevel) {
		np->securelevel = r->slevel;
		JM_FOREACH_DESCENDANT(h, pr, s, steps) {
			if (h->prisons[s].securelevel < r->slevel) {
				jm_save_prison(h, s);
				h->prisons[s].securelevel = r->slevel;
			}
		}
	}
	if (r->got_childmax) {
		np->children_max = r->childmax;
		JM_FOREACH_DESCENDANT(h, pr, s, steps) {
			int d, lim;

			d = jm_depth_below(h, s, pr);
			lim = r->childmax - d > 0 ? r->childmax - d : 0;
			if (h->prisons[s].children_max > lim) {
				jm_save_prison(h, s);
				h->prisons[s].children_max = lim;
			}
		}
	}
	if (r->got_enforce) {
		np->enforce_statfs = r->enforce;
		JM_FOREACH_DESCENDANT(h, pr, s, steps) {
			if (h->prisons[s].enforce_statfs < r->enforce) {
				jm_save_prison(h, s);
				h->prisons[s].enforce_statfs = r->enforce;
			}
		}
	}
	if (r->got_rsnum) {
		np->devfs_ruleset = r->rsnum;
		JM_FOREACH_DESCENDANT(h, pr, s, steps) {
			jm_save_prison(h, s);
			h->prisons[s].devfs_ruleset = r->rsnum;
		}
	}
	if (!created && namelc != NULL && strcmp(np->name, fullname) != 0) {
		size_t oldlen = strlen(np->name);

		jm_prison_rename(h, pr, fullname);
		jm_rename_descendants(h, pr, oldlen);
	}
	/* host */
	if (!created && (r->ch_flags & JM_PR_HOST) && !(r->pr_flags & JM_PR_HOST)) {
		np->flags &= ~JM_PR_HOST;
		if ((err = jm_host_copy(h, pr, jm_parent(h, pr) < 0 ? 0 : jm_parent(h, pr))) != 0)
			goto nomem;
	} else if (r->pr_flags & JM_PR_HOST) {
		np->flags |= JM_PR_HOST;
	}
	if ((r->hostname != NULL &&
	     (err = jm_host_text_set(h, pr, JM_ST_HOSTNAME, r->hostname)) != 0) ||
	    (r->domainname != NULL &&
	     (err = jm_host_text_set(h, pr, JM_ST_DOMAINNAME, r->domainname)) != 0) ||
	    (r->hostuuid != NULL &&
	     (err = jm_host_text_set(h, pr, JM_ST_HOSTUUID, r->hostuuid)) != 0))
		goto nomem;
	if (r->got_hostid)
		np->hostid = r->hostid;
	if ((r->ch_flags & JM_PR_HOST) && (err = jm_host_propagate(h, pr, 0)) != 0)
		goto nomem;
	/* allow */
	if (r->ch_allow) {
		uint64_t off = r->ch_allow & ~r->pr_allow;

		np->allow = (np->allow & ~r->ch_allow) | r->pr_allow;
		if (off) {
			JM_FOREACH_DESCENDANT(h, pr, s, steps) {
				jm_save_prison(h, s);
				h->prisons[s].allow &= ~off;
			}
		}
	}
	/* flags: persist, saddrsel */
	{
		uint32_t bools = JM_PR_PERSIST | JM_PR_IP4_SADDRSEL | JM_PR_IP6_SADDRSEL;
		uint32_t ch = r->ch_flags & bools;

		np->flags = (np->flags & ~ch) | (r->pr_flags & ch);
		if (!v15 && (flags & JM_JAIL_DYING) && np->state == JM_PRISON_STATE_DYING &&
		    ((r->pr_flags & JM_PR_PERSIST) || (flags & JM_JAIL_ATTACH)))
			np->state = JM_PRISON_STATE_ALIVE;
	}
	/* The modules' PR_METHOD_SET (kern_jail.c, kern_jail_set): meta/env
	 * fail only now, after the jail's other changes, which an update keeps;
	 * a jail being created goes away. */
	if (v15 && (err = jm_meta_apply(h, o, pr)) != 0) {
		if (err == ENOMEM)
			goto nomem;
		jm_fail_late(h, pr, created);
		goto out;
	}
	jm_crash_point(2);
	jm_sysv_apply(h, pr, r->sysv, created);

	/* kqueue: a new jail is ready to be seen, its parent's CHILD (before
	 * the attach, which may still fail and take it away). */
	if (created)
		jm_knote(h, h->prisons[pr].parent, JM_NOTE_JAIL_CHILD, h->prisons[pr].jid);
	if (flags & JM_JAIL_ATTACH) {
		if ((err = jm_do_attach(h, mypr, pr)) != 0) {
			jm_opt_error(o, "attach failed");
			jm_fail_late(h, pr, created);
			goto out;
		}
	}
	*jidp = h->prisons[pr].jid;
	if (flags & (JM_JAIL_GET_DESC | JM_JAIL_OWN_DESC)) {
		int fd = jm_desc_new(h, pr, (flags & JM_JAIL_OWN_DESC) != 0);

		if (fd < 0) {
			err = errno;
			goto out;
		}
		memcpy(iov[2 * r->desc_pos + 1].iov_base, &fd, sizeof(fd));
	}
	/* The change is reported before a jail that lost its last reference
	 * (nopersist) dies, as done_deref comes before prison_deref. */
	if (maybe_changed)
		jm_knote(h, pr, JM_NOTE_JAIL_SET, 0);
	maybe_changed = 0;
	jm_pend(h, pr);
	jm_settle(h);
	err = 0;
	goto out;
nomem:
	/* The host's heap has no room (the model's limit, not FreeBSD's):
	 * the call changes nothing and fails as an exhausted kernel would. */
	jm_change_abort(h);
	err = ENOMEM;
out:
	/* kern_jail_set's done_deref: changes are reported even if the call
	 * failed after it began to make them. */
	if (maybe_changed && jm_slot_ok(h, pr))
		jm_knote(h, pr, JM_NOTE_JAIL_SET, 0);
	free(r->ip4);
	free(r->ip6);
	free(r);
	return err;
}

int
jailmodel_jail_set(struct iovec *iov, unsigned int niov, int flags)
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
	err = jm_jail_set_locked(h, iov, niov, flags, o, &jid);
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
