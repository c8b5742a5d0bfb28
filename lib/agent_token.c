#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "agent_token.h"

#define PROOF_LABEL "faultline-agent-v1|"

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const refusal_names[FL_AGENT_REFUSAL_N] = {
	[FL_AGENT_OK] = "ok",
	[FL_AGENT_MALFORMED] = "malformed",
	[FL_AGENT_BAD_VERSION] = "bad-version",
	[FL_AGENT_FORGED] = "forged",
	[FL_AGENT_EXPIRED] = "expired",
	[FL_AGENT_BAD_PROOF] = "bad-proof",
	[FL_AGENT_STALE] = "stale",
	[FL_AGENT_IN_USE] = "in-use",
	[FL_AGENT_FULL] = "full",
	[FL_AGENT_PROTOCOL] = "protocol",
};

const char *fl_agent_refusal_name(enum fl_agent_refusal r)
{
	if ((unsigned)r >= FL_AGENT_REFUSAL_N)
		return "unknown";
	return refusal_names[r];
}

int fl_agent_refusal_parse(const char *name)
{
	int i;

	for (i = 0; i < FL_AGENT_REFUSAL_N; i++)
		if (strcmp(name, refusal_names[i]) == 0)
			return i;
	return -1;
}

int fl_agent_b64url_encode(const uint8_t *in, size_t n, char *out,
			   size_t outlen)
{
	size_t i, o = 0;
	uint32_t v;

	if (outlen < n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) + 1)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return (int)o;
}

static int b64url_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

int fl_agent_b64url_decode(const char *in, size_t len, uint8_t *out,
			   size_t outlen)
{
	size_t i, o = 0, rest = len % 4;
	uint32_t v = 0;
	int d, bits = 0;

	if (rest == 1 || len / 4 * 3 + (rest ? rest - 1 : 0) > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		d = b64url_value(in[i]);
		if (d < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}

	/* Canonical text only: the bits left over must be zero, so that
	 * one token has one spelling. */
	if (v != 0)
		return -1;
	return (int)o;
}

/* HMAC-SHA256 over a then b (b may be empty) into out.  Returns 0, or
 * -1 when the pieces are longer than any message of ours. */
static int hmac2(const uint8_t *key, size_t klen, const void *a, size_t alen,
		 const void *b, size_t blen, uint8_t out[FL_AGENT_KEY_LEN])
{
	uint8_t buf[FL_AGENT_CLAIMS_MAX + 128];
	unsigned int n = FL_AGENT_KEY_LEN;
	int rc = -1;

	memset(out, 0, FL_AGENT_KEY_LEN);
	if (alen + blen > sizeof(buf))
		return -1;
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	if (HMAC(EVP_sha256(), key, (int)klen, buf, alen + blen, out, &n))
		rc = 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* ---- claims ---- */

static int only(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, set) == n;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

static int dns_label(const char *s)
{
	size_t n = strlen(s);

	return only(s, LOWER_DIGITS "-", 1, 63) && s[0] != '-' &&
	       s[n - 1] != '-';
}

static int dns_name(const char *s)
{
	size_t n = strlen(s);

	return only(s, LOWER_DIGITS "-.", 1, 253) && s[0] != '-' &&
	       s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '.';
}

/* "pod/NS/NAME", or an ECS task ARN ("arn:PARTITION:ecs:...:task/..."). */
static int valid_target(const char *t)
{
	char ns[64];
	const char *slash;
	size_t i, n = strlen(t);

	if (strncmp(t, "pod/", 4) == 0) {
		slash = strchr(t + 4, '/');
		if (!slash || (size_t)(slash - t - 4) >= sizeof(ns))
			return 0;
		memcpy(ns, t + 4, (size_t)(slash - t - 4));
		ns[slash - t - 4] = '\0';
		return dns_label(ns) && dns_name(slash + 1);
	}
	if (strncmp(t, "arn:", 4) != 0 || n > 511 || !strstr(t, ":ecs:") ||
	    !strstr(t, ":task/"))
		return 0;
	for (i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] > '~')
			return 0;
	return 1;
}

static int claims_valid(const struct fl_agent_claims *c)
{
	return only(c->run, LOWER_DIGITS "-", 1, 63) && dns_label(c->ns) &&
	       dns_name(c->name) && valid_target(c->target) &&
	       only(c->inj, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-", 1,
		    127) &&
	       c->exp > 0;
}

/* Copies the string member key of o into out; -1 when it is missing, not
 * a string, or too long. */
static int copy_str(struct json_object *o, const char *key, char *out, size_t n)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= n)
		return -1;
	memcpy(out, json_object_get_string(v),
	       (size_t)json_object_get_string_len(v) + 1);
	return strlen(out) == (size_t)json_object_get_string_len(v) ? 0 : -1;
}

/* Reads claims JSON into c: exactly the seven fields, v first checked
 * for the version. */
static enum fl_agent_refusal claims_parse(const char *text, size_t len,
					  struct fl_agent_claims *c)
{
	enum fl_agent_refusal r = FL_AGENT_MALFORMED;
	struct json_tokener *tok = json_tokener_new_ex(2);
	struct json_object *o, *v = NULL, *exp = NULL;

	memset(c, 0, sizeof(*c));
	if (!tok)
		return FL_AGENT_MALFORMED;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "v", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	if (json_object_get_int64(v) != 1) {
		r = FL_AGENT_BAD_VERSION;
		goto out;
	}
	if (json_object_object_length(o) != 7 ||
	    copy_str(o, "run", c->run, sizeof(c->run)) < 0 ||
	    copy_str(o, "ns", c->ns, sizeof(c->ns)) < 0 ||
	    copy_str(o, "name", c->name, sizeof(c->name)) < 0 ||
	    copy_str(o, "target", c->target, sizeof(c->target)) < 0 ||
	    copy_str(o, "inj", c->inj, sizeof(c->inj)) < 0 ||
	    !json_object_object_get_ex(o, "exp", &exp) ||
	    !json_object_is_type(exp, json_type_int))
		goto out;
	c->exp = json_object_get_int64(exp);
	if (claims_valid(c))
		r = FL_AGENT_OK;
out:
	if (r != FL_AGENT_OK)
		memset(c, 0, sizeof(*c));
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

/* ---- tokens ---- */

int fl_agent_token_sign_raw(const uint8_t *master, size_t mlen,
			    const char *claims, size_t clen, char *token,
			    size_t tlen, uint8_t proof_key[FL_AGENT_KEY_LEN])
{
	uint8_t mac[FL_AGENT_KEY_LEN];
	int n, rc = -1;

	if (tlen)
		token[0] = '\0';
	if (mlen < FL_AGENT_MASTER_MIN || clen == 0 ||
	    clen > FL_AGENT_CLAIMS_MAX ||
	    hmac2(master, mlen, claims, clen, NULL, 0, mac) < 0)
		goto out;
	n = fl_agent_b64url_encode((const uint8_t *)claims, clen, token, tlen);
	if (n < 0 || (size_t)n + 1 >= tlen)
		goto out;
	token[n] = '.';
	if (fl_agent_b64url_encode(mac, sizeof(mac), token + n + 1,
				   tlen - (size_t)n - 1) < 0)
		goto out;
	if (proof_key && hmac2(master, mlen, PROOF_LABEL, strlen(PROOF_LABEL),
			       claims, clen, proof_key) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && tlen)
		token[0] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int fl_agent_token_sign(const uint8_t *master, size_t mlen,
			const struct fl_agent_claims *c, char *token,
			size_t tlen, uint8_t proof_key[FL_AGENT_KEY_LEN])
{
	struct json_object *o;
	const char *text;
	int rc = -1;

	if (tlen)
		token[0] = '\0';
	if (!claims_valid(c))
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "run", json_object_new_string(c->run));
	json_object_object_add(o, "ns", json_object_new_string(c->ns));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "target", json_object_new_string(c->target));
	json_object_object_add(o, "inj", json_object_new_string(c->inj));
	json_object_object_add(o, "exp", json_object_new_int64(c->exp));
	text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = fl_agent_token_sign_raw(master, mlen, text, strlen(text), token,
				     tlen, proof_key);
	json_object_put(o);
	return rc;
}

/* Splits a token into its claims bytes and MAC.  Returns the claims
 * length, or -1 when the token is not two base64url parts of sane
 * size. */
static int token_split(const char *token, uint8_t *claims, size_t cmax,
		       uint8_t mac[FL_AGENT_KEY_LEN])
{
	const char *dot;
	size_t n;
	int clen;

	if (!token)
		return -1;
	n = strnlen(token, FL_AGENT_TOKEN_MAX);
	dot = memchr(token, '.', n);
	if (n >= FL_AGENT_TOKEN_MAX || !dot)
		return -1;
	clen = fl_agent_b64url_decode(token, (size_t)(dot - token), claims,
				      cmax);
	if (clen <= 0 ||
	    fl_agent_b64url_decode(dot + 1, strlen(dot + 1), mac,
				   FL_AGENT_KEY_LEN) != FL_AGENT_KEY_LEN)
		return -1;
	return clen;
}

enum fl_agent_refusal fl_agent_token_verify(const uint8_t *master, size_t mlen,
					    const char *token, int64_t now,
					    struct fl_agent_claims *c,
					    uint8_t proof_key[FL_AGENT_KEY_LEN])
{
	uint8_t claims[FL_AGENT_CLAIMS_MAX], mac[FL_AGENT_KEY_LEN];
	uint8_t want[FL_AGENT_KEY_LEN];
	enum fl_agent_refusal r = FL_AGENT_MALFORMED;
	int clen = token_split(token, claims, sizeof(claims), mac);

	memset(c, 0, sizeof(*c));
	if (proof_key)
		memset(proof_key, 0, FL_AGENT_KEY_LEN);
	if (clen < 0 || mlen < FL_AGENT_MASTER_MIN)
		goto out;

	/* The MAC first: nothing an outsider wrote is believed, and a
	 * forged token is called forged whatever its claims say. */
	if (hmac2(master, mlen, claims, (size_t)clen, NULL, 0, want) < 0 ||
	    CRYPTO_memcmp(want, mac, sizeof(mac)) != 0) {
		r = FL_AGENT_FORGED;
		goto out;
	}
	r = claims_parse((const char *)claims, (size_t)clen, c);
	if (r != FL_AGENT_OK)
		goto out;
	if (c->exp + FL_AGENT_SKEW_S < now) {
		r = FL_AGENT_EXPIRED;
		goto out;
	}
	if (proof_key && hmac2(master, mlen, PROOF_LABEL, strlen(PROOF_LABEL),
			       claims, (size_t)clen, proof_key) < 0)
		r = FL_AGENT_MALFORMED;
out:
	if (r != FL_AGENT_OK) {
		memset(c, 0, sizeof(*c));
		if (proof_key)
			memset(proof_key, 0, FL_AGENT_KEY_LEN);
	}
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

enum fl_agent_refusal fl_agent_token_peek(const char *token,
					  struct fl_agent_claims *c)
{
	uint8_t claims[FL_AGENT_CLAIMS_MAX], mac[FL_AGENT_KEY_LEN];
	int clen = token_split(token, claims, sizeof(claims), mac);

	memset(c, 0, sizeof(*c));
	if (clen < 0)
		return FL_AGENT_MALFORMED;
	return claims_parse((const char *)claims, (size_t)clen, c);
}

/* ---- proofs and challenges ---- */

static void proof_mac(const uint8_t key[FL_AGENT_KEY_LEN],
		      const char *challenge, int64_t ts,
		      uint8_t out[FL_AGENT_KEY_LEN])
{
	char tail[32];
	int n = snprintf(tail, sizeof(tail), "|%lld", (long long)ts);

	if (hmac2(key, FL_AGENT_KEY_LEN, challenge,
		  strnlen(challenge, FL_AGENT_CHALLENGE_LEN), tail, (size_t)n,
		  out) < 0)
		memset(out, 0, FL_AGENT_KEY_LEN);
}

void fl_agent_proof(const uint8_t proof_key[FL_AGENT_KEY_LEN],
		    const char *challenge, int64_t ts,
		    char out[FL_AGENT_B64_KEY_LEN])
{
	uint8_t mac[FL_AGENT_KEY_LEN];

	proof_mac(proof_key, challenge, ts, mac);
	fl_agent_b64url_encode(mac, sizeof(mac), out, FL_AGENT_B64_KEY_LEN);
}

enum fl_agent_refusal
fl_agent_proof_check(const uint8_t proof_key[FL_AGENT_KEY_LEN],
		     const char *challenge, int64_t ts, const char *proof,
		     int64_t now)
{
	uint8_t want[FL_AGENT_KEY_LEN], got[FL_AGENT_KEY_LEN];
	enum fl_agent_refusal r = FL_AGENT_BAD_PROOF;

	if (!proof || fl_agent_b64url_decode(proof, strnlen(proof, 64), got,
					     sizeof(got)) != FL_AGENT_KEY_LEN)
		return FL_AGENT_BAD_PROOF;
	proof_mac(proof_key, challenge, ts, want);
	if (CRYPTO_memcmp(want, got, sizeof(want)) == 0)
		r = ts > now + FL_AGENT_SKEW_S || ts < now - FL_AGENT_SKEW_S
			    ? FL_AGENT_STALE
			    : FL_AGENT_OK;
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

int fl_agent_challenge(char out[FL_AGENT_CHALLENGE_LEN])
{
	uint8_t raw[32];

	out[0] = '\0';
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	return fl_agent_b64url_encode(raw, sizeof(raw), out,
				      FL_AGENT_CHALLENGE_LEN) < 0
		       ? -1
		       : 0;
}
