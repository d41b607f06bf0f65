/* routes_tokens.c — /api/v1/api-tokens: named API tokens for scripts and the CLI. The secret
 * is returned once, by POST; the database keeps only its SHA-256 (api/auth.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/auth.h"
#include "api/input.h"

#define TOKEN_JSON                                                                                 \
    "json_build_object('id', id, 'name', name, 'token_prefix', token_prefix, "                     \
    "'created_at', to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                        \
    "'last_used_at', to_char(last_used_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                    \
    "'expires_at', to_char(expires_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"

#define TOKEN_NAME_MAX 100
#define TOKEN_DAYS_MAX 3650

static const char *const create_fields[] = {"name", "expires_in_days", NULL};

/* Reads the optional expires_in_days: 0 when absent, -1 after adding a problem. */
static long read_days(const json_t *body, struct lv_problems *problems)
{
    json_t *days = json_object_get(body, "expires_in_days");
    if (days == NULL || json_is_null(days))
        return 0;
    if (!json_is_integer(days) || json_integer_value(days) < 1 ||
        json_integer_value(days) > TOKEN_DAYS_MAX) {
        lv_problems_add(problems, "/expires_in_days", "must be a whole number from 1 to %d",
                        TOKEN_DAYS_MAX);
        return -1;
    }
    return (long)json_integer_value(days);
}

/* Creates the token and renders it (with its secret) inside one transaction. */
static json_t *create_token(PGconn *conn, int user_id, const char *name, long days,
                            struct lv_db_error *err)
{
    char secret[LV_TOKEN_TEXT], id[16], days_text[16];
    int token_id = -1, found = -1;
    json_t *doc = NULL;
    if (lv_db_exec(conn, "BEGIN", 0, NULL, err) != 0 ||
        (token_id = lv_token_create(conn, user_id, name, secret, err)) < 0)
        return NULL;
    snprintf(id, sizeof id, "%d", token_id);
    snprintf(days_text, sizeof days_text, "%ld", days);
    const char *params[] = {id, days > 0 ? days_text : NULL};
    if (lv_db_exec(conn,
                   "UPDATE api_tokens SET expires_at = CURRENT_TIMESTAMP + "
                   "$2::int * interval '1 day' WHERE id = $1 AND $2::int IS NOT NULL",
                   2, params, err) == 0)
        doc = lv_api_query_json(conn, "SELECT " TOKEN_JSON " FROM api_tokens WHERE id = $1", 1,
                                params, &found, err);
    if (found != 1 || lv_db_exec(conn, "COMMIT", 0, NULL, err) != 0) {
        json_decref(doc);
        return NULL;
    }
    json_object_set_new(doc, "token", json_string(secret));
    return doc;
}

static void post_token(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    struct lv_problems problems = {0};
    const char *name = NULL;
    long days = 0;
    if (lv_input_object(body, create_fields, &problems) == 0) {
        name = lv_input_string(body, "name", 1, TOKEN_NAME_MAX, true, &problems);
        days = read_days(body, &problems);
    }
    if (problems.count > 0) {
        lv_input_reject(req, &problems);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    struct lv_db_error err;
    json_t *doc = create_token(conn, lv_api_user_id(req), name, days, &err);
    lv_db_release(app->pool, conn); /* rolls back a half-done transaction */
    if (doc == NULL)
        lv_api_db_failure(req, &err);
    else
        lv_resp_json(req, 201, doc);
}

/* The caller's live tokens (not revoked; expired ones are listed with their expires_at). */
static void list_tokens(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct lv_page page;
    if (lv_api_read_page(req, 100, 1000, &page) != 0)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id, page.limit_text, page.offset_text};
    lv_api_send_page(req, app, conn,
                     "SELECT COALESCE(json_agg(t ORDER BY id), '[]') FROM (SELECT " TOKEN_JSON
                     " AS t, id FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL "
                     "ORDER BY id LIMIT $2::int OFFSET $3::int) AS page(t, id)",
                     3, params, &page);
}

/* DELETE revokes at once: the next request with that token gets 401. */
static void delete_token(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = lv_req_param(req, "id");
    if (strspn(id, "0123456789") != strlen(id) || strlen(id) > 9) {
        struct lv_problems problems = {0};
        lv_problems_add(&problems, "id", "must be a token id (a positive whole number)");
        lv_input_reject(req, &problems);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16], revoked[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    int rc = lv_db_query_value(conn,
                               "WITH r AS (UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP "
                               "WHERE id = $1::int AND user_id = $2 AND revoked_at IS NULL "
                               "RETURNING 1) SELECT count(*) FROM r",
                               2, params, revoked, sizeof revoked, &err);
    lv_db_release(app->pool, conn);
    if (rc < 0)
        lv_api_db_failure(req, &err);
    else if (atoi(revoked) == 0)
        lv_resp_error(req, 404, "not_found", "no such token", NULL);
    else
        lv_resp_empty(req, 204);
}

int lv_routes_tokens(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "POST", "/api/v1/api-tokens", post_token, 0, err) ||
           lv_router_add(router, "GET", "/api/v1/api-tokens", list_tokens, 0, err) ||
           lv_router_add(router, "DELETE", "/api/v1/api-tokens/{id}", delete_token, 0, err);
}
