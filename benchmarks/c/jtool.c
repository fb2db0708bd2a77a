/*
 * jtool.c: the subprocess baseline, a one-shot tool in the manner of jls(8)
 * and jail(8), built against the kernel model and sharing its host through
 * JAILCORE_MODEL_STATE.  Spawned once per operation; it prints what jls
 * would, and the Python side parses it.
 *
 *   jtool get JID NAME:KIND:SIZE...   one line per parameter: name=value
 *   jtool list NAME:KIND:SIZE...      one line per jail, values tab-separated
 *   jtool create NAME HOST IP4        create with 6 parameters, remove; prints the jid
 *   jtool update JID HOSTNAME         jail_set(JAIL_UPDATE, host.hostname)
 */
#include "common.h"

static struct bparam params[B_MAXPARAMS];
static struct iovec iov[2 * B_MAXPARAMS + 4];
static char errmsg[B_ERRMSG_LEN];

static int
fail(const char *what)
{
	fprintf(stderr, "jtool: %s: %s%s%s\n", what, strerror(errno), errmsg[0] ? ": " : "",
	    errmsg);
	return 1;
}

static unsigned
build(unsigned k, int np, char **args)
{
	for (int i = 0; i < np; i++) {
		bparse(args[i], &params[i]);
		bset(&iov[k], params[i].name, params[i].buf, params[i].size);
		k += 2;
	}
	bset(&iov[k], "errmsg", errmsg, sizeof(errmsg));
	return k + 2;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "get") == 0) {
		int jid = atoi(argv[2]), np = 0, want_jid = 0;
		char *names[B_MAXPARAMS];
		unsigned n;

		/* The key doubles as the jid output: a second "jid" pair would replace it. */
		for (int i = 3; i < argc && np < B_MAXPARAMS; i++) {
			if (strncmp(argv[i], "jid:", 4) == 0)
				want_jid = 1;
			else
				names[np++] = argv[i];
		}
		bset(&iov[0], "jid", &jid, sizeof(jid));
		n = build(2, np, names);
		if (jailmodel_jail_get(iov, n, 0) == -1)
			return fail("jail_get");
		if (want_jid)
			printf("jid=%d\n", jid);
		for (int i = 0; i < np; i++) {
			printf("%s=", params[i].name);
			bprint(stdout, &params[i], iov[2 * i + 3].iov_len);
			putchar('\n');
		}
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		int lastjid = 0, jid = 0, np = argc - 2;
		unsigned n;

		bset(&iov[0], "lastjid", &lastjid, sizeof(lastjid));
		bset(&iov[2], "jid", &jid, sizeof(jid));
		n = build(4, np, argv + 2);
		for (;;) {
			for (int i = 0; i < np; i++)
				iov[2 * i + 5].iov_len = params[i].size;
			if (jailmodel_jail_get(iov, n, 0) == -1) {
				if (errno == ENOENT)
					break;
				return fail("jail_get");
			}
			printf("%d", jid);
			for (int i = 0; i < np; i++) {
				putchar('\t');
				bprint(stdout, &params[i], iov[2 * i + 5].iov_len);
			}
			putchar('\n');
			lastjid = jid;
		}
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "create") == 0) {
		struct in_addr a;
		int jid;

		if (inet_pton(AF_INET, argv[4], &a) != 1)
			return fail("bad address");
		bset(&iov[0], "name", argv[2], strlen(argv[2]) + 1);
		bset(&iov[2], "path", "/", 2);
		bset(&iov[4], "host.hostname", argv[3], strlen(argv[3]) + 1);
		bset(&iov[6], "ip4.addr", &a, sizeof(a));
		bset(&iov[8], "persist", NULL, 0);
		bset(&iov[10], "allow.raw_sockets", NULL, 0);
		bset(&iov[12], "errmsg", errmsg, sizeof(errmsg));
		if ((jid = jailmodel_jail_set(iov, 14, B_JAIL_CREATE)) == -1)
			return fail("jail_set");
		if (jailmodel_jail_remove(jid) == -1)
			return fail("jail_remove");
		printf("%d\n", jid);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "update") == 0) {
		int jid = atoi(argv[2]);

		bset(&iov[0], "jid", &jid, sizeof(jid));
		bset(&iov[2], "host.hostname", argv[3], strlen(argv[3]) + 1);
		bset(&iov[4], "errmsg", errmsg, sizeof(errmsg));
		if (jailmodel_jail_set(iov, 6, B_JAIL_UPDATE) == -1)
			return fail("jail_set");
		return 0;
	}
	fprintf(stderr, "usage: jtool get|list|create|update ...\n");
	return 2;
}
