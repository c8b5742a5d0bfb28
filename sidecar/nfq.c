/*
 * The userspace queue engine.
 */
#include "nfq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>

#include "alloc.h"
#include "net_scope.h"
#include "netlink.h"

/* A packet is at most 64 KiB; a verdict carries it back when we changed
 * it, plus a few headers. */
#define PKT_MAX 65535
#define MSG_MAX (PKT_MAX + 1024)
#define RECV_MAX (PKT_MAX + 4096)
/* The kernel's own bound on packets waiting for our verdict; past it,
 * fail-open lets packets through. */
#define KERNEL_QUEUE_MAX (FL_NFQ_HELD + 1024)

struct held {
	int64_t due_ns;
	uint64_t seq; /* arrival order: equal due times keep it */
	uint32_t id;
	uint32_t len;  /* bytes in data */
	uint8_t *data; /* a changed packet to send back, or NULL */
};

struct fl_nfq {
	struct fl_nl nl;
	uint16_t num;
	struct fl_nfq_params p;
	int copy_packet; /* ask for whole packets (corruption, dups) */
	int stop_fd;	 /* eventfd: the thread ends when readable */
	int raw4, raw6;	 /* raw sockets that send duplicates, or -1 */
	pthread_t thread;
	int started;
	struct held *heap; /* min-heap on (due_ns, seq), FL_NFQ_HELD slots */
	size_t nheld;
	size_t held_bytes; /* sum of the held copies' len */
	uint64_t arrivals;
	uint64_t rng;
	double last_delay, last_loss, last_corrupt, last_dup;
	struct fl_nfq_stats st; /* written by the thread, read atomically */
	char *rbuf, *vbuf;	/* receive and verdict buffers */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* splitmix64: fast, and good enough to draw losses and delays. */
static uint64_t next_rand(struct fl_nfq *q)
{
	uint64_t z = (q->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double uniform(struct fl_nfq *q)
{
	return (double)(next_rand(q) >> 11) / (double)(1ull << 53);
}

/* A draw correlated with the last one, the way netem does it. */
static double correlated(struct fl_nfq *q, double corr, double *last)
{
	double u = uniform(q);

	if (corr > 0)
		u = (1 - corr) * u + corr * *last;
	*last = u;
	return u;
}

static int before(const struct held *a, const struct held *b)
{
	return a->due_ns < b->due_ns ||
	       (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_swap(struct held *a, struct held *b)
{
	struct held t = *a;

	*a = *b;
	*b = t;
}

static void heap_push(struct fl_nfq *q, const struct held *h)
{
	size_t i = q->nheld++;

	q->heap[i] = *h;
	while (i > 0 && before(&q->heap[i], &q->heap[(i - 1) / 2])) {
		heap_swap(&q->heap[(i - 1) / 2], &q->heap[i]);
		i = (i - 1) / 2;
	}
}

static struct held heap_pop(struct fl_nfq *q)
{
	struct held top = q->heap[0];
	size_t i = 0;

	q->heap[0] = q->heap[--q->nheld];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->nheld && before(&q->heap[l], &q->heap[m]))
			m = l;
		if (r < q->nheld && before(&q->heap[r], &q->heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(&q->heap[i], &q->heap[m]);
		i = m;
	}
	return top;
}

/* Sends a verdict; data, when not NULL, replaces the packet.  A verdict
 * that cannot be sent leaves the packet to the kernel's queue, which
 * drops it when we close the socket: nothing more we could do. */
static void verdict(struct fl_nfq *q, uint32_t id, int v, const void *data,
		    uint32_t len)
{
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(q->vbuf, NFQNL_MSG_VERDICT, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, v);
	if (data && len <= PKT_MAX)
		nfq_nlmsg_verdict_put_pkt(nlh, data, len);
	while (mnl_socket_sendto(q->nl.sock, nlh, nlh->nlmsg_len) < 0 &&
	       errno == EINTR)
		;
}

static void release(struct fl_nfq *q, struct held *h)
{
	verdict(q, h->id, NF_ACCEPT, h->data, h->len);
	if (h->data)
		q->held_bytes -= h->len;
	free(h->data);
}

static void release_due(struct fl_nfq *q, int64_t now)
{
	while (q->nheld && q->heap[0].due_ns <= now) {
		struct held h = heap_pop(q);

		release(q, &h);
	}
}

static void send_copy(struct fl_nfq *q, const uint8_t *pkt, uint32_t len)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	int v = len ? pkt[0] >> 4 : 0;

	if (v == 4 && len >= 20 && q->raw4 >= 0) {
		memcpy(&a4.sin_addr, pkt + 16, 4);
		if (sendto(q->raw4, pkt, len, 0, (struct sockaddr *)&a4,
			   sizeof(a4)) < 0)
			return;
	} else if (v == 6 && len >= 40 && q->raw6 >= 0) {
		memcpy(&a6.sin6_addr, pkt + 24, 16);
		if (sendto(q->raw6, pkt, len, 0, (struct sockaddr *)&a6,
			   sizeof(a6)) < 0)
			return;
	} else {
		return;
	}
	count(&q->st.duplicated);
}

/* Flips one bit in the transport part (header or data) of the packet.
 * No checksum is fixed: the receiver must see a corrupt packet. */
static void corrupt(struct fl_nfq *q, uint8_t *pkt, uint32_t len)
{
	uint32_t off = 40, at;

	if (len && pkt[0] >> 4 == 4)
		off = (uint32_t)(pkt[0] & 0x0f) * 4;
	if (len <= off)
		return;
	at = off + (uint32_t)(next_rand(q) % (len - off));
	pkt[at] ^= (uint8_t)(1u << (next_rand(q) % 8));
	count(&q->st.corrupted);
}

static int64_t draw_delay_ns(struct fl_nfq *q)
{
	double u = correlated(q, q->p.delay_corr, &q->last_delay);
	double us =
		(double)q->p.delay_us + (double)q->p.jitter_us * (2 * u - 1);

	return us <= 0 ? 0 : (int64_t)(us * 1000);
}

int fl_nfq_may_hold(size_t nheld, size_t held_bytes, uint32_t copy_len)
{
	if (nheld >= FL_NFQ_HELD)
		return 0;
	return held_bytes <= FL_NFQ_HELD_BYTES &&
	       copy_len <= FL_NFQ_HELD_BYTES - held_bytes;
}

static void handle(struct fl_nfq *q, uint32_t id, uint8_t *pkt, uint32_t len)
{
	struct held h = {.id = id};
	int changed = 0;

	count(&q->st.seen);
	if (q->p.loss > 0 &&
	    correlated(q, q->p.loss_corr, &q->last_loss) < q->p.loss) {
		count(&q->st.dropped);
		verdict(q, id, NF_DROP, NULL, 0);
		return;
	}
	if (pkt && q->p.dup > 0 &&
	    correlated(q, q->p.dup_corr, &q->last_dup) < q->p.dup)
		send_copy(q, pkt, len);
	if (pkt && q->p.corrupt > 0 &&
	    correlated(q, q->p.corrupt_corr, &q->last_corrupt) < q->p.corrupt) {
		corrupt(q, pkt, len);
		changed = 1;
	}
	if (q->p.delay_us <= 0 && q->p.jitter_us <= 0) {
		verdict(q, id, NF_ACCEPT, changed ? pkt : NULL, len);
		return;
	}
	if (!fl_nfq_may_hold(q->nheld, q->held_bytes, changed ? len : 0)) {
		count(&q->st.passed_full);
		verdict(q, id, NF_ACCEPT, changed ? pkt : NULL, len);
		return;
	}
	h.due_ns = now_ns() + draw_delay_ns(q);
	h.seq = q->arrivals++;
	if (changed) {
		h.data = fl_malloc(len);
		memcpy(h.data, pkt, len);
		h.len = len;
		q->held_bytes += len;
	}
	count(&q->st.delayed);
	heap_push(q, &h);
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fl_nfq *q = data;
	struct nlattr *attr[NFQA_MAX + 1] = {0};
	struct nfqnl_msg_packet_hdr *ph;
	uint8_t *pkt = NULL;
	uint32_t len = 0;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (attr[NFQA_PAYLOAD]) {
		pkt = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	handle(q, ntohl(ph->packet_id), pkt, len);
	return MNL_CB_OK;
}

static void drain(struct fl_nfq *q)
{
	int i;

	/* A bounded number of reads, so that held packets that fall due
	 * are released even under a flood. */
	for (i = 0; i < 64; i++) {
		ssize_t n = recv(mnl_socket_get_fd(q->nl.sock), q->rbuf,
				 RECV_MAX, MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS)
			continue;
		if (n <= 0)
			return;
		mnl_cb_run(q->rbuf, (size_t)n, 0, 0, packet_cb, q);
	}
}

static void *run(void *arg)
{
	struct fl_nfq *q = arg;
	struct pollfd fds[2] = {
		{.fd = mnl_socket_get_fd(q->nl.sock), .events = POLLIN},
		{.fd = q->stop_fd, .events = POLLIN},
	};
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int64_t now = now_ns(), wait = 1000000000;
		struct timespec ts;

		release_due(q, now);
		if (q->nheld)
			wait = q->heap[0].due_ns - now;
		ts.tv_sec = wait / 1000000000;
		ts.tv_nsec = wait % 1000000000;
		if (ppoll(fds, 2, &ts, NULL) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents)
			drain(q);
	}

	/* Stopping: every held packet goes out now, unharmed by delay. */
	while (q->nheld) {
		struct held h = heap_pop(q);

		release(q, &h);
	}
	return NULL;
}

static int configure(struct fl_nfq *q, uint16_t num, char *err, size_t n)
{
	struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND};
	struct nfqnl_msg_config_params prm = {0};
	struct fl_nlmsg *m = fl_malloc(sizeof(*m));
	struct nfgenmsg *g;
	char what[64];
	int rc;

	g = fl_nlmsg_start(m, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG, 0,
			   sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(num);
	fl_nlmsg_put(m, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	prm.copy_mode = q->copy_packet ? NFQNL_COPY_PACKET : NFQNL_COPY_META;
	prm.copy_range = htonl(q->copy_packet ? PKT_MAX : 0);
	fl_nlmsg_put(m, NFQA_CFG_PARAMS, sizeof(prm), &prm);
	fl_nlmsg_put_u32(m, NFQA_CFG_QUEUE_MAXLEN, htonl(KERNEL_QUEUE_MAX));
	fl_nlmsg_put_u32(m, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
	fl_nlmsg_put_u32(m, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	snprintf(what, sizeof(what), "cannot bind netfilter queue %u", num);
	rc = fl_nl_talk(&q->nl, m, NULL, NULL, what, err, n);
	free(m);
	return rc;
}

static int open_raw(int af)
{
	uint32_t mark = FL_NET_SELF_MARK;
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_engine(struct fl_nfq *q, char *err, size_t n)
{
	int big = 16 << 20, one = 1;
	uint16_t num;

	if (fl_nl_open(&q->nl, NETLINK_NETFILTER, err, n) < 0)
		return -1;
	setsockopt(mnl_socket_get_fd(q->nl.sock), SOL_SOCKET, SO_RCVBUFFORCE,
		   &big, sizeof(big));
	mnl_socket_setsockopt(q->nl.sock, NETLINK_NO_ENOBUFS, &one,
			      sizeof(one));
	for (num = FL_NFQ_FIRST; num < FL_NFQ_FIRST + FL_NFQ_COUNT; num++) {
		if (configure(q, num, err, n) == 0) {
			q->num = num;
			return 0;
		}
		/* A queue another socket holds answers EPERM. */
		if (errno != EPERM && errno != EBUSY && errno != EEXIST)
			return -1;
	}
	snprintf(err, n, "no free netfilter queue in %u..%u", FL_NFQ_FIRST,
		 FL_NFQ_FIRST + FL_NFQ_COUNT - 1);
	return -1;
}

struct fl_nfq *fl_nfq_start(const struct fl_nfq_params *p, char *err, size_t n)
{
	struct fl_nfq *q = fl_calloc(1, sizeof(*q));

	q->p = *p;
	q->stop_fd = -1;
	q->raw4 = q->raw6 = -1;
	q->copy_packet = p->corrupt > 0 || p->dup > 0;
	q->heap = fl_calloc(FL_NFQ_HELD, sizeof(*q->heap));
	q->rbuf = fl_malloc(RECV_MAX);
	q->vbuf = fl_malloc(MSG_MAX);
	if (getrandom(&q->rng, sizeof(q->rng), 0) != sizeof(q->rng))
		q->rng = (uint64_t)now_ns();
	if (p->dup > 0) {
		q->raw4 = open_raw(AF_INET);
		q->raw6 = open_raw(AF_INET6);
		if (q->raw4 < 0) {
			snprintf(err, n, "cannot open raw socket: %s",
				 strerror(errno));
			goto fail;
		}
	}
	q->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (q->stop_fd < 0) {
		snprintf(err, n, "cannot create eventfd: %s", strerror(errno));
		goto fail;
	}
	if (open_engine(q, err, n) < 0)
		goto fail;
	if (pthread_create(&q->thread, NULL, run, q) != 0) {
		snprintf(err, n, "cannot start queue thread");
		goto fail;
	}
	q->started = 1;
	return q;
fail:
	fl_nfq_stop(q);
	return NULL;
}

uint16_t fl_nfq_queue(const struct fl_nfq *q)
{
	return q->num;
}

void fl_nfq_stats(struct fl_nfq *q, struct fl_nfq_stats *out)
{
	out->seen = __atomic_load_n(&q->st.seen, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&q->st.dropped, __ATOMIC_RELAXED);
	out->duplicated = __atomic_load_n(&q->st.duplicated, __ATOMIC_RELAXED);
	out->corrupted = __atomic_load_n(&q->st.corrupted, __ATOMIC_RELAXED);
	out->delayed = __atomic_load_n(&q->st.delayed, __ATOMIC_RELAXED);
	out->passed_full =
		__atomic_load_n(&q->st.passed_full, __ATOMIC_RELAXED);
}

void fl_nfq_stop(struct fl_nfq *q)
{
	uint64_t one = 1;

	if (!q)
		return;
	if (q->started) {
		while (write(q->stop_fd, &one, sizeof(one)) < 0 &&
		       errno == EINTR)
			;
		pthread_join(q->thread, NULL);
	}

	/* Closing the socket unbinds the queue; the rule's bypass flag then
	 * lets packets through until the rule itself is gone. */
	fl_nl_close(&q->nl);
	if (q->stop_fd >= 0)
		close(q->stop_fd);
	if (q->raw4 >= 0)
		close(q->raw4);
	if (q->raw6 >= 0)
		close(q->raw6);
	free(q->heap);
	free(q->rbuf);
	free(q->vbuf);
	free(q);
}
