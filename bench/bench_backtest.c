/* bench_backtest.c — how fast one backtest and a batch of backtests run on the sample ETF data:
 * one run cold (computing its indicator series) and warm (from the cache), then 1,000 runs on
 * every core sharing one market and cache; and the first runs of the sample batch templates in
 * run order, as a job's workers make them, with and without the job memo. Usage:
 * bench_backtest [SHARED_DIR [templates]] ("templates": only the latter; SHARED_DIR default
 * $LEVER_SHARED, else /work/shared; reads the CSV files of data/etf and data/strategies). */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/files.h"
#include "core/backtest.h"
#include "core/backtest_memo.h"
#include "core/bars_csv.h"
#include "core/batch.h"

#define BATCH_RUNS 1000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *message)
{
    fprintf(stderr, "bench_backtest: %s: %s\n", what, message);
    exit(1);
}

/* Every SYMBOL.csv of the directory, named after its file. */
static struct lv_market *load_etfs(const char *dir, int *n_files)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        die(dir, "cannot open");
    struct lv_market_builder *builder = lv_market_builder_new();
    struct dirent *entry;
    struct lv_error err;
    *n_files = 0;
    while ((entry = readdir(d)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len < 5 || strcmp(entry->d_name + len - 4, ".csv") != 0)
            continue;
        char path[4096], symbol[LV_SYMBOL_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, entry->d_name) >= (int)sizeof path)
            die(dir, "path too long");
        snprintf(symbol, sizeof symbol, "%.*s", (int)(len - 4), entry->d_name);
        size_t size;
        char *text = lv_read_file(path, &size, NULL, &err);
        struct lv_bar_table table;
        if (text == NULL || lv_bars_csv_parse(text, size, path, symbol, &table, &err) != 0)
            die(path, err.message);
        free(text);
        const struct lv_bar_series *s = &table.series[0];
        if (lv_market_builder_add(builder, symbol, s->day, s->open, s->high, s->low, s->close,
                                  s->volume, s->n, &err) != 0)
            die(path, err.message);
        lv_bar_table_free(&table);
        (*n_files)++;
    }
    closedir(d);
    struct lv_market *market = lv_market_finalize(builder, &err);
    if (market == NULL)
        die(dir, err.message);
    return market;
}

static struct lv_strategy *compile(const char *path)
{
    struct lv_error err;
    size_t len;
    char *text = lv_read_file(path, &len, NULL, &err);
    if (text == NULL)
        die(path, err.message);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (doc == NULL)
        die(path, jerr.text);
    struct lv_strategy *strategy = NULL;
    struct lv_problems problems = {0};
    if (lv_strategy_compile(doc, &strategy, &problems, NULL) != 0)
        die(path, problems.count ? problems.items[0].message : "invalid");
    lv_problems_free(&problems);
    json_decref(doc);
    return strategy;
}

struct batch {
    const struct lv_strategy *strategy;
    const struct lv_market *market;
    struct lv_series_cache *cache;
    const struct lv_backtest_options *options;
    int runs; /* for this thread */
    double checksum;
};

static void *batch_thread(void *arg)
{
    struct batch *b = arg;
    struct lv_backtest_workspace *ws = lv_backtest_workspace_new();
    struct lv_backtest_result result = {0};
    struct lv_error err;
    for (int i = 0; i < b->runs; i++) {
        if (lv_backtest_run(b->strategy, b->market, b->cache, b->options, ws, &result, &err) != 0)
            die("batch run", err.message);
        b->checksum += result.metrics.value[LV_METRIC_TOTAL_RETURN];
    }
    lv_backtest_result_free(&result);
    lv_backtest_workspace_free(ws);
    return NULL;
}

/* Times one strategy: cold run, warm runs, then the batch on `threads` threads. */
static void bench_strategy(const char *path, const struct lv_market *market, int threads)
{
    struct lv_strategy *strategy = compile(path);
    struct lv_backtest_options options;
    lv_backtest_options_init(&options);
    struct lv_series_cache *cache = lv_series_cache_new(market);
    struct lv_backtest_workspace *ws = lv_backtest_workspace_new();
    struct lv_backtest_result result = {0};
    struct lv_error err;

    double t0 = now_ms();
    if (lv_backtest_run(strategy, market, cache, &options, ws, &result, &err) != 0)
        die(path, err.message);
    double cold = now_ms() - t0;
    enum { WARM_RUNS = 20 };
    /* the best run shows the code's speed on a busy machine; the mean, what a user waits */
    double warm = 0, best = 0;
    for (int i = 0; i < WARM_RUNS; i++) {
        double start_ms = now_ms();
        lv_backtest_run(strategy, market, cache, &options, ws, &result, &err);
        double took = now_ms() - start_ms;
        warm += took / WARM_RUNS;
        best = i == 0 || took < best ? took : best;
    }
    char start[LV_DAY_TEXT], end[LV_DAY_TEXT];
    printf("%s\n  %d series, %d tickers, %d sorts; window %s..%s (%zu days), total return %.4f\n",
           path, lv_strategy_n_series(strategy), lv_strategy_n_tickers(strategy),
           lv_strategy_n_sorts(strategy), lv_day_format(result.window_start, start),
           lv_day_format(result.window_end, end), result.n_days,
           result.metrics.value[LV_METRIC_TOTAL_RETURN]);
    printf("  one backtest: cold %.2f ms, warm %.3f ms (best %.3f; last: indicators %.3f, "
           "simulate %.3f)\n",
           cold, warm, best, result.timing.indicators_ms, result.timing.simulate_ms);

    pthread_t tid[64];
    struct batch jobs[64];
    t0 = now_ms();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct batch){
            strategy, market, cache, &options, BATCH_RUNS / threads + (t < BATCH_RUNS % threads),
            0};
        pthread_create(&tid[t], NULL, batch_thread, &jobs[t]);
    }
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    double batch = (now_ms() - t0) / 1e3;
    printf("  %d backtests on %d threads: %.3f s (%.0f runs/s)\n", BATCH_RUNS, threads, batch,
           BATCH_RUNS / batch);

    lv_backtest_result_free(&result);
    lv_backtest_workspace_free(ws);
    lv_series_cache_free(cache);
    lv_strategy_free(strategy);
}

/* ---- Batch templates: runs in order, with and without the job memo ------------------------ */

struct template_batch {
    const struct lv_strategy_template *template;
    const struct lv_batch_vars *vars;
    struct lv_backtest_memo *memo; /* NULL: each run on its own */
    const struct lv_market *market;
    struct lv_series_cache *cache;
    const struct lv_backtest_options *options;
    long next, end; /* runs [next, end), taken in order by the threads */
    pthread_mutex_t lock;
};

/* Takes the next run, as a job's workers take chunks in order; -1 when none is left. */
static long take_run(struct template_batch *b)
{
    pthread_mutex_lock(&b->lock);
    long run = b->next < b->end ? b->next++ : -1;
    pthread_mutex_unlock(&b->lock);
    return run;
}

static void *template_thread(void *arg)
{
    struct template_batch *b = arg;
    struct lv_backtest_workspace *ws = lv_backtest_workspace_new();
    lv_backtest_workspace_metrics_only(ws, true); /* as a job's workers run */
    struct lv_backtest_result result = {0};
    struct lv_strategy *strategy = NULL;
    struct lv_error err;
    for (long run; (run = take_run(b)) >= 0;) {
        int idx[LV_BATCH_MAX_VARS];
        const char *values[LV_BATCH_MAX_VARS];
        lv_batch_decode(b->vars, run, idx);
        for (int k = 0; k < b->vars->n; k++)
            values[k] = b->vars->vars[k].values[idx[k]];
        struct lv_problems problems = {0};
        if (lv_strategy_template_bind(b->template, values, &strategy, &problems) != 0)
            die("bind", problems.count ? problems.items[0].message : "out of memory");
        lv_problems_free(&problems);
        if (lv_backtest_run_memo(strategy, values, b->memo, b->market, b->cache, b->options, ws,
                                 &result, &err) != 0)
            die("batch run", err.message);
    }
    lv_strategy_free(strategy);
    lv_backtest_result_free(&result);
    lv_backtest_workspace_free(ws);
    return NULL;
}

/* Runs [0, n_runs) of the batch on `threads` threads; returns the seconds taken. */
static double time_template(struct template_batch *b, long n_runs, int threads)
{
    pthread_t tid[64];
    b->next = 0;
    b->end = n_runs;
    double t0 = now_ms();
    for (int t = 0; t < threads; t++)
        pthread_create(&tid[t], NULL, template_thread, b);
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    return (now_ms() - t0) / 1e3;
}

static void bench_template(const char *shared, const char *name, long alone_runs, long memo_runs,
                           const struct lv_market *market, int threads)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/strategies/%s.json", shared, name);
    json_t *doc = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, "%s/data/strategies/%s-variables.json", shared, name);
    json_t *file = json_load_file(path, 0, NULL);
    if (doc == NULL || file == NULL)
        die(path, "cannot read the batch");
    struct lv_batch_vars vars = {0};
    struct lv_problems problems = {0};
    if (lv_batch_vars_parse(json_object_get(file, "variables"), "/variables", &vars, &problems))
        die(path, problems.items[0].message);
    const char *names[LV_BATCH_MAX_VARS];
    for (int k = 0; k < vars.n; k++)
        names[k] = vars.vars[k].name;
    struct lv_strategy_template *template = NULL;
    if (lv_strategy_template_compile(doc, names, vars.n, &template, NULL, &problems, NULL) != 0)
        die(name, problems.count ? problems.items[0].message : "invalid");
    struct lv_backtest_options options;
    lv_backtest_options_init(&options);
    lv_backtest_options_read(doc, &options, &problems);
    lv_problems_free(&problems);

    struct template_batch b = {.template = template,
                               .vars = &vars,
                               .market = market,
                               .cache = lv_series_cache_new(market),
                               .options = &options};
    pthread_mutex_init(&b.lock, NULL);
    time_template(&b, threads, threads); /* warms the series cache */
    double alone = time_template(&b, alone_runs, threads);
    int n_values[LV_BATCH_MAX_VARS];
    for (int k = 0; k < vars.n; k++)
        n_values[k] = vars.vars[k].n_values;
    b.memo = lv_backtest_memo_new(template, n_values, 0);
    double with = time_template(&b, memo_runs, threads);
    struct lv_backtest_memo_stats stats = {0};
    if (b.memo != NULL)
        lv_backtest_memo_stats(b.memo, &stats);
    printf("%s (batch template, first runs in order, %d threads)\n"
           "  without memo: %ld runs in %.2f s (%.3f ms/run)\n"
           "  with memo:    %ld runs in %.2f s (%.3f ms/run); memo %ld entries, %.1f MiB, "
           "%ld hits, %ld misses\n",
           name, threads, alone_runs, alone, alone * 1e3 / alone_runs, memo_runs, with,
           with * 1e3 / memo_runs, stats.entries, stats.bytes / 1048576.0, stats.hits,
           stats.misses);
    lv_backtest_memo_free(b.memo);
    pthread_mutex_destroy(&b.lock);
    lv_series_cache_free(b.cache);
    lv_strategy_template_free(template);
    lv_batch_vars_free(&vars);
    json_decref(doc);
    json_decref(file);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : getenv("LEVER_SHARED");
    if (shared == NULL)
        shared = "/work/shared";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/etf", shared);
    double t0 = now_ms();
    int n_files;
    struct lv_market *market = load_etfs(dir, &n_files);
    printf("loaded %d symbols from %s in %.1f ms\n", n_files, dir, now_ms() - t0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    const char *strategies[] = {"complex.json", "sma-switch.json", "momentum-rotation.json"};
    bool templates_only = argc > 2 && strcmp(argv[2], "templates") == 0;
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0] && !templates_only; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/data/strategies/%s", shared, strategies[i]) >=
            (int)sizeof path)
            die(shared, "path too long");
        bench_strategy(path, market, threads);
    }
    bench_template(shared, "complex-batch", 200, 4000, market, threads);
    bench_template(shared, "batch-sma-switch", 2000, 2000, market, threads);
    lv_market_free(market);
    return 0;
}
