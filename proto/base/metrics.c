/*
 * Metrics registry and Prometheus text rendering (exposition format 0.0.4).
 */
#include "proto/base/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind_t;

struct eim_metric_series {
    char *labels;   /* "" when none */
    uint64_t count; /* counter value, or histogram observation count */
    double value;   /* gauge value, or histogram sum */
    eim_gauge_fn fn;
    void *fn_ctx;
    double bounds[EIM_METRICS_MAX_BUCKETS];
    uint64_t buckets[EIM_METRICS_MAX_BUCKETS]; /* non-cumulative */
    size_t bound_count;
    struct eim_metric_series *next;
};

typedef struct metric_family {
    char *name;
    char *help;
    metric_kind_t kind;
    struct eim_metric_series *series, *series_tail;
    struct metric_family *next;
} metric_family_t;

struct eim_metrics {
    metric_family_t *families, *tail;
};

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

eim_metrics_t *eim_metrics_new(void)
{
    return EIM_NEW(eim_metrics_t);
}

void eim_metrics_free(eim_metrics_t *m)
{
    if (!m)
        return;
    metric_family_t *f = m->families;
    while (f) {
        metric_family_t *next_family = f->next;
        struct eim_metric_series *s = f->series;
        while (s) {
            struct eim_metric_series *next = s->next;
            free(s->labels);
            free(s);
            s = next;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = next_family;
    }
    free(m);
}

static int valid_name(const char *name)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p != name && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

static struct eim_metric_series *register_series(eim_metrics_t *m, const char *name,
                                                 const char *help, metric_kind_t kind,
                                                 const char *labels)
{
    if (!valid_name(name)) {
        fprintf(stderr, "eimd: invalid metric name '%s'\n", name ? name : "(null)");
        abort();
    }
    metric_family_t *f;
    for (f = m->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            break;
    if (f && f->kind != kind) {
        fprintf(stderr, "eimd: metric '%s' registered as %s and %s\n", name, kind_names[f->kind],
                kind_names[kind]);
        abort();
    }
    if (!f) {
        f = EIM_NEW(metric_family_t);
        f->name = eim_strdup(name);
        f->help = eim_strdup(help ? help : "");
        f->kind = kind;
        if (m->tail)
            m->tail->next = f;
        else
            m->families = f;
        m->tail = f;
    }
    if (!labels)
        labels = "";
    for (struct eim_metric_series *s = f->series; s; s = s->next)
        if (strcmp(s->labels, labels) == 0)
            return s;
    struct eim_metric_series *s = EIM_NEW(struct eim_metric_series);
    s->labels = eim_strdup(labels);
    if (f->series_tail)
        f->series_tail->next = s;
    else
        f->series = s;
    f->series_tail = s;
    return s;
}

eim_counter_t *eim_metrics_counter(eim_metrics_t *m, const char *name, const char *help,
                                   const char *labels)
{
    return register_series(m, name, help, KIND_COUNTER, labels);
}

eim_gauge_t *eim_metrics_gauge(eim_metrics_t *m, const char *name, const char *help,
                               const char *labels)
{
    return register_series(m, name, help, KIND_GAUGE, labels);
}

eim_gauge_t *eim_metrics_gauge_fn(eim_metrics_t *m, const char *name, const char *help,
                                  const char *labels, eim_gauge_fn fn, void *ctx)
{
    eim_gauge_t *g = register_series(m, name, help, KIND_GAUGE, labels);
    g->fn = fn;
    g->fn_ctx = ctx;
    return g;
}

eim_histogram_t *eim_metrics_histogram(eim_metrics_t *m, const char *name, const char *help,
                                       const char *labels, const double *bounds, size_t bound_count)
{
    if (bound_count == 0 || bound_count > EIM_METRICS_MAX_BUCKETS) {
        fprintf(stderr, "eimd: histogram '%s' needs 1..%d bounds\n", name, EIM_METRICS_MAX_BUCKETS);
        abort();
    }
    for (size_t i = 1; i < bound_count; i++) {
        if (!(bounds[i] > bounds[i - 1])) {
            fprintf(stderr, "eimd: histogram '%s' bounds not increasing\n", name);
            abort();
        }
    }
    eim_histogram_t *h = register_series(m, name, help, KIND_HISTOGRAM, labels);
    memcpy(h->bounds, bounds, bound_count * sizeof(double));
    h->bound_count = bound_count;
    return h;
}

void eim_counter_add(eim_counter_t *c, uint64_t delta)
{
    c->count += delta;
}

uint64_t eim_counter_value(const eim_counter_t *c)
{
    return c->count;
}

void eim_gauge_set(eim_gauge_t *g, double value)
{
    g->value = value;
}

void eim_gauge_add(eim_gauge_t *g, double delta)
{
    g->value += delta;
}

double eim_gauge_value(const eim_gauge_t *g)
{
    return g->fn ? g->fn(g->fn_ctx) : g->value;
}

void eim_histogram_observe(eim_histogram_t *h, double value)
{
    h->count++;
    h->value += value;
    for (size_t i = 0; i < h->bound_count; i++) {
        if (value <= h->bounds[i]) {
            h->buckets[i]++;
            return;
        }
    }
}

/* Shortest of %.15g..%.17g that reads back as the same double. */
static const char *format_double(double v, char *buf, size_t size)
{
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* Prometheus floats: integers without exponent, +Inf/-Inf/NaN spelled out. */
static eim_err_t put_number(eim_buf_t *out, double v)
{
    if (isnan(v))
        return eim_buf_append_str(out, "NaN");
    if (isinf(v))
        return eim_buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    return eim_buf_append_str(out, format_double(v, (char[32]){0}, 32));
}

static eim_err_t put_help(eim_buf_t *out, const char *help)
{
    eim_err_t err = EIM_OK;
    for (const char *p = help; *p && !err; p++) {
        if (*p == '\\')
            err = eim_buf_append_str(out, "\\\\");
        else if (*p == '\n')
            err = eim_buf_append_str(out, "\\n");
        else
            err = eim_buf_append_byte(out, (uint8_t)*p);
    }
    return err;
}

/* name{labels[,extra]} */
static eim_err_t put_series_name(eim_buf_t *out, const char *name, const char *suffix,
                                 const char *labels, const char *extra)
{
    eim_err_t err = eim_buf_printf(out, "%s%s", name, suffix);
    if (err || (!*labels && !extra))
        return err;
    return eim_buf_printf(out, "{%s%s%s}", labels, *labels && extra ? "," : "", extra ? extra : "");
}

static eim_err_t render_histogram(eim_buf_t *out, const char *name,
                                  const struct eim_metric_series *s)
{
    eim_err_t err = EIM_OK;
    uint64_t cumulative = 0;
    char le[64];
    for (size_t i = 0; i <= s->bound_count && !err; i++) {
        if (i < s->bound_count) {
            cumulative += s->buckets[i];
            char bound[32];
            snprintf(le, sizeof(le), "le=\"%s\"",
                     format_double(s->bounds[i], bound, sizeof(bound)));
        } else {
            cumulative = s->count;
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        }
        err = put_series_name(out, name, "_bucket", s->labels, le);
        if (!err)
            err = eim_buf_printf(out, " %llu\n", (unsigned long long)cumulative);
    }
    if (!err)
        err = put_series_name(out, name, "_sum", s->labels, NULL);
    if (!err)
        err = eim_buf_append_byte(out, ' ');
    if (!err)
        err = put_number(out, s->value);
    if (!err)
        err = eim_buf_append_byte(out, '\n');
    if (!err)
        err = put_series_name(out, name, "_count", s->labels, NULL);
    if (!err)
        err = eim_buf_printf(out, " %llu\n", (unsigned long long)s->count);
    return err;
}

eim_err_t eim_metrics_render(const eim_metrics_t *m, eim_buf_t *out)
{
    eim_err_t err = EIM_OK;
    for (const metric_family_t *f = m->families; f && !err; f = f->next) {
        err = eim_buf_printf(out, "# HELP %s ", f->name);
        if (!err)
            err = put_help(out, f->help);
        if (!err)
            err = eim_buf_printf(out, "\n# TYPE %s %s\n", f->name, kind_names[f->kind]);
        for (const struct eim_metric_series *s = f->series; s && !err; s = s->next) {
            switch (f->kind) {
            case KIND_COUNTER:
                err = put_series_name(out, f->name, "", s->labels, NULL);
                if (!err)
                    err = eim_buf_printf(out, " %llu\n", (unsigned long long)s->count);
                break;
            case KIND_GAUGE:
                err = put_series_name(out, f->name, "", s->labels, NULL);
                if (!err)
                    err = eim_buf_append_byte(out, ' ');
                if (!err)
                    err = put_number(out, eim_gauge_value(s));
                if (!err)
                    err = eim_buf_append_byte(out, '\n');
                break;
            case KIND_HISTOGRAM: err = render_histogram(out, f->name, s); break;
            }
        }
    }
    return err;
}

eim_err_t eim_metrics_label_escape(const char *value, eim_buf_t *out)
{
    eim_err_t err = EIM_OK;
    for (const char *p = value; *p && !err; p++) {
        if (*p == '\\')
            err = eim_buf_append_str(out, "\\\\");
        else if (*p == '"')
            err = eim_buf_append_str(out, "\\\"");
        else if (*p == '\n')
            err = eim_buf_append_str(out, "\\n");
        else
            err = eim_buf_append_byte(out, (uint8_t)*p);
    }
    return err;
}
