/* The network faults' parsing and netlink message handling, without
 * touching the system: parse() only reads, and messages are built and
 * read in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "alloc.h"
#include "fault.h"
#include "net_scope.h"
#include "netlink.h"
#include "nfq.h"

static struct json_object *json(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

static void test_cidr(void **state)
{
	struct fl_net_dest d;
	uint8_t want4[4] = {10, 1, 0, 0};

	(void)state;
	assert_int_equal(fl_net_cidr_parse("10.1.2.3/16", &d), 0);
	assert_int_equal(d.family, AF_INET);
	assert_int_equal(d.prefix, 16);
	assert_memory_equal(d.addr, want4, 4);

	assert_int_equal(fl_net_cidr_parse("10.1.255.3/17", &d), 0);
	assert_int_equal(d.addr[2], 0x80);
	assert_int_equal(d.addr[3], 0);

	assert_int_equal(fl_net_cidr_parse("fd00::1/64", &d), 0);
	assert_int_equal(d.family, AF_INET6);
	assert_int_equal(d.addr[15], 0);

	assert_int_equal(fl_net_cidr_parse("192.0.2.7", &d), 0);
	assert_int_equal(d.prefix, 32);

	assert_int_equal(fl_net_cidr_parse("10.0.0.0/33", &d), -1);
	assert_int_equal(fl_net_cidr_parse("10.0.0.0/", &d), -1);
	assert_int_equal(fl_net_cidr_parse("/8", &d), -1);
	assert_int_equal(fl_net_cidr_parse("fd00::/129", &d), -1);
	assert_int_equal(fl_net_cidr_parse("example.com/8", &d), -1);
	assert_int_equal(fl_net_cidr_parse("10.0.0.0/8x", &d), -1);
}

static void test_scope(void **state)
{
	struct json_object *p = json(
		"{\"to\": [{\"cidr\": \"10.0.0.0/8\", \"ports\": [80, 443],"
		" \"protocol\": \"tcp\"}, {\"cidr\": \"fd00::/8\"}],"
		" \"direction\": \"both\", \"interface\": \"eth0\"}");
	struct fl_net_scope s;
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(fl_net_scope_parse(p, &s, &errs), 0);
	assert_int_equal(s.nto, 2);
	assert_int_equal(s.to[0].nports, 2);
	assert_int_equal(s.to[0].ports[1], 443);
	assert_int_equal(s.to[0].proto, IPPROTO_TCP);
	assert_int_equal(s.to[1].proto, 0);
	assert_int_equal(s.dir, FL_NET_BOTH);
	assert_string_equal(s.ifname, "eth0");
	json_object_put(p);

	p = json("{}");
	assert_int_equal(fl_net_scope_parse(p, &s, &errs), 0);
	assert_int_equal(s.nto, 0);
	assert_int_equal(s.dir, FL_NET_EGRESS);
	json_object_put(p);
}

static void test_scope_errors_name_the_field(void **state)
{
	struct json_object *p =
		json("{\"to\": [{\"cidr\": \"10.0.0.0/8\", \"ports\": [0]},"
		     " {\"cidr\": \"nonsense\", \"protocol\": \"sctp\"}],"
		     " \"direction\": \"sideways\","
		     " \"interface\": \"a-name-far-too-long\"}");
	struct fl_net_scope s;
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(fl_net_scope_parse(p, &s, &errs), -1);
	assert_int_equal(errs.n, 5);
	assert_string_equal(errs.e[0].path, "to[0]");
	assert_non_null(strstr(errs.e[0].msg, "port 0"));
	assert_string_equal(errs.e[1].path, "to[1]");
	assert_non_null(strstr(errs.e[1].msg, "nonsense"));
	assert_string_equal(errs.e[2].path, "to[1]");
	assert_string_equal(errs.e[3].path, "direction");
	assert_string_equal(errs.e[4].path, "interface");
	json_object_put(p);
}

/* Runs a kind's parse() on params; returns its result, with state
 * (state_size bytes) left for the caller to read and free. */
static int parse(const char *kind, const char *params, void **st,
		 struct fl_errors *errs)
{
	const struct fl_fault_ops *ops = fl_fault_ops_find(kind);
	struct json_object *p = json(params);
	int rc;

	assert_non_null(ops);
	*st = fl_calloc(1, ops->state_size);
	rc = ops->parse(p, *st, errs);
	json_object_put(p);
	return rc;
}

static void release(const char *kind, void *st)
{
	const struct fl_fault_ops *ops = fl_fault_ops_find(kind);

	/* Nothing was applied: release must not touch the system. */
	if (ops->release)
		ops->release(st);
	free(st);
}

static void test_every_network_kind_is_registered(void **state)
{
	static const char *const kinds[] = {
		"networkLatency",     "networkLoss",	    "networkCorruption",
		"networkDuplication", "bandwidth",	    "networkPartition",
		"dependencyTimeout",  "serviceUnavailable",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct fl_fault_ops *ops = fl_fault_ops_find(kinds[i]);

		assert_non_null(ops);
		assert_non_null(ops->parse);
		assert_non_null(ops->apply);
		assert_non_null(ops->revert);
		assert_non_null(ops->sweep);
	}
}

static void test_kind_parse_errors(void **state)
{
	static const struct {
		const char *kind, *params, *path;
	} bad[] = {
		{"networkLatency", "{\"delay\": \"61s\"}", "delay"},
		{"networkLatency", "{\"delay\": \"soon\"}", "delay"},
		{"networkLatency", "{\"delay\": \"1ms\", \"jitter\": \"x\"}",
		 "jitter"},
		{"bandwidth", "{\"rate\": \"fast\"}", "rate"},
		{"bandwidth", "{\"rate\": \"1mbit\", \"burst\": \"0\"}",
		 "burst"},
		{"bandwidth", "{\"rate\": \"1mbit\", \"limit\": \"5Ti\"}",
		 "limit"},
		{"dependencyTimeout", "{\"to\": []}", "to"},
		{"serviceUnavailable", "{\"ports\": [70000]}", "ports"},
		{"serviceUnavailable", "{\"ports\": []}", "ports"},
		{"networkLoss", "{\"percent\": 5, \"direction\": \"up\"}",
		 "direction"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fl_errors errs = {0};
		void *st;

		assert_int_equal(parse(bad[i].kind, bad[i].params, &st, &errs),
				 -1);
		assert_true(errs.n >= 1);
		assert_string_equal(errs.e[0].path, bad[i].path);
		release(bad[i].kind, st);
	}
}

static void test_bandwidth_defaults(void **state)
{
	const struct fl_fault_ops *ops = fl_fault_ops_find("bandwidth");
	struct json_object *out = json_object_new_object();
	struct fl_errors errs = {0};
	void *st;

	(void)state;
	assert_int_equal(
		parse("bandwidth", "{\"rate\": \"10mbit\"}", &st, &errs), 0);
	ops->status(st, out);

	/* 1.25 MB/s: a 16 KiB bucket (10 ms would be less), a queue of
	 * 100 ms on top. */
	assert_int_equal(json_object_get_int64(
				 json_object_object_get(out, "bytesPerSecond")),
			 1250000);
	assert_int_equal(
		json_object_get_int64(json_object_object_get(out, "burst")),
		16384);
	assert_int_equal(
		json_object_get_int64(json_object_object_get(out, "limit")),
		16384 + 125000);
	assert_string_equal(
		json_object_get_string(json_object_object_get(out, "engine")),
		"tbf");
	json_object_put(out);
	release("bandwidth", st);
}

/* A fast rate must not wrap the u32 defaults into a small bucket or a
 * queue shorter than the bucket. */
static void test_bandwidth_defaults_saturate(void **state)
{
	static const char *const params[] = {
		"{\"rate\": \"999999999gbit\"}",
		"{\"rate\": \"400gbit\"}",
		"{\"rate\": \"1mbit\", \"burst\": \"4294967295\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct fl_fault_ops *ops = fl_fault_ops_find("bandwidth");
		struct json_object *out = json_object_new_object();
		struct fl_errors errs = {0};
		int64_t burst, limit;
		void *st;

		assert_int_equal(parse("bandwidth", params[i], &st, &errs), 0);
		ops->status(st, out);
		burst = json_object_get_int64(
			json_object_object_get(out, "burst"));
		limit = json_object_get_int64(
			json_object_object_get(out, "limit"));
		assert_true(burst >= 16384 && burst <= 0xffffffffll);
		assert_true(limit >= burst && limit <= 0xffffffffll);
		json_object_put(out);
		release("bandwidth", st);
	}
}

static void test_builder_refuses_to_overflow(void **state)
{
	static struct fl_nlmsg m;
	static char big[4096];
	struct fl_nl nl = {0};
	char err[128];
	int i;

	(void)state;
	fl_nlmsg_start(&m, 1, 0, 16);
	for (i = 0; i < 8; i++)
		fl_nlmsg_put(&m, 1, sizeof(big), big);
	assert_true(m.overflow);
	assert_true(m.nlh->nlmsg_len <= sizeof(m.buf));
	assert_null(fl_nlmsg_nest_start(&m, 2));
	assert_int_equal(fl_nl_talk(&nl, &m, NULL, NULL, "cannot add x", err,
				    sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot add x: request does not fit"));
}

/* Held copies are bounded in bytes as well as in count: a flood of
 * large corrupted packets must not hold 512 MiB. */
static void test_nfq_hold_bounds(void **state)
{
	size_t cap = FL_NFQ_HELD_BYTES;

	(void)state;
	assert_int_equal(fl_nfq_may_hold(0, 0, 65535), 1);
	assert_int_equal(fl_nfq_may_hold(FL_NFQ_HELD - 1, 0, 0), 1);
	assert_int_equal(fl_nfq_may_hold(FL_NFQ_HELD, 0, 0), 0);
	assert_int_equal(fl_nfq_may_hold(10, cap - 100, 100), 1);
	assert_int_equal(fl_nfq_may_hold(10, cap - 100, 101), 0);
	assert_int_equal(fl_nfq_may_hold(10, cap, 1), 0);
	/* A packet that keeps no copy costs no bytes. */
	assert_int_equal(fl_nfq_may_hold(10, cap, 0), 1);
	assert_int_equal(fl_nfq_may_hold(10, cap + 1, 0), 0);
}

static void test_extack_is_read(void **state)
{
	static char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	(void)state;
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -2;
	e->msg.nlmsg_len = 200; /* capped: the request is not repeated */
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG,
			  "Specified qdisc kind is unknown");
	assert_string_equal(fl_nl_extack(nlh),
			    "Specified qdisc kind is unknown");

	nlh->nlmsg_flags = NLM_F_CAPPED;
	assert_null(fl_nl_extack(nlh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_scope_errors_name_the_field),
		cmocka_unit_test(test_every_network_kind_is_registered),
		cmocka_unit_test(test_kind_parse_errors),
		cmocka_unit_test(test_bandwidth_defaults),
		cmocka_unit_test(test_bandwidth_defaults_saturate),
		cmocka_unit_test(test_builder_refuses_to_overflow),
		cmocka_unit_test(test_extack_is_read),
		cmocka_unit_test(test_nfq_hold_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
