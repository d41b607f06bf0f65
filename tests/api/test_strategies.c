/* test_strategies.c — the strategy library end to end on a real server: create, read, list
 * (filters, sort, pages), replace, patch, delete, duplicate, export/import, public sharing,
 * and bad input that must be refused with every problem named and nothing stored. */
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

#include "api_call.h"
#include "http_client.h"
#include "lever_proc.h"

#define STRATEGIES "/api/v1/strategies"

/* A valid one-ticker strategy and a gate whose second condition has a bad threshold. */
#define ONE_TICKER "[{\"type\": \"ticker\", \"ticker\": \"spy\"}]"
#define GATE(threshold)                                                                            \
    "[{\"type\": \"gate\", \"conditionMode\": \"if_all\", \"conditions\": ["                       \
    "{\"ticker\": \"SPY\", \"indicator\": \"RSI\", \"params\": {\"period\": \"14\"}, "             \
    "\"operator\": \"gt\", \"compareTo\": \"threshold\", \"threshold\": \"50\"}, "                 \
    "{\"ticker\": \"SPY\", \"indicator\": \"RSI\", \"params\": {\"period\": \"14\"}, "             \
    "\"operator\": \"gt\", \"compareTo\": \"threshold\", \"threshold\": \"" threshold "\"}], "     \
    "\"thenChildren\": [{\"type\": \"ticker\", \"ticker\": \"SPY\"}], "                            \
    "\"elseChildren\": [{\"type\": \"ticker\", \"ticker\": \"TLT\"}]}]"

struct fixture {
    struct lever_proc server;
    char alice[128]; /* tokens */
    char bob[128];
    char alice_id[16];
};

static struct fixture fx;

static int setup(void **state)
{
    if (lever_proc_start(&fx.server, NULL) != 0)
        return -1;
    int alice = lever_create_user("lib-alice", fx.alice, sizeof fx.alice);
    if (alice < 0 || lever_create_user("lib-bob", fx.bob, sizeof fx.bob) < 0)
        return -1;
    snprintf(fx.alice_id, sizeof fx.alice_id, "%d", alice);
    *state = &fx;
    return 0;
}

/* The server must stop cleanly: a crash or (under ASan) a leak makes it exit non-zero. */
static int teardown(void **state)
{
    (void)state;
    return lever_proc_stop_clean(&fx.server);
}

static long alice_strategies(void)
{
    return db_long("SELECT count(*) FROM strategies WHERE user_id = $1::int", fx.alice_id);
}

/* Creates a strategy from a JSON body and returns its id. */
static int create(const char *token, const char *body)
{
    json_t *doc = api_expect(&fx.server, token, "POST", STRATEGIES, body, 201);
    int id = (int)json_integer_value(json_object_get(doc, "id"));
    assert_true(id > 0);
    json_decref(doc);
    return id;
}

static int create_named(const char *token, const char *name, const char *extra)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"name\": \"%s\", \"elements\": " ONE_TICKER "%s%s}", name,
             extra != NULL ? ", " : "", extra != NULL ? extra : "");
    return create(token, body);
}

static const char *str(const json_t *doc, const char *key)
{
    const char *value = json_string_value(json_object_get(doc, key));
    return value != NULL ? value : "(not a string)";
}

static void create_normalises_and_reads_back(void **state)
{
    (void)state;
    long status;
    json_t *doc = api_call(&fx.server, fx.alice, "POST", STRATEGIES,
                           "{\"name\": \"  Momentum  \", \"description\": \"line one\\nline two\", "
                           "\"elements\": " ONE_TICKER ", \"benchmark_symbol\": \"qqq\", "
                           "\"start_date\": \"2015-01-02\", \"end_date\": \"max\", "
                           "\"tags\": [\"trend\", \"etf\", \"trend\"], \"is_public\": false}",
                           &status);
    assert_int_equal(status, 201);
    assert_string_equal(str(doc, "name"), "Momentum");
    assert_string_equal(str(doc, "description"), "line one\nline two");
    assert_string_equal(str(doc, "benchmark_symbol"), "QQQ");
    assert_string_equal(str(doc, "start_date"), "2015-01-02");
    assert_true(json_is_null(json_object_get(doc, "end_date")));
    json_t *tags = json_object_get(doc, "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "trend");
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "etf");
    assert_true(json_is_true(json_object_get(doc, "is_owner")));
    assert_true(json_is_false(json_object_get(doc, "is_archived")));
    assert_int_equal(json_array_size(json_object_get(doc, "warnings")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "elements")), 1);
    int id = (int)json_integer_value(json_object_get(doc, "id"));

    char path[512];
    json_t *read =
        api_expect(&fx.server, fx.alice, "GET", api_path(path, STRATEGIES "/%d", id), NULL, 200);
    json_object_del(doc, "warnings"); /* only write answers carry warnings */
    assert_true(json_equal(doc, read));
    json_decref(read);
    json_decref(doc);

    /* Defaults: SPY, no dates, no tags, private. */
    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES,
                     "{\"name\": \"defaults\", \"elements\": " ONE_TICKER "}", 201);
    assert_string_equal(str(doc, "benchmark_symbol"), "SPY");
    assert_true(json_is_null(json_object_get(doc, "start_date")));
    assert_int_equal(json_array_size(json_object_get(doc, "tags")), 0);
    assert_true(json_is_false(json_object_get(doc, "is_public")));
    json_decref(doc);
}

/* strategy-language.md §2: every problem at once, each with its path in the request body. */
static void validation_lists_every_problem(void **state)
{
    (void)state;
    long before = alice_strategies();
    json_t *doc = api_expect(
        &fx.server, fx.alice, "POST", STRATEGIES,
        "{\"name\": \"\", \"elements\": " GATE("50abc") ", \"benchmark_symbol\": \"S P Y\", "
                                                        "\"start_date\": \"2020-02-30\", \"tags\": "
                                                        "[\"ok\", 7], \"is_public\": \"yes\", "
                                                        "\"colour\": \"red\"}",
        400);
    assert_true(api_error_has(doc, "validation_failed", "/elements/0/conditions/1/threshold"));
    assert_true(api_error_has(doc, "validation_failed", "/name"));
    assert_true(api_error_has(doc, "validation_failed", "/benchmark_symbol"));
    assert_true(api_error_has(doc, "validation_failed", "/start_date"));
    assert_true(api_error_has(doc, "validation_failed", "/tags/1"));
    assert_true(api_error_has(doc, "validation_failed", "/is_public"));
    assert_true(api_error_has(doc, "validation_failed", "/colour"));
    assert_false(api_error_has(doc, "validation_failed", "/tags/0"));
    json_decref(doc);

    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES, "{\"description\": \"x\"}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/name"));
    assert_true(api_error_has(doc, "validation_failed", "/elements"));
    json_decref(doc);

    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES,
                     "{\"name\": \"empty\", \"elements\": [], \"start_date\": \"2020-01-02\", "
                     "\"end_date\": \"2019-01-02\"}",
                     400);
    assert_true(api_error_has(doc, "validation_failed", "/elements"));
    assert_true(api_error_has(doc, "validation_failed", "/end_date"));
    json_decref(doc);
    assert_int_equal(alice_strategies(), before);
}

/* Weights are relative: a sum other than 100 is stored with a warning. $variables are kept
 * for batch jobs, with a warning too. */
static void warnings_come_back(void **state)
{
    (void)state;
    json_t *doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES,
                             "{\"name\": \"halves\", \"elements\": ["
                             "{\"type\": \"ticker\", \"ticker\": \"SPY\", \"weight\": \"1\"}, "
                             "{\"type\": \"ticker\", \"ticker\": \"TLT\", \"weight\": \"1\"}]}",
                             201);
    json_t *warnings = json_object_get(doc, "warnings");
    assert_true(json_array_size(warnings) >= 1);
    assert_int_equal(strncmp(str(json_array_get(warnings, 0), "path"), "/elements", 9), 0);
    json_decref(doc);

    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES,
                     "{\"name\": \"template\", \"elements\": "
                     "[{\"type\": \"ticker\", \"ticker\": \"$asset\"}]}",
                     201);
    warnings = json_object_get(doc, "warnings");
    assert_int_equal(json_array_size(warnings), 1);
    assert_string_equal(str(json_array_get(warnings, 0), "path"), "/elements/0/ticker");
    assert_non_null(strstr(str(json_array_get(warnings, 0), "message"), "$asset"));
    json_decref(doc);
}

/* Malformed, oversized and hostile input: 4xx naming the field, nothing stored. */
static void hostile_input_is_refused(void **state)
{
    (void)state;
    long before = alice_strategies();
    size_t huge_len = 200000;
    char *huge = malloc(huge_len + 256);
    assert_non_null(huge);
    int n = snprintf(huge, 256, "{\"elements\": " ONE_TICKER ", \"name\": \"");
    memset(huge + n, 'x', huge_len);
    strcpy(huge + n + huge_len, "\"}");
    json_t *doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES, huge, 400);
    assert_true(api_error_has(doc, "validation_failed", "/name"));
    json_decref(doc);
    /* a description one character over its limit of 10,000 */
    snprintf(huge, huge_len + 256,
             "{\"name\": \"n\", \"elements\": " ONE_TICKER ", \"description\": \"%0*d\"}", 10001,
             0);
    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES, huge, 400);
    assert_true(api_error_has(doc, "validation_failed", "/description"));
    json_decref(doc);
    free(huge);

    static const struct {
        const char *body;
        const char *path; /* NULL: any 4xx without a path to check */
        long status;
    } cases[] = {
        {"[1, 2]", "", 400},
        {"\"name\"", "", 400},
        {"{\"name\": 5, \"elements\": " ONE_TICKER "}", "/name", 400},
        {"{\"name\": \"a\", \"elements\": \"[]\"}", "/elements", 400},
        {"{\"name\": \"a\", \"elements\": {\"type\": \"ticker\"}}", "/elements", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"tags\": \"x\"}", "/tags", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"is_archived\": 1}", "/is_archived",
         400},
        {"{\"name\": \"a\\u0007b\", \"elements\": " ONE_TICKER "}", "/name", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"user_id\": 1}", "/user_id", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"id\": 1}", "/id", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"benchmarkSymbol\": \"QQQ\"}",
         "/benchmarkSymbol", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"a/b~c\": 1}", "/a~1b~0c", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"start_date\": \"1850-01-01\"}",
         "/start_date", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"start_date\": 20200101}", "/start_date",
         400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ", \"benchmark_symbol\": \"SPY'; --\"}",
         "/benchmark_symbol", 400},
        {"{\"name\": \"a\", \"elements\": [{\"type\": \"ticker\", \"ticker\": \"SPY\", "
         "\"weight\": \"1; DROP TABLE strategies\"}]}",
         "/elements/0/weight", 400},
        {"{\"name\": \"a\", \"elements\": " ONE_TICKER ",}", NULL, 400}, /* malformed JSON */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long status;
        doc = api_call(&fx.server, fx.alice, "POST", STRATEGIES, cases[i].body, &status);
        if (status != cases[i].status)
            fail_msg("case %zu (%s): status %ld", i, cases[i].body, status);
        const char *code = cases[i].path != NULL ? "validation_failed" : "invalid_json";
        if (!api_error_has(doc, code, cases[i].path))
            fail_msg("case %zu (%s): no %s problem at %s", i, cases[i].body, code,
                     cases[i].path != NULL ? cases[i].path : "(any)");
        json_decref(doc);
    }
    assert_int_equal(alice_strategies(), before);

    /* SQL in a name is just a name. */
    doc = api_expect(
        &fx.server, fx.alice, "POST", STRATEGIES,
        "{\"name\": \"x'); DELETE FROM strategies; --\", \"elements\": " ONE_TICKER "}", 201);
    assert_string_equal(str(doc, "name"), "x'); DELETE FROM strategies; --");
    json_decref(doc);
    assert_int_equal(alice_strategies(), before + 1);
}

/* The tag is unique to this run: other runs' public strategies stay out of the counts. */
static void list_filters_sorts_and_pages(void **state)
{
    (void)state;
    char tag[64], extra[128], query[512];
    snprintf(tag, sizeof tag, "listing-%d", (int)getpid());
    snprintf(extra, sizeof extra, "\"tags\": [\"%s\"]", tag);
    create_named(fx.alice, "Bravo", extra);
    create_named(fx.alice, "alpha", extra);
    snprintf(extra, sizeof extra, "\"tags\": [\"%s\"], \"is_archived\": true", tag);
    create_named(fx.alice, "Charlie old", extra);
    snprintf(extra, sizeof extra, "\"tags\": [\"%s\"], \"is_public\": true", tag);
    create_named(fx.bob, "Delta public", extra);
    snprintf(extra, sizeof extra, "\"tags\": [\"%s\"]", tag);
    create_named(fx.bob, "Echo private", extra);

    json_t *page = api_expect(&fx.server, fx.alice, "GET",
                              api_path(query, STRATEGIES "?tag=%s&sort=name", tag), NULL, 200);
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_integer_value(json_object_get(page, "total")), 2);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(str(json_array_get(items, 0), "name"), "alpha");
    assert_string_equal(str(json_array_get(items, 1), "name"), "Bravo");
    assert_null(json_object_get(json_array_get(items, 0), "elements"));
    json_decref(page);

    page = api_expect(
        &fx.server, fx.alice, "GET",
        api_path(query, STRATEGIES "?tag=%s&sort=-name&archived=all&public=true", tag), NULL, 200);
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 4); /* Echo is Bob's and private */
    assert_string_equal(str(json_array_get(items, 0), "name"), "Delta public");
    assert_true(json_is_false(json_object_get(json_array_get(items, 0), "is_owner")));
    assert_string_equal(str(json_array_get(items, 1), "name"), "Charlie old");
    json_decref(page);

    page = api_expect(&fx.server, fx.alice, "GET",
                      api_path(query, STRATEGIES "?tag=%s&archived=true", tag), NULL, 200);
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "name"), "Charlie old");
    json_decref(page);

    page = api_expect(&fx.server, fx.alice, "GET", STRATEGIES "?q=ALPH&archived=all", NULL, 200);
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "name"), "alpha");
    json_decref(page);

    /* Pages: created_at order, two then one, total stays 3. */
    page = api_expect(
        &fx.server, fx.alice, "GET",
        api_path(query, STRATEGIES "?tag=%s&archived=all&sort=created_at&limit=2", tag), NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(page, "total")), 3);
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(str(json_array_get(items, 0), "name"), "Bravo");
    json_decref(page);
    page = api_expect(
        &fx.server, fx.alice, "GET",
        api_path(query, STRATEGIES "?tag=%s&archived=all&sort=created_at&limit=2&offset=2", tag),
        NULL, 200);
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(json_array_get(items, 0), "name"), "Charlie old");
    assert_int_equal(json_integer_value(json_object_get(page, "offset")), 2);
    json_decref(page);

    static const struct {
        const char *query;
        const char *path;
    } bad[] = {
        {"?limit=1001", "?limit"},
        {"?limit=0", "?limit"},
        {"?offset=-1", "?offset"},
        {"?sort=name;DROP%20TABLE%20x", "?sort"},
        {"?archived=maybe", "?archived"},
        {"?public=1", "?public"},
        {"?q=%FF%FE", "?q"},
        {"?limit=abc", "?limit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        json_t *doc = api_expect(&fx.server, fx.alice, "GET",
                                 api_path(path, STRATEGIES "%s", bad[i].query), NULL, 400);
        if (!api_error_has(doc, "bad_request", bad[i].path))
            fail_msg("%s: no problem at %s", bad[i].query, bad[i].path);
        json_decref(doc);
    }
}

static void replace_and_patch(void **state)
{
    (void)state;
    int id = create_named(fx.alice, "Patchable",
                          "\"tags\": [\"a\"], \"description\": \"d\", \"start_date\": "
                          "\"2016-01-04\", \"end_date\": \"2020-12-31\"");
    char path[512];
    api_path(path, STRATEGIES "/%d", id);

    json_t *doc = api_expect(&fx.server, fx.alice, "PATCH", path,
                             "{\"tags\": [\"b\"], \"is_archived\": true}", 200);
    assert_string_equal(str(doc, "name"), "Patchable");
    assert_string_equal(str(doc, "description"), "d");
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "tags"), 0)), "b");
    assert_true(json_is_true(json_object_get(doc, "is_archived")));
    assert_string_equal(str(doc, "end_date"), "2020-12-31");
    json_decref(doc);

    /* A PATCH of one date is checked against the stored other one. */
    doc = api_expect(&fx.server, fx.alice, "PATCH", path, "{\"start_date\": \"2021-01-04\"}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/start_date"));
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "PATCH", path, "{\"elements\": " GATE("x") "}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/elements/0/conditions/1/threshold"));
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "PATCH", path, "{\"owner\": 2}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/owner"));
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "GET", path, NULL, 200);
    assert_string_equal(str(doc, "start_date"), "2016-01-04");
    json_decref(doc);

    /* PUT replaces: what is not sent goes back to its default. */
    doc = api_expect(&fx.server, fx.alice, "PUT", path,
                     "{\"name\": \"Replaced\", \"elements\": " GATE("55") "}", 200);
    assert_string_equal(str(doc, "name"), "Replaced");
    assert_true(json_is_null(json_object_get(doc, "description")));
    assert_true(json_is_null(json_object_get(doc, "start_date")));
    assert_int_equal(json_array_size(json_object_get(doc, "tags")), 0);
    assert_true(json_is_false(json_object_get(doc, "is_archived")));
    assert_string_equal(str(json_array_get(json_object_get(doc, "elements"), 0), "type"), "gate");
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "PUT", path, "{\"name\": \"No elements\"}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/elements"));
    json_decref(doc);
}

static void ids_that_are_not_ids(void **state)
{
    (void)state;
    static const char *const ids[] = {"abc",         "0",          "-1",  "1e3",         "+5",
                                      "99999999999", "2147483648", "007", "1%20OR%201=1"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char path[512];
        json_t *doc = api_expect(&fx.server, fx.alice, "GET",
                                 api_path(path, STRATEGIES "/%s", ids[i]), NULL, 404);
        json_decref(doc);
        doc = api_expect(&fx.server, fx.alice, "PATCH", path, "{}", 404);
        json_decref(doc);
    }
}

static void public_strategies_are_read_only_for_others(void **state)
{
    (void)state;
    int shared = create_named(fx.bob, "Bob shared", "\"is_public\": true");
    int secret = create_named(fx.bob, "Bob secret", NULL);
    char path[512];

    json_t *doc = api_expect(&fx.server, fx.alice, "GET", api_path(path, STRATEGIES "/%d", shared),
                             NULL, 200);
    assert_true(json_is_false(json_object_get(doc, "is_owner")));
    json_decref(doc);
    json_decref(api_expect(&fx.server, fx.alice, "PATCH", path, "{\"name\": \"mine\"}", 403));
    json_decref(api_expect(&fx.server, fx.alice, "PUT", path,
                           "{\"name\": \"mine\", \"elements\": " ONE_TICKER "}", 403));
    json_decref(api_expect(&fx.server, fx.alice, "DELETE", path, NULL, 403));
    json_decref(api_expect(&fx.server, fx.alice, "GET",
                           api_path(path, STRATEGIES "/%d/export", shared), NULL, 200));

    /* Duplicating a public strategy gives Alice her own private copy. */
    long before = alice_strategies();
    doc = api_expect(&fx.server, fx.alice, "POST",
                     api_path(path, STRATEGIES "/%d/duplicate", shared), NULL, 201);
    assert_string_equal(str(doc, "name"), "Bob shared (copy)");
    assert_true(json_is_true(json_object_get(doc, "is_owner")));
    assert_true(json_is_false(json_object_get(doc, "is_public")));
    json_decref(doc);
    assert_int_equal(alice_strategies(), before + 1);

    /* Bob's private strategy does not exist for Alice, whatever she does. */
    static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < 4; i++) {
        doc = api_expect(
            &fx.server, fx.alice, methods[i], api_path(path, STRATEGIES "/%d", secret),
            i == 0 || i == 3 ? NULL : "{\"name\": \"x\", \"elements\": " ONE_TICKER "}", 404);
        assert_true(json_is_object(json_object_get(doc, "error")));
        json_decref(doc);
    }
    json_decref(api_expect(&fx.server, fx.alice, "POST",
                           api_path(path, STRATEGIES "/%d/duplicate", secret), NULL, 404));
    json_decref(api_expect(&fx.server, fx.alice, "GET",
                           api_path(path, STRATEGIES "/%d/export", secret), NULL, 404));
    json_decref(
        api_expect(&fx.server, fx.bob, "GET", api_path(path, STRATEGIES "/%d", secret), NULL, 200));
    assert_int_equal(alice_strategies(), before + 1);
}

static void duplicate_names_the_copy(void **state)
{
    (void)state;
    int id = create_named(fx.alice, "Original", "\"tags\": [\"dup\"]");
    char path[512];
    api_path(path, STRATEGIES "/%d/duplicate", id);
    json_t *doc = api_expect(&fx.server, fx.alice, "POST", path, "{\"name\": \"Second\"}", 201);
    assert_string_equal(str(doc, "name"), "Second");
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "tags"), 0)), "dup");
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "POST", path, "{\"is_public\": true}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/is_public"));
    json_decref(doc);
}

static void export_then_import(void **state)
{
    (void)state;
    int id = create_named(fx.alice, "Exported",
                          "\"tags\": [\"io\"], \"benchmark_symbol\": \"TLT\", \"description\": "
                          "\"round trip\", \"start_date\": \"2018-01-02\"");
    char path[512], url[512];
    snprintf(url, sizeof url, "%s" STRATEGIES "/%d/export", fx.server.base_url, id);
    struct http_client_response res;
    assert_int_equal(http_client_json("GET", url, fx.alice, NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(http_client_header(&res, "Content-Disposition"), "attachment"));
    json_t *exported = json_loads(res.body, 0, NULL);
    http_client_response_free(&res);
    assert_non_null(exported);
    assert_null(json_object_get(exported, "id"));
    assert_string_equal(str(exported, "name"), "Exported");

    char *text = json_dumps(exported, JSON_COMPACT);
    json_t *imported = api_expect(&fx.server, fx.alice, "POST", STRATEGIES "/import", text, 201);
    free(text);
    static const char *const same[] = {"name",     "description", "benchmark_symbol", "start_date",
                                       "end_date", "tags",        "elements"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_true(
            json_equal(json_object_get(exported, same[i]), json_object_get(imported, same[i])));
    assert_int_not_equal(json_integer_value(json_object_get(imported, "id")), id);
    json_decref(imported);
    json_decref(exported);

    /* A bare elements array. */
    imported = api_expect(&fx.server, fx.alice, "POST", STRATEGIES "/import", ONE_TICKER, 201);
    assert_string_equal(str(imported, "name"), "Imported strategy");
    json_decref(imported);

    /* The builder's document: camelCase fields and UI state, which is ignored. */
    imported = api_expect(&fx.server, fx.alice, "POST", STRATEGIES "/import",
                          "{\"name\": \"KMLM\", \"versioningEnabled\": false, \"version\": "
                          "{\"major\": 1, \"minor\": 0, \"patch\": 0, \"fork\": \"\"}, "
                          "\"benchmarkSymbol\": \"qqq\", \"startDate\": \"2019-01-02\", "
                          "\"endDate\": \"max\", \"nameBarExpanded\": true, \"is_public\": true, "
                          "\"elements\": " ONE_TICKER "}",
                          201);
    assert_string_equal(str(imported, "benchmark_symbol"), "QQQ");
    assert_string_equal(str(imported, "start_date"), "2019-01-02");
    assert_true(json_is_false(json_object_get(imported, "is_public")));
    json_decref(imported);

    /* A wrapper: problems point inside it; nothing is stored. */
    long before = alice_strategies();
    json_t *doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES "/import",
                             "{\"exportedAt\": \"2025-01-01\", \"strategy\": {\"name\": 3, "
                             "\"elements\": " GATE("NaN") "}}",
                             400);
    assert_true(
        api_error_has(doc, "validation_failed", "/strategy/elements/0/conditions/1/threshold"));
    assert_true(api_error_has(doc, "validation_failed", "/strategy/name"));
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES "/import", "{\"name\": \"x\"}", 400);
    assert_true(api_error_has(doc, "validation_failed", "/elements"));
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "POST", STRATEGIES "/import", "42", 400);
    assert_true(api_error_has(doc, "validation_failed", ""));
    json_decref(doc);
    assert_int_equal(alice_strategies(), before);
    (void)path;
}

static void delete_keeps_deployed_strategies(void **state)
{
    (void)state;
    int id = create_named(fx.alice, "Deployed", NULL);
    char path[512], id_text[16];
    snprintf(id_text, sizeof id_text, "%d", id);
    db_exec("INSERT INTO active_strategies (user_id, strategy_id, mode, initial_capital) "
            "SELECT user_id, id, 'paper', 1000 FROM strategies WHERE id = $1::int",
            id_text);
    api_path(path, STRATEGIES "/%d", id);
    json_t *doc = api_expect(&fx.server, fx.alice, "DELETE", path, NULL, 409);
    assert_true(api_error_has(doc, "strategy_deployed", NULL));
    json_decref(doc);
    db_exec("UPDATE active_strategies SET status = 'stopped' WHERE strategy_id = $1::int", id_text);
    doc = api_expect(&fx.server, fx.alice, "DELETE", path, NULL, 204);
    assert_null(doc);
    json_decref(api_expect(&fx.server, fx.alice, "GET", path, NULL, 404));
    json_decref(api_expect(&fx.server, fx.alice, "DELETE", path, NULL, 404));
    assert_int_equal(db_long("SELECT count(*) FROM strategies WHERE id = $1::int", id_text), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_normalises_and_reads_back),
        cmocka_unit_test(validation_lists_every_problem),
        cmocka_unit_test(warnings_come_back),
        cmocka_unit_test(hostile_input_is_refused),
        cmocka_unit_test(list_filters_sorts_and_pages),
        cmocka_unit_test(replace_and_patch),
        cmocka_unit_test(ids_that_are_not_ids),
        cmocka_unit_test(public_strategies_are_read_only_for_others),
        cmocka_unit_test(duplicate_names_the_copy),
        cmocka_unit_test(export_then_import),
        cmocka_unit_test(delete_keeps_deployed_strategies),
    };
    return cmocka_run_group_tests_name("strategies", tests, setup, teardown);
}
