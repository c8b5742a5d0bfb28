/*
 * The AWS client without AWS: the shared config and credentials files
 * (fixtures under tests/data/aws/), the order of the credential chain,
 * region and endpoint resolution, error decoding of both protocols from
 * fixture bodies, retry decisions and backoff bounds, times and form
 * encoding.  The environment is cleared of AWS_* before each test, and
 * instance metadata is turned off, so nothing here leaves the machine;
 * the one request sent goes to a closed port on loopback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws.h"
#include "aws_impl.h"
#include "buf.h"

extern char **environ;

static char *fixture(const char *name)
{
	const char *dir = getenv("FL_TESTDATA");

	return fl_asprintf("%s/aws/%s", dir ? dir : "tests/data", name);
}

static struct fl_buf read_fixture(const char *name)
{
	char *path = fixture(name), chunk[4096];
	FILE *f = fopen(path, "r");
	struct fl_buf b;
	size_t n;

	assert_non_null(f);
	fl_buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(fl_buf_add(&b, chunk, n), 0);
	fclose(f);
	free(path);
	return b;
}

/* Unsets every AWS_* variable, then points the shared files at the
 * fixtures and turns instance metadata off. */
static int clean_env(void **state)
{
	char name[256];
	size_t i;

	(void)state;
	for (i = 0; environ[i];) {
		size_t len = strcspn(environ[i], "=");

		if (strncmp(environ[i], "AWS_", 4) == 0 && len < sizeof(name)) {
			memcpy(name, environ[i], len);
			name[len] = '\0';
			unsetenv(name);
			i = 0;
			continue;
		}
		i++;
	}
	{
		char *cfg = fixture("config"), *cred = fixture("credentials");

		setenv("AWS_CONFIG_FILE", cfg, 1);
		setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
		free(cfg);
		free(cred);
	}
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return 0;
}

/* -- profiles ----------------------------------------------------------- */

static void load(struct fl_aws_profile *p, const char *name)
{
	char *cfg = fixture("config"), *cred = fixture("credentials");
	char err[512];

	assert_int_equal(
		fl_aws_profile_load(p, name, cfg, cred, err, sizeof(err)), 0);
	free(cfg);
	free(cred);
}

static void test_profile_default(void **state)
{
	struct fl_aws_profile p;

	(void)state;
	load(&p, "default");
	assert_true(p.found);
	assert_string_equal(p.region, "eu-west-1");
	assert_string_equal(p.access_key_id, "AKIADEFAULT");
	assert_string_equal(p.secret_key, "default-secret");
	assert_null(p.session_token);
	fl_aws_profile_release(&p);
}

static void test_profile_named(void **state)
{
	struct fl_aws_profile p;

	(void)state;
	load(&p, "dev");
	assert_true(p.found);
	/* "[profile dev]" in config; the bare "[dev]" there is not it, and
	 * a nested "s3 =" block's region is not the profile's. */
	assert_string_equal(p.region, "us-west-2");
	/* The credentials file's "[dev]" wins over the config file, and
	 * its "[profile dev]" is not the profile. */
	assert_string_equal(p.access_key_id, "AKIACREDSDEV");
	assert_string_equal(p.secret_key, "creds-secret");
	assert_string_equal(p.session_token, "creds-token");
	fl_aws_profile_release(&p);
}

static void test_profile_web_identity(void **state)
{
	struct fl_aws_profile p;

	(void)state;
	load(&p, "irsa");
	assert_string_equal(p.role_arn, "arn:aws:iam::123456789012:role/chaos");
	assert_string_equal(p.web_identity_token_file,
			    "/var/run/secrets/eks/token");
	assert_string_equal(p.role_session_name, "faultline");
	assert_null(p.access_key_id);
	fl_aws_profile_release(&p);
}

static void test_profile_missing(void **state)
{
	struct fl_aws_profile p;
	char err[256];

	(void)state;
	load(&p, "nosuch");
	assert_false(p.found);
	assert_null(p.region);
	fl_aws_profile_release(&p);
	/* Files that do not exist are no error. */
	assert_int_equal(fl_aws_profile_load(&p, "default", "/nonexistent/c",
					     "/nonexistent/k", err,
					     sizeof(err)),
			 0);
	assert_false(p.found);
	fl_aws_profile_release(&p);
}

static void test_profile_malformed(void **state)
{
	struct fl_aws_profile p;
	char *bad = fixture("config-malformed"), err[512];

	(void)state;
	assert_int_equal(
		fl_aws_profile_load(&p, "default", bad, NULL, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "config-malformed:3:"));
	assert_non_null(strstr(err, "key = value"));
	assert_null(p.region);
	free(bad);
	bad = fixture("config-unclosed");
	assert_int_equal(
		fl_aws_profile_load(&p, "dev", bad, NULL, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "config-unclosed:1:"));
	free(bad);
}

/* -- region and endpoints ----------------------------------------------- */

static fl_aws *client(const char *region)
{
	struct fl_aws_opts o = {.region = region};
	struct fl_aws_error err;
	fl_aws *a = fl_aws_new(&o, &err);

	if (!a)
		fail_msg("fl_aws_new: %s", err.text);
	return a;
}

static void test_region_order(void **state)
{
	fl_aws *a;

	(void)state;
	/* The default profile's region, last. */
	a = client(NULL);
	assert_string_equal(fl_aws_region(a), "eu-west-1");
	fl_aws_free(a);
	setenv("AWS_PROFILE", "dev", 1);
	a = client(NULL);
	assert_string_equal(fl_aws_region(a), "us-west-2");
	fl_aws_free(a);
	setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
	a = client(NULL);
	assert_string_equal(fl_aws_region(a), "ca-central-1");
	fl_aws_free(a);
	setenv("AWS_REGION", "sa-east-1", 1);
	a = client(NULL);
	assert_string_equal(fl_aws_region(a), "sa-east-1");
	fl_aws_free(a);
	a = client("ap-northeast-1");
	assert_string_equal(fl_aws_region(a), "ap-northeast-1");
	fl_aws_free(a);
}

static void test_region_errors(void **state)
{
	struct fl_aws_opts o = {.region = "us east 1"};
	struct fl_aws_error err;

	(void)state;
	assert_null(fl_aws_new(&o, &err));
	assert_string_equal(err.code, "InvalidParameter");
	assert_non_null(strstr(err.message, "'us east 1'"));
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	assert_null(fl_aws_new(NULL, &err));
	assert_string_equal(err.code, "NoRegion");
	assert_non_null(strstr(err.message, "'default'"));
}

static void test_endpoints(void **state)
{
	struct fl_aws_error err;
	fl_aws *a;

	(void)state;
	a = client("us-east-1");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_EC2),
			    "https://ec2.us-east-1.amazonaws.com");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_CLOUDWATCH),
			    "https://monitoring.us-east-1.amazonaws.com");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_ECS),
			    "https://ecs.us-east-1.amazonaws.com");
	fl_aws_free(a);
	a = client("cn-north-1");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_RDS),
			    "https://rds.cn-north-1.amazonaws.com.cn");
	fl_aws_free(a);

	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000", 1);
	setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5001", 1);
	setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:5002", 1);
	a = client("us-east-1");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_EC2),
			    "http://127.0.0.1:5001");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_CLOUDWATCH),
			    "http://127.0.0.1:5002");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_STS),
			    "http://127.0.0.1:5000");
	assert_string_equal(fl_aws_endpoint(a, FL_AWS_ECS),
			    "http://127.0.0.1:5000");
	fl_aws_free(a);

	setenv("AWS_ENDPOINT_URL_ECS", "ftp://127.0.0.1/", 1);
	assert_null(
		fl_aws_new(&(struct fl_aws_opts){.region = "us-east-1"}, &err));
	assert_string_equal(err.code, "InvalidParameter");
	assert_non_null(strstr(err.message, "AWS_ENDPOINT_URL_ECS"));
}

/* -- the credential chain ----------------------------------------------- */

static int creds(struct fl_aws_creds *c, struct fl_aws_error *err)
{
	fl_aws *a = client("us-east-1");
	int rc = fl_aws_creds_get(a, c, err);

	fl_aws_free(a);
	return rc;
}

static void test_chain_env_first(void **state)
{
	struct fl_aws_creds c;
	struct fl_aws_error err;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	setenv("AWS_SESSION_TOKEN", "env-token", 1);
	/* Web identity is configured too, with a token file that does not
	 * exist: the environment's keys come first and it is not tried. */
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", 1);
	assert_int_equal(creds(&c, &err), 0);
	assert_string_equal(c.source, "environment");
	assert_string_equal(c.access_key_id, "AKIAENV");
	assert_string_equal(c.secret_key, "env-secret");
	assert_string_equal(c.session_token, "env-token");
	assert_int_equal(c.expiration, 0);
	fl_aws_creds_release(&c);
}

static void test_chain_env_half(void **state)
{
	struct fl_aws_creds c;
	struct fl_aws_error err;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	assert_int_equal(creds(&c, &err), -1);
	assert_string_equal(err.code, "CredentialsError");
	assert_non_null(strstr(err.message, "AWS_SECRET_ACCESS_KEY"));
}

static void test_chain_web_identity_before_profile(void **state)
{
	struct fl_aws_creds c;
	struct fl_aws_error err;

	(void)state;
	/* The default profile has keys; web identity, configured and
	 * broken, is tried before it and its error is reported. */
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", 1);
	assert_int_equal(creds(&c, &err), -1);
	assert_string_equal(err.code, "CredentialsError");
	assert_non_null(strstr(err.message, "web identity"));
	assert_non_null(strstr(err.message, "/nonexistent/token"));
	/* Only half of web identity is no configuration at all. */
	unsetenv("AWS_ROLE_ARN");
	assert_int_equal(creds(&c, &err), 0);
	assert_string_equal(c.source, "profile");
	fl_aws_creds_release(&c);
}

static void test_chain_profile(void **state)
{
	struct fl_aws_creds c;
	struct fl_aws_error err;

	(void)state;
	assert_int_equal(creds(&c, &err), 0);
	assert_string_equal(c.source, "profile");
	assert_string_equal(c.access_key_id, "AKIADEFAULT");
	assert_null(c.session_token);
	fl_aws_creds_release(&c);
	setenv("AWS_PROFILE", "dev", 1);
	assert_int_equal(creds(&c, &err), 0);
	assert_string_equal(c.access_key_id, "AKIACREDSDEV");
	assert_string_equal(c.session_token, "creds-token");
	fl_aws_creds_release(&c);
	setenv("AWS_PROFILE", "process", 1);
	assert_int_equal(creds(&c, &err), -1);
	assert_string_equal(err.code, "CredentialsError");
	assert_non_null(strstr(err.message, "credential_process"));
}

static void test_chain_container_before_imds(void **state)
{
	struct fl_aws_creds c;
	struct fl_aws_error err;

	(void)state;
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	/* Port 1 on loopback: nothing listens there. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c", 1);
	assert_int_equal(creds(&c, &err), -1);
	assert_string_equal(err.code, "CredentialsError");
	assert_non_null(strstr(err.message, "container credentials"));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/c", 1);
	assert_int_equal(creds(&c, &err), -1);
	assert_non_null(strstr(err.message, "FULL_URI"));
}

static void test_chain_nothing(void **state)
{
	struct fl_aws_creds c;
	struct fl_aws_error err;
	fl_aws *a;

	(void)state;
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	a = client("us-east-1");
	assert_int_equal(fl_aws_creds_get(a, &c, &err), -1);
	assert_string_equal(err.code, "NoCredentials");
	assert_int_equal(err.status, 0);
	/* A signed call reports it under its own name, without sending. */
	assert_int_equal(fl_aws_sts_get_caller_identity(
				 a, &(struct json_object *){0}, &err),
			 -1);
	assert_string_equal(err.code, "NoCredentials");
	assert_int_equal(err.attempts, 0);
	assert_true(strncmp(err.text, "sts GetCallerIdentity: no credentials",
			    37) == 0);
	fl_aws_free(a);
}

/* -- errors ------------------------------------------------------------- */

static void decode(struct fl_aws_error *e, long status, const char *name,
		   const char *hdr_id)
{
	struct fl_buf b = read_fixture(name);

	memset(e, 0, sizeof(*e));
	fl_aws_error_decode(e, status, b.data, b.len, hdr_id);
	fl_buf_release(&b);
}

static void test_decode_xml(void **state)
{
	struct fl_aws_error e;

	(void)state;
	decode(&e, 401, "ec2-auth-failure.xml", NULL);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "AuthFailure");
	assert_string_equal(e.message, "AWS was not able to validate the "
				       "provided access credentials");
	assert_string_equal(e.request_id, "0f7b1e2c-ec2-request");
	fl_aws_err_text(&e, "ec2", "TerminateInstances");
	assert_string_equal(e.text,
			    "ec2 TerminateInstances: AuthFailure: AWS was not "
			    "able to validate the provided access credentials");

	decode(&e, 403, "sts-signature.xml", NULL);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	assert_non_null(strstr(e.message, "does not match"));
	assert_string_equal(e.request_id, "a1b2c3-sts");

	decode(&e, 400, "rds-throttling.xml", "from-header");
	assert_string_equal(e.code, "Throttling");
	assert_string_equal(e.message, "Rate exceeded");
	assert_string_equal(e.request_id, "from-header");
}

static void test_decode_json(void **state)
{
	struct fl_aws_error e;

	(void)state;
	decode(&e, 400, "ecs-throttling.json", "ecs-req-1");
	assert_string_equal(e.code, "ThrottlingException");
	assert_string_equal(e.message, "Rate exceeded");
	assert_string_equal(e.request_id, "ecs-req-1");

	decode(&e, 400, "ecs-client-exception.json", NULL);
	assert_string_equal(e.code, "ClientException");
	assert_string_equal(e.message, "Cluster not found.");
}

static void test_decode_other(void **state)
{
	struct fl_aws_error e;

	(void)state;
	decode(&e, 500, "not-aws.html", NULL);
	assert_string_equal(e.code, "HTTPError");
	assert_non_null(strstr(e.message, "answered 500"));
	assert_non_null(strstr(e.message, "Internal Server Error"));
	fl_aws_error_decode(&e, 502, NULL, 0, NULL);
	assert_string_equal(e.code, "HTTPError");
	assert_non_null(strstr(e.message, "empty body"));
	fl_aws_error_decode(&e, 400, "{\"message\":\"no type\"}", 21, NULL);
	assert_string_equal(e.code, "HTTPError");
	fl_aws_error_decode(&e, 400, "<Response><Errors/></Response>", 30,
			    NULL);
	assert_string_equal(e.code, "HTTPError");
}

/* -- retries ------------------------------------------------------------ */

static int retryable(long status, const char *code)
{
	struct fl_aws_error e = {.status = status};

	snprintf(e.code, sizeof(e.code), "%s", code);
	return fl_aws_retryable(&e);
}

static void test_retry_decision(void **state)
{
	(void)state;
	assert_true(fl_aws_is_throttle("Throttling"));
	assert_true(fl_aws_is_throttle("ThrottlingException"));
	assert_true(fl_aws_is_throttle("RequestLimitExceeded"));
	assert_true(fl_aws_is_throttle("TooManyRequestsException"));
	assert_true(fl_aws_is_throttle("RequestThrottled"));
	assert_false(fl_aws_is_throttle("AuthFailure"));
	assert_false(fl_aws_is_throttle(NULL));

	assert_true(retryable(400, "ThrottlingException"));
	assert_true(retryable(503, "RequestLimitExceeded"));
	assert_true(retryable(500, "HTTPError"));
	assert_true(retryable(503, "ServiceUnavailable"));
	assert_true(retryable(429, "HTTPError"));
	assert_true(retryable(0, "Transport"));
	assert_false(retryable(501, "HTTPError"));
	assert_false(retryable(401, "AuthFailure"));
	assert_false(retryable(403, "SignatureDoesNotMatch"));
	assert_false(retryable(400, "InvalidInstanceID.NotFound"));
	assert_false(retryable(0, "NoCredentials"));
	assert_false(retryable(0, "CredentialsError"));
}

static void test_backoff_bounds(void **state)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	int n, i;

	(void)state;
	for (n = 0; n < 12; n++) {
		long cap = 100L << n, hi = 0;

		if (cap > 20000)
			cap = 20000;
		for (i = 0; i < 2000; i++) {
			long ms = fl_aws_backoff_ms(n, 100, 20000, &rng);

			assert_in_range(ms, 0, cap);
			if (ms > hi)
				hi = ms;
		}
		/* Jitter spreads over the range, not only its bottom. */
		assert_true(hi > cap / 2);
	}
	/* Huge attempt numbers do not overflow past the cap. */
	assert_in_range(fl_aws_backoff_ms(1000, 100, 20000, &rng), 0, 20000);
}

/* -- times and forms ---------------------------------------------------- */

static void test_time(void **state)
{
	char out[32];
	time_t t;

	(void)state;
	assert_int_equal(fl_aws_parse_time("2026-12-03T19:00:00Z", &t), 0);
	assert_int_equal(t, 1796324400);
	assert_int_equal(fl_aws_parse_time("2026-12-03T19:00:00.123Z", &t), 0);
	assert_int_equal(t, 1796324400);
	assert_int_equal(fl_aws_parse_time("2026-12-03T19:00:00+00:00", &t), 0);
	assert_int_equal(t, 1796324400);
	assert_int_equal(fl_aws_parse_time("2026-12-03T19:00:00+02:00", &t),
			 -1);
	assert_int_equal(fl_aws_parse_time("2026-13-03T19:00:00Z", &t), -1);
	assert_int_equal(fl_aws_parse_time("yesterday", &t), -1);
	fl_aws_format_time(1796324400, out, sizeof(out));
	assert_string_equal(out, "2026-12-03T19:00:00Z");
}

static void test_form(void **state)
{
	struct fl_buf f;

	(void)state;
	fl_buf_init(&f, 0);
	assert_int_equal(fl_aws_form_add(&f, "Action", "DescribeInstances"), 0);
	assert_int_equal(fl_aws_form_add(&f, "Filter.1.Name", "tag:a b"), 0);
	assert_int_equal(fl_aws_form_add(&f, "V", "x=y&z/~é"), 0);
	assert_string_equal(f.data, "Action=DescribeInstances&Filter.1.Name="
				    "tag%3Aa%20b&V=x%3Dy%26z%2F~%C3%A9");
	fl_buf_release(&f);
	/* A full buffer is refused and left as it was. */
	fl_buf_init(&f, 8);
	assert_int_equal(fl_aws_form_add(&f, "A", "1"), 0);
	assert_int_equal(fl_aws_form_add(&f, "Long", "value"), -1);
	assert_string_equal(f.data, "A=1");
	fl_buf_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_profile_default, clean_env),
		cmocka_unit_test_setup(test_profile_named, clean_env),
		cmocka_unit_test_setup(test_profile_web_identity, clean_env),
		cmocka_unit_test_setup(test_profile_missing, clean_env),
		cmocka_unit_test_setup(test_profile_malformed, clean_env),
		cmocka_unit_test_setup(test_region_order, clean_env),
		cmocka_unit_test_setup(test_region_errors, clean_env),
		cmocka_unit_test_setup(test_endpoints, clean_env),
		cmocka_unit_test_setup(test_chain_env_first, clean_env),
		cmocka_unit_test_setup(test_chain_env_half, clean_env),
		cmocka_unit_test_setup(test_chain_web_identity_before_profile,
				       clean_env),
		cmocka_unit_test_setup(test_chain_profile, clean_env),
		cmocka_unit_test_setup(test_chain_container_before_imds,
				       clean_env),
		cmocka_unit_test_setup(test_chain_nothing, clean_env),
		cmocka_unit_test_setup(test_decode_xml, clean_env),
		cmocka_unit_test_setup(test_decode_json, clean_env),
		cmocka_unit_test_setup(test_decode_other, clean_env),
		cmocka_unit_test(test_retry_decision),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
