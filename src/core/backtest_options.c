/* backtest_options.c — backtest options: defaults, reading them from a strategy document or a
 * request (each bad field reported with its JSON Pointer), and the symbols a run needs. */
#include "core/backtest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lv_backtest_options_init(struct lv_backtest_options *options)
{
    memset(options, 0, sizeof *options);
    options->start = LV_DAY_NONE;
    options->end = LV_DAY_NONE;
    strcpy(options->benchmark, "SPY");
    options->initial_capital = 100000;
    options->rebalance = LV_REBALANCE_DAILY;
}

/* A string that is entirely a decimal number (spaces around allowed; no hex, inf or nan,
 * which strtod alone would accept). */
static bool parse_decimal(const char *text, double *out)
{
    if (text[strspn(text, " \t0123456789+-.eE")] != '\0')
        return false;
    char *end;
    *out = strtod(text, &end);
    while (isspace((unsigned char)*end))
        end++;
    return end != text && *end == '\0' && isfinite(*out);
}

/* A JSON number, or a string holding one. */
static bool number_of(const json_t *value, double *out)
{
    if (json_is_number(value)) {
        *out = json_number_value(value);
        return isfinite(*out);
    }
    return json_is_string(value) && parse_decimal(json_string_value(value), out);
}

/* The value of a field under its snake_case name or, failing that, its camelCase alias;
 * *key receives the name found (for the JSON Pointer). */
static const json_t *field(const json_t *obj, const char *snake, const char *camel,
                           const char **key)
{
    const json_t *v = json_object_get(obj, snake);
    *key = snake;
    if (v == NULL && camel != NULL) {
        v = json_object_get(obj, camel);
        *key = camel;
    }
    return v;
}

/* Shows a JSON value in a message: strings quoted, anything else by its type. */
static void describe_value(const json_t *v, char *buf, size_t size)
{
    if (json_is_string(v))
        snprintf(buf, size, "\"%.60s\"", json_string_value(v));
    else if (json_is_number(v))
        snprintf(buf, size, "%g", json_number_value(v));
    else
        snprintf(buf, size, "%s",
                 json_is_object(v)  ? "an object"
                 : json_is_array(v) ? "an array"
                 : json_is_null(v)  ? "null"
                                    : "a boolean");
}

static void read_date(const json_t *obj, const char *snake, const char *camel, lv_day *out,
                      struct lv_problems *problems)
{
    const char *key;
    const json_t *v = field(obj, snake, camel, &key);
    if (v == NULL)
        return;
    const char *text = json_is_string(v) ? json_string_value(v) : NULL;
    if (json_is_null(v) || (text && (text[0] == '\0' || strcasecmp(text, "max") == 0))) {
        *out = LV_DAY_NONE;
        return;
    }
    lv_day day;
    if (text && lv_day_parse(text, &day)) {
        *out = day;
        return;
    }
    char shown[80];
    describe_value(v, shown, sizeof shown);
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    lv_problems_add(problems, path, "must be a date YYYY-MM-DD or \"max\", got %s", shown);
}

static void read_benchmark(const json_t *obj, struct lv_backtest_options *options,
                           struct lv_problems *problems)
{
    const char *key;
    const json_t *v = field(obj, "benchmark_symbol", "benchmarkSymbol", &key);
    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return; /* absent or empty: keep the default */
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    const char *text = json_is_string(v) ? json_string_value(v) : NULL;
    char symbol[LV_SYMBOL_MAX];
    if (text != NULL && lv_symbol_normalize(text, strlen(text), symbol)) {
        memcpy(options->benchmark, symbol, sizeof symbol);
    } else {
        char shown[80];
        describe_value(v, shown, sizeof shown);
        lv_problems_add(problems, path, "must be a ticker symbol, got %s", shown);
    }
}

/* A number field with a lower bound; `strictly` excludes the bound itself. */
static void read_number(const json_t *obj, const char *snake, const char *camel, double min,
                        bool strictly, double *out, struct lv_problems *problems)
{
    const char *key;
    const json_t *v = field(obj, snake, camel, &key);
    if (v == NULL)
        return;
    double x;
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    if (!number_of(v, &x)) {
        char shown[80];
        describe_value(v, shown, sizeof shown);
        lv_problems_add(problems, path, "must be a number, got %s", shown);
    } else if (strictly ? !(x > min) : !(x >= min)) {
        lv_problems_add(problems, path, "must be %s %g, got %g",
                        strictly ? "greater than" : "at least", min, x);
    } else {
        *out = x;
    }
}

static const char *const rebalance_names[] = {"daily", "weekly", "monthly", "quarterly", "yearly"};

int lv_rebalance_parse(const char *text, enum lv_rebalance *kind, double *threshold,
                       struct lv_error *err)
{
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(text, rebalance_names[i]) == 0) {
            *kind = (enum lv_rebalance)i;
            return 0;
        }
    }
    if (strncasecmp(text, "threshold:", 10) == 0) {
        double x;
        if (!parse_decimal(text + 10, &x) || x < 0 || x >= 1)
            return lv_fail(err, "threshold must be a number from 0 to below 1, got \"%s\"",
                           text + 10);
        *kind = LV_REBALANCE_THRESHOLD;
        *threshold = x;
        return 0;
    }
    return lv_fail(err,
                   "must be daily, weekly, monthly, quarterly, yearly or threshold:X, "
                   "got \"%s\"",
                   text);
}

static void read_rebalance(const json_t *obj, struct lv_backtest_options *options,
                           struct lv_problems *problems)
{
    const json_t *v = json_object_get(obj, "rebalance");
    if (v == NULL || json_is_null(v))
        return;
    if (json_is_string(v)) {
        struct lv_error err;
        if (lv_rebalance_parse(json_string_value(v), &options->rebalance, &options->threshold,
                               &err) != 0)
            lv_problems_add(problems, "/rebalance", "%s", err.message);
        return;
    }
    const json_t *t = json_is_object(v) ? json_object_get(v, "threshold") : NULL;
    double x;
    if (t == NULL) {
        lv_problems_add(problems, "/rebalance",
                        "must be \"daily\", \"weekly\", \"monthly\", \"quarterly\", \"yearly\" "
                        "or {\"threshold\": x}");
    } else if (!number_of(t, &x) || x < 0 || x >= 1) {
        char shown[80];
        describe_value(t, shown, sizeof shown);
        lv_problems_add(problems, "/rebalance/threshold",
                        "must be a number from 0 to below 1, got %s", shown);
    } else {
        options->rebalance = LV_REBALANCE_THRESHOLD;
        options->threshold = x;
    }
}

int lv_backtest_options_read(const json_t *obj, struct lv_backtest_options *options,
                             struct lv_problems *problems)
{
    if (!json_is_object(obj))
        return 0; /* a bare array of elements carries no options */
    int before = problems->count;
    read_benchmark(obj, options, problems);
    read_date(obj, "start_date", "startDate", &options->start, problems);
    read_date(obj, "end_date", "endDate", &options->end, problems);
    read_number(obj, "initial_capital", "initialCapital", 0, true, &options->initial_capital,
                problems);
    read_rebalance(obj, options, problems);
    read_number(obj, "cost_bps", "costBps", 0, false, &options->cost_bps, problems);
    return problems->count > before ? -1 : 0;
}

static int compare_symbols(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Adds a symbol to a sorted-later list unless it is there already. */
static int add_symbol(char (*symbols)[LV_SYMBOL_MAX], int n, int cap, const char *symbol)
{
    int shown = n < cap ? n : cap;
    for (int i = 0; i < shown; i++)
        if (strcmp(symbols[i], symbol) == 0)
            return n;
    if (n < cap)
        snprintf(symbols[n], LV_SYMBOL_MAX, "%s", symbol);
    return n + 1;
}

int lv_backtest_symbols(const struct lv_strategy *strategy,
                        const struct lv_backtest_options *options, char (*symbols)[LV_SYMBOL_MAX],
                        int cap)
{
    int n = add_symbol(symbols, 0, cap, options->benchmark);
    for (int t = 0; t < lv_strategy_n_tickers(strategy); t++)
        n = add_symbol(symbols, n, cap, lv_strategy_ticker(strategy, t));
    for (int id = 0; id < lv_strategy_n_series(strategy); id++) {
        const struct lv_series_key *key = lv_strategy_series(strategy, id);
        if (key->kind == LV_SERIES_INDICATOR)
            n = add_symbol(symbols, n, cap, key->ticker);
    }
    if (n > 0 && cap > 0)
        qsort(symbols, (size_t)(n < cap ? n : cap), LV_SYMBOL_MAX, compare_symbols);
    return n;
}
