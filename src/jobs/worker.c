/* worker.c — batch workers (see worker.h): the coordinator's claim / run / store loop, the
 * compute threads that share each chunk's runs, LISTEN/NOTIFY wake-ups and a clean stop. */
#include "jobs/worker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/batch.h"
#include "db/db.h"
#include "db/market_load.h"
#include "jobs/job.h"
#include "jobs/queue.h"

#define HEARTBEAT_MS 250  /* lease renewal and cancel check while a chunk runs */
#define IDLE_POLL_MS 1000 /* an idle worker looks for expired leases this often */

/* One chunk handed to the compute threads. Fields are guarded by `lock` except `next` and
 * `cancel`, which the threads read and bump without it. */
struct compute {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a chunk was posted, or stop */
    pthread_cond_t idle; /* a thread finished its share */
    unsigned generation; /* bumped per chunk */
    bool stop;
    struct lv_job *job;
    long first, end;
    atomic_long next;
    atomic_bool cancel;
    atomic_bool out_of_memory;
    int busy;                   /* threads still on the current chunk */
    struct lv_batch_buf *lines; /* lines[run - first]: that run's COPY line */
};

struct compute_thread {
    struct lv_workers *owner;
    int slot;
    pthread_t thread;
};

struct lv_workers {
    struct lv_worker_config cfg;
    char database_url[1024];
    char worker_id[128];
    int n_threads;
    struct compute compute;
    struct compute_thread *threads;
    int n_started;
    pthread_t coordinator;
    bool coordinator_started;
    atomic_bool stopping;
    int wake_pipe[2]; /* written by lv_workers_stop to interrupt an idle wait */
    PGconn *conn;     /* the coordinator's queue connection */
    PGconn *listen;   /* LISTEN connection */
    struct lv_market_holder *markets;
};

int lv_worker_config_init(struct lv_worker_config *cfg, const struct lv_config *app,
                          struct lv_error *err)
{
    (void)err; /* the configuration was validated when it was loaded */
    *cfg = (struct lv_worker_config){
        .database_url = app->database_url,
        .threads = app->workers,
        .lease_s = app->batch_lease_s,
        .memory_budget = (size_t)app->batch_memory_mb * 1024 * 1024,
    };
    return 0;
}

/* ---- Compute threads ---------------------------------------------------------------------- */

static void *compute_main(void *arg)
{
    struct compute_thread *self = arg;
    struct compute *c = &self->owner->compute;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (!c->stop && c->generation == seen)
            pthread_cond_wait(&c->work, &c->lock);
        if (c->stop) {
            pthread_mutex_unlock(&c->lock);
            return NULL;
        }
        seen = c->generation;
        struct lv_job *job = c->job;
        long first = c->first, end = c->end;
        pthread_mutex_unlock(&c->lock);

        for (;;) {
            long run = atomic_fetch_add(&c->next, 1);
            if (run >= end || atomic_load(&c->cancel))
                break;
            struct lv_batch_buf *line = &c->lines[run - first];
            line->len = 0;
            if (lv_job_run(job, self->slot, run, line) != 0) {
                atomic_store(&c->out_of_memory, true);
                atomic_store(&c->cancel, true);
            }
        }

        pthread_mutex_lock(&c->lock);
        if (--c->busy == 0)
            pthread_cond_signal(&c->idle);
        pthread_mutex_unlock(&c->lock);
    }
}

/* ---- Coordinator -------------------------------------------------------------------------- */

static void log_db(const char *what, const struct lv_db_error *err)
{
    fprintf(stderr, "lever worker: %s: %s\n", what, err->message);
}

static size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static int start_listening(struct lv_workers *w, struct lv_db_error *err)
{
    if (w->listen == NULL) {
        w->listen = lv_db_connect(w->database_url, err);
        if (w->listen == NULL)
            return -1;
    }
    return lv_db_exec(w->listen, "LISTEN " LV_QUEUE_CHANNEL, 0, NULL, err);
}

/* Sleeps until a job is queued, the stop pipe is written, or timeout_ms passes. */
static void wait_for_work(struct lv_workers *w, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = w->wake_pipe[0], .events = POLLIN}, {.fd = -1}};
    if (w->listen != NULL && PQstatus(w->listen) == CONNECTION_OK)
        fds[1] = (struct pollfd){.fd = PQsocket(w->listen), .events = POLLIN};
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
        return;
    if (w->listen == NULL)
        return;
    if (PQconsumeInput(w->listen) == 0) {
        /* Lost the connection (database restart): reconnect and listen again next time. */
        struct lv_db_error err;
        PQreset(w->listen);
        if (PQstatus(w->listen) == CONNECTION_OK && start_listening(w, &err) != 0)
            log_db("listening for jobs", &err);
        return;
    }
    PGnotify *note;
    while ((note = PQnotifies(w->listen)) != NULL)
        PQfreemem(note);
}

/* Makes *job the loaded form of chunk's job (loading the market snapshot with it). Returns 0,
 * or -1 when the chunk cannot run now (the job was failed or the database is down). */
static int ensure_job(struct lv_workers *w, const struct lv_chunk *chunk, struct lv_job **job,
                      const struct lv_market_snapshot **snap)
{
    if (*job != NULL && strcmp(lv_job_id(*job), chunk->job_id) == 0)
        return 0;
    lv_job_free(*job);
    *job = NULL;
    if (*snap != NULL)
        lv_market_release(w->markets, *snap);
    struct lv_error err;
    struct lv_db_error db_err;
    *snap = lv_market_acquire(w->markets, w->conn, &err);
    bool db_failed = false;
    int rc = *snap != NULL ? lv_job_load(w->conn, chunk->job_id, (*snap)->market, w->n_threads, job,
                                         &db_failed, &err)
                           : -1;
    if (rc == 1)
        return 0;
    if (rc < 0 && !db_failed) {
        fprintf(stderr, "lever worker: batch %s failed: %s\n", chunk->job_id, err.message);
        if (lv_queue_fail(w->conn, chunk->job_id, err.message, &db_err) != 0)
            log_db("failing a job", &db_err);
    } else if (rc < 0) {
        fprintf(stderr, "lever worker: loading batch %s: %s\n", chunk->job_id, err.message);
    }
    if (*snap != NULL)
        lv_market_release(w->markets, *snap);
    *snap = NULL;
    return -1;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Hands the chunk to the compute threads and waits for them, renewing the lease. Returns
 * true when every run completed (false: cancelled, stopping, lease lost or out of memory). */
static bool run_chunk(struct lv_workers *w, struct lv_job *job, const struct lv_chunk *chunk)
{
    struct compute *c = &w->compute;
    pthread_mutex_lock(&c->lock);
    c->job = job;
    c->first = chunk->first_run;
    c->end = chunk->end_run;
    atomic_store(&c->next, chunk->first_run);
    atomic_store(&c->cancel, false);
    atomic_store(&c->out_of_memory, false);
    c->busy = w->n_threads;
    c->generation++;
    pthread_cond_broadcast(&c->work);

    struct timespec last_beat;
    clock_gettime(CLOCK_MONOTONIC, &last_beat);
    while (c->busy > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += HEARTBEAT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->idle, &c->lock, &until);
        if (c->busy == 0 || elapsed_ms(&last_beat) < HEARTBEAT_MS)
            continue;
        pthread_mutex_unlock(&c->lock);
        clock_gettime(CLOCK_MONOTONIC, &last_beat);
        struct lv_db_error err;
        int held = lv_queue_heartbeat(w->conn, chunk, w->worker_id, w->cfg.lease_s, &err);
        if (held < 0)
            log_db("renewing a lease", &err);
        if (held == 0 || atomic_load(&w->stopping))
            atomic_store(&c->cancel, true);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return !atomic_load(&c->cancel);
}

/* Concatenates the chunk's lines in run order and stores them; finishes the job if done. */
static void store_chunk(struct lv_workers *w, const struct lv_chunk *chunk,
                        struct lv_batch_buf *rows)
{
    struct compute *c = &w->compute;
    long n = chunk->end_run - chunk->first_run;
    rows->len = 0;
    for (long i = 0; i < n; i++)
        if (lv_batch_buf_append(rows, c->lines[i].data, c->lines[i].len) != 0) {
            fprintf(stderr, "lever worker: out of memory storing batch %s\n", chunk->job_id);
            return;
        }
    struct lv_db_error err;
    int stored = lv_queue_store(w->conn, chunk, w->worker_id, rows->data, rows->len, n, &err);
    if (stored < 0)
        log_db("storing runs", &err);
    if (stored == 1 && lv_queue_try_finish(w->conn, chunk->job_id, &err) < 0)
        log_db("finishing a job", &err);
}

static void *coordinator_main(void *arg)
{
    struct lv_workers *w = arg;
    struct lv_job *job = NULL;
    const struct lv_market_snapshot *snap = NULL;
    struct lv_batch_buf rows = {0};
    while (!atomic_load(&w->stopping)) {
        struct lv_chunk chunk;
        struct lv_db_error err;
        int claimed = lv_queue_claim(w->conn, w->worker_id, w->cfg.lease_s, &chunk, &err);
        if (claimed <= 0) {
            if (claimed < 0)
                log_db("claiming work", &err);
            if (w->listen == NULL || PQstatus(w->listen) != CONNECTION_OK)
                if (start_listening(w, &err) != 0 && claimed == 0)
                    log_db("listening for jobs", &err);
            wait_for_work(w, IDLE_POLL_MS);
            continue;
        }
        if (chunk.end_run - chunk.first_run > LV_QUEUE_CHUNK_MAX) {
            lv_queue_fail(w->conn, chunk.job_id, "chunk larger than this worker accepts", &err);
            continue;
        }
        if (ensure_job(w, &chunk, &job, &snap) != 0) {
            lv_queue_release(w->conn, &chunk, w->worker_id, &err);
            continue;
        }
        if (w->cfg.memory_budget > 0 && resident_bytes() > w->cfg.memory_budget)
            lv_job_reset_cache(job);
        if (run_chunk(w, job, &chunk))
            store_chunk(w, &chunk, &rows);
        else if (atomic_load(&w->stopping) &&
                 lv_queue_release(w->conn, &chunk, w->worker_id, &err) != 0)
            log_db("releasing a chunk", &err);
        else if (atomic_load(&w->compute.out_of_memory))
            fprintf(stderr, "lever worker: out of memory running batch %s\n", chunk.job_id);
    }
    lv_job_free(job);
    if (snap != NULL)
        lv_market_release(w->markets, snap);
    lv_batch_buf_free(&rows);
    return NULL;
}

/* ---- Start and stop ----------------------------------------------------------------------- */

static void free_workers(struct lv_workers *w)
{
    if (w->compute.lines != NULL)
        for (int i = 0; i < LV_QUEUE_CHUNK_MAX; i++)
            lv_batch_buf_free(&w->compute.lines[i]);
    free(w->compute.lines);
    free(w->threads);
    if (w->conn != NULL)
        PQfinish(w->conn);
    if (w->listen != NULL)
        PQfinish(w->listen);
    if (w->markets != NULL)
        lv_market_holder_free(w->markets);
    if (w->wake_pipe[0] >= 0) {
        close(w->wake_pipe[0]);
        close(w->wake_pipe[1]);
    }
    pthread_mutex_destroy(&w->compute.lock);
    pthread_cond_destroy(&w->compute.work);
    pthread_cond_destroy(&w->compute.idle);
    free(w);
}

struct lv_workers *lv_workers_start(const struct lv_worker_config *cfg, struct lv_error *err)
{
    struct lv_workers *w = calloc(1, sizeof *w);
    if (w == NULL) {
        lv_fail(err, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    snprintf(w->database_url, sizeof w->database_url, "%s", cfg->database_url);
    w->cfg.database_url = w->database_url;
    if (w->cfg.lease_s <= 0)
        w->cfg.lease_s = LV_WORKER_DEFAULT_LEASE_S;
    if (w->cfg.memory_budget == 0)
        w->cfg.memory_budget = LV_WORKER_DEFAULT_MEMORY_BUDGET;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    w->n_threads = cfg->threads > 0 ? cfg->threads : (cpus > 0 ? (int)cpus : 1);
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(w->worker_id, sizeof w->worker_id, "%s:%d:%lx", host, (int)getpid(),
             (unsigned long)(now.tv_nsec ^ (long)(uintptr_t)w));
    w->wake_pipe[0] = w->wake_pipe[1] = -1;
    pthread_mutex_init(&w->compute.lock, NULL);
    pthread_cond_init(&w->compute.work, NULL);
    pthread_cond_init(&w->compute.idle, NULL);

    struct lv_db_error db_err;
    w->compute.lines = calloc(LV_QUEUE_CHUNK_MAX, sizeof *w->compute.lines);
    w->threads = calloc((size_t)w->n_threads, sizeof *w->threads);
    w->markets = lv_market_holder_new();
    if (w->compute.lines == NULL || w->threads == NULL || w->markets == NULL ||
        pipe(w->wake_pipe) != 0) {
        lv_fail(err, "out of memory starting batch workers");
        goto failed;
    }
    w->conn = lv_db_connect(w->database_url, &db_err);
    if (w->conn == NULL || start_listening(w, &db_err) != 0) {
        lv_fail(err, "batch workers cannot reach the database: %s", db_err.message);
        goto failed;
    }
    for (int i = 0; i < w->n_threads; i++) {
        w->threads[i] = (struct compute_thread){.owner = w, .slot = i};
        if (pthread_create(&w->threads[i].thread, NULL, compute_main, &w->threads[i]) != 0) {
            lv_fail(err, "cannot start batch worker threads");
            goto failed;
        }
        w->n_started++;
    }
    if (pthread_create(&w->coordinator, NULL, coordinator_main, w) != 0) {
        lv_fail(err, "cannot start the batch coordinator thread");
        goto failed;
    }
    w->coordinator_started = true;
    return w;
failed:
    lv_workers_stop(w);
    return NULL;
}

void lv_workers_stop(struct lv_workers *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stopping, true);
    if (w->wake_pipe[1] >= 0 && write(w->wake_pipe[1], "x", 1) < 0)
        perror("lever worker: waking the coordinator");
    if (w->coordinator_started)
        pthread_join(w->coordinator, NULL);
    pthread_mutex_lock(&w->compute.lock);
    w->compute.stop = true;
    pthread_cond_broadcast(&w->compute.work);
    pthread_mutex_unlock(&w->compute.lock);
    for (int i = 0; i < w->n_started; i++)
        pthread_join(w->threads[i].thread, NULL);
    free_workers(w);
}
