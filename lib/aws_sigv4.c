/*
 * AWS Signature Version 4.
 *
 * The steps follow AWS's description of the algorithm: a canonical request
 * (method, canonical path, canonical query, canonical headers, signed
 * header names, payload hash), a string to sign that names the algorithm,
 * time, scope and the canonical request's hash, and an HMAC-SHA256 chain
 * from the secret key through date, region and service to the signature.
 * All text is built in bounded buffers (struct fl_buf with a maximum).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alloc.h"
#include "aws_sigv4.h"
#include "buf.h"

#define SHA256_LEN 32
#define HEX_LEN (2 * SHA256_LEN)

/* One request header, prepared for the canonical form. */
struct hdr {
	char *name;   /* lowercased; owned */
	char *value;  /* trimmed, inner whitespace collapsed; owned */
	size_t order; /* position in the request: duplicates keep it */
};

/* One query parameter, both parts already in canonical encoding. */
struct param {
	char *name;  /* owned */
	char *value; /* owned; "" when the parameter had no '=' */
};

/* The state of one signing. */
struct signer {
	const struct fl_sigv4_request *req;
	const struct fl_sigv4_creds *creds;
	const struct fl_sigv4_params *params;
	struct fl_sigv4_result *res;
	struct hdr *hdrs; /* request headers plus the ones we add */
	size_t nhdrs;
	char date[9];			/* "20150830" */
	char payload_hash[HEX_LEN + 1]; /* hex digest or a literal marker */
	struct fl_buf scope;		/* date/region/service/aws4_request */
	struct fl_buf signed_names;	/* "host;x-amz-date" */
};

static int fail(struct fl_sigv4_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct fl_sigv4_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->err, sizeof(res->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int too_long(struct fl_sigv4_result *res, const char *what)
{
	return fail(res, "cannot sign request: %s exceeds %d bytes", what,
		    FL_SIGV4_MAX_TEXT);
}

/* RFC 3986 unreserved characters, the only ones left unencoded. */
static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* RFC 9110 token characters, which header names and methods consist of. */
static int is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Appends byte c, percent-encoded unless it is unreserved (or a '/' that
 * keep_slash keeps). */
static int add_encoded_byte(struct fl_buf *b, unsigned char c, int keep_slash)
{
	if (is_unreserved(c) || (keep_slash && c == '/'))
		return fl_buf_addc(b, (char)c);
	return fl_buf_addf(b, "%%%02X", c);
}

static int add_encoded(struct fl_buf *b, const char *s, size_t n,
		       int keep_slash)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (add_encoded_byte(b, (unsigned char)s[i], keep_slash) < 0)
			return -1;
	return 0;
}

/*
 * Appends s with its percent-escapes decoded and the result encoded again,
 * so that "%e1%88%b4", "%E1%88%B4" and the raw UTF-8 bytes all give the
 * same canonical text.  A '%' not followed by two hex digits is a literal
 * percent sign.  '+' stays a literal plus: AWS reads it that way.
 */
static int add_reencoded(struct fl_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
		    hex_value(s[i + 2]) >= 0) {
			c = (unsigned char)(hex_value(s[i + 1]) * 16 +
					    hex_value(s[i + 2]));
			i += 2;
		}
		if (add_encoded_byte(b, c, 0) < 0)
			return -1;
	}
	return 0;
}

static int sha256_hex(const void *p, size_t n, char out[HEX_LEN + 1])
{
	unsigned char md[SHA256_LEN];
	unsigned int mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != SHA256_LEN)
		return -1;
	to_hex(md, SHA256_LEN, out);
	return 0;
}

static int hmac(const void *key, size_t keylen, const char *msg,
		unsigned char out[SHA256_LEN])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
		  strlen(msg), out, &outlen) ||
	    outlen != SHA256_LEN)
		return -1;
	return 0;
}

/* Remembers a header the caller must add; the value is copied. */
static void add_for_caller(struct fl_sigv4_result *res, const char *name,
			   const char *value)
{
	res->add[res->nadd].name = name;
	res->add[res->nadd].value = fl_strdup(value);
	res->nadd++;
}

/*
 * The canonical path for every service but S3: dot segments and empty
 * segments removed (RFC 3986 section 5.2.4, plus collapsed slashes), a
 * trailing slash kept, and each segment encoded once more.  Encoding the
 * already-encoded path again is what AWS specifies outside S3.
 */
static int add_normalized_path(struct fl_buf *b, const char *path)
{
	size_t n = strlen(path), nseg = 0, i, cap = 1;
	const char **seg;
	size_t *seglen;
	const char *p = path, *end = path + n;
	int trailing = 0, rc = -1;

	for (i = 0; i < n; i++)
		cap += path[i] == '/';
	seg = fl_calloc(cap, sizeof(*seg));
	seglen = fl_calloc(cap, sizeof(*seglen));

	while (p <= end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = (slash ? slash : end) - p;

		trailing = len == 0 || (len == 1 && p[0] == '.') ||
			   (len == 2 && p[0] == '.' && p[1] == '.');
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
		} else if (!trailing) {
			seg[nseg] = p;
			seglen[nseg++] = len;
		}
		p += len + 1;
	}

	for (i = 0; i < nseg; i++)
		if (fl_buf_addc(b, '/') < 0 ||
		    add_encoded(b, seg[i], seglen[i], 0) < 0)
			goto out;
	if ((nseg == 0 || trailing) && fl_buf_addc(b, '/') < 0)
		goto out;
	rc = 0;
out:
	free(seg);
	free(seglen);
	return rc;
}

static int add_canonical_path(struct signer *s, struct fl_buf *b)
{
	const char *path = s->req->path ? s->req->path : "";

	if (strlen(path) > FL_SIGV4_MAX_TEXT)
		return too_long(s->res, "path");
	if (s->params->flags & FL_SIGV4_S3_PATH) {
		if (fl_buf_adds(b, path[0] ? path : "/") < 0)
			return too_long(s->res, "canonical request");
		return 0;
	}
	if (add_normalized_path(b, path) < 0)
		return too_long(s->res, "canonical request");
	return 0;
}

static int param_cmp(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Canonically encodes s[0..n) into a new string; NULL when too long. */
static char *reencode(const char *s, size_t n)
{
	struct fl_buf b;

	fl_buf_init(&b, FL_SIGV4_MAX_TEXT);
	if (add_reencoded(&b, s, n) < 0) {
		fl_buf_release(&b);
		return NULL;
	}
	return fl_buf_detach(&b, NULL);
}

/* Splits the raw query into params (empty pieces, as in "a=1&&b=2", are
 * dropped); returns how many, or -1 when one is too long. */
static int split_query(const char *q, struct param *params)
{
	int n = 0;

	while (*q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;

		if (len) {
			struct param *p = &params[n++];

			p->name = reencode(q, nlen);
			p->value = eq ? reencode(eq + 1, len - nlen - 1)
				      : fl_strdup("");
			if (!p->name || !p->value)
				return -1;
		}
		q += len + (q[len] == '&');
	}
	return n;
}

static void free_params(struct param *params, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

/* The canonical query: parameters sorted by encoded name, then value. */
static int add_canonical_query(struct signer *s, struct fl_buf *b)
{
	const char *q = s->req->query ? s->req->query : "";
	size_t cap = 1, i;
	struct param *params;
	int n, rc = -1;

	if (strlen(q) > FL_SIGV4_MAX_TEXT)
		return too_long(s->res, "query string");
	for (i = 0; q[i]; i++)
		cap += q[i] == '&';
	if (cap > FL_SIGV4_MAX_PARAMS)
		return fail(s->res,
			    "cannot sign request: more than %d query "
			    "parameters",
			    FL_SIGV4_MAX_PARAMS);

	params = fl_calloc(cap, sizeof(*params));
	n = split_query(q, params);
	if (n < 0) {
		too_long(s->res, "query parameter");
		goto out;
	}
	qsort(params, (size_t)n, sizeof(*params), param_cmp);
	for (i = 0; i < (size_t)n; i++) {
		if (fl_buf_addf(b, "%s%s=%s", i ? "&" : "", params[i].name,
				params[i].value) < 0) {
			too_long(s->res, "canonical request");
			goto out;
		}
	}
	rc = 0;
out:
	free_params(params, cap);
	return rc;
}

/* Copies a header value with the ends trimmed and each inner run of
 * whitespace (folded lines included) made one space. */
static char *trim_value(const char *v)
{
	char *out = fl_malloc(strlen(v) + 1), *o = out;

	while (is_space(*v))
		v++;
	while (*v) {
		if (is_space(*v)) {
			while (is_space(*v))
				v++;
			if (*v)
				*o++ = ' ';
			continue;
		}
		*o++ = *v++;
	}
	*o = '\0';
	return out;
}

static int check_header(struct signer *s, const struct fl_sigv4_header *h)
{
	const char *c;

	if (!h->name || !h->name[0] || !h->value)
		return fail(s->res, "cannot sign request: empty header");
	if (strlen(h->name) > FL_SIGV4_MAX_TEXT)
		return too_long(s->res, "header name");
	if (strlen(h->value) > FL_SIGV4_MAX_TEXT)
		return too_long(s->res, "header value");
	for (c = h->name; *c; c++)
		if (!is_tchar((unsigned char)*c))
			return fail(s->res,
				    "cannot sign request: bad header name "
				    "'%.64s'",
				    h->name);
	for (c = h->value; *c; c++)
		if (((unsigned char)*c < 0x20 && !is_space(*c)) || *c == 0x7f)
			return fail(s->res,
				    "cannot sign request: control character "
				    "in header '%.64s'",
				    h->name);
	return 0;
}

static void push_header(struct signer *s, const char *name, const char *value)
{
	struct hdr *h = &s->hdrs[s->nhdrs];
	char *c;

	h->name = fl_strdup(name);
	for (c = h->name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	h->value = trim_value(value);
	h->order = s->nhdrs++;
}

/* Index of the first header named name (lowercase), or -1. */
static long find_header(const struct signer *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nhdrs; i++)
		if (!strcmp(s->hdrs[i].name, name))
			return (long)i;
	return -1;
}

/*
 * Makes sure header name carries value: adds it (and tells the caller to
 * send it) when the request lacks it; refuses a request whose own copy
 * says something else, since the server would see both.
 */
static int ensure_header(struct signer *s, const char *name,
			 const char *wire_name, const char *value)
{
	size_t i;

	if (find_header(s, name) < 0) {
		push_header(s, name, value);
		add_for_caller(s->res, wire_name, value);
		return 0;
	}
	for (i = 0; i < s->nhdrs; i++)
		if (!strcmp(s->hdrs[i].name, name) &&
		    strcmp(s->hdrs[i].value, value))
			return fail(s->res,
				    "cannot sign request: header %s "
				    "'%.64s' disagrees with '%.64s'",
				    name, s->hdrs[i].value, value);
	return 0;
}

/* Adds the headers SigV4 itself needs: date, token, content hash. */
static int add_sigv4_headers(struct signer *s)
{
	const char *token = s->creds->session_token;
	unsigned flags = s->params->flags;

	if (ensure_header(s, "x-amz-date", "X-Amz-Date", s->res->amz_date) < 0)
		return -1;
	if (token && token[0] && (flags & FL_SIGV4_TOKEN_AFTER)) {
		if (find_header(s, "x-amz-security-token") >= 0)
			return fail(s->res,
				    "cannot sign request: it carries "
				    "x-amz-security-token, which is to be "
				    "added after signing");
		add_for_caller(s->res, "X-Amz-Security-Token", token);
	} else if (token && token[0] &&
		   ensure_header(s, "x-amz-security-token",
				 "X-Amz-Security-Token", token) < 0) {
		return -1;
	}
	if ((flags & FL_SIGV4_CONTENT_SHA256) &&
	    ensure_header(s, "x-amz-content-sha256", "X-Amz-Content-Sha256",
			  s->payload_hash) < 0)
		return -1;
	return 0;
}

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Copies, checks and sorts the headers into s->hdrs. */
static int collect_headers(struct signer *s)
{
	const struct fl_sigv4_request *req = s->req;
	size_t i;

	if (req->nheaders > FL_SIGV4_MAX_HEADERS)
		return fail(s->res, "cannot sign request: more than %d headers",
			    FL_SIGV4_MAX_HEADERS);
	s->hdrs = fl_calloc(req->nheaders + 3, sizeof(*s->hdrs));
	for (i = 0; i < req->nheaders; i++) {
		if (check_header(s, &req->headers[i]) < 0)
			return -1;
		push_header(s, req->headers[i].name, req->headers[i].value);
	}
	if (find_header(s, "host") < 0)
		return fail(s->res, "cannot sign request: no host header");
	if (add_sigv4_headers(s) < 0)
		return -1;
	qsort(s->hdrs, s->nhdrs, sizeof(*s->hdrs), hdr_cmp);
	return 0;
}

/* Appends "name:v1,v2\n" per header name, and lists the names in
 * s->signed_names. */
static int add_canonical_headers(struct signer *s, struct fl_buf *b)
{
	size_t i;
	int r = 0;

	for (i = 0; i < s->nhdrs && r == 0; i++) {
		const struct hdr *h = &s->hdrs[i];
		int first = i == 0 || strcmp(h->name, s->hdrs[i - 1].name);
		int last = i + 1 == s->nhdrs ||
			   strcmp(h->name, s->hdrs[i + 1].name);

		if (first) {
			r |= fl_buf_addf(b, "%s:", h->name);
			r |= fl_buf_addf(&s->signed_names, "%s%s", i ? ";" : "",
					 h->name);
		} else {
			r |= fl_buf_addc(b, ',');
		}
		r |= fl_buf_adds(b, h->value);
		if (last)
			r |= fl_buf_addc(b, '\n');
	}
	if (r)
		return too_long(s->res, "canonical request");
	return 0;
}

/* Checks a caller's payload hash, or hashes the payload. */
static int set_payload_hash(struct signer *s)
{
	const char *h = s->req->payload_hash;
	size_t i, n;

	if (!h) {
		const void *p = s->req->payload ? s->req->payload : "";

		if (sha256_hex(p, s->req->payload_len, s->payload_hash) < 0)
			return fail(s->res, "cannot hash payload");
		return 0;
	}

	/* A hex digest, or a marker like UNSIGNED-PAYLOAD. */
	n = strlen(h);
	if (n == 0 || n > HEX_LEN)
		return fail(s->res, "cannot sign request: bad payload hash");
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'Z') || c == '-'))
			return fail(s->res,
				    "cannot sign request: bad payload hash");
	}
	memcpy(s->payload_hash, h, n + 1);
	return 0;
}

static int build_creq(struct signer *s)
{
	struct fl_buf b;
	int rc = -1;

	/* Steps that fail for their own reason say so in res->err; a bare
	 * append can only fail by passing the maximum. */
	fl_buf_init(&b, FL_SIGV4_MAX_TEXT);
	if (fl_buf_addf(&b, "%s\n", s->req->method) < 0 ||
	    add_canonical_path(s, &b) < 0 || fl_buf_addc(&b, '\n') < 0 ||
	    add_canonical_query(s, &b) < 0 || fl_buf_addc(&b, '\n') < 0 ||
	    add_canonical_headers(s, &b) < 0 ||
	    fl_buf_addf(&b, "\n%s\n%s", s->signed_names.data, s->payload_hash) <
		    0)
		goto out;
	s->res->creq = fl_buf_detach(&b, NULL);
	rc = 0;
out:
	if (rc < 0 && !s->res->err[0])
		too_long(s->res, "canonical request");
	fl_buf_release(&b);
	return rc;
}

static int build_sts(struct signer *s)
{
	char hash[HEX_LEN + 1];
	struct fl_buf b;

	if (sha256_hex(s->res->creq, strlen(s->res->creq), hash) < 0)
		return fail(s->res, "cannot hash canonical request");
	fl_buf_init(&b, 0);
	fl_buf_addf(&b, "%s\n%s\n%s\n%s", FL_SIGV4_ALGORITHM, s->res->amz_date,
		    s->scope.data, hash);
	s->res->sts = fl_buf_detach(&b, NULL);
	return 0;
}

/* signature = HMAC(HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region),
 * service), "aws4_request"), string to sign), the keys wiped after use. */
static int compute_signature(struct signer *s)
{
	const char *steps[] = {s->date, s->params->region, s->params->service,
			       "aws4_request", s->res->sts};
	size_t seclen = strlen(s->creds->secret_key), i;
	size_t keylen = seclen + 4;
	size_t keycap = keylen > SHA256_LEN ? keylen : SHA256_LEN;
	unsigned char *key = fl_malloc(keycap), mac[SHA256_LEN];
	int rc = -1;

	/* Each step's MAC is the next step's key. */
	memcpy(key, "AWS4", 4);
	memcpy(key + 4, s->creds->secret_key, seclen);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (hmac(key, keylen, steps[i], mac) < 0)
			goto out;
		memcpy(key, mac, SHA256_LEN);
		keylen = SHA256_LEN;
	}
	to_hex(mac, SHA256_LEN, s->res->signature);
	rc = 0;
out:
	OPENSSL_cleanse(key, keycap);
	OPENSSL_cleanse(mac, sizeof(mac));
	free(key);
	return rc < 0 ? fail(s->res, "cannot compute hmac-sha256") : 0;
}

static int build_authorization(struct signer *s)
{
	struct fl_buf b;

	fl_buf_init(&b, 0);
	fl_buf_addf(&b, "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		    FL_SIGV4_ALGORITHM, s->creds->access_key_id, s->scope.data,
		    s->signed_names.data, s->res->signature);
	s->res->authorization = fl_buf_detach(&b, NULL);
	add_for_caller(s->res, "Authorization", s->res->authorization);
	return 0;
}

/* Whether s can sit in a credential scope: no separators or spaces. */
static int scope_safe(const char *s)
{
	if (!s || !s[0] || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || *s == ',' ||
		    *s == ';' || *s == '=' || *s == 0x7f)
			return 0;
	return 1;
}

static int check_inputs(struct signer *s)
{
	const struct fl_sigv4_params *p = s->params;
	const char *m = s->req->method;

	if (!m || !m[0] || strlen(m) > 32)
		return fail(s->res, "cannot sign request: bad method");
	for (; *m; m++)
		if (!is_tchar((unsigned char)*m))
			return fail(s->res, "cannot sign request: bad method");
	if (!scope_safe(p->region))
		return fail(s->res, "cannot sign request: bad region");
	if (!scope_safe(p->service))
		return fail(s->res, "cannot sign request: bad service");
	if (!scope_safe(s->creds->access_key_id))
		return fail(s->res, "cannot sign request: bad access key id");
	if (!s->creds->secret_key || !s->creds->secret_key[0] ||
	    strlen(s->creds->secret_key) > 1024)
		return fail(s->res, "cannot sign request: bad secret key");
	if (s->creds->session_token &&
	    strlen(s->creds->session_token) > FL_SIGV4_MAX_TEXT)
		return too_long(s->res, "session token");
	return 0;
}

/* Fills amz_date, date and the credential scope from the signing time. */
static int set_time(struct signer *s)
{
	struct tm tm;

	if (!gmtime_r(&s->params->when, &tm) ||
	    strftime(s->res->amz_date, sizeof(s->res->amz_date),
		     "%Y%m%dT%H%M%SZ", &tm) != 16)
		return fail(s->res, "cannot sign request: bad signing time");
	memcpy(s->date, s->res->amz_date, 8);
	s->date[8] = '\0';
	fl_buf_addf(&s->scope, "%s/%s/%s/aws4_request", s->date,
		    s->params->region, s->params->service);
	return 0;
}

static void signer_release(struct signer *s)
{
	size_t i;

	for (i = 0; i < s->nhdrs; i++) {
		free(s->hdrs[i].name);
		free(s->hdrs[i].value);
	}
	free(s->hdrs);
	fl_buf_release(&s->scope);
	fl_buf_release(&s->signed_names);
}

int fl_sigv4_sign(const struct fl_sigv4_request *req,
		  const struct fl_sigv4_creds *creds,
		  const struct fl_sigv4_params *params,
		  struct fl_sigv4_result *res)
{
	struct signer s = {req, creds, params, res};
	int rc = -1;

	memset(res, 0, sizeof(*res));
	fl_buf_init(&s.scope, 0);
	fl_buf_init(&s.signed_names, FL_SIGV4_MAX_TEXT);

	if (check_inputs(&s) < 0 || set_time(&s) < 0 ||
	    set_payload_hash(&s) < 0 || collect_headers(&s) < 0 ||
	    build_creq(&s) < 0 || build_sts(&s) < 0 ||
	    compute_signature(&s) < 0 || build_authorization(&s) < 0)
		goto out;
	rc = 0;
out:
	signer_release(&s);
	if (rc < 0) {
		char err[sizeof(res->err)];

		memcpy(err, res->err, sizeof(err));
		fl_sigv4_result_release(res);
		memcpy(res->err, err, sizeof(err));
	}
	return rc;
}

void fl_sigv4_result_release(struct fl_sigv4_result *res)
{
	size_t i;

	free(res->creq);
	free(res->sts);
	free(res->authorization);
	for (i = 0; i < res->nadd; i++)
		free((char *)res->add[i].value);
	memset(res, 0, sizeof(*res));
}
