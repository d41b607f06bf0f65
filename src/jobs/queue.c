/* queue.c — the batch job queue's SQL (see queue.h): chunk creation, claims and leases,
 * stores with COPY, finishing with the summary, failing. */
#include "jobs/queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"

int lv_queue_chunk_runs(long total)
{
    long runs = (total + 15) / 16;
    if (runs < 1)
        runs = 1;
    return runs > LV_QUEUE_CHUNK_MAX ? LV_QUEUE_CHUNK_MAX : (int)runs;
}

int lv_queue_add_chunks(PGconn *conn, const char *job_id, long total, struct lv_db_error *err)
{
    char total_text[24], size_text[24];
    snprintf(total_text, sizeof total_text, "%ld", total);
    snprintf(size_text, sizeof size_text, "%d", lv_queue_chunk_runs(total));
    const char *params[] = {job_id, total_text, size_text};
    if (lv_db_exec(conn,
                   "INSERT INTO batch_job_chunks (batch_job_id, chunk_index, first_run, end_run) "
                   "SELECT $1, i, i * $3::int, LEAST((i + 1) * $3::int, $2::int) "
                   "FROM generate_series(0, ($2::int - 1) / $3::int) AS i WHERE $2::int > 0",
                   3, params, err) != 0)
        return -1;
    const char *notify[] = {LV_QUEUE_CHANNEL, job_id};
    return lv_db_exec(conn, "SELECT pg_notify($1, $2)", 2, notify, err);
}

/* Fails the job of a chunk that was claimed too often. */
static int fail_poisoned(PGconn *conn, const struct lv_chunk *chunk, struct lv_db_error *err)
{
    char message[512];
    snprintf(message, sizeof message,
             "runs %ld to %ld were started %d times without completing (a worker crashed on "
             "them each time)",
             chunk->first_run, chunk->end_run - 1, chunk->attempts - 1);
    fprintf(stderr, "lever: batch %s failed: %s\n", chunk->job_id, message);
    return lv_queue_fail(conn, chunk->job_id, message, err);
}

int lv_queue_claim(PGconn *conn, const char *worker_id, int lease_s, struct lv_chunk *out,
                   struct lv_db_error *err)
{
    char lease_text[16];
    snprintf(lease_text, sizeof lease_text, "%d", lease_s);
    const char *params[] = {worker_id, lease_text};
    for (;;) {
        PGresult *res = lv_db_query(
            conn,
            "WITH next AS ("
            "  SELECT c.batch_job_id, c.chunk_index"
            "  FROM batch_job_chunks c JOIN batch_jobs j ON j.id = c.batch_job_id"
            "  WHERE c.status <> 'done' AND j.status IN ('queued', 'running')"
            "    AND (c.status = 'pending' OR c.lease_expires_at < now())"
            "  ORDER BY j.created_at, j.id, c.chunk_index"
            "  LIMIT 1 FOR UPDATE OF c SKIP LOCKED)"
            "UPDATE batch_job_chunks c SET status = 'claimed', claimed_by = $1,"
            "  lease_expires_at = now() + make_interval(secs => $2::int),"
            "  attempts = c.attempts + 1 "
            "FROM next WHERE c.batch_job_id = next.batch_job_id"
            "  AND c.chunk_index = next.chunk_index "
            "RETURNING c.batch_job_id, c.chunk_index, c.first_run, c.end_run, c.attempts",
            2, params, err);
        if (res == NULL)
            return -1;
        if (PQntuples(res) == 0) {
            PQclear(res);
            return 0;
        }
        snprintf(out->job_id, sizeof out->job_id, "%s", PQgetvalue(res, 0, 0));
        out->chunk_index = atoi(PQgetvalue(res, 0, 1));
        out->first_run = atol(PQgetvalue(res, 0, 2));
        out->end_run = atol(PQgetvalue(res, 0, 3));
        out->attempts = atoi(PQgetvalue(res, 0, 4));
        PQclear(res);
        if (out->attempts > LV_QUEUE_MAX_ATTEMPTS) {
            if (fail_poisoned(conn, out, err) != 0)
                return -1;
            continue;
        }
        const char *job[] = {out->job_id};
        if (lv_db_exec(conn,
                       "UPDATE batch_jobs SET status = 'running', started_at = now() "
                       "WHERE id = $1 AND status = 'queued'",
                       1, job, err) != 0)
            return -1;
        return 1;
    }
}

static void chunk_params(const struct lv_chunk *chunk, char index_text[16], const char **params)
{
    snprintf(index_text, 16, "%d", chunk->chunk_index);
    params[0] = chunk->job_id;
    params[1] = index_text;
}

int lv_queue_heartbeat(PGconn *conn, const struct lv_chunk *chunk, const char *worker_id,
                       int lease_s, struct lv_db_error *err)
{
    char index_text[16], lease_text[16];
    const char *params[4];
    chunk_params(chunk, index_text, params);
    snprintf(lease_text, sizeof lease_text, "%d", lease_s);
    params[2] = worker_id;
    params[3] = lease_text;
    PGresult *res = lv_db_query(
        conn,
        "UPDATE batch_job_chunks c SET lease_expires_at = now() + make_interval(secs => $4::int) "
        "FROM batch_jobs j WHERE j.id = c.batch_job_id AND c.batch_job_id = $1"
        "  AND c.chunk_index = $2::int AND c.status = 'claimed' AND c.claimed_by = $3"
        "  AND j.status IN ('queued', 'running') "
        "RETURNING 1",
        4, params, err);
    if (res == NULL)
        return -1;
    int held = PQntuples(res) == 1;
    PQclear(res);
    return held;
}

int lv_queue_release(PGconn *conn, const struct lv_chunk *chunk, const char *worker_id,
                     struct lv_db_error *err)
{
    char index_text[16];
    const char *params[3];
    chunk_params(chunk, index_text, params);
    params[2] = worker_id;
    return lv_db_exec(conn,
                      "UPDATE batch_job_chunks SET status = 'pending', claimed_by = NULL,"
                      "  lease_expires_at = NULL, attempts = GREATEST(attempts - 1, 0) "
                      "WHERE batch_job_id = $1 AND chunk_index = $2::int AND status = 'claimed'"
                      "  AND claimed_by = $3",
                      3, params, err);
}

struct store_args {
    const struct lv_chunk *chunk;
    const char *worker_id;
    const char *rows;
    size_t len;
    long n_runs;
    int stored;
};

static int store_body(PGconn *conn, void *arg, struct lv_db_error *err)
{
    struct store_args *a = arg;
    char index_text[16];
    const char *params[3];
    chunk_params(a->chunk, index_text, params);
    params[2] = a->worker_id;
    PGresult *res = lv_db_query(conn,
                                "UPDATE batch_job_chunks SET status = 'done', completed_at = now(),"
                                "  lease_expires_at = NULL "
                                "WHERE batch_job_id = $1 AND chunk_index = $2::int"
                                "  AND status = 'claimed' AND claimed_by = $3 RETURNING 1",
                                3, params, err);
    if (res == NULL)
        return -1;
    a->stored = PQntuples(res) == 1;
    PQclear(res);
    if (!a->stored)
        return 0; /* claim lost: commit nothing of ours (the transaction holds no change) */
    int rc = lv_db_copy_begin(conn,
                              "COPY batch_job_runs (batch_job_id, run_index, variables, metrics) "
                              "FROM STDIN",
                              err);
    if (rc == 0)
        rc = lv_db_copy_put(conn, a->rows, a->len, err);
    if (lv_db_copy_end(conn, rc == 0 ? err : NULL) != 0 || rc != 0)
        return -1;
    char n_text[24];
    snprintf(n_text, sizeof n_text, "%ld", a->n_runs);
    const char *job[] = {a->chunk->job_id, n_text};
    return lv_db_exec(conn, "UPDATE batch_jobs SET completed = completed + $2::int WHERE id = $1",
                      2, job, err);
}

int lv_queue_store(PGconn *conn, const struct lv_chunk *chunk, const char *worker_id,
                   const char *rows, size_t len, long n_runs, struct lv_db_error *err)
{
    struct store_args args = {chunk, worker_id, rows, len, n_runs, 0};
    if (lv_db_exec(conn, "BEGIN", 0, NULL, err) != 0)
        return -1;
    if (store_body(conn, &args, err) != 0) {
        lv_db_exec(conn, "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    if (lv_db_exec(conn, "COMMIT", 0, NULL, err) != 0)
        return -1;
    return args.stored;
}

/* Reads every run's outcome and summarises them. */
static int summarize_runs(PGconn *conn, const char *job_id, struct lv_batch_summary *summary,
                          struct lv_db_error *err)
{
    const char *params[] = {job_id};
    PGresult *res =
        lv_db_query(conn,
                    "SELECT run_index, metrics ? 'error',"
                    "  (metrics->>'total_return')::float8, (metrics->>'sharpe')::float8 "
                    "FROM batch_job_runs WHERE batch_job_id = $1",
                    1, params, err);
    if (res == NULL)
        return -1;
    size_t n = (size_t)PQntuples(res);
    struct lv_batch_outcome *outcomes = malloc((n ? n : 1) * sizeof *outcomes);
    if (outcomes == NULL) {
        PQclear(res);
        return lv_db_fail(err, "out of memory summarising %zu runs", n);
    }
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        outcomes[i] = (struct lv_batch_outcome){
            .run = atol(PQgetvalue(res, row, 0)),
            .failed = PQgetvalue(res, row, 1)[0] == 't',
            .total_return = PQgetisnull(res, row, 2) ? NAN : strtod(PQgetvalue(res, row, 2), NULL),
            .sharpe = PQgetisnull(res, row, 3) ? NAN : strtod(PQgetvalue(res, row, 3), NULL),
        };
    }
    PQclear(res);
    int rc = lv_batch_summarize(outcomes, n, summary);
    free(outcomes);
    return rc == 0 ? 0 : lv_db_fail(err, "out of memory summarising %zu runs", n);
}

/* {"run_index", "variables", "metrics"} of one run, or NULL when run < 0. */
static json_t *run_object(PGconn *conn, const char *job_id, long run, struct lv_db_error *err,
                          int *failed)
{
    if (run < 0)
        return NULL;
    char run_text[24];
    snprintf(run_text, sizeof run_text, "%ld", run);
    const char *params[] = {job_id, run_text};
    char *text = NULL;
    PGresult *res =
        lv_db_query(conn,
                    "SELECT json_build_object('run_index', run_index, 'variables',"
                    "  variables, 'metrics', metrics) "
                    "FROM batch_job_runs WHERE batch_job_id = $1 AND run_index = $2::int",
                    2, params, err);
    if (res == NULL) {
        *failed = 1;
        return NULL;
    }
    if (PQntuples(res) == 1)
        text = PQgetvalue(res, 0, 0);
    json_t *obj = text != NULL ? json_loads(text, 0, NULL) : NULL;
    PQclear(res);
    return obj;
}

static int finish_body(PGconn *conn, void *arg, struct lv_db_error *err)
{
    const char *job_id = arg;
    const char *params[] = {job_id};
    /* Row lock: two workers storing the last chunks at once must not both finish. */
    PGresult *res = lv_db_query(conn,
                                "SELECT status = 'running' AND NOT EXISTS (SELECT 1 FROM "
                                "  batch_job_chunks WHERE batch_job_id = $1 AND status <> 'done') "
                                "FROM batch_jobs WHERE id = $1 FOR UPDATE",
                                1, params, err);
    if (res == NULL)
        return -1;
    int ready = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!ready)
        return 1; /* nothing to do; rolled back */
    struct lv_batch_summary summary;
    if (summarize_runs(conn, job_id, &summary, err) != 0)
        return -1;
    int failed = 0;
    json_t *best = run_object(conn, job_id, summary.best_run, err, &failed);
    json_t *worst = run_object(conn, job_id, summary.worst_run, err, &failed);
    json_t *json = failed ? NULL : lv_batch_summary_to_json(&summary, best, worst);
    json_decref(best);
    json_decref(worst);
    if (failed)
        return -1;
    char *text = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (text == NULL)
        return lv_db_fail(err, "out of memory writing the summary");
    const char *update[] = {job_id, text};
    int rc = lv_db_exec(conn,
                        "UPDATE batch_jobs SET status = 'finished', summary = $2::jsonb,"
                        "  completed_at = now() WHERE id = $1",
                        2, update, err);
    free(text);
    return rc;
}

int lv_queue_try_finish(PGconn *conn, const char *job_id, struct lv_db_error *err)
{
    if (lv_db_exec(conn, "BEGIN", 0, NULL, err) != 0)
        return -1;
    int rc = finish_body(conn, (void *)job_id, err);
    if (rc != 0) {
        lv_db_exec(conn, "ROLLBACK", 0, NULL, NULL);
        return rc > 0 ? 0 : -1;
    }
    return lv_db_exec(conn, "COMMIT", 0, NULL, err) == 0 ? 1 : -1;
}

int lv_queue_fail(PGconn *conn, const char *job_id, const char *message, struct lv_db_error *err)
{
    const char *params[] = {job_id, message};
    return lv_db_exec(conn,
                      "UPDATE batch_jobs SET status = 'failed', error = $2, completed_at = now() "
                      "WHERE id = $1 AND status IN ('queued', 'running')",
                      2, params, err);
}
