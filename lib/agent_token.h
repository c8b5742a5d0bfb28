/*
 * Per-injection tokens for the agent channel between the operator and
 * each injector (the sidecar).
 *
 * A token names one injection of one run of one experiment on one
 * target, and when it stops being valid:
 *
 *   claims = {"v":1,"run":"r1a2b3","ns":"shop","name":"slow-payments",
 *             "target":"pod/shop/payments-0","inj":"i-1","exp":1767000000}
 *   token  = base64url(claims) "." base64url(HMAC-SHA256(master, claims))
 *
 * Only the operator holds the master key, so only it can make or check a
 * token.  It also derives a proof key for the injection,
 *
 *   proof_key = HMAC-SHA256(master, "faultline-agent-v1|" claims)
 *
 * and hands token and proof key to the injector in its spec.  On each
 * connection the operator sends a fresh random challenge, and the
 * injector answers with its token and HMAC-SHA256(proof_key,
 * challenge "|" ts): a hello recorded on one connection is worthless on
 * another, and a token alone (without its proof key) proves nothing.
 *
 * Nothing here keeps state: refusing a second live session for one
 * injection is the server's job (FL_AGENT_IN_USE names that refusal).
 */
#ifndef FL_AGENT_TOKEN_H
#define FL_AGENT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define FL_AGENT_KEY_LEN 32	  /* proof keys and MACs, bytes */
#define FL_AGENT_MASTER_MIN 32	  /* shortest master key accepted */
#define FL_AGENT_TOKEN_MAX 2048	  /* longest token text, NUL included */
#define FL_AGENT_CLAIMS_MAX 1400  /* longest claims JSON */
#define FL_AGENT_B64_KEY_LEN 44	  /* base64url of 32 bytes + NUL */
#define FL_AGENT_CHALLENGE_LEN 44 /* challenge text, NUL included */
#define FL_AGENT_SKEW_S 60	  /* clock skew allowed on exp and ts */

/* What a token names.  Strings are NUL-terminated and validated. */
struct fl_agent_claims {
	char run[64];	  /* the run id: [a-z0-9-], 1 to 63 */
	char ns[64];	  /* the experiment's namespace (a DNS label) */
	char name[254];	  /* the experiment's name (a DNS subdomain) */
	char target[512]; /* "pod/NS/NAME" or an ECS task ARN */
	char inj[128];	  /* the injection id: [A-Za-z0-9._-], 1 to 127 */
	int64_t exp;	  /* unix seconds after which it is refused */
};

/* Why a hello or a token was refused; FL_AGENT_OK when it was not. */
enum fl_agent_refusal {
	FL_AGENT_OK = 0,
	FL_AGENT_MALFORMED,   /* not a token, or claims of the wrong shape */
	FL_AGENT_BAD_VERSION, /* a signed token of a version we do not know */
	FL_AGENT_FORGED,      /* the MAC does not match */
	FL_AGENT_EXPIRED,     /* exp is past (beyond the skew allowed) */
	FL_AGENT_BAD_PROOF,   /* the proof does not answer this challenge */
	FL_AGENT_STALE,	      /* the proof's ts is too far from now */
	FL_AGENT_IN_USE,      /* another live session holds the injection */
	FL_AGENT_FULL,	      /* the server holds all the sessions it may */
	FL_AGENT_PROTOCOL,    /* a message out of turn or of the wrong type */
	FL_AGENT_REFUSAL_N,
};

/* The refusal's stable name ("forged", "expired", ...), for logs and the
 * wire.  Never NULL. */
const char *fl_agent_refusal_name(enum fl_agent_refusal r);

/* The refusal a name stands for; -1 when the name is unknown. */
int fl_agent_refusal_parse(const char *name);

/*
 * Signs claims c with the master key: writes the token text into token
 * (tlen bytes, FL_AGENT_TOKEN_MAX is always enough) and, when proof_key
 * is not NULL, the injection's proof key.  Returns 0, or -1 when the
 * master key is shorter than FL_AGENT_MASTER_MIN, a claim is not valid,
 * or token is too small (token is then empty).
 */
int fl_agent_token_sign(const uint8_t *master, size_t mlen,
			const struct fl_agent_claims *c, char *token,
			size_t tlen, uint8_t proof_key[FL_AGENT_KEY_LEN]);

/*
 * Signs the claims bytes as they are, without looking at them (for tests
 * that need a correctly signed token with a bad shape or version).  Same
 * results as fl_agent_token_sign().
 */
int fl_agent_token_sign_raw(const uint8_t *master, size_t mlen,
			    const char *claims, size_t clen, char *token,
			    size_t tlen, uint8_t proof_key[FL_AGENT_KEY_LEN]);

/*
 * Verifies a token at time now (unix seconds): shape, MAC (compared in
 * constant time), version, claims, expiry (FL_AGENT_SKEW_S allowed).
 * Fills c and, when proof_key is not NULL, the injection's proof key,
 * only on FL_AGENT_OK; otherwise returns the reason and leaves them
 * zeroed.
 */
enum fl_agent_refusal
fl_agent_token_verify(const uint8_t *master, size_t mlen, const char *token,
		      int64_t now, struct fl_agent_claims *c,
		      uint8_t proof_key[FL_AGENT_KEY_LEN]);

/*
 * Reads a token's claims WITHOUT checking its MAC: for the injector,
 * which has no master key and only wants to know its own injection id.
 * Never trust the result for anything the operator decides.  Returns
 * FL_AGENT_OK or the reason the token cannot be read.
 */
enum fl_agent_refusal fl_agent_token_peek(const char *token,
					  struct fl_agent_claims *c);

/*
 * The proof for a challenge: base64url(HMAC-SHA256(proof_key,
 * challenge "|" ts)) into out (FL_AGENT_B64_KEY_LEN bytes).
 */
void fl_agent_proof(const uint8_t proof_key[FL_AGENT_KEY_LEN],
		    const char *challenge, int64_t ts,
		    char out[FL_AGENT_B64_KEY_LEN]);

/*
 * Checks a proof against the challenge this connection was sent, in
 * constant time, and that ts is within FL_AGENT_SKEW_S of now.  Returns
 * FL_AGENT_OK, FL_AGENT_BAD_PROOF or FL_AGENT_STALE.
 */
enum fl_agent_refusal
fl_agent_proof_check(const uint8_t proof_key[FL_AGENT_KEY_LEN],
		     const char *challenge, int64_t ts, const char *proof,
		     int64_t now);

/* A fresh random challenge (32 bytes from the system's CSPRNG, as
 * base64url) into out.  Returns 0, or -1 when no randomness could be had
 * (out is then empty: never send it). */
int fl_agent_challenge(char out[FL_AGENT_CHALLENGE_LEN]);

/* base64url without padding of n bytes into out (outlen bytes, at least
 * 4 * n / 3 + 2).  Returns the length, or -1 when out is too small. */
int fl_agent_b64url_encode(const uint8_t *in, size_t n, char *out,
			   size_t outlen);

/* Decodes base64url without padding (len characters of in) into out
 * (outlen bytes).  Returns the byte count, or -1 for a character outside
 * the alphabet, an impossible length, nonzero trailing bits or a short
 * out. */
int fl_agent_b64url_decode(const char *in, size_t len, uint8_t *out,
			   size_t outlen);

#endif
