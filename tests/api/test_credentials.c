/* test_credentials.c — Alpaca credentials per user and mode: sealed at rest (a pg_dump of
 * the whole database holds neither the key id nor the secret), verified against the Alpaca
 * stand-in (tests/support/alpaca_stub), shown only as the key id's last 4 characters,
 * deleted on request, private to their owner, bad input refused. Also unit tests of the
 * secretbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account_helpers.h"
#include "alpaca_stub.h"
#include "api/credentials.h"
#include "api/secretbox.h"
#include "lever_proc.h"

#define PAPER_KEY    "PKTESTPAPER7Q2M9ZXCV"
#define PAPER_SECRET "paperSecret0123456789abcdefghijklmnopqrs"
#define LIVE_KEY     "AKTESTLIVE4W8N1BHJKL"
#define LIVE_SECRET  "liveSecret0123456789ABCDEFGHIJKLMNOPQRS"

struct fixture {
    struct alpaca_stub *paper;
    struct alpaca_stub *live;
    struct lever_proc server;
    char secret_key[64];
    char token[128];
    char other_token[128];
    int user_id;
    char user_text[16];
};

/* ---- secretbox ---------------------------------------------------------------------------- */

static void secretbox_round_trips_and_refuses_tampering(void **state)
{
    (void)state;
    unsigned char key[32], other_key[32];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other_key, sizeof other_key);
    size_t len1, len2, plain_len;
    unsigned char *box1 = lv_secretbox_seal(key, "ctx", "secret!", 7, &len1);
    unsigned char *box2 = lv_secretbox_seal(key, "ctx", "secret!", 7, &len2);
    assert_int_equal(len1, 7 + LV_SECRETBOX_OVERHEAD);
    /* A fresh nonce each time: the same plaintext never seals the same way twice. */
    assert_memory_not_equal(box1, box2, len1);
    assert_null(memmem(box1, len1, "secret!", 7));
    struct lv_error err;
    char *plain = lv_secretbox_open(key, "ctx", box1, len1, &plain_len, &err);
    assert_non_null(plain);
    assert_int_equal(plain_len, 7);
    assert_string_equal(plain, "secret!");
    free(plain);
    assert_null(lv_secretbox_open(other_key, "ctx", box1, len1, &plain_len, &err));
    assert_non_null(strstr(err.message, "LEVER_SECRET_KEY"));
    assert_null(lv_secretbox_open(key, "other context", box1, len1, &plain_len, &err));
    box1[len1 - 1] ^= 1;
    assert_null(lv_secretbox_open(key, "ctx", box1, len1, &plain_len, &err));
    assert_null(lv_secretbox_open(key, "ctx", box2, 10, &plain_len, &err));
    assert_non_null(strstr(err.message, "truncated"));
    free(box1);
    free(box2);
}

/* ---- fixture ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    static struct fixture fx;
    fx.paper = alpaca_stub_start(PAPER_KEY, PAPER_SECRET);
    fx.live = alpaca_stub_start(LIVE_KEY, LIVE_SECRET);
    if (fx.paper == NULL || fx.live == NULL)
        return -1;
    /* Paper keys sent to the live host are refused with 403, as Alpaca does. */
    alpaca_stub_add_foreign_key(fx.live, PAPER_KEY);
    random_secret_key(fx.secret_key);
    static char env[3][200];
    snprintf(env[0], sizeof env[0], "LEVER_SECRET_KEY=%s", fx.secret_key);
    snprintf(env[1], sizeof env[1], "ALPACA_PAPER_URL=%s", alpaca_stub_url(fx.paper));
    snprintf(env[2], sizeof env[2], "ALPACA_LIVE_URL=%s", alpaca_stub_url(fx.live));
    const char *extra[] = {env[0], env[1], env[2], NULL};
    if (lever_proc_start(&fx.server, extra) != 0)
        return -1;
    fx.user_id = lever_create_user("creds-owner", fx.token, sizeof fx.token);
    if (fx.user_id < 0 ||
        lever_create_user("creds-other", fx.other_token, sizeof fx.other_token) < 0)
        return -1;
    snprintf(fx.user_text, sizeof fx.user_text, "%d", fx.user_id);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx == NULL)
        return 0;
    int failed = lever_proc_stop(&fx->server) != 0; /* exit 0, and no leaks under ASan */
    alpaca_stub_stop(fx->paper);
    alpaca_stub_stop(fx->live);
    return failed ? -1 : 0;
}

static void put_pair(struct fixture *fx, const char *mode, const char *key_id, const char *secret,
                     long expected, json_t **answer)
{
    char body[512], path[512];
    snprintf(body, sizeof body, "{\"key_id\":\"%s\",\"secret\":\"%s\"}", key_id, secret);
    json_t *doc =
        api_expect(&fx->server, fx->token, "PUT",
                   api_path(path, "/api/v1/me/alpaca-credentials/%s", mode), body, expected);
    if (answer != NULL)
        *answer = doc;
    else
        json_decref(doc);
}

/* The answer shows the last 4 of the key id, never the key id or the secret. */
static void assert_masked(json_t *doc, const char *mode, const char *last4)
{
    assert_string_equal(json_string_value(json_object_get(doc, "mode")), mode);
    assert_string_equal(json_string_value(json_object_get(doc, "key_id_last4")), last4);
    assert_true(json_is_string(json_object_get(doc, "saved_at")));
    char *text = json_dumps(doc, 0);
    assert_null(strstr(text, PAPER_KEY));
    assert_null(strstr(text, PAPER_SECRET));
    assert_null(strstr(text, LIVE_KEY));
    assert_null(strstr(text, LIVE_SECRET));
    free(text);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void saved_keys_are_verified_and_masked(void **state)
{
    struct fixture *fx = *state;
    int calls = alpaca_stub_account_requests(fx->paper);
    json_t *doc;
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, &doc);
    assert_masked(doc, "paper", "ZXCV");
    assert_true(json_is_true(json_object_get(doc, "verified")));
    assert_true(json_is_string(json_object_get(doc, "verified_at")));
    assert_true(json_is_null(json_object_get(doc, "verification_error")));
    json_decref(doc);
    assert_int_equal(alpaca_stub_account_requests(fx->paper), calls + 1);

    doc =
        api_expect(&fx->server, fx->token, "GET", "/api/v1/me/alpaca-credentials/paper", NULL, 200);
    assert_masked(doc, "paper", "ZXCV");
    assert_true(json_is_true(json_object_get(doc, "verified")));
    json_decref(doc);
    doc = api_expect(&fx->server, fx->token, "GET", "/api/v1/me/alpaca-credentials", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "items")), 1);
    json_decref(doc);
}

static void rejected_keys_are_saved_unverified(void **state)
{
    struct fixture *fx = *state;
    json_t *doc;
    /* Paper keys on the live host: 403 from Alpaca. */
    put_pair(fx, "live", PAPER_KEY, PAPER_SECRET, 200, &doc);
    assert_masked(doc, "live", "ZXCV");
    assert_true(json_is_false(json_object_get(doc, "verified")));
    assert_true(json_is_null(json_object_get(doc, "verified_at")));
    assert_non_null(strstr(json_string_value(json_object_get(doc, "verification_error")), "403"));
    json_decref(doc);
    /* A wrong secret: 401. */
    put_pair(fx, "live", LIVE_KEY, "wrongSecret000000000000", 200, &doc);
    assert_masked(doc, "live", "HJKL");
    assert_true(json_is_false(json_object_get(doc, "verified")));
    const char *why = json_string_value(json_object_get(doc, "verification_error"));
    assert_non_null(strstr(why, "401"));
    assert_non_null(strstr(why, "request is not authorized"));
    json_decref(doc);
    /* The right pair replaces it and verifies. */
    put_pair(fx, "live", LIVE_KEY, LIVE_SECRET, 200, &doc);
    assert_true(json_is_true(json_object_get(doc, "verified")));
    json_decref(doc);
}

/* Reads the pair back with the server's key, as trading code will. */
static void stored_pair_opens_with_the_key_only(void **state)
{
    struct fixture *fx = *state;
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, NULL);
    unsigned char key[32];
    size_t key_len = 0;
    assert_int_equal(sodium_base642bin(key, sizeof key, fx->secret_key, strlen(fx->secret_key),
                                       NULL, &key_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    struct lv_db_error err;
    PGconn *conn = lv_db_connect(lever_test_env("DATABASE_URL"), &err);
    assert_non_null(conn);
    char key_id[LV_ALPACA_KEY_ID_MAX + 1], secret[LV_ALPACA_SECRET_MAX + 1];
    assert_int_equal(lv_credentials_load(conn, key, fx->user_id, "paper", key_id, secret, &err), 1);
    assert_string_equal(key_id, PAPER_KEY);
    assert_string_equal(secret, PAPER_SECRET);
    assert_int_equal(
        lv_credentials_load(conn, key, fx->user_id + 100000, "paper", key_id, secret, &err), 0);
    /* A box moved to another field does not open (its context names the field). */
    const char *params[] = {fx->user_text};
    assert_int_equal(lv_db_exec(conn,
                                "UPDATE user_alpaca_credentials SET secret_sealed = "
                                "key_id_sealed WHERE user_id = $1 AND mode = 'paper'",
                                1, params, &err),
                     0);
    assert_int_equal(lv_credentials_load(conn, key, fx->user_id, "paper", key_id, secret, &err),
                     -1);
    /* Another key opens nothing. */
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, NULL);
    key[0] ^= 1;
    assert_int_equal(lv_credentials_load(conn, key, fx->user_id, "paper", key_id, secret, &err),
                     -1);
    PQfinish(conn);
}

static void every_write_uses_a_fresh_nonce(void **state)
{
    struct fixture *fx = *state;
    char first[512], second[512];
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, NULL);
    PGconn *conn = PQconnectdb(lever_test_env("DATABASE_URL"));
    const char *params[] = {fx->user_text};
    const char *sql = "SELECT encode(key_id_sealed, 'hex') || encode(secret_sealed, 'hex') FROM "
                      "user_alpaca_credentials WHERE user_id = $1 AND mode = 'paper'";
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQntuples(res), 1);
    snprintf(first, sizeof first, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, NULL);
    res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    snprintf(second, sizeof second, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    assert_string_not_equal(first, second);
    /* nonce (24) + tag (16) + the key id's 20 bytes, in hex. */
    assert_int_equal(strlen(first), 2 * (40 + 20) + 2 * (40 + strlen(PAPER_SECRET)));
}

/* Whatever of the key id or secret could sit in a dump: as text, hex or base64. */
static void assert_absent(const char *dump, const char *secret)
{
    char hex[512], b64[512];
    sodium_bin2hex(hex, sizeof hex, (const unsigned char *)secret, strlen(secret));
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)secret, strlen(secret),
                      sodium_base64_VARIANT_ORIGINAL);
    b64[strlen(b64) - 4] = '\0'; /* padding differs with the surrounding bytes */
    if (strstr(dump, secret) != NULL || strstr(dump, hex) != NULL || strstr(dump, b64) != NULL)
        fail_msg("the database dump contains \"%s\" in some form", secret);
}

static void database_dump_holds_no_secret(void **state)
{
    struct fixture *fx = *state;
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, NULL);
    put_pair(fx, "live", LIVE_KEY, LIVE_SECRET, 200, NULL);
    char command[2048], path[] = "/tmp/lever-dump-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    snprintf(command, sizeof command,
             "pg_dump=$(ls /usr/lib/postgresql/*/bin/pg_dump | sort -V | tail -n 1); "
             "\"$pg_dump\" --data-only --dbname='%s' > %s",
             lever_test_env("DATABASE_URL"), path);
    assert_int_equal(system(command), 0);
    FILE *file = fdopen(fd, "r");
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    char *dump = malloc((size_t)size + 1);
    assert_int_equal(fread(dump, 1, (size_t)size, file), (size_t)size);
    dump[size] = '\0';
    fclose(file);
    unlink(path);
    /* The dump really has the table and our rows (so the check below means something). */
    assert_non_null(strstr(dump, "user_alpaca_credentials"));
    assert_non_null(strstr(dump, "ZXCV"));
    assert_non_null(strstr(dump, "HJKL"));
    assert_absent(dump, PAPER_KEY);
    assert_absent(dump, PAPER_SECRET);
    assert_absent(dump, LIVE_KEY);
    assert_absent(dump, LIVE_SECRET);
    free(dump);
}

static void delete_and_ownership(void **state)
{
    struct fixture *fx = *state;
    put_pair(fx, "paper", PAPER_KEY, PAPER_SECRET, 200, NULL);
    /* Another user sees and deletes nothing of it. */
    json_t *doc = api_expect(&fx->server, fx->other_token, "GET",
                             "/api/v1/me/alpaca-credentials/paper", NULL, 404);
    assert_true(api_error_has(doc, "not_found", NULL));
    json_decref(doc);
    json_decref(api_expect(&fx->server, fx->other_token, "DELETE",
                           "/api/v1/me/alpaca-credentials/paper", NULL, 404));
    doc =
        api_expect(&fx->server, fx->other_token, "GET", "/api/v1/me/alpaca-credentials", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "items")), 0);
    json_decref(doc);
    /* The owner's delete removes the row. */
    json_decref(api_expect(&fx->server, fx->token, "DELETE", "/api/v1/me/alpaca-credentials/paper",
                           NULL, 204));
    json_decref(api_expect(&fx->server, fx->token, "GET", "/api/v1/me/alpaca-credentials/paper",
                           NULL, 404));
    json_decref(api_expect(&fx->server, fx->token, "DELETE", "/api/v1/me/alpaca-credentials/paper",
                           NULL, 404));
    assert_int_equal(db_long("SELECT count(*) FROM user_alpaca_credentials WHERE user_id = "
                             "$1::int AND mode = 'paper'",
                             fx->user_text),
                     0);
}

static void bad_input_names_the_field_and_stores_nothing(void **state)
{
    struct fixture *fx = *state;
    json_decref(api_call(&fx->server, fx->token, "DELETE", "/api/v1/me/alpaca-credentials/paper",
                         NULL, &(long){0}));
    int calls = alpaca_stub_account_requests(fx->paper);
    char *huge = malloc(300000);
    strcpy(huge, "{\"key_id\":\"");
    memset(huge + 11, 'K', 200000);
    strcpy(huge + 11 + 200000, "\",\"secret\":\"" PAPER_SECRET "\"}");
    const struct {
        const char *body;
        const char *path;
    } cases[] = {
        {"{\"key_id\":\"PK'; DROP TABLE users;--\",\"secret\":\"" PAPER_SECRET "\"}", "/key_id"},
        {"{\"key_id\":12345678,\"secret\":\"" PAPER_SECRET "\"}", "/key_id"},
        {"{\"key_id\":\"" PAPER_KEY "\",\"secret\":true}", "/secret"},
        {"{\"key_id\":\"" PAPER_KEY "\",\"secret\":\"has space 12345\"}", "/secret"},
        {"{\"key_id\":\"" PAPER_KEY "\"}", "/secret"},
        {"{\"secret\":\"" PAPER_SECRET "\"}", "/key_id"},
        {"{\"key_id\":\"PK1\",\"secret\":\"" PAPER_SECRET "\"}", "/key_id"},
        {"{\"key_id\":\"" PAPER_KEY "\",\"secret\":\"" PAPER_SECRET "\",\"mode\":\"live\"}",
         "/mode"},
        {"[1,2]", ""},
        {huge, "/key_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long status;
        json_t *doc = api_call(&fx->server, fx->token, "PUT", "/api/v1/me/alpaca-credentials/paper",
                               cases[i].body, &status);
        assert_int_equal(status, 400);
        if (!api_error_has(doc, "validation_failed", cases[i].path))
            fail_msg("case %zu: no problem at %s", i, cases[i].path);
        json_decref(doc);
    }
    free(huge);
    long status;
    json_t *doc =
        api_call(&fx->server, fx->token, "PUT", "/api/v1/me/alpaca-credentials/demo",
                 "{\"key_id\":\"" PAPER_KEY "\",\"secret\":\"" PAPER_SECRET "\"}", &status);
    assert_int_equal(status, 400);
    assert_true(api_error_has(doc, "validation_failed", "mode"));
    json_decref(doc);
    doc = api_call(&fx->server, fx->token, "GET",
                   "/api/v1/me/alpaca-credentials/paper%27%20OR%201=1", NULL, &status);
    assert_int_equal(status, 400);
    json_decref(doc);
    assert_int_equal(db_long("SELECT count(*) FROM user_alpaca_credentials WHERE user_id = "
                             "$1::int",
                             fx->user_text),
                     1); /* the live pair of the earlier tests, nothing new */
    assert_int_equal(alpaca_stub_account_requests(fx->paper), calls);
}

static void server_without_secret_key_refuses_to_store(void **state)
{
    struct fixture *fx = *state;
    static char paper_url[200];
    snprintf(paper_url, sizeof paper_url, "ALPACA_PAPER_URL=%s", alpaca_stub_url(fx->paper));
    const char *extra[] = {"LEVER_SECRET_KEY=", paper_url, NULL};
    struct lever_proc keyless;
    assert_int_equal(lever_proc_start(&keyless, extra), 0);
    long status;
    json_t *doc =
        api_call(&keyless, fx->other_token, "PUT", "/api/v1/me/alpaca-credentials/paper",
                 "{\"key_id\":\"" PAPER_KEY "\",\"secret\":\"" PAPER_SECRET "\"}", &status);
    assert_int_equal(status, 503);
    assert_true(api_error_has(doc, "encryption_unavailable", NULL));
    json_decref(doc);
    assert_int_equal(lever_proc_stop(&keyless), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secretbox_round_trips_and_refuses_tampering),
        cmocka_unit_test(saved_keys_are_verified_and_masked),
        cmocka_unit_test(rejected_keys_are_saved_unverified),
        cmocka_unit_test(stored_pair_opens_with_the_key_only),
        cmocka_unit_test(every_write_uses_a_fresh_nonce),
        cmocka_unit_test(database_dump_holds_no_secret),
        cmocka_unit_test(delete_and_ownership),
        cmocka_unit_test(bad_input_names_the_field_and_stores_nothing),
        cmocka_unit_test(server_without_secret_key_refuses_to_store),
    };
    return cmocka_run_group_tests_name("credentials", tests, setup, teardown);
}
