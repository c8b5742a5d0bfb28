/*
 * The reflector's store: a chained hash map from namespace/name to one
 * json-c reference.  The key is not copied: each entry keeps the hash of
 * its key, and comparisons read the namespace and name from the object's
 * metadata, so ten thousand pods cost ten thousand objects and a small
 * entry each, never a second copy.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "kube_store.h"

#define STORE_MIN_SLOTS 64

struct fl_kube_store_entry {
	struct fl_kube_store_entry *next;
	struct json_object *obj; /* one reference, owned by the store */
	uint64_t hash;		 /* of namespace "/" name */
	unsigned gen;		 /* the last replace that saw it */
};

static const char *obj_ns(struct json_object *obj)
{
	const char *ns = fl_json_str(fl_json_get(obj, "metadata"), "namespace");

	return ns ? ns : "";
}

static const char *obj_name(struct json_object *obj)
{
	return fl_json_str(fl_json_get(obj, "metadata"), "name");
}

const char *fl_kube_obj_rv(struct json_object *obj)
{
	return fl_json_str(fl_json_get(obj, "metadata"), "resourceVersion");
}

/* FNV-1a over namespace, a separator no name can hold, and name. */
static uint64_t key_hash(const char *ns, const char *name)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)ns; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

void fl_kube_store_init(struct fl_kube_store *s)
{
	s->slots = NULL;
	s->nslots = 0;
	s->count = 0;
	s->gen = 0;
}

void fl_kube_store_release(struct fl_kube_store *s)
{
	size_t i;

	for (i = 0; i < s->nslots; i++) {
		struct fl_kube_store_entry *e = s->slots[i], *next;

		for (; e; e = next) {
			next = e->next;
			json_object_put(e->obj);
			free(e);
		}
	}
	free(s->slots);
	fl_kube_store_init(s);
}

/* The link that points at the entry for ns/name, or at the chain's NULL
 * end when there is none; never NULL once slots exist. */
static struct fl_kube_store_entry **find(const struct fl_kube_store *s,
					 const char *ns, const char *name,
					 uint64_t hash)
{
	struct fl_kube_store_entry **link = &s->slots[hash & (s->nslots - 1)];

	for (; *link; link = &(*link)->next) {
		struct json_object *o = (*link)->obj;

		if ((*link)->hash == hash && !strcmp(obj_name(o), name) &&
		    !strcmp(obj_ns(o), ns))
			break;
	}
	return link;
}

/* Keeps the load under 3/4 by doubling; entries keep their hashes. */
static void grow(struct fl_kube_store *s)
{
	struct fl_kube_store_entry **old = s->slots;
	size_t i, n = s->nslots;

	if (n && s->count + 1 <= n / 4 * 3)
		return;
	s->nslots = n ? n * 2 : STORE_MIN_SLOTS;
	s->slots = fl_calloc(s->nslots, sizeof(*s->slots));
	for (i = 0; i < n; i++) {
		struct fl_kube_store_entry *e = old[i], *next;

		for (; e; e = next) {
			size_t at = e->hash & (s->nslots - 1);

			next = e->next;
			e->next = s->slots[at];
			s->slots[at] = e;
		}
	}
	free(old);
}

struct json_object *fl_kube_store_get(const struct fl_kube_store *s,
				      const char *ns, const char *name)
{
	struct fl_kube_store_entry **link;

	if (!s->nslots || !name)
		return NULL;
	ns = ns ? ns : "";
	link = find(s, ns, name, key_hash(ns, name));
	return *link ? (*link)->obj : NULL;
}

static int same_rv(struct json_object *a, struct json_object *b)
{
	const char *ra = fl_kube_obj_rv(a), *rb = fl_kube_obj_rv(b);

	return ra && rb && !strcmp(ra, rb);
}

/*
 * Stores obj (an add or an update), or reports that it is a duplicate.
 * Returns 1 when cb was called, 0 for a duplicate.
 */
static int put(struct fl_kube_store *s, struct json_object *obj,
	       fl_kube_store_cb *cb, void *arg)
{
	const char *ns = obj_ns(obj), *name = obj_name(obj);
	uint64_t hash = key_hash(ns, name);
	struct fl_kube_store_entry **link, *e;
	struct json_object *old;

	grow(s);
	link = find(s, ns, name, hash);
	e = *link;
	if (!e) {
		e = fl_calloc(1, sizeof(*e));
		e->obj = json_object_get(obj);
		e->hash = hash;
		e->gen = s->gen;
		*link = e;
		s->count++;
		if (cb)
			cb(arg, FL_KUBE_CHANGE_ADD, NULL, obj);
		return 1;
	}

	e->gen = s->gen;
	if (same_rv(e->obj, obj))
		return 0;
	old = e->obj;
	e->obj = json_object_get(obj);
	if (cb)
		cb(arg, FL_KUBE_CHANGE_UPDATE, old, obj);
	json_object_put(old);
	return 1;
}

/* Unlinks *link and reports the delete; final is the object's last state
 * as the caller knows it (NULL: the stored one). */
static void drop(struct fl_kube_store *s, struct fl_kube_store_entry **link,
		 struct json_object *final, fl_kube_store_cb *cb, void *arg)
{
	struct fl_kube_store_entry *e = *link;

	*link = e->next;
	s->count--;
	if (cb)
		cb(arg, FL_KUBE_CHANGE_DELETE, e->obj, final ? final : e->obj);
	json_object_put(e->obj);
	free(e);
}

int fl_kube_store_apply(struct fl_kube_store *s, const char *type,
			struct json_object *obj, fl_kube_store_cb *cb,
			void *arg)
{
	const char *name = obj_name(obj), *ns = obj_ns(obj);
	struct fl_kube_store_entry **link;

	if (!name || !type)
		return -1;
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED"))
		return put(s, obj, cb, arg);
	if (strcmp(type, "DELETED"))
		return -1;
	if (!s->nslots)
		return 0;
	link = find(s, ns, name, key_hash(ns, name));
	if (!*link)
		return 0;
	drop(s, link, obj, cb, arg);
	return 1;
}

long fl_kube_store_replace(struct fl_kube_store *s, struct json_object *items,
			   fl_kube_store_cb *cb, void *arg)
{
	size_t i, n;
	long changes = 0;

	if (!json_object_is_type(items, json_type_array))
		return -1;

	/* A new generation marks what the list holds; whatever keeps the
	 * old mark afterwards is gone from the server. */
	s->gen++;
	n = json_object_array_length(items);
	for (i = 0; i < n; i++) {
		struct json_object *obj = json_object_array_get_idx(items, i);

		if (obj_name(obj))
			changes += put(s, obj, cb, arg);
	}

	for (i = 0; i < s->nslots; i++) {
		struct fl_kube_store_entry **link = &s->slots[i];

		while (*link) {
			if ((*link)->gen == s->gen) {
				link = &(*link)->next;
				continue;
			}
			drop(s, link, NULL, cb, arg);
			changes++;
		}
	}
	return changes;
}

void fl_kube_store_foreach(const struct fl_kube_store *s,
			   void (*fn)(void *arg, struct json_object *obj),
			   void *arg)
{
	size_t i;
	struct fl_kube_store_entry *e;

	for (i = 0; i < s->nslots; i++)
		for (e = s->slots[i]; e; e = e->next)
			fn(arg, e->obj);
}
