/*
 * The AWS client's core: the service table, region and endpoint
 * resolution, one reused libcurl handle, SigV4 signing of each attempt,
 * and the retry loop shared by the query and JSON protocols.
 *
 * Each attempt is signed anew (the signature covers the time, and the
 * credentials may have been refreshed in between).  A throttling code, a
 * 429, a 5xx other than 501 and a failed transfer are retried, up to
 * opts.max_attempts in all, after a pause with full jitter; anything else
 * is reported at once.  An expired session token is answered by walking
 * the credential chain again, once per call.  Every action this client
 * sends may be repeated safely (terminating, stopping or rebooting an
 * instance or a task twice ends in the same state; a second failover
 * while the first runs is refused by the service), so a transfer that
 * failed after the request went out is retried like any other.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"
#include "aws_impl.h"
#include "aws_sigv4.h"

#define MAX_BODY_DEFAULT (8u << 20)
#define JSON_MAX_DEPTH 64

const struct fl_aws_svc fl_aws_svcs[FL_AWS_NSERVICES] = {
	[FL_AWS_EC2] = {"ec2", "EC2", "ec2", "ec2", "2016-11-15",
			FL_AWS_PROTO_QUERY, NULL},
	[FL_AWS_ECS] = {"ecs", "ECS", "ecs", "ecs", "2014-11-13",
			FL_AWS_PROTO_JSON,
			"AmazonEC2ContainerServiceV20141113"},
	[FL_AWS_RDS] = {"rds", "RDS", "rds", "rds", "2014-10-31",
			FL_AWS_PROTO_QUERY, NULL},
	[FL_AWS_STS] = {"sts", "STS", "sts", "sts", "2011-06-15",
			FL_AWS_PROTO_QUERY, NULL},
	[FL_AWS_CLOUDWATCH] = {"cloudwatch", "CLOUDWATCH", "monitoring",
			       "monitoring", "2010-08-01", FL_AWS_PROTO_QUERY,
			       NULL},
};

/* One call as the retry loop sees it. */
struct call {
	enum fl_aws_service svc;
	const char *action;
	const char *body;
	size_t body_len;
	const char *content_type;
	const char *target; /* X-Amz-Target, or NULL */
	int unsigned_req;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* -- client ------------------------------------------------------------- */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void fill_opts(struct fl_aws_opts *o, const struct fl_aws_opts *in)
{
	if (in)
		*o = *in;
	if (o->max_attempts <= 0)
		o->max_attempts = 5;
	if (o->backoff_base_ms <= 0)
		o->backoff_base_ms = 100;
	if (o->backoff_max_ms <= 0)
		o->backoff_max_ms = 20000;
	if (o->timeout_ms <= 0)
		o->timeout_ms = 30000;
	if (o->max_body == 0)
		o->max_body = MAX_BODY_DEFAULT;
	o->region = o->profile = NULL; /* copied into the client */
}

static int region_ok(const char *r)
{
	size_t i;

	for (i = 0; r[i]; i++)
		if (!islower((unsigned char)r[i]) &&
		    !isdigit((unsigned char)r[i]) && r[i] != '-')
			return 0;
	return i > 0 && i < 64;
}

static char *home_file(const char *var, const char *rel)
{
	const char *v = env(var), *home = env("HOME");

	if (v)
		return fl_strdup(v);
	return home ? fl_asprintf("%s/%s", home, rel) : NULL;
}

/* Region: explicit, AWS_REGION, AWS_DEFAULT_REGION, the profile's. */
static int resolve_region(fl_aws *a, const char *explicit,
			  struct fl_aws_error *err)
{
	struct fl_aws_profile p = {0};
	const char *r = explicit;
	char msg[512];
	int rc = -1;

	if (!r)
		r = env("AWS_REGION");
	if (!r)
		r = env("AWS_DEFAULT_REGION");
	if (!r) {
		if (fl_aws_profile_load(&p, a->profile_name, a->config_file,
					NULL, msg, sizeof(msg)) < 0) {
			fl_aws_err_set(err, "aws", "config", 0,
				       "InvalidParameter", "%s", msg);
			goto out;
		}
		r = p.region;
	}
	if (!r) {
		fl_aws_err_set(err, "aws", "config", 0, "NoRegion",
			       "no region: set AWS_REGION or the region of "
			       "profile '%s'",
			       a->profile_name);
		goto out;
	}
	if (!region_ok(r)) {
		fl_aws_err_set(err, "aws", "config", 0, "InvalidParameter",
			       "region '%s' is not a region name", r);
		goto out;
	}
	a->region = fl_strdup(r);
	rc = 0;
out:
	fl_aws_profile_release(&p);
	return rc;
}

/* Endpoints: AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, else AWS's. */
static int resolve_endpoints(fl_aws *a, struct fl_aws_error *err)
{
	const char *suffix = strncmp(a->region, "cn-", 3) == 0
				     ? "amazonaws.com.cn"
				     : "amazonaws.com";
	int i;

	for (i = 0; i < FL_AWS_NSERVICES; i++) {
		const struct fl_aws_svc *s = &fl_aws_svcs[i];
		char var[64];
		const char *v;

		snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", s->env_id);
		v = env(var);
		if (!v) {
			snprintf(var, sizeof(var), "AWS_ENDPOINT_URL");
			v = env(var);
		}
		if (v && strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0) {
			fl_aws_err_set(err, "aws", "config", 0,
				       "InvalidParameter",
				       "%s '%s' is not an http(s) url", var, v);
			return -1;
		}
		a->endpoint[i] = v ? fl_strdup(v)
				   : fl_asprintf("https://%s.%s.%s", s->prefix,
						 a->region, suffix);
	}
	return 0;
}

/* A new client (see aws.h). */
fl_aws *fl_aws_new(const struct fl_aws_opts *opts, struct fl_aws_error *err)
{
	fl_aws *a = fl_calloc(1, sizeof(*a));
	const char *profile = opts ? opts->profile : NULL;

	memset(err, 0, sizeof(*err));
	fill_opts(&a->opts, opts);
	if (!profile)
		profile = env("AWS_PROFILE");
	a->profile_name = fl_strdup(profile ? profile : "default");
	a->config_file = home_file("AWS_CONFIG_FILE", ".aws/config");
	a->creds_file =
		home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	if (resolve_region(a, opts ? opts->region : NULL, err) < 0 ||
	    resolve_endpoints(a, err) < 0)
		goto fail;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || !(a->curl = curl_easy_init())) {
		fl_aws_err_set(err, "aws", "client", 0, "Transport",
			       "cannot initialise libcurl");
		goto fail;
	}
	if (getrandom(&a->rng, sizeof(a->rng), 0) != sizeof(a->rng) ||
	    a->rng == 0)
		a->rng = (uint64_t)time(NULL) * 2654435761u | 1;
	return a;
fail:
	fl_aws_free(a);
	return NULL;
}

/* Frees the client and everything it holds. */
void fl_aws_free(fl_aws *a)
{
	int i;

	if (!a)
		return;
	if (a->curl)
		curl_easy_cleanup(a->curl);
	for (i = 0; i < FL_AWS_NSERVICES; i++)
		free(a->endpoint[i]);
	fl_aws_creds_release(&a->creds);
	free(a->region);
	free(a->profile_name);
	free(a->config_file);
	free(a->creds_file);
	free(a);
}

/* The region in use. */
const char *fl_aws_region(const fl_aws *a)
{
	return a->region;
}

/* The endpoint of svc. */
const char *fl_aws_endpoint(const fl_aws *a, enum fl_aws_service svc)
{
	return svc < FL_AWS_NSERVICES ? a->endpoint[svc] : NULL;
}

/* -- transport ---------------------------------------------------------- */

/* Where an answer's body goes. */
struct sink {
	struct fl_buf *body;
	int too_large; /* body->max was reached */
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (fl_buf_add(s->body, p, n) < 0) {
		s->too_large = 1;
		return 0;
	}
	return n;
}

/* Keeps the request id of the answer (either header spelling). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	static const char *const names[] = {"x-amzn-requestid:",
					    "x-amz-request-id:"};
	fl_aws *a = arg;
	size_t n = size * nmemb, i, nl;

	for (i = 0; i < 2; i++) {
		nl = strlen(names[i]);
		if (n > nl && strncasecmp(p, names[i], nl) == 0) {
			const char *v = p + nl;
			size_t len = n - nl;

			while (len && (*v == ' ' || *v == '\t'))
				v++, len--;
			while (len && isspace((unsigned char)v[len - 1]))
				len--;
			if (len >= sizeof(a->request_id))
				len = sizeof(a->request_id) - 1;
			memcpy(a->request_id, v, len);
			a->request_id[len] = '\0';
		}
	}
	return n;
}

/* Sets what every request on the reused handle needs. */
static void base_options(fl_aws *a, const char *url, long timeout_ms,
			 struct sink *body, struct curl_slist *h)
{
	CURL *c = a->curl;

	curl_easy_reset(c);
	a->errbuf[0] = '\0';
	a->request_id[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "faultline");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
}

static void set_body(CURL *c, const char *method, const char *body, size_t len)
{
	if (body || strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
}

static void transport_msg(fl_aws *a, CURLcode rc, const struct sink *s,
			  const char *url, char *msg, size_t msglen)
{
	if (s->too_large)
		snprintf(msg, msglen, "the answer of %s exceeds %zu bytes", url,
			 s->body->max);
	else
		snprintf(msg, msglen, "cannot reach %s: %s", url,
			 a->errbuf[0] ? a->errbuf : curl_easy_strerror(rc));
}

/* A plain request for the credential endpoints (see aws_impl.h). */
int fl_aws_http(fl_aws *a, const struct fl_aws_http *r, long *status,
		struct fl_buf *body, char *msg, size_t msglen)
{
	struct curl_slist *h = NULL, *t;
	struct sink s = {.body = body};
	size_t i;
	CURLcode rc;

	for (i = 0; r->headers && r->headers[i]; i++) {
		t = curl_slist_append(h, r->headers[i]);
		if (!t)
			abort();
		h = t;
	}
	fl_buf_reset(body);
	base_options(a, r->url, r->timeout_ms, &s, h);
	/* Credential endpoints are local: never through a proxy. */
	curl_easy_setopt(a->curl, CURLOPT_NOPROXY, "*");
	set_body(a->curl, r->method, r->body, r->body ? strlen(r->body) : 0);
	rc = curl_easy_perform(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	*status = 0;
	if (rc != CURLE_OK) {
		transport_msg(a, rc, &s, r->url, msg, msglen);
		return -1;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* -- signed calls ------------------------------------------------------- */

/* The Host header and path of url, as they will be sent. */
static int url_parts(const char *url, char *host, size_t hn, char *path,
		     size_t pn)
{
	CURLU *u = curl_url();
	char *h = NULL, *port = NULL, *p = NULL;
	int rc = -1;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &p, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (port)
		snprintf(host, hn, "%s:%s", h, port);
	else
		snprintf(host, hn, "%s", h);
	snprintf(path, pn, "%s", *p ? p : "/");
	rc = 0;
out:
	curl_free(h);
	curl_free(port);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

static void add_header(struct curl_slist **h, const char *name,
		       const char *value)
{
	char *line = fl_asprintf("%s: %s", name, value);
	struct curl_slist *t = curl_slist_append(*h, line);

	free(line);
	if (!t)
		abort();
	*h = t;
}

/* Signs c with the current credentials and builds its headers. */
static int sign(fl_aws *a, const struct call *c, const char *host,
		const char *path, struct curl_slist **h,
		struct fl_aws_error *err)
{
	const struct fl_aws_svc *s = &fl_aws_svcs[c->svc];
	struct fl_sigv4_header hd[3] = {{"Host", host},
					{"Content-Type", c->content_type},
					{"X-Amz-Target", c->target}};
	struct fl_sigv4_request req = {.method = "POST",
				       .path = path,
				       .query = "",
				       .headers = hd,
				       .nheaders = c->target ? 3 : 2,
				       .payload = c->body,
				       .payload_len = c->body_len};
	struct fl_sigv4_params p = {
		.region = a->region, .service = s->signing, .when = time(NULL)};
	struct fl_sigv4_result res = {0};
	const struct fl_aws_creds *cr;
	struct fl_sigv4_creds sc;
	size_t i;
	int rc = -1;

	for (i = 0; i < req.nheaders; i++)
		add_header(h, hd[i].name, hd[i].value);
	if (c->unsigned_req)
		return 0;
	if (fl_aws_creds_current(a, &cr, err) < 0) {
		snprintf(err->text, sizeof(err->text), "%s %s: %s", s->name,
			 c->action, err->message);
		return -1;
	}
	sc.access_key_id = cr->access_key_id;
	sc.secret_key = cr->secret_key;
	sc.session_token = cr->session_token;
	if (fl_sigv4_sign(&req, &sc, &p, &res) < 0) {
		fl_aws_err_set(err, s->name, c->action, 0, "InvalidParameter",
			       "cannot sign the request: %s", res.err);
		goto out;
	}
	for (i = 0; i < res.nadd; i++)
		add_header(h, res.add[i].name, res.add[i].value);
	rc = 0;
out:
	fl_sigv4_result_release(&res);
	return rc;
}

/* One attempt.  Returns 0 with *status when an answer came; -1 with err
 * filled otherwise, *fatal when trying again cannot help. */
static int attempt(fl_aws *a, const struct call *c, struct fl_buf *body,
		   long *status, int *fatal, struct fl_aws_error *err)
{
	const struct fl_aws_svc *s = &fl_aws_svcs[c->svc];
	const char *url = a->endpoint[c->svc];
	struct curl_slist *h = NULL;
	struct sink sk = {.body = body};
	char host[512], path[1024], msg[768];
	CURLcode cr;
	int rc = -1;

	*status = 0;
	*fatal = 1;
	if (url_parts(url, host, sizeof(host), path, sizeof(path)) < 0) {
		fl_aws_err_set(err, s->name, c->action, 0, "InvalidParameter",
			       "endpoint '%s' is not a url", url);
		goto out;
	}
	if (sign(a, c, host, path, &h, err) < 0)
		goto out;
	add_header(&h, "Expect", "");
	fl_buf_reset(body);
	base_options(a, url, a->opts.timeout_ms, &sk, h);
	set_body(a->curl, "POST", c->body, c->body_len);
	cr = curl_easy_perform(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
	if (cr != CURLE_OK) {
		transport_msg(a, cr, &sk, url, msg, sizeof(msg));
		*fatal = sk.too_large;
		fl_aws_err_set(err, s->name, c->action, 0,
			       *fatal ? "ResponseTooLarge" : "Transport", "%s",
			       msg);
		goto out;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
	rc = 0;
out:
	curl_slist_free_all(h);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int expired_token(const struct fl_aws_error *e)
{
	return strcmp(e->code, "ExpiredToken") == 0 ||
	       strcmp(e->code, "ExpiredTokenException") == 0 ||
	       strcmp(e->code, "RequestExpired") == 0;
}

/* Sends c with retries; on success the answer's body is in *body. */
static int send_call(fl_aws *a, const struct call *c, struct fl_buf *body,
		     struct fl_aws_error *err)
{
	const struct fl_aws_svc *s = &fl_aws_svcs[c->svc];
	int n, sent = 0, renewed = 0, fatal;
	long status;

	for (n = 0;; n++) {
		memset(err, 0, sizeof(*err));
		if (attempt(a, c, body, &status, &fatal, err) == 0) {
			sent++;
			if (status >= 200 && status < 300) {
				err->attempts = sent;
				return 0;
			}
			fl_aws_error_decode(err, status, body->data, body->len,
					    a->request_id);
			fl_aws_err_text(err, s->name, c->action);
			if (expired_token(err) && !renewed &&
			    !c->unsigned_req) {
				renewed = 1;
				fl_aws_creds_forget(a);
				n--;
				continue;
			}
		} else if (fatal) {
			break;
		} else {
			sent++;
		}
		if (!fl_aws_retryable(err) || n + 1 >= a->opts.max_attempts)
			break;
		sleep_ms(fl_aws_backoff_ms(n, a->opts.backoff_base_ms,
					   a->opts.backoff_max_ms, &a->rng));
	}
	err->attempts = sent;
	return -1;
}

/* Appends name=value, percent-encoded. */
int fl_aws_form_add(struct fl_buf *f, const char *name, const char *value)
{
	const char *parts[2] = {name, value};
	size_t before = f->len;
	int i, rc = 0;

	if (f->len)
		rc |= fl_buf_addc(f, '&');
	for (i = 0; i < 2; i++) {
		const unsigned char *p = (const unsigned char *)parts[i];

		if (i)
			rc |= fl_buf_addc(f, '=');
		for (; p && *p; p++) {
			if (isalnum(*p) || strchr("-_.~", *p))
				rc |= fl_buf_addc(f, (char)*p);
			else
				rc |= fl_buf_addf(f, "%%%02X", *p);
		}
	}
	if (rc) {
		f->len = before;
		if (f->data)
			f->data[before] = '\0';
		return -1;
	}
	return 0;
}

/* A query-protocol call (see aws_impl.h). */
int fl_aws_query(fl_aws *a, enum fl_aws_service svc, const char *action,
		 const struct fl_buf *params, int unsigned_req, xmlDoc **out,
		 struct fl_aws_error *err)
{
	const struct fl_aws_svc *s = &fl_aws_svcs[svc];
	struct fl_buf form, body;
	struct call c = {.svc = svc,
			 .action = action,
			 .content_type = "application/x-www-form-urlencoded; "
					 "charset=utf-8",
			 .unsigned_req = unsigned_req};
	int rc = -1;

	*out = NULL;
	fl_buf_init(&form, 0);
	fl_buf_init(&body, a->opts.max_body);
	fl_aws_form_add(&form, "Action", action);
	fl_aws_form_add(&form, "Version", s->version);
	if (params && params->len) {
		fl_buf_addc(&form, '&');
		fl_buf_add(&form, params->data, params->len);
	}
	c.body = form.data;
	c.body_len = form.len;
	if (send_call(a, &c, &body, err) < 0)
		goto out;
	*out = fl_xml_parse(body.data, body.len);
	if (!*out) {
		fl_aws_err_set(err, s->name, action, 200, "InvalidResponse",
			       "the answer is not xml");
		goto out;
	}
	rc = 0;
out:
	fl_buf_release(&form);
	fl_buf_release(&body);
	return rc;
}

/* A JSON 1.1 call (see aws_impl.h). */
int fl_aws_json(fl_aws *a, enum fl_aws_service svc, const char *op,
		struct json_object *in, struct json_object **out,
		struct fl_aws_error *err)
{
	const struct fl_aws_svc *s = &fl_aws_svcs[svc];
	char *target = fl_asprintf("%s.%s", s->target, op);
	const char *text =
		json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN);
	struct call c = {.svc = svc,
			 .action = op,
			 .body = text,
			 .body_len = strlen(text),
			 .content_type = "application/x-amz-json-1.1",
			 .target = target};
	struct json_tokener *tok = NULL;
	struct fl_buf body;
	int rc = -1;

	*out = NULL;
	fl_buf_init(&body, a->opts.max_body);
	if (send_call(a, &c, &body, err) < 0)
		goto out;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		abort();
	if (body.len < 0x7fffffff)
		*out = json_tokener_parse_ex(tok, body.data ? body.data : "",
					     (int)body.len);
	if (!*out || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		fl_aws_err_set(err, s->name, op, 200, "InvalidResponse",
			       "the answer is not a json object");
		goto out;
	}
	rc = 0;
out:
	if (tok)
		json_tokener_free(tok);
	fl_buf_release(&body);
	free(target);
	return rc;
}
