/*
 * The operator's settings for pod faults: the agent channel's flags and
 * environment, and the checks made before anything starts (the URL must
 * be an address, the CA must hold a certificate, the master key must be
 * long enough), each refused with a message naming the flag or file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "operator.h"

static char dir[] = "/tmp/fl-opcfg-XXXXXX";
static char ca[64], master[64], shortkey[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(master, sizeof(master), "%s/master.key", dir);
	snprintf(shortkey, sizeof(shortkey), "%s/short.key", dir);
	write_file(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n"
		       "-----END CERTIFICATE-----\n");
	write_file(master, "0123456789abcdef0123456789abcdef0123\n");
	write_file(shortkey, "too short\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(ca);
	unlink(master);
	unlink(shortkey);
	rmdir(dir);
	return 0;
}

/* Parses argv (NULL-terminated) into c; returns fl_op_config_parse's
 * result with its message in err. */
static int parse(struct fl_op_config *c, char *err, size_t n, ...)
{
	char *argv[32] = {"faultline-operator"};
	int argc = 1;
	va_list ap;

	va_start(ap, n);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	err[0] = '\0';
	return fl_op_config_parse(c, argc, argv, err, n);
}

static void test_agent_flags(void **state)
{
	struct fl_op_config c;
	char err[256];

	(void)state;
	assert_int_equal(
		parse(&c, err, sizeof(err), "--agent-url=wss://10.0.0.9:8443",
		      "--agent-cert=/c", "--agent-key=/k",
		      "--agent-master-key-file=/m", "--agent-grace=12s",
		      "--agent-heartbeat=3s", "--injector-image=r/s:1",
		      "--agent-leader-label", NULL),
		0);
	assert_string_equal(c.agent_url, "wss://10.0.0.9:8443");
	assert_int_equal(c.agent_grace_s, 12);
	assert_int_equal(c.agent_heartbeat_s, 3);
	assert_string_equal(c.injector_image, "r/s:1");
	assert_true(c.agent_leader_label);
	assert_int_equal(c.agent_port, 0);

	/* Without the channel: nothing required. */
	assert_int_equal(parse(&c, err, sizeof(err), NULL), 0);
	assert_null(c.agent_url);
	assert_int_equal(c.agent_grace_s, 30);
}

static void test_agent_flags_refused(void **state)
{
	struct fl_op_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, err, sizeof(err),
			       "--agent-url=wss://10.0.0.9:8443", NULL),
			 -1);
	assert_non_null(strstr(err, "--agent-master-key-file"));

	assert_int_equal(parse(&c, err, sizeof(err),
			       "--agent-url=wss://10.0.0.9:8443",
			       "--agent-cert=/c", "--agent-key=/k",
			       "--agent-master-key-file=/m", "--agent-grace=4s",
			       "--agent-heartbeat=3s", NULL),
			 -1);
	assert_non_null(strstr(err, "--agent-grace"));

	assert_int_equal(parse(&c, err, sizeof(err), "--agent-grace=0s", NULL),
			 -1);
	assert_non_null(strstr(err, "--agent-grace"));
	assert_int_equal(
		parse(&c, err, sizeof(err), "--agent-port=70000", NULL), -1);
	assert_non_null(strstr(err, "--agent-port"));
}

static void test_agent_env(void **state)
{
	struct fl_op_config c;
	char err[256];

	(void)state;
	setenv("FAULTLINE_AGENT_PORT", "9443", 1);
	setenv("FAULTLINE_INJECTOR_IMAGE", "r/env:2", 1);
	assert_int_equal(parse(&c, err, sizeof(err), NULL), 0);
	assert_int_equal(c.agent_port, 9443);
	assert_string_equal(c.injector_image, "r/env:2");
	setenv("FAULTLINE_AGENT_PORT", "port", 1);
	assert_int_equal(parse(&c, err, sizeof(err), NULL), -1);
	assert_non_null(strstr(err, "FAULTLINE_AGENT_PORT"));
	unsetenv("FAULTLINE_AGENT_PORT");
	unsetenv("FAULTLINE_INJECTOR_IMAGE");
}

/* fl_agent_setup() with the URL and files given. */
static int setup_with(struct fl_operator *op, const char *url,
		      const char *ca_file, const char *key_file, char *err,
		      size_t n)
{
	memset(op, 0, sizeof(*op));
	op->cfg.agent_url = url;
	op->cfg.agent_cert = ca_file;
	op->cfg.agent_key = "/unused";
	op->cfg.agent_master_file = key_file;
	err[0] = '\0';
	return fl_agent_setup(op, err, n);
}

static void test_agent_setup(void **state)
{
	struct fl_operator op;
	char err[256];

	(void)state;
	assert_int_equal(setup_with(&op, "wss://10.0.0.9:8443", ca, master, err,
				    sizeof(err)),
			 0);
	assert_string_equal(op.agent_host, "10.0.0.9");
	assert_int_equal(op.agent_url_port, 8443);
	/* The trailing newline of the key file is not part of the key. */
	assert_int_equal(op.agent_master_len, 36);
	free(op.agent_ca_pem);

	assert_int_equal(setup_with(&op, "wss://[fd00::5]:443/agent", ca,
				    master, err, sizeof(err)),
			 0);
	assert_string_equal(op.agent_host, "fd00::5");
	assert_int_equal(op.agent_url_port, 443);
	free(op.agent_ca_pem);

	/* Names are refused: the injector does not resolve them. */
	assert_int_equal(setup_with(&op, "wss://agent.faultline.svc:8443", ca,
				    master, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "--agent-url"));
	assert_int_equal(setup_with(&op, "https://10.0.0.9:8443", ca, master,
				    err, sizeof(err)),
			 -1);
	assert_int_equal(
		setup_with(&op, "wss://10.0.0.9", ca, master, err, sizeof(err)),
		-1);
	assert_int_equal(setup_with(&op, "wss://10.0.0.9:0", ca, master, err,
				    sizeof(err)),
			 -1);

	assert_int_equal(setup_with(&op, "wss://10.0.0.9:8443", master, master,
				    err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no PEM certificate"));
	free(op.agent_ca_pem);
	assert_int_equal(setup_with(&op, "wss://10.0.0.9:8443", ca, shortkey,
				    err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "at least 32 bytes"));
	assert_non_null(strstr(err, shortkey));
	free(op.agent_ca_pem);
	assert_int_equal(setup_with(&op, "wss://10.0.0.9:8443", ca,
				    "/nonexistent/key", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/key"));
	free(op.agent_ca_pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_flags),
		cmocka_unit_test(test_agent_flags_refused),
		cmocka_unit_test(test_agent_env),
		cmocka_unit_test(test_agent_setup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
