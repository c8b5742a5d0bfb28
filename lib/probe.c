/*
 * Probes: the context, the dispatch to each kind, the HTTP exchange that
 * the http and prometheus kinds share, and the verdict over samples.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "alloc.h"
#include "probe.h"
#include "probe_kinds.h"

/* A run longer than this stops counting: it only has to reach 100. */
#define RUN_MAX (1 << 30)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	/* The kube client may have done it already; curl counts calls. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Prepares ctx; see probe.h. */
void fl_probe_ctx_init(struct fl_probe_ctx *ctx, fl_kube *kube,
		       const char *namespace)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->kube = kube;
	ctx->namespace = namespace;
	ctx->max_body = FL_PROBE_MAX_BODY;
	ctx->kinds = fl_probe_kinds_new();
}

/* Frees what ctx holds; see probe.h. */
void fl_probe_ctx_release(struct fl_probe_ctx *ctx)
{
	if (ctx->curl)
		curl_easy_cleanup(ctx->curl);
	fl_probe_kinds_free(ctx->kinds);
	memset(ctx, 0, sizeof(*ctx));
}

/* Sets r->message like printf; see probe_kinds.h. */
void fl_probe_msg(struct fl_probe_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* url without its user information, cut to fit; see probe_kinds.h. */
char *fl_probe_url_text(const char *url, char *out, size_t n)
{
	const char *host = strstr(url, "://");
	const char *at, *end;

	if (!host) {
		snprintf(out, n, "%.200s", url);
		return out;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (!at) {
		snprintf(out, n, "%.200s", url);
		return out;
	}
	snprintf(out, n, "%.*s%.200s", (int)(host - url), url, at + 1);
	return out;
}

/* Whether url is an http or https URL; see probe_kinds.h. */
int fl_probe_url_ok(const char *url)
{
	const char *p;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return 0;
	if (!*p || *p == '/')
		return 0;
	for (; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	}
	return 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fl_probe_fetch *f = arg;
	size_t len = size * nmemb;

	if (!f->keep_body)
		return len;
	if (fl_buf_add(&f->resp, p, len) < 0) {
		f->too_large = 1;
		return 0; /* ends the transfer */
	}
	return len;
}

/* Why a transfer failed, in our words. */
static void transfer_error(CURLcode rc, const struct fl_probe_fetch *f,
			   char *err, size_t n)
{
	const char *s;
	size_t i;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		snprintf(err, n, "cannot connect");
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, n, "cannot resolve the host");
		return;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, n, "timed out after %lld ms",
			 (long long)f->timeout_ms);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(err, n, "the server's tls certificate is not trusted");
		return;
	case CURLE_GOT_NOTHING:
		snprintf(err, n,
			 "the server closed the connection without "
			 "an answer");
		return;
	default:
		break;
	}
	s = curl_easy_strerror(rc);
	snprintf(err, n, "transfer failed: %s", s);
	/* curl's text starts with a capital; ours is lowercase. */
	i = strlen("transfer failed: ");
	if (i < n && err[i])
		err[i] = (char)tolower((unsigned char)err[i]);
}

/* The request's headers as a curl list; NULL when there are none. */
static struct curl_slist *header_list(struct json_object *headers)
{
	struct curl_slist *list = NULL;

	if (!json_object_is_type(headers, json_type_object))
		return NULL;
	json_object_object_foreach(headers, key, val)
	{
		char *line =
			fl_asprintf("%s: %s", key, json_object_get_string(val));
		struct curl_slist *next = curl_slist_append(list, line);

		free(line);
		if (!next)
			abort();
		list = next;
	}
	return list;
}

/* Sets the method and the request body on c. */
static void set_method(CURL *c, const struct fl_probe_fetch *f)
{
	const char *m = f->method ? f->method : "GET";

	if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	if (f->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(f->body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, f->body);
		if (strcmp(m, "GET") == 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
	}
}

/* Sends one request; see probe_kinds.h. */
int fl_probe_fetch(struct fl_probe_ctx *ctx, struct fl_probe_fetch *f,
		   char *err, size_t n)
{
	struct curl_slist *headers = NULL;
	int64_t start;
	CURLcode rc;
	CURL *c;
	int ret = -1;

	fl_buf_init(&f->resp, ctx->max_body);
	f->status = 0;
	f->latency_ms = 0;
	f->too_large = 0;
	pthread_once(&curl_once, curl_init);
	if (!ctx->curl)
		ctx->curl = curl_easy_init();
	c = ctx->curl;
	if (!c) {
		snprintf(err, n, "cannot start an http client");
		return -1;
	}
	/* A reset keeps the connection cache: probes reuse connections. */
	curl_easy_reset(c);
	headers = header_list(f->headers);
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "faultline-probe");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	set_method(c, f);

	start = now_ms();
	rc = curl_easy_perform(c);
	f->latency_ms = now_ms() - start;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && f->too_large))
		ret = 0;
	else
		transfer_error(rc, f, err, n);
	if (ret == 0 && f->status == 0) {
		snprintf(err, n, "no http status in the answer");
		ret = -1;
	}
	/* The list must outlive the transfer, and nothing after it. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	return ret;
}

/* -- validation and dispatch ------------------------------------------ */

/* Validates p's kind-independent parts, then its kind's. */
int fl_probe_validate(const struct fl_probe *p, char *err, size_t n)
{
	const char *name = p->name ? p->name : "(unnamed)";
	char why[400];
	int rc;

	if (!p->name || !*p->name) {
		snprintf(err, n, "probe: name is missing");
		return -1;
	}
	if ((unsigned)p->kind >= FL_PROBE_KIND_COUNT) {
		snprintf(err, n,
			 "probe '%s': set exactly one of http, prometheus, "
			 "kubernetes, cloudwatch",
			 name);
		return -1;
	}
	if (!json_object_is_type(p->params, json_type_object)) {
		snprintf(err, n, "probe '%s': %s must be an object", name,
			 fl_probe_kind_names[p->kind]);
		return -1;
	}
	if (p->timeout_ms <= 0 || p->timeout_ms > 24 * 3600 * 1000) {
		snprintf(err, n,
			 "probe '%s': timeout must be above 0 and at "
			 "most 24h",
			 name);
		return -1;
	}
	if (p->success_threshold < 1 || p->failure_threshold < 1) {
		snprintf(err, n,
			 "probe '%s': successThreshold and failureThreshold "
			 "must be at least 1",
			 name);
		return -1;
	}
	switch (p->kind) {
	case FL_PROBE_HTTP:
		rc = fl_probe_http_validate(p->params, why, sizeof(why));
		break;
	case FL_PROBE_PROMETHEUS:
		rc = fl_probe_prom_validate(p->params, why, sizeof(why));
		break;
	case FL_PROBE_KUBERNETES:
		rc = fl_probe_kube_validate(p->params, why, sizeof(why));
		break;
	case FL_PROBE_CLOUDWATCH:
		rc = fl_probe_cw_validate(p->params, why, sizeof(why));
		break;
	default:
		snprintf(why, sizeof(why), "unknown probe kind");
		rc = -1;
		break;
	}
	if (rc < 0)
		snprintf(err, n, "probe '%s': %s", name, why);
	return rc;
}

/* Takes one sample; see probe.h. */
int fl_probe_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
		    struct fl_probe_result *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (fl_probe_validate(p, out->message, sizeof(out->message)) < 0) {
		out->invalid = 1;
		return -1;
	}
	switch (p->kind) {
	case FL_PROBE_HTTP:
		rc = fl_probe_http_sample(p, ctx, out);
		break;
	case FL_PROBE_PROMETHEUS:
		rc = fl_probe_prom_sample(p, ctx, out);
		break;
	case FL_PROBE_CLOUDWATCH:
		rc = fl_probe_cw_sample(p, ctx, out);
		break;
	default:
		rc = fl_probe_kube_sample(p, ctx, out);
		break;
	}
	if (rc < 0) {
		out->invalid = 1;
		out->passed = 0;
	}
	return rc;
}

/* -- verdict over samples --------------------------------------------- */

/* Starts an empty history; see probe.h. */
void fl_probe_state_init(struct fl_probe_state *s, const struct fl_probe *p)
{
	memset(s, 0, sizeof(*s));
	s->success_threshold = p ? p->success_threshold : 1;
	s->failure_threshold = p ? p->failure_threshold : 1;
	if (s->success_threshold < 1)
		s->success_threshold = 1;
	if (s->failure_threshold < 1)
		s->failure_threshold = 1;
}

/* Counts one result into the runs and the verdict. */
static void judge(struct fl_probe_state *s, int passed)
{
	if (passed) {
		s->fail_run = 0;
		if (s->pass_run < RUN_MAX)
			s->pass_run++;
		if (s->pass_run >= s->success_threshold)
			s->verdict = FL_PROBE_HOLDS;
	} else {
		s->pass_run = 0;
		if (s->fail_run < RUN_MAX)
			s->fail_run++;
		if (s->fail_run >= s->failure_threshold)
			s->verdict = FL_PROBE_FAILS;
	}
}

/* Appends one character, cutting the oldest samples when full. */
static void timeline_add(struct fl_probe_state *s, char c)
{
	char *t = s->timeline;

	if (s->timeline_len == FL_PROBE_TIMELINE_MAX) {
		/* Make room for the mark and the new sample: without a mark
		 * yet, two samples go; with one, one does. */
		s->dropped += t[0] == FL_PROBE_TIMELINE_CUT ? 1 : 2;
		memmove(t + 1, t + 2, FL_PROBE_TIMELINE_MAX - 2);
		t[0] = FL_PROBE_TIMELINE_CUT;
		s->timeline_len = FL_PROBE_TIMELINE_MAX - 1;
	}
	t[s->timeline_len++] = c;
	t[s->timeline_len] = '\0';
}

/* Adds one sample; see probe.h. */
enum fl_probe_verdict fl_probe_state_add(struct fl_probe_state *s, int passed,
					 const char *message)
{
	s->samples++;
	if (passed)
		s->passed++;
	else
		snprintf(s->last_error, sizeof(s->last_error), "%s",
			 message ? message : "");
	judge(s, passed);
	timeline_add(s, passed ? '+' : '-');
	return s->verdict;
}

/* Rebuilds a history from status; see probe.h. */
int fl_probe_state_restore(struct fl_probe_state *s, int64_t samples,
			   int64_t passed, const char *timeline)
{
	size_t len = strlen(timeline), i, cut, plus = 0;
	int64_t visible, dropped;

	cut = len > 0 && timeline[0] == FL_PROBE_TIMELINE_CUT;
	if (len > FL_PROBE_TIMELINE_MAX)
		return -1;
	for (i = cut; i < len; i++) {
		if (timeline[i] != '+' && timeline[i] != '-')
			return -1;
		plus += timeline[i] == '+';
	}
	visible = (int64_t)(len - cut);
	dropped = samples - visible;
	if (dropped < 0 || (dropped > 0) != (cut == 1) || passed < 0 ||
	    passed < (int64_t)plus || passed - (int64_t)plus > dropped)
		return -1;
	s->samples = samples;
	s->passed = passed;
	s->dropped = dropped;
	s->verdict = FL_PROBE_UNKNOWN;
	s->pass_run = s->fail_run = 0;
	for (i = cut; i < len; i++)
		judge(s, timeline[i] == '+');
	memcpy(s->timeline, timeline, len + 1);
	s->timeline_len = len;
	s->last_error[0] = '\0';
	return 0;
}

/* The verdict's name in status; see probe.h. */
const char *fl_probe_verdict_name(enum fl_probe_verdict v)
{
	switch (v) {
	case FL_PROBE_HOLDS:
		return "Passed";
	case FL_PROBE_FAILS:
		return "Failed";
	default:
		return "Unknown";
	}
}
