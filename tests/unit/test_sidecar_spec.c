/* The sidecar's spec parser and state directory, without touching the
 * system: parse() only reads, and state goes to a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec.h"
#include "state.h"

static void test_valid_spec(void **state)
{
	static const char text[] =
		"{\"tag\": \"r1a2b3\", \"duration\": \"1m30s\",\n"
		" \"faults\": [{\"kind\": \"cpuStress\", \"params\": "
		"{\"load\": 50}},\n"
		"            {\"kind\": \"processKill\", \"params\": "
		"{\"process\": \"app\"}}],\n"
		" \"target\": {\"pid\": 123, \"cgroup\": \"/sys/fs/cgroup/x\"},\n"
		" \"control\": {\"cidr\": \"10.0.0.5/32\", \"port\": 8443},\n"
		" \"allowControlCut\": true}\n";
	struct fl_errors errs = {0};
	struct fl_spec sp;

	(void)state;
	assert_int_equal(fl_spec_parse(text, &sp, &errs), 0);
	assert_string_equal(sp.tag, "r1a2b3");
	assert_true(sp.duration_ms == 90000);
	assert_int_equal(sp.nfaults, 2);
	assert_string_equal(sp.faults[0].ops->kind, "cpuStress");
	assert_string_equal(sp.faults[1].ops->kind, "processKill");
	assert_int_equal(sp.target_pid, 123);
	assert_string_equal(sp.cgroup, "/sys/fs/cgroup/x");
	assert_string_equal(sp.control_cidr, "10.0.0.5/32");
	assert_int_equal(sp.control_port, 8443);
	assert_true(sp.allow_control_cut);
	fl_spec_release(&sp);
}

/* Wraps one fault (or replaces the whole spec when it starts with '!'),
 * parses, and returns "path: msg" of the first error, "" when valid. */
static const char *first_error(const char *fault_or_spec)
{
	static char out[1200];
	char text[2048];
	struct fl_errors errs = {0};
	struct fl_spec sp;

	if (fault_or_spec[0] == '!')
		snprintf(text, sizeof(text), "%s", fault_or_spec + 1);
	else
		snprintf(text, sizeof(text),
			 "{\"tag\": \"t\", \"duration\": \"5s\", \"faults\": "
			 "[%s]}",
			 fault_or_spec);
	out[0] = '\0';
	if (fl_spec_parse(text, &sp, &errs) == 0) {
		fl_spec_release(&sp);
		return out;
	}
	snprintf(out, sizeof(out), "%s: %s", errs.e[0].path, errs.e[0].msg);
	assert_null(sp.doc);
	return out;
}

static void test_errors_name_the_field(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"{\"kind\": \"cpuStress\", \"params\": {\"load\": 150}}",
		 "faults[0].params.load: 150 must be less than or equal"},
		{"{\"kind\": \"cpuStress\", \"params\": {\"load\": 10, "
		 "\"workers\": 0}}",
		 "faults[0].params.workers: 0 must be greater than"},
		{"{\"kind\": \"memoryStress\", \"params\": {}}",
		 "exactly one of size, percent"},
		{"{\"kind\": \"memoryStress\", \"params\": {\"size\": \"0\"}}",
		 "memoryStress.size: \"0\" is not a size above zero"},
		{"{\"kind\": \"fooStress\"}",
		 "faults[0].kind: unknown fault kind 'fooStress'"},
		{"{\"params\": {}}", "faults[0].kind: required"},
		{"{\"kind\": \"cpuStress\", \"params\": {\"load\": 5}, "
		 "\"x\": 1}",
		 "faults[0].x: unknown field"},
		{"!{\"tag\": \"t\", \"faults\": [{\"kind\": \"cpuStress\", "
		 "\"params\": {\"load\": 5}}]}",
		 "duration: required"},
		{"!{\"tag\": \"t\", \"duration\": \"0s\", \"faults\": "
		 "[{\"kind\": \"cpuStress\", \"params\": {\"load\": 5}}]}",
		 "duration: \"0s\" is not a duration"},
		{"!{\"tag\": \"A_B\", \"duration\": \"1s\", \"faults\": "
		 "[{\"kind\": \"cpuStress\", \"params\": {\"load\": 5}}]}",
		 "tag: \"A_B\" must be"},
		{"!{\"tag\": \"t\", \"duration\": \"1s\", \"faults\": []}",
		 "faults: must be a list of 1 to"},
		{"!{\"tag\": \"t\", \"duration\": \"1s\"", "spec is not JSON"},
		{"!{\"tag\": \"t\"} trailing", "spec is not JSON"},
		{"![1, 2]", "spec must be a JSON object"},
		{"!{\"tag\": \"t\", \"duration\": \"1s\", \"faults\": "
		 "[{\"kind\": \"cpuStress\", \"params\": {\"load\": 5}}], "
		 "\"target\": {\"cgroup\": \"/a/../b\"}}",
		 "target.cgroup: must be an absolute path"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = first_error(cases[i].in);

		if (!strstr(got, cases[i].want))
			fail_msg("%s: want \"%s\", got \"%s\"", cases[i].in,
				 cases[i].want, got);
	}
}

static int swept;

static int count_record(struct json_object *rec, char *err, size_t errn)
{
	(void)err;
	(void)errn;
	assert_string_equal(
		json_object_get_string(json_object_object_get(rec, "file")),
		"/x/.faultline-fill-t1");
	swept++;
	return 1;
}

static void test_state_records(void **state)
{
	char dir[] = "/tmp/fl-test-state-XXXXXX", err[256];
	struct json_object *rec = json_object_new_object();

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("FAULTLINE_STATE_DIR", dir, 1);
	json_object_object_add(rec, "file",
			       json_object_new_string("/x/.faultline-fill-t1"));
	assert_int_equal(
		fl_state_save("t1", "diskStress", rec, err, sizeof(err)), 0);
	json_object_put(rec);
	assert_int_equal(fl_state_count(), 1);

	/* Only records of the kind asked for are swept; our own record
	 * counts as one of a dead owner (a pid reused after a restart). */
	assert_int_equal(
		fl_state_sweep("processPause", count_record, err, sizeof(err)),
		0);
	assert_int_equal(
		fl_state_sweep("diskStress", count_record, err, sizeof(err)),
		1);
	assert_int_equal(swept, 1);
	assert_int_equal(fl_state_count(), 0);
	fl_state_drop("t1", "diskStress");
	assert_int_equal(rmdir(dir), 0);
	unsetenv("FAULTLINE_STATE_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_spec),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_state_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
