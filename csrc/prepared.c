/*
 * prepared.c: the C half of jailcore's prepared calls.
 *
 * Python makes a plan once per set of parameter names (jailcore/_iov.py): the
 * names, how each value travels, and where it lives.  A call through a plan
 * has its iovec array laid out here around values that Python hands over in
 * one piece, then goes through the seam (jc_jail_set, jc_jail_get) like any
 * other call; after a jail_get, the results are gathered where one
 * struct.unpack_from can read them.  These functions only lay out memory the
 * caller owns: no allocation, no state.
 */
#include <stdint.h>
#include <string.h>

#include "jailcore.h"

static void
jc_pair(struct iovec *iov, const char *name, size_t name_len, const void *value, size_t len)
{
	iov[0].iov_base = (void *)(uintptr_t)name;
	iov[0].iov_len = name_len;
	iov[1].iov_base = len > 0 ? (void *)(uintptr_t)value : NULL;
	iov[1].iov_len = len;
}

static void
jc_errmsg_pair(struct iovec *iov, char *errmsg)
{
	static const char name[] = "errmsg";

	memset(errmsg, 0, JC_ERRMSG_LEN);
	jc_pair(iov, name, sizeof(name), errmsg, JC_ERRMSG_LEN);
}

int
jc_set_iov(struct iovec *iov, const struct jc_set_slot *slots, unsigned int nslots,
           const char *values, const unsigned int *lens, unsigned int nlens)
{
	unsigned int niov = 0;
	size_t off = 0;

	if (nlens < nslots)
		return JC_PREPARED_INVALID;
	for (unsigned int i = 0; i < nslots; i++) {
		const struct jc_set_slot *s = &slots[i];
		const char *v = values + off;
		size_t len = lens[i];

		off += len + 1; /* every value is followed by a NUL */
		switch (s->kind) {
		case JC_SET_STRING:
			/* The NUL after the value ends the string. */
			if (memchr(v, '\0', len) != NULL || (s->size > 0 && len >= s->size))
				return JC_PREPARED_INVALID;
			jc_pair(&iov[niov], s->name, s->name_len, v, len + 1);
			break;
		case JC_SET_BOOL:
			/* The value picks the name: 0 the first, 1 the other form. */
			if (len != 1 || (v[0] != 0 && v[0] != 1))
				return JC_PREPARED_INVALID;
			if (v[0])
				jc_pair(&iov[niov], s->alt, s->alt_len, NULL, 0);
			else
				jc_pair(&iov[niov], s->name, s->name_len, NULL, 0);
			break;
		case JC_SET_OPTIONAL:
			if (len == 0)
				continue;
			jc_pair(&iov[niov], s->name, s->name_len, v, len);
			break;
		case JC_SET_RAW:
			jc_pair(&iov[niov], s->name, s->name_len, v, len);
			break;
		default:
			return JC_PREPARED_INVALID;
		}
		niov += 2;
	}
	jc_errmsg_pair(&iov[niov], (char *)&iov[2 * nslots + 2]);
	return (int)niov + 2;
}

struct iovec *
jc_get_iov(const struct jc_get_plan *plan, char *buf, const char *key, unsigned int key_len)
{
	const struct jc_get_slot *slots = plan->slots;
	struct iovec *iov = (struct iovec *)(void *)buf;
	unsigned int n = plan->nslots;

	if (n == 0 || key_len > slots[0].size)
		return NULL;
	memcpy(buf + slots[0].offset, key, key_len);
	for (unsigned int i = 0; i < n; i++)
		jc_pair(&iov[2 * i], slots[i].name, slots[i].name_len, buf + slots[i].offset,
		        slots[i].size);
	jc_errmsg_pair(&iov[2 * n], buf + plan->errmsg);
	return iov;
}

void
jc_get_gather(const struct jc_get_plan *plan, char *buf)
{
	const struct jc_get_slot *slots = plan->slots;
	const struct iovec *iov = (const struct iovec *)(void *)buf;
	unsigned int n = plan->nslots;
	size_t strs = 0;
	uint32_t len32;

	/* Each value's returned length, then the strings one after another, each
	 * ended by a NUL: one decode and one split in Python give them all. */
	for (unsigned int i = 0; i < n; i++) {
		const char *v = buf + slots[i].offset;
		size_t len = iov[2 * i + 1].iov_len;

		if (len > slots[i].size) /* never from a kernel that keeps to jail_get(2) */
			len = slots[i].size;

		if (slots[i].kind == JC_GET_STRING) {
			size_t sl = len > 0 ? strnlen(v, len) : 0;

			memcpy(buf + plan->strings + strs, v, sl);
			strs += sl;
			buf[plan->strings + strs++] = '\0';
		}
		len32 = (uint32_t)len;
		memcpy(buf + plan->lengths + 4 * (size_t)i, &len32, 4);
	}
	len32 = (uint32_t)(strs > 0 ? strs - 1 : 0); /* without the last NUL */
	memcpy(buf + plan->lengths + 4 * (size_t)n, &len32, 4);
}
