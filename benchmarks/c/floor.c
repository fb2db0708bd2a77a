/*
 * floor.c: the C floor of the benchmark.  Each operation is made ITERS times
 * through the model's C ABI with iovecs prepared once (only the returned
 * lengths are reset between calls), after a warm-up, timed with
 * clock_gettime(CLOCK_MONOTONIC).  Prints "ns=TOTAL iters=ITERS jails=N".
 *
 *   floor get    ITERS JID NAME:KIND:SIZE...   one jail_get of the names
 *   floor list   ITERS NAME:KIND:SIZE...       one listing: lastjid walk, "jid" first
 *   floor create ITERS NAME IP4                jail_set(6 parameters) + jail_remove
 *   floor update ITERS JID HOSTNAME            jail_set(JAIL_UPDATE, host.hostname)
 */
#include <stdint.h>
#include <time.h>

#include "common.h"

static struct bparam params[B_MAXPARAMS];
static struct iovec iov[2 * B_MAXPARAMS + 4];
static char errmsg[B_ERRMSG_LEN];
static unsigned long sink;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
fail(const char *what)
{
	fprintf(stderr, "%s: %s (%s)\n", what, strerror(errno), errmsg);
	exit(1);
}

/* ---- get: one jail, prepared iovec ---- */

static int g_jid, g_np;
static unsigned g_niov;

/* The pairs of the names in args from iov[k] on ("jid" is the caller's, always
 * asked), then errmsg; sets g_np and g_niov. */
static void
add_params(unsigned k, int np, char **args)
{
	g_np = 0;
	for (int i = 0; i < np; i++) {
		struct bparam *p = &params[g_np];
		bparse(args[i], p);
		if (strcmp(p->name, "jid") == 0)
			continue;
		bset(&iov[k], p->name, p->buf, p->size);
		k += 2;
		g_np++;
	}
	bset(&iov[k], "errmsg", errmsg, sizeof(errmsg));
	g_niov = k + 2;
}

static void
get_prepare(int jid, int np, char **args)
{
	g_jid = jid;
	bset(&iov[0], "jid", &g_jid, sizeof(g_jid)); /* the key doubles as the jid output */
	add_params(2, np, args);
}

static void
get_once(void)
{
	for (int i = 0; i < g_np; i++)
		iov[2 * i + 3].iov_len = params[i].size;
	errmsg[0] = '\0';
	if (jailmodel_jail_get(iov, g_niov, 0) == -1)
		fail("jail_get");
	sink += iov[3].iov_len;
}

/* ---- list: every jail, one jail_get each ---- */

static int l_lastjid, l_jid, l_count;

static void
list_prepare(int np, char **args)
{
	bset(&iov[0], "lastjid", &l_lastjid, sizeof(l_lastjid));
	bset(&iov[2], "jid", &l_jid, sizeof(l_jid));
	add_params(4, np, args);
}

static void
list_once(void)
{
	int n = 0;

	l_lastjid = 0;
	for (;;) {
		iov[3].iov_len = sizeof(l_jid);
		for (int i = 0; i < g_np; i++)
			iov[2 * i + 5].iov_len = params[i].size;
		errmsg[0] = '\0';
		if (jailmodel_jail_get(iov, g_niov, 0) == -1) {
			if (errno == ENOENT)
				break;
			fail("jail_get lastjid");
		}
		l_lastjid = l_jid;
		n++;
	}
	l_count = n;
}

/* ---- create + remove ---- */

static char c_name[256];
static struct in_addr c_ip4;

static void
create_prepare(const char *name, const char *ip4)
{
	snprintf(c_name, sizeof(c_name), "%s", name);
	if (inet_pton(AF_INET, ip4, &c_ip4) != 1) {
		fprintf(stderr, "bad address %s\n", ip4);
		exit(2);
	}
	bset(&iov[0], "name", c_name, strlen(c_name) + 1);
	bset(&iov[2], "path", "/", 2);
	bset(&iov[4], "host.hostname", "bench-c.example", sizeof("bench-c.example"));
	bset(&iov[6], "ip4.addr", &c_ip4, sizeof(c_ip4));
	bset(&iov[8], "persist", NULL, 0);
	bset(&iov[10], "allow.raw_sockets", NULL, 0);
	bset(&iov[12], "errmsg", errmsg, sizeof(errmsg));
	g_niov = 14;
}

static void
create_once(void)
{
	int jid;

	errmsg[0] = '\0';
	if ((jid = jailmodel_jail_set(iov, g_niov, B_JAIL_CREATE)) == -1)
		fail("jail_set create");
	if (jailmodel_jail_remove(jid) == -1)
		fail("jail_remove");
	sink += (unsigned)jid;
}

/* ---- update ---- */

static char u_host[256];

static void
update_prepare(int jid, const char *host)
{
	g_jid = jid;
	snprintf(u_host, sizeof(u_host), "%s", host);
	bset(&iov[0], "jid", &g_jid, sizeof(g_jid));
	bset(&iov[2], "host.hostname", u_host, strlen(u_host) + 1);
	bset(&iov[4], "errmsg", errmsg, sizeof(errmsg));
	g_niov = 6;
}

static void
update_once(void)
{
	errmsg[0] = '\0';
	if (jailmodel_jail_set(iov, g_niov, B_JAIL_UPDATE) == -1)
		fail("jail_set update");
}

int
main(int argc, char **argv)
{
	void (*once)(void);
	long iters, warm;
	int64_t t0, t1;

	if (argc < 3) {
		fprintf(stderr, "usage: floor get|list|create|update ITERS ...\n");
		return 2;
	}
	iters = strtol(argv[2], NULL, 10);
	if (iters < 1)
		iters = 1;
	if (strcmp(argv[1], "get") == 0 && argc >= 4) {
		get_prepare(atoi(argv[3]), argc - 4, argv + 4);
		once = get_once;
	} else if (strcmp(argv[1], "list") == 0) {
		list_prepare(argc - 3, argv + 3);
		once = list_once;
	} else if (strcmp(argv[1], "create") == 0 && argc == 5) {
		create_prepare(argv[3], argv[4]);
		once = create_once;
	} else if (strcmp(argv[1], "update") == 0 && argc == 5) {
		update_prepare(atoi(argv[3]), argv[4]);
		once = update_once;
	} else {
		fprintf(stderr, "floor: bad arguments\n");
		return 2;
	}
	warm = iters / 10 + 1;
	for (long i = 0; i < warm; i++)
		once();
	t0 = now_ns();
	for (long i = 0; i < iters; i++)
		once();
	t1 = now_ns();
	printf("ns=%lld iters=%ld jails=%d sink=%lu\n", (long long)(t1 - t0), iters, l_count,
	    sink & 1);
	return 0;
}
