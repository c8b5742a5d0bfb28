/*
 * What the files of the AWS client share and nothing else should use:
 * the client's struct, the service table, the request engine (query and
 * JSON protocols with retries), the credentials cache, and XML helpers.
 */
#ifndef FL_AWS_IMPL_H
#define FL_AWS_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <libxml/tree.h>

#include "aws.h"
#include "buf.h"

/* Refresh temporary credentials this long before they expire. */
#define FL_AWS_REFRESH_S 300

enum fl_aws_proto {
	FL_AWS_PROTO_QUERY, /* form-encoded POST, XML answer */
	FL_AWS_PROTO_JSON   /* JSON 1.1 POST with X-Amz-Target */
};

struct fl_aws_svc {
	const char *name;    /* in messages: "ec2", "cloudwatch" */
	const char *env_id;  /* AWS_ENDPOINT_URL_<env_id> */
	const char *prefix;  /* endpoint host prefix */
	const char *signing; /* SigV4 service name */
	const char *version; /* API version of the query protocol */
	enum fl_aws_proto proto;
	const char *target; /* JSON target prefix, "Prefix.Operation" */
};

extern const struct fl_aws_svc fl_aws_svcs[FL_AWS_NSERVICES];

struct fl_aws {
	CURL *curl;
	struct fl_aws_opts opts; /* defaults filled in */
	char *region;
	char *profile_name;
	char *config_file; /* NULL when it cannot be named (no HOME) */
	char *creds_file;
	char *endpoint[FL_AWS_NSERVICES];
	struct fl_aws_creds creds; /* the cache; access_key_id NULL: empty */
	unsigned long fetches;	   /* chain walks */
	uint64_t rng;		   /* xorshift state for jitter */
	char request_id[128];	   /* from the last response's headers */
	char errbuf[CURL_ERROR_SIZE];
};

/* -- request engine (aws.c) --------------------------------------------- */

/* Appends "&name=value" (the '&' only when f is not empty), both
 * percent-encoded as the query protocol wants.  Returns 0, or -1 when f
 * is full. */
int fl_aws_form_add(struct fl_buf *f, const char *name, const char *value);

/*
 * Sends Action=action&Version=...&params to svc, signed (or not, when
 * unsigned_req: AssumeRoleWithWebIdentity), with retries.  On success
 * *out is the parsed answer, freed by the caller with xmlFreeDoc().
 */
int fl_aws_query(fl_aws *a, enum fl_aws_service svc, const char *action,
		 const struct fl_buf *params, int unsigned_req, xmlDoc **out,
		 struct fl_aws_error *err);

/* Sends body (JSON 1.1) as operation op of svc, with retries.  On success
 * *out is the parsed answer with one reference for the caller. */
int fl_aws_json(fl_aws *a, enum fl_aws_service svc, const char *op,
		struct json_object *body, struct json_object **out,
		struct fl_aws_error *err);

/* A plain HTTP request for the credential endpoints (no signature, no
 * retries). headers: NULL-terminated "Name: value" lines, or NULL. */
struct fl_aws_http {
	const char *method;
	const char *url;
	const char *const *headers;
	const char *body; /* or NULL */
	long timeout_ms;
};

/* Sends r; returns 0 when an answer came (any status, in *status, body in
 * *body, which the caller initialised with its bound), else -1 with the
 * reason in msg. */
int fl_aws_http(fl_aws *a, const struct fl_aws_http *r, long *status,
		struct fl_buf *body, char *msg, size_t msglen);

/* -- errors (aws_error.c) ----------------------------------------------- */

/* Fills e with our own error: status, code, a formatted message, and the
 * text "svc action: message". */
void fl_aws_err_set(struct fl_aws_error *e, const char *svc, const char *action,
		    long status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Formats e->text from e->code and e->message for svc and action. */
void fl_aws_err_text(struct fl_aws_error *e, const char *svc,
		     const char *action);

/* -- credentials (aws_creds.c) ------------------------------------------ */

/* The cached credentials, refreshed when they are missing or close to
 * expiring.  *out points into the client, valid until the next call. */
int fl_aws_creds_current(fl_aws *a, const struct fl_aws_creds **out,
			 struct fl_aws_error *err);

/* Drops the cache so that the next call walks the chain again. */
void fl_aws_creds_forget(fl_aws *a);

/* Parses an ISO 8601 UTC time ("2026-12-03T19:00:00Z", with or without
 * fractional seconds, "Z" or "+00:00").  Returns 0, or -1. */
int fl_aws_parse_time(const char *s, time_t *t);

/* Formats t as "2026-12-03T19:00:00Z" into out (21 bytes at least). */
void fl_aws_format_time(time_t t, char *out, size_t n);

/* -- XML (aws_xml.c) ---------------------------------------------------- */

/* Parses an XML answer without network access or entity expansion;
 * NULL when it is not well-formed XML. */
xmlDoc *fl_xml_parse(const char *data, size_t len);

/* The first child element of n named name (local name, any namespace),
 * or NULL. */
xmlNode *fl_xml_child(const xmlNode *n, const char *name);

/* The next sibling element of n with n's name, or NULL. */
xmlNode *fl_xml_next(const xmlNode *n);

/* Follows a path of child names ("a/b/c") from n; NULL when a step is
 * missing. */
xmlNode *fl_xml_path(const xmlNode *n, const char *path);

/* The text of the element at path under n, copied into out (truncated to
 * n bytes); returns out, or NULL (out = "") when there is none. */
char *fl_xml_text(const xmlNode *n, const char *path, char *out, size_t outlen);

/* Adds the text at path under n to o as a string under key, when there
 * is one. */
void fl_xml_put_str(struct json_object *o, const char *key, const xmlNode *n,
		    const char *path);

/* Adds the text at path as a boolean ("true"/"false") under key. */
void fl_xml_put_bool(struct json_object *o, const char *key, const xmlNode *n,
		     const char *path);

#endif
