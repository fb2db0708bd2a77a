/*
 * devfsrule.c: the model's devfs rulesets (FreeBSD's devfs_rule.c) and the
 * device nodes of its devfs mounts.
 *
 * The registry (struct jm_devfs, in the host) holds rulesets by number and
 * their rules, unordered in fixed tables; the rules of a ruleset are run in
 * rule-number order.  A ruleset is created when a rule is added to it, when
 * a mount takes it (nmount ruleset=N, DEVFSIO_SUSE); it is reaped when it has
 * no rule and no reference left.  References: the devfs mounts whose active
 * ruleset it is, and the stored rules that include it (so an included
 * ruleset outlives its rules, as FreeBSD's does).
 *
 * A devfs mount shows the model's fixed device list (jm_devfs_devs, see
 * docs/devfs.rst); each mount keeps, per device, whether a rule hid it and
 * its owner and mode.  Facts: shared/spec/freebsd-jail-host.md C.2-C.4.
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "model.h"

/* fs/devfs/devfs.h */
#define DRC_DSWFLAGS 0x001
#define DRC_PATHPTRN 0x002
#define DRA_BACTS 0x001
#define DRA_UID 0x002
#define DRA_GID 0x004
#define DRA_MODE 0x008
#define DRA_INCSET 0x010
#define DRB_HIDE 0x001
#define DRB_UNHIDE 0x002
/* sys/conf.h d_flags */
#define D_TAPE 0x0001
#define D_DISK 0x0002
#define D_TTY 0x0004
#define D_MEM 0x0008
/* sys/stat.h (FreeBSD's values, Linux's too) */
#define JM_S_IFCHR 0020000u
#define JM_S_IFDIR 0040000u
#define JM_S_IFLNK 0120000u

/* FreeBSD's errno for a bad dr_magic is ERPCMISMATCH (sys/errno.h).  Linux
 * has no such errno, and its 73 is another (EDOTDOT): the model answers with
 * the nearest one Linux has, EPROTO, as it gives every errno by its name. */
#ifndef ERPCMISMATCH
#define ERPCMISMATCH EPROTO
#endif

/* The default of vfs.devfs.rule_depth: includes are followed one level. */
#define JM_DEVFS_RULE_DEPTH 1
#define JM_RULESET_MAX 0xffff

/* ---- the fixed device list -------------------------------------------- */

struct jm_devfs_dev {
	const char *name;  /* path below the mount point; a directory precedes its entries */
	uint32_t type;     /* JM_S_IF* */
	uint16_t mode;
	uint32_t uid, gid;
	int32_t dswflags;  /* the cdevsw's d_flags (D_*), devices only */
};

/* uid root 0, uucp 66; gid wheel 0, kmem 2, tty 4, operator 5, dialer 68 */
static const struct jm_devfs_dev jm_devfs_devs[] = {
	{"acpi", JM_S_IFCHR, 0664, 0, 5, 0},
	{"ada0", JM_S_IFCHR, 0640, 0, 5, D_DISK},
	{"ada0p1", JM_S_IFCHR, 0640, 0, 5, D_DISK},
	{"ada0p2", JM_S_IFCHR, 0640, 0, 5, D_DISK},
	{"audit", JM_S_IFCHR, 0600, 0, 0, 0},
	{"auditpipe", JM_S_IFCHR, 0600, 0, 0, 0},
	{"bpf", JM_S_IFCHR, 0600, 0, 0, 0},
	{"bpf0", JM_S_IFLNK, 0755, 0, 0, 0},
	{"cd0", JM_S_IFCHR, 0640, 0, 5, D_DISK},
	{"console", JM_S_IFCHR, 0600, 0, 0, D_TTY},
	{"crypto", JM_S_IFCHR, 0666, 0, 0, 0},
	{"ctty", JM_S_IFCHR, 0666, 0, 0, 0},
	{"cuau0", JM_S_IFCHR, 0660, 66, 68, D_TTY},
	{"devctl", JM_S_IFCHR, 0600, 0, 0, 0},
	{"devctl2", JM_S_IFCHR, 0600, 0, 0, 0},
	{"devstat", JM_S_IFCHR, 0444, 0, 0, 0},
	{"fd", JM_S_IFDIR, 0555, 0, 0, 0},
	{"fd/0", JM_S_IFCHR, 0666, 0, 0, 0},
	{"fd/1", JM_S_IFCHR, 0666, 0, 0, 0},
	{"fd/2", JM_S_IFCHR, 0666, 0, 0, 0},
	{"full", JM_S_IFCHR, 0666, 0, 0, 0},
	{"fuse", JM_S_IFCHR, 0666, 0, 0, 0},
	{"geom.ctl", JM_S_IFCHR, 0640, 0, 5, 0},
	{"io", JM_S_IFCHR, 0600, 0, 0, 0},
	{"klog", JM_S_IFCHR, 0600, 0, 0, 0},
	{"kmem", JM_S_IFCHR, 0640, 0, 2, D_MEM},
	{"md0", JM_S_IFCHR, 0640, 0, 5, D_DISK},
	{"mdctl", JM_S_IFCHR, 0600, 0, 0, 0},
	{"mem", JM_S_IFCHR, 0640, 0, 2, D_MEM},
	{"netmap", JM_S_IFCHR, 0600, 0, 0, 0},
	{"null", JM_S_IFCHR, 0666, 0, 0, 0},
	{"pass0", JM_S_IFCHR, 0600, 0, 5, 0},
	{"pf", JM_S_IFCHR, 0600, 0, 0, 0},
	{"ptmx", JM_S_IFCHR, 0666, 0, 0, 0},
	{"pts", JM_S_IFDIR, 0755, 0, 0, 0},
	{"pts/0", JM_S_IFCHR, 0620, 0, 4, D_TTY},
	{"random", JM_S_IFCHR, 0644, 0, 0, 0},
	{"reroot", JM_S_IFDIR, 0555, 0, 0, 0},
	{"reroot/reroot", JM_S_IFCHR, 0600, 0, 0, 0},
	{"sa0", JM_S_IFCHR, 0660, 0, 5, D_TAPE},
	{"sndstat", JM_S_IFCHR, 0644, 0, 0, 0},
	{"stderr", JM_S_IFLNK, 0555, 0, 0, 0},
	{"stdin", JM_S_IFLNK, 0555, 0, 0, 0},
	{"stdout", JM_S_IFLNK, 0555, 0, 0, 0},
	{"sysmouse", JM_S_IFCHR, 0666, 0, 0, 0},
	{"tty", JM_S_IFCHR, 0666, 0, 0, 0},
	{"ttyu0", JM_S_IFCHR, 0600, 0, 0, D_TTY},
	{"ttyv0", JM_S_IFCHR, 0600, 0, 0, D_TTY},
	{"ttyv1", JM_S_IFCHR, 0600, 0, 0, D_TTY},
	{"ufssuspend", JM_S_IFCHR, 0400, 0, 5, 0},
	{"urandom", JM_S_IFLNK, 0755, 0, 0, 0},
	{"usb", JM_S_IFDIR, 0755, 0, 0, 0},
	{"usbctl", JM_S_IFCHR, 0644, 0, 0, 0},
	{"xpt0", JM_S_IFCHR, 0600, 0, 5, 0},
	{"zero", JM_S_IFCHR, 0666, 0, 0, 0},
	{"zfs", JM_S_IFCHR, 0666, 0, 0, 0},
};

_Static_assert(sizeof(jm_devfs_devs) / sizeof(jm_devfs_devs[0]) == JM_DEVFS_NDEV,
    "JM_DEVFS_NDEV");

/* The directory entry a device is in, or -1 for the mount's root. */
static int
dev_parent(int i)
{
	const char *slash = strrchr(jm_devfs_devs[i].name, '/');
	size_t len;

	if (slash == NULL)
		return -1;
	len = (size_t)(slash - jm_devfs_devs[i].name);
	for (int p = 0; p < i; p++)
		if (strlen(jm_devfs_devs[p].name) == len &&
		    memcmp(jm_devfs_devs[p].name, jm_devfs_devs[i].name, len) == 0)
			return p;
	return -1;
}

/* ---- the default rulesets (/etc/defaults/devfs.rules) -------------------- */

struct jm_devfs_default {
	uint16_t set;
	int32_t iacts;
	int32_t bacts;
	uint16_t incset;
	const char *path; /* NULL: no path condition */
};

#define UNHIDE(s, p) {s, DRA_BACTS, DRB_UNHIDE, 0, p}
#define INCLUDE(s, n) {s, DRA_INCSET, 0, n, NULL}

/* Numbered 100, 200, ... within each ruleset, as devfs(8) numbers rules added
 * without a number. */
static const struct jm_devfs_default jm_devfs_defaults[] = {
	{1, DRA_BACTS, DRB_HIDE, 0, NULL},
	UNHIDE(2, "null"), UNHIDE(2, "zero"), UNHIDE(2, "crypto"), UNHIDE(2, "random"),
	UNHIDE(2, "urandom"),
	UNHIDE(3, "ptyp*"), UNHIDE(3, "ptyq*"), UNHIDE(3, "ptyr*"), UNHIDE(3, "ptys*"),
	UNHIDE(3, "ptyP*"), UNHIDE(3, "ptyQ*"), UNHIDE(3, "ptyR*"), UNHIDE(3, "ptyS*"),
	UNHIDE(3, "ptyl*"), UNHIDE(3, "ptym*"), UNHIDE(3, "ptyn*"), UNHIDE(3, "ptyo*"),
	UNHIDE(3, "ptyL*"), UNHIDE(3, "ptyM*"), UNHIDE(3, "ptyN*"), UNHIDE(3, "ptyO*"),
	UNHIDE(3, "ttyp*"), UNHIDE(3, "ttyq*"), UNHIDE(3, "ttyr*"), UNHIDE(3, "ttys*"),
	UNHIDE(3, "ttyP*"), UNHIDE(3, "ttyQ*"), UNHIDE(3, "ttyR*"), UNHIDE(3, "ttyS*"),
	UNHIDE(3, "ttyl*"), UNHIDE(3, "ttym*"), UNHIDE(3, "ttyn*"), UNHIDE(3, "ttyo*"),
	UNHIDE(3, "ttyL*"), UNHIDE(3, "ttyM*"), UNHIDE(3, "ttyN*"), UNHIDE(3, "ttyO*"),
	UNHIDE(3, "ptmx"), UNHIDE(3, "pts"), UNHIDE(3, "pts/*"), UNHIDE(3, "fd"),
	UNHIDE(3, "fd/*"), UNHIDE(3, "stdin"), UNHIDE(3, "stdout"), UNHIDE(3, "stderr"),
	INCLUDE(4, 1), INCLUDE(4, 2), INCLUDE(4, 3), UNHIDE(4, "fuse"), UNHIDE(4, "zfs"),
	INCLUDE(5, 1), INCLUDE(5, 2), INCLUDE(5, 3), INCLUDE(5, 4), UNHIDE(5, "pf"),
};

/* ---- the registry -------------------------------------------------------- */

static int
set_find(const struct jm_host *h, int num)
{
	if (num <= 0 || num > JM_RULESET_MAX)
		return -1;
	for (int i = 0; i < JM_DEVFS_MAXSETS; i++)
		if (h->mnt.devfs.set[i].num == num)
			return i;
	return -1;
}

/* The ruleset's entry, created empty when absent; -1 when the table is full. */
static int
set_get(struct jm_host *h, int num)
{
	struct jm_devfs *d = &h->mnt.devfs;
	int i = set_find(h, num);

	if (i >= 0)
		return i;
	if (num <= 0 || num > JM_RULESET_MAX)
		return -1;
	if (d->nsets >= JM_DEVFS_MAXSETS) {
		/* Every entry counted in use: one free is a tampered count. */
		for (i = 0; i < JM_DEVFS_MAXSETS; i++)
			if (d->set[i].num == 0)
				jm_broken();
		return -1;
	}
	for (i = 0; i < JM_DEVFS_MAXSETS; i++)
		if (d->set[i].num == 0) {
			jm_save(h, &d->set[i], sizeof(d->set[i]));
			jm_save(h, &d->nsets, sizeof(d->nsets));
			memset(&d->set[i], 0, sizeof(d->set[i]));
			d->set[i].num = (uint16_t)num;
			d->nsets++;
			return i;
		}
	return -1;
}

/* devfs_ruleset_reap: free an empty, unreferenced ruleset. */
static void
set_reap(struct jm_host *h, int i)
{
	struct jm_devfs *d = &h->mnt.devfs;

	if (i < 0 || d->set[i].nrules != 0 || d->set[i].refs != 0)
		return;
	if (d->nsets <= 0) {
		jm_broken();
		return;
	}
	jm_save(h, &d->set[i], sizeof(d->set[i]));
	jm_save(h, &d->nsets, sizeof(d->nsets));
	memset(&d->set[i], 0, sizeof(d->set[i]));
	d->nsets--;
}

static void
set_ref(struct jm_host *h, int i, int delta)
{
	struct jm_devfs_set *s = &h->mnt.devfs.set[i];

	if (s->refs + delta < 0 || s->refs + delta > JM_DEVFS_MAXRULES + JM_MNT_MAX) {
		jm_broken();
		return;
	}
	jm_save(h, &s->refs, sizeof(s->refs));
	s->refs += delta;
}

static int
rule_find(const struct jm_host *h, int set, int num)
{
	if (set <= 0 || num <= 0)
		return -1;
	for (int i = 0; i < JM_DEVFS_MAXRULES; i++)
		if (h->mnt.devfs.rule[i].set == set && h->mnt.devfs.rule[i].num == num)
			return i;
	return -1;
}

/* The rule of `set` with the smallest number above `after`, or -1. */
static int
rule_next(const struct jm_host *h, int set, int after)
{
	int best = -1;

	if (set <= 0)
		return -1;
	for (int i = 0; i < JM_DEVFS_MAXRULES; i++) {
		const struct jm_devfs_rule *r = &h->mnt.devfs.rule[i];

		if (r->set == set && r->num > after &&
		    (best < 0 || r->num < h->mnt.devfs.rule[best].num))
			best = i;
	}
	return best;
}

/* The rules of `set` in rule-number order, into out; their number. */
static int
rule_ordered(const struct jm_host *h, int set, int out[JM_DEVFS_MAXRULES])
{
	int n = 0;

	if (set <= 0)
		return 0;
	for (int i = 0; i < JM_DEVFS_MAXRULES; i++) {
		const struct jm_devfs_rule *r = &h->mnt.devfs.rule[i];
		int k;

		if (r->set != set)
			continue;
		for (k = n; k > 0 && h->mnt.devfs.rule[out[k - 1]].num > r->num; k--)
			out[k] = out[k - 1];
		out[k] = i;
		n++;
	}
	return n;
}

/* Store rule `r` (its set and number resolved, number 0: auto-number);
 * 0 or an errno (ESRCH, ENOSPC, ERANGE).  Creates its ruleset. */
static int
rule_insert(struct jm_host *h, struct jm_devfs_rule *r)
{
	struct jm_devfs *d = &h->mnt.devfs;
	int si, inc = -1, slot = -1;

	if ((r->iacts & DRA_INCSET) && (inc = set_find(h, r->incset)) < 0)
		return ESRCH;
	if ((si = set_get(h, r->set)) < 0)
		return ENOSPC;
	if (r->num == 0) {
		int last = 0;

		for (int i = 0; i < JM_DEVFS_MAXRULES; i++)
			if (d->rule[i].set == r->set && d->rule[i].num > last)
				last = d->rule[i].num;
		if (last + 100 > JM_RULESET_MAX)
			return ERANGE;
		r->num = (uint16_t)(last + 100);
	}
	for (int i = 0; i < JM_DEVFS_MAXRULES; i++)
		if (d->rule[i].set == 0) {
			slot = i;
			break;
		}
	if (slot < 0)
		return ENOSPC;
	if (d->nrules >= JM_DEVFS_MAXRULES || d->set[si].nrules < 0 ||
	    d->set[si].nrules >= JM_DEVFS_MAXRULES) {
		jm_broken(); /* a free entry, yet the counts say full */
		return ENOSPC;
	}
	jm_save(h, &d->rule[slot], sizeof(d->rule[slot]));
	jm_save(h, &d->nrules, sizeof(d->nrules));
	jm_save(h, &d->set[si].nrules, sizeof(d->set[si].nrules));
	d->rule[slot] = *r;
	d->nrules++;
	d->set[si].nrules++;
	if (inc >= 0)
		set_ref(h, inc, 1);
	return 0;
}

/* devfs_rule_delete: remove rule entry i, drop its include's reference, and
 * reap what became empty and unreferenced. */
static void
rule_delete(struct jm_host *h, int i)
{
	struct jm_devfs *d = &h->mnt.devfs;
	struct jm_devfs_rule r = d->rule[i];
	int si = set_find(h, r.set), inc;

	if (si < 0 || d->set[si].nrules <= 0 || d->nrules <= 0) {
		jm_broken();
		return;
	}
	jm_save(h, &d->rule[i], sizeof(d->rule[i]));
	jm_save(h, &d->nrules, sizeof(d->nrules));
	jm_save(h, &d->set[si].nrules, sizeof(d->set[si].nrules));
	memset(&d->rule[i], 0, sizeof(d->rule[i]));
	d->nrules--;
	d->set[si].nrules--;
	if ((r.iacts & DRA_INCSET) && (inc = set_find(h, r.incset)) >= 0) {
		set_ref(h, inc, -1);
		set_reap(h, inc);
	}
	set_reap(h, si);
}

/* ---- applying rules ------------------------------------------------------- */

static void apply_set_node(const struct jm_host *h, int set, struct jm_devfs_node *n, int dev,
    int depth);

/* devfs_rule_match: no condition matches every entry; DRC_DSWFLAGS never
 * matches a directory or a symbolic link. */
static int
rule_match(const struct jm_devfs_rule *r, int dev)
{
	const struct jm_devfs_dev *v = &jm_devfs_devs[dev];

	if (r->icond & DRC_DSWFLAGS) {
		if (v->type != JM_S_IFCHR || (v->dswflags & r->dswflags) == 0)
			return 0;
	}
	if (r->icond & DRC_PATHPTRN) {
		if (memchr(r->pathptrn, '\0', sizeof(r->pathptrn)) == NULL) {
			jm_broken();
			return 0;
		}
		if (fnmatch(r->pathptrn, v->name, FNM_PATHNAME) != 0)
			return 0;
	}
	return 1;
}

/* devfs_rule_run on one node. */
static void
rule_run(const struct jm_host *h, const struct jm_devfs_rule *r, struct jm_devfs_node *n,
    int dev, int depth)
{
	if (!rule_match(r, dev))
		return;
	if (r->iacts & DRA_BACTS) {
		if (r->bacts & DRB_HIDE)
			n->hidden = 1;
		if (r->bacts & DRB_UNHIDE)
			n->hidden = 0;
	}
	if (r->iacts & DRA_UID)
		n->uid = r->uid;
	if (r->iacts & DRA_GID)
		n->gid = r->gid;
	if (r->iacts & DRA_MODE)
		n->mode = (uint16_t)(r->mode & 07777);
	/* Deeper includes are ignored (the depth bounds an include of the
	 * ruleset being run too: its rules run once more, its includes not). */
	if ((r->iacts & DRA_INCSET) && depth > 0)
		apply_set_node(h, r->incset, n, dev, depth - 1);
}

static void
apply_set_node(const struct jm_host *h, int set, struct jm_devfs_node *n, int dev, int depth)
{
	int order[JM_DEVFS_MAXRULES];
	int k = rule_ordered(h, set, order);

	for (int i = 0; i < k; i++)
		rule_run(h, &h->mnt.devfs.rule[order[i]], n, dev, depth);
}

static void
apply_rule(struct jm_host *h, struct jm_devfs_nodes *nodes, const struct jm_devfs_rule *r)
{
	jm_save(h, nodes, sizeof(*nodes));
	for (int i = 0; i < JM_DEVFS_NDEV; i++)
		rule_run(h, r, &nodes->node[i], i, JM_DEVFS_RULE_DEPTH);
}

void
jm_devfs_apply_ruleset(struct jm_host *h, struct jm_devfs_nodes *nodes, int rs)
{
	if (set_find(h, rs) < 0)
		return;
	jm_save(h, nodes, sizeof(*nodes));
	for (int i = 0; i < JM_DEVFS_NDEV; i++)
		apply_set_node(h, rs, &nodes->node[i], i, JM_DEVFS_RULE_DEPTH);
}

void
jm_devfs_populate(struct jm_host *h, struct jm_devfs_nodes *nodes, int rs)
{
	for (int i = 0; i < JM_DEVFS_NDEV; i++) {
		nodes->node[i].hidden = 0;
		nodes->node[i].pad = 0;
		nodes->node[i].mode = jm_devfs_devs[i].mode;
		nodes->node[i].uid = jm_devfs_devs[i].uid;
		nodes->node[i].gid = jm_devfs_devs[i].gid;
	}
	if (rs != 0)
		jm_devfs_apply_ruleset(h, nodes, rs);
}

/* ---- references, init, checks ------------------------------------------- */

int
jm_devfs_ruleset_ref(struct jm_host *h, int rs)
{
	int i;

	if (rs == 0)
		return 0;
	if ((i = set_get(h, rs)) < 0)
		return ENOSPC;
	set_ref(h, i, 1);
	return 0;
}

void
jm_devfs_ruleset_unref(struct jm_host *h, int rs)
{
	int i;

	if (rs == 0)
		return;
	if ((i = set_find(h, rs)) < 0 || h->mnt.devfs.set[i].refs <= 0) {
		jm_broken();
		return;
	}
	set_ref(h, i, -1);
	set_reap(h, i);
}

/* Replace the rules of rulesets 1 to 5 with the defaults; 0 or an errno. */
static int
load_defaults(struct jm_host *h)
{
	struct jm_devfs *d = &h->mnt.devfs;
	int err;

	for (int i = 0; i < JM_DEVFS_MAXRULES; i++)
		if (d->rule[i].set >= 1 && d->rule[i].set <= 5)
			rule_delete(h, i);
	for (size_t k = 0; k < sizeof(jm_devfs_defaults) / sizeof(jm_devfs_defaults[0]); k++) {
		const struct jm_devfs_default *f = &jm_devfs_defaults[k];
		struct jm_devfs_rule r;

		memset(&r, 0, sizeof(r));
		r.set = f->set;
		r.iacts = f->iacts;
		r.bacts = f->bacts;
		r.incset = f->incset;
		if (f->path != NULL) {
			r.icond = DRC_PATHPTRN;
			strncpy(r.pathptrn, f->path, sizeof(r.pathptrn) - 1);
		}
		if ((err = rule_insert(h, &r)) != 0)
			return err;
	}
	return 0;
}

void
jm_devfs_init(struct jm_host *h)
{
	memset(&h->mnt.devfs, 0, sizeof(h->mnt.devfs));
	(void)load_defaults(h); /* an empty registry has room for them */
}

int
jm_devfs_core_valid(const struct jm_host *h)
{
	const struct jm_devfs *d = &h->mnt.devfs;

	return d->nsets >= 0 && d->nsets <= JM_DEVFS_MAXSETS && d->nrules >= 0 &&
	    d->nrules <= JM_DEVFS_MAXRULES;
}

static int
nodes_valid(const struct jm_devfs_nodes *nodes)
{
	for (int i = 0; i < JM_DEVFS_NDEV; i++)
		if (nodes->node[i].hidden > 1 || nodes->node[i].mode > 07777)
			return 0;
	return 1;
}

int
jm_devfs_valid(const struct jm_host *h)
{
	const struct jm_devfs *d = &h->mnt.devfs;
	int nsets = 0, nrules = 0;

	if (!jm_devfs_core_valid(h))
		return 0;
	for (int i = 0; i < JM_DEVFS_MAXSETS; i++) {
		const struct jm_devfs_set *s = &d->set[i];
		int n = 0, inc = 0;

		if (s->num == 0) {
			if (s->refs != 0 || s->nrules != 0)
				return 0;
			continue;
		}
		nsets++;
		for (int j = 0; j < i; j++)
			if (d->set[j].num == s->num)
				return 0;
		for (int j = 0; j < JM_DEVFS_MAXRULES; j++) {
			if (d->rule[j].set == s->num)
				n++;
			if (d->rule[j].set != 0 && (d->rule[j].iacts & DRA_INCSET) &&
			    d->rule[j].incset == s->num)
				inc++;
		}
		if (s->nrules != n || s->refs < inc || s->refs > JM_DEVFS_MAXRULES + JM_MNT_MAX)
			return 0;
	}
	for (int i = 0; i < JM_DEVFS_MAXRULES; i++) {
		const struct jm_devfs_rule *r = &d->rule[i];

		if (r->set == 0)
			continue;
		nrules++;
		if (r->num == 0 || set_find(h, r->set) < 0 ||
		    memchr(r->pathptrn, '\0', sizeof(r->pathptrn)) == NULL ||
		    ((r->iacts & DRA_INCSET) && set_find(h, r->incset) < 0))
			return 0;
		for (int j = 0; j < i; j++)
			if (d->rule[j].set == r->set && d->rule[j].num == r->num)
				return 0;
	}
	if (nsets != d->nsets || nrules != d->nrules)
		return 0;
	if (h->mnt.n > JM_MNT_MAX)
		return 0;
	for (uint32_t i = 0; i < h->mnt.n; i++) {
		const struct jm_mount *m = &h->mnt.m[i];

		if (strncmp(m->fstype, "devfs", sizeof(m->fstype)) != 0)
			continue;
		if (m->ruleset < 0 || m->ruleset > JM_RULESET_MAX ||
		    (m->ruleset != 0 && set_find(h, m->ruleset) < 0) || !nodes_valid(&m->nodes))
			return 0;
	}
	return 1;
}

/* ---- DEVFSIO_* (devfs_rules_ioctl) --------------------------------------- */

/* The model's struct jm_devfs_rule from a request's (its id resolved). */
static void
rule_from_user(struct jm_devfs_rule *r, const struct jailmodel_devfs_rule *u, int set, int num)
{
	memset(r, 0, sizeof(*r));
	r->set = (uint16_t)set;
	r->num = (uint16_t)num;
	r->icond = u->dr_icond;
	r->dswflags = u->dr_dswflags;
	r->iacts = u->dr_iacts;
	r->bacts = u->dr_bacts;
	r->uid = u->dr_uid;
	r->gid = u->dr_gid;
	r->mode = u->dr_mode;
	r->incset = u->dr_incset;
	/* An unterminated pattern is cut at its last byte. */
	memcpy(r->pathptrn, u->dr_pathptrn, sizeof(r->pathptrn) - 1);
}

static void
rule_to_user(struct jailmodel_devfs_rule *u, const struct jm_devfs_rule *r)
{
	memset(u, 0, sizeof(*u));
	u->dr_magic = JAILMODEL_DEVFS_MAGIC;
	u->dr_id = (unsigned int)r->set << 16 | r->num;
	u->dr_icond = r->icond;
	u->dr_dswflags = r->dswflags;
	memcpy(u->dr_pathptrn, r->pathptrn, sizeof(u->dr_pathptrn));
	u->dr_pathptrn[sizeof(u->dr_pathptrn) - 1] = '\0';
	u->dr_iacts = r->iacts;
	u->dr_bacts = r->bacts;
	u->dr_uid = r->uid;
	u->dr_gid = r->gid;
	u->dr_mode = r->mode;
	u->dr_incset = r->incset;
}

/* devfs_rid_input: ruleset 0 in an id is the mount's active ruleset. */
static unsigned int
rid_input(unsigned int id, int cur)
{
	if ((id >> 16) == 0)
		id = (unsigned int)cur << 16 | (id & 0xffff);
	return id;
}

static int
devfs_ioctl(struct jm_host *h, int mi, unsigned long request, void *data)
{
	struct jm_mount *m = &h->mnt.m[mi];
	int cur = m->ruleset, i;

	if (cur < 0 || cur > JM_RULESET_MAX || (cur != 0 && set_find(h, cur) < 0)) {
		jm_broken();
		return EIO;
	}
	switch (request) {
	case JAILMODEL_DEVFSIO_RADD:
	case JAILMODEL_DEVFSIO_RAPPLY:
	case JAILMODEL_DEVFSIO_RGETNEXT: {
		struct jailmodel_devfs_rule u;
		struct jm_devfs_rule r;
		unsigned int id;
		int err;

		memcpy(&u, data, sizeof(u));
		if (u.dr_magic != JAILMODEL_DEVFS_MAGIC)
			return ERPCMISMATCH;
		id = rid_input(u.dr_id, cur);
		rule_from_user(&r, &u, (int)(id >> 16), (int)(id & 0xffff));
		if (request == JAILMODEL_DEVFSIO_RGETNEXT) {
			if (set_find(h, (int)(id >> 16)) < 0 ||
			    (i = rule_next(h, (int)(id >> 16), (int)(id & 0xffff))) < 0)
				return ENOENT;
			rule_to_user(&u, &h->mnt.devfs.rule[i]);
			memcpy(data, &u, sizeof(u));
			return 0;
		}
		if (request == JAILMODEL_DEVFSIO_RAPPLY) {
			if ((r.iacts & DRA_INCSET) && set_find(h, r.incset) < 0)
				return ESRCH;
			apply_rule(h, &m->nodes, &r);
			return 0;
		}
		if (rule_find(h, r.set, r.num) >= 0)
			return EEXIST;
		if (r.set == 0)
			return EIO;
		if ((err = rule_insert(h, &r)) != 0)
			return err;
		/* The copy-out has the resolved ruleset, not the auto-number. */
		((struct jailmodel_devfs_rule *)data)->dr_id = id;
		return 0;
	}
	case JAILMODEL_DEVFSIO_RDEL:
	case JAILMODEL_DEVFSIO_RAPPLYID: {
		unsigned int id;

		memcpy(&id, data, sizeof(id));
		id = rid_input(id, cur);
		if ((i = rule_find(h, (int)(id >> 16), (int)(id & 0xffff))) < 0)
			return ENOENT;
		if (request == JAILMODEL_DEVFSIO_RDEL)
			rule_delete(h, i);
		else {
			struct jm_devfs_rule r = h->mnt.devfs.rule[i];

			apply_rule(h, &m->nodes, &r);
		}
		return 0;
	}
	case JAILMODEL_DEVFSIO_SUSE: {
		uint16_t rs;

		memcpy(&rs, data, sizeof(rs));
		jm_save(h, &m->ruleset, sizeof(m->ruleset));
		if (cur != 0) {
			jm_devfs_ruleset_unref(h, cur);
			m->ruleset = 0;
		}
		if (rs != 0) {
			if ((i = set_get(h, rs)) < 0)
				return ENOSPC;
			set_ref(h, i, 1);
			m->ruleset = rs;
		}
		return 0;
	}
	case JAILMODEL_DEVFSIO_SAPPLY: {
		uint16_t rs;

		memcpy(&rs, data, sizeof(rs));
		if (rs == 0)
			rs = (uint16_t)cur;
		if (set_find(h, rs) < 0)
			return ESRCH;
		jm_devfs_apply_ruleset(h, &m->nodes, rs);
		return 0;
	}
	case JAILMODEL_DEVFSIO_SGETNEXT: {
		uint16_t rs;
		int best = 0;

		memcpy(&rs, data, sizeof(rs));
		for (i = 0; i < JM_DEVFS_MAXSETS; i++) {
			int n = h->mnt.devfs.set[i].num;

			if (n > rs && (best == 0 || n < best))
				best = n;
		}
		if (best == 0)
			return ENOENT;
		rs = (uint16_t)best;
		memcpy(data, &rs, sizeof(rs));
		return 0;
	}
	default:
		return ENOTTY;
	}
}

int
jm_devfs_ioctl(int fd, unsigned long request, void *data)
{
	struct jm_host *h;
	int err = 0, mi;

	if ((h = jm_lock()) == NULL)
		return -1;
	/* The request reaches devfs_rules_ioctl, and its PRIV_DEVFS_RULE check
	 * (the host's superuser only), through the ioctl of a devfs directory
	 * (devfs_rioctl): on any other file it is ENOTTY, whoever asks. */
	if ((mi = jm_mnt_devfs_at(h, fd)) < 0 || mi >= JM_MNT_MAX)
		err = ENOTTY;
	else if (!jm_caller_is_root() || jm_caller_prison(h) != 0)
		err = EPERM;
	else if (data == NULL)
		err = EFAULT;
	else {
		jm_change_begin(h);
		err = devfs_ioctl(h, mi, request, data);
		if (err != 0 && h->undo.active)
			jm_change_abort(h);
	}
	return jm_unlock_ret(h, err);
}

int
jailmodel_devfs_nodes(int fd, struct jailmodel_devfs_node *out, int n)
{
	struct jm_host *h;
	int err = 0, mi, total = 0;

	if (n < 0 || (n > 0 && out == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	if ((mi = jm_mnt_devfs_at(h, fd)) < 0 || mi >= JM_MNT_MAX)
		err = ENOTTY;
	else {
		const struct jm_devfs_nodes *nodes = &h->mnt.m[mi].nodes;

		for (int i = 0; i < JM_DEVFS_NDEV; i++) {
			const struct jm_devfs_node *d = &nodes->node[i];
			int p = dev_parent(i);

			if (d->hidden || (p >= 0 && nodes->node[p].hidden))
				continue;
			if (total < n) {
				struct jailmodel_devfs_node *o = &out[total];

				memset(o, 0, sizeof(*o));
				strncpy(o->name, jm_devfs_devs[i].name, sizeof(o->name) - 1);
				o->mode = jm_devfs_devs[i].type | (d->mode & 07777u);
				o->uid = d->uid;
				o->gid = d->gid;
			}
			total++;
		}
	}
	if (jm_unlock(h) != 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return total;
}

int
jailmodel_devfs_load_defaults(void)
{
	struct jm_host *h;
	int err = 0;

	if ((h = jm_lock()) == NULL)
		return -1;
	if (!jm_control_allowed(h))
		err = EPERM;
	else {
		jm_change_begin(h);
		err = load_defaults(h);
		if (err != 0 && h->undo.active)
			jm_change_abort(h);
	}
	return jm_unlock_ret(h, err);
}
