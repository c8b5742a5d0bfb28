/*
 * Watching one resource type: the watch protocol (event lines, bookmarks,
 * resuming from the last resourceVersion, relisting after 410 Gone) and a
 * reflector that keeps a kube_store.h store in step with the server.
 *
 * The reflector runs in the calling thread: fl_kube_reflector_run() lists,
 * watches, resumes and backs off until a deadline or a stop request, and
 * calls the consumer back from inside.  The consumer hears each change
 * once: a relist after a gap is diffed against the store, so a delete that
 * happened during the gap arrives as a delete, and an object that did not
 * change is not reported again.
 */
#ifndef FL_KUBE_WATCH_H
#define FL_KUBE_WATCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "kube.h"
#include "kube_store.h"

/* One line of a watch stream. */
enum fl_kube_watch_type {
	FL_WATCH_ADDED,
	FL_WATCH_MODIFIED,
	FL_WATCH_DELETED,
	FL_WATCH_BOOKMARK,
	FL_WATCH_ERROR,
};

#define FL_KUBE_RV_MAX 64 /* longest resourceVersion we accept, with NUL */

struct fl_kube_watch_event {
	enum fl_kube_watch_type type;
	const char *type_name;	    /* "ADDED", ...; static */
	struct json_object *line;   /* the parsed line; one reference, owned */
	struct json_object *object; /* line's "object"; borrowed from line */
	const char *rv;		    /* object's resourceVersion, or NULL */
	long code;		    /* ERROR: the Status code, else 0 */
	const char *reason;	    /* ERROR: the Status reason, or NULL */
};

/*
 * Parses one watch line of len bytes (at most 64 levels of nesting).
 * On success fills ev (release it with fl_kube_watch_event_release()) and
 * returns 0; returns -1 with a message in err for a line that is not JSON,
 * has no known type, or whose object is missing or has an over-long
 * resourceVersion.
 */
int fl_kube_watch_parse(const char *line, size_t len,
			struct fl_kube_watch_event *ev, char *err,
			size_t errlen);
void fl_kube_watch_event_release(struct fl_kube_watch_event *ev);

/* What the reflector tells about itself, beside the changes: for tests,
 * logs and metrics. */
enum fl_kube_reflector_note {
	FL_REFLECTOR_LISTED,   /* a (re)list finished; rv is the list's */
	FL_REFLECTOR_WATCHING, /* a watch starts from rv (a resume when a
				  watch ran before) */
	FL_REFLECTOR_BOOKMARK, /* a bookmark moved rv */
	FL_REFLECTOR_EXPIRED,  /* 410 Gone: rv is too old, relisting */
	FL_REFLECTOR_FAILED,   /* a list or watch failed; st says why */
	FL_REFLECTOR_BACKOFF,  /* waiting ms before the next attempt */
};

/* Hears what the reflector does (for logs and metrics).  st is set for
 * FL_REFLECTOR_FAILED, and for FL_REFLECTOR_EXPIRED when the server
 * answered 410; ms only for FL_REFLECTOR_BACKOFF; NULL or 0 otherwise. */
typedef void fl_kube_reflector_note_cb(void *arg,
				       enum fl_kube_reflector_note note,
				       const char *rv, long ms,
				       const struct fl_kube_status *st);

struct fl_kube_reflector_opts {
	const char *label_selector; /* or NULL */
	const char *field_selector; /* or NULL */
	long page_size;		    /* list page size; default 500 */
	int watch_timeout_s;	    /* timeoutSeconds per watch; default 300 */
	int backoff_base_ms;	    /* first backoff; default 250 */
	int backoff_max_ms;	    /* cap, also on Retry-After; 30000 */
	size_t max_line;	    /* one event's bytes; default 4 MiB */
	/* Called on each object before the store sees it, to drop what the
	 * consumer never reads (metadata.managedFields is often half of an
	 * object); NULL for none.  It changes obj in place. */
	void (*transform)(struct json_object *obj, void *arg);
};

struct fl_kube_reflector {
	fl_kube *kube;			    /* borrowed */
	struct fl_kube_ref ref;		    /* strings copied, owned */
	struct fl_kube_reflector_opts opts; /* selectors copied, owned */
	struct fl_kube_store store;
	char rv[FL_KUBE_RV_MAX];    /* resume point; "" until the first list */
	int need_list;		    /* next step lists instead of watching */
	int failures;		    /* in a row, for the backoff */
	int retry_after_ms;	    /* the server's wish for the next wait */
	unsigned seed;		    /* for the jitter */
	volatile sig_atomic_t stop; /* set (from anywhere) to end run() */
	int64_t deadline_ms;	    /* of the current run(), monotonic */
	fl_kube_store_cb *on_change;
	fl_kube_reflector_note_cb *on_note;
	void *arg; /* for the callbacks and the transform */
	/* per stream */
	long lines;		    /* lines seen by the current watch */
	int stream_error;	    /* the current watch met a bad line */
	struct fl_kube_status last; /* the last failure, for the caller */
};

/*
 * Sets up r for the collection ref (its name and subresource are
 * ignored); copies ref's and opts' strings.  on_note may be NULL.
 * Release with fl_kube_reflector_release().
 */
void fl_kube_reflector_init(struct fl_kube_reflector *r, fl_kube *kube,
			    const struct fl_kube_ref *ref,
			    const struct fl_kube_reflector_opts *opts,
			    fl_kube_store_cb *on_change,
			    fl_kube_reflector_note_cb *on_note, void *arg);
void fl_kube_reflector_release(struct fl_kube_reflector *r);

/*
 * One step: a list when one is due, else one watch until the server ends
 * it, it fails or the deadline passes; then the backoff wait when the step
 * failed.  Returns 0 when the step succeeded, -1 when it failed (r->last
 * says why; the next step retries).
 */
int fl_kube_reflector_step(struct fl_kube_reflector *r, int64_t deadline_ms);

/*
 * Steps until deadline_ms (CLOCK_MONOTONIC milliseconds; 0 for none) or
 * until r->stop is set.  A failure never ends the run: it is retried with
 * backoff.  Returns 0.  Stopping takes effect between lines and steps; a
 * quiet watch can hold it for up to its timeoutSeconds.
 */
int fl_kube_reflector_run(struct fl_kube_reflector *r, int64_t deadline_ms);

/* A transform that removes metadata.managedFields. */
void fl_kube_strip_managed_fields(struct json_object *obj, void *arg);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t fl_kube_monotonic_ms(void);

/*
 * The wait before attempt failures+1: base * 2^(failures-1), capped at
 * max, then jittered down by up to half (so many clients do not come back
 * at once), and never below retry_after_ms (itself capped at max).
 * *seed is the jitter's state.
 */
long fl_kube_backoff_ms(int failures, int base_ms, int max_ms,
			int retry_after_ms, unsigned *seed);

#endif
