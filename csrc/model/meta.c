/*
 * meta.c: the meta and env parameters of FreeBSD 15 (sys/kern/kern_jailmeta.c):
 * a text of key=value lines separated by newlines, set whole or key by key.
 *
 * What jail_set does with the options, in order, follows jm_osd_method_set:
 * the text is worked on as a list of pieces (FreeBSD's "hunks"), each a run
 * of bytes of the old text, of an option's value or of a new key=value line;
 * the pieces are joined at the end, a piece that ends in a NUL getting a
 * newline in its place when another piece follows.  Keys and values are not
 * checked for content.  The limits are the hard one,
 * security.jail.meta_maxbufsize: an option's value (its iov_len) and the
 * joined text (its NUL included) larger than it are EFBIG.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tree.h"

static const char *const jm_meta_names[2] = {"meta", "env"};

/* The jail's text (NUL-terminated; "" when it has none, or when its block
 * does not hold the text it should: a corrupted host reads as empty). */
const char *
jm_meta_text(const struct jm_host *h, int slot, int which)
{
	size_t len;
	const char *t = jm_store_get(h, slot, which == 0 ? JM_ST_META : JM_ST_ENV, &len);

	/* The NUL after the text must lie in its block too (jm_store_get
	 * checked the text's length against the block). */
	if (t == NULL ||
	    len + 1 > (1u << ((const struct jm_blk *)(const void *)t - 1)->cls) - sizeof(struct jm_blk) ||
	    t[len] != '\0' || memchr(t, '\0', len) != NULL)
		return "";
	return t;
}

/* Replace the jail's text by the `len` bytes at `text` (no NUL among them);
 * 0, or ENOMEM when the host's heap has no room. */
static int
jm_meta_store(struct jm_host *h, int slot, int which, const char *text, size_t len)
{
	const char *cur = jm_meta_text(h, slot, which);

	if (strlen(cur) == len && memcmp(cur, text, len) == 0)
		return 0;
	return jm_store_set(h, slot, which == 0 ? JM_ST_META : JM_ST_ENV, text, len, 1);
}

/* Whether option `name` is the parameter `base` or one of its keys
 * (the prefix test of kern_jailmeta.c). */
static int
jm_meta_opt(const char *name, const char *base, size_t bl)
{
	return strncmp(name, base, bl) == 0 && (name[bl] == '\0' || name[bl] == '.');
}

/* ---- the pieces ------------------------------------------------------------ */

struct jm_piece {
	const char *p; /* bytes of a buffer that outlives the list */
	size_t len;
};

struct jm_pieces {
	struct jm_piece *v;
	size_t n, cap;
	char **owned; /* the key=value lines made for this call */
	size_t nowned;
};

static int
jm_pieces_insert(struct jm_pieces *t, size_t at, const char *p, size_t len)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		struct jm_piece *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL)
			return ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(t->v[0]));
	t->v[at].p = p;
	t->v[at].len = len;
	t->n++;
	return 0;
}

static void
jm_pieces_free(struct jm_pieces *t)
{
	for (size_t i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->v);
}

/* The first `key` (kl >= 1 bytes, no NUL) inside [s, end) that lies before
 * any NUL there (strnstr(3)); NULL if none. */
static const char *
jm_find(const char *s, const char *end, const char *key, size_t kl)
{
	const char *nul = memchr(s, '\0', (size_t)(end - s));

	if (nul != NULL)
		end = nul;
	for (; (size_t)(end - s) >= kl; s++)
		if (*s == *key && memcmp(s, key, kl) == 0)
			return s;
	return NULL;
}

/* Cut every line of `key` out of the pieces (jm_h_cut_occurrences): a match
 * starts a piece or follows a newline and is followed by '='; its line ends
 * at the next newline or NUL, and what follows becomes a piece of its own.
 * A match reads the byte after the key, which may lie past the piece's end
 * but always inside its buffer (each ends in a NUL after the piece). */
static int
jm_pieces_cut(struct jm_pieces *t, const char *key, size_t kl)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *base = t->v[i].p, *end = base + t->v[i].len, *s = base;

		if (base == NULL)
			continue;
		while ((s = jm_find(s, end, key, kl)) != NULL) {
			if ((s == base || s[-1] == '\n') && s[kl] == '=') {
				const char *e = s;
				int err;

				while (e + 1 < end && *e != '\0' && *e != '\n')
					e++;
				if (e + 1 < end && e[1] != '\0' &&
				    (err = jm_pieces_insert(t, i + 1, e + 1, (size_t)(end - e - 1))) != 0)
					return err;
				t->v[i].len = (size_t)(s - base);
				break; /* on to the next piece: the rest, if any */
			}
			s += kl;
			if (s >= end)
				break;
		}
	}
	return 0;
}

/* ---- jail_set ---------------------------------------------------------------- */

/* The PR_METHOD_CHECK of kern_jailmeta.c: it only claims the options; every
 * error comes from jm_meta_apply, after the jail's other changes. */
int
jm_meta_check(struct jm_host *h, struct jm_opts *o)
{
	JM_UNUSED(h);
	for (int i = 0; i < o->n; i++)
		for (int which = 0; which < 2; which++)
			if (!o->opt[i].dead &&
			    jm_meta_opt(o->opt[i].name, jm_meta_names[which], strlen(jm_meta_names[which])))
				o->opt[i].seen = 1;
	return 0;
}

/* One text, as jm_osd_method_set makes it: 0, EFBIG, EINVAL or ENOMEM. */
static int
jm_meta_set_one(struct jm_host *h, struct jm_opts *o, int slot, int which)
{
	const char *base = jm_meta_names[which], *cur = jm_meta_text(h, slot, which);
	size_t bl = strlen(base), hard = h->g.meta_maxbufsize, total = 0;
	struct jm_pieces t = {0};
	int started = 0, err = 0;
	char *out = NULL;

	for (int i = 0; i < o->n && err == 0; i++) {
		struct jm_opt *op = &o->opt[i];
		const char *v = op->value, *key;
		size_t kl;
		char *line, **owned;

		if (op->dead || !jm_meta_opt(op->name, base, bl))
			continue;
		op->seen = 1;
		/* Both limits are on the value's iov_len, its NUL included. */
		if (op->len > hard) {
			err = EFBIG;
			break;
		}
		if (op->len > 0 && v[op->len - 1] != '\0') {
			err = EINVAL;
			break;
		}
		if (!started) {
			started = 1;
			/* The old text with its NUL; an empty one is no piece. */
			if (cur[0] != '\0' && (err = jm_pieces_insert(&t, 0, cur, strlen(cur) + 1)) != 0)
				break;
		}
		if (op->name[bl] == '\0') {
			/* The whole text: a 0-length value or "" clears it. */
			t.n = 0;
			err = jm_pieces_insert(&t, 0, op->len > 1 ? v : "", op->len > 1 ? op->len : 0);
			continue;
		}
		key = op->name + bl + 1;
		kl = strlen(key);
		if (kl == 0) {
			err = EINVAL; /* "meta." */
			break;
		}
		if ((err = jm_pieces_cut(&t, key, kl)) != 0 || op->len == 0)
			continue; /* a 0-length value removes the key */
		/* A new line goes first (jm_h_prepend): key=value and its NUL. */
		owned = realloc(t.owned, (t.nowned + 1) * sizeof(*owned));
		if (owned == NULL) {
			err = ENOMEM;
			break;
		}
		t.owned = owned;
		if ((line = malloc(kl + 1 + op->len)) == NULL) {
			err = ENOMEM;
			break;
		}
		t.owned[t.nowned++] = line;
		memcpy(line, key, kl);
		line[kl] = '=';
		memcpy(line + kl + 1, v, op->len);
		err = jm_pieces_insert(&t, 0, line, kl + 1 + op->len);
	}
	if (err == 0 && started) {
		for (size_t i = 0; i < t.n; i++)
			total += t.v[i].len;
		if (total > hard)
			err = EFBIG;
	}
	if (err == 0 && started) {
		/* Join (jm_h_assemble) and seal with a NUL; the jail keeps the
		 * text up to its first NUL, all that any reader ever sees. */
		size_t at = 0;

		if (total > 1 && (out = malloc(total)) == NULL)
			err = ENOMEM;
		for (size_t i = 0; out != NULL && i < t.n; i++) {
			if (t.v[i].len == 0)
				continue;
			memcpy(out + at, t.v[i].p, t.v[i].len);
			at += t.v[i].len;
			if (i + 1 < t.n && out[at - 1] == '\0')
				out[at - 1] = '\n';
		}
		if (err == 0) {
			if (out != NULL)
				out[total - 1] = '\0';
			err = jm_meta_store(h, slot, which, out != NULL ? out : "",
			                    out != NULL ? strlen(out) : 0);
		}
	}
	free(out);
	jm_pieces_free(&t);
	return err;
}

/* The PR_METHOD_SET of meta, then of env; the first error stops them. */
int
jm_meta_apply(struct jm_host *h, struct jm_opts *o, int slot)
{
	int err = 0;

	for (int which = 0; which < 2 && err == 0; which++)
		err = jm_meta_set_one(h, o, slot, which);
	return err;
}

/* ---- jail_get ---------------------------------------------------------------- */

/* jm_osd_method_get: 0 or EINVAL.  The whole text is copied with strlcpy
 * semantics (a buffer that cannot hold it, a 0-length one included, is
 * EINVAL).  meta.KEY is copied with strlcpy from its value's start with the
 * size of the buffer or of the value's line, whichever is smaller, so the
 * buffer must be larger than all the text after the '=' (a 0-length one is
 * EINVAL), and the value is cut at its newline; every line of the key is
 * copied in turn, the last wins.  An absent key is no error: its slot comes
 * back with iov_len 0 (kern_jail_get, "missing key"). */
int
jm_meta_get(struct jm_host *h, struct jm_opts *o, int slot)
{
	for (int i = 0; i < o->n; i++) {
		struct jm_opt *op = &o->opt[i];

		for (int which = 0; which < 2; which++) {
			const char *base = jm_meta_names[which], *buf = jm_meta_text(h, slot, which);
			size_t bl = strlen(base);

			if (op->dead || !jm_meta_opt(op->name, base, bl))
				continue;
			if (op->name[bl] == '\0') {
				size_t n = strlen(buf);

				if (n >= op->len)
					return EINVAL;
				memcpy(op->value, buf, n + 1);
				op->seen = 1;
			} else {
				const char *key = op->name + bl + 1, *p = buf;
				size_t kl = strlen(key);

				/* "meta." (an empty key): FreeBSD's search never
				 * advances and the call does not return; the model
				 * answers as for an absent key. */
				while (kl > 0 && (p = strstr(p, key)) != NULL) {
					if ((p == buf || p[-1] == '\n') && p[kl] == '=') {
						const char *v = p + kl + 1, *nl = strchr(v, '\n');
						size_t rest = strlen(v), vl = nl != NULL ? (size_t)(nl - v) : rest;

						if (rest >= op->len)
							return EINVAL;
						memcpy(op->value, v, vl);
						((char *)op->value)[vl] = '\0';
						op->seen = 1;
					}
					p += kl;
				}
				if (!op->seen) {
					/* kern_jail_get: a missing key comes back empty. */
					op->len = 0;
					op->seen = 1;
				}
			}
		}
	}
	return 0;
}
