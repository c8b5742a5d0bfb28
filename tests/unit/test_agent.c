/*
 * The agent channel's library: tokens (sign, verify, forged, expired,
 * malformed, wrong version), proofs bound to one challenge (a recorded
 * hello answers no other challenge), base64url, and the messages (format
 * and parse round trips, hostile input: oversized, missing fields, wrong
 * types, deep nesting, unknown fields).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "agent_proto.h"
#include "agent_token.h"
#include "alloc.h"
#include "buf.h"

#define NOW 1767000000LL

static const uint8_t master[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t other[32] = "fedcba9876543210fedcba9876543210";

static void claims_fill(struct fl_agent_claims *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->run, sizeof(c->run), "r1a2b3");
	snprintf(c->ns, sizeof(c->ns), "shop");
	snprintf(c->name, sizeof(c->name), "slow-payments");
	snprintf(c->target, sizeof(c->target), "pod/shop/payments-0");
	snprintf(c->inj, sizeof(c->inj), "i-1");
	c->exp = NOW + 600;
}

static void sign(const struct fl_agent_claims *c, char *token,
		 uint8_t key[FL_AGENT_KEY_LEN])
{
	assert_int_equal(fl_agent_token_sign(master, sizeof(master), c, token,
					     FL_AGENT_TOKEN_MAX, key),
			 0);
}

/* ---- base64url ---- */

static void test_b64url_vectors(void **state)
{
	static const char *const plain[] = {"",	    "f",     "fo",    "foo",
					    "foob", "fooba", "foobar"};
	static const char *const enc[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	static const uint8_t url[] = {0xfb, 0xff};
	uint8_t back[16];
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(fl_agent_b64url_encode(
					 (const uint8_t *)plain[i],
					 strlen(plain[i]), out, sizeof(out)),
				 (int)strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		assert_int_equal(fl_agent_b64url_decode(enc[i], strlen(enc[i]),
							back, sizeof(back)),
				 (int)strlen(plain[i]));
		assert_memory_equal(back, plain[i], strlen(plain[i]));
	}
	/* The URL alphabet, not + and /. */
	fl_agent_b64url_encode(url, 2, out, sizeof(out));
	assert_string_equal(out, "-_8");
	assert_int_equal(fl_agent_b64url_decode("+_8", 3, back, 16), -1);
	assert_int_equal(fl_agent_b64url_decode("Zm9v=", 5, back, 16), -1);
	/* One character cannot be a whole byte; non-zero spare bits are a
	 * second spelling and refused. */
	assert_int_equal(fl_agent_b64url_decode("Z", 1, back, 16), -1);
	assert_int_equal(fl_agent_b64url_decode("Zh", 2, back, 16), -1);
	/* Too small an output, either way. */
	assert_int_equal(fl_agent_b64url_decode("Zm9vYmFy", 8, back, 5), -1);
	assert_int_equal(
		fl_agent_b64url_encode((const uint8_t *)"foo", 3, out, 4), -1);
}

/* ---- tokens ---- */

static void test_token_round_trip(void **state)
{
	struct fl_agent_claims c, got;
	uint8_t key[FL_AGENT_KEY_LEN], key2[FL_AGENT_KEY_LEN];
	char token[FL_AGENT_TOKEN_MAX];

	(void)state;
	claims_fill(&c);
	sign(&c, token, key);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), token,
					       NOW, &got, key2),
			 FL_AGENT_OK);
	assert_string_equal(got.run, "r1a2b3");
	assert_string_equal(got.ns, "shop");
	assert_string_equal(got.name, "slow-payments");
	assert_string_equal(got.target, "pod/shop/payments-0");
	assert_string_equal(got.inj, "i-1");
	assert_int_equal(got.exp, NOW + 600);
	assert_memory_equal(key, key2, sizeof(key));

	/* An ECS task ARN is a target too. */
	snprintf(c.target, sizeof(c.target),
		 "arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd");
	sign(&c, token, NULL);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), token,
					       NOW, &got, NULL),
			 FL_AGENT_OK);
	assert_string_equal(got.target, c.target);
}

/* The format, checked with OpenSSL directly rather than through the
 * library: base64url(claims) "." base64url(HMAC(master, claims)), and
 * the proof key HMAC(master, "faultline-agent-v1|" claims). */
static void test_token_format(void **state)
{
	struct fl_agent_claims c;
	uint8_t key[FL_AGENT_KEY_LEN], mac[32], want[32], claims[1500];
	uint8_t labelled[1600];
	char token[FL_AGENT_TOKEN_MAX], *dot;
	unsigned int n = 32;
	int clen;

	(void)state;
	claims_fill(&c);
	sign(&c, token, key);
	dot = strchr(token, '.');
	assert_non_null(dot);
	clen = fl_agent_b64url_decode(token, (size_t)(dot - token), claims,
				      sizeof(claims) - 1);
	assert_true(clen > 0);
	claims[clen] = '\0';
	assert_string_equal((char *)claims,
			    "{\"v\":1,\"run\":\"r1a2b3\",\"ns\":\"shop\","
			    "\"name\":\"slow-payments\",\"target\":"
			    "\"pod/shop/payments-0\",\"inj\":\"i-1\","
			    "\"exp\":1767000600}");
	assert_int_equal(fl_agent_b64url_decode(dot + 1, strlen(dot + 1), mac,
						sizeof(mac)),
			 32);
	HMAC(EVP_sha256(), master, 32, claims, (size_t)clen, want, &n);
	assert_memory_equal(mac, want, 32);
	memcpy(labelled, "faultline-agent-v1|", 19);
	memcpy(labelled + 19, claims, (size_t)clen);
	HMAC(EVP_sha256(), master, 32, labelled, 19 + (size_t)clen, want, &n);
	assert_memory_equal(key, want, 32);
}

static void test_token_forged(void **state)
{
	struct fl_agent_claims c, got;
	uint8_t key[FL_AGENT_KEY_LEN];
	char token[FL_AGENT_TOKEN_MAX], forged[FL_AGENT_TOKEN_MAX];
	char *dot;

	(void)state;
	claims_fill(&c);
	sign(&c, token, NULL);

	/* Another master key's token. */
	assert_int_equal(fl_agent_token_verify(other, sizeof(other), token, NOW,
					       &got, key),
			 FL_AGENT_FORGED);
	assert_string_equal(got.inj, "");

	/* Claims changed (another injection id) under the same MAC. */
	snprintf(c.inj, sizeof(c.inj), "i-2");
	sign(&c, forged, NULL);
	dot = strchr(token, '.');
	memcpy(strchr(forged, '.'), dot, strlen(dot) + 1);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), forged,
					       NOW, &got, key),
			 FL_AGENT_FORGED);

	/* One bit of the MAC flipped. */
	snprintf(forged, sizeof(forged), "%s", token);
	dot = strchr(forged, '.');
	dot[1] = dot[1] == 'A' ? 'B' : 'A';
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), forged,
					       NOW, &got, key),
			 FL_AGENT_FORGED);

	/* A short master key signs nothing and verifies nothing. */
	assert_int_equal(fl_agent_token_sign(master, 16, &c, forged,
					     sizeof(forged), NULL),
			 -1);
	assert_int_equal(
		fl_agent_token_verify(master, 16, token, NOW, &got, NULL),
		FL_AGENT_MALFORMED);
}

static void test_token_expiry(void **state)
{
	struct fl_agent_claims c, got;
	char token[FL_AGENT_TOKEN_MAX];

	(void)state;
	claims_fill(&c);
	c.exp = NOW;
	sign(&c, token, NULL);
	/* Within the skew allowance, then past it. */
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), token,
					       NOW + FL_AGENT_SKEW_S, &got,
					       NULL),
			 FL_AGENT_OK);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), token,
					       NOW + FL_AGENT_SKEW_S + 1, &got,
					       NULL),
			 FL_AGENT_EXPIRED);
	assert_string_equal(got.inj, "");
}

static void test_token_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		".",
		"abc",
		"abc.",
		".abc",
		"e30.AAAA",
		"!!!.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	struct fl_agent_claims got;
	char *huge;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fl_agent_token_verify(master, sizeof(master),
						       bad[i], NOW, &got, NULL),
				 FL_AGENT_MALFORMED);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), NULL,
					       NOW, &got, NULL),
			 FL_AGENT_MALFORMED);
	huge = fl_malloc(100000);
	memset(huge, 'A', 99999);
	huge[99999] = '\0';
	huge[50] = '.';
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), huge,
					       NOW, &got, NULL),
			 FL_AGENT_MALFORMED);
	free(huge);
}

/* Correctly signed, but of the wrong shape or version. */
static void test_token_signed_but_bad(void **state)
{
	static const char *const shape[] = {
		"[]",
		"{}",
		"{\"v\":\"1\",\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i\",\"exp\":1767000600}",
		/* an extra field */
		"{\"v\":1,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i\",\"exp\":1767000600,"
		"\"x\":1}",
		/* exp a string */
		"{\"v\":1,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i\",\"exp\":\"soon\"}",
		/* a target that is neither a pod nor a task */
		"{\"v\":1,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"node/x\",\"inj\":\"i\",\"exp\":1767000600}",
		/* an injection id with a space */
		"{\"v\":1,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i 1\",\"exp\":1767000600}",
		/* a NUL inside a string */
		"{\"v\":1,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i\\u0000x\",\"exp\":"
		"1767000600}",
		/* nested deeper than claims ever are */
		"{\"v\":1,\"run\":{\"a\":[1]}}",
	};
	static const char v2[] =
		"{\"v\":2,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i\",\"exp\":1767000600}";
	static const char ok[] =
		"{\"v\":1,\"run\":\"r\",\"ns\":\"a\",\"name\":\"b\","
		"\"target\":\"pod/a/b\",\"inj\":\"i\",\"exp\":1767000600}";
	struct fl_agent_claims got;
	char token[FL_AGENT_TOKEN_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
		assert_int_equal(
			fl_agent_token_sign_raw(master, sizeof(master),
						shape[i], strlen(shape[i]),
						token, sizeof(token), NULL),
			0);
		assert_int_equal(fl_agent_token_verify(master, sizeof(master),
						       token, NOW, &got, NULL),
				 FL_AGENT_MALFORMED);
	}
	fl_agent_token_sign_raw(master, sizeof(master), v2, strlen(v2), token,
				sizeof(token), NULL);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), token,
					       NOW, &got, NULL),
			 FL_AGENT_BAD_VERSION);
	/* The same text with v 1 passes: the version was the only fault. */
	fl_agent_token_sign_raw(master, sizeof(master), ok, strlen(ok), token,
				sizeof(token), NULL);
	assert_int_equal(fl_agent_token_verify(master, sizeof(master), token,
					       NOW, &got, NULL),
			 FL_AGENT_OK);
}

static void test_token_sign_refuses_bad_claims(void **state)
{
	struct fl_agent_claims c;
	char token[FL_AGENT_TOKEN_MAX];

	(void)state;
	claims_fill(&c);
	snprintf(c.ns, sizeof(c.ns), "Shop");
	assert_int_equal(fl_agent_token_sign(master, sizeof(master), &c, token,
					     sizeof(token), NULL),
			 -1);
	assert_string_equal(token, "");
	claims_fill(&c);
	c.inj[0] = '\0';
	assert_int_equal(fl_agent_token_sign(master, sizeof(master), &c, token,
					     sizeof(token), NULL),
			 -1);
	claims_fill(&c);
	assert_int_equal(fl_agent_token_sign(master, sizeof(master), &c, token,
					     20, NULL),
			 -1);
}

static void test_token_peek(void **state)
{
	struct fl_agent_claims c, got;
	char token[FL_AGENT_TOKEN_MAX];

	(void)state;
	claims_fill(&c);
	sign(&c, token, NULL);
	/* Peek reads the claims without the master key. */
	assert_int_equal(fl_agent_token_peek(token, &got), FL_AGENT_OK);
	assert_string_equal(got.inj, "i-1");
	assert_int_equal(fl_agent_token_peek("junk", &got), FL_AGENT_MALFORMED);
}

/* ---- proofs ---- */

static void test_proof_binds_challenge(void **state)
{
	struct fl_agent_claims c;
	uint8_t key[FL_AGENT_KEY_LEN], wrong[FL_AGENT_KEY_LEN];
	char token[FL_AGENT_TOKEN_MAX], a[FL_AGENT_CHALLENGE_LEN];
	char b[FL_AGENT_CHALLENGE_LEN], proof[FL_AGENT_B64_KEY_LEN];

	(void)state;
	claims_fill(&c);
	sign(&c, token, key);
	assert_int_equal(fl_agent_challenge(a), 0);
	assert_int_equal(fl_agent_challenge(b), 0);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);

	fl_agent_proof(key, a, NOW, proof);
	assert_int_equal(fl_agent_proof_check(key, a, NOW, proof, NOW + 5),
			 FL_AGENT_OK);
	/* The same hello against another connection's challenge. */
	assert_int_equal(fl_agent_proof_check(key, b, NOW, proof, NOW),
			 FL_AGENT_BAD_PROOF);
	/* Another ts than the one proven. */
	assert_int_equal(fl_agent_proof_check(key, a, NOW + 1, proof, NOW),
			 FL_AGENT_BAD_PROOF);
	/* Another injection's key. */
	c.inj[2] = '2';
	sign(&c, token, wrong);
	assert_int_equal(fl_agent_proof_check(wrong, a, NOW, proof, NOW),
			 FL_AGENT_BAD_PROOF);
	/* A good proof, too old or from the future. */
	assert_int_equal(fl_agent_proof_check(key, a, NOW, proof,
					      NOW + FL_AGENT_SKEW_S + 1),
			 FL_AGENT_STALE);
	assert_int_equal(fl_agent_proof_check(key, a, NOW, proof,
					      NOW - FL_AGENT_SKEW_S - 1),
			 FL_AGENT_STALE);
	assert_int_equal(fl_agent_proof_check(key, a, NOW, "short", NOW),
			 FL_AGENT_BAD_PROOF);
	assert_int_equal(fl_agent_proof_check(key, a, NOW, NULL, NOW),
			 FL_AGENT_BAD_PROOF);
}

static void test_refusal_names(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < FL_AGENT_REFUSAL_N; i++)
		assert_int_equal(
			fl_agent_refusal_parse(fl_agent_refusal_name(i)), i);
	assert_string_equal(fl_agent_refusal_name(FL_AGENT_FORGED), "forged");
	assert_string_equal(fl_agent_refusal_name(99), "unknown");
	assert_int_equal(fl_agent_refusal_parse("nope"), -1);
}

/* ---- messages ---- */

static void round_trip(const struct fl_agent_msg *m, struct fl_agent_msg *got)
{
	struct fl_buf b;
	char err[256];

	fl_buf_init(&b, FL_AGENT_FRAME_MAX);
	assert_int_equal(fl_agent_msg_format(m, &b, err, sizeof(err)), 0);
	if (fl_agent_msg_parse(b.data, b.len, got, err, sizeof(err)) < 0)
		fail_msg("%s: %s", b.data, err);
	assert_int_equal(got->type, m->type);
	fl_buf_release(&b);
}

static void test_msg_round_trips(void **state)
{
	struct fl_agent_msg m, got;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_HELLO;
	snprintf(m.token, sizeof(m.token), "abc.def");
	snprintf(m.proof, sizeof(m.proof), "xyz");
	m.ts = NOW;
	round_trip(&m, &got);
	assert_string_equal(got.token, "abc.def");
	assert_string_equal(got.proof, "xyz");
	assert_int_equal(got.ts, NOW);

	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_STATUS;
	m.state = FL_AGENT_STATE_ACTIVE;
	m.nfaults = 2;
	snprintf(m.faults[0].kind, 40, "cpuStress");
	snprintf(m.faults[0].state, 16, "applied");
	snprintf(m.faults[1].kind, 40, "memoryStress");
	snprintf(m.faults[1].state, 16, "failed");
	snprintf(m.message, sizeof(m.message), "quote \" and / and \\");
	round_trip(&m, &got);
	assert_int_equal(got.state, FL_AGENT_STATE_ACTIVE);
	assert_int_equal(got.nfaults, 2);
	assert_string_equal(got.faults[1].kind, "memoryStress");
	assert_string_equal(got.faults[1].state, "failed");
	assert_string_equal(got.message, "quote \" and / and \\");

	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_ORDER;
	m.order = FL_AGENT_ORDER_ABORT;
	snprintf(m.inj, sizeof(m.inj), "i-1");
	snprintf(m.reason, sizeof(m.reason), "probe failed");
	round_trip(&m, &got);
	assert_int_equal(got.order, FL_AGENT_ORDER_ABORT);
	assert_string_equal(got.inj, "i-1");
	assert_string_equal(got.reason, "probe failed");

	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_WELCOME;
	m.heartbeat_s = 5;
	snprintf(m.inj, sizeof(m.inj), "i-1");
	round_trip(&m, &got);
	assert_int_equal(got.heartbeat_s, 5);

	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_CHALLENGE;
	assert_int_equal(fl_agent_challenge(m.challenge), 0);
	round_trip(&m, &got);
	assert_string_equal(got.challenge, m.challenge);

	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_BYE;
	snprintf(m.reason, sizeof(m.reason), "forged");
	round_trip(&m, &got);
	assert_string_equal(got.reason, "forged");

	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_HEARTBEAT;
	m.ts = NOW;
	round_trip(&m, &got);
	assert_int_equal(got.ts, NOW);
	assert_true(fl_agent_msg_from_injector(FL_AGENT_MSG_HEARTBEAT));
	assert_false(fl_agent_msg_from_injector(FL_AGENT_MSG_ORDER));
	assert_true(fl_agent_msg_from_operator(FL_AGENT_MSG_HEARTBEAT));
	assert_true(fl_agent_msg_from_operator(FL_AGENT_MSG_ORDER));
	assert_false(fl_agent_msg_from_operator(FL_AGENT_MSG_HELLO));
	assert_false(fl_agent_msg_from_operator(FL_AGENT_MSG_STATUS));
}

/* Each bad frame is refused, with an error that names the field. */
static void test_msg_hostile(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"", "not JSON"},
		{"{", "not JSON"},
		{"[1]", "must be a JSON object"},
		{"{\"type\":\"hello\"} x", "text after"},
		{"{}", "message.type: required"},
		{"{\"type\":7}", "message.type: must be a string"},
		{"{\"type\":\"shout\"}", "unknown type 'shout'"},
		{"{\"type\":\"hello\",\"token\":\"t\",\"ts\":1}",
		 "hello.proof: required"},
		{"{\"type\":\"hello\",\"token\":\"t\",\"proof\":\"p\","
		 "\"ts\":\"now\"}",
		 "hello.ts: must be an integer"},
		{"{\"type\":\"hello\",\"token\":\"t\",\"proof\":\"p\","
		 "\"ts\":-5}",
		 "hello.ts: must be between"},
		{"{\"type\":\"hello\",\"token\":\"t\",\"proof\":\"p\","
		 "\"ts\":1,\"extra\":1}",
		 "hello.extra: unknown field"},
		{"{\"type\":\"hello\",\"token\":[\"t\"],\"proof\":\"p\","
		 "\"ts\":1}",
		 "hello.token: must be a string"},
		{"{\"type\":\"status\",\"state\":\"busy\"}",
		 "status.state: 'busy' is not one of"},
		{"{\"type\":\"status\",\"state\":\"none\"}",
		 "status.state: 'none' is not one of"},
		{"{\"type\":\"status\",\"state\":\"active\",\"faults\":{}}",
		 "status.faults: must be a list"},
		{"{\"type\":\"status\",\"state\":\"active\",\"faults\":[1]}",
		 "status.faults[0]: must be an object"},
		{"{\"type\":\"status\",\"state\":\"active\",\"faults\":"
		 "[{\"kind\":\"x\",\"state\":\"odd\"}]}",
		 "status.faults[0].state: 'odd'"},
		{"{\"type\":\"status\",\"state\":\"active\",\"faults\":"
		 "[{\"kind\":\"x\",\"state\":\"applied\",\"more\":1}]}",
		 "status.faults[0].more: unknown field"},
		{"{\"type\":\"status\",\"state\":\"active\",\"faults\":"
		 "[{\"kind\":[[[[1]]]]}]}",
		 "not JSON"},
		{"{\"type\":\"order\",\"inj\":\"i\",\"order\":\"explode\"}",
		 "order.order: 'explode' is not one of revert, abort"},
		{"{\"type\":\"order\",\"inj\":\"\",\"order\":\"abort\"}",
		 "order.inj: must not be empty"},
		{"{\"type\":\"welcome\",\"inj\":\"i\",\"heartbeat\":0}",
		 "welcome.heartbeat: must be between 1 and 3600"},
		{"{\"type\":\"heartbeat\",\"ts\":1e3}",
		 "heartbeat.ts: must be an integer"},
		{"{\"type\":\"heartbeat\",\"ts\":99999999999999999999999}",
		 "heartbeat.ts"},
		{"{\"type\":\"bye\",\"reason\":\"a\\u0000b\"}",
		 "bye.reason: holds a NUL"},
	};
	struct fl_agent_msg m;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (fl_agent_msg_parse(bad[i].text, strlen(bad[i].text), &m,
				       err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i].text);
		if (!strstr(err, bad[i].err))
			fail_msg("%s: error '%s' lacks '%s'", bad[i].text, err,
				 bad[i].err);
		assert_int_equal(m.type, 0);
		assert_string_equal(m.token, "");
	}
}

static void test_msg_bounds(void **state)
{
	struct fl_agent_msg m;
	struct fl_buf b;
	char err[256], *big;
	size_t n = FL_AGENT_FRAME_MAX + 100, i;
	int depth;

	(void)state;
	/* Oversized: refused before it is parsed. */
	big = fl_malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "{\"type\":\"heartbeat\",\"ts\":1}", 27);
	big[n] = '\0';
	assert_int_equal(fl_agent_msg_parse(big, n, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 65536"));
	/* The same within the limit, trailing blanks allowed. */
	assert_int_equal(fl_agent_msg_parse(big, 1000, &m, err, sizeof(err)),
			 0);

	/* A string longer than its field. */
	memset(big, 'a', n);
	memcpy(big, "{\"type\":\"bye\",\"reason\":\"", 24);
	memcpy(big + 500, "\"}", 3);
	assert_int_equal(fl_agent_msg_parse(big, 502, &m, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "bye.reason: longer than 127"));

	/* Deep nesting: thousands of brackets are refused at the tokener's
	 * depth, without recursion. */
	depth = 5000;
	for (i = 0; i < (size_t)depth; i++)
		big[i] = '[';
	assert_int_equal(
		fl_agent_msg_parse(big, (size_t)depth, &m, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "not JSON"));

	/* A NUL byte inside the frame. */
	assert_int_equal(fl_agent_msg_parse("{\"type\":\"bye\"}\0x", 16, &m,
					    err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "NUL"));

	/* Seventeen faults are one too many. */
	fl_buf_init(&b, 0);
	fl_buf_adds(&b, "{\"type\":\"status\",\"state\":\"active\","
			"\"faults\":[");
	for (i = 0; i < 17; i++)
		fl_buf_addf(&b, "%s{\"kind\":\"k\",\"state\":\"applied\"}",
			    i ? "," : "");
	fl_buf_adds(&b, "]}");
	assert_int_equal(
		fl_agent_msg_parse(b.data, b.len, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16"));
	fl_buf_release(&b);
	free(big);
}

static void test_msg_format_refuses(void **state)
{
	struct fl_agent_msg m;
	struct fl_buf b;
	char err[256];

	(void)state;
	fl_buf_init(&b, FL_AGENT_FRAME_MAX);
	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_STATUS; /* state none */
	assert_int_equal(fl_agent_msg_format(&m, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "status.state"));
	m.type = FL_AGENT_MSG_ORDER; /* no inj */
	assert_int_equal(fl_agent_msg_format(&m, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "order.inj"));
	m.type = FL_AGENT_MSG_N;
	assert_int_equal(fl_agent_msg_format(&m, &b, err, sizeof(err)), -1);
	fl_buf_release(&b);

	/* A buffer too small for the text. */
	fl_buf_init(&b, 10);
	memset(&m, 0, sizeof(m));
	m.type = FL_AGENT_MSG_HEARTBEAT;
	assert_int_equal(fl_agent_msg_format(&m, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "do not fit"));
	fl_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_token_round_trip),
		cmocka_unit_test(test_token_format),
		cmocka_unit_test(test_token_forged),
		cmocka_unit_test(test_token_expiry),
		cmocka_unit_test(test_token_malformed),
		cmocka_unit_test(test_token_signed_but_bad),
		cmocka_unit_test(test_token_sign_refuses_bad_claims),
		cmocka_unit_test(test_token_peek),
		cmocka_unit_test(test_proof_binds_challenge),
		cmocka_unit_test(test_refusal_names),
		cmocka_unit_test(test_msg_round_trips),
		cmocka_unit_test(test_msg_hostile),
		cmocka_unit_test(test_msg_bounds),
		cmocka_unit_test(test_msg_format_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
