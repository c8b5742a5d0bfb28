/*
 * SigV4 against AWS's own test suite, which sits beside the checkout in
 * shared/testdata/aws-sigv4 (FL_SHARED names the shared folder; without
 * it, $FL_REPO/../shared).  Every case folder, nested ones included, is
 * signed and its canonical request, string to sign and Authorization
 * header compared with the suite's files.  Then the parts the suite does
 * not reach: session tokens, UNSIGNED-PAYLOAD, S3 paths, size limits and
 * refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "aws_sigv4.h"
#include "buf.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define WHEN 1440938160 /* 20150830T123600Z */

/*
 * The suite holds 34 cases.  Fewer found means the data went missing or
 * the walk broke, which must fail rather than pass on what is left.
 */
#define SUITE_MIN_CASES 34
#define MAX_CASES 256
#define MAX_REQ_HEADERS 32
#define MAX_FILE (1024 * 1024)

/*
 * What a case needs beyond its .req file.  The suite gives the session
 * token only in the signed request (.sreq), and whether it is signed
 * only in its readme: post-sts-header-after adds it after signing.
 */
static const struct case_context {
	const char *name;
	unsigned flags; /* FL_SIGV4_* */
} contexts[] = {
	{"get-vanilla-with-session-token", 0},
	{"post-sts-header-after", FL_SIGV4_TOKEN_AFTER},
};

/* A .req file cut up in place. */
struct http_req {
	struct fl_buf text; /* the file; the strings below point into it */
	char *method;
	char *path;
	char *query; /* NULL when the target has no '?' */
	struct fl_sigv4_header h[MAX_REQ_HEADERS];
	size_t nh;
	const char *body;
	size_t body_len;
};

static const struct fl_sigv4_creds creds = {AKID, SECRET, NULL};
static const struct fl_sigv4_header host[] = {
	{"Host", "example.amazonaws.com"},
};

static int read_file(const char *path, struct fl_buf *b)
{
	char chunk[4096];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	fl_buf_init(b, MAX_FILE);
	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fl_buf_add(b, chunk, n) < 0)
			rc = -1;
	fclose(f);
	if (!b->data)
		fl_buf_add(b, "", 0);
	return rc;
}

/* Cuts the request line "METHOD TARGET HTTP/1.1" at line. */
static int parse_request_line(struct http_req *r, char *line)
{
	char *sp = strchr(line, ' '), *ver = strrchr(line, ' ');
	char *q;

	/* The target may hold spaces (normalize-path/get-space): it runs
	 * from the first space to the last. */
	if (!sp || ver == sp || strncmp(ver, " HTTP/", 6))
		return -1;
	*sp = '\0';
	*ver = '\0';
	r->method = line;
	r->path = sp + 1;
	q = strchr(r->path, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	}
	return 0;
}

/*
 * Parses the headers from p to end.  A line that starts with a space or
 * tab continues the previous header; the value keeps the line break and
 * the padding, which the signer must fold.  An empty line starts the body.
 */
static int parse_headers(struct http_req *r, char *p, char *end)
{
	char *vend[MAX_REQ_HEADERS];
	size_t i;

	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		char *colon;

		eol = eol ? eol : end;
		if (eol == p) {
			r->body = p + 1;
			r->body_len = (size_t)(end - r->body);
			break;
		}
		if (*p != ' ' && *p != '\t') {
			colon = memchr(p, ':', (size_t)(eol - p));
			if (!colon || r->nh == MAX_REQ_HEADERS)
				return -1;
			*colon = '\0';
			r->h[r->nh].name = p;
			r->h[r->nh++].value = colon + 1;
		} else if (!r->nh) {
			return -1;
		}
		vend[r->nh - 1] = eol;
		p = eol < end ? eol + 1 : end;
	}
	for (i = 0; i < r->nh; i++)
		*vend[i] = '\0';
	return 0;
}

static int parse_req(const char *path, struct http_req *r)
{
	char *start, *end, *eol;

	memset(r, 0, sizeof(*r));
	r->body = "";
	if (read_file(path, &r->text) < 0)
		return -1;
	start = r->text.data;
	end = start + r->text.len;
	eol = memchr(start, '\n', r->text.len);
	eol = eol ? eol : end;
	*eol = '\0';
	if (parse_request_line(r, start) < 0)
		return -1;
	return parse_headers(r, eol < end ? eol + 1 : end, end);
}

/* The value of header name in the .sreq file at path, copied to out. */
static int sreq_header(const char *path, const char *name, char *out, size_t n)
{
	struct http_req r;
	size_t i;
	int rc = -1;

	if (parse_req(path, &r) == 0) {
		for (i = 0; i < r.nh; i++) {
			if (!strcasecmp(r.h[i].name, name)) {
				snprintf(out, n, "%s", r.h[i].value);
				rc = 0;
			}
		}
	}
	fl_buf_release(&r.text);
	return rc;
}

static const struct case_context *context_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++)
		if (!strcmp(contexts[i].name, name))
			return &contexts[i];
	return NULL;
}

/* Compares got with the suite's file dir/name.ext; prints a difference. */
static int same_as_file(const char *dir, const char *name, const char *ext,
			const char *got)
{
	char path[1024];
	struct fl_buf want;
	int same;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	if (read_file(path, &want) < 0) {
		print_error("%s: cannot read %s\n", name, path);
		fl_buf_release(&want);
		return 0;
	}
	same = !strcmp(want.data, got);
	if (!same)
		print_error("%s: .%s differs\n--- want\n%s\n--- got\n%s\n",
			    name, ext, want.data, got);
	fl_buf_release(&want);
	return same;
}

/* Signs one case; returns 1 when every stage matches the suite. */
static int check_case(const char *dir, const char *name)
{
	const struct case_context *ctx = context_of(name);
	struct fl_sigv4_params params = {"us-east-1", "service", WHEN, 0};
	struct fl_sigv4_creds c = creds;
	struct fl_sigv4_request req = {0};
	struct fl_sigv4_result res;
	struct http_req r;
	char path[1024], token[2048];
	int ok = 0;

	snprintf(path, sizeof(path), "%s/%s.req", dir, name);
	if (parse_req(path, &r) < 0) {
		print_error("%s: cannot parse %s\n", name, path);
		goto out;
	}
	if (ctx) {
		snprintf(path, sizeof(path), "%s/%s.sreq", dir, name);
		if (sreq_header(path, "X-Amz-Security-Token", token,
				sizeof(token)) < 0) {
			print_error("%s: no token in %s\n", name, path);
			goto out;
		}
		c.session_token = token;
		params.flags = ctx->flags;
	}

	req.method = r.method;
	req.path = r.path;
	req.query = r.query;
	req.headers = r.h;
	req.nheaders = r.nh;
	req.payload = r.body;
	req.payload_len = r.body_len;
	if (fl_sigv4_sign(&req, &c, &params, &res) < 0) {
		print_error("%s: %s\n", name, res.err);
		goto out;
	}
	ok = same_as_file(dir, name, "creq", res.creq) &
	     same_as_file(dir, name, "sts", res.sts) &
	     same_as_file(dir, name, "authz", res.authorization);
	/* The request already carries X-Amz-Date: only the token (signed
	 * or not, it is not in the .req) and Authorization remain. */
	if (res.nadd != (ctx ? 2u : 1u) ||
	    (ctx && strcmp(res.add[0].value, token)) ||
	    strcmp(res.add[res.nadd - 1].name, "Authorization")) {
		print_error("%s: wrong headers to add\n", name);
		ok = 0;
	}
	fl_sigv4_result_release(&res);
out:
	fl_buf_release(&r.text);
	return ok;
}

static int is_case_dir(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s.req", dir, name) >=
	    (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Collects every folder under dir that holds NAME/NAME.req. */
static void find_cases(const char *dir, char **cases, size_t *n, int depth)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d))) {
		char sub[1024];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(sub))
			fail_msg("path too long under %s", dir);
		if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (is_case_dir(sub, de->d_name)) {
			assert_true(*n < MAX_CASES);
			cases[(*n)++] = fl_strdup(sub);
		} else if (depth < 4) {
			find_cases(sub, cases, n, depth + 1);
		}
	}
	closedir(d);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void suite_dir(char *out, size_t n)
{
	const char *shared = getenv("FL_SHARED"), *repo = getenv("FL_REPO");

	if (shared && shared[0])
		snprintf(out, n, "%s/testdata/aws-sigv4", shared);
	else if (repo && repo[0])
		snprintf(out, n, "%s/../shared/testdata/aws-sigv4", repo);
	else
		fail_msg("set FL_REPO (the checkout) or FL_SHARED");
}

static void test_aws_suite(void **state)
{
	char dir[1024], *cases[MAX_CASES];
	size_t n = 0, i, passed = 0;

	(void)state;
	suite_dir(dir, sizeof(dir));
	find_cases(dir, cases, &n, 0);
	qsort(cases, n, sizeof(cases[0]), str_cmp);
	for (i = 0; i < n; i++) {
		const char *name = strrchr(cases[i], '/') + 1;

		passed += check_case(cases[i], name);
		free(cases[i]);
	}
	print_message("aws-sigv4 suite: %zu cases, %zu match\n", n, passed);
	assert_int_equal(passed, n);
	assert_true(passed >= SUITE_MIN_CASES);
}

/* Signs GET / on example.amazonaws.com with extra headers and flags. */
static int sign_get(const struct fl_sigv4_creds *c,
		    const struct fl_sigv4_request *base, unsigned flags,
		    struct fl_sigv4_result *res)
{
	struct fl_sigv4_params params = {"us-east-1", "service", WHEN, flags};
	struct fl_sigv4_request req = {"GET", "/", NULL, host, 1};

	if (base)
		req = *base;
	return fl_sigv4_sign(&req, c, &params, res);
}

/* The header the caller is told to add under name, or NULL. */
static const char *to_add(const struct fl_sigv4_result *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->nadd; i++)
		if (!strcmp(res->add[i].name, name))
			return res->add[i].value;
	return NULL;
}

static void test_session_token(void **state)
{
	struct fl_sigv4_creds c = {AKID, SECRET, "tok/en+=="};
	struct fl_sigv4_result res;

	(void)state;
	assert_int_equal(sign_get(&c, NULL, 0, &res), 0);
	assert_non_null(strstr(res.creq, "\nx-amz-security-token:tok/en+==\n"));
	assert_non_null(strstr(res.creq, "\nhost;x-amz-date;x-amz-security-"
					 "token\n"));
	assert_non_null(strstr(res.authorization,
			       "SignedHeaders=host;x-amz-date;x-amz-security-"
			       "token, "));
	assert_string_equal(to_add(&res, "X-Amz-Date"), "20150830T123600Z");
	assert_string_equal(to_add(&res, "X-Amz-Security-Token"), "tok/en+==");
	assert_string_equal(res.add[res.nadd - 1].name, "Authorization");
	assert_string_equal(res.add[res.nadd - 1].value, res.authorization);
	fl_sigv4_result_release(&res);

	/* Added after signing: sent, but not part of the signature. */
	assert_int_equal(sign_get(&c, NULL, FL_SIGV4_TOKEN_AFTER, &res), 0);
	assert_null(strstr(res.creq, "x-amz-security-token"));
	assert_string_equal(to_add(&res, "X-Amz-Security-Token"), "tok/en+==");
	fl_sigv4_result_release(&res);
}

static void test_unsigned_payload(void **state)
{
	struct fl_sigv4_request req = {"PUT", "/bucket/key", NULL, host, 1};
	struct fl_sigv4_result res;

	(void)state;
	req.payload = "ignored";
	req.payload_len = 7;
	req.payload_hash = FL_SIGV4_UNSIGNED_PAYLOAD;
	assert_int_equal(sign_get(&creds, &req, FL_SIGV4_CONTENT_SHA256, &res),
			 0);
	assert_non_null(strstr(res.creq, "\nhost;x-amz-content-sha256;"
					 "x-amz-date\nUNSIGNED-PAYLOAD"));
	assert_non_null(
		strstr(res.creq, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	assert_string_equal(to_add(&res, "X-Amz-Content-Sha256"),
			    "UNSIGNED-PAYLOAD");
	fl_sigv4_result_release(&res);

	/* Without the flag the hash is signed but no header is added. */
	assert_int_equal(sign_get(&creds, &req, 0, &res), 0);
	assert_non_null(
		strstr(res.creq, "\nhost;x-amz-date\nUNSIGNED-PAYLOAD"));
	assert_null(to_add(&res, "X-Amz-Content-Sha256"));
	fl_sigv4_result_release(&res);

	req.payload_hash = "not a hash";
	assert_int_equal(sign_get(&creds, &req, 0, &res), -1);
	assert_non_null(strstr(res.err, "payload hash"));
}

static void test_secret_changes_signature(void **state)
{
	struct fl_sigv4_creds c = creds;
	struct fl_sigv4_result a, b;
	char other[] = SECRET;

	(void)state;
	other[sizeof(other) - 2] = 'X';
	assert_int_equal(sign_get(&creds, NULL, 0, &a), 0);
	assert_int_equal(sign_get(&creds, NULL, 0, &b), 0);
	assert_string_equal(a.signature, b.signature);
	fl_sigv4_result_release(&b);

	c.secret_key = other;
	assert_int_equal(sign_get(&c, NULL, 0, &b), 0);
	assert_string_equal(a.sts, b.sts);
	assert_string_not_equal(a.signature, b.signature);
	fl_sigv4_result_release(&a);
	fl_sigv4_result_release(&b);
}

static void expect_refused(const struct fl_sigv4_request *req, const char *why)
{
	struct fl_sigv4_result res;

	assert_int_equal(sign_get(&creds, req, 0, &res), -1);
	if (!strstr(res.err, why))
		fail_msg("error '%s' does not say '%s'", res.err, why);
	assert_null(res.creq);
	assert_int_equal(res.nadd, 0);
	fl_sigv4_result_release(&res);
}

static void test_oversized_refused(void **state)
{
	struct fl_sigv4_header h[FL_SIGV4_MAX_HEADERS + 1];
	struct fl_sigv4_request req = {"GET", "/", NULL, h, 2};
	char *big = fl_malloc(FL_SIGV4_MAX_TEXT + 2);
	size_t i;

	(void)state;
	memset(big, 'a', FL_SIGV4_MAX_TEXT + 1);
	big[FL_SIGV4_MAX_TEXT + 1] = '\0';
	h[0] = host[0];

	/* One value past the limit. */
	h[1].name = "X-Big";
	h[1].value = big;
	expect_refused(&req, "header value exceeds");

	/* Many values each within it, together past it. */
	big[FL_SIGV4_MAX_TEXT / 64] = '\0';
	for (i = 1; i < 80; i++) {
		h[i].name = "X-Many";
		h[i].value = big;
	}
	req.nheaders = 80;
	expect_refused(&req, "canonical request exceeds");

	for (i = 1; i <= FL_SIGV4_MAX_HEADERS; i++) {
		h[i].name = "X-Many";
		h[i].value = "v";
	}
	req.nheaders = FL_SIGV4_MAX_HEADERS + 1;
	expect_refused(&req, "more than");

	/* A query that triples in size when encoded. */
	memset(big, '\xe1', FL_SIGV4_MAX_TEXT / 2);
	big[FL_SIGV4_MAX_TEXT / 2] = '\0';
	req.nheaders = 1;
	req.query = big;
	expect_refused(&req, "exceeds");

	memset(big, '&', FL_SIGV4_MAX_PARAMS + 1);
	big[FL_SIGV4_MAX_PARAMS + 1] = '\0';
	expect_refused(&req, "query parameters");
	free(big);
}

static void test_refusals(void **state)
{
	struct fl_sigv4_header h[] = {
		{"Host", "example.amazonaws.com"},
		{"X-Amz-Date", "20150830T123601Z"},
	};
	struct fl_sigv4_request req = {"GET", "/", NULL, h + 1, 1};

	(void)state;
	expect_refused(&req, "no host header");
	req.headers = h;
	req.nheaders = 2;
	expect_refused(&req, "disagrees");
	h[1].name = "X Amz Date";
	expect_refused(&req, "bad header name");
	h[1].name = "X-Evil";
	h[1].value = "a\001b";
	expect_refused(&req, "control character");
}

static void test_paths(void **state)
{
	struct fl_sigv4_request req = {"GET", "//a/./b/../c%20d//", NULL, host,
				       1};
	struct fl_sigv4_result res;

	(void)state;
	/* Other services: normalized, and the encoded path encoded again. */
	assert_int_equal(sign_get(&creds, &req, 0, &res), 0);
	assert_memory_equal(res.creq, "GET\n/a/c%2520d/\n", 16);
	fl_sigv4_result_release(&res);

	/* S3: exactly as sent. */
	assert_int_equal(sign_get(&creds, &req, FL_SIGV4_S3_PATH, &res), 0);
	assert_memory_equal(res.creq, "GET\n//a/./b/../c%20d//\n", 23);
	fl_sigv4_result_release(&res);

	req.path = "";
	req.query = "b=%7e&a&&c=x+y&a=%zz";
	assert_int_equal(sign_get(&creds, &req, 0, &res), 0);
	assert_memory_equal(res.creq, "GET\n/\na=&a=%25zz&b=~&c=x%2By\n", 29);
	fl_sigv4_result_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_suite),
		cmocka_unit_test(test_session_token),
		cmocka_unit_test(test_unsigned_payload),
		cmocka_unit_test(test_secret_changes_signature),
		cmocka_unit_test(test_oversized_refused),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
