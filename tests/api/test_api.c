/* test_api.c — the API skeleton end to end: a real `lever serve` on loopback against the test
 * database: health, authentication, the error envelope, surviving a database restart, graceful
 * shutdown, and single backtests (run, read, list, validate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "lever_proc.h"

struct fixture {
    struct lever_proc server;
    char token[128];
    char other_token[128];
};

static int setup(void **state)
{
    static struct fixture fx;
    if (lever_proc_start(&fx.server, NULL) != 0)
        return -1;
    if (lever_create_user("alice", fx.token, sizeof fx.token) < 0 ||
        lever_create_user("bob", fx.other_token, sizeof fx.other_token) < 0)
        return -1;
    /* Three real ETFs are enough for the backtest tests; importing replaces their days. */
    char path_spy[512], path_tlt[512], path_qqq[512];
    const char *shared = lever_test_env("LEVER_SHARED");
    snprintf(path_spy, sizeof path_spy, "%s/data/etf/SPY.csv", shared);
    snprintf(path_tlt, sizeof path_tlt, "%s/data/etf/TLT.csv", shared);
    snprintf(path_qqq, sizeof path_qqq, "%s/data/etf/QQQ.csv", shared);
    const char *import[] = {"bars", "import", path_spy, path_tlt, path_qqq, NULL};
    char err[4096];
    if (lever_run(import, NULL, NULL, 0, err, sizeof err) != 0) {
        fprintf(stderr, "bars import failed: %s\n", err);
        return -1;
    }
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx != NULL)
        lever_proc_stop(&fx->server);
    return 0;
}

/* Sends a request and parses the JSON body (NULL when the body is not JSON). */
static json_t *call(struct fixture *fx, const char *method, const char *path, const char *token,
                    const char *body, long *status)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", fx->server.base_url, path);
    struct http_client_response res;
    assert_int_equal(http_client_json(method, url, token, body, &res), 0);
    *status = res.status;
    json_t *doc = json_loads(res.body, 0, NULL);
    http_client_response_free(&res);
    return doc;
}

static void assert_error_code(json_t *doc, const char *code)
{
    assert_non_null(doc);
    json_t *error = json_object_get(doc, "error");
    assert_true(json_is_object(error));
    assert_string_equal(json_string_value(json_object_get(error, "code")), code);
    assert_true(json_is_string(json_object_get(error, "message")));
    assert_true(json_is_array(json_object_get(error, "details")));
}

static void healthz_reports_database(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *doc = call(fx, "GET", "/api/v1/healthz", NULL, NULL, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(doc, "db")), "ok");
    assert_non_null(json_string_value(json_object_get(doc, "version")));
    json_decref(doc);
}

static void routes_need_a_token(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *doc = call(fx, "GET", "/api/v1/me", NULL, NULL, &status);
    assert_int_equal(status, 401);
    assert_error_code(doc, "unauthorized");
    json_decref(doc);
    doc = call(fx, "GET", "/api/v1/me", "lvr_not-a-real-token", NULL, &status);
    assert_int_equal(status, 401);
    assert_error_code(doc, "unauthorized");
    json_decref(doc);
}

static void me_is_the_caller(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *doc = call(fx, "GET", "/api/v1/me", fx->token, NULL, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "username")), "alice");
    assert_true(json_is_integer(json_object_get(doc, "id")));
    json_decref(doc);
    doc = call(fx, "GET", "/api/v1/me", fx->other_token, NULL, &status);
    assert_string_equal(json_string_value(json_object_get(doc, "username")), "bob");
    json_decref(doc);
}

static void unknown_routes_and_methods(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *doc = call(fx, "GET", "/api/v1/no-such-thing", fx->token, NULL, &status);
    assert_int_equal(status, 404);
    assert_error_code(doc, "not_found");
    json_decref(doc);
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/healthz", fx->server.base_url);
    struct http_client_response res;
    assert_int_equal(http_client_json("DELETE", url, fx->token, NULL, &res), 0);
    assert_int_equal(res.status, 405);
    assert_non_null(http_client_header(&res, "Allow"));
    assert_non_null(strstr(http_client_header(&res, "Allow"), "GET"));
    assert_non_null(http_client_header(&res, "X-Request-Id"));
    http_client_response_free(&res);
}

/* The server keeps running across a database restart and reconnects by itself. */
static void survives_database_restart(void **state)
{
    struct fixture *fx = *state;
    const char *pg_dir = getenv("LEVER_TEST_PG_DIR");
    if (pg_dir == NULL) {
        skip(); /* DATABASE_URL points at a server this suite must not restart */
        return;
    }
    char command[1024];
    snprintf(command, sizeof command, "%s/scripts/pg stop %s >/dev/null",
             lever_test_env("LEVER_SOURCE_ROOT"), pg_dir);
    assert_int_equal(system(command), 0);
    long status;
    json_t *doc = call(fx, "GET", "/api/v1/healthz", NULL, NULL, &status);
    assert_int_equal(status, 503);
    assert_string_equal(json_string_value(json_object_get(doc, "db")), "unreachable");
    json_decref(doc);
    snprintf(command, sizeof command, "PG_FSYNC=off %s/scripts/pg start %s >/dev/null",
             lever_test_env("LEVER_SOURCE_ROOT"), pg_dir);
    assert_int_equal(system(command), 0);
    doc = call(fx, "GET", "/api/v1/healthz", NULL, NULL, &status);
    assert_int_equal(status, 200);
    json_decref(doc);
    doc = call(fx, "GET", "/api/v1/me", fx->token, NULL, &status);
    assert_int_equal(status, 200);
    json_decref(doc);
}

static const char *sma_switch =
    "{\"strategy\": {\"elements\": [{\"id\": \"g\", \"type\": \"gate\", \"weight\": 100, "
    "\"conditionMode\": \"if\", \"conditions\": [{\"ticker\": \"SPY\", \"indicator\": "
    "\"CURRENT_PRICE\", \"params\": {}, \"operator\": \"gt\", \"compareTo\": \"indicator\", "
    "\"rightTicker\": \"SPY\", \"rightIndicator\": \"SMA\", \"rightParams\": {\"period\": "
    "\"200\"}}], \"thenChildren\": [{\"id\": \"a\", \"type\": \"ticker\", \"ticker\": \"QQQ\"}], "
    "\"elseChildren\": [{\"id\": \"b\", \"type\": \"ticker\", \"ticker\": \"TLT\"}]}]}, "
    "\"start_date\": \"2010-01-04\", \"end_date\": \"2020-12-31\", \"cost_bps\": 5}";

static void backtest_run_read_list(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *run = call(fx, "POST", "/api/v1/backtests", fx->token, sma_switch, &status);
    assert_non_null(run);
    if (status != 201)
        fail_msg("POST /backtests answered %ld: %s", status, json_dumps(run, 0));
    json_int_t id = json_integer_value(json_object_get(run, "id"));
    assert_true(id > 0);
    json_t *window = json_object_get(run, "window");
    assert_string_equal(json_string_value(json_object_get(window, "start")), "2010-01-04");
    assert_string_equal(json_string_value(json_object_get(window, "end")), "2020-12-31");
    json_t *metrics = json_object_get(run, "metrics");
    assert_true(json_is_number(json_object_get(metrics, "total_return")));
    assert_true(json_is_number(json_object_get(metrics, "sharpe")));
    json_t *curve = json_object_get(run, "equity_curve");
    assert_true(json_array_size(curve) > 2700);
    assert_true(json_array_size(json_object_get(run, "positions")) > 0);
    assert_true(json_is_object(json_object_get(run, "timing")));

    char path[64];
    snprintf(path, sizeof path, "/api/v1/backtests/%lld", (long long)id);
    json_t *stored = call(fx, "GET", path, fx->token, NULL, &status);
    assert_int_equal(status, 200);
    assert_true(json_equal(json_object_get(stored, "metrics"), metrics));
    assert_true(json_equal(json_object_get(stored, "equity_curve"), curve));
    assert_true(json_equal(json_object_get(stored, "window"), window));
    json_decref(stored);

    /* Another user cannot see it. */
    json_t *hidden = call(fx, "GET", path, fx->other_token, NULL, &status);
    assert_int_equal(status, 404);
    json_decref(hidden);

    json_t *list = call(fx, "GET", "/api/v1/backtests?limit=5", fx->token, NULL, &status);
    assert_int_equal(status, 200);
    json_t *first = json_array_get(json_object_get(list, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "id")), id);
    assert_null(json_object_get(first, "equity_curve"));
    json_decref(list);
    list = call(fx, "GET", "/api/v1/backtests", fx->other_token, NULL, &status);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
    json_decref(run);
}

static void backtest_bad_input(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *doc = call(fx, "POST", "/api/v1/backtests", fx->token,
                       "{\"strategy\": [{\"type\": \"gate\", \"conditions\": [{\"ticker\": "
                       "\"SPY\", \"indicator\": \"RSI\", \"operator\": \"gt\", \"compareTo\": "
                       "\"threshold\", \"threshold\": \"50abc\"}], \"thenChildren\": [{\"type\": "
                       "\"ticker\", \"ticker\": \"SPY\"}], \"elseChildren\": []}]}",
                       &status);
    assert_int_equal(status, 400);
    assert_error_code(doc, "validation_failed");
    char *text = json_dumps(doc, 0);
    assert_non_null(strstr(text, "threshold"));
    free(text);
    json_decref(doc);

    doc = call(fx, "POST", "/api/v1/backtests", fx->token, "{\"strategy\": [], \"bogus\": 1}",
               &status);
    assert_int_equal(status, 400);
    assert_error_code(doc, "validation_failed");
    json_decref(doc);

    doc = call(fx, "POST", "/api/v1/backtests", fx->token, "{\"strategy\": ", &status);
    assert_int_equal(status, 400);
    json_decref(doc);

    /* A symbol Lever has no bars for is named. */
    doc = call(fx, "POST", "/api/v1/backtests", fx->token,
               "{\"strategy\": [{\"type\": \"ticker\", \"ticker\": \"ZZZZ\"}]}", &status);
    assert_int_equal(status, 422);
    text = json_dumps(doc, 0);
    assert_non_null(strstr(text, "ZZZZ"));
    free(text);
    json_decref(doc);
}

static void validate_lists_problems(void **state)
{
    struct fixture *fx = *state;
    long status;
    json_t *doc = call(fx, "POST", "/api/v1/validate", fx->token,
                       "{\"elements\": [{\"type\": \"sort\", \"count\": 0, \"indicator\": "
                       "\"NOPE\", \"children\": []}]}",
                       &status);
    assert_int_equal(status, 200);
    assert_false(json_is_true(json_object_get(doc, "valid")));
    assert_true(json_array_size(json_object_get(doc, "problems")) >= 2);
    json_decref(doc);
    doc = call(fx, "POST", "/api/v1/validate", fx->token,
               "[{\"type\": \"ticker\", \"ticker\": \"spy\"}]", &status);
    assert_int_equal(status, 200);
    assert_true(json_is_true(json_object_get(doc, "valid")));
    json_decref(doc);
}

/* Coverage per symbol, and synthetic data always named in a backtest's warnings. */
static void bars_coverage_and_synthetic_warning(void **state)
{
    struct fixture *fx = *state;
    char dir[] = "/tmp/lever-synx-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/SYNX.csv", dir);
    FILE *csv = fopen(path, "w");
    assert_non_null(csv);
    fputs("date,open,high,low,close,volume\n2024-01-02,10,11,9,10,100\n"
          "2024-01-03,10,12,10,11,100\n2024-01-04,11,12,10,12,100\n",
          csv);
    fclose(csv);
    const char *import[] = {"bars", "import", "--source", "synthetic", path, NULL};
    assert_int_equal(lever_run(import, NULL, NULL, 0, NULL, 0), 0);
    unlink(path);
    rmdir(dir);

    long status;
    json_t *doc = call(fx, "GET", "/api/v1/bars", fx->token, NULL, &status);
    assert_int_equal(status, 200);
    size_t i;
    json_t *item;
    int seen = 0;
    json_array_foreach(json_object_get(doc, "items"), i, item)
    {
        const char *symbol = json_string_value(json_object_get(item, "symbol"));
        if (strcmp(symbol, "SPY") == 0) {
            assert_false(json_is_true(json_object_get(item, "synthetic")));
            assert_string_equal(json_string_value(json_object_get(item, "first_day")),
                                "1993-01-29");
            seen++;
        } else if (strcmp(symbol, "SYNX") == 0) {
            assert_true(json_is_true(json_object_get(item, "synthetic")));
            assert_int_equal(json_integer_value(json_object_get(item, "bars")), 3);
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    json_decref(doc);

    doc = call(fx, "POST", "/api/v1/backtests", fx->token,
               "{\"strategy\": [{\"type\": \"ticker\", \"ticker\": \"SYNX\"}], "
               "\"benchmark_symbol\": \"SYNX\"}",
               &status);
    assert_int_equal(status, 201);
    char *text = json_dumps(json_object_get(doc, "warnings"), 0);
    assert_non_null(strstr(text, "synthetic sample data, not real prices: SYNX"));
    free(text);
    json_decref(doc);
}

/* SIGTERM: the server stops and exits 0 (run last: it stops the shared server). */
static void sigterm_exits_cleanly(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(lever_proc_stop(&fx->server), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthz_reports_database),
        cmocka_unit_test(routes_need_a_token),
        cmocka_unit_test(me_is_the_caller),
        cmocka_unit_test(unknown_routes_and_methods),
        cmocka_unit_test(backtest_run_read_list),
        cmocka_unit_test(backtest_bad_input),
        cmocka_unit_test(validate_lists_problems),
        cmocka_unit_test(bars_coverage_and_synthetic_warning),
        cmocka_unit_test(survives_database_restart),
        cmocka_unit_test(sigterm_exits_cleanly),
    };
    return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
