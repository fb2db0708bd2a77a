/*
 * prepared.c: the C half of jailcore's prepared calls.
 *
 * Python makes a plan once per set of parameter names (jailcore/_iov.py): the
 * names, how each value travels, and where it lives.  A call through a plan
 * has its iovec array laid out here around values that Python hands over in
 * one piece, then goes through the seam (jc_jail_set, jc_jail_get) like any
 * other call; after a jail_get, the returned lengths are gathered where
 * values.c reads them.  jc_set_call and jc_get_call do the
 * layout and the call in one C call; they allocate only for a call of more
 * values or addresses than their stack holds, and keep only the messages of
 * failed jail_set calls, per thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

/* Python's str.strip() blanks among ASCII: what the general path strips. */
static int
jc_blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Pack "A,B" (blanks around each, empty parts skipped) into out with
 * inet_pton(3): the bytes written, or -1 when a part is no address of the
 * family, has a NUL inside, or out is too small. */
static long
jc_addr_pack(int v6, const char *text, size_t len, unsigned char *out, size_t size)
{
	size_t esz = v6 ? 16 : 4, n = 0, i = 0;
	char one[64];

	while (i <= len) {
		size_t a = i, b = i;

		while (b < len && text[b] != ',')
			b++;
		i = b + 1;
		while (a < b && jc_blank((unsigned char)text[a]))
			a++;
		while (b > a && jc_blank((unsigned char)text[b - 1]))
			b--;
		if (a == b)
			continue;
		if (b - a >= sizeof(one) || n + esz > size || memchr(text + a, '\0', b - a) != NULL)
			return -1;
		memcpy(one, text + a, b - a);
		one[b - a] = '\0';
		if (inet_pton(v6 ? AF_INET6 : AF_INET, one, out + n) != 1)
			return -1;
		n += esz;
	}
	return (long)n;
}

size_t
jc_set_scratch(const struct jc_set_slot *slots, unsigned int nslots, const unsigned int *lens,
               unsigned int nlens)
{
	size_t need = 0;

	for (unsigned int i = 0; i < nslots && i < nlens; i++) {
		unsigned int k = slots[i].kind & ~(unsigned int)JC_SET_ADDR_OPTIONAL;

		/* At most one address per two bytes of text ("1," is none, but
		 * the bound need not be tight): each part is one. */
		if (k == JC_SET_ADDR4 || k == JC_SET_ADDR6)
			need += ((size_t)lens[i] / 2 + 1) * (k == JC_SET_ADDR6 ? 16 : 4);
	}
	return need;
}

/* The pairs of the values, from iov[0] on: the number of entries, or
 * JC_PREPARED_INVALID. */
static int
jc_set_layout(struct iovec *iov, const struct jc_set_slot *slots, unsigned int nslots,
              const char *values, const unsigned int *lens, unsigned int nlens,
              unsigned char *scratch, size_t scratch_size)
{
	unsigned int niov = 0;
	size_t off = 0, used = 0;

	if (nlens < nslots)
		return JC_PREPARED_INVALID;
	for (unsigned int i = 0; i < nslots; i++) {
		const struct jc_set_slot *s = &slots[i];
		const char *v = values + off;
		size_t len = lens[i];
		long packed;

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
		case JC_SET_ADDR4:
		case JC_SET_ADDR6:
		case JC_SET_ADDR4 | JC_SET_ADDR_OPTIONAL:
		case JC_SET_ADDR6 | JC_SET_ADDR_OPTIONAL:
			packed = jc_addr_pack((s->kind & ~(unsigned int)JC_SET_ADDR_OPTIONAL) == JC_SET_ADDR6,
			                      v, len, scratch + used, scratch_size - used);
			if (packed < 0)
				return JC_PREPARED_INVALID;
			if (packed == 0 && (s->kind & JC_SET_ADDR_OPTIONAL))
				continue;
			jc_pair(&iov[niov], s->name, s->name_len, scratch + used, (size_t)packed);
			used += (size_t)packed;
			break;
		default:
			return JC_PREPARED_INVALID;
		}
		niov += 2;
	}
	return (int)niov;
}

int
jc_set_iov(struct iovec *iov, const struct jc_set_slot *slots, unsigned int nslots,
           const char *values, const unsigned int *lens, unsigned int nlens,
           unsigned char *scratch, size_t scratch_size)
{
	int niov = jc_set_layout(iov, slots, nslots, values, lens, nlens, scratch, scratch_size);

	if (niov < 0)
		return niov;
	jc_errmsg_pair(&iov[niov], (char *)&iov[2 * nslots + 2]);
	return niov + 2;
}

static _Thread_local char jc_errmsg_ring[JC_ERRMSG_RING][JC_ERRMSG_LEN];
static _Thread_local unsigned int jc_errmsg_next;

const char *
jc_set_errmsg(int k)
{
	return jc_errmsg_ring[(unsigned int)k % JC_ERRMSG_RING];
}

#define JC_SET_STACK_SLOTS 32
#define JC_SET_STACK_SCRATCH 2048

int
jc_set_call(int backend, const struct jc_set_slot *slots, unsigned int nslots,
            const char *values, const char *packed_lens, unsigned int nlens, int flags)
{
	struct iovec stack_iov[2 * JC_SET_STACK_SLOTS + 2], *iov = stack_iov;
	unsigned char stack_scratch[JC_SET_STACK_SCRATCH], *scratch = stack_scratch;
	unsigned int stack_lens[JC_SET_STACK_SLOTS + 1], *lens = stack_lens;
	unsigned int k = jc_errmsg_next;
	size_t need;
	int niov, ret;

	if (nslots > JC_SET_STACK_SLOTS &&
	    (iov = malloc(sizeof(*iov) * (2 * (size_t)nslots + 2))) == NULL)
		return -ENOMEM;
	if (nlens > JC_SET_STACK_SLOTS + 1 && (lens = malloc(sizeof(*lens) * nlens)) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(lens, packed_lens, sizeof(*lens) * nlens);
	need = jc_set_scratch(slots, nslots, lens, nlens);
	if (need > sizeof(stack_scratch) && (scratch = malloc(need)) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	niov = jc_set_layout(iov, slots, nslots, values, lens, nlens, scratch, need);
	if (niov < 0) {
		ret = JC_SET_FALLBACK;
		goto out;
	}
	jc_errmsg_pair(&iov[niov], jc_errmsg_ring[k]);
	ret = jc_jail_set(backend, iov, (unsigned int)niov + 2, flags);
	if (ret < 0 && ret > -JC_ERRNO_SPAN) {
		/* Its message stays until JC_ERRMSG_RING more calls have failed. */
		jc_errmsg_next = (k + 1) % JC_ERRMSG_RING;
		ret -= JC_ERRNO_SPAN * (int)k;
	}
out:
	if (iov != stack_iov)
		free(iov);
	if (lens != stack_lens)
		free(lens);
	if (scratch != stack_scratch)
		free(scratch);
	return ret;
}

struct iovec *
jc_get_iov(const struct jc_get_plan *plan, char *buf, const char *key, unsigned int key_len)
{
	const struct jc_get_slot *slots = plan->slots;
	struct iovec *iov = (struct iovec *)(void *)buf;
	unsigned int n = plan->nslots;

	if (n == 0 || key_len > slots[0].size)
		return NULL;
	/* The buffer may hold an earlier call's values, and the kernel reads
	 * some of them as keys (a "jid" asked for besides a name key, a "name"
	 * besides a jid of 0): the values are cleared, as a new buffer's are. */
	memset(buf + slots[0].offset, 0, plan->lengths - slots[0].offset);
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
	const struct iovec *iov = (const struct iovec *)(void *)buf;

	/* Each value's returned length, where values.c reads it. */
	for (unsigned int i = 0; i < plan->nslots; i++) {
		size_t len = iov[2 * i + 1].iov_len;
		uint32_t len32;

		if (len > plan->slots[i].size) /* never from a kernel that keeps to jail_get(2) */
			len = plan->slots[i].size;
		len32 = (uint32_t)len;
		memcpy(buf + plan->lengths + 4 * (size_t)i, &len32, 4);
	}
}

int
jc_get_call(int backend, const struct jc_get_plan *plan, char *buf, const char *key,
            unsigned int key_len, int flags)
{
	struct iovec *iov = jc_get_iov(plan, buf, key, key_len);
	int ret;

	if (iov == NULL)
		return JC_SET_FALLBACK;
	ret = jc_jail_get(backend, iov, 2 * plan->nslots + 2, flags);
	if (ret >= 0)
		jc_get_gather(plan, buf);
	return ret;
}
