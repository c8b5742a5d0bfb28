/*
 * Prometheus metrics in memory.  Metrics sit in an array in declaration
 * order; each keeps its series in an array in the order they were first
 * seen, plus an open-addressing index from label text to series, so an
 * update costs a hash and a compare or two however many series there are.
 * Rendering walks both arrays, so the output order is stable.
 *
 * Numbers follow what Prometheus' own clients print: integers without an
 * exponent while they are exact, otherwise the shortest text that reads
 * back as the same double; "+Inf", "-Inf" and "NaN" for the rest.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "metrics.h"

#define DROPPED_NAME "faultline_metrics_dropped_total"
/* Longest label text accepted: it is stored once per series. */
#define METRICS_MAX_LABELS 1024
/* Index slots per metric: a power of two, at least twice the series cap,
 * so a probe always finds a free slot quickly. */
#define METRICS_SLOTS 2048
/* Largest integer a double holds exactly, below which we print integers
 * without an exponent. */
#define METRICS_EXACT_INT 9007199254740992.0

struct metric_series {
	char *labels; /* text between the braces; "" for none */
	double value; /* counter or gauge */
	uint64_t
		*counts; /* histogram: per bucket (not cumulative), +Inf last */
	double sum;	 /* histogram: sum of observations */
	uint64_t count;	 /* histogram: number of observations */
};

struct metric {
	char *name;
	char *help;
	enum fl_metric_type type;
	double *buckets; /* histogram upper bounds, without +Inf */
	size_t nbuckets;
	struct metric_series *series; /* first-seen order */
	size_t nseries, cap;
	uint32_t *slots; /* METRICS_SLOTS entries: series index + 1, 0 free */
};

struct fl_metrics {
	pthread_mutex_t lock;
	struct metric *metrics; /* declaration order */
	size_t n, cap;
};

static uint64_t text_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int is_name_start(char c, int colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':');
}

static int is_name_char(char c, int colon)
{
	return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static int metric_name_ok(const char *s)
{
	if (!s || !is_name_start(*s, 1))
		return 0;
	for (s++; *s; s++)
		if (!is_name_char(*s, 1))
			return 0;
	return 1;
}

/*
 * Whether labels is a well-formed label list, `a="x",b="y\"z"`, with
 * values already escaped.  A histogram's labels may not use "le", which
 * the buckets need.
 */
static int labels_ok(const char *s, int histogram)
{
	while (*s) {
		const char *name = s;

		if (!is_name_start(*s, 0))
			return 0;
		while (is_name_char(*s, 0))
			s++;
		if (histogram && s - name == 2 && !strncmp(name, "le", 2))
			return 0;
		if (*s++ != '=' || *s++ != '"')
			return 0;
		for (; *s != '"'; s++) {
			if (!*s || *s == '\n')
				return 0;
			if (*s == '\\') {
				s++;
				if (*s != '\\' && *s != '"' && *s != 'n')
					return 0;
			}
		}
		s++;
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return 0;
	}
	return 1;
}

/*
 * A new, empty set of metrics holding only the built-in
 * faultline_metrics_dropped_total.  The caller frees it with
 * fl_metrics_free().  Returns NULL only if the mutex cannot be made.
 */
fl_metrics *fl_metrics_new(void)
{
	struct fl_metrics *m = fl_calloc(1, sizeof(*m));

	if (pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		return NULL;
	}
	fl_metrics_declare(m, DROPPED_NAME, FL_METRIC_COUNTER,
			   "Metric updates dropped because a metric had too "
			   "many series.",
			   NULL, 0);
	/* Present from the start, so that a zero is visible. */
	fl_metrics_add(m, DROPPED_NAME, NULL, 0);
	return m;
}

static void metric_release(struct metric *mt)
{
	size_t i;

	for (i = 0; i < mt->nseries; i++) {
		free(mt->series[i].labels);
		free(mt->series[i].counts);
	}
	free(mt->series);
	free(mt->slots);
	free(mt->buckets);
	free(mt->help);
	free(mt->name);
}

/* Frees m and every metric in it. */
void fl_metrics_free(fl_metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		metric_release(&m->metrics[i]);
	free(m->metrics);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct metric *metric_find(struct fl_metrics *m, const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (!strcmp(m->metrics[i].name, name))
			return &m->metrics[i];
	return NULL;
}

static int buckets_ok(enum fl_metric_type type, const double *buckets,
		      size_t nbuckets)
{
	size_t i;

	if (type != FL_METRIC_HISTOGRAM)
		return nbuckets == 0;
	if (nbuckets && !buckets)
		return 0;
	for (i = 0; i < nbuckets; i++) {
		if (!isfinite(buckets[i]))
			return 0;
		if (i && !(buckets[i] > buckets[i - 1]))
			return 0;
	}
	return 1;
}

/*
 * Declares a metric (see metrics.h).  Returns -1, changing nothing, for a
 * name declared before or not valid, an unknown type, or buckets that are
 * not finite and strictly increasing (or given for a type other than a
 * histogram).
 */
int fl_metrics_declare(fl_metrics *m, const char *name,
		       enum fl_metric_type type, const char *help,
		       const double *buckets, size_t nbuckets)
{
	struct metric *mt;
	int rc = -1;

	if (!metric_name_ok(name))
		return -1;
	if (type != FL_METRIC_COUNTER && type != FL_METRIC_GAUGE &&
	    type != FL_METRIC_HISTOGRAM)
		return -1;
	if (!buckets_ok(type, buckets, nbuckets))
		return -1;

	pthread_mutex_lock(&m->lock);
	if (metric_find(m, name))
		goto out;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->metrics =
			fl_realloc(m->metrics, m->cap * sizeof(*m->metrics));
	}
	mt = &m->metrics[m->n++];
	memset(mt, 0, sizeof(*mt));
	mt->name = fl_strdup(name);
	mt->help = fl_strdup(help ? help : "");
	mt->type = type;
	mt->nbuckets = nbuckets;
	if (nbuckets) {
		mt->buckets = fl_calloc(nbuckets, sizeof(*mt->buckets));
		memcpy(mt->buckets, buckets, nbuckets * sizeof(*buckets));
	}
	rc = 0;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static struct metric_series *series_new(struct metric *mt, const char *labels,
					uint32_t *slot)
{
	struct metric_series *s;

	if (mt->nseries == mt->cap) {
		mt->cap = mt->cap ? 2 * mt->cap : 8;
		mt->series =
			fl_realloc(mt->series, mt->cap * sizeof(*mt->series));
	}
	s = &mt->series[mt->nseries++];
	memset(s, 0, sizeof(*s));
	s->labels = fl_strdup(labels);
	if (mt->type == FL_METRIC_HISTOGRAM)
		s->counts = fl_calloc(mt->nbuckets + 1, sizeof(*s->counts));
	*slot = (uint32_t)mt->nseries;
	return s;
}

/*
 * The series of mt with these labels, created if new and there is room.
 * NULL when the metric is full: the caller counts a drop.
 */
static struct metric_series *series_get(struct metric *mt, const char *labels)
{
	size_t i;

	if (!mt->slots)
		mt->slots = fl_calloc(METRICS_SLOTS, sizeof(*mt->slots));
	i = text_hash(labels) & (METRICS_SLOTS - 1);
	for (;; i = (i + 1) & (METRICS_SLOTS - 1)) {
		uint32_t at = mt->slots[i];

		if (!at)
			break;
		if (!strcmp(mt->series[at - 1].labels, labels))
			return &mt->series[at - 1];
	}
	if (mt->nseries >= FL_METRICS_MAX_SERIES)
		return NULL;
	return series_new(mt, labels, &mt->slots[i]);
}

static void count_drop(struct fl_metrics *m)
{
	struct metric *mt = metric_find(m, DROPPED_NAME);
	struct metric_series *s = mt ? series_get(mt, "") : NULL;

	if (s)
		s->value += 1;
}

enum update_op { UPDATE_ADD, UPDATE_SET, UPDATE_OBSERVE };

/* Whether op with value v suits a metric of type t. */
static int update_ok(enum fl_metric_type t, enum update_op op, double v)
{
	switch (op) {
	case UPDATE_ADD:
		if (t == FL_METRIC_COUNTER)
			return v >= 0;
		return t == FL_METRIC_GAUGE;
	case UPDATE_SET:
		return t == FL_METRIC_GAUGE;
	case UPDATE_OBSERVE:
		return t == FL_METRIC_HISTOGRAM;
	}
	return 0;
}

static void series_observe(const struct metric *mt, struct metric_series *s,
			   double v)
{
	size_t i = 0;

	while (i < mt->nbuckets && !(v <= mt->buckets[i]))
		i++;
	s->counts[i]++;
	s->count++;
	s->sum += v;
}

static int metrics_update(struct fl_metrics *m, const char *name,
			  const char *labels, double v, enum update_op op)
{
	struct metric *mt;
	struct metric_series *s;
	int rc = -1;

	if (!labels)
		labels = "";
	if (strnlen(labels, METRICS_MAX_LABELS + 1) > METRICS_MAX_LABELS)
		return -1;

	pthread_mutex_lock(&m->lock);
	mt = metric_find(m, name);
	if (!mt || !update_ok(mt->type, op, v))
		goto out;
	if (!labels_ok(labels, mt->type == FL_METRIC_HISTOGRAM))
		goto out;
	s = series_get(mt, labels);
	if (!s) {
		count_drop(m);
		goto out;
	}
	if (op == UPDATE_ADD)
		s->value += v;
	else if (op == UPDATE_SET)
		s->value = v;
	else
		series_observe(mt, s, v);
	rc = 0;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Adds v to a counter (v >= 0) or a gauge; see metrics.h for -1. */
int fl_metrics_add(fl_metrics *m, const char *name, const char *labels,
		   double v)
{
	return metrics_update(m, name, labels, v, UPDATE_ADD);
}

/* Sets a gauge to v; see metrics.h for -1. */
int fl_metrics_set(fl_metrics *m, const char *name, const char *labels,
		   double v)
{
	return metrics_update(m, name, labels, v, UPDATE_SET);
}

/* Records v in a histogram; see metrics.h for -1. */
int fl_metrics_observe(fl_metrics *m, const char *name, const char *labels,
		       double v)
{
	return metrics_update(m, name, labels, v, UPDATE_OBSERVE);
}

/* v as Prometheus prints it, into out (at least 32 bytes). */
static void format_number(double v, char *out, size_t n)
{
	int prec;

	if (isnan(v)) {
		snprintf(out, n, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, n, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) <= METRICS_EXACT_INT) {
		snprintf(out, n, "%.0f", v == 0 ? 0.0 : v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(out, n, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
	snprintf(out, n, "%.17g", v);
}

static void render_help(struct fl_buf *b, const struct metric *mt)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	const char *p;

	fl_buf_addf(b, "# HELP %s ", mt->name);
	/* In HELP, only backslash and newline are escaped. */
	for (p = mt->help; *p; p++) {
		if (*p == '\\')
			fl_buf_adds(b, "\\\\");
		else if (*p == '\n')
			fl_buf_adds(b, "\\n");
		else
			fl_buf_addc(b, *p);
	}
	fl_buf_addf(b, "\n# TYPE %s %s\n", mt->name, types[mt->type]);
}

/* One sample line: name+suffix{labels[,extra]} value. */
static void render_sample(struct fl_buf *b, const struct metric *mt,
			  const char *suffix, const char *labels,
			  const char *extra, const char *value)
{
	const char *sep = *labels && *extra ? "," : "";

	if (*labels || *extra)
		fl_buf_addf(b, "%s%s{%s%s%s} %s\n", mt->name, suffix, labels,
			    sep, extra, value);
	else
		fl_buf_addf(b, "%s%s %s\n", mt->name, suffix, value);
}

static void render_histogram(struct fl_buf *b, const struct metric *mt,
			     const struct metric_series *s)
{
	char num[64], le[80];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= mt->nbuckets; i++) {
		cum += s->counts[i];
		if (i < mt->nbuckets)
			format_number(mt->buckets[i], num, sizeof(num));
		else
			snprintf(num, sizeof(num), "+Inf");
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
		render_sample(b, mt, "_bucket", s->labels, le, num);
	}
	format_number(s->sum, num, sizeof(num));
	render_sample(b, mt, "_sum", s->labels, "", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)s->count);
	render_sample(b, mt, "_count", s->labels, "", num);
}

/*
 * Renders every metric in the text format 0.0.4 into a new string that
 * the caller frees; *len (if not NULL) gets its length.  Never NULL.
 */
char *fl_metrics_render(fl_metrics *m, size_t *len)
{
	struct fl_buf b;
	size_t i, j;
	char num[64];

	fl_buf_init(&b, 0);
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n; i++) {
		const struct metric *mt = &m->metrics[i];

		render_help(&b, mt);
		for (j = 0; j < mt->nseries; j++) {
			const struct metric_series *s = &mt->series[j];

			if (mt->type == FL_METRIC_HISTOGRAM) {
				render_histogram(&b, mt, s);
				continue;
			}
			format_number(s->value, num, sizeof(num));
			render_sample(&b, mt, "", s->labels, "", num);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return fl_buf_detach(&b, len);
}

/*
 * Escapes v for a label value into out (n bytes): backslash, double quote
 * and newline get a backslash.  The result is cut at a whole character
 * (never inside an escape) to fit; returns out.
 */
char *fl_metrics_escape(const char *v, char *out, size_t n)
{
	size_t o = 0;

	if (!n)
		return out;
	for (; v && *v; v++) {
		char c = *v == '\n' ? 'n' : *v;
		int esc = *v == '\\' || *v == '"' || *v == '\n';

		if (o + (size_t)esc + 1 > n - 1)
			break;
		if (esc)
			out[o++] = '\\';
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}
