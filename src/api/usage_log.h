/* usage_log.h — the api_usage_logs writer: requests are recorded in memory (a mutex and a
 * copy, no I/O) and a background thread writes them to PostgreSQL in batches with COPY, and
 * deletes rows older than the retention period. */
#ifndef LEVER_API_USAGE_LOG_H
#define LEVER_API_USAGE_LOG_H

#include "core/error.h"
#include "db/db.h"

struct lv_usage_log;

/* Zero-initialise; zero fields take the defaults. */
struct lv_usage_log_config {
    int flush_ms;       /* write what is queued at least this often; default 1000 */
    int batch_max;      /* rows per COPY; reaching it wakes the writer early; default 1000 */
    int queue_max;      /* rows kept while the database is away; more are dropped (and
                         * counted) rather than slowing requests down; default 100000 */
    int retention_days; /* delete rows older than this, at start and hourly; 0 = keep all */
};

/* Starts the writer thread. The pool is borrowed and must outlive lv_usage_log_stop.
 * Returns NULL with err set when the thread cannot start. */
struct lv_usage_log *lv_usage_log_start(struct lv_db_pool *pool,
                                        const struct lv_usage_log_config *config,
                                        struct lv_error *err);

/* Queues one request. user_id 0 = anonymous; endpoint is the route pattern (NULL for a path
 * no route matched, logged as "(unmatched)" so that junk URLs cannot fill the table with
 * distinct values). Never blocks on I/O; safe from any thread; NULL log is ignored. */
void lv_usage_log_record(struct lv_usage_log *log, int user_id, const char *endpoint,
                         const char *method, int status, double duration_ms);

/* Writes what is still queued, stops the thread and frees everything. NULL is ignored. */
void lv_usage_log_stop(struct lv_usage_log *log);

/* Rows dropped so far because the queue was full. */
long lv_usage_log_dropped(struct lv_usage_log *log);

/* Deletes api_usage_logs rows older than retention_days (> 0). Returns the number deleted,
 * or -1. */
long lv_usage_log_prune(PGconn *conn, int retention_days, struct lv_db_error *err);

#endif
