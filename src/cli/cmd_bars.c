/* cmd_bars.c — `lever bars import PATH…` (CSV files into the bars table, all or nothing),
 * `lever bars sync SYMBOL…` (daily bars from Alpaca), `list` (coverage) and `synth`. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alpaca/data.h"
#include "api/credentials.h"
#include "app/config.h"
#include "cli/commands.h"
#include "cli/files.h"
#include "core/bars_csv.h"
#include "core/market.h"
#include "core/synth.h"
#include "db/bars.h"
#include "db/db.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lever bars import [--source csv|synthetic] PATH...\n"
            "       lever bars sync [--user ID [--mode paper|live]] [--start YYYY-MM-DD]\n"
            "                       [--end YYYY-MM-DD] [--feed sip|iex] SYMBOL...\n"
            "       lever bars list\n"
            "       lever bars synth [--if-empty]\n\n"
            "import  Reads daily bars from CSV files (header date,open,high,low,close,volume\n"
            "        and optionally symbol). A file without a symbol column is named after its\n"
            "        symbol: SPY.csv. A directory stands for the *.csv files in it. Every file\n"
            "        is checked first; a bad row is reported as FILE:LINE: field NAME and\n"
            "        nothing is imported. All files go in one transaction. Re-importing a\n"
            "        symbol replaces its bars from the file's first to its last day and keeps\n"
            "        the days outside that range. --source marks the rows (default csv; the\n"
            "        UI flags synthetic data).\n"
            "sync    Fetches daily bars (split/dividend adjusted) from the Alpaca market data\n"
            "        API at ALPACA_DATA_URL, every page, from --start (default 2000-01-01) to\n"
            "        --end (default: the latest bar), and replaces each symbol's history with\n"
            "        them in one transaction (source \"alpaca\"). With --start or --end only\n"
            "        the rows in that range are replaced. A symbol Alpaca has no bars for\n"
            "        fails the sync and nothing is written. Keys: the ones user ID saved for\n"
            "        --mode (default paper; needs LEVER_SECRET_KEY), else APCA_API_KEY_ID and\n"
            "        APCA_API_SECRET_KEY. --feed picks sip or iex (default: Alpaca's, sip).\n"
            "        429 and 5xx answers are retried 3 times (1, 2, 4 s apart).\n"
            "list    Prints each symbol's first day, last day, number of bars and sources.\n"
            "synth   Writes a deterministic synthetic universe (the 21 sample ETF symbols,\n"
            "        2005-2024, correlated moves) marked source \"synthetic\"; with --if-empty\n"
            "        only when the database has no bars yet (make run uses this).\n\n"
            "The database is DATABASE_URL. Exit status: 0 ok, 1 failure, 2 usage.\n");
}

/* ---- Collecting and parsing files -------------------------------------------------------- */

struct file_list {
    char **paths; /* owned strings */
    int n, cap;
};

static int file_list_add(struct file_list *list, const char *path)
{
    if (list->n == list->cap) {
        int cap = list->cap > 0 ? list->cap * 2 : 16;
        char **grown = realloc(list->paths, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        list->paths = grown;
        list->cap = cap;
    }
    list->paths[list->n] = strdup(path);
    return list->paths[list->n] != NULL ? (list->n++, 0) : -1;
}

static void file_list_free(struct file_list *list)
{
    for (int i = 0; i < list->n; i++)
        free(list->paths[i]);
    free(list->paths);
}

static int has_csv_suffix(const char *name)
{
    size_t len = strlen(name);
    return len > 4 && strcasecmp(name + len - 4, ".csv") == 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the *.csv files of a directory, in name order. */
static int add_directory(struct file_list *list, const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    if (dir == NULL) {
        fprintf(stderr, "lever bars import: %s: %s\n", dir_path, strerror(errno));
        return -1;
    }
    int first = list->n;
    const struct dirent *entry;
    int rc = 0;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.' || !has_csv_suffix(entry->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir_path, entry->d_name);
        rc = file_list_add(list, path);
    }
    closedir(dir);
    if (rc == 0 && list->n == first)
        fprintf(stderr, "lever bars import: %s: no .csv files in this directory\n", dir_path);
    qsort(list->paths + first, (size_t)(list->n - first), sizeof *list->paths, compare_strings);
    return rc == 0 && list->n > first ? 0 : -1;
}

static int collect_paths(struct file_list *list, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "lever bars import: %s: %s\n", argv[i], strerror(errno));
            return -1;
        }
        int rc = S_ISDIR(st.st_mode) ? add_directory(list, argv[i]) : file_list_add(list, argv[i]);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* The symbol a file name implies ("data/spy.csv" → "SPY"), or NULL when the name is not a
 * valid symbol (then the file must have a symbol column). */
static const char *symbol_from_path(const char *path, char out[LV_SYMBOL_MAX])
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t len = strlen(base);
    if (has_csv_suffix(base))
        len -= 4;
    return lv_symbol_normalize(base, len, out) ? out : NULL;
}

/* Parsed files: one table per file, in argument order. */
struct parsed {
    const char **paths; /* borrowed from the file list */
    struct lv_bar_table *tables;
    int n;
};

static void parsed_free(struct parsed *p)
{
    for (int i = 0; i < p->n; i++)
        lv_bar_table_free(&p->tables[i]);
    free(p->tables);
}

/* Parses every file, reporting every bad one; returns -1 if any is bad. */
static int parse_all(const struct file_list *files, struct parsed *out)
{
    out->tables = calloc((size_t)files->n, sizeof *out->tables);
    out->n = 0;
    if (out->tables == NULL)
        return -1;
    int bad = 0;
    for (int i = 0; i < files->n; i++) {
        const char *path = files->paths[i];
        size_t len = 0;
        struct lv_error err;
        char *text = lv_read_file(path, &len, NULL, &err);
        if (text == NULL) {
            fprintf(stderr, "lever bars import: %s\n", err.message);
            bad++;
            continue;
        }
        char symbol[LV_SYMBOL_MAX];
        struct lv_bar_table table = {0};
        if (lv_bars_csv_parse(text, len, path, symbol_from_path(path, symbol), &table, &err) != 0) {
            fprintf(stderr, "lever bars import: %s\n", err.message);
            bad++;
        } else {
            out->tables[out->n++] = table;
        }
        free(text);
    }
    return bad > 0 ? -1 : 0;
}

/* Two files carrying the same symbol would silently overwrite each other: refuse. */
static int check_duplicate_symbols(const struct file_list *files, const struct parsed *p)
{
    for (int a = 0; a < p->n; a++)
        for (int s = 0; s < p->tables[a].n_series; s++)
            for (int b = a + 1; b < p->n; b++)
                for (int t = 0; t < p->tables[b].n_series; t++)
                    if (strcmp(p->tables[a].series[s].symbol, p->tables[b].series[t].symbol) == 0) {
                        fprintf(stderr, "lever bars import: symbol %s is in both %s and %s\n",
                                p->tables[a].series[s].symbol, files->paths[a], files->paths[b]);
                        return -1;
                    }
    return 0;
}

/* ---- Storing ------------------------------------------------------------------------------ */

struct import_job {
    const struct parsed *parsed;
    const char *source;
};

static int store_all(PGconn *conn, void *arg, struct lv_db_error *err)
{
    const struct import_job *job = arg;
    for (int f = 0; f < job->parsed->n; f++) {
        const struct lv_bar_table *table = &job->parsed->tables[f];
        for (int s = 0; s < table->n_series; s++)
            if (lv_bars_store_series(conn, &table->series[s], job->source, NULL, err) != 0)
                return -1;
    }
    return 0;
}

/* One line per stored series: symbol, bars, first .. last day. */
static void print_series(const struct lv_bar_series *series)
{
    char first[LV_DAY_TEXT], last[LV_DAY_TEXT];
    printf("%-8s %6zu bars  %s .. %s\n", series->symbol, series->n,
           lv_day_format(series->day[0], first), lv_day_format(series->day[series->n - 1], last));
}

static void print_imported(const struct parsed *p)
{
    long total = 0;
    int symbols = 0;
    for (int f = 0; f < p->n; f++)
        for (int s = 0; s < p->tables[f].n_series; s++) {
            print_series(&p->tables[f].series[s]);
            total += (long)p->tables[f].series[s].n;
            symbols++;
        }
    printf("imported %ld bars of %d symbol%s\n", total, symbols, symbols == 1 ? "" : "s");
}

/* Opens a one-connection pool on DATABASE_URL. Returns LV_EXIT_OK and *pool, or the exit
 * code after printing why (2 when DATABASE_URL is unset, 1 when it cannot be reached). */
static int open_database(const char *command, struct lv_db_pool **pool)
{
    *pool = NULL;
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "lever bars %s: DATABASE_URL is not set; set it to Lever's database\n",
                command);
        return LV_EXIT_USAGE;
    }
    struct lv_db_error err;
    *pool = lv_db_pool_open(url, 1, &err);
    if (*pool == NULL) {
        fprintf(stderr, "lever bars %s: DATABASE_URL: %s\n", command, err.message);
        return LV_EXIT_FAIL;
    }
    return LV_EXIT_OK;
}

static int bars_import(int argc, char **argv)
{
    const char *source = LV_BARS_SOURCE_CSV;
    int first_path = 1;
    if (argc > 2 && strcmp(argv[1], "--source") == 0) {
        source = argv[2];
        first_path = 3;
    }
    if (!lv_bars_source_valid(source) || strcmp(source, LV_BARS_SOURCE_ALPACA) == 0) {
        fprintf(stderr, "lever bars import: --source must be csv or synthetic\n");
        return LV_EXIT_USAGE;
    }
    if (first_path >= argc) {
        usage(stderr);
        return LV_EXIT_USAGE;
    }
    struct file_list files = {0};
    struct parsed parsed = {0};
    int rc = LV_EXIT_FAIL;
    if (collect_paths(&files, argc - first_path, argv + first_path) != 0 ||
        parse_all(&files, &parsed) != 0 || check_duplicate_symbols(&files, &parsed) != 0) {
        fprintf(stderr, "lever bars import: nothing imported\n");
        goto done;
    }
    struct lv_db_pool *pool;
    rc = open_database("import", &pool);
    if (pool == NULL)
        goto done;
    rc = LV_EXIT_FAIL;
    struct import_job job = {&parsed, source};
    struct lv_db_error err;
    if (lv_db_tx(pool, store_all, &job, &err) != 0) {
        fprintf(stderr, "lever bars import: %s\nlever bars import: nothing imported\n",
                err.message);
    } else {
        print_imported(&parsed);
        rc = LV_EXIT_OK;
    }
    lv_db_pool_close(pool);
done:
    parsed_free(&parsed);
    file_list_free(&files);
    return rc;
}

/* ---- Sync from Alpaca ------------------------------------------------------------------- */

/* What `lever bars sync` was asked to do. */
struct sync_args {
    int user_id;      /* 0: keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY */
    const char *mode; /* with user_id: whose stored pair, "paper" or "live" */
    const char *feed; /* NULL: Alpaca's default */
    lv_day start, end;
    bool start_given, end_given;
    char (*symbols)[LV_SYMBOL_MAX]; /* owned */
    int n_symbols;
};

/* A key pair and where it came from, for messages that never show the secret. */
struct key_pair {
    char key_id[LV_ALPACA_KEY_ID_MAX + 1];
    char secret[LV_ALPACA_SECRET_MAX + 1];
    char origin[96]; /* "user 3's paper keys" or "APCA_API_KEY_ID" */
};

static int sync_usage(const char *fmt, const char *value)
{
    fprintf(stderr, "lever bars sync: ");
    fprintf(stderr, fmt, value);
    fprintf(stderr, "\n(see lever bars --help)\n");
    return LV_EXIT_USAGE;
}

static int parse_sync_symbols(struct sync_args *args, int n, char **words)
{
    if (n == 0)
        return sync_usage("%sname at least one SYMBOL", "");
    args->symbols = calloc((size_t)n, sizeof *args->symbols);
    if (args->symbols == NULL)
        return sync_usage("%sout of memory", "");
    for (int i = 0; i < n; i++) {
        char *symbol = args->symbols[args->n_symbols];
        if (!lv_symbol_normalize(words[i], strlen(words[i]), symbol))
            return sync_usage("'%s' is not a valid symbol", words[i]);
        for (int k = 0; k < args->n_symbols; k++)
            if (strcmp(args->symbols[k], symbol) == 0)
                return sync_usage("%s is named twice", symbol);
        args->n_symbols++;
    }
    return LV_EXIT_OK;
}

static int parse_sync_args(int argc, char **argv, struct sync_args *args)
{
    static const struct option options[] = {
        {"user", required_argument, NULL, 'u'},  {"mode", required_argument, NULL, 'm'},
        {"start", required_argument, NULL, 's'}, {"end", required_argument, NULL, 'e'},
        {"feed", required_argument, NULL, 'f'},  {NULL, 0, NULL, 0},
    };
    *args = (struct sync_args){.start = lv_day_from_ymd(2000, 1, 1), .end = LV_DAY_NONE};
    const char *mode = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *rest = NULL;
        switch (opt) {
        case 'u':
            args->user_id = (int)strtol(optarg, &rest, 10);
            if (*optarg == '\0' || *rest != '\0' || args->user_id <= 0)
                return sync_usage("--user must be a user id, not '%s'", optarg);
            break;
        case 'm':
            mode = optarg;
            if (!lv_alpaca_mode_valid(mode))
                return sync_usage("--mode must be paper or live, not '%s'", optarg);
            break;
        case 's':
        case 'e':
            if (!lv_day_parse(optarg, opt == 's' ? &args->start : &args->end))
                return sync_usage("dates are YYYY-MM-DD, not '%s'", optarg);
            *(opt == 's' ? &args->start_given : &args->end_given) = true;
            break;
        case 'f':
            if (strcmp(optarg, "sip") != 0 && strcmp(optarg, "iex") != 0)
                return sync_usage("--feed must be sip or iex, not '%s'", optarg);
            args->feed = optarg;
            break;
        default:
            return sync_usage("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (mode != NULL && args->user_id == 0)
        return sync_usage("%s--mode picks which of a user's stored key pairs to use: add --user",
                          "");
    args->mode = mode != NULL ? mode : "paper";
    if (args->end != LV_DAY_NONE && args->end < args->start)
        return sync_usage("%s--end is before the start", "");
    return parse_sync_symbols(args, argc - optind, argv + optind);
}

/* Keys from the environment (without --user). */
static int keys_from_env(struct key_pair *keys)
{
    const char *key_id = getenv("APCA_API_KEY_ID"), *secret = getenv("APCA_API_SECRET_KEY");
    if (key_id == NULL || key_id[0] == '\0' || secret == NULL || secret[0] == '\0') {
        fprintf(stderr, "lever bars sync: no Alpaca keys: pass --user ID to use the keys a user "
                        "saved, or set APCA_API_KEY_ID and APCA_API_SECRET_KEY\n");
        return LV_EXIT_USAGE;
    }
    if (strlen(key_id) > LV_ALPACA_KEY_ID_MAX || strlen(secret) > LV_ALPACA_SECRET_MAX) {
        fprintf(stderr, "lever bars sync: APCA_API_KEY_ID or APCA_API_SECRET_KEY is too long\n");
        return LV_EXIT_USAGE;
    }
    snprintf(keys->key_id, sizeof keys->key_id, "%s", key_id);
    snprintf(keys->secret, sizeof keys->secret, "%s", secret);
    snprintf(keys->origin, sizeof keys->origin, "the keys in APCA_API_KEY_ID/APCA_API_SECRET_KEY");
    return LV_EXIT_OK;
}

/* The pair user_id saved for mode, opened with LEVER_SECRET_KEY. */
static int keys_of_user(const struct lv_config *cfg, struct lv_db_pool *pool,
                        const struct sync_args *args, struct key_pair *keys)
{
    if (!cfg->has_secret_key) {
        fprintf(stderr, "lever bars sync: --user needs LEVER_SECRET_KEY (the key the server "
                        "stores credentials with)\n");
        return LV_EXIT_USAGE;
    }
    struct lv_db_error err;
    PGconn *conn = lv_db_acquire(pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    int found = conn != NULL ? lv_credentials_load(conn, cfg->secret_key, args->user_id, args->mode,
                                                   keys->key_id, keys->secret, &err)
                             : -1;
    lv_db_release(pool, conn);
    if (found < 0) {
        fprintf(stderr, "lever bars sync: reading user %d's %s keys: %s\n", args->user_id,
                args->mode, err.message);
        return LV_EXIT_FAIL;
    }
    if (found == 0) {
        fprintf(stderr,
                "lever bars sync: user %d has no %s Alpaca keys saved (save them in the "
                "web UI or PUT /api/v1/me/alpaca-credentials/%s)\n",
                args->user_id, args->mode, args->mode);
        return LV_EXIT_FAIL;
    }
    snprintf(keys->origin, sizeof keys->origin, "user %d's %s keys", args->user_id, args->mode);
    return LV_EXIT_OK;
}

/* The last 4 characters of a key id, all that messages show of it. */
static const char *last4(const char *key_id)
{
    size_t len = strlen(key_id);
    return len > 4 ? key_id + len - 4 : key_id;
}

/* Fetches every symbol; returns LV_EXIT_OK with *table filled, or prints why. */
static int fetch_bars(const struct lv_config *cfg, const struct sync_args *args,
                      const struct key_pair *keys, struct lv_bar_table *table)
{
    struct lv_alpaca_account_ref ref = {cfg->alpaca_data_url, keys->key_id, keys->secret};
    struct lv_alpaca_bars_query query = {.symbols = (const char(*)[LV_SYMBOL_MAX])args->symbols,
                                         .n_symbols = args->n_symbols,
                                         .start = args->start,
                                         .end = args->end,
                                         .feed = args->feed};
    struct lv_error err;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    enum lv_alpaca_result result = lv_alpaca_daily_bars(&ref, &query, table, NULL, &err);
    curl_global_cleanup();
    if (result == LV_ALPACA_OK)
        return LV_EXIT_OK;
    if (result == LV_ALPACA_REJECTED)
        fprintf(stderr,
                "lever bars sync: %s (key id ending %s) were refused by %s: %s\n"
                "lever bars sync: check the keys, and that they belong to this mode (paper and "
                "live keys differ)\n",
                keys->origin, last4(keys->key_id), cfg->alpaca_data_url, err.message);
    else
        fprintf(stderr, "lever bars sync: %s\n", err.message);
    return LV_EXIT_FAIL;
}

static int store_synced(struct lv_db_pool *pool, const struct sync_args *args,
                        const struct lv_bar_table *table)
{
    struct lv_bars_write write = {.table = table,
                                  .source = LV_BARS_SOURCE_ALPACA,
                                  .whole_range = true,
                                  .from = args->start_given ? args->start : LV_DAY_NONE,
                                  .to = args->end_given ? args->end : LV_DAY_NONE};
    struct lv_db_error err;
    if (lv_db_tx(pool, lv_bars_write_tx, &write, &err) != 0) {
        fprintf(stderr, "lever bars sync: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    for (int i = 0; i < table->n_series; i++)
        print_series(&table->series[i]);
    printf("synced %ld bars of %d symbol%s from Alpaca (%ld older rows replaced)\n", write.rows,
           table->n_series, table->n_series == 1 ? "" : "s", write.replaced);
    return LV_EXIT_OK;
}

static int bars_sync(int argc, char **argv)
{
    struct sync_args args;
    struct key_pair keys = {0};
    struct lv_bar_table table = {0};
    struct lv_db_pool *pool = NULL;
    struct lv_config cfg;
    struct lv_error cfg_err;
    int rc = parse_sync_args(argc, argv, &args);
    if (rc == LV_EXIT_OK && lv_config_load(&cfg, NULL, NULL, &cfg_err) != 0) {
        fprintf(stderr, "lever bars sync: %s\n", cfg_err.message);
        rc = LV_EXIT_USAGE;
    }
    if (rc == LV_EXIT_OK && args.user_id == 0)
        rc = keys_from_env(&keys);
    if (rc == LV_EXIT_OK)
        rc = open_database("sync", &pool);
    if (rc == LV_EXIT_OK && args.user_id != 0)
        rc = keys_of_user(&cfg, pool, &args, &keys);
    if (rc == LV_EXIT_OK)
        rc = fetch_bars(&cfg, &args, &keys, &table);
    sodium_memzero(&keys, sizeof keys);
    if (rc == LV_EXIT_OK)
        rc = store_synced(pool, &args, &table);
    if (rc == LV_EXIT_FAIL)
        fprintf(stderr, "lever bars sync: nothing written\n");
    lv_bar_table_free(&table);
    lv_db_pool_close(pool);
    free(args.symbols);
    return rc;
}

static int bars_list(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "lever bars list: unexpected argument '%s'\n", argv[1]);
        return LV_EXIT_USAGE;
    }
    struct lv_db_pool *pool;
    int opened = open_database("list", &pool);
    if (pool == NULL)
        return opened;
    struct lv_db_error err;
    struct lv_bars_coverage *list = NULL;
    int n = 0;
    int rc = LV_EXIT_FAIL;
    PGconn *conn = lv_db_acquire(pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    if (conn != NULL && lv_bars_coverage_list(conn, &list, &n, &err) == 0) {
        printf("%-15s %-10s %-10s %8s  %s\n", "symbol", "first", "last", "bars", "source");
        for (int i = 0; i < n; i++) {
            char first[LV_DAY_TEXT], last[LV_DAY_TEXT];
            printf("%-15s %-10s %-10s %8ld  %s\n", list[i].symbol,
                   lv_day_format(list[i].first_day, first), lv_day_format(list[i].last_day, last),
                   list[i].rows, list[i].sources);
        }
        rc = LV_EXIT_OK;
    } else {
        fprintf(stderr, "lever bars list: %s\n", err.message);
    }
    free(list);
    lv_db_release(pool, conn);
    lv_db_pool_close(pool);
    return rc;
}

/* Writes one synthetic series per symbol inside the caller's transaction. */
static int store_synth(PGconn *conn, void *arg, struct lv_db_error *err)
{
    const struct lv_synth_market *market = arg;
    for (size_t k = 0; k < market->n_symbols; k++) {
        const struct lv_synth_series *in = &market->series[k];
        struct lv_bar_series series = {.n = in->n,
                                       .day = in->day,
                                       .open = in->open,
                                       .high = in->high,
                                       .low = in->low,
                                       .close = in->close,
                                       .volume = in->volume};
        snprintf(series.symbol, sizeof series.symbol, "%s", in->symbol);
        struct lv_bars_stored stored;
        if (lv_bars_store_series(conn, &series, LV_BARS_SOURCE_SYNTHETIC, &stored, err) != 0)
            return -1;
    }
    return 0;
}

/* `lever bars synth [--if-empty]`: the deterministic sample universe (src/core/synth.h),
 * stored with source "synthetic" so every view can say the prices are not real. */
static int bars_synth(int argc, char **argv)
{
    int if_empty = argc == 2 && strcmp(argv[1], "--if-empty") == 0;
    if (argc > 1 && !if_empty) {
        fprintf(stderr, "lever bars synth: unexpected argument '%s'\n", argv[1]);
        return LV_EXIT_USAGE;
    }
    struct lv_db_pool *pool;
    int opened = open_database("synth", &pool);
    if (pool == NULL)
        return opened;
    struct lv_db_error err;
    char any[8] = "";
    PGconn *conn = lv_db_acquire(pool, LV_DB_ACQUIRE_TIMEOUT_MS, &err);
    int has_bars = conn != NULL ? lv_db_query_value(conn, "SELECT 1 FROM bars LIMIT 1", 0, NULL,
                                                    any, sizeof any, &err)
                                : -1;
    lv_db_release(pool, conn);
    int rc = LV_EXIT_FAIL;
    struct lv_synth_market market = {0};
    if (has_bars < 0) {
        fprintf(stderr, "lever bars synth: %s\n", err.message);
    } else if (if_empty && has_bars == 1) {
        rc = LV_EXIT_OK;
    } else if (lv_synth_generate(lv_day_from_ymd(2005, 1, 1), lv_day_from_ymd(2024, 12, 31),
                                 LV_SYNTH_DEFAULT_SEED, &market) != 0) {
        fprintf(stderr, "lever bars synth: out of memory\n");
    } else if (lv_db_tx(pool, store_synth, &market, &err) != 0) {
        fprintf(stderr, "lever bars synth: %s\nlever bars synth: nothing written\n", err.message);
    } else {
        printf("wrote %zu synthetic symbols x %zu days (2005-2024, source \"synthetic\")\n",
               market.n_symbols, market.series[0].n);
        rc = LV_EXIT_OK;
    }
    lv_synth_free(&market);
    lv_db_pool_close(pool);
    return rc;
}

int cmd_bars(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return bars_import(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sync") == 0)
        return bars_sync(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return bars_list(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "synth") == 0)
        return bars_synth(argc - 1, argv + 1);
    usage(stderr);
    return LV_EXIT_USAGE;
}
