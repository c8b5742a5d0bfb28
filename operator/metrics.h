/*
 * Prometheus metrics: counters, gauges and histograms with labels, kept in
 * memory and rendered in the text exposition format (version 0.0.4) for
 * GET /metrics.
 *
 * Metrics are declared once (name, type, help, and buckets for a
 * histogram); each distinct label set is one series.  Label sets are
 * written by the caller as the text between the braces,
 * `phase="Completed",verdict="Passed"` (NULL or "" for none); values must
 * already be escaped (fl_metrics_escape()).  A metric holds at most
 * FL_METRICS_MAX_SERIES series: past that, updates of new label sets are
 * dropped and counted in faultline_metrics_dropped_total.
 *
 * Thread-safe.
 */
#ifndef FL_OP_METRICS_H
#define FL_OP_METRICS_H

#include <stddef.h>

#define FL_METRICS_MAX_SERIES 1000

enum fl_metric_type { FL_METRIC_COUNTER, FL_METRIC_GAUGE, FL_METRIC_HISTOGRAM };

typedef struct fl_metrics fl_metrics;

fl_metrics *fl_metrics_new(void);
void fl_metrics_free(fl_metrics *m);

/*
 * Declares a metric.  buckets (upper bounds, increasing, without +Inf) is
 * for histograms only; it is copied.  Declaring a name twice, or a name
 * that is not a valid metric name, returns -1.
 */
int fl_metrics_declare(fl_metrics *m, const char *name,
		       enum fl_metric_type type, const char *help,
		       const double *buckets, size_t nbuckets);

/* Each returns 0, or -1 for an undeclared name, a wrong type, a negative
 * counter increment or a dropped series. */
int fl_metrics_add(fl_metrics *m, const char *name, const char *labels,
		   double v); /* counter (v >= 0) or gauge */
int fl_metrics_set(fl_metrics *m, const char *name, const char *labels,
		   double v); /* gauge */
int fl_metrics_observe(fl_metrics *m, const char *name, const char *labels,
		       double v); /* histogram */

/* Renders every metric (HELP, TYPE, series; histograms with _bucket,
 * _sum and _count) into a new string the caller frees; *len gets its
 * length. */
char *fl_metrics_render(fl_metrics *m, size_t *len);

/* Escapes a label value (backslash, double quote, newline) into out;
 * returns out, cut to fit n bytes. */
char *fl_metrics_escape(const char *v, char *out, size_t n);

#endif
