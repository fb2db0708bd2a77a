/*
 * jail_iov_fuzzer.c: libFuzzer harness for the kernel model's jail_set(2)
 * and jail_get(2) (the files of csrc/model, compiled in with ASan and UBSan).
 *
 * Each input is read as a little program: a header byte, then up to
 * FUZZ_MAX_OPS operations (fuzzed jail_set and jail_get calls, well-formed
 * creations that give the host jails to work on, removals, module loads,
 * holds).  A fuzzed call gets an iovec array of any count (odd ones too, and
 * more than UIO_MAXIOV) whose names are drawn from a dictionary of every
 * parameter the model offers under security.jail.param (plus their "no"
 * forms, meta.KEY, env.KEY, desc, lastjid, errmsg), or are raw bytes without a
 * NUL, or NULL with a length; and whose values are ints, strings, address
 * arrays, raw bytes, large buffers, or NULL with a length.
 *
 * The rules the harness keeps:
 * - Every non-NULL buffer is a malloc() of exactly the length its iovec
 *   gives, so ASan sees any read or write past it.  A length larger than its
 *   buffer is only ever given with a NULL pointer, which the model must
 *   refuse with EFAULT (or EINVAL for a size check that comes first).
 * - JAIL_ATTACH is masked out of jail_set's flags: attaching would chroot(2)
 *   the fuzzer and make jail_remove SIGKILL it.
 * - The model must not change a name, any iov_base, or a name's iov_len; a
 *   failed call returns -1 with errno set, a successful one a jid.
 * - Descriptors the model hands out (JAIL_GET_DESC/JAIL_OWN_DESC) are
 *   closed after each input, so no descriptor leaks from input to input.
 * - The host is reset every FUZZ_RESET_EVERY inputs (environment, default
 *   32), and by any input whose header asks for it, so state stays bounded.
 *
 * FUZZ_DUMP_DICT=PATH: write a libFuzzer dictionary of the names to PATH and
 * exit (fuzz/run.py uses it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "jailmodel.h"

#define FUZZ_MAX_OPS 8
#define FUZZ_MAX_NIOV 24
#define FUZZ_MAX_NAMES 512
#define FUZZ_FD_SCAN 256

static const char *const mod_names[] = {
    "sysvmsg", "sysvsem", "sysvshm", "fdescfs", "nullfs", "procfs", "tmpfs", "zfs",
};
#define NMODS (sizeof(mod_names) / sizeof(mod_names[0]))

/* ---- the dictionary of names ------------------------------------------- */

static char *names[FUZZ_MAX_NAMES];
static size_t nnames;

static void
add_name(const char *s)
{
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i], s) == 0)
			return;
	if (nnames < FUZZ_MAX_NAMES && (names[nnames] = strdup(s)) != NULL)
		nnames++;
}

/* "a.b.c" -> "a.b.noc" */
static void
add_no_form(const char *s)
{
	char buf[300];
	const char *dot = strrchr(s, '.');
	size_t head = dot != NULL ? (size_t)(dot - s) + 1 : 0;

	if (strlen(s) + 3 > sizeof(buf))
		return;
	memcpy(buf, s, head);
	memcpy(buf + head, "no", 2);
	strcpy(buf + head + 2, s + head);
	add_name(buf);
}

/* Every parameter under security.jail.param, with every module loaded. */
static void
discover_names(void)
{
	static const char prefix[] = "security.jail.param.";
	int top[24], cur[24], next[24], req[26];
	size_t ntop = 24, ncur, len;
	char full[512];

	jailmodel_reset();
	for (size_t i = 0; i < NMODS; i++)
		(void)jailmodel_kldload(mod_names[i]);
	if (jailmodel_sysctlnametomib("security.jail.param", top, &ntop) == -1)
		abort();
	memcpy(cur, top, ntop * sizeof(int));
	ncur = ntop;
	for (;;) {
		req[0] = 0;
		req[1] = 2; /* next oid */
		memcpy(req + 2, cur, ncur * sizeof(int));
		len = sizeof(next);
		if (jailmodel_sysctl(req, (unsigned)ncur + 2, next, &len, NULL, 0) == -1)
			break;
		ncur = len / sizeof(int);
		if (ncur < ntop || memcmp(next, top, ntop * sizeof(int)) != 0)
			break;
		memcpy(cur, next, ncur * sizeof(int));
		req[1] = 1; /* name */
		memcpy(req + 2, cur, ncur * sizeof(int));
		len = sizeof(full) - 1;
		if (jailmodel_sysctl(req, (unsigned)ncur + 2, full, &len, NULL, 0) == -1)
			continue;
		full[len < sizeof(full) ? len : sizeof(full) - 1] = '\0';
		if (strncmp(full, prefix, sizeof(prefix) - 1) != 0)
			continue;
		len = strlen(full);
		while (len > sizeof(prefix) - 1 && full[len - 1] == '.')
			full[--len] = '\0';
		if (len > sizeof(prefix) - 1) {
			add_name(full + sizeof(prefix) - 1);
			add_no_form(full + sizeof(prefix) - 1);
		}
	}
	if (nnames < 20) {
		fprintf(stderr, "jail_iov_fuzzer: only %zu parameters discovered\n", nnames);
		abort();
	}
	add_name("meta.k");
	add_name("env.k");
	add_name("meta.");
	add_name("desc");
	add_name("lastjid");
	add_name("errmsg");
	add_name("jid");
	add_name("name");
	add_name("nojid");
	add_name("ro");
	add_name("rw");
	jailmodel_reset();
}

static void
dump_dict(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	for (size_t i = 0; i < nnames; i++) {
		fputc('"', f);
		for (const char *p = names[i]; *p; p++)
			fprintf(f, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
		fprintf(f, "\\x00\"\n");
	}
	fclose(f);
	exit(0);
}

/* ---- descriptors ------------------------------------------------------- */

static unsigned char fd_baseline[FUZZ_FD_SCAN];

static void
record_fds(void)
{
	for (int fd = 0; fd < FUZZ_FD_SCAN; fd++)
		fd_baseline[fd] = fcntl(fd, F_GETFD) != -1;
}

static void
close_new_fds(void)
{
	for (int fd = 0; fd < FUZZ_FD_SCAN; fd++)
		if (!fd_baseline[fd] && fcntl(fd, F_GETFD) != -1)
			close(fd);
}

/* ---- reading the input ------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t
u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t
u16(struct rd *r)
{
	uint16_t lo = u8(r);

	return (uint16_t)(lo | u8(r) << 8);
}

static uint32_t
u32(struct rd *r)
{
	uint32_t lo = u16(r);

	return lo | (uint32_t)u16(r) << 16;
}

/* Up to len bytes of input into dst; the rest stays as it was. */
static void
fill(struct rd *r, void *dst, size_t len)
{
	size_t k = len < r->n ? len : r->n;

	memcpy(dst, r->p, k);
	r->p += k;
	r->n -= k;
}

/* ---- building an iovec array -------------------------------------------- */

struct call {
	struct iovec *iov;
	unsigned niov;
	/* What the model must leave alone. */
	void **bases;
	size_t *name_lens;
	unsigned char **name_copies;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

static void *
buf_of(const void *src, size_t n)
{
	void *p = xmalloc(n);

	memcpy(p, src, n);
	return p;
}

static const char *
pick_name(struct rd *r)
{
	return names[u16(r) % nnames];
}

static size_t
huge_len(struct rd *r)
{
	static const size_t lens[] = {
	    1, 4, 255, 256, 1024, 65535, 65536, 65537, 0x7fffffff, 0x80000000u,
	    (size_t)-1, (size_t)-2, ((size_t)-1) / 2,
	};
	uint8_t k = u8(r);

	return k < 2 * sizeof(lens) / sizeof(lens[0]) ? lens[k % (sizeof(lens) / sizeof(lens[0]))]
	                                                : (size_t)u32(r);
}

static void
make_name(struct rd *r, struct iovec *v)
{
	char buf[400];
	const char *n;
	size_t len;

	switch (u8(r) % 9) {
	case 0:
	case 1:
	case 2: /* a dictionary name */
		n = pick_name(r);
		v->iov_base = buf_of(n, strlen(n) + 1);
		v->iov_len = strlen(n) + 1;
		return;
	case 3: /* meta.KEY / env.KEY with a fuzzed key */
		len = u8(r) % 64;
		snprintf(buf, sizeof(buf), "%s.", u8(r) & 1 ? "env" : "meta");
		n = buf;
		{
			size_t h = strlen(buf);

			fill(r, buf + h, len);
			buf[h + len] = '\0';
			len = strlen(buf) + 1;
		}
		v->iov_base = buf_of(buf, len);
		v->iov_len = len;
		return;
	case 4: /* raw bytes, maybe without NUL */
		len = u16(r) % 300;
		v->iov_base = xmalloc(len);
		memset(v->iov_base, 'A', len);
		fill(r, v->iov_base, len);
		v->iov_len = len;
		return;
	case 5: /* NULL with a length (EFAULT), or with none */
		v->iov_base = NULL;
		v->iov_len = u8(r) & 1 ? huge_len(r) : 0;
		return;
	case 6: /* a dictionary name without its NUL */
		n = pick_name(r);
		v->iov_base = buf_of(n, strlen(n));
		v->iov_len = strlen(n);
		return;
	case 7: /* a name, a NUL, then more */
		n = pick_name(r);
		len = strlen(n) + 1 + u8(r) % 16;
		v->iov_base = xmalloc(len);
		memset(v->iov_base, 0, len);
		memcpy(v->iov_base, n, strlen(n));
		fill(r, (char *)v->iov_base + strlen(n) + 1, len - strlen(n) - 1);
		v->iov_len = len;
		return;
	default: /* a zero-length name at a real pointer */
		v->iov_base = xmalloc(1);
		v->iov_len = 0;
		return;
	}
}

static void
make_value(struct rd *r, struct iovec *v, int njids)
{
	size_t len, k;
	uint8_t *b;

	switch (u8(r) % 12) {
	case 0: /* an int */
	case 1:
		v->iov_len = 4;
		v->iov_base = xmalloc(4);
		{
			int32_t x = (int32_t)u32(r);

			memcpy(v->iov_base, &x, 4);
		}
		return;
	case 2: /* an existing-looking jid */
		v->iov_len = 4;
		v->iov_base = xmalloc(4);
		{
			int32_t x = njids > 0 ? 1 + u8(r) % (njids + 2) : (int32_t)(u8(r) % 4) - 1;

			memcpy(v->iov_base, &x, 4);
		}
		return;
	case 3: /* an integer of another size */
		len = 1 + u8(r) % 9;
		v->iov_base = xmalloc(len);
		memset(v->iov_base, 0, len);
		fill(r, v->iov_base, len);
		v->iov_len = len;
		return;
	case 4: /* a string with its NUL */
		len = u16(r) % 1100;
		v->iov_base = xmalloc(len + 1);
		memset(v->iov_base, 'x', len);
		fill(r, v->iov_base, len);
		((char *)v->iov_base)[len] = '\0';
		v->iov_len = len + 1;
		return;
	case 5: /* IPv4 addresses */
	case 6: /* IPv6 addresses */
		{
			size_t esz = u8(r) & 1 ? 16 : 4;

			k = u8(r);
			k = k < 200 ? k % 6 : k; /* mostly few, sometimes many */
			if (u8(r) == 0xff)
				k = 256;
			len = k * esz;
			b = xmalloc(len);
			for (size_t i = 0; i < k; i++) {
				/* 10.0.0.x / fd00::x, sometimes fuzzed bytes */
				memset(b + i * esz, 0, esz);
				b[i * esz] = esz == 4 ? 10 : 0xfd;
				b[i * esz + esz - 1] = (uint8_t)(1 + i % 250);
				if (u8(r) & 1)
					fill(r, b + i * esz, esz);
			}
			v->iov_base = b;
			v->iov_len = len;
		}
		return;
	case 7: /* raw bytes */
		len = u16(r) % 512;
		v->iov_base = xmalloc(len);
		memset(v->iov_base, 0, len);
		fill(r, v->iov_base, len);
		v->iov_len = len;
		return;
	case 8: /* length 0 at a real pointer */
		v->iov_base = xmalloc(1);
		v->iov_len = 0;
		return;
	case 9: /* NULL with a length, or none */
		v->iov_base = NULL;
		v->iov_len = u8(r) & 1 ? huge_len(r) : 0;
		return;
	case 10: /* a large real buffer */
		{
			static const size_t big[] = {1023, 1024, 4095, 4096, 4097, 8192,
			                             65535, 65536, 65537, 70000};

			len = big[u8(r) % (sizeof(big) / sizeof(big[0]))];
		}
		v->iov_base = xmalloc(len);
		memset(v->iov_base, u8(r) & 1 ? 'a' : 0, len);
		fill(r, v->iov_base, len < 64 ? len : 64);
		v->iov_len = len;
		return;
	default: /* a path or a name that exists */
		{
			static const char *const strs[] = {"/", "/tmp", "/nonexistent", "a", "a.b",
			                                   "c", "", "0", "1", ".", "a..b", "new",
			                                   "inherit", "disable", "k=v\nk2=v2"};
			const char *s = strs[u8(r) % (sizeof(strs) / sizeof(strs[0]))];

			v->iov_base = buf_of(s, strlen(s) + 1);
			v->iov_len = strlen(s) + 1;
		}
		return;
	}
}

static void
build_call(struct rd *r, struct call *c, int njids)
{
	uint8_t k = u8(r);
	unsigned n;

	if (k >= 250)
		n = k == 250 ? 1024 : k == 251 ? 1025 : k == 252 ? 1026 : 2048;
	else
		n = k % (FUZZ_MAX_NIOV + 1);
	c->niov = n;
	c->iov = n ? xmalloc(n * sizeof(struct iovec)) : NULL;
	c->bases = xmalloc((n ? n : 1) * sizeof(void *));
	c->name_lens = xmalloc((n ? n : 1) * sizeof(size_t));
	c->name_copies = xmalloc((n ? n : 1) * sizeof(unsigned char *));
	for (unsigned i = 0; i < n; i++) {
		struct iovec *v = &c->iov[i];

		if (i >= FUZZ_MAX_NIOV) {
			/* Past what the harness fills: small valid pairs. */
			v->iov_base = i % 2 ? NULL : buf_of("persist", 8);
			v->iov_len = i % 2 ? 0 : 8;
		} else if (i % 2 == 0) {
			make_name(r, v);
		} else if (u8(r) % 8 == 0) {
			make_name(r, v); /* a name where a value goes */
		} else {
			make_value(r, v, njids);
		}
		c->bases[i] = v->iov_base;
		c->name_lens[i] = v->iov_len;
		c->name_copies[i] = NULL;
		if (i % 2 == 0 && v->iov_base != NULL)
			c->name_copies[i] = buf_of(v->iov_base, v->iov_len);
	}
}

static int trace;

static void
trace_call(const struct call *c, const char *what, int flags)
{
	fprintf(stderr, "%s(niov=%u, flags=%#x)\n", what, c->niov, (unsigned)flags);
	for (unsigned i = 0; i < c->niov && i < FUZZ_MAX_NIOV; i++) {
		const struct iovec *v = &c->iov[i];

		fprintf(stderr, "  [%u] %p len %zu", i, v->iov_base, v->iov_len);
		if (v->iov_base != NULL && v->iov_len > 0 && v->iov_len < 80) {
			fputs(" ", stderr);
			for (size_t j = 0; j < v->iov_len; j++) {
				unsigned char ch = ((const unsigned char *)v->iov_base)[j];

				fprintf(stderr, ch >= 32 && ch < 127 ? "%c" : "\\x%02x", ch);
			}
		}
		fputs("\n", stderr);
	}
}

static void
check_and_free(struct call *c, const char *what, int ret, int err)
{
	if (trace)
		fprintf(stderr, "  -> %d, errno %d\n", ret, err);
	if (ret < -1 || (ret == -1 && err == 0)) { /* explicit jids have no upper bound */
		fprintf(stderr, "%s returned %d, errno %d\n", what, ret, err);
		abort();
	}
	for (unsigned i = 0; i < c->niov; i++) {
		struct iovec *v = &c->iov[i];

		if (v->iov_base != c->bases[i]) {
			fprintf(stderr, "%s changed iov[%u].iov_base\n", what, i);
			abort();
		}
		if (i % 2 == 0 && (v->iov_len != c->name_lens[i] ||
		                   (v->iov_base != NULL &&
		                    memcmp(v->iov_base, c->name_copies[i], v->iov_len) != 0))) {
			fprintf(stderr, "%s changed the name in iov[%u]\n", what, i);
			abort();
		}
		free(v->iov_base);
		free(c->name_copies[i]);
	}
	free(c->iov);
	free(c->bases);
	free(c->name_lens);
	free(c->name_copies);
}

/* ---- operations -------------------------------------------------------- */

static int
create_jail(const char *name, const char *parent_hint, int ip4, uint8_t last)
{
	char full[300];
	int one = 1;
	uint8_t addr[4] = {10, 0, 0, last ? last : 1};
	struct iovec iov[8];
	unsigned n = 0;

	snprintf(full, sizeof(full), "%s%s%s", parent_hint ? parent_hint : "",
	         parent_hint ? "." : "", name);
	iov[n++] = (struct iovec){"name", 5};
	iov[n++] = (struct iovec){full, strlen(full) + 1};
	iov[n++] = (struct iovec){"persist", 8};
	iov[n++] = (struct iovec){NULL, 0};
	iov[n++] = (struct iovec){"children.max", 13};
	iov[n++] = (struct iovec){&one, sizeof(one)};
	if (ip4) {
		iov[n++] = (struct iovec){"ip4.addr", 9};
		iov[n++] = (struct iovec){addr, sizeof(addr)};
	}
	return jailmodel_jail_set(iov, n, 0x01);
}

static int
flags_for(struct rd *r, int set)
{
	uint8_t f = u8(r);
	int flags;

	if (f >= 0xf0)
		flags = (int)u32(r); /* anything, bad bits included */
	else
		flags = f & 0xfb;
	if (set)
		flags &= ~0x04; /* JAIL_ATTACH: see the top of the file */
	return flags;
}

static int njids_made;

static void
op_fuzz_call(struct rd *r, int set)
{
	struct call c;
	int flags = flags_for(r, set), ret, err;

	build_call(r, &c, njids_made);
	if (trace)
		trace_call(&c, set ? "jail_set" : "jail_get", flags);
	errno = 0;
	if (u8(r) == 0x5a && c.niov > 0) {
		/* A NULL array with a count: EFAULT (or EINVAL for the count). */
		ret = set ? jailmodel_jail_set(NULL, c.niov, flags)
		          : jailmodel_jail_get(NULL, c.niov, flags);
		err = errno;
		if (ret != -1 || (err != EFAULT && err != EINVAL)) {
			fprintf(stderr, "NULL iov: %d, errno %d\n", ret, err);
			abort();
		}
	} else {
		ret = set ? jailmodel_jail_set(c.iov, c.niov, flags)
		          : jailmodel_jail_get(c.iov, c.niov, flags);
		err = errno;
	}
	check_and_free(&c, set ? "jail_set" : "jail_get", ret, err);
	if (set && ret > 0)
		njids_made++;
}

static void
run_ops(struct rd *r)
{
	for (int i = 0; i < FUZZ_MAX_OPS && r->n > 0; i++) {
		uint8_t op = u8(r);

		switch (op % 10) {
		case 0:
		case 1:
		case 2:
			op_fuzz_call(r, 1);
			break;
		case 3:
		case 4:
		case 5:
			op_fuzz_call(r, 0);
			break;
		case 6: { /* a well-formed jail to work on */
			static const char *const base[] = {"a", "b", "c", "a.x", "a.y", "b.z"};
			int jid = create_jail(base[u8(r) % 6], NULL, u8(r) & 1, u8(r));

			if (jid > 0)
				njids_made++;
			break;
		}
		case 7:
			(void)jailmodel_jail_remove((int)(u8(r) % 8) - 1);
			break;
		case 8: {
			uint8_t m = u8(r);

			if (m & 0x80)
				(void)jailmodel_kldunload(2 + m % 10);
			else
				(void)jailmodel_kldload(mod_names[m % NMODS]);
			break;
		}
		default: {
			uint8_t m = u8(r);

			if (m & 1)
				(void)jailmodel_hold(m >> 1 & 7);
			else
				(void)jailmodel_release(m >> 1 & 7);
			break;
		}
		}
	}
}

/* ---- libFuzzer ---------------------------------------------------------- */

static unsigned long reset_every = 32, runs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("FUZZ_RESET_EVERY");

	(void)argc;
	(void)argv;
	if (e != NULL && atol(e) > 0)
		reset_every = (unsigned long)atol(e);
	trace = getenv("FUZZ_TRACE") != NULL;
	discover_names();
	if ((e = getenv("FUZZ_DUMP_DICT")) != NULL)
		dump_dict(e);
	record_fds();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {data, size};
	uint8_t hdr = u8(&r);

	if (++runs % reset_every == 0 || (hdr & 0x10)) {
		jailmodel_reset();
		njids_made = 0;
	}
	if (hdr & 0x01)
		(void)jailmodel_set_version(14 + ((hdr >> 1) & 1)); /* only with no jails */
	if (hdr & 0x04) {
		/* Start from a small tree: a, a.x (child), b with an address. */
		if (create_jail("a", NULL, 0, 1) > 0)
			njids_made++;
		if (create_jail("x", "a", 0, 1) > 0)
			njids_made++;
		if (create_jail("b", NULL, 1, 2) > 0)
			njids_made++;
	}
	if (hdr & 0x08)
		for (size_t i = 0; i < NMODS; i++)
			(void)jailmodel_kldload(mod_names[i]);
	run_ops(&r);
	close_new_fds();
	return 0;
}
