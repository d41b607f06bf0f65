/* test_batch_durability.c — the batch queue with real processes and real PostgreSQL: a worker
 * killed with SIGKILL mid-job, `lever serve` restarted mid-job, cancel mid-job, two workers on
 * one job, and a job whose every run fails. Each ends with exactly `total` runs, no duplicate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_call.h"
#include "lever_proc.h"

#define JOBS  "/api/v1/batch-jobs"
#define LEASE "LEVER_BATCH_LEASE_S=2"

/* The sample trend switch with its three variables; `n_values` SMA periods from 20. */
static char *sma_batch(const char *risk, const char *safe, int n_values)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/strategies/batch-sma-switch.json",
             lever_test_env("LEVER_SHARED"));
    json_t *strategy = json_load_file(path, 0, NULL);
    assert_non_null(strategy);
    json_t *periods = json_array();
    for (int i = 0; i < n_values; i++) {
        char text[16];
        snprintf(text, sizeof text, "%d", 20 + i);
        json_array_append_new(periods, json_string(text));
    }
    json_t *body = json_pack("{s:o, s:[{s:s, s:[s]}, {s:s, s:[s, s]}, {s:s, s:o}]}", "strategy",
                             strategy, "variables", "name", "risk", "values", risk, "name", "safe",
                             "values", safe, "TLT", "name", "n", "values", periods);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

struct fixture {
    struct lever_proc api;       /* LEVER_WORKERS=0: the API alone, so tests choose the workers */
    struct lever_proc restarted; /* serve_restart_resumes_the_job's server, with workers */
    char token[128];
    pid_t workers[8]; /* started and not yet stopped: a failed test leaves none running */
};
static struct fixture fx;

static int setup(void **state)
{
    char etf[1024];
    snprintf(etf, sizeof etf, "%s/data/etf", lever_test_env("LEVER_SHARED"));
    const char *import[] = {"bars", "import", etf, NULL};
    char err[2048];
    if (lever_run(import, NULL, NULL, 0, err, sizeof err) != 0) {
        fprintf(stderr, "bars import failed: %s\n", err);
        return -1;
    }
    const char *env[] = {"LEVER_WORKERS=0", LEASE, NULL};
    if (lever_proc_start(&fx.api, env) != 0 ||
        lever_create_user("batch-durability", fx.token, sizeof fx.token) < 0)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++)
        if (fx.workers[i] > 0) {
            kill(fx.workers[i], SIGKILL);
            waitpid(fx.workers[i], NULL, 0);
        }
    lever_proc_stop(&fx.api);
    return 0;
}

/* Starts `lever worker` with one compute thread and a 2 s lease; its output goes to a log. */
static pid_t start_worker(const char *log_name)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char log[256];
        snprintf(log, sizeof log, "/tmp/lever-%s-%d.log", log_name, (int)getpid());
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("LEVER_WORKERS", "1", 1);
        setenv("LEVER_BATCH_LEASE_S", "2", 1);
        execl(lever_test_env("LEVER_BIN"), "lever", "worker", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 8; i++)
        if (fx.workers[i] == 0) {
            fx.workers[i] = pid;
            break;
        }
    return pid;
}

static int stop_process(pid_t pid, int sig)
{
    for (int i = 0; i < 8; i++)
        if (fx.workers[i] == pid)
            fx.workers[i] = 0;
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Creates a job and returns its id in out. */
static void create_job(const struct lever_proc *proc, const char *body, char out[64], long *total)
{
    json_t *job = api_expect(proc, fx.token, "POST", JOBS, body, 202);
    snprintf(out, 64, "%s", json_string_value(json_object_get(job, "id")));
    *total = (long)json_integer_value(json_object_get(job, "total"));
    /* A server with its own workers may have claimed the job before it answered. */
    const char *status = json_string_value(json_object_get(job, "status"));
    assert_true(strcmp(status, "queued") == 0 || strcmp(status, "running") == 0);
    json_decref(job);
}

static long job_long(const char *sql, const char *id)
{
    return db_long(sql, id);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits (up to timeout_s) until `sql` with the job id gives a non-zero number. */
static void wait_until(const char *sql, const char *id, double timeout_s, const char *what)
{
    double deadline = now_s() + timeout_s;
    while (job_long(sql, id) == 0) {
        if (now_s() > deadline)
            fail_msg("timed out waiting for %s of %s", what, id);
        usleep(50 * 1000);
    }
}

#define COMPLETED_SOME "SELECT (completed > 0)::int FROM batch_jobs WHERE id = $1"
#define FINISHED       "SELECT (status = 'finished')::int FROM batch_jobs WHERE id = $1"

/* Exactly `total` runs, indices 0..total-1, each once, and the job says so. */
static void assert_complete(const char *id, long total)
{
    assert_int_equal(job_long("SELECT count(*) FROM batch_job_runs WHERE batch_job_id = $1", id),
                     total);
    assert_int_equal(job_long("SELECT count(DISTINCT run_index) FROM batch_job_runs "
                              "WHERE batch_job_id = $1",
                              id),
                     total);
    assert_int_equal(
        job_long("SELECT max(run_index) FROM batch_job_runs WHERE batch_job_id = $1", id),
        total - 1);
    assert_int_equal(job_long("SELECT completed FROM batch_jobs WHERE id = $1", id), total);
    assert_int_equal(
        job_long("SELECT (summary->>'total_runs')::int FROM batch_jobs WHERE id = $1", id), total);
    assert_int_equal(
        job_long("SELECT (completed_at IS NOT NULL)::int FROM batch_jobs WHERE id = $1", id), 1);
}

static void killed_worker_is_replaced_without_loss(void **state)
{
    (void)state;
    char *body = sma_batch("SPY", "IEF", 1000); /* 2000 runs, 16 chunks of 125 */
    char id[64];
    long total;
    create_job(&fx.api, body, id, &total);
    free(body);
    assert_int_equal(total, 2000);
    pid_t first = start_worker("killed");
    wait_until(COMPLETED_SOME, id, 120, "first stored chunk");
    assert_int_equal(job_long(FINISHED, id), 0);
    stop_process(first, SIGKILL);
    long before = job_long("SELECT completed FROM batch_jobs WHERE id = $1", id);
    assert_true(before > 0 && before < total);
    pid_t second = start_worker("replacement");
    wait_until(FINISHED, id, 300, "the end of the job");
    assert_int_equal(stop_process(second, SIGTERM), 0);
    assert_complete(id, total);
}

static void serve_restart_resumes_the_job(void **state)
{
    (void)state;
    const char *env[] = {"LEVER_WORKERS=1", LEASE, NULL};
    struct lever_proc *server = &fx.restarted;
    assert_int_equal(lever_proc_start(server, env), 0);
    char *body = sma_batch("QQQ", "SHY", 1000);
    char id[64];
    long total;
    create_job(server, body, id, &total);
    free(body);
    wait_until(COMPLETED_SOME, id, 120, "first stored chunk");
    assert_int_equal(lever_proc_stop(server), 0); /* SIGTERM: gives its chunk back, exit 0 */
    assert_int_equal(job_long("SELECT count(*) FROM batch_job_chunks WHERE batch_job_id = $1 "
                              "AND status = 'claimed'",
                              id),
                     0);
    assert_int_equal(job_long(FINISHED, id), 0);
    assert_int_equal(lever_proc_start(server, env), 0);
    wait_until(FINISHED, id, 300, "the end of the job");
    lever_proc_stop(server);
    assert_complete(id, total);
}

/* A failed serve_restart_resumes_the_job must not leave its workers running into the next
 * tests (they would claim those tests' chunks). */
static int stop_restarted_server(void **state)
{
    (void)state;
    lever_proc_kill(&fx.restarted);
    return 0;
}

static void cancel_stops_work_within_a_second(void **state)
{
    (void)state;
    pid_t worker = start_worker("cancel");
    char *body = sma_batch("IWM", "IEF", 2000);
    char id[64];
    long total;
    create_job(&fx.api, body, id, &total);
    free(body);
    wait_until(COMPLETED_SOME, id, 120, "first stored chunk");
    char path[512];
    json_t *job =
        api_expect(&fx.api, fx.token, "POST", api_path(path, JOBS "/%s/cancel", id), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(job, "status")), "cancelled");
    json_decref(job);
    usleep(1000 * 1000);
    long after_one_second =
        job_long("SELECT count(*) FROM batch_job_runs WHERE batch_job_id = $1", id);
    usleep(1500 * 1000);
    assert_int_equal(job_long("SELECT count(*) FROM batch_job_runs WHERE batch_job_id = $1", id),
                     after_one_second);
    assert_true(after_one_second > 0 && after_one_second < total); /* finished runs are kept */
    assert_int_equal(job_long("SELECT completed FROM batch_jobs WHERE id = $1", id),
                     after_one_second);
    /* Cancelling again is harmless; the worker is still alive and stops cleanly. */
    json_decref(api_expect(&fx.api, fx.token, "POST", path, NULL, 200));
    assert_int_equal(stop_process(worker, SIGTERM), 0);
}

static void two_workers_share_one_job(void **state)
{
    (void)state;
    char *body = sma_batch("MDY", "AGG", 400);
    char id[64];
    long total;
    create_job(&fx.api, body, id, &total);
    free(body);
    pid_t a = start_worker("share-a"), b = start_worker("share-b");
    wait_until(FINISHED, id, 300, "the end of the job");
    assert_int_equal(stop_process(a, SIGTERM), 0);
    assert_int_equal(stop_process(b, SIGTERM), 0);
    assert_complete(id, total);
    assert_int_equal(job_long("SELECT count(DISTINCT claimed_by) FROM batch_job_chunks "
                              "WHERE batch_job_id = $1",
                              id),
                     2);
}

static void job_whose_every_run_fails_still_finishes(void **state)
{
    (void)state;
    /* Valid tickers the database has no bars for: every run fails, none is lost. */
    const char *body =
        "{\"name\": \"no data\", \"strategy\": {\"elements\": [{\"type\": \"ticker\", "
        "\"ticker\": \"$t\"}]}, \"variables\": [{\"name\": \"t\", \"values\": [\"ZZZA\", "
        "\"ZZZB\", \"ZZZC\"]}]}";
    char id[64];
    long total;
    create_job(&fx.api, body, id, &total);
    pid_t worker = start_worker("failing");
    wait_until(FINISHED, id, 120, "the end of the job");
    assert_int_equal(stop_process(worker, SIGTERM), 0);
    assert_complete(id, 3);
    assert_int_equal(job_long("SELECT count(*) FROM batch_job_runs WHERE batch_job_id = $1 AND "
                              "metrics->>'error' LIKE '%ZZZ%'",
                              id),
                     3);
    assert_int_equal(job_long("SELECT (summary->>'failed')::int FROM batch_jobs WHERE id = $1", id),
                     3);
    assert_int_equal(
        job_long("SELECT (summary->>'succeeded')::int FROM batch_jobs WHERE id = $1", id), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_worker_is_replaced_without_loss),
        cmocka_unit_test_teardown(serve_restart_resumes_the_job, stop_restarted_server),
        cmocka_unit_test(cancel_stops_work_within_a_second),
        cmocka_unit_test(two_workers_share_one_job),
        cmocka_unit_test(job_whose_every_run_fails_still_finishes),
    };
    return cmocka_run_group_tests_name("batch_durability", tests, setup, teardown);
}
