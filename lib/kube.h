/*
 * A Kubernetes API client: configuration (kubeconfig and in-cluster),
 * requests with retries, and the typed errors the API returns.
 *
 * The watch, the reflector/store, leader election and the event recorder
 * sit on top of this in kube_watch.h, kube_lease.h and kube_event.h and use
 * only what this header declares.
 *
 * The client is an opaque handle (fl_kube), safe to use from one thread at
 * a time; give each thread its own, or serialise.  Every response body is
 * bounded (fl_kube_opts.max_body); every call returns 0 on success and -1
 * with *st filled on failure, including transport failures (st->code 0).
 * A call overwrites *st without releasing it: release a status that holds
 * details (fl_kube_status_release()) before passing it again.
 */
#ifndef FL_KUBE_H
#define FL_KUBE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

typedef struct fl_kube fl_kube;

/* What the API said (a metav1.Status), or what went wrong on the way. */
struct fl_kube_status {
	long code;	    /* HTTP status; 0 for a transport error */
	char reason[64];    /* "NotFound", "Conflict", "Expired", ... */
	char message[1024]; /* the server's message, or ours */
	struct json_object *details; /* Status.details, or NULL; owned by
					the status: fl_kube_status_release() */
	int retry_after_s;	     /* Retry-After, or 0 */
};

void fl_kube_status_release(struct fl_kube_status *st);

/* Connection settings, from a kubeconfig or the pod's service account.
 * Strings are owned by the struct: fl_kube_config_release(). */
struct fl_kube_config {
	char *server;		     /* "https://127.0.0.1:6443" */
	char *ca_file;		     /* PEM file, or NULL */
	char *ca_data;		     /* PEM text, or NULL */
	char *cert_file, *cert_data; /* client certificate */
	char *key_file, *key_data;   /* its key */
	char *token;		     /* bearer token, or NULL */
	char *token_file;	     /* re-read when it changes (rotation) */
	int insecure_skip_verify;    /* only when the kubeconfig says so */
	char *namespace;	     /* the context's namespace, or NULL */
	/* users[].user.exec: an exec credential plugin */
	char *exec_command;
	char **exec_args; /* NULL-terminated */
	char **exec_env;  /* NULL-terminated "NAME=value" */
	char *exec_api_version;
};

/*
 * Loads a kubeconfig: path, else $KUBECONFIG (first file), else
 * ~/.kube/config; context, else current-context.  Returns 0, or -1 with a
 * message in err naming the file and what is wrong.
 */
int fl_kube_config_load(struct fl_kube_config *c, const char *path,
			const char *context, char *err, size_t errlen);

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account's
 * token, CA and namespace. */
int fl_kube_config_in_cluster(struct fl_kube_config *c, char *err,
			      size_t errlen);

void fl_kube_config_release(struct fl_kube_config *c);

struct fl_kube_opts {
	size_t max_body;	/* response bytes; default 16 MiB */
	int max_retries;	/* for 429, 5xx and transport errors; 0 gives
			  * the default of 5, a negative value none */
	int backoff_base_ms;	/* first backoff, doubled, jittered; 200 */
	int backoff_max_ms;	/* cap; default 10000 */
	int timeout_ms;		/* per request; default 30000 */
	double qps;		/* client-side limit; 0 (default) for none */
	const char *user_agent; /* default "faultline" */
};

/* A new client; copies what it needs from c and opts (opts may be NULL).
 * Returns NULL with err filled. */
fl_kube *fl_kube_new(const struct fl_kube_config *c,
		     const struct fl_kube_opts *opts, char *err, size_t errlen);
void fl_kube_free(fl_kube *k);

/* Which object or collection a call is about.  group "" is the core API. */
struct fl_kube_ref {
	const char *group;	 /* "", "apps", "faultline.dev" */
	const char *version;	 /* "v1", "v1alpha1" */
	const char *resource;	 /* plural: "pods" */
	const char *namespace;	 /* NULL for cluster-scoped or all */
	const char *name;	 /* NULL for the collection */
	const char *subresource; /* "status", "eviction", ... or NULL */
};

struct fl_kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	long limit;	  /* 0 for no limit */
	const char *cont; /* "continue" token of the previous page */
	const char *resource_version;
};

enum fl_kube_patch_type {
	FL_KUBE_PATCH_MERGE,	 /* application/merge-patch+json */
	FL_KUBE_PATCH_JSON,	 /* application/json-patch+json */
	FL_KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	FL_KUBE_PATCH_APPLY,	 /* application/apply-patch+yaml (SSA) */
};

struct fl_kube_delete_opts {
	const char *precondition_uid;
	const char *precondition_rv;
	const char *propagation; /* "Foreground", "Background", "Orphan" */
	long grace_period_s;	 /* -1 for the object's default */
};

/* A client's limits per request, as fl_kube_opts sets them. */
struct fl_kube_limits {
	int timeout_ms;	 /* each attempt */
	int max_retries; /* after the first attempt; 0 for none */
};

/* Sets k's limits for the calls that follow (a probe holds its calls to
 * its own timeout) and returns the ones it had, to put back. */
struct fl_kube_limits fl_kube_set_limits(fl_kube *k,
					 struct fl_kube_limits limits);

/* The verbs.  On success *out (when out is not NULL) holds the response
 * object with one reference for the caller. */
int fl_kube_get(fl_kube *k, const struct fl_kube_ref *ref,
		struct json_object **out, struct fl_kube_status *st);
int fl_kube_list(fl_kube *k, const struct fl_kube_ref *ref,
		 const struct fl_kube_list_opts *o, struct json_object **out,
		 struct fl_kube_status *st);
int fl_kube_create(fl_kube *k, const struct fl_kube_ref *ref,
		   struct json_object *body, struct json_object **out,
		   struct fl_kube_status *st);
/* PUT; body's metadata.resourceVersion is the precondition (409 when
 * stale). */
int fl_kube_update(fl_kube *k, const struct fl_kube_ref *ref,
		   struct json_object *body, struct json_object **out,
		   struct fl_kube_status *st);
int fl_kube_patch(fl_kube *k, const struct fl_kube_ref *ref,
		  enum fl_kube_patch_type type, const char *patch,
		  const char *field_manager, int force,
		  struct json_object **out, struct fl_kube_status *st);
int fl_kube_delete(fl_kube *k, const struct fl_kube_ref *ref,
		   const struct fl_kube_delete_opts *o,
		   struct json_object **out, struct fl_kube_status *st);

/*
 * A streamed GET (watch): calls on_line for each newline-terminated line
 * of the body as it arrives (each at most max_line bytes, else the stream
 * fails), until on_line returns nonzero, the server ends the response, or
 * timeout_s passes.  No retries: the watch layer decides.  Returns 0 when
 * the stream ended normally (server closed, or on_line stopped it), -1
 * with *st otherwise.
 */
struct fl_kube_stream_opts {
	const char *query; /* already encoded, without '?' */
	size_t max_line;   /* default 4 MiB */
	int timeout_s;	   /* 0 for none */
};

int fl_kube_stream(fl_kube *k, const struct fl_kube_ref *ref,
		   const struct fl_kube_stream_opts *o,
		   int (*on_line)(const char *line, size_t len, void *arg),
		   void *arg, struct fl_kube_status *st);

/* GET the API resource list of one group version (discovery): /api/v1
 * when group is "" or NULL, else /apis/GROUP/VERSION.  *out is the
 * APIResourceList (one reference for the caller). */
int fl_kube_discover(fl_kube *k, const char *group, const char *version,
		     struct json_object **out, struct fl_kube_status *st);

/* The URL path of ref, with no query ("/apis/apps/v1/namespaces/x/..."),
 * into out; returns out, or NULL if it does not fit or a part is empty,
 * "." or "..". */
char *fl_kube_path(const struct fl_kube_ref *ref, char *out, size_t n);

#endif
