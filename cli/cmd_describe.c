/*
 * `kubectl faultline describe NAME`: one experiment for a human: the
 * hypothesis, where the run stands, its times, each target with its state
 * and reason, each probe with its results and timeline, the conditions
 * and the past runs.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"

/* "Label:" padded, then the value made safe (or def when it is empty). */
static void field(const char *label, const char *value, const char *def)
{
	char buf[4200];

	if (!value && !def)
		return;
	printf("%-15s %s\n", label, fl_cli_safe(value, def, buf, sizeof(buf)));
}

static void field_num(const char *label, struct json_object *v,
		      const char *suffix)
{
	if (v)
		printf("%-15s %.2f%s\n", label, json_object_get_double(v),
		       suffix);
}

/* A time with how long ago it was: "2026-12-03T18:44:06Z (5m ago)". */
static void field_time(const char *label, const char *t, int64_t now)
{
	char age[32], buf[64];

	if (!t)
		return;
	printf("%-15s %s (%s ago)\n", label,
	       fl_cli_safe(t, "", buf, sizeof(buf)),
	       fl_cli_age(t, now, age, sizeof(age)));
}

static void section(const char *title, size_t n)
{
	printf("%s (%zu):\n", title, n);
}

static const char *const phase_order[] = {
	"Pending",    "Preparing", "Injecting", "Observing", "Recovering",
	"Validating", "Completed", "Aborted",	"Failed",
};

static void phases(struct json_object *obj)
{
	struct json_object *pt = fl_cli_at(obj, "status.phaseTimes");
	struct fl_cli_table t;
	size_t i;

	if (!pt || !json_object_object_length(pt))
		return;
	fl_cli_table_init(&t, 2);
	for (i = 0; i < sizeof(phase_order) / sizeof(phase_order[0]); i++) {
		const char *row[2] = {phase_order[i],
				      fl_json_str(pt, phase_order[i])};

		if (row[1])
			fl_cli_table_row(&t, row);
	}
	printf("Phase times:\n");
	fl_cli_table_print(&t, stdout, "  ");
	fl_cli_table_release(&t);
}

static void targets(struct json_object *obj)
{
	static const char *const head[] = {"TARGET", "FAULT",	 "OBJECT",
					   "STATE",  "INJECTED", "REVERTED",
					   "REASON"};
	struct json_object *ts = fl_cli_at(obj, "status.targets");
	struct fl_cli_table t;
	size_t i;

	section("Targets", fl_json_len(ts));
	if (!fl_json_len(ts))
		return;
	fl_cli_table_init(&t, 7);
	fl_cli_table_row(&t, head);
	for (i = 0; i < fl_json_len(ts); i++) {
		struct json_object *x = json_object_array_get_idx(ts, i);
		const char *ns = fl_json_str(x, "namespace");
		char what[400];
		const char *row[7];

		snprintf(what, sizeof(what), "%s %s%s%s",
			 fl_json_str(x, "kind") ? fl_json_str(x, "kind") : "",
			 ns ? ns : "", ns ? "/" : "",
			 fl_json_str(x, "name") ? fl_json_str(x, "name") : "");
		row[0] = fl_json_str(x, "target");
		row[1] = fl_json_str(x, "fault");
		row[2] = what[0] == ' ' ? what + 1 : what;
		row[3] = fl_json_str(x, "state");
		row[4] = fl_json_str(x, "injectedAt");
		row[5] = fl_json_str(x, "revertedAt");
		row[6] = fl_json_str(x, "reason");
		fl_cli_table_row(&t, row);
	}
	fl_cli_table_print(&t, stdout, "  ");
	fl_cli_table_release(&t);
}

/* The ephemeral containers of pod faults: what to pass to kubectl logs
 * -c, and how each injector ended. */
static void injectors(struct json_object *obj)
{
	static const char *const head[] = {"OBJECT", "CONTAINER", "STATE",
					   "ACTIVE", "EXIT"};
	struct json_object *ts = fl_cli_at(obj, "status.targets");
	struct fl_cli_table t;
	size_t i, n = 0;

	for (i = 0; i < fl_json_len(ts); i++)
		n += fl_json_get(json_object_array_get_idx(ts, i),
				 "injector") != NULL;
	if (!n)
		return;
	section("Injectors", n);
	fl_cli_table_init(&t, 5);
	fl_cli_table_row(&t, head);
	for (i = 0; i < fl_json_len(ts); i++) {
		struct json_object *x = json_object_array_get_idx(ts, i);
		struct json_object *inj = fl_json_get(x, "injector");
		struct json_object *code = fl_json_get(inj, "exitCode");
		const char *ns = fl_json_str(x, "namespace");
		char what[320], exit_code[16] = "";
		const char *row[5];

		if (!inj)
			continue;
		snprintf(what, sizeof(what), "%s%s%s", ns ? ns : "",
			 ns ? "/" : "",
			 fl_json_str(x, "name") ? fl_json_str(x, "name") : "");
		if (code)
			snprintf(exit_code, sizeof(exit_code), "%d",
				 json_object_get_int(code));
		row[0] = what;
		row[1] = fl_json_str(inj, "container");
		row[2] = fl_json_str(inj, "state");
		row[3] = fl_json_str(inj, "activeAt");
		row[4] = exit_code[0] ? exit_code : NULL;
		fl_cli_table_row(&t, row);
	}
	fl_cli_table_print(&t, stdout, "  ");
	fl_cli_table_release(&t);
}

static void probes(struct json_object *obj)
{
	struct json_object *ps = fl_cli_at(obj, "status.probes");
	char buf[4200];
	size_t i;

	section("Probes", fl_json_len(ps));
	for (i = 0; i < fl_json_len(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);
		struct json_object *rate = fl_json_get(p, "passRate");
		char b[16], d[16], a[16];

		printf("  %s: baseline %s, during %s, after %s",
		       fl_cli_safe(fl_json_str(p, "name"), "?", buf,
				   sizeof(buf)),
		       fl_cli_safe(fl_json_str(p, "baseline"), "-", b,
				   sizeof(b)),
		       fl_cli_safe(fl_json_str(p, "during"), "-", d, sizeof(d)),
		       fl_cli_safe(fl_json_str(p, "after"), "-", a, sizeof(a)));
		if (fl_json_get(p, "samples"))
			printf("; %lld of %lld samples passed",
			       (long long)fl_cli_int(p, "passed", 0),
			       (long long)fl_cli_int(p, "samples", 0));
		if (rate)
			printf(" (%.2f%%)", json_object_get_double(rate));
		printf("\n");
		if (fl_json_str(p, "timeline"))
			printf("    timeline:   %s\n",
			       fl_cli_safe(fl_json_str(p, "timeline"), "", buf,
					   sizeof(buf)));
		if (fl_json_str(p, "lastError"))
			printf("    last error: %s\n",
			       fl_cli_safe(fl_json_str(p, "lastError"), "", buf,
					   sizeof(buf)));
	}
}

static void conditions(struct json_object *obj)
{
	static const char *const head[] = {"TYPE", "STATUS", "REASON",
					   "MESSAGE"};
	struct json_object *cs = fl_cli_at(obj, "status.conditions");
	struct fl_cli_table t;
	size_t i;

	section("Conditions", fl_json_len(cs));
	if (!fl_json_len(cs))
		return;
	fl_cli_table_init(&t, 4);
	fl_cli_table_row(&t, head);
	for (i = 0; i < fl_json_len(cs); i++) {
		struct json_object *c = json_object_array_get_idx(cs, i);
		const char *row[4] = {
			fl_json_str(c, "type"), fl_json_str(c, "status"),
			fl_json_str(c, "reason"), fl_json_str(c, "message")};

		fl_cli_table_row(&t, row);
	}
	fl_cli_table_print(&t, stdout, "  ");
	fl_cli_table_release(&t);
}

static void history(struct json_object *obj)
{
	static const char *const head[] = {"RUN",     "GENERATION", "PHASE",
					   "VERDICT", "STARTED",    "COMPLETED",
					   "AVAIL",   "RECOVERY"};
	struct json_object *hs = fl_cli_at(obj, "status.history");
	struct fl_cli_table t;
	size_t i;

	section("History", fl_json_len(hs));
	if (!fl_json_len(hs))
		return;
	fl_cli_table_init(&t, 8);
	fl_cli_table_row(&t, head);
	for (i = 0; i < fl_json_len(hs); i++) {
		struct json_object *h = json_object_array_get_idx(hs, i);
		struct json_object *av = fl_json_get(h, "availability");
		char gen[24] = "", avail[24] = "";
		const char *row[8];

		if (fl_json_get(h, "generation"))
			snprintf(gen, sizeof(gen), "%lld",
				 (long long)fl_cli_int(h, "generation", 0));
		if (av)
			snprintf(avail, sizeof(avail), "%.2f%%",
				 json_object_get_double(av));
		row[0] = fl_json_str(h, "runId");
		row[1] = gen;
		row[2] = fl_json_str(h, "phase");
		row[3] = fl_json_str(h, "verdict");
		row[4] = fl_json_str(h, "startTime");
		row[5] = fl_json_str(h, "completionTime");
		row[6] = avail;
		row[7] = fl_json_str(h, "recoveryTime");
		fl_cli_table_row(&t, row);
	}
	fl_cli_table_print(&t, stdout, "  ");
	fl_cli_table_release(&t);
}

static void describe(struct json_object *obj)
{
	int64_t now = fl_cli_now_ms();
	char gen[64];

	field("Name:", fl_cli_str(obj, "metadata.name"), "");
	field("Namespace:", fl_cli_str(obj, "metadata.namespace"), "");
	field_time("Created:", fl_cli_str(obj, "metadata.creationTimestamp"),
		   now);
	field("Hypothesis:", fl_cli_str(obj, "spec.hypothesis"), "<none>");
	field("Duration:", fl_cli_str(obj, "spec.duration"), "");
	if (json_object_get_boolean(fl_cli_at(obj, "spec.safety.dryRun")))
		field("Dry run:", "yes", NULL);
	field("Schedule:", fl_cli_str(obj, "spec.schedule"), NULL);
	snprintf(gen, sizeof(gen), "%lld (observed %lld)",
		 (long long)fl_cli_int(obj, "metadata.generation", 0),
		 (long long)fl_cli_int(obj, "status.observedGeneration", 0));
	field("Generation:", gen, NULL);
	field("Run:", fl_cli_str(obj, "status.runId"), "<none yet>");
	field("Phase:", fl_cli_str(obj, "status.phase"), "<none yet>");
	field("Verdict:", fl_cli_str(obj, "status.verdict"), "<none yet>");
	field("Message:", fl_cli_str(obj, "status.message"), NULL);
	field_time("Started:", fl_cli_str(obj, "status.startTime"), now);
	field_time("Completed:", fl_cli_str(obj, "status.completionTime"), now);
	field("Recovery time:", fl_cli_str(obj, "status.recoveryTime"), NULL);
	field_num("Availability:", fl_cli_at(obj, "status.availability"), "%");
	phases(obj);
	targets(obj);
	injectors(obj);
	probes(obj);
	conditions(obj);
	history(obj);
}

int fl_cmd_describe(const struct fl_cli_globals *g, int argc, char **argv)
{
	struct fl_cli_conn c = {0};
	struct fl_kube_status st = {0};
	struct json_object *obj = NULL;
	struct fl_kube_ref ref;
	int rc = FL_EXIT_ERROR;

	if (argc != 1 || argv[0][0] == '-') {
		fprintf(stderr, "usage: kubectl faultline describe NAME\n");
		return FL_EXIT_ERROR;
	}
	if (fl_cli_connect(g, &c))
		goto out;
	ref = fl_cli_ref(c.namespace, argv[0]);
	if (fl_kube_get(c.kube, &ref, &obj, &st)) {
		fl_cli_api_err("get", c.namespace, argv[0], &st);
		goto out;
	}
	describe(obj);
	rc = 0;
out:
	json_object_put(obj);
	fl_kube_status_release(&st);
	fl_cli_conn_release(&c);
	return rc;
}
