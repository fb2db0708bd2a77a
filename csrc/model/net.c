/*
 * net.c: the model's network interfaces, per vnet: addresses (in.c, in6.c),
 * flags, cloning (if_clone.c, if_epair.c, if_loop.c), renaming and vnet
 * moves (if.c: if_rename, if_vmove_loan, if_vmove_reclaim, vnet_if_return),
 * answered through jailmodel_ioctl with FreeBSD's request numbers and
 * structures, and jailmodel_getifaddrs as getifaddrs(3) reports them.
 * Facts: shared/spec/freebsd-jail-host.md sections B and E,
 * freebsd-jail-userland.md 6.1; FreeBSD sys/net/if.c, if_clone.c,
 * if_epair.c, sys/netinet/in.c, sys/netinet6/in6.c, sys/kern/kern_jail.c
 * (prison_priv_check, prison_check_ip4/ip6).  Nothing here touches the
 * machine's own interfaces.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"

/* ---- the table ------------------------------------------------------------ */

/* Whether an entry read from the host is well formed (its strings ended, its
 * counts and links within bounds). */
static int
if_wellformed(const struct jm_if *f)
{
	if (memchr(f->name, '\0', sizeof(f->name)) == NULL || f->name[0] == '\0')
		return 0;
	if (f->naddr > JM_NET_MAXADDR)
		return 0;
	if (f->peer < -1 || f->peer >= JM_NET_MAXIF)
		return 0;
	if (f->vnet < 0 || f->vnet >= JM_MAXPRISONS || f->home < 0 || f->home >= JM_MAXPRISONS)
		return 0;
	for (uint32_t i = 0; i < f->naddr; i++)
		if (f->addr[i].af != JAILMODEL_AF_INET && f->addr[i].af != JAILMODEL_AF_INET6)
			return 0;
	return 1;
}

/* Entry i when in use; NULL when free; NULL after jm_broken() when it is
 * in use but malformed (another process wrote it). */
static struct jm_if *
if_at(struct jm_host *h, int i)
{
	struct jm_if *f = &h->net.ifs[i];

	if (!f->used)
		return NULL;
	if (!if_wellformed(f)) {
		jm_broken();
		return NULL;
	}
	return f;
}

/* The vnet a prison uses: its own (JM_PR_VNET) or its nearest ancestor's;
 * prison0's is the host's (slot 0). */
static int
vnet_of(const struct jm_host *h, int slot)
{
	for (int depth = 0; slot > 0; slot = jm_parent_slot(h, slot)) {
		if (h->prisons[slot].flags & JM_PR_VNET)
			return slot;
		if (++depth > JM_MAXPRISONS) {
			jm_broken();
			return 0;
		}
	}
	return 0;
}

static int
if_in_vnet(const struct jm_host *h, const struct jm_if *f, int vnet)
{
	return f->vnet == vnet && f->vnet_gen == h->prisons[vnet].gen;
}

/* ifunit(): the interface named `name` in vnet `vnet`, or -1. */
static int
if_find(struct jm_host *h, int vnet, const char *name)
{
	for (int i = 0; i < JM_NET_MAXIF; i++) {
		struct jm_if *f = if_at(h, i);

		if (f != NULL && if_in_vnet(h, f, vnet) && strcmp(f->name, name) == 0)
			return i;
	}
	return -1;
}

/* Stamp an interface's arrival in its vnet: FreeBSD appends an interface
 * to its vnet's list when it is attached there (if_attach_internal, also
 * after a move), and getifaddrs walks that list.  The caller has saved f. */
static void
if_arrive(struct jm_host *h, struct jm_if *f)
{
	jm_save(h, &h->net.next_seq, sizeof(h->net.next_seq));
	f->seq = h->net.next_seq++;
}

/* The lowest free if_index (FreeBSD's ifindex_alloc takes the lowest). */
static uint32_t
if_new_index(struct jm_host *h)
{
	for (uint32_t idx = 1;; idx++) {
		int taken = 0;

		for (int i = 0; i < JM_NET_MAXIF && !taken; i++)
			taken = h->net.ifs[i].used && h->net.ifs[i].index == idx;
		if (!taken)
			return idx;
	}
}

/* A new entry in vnet `vnet` (home there too); -1 with ENOSPC when the
 * model's table is full.  The caller is inside a change. */
static int
if_new(struct jm_host *h, int vnet, const char *name, uint32_t type, uint32_t flags,
    int cloner, int unit)
{
	for (int i = 0; i < JM_NET_MAXIF; i++) {
		struct jm_if *f = &h->net.ifs[i];

		if (f->used)
			continue;
		jm_save(h, f, sizeof(*f));
		memset(f, 0, sizeof(*f));
		f->index = if_new_index(h);
		f->used = 1;
		f->flags = flags;
		f->type = type;
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->home = f->vnet = vnet;
		f->home_gen = f->vnet_gen = h->prisons[vnet].gen;
		f->cloner = cloner;
		f->unit = unit;
		f->peer = -1;
		if_arrive(h, f);
		if (type == JM_IFT_ETHER) {
			uint32_t n;

			jm_save(h, &h->net.mac_serial, sizeof(h->net.mac_serial));
			n = ++h->net.mac_serial;
			/* A locally administered address (02:...). */
			f->mac[0] = 0x02;
			f->mac[1] = 0x4a;
			f->mac[2] = 0x43; /* "JC" */
			f->mac[3] = (uint8_t)(n >> 16);
			f->mac[4] = (uint8_t)(n >> 8);
			f->mac[5] = (uint8_t)n;
		}
		return i;
	}
	return -1;
}

static void
if_free(struct jm_host *h, int i)
{
	struct jm_if *f = &h->net.ifs[i];

	jm_save(h, f, sizeof(*f));
	memset(f, 0, sizeof(*f));
}

/* Destroy an interface and, for an epair, its other end wherever it is
 * (if_epair.c's epair_clone_destroy takes both ends down together). */
static void
if_destroy(struct jm_host *h, int i)
{
	int peer = h->net.ifs[i].peer;

	if (peer >= 0 && peer != i && if_at(h, peer) != NULL && h->net.ifs[peer].peer == i)
		if_free(h, peer);
	if_free(h, i);
}

static void
set_addr(struct jm_ifaddr *a, int af, const uint8_t *addr, int plen)
{
	memset(a, 0, sizeof(*a));
	a->af = (uint8_t)af;
	memcpy(a->addr, addr, af == JAILMODEL_AF_INET ? 4 : 16);
	a->plen = (uint8_t)plen;
	if (af == JAILMODEL_AF_INET)
		for (int b = 0; b < plen; b++)
			a->mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
}

void
jm_net_init(struct jm_host *h)
{
	static const uint8_t lo4[4] = {127, 0, 0, 1};
	static const uint8_t lo6[16] = {[15] = 1};
	static const uint8_t ll6[16] = {0xfe, 0x80, [15] = 1};
	struct jm_if *f;
	int i;

	memset(&h->net, 0, sizeof(h->net));
	/* lo0 as FreeBSD brings it up at boot (rc.conf's ifconfig_lo0 "inet
	 * 127.0.0.1", in6_ifattach's ::1 and fe80::1%lo0), in the order
	 * ifconfig(8) shows them. */
	i = if_new(h, 0, "lo0", JM_IFT_LOOP,
	    JM_IFF_UP | JM_IFF_LOOPBACK | JM_IFF_RUNNING | JM_IFF_MULTICAST, JM_CLONER_LO, 0);
	f = &h->net.ifs[i];
	set_addr(&f->addr[0], JAILMODEL_AF_INET6, lo6, 128);
	set_addr(&f->addr[1], JAILMODEL_AF_INET6, ll6, 64);
	f->addr[1].scope = f->index;
	set_addr(&f->addr[2], JAILMODEL_AF_INET, lo4, 8);
	f->naddr = 3;
	if_new(h, 0, "em0", JM_IFT_ETHER,
	    JM_IFF_UP | JM_IFF_BROADCAST | JM_IFF_RUNNING | JM_IFF_SIMPLEX | JM_IFF_MULTICAST,
	    JM_CLONER_NONE, 0);
}

int
jm_net_core_valid(const struct jm_host *h)
{
	JM_UNUSED(h);
	return 1; /* the entries are checked where they are used (if_at) */
}

int
jm_net_valid(const struct jm_host *h)
{
	for (int i = 0; i < JM_NET_MAXIF; i++)
		if (h->net.ifs[i].used && !if_wellformed(&h->net.ifs[i]))
			return 0;
	return 1;
}

/* A new vnet gets its own lo0, down and without addresses (if_loop.c
 * creates it in every vnet; the addresses come from the jail's rc).  The
 * model's table being full leaves the vnet without one. */
void
jm_net_vnet_created(struct jm_host *h, int slot)
{
	if (slot <= 0 || slot >= JM_MAXPRISONS)
		return;
	if_new(h, slot, "lo0", JM_IFT_LOOP, JM_IFF_LOOPBACK | JM_IFF_MULTICAST, JM_CLONER_LO, 0);
}

/* vnet_if_return (if.c): when a vnet goes away, interfaces lent to it go
 * back to their home vnet keeping their name; those created in it are
 * destroyed with their cloner (for an epair, both ends, the other end
 * wherever it is, as epair's cloner detach destroys whole pairs). */
void
jm_net_prison_freed(struct jm_host *h, int slot)
{
	uint32_t gen;

	if (slot <= 0 || slot >= JM_MAXPRISONS || !(h->prisons[slot].flags & JM_PR_VNET))
		return;
	gen = h->prisons[slot].gen;
	for (int i = 0; i < JM_NET_MAXIF; i++) {
		struct jm_if *f = if_at(h, i);

		if (f == NULL || f->home != slot || f->home_gen != gen)
			continue;
		if_destroy(h, i);
	}
	for (int i = 0; i < JM_NET_MAXIF; i++) {
		struct jm_if *f = if_at(h, i);
		int home;

		if (f == NULL || f->vnet != slot || f->vnet_gen != gen)
			continue;
		home = f->home;
		if (home != 0 && (!jm_slot_ok(h, home) || h->prisons[home].gen != f->home_gen))
			home = 0; /* its home went first: the host takes it */
		jm_save(h, f, sizeof(*f));
		f->vnet = home;
		f->vnet_gen = h->prisons[home].gen;
		if_arrive(h, f);
	}
}

int
jailmodel_add_ether(const char *name)
{
	struct jm_host *h;
	int err = 0;
	size_t len = name != NULL ? strnlen(name, JAILMODEL_IFNAMSIZ) : 0;

	if ((h = jm_lock()) == NULL)
		return -1;
	if (!jm_control_allowed(h))
		err = EPERM;
	else if (len == 0 || len >= JAILMODEL_IFNAMSIZ)
		err = EINVAL;
	else if (if_find(h, 0, name) >= 0)
		err = EEXIST;
	else {
		jm_change_begin(h);
		if (if_new(h, 0, name, JM_IFT_ETHER,
		    JM_IFF_UP | JM_IFF_BROADCAST | JM_IFF_RUNNING | JM_IFF_SIMPLEX |
		    JM_IFF_MULTICAST, JM_CLONER_NONE, 0) < 0)
			err = ENOSPC;
	}
	return jm_unlock_ret(h, err);
}

/* The undo log: a change saves each entry it touches whole, at most twice
 * per entry (moved home, then destroyed, in the removal of a whole tree of
 * vnet jails) plus the MAC counter; the arena's share for the tables besides
 * the prisons (JM_UNDO_ARENA's 8 MB) has room for that many times over. */
_Static_assert(3 * sizeof(struct jm_net) < (1u << 20), "undo room for the interface table");

/* ---- privilege ------------------------------------------------------------- */

/* priv_check for the PRIV_NET_* privileges of the interface ioctls: root
 * (the model's superuser); in a jail, only a jail with its own vnet
 * (kern_jail.c prison_priv_check allows them for PR_VNET prisons). */
static int
net_priv(const struct jm_host *h, int caller)
{
	if (!jm_caller_is_root())
		return EPERM;
	if (caller != 0 && !(h->prisons[caller].flags & JM_PR_VNET))
		return EPERM;
	return 0;
}

/* PRIV_NET_SETIFVNET: root on the host, or in a jail with its own vnet
 * (kern_jail.c, prison_priv_check: the VIMAGE privileges are granted to a
 * PR_VNET jail), which may so lend an interface to a jail of its own. */
static int
vnet_priv(const struct jm_host *h, int caller)
{
	return net_priv(h, caller);
}

/* ---- addresses (in.c, in6.c) --------------------------------------------- */

static int
mask_len(const uint8_t *m, int nbytes)
{
	int plen = 0, b;

	for (b = 0; b < nbytes * 8 && (m[b / 8] & (0x80 >> (b % 8))); b++)
		plen++;
	for (; b < nbytes * 8; b++)
		if (m[b / 8] & (0x80 >> (b % 8)))
			return -1; /* not contiguous */
	return plen;
}

static int
addr_find(const struct jm_if *f, int af, const uint8_t *addr)
{
	for (uint32_t i = 0; i < f->naddr; i++)
		if (f->addr[i].af == af &&
		    memcmp(f->addr[i].addr, addr, af == JAILMODEL_AF_INET ? 4 : 16) == 0)
			return (int)i;
	return -1;
}

static void
addr_remove(struct jm_host *h, struct jm_if *f, int k)
{
	jm_save(h, f, sizeof(*f));
	memmove(&f->addr[k], &f->addr[k + 1], (f->naddr - (uint32_t)k - 1) * sizeof(f->addr[0]));
	f->naddr--;
	memset(&f->addr[f->naddr], 0, sizeof(f->addr[0]));
}

/* Add or replace (same address: the entry keeps its place); the interface
 * comes up, as the driver's SIOCSIFADDR does for ether and loop. */
static int
addr_put(struct jm_host *h, struct jm_if *f, const struct jm_ifaddr *a)
{
	int k = addr_find(f, a->af, a->addr);

	if (k < 0 && f->naddr >= JM_NET_MAXADDR)
		return ENOSPC;
	jm_save(h, f, sizeof(*f));
	if (k < 0)
		k = (int)f->naddr++;
	f->addr[k] = *a;
	f->flags |= JM_IFF_UP | JM_IFF_RUNNING;
	return 0;
}

/* SIOCAIFADDR (in.c in_aifaddr_ioctl). */
static int
aifaddr4(struct jm_host *h, struct jm_if *f, const struct jailmodel_in_aliasreq *r)
{
	struct jm_ifaddr a;
	uint32_t ip, mask;

	if (r->ifra_addr.sin_len != sizeof(struct jailmodel_sockaddr_in) ||
	    r->ifra_addr.sin_family != JAILMODEL_AF_INET)
		return EINVAL;
	if (r->ifra_broadaddr.sin_len != 0 &&
	    (r->ifra_broadaddr.sin_len != sizeof(struct jailmodel_sockaddr_in) ||
	    r->ifra_broadaddr.sin_family != JAILMODEL_AF_INET))
		return EINVAL;
	if (r->ifra_mask.sin_len != 0 && r->ifra_mask.sin_len != sizeof(struct jailmodel_sockaddr_in))
		return EINVAL;
	memset(&a, 0, sizeof(a));
	a.af = JAILMODEL_AF_INET;
	memcpy(a.addr, r->ifra_addr.sin_addr, 4);
	ip = (uint32_t)a.addr[0] << 24 | (uint32_t)a.addr[1] << 16 | (uint32_t)a.addr[2] << 8 | a.addr[3];
	if (r->ifra_mask.sin_len != 0) {
		memcpy(a.mask, r->ifra_mask.sin_addr, 4);
	} else {
		/* No mask: the classful default (in.c, IN_CLASSA/B/C). */
		mask = (ip >> 31) == 0 ? 0xff000000u : (ip >> 30) == 2 ? 0xffff0000u : 0xffffff00u;
		for (int b = 0; b < 4; b++)
			a.mask[b] = (uint8_t)(mask >> (24 - 8 * b));
	}
	mask = (uint32_t)a.mask[0] << 24 | (uint32_t)a.mask[1] << 16 | (uint32_t)a.mask[2] << 8 | a.mask[3];
	a.plen = (uint8_t)(mask_len(a.mask, 4) < 0 ? 0 : mask_len(a.mask, 4));
	if (r->ifra_broadaddr.sin_len != 0) {
		memcpy(a.dst, r->ifra_broadaddr.sin_addr, 4);
		a.has_dst = 1;
	} else if (f->flags & JM_IFF_BROADCAST) {
		/* in_ifinit: subnet | ~mask; a /31 (RFC 3021) gets 255.255.255.255. */
		uint32_t bc = mask == 0xfffffffeu ? 0xffffffffu : (ip & mask) | ~mask;

		for (int b = 0; b < 4; b++)
			a.dst[b] = (uint8_t)(bc >> (24 - 8 * b));
		a.has_dst = 1;
	}
	return addr_put(h, f, &a);
}

/* SIOCDIFADDR (in.c in_difaddr_ioctl): a malformed address deletes the
 * interface's first IPv4 address. */
static int
difaddr4(struct jm_host *h, struct jm_if *f, const struct jailmodel_ifreq *r)
{
	const struct jailmodel_sockaddr *sa = &r->ifr_ifru.ifru_addr;
	int k = -1;

	if (sa->sa_len != sizeof(struct jailmodel_sockaddr_in) || sa->sa_family != JAILMODEL_AF_INET) {
		for (uint32_t i = 0; i < f->naddr && k < 0; i++)
			if (f->addr[i].af == JAILMODEL_AF_INET)
				k = (int)i;
	} else {
		k = addr_find(f, JAILMODEL_AF_INET,
		    (const uint8_t *)((const struct jailmodel_sockaddr_in *)(const void *)sa)->sin_addr);
	}
	if (k < 0)
		return EADDRNOTAVAIL;
	addr_remove(h, f, k);
	return 0;
}

/* SIOCAIFADDR_IN6 (in6.c in6_control, in6_validate_ifra): a new address
 * needs a prefix mask, which must be contiguous and not /0; re-adding keeps
 * the old prefix when none is given. */
static int
aifaddr6(struct jm_host *h, struct jm_if *f, const struct jailmodel_in6_aliasreq *r)
{
	struct jm_ifaddr a;
	int k, plen;

	if (r->ifra_addr.sin6_len != sizeof(struct jailmodel_sockaddr_in6) ||
	    r->ifra_addr.sin6_family != JAILMODEL_AF_INET6)
		return EINVAL;
	k = addr_find(f, JAILMODEL_AF_INET6, r->ifra_addr.sin6_addr);
	if (r->ifra_prefixmask.sin6_len != 0) {
		plen = mask_len(r->ifra_prefixmask.sin6_addr, 16);
		if (plen <= 0)
			return EINVAL;
	} else if (k >= 0) {
		plen = f->addr[k].plen;
	} else {
		return EINVAL;
	}
	set_addr(&a, JAILMODEL_AF_INET6, r->ifra_addr.sin6_addr, plen);
	if (a.addr[0] == 0xfe && (a.addr[1] & 0xc0) == 0x80)
		a.scope = f->index;
	return addr_put(h, f, &a);
}

/* SIOCDIFADDR_IN6: the address must be there (no delete-first rule). */
static int
difaddr6(struct jm_host *h, struct jm_if *f, const struct jailmodel_in6_ifreq *r)
{
	const struct jailmodel_sockaddr_in6 *sa = &r->ifr_ifru.ifru_addr;
	int k = -1;

	if (sa->sin6_len == sizeof(*sa) && sa->sin6_family == JAILMODEL_AF_INET6)
		k = addr_find(f, JAILMODEL_AF_INET6, sa->sin6_addr);
	if (k < 0)
		return EADDRNOTAVAIL;
	addr_remove(h, f, k);
	return 0;
}

/* ---- cloning (if_clone.c, if_epair.c, if_loop.c) ------------------------- */

/* ifc_name2unit: digits after the cloner's name, no leading zero; -1 for
 * none (the wildcard); -2 when malformed. */
static int
name2unit(const char *s)
{
	long unit = 0;

	if (*s == '\0')
		return -1;
	if (*s == '0' && s[1] != '\0')
		return -2;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -2;
		unit = unit * 10 + (*s - '0');
		if (unit > 0x7fff) /* IF_MAXUNIT */
			return -2;
	}
	return (int)unit;
}

static int
unit_taken(struct jm_host *h, int vnet, int cloner, int unit)
{
	for (int i = 0; i < JM_NET_MAXIF; i++) {
		struct jm_if *f = if_at(h, i);

		if (f != NULL && f->cloner == cloner && f->unit == unit &&
		    f->home == vnet && f->home_gen == h->prisons[vnet].gen)
			return 1;
	}
	return 0;
}

/* SIOCIFCREATE/SIOCIFCREATE2: the name created written back in ifr_name. */
static int
if_create(struct jm_host *h, int vnet, char *ifname)
{
	char name[JAILMODEL_IFNAMSIZ], an[JAILMODEL_IFNAMSIZ], bn[JAILMODEL_IFNAMSIZ];
	int cloner, unit, wild, a, b;

	memcpy(name, ifname, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	/* if_clone_create: a cloner must match the name (EINVAL), then
	 * if_clone_createif refuses a name taken (EEXIST). */
	if (strncmp(name, "epair", 5) == 0) {
		cloner = JM_CLONER_EPAIR;
		unit = name2unit(name + 5);
	} else if (strncmp(name, "lo", 2) == 0) {
		cloner = JM_CLONER_LO;
		unit = name2unit(name + 2);
	} else {
		return EINVAL; /* no cloner matches */
	}
	if (if_find(h, vnet, name) >= 0)
		return EEXIST;
	if (unit == -2)
		return EINVAL;
	wild = unit < 0;
	for (unit = wild ? 0 : unit; unit <= 0x7fff; unit++) {
		int clash;

		if (cloner == JM_CLONER_EPAIR) {
			snprintf(an, sizeof(an), "epair%da", unit);
			snprintf(bn, sizeof(bn), "epair%db", unit);
			clash = if_find(h, vnet, an) >= 0 || if_find(h, vnet, bn) >= 0;
		} else {
			snprintf(an, sizeof(an), "lo%d", unit);
			clash = if_find(h, vnet, an) >= 0;
		}
		if (!clash && !unit_taken(h, vnet, cloner, unit))
			break;
		if (!wild)
			return EEXIST;
	}
	if (unit > 0x7fff)
		return ENOSPC;
	jm_change_begin(h);
	if (cloner == JM_CLONER_LO) {
		if (if_new(h, vnet, an, JM_IFT_LOOP, JM_IFF_LOOPBACK | JM_IFF_MULTICAST, cloner,
		    unit) < 0)
			return ENOSPC;
	} else {
		/* epair(4): both ends Ethernet, BROADCAST|SIMPLEX|MULTICAST, down;
		 * b's MAC is a's with the last byte 0x0b (a's ends in 0x0a). */
		uint32_t fl = JM_IFF_BROADCAST | JM_IFF_SIMPLEX | JM_IFF_MULTICAST;

		a = if_new(h, vnet, an, JM_IFT_ETHER, fl, cloner, unit);
		b = a < 0 ? -1 : if_new(h, vnet, bn, JM_IFT_ETHER, fl, cloner, unit);
		if (b < 0)
			return ENOSPC; /* the caller aborts the change */
		h->net.ifs[a].mac[5] = 0x0a;
		memcpy(h->net.ifs[b].mac, h->net.ifs[a].mac, 6);
		h->net.ifs[b].mac[5] = 0x0b;
		h->net.ifs[a].peer = b;
		h->net.ifs[b].peer = a;
	}
	memset(ifname, 0, JAILMODEL_IFNAMSIZ);
	memcpy(ifname, an, strlen(an));
	return 0;
}

/* SIOCIFDESTROY (if_clone_destroy): no interface ENXIO; not made by a
 * cloner EINVAL; lo0 (the vnet's own loopback) EINVAL as well. */
static int
if_destroy_req(struct jm_host *h, int i)
{
	const struct jm_if *f = &h->net.ifs[i];

	if (f->cloner == JM_CLONER_NONE || (f->cloner == JM_CLONER_LO && f->unit == 0))
		return EINVAL;
	jm_change_begin(h);
	if_destroy(h, i);
	return 0;
}

/* ---- names and vnets (if.c) --------------------------------------------- */

/* SIOCSIFNAME (if_rename): the new name read from ifr_data as copyinstr
 * would (ENAMETOOLONG without a NUL in IFNAMSIZ bytes, EFAULT for NULL);
 * empty EINVAL; its own name changes nothing (0); a name present in the
 * vnet EEXIST. */
static int
if_rename(struct jm_host *h, int vnet, int i, const char *src)
{
	char name[JAILMODEL_IFNAMSIZ];
	struct jm_if *f = &h->net.ifs[i];

	if (src == NULL)
		return EFAULT;
	if (strnlen(src, sizeof(name)) >= sizeof(name))
		return ENAMETOOLONG;
	memcpy(name, src, strlen(src) + 1);
	if (name[0] == '\0')
		return EINVAL;
	if (strcmp(name, f->name) == 0)
		return 0;
	if (if_find(h, vnet, name) >= 0)
		return EEXIST;
	jm_change_begin(h);
	jm_save(h, f, sizeof(*f));
	memset(f->name, 0, sizeof(f->name));
	memcpy(f->name, name, strlen(name));
	return 0;
}

/* The target of SIOCSIFVNET/SIOCSIFRVNET: prison_find_child(caller, jid),
 * alive; -1 for none. */
static int
find_jail(struct jm_host *h, int caller, int jid)
{
	int s = jid > 0 ? jm_find_child_jid(h, caller, jid) : -1;

	if (s < 0 || !jm_slot_ok(h, s) || h->prisons[s].state != JM_PRISON_STATE_ALIVE)
		return -1;
	return s;
}

static void
if_move(struct jm_host *h, struct jm_if *f, int vnet)
{
	jm_save(h, f, sizeof(*f));
	f->vnet = vnet;
	f->vnet_gen = h->prisons[vnet].gen;
	if_arrive(h, f);
}

/* ---- the ioctl entry ------------------------------------------------------ */

static int
net_ioctl(struct jm_host *h, unsigned long request, void *data)
{
	struct jailmodel_ifreq *ifr = data;
	char name[JAILMODEL_IFNAMSIZ];
	int caller = jm_caller_prison(h);
	int vnet = vnet_of(h, caller);
	int i, err, jail;
	struct jm_if *f;

	memcpy(name, ifr->ifr_name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	/* Requests ifioctl handles before looking the interface up. */
	switch (request) {
	case JAILMODEL_SIOCIFCREATE:
	case JAILMODEL_SIOCIFCREATE2:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		return if_create(h, vnet, ifr->ifr_name);
	case JAILMODEL_SIOCIFDESTROY:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		if ((i = if_find(h, vnet, name)) < 0)
			return ENXIO;
		return if_destroy_req(h, i);
	case JAILMODEL_SIOCSIFRVNET:
		/* if_vmove_reclaim: privilege, jail, interface in the jail's
		 * vnet, not already the caller's.  It does not look for the
		 * name here: an interface of that name may already be here. */
		if ((err = vnet_priv(h, caller)) != 0)
			return err;
		if ((jail = find_jail(h, caller, ifr->ifr_ifru.ifru_jid)) < 0)
			return ENXIO;
		if ((i = if_find(h, vnet_of(h, jail), name)) < 0)
			return ENXIO;
		if (vnet_of(h, jail) == vnet)
			return EEXIST;
		jm_change_begin(h);
		if_move(h, &h->net.ifs[i], vnet);
		memcpy(ifr->ifr_name, h->net.ifs[i].name, sizeof(ifr->ifr_name));
		return 0;
	default:
		break;
	}
	/* ifioctl: ifunit_ref(ifr_name) or ENXIO, before any privilege. */
	if ((i = if_find(h, vnet, name)) < 0)
		return ENXIO;
	f = &h->net.ifs[i];
	switch (request) {
	case JAILMODEL_SIOCGIFFLAGS:
		ifr->ifr_ifru.ifru_flags[0] = (short)(f->flags & 0xffff);
		ifr->ifr_ifru.ifru_flags[1] = (short)(f->flags >> 16);
		return 0;
	case JAILMODEL_SIOCSIFFLAGS: {
		uint32_t nf = (uint16_t)ifr->ifr_ifru.ifru_flags[0] |
		    (uint32_t)(uint16_t)ifr->ifr_ifru.ifru_flags[1] << 16;

		if ((err = net_priv(h, caller)) != 0)
			return err;
		jm_change_begin(h);
		jm_save(h, f, sizeof(*f));
		f->flags = (f->flags & JM_IFF_CANTCHANGE) | (nf & ~JM_IFF_CANTCHANGE);
		if (f->flags & JM_IFF_UP)
			f->flags |= JM_IFF_RUNNING; /* the driver's init */
		return 0;
	}
	case JAILMODEL_SIOCSIFNAME:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		return if_rename(h, vnet, i, ifr->ifr_ifru.ifru_data);
	case JAILMODEL_SIOCSIFVNET:
		/* if_vmove_loan: privilege, jail, same vnet, name taken there. */
		if ((err = vnet_priv(h, caller)) != 0)
			return err;
		if ((jail = find_jail(h, caller, ifr->ifr_ifru.ifru_jid)) < 0)
			return ENXIO;
		if (vnet_of(h, jail) == vnet)
			return EEXIST;
		if (if_find(h, vnet_of(h, jail), name) >= 0)
			return EEXIST;
		jm_change_begin(h);
		if_move(h, f, vnet_of(h, jail));
		memcpy(ifr->ifr_name, f->name, sizeof(ifr->ifr_name));
		return 0;
	case JAILMODEL_SIOCAIFADDR:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		jm_change_begin(h);
		return aifaddr4(h, f, data);
	case JAILMODEL_SIOCDIFADDR:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		jm_change_begin(h);
		return difaddr4(h, f, data);
	case JAILMODEL_SIOCAIFADDR_IN6:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		jm_change_begin(h);
		return aifaddr6(h, f, data);
	case JAILMODEL_SIOCDIFADDR_IN6:
		if ((err = net_priv(h, caller)) != 0)
			return err;
		jm_change_begin(h);
		return difaddr6(h, f, data);
	default:
		return ENOTTY;
	}
}

int
jm_net_ioctl(int fd, unsigned long request, void *data)
{
	struct jm_host *h;
	struct stat st;
	int err;

	/* The socket's family is not looked at: FreeBSD hands the address
	 * requests to the socket's protocol, the model to the request's. */
	if (fstat(fd, &st) != 0)
		return -1; /* EBADF */
	if (!S_ISSOCK(st.st_mode)) {
		errno = ENOTTY;
		return -1;
	}
	if (data == NULL) {
		errno = EFAULT;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	err = net_ioctl(h, request, data);
	if (err != 0 && h->undo.active)
		jm_change_abort(h);
	return jm_unlock_ret(h, err);
}

/* ---- getifaddrs ------------------------------------------------------------ */

/* prison_check_ip4/ip6 for a caller in a jail without its own vnet: an
 * address is shown when the jail does not restrict the family or lists it. */
static int
ip_visible(const struct jm_host *h, int caller, const struct jm_ifaddr *a)
{
	int v6 = a->af == JAILMODEL_AF_INET6, s = caller;
	uint32_t restrict_flag = v6 ? JM_PR_IP6 : JM_PR_IP4;
	uint32_t user_flag = v6 ? JM_PR_IP6_USER : JM_PR_IP4_USER;
	const uint8_t *ips;
	uint32_t n;

	if (caller == 0 || (h->prisons[caller].flags & JM_PR_VNET))
		return 1;
	if (!(h->prisons[caller].flags & restrict_flag))
		return 1;
	/* The list is the nearest one set by a jail up the tree. */
	for (int depth = 0; s > 0 && !(h->prisons[s].flags & user_flag); s = jm_parent_slot(h, s))
		if (++depth > JM_MAXPRISONS)
			return 0;
	if (s <= 0)
		return 0;
	ips = jm_ips(h, s, v6, &n);
	for (uint32_t k = 0; k < n; k++)
		if (memcmp(ips + (size_t)k * (v6 ? 16 : 4), a->addr, v6 ? 16 : 4) == 0)
			return 1;
	return 0;
}

/* One block: the entries, then their sockaddrs and names. */
struct jm_ifa_block {
	struct jailmodel_ifaddrs ifa;
	char name[JAILMODEL_IFNAMSIZ];
	union {
		struct jailmodel_sockaddr_in in;
		struct jailmodel_sockaddr_in6 in6;
		struct jailmodel_sockaddr_dl dl;
	} addr, mask, dst;
};

static void
fill_sa(struct jm_ifa_block *e, const struct jm_ifaddr *a)
{
	if (a->af == JAILMODEL_AF_INET) {
		e->addr.in.sin_len = e->mask.in.sin_len = sizeof(e->addr.in);
		e->addr.in.sin_family = e->mask.in.sin_family = JAILMODEL_AF_INET;
		memcpy(e->addr.in.sin_addr, a->addr, 4);
		memcpy(e->mask.in.sin_addr, a->mask, 4);
		if (a->has_dst) {
			e->dst.in.sin_len = sizeof(e->dst.in);
			e->dst.in.sin_family = JAILMODEL_AF_INET;
			memcpy(e->dst.in.sin_addr, a->dst, 4);
			e->ifa.ifa_dstaddr = (struct jailmodel_sockaddr *)(void *)&e->dst;
		}
	} else {
		e->addr.in6.sin6_len = e->mask.in6.sin6_len = sizeof(e->addr.in6);
		e->addr.in6.sin6_family = e->mask.in6.sin6_family = JAILMODEL_AF_INET6;
		memcpy(e->addr.in6.sin6_addr, a->addr, 16);
		e->addr.in6.sin6_scope_id = a->scope;
		for (int b = 0; b < a->plen && b < 128; b++)
			e->mask.in6.sin6_addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	}
	e->ifa.ifa_addr = (struct jailmodel_sockaddr *)(void *)&e->addr;
	e->ifa.ifa_netmask = (struct jailmodel_sockaddr *)(void *)&e->mask;
}

int
jailmodel_getifaddrs(struct jailmodel_ifaddrs **ifap)
{
	struct jm_host *h;
	struct jm_ifa_block *blk = NULL, *e;
	size_t n = 0, cap = 0;
	int caller, vnet;

	if (ifap == NULL) {
		errno = EFAULT;
		return -1;
	}
	if ((h = jm_lock()) == NULL)
		return -1;
	caller = jm_caller_prison(h);
	vnet = vnet_of(h, caller);
	for (int i = 0; i < JM_NET_MAXIF; i++) {
		const struct jm_if *f = if_at(h, i);

		if (f != NULL && if_in_vnet(h, f, vnet))
			cap += 1 + f->naddr;
	}
	blk = calloc(cap > 0 ? cap : 1, sizeof(*blk));
	if (blk == NULL) {
		jm_unlock(h);
		errno = ENOMEM;
		return -1;
	}
	/* In the vnet's list order: by arrival (a small table: a selection). */
	for (uint32_t after = 0, first = 1; n < cap; first = 0) {
		const struct jm_if *f = NULL;
		size_t nl;

		for (int i = 0; i < JM_NET_MAXIF; i++) {
			const struct jm_if *c = if_at(h, i);

			if (c != NULL && if_in_vnet(h, c, vnet) && (first || c->seq > after) &&
			    (f == NULL || c->seq < f->seq))
				f = c;
		}
		if (f == NULL)
			break;
		after = f->seq;
		/* The AF_LINK entry: sockaddr_dl with index, type, name, MAC. */
		e = &blk[n++];
		memcpy(e->name, f->name, sizeof(e->name));
		e->ifa.ifa_name = e->name;
		e->ifa.ifa_flags = f->flags;
		nl = strlen(f->name);
		e->addr.dl.sdl_len = sizeof(e->addr.dl);
		e->addr.dl.sdl_family = JAILMODEL_AF_LINK;
		e->addr.dl.sdl_index = (unsigned short)f->index;
		e->addr.dl.sdl_type = (unsigned char)f->type;
		e->addr.dl.sdl_nlen = (unsigned char)nl;
		memcpy(e->addr.dl.sdl_data, f->name, nl);
		if (f->type == JM_IFT_ETHER) {
			e->addr.dl.sdl_alen = 6;
			memcpy(e->addr.dl.sdl_data + nl, f->mac, 6);
		}
		e->ifa.ifa_addr = (struct jailmodel_sockaddr *)(void *)&e->addr;
		for (uint32_t k = 0; k < f->naddr && n < cap; k++) {
			if (!ip_visible(h, caller, &f->addr[k]))
				continue;
			e = &blk[n++];
			memcpy(e->name, f->name, sizeof(e->name));
			e->ifa.ifa_name = e->name;
			e->ifa.ifa_flags = f->flags;
			fill_sa(e, &f->addr[k]);
		}
	}
	if (jm_unlock(h) != 0) {
		free(blk);
		return -1;
	}
	for (size_t k = 0; k + 1 < n; k++)
		blk[k].ifa.ifa_next = &blk[k + 1].ifa;
	*ifap = n > 0 ? &blk[0].ifa : NULL;
	if (n == 0)
		free(blk);
	return 0;
}

void
jailmodel_freeifaddrs(struct jailmodel_ifaddrs *ifa)
{
	free(ifa); /* the first entry starts the block */
}
