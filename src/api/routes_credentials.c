/* routes_credentials.c — /api/v1/me/alpaca-credentials[/{mode}]: save (verified against
 * Alpaca's GET /v2/account), show, delete. No answer ever contains a key id or secret, only
 * the key id's last 4 characters. */
#include <stdio.h>
#include <string.h>

#include "alpaca/client.h"
#include "api/app.h"
#include "api/credentials.h"
#include "api/input.h"

/* How one stored pair is shown. */
#define CREDENTIALS_JSON                                                                           \
    "json_build_object('mode', mode, 'key_id_last4', key_id_last4, "                               \
    "'saved_at', to_char(saved_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'verified', verified, "      \
    "'verified_at', to_char(verified_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                      \
    "'verification_error', verification_error)"

static const char *const put_fields[] = {"key_id", "secret", NULL};

/* Alpaca key ids are upper-case letters and digits; secrets are base64-like. Anything else
 * (spaces, quotes, SQL fragments) is a typo or an attack, refused before anything is sent. */
static bool only_chars(const char *text, const char *extra)
{
    for (const char *c = text; *c != '\0'; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              (*c != '\0' && strchr(extra, *c) != NULL)))
            return false;
    return true;
}

/* Answers 400 and returns false when {mode} is not paper or live. */
static bool mode_ok(struct lv_req *req, const char *mode)
{
    if (lv_alpaca_mode_valid(mode))
        return true;
    struct lv_problems problems = {0};
    lv_problems_add(&problems, "mode", "must be \"paper\" or \"live\"");
    lv_input_reject(req, &problems);
    return false;
}

/* Answers with the stored pair of mode (200), or 404 when there is none. */
static void show_one(struct lv_req *req, struct lv_app *app, PGconn *conn, const char *mode,
                     int status)
{
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id, mode};
    struct lv_db_error err;
    int found;
    json_t *doc = lv_api_query_json(conn,
                                    "SELECT " CREDENTIALS_JSON " FROM user_alpaca_credentials "
                                    "WHERE user_id = $1 AND mode = $2",
                                    2, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no Alpaca credentials saved for this mode", NULL);
    else
        lv_resp_json(req, status, doc);
}

static void get_credentials(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *mode = lv_req_param(req, "mode");
    if (!mode_ok(req, mode))
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn != NULL)
        show_one(req, app, conn, mode, 200);
}

static void list_credentials(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id};
    struct lv_db_error err;
    int found;
    json_t *items = lv_api_query_json(conn,
                                      "SELECT COALESCE(json_agg(" CREDENTIALS_JSON
                                      " ORDER BY mode DESC), '[]') FROM user_alpaca_credentials "
                                      "WHERE user_id = $1",
                                      1, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else
        lv_resp_json(req, 200, json_pack("{s:o}", "items", items != NULL ? items : json_array()));
}

/* Checks the PUT body; on success sets *key_id and *secret (borrowed from body). */
static bool read_pair(struct lv_req *req, const char **key_id, const char **secret)
{
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return false;
    struct lv_problems problems = {0};
    if (lv_input_object(body, put_fields, &problems) == 0) {
        *key_id = lv_input_string(body, "key_id", 8, LV_ALPACA_KEY_ID_MAX, true, &problems);
        *secret = lv_input_string(body, "secret", 8, LV_ALPACA_SECRET_MAX, true, &problems);
        if (*key_id != NULL && !only_chars(*key_id, ""))
            lv_problems_add(&problems, "/key_id", "must hold only letters and digits");
        if (*secret != NULL && !only_chars(*secret, "+/=_.~-"))
            lv_problems_add(&problems, "/secret",
                            "must hold only letters, digits and + / = _ . ~ -");
    }
    if (problems.count > 0) {
        lv_input_reject(req, &problems);
        return false;
    }
    return true;
}

/* PUT: verify with Alpaca first (no database connection is held during the call), then
 * seal and store whatever the verdict, so a momentary Alpaca outage does not lose input. */
static void put_credentials(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *mode = lv_req_param(req, "mode"), *key_id = NULL, *secret = NULL;
    if (!mode_ok(req, mode) || !read_pair(req, &key_id, &secret))
        return;
    if (!app->cfg->has_secret_key) {
        lv_resp_error(req, 503, "encryption_unavailable",
                      "this server has no LEVER_SECRET_KEY, so it cannot store credentials", NULL);
        return;
    }
    struct lv_alpaca_account_ref account = {lv_alpaca_mode_url(app->cfg, mode), key_id, secret};
    struct lv_error why;
    enum lv_alpaca_result verdict = lv_alpaca_get_account(&account, NULL, NULL, &why);
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    struct lv_db_error err;
    if (lv_credentials_save(conn, app->cfg->secret_key, lv_api_user_id(req), mode, key_id, secret,
                            verdict == LV_ALPACA_OK, verdict == LV_ALPACA_OK ? NULL : why.message,
                            &err) != 0) {
        lv_db_release(app->pool, conn);
        lv_api_db_failure(req, &err);
        return;
    }
    show_one(req, app, conn, mode, 200);
}

static void delete_credentials(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *mode = lv_req_param(req, "mode");
    if (!mode_ok(req, mode))
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    struct lv_db_error err;
    int deleted = lv_credentials_delete(conn, lv_api_user_id(req), mode, &err);
    lv_db_release(app->pool, conn);
    if (deleted < 0)
        lv_api_db_failure(req, &err);
    else if (deleted == 0)
        lv_resp_error(req, 404, "not_found", "no Alpaca credentials saved for this mode", NULL);
    else
        lv_resp_empty(req, 204);
}

int lv_routes_credentials(struct lv_router *router, struct lv_error *err)
{
    const char *one = "/api/v1/me/alpaca-credentials/{mode}";
    return lv_router_add(router, "GET", "/api/v1/me/alpaca-credentials", list_credentials, 0,
                         err) ||
           lv_router_add(router, "GET", one, get_credentials, 0, err) ||
           lv_router_add(router, "PUT", one, put_credentials, 0, err) ||
           lv_router_add(router, "DELETE", one, delete_credentials, 0, err);
}
