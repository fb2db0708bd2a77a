/*
 * state_file_fuzzer.c: libFuzzer over the kernel model's state files, which are
 * untrusted input (another process or user may have written them).
 *
 * The harness makes one state file at start-up: a host with a few jails
 * (addresses, meta) and a change left half done by a process killed in the
 * middle of it, so that the file's robust lock is owner-dead and its undo log
 * active.  Each input is a list of patches to that file (the header, the
 * globals, the first prisons, the tables, the heap's bookkeeping and first
 * blocks, the undo log); the harness writes them into the file, opens it
 * (jailmodel_open: mapping and validation), and when it is accepted makes the
 * calls that roll the undo log back, list the jails, create, read and remove
 * one.  A hostile file must be refused or handled: never a crash, an
 * over-read or an overflow (ASan, UBSan).  Then the file is made whole again
 * from a copy of every byte an input or a call may have changed.
 *
 * A byte 0xff among the records splits the input in two: the records before
 * it are written before the file is opened, those after it once the file was
 * opened, validated and used by a first call, as another process writing the
 * file between two calls would (the calls that follow must refuse what it
 * wrote or handle it: jm_lock's O(1) check, the checks at each use).
 *
 * Input: records of  region (1 byte, not 0xff), offset (4 bytes,
 * little-endian), length (1 byte), bytes.  The lock itself is never patched:
 * the mutex's bytes are the C library's to trust, and a lock word said to be
 * held by a live process would only make the harness wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEPT 16
#define SPLIT 0xff /* records after it: written between two calls */ /* prisons, table entries, ... patched and restored */

struct region {
	size_t off, len;
};

/* What an input may patch (regions 0..) and what is restored after it. */
static struct region regions[12];
static size_t nregions;
static struct region keep[16];
static size_t nkeep;
static unsigned char *pristine[16];
static char path[4096];
static int trace;

static void
add(struct region *set, size_t *n, size_t off, size_t len)
{
	set[*n].off = off;
	set[*n].len = len;
	(*n)++;
}

static void
die(const char *what)
{
	fprintf(stderr, "state_file_fuzzer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int
create(const char *name, const char *ip, const char *meta)
{
	struct iovec iov[10];
	int n = 0;
	char persist[] = "persist";

	iov[n].iov_base = (void *)"name";
	iov[n++].iov_len = 5;
	iov[n].iov_base = (void *)name;
	iov[n++].iov_len = strlen(name) + 1;
	iov[n].iov_base = persist;
	iov[n++].iov_len = sizeof(persist);
	iov[n].iov_base = NULL;
	iov[n++].iov_len = 0;
	if (ip != NULL) {
		iov[n].iov_base = (void *)"ip4.addr";
		iov[n++].iov_len = 9;
		iov[n].iov_base = (void *)ip;
		iov[n++].iov_len = 4;
	}
	if (meta != NULL) {
		iov[n].iov_base = (void *)"meta";
		iov[n++].iov_len = 5;
		iov[n].iov_base = (void *)meta;
		iov[n++].iov_len = strlen(meta) + 1;
	}
	return jailmodel_jail_set(iov, (unsigned int)n, JM_JAIL_CREATE);
}

/* The host every input starts from. */
static void
make_host(void)
{
	const char *tmp = getenv("TMPDIR");
	unsigned char a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2};
	pid_t pid;
	int status, fd;

	snprintf(path, sizeof(path), "%s/state-fuzz-%ld", tmp != NULL ? tmp : "/tmp",
	    (long)getpid());
	unlink(path);
	if (jailmodel_open(path) != 0)
		die("jailmodel_open");
	if (create("web", (const char *)a, "owner=ops\nrole=www") < 0 ||
	    create("db", (const char *)b, NULL) < 0 || create("web.cache", NULL, "k=v") < 0)
		die("creating the jails");
	/* A change left half done: a child killed in the middle of a jail_set. */
	pid = fork();
	if (pid == -1)
		die("fork");
	if (pid == 0) {
		jailmodel_test_crash_at(1);
		(void)create("half", NULL, "x=y");
		_exit(3); /* not reached: the crash point kills the child */
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
		die("the half-done change");
	if (jailmodel_open(NULL) != 0) /* the file is no longer this process's host */
		die("jailmodel_open(NULL)");
	if ((fd = open(path, O_RDONLY)) == -1)
		die(path);
	for (size_t i = 0; i < nkeep; i++) {
		pristine[i] = malloc(keep[i].len);
		if (pristine[i] == NULL ||
		    pread(fd, pristine[i], keep[i].len, (off_t)keep[i].off) != (ssize_t)keep[i].len)
			die("reading the host");
	}
	close(fd);
}

static void
restore(int fd)
{
	for (size_t i = 0; i < nkeep; i++)
		if (pwrite(fd, pristine[i], keep[i].len, (off_t)keep[i].off) != (ssize_t)keep[i].len)
			die("restoring the host");
}

static void
layout(void)
{
	size_t pr = offsetof(struct jm_host, prisons);
	size_t heap = offsetof(struct jm_host, heap);
	size_t undo = offsetof(struct jm_host, undo);
	size_t lock_end = offsetof(struct jm_host, lock) + sizeof(pthread_mutex_t);

	/* Patched: never the lock. */
	add(regions, &nregions, 0, offsetof(struct jm_host, lock));
	add(regions, &nregions, lock_end, pr + NKEPT * sizeof(struct jm_prison) - lock_end);
	add(regions, &nregions, offsetof(struct jm_host, procs), NKEPT * sizeof(struct jm_proc));
	add(regions, &nregions, offsetof(struct jm_host, byjid), NKEPT * sizeof(int32_t));
	add(regions, &nregions, offsetof(struct jm_host, pending), NKEPT * sizeof(int32_t));
	add(regions, &nregions, offsetof(struct jm_host, slot_used), 2 * sizeof(uint64_t));
	add(regions, &nregions, offsetof(struct jm_host, hc), heap - offsetof(struct jm_host, hc) + 4096);
	add(regions, &nregions, undo, offsetof(struct jm_undo, arena) + 65536);
	/* The host side's tables (after the others, so that the seeds'
	 * region numbers keep their meaning): the first interfaces, the mount
	 * table's header and first mounts, the devfs ruleset registry. */
	add(regions, &nregions, offsetof(struct jm_host, net), 4 * sizeof(struct jm_if) + 64);
	add(regions, &nregions, offsetof(struct jm_host, mnt),
	    offsetof(struct jm_mnt, m) + 4 * sizeof(struct jm_mount));
	add(regions, &nregions, offsetof(struct jm_host, mnt.devfs), sizeof(struct jm_devfs));
	/* Restored: all that, the lock, and what the calls touch besides. */
	add(keep, &nkeep, 0, pr + NKEPT * sizeof(struct jm_prison));
	add(keep, &nkeep, offsetof(struct jm_host, procs), NKEPT * sizeof(struct jm_proc));
	add(keep, &nkeep, offsetof(struct jm_host, byjid), NKEPT * sizeof(int32_t));
	add(keep, &nkeep, offsetof(struct jm_host, pending), NKEPT * sizeof(int32_t));
	add(keep, &nkeep, offsetof(struct jm_host, slot_used), 2 * sizeof(uint64_t));
	add(keep, &nkeep, offsetof(struct jm_host, cpuset_used), 2 * sizeof(uint64_t));
	add(keep, &nkeep, offsetof(struct jm_host, undo_mark), NKEPT * sizeof(uint32_t));
	add(keep, &nkeep, offsetof(struct jm_host, hc), heap - offsetof(struct jm_host, hc) + 65536);
	add(keep, &nkeep, undo, offsetof(struct jm_undo, arena) + (1u << 20));
	add(keep, &nkeep, offsetof(struct jm_host, net), sizeof(struct jm_net));
	add(keep, &nkeep, offsetof(struct jm_host, mnt), sizeof(struct jm_mnt));
}

/* Write the records of data[*at..] into the file, up to the end or a SPLIT
 * byte (consumed). */
static void
patch(int fd, const uint8_t *data, size_t size, size_t *at)
{
	size_t i = *at;

	while (i + 6 <= size) {
		const struct region *rg = &regions[data[i] % nregions];
		uint32_t off = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8 |
		    (uint32_t)data[i + 3] << 16 | (uint32_t)data[i + 4] << 24;
		size_t len = data[i + 5];

		if (data[i] == SPLIT) {
			i++;
			break;
		}
		i += 6;
		if (len > size - i)
			len = size - i;
		if (len > rg->len)
			len = rg->len;
		off %= (uint32_t)(rg->len - len + 1);
		if (trace)
			fprintf(stderr, "patch %zu bytes at %zu\n", len, rg->off + off);
		if (pwrite(fd, data + i, len, (off_t)(rg->off + off)) != (ssize_t)len)
			die("patching the host");
		i += len;
	}
	*at = i;
}

/* The calls an accepted host gets: the first takes the lock (rolling back
 * the half-done change); then the records after the split are written into
 * the mapped file, as by another process; then a listing, a create, a read
 * and a remove.  A call that finds the host changed into an invalid state
 * fails with EINVAL, and so do all after it. */
static void
use_host(int fd, const uint8_t *data, size_t size, size_t *at)
{
	char name[256], errmsg[256];
	int lastjid = 0, jid;
	struct iovec iov[6];

	(void)jailmodel_current_jid();
	if (*at < size) {
		patch(fd, data, size, at);
		if (trace)
			fprintf(stderr, "patched between calls\n");
	}

	for (int i = 0; i < 32; i++) {
		iov[0].iov_base = (void *)"lastjid";
		iov[0].iov_len = 8;
		iov[1].iov_base = &lastjid;
		iov[1].iov_len = sizeof(lastjid);
		iov[2].iov_base = (void *)"name";
		iov[2].iov_len = 5;
		iov[3].iov_base = name;
		iov[3].iov_len = sizeof(name);
		iov[4].iov_base = (void *)"errmsg";
		iov[4].iov_len = 7;
		iov[5].iov_base = errmsg;
		iov[5].iov_len = sizeof(errmsg);
		if ((jid = jailmodel_jail_get(iov, 6, 0)) < 0) {
			if (jailmodel_host_error() != NULL && errno != EINVAL)
				abort(); /* a refused host fails every call with EINVAL */
			break;
		}
		lastjid = jid;
	}
	jid = create("fuzz", NULL, "a=b");
	if (jid > 0)
		(void)jailmodel_jail_remove(jid);
	(void)jailmodel_kldload("tmpfs");
	/* The host side reads every table the patches reach. */
	{
		struct jailmodel_statfs sf[8];
		struct jailmodel_ifaddrs *ifa;
		char tmp[] = "/tmp";

		(void)jailmodel_getfsstat(NULL, 0, 2);
		(void)jailmodel_getfsstat(sf, (long)sizeof(sf), 2);
		if (jailmodel_getifaddrs(&ifa) == 0)
			jailmodel_freeifaddrs(ifa);
		(void)jailmodel_unmount(tmp, 0);
	}
	if (trace && jailmodel_host_error() != NULL)
		fprintf(stderr, "refused between calls: %s\n", jailmodel_host_error());
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	setenv("JAILCORE_MODEL_STATE", JM_STATE_PRIVATE, 1);
	layout();
	make_host();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(path, O_RDWR);
	size_t i = 0;

	if (fd == -1)
		die(path);
	patch(fd, data, size, &i);
	if (jailmodel_open(path) == 0) {
		if (trace)
			fprintf(stderr, "accepted\n");
		use_host(fd, data, size, &i);
		if (jailmodel_open(NULL) != 0)
			die("jailmodel_open(NULL)");
	} else if (trace) {
		fprintf(stderr, "refused: %s\n", jailmodel_open_error());
	}
	restore(fd);
	close(fd);
	return 0;
}
