/* backtest_result.c — the backtest result: its warnings and its JSON form (the §6 result
 * object stored in backtest_results). */
#include "core/backtest.h"
#include "core/json_number.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lv_backtest_result_free(struct lv_backtest_result *result)
{
    free(result->days);
    free(result->equity);
    free(result->benchmark);
    free(result->positions);
    for (int i = 0; i < result->n_warnings; i++)
        free(result->warnings[i]);
    free(result->warnings);
    memset(result, 0, sizeof *result);
}

void lv_backtest_result_warn(struct lv_backtest_result *result, const char *fmt, ...)
{
    if (result->n_warnings == result->warnings_cap) {
        int cap = result->warnings_cap ? result->warnings_cap * 2 : 8;
        char **grown = realloc(result->warnings, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return;
        result->warnings = grown;
        result->warnings_cap = cap;
    }
    char text[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    char *copy = strdup(text);
    if (copy != NULL)
        result->warnings[result->n_warnings++] = copy;
}

/* json_*_set_new that remembers a failure instead of returning it at every call. */
static void put(json_t *obj, const char *key, json_t *value, bool *ok)
{
    if (value == NULL || json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

static void append(json_t *array, json_t *value, bool *ok)
{
    if (value == NULL || json_array_append_new(array, value) != 0)
        *ok = false;
}

static json_t *date_json(lv_day day)
{
    char text[LV_DAY_TEXT];
    return day == LV_DAY_NONE ? json_null() : json_string(lv_day_format(day, text));
}

/* [{"date", "value"}, …] for one curve. */
static json_t *curve_json(const lv_day *days, const double *values, size_t n, bool *ok)
{
    json_t *curve = json_array();
    if (curve == NULL) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n && *ok; i++) {
        json_t *point = json_object();
        if (point != NULL) {
            put(point, "date", date_json(days[i]), ok);
            put(point, "value", lv_json_number(values[i]), ok);
        }
        append(curve, point, ok);
    }
    return curve;
}

static json_t *positions_json(const struct lv_backtest_result *r, bool *ok)
{
    json_t *rows = json_array();
    if (rows == NULL) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < r->n_positions && *ok; i++) {
        json_t *row = json_object();
        if (row != NULL) {
            put(row, "date", date_json(r->positions[i].day), ok);
            put(row, "ticker", json_string(r->positions[i].ticker), ok);
            put(row, "weight", lv_json_number(r->positions[i].weight), ok);
        }
        append(rows, row, ok);
    }
    return rows;
}

/* Everything but the three large arrays. */
json_t *lv_backtest_result_summary_json(const struct lv_backtest_result *r)
{
    bool ok = true;
    json_t *out = json_object();
    if (out == NULL)
        return NULL;
    put(out, "metrics", lv_metrics_to_json(&r->metrics), &ok);
    put(out, "benchmark_metrics", lv_metrics_to_json(&r->benchmark_metrics), &ok);

    json_t *warnings = json_array();
    for (int i = 0; warnings != NULL && i < r->n_warnings; i++)
        append(warnings, json_string(r->warnings[i]), &ok);
    put(out, "warnings", warnings, &ok);

    json_t *window = json_object();
    if (window != NULL) {
        put(window, "start", date_json(r->window_start), &ok);
        put(window, "end", date_json(r->window_end), &ok);
        put(window, "start_reason", json_string(r->start_reason), &ok);
    }
    put(out, "window", window, &ok);

    json_t *timing = json_object();
    if (timing != NULL) {
        put(timing, "load_ms", json_real(r->timing.load_ms), &ok);
        put(timing, "indicators_ms", json_real(r->timing.indicators_ms), &ok);
        put(timing, "simulate_ms", json_real(r->timing.simulate_ms), &ok);
        put(timing, "total_ms", json_real(r->timing.total_ms), &ok);
    }
    put(out, "timing", timing, &ok);
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *lv_backtest_result_to_json(const struct lv_backtest_result *r)
{
    bool ok = true;
    json_t *out = lv_backtest_result_summary_json(r);
    if (out == NULL)
        return NULL;
    put(out, "equity_curve", curve_json(r->days, r->equity, r->n_days, &ok), &ok);
    put(out, "benchmark_curve", curve_json(r->days, r->benchmark, r->n_days, &ok), &ok);
    put(out, "positions", positions_json(r, &ok), &ok);
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- The large arrays as text ------------------------------------------------------------ */

/* Longest text of one number: "-1.23456789012345e-308" plus ".0". */
#define NUMBER_TEXT 32

/* Writes a number as jansson would with 15 significant digits (a whole number keeps a ".0"
 * so it stays a real), or null when it is not finite. Returns the end of the text. */
static char *put_number(char *p, double value)
{
    if (!isfinite(value)) {
        memcpy(p, "null", 4);
        return p + 4;
    }
    int len = snprintf(p, NUMBER_TEXT, "%.15g", value);
    if (strpbrk(p, ".e") == NULL) {
        memcpy(p + len, ".0", 2);
        len += 2;
    }
    return p + len;
}

static char *put_text(char *p, const char *text)
{
    size_t len = strlen(text);
    memcpy(p, text, len);
    return p + len;
}

static char *put_date(char *p, lv_day day)
{
    char text[LV_DAY_TEXT];
    lv_day_format(day, text);
    *p++ = '"';
    p = put_text(p, text);
    *p++ = '"';
    return p;
}

char *lv_backtest_curve_text(const struct lv_backtest_result *r, bool benchmark)
{
    const double *values = benchmark ? r->benchmark : r->equity;
    /* {"date":"YYYY-MM-DD","value":N}, per point */
    char *text = malloc(r->n_days * (32 + NUMBER_TEXT) + 3);
    if (text == NULL)
        return NULL;
    char *p = text;
    *p++ = '[';
    for (size_t i = 0; i < r->n_days; i++) {
        p = put_text(p, i == 0 ? "{\"date\":" : ",{\"date\":");
        p = put_date(p, r->days[i]);
        p = put_text(p, ",\"value\":");
        p = put_number(p, values[i]);
        *p++ = '}';
    }
    *p++ = ']';
    *p = '\0';
    return text;
}

char *lv_backtest_positions_text(const struct lv_backtest_result *r)
{
    /* {"date":"YYYY-MM-DD","ticker":"T","weight":N}, per row; tickers are market symbols
     * (A-Z 0-9 . - ^ / _), which need no escaping. */
    char *text = malloc(r->n_positions * (48 + LV_SYMBOL_MAX + NUMBER_TEXT) + 3);
    if (text == NULL)
        return NULL;
    char *p = text;
    *p++ = '[';
    for (size_t i = 0; i < r->n_positions; i++) {
        const struct lv_position *row = &r->positions[i];
        p = put_text(p, i == 0 ? "{\"date\":" : ",{\"date\":");
        p = put_date(p, row->day);
        p = put_text(p, ",\"ticker\":\"");
        p = put_text(p, row->ticker);
        p = put_text(p, "\",\"weight\":");
        p = put_number(p, row->weight);
        *p++ = '}';
    }
    *p++ = ']';
    *p = '\0';
    return text;
}
