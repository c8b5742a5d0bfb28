/*
 * The Event recorder.  A remembered event is keyed by everything that
 * makes two events "the same" (object, type, reason, action, note); the
 * key is kept whole, so a hash collision cannot merge two different
 * events.  The cache is a fixed array scanned in full: it is small, and
 * recording an event is rare next to the API call it makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "kube_event.h"
#include "kube_lease.h"
#include "kube_watch.h"

#define EVENT_NOTE_MAX 1024
#define EVENT_FIELD_MAX 128
#define EVENT_KEY_MAX (6 * 256 + EVENT_NOTE_MAX)
/* Room left for ".<16 hex digits>" in a 253-byte object name. */
#define EVENT_BASE_MAX 200

struct fl_kube_recorded {
	char *key;	 /* NULL for a free slot */
	char ns[64];	 /* where the Event lives */
	char name[256];	 /* its metadata.name */
	long count;	 /* times seen */
	int64_t last_ms; /* when last seen (monotonic) */
};

void fl_kube_recorder_init(struct fl_kube_recorder *r, fl_kube *kube,
			   const struct fl_kube_recorder_opts *opts)
{
	memset(r, 0, sizeof(*r));
	r->kube = kube;
	r->controller = fl_strdup(opts->controller ? opts->controller
						   : "faultline.dev/operator");
	r->instance = fl_strdup(opts->instance ? opts->instance : "faultline");
	r->window_s = opts->window_s > 0 ? opts->window_s : 600;
	r->max_cache = opts->max_cache ? opts->max_cache : 1024;
	r->cache = fl_calloc(r->max_cache, sizeof(*r->cache));
	r->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)r;
}

void fl_kube_recorder_release(struct fl_kube_recorder *r)
{
	size_t i;

	for (i = 0; i < r->used; i++)
		free(r->cache[i].key);
	free(r->cache);
	free(r->controller);
	free(r->instance);
	memset(r, 0, sizeof(*r));
}

/* The length of s cut to at most max bytes, not inside a UTF-8
 * sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static char *event_key(const struct fl_kube_objref *o, const char *type,
		       const char *reason, const char *action, const char *note)
{
	struct fl_buf b;

	/* NUL-free separators: a field cannot end early and shift the
	 * rest into its neighbour. */
	fl_buf_init(&b, EVENT_KEY_MAX);
	if (fl_buf_addf(&b, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f",
			o->api_version ? o->api_version : "", o->kind,
			o->namespace ? o->namespace : "", o->name,
			o->uid ? o->uid : "", type, reason, action) ||
	    fl_buf_add(&b, note, utf8_cut(note, EVENT_NOTE_MAX))) {
		fl_buf_release(&b);
		return NULL;
	}
	return fl_buf_detach(&b, NULL);
}

static struct fl_kube_recorded *find(struct fl_kube_recorder *r,
				     const char *key)
{
	size_t i;

	for (i = 0; i < r->used; i++)
		if (!strcmp(r->cache[i].key, key))
			return &r->cache[i];
	return NULL;
}

/* A slot for a new event: a free one, else the least recently seen. */
static struct fl_kube_recorded *take_slot(struct fl_kube_recorder *r)
{
	struct fl_kube_recorded *oldest;
	size_t i;

	if (r->used < r->max_cache)
		return &r->cache[r->used++];
	oldest = &r->cache[0];
	for (i = 1; i < r->used; i++)
		if (r->cache[i].last_ms < oldest->last_ms)
			oldest = &r->cache[i];
	free(oldest->key);
	oldest->key = NULL;
	return oldest;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static struct json_object *event_body(struct fl_kube_recorder *r,
				      const struct fl_kube_recorded *e,
				      const struct fl_kube_objref *o,
				      const char *type, const char *reason,
				      const char *action, const char *note)
{
	struct json_object *ev = json_object_new_object();
	struct json_object *meta = json_object_new_object();
	struct json_object *reg = json_object_new_object();
	char now[40];

	add_str(ev, "apiVersion", "events.k8s.io/v1");
	add_str(ev, "kind", "Event");
	add_str(meta, "name", e->name);
	add_str(meta, "namespace", e->ns);
	json_object_object_add(ev, "metadata", meta);
	add_str(ev, "eventTime", fl_kube_microtime(now, sizeof(now)));
	add_str(ev, "reportingController", r->controller);
	add_str(ev, "reportingInstance", r->instance);
	add_str(ev, "type", type);
	add_str(ev, "reason", reason);
	add_str(ev, "action", action);
	json_object_object_add(
		ev, "note",
		json_object_new_string_len(
			note, (int)utf8_cut(note, EVENT_NOTE_MAX)));
	add_str(reg, "apiVersion", o->api_version);
	add_str(reg, "kind", o->kind);
	add_str(reg, "namespace", o->namespace);
	add_str(reg, "name", o->name);
	add_str(reg, "uid", o->uid);
	json_object_object_add(ev, "regarding", reg);
	return ev;
}

static int create_event(struct fl_kube_recorder *r, struct fl_kube_recorded *e,
			const struct fl_kube_objref *o, const char *type,
			const char *reason, const char *action,
			const char *note, struct fl_kube_status *st)
{
	struct fl_kube_ref ref = {.group = "events.k8s.io",
				  .version = "v1",
				  .resource = "events",
				  .namespace = e->ns};
	struct timespec ts;
	struct json_object *body;
	int rc;

	/* Unique per event, as client-go names them: the object's name and
	 * the time, here with a random tail against two in one tick. */
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(e->name, sizeof(e->name), "%.*s.%llx%04x",
		 (int)utf8_cut(o->name, EVENT_BASE_MAX), o->name,
		 (unsigned long long)ts.tv_sec * 1000000000ULL +
			 (unsigned long long)ts.tv_nsec,
		 (unsigned)rand_r(&r->seed) & 0xffff);
	body = event_body(r, e, o, type, reason, action, note);
	rc = fl_kube_create(r->kube, &ref, body, NULL, st);
	json_object_put(body);
	return rc;
}

static int patch_series(struct fl_kube_recorder *r, struct fl_kube_recorded *e,
			long count, struct fl_kube_status *st)
{
	struct fl_kube_ref ref = {.group = "events.k8s.io",
				  .version = "v1",
				  .resource = "events",
				  .namespace = e->ns,
				  .name = e->name};
	char now[40], patch[256];

	snprintf(patch, sizeof(patch),
		 "{\"series\":{\"count\":%ld,\"lastObservedTime\":\"%s\"}}",
		 count, fl_kube_microtime(now, sizeof(now)));
	return fl_kube_patch(r->kube, &ref, FL_KUBE_PATCH_MERGE, patch, NULL, 0,
			     NULL, st);
}

static int valid_args(const struct fl_kube_objref *o, const char *type,
		      const char *reason, const char *action, const char *note,
		      struct fl_kube_status *st)
{
	const char *why = NULL;

	if (!o || !o->kind || !o->name || !reason || !action || !note || !type)
		why = "an event needs an object, type, reason, action and note";
	else if (strcmp(type, "Normal") && strcmp(type, "Warning"))
		why = "event type must be Normal or Warning";
	else if (strlen(reason) > EVENT_FIELD_MAX ||
		 strlen(action) > EVENT_FIELD_MAX)
		why = "event reason and action are at most 128 bytes";
	else if (o->namespace && strlen(o->namespace) >= 64)
		why = "event namespace is too long";
	if (!why)
		return 0;
	memset(st, 0, sizeof(*st));
	snprintf(st->message, sizeof(st->message), "%s", why);
	return -1;
}

int fl_kube_event_record(struct fl_kube_recorder *r,
			 const struct fl_kube_objref *regarding,
			 const char *type, const char *reason,
			 const char *action, const char *note, long *count_out,
			 struct fl_kube_status *st)
{
	int64_t now = fl_kube_monotonic_ms();
	struct fl_kube_recorded *e;
	char *key;
	int rc = -1;

	if (valid_args(regarding, type, reason, action, note, st))
		return -1;
	key = event_key(regarding, type, reason, action, note);
	if (!key) {
		memset(st, 0, sizeof(*st));
		snprintf(st->message, sizeof(st->message),
			 "event about '%s' is too large to record",
			 regarding->name);
		return -1;
	}

	e = find(r, key);
	if (e && now - e->last_ms <= (int64_t)r->window_s * 1000) {
		rc = patch_series(r, e, e->count + 1, st);
		if (!rc) {
			e->count++;
			e->last_ms = now;
			goto out;
		}
		/* The Event may have been deleted (they expire): start a
		 * new one rather than lose this occurrence. */
		if (st->code != 404)
			goto out;
		fl_kube_status_release(st);
	}
	if (!e) {
		e = take_slot(r);
		e->key = key;
		key = NULL;
	}
	snprintf(e->ns, sizeof(e->ns), "%s",
		 regarding->namespace ? regarding->namespace : "default");
	e->count = 1;
	e->last_ms = now;
	rc = create_event(r, e, regarding, type, reason, action, note, st);
out:
	if (!rc && count_out)
		*count_out = e->count;
	free(key);
	return rc;
}
