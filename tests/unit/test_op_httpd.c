/*
 * The small HTTP server, over real loopback sockets: status, headers and
 * body for GET and HEAD, 404 from the handler, 405 with Allow, the query
 * stripped before the handler sees the path, an over-long head refused
 * with 431, malformed request lines, a slow client that neither blocks
 * others nor stays forever, a client that goes away mid-response (no
 * SIGPIPE), a prompt stop, and listen addresses that are refused.
 *
 * Every server listens on 127.0.0.1 or ::1 with a port the kernel picks,
 * and each test stops its own server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "httpd.h"

#define BIG_BODY (1 << 20)
/* The server's read timeout (HTTPD_READ_MS in httpd.c). */
#define SERVER_READ_MS 5000

struct seen {
	pthread_mutex_t lock;
	int calls;
	char path[256];
};

static struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int handler(void *arg, const char *path, struct fl_buf *body,
		   const char **content_type)
{
	int i;

	(void)arg;
	pthread_mutex_lock(&seen.lock);
	seen.calls++;
	snprintf(seen.path, sizeof(seen.path), "%s", path);
	pthread_mutex_unlock(&seen.lock);

	if (!strcmp(path, "/healthz")) {
		fl_buf_adds(body, "ok\n");
		return 200;
	}
	if (!strcmp(path, "/metrics")) {
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		fl_buf_adds(body, "up 1\n");
		return 200;
	}
	if (!strcmp(path, "/big")) {
		for (i = 0; i < BIG_BODY; i++)
			fl_buf_addc(body, (char)('a' + i % 26));
		return 200;
	}
	if (!strcmp(path, "/broken"))
		return 0;
	fl_buf_adds(body, "not found\n");
	return 404;
}

static int seen_calls(char *path, size_t n)
{
	int calls;

	pthread_mutex_lock(&seen.lock);
	calls = seen.calls;
	if (path)
		snprintf(path, n, "%s", seen.path);
	pthread_mutex_unlock(&seen.lock);
	return calls;
}

static int setup(void **state)
{
	char err[256] = "";
	fl_httpd *h =
		fl_httpd_start("127.0.0.1:0", handler, NULL, err, sizeof(err));

	if (!h)
		fail_msg("%s", err);
	assert_true(fl_httpd_port(h) > 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	fl_httpd_stop(*state);
	return 0;
}

static int connect_to(int family, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		assert_true(r > 0);
		p += r;
		n -= (size_t)r;
	}
}

/*
 * Reads until the server closes (EOF or reset) into out.  Returns 0, or
 * -1 if it has not closed within timeout_ms.
 */
static int read_to_close(int fd, struct fl_buf *out, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char tmp[65536];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - mono_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = recv(fd, tmp, sizeof(tmp), 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 0;
		assert_true(r > 0);
		assert_int_equal(fl_buf_add(out, tmp, (size_t)r), 0);
	}
}

struct response {
	int status;
	char head[2048]; /* status line and headers, NUL-ended */
	const char *body;
	size_t body_len;
	long content_length; /* -1 when missing */
	struct fl_buf raw;
};

static void response_parse(struct response *res)
{
	const char *end, *cl;

	res->status = 0;
	res->content_length = -1;
	res->body = NULL;
	res->body_len = 0;
	res->head[0] = '\0';
	if (!res->raw.len)
		return;
	end = strstr(res->raw.data, "\r\n\r\n");
	assert_non_null(end);
	assert_true((size_t)(end - res->raw.data) < sizeof(res->head));
	memcpy(res->head, res->raw.data, (size_t)(end - res->raw.data));
	res->head[end - res->raw.data] = '\0';
	res->body = end + 4;
	res->body_len = res->raw.len - (size_t)(res->body - res->raw.data);
	assert_int_equal(sscanf(res->head, "HTTP/1.1 %d ", &res->status), 1);
	cl = strstr(res->head, "\r\nContent-Length: ");
	if (cl)
		res->content_length = strtol(cl + 18, NULL, 10);
}

/* Sends req on a new connection and reads the whole response. */
static void request(fl_httpd *h, const char *req, struct response *res)
{
	int fd = connect_to(AF_INET, fl_httpd_port(h));

	fl_buf_init(&res->raw, 4 * BIG_BODY);
	send_all(fd, req, strlen(req));
	assert_int_equal(read_to_close(fd, &res->raw, 10000), 0);
	close(fd);
	response_parse(res);
}

static void test_get_200(void **state)
{
	struct response res;
	char path[256];

	request(*state, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.content_length, 3);
	assert_int_equal(res.body_len, 3);
	assert_memory_equal(res.body, "ok\n", 3);
	assert_non_null(strstr(res.head, "\r\nConnection: close"));
	assert_non_null(strstr(res.head,
			       "\r\nContent-Type: text/plain; charset=utf-8"));
	seen_calls(path, sizeof(path));
	assert_string_equal(path, "/healthz");
	fl_buf_release(&res.raw);

	/* HTTP/1.0 and bare newlines are fine too. */
	request(*state, "GET /healthz HTTP/1.0\n\n", &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.body_len, 3);
	fl_buf_release(&res.raw);
}

static void test_head_has_no_body(void **state)
{
	struct response res;

	request(*state, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.content_length, 3);
	assert_int_equal(res.body_len, 0);
	fl_buf_release(&res.raw);
}

static void test_404_from_handler(void **state)
{
	struct response res;

	request(*state, "GET /nowhere HTTP/1.1\r\n\r\n", &res);
	assert_int_equal(res.status, 404);
	assert_int_equal(res.content_length, (long)res.body_len);
	assert_memory_equal(res.body, "not found\n", res.body_len);
	fl_buf_release(&res.raw);

	/* A handler's impossible status becomes a 500. */
	request(*state, "GET /broken HTTP/1.1\r\n\r\n", &res);
	assert_int_equal(res.status, 500);
	assert_int_equal(res.content_length, (long)res.body_len);
	fl_buf_release(&res.raw);
}

static void test_405_with_allow(void **state)
{
	const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
	struct response res;
	char req[128];
	int before = seen_calls(NULL, 0);
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req),
			 "%s /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
			 methods[i]);
		request(*state, req, &res);
		assert_int_equal(res.status, 405);
		assert_non_null(strstr(res.head, "\r\nAllow: GET, HEAD"));
		assert_int_equal(res.content_length, (long)res.body_len);
		fl_buf_release(&res.raw);
	}
	assert_int_equal(seen_calls(NULL, 0), before);
}

static void test_query_stripped(void **state)
{
	struct response res;
	char path[256];

	request(*state, "GET /metrics?name=x&y=%20 HTTP/1.1\r\n\r\n", &res);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.head, "\r\nContent-Type: text/plain; "
					 "version=0.0.4; charset=utf-8"));
	assert_memory_equal(res.body, "up 1\n", 5);
	seen_calls(path, sizeof(path));
	assert_string_equal(path, "/metrics");
	fl_buf_release(&res.raw);
}

static void test_bad_requests(void **state)
{
	const char *const bad[] = {
		"garbage\r\n\r\n",
		"GET\r\n\r\n",
		"GET /healthz\r\n\r\n",
		"GET healthz HTTP/1.1\r\n\r\n",
		"GET http://x/healthz HTTP/1.1\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",
		" GET /healthz HTTP/1.1\r\n\r\n",
		"GET /healthz FTP/1.0\r\n\r\n",
	};
	struct response res;
	int before = seen_calls(NULL, 0);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		request(*state, bad[i], &res);
		if (res.status != 400)
			fail_msg("'%s': status %d", bad[i], res.status);
		fl_buf_release(&res.raw);
	}
	request(*state, "GET /healthz HTTP/2.0\r\n\r\n", &res);
	assert_int_equal(res.status, 505);
	fl_buf_release(&res.raw);
	assert_int_equal(seen_calls(NULL, 0), before);
}

static void test_long_head_refused(void **state)
{
	struct fl_buf req;
	struct response res;
	int before = seen_calls(NULL, 0), fd, i;

	fl_buf_init(&req, 0);
	fl_buf_adds(&req, "GET /healthz HTTP/1.1\r\n");
	for (i = 0; i < 400; i++)
		fl_buf_addf(&req, "X-Filler-%03d: %s\r\n", i,
			    "0123456789abcdef0123456789abcdef");
	fl_buf_adds(&req, "\r\n");
	assert_true(req.len > 16384);

	fd = connect_to(AF_INET, fl_httpd_port(*state));
	fl_buf_init(&res.raw, 65536);
	send_all(fd, req.data, req.len);
	assert_int_equal(read_to_close(fd, &res.raw, 10000), 0);
	close(fd);
	response_parse(&res);
	/* Refused with 431 (or closed without a response). */
	if (res.raw.len)
		assert_int_equal(res.status, 431);
	assert_int_equal(seen_calls(NULL, 0), before);
	fl_buf_release(&res.raw);
	fl_buf_release(&req);
}

/* Whether fd is still open with nothing to read (the server waits). */
static int still_waiting(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 0;
}

static void test_slow_client_does_not_block(void **state)
{
	struct response res;
	int slow = connect_to(AF_INET, fl_httpd_port(*state)), idle;

	idle = connect_to(AF_INET, fl_httpd_port(*state));
	send_all(slow, "GET /hea", 8);

	/* Another client is served while those two wait... */
	request(*state, "GET /healthz HTTP/1.1\r\n\r\n", &res);
	assert_int_equal(res.status, 200);
	fl_buf_release(&res.raw);

	/* ...well before their read timeout: they are still open. */
	assert_true(still_waiting(slow));
	assert_true(still_waiting(idle));

	/* The slow one's request is kept and answered once complete. */
	send_all(slow, "lthz HTTP/1.1\r\n\r\n", 17);
	fl_buf_init(&res.raw, 65536);
	assert_int_equal(read_to_close(slow, &res.raw, 10000), 0);
	response_parse(&res);
	assert_int_equal(res.status, 200);
	assert_memory_equal(res.body, "ok\n", 3);
	fl_buf_release(&res.raw);
	close(slow);
	close(idle);
}

static void test_idle_client_times_out(void **state)
{
	struct response res;
	int fd = connect_to(AF_INET, fl_httpd_port(*state));

	send_all(fd, "GET /healthz HTTP/1.1\r\n", 23);
	fl_buf_init(&res.raw, 65536);
	/* Closed after the read timeout, with a 408 if it could be sent. */
	assert_int_equal(read_to_close(fd, &res.raw, 3 * SERVER_READ_MS), 0);
	response_parse(&res);
	if (res.raw.len)
		assert_int_equal(res.status, 408);
	fl_buf_release(&res.raw);
	close(fd);
}

static void test_big_body_and_gone_client(void **state)
{
	struct response res;
	size_t i;
	int fd;

	request(*state, "GET /big HTTP/1.1\r\n\r\n", &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.content_length, BIG_BODY);
	assert_int_equal(res.body_len, BIG_BODY);
	for (i = 0; i < res.body_len; i++)
		if (res.body[i] != (char)('a' + i % 26))
			fail_msg("body differs at byte %zu", i);
	fl_buf_release(&res.raw);

	/* A client that leaves mid-response: the server must neither die
	 * of SIGPIPE nor stop serving. */
	for (i = 0; i < 3; i++) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		fd = connect_to(AF_INET, fl_httpd_port(*state));
		send_all(fd, "GET /big HTTP/1.1\r\n\r\n", 21);
		/* Reset, rather than close politely, once it starts. */
		assert_int_equal(
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
			0);
		{
			char tmp[16];

			assert_true(recv(fd, tmp, sizeof(tmp), 0) > 0);
		}
		close(fd);
	}
	request(*state, "GET /healthz HTTP/1.1\r\n\r\n", &res);
	assert_int_equal(res.status, 200);
	fl_buf_release(&res.raw);
}

static void test_stop_is_prompt(void **state)
{
	char err[256] = "";
	fl_httpd *h =
		fl_httpd_start("127.0.0.1:0", handler, NULL, err, sizeof(err));
	struct fl_buf rest;
	int64_t t0;
	int fd;

	(void)state;
	assert_non_null(h);
	fd = connect_to(AF_INET, fl_httpd_port(h));
	send_all(fd, "GET /", 5);

	/* Stop does not wait for the half-sent request to time out. */
	t0 = mono_ms();
	fl_httpd_stop(h);
	assert_true(mono_ms() - t0 < SERVER_READ_MS);

	/* The connection was closed by the stop. */
	fl_buf_init(&rest, 65536);
	assert_int_equal(read_to_close(fd, &rest, 10000), 0);
	assert_int_equal(rest.len, 0);
	fl_buf_release(&rest);
	close(fd);
}

static void test_ipv6_loopback(void **state)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	char err[256] = "", tmp[512];
	fl_httpd *h;
	ssize_t r;
	int fd, ok;

	(void)state;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	ok = fd >= 0 && !bind(fd, (struct sockaddr *)&s6, sizeof(s6));
	if (fd >= 0)
		close(fd);
	if (!ok)
		skip();

	h = fl_httpd_start("[::1]:0", handler, NULL, err, sizeof(err));
	if (!h)
		fail_msg("%s", err);
	fd = connect_to(AF_INET6, fl_httpd_port(h));
	send_all(fd, "GET /healthz HTTP/1.1\r\n\r\n", 25);
	r = recv(fd, tmp, sizeof(tmp) - 1, MSG_WAITALL);
	assert_true(r > 0);
	tmp[r] = '\0';
	assert_true(!strncmp(tmp, "HTTP/1.1 200 ", 13));
	close(fd);
	fl_httpd_stop(h);
}

static void test_bad_addresses(void **state)
{
	const char *const bad[] = {"127.0.0.1",
				   "127.0.0.1:",
				   "127.0.0.1:65536",
				   "127.0.0.1:80x",
				   "127.0.0.1:-1",
				   "localhost:8080",
				   "[::1",
				   "[::1]",
				   "[::1]8080",
				   "[nothing]:80",
				   "::1:80",
				   "300.1.1.1:80",
				   "127.0.0.1:999999"};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (fl_httpd_start(bad[i], handler, NULL, err, sizeof(err)))
			fail_msg("'%s' was accepted", bad[i]);
		if (!strstr(err, bad[i]))
			fail_msg("'%s': error does not name it: %s", bad[i],
				 err);
	}
	assert_null(fl_httpd_start("", handler, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(fl_httpd_start(NULL, handler, NULL, err, sizeof(err)));
}

static void test_port_in_use(void **state)
{
	char addr[64], err[256] = "";

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", fl_httpd_port(*state));
	assert_null(fl_httpd_start(addr, handler, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, addr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_200, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_has_no_body, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_404_from_handler, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_405_with_allow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_query_stripped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_head_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_does_not_block,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_client_times_out,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_body_and_gone_client,
						setup, teardown),
		cmocka_unit_test(test_stop_is_prompt),
		cmocka_unit_test(test_ipv6_loopback),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
