/*
 * Shared by the subcommands: global flags, the connection, files and the
 * JSON accessors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "json.h"

void fl_cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs(FL_CLI_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void fl_cli_api_err(const char *verb, const char *ns, const char *name,
		    const struct fl_kube_status *st)
{
	char msg[1100];

	fl_cli_safe(st->message, "", msg, sizeof(msg));
	if (st->code == 404 && name)
		fl_cli_err("chaosexperiment '%s/%s' not found", ns, name);
	else if (st->code == 0)
		fl_cli_err("cannot %s chaosexperiment '%s/%s': %s", verb, ns,
			   name ? name : "*", msg);
	else
		fl_cli_err("cannot %s chaosexperiment '%s/%s': %ld %s: %s",
			   verb, ns, name ? name : "*", st->code,
			   st->reason[0] ? st->reason : "error", msg);
}

/* Matches "--flag VALUE" and "--flag=VALUE" (and the short form, which
 * also takes "-nVALUE").  Returns the value and advances *i past what it
 * used, or NULL when argv[*i] is not this flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *lng,
			      const char *shrt, int *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(lng);

	if (!strncmp(a, lng, n) && a[n] == '=')
		return a + n + 1;
	if (strcmp(a, lng) && (!shrt || strcmp(a, shrt))) {
		if (shrt && !strncmp(a, shrt, strlen(shrt)) &&
		    a[strlen(shrt)] != '\0' && a[strlen(shrt)] != '-')
			return a + strlen(shrt);
		return NULL;
	}
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	(*i)++;
	return argv[*i];
}

int fl_cli_take_globals(int *argc, char **argv, struct fl_cli_globals *g)
{
	int i, out = 0;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < *argc; i++) {
		int missing = 0;
		const char *v;

		/* After "--" everything is an argument. */
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if ((v = flag_value(*argc, argv, &i, "--kubeconfig", NULL,
				    &missing)))
			g->kubeconfig = v;
		else if (!missing &&
			 (v = flag_value(*argc, argv, &i, "--context", NULL,
					 &missing)))
			g->context = v;
		else if (!missing &&
			 (v = flag_value(*argc, argv, &i, "--namespace", "-n",
					 &missing)))
			g->namespace = v;
		else if (missing) {
			fl_cli_err("%s needs a value", argv[i]);
			return -1;
		} else
			argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	if (g->namespace && !*g->namespace) {
		fl_cli_err("--namespace must not be empty");
		return -1;
	}
	return 0;
}

int fl_cli_connect(const struct fl_cli_globals *g, struct fl_cli_conn *c)
{
	struct fl_kube_config cfg = {0};
	struct fl_kube_opts opts = {0};
	char err[512];
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (fl_kube_config_load(&cfg, g->kubeconfig, g->context, err,
				sizeof(err))) {
		fl_cli_err("%s", err);
		goto out;
	}
	opts.user_agent = FL_CLI_NAME;
	/* A pipeline wants an answer, not a long retry loop. */
	opts.max_retries = 2;
	opts.timeout_ms = 30000;
	c->kube = fl_kube_new(&cfg, &opts, err, sizeof(err));
	if (!c->kube) {
		fl_cli_err("%s", err);
		goto out;
	}
	c->namespace_given = g->namespace != NULL;
	if (g->namespace)
		c->namespace = fl_strdup(g->namespace);
	else if (cfg.namespace && *cfg.namespace)
		c->namespace = fl_strdup(cfg.namespace);
	else
		c->namespace = fl_strdup("default");
	rc = 0;
out:
	fl_kube_config_release(&cfg);
	return rc;
}

void fl_cli_conn_release(struct fl_cli_conn *c)
{
	if (c->kube)
		fl_kube_free(c->kube);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}

struct fl_kube_ref fl_cli_ref(const char *ns, const char *name)
{
	struct fl_kube_ref r = {
		.group = "faultline.dev",
		.version = "v1alpha1",
		.resource = "chaosexperiments",
		.namespace = ns,
		.name = name,
	};

	return r;
}

int fl_cli_read_file(const char *path, struct fl_buf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (!f) {
		fl_cli_err("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (fl_buf_add(out, chunk, n) < 0) {
			fl_cli_err("'%s' is larger than %u bytes", path,
				   FL_CLI_MAX_FILE);
			rc = -1;
			break;
		}
	}
	if (ferror(f)) {
		fl_cli_err("cannot read '%s': %s", path, strerror(errno));
		rc = -1;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

void fl_cli_print_errors(const struct fl_errors *errs, const char *file)
{
	char line[1024];
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n",
			fl_errors_format(errs, i, file, line, sizeof(line)));
	if (errs->dropped)
		fprintf(stderr, "%s: %zu more errors not shown\n", file,
			errs->dropped);
}

int fl_cli_write_out(const char *path, const char *data, size_t len)
{
	int to_stdout = !path || !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "wb");
	int rc = 0;

	if (!f) {
		fl_cli_err("cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, len, f) != len || fflush(f)) {
		fl_cli_err("cannot write '%s': %s", to_stdout ? "-" : path,
			   strerror(errno));
		rc = -1;
	}
	if (!to_stdout && fclose(f) && !rc) {
		fl_cli_err("cannot write '%s': %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

struct json_object *fl_cli_at(struct json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = fl_json_get(o, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return o;
}

const char *fl_cli_str(struct json_object *o, const char *path)
{
	struct json_object *v = fl_cli_at(o, path);

	return v && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

int64_t fl_cli_int(struct json_object *o, const char *path, int64_t def)
{
	struct json_object *v = fl_cli_at(o, path);

	if (!v || !(json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double)))
		return def;
	return json_object_get_int64(v);
}

void fl_cli_strip(struct json_object *obj)
{
	struct json_object *md = fl_json_get(obj, "metadata");

	if (md && json_object_is_type(md, json_type_object))
		json_object_object_del(md, "managedFields");
}
