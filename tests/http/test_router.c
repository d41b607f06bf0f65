/* test_router.c — route matching without a server: placeholders, 404 and 405 with Allow,
 * trailing slashes, percent-decoding, route precedence, bad patterns, URL decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

/* Handlers are only compared by address here; they are never called. */
static void handler_a(struct lv_req *req, void *app)
{
    (void)req;
    (void)app;
}

static void handler_b(struct lv_req *req, void *app)
{
    (void)req;
    (void)app;
}

static int setup_router(void **state)
{
    struct lv_router *router = lv_router_new();
    struct lv_error err;
    assert_non_null(router);
    assert_int_equal(
        lv_router_add(router, "GET", "/api/v1/healthz", handler_a, LV_ROUTE_PUBLIC, &err), 0);
    assert_int_equal(
        lv_router_add(router, "GET", "/api/v1/batch-jobs/{id}/runs", handler_a, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/api/v1/strategies", handler_a, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "POST", "/api/v1/strategies", handler_b, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/api/v1/strategies/{id}", handler_a, 0, &err),
                     0);
    assert_int_equal(lv_router_add(router, "DELETE", "/api/v1/strategies/{id}", handler_b, 0, &err),
                     0);
    assert_int_equal(
        lv_router_add(router, "GET", "/api/v1/strategies/public", handler_b, 7u << 8, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/", handler_b, 0, &err), 0);
    *state = router;
    return 0;
}

static int teardown_router(void **state)
{
    lv_router_free(*state);
    return 0;
}

static void params_are_extracted(void **state)
{
    struct lv_route_match match;
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/batch-jobs/bj_42/runs", &match),
                     LV_MATCH_FOUND);
    assert_string_equal(lv_route_pattern(match.route), "/api/v1/batch-jobs/{id}/runs");
    assert_ptr_equal(lv_route_handler(match.route), handler_a);
    assert_int_equal(match.param_count, 1);
    assert_string_equal(lv_route_match_param(&match, "id"), "bj_42");
    assert_null(lv_route_match_param(&match, "name"));
    lv_route_match_clear(&match);

    assert_int_equal(lv_router_match(*state, "DELETE", "/api/v1/strategies/17", &match),
                     LV_MATCH_FOUND);
    assert_ptr_equal(lv_route_handler(match.route), handler_b);
    assert_string_equal(lv_route_match_param(&match, "id"), "17");
    lv_route_match_clear(&match);
}

static void unknown_paths_are_not_found(void **state)
{
    static const char *const paths[] = {
        "/api/v1/nothing",
        "/api/v1",
        "/api/v1/batch-jobs/1",
        "/api/v1/batch-jobs/1/runs/2",
        "/api/v1/batch-jobs//runs",
        "api/v1/strategies",
        "",
        "*",
        "/api/v1/HEALTHZ",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct lv_route_match match;
        assert_int_equal(lv_router_match(*state, "GET", paths[i], &match), LV_MATCH_NOT_FOUND);
        assert_null(match.route);
        assert_int_equal(match.param_count, 0);
        lv_route_match_clear(&match);
    }
}

static void other_methods_get_405_with_allow(void **state)
{
    struct lv_route_match match;
    assert_int_equal(lv_router_match(*state, "PUT", "/api/v1/strategies", &match),
                     LV_MATCH_BAD_METHOD);
    assert_string_equal(match.allow, "GET, HEAD, POST");
    assert_null(match.route);
    lv_route_match_clear(&match);

    assert_int_equal(lv_router_match(*state, "POST", "/api/v1/strategies/9", &match),
                     LV_MATCH_BAD_METHOD);
    assert_string_equal(match.allow, "GET, HEAD, DELETE");
    lv_route_match_clear(&match);

    /* "public" matches both the literal route and GET/DELETE {id}: Allow lists all. */
    assert_int_equal(lv_router_match(*state, "PATCH", "/api/v1/strategies/public", &match),
                     LV_MATCH_BAD_METHOD);
    assert_string_equal(match.allow, "GET, HEAD, DELETE");
    lv_route_match_clear(&match);
}

static void head_is_answered_by_get_routes(void **state)
{
    struct lv_route_match match;
    assert_int_equal(lv_router_match(*state, "HEAD", "/api/v1/healthz", &match), LV_MATCH_FOUND);
    assert_int_equal(lv_route_flags(match.route), LV_ROUTE_PUBLIC);
    lv_route_match_clear(&match);
}

static void trailing_slash_is_ignored(void **state)
{
    struct lv_route_match match;
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/strategies/", &match), LV_MATCH_FOUND);
    assert_string_equal(lv_route_pattern(match.route), "/api/v1/strategies");
    lv_route_match_clear(&match);
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/strategies/5/", &match),
                     LV_MATCH_FOUND);
    assert_string_equal(lv_route_match_param(&match, "id"), "5");
    lv_route_match_clear(&match);
    assert_int_equal(lv_router_match(*state, "GET", "/", &match), LV_MATCH_FOUND);
    assert_string_equal(lv_route_pattern(match.route), "/");
    lv_route_match_clear(&match);
    /* Only one slash is forgiven. */
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/strategies//", &match),
                     LV_MATCH_NOT_FOUND);
    lv_route_match_clear(&match);
}

static void params_are_percent_decoded(void **state)
{
    struct lv_route_match match;
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/strategies/a%2Fb%20c+d%C3%A9", &match),
                     LV_MATCH_FOUND);
    /* An encoded slash stays inside the segment; '+' is literal in a path. */
    assert_string_equal(lv_route_match_param(&match, "id"), "a/b c+d\xc3\xa9");
    lv_route_match_clear(&match);

    /* Literal segments are compared after decoding too. */
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/%73trategies", &match),
                     LV_MATCH_FOUND);
    lv_route_match_clear(&match);

    static const char *const bad[] = {"/api/v1/strategies/%zz", "/api/v1/strategies/%4",
                                      "/api/v1/strategies/a%00b", "/api/v1/strategies/%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lv_router_match(*state, "GET", bad[i], &match), LV_MATCH_BAD_PATH);
        assert_int_equal(match.param_count, 0);
        lv_route_match_clear(&match);
    }
}

static void literal_beats_placeholder(void **state)
{
    struct lv_route_match match;
    assert_int_equal(lv_router_match(*state, "GET", "/api/v1/strategies/public", &match),
                     LV_MATCH_FOUND);
    assert_string_equal(lv_route_pattern(match.route), "/api/v1/strategies/public");
    assert_int_equal(lv_route_flags(match.route), 7u << 8);
    assert_int_equal(match.param_count, 0);
    lv_route_match_clear(&match);
    /* A method only the placeholder route has still reaches it. */
    assert_int_equal(lv_router_match(*state, "DELETE", "/api/v1/strategies/public", &match),
                     LV_MATCH_FOUND);
    assert_string_equal(lv_route_match_param(&match, "id"), "public");
    lv_route_match_clear(&match);
}

static void bad_routes_are_refused(void **state)
{
    struct lv_error err = {{0}};
    struct lv_router *router = *state;
    assert_int_equal(lv_router_add(router, "GET", "/api/v1/strategies/{key}", handler_a, 0, &err),
                     -1);
    assert_non_null(strstr(err.message, "duplicates /api/v1/strategies/{id}"));
    assert_int_equal(lv_router_add(router, "get", "/x", handler_a, 0, &err), -1);
    assert_int_equal(lv_router_add(router, "GET", "x/y", handler_a, 0, &err), -1);
    assert_int_equal(lv_router_add(router, "GET", "/x/{}", handler_a, 0, &err), -1);
    assert_int_equal(lv_router_add(router, "GET", "/x//y", handler_a, 0, &err), -1);
    assert_int_equal(lv_router_add(router, "GET", "/x/a{b}", handler_a, 0, &err), -1);
    assert_int_equal(lv_router_add(router, "GET", "/x", NULL, 0, &err), -1);
    assert_int_equal(lv_router_add(router, "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17",
                                   handler_a, 0, &err),
                     -1);
    assert_int_equal(
        lv_router_add(router, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", handler_a, 0, &err),
        -1);
    /* The failures above left the table as it was. */
    struct lv_route_match match;
    assert_int_equal(lv_router_match(router, "GET", "/x", &match), LV_MATCH_NOT_FOUND);
    lv_route_match_clear(&match);
}

static void many_params(void **state)
{
    (void)state;
    struct lv_router *router = lv_router_new();
    struct lv_error err;
    assert_int_equal(
        lv_router_add(router, "GET", "/u/{user}/s/{strategy}/r/{run}", handler_a, 0, &err), 0);
    struct lv_route_match match;
    assert_int_equal(lv_router_match(router, "GET", "/u/7/s/momentum/r/12", &match),
                     LV_MATCH_FOUND);
    assert_int_equal(match.param_count, 3);
    assert_string_equal(lv_route_match_param(&match, "user"), "7");
    assert_string_equal(lv_route_match_param(&match, "strategy"), "momentum");
    assert_string_equal(lv_route_match_param(&match, "run"), "12");
    lv_route_match_clear(&match);
    lv_router_free(router);
}

static void url_decode_rules(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(lv_url_decode("a+b%2Bc%3d", 10, true, &out), 0);
    assert_string_equal(out, "a b+c=");
    free(out);
    assert_int_equal(lv_url_decode("a+b", 3, false, &out), 0);
    assert_string_equal(out, "a+b");
    free(out);
    assert_int_equal(lv_url_decode("", 0, true, &out), 0);
    assert_string_equal(out, "");
    free(out);
    /* Only `len` bytes are read: the escape cut by the length is malformed. */
    assert_int_equal(lv_url_decode("%41%42", 5, false, &out), -1);
    assert_int_equal(lv_url_decode("%41%42", 6, false, &out), 0);
    assert_string_equal(out, "AB");
    free(out);
    assert_int_equal(lv_url_decode("%g1", 3, false, &out), -1);
    assert_int_equal(lv_url_decode("%00", 3, false, &out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(params_are_extracted, setup_router, teardown_router),
        cmocka_unit_test_setup_teardown(unknown_paths_are_not_found, setup_router, teardown_router),
        cmocka_unit_test_setup_teardown(other_methods_get_405_with_allow, setup_router,
                                        teardown_router),
        cmocka_unit_test_setup_teardown(head_is_answered_by_get_routes, setup_router,
                                        teardown_router),
        cmocka_unit_test_setup_teardown(trailing_slash_is_ignored, setup_router, teardown_router),
        cmocka_unit_test_setup_teardown(params_are_percent_decoded, setup_router, teardown_router),
        cmocka_unit_test_setup_teardown(literal_beats_placeholder, setup_router, teardown_router),
        cmocka_unit_test_setup_teardown(bad_routes_are_refused, setup_router, teardown_router),
        cmocka_unit_test(many_params),
        cmocka_unit_test(url_decode_rules),
    };
    return cmocka_run_group_tests_name("http router", tests, NULL, NULL);
}
