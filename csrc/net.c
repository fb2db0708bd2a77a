/*
 * net.c: the seam's interface calls.  Each takes the backend and returns
 * >= 0 or -errno.  The requests are FreeBSD's ioctls on a socket
 * (sys/sockio.h, netinet/in_var.h, netinet6/in6_var.h) and getifaddrs(3):
 * on FreeBSD with its own structures from its headers, on the model with
 * the model's copies of them (jailmodel.h), laid out alike.
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
#endif

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

/* ---- the model ------------------------------------------------------------ */

static int
jc_model_sock(void)
{
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static int
jc_model_ioctl(unsigned long request, void *data)
{
	int s = jc_model_sock(), r;

	if (s < 0)
		return jc_result(-1);
	r = jc_result(jailmodel_ioctl(s, request, data));
	close(s);
	return r;
}

static int
jc_model_addr(int add, const struct jc_ifaddr_req *q)
{
	if (q->family == JC_AF_INET && add) {
		struct jailmodel_in_aliasreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifra_name, q->name, sizeof(r.ifra_name));
		r.ifra_addr.sin_len = sizeof(r.ifra_addr);
		r.ifra_addr.sin_family = JAILMODEL_AF_INET;
		memcpy(r.ifra_addr.sin_addr, q->addr, 4);
		if (q->prefixlen >= 0) {
			r.ifra_mask.sin_len = sizeof(r.ifra_mask);
			r.ifra_mask.sin_family = JAILMODEL_AF_INET;
			jc_len_mask(r.ifra_mask.sin_addr, q->prefixlen, 4);
		}
		if (q->has_dst) {
			r.ifra_broadaddr.sin_len = sizeof(r.ifra_broadaddr);
			r.ifra_broadaddr.sin_family = JAILMODEL_AF_INET;
			memcpy(r.ifra_broadaddr.sin_addr, q->dst, 4);
		}
		return jc_model_ioctl(JAILMODEL_SIOCAIFADDR, &r);
	}
	if (q->family == JC_AF_INET) {
		struct jailmodel_ifreq r;
		struct jailmodel_sockaddr_in sin;

		memset(&r, 0, sizeof(r));
		memset(&sin, 0, sizeof(sin));
		memcpy(r.ifr_name, q->name, sizeof(r.ifr_name));
		sin.sin_len = sizeof(sin);
		sin.sin_family = JAILMODEL_AF_INET;
		memcpy(sin.sin_addr, q->addr, 4);
		memcpy(&r.ifr_ifru.ifru_addr, &sin, sizeof(sin));
		return jc_model_ioctl(JAILMODEL_SIOCDIFADDR, &r);
	}
	if (q->family == JC_AF_INET6 && add) {
		struct jailmodel_in6_aliasreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifra_name, q->name, sizeof(r.ifra_name));
		r.ifra_addr.sin6_len = sizeof(r.ifra_addr);
		r.ifra_addr.sin6_family = JAILMODEL_AF_INET6;
		memcpy(r.ifra_addr.sin6_addr, q->addr, 16);
		if (q->prefixlen >= 0) {
			r.ifra_prefixmask.sin6_len = sizeof(r.ifra_prefixmask);
			r.ifra_prefixmask.sin6_family = JAILMODEL_AF_INET6;
			jc_len_mask(r.ifra_prefixmask.sin6_addr, q->prefixlen, 16);
		}
		r.ifra_lifetime.ia6t_vltime = 0xffffffffu; /* ND6_INFINITE_LIFETIME */
		r.ifra_lifetime.ia6t_pltime = 0xffffffffu;
		return jc_model_ioctl(JAILMODEL_SIOCAIFADDR_IN6, &r);
	}
	if (q->family == JC_AF_INET6) {
		struct jailmodel_in6_ifreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifr_name, q->name, sizeof(r.ifr_name));
		r.ifr_ifru.ifru_addr.sin6_len = sizeof(r.ifr_ifru.ifru_addr);
		r.ifr_ifru.ifru_addr.sin6_family = JAILMODEL_AF_INET6;
		memcpy(r.ifr_ifru.ifru_addr.sin6_addr, q->addr, 16);
		return jc_model_ioctl(JAILMODEL_SIOCDIFADDR_IN6, &r);
	}
	return -EAFNOSUPPORT;
}

static int
jc_model_op(int op, char *name, int arg, const char *newname)
{
	struct jailmodel_ifreq r;
	unsigned long req;
	int res;

	memset(&r, 0, sizeof(r));
	memcpy(r.ifr_name, name, sizeof(r.ifr_name));
	r.ifr_name[sizeof(r.ifr_name) - 1] = '\0';
	switch (op) {
	case JC_IF_CREATE: req = JAILMODEL_SIOCIFCREATE2; break;
	case JC_IF_DESTROY: req = JAILMODEL_SIOCIFDESTROY; break;
	case JC_IF_RENAME:
		req = JAILMODEL_SIOCSIFNAME;
		r.ifr_ifru.ifru_data = (char *)(uintptr_t)newname;
		break;
	case JC_IF_VNET: req = JAILMODEL_SIOCSIFVNET; r.ifr_ifru.ifru_jid = arg; break;
	case JC_IF_RVNET: req = JAILMODEL_SIOCSIFRVNET; r.ifr_ifru.ifru_jid = arg; break;
	case JC_IF_GETFLAGS: req = JAILMODEL_SIOCGIFFLAGS; break;
	case JC_IF_SETFLAGS:
		req = JAILMODEL_SIOCSIFFLAGS;
		r.ifr_ifru.ifru_flags[0] = (short)(arg & 0xffff);
		r.ifr_ifru.ifru_flags[1] = (short)((unsigned int)arg >> 16);
		break;
	default: return -EINVAL;
	}
	res = jc_model_ioctl(req, &r);
	if (res < 0)
		return res;
	memcpy(name, r.ifr_name, sizeof(r.ifr_name));
	if (op == JC_IF_GETFLAGS)
		return (int)((unsigned short)r.ifr_ifru.ifru_flags[0] |
		    (unsigned int)(unsigned short)r.ifr_ifru.ifru_flags[1] << 16);
	return 0;
}

static int
jc_model_list(struct jc_ifrow *rows, int nrows)
{
	struct jailmodel_ifaddrs *all, *a;
	int n = 0;

	if (jailmodel_getifaddrs(&all) != 0)
		return jc_result(-1);
	for (a = all; a != NULL; a = a->ifa_next, n++) {
		struct jc_ifrow *w;
		const struct jailmodel_sockaddr *sa = a->ifa_addr;

		if (n >= nrows || sa == NULL)
			continue;
		w = &rows[n];
		memset(w, 0, sizeof(*w));
		strncpy(w->name, a->ifa_name, sizeof(w->name) - 1);
		w->flags = a->ifa_flags;
		w->family = sa->sa_family;
		if (sa->sa_family == JAILMODEL_AF_LINK) {
			const struct jailmodel_sockaddr_dl *dl = (const void *)sa;

			w->index = dl->sdl_index;
			w->type = dl->sdl_type;
			/* if_data's mtu, which the model does not report: lo's and
			 * Ethernet's defaults. */
			w->mtu = dl->sdl_type == 0x18 ? 16384 : 1500;
			if (dl->sdl_alen <= sizeof(w->mac) && dl->sdl_nlen + dl->sdl_alen <=
			    sizeof(dl->sdl_data)) {
				w->maclen = dl->sdl_alen;
				memcpy(w->mac, dl->sdl_data + dl->sdl_nlen, dl->sdl_alen);
			}
		} else if (sa->sa_family == JAILMODEL_AF_INET) {
			const struct jailmodel_sockaddr_in *in = (const void *)sa;

			memcpy(w->addr, in->sin_addr, 4);
			if (a->ifa_netmask != NULL)
				w->prefixlen = jc_mask_len(
				    ((const struct jailmodel_sockaddr_in *)(const void *)a->ifa_netmask)->sin_addr, 4);
			if (a->ifa_dstaddr != NULL) {
				w->has_dst = 1;
				memcpy(w->dst, ((const struct jailmodel_sockaddr_in *)(const void *)
				    a->ifa_dstaddr)->sin_addr, 4);
			}
		} else if (sa->sa_family == JAILMODEL_AF_INET6) {
			const struct jailmodel_sockaddr_in6 *in6 = (const void *)sa;

			memcpy(w->addr, in6->sin6_addr, 16);
			w->scope = in6->sin6_scope_id;
			if (a->ifa_netmask != NULL)
				w->prefixlen = jc_mask_len(
				    ((const struct jailmodel_sockaddr_in6 *)(const void *)a->ifa_netmask)->sin6_addr, 16);
		}
	}
	jailmodel_freeifaddrs(all);
	return n;
}

/* ---- FreeBSD --------------------------------------------------------------- */

#if defined(__FreeBSD__)

static int
jc_kernel_ioctl(int family, unsigned long request, void *data)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return jc_result(-1);
	r = jc_result(ioctl(s, request, data));
	close(s);
	return r;
}

static int
jc_kernel_addr(int add, const struct jc_ifaddr_req *q)
{
	if (q->family == JC_AF_INET && add) {
		struct in_aliasreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifra_name, q->name, sizeof(r.ifra_name));
		r.ifra_addr.sin_len = sizeof(r.ifra_addr);
		r.ifra_addr.sin_family = AF_INET;
		memcpy(&r.ifra_addr.sin_addr, q->addr, 4);
		if (q->prefixlen >= 0) {
			r.ifra_mask.sin_len = sizeof(r.ifra_mask);
			r.ifra_mask.sin_family = AF_INET;
			jc_len_mask((unsigned char *)&r.ifra_mask.sin_addr, q->prefixlen, 4);
		}
		if (q->has_dst) {
			r.ifra_broadaddr.sin_len = sizeof(r.ifra_broadaddr);
			r.ifra_broadaddr.sin_family = AF_INET;
			memcpy(&r.ifra_broadaddr.sin_addr, q->dst, 4);
		}
		return jc_kernel_ioctl(AF_INET, SIOCAIFADDR, &r);
	}
	if (q->family == JC_AF_INET) {
		struct ifreq r;
		struct sockaddr_in sin;

		memset(&r, 0, sizeof(r));
		memset(&sin, 0, sizeof(sin));
		memcpy(r.ifr_name, q->name, sizeof(r.ifr_name));
		sin.sin_len = sizeof(sin);
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, q->addr, 4);
		memcpy(&r.ifr_addr, &sin, sizeof(sin));
		return jc_kernel_ioctl(AF_INET, SIOCDIFADDR, &r);
	}
	if (q->family == JC_AF_INET6 && add) {
		struct in6_aliasreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifra_name, q->name, sizeof(r.ifra_name));
		r.ifra_addr.sin6_len = sizeof(r.ifra_addr);
		r.ifra_addr.sin6_family = AF_INET6;
		memcpy(&r.ifra_addr.sin6_addr, q->addr, 16);
		if (q->prefixlen >= 0) {
			r.ifra_prefixmask.sin6_len = sizeof(r.ifra_prefixmask);
			r.ifra_prefixmask.sin6_family = AF_INET6;
			jc_len_mask((unsigned char *)&r.ifra_prefixmask.sin6_addr, q->prefixlen, 16);
		}
		r.ifra_lifetime.ia6t_vltime = ND6_INFINITE_LIFETIME;
		r.ifra_lifetime.ia6t_pltime = ND6_INFINITE_LIFETIME;
		return jc_kernel_ioctl(AF_INET6, SIOCAIFADDR_IN6, &r);
	}
	if (q->family == JC_AF_INET6) {
		struct in6_ifreq r;

		memset(&r, 0, sizeof(r));
		memcpy(r.ifr_name, q->name, sizeof(r.ifr_name));
		r.ifr_ifru.ifru_addr.sin6_len = sizeof(r.ifr_ifru.ifru_addr);
		r.ifr_ifru.ifru_addr.sin6_family = AF_INET6;
		memcpy(&r.ifr_ifru.ifru_addr.sin6_addr, q->addr, 16);
		return jc_kernel_ioctl(AF_INET6, SIOCDIFADDR_IN6, &r);
	}
	return -EAFNOSUPPORT;
}

static int
jc_kernel_op(int op, char *name, int arg, const char *newname)
{
	struct ifreq r;
	unsigned long req;
	int res;

	memset(&r, 0, sizeof(r));
	memcpy(r.ifr_name, name, sizeof(r.ifr_name));
	r.ifr_name[sizeof(r.ifr_name) - 1] = '\0';
	switch (op) {
	case JC_IF_CREATE: req = SIOCIFCREATE2; break;
	case JC_IF_DESTROY: req = SIOCIFDESTROY; break;
	case JC_IF_RENAME: req = SIOCSIFNAME; r.ifr_data = (caddr_t)(uintptr_t)newname; break;
	case JC_IF_VNET: req = SIOCSIFVNET; r.ifr_jid = arg; break;
	case JC_IF_RVNET: req = SIOCSIFRVNET; r.ifr_jid = arg; break;
	case JC_IF_GETFLAGS: req = SIOCGIFFLAGS; break;
	case JC_IF_SETFLAGS:
		req = SIOCSIFFLAGS;
		r.ifr_flags = (short)(arg & 0xffff);
		r.ifr_flagshigh = (short)((unsigned int)arg >> 16);
		break;
	default: return -EINVAL;
	}
	res = jc_kernel_ioctl(AF_INET, req, &r);
	if (res < 0)
		return res;
	memcpy(name, r.ifr_name, sizeof(r.ifr_name));
	if (op == JC_IF_GETFLAGS)
		return (int)((unsigned short)r.ifr_flags | (unsigned int)(unsigned short)r.ifr_flagshigh << 16);
	return 0;
}

static int
jc_kernel_list(struct jc_ifrow *rows, int nrows)
{
	struct ifaddrs *all, *a;
	int n = 0;

	if (getifaddrs(&all) != 0)
		return jc_result(-1);
	for (a = all; a != NULL; a = a->ifa_next) {
		struct jc_ifrow *w;
		const struct sockaddr *sa = a->ifa_addr;

		if (sa == NULL || (sa->sa_family != AF_LINK && sa->sa_family != AF_INET &&
		    sa->sa_family != AF_INET6))
			continue;
		if (n++ >= nrows)
			continue;
		w = &rows[n - 1];
		memset(w, 0, sizeof(*w));
		strncpy(w->name, a->ifa_name, sizeof(w->name) - 1);
		w->flags = a->ifa_flags;
		w->family = sa->sa_family;
		if (sa->sa_family == AF_LINK) {
			const struct sockaddr_dl *dl = (const void *)sa;

			w->index = dl->sdl_index;
			w->type = dl->sdl_type;
			if (a->ifa_data != NULL)
				w->mtu = (unsigned int)((const struct if_data *)a->ifa_data)->ifi_mtu;
			if (dl->sdl_alen <= sizeof(w->mac)) {
				w->maclen = dl->sdl_alen;
				memcpy(w->mac, LLADDR(dl), dl->sdl_alen);
			}
		} else if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)sa;

			memcpy(w->addr, &in->sin_addr, 4);
			if (a->ifa_netmask != NULL)
				w->prefixlen = jc_mask_len((const unsigned char *)&((const struct sockaddr_in *)
				    (const void *)a->ifa_netmask)->sin_addr, 4);
			if (a->ifa_dstaddr != NULL && (a->ifa_flags & IFF_BROADCAST)) {
				w->has_dst = 1;
				memcpy(w->dst, &((const struct sockaddr_in *)(const void *)
				    a->ifa_dstaddr)->sin_addr, 4);
			}
		} else {
			const struct sockaddr_in6 *in6 = (const void *)sa;

			memcpy(w->addr, &in6->sin6_addr, 16);
			w->scope = in6->sin6_scope_id;
			if (a->ifa_netmask != NULL)
				w->prefixlen = jc_mask_len((const unsigned char *)&((const struct sockaddr_in6 *)
				    (const void *)a->ifa_netmask)->sin6_addr, 16);
		}
	}
	freeifaddrs(all);
	return n;
}

#else /* !__FreeBSD__ */

static int
jc_kernel_addr(int add, const struct jc_ifaddr_req *q)
{
	(void)add, (void)q;
	return -ENOSYS;
}

static int
jc_kernel_op(int op, char *name, int arg, const char *newname)
{
	(void)op, (void)name, (void)arg, (void)newname;
	return -ENOSYS;
}

static int
jc_kernel_list(struct jc_ifrow *rows, int nrows)
{
	(void)rows, (void)nrows;
	return -ENOSYS;
}

#endif

/* ---- the entry points -------------------------------------------------------- */

int
jc_if_addr(int backend, int add, const struct jc_ifaddr_req *r)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_model_addr(add, r);
	return jc_kernel_addr(add, r);
}

int
jc_if_op(int backend, int op, char *name, int arg, const char *newname)
{
	if (backend == JC_BACKEND_MODEL)
		return jc_model_op(op, name, arg, newname);
	return jc_kernel_op(op, name, arg, newname);
}

int
jc_if_list(int backend, struct jc_ifrow *rows, int nrows)
{
	if (nrows < 0)
		return -EINVAL;
	if (backend == JC_BACKEND_MODEL)
		return jc_model_list(rows, nrows);
	return jc_kernel_list(rows, nrows);
}
