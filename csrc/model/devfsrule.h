/*
 * devfsrule.h: the model's devfs rulesets (FreeBSD's devfs_rule.c) and the
 * state of the device nodes of each devfs mount.
 *
 * The registry is global, as FreeBSD's: rulesets by number, each with its
 * rules in rule-number order.  Each devfs mount of the mount table (mount.h)
 * holds its active ruleset's number and a struct jm_devfs_nodes: the state
 * of every device of the model's fixed device list in that mount.
 */
#ifndef JAILCORE_MODEL_DEVFSRULE_H
#define JAILCORE_MODEL_DEVFSRULE_H

#include <stdint.h>

struct jm_host;

/* The fixed device list's length (devfsrule.c: jm_devfs_devs). */
#define JM_DEVFS_NDEV 56

/* One device node of a devfs mount. */
struct jm_devfs_node {
	uint8_t hidden;  /* DRB_HIDE applied (whiteout): 0 or 1 */
	uint8_t pad;
	uint16_t mode;   /* permission bits, <= 07777 */
	uint32_t uid;
	uint32_t gid;
};

struct jm_devfs_nodes {
	struct jm_devfs_node node[JM_DEVFS_NDEV];
};

/* The registry's fixed tables: at most JM_DEVFS_MAXSETS rulesets and
 * JM_DEVFS_MAXRULES rules in all (FreeBSD's are limited by memory only);
 * beyond them RADD and SUSE fail with ENOSPC. */
#define JM_DEVFS_MAXSETS 64
#define JM_DEVFS_MAXRULES 512
#define JM_DEVFS_PTRNLEN 200

/* A ruleset: number 1..65535 (0: free entry); refs = the devfs mounts whose
 * active ruleset it is + the stored rules that include it; nrules = its
 * rules in rule[]. */
struct jm_devfs_set {
	uint16_t num;
	uint16_t pad;
	int32_t refs;
	int32_t nrules;
};

/* A rule, kept unordered in rule[]: set 0 marks a free entry.  Fields as
 * struct devfs_rule's. */
struct jm_devfs_rule {
	uint16_t set;
	uint16_t num;  /* 1..65535 */
	int32_t icond;
	int32_t dswflags;
	int32_t iacts;
	int32_t bacts;
	uint32_t uid;
	uint32_t gid;
	uint16_t mode;
	uint16_t incset;
	char pathptrn[JM_DEVFS_PTRNLEN];
};

struct jm_devfs {
	int32_t nsets;   /* entries of set[] in use */
	int32_t nrules;  /* entries of rule[] in use */
	struct jm_devfs_set set[JM_DEVFS_MAXSETS];
	struct jm_devfs_rule rule[JM_DEVFS_MAXRULES];
};

/* At reset: an empty registry, then FreeBSD's default rulesets 1 to 5. */
void jm_devfs_init(struct jm_host *h);
int jm_devfs_core_valid(const struct jm_host *h);
int jm_devfs_valid(const struct jm_host *h);
/* A devfs mount takes (0, or ENOSPC when the registry is full) and drops a
 * reference on ruleset `rs` (0: none; no reference is kept).  Taking one
 * creates the ruleset when absent; dropping the last reference of an empty
 * ruleset reaps it. */
int jm_devfs_ruleset_ref(struct jm_host *h, int rs);
void jm_devfs_ruleset_unref(struct jm_host *h, int rs);
/* A new devfs mount's nodes: every device present, with its default owner
 * and mode, then ruleset `rs` applied (0: none).  The caller has jm_save'd
 * `nodes`. */
void jm_devfs_populate(struct jm_host *h, struct jm_devfs_nodes *nodes, int rs);
/* Apply ruleset `rs` once to the nodes (MNT_UPDATE with a ruleset,
 * DEVFSIO_SAPPLY); jm_save's what it changes. */
void jm_devfs_apply_ruleset(struct jm_host *h, struct jm_devfs_nodes *nodes, int rs);

#endif
