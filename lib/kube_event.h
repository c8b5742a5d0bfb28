/*
 * Recording events.k8s.io/v1 Events about objects, as kubectl describe and
 * `kubectl get events` show them.  The same event (same object, type,
 * reason, action and note) repeated within a window does not make a new
 * Event: the first one grows a series (count, lastObservedTime) by a
 * PATCH, so a flapping probe leaves one line, not hundreds.
 *
 * The recorder remembers a bounded number of recent events; the oldest is
 * forgotten first, and a forgotten event simply starts a new Event.
 */
#ifndef FL_KUBE_EVENT_H
#define FL_KUBE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "kube.h"

/* The object an event is about (regarding). */
struct fl_kube_objref {
	const char *api_version; /* "faultline.dev/v1alpha1" */
	const char *kind;	 /* "ChaosExperiment" */
	const char *namespace;	 /* NULL for cluster-scoped */
	const char *name;
	const char *uid; /* or NULL */
};

struct fl_kube_recorder_opts {
	const char *controller; /* reportingController: "faultline.dev/op" */
	const char *instance;	/* reportingInstance: the pod's name */
	int window_s;		/* repeats within this aggregate; 600 */
	size_t max_cache;	/* events remembered; default 1024 */
};

struct fl_kube_recorded; /* one remembered event (kube_event.c) */

struct fl_kube_recorder {
	fl_kube *kube;		     /* borrowed */
	char *controller, *instance; /* owned */
	int window_s;
	size_t max_cache;
	struct fl_kube_recorded *cache; /* max_cache slots */
	size_t used;			/* slots filled */
	unsigned seed;			/* for Event names */
};

/* Copies opts' strings.  Release with fl_kube_recorder_release(). */
void fl_kube_recorder_init(struct fl_kube_recorder *r, fl_kube *kube,
			   const struct fl_kube_recorder_opts *opts);
void fl_kube_recorder_release(struct fl_kube_recorder *r);

/*
 * Records one event: type "Normal" or "Warning", reason (CamelCase, at
 * most 128 bytes), action (what was done, at most 128 bytes) and note
 * (free text; cut to 1024 bytes).  Creates an Event in the object's
 * namespace ("default" for a cluster-scoped object), or PATCHes the
 * series of the same event seen within the window.  Returns 0, or -1
 * with *st filled (the caller releases it).  *count_out, when not NULL,
 * gets how many times the Event has now been seen.
 */
int fl_kube_event_record(struct fl_kube_recorder *r,
			 const struct fl_kube_objref *regarding,
			 const char *type, const char *reason,
			 const char *action, const char *note, long *count_out,
			 struct fl_kube_status *st);

#endif
