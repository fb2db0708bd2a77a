/*
 * desc.c: jail descriptors (FreeBSD 15) as real file descriptors.
 *
 * Each jail that has handed out a descriptor has a small file in the host's
 * descriptor directory; a descriptor is an open file of it, whose contents
 * name the jail (slot, generation, host epoch).  An owning descriptor holds
 * a shared flock(2) on its open file: once every descriptor sharing that
 * open file is closed, in every process, the lock is gone, and the model's
 * next call finds it so and removes the jail.
 */
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
	uint64_t host; /* identifies the host: its magic mixed with its dir */
};

static int
jm_desc_dir(struct jm_host *h)
{
	char dir[JM_MAXPATHLEN];
	const char *state = jailmodel_state_path();
	const char *tmp = getenv("TMPDIR");

	if (h->descdir[0] != '\0')
		return 0;
	if (state != NULL) {
		if (snprintf(dir, sizeof(dir), "%s.jd", state) >= (int)sizeof(dir))
			return ENAMETOOLONG;
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return errno;
	} else {
		if (snprintf(dir, sizeof(dir), "%s/jailmodel-jd-XXXXXX",
		             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp") >= (int)sizeof(dir))
			return ENAMETOOLONG;
		if (mkdtemp(dir) == NULL)
			return errno;
	}
	jm_save(h, h->descdir, sizeof(h->descdir));
	strcpy(h->descdir, dir);
	return 0;
}

static int
jm_desc_path(const struct jm_host *h, int slot, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/jail-%u", h->descdir, h->prisons[slot].desc_serial);

	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

int
jm_desc_new(struct jm_host *h, int slot, int owning)
{
	struct jm_prison *pr = &h->prisons[slot];
	char path[JM_MAXPATHLEN + 32];
	struct jm_desc_rec rec;
	int fd, err;

	if ((err = jm_desc_dir(h)) != 0) {
		errno = err;
		return -1;
	}
	if (pr->desc_serial == 0) {
		jm_save_prison(h, slot);
		jm_save_globals(h);
		pr->desc_serial = ++h->g.next_desc_serial;
		if ((err = jm_desc_path(h, slot, path, sizeof(path))) != 0) {
			errno = err;
			return -1;
		}
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd == -1)
			return -1;
		memset(&rec, 0, sizeof(rec));
		rec.magic = JM_DESC_MAGIC;
		rec.slot = slot;
		rec.gen = pr->gen;
		rec.epoch = h->epoch;
		if (pwrite(fd, &rec, sizeof(rec), 0) != (ssize_t)sizeof(rec)) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		close(fd);
	}
	if ((err = jm_desc_path(h, slot, path, sizeof(path))) != 0) {
		errno = err;
		return -1;
	}
	fd = open(path, (owning ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (owning) {
		if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (!pr->owned) {
			jm_save_prison(h, slot);
			jm_save_globals(h);
			pr->owned = 1;
			h->g.nowned++;
		}
	}
	return fd;
}

int
jm_desc_lookup(struct jm_host *h, int fd, int *slot, const char **msg)
{
	struct jm_desc_rec rec;
	struct stat fst, pst;
	char path[JM_MAXPATHLEN + 32];
	const struct jm_prison *pr;

	*msg = "not a jail descriptor";
	if (fd < 0 || fstat(fd, &fst) == -1)
		return EBADF;
	if (!S_ISREG(fst.st_mode) || fst.st_size != (off_t)sizeof(rec) ||
	    pread(fd, &rec, sizeof(rec), 0) != (ssize_t)sizeof(rec) || rec.magic != JM_DESC_MAGIC ||
	    rec.slot <= 0 || rec.slot >= JM_MAXPRISONS)
		return EBADF;
	pr = &h->prisons[rec.slot];
	if (rec.epoch != h->epoch || !pr->used || pr->gen != rec.gen || pr->desc_serial == 0) {
		*msg = "descriptor to dead jail";
		return ENOENT;
	}
	if (jm_desc_path(h, rec.slot, path, sizeof(path)) != 0 || stat(path, &pst) == -1 ||
	    pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino) {
		*msg = "not a jail descriptor";
		return EBADF;
	}
	*msg = NULL;
	*slot = rec.slot;
	return 0;
}

int
jm_desc_owners_gone(struct jm_host *h, int slot)
{
	char path[JM_MAXPATHLEN + 32];
	int fd, gone;

	if (jm_desc_path(h, slot, path, sizeof(path)) != 0)
		return 1;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd == -1)
		return 1;
	gone = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return gone;
}

void
jm_desc_forget(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];
	char path[JM_MAXPATHLEN + 32];

	if (pr->desc_serial == 0)
		return;
	if (jm_desc_path(h, slot, path, sizeof(path)) == 0)
		unlink(path);
	jm_save_prison(h, slot);
	if (pr->owned) {
		jm_save_globals(h);
		h->g.nowned--;
	}
	pr->owned = 0;
	pr->desc_serial = 0;
}
