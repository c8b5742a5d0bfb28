/*
 * AWS Signature Version 4 for HTTP requests sent with the Authorization
 * header.
 *
 * The signer takes a request as it will be sent (method, encoded path, raw
 * query string, headers, payload), credentials, region, service and a
 * time, and produces every stage of the algorithm: the canonical request,
 * the string to sign, the signature, the Authorization header value, and
 * the headers the caller must add before sending.  Each stage is kept so
 * that tests can compare them with AWS's published test suite.
 *
 * Every header given is signed: pass exactly the headers that will be
 * sent (host included).  Inputs are bounded (FL_SIGV4_MAX_*); a request
 * beyond them is refused rather than copied into ever larger buffers.
 */
#ifndef FL_AWS_SIGV4_H
#define FL_AWS_SIGV4_H

#include <stddef.h>
#include <time.h>

#define FL_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define FL_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#define FL_SIGV4_MAX_TEXT (256 * 1024) /* canonical request, path, query */
#define FL_SIGV4_MAX_HEADERS 128       /* headers in the request */
#define FL_SIGV4_MAX_PARAMS 512	       /* query parameters */

struct fl_sigv4_header {
	const char *name;
	const char *value;
};

struct fl_sigv4_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* as sent, percent-encoded, no query; "" is "/" */
	const char *query;  /* as sent, without '?'; NULL or "" for none */
	const struct fl_sigv4_header *headers; /* names in any case; */
	size_t nheaders;		       /* duplicates allowed */
	const void *payload;		       /* body; NULL when empty */
	size_t payload_len;
	const char *payload_hash; /* lowercase hex SHA-256 of the body, or
				   * FL_SIGV4_UNSIGNED_PAYLOAD; NULL to hash
				   * payload here */
};

struct fl_sigv4_creds {
	const char *access_key_id;
	const char *secret_key;
	const char *session_token; /* NULL for long-term keys */
};

/* Flags of struct fl_sigv4_params. */
enum {
	/*
	 * S3 rules for the path: used exactly as sent, neither normalized
	 * nor encoded again.  Without it (every other service) dot segments
	 * and empty segments are removed and the path is encoded once more.
	 */
	FL_SIGV4_S3_PATH = 1 << 0,
	/*
	 * The session token is sent but not signed: some services want
	 * X-Amz-Security-Token added after the signature is computed.
	 */
	FL_SIGV4_TOKEN_AFTER = 1 << 1,
	/* Sign and send X-Amz-Content-Sha256 (S3 requires it). */
	FL_SIGV4_CONTENT_SHA256 = 1 << 2,
};

struct fl_sigv4_params {
	const char *region;  /* "us-east-1" */
	const char *service; /* signing name: "ec2", "monitoring", ... */
	time_t when;	     /* signing time, UTC seconds */
	unsigned flags;	     /* FL_SIGV4_* */
};

/* The most headers fl_sigv4_sign() asks the caller to add. */
#define FL_SIGV4_MAX_ADD 4

struct fl_sigv4_result {
	char *creq;	     /* canonical request */
	char *sts;	     /* string to sign */
	char *authorization; /* value of the Authorization header */
	char signature[65];  /* lowercase hex, NUL-terminated */
	char amz_date[17];   /* signing time, "20150830T123600Z" */
	/*
	 * Headers the request does not carry yet and must before it is sent:
	 * X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256 as they
	 * apply, then Authorization.  Names are constants; values are owned
	 * by the result.
	 */
	struct fl_sigv4_header add[FL_SIGV4_MAX_ADD];
	size_t nadd;
	char err[256]; /* why fl_sigv4_sign() failed; "" on success */
};

/*
 * Signs req.  On success returns 0 and fills *res, whose strings the caller
 * frees with fl_sigv4_result_release().  On failure returns -1, puts the
 * reason in res->err and leaves nothing to free (releasing is still safe).
 * Failure means the request cannot be signed as given: a missing host
 * header, a malformed header name, an x-amz-date header that disagrees
 * with the signing time, an input past the FL_SIGV4_MAX_* limits, and the
 * like.  The inputs are only read.
 */
int fl_sigv4_sign(const struct fl_sigv4_request *req,
		  const struct fl_sigv4_creds *creds,
		  const struct fl_sigv4_params *params,
		  struct fl_sigv4_result *res);

/* Frees what fl_sigv4_sign() stored in res and empties it. */
void fl_sigv4_result_release(struct fl_sigv4_result *res);

#endif
