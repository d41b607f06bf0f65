/* test_ratelimit.c — token buckets (unit tests with a controlled clock), 429 with
 * Retry-After per user and per IP from a real server, and api_usage_logs written in the
 * background in batches and pruned after the retention period. */
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
#include "api/ratelimit.h"
#include "lever_proc.h"

/* ---- the limiter alone ------------------------------------------------------------------ */

static void bucket_allows_a_burst_then_refills(void **state)
{
    (void)state;
    struct lv_ratelimit *limiter = lv_ratelimit_new(60, 3, 0); /* one a second, bursts of 3 */
    assert_non_null(limiter);
    for (int i = 0; i < 3; i++)
        assert_int_equal(lv_ratelimit_take(limiter, "user:1", 100.0), 0);
    assert_int_equal(lv_ratelimit_take(limiter, "user:1", 100.0), 1);
    assert_int_equal(lv_ratelimit_take(limiter, "user:2", 100.0), 0); /* keys are separate */
    assert_int_equal(lv_ratelimit_take(limiter, "user:1", 100.5), 1);
    assert_int_equal(lv_ratelimit_take(limiter, "user:1", 101.0), 0); /* one token back */
    assert_int_equal(lv_ratelimit_take(limiter, "user:1", 101.0), 1);
    /* After a long pause the bucket is full again, but never more than the burst. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(lv_ratelimit_take(limiter, "user:1", 1000.0), 0);
    assert_int_not_equal(lv_ratelimit_take(limiter, "user:1", 1000.0), 0);
    lv_ratelimit_free(limiter);
}

static void retry_after_counts_whole_seconds(void **state)
{
    (void)state;
    struct lv_ratelimit *limiter = lv_ratelimit_new(6, 1, 0); /* one every 10 s */
    assert_int_equal(lv_ratelimit_take(limiter, "ip:1", 0.0), 0);
    assert_int_equal(lv_ratelimit_take(limiter, "ip:1", 0.0), 10);
    assert_int_equal(lv_ratelimit_take(limiter, "ip:1", 7.5), 3);
    lv_ratelimit_free(limiter);
}

static void disabled_limiter_allows_everything(void **state)
{
    (void)state;
    assert_null(lv_ratelimit_new(0, 10, 0));
    for (int i = 0; i < 1000; i++)
        assert_int_equal(lv_ratelimit_take(NULL, "user:1", 0.0), 0);
}

static void full_table_forgets_refilled_buckets(void **state)
{
    (void)state;
    struct lv_ratelimit *limiter = lv_ratelimit_new(60, 2, 2); /* at most 2 keys */
    assert_int_equal(lv_ratelimit_take(limiter, "a", 0.0), 0);
    assert_int_equal(lv_ratelimit_take(limiter, "b", 0.0), 0);
    assert_int_equal(lv_ratelimit_size(limiter), 2);
    /* Both buckets still hold a debt: a third key goes through untracked. */
    assert_int_equal(lv_ratelimit_take(limiter, "c", 0.5), 0);
    assert_int_equal(lv_ratelimit_size(limiter), 2);
    /* Once they have refilled they are forgotten to make room. */
    assert_int_equal(lv_ratelimit_take(limiter, "c", 10.0), 0);
    assert_int_equal(lv_ratelimit_size(limiter), 1);
    /* Long keys are cut, not refused. */
    char long_key[200];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(lv_ratelimit_take(limiter, long_key, 10.0), 0);
    lv_ratelimit_free(limiter);
}

/* ---- a real server ---------------------------------------------------------------------- */

struct fixture {
    struct lever_proc server; /* 5-request bursts per user */
    char token[128];
    char other_token[128];
    char user_text[16];
};

static int setup(void **state)
{
    static struct fixture fx;
    const char *extra[] = {"LEVER_RATE_LIMIT_PER_MIN=6", "LEVER_RATE_LIMIT_BURST=5",
                           "LEVER_RATE_LIMIT_IP_PER_MIN=6000", "LEVER_RATE_LIMIT_IP_BURST=1000",
                           NULL};
    if (lever_proc_start(&fx.server, extra) != 0)
        return -1;
    int user_id = lever_create_user("limited", fx.token, sizeof fx.token);
    if (user_id < 0 || lever_create_user("unlimited", fx.other_token, sizeof fx.other_token) < 0)
        return -1;
    snprintf(fx.user_text, sizeof fx.user_text, "%d", user_id);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    return fx != NULL ? lever_proc_stop_clean(&fx->server) : 0;
}

static void user_over_the_limit_gets_429_with_retry_after(void **state)
{
    struct fixture *fx = *state;
    for (int i = 0; i < 5; i++)
        json_decref(api_expect(&fx->server, fx->token, "GET", "/api/v1/me", NULL, 200));
    char authorization[200];
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", fx->token);
    const char *headers[] = {authorization, NULL};
    struct http_client_response res;
    api_send(fx->server.base_url, "GET", "/api/v1/me", headers, NULL, &res);
    assert_int_equal(res.status, 429);
    const char *retry_after = http_client_header(&res, "Retry-After");
    assert_non_null(retry_after);
    assert_in_range(atol(retry_after), 1, 10);
    json_t *doc = json_loads(res.body, 0, NULL);
    assert_true(api_error_has(doc, "rate_limited", NULL));
    json_decref(doc);
    http_client_response_free(&res);
    /* Another user is not affected. */
    json_decref(api_expect(&fx->server, fx->other_token, "GET", "/api/v1/me", NULL, 200));
}

static void client_ip_over_the_limit_gets_429(void **state)
{
    (void)state;
    struct lever_proc strict;
    const char *extra[] = {"LEVER_RATE_LIMIT_IP_PER_MIN=60", "LEVER_RATE_LIMIT_IP_BURST=3", NULL};
    assert_int_equal(lever_proc_start(&strict, extra), 0);
    long status;
    for (int i = 0; i < 3; i++) {
        json_decref(api_call(&strict, NULL, "GET", "/api/v1/healthz", NULL, &status));
        assert_int_equal(status, 200);
    }
    /* Public routes and unauthenticated callers count too: no token guessing at speed. */
    json_t *doc = api_call(&strict, "lvr_guess", "GET", "/api/v1/me", NULL, &status);
    assert_int_equal(status, 429);
    assert_true(api_error_has(doc, "rate_limited", NULL));
    json_decref(doc);
    assert_int_equal(lever_proc_stop(&strict), 0);
}

static void requests_land_in_usage_logs_in_the_background(void **state)
{
    struct fixture *fx = *state;
    long before =
        db_long("SELECT count(*) FROM api_usage_logs WHERE user_id = $1::int", fx->user_text);
    long status;
    json_decref(api_call(&fx->server, fx->token, "GET", "/api/v1/me", NULL, &status));
    json_decref(api_call(&fx->server, fx->token, "GET", "/api/v1/no-such-route", NULL, &status));
    /* The writer flushes about once a second; wait for the batch to land. */
    assert_true(db_wait_long("SELECT count(*) FROM api_usage_logs WHERE user_id = $1::int",
                             fx->user_text, before + 1, 10000) >= before + 1);
    /* The rows hold the route pattern, method, status and duration. The 429s of the
     * rate-limit test are there, attributed to the user. */
    assert_true(db_wait_long("SELECT count(*) FROM api_usage_logs WHERE user_id = $1::int "
                             "AND endpoint = '/api/v1/me' AND method = 'GET' AND "
                             "status_code = 200 AND duration_ms >= 0",
                             fx->user_text, 5, 10000) >= 5);
    assert_true(db_wait_long("SELECT count(*) FROM api_usage_logs WHERE user_id = $1::int "
                             "AND status_code = 429",
                             fx->user_text, 1, 10000) >= 1);
    /* Unknown paths are logged under one name, whatever junk they hold. */
    assert_true(db_wait_long("SELECT count(*) FROM api_usage_logs WHERE endpoint = "
                             "'(unmatched)'",
                             NULL, 1, 10000) >= 1);
}

static void retention_prunes_old_rows(void **state)
{
    (void)state;
    db_exec("INSERT INTO api_usage_logs (endpoint, method, status_code, duration_ms, "
            "created_at) VALUES ('/retention-test/old', 'GET', 200, 1, "
            "CURRENT_TIMESTAMP - interval '40 days'), ('/retention-test/new', 'GET', 200, 1, "
            "CURRENT_TIMESTAMP - interval '20 days')",
            NULL);
    struct lever_proc pruning;
    const char *extra[] = {"LEVER_USAGE_LOG_RETENTION_DAYS=30", NULL};
    assert_int_equal(lever_proc_start(&pruning, extra), 0);
    /* Pruning runs at start (then hourly), in the writer thread. */
    const char *gone = "SELECT 1 - count(*) FROM api_usage_logs WHERE endpoint = "
                       "'/retention-test/old'";
    assert_int_equal(db_wait_long(gone, NULL, 1, 10000), 1);
    assert_int_equal(db_long("SELECT count(*) FROM api_usage_logs WHERE endpoint = "
                             "'/retention-test/new'",
                             NULL),
                     1);
    assert_int_equal(lever_proc_stop(&pruning), 0);
    db_exec("DELETE FROM api_usage_logs WHERE endpoint LIKE '/retention-test/%'", NULL);
}

static void usage_rows_survive_shutdown(void **state)
{
    struct fixture *fx = *state;
    struct lever_proc brief;
    assert_int_equal(lever_proc_start(&brief, NULL), 0);
    long before = db_long("SELECT count(*) FROM api_usage_logs WHERE user_id = $1::int AND "
                          "endpoint = '/api/v1/api-tokens'",
                          fx->user_text);
    long status;
    json_decref(api_call(&brief, fx->other_token, "GET", "/api/v1/healthz", NULL, &status));
    json_decref(api_call(&brief, fx->token, "GET", "/api/v1/api-tokens", NULL, &status));
    assert_int_equal(status, 200);
    /* Stopped at once: the queued row is written on the way out. */
    assert_int_equal(lever_proc_stop(&brief), 0);
    assert_int_equal(db_long("SELECT count(*) FROM api_usage_logs WHERE user_id = $1::int AND "
                             "endpoint = '/api/v1/api-tokens'",
                             fx->user_text),
                     before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_allows_a_burst_then_refills),
        cmocka_unit_test(retry_after_counts_whole_seconds),
        cmocka_unit_test(disabled_limiter_allows_everything),
        cmocka_unit_test(full_table_forgets_refilled_buckets),
        cmocka_unit_test(user_over_the_limit_gets_429_with_retry_after),
        cmocka_unit_test(client_ip_over_the_limit_gets_429),
        cmocka_unit_test(requests_land_in_usage_logs_in_the_background),
        cmocka_unit_test(retention_prunes_old_rows),
        cmocka_unit_test(usage_rows_survive_shutdown),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, setup, teardown);
}
