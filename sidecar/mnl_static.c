/*
 * The part of libmnl's API that the static injector needs, written here.
 *
 * Why this file exists: Debian ships libmnl only as a shared library (no
 * libmnl.a), and our package mirror serves binary packages only, so there
 * is no way to build one from its source.  The static injector
 * (make sidecar-static, for an image FROM scratch) still needs libmnl:
 * libnftnl.a, libnetfilter_queue.a's libmnl-based API and our own netlink
 * code call it.  So this file implements exactly the functions that the
 * static link asks for, from the netlink protocol and the contracts in
 * <libmnl/libmnl.h>; it copies nothing from libmnl.
 *
 * It is compiled ONLY into build/faultline-sidecar-static.  The normal
 * build, its unit tests and everything else keep linking the system's
 * libmnl; the Makefile keeps this file out of SIDECAR_SRC.
 *
 * The names are libmnl's, not fl_, because the libraries above link
 * against them.  To see which ones are needed after a library upgrade,
 * link the static binary without this file and read the undefined
 * references.
 *
 * Semantics callers rely on, as the header documents them: the socket,
 * validation and callback functions fail with -1 (or NULL) and errno
 * set; the _check writers return false (or NULL) and write nothing when
 * the buffer is too small, and the writers without _check trust the
 * caller to have room.  Allocation goes through fl_calloc(), which never
 * returns NULL.  Nothing here logs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "alloc.h"

/* Sockets */

struct mnl_socket {
	int fd;
	struct sockaddr_nl addr; /* our address once bound (portid) */
};

/* Opens a netlink socket on bus with extra socket(2) type flags
 * (SOCK_CLOEXEC).  The caller frees it with mnl_socket_close().  NULL
 * with errno set when the kernel refuses. */
struct mnl_socket *mnl_socket_open2(int bus, int flags)
{
	struct mnl_socket *nl;
	int fd = socket(AF_NETLINK, SOCK_RAW | flags, bus);

	if (fd < 0)
		return NULL;
	nl = fl_calloc(1, sizeof(*nl));
	nl->fd = fd;
	return nl;
}

/* mnl_socket_open2() without flags. */
struct mnl_socket *mnl_socket_open(int bus)
{
	return mnl_socket_open2(bus, 0);
}

/* Binds to groups and portid pid (0: let the kernel choose), then reads
 * back the address the kernel gave.  0, or -1 with errno set. */
int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	socklen_t len = sizeof(nl->addr);

	memset(&nl->addr, 0, sizeof(nl->addr));
	nl->addr.nl_family = AF_NETLINK;
	nl->addr.nl_groups = groups;
	nl->addr.nl_pid = (uint32_t)pid;
	if (bind(nl->fd, (struct sockaddr *)&nl->addr, sizeof(nl->addr)) < 0)
		return -1;
	if (getsockname(nl->fd, (struct sockaddr *)&nl->addr, &len) < 0)
		return -1;
	if (len != sizeof(nl->addr) || nl->addr.nl_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Closes the socket and frees nl; returns what close(2) returned. */
int mnl_socket_close(struct mnl_socket *nl)
{
	int r = close(nl->fd);

	free(nl);
	return r;
}

/* The file descriptor, still owned by nl. */
int mnl_socket_get_fd(const struct mnl_socket *nl)
{
	return nl->fd;
}

/* The portid the kernel bound us to; 0 before mnl_socket_bind(). */
unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	return nl->addr.nl_pid;
}

/* Sends siz bytes of req to the kernel.  As sendto(2). */
ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req,
			  size_t siz)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};

	return sendto(nl->fd, req, siz, 0, (struct sockaddr *)&to, sizeof(to));
}

/* Receives one datagram into buf.  Returns its length, or -1 with errno
 * set: ENOSPC when it did not fit (the rest is lost), EINVAL when the
 * sender's address is not a netlink one. */
ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	struct sockaddr_nl from;
	struct iovec iov = {.iov_base = buf, .iov_len = siz};
	struct msghdr msg = {.msg_name = &from,
			     .msg_namelen = sizeof(from),
			     .msg_iov = &iov,
			     .msg_iovlen = 1};
	ssize_t n = recvmsg(nl->fd, &msg, 0);

	if (n < 0)
		return -1;
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	if (msg.msg_namelen != sizeof(from)) {
		errno = EINVAL;
		return -1;
	}
	return n;
}

/* setsockopt(2) at level SOL_NETLINK. */
int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf,
			  socklen_t len)
{
	return setsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

/* Messages */

/* The length of a message whose payload is len bytes. */
size_t mnl_nlmsg_size(size_t len)
{
	return len + MNL_NLMSG_HDRLEN;
}

/* Writes a zeroed header at the start of buf, which must hold one. */
struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
	struct nlmsghdr *nlh = buf;

	memset(nlh, 0, MNL_NLMSG_HDRLEN);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	return nlh;
}

/* Appends size bytes of zeroes (aligned) for the family header and
 * returns where they start. */
void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	char *p = (char *)nlh + nlh->nlmsg_len;
	size_t len = MNL_ALIGN(size);

	nlh->nlmsg_len += (uint32_t)len;
	memset(p, 0, len);
	return p;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN;
}

/* The payload past offset bytes (aligned) of family header. */
void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
}

/* Just past the message: where the next attribute would go. */
void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_ALIGN(nlh->nlmsg_len);
}

/* Whether a whole, sane message starts at nlh with len bytes left. */
bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       (int)nlh->nlmsg_len <= len;
}

/* The message after nlh; takes its aligned length off *len. */
struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len)
{
	size_t step = MNL_ALIGN(nlh->nlmsg_len);

	*len -= (int)step;
	return (struct nlmsghdr *)((char *)nlh + step);
}

/* Batches: messages built one after another in the caller's buffer. */

/* buf is the caller's: it holds at least limit plus one message. */
struct mnl_nlmsg_batch {
	char *buf;
	size_t limit; /* how many bytes the batch may hold */
	size_t len;   /* bytes of complete messages so far */
	char *cur;    /* where the message under construction starts */
};

/* Starts a batch in buf (which the caller owns and which must have room
 * for one message past limit: the one that did not fit is built before
 * it is refused).  Free with mnl_nlmsg_batch_stop(). */
struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t limit)
{
	struct mnl_nlmsg_batch *b = fl_calloc(1, sizeof(*b));

	b->buf = buf;
	b->limit = limit;
	b->cur = buf;
	return b;
}

/* Takes the current message into the batch.  false when that would
 * pass the limit: the message stays out, and the batch is full. */
bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->cur;

	if (b->len + nlh->nlmsg_len > b->limit)
		return false;
	b->len += nlh->nlmsg_len;
	b->cur = b->buf + b->len;
	return true;
}

/* Frees the batch, not the caller's buffer. */
void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b)
{
	free(b);
}

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b)
{
	return b->len;
}

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b)
{
	return b->buf;
}

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b)
{
	return b->cur;
}

bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *b)
{
	return b->len == 0;
}

/* Attributes: reading */

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	return (uint16_t)(attr->nla_len - MNL_ATTR_HDRLEN);
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	return (char *)attr + MNL_ATTR_HDRLEN;
}

/* The integer getters read without alignment assumptions: a u64 inside
 * a netlink message is only 4-byte aligned. */
uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
	uint8_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint16_t mnl_attr_get_u16(const struct nlattr *attr)
{
	uint16_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint64_t mnl_attr_get_u64(const struct nlattr *attr)
{
	uint64_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

/* The payload as a string; only safe after validating it as
 * MNL_TYPE_NUL_STRING. */
const char *mnl_attr_get_str(const struct nlattr *attr)
{
	return mnl_attr_get_payload(attr);
}

/* Whether a whole, sane attribute starts at attr with len bytes left. */
bool mnl_attr_ok(const struct nlattr *attr, int len)
{
	return len >= (int)sizeof(*attr) && attr->nla_len >= sizeof(*attr) &&
	       (int)attr->nla_len <= len;
}

/* The attribute after attr (check it with mnl_attr_ok()). */
struct nlattr *mnl_attr_next(const struct nlattr *attr)
{
	return (struct nlattr *)((char *)attr + MNL_ALIGN(attr->nla_len));
}

/* 1 when the type is at most maxtype; else -1 with errno EOPNOTSUPP, so
 * that a parser can skip attributes newer than it. */
int mnl_attr_type_valid(const struct nlattr *attr, uint16_t maxtype)
{
	if (mnl_attr_get_type(attr) > maxtype) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 1;
}

/* The payload length that each fixed-size type must have; 0 for the
 * types whose length varies. */
static const size_t type_len[MNL_TYPE_MAX] = {
	[MNL_TYPE_U8] = sizeof(uint8_t),     [MNL_TYPE_U16] = sizeof(uint16_t),
	[MNL_TYPE_U32] = sizeof(uint32_t),   [MNL_TYPE_U64] = sizeof(uint64_t),
	[MNL_TYPE_MSECS] = sizeof(uint64_t),
};

/* The errno for a payload of len bytes at p that is not a valid type
 * (want: the exact length required, 0 for any); 0 when it is valid. */
static int check_payload(const char *p, size_t len,
			 enum mnl_attr_data_type type, size_t want)
{
	if (len < want || (want && len > want))
		return ERANGE;
	switch (type) {
	case MNL_TYPE_FLAG:
		return len > 0 ? ERANGE : 0;
	case MNL_TYPE_STRING:
		return len == 0 ? ERANGE : 0;
	case MNL_TYPE_NUL_STRING:
		if (len == 0)
			return ERANGE;
		return p[len - 1] != '\0' ? EINVAL : 0;
	case MNL_TYPE_NESTED:
		/* Empty is a valid nest; anything else holds an attribute. */
		return len > 0 && len < MNL_ATTR_HDRLEN ? ERANGE : 0;
	default:
		return 0;
	}
}

/* 0, or -1 with errno ERANGE (wrong length) or EINVAL (an unknown type,
 * a string without its NUL). */
static int validate(const struct nlattr *attr, enum mnl_attr_data_type type,
		    size_t want)
{
	int e = EINVAL;

	if ((unsigned int)type < MNL_TYPE_MAX)
		e = check_payload(mnl_attr_get_payload(attr),
				  mnl_attr_get_payload_len(attr), type, want);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

/* Validates attr as type (integer types by their exact size).  0, or -1
 * with errno set (EINVAL for an unknown type). */
int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	size_t want = (unsigned int)type < MNL_TYPE_MAX ? type_len[type] : 0;

	return validate(attr, type, want);
}

/* As mnl_attr_validate(), with the exact payload length len given by the
 * caller (for binary attributes of a known size). */
int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type,
		       size_t len)
{
	return validate(attr, type, len);
}

/* Calls cb on each attribute of the len bytes at p.  Stops at the first
 * callback that returns MNL_CB_STOP or MNL_CB_ERROR and returns that;
 * MNL_CB_OK when all agreed.  A truncated attribute ends the walk. */
static int parse_span(const void *p, size_t len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *a = p;
	int left = (int)len;
	int r;

	while (mnl_attr_ok(a, left)) {
		r = cb(a, data);
		if (r <= MNL_CB_STOP)
			return r;
		left -= (int)MNL_ALIGN(a->nla_len);
		a = mnl_attr_next(a);
	}
	return MNL_CB_OK;
}

/* Walks the attributes of nlh after offset bytes of family header. */
int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset,
		   mnl_attr_cb_t cb, void *data)
{
	const char *start = mnl_nlmsg_get_payload_offset(nlh, offset);
	const char *end = mnl_nlmsg_get_payload_tail(nlh);

	if (start >= end)
		return MNL_CB_OK;
	return parse_span(start, (size_t)(end - start), cb, data);
}

/* Walks the attributes inside the nest attr. */
int mnl_attr_parse_nested(const struct nlattr *attr, mnl_attr_cb_t cb,
			  void *data)
{
	return parse_span(mnl_attr_get_payload(attr),
			  mnl_attr_get_payload_len(attr), cb, data);
}

/* Attributes: writing.  The unchecked writers trust the caller to have
 * room; the _check ones take the buffer's size and refuse. */

/* Appends an attribute of type with len bytes of data, zero-padded to
 * the alignment. */
void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len,
		  const void *data)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);
	char *p = (char *)a + MNL_ATTR_HDRLEN;

	a->nla_type = type;
	a->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + len);
	if (len)
		memcpy(p, data, len);
	memset(p + len, 0, MNL_ALIGN(len) - len);
	nlh->nlmsg_len += (uint32_t)MNL_ALIGN(MNL_ATTR_HDRLEN + len);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

/* The string without its NUL. */
void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data), data);
}

/* The string with its NUL. */
void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

/* mnl_attr_put() if the attribute fits in a buffer of buflen bytes that
 * starts at nlh; false, writing nothing, if not. */
bool mnl_attr_put_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
			size_t len, const void *data)
{
	if (len > UINT16_MAX - MNL_ATTR_HDRLEN ||
	    nlh->nlmsg_len + MNL_ATTR_HDRLEN + MNL_ALIGN(len) > buflen)
		return false;
	mnl_attr_put(nlh, type, len, data);
	return true;
}

/* Opens a nest of type; its length is set by mnl_attr_nest_end(). */
struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

	a->nla_type = NLA_F_NESTED | type;
	a->nla_len = MNL_ATTR_HDRLEN;
	nlh->nlmsg_len += MNL_ATTR_HDRLEN;
	return a;
}

/* mnl_attr_nest_start() if the nest's header fits in buflen; NULL if
 * not. */
struct nlattr *mnl_attr_nest_start_check(struct nlmsghdr *nlh, size_t buflen,
					 uint16_t type)
{
	if (nlh->nlmsg_len + MNL_ATTR_HDRLEN > buflen)
		return NULL;
	return mnl_attr_nest_start(nlh, type);
}

/* Closes the nest at start: it spans to the end of the message. */
void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
	char *tail = mnl_nlmsg_get_payload_tail(nlh);

	start->nla_len = (uint16_t)(tail - (char *)start);
}

/* Callbacks */

/* The answer to NLMSG_ERROR when the caller has none: an ACK (error 0)
 * ends the run; a refusal is MNL_CB_ERROR with errno the kernel's. */
static int default_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	(void)data;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

static int default_stop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static int default_ok(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static const mnl_cb_t default_ctl[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = default_ok,
	[NLMSG_ERROR] = default_error,
	[NLMSG_DONE] = default_stop,
	[NLMSG_OVERRUN] = default_ok,
};

/* The callback for a control message (type below NLMSG_MIN_TYPE): the
 * caller's if its array covers the type (even if NULL: then none), our
 * default if not. */
static mnl_cb_t ctl_cb(uint16_t type, const mnl_cb_t *ctl, unsigned int n)
{
	if (type < n)
		return ctl ? ctl[type] : NULL;
	return default_ctl[type];
}

/* Checks that a message answers our request: a nonzero seq and portid
 * on both sides must match.  0, or -1 with errno set. */
static int check_origin(const struct nlmsghdr *nlh, unsigned int seq,
			unsigned int portid)
{
	if (nlh->nlmsg_pid && portid && nlh->nlmsg_pid != portid) {
		errno = ESRCH;
		return -1;
	}
	if (nlh->nlmsg_seq && seq && nlh->nlmsg_seq != seq) {
		errno = EPROTO;
		return -1;
	}
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
		/* The dump changed under us: its answer is not coherent. */
		errno = EINTR;
		return -1;
	}
	return 0;
}

/* Runs the messages of one datagram through callbacks: cb_data for data
 * messages, the control array (or our defaults) for the rest.  Returns
 * MNL_CB_OK when more messages are to come (a dump not yet done),
 * MNL_CB_STOP when the answer is complete, MNL_CB_ERROR (-1) with errno
 * set on a refusal, a foreign message or a callback's error. */
int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq,
		unsigned int portid, mnl_cb_t cb_data, void *data,
		mnl_cb_t *cb_ctl_array, unsigned int cb_ctl_array_len)
{
	const struct nlmsghdr *nlh = buf;
	int len = numbytes > INT32_MAX ? INT32_MAX : (int)numbytes;
	int r = MNL_CB_OK;
	mnl_cb_t cb;

	while (mnl_nlmsg_ok(nlh, len)) {
		if (check_origin(nlh, seq, portid) < 0)
			return MNL_CB_ERROR;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			cb = cb_data;
		else
			cb = ctl_cb(nlh->nlmsg_type, cb_ctl_array,
				    cb_ctl_array_len);
		if (cb) {
			r = cb(nlh, data);
			if (r <= MNL_CB_STOP)
				return r;
		}
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	return r;
}

/* mnl_cb_run2() with our default control callbacks. */
int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq,
	       unsigned int portid, mnl_cb_t cb_data, void *data)
{
	return mnl_cb_run2(buf, numbytes, seq, portid, cb_data, data, NULL, 0);
}
