/* test_auth.c — Discord login end to end against the Discord stand-in (tests/support/
 * discord_stub): state bound to the browser and single use, every failure a redirect with an
 * error code, the whitelist, users upserted with Discord's avatar rules, server-side sessions
 * (cookie attributes, expiry, logout) and the CSRF rule. Also unit tests of the pure parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "account_helpers.h"
#include "api/discord.h"
#include "api/session.h"
#include "discord_stub.h"
#include "lever_proc.h"

#define CLIENT_ID     "1092837465019283746"
#define CLIENT_SECRET "stub-client-secret-0123456789"
#define REDIRECT_HOST "http://lever.test"
#define REDIRECT_URI  REDIRECT_HOST "/auth/discord/callback"

struct fixture {
    struct discord_stub *discord;
    struct lever_proc server;
    struct lever_proc bad_secret;   /* configured with the wrong client secret */
    struct lever_proc dead_discord; /* Discord's API on a port nobody listens on */
};

/* Discord accounts used below. The whitelist allows the id of `by_id` and the domain
 * example.com (plus the single address solo@elsewhere.org). */
static const struct discord_stub_user nelly = {
    "80351110224678912", "nelly", "0", "8342729096ea3675442027381ff50dfe",
    "nelly@example.com", true};
static const struct discord_stub_user by_id = {
    "111111111111111111", "byid", "0", NULL, NULL, false};

/* ---- unit tests of the pure parts -------------------------------------------------------- */

static void avatar_urls_follow_discord_cdn_rules(void **state)
{
    (void)state;
    struct lv_discord_user user = {.id = "80351110224678912", .discriminator = "0"};
    char url[256];
    strcpy(user.avatar, "8342729096ea3675442027381ff50dfe");
    assert_int_equal(lv_discord_avatar_url(&user, url, sizeof url), 0);
    assert_string_equal(url, "https://cdn.discordapp.com/avatars/80351110224678912/"
                             "8342729096ea3675442027381ff50dfe.png");
    strcpy(user.avatar, "a_1269e74af4df7417b13759eae50c83dc");
    lv_discord_avatar_url(&user, url, sizeof url);
    assert_string_equal(url, "https://cdn.discordapp.com/avatars/80351110224678912/"
                             "a_1269e74af4df7417b13759eae50c83dc.gif");
    /* No hash, unique username: (id >> 22) % 6. 80351110224678912 >> 22 = 19157411168. */
    user.avatar[0] = '\0';
    lv_discord_avatar_url(&user, url, sizeof url);
    char expected[80];
    snprintf(expected, sizeof expected, "https://cdn.discordapp.com/embed/avatars/%llu.png",
             (80351110224678912ULL >> 22) % 6);
    assert_string_equal(url, expected);
    /* Legacy discriminator: discriminator % 5. */
    strcpy(user.discriminator, "1337");
    lv_discord_avatar_url(&user, url, sizeof url);
    assert_string_equal(url, "https://cdn.discordapp.com/embed/avatars/2.png");
}

static void whitelist_decisions(void **state)
{
    (void)state;
    struct lv_discord_user user = {.id = "42", .email = "Ann@Example.COM", .verified = true};
    struct lv_login_whitelist open = {"", "", ""};
    assert_null(lv_login_refusal(&open, &user));
    struct lv_login_whitelist rules = {" 7, 42 ", "solo@elsewhere.org", "@example.com"};
    assert_null(lv_login_refusal(&rules, &user)); /* by id, whatever the email */
    strcpy(user.id, "43");
    assert_null(lv_login_refusal(&rules, &user)); /* by domain, case-insensitive */
    user.verified = false;
    assert_string_equal(lv_login_refusal(&rules, &user), "email_unverified");
    user.verified = true;
    strcpy(user.email, "ann@sub.example.com"); /* sub-domains are not included */
    assert_string_equal(lv_login_refusal(&rules, &user), "not_allowed");
    strcpy(user.email, "SOLO@elsewhere.org");
    assert_null(lv_login_refusal(&rules, &user));
    user.email[0] = '\0';
    assert_string_equal(lv_login_refusal(&rules, &user), "email_required");
    struct lv_login_whitelist ids_only = {"7", "", ""};
    assert_string_equal(lv_login_refusal(&ids_only, &user), "not_allowed");
}

static void parse_user_checks_discord_fields(void **state)
{
    (void)state;
    struct lv_discord_user user;
    struct lv_error err;
    assert_int_equal(lv_discord_parse_user("{\"id\":\"80351110224678912\",\"username\":\"nelly\","
                                           "\"discriminator\":\"0\",\"avatar\":null,"
                                           "\"email\":\"n@example.com\",\"verified\":true}",
                                           &user, &err),
                     0);
    assert_string_equal(user.id, "80351110224678912");
    assert_string_equal(user.avatar, "");
    assert_string_equal(user.email, "n@example.com");
    assert_true(user.verified);
    /* No email scope: no email, not verified. */
    assert_int_equal(lv_discord_parse_user("{\"id\":\"1\",\"username\":\"x\"}", &user, &err), 0);
    assert_string_equal(user.email, "");
    assert_false(user.verified);
    assert_string_equal(user.discriminator, "0");
    /* Snowflakes are strings of digits; anything else is refused. */
    assert_int_equal(
        lv_discord_parse_user("{\"id\":80351110224678912,\"username\":\"x\"}", &user, &err), -1);
    assert_non_null(strstr(err.message, "id"));
    assert_int_equal(lv_discord_parse_user("{\"id\":\"1 OR 1=1\",\"username\":\"x\"}", &user, &err),
                     -1);
    assert_int_equal(lv_discord_parse_user("{\"id\":\"1\"}", &user, &err), -1);
    assert_non_null(strstr(err.message, "username"));
    assert_int_equal(lv_discord_parse_user("[]", &user, &err), -1);
    assert_int_equal(lv_discord_parse_user("{\"id\":\"1\",\"username\":\"x\",\"avatar\":"
                                           "\"../../x\"}",
                                           &user, &err),
                     -1);
}

static void cookies_are_parsed_and_formatted(void **state)
{
    (void)state;
    char value[64];
    assert_int_equal(
        lv_cookie_get("a=1; lever_session=abc; b=2", "lever_session", value, sizeof value), 1);
    assert_string_equal(value, "abc");
    assert_int_equal(lv_cookie_get("xlever_session=abc", "lever_session", value, sizeof value), 0);
    assert_int_equal(lv_cookie_get(NULL, "lever_session", value, sizeof value), 0);
    assert_int_equal(lv_cookie_get("lever_session=", "lever_session", value, sizeof value), 0);
    char cookie[256];
    assert_int_equal(lv_cookie_format(cookie, sizeof cookie, "s", "v", "/", 60, true), 0);
    assert_string_equal(cookie, "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
}

/* ---- the browser side of a login -------------------------------------------------------- */

struct login {
    long status;
    char location[2048];
    char session[128];     /* the session cookie's value, "" when none was set */
    char set_session[512]; /* its whole Set-Cookie header */
};

/* GET /auth/discord: returns Discord's authorize URL and the state cookie's value. */
static void begin_login(const struct lever_proc *server, const char *const *headers,
                        char *authorize_url, size_t url_cap, char *state_cookie, size_t cookie_cap)
{
    struct http_client_response res;
    api_send(server->base_url, "GET", "/auth/discord", headers, NULL, &res);
    assert_int_equal(res.status, 302);
    const char *location = http_client_header(&res, "Location");
    assert_non_null(location);
    snprintf(authorize_url, url_cap, "%s", location);
    assert_non_null(set_cookie_of(&res, "lever_oauth_state", state_cookie, cookie_cap));
    http_client_response_free(&res);
}

/* The user approves (or refuses) on Discord: returns the callback's path and query, as the
 * browser would request it from Lever. */
static void visit_discord(const char *authorize_url, char *callback_path, size_t cap)
{
    struct http_client_response res;
    api_send("", "GET", authorize_url, NULL, NULL, &res);
    assert_int_equal(res.status, 302);
    const char *location = http_client_header(&res, "Location");
    assert_non_null(location);
    assert_true(strncmp(location, REDIRECT_URI, strlen(REDIRECT_URI)) == 0);
    snprintf(callback_path, cap, "%s", location + strlen(REDIRECT_HOST));
    http_client_response_free(&res);
}

/* Requests the callback with the browser's state cookie (NULL = none). */
static void finish_login(const struct lever_proc *server, const char *callback_path,
                         const char *state_cookie, const char *extra_header, struct login *out)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie, "Cookie: lever_oauth_state=%s",
             state_cookie != NULL ? state_cookie : "");
    const char *headers[3] = {NULL};
    int n = 0;
    if (state_cookie != NULL)
        headers[n++] = cookie;
    if (extra_header != NULL)
        headers[n++] = extra_header;
    struct http_client_response res;
    api_send(server->base_url, "GET", callback_path, headers, NULL, &res);
    memset(out, 0, sizeof *out);
    out->status = res.status;
    const char *location = http_client_header(&res, "Location");
    snprintf(out->location, sizeof out->location, "%s", location != NULL ? location : "");
    const char *set = set_cookie_of(&res, "lever_session", out->session, sizeof out->session);
    snprintf(out->set_session, sizeof out->set_session, "%s", set != NULL ? set : "");
    /* The state cookie is deleted whatever the outcome. */
    const char *state_set = set_cookie_of(&res, "lever_oauth_state", NULL, 0);
    assert_non_null(state_set);
    assert_non_null(strstr(state_set, "Max-Age=0"));
    http_client_response_free(&res);
}

/* The whole flow as `user`. */
static void login_as(struct fixture *fx, const struct lever_proc *server,
                     const struct discord_stub_user *user, struct login *out)
{
    char authorize_url[2048], state[128], callback[2048];
    if (user != NULL)
        discord_stub_set_user(fx->discord, user);
    begin_login(server, NULL, authorize_url, sizeof authorize_url, state, sizeof state);
    visit_discord(authorize_url, callback, sizeof callback);
    finish_login(server, callback, state, NULL, out);
}

static void assert_login_error(const struct login *login, const char *code)
{
    char expected[128];
    snprintf(expected, sizeof expected, "/app/?auth_error=%s", code);
    assert_int_equal(login->status, 302);
    assert_string_equal(login->location, expected);
    assert_string_equal(login->session, "");
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int start_lever(struct lever_proc *proc, const char *discord_url, const char *secret,
                       const char *api_url)
{
    static char env[8][600];
    snprintf(env[0], sizeof env[0], "DISCORD_CLIENT_ID=%s", CLIENT_ID);
    snprintf(env[1], sizeof env[1], "DISCORD_CLIENT_SECRET=%s", secret);
    snprintf(env[2], sizeof env[2], "DISCORD_REDIRECT_URI=%s", REDIRECT_URI);
    snprintf(env[3], sizeof env[3], "DISCORD_API_URL=%s", api_url);
    snprintf(env[4], sizeof env[4], "DISCORD_AUTHORIZE_URL=%s/oauth2/authorize", discord_url);
    snprintf(env[5], sizeof env[5], "LEVER_UI_URL=/app/");
    snprintf(env[6], sizeof env[6], "LEVER_ALLOWED_DISCORD_IDS=%s, 222", by_id.id);
    snprintf(env[7], sizeof env[7], "LEVER_ALLOWED_EMAIL_DOMAINS=example.com");
    const char *extra[] = {env[0], env[1], env[2],
                           env[3], env[4], env[5],
                           env[6], env[7], "LEVER_ALLOWED_EMAILS=solo@elsewhere.org",
                           NULL};
    return lever_proc_start(proc, extra);
}

static int setup(void **state)
{
    static struct fixture fx;
    fx.discord = discord_stub_start(CLIENT_ID, CLIENT_SECRET);
    if (fx.discord == NULL)
        return -1;
    char api[128];
    snprintf(api, sizeof api, "%s/api", discord_stub_url(fx.discord));
    if (start_lever(&fx.server, discord_stub_url(fx.discord), CLIENT_SECRET, api) != 0 ||
        start_lever(&fx.bad_secret, discord_stub_url(fx.discord), "not-the-secret", api) != 0 ||
        start_lever(&fx.dead_discord, discord_stub_url(fx.discord), CLIENT_SECRET,
                    "http://127.0.0.1:1/api") != 0)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx == NULL)
        return 0;
    /* Each server must exit 0 on SIGTERM (under ASan: also without leaks). */
    int failed = lever_proc_stop(&fx->server) != 0;
    failed |= lever_proc_stop(&fx->bad_secret) != 0;
    failed |= lever_proc_stop(&fx->dead_discord) != 0;
    discord_stub_stop(fx->discord);
    return failed ? -1 : 0;
}

/* ---- the flow --------------------------------------------------------------------------- */

static void login_sends_browser_to_discord_with_a_state(void **state)
{
    struct fixture *fx = *state;
    char url[2048], cookie[128], prefix[256];
    begin_login(&fx->server, NULL, url, sizeof url, cookie, sizeof cookie);
    snprintf(prefix, sizeof prefix, "%s/oauth2/authorize?", discord_stub_url(fx->discord));
    assert_true(strncmp(url, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(url, "response_type=code"));
    assert_non_null(strstr(url, "client_id=" CLIENT_ID));
    assert_non_null(strstr(url, "scope=identify%20email"));
    assert_non_null(strstr(url, "redirect_uri=http%3A%2F%2Flever.test%2Fauth%2Fdiscord%2F"
                                "callback"));
    /* The state in the URL is the one in the cookie: 32 random bytes, base64url. */
    char expected[160];
    snprintf(expected, sizeof expected, "state=%s&", cookie);
    assert_non_null(strstr(url, expected));
    assert_int_equal(strlen(cookie), 43);
    /* A second login start gets a different state. */
    char url2[2048], cookie2[128];
    begin_login(&fx->server, NULL, url2, sizeof url2, cookie2, sizeof cookie2);
    assert_string_not_equal(cookie, cookie2);
}

static void state_cookie_is_httponly_lax_and_scoped(void **state)
{
    struct fixture *fx = *state;
    struct http_client_response res;
    api_send(fx->server.base_url, "GET", "/auth/discord", NULL, NULL, &res);
    const char *set = set_cookie_of(&res, "lever_oauth_state", NULL, 0);
    assert_non_null(set);
    assert_non_null(strstr(set, "; HttpOnly"));
    assert_non_null(strstr(set, "; SameSite=Lax"));
    assert_non_null(strstr(set, "; Path=/auth/discord"));
    assert_null(strstr(set, "Secure"));
    http_client_response_free(&res);
}

static void successful_login_creates_user_and_session(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    int token_requests = discord_stub_token_requests(fx->discord, NULL, 0);
    login_as(fx, &fx->server, &nelly, &login);
    assert_int_equal(login.status, 302);
    assert_string_equal(login.location, "/app/");
    assert_true(strncmp(login.session, "lvs_", 4) == 0);
    assert_non_null(strstr(login.set_session, "; Path=/;"));
    assert_non_null(strstr(login.set_session, "; HttpOnly"));
    assert_non_null(strstr(login.set_session, "; SameSite=Lax"));
    assert_non_null(strstr(login.set_session, "; Max-Age=2592000"));
    assert_null(strstr(login.set_session, "Secure"));

    /* Lever exchanged the code the way Discord requires. */
    char form[2048];
    assert_int_equal(discord_stub_token_requests(fx->discord, form, sizeof form),
                     token_requests + 1);
    assert_non_null(strstr(form, "grant_type=authorization_code"));
    assert_non_null(strstr(form, "redirect_uri=http%3A%2F%2Flever.test%2Fauth%2Fdiscord%2F"
                                 "callback"));

    long status;
    json_t *me = api_cookie_call(&fx->server, login.session, "GET", "/api/v1/me", NULL, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(me, "discord_id")), nelly.id);
    assert_string_equal(json_string_value(json_object_get(me, "username")), "nelly");
    assert_string_equal(json_string_value(json_object_get(me, "discriminator")), "0");
    assert_string_equal(json_string_value(json_object_get(me, "email")), "nelly@example.com");
    assert_string_equal(json_string_value(json_object_get(me, "avatar_url")),
                        "https://cdn.discordapp.com/avatars/80351110224678912/"
                        "8342729096ea3675442027381ff50dfe.png");
    assert_true(json_is_string(json_object_get(me, "last_login_at")));
    json_decref(me);
}

static void second_login_refreshes_the_same_user(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    struct discord_stub_user renamed = nelly;
    renamed.username = "nelly2";
    renamed.avatar = NULL;
    login_as(fx, &fx->server, &renamed, &login);
    assert_string_equal(login.location, "/app/");
    const char *params[] = {nelly.id};
    assert_int_equal(db_long("SELECT count(*) FROM users WHERE discord_id = $1", params[0]), 1);
    long status;
    json_t *me = api_cookie_call(&fx->server, login.session, "GET", "/api/v1/me", NULL, &status);
    assert_string_equal(json_string_value(json_object_get(me, "username")), "nelly2");
    char expected[80];
    snprintf(expected, sizeof expected, "https://cdn.discordapp.com/embed/avatars/%llu.png",
             (80351110224678912ULL >> 22) % 6);
    assert_string_equal(json_string_value(json_object_get(me, "avatar_url")), expected);
    json_decref(me);
}

static void session_token_is_stored_hashed(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    login_as(fx, &fx->server, &nelly, &login);
    const char *params[] = {login.session};
    assert_int_equal(db_long("SELECT count(*) FROM sessions WHERE token_hash = "
                             "sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL",
                             params[0]),
                     1);
    assert_int_equal(db_long("SELECT count(*) FROM sessions s WHERE position($1 in "
                             "s::text) > 0 OR position(encode(convert_to($1, 'UTF8'), 'hex') "
                             "in s::text) > 0",
                             params[0]),
                     0);
}

static void replayed_callback_is_refused(void **state)
{
    struct fixture *fx = *state;
    char url[2048], cookie[128], callback[2048];
    discord_stub_set_user(fx->discord, &nelly);
    begin_login(&fx->server, NULL, url, sizeof url, cookie, sizeof cookie);
    visit_discord(url, callback, sizeof callback);
    struct login first, again;
    finish_login(&fx->server, callback, cookie, NULL, &first);
    assert_string_equal(first.location, "/app/");
    finish_login(&fx->server, callback, cookie, NULL, &again);
    assert_login_error(&again, "invalid_state");
}

static void state_must_come_with_this_browsers_cookie(void **state)
{
    struct fixture *fx = *state;
    char url[2048], cookie[128], callback[2048], other_url[2048], other_cookie[128];
    discord_stub_set_user(fx->discord, &nelly);
    begin_login(&fx->server, NULL, url, sizeof url, cookie, sizeof cookie);
    visit_discord(url, callback, sizeof callback);
    struct login login;
    finish_login(&fx->server, callback, NULL, NULL, &login); /* no cookie: another browser */
    assert_login_error(&login, "invalid_state");
    begin_login(&fx->server, NULL, other_url, sizeof other_url, other_cookie, sizeof other_cookie);
    finish_login(&fx->server, callback, other_cookie, NULL, &login); /* someone else's */
    assert_login_error(&login, "invalid_state");
    /* An unknown state, even with a matching cookie. */
    finish_login(&fx->server,
                 "/auth/discord/callback?code=x&state="
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &login);
    assert_login_error(&login, "invalid_state");
}

/* Rewrites the state (and cookie) of one flow onto another flow's code. */
static void reused_code_is_invalid_grant(void **state)
{
    struct fixture *fx = *state;
    char url[2048], cookie[128], callback[2048];
    struct login login;
    discord_stub_set_user(fx->discord, &nelly);
    begin_login(&fx->server, NULL, url, sizeof url, cookie, sizeof cookie);
    visit_discord(url, callback, sizeof callback);
    finish_login(&fx->server, callback, cookie, NULL, &login);
    assert_string_equal(login.location, "/app/");
    /* A new login whose callback carries the already-used code. */
    const char *code = strstr(callback, "code=") + 5;
    char fresh_url[2048], fresh_cookie[128], replay[2048];
    begin_login(&fx->server, NULL, fresh_url, sizeof fresh_url, fresh_cookie, sizeof fresh_cookie);
    snprintf(replay, sizeof replay, "/auth/discord/callback?code=%.*s&state=%s",
             (int)strcspn(code, "&"), code, fresh_cookie);
    finish_login(&fx->server, replay, fresh_cookie, NULL, &login);
    assert_login_error(&login, "invalid_grant");
}

static void expired_code_is_invalid_grant(void **state)
{
    struct fixture *fx = *state;
    char url[2048], cookie[128], callback[2048];
    discord_stub_set_user(fx->discord, &nelly);
    begin_login(&fx->server, NULL, url, sizeof url, cookie, sizeof cookie);
    visit_discord(url, callback, sizeof callback);
    discord_stub_expire_codes(fx->discord);
    struct login login;
    finish_login(&fx->server, callback, cookie, NULL, &login);
    assert_login_error(&login, "invalid_grant");
}

static void refusal_on_discord_is_access_denied(void **state)
{
    struct fixture *fx = *state;
    discord_stub_refuse_next(fx->discord);
    struct login login;
    int before = discord_stub_token_requests(fx->discord, NULL, 0);
    login_as(fx, &fx->server, &nelly, &login);
    assert_login_error(&login, "access_denied");
    assert_int_equal(discord_stub_token_requests(fx->discord, NULL, 0), before);
}

static void whitelist_applies_at_login(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    /* Listed by id: allowed even without the email scope. */
    discord_stub_grant_scopes(fx->discord, "identify");
    login_as(fx, &fx->server, &by_id, &login);
    assert_string_equal(login.location, "/app/");
    /* Not listed, and Discord gave no email: email rules cannot be checked. */
    char stranger_id[24]; /* fresh each run, so "never stored" holds on a reused database */
    snprintf(stranger_id, sizeof stranger_id, "3%08u%09u", (unsigned)getpid() % 100000000u,
             (unsigned)time(NULL) % 1000000000u);
    struct discord_stub_user stranger = {stranger_id, "stranger", "0", NULL, "stranger@example.com",
                                         true};
    login_as(fx, &fx->server, &stranger, &login);
    assert_login_error(&login, "email_required");
    discord_stub_grant_scopes(fx->discord, NULL);
    /* An allowed domain, but the email is not verified. */
    stranger.verified = false;
    login_as(fx, &fx->server, &stranger, &login);
    assert_login_error(&login, "email_unverified");
    /* Verified, but in no allowed domain or list. */
    stranger.verified = true;
    stranger.email = "stranger@example.org";
    login_as(fx, &fx->server, &stranger, &login);
    assert_login_error(&login, "not_allowed");
    const char *params[] = {stranger.id};
    assert_int_equal(db_long("SELECT count(*) FROM users WHERE discord_id = $1", params[0]), 0);
    /* A listed address; and a domain match regardless of case. */
    stranger.email = "solo@elsewhere.org";
    login_as(fx, &fx->server, &stranger, &login);
    assert_string_equal(login.location, "/app/");
    stranger.email = "Stranger@EXAMPLE.com";
    login_as(fx, &fx->server, &stranger, &login);
    assert_string_equal(login.location, "/app/");
}

static void wrong_client_secret_is_a_clear_error(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    login_as(fx, &fx->bad_secret, &nelly, &login);
    assert_login_error(&login, "discord_misconfigured");
}

static void unreachable_discord_is_a_clear_error(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    login_as(fx, &fx->dead_discord, &nelly, &login);
    assert_login_error(&login, "discord_unavailable");
}

static void unconfigured_discord_is_a_clear_error(void **state)
{
    (void)state;
    struct lever_proc plain;
    assert_int_equal(lever_proc_start(&plain, NULL), 0);
    struct http_client_response res;
    api_send(plain.base_url, "GET", "/auth/discord", NULL, NULL, &res);
    assert_int_equal(res.status, 302);
    assert_string_equal(http_client_header(&res, "Location"),
                        "/?auth_error=discord_not_configured");
    http_client_response_free(&res);
    assert_int_equal(lever_proc_stop(&plain), 0);
}

/* Junk in the callback's query always ends on the error redirect, never a 5xx. */
static void hostile_callback_parameters_end_in_redirects(void **state)
{
    struct fixture *fx = *state;
    char huge[6000] = "/auth/discord/callback?state=";
    memset(huge + strlen(huge), 'A', 5000);
    char cookie_header[200], url[2048], cookie[128];
    begin_login(&fx->server, NULL, url, sizeof url, cookie, sizeof cookie);
    char huge_code[1200] = "";
    snprintf(huge_code, sizeof huge_code, "/auth/discord/callback?state=%s&code=", cookie);
    memset(huge_code + strlen(huge_code), 'c', 700); /* longer than any Discord code */
    const char *paths[] = {
        "/auth/discord/callback",
        "/auth/discord/callback?code=abc",
        "/auth/discord/callback?state=%27%3B%20DROP%20TABLE%20users%3B--&code=x",
        "/auth/discord/callback?error=%3Cscript%3E&state=x",
        "/auth/discord/callback?state=&code=",
        huge,
        huge_code,
    };
    snprintf(cookie_header, sizeof cookie_header, "Cookie: lever_oauth_state=%s", cookie);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *headers[] = {cookie_header, NULL};
        struct http_client_response res;
        api_send(fx->server.base_url, "GET", paths[i], headers, NULL, &res);
        assert_int_equal(res.status, 302);
        const char *location = http_client_header(&res, "Location");
        assert_non_null(location);
        assert_true(strncmp(location, "/app/?auth_error=", 17) == 0);
        assert_null(set_cookie_of(&res, "lever_session", NULL, 0));
        http_client_response_free(&res);
    }
    assert_int_equal(db_long("SELECT count(*) FROM users WHERE discord_id = '0'", NULL), 0);
}

static void logout_revokes_the_session(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    login_as(fx, &fx->server, &nelly, &login);
    long status;
    json_decref(api_cookie_call(&fx->server, login.session, "GET", "/api/v1/me", NULL, &status));
    assert_int_equal(status, 200);
    /* With the cookie, logout is a state change: it needs the JSON content type. */
    char cookie[200];
    snprintf(cookie, sizeof cookie, "Cookie: lever_session=%s", login.session);
    const char *bare[] = {cookie, NULL};
    struct http_client_response res;
    api_send(fx->server.base_url, "POST", "/auth/logout", bare, NULL, &res);
    assert_int_equal(res.status, 415);
    http_client_response_free(&res);
    const char *with_json[] = {cookie, "Content-Type: application/json", NULL};
    api_send(fx->server.base_url, "POST", "/auth/logout", with_json, NULL, &res);
    assert_int_equal(res.status, 204);
    const char *cleared = set_cookie_of(&res, "lever_session", NULL, 0);
    assert_non_null(cleared);
    assert_non_null(strstr(cleared, "Max-Age=0"));
    http_client_response_free(&res);
    json_t *doc = api_cookie_call(&fx->server, login.session, "GET", "/api/v1/me", NULL, &status);
    assert_int_equal(status, 401);
    assert_true(api_error_has(doc, "unauthorized", NULL));
    json_decref(doc);
    const char *params[] = {login.session};
    assert_int_equal(db_long("SELECT count(*) FROM sessions WHERE token_hash = "
                             "sha256(convert_to($1, 'UTF8')) AND revoked_at IS NOT NULL",
                             params[0]),
                     1);
}

static void cookie_state_changes_need_json(void **state)
{
    struct fixture *fx = *state;
    struct login login;
    login_as(fx, &fx->server, &nelly, &login);
    char cookie[200];
    snprintf(cookie, sizeof cookie, "Cookie: lever_session=%s", login.session);
    /* A cross-site form can send a body-less DELETE or a text/plain POST; both are refused. */
    const char *bare[] = {cookie, NULL};
    struct http_client_response res;
    api_send(fx->server.base_url, "DELETE", "/api/v1/api-tokens/1", bare, NULL, &res);
    assert_int_equal(res.status, 415);
    http_client_response_free(&res);
    const char *form[] = {cookie, "Content-Type: text/plain", NULL};
    api_send(fx->server.base_url, "PATCH", "/api/v1/me", form, "{\"username\":\"csrf\"}", &res);
    assert_int_equal(res.status, 415);
    http_client_response_free(&res);
    long status;
    json_t *me = api_cookie_call(&fx->server, login.session, "GET", "/api/v1/me", NULL, &status);
    assert_string_not_equal(json_string_value(json_object_get(me, "username")), "csrf");
    json_decref(me);
    /* The same change with the JSON content type goes through. */
    me = api_cookie_call(&fx->server, login.session, "PATCH", "/api/v1/me",
                         "{\"preferences\":{\"theme\":\"dark\"}}", &status);
    assert_int_equal(status, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(me, "preferences"), "theme")), "dark");
    json_decref(me);
}

static void cookies_are_secure_over_https(void **state)
{
    struct fixture *fx = *state;
    const char *https[] = {"X-Forwarded-Proto: https", NULL};
    char url[2048], cookie[128], callback[2048];
    discord_stub_set_user(fx->discord, &nelly);
    struct http_client_response res;
    api_send(fx->server.base_url, "GET", "/auth/discord", https, NULL, &res);
    assert_non_null(strstr(set_cookie_of(&res, "lever_oauth_state", NULL, 0), "; Secure"));
    http_client_response_free(&res);
    begin_login(&fx->server, https, url, sizeof url, cookie, sizeof cookie);
    visit_discord(url, callback, sizeof callback);
    struct login login;
    finish_login(&fx->server, callback, cookie, "X-Forwarded-Proto: https", &login);
    assert_string_equal(login.location, "/app/");
    assert_non_null(strstr(login.set_session, "; Secure"));
}

static void sessions_expire_when_idle_and_at_their_end(void **state)
{
    struct fixture *fx = *state;
    struct login idle, old;
    login_as(fx, &fx->server, &nelly, &idle);
    login_as(fx, &fx->server, &nelly, &old);
    const char *idle_params[] = {idle.session}, *old_params[] = {old.session};
    db_exec("UPDATE sessions SET last_seen_at = CURRENT_TIMESTAMP - interval '73 hours' "
            "WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
            idle_params[0]);
    db_exec("UPDATE sessions SET expires_at = CURRENT_TIMESTAMP - interval '1 second' "
            "WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
            old_params[0]);
    long status;
    json_decref(api_cookie_call(&fx->server, idle.session, "GET", "/api/v1/me", NULL, &status));
    assert_int_equal(status, 401);
    json_decref(api_cookie_call(&fx->server, old.session, "GET", "/api/v1/me", NULL, &status));
    assert_int_equal(status, 401);
    /* Use within the idle window slides it forward. */
    struct login active;
    login_as(fx, &fx->server, &nelly, &active);
    const char *active_params[] = {active.session};
    db_exec("UPDATE sessions SET last_seen_at = CURRENT_TIMESTAMP - interval '71 hours' "
            "WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
            active_params[0]);
    json_decref(api_cookie_call(&fx->server, active.session, "GET", "/api/v1/me", NULL, &status));
    assert_int_equal(status, 200);
    assert_int_equal(db_long("SELECT count(*) FROM sessions WHERE token_hash = "
                             "sha256(convert_to($1, 'UTF8')) AND last_seen_at > "
                             "CURRENT_TIMESTAMP - interval '1 hour'",
                             active_params[0]),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(avatar_urls_follow_discord_cdn_rules),
        cmocka_unit_test(whitelist_decisions),
        cmocka_unit_test(parse_user_checks_discord_fields),
        cmocka_unit_test(cookies_are_parsed_and_formatted),
        cmocka_unit_test(login_sends_browser_to_discord_with_a_state),
        cmocka_unit_test(state_cookie_is_httponly_lax_and_scoped),
        cmocka_unit_test(successful_login_creates_user_and_session),
        cmocka_unit_test(second_login_refreshes_the_same_user),
        cmocka_unit_test(session_token_is_stored_hashed),
        cmocka_unit_test(replayed_callback_is_refused),
        cmocka_unit_test(state_must_come_with_this_browsers_cookie),
        cmocka_unit_test(reused_code_is_invalid_grant),
        cmocka_unit_test(expired_code_is_invalid_grant),
        cmocka_unit_test(refusal_on_discord_is_access_denied),
        cmocka_unit_test(whitelist_applies_at_login),
        cmocka_unit_test(wrong_client_secret_is_a_clear_error),
        cmocka_unit_test(unreachable_discord_is_a_clear_error),
        cmocka_unit_test(unconfigured_discord_is_a_clear_error),
        cmocka_unit_test(hostile_callback_parameters_end_in_redirects),
        cmocka_unit_test(logout_revokes_the_session),
        cmocka_unit_test(cookie_state_changes_need_json),
        cmocka_unit_test(cookies_are_secure_over_https),
        cmocka_unit_test(sessions_expire_when_idle_and_at_their_end),
    };
    return cmocka_run_group_tests_name("auth", tests, setup, teardown);
}
