/*
 * desc.c: jail descriptors (FreeBSD 15) as real file descriptors.
 *
 * Each jail that has handed out a descriptor has a small file in the host's
 * descriptor directory; a descriptor is an open file of it, whose contents
 * name the jail (slot, generation, host epoch).  Each JAIL_OWN_DESC call
 * makes a file of its own (jail-N.oK) and holds a shared flock(2) on its open
 * file: once every descriptor sharing that open file is closed (dup'd copies,
 * forked children), the lock is gone, and the model's next call finds it so
 * and removes the jail, as closing any one owning file does in FreeBSD
 * (kern_jaildesc.c, jaildesc_close: prison_remove for an S_ISTXT file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "tree.h"

#define JM_DESC_MAGIC 0x4a4d4a44u /* "JMJD" */

struct jm_desc_rec {
	uint32_t magic;
	int32_t slot;
	uint32_t gen;
	uint32_t epoch;
	uint32_t owner; /* K of an owning file jail-N.oK, 0: the shared file */
	uint32_t priv;  /* the opener held PRIV_JAIL_SET (the file's credential) */
};

/*
 * The descriptor directory.  Its location never comes from the state file,
 * which another user may have written: beside a state file it is
 * STATEFILE.jd, derived by each process from the path it opened; a private
 * (anonymous) host, whose memory only its own process tree can write, keeps
 * the path of the jailmodel-jd-XXXXXX directory that its first user made
 * with mkdtemp(3) under $TMPDIR, removed when that process exits.  Either
 * way the directory is adopted only when it is a real directory (not a
 * symlink: ELOOP; not a directory: ENOTDIR) owned by the caller or root with
 * no access for group or others (EPERM otherwise), checked with lstat before
 * and fstat after an O_DIRECTORY|O_NOFOLLOW open of it (same dev/ino), and
 * every file in it is opened relative to that descriptor with O_NOFOLLOW.
 * The directory descriptor is opened for each call and closed before it
 * returns: a process keeps no directory open (which jail_attach refuses,
 * and which would leak into jails through fork).
 */

static char jm_dd_tmp[JM_MAXPATHLEN]; /* the mkdtemp dir this process made */
static pid_t jm_dd_tmp_pid;

static void
jm_dd_cleanup(void)
{
	DIR *d;
	struct dirent *e;
	int fd;

	if (jm_dd_tmp[0] == '\0' || getpid() != jm_dd_tmp_pid)
		return;
	fd = open(jm_dd_tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 && (d = fdopendir(fd)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, "jail-", 5) == 0)
				(void)unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	} else if (fd != -1) {
		close(fd);
	}
	(void)rmdir(jm_dd_tmp);
	jm_dd_tmp[0] = '\0';
}

/* Whether the directory with this stat may be adopted: 0 or the errno. */
static int
jm_dd_check(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return ELOOP;
	if (!S_ISDIR(st->st_mode))
		return ENOTDIR;
	if ((st->st_uid != geteuid() && st->st_uid != 0) || (st->st_mode & 077) != 0)
		return EPERM;
	return 0;
}

/* Open the directory `dir` safely (see above): its fd, or -1 with errno. */
static int
jm_dd_open(const char *dir)
{
	struct stat lst, fst;
	int fd, err;

	if (lstat(dir, &lst) == -1)
		return -1;
	if ((err = jm_dd_check(&lst)) != 0) {
		errno = err;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &fst) == -1 || (err = jm_dd_check(&fst)) != 0 ||
	    fst.st_dev != lst.st_dev || fst.st_ino != lst.st_ino) {
		err = err != 0 ? err : EPERM;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* The descriptor directory of host h, made if needed: its fd in *dfd (the
 * caller closes it), or the errno. */
int
jm_desc_dir(struct jm_host *h, int *dfd)
{
	char dir[JM_MAXPATHLEN];
	const char *state = jailmodel_state_path();
	const char *tmp = getenv("TMPDIR");
	int fd;

	if (state != NULL) {
		if (snprintf(dir, sizeof(dir), "%s.jd", state) >= (int)sizeof(dir))
			return ENAMETOOLONG;
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return errno;
		/* Recorded for whoever inspects the file; never read back. */
		if (h->descdir[0] == '\0' && strlen(dir) < sizeof(h->descdir)) {
			jm_save(h, h->descdir, sizeof(h->descdir));
			strcpy(h->descdir, dir);
		}
	} else if (h->descdir[0] != '\0' && memchr(h->descdir, '\0', sizeof(h->descdir)) != NULL) {
		strcpy(dir, h->descdir);
	} else {
		if (snprintf(dir, sizeof(dir), "%s/jailmodel-jd-XXXXXX",
		             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp") >= (int)sizeof(dir))
			return ENAMETOOLONG;
		if (mkdtemp(dir) == NULL)
			return errno;
		if (jm_dd_tmp[0] == '\0') {
			static int registered;

			strcpy(jm_dd_tmp, dir);
			jm_dd_tmp_pid = getpid();
			if (!registered)
				registered = atexit(jm_dd_cleanup) == 0;
		}
		jm_save(h, h->descdir, sizeof(h->descdir));
		strcpy(h->descdir, dir);
	}
	if ((fd = jm_dd_open(dir)) == -1)
		return errno;
	*dfd = fd;
	return 0;
}

/* The owner value of the file shared by the descriptors made while the jail
 * was already dying (jail_get with JAIL_DYING): kern_jail_get attaches them
 * to the dying prison (jaildesc_set_prison) after prison_cleanup detached
 * the earlier ones, so they keep reaching it. */
#define JM_DESC_LATE 0xffffffffu

/* The name, in the descriptor directory, of the shared file of a jail
 * (owner 0), its owning file K, or its late file. */
static int
jm_desc_path(const struct jm_host *h, int slot, uint32_t owner, char *out, size_t size)
{
	unsigned serial = h->prisons[slot].desc_serial;
	int n = owner == 0 ? snprintf(out, size, "jail-%u", serial) :
	    owner == JM_DESC_LATE ? snprintf(out, size, "jail-%u.late", serial) :
	    snprintf(out, size, "jail-%u.o%u", serial, owner);

	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

/* Open an existing file of the directory for reading, never through a link. */
static int
jm_desc_open(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Create the file `path` of directory dfd holding the record of `slot`; its
 * open fd or -1.  Always a new file (O_EXCL, O_NOFOLLOW): one that must be
 * replaced (!excl) is unlinked first, so nothing planted there (a link to
 * another file) is ever written through. */
static int
jm_desc_create(struct jm_host *h, int dfd, int slot, uint32_t owner, const char *path, int excl)
{
	struct jm_desc_rec rec;
	int fd, err;

	if (!excl && unlinkat(dfd, path, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(dfd, path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	memset(&rec, 0, sizeof(rec));
	rec.magic = JM_DESC_MAGIC;
	rec.slot = slot;
	rec.gen = h->prisons[slot].gen;
	rec.epoch = h->epoch;
	rec.owner = owner;
	rec.priv = (uint32_t)jm_caller_privileged(h, jm_caller_prison(h));
	if (pwrite(fd, &rec, sizeof(rec), 0) != (ssize_t)sizeof(rec)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int
jm_desc_new_in(struct jm_host *h, int dfd, int slot, int owning)
{
	struct jm_prison *pr = &h->prisons[slot];
	char path[64];
	int fd, err;

	if (pr->desc_serial == 0) {
		jm_save_prison(h, slot);
		jm_save_globals(h);
		pr->desc_serial = ++h->g.next_desc_serial;
		if ((err = jm_desc_path(h, slot, 0, path, sizeof(path))) != 0) {
			errno = err;
			return -1;
		}
		if ((fd = jm_desc_create(h, dfd, slot, 0, path, 0)) == -1)
			return -1;
		close(fd);
	}
	if (pr->state != JM_PRISON_STATE_ALIVE) {
		/* Made for a dying jail: attached to it, owning or not (closing
		 * an owning one removes nothing: the jail is dying already). */
		if ((err = jm_desc_path(h, slot, JM_DESC_LATE, path, sizeof(path))) != 0) {
			errno = err;
			return -1;
		}
		fd = jm_desc_open(dfd, path);
		if (fd == -1 && errno == ENOENT &&
		    (fd = jm_desc_create(h, dfd, slot, JM_DESC_LATE, path, 1)) != -1) {
			close(fd);
			fd = jm_desc_open(dfd, path);
		}
		return fd;
	}
	if (!owning) {
		if ((err = jm_desc_path(h, slot, 0, path, sizeof(path))) != 0) {
			errno = err;
			return -1;
		}
		return jm_desc_open(dfd, path);
	}
	/* An owning file of its own: the first free K. */
	for (uint32_t k = 1;; k++) {
		if ((err = jm_desc_path(h, slot, k, path, sizeof(path))) != 0) {
			errno = err;
			return -1;
		}
		fd = jm_desc_create(h, dfd, slot, k, path, 1);
		if (fd != -1)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		err = errno;
		close(fd);
		unlinkat(dfd, path, 0);
		errno = err;
		return -1;
	}
	if (!pr->owned) {
		jm_save_prison(h, slot);
		jm_save_globals(h);
		pr->owned = 1;
		h->g.nowned++;
	}
	return fd;
}

int
jm_desc_new(struct jm_host *h, int slot, int owning)
{
	int dfd, fd, err;

	if ((err = jm_desc_dir(h, &dfd)) != 0) {
		errno = err;
		return -1;
	}
	fd = jm_desc_new_in(h, dfd, slot, owning);
	err = errno;
	close(dfd);
	/* Handed out without close-on-exec, as FreeBSD's are (kern_jaildesc.c,
	 * jaildesc_alloc: falloc_caps with no O_CLOEXEC); jailcore's seam sets
	 * the flag, and the model must not hide whether it does. */
	if (fd != -1)
		(void)fcntl(fd, F_SETFD, 0);
	errno = err;
	return fd;
}

int
jm_desc_lookup(struct jm_host *h, int fd, int *slot, const char **msg)
{
	struct jm_desc_rec rec;
	struct stat fst, pst;
	char path[64];
	const struct jm_prison *pr;
	int dfd, err;

	*msg = "not a jail descriptor";
	if (fd < 0 || fstat(fd, &fst) == -1)
		return EBADF;
	if (!S_ISREG(fst.st_mode) || fst.st_size != (off_t)sizeof(rec) ||
	    pread(fd, &rec, sizeof(rec), 0) != (ssize_t)sizeof(rec) || rec.magic != JM_DESC_MAGIC ||
	    rec.slot <= 0 || rec.slot >= JM_MAXPRISONS)
		return EBADF;
	pr = &h->prisons[rec.slot];
	/* A jail's descriptors are detached as soon as it starts dying
	 * (prison_cleanup -> jaildesc_prison_cleanup), so a dying jail is as
	 * dead as a freed one (jaildesc_find: ENOENT). */
	if (rec.epoch != h->epoch || !pr->used || pr->gen != rec.gen || pr->desc_serial == 0 ||
	    (pr->state != JM_PRISON_STATE_ALIVE && rec.owner != JM_DESC_LATE)) {
		*msg = "descriptor to dead jail";
		return ENOENT;
	}
	if (!jm_prison_check(h, rec.slot))
		return EINVAL;
	/* The open file must be the jail's file.  A process that cannot
	 * search the descriptor directory (one that dropped privileges after
	 * it got the descriptor) cannot compare: the file then counts as the
	 * jail's if one of the host's superusers made it. */
	*msg = "not a jail descriptor";
	if (jm_desc_path(h, rec.slot, rec.owner, path, sizeof(path)) != 0)
		return EBADF;
	if ((err = jm_desc_dir(h, &dfd)) == 0) {
		if (fstatat(dfd, path, &pst, AT_SYMLINK_NOFOLLOW) == -1)
			err = errno;
		close(dfd);
	}
	if (err != 0) {
		if (err != EACCES || (fst.st_uid != 0 && fst.st_uid != h->owner_uid))
			return EBADF;
	} else if (pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino) {
		return EBADF;
	}
	*msg = NULL;
	*slot = rec.slot;
	return 0;
}

/* Whether any owning file of the jail has been closed everywhere. */
int
jm_desc_owners_gone(struct jm_host *h, int slot)
{
	char path[64];
	int fd, dfd, gone = 0;

	if (jm_desc_dir(h, &dfd) != 0)
		return 1;
	for (uint32_t k = 1; !gone; k++) {
		if (jm_desc_path(h, slot, k, path, sizeof(path)) != 0) {
			gone = 1;
			break;
		}
		fd = jm_desc_open(dfd, path);
		if (fd == -1) {
			gone = k == 1 || errno != ENOENT;
			break;
		}
		gone = flock(fd, LOCK_EX | LOCK_NB) == 0;
		close(fd);
	}
	close(dfd);
	return gone;
}

void
jm_desc_forget(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];
	char path[64];
	int dfd;

	if (pr->desc_serial == 0)
		return;
	if (jm_desc_dir(h, &dfd) == 0) {
		if (jm_desc_path(h, slot, 0, path, sizeof(path)) == 0)
			unlinkat(dfd, path, 0);
		if (jm_desc_path(h, slot, JM_DESC_LATE, path, sizeof(path)) == 0)
			unlinkat(dfd, path, 0);
		for (uint32_t k = 1; jm_desc_path(h, slot, k, path, sizeof(path)) == 0; k++)
			if (unlinkat(dfd, path, 0) == -1 && errno == ENOENT)
				break;
		close(dfd);
	}
	jm_save_prison(h, slot);
	if (pr->owned) {
		jm_save_globals(h);
		h->g.nowned--;
	}
	pr->owned = 0;
	pr->desc_serial = 0;
}

/* Whether the credential of descriptor `fd` (its opener's) is privileged;
 * fd was accepted by jm_desc_lookup. */
int
jm_desc_cred_privileged(int fd)
{
	struct jm_desc_rec rec;

	return pread(fd, &rec, sizeof(rec), 0) == (ssize_t)sizeof(rec) && rec.priv != 0;
}

int
jm_desc_target(struct jm_host *h, int fd, int *slot, uint32_t *gen)
{
	const char *msg;
	int s, err = jm_desc_lookup(h, fd, &s, &msg);

	if (err == 0) {
		*slot = s;
		*gen = h->prisons[s].gen;
		return 0;
	}
	if (err == ENOENT) { /* a descriptor of a jail that is gone */
		*slot = -1;
		*gen = 0;
		return 0;
	}
	return err;
}
