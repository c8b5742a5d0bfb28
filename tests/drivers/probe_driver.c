/*
 * A command-line front to lib/probe.h for the integration tests: takes
 * samples of one probe and prints each result as a JSON line.
 *
 *   probe_driver [OPTIONS] --probe JSON
 *   probe_driver [OPTIONS] --file EXPERIMENT.yaml [--name PROBE]
 *
 * --probe takes one item of spec.probes as JSON ({"name": ..., "interval":
 * "1s", "http": {...}}), converted without the CRD's schema, so that the
 * library's own validation is what judges it.  --file parses a whole
 * ChaosExperiment (schema included) and takes the probe named, or the
 * first.  Options:
 *
 *   --samples N        take N samples (default 1)
 *   --until C          sample until C, one of: pass, fail (a sample that
 *                      passed or failed), holds, fails (the verdict)
 *   --deadline-ms MS   with --until: give up after MS (default 60000)
 *   --interval-ms MS   time between samples (default: the probe's)
 *   --kubeconfig F     a client for kubernetes probes
 *   --aws              a client for cloudwatch probes, from the
 *                      environment (AWS_ENDPOINT_URL, keys, region)
 *   --namespace NS     the default namespace
 *   --max-body N       response bytes a sample reads at most
 *
 * Each line: {"n", "passed", "invalid", "message", "latency_ms", "value"
 * (when there is one), "verdict", "samples", "passed_samples",
 * "timeline"}.  Exit status: 0 when the samples were taken or the
 * condition was met, 1 at the deadline, 2 for bad usage or input, 3 when
 * the probe is invalid (the last line says why).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "aws.h"
#include "buf.h"
#include "experiment.h"
#include "json.h"
#include "kube.h"
#include "probe.h"
#include "units.h"

enum until { UNTIL_NONE, UNTIL_PASS, UNTIL_FAIL, UNTIL_HOLDS, UNTIL_FAILS };

struct args {
	const char *probe_json, *file, *name, *kubeconfig, *namespace;
	long samples;
	enum until until;
	long deadline_ms;
	long interval_ms; /* -1: the probe's */
	long max_body;
	int aws; /* --aws: cloudwatch probes get a client */
};

static fl_aws *aws; /* made on first use, freed at exit */

/* ctx.aws_for: one client from the environment, whatever the region. */
static struct fl_aws *aws_for(void *arg, const char *region, char *err,
			      size_t n)
{
	struct fl_aws_opts o = {0};
	struct fl_aws_error e = {0};

	(void)arg;
	if (!aws) {
		o.region = region;
		aws = fl_aws_new(&o, &e);
		if (!aws)
			snprintf(err, n, "%s", e.text);
	}
	return aws;
}

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr,
		"probe_driver: %s\n"
		"usage: probe_driver [--samples N | --until "
		"pass|fail|holds|fails] [--deadline-ms MS] [--interval-ms MS]\n"
		"       [--kubeconfig F] [--aws] [--namespace NS] [--max-body N]\n"
		"       (--probe JSON | --file EXPERIMENT [--name PROBE])\n",
		why);
	exit(2);
}

static long number_arg(const char *s, const char *opt)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0)
		usage(opt);
	return v;
}

static enum until until_arg(const char *s)
{
	static const char *const names[] = {"", "pass", "fail", "holds",
					    "fails"};
	size_t i;

	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0)
			return (enum until)i;
	}
	usage("--until takes pass, fail, holds or fails");
}

static void parse_args(int argc, char **argv, struct args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->samples = 1;
	a->deadline_ms = 60000;
	a->interval_ms = -1;
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--aws") == 0) {
			a->aws = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage("an option is missing its value");
		if (strcmp(o, "--probe") == 0)
			a->probe_json = argv[++i];
		else if (strcmp(o, "--file") == 0)
			a->file = argv[++i];
		else if (strcmp(o, "--name") == 0)
			a->name = argv[++i];
		else if (strcmp(o, "--kubeconfig") == 0)
			a->kubeconfig = argv[++i];
		else if (strcmp(o, "--namespace") == 0)
			a->namespace = argv[++i];
		else if (strcmp(o, "--samples") == 0)
			a->samples = number_arg(argv[++i], o);
		else if (strcmp(o, "--until") == 0)
			a->until = until_arg(argv[++i]);
		else if (strcmp(o, "--deadline-ms") == 0)
			a->deadline_ms = number_arg(argv[++i], o);
		else if (strcmp(o, "--interval-ms") == 0)
			a->interval_ms = number_arg(argv[++i], o);
		else if (strcmp(o, "--max-body") == 0)
			a->max_body = number_arg(argv[++i], o);
		else
			usage("unknown option");
	}
	if (!a->probe_json == !a->file)
		usage("give one of --probe and --file");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bad_input(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "probe_driver: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static int64_t duration_field(struct json_object *o, const char *key,
			      int64_t def)
{
	const char *s = fl_json_str(o, key);
	int64_t ms;

	if (!fl_json_get(o, key))
		return def;
	if (!s || fl_duration_parse(s, &ms) < 0)
		bad_input("probe.%s is not a duration", key);
	return ms;
}

/* Converts one probe object as the experiment parser would, minus the
 * schema: the library's own checks then see whatever it holds. */
static void probe_from_json(struct json_object *o, struct fl_probe *p)
{
	struct json_object *v;
	int k, found = 0;

	memset(p, 0, sizeof(*p));
	if (!json_object_is_type(o, json_type_object))
		bad_input("%s", "--probe is not a JSON object");
	p->name = fl_json_str(o, "name");
	p->kind = FL_PROBE_KIND_COUNT;
	for (k = 0; k < FL_PROBE_KIND_COUNT; k++) {
		if (fl_json_get(o, fl_probe_kind_names[k])) {
			p->kind = (enum fl_probe_kind)k;
			found++;
		}
	}
	if (found > 1)
		p->kind = FL_PROBE_KIND_COUNT;
	if (p->kind != FL_PROBE_KIND_COUNT)
		p->params = fl_json_get(o, fl_probe_kind_names[p->kind]);
	p->interval_ms = duration_field(o, "interval", 10000);
	p->timeout_ms = duration_field(o, "timeout", 5000);
	v = fl_json_get(o, "successThreshold");
	p->success_threshold = v ? json_object_get_int(v) : 1;
	v = fl_json_get(o, "failureThreshold");
	p->failure_threshold = v ? json_object_get_int(v) : 1;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct fl_buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		bad_input("cannot open %s", path);
	fl_buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (fl_buf_add(&b, chunk, n) < 0)
			bad_input("%s is larger than 1 MiB", path);
	}
	fclose(f);
	return fl_buf_detach(&b, len);
}

static const struct fl_probe *probe_from_file(const struct args *a,
					      struct fl_experiment *x)
{
	struct fl_errors errs = {0};
	size_t len, i;
	char *text = read_file(a->file, &len);
	char line[1024];

	if (fl_experiment_parse(text, len, x, &errs) < 0) {
		free(text);
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n",
				fl_errors_format(&errs, i, a->file, line,
						 sizeof(line)));
		exit(2);
	}
	free(text);
	for (i = 0; i < x->nprobes; i++) {
		if (!a->name || strcmp(x->probes[i].name, a->name) == 0)
			return &x->probes[i];
	}
	bad_input("no probe '%s' in the experiment", a->name ? a->name : "");
}

static fl_kube *kube_client(const char *kubeconfig)
{
	struct fl_kube_config c;
	char err[512];
	fl_kube *k;

	if (fl_kube_config_load(&c, kubeconfig, NULL, err, sizeof(err)) < 0)
		bad_input("%s", err);
	k = fl_kube_new(&c, NULL, err, sizeof(err));
	fl_kube_config_release(&c);
	if (!k)
		bad_input("%s", err);
	return k;
}

static void print_result(long n, const struct fl_probe_result *r,
			 const struct fl_probe_state *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int64(n));
	json_object_object_add(o, "passed", json_object_new_boolean(r->passed));
	json_object_object_add(o, "invalid",
			       json_object_new_boolean(r->invalid));
	json_object_object_add(o, "message",
			       json_object_new_string(r->message));
	json_object_object_add(o, "latency_ms",
			       json_object_new_int64(r->latency_ms));
	if (r->has_value)
		json_object_object_add(o, "value",
				       json_object_new_double(r->value));
	json_object_object_add(
		o, "verdict",
		json_object_new_string(fl_probe_verdict_name(s->verdict)));
	json_object_object_add(o, "samples", json_object_new_int64(s->samples));
	json_object_object_add(o, "passed_samples",
			       json_object_new_int64(s->passed));
	json_object_object_add(o, "timeline",
			       json_object_new_string(s->timeline));
	printf("%s\n", json_object_to_json_string_ext(
			       o, JSON_C_TO_STRING_PLAIN |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static int met(enum until u, const struct fl_probe_result *r,
	       const struct fl_probe_state *s)
{
	switch (u) {
	case UNTIL_PASS:
		return r->passed;
	case UNTIL_FAIL:
		return !r->passed;
	case UNTIL_HOLDS:
		return s->verdict == FL_PROBE_HOLDS;
	case UNTIL_FAILS:
		return s->verdict == FL_PROBE_FAILS;
	default:
		return 0;
	}
}

/* Samples until the count or the condition; returns the exit status. */
static int run(const struct args *a, const struct fl_probe *p,
	       struct fl_probe_ctx *ctx)
{
	int64_t interval =
		a->interval_ms >= 0 ? a->interval_ms : p->interval_ms;
	int64_t deadline = now_ms() + a->deadline_ms;
	struct fl_probe_state s;
	struct fl_probe_result r;
	long n;

	fl_probe_state_init(&s, p);
	for (n = 1;; n++) {
		int64_t start = now_ms();

		if (fl_probe_sample(p, ctx, &r) < 0) {
			print_result(n, &r, &s);
			return 3;
		}
		fl_probe_state_add(&s, r.passed, r.message);
		print_result(n, &r, &s);
		if (a->until == UNTIL_NONE && n >= a->samples)
			return 0;
		if (a->until != UNTIL_NONE && met(a->until, &r, &s))
			return 0;
		if (a->until != UNTIL_NONE && now_ms() >= deadline)
			return 1;
		sleep_ms(interval - (now_ms() - start));
	}
}

int main(int argc, char **argv)
{
	struct fl_experiment x = {0};
	const struct fl_probe *p;
	struct fl_probe_ctx ctx;
	struct json_object *doc = NULL;
	struct fl_probe one;
	struct args a;
	fl_kube *kube = NULL;
	int rc;

	parse_args(argc, argv, &a);
	if (a.probe_json) {
		doc = json_tokener_parse(a.probe_json);
		if (!doc)
			bad_input("%s", "--probe is not valid JSON");
		probe_from_json(doc, &one);
		p = &one;
	} else {
		p = probe_from_file(&a, &x);
	}
	if (a.kubeconfig)
		kube = kube_client(a.kubeconfig);
	fl_probe_ctx_init(&ctx, kube, a.namespace);
	if (a.aws)
		ctx.aws_for = aws_for;
	if (a.max_body > 0)
		ctx.max_body = (size_t)a.max_body;
	rc = run(&a, p, &ctx);
	fl_probe_ctx_release(&ctx);
	fl_aws_free(aws);
	fl_kube_free(kube);
	json_object_put(doc);
	if (a.file)
		fl_experiment_release(&x);
	return rc;
}
