/*
 * Traffic control over rtnetlink: the qdiscs, classes and filters the
 * network faults install (tbf, htb with u32 filters, netem, an ingress
 * qdisc redirecting to an ifb device), and the sweep that removes them.
 *
 * Everything is tagged: root qdiscs carry the handle FL_NET_QDISC_MAJOR:,
 * ifb devices are named FL_NET_IFB_PREFIX<ifindex>, our filters on an
 * ingress qdisc carry the priority FL_NET_FILTER_PRIO.
 */
#ifndef FL_SIDECAR_TC_H
#define FL_SIDECAR_TC_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "net_scope.h"
#include "netlink.h"

#define FL_TC_LINKS_MAX 64

struct fl_tc_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned flags; /* IFF_* */
};

/* A token bucket, in bytes per second and bytes. */
struct fl_tc_rate {
	uint64_t bytes_per_sec;
	uint32_t burst; /* bytes the bucket holds */
	uint32_t limit; /* bytes that may wait in the queue */
};

/* Netem's parameters; shares are 0..1. */
struct fl_tc_netem {
	int64_t delay_us, jitter_us;
	double delay_corr, loss, loss_corr, corrupt, corrupt_corr, dup,
		dup_corr;
};

/* Lists the links of our network namespace into out; returns how many,
 * or -1 with err. */
int fl_tc_links(struct fl_nl *nl, struct fl_tc_link *out, size_t max, char *err,
		size_t n);

/* The links a fault on ifname applies to: that one, or, when ifname is
 * empty, every link that is up, is not a loopback and is not ours.
 * Returns how many, or -1 with err (an unknown ifname, no link). */
int fl_tc_targets(struct fl_nl *nl, const char *ifname, struct fl_tc_link *out,
		  size_t max, char *err, size_t n);

/* Where a shaper goes: the root, or, when our own netem holds the root
 * (a latency fault of the same run), under netem's one class. */
struct fl_tc_place {
	uint32_t parent, handle;
	int nested; /* under our netem */
};

/* Finds the place for a shaper on ifindex.  Returns 0, or -1 with err. */
int fl_tc_place_find(struct fl_nl *nl, int ifindex, struct fl_tc_place *at,
		     char *err, size_t n);

/* Shapes what leaves ifindex, at at: a tbf when s has no destinations,
 * else an htb whose one shaped class receives, through u32 filters, the
 * traffic to (peer_is_src: from) s's destinations.  Returns 0, or -1
 * with err and nothing left installed. */
int fl_tc_shape(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		const struct fl_tc_rate *r, const struct fl_net_scope *s,
		int peer_is_src, char *err, size_t n);

/* Deletes our qdisc at at on ifindex; one that is not ours stays.
 * Returns 1 if one was removed, 0 if none, -1 with err. */
int fl_tc_unplace(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		  char *err, size_t n);

/* Installs a root netem qdisc on ifindex.  Returns 0, or -1 with err;
 * errno ENOENT means the kernel has no netem. */
int fl_tc_netem(struct fl_nl *nl, int ifindex, const struct fl_tc_netem *p,
		char *err, size_t n);

/* Deletes our root qdisc from ifindex; a root that is not ours stays.
 * Returns 1 if one was removed, 0 if none, -1 with err. */
int fl_tc_unroot(struct fl_nl *nl, int ifindex, char *err, size_t n);

/* Creates (up) the ifb device for ifindex and redirects everything that
 * arrives on ifindex to it, adding an ingress qdisc when there is none.
 * Returns the ifb's ifindex, or -1 with err and nothing left behind. */
int fl_tc_ifb_attach(struct fl_nl *nl, int ifindex, char *err, size_t n);

/* Undoes fl_tc_ifb_attach(): our filter, the ingress qdisc when no
 * other filter remains, the ifb device.  Returns the number of things
 * removed, or -1 with err. */
int fl_tc_ifb_detach(struct fl_nl *nl, int ifindex, char *err, size_t n);

/* The name of the beacon (see fl_nft_beacon()) that the run tag holds
 * for our root qdisc on ifindex (ifb 0) or our ifb device for ifindex
 * (ifb 1).  With tag "", the prefix every such beacon starts with. */
void fl_tc_beacon_name(int ifindex, int ifb, const char *tag, char *out,
		       size_t n);

/* Removes every tagged qdisc, filter and ifb device in our namespace
 * unless alive() reports a live beacon starting with its prefix.
 * Returns the number of things removed, or -1 with err. */
int fl_tc_sweep(int (*alive)(const char *beacon, void *arg), void *arg,
		char *err, size_t n);

#endif
