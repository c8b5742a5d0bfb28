/*
 * Netlink sockets with extended ACK, and bounded message builders.
 */
#include "netlink.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

/* How long we wait for the kernel's answer before calling it lost. */
#define FL_NL_TIMEOUT_MS 5000
/* Answers are read into this much; the kernel sends no more than 32 KiB
 * in one datagram of a dump. */
#define FL_NL_RECV_MAX 65536

int fl_nl_open(struct fl_nl *nl, int bus, char *err, size_t n)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl->sock) {
		snprintf(err, n, "cannot open netlink socket: %s",
			 strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, n, "cannot bind netlink socket: %s",
			 strerror(errno));
		fl_nl_close(nl);
		return -1;
	}

	/* Both are best effort: old kernels lack them, and we still work,
	 * only with poorer messages. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void fl_nl_close(struct fl_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

void *fl_nlmsg_start(struct fl_nlmsg *m, uint16_t type, uint16_t flags,
		     size_t hdr_len)
{
	m->overflow = 0;
	m->nlh = mnl_nlmsg_put_header(m->buf);
	m->nlh->nlmsg_type = type;
	m->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return mnl_nlmsg_put_extra_header(m->nlh, hdr_len);
}

void fl_nlmsg_put(struct fl_nlmsg *m, uint16_t type, size_t len,
		  const void *data)
{
	if (!m->overflow &&
	    !mnl_attr_put_check(m->nlh, sizeof(m->buf), type, len, data))
		m->overflow = 1;
}

void fl_nlmsg_put_u32(struct fl_nlmsg *m, uint16_t type, uint32_t v)
{
	fl_nlmsg_put(m, type, sizeof(v), &v);
}

void fl_nlmsg_put_u64(struct fl_nlmsg *m, uint16_t type, uint64_t v)
{
	fl_nlmsg_put(m, type, sizeof(v), &v);
}

void fl_nlmsg_put_str(struct fl_nlmsg *m, uint16_t type, const char *s)
{
	fl_nlmsg_put(m, type, strlen(s) + 1, s);
}

struct nlattr *fl_nlmsg_nest_start(struct fl_nlmsg *m, uint16_t type)
{
	struct nlattr *nest = NULL;

	if (!m->overflow)
		nest = mnl_attr_nest_start_check(m->nlh, sizeof(m->buf), type);
	if (!nest)
		m->overflow = 1;
	return nest;
}

void fl_nlmsg_nest_end(struct fl_nlmsg *m, struct nlattr *nest)
{
	if (nest && !m->overflow)
		mnl_attr_nest_end(m->nlh, nest);
}

const char *fl_nl_extack(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (off > nlh->nlmsg_len - MNL_NLMSG_HDRLEN)
		return NULL;
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

static void format_error(int errnum, const char *ext, const char *what,
			 char *err, size_t n)
{
	if (ext && *ext)
		snprintf(err, n, "%s: %s (%s)", what, strerror(errnum), ext);
	else
		snprintf(err, n, "%s: %s", what, strerror(errnum));
}

static int wait_readable(struct fl_nl *nl)
{
	struct pollfd p = {.fd = mnl_socket_get_fd(nl->sock), .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, FL_NL_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

struct talk_state {
	int error;     /* the kernel's errno, 0 when it agreed */
	char ext[256]; /* its extended ACK message */
	mnl_cb_t cb;   /* the caller's callback for dump answers */
	void *data;
};

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk_state *ts = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *ext;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		ts->error = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	ts->error = -e->error;
	ext = fl_nl_extack(nlh);
	if (ext)
		snprintf(ts->ext, sizeof(ts->ext), "%s", ext);
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk_state *ts = data;

	return ts->cb ? ts->cb(nlh, ts->data) : MNL_CB_OK;
}

int fl_nl_talk(struct fl_nl *nl, struct fl_nlmsg *m, mnl_cb_t cb, void *data,
	       const char *what, char *err, size_t n)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb, [NLMSG_DONE] = done_cb};
	struct talk_state ts = {.cb = cb, .data = data};
	char buf[FL_NL_RECV_MAX];
	uint32_t seq = ++nl->seq;
	ssize_t len;
	int r;

	if (m->overflow) {
		snprintf(err, n, "%s: request does not fit in %zu bytes", what,
			 sizeof(m->buf));
		return -1;
	}
	m->nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl->sock, m->nlh, m->nlh->nlmsg_len) < 0) {
		format_error(errno, NULL, what, err, n);
		return -1;
	}
	do {
		if (wait_readable(nl) < 0) {
			format_error(errno, NULL, what, err, n);
			return -1;
		}
		len = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (len < 0) {
			format_error(errno, NULL, what, err, n);
			return -1;
		}
		r = mnl_cb_run2(buf, (size_t)len, seq, nl->portid, data_cb, &ts,
				ctl, NLMSG_MIN_TYPE);
	} while (r > 0);
	if (r < 0) {
		errno = ts.error ? ts.error : errno;
		format_error(errno, ts.ext, what, err, n);
		return -1;
	}
	return 0;
}

int fl_nl_talk_batch(struct fl_nl *nl, const void *buf, size_t len,
		     uint32_t first_seq, uint32_t last_seq, const char *what,
		     char *err, size_t n)
{
	char rbuf[FL_NL_RECV_MAX];
	uint32_t want = last_seq - first_seq + 1, seen = 0;
	int first_err = 0;
	char ext[256] = "";
	const struct nlmsghdr *nlh;
	ssize_t got;
	int rem;

	if (mnl_socket_sendto(nl->sock, buf, len) < 0) {
		format_error(errno, NULL, what, err, n);
		return -1;
	}
	while (seen < want) {
		if (wait_readable(nl) < 0)
			break;
		got = mnl_socket_recvfrom(nl->sock, rbuf, sizeof(rbuf));
		if (got < 0)
			break;
		rem = (int)got;
		for (nlh = (const struct nlmsghdr *)rbuf;
		     mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			const char *x;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_seq < first_seq ||
			    nlh->nlmsg_seq > last_seq)
				continue;
			seen++;
			if (e->error == 0 || first_err)
				continue;
			first_err = -e->error;
			x = fl_nl_extack(nlh);
			if (x)
				snprintf(ext, sizeof(ext), "%s", x);
		}
	}
	if (first_err) {
		errno = first_err;
		format_error(first_err, ext, what, err, n);
		return -1;
	}
	if (seen < want) {
		format_error(errno ? errno : ETIMEDOUT, NULL, what, err, n);
		return -1;
	}
	return 0;
}
