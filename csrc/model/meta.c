/*
 * meta.c: the meta and env parameters of FreeBSD 15: a text buffer of
 * key=value lines separated by newlines, set whole or key by key.  The
 * buffer, its NUL included, never exceeds security.jail.meta_maxbufsize, so
 * a reader with a buffer of that size (the parameter sysctl's value) always
 * gets it whole.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tree.h"

static const char *const jm_meta_names[2] = {"meta", "env"};

static char *
jm_meta_buf(struct jm_prison *pr, int which)
{
	return which == 0 ? pr->meta : pr->env;
}

/* Find the line of `key` (length kl) in buf: its start and end (the end
 * excludes the separating newline); NULL when absent. */
static const char *
jm_meta_line(const char *buf, const char *key, size_t kl, const char **end)
{
	const char *p = buf;

	while (*p != '\0') {
		const char *e = strchr(p, '\n');

		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			*end = e;
			return p;
		}
		p = *e == '\n' ? e + 1 : e;
	}
	return NULL;
}

/* Apply every meta/env option of the request to `cur`, into `out` (of
 * JM_META_MAXBUFSIZE + 1 bytes); 0, EINVAL or EFBIG. */
static int
jm_meta_build(const struct jm_host *h, struct jm_opts *o, int which, const char *cur, char *out)
{
	const char *base = jm_meta_names[which];
	size_t bl = strlen(base), max = h->g.meta_maxbufsize;

	strcpy(out, cur);
	for (int i = 0; i < o->n; i++) {
		struct jm_opt *op = &o->opt[i];
		const char *v = op->value, *key, *s, *e;
		size_t kl, vl, ol;

		if (op->dead || strncmp(op->name, base, bl) != 0 ||
		    (op->name[bl] != '\0' && op->name[bl] != '.'))
			continue;
		op->seen = 1;
		if (op->len > 0 && v[op->len - 1] != '\0')
			return EINVAL;
		vl = op->len > 0 ? strlen(v) : 0;
		if (vl + 1 > max)
			return EFBIG;
		if (op->name[bl] == '\0') {
			if (op->len == 0)
				return EINVAL;
			strcpy(out, v);
			continue;
		}
		key = op->name + bl + 1;
		kl = strlen(key);
		if (kl == 0 || strchr(key, '=') != NULL || strchr(key, '\n') != NULL ||
		    (op->len > 0 && strchr(v, '\n') != NULL))
			return EINVAL;
		if ((s = jm_meta_line(out, key, kl, &e)) != NULL) {
			/* Drop the old line and one separator. */
			if (*e == '\n')
				e++;
			else if (s > out)
				s--;
			memmove((char *)s, e, strlen(e) + 1);
		}
		if (op->len == 0)
			continue;
		ol = strlen(out);
		if (ol + (ol > 0) + kl + 1 + vl + 1 > max)
			return EFBIG;
		if (ol > 0)
			out[ol++] = '\n';
		memcpy(out + ol, key, kl);
		out[ol + kl] = '=';
		strcpy(out + ol + kl + 1, v);
	}
	return 0;
}

int
jm_meta_check(struct jm_host *h, struct jm_opts *o)
{
	char tmp[JM_META_MAXBUFSIZE + 1];
	int err;

	for (int which = 0; which < 2; which++)
		if ((err = jm_meta_build(h, o, which, "", tmp)) != 0)
			return err;
	return 0;
}

void
jm_meta_apply(struct jm_host *h, struct jm_opts *o, int slot)
{
	char tmp[JM_META_MAXBUFSIZE + 1];
	struct jm_prison *pr = &h->prisons[slot];

	for (int which = 0; which < 2; which++) {
		char *buf = jm_meta_buf(pr, which);

		if (jm_meta_build(h, o, which, buf, tmp) == 0 && strcmp(tmp, buf) != 0) {
			jm_save_prison(h, slot);
			strcpy(buf, tmp);
		}
	}
}

int
jm_meta_get(struct jm_host *h, struct jm_opts *o, int slot)
{
	struct jm_prison *pr = &h->prisons[slot];

	for (int i = 0; i < o->n; i++) {
		struct jm_opt *op = &o->opt[i];

		for (int which = 0; which < 2; which++) {
			const char *base = jm_meta_names[which], *buf = jm_meta_buf(pr, which);
			size_t bl = strlen(base);

			if (op->dead || strncmp(op->name, base, bl) != 0)
				continue;
			if (op->name[bl] == '\0') {
				op->seen = 1;
				if (op->value == NULL || strlen(buf) >= op->len)
					return EINVAL;
				memcpy(op->value, buf, strlen(buf) + 1);
			} else if (op->name[bl] == '.') {
				const char *key = op->name + bl + 1, *s, *e;
				size_t kl = strlen(key), vl;

				op->seen = 1;
				s = kl > 0 ? jm_meta_line(buf, key, kl, &e) : NULL;
				if (s == NULL) {
					op->len = 0;
					continue;
				}
				s += kl + 1;
				vl = (size_t)(e - s);
				if (op->value == NULL) {
					op->len = vl + 1;
					continue;
				}
				if (vl >= op->len)
					return EINVAL;
				memcpy(op->value, s, vl);
				((char *)op->value)[vl] = '\0';
			}
		}
	}
	return 0;
}
