/*
 * scale.c: the model's own cost as its host fills, in C (no Python at all).
 *
 *   scale ITERS N1 N2 ...
 *
 * On a private host (jailmodel_open(NULL)), for each size N in increasing
 * order: the host is filled to N jails (each with a name, a hostname and an
 * IPv4 address of its own), then ITERS operations of each kind are timed,
 * each on values that change from call to call:
 *   create  jail_set(JAIL_CREATE) of a new jail (name, path, host.hostname,
 *           ip4.addr, persist), then jail_remove(2) of it
 *   getjid  jail_get(2) by jid of one of the N jails (name, host.hostname)
 *   getname jail_get(2) by name of one of the N jails (jid, host.hostname)
 *   update  jail_set(JAIL_UPDATE) of one of the N jails' host.hostname
 * The jails are visited in a scattered order (a stride prime to N), so that
 * no operation is served by the last one's cache lines alone.  One line per
 * size: "n=N create=NS getjid=NS getname=NS update=NS rss=BYTES", NS the
 * median over 5 rounds of ITERS operations, BYTES the resident size of the
 * process (the host is anonymous memory in it).
 */
#include "common.h"

#define ROUNDS 5

static char errmsg[B_ERRMSG_LEN];

static void
fail(const char *what, long i)
{
	fprintf(stderr, "%s (%ld): %s (%s)\n", what, i, strerror(errno), errmsg);
	exit(1);
}

/* Jail i of the filled host: name fill<i>, jid fill_jid[i]. */
static int *fill_jid;

static void
fill_name(char *buf, size_t size, long i)
{
	snprintf(buf, size, "fill%ld", i);
}

static struct in_addr
addr_of(long i, int base)
{
	struct in_addr a;

	a.s_addr = htonl((uint32_t)((base << 24) | (int)(i & 0xffffff)));
	return a;
}

static int
make_jail(const char *name, const char *host, struct in_addr ip4)
{
	struct iovec iov[12];

	bset(&iov[0], "name", (void *)name, strlen(name) + 1);
	bset(&iov[2], "path", "/", 2);
	bset(&iov[4], "host.hostname", (void *)host, strlen(host) + 1);
	bset(&iov[6], "ip4.addr", &ip4, sizeof(ip4));
	bset(&iov[8], "persist", NULL, 0);
	bset(&iov[10], "errmsg", errmsg, sizeof(errmsg));
	return jailmodel_jail_set(iov, 12, B_JAIL_CREATE);
}

static long counter;

static void
op_create(long n)
{
	char name[64], host[80];
	int jid;

	(void)n;
	snprintf(name, sizeof(name), "new%ld", counter);
	snprintf(host, sizeof(host), "new%ld.example", counter);
	if ((jid = make_jail(name, host, addr_of(counter, 10))) == -1)
		fail("create", counter);
	if (jailmodel_jail_remove(jid) == -1)
		fail("remove", counter);
	counter++;
}

static long pick_at;

/* The next of the N jails, in a scattered order. */
static long
pick(long n)
{
	pick_at = (pick_at + 7919) % n;
	return pick_at;
}

static void
op_getjid(long n)
{
	struct iovec iov[8];
	char name[B_MAXHOSTNAME], host[B_MAXHOSTNAME];
	int jid = fill_jid[pick(n)];

	bset(&iov[0], "jid", &jid, sizeof(jid));
	bset(&iov[2], "name", name, sizeof(name));
	bset(&iov[4], "host.hostname", host, sizeof(host));
	bset(&iov[6], "errmsg", errmsg, sizeof(errmsg));
	if (jailmodel_jail_get(iov, 8, 0) == -1)
		fail("get by jid", jid);
}

static void
op_getname(long n)
{
	struct iovec iov[8];
	char name[64], host[B_MAXHOSTNAME];
	int jid = 0; /* 0: the name is the key (a jid would be looked up first) */
	long i = pick(n);

	fill_name(name, sizeof(name), i);
	bset(&iov[0], "name", name, strlen(name) + 1);
	bset(&iov[2], "jid", &jid, sizeof(jid));
	bset(&iov[4], "host.hostname", host, sizeof(host));
	bset(&iov[6], "errmsg", errmsg, sizeof(errmsg));
	if (jailmodel_jail_get(iov, 8, 0) == -1 || jid != fill_jid[i])
		fail("get by name", i);
}

static void
op_update(long n)
{
	struct iovec iov[6];
	char host[80];
	int jid = fill_jid[pick(n)];

	snprintf(host, sizeof(host), "upd%ld.example", counter++);
	bset(&iov[0], "jid", &jid, sizeof(jid));
	bset(&iov[2], "host.hostname", host, strlen(host) + 1);
	bset(&iov[4], "errmsg", errmsg, sizeof(errmsg));
	if (jailmodel_jail_set(iov, 6, B_JAIL_UPDATE) == -1)
		fail("update", jid);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t
median_ns(void (*op)(long), long iters, long n)
{
	int64_t r[ROUNDS];

	for (long i = 0; i < iters / 10 + 1; i++) /* warm */
		op(n);
	for (int k = 0; k < ROUNDS; k++) {
		int64_t t0 = bnow_ns();

		for (long i = 0; i < iters; i++)
			op(n);
		r[k] = (bnow_ns() - t0) / iters;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_i64);
	return r[ROUNDS / 2];
}

static long
rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = -1, resident = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * 4096L;
}

int
main(int argc, char **argv)
{
	long iters, have = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: scale ITERS N1 [N2 ...]\n");
		return 2;
	}
	iters = strtol(argv[1], NULL, 10);
	if (iters < 1)
		iters = 1;
	if (jailmodel_open(NULL) == -1)
		bdie("jailmodel_open");
	for (int a = 2; a < argc; a++) {
		long n = strtol(argv[a], NULL, 10);

		if (n < 1 || n < have) {
			fprintf(stderr, "scale: sizes are positive and increasing\n");
			return 2;
		}
		if ((fill_jid = realloc(fill_jid, sizeof(*fill_jid) * (size_t)n)) == NULL)
			bdie("realloc");
		for (; have < n; have++) {
			char name[64], host[80];

			fill_name(name, sizeof(name), have);
			snprintf(host, sizeof(host), "fill%ld.example", have);
			if ((fill_jid[have] = make_jail(name, host, addr_of(have, 11))) == -1)
				fail("fill", have);
		}
		printf("n=%ld create=%lld getjid=%lld getname=%lld update=%lld rss=%ld\n", n,
		    (long long)median_ns(op_create, iters, n),
		    (long long)median_ns(op_getjid, iters, n),
		    (long long)median_ns(op_getname, iters, n),
		    (long long)median_ns(op_update, iters, n), rss_bytes());
		fflush(stdout);
	}
	return 0;
}
