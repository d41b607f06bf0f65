/* test_batch_api.c — variable lists and batch jobs over HTTP on a real server with workers:
 * list CRUD and validation, batch validation (undefined/unused variables, bad values),
 * creation, progress, runs sorted and filtered, the streamed CSV, the heatmap, ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_call.h"
#include "http_client.h"
#include "lever_proc.h"

#define LISTS "/api/v1/variable-lists"
#define JOBS  "/api/v1/batch-jobs"

/* One gate on an RSI threshold between two tickers; $p feeds the period, $x the threshold. */
#define STRATEGY(risk)                                                                             \
    "{\"elements\": [{\"type\": \"gate\", \"conditions\": [{\"ticker\": \"" risk "\", "            \
    "\"indicator\": \"RSI\", \"params\": {\"period\": \"$p\"}, \"operator\": \"gt\", "             \
    "\"compareTo\": \"threshold\", \"threshold\": \"$x\"}], \"thenChildren\": [{\"type\": "        \
    "\"ticker\", \"ticker\": \"" risk "\"}], \"elseChildren\": [{\"type\": \"ticker\", "           \
    "\"ticker\": \"TLT\"}]}]}"

struct fixture {
    struct lever_proc server;
    char alice[128], bob[128];
};
static struct fixture fx;

static int setup(void **state)
{
    char etf[1024];
    snprintf(etf, sizeof etf, "%s/data/etf", lever_test_env("LEVER_SHARED"));
    const char *import[] = {"bars", "import", etf, NULL};
    if (lever_run(import, NULL, NULL, 0, NULL, 0) != 0)
        return -1;
    const char *env[] = {"LEVER_WORKERS=2", NULL};
    if (lever_proc_start(&fx.server, env) != 0 ||
        lever_create_user("batch-alice", fx.alice, sizeof fx.alice) < 0 ||
        lever_create_user("batch-bob", fx.bob, sizeof fx.bob) < 0)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lever_proc_stop(&fx.server);
    return 0;
}

static void variable_lists_crud_and_validation(void **state)
{
    (void)state;
    json_t *list = api_expect(&fx.server, fx.alice, "POST", LISTS,
                              "{\"name\": \"Risk\", \"type\": \"ticker\", \"values\": [\" spy\", "
                              "\"qqq\"], \"description\": \"risk assets\"}",
                              201);
    int id = (int)json_integer_value(json_object_get(list, "id"));
    assert_string_equal(json_string_value(json_object_get(list, "name")), "risk");
    assert_string_equal(json_string_value(json_array_get(json_object_get(list, "values"), 0)),
                        "SPY");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 2);
    json_decref(list);

    json_t *dup =
        api_expect(&fx.server, fx.alice, "POST", LISTS,
                   "{\"name\": \"risk\", \"type\": \"ticker\", \"values\": [\"IWM\"]}", 409);
    json_decref(dup);
    json_t *bad = api_expect(&fx.server, fx.alice, "POST", LISTS,
                             "{\"name\": \"periods\", \"type\": \"number\", \"values\": [\"14\", "
                             "\"x1\", 3, \"NaN\"]}",
                             400);
    assert_true(api_error_has(bad, "validation_failed", "/values/1"));
    assert_true(api_error_has(bad, "validation_failed", "/values/3"));
    assert_false(api_error_has(bad, "validation_failed", "/values/2"));
    json_decref(bad);
    bad = api_expect(&fx.server, fx.alice, "POST", LISTS,
                     "{\"name\": \"d\", \"type\": \"date\", \"values\": [\"2021-02-30\"]}", 400);
    assert_true(api_error_has(bad, "validation_failed", "/values/0"));
    json_decref(bad);
    bad = api_expect(&fx.server, fx.alice, "POST", LISTS,
                     "{\"name\": \"d\", \"type\": \"colour\", \"values\": []}", 400);
    assert_true(api_error_has(bad, "validation_failed", "/type"));
    json_decref(bad);

    char path[512];
    api_path(path, LISTS "/%d", id);
    json_decref(api_expect(&fx.server, fx.alice, "PUT", path,
                           "{\"name\": \"risk\", \"type\": \"ticker\", \"values\": [\"SPY\", "
                           "\"QQQ\", \"IWM\"]}",
                           200));
    json_t *got = api_expect(&fx.server, fx.alice, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(got, "values")), 3);
    json_decref(got);
    json_decref(api_expect(&fx.server, fx.bob, "GET", path, NULL, 404)); /* never revealed */
    json_decref(api_expect(&fx.server, fx.bob, "DELETE", path, NULL, 404));
    json_t *all = api_expect(&fx.server, fx.alice, "GET", LISTS "?type=ticker", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(all, "items")), 1);
    json_decref(all);
    json_t *none = api_expect(&fx.server, fx.bob, "GET", LISTS, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(none, "items")), 0);
    json_decref(none);

    json_decref(api_expect(&fx.server, fx.alice, "POST", LISTS,
                           "{\"name\": \"gone\", \"type\": \"number\", \"values\": [1]}", 201));
    long status;
    json_t *lists = api_call(&fx.server, fx.alice, "GET", LISTS, NULL, &status);
    json_t *gone = json_array_get(json_object_get(lists, "items"), 0);
    api_path(path, LISTS "/%d", (int)json_integer_value(json_object_get(gone, "id")));
    json_decref(lists);
    json_decref(api_call(&fx.server, fx.alice, "DELETE", path, NULL, &status));
    assert_int_equal(status, 204);
    json_decref(api_expect(&fx.server, fx.alice, "GET", path, NULL, 404));
}

static void batch_validation_names_offenders(void **state)
{
    (void)state;
    json_t *bad =
        api_expect(&fx.server, fx.alice, "POST", JOBS,
                   "{\"strategy\": " STRATEGY(
                       "SPY") ", \"variables\": [{\"name\": "
                              "\"p\", \"values\": [\"14\"]}, {\"name\": \"unused\", \"values\": "
                              "[\"1\"]}]}",
                   400);
    assert_true(
        api_error_has(bad, "validation_failed", "/strategy/elements/0/conditions/0/threshold"));
    assert_true(api_error_has(bad, "validation_failed", "/variables/1/name"));
    json_decref(bad);
    /* A period of 1 is below RSI's minimum: the value and its index are named. */
    bad = api_expect(
        &fx.server, fx.alice, "POST", JOBS,
        "{\"strategy\": " STRATEGY(
            "SPY") ", \"variables\": [{\"name\": \"p\", "
                   "\"values\": [\"14\", \"1\"]}, {\"name\": \"x\", \"values\": [\"50\"]}]}",
        400);
    assert_true(api_error_has(bad, "validation_failed", "/variables/0/values/1"));
    json_decref(bad);
    bad = api_expect(&fx.server, fx.alice, "POST", JOBS,
                     "{\"strategy\": " STRATEGY("SPY") ", \"variables\": [\"no_such_list\", "
                                                       "{\"name\": \"x\", \"values\": [\"50\"]}]}",
                     400);
    assert_true(api_error_has(bad, "validation_failed", "/variables/0"));
    json_decref(bad);
    assert_int_equal(db_long("SELECT count(*) FROM batch_jobs WHERE name = 'never'", NULL), 0);
}

static void wait_finished(const char *id)
{
    for (int i = 0; i < 1200; i++) {
        if (db_long("SELECT (status = 'finished')::int FROM batch_jobs WHERE id = $1", id))
            return;
        usleep(50 * 1000);
    }
    fail_msg("batch %s did not finish", id);
}

static void batch_runs_csv_and_heatmap(void **state)
{
    (void)state;
    json_decref(api_expect(&fx.server, fx.alice, "POST", LISTS,
                           "{\"name\": \"thresholds\", \"type\": \"number\", \"values\": [\"40\", "
                           "\"50\", \"60\"]}",
                           201));
    json_t *job =
        api_expect(&fx.server, fx.alice, "POST", JOBS,
                   "{\"name\": \"rsi sweep\", \"strategy\": " STRATEGY(
                       "SPY") ", \"start_date\": \"2010-01-01\", \"variables\": [{\"name\": "
                              "\"p\", \"values\": [\"7\", \"14\"]}, {\"name\": \"x\", \"list\": "
                              "\"thresholds\"}]}",
                   202);
    char id[64], path[512];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(job, "id")));
    assert_int_equal(json_integer_value(json_object_get(job, "total")), 6);
    assert_false(json_is_true(json_object_get(job, "truncated")));
    assert_int_equal(json_array_size(json_object_get(job, "assignments_preview")), 6);
    assert_string_equal(json_string_value(json_object_get(job, "csv_url")),
                        api_path(path, JOBS "/%s/runs.csv", id));
    assert_string_equal(json_string_value(json_object_get(job, "start_date")), "2010-01-01");
    json_decref(job);
    wait_finished(id);

    job = api_expect(&fx.server, fx.alice, "GET", api_path(path, JOBS "/%s", id), NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(job, "completed")), 6);
    json_t *summary = json_object_get(job, "summary");
    assert_int_equal(json_integer_value(json_object_get(summary, "succeeded")), 6);
    assert_non_null(json_object_get(json_object_get(summary, "best"), "variables"));
    double best = json_number_value(json_object_get(
        json_object_get(json_object_get(summary, "best"), "metrics"), "total_return"));
    json_decref(job);
    json_decref(api_expect(&fx.server, fx.bob, "GET", path, NULL, 404));

    json_t *runs =
        api_expect(&fx.server, fx.alice, "GET",
                   api_path(path, JOBS "/%s/runs?sort=-total_return&limit=2", id), NULL, 200);
    json_t *items = json_object_get(runs, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(json_integer_value(json_object_get(runs, "total")), 6);
    json_t *top = json_object_get(json_array_get(items, 0), "metrics");
    json_t *second = json_object_get(json_array_get(items, 1), "metrics");
    assert_true(json_number_value(json_object_get(top, "total_return")) ==
                best); /* same run as the summary's best */
    assert_true(json_number_value(json_object_get(top, "total_return")) >=
                json_number_value(json_object_get(second, "total_return")));
    json_decref(runs);
    char where[512];
    snprintf(where, sizeof where, JOBS "/%s/runs?where=total_return>=%.17g", id, best);
    runs = api_expect(&fx.server, fx.alice, "GET", where, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(runs, "total")), 1);
    json_decref(runs);
    json_decref(api_expect(&fx.server, fx.alice, "GET",
                           api_path(path, JOBS "/%s/runs?where=total_return~1", id), NULL, 400));

    /* The CSV: header, one row per run in run_index order, CRLF line ends. */
    char url[512];
    snprintf(url, sizeof url, "%s" JOBS "/%s/runs.csv", fx.server.base_url, id);
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.alice);
    const char *headers[] = {auth, NULL};
    struct http_client_request request = {.url = url, .headers = headers};
    struct http_client_response response;
    assert_int_equal(http_client_send(&request, &response, NULL, 0), 0);
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(http_client_header(&response, "Content-Type"), "text/csv"));
    assert_true(strncmp(response.body, "run_index,p,x,total_return,cagr,", 32) == 0);
    assert_non_null(strstr(response.body, "\r\n0,7,40,"));
    assert_non_null(strstr(response.body, "\r\n5,14,60,"));
    int lines = 0;
    for (const char *c = response.body; (c = strstr(c, "\r\n")) != NULL; c += 2)
        lines++;
    assert_int_equal(lines, 7);
    http_client_response_free(&response);

    json_t *map =
        api_expect(&fx.server, fx.alice, "GET",
                   api_path(path, JOBS "/%s/heatmap?x=x&y=p&metric=sharpe", id), NULL, 200);
    json_t *values = json_object_get(map, "values");
    assert_int_equal(json_array_size(values), 2);                    /* rows: p */
    assert_int_equal(json_array_size(json_array_get(values, 0)), 3); /* columns: x */
    assert_true(json_is_number(json_array_get(json_array_get(values, 1), 2)));
    assert_int_equal(json_array_size(json_object_get(map, "aggregated_over")), 0);
    json_decref(map);
    json_decref(api_expect(&fx.server, fx.alice, "GET",
                           api_path(path, JOBS "/%s/heatmap?x=x&y=zz", id), NULL, 400));

    json_t *list = api_expect(&fx.server, fx.alice, "GET", JOBS "?status=finished", NULL, 200);
    assert_true(json_array_size(json_object_get(list, "items")) >= 1);
    json_decref(list);
    list = api_expect(&fx.server, fx.bob, "GET", JOBS, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
    json_decref(api_expect(&fx.server, fx.alice, "GET", JOBS "?status=done", NULL, 400));
}

/* A date variable feeds start_date; each run's window starts there. */
static void date_variables_move_the_window(void **state)
{
    (void)state;
    json_t *job = api_expect(&fx.server, fx.alice, "POST", JOBS,
                             "{\"strategy\": {\"elements\": [{\"type\": \"ticker\", \"ticker\": "
                             "\"SPY\"}]}, \"start_date\": \"$from\", \"variables\": [{\"name\": "
                             "\"from\", \"values\": [\"2010-01-04\", \"2020-01-02\"]}]}",
                             202);
    char id[64], path[512];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(job, "id")));
    assert_true(json_is_null(json_object_get(job, "start_date")));
    json_decref(job);
    wait_finished(id);
    json_t *runs =
        api_expect(&fx.server, fx.alice, "GET", api_path(path, JOBS "/%s/runs", id), NULL, 200);
    json_t *items = json_object_get(runs, "items");
    double early = json_number_value(
        json_object_get(json_object_get(json_array_get(items, 0), "metrics"), "total_return"));
    double late = json_number_value(
        json_object_get(json_object_get(json_array_get(items, 1), "metrics"), "total_return"));
    assert_true(early > late); /* SPY grew more from 2010 than from 2020 */
    json_decref(runs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(variable_lists_crud_and_validation),
        cmocka_unit_test(batch_validation_names_offenders),
        cmocka_unit_test(batch_runs_csv_and_heatmap),
        cmocka_unit_test(date_variables_move_the_window),
    };
    return cmocka_run_group_tests_name("batch_api", tests, setup, teardown);
}
