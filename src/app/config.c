/* config.c — environment parsing and validation for struct lv_config. */
#include "app/config.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct lv_config_doc lv_config_docs[] = {
    {"DATABASE_URL", "(private cluster under ./var with make run)", "PostgreSQL connection URI"},
    {"LEVER_LISTEN", "127.0.0.1:8080", "HOST:PORT the HTTP server listens on"},
    {"LEVER_SECRET_KEY", "(none)", "32 bytes, base64: key for credentials encrypted at rest"},
    {"LEVER_HTTP_THREADS", "2 x cores", "HTTP worker threads"},
    {"LEVER_DB_POOL_SIZE", "16", "PostgreSQL connections per process"},
    {"LEVER_WORKERS", "cores", "batch worker threads per process"},
    {"LEVER_BATCH_CAP", "1000000", "most runs one batch may have"},
    {"LEVER_BATCH_LEASE_S", "30", "seconds a worker's claim on a chunk lasts without a heartbeat"},
    {"LEVER_BATCH_MEMORY_MB", "1024", "resident MiB above which a worker drops a job's cache"},
    {"LEVER_BODY_LIMIT", "10485760", "largest request body in bytes (413 above)"},
    {"LEVER_LOG", "quiet", "quiet | info (one line per request)"},
    {"LEVER_STATIC_DIR", "./web", "directory of the web UI"},
    {"DISCORD_CLIENT_ID", "(none)", "Discord OAuth2 application id"},
    {"DISCORD_CLIENT_SECRET", "(none)", "Discord OAuth2 secret"},
    {"DISCORD_REDIRECT_URI", "(none)", "OAuth2 redirect URI registered with Discord"},
    {"DISCORD_API_URL", "https://discord.com/api", "Discord API base URL"},
    {"LEVER_ALLOWED_DISCORD_IDS", "(empty)", "comma-separated Discord ids allowed to log in"},
    {"LEVER_ALLOWED_EMAILS", "(empty)", "comma-separated verified emails allowed to log in"},
    {"LEVER_ALLOWED_EMAIL_DOMAINS", "(empty)", "comma-separated email domains allowed"},
    {"ALPACA_DATA_URL", "https://data.alpaca.markets", "Alpaca market data base URL"},
    {"ALPACA_PAPER_URL", "https://paper-api.alpaca.markets", "Alpaca paper trading base URL"},
    {"ALPACA_LIVE_URL", "https://api.alpaca.markets", "Alpaca live trading base URL"},
    {"DISCORD_AUTHORIZE_URL", "https://discord.com/oauth2/authorize",
     "Discord OAuth2 authorize page (the browser is sent there)"},
    {"LEVER_UI_URL", "/", "where the browser lands after a login (errors add ?auth_error=)"},
    {"LEVER_SESSION_IDLE_HOURS", "72", "a login session unused this long expires"},
    {"LEVER_SESSION_MAX_DAYS", "30", "a login session expires this long after login"},
    {"LEVER_RATE_LIMIT_PER_MIN", "1200", "requests per minute per user (0 = no limit)"},
    {"LEVER_RATE_LIMIT_BURST", "600", "requests a user may send at once"},
    {"LEVER_RATE_LIMIT_IP_PER_MIN", "6000", "requests per minute per client IP (0 = no limit)"},
    {"LEVER_RATE_LIMIT_IP_BURST", "2000", "requests one IP may send at once"},
    {"LEVER_USAGE_LOG_RETENTION_DAYS", "90",
     "api_usage_logs rows older than this are deleted (0 = keep)"},
    {NULL, NULL, NULL},
};

static const char *process_env(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static int copy_text(char *dst, size_t cap, const char *value, const char *fallback,
                     const char *name, struct lv_error *err)
{
    const char *text = value != NULL ? value : fallback;
    if (strlen(text) >= cap)
        return lv_fail(err, "%s is too long (at most %zu characters)", name, cap - 1);
    memcpy(dst, text, strlen(text) + 1);
    return 0;
}

/* Parses a positive integer in [min, max]; unset keeps *out. */
static int parse_long(const char *value, const char *name, long min, long max, long *out,
                      struct lv_error *err)
{
    if (value == NULL)
        return 0;
    char *end;
    errno = 0;
    long parsed = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || parsed < min || parsed > max)
        return lv_fail(err, "%s must be a whole number from %ld to %ld, got \"%s\"", name, min, max,
                       value);
    *out = parsed;
    return 0;
}

static int parse_int(const char *value, const char *name, int min, int max, int *out,
                     struct lv_error *err)
{
    long parsed = *out;
    if (parse_long(value, name, min, max, &parsed, err) != 0)
        return -1;
    *out = (int)parsed;
    return 0;
}

static int parse_listen(struct lv_config *cfg, const char *value, struct lv_error *err)
{
    if (value == NULL)
        return 0;
    const char *colon = strrchr(value, ':');
    if (colon == NULL || colon == value || (size_t)(colon - value) >= sizeof cfg->listen_host)
        return lv_fail(err, "LEVER_LISTEN must be HOST:PORT (e.g. 127.0.0.1:8080), got \"%s\"",
                       value);
    long port = -1;
    struct lv_error port_err;
    if (parse_long(colon + 1, "LEVER_LISTEN port", 0, 65535, &port, &port_err) != 0)
        return lv_fail(err,
                       "LEVER_LISTEN must be HOST:PORT with a port from 0 to 65535, got "
                       "\"%s\"",
                       value);
    memcpy(cfg->listen_host, value, (size_t)(colon - value));
    cfg->listen_host[colon - value] = '\0';
    cfg->listen_port = (int)port;
    return 0;
}

static int parse_secret_key(struct lv_config *cfg, const char *value, struct lv_error *err)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    size_t len = 0;
    unsigned char key[64];
    if (sodium_base642bin(key, sizeof key, value, strlen(value), " \n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != sizeof cfg->secret_key)
        return lv_fail(err, "LEVER_SECRET_KEY must be 32 bytes encoded in base64 (44 "
                            "characters, e.g. from `openssl rand -base64 32`)");
    memcpy(cfg->secret_key, key, sizeof cfg->secret_key);
    sodium_memzero(key, sizeof key);
    cfg->has_secret_key = true;
    return 0;
}

/* Sessions, rate limits and usage-log retention (docs/security.md). */
static int load_security(struct lv_config *cfg, lv_env_lookup lookup, void *ctx,
                         struct lv_error *err)
{
    cfg->session_idle_hours = 72;
    cfg->session_max_days = 30;
    cfg->rate_limit_per_min = 1200;
    cfg->rate_limit_burst = 600;
    cfg->rate_limit_ip_per_min = 6000;
    cfg->rate_limit_ip_burst = 2000;
    cfg->usage_log_retention_days = 90;
    const struct {
        const char *name;
        int min, max;
        int *out;
    } ints[] = {
        {"LEVER_SESSION_IDLE_HOURS", 1, 24 * 365, &cfg->session_idle_hours},
        {"LEVER_SESSION_MAX_DAYS", 1, 365, &cfg->session_max_days},
        {"LEVER_RATE_LIMIT_PER_MIN", 0, 1000000, &cfg->rate_limit_per_min},
        {"LEVER_RATE_LIMIT_BURST", 1, 1000000, &cfg->rate_limit_burst},
        {"LEVER_RATE_LIMIT_IP_PER_MIN", 0, 1000000, &cfg->rate_limit_ip_per_min},
        {"LEVER_RATE_LIMIT_IP_BURST", 1, 1000000, &cfg->rate_limit_ip_burst},
        {"LEVER_USAGE_LOG_RETENTION_DAYS", 0, 36500, &cfg->usage_log_retention_days},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (parse_int(lookup(ints[i].name, ctx), ints[i].name, ints[i].min, ints[i].max,
                      ints[i].out, err) != 0)
            return -1;
    if (copy_text(cfg->discord_authorize_url, sizeof cfg->discord_authorize_url,
                  lookup("DISCORD_AUTHORIZE_URL", ctx), "https://discord.com/oauth2/authorize",
                  "DISCORD_AUTHORIZE_URL", err) != 0 ||
        copy_text(cfg->ui_url, sizeof cfg->ui_url, lookup("LEVER_UI_URL", ctx), "/", "LEVER_UI_URL",
                  err) != 0)
        return -1;
    return 0;
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int lv_config_load(struct lv_config *cfg, lv_env_lookup lookup, void *ctx, struct lv_error *err)
{
    if (lookup == NULL)
        lookup = process_env;
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 8080;
    cfg->http_threads = 2 * cores();
    cfg->db_pool_size = 16;
    cfg->workers = cores();
    cfg->batch_cap = 1000000;
    cfg->batch_lease_s = 30;
    cfg->batch_memory_mb = 1024;
    long body_limit = 10L * 1024 * 1024;

    const char *log = lookup("LEVER_LOG", ctx);
    if (log != NULL && strcmp(log, "quiet") != 0 && strcmp(log, "info") != 0)
        return lv_fail(err, "LEVER_LOG must be quiet or info, got \"%s\"", log);
    cfg->log_requests = log != NULL && strcmp(log, "info") == 0;

    if (copy_text(cfg->database_url, sizeof cfg->database_url, lookup("DATABASE_URL", ctx), "",
                  "DATABASE_URL", err) != 0 ||
        parse_listen(cfg, lookup("LEVER_LISTEN", ctx), err) != 0 ||
        parse_secret_key(cfg, lookup("LEVER_SECRET_KEY", ctx), err) != 0 ||
        parse_int(lookup("LEVER_HTTP_THREADS", ctx), "LEVER_HTTP_THREADS", 1, 1024,
                  &cfg->http_threads, err) != 0 ||
        parse_int(lookup("LEVER_DB_POOL_SIZE", ctx), "LEVER_DB_POOL_SIZE", 1, 1000,
                  &cfg->db_pool_size, err) != 0 ||
        parse_int(lookup("LEVER_BATCH_LEASE_S", ctx), "LEVER_BATCH_LEASE_S", 1, 86400,
                  &cfg->batch_lease_s, err) != 0 ||
        parse_int(lookup("LEVER_BATCH_MEMORY_MB", ctx), "LEVER_BATCH_MEMORY_MB", 64, 1048576,
                  &cfg->batch_memory_mb, err) != 0 ||
        parse_int(lookup("LEVER_WORKERS", ctx), "LEVER_WORKERS", 0, 1024, &cfg->workers, err) !=
            0 ||
        parse_long(lookup("LEVER_BATCH_CAP", ctx), "LEVER_BATCH_CAP", 1, 100000000, &cfg->batch_cap,
                   err) != 0 ||
        parse_long(lookup("LEVER_BODY_LIMIT", ctx), "LEVER_BODY_LIMIT", 1024, 1L << 30, &body_limit,
                   err) != 0 ||
        copy_text(cfg->static_dir, sizeof cfg->static_dir, lookup("LEVER_STATIC_DIR", ctx), "web",
                  "LEVER_STATIC_DIR", err) != 0)
        return -1;
    if (load_security(cfg, lookup, ctx, err) != 0)
        return -1;
    cfg->body_limit = (size_t)body_limit;

    struct {
        const char *name;
        char *dst;
        size_t cap;
        const char *fallback;
    } texts[] = {
        {"DISCORD_CLIENT_ID", cfg->discord_client_id, sizeof cfg->discord_client_id, ""},
        {"DISCORD_CLIENT_SECRET", cfg->discord_client_secret, sizeof cfg->discord_client_secret,
         ""},
        {"DISCORD_REDIRECT_URI", cfg->discord_redirect_uri, sizeof cfg->discord_redirect_uri, ""},
        {"DISCORD_API_URL", cfg->discord_api_url, sizeof cfg->discord_api_url,
         "https://discord.com/api"},
        {"LEVER_ALLOWED_DISCORD_IDS", cfg->allowed_discord_ids, sizeof cfg->allowed_discord_ids,
         ""},
        {"LEVER_ALLOWED_EMAILS", cfg->allowed_emails, sizeof cfg->allowed_emails, ""},
        {"LEVER_ALLOWED_EMAIL_DOMAINS", cfg->allowed_email_domains,
         sizeof cfg->allowed_email_domains, ""},
        {"ALPACA_DATA_URL", cfg->alpaca_data_url, sizeof cfg->alpaca_data_url,
         "https://data.alpaca.markets"},
        {"ALPACA_PAPER_URL", cfg->alpaca_paper_url, sizeof cfg->alpaca_paper_url,
         "https://paper-api.alpaca.markets"},
        {"ALPACA_LIVE_URL", cfg->alpaca_live_url, sizeof cfg->alpaca_live_url,
         "https://api.alpaca.markets"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (copy_text(texts[i].dst, texts[i].cap, lookup(texts[i].name, ctx), texts[i].fallback,
                      texts[i].name, err) != 0)
            return -1;
    return 0;
}

int lv_config_require_database(const struct lv_config *cfg, struct lv_error *err)
{
    if (cfg->database_url[0] == '\0')
        return lv_fail(err, "DATABASE_URL is not set: give a PostgreSQL URI such as "
                            "postgresql://user@localhost/lever (make run sets one up)");
    return 0;
}
