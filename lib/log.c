/*
 * Log lines, JSON or text.  Each line is assembled in memory and handed to
 * the kernel with one write(), so that lines from processes sharing a file
 * or a pipe do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* Longest message kept; a longer one is cut and marked. */
#define LOG_MSG_MAX 8192
#define LOG_TRUNCATED " [truncated]"

struct fl_log_config fl_log_cfg = {
	.level = FL_LOG_INFO,
	.format = FL_LOG_TEXT,
	.trace = 0,
	.out = NULL,
	.component = NULL,
};

static const char *const level_names[] = {
	[FL_LOG_ERROR] = "error", [FL_LOG_WARN] = "warn",
	[FL_LOG_INFO] = "info",	  [FL_LOG_DEBUG] = "debug",
	[FL_LOG_TRACE] = "trace",
};

static const struct {
	const char *name;
	unsigned bit;
} area_names[] = {
	{"kube", FL_AREA_KUBE},	      {"aws", FL_AREA_AWS},
	{"netlink", FL_AREA_NETLINK}, {"reconcile", FL_AREA_RECONCILE},
	{"agent", FL_AREA_AGENT},
};

#define N_LEVELS (sizeof(level_names) / sizeof(level_names[0]))
#define N_AREAS (sizeof(area_names) / sizeof(area_names[0]))

/* Returns 0 and stores the level, or -1 leaving *out alone. */
int fl_log_parse_level(const char *s, enum fl_log_level *out)
{
	size_t i;

	for (i = 0; i < N_LEVELS; i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum fl_log_level)i;
			return 0;
		}
	}
	return -1;
}

static int area_bit(const char *s, size_t n, unsigned *bit)
{
	size_t i;

	if (n == 3 && !memcmp(s, "all", 3)) {
		*bit = 0;
		for (i = 0; i < N_AREAS; i++)
			*bit |= area_names[i].bit;
		return 0;
	}
	for (i = 0; i < N_AREAS; i++) {
		if (strlen(area_names[i].name) == n &&
		    !memcmp(s, area_names[i].name, n)) {
			*bit = area_names[i].bit;
			return 0;
		}
	}
	return -1;
}

/*
 * Returns 0 and stores the bits, or -1 leaving *out alone.  "" means no
 * area and "all" every area; an empty item ("kube,,aws") is an error.
 */
int fl_log_parse_areas(const char *s, unsigned *out)
{
	unsigned bits = 0, bit;
	const char *end;

	if (!*s) {
		*out = 0;
		return 0;
	}
	for (;;) {
		end = strchrnul(s, ',');
		if (area_bit(s, (size_t)(end - s), &bit) < 0)
			return -1;
		bits |= bit;
		if (!*end)
			break;
		s = end + 1;
	}
	*out = bits;
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0
 * when it is not one: overlong forms, surrogates and values past U+10FFFF
 * are refused, as RFC 3629 says.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;

	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

/* The short escape JSON has for c, or NULL. */
static const char *json_short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

static void json_add_ascii(struct fl_buf *b, unsigned char c)
{
	const char *esc = json_short_escape(c);

	if (esc)
		fl_buf_adds(b, esc);
	else if (c < 0x20 || c == 0x7f)
		fl_buf_addf(b, "\\u%04x", c);
	else
		fl_buf_addc(b, (char)c);
}

/*
 * Appends s as a JSON string.  Bytes that are not well-formed UTF-8 become
 * U+FFFD, so that the line stays valid JSON whatever the message held.
 */
static void json_add_string(struct fl_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;

	fl_buf_addc(b, '"');
	while (i < n) {
		if (p[i] < 0x80) {
			json_add_ascii(b, p[i++]);
			continue;
		}
		len = utf8_len(p + i, n - i);
		if (len) {
			fl_buf_add(b, p + i, len);
			i += len;
		} else {
			fl_buf_adds(b, "\\ufffd");
			i++;
		}
	}
	fl_buf_addc(b, '"');
}

static void json_add_field(struct fl_buf *b, const char *key, const char *val)
{
	if (!val)
		return;
	fl_buf_addf(b, ",\"%s\":", key);
	json_add_string(b, val, strlen(val));
}

/*
 * Appends s for a terminal: a message may not start a new line or move the
 * cursor, so newlines and other control bytes are shown escaped.
 */
static void text_add(struct fl_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fl_buf_adds(b, "\\n");
		else if (c == '\r')
			fl_buf_adds(b, "\\r");
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			fl_buf_addf(b, "\\x%02x", c);
		else
			fl_buf_addc(b, (char)c);
	}
}

static void text_adds(struct fl_buf *b, const char *s)
{
	text_add(b, s, strlen(s));
}

/* "2026-12-03T16:30:00.123Z", UTC, into ts (at least 32 bytes). */
static void log_timestamp(char *ts, size_t n)
{
	struct timespec now;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!gmtime_r(&now.tv_sec, &tm)) {
		snprintf(ts, n, "0000-00-00T00:00:00.000Z");
		return;
	}
	len = strftime(ts, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + len, n - len, ".%03ldZ", now.tv_nsec / 1000000);
}

static const char *level_name(enum fl_log_level level)
{
	if ((size_t)level < N_LEVELS)
		return level_names[level];
	return "unknown";
}

static void format_json(struct fl_buf *b, const char *ts, const char *level,
			const struct fl_log_ctx *ctx, const char *msg,
			size_t msg_len)
{
	fl_buf_addf(b, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level);
	json_add_field(b, "component", fl_log_cfg.component);
	if (ctx) {
		json_add_field(b, "ns", ctx->ns);
		json_add_field(b, "name", ctx->name);
		json_add_field(b, "run", ctx->run);
	}
	fl_buf_adds(b, ",\"msg\":");
	json_add_string(b, msg, msg_len);
	fl_buf_adds(b, "}\n");
}

/* "2026-12-03T16:30:00.123Z info shop/latency run=r-abc: msg" */
static void format_text(struct fl_buf *b, const char *ts, const char *level,
			const struct fl_log_ctx *ctx, const char *msg,
			size_t msg_len)
{
	fl_buf_addf(b, "%s %s", ts, level);
	if (ctx && (ctx->ns || ctx->name)) {
		fl_buf_addc(b, ' ');
		if (ctx->ns) {
			text_adds(b, ctx->ns);
			fl_buf_addc(b, '/');
		}
		if (ctx->name)
			text_adds(b, ctx->name);
	}
	if (ctx && ctx->run) {
		fl_buf_adds(b, " run=");
		text_adds(b, ctx->run);
	}
	fl_buf_adds(b, ": ");
	text_add(b, msg, msg_len);
	fl_buf_addc(b, '\n');
}

/*
 * One write() for the whole line.  Whatever stdio holds for the same
 * stream goes out first, so that order is kept.  A stream with no file
 * descriptor (fmemopen) falls back to stdio.  Errors are ignored: there is
 * nowhere left to report them.
 */
static void log_emit(FILE *out, const char *line, size_t len)
{
	int fd;
	ssize_t n;

	fflush(out);
	fd = fileno(out);
	if (fd < 0) {
		fwrite(line, 1, len, out);
		fflush(out);
		return;
	}
	while (len) {
		n = write(fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

/*
 * Formats the message into msg (LOG_MSG_MAX plus the marker's bytes); one
 * that is too long is cut and marked.  Returns its length.
 */
static size_t format_msg(char *msg, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, LOG_MSG_MAX + 1, fmt, ap);

	if (n < 0)
		return (size_t)snprintf(msg, LOG_MSG_MAX, "(bad log format)");
	if ((size_t)n <= LOG_MSG_MAX)
		return (size_t)n;
	memcpy(msg + LOG_MSG_MAX, LOG_TRUNCATED, sizeof(LOG_TRUNCATED));
	return LOG_MSG_MAX + sizeof(LOG_TRUNCATED) - 1;
}

/*
 * Writes one line at the given level, whatever the configured level: the
 * macros in log.h do the filtering, before any argument is evaluated.
 * errno is preserved, so that "%m" and the caller's error handling work.
 */
void fl_log_write(enum fl_log_level level, const struct fl_log_ctx *ctx,
		  const char *fmt, ...)
{
	char msg[LOG_MSG_MAX + sizeof(LOG_TRUNCATED)];
	char ts[32];
	struct fl_buf line;
	va_list ap;
	size_t len;
	int saved_errno = errno;

	va_start(ap, fmt);
	len = format_msg(msg, fmt, ap);
	va_end(ap);
	log_timestamp(ts, sizeof(ts));

	fl_buf_init(&line, 0);
	if (fl_log_cfg.format == FL_LOG_JSON)
		format_json(&line, ts, level_name(level), ctx, msg, len);
	else
		format_text(&line, ts, level_name(level), ctx, msg, len);
	log_emit(fl_log_cfg.out ? fl_log_cfg.out : stderr, line.data, line.len);
	fl_buf_release(&line);
	errno = saved_errno;
}
