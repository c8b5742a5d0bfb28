/*
 * Our nftables tables: one table per fault and address family, built and
 * replaced in one atomic batch, owned by the netlink socket that created
 * it (NFT_TABLE_F_OWNER), so that the kernel removes it by itself when
 * the injector dies, even by SIGKILL.  sweep() removes what an older
 * kernel without table ownership kept.
 */
#ifndef FL_SIDECAR_NFT_H
#define FL_SIDECAR_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "net_scope.h"
#include "netlink.h"

enum fl_nft_action {
	FL_NFT_DROP,   /* silent: callers time out */
	FL_NFT_REJECT, /* tcp reset, icmp port unreachable */
	FL_NFT_QUEUE,  /* to a userspace queue (xt NFQUEUE, bypass) */
};

struct fl_nft_spec {
	const char *table;		  /* our name, FL_NET_PREFIX first */
	const struct fl_net_scope *scope; /* what traffic */
	enum fl_nft_action action;
	uint16_t queue_num;	  /* FL_NFT_QUEUE only */
	const char *control_cidr; /* spared when not NULL */
	int control_port;	  /* 0: every port of control_cidr */
	/* When not empty, egress rules go to the netdev egress hook of
	 * these devices instead of the output hook.  A drop there is
	 * silent to the sender (the output hook makes sendto() fail with
	 * EPERM, which a UDP client sees at once). */
	const char *const *egress_devs;
	size_t ndevs;
};

/* A set of installed tables; zero it before first use. */
struct fl_nft {
	struct fl_nl nl; /* owns the tables: closing it removes them */
	char table[64];	 /* name of our tables */
	int families;	 /* bits: 1 ip, 2 ip6, 4 netdev installed */
};

/* Installs the tables spec describes, in one batch: all or nothing.
 * Returns 0, or -1 with err filled with the kernel's own message. */
int fl_nft_install(struct fl_nft *t, const struct fl_nft_spec *spec, char *err,
		   size_t n);

/* Deletes our tables and closes the owning socket.  Idempotent. */
int fl_nft_remove(struct fl_nft *t, char *err, size_t n);

/* Deletes every table whose name starts with FL_NET_PREFIX in families
 * ip, ip6, inet and netdev, except those a living process owns.  Returns
 * how many it removed, or -1 with err filled. */
int fl_nft_sweep(char *err, size_t n);

/*
 * Liveness beacons.  A qdisc or an ifb device can neither name its owner
 * nor vanish with it.  So, before installing one, an instance creates an
 * empty table of that thing's name, owned by its socket: the kernel
 * removes the table when the instance dies, and a sweep leaves alone
 * what still has its beacon (a live instance's fault).
 */

/* Creates the beacon name, owned by owner (a NETLINK_NETFILTER socket
 * the caller keeps open as long as the thing lives).  EEXIST: a live
 * instance has it.  Returns 0, or -1 with err. */
int fl_nft_beacon(struct fl_nl *owner, const char *name, char *err, size_t n);

/* Deletes a beacon of owner's.  Returns 0, or -1 with err. */
int fl_nft_beacon_drop(struct fl_nl *owner, const char *name, char *err,
		       size_t n);

#define FL_NFT_LIVE_MAX 256

/* Our tables that a living process owns. */
struct fl_nft_live {
	char name[FL_NFT_LIVE_MAX][64];
	size_t n;
	int overflow; /* more were live than name holds */
};

/* Fills out; returns 0, or -1 with err. */
int fl_nft_live(struct fl_nft_live *out, char *err, size_t n);

/* Whether a name in l starts with prefix. */
int fl_nft_is_live(const struct fl_nft_live *l, const char *prefix);

#endif
