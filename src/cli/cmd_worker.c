/* cmd_worker.c — `lever worker`: batch workers only (no HTTP), to add machines that share one
 * database; SIGTERM or SIGINT gives claimed work back to the queue and exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "app/config.h"
#include "cli/commands.h"
#include "db/db.h"
#include "db/migrate.h"
#include "jobs/worker.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lever worker\n\n"
            "Runs batch backtest workers against DATABASE_URL until SIGTERM or SIGINT, then\n"
            "gives the chunk in flight back to the queue and exits 0. Any number of workers\n"
            "(on any number of machines) and `lever serve` processes can share one database.\n\n"
            "  LEVER_WORKERS          compute threads (default: number of cores)\n"
            "  LEVER_BATCH_LEASE_S    seconds a claim lasts without a heartbeat (default 30)\n"
            "  LEVER_BATCH_MEMORY_MB  resident size above which a job's indicator cache is\n"
            "                         dropped between chunks (default 1024)\n");
}

/* Applies pending migrations so that a worker started before any server still finds its
 * tables (migrations are safe to run from several processes at once). */
static int migrate(const struct lv_config *cfg)
{
    struct lv_db_error err;
    PGconn *conn = lv_db_connect(cfg->database_url, &err);
    int rc = conn != NULL ? lv_migrate(conn, NULL, NULL, &err) : -1;
    if (conn != NULL)
        PQfinish(conn);
    if (rc < 0)
        fprintf(stderr, "lever worker: database not ready: %s\n", err.message);
    return rc < 0 ? -1 : 0;
}

int cmd_worker(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "lever worker: unexpected argument '%s' (see lever worker --help)\n",
                argv[1]);
        return LV_EXIT_USAGE;
    }
    struct lv_config cfg;
    struct lv_error err;
    struct lv_worker_config worker_cfg;
    if (lv_config_load(&cfg, NULL, NULL, &err) != 0 ||
        lv_config_require_database(&cfg, &err) != 0 ||
        lv_worker_config_init(&worker_cfg, &cfg, &err) != 0) {
        fprintf(stderr, "lever worker: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    /* Block the stop signals before any thread starts so that only sigwait sees them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (migrate(&cfg) != 0)
        return LV_EXIT_FAIL;
    struct lv_workers *workers = lv_workers_start(&worker_cfg, &err);
    if (workers == NULL) {
        fprintf(stderr, "lever worker: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    fprintf(stderr, "lever worker: running\n");
    int signo = 0;
    sigwait(&stop_signals, &signo);
    fprintf(stderr, "lever worker: %s received, stopping\n",
            signo == SIGTERM ? "SIGTERM" : "SIGINT");
    lv_workers_stop(workers);
    return LV_EXIT_OK;
}
