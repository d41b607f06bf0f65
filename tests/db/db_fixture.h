/* db_fixture.h — helpers for the database suites: a throwaway database per test (created on
 * the cluster of DATABASE_URL, dropped at the end) so suites never disturb each other. */
#ifndef LEVER_TESTS_DB_FIXTURE_H
#define LEVER_TESTS_DB_FIXTURE_H

#include <stddef.h>

#include <libpq-fe.h>

struct db_fixture {
    char name[64];  /* the database's name, lever_t_<pid>_<n> */
    char url[1024]; /* a libpq connection string for it */
    PGconn *conn;   /* an open connection to it, owned by the fixture */
};

/* Creates a fresh empty database and connects to it; fails the current test (cmocka) when
 * DATABASE_URL is unset or the server refuses. */
void db_fixture_create(struct db_fixture *fx);

/* Same, then applies every migration (lv_migrate). */
void db_fixture_create_migrated(struct db_fixture *fx);

/* Closes the connection and drops the database (forcing out other sessions). */
void db_fixture_drop(struct db_fixture *fx);

/* cmocka setup/teardown: *state becomes a heap struct db_fixture (fresh or migrated), dropped
 * and freed by the teardown even when the test fails half-way. */
int db_fixture_setup_fresh(void **state);
int db_fixture_setup_migrated(void **state);
int db_fixture_teardown(void **state);

/* DATABASE_URL with its dbname replaced, as a connection string written into out. */
void db_fixture_url_for(const char *dbname, char *out, size_t out_size);

/* Runs a constant query on conn and returns column 0 of row 0 as a string in out ("" when
 * no row; SQL NULL as "null"); fails the test on error. */
const char *db_fixture_value(PGconn *conn, const char *sql, char *out, size_t out_size);

/* Runs constant SQL text (several statements allowed); fails the test on error. */
void db_fixture_exec(PGconn *conn, const char *sql);

#endif
