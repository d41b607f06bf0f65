/* db.h — Lever's access to PostgreSQL: a thread-safe pool of libpq connections, parameterised
 * queries, transactions, and automatic reconnection after the database restarts.
 *
 * Every function that can fail takes a `struct lv_db_error *` (may be NULL) and reports
 * failure by its return value (NULL or -1); the error then holds the SQLSTATE (five
 * characters, "" when the failure did not come from the server, e.g. a refused connection)
 * and a one-line message.
 *
 * Typical use:
 *
 *     struct lv_db_error err;
 *     struct lv_db_pool *pool = lv_db_pool_open(getenv("DATABASE_URL"), 8, &err);
 *     PGconn *conn = lv_db_acquire(pool, 5000, &err);
 *     const char *params[] = {"42"};
 *     PGresult *res = lv_db_query(conn, "SELECT name FROM users WHERE id = $1", 1, params, &err);
 *     ... PQgetvalue(res, 0, 0) ...
 *     PQclear(res);
 *     lv_db_release(pool, conn);
 *     lv_db_pool_close(pool);
 *
 * SQL text is always a constant; values travel as parameters (text format). */
#ifndef LEVER_DB_DB_H
#define LEVER_DB_DB_H

#include <stddef.h>

#include <libpq-fe.h>

/* SQLSTATEs the callers test for. */
#define LV_SQLSTATE_UNIQUE_VIOLATION      "23505"
#define LV_SQLSTATE_FOREIGN_KEY_VIOLATION "23503"
#define LV_SQLSTATE_CHECK_VIOLATION       "23514"
#define LV_SQLSTATE_NOT_NULL_VIOLATION    "23502"
#define LV_SQLSTATE_SERIALIZATION_FAILURE "40001"

struct lv_db_error {
    char sqlstate[6]; /* "" when the error did not come from the server */
    char message[512];
};

/* Formats a client-side error (sqlstate "") into err when err is not NULL; returns -1. */
int lv_db_fail(struct lv_db_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Puts a formatted prefix in front of err's message (keeping its SQLSTATE), truncating the
 * end if needed, e.g. lv_db_error_prefix(err, "importing %s: ", path). Returns -1. */
int lv_db_error_prefix(struct lv_db_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when err describes a lost or refused connection (SQLSTATE class 08, 57P01-57P03, or a
 * client-side connection failure). */
int lv_db_error_is_connection(const struct lv_db_error *err);

/* ---- Single connections ------------------------------------------------------------------ */

/* Opens one connection to `url` (a libpq connection string or URI). Returns NULL on failure;
 * the message names the reason libpq gives. The caller owns the connection (PQfinish).
 * Unless the URL says otherwise the session uses TimeZone UTC (so CURRENT_TIMESTAMP stored in
 * the seed's TIMESTAMP columns is UTC) and a 10 s connect timeout; server NOTICEs are
 * discarded (errors come back as values). */
PGconn *lv_db_connect(const char *url, struct lv_db_error *err);

/* Runs one parameterised statement (`$1`…`$n`, all parameters text, NULL = SQL NULL) and
 * returns its result (PGRES_COMMAND_OK or PGRES_TUPLES_OK), owned by the caller (PQclear).
 * Returns NULL on failure with err filled from the server's SQLSTATE and primary message.
 *
 * If the connection is found dead (before the statement, or the statement fails with a
 * connection-class error) it is reset; when the connection was not inside a transaction the
 * statement is then retried once. (A statement whose reply was lost may thus run twice; for
 * statements that must not, use a transaction or make them idempotent.) Inside a transaction
 * the error is returned and the connection is marked "transaction lost": every later
 * statement fails with a message saying so — none runs outside the lost transaction — until
 * "ROLLBACK" (sent through lv_db_query/lv_db_exec), which reconnects and succeeds, or the
 * connection is released to the pool (which closes it). */
PGresult *lv_db_query(PGconn *conn, const char *sql, int n_params, const char *const *params,
                      struct lv_db_error *err);

/* lv_db_query for statements whose rows are not needed: returns 0 or -1. */
int lv_db_exec(PGconn *conn, const char *sql, int n_params, const char *const *params,
               struct lv_db_error *err);

/* Runs one statement returning at most one row and copies column 0 of that row into out
 * (NUL-terminated, truncated to out_size). Returns 1 when a row came back, 0 when none did
 * (out = ""), -1 on error. A SQL NULL copies as "" and returns 1. */
int lv_db_query_value(PGconn *conn, const char *sql, int n_params, const char *const *params,
                      char *out, size_t out_size, struct lv_db_error *err);

/* Health check on one connection: "SELECT 1", reconnecting if needed. 0 or -1. */
int lv_db_conn_ping(PGconn *conn, struct lv_db_error *err);

/* Runs constant SQL text that may hold several statements (simple query protocol), e.g. a
 * migration. Never pass text containing user data: it has no parameters. No retry. 0 or -1. */
int lv_db_exec_script(PGconn *conn, const char *sql, struct lv_db_error *err);

/* ---- COPY FROM STDIN (bulk loads: bars, batch runs) ---------------------------------------
 * lv_db_copy_begin sends a constant `COPY table (cols) FROM STDIN` statement; then any number
 * of lv_db_copy_put calls send data in COPY text format (rows ending in '\n', tab-separated,
 * `\N` for NULL, values escaped with lv_db_copy_escape); lv_db_copy_end finishes and returns
 * the server's verdict (a bad row fails here, with the server's message). Each returns 0 or
 * -1. After a failed put, call lv_db_copy_end anyway (with err NULL to keep the put's error):
 * it aborts the COPY. Use inside a transaction when the load must be all-or-nothing with
 * other statements. COPY is never retried; a connection lost during it is treated as lost
 * inside a transaction (see lv_db_query). */
int lv_db_copy_begin(PGconn *conn, const char *copy_sql, struct lv_db_error *err);
int lv_db_copy_put(PGconn *conn, const char *data, size_t len, struct lv_db_error *err);
int lv_db_copy_end(PGconn *conn, struct lv_db_error *err);

/* Writes `value` escaped for COPY text format (backslash, tab, newline, carriage return)
 * into out, NUL-terminated. Returns the length written, or -1 when out_size is too small. */
int lv_db_copy_escape(const char *value, char *out, size_t out_size);

/* ---- The pool ---------------------------------------------------------------------------- */

struct lv_db_pool;

/* Creates a pool of at most `size` connections to `url` (size >= 1). Connections are opened
 * lazily, but one is opened (and kept) at creation so that a wrong URL or an unreachable
 * server is reported here. Returns NULL on failure. The caller owns the pool and closes it
 * with lv_db_pool_close after every acquired connection has been released. */
struct lv_db_pool *lv_db_pool_open(const char *url, int size, struct lv_db_error *err);

void lv_db_pool_close(struct lv_db_pool *pool);

/* Takes a connection from the pool, opening a new one if the pool is below its size, else
 * waiting up to timeout_ms milliseconds (0 = do not wait, < 0 = wait forever) for one to be
 * released. Returns NULL on timeout (message says so) or when a new connection cannot be
 * opened. The connection belongs to the caller until lv_db_release. */
PGconn *lv_db_acquire(struct lv_db_pool *pool, int timeout_ms, struct lv_db_error *err);

/* Returns a connection to the pool. A connection left inside a transaction (or broken) is
 * rolled back or closed here, so the next user always gets a clean, idle session. */
void lv_db_release(struct lv_db_pool *pool, PGconn *conn);

/* Default wait of lv_db_tx and lv_db_ping for a free connection. */
#define LV_DB_ACQUIRE_TIMEOUT_MS 10000

/* Runs body inside BEGIN … COMMIT on a connection from the pool. When body returns non-zero
 * (it should fill err) or COMMIT fails, the transaction is rolled back and -1 returned; err
 * then holds body's error (or COMMIT's). When BEGIN itself fails on a dead connection the
 * connection is reset and BEGIN retried once. Returns 0 on commit. */
int lv_db_tx(struct lv_db_pool *pool, int (*body)(PGconn *conn, void *arg, struct lv_db_error *err),
             void *arg, struct lv_db_error *err);

/* Health check of the database behind the pool: acquires a connection and pings it. */
int lv_db_ping(struct lv_db_pool *pool, struct lv_db_error *err);

/* Number of connections currently open (idle + in use), for health reports and tests. */
int lv_db_pool_open_count(struct lv_db_pool *pool);

#endif
