/*
 * model.h: internals of jailcore's kernel model, shared by the files of csrc/model.
 *
 * Everything a host is made of lives in one struct jm_host placed in shared
 * memory (anonymous, or a mapped state file).  It holds no pointers, only
 * slot indexes, so every process can map it at any address.  A
 * process-shared robust mutex guards it; every change made under the lock is
 * first recorded in an undo log, so that a process killed in the middle of a
 * call leaves a host that the next locker rolls back to its state before
 * that call.
 */
#ifndef JAILCORE_MODEL_H
#define JAILCORE_MODEL_H

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "jailmodel.h"
#include "mount.h"
#include "net.h"

/* ---- FreeBSD constants (sys/jail.h, sys/param.h), named as there ------- */

#define JM_JAIL_CREATE 0x01
#define JM_JAIL_UPDATE 0x02
#define JM_JAIL_ATTACH 0x04
#define JM_JAIL_DYING 0x08
#define JM_JAIL_USE_DESC 0x10
#define JM_JAIL_AT_DESC 0x20
#define JM_JAIL_GET_DESC 0x40
#define JM_JAIL_OWN_DESC 0x80
#define JM_JAIL_SET_MASK_14 0x0f
#define JM_JAIL_GET_MASK_14 0x08
#define JM_JAIL_SET_MASK_15 0xff
#define JM_JAIL_GET_MASK_15 0xf8

#define JM_JAIL_SYS_DISABLE 0
#define JM_JAIL_SYS_NEW 1
#define JM_JAIL_SYS_INHERIT 2

#define JM_JAIL_MAX 999999
#define JM_MAXHOSTNAMELEN 256
#define JM_MAXPATHLEN 1024
#define JM_HOSTUUIDLEN 64
#define JM_OSRELEASELEN 32
#define JM_DEFAULT_HOSTUUID "00000000-0000-0000-0000-000000000000"
#define JM_META_MAXBUFSIZE 4096 /* default security.jail.meta_maxbufsize */
#define JM_MAX_AF_IPS 255       /* default security.jail.jail_max_af_ips */
#define JM_VFS_MOUNTARG_SIZE_MAX 65536
#define JM_UIO_MAXIOV 1024
#define JM_VFSOPT_OVERHEAD 48 /* sizeof(struct vfsopt) on LP64 */

#define JM_PRISON_STATE_INVALID 0
#define JM_PRISON_STATE_ALIVE 1
#define JM_PRISON_STATE_DYING 2

/* pr_flags */
#define JM_PR_PERSIST 0x00000001u
#define JM_PR_HOST 0x00000002u
#define JM_PR_IP4_USER 0x00000004u
#define JM_PR_IP6_USER 0x00000008u
#define JM_PR_VNET 0x00000010u
#define JM_PR_IP4_SADDRSEL 0x00000080u
#define JM_PR_IP6_SADDRSEL 0x00000100u
#define JM_PR_IP4 0x02000000u /* IPv4 restricted (own or inherited list) */
#define JM_PR_IP6 0x04000000u

/* pr_allow */
#define JM_PR_ALLOW_SET_HOSTNAME 0x00000001u
#define JM_PR_ALLOW_SYSVIPC 0x00000002u
#define JM_PR_ALLOW_RAW_SOCKETS 0x00000004u
#define JM_PR_ALLOW_CHFLAGS 0x00000008u
#define JM_PR_ALLOW_MOUNT 0x00000010u
#define JM_PR_ALLOW_QUOTAS 0x00000020u
#define JM_PR_ALLOW_SOCKET_AF 0x00000040u
#define JM_PR_ALLOW_MLOCK 0x00000080u
#define JM_PR_ALLOW_READ_MSGBUF 0x00000100u
#define JM_PR_ALLOW_UNPRIV_DEBUG 0x00000200u
#define JM_PR_ALLOW_SUSER 0x00000400u
#define JM_PR_ALLOW_RESERVED_PORTS 0x00008000u
#define JM_PR_ALLOW_KMEM_ACCESS 0x00010000u
#define JM_PR_ALLOW_NFSD 0x00020000u
#define JM_PR_ALLOW_EXTATTR 0x00040000u
#define JM_PR_ALLOW_ADJTIME 0x00080000u
#define JM_PR_ALLOW_SETTIME 0x00100000u
#define JM_PR_ALLOW_ROUTING 0x00200000u
#define JM_PR_ALLOW_UNPRIV_PARENT_TAMPER 0x00400000u
#define JM_PR_ALLOW_ALL_STATIC 0x007f87ffu
#define JM_JAIL_DEFAULT_ALLOW 0x00008601u

/* ---- limits of the model's host ----------------------------------------- */

#define JM_MAXPRISONS 10240 /* slots, prison0 included */
#define JM_MAXPROCS 4096   /* attached processes */
#define JM_NMODULES 8      /* loadable modules, see jm_modules[] */

/* The heap: where what a jail holds in any amount (its addresses, its meta
 * and env texts) is stored, in blocks of a power of two bytes, a header
 * included.  Blocks are carved from the heap's start upwards (heap_brk) and,
 * once freed, kept on a free list per size.  Pages of the heap that were
 * never used cost nothing (anonymous memory, or a sparse state file).
 * Offsets are from the start of the heap; 0 means "no block". */
#define JM_HEAP_SIZE (1u << 30)
#define JM_HEAP_FIRST 32u /* offset of the first block, and the alignment of all */
#define JM_HEAP_MINCLS 5  /* smallest block: 32 bytes */
#define JM_HEAP_MAXCLS 30 /* largest block: the whole heap */
#define JM_HEAP_NCLS (JM_HEAP_MAXCLS - JM_HEAP_MINCLS + 1)
#define JM_BLK_USED 0x55424a4du /* "MJBU" */
#define JM_BLK_FREE 0x46424a4du /* "MJBF" */

struct jm_blk {
	uint32_t magic; /* JM_BLK_USED or JM_BLK_FREE */
	uint32_t cls;   /* the block is 1 << cls bytes, this header included */
	uint32_t owner; /* used: jm_store_owner(slot, field); free: 0 */
	uint32_t next;  /* free: the next free block of this size; 0 ends the list */
};

/* What a prison keeps in the heap. */
enum {
	JM_ST_IP4, JM_ST_IP6, JM_ST_META, JM_ST_ENV, JM_ST_PATH, JM_ST_ROOT,
	JM_ST_HOSTNAME, JM_ST_DOMAINNAME, JM_ST_HOSTUUID, JM_NSTORE
};
/* The fields that hold a text (and a NUL after it in their block). */
#define jm_store_text(field) ((field) >= JM_ST_META)
#define jm_store_owner(slot, field) ((uint32_t)(slot) * JM_NSTORE + (uint32_t)(field) + 1u)

/* Module indexes. */
enum {
	JM_MOD_SYSVMSG,
	JM_MOD_SYSVSEM,
	JM_MOD_SYSVSHM,
	JM_MOD_FDESCFS,
	JM_MOD_NULLFS,
	JM_MOD_PROCFS,
	JM_MOD_TMPFS,
	JM_MOD_ZFS,
};

struct jm_module {
	const char *name;   /* kldload(2) file name */
	const char *param;  /* jail parameter it adds: "sysvmsg", "allow.mount.nullfs", ... */
	uint64_t allow_bit; /* for allow.mount.<fs>: the dynamic pr_allow bit */
};
extern const struct jm_module jm_modules[JM_NMODULES];
/* Load module m (not loaded yet) with the lock held, as kldload(2) does:
 * 0 and its file id in *idp, or ENOMEM when no file id is left. */
int jm_module_load(struct jm_host *h, int m, int *idp);
/* The dynamic pr_allow bit of module m's allow.mount.<fs>: 1 and the bit,
 * or 0 when it adds none. */
int jm_module_allow_bit(int m, uint64_t *bit);
/* allow.mount.devfs is built in (as in GENERIC). */
#define JM_PR_ALLOW_MOUNT_DEVFS 0x00000800u
#define JM_PR_ALLOW_ALL_DYNAMIC_BUILTIN JM_PR_ALLOW_MOUNT_DEVFS

struct jm_prison {
	uint32_t used;  /* slot holds a prison */
	uint32_t gen;   /* bumped every time the slot is reused */
	int32_t jid;
	int32_t parent; /* slot of the parent; -1 for prison0 */
	int32_t state;  /* JM_PRISON_STATE_* */
	uint32_t flags; /* JM_PR_* */
	uint64_t allow; /* JM_PR_ALLOW_* and dynamic bits */
	int32_t securelevel;
	int32_t children_max;
	int32_t enforce_statfs;
	int32_t devfs_ruleset;
	int32_t osreldate;
	int32_t cpuset_id;
	int32_t holds;    /* lingering references (jailmodel_hold) */
	int32_t sysv[3];  /* sysvmsg, sysvsem, sysvshm: JM_JAIL_SYS_* */
	int32_t owned;    /* owning descriptors were handed out */
	int32_t nchild;   /* direct children, any state */
	int32_t ndesc;    /* all descendants, any state (children.cur) */
	int32_t nproc;    /* attached processes */
	int32_t pending;  /* queued for jm_settle */
	uint32_t desc_serial; /* names the descriptor file, 0: none yet */
	/* The tree, as FreeBSD's pr_children/pr_sibling lists: children in the
	 * order they were made; 0 ends a list (prison0 is nobody's child). */
	int32_t child_first;
	int32_t child_last;
	int32_t sib_next;
	int32_t sib_prev;
	int32_t name_next; /* next prison in its byname[] bucket; 0: none */
	uint64_t hostid;
	char name[JM_MAXHOSTNAMELEN]; /* full name, relative to prison0 (the index's key) */
	char osrelease[JM_OSRELEASELEN];
	/* host.hostname, host.domainname and host.hostuuid are texts in the
	 * heap (JM_ST_HOSTNAME...), as long as they are: jm_host_text. */
	uint32_t ip4_count;
	uint32_t ip6_count;
	/* Heap blocks (JM_ST_*): offset (0: none) and the bytes used; a
	 * text (meta, env) is followed by a NUL in its block. */
	uint32_t store[JM_NSTORE];
	uint32_t store_len[JM_NSTORE];
};

/* ---- rctl(2) (rctl.c) ----------------------------------------------------- */

#define JM_MAXRULES 1024
#define JM_RCTL_MAX_INBUFSIZE 4096          /* RCTL_MAX_INBUFSIZE */
#define JM_RCTL_MAX_OUTBUFSIZE (16u << 20)  /* default kern.racct.rctl.maxbufsize */
#define JM_MAXLOGNAME 33

/* A rule as the kernel keeps it (struct rctl_rule): subject, per, resource
 * and action are indexes into rctl.c's name tables (0: undefined), amount in
 * the kernel's units (-1: undefined). */
struct jm_rule {
	uint32_t serial;   /* order of addition; 0: a free entry */
	int8_t subject;
	int8_t per;
	int8_t resource;
	int8_t action;
	uint8_t idset;     /* the subject's id was given (a filter may leave it out) */
	uint8_t pad[3];
	int64_t amount;
	int64_t id;        /* process: pid; user: uid */
	char name[JM_MAXHOSTNAMELEN]; /* loginclass or jail name */
};

struct jm_rctl {
	uint32_t next_serial;
	int32_t nrules_hint; /* highest entry in use + 1 */
	struct jm_rule rules[JM_MAXRULES];
};

/* The fork(2) check of racct for a new process of prison `slot` (the spawn
 * helper's child): 0, or EAGAIN when a deny rule on maxproc would be
 * exceeded (rctl.c). */
int jm_racct_fork_check(struct jm_host *h, int slot);
/* Forget every rule (a reset). */
void jm_rctl_init(struct jm_host *h);
/* The RACCT mode a host boots with (JAILCORE_MODEL_RACCT). */
int jm_racct_boot_mode(void);

/* ---- kqueue(2) jail events (kevent.c) -------------------------------------- */

#define JM_MAXKQ 256
#define JM_MAXKNOTES 4096

/* A kqueue: its owner (a kqueue is not inherited across fork) and its
 * wake-up FIFO, kq-PID-SERIAL in the descriptor directory. */
struct jm_kq {
	int32_t pid;     /* 0: a free entry */
	uint32_t serial;
};

/* A knote of EVFILT_JAIL or EVFILT_JAILDESC, and what it has gathered since
 * it was last read. */
struct jm_knote {
	int32_t kq;        /* index into kqs; -1: a free entry */
	uint32_t kq_serial;
	int32_t slot;      /* the prison it watches */
	uint32_t gen;
	int16_t filter;
	uint16_t flags;    /* EV_* to report: EV_EOF, EV_ONESHOT once removed */
	uint32_t sfflags;  /* the NOTE_JAIL_* asked for */
	uint32_t fflags;   /* gathered */
	uint32_t active;   /* something to report */
	int64_t data;
	uint64_t ident;
	uint64_t udata;
};

struct jm_kev {
	uint32_t next_serial;
	int32_t nkq_hint;     /* highest kq entry in use + 1 */
	int32_t nknotes_hint; /* highest knote entry in use + 1 */
	int32_t nknotes;      /* knotes in use: 0 makes posting free */
	struct jm_kq kqs[JM_MAXKQ];
	struct jm_knote knotes[JM_MAXKNOTES];
};

/* NOTE_JAIL_* (sys/event.h) */
#define JM_NOTE_JAIL_CHILD 0x80000000u
#define JM_NOTE_JAIL_SET 0x40000000u
#define JM_NOTE_JAIL_ATTACH 0x20000000u
#define JM_NOTE_JAIL_REMOVE 0x10000000u
#define JM_NOTE_JAIL_MULTI 0x08000000u
#define JM_NOTE_JAIL_CTRLMASK 0xf0000000u

/* Post an event to the knotes of prison `slot`: NOTE_JAIL_SET, _ATTACH
 * (data: the pid), _CHILD (data: the new jid) or _REMOVE. */
void jm_knote(struct jm_host *h, int slot, uint32_t hint, int64_t data);
/* Forget every kqueue and knote (a reset). */
void jm_kev_init(struct jm_host *h);
/* Drop the kqueues of processes that are gone. */
void jm_kev_sweep(struct jm_host *h);

struct jm_proc {
	int32_t pid;    /* 0: free entry */
	int32_t prison; /* slot */
	uint32_t gen;   /* the prison slot's gen when attached */
	int32_t pad;
};

/* Everything the undo log saves wholesale at the start of a change. */
struct jm_globals {
	int32_t version;        /* 14 or 15 */
	int32_t lastprid;
	int32_t lastdeadid;
	int32_t enforce_statfs; /* security.jail.enforce_statfs */
	uint32_t meta_maxbufsize; /* the hard limit */
	uint32_t meta_softmax;    /* the soft limit: security.jail.param.meta */
	uint32_t max_af_ips;
	int32_t next_fileid;
	int32_t module_fileid[JM_NMODULES]; /* 0: not loaded */
	uint32_t next_desc_serial;
	int32_t nprocs_hint;    /* highest proc entry in use + 1 */
	int32_t nprisons_hint;  /* highest prison slot in use + 1 */
	int32_t nowned;         /* prisons with owning descriptors */
	int32_t nbyjid;         /* entries of byjid[] */
	int32_t npending;       /* entries of pending[] */
	int32_t racct;          /* JAILMODEL_RACCT_*: the kernel's RACCT/RCTL, set at boot */
	uint32_t rctl_maxbufsize; /* kern.racct.rctl.maxbufsize */
	int32_t nmulti[2];      /* prisons holding 2+ IPv4 ([0]) or IPv6 ([1]) addresses */
};

/* The heap's bookkeeping (saved word by word in the undo log). */
struct jm_heapctl {
	uint32_t brk;                 /* end of the blocks carved so far */
	uint32_t free[JM_HEAP_NCLS];  /* free lists, by size */
	uint32_t limbo[JM_HEAP_NCLS]; /* freed by the change in progress */
	uint32_t nlimbo;              /* blocks on the limbo lists */
};

struct jm_undo_rec {
	uint32_t offset; /* of the saved bytes within struct jm_host */
	uint32_t len;
};

/* Room for a change that touches every prison (removing the host's whole
 * tree) and the tables besides. */
#define JM_UNDO_ARENA \
	(JM_MAXPRISONS * (sizeof(struct jm_prison) + 64 + 2 * JM_NSTORE * 48) + (8u << 20))

struct jm_undo {
	uint32_t active;  /* a change is in progress */
	uint32_t serial;
	uint32_t nrec;
	uint32_t used;    /* bytes of arena used */
	unsigned char arena[JM_UNDO_ARENA];
};

#define JM_BITMAP_WORDS ((JM_MAXPRISONS + 2 + 63) / 64)
#define JM_NAMEHASH 16384 /* buckets of byname[], a power of two */

#define JM_MAGIC 0x31304c45444f4d4aULL /* "JMODEL01" */
#define JM_LAYOUT 10

struct jm_host {
	uint64_t magic;
	uint32_t layout;
	uint32_t size;          /* sizeof(struct jm_host) */
	pthread_mutex_t lock;   /* process-shared, robust */
	uint32_t initialized;
	uint32_t epoch;         /* bumped by every reset */
	uint32_t owner_uid;     /* the host's own superuser besides root: its creator */
	char descdir[JM_MAXPATHLEN]; /* where descriptor files live; "" until needed */
	struct jm_globals g;
	struct jm_prison prisons[JM_MAXPRISONS];
	struct jm_proc procs[JM_MAXPROCS];
	int32_t byjid[JM_MAXPRISONS];      /* slots of every prison but prison0, by jid */
	int32_t pending[JM_MAXPRISONS];    /* slots jm_settle must look at */
	int32_t byname[JM_NAMEHASH];       /* first slot of each bucket of full names; 0: none */
	uint64_t slot_used[JM_BITMAP_WORDS];
	uint64_t cpuset_used[JM_BITMAP_WORDS];
	uint32_t undo_mark[JM_MAXPRISONS]; /* undo serial that saved each prison */
	struct jm_net net;  /* interfaces and addresses, per vnet (net.c) */
	struct jm_mnt mnt;  /* mounts and devfs rulesets (mount.c) */
	struct jm_rctl rctl; /* resource limit rules (rctl.c) */
	struct jm_kev kev;   /* kqueues and their jail knotes (kevent.c) */
	struct jm_heapctl hc;
	unsigned char heap[JM_HEAP_SIZE];  /* before the undo log, which covers it */
	struct jm_undo undo;
};

/* ---- state.c ------------------------------------------------------------ */

/* Whether slot `s`, read from the host, is a prison in use within the host's
 * bounds.  Every slot number that comes from the host (a parent, an entry of
 * byjid[] or pending[], a process's prison) is checked so before it indexes
 * anything: another process may have written the file since it was
 * validated. */
static inline int
jm_slot_ok(const struct jm_host *h, int s)
{
	int n = h->g.nprisons_hint;

	return s >= 0 && n <= JM_MAXPRISONS && s < n && h->prisons[s].used;
}
/* The call in progress found the host invalid: it goes on with harmless
 * values and fails at jm_unlock() with EINVAL. */
void jm_broken(void);
/* A table's high-water mark read from the host (nprocs_hint, nrules_hint,
 * ...): n when it is within [0, max], else jm_broken() and 0. */
static inline int
jm_bounded(int n, int max)
{
	if (n < 0 || n > max) {
		jm_broken();
		return 0;
	}
	return n;
}
/* Whether `s` is a prison in use and well formed (parent, state, heap
 * blocks, every string ended within its field); else jm_broken() and 0.
 * Done when a call first resolves a prison, before it reads its strings. */
int jm_prison_check(const struct jm_host *h, int s);
/* The checked parent of `s`: -1 for prison0; 0 after jm_broken() when it is
 * not a valid prison.  Walks up the tree use it, bounded by JM_MAXPRISONS
 * steps (a cycle fails the call). */
int jm_parent(const struct jm_host *h, int s);
/* The same, the parent's slot only checked (in use, within bounds): for walks
 * that read no string of the prisons they pass. */
int jm_parent_slot(const struct jm_host *h, int s);
/* Step a prison's counter read from the host by d (+1 or -1); a counter at
 * the end of its range (written so by another process) fails the call
 * instead of overflowing. */
static inline void
jm_count(int32_t *c, int d)
{
	if ((d > 0 && *c == INT32_MAX) || (d < 0 && *c == INT32_MIN))
		jm_broken();
	else
		*c += d;
}

/* Where a host lives when JAILCORE_MODEL_STATE does not say: one per user. */
#define JM_DEFAULT_DIR_FMT "/tmp/jailcore-%u"
#define JM_DEFAULT_FILE "host"
/* JAILCORE_MODEL_STATE=:private: selects a host private to the process tree. */
#define JM_STATE_PRIVATE ":private:"

/* The mapped host of this process (initialised on first use). */
struct jm_host *jm_host_get(void);
/* Lock the host, rolling back a change that a dead process left half done,
 * and notice exited processes and closed owning descriptors.  Returns the
 * host, or NULL with errno set. */
struct jm_host *jm_lock(void);
/* Commit and unlock: 0, or -1 with errno EINVAL when the call found the host
 * invalid (jm_broken): its change is undone and the host refused from now
 * on.  A call then fails with EINVAL whatever it was about to return. */
int jm_unlock(struct jm_host *h);
/* The end of a call that returns 0 or -1: jm_unlock, then `err` (an errno,
 * 0 for none) as the call's result: -1 with errno EINVAL when the call found
 * the host invalid, -1 with err, or 0. */
int jm_unlock_ret(struct jm_host *h, int err);
/* Begin/commit the undo log of a change (jm_lock does not begin one). */
void jm_change_begin(struct jm_host *h);
void jm_change_commit(struct jm_host *h);
/* Record bytes about to be changed (no-op outside a change). */
void jm_save(struct jm_host *h, const void *p, size_t len);
void jm_save_prison(struct jm_host *h, int slot);
void jm_save_globals(struct jm_host *h);
/* Undo the change in progress (a call that cannot complete) and begin anew. */
void jm_change_abort(struct jm_host *h);
/* Die by SIGKILL here if jailmodel_test_crash_at(point) asked for it. */
void jm_crash_point(int point);
/* Initialise a host in place (reset). */
void jm_host_init(struct jm_host *h);

/* Credentials and the caller's prison. */
int jm_caller_prison(struct jm_host *h); /* slot; registers inherited attaches */
int jm_caller_is_root(void);
int jm_control_allowed(struct jm_host *h);
/* What a "reboot" of the host (set_version, set_racct) needs: 0, EPERM
 * unless the caller may use control calls, EBUSY while a jail exists. */
int jm_reboot_check(struct jm_host *h);
/* Process table. */
int jm_proc_attach(struct jm_host *h, pid_t pid, int slot);
int jm_prison_nprocs(struct jm_host *h, int slot);
/* Liveness: make prisons dying and free them as references disappear.
 * jm_pend() queues a prison that may have lost its last reference; jm_settle()
 * looks at the queued ones only, so its cost follows the change, not the host. */
void jm_pend(struct jm_host *h, int slot);
void jm_settle(struct jm_host *h);
/* The jid index and the tables that go with a prison's life. */
void jm_prison_link(struct jm_host *h, int slot);   /* a new prison, jid and parent set */
void jm_prison_unlink(struct jm_host *h, int slot); /* before it is freed */
void jm_prison_renumber(struct jm_host *h, int slot, int jid);
/* Give a linked prison a new full name (kept in the name index). */
void jm_prison_rename(struct jm_host *h, int slot, const char *name);
/* The prisons below `top`, parents before their children, through the
 * children lists (FreeBSD's FOREACH_PRISON_DESCENDANT): start with
 * s = jm_walk_next(h, top, top, &steps), steps = 0; -1 ends the walk.  Every
 * link is checked as it is followed (a bad one: jm_broken() and the end). */
int jm_walk_next(const struct jm_host *h, int top, int s, int *steps);
#define JM_FOREACH_DESCENDANT(h, top, s, steps) \
	for (int steps = 0, s = jm_walk_next((h), (top), (top), &steps); s >= 0; \
	     s = jm_walk_next((h), (top), s, &steps))
/* The children of `p`, in the order they were made. */
int jm_child_next(const struct jm_host *h, int p, int c, int *steps);
#define JM_FOREACH_CHILD(h, p, c, steps) \
	for (int steps = 0, c = jm_child_next((h), (p), 0, &steps); c >= 0; \
	     c = jm_child_next((h), (p), c, &steps))
/* The prisons whose full name is `name`: the first, then each next
 * (jm_name_next), -1 at the end; entries checked as they are read. */
int jm_name_first(const struct jm_host *h, const char *name, int *steps);
int jm_name_next(const struct jm_host *h, int s, int *steps);
uint32_t jm_name_bucket(const char *name);
/* Position in byjid[] of the first prison whose jid is greater than `jid`. */
int jm_index_after(const struct jm_host *h, int jid);
int jm_alloc_slot(struct jm_host *h);
int jm_alloc_cpuset(struct jm_host *h);

/* The heap.  jm_store_get: a prison's data of `field` and its length, NULL
 * (length 0) when it has none; the block is checked against the heap's
 * bounds and its owner first.  jm_store_set: replace it with `len` bytes
 * (and a NUL after them when `text`), in a new block; 0 or ENOMEM when the
 * heap has no room.  jm_store_release: free every block of a prison. */
const void *jm_store_get(const struct jm_host *h, int slot, int field, size_t *len);
/* A prison's text kept in the heap (JM_ST_PATH: its global path, as jail_get
 * reports it; JM_ST_ROOT: the global path of its root directory), checked
 * where it is read: "" after jm_broken() when it is not a string in its
 * block. */
const char *jm_text(const struct jm_host *h, int slot, int field);
#define jm_path(h, slot) jm_text((h), (slot), JM_ST_PATH)
#define jm_root(h, slot) jm_text((h), (slot), JM_ST_ROOT)
/* A text that may be empty (JM_ST_HOSTNAME, JM_ST_DOMAINNAME,
 * JM_ST_HOSTUUID): "" when the prison has no block for it, else jm_text. */
const char *jm_host_text(const struct jm_host *h, int slot, int field);
/* Set such a text: no block for "", else a block of the text. */
int jm_host_text_set(struct jm_host *h, int slot, int field, const char *text);
int jm_store_set(struct jm_host *h, int slot, int field, const void *data, size_t len, int text);
void jm_store_release(struct jm_host *h, int slot);
/* For tests of the heap's exhaustion: this process carves no block beyond
 * `bytes` of the heap (0: the whole heap). */
JAILMODEL_API void jailmodel_test_heap_limit(uint32_t bytes);
/* A prison's addresses of one family (v6 0 or 1) and their count. */
const uint8_t *jm_ips(const struct jm_host *h, int slot, int v6, uint32_t *n);

/* ---- meta.c --------------------------------------------------------------- */

/* A jail's meta (which 0) or env (1) text, NUL-terminated. */
const char *jm_meta_text(const struct jm_host *h, int slot, int which);

/* ---- prison.c: tree helpers --------------------------------------------- */

int jm_is_descendant(const struct jm_host *h, int slot, int ancestor);
int jm_depth_below(const struct jm_host *h, int slot, int ancestor);
int jm_children_cur(const struct jm_host *h, int slot);
int jm_has_children(const struct jm_host *h, int slot);
/* Find a jail by jid among the descendants of slot `top` (any state); -1 if none. */
int jm_find_child_jid(const struct jm_host *h, int top, int jid);
/* Find any prison with this jid in the whole host (any state); -1 if none. */
int jm_find_jid(const struct jm_host *h, int jid);
/* Kill (mark dying, drop persist, SIGKILL processes) a prison and its descendants. */
void jm_prison_remove(struct jm_host *h, int slot);
const char *jm_relative_name(const struct jm_host *h, int slot, int viewer);

/* ---- desc.c ---------------------------------------------------------------- */

/* Whether a jail descriptor's credential (its opener's) is privileged. */
int jm_desc_cred_privileged(int fd);

/* ---- opts.c: the vfs option list ----------------------------------------- */

#define JM_MAXOPTS 512

struct jm_opt {
	char *name;     /* NUL-terminated copy */
	void *value;    /* copy, NULL when len == 0 */
	size_t len;     /* value length */
	int pos;        /* pair index in the caller's iovec */
	int seen;       /* consumed by some handler */
	int dead;       /* discarded by de-duplication */
	size_t namelen; /* strlen(name) */
	int rorw;       /* its last dotted part is ro, rdonly, norw, rw or noro */
};

struct jm_opts {
	int n;
	struct jm_opt opt[JM_MAXOPTS];
	char errmsg_set; /* an errmsg was formatted */
	int errmsg_idx;  /* index of the errmsg option or -1 */
	uint64_t firsts; /* bit (c & 63) for the first byte c of each live name */
};

/* copyinuio: the iovec array and its lengths (EFAULT, EINVAL); 0 if fine. */
int jm_iov_copyin(const struct iovec *iov, unsigned int niov);
/* The start of a call that takes name/value pairs: an even count of at
 * least `min`, the array and its lengths readable (copyinuio), then an empty
 * option list; NULL with errno otherwise. */
struct jm_opts *jm_opts_new(const struct iovec *iov, unsigned int niov, unsigned int min);
/* Copy in and de-duplicate; 0 or an errno. */
int jm_opts_build(struct jm_opts *o, const struct iovec *iov, unsigned int niov);
void jm_opts_free(struct jm_opts *o);
/* Find the live option `name` (marks it seen); NULL if absent. */
struct jm_opt *jm_opt_find(struct jm_opts *o, const char *name);
/* vfs_copyopt: option present -> 0 and value copied when len matches (EINVAL
 * when not); absent -> ENOENT. */
int jm_opt_copy(struct jm_opts *o, const char *name, void *dst, size_t len);
/* vfs_getopt for strings: ENOENT absent; 0 and the value and its length otherwise. */
int jm_opt_get(struct jm_opts *o, const char *name, void **val, size_t *len);
/* vfs_flagopt: 1 if the boolean is present (either form consumed). */
int jm_opt_flag(struct jm_opts *o, const char *name);
/* Format the kernel's message into the errmsg option, if any. */
void jm_opt_error(struct jm_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write-back for jail_get: the setopt family; 0, ENOENT or EINVAL. */
int jm_opt_set(struct jm_opts *o, const char *name, const void *val, size_t len);
int jm_opt_set_str(struct jm_opts *o, const char *name, const char *s);
int jm_opt_set_part(struct jm_opts *o, const char *name, const void *val, size_t len);
/* The first unconsumed option other than errmsg, or NULL. */
struct jm_opt *jm_opt_unseen(struct jm_opts *o);
/* Copy results back to the caller's iovec (jail_get); the errmsg buffer always. */
int jm_opts_copyout(struct jm_opts *o, struct iovec *iov, unsigned int niov, int all);

/* ---- sysctl.c ------------------------------------------------------------ */

/* sysctl entry points take the lock themselves. */

/* ---- helpers ------------------------------------------------------------- */

#define JM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define JM_UNUSED(x) ((void)(x))

#endif /* JAILCORE_MODEL_H */
