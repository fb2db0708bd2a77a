/*
 * opts.c: the option list that jail_set(2) and jail_get(2) parse their iovec
 * into, with the rules of FreeBSD's vfs option code: every name and value is
 * copied in (for jail_get too), names must end in NUL, sizes are bounded,
 * a later option replaces an earlier equal one (where "noX" equals "X" on
 * any dotted component), and jail_get writes values back by the rules of the
 * vfs setopt family.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* "ro", "rdonly", "norw" and "rw", "noro" are all one option to the vfs
 * code; no jail parameter has these names, but the equality is kept. */
static int
jm_is_rorw(const char *s)
{
	return strcmp(s, "ro") == 0 || strcmp(s, "rdonly") == 0 || strcmp(s, "norw") == 0 ||
	    strcmp(s, "rw") == 0 || strcmp(s, "noro") == 0;
}

/* Whether a equals "no" + b, or b equals "no" + a. */
static int
jm_no_pair(const char *a, const char *b)
{
	return (strncmp(a, "no", 2) == 0 && strcmp(a + 2, b) == 0) ||
	    (strncmp(b, "no", 2) == 0 && strcmp(a, b + 2) == 0);
}

static int
jm_opt_equal(const char *a, const char *b)
{
	const char *dot;

	if (strcmp(a, b) == 0 || jm_no_pair(a, b))
		return 1;
	/* Walk the common dotted prefix; "x.noy" equals "x.y". */
	while ((dot = strchr(a, '.')) != NULL) {
		size_t n = (size_t)(dot - a) + 1;

		if (strncmp(a, b, n) != 0)
			break;
		a += n;
		b += n;
		if (jm_no_pair(a, b))
			return 1;
	}
	return jm_is_rorw(a) && jm_is_rorw(b);
}

/* jm_opt_equal of two copied-in options, sparing the string work where the
 * lengths decide: equal names have equal lengths, a "no" pair differs by
 * two bytes, and names of other lengths are equal only as the ro/rw family
 * (whose last dotted parts are both of it). */
static int
jm_opts_same(const struct jm_opt *a, const struct jm_opt *b)
{
	if ((a->rorw && b->rorw) || a->namelen + 2 == b->namelen || b->namelen + 2 == a->namelen)
		return jm_opt_equal(a->name, b->name);
	return a->namelen == b->namelen && memcmp(a->name, b->name, a->namelen) == 0;
}

/* copyinuio (4.1 step 2): the iovec array itself and its lengths, before
 * any flag check of kern_jail_set/kern_jail_get, since sys_jail_set and
 * sys_jail_get copy it in first. */
int
jm_iov_copyin(const struct iovec *iov, unsigned int niov)
{
	size_t total = 0;

	if (niov > JM_UIO_MAXIOV)
		return EINVAL;
	if (niov == 0)
		return 0;
	if (iov == NULL)
		return EFAULT;
	for (unsigned int i = 0; i < niov; i++) {
		if (iov[i].iov_len > (size_t)0x7fffffff - total)
			return EINVAL;
		total += iov[i].iov_len;
	}
	return 0;
}

struct jm_opts *
jm_opts_new(const struct iovec *iov, unsigned int niov, unsigned int min)
{
	struct jm_opts *o;
	int err;

	if ((niov & 1) || niov < min) {
		errno = EINVAL;
		return NULL;
	}
	if ((err = jm_iov_copyin(iov, niov)) != 0) {
		errno = err;
		return NULL;
	}
	o = malloc(sizeof(*o));
	if (o == NULL)
		return NULL;
	o->n = 0;
	o->errmsg_idx = -1;
	o->errmsg_set = 0;
	o->firsts = 0;
	return o;
}

int
jm_opts_build(struct jm_opts *o, const struct iovec *iov, unsigned int niov)
{
	size_t memused = 0;
	char *arena, *cur;
	int err;

	o->n = 0;
	o->errmsg_set = 0;
	o->errmsg_idx = -1;
	o->firsts = 0;
	if (niov == 0)
		return 0;
	if ((err = jm_iov_copyin(iov, niov)) != 0)
		return err;
	/* The size checks come pair by pair, as the copy-in does. */
	for (unsigned int i = 0; i < niov; i += 2) {
		size_t namelen = iov[i].iov_len, optlen = iov[i + 1].iov_len;

		if (namelen > JM_VFS_MOUNTARG_SIZE_MAX || optlen > JM_VFS_MOUNTARG_SIZE_MAX)
			return EINVAL;
		memused += JM_VFSOPT_OVERHEAD + namelen + optlen;
		if (memused > JM_VFS_MOUNTARG_SIZE_MAX)
			return EINVAL;
		if (namelen > 0 && iov[i].iov_base == NULL)
			return EFAULT;
		if (namelen == 0 || ((const char *)iov[i].iov_base)[namelen - 1] != '\0')
			return EINVAL;
		if (optlen > 0 && iov[i + 1].iov_base == NULL)
			return EFAULT;
	}
	arena = malloc(memused + 1);
	if (arena == NULL)
		return ENOMEM;
	cur = arena;
	for (unsigned int i = 0; i < niov; i += 2) {
		struct jm_opt *op = &o->opt[o->n++];
		size_t namelen = iov[i].iov_len, optlen = iov[i + 1].iov_len;

		memcpy(cur, iov[i].iov_base, namelen);
		op->name = cur;
		op->namelen = strlen(cur);
		op->rorw = jm_is_rorw(strrchr(cur, '.') != NULL ? strrchr(cur, '.') + 1 : cur);
		cur += namelen;
		op->len = optlen;
		op->value = NULL;
		if (optlen > 0) {
			memcpy(cur, iov[i + 1].iov_base, optlen);
			op->value = cur;
			cur += optlen;
		}
		op->pos = (int)(i / 2);
		op->seen = 0;
		op->dead = 0;
	}
	/* The last of equal options wins. */
	for (int i = o->n - 1; i >= 0; i--) {
		if (o->opt[i].dead)
			continue;
		for (int j = i - 1; j >= 0; j--)
			if (!o->opt[j].dead && jm_opts_same(&o->opt[i], &o->opt[j]))
				o->opt[j].dead = 1;
	}
	for (int i = 0; i < o->n; i++) {
		if (o->opt[i].dead)
			continue;
		o->firsts |= (uint64_t)1 << ((unsigned char)o->opt[i].name[0] & 63);
		if (strcmp(o->opt[i].name, "errmsg") == 0)
			o->errmsg_idx = i;
	}
	return 0;
}

void
jm_opts_free(struct jm_opts *o)
{
	/* Every copy lives in one block that starts at the first name. */
	if (o->n > 0)
		free(o->opt[0].name);
	o->n = 0;
}

struct jm_opt *
jm_opt_find(struct jm_opts *o, const char *name)
{
	/* jail_get(2) looks up every parameter it knows in the caller's few
	 * options: the first bytes of the live names answer most lookups, and
	 * spare most strcmp calls of the others. */
	char first = name[0];

	if ((o->firsts >> ((unsigned char)first & 63) & 1) == 0)
		return NULL;
	for (int i = 0; i < o->n; i++) {
		struct jm_opt *op = &o->opt[i];

		if (op->name[0] == first && !op->dead && strcmp(op->name, name) == 0) {
			op->seen = 1;
			return op;
		}
	}
	return NULL;
}

int
jm_opt_copy(struct jm_opts *o, const char *name, void *dst, size_t len)
{
	struct jm_opt *op = jm_opt_find(o, name);

	if (op == NULL)
		return ENOENT;
	if (op->len != len)
		return EINVAL;
	memcpy(dst, op->value, len);
	return 0;
}

int
jm_opt_get(struct jm_opts *o, const char *name, void **val, size_t *len)
{
	struct jm_opt *op = jm_opt_find(o, name);

	if (op == NULL)
		return ENOENT;
	*val = op->value;
	*len = op->len;
	return 0;
}

int
jm_opt_flag(struct jm_opts *o, const char *name)
{
	return jm_opt_find(o, name) != NULL;
}

void
jm_opt_error(struct jm_opts *o, const char *fmt, ...)
{
	struct jm_opt *op;
	va_list ap;

	if (o->errmsg_idx < 0)
		return;
	op = &o->opt[o->errmsg_idx];
	if (op->len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(op->value, op->len, fmt, ap);
	va_end(ap);
	o->errmsg_set = 1;
}

int
jm_opt_set(struct jm_opts *o, const char *name, const void *val, size_t len)
{
	struct jm_opt *op = jm_opt_find(o, name);

	if (op == NULL)
		return ENOENT;
	if (op->value == NULL) {
		op->len = len;
		return 0;
	}
	if (op->len != len)
		return EINVAL;
	memcpy(op->value, val, len);
	return 0;
}

int
jm_opt_set_str(struct jm_opts *o, const char *name, const char *s)
{
	struct jm_opt *op = jm_opt_find(o, name);
	size_t n = strlen(s);

	if (op == NULL)
		return ENOENT;
	if (op->value == NULL) {
		op->len = n + 1;
		return 0;
	}
	if (n >= op->len)
		return EINVAL;
	memcpy(op->value, s, n + 1);
	return 0;
}

int
jm_opt_set_part(struct jm_opts *o, const char *name, const void *val, size_t len)
{
	struct jm_opt *op = jm_opt_find(o, name);

	if (op == NULL)
		return ENOENT;
	if (op->value == NULL) {
		op->len = len;
		return 0;
	}
	if (op->len < len)
		return EINVAL;
	op->len = len;
	if (len > 0)
		memcpy(op->value, val, len);
	return 0;
}

struct jm_opt *
jm_opt_unseen(struct jm_opts *o)
{
	for (int i = 0; i < o->n; i++) {
		struct jm_opt *op = &o->opt[i];

		if (!op->dead && !op->seen && strcmp(op->name, "errmsg") != 0)
			return op;
	}
	return NULL;
}

int
jm_opts_copyout(struct jm_opts *o, struct iovec *iov, unsigned int niov, int all)
{
	(void)niov;
	for (int i = 0; i < o->n; i++) {
		struct jm_opt *op = &o->opt[i];
		struct iovec *v = &iov[2 * op->pos + 1];

		if (op->dead)
			continue;
		if (i == o->errmsg_idx) {
			if (o->errmsg_set)
				memcpy(v->iov_base, op->value, op->len);
			continue;
		}
		if (!all)
			continue;
		v->iov_len = op->len;
		if (op->value != NULL && op->len > 0)
			memcpy(v->iov_base, op->value, op->len);
	}
	return 0;
}
