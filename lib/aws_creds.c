/*
 * The credential chain, in the AWS SDKs' order:
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      AWS_SESSION_TOKEN;
 *   2. web identity (IRSA): AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN
 *      (and AWS_ROLE_SESSION_NAME), exchanged at STS by an unsigned
 *      AssumeRoleWithWebIdentity;
 *   3. the profile in the shared files: keys, or role_arn with
 *      web_identity_token_file;
 *   4. the container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on
 *      169.254.170.2 (ECS), or AWS_CONTAINER_CREDENTIALS_FULL_URI with the
 *      token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN (EKS Pod Identity);
 *   5. the instance metadata service, IMDSv2 only (a session token first),
 *      unless AWS_EC2_METADATA_DISABLED is true.
 *
 * A source that is not configured passes to the next; a source that is
 * configured but fails ends the walk with its error, as the SDKs do, so
 * that a broken IRSA set-up is not hidden by the node's own role.
 * Temporary credentials are fetched again FL_AWS_REFRESH_S before they
 * expire; when that fails and the old ones have not expired yet, the old
 * ones are kept.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "aws_impl.h"
#include "json.h"

#define TOKEN_FILE_MAX (64 << 10)
#define CRED_BODY_MAX (64 << 10)
#define CONTAINER_TIMEOUT_MS 5000
#define IMDS_TIMEOUT_MS 2000
#define IMDS_DEFAULT "http://169.254.169.254"

/* What a source reports: credentials, nothing configured, or failure. */
enum { SRC_FAILED = -1, SRC_NONE = 0, SRC_FOUND = 1 };

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Frees the strings of c and zeroes it. */
void fl_aws_creds_release(struct fl_aws_creds *c)
{
	if (!c)
		return;
	free(c->access_key_id);
	free(c->secret_key);
	free(c->session_token);
	memset(c, 0, sizeof(*c));
}

static void creds_set(struct fl_aws_creds *c, const char *key,
		      const char *secret, const char *token, time_t exp,
		      const char *source)
{
	c->access_key_id = fl_strdup(key);
	c->secret_key = fl_strdup(secret);
	c->session_token = token && *token ? fl_strdup(token) : NULL;
	c->expiration = exp;
	c->source = source;
}

static void fail(struct fl_aws_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct fl_aws_error *err, const char *fmt, ...)
{
	char msg[sizeof(err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fl_aws_err_set(err, "aws", "credentials", 0, "CredentialsError", "%s",
		       msg);
}

/* -- time --------------------------------------------------------------- */

/* Parses an ISO 8601 UTC time (see aws_impl.h). */
int fl_aws_parse_time(const char *s, time_t *t)
{
	struct tm tm = {0};
	int n = 0;
	const char *p;

	if (!s ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 &&
	    strcmp(p, "+0000") != 0)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

/* Formats t as ISO 8601 UTC. */
void fl_aws_format_time(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "1970-01-01T00:00:00Z");
}

/* -- files -------------------------------------------------------------- */

/* Reads a token file, trimmed; -1 with msg when it cannot be read, is
 * empty or is too large. */
static int read_token(const char *path, char **out, char *msg, size_t n)
{
	FILE *f = fopen(path, "r");
	struct fl_buf b;
	char chunk[4096];
	size_t got;
	int rc = -1;

	fl_buf_init(&b, TOKEN_FILE_MAX);
	if (!f) {
		snprintf(msg, n, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fl_buf_add(&b, chunk, got) < 0) {
			snprintf(msg, n, "'%s' is larger than %d bytes", path,
				 TOKEN_FILE_MAX);
			goto out;
		}
	while (b.len && isspace((unsigned char)b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	if (b.len == 0 || strlen(b.data) != b.len || strpbrk(b.data, "\r\n")) {
		snprintf(msg, n,
			 "'%s' holds no token (empty, or more than "
			 "one line)",
			 path);
		goto out;
	}
	*out = fl_buf_detach(&b, NULL);
	rc = 0;
out:
	if (f)
		fclose(f);
	fl_buf_release(&b);
	return rc;
}

/* -- sources ------------------------------------------------------------ */

static int from_env(fl_aws *a, struct fl_aws_creds *c, struct fl_aws_error *err)
{
	const char *key = env("AWS_ACCESS_KEY_ID");
	const char *secret = env("AWS_SECRET_ACCESS_KEY");

	(void)a;
	if (!key && !secret)
		return SRC_NONE;
	if (!key || !secret) {
		fail(err, "%s is set but %s is not",
		     key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		     key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return SRC_FAILED;
	}
	creds_set(c, key, secret, env("AWS_SESSION_TOKEN"), 0, "environment");
	return SRC_FOUND;
}

static int web_identity(fl_aws *a, const char *role, const char *file,
			const char *session, struct fl_aws_creds *c,
			struct fl_aws_error *err)
{
	char *token = NULL, msg[512], name[64];
	struct fl_aws_error sts;
	int rc = SRC_FAILED;

	if (read_token(file, &token, msg, sizeof(msg)) < 0) {
		fail(err, "web identity: %s", msg);
		goto out;
	}
	if (!session) {
		snprintf(name, sizeof(name), "faultline-%lld",
			 (long long)time(NULL));
		session = name;
	}
	if (fl_aws_sts_assume_role_with_web_identity(a, role, session, token, c,
						     &sts) < 0) {
		*err = sts;
		fail(err, "web identity for role '%s': %s", role, sts.text);
		/* Keep what STS said, so that callers can act on it. */
		err->status = sts.status;
		snprintf(err->request_id, sizeof(err->request_id), "%s",
			 sts.request_id);
		goto out;
	}
	rc = SRC_FOUND;
out:
	free(token);
	return rc;
}

static int from_web_identity_env(fl_aws *a, struct fl_aws_creds *c,
				 struct fl_aws_error *err)
{
	const char *file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = env("AWS_ROLE_ARN");

	if (!file || !role)
		return SRC_NONE;
	return web_identity(a, role, file, env("AWS_ROLE_SESSION_NAME"), c,
			    err);
}

static int from_profile(fl_aws *a, struct fl_aws_creds *c,
			struct fl_aws_error *err)
{
	struct fl_aws_profile p;
	char msg[512];
	int rc = SRC_NONE;

	if (fl_aws_profile_load(&p, a->profile_name, a->config_file,
				a->creds_file, msg, sizeof(msg)) < 0) {
		fail(err, "%s", msg);
		return SRC_FAILED;
	}
	if (p.access_key_id && p.secret_key) {
		creds_set(c, p.access_key_id, p.secret_key, p.session_token, 0,
			  "profile");
		rc = SRC_FOUND;
	} else if (p.access_key_id || p.secret_key) {
		fail(err,
		     "profile '%s' has only one of aws_access_key_id "
		     "and aws_secret_access_key",
		     a->profile_name);
		rc = SRC_FAILED;
	} else if (p.role_arn && p.web_identity_token_file) {
		rc = web_identity(a, p.role_arn, p.web_identity_token_file,
				  p.role_session_name, c, err);
	} else if (p.role_arn || p.credential_process) {
		/* TODO: assuming a role from source_profile and running a
		 * credential_process are not implemented; the operator runs
		 * with IRSA, Pod Identity or an instance role instead. */
		fail(err,
		     "profile '%s' uses %s, which faultline does not "
		     "support",
		     a->profile_name,
		     p.role_arn ? "role_arn with source_profile"
				: "credential_process");
		rc = SRC_FAILED;
	}
	fl_aws_profile_release(&p);
	return rc;
}

/* Reads {AccessKeyId, SecretAccessKey, Token, Expiration} (the container
 * and IMDS answers). */
static int parse_cred_json(const struct fl_buf *b, const char *source,
			   struct fl_aws_creds *c, char *msg, size_t n)
{
	struct json_object *o = NULL;
	const char *key, *secret, *exp, *code;
	time_t t = 0;
	int rc = -1;

	if (b->data && b->len < 0x7fffffff)
		o = json_tokener_parse(b->data);
	key = fl_json_str(o, "AccessKeyId");
	secret = fl_json_str(o, "SecretAccessKey");
	exp = fl_json_str(o, "Expiration");
	code = fl_json_str(o, "Code");
	if (code && strcmp(code, "Success") != 0) {
		snprintf(msg, n, "the answer says %s: %s", code,
			 fl_json_str(o, "Message") ? fl_json_str(o, "Message")
						   : "");
		goto out;
	}
	if (!key || !secret || !*key || !*secret) {
		snprintf(msg, n,
			 "the answer has no AccessKeyId and "
			 "SecretAccessKey");
		goto out;
	}
	if (exp && fl_aws_parse_time(exp, &t) < 0) {
		snprintf(msg, n,
			 "the answer's Expiration '%.64s' is not a "
			 "time",
			 exp);
		goto out;
	}
	creds_set(c, key, secret, fl_json_str(o, "Token"), t, source);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Whether a FULL_URI may be used: https, or http to a loopback address
 * or the ECS and EKS agents' link-local addresses. */
static int full_uri_ok(const char *url)
{
	static const char *const hosts[] = {"127.0.0.1",      "localhost",
					    "[::1]",	      "169.254.170.2",
					    "169.254.170.23", "[fd00:ec2::23]"};
	size_t i, len;

	if (strncmp(url, "https://", 8) == 0)
		return 1;
	if (strncmp(url, "http://", 7) != 0)
		return 0;
	url += 7;
	len = strcspn(url, "/?#");
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		size_t hl = strlen(hosts[i]);

		if (len >= hl && strncmp(url, hosts[i], hl) == 0 &&
		    (len == hl || url[hl] == ':'))
			return 1;
	}
	/* Anything else in 127.0.0.0/8. */
	return strncmp(url, "127.", 4) == 0;
}

static int container_token(char **out, struct fl_aws_error *err)
{
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char msg[512];

	*out = NULL;
	if (file) {
		if (read_token(file, out, msg, sizeof(msg)) < 0) {
			fail(err, "container credentials: %s", msg);
			return -1;
		}
	} else if (tok) {
		if (strpbrk(tok, "\r\n")) {
			fail(err, "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a "
				  "line break");
			return -1;
		}
		*out = fl_strdup(tok);
	}
	return 0;
}

static int from_container(fl_aws *a, struct fl_aws_creds *c,
			  struct fl_aws_error *err)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	char *url = NULL, *token = NULL, *auth = NULL, msg[768];
	const char *hdrs[2] = {NULL, NULL};
	struct fl_aws_http r = {.method = "GET",
				.timeout_ms = CONTAINER_TIMEOUT_MS};
	struct fl_buf b;
	long status;
	int rc = SRC_FAILED;

	if (!rel && !full)
		return SRC_NONE;
	fl_buf_init(&b, CRED_BODY_MAX);
	if (rel) {
		url = fl_asprintf("http://169.254.170.2%s%s",
				  rel[0] == '/' ? "" : "/", rel);
	} else if (!full_uri_ok(full)) {
		fail(err,
		     "AWS_CONTAINER_CREDENTIALS_FULL_URI '%s' is neither "
		     "https nor a loopback or container agent address",
		     full);
		goto out;
	} else {
		url = fl_strdup(full);
	}
	if (container_token(&token, err) < 0)
		goto out;
	if (token) {
		auth = fl_asprintf("Authorization: %s", token);
		hdrs[0] = auth;
	}
	r.url = url;
	r.headers = hdrs;
	if (fl_aws_http(a, &r, &status, &b, msg, sizeof(msg)) < 0) {
		fail(err, "container credentials: %s", msg);
		goto out;
	}
	if (status != 200) {
		fail(err, "container credentials: %s answered %ld", url,
		     status);
		err->status = status;
		goto out;
	}
	if (parse_cred_json(&b, "container", c, msg, sizeof(msg)) < 0) {
		fail(err, "container credentials from %s: %s", url, msg);
		goto out;
	}
	rc = SRC_FOUND;
out:
	fl_buf_release(&b);
	free(url);
	free(token);
	free(auth);
	return rc;
}

/* One IMDS request; -1 on a transport failure (msg set). */
static int imds_get(fl_aws *a, const char *method, const char *url,
		    const char *header, long *status, struct fl_buf *b,
		    char *msg, size_t n)
{
	const char *hdrs[2] = {header, NULL};
	struct fl_aws_http r = {.method = method,
				.url = url,
				.headers = hdrs,
				.timeout_ms = IMDS_TIMEOUT_MS};

	return fl_aws_http(a, &r, status, b, msg, n);
}

/* What IMDS calls need: the service's base URL and a session header. */
struct imds {
	char *base; /* without a trailing '/' */
	char *hdr;  /* "X-aws-ec2-metadata-token: ..." once there is one */
	struct fl_buf b;
};

/* IMDSv2's first step, PUT a session token.  SRC_NONE when no service
 * answers (not on EC2). */
static int imds_session(fl_aws *a, struct imds *m, struct fl_aws_error *err)
{
	char *url = fl_asprintf("%s/latest/api/token", m->base), msg[768];
	long status;
	int rc = SRC_FAILED;

	if (imds_get(a, "PUT", url,
		     "X-aws-ec2-metadata-token-ttl-seconds: 21600", &status,
		     &m->b, msg, sizeof(msg)) < 0) {
		rc = SRC_NONE;
		goto out;
	}
	if (status != 200 || !m->b.len || strlen(m->b.data) != m->b.len ||
	    strpbrk(m->b.data, "\r\n")) {
		fail(err, "imds: %s answered %ld to the token request", url,
		     status);
		goto out;
	}
	m->hdr = fl_asprintf("X-aws-ec2-metadata-token: %s", m->b.data);
	rc = SRC_FOUND;
out:
	free(url);
	return rc;
}

/* The instance's role name.  SRC_NONE for an instance without one. */
static int imds_role(fl_aws *a, struct imds *m, char *role, size_t n,
		     struct fl_aws_error *err)
{
	char *url = fl_asprintf("%s/latest/meta-data/iam/security-credentials/",
				m->base),
	     msg[768];
	long status;
	int rc = SRC_FAILED;

	if (imds_get(a, "GET", url, m->hdr, &status, &m->b, msg, sizeof(msg)) <
	    0) {
		fail(err, "imds: %s", msg);
		goto out;
	}
	if (status == 404) {
		rc = SRC_NONE;
		goto out;
	}
	snprintf(role, n, "%.*s",
		 m->b.data ? (int)strcspn(m->b.data, "\r\n") : 0,
		 m->b.data ? m->b.data : "");
	if (status != 200 || !role[0] || strchr(role, '/')) {
		fail(err, "imds: %s answered %ld without a role name", url,
		     status);
		goto out;
	}
	rc = SRC_FOUND;
out:
	free(url);
	return rc;
}

static int from_imds(fl_aws *a, struct fl_aws_creds *c,
		     struct fl_aws_error *err)
{
	const char *dis = env("AWS_EC2_METADATA_DISABLED");
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct imds m = {0};
	char *url = NULL, role[256], msg[768];
	long status;
	int rc;

	if (dis && strcasecmp(dis, "true") == 0)
		return SRC_NONE;
	m.base = fl_strdup(base ? base : IMDS_DEFAULT);
	while (*m.base && m.base[strlen(m.base) - 1] == '/')
		m.base[strlen(m.base) - 1] = '\0';
	fl_buf_init(&m.b, CRED_BODY_MAX);
	rc = imds_session(a, &m, err);
	if (rc == SRC_FOUND)
		rc = imds_role(a, &m, role, sizeof(role), err);
	if (rc != SRC_FOUND)
		goto out;
	rc = SRC_FAILED;
	url = fl_asprintf("%s/latest/meta-data/iam/security-credentials/%s",
			  m.base, role);
	if (imds_get(a, "GET", url, m.hdr, &status, &m.b, msg, sizeof(msg)) <
	    0) {
		fail(err, "imds: credentials of role '%s': %s", role, msg);
		goto out;
	}
	if (status != 200) {
		fail(err, "imds: credentials of role '%s': %s answered %ld",
		     role, url, status);
		goto out;
	}
	if (parse_cred_json(&m.b, "imds", c, msg, sizeof(msg)) < 0) {
		fail(err, "imds: credentials of role '%s': %s", role, msg);
		goto out;
	}
	rc = SRC_FOUND;
out:
	fl_buf_release(&m.b);
	free(m.base);
	free(m.hdr);
	free(url);
	return rc;
}

/* -- the cache ---------------------------------------------------------- */

typedef int (*source_fn)(fl_aws *, struct fl_aws_creds *,
			 struct fl_aws_error *);

static int walk_chain(fl_aws *a, struct fl_aws_creds *c,
		      struct fl_aws_error *err)
{
	static const source_fn sources[] = {from_env, from_web_identity_env,
					    from_profile, from_container,
					    from_imds};
	size_t i;

	a->fetches++;
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		int r = sources[i](a, c, err);

		if (r == SRC_FOUND)
			return 0;
		if (r == SRC_FAILED) {
			fl_aws_creds_release(c);
			return -1;
		}
	}
	fl_aws_err_set(err, "aws", "credentials", 0, "NoCredentials",
		       "no credentials: none in the environment, web "
		       "identity, profile '%s', the container or instance "
		       "metadata",
		       a->profile_name);
	return -1;
}

/* The cached credentials, refreshed when needed (see aws_impl.h). */
int fl_aws_creds_current(fl_aws *a, const struct fl_aws_creds **out,
			 struct fl_aws_error *err)
{
	struct fl_aws_creds fresh = {0};
	time_t now = time(NULL);

	if (a->creds.access_key_id &&
	    (a->creds.expiration == 0 ||
	     now < a->creds.expiration - FL_AWS_REFRESH_S)) {
		*out = &a->creds;
		return 0;
	}
	if (walk_chain(a, &fresh, err) == 0) {
		fl_aws_creds_release(&a->creds);
		a->creds = fresh;
		*out = &a->creds;
		return 0;
	}
	/* The refresh failed: old credentials serve until they expire. */
	if (a->creds.access_key_id && now < a->creds.expiration) {
		*out = &a->creds;
		return 0;
	}
	return -1;
}

/* Drops the cache. */
void fl_aws_creds_forget(fl_aws *a)
{
	fl_aws_creds_release(&a->creds);
}

/* A copy of the current credentials (see aws.h). */
int fl_aws_creds_get(fl_aws *a, struct fl_aws_creds *out,
		     struct fl_aws_error *err)
{
	const struct fl_aws_creds *c;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (fl_aws_creds_current(a, &c, err) < 0)
		return -1;
	creds_set(out, c->access_key_id, c->secret_key, c->session_token,
		  c->expiration, c->source);
	return 0;
}

/* How often the chain was walked. */
unsigned long fl_aws_creds_fetches(const fl_aws *a)
{
	return a->fetches;
}
