/*
 * The bounded buffer: appends, growth, the hard maximum (a refused append
 * leaves the buffer exactly as it was), reset and detach.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

/* The buffer holds exactly s (length n) and a NUL after it. */
static void expect_contents(const struct fl_buf *b, const char *s, size_t n)
{
	assert_int_equal(b->len, n);
	assert_non_null(b->data);
	assert_memory_equal(b->data, s, n);
	assert_int_equal(b->data[n], '\0');
	assert_true(b->cap > b->len);
	if (b->max)
		assert_true(b->cap <= b->max + 1);
}

static void test_init_is_empty(void **state)
{
	struct fl_buf b;

	(void)state;
	fl_buf_init(&b, 10);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 10);
	fl_buf_release(&b);
}

static void test_add_variants(void **state)
{
	struct fl_buf b;

	(void)state;
	fl_buf_init(&b, 0);
	assert_int_equal(fl_buf_add(&b, NULL, 0), 0);
	expect_contents(&b, "", 0);
	assert_int_equal(fl_buf_add(&b, "ab\0cd", 5), 0);
	assert_int_equal(fl_buf_adds(&b, "ef"), 0);
	assert_int_equal(fl_buf_addc(&b, 'g'), 0);
	assert_int_equal(fl_buf_addf(&b, "%d-%s", 42, "x"), 0);
	expect_contents(&b, "ab\0cdefg42-x", 12);
	fl_buf_release(&b);
}

static void test_growth_keeps_everything(void **state)
{
	struct fl_buf b;
	char want[10000];
	size_t i;

	(void)state;
	fl_buf_init(&b, 0);
	for (i = 0; i < sizeof(want); i++) {
		want[i] = (char)('a' + i % 26);
		assert_int_equal(fl_buf_addc(&b, want[i]), 0);
	}
	expect_contents(&b, want, sizeof(want));
	/* Doubling: far fewer than one allocation per byte. */
	assert_true(b.cap < 2 * sizeof(want) + 64);
	fl_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_max_is_exact(void **state)
{
	struct fl_buf b;

	(void)state;
	fl_buf_init(&b, 8);
	assert_int_equal(fl_buf_adds(&b, "12345"), 0);
	assert_int_equal(fl_buf_adds(&b, "6789"), -1);
	expect_contents(&b, "12345", 5);
	assert_int_equal(fl_buf_adds(&b, "678"), 0);
	expect_contents(&b, "12345678", 8);
	assert_int_equal(fl_buf_addc(&b, '9'), -1);
	assert_int_equal(fl_buf_addf(&b, "%c", '9'), -1);
	assert_int_equal(fl_buf_add(&b, "", 0), 0);
	expect_contents(&b, "12345678", 8);
	fl_buf_release(&b);
	assert_int_equal(b.max, 8);
}

static void test_size_overflow_refused(void **state)
{
	struct fl_buf b;

	(void)state;
	fl_buf_init(&b, 0);
	assert_int_equal(fl_buf_adds(&b, "abc"), 0);
	assert_int_equal(fl_buf_add(&b, "x", SIZE_MAX), -1);
	assert_int_equal(fl_buf_add(&b, "x", SIZE_MAX - 3), -1);
	expect_contents(&b, "abc", 3);
	fl_buf_release(&b);
}

/*
 * The first formatting attempt goes into the spare room past len; when
 * the result would pass the maximum, nothing of it may remain visible.
 */
static void test_addf_overflow_leaves_buffer_unchanged(void **state)
{
	struct fl_buf b;
	char *before_data;
	size_t before_cap;
	char big[200];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	fl_buf_init(&b, 100);
	assert_int_equal(fl_buf_adds(&b, "abc"), 0);
	before_data = b.data;
	before_cap = b.cap;
	assert_true(before_cap > 4 && before_cap < 100);

	assert_int_equal(fl_buf_addf(&b, "%.*s", 98, big), -1);
	expect_contents(&b, "abc", 3);
	assert_ptr_equal(b.data, before_data);
	assert_int_equal(b.cap, before_cap);

	assert_int_equal(fl_buf_addf(&b, "[%s]", big), -1);
	expect_contents(&b, "abc", 3);

	assert_int_equal(fl_buf_addf(&b, "%.*s", 97, big), 0);
	assert_int_equal(b.len, 100);
	assert_memory_equal(b.data, "abc", 3);
	assert_memory_equal(b.data + 3, big, 97);
	assert_int_equal(b.data[100], '\0');
	fl_buf_release(&b);
}

/* A result longer than the spare room takes the grow-and-retry path. */
static void test_addf_grows(void **state)
{
	struct fl_buf b;
	char big[3000];
	char *want;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	want = fl_malloc(sizeof(big) + 8);
	memcpy(want, "pre<", 4);
	memcpy(want + 4, big, sizeof(big) - 1);
	memcpy(want + 4 + sizeof(big) - 1, ">", 2);

	fl_buf_init(&b, 0);
	assert_int_equal(fl_buf_adds(&b, "pre"), 0);
	assert_int_equal(fl_buf_addf(&b, "<%s>", big), 0);
	expect_contents(&b, want, strlen(want));
	fl_buf_release(&b);
	free(want);
}

static void test_append_from_itself(void **state)
{
	struct fl_buf b;
	int i;

	(void)state;
	fl_buf_init(&b, 0);
	assert_int_equal(fl_buf_adds(&b, "ab"), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(fl_buf_add(&b, b.data, b.len), 0);
	assert_int_equal(b.len, 512);
	for (i = 0; i < 512; i++)
		assert_int_equal(b.data[i], i % 2 ? 'b' : 'a');
	assert_int_equal(fl_buf_adds(&b, b.data + 510), 0);
	assert_int_equal(b.len, 514);
	assert_memory_equal(b.data + 510, "abab", 5);
	fl_buf_release(&b);
}

static void test_reset_keeps_memory(void **state)
{
	struct fl_buf b;
	char *data;
	size_t cap;

	(void)state;
	fl_buf_init(&b, 0);
	assert_int_equal(fl_buf_adds(&b, "some text"), 0);
	data = b.data;
	cap = b.cap;
	fl_buf_reset(&b);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	expect_contents(&b, "", 0);
	assert_int_equal(fl_buf_adds(&b, "new"), 0);
	expect_contents(&b, "new", 3);
	fl_buf_release(&b);

	fl_buf_reset(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_detach(void **state)
{
	struct fl_buf b;
	size_t len = 99;
	char *s;

	(void)state;
	fl_buf_init(&b, 50);
	assert_int_equal(fl_buf_adds(&b, "owned by caller"), 0);
	s = fl_buf_detach(&b, &len);
	assert_string_equal(s, "owned by caller");
	assert_int_equal(len, 15);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 50);
	free(s);

	assert_int_equal(fl_buf_adds(&b, "again"), 0);
	expect_contents(&b, "again", 5);
	fl_buf_release(&b);

	s = fl_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);

	s = fl_buf_detach(&b, NULL);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_empty),
		cmocka_unit_test(test_add_variants),
		cmocka_unit_test(test_growth_keeps_everything),
		cmocka_unit_test(test_max_is_exact),
		cmocka_unit_test(test_size_overflow_refused),
		cmocka_unit_test(test_addf_overflow_leaves_buffer_unchanged),
		cmocka_unit_test(test_addf_grows),
		cmocka_unit_test(test_append_from_itself),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
