/* queue.h — the batch job queue in PostgreSQL (platform.md §5): jobs split into chunks of runs,
 * claimed with FOR UPDATE SKIP LOCKED under a renewable lease, stored with COPY in the same
 * transaction that marks the chunk done and advances the job's `completed`.
 *
 * Why it cannot lose or double a run: a chunk's rows, its `done` mark and the job's progress
 * commit together, and only while the worker still holds the chunk's claim (claimed_by is
 * checked inside that transaction). A worker that dies leaves a claim whose lease runs out;
 * the chunk is then claimed again and run from scratch. UNIQUE(batch_job_id, run_index) is
 * the last line of defence.
 *
 * Chunk states: pending → claimed → done, and claimed → pending when a stopping worker
 * releases it. Job states: queued → running (first claim) → finished (last chunk stored) |
 * failed (systemic error) | cancelled (by its owner; nothing claims its chunks any more). */
#ifndef LEVER_JOBS_QUEUE_H
#define LEVER_JOBS_QUEUE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "db/db.h"

/* NOTIFY channel: a job was queued (payload = its id). Idle workers LISTEN on it. */
#define LV_QUEUE_CHANNEL "lever_batch"

/* Most runs per chunk: big enough that a chunk's COPY and commit are cheap next to its runs,
 * small enough that a crash loses little and a cancel or stop waits little. */
#define LV_QUEUE_CHUNK_MAX 500

/* Chunks a claim gives up on: a chunk claimed this many times without being stored (its
 * workers keep dying on it) fails the job rather than crash every worker forever. */
#define LV_QUEUE_MAX_ATTEMPTS 5

struct lv_chunk {
    char job_id[256];
    int chunk_index;
    long first_run, end_run; /* runs [first_run, end_run) */
    int attempts;            /* claims so far, this one included */
};

/* Runs per chunk for a job of `total` runs: about 16 chunks for small jobs (so several workers
 * share them), LV_QUEUE_CHUNK_MAX for large ones. */
int lv_queue_chunk_runs(long total);

/* Inserts the chunks of a new job of `total` runs, then NOTIFYs LV_QUEUE_CHANNEL. Call inside
 * the transaction that inserts the job (the notification is delivered at commit). */
int lv_queue_add_chunks(PGconn *conn, const char *job_id, long total, struct lv_db_error *err);

/* Claims the next chunk of the oldest job with work left (pending, or claimed with an expired
 * lease) for `lease_s` seconds, and moves its job to `running`. Returns 1 with *out filled,
 * 0 when there is nothing to do, -1 on error. A chunk past LV_QUEUE_MAX_ATTEMPTS fails its
 * job instead (and the claim looks again). */
int lv_queue_claim(PGconn *conn, const char *worker_id, int lease_s, struct lv_chunk *out,
                   struct lv_db_error *err);

/* Renews the lease. Returns 1 while the claim is held and the job still wants the work, 0
 * when the job was cancelled or failed or the claim was lost, -1 on error. */
int lv_queue_heartbeat(PGconn *conn, const struct lv_chunk *chunk, const char *worker_id,
                       int lease_s, struct lv_db_error *err);

/* Gives the chunk back (pending) so that another worker takes it at once (a stopping worker).
 * Returns 0 or -1. */
int lv_queue_release(PGconn *conn, const struct lv_chunk *chunk, const char *worker_id,
                     struct lv_db_error *err);

/* Stores a chunk's runs in one transaction: marks it done (only if still claimed by
 * worker_id), COPYs `rows` (batch_job_runs COPY text: job id, run_index, variables, metrics;
 * one line per run) and adds n_runs to the job's `completed`. Returns 1 when stored, 0 when
 * the claim had been lost (nothing written), -1 on error (nothing written). */
int lv_queue_store(PGconn *conn, const struct lv_chunk *chunk, const char *worker_id,
                   const char *rows, size_t len, long n_runs, struct lv_db_error *err);

/* Finishes the job when every chunk is done: computes the §8 summary from its runs and sets
 * status `finished`, summary and completed_at. Returns 1 when this call finished it, 0 when
 * work remains (or another worker finished it), -1 on error. */
int lv_queue_try_finish(PGconn *conn, const char *job_id, struct lv_db_error *err);

/* Marks a queued or running job `failed` with `message` (a systemic error). 0 or -1. */
int lv_queue_fail(PGconn *conn, const char *job_id, const char *message, struct lv_db_error *err);

#endif
