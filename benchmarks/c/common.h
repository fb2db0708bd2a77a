/*
 * common.h: what the benchmark's two C programs share.
 *
 * A parameter is given on the command line as NAME:KIND:SIZE, where KIND is
 * one of
 *   i  a C int (also booleans and jailsys values)
 *   u  an unsigned long
 *   s  a NUL-terminated string (keyvalue text too) of at most SIZE bytes
 *   4  an array of struct in_addr,  SIZE bytes in all
 *   6  an array of struct in6_addr, SIZE bytes in all
 *   x  opaque bytes, shown in hex
 * The Python side derives these from jailcore's parameter specs once, before
 * anything is timed.  Both programs reach the kernel model through its
 * exported C ABI (jailmodel.h); the host is the state file named by
 * JAILCORE_MODEL_STATE in the environment.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "jailmodel.h"

#define B_JAIL_CREATE 0x01
#define B_JAIL_UPDATE 0x02
#define B_ERRMSG_LEN 1024
#define B_MAXPARAMS 256
#define B_MAXHOSTNAME 256 /* MAXHOSTNAMELEN: jail names and hostnames */

struct bparam {
	char name[128];
	char kind;
	size_t size;
	char *buf;
};

/* CLOCK_MONOTONIC in nanoseconds: what the timed loops read. */
static inline int64_t
bnow_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
bdie(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(2);
}

static inline void
bparse(const char *arg, struct bparam *p)
{
	const char *c1 = strchr(arg, ':'), *c2;

	if (c1 == NULL || (size_t)(c1 - arg) >= sizeof(p->name) ||
	    (c2 = strchr(c1 + 1, ':')) == NULL) {
		fprintf(stderr, "bad parameter %s (NAME:KIND:SIZE)\n", arg);
		exit(2);
	}
	memcpy(p->name, arg, (size_t)(c1 - arg));
	p->name[c1 - arg] = '\0';
	p->kind = c1[1];
	p->size = strtoul(c2 + 1, NULL, 10);
	p->buf = calloc(1, p->size ? p->size : 1);
	if (p->buf == NULL)
		bdie("calloc");
}

static inline void
bset(struct iovec *iov, const char *name, void *value, size_t len)
{
	iov[0].iov_base = (void *)name;
	iov[0].iov_len = strlen(name) + 1;
	iov[1].iov_base = value;
	iov[1].iov_len = len;
}

/* Print one value as jls does (addresses comma-separated). */
static inline void
bprint(FILE *f, const struct bparam *p, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	switch (p->kind) {
	case 'i': {
		int v = 0;
		memcpy(&v, p->buf, len < sizeof(v) ? len : sizeof(v));
		fprintf(f, "%d", v);
		break;
	}
	case 'u': {
		unsigned long v = 0;
		memcpy(&v, p->buf, len < sizeof(v) ? len : sizeof(v));
		fprintf(f, "%lu", v);
		break;
	}
	case 's':
		fprintf(f, "%.*s", (int)strnlen(p->buf, len), p->buf);
		break;
	case '4':
	case '6': {
		size_t el = p->kind == '4' ? 4 : 16;
		for (size_t off = 0; off + el <= len; off += el) {
			inet_ntop(p->kind == '4' ? AF_INET : AF_INET6, p->buf + off, addr,
			    sizeof(addr));
			fprintf(f, "%s%s", off ? "," : "", addr);
		}
		break;
	}
	default:
		for (size_t i = 0; i < len; i++)
			fprintf(f, "%02x", (unsigned char)p->buf[i]);
	}
}

#endif
