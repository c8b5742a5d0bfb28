/*
 * Inside the probes: what probe.c shares with the file of each kind
 * (probe_http.c, probe_prometheus.c, probe_kubernetes.c), and the pure
 * decoders that the unit tests reach.  Not for callers outside lib/: they
 * use probe.h.
 */
#ifndef FL_PROBE_KINDS_H
#define FL_PROBE_KINDS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "probe.h"

/* One HTTP exchange as a probe sees it. */
struct fl_probe_fetch {
	const char *method; /* "GET" when NULL */
	const char *url;
	struct json_object *headers; /* {"Name": "value"}, or NULL */
	const char *body;	     /* request body, or NULL */
	int64_t timeout_ms;
	int keep_body; /* 0: read and drop the body */
	/* results */
	long status;
	int64_t latency_ms;
	struct fl_buf resp; /* bounded by ctx->max_body when kept */
	int too_large;	    /* the body went past ctx->max_body */
};

/*
 * Sends f's request with ctx's handle.  Returns 0 when a response came
 * (any status); -1 when none did, with err saying why in a few lowercase
 * words ("cannot connect", "timed out after 2000 ms") and nothing else.
 * The caller releases f->resp in both cases.
 */
int fl_probe_fetch(struct fl_probe_ctx *ctx, struct fl_probe_fetch *f,
		   char *err, size_t n);

/* Nonzero when url is http:// or https://, a host, and no blanks or
 * control characters. */
int fl_probe_url_ok(const char *url);

/* url with any user:password@ removed, cut to fit out. */
char *fl_probe_url_text(const char *url, char *out, size_t n);

/* Sets r->message like printf. */
void fl_probe_msg(struct fl_probe_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Each kind: validate (see fl_probe_validate(), without the probe's name
 * in err: the caller adds it) and sample (see fl_probe_sample()). */
int fl_probe_http_validate(struct json_object *params, char *err, size_t n);
int fl_probe_http_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
			 struct fl_probe_result *r);
int fl_probe_prom_validate(struct json_object *params, char *err, size_t n);
int fl_probe_prom_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
			 struct fl_probe_result *r);
int fl_probe_cw_validate(struct json_object *params, char *err, size_t n);
int fl_probe_cw_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
		       struct fl_probe_result *r);
int fl_probe_kube_validate(struct json_object *params, char *err, size_t n);
int fl_probe_kube_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
			 struct fl_probe_result *r);

/*
 * Decodes a Prometheus instant-query response (HTTP status and body).
 * Returns 0 with *value the one sample of a vector or the scalar; -1 with
 * a lowercase message in err: an error the server reported, an empty
 * vector, several series, another result type, a body that is not the
 * API's JSON.
 */
int fl_probe_prom_decode(long status, const char *body, size_t len,
			 double *value, char *err, size_t n);

/* The kind-to-resource map of API discovery. */
struct fl_probe_kind_cache *fl_probe_kinds_new(void);
void fl_probe_kinds_free(struct fl_probe_kind_cache *c);

/*
 * Finds the resource (plural) and scope of kind in a discovery document
 * (an APIResourceList).  Returns 1 with plural (up to n bytes) and
 * *namespaced set, 0 when the list has no such kind.  Subresources
 * ("deployments/status") are never taken.
 */
int fl_probe_kinds_find(struct json_object *list, const char *kind,
			char *plural, size_t n, int *namespaced);

#endif
