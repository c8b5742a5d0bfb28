/*
 * Cron schedules, as a ChaosExperiment's spec.schedule writes them: five
 * fields (minute, hour, day of month, month, day of week) with lists,
 * ranges, steps and names (jan..dec, sun..sat), or one of @hourly,
 * @daily, @weekly, @monthly, @yearly.  Times are UTC.
 *
 * As in Vixie cron: when both day of month and day of week are
 * restricted (neither is "*"), a day matches when either matches.
 */
#ifndef FL_CRON_H
#define FL_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct fl_cron {
	uint64_t minute; /* bit m: minute m matches (0..59) */
	uint32_t hour;	 /* 0..23 */
	uint32_t mday;	 /* 1..31 */
	uint16_t month;	 /* 1..12 */
	uint8_t wday;	 /* 0..6, Sunday 0 (7 is read as Sunday too) */
	int mday_star, wday_star;
};

/*
 * Parses spec into c.  Returns 0, or -1 with a message in err that names
 * the field and what is wrong ("day of week: 8 is out of range 0-7").
 */
int fl_cron_parse(struct fl_cron *c, const char *spec, char *err,
		  size_t errlen);

/*
 * The first time strictly after `after` (seconds since the epoch, UTC)
 * that matches c, at a whole minute; -1 when none comes within five
 * years (e.g. "0 0 30 2 *").
 */
time_t fl_cron_next(const struct fl_cron *c, time_t after);

#endif
