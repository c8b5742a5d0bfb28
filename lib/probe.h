/*
 * Steady-state probes: take one sample of a probe (http, prometheus,
 * kubernetes, cloudwatch) and keep the verdict over many samples.
 *
 * The operator calls fl_probe_sample() from its reconcile loop, once per
 * probe interval, and feeds each result to the probe's fl_probe_state:
 *
 *	struct fl_probe_ctx ctx;
 *	struct fl_probe_state st;
 *	struct fl_probe_result r;
 *
 *	fl_probe_ctx_init(&ctx, kube, "shop");
 *	fl_probe_state_init(&st, p);
 *	if (fl_probe_sample(p, &ctx, &r) < 0)
 *		... the probe is invalid: r.message says why (Stalled) ...
 *	fl_probe_state_add(&st, r.passed, r.message);
 *	... st.verdict, st.samples, st.passed, st.timeline -> status ...
 *	fl_probe_ctx_release(&ctx);
 *
 * A sample blocks for at most the probe's timeout (kubernetes: the fl_kube
 * client's own timeout and retries).  A context is used by one thread at a
 * time; it keeps a connection cache and the kind-to-resource map of API
 * discovery between samples, so keep one per worker rather than one per
 * sample.
 */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "experiment.h"
#include "kube.h"

/* Response bytes a probe reads by default (fl_probe_ctx.max_body). */
#define FL_PROBE_MAX_BODY (1u << 20)
/* The timeline's length at most, as the CRD's status.probes[].timeline. */
#define FL_PROBE_TIMELINE_MAX 4096
/* The mark that starts a timeline whose oldest samples were dropped. */
#define FL_PROBE_TIMELINE_CUT '~'

struct fl_probe_kind_cache; /* the discovery map, private to probe.c */
struct fl_aws;		    /* aws.h */

/* What samples need.  fl_probe_ctx_init() fills it; the caller may then
 * change max_body.  kube and namespace are borrowed, not owned. */
struct fl_probe_ctx {
	fl_kube *kube;	       /* kubernetes probes; NULL refuses them */
	const char *namespace; /* for probes that name none; NULL for
				      "default" */
	size_t max_body;       /* response bytes read at most */
	void *curl;	       /* a reused libcurl easy handle */
	struct fl_probe_kind_cache *kinds; /* apiVersion+kind -> resource */
	/* cloudwatch probes: the caller's AWS client for a region (NULL
	 * for the default one), or NULL with err filled; without it they
	 * are refused. */
	struct fl_aws *(*aws_for)(void *arg, const char *region, char *err,
				  size_t n);
	void *aws_arg;
};

/* One sample. */
struct fl_probe_result {
	int passed;	    /* 1 when the sample met every expectation */
	int invalid;	    /* 1 when the probe itself is wrong or cannot
			       run here (fl_probe_sample returned -1) */
	int64_t latency_ms; /* request time; 0 when nothing was sent */
	int has_value;	    /* value holds what was observed */
	double value;	    /* prometheus: the sample; kubernetes: the field
			       when numeric; http: the status code */
	char message[512];  /* lowercase, names what was checked or what
			       failed, e.g. "http GET http://x/healthz: status
			       503, expected 200" */
};

/* The verdict of a probe over its samples, like Kubernetes probes: it
 * becomes HOLDS after success_threshold passes in a row and FAILS after
 * failure_threshold failures in a row; until either happens the first
 * time it is UNKNOWN. */
enum fl_probe_verdict { FL_PROBE_UNKNOWN, FL_PROBE_HOLDS, FL_PROBE_FAILS };

/*
 * The history of one probe.  The timeline has one character per sample,
 * oldest first: '+' passed, '-' failed.  It never grows past
 * FL_PROBE_TIMELINE_MAX characters: once more samples than that were
 * taken, it is FL_PROBE_TIMELINE_CUT followed by the newest
 * FL_PROBE_TIMELINE_MAX - 1 samples, and dropped counts the samples that
 * it no longer shows (samples and passed always count every sample).
 */
struct fl_probe_state {
	int success_threshold;
	int failure_threshold;
	enum fl_probe_verdict verdict;
	int pass_run;	 /* passes in a row, up to now */
	int fail_run;	 /* failures in a row, up to now */
	int64_t samples; /* every sample */
	int64_t passed;	 /* every passed sample */
	int64_t dropped; /* samples cut from the front of the timeline */
	char timeline[FL_PROBE_TIMELINE_MAX + 1];
	size_t timeline_len;
	char last_error[512]; /* the last failed sample's message, or "" */
};

/* Prepares ctx with kube and namespace (both may be NULL, both borrowed).
 * Release it with fl_probe_ctx_release(). */
void fl_probe_ctx_init(struct fl_probe_ctx *ctx, fl_kube *kube,
		       const char *namespace);

/* Frees what ctx holds (the connection cache, the discovery map); leaves
 * kube alone. */
void fl_probe_ctx_release(struct fl_probe_ctx *ctx);

/*
 * Checks a probe's definition without sending anything: its kind's
 * required fields, URLs, the expect comparison, durations.  Returns 0, or
 * -1 with a message in err that names the probe and the field:
 * "probe 'errors': prometheus.expect: cannot parse '<< 0.5': ...".
 */
int fl_probe_validate(const struct fl_probe *p, char *err, size_t n);

/*
 * Takes one sample of p.  Returns 0 when a sample was taken, passed or
 * not (out->passed says which; an unreachable URL or a missing object is
 * a failed sample).  Returns -1 when the probe cannot be sampled at all:
 * its definition is invalid (see fl_probe_validate()), its kind is not in
 * this build (cloudwatch), or it needs a client ctx lacks; out->invalid is
 * then set and out->message says why.  out is always filled.
 */
int fl_probe_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
		    struct fl_probe_result *out);

/* Starts an empty history for p (p may be NULL: thresholds of 1). */
void fl_probe_state_init(struct fl_probe_state *s, const struct fl_probe *p);

/*
 * Adds one sample to s: counts it, extends the timeline and updates the
 * verdict.  message (may be NULL) is kept as last_error when the sample
 * failed.  Returns the verdict after this sample.
 */
enum fl_probe_verdict fl_probe_state_add(struct fl_probe_state *s, int passed,
					 const char *message);

/*
 * Rebuilds s from what status holds (an operator that restarted): the
 * counts and the timeline as fl_probe_state wrote them.  The runs and the
 * verdict are derived from the timeline's newest samples.  Returns 0, or
 * -1 when the timeline holds another character, is too long, or disagrees
 * with the counts (s is then unchanged).  Call fl_probe_state_init()
 * first: the thresholds come from there.
 */
int fl_probe_state_restore(struct fl_probe_state *s, int64_t samples,
			   int64_t passed, const char *timeline);

/* "Passed", "Failed" or "Unknown", as status.probes[] writes verdicts. */
const char *fl_probe_verdict_name(enum fl_probe_verdict v);

#endif
