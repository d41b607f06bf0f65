/* migrate.c — the migration runner: under an advisory lock, applies each embedded migration
 * not yet recorded in schema_migrations, one transaction per migration. */
#include "db/migrate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock that serialises migration runs on one database ("lever" in ASCII). */
#define MIGRATE_LOCK_KEY "108101118101114"

static const char CREATE_SCHEMA_MIGRATIONS[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)";

static int fail_in(const struct lv_migration *m, struct lv_db_error *err)
{
    return lv_db_error_prefix(err, "migration %04d_%s failed: ", m->version, m->name);
}

static int apply_one(PGconn *conn, const struct lv_migration *m, struct lv_db_error *err)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *const params[] = {version, m->name};
    if (lv_db_exec(conn, "BEGIN", 0, NULL, err) != 0)
        return fail_in(m, err);
    if (lv_db_exec_script(conn, m->sql, err) != 0 ||
        lv_db_exec(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, params,
                   err) != 0 ||
        lv_db_exec(conn, "COMMIT", 0, NULL, err) != 0) {
        fail_in(m, err);
        struct lv_db_error ignored;
        lv_db_exec(conn, "ROLLBACK", 0, NULL, &ignored);
        return -1;
    }
    return 0;
}

/* Loads the applied versions into a bitmap-like array indexed by position in lv_migrations. */
static int load_applied(PGconn *conn, unsigned char *applied, struct lv_db_error *err)
{
    PGresult *res = lv_db_query(conn, "SELECT version FROM schema_migrations", 0, NULL, err);
    if (res == NULL)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        int version = atoi(PQgetvalue(res, row, 0));
        for (size_t i = 0; i < lv_migrations_count; i++)
            if (lv_migrations[i].version == version)
                applied[i] = 1;
    }
    PQclear(res);
    return 0;
}

static int migrate_locked(PGconn *conn, int max_version, lv_migration_applied_fn *on_applied,
                          void *arg, struct lv_db_error *err)
{
    if (lv_db_exec(conn, CREATE_SCHEMA_MIGRATIONS, 0, NULL, err) != 0)
        return -1;
    unsigned char *applied = calloc(lv_migrations_count + 1, 1); /* owned here */
    if (applied == NULL)
        return lv_db_fail(err, "out of memory");
    int count = load_applied(conn, applied, err);
    for (size_t i = 0; count >= 0 && i < lv_migrations_count; i++) {
        if (applied[i] || lv_migrations[i].version > max_version)
            continue;
        if (apply_one(conn, &lv_migrations[i], err) != 0) {
            count = -1;
            break;
        }
        count++;
        if (on_applied != NULL)
            on_applied(&lv_migrations[i], arg);
    }
    free(applied);
    return count;
}

int lv_migrate(PGconn *conn, lv_migration_applied_fn *on_applied, void *arg,
               struct lv_db_error *err)
{
    return lv_migrate_up_to(conn, INT_MAX, on_applied, arg, err);
}

int lv_migrate_up_to(PGconn *conn, int max_version, lv_migration_applied_fn *on_applied, void *arg,
                     struct lv_db_error *err)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return lv_db_fail(err, "lv_migrate needs a connection outside any transaction");
    const char *const key[] = {MIGRATE_LOCK_KEY};
    if (lv_db_exec(conn, "SELECT pg_advisory_lock($1::bigint)", 1, key, err) != 0)
        return -1;
    int count = migrate_locked(conn, max_version, on_applied, arg, err);
    /* The lock is per session: unlocking may fail only if the connection died, which also
     * released it. */
    struct lv_db_error ignored;
    lv_db_exec(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, key, &ignored);
    return count;
}

int lv_migrate_current_version(PGconn *conn, struct lv_db_error *err)
{
    char value[32];
    /* Two statements: a query naming a missing table fails at parse time, whatever guards it. */
    if (lv_db_query_value(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
                          value, sizeof value, err) < 0)
        return -1;
    if (strcmp(value, "t") != 0)
        return 0;
    if (lv_db_query_value(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
                          value, sizeof value, err) < 0)
        return -1;
    return atoi(value);
}
