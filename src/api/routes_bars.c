/* routes_bars.c — market data: which symbols Lever holds bars for, over which days, and where
 * they came from (synthetic sample data is always labelled as such); importing CSV bars and
 * syncing daily bars from Alpaca with the caller's stored keys (docs/decisions.md: who may). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alpaca/data.h"
#include "api/app.h"
#include "api/credentials.h"
#include "api/input.h"
#include "db/bars.h"

/* Most symbols one sync may name: each costs Alpaca requests while an HTTP thread waits. */
#define SYNC_SYMBOLS_MAX 100

static void list_bars(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    struct lv_bars_coverage *coverage = NULL;
    int n = 0;
    struct lv_db_error err;
    int rc = lv_bars_coverage_list(conn, &coverage, &n, &err);
    lv_db_release(app->pool, conn);
    if (rc != 0) {
        lv_api_db_failure(req, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        char first[LV_DAY_TEXT], last[LV_DAY_TEXT];
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "symbol", coverage[i].symbol,
                             "first_day", lv_day_format(coverage[i].first_day, first), "last_day",
                             lv_day_format(coverage[i].last_day, last), "bars",
                             (json_int_t)coverage[i].rows, "sources", coverage[i].sources,
                             "synthetic", lv_bars_sources_synthetic(coverage[i].sources)));
    }
    free(coverage);
    lv_resp_json(req, 200, json_pack("{s:o}", "items", items));
}

/* ---- Writing bars (import and sync answer alike) ----------------------------------------- */

/* Stores `table` in one transaction as `write` says, then answers 200 with what was stored:
 * {"source", "bars": total, "replaced", "items": [{"symbol", "bars", "first_day",
 * "last_day"}]}. */
static void store_and_answer(struct lv_req *req, struct lv_app *app, struct lv_bars_write *write)
{
    struct lv_db_error err;
    if (lv_db_tx(app->pool, lv_bars_write_tx, write, &err) != 0) {
        lv_api_db_failure(req, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < write->table->n_series; i++) {
        const struct lv_bar_series *s = &write->table->series[i];
        char first[LV_DAY_TEXT], last[LV_DAY_TEXT];
        json_array_append_new(items, json_pack("{s:s, s:I, s:s, s:s}", "symbol", s->symbol, "bars",
                                               (json_int_t)s->n, "first_day",
                                               lv_day_format(s->day[0], first), "last_day",
                                               lv_day_format(s->day[s->n - 1], last)));
    }
    lv_resp_json(req, 200,
                 json_pack("{s:s, s:I, s:I, s:o}", "source", write->source, "bars",
                           (json_int_t)write->rows, "replaced", (json_int_t)write->replaced,
                           "items", items));
}

/* ---- POST /api/v1/bars/sync --------------------------------------------------------------- */

static const char *const sync_fields[] = {"symbols", "mode", "start", "end", "feed", NULL};

/* A checked sync body. */
struct sync_body {
    char symbols[SYNC_SYMBOLS_MAX][LV_SYMBOL_MAX];
    int n_symbols;
    const char *mode, *feed; /* borrowed from the body */
    lv_day start, end;       /* end LV_DAY_NONE: to the latest bar */
    bool start_given, end_given;
};

static void read_symbols(const json_t *list, struct sync_body *out, struct lv_problems *problems)
{
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n == 0 || n > SYNC_SYMBOLS_MAX) {
        lv_problems_add(problems, "/symbols", "must be an array of 1 to %d symbols",
                        SYNC_SYMBOLS_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(list, i));
        char path[32], *symbol = out->symbols[out->n_symbols];
        snprintf(path, sizeof path, "/symbols/%zu", i);
        if (text == NULL || !lv_symbol_normalize(text, strlen(text), symbol)) {
            lv_problems_add(problems, path, "must be a symbol such as \"SPY\"");
            continue;
        }
        bool repeated = false;
        for (int k = 0; k < out->n_symbols; k++)
            repeated |= strcmp(out->symbols[k], symbol) == 0;
        if (repeated)
            lv_problems_add(problems, path, "%s is named twice", symbol);
        else
            out->n_symbols++;
    }
}

/* An optional YYYY-MM-DD member; *given tells whether it was there. */
static void read_date(const json_t *body, const char *field, lv_day *day, bool *given,
                      struct lv_problems *problems)
{
    const char *text = lv_input_string(body, field, 10, 10, false, problems);
    *given = text != NULL;
    if (text != NULL && !lv_day_parse(text, day))
        lv_problems_add(problems, field[0] == 's' ? "/start" : "/end", "must be a date YYYY-MM-DD");
}

/* Checks the body; answers 400 naming every bad field and returns false when it is wrong. */
static bool read_sync_body(struct lv_req *req, struct sync_body *out)
{
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return false;
    memset(out, 0, sizeof *out);
    out->start = lv_day_from_ymd(2000, 1, 1);
    out->end = LV_DAY_NONE;
    struct lv_problems problems = {0};
    if (lv_input_object(body, sync_fields, &problems) == 0) {
        read_symbols(json_object_get(body, "symbols"), out, &problems);
        out->mode = lv_input_string(body, "mode", 4, 5, true, &problems);
        if (out->mode != NULL && !lv_alpaca_mode_valid(out->mode))
            lv_problems_add(&problems, "/mode", "must be \"paper\" or \"live\"");
        read_date(body, "start", &out->start, &out->start_given, &problems);
        read_date(body, "end", &out->end, &out->end_given, &problems);
        if (out->end != LV_DAY_NONE && out->end < out->start)
            lv_problems_add(&problems, "/end", "is before the start");
        out->feed = lv_input_string(body, "feed", 3, 3, false, &problems);
        if (out->feed != NULL && strcmp(out->feed, "sip") != 0 && strcmp(out->feed, "iex") != 0)
            lv_problems_add(&problems, "/feed", "must be \"sip\" or \"iex\"");
    }
    if (problems.count > 0) {
        lv_input_reject(req, &problems);
        return false;
    }
    return true;
}

/* Opens the caller's stored pair for the mode. Returns true, or answers (409 when none is
 * stored) and returns false. */
static bool load_keys(struct lv_req *req, struct lv_app *app, const char *mode,
                      char key_id[LV_ALPACA_KEY_ID_MAX + 1], char secret[LV_ALPACA_SECRET_MAX + 1])
{
    if (!app->cfg->has_secret_key) {
        lv_resp_error(req, 503, "encryption_unavailable",
                      "this server has no LEVER_SECRET_KEY, so it holds no Alpaca credentials",
                      NULL);
        return false;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return false;
    struct lv_db_error err;
    int found = lv_credentials_load(conn, app->cfg->secret_key, lv_api_user_id(req), mode, key_id,
                                    secret, &err);
    lv_db_release(app->pool, conn);
    if (found < 0) {
        lv_api_db_failure(req, &err);
    } else if (found == 0) {
        char message[160];
        snprintf(message, sizeof message,
                 "no %s Alpaca credentials saved: PUT /api/v1/me/alpaca-credentials/%s first", mode,
                 mode);
        lv_resp_error(req, 409, "credentials_missing", message, NULL);
    }
    return found == 1;
}

/* Answers an Alpaca failure: 422 when it has no bars for a symbol, otherwise 502 with what
 * Alpaca said. */
static void alpaca_failure(struct lv_req *req, enum lv_alpaca_result result, const char *mode,
                           const struct lv_error *why)
{
    char message[LV_ERROR_MSG + 64];
    if (result == LV_ALPACA_NO_DATA) {
        lv_resp_error(req, 422, "no_market_data", why->message, NULL);
    } else if (result == LV_ALPACA_REJECTED) {
        snprintf(message, sizeof message, "your %s keys: %s", mode, why->message);
        lv_resp_error(req, 502, "alpaca_rejected", message, NULL);
    } else {
        lv_resp_error(req, 502, "alpaca_failed", why->message, NULL);
    }
}

/* Alpaca is called with no database connection held; the bars then replace each symbol's
 * history (or the rows of the start..end given) in one transaction. */
static void sync_bars(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct sync_body *body = malloc(sizeof *body); /* owned here; 1.6 KB off the stack */
    char key_id[LV_ALPACA_KEY_ID_MAX + 1], secret[LV_ALPACA_SECRET_MAX + 1];
    if (body == NULL) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        return;
    }
    if (!read_sync_body(req, body) || !load_keys(req, app, body->mode, key_id, secret)) {
        free(body);
        return;
    }
    struct lv_alpaca_account_ref ref = {app->cfg->alpaca_data_url, key_id, secret};
    struct lv_alpaca_bars_query query = {.symbols = (const char(*)[LV_SYMBOL_MAX])body->symbols,
                                         .n_symbols = body->n_symbols,
                                         .start = body->start,
                                         .end = body->end,
                                         .feed = body->feed};
    struct lv_bar_table table;
    struct lv_error why;
    enum lv_alpaca_result result = lv_alpaca_daily_bars(&ref, &query, &table, NULL, &why);
    sodium_memzero(secret, sizeof secret);
    if (result != LV_ALPACA_OK) {
        alpaca_failure(req, result, body->mode, &why);
    } else {
        struct lv_bars_write write = {.table = &table,
                                      .source = LV_BARS_SOURCE_ALPACA,
                                      .whole_range = true,
                                      .from = body->start_given ? body->start : LV_DAY_NONE,
                                      .to = body->end_given ? body->end : LV_DAY_NONE};
        store_and_answer(req, app, &write);
    }
    lv_bar_table_free(&table);
    free(body);
}

/* ---- POST /api/v1/bars/import ------------------------------------------------------------- */

/* The name parse errors use for the body: messages read "csv:LINE: field NAME: …". */
#define CSV_NAME "csv"

static bool is_csv(const char *content_type)
{
    return content_type != NULL && strncasecmp(content_type, "text/csv", 8) == 0 &&
           (content_type[8] == '\0' || content_type[8] == ';' || content_type[8] == ' ');
}

/* 400 for a CSV the parser refused. bars_csv.h promises messages "FILE:LINE: field NAME: …"
 * (or "FILE:LINE: …"), so the line and field are read back for the details item. */
static void reject_csv(struct lv_req *req, const char *message)
{
    long line = 0;
    char field[16] = "";
    json_t *problem = json_pack("{s:s, s:s}", "path", "", "message", message);
    if (sscanf(message, CSV_NAME ":%ld: field %15[a-z]", &line, field) >= 1) {
        json_object_set_new(problem, "line", json_integer(line));
        if (field[0] != '\0')
            json_object_set_new(problem, "field", json_string(field));
    }
    lv_resp_error(req, 400, "validation_failed", message, json_pack("[o]", problem));
}

static void import_bars(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    if (!is_csv(lv_req_header(req, "Content-Type"))) {
        lv_resp_error(req, 415, "unsupported_media_type",
                      "send the bars as CSV with Content-Type: text/csv", NULL);
        return;
    }
    const char *symbol = lv_req_query(req, "symbol");
    char normalized[LV_SYMBOL_MAX];
    if (symbol != NULL && !lv_symbol_normalize(symbol, strlen(symbol), normalized)) {
        struct lv_problems problems = {0};
        lv_problems_add(&problems, "?symbol", "must be a symbol such as \"SPY\"");
        lv_input_reject(req, &problems);
        return;
    }
    size_t len = 0;
    const char *text = lv_req_body(req, &len);
    struct lv_bar_table table = {0};
    struct lv_error err;
    if (lv_bars_csv_parse(text, len, CSV_NAME, symbol != NULL ? normalized : NULL, &table, &err) !=
        0) {
        reject_csv(req, err.message);
        return;
    }
    struct lv_bars_write write = {.table = &table, .source = LV_BARS_SOURCE_CSV};
    store_and_answer(req, app, &write);
    lv_bar_table_free(&table);
}

int lv_routes_bars(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/api/v1/bars", list_bars, 0, err) ||
           lv_router_add(router, "POST", "/api/v1/bars/sync", sync_bars, 0, err) ||
           lv_router_add(router, "POST", "/api/v1/bars/import", import_bars, LV_ROUTE_RAW_BODY,
                         err);
}
