/*
 * mount.c: the model's mount table: nmount(2), unmount(2), getfsstat(2).
 *
 * Facts from FreeBSD's sys/kern/vfs_mount.c (sys_nmount, vfs_donmount,
 * vfs_domount, vfs_domount_first, vfs_filteropt, sys_unmount, dounmount,
 * vfs_suser), sys/kern/vfs_syscalls.c (kern_getfsstat), sys/kern/kern_jail.c
 * (prison_priv_check for PRIV_VFS_MOUNT, prison_canseemount,
 * prison_enforce_statfs) and the file systems' own mount routines
 * (sys/fs/devfs/devfs_vfsops.c devfs_mount, fdescfs, pseudofs for procfs,
 * nullfs, tmpfs); see shared/spec/freebsd-jail-host.md section C.
 *
 * The model records mounts and nothing else: on Linux no file system is
 * mounted, the mount point stays the directory it was.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

/* sys/mount.h */
#define JM_MNT_RDONLY 0x1ull
#define JM_MNT_SYNCHRONOUS 0x2ull
#define JM_MNT_NOEXEC 0x4ull
#define JM_MNT_NOSUID 0x8ull
#define JM_MNT_UNION 0x20ull
#define JM_MNT_ASYNC 0x40ull
#define JM_MNT_LOCAL 0x1000ull
#define JM_MNT_ROOTFS 0x4000ull
#define JM_MNT_UPDATE 0x10000ull
#define JM_MNT_RELOAD 0x40000ull
#define JM_MNT_FORCE 0x80000ull
#define JM_MNT_SUIDDIR 0x100000ull
#define JM_MNT_NOSYMFOLLOW 0x400000ull
#define JM_MNT_MULTILABEL 0x4000000ull
#define JM_MNT_BYFSID 0x8000000ull
#define JM_MNT_NOATIME 0x10000000ull
#define JM_MNT_NOCLUSTERR 0x40000000ull
#define JM_MNT_NOCLUSTERW 0x80000000ull
#define JM_MNT_AUTOMOUNTED 0x200000000ull
/* What a mount keeps of the flags it was asked for (MNT_UPDATEMASK and
 * MNT_RDONLY of vfs_domount_first). */
#define JM_MNT_KEPT                                                                      \
	(JM_MNT_RDONLY | JM_MNT_SYNCHRONOUS | JM_MNT_NOEXEC | JM_MNT_NOSUID | JM_MNT_UNION | \
	 JM_MNT_ASYNC | JM_MNT_SUIDDIR | JM_MNT_NOSYMFOLLOW | JM_MNT_MULTILABEL |             \
	 JM_MNT_NOATIME | JM_MNT_NOCLUSTERR | JM_MNT_NOCLUSTERW | JM_MNT_AUTOMOUNTED)

#define JM_STATFS_VERSION 0x20140518u /* STATFS_VERSION */
#define JM_MNAMELEN_MAX JM_MNAMELEN

/* The options every file system takes (global_opts of vfs_mount.c). */
static const char *const jm_global_opts[] = {"errmsg", "fstype", "fspath", "ro",
                                             "rw", "nosuid", "noexec", NULL};

/* The file systems the model knows, with the options each accepts (NULL:
 * its mount routine does not filter its options), the module that provides
 * it (-1: built in), and its type number (f_type; the model's own). */
struct jm_fs {
	const char *name;
	int module;
	uint64_t local; /* MNT_LOCAL when the fs sets it */
	const char *const *opts;
};

static const char *const jm_devfs_opts[] = {"from", "export", "ruleset", NULL};
static const char *const jm_tmpfs_opts[] = {"from", "easize", "size", "maxfilesize",
                                            "inodes", "uid", "gid", "mode", "export",
                                            "union", "nonc", "nomtime", "nosymfollow",
                                            "pgread", NULL};
static const char *const jm_fdescfs_opts[] = {"from", "linrdlnk", "nodup", NULL};

static const struct jm_fs jm_fses[] = {
	{"ufs", -1, JM_MNT_LOCAL, NULL},
	{"devfs", -1, 0, jm_devfs_opts},
	{"fdescfs", JM_MOD_FDESCFS, 0, jm_fdescfs_opts},
	{"nullfs", JM_MOD_NULLFS, JM_MNT_LOCAL, NULL},
	{"procfs", JM_MOD_PROCFS, JM_MNT_LOCAL, NULL},
	{"tmpfs", JM_MOD_TMPFS, JM_MNT_LOCAL, jm_tmpfs_opts},
};

static int
jm_fs_index(const char *name)
{
	for (size_t i = 0; i < JM_ARRAY_LEN(jm_fses); i++)
		if (strcmp(jm_fses[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- the table ---------------------------------------------------------- */

static void
jm_mount_record(struct jm_mount *m, const char *fstype, const char *fspath, const char *from,
                uint64_t flags, const struct stat *st, uint32_t fsid)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->fstype, sizeof(m->fstype), "%s", fstype);
	snprintf(m->fspath, sizeof(m->fspath), "%s", fspath);
	snprintf(m->from, sizeof(m->from), "%s", from);
	m->flags = flags;
	if (st != NULL) {
		m->dev = (uint64_t)st->st_dev;
		m->ino = (uint64_t)st->st_ino;
	}
	m->fsid[0] = (int32_t)fsid;
	m->fsid[1] = jm_fs_index(fstype) + 1;
}

/* A fresh host has FreeBSD's root file system and the devfs on /dev that
 * the kernel mounts at boot (no ruleset: rc.d/devfs gives the host's /dev
 * none), and the default rulesets loaded. */
void
jm_mnt_init(struct jm_host *h)
{
	struct jm_mnt *t = &h->mnt;
	struct stat st;

	memset(t, 0, offsetof(struct jm_mnt, devfs));
	t->next_fsid = 1;
	jm_mount_record(&t->m[0], "ufs", "/", "/dev/ada0p2", JM_MNT_LOCAL | JM_MNT_ROOTFS,
	                stat("/", &st) == 0 ? &st : NULL, t->next_fsid++);
	jm_mount_record(&t->m[1], "devfs", "/dev", "devfs", 0,
	                stat("/dev", &st) == 0 && S_ISDIR(st.st_mode) ? &st : NULL,
	                t->next_fsid++);
	jm_devfs_init(h);
	jm_devfs_populate(h, &t->m[1].nodes, 0);
	t->n = 2;
}

/* The worst change, an unmount of the first of a full table, is saved
 * whole in the undo log. */
_Static_assert(sizeof(struct jm_mnt) < JM_UNDO_ARENA / 4, "the undo log has room for the table");

static int
jm_str_in(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
jm_mount_entry_valid(const struct jm_host *h, const struct jm_mount *m)
{
	JM_UNUSED(h);
	return jm_str_in(m->fstype, sizeof(m->fstype)) && jm_str_in(m->fspath, sizeof(m->fspath)) &&
	       jm_str_in(m->from, sizeof(m->from)) && m->fspath[0] == '/' &&
	       m->ruleset >= 0 && m->ruleset <= 65535 && m->prison >= 0 &&
	       m->prison < JM_MAXPRISONS;
}

int
jm_mnt_core_valid(const struct jm_host *h)
{
	return h->mnt.n <= JM_MNT_MAX && jm_devfs_core_valid(h);
}

int
jm_mnt_valid(const struct jm_host *h)
{
	if (!jm_mnt_core_valid(h))
		return 0;
	for (uint32_t i = 0; i < h->mnt.n; i++)
		if (!jm_mount_entry_valid(h, &h->mnt.m[i]))
			return 0;
	return jm_devfs_valid(h);
}

/* Mounts outlive the jail that made them, as on FreeBSD (jail(8) unmounts
 * them); the entry's prison no longer names a live prison once its gen
 * moves on. */
void
jm_mnt_prison_freed(struct jm_host *h, int slot)
{
	JM_UNUSED(h), JM_UNUSED(slot);
}

/* Entry i, checked (another process may have written it since the lock). */
static struct jm_mount *
jm_mount_at(struct jm_host *h, uint32_t i)
{
	struct jm_mount *m = &h->mnt.m[i];

	if (!jm_mount_entry_valid(h, m)) {
		jm_broken();
		return NULL;
	}
	return m;
}

/* Whether prison `slot` (the caller's) is the mount's prison or one of its
 * ancestors: the mount was made in the caller's jail or below it. */
static int
jm_mount_within(const struct jm_host *h, const struct jm_mount *m, int slot)
{
	int p = m->prison;

	if (!jm_slot_ok(h, p) || h->prisons[p].gen != m->prison_gen)
		return slot == 0 && m->prison == 0;
	return p == slot || jm_is_descendant(h, p, slot);
}

/* The number of the mount that holds global path `path`: the last one in
 * mount order whose mount point is the path or one of its parents. */
static int
jm_mount_holding(struct jm_host *h, const char *path)
{
	int best = -1;
	size_t bestlen = 0;

	for (uint32_t i = 0; i < h->mnt.n; i++) {
		const struct jm_mount *m = jm_mount_at(h, i);
		size_t l;

		if (m == NULL)
			return -1;
		l = strcmp(m->fspath, "/") == 0 ? 0 : strlen(m->fspath);
		if (strncmp(path, m->fspath, l) == 0 && (path[l] == '/' || path[l] == '\0') &&
		    (best < 0 || l >= bestlen)) {
			best = (int)i;
			bestlen = l;
		}
	}
	return best;
}

/* ---- privilege and paths ------------------------------------------------- */

/* priv_check(PRIV_VFS_MOUNT) (and UNMOUNT): root; in a jail, root with
 * allow.mount and enforce_statfs below 2 (prison_priv_check). */
static int
jm_mount_priv(const struct jm_host *h, int mypr)
{
	const struct jm_prison *pr = &h->prisons[mypr];

	if (!jm_caller_is_root())
		return EPERM;
	if (mypr != 0 && (!(pr->allow & JM_PR_ALLOW_MOUNT) || pr->enforce_statfs >= 2))
		return EPERM;
	return 0;
}

/* A path as the caller gives it -> the global path (the caller's root
 * before it), following symbolic links as namei(FOLLOW) does; its stat in
 * *st.  An error of the lookup, or ENAMETOOLONG. */
static int
jm_global_path(const struct jm_host *h, int mypr, const char *path, char *out, size_t outsize,
               struct stat *st)
{
	char real[PATH_MAX];
	const char *mine = jm_root(h, mypr);
	size_t ml = strcmp(mine, "/") == 0 ? 0 : strlen(mine);

	if (path[0] == '\0')
		return ENOENT;
	if (realpath(path, real) == NULL)
		return errno;
	if (stat(real, st) == -1)
		return errno;
	if (ml + strlen(real) >= outsize)
		return ENAMETOOLONG;
	memcpy(out, mine, ml);
	strcpy(out + ml, ml > 0 && strcmp(real, "/") == 0 ? "" : real);
	if (out[0] == '\0')
		strcpy(out, "/");
	return 0;
}

/* ---- nmount(2) ------------------------------------------------------------ */

/* The flag options vfs_donmount turns into MNT_* bits. */
static const struct {
	const char *name;
	uint64_t set, clear;
} jm_flag_opts[] = {
	{"async", JM_MNT_ASYNC, 0},        {"noasync", 0, JM_MNT_ASYNC},
	{"noatime", JM_MNT_NOATIME, 0},    {"noclusterr", JM_MNT_NOCLUSTERR, 0},
	{"noclusterw", JM_MNT_NOCLUSTERW, 0}, {"noexec", JM_MNT_NOEXEC, 0},
	{"nosuid", JM_MNT_NOSUID, 0},      {"nosymfollow", JM_MNT_NOSYMFOLLOW, 0},
	{"noro", 0, JM_MNT_RDONLY},        {"rw", 0, JM_MNT_RDONLY},
	{"ro", JM_MNT_RDONLY, 0},          {"rdonly", JM_MNT_RDONLY, 0},
	{"suiddir", JM_MNT_SUIDDIR, 0},    {"sync", JM_MNT_SYNCHRONOUS, 0},
	{"union", JM_MNT_UNION, 0},        {"multilabel", JM_MNT_MULTILABEL, 0},
	{"update", JM_MNT_UPDATE, 0},      {"force", JM_MNT_FORCE, 0},
	{"reload", JM_MNT_RELOAD, 0},      {"automounted", JM_MNT_AUTOMOUNTED, 0},
	{"exec", 0, JM_MNT_NOEXEC},        {"suid", 0, JM_MNT_NOSUID},
	{"symfollow", 0, JM_MNT_NOSYMFOLLOW},
};

/* The names vfs_donmount gives the positive forms before the file system
 * sees them ("exec" becomes "nonoexec", which vfs_filteropt takes as the
 * global "noexec" with its "no"). */
static const char *
jm_opt_alias(const char *name)
{
	static const char *const alias[][2] = {
	    {"atime", "nonoatime"},         {"clusterr", "nonoclusterr"},
	    {"clusterw", "nonoclusterw"},   {"exec", "nonoexec"},
	    {"suid", "nonosuid"},           {"symfollow", "nonosymfollow"},
	    {"rdonly", "ro"},
	};

	for (size_t i = 0; i < JM_ARRAY_LEN(alias); i++)
		if (strcmp(alias[i][0], name) == 0)
			return alias[i][1];
	return name;
}

/* Options consumed by vfs_donmount itself (freed from the list there). */
static int
jm_opt_consumed(const char *name)
{
	return strcmp(name, "update") == 0 || strcmp(name, "force") == 0 ||
	       strcmp(name, "reload") == 0 || strcmp(name, "autoro") == 0 ||
	       strcmp(name, "automounted") == 0;
}

/* vfs_filteropt: every live option is global or the file system's (with or
 * without "no"); else EINVAL and "mount option <NAME> is unknown" (the
 * last unknown one). */
static int
jm_filteropt(struct jm_opts *o, const char *const *legal)
{
	const char *bad = NULL;

	for (int i = 0; i < o->n; i++) {
		const char *p = jm_opt_alias(o->opt[i].name), *q;
		const char *const *lists[2] = {jm_global_opts, legal};
		int ok = 0;

		if (o->opt[i].dead || jm_opt_consumed(p))
			continue;
		q = (p[0] == 'n' && p[1] == 'o') ? p + 2 : NULL;
		for (int l = 0; l < 2 && !ok; l++)
			for (const char *const *t = lists[l]; *t != NULL && !ok; t++)
				ok = strcmp(*t, p) == 0 || (q != NULL && strcmp(*t, q) == 0);
		if (!ok)
			bad = p;
	}
	if (bad == NULL)
		return 0;
	jm_opt_error(o, "mount option <%s> is unknown", bad);
	return EINVAL;
}

/* A NUL-terminated string option, or NULL: vfs_getopts. */
static const char *
jm_opt_string(struct jm_opts *o, const char *name, int *err)
{
	struct jm_opt *op = jm_opt_find(o, name);

	*err = 0;
	if (op == NULL) {
		*err = ENOENT;
		return NULL;
	}
	if (op->len == 0 || ((char *)op->value)[op->len - 1] != '\0') {
		*err = EINVAL;
		return NULL;
	}
	return op->value;
}

/* devfs_mount: the ruleset option (vfs_scanopt "%d": an integer, which
 * sscanf reads from the start of the text), checks for a jailed caller. */
static int
jm_devfs_ruleset_opt(struct jm_host *h, struct jm_opts *o, int mypr, int *rs)
{
	struct jm_opt *op = jm_opt_find(o, "ruleset");
	int v = 0;

	*rs = 0;
	if (op != NULL) {
		char buf[64];
		size_t n = op->len < sizeof(buf) - 1 ? op->len : sizeof(buf) - 1;
		int ok = 0;

		if (op->len > 0 && ((char *)op->value)[op->len - 1] == '\0') {
			memcpy(buf, op->value, n);
			buf[n] = '\0';
			ok = sscanf(buf, "%d", &v) == 1;
		}
		if (!ok || v < 0 || v > 65535) {
			jm_opt_error(o, "%s", "invalid ruleset specification");
			return EINVAL;
		}
		if (mypr != 0 && v != 0 && v != h->prisons[mypr].devfs_ruleset)
			return EPERM;
	}
	/* A jail's devfs gets the jail's ruleset, whatever was asked. */
	*rs = mypr != 0 ? h->prisons[mypr].devfs_ruleset : v;
	return 0;
}

/* The file system's own mount routine for a new mount: its options, and
 * what goes into f_mntfromname. */
static int
jm_fs_mount(struct jm_host *h, struct jm_opts *o, int fs, int mypr, const char *fspath,
            char *from, size_t fromsize, int *rs)
{
	const struct jm_fs *f = &jm_fses[fs];
	const char *s;
	int err;

	*rs = 0;
	if (f->opts != NULL && (err = jm_filteropt(o, f->opts)) != 0)
		return err;
	if (jm_opt_find(o, "export") != NULL && f->opts == jm_devfs_opts)
		return EOPNOTSUPP;
	if (f->opts == jm_devfs_opts) {
		if ((err = jm_devfs_ruleset_opt(h, o, mypr, rs)) != 0)
			return err;
		snprintf(from, fromsize, "%s", "devfs");
		return 0;
	}
	if (strcmp(f->name, "nullfs") == 0) {
		char target[JM_MNAMELEN];
		struct stat st;

		s = jm_opt_string(o, "from", &err);
		if (s == NULL)
			s = jm_opt_string(o, "target", &err);
		if (s == NULL)
			return EINVAL;
		if ((err = jm_global_path(h, mypr, s, target, sizeof(target), &st)) != 0)
			return err;
		if (strcmp(target, fspath) == 0)
			return EDEADLK;
		snprintf(from, fromsize, "%s", s);
		return 0;
	}
	/* tmpfs shows its "from"; fdescfs and procfs (pseudofs) their own
	 * name, whatever was passed (vfs_mountedfrom). */
	s = strcmp(f->name, "tmpfs") == 0 ? jm_opt_string(o, "from", &err) : NULL;
	snprintf(from, fromsize, "%s", s != NULL ? s : f->name);
	return 0;
}

static int
jm_nmount_locked(struct jm_host *h, struct jm_opts *o, uint64_t flags)
{
	const char *fstype, *fspath;
	struct jm_opt *op;
	char gpath[JM_MNAMELEN], from[JM_MNAMELEN];
	struct stat st;
	int mypr, fs, rs, err, id;
	struct jm_mount *m;

	op = jm_opt_find(o, "fstype");
	if (op == NULL || op->len == 0 || ((char *)op->value)[op->len - 1] != '\0') {
		jm_opt_error(o, "%s", "Invalid fstype");
		return EINVAL;
	}
	fstype = op->value;
	op = jm_opt_find(o, "fspath");
	if (op == NULL || op->len == 0 || ((char *)op->value)[op->len - 1] != '\0') {
		jm_opt_error(o, "%s", "Invalid fspath");
		return EINVAL;
	}
	fspath = op->value;
	for (int i = 0; i < o->n; i++)
		for (size_t k = 0; k < JM_ARRAY_LEN(jm_flag_opts); k++)
			if (!o->opt[i].dead && strcmp(o->opt[i].name, jm_flag_opts[k].name) == 0)
				flags = (flags | jm_flag_opts[k].set) & ~jm_flag_opts[k].clear;
	if (strlen(fstype) >= JM_MFSNAMELEN || strlen(fspath) >= JM_MNAMELEN)
		return ENAMETOOLONG;
	mypr = jm_caller_prison(h);
	if ((err = jm_mount_priv(h, mypr)) != 0)
		return err;
	if (flags & JM_MNT_UPDATE) {
		/* vfs_domount_update: the mount whose root fspath names. */
		if ((err = jm_global_path(h, mypr, fspath, gpath, sizeof(gpath), &st)) != 0)
			return err;
		for (int i = (int)h->mnt.n - 1; i >= 0; i--) {
			if ((m = jm_mount_at(h, (uint32_t)i)) == NULL)
				return EINVAL;
			if (strcmp(m->fspath, gpath) != 0)
				continue;
			if (mypr != 0 && !jm_mount_within(h, m, mypr))
				return EPERM;
			fs = jm_fs_index(m->fstype);
			if (fs < 0)
				return EOPNOTSUPP;
			if (strcmp(m->fstype, "devfs") != 0) {
				/* The model changes the flags only. */
				jm_save(h, &m->flags, sizeof(m->flags));
				m->flags = (m->flags & ~JM_MNT_KEPT) | (flags & JM_MNT_KEPT) |
				    jm_fses[fs].local | (m->flags & JM_MNT_ROOTFS);
				return 0;
			}
			if (jm_fses[fs].opts != NULL && (err = jm_filteropt(o, jm_fses[fs].opts)) != 0)
				return err;
			if ((err = jm_devfs_ruleset_opt(h, o, mypr, &rs)) != 0)
				return err;
			if (rs != 0 && rs != m->ruleset) {
				if ((err = jm_devfs_ruleset_ref(h, rs)) != 0)
					return err;
				jm_devfs_ruleset_unref(h, m->ruleset);
				jm_save(h, &m->ruleset, sizeof(m->ruleset));
				m->ruleset = rs;
			}
			if (rs != 0)
				jm_devfs_apply_ruleset(h, &m->nodes, rs);
			return 0;
		}
		/* The path is not a mount's root (VV_ROOT unset). */
		return jm_opt_find(o, "export") != NULL ? EXDEV : EINVAL;
	}
	fs = jm_fs_index(fstype);
	if (fs < 0)
		return ENODEV;
	if (jm_fses[fs].module >= 0 && h->g.module_fileid[jm_fses[fs].module] == 0) {
		/* vfs_byname_kld loads the module when the caller may. */
		if (!jm_control_allowed(h))
			return ENODEV;
		if (jm_module_load(h, jm_fses[fs].module, &id) != 0)
			return ENODEV;
	}
	if ((err = jm_global_path(h, mypr, fspath, gpath, sizeof(gpath), &st)) != 0)
		return err;
	if (mypr != 0) {
		uint64_t bit = JM_PR_ALLOW_MOUNT_DEVFS;

		if (jm_fses[fs].module >= 0 && !jm_module_allow_bit(jm_fses[fs].module, &bit))
			bit = 0;
		if (jm_fses[fs].module < 0 && strcmp(fstype, "devfs") != 0)
			bit = 0;
		if ((h->prisons[mypr].allow & bit) == 0)
			return EPERM;
	}
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	if (h->mnt.n >= JM_MNT_MAX)
		return ENOMEM;
	if ((err = jm_fs_mount(h, o, fs, mypr, gpath, from, sizeof(from), &rs)) != 0)
		return err;
	if (rs != 0 && (err = jm_devfs_ruleset_ref(h, rs)) != 0)
		return err;
	jm_save(h, &h->mnt, offsetof(struct jm_mnt, m));
	m = &h->mnt.m[h->mnt.n];
	jm_save(h, m, sizeof(*m));
	jm_mount_record(m, fstype, gpath, from, (flags & JM_MNT_KEPT) | jm_fses[fs].local, &st,
	                h->mnt.next_fsid++);
	m->prison = mypr;
	m->prison_gen = h->prisons[mypr].gen;
	m->owner = (uint32_t)geteuid();
	m->ruleset = rs;
	if (strcmp(fstype, "devfs") == 0)
		jm_devfs_populate(h, &m->nodes, rs);
	h->mnt.n++;
	jm_crash_point(3);
	return 0;
}

int
jailmodel_nmount(struct iovec *iov, unsigned int niov, int flags)
{
	struct jm_host *h;
	struct jm_opts *o;
	int err;

	/* MNT_ROOTFS is the kernel's own; an even count of at least 4. */
	if ((o = jm_opts_new(iov, niov, 4)) == NULL)
		return -1;
	if ((err = jm_opts_build(o, iov, niov)) != 0) {
		jm_opts_free(o);
		free(o);
		errno = err;
		return -1;
	}
	if ((h = jm_lock()) == NULL) {
		jm_opts_free(o);
		free(o);
		return -1;
	}
	/* A module loaded on the way stays loaded when the mount then fails,
	 * as vfs_byname_kld's does; nothing else is changed before a check. */
	err = jm_nmount_locked(h, o, (uint64_t)(unsigned int)flags & ~JM_MNT_ROOTFS);
	if (o->n > 0)
		jm_opts_copyout(o, iov, niov, 0);
	if (jm_unlock(h) != 0)
		err = EINVAL;
	jm_opts_free(o);
	free(o);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- unmount(2) ----------------------------------------------------------- */

static int
jm_unmount_locked(struct jm_host *h, const char *path, int flags)
{
	int mypr = jm_caller_prison(h), err, idx = -1;
	struct jm_mount *m;
	char gpath[JM_MNAMELEN];

	if ((err = jm_mount_priv(h, mypr)) != 0)
		return err;
	if (path == NULL)
		return EFAULT;
	if (strnlen(path, JM_MNAMELEN) >= JM_MNAMELEN)
		return ENAMETOOLONG;
	if ((unsigned int)flags & JM_MNT_BYFSID) {
		int id0, id1;

		if (sscanf(path, "FSID:%d:%d", &id0, &id1) != 2)
			return EINVAL;
		for (int i = (int)h->mnt.n - 1; i >= 0 && idx < 0; i--) {
			if ((m = jm_mount_at(h, (uint32_t)i)) == NULL)
				return EINVAL;
			if (m->fsid[0] == id0 && m->fsid[1] == id1)
				idx = i;
		}
		if (idx < 0)
			return ENOENT;
	} else {
		struct stat st;

		/* The path's global form when it resolves, else the text as
		 * given (sys_unmount compares it with f_mntonname either way). */
		if (jm_global_path(h, mypr, path, gpath, sizeof(gpath), &st) != 0)
			snprintf(gpath, sizeof(gpath), "%s", path);
		for (int i = (int)h->mnt.n - 1; i >= 0 && idx < 0; i--) {
			if ((m = jm_mount_at(h, (uint32_t)i)) == NULL)
				return EINVAL;
			if (strcmp(m->fspath, gpath) == 0)
				idx = i;
		}
		if (idx < 0)
			return EINVAL;
	}
	m = &h->mnt.m[idx];
	if (m->flags & JM_MNT_ROOTFS)
		return EINVAL;
	/* vfs_suser: a jail unmounts only what was mounted in it or below. */
	if (mypr != 0 && !jm_mount_within(h, m, mypr))
		return EPERM;
	/* A mount covered by a later one, or holding one beneath its mount
	 * point, is busy: the model's answer for FreeBSD's vnodes in use
	 * (VFS_UNMOUNT's vflush), forced or not. */
	for (uint32_t i = (uint32_t)idx + 1; i < h->mnt.n; i++) {
		const struct jm_mount *n = jm_mount_at(h, i);
		size_t l = strcmp(m->fspath, "/") == 0 ? 0 : strlen(m->fspath);

		if (n == NULL)
			return EINVAL;
		if (strncmp(n->fspath, m->fspath, l) == 0 &&
		    (n->fspath[l] == '/' || n->fspath[l] == '\0'))
			return EBUSY;
	}
	if (strcmp(m->fstype, "devfs") == 0)
		jm_devfs_ruleset_unref(h, m->ruleset);
	jm_save(h, &h->mnt, offsetof(struct jm_mnt, m));
	jm_save(h, &h->mnt.m[idx], sizeof(h->mnt.m[0]) * (h->mnt.n - (uint32_t)idx));
	memmove(&h->mnt.m[idx], &h->mnt.m[idx + 1],
	        sizeof(h->mnt.m[0]) * (h->mnt.n - (uint32_t)idx - 1));
	h->mnt.n--;
	memset(&h->mnt.m[h->mnt.n], 0, sizeof(h->mnt.m[0]));
	jm_crash_point(4);
	return 0;
}

int
jailmodel_unmount(const char *path, int flags)
{
	struct jm_host *h = jm_lock();
	int err;

	if (h == NULL)
		return -1;
	err = jm_unmount_locked(h, path, flags);
	return jm_unlock_ret(h, err);
}

/* ---- getfsstat(2) ----------------------------------------------------------- */

/* prison_canseemount and prison_enforce_statfs: whether a caller in prison
 * `mypr` sees mount m, and the mount point it is shown. */
static int
jm_mount_view(const struct jm_host *h, int mypr, int rootmount, int i, const struct jm_mount *m,
              char *on, size_t onsize)
{
	const struct jm_prison *pr = &h->prisons[mypr];
	const char *root = jm_root(h, mypr);
	size_t l = strlen(root);

	if (mypr == 0 || pr->enforce_statfs == 0) {
		snprintf(on, onsize, "%s", m->fspath);
		return 1;
	}
	if (i == rootmount) {
		snprintf(on, onsize, "%s", "/");
		return 1;
	}
	if (pr->enforce_statfs >= 2)
		return 0;
	if (strcmp(root, "/") == 0) {
		snprintf(on, onsize, "%s", m->fspath);
		return 1;
	}
	if (strncmp(root, m->fspath, l) != 0 || (m->fspath[l] != '\0' && m->fspath[l] != '/'))
		return 0;
	snprintf(on, onsize, "%s", m->fspath[l] == '\0' ? "/" : m->fspath + l);
	return 1;
}

int
jailmodel_getfsstat(struct jailmodel_statfs *buf, long bufsize, int mode)
{
	struct jm_host *h = jm_lock();
	long max = buf == NULL || bufsize <= 0 ? 0 : bufsize / (long)sizeof(*buf);
	int mypr, rootmount, count = 0, err = 0, priv;

	JM_UNUSED(mode);
	if (h == NULL)
		return -1;
	mypr = jm_caller_prison(h);
	priv = jm_caller_is_root();
	rootmount = mypr != 0 ? jm_mount_holding(h, jm_root(h, mypr)) : -1;
	for (uint32_t i = 0; i < h->mnt.n; i++) {
		const struct jm_mount *m = jm_mount_at(h, i);
		struct jailmodel_statfs sf;

		if (m == NULL)
			break;
		memset(&sf, 0, sizeof(sf));
		if (!jm_mount_view(h, mypr, rootmount, (int)i, m, sf.f_mntonname,
		                   sizeof(sf.f_mntonname)))
			continue;
		if (buf != NULL && count < max) {
			sf.f_version = JM_STATFS_VERSION;
			sf.f_type = (unsigned int)(jm_fs_index(m->fstype) + 1);
			sf.f_flags = m->flags;
			sf.f_bsize = 4096;
			sf.f_iosize = 65536;
			sf.f_namemax = 255;
			sf.f_owner = m->owner;
			/* kern_getfsstat hides the file system id from the
			 * unprivileged (PRIV_VFS_GENERATION). */
			if (priv) {
				sf.f_fsid[0] = m->fsid[0];
				sf.f_fsid[1] = m->fsid[1];
			}
			snprintf(sf.f_fstypename, sizeof(sf.f_fstypename), "%s", m->fstype);
			snprintf(sf.f_mntfromname, sizeof(sf.f_mntfromname), "%s", m->from);
			/* Copied out like copyout(9): a bad buffer faults. */
			memcpy(&buf[count], &sf, sizeof(sf));
		}
		count++;
	}
	if (buf != NULL && count > max)
		count = (int)max;
	if (jm_unlock(h) != 0)
		err = EINVAL;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return count;
}

/* ---- for the devfs ioctls ------------------------------------------------- */

int
jm_mnt_devfs_at(struct jm_host *h, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode))
		return -1;
	for (int i = (int)h->mnt.n - 1; i >= 0; i--) {
		const struct jm_mount *m = jm_mount_at(h, (uint32_t)i);

		if (m == NULL)
			return -1;
		if (strcmp(m->fstype, "devfs") == 0 && m->dev == (uint64_t)st.st_dev &&
		    m->ino == (uint64_t)st.st_ino)
			return i;
	}
	return -1;
}
