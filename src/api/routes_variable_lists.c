/* routes_variable_lists.c — saved variable lists for batches (seed table variable_lists):
 * {name, type: ticker|number|date, values, description, is_shared}, unique name per user. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/input.h"
#include "core/batch.h"

#define LIST_JSON                                                                                  \
    "json_build_object('id', id, 'name', name, 'type', type, 'values', values, 'count', "          \
    "jsonb_array_length(values), 'description', description, 'is_shared', COALESCE(is_shared, "    \
    "false), 'created_at', created_at, 'updated_at', updated_at)"

static const char *const list_fields[] = {"name",        "type",      "values",
                                          "description", "is_shared", NULL};

/* A list id from the path, or NULL after answering 404. */
static const char *path_id(struct lv_req *req)
{
    return lv_api_path_id(req, "no such variable list");
}

/* A validated list body as SQL parameters: name, type, values (JSON text), description,
 * is_shared ("true"/"false"). Answers 400 itself and returns -1. *values_text is owned. */
struct list_input {
    const char *name, *type, *description, *is_shared;
    char name_lower[256]; /* names match case-insensitively, so they are stored lower-cased */
    char *values_text;
};

static int read_list(struct lv_req *req, struct list_input *in)
{
    memset(in, 0, sizeof *in);
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return -1;
    struct lv_problems problems = {0};
    if (lv_input_object(body, list_fields, &problems) == 0) {
        in->name = lv_input_string(body, "name", 1, 255, true, &problems);
        if (in->name != NULL && !lv_batch_name_valid(in->name, strlen(in->name)))
            lv_problems_add(&problems, "/name",
                            "must be a variable name: a letter or _, then letters, digits or _");
        else if (in->name != NULL) {
            for (size_t i = 0; in->name[i] != '\0'; i++)
                in->name_lower[i] = (char)tolower((unsigned char)in->name[i]);
            in->name = in->name_lower;
        }
        in->type = lv_input_string(body, "type", 1, 50, true, &problems);
        enum lv_batch_type type;
        if (in->type != NULL && lv_batch_type_parse(in->type, &type) != 0)
            lv_problems_add(&problems, "/type", "must be \"ticker\", \"number\" or \"date\"");
        in->description = lv_input_string(body, "description", 0, 10000, false, &problems);
        json_t *shared = json_object_get(body, "is_shared");
        if (shared != NULL && !json_is_boolean(shared))
            lv_problems_add(&problems, "/is_shared", "must be true or false");
        in->is_shared = json_is_true(shared) ? "true" : "false";
        json_t *values = json_object_get(body, "values");
        if (values == NULL)
            lv_problems_add(&problems, "/values", "required: an array of values");
        else if (in->type != NULL && lv_batch_type_parse(in->type, &type) == 0) {
            json_t *normal = lv_batch_typed_values(values, type, "/values", &problems);
            if (normal != NULL && json_array_size(normal) == 0)
                lv_problems_add(&problems, "/values", "must hold at least one value");
            in->values_text = normal != NULL ? json_dumps(normal, JSON_COMPACT) : NULL;
            json_decref(normal);
        }
    }
    if (problems.count > 0) {
        free(in->values_text);
        in->values_text = NULL;
        lv_input_reject(req, &problems);
        return -1;
    }
    lv_problems_free(&problems);
    return 0;
}

/* Answers a write's outcome: the row, 409 on a duplicate name, 404 when nothing matched. */
static void answer_write(struct lv_req *req, int status, json_t *row, int found,
                         const struct lv_db_error *err)
{
    if (found < 0 && strcmp(err->sqlstate, LV_SQLSTATE_UNIQUE_VIOLATION) == 0)
        lv_resp_error(req, 409, "conflict", "you already have a variable list with that name",
                      json_pack("[{s:s, s:s}]", "path", "/name", "message", "already in use"));
    else if (found < 0)
        lv_api_db_failure(req, err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no such variable list", NULL);
    else
        lv_resp_json(req, status, row), row = NULL;
    json_decref(row);
}

static void create_list(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct list_input in;
    if (read_list(req, &in) != 0)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL) {
        free(in.values_text);
        return;
    }
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id,        in.name,        in.type,
                            in.values_text, in.description, in.is_shared};
    struct lv_db_error err;
    int found;
    json_t *row = lv_api_query_json(conn,
                                    "INSERT INTO variable_lists (user_id, name, type, values, "
                                    "description, is_shared) VALUES ($1::int, $2, $3, $4::jsonb, "
                                    "$5, $6::boolean) RETURNING " LIST_JSON,
                                    6, params, &found, &err);
    lv_db_release(app->pool, conn);
    free(in.values_text);
    answer_write(req, 201, row, found, &err);
}

static void update_list(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = path_id(req);
    struct list_input in;
    if (id == NULL || read_list(req, &in) != 0)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL) {
        free(in.values_text);
        return;
    }
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id,        in.name,      in.type, in.values_text,
                            in.description, in.is_shared, id};
    struct lv_db_error err;
    int found;
    json_t *row = lv_api_query_json(conn,
                                    "UPDATE variable_lists SET name = $2, type = $3, values = "
                                    "$4::jsonb, description = $5, is_shared = $6::boolean "
                                    "WHERE id = $7::int AND user_id = $1::int RETURNING " LIST_JSON,
                                    7, params, &found, &err);
    lv_db_release(app->pool, conn);
    free(in.values_text);
    answer_write(req, 200, row, found, &err);
}

static void get_list(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = path_id(req);
    if (id == NULL)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    int found;
    json_t *row = lv_api_query_json(conn,
                                    "SELECT " LIST_JSON " FROM variable_lists "
                                    "WHERE id = $1::int AND user_id = $2::int",
                                    2, params, &found, &err);
    lv_db_release(app->pool, conn);
    answer_write(req, 200, row, found, &err);
}

static void list_lists(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct lv_page page;
    if (lv_api_read_page(req, 100, 1000, &page) != 0)
        return;
    const char *type = lv_req_query(req, "type");
    enum lv_batch_type parsed;
    if (type != NULL && lv_batch_type_parse(type, &parsed) != 0) {
        lv_api_bad_query(req, "type", "must be ticker, number or date");
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id, type, page.limit_text, page.offset_text};
    lv_api_send_page(
        req, app, conn,
        "SELECT COALESCE(json_agg(l ORDER BY name), '[]') FROM (SELECT " LIST_JSON " AS l, name "
        "FROM variable_lists WHERE user_id = $1::int AND ($2::text IS NULL OR type = $2) "
        "ORDER BY name LIMIT $3::int OFFSET $4::int) AS page",
        4, params, &page);
}

static void delete_list(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = path_id(req);
    if (id == NULL)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    PGresult *res =
        lv_db_query(conn, "DELETE FROM variable_lists WHERE id = $1::int AND user_id = $2::int", 2,
                    params, &err);
    lv_db_release(app->pool, conn);
    if (res == NULL) {
        lv_api_db_failure(req, &err);
        return;
    }
    bool deleted = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (deleted)
        lv_resp_empty(req, 204);
    else
        lv_resp_error(req, 404, "not_found", "no such variable list", NULL);
}

int lv_routes_variable_lists(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/api/v1/variable-lists", list_lists, 0, err) ||
                   lv_router_add(router, "POST", "/api/v1/variable-lists", create_list, 0, err) ||
                   lv_router_add(router, "GET", "/api/v1/variable-lists/{id}", get_list, 0, err) ||
                   lv_router_add(router, "PUT", "/api/v1/variable-lists/{id}", update_list, 0,
                                 err) ||
                   lv_router_add(router, "DELETE", "/api/v1/variable-lists/{id}", delete_list, 0,
                                 err)
               ? -1
               : 0;
}
