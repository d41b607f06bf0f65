/* app.c — the API's route table, authentication hook and the small helpers every handler
 * shares (pooled connection, JSON-from-SQL, database failure answers). */
#include "api/app.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/ratelimit.h"
#include "api/session.h"
#include "api/usage_log.h"

struct lv_router *lv_api_router(struct lv_error *err)
{
    struct lv_router *router = lv_router_new();
    if (router == NULL) {
        lv_fail(err, "out of memory building the route table");
        return NULL;
    }
    if (lv_routes_system(router, err) != 0 || lv_routes_me(router, err) != 0 ||
        lv_routes_backtests(router, err) != 0 || lv_routes_bars(router, err) != 0 ||
        lv_routes_auth(router, err) != 0 || lv_routes_tokens(router, err) != 0 ||
        lv_routes_credentials(router, err) != 0 || lv_routes_strategies(router, err) != 0 ||
        lv_routes_openapi(router, err) != 0 || lv_routes_batch(router, err) != 0 ||
        lv_routes_variable_lists(router, err) != 0 || lv_routes_static(router, err) != 0) {
        lv_router_free(router);
        return NULL;
    }
    return router;
}

PGconn *lv_api_db(struct lv_req *req, struct lv_app *app)
{
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(app->pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    if (conn == NULL) {
        fprintf(stderr, "lever: request %s: database unavailable: %s\n", lv_req_id(req),
                err.message);
        lv_resp_error(req, 503, "database_unavailable",
                      "the database is unavailable; try again shortly", NULL);
    }
    return conn;
}

void lv_api_db_failure(struct lv_req *req, const struct lv_db_error *err)
{
    fprintf(stderr, "lever: request %s: database error %s: %s\n", lv_req_id(req), err->sqlstate,
            err->message);
    if (lv_db_error_is_connection(err))
        lv_resp_error(req, 503, "database_unavailable",
                      "the database is unavailable; try again shortly", NULL);
    else
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
}

json_t *lv_api_query_json(PGconn *conn, const char *sql, int n_params, const char *const *params,
                          int *found, struct lv_db_error *err)
{
    PGresult *res = lv_db_query(conn, sql, n_params, params, err);
    if (res == NULL) {
        *found = -1;
        return NULL;
    }
    json_t *doc = NULL;
    *found = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0);
    if (*found) {
        json_error_t parse_err;
        doc = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, &parse_err);
        if (doc == NULL) {
            lv_db_fail(err, "database returned malformed JSON: %s", parse_err.text);
            *found = -1;
        }
    }
    PQclear(res);
    return doc;
}

void lv_api_caller_text(const struct lv_req *req, char out[16])
{
    snprintf(out, 16, "%d", lv_api_user_id(req));
}

const char *lv_api_path_id(struct lv_req *req, const char *not_found_message)
{
    const char *id = lv_req_param(req, "id");
    size_t len = id != NULL ? strlen(id) : 0;
    bool digits = len > 0 && len <= 10 && strspn(id, "0123456789") == len && id[0] != '0';
    if (!digits || strtoll(id, NULL, 10) > 2147483647LL) {
        lv_resp_error(req, 404, "not_found", not_found_message, NULL);
        return NULL;
    }
    return id;
}

int lv_api_read_page(struct lv_req *req, long default_limit, long max_limit, struct lv_page *page)
{
    if (lv_req_query_long(req, "limit", default_limit, 1, max_limit, &page->limit) != 0 ||
        lv_req_query_long(req, "offset", 0, 0, 2147483647L, &page->offset) != 0)
        return -1;
    snprintf(page->limit_text, sizeof page->limit_text, "%ld", page->limit);
    snprintf(page->offset_text, sizeof page->offset_text, "%ld", page->offset);
    return 0;
}

void lv_api_send_page(struct lv_req *req, struct lv_app *app, PGconn *conn, const char *sql,
                      int n_params, const char *const *params, const struct lv_page *page)
{
    struct lv_db_error err;
    int found;
    json_t *items = lv_api_query_json(conn, sql, n_params, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else
        lv_resp_json(req, 200,
                     json_pack("{s:o, s:I, s:I}", "items", items != NULL ? items : json_array(),
                               "limit", (json_int_t)page->limit, "offset",
                               (json_int_t)page->offset));
}

json_t *lv_api_readable_strategy(struct lv_req *req, PGconn *conn, const char *id)
{
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    int found;
    json_t *doc = lv_api_query_json(
        conn,
        "SELECT json_strip_nulls(json_build_object('name', name, 'elements', elements, "
        "'benchmark_symbol', benchmark_symbol, 'start_date', start_date, 'end_date', end_date)) "
        "FROM strategies WHERE id = $1::int AND (user_id = $2::int OR is_public)",
        2, params, &found, &err);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no such strategy", NULL);
    return doc;
}

void lv_api_bad_query(struct lv_req *req, const char *name, const char *message)
{
    char path[128];
    snprintf(path, sizeof path, "?%s", name);
    lv_resp_error(req, 400, "bad_request", message,
                  json_pack("[{s:s, s:s}]", "path", path, "message", message));
}

static void free_caller(void *caller)
{
    free(caller);
}

bool lv_api_csrf_suspect(const struct lv_req *req)
{
    const char *method = lv_req_method(req);
    if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 && strcmp(method, "PATCH") != 0 &&
        strcmp(method, "DELETE") != 0)
        return false;
    const char *type = lv_req_header(req, "Content-Type");
    /* A raw-body route may take text/csv (POST /api/v1/bars/import): like JSON, a cross-site
     * page cannot send it without a CORS preflight, which Lever never grants. */
    if (type != NULL && (lv_req_route_flags(req) & LV_ROUTE_RAW_BODY) &&
        strncasecmp(type, "text/csv", 8) == 0 && (type[8] == '\0' || type[8] == ';'))
        return false;
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0)
        return true;
    return type[16] != '\0' && type[16] != ';' && type[16] != ' ';
}

/* Takes a token from `limiter` for key; when none is left answers 429 with Retry-After and
 * returns 1. A NULL limiter (limits off) always lets the request through. */
static int rate_limited(struct lv_req *req, struct lv_ratelimit *limiter, const char *key)
{
    long retry_after = lv_ratelimit_take(limiter, key, lv_ratelimit_clock());
    if (retry_after == 0)
        return 0;
    char seconds[24], message[96];
    snprintf(seconds, sizeof seconds, "%ld", retry_after);
    snprintf(message, sizeof message, "too many requests: retry in %ld s", retry_after);
    lv_resp_header(req, "Retry-After", seconds);
    lv_resp_error(req, 429, "rate_limited", message, NULL);
    return 1;
}

static int unauthorized(struct lv_req *req, const char *challenge, const char *message)
{
    lv_resp_header(req, "WWW-Authenticate", challenge);
    lv_resp_error(req, 401, "unauthorized", message, NULL);
    return 1;
}

int lv_api_authenticate(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    char ip_key[80];
    snprintf(ip_key, sizeof ip_key, "ip:%s", lv_req_remote_ip(req));
    if (rate_limited(req, app->ip_limits, ip_key))
        return 1;
    if (lv_req_route_flags(req) & LV_ROUTE_PUBLIC)
        return 0;
    /* A Bearer token wins over the cookie: scripts never depend on a browser's state. */
    const char *token = lv_bearer_token(lv_req_header(req, "Authorization"));
    char session[LV_SECRET_TEXT];
    bool via_session =
        token == NULL && lv_cookie_get(lv_req_header(req, "Cookie"), LV_SESSION_COOKIE, session,
                                       sizeof session) == 1;
    if (token == NULL && !via_session)
        return unauthorized(req, "Bearer",
                            "authentication required: log in, or send Authorization: Bearer "
                            "<token>");
    if (via_session && lv_api_csrf_suspect(req)) {
        lv_resp_error(req, 415, "unsupported_media_type",
                      "requests authenticated by the session cookie that change state must "
                      "send Content-Type: application/json",
                      NULL);
        return 1;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return 1;
    struct lv_db_error err;
    int user_id = 0;
    struct lv_session_policy policy = {app->cfg->session_idle_hours, app->cfg->session_max_days};
    int found = via_session ? lv_session_authenticate(conn, session, &policy, &user_id, &err)
                            : lv_token_authenticate(conn, token, &user_id, &err);
    lv_db_release(app->pool, conn);
    if (found < 0) {
        lv_api_db_failure(req, &err);
        return 1;
    }
    if (found == 0)
        return via_session ? unauthorized(req, "Bearer", "session expired or logged out")
                           : unauthorized(req, "Bearer error=\"invalid_token\"",
                                          "invalid, expired or revoked token");
    struct lv_caller *caller = malloc(sizeof *caller);
    if (caller == NULL) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        return 1;
    }
    caller->user_id = user_id;
    caller->via_session = via_session;
    lv_req_set_user(req, caller, free_caller);
    char user_key[32];
    snprintf(user_key, sizeof user_key, "user:%d", user_id);
    return rate_limited(req, app->user_limits, user_key);
}

void lv_api_after(const struct lv_req *req, int status, double duration_ms, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    lv_usage_log_record(app->usage_log, lv_api_user_id(req), lv_req_pattern(req),
                        lv_req_method(req), status, duration_ms);
}

int lv_api_user_id(const struct lv_req *req)
{
    const struct lv_caller *caller = lv_req_user(req);
    return caller != NULL ? caller->user_id : 0;
}
