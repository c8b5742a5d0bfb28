/*
 * What part of the traffic a network fault touches: destinations (CIDR,
 * ports, protocol), a direction and an interface, read from the CRD's
 * shared `to`, `direction` and `interface` fields.
 */
#ifndef FL_SIDECAR_NET_SCOPE_H
#define FL_SIDECAR_NET_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <net/if.h>

#include "errors.h"

#define FL_NET_TO_MAX 16
#define FL_NET_PORTS_MAX 16

/* The mark our own copies of packets carry (duplication), so that the
 * rules that queued the original let them pass. */
#define FL_NET_SELF_MARK 0x0fa17d00u

/* The prefix of everything we name: nftables tables, ifb devices. */
#define FL_NET_PREFIX "faultline"
#define FL_NET_IFB_PREFIX "flifb"
/* The major number of every qdisc handle we install. */
#define FL_NET_QDISC_MAJOR 0xfa17u
/* The priority of our filters on a device's ingress qdisc. */
#define FL_NET_FILTER_PRIO 0xfa17u

enum fl_net_dir {
	FL_NET_EGRESS = 1,
	FL_NET_INGRESS = 2,
	FL_NET_BOTH = 3,
};

struct fl_net_dest {
	int family;	  /* AF_INET, AF_INET6, or 0 for any address */
	uint8_t addr[16]; /* network order, host bits cleared */
	int prefix;	  /* prefix length in bits */
	uint16_t ports[FL_NET_PORTS_MAX];
	size_t nports;
	int proto; /* IPPROTO_TCP, IPPROTO_UDP, or 0 for both */
};

struct fl_net_scope {
	struct fl_net_dest to[FL_NET_TO_MAX];
	size_t nto;		  /* 0: all traffic */
	unsigned dir;		  /* enum fl_net_dir bits */
	char ifname[IF_NAMESIZE]; /* empty: every interface */
	int local_ports; /* ports are ours (a server's), not the peer's */
};

/* Reads `to`, `direction` and `interface` from params into s.  Adds an
 * error naming the field for each bad value and returns -1. */
int fl_net_scope_parse(struct json_object *params, struct fl_net_scope *s,
		       struct fl_errors *errs);

/* Parses "10.0.0.0/8" or "fd00::/64" (a bare address is a full prefix)
 * into d; clears host bits.  Returns 0 or -1. */
int fl_net_cidr_parse(const char *text, struct fl_net_dest *d);

/* Reads a 0..100 percentage field into a 0..1 share; absent gives 0. */
double fl_net_share(struct json_object *params, const char *key);

#endif
