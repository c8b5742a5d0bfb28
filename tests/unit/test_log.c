/*
 * Logging: the level and trace checks happen before any argument is
 * evaluated, JSON lines are valid JSON whatever the message holds, text
 * lines have the documented shape, and lines from several processes
 * writing to one file never interleave.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"

#define TS_RE \
	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static int calls;

/* fl_log_cfg as the program started, before any test changed it. */
static struct fl_log_config initial;

/* An argument whose evaluation can be seen. */
static int counted(void)
{
	return ++calls;
}

/* Every test starts from the documented defaults and an empty file. */
static int setup(void **state)
{
	(void)state;
	fl_log_cfg.level = FL_LOG_INFO;
	fl_log_cfg.format = FL_LOG_TEXT;
	fl_log_cfg.trace = 0;
	fl_log_cfg.component = NULL;
	fl_log_cfg.out = tmpfile();
	calls = 0;
	return fl_log_cfg.out ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fclose(fl_log_cfg.out);
	fl_log_cfg.out = NULL;
	return 0;
}

/* Everything written so far; the caller frees it. */
static char *output(void)
{
	struct fl_buf b;
	char chunk[4096];
	size_t n;

	fl_buf_init(&b, 0);
	fflush(fl_log_cfg.out);
	rewind(fl_log_cfg.out);
	while ((n = fread(chunk, 1, sizeof(chunk), fl_log_cfg.out)) > 0)
		assert_int_equal(fl_buf_add(&b, chunk, n), 0);
	return fl_buf_detach(&b, NULL);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void expect_match(const char *s, const char *pattern)
{
	regex_t re;
	int rc;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	if (rc) {
		print_error("'%s' does not match /%s/\n", s, pattern);
		fail();
	}
}

static const char *field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(initial.level, FL_LOG_INFO);
	assert_int_equal(initial.format, FL_LOG_TEXT);
	assert_int_equal(initial.trace, 0);
	assert_null(initial.out);
	assert_null(initial.component);
}

static void test_disabled_level_skips_arguments(void **state)
{
	char *out;

	(void)state;
	fl_debug("never %d", counted());
	FL_LOG(FL_LOG_TRACE, NULL, "never %d", counted());
	assert_int_equal(calls, 0);
	out = output();
	assert_string_equal(out, "");
	free(out);

	fl_info("once %d", counted());
	fl_warn("twice %d", counted());
	assert_int_equal(calls, 2);
	out = output();
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, " info: once 1\n"));
	assert_non_null(strstr(out, " warn: twice 2\n"));
	free(out);
}

static void test_level_table(void **state)
{
	enum fl_log_level cfg, lvl;
	char *out;
	size_t want = 0;

	(void)state;
	for (cfg = FL_LOG_ERROR; cfg <= FL_LOG_TRACE; cfg++) {
		fl_log_cfg.level = cfg;
		for (lvl = FL_LOG_ERROR; lvl <= FL_LOG_TRACE; lvl++) {
			int before = calls;

			FL_LOG(lvl, NULL, "m%d", counted());
			assert_int_equal(calls - before, lvl <= cfg);
			want += lvl <= cfg;
		}
	}
	out = output();
	assert_int_equal(count_lines(out), want);
	free(out);
}

static void test_trace_areas(void **state)
{
	char *out;

	(void)state;
	fl_log_cfg.level = FL_LOG_TRACE;
	fl_trace(FL_AREA_KUBE, "off %d", counted());
	fl_log_cfg.trace = FL_AREA_AWS | FL_AREA_NETLINK;
	fl_trace(FL_AREA_KUBE, "other area %d", counted());
	assert_int_equal(calls, 0);

	/* An enabled area traces even when the level is lower. */
	fl_log_cfg.level = FL_LOG_ERROR;
	fl_trace(FL_AREA_AWS, "aws %d", counted());
	assert_int_equal(calls, 1);
	out = output();
	expect_match(out, "^" TS_RE " trace: aws 1\n$");
	free(out);
}

static void test_json_escaping(void **state)
{
	static const char msg[] = "q\" b\\ nl\n tab\t cr\r c1\x01 c1f\x1f"
				  " del\x7f e\xc3\xa9 bad\xff\xc3 end";
	static const char want[] = "q\" b\\ nl\n tab\t cr\r c1\x01 c1f\x1f"
				   " del\x7f e\xc3\xa9 bad\xef\xbf\xbd"
				   "\xef\xbf\xbd end";
	struct fl_log_ctx ctx = {"sh\"op", "lat\\ency", "r-\n1"};
	struct json_object *obj;
	char *out;

	(void)state;
	fl_log_cfg.format = FL_LOG_JSON;
	fl_log_cfg.component = "operator";
	FL_LOG(FL_LOG_WARN, &ctx, "%s", msg);
	out = output();
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "\\u0001"));
	assert_non_null(strstr(out, "\\u001f"));

	obj = json_tokener_parse(out);
	assert_non_null(obj);
	assert_string_equal(field(obj, "msg"), want);
	assert_string_equal(field(obj, "level"), "warn");
	assert_string_equal(field(obj, "component"), "operator");
	assert_string_equal(field(obj, "ns"), "sh\"op");
	assert_string_equal(field(obj, "name"), "lat\\ency");
	assert_string_equal(field(obj, "run"), "r-\n1");
	expect_match(field(obj, "ts"), "^" TS_RE "$");
	json_object_put(obj);
	free(out);
}

static void test_json_field_order_and_absence(void **state)
{
	struct fl_log_ctx ctx = {"shop", "latency", "r-abc"};
	struct fl_log_ctx half = {NULL, "solo", NULL};
	struct json_object *obj;
	char *out, *second;

	(void)state;
	fl_log_cfg.format = FL_LOG_JSON;
	fl_log_cfg.component = "operator";
	FL_LOG(FL_LOG_INFO, &ctx, "injected");
	fl_log_cfg.component = NULL;
	FL_LOG(FL_LOG_ERROR, &half, "x");
	fl_info("bare");
	out = output();
	assert_int_equal(count_lines(out), 3);
	expect_match(out, "^\\{\"ts\":\"" TS_RE "\",\"level\":\"info\","
			  "\"component\":\"operator\",\"ns\":\"shop\","
			  "\"name\":\"latency\",\"run\":\"r-abc\","
			  "\"msg\":\"injected\"\\}\n");

	second = strchr(out, '\n') + 1;
	obj = json_tokener_parse(second);
	assert_non_null(obj);
	assert_string_equal(field(obj, "name"), "solo");
	assert_null(field(obj, "ns"));
	assert_null(field(obj, "run"));
	assert_null(field(obj, "component"));
	json_object_put(obj);

	expect_match(out, "\n\\{\"ts\":\"" TS_RE "\",\"level\":\"info\","
			  "\"msg\":\"bare\"\\}\n$");
	free(out);
}

static void test_text_format(void **state)
{
	struct fl_log_ctx ctx = {"shop", "latency", "r-abc"};
	struct fl_log_ctx run_only = {NULL, NULL, "r-1"};
	char *out;

	(void)state;
	fl_log_cfg.component = "operator";
	FL_LOG(FL_LOG_INFO, &ctx, "probe %s failed %d times", "checkout", 3);
	FL_LOG(FL_LOG_ERROR, &run_only, "two\nlines\x1b[31m");
	fl_warn("plain");
	out = output();
	expect_match(out, "^" TS_RE " info shop/latency run=r-abc: "
			  "probe checkout failed 3 times\n" TS_RE
			  " error run=r-1: two\\\\nlines\\\\x1b\\[31m\n" TS_RE
			  " warn: plain\n$");
	free(out);
}

/* The stamp is the current UTC time, to the millisecond. */
static void test_timestamp_is_now(void **state)
{
	struct timespec before, after;
	struct tm tm = {0};
	time_t stamp;
	char *out, *rest;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &before);
	fl_info("now");
	clock_gettime(CLOCK_REALTIME, &after);
	out = output();
	rest = strptime(out, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	stamp = timegm(&tm);
	assert_true(stamp >= before.tv_sec && stamp <= after.tv_sec);
	if (before.tv_sec == after.tv_sec) {
		long ms = strtol(rest + 1, NULL, 10);

		assert_true(ms >= before.tv_nsec / 1000000);
		assert_true(ms <= after.tv_nsec / 1000000);
	}
	free(out);
}

static void test_long_message_truncated(void **state)
{
	struct json_object *obj;
	const char *msg;
	char *big, *out;

	(void)state;
	big = fl_malloc(20001);
	memset(big, 'z', 20000);
	big[20000] = '\0';
	fl_log_cfg.format = FL_LOG_JSON;
	fl_info("%s", big);
	out = output();
	obj = json_tokener_parse(out);
	assert_non_null(obj);
	msg = field(obj, "msg");
	assert_int_equal(strlen(msg), 8192 + strlen(" [truncated]"));
	assert_memory_equal(msg, big, 8192);
	assert_string_equal(msg + 8192, " [truncated]");
	json_object_put(obj);
	free(out);
	free(big);
}

static void test_errno_preserved(void **state)
{
	char *out;

	(void)state;
	errno = ENOENT;
	fl_info("open: %m");
	assert_int_equal(errno, ENOENT);
	out = output();
	assert_non_null(strstr(out, "open: No such file or directory\n"));
	free(out);
}

/* Even a failed write leaves errno alone. */
static void test_errno_preserved_on_failed_write(void **state)
{
	FILE *file = fl_log_cfg.out;
	FILE *dead = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(dead);
	close(fileno(dead));
	fl_log_cfg.out = dead;
	errno = ENOENT;
	fl_info("into a closed descriptor");
	assert_int_equal(errno, ENOENT);
	fclose(dead);
	fl_log_cfg.out = file;
}

/* A stream without a file descriptor still gets the whole line. */
static void test_stream_without_fd(void **state)
{
	FILE *file = fl_log_cfg.out;
	char *mem = NULL;
	size_t len = 0;

	(void)state;
	fl_log_cfg.out = open_memstream(&mem, &len);
	assert_non_null(fl_log_cfg.out);
	fl_info("to memory");
	fclose(fl_log_cfg.out);
	fl_log_cfg.out = file;
	expect_match(mem, "^" TS_RE " info: to memory\n$");
	free(mem);
}

/*
 * Lines longer than a stdio buffer (4096 bytes here), which stdio would
 * hand to the kernel in pieces.
 */
#define WRITERS 4
#define LINES 200

static void writer(int id)
{
	char pad[6000];
	int i;

	memset(pad, 'a' + id, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (i = 0; i < LINES; i++)
		fl_info("w%d l%d %s", id, i, pad);
	_exit(0);
}

/* Each line must be exactly one writer's. */
static void check_interleaving(char *out)
{
	int seen[WRITERS] = {0};
	char *line, *save = NULL;
	struct json_object *obj;
	int id, n, i;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *msg;

		obj = json_tokener_parse(line);
		assert_non_null(obj);
		msg = field(obj, "msg");
		assert_int_equal(sscanf(msg, "w%d l%d ", &id, &n), 2);
		assert_true(id >= 0 && id < WRITERS);
		assert_int_equal(n, seen[id]++);
		for (i = (int)(strchr(msg + 3, ' ') - msg) + 1; msg[i]; i++)
			assert_int_equal(msg[i], 'a' + id);
		json_object_put(obj);
	}
	for (id = 0; id < WRITERS; id++)
		assert_int_equal(seen[id], LINES);
}

static void test_processes_do_not_interleave(void **state)
{
	char path[] = "/tmp/fl-log-XXXXXX";
	pid_t pids[WRITERS];
	FILE *file = fl_log_cfg.out;
	int fd, i, status;
	char *out;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
	fl_log_cfg.out = fdopen(fd, "a+");
	assert_non_null(fl_log_cfg.out);
	fl_log_cfg.format = FL_LOG_JSON;

	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (!pids[i])
			writer(i);
	}
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	out = output();
	assert_int_equal(count_lines(out), WRITERS * LINES);
	check_interleaving(out);
	free(out);
	fclose(fl_log_cfg.out);
	fl_log_cfg.out = file;
}

static void test_parse_level(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum fl_log_level want;
	} cases[] = {
		{"error", 0, FL_LOG_ERROR},
		{"warn", 0, FL_LOG_WARN},
		{"info", 0, FL_LOG_INFO},
		{"debug", 0, FL_LOG_DEBUG},
		{"trace", 0, FL_LOG_TRACE},
		{"", -1, 0},
		{"INFO", -1, 0},
		{"warning", -1, 0},
		{"info ", -1, 0},
		{"inf", -1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum fl_log_level got = (enum fl_log_level)77;

		if (fl_log_parse_level(cases[i].s, &got) != cases[i].rc) {
			print_error("level '%s'\n", cases[i].s);
			fail();
		}
		assert_int_equal(got, cases[i].rc ? 77 : cases[i].want);
	}
}

static void test_parse_areas(void **state)
{
	static const unsigned all = FL_AREA_KUBE | FL_AREA_AWS |
				    FL_AREA_NETLINK | FL_AREA_RECONCILE |
				    FL_AREA_AGENT;
	static const struct {
		const char *s;
		int rc;
		unsigned want;
	} cases[] = {
		{"", 0, 0},
		{"kube", 0, FL_AREA_KUBE},
		{"aws", 0, FL_AREA_AWS},
		{"netlink", 0, FL_AREA_NETLINK},
		{"reconcile", 0, FL_AREA_RECONCILE},
		{"agent", 0, FL_AREA_AGENT},
		{"kube,aws", 0, FL_AREA_KUBE | FL_AREA_AWS},
		{"agent,kube,agent", 0, FL_AREA_AGENT | FL_AREA_KUBE},
		{"all", 0, all},
		{"kube,all", 0, all},
		{"kube,", -1, 0},
		{",kube", -1, 0},
		{"kube,,aws", -1, 0},
		{",", -1, 0},
		{"Kube", -1, 0},
		{"kub", -1, 0},
		{"kubex", -1, 0},
		{"kube aws", -1, 0},
		{"kube, aws", -1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = 0xdead;

		if (fl_log_parse_areas(cases[i].s, &got) != cases[i].rc) {
			print_error("areas '%s'\n", cases[i].s);
			fail();
		}
		assert_int_equal(got, cases[i].rc ? 0xdead : cases[i].want);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_disabled_level_skips_arguments),
		T(test_level_table),
		T(test_trace_areas),
		T(test_json_escaping),
		T(test_json_field_order_and_absence),
		T(test_text_format),
		T(test_timestamp_is_now),
		T(test_long_message_truncated),
		T(test_errno_preserved),
		T(test_errno_preserved_on_failed_write),
		T(test_stream_without_fd),
		T(test_processes_do_not_interleave),
		T(test_parse_level),
		T(test_parse_areas),
	};

	initial = fl_log_cfg;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
