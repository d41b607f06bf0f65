/* test_tokens.c — named API tokens over HTTP and from the CLI: the secret is shown once and
 * stored hashed, tokens list without secrets, revocation works on the next request, expiry,
 * ownership, and bad input refused with the field named and nothing stored. */
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
#include "lever_proc.h"

struct fixture {
    struct lever_proc server;
    char token[128];
    char other_token[128];
    int user_id;
    char user_text[16];
};

static int setup(void **state)
{
    static struct fixture fx;
    if (lever_proc_start(&fx.server, NULL) != 0)
        return -1;
    fx.user_id = lever_create_user("token-owner", fx.token, sizeof fx.token);
    if (fx.user_id < 0 ||
        lever_create_user("token-other", fx.other_token, sizeof fx.other_token) < 0)
        return -1;
    snprintf(fx.user_text, sizeof fx.user_text, "%d", fx.user_id);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    return fx != NULL ? lever_proc_stop_clean(&fx->server) : 0;
}

/* Creates a token through the API; copies its secret and returns its id. */
static int create_token(struct fixture *fx, const char *body, char *secret, size_t cap)
{
    json_t *doc = api_expect(&fx->server, fx->token, "POST", "/api/v1/api-tokens", body, 201);
    snprintf(secret, cap, "%s", json_string_value(json_object_get(doc, "token")));
    int id = (int)json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    return id;
}

static long tokens_of_owner(struct fixture *fx)
{
    return db_long("SELECT count(*) FROM api_tokens WHERE user_id = $1::int", fx->user_text);
}

static void created_token_is_shown_once_and_stored_hashed(void **state)
{
    struct fixture *fx = *state;
    json_t *doc = api_expect(&fx->server, fx->token, "POST", "/api/v1/api-tokens",
                             "{\"name\":\"deploy script\"}", 201);
    const char *secret = json_string_value(json_object_get(doc, "token"));
    assert_non_null(secret);
    assert_true(strncmp(secret, "lvr_", 4) == 0);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "deploy script");
    const char *prefix = json_string_value(json_object_get(doc, "token_prefix"));
    assert_true(strncmp(secret, prefix, strlen(prefix)) == 0);
    assert_true(json_is_string(json_object_get(doc, "created_at")));
    assert_true(json_is_null(json_object_get(doc, "expires_at")));
    char copy[128];
    snprintf(copy, sizeof copy, "%s", secret);
    json_decref(doc);

    /* The new token works, and the listing never shows a secret. */
    json_decref(api_expect(&fx->server, copy, "GET", "/api/v1/me", NULL, 200));
    struct http_client_response res;
    char authorization[200];
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", fx->token);
    const char *headers[] = {authorization, NULL};
    api_send(fx->server.base_url, "GET", "/api/v1/api-tokens", headers, NULL, &res);
    assert_int_equal(res.status, 200);
    assert_null(strstr(res.body, copy));
    assert_null(strstr(res.body, "token_hash"));
    json_t *list = json_loads(res.body, 0, NULL);
    http_client_response_free(&res);
    assert_true(json_array_size(json_object_get(list, "items")) >= 2);
    json_decref(list);

    /* Only the SHA-256 is stored. */
    assert_int_equal(db_long("SELECT count(*) FROM api_tokens WHERE token_hash = "
                             "sha256(convert_to($1, 'UTF8'))",
                             copy),
                     1);
    assert_int_equal(
        db_long("SELECT count(*) FROM api_tokens t WHERE position($1 in t::text) > 0", copy), 0);
}

static void revoked_token_stops_working_at_once(void **state)
{
    struct fixture *fx = *state;
    char secret[128], path[512];
    int id = create_token(fx, "{\"name\":\"short-lived\"}", secret, sizeof secret);
    json_decref(api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 200));
    /* Another user cannot revoke it (and does not learn it exists). */
    json_t *doc = api_expect(&fx->server, fx->other_token, "DELETE",
                             api_path(path, "/api/v1/api-tokens/%d", id), NULL, 404);
    assert_true(api_error_has(doc, "not_found", NULL));
    json_decref(doc);
    json_decref(api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 200));
    /* Its owner can, and the very next request is refused. */
    json_decref(api_expect(&fx->server, fx->token, "DELETE", path, NULL, 204));
    doc = api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 401);
    assert_true(api_error_has(doc, "unauthorized", NULL));
    json_decref(doc);
    json_decref(api_expect(&fx->server, fx->token, "DELETE", path, NULL, 404));
    /* Revoked tokens leave the listing. */
    doc = api_expect(&fx->server, fx->token, "GET", "/api/v1/api-tokens?limit=1000", NULL, 200);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(doc, "items"), i, item)
        assert_int_not_equal(json_integer_value(json_object_get(item, "id")), id);
    json_decref(doc);
}

static void expiring_token_ends_when_due(void **state)
{
    struct fixture *fx = *state;
    json_t *doc = api_expect(&fx->server, fx->token, "POST", "/api/v1/api-tokens",
                             "{\"name\":\"ci\",\"expires_in_days\":30}", 201);
    char secret[128], id[16];
    snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(doc, "token")));
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(doc, "id")));
    assert_true(json_is_string(json_object_get(doc, "expires_at")));
    json_decref(doc);
    assert_int_equal(db_long("SELECT count(*) FROM api_tokens WHERE id = $1::int AND expires_at "
                             "BETWEEN CURRENT_TIMESTAMP + interval '29 days' AND "
                             "CURRENT_TIMESTAMP + interval '31 days'",
                             id),
                     1);
    json_decref(api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 200));
    db_exec("UPDATE api_tokens SET expires_at = CURRENT_TIMESTAMP - interval '1 second' "
            "WHERE id = $1::int",
            id);
    json_decref(api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 401));
}

static void sql_fragments_are_just_text(void **state)
{
    struct fixture *fx = *state;
    long users = db_long("SELECT count(*) FROM users", NULL);
    json_t *doc = api_expect(&fx->server, fx->token, "POST", "/api/v1/api-tokens",
                             "{\"name\":\"x'); DROP TABLE users; --\"}", 201);
    assert_string_equal(json_string_value(json_object_get(doc, "name")),
                        "x'); DROP TABLE users; --");
    json_decref(doc);
    assert_true(db_long("SELECT count(*) FROM users", NULL) >= users);
}

static void bad_input_names_the_field_and_stores_nothing(void **state)
{
    struct fixture *fx = *state;
    long before = tokens_of_owner(fx);
    char *huge = malloc(200000);
    strcpy(huge, "{\"name\":\"");
    memset(huge + 9, 'n', 150000);
    strcpy(huge + 9 + 150000, "\"}");
    const struct {
        const char *body;
        const char *path;
    } cases[] = {
        {"{\"name\":123}", "/name"},
        {"{\"name\":\"\"}", "/name"},
        {"{\"name\":[\"a\"]}", "/name"},
        {"{}", "/name"},
        {"{\"name\":\"ok\",\"admin\":true}", "/admin"},
        {"{\"name\":\"ok\",\"expires_in_days\":\"7\"}", "/expires_in_days"},
        {"{\"name\":\"ok\",\"expires_in_days\":0}", "/expires_in_days"},
        {"{\"name\":\"ok\",\"expires_in_days\":1.5}", "/expires_in_days"},
        {"{\"name\":\"ok\",\"expires_in_days\":99999999999}", "/expires_in_days"},
        {"{\"name\":\"tab\\there\"}", "/name"},
        {"[\"name\"]", ""},
        {huge, "/name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long status;
        json_t *doc =
            api_call(&fx->server, fx->token, "POST", "/api/v1/api-tokens", cases[i].body, &status);
        assert_int_equal(status, 400);
        if (!api_error_has(doc, "validation_failed", cases[i].path))
            fail_msg("case %zu: no problem at %s", i, cases[i].path);
        json_decref(doc);
    }
    free(huge);
    /* Malformed JSON and a path id that is not a number. */
    long status;
    json_t *doc =
        api_call(&fx->server, fx->token, "POST", "/api/v1/api-tokens", "{\"name\":", &status);
    assert_int_equal(status, 400);
    json_decref(doc);
    doc = api_call(&fx->server, fx->token, "DELETE", "/api/v1/api-tokens/1%20OR%201=1", NULL,
                   &status);
    assert_int_equal(status, 400);
    assert_true(api_error_has(doc, "validation_failed", "id"));
    json_decref(doc);
    assert_int_equal(tokens_of_owner(fx), before);
}

static void list_is_paginated(void **state)
{
    struct fixture *fx = *state;
    char secret[128];
    create_token(fx, "{\"name\":\"page-a\"}", secret, sizeof secret);
    create_token(fx, "{\"name\":\"page-b\"}", secret, sizeof secret);
    json_t *page =
        api_expect(&fx->server, fx->token, "GET", "/api/v1/api-tokens?limit=1", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
    assert_int_equal(json_integer_value(json_object_get(page, "limit")), 1);
    json_decref(page);
    long status;
    json_t *doc =
        api_call(&fx->server, fx->token, "GET", "/api/v1/api-tokens?limit=5000", NULL, &status);
    assert_int_equal(status, 400);
    json_decref(doc);
    /* The other user sees none of these. */
    page = api_expect(&fx->server, fx->other_token, "GET", "/api/v1/api-tokens", NULL, 200);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(page, "items"), i, item)
        assert_string_not_equal(json_string_value(json_object_get(item, "name")), "page-a");
    json_decref(page);
}

static void cli_creates_lists_and_revokes(void **state)
{
    struct fixture *fx = *state;
    char out[4096], err[4096];
    const char *create[] = {"token", "create", "--user", fx->user_text, "--name", "from-cli", NULL};
    assert_int_equal(lever_run(create, NULL, out, sizeof out, err, sizeof err), 0);
    int token_id = -1;
    assert_int_equal(sscanf(out, "token %d created", &token_id), 1);
    const char *line = strstr(out, "token: ");
    assert_non_null(line);
    char secret[128];
    snprintf(secret, sizeof secret, "%.*s", (int)strcspn(line + 7, "\n"), line + 7);
    json_decref(api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 200));

    const char *list[] = {"token", "list", "--user", fx->user_text, NULL};
    assert_int_equal(lever_run(list, NULL, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "from-cli"));
    assert_null(strstr(out, secret));

    char id[16];
    snprintf(id, sizeof id, "%d", token_id);
    const char *revoke[] = {"token", "revoke", id, NULL};
    assert_int_equal(lever_run(revoke, NULL, out, sizeof out, err, sizeof err), 0);
    json_decref(api_expect(&fx->server, secret, "GET", "/api/v1/me", NULL, 401));
    assert_int_equal(lever_run(revoke, NULL, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "no live token"));
}

static void cli_refuses_bad_usage(void **state)
{
    (void)state;
    char out[2048], err[2048];
    const char *no_user[] = {"token", "create", "--name", "x", NULL};
    assert_int_equal(lever_run(no_user, NULL, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "--user"));
    const char *bad_user[] = {"token", "create", "--user", "12abc", "--name", "x", NULL};
    assert_int_equal(lever_run(bad_user, NULL, out, sizeof out, err, sizeof err), 2);
    const char *unknown_user[] = {"token", "create", "--user", "2147483000", "--name", "x", NULL};
    assert_int_equal(lever_run(unknown_user, NULL, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "no user with id 2147483000"));
    const char *bad_action[] = {"token", "steal", NULL};
    assert_int_equal(lever_run(bad_action, NULL, out, sizeof out, err, sizeof err), 2);
    const char *revoke_junk[] = {"token", "revoke", "1;DROP", NULL};
    assert_int_equal(lever_run(revoke_junk, NULL, out, sizeof out, err, sizeof err), 2);
    const char *help[] = {"token", "--help", NULL};
    assert_int_equal(lever_run(help, NULL, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "lever token create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(created_token_is_shown_once_and_stored_hashed),
        cmocka_unit_test(revoked_token_stops_working_at_once),
        cmocka_unit_test(expiring_token_ends_when_due),
        cmocka_unit_test(sql_fragments_are_just_text),
        cmocka_unit_test(bad_input_names_the_field_and_stores_nothing),
        cmocka_unit_test(list_is_paginated),
        cmocka_unit_test(cli_creates_lists_and_revokes),
        cmocka_unit_test(cli_refuses_bad_usage),
    };
    return cmocka_run_group_tests_name("tokens", tests, setup, teardown);
}
