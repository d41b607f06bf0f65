/* migrate.h — applies Lever's numbered SQL migrations (migrations/NNNN_name.sql, embedded in
 * the binary at build time) to a database, recording them in schema_migrations.
 *
 * Rules for migration files: one concern per file, numbered in order, never edited once
 * released (add a new file instead), no BEGIN/COMMIT inside (the runner wraps each file in
 * its own transaction), nothing that cannot run in a transaction (CREATE INDEX CONCURRENTLY).
 * The function update_updated_at_column() is created by 0001_users.sql, the first migration
 * whose table needs it; later tables with an updated_at column attach their own trigger. */
#ifndef LEVER_DB_MIGRATE_H
#define LEVER_DB_MIGRATE_H

#include <stddef.h>

#include "db/db.h"

struct lv_migration {
    int version;      /* NNNN of the file name */
    const char *name; /* the rest of the file name, without ".sql" */
    const char *sql;  /* the file's text */
};

/* Every migration known to this binary, in ascending version order (generated from
 * migrations/ by scripts/embed-migrations.py). */
extern const struct lv_migration lv_migrations[];
extern const size_t lv_migrations_count;

/* Called after each migration is committed. */
typedef void lv_migration_applied_fn(const struct lv_migration *migration, void *arg);

/* Brings the database on conn up to date: creates schema_migrations if needed, then applies
 * every migration whose version is not recorded, each in its own transaction (the file plus
 * its schema_migrations row commit together). The whole run holds a session-level
 * pg_advisory_lock, so concurrent callers (two `lever serve` starting at once) wait for each
 * other and every migration is applied exactly once. on_applied may be NULL.
 * Returns the number of migrations applied (0 when up to date) or -1; on failure err names
 * the migration that failed, and the migrations before it stay applied. */
int lv_migrate(PGconn *conn, lv_migration_applied_fn *on_applied, void *arg,
               struct lv_db_error *err);

/* lv_migrate limited to the migrations numbered <= max_version (tests use it to check the
 * seed's schema before Lever's own migrations run). */
int lv_migrate_up_to(PGconn *conn, int max_version, lv_migration_applied_fn *on_applied, void *arg,
                     struct lv_db_error *err);

/* Highest version recorded in schema_migrations (0 when none or the table does not exist),
 * or -1 on error. */
int lv_migrate_current_version(PGconn *conn, struct lv_db_error *err);

#endif
