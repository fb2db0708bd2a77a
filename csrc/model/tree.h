/* tree.h: what the model's files share about prisons and parameters. */
#ifndef JAILCORE_MODEL_TREE_H
#define JAILCORE_MODEL_TREE_H

#include "model.h"

/* The allow.* booleans: name, pr_allow bit, first release that has it (0:
 * all), and the module that provides it (-1: built in). */
struct jm_allow_param {
	const char *name;
	uint64_t bit;
	int minver;
	int module;
};
extern const struct jm_allow_param jm_allow_params[];
extern const int jm_nallow_params;

int jm_allow_present(const struct jm_host *h, const struct jm_allow_param *a);
uint64_t jm_allow_all(const struct jm_host *h);
/* "a.b.c" -> "a.b.noc" (empty string if it does not fit). */
void jm_noname(char *dst, size_t size, const char *name);

void jm_prison0_init(struct jm_host *h);
void jm_host_release_strings(const struct jm_host *h, struct jm_prison *p0);
void jm_prison_die(struct jm_host *h, int slot);
int jm_find_name(const struct jm_host *h, int top, const char *name);
const char *jm_relative_path(const struct jm_host *h, int slot, int viewer);
int jm_caller_privileged(const struct jm_host *h, int mypr);

/* desc.c */
#define JM_DESC_NONE (-1)
int jm_desc_owners_gone(struct jm_host *h, int slot);
void jm_desc_forget(struct jm_host *h, int slot);
/* Resolve a descriptor: 0 and *slot, or an errno with the kernel's message
 * in *msg ("not a jail descriptor", "descriptor to dead jail"). */
int jm_desc_lookup(struct jm_host *h, int fd, int *slot, const char **msg);
/* The host's descriptor directory, made if needed and opened safely (desc.c):
 * 0 and its fd in *dfd, which the caller closes, or the errno. */
int jm_desc_dir(struct jm_host *h, int *dfd);
/* The jail a descriptor names, alive or not: 0 with its slot and gen, or
 * EBADF when fd is no jail descriptor of this host (desc.c). */
int jm_desc_target(struct jm_host *h, int fd, int *slot, uint32_t *gen);
/* A new descriptor for the prison: fd >= 0, or -1 with errno. */
int jm_desc_new(struct jm_host *h, int slot, int owning);

/* attach.c-like helpers in get.c */
int jm_do_attach(struct jm_host *h, int mypr, int slot);
/* The handle on the machine's real root that a chrooted process keeps
 * (get.c, jm_realroot), or -1 when this process has none. */
int jm_realroot_fd(void);

/* meta.c: meta and env (FreeBSD 15) */
int jm_meta_check(struct jm_host *h, struct jm_opts *o);
int jm_meta_apply(struct jm_host *h, struct jm_opts *o, int slot);
int jm_meta_get(struct jm_host *h, struct jm_opts *o, int slot);

/* modules.c: the SysV jailsys parameters */
int jm_sysv_check(struct jm_host *h, struct jm_opts *o, int ppr, int32_t req[3]);
void jm_sysv_apply(struct jm_host *h, int slot, const int32_t req[3], int created);
int jm_sysv_get(struct jm_host *h, struct jm_opts *o, int slot);

#endif
