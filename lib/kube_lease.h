/*
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go
 * does it: take the Lease when nobody holds it or its holder has not
 * renewed it for leaseDurationSeconds, renew it every retry period while
 * leading, and step down when renewing has failed for longer than the
 * renew deadline.  Writes carry the resourceVersion read, so two
 * candidates cannot both win (the loser gets 409 and reads again).
 *
 * Expiry is judged by our own monotonic clock: the holder's lease runs
 * from the moment we saw the record change, never from the timestamp it
 * wrote, so clocks that disagree cannot make two leaders.
 *
 * Single-threaded: the caller calls fl_kube_lease_tick() when it asks to
 * be woken, and hears about leadership through the callbacks.
 *
 * A leader steps down renew_deadline after its last successful renewal,
 * at the latest one client call later; another candidate takes over no
 * sooner than lease_duration after it saw that renewal.  So that the two
 * never overlap, give the lease its own client whose timeout_ms times
 * (max_retries + 1) stays well below lease_duration - renew_deadline
 * (with the defaults, under 5 s: e.g. 2000 ms and one retry).  A retried
 * call also waits as long as the server's Retry-After asks (up to a
 * minute), which no such budget covers: the safest lease client does not
 * retry at all (max_retries < 0), as the next tick retries anyway.
 */
#ifndef FL_KUBE_LEASE_H
#define FL_KUBE_LEASE_H

#include <stdint.h>

#include "kube.h"

struct fl_kube_lease_opts {
	const char *namespace; /* of the Lease */
	const char *name;      /* of the Lease */
	const char *identity;  /* ours: unique per process, e.g. pod name */
	int lease_duration_s;  /* default 15 */
	int renew_deadline_ms; /* default 10000; below the duration */
	int retry_period_ms;   /* default 2000 */
};

struct fl_kube_lease {
	fl_kube *kube;	      /* borrowed */
	char *ns, *name, *id; /* owned copies */
	int lease_duration_s;
	int renew_deadline_ms;
	int retry_period_ms;
	int leading;	      /* we hold it, as far as we know */
	int64_t renewed_ms;   /* when our last write succeeded */
	char observed_rv[64]; /* the record as we last saw it */
	int64_t observed_ms;  /* when we saw it change (our clock) */
	unsigned seed;	      /* retry jitter */
	void (*on_started)(void *arg);
	void (*on_stopped)(void *arg);
	void *arg;
	struct fl_kube_status last; /* the last failure, for logs */
};

/* What a candidate does with the record it read. */
enum fl_kube_lease_action {
	FL_LEASE_WAIT,	/* someone else holds a lease that has not run out */
	FL_LEASE_TAKE,	/* nobody holds it, or it ran out: write ourselves */
	FL_LEASE_RENEW, /* it is ours: write a new renewTime */
};

/*
 * The decision, with no I/O: holder is the record's holderIdentity (NULL
 * or "" for none), observed_ms when we saw the record last change,
 * duration_ms the record's lease duration, now_ms our clock.
 */
enum fl_kube_lease_action
fl_kube_lease_decide(const char *holder, const char *me, int64_t observed_ms,
		     int64_t duration_ms, int64_t now_ms);

/* Copies opts' strings; the callbacks may be NULL.  Release with
 * fl_kube_lease_release(), which does not give the Lease up. */
void fl_kube_lease_init(struct fl_kube_lease *l, fl_kube *kube,
			const struct fl_kube_lease_opts *opts,
			void (*on_started)(void *arg),
			void (*on_stopped)(void *arg), void *arg);
void fl_kube_lease_release(struct fl_kube_lease *l);

/*
 * One round at now_ms (CLOCK_MONOTONIC milliseconds): read the Lease,
 * take or renew it when due, step down when renewing has failed past the
 * deadline; calls on_started/on_stopped on a change.  Returns when to
 * call again (monotonic milliseconds).  A failed round is normal (a 409,
 * the server away): l->last says what happened.
 */
int64_t fl_kube_lease_tick(struct fl_kube_lease *l, int64_t now_ms);

/*
 * Gives the Lease up if we hold it, so that another candidate need not
 * wait for it to run out, and calls on_stopped.  Returns 0, or -1 when
 * the write failed (the Lease then simply runs out).
 */
int fl_kube_lease_resign(struct fl_kube_lease *l);

/* Formats a wall-clock time as a Kubernetes MicroTime
 * ("2006-01-02T15:04:05.000000Z") into out; returns out. */
char *fl_kube_microtime(char *out, size_t n);

#endif
