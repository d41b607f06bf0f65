/* routes_backtests.c — single backtests: run one (synchronously), read one, list the history,
 * and validate a strategy without running it (strategy-language.md §2, §6). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "core/backtest.h"
#include "db/bars.h"
#include "core/strategy.h"

/* The request fields a backtest accepts besides the strategy itself. */
static const char *const option_fields[] = {
    "start_date",      "startDate",       "end_date",  "endDate",  "benchmark_symbol",
    "benchmarkSymbol", "initial_capital", "rebalance", "cost_bps", NULL,
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int is_option_field(const char *key)
{
    for (const char *const *f = option_fields; *f != NULL; f++)
        if (strcmp(*f, key) == 0)
            return 1;
    return 0;
}

/* Copies problems into an error-details array with every path put under `prefix`. */
static json_t *details_under(const struct lv_problems *problems, const char *prefix)
{
    json_t *details = json_array();
    for (int i = 0; i < problems->count; i++) {
        char path[LV_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s%s", prefix, problems->items[i].path);
        json_array_append_new(
            details, json_pack("{s:s, s:s}", "path", path, "message", problems->items[i].message));
    }
    return details;
}

static json_t *messages_of(const struct lv_problems *problems)
{
    json_t *list = json_array();
    for (int i = 0; i < problems->count; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "path", problems->items[i].path,
                                              "message", problems->items[i].message));
    return list;
}

/* The strategy document of a run request: `strategy` inline, or `strategy_id` (also given
 * by the /strategies/{id}/backtests path). Answers errors itself and returns NULL. */
static json_t *request_strategy(struct lv_req *req, PGconn *conn, json_t *body, char *strategy_id,
                                size_t id_size)
{
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "strategy") != 0 && strcmp(key, "strategy_id") != 0 &&
            !is_option_field(key)) {
            char path[300];
            snprintf(path, sizeof path, "/%s", key);
            lv_resp_error(req, 400, "validation_failed", "unknown field",
                          json_pack("[{s:s, s:s}]", "path", path, "message", "unknown field"));
            return NULL;
        }
    }
    const char *path_id = lv_req_param(req, "id");
    json_t *inline_doc = json_object_get(body, "strategy");
    json_t *id_value = json_object_get(body, "strategy_id");
    if (path_id != NULL) {
        if (lv_api_path_id(req, "no such strategy") == NULL)
            return NULL;
        snprintf(strategy_id, id_size, "%s", path_id);
    } else if (id_value != NULL) {
        if (!json_is_integer(id_value) || json_integer_value(id_value) <= 0) {
            lv_resp_error(req, 400, "validation_failed", "invalid strategy_id",
                          json_pack("[{s:s, s:s}]", "path", "/strategy_id", "message",
                                    "must be a positive integer"));
            return NULL;
        }
        snprintf(strategy_id, id_size, "%lld", (long long)json_integer_value(id_value));
    }
    if (strategy_id[0] != '\0' && inline_doc != NULL) {
        lv_resp_error(req, 400, "validation_failed", "give either strategy or strategy_id",
                      json_pack("[{s:s, s:s}]", "path", "/strategy", "message",
                                "not allowed together with strategy_id"));
        return NULL;
    }
    if (strategy_id[0] != '\0')
        return lv_api_readable_strategy(req, conn, strategy_id);
    if (!json_is_object(inline_doc) && !json_is_array(inline_doc)) {
        lv_resp_error(req, 400, "validation_failed", "a strategy is required",
                      json_pack("[{s:s, s:s}]", "path", "/strategy", "message",
                                "required: a strategy document (object or elements array), "
                                "or strategy_id"));
        return NULL;
    }
    return json_incref(inline_doc);
}

/* A result as JSON text, each part serialised once: the parts go into the INSERT and are
 * spliced into the response, so the curves (tens of thousands of numbers) are never printed
 * twice. Reals get the API's 15 significant digits. */
struct result_text {
    char *elements, *metrics, *equity, *positions, *details;
};

#define RESULT_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

static void result_text_free(struct result_text *t)
{
    free(t->elements);
    free(t->metrics);
    free(t->equity);
    free(t->positions);
    free(t->details);
}

/* Returns 0, or -1 when memory ran out (t is then freed). `summary` is the result without its
 * large arrays, which are written as text straight from `r`. */
static int result_text_init(struct result_text *t, json_t *doc, const json_t *summary,
                            const struct lv_backtest_result *r)
{
    json_t *elements = json_is_array(doc) ? doc : json_object_get(doc, "elements");
    char *benchmark_metrics =
        json_dumps(json_object_get(summary, "benchmark_metrics"), RESULT_DUMP_FLAGS);
    char *warnings = json_dumps(json_object_get(summary, "warnings"), RESULT_DUMP_FLAGS);
    char *window = json_dumps(json_object_get(summary, "window"), RESULT_DUMP_FLAGS);
    char *timing = json_dumps(json_object_get(summary, "timing"), RESULT_DUMP_FLAGS);
    char *benchmark_curve = lv_backtest_curve_text(r, true);
    t->elements = json_dumps(elements, RESULT_DUMP_FLAGS);
    t->metrics = json_dumps(json_object_get(summary, "metrics"), RESULT_DUMP_FLAGS);
    t->equity = lv_backtest_curve_text(r, false);
    t->positions = lv_backtest_positions_text(r);
    t->details = NULL;
    if (benchmark_metrics && warnings && window && timing && benchmark_curve) {
        const char *format = "{\"benchmark_metrics\":%s,\"benchmark_curve\":%s,\"warnings\":%s,"
                             "\"window\":%s,\"timing\":%s}";
        size_t cap = strlen(format) + strlen(benchmark_metrics) + strlen(benchmark_curve) +
                     strlen(warnings) + strlen(window) + strlen(timing);
        t->details = malloc(cap);
        if (t->details != NULL)
            snprintf(t->details, cap, format, benchmark_metrics, benchmark_curve, warnings, window,
                     timing);
    }
    free(benchmark_metrics);
    free(warnings);
    free(window);
    free(timing);
    free(benchmark_curve);
    if (t->elements && t->metrics && t->equity && t->positions && t->details)
        return 0;
    result_text_free(t);
    return -1;
}

/* Inserts the backtest_results row; `row` receives {"id", "strategy_id", "created_at"}. */
static int store_result(PGconn *conn, struct lv_req *req, const char *strategy_id,
                        const json_t *window, const struct lv_backtest_options *options,
                        const struct result_text *t, char *row, size_t row_size,
                        struct lv_db_error *err)
{
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {
        strategy_id[0] != '\0' ? strategy_id : NULL,
        user_id,
        json_string_value(json_object_get(window, "start")),
        json_string_value(json_object_get(window, "end")),
        options->benchmark,
        t->elements,
        t->metrics,
        t->equity,
        t->positions,
        t->details,
    };
    int rows = lv_db_query_value(
        conn,
        "INSERT INTO backtest_results (strategy_id, user_id, start_date, end_date, "
        "benchmark_symbol, strategy_elements, metrics, equity_curve, positions, details) "
        "VALUES ($1::int, $2::int, $3::date, $4::date, $5, $6::jsonb, $7::jsonb, $8::jsonb, "
        "$9::jsonb, $10::jsonb) RETURNING json_build_object('id', id, 'strategy_id', "
        "strategy_id, 'created_at', to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
        10, params, row, row_size, err);
    return rows == 1 ? 0 : -1;
}

/* Answers 201 with the stored row's fields, then the result: both are JSON objects, so the
 * body is the row without its closing brace, the parts, and the details without their opening
 * one. */
static void answer_stored(struct lv_req *req, const char *row, const struct result_text *t)
{
    size_t row_len = strlen(row);
    size_t cap = row_len + strlen(t->metrics) + strlen(t->equity) + strlen(t->positions) +
                 strlen(t->details) + 64;
    char *body = malloc(cap);
    if (body == NULL || row_len < 2 || row[row_len - 1] != '}' || t->details[0] != '{') {
        free(body);
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        return;
    }
    int len =
        snprintf(body, cap, "%.*s,\"metrics\":%s,\"equity_curve\":%s,\"positions\":%s,%s",
                 (int)(row_len - 1), row, t->metrics, t->equity, t->positions, t->details + 1);
    lv_resp_bytes(req, 201, "application/json", body, (size_t)len);
    free(body);
}

/* Says so in the result when any of the run's symbols has synthetic bars: a trader must never
 * mistake the sample universe for real prices. */
static void warn_synthetic(PGconn *conn, const struct lv_strategy *strategy,
                           const struct lv_backtest_options *options,
                           struct lv_backtest_result *result)
{
    int n = lv_backtest_symbols(strategy, options, NULL, 0);
    char(*symbols)[LV_SYMBOL_MAX] = calloc((size_t)n, LV_SYMBOL_MAX);
    char synthetic[1024] = "";
    struct lv_db_error err;
    if (symbols != NULL) {
        n = lv_backtest_symbols(strategy, options, symbols, n);
        if (lv_bars_synthetic_among(conn, (const char(*)[LV_SYMBOL_MAX])symbols, n, synthetic,
                                    sizeof synthetic, &err) == 0 &&
            synthetic[0] != '\0')
            lv_backtest_result_warn(result, "synthetic sample data, not real prices: %s",
                                    synthetic);
    }
    free(symbols);
}

/* Compiles, reads options (document first, then the request), runs, stores, answers. */
static void run_backtest(struct lv_req *req, struct lv_app *app, PGconn *conn, json_t *body,
                         json_t *doc, const char *strategy_id)
{
    const char *prefix = strategy_id[0] != '\0' ? "" : "/strategy";
    struct lv_problems problems = {0}, warnings = {0};
    struct lv_strategy *strategy = NULL;
    struct lv_backtest_options options;
    lv_backtest_options_init(&options);
    if (lv_strategy_compile(doc, &strategy, &problems, &warnings) != 0) {
        lv_resp_error(req, 400, "validation_failed", "the strategy is invalid",
                      details_under(&problems, prefix));
        goto done;
    }
    struct lv_problems option_problems = {0};
    if (json_is_object(doc))
        lv_backtest_options_read(doc, &options, &option_problems);
    lv_backtest_options_read(body, &options, &option_problems);
    if (option_problems.count > 0) {
        lv_resp_error(req, 400, "validation_failed", "invalid backtest options",
                      details_under(&option_problems, ""));
        lv_problems_free(&option_problems);
        goto done;
    }
    double load_start = now_ms();
    struct lv_error err;
    const struct lv_market_snapshot *snap = lv_market_acquire(app->market, conn, &err);
    if (snap == NULL) {
        lv_resp_error(req, 422, "no_market_data", err.message, NULL);
        goto done;
    }
    double load_ms = now_ms() - load_start;
    struct lv_backtest_workspace *ws = lv_backtest_workspace_new();
    struct lv_backtest_result result = {0};
    int rc = ws != NULL
                 ? lv_backtest_run(strategy, snap->market, snap->cache, &options, ws, &result, &err)
                 : lv_fail(&err, "out of memory");
    lv_market_release(app->market, snap);
    if (rc != 0) {
        lv_resp_error(req, 422, "backtest_failed", err.message, NULL);
    } else {
        for (int i = 0; i < warnings.count; i++)
            lv_backtest_result_warn(&result, "%s: %s", warnings.items[i].path,
                                    warnings.items[i].message);
        warn_synthetic(conn, strategy, &options, &result);
        result.timing.load_ms = load_ms;
        result.timing.total_ms += load_ms;
        json_t *out = lv_backtest_result_summary_json(&result);
        struct result_text text;
        char row[256];
        struct lv_db_error db_err;
        if (out == NULL || result_text_init(&text, doc, out, &result) != 0) {
            lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        } else {
            if (store_result(conn, req, strategy_id, json_object_get(out, "window"), &options,
                             &text, row, sizeof row, &db_err) != 0)
                lv_api_db_failure(req, &db_err);
            else
                answer_stored(req, row, &text);
            result_text_free(&text);
        }
        json_decref(out);
    }
    lv_backtest_result_free(&result);
    lv_backtest_workspace_free(ws);
done:
    lv_strategy_free(strategy);
    lv_problems_free(&problems);
    lv_problems_free(&warnings);
}

static void post_backtest(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        lv_resp_error(req, 400, "validation_failed", "the body must be a JSON object", NULL);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char strategy_id[32] = "";
    json_t *doc = request_strategy(req, conn, body, strategy_id, sizeof strategy_id);
    if (doc != NULL)
        run_backtest(req, app, conn, body, doc, strategy_id);
    json_decref(doc);
    lv_db_release(app->pool, conn);
}

#define BACKTEST_JSON                                                                              \
    "json_build_object('id', id, 'strategy_id', strategy_id, 'created_at', "                       \
    "to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'start_date', start_date, "            \
    "'end_date', end_date, 'benchmark_symbol', benchmark_symbol, 'metrics', metrics"

static void get_backtest(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = lv_api_path_id(req, "no such backtest");
    if (id == NULL)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    int found;
    json_t *row = lv_api_query_json(
        conn,
        "SELECT " BACKTEST_JSON ", 'strategy', strategy_elements, 'equity_curve', equity_curve, "
        "'positions', positions)::jsonb || COALESCE(details, '{}'::jsonb) "
        "FROM backtest_results WHERE id = $1::int AND user_id = $2::int",
        2, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no such backtest", NULL);
    else
        lv_resp_json(req, 200, row);
}

/* History, newest first; curves are left out (fetch one backtest for those). */
static void list_backtests(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct lv_page page;
    long strategy_filter;
    const char *path_id = lv_req_param(req, "id");
    if (lv_api_read_page(req, 50, 1000, &page) != 0 ||
        lv_req_query_long(req, "strategy_id", 0, 1, 2147483647, &strategy_filter) != 0)
        return;
    if (path_id != NULL) {
        if (lv_api_path_id(req, "no such strategy") == NULL)
            return;
        strategy_filter = atol(path_id);
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16], strategy_text[16];
    lv_api_caller_text(req, user_id);
    snprintf(strategy_text, sizeof strategy_text, "%ld", strategy_filter);
    /* Under /strategies/{id}/ the strategy itself must be readable, or it does not exist. */
    if (path_id != NULL) {
        json_t *readable = lv_api_readable_strategy(req, conn, strategy_text);
        if (readable == NULL) {
            lv_db_release(app->pool, conn);
            return;
        }
        json_decref(readable);
    }
    const char *params[] = {user_id, strategy_filter != 0 ? strategy_text : NULL, page.limit_text,
                            page.offset_text};
    lv_api_send_page(
        req, app, conn,
        "SELECT COALESCE(json_agg(b ORDER BY created_at DESC, id DESC), '[]') FROM ("
        "SELECT " BACKTEST_JSON ") AS b, created_at, id FROM backtest_results "
        "WHERE user_id = $1::int AND ($2::int IS NULL OR strategy_id = $2::int) "
        "ORDER BY created_at DESC, id DESC LIMIT $3::int OFFSET $4::int) AS page(b, created_at, "
        "id)",
        4, params, &page);
}

/* Validation only: 200 with every problem (an invalid strategy is an answer, not an error). */
static void post_validate(struct lv_req *req, void *app_ptr)
{
    (void)app_ptr;
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    json_t *doc = json_is_object(body) && json_object_get(body, "strategy") != NULL
                      ? json_object_get(body, "strategy")
                      : body;
    struct lv_problems problems = {0}, warnings = {0};
    struct lv_strategy *strategy = NULL;
    int rc = lv_strategy_compile(doc, &strategy, &problems, &warnings);
    lv_strategy_free(strategy);
    lv_resp_json(req, 200,
                 json_pack("{s:b, s:o, s:o}", "valid", rc == 0, "problems", messages_of(&problems),
                           "warnings", messages_of(&warnings)));
    lv_problems_free(&problems);
    lv_problems_free(&warnings);
}

int lv_routes_backtests(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "POST", "/api/v1/backtests", post_backtest, 0, err) ||
           lv_router_add(router, "GET", "/api/v1/backtests", list_backtests, 0, err) ||
           lv_router_add(router, "GET", "/api/v1/backtests/{id}", get_backtest, 0, err) ||
           lv_router_add(router, "POST", "/api/v1/strategies/{id}/backtests", post_backtest, 0,
                         err) ||
           lv_router_add(router, "GET", "/api/v1/strategies/{id}/backtests", list_backtests, 0,
                         err) ||
           lv_router_add(router, "POST", "/api/v1/validate", post_validate, 0, err);
}
