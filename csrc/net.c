/*
 * net.c: the seam's interface calls.  Each takes the backend and returns
 * >= 0 or -errno.  The requests are FreeBSD's ioctls on a socket
 * (sys/sockio.h, netinet/in_var.h, netinet6/in6_var.h) and getifaddrs(3).
 *
 * One code path serves both backends.  On FreeBSD it builds FreeBSD's own
 * structures from its headers; elsewhere the model's copies of them
 * (jailmodel.h).  The model's structures have FreeBSD's layout and its
 * request numbers FreeBSD's values (tools/freebsd-probes/layouts.c asserts
 * both, member by member, in the FreeBSD build check), so on FreeBSD the
 * model takes FreeBSD's structures as they are, as a kernel would.
 */
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "jailcore.h"

#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/ioctl.h>
#include <sys/sockio.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/if_types.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>
#include <ifaddrs.h>

typedef struct ifreq jc_ifreq;
typedef struct in_aliasreq jc_in_aliasreq;
typedef struct in6_aliasreq jc_in6_aliasreq;
typedef struct in6_ifreq jc_in6_ifreq;
typedef struct sockaddr jc_sockaddr;
typedef struct sockaddr_in jc_sockaddr_in;
typedef struct sockaddr_in6 jc_sockaddr_in6;
typedef struct sockaddr_dl jc_sockaddr_dl;
typedef struct ifaddrs jc_ifaddrs;
#define JC_REQ(name) name
#else
typedef struct jailmodel_ifreq jc_ifreq;
typedef struct jailmodel_in_aliasreq jc_in_aliasreq;
typedef struct jailmodel_in6_aliasreq jc_in6_aliasreq;
typedef struct jailmodel_in6_ifreq jc_in6_ifreq;
typedef struct jailmodel_sockaddr jc_sockaddr;
typedef struct jailmodel_sockaddr_in jc_sockaddr_in;
typedef struct jailmodel_sockaddr_in6 jc_sockaddr_in6;
typedef struct jailmodel_sockaddr_dl jc_sockaddr_dl;
typedef struct jailmodel_ifaddrs jc_ifaddrs;
#define JC_REQ(name) JAILMODEL_##name
#endif

#define JC_IFF_BROADCAST 0x2        /* net/if.h */
#define JC_IFT_LOOP 0x18            /* net/if_types.h */
#define JC_INFINITE_LIFETIME 0xffffffffu /* ND6_INFINITE_LIFETIME */

/* The prefix length of a mask of n bytes (leading one bits). */
static int
jc_mask_len(const unsigned char *m, int n)
{
	int plen = 0;

	for (int b = 0; b < n * 8 && (m[b / 8] & (0x80 >> (b % 8))); b++)
		plen++;
	return plen;
}

static void
jc_len_mask(unsigned char *m, int plen, int n)
{
	memset(m, 0, (size_t)n);
	for (int b = 0; b < plen && b < n * 8; b++)
		m[b / 8] |= (unsigned char)(0x80 >> (b % 8));
}

/* One request on a socket of its own: AF_INET or AF_INET6 as ifconfig(8)
 * opens for the kernel; any socket for the model, which does not look at
 * its family (an AF_UNIX one, which every machine has). */
static int
jc_ioctl(int backend, int inet6, unsigned long request, void *data)
{
	int s, r;

#if !defined(__FreeBSD__)
	if (backend != JC_BACKEND_MODEL)
		return -ENOSYS;
#endif
	s = socket(backend == JC_BACKEND_MODEL ? AF_UNIX : inet6 ? AF_INET6 : AF_INET,
	           SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return jc_result(-1);
	if (backend == JC_BACKEND_MODEL)
		r = jc_result(jailmodel_ioctl(s, request, data));
#if defined(__FreeBSD__)
	else
		r = jc_result(ioctl(s, request, data));
#else
	else
		r = -ENOSYS;
#endif
	close(s);
	return r;
}

static void
jc_sin(jc_sockaddr_in *sin, const unsigned char *addr)
{
	sin->sin_len = sizeof(*sin);
	sin->sin_family = JC_AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
}

static void
jc_sin6(jc_sockaddr_in6 *sin6, const unsigned char *addr)
{
	sin6->sin6_len = sizeof(*sin6);
	sin6->sin6_family = JC_AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
}

int
jc_if_addr(int backend, int add, const struct jc_ifaddr_req *q)
{
	if (q->family == JC_AF_INET && add) {
		jc_in_aliasreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifra_name, q->name, sizeof(r.ifra_name));
		jc_sin(&r.ifra_addr, q->addr);
		if (q->prefixlen >= 0) {
			unsigned char mask[4];

			jc_len_mask(mask, q->prefixlen, 4);
			jc_sin(&r.ifra_mask, mask);
		}
		if (q->has_dst)
			jc_sin(&r.ifra_broadaddr, q->dst);
		return jc_ioctl(backend, 0, JC_REQ(SIOCAIFADDR), &r);
	}
	if (q->family == JC_AF_INET) {
		jc_ifreq r;
		jc_sockaddr_in sin;

		memset(&r, 0, sizeof(r));
		memset(&sin, 0, sizeof(sin));
		memcpy(r.ifr_name, q->name, sizeof(r.ifr_name));
		jc_sin(&sin, q->addr);
		memcpy(&r.ifr_ifru.ifru_addr, &sin, sizeof(sin));
		return jc_ioctl(backend, 0, JC_REQ(SIOCDIFADDR), &r);
	}
	if (q->family == JC_AF_INET6 && add) {
		jc_in6_aliasreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifra_name, q->name, sizeof(r.ifra_name));
		jc_sin6(&r.ifra_addr, q->addr);
		if (q->prefixlen >= 0) {
			unsigned char mask[16];

			jc_len_mask(mask, q->prefixlen, 16);
			jc_sin6(&r.ifra_prefixmask, mask);
		}
		/* ifconfig's defaults: no flags, infinite lifetimes. */
		r.ifra_lifetime.ia6t_vltime = JC_INFINITE_LIFETIME;
		r.ifra_lifetime.ia6t_pltime = JC_INFINITE_LIFETIME;
		return jc_ioctl(backend, 1, JC_REQ(SIOCAIFADDR_IN6), &r);
	}
	if (q->family == JC_AF_INET6) {
		jc_in6_ifreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifr_name, q->name, sizeof(r.ifr_name));
		jc_sin6(&r.ifr_ifru.ifru_addr, q->addr);
		return jc_ioctl(backend, 1, JC_REQ(SIOCDIFADDR_IN6), &r);
	}
	return -EAFNOSUPPORT;
}

int
jc_if_op(int backend, int op, char *name, int arg, const char *newname)
{
	jc_ifreq r;
	unsigned long req;
	int res;

	memset(&r, 0, sizeof(r));
	memcpy(r.ifr_name, name, sizeof(r.ifr_name));
	r.ifr_name[sizeof(r.ifr_name) - 1] = '\0';
	switch (op) {
	case JC_IF_CREATE: req = JC_REQ(SIOCIFCREATE2); break;
	case JC_IF_DESTROY: req = JC_REQ(SIOCIFDESTROY); break;
	case JC_IF_RENAME:
		req = JC_REQ(SIOCSIFNAME);
		r.ifr_ifru.ifru_data = (char *)(uintptr_t)newname;
		break;
	case JC_IF_VNET: req = JC_REQ(SIOCSIFVNET); r.ifr_ifru.ifru_jid = arg; break;
	case JC_IF_RVNET: req = JC_REQ(SIOCSIFRVNET); r.ifr_ifru.ifru_jid = arg; break;
	case JC_IF_GETFLAGS: req = JC_REQ(SIOCGIFFLAGS); break;
	case JC_IF_SETFLAGS:
		req = JC_REQ(SIOCSIFFLAGS);
		r.ifr_ifru.ifru_flags[0] = (short)(arg & 0xffff);
		r.ifr_ifru.ifru_flags[1] = (short)((unsigned int)arg >> 16);
		break;
	default: return -EINVAL;
	}
	res = jc_ioctl(backend, 0, req, &r);
	if (res < 0)
		return res;
	memcpy(name, r.ifr_name, sizeof(r.ifr_name)); /* the name written back */
	if (op == JC_IF_GETFLAGS)
		return (int)((unsigned short)r.ifr_ifru.ifru_flags[0] |
		    (unsigned int)(unsigned short)r.ifr_ifru.ifru_flags[1] << 16);
	return 0;
}

/* getifaddrs(3) of the backend. */
static int
jc_getifaddrs(int backend, jc_ifaddrs **all)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_result(jailmodel_getifaddrs((struct jailmodel_ifaddrs **)(void *)all));
#if defined(__FreeBSD__)
	return jc_result(getifaddrs(all));
#else
	(void)all;
	return -ENOSYS;
#endif
}

static void
jc_freeifaddrs(int backend, jc_ifaddrs *all)
{
	if (backend == JC_BACKEND_MODEL)
		jailmodel_freeifaddrs((struct jailmodel_ifaddrs *)(void *)all);
#if defined(__FreeBSD__)
	else
		freeifaddrs(all);
#endif
}

/* The link-level entry of an interface: its index, type, MTU and MAC. */
static void
jc_row_link(struct jc_ifrow *w, const jc_ifaddrs *a)
{
	const jc_sockaddr_dl *dl = (const void *)a->ifa_addr;

	w->index = dl->sdl_index;
	w->type = dl->sdl_type;
	/* The MTU is in if_data (ifa_data), which the model does not give: it
	 * reports lo's and Ethernet's defaults. */
	w->mtu = dl->sdl_type == JC_IFT_LOOP ? 16384 : 1500;
#if defined(__FreeBSD__)
	if (a->ifa_data != NULL)
		w->mtu = (unsigned int)((const struct if_data *)a->ifa_data)->ifi_mtu;
#endif
	if (dl->sdl_alen <= sizeof(w->mac) &&
	    (size_t)dl->sdl_nlen + dl->sdl_alen <= sizeof(dl->sdl_data)) {
		w->maclen = dl->sdl_alen;
		memcpy(w->mac, dl->sdl_data + dl->sdl_nlen, dl->sdl_alen);
	}
}

int
jc_if_list(int backend, struct jc_ifrow *rows, int nrows)
{
	jc_ifaddrs *all, *a;
	int n = 0, r;

	if (nrows < 0)
		return -EINVAL;
	if ((r = jc_getifaddrs(backend, &all)) < 0)
		return r;
	for (a = all; a != NULL; a = a->ifa_next) {
		const jc_sockaddr *sa = a->ifa_addr;
		struct jc_ifrow *w;

		if (sa == NULL || (sa->sa_family != JC_AF_LINK && sa->sa_family != JC_AF_INET &&
		    sa->sa_family != JC_AF_INET6))
			continue;
		if (n++ >= nrows)
			continue; /* counted: the caller asks again with room */
		w = &rows[n - 1];
		memset(w, 0, sizeof(*w));
		strncpy(w->name, a->ifa_name, sizeof(w->name) - 1);
		w->flags = a->ifa_flags;
		w->family = sa->sa_family;
		if (sa->sa_family == JC_AF_LINK) {
			jc_row_link(w, a);
		} else if (sa->sa_family == JC_AF_INET) {
			const jc_sockaddr_in *in = (const void *)sa;

			memcpy(w->addr, &in->sin_addr, 4);
			if (a->ifa_netmask != NULL)
				w->prefixlen = jc_mask_len((const unsigned char *)&(
				    (const jc_sockaddr_in *)(const void *)a->ifa_netmask)->sin_addr, 4);
			if (a->ifa_dstaddr != NULL && (a->ifa_flags & JC_IFF_BROADCAST)) {
				w->has_dst = 1;
				memcpy(w->dst, &((const jc_sockaddr_in *)(const void *)
				    a->ifa_dstaddr)->sin_addr, 4);
			}
		} else {
			const jc_sockaddr_in6 *in6 = (const void *)sa;

			memcpy(w->addr, &in6->sin6_addr, 16);
			w->scope = in6->sin6_scope_id;
			if (a->ifa_netmask != NULL)
				w->prefixlen = jc_mask_len((const unsigned char *)&(
				    (const jc_sockaddr_in6 *)(const void *)a->ifa_netmask)->sin6_addr, 16);
		}
	}
	jc_freeifaddrs(backend, all);
	return n;
}
