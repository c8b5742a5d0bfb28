/*
 * AWS errors: decoding the answers of both protocols (and the XML that
 * some JSON services send for authentication failures), which codes mean
 * throttling, which failures are worth another attempt, and the backoff
 * between attempts.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aws_impl.h"
#include "json.h"

/* Codes that mean "slow down", as the SDKs list them. */
static const char *const throttle_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

/* Codes that mean a passing fault on the service's side. */
static const char *const transient_codes[] = {
	"RequestTimeout",  "RequestTimeoutException", "InternalError",
	"InternalFailure", "ServiceUnavailable",      "IDPCommunicationError",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; code && i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return 1;
	return 0;
}

/* Whether code means throttling. */
int fl_aws_is_throttle(const char *code)
{
	return in_list(code, throttle_codes,
		       sizeof(throttle_codes) / sizeof(throttle_codes[0]));
}

/* Whether the failure in e may be sent again. */
int fl_aws_retryable(const struct fl_aws_error *e)
{
	if (strcmp(e->code, "Transport") == 0)
		return 1;
	if (e->status == 0)
		return 0;
	if (e->status == 429 || (e->status >= 500 && e->status != 501))
		return 1;
	return fl_aws_is_throttle(e->code) ||
	       in_list(e->code, transient_codes,
		       sizeof(transient_codes) / sizeof(transient_codes[0]));
}

/* Full jitter: uniform in [0, min(max, base * 2^n)]. */
long fl_aws_backoff_ms(int n, int base_ms, int max_ms, uint64_t *rng)
{
	long cap = base_ms > 0 ? base_ms : 1;
	int i;

	for (i = 0; i < n && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap <= 0)
		return 0;
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return (long)(*rng % (uint64_t)(cap + 1));
}

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* A body that is not an AWS error, made printable and short. */
static void plain(char *out, size_t n, const char *body, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < n && o < 200; i++)
		out[o++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	out[o] = '\0';
}

static int decode_xml(struct fl_aws_error *e, const char *body, size_t len)
{
	xmlDoc *doc = fl_xml_parse(body, len);
	xmlNode *root, *err;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!root)
		goto out;
	/* <Response><Errors><Error> (EC2), <ErrorResponse><Error> (query),
	 * or a bare <Error>. */
	err = fl_xml_path(root, "Errors/Error");
	if (!err)
		err = fl_xml_child(root, "Error");
	if (!err && strcmp((const char *)root->name, "Error") == 0)
		err = root;
	if (!err || !fl_xml_text(err, "Code", e->code, sizeof(e->code)))
		goto out;
	fl_xml_text(err, "Message", e->message, sizeof(e->message));
	if (!fl_xml_text(root, "RequestId", e->request_id,
			 sizeof(e->request_id)))
		fl_xml_text(root, "RequestID", e->request_id,
			    sizeof(e->request_id));
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* "com.amazonaws.ecs#ClientException" and "ClientException:http://..."
 * are both ClientException. */
static void json_code(char *out, size_t n, const char *type)
{
	const char *hash = strrchr(type, '#');
	size_t len;

	if (hash)
		type = hash + 1;
	len = strcspn(type, ":");
	if (len >= n)
		len = n - 1;
	memcpy(out, type, len);
	out[len] = '\0';
}

static int decode_json(struct fl_aws_error *e, const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	const char *type, *msg;
	int rc = -1;

	if (!tok)
		return -1;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	type = fl_json_str(o, "__type");
	if (!type)
		type = fl_json_str(o, "code");
	if (!type || !*type)
		goto out;
	json_code(e->code, sizeof(e->code), type);
	msg = fl_json_str(o, "message");
	if (!msg)
		msg = fl_json_str(o, "Message");
	copy(e->message, sizeof(e->message), msg);
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

/* Decodes an error answer (see aws.h). */
void fl_aws_error_decode(struct fl_aws_error *e, long status, const char *body,
			 size_t len, const char *request_id)
{
	size_t i = 0;
	int rc = -1;

	e->status = status;
	e->code[0] = e->message[0] = '\0';
	copy(e->request_id, sizeof(e->request_id), request_id);
	if (!body)
		len = 0;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i < len && body[i] == '<')
		rc = decode_xml(e, body + i, len - i);
	else if (i < len && body[i] == '{' && len - i < 0x7fffffff)
		rc = decode_json(e, body + i, len - i);
	if (rc == 0) {
		if (request_id && *request_id)
			copy(e->request_id, sizeof(e->request_id), request_id);
		return;
	}
	copy(e->code, sizeof(e->code), "HTTPError");
	if (len) {
		char shown[256];

		plain(shown, sizeof(shown), body, len);
		snprintf(e->message, sizeof(e->message),
			 "answered %ld with a body that is not an aws error: "
			 "%s",
			 status, shown);
	} else {
		snprintf(e->message, sizeof(e->message),
			 "answered %ld with an empty body", status);
	}
}

/* Formats e->text. */
void fl_aws_err_text(struct fl_aws_error *e, const char *svc,
		     const char *action)
{
	int ours = e->status == 0 || strcmp(e->code, "HTTPError") == 0;

	if (ours)
		snprintf(e->text, sizeof(e->text), "%s %s: %s", svc, action,
			 e->message);
	else
		snprintf(e->text, sizeof(e->text), "%s %s: %s: %s", svc, action,
			 e->code, e->message);
}

/* Fills e with one of our own errors. */
void fl_aws_err_set(struct fl_aws_error *e, const char *svc, const char *action,
		    long status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	copy(e->code, sizeof(e->code), code);
	e->request_id[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	snprintf(e->text, sizeof(e->text), "%s %s: %s", svc, action,
		 e->message);
}
