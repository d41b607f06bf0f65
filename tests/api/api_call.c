/* api_call.c — JSON calls and one-value SQL reads for the API suites (see api_call.h). */
#include "api_call.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

json_t *api_call(const struct lever_proc *proc, const char *token, const char *method,
                 const char *path, const char *body, long *status)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", proc->base_url, path);
    struct http_client_response res;
    if (http_client_json(method, url, token, body, &res) != 0)
        fail_msg("%s %s: no answer", method, path);
    *status = res.status;
    json_t *doc = res.body_len > 0 ? json_loads(res.body, 0, NULL) : NULL;
    http_client_response_free(&res);
    return doc;
}

json_t *api_expect(const struct lever_proc *proc, const char *token, const char *method,
                   const char *path, const char *body, long expected)
{
    long status;
    json_t *doc = api_call(proc, token, method, path, body, &status);
    if (status != expected) {
        char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
        fail_msg("%s %s: status %ld, expected %ld: %.1500s", method, path, status, expected,
                 text != NULL ? text : "(no JSON body)");
    }
    return doc;
}

char *api_path(char buf[512], const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, 512, fmt, args);
    va_end(args);
    return buf;
}

bool api_error_has(const json_t *answer, const char *code, const char *path)
{
    const json_t *error = json_object_get(answer, "error");
    const char *actual = json_string_value(json_object_get(error, "code"));
    if (actual == NULL || strcmp(actual, code) != 0)
        return false;
    const json_t *details = json_object_get(error, "details");
    if (path == NULL)
        return json_is_array(details);
    size_t i;
    const json_t *item;
    json_array_foreach(details, i, item)
    {
        const char *item_path = json_string_value(json_object_get(item, "path"));
        if (item_path != NULL && strcmp(item_path, path) == 0)
            return true;
    }
    return false;
}

static PGresult *db_run(const char *sql, const char *param, PGconn **conn)
{
    *conn = PQconnectdb(lever_test_env("DATABASE_URL"));
    if (PQstatus(*conn) != CONNECTION_OK)
        fail_msg("cannot connect to DATABASE_URL: %s", PQerrorMessage(*conn));
    const char *params[] = {param};
    PGresult *res = PQexecParams(*conn, sql, param != NULL, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(*conn));
    return res;
}

long db_long(const char *sql, const char *param)
{
    PGconn *conn;
    PGresult *res = db_run(sql, param, &conn);
    if (PQntuples(res) < 1)
        fail_msg("%s: no row", sql);
    long value = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    return value;
}

void db_exec(const char *sql, const char *param)
{
    PGconn *conn;
    PQclear(db_run(sql, param, &conn));
    PQfinish(conn);
}
