/*
 * devfsrule.c: the model's devfs rulesets (placeholder).
 */
#include <errno.h>

#include "model.h"

void jm_devfs_init(struct jm_host *h) { JM_UNUSED(h); }
int jm_devfs_core_valid(const struct jm_host *h) { JM_UNUSED(h); return 1; }
int jm_devfs_valid(const struct jm_host *h) { JM_UNUSED(h); return 1; }
int jm_devfs_ruleset_ref(struct jm_host *h, int rs) { JM_UNUSED(h); JM_UNUSED(rs); return 0; }
void jm_devfs_ruleset_unref(struct jm_host *h, int rs) { JM_UNUSED(h); JM_UNUSED(rs); }

void
jm_devfs_populate(struct jm_host *h, struct jm_devfs_nodes *nodes, int rs)
{
	JM_UNUSED(h), JM_UNUSED(rs);
	for (int i = 0; i < JM_DEVFS_NDEV; i++) {
		nodes->node[i].hidden = 0;
		nodes->node[i].mode = 0666;
		nodes->node[i].uid = 0;
		nodes->node[i].gid = 0;
	}
}

void
jm_devfs_apply_ruleset(struct jm_host *h, struct jm_devfs_nodes *nodes, int rs)
{
	JM_UNUSED(h), JM_UNUSED(nodes), JM_UNUSED(rs);
}

int
jailmodel_devfs_nodes(int fd, struct jailmodel_devfs_node *out, int n)
{
	JM_UNUSED(fd), JM_UNUSED(out), JM_UNUSED(n);
	errno = ENOSYS;
	return -1;
}

int
jm_devfs_ioctl(int fd, unsigned long request, void *data)
{
	JM_UNUSED(fd), JM_UNUSED(request), JM_UNUSED(data);
	errno = ENOSYS;
	return -1;
}

int
jailmodel_devfs_load_defaults(void)
{
	errno = ENOSYS;
	return -1;
}
