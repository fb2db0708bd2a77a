/*
 * devfs.c: the seam's devfs ruleset calls, the DEVFSIO_* ioctls devfs(8)
 * issues (fs/devfs/devfs.h).  Each takes the backend and returns >= 0 or
 * -errno: on FreeBSD with struct devfs_rule of its own header, on the model
 * with the model's copy of it (jailmodel.h), laid out alike.
 */
#include <stdlib.h>
#include <string.h>

#include "jailcore.h"

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h> /* fs/devfs/devfs.h uses LIST_HEAD, TAILQ_ENTRY */
#include <fs/devfs/devfs.h>
#endif

/* The request of op, on the model (FreeBSD's values). */
static unsigned long
jc_devfs_request(int op)
{
	switch (op) {
	case JC_DEVFS_RADD: return JAILMODEL_DEVFSIO_RADD;
	case JC_DEVFS_RAPPLY: return JAILMODEL_DEVFSIO_RAPPLY;
	case JC_DEVFS_RGETNEXT: return JAILMODEL_DEVFSIO_RGETNEXT;
	case JC_DEVFS_RDEL: return JAILMODEL_DEVFSIO_RDEL;
	case JC_DEVFS_RAPPLYID: return JAILMODEL_DEVFSIO_RAPPLYID;
	case JC_DEVFS_SUSE: return JAILMODEL_DEVFSIO_SUSE;
	case JC_DEVFS_SAPPLY: return JAILMODEL_DEVFSIO_SAPPLY;
	case JC_DEVFS_SGETNEXT: return JAILMODEL_DEVFSIO_SGETNEXT;
	default: return 0;
	}
}

/* Both struct devfs_rule and the model's have these members: fill one from
 * r, and r back from one. */
#define JC_RULE_IN(d, r) do { \
	memset(&(d), 0, sizeof(d)); \
	(d).dr_id = (r)->id; \
	(d).dr_icond = (r)->icond; \
	(d).dr_dswflags = (r)->dswflags; \
	memcpy((d).dr_pathptrn, (r)->pathptrn, sizeof((d).dr_pathptrn)); \
	(d).dr_pathptrn[sizeof((d).dr_pathptrn) - 1] = '\0'; \
	(d).dr_iacts = (r)->iacts; \
	(d).dr_bacts = (r)->bacts; \
	(d).dr_uid = (r)->uid; \
	(d).dr_gid = (r)->gid; \
	(d).dr_mode = (unsigned short)(r)->mode; \
	(d).dr_incset = (unsigned short)(r)->incset; \
} while (0)

#define JC_RULE_OUT(r, d) do { \
	(r)->id = (d).dr_id; \
	(r)->icond = (d).dr_icond; \
	(r)->dswflags = (d).dr_dswflags; \
	memcpy((r)->pathptrn, (d).dr_pathptrn, sizeof((r)->pathptrn)); \
	(r)->pathptrn[sizeof((r)->pathptrn) - 1] = '\0'; \
	(r)->iacts = (d).dr_iacts; \
	(r)->bacts = (d).dr_bacts; \
	(r)->uid = (d).dr_uid; \
	(r)->gid = (d).dr_gid; \
	(r)->mode = (d).dr_mode; \
	(r)->incset = (d).dr_incset; \
} while (0)

_Static_assert(sizeof(((struct jc_devfs_rule *)0)->pathptrn) == JAILMODEL_DEVFS_MAXPTRNLEN,
    "dr_pathptrn");

/* ---- the model ------------------------------------------------------------ */

static int
jc_model_rule(int fd, int op, struct jc_devfs_rule *r)
{
	struct jailmodel_devfs_rule d;
	int rc;

	if (op != JC_DEVFS_RADD && op != JC_DEVFS_RAPPLY && op != JC_DEVFS_RGETNEXT)
		return -EINVAL;
	JC_RULE_IN(d, r);
	d.dr_magic = JAILMODEL_DEVFS_MAGIC;
	rc = jc_result(jailmodel_ioctl(fd, jc_devfs_request(op), &d));
	if (rc == 0 && op != JC_DEVFS_RAPPLY)
		JC_RULE_OUT(r, d);
	return rc;
}

static int
jc_model_rid(int fd, int op, unsigned int rid)
{
	if (op != JC_DEVFS_RDEL && op != JC_DEVFS_RAPPLYID)
		return -EINVAL;
	return jc_result(jailmodel_ioctl(fd, jc_devfs_request(op), &rid));
}

static int
jc_model_set(int fd, int op, unsigned short *rs)
{
	if (op != JC_DEVFS_SUSE && op != JC_DEVFS_SAPPLY && op != JC_DEVFS_SGETNEXT)
		return -EINVAL;
	return jc_result(jailmodel_ioctl(fd, jc_devfs_request(op), rs));
}

/* ---- the kernel ----------------------------------------------------------- */

#if defined(__FreeBSD__)

static unsigned long
jc_kernel_request(int op)
{
	switch (op) {
	case JC_DEVFS_RADD: return DEVFSIO_RADD;
	case JC_DEVFS_RAPPLY: return DEVFSIO_RAPPLY;
	case JC_DEVFS_RGETNEXT: return DEVFSIO_RGETNEXT;
	case JC_DEVFS_RDEL: return DEVFSIO_RDEL;
	case JC_DEVFS_RAPPLYID: return DEVFSIO_RAPPLYID;
	case JC_DEVFS_SUSE: return DEVFSIO_SUSE;
	case JC_DEVFS_SAPPLY: return DEVFSIO_SAPPLY;
	case JC_DEVFS_SGETNEXT: return DEVFSIO_SGETNEXT;
	default: return 0;
	}
}

static int
jc_kernel_rule(int fd, int op, struct jc_devfs_rule *r)
{
	struct devfs_rule d;
	int rc;

	if (op != JC_DEVFS_RADD && op != JC_DEVFS_RAPPLY && op != JC_DEVFS_RGETNEXT)
		return -EINVAL;
	JC_RULE_IN(d, r);
	d.dr_magic = DEVFS_MAGIC;
	rc = jc_result(ioctl(fd, jc_kernel_request(op), &d));
	if (rc == 0 && op != JC_DEVFS_RAPPLY)
		JC_RULE_OUT(r, d);
	return rc;
}

static int
jc_kernel_rid(int fd, int op, unsigned int rid)
{
	devfs_rid id = rid;

	if (op != JC_DEVFS_RDEL && op != JC_DEVFS_RAPPLYID)
		return -EINVAL;
	return jc_result(ioctl(fd, jc_kernel_request(op), &id));
}

static int
jc_kernel_set(int fd, int op, unsigned short *rs)
{
	devfs_rsnum n = *rs;
	int rc;

	if (op != JC_DEVFS_SUSE && op != JC_DEVFS_SAPPLY && op != JC_DEVFS_SGETNEXT)
		return -EINVAL;
	rc = jc_result(ioctl(fd, jc_kernel_request(op), &n));
	if (rc == 0)
		*rs = n;
	return rc;
}

#else /* !__FreeBSD__ */

static int
jc_kernel_rule(int fd, int op, struct jc_devfs_rule *r)
{
	(void)fd, (void)op, (void)r;
	return -ENOSYS;
}

static int
jc_kernel_rid(int fd, int op, unsigned int rid)
{
	(void)fd, (void)op, (void)rid;
	return -ENOSYS;
}

static int
jc_kernel_set(int fd, int op, unsigned short *rs)
{
	(void)fd, (void)op, (void)rs;
	return -ENOSYS;
}

#endif

/* ---- the entry points -------------------------------------------------------- */

int
jc_devfs_rule_ioctl(int backend, int fd, int op, struct jc_devfs_rule *r)
{
	if (r == NULL)
		return -EFAULT;
	if (backend == JC_BACKEND_MODEL)
		return jc_model_rule(fd, op, r);
	return jc_kernel_rule(fd, op, r);
}

int
jc_devfs_rid_ioctl(int backend, int fd, int op, unsigned int rid)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_model_rid(fd, op, rid);
	return jc_kernel_rid(fd, op, rid);
}

int
jc_devfs_set_ioctl(int backend, int fd, int op, unsigned short *rs)
{
	if (rs == NULL)
		return -EFAULT;
	if (backend == JC_BACKEND_MODEL)
		return jc_model_set(fd, op, rs);
	return jc_kernel_set(fd, op, rs);
}

int
jc_devfs_nodes(int backend, int fd, struct jc_devfs_node *out, int n)
{
	struct jailmodel_devfs_node *buf;
	int total, k;

	if (backend != JC_BACKEND_MODEL)
		return -ENOSYS;
	if (n < 0 || (n > 0 && out == NULL))
		return -EINVAL;
	if (n == 0)
		return jc_result(jailmodel_devfs_nodes(fd, NULL, 0));
	if ((buf = calloc((size_t)n, sizeof(*buf))) == NULL)
		return -ENOMEM;
	total = jc_result(jailmodel_devfs_nodes(fd, buf, n));
	for (k = 0; k < total && k < n; k++) {
		memcpy(out[k].name, buf[k].name, sizeof(out[k].name));
		out[k].name[sizeof(out[k].name) - 1] = '\0';
		out[k].mode = buf[k].mode;
		out[k].uid = buf[k].uid;
		out[k].gid = buf[k].gid;
	}
	free(buf);
	return total;
}

int
jc_devfs_load_defaults(int backend)
{
	if (backend != JC_BACKEND_MODEL)
		return -ENOSYS;
	return jc_result(jailmodel_devfs_load_defaults());
}
