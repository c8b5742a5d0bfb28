/*
 * Netlink for the injector: one socket per bus, extended ACK turned on,
 * and messages built in fixed buffers through attribute builders that
 * refuse to write past the end.  A request that did not fit is never
 * sent.  When the kernel refuses a request, its own message (extended
 * ACK) is copied into the caller's error text next to strerror.
 */
#ifndef FL_SIDECAR_NETLINK_H
#define FL_SIDECAR_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#define FL_NLMSG_MAX 16384

struct fl_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* A message under construction.  overflow is set by the first builder
 * that ran out of room; fl_nl_talk() then refuses to send. */
struct fl_nlmsg {
	char buf[FL_NLMSG_MAX];
	struct nlmsghdr *nlh;
	int overflow;
};

/* Opens a netlink socket on bus (NETLINK_ROUTE, NETLINK_NETFILTER) with
 * extended ACK and capped ACKs.  Returns 0, or -1 with err filled. */
int fl_nl_open(struct fl_nl *nl, int bus, char *err, size_t n);

/* Closes the socket; safe on a closed one. */
void fl_nl_close(struct fl_nl *nl);

/* Starts a message of type with flags (NLM_F_REQUEST and NLM_F_ACK are
 * added) and a zeroed family header of hdr_len bytes; returns the
 * header. */
void *fl_nlmsg_start(struct fl_nlmsg *m, uint16_t type, uint16_t flags,
		     size_t hdr_len);

/* Bounded attribute builders: each marks the message as overflowed
 * instead of writing past its buffer. */
void fl_nlmsg_put(struct fl_nlmsg *m, uint16_t type, size_t len,
		  const void *data);
void fl_nlmsg_put_u32(struct fl_nlmsg *m, uint16_t type, uint32_t v);
void fl_nlmsg_put_u64(struct fl_nlmsg *m, uint16_t type, uint64_t v);
void fl_nlmsg_put_str(struct fl_nlmsg *m, uint16_t type, const char *s);
struct nlattr *fl_nlmsg_nest_start(struct fl_nlmsg *m, uint16_t type);
void fl_nlmsg_nest_end(struct fl_nlmsg *m, struct nlattr *nest);

/* Sends m and waits for the kernel's answer.  cb (may be NULL) sees each
 * answer of a dump.  Returns 0, or -1 with err filled as
 * "<what>: <strerror> (<kernel message>)"; errno holds the kernel's
 * error. */
int fl_nl_talk(struct fl_nl *nl, struct fl_nlmsg *m, mnl_cb_t cb, void *data,
	       const char *what, char *err, size_t n);

/* Sends a buffer holding several messages (a netfilter batch) and reads
 * the answers until every message that asked for an ACK was answered.
 * Returns 0, or -1 with err filled from the first error. */
int fl_nl_talk_batch(struct fl_nl *nl, const void *buf, size_t len,
		     uint32_t first_seq, uint32_t last_seq, const char *what,
		     char *err, size_t n);

/* The kernel's extended ACK message of an error message, or NULL. */
const char *fl_nl_extack(const struct nlmsghdr *nlh);

#endif
