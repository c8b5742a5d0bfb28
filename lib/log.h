/*
 * Logging for the binaries.  lib/ itself never logs: it returns errors and
 * the binaries decide what to say.
 *
 * One macro family that checks the level before formatting anything.  Two
 * formats: JSON lines (what log collectors expect; the default for the
 * operator) and text (for a terminal).  Trace output is switched on per
 * area, so that a kube trace does not drown in netlink noise.
 *
 * Every line about an experiment carries its namespace/name and run id:
 * pass them in a struct fl_log_ctx through FL_LOG().
 */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdio.h>

enum fl_log_level {
	FL_LOG_ERROR,
	FL_LOG_WARN,
	FL_LOG_INFO,
	FL_LOG_DEBUG,
	FL_LOG_TRACE,
};

enum fl_log_format { FL_LOG_TEXT, FL_LOG_JSON };

/* Trace areas, a bit each. */
enum fl_log_area {
	FL_AREA_KUBE = 1 << 0,
	FL_AREA_AWS = 1 << 1,
	FL_AREA_NETLINK = 1 << 2,
	FL_AREA_RECONCILE = 1 << 3,
	FL_AREA_AGENT = 1 << 4,
};

struct fl_log_config {
	enum fl_log_level level;
	enum fl_log_format format;
	unsigned trace;	       /* enum fl_log_area bits */
	FILE *out;	       /* stderr when NULL */
	const char *component; /* "operator", "sidecar", ... */
};

extern struct fl_log_config fl_log_cfg;

/* Parses "error", "warn", "info", "debug" or "trace"; -1 if unknown. */
int fl_log_parse_level(const char *s, enum fl_log_level *out);
/* Parses a comma-separated list of areas ("kube,aws"); -1 if unknown. */
int fl_log_parse_areas(const char *s, unsigned *out);

/* Context fields that many lines share: an experiment and its run. */
struct fl_log_ctx {
	const char *ns;
	const char *name;
	const char *run;
};

void fl_log_write(enum fl_log_level level, const struct fl_log_ctx *ctx,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define fl_log_enabled(lvl) ((lvl) <= fl_log_cfg.level)
#define fl_trace_enabled(area) (fl_log_cfg.trace & (area))

#define FL_LOG(lvl, ctx, ...)                                    \
	do {                                                     \
		if (fl_log_enabled(lvl))                         \
			fl_log_write((lvl), (ctx), __VA_ARGS__); \
	} while (0)

#define fl_error(...) FL_LOG(FL_LOG_ERROR, NULL, __VA_ARGS__)
#define fl_warn(...) FL_LOG(FL_LOG_WARN, NULL, __VA_ARGS__)
#define fl_info(...) FL_LOG(FL_LOG_INFO, NULL, __VA_ARGS__)
#define fl_debug(...) FL_LOG(FL_LOG_DEBUG, NULL, __VA_ARGS__)
#define fl_trace(area, ...)                                            \
	do {                                                           \
		if (fl_trace_enabled(area))                            \
			fl_log_write(FL_LOG_TRACE, NULL, __VA_ARGS__); \
	} while (0)

#endif
