/*
 * The allocation wrappers: they return usable memory, and when there is
 * none they say so on stderr and abort instead of returning NULL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"

/*
 * Under AddressSanitizer an impossible malloc() aborts inside the
 * sanitizer unless told to return NULL, which is what the death tests
 * need to reach our own message.  Ignored without the sanitizer.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void test_malloc_zero_is_usable(void **state)
{
	char *p = fl_malloc(0);

	(void)state;
	assert_non_null(p);
	free(p);
}

static void test_calloc_zeroes(void **state)
{
	unsigned char *p = fl_calloc(100, 3);
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++)
		assert_int_equal(p[i], 0);
	free(p);
}

static void test_realloc_keeps_contents(void **state)
{
	char *p = fl_malloc(4);

	(void)state;
	memcpy(p, "abc", 4);
	p = fl_realloc(p, 1 << 20);
	assert_string_equal(p, "abc");
	p = fl_realloc(p, 0);
	assert_non_null(p);
	free(p);
}

static void test_strdup_strndup(void **state)
{
	char *a = fl_strdup("chaos");
	char *b = fl_strndup("chaos", 3);
	char *c = fl_strndup("ab", 10);
	char *d = fl_strdup("");

	(void)state;
	assert_string_equal(a, "chaos");
	assert_string_equal(b, "cha");
	assert_string_equal(c, "ab");
	assert_string_equal(d, "");
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_asprintf(void **state)
{
	char big[5000];
	char *s;

	(void)state;
	s = fl_asprintf("%s/%s run=%d", "shop", "latency", 42);
	assert_string_equal(s, "shop/latency run=42");
	free(s);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = fl_asprintf("<%s>", big);
	assert_int_equal(strlen(s), sizeof(big) + 1);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[sizeof(big)], '>');
	free(s);
}

enum oom_kind { OOM_MALLOC, OOM_CALLOC, OOM_REALLOC };

static void oom_child(enum oom_kind kind)
{
	void *p = NULL;

	switch (kind) {
	case OOM_MALLOC:
		p = fl_malloc(SIZE_MAX);
		break;
	case OOM_CALLOC:
		p = fl_calloc(SIZE_MAX / 2, 4);
		break;
	case OOM_REALLOC:
		p = fl_realloc(NULL, SIZE_MAX - 1);
		break;
	}
	free(p);
	_exit(0);
}

/* Runs an impossible allocation in a child; returns what it printed. */
static void expect_death(enum oom_kind kind, const char *what)
{
	char out[512];
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		oom_child(kind);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, "faultline: fatal: out of memory"));
	assert_non_null(strstr(out, what));
}

static void test_dies_on_failure(void **state)
{
	(void)state;
	expect_death(OOM_MALLOC, "malloc of 18446744073709551615 bytes");
	expect_death(OOM_CALLOC, "calloc of 18446744073709551615 bytes");
	expect_death(OOM_REALLOC, "realloc of 18446744073709551614 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malloc_zero_is_usable),
		cmocka_unit_test(test_calloc_zeroes),
		cmocka_unit_test(test_realloc_keeps_contents),
		cmocka_unit_test(test_strdup_strndup),
		cmocka_unit_test(test_asprintf),
		cmocka_unit_test(test_dies_on_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
