/*
 * Kubernetes client configuration: a kubeconfig file (YAML, read with our
 * bounded loader) or the pod's service account.
 *
 * Only what a connection needs is kept: the server, how to trust it, and
 * one way to prove who we are (client certificate, bearer token, token
 * file or exec plugin).  Relative file paths in a kubeconfig are taken
 * against the kubeconfig's own folder, as kubectl does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "kube.h"
#include "yamljson.h"

/* A kubeconfig, a token or a CA bundle larger than this is not real. */
#define CONFIG_MAX_BYTES (1 << 20)

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

/* What loading one kubeconfig needs to carry around. */
struct loader {
	const char *path; /* the kubeconfig, for messages */
	char *dir;	  /* its folder, for relative paths; owned */
	char *err;
	size_t errlen;
};

static int fail(struct loader *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes "kubeconfig 'PATH': MESSAGE" into the caller's err; returns -1. */
static int fail(struct loader *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "kubeconfig '%s': %s", l->path, msg);
	return -1;
}

/*
 * Reads a whole file of at most max bytes into a new NUL-terminated
 * string.  Returns NULL with errno set (EFBIG when too large).
 */
static char *read_file(const char *path, size_t max, size_t *lenp)
{
	struct fl_buf b;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	fl_buf_init(&b, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (fl_buf_add(&b, chunk, n) < 0) {
			fclose(f);
			fl_buf_release(&b);
			errno = EFBIG;
			return NULL;
		}
	}
	if (ferror(f)) {
		fclose(f);
		fl_buf_release(&b);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	return fl_buf_detach(&b, lenp);
}

/*
 * Decodes base64 text (whitespace ignored, padding required as the
 * standard alphabet writes it) into a new NUL-terminated string.  Returns
 * NULL when the text is not valid base64.
 */
static char *base64_decode(const char *in)
{
	size_t n = 0, i, pad = 0;
	char *clean = fl_malloc(strlen(in) + 1);
	unsigned char *out;
	int got;

	for (i = 0; in[i]; i++) {
		if (in[i] != ' ' && in[i] != '\n' && in[i] != '\r' &&
		    in[i] != '\t')
			clean[n++] = in[i];
	}
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0) {
		free(clean);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes of output; the
	 * true length is three per four characters minus the padding. */
	if (clean[n - 1] == '=')
		pad++;
	if (clean[n - 2] == '=')
		pad++;
	out = fl_malloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n);
	free(clean);
	if (got < 0 || (size_t)got != n / 4 * 3) {
		free(out);
		return NULL;
	}
	out[got - (int)pad] = '\0';
	return (char *)out;
}

/* A path from the kubeconfig, made absolute against its folder. */
static char *resolve(struct loader *l, const char *p)
{
	if (p[0] == '/')
		return fl_strdup(p);
	return fl_asprintf("%s/%s", l->dir, p);
}

/* The string at key in o, or NULL; a present value of another type is an
 * error, reported with where (such as "users[dev].user"). */
static int get_str(struct loader *l, struct json_object *o, const char *where,
		   const char *key, const char **out)
{
	struct json_object *v = fl_json_get(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(l, "%s.%s: must be a string", where, key);
	*out = json_object_get_string(v);
	if (!**out)
		*out = NULL;
	return 0;
}

/* Takes an inline "-data" field (base64) or a file field (a path). */
static int get_pem(struct loader *l, struct json_object *o, const char *where,
		   const char *file_key, char **file, char **data)
{
	char data_key[64];
	const char *fv, *dv;

	snprintf(data_key, sizeof(data_key), "%s-data", file_key);
	if (get_str(l, o, where, file_key, &fv) < 0 ||
	    get_str(l, o, where, data_key, &dv) < 0)
		return -1;
	if (dv) {
		*data = base64_decode(dv);
		if (!*data)
			return fail(l, "%s.%s: not valid base64", where,
				    data_key);
	} else if (fv) {
		*file = resolve(l, fv);
	}
	return 0;
}

/* The entry of list (clusters, users, contexts) whose name is name, as
 * its inner object (entry.cluster, entry.user, entry.context). */
static struct json_object *find_named(struct json_object *root,
				      const char *list, const char *inner,
				      const char *name)
{
	struct json_object *arr = fl_json_get(root, list);
	size_t i;

	for (i = 0; i < fl_json_len(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		const char *n = fl_json_str(e, "name");

		if (n && strcmp(n, name) == 0) {
			struct json_object *v = fl_json_get(e, inner);

			/* An entry without its object is an empty one. */
			return v ? v : e;
		}
	}
	return NULL;
}

/* Copies a NULL-terminated list of strings out of a JSON array. */
static int load_exec_args(struct loader *l, struct json_object *exec,
			  const char *where, struct fl_kube_config *c)
{
	struct json_object *args = fl_json_get(exec, "args");
	struct json_object *env = fl_json_get(exec, "env");
	size_t i, n;

	if (args && !json_object_is_type(args, json_type_array))
		return fail(l, "%s.exec.args: must be a list", where);
	if (env && !json_object_is_type(env, json_type_array))
		return fail(l, "%s.exec.env: must be a list", where);
	n = fl_json_len(args);
	c->exec_args = fl_calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(args, i);

		if (!json_object_is_type(a, json_type_string))
			return fail(l, "%s.exec.args[%zu]: must be a string",
				    where, i);
		c->exec_args[i] = fl_strdup(json_object_get_string(a));
	}
	n = fl_json_len(env);
	c->exec_env = fl_calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(env, i);
		const char *name = fl_json_str(e, "name");
		const char *value = fl_json_str(e, "value");

		if (!name || !*name || strchr(name, '=') || !value)
			return fail(l,
				    "%s.exec.env[%zu]: needs a name (without "
				    "'=') and a string value",
				    where, i);
		c->exec_env[i] = fl_asprintf("%s=%s", name, value);
	}
	return 0;
}

static int load_exec(struct loader *l, struct json_object *exec,
		     const char *where, struct fl_kube_config *c)
{
	const char *cmd, *api;

	if (get_str(l, exec, where, "command", &cmd) < 0 ||
	    get_str(l, exec, where, "apiVersion", &api) < 0)
		return -1;
	if (!cmd)
		return fail(l, "%s.exec.command: missing", where);
	if (!api)
		return fail(l, "%s.exec.apiVersion: missing", where);
	if (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
	    strcmp(api, "client.authentication.k8s.io/v1beta1") != 0)
		return fail(l,
			    "%s.exec.apiVersion: '%s' is not supported (use "
			    "client.authentication.k8s.io/v1 or v1beta1)",
			    where, api);
	/* A bare name is looked up on PATH; a path with a slash is a file,
	 * relative to the kubeconfig like every other path in it. */
	c->exec_command = strchr(cmd, '/') ? resolve(l, cmd) : fl_strdup(cmd);
	c->exec_api_version = fl_strdup(api);
	return load_exec_args(l, exec, where, c);
}

static int load_user(struct loader *l, struct json_object *user,
		     const char *name, struct fl_kube_config *c)
{
	char where[256];
	const char *token, *token_file, *p;
	struct json_object *exec;

	snprintf(where, sizeof(where), "users['%s'].user", name);
	if (fl_json_get(user, "auth-provider"))
		return fail(l, "%s.auth-provider: not supported (use exec)",
			    where);
	if (fl_json_get(user, "username") || fl_json_get(user, "password"))
		return fail(l, "%s: basic authentication is not supported",
			    where);
	if (get_pem(l, user, where, "client-certificate", &c->cert_file,
		    &c->cert_data) < 0 ||
	    get_pem(l, user, where, "client-key", &c->key_file, &c->key_data) <
		    0)
		return -1;
	if ((c->cert_file || c->cert_data) != (c->key_file || c->key_data))
		return fail(l,
			    "%s: a client certificate needs its key, and a "
			    "key its certificate",
			    where);
	if (get_str(l, user, where, "token", &token) < 0 ||
	    get_str(l, user, where, "tokenFile", &token_file) < 0)
		return -1;
	/* The token goes into a header line, which a control character
	 * would end or split. */
	for (p = token; p && *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(l, "%s.token: holds a control character",
				    where);
	}
	if (token)
		c->token = fl_strdup(token);
	if (token_file)
		c->token_file = resolve(l, token_file);
	exec = fl_json_get(user, "exec");
	if (exec && load_exec(l, exec, where, c) < 0)
		return -1;
	return 0;
}

static int load_cluster(struct loader *l, struct json_object *cluster,
			const char *name, struct fl_kube_config *c)
{
	char where[256];
	const char *server;
	struct json_object *skip;

	snprintf(where, sizeof(where), "clusters['%s'].cluster", name);
	if (get_str(l, cluster, where, "server", &server) < 0)
		return -1;
	if (!server)
		return fail(l, "%s.server: missing", where);
	if (strncmp(server, "https://", 8) != 0 &&
	    strncmp(server, "http://", 7) != 0)
		return fail(l, "%s.server: '%s' is not an http(s) URL", where,
			    server);
	c->server = fl_strdup(server);
	/* A trailing slash would double the one every API path starts
	 * with. */
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	if (get_pem(l, cluster, where, "certificate-authority", &c->ca_file,
		    &c->ca_data) < 0)
		return -1;
	skip = fl_json_get(cluster, "insecure-skip-tls-verify");
	if (skip && !json_object_is_type(skip, json_type_boolean))
		return fail(l,
			    "%s.insecure-skip-tls-verify: must be true or "
			    "false",
			    where);
	c->insecure_skip_verify = skip && json_object_get_boolean(skip);
	return 0;
}

/* Finds the context, its cluster and user, and loads them. */
static int load_context(struct loader *l, struct json_object *root,
			const char *context, struct fl_kube_config *c)
{
	const char *cluster_name, *user_name, *ns;
	struct json_object *ctx, *cluster, *user;
	char where[256];

	if (!context && get_str(l, root, "", "current-context", &context) < 0)
		return -1;
	if (!context)
		return fail(l, "no context given and no current-context set");
	ctx = find_named(root, "contexts", "context", context);
	if (!ctx)
		return fail(l, "context '%s' not found", context);
	snprintf(where, sizeof(where), "contexts['%s'].context", context);
	if (get_str(l, ctx, where, "cluster", &cluster_name) < 0 ||
	    get_str(l, ctx, where, "user", &user_name) < 0 ||
	    get_str(l, ctx, where, "namespace", &ns) < 0)
		return -1;
	if (!cluster_name)
		return fail(l, "%s.cluster: missing", where);
	cluster = find_named(root, "clusters", "cluster", cluster_name);
	if (!cluster)
		return fail(l, "cluster '%s' (of context '%s') not found",
			    cluster_name, context);
	if (load_cluster(l, cluster, cluster_name, c) < 0)
		return -1;
	if (ns)
		c->namespace = fl_strdup(ns);
	if (!user_name)
		return 0;
	user = find_named(root, "users", "user", user_name);
	if (!user)
		return fail(l, "user '%s' (of context '%s') not found",
			    user_name, context);
	return load_user(l, user, user_name, c);
}

/* path, else the first file of $KUBECONFIG, else ~/.kube/config. */
static char *default_path(const char *path)
{
	const char *env = getenv("KUBECONFIG");
	const char *home = getenv("HOME");

	if (path && *path)
		return fl_strdup(path);
	if (env && *env) {
		const char *colon = strchr(env, ':');

		return colon ? fl_strndup(env, (size_t)(colon - env))
			     : fl_strdup(env);
	}
	return fl_asprintf("%s/.kube/config", home ? home : "");
}

/*
 * Loads a kubeconfig into c (which is zeroed first).  On failure c holds
 * nothing (it is released) and err says which file and what is wrong.
 */
int fl_kube_config_load(struct fl_kube_config *c, const char *path,
			const char *context, char *err, size_t errlen)
{
	struct loader l = {.err = err, .errlen = errlen};
	struct fl_errors errs = {0};
	struct json_object *docs = NULL, *root;
	char *file = default_path(path), *text = NULL, *slash;
	size_t len;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	l.path = file;
	slash = strrchr(file, '/');
	l.dir = slash ? fl_strndup(file, (size_t)(slash - file))
		      : fl_strdup(".");
	if (slash == file) {
		free(l.dir);
		l.dir = fl_strdup("/");
	}
	text = read_file(file, CONFIG_MAX_BYTES, &len);
	if (!text) {
		fail(&l, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (fl_yaml_parse(text, len, NULL, &docs, &errs) < 0) {
		fail(&l, "line %d: %s", errs.e[0].line, errs.e[0].msg);
		goto out;
	}
	root = json_object_array_get_idx(docs, 0);
	if (!json_object_is_type(root, json_type_object)) {
		fail(&l, "not a kubeconfig (no mapping at the top)");
		goto out;
	}
	rc = load_context(&l, root, context, c);
out:
	if (rc < 0)
		fl_kube_config_release(c);
	json_object_put(docs);
	free(text);
	free(l.dir);
	free(file);
	return rc;
}

/* Reads a small text file, without its trailing whitespace. */
static char *read_trimmed(const char *path)
{
	size_t len;
	char *s = read_file(path, CONFIG_MAX_BYTES, &len);

	while (s && len > 0 && strchr(" \t\r\n", s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* The service account's namespace, or NULL when the file is missing or
 * empty (the caller then has no default namespace). */
static char *read_namespace(const char *dir)
{
	char *path = fl_asprintf("%s/namespace", dir);
	char *ns = read_trimmed(path);

	free(path);
	if (ns && !*ns) {
		free(ns);
		ns = NULL;
	}
	return ns;
}

/*
 * The in-cluster configuration: the API server from
 * KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and the service
 * account's token (as a file, so that a rotated token is picked up), CA
 * and namespace from its folder ($FL_KUBE_SA_DIR, else the standard
 * mount).  Returns 0, or -1 with err saying what is missing.
 */
int fl_kube_config_in_cluster(struct fl_kube_config *c, char *err,
			      size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("FL_KUBE_SA_DIR");
	char *token = NULL;

	memset(c, 0, sizeof(*c));
	if (!dir || !*dir)
		dir = SA_DIR_DEFAULT;
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen,
			 "not in a cluster: KUBERNETES_SERVICE_HOST and "
			 "KUBERNETES_SERVICE_PORT must be set");
		return -1;
	}
	c->token_file = fl_asprintf("%s/token", dir);
	token = read_trimmed(c->token_file);
	if (!token || !*token) {
		snprintf(err, errlen,
			 "cannot read service account token '%s': %s",
			 c->token_file, token ? "empty" : strerror(errno));
		free(token);
		fl_kube_config_release(c);
		return -1;
	}
	free(token);
	/* An IPv6 address needs brackets in a URL. */
	c->server = strchr(host, ':')
			    ? fl_asprintf("https://[%s]:%s", host, port)
			    : fl_asprintf("https://%s:%s", host, port);
	c->ca_file = fl_asprintf("%s/ca.crt", dir);
	c->namespace = read_namespace(dir);
	return 0;
}

static void free_list(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Frees every string c owns and zeroes it; safe on a zeroed struct. */
void fl_kube_config_release(struct fl_kube_config *c)
{
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->cert_data);
	free(c->key_file);
	free(c->key_data);
	free(c->token);
	free(c->token_file);
	free(c->namespace);
	free(c->exec_command);
	free_list(c->exec_args);
	free_list(c->exec_env);
	free(c->exec_api_version);
	memset(c, 0, sizeof(*c));
}
