/*
 * Metrics registry rendered in the Prometheus text exposition format 0.0.4.
 *
 * Layers register their series once at start-up and keep the returned
 * pointer; updating a series is a plain add/store (everything runs on the one
 * loop thread). A family (one metric name) holds one or more series that
 * differ by their label set, written as Prometheus label text, e.g.
 * `code="200",route="/livez"`. Label values are escaped by the caller through
 * eim_metrics_label_escape when they come from outside.
 */
#ifndef EIM_PROTO_BASE_METRICS_H
#define EIM_PROTO_BASE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"

typedef struct eim_metrics eim_metrics_t;
typedef struct eim_metric_series eim_counter_t;
typedef struct eim_metric_series eim_gauge_t;
typedef struct eim_metric_series eim_histogram_t;

/* A gauge whose value is computed when rendered. */
typedef double (*eim_gauge_fn)(void *ctx);

#define EIM_METRICS_MAX_BUCKETS 16

eim_metrics_t *eim_metrics_new(void);
void eim_metrics_free(eim_metrics_t *m);

/*
 * Registration. name must match [a-zA-Z_:][a-zA-Z0-9_:]*; labels may be NULL.
 * Registering the same name and labels again returns the existing series;
 * the same name with another type is a programming error (aborts).
 */
eim_counter_t *eim_metrics_counter(eim_metrics_t *m, const char *name, const char *help,
                                   const char *labels);
eim_gauge_t *eim_metrics_gauge(eim_metrics_t *m, const char *name, const char *help,
                               const char *labels);
eim_gauge_t *eim_metrics_gauge_fn(eim_metrics_t *m, const char *name, const char *help,
                                  const char *labels, eim_gauge_fn fn, void *ctx);
/* bounds: strictly increasing upper bounds (the +Inf bucket is implicit). */
eim_histogram_t *eim_metrics_histogram(eim_metrics_t *m, const char *name, const char *help,
                                       const char *labels, const double *bounds,
                                       size_t bound_count);

void eim_counter_add(eim_counter_t *c, uint64_t delta);
static inline void eim_counter_inc(eim_counter_t *c)
{
    eim_counter_add(c, 1);
}
uint64_t eim_counter_value(const eim_counter_t *c);
void eim_gauge_set(eim_gauge_t *g, double value);
void eim_gauge_add(eim_gauge_t *g, double delta);
double eim_gauge_value(const eim_gauge_t *g);
void eim_histogram_observe(eim_histogram_t *h, double value);

/* Appends the whole registry in text format to out. */
eim_err_t eim_metrics_render(const eim_metrics_t *m, eim_buf_t *out);

/* Escapes a label value (backslash, quote, newline) into out. */
eim_err_t eim_metrics_label_escape(const char *value, eim_buf_t *out);

#endif
