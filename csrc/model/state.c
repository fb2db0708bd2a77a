/*
 * state.c: where the model's host lives, its lock, its undo log, and the
 * bookkeeping of processes and references that decides when a jail dies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

/* Linux reserves no swap for untouched pages of the 1 GiB host with
 * MAP_NORESERVE; FreeBSD has no such flag (mmap(2)) and never reserves. */
#ifdef MAP_NORESERVE
#define JM_NORESERVE MAP_NORESERVE
#else
#define JM_NORESERVE 0
#endif

static struct jm_host *jm_h;          /* this process's mapping */
static char jm_path[JM_MAXPATHLEN];   /* its state file, "" when anonymous */
/* Why the host this process chose could not be mapped ("" when it could):
 * the state file and the reason, for jailmodel_host_error(). */
static char jm_error[JM_MAXPATHLEN + 160];
static char jm_open_error[sizeof(jm_error)]; /* the last failed jailmodel_open() */
/* The mapped host was found corrupted after it was mapped (a roll-back left
 * it invalid): every call fails until another host is opened. */
static int jm_corrupt;
static pthread_mutex_t jm_map_lock = PTHREAD_MUTEX_INITIALIZER;

/* The jail this process attached to, inherited by fork(2) like the real
 * credential, so that a forked child is registered on its first call. */
static int jm_self_slot;
static uint32_t jm_self_gen;
static uint32_t jm_self_epoch;

const struct jm_module jm_modules[JM_NMODULES] = {
	[JM_MOD_SYSVMSG] = {"sysvmsg", "sysvmsg", 0},
	[JM_MOD_SYSVSEM] = {"sysvsem", "sysvsem", 0},
	[JM_MOD_SYSVSHM] = {"sysvshm", "sysvshm", 0},
	[JM_MOD_FDESCFS] = {"fdescfs", "allow.mount.fdescfs", 0x00001000u},
	[JM_MOD_NULLFS] = {"nullfs", "allow.mount.nullfs", 0x00002000u},
	[JM_MOD_PROCFS] = {"procfs", "allow.mount.procfs", 0x00004000u},
	[JM_MOD_TMPFS] = {"tmpfs", "allow.mount.tmpfs", 0x00800000u},
	[JM_MOD_ZFS] = {"zfs", "allow.mount.zfs", 0x01000000u},
};

/* ---- the mapping --------------------------------------------------------- */

static int
jm_init_lock(struct jm_host *h)
{
	pthread_mutexattr_t a;
	int r;

	if ((r = pthread_mutexattr_init(&a)) != 0)
		return r;
	r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (r == 0)
		r = pthread_mutex_init(&h->lock, &a);
	pthread_mutexattr_destroy(&a);
	return r;
}

/* First initialisation of zero-filled memory. */
static int
jm_host_create(struct jm_host *h)
{
	int r = jm_init_lock(h);

	if (r != 0)
		return r;
	h->layout = JM_LAYOUT;
	h->size = (uint32_t)sizeof(*h);
	h->owner_uid = (uint32_t)geteuid();
	jm_host_init(h);
	h->initialized = 1;
	__atomic_store_n(&h->magic, JM_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static struct jm_host *
jm_map_anonymous(void)
{
	struct jm_host *h;
	int r;

	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON | JM_NORESERVE,
	    -1, 0);
	if (h == MAP_FAILED) {
		r = errno;
		goto fail;
	}
	if ((r = jm_host_create(h)) != 0) {
		munmap(h, sizeof(*h));
		goto fail;
	}
	return h;
fail:
	snprintf(jm_error, sizeof(jm_error), "(a private host in memory): %s", strerror(r));
	errno = r;
	return NULL;
}

/* ---- the heap ------------------------------------------------------------ */

/* The header of the block at `off` if it lies inside the carved part of the
 * heap, is aligned, says `magic` and ends before the heap's end; else NULL.
 * Every offset read from the host goes through here before use. */
static const struct jm_blk *
jm_blk_check(const struct jm_host *h, uint32_t off, uint32_t magic)
{
	uint32_t brk = h->hc.brk;
	const struct jm_blk *b;

	if (brk > JM_HEAP_SIZE || off < JM_HEAP_FIRST || off % JM_HEAP_FIRST != 0 || off >= brk ||
	    brk - off < sizeof(*b))
		return NULL;
	b = (const struct jm_blk *)(h->heap + off);
	if (b->magic != magic || b->cls < JM_HEAP_MINCLS || b->cls > JM_HEAP_MAXCLS ||
	    brk - off < (1u << b->cls))
		return NULL;
	return b;
}

static struct jm_blk *
jm_blk_mut(struct jm_host *h, uint32_t off, uint32_t magic)
{
	return (struct jm_blk *)(uintptr_t)jm_blk_check(h, off, magic);
}

const void *
jm_store_get(const struct jm_host *h, int slot, int field, size_t *len)
{
	const struct jm_prison *pr = &h->prisons[slot];
	const struct jm_blk *b;

	*len = 0;
	if (pr->store[field] == 0)
		return NULL;
	b = jm_blk_check(h, pr->store[field], JM_BLK_USED);
	if (b == NULL || b->owner != jm_store_owner(slot, field) ||
	    pr->store_len[field] > (1u << b->cls) - sizeof(*b))
		return NULL;
	*len = pr->store_len[field];
	return b + 1;
}

const char *
jm_text(const struct jm_host *h, int slot, int field)
{
	size_t len;
	const char *p = jm_store_get(h, slot, field, &len);

	/* The NUL after the text must lie in its block too (jm_store_get
	 * bounds the text alone), and none may lie inside it. */
	if (p != NULL && len > 0 &&
	    len + 1 <= (1u << ((const struct jm_blk *)(const void *)p - 1)->cls) -
	                   sizeof(struct jm_blk) &&
	    p[len] == '\0' && memchr(p, '\0', len) == NULL)
		return p;
	jm_broken();
	return "";
}

const char *
jm_host_text(const struct jm_host *h, int slot, int field)
{
	return h->prisons[slot].store[field] == 0 ? "" : jm_text(h, slot, field);
}

int
jm_host_text_set(struct jm_host *h, int slot, int field, const char *text)
{
	return jm_store_set(h, slot, field, text, strlen(text), 1);
}

const uint8_t *
jm_ips(const struct jm_host *h, int slot, int v6, uint32_t *n)
{
	const struct jm_prison *pr = &h->prisons[slot];
	size_t len, esz = v6 ? 16 : 4;
	uint32_t count = v6 ? pr->ip6_count : pr->ip4_count;
	const uint8_t *ips = jm_store_get(h, slot, v6 ? JM_ST_IP6 : JM_ST_IP4, &len);

	*n = ips != NULL && len == (size_t)count * esz ? count : 0;
	return *n > 0 ? ips : NULL;
}

/* A block of at least `need` bytes, header included: from the free list of
 * its size, or carved from the rest of the heap; 0 when there is no room.
 * Only the words it changes are saved in the undo log: the bytes of a free
 * block or beyond the carved part are nobody's. */
static uint32_t jm_heap_limit = JM_HEAP_SIZE;

void
jailmodel_test_heap_limit(uint32_t bytes)
{
	jm_heap_limit = bytes == 0 || bytes > JM_HEAP_SIZE ? JM_HEAP_SIZE : bytes;
}

static uint32_t
jm_heap_alloc(struct jm_host *h, size_t need)
{
	uint32_t cls = JM_HEAP_MINCLS, off, i;
	struct jm_blk *b;

	while (cls <= JM_HEAP_MAXCLS && ((size_t)1 << cls) < need)
		cls++;
	if (cls > JM_HEAP_MAXCLS)
		return 0;
	i = cls - JM_HEAP_MINCLS;
	if ((off = h->hc.free[i]) != 0) {
		jm_save(h, &h->hc.free[i], sizeof(h->hc.free[i]));
		b = jm_blk_mut(h, off, JM_BLK_FREE);
		if (b != NULL && b->cls == cls) {
			jm_save(h, b, sizeof(*b));
			h->hc.free[i] = b->next;
			b->magic = JM_BLK_USED;
			b->next = 0;
			return off;
		}
		h->hc.free[i] = 0; /* a broken list: forget it */
	}
	off = h->hc.brk;
	if (off < JM_HEAP_FIRST || off > jm_heap_limit || jm_heap_limit - off < (1u << cls))
		return 0;
	jm_save(h, &h->hc.brk, sizeof(h->hc.brk));
	h->hc.brk = off + (1u << cls);
	b = (struct jm_blk *)(h->heap + off);
	b->magic = JM_BLK_USED;
	b->cls = cls;
	b->owner = 0;
	b->next = 0;
	return off;
}

/* Free a block of `owner`.  It goes on a limbo list, not to the free lists:
 * its bytes must stay as they are until the change is over, since a
 * rollback would make them a prison's again. */
static void
jm_heap_free(struct jm_host *h, uint32_t off, uint32_t owner)
{
	struct jm_blk *b = jm_blk_mut(h, off, JM_BLK_USED);
	uint32_t i;

	if (b == NULL || b->owner != owner)
		return; /* not a block of this prison's: leave it alone */
	i = b->cls - JM_HEAP_MINCLS;
	jm_save(h, b, sizeof(*b));
	jm_save(h, &h->hc.limbo[i], sizeof(h->hc.limbo[i]));
	jm_save(h, &h->hc.nlimbo, sizeof(h->hc.nlimbo));
	b->magic = JM_BLK_FREE;
	b->owner = 0;
	b->next = h->hc.limbo[i];
	h->hc.limbo[i] = off;
	h->hc.nlimbo++;
}

/* At the start of a change: what the last one freed becomes free. */
static void
jm_heap_settle(struct jm_host *h)
{
	if (h->hc.nlimbo == 0)
		return;
	for (uint32_t i = 0; i < JM_HEAP_NCLS; i++) {
		uint32_t head = h->hc.limbo[i], off = head, steps = 0;
		struct jm_blk *tail = NULL;

		if (head == 0)
			continue;
		while (off != 0) {
			struct jm_blk *b = jm_blk_mut(h, off, JM_BLK_FREE);

			if (b == NULL || b->cls != i + JM_HEAP_MINCLS || ++steps > h->hc.nlimbo) {
				tail = NULL; /* broken: drop the list */
				break;
			}
			tail = b;
			off = b->next;
		}
		if (tail != NULL) {
			jm_save(h, tail, sizeof(*tail));
			jm_save(h, &h->hc.free[i], sizeof(h->hc.free[i]));
			tail->next = h->hc.free[i];
			h->hc.free[i] = head;
		}
		jm_save(h, &h->hc.limbo[i], sizeof(h->hc.limbo[i]));
		h->hc.limbo[i] = 0;
	}
	jm_save(h, &h->hc.nlimbo, sizeof(h->hc.nlimbo));
	h->hc.nlimbo = 0;
}

/* Whether a stored list of a field holds two addresses or more. */
static int
jm_multi(int field, uint32_t len)
{
	return (field == JM_ST_IP4 && len > 4) || (field == JM_ST_IP6 && len > 16);
}

/* Keep g.nmulti as prison `slot`'s `field` becomes `len` bytes long. */
static void
jm_multi_count(struct jm_host *h, int slot, int field, size_t len)
{
	int was = jm_multi(field, h->prisons[slot].store_len[field]), is = jm_multi(field, (uint32_t)len);

	if (was == is)
		return;
	jm_save_globals(h);
	jm_count(&h->g.nmulti[field == JM_ST_IP6], is ? 1 : -1);
}

int
jm_store_set(struct jm_host *h, int slot, int field, const void *data, size_t len, int text)
{
	struct jm_prison *pr = &h->prisons[slot];
	uint32_t old = pr->store[field], off = 0, owner = jm_store_owner(slot, field);

	if (len > 0) {
		struct jm_blk *b;

		if (len > JM_HEAP_SIZE ||
		    (off = jm_heap_alloc(h, sizeof(*b) + len + (text != 0))) == 0)
			return ENOMEM;
		b = (struct jm_blk *)(h->heap + off);
		b->owner = owner;
		memcpy(b + 1, data, len);
		if (text)
			((char *)(b + 1))[len] = '\0';
	}
	jm_save_prison(h, slot);
	jm_multi_count(h, slot, field, len);
	pr->store[field] = off;
	pr->store_len[field] = (uint32_t)len;
	if (old != 0)
		jm_heap_free(h, old, owner);
	return 0;
}

void
jm_store_release(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];

	for (int f = 0; f < JM_NSTORE; f++) {
		if (pr->store[f] == 0)
			continue;
		jm_save_prison(h, slot);
		jm_multi_count(h, slot, f, 0);
		jm_heap_free(h, pr->store[f], jm_store_owner(slot, f));
		pr->store[f] = 0;
		pr->store_len[f] = 0;
	}
}

/* A prison's blocks, for jm_host_valid: each field has a block of its own
 * that holds what the prison says (and a text ends at its length). */
static int
jm_store_valid(const struct jm_host *h, int slot)
{
	const struct jm_prison *pr = &h->prisons[slot];

	for (int f = 0; f < JM_NSTORE; f++) {
		size_t len;
		const char *p = jm_store_get(h, slot, f, &len);

		if ((pr->store[f] == 0) != (pr->store_len[f] == 0) ||
		    (pr->store[f] != 0 && p == NULL))
			return 0;
		if (jm_store_text(f) && p != NULL &&
		    (len + 1 > (1u << ((const struct jm_blk *)p - 1)->cls) - sizeof(struct jm_blk) ||
		     p[len] != '\0' || memchr(p, '\0', len) != NULL))
			return 0;
	}
	return pr->store[JM_ST_PATH] != 0 && pr->store[JM_ST_ROOT] != 0 &&
	       pr->store_len[JM_ST_HOSTNAME] < JM_MAXHOSTNAMELEN &&
	       pr->store_len[JM_ST_DOMAINNAME] < JM_MAXHOSTNAMELEN &&
	       pr->store_len[JM_ST_HOSTUUID] < JM_HOSTUUIDLEN &&
	       pr->store_len[JM_ST_IP4] == (uint64_t)pr->ip4_count * 4 &&
	       pr->store_len[JM_ST_IP6] == (uint64_t)pr->ip6_count * 16;
}

/* The heap as a whole, for jm_host_valid: the blocks tile the carved part;
 * every used block is the one its owner points at, and every prison's block
 * is one of them; every free block is on exactly one list of its size, and
 * the lists hold nothing else (no cycle). */
static int
jm_heap_valid(const struct jm_host *h)
{
	const struct jm_globals *g = &h->g;
	uint32_t brk = h->hc.brk, nused = 0, nfree = 0, nlisted = 0, nlimbo = 0, nref = 0;
	uint64_t *bits;
	int ok = 1;

	if (brk < JM_HEAP_FIRST || brk > JM_HEAP_SIZE || brk % JM_HEAP_FIRST != 0)
		return 0;
	bits = calloc(brk / JM_HEAP_FIRST / 64 + 1, sizeof(*bits));
	if (bits == NULL)
		return 0;
	for (uint32_t off = JM_HEAP_FIRST; ok && off < brk;) {
		const struct jm_blk *b = jm_blk_check(h, off, JM_BLK_USED);

		if (b != NULL) {
			uint32_t o = b->owner - 1, slot = o / JM_NSTORE, f = o % JM_NSTORE;

			ok = b->owner != 0 && slot < (uint32_t)g->nprisons_hint &&
			     h->prisons[slot].used && h->prisons[slot].store[f] == off;
			nused++;
		} else if ((b = jm_blk_check(h, off, JM_BLK_FREE)) != NULL) {
			bits[off / JM_HEAP_FIRST / 64] |= (uint64_t)1 << (off / JM_HEAP_FIRST % 64);
			nfree++;
		} else {
			ok = 0;
			break;
		}
		off += 1u << b->cls;
	}
	for (int s = 0; ok && s < g->nprisons_hint; s++)
		for (int f = 0; h->prisons[s].used && f < JM_NSTORE; f++)
			nref += h->prisons[s].store[f] != 0;
	ok = ok && nref == nused;
	for (uint32_t i = 0; ok && i < 2 * JM_HEAP_NCLS; i++) {
		uint32_t off = i < JM_HEAP_NCLS ? h->hc.free[i] : h->hc.limbo[i - JM_HEAP_NCLS];

		while (ok && off != 0) {
			const struct jm_blk *b = jm_blk_check(h, off, JM_BLK_FREE);
			uint64_t bit = (uint64_t)1 << (off / JM_HEAP_FIRST % 64);

			if (b == NULL || b->cls != i % JM_HEAP_NCLS + JM_HEAP_MINCLS ||
			    !(bits[off / JM_HEAP_FIRST / 64] & bit)) {
				ok = 0;
				break;
			}
			bits[off / JM_HEAP_FIRST / 64] &= ~bit;
			nlisted++;
			nlimbo += i >= JM_HEAP_NCLS;
			off = b->next;
		}
	}
	free(bits);
	return ok && nlisted == nfree && nlimbo == h->hc.nlimbo;
}

/* The undo log of a change in progress: each record inside the arena, and
 * the bytes it would restore inside the host, after its header and lock (no
 * change saves those: a record over the lock would rewrite the robust mutex a
 * process holds, whose links the C library follows) and before the log. */
#define JM_UNDO_FIRST (offsetof(struct jm_host, lock) + sizeof(pthread_mutex_t))

static int
jm_undo_rec_next(const struct jm_undo *u, uint32_t *end, struct jm_undo_rec *rec)
{
	uint64_t need;

	if (*end < sizeof(*rec) || *end > sizeof(u->arena))
		return 0;
	memcpy(rec, u->arena + *end - sizeof(*rec), sizeof(*rec));
	need = ((uint64_t)rec->len + sizeof(*rec) + 7u) & ~(uint64_t)7u;
	if (need > *end || rec->offset < JM_UNDO_FIRST || rec->offset > offsetof(struct jm_host, undo) ||
	    rec->len > offsetof(struct jm_host, undo) - rec->offset)
		return 0;
	*end -= (uint32_t)need;
	return 1;
}

static int
jm_undo_valid(const struct jm_undo *u)
{
	uint32_t end = u->used;
	struct jm_undo_rec rec;

	if (!u->active)
		return 1;
	for (uint32_t i = 0; i < u->nrec; i++)
		if (!jm_undo_rec_next(u, &end, &rec))
			return 0;
	return 1;
}

static int
jm_str_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* What every call relies on, checked in O(1) at each jm_lock() (another
 * process may have written the file since this one last looked) and as the
 * first part of jm_host_valid(): the header, the globals within their
 * ranges and with room to step, the heap's end, the undo log's bounds, and
 * prison0. */
static int
jm_host_core_valid(const struct jm_host *h)
{
	const struct jm_globals *g = &h->g;

	if (h->magic != JM_MAGIC || h->layout != JM_LAYOUT || h->size != (uint32_t)sizeof(*h) ||
	    h->initialized != 1)
		return 0;
	if (g->version != 14 && g->version != 15)
		return 0;
	if (g->nprisons_hint < 1 || g->nprisons_hint > JM_MAXPRISONS ||
	    g->nprocs_hint < 0 || g->nprocs_hint > JM_MAXPROCS ||
	    g->nbyjid < 0 || g->nbyjid >= JM_MAXPRISONS ||
	    g->npending < 0 || g->npending > JM_MAXPRISONS ||
	    g->nowned < 0 || g->nowned > JM_MAXPRISONS)
		return 0;
	/* Counters the calls step: within their ranges, with room to step. */
	if (g->lastprid < 0 || g->lastprid > JM_JAIL_MAX || g->lastdeadid < 0 ||
	    g->lastdeadid > JM_JAIL_MAX || g->enforce_statfs < 0 || g->enforce_statfs > 2 ||
	    g->next_fileid < 2 || g->next_fileid > INT32_MAX - JM_NMODULES ||
	    g->next_desc_serial > UINT32_MAX - 1)
		return 0;
	for (int m = 0; m < JM_NMODULES; m++)
		if (g->module_fileid[m] < 0 || g->module_fileid[m] >= g->next_fileid)
			return 0;
	if (h->hc.brk < JM_HEAP_FIRST || h->hc.brk > JM_HEAP_SIZE ||
	    h->hc.brk % JM_HEAP_FIRST != 0 || h->hc.nlimbo > JM_HEAP_SIZE / JM_HEAP_FIRST)
		return 0;
	if (h->undo.active > 1 || h->undo.used > sizeof(h->undo.arena))
		return 0;
	return jm_str_ok(h->descdir, sizeof(h->descdir)) && h->prisons[0].used &&
	       h->prisons[0].parent == -1 && jm_net_core_valid(h) && jm_mnt_core_valid(h);
}

/* One prison, as the calls read it: its parent a prison in use (prison0's
 * -1), its state in range, its heap blocks its own, every string ended
 * within its field.  O(1): the cost of a call follows the prisons it
 * touches. */
static int
jm_prison_valid(const struct jm_host *h, int s)
{
	const struct jm_prison *pr = &h->prisons[s];

	return (s == 0 ? pr->parent == -1 : pr->parent != s && jm_slot_ok(h, pr->parent)) &&
	       pr->state >= JM_PRISON_STATE_INVALID && pr->state <= JM_PRISON_STATE_DYING &&
	       jm_str_ok(pr->name, sizeof(pr->name)) &&
	       jm_str_ok(pr->osrelease, sizeof(pr->osrelease)) && jm_store_valid(h, s);
}

/* The children lists, the name index and the counts of address lists: each
 * prison but prison0 on its parent's list once, and in the bucket of its
 * name once; nmulti as the prisons' lists say. */
static int
jm_lists_valid(const struct jm_host *h)
{
	const struct jm_globals *g = &h->g;
	int nused = 0, listed = 0, indexed = 0, multi[2] = {0, 0};

	for (int p = 0; p < g->nprisons_hint; p++) {
		const struct jm_prison *pp = &h->prisons[p];
		int prev = 0, c = pp->child_first;

		if (!pp->used) {
			if (pp->child_first || pp->child_last || pp->sib_next || pp->sib_prev ||
			    pp->name_next)
				return 0;
			continue;
		}
		nused++;
		multi[0] += jm_multi(JM_ST_IP4, pp->store_len[JM_ST_IP4]);
		multi[1] += jm_multi(JM_ST_IP6, pp->store_len[JM_ST_IP6]);
		for (; c != 0; prev = c, c = h->prisons[c].sib_next) {
			if (c <= 0 || c >= g->nprisons_hint || !h->prisons[c].used ||
			    h->prisons[c].parent != p || h->prisons[c].sib_prev != prev ||
			    ++listed > JM_MAXPRISONS)
				return 0;
		}
		if (pp->child_last != prev)
			return 0;
	}
	for (int b = 0; b < JM_NAMEHASH; b++) {
		for (int s = h->byname[b]; s != 0; s = h->prisons[s].name_next) {
			if (s <= 0 || s >= g->nprisons_hint || !h->prisons[s].used ||
			    jm_name_bucket(h->prisons[s].name) != (uint32_t)b ||
			    ++indexed > JM_MAXPRISONS)
				return 0;
		}
	}
	return listed == nused - 1 && indexed == nused - 1 && multi[0] == g->nmulti[0] &&
	       multi[1] == g->nmulti[1];
}

/* Whether a mapped file holds a host this model can trust: the tables within
 * their bounds, every index pointing at a prison in use, every string ended.
 * A corrupted or foreign file fails here and is refused (EINVAL).  O(host):
 * run when a file is mapped and after a roll-back, never per call. */
static int
jm_host_valid(const struct jm_host *h)
{
	const struct jm_globals *g = &h->g;

	if (!jm_host_core_valid(h) || !jm_undo_valid(&h->undo))
		return 0;
	for (int s = 0; s < g->nprisons_hint; s++) {
		const struct jm_prison *pr = &h->prisons[s];

		if (!pr->used)
			continue;
		if (!jm_prison_valid(h, s))
			return 0;
		/* The parent chain ends at prison0 (no cycle). */
		for (int a = pr->parent, depth = 0; a > 0; a = h->prisons[a].parent)
			if (++depth > JM_MAXPRISONS || !jm_slot_ok(h, a))
				return 0;
	}
	for (int i = 0; i < g->nbyjid; i++) {
		int s = h->byjid[i];

		if (s <= 0 || !jm_slot_ok(h, s) ||
		    (i > 0 && h->prisons[h->byjid[i - 1]].jid >= h->prisons[s].jid))
			return 0;
	}
	if (!jm_lists_valid(h))
		return 0;
	for (int i = 0; i < g->npending; i++)
		if (h->pending[i] < 0 || h->pending[i] >= JM_MAXPRISONS)
			return 0;
	for (int i = 0; i < g->nprocs_hint; i++)
		if (h->procs[i].pid < 0 || (h->procs[i].pid != 0 &&
		    (h->procs[i].prison < 0 || h->procs[i].prison >= g->nprisons_hint)))
			return 0;
	return jm_heap_valid(h) && jm_net_valid(h) && jm_mnt_valid(h);
}

/* ---- checks at each use, during a call ------------------------------------ */

/* Set when a call finds the host invalid (an index, a chain or a string that
 * another process changed since the call's jm_lock): the call goes on with
 * harmless values, and jm_unlock() undoes it and fails it. */
static __thread int jm_call_broken;

void
jm_broken(void)
{
	jm_call_broken = 1;
}

int
jm_prison_check(const struct jm_host *h, int s)
{
	if (jm_slot_ok(h, s) && jm_prison_valid(h, s))
		return 1;
	jm_broken();
	return 0;
}

int
jm_parent_slot(const struct jm_host *h, int s)
{
	int p;

	if (s <= 0 || s >= JM_MAXPRISONS)
		return -1;
	p = h->prisons[s].parent;
	if (p == s || !jm_slot_ok(h, p)) {
		jm_broken();
		return 0;
	}
	return p;
}

int
jm_parent(const struct jm_host *h, int s)
{
	int p = jm_parent_slot(h, s);

	return p < 0 || jm_prison_check(h, p) ? p : 0;
}

static void
jm_set_error(const char *path, const char *why)
{
	snprintf(jm_error, sizeof(jm_error), "%s: %s", path, why);
}

/* Whether the file `fd`, of a host's size, holds a host whose making in
 * place was cut short: no magic yet, not initialised, and a layout that is
 * none or this model's (jm_host_create writes the magic last). */
static int
jm_half_made(int fd)
{
	struct {
		uint64_t magic;
		uint32_t layout, size;
	} head;
	uint32_t initialized;

	_Static_assert(offsetof(struct jm_host, layout) == 8 && offsetof(struct jm_host, size) == 12,
	    "the host's header starts magic, layout, size");
	if (pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    pread(fd, &initialized, sizeof(initialized),
	        (off_t)offsetof(struct jm_host, initialized)) != (ssize_t)sizeof(initialized))
		return 0;
	return head.magic == 0 && initialized == 0 && (head.layout == 0 || head.layout == JM_LAYOUT) &&
	    (head.size == 0 || head.size == (uint32_t)sizeof(struct jm_host));
}

/* Map the host kept in the open file `fd` (named `path` in messages),
 * creating it when the file is empty or was left half made.  Closes fd. */
static struct jm_host *
jm_map_fd(int fd, const char *path)
{
	struct jm_host *h = NULL;
	struct stat st;
	int r, saved;

	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1) {
		jm_set_error(path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		jm_set_error(path, "not a regular file");
		errno = EINVAL;
		goto fail;
	}
	/* Whoever may write the file commands the host's jails, and its
	 * contents are read as the kernel reads its own: only a file of this
	 * user or of root, closed to writers other than its owner, is used. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(jm_error, sizeof(jm_error), "%s: owned by uid %u, not by this user or "
		    "root: refused", path, (unsigned int)st.st_uid);
		errno = EPERM;
		goto fail;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(jm_error, sizeof(jm_error), "%s: writable by others (mode %04o): refused",
		    path, (unsigned int)(st.st_mode & 07777));
		errno = EPERM;
		goto fail;
	}
	if (st.st_size == (off_t)sizeof(*h) && jm_half_made(fd)) {
		/* Made in place (an empty file was given) by a process killed
		 * before it finished: the flock it held while making it is gone,
		 * and no process ever used the host, whose magic comes last.  It
		 * is made again from zeros, under the flock as the first try was;
		 * a kill in between leaves an empty file, made in place next. */
		if (ftruncate(fd, 0) == -1) {
			jm_set_error(path, strerror(errno));
			goto fail;
		}
		st.st_size = 0;
	}
	if (st.st_size == 0 && ftruncate(fd, (off_t)sizeof(*h)) == -1) {
		jm_set_error(path, strerror(errno));
		goto fail;
	} else if (st.st_size != 0 && st.st_size != (off_t)sizeof(*h)) {
		jm_set_error(path, "not a state file of this jailcore model (foreign, of another "
		    "version, or corrupted); it is left as it is: remove it for a new host");
		errno = EINVAL;
		goto fail;
	}
	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		h = NULL;
		jm_set_error(path, strerror(errno));
		goto fail;
	}
	if (st.st_size == 0) {
		if ((r = jm_host_create(h)) != 0) {
			jm_set_error(path, strerror(r));
			errno = r;
			goto fail;
		}
	} else if (!jm_host_valid(h)) {
		jm_set_error(path, "not a state file of this jailcore model (foreign, of another "
		    "version, or corrupted); it is left as it is: remove it for a new host");
		errno = EINVAL;
		goto fail;
	}
	flock(fd, LOCK_UN);
	close(fd);
	return h;
fail:
	saved = errno;
	if (h != NULL)
		munmap(h, sizeof(*h));
	flock(fd, LOCK_UN);
	close(fd);
	errno = saved;
	return NULL;
}

#define JM_TEMP_PREFIX ".jailcore-host-new."
/* How old (seconds) a temporary host of a dead process must be to be removed. */
#define JM_TEMP_STALE 10

/* Remove the temporary hosts (JM_TEMP_PREFIX PID.N) that processes killed
 * while making a host left in directory `dfd`: only regular files of this
 * user, named by a process that no longer exists, untouched for
 * JM_TEMP_STALE seconds (a process of another PID namespace making one
 * right now is not disturbed; a removed one only makes its maker retry). */
static void
jm_sweep_temps(int dfd)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	char *end;
	long pid;
	int fd;

	fd = dfd == AT_FDCWD ? open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) :
	    fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (fd == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, JM_TEMP_PREFIX, strlen(JM_TEMP_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(JM_TEMP_PREFIX), &end, 10);
		/* Alive (kill succeeds, or EPERM for another user's): kept. */
		if (pid <= 0 || pid > INT_MAX || *end != '.' || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    time(NULL) - st.st_mtime >= JM_TEMP_STALE)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Open the state file `name` in directory `dfd` (`path` in messages; `nofollow`
 * is O_NOFOLLOW or 0), creating it whole when it does not exist: a new host is
 * built and initialised under a temporary name in the same directory, then
 * moved into place without replacing a file another process made meanwhile
 * (renameat2 RENAME_NOREPLACE, or link(2) where that is missing), so a process
 * killed at any moment leaves no host or a usable one, never a half-made file.
 * Returns the open descriptor, or -1 with errno set (jm_error set too, unless
 * the open of the existing file failed: the caller words that). */
static int
jm_open_at(int dfd, const char *name, const char *path, int nofollow)
{
	static unsigned int seq;
	char tmp[64];
	struct jm_host *h;
	int fd, tfd, r, tries;

	jm_sweep_temps(dfd);
	for (tries = 0; tries < 100; tries++) {
		fd = openat(dfd, name, O_RDWR | O_CLOEXEC | nofollow);
		if (fd != -1 || errno != ENOENT)
			return fd;
		snprintf(tmp, sizeof(tmp), JM_TEMP_PREFIX "%ld.%u", (long)getpid(),
		    __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
		tfd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (tfd == -1) {
			if (errno == EEXIST)
				continue;
			goto fail;
		}
		if (ftruncate(tfd, (off_t)sizeof(*h)) == -1)
			goto fail_tmp;
		h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, tfd, 0);
		if (h == MAP_FAILED)
			goto fail_tmp;
		r = jm_host_create(h);
		munmap(h, sizeof(*h));
		if (r != 0) {
			errno = r;
			goto fail_tmp;
		}
#ifdef RENAME_NOREPLACE
		if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
			return tfd;
		if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
			r = errno;
			unlinkat(dfd, tmp, 0);
			close(tfd);
			if (r == EEXIST || r == ENOENT)
				continue;   /* another process's host won: use it (or
				             * ours was swept away: make it again) */
			errno = r;
			goto fail;
		}
#endif
		r = linkat(dfd, tmp, dfd, name, 0) == 0 ? 0 : errno;
		unlinkat(dfd, tmp, 0);
		if (r == 0)
			return tfd;
		close(tfd);
		if (r == EEXIST || r == ENOENT)
			continue;
		errno = r;
		goto fail;
fail_tmp:
		r = errno;
		unlinkat(dfd, tmp, 0);
		close(tfd);
		errno = r;
		goto fail;
	}
	errno = EEXIST;
fail:
	r = errno;
	jm_set_error(path, strerror(r));
	errno = r;
	return -1;
}

static struct jm_host *
jm_map_file(const char *path)
{
	char dir[JM_MAXPATHLEN];
	const char *slash;
	int dfd, fd, saved;

	if (strlen(path) >= sizeof(jm_path)) {
		jm_set_error(path, strerror(ENAMETOOLONG));
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && (slash = strrchr(path, '/')) != NULL &&
	    slash[1] != '\0') {
		/* Create it relative to its directory (opened as the path names it). */
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		dfd = open(slash == path ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd == -1) {
			jm_set_error(path, strerror(errno));
			return NULL;
		}
		fd = jm_open_at(dfd, slash + 1, path, 0);
		saved = errno;
		close(dfd);
		errno = saved;
		if (fd == -1)
			return NULL;
	} else if (fd == -1 && errno == ENOENT && strchr(path, '/') == NULL) {
		if ((fd = jm_open_at(AT_FDCWD, path, path, 0)) == -1)
			return NULL;
	}
	if (fd == -1) {
		jm_set_error(path, strerror(errno));
		return NULL;
	}
	return jm_map_fd(fd, path);
}

/* The default host: one per user, /tmp/jailcore-UID/host, as a machine has
 * one kernel whose jails outlive the commands that made them.  The directory
 * is made with mode 0700 and used only when it is a real directory (not a
 * symbolic link) owned by this user and closed to others; the file is opened
 * relative to it without following a link.  Anything else is refused with
 * the reason in jm_error. */
/* Whether directory `st` may not hold this user's default host (the
 * reason goes to jm_error). */
static int
jm_unsafe_dir(const char *path, const char *dir, const struct stat *st, uid_t uid)
{
	if (!S_ISDIR(st->st_mode))
		snprintf(jm_error, sizeof(jm_error), "%s: %s: not a directory (a symbolic link "
		    "or a file stands in its place): refused", path, dir);
	else if (st->st_uid != uid)
		snprintf(jm_error, sizeof(jm_error), "%s: the directory %s belongs to uid %u, "
		    "not to this user (uid %u): refused", path, dir, (unsigned int)st->st_uid,
		    (unsigned int)uid);
	else if ((st->st_mode & 077) != 0)
		snprintf(jm_error, sizeof(jm_error), "%s: the directory %s is open to other "
		    "users (mode %04o, not 0700): refused", path, dir,
		    (unsigned int)(st->st_mode & 07777));
	else
		return 0;
	return 1;
}

/* The default host: one per user, /tmp/jailcore-UID/host, as a machine has
 * one kernel whose jails outlive the commands that made them.  The directory
 * is made with mode 0700 and used only when it is a real directory (not a
 * symbolic link) owned by this user and closed to others, checked before it
 * is opened and again on what was opened; the file is opened relative to it
 * without following a link.  Anything else is refused (EPERM) with the
 * reason in jm_error. */
static struct jm_host *
jm_map_default(const char *path)
{
	char dir[64];
	struct stat st, opened;
	int dfd, fd, saved;
	uid_t uid = geteuid();

	snprintf(dir, sizeof(dir), JM_DEFAULT_DIR_FMT, (unsigned int)uid);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		saved = errno;
		snprintf(jm_error, sizeof(jm_error), "%s: cannot make the directory %s: %s", path,
		    dir, strerror(saved));
		errno = saved;
		return NULL;
	}
	if (lstat(dir, &st) == -1) {
		saved = errno;
		snprintf(jm_error, sizeof(jm_error), "%s: %s: %s", path, dir, strerror(saved));
		errno = saved;
		return NULL;
	}
	if (jm_unsafe_dir(path, dir, &st, uid)) {
		errno = EPERM;
		return NULL;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 || fstat(dfd, &opened) == -1) {
		saved = errno;
		snprintf(jm_error, sizeof(jm_error), "%s: %s: %s", path, dir, strerror(saved));
		if (dfd != -1)
			close(dfd);
		errno = saved;
		return NULL;
	}
	if (opened.st_dev != st.st_dev || opened.st_ino != st.st_ino ||
	    jm_unsafe_dir(path, dir, &opened, uid)) {
		if (opened.st_dev != st.st_dev || opened.st_ino != st.st_ino)
			snprintf(jm_error, sizeof(jm_error), "%s: the directory %s was replaced "
			    "while it was opened: refused", path, dir);
		close(dfd);
		errno = EPERM;
		return NULL;
	}
	fd = jm_open_at(dfd, JM_DEFAULT_FILE, path, O_NOFOLLOW);
	saved = errno;
	close(dfd);
	if (fd == -1) {
		/* O_NOFOLLOW on a link: ELOOP on Linux, EMLINK on FreeBSD (open(2)). */
		int link = saved == ELOOP || saved == EMLINK;

		jm_set_error(path, link ? "a symbolic link: refused" : strerror(saved));
		errno = link ? EPERM : saved;
		return NULL;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != uid || (st.st_mode & 022) != 0) {
		jm_set_error(path, "not owned by this user, or writable by others: refused");
		close(fd);
		errno = EPERM;
		return NULL;
	}
	return jm_map_fd(fd, path);
}

/* Whether `path` names the user's default host, which is opened only
 * through jm_map_default's checks, however it was named. */
static int
jm_is_default(const char *path)
{
	return strcmp(path, jailmodel_default_state_path()) == 0;
}

/* Which host this process uses when nothing was opened explicitly:
 * JAILCORE_MODEL_STATE names a state file, or is ":private:" for an
 * anonymous host private to the process tree; unset or empty, the user's
 * default host.  Fills jm_path ("" for a private host); returns whether it
 * is the default host. */
static int
jm_choose(void)
{
	const char *env = getenv("JAILCORE_MODEL_STATE");

	if (env != NULL && strcmp(env, JM_STATE_PRIVATE) == 0) {
		jm_path[0] = '\0';
		return 0;
	}
	if (env != NULL && env[0] != '\0') {
		snprintf(jm_path, sizeof(jm_path), "%s", env);
		return 0;
	}
	snprintf(jm_path, sizeof(jm_path), JM_DEFAULT_DIR_FMT "/" JM_DEFAULT_FILE,
	    (unsigned int)geteuid());
	return 1;
}

struct jm_host *
jm_host_get(void)
{
	struct jm_host *h = __atomic_load_n(&jm_h, __ATOMIC_ACQUIRE);
	const char *env;
	int dflt;

	if (h != NULL)
		return h;
	pthread_mutex_lock(&jm_map_lock);
	if ((h = jm_h) == NULL) {
		env = getenv("JAILCORE_MODEL_STATE");
		if (env != NULL && strlen(env) >= sizeof(jm_path)) {
			jm_set_error("JAILCORE_MODEL_STATE", strerror(ENAMETOOLONG));
			errno = ENAMETOOLONG;
		} else {
			dflt = jm_choose();
			if (jm_path[0] == '\0')
				h = jm_map_anonymous();
			else
				h = dflt || jm_is_default(jm_path) ? jm_map_default(jm_path) :
				    jm_map_file(jm_path);
			if (h != NULL) {
				jm_error[0] = '\0';
				__atomic_store_n(&jm_h, h, __ATOMIC_RELEASE);
			}
		}
	}
	pthread_mutex_unlock(&jm_map_lock);
	return h;
}

/* A private host is mapped when the library is loaded, so that a fork(2)
 * that happens before the first call still shares it; a host in a file is
 * mapped on first use (a child that forks before then maps the same file). */
static void
jm_map_lock_take(void)
{
	pthread_mutex_lock(&jm_map_lock);
}

static void
jm_map_lock_drop(void)
{
	pthread_mutex_unlock(&jm_map_lock);
}

__attribute__((constructor)) static void
jm_host_at_load(void)
{
	const char *env = getenv("JAILCORE_MODEL_STATE");

	/* A child forked while another thread maps the host must not inherit
	 * jm_map_lock held by a thread it does not have. */
	(void)pthread_atfork(jm_map_lock_take, jm_map_lock_drop, jm_map_lock_drop);

	if (env != NULL && strcmp(env, JM_STATE_PRIVATE) == 0)
		(void)jm_host_get();
}

int
jailmodel_open(const char *path)
{
	struct jm_host *h;
	int saved;

	pthread_mutex_lock(&jm_map_lock);
	h = path == NULL ? jm_map_anonymous() :
	    jm_is_default(path) ? jm_map_default(path) : jm_map_file(path);
	if (h == NULL) {
		saved = errno;
		/* The reason goes to jailmodel_open_error(); the process keeps the
		 * host it had, whose own state jm_error describes. */
		memcpy(jm_open_error, jm_error, sizeof(jm_open_error));
		if (jm_h != NULL)
			jm_error[0] = '\0';
		pthread_mutex_unlock(&jm_map_lock);
		errno = saved;
		return -1;
	}
	jm_open_error[0] = '\0';
	if (jm_h != NULL)
		munmap(jm_h, sizeof(*jm_h));
	__atomic_store_n(&jm_h, h, __ATOMIC_RELEASE);
	if (path != NULL)
		strcpy(jm_path, path);
	else
		jm_path[0] = '\0';
	jm_error[0] = '\0';
	__atomic_store_n(&jm_corrupt, 0, __ATOMIC_RELEASE);
	jm_self_slot = 0;
	pthread_mutex_unlock(&jm_map_lock);
	return 0;
}

const char *
jailmodel_state_path(void)
{
	pthread_mutex_lock(&jm_map_lock);
	if (jm_h == NULL)
		(void)jm_choose();
	pthread_mutex_unlock(&jm_map_lock);
	return jm_path[0] != '\0' ? jm_path : NULL;
}

const char *
jailmodel_default_state_path(void)
{
	static char path[64];

	snprintf(path, sizeof(path), JM_DEFAULT_DIR_FMT "/" JM_DEFAULT_FILE,
	    (unsigned int)geteuid());
	return path;
}

const char *
jailmodel_open_error(void)
{
	return jm_open_error[0] != '\0' ? jm_open_error : NULL;
}

const char *
jailmodel_host_error(void)
{
	const char *r;

	if (__atomic_load_n(&jm_h, __ATOMIC_ACQUIRE) != NULL &&
	    !__atomic_load_n(&jm_corrupt, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&jm_map_lock);
	r = (jm_h == NULL || jm_corrupt) && jm_error[0] != '\0' ? jm_error : NULL;
	pthread_mutex_unlock(&jm_map_lock);
	return r;
}

/* ---- the undo log --------------------------------------------------------- */

#define JM_BARRIER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

void
jm_change_begin(struct jm_host *h)
{
	h->undo.nrec = 0;
	h->undo.used = 0;
	h->undo.serial++;
	JM_BARRIER();
	h->undo.active = 1;
	JM_BARRIER();
	jm_heap_settle(h);
}

void
jm_change_commit(struct jm_host *h)
{
	JM_BARRIER();
	h->undo.active = 0;
	JM_BARRIER();
}

void
jm_save(struct jm_host *h, const void *p, size_t len)
{
	struct jm_undo *u = &h->undo;
	size_t off = (size_t)((const char *)p - (const char *)h);
	size_t need = (len + sizeof(struct jm_undo_rec) + 7u) & ~(size_t)7u;
	struct jm_undo_rec rec;

	if (!u->active || len == 0)
		return;
	if (off >= offsetof(struct jm_host, undo) || len > offsetof(struct jm_host, undo) - off ||
	    u->used + need > sizeof(u->arena))
		abort(); /* a change larger than the host: a bug in the model */
	/* Saved bytes first, then their record after them, then the count:
	 * a process that dies in between leaves a log that ends before it. */
	memcpy(u->arena + u->used, p, len);
	rec.offset = (uint32_t)off;
	rec.len = (uint32_t)len;
	memcpy(u->arena + u->used + need - sizeof(rec), &rec, sizeof(rec));
	JM_BARRIER();
	u->used += (uint32_t)need;
	u->nrec++;
	JM_BARRIER();
}

void
jm_save_prison(struct jm_host *h, int slot)
{
	if (!h->undo.active || h->undo_mark[slot] == h->undo.serial)
		return;
	jm_save(h, &h->prisons[slot], sizeof(h->prisons[slot]));
	h->undo_mark[slot] = h->undo.serial;
}

void
jm_save_globals(struct jm_host *h)
{
	jm_save(h, &h->g, sizeof(h->g));
}

/* Undo a change that a dead process left half done, newest record first. */
static void
jm_rollback(struct jm_host *h)
{
	struct jm_undo *u = &h->undo;
	uint32_t end = u->used;
	struct jm_undo_rec rec;

	if (!u->active)
		return;
	/* A record from the host is checked like any offset in it. */
	for (uint32_t i = 0; i < u->nrec && jm_undo_rec_next(u, &end, &rec); i++)
		memcpy((char *)h + rec.offset, u->arena + end, rec.len);
	u->active = 0;
	u->nrec = 0;
	u->used = 0;
}

void
jm_change_abort(struct jm_host *h)
{
	jm_rollback(h);
	jm_change_begin(h);
}

static int jm_crash_at;

void
jailmodel_test_crash_at(int point)
{
	jm_crash_at = point;
}

long
jailmodel_test_offset(const char *field)
{
#define JM_F(n, v) {n, (long)(v)}
	static const struct {
		const char *name;
		long value;
	} f[] = {
		JM_F("magic", offsetof(struct jm_host, magic)),
		JM_F("g.nprisons_hint", offsetof(struct jm_host, g.nprisons_hint)),
		JM_F("g.nprocs_hint", offsetof(struct jm_host, g.nprocs_hint)),
		JM_F("g.nbyjid", offsetof(struct jm_host, g.nbyjid)),
		JM_F("g.npending", offsetof(struct jm_host, g.npending)),
		JM_F("prisons", offsetof(struct jm_host, prisons)),
		JM_F("procs", offsetof(struct jm_host, procs)),
		JM_F("byjid", offsetof(struct jm_host, byjid)),
		JM_F("pending", offsetof(struct jm_host, pending)),
		JM_F("byname", offsetof(struct jm_host, byname)),
		JM_F("g.nmulti", offsetof(struct jm_host, g.nmulti)),
		JM_F("hc.brk", offsetof(struct jm_host, hc.brk)),
		JM_F("heap", offsetof(struct jm_host, heap)),
		JM_F("undo", offsetof(struct jm_host, undo)),
		JM_F("devfs.nsets", offsetof(struct jm_host, mnt.devfs.nsets)),
		JM_F("devfs.nrules", offsetof(struct jm_host, mnt.devfs.nrules)),
		JM_F("devfs.set", offsetof(struct jm_host, mnt.devfs.set)),
		JM_F("devfs.rule", offsetof(struct jm_host, mnt.devfs.rule)),
		JM_F("sizeof.devfs_set", sizeof(struct jm_devfs_set)),
		JM_F("sizeof.devfs_rule", sizeof(struct jm_devfs_rule)),
		JM_F("devfs_set.num", offsetof(struct jm_devfs_set, num)),
		JM_F("devfs_set.refs", offsetof(struct jm_devfs_set, refs)),
		JM_F("devfs_rule.set", offsetof(struct jm_devfs_rule, set)),
		JM_F("devfs_rule.pathptrn", offsetof(struct jm_devfs_rule, pathptrn)),
		JM_F("sizeof.prison", sizeof(struct jm_prison)),
		JM_F("sizeof.proc", sizeof(struct jm_proc)),
		JM_F("prison.used", offsetof(struct jm_prison, used)),
		JM_F("prison.jid", offsetof(struct jm_prison, jid)),
		JM_F("prison.parent", offsetof(struct jm_prison, parent)),
		JM_F("prison.state", offsetof(struct jm_prison, state)),
		JM_F("prison.nchild", offsetof(struct jm_prison, nchild)),
		JM_F("prison.ndesc", offsetof(struct jm_prison, ndesc)),
		JM_F("prison.child_first", offsetof(struct jm_prison, child_first)),
		JM_F("prison.child_last", offsetof(struct jm_prison, child_last)),
		JM_F("prison.sib_next", offsetof(struct jm_prison, sib_next)),
		JM_F("prison.store", offsetof(struct jm_prison, store)),
		JM_F("prison.store_len", offsetof(struct jm_prison, store_len)),
		JM_F("prison.sib_prev", offsetof(struct jm_prison, sib_prev)),
		JM_F("prison.name_next", offsetof(struct jm_prison, name_next)),
		JM_F("prison.holds", offsetof(struct jm_prison, holds)),
		JM_F("prison.name", offsetof(struct jm_prison, name)),
		JM_F("prison.osrelease", offsetof(struct jm_prison, osrelease)),
		JM_F("proc.pid", offsetof(struct jm_proc, pid)),
		JM_F("proc.prison", offsetof(struct jm_proc, prison)),
		JM_F("net.ifs", offsetof(struct jm_host, net.ifs)),
		JM_F("sizeof.if", sizeof(struct jm_if)),
		JM_F("if.name", offsetof(struct jm_if, name)),
		JM_F("if.naddr", offsetof(struct jm_if, naddr)),
		JM_F("if.peer", offsetof(struct jm_if, peer)),
		JM_F("if.vnet", offsetof(struct jm_if, vnet)),
		JM_F("if.addr", offsetof(struct jm_if, addr)),
		JM_F("mnt.n", offsetof(struct jm_host, mnt.n)),
		JM_F("mnt.m", offsetof(struct jm_host, mnt.m)),
		JM_F("sizeof.mount", sizeof(struct jm_mount)),
		JM_F("mount.fstype", offsetof(struct jm_mount, fstype)),
		JM_F("mount.fspath", offsetof(struct jm_mount, fspath)),
		JM_F("mount.from", offsetof(struct jm_mount, from)),
		JM_F("mount.ruleset", offsetof(struct jm_mount, ruleset)),
		JM_F("mount.prison", offsetof(struct jm_mount, prison)),
	};
#undef JM_F

	for (size_t i = 0; field != NULL && i < JM_ARRAY_LEN(f); i++)
		if (strcmp(f[i].name, field) == 0)
			return f[i].value;
	return -1;
}

void
jm_crash_point(int point)
{
	if (jm_crash_at != 0 && jm_crash_at == point)
		kill(getpid(), SIGKILL);
}

/* ---- locking --------------------------------------------------------------- */

static void jm_sweep(struct jm_host *h);

/* The mapped host is refused from now on: record why (in jm_error, for
 * jailmodel_host_error()) and fail every later call with EINVAL.  The lock
 * must not be held. */
static void
jm_mark_corrupt(const char *why)
{
	pthread_mutex_lock(&jm_map_lock);
	snprintf(jm_error, sizeof(jm_error), "%s: %s: refused",
	    jm_path[0] != '\0' ? jm_path : "(a private host in memory)", why);
	__atomic_store_n(&jm_corrupt, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&jm_map_lock);
	errno = EINVAL;
}

/* A call found the host invalid: undo what it changed, let go of the lock
 * and refuse the host. */
static void
jm_fail_call(struct jm_host *h, const char *why)
{
	jm_rollback(h);
	pthread_mutex_unlock(&h->lock);
	jm_call_broken = 0;
	jm_mark_corrupt(why);
}

#define JM_CHANGED_BY_OTHER "changed into an invalid state by another process"

struct jm_host *
jm_lock(void)
{
	struct jm_host *h = jm_host_get();
	int r;

	if (h == NULL)
		return NULL;
	if (__atomic_load_n(&jm_corrupt, __ATOMIC_ACQUIRE)) {
		errno = EINVAL;
		return NULL;
	}
	r = pthread_mutex_lock(&h->lock);
	if (r == EOWNERDEAD) {
		jm_rollback(h);
		pthread_mutex_consistent(&h->lock);
		/* The undo log is the file's, so what it put back is checked like a
		 * file being mapped: a hostile log must not leave a host that the
		 * calls would trust. */
		if (!jm_host_valid(h)) {
			pthread_mutex_unlock(&h->lock);
			jm_mark_corrupt("corrupted (found so when a change left half done was "
			    "rolled back)");
			return NULL;
		}
	} else if (r != 0) {
		errno = r;
		return NULL;
	}
	/* Another process may have written the file since this one last
	 * looked: what every call relies on is checked again, in O(1); the
	 * rest is checked where it is used. */
	if (!jm_host_core_valid(h)) {
		pthread_mutex_unlock(&h->lock);
		jm_mark_corrupt(JM_CHANGED_BY_OTHER " (found so at the start of a call)");
		return NULL;
	}
	jm_call_broken = 0;
	jm_change_begin(h);
	jm_sweep(h);
	if (jm_call_broken) {
		jm_fail_call(h, JM_CHANGED_BY_OTHER " (found so during a call)");
		return NULL;
	}
	return h;
}

int
jm_unlock(struct jm_host *h)
{
	int saved = errno;

	if (jm_call_broken) {
		jm_fail_call(h, JM_CHANGED_BY_OTHER " (found so during a call)");
		return -1;
	}
	jm_change_commit(h);
	pthread_mutex_unlock(&h->lock);
	errno = saved;
	return 0;
}

int
jm_unlock_ret(struct jm_host *h, int err)
{
	if (jm_unlock(h) != 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- processes ---------------------------------------------------------- */

/* Privilege, as the model decides it: root, and the user who made the host,
 * so that a user's own tests can manage jails without being root; every
 * other uid is unprivileged. */
int
jm_caller_is_root(void)
{
	uid_t euid = geteuid();
	const struct jm_host *h = jm_h;

	return euid == 0 || (h != NULL && euid == (uid_t)h->owner_uid);
}

/* Whether the caller may use a control call that changes the host (reset,
 * hold, release, kldload, kldunload, the release switch): the host's
 * superuser outside any jail, as the kernel's equivalents (kldload(2):
 * PRIV_KLD_LOAD, refused in a jail) need root on the host. */
int
jm_control_allowed(struct jm_host *h)
{
	return jm_caller_is_root() && jm_caller_prison(h) == 0;
}

int
jm_proc_attach(struct jm_host *h, pid_t pid, int slot)
{
	int free_idx = -1;

	for (int i = 0; i < h->g.nprocs_hint; i++) {
		if (h->procs[i].pid == pid) {
			free_idx = i;
			break;
		}
		if (h->procs[i].pid == 0 && free_idx < 0)
			free_idx = i;
	}
	if (free_idx < 0) {
		if (h->g.nprocs_hint >= JM_MAXPROCS)
			return EAGAIN;
		free_idx = h->g.nprocs_hint;
		jm_save_globals(h);
		h->g.nprocs_hint++;
	}
	if (h->procs[free_idx].pid == pid) {
		/* Moving on from another jail: that one loses a process. */
		int old = h->procs[free_idx].prison;

		if (!jm_slot_ok(h, old)) {
			jm_broken();
			return EINVAL;
		}
		jm_save_prison(h, old);
		jm_count(&h->prisons[old].nproc, -1);
		jm_pend(h, old);
	}
	jm_save(h, &h->procs[free_idx], sizeof(h->procs[free_idx]));
	h->procs[free_idx].pid = (int32_t)pid;
	h->procs[free_idx].prison = slot;
	h->procs[free_idx].gen = h->prisons[slot].gen;
	jm_save_prison(h, slot);
	jm_count(&h->prisons[slot].nproc, 1);
	if (pid == getpid()) {
		jm_self_slot = slot;
		jm_self_gen = h->prisons[slot].gen;
		jm_self_epoch = h->epoch;
	}
	return 0;
}

int
jm_prison_nprocs(struct jm_host *h, int slot)
{
	return h->prisons[slot].nproc;
}

int
jm_caller_prison(struct jm_host *h)
{
	pid_t me = getpid();
	const struct jm_prison *pr;

	for (int i = 0; i < h->g.nprocs_hint; i++)
		if (h->procs[i].pid == me)
			return jm_prison_check(h, h->procs[i].prison) ? h->procs[i].prison : 0;
	if (jm_self_slot > 0 && jm_self_epoch == h->epoch) {
		pr = &h->prisons[jm_self_slot];
		if (pr->used && pr->gen == jm_self_gen &&
		    jm_proc_attach(h, me, jm_self_slot) == 0)
			return jm_self_slot;
	}
	jm_self_slot = 0;
	return 0;
}

int
jailmodel_current_jid(void)
{
	struct jm_host *h = jm_lock();
	int jid;

	if (h == NULL)
		return -1;
	jid = h->prisons[jm_caller_prison(h)].jid;
	if (jm_unlock(h) != 0)
		return -1;
	return jid;
}

int jm_desc_owners_gone(struct jm_host *h, int slot);

/* Forget processes that have exited and jails whose last owning descriptor
 * was closed; then let jails without references die. */
static void
jm_sweep(struct jm_host *h)
{
	int changed = 0;

	for (int i = 0; i < h->g.nprocs_hint; i++) {
		struct jm_proc *p = &h->procs[i];

		if (p->pid == 0)
			continue;
		/* A negative pid, which kill(2) takes for a process group or for
		 * every process, is no process of the model's: the file was
		 * written by another process. */
		if (p->pid < 0 || p->prison < 0 || p->prison >= JM_MAXPRISONS ||
		    p->prison >= h->g.nprisons_hint) {
			jm_broken();
			continue;
		}
		if ((kill(p->pid, 0) == -1 && errno == ESRCH) ||
		    !h->prisons[p->prison].used || h->prisons[p->prison].gen != p->gen) {
			if (h->prisons[p->prison].used && h->prisons[p->prison].gen == p->gen) {
				jm_save_prison(h, p->prison);
				jm_count(&h->prisons[p->prison].nproc, -1);
				jm_pend(h, p->prison);
			}
			jm_save(h, p, sizeof(*p));
			p->pid = 0;
			changed = 1;
		}
	}
	while (h->g.nprocs_hint > 0 && h->procs[h->g.nprocs_hint - 1].pid == 0) {
		jm_save_globals(h);
		h->g.nprocs_hint--;
	}
	if (h->g.nowned > 0) {
		for (int s = 1; s < h->g.nprisons_hint; s++) {
			struct jm_prison *pr = &h->prisons[s];

			if (pr->used && pr->owned && jm_desc_owners_gone(h, s)) {
				jm_save_prison(h, s);
				jm_save_globals(h);
				pr->owned = 0;
				h->g.nowned--;
				if (pr->state == JM_PRISON_STATE_ALIVE)
					jm_prison_remove(h, s);
				changed = 1;
			}
		}
	}
	if (h->kev.nkq_hint > 0)
		jm_kev_sweep(h);
	if (changed)
		jm_settle(h);
}

/* ---- life and death -------------------------------------------------------- */

void jm_desc_forget(struct jm_host *h, int slot);
void jm_prison_die(struct jm_host *h, int slot);

static void
jm_prison_free(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];
	uint32_t gen = pr->gen;

	jm_desc_forget(h, slot);
	jm_net_prison_freed(h, slot);
	jm_mnt_prison_freed(h, slot);
	jm_prison_unlink(h, slot);
	jm_store_release(h, slot);
	jm_save_prison(h, slot);
	memset(pr, 0, sizeof(*pr));
	pr->gen = gen + 1;
	while (h->g.nprisons_hint > 1 && !h->prisons[h->g.nprisons_hint - 1].used) {
		jm_save_globals(h);
		h->g.nprisons_hint--;
	}
}

void
jm_pend(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];

	if (slot <= 0 || !pr->used || pr->pending || h->g.npending >= JM_MAXPRISONS)
		return;
	jm_save_prison(h, slot);
	pr->pending = 1;
	jm_save_globals(h);
	jm_save(h, &h->pending[h->g.npending], sizeof(h->pending[0]));
	h->pending[h->g.npending++] = slot;
}

/* A prison without processes, children or persist dies; a dying one without
 * lingering references too is freed, and its parent is looked at next. */
void
jm_settle(struct jm_host *h)
{
	while (h->g.npending > 0) {
		int s;
		struct jm_prison *pr;

		jm_save_globals(h);
		s = h->pending[--h->g.npending];
		if (s < 0 || s >= JM_MAXPRISONS) {
			jm_broken();
			continue;
		}
		pr = &h->prisons[s];
		if (!pr->used || !pr->pending)
			continue;
		jm_save_prison(h, s);
		pr->pending = 0;
		if (pr->nchild != 0 || pr->nproc != 0)
			continue;
		if (pr->state == JM_PRISON_STATE_ALIVE && !(pr->flags & JM_PR_PERSIST))
			jm_prison_die(h, s);
		if (pr->state == JM_PRISON_STATE_DYING && pr->holds == 0) {
			jm_save_prison(h, s);
			pr->pending = 0;
			jm_prison_free(h, s);
		}
	}
}

int
jailmodel_hold(int jid)
{
	struct jm_host *h = jm_lock();
	int s;

	if (h == NULL)
		return -1;
	if (!jm_control_allowed(h)) {
		if (jm_unlock(h) == 0)
			errno = EPERM;
		return -1;
	}
	s = jid > 0 ? jm_find_jid(h, jid) : -1;
	if (s < 0) {
		if (jm_unlock(h) == 0)
			errno = ENOENT;
		return -1;
	}
	jm_save_prison(h, s);
	jm_count(&h->prisons[s].holds, 1);
	return jm_unlock(h);
}

int
jailmodel_release(int jid)
{
	struct jm_host *h = jm_lock();
	int s, err = 0;

	if (h == NULL)
		return -1;
	s = jid > 0 ? jm_find_jid(h, jid) : -1;
	if (!jm_control_allowed(h))
		err = EPERM;
	else if (s < 0)
		err = ENOENT;
	else if (h->prisons[s].holds == 0)
		err = EINVAL;
	else {
		jm_save_prison(h, s);
		jm_count(&h->prisons[s].holds, -1);
		jm_pend(h, s);
		jm_settle(h);
	}
	return jm_unlock_ret(h, err);
}

/* ---- reset ---------------------------------------------------------------- */

void jm_prison0_init(struct jm_host *h);

void
jm_host_init(struct jm_host *h)
{
	int nprisons = h->g.nprisons_hint > 0 ? h->g.nprisons_hint : 1;
	int nprocs = h->g.nprocs_hint;

	for (int s = 1; s < nprisons; s++) {
		if (h->prisons[s].used) {
			uint32_t gen = h->prisons[s].gen;

			jm_desc_forget(h, s);
			memset(&h->prisons[s], 0, sizeof(h->prisons[s]));
			h->prisons[s].gen = gen + 1;
		}
	}
	memset(h->procs, 0, sizeof(h->procs[0]) * (size_t)nprocs);
	memset(&h->g, 0, sizeof(h->g));
	memset(h->slot_used, 0, sizeof(h->slot_used));
	memset(h->cpuset_used, 0, sizeof(h->cpuset_used));
	memset(h->byname, 0, sizeof(h->byname));
	h->epoch++;
	h->g.version = 15;
	h->g.enforce_statfs = 2;
	h->g.meta_maxbufsize = JM_META_MAXBUFSIZE;
	h->g.meta_softmax = JM_META_MAXBUFSIZE;
	memset(&h->hc, 0, sizeof(h->hc));
	h->hc.brk = JM_HEAP_FIRST;
	h->g.max_af_ips = JM_MAX_AF_IPS;
	h->g.next_fileid = 2; /* 1 is the kernel */
	h->g.nprisons_hint = 1;
	h->g.racct = jm_racct_boot_mode();
	h->g.rctl_maxbufsize = JM_RCTL_MAX_OUTBUFSIZE;
	jm_rctl_init(h);
	jm_kev_init(h);
	jm_prison0_init(h);
	jm_net_init(h);
	jm_mnt_init(h);
}

int
jailmodel_reset(void)
{
	struct jm_host *h = jm_lock();

	if (h == NULL)
		return -1;
	if (!jm_control_allowed(h)) {
		if (jm_unlock(h) == 0)
			errno = EPERM;
		return -1;
	}
	/* A reset is not undone by a crash: it only ever moves forward. */
	jm_change_commit(h);
	jm_host_init(h);
	jm_self_slot = 0;
	return jm_unlock(h);
}
