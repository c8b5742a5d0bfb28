/*
 * Choosing targets: which objects of a population may be hit, how many of
 * them a fault gets under the blast-radius cap and minHealthy, and which
 * ones.  Nothing here does I/O: the reconciler lists pods and nodes and
 * hands the objects in, so that the rules can be tested on any population.
 */
#ifndef FL_OP_TARGETS_H
#define FL_OP_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "experiment.h"

/* The operator's own rules about where it may act. */
struct fl_scope {
	const char **protected_ns; /* never hold targets */
	size_t nprotected;
	int opt_in;	       /* only namespaces annotated
				  faultline.dev/chaos: allowed */
	const char *self_ns;   /* the operator's namespace (also protected) */
	const char *self_pod;  /* the operator's pod name, or NULL */
	const char *self_node; /* the node it runs on, or NULL */
};

#define FL_CHAOS_ANNOTATION "faultline.dev/chaos"

/*
 * Whether namespace ns may hold targets.  nsobj is the Namespace object
 * (for the opt-in annotation; may be NULL when scope->opt_in is off).
 * Returns 1 when allowed; 0 with a reason in why (e.g. "namespace
 * 'kube-system' is protected") when not.
 */
int fl_scope_namespace_allowed(const struct fl_scope *scope, const char *ns,
			       struct json_object *nsobj, char *why,
			       size_t whylen);

/* Nonzero when the object's metadata.labels match sel (matchLabels and
 * matchExpressions, as Kubernetes defines them; an empty selector matches
 * everything). */
int fl_selector_matches(const struct fl_selector *sel, struct json_object *obj);

/*
 * Writes sel as a label selector string for a list call ("app=web,
 * tier in (a,b),!canary") into out.  Returns 0, or -1 when it does not
 * fit in n bytes (out is then empty).  Also -1 for what a selector string
 * cannot say faithfully: an unknown operator, In or NotIn without values,
 * a key or value with characters outside the label syntax.
 */
int fl_selector_string(const struct fl_selector *sel, char *out, size_t n);

/*
 * Whether a pod may be a target: Running, its Ready condition True, not
 * being deleted, and not the operator's own pod.  The namespace and label
 * checks are separate (above).  Returns 1, or 0 with the reason in why.
 */
int fl_pod_eligible(const struct fl_scope *scope, struct json_object *pod,
		    char *why, size_t whylen);

/* The same for a node: Ready condition True, not cordoned
 * (spec.unschedulable) nor being deleted, not the operator's node. */
int fl_node_eligible(const struct fl_scope *scope, struct json_object *node,
		     char *why, size_t whylen);

/* How many of a population one fault may hit, and why not more. */
struct fl_plan_count {
	int64_t wanted; /* what the mode asks for */
	int64_t cap;	/* the blast-radius cap */
	int64_t room;	/* population - minHealthy, at least 0 */
	int64_t count;	/* what will be hit: min(wanted, cap, room) */
	char why[256];	/* when count < wanted: which limit, in words */
};

/*
 * The count rule.  population is the number of eligible objects;
 * max_blast_pct the percent cap (1..100); min_healthy what must stay
 * untouched.  The mode asks for: all = population, one = 1, count = its
 * value, percent = ceil(population * value / 100).  The cap is
 * floor(population * max_blast_pct / 100), but at least 1 when the
 * population is not empty.  The result never exceeds the cap nor leaves
 * fewer than min_healthy untouched, and is 0 for an empty population.
 */
void fl_plan_count(int64_t population, const struct fl_mode *mode,
		   int max_blast_pct, int64_t min_healthy,
		   struct fl_plan_count *out);

/*
 * Chooses k distinct indexes of 0..n-1 into out (k <= n), uniformly, with
 * a generator seeded by seed (the same seed gives the same choice).
 * The chosen indexes are written in increasing order.
 */
void fl_choose(size_t n, size_t k, uint64_t seed, size_t *out);

#endif
