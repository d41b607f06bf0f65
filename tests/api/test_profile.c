/* test_profile.c — GET/PATCH /api/v1/me: username, avatar URL and preferences change, every
 * bad field is named in one 400 and nothing is stored, and a later Discord login keeps what
 * the user chose (the login side is covered in test_auth). */
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
    char user_text[16];
};

static int setup(void **state)
{
    static struct fixture fx;
    if (lever_proc_start(&fx.server, NULL) != 0)
        return -1;
    int user_id = lever_create_user("profile-owner", fx.token, sizeof fx.token);
    if (user_id < 0)
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

static void patch_changes_the_given_fields_only(void **state)
{
    struct fixture *fx = *state;
    json_t *me = api_expect(&fx->server, fx->token, "PATCH", "/api/v1/me",
                            "{\"username\":\"Renée\",\"preferences\":{\"theme\":\"dark\","
                            "\"chart\":{\"log\":true}}}",
                            200);
    assert_string_equal(json_string_value(json_object_get(me, "username")), "Renée");
    json_t *prefs = json_object_get(me, "preferences");
    assert_string_equal(json_string_value(json_object_get(prefs, "theme")), "dark");
    assert_true(json_is_true(json_object_get(json_object_get(prefs, "chart"), "log")));
    json_decref(me);
    me = api_expect(&fx->server, fx->token, "PATCH", "/api/v1/me",
                    "{\"avatar_url\":\"https://cdn.example.com/a.png\"}", 200);
    assert_string_equal(json_string_value(json_object_get(me, "username")), "Renée");
    assert_string_equal(json_string_value(json_object_get(me, "avatar_url")),
                        "https://cdn.example.com/a.png");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(me, "preferences"), "theme")), "dark");
    json_decref(me);
    /* null goes back to Discord's avatar (none for a local user); {} is a valid no-op. */
    me = api_expect(&fx->server, fx->token, "PATCH", "/api/v1/me", "{\"avatar_url\":null}", 200);
    assert_true(json_is_null(json_object_get(me, "avatar_url")));
    json_decref(me);
    json_decref(api_expect(&fx->server, fx->token, "PATCH", "/api/v1/me", "{}", 200));
    me = api_expect(&fx->server, fx->token, "GET", "/api/v1/me", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(me, "username")), "Renée");
    json_decref(me);
    assert_int_equal(db_long("SELECT count(*) FROM users WHERE id = $1::int AND "
                             "username_set_by_user AND NOT avatar_set_by_user",
                             fx->user_text),
                     1);
}

static void bad_fields_are_all_named_and_nothing_changes(void **state)
{
    struct fixture *fx = *state;
    json_t *before = api_expect(&fx->server, fx->token, "GET", "/api/v1/me", NULL, 200);
    char *huge = malloc(120000);
    strcpy(huge, "{\"preferences\":{\"blob\":\"");
    size_t at = strlen(huge);
    memset(huge + at, 'x', 70000);
    strcpy(huge + at + 70000, "\"}}");
    const struct {
        const char *body;
        const char *path;
    } cases[] = {
        {"{\"username\":42}", "/username"},
        {"{\"username\":null}", "/username"},
        {"{\"username\":\"\"}", "/username"},
        {"{\"username\":\"line\\nbreak\"}", "/username"},
        {"{\"avatar_url\":\"javascript:alert(1)\"}", "/avatar_url"},
        {"{\"avatar_url\":\"http://insecure.example.com/a.png\"}", "/avatar_url"},
        {"{\"avatar_url\":\"https://x.example.com/\\\"onerror=\"}", "/avatar_url"},
        {"{\"avatar_url\":7}", "/avatar_url"},
        {"{\"preferences\":[1,2]}", "/preferences"},
        {"{\"preferences\":\"dark\"}", "/preferences"},
        {"{\"discord_id\":\"1\"}", "/discord_id"},
        {"{\"id\":1}", "/id"},
        {"{\"email\":\"x@y.z\"}", "/email"},
        {"\"just a string\"", ""},
        {huge, "/preferences"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long status;
        json_t *doc =
            api_call(&fx->server, fx->token, "PATCH", "/api/v1/me", cases[i].body, &status);
        if (status != 400 || !api_error_has(doc, "validation_failed", cases[i].path))
            fail_msg("case %zu: status %ld, no problem at %s", i, status, cases[i].path);
        json_decref(doc);
    }
    free(huge);
    /* Several bad fields at once: every one is named, and the good one is not applied. */
    long status;
    json_t *doc = api_call(&fx->server, fx->token, "PATCH", "/api/v1/me",
                           "{\"username\":\"fine\",\"avatar_url\":1,\"preferences\":2,"
                           "\"role\":\"admin\"}",
                           &status);
    assert_int_equal(status, 400);
    assert_true(api_error_has(doc, "validation_failed", "/avatar_url"));
    assert_true(api_error_has(doc, "validation_failed", "/preferences"));
    assert_true(api_error_has(doc, "validation_failed", "/role"));
    json_decref(doc);
    json_t *after = api_expect(&fx->server, fx->token, "GET", "/api/v1/me", NULL, 200);
    json_object_del(before, "updated_at");
    json_object_del(after, "updated_at");
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

static void sql_fragments_are_stored_as_text(void **state)
{
    struct fixture *fx = *state;
    long users = db_long("SELECT count(*) FROM users", NULL);
    json_t *me = api_expect(&fx->server, fx->token, "PATCH", "/api/v1/me",
                            "{\"username\":\"bob'); DELETE FROM users; --\","
                            "\"preferences\":{\"q\":\"' OR 1=1 --\"}}",
                            200);
    assert_string_equal(json_string_value(json_object_get(me, "username")),
                        "bob'); DELETE FROM users; --");
    json_decref(me);
    assert_true(db_long("SELECT count(*) FROM users", NULL) >= users);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patch_changes_the_given_fields_only),
        cmocka_unit_test(bad_fields_are_all_named_and_nothing_changes),
        cmocka_unit_test(sql_fragments_are_stored_as_text),
    };
    return cmocka_run_group_tests_name("profile", tests, setup, teardown);
}
