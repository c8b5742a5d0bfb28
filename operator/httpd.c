/*
 * The operator's small HTTP server.  One thread runs a poll() loop over
 * the listening socket, a self-pipe that fl_httpd_stop() writes to, and
 * up to HTTPD_MAX_CONNS connections at once, each non-blocking and each
 * with a deadline.  A connection reads one request head (at most
 * HTTPD_HEAD_MAX bytes, within HTTPD_READ_MS), gets one response and is
 * closed: no keep-alive, no request bodies.  So a client that sends
 * nothing, or sends slowly, costs one slot for a few seconds and never
 * delays the others; a client that sends too much gets 431 and is closed.
 *
 * After the response the server shuts down its sending side and reads
 * (and drops) whatever the client still sends for a moment before
 * closing, so that unread input does not turn the close into a reset that
 * could destroy the response before the client reads it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "httpd.h"

#define HTTPD_MAX_CONNS 16
#define HTTPD_HEAD_MAX 8192	  /* request line and headers */
#define HTTPD_READ_MS 5000	  /* to receive the whole request head */
#define HTTPD_WRITE_MS 10000	  /* to send the whole response */
#define HTTPD_DRAIN_MS 1000	  /* to read what follows, after sending */
#define HTTPD_DRAIN_MAX 65536	  /* most bytes dropped while draining */
#define HTTPD_BODY_MAX (64 << 20) /* largest response body */
#define HTTPD_ACCEPT_PAUSE_MS 100 /* after accept() fails, e.g. EMFILE */

enum conn_state { CONN_FREE, CONN_READ, CONN_WRITE, CONN_DRAIN };

struct http_conn {
	enum conn_state state;
	int fd;
	int64_t deadline_ms;	     /* monotonic; the state's time limit */
	char in[HTTPD_HEAD_MAX + 1]; /* request head so far, NUL-ended */
	size_t inlen;
	char *out; /* the response, while writing */
	size_t outlen, outoff;
	size_t drained; /* bytes dropped while draining */
};

struct fl_httpd {
	int lfd;
	int wake[2]; /* self-pipe: fl_httpd_stop() writes, the thread polls */
	int port;
	fl_httpd_handler *handler;
	void *arg;
	pthread_t thread;
	int64_t accept_pause_until; /* monotonic ms; 0 when accepting */
	struct http_conn conns[HTTPD_MAX_CONNS];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *status_text(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Unknown";
}

static void conn_close(struct http_conn *c)
{
	if (c->state == CONN_FREE)
		return;
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->state = CONN_FREE;
}

/* Puts the response together and switches c to writing it. */
static void conn_respond(struct http_conn *c, int code, const char *ctype,
			 const struct fl_buf *body, int head_only)
{
	struct fl_buf out;
	size_t blen = body ? body->len : 0;

	fl_buf_init(&out, 0);
	fl_buf_addf(&out,
		    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n",
		    code, status_text(code),
		    ctype ? ctype : "text/plain; charset=utf-8", blen);
	if (code == 405)
		fl_buf_adds(&out, "Allow: GET, HEAD\r\n");
	fl_buf_adds(&out, "\r\n");
	if (blen && !head_only)
		fl_buf_add(&out, body->data, blen);

	free(c->out);
	c->out = fl_buf_detach(&out, &c->outlen);
	c->outoff = 0;
	c->state = CONN_WRITE;
	c->deadline_ms = now_ms() + HTTPD_WRITE_MS;
}

/* A response the server makes itself, with a one-line text body. */
static void conn_error(struct http_conn *c, int code, const char *msg)
{
	struct fl_buf body;

	fl_buf_init(&body, 0);
	fl_buf_addf(&body, "%s\n", msg);
	conn_respond(c, code, NULL, &body, 0);
	fl_buf_release(&body);
}

static int is_tchar(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/*
 * Checks the request line at the start of head and cuts it into pieces
 * (in place).  Returns 0 with *target (query stripped) and *head_only
 * set, or an HTTP error code with *msg saying why.  The headers are
 * ignored: nothing we serve depends on them.
 */
static int request_parse(char *head, char **target, int *head_only,
			 const char **msg)
{
	char *method = head, *version, *p;

	head[strcspn(head, "\r\n")] = '\0';
	*msg = "bad request line";
	for (p = method; is_tchar(*p); p++)
		;
	if (p == method || *p != ' ')
		return 400;
	*p++ = '\0';
	*target = p;
	p = strchr(p, ' ');
	if (!p)
		return 400;
	*p++ = '\0';
	version = p;
	if (strncmp(version, "HTTP/", 5) || strchr(version, ' '))
		return 400;
	*msg = "only HTTP/1.0 and HTTP/1.1 are served";
	if (strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1"))
		return 505;
	*msg = "method not allowed";
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return 405;
	*head_only = !strcmp(method, "HEAD");
	*msg = "bad request target";
	if ((*target)[0] != '/')
		return 400;
	for (p = *target; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 400;
	(*target)[strcspn(*target, "?#")] = '\0';
	return 0;
}

/* Answers the complete request head in c->in. */
static void conn_handle(struct fl_httpd *h, struct http_conn *c)
{
	struct fl_buf body;
	const char *ctype = NULL, *msg;
	char *target = NULL;
	int code, head_only = 0;

	code = request_parse(c->in, &target, &head_only, &msg);
	if (code) {
		conn_error(c, code, msg);
		return;
	}

	fl_buf_init(&body, HTTPD_BODY_MAX);
	code = h->handler(h->arg, target, &body, &ctype);
	if (code < 100 || code > 599)
		conn_error(c, 500, "internal server error");
	else
		conn_respond(c, code, ctype, &body, head_only);
	fl_buf_release(&body);
}

/*
 * Whether the head in c->in is complete (an empty line ends it), looking
 * only where the bytes from old on could have completed it.
 */
static int head_complete(const struct http_conn *c, size_t old)
{
	const char *from = c->in + (old > 3 ? old - 3 : 0);

	return strstr(from, "\r\n\r\n") || strstr(from, "\n\n");
}

static void conn_read(struct fl_httpd *h, struct http_conn *c)
{
	size_t old = c->inlen;
	ssize_t r = recv(c->fd, c->in + old, HTTPD_HEAD_MAX - old, 0);

	if (r < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	/* A NUL would hide the rest of the head from the string search. */
	if (memchr(c->in + old, '\0', (size_t)r)) {
		conn_error(c, 400, "bad request");
		return;
	}
	c->inlen += (size_t)r;
	c->in[c->inlen] = '\0';
	if (head_complete(c, old))
		conn_handle(h, c);
	else if (c->inlen == HTTPD_HEAD_MAX)
		conn_error(c, 431, "request head too large");
}

static void conn_write(struct http_conn *c)
{
	ssize_t r = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
			 MSG_NOSIGNAL);

	if (r < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r < 0) {
		conn_close(c);
		return;
	}
	c->outoff += (size_t)r;
	if (c->outoff < c->outlen)
		return;
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_DRAIN;
	c->drained = 0;
	c->deadline_ms = now_ms() + HTTPD_DRAIN_MS;
}

static void conn_drain(struct http_conn *c)
{
	char scratch[4096];
	ssize_t r = recv(c->fd, scratch, sizeof(scratch), 0);

	if (r < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	c->drained += (size_t)r;
	if (c->drained > HTTPD_DRAIN_MAX)
		conn_close(c);
}

/*
 * A connection past its deadline.  One that never finished its request
 * gets a 408 if the socket takes it at once; then it is closed.
 */
static void conn_expire(struct http_conn *c)
{
	static const char resp[] = "HTTP/1.1 408 Request Timeout\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Content-Length: 16\r\n"
				   "Connection: close\r\n\r\n"
				   "request timeout\n";

	if (c->state == CONN_READ) {
		ssize_t r = send(c->fd, resp, sizeof(resp) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)r;
	}
	conn_close(c);
}

static void httpd_accept(struct fl_httpd *h)
{
	size_t i;

	for (i = 0; i < HTTPD_MAX_CONNS; i++) {
		struct http_conn *c = &h->conns[i];
		int fd;

		if (c->state != CONN_FREE)
			continue;
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				h->accept_pause_until =
					now_ms() + HTTPD_ACCEPT_PAUSE_MS;
			return;
		}
		c->fd = fd;
		c->state = CONN_READ;
		c->inlen = 0;
		c->in[0] = '\0';
		c->deadline_ms = now_ms() + HTTPD_READ_MS;
	}
}

/*
 * Fills the poll set (the wake pipe first, then the listening socket if
 * it should accept, then the connections, whose index is kept in idx) and
 * returns how many; *timeout gets the time to the nearest deadline.
 */
static nfds_t httpd_poll_set(struct fl_httpd *h, struct pollfd *pfd, int *idx,
			     int *timeout)
{
	int64_t now = now_ms(), next = -1;
	nfds_t n = 0;
	int full = 1, i;

	pfd[n++] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
	for (i = 0; i < HTTPD_MAX_CONNS; i++) {
		struct http_conn *c = &h->conns[i];

		if (c->state == CONN_FREE) {
			full = 0;
			continue;
		}
		idx[n] = i;
		pfd[n++] = (struct pollfd){
			.fd = c->fd,
			.events = c->state == CONN_WRITE ? POLLOUT : POLLIN};
		if (next < 0 || c->deadline_ms < next)
			next = c->deadline_ms;
	}
	if (h->accept_pause_until && now >= h->accept_pause_until)
		h->accept_pause_until = 0;
	if (h->accept_pause_until) {
		if (next < 0 || h->accept_pause_until < next)
			next = h->accept_pause_until;
	} else if (!full) {
		idx[n] = -1;
		pfd[n++] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
	}
	*timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
	return n;
}

static void *httpd_main(void *arg)
{
	struct fl_httpd *h = arg;
	struct pollfd pfd[HTTPD_MAX_CONNS + 2];
	int idx[HTTPD_MAX_CONNS + 2];
	int timeout, i;
	nfds_t n, k;

	for (;;) {
		n = httpd_poll_set(h, pfd, idx, &timeout);
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		for (k = 1; k < n; k++) {
			struct http_conn *c;

			if (!pfd[k].revents)
				continue;
			if (idx[k] < 0) {
				httpd_accept(h);
				continue;
			}
			c = &h->conns[idx[k]];
			if (c->state == CONN_READ)
				conn_read(h, c);
			else if (c->state == CONN_WRITE)
				conn_write(c);
			else if (c->state == CONN_DRAIN)
				conn_drain(c);
		}
		for (i = 0; i < HTTPD_MAX_CONNS; i++)
			if (h->conns[i].state != CONN_FREE &&
			    h->conns[i].deadline_ms <= now_ms())
				conn_expire(&h->conns[i]);
	}
	for (i = 0; i < HTTPD_MAX_CONNS; i++)
		conn_close(&h->conns[i]);
	return NULL;
}

/* A decimal port 0..65535, digits only. */
static int port_parse(const char *s, int *port)
{
	long v = 0;

	if (!*s || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/*
 * Splits addr into host (without brackets) and the port text.  Returns
 * NULL, or what is wrong with addr.
 */
static const char *addr_split(const char *addr, char *host, size_t n,
			      const char **port, int *bracketed)
{
	const char *end;
	size_t len;

	*bracketed = addr[0] == '[';
	if (*bracketed) {
		end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return "expected [ipv6-address]:port";
		addr++;
	} else {
		end = strrchr(addr, ':');
		if (!end)
			return "missing ':port'";
	}
	len = (size_t)(end - addr);
	if (len >= n)
		return "host too long";
	memcpy(host, addr, len);
	host[len] = '\0';
	*port = end + (*bracketed ? 2 : 1);
	return NULL;
}

/* The sockaddr for a numeric host; NULL or what is wrong with it. */
static const char *addr_make(const char *host, int bracketed, int port,
			     struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (bracketed) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return "not an IPv6 address between the brackets";
		return NULL;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return "host must be an IPv4 address or an IPv6 address in "
		       "brackets";
	return NULL;
}

/*
 * Parses addr into ss and *port.  An empty host (":8080") sets *any
 * instead of filling ss.  Returns 0, or -1 with err naming addr.
 */
static int addr_parse(const char *addr, struct sockaddr_storage *ss, int *any,
		      int *port, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *portstr = NULL, *why;
	int bracketed;

	why = addr_split(addr, host, sizeof(host), &portstr, &bracketed);
	if (!why && port_parse(portstr, port))
		why = "port must be a number from 0 to 65535";
	*any = !why && !bracketed && !host[0];
	if (!why && !*any)
		why = addr_make(host, bracketed, *port, ss);
	if (why) {
		snprintf(err, errlen, "cannot listen on '%s': %s", addr, why);
		return -1;
	}
	return 0;
}

/* A listening socket bound to ss; -1 with errno set on failure. */
static int listen_on(const struct sockaddr_storage *ss, int v6only)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int fd, one = 1, saved;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto fail;
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 64))
		goto fail;
	return fd;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Listens on every address: IPv6 and IPv4 on one socket where the system
 * has IPv6, IPv4 alone where it has not.
 */
static int listen_any(int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	int fd;

	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_any;
	s6->sin6_port = htons((uint16_t)port);
	fd = listen_on(&ss, 0);
	if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL &&
			errno != EPROTONOSUPPORT))
		return fd;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_ANY);
	s4->sin_port = htons((uint16_t)port);
	return listen_on(&ss, 0);
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Listens on addr and serves requests with handler(arg, ...) in a new
 * thread.  Returns the server, which the caller stops (and frees) with
 * fl_httpd_stop(); or NULL with a message naming addr in err.
 */
fl_httpd *fl_httpd_start(const char *addr, fl_httpd_handler *handler, void *arg,
			 char *err, size_t errlen)
{
	struct fl_httpd *h = NULL;
	struct sockaddr_storage ss;
	int any, port, lfd = -1, wake[2] = {-1, -1};

	if (!addr || !*addr) {
		snprintf(err, errlen, "cannot listen: no address given");
		return NULL;
	}
	if (addr_parse(addr, &ss, &any, &port, err, errlen))
		return NULL;

	lfd = any ? listen_any(port) : listen_on(&ss, 1);
	if (lfd < 0) {
		snprintf(err, errlen, "cannot listen on '%s': %s", addr,
			 strerror(errno));
		goto fail;
	}
	if (pipe2(wake, O_NONBLOCK | O_CLOEXEC)) {
		snprintf(err, errlen, "cannot serve on '%s': pipe: %s", addr,
			 strerror(errno));
		goto fail;
	}

	h = fl_calloc(1, sizeof(*h));
	h->lfd = lfd;
	h->wake[0] = wake[0];
	h->wake[1] = wake[1];
	h->port = bound_port(lfd);
	h->handler = handler;
	h->arg = arg;
	if (pthread_create(&h->thread, NULL, httpd_main, h)) {
		snprintf(err, errlen, "cannot serve on '%s': no thread", addr);
		goto fail;
	}
	return h;

fail:
	free(h);
	if (lfd >= 0)
		close(lfd);
	if (wake[0] >= 0) {
		close(wake[0]);
		close(wake[1]);
	}
	return NULL;
}

/* The port the server listens on. */
int fl_httpd_port(const fl_httpd *h)
{
	return h->port;
}

/* Wakes the thread, waits for it, closes every socket and frees h. */
void fl_httpd_stop(fl_httpd *h)
{
	ssize_t r;

	if (!h)
		return;
	do {
		r = write(h->wake[1], "x", 1);
	} while (r < 0 && errno == EINTR);
	pthread_join(h->thread, NULL);
	close(h->lfd);
	close(h->wake[0]);
	close(h->wake[1]);
	free(h);
}
