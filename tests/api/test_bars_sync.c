/* test_bars_sync.c — market data from Alpaca and CSV through the CLI and the API, against the
 * Alpaca stand-in (tests/support/alpaca_stub): `lever bars sync` pages, stores source alpaca,
 * replaces older rows, writes nothing when a symbol or bar is bad, retries 429/5xx and names
 * rejected keys without printing them; POST /api/v1/bars/sync with stored keys and
 * POST /api/v1/bars/import with a CSV body. Symbols are SYNC* so no other suite's data moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_helpers.h"
#include "alpaca_stub.h"
#include "lever_proc.h"

#define KEY_ID "PKSYNCTEST7Q2M9ZWXYZ"
#define SECRET "syncSecret0123456789abcdefghijklmnopqrs"

struct fixture {
    struct alpaca_stub *alpaca; /* trading and data host at once: same keys, as Alpaca */
    struct lever_proc server;
    char secret_key[64];
    char token[128];
    int user_id;
    char env[4][200]; /* LEVER_SECRET_KEY, ALPACA_DATA_URL, APCA_API_KEY_ID, _SECRET_KEY */
};

static struct fixture fx;

/* ---- helpers ------------------------------------------------------------------------------ */

/* Runs `lever bars sync ARGS…` with the fixture's environment plus `extra` (may be NULL). */
static int run_sync(const char *const *args, const char *extra, char *out, char *err)
{
    const char *argv[16] = {"bars", "sync"};
    int n = 2;
    for (; *args != NULL && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    const char *env[] = {fx.env[0], fx.env[1], fx.env[2], fx.env[3], extra, NULL};
    return lever_run(argv, env, out, 8192, err, 8192);
}

static long rows_of(const char *symbol)
{
    return db_long("SELECT count(*) FROM bars WHERE symbol = $1", symbol);
}

static long rows_not_alpaca(const char *symbol)
{
    return db_long("SELECT count(*) FROM bars WHERE symbol = $1 AND source <> 'alpaca'", symbol);
}

/* Sends a CSV body to POST /api/v1/bars/import`query`. */
static json_t *import_csv(const char *query, const char *content_type, const char *csv,
                          long *status)
{
    char auth[200], type[100], path[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
    snprintf(type, sizeof type, "Content-Type: %s", content_type);
    snprintf(path, sizeof path, "/api/v1/bars/import%s", query);
    const char *headers[] = {auth, type, NULL};
    struct http_client_response res;
    api_send(fx.server.base_url, "POST", path, headers, csv, &res);
    *status = res.status;
    json_t *doc = json_loads(res.body, 0, NULL);
    http_client_response_free(&res);
    return doc;
}

static const char *error_code(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
}

static const char *error_message(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
}

/* ---- fixture ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    fx.alpaca = alpaca_stub_start(KEY_ID, SECRET);
    if (fx.alpaca == NULL)
        return -1;
    alpaca_stub_set_bars_page_size(fx.alpaca, 3); /* every sync below takes several pages */
    /* 2024-03-08 is EST (t 05:00Z), 2024-03-11 EDT (04:00Z): both must land on their day. */
    alpaca_stub_set_daily_bars(fx.alpaca, "SYNCA", "2024-03-04", 7, 100);
    alpaca_stub_set_daily_bars(fx.alpaca, "SYNCB", "2024-01-02", 5, 50);
    alpaca_stub_set_daily_bars(fx.alpaca, "SYNCC", "2024-06-03", 4, 20);
    random_secret_key(fx.secret_key);
    snprintf(fx.env[0], sizeof fx.env[0], "LEVER_SECRET_KEY=%s", fx.secret_key);
    snprintf(fx.env[1], sizeof fx.env[1], "ALPACA_DATA_URL=%s", alpaca_stub_url(fx.alpaca));
    snprintf(fx.env[2], sizeof fx.env[2], "APCA_API_KEY_ID=%s", KEY_ID);
    snprintf(fx.env[3], sizeof fx.env[3], "APCA_API_SECRET_KEY=%s", SECRET);
    static char paper_url[200];
    snprintf(paper_url, sizeof paper_url, "ALPACA_PAPER_URL=%s", alpaca_stub_url(fx.alpaca));
    const char *server_env[] = {fx.env[0], fx.env[1], paper_url,
                                "ALPACA_LIVE_URL=http://127.0.0.1:9", NULL};
    if (lever_proc_start(&fx.server, server_env) != 0)
        return -1;
    fx.user_id = lever_create_user("bars-sync", fx.token, sizeof fx.token);
    if (fx.user_id < 0)
        return -1;
    db_exec("DELETE FROM bars WHERE symbol LIKE $1", "SYNC%");
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_exec("DELETE FROM bars WHERE symbol LIKE $1", "SYNC%");
    int failed = lever_proc_stop(&fx.server) != 0; /* exit 0, and no leaks under ASan */
    alpaca_stub_stop(fx.alpaca);
    return failed ? -1 : 0;
}

/* ---- CLI ---------------------------------------------------------------------------------- */

static void cli_sync_pages_and_replaces_history(void **state)
{
    (void)state;
    /* Older rows of SYNCA, one outside anything Alpaca sends: the sync replaces them all. */
    db_exec("INSERT INTO bars (symbol, day, open, high, low, close, volume, source) VALUES "
            "($1, '1999-12-31', 1, 1, 1, 1, 1, 'csv'), ($1, '2024-03-05', 9, 9, 9, 9, 9, 'csv')",
            "SYNCA");
    int requests = alpaca_stub_bars_requests(fx.alpaca);
    char out[8192], err[8192];
    const char *args[] = {"SYNCB", "synca", NULL};
    assert_int_equal(run_sync(args, NULL, out, err), 0);
    assert_non_null(strstr(out, "synced 12 bars of 2 symbols from Alpaca (2 older rows replaced)"));
    assert_non_null(strstr(out, "SYNCA         7 bars  2024-03-04 .. 2024-03-12"));
    /* 12 bars at 3 per page: 4 pages, each a request. */
    assert_int_equal(alpaca_stub_bars_requests(fx.alpaca), requests + 4);
    char query[1024];
    alpaca_stub_last_bars_query(fx.alpaca, query, sizeof query);
    assert_non_null(strstr(query, "symbols=SYNCB,SYNCA timeframe=1Day adjustment=all "
                                  "limit=10000 start=2000-01-01 end=- feed=- page_token="));
    assert_null(strstr(query, "page_token=-"));

    assert_int_equal(rows_of("SYNCA"), 7);
    assert_int_equal(rows_not_alpaca("SYNCA"), 0);
    assert_int_equal(rows_of("SYNCB"), 5);
    /* Each bar on its trading day, across the switch to daylight time on 2024-03-10. */
    assert_int_equal(db_long("SELECT count(*) FROM bars WHERE symbol = 'SYNCA' AND "
                             "((day = '2024-03-08' AND close = 104) OR "
                             "(day = '2024-03-11' AND close = 105))",
                             NULL),
                     2);
}

static void cli_sync_range_keeps_rows_outside(void **state)
{
    (void)state;
    db_exec("INSERT INTO bars (symbol, day, open, high, low, close, volume, source) VALUES "
            "($1, '2023-06-01', 1, 1, 1, 1, 1, 'csv')",
            "SYNCB");
    db_exec("UPDATE bars SET close = 1 WHERE symbol = $1 AND day = '2024-01-02'", "SYNCB");
    char out[8192], err[8192];
    const char *args[] = {"--start", "2024-01-03", "--end", "2024-01-05",
                          "--feed",  "iex",        "SYNCB", NULL};
    assert_int_equal(run_sync(args, NULL, out, err), 0);
    assert_non_null(strstr(out, "synced 3 bars of 1 symbol from Alpaca (3 older rows replaced)"));
    char query[1024];
    alpaca_stub_last_bars_query(fx.alpaca, query, sizeof query);
    assert_non_null(strstr(query, "start=2024-01-03 end=2024-01-05 feed=iex"));
    /* 2023-06-01 (csv), 2024-01-02 (changed above, outside the range) and 2024-01-08 stay. */
    assert_int_equal(rows_of("SYNCB"), 6);
    assert_int_equal(rows_not_alpaca("SYNCB"), 1);
    assert_int_equal(
        db_long("SELECT count(*) FROM bars WHERE symbol = $1 AND day = '2024-01-02' AND close = 1",
                "SYNCB"),
        1);
}

static void cli_sync_missing_symbol_writes_nothing(void **state)
{
    (void)state;
    long before = rows_of("SYNCA");
    db_exec("UPDATE bars SET close = 1 WHERE symbol = $1", "SYNCA");
    char out[8192], err[8192];
    const char *args[] = {"SYNCA", "SYNCNONE", NULL};
    assert_int_equal(run_sync(args, NULL, out, err), 1);
    assert_non_null(strstr(err, "Alpaca has no daily bars for SYNCNONE from 2000-01-01"));
    assert_non_null(strstr(err, "nothing written"));
    assert_int_equal(rows_of("SYNCA"), before);
    assert_int_equal(db_long("SELECT count(*) FROM bars WHERE symbol = $1 AND close <> 1", "SYNCA"),
                     0);
}

static void cli_sync_bad_bar_writes_nothing(void **state)
{
    (void)state;
    const struct alpaca_stub_bar bars[] = {
        {"2024-01-02", 10, 11, 9, 10.5, 1000},
        {"2024-01-03", 10, 11, 9, 0, 1000}, /* a close of 0 */
    };
    alpaca_stub_set_bars(fx.alpaca, "SYNCD", bars, 2);
    char out[8192], err[8192];
    const char *args[] = {"SYNCC", "SYNCD", NULL};
    assert_int_equal(run_sync(args, NULL, out, err), 1);
    assert_non_null(strstr(err, "bad SYNCD bar at 2024-01-03T05:00:00Z: field c"));
    assert_int_equal(rows_of("SYNCC"), 0);
    assert_int_equal(rows_of("SYNCD"), 0);

    const struct alpaca_stub_bar twice[] = {
        {"2024-01-03", 10, 11, 9, 10.5, 1000},
        {"2024-01-02", 10, 11, 9, 10.5, 1000},
    };
    alpaca_stub_set_bars(fx.alpaca, "SYNCD", twice, 2);
    assert_int_equal(run_sync(args, NULL, out, err), 1);
    assert_non_null(strstr(err, "out of order"));
    assert_int_equal(rows_of("SYNCC"), 0);
    alpaca_stub_set_bars(fx.alpaca, "SYNCD", NULL, 0);
}

static void cli_sync_refused_keys_are_named_not_shown(void **state)
{
    (void)state;
    char out[8192], err[8192];
    const char *args[] = {"SYNCC", NULL};
    assert_int_equal(run_sync(args, "APCA_API_SECRET_KEY=notTheSecret0000000000", out, err), 1);
    assert_non_null(strstr(err, "APCA_API_KEY_ID"));
    assert_non_null(strstr(err, "key id ending WXYZ"));
    assert_non_null(strstr(err, "HTTP 401: request is not authorized"));
    assert_null(strstr(err, "notTheSecret"));
    assert_null(strstr(err, KEY_ID));
    assert_null(strstr(out, "notTheSecret"));

    /* No keys at all: a usage error saying where keys come from. */
    assert_int_equal(run_sync(args, "APCA_API_KEY_ID=", out, err), 2);
    assert_non_null(strstr(err, "--user"));
    assert_non_null(strstr(err, "APCA_API_SECRET_KEY"));

    /* Nothing listening: a network failure, reported at once. */
    assert_int_equal(run_sync(args, "ALPACA_DATA_URL=http://127.0.0.1:9", out, err), 1);
    assert_non_null(strstr(err, "Alpaca could not be reached"));
    assert_int_equal(rows_of("SYNCC"), 0);

    const char *bad_args[][3] = {{"--mode", "paper", "SYNCC"},
                                 {"--start", "2024-02-30", "SYNCC"},
                                 {"--feed", "otc", "SYNCC"},
                                 {"SYNCC", "syncc", NULL}};
    for (size_t i = 0; i < sizeof bad_args / sizeof bad_args[0]; i++) {
        const char *argv[4] = {bad_args[i][0], bad_args[i][1], bad_args[i][2], NULL};
        assert_int_equal(run_sync(argv, NULL, out, err), 2);
    }
}

static void cli_sync_retries_429_and_5xx_boundedly(void **state)
{
    (void)state;
    char out[8192], err[8192];
    const char *args[] = {"SYNCC", NULL};
    int requests = alpaca_stub_bars_requests(fx.alpaca);
    alpaca_stub_fail_bars(fx.alpaca, 429, 1);
    assert_int_equal(run_sync(args, NULL, out, err), 0);
    assert_int_equal(alpaca_stub_bars_requests(fx.alpaca), requests + 3); /* 429, 2 pages */
    assert_int_equal(rows_of("SYNCC"), 4);

    requests = alpaca_stub_bars_requests(fx.alpaca);
    alpaca_stub_fail_bars(fx.alpaca, 503, 10);
    db_exec("UPDATE bars SET close = 1 WHERE symbol = $1", "SYNCC");
    assert_int_equal(run_sync(args, NULL, out, err), 1);
    assert_non_null(strstr(err, "HTTP 503: internal server error, still after 4 attempts"));
    assert_int_equal(alpaca_stub_bars_requests(fx.alpaca), requests + 4);
    assert_int_equal(db_long("SELECT count(*) FROM bars WHERE symbol = $1 AND close = 1", "SYNCC"),
                     4);
    alpaca_stub_fail_bars(fx.alpaca, 0, 0);
}

/* ---- API: sync ---------------------------------------------------------------------------- */

static void put_keys(const char *mode, const char *secret)
{
    char body[256], path[512];
    snprintf(body, sizeof body, "{\"key_id\": \"%s\", \"secret\": \"%s\"}", KEY_ID, secret);
    json_decref(api_expect(&fx.server, fx.token, "PUT",
                           api_path(path, "/api/v1/me/alpaca-credentials/%s", mode), body, 200));
}

static void api_sync_uses_stored_keys(void **state)
{
    (void)state;
    json_t *doc = api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                             "{\"symbols\": [\"SYNCC\"], \"mode\": \"paper\"}", 409);
    assert_string_equal(error_code(doc), "credentials_missing");
    json_decref(doc);

    put_keys("paper", SECRET);
    db_exec("DELETE FROM bars WHERE symbol = $1", "SYNCC");
    doc = api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                     "{\"symbols\": [\"syncc\", \"SYNCA\"], \"mode\": \"paper\", \"start\": "
                     "\"2024-01-01\"}",
                     200);
    assert_string_equal(json_string_value(json_object_get(doc, "source")), "alpaca");
    assert_int_equal(json_integer_value(json_object_get(doc, "bars")), 11);
    json_t *items = json_object_get(doc, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *first = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(first, "symbol")), "SYNCC");
    assert_int_equal(json_integer_value(json_object_get(first, "bars")), 4);
    assert_string_equal(json_string_value(json_object_get(first, "first_day")), "2024-06-03");
    assert_string_equal(json_string_value(json_object_get(first, "last_day")), "2024-06-06");
    json_decref(doc);
    assert_int_equal(rows_of("SYNCC"), 4);
    assert_int_equal(rows_not_alpaca("SYNCC"), 0);

    /* The coverage shows it. */
    doc = api_expect(&fx.server, fx.token, "GET", "/api/v1/bars", NULL, 200);
    size_t i;
    json_t *item;
    bool seen = false;
    json_array_foreach(json_object_get(doc, "items"), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "symbol")), "SYNCC") == 0) {
            assert_string_equal(json_string_value(json_object_get(item, "sources")), "alpaca");
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(doc);
}

static void api_sync_refuses_bad_input_and_reports_alpaca(void **state)
{
    (void)state;
    json_t *doc = api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                             "{\"symbols\": [\"SPY\", \"not a symbol\", \"spy\"], \"mode\": "
                             "\"demo\", \"start\": \"2024-02-30\", \"feed\": \"otc\", \"x\": 1}",
                             400);
    assert_true(api_error_has(doc, "validation_failed", "/symbols/1"));
    assert_true(api_error_has(doc, "validation_failed", "/symbols/2"));
    assert_true(api_error_has(doc, "validation_failed", "/mode"));
    assert_true(api_error_has(doc, "validation_failed", "/start"));
    assert_true(api_error_has(doc, "validation_failed", "/feed"));
    assert_true(api_error_has(doc, "validation_failed", "/x"));
    json_decref(doc);
    doc = api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                     "{\"symbols\": [], \"mode\": \"paper\"}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/symbols"));
    json_decref(doc);

    /* A symbol Alpaca has nothing for: 422 naming it, nothing written. */
    long before = rows_of("SYNCC");
    doc = api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                     "{\"symbols\": [\"SYNCC\", \"SYNCNONE\"], \"mode\": \"paper\"}", 422);
    assert_string_equal(error_code(doc), "no_market_data");
    assert_non_null(strstr(error_message(doc), "SYNCNONE"));
    json_decref(doc);
    assert_int_equal(rows_of("SYNCC"), before);

    /* Alpaca failing: 502 with its message (after the retries). */
    alpaca_stub_fail_bars(fx.alpaca, 429, 1);
    db_exec("DELETE FROM bars WHERE symbol = $1", "SYNCC");
    json_decref(api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                           "{\"symbols\": [\"SYNCC\"], \"mode\": \"paper\"}", 200));
    assert_int_equal(rows_of("SYNCC"), 4);
    /* Keys Alpaca refuses (saved unverified: the live host is unreachable here). */
    put_keys("live", "wrongSecret000000000000");
    doc = api_expect(&fx.server, fx.token, "POST", "/api/v1/bars/sync",
                     "{\"symbols\": [\"SYNCC\"], \"mode\": \"live\"}", 502);
    assert_string_equal(error_code(doc), "alpaca_rejected");
    assert_non_null(strstr(error_message(doc), "live keys"));
    assert_non_null(strstr(error_message(doc), "request is not authorized"));
    assert_null(strstr(error_message(doc), "wrongSecret"));
    json_decref(doc);
}

/* The CLI with a user's stored keys (opened with LEVER_SECRET_KEY). */
static void cli_sync_with_user_keys(void **state)
{
    (void)state;
    char user[16], out[8192], err[8192];
    snprintf(user, sizeof user, "%d", fx.user_id);
    put_keys("paper", SECRET);
    db_exec("DELETE FROM bars WHERE symbol = $1", "SYNCC");
    const char *paper[] = {"--user", user, "SYNCC", NULL};
    /* The environment's keys are wrong: only the stored ones can work. */
    assert_int_equal(run_sync(paper, "APCA_API_SECRET_KEY=notTheSecret0000000000", out, err), 0);
    assert_int_equal(rows_of("SYNCC"), 4);
    const char *live[] = {"--user", user, "--mode", "live", "SYNCC", NULL};
    assert_int_equal(run_sync(live, NULL, out, err), 1);
    char origin[64];
    snprintf(origin, sizeof origin, "user %d's live keys (key id ending WXYZ)", fx.user_id);
    assert_non_null(strstr(err, origin));
    assert_non_null(strstr(err, "request is not authorized"));
    const char *nobody[] = {"--user", "999999", "SYNCC", NULL};
    assert_int_equal(run_sync(nobody, NULL, out, err), 1);
    assert_non_null(strstr(err, "user 999999 has no paper Alpaca keys saved"));
}

/* ---- API: import -------------------------------------------------------------------------- */

static void api_import_csv_all_or_nothing(void **state)
{
    (void)state;
    long status;
    json_t *doc = import_csv("?symbol=synce", "text/csv; charset=utf-8",
                             "date,open,high,low,close,volume\n"
                             "2024-01-02,10,11,9,10.5,1000\n"
                             "2024-01-03,10.5,12,10,11.5,2000\n",
                             &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "source")), "csv");
    assert_int_equal(json_integer_value(json_object_get(doc, "bars")), 2);
    json_decref(doc);
    assert_int_equal(rows_of("SYNCE"), 2);
    assert_int_equal(
        db_long("SELECT count(*) FROM bars WHERE symbol = $1 AND source = 'csv'", "SYNCE"), 2);

    /* A symbol column, one bad row on line 3: 400 naming line and field, nothing stored. */
    doc = import_csv("", "text/csv",
                     "symbol,date,open,high,low,close,volume\n"
                     "SYNCF,2024-01-02,10,11,9,10.5,1000\n"
                     "SYNCG,2024-01-02,10,11,9,-1,1000\n",
                     &status);
    assert_int_equal(status, 400);
    assert_string_equal(error_code(doc), "validation_failed");
    json_t *detail = json_array_get(json_object_get(json_object_get(doc, "error"), "details"), 0);
    assert_int_equal(json_integer_value(json_object_get(detail, "line")), 3);
    assert_string_equal(json_string_value(json_object_get(detail, "field")), "close");
    assert_non_null(strstr(error_message(doc), "csv:3: field close"));
    json_decref(doc);
    assert_int_equal(rows_of("SYNCF"), 0);
    assert_int_equal(rows_of("SYNCG"), 0);

    /* No symbol anywhere, a bad ?symbol, and JSON instead of CSV. */
    doc = import_csv("", "text/csv", "date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n",
                     &status);
    assert_int_equal(status, 400);
    json_decref(doc);
    doc = import_csv("?symbol=not%20one", "text/csv", "date,open,high,low,close,volume\n", &status);
    assert_int_equal(status, 400);
    assert_true(api_error_has(doc, "validation_failed", "?symbol"));
    json_decref(doc);
    doc = import_csv("?symbol=SYNCE", "application/json", "{}", &status);
    assert_int_equal(status, 415);
    json_decref(doc);
    assert_int_equal(rows_of("SYNCE"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_sync_pages_and_replaces_history),
        cmocka_unit_test(cli_sync_range_keeps_rows_outside),
        cmocka_unit_test(cli_sync_missing_symbol_writes_nothing),
        cmocka_unit_test(cli_sync_bad_bar_writes_nothing),
        cmocka_unit_test(cli_sync_refused_keys_are_named_not_shown),
        cmocka_unit_test(cli_sync_retries_429_and_5xx_boundedly),
        cmocka_unit_test(api_sync_uses_stored_keys),
        cmocka_unit_test(api_sync_refuses_bad_input_and_reports_alpaca),
        cmocka_unit_test(cli_sync_with_user_keys),
        cmocka_unit_test(api_import_csv_all_or_nothing),
    };
    return cmocka_run_group_tests_name("bars sync and import", tests, setup, teardown);
}
