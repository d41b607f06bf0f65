/* usage_log.c — a swap-buffer queue: request threads append under the mutex; the writer
 * takes the whole array at once, releases the mutex, then COPYs it. */
#include "api/usage_log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_EVERY_S 3600

struct usage_entry {
    int user_id;
    int status;
    int duration_ms;
    char method[11];    /* api_usage_logs.method is VARCHAR(10) */
    char endpoint[256]; /* VARCHAR(255) */
};

struct lv_usage_log {
    struct lv_db_pool *pool; /* borrowed */
    struct lv_usage_log_config config;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    struct usage_entry *queue; /* owned; `queued` entries in use of `cap` */
    int queued;
    int cap;
    long dropped;
};

/* Copies text, truncated, with bytes outside printable ASCII replaced by '?': a method
 * token from the request line may hold any byte, and one row PostgreSQL refuses as
 * invalid UTF-8 would make the whole batch fail. */
static void copy_printable(char *out, size_t cap, const char *text)
{
    size_t len = 0;
    for (; text[len] != '\0' && len + 1 < cap; len++)
        out[len] =
            (unsigned char)text[len] >= 0x20 && (unsigned char)text[len] < 0x7F ? text[len] : '?';
    out[len] = '\0';
}

void lv_usage_log_record(struct lv_usage_log *log, int user_id, const char *endpoint,
                         const char *method, int status, double duration_ms)
{
    if (log == NULL)
        return;
    pthread_mutex_lock(&log->lock);
    if (log->queued == log->cap) {
        int cap = log->cap > 0 ? log->cap * 2 : 256;
        if (cap > log->config.queue_max)
            cap = log->config.queue_max;
        struct usage_entry *grown =
            cap > log->cap ? realloc(log->queue, (size_t)cap * sizeof *grown) : NULL;
        if (grown == NULL) {
            log->dropped++;
            pthread_mutex_unlock(&log->lock);
            return;
        }
        log->queue = grown;
        log->cap = cap;
    }
    struct usage_entry *entry = &log->queue[log->queued++];
    entry->user_id = user_id;
    entry->status = status;
    entry->duration_ms = duration_ms > 0 && duration_ms < 2e9 ? (int)lround(duration_ms) : 0;
    copy_printable(entry->method, sizeof entry->method, method != NULL ? method : "");
    copy_printable(entry->endpoint, sizeof entry->endpoint,
                   endpoint != NULL ? endpoint : "(unmatched)");
    if (log->queued >= log->config.batch_max)
        pthread_cond_signal(&log->wake);
    pthread_mutex_unlock(&log->lock);
}

/* One COPY text-format line for entry into out; -1 when a field cannot be escaped. */
static int copy_line(const struct usage_entry *entry, char *out, size_t cap)
{
    char endpoint[2 * sizeof entry->endpoint], method[2 * sizeof entry->method], user[16];
    if (lv_db_copy_escape(entry->endpoint, endpoint, sizeof endpoint) < 0 ||
        lv_db_copy_escape(entry->method, method, sizeof method) < 0)
        return -1;
    if (entry->user_id > 0)
        snprintf(user, sizeof user, "%d", entry->user_id);
    else
        strcpy(user, "\\N");
    int len = snprintf(out, cap, "%s\t%s\t%s\t%d\t%d\n", user, endpoint, method, entry->status,
                       entry->duration_ms);
    return len < 0 || (size_t)len >= cap ? -1 : len;
}

/* Writes entries with COPY inside a transaction. A user deleted since the request would
 * violate the foreign key, so user ids are checked on the way in (ON DELETE SET NULL is the
 * table's own rule for users deleted later). */
static int write_batch(PGconn *conn, const struct usage_entry *entries, int count,
                       struct lv_db_error *err)
{
    if (lv_db_exec(conn, "BEGIN", 0, NULL, err) != 0)
        return -1;
    int rc = lv_db_exec(conn,
                        "CREATE TEMP TABLE IF NOT EXISTS usage_batch (user_id int, endpoint text, "
                        "method text, status_code int, duration_ms int) ON COMMIT DELETE ROWS",
                        0, NULL, err);
    if (rc == 0) {
        rc = lv_db_copy_begin(conn,
                              "COPY usage_batch (user_id, endpoint, method, status_code, "
                              "duration_ms) FROM STDIN",
                              err);
        for (int i = 0; rc == 0 && i < count; i++) {
            char line[1024];
            int len = copy_line(&entries[i], line, sizeof line);
            if (len > 0)
                rc = lv_db_copy_put(conn, line, (size_t)len, err);
        }
        if (lv_db_copy_end(conn, rc == 0 ? err : NULL) != 0)
            rc = -1;
    }
    if (rc == 0)
        rc = lv_db_exec(conn,
                        "INSERT INTO api_usage_logs (user_id, endpoint, method, status_code, "
                        "duration_ms) SELECT u.id, b.endpoint, b.method, b.status_code, "
                        "b.duration_ms FROM usage_batch b LEFT JOIN users u ON u.id = b.user_id",
                        0, NULL, err);
    if (rc == 0)
        rc = lv_db_exec(conn, "COMMIT", 0, NULL, err);
    else
        lv_db_exec(conn, "ROLLBACK", 0, NULL, NULL);
    return rc;
}

long lv_usage_log_prune(PGconn *conn, int retention_days, struct lv_db_error *err)
{
    char days[16], deleted[32];
    snprintf(days, sizeof days, "%d", retention_days);
    const char *params[] = {days};
    if (lv_db_query_value(conn,
                          "WITH d AS (DELETE FROM api_usage_logs WHERE created_at < "
                          "CURRENT_TIMESTAMP - $1::int * interval '1 day' RETURNING 1) "
                          "SELECT count(*) FROM d",
                          1, params, deleted, sizeof deleted, err) < 0)
        return -1;
    return atol(deleted);
}

/* Takes the queue (the caller owns and frees it), leaving an empty one. */
static struct usage_entry *take_queue(struct lv_usage_log *log, int *count)
{
    struct usage_entry *taken = log->queue;
    *count = log->queued;
    log->queue = NULL;
    log->queued = 0;
    log->cap = 0;
    return taken;
}

/* Puts entries that could not be written back in front of the queue, as far as room allows,
 * so a database restart loses nothing short of queue_max. Called with the lock held. */
static void requeue(struct lv_usage_log *log, struct usage_entry *entries, int count)
{
    int room = log->config.queue_max - log->queued;
    int keep = count < room ? count : room > 0 ? room : 0;
    struct usage_entry *merged = malloc((size_t)(keep + log->queued + 1) * sizeof *merged);
    if (merged == NULL) {
        log->dropped += count;
        free(entries);
        return;
    }
    memcpy(merged, entries, (size_t)keep * sizeof *merged);
    if (log->queued > 0)
        memcpy(merged + keep, log->queue, (size_t)log->queued * sizeof *merged);
    log->dropped += count - keep;
    free(log->queue);
    free(entries);
    log->queue = merged;
    log->queued += keep;
    log->cap = log->queued + 1;
}

static void flush(struct lv_usage_log *log)
{
    pthread_mutex_lock(&log->lock);
    int count;
    struct usage_entry *entries = take_queue(log, &count);
    pthread_mutex_unlock(&log->lock);
    if (count == 0) {
        free(entries);
        return;
    }
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(log->pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    int at = 0, poisoned = 0;
    while (conn != NULL && at < count) {
        int n = count - at < log->config.batch_max ? count - at : log->config.batch_max;
        if (write_batch(conn, entries + at, n, &err) == 0) {
            at += n;
        } else if (lv_db_error_is_connection(&err)) {
            break; /* the database is away: keep the rest for the next attempt */
        } else {
            /* The server refused the data itself: retrying would fail forever. */
            fprintf(stderr, "lever: usage log: %d rows dropped: %s\n", n, err.message);
            poisoned += n;
            at += n;
        }
    }
    if (conn != NULL)
        lv_db_release(log->pool, conn);
    pthread_mutex_lock(&log->lock);
    log->dropped += poisoned;
    if (at < count) {
        fprintf(stderr, "lever: usage log: %d rows wait for the database: %s\n", count - at,
                err.message);
        memmove(entries, entries + at, (size_t)(count - at) * sizeof *entries);
        requeue(log, entries, count - at);
    } else {
        free(entries);
    }
    pthread_mutex_unlock(&log->lock);
}

static void prune(struct lv_usage_log *log)
{
    if (log->config.retention_days <= 0)
        return;
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(log->pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    if (conn == NULL || lv_usage_log_prune(conn, log->config.retention_days, &err) < 0)
        fprintf(stderr, "lever: usage log: pruning old rows failed: %s\n", err.message);
    if (conn != NULL)
        lv_db_release(log->pool, conn);
}

static struct timespec deadline_after_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *writer_main(void *arg)
{
    struct lv_usage_log *log = arg;
    time_t next_prune = 0;
    for (;;) {
        if (time(NULL) >= next_prune) {
            prune(log);
            next_prune = time(NULL) + PRUNE_EVERY_S;
        }
        pthread_mutex_lock(&log->lock);
        struct timespec deadline = deadline_after_ms(log->config.flush_ms);
        while (!log->stopping && log->queued < log->config.batch_max) {
            if (pthread_cond_timedwait(&log->wake, &log->lock, &deadline) == ETIMEDOUT)
                break;
        }
        bool stopping = log->stopping;
        pthread_mutex_unlock(&log->lock);
        flush(log);
        if (stopping)
            return NULL;
    }
}

struct lv_usage_log *lv_usage_log_start(struct lv_db_pool *pool,
                                        const struct lv_usage_log_config *config,
                                        struct lv_error *err)
{
    struct lv_usage_log *log = calloc(1, sizeof *log);
    if (log == NULL) {
        lv_fail(err, "out of memory starting the usage log");
        return NULL;
    }
    log->pool = pool;
    log->config = *config;
    if (log->config.flush_ms <= 0)
        log->config.flush_ms = 1000;
    if (log->config.batch_max <= 0)
        log->config.batch_max = 1000;
    if (log->config.queue_max <= 0)
        log->config.queue_max = 100000;
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->wake, NULL);
    int rc = pthread_create(&log->thread, NULL, writer_main, log);
    if (rc != 0) {
        lv_fail(err, "cannot start the usage log thread: %s", strerror(rc));
        pthread_cond_destroy(&log->wake);
        pthread_mutex_destroy(&log->lock);
        free(log);
        return NULL;
    }
    return log;
}

void lv_usage_log_stop(struct lv_usage_log *log)
{
    if (log == NULL)
        return;
    pthread_mutex_lock(&log->lock);
    log->stopping = true;
    pthread_cond_signal(&log->wake);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->thread, NULL);
    pthread_cond_destroy(&log->wake);
    pthread_mutex_destroy(&log->lock);
    if (log->queued > 0)
        fprintf(stderr, "lever: usage log: %d rows could not be written at exit\n", log->queued);
    free(log->queue);
    free(log);
}

long lv_usage_log_dropped(struct lv_usage_log *log)
{
    pthread_mutex_lock(&log->lock);
    long dropped = log->dropped;
    pthread_mutex_unlock(&log->lock);
    return dropped;
}
