/* db.c — the PostgreSQL access layer: errors as values, parameterised queries that survive a
 * database restart, COPY, and a thread-safe connection pool with transactions. */
#include "db/db.h"

#include <errno.h>
#include <libpq-events.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- Errors ------------------------------------------------------------------------------ */

static void copy_trimmed(char *dst, size_t dst_size, const char *src)
{
    snprintf(dst, dst_size, "%s", src != NULL ? src : "");
    size_t len = strlen(dst);
    while (len > 0 && (dst[len - 1] == '\n' || dst[len - 1] == ' '))
        dst[--len] = '\0';
}

int lv_db_fail(struct lv_db_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->sqlstate[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int lv_db_error_prefix(struct lv_db_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char prefix[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t prefix_len = n < 0 ? 0 : strlen(prefix);
    size_t room = sizeof err->message - 1;
    size_t keep = strnlen(err->message, room);
    if (prefix_len + keep > room)
        keep = room - prefix_len;
    memmove(err->message + prefix_len, err->message, keep);
    memcpy(err->message, prefix, prefix_len);
    err->message[prefix_len + keep] = '\0';
    return -1;
}

/* Fills err from a failed result: the server's SQLSTATE and "primary message: detail". When
 * the result is NULL or carries no SQLSTATE (the client lost the connection), the
 * connection's own message is used and sqlstate stays "". */
static void error_from_result(struct lv_db_error *err, PGconn *conn, const PGresult *res)
{
    if (err == NULL)
        return;
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state != NULL ? state : "");
    if (primary == NULL) {
        copy_trimmed(err->message, sizeof err->message, PQerrorMessage(conn));
        if (err->message[0] == '\0')
            snprintf(err->message, sizeof err->message, "database error");
    } else if (detail != NULL) {
        snprintf(err->message, sizeof err->message, "%s: %s", primary, detail);
    } else {
        snprintf(err->message, sizeof err->message, "%s", primary);
    }
}

int lv_db_error_is_connection(const struct lv_db_error *err)
{
    if (err == NULL)
        return 0;
    if (err->sqlstate[0] == '\0')
        return 1; /* no server verdict: the client could not talk to the server */
    return strncmp(err->sqlstate, "08", 2) == 0 || strcmp(err->sqlstate, "57P01") == 0 ||
           strcmp(err->sqlstate, "57P02") == 0 || strcmp(err->sqlstate, "57P03") == 0;
}

/* ---- Connections ------------------------------------------------------------------------- */

/* A connection that died inside a transaction is marked "transaction lost" (libpq instance
 * data keyed by this event procedure; no allocation) so that it is not silently reconnected:
 * the statements after the loss would otherwise run outside the transaction, each committed
 * on its own. Only ROLLBACK (or releasing it to the pool) clears the mark. */
static int conn_events(PGEventId event, void *info, void *pass_through)
{
    (void)event;
    (void)info;
    (void)pass_through;
    return 1;
}

static int transaction_lost(const PGconn *conn)
{
    return PQinstanceData(conn, conn_events) != NULL;
}

static void set_transaction_lost(PGconn *conn, int lost)
{
    PQsetInstanceData(conn, conn_events, lost ? (void *)conn : NULL);
}

/* After a failed operation: a connection that died while a transaction may have been open
 * (was_idle false) is marked lost, so that nothing runs outside that transaction later. */
static void note_failure(PGconn *conn, int was_idle)
{
    if (PQstatus(conn) != CONNECTION_OK && !was_idle)
        set_transaction_lost(conn, 1);
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *lv_db_connect(const char *url, struct lv_db_error *err)
{
    if (url == NULL || url[0] == '\0') {
        lv_db_fail(err, "no database URL given (set DATABASE_URL)");
        return NULL;
    }
    /* Keywords before "dbname" are defaults the URL may override; Lever stores TIMESTAMP
     * columns in UTC, so the session time zone is UTC unless the URL says otherwise. */
    const char *const keys[] = {"connect_timeout", "options", "fallback_application_name", "dbname",
                                NULL};
    const char *const values[] = {"10", "-c TimeZone=UTC", "lever", url, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL) {
        lv_db_fail(err, "out of memory opening a database connection");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char reason[400];
        copy_trimmed(reason, sizeof reason, PQerrorMessage(conn));
        lv_db_fail(err, "cannot connect to the database: %s", reason);
        PQfinish(conn);
        return NULL;
    }
    /* Server NOTICEs (e.g. "relation already exists, skipping") would go to stderr by
     * default; Lever's logs stay quiet, and errors come back as values anyway. */
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    if (!PQregisterEventProc(conn, conn_events, "lever", NULL)) {
        lv_db_fail(err, "cannot register the connection's event procedure");
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Makes sure conn is usable before a statement: a connection libpq already knows is broken
 * is reset (reconnected with the same parameters), unless it broke inside a transaction. */
static int ensure_connected(PGconn *conn, struct lv_db_error *err)
{
    if (transaction_lost(conn))
        return lv_db_fail(err, "the database connection was lost inside a transaction; roll "
                               "back and run the transaction again");
    if (PQstatus(conn) == CONNECTION_OK)
        return 0;
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK)
        return 0;
    char reason[400];
    copy_trimmed(reason, sizeof reason, PQerrorMessage(conn));
    return lv_db_fail(err, "lost the database connection and could not reconnect: %s", reason);
}

/* ROLLBACK on a connection whose transaction was lost: the transaction is indeed gone, so
 * reconnect and report success. */
static PGresult *rollback_lost(PGconn *conn, struct lv_db_error *err)
{
    set_transaction_lost(conn, 0);
    if (ensure_connected(conn, err) != 0)
        return NULL;
    PGresult *res = PQexec(conn, "SELECT 'rolled back'");
    if (res == NULL || !(PQresultStatus(res) == PGRES_TUPLES_OK)) {
        error_from_result(err, conn, res);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int result_ok(const PGresult *res)
{
    ExecStatusType status = PQresultStatus(res);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

PGresult *lv_db_query(PGconn *conn, const char *sql, int n_params, const char *const *params,
                      struct lv_db_error *err)
{
    if (transaction_lost(conn) && strcasecmp(sql, "ROLLBACK") == 0)
        return rollback_lost(conn, err);
    if (ensure_connected(conn, err) != 0)
        return NULL;
    /* Only a statement sent outside a transaction may be retried: inside one, the reconnect
     * has already lost everything the transaction did. */
    int retriable = PQtransactionStatus(conn) == PQTRANS_IDLE;
    for (int attempt = 0;; attempt++) {
        PGresult *res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);
        if (res != NULL && result_ok(res))
            return res;
        struct lv_db_error local;
        error_from_result(&local, conn, res);
        PQclear(res);
        int dead = PQstatus(conn) != CONNECTION_OK || lv_db_error_is_connection(&local);
        if (dead && !retriable)
            set_transaction_lost(conn, 1);
        if (!dead || !retriable || attempt > 0) {
            if (err != NULL)
                *err = local;
            return NULL;
        }
        PQreset(conn);
        if (PQstatus(conn) != CONNECTION_OK) {
            if (err != NULL)
                *err = local;
            return NULL;
        }
    }
}

int lv_db_exec(PGconn *conn, const char *sql, int n_params, const char *const *params,
               struct lv_db_error *err)
{
    PGresult *res = lv_db_query(conn, sql, n_params, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int lv_db_query_value(PGconn *conn, const char *sql, int n_params, const char *const *params,
                      char *out, size_t out_size, struct lv_db_error *err)
{
    if (out_size > 0)
        out[0] = '\0';
    PGresult *res = lv_db_query(conn, sql, n_params, params, err);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0 && PQnfields(res) > 0;
    if (found && out_size > 0)
        snprintf(out, out_size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

int lv_db_conn_ping(PGconn *conn, struct lv_db_error *err)
{
    return lv_db_exec(conn, "SELECT 1", 0, NULL, err);
}

int lv_db_exec_script(PGconn *conn, const char *sql, struct lv_db_error *err)
{
    if (ensure_connected(conn, err) != 0)
        return -1;
    int was_idle = PQtransactionStatus(conn) == PQTRANS_IDLE;
    PGresult *res = PQexec(conn, sql);
    if (res != NULL && result_ok(res)) {
        PQclear(res);
        return 0;
    }
    error_from_result(err, conn, res);
    PQclear(res);
    note_failure(conn, was_idle);
    return -1;
}

/* ---- COPY -------------------------------------------------------------------------------- */

int lv_db_copy_begin(PGconn *conn, const char *copy_sql, struct lv_db_error *err)
{
    if (ensure_connected(conn, err) != 0)
        return -1;
    int was_idle = PQtransactionStatus(conn) == PQTRANS_IDLE;
    PGresult *res = PQexec(conn, copy_sql);
    if (res != NULL && PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        return 0;
    }
    error_from_result(err, conn, res);
    PQclear(res);
    note_failure(conn, was_idle);
    return -1;
}

int lv_db_copy_put(PGconn *conn, const char *data, size_t len, struct lv_db_error *err)
{
    if (len > (size_t)0x7fffffff)
        return lv_db_fail(err, "COPY chunk too large");
    if (PQputCopyData(conn, data, (int)len) == 1)
        return 0;
    error_from_result(err, conn, NULL);
    /* Whether the COPY ran inside a transaction is not known here: assume it did. */
    note_failure(conn, 0);
    return -1;
}

/* Ends the COPY (aborting it if libpq is still in COPY_IN state after a failed put) and
 * collects every pending result, keeping the first error. */
int lv_db_copy_end(PGconn *conn, struct lv_db_error *err)
{
    int failed = 0;
    if (PQputCopyEnd(conn, NULL) != 1) {
        error_from_result(err, conn, NULL);
        failed = 1;
    }
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_COPY_IN) {
            /* Still in COPY: a put failed; abort so the connection returns to idle. */
            PQputCopyEnd(conn, "aborted by client");
        } else if (!result_ok(res) && !failed) {
            error_from_result(err, conn, res);
            failed = 1;
        }
        PQclear(res);
        if (PQstatus(conn) != CONNECTION_OK)
            break;
    }
    note_failure(conn, 0); /* as in lv_db_copy_put */
    return failed ? -1 : 0;
}

int lv_db_copy_escape(const char *value, char *out, size_t out_size)
{
    size_t n = 0;
    for (const char *p = value; *p != '\0'; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            break;
        }
        size_t need = esc != NULL ? 2 : 1;
        if (n + need >= out_size) {
            if (out_size > 0)
                out[0] = '\0';
            return -1;
        }
        if (esc != NULL) {
            memcpy(out + n, esc, 2);
        } else {
            out[n] = *p;
        }
        n += need;
    }
    if (n >= out_size)
        return -1; /* only when out_size == 0 */
    out[n] = '\0';
    return (int)n;
}

/* ---- The pool ---------------------------------------------------------------------------- */

struct lv_db_pool {
    char *url;    /* owned copy of the connection string */
    int capacity; /* most connections ever open at once */
    int n_open;   /* idle + in use + being opened */
    int n_idle;
    PGconn **idle; /* owned array of `capacity` slots; idle[0..n_idle) are owned connections */
    pthread_mutex_t lock;
    pthread_cond_t released; /* signalled when a connection or an opening slot frees up */
};

struct lv_db_pool *lv_db_pool_open(const char *url, int size, struct lv_db_error *err)
{
    if (size < 1) {
        lv_db_fail(err, "database pool size must be at least 1 (got %d)", size);
        return NULL;
    }
    PGconn *first = lv_db_connect(url, err);
    if (first == NULL)
        return NULL;
    struct lv_db_pool *pool = calloc(1, sizeof *pool);
    if (pool != NULL) {
        pool->url = strdup(url);
        pool->idle = calloc((size_t)size, sizeof *pool->idle);
    }
    if (pool == NULL || pool->url == NULL || pool->idle == NULL) {
        if (pool != NULL) {
            free(pool->url);
            free(pool->idle);
        }
        free(pool);
        PQfinish(first);
        lv_db_fail(err, "out of memory creating the database pool");
        return NULL;
    }
    pool->capacity = size;
    pool->idle[0] = first;
    pool->n_idle = 1;
    pool->n_open = 1;
    pthread_mutex_init(&pool->lock, NULL);
    /* Timed waits use CLOCK_MONOTONIC so that a wall-clock jump cannot stretch a timeout. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->released, &attr);
    pthread_condattr_destroy(&attr);
    return pool;
}

void lv_db_pool_close(struct lv_db_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->n_idle; i++)
        PQfinish(pool->idle[i]);
    pthread_cond_destroy(&pool->released);
    pthread_mutex_destroy(&pool->lock);
    free(pool->idle);
    free(pool->url);
    free(pool);
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec when;
    clock_gettime(CLOCK_MONOTONIC, &when);
    when.tv_sec += timeout_ms / 1000;
    when.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (when.tv_nsec >= 1000000000L) {
        when.tv_sec += 1;
        when.tv_nsec -= 1000000000L;
    }
    return when;
}

PGconn *lv_db_acquire(struct lv_db_pool *pool, int timeout_ms, struct lv_db_error *err)
{
    struct timespec deadline = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->n_idle > 0) {
            PGconn *conn = pool->idle[--pool->n_idle];
            pthread_mutex_unlock(&pool->lock);
            return conn;
        }
        if (pool->n_open < pool->capacity) {
            /* Reserve the slot, then connect without holding the lock (it can take seconds). */
            pool->n_open++;
            pthread_mutex_unlock(&pool->lock);
            PGconn *conn = lv_db_connect(pool->url, err);
            if (conn == NULL) {
                pthread_mutex_lock(&pool->lock);
                pool->n_open--;
                pthread_cond_signal(&pool->released);
                pthread_mutex_unlock(&pool->lock);
            }
            return conn;
        }
        int rc = 0;
        if (timeout_ms < 0)
            rc = pthread_cond_wait(&pool->released, &pool->lock);
        else if (timeout_ms == 0)
            rc = ETIMEDOUT;
        else
            rc = pthread_cond_timedwait(&pool->released, &pool->lock, &deadline);
        if (rc == ETIMEDOUT) {
            int capacity = pool->capacity;
            pthread_mutex_unlock(&pool->lock);
            lv_db_fail(err, "no database connection free after %d ms (all %d in use)", timeout_ms,
                       capacity);
            return NULL;
        }
    }
}

/* Brings a returned connection back to an idle session, or reports that it must be closed. */
static int make_idle(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK || transaction_lost(conn))
        return -1;
    switch (PQtransactionStatus(conn)) {
    case PQTRANS_IDLE:
        return 0;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR: {
        PGresult *res = PQexec(conn, "ROLLBACK");
        int ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        return ok && PQtransactionStatus(conn) == PQTRANS_IDLE ? 0 : -1;
    }
    default:
        return -1; /* a command still in flight or an unknown state: do not reuse */
    }
}

void lv_db_release(struct lv_db_pool *pool, PGconn *conn)
{
    if (conn == NULL)
        return;
    int reusable = make_idle(conn) == 0;
    if (!reusable)
        PQfinish(conn);
    pthread_mutex_lock(&pool->lock);
    if (reusable)
        pool->idle[pool->n_idle++] = conn;
    else
        pool->n_open--;
    pthread_cond_signal(&pool->released);
    pthread_mutex_unlock(&pool->lock);
}

int lv_db_pool_open_count(struct lv_db_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    int n = pool->n_open;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

int lv_db_ping(struct lv_db_pool *pool, struct lv_db_error *err)
{
    PGconn *conn = lv_db_acquire(pool, LV_DB_ACQUIRE_TIMEOUT_MS, err);
    if (conn == NULL)
        return -1;
    int rc = lv_db_conn_ping(conn, err);
    lv_db_release(pool, conn);
    return rc;
}

int lv_db_tx(struct lv_db_pool *pool, int (*body)(PGconn *conn, void *arg, struct lv_db_error *err),
             void *arg, struct lv_db_error *err)
{
    PGconn *conn = lv_db_acquire(pool, LV_DB_ACQUIRE_TIMEOUT_MS, err);
    if (conn == NULL)
        return -1;
    /* BEGIN goes through lv_db_exec, which reconnects and retries on a dead idle connection. */
    int rc = lv_db_exec(conn, "BEGIN", 0, NULL, err);
    if (rc == 0) {
        if (err != NULL)
            err->sqlstate[0] = err->message[0] = '\0';
        if (body(conn, arg, err) != 0) {
            if (err != NULL && err->message[0] == '\0')
                lv_db_fail(err, "transaction body failed");
            rc = -1;
        } else if (PQtransactionStatus(conn) == PQTRANS_INERROR) {
            /* COMMIT of an aborted transaction "succeeds" as a ROLLBACK: report it instead. */
            rc = lv_db_fail(err, "transaction aborted by an earlier failed statement");
        } else {
            rc = lv_db_exec(conn, "COMMIT", 0, NULL, err);
        }
    }
    /* A failed body (or COMMIT) leaves the transaction open or aborted: release rolls back. */
    lv_db_release(pool, conn);
    return rc;
}
