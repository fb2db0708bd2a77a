/*
 * net.h: the model's network interfaces, per vnet.
 *
 * A vnet is prison0's (the host's) or that of a prison created with
 * vnet=new (JM_PR_VNET); a prison without its own vnet uses its nearest
 * ancestor's.  One table holds every interface of every vnet: an entry
 * says which vnet it is in now and which it was created in (its home), each
 * as a prison slot and that slot's gen, so that a reused slot is never taken
 * for the vnet of the prison that held it before.  Nothing here holds a
 * pointer: the table lives in the shared host and is validated like the rest
 * of it (jm_net_valid when mapped, each entry again at each use).
 */
#ifndef JAILCORE_MODEL_NET_H
#define JAILCORE_MODEL_NET_H

#include <stdint.h>

struct jm_host;

#define JM_NET_MAXIF 64    /* interfaces of all vnets together */
#define JM_NET_MAXADDR 16  /* addresses per interface (the model's limit) */

/* if_types.h */
#define JM_IFT_ETHER 0x06
#define JM_IFT_LOOP 0x18

/* net/if.h */
#define JM_IFF_UP 0x1
#define JM_IFF_BROADCAST 0x2
#define JM_IFF_LOOPBACK 0x8
#define JM_IFF_POINTOPOINT 0x10
#define JM_IFF_RUNNING 0x40
#define JM_IFF_SIMPLEX 0x800
#define JM_IFF_MULTICAST 0x8000
/* IFF_CANTCHANGE of net/if.h: BROADCAST, POINTOPOINT, DRV_RUNNING,
 * DRV_OACTIVE, SIMPLEX, MULTICAST, ALLMULTI, PROMISC, DYING, CANTCONFIG,
 * KNOWSEPOCH. */
#define JM_IFF_CANTCHANGE 0x218f72u

#define JM_CLONER_NONE 0
#define JM_CLONER_EPAIR 1
#define JM_CLONER_LO 2

struct jm_ifaddr {
	uint8_t af;      /* JAILMODEL_AF_INET or JAILMODEL_AF_INET6 */
	uint8_t plen;    /* IPv6 prefix length */
	uint8_t has_dst; /* IPv4 broadcast address present */
	uint8_t pad;
	uint32_t scope;  /* IPv6 scope id (link-local), else 0 */
	uint8_t addr[16];
	uint8_t mask[16]; /* IPv4 netmask (first 4 bytes) */
	uint8_t dst[16];  /* IPv4 broadcast */
};

struct jm_if {
	uint32_t used;
	uint32_t index;   /* if_index, >= 1 */
	uint32_t flags;   /* IFF_* */
	uint32_t type;    /* IFT_* */
	char name[16];    /* NUL-terminated within the field */
	uint8_t mac[8];   /* 6 used */
	int32_t home;     /* slot of the vnet's prison it was created in */
	uint32_t home_gen;
	int32_t vnet;     /* slot of the vnet's prison it is in now */
	uint32_t vnet_gen;
	int32_t cloner;   /* JM_CLONER_* */
	int32_t unit;
	int32_t peer;     /* epair: the other end's table entry, else -1 */
	uint32_t naddr;
	uint32_t seq;     /* when it arrived in its vnet: the vnet's list order */
	struct jm_ifaddr addr[JM_NET_MAXADDR]; /* in the order added */
};

struct jm_net {
	uint32_t mac_serial; /* last MAC number handed out */
	uint32_t next_seq;   /* the next arrival's jm_if.seq */
	struct jm_if ifs[JM_NET_MAXIF];
};

void jm_net_init(struct jm_host *h);
/* O(1) checks at every lock; full checks when a host file is mapped. */
int jm_net_core_valid(const struct jm_host *h);
int jm_net_valid(const struct jm_host *h);
/* A prison with its own vnet was created: the vnet's lo0. */
void jm_net_vnet_created(struct jm_host *h, int slot);
/* A prison is being freed: its vnet, if it has one, goes away. */
void jm_net_prison_freed(struct jm_host *h, int slot);
int jm_net_ioctl(int fd, unsigned long request, void *data);

#endif
