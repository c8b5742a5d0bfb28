#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "experiment.h"

static const char manifest[] =
	"apiVersion: faultline.dev/v1alpha1\n"
	"kind: ChaosExperiment\n"
	"metadata: {name: latency, namespace: shop}\n"
	"spec:\n"
	"  hypothesis: checkout stays up\n"
	"  duration: 5m\n"
	"  targets:\n"
	"    - name: db\n"
	"      rdsInstances: {identifiers: [orders], region: eu-west-1}\n"
	"    - name: payments\n"
	"      pods:\n"
	"        namespaces: [shop]\n"
	"        selector:\n"
	"          matchLabels: {app: payments}\n"
	"          matchExpressions:\n"
	"            - {key: tier, operator: In, values: [a, b]}\n"
	"  faults:\n"
	"    - name: slow\n"
	"      target: payments\n"
	"      mode: {percent: 50}\n"
	"      startAfter: 30s\n"
	"      duration: 1m30s\n"
	"      networkLatency: {delay: 200ms}\n"
	"    - name: failover\n"
	"      target: db\n"
	"      rdsFailover: {}\n"
	"  probes:\n"
	"    - name: up\n"
	"      interval: 2s\n"
	"      http: {url: 'http://checkout:8080/healthz'}\n"
	"  safety: {maxBlastRadius: 25}\n";

static void test_parse_converts(void **state)
{
	struct fl_experiment x;
	struct fl_errors errs = {0};
	const struct fl_fault *f;
	const struct fl_target *t;
	struct json_object *dir;

	(void)state;
	assert_int_equal(
		fl_experiment_parse(manifest, strlen(manifest), &x, &errs), 0);
	assert_string_equal(x.name, "latency");
	assert_string_equal(x.namespace, "shop");
	assert_int_equal(x.duration_ms, 300000);
	assert_int_equal(x.ntargets, 2);
	assert_int_equal(x.nfaults, 2);

	t = &x.targets[1];
	assert_int_equal(t->kind, FL_TARGET_PODS);
	assert_int_equal(t->selector.nlabels, 1);
	assert_string_equal(t->selector.labels[0].value, "payments");
	assert_int_equal(t->selector.exprs[0].nvalues, 2);
	assert_int_equal(x.targets[0].kind, FL_TARGET_RDS);
	assert_string_equal(x.targets[0].identifiers[0], "orders");

	f = &x.faults[0];
	assert_int_equal(f->kind, FL_FAULT_NETWORK_LATENCY);
	assert_int_equal(f->target_index, 1);
	assert_int_equal(f->mode.kind, FL_MODE_PERCENT);
	assert_int_equal(f->mode.value, 50);
	assert_int_equal(f->start_after_ms, 30000);
	assert_int_equal(f->duration_ms, 90000);
	/* The schema's default reached the fault's parameters. */
	assert_true(json_object_object_get_ex(f->params, "direction", &dir));
	assert_string_equal(json_object_get_string(dir), "egress");

	f = &x.faults[1];
	assert_int_equal(f->kind, FL_FAULT_RDS_FAILOVER);
	assert_int_equal(f->mode.kind, FL_MODE_ONE);
	assert_int_equal(f->duration_ms, 300000);

	assert_int_equal(x.probes[0].kind, FL_PROBE_HTTP);
	assert_int_equal(x.probes[0].interval_ms, 2000);
	assert_int_equal(x.probes[0].timeout_ms, 5000);
	assert_int_equal(x.max_blast_radius, 25);
	assert_int_equal(x.max_recovery_ms, 300000);
	assert_true(x.min_availability < 0);
	assert_false(x.dry_run);
	fl_experiment_release(&x);
}

/* Replaces the first occurrence of from with to in the manifest, parses
 * it, and returns "line: path: msg" of the first error. */
static const char *parse_changed(const char *from, const char *to)
{
	static char out[800];
	struct fl_experiment x;
	struct fl_errors errs = {0};
	struct fl_buf b;
	const char *at = strstr(manifest, from);

	assert_non_null(at);
	fl_buf_init(&b, 0);
	fl_buf_add(&b, manifest, at - manifest);
	fl_buf_adds(&b, to);
	fl_buf_adds(&b, at + strlen(from));
	assert_int_equal(fl_experiment_parse(b.data, b.len, &x, &errs), -1);
	snprintf(out, sizeof(out), "%d: %s: %s", errs.e[0].line, errs.e[0].path,
		 errs.e[0].msg);
	fl_buf_release(&b);
	return out;
}

static void test_errors_name_field_and_line(void **state)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
		{"apiVersion: faultline.dev/v1alpha1", "apiVersion: v1",
		 "1: apiVersion: must be faultline.dev/v1alpha1"},
		{"kind: ChaosExperiment", "kind: Pod", "kind: must be"},
		{"{name: latency, namespace: shop}", "{namespace: shop}",
		 "3: metadata.name: required field is missing"},
		{"{name: latency,", "{name: Latency_1,", "is not a valid name"},
		{"delay: 200ms", "delay: fast",
		 "23: spec.faults[0].networkLatency.delay: \"fast\" is not a "
		 "duration"},
		{"target: db", "target: dbx",
		 "25: spec.faults[1].target: every fault's target must name a "
		 "declared target"},
		{"rdsFailover: {}", "cpuStress: {load: 10}",
		 "spec.faults[1]: rdsFailover is the only fault"},
		{"duration: 1m30s", "duration: 4m40s",
		 "spec.faults[0].startAfter: a fault's startAfter plus"},
		{"maxBlastRadius: 25", "maxBlastRadius: 0",
		 "spec.safety.maxBlastRadius: 0 must be greater than or equal "
		 "to 1"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = parse_changed(cases[i].from, cases[i].to);

		if (!strstr(got, cases[i].want))
			fail_msg("%s -> %s: want \"%s\", got \"%s\"",
				 cases[i].from, cases[i].to, cases[i].want,
				 got);
	}
}

/* An anchor used under two fault kinds: the defaults that one kind fills
 * in (processKill's signal) must not leak into the other. */
static void test_alias_keeps_defaults_apart(void **state)
{
	static const char text[] = "apiVersion: faultline.dev/v1alpha1\n"
				   "kind: ChaosExperiment\n"
				   "metadata: {name: t}\n"
				   "spec:\n"
				   "  duration: 10m\n"
				   "  targets:\n"
				   "    - name: web\n"
				   "      pods: {selector: {}}\n"
				   "  faults:\n"
				   "    - name: a\n"
				   "      target: web\n"
				   "      processKill: &p {process: nginx}\n"
				   "    - name: b\n"
				   "      target: web\n"
				   "      processPause: *p\n";
	struct fl_experiment x;
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(fl_experiment_parse(text, strlen(text), &x, &errs), 0);
	fl_experiment_release(&x);
}

/* Like the API server, which drops it, the parser ignores a manifest's
 * status (the operator owns it). */
static void test_status_of_a_manifest_is_ignored(void **state)
{
	struct fl_experiment x;
	struct fl_errors errs = {0};
	struct fl_buf b;

	(void)state;
	fl_buf_init(&b, 0);
	fl_buf_adds(&b, manifest);
	fl_buf_adds(&b, "status: {phase: Bogus, extra: 1}\n");
	assert_int_equal(fl_experiment_parse(b.data, b.len, &x, &errs), 0);
	assert_true(json_object_object_get_ex(x.doc, "status", NULL));
	fl_experiment_release(&x);
	fl_buf_release(&b);
}

static void test_one_document_only(void **state)
{
	struct fl_experiment x;
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(fl_experiment_parse("", 0, &x, &errs), -1);
	assert_non_null(strstr(errs.e[0].msg, "expected one document"));
}

static void test_fault_fits_target_matches_rules(void **state)
{
	(void)state;
	assert_true(fl_fault_fits_target(FL_FAULT_CPU_STRESS, FL_TARGET_PODS));
	assert_true(
		fl_fault_fits_target(FL_FAULT_CPU_STRESS, FL_TARGET_ECS_TASKS));
	assert_false(
		fl_fault_fits_target(FL_FAULT_CPU_STRESS, FL_TARGET_NODES));
	assert_false(
		fl_fault_fits_target(FL_FAULT_POD_DELETE, FL_TARGET_ECS_TASKS));
	assert_true(fl_fault_fits_target(FL_FAULT_NODE_TERMINATION,
					 FL_TARGET_NODES));
	assert_false(
		fl_fault_fits_target(FL_FAULT_RDS_FAILOVER, FL_TARGET_PODS));
}

static int read_all(const char *path, struct fl_buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fl_buf_add(b, chunk, n);
	fclose(f);
	return 0;
}

/* Every shipped example parses, and between them they use every fault
 * kind and every probe kind. */
static void test_examples_cover_every_kind(void **state)
{
	const char *repo = getenv("FL_REPO");
	char dirpath[512], path[1024];
	int faults[FL_FAULT_KIND_COUNT] = {0},
	    probes[FL_PROBE_KIND_COUNT] = {0};
	struct dirent *de;
	DIR *d;
	int i, files = 0;

	(void)state;
	assert_non_null(repo);
	snprintf(dirpath, sizeof(dirpath), "%s/deploy/examples", repo);
	d = opendir(dirpath);
	assert_non_null(d);
	while ((de = readdir(d))) {
		struct fl_experiment x;
		struct fl_errors errs = {0};
		struct fl_buf b;
		size_t j;

		if (!strstr(de->d_name, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		fl_buf_init(&b, 0);
		assert_int_equal(read_all(path, &b), 0);
		if (fl_experiment_parse(b.data, b.len, &x, &errs) < 0)
			fail_msg("%s: %s: %s", de->d_name, errs.e[0].path,
				 errs.e[0].msg);
		for (j = 0; j < x.nfaults; j++)
			faults[x.faults[j].kind]++;
		for (j = 0; j < x.nprobes; j++)
			probes[x.probes[j].kind]++;
		fl_experiment_release(&x);
		fl_buf_release(&b);
		files++;
	}
	closedir(d);
	assert_true(files >= 8);
	for (i = 0; i < FL_FAULT_KIND_COUNT; i++)
		if (!faults[i])
			fail_msg("no example uses %s", fl_fault_kind_names[i]);
	for (i = 0; i < FL_PROBE_KIND_COUNT; i++)
		if (!probes[i])
			fail_msg("no example uses %s", fl_probe_kind_names[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_converts),
		cmocka_unit_test(test_errors_name_field_and_line),
		cmocka_unit_test(test_status_of_a_manifest_is_ignored),
		cmocka_unit_test(test_one_document_only),
		cmocka_unit_test(test_alias_keeps_defaults_apart),
		cmocka_unit_test(test_fault_fits_target_matches_rules),
		cmocka_unit_test(test_examples_cover_every_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
