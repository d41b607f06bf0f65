/* test_db_pool.c — the connection layer on a real PostgreSQL: parameterised queries, errors
 * with SQLSTATE, transactions, COPY, the pool's limits and waits, and reconnection after the
 * server restarts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "db_fixture.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* Each test gets a fresh database with one table `t (k TEXT UNIQUE, n INTEGER)`. */
static int setup(void **state)
{
    struct db_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    db_fixture_create(fx);
    db_fixture_exec(fx->conn, "CREATE TABLE t (k TEXT UNIQUE, n INTEGER)");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct db_fixture *fx = *state;
    db_fixture_drop(fx);
    free(fx);
    return 0;
}

static struct lv_db_pool *open_pool(const struct db_fixture *fx, int size)
{
    struct lv_db_error err;
    struct lv_db_pool *pool = lv_db_pool_open(fx->url, size, &err);
    if (pool == NULL)
        fail_msg("%s", err.message);
    return pool;
}

/* ---- Queries ----------------------------------------------------------------------------- */

static void test_parameterised_query(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_error err;
    const char *const two[] = {"2", "3"};
    char value[128];
    assert_int_equal(
        lv_db_query_value(fx->conn, "SELECT $1::int + $2::int", 2, two, value, sizeof value, &err),
        1);
    assert_string_equal(value, "5");

    /* A parameter is data, never SQL. */
    const char *const hostile[] = {"x'); DROP TABLE t; --"};
    assert_int_equal(lv_db_exec(fx->conn, "INSERT INTO t (k) VALUES ($1)", 1, hostile, &err), 0);
    assert_int_equal(
        lv_db_query_value(fx->conn, "SELECT k FROM t", 0, NULL, value, sizeof value, &err), 1);
    assert_string_equal(value, hostile[0]);

    const char *const null_param[] = {NULL};
    assert_int_equal(lv_db_query_value(fx->conn, "SELECT $1::text IS NULL", 1, null_param, value,
                                       sizeof value, &err),
                     1);
    assert_string_equal(value, "t");

    /* No row: 0 and an empty string. */
    strcpy(value, "stale");
    assert_int_equal(lv_db_query_value(fx->conn, "SELECT k FROM t WHERE false", 0, NULL, value,
                                       sizeof value, &err),
                     0);
    assert_string_equal(value, "");
}

static void test_errors_carry_sqlstate(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_error err;
    const char *const key[] = {"a"};
    assert_int_equal(lv_db_exec(fx->conn, "INSERT INTO t (k) VALUES ($1)", 1, key, &err), 0);
    assert_int_equal(lv_db_exec(fx->conn, "INSERT INTO t (k) VALUES ($1)", 1, key, &err), -1);
    assert_string_equal(err.sqlstate, LV_SQLSTATE_UNIQUE_VIOLATION);
    assert_non_null(strstr(err.message, "duplicate key"));
    assert_false(lv_db_error_is_connection(&err));

    assert_null(lv_db_query(fx->conn, "SELEC 1", 0, NULL, &err));
    assert_string_equal(err.sqlstate, "42601"); /* syntax_error */

    const char *const not_a_number[] = {"abc"};
    assert_int_equal(lv_db_exec(fx->conn, "SELECT $1::int", 1, not_a_number, &err), -1);
    assert_string_equal(err.sqlstate, "22P02"); /* invalid_text_representation */

    /* The connection stays usable after errors. */
    assert_int_equal(lv_db_conn_ping(fx->conn, &err), 0);
}

static void test_connect_failure_is_reported(void **state)
{
    (void)state;
    struct lv_db_error err;
    /* Port 1 on loopback: nothing listens there, so the refusal is immediate. */
    assert_null(lv_db_pool_open("postgresql://postgres@127.0.0.1:1/lever", 2, &err));
    assert_string_equal(err.sqlstate, "");
    assert_non_null(strstr(err.message, "cannot connect to the database"));
    assert_true(lv_db_error_is_connection(&err));
    assert_null(lv_db_connect("", &err));
    assert_non_null(strstr(err.message, "DATABASE_URL"));
    assert_null(lv_db_pool_open("postgresql://127.0.0.1:1/x", 0, &err));
    assert_non_null(strstr(err.message, "at least 1"));
}

static void test_error_prefix(void **state)
{
    (void)state;
    struct lv_db_error err;
    lv_db_fail(&err, "boom");
    strcpy(err.sqlstate, "23505");
    assert_int_equal(lv_db_error_prefix(&err, "importing %s: ", "SPY.csv"), -1);
    assert_string_equal(err.message, "importing SPY.csv: boom");
    assert_string_equal(err.sqlstate, "23505");
    /* A long message is truncated at its end, never overflowing. */
    memset(err.message, 'x', sizeof err.message - 1);
    err.message[sizeof err.message - 1] = '\0';
    lv_db_error_prefix(&err, "p: ");
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    assert_memory_equal(err.message, "p: xxx", 6);
}

/* ---- COPY -------------------------------------------------------------------------------- */

static void test_copy_in(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_error err;
    char escaped[64];
    assert_int_equal(lv_db_copy_escape("a\tb\\c\nd", escaped, sizeof escaped), 10);
    assert_string_equal(escaped, "a\\tb\\\\c\\nd");
    char small[4];
    assert_int_equal(lv_db_copy_escape("abcdef", small, sizeof small), -1);
    assert_string_equal(small, "");

    assert_int_equal(lv_db_copy_begin(fx->conn, "COPY t (k, n) FROM STDIN", &err), 0);
    char first_row[128];
    snprintf(first_row, sizeof first_row, "%s\t1\n", escaped);
    const char *more_rows = "plain\t2\nnull-n\t\\N\n";
    assert_int_equal(lv_db_copy_put(fx->conn, first_row, strlen(first_row), &err), 0);
    assert_int_equal(lv_db_copy_put(fx->conn, more_rows, strlen(more_rows), &err), 0);
    assert_int_equal(lv_db_copy_end(fx->conn, &err), 0);
    char value[64];
    assert_string_equal(db_fixture_value(fx->conn,
                                         "SELECT string_agg(k || '=' || coalesce(n::text, "
                                         "'null'), '|' ORDER BY k) FROM t",
                                         value, sizeof value),
                        "a\tb\\c\nd=1|null-n=null|plain=2");
    assert_string_equal(db_fixture_value(fx->conn, "SELECT count(*) || '/' || count(n) FROM t",
                                         value, sizeof value),
                        "3/2");

    /* A bad row fails the whole COPY at the end, with the server's SQLSTATE; nothing lands. */
    assert_int_equal(lv_db_copy_begin(fx->conn, "COPY t (k, n) FROM STDIN", &err), 0);
    const char *bad = "good\t5\nbad\tnot-a-number\n";
    assert_int_equal(lv_db_copy_put(fx->conn, bad, strlen(bad), &err), 0);
    assert_int_equal(lv_db_copy_end(fx->conn, &err), -1);
    assert_string_equal(err.sqlstate, "22P02");
    assert_string_equal(db_fixture_value(fx->conn, "SELECT count(*) FROM t", value, sizeof value),
                        "3");
    assert_int_equal(lv_db_conn_ping(fx->conn, &err), 0);

    /* A COPY statement that fails at once reports it, and end is harmless afterwards. */
    assert_int_equal(lv_db_copy_begin(fx->conn, "COPY missing FROM STDIN", &err), -1);
    assert_string_equal(err.sqlstate, "42P01");
    assert_int_equal(lv_db_copy_end(fx->conn, &err), -1);
    assert_int_equal(lv_db_conn_ping(fx->conn, &err), 0);
}

/* ---- Transactions ------------------------------------------------------------------------ */

static int insert_key(PGconn *conn, void *arg, struct lv_db_error *err)
{
    const char *const params[] = {arg};
    return lv_db_exec(conn, "INSERT INTO t (k) VALUES ($1)", 1, params, err);
}

static int insert_then_fail(PGconn *conn, void *arg, struct lv_db_error *err)
{
    if (insert_key(conn, arg, err) != 0)
        return -1;
    return lv_db_fail(err, "body gave up");
}

/* Swallows a failed statement and returns success: the transaction is still aborted. */
static int ignore_failure(PGconn *conn, void *arg, struct lv_db_error *err)
{
    (void)err;
    struct lv_db_error ignored;
    insert_key(conn, arg, &ignored);
    lv_db_exec(conn, "SELECT 1/0", 0, NULL, &ignored);
    return 0;
}

static void test_transactions(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_pool *pool = open_pool(fx, 2);
    struct lv_db_error err;
    char value[64];

    assert_int_equal(lv_db_tx(pool, insert_key, "committed", &err), 0);
    assert_string_equal(db_fixture_value(fx->conn, "SELECT count(*) FROM t WHERE k = 'committed'",
                                         value, sizeof value),
                        "1");

    assert_int_equal(lv_db_tx(pool, insert_then_fail, "rolled-back", &err), -1);
    assert_string_equal(err.message, "body gave up");
    assert_string_equal(db_fixture_value(fx->conn, "SELECT count(*) FROM t WHERE k = 'rolled-back'",
                                         value, sizeof value),
                        "0");

    /* A failing statement inside the body: its SQLSTATE comes back, nothing is kept. */
    assert_int_equal(lv_db_tx(pool, insert_key, "committed", &err), -1);
    assert_string_equal(err.sqlstate, LV_SQLSTATE_UNIQUE_VIOLATION);

    assert_int_equal(lv_db_tx(pool, ignore_failure, "swallowed", &err), -1);
    assert_non_null(strstr(err.message, "aborted"));
    assert_string_equal(db_fixture_value(fx->conn, "SELECT count(*) FROM t WHERE k = 'swallowed'",
                                         value, sizeof value),
                        "0");

    /* Every connection went back to the pool idle. */
    PGconn *conn = lv_db_acquire(pool, 0, &err);
    assert_non_null(conn);
    assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
    lv_db_release(pool, conn);
    lv_db_pool_close(pool);
}

static void test_release_rolls_back_open_transaction(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_pool *pool = open_pool(fx, 1);
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(pool, 0, &err);
    assert_int_equal(lv_db_exec(conn, "BEGIN", 0, NULL, &err), 0);
    assert_int_equal(insert_key(conn, "forgotten", &err), 0);
    lv_db_release(pool, conn);

    PGconn *again = lv_db_acquire(pool, 0, &err);
    assert_ptr_equal(again, conn); /* the same connection, reused */
    assert_int_equal(PQtransactionStatus(again), PQTRANS_IDLE);
    char value[64];
    assert_string_equal(db_fixture_value(again, "SELECT count(*) FROM t", value, sizeof value),
                        "0");
    lv_db_release(pool, again);
    lv_db_pool_close(pool);
}

/* ---- Pool limits ------------------------------------------------------------------------- */

static void test_acquire_timeout(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_pool *pool = open_pool(fx, 1);
    struct lv_db_error err;
    PGconn *held = lv_db_acquire(pool, 0, &err);
    assert_non_null(held);

    double start = now_ms();
    assert_null(lv_db_acquire(pool, 150, &err));
    double waited = now_ms() - start;
    assert_true(waited >= 140.0);
    assert_true(waited < 3000.0);
    assert_non_null(strstr(err.message, "no database connection free after 150 ms"));

    start = now_ms();
    assert_null(lv_db_acquire(pool, 0, &err));
    assert_true(now_ms() - start < 100.0);
    assert_int_equal(lv_db_pool_open_count(pool), 1);

    lv_db_release(pool, held);
    assert_int_equal(lv_db_ping(pool, &err), 0);
    lv_db_pool_close(pool);
}

struct delayed_release {
    struct lv_db_pool *pool;
    PGconn *conn;
    int delay_ms;
};

static void *release_later(void *arg)
{
    struct delayed_release *job = arg;
    usleep((useconds_t)job->delay_ms * 1000);
    lv_db_release(job->pool, job->conn);
    return NULL;
}

static void test_acquire_waits_for_release(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_pool *pool = open_pool(fx, 1);
    struct lv_db_error err;
    struct delayed_release job = {pool, lv_db_acquire(pool, 0, &err), 200};
    assert_non_null(job.conn);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, release_later, &job), 0);
    double start = now_ms();
    PGconn *conn = lv_db_acquire(pool, 10000, &err);
    double waited = now_ms() - start;
    pthread_join(thread, NULL);
    assert_ptr_equal(conn, job.conn);
    assert_true(waited >= 150.0 && waited < 5000.0);
    lv_db_release(pool, conn);
    lv_db_pool_close(pool);
}

enum { WORKERS = 8, INCREMENTS = 40, POOL_SIZE = 3 };

static int increment(PGconn *conn, void *arg, struct lv_db_error *err)
{
    (void)arg;
    return lv_db_exec(conn, "UPDATE t SET n = n + 1 WHERE k = 'counter'", 0, NULL, err);
}

static void *hammer(void *arg)
{
    struct lv_db_pool *pool = arg;
    intptr_t failures = 0;
    for (int i = 0; i < INCREMENTS; i++) {
        struct lv_db_error err;
        if (lv_db_tx(pool, increment, NULL, &err) != 0)
            failures++;
    }
    return (void *)failures;
}

static void test_pool_is_thread_safe(void **state)
{
    struct db_fixture *fx = *state;
    db_fixture_exec(fx->conn, "INSERT INTO t (k, n) VALUES ('counter', 0)");
    struct lv_db_pool *pool = open_pool(fx, POOL_SIZE);
    pthread_t threads[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, hammer, pool), 0);
    intptr_t failures = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        failures += (intptr_t)result;
    }
    assert_int_equal(failures, 0);
    assert_true(lv_db_pool_open_count(pool) <= POOL_SIZE);
    char value[64];
    assert_string_equal(
        db_fixture_value(fx->conn, "SELECT n FROM t WHERE k = 'counter'", value, sizeof value),
        "320");
    lv_db_pool_close(pool);
}

/* ---- Reconnection ------------------------------------------------------------------------ */

static void run_pg(const char *verb)
{
    const char *root = getenv("LEVER_SOURCE_ROOT");
    const char *dir = getenv("LEVER_TEST_PG_DIR");
    if (root == NULL)
        fail_msg("LEVER_SOURCE_ROOT is not set (scripts/run-tests sets it)");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/scripts/pg' %s '%s' >/dev/null", root, verb, dir);
    if (system(cmd) != 0)
        fail_msg("'%s' failed", cmd);
}

static void test_reconnects_after_restart(void **state)
{
    struct db_fixture *fx = *state;
    if (getenv("LEVER_TEST_PG_DIR") == NULL) {
        print_message("LEVER_TEST_PG_DIR unset: cannot restart the cluster\n");
        skip();
    }
    struct lv_db_pool *pool = open_pool(fx, 3);
    struct lv_db_error err;
    PGconn *idle = lv_db_acquire(pool, 0, &err);
    PGconn *in_tx = lv_db_acquire(pool, 0, &err);
    assert_non_null(idle);
    assert_non_null(in_tx);
    assert_int_equal(lv_db_exec(in_tx, "BEGIN", 0, NULL, &err), 0);
    assert_int_equal(insert_key(in_tx, "lost", &err), 0);
    lv_db_release(pool, idle); /* back in the pool, idle, when the server goes away */

    run_pg("stop");
    run_pg("start");

    /* Inside a transaction the work is gone: an error, no silent retry, and no later
     * statement may run outside the lost transaction either... */
    assert_int_equal(insert_key(in_tx, "after-restart", &err), -1);
    assert_true(lv_db_error_is_connection(&err));
    assert_int_equal(insert_key(in_tx, "autocommitted", &err), -1);
    assert_non_null(strstr(err.message, "lost inside a transaction"));
    /* ...until ROLLBACK, which reconnects. */
    assert_int_equal(lv_db_exec(in_tx, "ROLLBACK", 0, NULL, &err), 0);
    assert_int_equal(lv_db_conn_ping(in_tx, &err), 0);
    assert_int_equal(PQtransactionStatus(in_tx), PQTRANS_IDLE);
    lv_db_release(pool, in_tx);

    /* Outside one, the next statement reconnects and succeeds. */
    PGconn *conn = lv_db_acquire(pool, 0, &err);
    if (conn == in_tx) { /* the pool hands out the most recently released one first */
        PGconn *other = lv_db_acquire(pool, 0, &err);
        lv_db_release(pool, conn);
        conn = other;
    }
    assert_ptr_equal(conn, idle);
    const char *const two[] = {"20", "22"};
    char value[64];
    assert_int_equal(
        lv_db_query_value(conn, "SELECT $1::int + $2::int", 2, two, value, sizeof value, &err), 1);
    assert_string_equal(value, "42");
    lv_db_release(pool, conn);

    assert_int_equal(lv_db_ping(pool, &err), 0);
    assert_int_equal(lv_db_tx(pool, insert_key, "after-restart", &err), 0);
    PQfinish(fx->conn); /* the fixture's own connection died with the server */
    fx->conn = lv_db_connect(fx->url, &err);
    assert_non_null(fx->conn);
    assert_string_equal(
        db_fixture_value(fx->conn, "SELECT string_agg(k, ',') FROM t", value, sizeof value),
        "after-restart");

    /* A transaction that starts on a dead idle connection reconnects at BEGIN. */
    run_pg("stop");
    run_pg("start");
    assert_int_equal(lv_db_tx(pool, insert_key, "second", &err), 0);
    lv_db_pool_close(pool);
    PQfinish(fx->conn);
    fx->conn = lv_db_connect(fx->url, &err);
    assert_non_null(fx->conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parameterised_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_carry_sqlstate, setup, teardown),
        cmocka_unit_test(test_connect_failure_is_reported),
        cmocka_unit_test(test_error_prefix),
        cmocka_unit_test_setup_teardown(test_copy_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_rolls_back_open_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_waits_for_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_is_thread_safe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnects_after_restart, setup, teardown),
    };
    return cmocka_run_group_tests_name("db_pool", tests, NULL, NULL);
}
