/* db_fixture.c — throwaway databases for the database suites (see db_fixture.h). */
#include "db_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/migrate.h"

static const char *database_url(void)
{
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0')
        fail_msg("DATABASE_URL is not set: these suites need a PostgreSQL database "
                 "(make test provides one)");
    return url;
}

/* Appends key='value' to out, quoting as libpq's connection-string syntax requires. */
static void append_param(char *out, size_t out_size, const char *key, const char *value)
{
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, out_size - n, "%s%s='", n > 0 ? " " : "", key);
    for (const char *p = value; *p != '\0' && n + 3 < out_size; p++) {
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    assert_true(n + 2 < out_size);
    out[n++] = '\'';
    out[n] = '\0';
}

void db_fixture_url_for(const char *dbname, char *out, size_t out_size)
{
    char *parse_error = NULL;
    PQconninfoOption *opts = PQconninfoParse(database_url(), &parse_error);
    if (opts == NULL)
        fail_msg("DATABASE_URL does not parse: %s", parse_error ? parse_error : "?");
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (o->val != NULL && o->val[0] != '\0' && strcmp(o->keyword, "dbname") != 0)
            append_param(out, out_size, o->keyword, o->val);
    append_param(out, out_size, "dbname", dbname);
    PQconninfoFree(opts);
}

static PGconn *connect_or_fail(const char *url)
{
    struct lv_db_error err;
    PGconn *conn = lv_db_connect(url, &err);
    if (conn == NULL)
        fail_msg("%s", err.message);
    return conn;
}

void db_fixture_create(struct db_fixture *fx)
{
    static int counter; /* test processes are single-threaded while creating fixtures */
    memset(fx, 0, sizeof *fx);
    snprintf(fx->name, sizeof fx->name, "lever_t_%ld_%d", (long)getpid(), ++counter);
    PGconn *admin = connect_or_fail(database_url());
    char sql[160];
    /* The name is ours (digits and letters only), so building this DDL is safe. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->name);
    db_fixture_exec(admin, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", fx->name);
    db_fixture_exec(admin, sql);
    PQfinish(admin);
    db_fixture_url_for(fx->name, fx->url, sizeof fx->url);
    fx->conn = connect_or_fail(fx->url);
}

void db_fixture_create_migrated(struct db_fixture *fx)
{
    db_fixture_create(fx);
    struct lv_db_error err;
    int applied = lv_migrate(fx->conn, NULL, NULL, &err);
    if (applied < 0)
        fail_msg("%s", err.message);
    assert_int_equal(applied, (int)lv_migrations_count);
}

void db_fixture_drop(struct db_fixture *fx)
{
    if (fx->conn != NULL)
        PQfinish(fx->conn);
    fx->conn = NULL;
    if (fx->name[0] == '\0')
        return;
    PGconn *admin = connect_or_fail(database_url());
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->name);
    db_fixture_exec(admin, sql);
    PQfinish(admin);
    fx->name[0] = '\0';
}

const char *db_fixture_value(PGconn *conn, const char *sql, char *out, size_t out_size)
{
    struct lv_db_error err;
    PGresult *res = lv_db_query(conn, sql, 0, NULL, &err);
    if (res == NULL)
        fail_msg("%s: %s", sql, err.message);
    out[0] = '\0';
    if (PQntuples(res) > 0)
        snprintf(out, out_size, "%s", PQgetisnull(res, 0, 0) ? "null" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

void db_fixture_exec(PGconn *conn, const char *sql)
{
    struct lv_db_error err;
    if (lv_db_exec_script(conn, sql, &err) != 0)
        fail_msg("%.200s: [%s] %s", sql, err.sqlstate, err.message);
}

int db_fixture_setup_fresh(void **state)
{
    struct db_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    *state = fx;
    db_fixture_create(fx);
    return 0;
}

int db_fixture_setup_migrated(void **state)
{
    struct db_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    *state = fx;
    db_fixture_create_migrated(fx);
    return 0;
}

int db_fixture_teardown(void **state)
{
    struct db_fixture *fx = *state;
    if (fx != NULL)
        db_fixture_drop(fx);
    free(fx);
    return 0;
}
