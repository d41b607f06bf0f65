/* routes_auth.c — browser login with Discord (authorization-code flow with a single-use
 * `state` bound to the browser by a cookie) and logout. Every failure ends in a redirect to
 * the UI with ?auth_error=CODE, never in a 500. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/discord.h"
#include "api/session.h"

#define STATE_COOKIE      "lever_oauth_state"
#define STATE_COOKIE_PATH "/auth/discord"
#define STATE_TTL_S       600 /* a login must finish within 10 minutes of its start */
#define STATE_TEXT_LEN    43  /* 32 random bytes in unpadded base64url */
#define CODE_MAX_LEN      512 /* Discord codes are ~30 characters; anything longer is junk */

/* The error codes a login can end with, and what the page says about each. */
static const struct {
    const char *code;
    const char *message;
} login_errors[] = {
    {"access_denied", "you declined the authorization on Discord"},
    {"discord_error", "Discord reported an error during authorization"},
    {"invalid_state", "this login link expired or was already used: start the login again"},
    {"missing_code", "Discord's answer had no authorization code: start the login again"},
    {"invalid_grant", "Discord did not accept the authorization code: start the login again"},
    {"discord_not_configured", "Discord login is not configured on this server"},
    {"discord_misconfigured", "the server's Discord application settings were refused"},
    {"discord_unavailable", "Discord could not be reached: try again in a moment"},
    {"email_required", "your Discord account must share a verified email address"},
    {"email_unverified", "your Discord email address is not verified"},
    {"not_allowed", "your Discord account is not on this server's access list"},
    {"server_error", "the server could not complete the login: try again"},
};

/* True for requests that reached us over https (directly or via a TLS-terminating proxy),
 * where cookies get the Secure attribute. X-Forwarded-Proto can only make cookies stricter,
 * so trusting it is harmless. */
static bool over_https(const struct lv_req *req, const struct lv_app *app)
{
    const char *proto = lv_req_header(req, "X-Forwarded-Proto");
    return strncasecmp(app->cfg->discord_redirect_uri, "https://", 8) == 0 ||
           (proto != NULL && strcasecmp(proto, "https") == 0);
}

static void set_cookie(struct lv_req *req, const struct lv_app *app, const char *name,
                       const char *value, const char *path, long max_age_s)
{
    char cookie[256];
    if (lv_cookie_format(cookie, sizeof cookie, name, value, path, max_age_s,
                         over_https(req, app)) == 0)
        lv_resp_header(req, "Set-Cookie", cookie);
}

/* 302 to `location` with a one-line page for clients that do not follow redirects. */
static void redirect(struct lv_req *req, const char *location, const char *page)
{
    lv_resp_header(req, "Location", location);
    lv_resp_text(req, 302, "text/plain; charset=utf-8", page);
}

/* Ends a login attempt: one log line with the cause (never a secret), then back to the UI
 * with ?auth_error=code. */
static void login_failed(struct lv_req *req, const struct lv_app *app, const char *code,
                         const char *cause)
{
    const char *message = "the login failed";
    for (size_t i = 0; i < sizeof login_errors / sizeof login_errors[0]; i++)
        if (strcmp(login_errors[i].code, code) == 0)
            message = login_errors[i].message;
    fprintf(stderr, "lever: request %s: login failed (%s)%s%s\n", lv_req_id(req), code,
            cause != NULL ? ": " : "", cause != NULL ? cause : "");
    char location[LV_URL_MAX + 64], page[256];
    snprintf(location, sizeof location, "%s%cauth_error=%s", app->cfg->ui_url,
             strchr(app->cfg->ui_url, '?') != NULL ? '&' : '?', code);
    snprintf(page, sizeof page, "Login failed (%s): %s.\n", code, message);
    redirect(req, location, page);
}

static struct lv_discord_app discord_app(const struct lv_app *app)
{
    const struct lv_config *cfg = app->cfg;
    return (struct lv_discord_app){cfg->discord_api_url, cfg->discord_authorize_url,
                                   cfg->discord_client_id, cfg->discord_client_secret,
                                   cfg->discord_redirect_uri};
}

static bool discord_configured(const struct lv_config *cfg)
{
    return cfg->discord_client_id[0] != '\0' && cfg->discord_client_secret[0] != '\0' &&
           cfg->discord_redirect_uri[0] != '\0';
}

/* Records a new state (hashed) and forgets expired ones. */
static int store_state(PGconn *conn, const char *state, struct lv_db_error *err)
{
    char digest[LV_SECRET_DIGEST_PARAM], ttl[16];
    lv_secret_digest_param(state, digest);
    snprintf(ttl, sizeof ttl, "%d", STATE_TTL_S);
    const char *params[] = {digest, ttl};
    if (lv_db_exec(conn, "DELETE FROM oauth_states WHERE expires_at < CURRENT_TIMESTAMP", 0, NULL,
                   err) != 0)
        return -1;
    return lv_db_exec(conn,
                      "INSERT INTO oauth_states (state_hash, expires_at) "
                      "VALUES ($1::bytea, CURRENT_TIMESTAMP + $2::int * interval '1 second')",
                      2, params, err);
}

/* GET /auth/discord: start a login. */
static void start_login(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    if (!discord_configured(app->cfg)) {
        login_failed(req, app, "discord_not_configured",
                     "set DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET and DISCORD_REDIRECT_URI");
        return;
    }
    char state[LV_SECRET_TEXT];
    lv_secret_new("", state);
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(app->pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    int stored = conn != NULL ? store_state(conn, state, &err) : -1;
    if (conn != NULL)
        lv_db_release(app->pool, conn);
    char location[4096];
    struct lv_discord_app discord = discord_app(app);
    if (stored != 0) {
        login_failed(req, app, "server_error", err.message);
        return;
    }
    if (lv_discord_authorize_url(&discord, state, location, sizeof location) != 0) {
        login_failed(req, app, "discord_not_configured", "the authorize URL is too long");
        return;
    }
    /* The same value in a cookie binds the login to this browser: a callback URL sent to
     * someone else (login CSRF) fails there for want of the cookie. */
    set_cookie(req, app, STATE_COOKIE, state, STATE_COOKIE_PATH, STATE_TTL_S);
    redirect(req, location, "Continue to Discord to log in.\n");
}

/* Consumes a state: 1 when it was issued by us, unexpired and unused; 0 otherwise; -1 on a
 * database error. The row is deleted either way, so a state works once. */
static int consume_state(struct lv_app *app, const char *state, struct lv_db_error *err)
{
    if (state == NULL || strlen(state) != STATE_TEXT_LEN)
        return 0;
    PGconn *conn = lv_db_acquire(app->pool, LV_DB_ACQUIRE_TIMEOUT_MS, err);
    if (conn == NULL)
        return -1;
    char digest[LV_SECRET_DIGEST_PARAM], fresh[8];
    lv_secret_digest_param(state, digest);
    const char *params[] = {digest};
    int rc = lv_db_query_value(conn,
                               "DELETE FROM oauth_states WHERE state_hash = $1::bytea "
                               "RETURNING expires_at > CURRENT_TIMESTAMP",
                               1, params, fresh, sizeof fresh, err);
    lv_db_release(app->pool, conn);
    return rc < 0 ? -1 : rc == 1 && fresh[0] == 't';
}

/* True when the browser's state cookie holds exactly `state`. */
static bool state_matches_cookie(const struct lv_req *req, const char *state)
{
    char cookie[LV_SECRET_TEXT];
    if (state == NULL ||
        lv_cookie_get(lv_req_header(req, "Cookie"), STATE_COOKIE, cookie, sizeof cookie) != 1)
        return false;
    return strlen(cookie) == strlen(state) && sodium_memcmp(cookie, state, strlen(state)) == 0;
}

/* Creates or refreshes the user from the Discord profile; returns the user id or -1.
 * Username and avatar the user changed in Lever (PATCH /api/v1/me) are kept. */
static int upsert_user(PGconn *conn, const struct lv_discord_user *user, struct lv_db_error *err)
{
    char avatar_url[512], id[32];
    if (lv_discord_avatar_url(user, avatar_url, sizeof avatar_url) != 0)
        avatar_url[0] = '\0';
    const char *params[] = {user->id, user->username, user->discriminator,
                            user->email[0] != '\0' ? user->email : NULL,
                            avatar_url[0] != '\0' ? avatar_url : NULL};
    if (lv_db_query_value(
            conn,
            "INSERT INTO users (discord_id, username, discriminator, email, avatar_url, "
            "last_login_at) VALUES ($1, $2, $3, $4, $5, CURRENT_TIMESTAMP) "
            "ON CONFLICT (discord_id) DO UPDATE SET "
            "username = CASE WHEN users.username_set_by_user THEN users.username "
            "ELSE EXCLUDED.username END, "
            "avatar_url = CASE WHEN users.avatar_set_by_user THEN users.avatar_url "
            "ELSE EXCLUDED.avatar_url END, "
            "discriminator = EXCLUDED.discriminator, email = EXCLUDED.email, "
            "last_login_at = EXCLUDED.last_login_at RETURNING id",
            5, params, id, sizeof id, err) != 1)
        return -1;
    return atoi(id);
}

/* The user is known to Discord and allowed: store them, open a session, set the cookie. */
static void finish_login(struct lv_req *req, struct lv_app *app, const struct lv_discord_user *user)
{
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(app->pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    if (conn == NULL) {
        login_failed(req, app, "server_error", err.message);
        return;
    }
    struct lv_session_policy policy = {app->cfg->session_idle_hours, app->cfg->session_max_days};
    char session[LV_SECRET_TEXT];
    int user_id = -1, ok = 0;
    if (lv_db_exec(conn, "BEGIN", 0, NULL, &err) == 0 &&
        (user_id = upsert_user(conn, user, &err)) > 0 &&
        lv_session_create(conn, user_id, &policy, lv_req_remote_ip(req),
                          lv_req_header(req, "User-Agent"), session, &err) == 0 &&
        lv_db_exec(conn, "COMMIT", 0, NULL, &err) == 0)
        ok = 1;
    lv_db_release(app->pool, conn); /* rolls back what is left open */
    if (!ok) {
        login_failed(req, app, "server_error", err.message);
        return;
    }
    set_cookie(req, app, LV_SESSION_COOKIE, session, "/", 86400L * policy.max_days);
    sodium_memzero(session, sizeof session);
    redirect(req, app->cfg->ui_url, "Logged in.\n");
}

/* GET /auth/discord/callback?code=…&state=… (or ?error=…&state=…). */
static void finish_callback(struct lv_req *req, struct lv_app *app)
{
    const char *state = lv_req_query(req, "state");
    const char *error = lv_req_query(req, "error");
    struct lv_db_error err;
    if (error != NULL) {
        consume_state(app, state, &err); /* spend it anyway: a state never works twice */
        login_failed(req, app,
                     strcmp(error, "access_denied") == 0 ? "access_denied" : "discord_error", NULL);
        return;
    }
    if (!state_matches_cookie(req, state)) {
        login_failed(req, app, "invalid_state", "state missing or not this browser's");
        return;
    }
    int valid = consume_state(app, state, &err);
    if (valid < 0) {
        login_failed(req, app, "server_error", err.message);
        return;
    }
    if (valid == 0) {
        login_failed(req, app, "invalid_state", "state unknown, used or expired");
        return;
    }
    const char *code = lv_req_query(req, "code");
    if (code == NULL || code[0] == '\0' || strlen(code) > CODE_MAX_LEN) {
        login_failed(req, app, "missing_code", NULL);
        return;
    }
    struct lv_discord_app discord = discord_app(app);
    struct lv_error why;
    char access_token[LV_DISCORD_TOKEN_MAX];
    struct lv_discord_user user;
    enum lv_discord_result result = lv_discord_exchange_code(&discord, code, access_token, &why);
    if (result == LV_DISCORD_OK)
        result = lv_discord_fetch_user(&discord, access_token, &user, &why);
    sodium_memzero(access_token, sizeof access_token);
    if (result != LV_DISCORD_OK) {
        login_failed(req, app,
                     result == LV_DISCORD_INVALID_GRANT    ? "invalid_grant"
                     : result == LV_DISCORD_INVALID_CLIENT ? "discord_misconfigured"
                                                           : "discord_unavailable",
                     why.message);
        return;
    }
    struct lv_login_whitelist whitelist = {app->cfg->allowed_discord_ids, app->cfg->allowed_emails,
                                           app->cfg->allowed_email_domains};
    const char *refusal = lv_login_refusal(&whitelist, &user);
    if (refusal != NULL) {
        char cause[96];
        snprintf(cause, sizeof cause, "Discord user %s", user.id);
        login_failed(req, app, refusal, cause);
        return;
    }
    finish_login(req, app, &user);
}

static void callback(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    /* The state cookie has done its job whatever happens next. */
    set_cookie(req, app, STATE_COOKIE, "", STATE_COOKIE_PATH, 0);
    finish_callback(req, app);
}

/* POST /auth/logout: revokes the session of the cookie (if any) and deletes the cookie. */
static void logout(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    char session[LV_SECRET_TEXT];
    if (lv_cookie_get(lv_req_header(req, "Cookie"), LV_SESSION_COOKIE, session, sizeof session) ==
        1) {
        if (lv_api_csrf_suspect(req)) {
            lv_resp_error(req, 415, "unsupported_media_type",
                          "logout with the session cookie must send Content-Type: "
                          "application/json",
                          NULL);
            return;
        }
        PGconn *conn = lv_api_db(req, app);
        if (conn == NULL)
            return;
        struct lv_db_error err;
        int revoked = lv_session_revoke(conn, session, &err);
        lv_db_release(app->pool, conn);
        if (revoked < 0) {
            lv_api_db_failure(req, &err);
            return;
        }
    }
    set_cookie(req, app, LV_SESSION_COOKIE, "", "/", 0);
    lv_resp_empty(req, 204);
}

int lv_routes_auth(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/auth/discord", start_login, LV_ROUTE_PUBLIC, err) ||
           lv_router_add(router, "GET", "/auth/discord/callback", callback, LV_ROUTE_PUBLIC, err) ||
           lv_router_add(router, "POST", "/auth/logout", logout, LV_ROUTE_PUBLIC, err);
}
