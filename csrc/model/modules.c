/*
 * modules.c: the model's loadable modules (kldload(2) and friends) and the
 * jailsys parameters of the SysV IPC modules.
 */
#include <string.h>

#include <stdint.h>

#include "model.h"
#include "tree.h"

/* "/boot/kernel/nullfs.ko" -> index of "nullfs"; -1 if unknown. */
static int
jm_module_index(const char *file)
{
	const char *base = strrchr(file, '/');
	size_t n;

	base = base != NULL ? base + 1 : file;
	n = strlen(base);
	if (n > 3 && strcmp(base + n - 3, ".ko") == 0)
		n -= 3;
	for (int m = 0; m < JM_NMODULES; m++)
		if (strlen(jm_modules[m].name) == n && strncmp(jm_modules[m].name, base, n) == 0)
			return m;
	return -1;
}

static int
jm_is_sysv(int m)
{
	return m == JM_MOD_SYSVMSG || m == JM_MOD_SYSVSEM || m == JM_MOD_SYSVSHM;
}

int
jm_module_allow_bit(int m, uint64_t *bit)
{
	for (int i = 0; i < jm_nallow_params; i++) {
		if (jm_allow_params[i].module == m) {
			*bit = jm_allow_params[i].bit;
			return 1;
		}
	}
	return 0;
}

int
jm_module_load(struct jm_host *h, int m, int *idp)
{
	uint64_t bit;

	if (h->g.next_fileid >= INT32_MAX)
		return ENOMEM; /* no file id left: as a kernel out of them */
	jm_save_globals(h);
	*idp = h->g.module_fileid[m] = h->g.next_fileid++;
	for (int s = 0; s < h->g.nprisons_hint; s++) {
		struct jm_prison *pr = &h->prisons[s];

		if (!pr->used)
			continue;
		jm_save_prison(h, s);
		if (jm_is_sysv(m))
			pr->sysv[m] = s == 0 ? JM_JAIL_SYS_NEW :
			    (pr->allow & JM_PR_ALLOW_SYSVIPC) ? JM_JAIL_SYS_INHERIT :
			    JM_JAIL_SYS_DISABLE;
		else if (s == 0 && jm_module_allow_bit(m, &bit))
			pr->allow |= bit;
	}
	return 0;
}

int
jailmodel_kldload(const char *file)
{
	struct jm_host *h = jm_lock();
	int m, err = 0, id = -1;

	if (h == NULL)
		return -1;
	if (!jm_control_allowed(h))
		err = EPERM;
	else if (file == NULL || (m = jm_module_index(file)) < 0)
		err = ENOENT;
	else if (h->g.module_fileid[m] != 0)
		err = EEXIST;
	else
		err = jm_module_load(h, m, &id);
	if (jm_unlock(h) != 0)
		err = EINVAL;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return id;
}

int
jailmodel_kldfind(const char *file)
{
	struct jm_host *h = jm_lock();
	int m, id = -1;

	if (h == NULL)
		return -1;
	if (file != NULL && (m = jm_module_index(file)) >= 0 && h->g.module_fileid[m] != 0)
		id = h->g.module_fileid[m];
	if (jm_unlock(h) != 0)
		return -1;
	if (id < 0)
		errno = ENOENT;
	return id;
}

int
jailmodel_kldunload(int fileid)
{
	struct jm_host *h = jm_lock();
	int err = ENOENT;
	uint64_t bit;

	if (h == NULL)
		return -1;
	if (!jm_control_allowed(h)) {
		err = EPERM;
	} else {
		for (int m = 0; m < JM_NMODULES; m++) {
			if (fileid <= 0 || h->g.module_fileid[m] != fileid)
				continue;
			jm_save_globals(h);
			h->g.module_fileid[m] = 0;
			for (int s = 0; s < h->g.nprisons_hint; s++) {
				struct jm_prison *pr = &h->prisons[s];

				if (!pr->used)
					continue;
				jm_save_prison(h, s);
				if (jm_is_sysv(m))
					pr->sysv[m] = JM_JAIL_SYS_DISABLE;
				else if (jm_module_allow_bit(m, &bit))
					pr->allow &= ~bit;
			}
			err = 0;
		}
	}
	return jm_unlock_ret(h, err);
}

/* Whether the request names `name` (without consuming it). */
static int
jm_has_opt(const struct jm_opts *o, const char *name)
{
	for (int i = 0; i < o->n; i++)
		if (!o->opt[i].dead && strcmp(o->opt[i].name, name) == 0)
			return 1;
	return 0;
}

int
jm_sysv_check(struct jm_host *h, struct jm_opts *o, int ppr, int32_t req[3])
{
	for (int m = JM_MOD_SYSVMSG; m <= JM_MOD_SYSVSHM; m++) {
		int32_t v;
		int err;

		req[m] = -1;
		if (h->g.module_fileid[m] == 0)
			continue;
		err = jm_opt_copy(o, jm_modules[m].param, &v, sizeof(v));
		if (err == ENOENT) {
			/* The implied value is not checked (msg_prison_check
			 * looks only at an explicit "sysvmsg"): the "inherit"
			 * that allow.sysvipc implies quietly becomes "disable"
			 * under a disabled parent, as msg_prison_set (and its
			 * sem/shm twins) finds no namespace to inherit. */
			if (jm_has_opt(o, "allow.nosysvipc"))
				v = JM_JAIL_SYS_DISABLE;
			else if (jm_has_opt(o, "allow.sysvipc"))
				v = h->prisons[ppr].sysv[m] == JM_JAIL_SYS_DISABLE ?
				    JM_JAIL_SYS_DISABLE : JM_JAIL_SYS_INHERIT;
			else
				continue;
		} else if (err != 0) {
			return err;
		}
		if (v < JM_JAIL_SYS_DISABLE || v > JM_JAIL_SYS_INHERIT)
			return EINVAL;
		if (v != JM_JAIL_SYS_DISABLE && h->prisons[ppr].sysv[m] == JM_JAIL_SYS_DISABLE)
			return EPERM;
		req[m] = v;
	}
	return 0;
}

void
jm_sysv_apply(struct jm_host *h, int slot, const int32_t req[3], int created)
{
	(void)created;
	for (int m = JM_MOD_SYSVMSG; m <= JM_MOD_SYSVSHM; m++) {
		if (req[m] < 0 || h->g.module_fileid[m] == 0)
			continue;
		jm_save_prison(h, slot);
		h->prisons[slot].sysv[m] = req[m];
		if (req[m] != JM_JAIL_SYS_DISABLE)
			continue;
		for (int s = 1; s < h->g.nprisons_hint; s++) {
			if (h->prisons[s].used && jm_is_descendant(h, s, slot)) {
				jm_save_prison(h, s);
				h->prisons[s].sysv[m] = JM_JAIL_SYS_DISABLE;
			}
		}
	}
}

int
jm_sysv_get(struct jm_host *h, struct jm_opts *o, int slot)
{
	for (int m = JM_MOD_SYSVMSG; m <= JM_MOD_SYSVSHM; m++) {
		int32_t v = h->prisons[slot].sysv[m];
		int err;

		if (h->g.module_fileid[m] == 0)
			continue;
		err = jm_opt_set(o, jm_modules[m].param, &v, sizeof(v));
		if (err != 0 && err != ENOENT)
			return err;
	}
	return 0;
}
