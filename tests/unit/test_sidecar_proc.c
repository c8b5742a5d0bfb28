/* The sidecar's pure logic: /proc parsing and the cpuStress duty cycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "worker.h"

static void test_stat_parse(void **state)
{
	/* A name with a space and a parenthesis: it ends at the last ')'. */
	static const char line[] =
		"4242 (my (app) x) T 17 4242 4242 0 -1 4194304 100 0 0 0 "
		"1 2 0 0 20 0 1 0 987654321 1000 100 18446744073709551615\n";
	struct fl_proc_stat st;

	(void)state;
	assert_int_equal(fl_proc_stat_parse(line, &st), 0);
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.comm, "my (app) x");
	assert_int_equal(st.state, 'T');
	assert_int_equal(st.ppid, 17);
	assert_true(st.starttime == 987654321ULL);
}

static void test_stat_parse_refuses_garbage(void **state)
{
	struct fl_proc_stat st;

	(void)state;
	assert_int_equal(fl_proc_stat_parse("", &st), -1);
	assert_int_equal(fl_proc_stat_parse("12 (x", &st), -1);
	assert_int_equal(fl_proc_stat_parse("x (a) S 1", &st), -1);
	assert_int_equal(fl_proc_stat_parse("12 (a) S 1 2 3", &st), -1);
}

static void test_stat_read_self(void **state)
{
	struct fl_proc_stat st;
	struct fl_proc_ref ref;

	(void)state;
	assert_int_equal(fl_proc_stat_read(getpid(), &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.ppid, getppid());
	ref.pid = st.pid;
	ref.starttime = st.starttime;
	assert_true(fl_proc_ref_alive(&ref));
	ref.starttime++;
	assert_false(fl_proc_ref_alive(&ref));
}

/* A ref whose starttime no longer matches is never signalled; the right
 * one is. */
static void test_signal_checks_identity(void **state)
{
	struct fl_proc_stat st;
	struct fl_proc_ref ref;
	int status;
	pid_t child;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(fl_proc_stat_read(child, &st), 0);
	ref.pid = child;
	ref.starttime = st.starttime + 1;
	assert_int_equal(fl_proc_signal(&ref, SIGKILL), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(waitpid(child, &status, WNOHANG), 0);

	ref.starttime = st.starttime;
	assert_int_equal(fl_proc_signal(&ref, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* Reaped: the pid names nobody now, or somebody else. */
	assert_int_equal(fl_proc_signal(&ref, SIGKILL), -1);
	assert_int_equal(errno, ESRCH);
}

static void test_argv0_base(void **state)
{
	static const char cmd[] = "/usr/bin/python3\0-m\0http.server";
	char out[64];

	(void)state;
	assert_string_equal(
		fl_proc_argv0_base(cmd, sizeof(cmd) - 1, out, sizeof(out)),
		"python3");
	assert_string_equal(fl_proc_argv0_base("nginx", 5, out, sizeof(out)),
			    "nginx");
	assert_string_equal(fl_proc_argv0_base("", 0, out, sizeof(out)), "");
	assert_string_equal(fl_proc_argv0_base("/x/", 3, out, sizeof(out)), "");
}

static void test_duty_busy(void **state)
{
	(void)state;
	assert_true(fl_duty_busy_ns(10000000, 0) == 0);
	assert_true(fl_duty_busy_ns(10000000, 20) == 2000000);
	assert_true(fl_duty_busy_ns(10000000, 100) == 10000000);
	assert_true(fl_duty_busy_ns(10000000, 150) == 10000000);
	assert_true(fl_duty_busy_ns(10000000, -3) == 0);
}

static void test_duty_owed(void **state)
{
	(void)state;
	assert_true(fl_duty_owed(3, 50) == 3);
	assert_true(fl_duty_owed(-7, 50) == -7);
	assert_true(fl_duty_owed(80, 50) == 50);
	assert_true(fl_duty_owed(-80, 50) == -50);
}

static void test_duty_spread(void **state)
{
	size_t w;

	(void)state;

	/* 50% of one CPU: one worker at 50%. */
	w = 0;
	assert_int_equal(fl_duty_spread(1000, 50, &w), 50);
	assert_int_equal(w, 1);

	/* 80% of 2.5 CPUs is 2 CPUs: two workers at 100%. */
	w = 0;
	assert_int_equal(fl_duty_spread(2500, 80, &w), 100);
	assert_int_equal(w, 2);

	/* 50% of 1.5 CPUs is 0.75: one worker at 75%. */
	w = 0;
	assert_int_equal(fl_duty_spread(1500, 50, &w), 75);
	assert_int_equal(w, 1);

	/* 30% of 4 CPUs over 4 workers the caller chose: 30% each. */
	w = 4;
	assert_int_equal(fl_duty_spread(4000, 30, &w), 30);
	assert_int_equal(w, 4);

	/* More than the workers can carry: capped at 100%. */
	w = 1;
	assert_int_equal(fl_duty_spread(4000, 100, &w), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_parse),
		cmocka_unit_test(test_stat_parse_refuses_garbage),
		cmocka_unit_test(test_stat_read_self),
		cmocka_unit_test(test_signal_checks_identity),
		cmocka_unit_test(test_argv0_base),
		cmocka_unit_test(test_duty_busy),
		cmocka_unit_test(test_duty_owed),
		cmocka_unit_test(test_duty_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
