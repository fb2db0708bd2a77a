/*
 * floor.c: the C floor of the benchmark.  Each operation is made ITERS times
 * through the model's C ABI with iovecs prepared once (only the returned
 * lengths are reset between calls), after a warm-up, timed with
 * clock_gettime(CLOCK_MONOTONIC).  Prints "ns=TOTAL iters=ITERS jails=N".
 *
 *   floor get    ITERS JID NAME:KIND:SIZE...   one jail_get of the names
 *   floor list   ITERS NAME:KIND:SIZE...       one listing: lastjid walk, "jid" first
 *   floor create ITERS PREFIX                  jail_set(6 parameters) + jail_remove
 *   floor update ITERS JID PREFIX              jail_set(JAIL_UPDATE, host.hostname)
 *
 * create and update take new values on every call, as the other baselines
 * do: names PREFIX<i>, hostnames PREFIX<i>.example and addresses 10.x.y.z as
 * text, made before the clock starts for POOL calls and used in turn; each
 * call converts its address with inet_pton(3).
 */
#include "common.h"

static struct bparam params[B_MAXPARAMS];
static struct iovec iov[2 * B_MAXPARAMS + 4];
static char errmsg[B_ERRMSG_LEN];
static unsigned long sink;

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

/* ---- create + remove, update: a pool of values used in turn ---- */

#define POOL 65536

struct values {
	char name[32];
	char host[48];
	char ip4[16];
};

static struct values *pool;
static long next_value;

static void
pool_make(const char *prefix)
{
	if (strlen(prefix) > 12) {
		fprintf(stderr, "prefix too long\n");
		exit(2);
	}
	if ((pool = calloc(POOL, sizeof(*pool))) == NULL)
		bdie("calloc");
	for (long i = 0; i < POOL; i++) {
		snprintf(pool[i].name, sizeof(pool[i].name), "%s%ld", prefix, i);
		snprintf(pool[i].host, sizeof(pool[i].host), "%s%ld.example", prefix, i);
		snprintf(pool[i].ip4, sizeof(pool[i].ip4), "10.%ld.%ld.%ld", (i >> 16) & 255,
		    (i >> 8) & 255, i & 255);
	}
}

static const struct values *
take(void)
{
	const struct values *v = &pool[next_value];

	next_value = (next_value + 1) % POOL;
	return v;
}

static struct in_addr c_ip4;

static void
create_prepare(const char *prefix)
{
	pool_make(prefix);
	bset(&iov[0], "name", NULL, 0);
	bset(&iov[2], "path", "/", 2);
	bset(&iov[4], "host.hostname", NULL, 0);
	bset(&iov[6], "ip4.addr", &c_ip4, sizeof(c_ip4));
	bset(&iov[8], "persist", NULL, 0);
	bset(&iov[10], "allow.raw_sockets", NULL, 0);
	bset(&iov[12], "errmsg", errmsg, sizeof(errmsg));
	g_niov = 14;
}

static void
create_once(void)
{
	const struct values *v = take();
	int jid;

	iov[1].iov_base = (void *)v->name;
	iov[1].iov_len = strlen(v->name) + 1;
	iov[5].iov_base = (void *)v->host;
	iov[5].iov_len = strlen(v->host) + 1;
	if (inet_pton(AF_INET, v->ip4, &c_ip4) != 1)
		fail("inet_pton");
	errmsg[0] = '\0';
	if ((jid = jailmodel_jail_set(iov, g_niov, B_JAIL_CREATE)) == -1)
		fail("jail_set create");
	if (jailmodel_jail_remove(jid) == -1)
		fail("jail_remove");
	sink += (unsigned)jid;
}

static void
update_prepare(int jid, const char *prefix)
{
	pool_make(prefix);
	g_jid = jid;
	bset(&iov[0], "jid", &g_jid, sizeof(g_jid));
	bset(&iov[2], "host.hostname", NULL, 0);
	bset(&iov[4], "errmsg", errmsg, sizeof(errmsg));
	g_niov = 6;
}

static void
update_once(void)
{
	const struct values *v = take();

	iov[3].iov_base = (void *)v->host;
	iov[3].iov_len = strlen(v->host) + 1;
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
	} else if (strcmp(argv[1], "create") == 0 && argc == 4) {
		create_prepare(argv[3]);
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
	t0 = bnow_ns();
	for (long i = 0; i < iters; i++)
		once();
	t1 = bnow_ns();
	printf("ns=%lld iters=%ld jails=%d sink=%lu\n", (long long)(t1 - t0), iters, l_count,
	    sink & 1);
	return 0;
}
