/* cmd_backtest.c — `lever backtest STRATEGY.json`: one backtest on bars read from CSV files or
 * the database, printed as a readable summary or as the §6 result object (--json). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/files.h"
#include "core/backtest.h"
#include "core/bars_csv.h"
#include "db/db.h"
#include "db/market_load.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lever backtest STRATEGY.json [--start YYYY-MM-DD] [--end YYYY-MM-DD]\n"
            "                      [--benchmark SYM] [--rebalance R] [--cost-bps X]\n"
            "                      [--data DIR] [--json]\n\n"
            "Runs one backtest and prints its metrics against the benchmark.\n\n"
            "  --start, --end  window limits (default: as early / as late as the data allows;\n"
            "                  the strategy's start_date/end_date are used when not given)\n"
            "  --benchmark     grid and benchmark symbol (default: the strategy's, else SPY)\n"
            "  --rebalance     daily, weekly, monthly, quarterly, yearly or threshold:X\n"
            "  --cost-bps      trading cost in basis points of the weight moved (default 0)\n"
            "  --data DIR      read bars from DIR/SYMBOL.csv (date,open,high,low,close,volume)\n"
            "                  instead of the database named by DATABASE_URL\n"
            "  --json          print the result object as JSON instead of a summary\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Flags as given; applied over the strategy document's own options. */
struct flags {
    const char *strategy_path;
    const char *data_dir;
    const char *benchmark;
    bool have_start, have_end, have_rebalance, have_cost;
    lv_day start, end;
    enum lv_rebalance rebalance;
    double threshold, cost_bps;
    bool json;
};

/* Parses argv into flags. Returns LV_EXIT_OK, or LV_EXIT_USAGE after printing why. */
static int parse_flags(int argc, char **argv, struct flags *fl)
{
    static const struct option longopts[] = {
        {"start", required_argument, NULL, 's'},
        {"end", required_argument, NULL, 'e'},
        {"benchmark", required_argument, NULL, 'b'},
        {"rebalance", required_argument, NULL, 'r'},
        {"cost-bps", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    memset(fl, 0, sizeof *fl);
    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        struct lv_error err;
        char *end;
        switch (opt) {
        case 's':
        case 'e':
            if (!lv_day_parse(optarg, opt == 's' ? &fl->start : &fl->end)) {
                fprintf(stderr, "lever backtest: --%s: \"%s\" is not a date YYYY-MM-DD\n",
                        opt == 's' ? "start" : "end", optarg);
                return LV_EXIT_USAGE;
            }
            *(opt == 's' ? &fl->have_start : &fl->have_end) = true;
            break;
        case 'b':
            fl->benchmark = optarg;
            break;
        case 'r':
            if (lv_rebalance_parse(optarg, &fl->rebalance, &fl->threshold, &err) != 0) {
                fprintf(stderr, "lever backtest: --rebalance: %s\n", err.message);
                return LV_EXIT_USAGE;
            }
            fl->have_rebalance = true;
            break;
        case 'c':
            fl->cost_bps = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !isfinite(fl->cost_bps) || fl->cost_bps < 0) {
                fprintf(stderr, "lever backtest: --cost-bps: \"%s\" is not a number >= 0\n",
                        optarg);
                return LV_EXIT_USAGE;
            }
            fl->have_cost = true;
            break;
        case 'd':
            fl->data_dir = optarg;
            break;
        case 'j':
            fl->json = true;
            break;
        default:
            if (optopt != 0)
                fprintf(stderr, "lever backtest: option %s needs a value\n", argv[optind - 1]);
            else
                fprintf(stderr, "lever backtest: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return LV_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "lever backtest: %s\n",
                optind >= argc ? "no strategy file given" : "more than one strategy file given");
        usage(stderr);
        return LV_EXIT_USAGE;
    }
    fl->strategy_path = argv[optind];
    return LV_EXIT_OK;
}

/* Reads and compiles the strategy document; *doc keeps it for its options. Prints the
 * problems and returns -1 when it is not valid. */
static int load_strategy(const char *path, json_t **doc, struct lv_strategy **strategy,
                         struct lv_problems *warnings)
{
    size_t len;
    struct lv_error err;
    char *text = lv_read_file(path, &len, NULL, &err);
    if (text == NULL) {
        fprintf(stderr, "lever backtest: %s\n", err.message);
        return -1;
    }
    size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    json_error_t jerr;
    *doc = json_loadb(text + skip, len - skip, 0, &jerr);
    free(text);
    if (*doc == NULL) {
        fprintf(stderr, "lever backtest: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    struct lv_problems problems = {0};
    if (lv_strategy_compile(*doc, strategy, &problems, warnings) != 0) {
        fprintf(stderr, "lever backtest: %s is not a valid strategy:\n", path);
        for (int i = 0; i < problems.count; i++)
            fprintf(stderr, "  %s: %s\n", problems.items[i].path, problems.items[i].message);
        lv_problems_free(&problems);
        return -1;
    }
    return 0;
}

/* The strategy document's options, then the flags over them. */
static int resolve_options(const json_t *doc, const struct flags *fl, struct lv_backtest_options *o)
{
    lv_backtest_options_init(o);
    struct lv_problems problems = {0};
    if (lv_backtest_options_read(doc, o, &problems) != 0) {
        fprintf(stderr, "lever backtest: %s has bad options:\n", fl->strategy_path);
        for (int i = 0; i < problems.count; i++)
            fprintf(stderr, "  %s: %s\n", problems.items[i].path, problems.items[i].message);
        lv_problems_free(&problems);
        return -1;
    }
    if (fl->benchmark != NULL &&
        !lv_symbol_normalize(fl->benchmark, strlen(fl->benchmark), o->benchmark)) {
        fprintf(stderr, "lever backtest: --benchmark: \"%s\" is not a symbol\n", fl->benchmark);
        return -1;
    }
    if (fl->have_start)
        o->start = fl->start;
    if (fl->have_end)
        o->end = fl->end;
    if (fl->have_rebalance) {
        o->rebalance = fl->rebalance;
        o->threshold = fl->threshold;
    }
    if (fl->have_cost)
        o->cost_bps = fl->cost_bps;
    return 0;
}

/* Adds DIR/SYMBOL.csv to the builder. Sets *missing when the file does not exist (Lever has
 * no bars for that symbol), which is reported with the other missing ones. */
static int load_symbol_file(struct lv_market_builder *builder, const char *dir, const char *symbol,
                            bool *missing, struct lv_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.csv", dir, symbol);
    size_t len;
    int absent;
    char *text = lv_read_file(path, &len, &absent, err);
    *missing = text == NULL && absent;
    if (text == NULL)
        return *missing ? 0 : -1;
    struct lv_bar_table table;
    int rc = lv_bars_csv_parse(text, len, path, symbol, &table, err);
    free(text);
    if (rc != 0)
        return -1;
    const struct lv_bar_series *s = NULL;
    for (int i = 0; i < table.n_series; i++)
        if (strcmp(table.series[i].symbol, symbol) == 0)
            s = &table.series[i];
    if (s == NULL)
        rc = lv_fail(err, "no bars for symbol %s in %s", symbol, path);
    else
        rc = lv_market_builder_add(builder, symbol, s->day, s->open, s->high, s->low, s->close,
                                   s->volume, s->n, err);
    lv_bar_table_free(&table);
    return rc;
}

/* Builds a market from DIR/SYMBOL.csv for each symbol. This is the one place that knows
 * where bars come from: a database loader takes the same symbols and returns the same
 * market (or the same "no bars for symbols …" error). */
static struct lv_market *load_market_from_dir(const char *dir, const char (*symbols)[LV_SYMBOL_MAX],
                                              int n_symbols, struct lv_error *err)
{
    struct lv_market_builder *builder = lv_market_builder_new();
    if (builder == NULL) {
        lv_fail(err, "out of memory");
        return NULL;
    }
    char missing[LV_ERROR_MSG / 2] = "";
    size_t used = 0;
    int n_missing = 0;
    for (int i = 0; i < n_symbols; i++) {
        bool absent;
        if (load_symbol_file(builder, dir, symbols[i], &absent, err) != 0) {
            lv_market_builder_free(builder);
            return NULL;
        }
        if (absent && used < sizeof missing) {
            int n = snprintf(missing + used, sizeof missing - used, "%s%s", n_missing ? ", " : "",
                             symbols[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        n_missing += absent;
    }
    if (n_missing > 0) {
        lv_market_builder_free(builder);
        lv_fail(err, "no bars for %s %s (no such file in %s)", n_missing > 1 ? "symbols" : "symbol",
                missing, dir);
        return NULL;
    }
    return lv_market_finalize(builder, err);
}

/* ---- Output --------------------------------------------------------------------------------- */

static void print_metric(enum lv_metric m, double v)
{
    if (!isfinite(v))
        printf(" %14s", "n/a");
    else if (lv_metric_is_integer(m))
        printf(" %14.0f", v);
    else if (m == LV_METRIC_SHARPE || m == LV_METRIC_SORTINO || m == LV_METRIC_CALMAR ||
             m == LV_METRIC_BETA || m == LV_METRIC_CORRELATION || m == LV_METRIC_TURNOVER)
        printf(" %14.3f", v);
    else
        printf(" %13.2f%%", v * 100);
}

static void print_summary(const struct lv_strategy *strategy, const struct lv_backtest_options *o,
                          const struct lv_backtest_result *r)
{
    char start[LV_DAY_TEXT], end[LV_DAY_TEXT];
    const char *name = lv_strategy_name(strategy);
    printf("Strategy:  %s\n", name != NULL ? name : "(unnamed)");
    printf("Window:    %s .. %s, %zu trading days\n", lv_day_format(r->window_start, start),
           lv_day_format(r->window_end, end), r->n_days);
    printf("Starts:    %s\n", r->start_reason);
    printf("Capital:   %.2f -> %.2f (benchmark %s: %.2f)\n\n", o->initial_capital,
           r->equity[r->n_days - 1], o->benchmark, r->benchmark[r->n_days - 1]);
    printf("%-18s %14s %14s\n", "metric", "strategy", "benchmark");
    for (int m = 0; m < LV_METRIC_COUNT; m++) {
        printf("%-18s", lv_metric_names[m]);
        print_metric(m, r->metrics.value[m]);
        print_metric(m, r->benchmark_metrics.value[m]);
        printf("\n");
    }
    if (r->n_warnings > 0) {
        printf("\nWarnings:\n");
        for (int i = 0; i < r->n_warnings; i++)
            printf("  - %s\n", r->warnings[i]);
    }
    printf("\nTiming:    load %.1f ms, indicators %.1f ms, simulate %.1f ms, total %.1f ms\n",
           r->timing.load_ms, r->timing.indicators_ms, r->timing.simulate_ms, r->timing.total_ms);
}

static int print_json(const struct lv_backtest_result *r)
{
    json_t *obj = lv_backtest_result_to_json(r);
    if (obj == NULL || json_dumpf(obj, stdout, JSON_REAL_PRECISION(12)) != 0) {
        json_decref(obj);
        fprintf(stderr, "lever backtest: out of memory\n");
        return LV_EXIT_FAIL;
    }
    putchar('\n');
    json_decref(obj);
    return LV_EXIT_OK;
}

/* Bars from the database behind DATABASE_URL (every symbol: the market is small). */
static struct lv_market *load_market_from_database(struct lv_error *err)
{
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0') {
        lv_fail(err, "no bars to read: give --data DIR, or set DATABASE_URL to Lever's database");
        return NULL;
    }
    struct lv_db_error db_err;
    PGconn *conn = lv_db_connect(url, &db_err);
    if (conn == NULL) {
        lv_fail(err, "cannot connect to DATABASE_URL: %s", db_err.message);
        return NULL;
    }
    struct lv_market *market = lv_market_load(conn, err);
    PQfinish(conn);
    return market;
}

/* ---- The command ---------------------------------------------------------------------------- */

/* Loads the bars, runs, prints. The strategy and options are ready. */
static int backtest(const struct flags *fl, const struct lv_strategy *strategy,
                    const struct lv_backtest_options *o, const struct lv_problems *warnings)
{
    double started = now_ms();
    int n = lv_backtest_symbols(strategy, o, NULL, 0);
    char(*symbols)[LV_SYMBOL_MAX] = calloc((size_t)n, LV_SYMBOL_MAX);
    struct lv_error err;
    if (symbols == NULL) {
        fprintf(stderr, "lever backtest: out of memory\n");
        return LV_EXIT_FAIL;
    }
    n = lv_backtest_symbols(strategy, o, symbols, n);
    struct lv_market *market =
        fl->data_dir != NULL
            ? load_market_from_dir(fl->data_dir, (const char(*)[LV_SYMBOL_MAX])symbols, n, &err)
            : load_market_from_database(&err);
    free(symbols);
    if (market == NULL) {
        fprintf(stderr, "lever backtest: %s\n", err.message);
        return LV_EXIT_FAIL;
    }
    double load_ms = now_ms() - started;

    struct lv_series_cache *cache = lv_series_cache_new(market);
    struct lv_backtest_workspace *ws = lv_backtest_workspace_new();
    struct lv_backtest_result result = {0};
    int status = LV_EXIT_FAIL;
    if (cache == NULL || ws == NULL) {
        fprintf(stderr, "lever backtest: out of memory\n");
    } else if (lv_backtest_run(strategy, market, cache, o, ws, &result, &err) != 0) {
        fprintf(stderr, "lever backtest: %s\n", err.message);
    } else {
        result.timing.load_ms = load_ms;
        result.timing.total_ms += load_ms;
        for (int i = 0; i < warnings->count; i++)
            lv_backtest_result_warn(&result, "%s: %s", warnings->items[i].path,
                                    warnings->items[i].message);
        if (fl->json) {
            status = print_json(&result);
        } else {
            print_summary(strategy, o, &result);
            status = LV_EXIT_OK;
        }
    }
    lv_backtest_result_free(&result);
    lv_backtest_workspace_free(ws);
    lv_series_cache_free(cache);
    lv_market_free(market);
    return status;
}

int cmd_backtest(int argc, char **argv)
{
    if (lv_cli_wants_help(argc, argv)) {
        usage(stdout);
        return LV_EXIT_OK;
    }
    struct flags fl;
    int status = parse_flags(argc, argv, &fl);
    if (status != LV_EXIT_OK)
        return status;
    json_t *doc = NULL;
    struct lv_strategy *strategy = NULL;
    struct lv_problems warnings = {0};
    struct lv_backtest_options options;
    if (load_strategy(fl.strategy_path, &doc, &strategy, &warnings) != 0 ||
        resolve_options(doc, &fl, &options) != 0) {
        status = LV_EXIT_FAIL;
    } else {
        status = backtest(&fl, strategy, &options, &warnings);
    }
    lv_problems_free(&warnings);
    lv_strategy_free(strategy);
    json_decref(doc);
    return status;
}
