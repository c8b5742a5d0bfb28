/*
 * The cache half of a reflector: a local view of one resource type, keyed
 * by namespace/name, that turns watch events and whole lists into exactly
 * the adds, updates and deletes a consumer needs to hear about.
 *
 * The store holds each object once, as one json-c reference; the key is
 * read from the object's own metadata rather than copied.  Nothing here
 * talks to the network: kube_watch.h feeds it.
 */
#ifndef FL_KUBE_STORE_H
#define FL_KUBE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

enum fl_kube_change {
	FL_KUBE_CHANGE_ADD,
	FL_KUBE_CHANGE_UPDATE,
	FL_KUBE_CHANGE_DELETE,
};

/*
 * Told about each change.  old is the stored object before an update or
 * delete (NULL for an add); cur is the new object, or for a delete the
 * object's final state (the watch event's, or after a relist the last one
 * known).  Both are borrowed for the call: json_object_get() to keep one.
 */
typedef void fl_kube_store_cb(void *arg, enum fl_kube_change change,
			      struct json_object *old, struct json_object *cur);

struct fl_kube_store_entry;

struct fl_kube_store {
	struct fl_kube_store_entry **slots; /* chains, nslots a power of 2 */
	size_t nslots;
	size_t count; /* objects held */
	unsigned gen; /* marks entries seen by the current replace */
};

void fl_kube_store_init(struct fl_kube_store *s);
/* Drops every object (no callbacks); s can be used again after init. */
void fl_kube_store_release(struct fl_kube_store *s);

/* The object stored under ns/name (ns NULL or "" for cluster-scoped), or
 * NULL.  Borrowed: valid until the store next changes. */
struct json_object *fl_kube_store_get(const struct fl_kube_store *s,
				      const char *ns, const char *name);

/*
 * Applies one watch event: type is "ADDED", "MODIFIED" or "DELETED".
 * An add or modify of an object already stored at the same
 * resourceVersion is a duplicate and changes nothing; an add of a stored
 * object is an update, a modify of an unknown one an add, a delete of an
 * unknown one nothing.  The store takes its own reference to obj.
 * Returns 1 when cb was called, 0 for a duplicate, -1 when obj has no
 * metadata.name or the type is unknown.
 */
int fl_kube_store_apply(struct fl_kube_store *s, const char *type,
			struct json_object *obj, fl_kube_store_cb *cb,
			void *arg);

/*
 * Makes the store hold exactly items (a JSON array of objects, as a list
 * returns them), calling cb for each difference: an add for what is new,
 * an update for what changed resourceVersion, a delete for what is gone.
 * Objects that did not change are left alone and not reported.  The store
 * takes its own references.  Returns the number of changes reported, or
 * -1 when items is not an array (the store is then unchanged).  Items
 * without a name are skipped.
 */
long fl_kube_store_replace(struct fl_kube_store *s, struct json_object *items,
			   fl_kube_store_cb *cb, void *arg);

/* Calls fn for each stored object, in no particular order.  fn must not
 * change the store. */
void fl_kube_store_foreach(const struct fl_kube_store *s,
			   void (*fn)(void *arg, struct json_object *obj),
			   void *arg);

/* metadata.resourceVersion of obj, or NULL. */
const char *fl_kube_obj_rv(struct json_object *obj);

#endif
