/* cmd_serve.c — `lever serve`: migrate, then serve the API until SIGTERM or SIGINT, then stop
 * accepting, let requests in flight finish, and exit 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "api/app.h"
#include "api/ratelimit.h"
#include "api/usage_log.h"
#include "app/config.h"
#include "cli/commands.h"
#include "db/db.h"
#include "db/migrate.h"
#include "http/http.h"
#include "jobs/worker.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: lever serve\n\n"
                 "Applies pending migrations and serves the HTTP API (and web UI) on\n"
                 "LEVER_LISTEN until SIGTERM or SIGINT. Configuration (environment):\n\n");
    for (const struct lv_config_doc *doc = lv_config_docs; doc->name != NULL; doc++)
        fprintf(out, "  %-28s %s (default: %s)\n", doc->name, doc->meaning, doc->default_value);
}

/* Opens the pool and brings the schema up to date. */
static struct lv_db_pool *open_database(const struct lv_config *cfg)
{
    struct lv_db_error err;
    struct lv_db_pool *pool = lv_db_pool_open(cfg->database_url, cfg->db_pool_size, &err);
    if (pool == NULL) {
        fprintf(stderr, "lever serve: cannot connect to DATABASE_URL: %s\n", err.message);
        return NULL;
    }
    PGconn *conn = lv_db_acquire(pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    int applied = conn != NULL ? lv_migrate(conn, NULL, NULL, &err) : -1;
    if (conn != NULL)
        lv_db_release(pool, conn);
    if (applied < 0) {
        fprintf(stderr, "lever serve: migrations failed: %s\n", err.message);
        lv_db_pool_close(pool);
        return NULL;
    }
    return pool;
}

/* Rate limiters (NULL when configured off) and the api_usage_logs writer. */
static int start_security(const struct lv_config *cfg, struct lv_app *app, struct lv_error *err)
{
    app->user_limits = lv_ratelimit_new(cfg->rate_limit_per_min, cfg->rate_limit_burst, 0);
    app->ip_limits = lv_ratelimit_new(cfg->rate_limit_ip_per_min, cfg->rate_limit_ip_burst, 0);
    struct lv_usage_log_config log_cfg = {.retention_days = cfg->usage_log_retention_days};
    app->usage_log = lv_usage_log_start(app->pool, &log_cfg, err);
    if (app->usage_log == NULL) {
        lv_ratelimit_free(app->user_limits);
        lv_ratelimit_free(app->ip_limits);
        return -1;
    }
    return 0;
}

static void stop_security(struct lv_app *app)
{
    lv_usage_log_stop(app->usage_log); /* writes what is still queued */
    lv_ratelimit_free(app->user_limits);
    lv_ratelimit_free(app->ip_limits);
}

static int serve(const struct lv_config *cfg)
{
    /* Block the stop signals before any thread starts so that only sigwait sees them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Once, before any thread: outbound calls to Discord and Alpaca use libcurl. */
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct lv_db_pool *pool = open_database(cfg);
    if (pool == NULL)
        return LV_EXIT_FAIL;
    struct lv_error err;
    struct lv_router *router = lv_api_router(&err);
    if (router == NULL) {
        fprintf(stderr, "lever serve: %s\n", err.message);
        lv_db_pool_close(pool);
        return LV_EXIT_FAIL;
    }
    struct lv_market_holder *market = lv_market_holder_new();
    struct lv_app app = {.cfg = cfg, .pool = pool, .market = market};
    if (start_security(cfg, &app, &err) != 0) {
        fprintf(stderr, "lever serve: %s\n", err.message);
        lv_router_free(router);
        lv_market_holder_free(market);
        lv_db_pool_close(pool);
        return LV_EXIT_FAIL;
    }
    char listen[300];
    snprintf(listen, sizeof listen, "%s:%d", cfg->listen_host, cfg->listen_port);
    struct lv_http_config http_cfg = {
        .listen = listen,
        .threads = (unsigned)cfg->http_threads,
        .body_limit = cfg->body_limit,
        .log = cfg->log_requests ? stderr : NULL,
        .before = lv_api_authenticate,
        .after = lv_api_after,
    };
    struct lv_http_server *server = lv_http_start(&http_cfg, router, &app, &err);
    if (server == NULL) {
        fprintf(stderr, "lever serve: cannot listen on %s: %s\n", listen, err.message);
        stop_security(&app);
        lv_router_free(router);
        lv_market_holder_free(market);
        lv_db_pool_close(pool);
        return LV_EXIT_FAIL;
    }
    /* Tests and scripts read this line to learn the port when LEVER_LISTEN asks for port 0. */
    fprintf(stderr, "lever: listening on http://%s:%u\n", cfg->listen_host,
            (unsigned)lv_http_port(server));
    struct lv_workers *workers = NULL;
    struct lv_worker_config worker_cfg;
    if (cfg->workers > 0 && (lv_worker_config_init(&worker_cfg, cfg, &err) != 0 ||
                             (workers = lv_workers_start(&worker_cfg, &err)) == NULL))
        fprintf(stderr, "lever serve: batch workers not started: %s\n", err.message);

    int signo = 0;
    sigwait(&stop_signals, &signo);
    fprintf(stderr, "lever: %s received, stopping\n", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    lv_workers_stop(workers); /* first: gives claimed batch work back to the queue */
    lv_http_stop(server);
    stop_security(&app); /* after the server: its last after-hooks queue usage rows */
    lv_router_free(router);
    lv_market_holder_free(market);
    lv_db_pool_close(pool);
    return LV_EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr,
                "lever serve: unexpected argument '%s' (configuration comes from the "
                "environment; see lever serve --help)\n",
                argv[1]);
        return LV_EXIT_USAGE;
    }
    struct lv_config cfg;
    struct lv_error err;
    if (lv_config_load(&cfg, NULL, NULL, &err) != 0 ||
        lv_config_require_database(&cfg, &err) != 0) {
        fprintf(stderr, "lever serve: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    return serve(&cfg);
}
