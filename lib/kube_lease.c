/*
 * Leader election on a Lease.  Each round reads the Lease, notes when
 * its record last changed by our own clock, and writes ourselves in when
 * the decision says so.  All the judgement is in fl_kube_lease_decide();
 * the rest is reading and writing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "json.h"
#include "kube_lease.h"
#include "kube_watch.h"

enum fl_kube_lease_action
fl_kube_lease_decide(const char *holder, const char *me, int64_t observed_ms,
		     int64_t duration_ms, int64_t now_ms)
{
	if (!holder || !holder[0])
		return FL_LEASE_TAKE;
	if (!strcmp(holder, me))
		return FL_LEASE_RENEW;
	if (now_ms >= observed_ms + duration_ms)
		return FL_LEASE_TAKE;
	return FL_LEASE_WAIT;
}

char *fl_kube_microtime(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%06ldZ", day, ts.tv_nsec / 1000);
	return out;
}

void fl_kube_lease_init(struct fl_kube_lease *l, fl_kube *kube,
			const struct fl_kube_lease_opts *opts,
			void (*on_started)(void *arg),
			void (*on_stopped)(void *arg), void *arg)
{
	memset(l, 0, sizeof(*l));
	l->kube = kube;
	l->ns = fl_strdup(opts->namespace);
	l->name = fl_strdup(opts->name);
	l->id = fl_strdup(opts->identity);
	l->lease_duration_s =
		opts->lease_duration_s > 0 ? opts->lease_duration_s : 15;
	l->renew_deadline_ms =
		opts->renew_deadline_ms > 0 ? opts->renew_deadline_ms : 10000;
	l->retry_period_ms =
		opts->retry_period_ms > 0 ? opts->retry_period_ms : 2000;
	l->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)l;
	l->on_started = on_started;
	l->on_stopped = on_stopped;
	l->arg = arg;
}

void fl_kube_lease_release(struct fl_kube_lease *l)
{
	free(l->ns);
	free(l->name);
	free(l->id);
	fl_kube_status_release(&l->last);
}

static struct fl_kube_ref lease_ref(const struct fl_kube_lease *l,
				    int with_name)
{
	struct fl_kube_ref ref = {
		.group = "coordination.k8s.io",
		.version = "v1",
		.resource = "leases",
		.namespace = l->ns,
		.name = with_name ? l->name : NULL,
	};

	return ref;
}

static void set_leading(struct fl_kube_lease *l, int leading)
{
	if (l->leading == leading)
		return;
	l->leading = leading;
	if (leading && l->on_started)
		l->on_started(l->arg);
	if (!leading && l->on_stopped)
		l->on_stopped(l->arg);
}

/* Keeps st as the last failure (taking over its details). */
static void remember(struct fl_kube_lease *l, struct fl_kube_status *st)
{
	fl_kube_status_release(&l->last);
	l->last = *st;
	memset(st, 0, sizeof(*st));
}

static void observe(struct fl_kube_lease *l, struct json_object *lease,
		    int64_t now_ms)
{
	const char *rv =
		fl_json_str(fl_json_get(lease, "metadata"), "resourceVersion");

	if (!rv || strlen(rv) >= sizeof(l->observed_rv))
		rv = "";
	if (strcmp(rv, l->observed_rv) || !rv[0]) {
		snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", rv);
		l->observed_ms = now_ms;
	}
}

/* Writes us into spec as holder; taking, not renewing, also resets the
 * acquire time and counts a transition. */
static void fill_spec(struct fl_kube_lease *l, struct json_object *spec,
		      int taking)
{
	char now[40];
	const char *holder = fl_json_str(spec, "holderIdentity");
	struct json_object *tr = fl_json_get(spec, "leaseTransitions");
	int64_t transitions = tr ? json_object_get_int64(tr) : 0;

	fl_kube_microtime(now, sizeof(now));
	if (taking) {
		if (holder && holder[0] && strcmp(holder, l->id))
			transitions++;
		json_object_object_add(spec, "acquireTime",
				       json_object_new_string(now));
		json_object_object_add(spec, "leaseTransitions",
				       json_object_new_int64(transitions));
	}
	json_object_object_add(spec, "holderIdentity",
			       json_object_new_string(l->id));
	json_object_object_add(spec, "leaseDurationSeconds",
			       json_object_new_int(l->lease_duration_s));
	json_object_object_add(spec, "renewTime", json_object_new_string(now));
}

static int create_lease(struct fl_kube_lease *l, int64_t now_ms,
			struct fl_kube_status *st)
{
	struct fl_kube_ref ref = lease_ref(l, 0);
	struct json_object *body = json_object_new_object();
	struct json_object *meta = json_object_new_object();
	struct json_object *spec = json_object_new_object();
	struct json_object *out = NULL;
	int rc;

	json_object_object_add(
		body, "apiVersion",
		json_object_new_string("coordination.k8s.io/v1"));
	json_object_object_add(body, "kind", json_object_new_string("Lease"));
	json_object_object_add(meta, "name", json_object_new_string(l->name));
	json_object_object_add(meta, "namespace",
			       json_object_new_string(l->ns));
	json_object_object_add(body, "metadata", meta);
	fill_spec(l, spec, 1);
	json_object_object_add(body, "spec", spec);

	rc = fl_kube_create(l->kube, &ref, body, &out, st);
	if (!rc)
		observe(l, out, now_ms);
	json_object_put(out);
	json_object_put(body);
	return rc;
}

/* Writes lease (as read, resourceVersion and all) back with us in it. */
static int write_lease(struct fl_kube_lease *l, struct json_object *lease,
		       int taking, int64_t now_ms, struct fl_kube_status *st)
{
	struct fl_kube_ref ref = lease_ref(l, 1);
	struct json_object *spec = fl_json_get(lease, "spec"), *out = NULL;
	int rc;

	if (!spec) {
		spec = json_object_new_object();
		json_object_object_add(lease, "spec", spec);
	}
	fill_spec(l, spec, taking);
	rc = fl_kube_update(l->kube, &ref, lease, &out, st);
	if (!rc)
		observe(l, out, now_ms);
	json_object_put(out);
	return rc;
}

/*
 * One attempt to take or renew.  Returns 1 when we hold the Lease after
 * it, 0 when someone else does, -1 when we could not tell (st says why).
 */
static int try_acquire_or_renew(struct fl_kube_lease *l, int64_t now_ms,
				struct fl_kube_status *st)
{
	struct fl_kube_ref ref = lease_ref(l, 1);
	struct json_object *lease = NULL, *spec, *dur;
	enum fl_kube_lease_action act;
	int64_t duration_ms;
	int rc = -1;

	if (fl_kube_get(l->kube, &ref, &lease, st)) {
		/* The client fills st afresh without freeing what it held. */
		if (st->code == 404) {
			fl_kube_status_release(st);
			rc = create_lease(l, now_ms, st) ? -1 : 1;
		}
		goto out;
	}
	observe(l, lease, now_ms);
	spec = fl_json_get(lease, "spec");
	dur = fl_json_get(spec, "leaseDurationSeconds");
	duration_ms = dur ? json_object_get_int64(dur) : l->lease_duration_s;
	/* The record is the server's word: keep the product (and the sum
	 * the decision makes with it) from overflowing. */
	if (duration_ms < 0)
		duration_ms = 0;
	else if (duration_ms > INT32_MAX)
		duration_ms = INT32_MAX;
	duration_ms *= 1000;
	act = fl_kube_lease_decide(fl_json_str(spec, "holderIdentity"), l->id,
				   l->observed_ms, duration_ms, now_ms);
	if (act == FL_LEASE_WAIT) {
		rc = 0;
		goto out;
	}
	rc = write_lease(l, lease, act == FL_LEASE_TAKE, now_ms, st) ? -1 : 1;
out:
	json_object_put(lease);
	return rc;
}

/* The wait before the next round: the retry period, stretched by up to a
 * fifth for candidates so that they do not all come back at once. */
static int64_t next_round(struct fl_kube_lease *l, int64_t now_ms)
{
	int64_t wait = l->retry_period_ms;

	if (!l->leading)
		wait += rand_r(&l->seed) % (l->retry_period_ms / 5 + 1);
	return now_ms + wait;
}

/* Whether a leader has gone too long without a successful renewal. */
static int overdue(const struct fl_kube_lease *l, int64_t now_ms)
{
	return l->leading && now_ms - l->renewed_ms > l->renew_deadline_ms;
}

int64_t fl_kube_lease_tick(struct fl_kube_lease *l, int64_t now_ms)
{
	struct fl_kube_status st = {0};
	int64_t next;
	int held;

	/* Step down before any I/O: a call that blocks must not stretch
	 * our claim past the deadline. */
	if (overdue(l, now_ms))
		set_leading(l, 0);
	held = try_acquire_or_renew(l, now_ms, &st);
	if (held == 1) {
		l->renewed_ms = now_ms;
		set_leading(l, 1);
	} else if (held == 0) {
		/* Someone else wrote the Lease: whatever we thought, we do
		 * not lead. */
		set_leading(l, 0);
	} else {
		remember(l, &st);
		/* The call took time of its own: judge by the clock now. */
		if (overdue(l, fl_kube_monotonic_ms()))
			set_leading(l, 0);
	}
	fl_kube_status_release(&st);

	next = next_round(l, now_ms);
	/* A leader wakes in time to notice its own deadline. */
	if (l->leading && next > l->renewed_ms + l->renew_deadline_ms + 1)
		next = l->renewed_ms + l->renew_deadline_ms + 1;
	return next;
}

int fl_kube_lease_resign(struct fl_kube_lease *l)
{
	struct fl_kube_ref ref = lease_ref(l, 1);
	struct fl_kube_status st = {0};
	struct json_object *lease = NULL, *spec;
	const char *holder;
	char now[40];
	int rc = -1;

	if (!l->leading)
		return 0;
	set_leading(l, 0);
	if (fl_kube_get(l->kube, &ref, &lease, &st))
		goto out;
	spec = fl_json_get(lease, "spec");
	holder = fl_json_str(spec, "holderIdentity");
	if (!holder || strcmp(holder, l->id)) {
		rc = 0;
		goto out;
	}
	/* As client-go releases: no holder, a one-second duration. */
	fl_kube_microtime(now, sizeof(now));
	json_object_object_del(spec, "holderIdentity");
	json_object_object_add(spec, "leaseDurationSeconds",
			       json_object_new_int(1));
	json_object_object_add(spec, "renewTime", json_object_new_string(now));
	rc = fl_kube_update(l->kube, &ref, lease, NULL, &st);
out:
	if (rc)
		remember(l, &st);
	fl_kube_status_release(&st);
	json_object_put(lease);
	return rc;
}
