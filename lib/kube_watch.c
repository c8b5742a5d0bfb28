/*
 * The watch protocol and the reflector.  The transport (kube.c) hands us
 * lines; this file decides what they mean, where to resume, when a list
 * is needed and how long to wait after a failure.  The store
 * (kube_store.c) decides what the consumer hears.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "kube_watch.h"

#define WATCH_MAX_DEPTH 64
#define QUERY_MAX 4096
/* How much longer than timeoutSeconds we wait for the server to end a
 * watch before we end it ourselves. */
#define WATCH_GRACE_S 15

int64_t fl_kube_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -- parsing one line ----------------------------------------------------- */

static const struct {
	const char *name;
	enum fl_kube_watch_type type;
} watch_types[] = {
	{"ADDED", FL_WATCH_ADDED},     {"MODIFIED", FL_WATCH_MODIFIED},
	{"DELETED", FL_WATCH_DELETED}, {"BOOKMARK", FL_WATCH_BOOKMARK},
	{"ERROR", FL_WATCH_ERROR},
};

static int type_of(const char *s, struct fl_kube_watch_event *ev)
{
	size_t i;

	for (i = 0; s && i < sizeof(watch_types) / sizeof(watch_types[0]);
	     i++) {
		if (!strcmp(s, watch_types[i].name)) {
			ev->type = watch_types[i].type;
			ev->type_name = watch_types[i].name;
			return 0;
		}
	}
	return -1;
}

static struct json_object *parse_json(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(WATCH_MAX_DEPTH);
	struct json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, line, (int)len);
	/* A value followed by more than whitespace is not one event. */
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  strspn(line + json_tokener_get_parse_end(tok), " \t\r\n") !=
			  len - json_tokener_get_parse_end(tok))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int fl_kube_watch_parse(const char *line, size_t len,
			struct fl_kube_watch_event *ev, char *err,
			size_t errlen)
{
	memset(ev, 0, sizeof(*ev));
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "watch line of %zu bytes is too long",
			 len);
		return -1;
	}
	ev->line = parse_json(line, len);
	if (!json_object_is_type(ev->line, json_type_object)) {
		snprintf(err, errlen, "watch line is not a JSON object");
		goto fail;
	}
	if (type_of(fl_json_str(ev->line, "type"), ev)) {
		snprintf(err, errlen, "watch event has no known type");
		goto fail;
	}
	ev->object = fl_json_get(ev->line, "object");
	if (!json_object_is_type(ev->object, json_type_object)) {
		snprintf(err, errlen, "%s watch event has no object",
			 ev->type_name);
		goto fail;
	}

	if (ev->type == FL_WATCH_ERROR) {
		struct json_object *code = fl_json_get(ev->object, "code");

		ev->code = json_object_is_type(code, json_type_int)
				   ? (long)json_object_get_int64(code)
				   : 0;
		ev->reason = fl_json_str(ev->object, "reason");
		return 0;
	}
	ev->rv = fl_kube_obj_rv(ev->object);
	if (!ev->rv || !ev->rv[0] || strlen(ev->rv) >= FL_KUBE_RV_MAX) {
		snprintf(err, errlen,
			 "%s watch event has no usable "
			 "resourceVersion",
			 ev->type_name);
		goto fail;
	}
	return 0;

fail:
	fl_kube_watch_event_release(ev);
	return -1;
}

void fl_kube_watch_event_release(struct fl_kube_watch_event *ev)
{
	json_object_put(ev->line);
	memset(ev, 0, sizeof(*ev));
}

/* -- backoff -------------------------------------------------------------- */

long fl_kube_backoff_ms(int failures, int base_ms, int max_ms,
			int retry_after_ms, unsigned *seed)
{
	long wait = base_ms > 0 ? base_ms : 1;
	int i;

	for (i = 1; i < failures && wait < max_ms; i++)
		wait *= 2;
	if (wait > max_ms)
		wait = max_ms;
	wait -= (long)(rand_r(seed) % (unsigned)(wait / 2 + 1));
	if (retry_after_ms > max_ms)
		retry_after_ms = max_ms;
	return wait < retry_after_ms ? retry_after_ms : wait;
}

/* -- the reflector -------------------------------------------------------- */

void fl_kube_strip_managed_fields(struct json_object *obj, void *arg)
{
	struct json_object *meta = fl_json_get(obj, "metadata");

	(void)arg;
	if (json_object_is_type(meta, json_type_object))
		json_object_object_del(meta, "managedFields");
}

static char *dup_or_null(const char *s)
{
	return s ? fl_strdup(s) : NULL;
}

void fl_kube_reflector_init(struct fl_kube_reflector *r, fl_kube *kube,
			    const struct fl_kube_ref *ref,
			    const struct fl_kube_reflector_opts *opts,
			    fl_kube_store_cb *on_change,
			    fl_kube_reflector_note_cb *on_note, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->kube = kube;
	r->ref.group = dup_or_null(ref->group ? ref->group : "");
	r->ref.version = dup_or_null(ref->version);
	r->ref.resource = dup_or_null(ref->resource);
	r->ref.namespace = dup_or_null(ref->namespace);
	if (opts)
		r->opts = *opts;
	r->opts.label_selector = dup_or_null(r->opts.label_selector);
	r->opts.field_selector = dup_or_null(r->opts.field_selector);
	if (r->opts.page_size <= 0)
		r->opts.page_size = 500;
	if (r->opts.watch_timeout_s <= 0)
		r->opts.watch_timeout_s = 300;
	if (r->opts.backoff_base_ms <= 0)
		r->opts.backoff_base_ms = 250;
	if (r->opts.backoff_max_ms <= 0)
		r->opts.backoff_max_ms = 30000;
	if (!r->opts.max_line)
		r->opts.max_line = 4u << 20;
	fl_kube_store_init(&r->store);
	r->need_list = 1;
	r->seed = (unsigned)fl_kube_monotonic_ms() ^ (unsigned)(uintptr_t)r;
	r->on_change = on_change;
	r->on_note = on_note;
	r->arg = arg;
}

void fl_kube_reflector_release(struct fl_kube_reflector *r)
{
	free((char *)r->ref.group);
	free((char *)r->ref.version);
	free((char *)r->ref.resource);
	free((char *)r->ref.namespace);
	free((char *)r->opts.label_selector);
	free((char *)r->opts.field_selector);
	fl_kube_store_release(&r->store);
	fl_kube_status_release(&r->last);
}

static void note(struct fl_kube_reflector *r, enum fl_kube_reflector_note n,
		 long ms, const struct fl_kube_status *st)
{
	if (r->on_note)
		r->on_note(r->arg, n, r->rv, ms, st);
}

/* Keeps a copy of st as the last failure; takes over st's details. */
static void remember(struct fl_kube_reflector *r, struct fl_kube_status *st)
{
	fl_kube_status_release(&r->last);
	r->last = *st;
	memset(st, 0, sizeof(*st));
	if (r->last.retry_after_s > r->opts.backoff_max_ms / 1000)
		r->retry_after_ms = r->opts.backoff_max_ms;
	else if (r->last.retry_after_s > 0)
		r->retry_after_ms = r->last.retry_after_s * 1000;
}

static void fail_with(struct fl_kube_reflector *r, long code,
		      const char *reason, const char *msg)
{
	struct fl_kube_status st = {.code = code};

	snprintf(st.reason, sizeof(st.reason), "%s", reason);
	snprintf(st.message, sizeof(st.message), "%s", msg);
	remember(r, &st);
}

static int set_rv(struct fl_kube_reflector *r, const char *rv)
{
	if (!rv || !rv[0] || strlen(rv) >= sizeof(r->rv))
		return -1;
	memcpy(r->rv, rv, strlen(rv) + 1);
	return 0;
}

/* Appends &key=value, percent-encoding value. */
static int add_param(struct fl_buf *q, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int rc = 0;

	if (!value)
		return 0;
	rc |= fl_buf_addf(q, "%s%s=", q->len ? "&" : "", key);
	for (p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			rc |= fl_buf_addc(q, (char)*p);
		else
			rc |= fl_buf_addf(q, "%%%c%c", hex[*p >> 4],
					  hex[*p & 15]);
	}
	return rc ? -1 : 0;
}

/* -- listing -------------------------------------------------------------- */

/*
 * Lists the whole collection, page by page, into *items (a new array
 * holding a reference to every object) and the snapshot's
 * resourceVersion into rv.  Returns 0, or -1 with *st filled.
 */
/*
 * A server that keeps answering with more pages, or with the same
 * continue token, must not grow the list without end.
 */
#define LIST_MAX_ITEMS 1000000
#define FL_XSTR(x) #x
#define FL_STR(x) FL_XSTR(x)

static int list_runs_away(const struct fl_kube_reflector *r,
			  struct json_object *items, const char *cont,
			  const char *next, struct fl_kube_status *st)
{
	const char *why = NULL;

	if (json_object_array_length(items) > LIST_MAX_ITEMS)
		why = "has more than " FL_STR(LIST_MAX_ITEMS) " items";
	else if (cont && next && strcmp(cont, next) == 0)
		why = "repeats its continue token";
	if (!why)
		return 0;
	st->code = 0;
	snprintf(st->reason, sizeof(st->reason), "ResponseTooLarge");
	snprintf(st->message, sizeof(st->message), "list of %s %s",
		 r->ref.resource, why);
	return -1;
}

static int list_all(struct fl_kube_reflector *r, struct json_object **items,
		    char *rv, size_t rvlen, struct fl_kube_status *st)
{
	struct fl_kube_list_opts lo = {
		.label_selector = r->opts.label_selector,
		.field_selector = r->opts.field_selector,
		.limit = r->opts.page_size,
	};
	char *cont = NULL;
	int rc = -1;

	*items = json_object_new_array();
	do {
		struct json_object *page = NULL, *meta, *arr;
		const char *next, *prv;
		size_t i, n;

		lo.cont = cont;
		if (fl_kube_list(r->kube, &r->ref, &lo, &page, st))
			goto out;
		meta = fl_json_get(page, "metadata");
		arr = fl_json_get(page, "items");
		n = fl_json_len(arr);
		for (i = 0; i < n; i++) {
			struct json_object *it =
				json_object_array_get_idx(arr, i);

			/* Page by page, so that the whole list never exists
			 * untransformed at once. */
			if (r->opts.transform)
				r->opts.transform(it, r->arg);
			json_object_array_add(*items, json_object_get(it));
		}
		prv = fl_json_str(meta, "resourceVersion");
		if (prv && strlen(prv) < rvlen)
			memcpy(rv, prv, strlen(prv) + 1);
		next = fl_json_str(meta, "continue");
		if (list_runs_away(r, *items, cont, next, st)) {
			json_object_put(page);
			goto out;
		}
		free(cont);
		cont = next && next[0] ? fl_strdup(next) : NULL;
		json_object_put(page);
	} while (cont);

	if (!rv[0]) {
		st->code = 0;
		snprintf(st->message, sizeof(st->message),
			 "list of %s has no usable resourceVersion",
			 r->ref.resource);
		goto out;
	}
	rc = 0;
out:
	free(cont);
	if (rc) {
		json_object_put(*items);
		*items = NULL;
	}
	return rc;
}

static int relist(struct fl_kube_reflector *r)
{
	struct fl_kube_status st = {0};
	struct json_object *items = NULL;
	char rv[FL_KUBE_RV_MAX] = "";

	if (list_all(r, &items, rv, sizeof(rv), &st)) {
		remember(r, &st);
		return -1;
	}
	fl_kube_store_replace(&r->store, items, r->on_change, r->arg);
	json_object_put(items);
	set_rv(r, rv);
	r->need_list = 0;
	note(r, FL_REFLECTOR_LISTED, 0, NULL);
	return 0;
}

/* -- watching ------------------------------------------------------------- */

static int on_event(struct fl_kube_reflector *r, struct fl_kube_watch_event *ev)
{
	char rv[FL_KUBE_RV_MAX];

	switch (ev->type) {
	case FL_WATCH_BOOKMARK:
		set_rv(r, ev->rv);
		note(r, FL_REFLECTOR_BOOKMARK, 0, NULL);
		return 0;
	case FL_WATCH_ERROR:
		if (ev->code == 410) {
			r->need_list = 1;
			note(r, FL_REFLECTOR_EXPIRED, 0, NULL);
			return 1;
		}
		fail_with(r, ev->code, ev->reason ? ev->reason : "",
			  "watch ended with an error event");
		r->stream_error = 1;
		return 1;
	default:
		/* The transform may rewrite metadata: keep the version. */
		snprintf(rv, sizeof(rv), "%s", ev->rv);
		if (r->opts.transform)
			r->opts.transform(ev->object, r->arg);
		if (fl_kube_store_apply(&r->store, ev->type_name, ev->object,
					r->on_change, r->arg) < 0) {
			fail_with(r, 0, "", "watch event object has no name");
			r->stream_error = 1;
			return 1;
		}
		set_rv(r, rv);
		return 0;
	}
}

static int on_line(const char *line, size_t len, void *arg)
{
	struct fl_kube_reflector *r = arg;
	struct fl_kube_watch_event ev;
	char err[256];
	int stop;

	r->lines++;
	if (fl_kube_watch_parse(line, len, &ev, err, sizeof(err))) {
		fail_with(r, 0, "", err);
		r->stream_error = 1;
		return 1;
	}
	stop = on_event(r, &ev);
	fl_kube_watch_event_release(&ev);
	if (r->stop ||
	    (r->deadline_ms && fl_kube_monotonic_ms() >= r->deadline_ms))
		stop = 1;
	return stop;
}

/* timeoutSeconds for the next watch: the configured one, or less when the
 * deadline is nearer, so that run() ends on time. */
static int watch_timeout(const struct fl_kube_reflector *r)
{
	int64_t left;
	int t = r->opts.watch_timeout_s;

	if (!r->deadline_ms)
		return t;
	left = (r->deadline_ms - fl_kube_monotonic_ms() + 999) / 1000;
	if (left < t)
		t = left < 1 ? 1 : (int)left;
	return t;
}

static int watch_once(struct fl_kube_reflector *r)
{
	struct fl_kube_stream_opts so = {.max_line = r->opts.max_line};
	struct fl_kube_status st = {0};
	struct fl_buf q;
	int64_t started = fl_kube_monotonic_ms();
	int timeout = watch_timeout(r), rc = -1;

	fl_buf_init(&q, QUERY_MAX);
	if (fl_buf_addf(&q,
			"watch=1&allowWatchBookmarks=true"
			"&timeoutSeconds=%d",
			timeout) ||
	    add_param(&q, "resourceVersion", r->rv) ||
	    add_param(&q, "labelSelector", r->opts.label_selector) ||
	    add_param(&q, "fieldSelector", r->opts.field_selector)) {
		fail_with(r, 0, "", "watch query is too long");
		goto out;
	}
	so.query = q.data;
	so.timeout_s = timeout + WATCH_GRACE_S;
	note(r, FL_REFLECTOR_WATCHING, 0, NULL);
	r->lines = 0;
	r->stream_error = 0;

	if (fl_kube_stream(r->kube, &r->ref, &so, on_line, r, &st)) {
		if (st.code == 410) {
			r->need_list = 1;
			note(r, FL_REFLECTOR_EXPIRED, 0, &st);
			rc = 0;
		}
		/* A stream that made progress before it broke starts the
		 * backoff over: a proxy that cuts every connection after a
		 * while must not push the waits to their cap. */
		if (r->lines)
			r->failures = 0;
		remember(r, &st);
		goto out;
	}
	if (r->stream_error)
		goto out;
	/* A server that closes at once without a line, again and again,
	 * must not make us spin: that counts as a failure. */
	if (!r->lines && !r->need_list && !r->stop &&
	    fl_kube_monotonic_ms() - started < 1000 &&
	    (!r->deadline_ms || fl_kube_monotonic_ms() < r->deadline_ms)) {
		fail_with(r, 0, "", "watch ended at once without an event");
		goto out;
	}
	rc = 0;
out:
	fl_buf_release(&q);
	return rc;
}

/* Sleeps ms, or until the deadline or a stop request. */
static void pause_ms(struct fl_kube_reflector *r, long ms)
{
	int64_t until = fl_kube_monotonic_ms() + ms;

	if (r->deadline_ms && until > r->deadline_ms)
		until = r->deadline_ms;
	while (!r->stop) {
		int64_t left = until - fl_kube_monotonic_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 100)
			left = 100;
		ts.tv_sec = 0;
		ts.tv_nsec = left * 1000000;
		nanosleep(&ts, NULL);
	}
}

int fl_kube_reflector_step(struct fl_kube_reflector *r, int64_t deadline_ms)
{
	int rc;
	long wait;

	r->deadline_ms = deadline_ms;
	r->retry_after_ms = 0;
	rc = r->need_list ? relist(r) : watch_once(r);
	if (!rc) {
		r->failures = 0;
		return 0;
	}

	note(r, FL_REFLECTOR_FAILED, 0, &r->last);
	r->failures++;
	wait = fl_kube_backoff_ms(r->failures, r->opts.backoff_base_ms,
				  r->opts.backoff_max_ms, r->retry_after_ms,
				  &r->seed);
	note(r, FL_REFLECTOR_BACKOFF, wait, NULL);
	pause_ms(r, wait);
	return -1;
}

int fl_kube_reflector_run(struct fl_kube_reflector *r, int64_t deadline_ms)
{
	while (!r->stop &&
	       (!deadline_ms || fl_kube_monotonic_ms() < deadline_ms))
		fl_kube_reflector_step(r, deadline_ms);
	return 0;
}
