/* config.h — Lever's process configuration, read once from environment variables and
 * validated at start; every message names the variable and the form it expects. */
#ifndef LEVER_APP_CONFIG_H
#define LEVER_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define LV_URL_MAX 512

struct lv_config {
    char database_url[1024]; /* DATABASE_URL (required by serve, worker, migrate) */
    char listen_host[256];   /* LEVER_LISTEN host part, default 127.0.0.1 */
    int listen_port;         /* LEVER_LISTEN port part, default 8080; 0 = any free port */
    bool has_secret_key;
    unsigned char secret_key[32]; /* LEVER_SECRET_KEY: 32 bytes, base64 */
    int http_threads;             /* LEVER_HTTP_THREADS, default 2 × cores */
    int db_pool_size;             /* LEVER_DB_POOL_SIZE, default 16 */
    int workers;                  /* LEVER_WORKERS: batch worker threads, default = cores */
    long batch_cap;               /* LEVER_BATCH_CAP: most runs per batch, default 1,000,000 */
    int batch_lease_s;            /* LEVER_BATCH_LEASE_S: chunk claim lease, default 30 */
    int batch_memory_mb;   /* LEVER_BATCH_MEMORY_MB: drop a job's cache above, default 1024 */
    size_t body_limit;     /* LEVER_BODY_LIMIT: request body bytes, default 10 MiB */
    bool log_requests;     /* LEVER_LOG=info logs one line per request; quiet default */
    char static_dir[1024]; /* LEVER_STATIC_DIR: web UI files, default ./web */
    char discord_client_id[256];
    char discord_client_secret[256];
    char discord_redirect_uri[LV_URL_MAX];
    char discord_api_url[LV_URL_MAX];  /* default https://discord.com/api */
    char allowed_discord_ids[4096];    /* comma-separated */
    char allowed_emails[4096];         /* comma-separated */
    char allowed_email_domains[4096];  /* comma-separated */
    char alpaca_data_url[LV_URL_MAX];  /* default https://data.alpaca.markets */
    char alpaca_paper_url[LV_URL_MAX]; /* default https://paper-api.alpaca.markets */
    char alpaca_live_url[LV_URL_MAX];  /* default https://api.alpaca.markets */
    /* Accounts and security (docs/security.md). */
    char discord_authorize_url[LV_URL_MAX]; /* default https://discord.com/oauth2/authorize */
    char ui_url[LV_URL_MAX];                /* LEVER_UI_URL: where a login ends, default / */
    int session_idle_hours;                 /* LEVER_SESSION_IDLE_HOURS, default 72 */
    int session_max_days;                   /* LEVER_SESSION_MAX_DAYS, default 30 */
    int rate_limit_per_min;       /* LEVER_RATE_LIMIT_PER_MIN: per user, default 1200, 0 = off */
    int rate_limit_burst;         /* LEVER_RATE_LIMIT_BURST: per user, default 600 */
    int rate_limit_ip_per_min;    /* LEVER_RATE_LIMIT_IP_PER_MIN: per IP, default 6000, 0 = off */
    int rate_limit_ip_burst;      /* LEVER_RATE_LIMIT_IP_BURST: per IP, default 2000 */
    int usage_log_retention_days; /* LEVER_USAGE_LOG_RETENTION_DAYS, default 90, 0 = keep */
};

/* Looks a variable up; NULL when unset. lv_config_load passes getenv-like functions so
 * tests can feed their own environment. */
typedef const char *(*lv_env_lookup)(const char *name, void *ctx);

/* Fills cfg from the environment (lookup = NULL means the process environment). Returns 0,
 * or -1 with err naming the first invalid variable and the expected form. Unset variables
 * take their documented defaults; DATABASE_URL may stay empty (commands that need it say
 * so themselves through lv_config_require_database). */
int lv_config_load(struct lv_config *cfg, lv_env_lookup lookup, void *ctx, struct lv_error *err);

int lv_config_require_database(const struct lv_config *cfg, struct lv_error *err);

/* One row per variable for `lever serve --help` and the README: name, default, meaning. */
struct lv_config_doc {
    const char *name;
    const char *default_value;
    const char *meaning;
};
extern const struct lv_config_doc lv_config_docs[];

#endif
