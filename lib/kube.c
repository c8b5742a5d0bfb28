/*
 * The Kubernetes API client: one libcurl easy handle per client, reused
 * for every request so that connections (HTTP/2 where the server offers
 * it) are kept; bearer tokens from the config, a token file or an exec
 * plugin; bounded response bodies; retries with backoff.
 *
 * When a request is sent again.  A 429 or a 5xx other than 501 is
 * retried when the request is idempotent (GET, PUT, DELETE, and the
 * merge, strategic and apply patches, which give the same result when
 * applied twice), or when the server sent Retry-After and so said itself
 * that the request was not handled (priority and fairness, the in-flight
 * limit).  An eviction that a PodDisruptionBudget refuses is a 429 too,
 * with a DisruptionBudget cause (and Retry-After while the budget is
 * still being computed): that is the answer, not congestion, and the
 * caller gets it at once, to decide.  A transport error is retried when
 * the request is idempotent, or when nothing of it was sent (the connection was never made, or curl
 * reports no request bytes issued).  A POST or a JSON patch may have been
 * applied by a server that then failed to answer; sending it again could
 * create twice or patch twice, so those fail instead and the caller
 * decides.  TLS verification failures and our own limits are never
 * retried: they would fail the same way again.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "kube.h"

#define MAX_BODY_DEFAULT (16u << 20)
#define MAX_LINE_DEFAULT (4u << 20)
#define TOKEN_MAX_BYTES (64 << 10)
/* ExecCredential output: a token or a certificate pair is a few KiB. */
#define EXEC_MAX_OUTPUT (1 << 20)
#define EXEC_TIMEOUT_MS 60000
/* A Retry-After above this is treated as this: a controller that sleeps
 * an hour on one request stops reconciling everything else. */
#define RETRY_AFTER_MAX_S 60
/* Nesting json-c accepts in a response; managedFields of a deep CRD
 * object go well past json-c's default of 32. */
#define JSON_MAX_DEPTH 256

/* Credentials from the last run of the exec plugin. */
struct exec_cred {
	char *token;	    /* bearer token, or NULL */
	char *cert;	    /* PEM client certificate, or NULL */
	char *key;	    /* PEM key, or NULL */
	time_t expiry;	    /* 0 when the plugin gave none */
	int valid;	    /* 0 forces the next request to run the plugin */
	unsigned long runs; /* how often it ran, for tests and logs */
};

/* The token file as last read, to notice rotation. */
struct token_file {
	char *token; /* NULL until read */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct fl_kube {
	CURL *curl;
	struct fl_kube_config cfg; /* a deep copy of the caller's */
	struct fl_kube_opts opts;  /* with defaults filled in */
	char *user_agent;	   /* owned copy of opts.user_agent */
	char errbuf[CURL_ERROR_SIZE];
	struct token_file tf;
	struct exec_cred exec;
	int fresh_connect; /* new client certificate: do not reuse */
	double next_slot;  /* QPS: monotonic time of the next request */
	uint64_t rng;	   /* xorshift state for backoff jitter */
};

/* Where a response's bytes go: a bounded body, or a line splitter. */
struct sink {
	fl_kube *k;
	struct fl_buf body; /* the whole body, or an error body */
	int too_large;	    /* body.max was reached */
	/* streaming only */
	int streaming;
	int checked; /* response code looked at */
	int is_error;
	struct fl_buf line;
	int line_too_long;
	int stopped;
	int (*on_line)(const char *line, size_t len, void *arg);
	void *arg;
};

/* One request as the retry loop sees it. */
struct req {
	const char *method;
	char *url; /* owned */
	const char *body;
	size_t body_len;
	const char *content_type;
	int idempotent;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* -- status ------------------------------------------------------------- */

/* Frees st->details and zeroes st. */
void fl_kube_status_release(struct fl_kube_status *st)
{
	if (!st)
		return;
	json_object_put(st->details);
	memset(st, 0, sizeof(*st));
}

static void set_status(struct fl_kube_status *st, long code, const char *reason,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_status(struct fl_kube_status *st, long code, const char *reason,
		       const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	snprintf(st->reason, sizeof(st->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
}

/* The reason the API server gives with each code, for bodies that are
 * not a Status (a proxy's HTML page, an empty 503). */
static const char *reason_for(long code)
{
	static const struct {
		long code;
		const char *reason;
	} reasons[] = {
		{400, "BadRequest"},
		{401, "Unauthorized"},
		{403, "Forbidden"},
		{404, "NotFound"},
		{405, "MethodNotAllowed"},
		{406, "NotAcceptable"},
		{409, "Conflict"},
		{410, "Expired"},
		{413, "RequestEntityTooLarge"},
		{415, "UnsupportedMediaType"},
		{422, "Invalid"},
		{429, "TooManyRequests"},
		{500, "InternalError"},
		{503, "ServiceUnavailable"},
		{504, "Timeout"},
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].code == code)
			return reasons[i].reason;
	}
	return "Unknown";
}

/* A body that is not JSON, as one printable line of bounded length. */
static void plain_message(char *out, size_t n, const char *body, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < n && o < 200; i++) {
		unsigned char c = (unsigned char)body[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	out[o] = '\0';
}

/* Fills st from an error response: a metav1.Status when the body is one,
 * else the code, its usual reason and the start of the body. */
static void parse_status(long code, const char *body, size_t len,
			 struct fl_kube_status *st)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	struct json_object *o = json_tokener_parse_ex(tok, body, (int)len);
	const char *kind = fl_json_str(o, "kind");

	json_tokener_free(tok);
	st->code = code;
	if (kind && strcmp(kind, "Status") == 0) {
		const char *reason = fl_json_str(o, "reason");
		const char *msg = fl_json_str(o, "message");
		struct json_object *details = fl_json_get(o, "details");

		snprintf(st->reason, sizeof(st->reason), "%s",
			 reason && *reason ? reason : reason_for(code));
		snprintf(st->message, sizeof(st->message), "%s",
			 msg ? msg : "");
		if (details)
			st->details = json_object_get(details);
	} else {
		snprintf(st->reason, sizeof(st->reason), "%s",
			 reason_for(code));
		plain_message(st->message, sizeof(st->message), body, len);
		if (!st->message[0])
			snprintf(st->message, sizeof(st->message),
				 "the server answered %ld with no message",
				 code);
	}
	json_object_put(o);
}

/* -- paths and queries -------------------------------------------------- */

/* One path segment, percent-encoded; "", "." and ".." are refused so that
 * no name can climb out of its collection. */
static int add_segment(struct fl_buf *b, const char *seg)
{
	const char *p;

	if (!*seg || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
		return -1;
	if (fl_buf_addc(b, '/') < 0)
		return -1;
	for (p = seg; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int rc = isalnum(c) || strchr("-._~:@", c)
				 ? fl_buf_addc(b, (char)c)
				 : fl_buf_addf(b, "%%%02X", c);

		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * Writes the URL path of ref into out: /api/v1/... for the core group,
 * /apis/GROUP/VERSION/... otherwise, then namespaces/NS, the resource,
 * the name and the subresource.  Returns out, or NULL when it does not
 * fit in n bytes or a part is missing or empty ("." and ".." included).
 */
char *fl_kube_path(const struct fl_kube_ref *ref, char *out, size_t n)
{
	struct fl_buf b;
	char *ret = NULL;

	if (!ref || !ref->version || !ref->resource || n == 0)
		return NULL;
	fl_buf_init(&b, n - 1);
	if (ref->group && *ref->group) {
		if (fl_buf_adds(&b, "/apis") < 0 ||
		    add_segment(&b, ref->group) < 0)
			goto out;
	} else if (fl_buf_adds(&b, "/api") < 0) {
		goto out;
	}
	if (add_segment(&b, ref->version) < 0)
		goto out;
	if (ref->namespace && (add_segment(&b, "namespaces") < 0 ||
			       add_segment(&b, ref->namespace) < 0))
		goto out;
	if (add_segment(&b, ref->resource) < 0)
		goto out;
	if (ref->name && add_segment(&b, ref->name) < 0)
		goto out;
	if (ref->subresource &&
	    (!ref->name || add_segment(&b, ref->subresource) < 0))
		goto out;
	memcpy(out, b.data, b.len + 1);
	ret = out;
out:
	fl_buf_release(&b);
	return ret;
}

/* Appends name=value to a query, the value percent-encoded. */
static void add_param(fl_kube *k, struct fl_buf *q, const char *name,
		      const char *value)
{
	char *enc = curl_easy_escape(k->curl, value, 0);

	if (!enc)
		abort();
	fl_buf_addf(q, "%s%s=%s", q->len ? "&" : "", name, enc);
	curl_free(enc);
}

/* The full URL of ref with a query (which may be empty); NULL with st
 * filled when ref does not make a path. */
static char *make_url(fl_kube *k, const struct fl_kube_ref *ref,
		      const struct fl_buf *q, struct fl_kube_status *st)
{
	char path[4096];

	if (!fl_kube_path(ref, path, sizeof(path))) {
		set_status(st, 0, "BadRequest",
			   "invalid reference to %s: a part is missing, empty, "
			   "'.' or '..', or the path is too long",
			   ref && ref->resource ? ref->resource : "(null)");
		return NULL;
	}
	return fl_asprintf("%s%s%s%s", k->cfg.server, path, q->len ? "?" : "",
			   q->len ? q->data : "");
}

/* -- time --------------------------------------------------------------- */

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Parses an RFC 3339 time ("2026-01-02T03:04:05Z", fractions and offsets
 * allowed) into *t.  Returns -1 when it is not one.
 */
static int parse_rfc3339(const char *s, time_t *t)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	long off = 0;

	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (!isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) ||
		    !isdigit((unsigned char)p[5]) || p[6])
			return -1;
		off = sign * (((p[1] - '0') * 10 + p[2] - '0') * 3600 +
			      ((p[4] - '0') * 10 + p[5] - '0') * 60);
	} else if (!((*p == 'Z' || *p == 'z') && !p[1])) {
		return -1;
	}
	*t = timegm(&tm) - off;
	return 0;
}

/* -- credentials -------------------------------------------------------- */

/* A token goes into a header line: refuse anything that could end it. */
static int token_ok(const char *t)
{
	for (; *t; t++) {
		if ((unsigned char)*t < 0x20 || *t == 0x7f)
			return 0;
	}
	return 1;
}

/* Reads the token file again when it changed since the last read (or
 * when force is set); the service account token is rotated that way. */
static int refresh_token_file(fl_kube *k, int force, struct fl_kube_status *st)
{
	struct token_file *tf = &k->tf;
	struct stat s;
	struct fl_buf b;
	char chunk[4096];
	ssize_t n;
	int fd;

	if (stat(k->cfg.token_file, &s) < 0)
		goto fail;
	if (!force && tf->token && s.st_dev == tf->dev && s.st_ino == tf->ino &&
	    s.st_size == tf->size && s.st_mtim.tv_sec == tf->mtime.tv_sec &&
	    s.st_mtim.tv_nsec == tf->mtime.tv_nsec)
		return 0;
	fd = open(k->cfg.token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	fl_buf_init(&b, TOKEN_MAX_BYTES);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (fl_buf_add(&b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			n = -1;
			break;
		}
	}
	close(fd);
	if (n < 0) {
		fl_buf_release(&b);
		goto fail;
	}
	while (b.len && isspace((unsigned char)b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	if (!b.len || !token_ok(b.data)) {
		fl_buf_release(&b);
		set_status(st, 0, "Unauthorized",
			   "token file '%s' is empty or holds control "
			   "characters",
			   k->cfg.token_file);
		return -1;
	}
	free(tf->token);
	tf->token = fl_buf_detach(&b, NULL);
	tf->dev = s.st_dev;
	tf->ino = s.st_ino;
	tf->size = s.st_size;
	tf->mtime = s.st_mtim;
	return 0;
fail:
	set_status(st, 0, "Unauthorized", "cannot read token file '%s': %s",
		   k->cfg.token_file, strerror(errno));
	return -1;
}

static void exec_clear(struct exec_cred *e)
{
	free(e->token);
	free(e->cert);
	free(e->key);
	e->token = e->cert = e->key = NULL;
	e->expiry = 0;
	e->valid = 0;
}

/* The environment of the plugin: ours, the kubeconfig's env entries, and
 * KUBERNETES_EXEC_INFO.  Built before fork(), where allocation is safe. */
static char **exec_envp(fl_kube *k)
{
	size_t n = 0, m = 0, i;
	char **envp;

	while (environ[n])
		n++;
	while (k->cfg.exec_env && k->cfg.exec_env[m])
		m++;
	envp = fl_calloc(n + m + 2, sizeof(char *));
	for (i = 0; i < n; i++)
		envp[i] = fl_strdup(environ[i]);
	for (i = 0; i < m; i++)
		envp[n + i] = fl_strdup(k->cfg.exec_env[i]);
	envp[n + m] = fl_asprintf(
		"KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\","
		"\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}",
		k->cfg.exec_api_version);
	return envp;
}

static char **exec_argv(fl_kube *k)
{
	size_t n = 0, i;
	char **argv;

	while (k->cfg.exec_args && k->cfg.exec_args[n])
		n++;
	argv = fl_calloc(n + 2, sizeof(char *));
	argv[0] = k->cfg.exec_command;
	for (i = 0; i < n; i++)
		argv[i + 1] = k->cfg.exec_args[i];
	return argv;
}

/* In the child: a process group of its own, so that whatever the plugin
 * starts can be killed with it; stdin from /dev/null, stdout into the
 * pipe, no shell. */
static void __attribute__((noreturn))
exec_child(int out_fd, char **argv, char **envp)
{
	int null;

	setpgid(0, 0);
	null = open("/dev/null", O_RDONLY);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	execvpe(argv[0], argv, envp);
	_exit(127);
}

/* Reads the child's stdout until EOF, the cap or the deadline. */
static int exec_read(int fd, struct fl_buf *out, double deadline,
		     const char **why)
{
	char chunk[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)((deadline - now_mono()) * 1000);
		ssize_t n;

		if (left <= 0) {
			*why = "did not finish in time";
			return -1;
		}
		if (poll(&p, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			*why = "poll failed";
			return -1;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*why = "its output could not be read";
			return -1;
		}
		if (fl_buf_add(out, chunk, (size_t)n) < 0) {
			*why = "wrote more than 1 MiB";
			return -1;
		}
	}
}

/* Kills the plugin and everything in its process group: a plugin that
 * is a shell script may leave children holding our pipe open.  The group
 * outlives the plugin until we reap it, so its id is still ours. */
static void exec_kill(pid_t pid)
{
	if (kill(-pid, SIGKILL) < 0)
		kill(pid, SIGKILL);
}

/* Reaps the plugin.  One that closed its output but does not exit is
 * killed at the deadline, so that it cannot hang the client.  With
 * SIGCHLD ignored there is no status to wait for (ECHILD): *status
 * stays as it was. */
static void exec_wait(pid_t pid, double deadline, int *status, const char **why)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			return;
		if (w == 0 && now_mono() >= deadline) {
			exec_kill(pid);
			if (!*why)
				*why = "did not exit in time";
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return;
		}
		if (w == 0)
			sleep_s(0.01);
	}
}

/* Takes the credential out of the plugin's ExecCredential JSON. */
static int exec_parse(fl_kube *k, const struct fl_buf *out,
		      struct fl_kube_status *st)
{
	struct json_object *o = json_tokener_parse(out->data ? out->data : "");
	struct json_object *status = fl_json_get(o, "status");
	const char *kind = fl_json_str(o, "kind");
	const char *api = fl_json_str(o, "apiVersion");
	const char *token = fl_json_str(status, "token");
	const char *cert = fl_json_str(status, "clientCertificateData");
	const char *key = fl_json_str(status, "clientKeyData");
	const char *exp = fl_json_str(status, "expirationTimestamp");
	const char *cmd = k->cfg.exec_command;
	int rc = -1;

	if (!o || !kind || strcmp(kind, "ExecCredential") != 0) {
		set_status(st, 0, "Unauthorized",
			   "exec plugin '%s' did not print an ExecCredential",
			   cmd);
		goto out;
	}
	if (!api || strcmp(api, k->cfg.exec_api_version) != 0) {
		set_status(st, 0, "Unauthorized",
			   "exec plugin '%s' answered apiVersion '%s', not the "
			   "'%s' asked for",
			   cmd, api ? api : "", k->cfg.exec_api_version);
		goto out;
	}
	if (token && *token && !token_ok(token)) {
		set_status(st, 0, "Unauthorized",
			   "exec plugin '%s': status.token holds control "
			   "characters",
			   cmd);
		goto out;
	}
	if (!(token && *token) && !(cert && key)) {
		set_status(st, 0, "Unauthorized",
			   "exec plugin '%s': status has neither a token nor "
			   "clientCertificateData and clientKeyData",
			   cmd);
		goto out;
	}
	exec_clear(&k->exec);
	if (exp && parse_rfc3339(exp, &k->exec.expiry) < 0) {
		set_status(st, 0, "Unauthorized",
			   "exec plugin '%s': status.expirationTimestamp '%s' "
			   "is not an RFC 3339 time",
			   cmd, exp);
		goto out;
	}
	if (token && *token)
		k->exec.token = fl_strdup(token);
	if (cert && key) {
		k->exec.cert = fl_strdup(cert);
		k->exec.key = fl_strdup(key);
	}
	k->exec.valid = 1;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Runs the exec plugin and keeps what it returned. */
static int run_exec(fl_kube *k, struct fl_kube_status *st)
{
	char **argv = exec_argv(k), **envp = exec_envp(k), **e;
	double deadline = now_mono() + EXEC_TIMEOUT_MS / 1000.0;
	const char *why = NULL;
	struct fl_buf out;
	int fds[2], status = 0, rc = -1;
	pid_t pid;

	fl_buf_init(&out, EXEC_MAX_OUTPUT);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		set_status(st, 0, "Unauthorized",
			   "cannot run exec plugin '%s': %s", argv[0],
			   strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid == 0)
		exec_child(fds[1], argv, envp);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		set_status(st, 0, "Unauthorized",
			   "cannot run exec plugin '%s': %s", argv[0],
			   strerror(errno));
		goto out;
	}

	/* The child does the same: whichever runs first, the group exists
	 * before we might kill it.  EACCES means it already has exec'd. */
	setpgid(pid, pid);
	if (exec_read(fds[0], &out, deadline, &why) < 0)
		exec_kill(pid);
	close(fds[0]);
	exec_wait(pid, deadline, &status, &why);
	k->exec.runs++;
	if (why) {
		set_status(st, 0, "Unauthorized", "exec plugin '%s' %s",
			   argv[0], why);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		set_status(st, 0, "Unauthorized",
			   "exec plugin '%s' failed (exit status %d%s)",
			   argv[0],
			   WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			   WIFEXITED(status) && WEXITSTATUS(status) == 127
				   ? ", not found?"
				   : "");
	} else {
		rc = exec_parse(k, &out, st);
	}
	if (rc == 0 && k->exec.cert)
		k->fresh_connect = 1;
out:
	fl_buf_release(&out);
	for (e = envp; *e; e++)
		free(*e);
	free(envp);
	free(argv);
	return rc;
}

/* The bearer token for the next request (NULL for none), running the
 * exec plugin or re-reading the token file when needed.  An exec plugin
 * wins over a token file, and a token file over a token, as in
 * client-go, where a token file is the rotating form of the token. */
static int current_token(fl_kube *k, const char **token,
			 struct fl_kube_status *st)
{
	*token = NULL;
	if (k->cfg.exec_command) {
		if (!k->exec.valid ||
		    (k->exec.expiry && time(NULL) >= k->exec.expiry)) {
			if (run_exec(k, st) < 0)
				return -1;
		}
		*token = k->exec.token;
		return 0;
	}
	if (k->cfg.token_file) {
		if (refresh_token_file(k, 0, st) < 0)
			return -1;
		*token = k->tf.token;
		return 0;
	}
	*token = k->cfg.token;
	return 0;
}

static void set_blob(CURL *c, CURLoption opt, const char *pem)
{
	struct curl_blob blob = {.data = (void *)pem,
				 .len = strlen(pem),
				 .flags = CURL_BLOB_COPY};

	curl_easy_setopt(c, opt, &blob);
}

/* -- the transfer ------------------------------------------------------- */

static size_t stream_write(struct sink *s, const char *p, size_t n);

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->streaming)
		return stream_write(s, p, n);
	if (fl_buf_add(&s->body, p, n) < 0) {
		s->too_large = 1;
		return 0;
	}
	return n;
}

/* Sets the options of one request on the reused handle. */
static struct curl_slist *prepare(fl_kube *k, const struct req *r,
				  const char *token, struct sink *s)
{
	struct curl_slist *h = NULL;
	CURL *c = k->curl;

	h = curl_slist_append(h, "Accept: application/json");
	/* A large body would otherwise wait a second for 100-continue. */
	h = curl_slist_append(h, "Expect:");
	if (r->content_type) {
		char *ct = fl_asprintf("Content-Type: %s", r->content_type);

		h = curl_slist_append(h, ct);
		free(ct);
	}
	if (token) {
		char *auth = fl_asprintf("Authorization: Bearer %s", token);

		h = curl_slist_append(h, auth);
		free(auth);
	}
	if (!h)
		abort();
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	if (r->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)r->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, (long)k->fresh_connect);
	if (k->exec.valid && k->exec.cert) {
		set_blob(c, CURLOPT_SSLCERT_BLOB, k->exec.cert);
		set_blob(c, CURLOPT_SSLKEY_BLOB, k->exec.key);
	}
	k->fresh_connect = 0;
	return h;
}

/* Describes a failed transfer in st (code 0: nothing usable came back). */
static void transport_status(fl_kube *k, const struct req *r, CURLcode rc,
			     const struct sink *s, struct fl_kube_status *st)
{
	const char *detail = k->errbuf[0] ? k->errbuf : curl_easy_strerror(rc);

	if (s->too_large)
		set_status(st, 0, "ResponseTooLarge",
			   "the response to %s %s exceeds %zu bytes", r->method,
			   r->url, s->body.max);
	else if (rc == CURLE_PEER_FAILED_VERIFICATION ||
		 rc == CURLE_SSL_CACERT_BADFILE)
		set_status(st, 0, "TLSVerificationFailed",
			   "cannot verify the tls certificate of %s: %s",
			   k->cfg.server, detail);
	else if (rc == CURLE_SSL_CERTPROBLEM)
		set_status(st, 0, "TLSClientCertificateFailed",
			   "cannot use the client certificate for %s: %s",
			   k->cfg.server, detail);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		set_status(st, 0, "Timeout",
			   "no answer from %s to %s in time: %s", k->cfg.server,
			   r->method, detail);
	else
		set_status(st, 0, "Unreachable", "cannot reach %s (%s %s): %s",
			   k->cfg.server, r->method, r->url, detail);
}

/* Whether a transport failure may be sent again (see the top). */
static int transport_retryable(fl_kube *k, const struct req *r, CURLcode rc)
{
	long sent = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		if (r->idempotent)
			return 1;
		curl_easy_getinfo(k->curl, CURLINFO_REQUEST_SIZE, &sent);
		return sent == 0;
	default:
		return 0;
	}
}

/* The pause before attempt n+1: Retry-After when the server gave one,
 * else an exponential backoff with jitter in its upper half. */
static double backoff_s(fl_kube *k, int attempt, int retry_after)
{
	double ms = k->opts.backoff_base_ms;
	int i;

	if (retry_after > 0)
		return retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
						       : retry_after;
	for (i = 0; i < attempt && ms < k->opts.backoff_max_ms; i++)
		ms *= 2;
	if (ms > k->opts.backoff_max_ms)
		ms = k->opts.backoff_max_ms;
	k->rng ^= k->rng << 13;
	k->rng ^= k->rng >> 7;
	k->rng ^= k->rng << 17;
	return (ms / 2 + (double)(k->rng % 1000) / 1000.0 * ms / 2) / 1000.0;
}

/* The client-side rate limit: at most qps requests a second, no burst. */
static void throttle(fl_kube *k)
{
	double now;

	if (k->opts.qps <= 0)
		return;
	now = now_mono();
	if (k->next_slot > now)
		sleep_s(k->next_slot - now);
	else
		k->next_slot = now;
	k->next_slot += 1.0 / k->opts.qps;
}

/* One attempt.  Returns the curl result; *code is the HTTP status. */
static CURLcode attempt(fl_kube *k, const struct req *r, struct sink *s,
			long *code, struct fl_kube_status *st, int *cred_err)
{
	struct curl_slist *h;
	const char *token;
	CURLcode rc;

	*code = 0;
	*cred_err = 0;
	if (current_token(k, &token, st) < 0) {
		*cred_err = 1;
		return CURLE_OK;
	}
	throttle(k);
	h = prepare(k, r, token, s);
	k->errbuf[0] = '\0';
	rc = curl_easy_perform(k->curl);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, code);
	return rc;
}

/* After a 401: a credential that can be renewed is renewed, once. */
static int renew_after_401(fl_kube *k)
{
	if (k->cfg.exec_command) {
		k->exec.valid = 0;
		return 1;
	}
	if (k->cfg.token_file) {
		char *old = k->tf.token ? fl_strdup(k->tf.token) : NULL;
		struct fl_kube_status ignored = {0};
		int changed = refresh_token_file(k, 1, &ignored) == 0 && old &&
			      strcmp(old, k->tf.token) != 0;

		free(old);
		return changed;
	}
	return 0;
}

/* Parses a 2xx body into *out (NULL for an empty body). */
static int parse_body(long code, const struct fl_buf *b,
		      struct json_object **out, struct fl_kube_status *st)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (!out)
		return 0;
	*out = NULL;
	if (b->len == 0)
		return 0;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	o = json_tokener_parse_ex(tok, b->data, (int)b->len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		set_status(st, code, "InvalidResponse",
			   "the server answered %ld with a body that is not "
			   "JSON",
			   code);
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

/* Whether st is an eviction refused by a PodDisruptionBudget. */
static int budget_refusal(const struct fl_kube_status *st)
{
	struct json_object *causes = fl_json_get(st->details, "causes");
	size_t i;

	for (i = 0; st->code == 429 && i < fl_json_len(causes); i++) {
		const char *reason = fl_json_str(
			json_object_array_get_idx(causes, i), "reason");

		if (reason && strcmp(reason, "DisruptionBudget") == 0)
			return 1;
	}
	return 0;
}

/* Sends r with retries; on success parses the body into *out. */
static int request(fl_kube *k, struct req *r, struct json_object **out,
		   struct fl_kube_status *st)
{
	struct sink s = {.k = k};
	int n, renewed = 0, rc = -1, cred_err;

	for (n = 0;; n++) {
		long code, retry_after = 0;
		CURLcode cr;
		int again;

		fl_buf_release(&s.body);
		fl_buf_init(&s.body, k->opts.max_body);
		s.too_large = 0;
		fl_kube_status_release(st);
		cr = attempt(k, r, &s, &code, st, &cred_err);
		if (cred_err)
			goto out;
		if (cr != CURLE_OK) {
			transport_status(k, r, cr, &s, st);
			again = !s.too_large && transport_retryable(k, r, cr);
		} else if (code >= 200 && code < 300) {
			rc = parse_body(code, &s.body, out, st);
			goto out;
		} else {
			curl_easy_getinfo(k->curl, CURLINFO_RETRY_AFTER,
					  &retry_after);
			parse_status(code, s.body.data ? s.body.data : "",
				     s.body.len, st);
			st->retry_after_s = (int)retry_after;
			if (code == 401 && !renewed && renew_after_401(k)) {
				renewed = 1;
				n--;
				continue;
			}
			again = (code == 429 || (code >= 500 && code != 501)) &&
				(r->idempotent || retry_after > 0) &&
				!budget_refusal(st);
		}
		if (!again || n >= k->opts.max_retries)
			goto out;
		sleep_s(backoff_s(k, n, (int)retry_after));
	}
out:
	fl_buf_release(&s.body);
	return rc;
}

/* -- the client --------------------------------------------------------- */

static char **copy_list(char **v)
{
	size_t n = 0, i;
	char **c;

	if (!v)
		return NULL;
	while (v[n])
		n++;
	c = fl_calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		c[i] = fl_strdup(v[i]);
	return c;
}

static char *dup_or_null(const char *s)
{
	return s ? fl_strdup(s) : NULL;
}

static void copy_config(struct fl_kube_config *d,
			const struct fl_kube_config *s)
{
	d->server = dup_or_null(s->server);
	d->ca_file = dup_or_null(s->ca_file);
	d->ca_data = dup_or_null(s->ca_data);
	d->cert_file = dup_or_null(s->cert_file);
	d->cert_data = dup_or_null(s->cert_data);
	d->key_file = dup_or_null(s->key_file);
	d->key_data = dup_or_null(s->key_data);
	d->token = dup_or_null(s->token);
	d->token_file = dup_or_null(s->token_file);
	d->insecure_skip_verify = s->insecure_skip_verify;
	d->namespace = dup_or_null(s->namespace);
	d->exec_command = dup_or_null(s->exec_command);
	d->exec_args = copy_list(s->exec_args);
	d->exec_env = copy_list(s->exec_env);
	d->exec_api_version = dup_or_null(s->exec_api_version);
}

static void fill_opts(struct fl_kube_opts *o, const struct fl_kube_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->max_body)
		o->max_body = MAX_BODY_DEFAULT;
	/* Zero means the default, as everywhere in opts; a negative count
	 * turns retries off. */
	if (o->max_retries == 0)
		o->max_retries = 5;
	else if (o->max_retries < 0)
		o->max_retries = 0;
	if (o->backoff_base_ms <= 0)
		o->backoff_base_ms = 200;
	if (o->backoff_max_ms <= 0)
		o->backoff_max_ms = 10000;
	if (o->timeout_ms <= 0)
		o->timeout_ms = 30000;
	if (!o->user_agent)
		o->user_agent = "faultline";
}

/* Checks that the files the config names can be read now, so that a
 * wrong path is reported as such and not as a TLS failure later. */
static int check_files(const struct fl_kube_config *c, char *err, size_t errlen)
{
	const char *files[] = {c->ca_file, c->cert_file, c->key_file};
	const char *what[] = {"certificate authority", "client certificate",
			      "client key"};
	size_t i;

	for (i = 0; i < 3; i++) {
		if (files[i] && access(files[i], R_OK) < 0) {
			snprintf(err, errlen, "cannot read %s file '%s': %s",
				 what[i], files[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* TLS settings: verification on unless the config says otherwise; CA
 * and client certificate from files or from PEM text. */
static int setup_tls(fl_kube *k, char *err, size_t errlen)
{
	const struct fl_kube_config *c = &k->cfg;
	CURL *h = k->curl;
	CURLcode rc = CURLE_OK;

	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER,
			 c->insecure_skip_verify ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST,
			 c->insecure_skip_verify ? 0L : 2L);
	/* A named CA is the only one trusted, as in client-go: libcurl
	 * would otherwise also trust its built-in CA folder (every public
	 * CA), whatever CAINFO says. */
	if (c->ca_data || c->ca_file)
		rc = curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	if (rc == CURLE_OK && c->ca_data) {
		struct curl_blob blob = {.data = c->ca_data,
					 .len = strlen(c->ca_data),
					 .flags = CURL_BLOB_COPY};

		rc = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (rc == CURLE_OK && c->ca_file) {
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	}
	/* The certificate and its key each come from a file or from text,
	 * independently: client-certificate-data with client-key (a file)
	 * is a valid kubeconfig. */
	if (rc == CURLE_OK && c->cert_data)
		set_blob(h, CURLOPT_SSLCERT_BLOB, c->cert_data);
	else if (rc == CURLE_OK && c->cert_file)
		rc = curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (rc == CURLE_OK && c->key_data)
		set_blob(h, CURLOPT_SSLKEY_BLOB, c->key_data);
	else if (rc == CURLE_OK && c->key_file)
		rc = curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot set up tls for %s: %s", c->server,
			 curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * A new client for c's server.  Copies c and opts (NULL for defaults), so
 * the caller may release them at once.  Returns NULL with err filled when
 * c has no server, a named file cannot be read, or libcurl cannot be set
 * up.  Free with fl_kube_free().
 */
fl_kube *fl_kube_new(const struct fl_kube_config *c,
		     const struct fl_kube_opts *opts, char *err, size_t errlen)
{
	fl_kube *k;
	uint64_t seed = 0;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl: %s",
			 curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	if (!c || !c->server || !*c->server) {
		snprintf(err, errlen,
			 "kubernetes client: no server configured");
		return NULL;
	}
	if (check_files(c, err, errlen) < 0)
		return NULL;
	k = fl_calloc(1, sizeof(*k));
	copy_config(&k->cfg, c);
	fill_opts(&k->opts, opts);
	k->user_agent = fl_strdup(k->opts.user_agent);
	k->opts.user_agent = k->user_agent;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	k->rng = seed | 1;
	k->curl = curl_easy_init();
	if (!k->curl) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		goto fail;
	}
	curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->curl, CURLOPT_ERRORBUFFER, k->errbuf);
	curl_easy_setopt(k->curl, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(k->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(k->curl, CURLOPT_USERAGENT, k->user_agent);
	curl_easy_setopt(k->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(k->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)k->opts.timeout_ms);
	if (setup_tls(k, err, errlen) < 0)
		goto fail;
	return k;
fail:
	fl_kube_free(k);
	return NULL;
}

/* Frees the client and everything it holds; NULL is allowed. */
void fl_kube_free(fl_kube *k)
{
	if (!k)
		return;
	if (k->curl)
		curl_easy_cleanup(k->curl);
	exec_clear(&k->exec);
	free(k->tf.token);
	fl_kube_config_release(&k->cfg);
	free(k->user_agent);
	free(k);
}

/* -- the verbs ---------------------------------------------------------- */

/*
 * Each verb returns 0 with *out (when out is not NULL) holding the answer
 * with one reference for the caller, or NULL for an empty body.  On -1,
 * *st holds the server's Status (code and reason as the API gives them),
 * or code 0 and one of our reasons: Unreachable, Timeout,
 * TLSVerificationFailed, TLSClientCertificateFailed, ResponseTooLarge,
 * Unauthorized (a credential could not be obtained), BadRequest (ref
 * does not make a path), and InvalidResponse (code kept) for a 2xx body
 * that is not JSON.  The caller releases st with
 * fl_kube_status_release() when st->details is set.
 */

static int call(fl_kube *k, const char *method, const struct fl_kube_ref *ref,
		const struct fl_buf *q, const char *body,
		const char *content_type, int idempotent,
		struct json_object **out, struct fl_kube_status *st)
{
	struct req r = {.method = method,
			.body = body,
			.body_len = body ? strlen(body) : 0,
			.content_type = content_type,
			.idempotent = idempotent};
	int rc;

	memset(st, 0, sizeof(*st));
	if (out)
		*out = NULL;
	r.url = make_url(k, ref, q, st);
	if (!r.url)
		return -1;
	rc = request(k, &r, out, st);
	free(r.url);
	return rc;
}

/* GET one object into *out (one reference for the caller). */
struct fl_kube_limits fl_kube_set_limits(fl_kube *k,
					 struct fl_kube_limits limits)
{
	struct fl_kube_limits old = {k->opts.timeout_ms, k->opts.max_retries};

	k->opts.timeout_ms = limits.timeout_ms > 0 ? limits.timeout_ms : 30000;
	k->opts.max_retries = limits.max_retries > 0 ? limits.max_retries : 0;
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)k->opts.timeout_ms);
	return old;
}

int fl_kube_get(fl_kube *k, const struct fl_kube_ref *ref,
		struct json_object **out, struct fl_kube_status *st)
{
	struct fl_buf q;
	int rc;

	fl_buf_init(&q, 0);
	rc = call(k, "GET", ref, &q, NULL, NULL, 1, out, st);
	fl_buf_release(&q);
	return rc;
}

/* GET a group version's resource list; see kube.h. */
int fl_kube_discover(fl_kube *k, const char *group, const char *version,
		     struct json_object **out, struct fl_kube_status *st)
{
	struct req r = {.method = "GET", .idempotent = 1};
	struct fl_buf path;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (out)
		*out = NULL;
	fl_buf_init(&path, 1024);
	if (group && *group) {
		if (fl_buf_adds(&path, "/apis") < 0 ||
		    add_segment(&path, group) < 0)
			goto bad;
	} else if (fl_buf_adds(&path, "/api") < 0) {
		goto bad;
	}
	if (!version || add_segment(&path, version) < 0)
		goto bad;
	r.url = fl_asprintf("%s%s", k->cfg.server, path.data);
	rc = request(k, &r, out, st);
	free(r.url);
	goto out;
bad:
	set_status(st, 0, "BadRequest",
		   "invalid group version '%s/%s': a part is empty, '.' or "
		   "'..', or too long",
		   group ? group : "", version ? version : "(null)");
out:
	fl_buf_release(&path);
	return rc;
}

/* GET one page of a collection (o may be NULL); *out is the List, with
 * metadata.continue set when there is more. */
int fl_kube_list(fl_kube *k, const struct fl_kube_ref *ref,
		 const struct fl_kube_list_opts *o, struct json_object **out,
		 struct fl_kube_status *st)
{
	struct fl_buf q;
	int rc;

	fl_buf_init(&q, 0);
	if (o && o->label_selector)
		add_param(k, &q, "labelSelector", o->label_selector);
	if (o && o->field_selector)
		add_param(k, &q, "fieldSelector", o->field_selector);
	if (o && o->limit > 0)
		fl_buf_addf(&q, "%slimit=%ld", q.len ? "&" : "", o->limit);
	if (o && o->cont)
		add_param(k, &q, "continue", o->cont);
	if (o && o->resource_version)
		add_param(k, &q, "resourceVersion", o->resource_version);
	rc = call(k, "GET", ref, &q, NULL, NULL, 1, out, st);
	fl_buf_release(&q);
	return rc;
}

/* Sends body as JSON with method; the verbs below differ only in that. */
static int send_json(fl_kube *k, const char *method,
		     const struct fl_kube_ref *ref, struct json_object *body,
		     int idempotent, struct json_object **out,
		     struct fl_kube_status *st)
{
	const char *text = json_object_to_json_string_ext(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct fl_buf q;
	int rc;

	fl_buf_init(&q, 0);
	rc = call(k, method, ref, &q, text, "application/json", idempotent, out,
		  st);
	fl_buf_release(&q);
	return rc;
}

/* POST body to ref (a collection, or a subresource such as eviction).
 * Not retried after it may have reached the server. */
int fl_kube_create(fl_kube *k, const struct fl_kube_ref *ref,
		   struct json_object *body, struct json_object **out,
		   struct fl_kube_status *st)
{
	return send_json(k, "POST", ref, body, 0, out, st);
}

/* PUT body to ref; metadata.resourceVersion in body makes it conditional
 * (409 Conflict when stale). */
int fl_kube_update(fl_kube *k, const struct fl_kube_ref *ref,
		   struct json_object *body, struct json_object **out,
		   struct fl_kube_status *st)
{
	return send_json(k, "PUT", ref, body, 1, out, st);
}

static const char *patch_content_type(enum fl_kube_patch_type type)
{
	switch (type) {
	case FL_KUBE_PATCH_MERGE:
		return "application/merge-patch+json";
	case FL_KUBE_PATCH_JSON:
		return "application/json-patch+json";
	case FL_KUBE_PATCH_STRATEGIC:
		return "application/strategic-merge-patch+json";
	case FL_KUBE_PATCH_APPLY:
		return "application/apply-patch+yaml";
	}
	return NULL;
}

/*
 * PATCH ref with patch text of the given type.  field_manager (may be
 * NULL, but server-side apply requires one) names the writer; force
 * (apply only) takes fields from other managers instead of failing with
 * 409.  A JSON patch is not retried after it may have been applied.
 */
int fl_kube_patch(fl_kube *k, const struct fl_kube_ref *ref,
		  enum fl_kube_patch_type type, const char *patch,
		  const char *field_manager, int force,
		  struct json_object **out, struct fl_kube_status *st)
{
	const char *ct = patch_content_type(type);
	struct fl_buf q;
	int rc;

	if (!ct || !patch) {
		memset(st, 0, sizeof(*st));
		set_status(st, 0, "BadRequest", "patch of %s: %s",
			   ref && ref->resource ? ref->resource : "(null)",
			   ct ? "no patch text" : "unknown patch type");
		return -1;
	}
	fl_buf_init(&q, 0);
	if (field_manager)
		add_param(k, &q, "fieldManager", field_manager);
	if (force && type == FL_KUBE_PATCH_APPLY)
		fl_buf_addf(&q, "%sforce=true", q.len ? "&" : "");
	rc = call(k, "PATCH", ref, &q, patch, ct, type != FL_KUBE_PATCH_JSON,
		  out, st);
	fl_buf_release(&q);
	return rc;
}

/* The DeleteOptions body, or NULL when o asks for nothing special. */
static char *delete_body(const struct fl_kube_delete_opts *o)
{
	struct json_object *d, *pre;
	char *text;

	if (!o || (!o->precondition_uid && !o->precondition_rv &&
		   !o->propagation && o->grace_period_s < 0))
		return NULL;
	d = json_object_new_object();
	json_object_object_add(d, "kind",
			       json_object_new_string("DeleteOptions"));
	json_object_object_add(d, "apiVersion", json_object_new_string("v1"));
	if (o->precondition_uid || o->precondition_rv) {
		pre = json_object_new_object();
		if (o->precondition_uid)
			json_object_object_add(
				pre, "uid",
				json_object_new_string(o->precondition_uid));
		if (o->precondition_rv)
			json_object_object_add(
				pre, "resourceVersion",
				json_object_new_string(o->precondition_rv));
		json_object_object_add(d, "preconditions", pre);
	}
	if (o->propagation)
		json_object_object_add(d, "propagationPolicy",
				       json_object_new_string(o->propagation));
	if (o->grace_period_s >= 0)
		json_object_object_add(
			d, "gracePeriodSeconds",
			json_object_new_int64(o->grace_period_s));
	text = fl_strdup(
		json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
	json_object_put(d);
	return text;
}

/*
 * DELETE ref, with preconditions, propagation and grace period from o
 * (NULL for the defaults).  *out is what the server answers: the object
 * (still there while finalizers run, or as it was) or a Status.  A retry
 * after a lost answer may see 404 for a delete that did happen.
 */
int fl_kube_delete(fl_kube *k, const struct fl_kube_ref *ref,
		   const struct fl_kube_delete_opts *o,
		   struct json_object **out, struct fl_kube_status *st)
{
	char *body = delete_body(o);
	struct fl_buf q;
	int rc;

	fl_buf_init(&q, 0);
	rc = call(k, "DELETE", ref, &q, body, body ? "application/json" : NULL,
		  1, out, st);
	fl_buf_release(&q);
	free(body);
	return rc;
}

/* -- streaming ---------------------------------------------------------- */

/* Hands every complete line in the buffer to on_line. */
static size_t stream_write(struct sink *s, const char *p, size_t n)
{
	size_t i = 0;

	if (!s->checked) {
		long code = 0;

		curl_easy_getinfo(s->k->curl, CURLINFO_RESPONSE_CODE, &code);
		s->is_error = code < 200 || code >= 300;
		s->checked = 1;
	}
	if (s->is_error) {
		if (fl_buf_add(&s->body, p, n) < 0)
			s->too_large = 1;
		return s->too_large ? 0 : n;
	}
	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : n - i;

		if (fl_buf_add(&s->line, p + i, take) < 0) {
			s->line_too_long = 1;
			return 0;
		}
		i += take;
		if (!nl)
			break;
		i++;
		if (s->on_line(s->line.data ? s->line.data : "", s->line.len,
			       s->arg)) {
			s->stopped = 1;
			return 0;
		}
		fl_buf_reset(&s->line);
	}
	return n;
}

/* After a clean end: a last line without its newline still counts. */
static void stream_flush(struct sink *s)
{
	if (!s->is_error && !s->stopped && s->line.len > 0)
		s->on_line(s->line.data, s->line.len, s->arg);
}

/*
 * A streamed GET of ref with o->query: each line of a 2xx body goes to
 * on_line, NUL-terminated and without its newline, valid only during the
 * call.  Blocks this client until the stream ends.  One attempt, no
 * retries; an exec credential refused with 401 is renewed on the next
 * call.  Returns 0 when the server closed the stream or on_line returned
 * nonzero, else -1 with st (the server's Status for a non-2xx answer;
 * code 0 for a timeout, a transport error or a line over max_line).
 */
int fl_kube_stream(fl_kube *k, const struct fl_kube_ref *ref,
		   const struct fl_kube_stream_opts *o,
		   int (*on_line)(const char *line, size_t len, void *arg),
		   void *arg, struct fl_kube_status *st)
{
	struct fl_kube_stream_opts def = {0};
	struct sink s = {
		.k = k, .streaming = 1, .on_line = on_line, .arg = arg};
	struct fl_buf q;
	struct req r = {.method = "GET", .idempotent = 1};
	size_t max_line;
	long code = 0;
	CURLcode cr;
	int rc = -1, cred_err;

	memset(st, 0, sizeof(*st));
	if (!o)
		o = &def;
	max_line = o->max_line ? o->max_line : MAX_LINE_DEFAULT;
	fl_buf_init(&q, 0);
	if (o->query)
		fl_buf_adds(&q, o->query);
	r.url = make_url(k, ref, &q, st);
	fl_buf_release(&q);
	if (!r.url)
		return -1;
	fl_buf_init(&s.body, k->opts.max_body);
	fl_buf_init(&s.line, max_line);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS,
			 o->timeout_s > 0 ? (long)o->timeout_s * 1000L : 0L);
	cr = attempt(k, &r, &s, &code, st, &cred_err);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)k->opts.timeout_ms);
	if (cred_err)
		goto out;
	if (s.stopped) {
		rc = 0;
	} else if (s.line_too_long) {
		set_status(st, 0, "ResponseTooLarge",
			   "a line of the stream from %s exceeds %zu bytes",
			   r.url, max_line);
	} else if (cr != CURLE_OK) {
		transport_status(k, &r, cr, &s, st);
	} else if (code < 200 || code >= 300) {
		long retry_after = 0;

		parse_status(code, s.body.data ? s.body.data : "", s.body.len,
			     st);
		/* The watch layer decides about retries, but should wait as
		 * long as the server asked. */
		curl_easy_getinfo(k->curl, CURLINFO_RETRY_AFTER, &retry_after);
		st->retry_after_s = (int)retry_after;
		if (code == 401 && k->cfg.exec_command)
			k->exec.valid = 0;
	} else {
		stream_flush(&s);
		rc = 0;
	}
out:
	fl_buf_release(&s.body);
	fl_buf_release(&s.line);
	free(r.url);
	return rc;
}
