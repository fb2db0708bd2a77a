/*
 * tree.c: the prison tree: prison0, lookups by jid and name, names relative
 * to a viewer, removal, and the parameters every part of the model shares.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "tree.h"

const struct jm_allow_param jm_allow_params[] = {
	{"allow.set_hostname", JM_PR_ALLOW_SET_HOSTNAME, 0, -1},
	{"allow.sysvipc", JM_PR_ALLOW_SYSVIPC, 0, -1},
	{"allow.raw_sockets", JM_PR_ALLOW_RAW_SOCKETS, 0, -1},
	{"allow.chflags", JM_PR_ALLOW_CHFLAGS, 0, -1},
	{"allow.mount", JM_PR_ALLOW_MOUNT, 0, -1},
	{"allow.quotas", JM_PR_ALLOW_QUOTAS, 0, -1},
	{"allow.socket_af", JM_PR_ALLOW_SOCKET_AF, 0, -1},
	{"allow.mlock", JM_PR_ALLOW_MLOCK, 0, -1},
	{"allow.read_msgbuf", JM_PR_ALLOW_READ_MSGBUF, 0, -1},
	{"allow.unprivileged_proc_debug", JM_PR_ALLOW_UNPRIV_DEBUG, 0, -1},
	{"allow.suser", JM_PR_ALLOW_SUSER, 0, -1},
	{"allow.reserved_ports", JM_PR_ALLOW_RESERVED_PORTS, 0, -1},
	{"allow.nfsd", JM_PR_ALLOW_NFSD, 0, -1},
	{"allow.extattr", JM_PR_ALLOW_EXTATTR, 0, -1},
	{"allow.adjtime", JM_PR_ALLOW_ADJTIME, 0, -1},
	{"allow.settime", JM_PR_ALLOW_SETTIME, 0, -1},
	{"allow.routing", JM_PR_ALLOW_ROUTING, 15, -1},
	{"allow.unprivileged_parent_tampering", JM_PR_ALLOW_UNPRIV_PARENT_TAMPER, 15, -1},
	{"allow.mount.devfs", JM_PR_ALLOW_MOUNT_DEVFS, 0, -1},
	{"allow.mount.fdescfs", 0x00001000u, 0, JM_MOD_FDESCFS},
	{"allow.mount.nullfs", 0x00002000u, 0, JM_MOD_NULLFS},
	{"allow.mount.procfs", 0x00004000u, 0, JM_MOD_PROCFS},
	{"allow.mount.tmpfs", 0x00800000u, 0, JM_MOD_TMPFS},
	{"allow.mount.zfs", 0x01000000u, 0, JM_MOD_ZFS},
};
const int jm_nallow_params = (int)JM_ARRAY_LEN(jm_allow_params);

int
jm_allow_present(const struct jm_host *h, const struct jm_allow_param *a)
{
	if (a->minver > h->g.version)
		return 0;
	return a->module < 0 || h->g.module_fileid[a->module] != 0;
}

uint64_t
jm_allow_all(const struct jm_host *h)
{
	uint64_t all = 0;

	for (int i = 0; i < jm_nallow_params; i++)
		if (jm_allow_present(h, &jm_allow_params[i]))
			all |= jm_allow_params[i].bit;
	return all;
}

void
jm_noname(char *dst, size_t size, const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t pre = dot != NULL ? (size_t)(dot - name) + 1 : 0;

	if (pre + 2 + strlen(name + pre) + 1 > size) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, name, pre);
	memcpy(dst + pre, "no", 2);
	strcpy(dst + pre + 2, name + pre);
}

void
jm_prison0_init(struct jm_host *h)
{
	struct jm_prison *p0 = &h->prisons[0];
	uint32_t gen = p0->gen;

	memset(p0, 0, sizeof(*p0));
	p0->gen = gen + 1;
	p0->used = 1;
	p0->jid = 0;
	p0->parent = -1;
	p0->state = JM_PRISON_STATE_ALIVE;
	p0->flags = JM_PR_HOST | JM_PR_VNET | JM_PR_IP4_SADDRSEL | JM_PR_IP6_SADDRSEL;
	p0->allow = jm_allow_all(h) & ~(uint64_t)JM_PR_ALLOW_UNPRIV_PARENT_TAMPER;
	p0->securelevel = -1;
	p0->children_max = JM_JAIL_MAX;
	p0->enforce_statfs = 0;
	p0->devfs_ruleset = 0;
	p0->cpuset_id = 1;
	h->slot_used[0] |= 1;
	h->cpuset_used[0] |= (uint64_t)1 << 1;
	for (int m = 0; m < 3; m++)
		p0->sysv[m] = JM_JAIL_SYS_NEW;
	jm_host_release_strings(h, p0);
	strcpy(p0->name, "0");
	/* A new heap has room: these are its first blocks. */
	(void)jm_store_set(h, 0, JM_ST_PATH, "/", 1, 1);
	(void)jm_store_set(h, 0, JM_ST_ROOT, "/", 1, 1);
	{
		char name[JM_MAXHOSTNAMELEN];

		if (gethostname(name, sizeof(name)) != 0)
			name[0] = '\0';
		name[sizeof(name) - 1] = '\0';
		(void)jm_host_text_set(h, 0, JM_ST_HOSTNAME, name);
	}
	(void)jm_host_text_set(h, 0, JM_ST_HOSTUUID, JM_DEFAULT_HOSTUUID);
}

void
jm_host_release_strings(const struct jm_host *h, struct jm_prison *p0)
{
	if (h->g.version == 14) {
		p0->osreldate = 1403000;
		strcpy(p0->osrelease, "14.3-RELEASE");
	} else {
		p0->osreldate = 1500000;
		strcpy(p0->osrelease, "15.0-RELEASE");
	}
}

int
jm_reboot_check(struct jm_host *h)
{
	int n = h->g.nprisons_hint;

	if (!jm_control_allowed(h))
		return EPERM;
	for (int s = 1; s < n && s < JM_MAXPRISONS; s++)
		if (h->prisons[s].used)
			return EBUSY;
	return 0;
}

int
jailmodel_set_version(int major)
{
	struct jm_host *h;
	int err = 0;

	if (major != 14 && major != 15) {
		errno = EINVAL;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	if ((err = jm_reboot_check(h)) == 0) {
		jm_save_globals(h);
		jm_save_prison(h, 0);
		h->g.version = major;
		jm_host_release_strings(h, &h->prisons[0]);
		h->prisons[0].allow = jm_allow_all(h) & ~(uint64_t)JM_PR_ALLOW_UNPRIV_PARENT_TAMPER;
	}
	return jm_unlock_ret(h, err);
}

int
jailmodel_version(void)
{
	struct jm_host *h = jm_host_get();

	return h != NULL ? h->g.version : 15;
}

int
jm_is_descendant(const struct jm_host *h, int slot, int ancestor)
{
	int depth = 0;

	for (int p = jm_parent_slot(h, slot); p >= 0; p = jm_parent_slot(h, p)) {
		if (p == ancestor)
			return 1;
		if (++depth > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			break;
		}
	}
	return 0;
}

int
jm_depth_below(const struct jm_host *h, int slot, int ancestor)
{
	int d = 0;

	for (int p = slot; p >= 0 && p != ancestor; p = jm_parent_slot(h, p))
		if (++d > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			break;
		}
	return d;
}

int
jm_children_cur(const struct jm_host *h, int slot)
{
	return h->prisons[slot].ndesc;
}

int
jm_has_children(const struct jm_host *h, int slot)
{
	return h->prisons[slot].nchild > 0;
}

/* Position in byjid[] of the first prison with a jid >= `jid`. */
static int
jm_index_lower(const struct jm_host *h, int jid)
{
	int lo = 0, hi = h->g.nbyjid;

	if (hi < 0 || hi >= JM_MAXPRISONS) {
		jm_broken();
		return 0;
	}
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2, s = h->byjid[mid];

		if (s <= 0 || !jm_slot_ok(h, s)) {
			jm_broken();
			return 0;
		}
		if (h->prisons[s].jid < jid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
jm_index_after(const struct jm_host *h, int jid)
{
	return jid == INT32_MAX ? h->g.nbyjid : jm_index_lower(h, jid + 1);
}

int
jm_find_jid(const struct jm_host *h, int jid)
{
	int pos = jm_index_lower(h, jid), s;

	if (pos >= h->g.nbyjid)
		return -1;
	s = h->byjid[pos];
	if (s <= 0 || !jm_slot_ok(h, s)) {
		jm_broken();
		return -1;
	}
	return h->prisons[s].jid == jid && jm_prison_check(h, s) ? s : -1;
}

int
jm_find_child_jid(const struct jm_host *h, int top, int jid)
{
	int s = jm_find_jid(h, jid);

	return s >= 0 && jm_is_descendant(h, s, top) ? s : -1;
}

static void
jm_index_insert(struct jm_host *h, int slot)
{
	int n = h->g.nbyjid, pos = jm_index_lower(h, h->prisons[slot].jid);

	jm_save_globals(h);
	jm_save(h, &h->byjid[pos], sizeof(h->byjid[0]) * (size_t)(n - pos + 1));
	memmove(&h->byjid[pos + 1], &h->byjid[pos], sizeof(h->byjid[0]) * (size_t)(n - pos));
	h->byjid[pos] = slot;
	h->g.nbyjid = n + 1;
}

static void
jm_index_delete(struct jm_host *h, int slot)
{
	int n = h->g.nbyjid, pos = jm_index_lower(h, h->prisons[slot].jid);

	if (pos >= n || h->byjid[pos] != slot)
		return;
	jm_save_globals(h);
	jm_save(h, &h->byjid[pos], sizeof(h->byjid[0]) * (size_t)(n - pos));
	memmove(&h->byjid[pos], &h->byjid[pos + 1], sizeof(h->byjid[0]) * (size_t)(n - pos - 1));
	h->g.nbyjid = n - 1;
}

static void
jm_bit(struct jm_host *h, uint64_t *map, int bit, int on)
{
	uint64_t *w, m;

	/* `bit` may come from the host (a prison's cpuset_id): checked first. */
	if (bit < 0 || bit >= (int)(JM_BITMAP_WORDS * 64))
		return;
	w = &map[bit / 64];
	m = (uint64_t)1 << (bit % 64);
	if (((*w & m) != 0) == (on != 0))
		return;
	jm_save(h, w, sizeof(*w));
	if (on)
		*w |= m;
	else
		*w &= ~m;
}

static int
jm_first_clear(const uint64_t *map, int from)
{
	for (int i = from / 64; i < (int)JM_BITMAP_WORDS; i++) {
		uint64_t w = map[i];

		if (i == from / 64)
			w |= ((uint64_t)1 << (from % 64)) - 1;
		if (w != ~(uint64_t)0)
			for (int b = 0; b < 64; b++)
				if (!(w & ((uint64_t)1 << b)))
					return i * 64 + b;
	}
	return -1;
}

int
jm_alloc_slot(struct jm_host *h)
{
	int s = jm_first_clear(h->slot_used, 1);

	if (s < 1 || s >= JM_MAXPRISONS)
		return -1;
	if (s >= h->g.nprisons_hint) {
		jm_save_globals(h);
		h->g.nprisons_hint = s + 1;
	}
	return s;
}

int
jm_alloc_cpuset(struct jm_host *h)
{
	return jm_first_clear(h->cpuset_used, 2);
}

/* ---- the children lists and the name index ------------------------------ */

/* Whether `c`, read from a link of the host, is a prison in use whose parent
 * is `parent`; else jm_broken(). */
static int
jm_link_ok(const struct jm_host *h, int c, int parent)
{
	if (c > 0 && jm_slot_ok(h, c) && h->prisons[c].parent == parent)
		return 1;
	jm_broken();
	return 0;
}

int
jm_walk_next(const struct jm_host *h, int top, int s, int *steps)
{
	int c = h->prisons[s].child_first;

	if (++*steps > JM_MAXPRISONS) { /* a cycle */
		jm_broken();
		return -1;
	}
	if (c != 0)
		return jm_link_ok(h, c, s) ? c : -1;
	/* No child: the next sibling of the nearest prison on the way up. */
	while (s != top) {
		int p = h->prisons[s].parent, n = h->prisons[s].sib_next;

		if (n != 0)
			return jm_link_ok(h, n, p) ? n : -1;
		if (++*steps > 2 * JM_MAXPRISONS || !jm_slot_ok(h, p)) {
			jm_broken();
			return -1;
		}
		s = p;
	}
	return -1;
}

int
jm_child_next(const struct jm_host *h, int p, int c, int *steps)
{
	int n = c == 0 ? h->prisons[p].child_first : h->prisons[c].sib_next;

	if (n == 0)
		return -1;
	if (++*steps > JM_MAXPRISONS) {
		jm_broken();
		return -1;
	}
	return jm_link_ok(h, n, p) ? n : -1;
}

static void
jm_save_int(struct jm_host *h, int32_t *p)
{
	jm_save(h, p, sizeof(*p));
}

/* Append `slot` to its parent's children. */
static void
jm_child_append(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot], *pp = &h->prisons[pr->parent];
	int last = pp->child_last;

	jm_save_int(h, &pr->sib_prev);
	jm_save_int(h, &pr->sib_next);
	jm_save_int(h, &pp->child_last);
	pr->sib_prev = last;
	pr->sib_next = 0;
	if (last == 0) {
		jm_save_int(h, &pp->child_first);
		pp->child_first = slot;
	} else if (jm_link_ok(h, last, pr->parent)) {
		jm_save_int(h, &h->prisons[last].sib_next);
		h->prisons[last].sib_next = slot;
	}
	pp->child_last = slot;
}

static void
jm_child_remove(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot], *pp = &h->prisons[pr->parent];
	int prev = pr->sib_prev, next = pr->sib_next;

	if ((prev != 0 && !jm_link_ok(h, prev, pr->parent)) ||
	    (next != 0 && !jm_link_ok(h, next, pr->parent)))
		return;
	if (prev == 0) {
		jm_save_int(h, &pp->child_first);
		pp->child_first = next;
	} else {
		jm_save_int(h, &h->prisons[prev].sib_next);
		h->prisons[prev].sib_next = next;
	}
	if (next == 0) {
		jm_save_int(h, &pp->child_last);
		pp->child_last = prev;
	} else {
		jm_save_int(h, &h->prisons[next].sib_prev);
		h->prisons[next].sib_prev = prev;
	}
	jm_save_int(h, &pr->sib_prev);
	jm_save_int(h, &pr->sib_next);
	pr->sib_prev = pr->sib_next = 0;
}

/* FNV-1a of a full name, masked to a bucket of byname[]. */
uint32_t
jm_name_bucket(const char *name)
{
	uint32_t x = 2166136261u;

	/* At most a name field's length: a field read from the host may lack its NUL. */
	for (size_t i = 0; i < JM_MAXHOSTNAMELEN && name[i] != '\0'; i++)
		x = (x ^ (unsigned char)name[i]) * 16777619u;
	return x & (JM_NAMEHASH - 1);
}

/* An entry read from the chain of `bucket`: a prison in use other than
 * prison0 whose name is a string that belongs in that bucket. */
static int
jm_name_ok(const struct jm_host *h, int s, uint32_t bucket, int *steps)
{
	if (s > 0 && jm_slot_ok(h, s) && ++*steps <= JM_MAXPRISONS &&
	    memchr(h->prisons[s].name, '\0', sizeof(h->prisons[s].name)) != NULL &&
	    jm_name_bucket(h->prisons[s].name) == bucket)
		return 1;
	jm_broken();
	return 0;
}

/* The first prison named `name` in the chain from `s` on, or -1. */
static int
jm_name_from(const struct jm_host *h, int s, const char *name, uint32_t bucket, int *steps)
{
	for (; s != 0; s = h->prisons[s].name_next) {
		if (!jm_name_ok(h, s, bucket, steps))
			return -1;
		if (strcmp(h->prisons[s].name, name) == 0)
			return s;
	}
	return -1;
}

int
jm_name_next(const struct jm_host *h, int s, int *steps)
{
	const char *name = h->prisons[s].name;

	return jm_name_from(h, h->prisons[s].name_next, name, jm_name_bucket(name), steps);
}

int
jm_name_first(const struct jm_host *h, const char *name, int *steps)
{
	uint32_t b = jm_name_bucket(name);

	return jm_name_from(h, h->byname[b], name, b, steps);
}

static void
jm_name_insert(struct jm_host *h, int slot)
{
	int32_t *head = &h->byname[jm_name_bucket(h->prisons[slot].name)];

	jm_save_int(h, &h->prisons[slot].name_next);
	jm_save_int(h, head);
	h->prisons[slot].name_next = *head;
	*head = slot;
}

static void
jm_name_remove(struct jm_host *h, int slot)
{
	int32_t *at = &h->byname[jm_name_bucket(h->prisons[slot].name)];
	int steps = 0;

	while (*at != slot) {
		if (*at == 0 || !jm_name_ok(h, *at, jm_name_bucket(h->prisons[slot].name), &steps))
			return; /* not indexed: jm_broken() if the chain is bad */
		at = &h->prisons[*at].name_next;
	}
	jm_save_int(h, at);
	*at = h->prisons[slot].name_next;
	jm_save_int(h, &h->prisons[slot].name_next);
	h->prisons[slot].name_next = 0;
}

void
jm_prison_rename(struct jm_host *h, int slot, const char *name)
{
	jm_name_remove(h, slot);
	jm_save_prison(h, slot);
	strcpy(h->prisons[slot].name, name);
	jm_name_insert(h, slot);
}

void
jm_prison_link(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];

	jm_bit(h, h->slot_used, slot, 1);
	jm_bit(h, h->cpuset_used, pr->cpuset_id, 1);
	jm_index_insert(h, slot);
	jm_child_append(h, slot);
	jm_name_insert(h, slot);
	jm_save_prison(h, jm_parent(h, slot));
	jm_count(&h->prisons[jm_parent(h, slot)].nchild, 1);
	for (int a = jm_parent_slot(h, slot), depth = 0; a >= 0; a = jm_parent_slot(h, a)) {
		if (++depth > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			break;
		}
		jm_save_prison(h, a);
		jm_count(&h->prisons[a].ndesc, 1);
	}
}

void
jm_prison_unlink(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];

	jm_index_delete(h, slot);
	jm_child_remove(h, slot);
	jm_name_remove(h, slot);
	jm_bit(h, h->slot_used, slot, 0);
	jm_bit(h, h->cpuset_used, pr->cpuset_id, 0);
	jm_save_prison(h, jm_parent(h, slot));
	jm_count(&h->prisons[jm_parent(h, slot)].nchild, -1);
	for (int a = jm_parent_slot(h, slot), depth = 0; a >= 0; a = jm_parent_slot(h, a)) {
		if (++depth > JM_MAXPRISONS) { /* a cycle */
			jm_broken();
			break;
		}
		jm_save_prison(h, a);
		jm_count(&h->prisons[a].ndesc, -1);
	}
	jm_pend(h, jm_parent(h, slot));
}

void
jm_prison_renumber(struct jm_host *h, int slot, int jid)
{
	jm_index_delete(h, slot);
	jm_save_prison(h, slot);
	h->prisons[slot].jid = jid;
	jm_index_insert(h, slot);
}

const char *
jm_relative_name(const struct jm_host *h, int slot, int viewer)
{
	const char *name = h->prisons[slot].name;
	size_t n;

	if (viewer == 0)
		return name;
	if (slot == viewer)
		return "";
	/* A descendant's name is the viewer's, a dot, and more (FreeBSD's
	 * prison_name); another jail's is its full name. */
	n = strlen(h->prisons[viewer].name);
	if (n + 1 < sizeof(h->prisons[slot].name) && strncmp(name, h->prisons[viewer].name, n) == 0 &&
	    name[n] == '.')
		return name + n + 1;
	if (jm_is_descendant(h, slot, viewer)) {
		jm_broken(); /* a name changed behind the model's back */
		return "";
	}
	return name;
}

/* The jail `name` below `top` (a name relative to it): the alive one, of
 * which there is at most one, else the dying one of the lowest jid; -1 when
 * there is none.  Looked up by its full name in the name index. */
int
jm_find_name(const struct jm_host *h, int top, const char *name)
{
	char full[JM_MAXHOSTNAMELEN];
	int dead = -1, steps = 0;
	size_t tl = top == 0 ? 0 : strlen(h->prisons[top].name) + 1;

	if (tl + strlen(name) >= sizeof(full))
		return -1; /* longer than any name */
	if (top != 0) {
		memcpy(full, h->prisons[top].name, tl - 1);
		full[tl - 1] = '.';
	}
	strcpy(full + tl, name);
	for (int s = jm_name_first(h, full, &steps); s >= 0; s = jm_name_next(h, s, &steps)) {
		const struct jm_prison *pr = &h->prisons[s];

		/* Its name is read: checked first, once it is known to matter. */
		if (!jm_is_descendant(h, s, top) || !jm_prison_check(h, s))
			continue;
		if (pr->state == JM_PRISON_STATE_ALIVE)
			return s;
		if (dead < 0 || pr->jid < h->prisons[dead].jid)
			dead = s;
	}
	return dead;
}

const char *
jm_relative_path(const struct jm_host *h, int slot, int viewer)
{
	const char *vp = jm_path(h, viewer), *p = jm_path(h, slot);
	size_t n = strlen(vp);

	if (strcmp(vp, "/") == 0)
		return p;
	if (strncmp(p, vp, n) == 0) {
		if (p[n] == '\0')
			return "/";
		if (p[n] == '/')
			return p + n;
	}
	return p;
}

/* What a prison loses when it dies: its SysV objects (the model keeps
 * none), its persist reference. */
void
jm_prison_die(struct jm_host *h, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];

	jm_save_prison(h, slot);
	pr->state = JM_PRISON_STATE_DYING;
	pr->flags &= ~JM_PR_PERSIST;
	jm_knote(h, slot, JM_NOTE_JAIL_REMOVE, 0);
	jm_pend(h, slot);
}

static int
jm_cmp_i64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void
jm_prison_remove(struct jm_host *h, int slot)
{
	int n = 0, max = jm_bounded(h->prisons[slot].ndesc, JM_MAXPRISONS) + 1;
	/* jid in the high half, slot in the low: sorted, they are in jid order */
	uint64_t *dying = malloc(sizeof(uint64_t) * (size_t)max);

	/* The jail and every alive descendant die, in the order of their jids
	 * (kqueue hears of them so); more of them than the count of
	 * descendants says means another process wrote the lists. */
	if (dying == NULL)
		abort(); /* 80 KiB at most */
	JM_FOREACH_DESCENDANT(h, slot, s, steps) {
		if (h->prisons[s].state != JM_PRISON_STATE_ALIVE)
			continue;
		if (n >= max - 1) {
			jm_broken();
			break;
		}
		dying[n++] = (uint64_t)(uint32_t)h->prisons[s].jid << 32 | (uint32_t)s;
	}
	if (h->prisons[slot].state == JM_PRISON_STATE_ALIVE && n < max)
		dying[n++] = (uint64_t)(uint32_t)h->prisons[slot].jid << 32 | (uint32_t)slot;
	qsort(dying, (size_t)n, sizeof(dying[0]), jm_cmp_i64);
	for (int i = 0; i < n; i++)
		jm_prison_die(h, (int)(dying[i] & 0xffffffff));
	free(dying);
	for (int i = 0; i < h->g.nprocs_hint; i++) {
		int p = h->procs[i].prison;

		if (h->procs[i].pid != 0 && !jm_slot_ok(h, p)) {
			jm_broken();
			continue;
		}
		if (h->procs[i].pid != 0 && (p == slot || jm_is_descendant(h, p, slot)))
			kill(h->procs[i].pid, SIGKILL);
	}
	jm_settle(h);
}

int
jm_caller_privileged(const struct jm_host *h, int mypr)
{
	if (!jm_caller_is_root())
		return 0;
	return mypr == 0 || (h->prisons[mypr].allow & JM_PR_ALLOW_SUSER) != 0;
}
