/* job.h — one batch job as a worker process holds it: the job's run document and variables
 * read once from batch_jobs, the market and a series cache shared by every run of the job in
 * this process, and per-thread scratch (document template, backtest workspace and result).
 *
 * Threads: lv_job_run may be called by `n_threads` threads at once, each with its own slot
 * 0..n_threads-1; everything else belongs to the thread that loaded the job. */
#ifndef LEVER_JOBS_JOB_H
#define LEVER_JOBS_JOB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "core/backtest.h"
#include "core/batch.h"
#include "core/error.h"
#include "core/market.h"
#include "db/db.h"

struct lv_job;

/* Reads job `job_id` and prepares it to run on `market` (borrowed; must outlive the job) with
 * up to n_threads threads. Returns 1 with *out, 0 when the job does not exist any more, -1
 * with a message in err when it cannot be run at all (a systemic error: the job must fail)
 * or the database failed (*db_failed set). */
int lv_job_load(PGconn *conn, const char *job_id, const struct lv_market *market, int n_threads,
                struct lv_job **out, bool *db_failed, struct lv_error *err);
void lv_job_free(struct lv_job *job);

const char *lv_job_id(const struct lv_job *job);

/* Runs run `run` in thread slot `slot` and appends its batch_job_runs COPY line (job id,
 * run_index, variables, metrics) to `line`. A run that cannot happen (a symbol without bars,
 * an invalid bound value) is a result too: metrics {"error": "..."}. Returns 0, or -1 only
 * when memory ran out. */
int lv_job_run(struct lv_job *job, int slot, long run, struct lv_batch_buf *line);

/* Drops every cached indicator series (between chunks, when memory grows past a budget). Not
 * thread-safe: call it while no lv_job_run is in progress. */
int lv_job_reset_cache(struct lv_job *job);

#endif
