/*
 * The Kubernetes client without a cluster: kubeconfig parsing from the
 * fixtures under tests/data/kubeconfig/, the in-cluster configuration,
 * fl_kube_path(), and what the client sends and makes of answers, seen
 * through a small scripted HTTP server on loopback (Status bodies, other
 * bodies, retries, Retry-After, the body cap, line streaming).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "json.h"
#include "kube.h"

static char *fixture(const char *name)
{
	const char *dir = getenv("FL_TESTDATA");

	return fl_asprintf("%s/kubeconfig/%s", dir ? dir : "tests/data", name);
}

static char *fixture_dir(void)
{
	const char *dir = getenv("FL_TESTDATA");

	return fl_asprintf("%s/kubeconfig", dir ? dir : "tests/data");
}

/* Loads fixture name with context ctx; fails the test on an error. */
static void load(struct fl_kube_config *c, const char *name, const char *ctx)
{
	char err[512] = "";
	char *path = fixture(name);
	int rc = fl_kube_config_load(c, path, ctx, err, sizeof(err));

	free(path);
	if (rc < 0)
		fail_msg("%s", err);
}

/* Loading must fail, with an error holding each of the words given. */
static void load_fails(const char *name, const char *ctx, ...)
{
	struct fl_kube_config c;
	char err[512] = "";
	char *path = fixture(name);
	const char *want;
	va_list ap;

	assert_int_equal(fl_kube_config_load(&c, path, ctx, err, sizeof(err)),
			 -1);
	assert_null(c.server);
	assert_non_null(strstr(err, path));
	va_start(ap, ctx);
	while ((want = va_arg(ap, const char *))) {
		if (!strstr(err, want))
			fail_msg("error '%s' lacks '%s'", err, want);
	}
	va_end(ap);
	free(path);
}

/* -- kubeconfig ---------------------------------------------------------- */

static void test_current_context_and_relative_paths(void **state)
{
	struct fl_kube_config c;
	char *dir = fixture_dir(), *want;

	(void)state;
	load(&c, "basic.yaml", NULL);
	/* The trailing slash is dropped: paths start with one. */
	assert_string_equal(c.server, "https://dev.example:6443");
	want = fl_asprintf("%s/ca.crt", dir);
	assert_string_equal(c.ca_file, want);
	free(want);
	want = fl_asprintf("%s/certs/client.crt", dir);
	assert_string_equal(c.cert_file, want);
	free(want);
	want = fl_asprintf("%s/certs/client.key", dir);
	assert_string_equal(c.key_file, want);
	free(want);
	assert_string_equal(c.namespace, "team-a");
	assert_null(c.token);
	assert_null(c.ca_data);
	assert_int_equal(c.insecure_skip_verify, 0);
	fl_kube_config_release(&c);
	free(dir);
}

static void test_named_context(void **state)
{
	struct fl_kube_config c;

	(void)state;
	load(&c, "basic.yaml", "prod");
	assert_string_equal(c.server, "https://prod.example:443");
	assert_string_equal(c.ca_file, "/etc/prod/ca.crt");
	assert_string_equal(c.token, "prod-token");
	assert_null(c.namespace);
	assert_null(c.cert_file);
	fl_kube_config_release(&c);
}

static void test_kubeconfig_env(void **state)
{
	struct fl_kube_config c;
	char err[512];
	char *path = fixture("basic.yaml");
	char *env = fl_asprintf("%s:/nonexistent/second", path);

	(void)state;
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(
		fl_kube_config_load(&c, NULL, "prod", err, sizeof(err)), 0);
	assert_string_equal(c.token, "prod-token");
	fl_kube_config_release(&c);
	unsetenv("KUBECONFIG");
	free(env);
	free(path);
}

static void test_inline_data(void **state)
{
	struct fl_kube_config c;

	(void)state;
	load(&c, "inline.yaml", NULL);
	assert_string_equal(c.ca_data, "ca data\n");
	assert_string_equal(c.cert_data, "certificate text");
	assert_string_equal(c.key_data, "key-data\n");
	assert_null(c.ca_file);
	assert_int_equal(c.insecure_skip_verify, 1);
	fl_kube_config_release(&c);
}

static void test_token_and_token_file(void **state)
{
	struct fl_kube_config c;
	char *want = fixture("token");

	(void)state;
	load(&c, "token.yaml", NULL);
	assert_string_equal(c.server, "http://127.0.0.1:8080");
	assert_string_equal(c.token, "inline-token");
	assert_string_equal(c.token_file, want);
	fl_kube_config_release(&c);
	free(want);
}

static void test_exec(void **state)
{
	struct fl_kube_config c;
	char *dir = fixture_dir(), *want = fl_asprintf("%s/bin/get-token", dir);

	(void)state;
	load(&c, "exec.yaml", NULL);
	assert_string_equal(c.exec_command, want);
	assert_string_equal(c.exec_api_version,
			    "client.authentication.k8s.io/v1beta1");
	assert_string_equal(c.exec_args[0], "--cluster");
	assert_string_equal(c.exec_args[1], "prod");
	assert_string_equal(c.exec_args[2], "--region=eu-west-1");
	assert_null(c.exec_args[3]);
	assert_string_equal(c.exec_env[0], "AWS_PROFILE=chaos");
	assert_null(c.exec_env[1]);
	fl_kube_config_release(&c);

	/* A bare command name is left for PATH. */
	load(&c, "exec.yaml", "path");
	assert_string_equal(c.exec_command, "aws-iam-authenticator");
	assert_null(c.exec_args[0]);
	fl_kube_config_release(&c);
	free(want);
	free(dir);
}

/* A certificate as text with its key as a file (and the other way
 * round) is a valid kubeconfig: each half is set on its own. */
static void test_mixed_cert_and_key(void **state)
{
	struct fl_kube_config c = {0};
	char *dir = fixture_dir();
	char *key = fl_asprintf("%s/certs/client.key", dir);
	char *crt = fl_asprintf("%s/certs/client.crt", dir);
	char err[256] = "";
	fl_kube *k;

	(void)state;
	c.server = "https://127.0.0.1:1";
	c.cert_data = "-----BEGIN CERTIFICATE-----";
	c.key_file = key;
	k = fl_kube_new(&c, NULL, err, sizeof(err));
	assert_non_null(k);
	fl_kube_free(k);

	c.cert_data = NULL;
	c.key_file = NULL;
	c.cert_file = crt;
	c.key_data = "-----BEGIN PRIVATE KEY-----";
	k = fl_kube_new(&c, NULL, err, sizeof(err));
	assert_non_null(k);
	fl_kube_free(k);
	free(key);
	free(crt);
	free(dir);
}

/* A token from the exec plugin goes into a header line: one with a line
 * break is refused even when a certificate pair comes with it. */
static void test_exec_token_control_chars(void **state)
{
	static char *args[] = {
		"-c",
		"printf '%s' '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		"\"client.authentication.k8s.io/v1\",\"status\":{\"token\":"
		"\"a\\r\\nX-Evil: 1\",\"clientCertificateData\":\"c\","
		"\"clientKeyData\":\"k\"}}'",
		NULL};
	struct fl_kube_config c = {0};
	struct fl_kube_ref ref = {.version = "v1", .resource = "pods"};
	struct fl_kube_status st;
	char err[256] = "";
	fl_kube *k;

	(void)state;
	c.server = "http://127.0.0.1:1";
	c.exec_command = "/bin/sh";
	c.exec_args = args;
	c.exec_api_version = "client.authentication.k8s.io/v1";
	k = fl_kube_new(&c, NULL, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(fl_kube_get(k, &ref, NULL, &st), -1);
	assert_int_equal(st.code, 0);
	assert_string_equal(st.reason, "Unauthorized");
	assert_non_null(strstr(st.message, "control characters"));
	fl_kube_status_release(&st);
	fl_kube_free(k);
}

static void test_errors_name_the_field(void **state)
{
	(void)state;
	load_fails("errors.yaml", NULL, "no context given", NULL);
	load_fails("errors.yaml", "absent", "context 'absent' not found", NULL);
	load_fails("errors.yaml", "no-server", "clusters['no-server']",
		   "server: missing", NULL);
	load_fails("errors.yaml", "ftp", "'ftp://x' is not an http(s) URL",
		   NULL);
	load_fails("errors.yaml", "bad-ca-data",
		   "certificate-authority-data: not valid base64", NULL);
	load_fails("errors.yaml", "bad-skip", "insecure-skip-tls-verify", NULL);
	load_fails("errors.yaml", "missing-cluster", "cluster 'nowhere'",
		   "not found", NULL);
	load_fails("errors.yaml", "missing-user", "user 'nobody'", NULL);
	load_fails("errors.yaml", "cert-only", "users['cert-only']",
		   "needs its key", NULL);
	load_fails("errors.yaml", "old-exec", "v1alpha1", "not supported",
		   NULL);
	load_fails("errors.yaml", "no-command", "exec.command: missing", NULL);
	load_fails("errors.yaml", "provider", "auth-provider", NULL);
	load_fails("errors.yaml", "bad-env", "exec.env[0]", NULL);
	load_fails("errors.yaml", "bad-token", "users['bad-token'].user.token",
		   "control character", NULL);
	load_fails("broken.yaml", NULL, "line", NULL);
	load_fails("does-not-exist.yaml", NULL, "cannot read", NULL);
}

static void test_in_cluster(void **state)
{
	struct fl_kube_config c;
	char err[512];
	char *dir = fixture("sa"), *want = fl_asprintf("%s/token", dir);

	(void)state;
	setenv("FL_KUBE_SA_DIR", dir, 1);
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(fl_kube_config_in_cluster(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(fl_kube_config_in_cluster(&c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	assert_string_equal(c.token_file, want);
	assert_string_equal(c.namespace, "shop");
	assert_non_null(strstr(c.ca_file, "/sa/ca.crt"));
	fl_kube_config_release(&c);

	setenv("FL_KUBE_SA_DIR", "/nonexistent", 1);
	assert_int_equal(fl_kube_config_in_cluster(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/token"));
	unsetenv("FL_KUBE_SA_DIR");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	free(want);
	free(dir);
}

/* -- paths --------------------------------------------------------------- */

static void expect_path(const char *group, const char *ns, const char *name,
			const char *sub, const char *want)
{
	struct fl_kube_ref r = {.group = group,
				.version = strcmp(group, "") ? "v1beta1" : "v1",
				.resource = "things",
				.namespace = ns,
				.name = name,
				.subresource = sub};
	char out[256];

	assert_ptr_equal(fl_kube_path(&r, out, sizeof(out)), out);
	assert_string_equal(out, want);
}

static void test_paths(void **state)
{
	struct fl_kube_ref r = {.version = "v1", .resource = "pods"};
	char small[16], out[64];

	(void)state;
	expect_path("", NULL, NULL, NULL, "/api/v1/things");
	expect_path("", "shop", NULL, NULL, "/api/v1/namespaces/shop/things");
	expect_path("", "shop", "x", "status",
		    "/api/v1/namespaces/shop/things/x/status");
	expect_path("apps", "shop", "x", NULL,
		    "/apis/apps/v1beta1/namespaces/shop/things/x");
	expect_path("faultline.dev", NULL, "a:b", NULL,
		    "/apis/faultline.dev/v1beta1/things/a:b");
	/* Characters that would change the URL's meaning are encoded. */
	expect_path("", NULL, "a b/c?d#e%", NULL,
		    "/api/v1/things/a%20b%2Fc%3Fd%23e%25");

	assert_null(fl_kube_path(&r, small, 8));
	assert_ptr_equal(fl_kube_path(&r, small, 13), small);
	assert_string_equal(small, "/api/v1/pods");
	assert_null(fl_kube_path(&r, small, 12));
	r.name = "..";
	assert_null(fl_kube_path(&r, out, sizeof(out)));
	r.name = "";
	assert_null(fl_kube_path(&r, out, sizeof(out)));
	r.name = NULL;
	r.subresource = "status";
	assert_null(fl_kube_path(&r, out, sizeof(out)));
}

/* -- a scripted HTTP server ---------------------------------------------- */

#define MAX_EXCHANGES 8

/* Answers each connection with the next scripted response, recording
 * what the client sent. */
struct server {
	int fd;
	int port;
	const char *replies[MAX_EXCHANGES];
	int nreplies;
	char requests[MAX_EXCHANGES][8192];
	int served;
	pthread_t thread;
};

/* Reads one request: headers, then Content-Length bytes of body. */
static void read_request(int c, char *buf, size_t n)
{
	size_t len = 0;
	const char *end = NULL, *cl;
	ssize_t r;

	while (len + 1 < n) {
		r = read(c, buf + len, n - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "\r\ncontent-length:");
		if (!cl || cl > end)
			break;
		if (len >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10))
			break;
	}
	buf[len] = '\0';
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;

	while (s->served < s->nreplies) {
		int c = accept(s->fd, NULL, NULL);
		const char *reply = s->replies[s->served];
		const char *body;
		char head[256];
		int n;

		if (c < 0)
			break;
		read_request(c, s->requests[s->served], sizeof(s->requests[0]));
		s->served++;
		/* An empty reply: the server takes the request and hangs up
		 * without an answer. */
		if (!*reply) {
			close(c);
			continue;
		}
		/* The replies are written without Content-Length, which is
		 * added here, except for a stream that ends at close. */
		body = strstr(reply, "\r\n\r\n") + 4;
		n = snprintf(head, sizeof(head), "%.*s",
			     (int)(body - 2 - reply), reply);
		if (!strstr(head, "X-No-Length"))
			n += snprintf(head + n, sizeof(head) - (size_t)n,
				      "Content-Length: %zu\r\n", strlen(body));
		n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
		write_all(c, head, (size_t)n);
		write_all(c, body, strlen(body));
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	getsockname(s->fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

/* Waits for the thread; every scripted reply must have been used. */
static void server_stop(struct server *s, int want_served)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	assert_int_equal(s->served, want_served);
}

/* A client of s with fast backoff; retries as given. */
static fl_kube *client(struct server *s, int retries, size_t max_body)
{
	struct fl_kube_config c = {0};
	struct fl_kube_opts o = {.max_retries = retries,
				 .backoff_base_ms = 1,
				 .backoff_max_ms = 2,
				 .timeout_ms = 10000,
				 .max_body = max_body};
	char err[256];
	fl_kube *k;

	c.server = fl_asprintf("http://127.0.0.1:%d", s->port);
	c.token = "t0k";
	k = fl_kube_new(&c, &o, err, sizeof(err));
	free(c.server);
	if (!k)
		fail_msg("%s", err);
	return k;
}

static const char reply_404[] =
	"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	"Connection: close\r\n\r\n"
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
	"\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\","
	"\"details\":{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}";
static const char reply_ok[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	"Connection: close\r\n\r\n"
	"{\"kind\":\"Pod\"}";
static const char reply_502_html[] =
	"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
	"Connection: close\r\n\r\n"
	"<html>\n<b>bad gateway</b></html>";
static const char reply_503_empty[] =
	"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n";
static const char reply_500_empty[] =
	"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n";
static const char reply_429_after[] =
	"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
	"Connection: close\r\n\r\n";

static const struct fl_kube_ref pod_x = {
	.version = "v1", .resource = "pods", .namespace = "shop", .name = "x"};

static void test_status_body(void **state)
{
	struct server s = {.replies = {reply_404}, .nreplies = 1};
	struct fl_kube_status st;
	struct json_object *out = (void *)&st;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 3, 0);
	assert_int_equal(fl_kube_get(k, &pod_x, &out, &st), -1);
	assert_null(out);
	assert_int_equal(st.code, 404);
	assert_string_equal(st.reason, "NotFound");
	assert_string_equal(st.message, "pods \"x\" not found");
	assert_string_equal(fl_json_str(st.details, "name"), "x");
	fl_kube_status_release(&st);
	assert_null(st.details);
	fl_kube_free(k);
	server_stop(&s, 1);
	assert_non_null(strstr(s.requests[0],
			       "GET /api/v1/namespaces/shop/pods/x HTTP/1.1"));
	assert_non_null(strstr(s.requests[0], "Authorization: Bearer t0k"));
	assert_non_null(strstr(s.requests[0], "Accept: application/json"));
}

static void test_other_bodies_and_retries(void **state)
{
	struct server s = {.replies = {reply_502_html, reply_503_empty,
				       reply_ok, reply_503_empty},
			   .nreplies = 4};
	struct fl_kube_status st;
	struct json_object *out = NULL;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 3, 0);
	/* A GET is retried through the 502 and the 503. */
	assert_int_equal(fl_kube_get(k, &pod_x, &out, &st), 0);
	assert_string_equal(fl_json_str(out, "kind"), "Pod");
	json_object_put(out);
	fl_kube_free(k);

	/* Without retries the last answer is what the caller gets. */
	k = client(&s, -1, 0);
	assert_int_equal(fl_kube_get(k, &pod_x, NULL, &st), -1);
	assert_int_equal(st.code, 503);
	assert_string_equal(st.reason, "ServiceUnavailable");
	assert_string_equal(st.message,
			    "the server answered 503 with no message");
	fl_kube_status_release(&st);
	fl_kube_free(k);
	server_stop(&s, 4);
}

static void test_html_error_body(void **state)
{
	struct server s = {.replies = {reply_502_html}, .nreplies = 1};
	struct fl_kube_status st;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, -1, 0);
	assert_int_equal(fl_kube_get(k, &pod_x, NULL, &st), -1);
	assert_int_equal(st.code, 502);
	assert_string_equal(st.reason, "Unknown");
	/* One line, control characters turned into spaces. */
	assert_string_equal(st.message, "<html> <b>bad gateway</b></html>");
	fl_kube_status_release(&st);
	fl_kube_free(k);
	server_stop(&s, 1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_post_retries(void **state)
{
	struct server s = {
		.replies = {reply_429_after, reply_ok, reply_500_empty},
		.nreplies = 3};
	struct json_object *body = json_tokener_parse("{\"kind\":\"Pod\"}");
	struct fl_kube_ref pods = {
		.version = "v1", .resource = "pods", .namespace = "shop"};
	struct fl_kube_status st;
	double start;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 3, 0);
	/* 429 is retried even for a POST, after Retry-After. */
	start = now_s();
	assert_int_equal(fl_kube_create(k, &pods, body, NULL, &st), 0);
	assert_true(now_s() - start >= 0.9);
	/* A 500 without Retry-After may have created it: no retry. */
	assert_int_equal(fl_kube_create(k, &pods, body, NULL, &st), -1);
	assert_int_equal(st.code, 500);
	assert_string_equal(st.reason, "InternalError");
	fl_kube_status_release(&st);
	fl_kube_free(k);
	json_object_put(body);
	server_stop(&s, 3);
	assert_non_null(
		strstr(s.requests[1], "POST /api/v1/namespaces/shop/pods "));
	assert_non_null(
		strstr(s.requests[1], "Content-Type: application/json"));
	assert_non_null(strstr(s.requests[1], "\r\n\r\n{\"kind\":\"Pod\"}"));
}

static void test_body_cap(void **state)
{
	struct server s = {.replies = {reply_404, reply_ok}, .nreplies = 2};
	struct fl_kube_status st;
	struct json_object *out = NULL;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 3, 16);
	/* An error body over the cap is a failure of its own, not retried
	 * and not truncated into a wrong message. */
	assert_int_equal(fl_kube_get(k, &pod_x, &out, &st), -1);
	assert_int_equal(st.code, 0);
	assert_string_equal(st.reason, "ResponseTooLarge");
	assert_non_null(strstr(st.message, "exceeds 16 bytes"));
	fl_kube_status_release(&st);
	fl_kube_free(k);
	k = client(&s, 3, 14);
	assert_int_equal(fl_kube_get(k, &pod_x, &out, &st), 0);
	json_object_put(out);
	fl_kube_free(k);
	server_stop(&s, 2);
}

static void test_request_forms(void **state)
{
	struct server s = {.replies = {reply_ok, reply_ok, reply_ok, reply_ok},
			   .nreplies = 4};
	struct fl_kube_list_opts lo = {.label_selector = "app in (a,b)",
				       .field_selector = "spec.nodeName=n1",
				       .limit = 5,
				       .cont = "tok=/+"};
	struct fl_kube_delete_opts dopt = {.precondition_uid = "u-1",
					   .propagation = "Foreground",
					   .grace_period_s = 0};
	struct fl_kube_ref pods = {
		.version = "v1", .resource = "pods", .namespace = "shop"};
	struct fl_kube_status st;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 0, 0);
	assert_int_equal(fl_kube_list(k, &pods, &lo, NULL, &st), 0);
	assert_int_equal(fl_kube_patch(k, &pod_x, FL_KUBE_PATCH_APPLY,
				       "{\"a\":1}", "faultline", 1, NULL, &st),
			 0);
	assert_int_equal(fl_kube_patch(k, &pod_x, FL_KUBE_PATCH_STRATEGIC, "{}",
				       NULL, 1, NULL, &st),
			 0);
	assert_int_equal(fl_kube_delete(k, &pod_x, &dopt, NULL, &st), 0);
	fl_kube_free(k);
	server_stop(&s, 4);
	assert_non_null(strstr(s.requests[0],
			       "GET /api/v1/namespaces/shop/pods?labelSelector="
			       "app%20in%20%28a%2Cb%29&fieldSelector=spec."
			       "nodeName%3Dn1&limit=5&continue=tok%3D%2F%2B "));
	assert_non_null(strstr(s.requests[1], "PATCH /api/v1/namespaces/shop/"
					      "pods/x?fieldManager=faultline&"
					      "force=true "));
	assert_non_null(strstr(s.requests[1],
			       "Content-Type: application/apply-patch+yaml"));
	/* force belongs to apply only. */
	assert_non_null(strstr(s.requests[2], "pods/x HTTP/1.1"));
	assert_non_null(
		strstr(s.requests[2],
		       "Content-Type: application/strategic-merge-patch+json"));
	assert_non_null(strstr(s.requests[3], "DELETE /api/v1/namespaces/shop/"
					      "pods/x "));
	assert_non_null(strstr(s.requests[3],
			       "{\"kind\":\"DeleteOptions\",\"apiVersion\":"
			       "\"v1\",\"preconditions\":{\"uid\":\"u-1\"},"
			       "\"propagationPolicy\":\"Foreground\","
			       "\"gracePeriodSeconds\":0}"));
}

static void test_no_answer(void **state)
{
	struct server s = {.replies = {"", reply_ok, ""}, .nreplies = 3};
	struct json_object *body = json_tokener_parse("{\"kind\":\"Pod\"}");
	struct fl_kube_ref pods = {
		.version = "v1", .resource = "pods", .namespace = "shop"};
	struct fl_kube_status st;
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 3, 0);
	/* The GET is sent again after the server hung up on it. */
	assert_int_equal(fl_kube_get(k, &pod_x, NULL, &st), 0);
	/* The POST reached the server, which may have acted on it: it is
	 * not sent again, and the caller learns why. */
	assert_int_equal(fl_kube_create(k, &pods, body, NULL, &st), -1);
	assert_int_equal(st.code, 0);
	assert_string_equal(st.reason, "Unreachable");
	assert_non_null(strstr(st.message, "POST"));
	fl_kube_free(k);
	json_object_put(body);
	server_stop(&s, 3);
}

static void test_qps_limit(void **state)
{
	struct server s = {.replies = {reply_ok, reply_ok, reply_ok},
			   .nreplies = 3};
	struct fl_kube_config c = {0};
	struct fl_kube_opts o = {.qps = 10};
	struct fl_kube_status st;
	char err[256];
	double start;
	fl_kube *k;
	int i;

	(void)state;
	server_start(&s);
	c.server = fl_asprintf("http://127.0.0.1:%d", s.port);
	k = fl_kube_new(&c, &o, err, sizeof(err));
	assert_non_null(k);
	start = now_s();
	for (i = 0; i < 3; i++)
		assert_int_equal(fl_kube_get(k, &pod_x, NULL, &st), 0);
	/* Three requests at ten a second span at least two intervals. */
	assert_true(now_s() - start >= 0.19);
	fl_kube_free(k);
	free(c.server);
	server_stop(&s, 3);
	assert_null(strstr(s.requests[0], "Authorization"));
}

/* -- streaming ----------------------------------------------------------- */

struct lines {
	char got[8][64];
	int n;
	int stop_after;
};

static int collect(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;

	assert_int_equal(strlen(line), len);
	snprintf(l->got[l->n++], sizeof(l->got[0]), "%s", line);
	return l->stop_after && l->n >= l->stop_after;
}

static const char reply_lines[] =
	"HTTP/1.1 200 OK\r\nConnection: close\r\nX-No-Length: 1\r\n\r\n"
	"{\"type\":\"ADDED\"}\n\n{\"type\":\"MODIFIED\"}\nlast";

static void test_stream_lines(void **state)
{
	struct server s = {
		.replies = {reply_lines, reply_lines, reply_lines, reply_404},
		.nreplies = 4};
	struct fl_kube_stream_opts so = {.query = "watch=1"};
	struct fl_kube_status st;
	struct lines l = {0};
	fl_kube *k;

	(void)state;
	server_start(&s);
	k = client(&s, 3, 0);
	assert_int_equal(fl_kube_stream(k, &pod_x, &so, collect, &l, &st), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.got[0], "{\"type\":\"ADDED\"}");
	assert_string_equal(l.got[1], "");
	assert_string_equal(l.got[2], "{\"type\":\"MODIFIED\"}");
	assert_string_equal(l.got[3], "last");

	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(fl_kube_stream(k, &pod_x, &so, collect, &l, &st), 0);
	assert_int_equal(l.n, 1);

	memset(&l, 0, sizeof(l));
	so.max_line = 10;
	assert_int_equal(fl_kube_stream(k, &pod_x, &so, collect, &l, &st), -1);
	assert_int_equal(st.code, 0);
	assert_string_equal(st.reason, "ResponseTooLarge");
	assert_int_equal(l.n, 0);

	assert_int_equal(fl_kube_stream(k, &pod_x, &so, collect, &l, &st), -1);
	assert_int_equal(st.code, 404);
	assert_string_equal(st.reason, "NotFound");
	fl_kube_status_release(&st);
	fl_kube_free(k);
	server_stop(&s, 4);
	assert_non_null(strstr(s.requests[0], "pods/x?watch=1 "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_context_and_relative_paths),
		cmocka_unit_test(test_named_context),
		cmocka_unit_test(test_kubeconfig_env),
		cmocka_unit_test(test_inline_data),
		cmocka_unit_test(test_token_and_token_file),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_mixed_cert_and_key),
		cmocka_unit_test(test_exec_token_control_chars),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_status_body),
		cmocka_unit_test(test_other_bodies_and_retries),
		cmocka_unit_test(test_html_error_body),
		cmocka_unit_test(test_post_retries),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_request_forms),
		cmocka_unit_test(test_no_answer),
		cmocka_unit_test(test_qps_limit),
		cmocka_unit_test(test_stream_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
