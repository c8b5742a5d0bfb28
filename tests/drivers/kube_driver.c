/*
 * A command-line front to lib/kube.h for the integration tests:
 *
 *   kube_driver [OPTIONS] get    GROUP VERSION RESOURCE NS NAME
 *   kube_driver [OPTIONS] list   GROUP VERSION RESOURCE NS
 *   kube_driver [OPTIONS] create GROUP VERSION RESOURCE NS [NAME] < body
 *   kube_driver [OPTIONS] update GROUP VERSION RESOURCE NS NAME < body
 *   kube_driver [OPTIONS] patch  TYPE GROUP VERSION RESOURCE NS NAME < patch
 *   kube_driver [OPTIONS] delete GROUP VERSION RESOURCE NS NAME
 *   kube_driver [OPTIONS] stream GROUP VERSION RESOURCE NS [NAME]
 *
 * GROUP "" or "core" is the core API; NS "" or "-" means none.  TYPE is
 * merge, json, strategic or apply.  Options:
 *
 *   --kubeconfig F, --context C, --in-cluster
 *   --sub S                 a subresource (status, eviction, ...)
 *   --selector S, --field-selector S, --limit N   (list follows continue
 *                           and prints {"items": [...], "pages": N})
 *   --field-manager M, --force                    (patch)
 *   --uid U, --rv RV, --propagation P, --grace N  (delete)
 *   --query Q, --timeout S, --max-lines N, --max-line BYTES (stream)
 *   --repeat N              send the same request N times on one client,
 *                           printing each result
 *   --wait-file PATH        before each repeat after the first, wait
 *                           (up to 60 s) until PATH exists, then remove it
 *   --max-body N, --retries N, --qps Q            (client options)
 *
 * The result goes to stdout as JSON (stream: one line per line received);
 * a failure goes to stderr as one JSON line {"code", "reason", "message"}
 * and the exit status is 1.  Bad usage exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "kube.h"

struct args {
	const char *kubeconfig, *context, *sub;
	int in_cluster;
	struct fl_kube_list_opts list;
	const char *field_manager;
	int force;
	struct fl_kube_delete_opts del;
	struct fl_kube_stream_opts stream;
	long max_lines;
	long repeat;
	const char *wait_file;
	struct fl_kube_opts opts;
	char **pos; /* positional arguments */
	int npos;
};

static void report(long code, const char *reason, const char *message)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "code", json_object_new_int64(code));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "message", json_object_new_string(message));
	fprintf(stderr, "%s\n",
		json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void report_status(const struct fl_kube_status *st)
{
	report(st->code, st->reason, st->message);
}

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr,
		"kube_driver: %s (see the comment at the top of "
		"tests/drivers/kube_driver.c)\n",
		why);
	exit(2);
}

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end)
		usage("not a number");
	return v;
}

static void parse_args(struct args *a, int argc, char **argv)
{
	int i;

	a->del.grace_period_s = -1;
	a->repeat = 1;
	a->pos = fl_calloc((size_t)argc, sizeof(char *));
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;

		if (strcmp(o, "--in-cluster") == 0) {
			a->in_cluster = 1;
			takes = 0;
		} else if (strcmp(o, "--force") == 0) {
			a->force = 1;
			takes = 0;
		} else if (strncmp(o, "--", 2) != 0) {
			a->pos[a->npos++] = argv[i];
			continue;
		} else if (!v) {
			usage("an option lacks its value");
		} else if (strcmp(o, "--kubeconfig") == 0) {
			a->kubeconfig = v;
		} else if (strcmp(o, "--context") == 0) {
			a->context = v;
		} else if (strcmp(o, "--sub") == 0) {
			a->sub = v;
		} else if (strcmp(o, "--selector") == 0) {
			a->list.label_selector = v;
		} else if (strcmp(o, "--field-selector") == 0) {
			a->list.field_selector = v;
		} else if (strcmp(o, "--limit") == 0) {
			a->list.limit = num(v);
		} else if (strcmp(o, "--field-manager") == 0) {
			a->field_manager = v;
		} else if (strcmp(o, "--uid") == 0) {
			a->del.precondition_uid = v;
		} else if (strcmp(o, "--rv") == 0) {
			a->del.precondition_rv = v;
		} else if (strcmp(o, "--propagation") == 0) {
			a->del.propagation = v;
		} else if (strcmp(o, "--grace") == 0) {
			a->del.grace_period_s = num(v);
		} else if (strcmp(o, "--query") == 0) {
			a->stream.query = v;
		} else if (strcmp(o, "--timeout") == 0) {
			a->stream.timeout_s = (int)num(v);
		} else if (strcmp(o, "--max-line") == 0) {
			a->stream.max_line = (size_t)num(v);
		} else if (strcmp(o, "--max-lines") == 0) {
			a->max_lines = num(v);
		} else if (strcmp(o, "--repeat") == 0) {
			a->repeat = num(v);
		} else if (strcmp(o, "--wait-file") == 0) {
			a->wait_file = v;
		} else if (strcmp(o, "--max-body") == 0) {
			a->opts.max_body = (size_t)num(v);
		} else if (strcmp(o, "--retries") == 0) {
			a->opts.max_retries = (int)num(v);
		} else if (strcmp(o, "--qps") == 0) {
			a->opts.qps = strtod(v, NULL);
		} else {
			usage("unknown option");
		}
		i += takes;
	}
}

static const char *opt_ns(const char *s)
{
	return (!*s || strcmp(s, "-") == 0) ? NULL : s;
}

/* GROUP VERSION RESOURCE NS [NAME] starting at pos[at]. */
static void make_ref(struct fl_kube_ref *r, struct args *a, int at,
		     int need_name)
{
	if (a->npos < at + 4 + need_name)
		usage("missing GROUP VERSION RESOURCE NS [NAME]");
	r->group = strcmp(a->pos[at], "core") == 0 ? "" : a->pos[at];
	r->version = a->pos[at + 1];
	r->resource = a->pos[at + 2];
	r->namespace = opt_ns(a->pos[at + 3]);
	r->name = a->npos > at + 4 ? a->pos[at + 4] : NULL;
	r->subresource = a->sub;
}

static char *read_stdin(void)
{
	struct fl_buf b;
	char chunk[8192];
	size_t n;

	fl_buf_init(&b, 64 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (fl_buf_add(&b, chunk, n) < 0)
			usage("stdin too large");
	}
	return fl_buf_detach(&b, NULL);
}

static void print_json(struct json_object *o)
{
	printf("%s\n", o ? json_object_to_json_string_ext(
				   o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE)
			 : "null");
}

/* Lists every page, following metadata.continue. */
static int do_list(fl_kube *k, struct fl_kube_ref *ref, struct args *a,
		   struct json_object **out, struct fl_kube_status *st)
{
	struct json_object *all = json_object_new_array(), *page = NULL;
	char *cont = NULL;
	int pages = 0, rc = -1;

	do {
		struct json_object *items;
		const char *next;
		size_t i;

		a->list.cont = cont;
		if (fl_kube_list(k, ref, &a->list, &page, st) < 0)
			goto out;
		pages++;
		items = fl_json_get(page, "items");
		for (i = 0; i < fl_json_len(items); i++)
			json_object_array_add(
				all, json_object_get(json_object_array_get_idx(
					     items, i)));
		next = fl_json_str(fl_json_get(page, "metadata"), "continue");
		free(cont);
		cont = next && *next ? fl_strdup(next) : NULL;
		json_object_put(page);
		page = NULL;
	} while (cont);
	*out = json_object_new_object();
	json_object_object_add(*out, "items", json_object_get(all));
	json_object_object_add(*out, "pages", json_object_new_int(pages));
	rc = 0;
out:
	json_object_put(all);
	free(cont);
	return rc;
}

static enum fl_kube_patch_type patch_type(const char *s)
{
	if (strcmp(s, "merge") == 0)
		return FL_KUBE_PATCH_MERGE;
	if (strcmp(s, "json") == 0)
		return FL_KUBE_PATCH_JSON;
	if (strcmp(s, "strategic") == 0)
		return FL_KUBE_PATCH_STRATEGIC;
	if (strcmp(s, "apply") == 0)
		return FL_KUBE_PATCH_APPLY;
	usage("patch TYPE is merge, json, strategic or apply");
}

struct stream_state {
	long max_lines;
	long seen;
};

static int print_line(const char *line, size_t len, void *arg)
{
	struct stream_state *s = arg;

	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	s->seen++;
	return s->max_lines > 0 && s->seen >= s->max_lines;
}

/* Runs the verb once; *out gets what to print. */
static int run(fl_kube *k, struct args *a, const char *body,
	       struct json_object **out, struct fl_kube_status *st)
{
	const char *verb = a->pos[0];
	struct fl_kube_ref ref = {0};
	struct json_object *in = NULL;
	int rc;

	*out = NULL;
	if (strcmp(verb, "patch") == 0) {
		make_ref(&ref, a, 2, 1);
		return fl_kube_patch(k, &ref, patch_type(a->pos[1]), body,
				     a->field_manager, a->force, out, st);
	}
	make_ref(&ref, a, 1,
		 strcmp(verb, "get") == 0 || strcmp(verb, "update") == 0 ||
			 strcmp(verb, "delete") == 0);
	if (strcmp(verb, "get") == 0)
		return fl_kube_get(k, &ref, out, st);
	if (strcmp(verb, "list") == 0)
		return do_list(k, &ref, a, out, st);
	if (strcmp(verb, "delete") == 0)
		return fl_kube_delete(k, &ref, &a->del, out, st);
	if (strcmp(verb, "stream") == 0) {
		struct stream_state s = {.max_lines = a->max_lines};

		return fl_kube_stream(k, &ref, &a->stream, print_line, &s, st);
	}
	if (strcmp(verb, "create") != 0 && strcmp(verb, "update") != 0)
		usage("unknown verb");
	in = json_tokener_parse(body);
	if (!in)
		usage("stdin is not JSON");
	rc = strcmp(verb, "create") == 0 ? fl_kube_create(k, &ref, in, out, st)
					 : fl_kube_update(k, &ref, in, out, st);
	json_object_put(in);
	return rc;
}

/* Lets a test act between two requests of one client: it creates the
 * file when it is done. */
static void wait_for_file(const char *path)
{
	struct timespec ts = {.tv_nsec = 20 * 1000000L};
	int i;

	for (i = 0; i < 3000; i++) {
		if (access(path, F_OK) == 0) {
			unlink(path);
			return;
		}
		nanosleep(&ts, NULL);
	}
	usage("--wait-file: the file did not appear within 60 s");
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct fl_kube_config cfg;
	struct fl_kube_status st = {0};
	struct json_object *out = NULL;
	char err[1024], *body = NULL;
	fl_kube *k;
	long i;
	int rc = 1;

	parse_args(&a, argc, argv);
	if (a.npos < 1)
		usage("no verb");
	if ((a.in_cluster ? fl_kube_config_in_cluster(&cfg, err, sizeof(err))
			  : fl_kube_config_load(&cfg, a.kubeconfig, a.context,
						err, sizeof(err))) < 0) {
		report(0, "Config", err);
		free(a.pos);
		return 1;
	}
	k = fl_kube_new(&cfg, &a.opts, err, sizeof(err));
	fl_kube_config_release(&cfg);
	if (!k) {
		report(0, "Config", err);
		free(a.pos);
		return 1;
	}
	if (strcmp(a.pos[0], "patch") == 0)
		body = read_stdin();
	else if (strcmp(a.pos[0], "create") == 0 ||
		 strcmp(a.pos[0], "update") == 0)
		body = read_stdin();
	for (i = 0; i < a.repeat; i++) {
		if (i > 0 && a.wait_file)
			wait_for_file(a.wait_file);
		json_object_put(out);
		fl_kube_status_release(&st);
		if (run(k, &a, body, &out, &st) < 0) {
			report_status(&st);
			goto out;
		}
		if (strcmp(a.pos[0], "stream") != 0)
			print_json(out);
		fflush(stdout);
	}
	rc = 0;
out:
	json_object_put(out);
	fl_kube_status_release(&st);
	fl_kube_free(k);
	free(body);
	free(a.pos);
	return rc;
}
