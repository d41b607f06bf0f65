/* test_isolation.c — per-user isolation, proven route by route: Bob walks EVERY /api/v1 route
 * of the real route table against Alice's objects and must get 404 (403 for a write on her
 * public strategy), never a byte of her data, and must leave her objects untouched.
 *
 * The table below has one entry per route. The test enumerates the router itself and fails
 * when a route has no entry (or an entry no route), so a route added later cannot skip the
 * check: add its entry, with an object of Alice's to aim at if it takes one. */
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

#include "api/app.h"
#include "api_call.h"
#include "http_client.h"
#include "http/router.h"
#include "lever_proc.h"

/* Alice's private objects all carry this in a name or description; no answer Bob gets may
 * contain it. Her public strategy carries only PUBLIC_MARKER. */
#define SECRET_MARKER "alice_secret_7f3a"
#define PUBLIC_MARKER "alice_public_c41d"

/* What fills a route's placeholder (and a "%s" in its body). */
enum target {
    NO_OBJECT,      /* the route takes no id: a collection, a create, the caller's own data */
    STRATEGY,       /* Alice's private strategy; routes with a public_status also run against
                     * her public one */
    BACKTEST,       /* Alice's stored backtest */
    API_TOKEN,      /* Alice's API token */
    VARIABLE_LIST,  /* Alice's variable list */
    BATCH_JOB,      /* Alice's finished batch job, with one run */
    MODE_ALICE_HAS, /* "paper": Alice saved credentials for it, Bob did not */
    MODE_FREE,      /* "live": nobody has; Bob writes his own */
    N_TARGETS
};

/* public_status: ALLOWED = the action is permitted on a public strategy (any 2xx or a 4xx
 * about the input, e.g. 422 when no market data is loaded; never 401/403/404 or 5xx). */
#define ALLOWED (-1)

struct route_case {
    const char *method;
    const char *pattern;
    const char *query;  /* appended to the path, or NULL */
    enum target target; /* what the placeholders name */
    const char *body;   /* a VALID body (so only ownership can refuse it); "%s" = target */
    long status;        /* Bob's expected status (404 for Alice's private objects) */
    long public_status; /* STRATEGY only: with Alice's public strategy; 0 = not run */
};

#define BOB_STRATEGY                                                                               \
    "{\"name\": \"bob's\", \"elements\": [{\"type\": \"ticker\", \"ticker\": \"SPY\"}]}"

static const struct route_case cases[] = {
    /* service */
    {"GET", "/api/v1/healthz", NULL, NO_OBJECT, NULL, 200, 0},
    {"GET", "/api/v1/openapi.json", NULL, NO_OBJECT, NULL, 200, 0},
    {"POST", "/api/v1/validate", NULL, NO_OBJECT,
     "{\"elements\": [{\"type\": \"ticker\", \"ticker\": \"SPY\"}]}", 200, 0},

    /* profile: only ever the caller's own */
    {"GET", "/api/v1/me", NULL, NO_OBJECT, NULL, 200, 0},
    {"PATCH", "/api/v1/me", NULL, NO_OBJECT, "{\"username\": \"bob_renamed\"}", 200, 0},

    /* credentials: a per-user namespace of modes */
    {"GET", "/api/v1/me/alpaca-credentials", NULL, NO_OBJECT, NULL, 200, 0},
    {"GET", "/api/v1/me/alpaca-credentials/{mode}", NULL, MODE_ALICE_HAS, NULL, 404, 0},
    {"DELETE", "/api/v1/me/alpaca-credentials/{mode}", NULL, MODE_ALICE_HAS, NULL, 404, 0},
    {"PUT", "/api/v1/me/alpaca-credentials/{mode}", NULL, MODE_FREE,
     "{\"key_id\": \"PKBOB0000000000000\", \"secret\": \"bobsecretbobsecretbobsecret\"}", 200, 0},

    /* API tokens */
    {"GET", "/api/v1/api-tokens", NULL, NO_OBJECT, NULL, 200, 0},
    {"POST", "/api/v1/api-tokens", NULL, NO_OBJECT, "{\"name\": \"bob's token\"}", 201, 0},
    {"DELETE", "/api/v1/api-tokens/{id}", NULL, API_TOKEN, NULL, 404, 0},

    /* strategies: public ones are readable, never writable */
    {"GET", "/api/v1/strategies", "?public=true&archived=all&limit=1000", NO_OBJECT, NULL, 200, 0},
    {"POST", "/api/v1/strategies", NULL, NO_OBJECT, BOB_STRATEGY, 201, 0},
    {"POST", "/api/v1/strategies/import", NULL, NO_OBJECT,
     "[{\"type\": \"ticker\", \"ticker\": \"SPY\"}]", 201, 0},
    {"GET", "/api/v1/strategies/{id}", NULL, STRATEGY, NULL, 404, 200},
    {"PUT", "/api/v1/strategies/{id}", NULL, STRATEGY, BOB_STRATEGY, 404, 403},
    {"PATCH", "/api/v1/strategies/{id}", NULL, STRATEGY, "{\"name\": \"bob was here\"}", 404, 403},
    {"DELETE", "/api/v1/strategies/{id}", NULL, STRATEGY, NULL, 404, 403},
    {"POST", "/api/v1/strategies/{id}/duplicate", NULL, STRATEGY, NULL, 404, 201},
    {"GET", "/api/v1/strategies/{id}/export", NULL, STRATEGY, NULL, 404, 200},

    /* market data is shared reference data: every user reads the same coverage */
    {"GET", "/api/v1/bars", NULL, NO_OBJECT, NULL, 200, 0},
    /* any user may sync (with their own keys: Bob has none for paper) or import */
    {"POST", "/api/v1/bars/sync", NULL, NO_OBJECT, "{\"symbols\": [\"SPY\"], \"mode\": \"paper\"}",
     409, 0},
    {"POST", "/api/v1/bars/import", NULL, NO_OBJECT, NULL, 415, 0},

    /* backtests (an id in the body is checked like one in the path) */
    {"POST", "/api/v1/backtests", NULL, STRATEGY, "{\"strategy_id\": %s}", 404, ALLOWED},
    {"GET", "/api/v1/backtests", "?limit=1000", NO_OBJECT, NULL, 200, 0},
    {"GET", "/api/v1/backtests/{id}", NULL, BACKTEST, NULL, 404, 0},
    {"POST", "/api/v1/strategies/{id}/backtests", NULL, STRATEGY, "{}", 404, ALLOWED},
    {"GET", "/api/v1/strategies/{id}/backtests", NULL, STRATEGY, NULL, 404, 200},

    /* variable lists */
    {"GET", "/api/v1/variable-lists", "?limit=1000", NO_OBJECT, NULL, 200, 0},
    {"POST", "/api/v1/variable-lists", NULL, NO_OBJECT,
     "{\"name\": \"bob_list\", \"type\": \"ticker\", \"values\": [\"SPY\"]}", 201, 0},
    {"GET", "/api/v1/variable-lists/{id}", NULL, VARIABLE_LIST, NULL, 404, 0},
    {"PUT", "/api/v1/variable-lists/{id}", NULL, VARIABLE_LIST,
     "{\"name\": \"bob_was_here\", \"type\": \"ticker\", \"values\": [\"QQQ\"]}", 404, 0},
    {"DELETE", "/api/v1/variable-lists/{id}", NULL, VARIABLE_LIST, NULL, 404, 0},

    /* batch jobs (string ids) */
    {"POST", "/api/v1/batch-jobs", NULL, STRATEGY,
     "{\"strategy_id\": %s, \"variables\": [{\"name\": \"t\", \"values\": [\"SPY\"]}]}", 404,
     ALLOWED},
    {"GET", "/api/v1/batch-jobs", "?limit=1000", NO_OBJECT, NULL, 200, 0},
    {"GET", "/api/v1/batch-jobs/{id}", NULL, BATCH_JOB, NULL, 404, 0},
    {"POST", "/api/v1/batch-jobs/{id}/cancel", NULL, BATCH_JOB, "{}", 404, 0},
    {"GET", "/api/v1/batch-jobs/{id}/runs", NULL, BATCH_JOB, NULL, 404, 0},
    {"GET", "/api/v1/batch-jobs/{id}/runs.csv", NULL, BATCH_JOB, NULL, 404, 0},
    {"GET", "/api/v1/batch-jobs/{id}/heatmap", "?x=t&y=t&metric=total_return", BATCH_JOB, NULL, 404,
     0},
};
#define N_CASES (sizeof cases / sizeof cases[0])

struct fixture {
    struct lever_proc server;
    char alice[128], bob[128]; /* tokens */
    int alice_id, bob_id;
    char target[N_TARGETS][32]; /* Alice's object of each kind, as path text */
    char public_strategy[32];
};

static struct fixture fx;

/* A fixed key: the suite only needs encryption to work, not to be secret. */
static const char *const server_env[] = {
    "LEVER_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "ALPACA_PAPER_URL=http://127.0.0.1:9", /* nothing listens: verification fails fast */
    "ALPACA_LIVE_URL=http://127.0.0.1:9",
    NULL,
};

static void set_target(enum target target, long long id)
{
    snprintf(fx.target[target], sizeof fx.target[target], "%lld", id);
}

/* Alice creates something through the API and the new id becomes a target. */
static long long alice_creates(const char *path, const char *body)
{
    json_t *doc = api_expect(&fx.server, fx.alice, "POST", path, body, 201);
    long long id = json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    assert_true(id > 0);
    return id;
}

static void insert_backtest(const char *strategy_id, long long *id)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO backtest_results (strategy_id, user_id, start_date, end_date, "
             "benchmark_symbol, strategy_elements, metrics) SELECT id, user_id, '2020-01-02', "
             "'2020-12-31', 'SPY', '[{\"type\": \"ticker\", \"ticker\": \"" SECRET_MARKER "\"}]', "
             "'{\"total_return\": 0.1, \"note\": \"" SECRET_MARKER "\"}' "
             "FROM strategies WHERE id = $1::int RETURNING id");
    *id = db_long(sql, strategy_id);
}

/* Written directly: a real job would need market data and workers, and only its ownership
 * matters here. */
static void insert_batch_job(const char *job_id)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO batch_jobs (id, user_id, name, status, total, completed, variables, "
             "strategy_elements) VALUES ($1, %d, '" SECRET_MARKER "', 'finished', 1, 1, "
             "'[{\"name\": \"t\", \"values\": [\"SPY\"]}]', "
             "'[{\"type\": \"ticker\", \"ticker\": \"$t\"}]')",
             fx.alice_id);
    db_exec(sql, job_id);
    db_exec("INSERT INTO batch_job_runs (batch_job_id, run_index, variables, metrics) VALUES "
            "($1, 0, '{\"t\": \"" SECRET_MARKER "\"}', '{\"total_return\": 0.1}')",
            job_id);
}

static int setup(void **state)
{
    if (lever_proc_start(&fx.server, server_env) != 0)
        return -1;
    fx.alice_id = lever_create_user("iso-alice", fx.alice, sizeof fx.alice);
    fx.bob_id = lever_create_user("iso-bob", fx.bob, sizeof fx.bob);
    if (fx.alice_id < 0 || fx.bob_id < 0)
        return -1;
    *state = &fx;
    return 0;
}

/* The server must stop cleanly: a crash or (under ASan) a leak makes it exit non-zero. */
static int teardown(void **state)
{
    (void)state;
    return lever_proc_stop_clean(&fx.server);
}

/* Alice's objects, one of each kind, every private one marked with SECRET_MARKER. */
static void create_alice_objects(void)
{
    set_target(STRATEGY, alice_creates("/api/v1/strategies",
                                       "{\"name\": \"" SECRET_MARKER "\", \"elements\": "
                                       "[{\"type\": \"ticker\", \"ticker\": \"SPY\"}]}"));
    snprintf(fx.public_strategy, sizeof fx.public_strategy, "%lld",
             alice_creates("/api/v1/strategies",
                           "{\"name\": \"" PUBLIC_MARKER "\", \"is_public\": true, \"elements\": "
                           "[{\"type\": \"ticker\", \"ticker\": \"QQQ\"}]}"));
    long long backtest;
    insert_backtest(fx.target[STRATEGY], &backtest);
    set_target(BACKTEST, backtest);
    insert_backtest(fx.public_strategy, &backtest); /* Bob must not see it via the public one */
    set_target(API_TOKEN, alice_creates("/api/v1/api-tokens", "{\"name\": \"" SECRET_MARKER "\"}"));
    set_target(VARIABLE_LIST, alice_creates("/api/v1/variable-lists",
                                            "{\"name\": \"" SECRET_MARKER "\", \"type\": "
                                            "\"ticker\", \"values\": [\"SPY\"], \"description\": "
                                            "\"" SECRET_MARKER "\"}"));
    json_decref(api_expect(&fx.server, fx.alice, "PUT", "/api/v1/me/alpaca-credentials/paper",
                           "{\"key_id\": \"PKALICE00000000SECR\", \"secret\": "
                           "\"alicesecretalicesecretalice\"}",
                           200));
    json_decref(api_expect(&fx.server, fx.alice, "PATCH", "/api/v1/me",
                           "{\"username\": \"" SECRET_MARKER "\"}", 200));
    snprintf(fx.target[BATCH_JOB], sizeof fx.target[0], "batch-a11ce%x", (unsigned)getpid());
    insert_batch_job(fx.target[BATCH_JOB]);
    snprintf(fx.target[MODE_ALICE_HAS], sizeof fx.target[0], "paper");
    snprintf(fx.target[MODE_FREE], sizeof fx.target[0], "live");
}

/* Writes the pattern with its placeholders replaced by `object`, plus the case's query. */
static void fill_path(char *out, size_t out_size, const struct route_case *c, const char *object)
{
    size_t len = 0;
    for (const char *p = c->pattern; *p != '\0' && len + 1 < out_size;) {
        if (*p == '{') {
            len += (size_t)snprintf(out + len, out_size - len, "%s", object);
            p += strcspn(p, "}") + 1;
        } else {
            out[len++] = *p++;
        }
    }
    out[len] = '\0';
    if (c->query != NULL)
        snprintf(out + len, out_size - len, "%s", c->query);
}

/* Every failure of the walk, so that one run names them all. */
struct findings {
    char text[16384];
    int count;
};

static void finding(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct findings *f, const char *fmt, ...)
{
    size_t used = strlen(f->text);
    va_list args;
    va_start(args, fmt);
    if (used + 2 < sizeof f->text) {
        f->text[used++] = '\n';
        vsnprintf(f->text + used, sizeof f->text - used, fmt, args);
    }
    va_end(args);
    f->count++;
}

/* Sends one request as Bob; checks the status and that none of Alice's secrets came back. */
static void bob_calls(const struct route_case *c, const char *object, long expected,
                      struct findings *found)
{
    char path[512], body[512];
    fill_path(path, sizeof path, c, object);
    if (c->body != NULL)
        snprintf(body, sizeof body, c->body, object);
    char url[600];
    snprintf(url, sizeof url, "%s%s", fx.server.base_url, path);
    struct http_client_response res;
    if (http_client_json(c->method, url, fx.bob, c->body != NULL ? body : NULL, &res) != 0)
        fail_msg("%s %s: no answer", c->method, path);
    bool ok = expected == ALLOWED
                  ? res.status < 500 && res.status != 401 && res.status != 403 && res.status != 404
                  : res.status == expected;
    if (!ok)
        finding(found, "  Bob's %s %s: status %ld, expected %s%ld: %.300s", c->method, path,
                res.status, expected == ALLOWED ? "not 401/403/404/5xx " : "",
                expected == ALLOWED ? 0L : expected, res.body);
    if (strstr(res.body, SECRET_MARKER) != NULL)
        finding(found, "  Bob's %s %s leaked Alice's data: %.300s", c->method, path, res.body);
    if (strstr(res.body, "PKALICE") != NULL || strstr(res.body, "SECR\"") != NULL)
        finding(found, "  Bob's %s %s leaked Alice's credentials: %.300s", c->method, path,
                res.body);
    http_client_response_free(&res);
}

/* Collects the router's /api/v1 routes that have no case. */
struct coverage {
    char missing[4096];
    int n_missing;
    int n_routes;
};

static const struct route_case *find_case(const char *method, const char *pattern)
{
    for (size_t i = 0; i < N_CASES; i++)
        if (strcmp(cases[i].method, method) == 0 && strcmp(cases[i].pattern, pattern) == 0)
            return &cases[i];
    return NULL;
}

static void check_covered(const char *method, const char *pattern, unsigned flags, void *ctx)
{
    (void)flags;
    struct coverage *cov = ctx;
    if (strncmp(pattern, "/api/v1/", 8) != 0)
        return; /* browser login routes: no per-user objects */
    cov->n_routes++;
    if (find_case(method, pattern) == NULL) {
        size_t used = strlen(cov->missing);
        snprintf(cov->missing + used, sizeof cov->missing - used, "\n  %s %s", method, pattern);
        cov->n_missing++;
    }
}

struct route_search {
    const struct route_case *c;
    bool found;
};

static void match_case(const char *method, const char *pattern, unsigned flags, void *ctx)
{
    (void)flags;
    struct route_search *search = ctx;
    search->found |=
        strcmp(search->c->method, method) == 0 && strcmp(search->c->pattern, pattern) == 0;
}

static void every_route_has_a_case(void **state)
{
    (void)state;
    struct lv_error err;
    struct lv_router *router = lv_api_router(&err);
    assert_non_null(router);
    struct coverage cov = {.n_missing = 0};
    lv_router_each(router, check_covered, &cov);
    for (size_t i = 0; i < N_CASES; i++) {
        struct route_search search = {&cases[i], false};
        lv_router_each(router, match_case, &search);
        if (!search.found)
            fail_msg("the isolation table has %s %s, which is no route (renamed?)", cases[i].method,
                     cases[i].pattern);
    }
    lv_router_free(router);
    if (cov.n_missing > 0)
        fail_msg("%d /api/v1 route(s) have no entry in tests/api/test_isolation.c:%s",
                 cov.n_missing, cov.missing);
    assert_int_equal(cov.n_routes, (int)N_CASES);
}

/* Alice's objects after Bob's whole walk: all there, none changed. */
static void alice_is_intact(void)
{
    char path[512];
    json_t *doc =
        api_expect(&fx.server, fx.alice, "GET",
                   api_path(path, "/api/v1/strategies/%s", fx.target[STRATEGY]), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), SECRET_MARKER);
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "GET",
                     api_path(path, "/api/v1/strategies/%s", fx.public_strategy), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), PUBLIC_MARKER);
    json_decref(doc);
    json_decref(api_expect(&fx.server, fx.alice, "GET",
                           api_path(path, "/api/v1/backtests/%s", fx.target[BACKTEST]), NULL, 200));
    doc = api_expect(&fx.server, fx.alice, "GET",
                     api_path(path, "/api/v1/variable-lists/%s", fx.target[VARIABLE_LIST]), NULL,
                     200);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), SECRET_MARKER);
    json_decref(doc);
    json_decref(
        api_expect(&fx.server, fx.alice, "GET", "/api/v1/me/alpaca-credentials/paper", NULL, 200));
    doc = api_expect(&fx.server, fx.alice, "GET",
                     api_path(path, "/api/v1/batch-jobs/%s", fx.target[BATCH_JOB]), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "finished");
    json_decref(doc);
    doc = api_expect(&fx.server, fx.alice, "GET", "/api/v1/me", NULL, 200); /* token works */
    assert_string_equal(json_string_value(json_object_get(doc, "username")), SECRET_MARKER);
    assert_int_equal(json_integer_value(json_object_get(doc, "id")), fx.alice_id);
    json_decref(doc);
    char id_text[16];
    snprintf(id_text, sizeof id_text, "%d", fx.alice_id);
    assert_int_equal(db_long("SELECT count(*) FROM api_tokens WHERE user_id = $1::int "
                             "AND revoked_at IS NULL",
                             id_text),
                     2);
    assert_int_equal(db_long("SELECT count(*) FROM strategies WHERE user_id = $1::int", id_text),
                     2);
}

static void bob_cannot_reach_alice(void **state)
{
    (void)state;
    create_alice_objects();
    static struct findings found; /* large: kept off the stack */
    for (size_t i = 0; i < N_CASES; i++) {
        const struct route_case *c = &cases[i];
        bob_calls(c, fx.target[c->target], c->status, &found);
        if (c->target == STRATEGY && c->public_status != 0)
            bob_calls(c, fx.public_strategy, c->public_status, &found);
    }
    if (found.count > 0)
        fail_msg("%d isolation failure(s):%s", found.count, found.text);
    alice_is_intact();

    /* What Bob did went to his own account. */
    json_t *me = api_expect(&fx.server, fx.bob, "GET", "/api/v1/me", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(me, "id")), fx.bob_id);
    assert_string_equal(json_string_value(json_object_get(me, "username")), "bob_renamed");
    json_decref(me);
    json_t *list =
        api_expect(&fx.server, fx.bob, "GET", "/api/v1/strategies?archived=all", NULL, 200);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        assert_true(json_is_true(json_object_get(item, "is_owner")));
    }
    assert_true(json_array_size(json_object_get(list, "items")) >= 3); /* create, import, copy */
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_has_a_case),
        cmocka_unit_test(bob_cannot_reach_alice),
    };
    return cmocka_run_group_tests_name("isolation", tests, setup, teardown);
}
