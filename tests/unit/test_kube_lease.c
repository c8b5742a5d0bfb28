/*
 * Leader election's decision, with no server: who may take a Lease, and
 * when, by our own clock.  The race between real candidates runs against
 * a real API server in tests/integration/test_kube_watch.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "kube_lease.h"

static void test_free_lease_is_taken(void **state)
{
	(void)state;
	assert_int_equal(fl_kube_lease_decide(NULL, "me", 0, 15000, 1),
			 FL_LEASE_TAKE);
	assert_int_equal(fl_kube_lease_decide("", "me", 0, 15000, 1),
			 FL_LEASE_TAKE);
}

static void test_own_lease_is_renewed(void **state)
{
	(void)state;
	/* Even long after we last saw it change: it is ours to renew. */
	assert_int_equal(fl_kube_lease_decide("me", "me", 0, 15000, 999999),
			 FL_LEASE_RENEW);
}

static void test_other_holder_waits_until_expiry(void **state)
{
	(void)state;
	/* Seen changing at t=1000 with a 15 s lease: held until 16000. */
	assert_int_equal(fl_kube_lease_decide("you", "me", 1000, 15000, 1000),
			 FL_LEASE_WAIT);
	assert_int_equal(fl_kube_lease_decide("you", "me", 1000, 15000, 15999),
			 FL_LEASE_WAIT);
	assert_int_equal(fl_kube_lease_decide("you", "me", 1000, 15000, 16000),
			 FL_LEASE_TAKE);
}

static void test_holder_prefix_is_not_us(void **state)
{
	(void)state;
	assert_int_equal(fl_kube_lease_decide("me-2", "me", 0, 15000, 10),
			 FL_LEASE_WAIT);
}

static void test_microtime_format(void **state)
{
	char buf[40];
	size_t i;

	(void)state;
	fl_kube_microtime(buf, sizeof(buf));
	/* 2006-01-02T15:04:05.000000Z */
	assert_int_equal(strlen(buf), 27);
	for (i = 0; i < strlen(buf); i++) {
		if (i == 4 || i == 7)
			assert_int_equal(buf[i], '-');
		else if (i == 10)
			assert_int_equal(buf[i], 'T');
		else if (i == 13 || i == 16)
			assert_int_equal(buf[i], ':');
		else if (i == 19)
			assert_int_equal(buf[i], '.');
		else if (i == 26)
			assert_int_equal(buf[i], 'Z');
		else
			assert_true(buf[i] >= '0' && buf[i] <= '9');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_lease_is_taken),
		cmocka_unit_test(test_own_lease_is_renewed),
		cmocka_unit_test(test_other_holder_waits_until_expiry),
		cmocka_unit_test(test_holder_prefix_is_not_us),
		cmocka_unit_test(test_microtime_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
