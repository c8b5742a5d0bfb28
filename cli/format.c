/*
 * Times, ages, terminal-safe text and kubectl-style tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "cli.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Reads exactly n digits. */
static int digits(const char **s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -1;
		*v = *v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	return 0;
}

static int expect(const char **s, const char *set)
{
	if (!**s || !strchr(set, **s))
		return -1;
	(*s)++;
	return 0;
}

int fl_cli_time_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0, scale = 100;
	int64_t t;
	int sign = 0;

	if (!s || digits(&s, 4, &y) || expect(&s, "-") || digits(&s, 2, &mo) ||
	    expect(&s, "-") || digits(&s, 2, &d) || expect(&s, "Tt ") ||
	    digits(&s, 2, &h) || expect(&s, ":") || digits(&s, 2, &mi) ||
	    expect(&s, ":") || digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		s++;
		if (digits(&s, 2, &oh) || expect(&s, ":") || digits(&s, 2, &om))
			return -1;
	} else {
		return -1;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + frac;
	return 0;
}

int64_t fl_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *fl_cli_now_rfc3339(char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "%lld", (long long)now);
	return out;
}

char *fl_cli_age(const char *t, int64_t now_ms, char *out, size_t n)
{
	int64_t ms, s;

	if (!t || fl_cli_time_parse(t, &ms)) {
		snprintf(out, n, "<unknown>");
		return out;
	}
	s = (now_ms - ms) / 1000;
	if (s < 0)
		s = 0;
	/* Coarser the older it is, as kubectl does. */
	if (s < 120)
		snprintf(out, n, "%llds", (long long)s);
	else if (s < 600)
		snprintf(out, n, "%lldm%llds", (long long)(s / 60),
			 (long long)(s % 60));
	else if (s < 3 * 3600)
		snprintf(out, n, "%lldm", (long long)(s / 60));
	else if (s < 8 * 3600 && s % 3600 / 60)
		snprintf(out, n, "%lldh%lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else if (s < 48 * 3600)
		snprintf(out, n, "%lldh", (long long)(s / 3600));
	else if (s < 8 * 86400 && s % 86400 / 3600)
		snprintf(out, n, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s < 2 * 365 * 86400)
		snprintf(out, n, "%lldd", (long long)(s / 86400));
	else
		snprintf(out, n, "%lldy", (long long)(s / (365 * 86400)));
	return out;
}

const char *fl_cli_safe(const char *s, const char *def, char *out, size_t n)
{
	size_t i;

	if (!n)
		return "";
	if (!s || !*s)
		s = def ? def : "";
	for (i = 0; s[i] && i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[i] = '\0';
	return out;
}

void fl_cli_table_init(struct fl_cli_table *t, size_t cols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
}

void fl_cli_table_release(struct fl_cli_table *t)
{
	size_t i;

	for (i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void fl_cli_table_row(struct fl_cli_table *t, const char *const *cells)
{
	char buf[512];
	size_t i;

	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->cells = fl_realloc(t->cells,
				      t->cap * t->cols * sizeof(*t->cells));
	}
	for (i = 0; i < t->cols; i++)
		t->cells[t->rows * t->cols + i] = fl_strdup(
			fl_cli_safe(cells[i], "<none>", buf, sizeof(buf)));
	t->rows++;
}

void fl_cli_table_print(const struct fl_cli_table *t, FILE *out,
			const char *indent)
{
	size_t *w = fl_calloc(t->cols ? t->cols : 1, sizeof(*w));
	size_t r, c;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++) {
			size_t n = strlen(t->cells[r * t->cols + c]);

			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->rows; r++) {
		fputs(indent, out);
		for (c = 0; c < t->cols; c++) {
			const char *cell = t->cells[r * t->cols + c];

			if (c + 1 == t->cols)
				fprintf(out, "%s", cell);
			else
				fprintf(out, "%-*s   ", (int)w[c], cell);
		}
		fputc('\n', out);
	}
	free(w);
}
