/* test_backtest_memo.c — a batch run with the job memo gives exactly the result of the same run
 * without it: the two sample batches and hand-written templates, on two threads sharing one memo.
 *
 * Every compared run is made twice by the same thread, with and without the memo, and the two
 * results must be identical to the bit (metrics, curves, positions, warnings, window). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backtest.h"
#include "core/backtest_memo.h"
#include "core/bars_csv.h"
#include "core/batch.h"
#include "csv_table.h"
#include "sample_data.h"

#define N_THREADS 2

/* Three symbols over 400 weekdays; C has no bar on every 13th day, so decisions reading C
 * meet missing inputs (in sort branches too). */
static struct lv_market *gappy_market(void)
{
    enum { N = 400 };
    static lv_day day[N];
    static double close[3][N], volume[N];
    for (int i = 0; i < N; i++) {
        day[i] = 10000 + i + 2 * (i / 5); /* five days a week */
        for (int s = 0; s < 3; s++)
            close[s][i] = 50 + 10 * sin(i / (7.0 + 3 * s)) + (i % (11 + s)) * 0.5;
        volume[i] = 1000;
    }
    struct lv_market_builder *builder = lv_market_builder_new();
    struct lv_error err;
    const char *names[] = {"A", "B", "C"};
    for (int s = 0; s < 3; s++) {
        lv_day d[N];
        double c[N];
        size_t n = 0;
        for (int i = 0; i < N; i++) {
            if (s == 2 && i % 13 == 5)
                continue;
            d[n] = day[i];
            c[n++] = close[s][i];
        }
        assert_int_equal(lv_market_builder_add(builder, names[s], d, c, c, c, c, volume, n, &err),
                         0);
    }
    struct lv_market *market = lv_market_finalize(builder, &err);
    assert_non_null(market);
    return market;
}

/* ---- Comparing results ---------------------------------------------------------------------- */

static bool same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* NULL when the results are identical, else what differs first. */
static const char *difference(const struct lv_backtest_result *a,
                              const struct lv_backtest_result *b)
{
    for (int m = 0; m < LV_METRIC_COUNT; m++)
        if (!same_double(a->metrics.value[m], b->metrics.value[m]) ||
            !same_double(a->benchmark_metrics.value[m], b->benchmark_metrics.value[m]))
            return "metrics";
    if (a->n_days != b->n_days || a->window_start != b->window_start ||
        a->window_end != b->window_end || strcmp(a->start_reason, b->start_reason) != 0)
        return "window";
    for (size_t i = 0; i < a->n_days; i++)
        if (a->days[i] != b->days[i] || !same_double(a->equity[i], b->equity[i]) ||
            !same_double(a->benchmark[i], b->benchmark[i]))
            return "curves";
    if (a->n_positions != b->n_positions)
        return "number of positions";
    for (size_t i = 0; i < a->n_positions; i++)
        if (a->positions[i].day != b->positions[i].day ||
            strcmp(a->positions[i].ticker, b->positions[i].ticker) != 0 ||
            !same_double(a->positions[i].weight, b->positions[i].weight))
            return "positions";
    if (a->n_warnings != b->n_warnings)
        return "number of warnings";
    for (int i = 0; i < a->n_warnings; i++)
        if (strcmp(a->warnings[i], b->warnings[i]) != 0)
            return "warnings";
    return NULL;
}

/* ---- Running a batch both ways on two threads ----------------------------------------------- */

struct batch {
    const struct lv_market *market;
    struct lv_series_cache *cache;
    struct lv_strategy_template *template;
    struct lv_backtest_memo *memo;
    struct lv_backtest_options options;
    struct lv_batch_vars vars;
    const long *runs; /* the run indices to compare, in the order they are made */
    long n_runs;
};

struct worker {
    pthread_t thread;
    struct batch *batch;
    int index;
    long compared, failed_alike, with_warnings;
    long mismatches;
    char first[256]; /* the first mismatch */
};

static void mismatch(struct worker *w, long run, const char *what)
{
    if (w->mismatches++ == 0)
        snprintf(w->first, sizeof w->first, "run %ld: %s", run, what);
}

static void *compare_runs(void *arg)
{
    struct worker *w = arg;
    struct batch *b = w->batch;
    struct lv_backtest_workspace *ws_memo = lv_backtest_workspace_new();
    struct lv_backtest_workspace *ws_alone = lv_backtest_workspace_new();
    struct lv_backtest_result with = {0}, without = {0};
    struct lv_strategy *strategy = NULL;
    for (long i = w->index; i < b->n_runs; i += N_THREADS) {
        int idx[LV_BATCH_MAX_VARS];
        const char *values[LV_BATCH_MAX_VARS];
        lv_batch_decode(&b->vars, b->runs[i], idx);
        for (int k = 0; k < b->vars.n; k++)
            values[k] = b->vars.vars[k].values[idx[k]];
        struct lv_problems problems = {0};
        int bound = lv_strategy_template_bind(b->template, values, &strategy, &problems);
        lv_problems_free(&problems);
        if (bound != 0) {
            mismatch(w, b->runs[i], "cannot bind");
            continue;
        }
        struct lv_error err_with, err_without;
        int rc_with = lv_backtest_run_memo(strategy, values, b->memo, b->market, b->cache,
                                           &b->options, ws_memo, &with, &err_with);
        int rc_without = lv_backtest_run(strategy, b->market, b->cache, &b->options, ws_alone,
                                         &without, &err_without);
        if (rc_with != rc_without) {
            mismatch(w, b->runs[i], "one failed, the other did not");
        } else if (rc_with != 0) {
            if (strcmp(err_with.message, err_without.message) != 0)
                mismatch(w, b->runs[i], "different errors");
            w->failed_alike++;
        } else {
            const char *what = difference(&with, &without);
            if (what != NULL)
                mismatch(w, b->runs[i], what);

            w->with_warnings += with.n_warnings > 0;
        }
        w->compared++;
    }
    lv_strategy_free(strategy);
    lv_backtest_result_free(&with);
    lv_backtest_result_free(&without);
    lv_backtest_workspace_free(ws_memo);
    lv_backtest_workspace_free(ws_alone);
    return NULL;
}

/* What a batch comparison found, summed over the threads. */
struct outcome {
    long compared, failed_alike, with_warnings;
    struct lv_backtest_memo_stats stats;
};

/* Compares the runs `runs` of the batch (strategy document `doc`, variables `vars_json`). */
static struct outcome compare_batch(const struct lv_market *market, const json_t *doc,
                                    const json_t *vars_json, const long *runs, long n_runs)
{
    struct batch b = {.market = market, .runs = runs, .n_runs = n_runs};
    struct lv_problems problems = {0};
    assert_int_equal(lv_batch_vars_parse(vars_json, "/variables", &b.vars, &problems), 0);
    const char *names[LV_BATCH_MAX_VARS];
    for (int k = 0; k < b.vars.n; k++)
        names[k] = b.vars.vars[k].name;
    if (lv_strategy_template_compile(doc, names, b.vars.n, &b.template, NULL, &problems, NULL))
        fail_msg("%s: %s", problems.items[0].path, problems.items[0].message);
    lv_backtest_options_init(&b.options);
    assert_int_equal(lv_backtest_options_read(doc, &b.options, &problems), 0);
    lv_problems_free(&problems);
    b.cache = lv_series_cache_new(market);
    int n_values[LV_BATCH_MAX_VARS];
    for (int k = 0; k < b.vars.n; k++)
        n_values[k] = b.vars.vars[k].n_values;
    b.memo = lv_backtest_memo_new(b.template, n_values, 0);
    assert_non_null(b.cache);
    assert_non_null(b.memo);

    struct worker workers[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        workers[t] = (struct worker){.batch = &b, .index = t};
        assert_int_equal(pthread_create(&workers[t].thread, NULL, compare_runs, &workers[t]), 0);
    }
    struct outcome out = {0};
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(workers[t].thread, NULL);
        if (workers[t].mismatches > 0)
            fail_msg("%ld mismatches, first: %s", workers[t].mismatches, workers[t].first);
        out.compared += workers[t].compared;
        out.failed_alike += workers[t].failed_alike;
        out.with_warnings += workers[t].with_warnings;
    }
    lv_backtest_memo_stats(b.memo, &out.stats);
    lv_backtest_memo_free(b.memo);
    lv_series_cache_free(b.cache);
    lv_strategy_template_free(b.template);
    lv_batch_vars_free(&b.vars);
    return out;
}

/* `n` run indices spread over [0, total) in a shuffled order (a stride coprime with total). */
static long *spread_runs(long total, long n)
{
    long *runs = malloc((size_t)n * sizeof *runs);
    assert_non_null(runs);
    long stride = 7919; /* prime; the totals used here are not multiples of it */
    for (long i = 0; i < n; i++)
        runs[i] = (long)(((unsigned long long)i * (unsigned long long)stride * 104729ull) %
                         (unsigned long long)total);
    return runs;
}

static long batch_total(const json_t *vars)
{
    long total = 1;
    for (size_t k = 0; k < json_array_size(vars); k++)
        total *= (long)json_array_size(json_object_get(json_array_get(vars, k), "values"));
    return total;
}

/* Every run of a small batch, in reverse order. */
static long *every_run(long total)
{
    long *runs = malloc((size_t)total * sizeof *runs);
    assert_non_null(runs);
    for (long i = 0; i < total; i++)
        runs[i] = total - 1 - i;
    return runs;
}

/* ---- The sample batches --------------------------------------------------------------------- */

static void compare_sample(const char *name, long n_runs, bool expect_hits)
{
    char path[1024], relative[256];
    snprintf(relative, sizeof relative, "data/strategies/%s.json", name);
    json_t *doc = json_load_file(csv_shared_path(relative, path, sizeof path), 0, NULL);
    snprintf(relative, sizeof relative, "data/strategies/%s-variables.json", name);
    json_t *file = json_load_file(csv_shared_path(relative, path, sizeof path), 0, NULL);
    assert_non_null(doc);
    assert_non_null(file);
    const json_t *vars = json_object_get(file, "variables");
    long *runs = spread_runs(batch_total(vars), n_runs);
    struct lv_market *market = sample_etf_market();
    struct outcome out = compare_batch(market, doc, vars, runs, n_runs);
    assert_int_equal(out.compared, n_runs);
    assert_int_equal(out.failed_alike, 0);
    if (expect_hits)
        assert_true(out.stats.hits > 0);
    lv_market_free(market);
    free(runs);
    json_decref(doc);
    json_decref(file);
}

static void complex_batch_matches(void **state)
{
    (void)state;
    compare_sample("complex-batch", 160, true);
}

static void sma_switch_batch_matches(void **state)
{
    (void)state;
    compare_sample("batch-sma-switch", 300, false);
}

/* ---- Hand-written templates ----------------------------------------------------------------- */

static struct outcome compare_all(const struct lv_market *market, const char *doc_text,
                                  const char *vars_text)
{
    json_error_t jerr;
    json_t *doc = json_loads(doc_text, 0, &jerr);
    if (doc == NULL)
        fail_msg("strategy: %s", jerr.text);
    json_t *vars = json_loads(vars_text, 0, &jerr);
    if (vars == NULL)
        fail_msg("variables: %s", jerr.text);
    long total = batch_total(vars);
    long *runs = every_run(total);
    struct outcome out = compare_batch(market, doc, vars, runs, total);
    assert_int_equal(out.compared, total);
    free(runs);
    json_decref(doc);
    json_decref(vars);
    return out;
}

/* A variable inside a sort's branch child (its ticker) and in the sort's parameters; the
 * other children are the same in every run. Monthly, with costs. */
static void variable_in_a_sort_child(void **state)
{
    (void)state;
    struct lv_market *market = sample_etf_market();
    struct outcome out = compare_all(
        market,
        "{\"benchmark_symbol\":\"SPY\",\"rebalance\":\"monthly\",\"cost_bps\":5,\"elements\":["
        "{\"type\":\"sort\",\"indicator\":\"RETURN\",\"params\":{\"period\":\"$p\"},"
        " \"direction\":\"top\",\"count\":1,\"children\":["
        "  "
        "{\"type\":\"gate\",\"weight\":1,\"conditionMode\":\"if\",\"conditions\":[{\"ticker\":\"$"
        "a\","
        "    \"indicator\":\"CURRENT_PRICE\",\"operator\":\"gt\",\"compareTo\":\"indicator\","
        "    \"rightTicker\":\"$a\",\"rightIndicator\":\"SMA\",\"rightParams\":{\"period\":50}}],"
        "   \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"$a\"}],"
        "   \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"TLT\"}]},"
        "  {\"type\":\"weight\",\"weight\":1,\"weightMode\":\"equal\",\"children\":["
        "    {\"type\":\"ticker\",\"ticker\":\"GLD\"},{\"type\":\"ticker\",\"ticker\":\"QQQ\"}]},"
        "  {\"type\":\"ticker\",\"ticker\":\"SPY\",\"weight\":1}]}]}",
        "[{\"name\":\"a\",\"values\":[\"SPY\",\"QQQ\",\"IWM\",\"BIL\"]},"
        " {\"name\":\"p\",\"values\":[\"20\",\"60\",\"120\"]}]");
    assert_true(out.stats.hits > 0);
    lv_market_free(market);
}

/* A gate threshold and a top-level ticker vary; a sort of constant branches is shared. */
static void variable_threshold_and_top_ticker(void **state)
{
    (void)state;
    struct lv_market *market = sample_etf_market();
    struct outcome out = compare_all(
        market,
        "{\"benchmark_symbol\":\"SPY\",\"elements\":["
        "{\"type\":\"gate\",\"weight\":60,\"conditionMode\":\"if_any\",\"conditions\":["
        "  "
        "{\"ticker\":\"EEM\",\"indicator\":\"RSI\",\"params\":{\"period\":10},\"operator\":\"lt\","
        "   \"compareTo\":\"threshold\",\"threshold\":\"$thr\"}],"
        " \"thenChildren\":[{\"type\":\"sort\",\"indicator\":\"VOLATILITY\",\"params\":{"
        "   \"period\":20},\"direction\":\"bottom\",\"count\":1,\"children\":["
        "   "
        "{\"type\":\"gate\",\"weight\":1,\"conditionMode\":\"if\",\"conditions\":[{\"ticker\":"
        "\"QQQ\","
        "     \"indicator\":\"RSI\",\"params\":{\"period\":14},\"operator\":\"gt\","
        "     \"compareTo\":\"threshold\",\"threshold\":50}],"
        "     \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"QQQ\"}],"
        "     \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"IEF\"}]},"
        "   {\"type\":\"ticker\",\"ticker\":\"GLD\",\"weight\":1}]}],"
        " \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"SHY\"}]},"
        "{\"type\":\"ticker\",\"weight\":40,\"ticker\":\"$top\"}]}",
        "[{\"name\":\"thr\",\"values\":[\"30\",\"45.5\",\"60\"]},"
        " {\"name\":\"top\",\"values\":[\"SPY\",\"BIL\",\"TLT\"]}]");
    assert_true(out.stats.hits > 0);
    lv_market_free(market);
}

/* A scale's range varies inside one of a sort's children; daily with a drift threshold. */
static void variable_scale_range_in_a_sort(void **state)
{
    (void)state;
    struct lv_market *market = sample_etf_market();
    struct outcome out = compare_all(
        market,
        "{\"benchmark_symbol\":\"SPY\",\"rebalance\":\"threshold:0.05\",\"elements\":["
        "{\"type\":\"sort\",\"indicator\":\"CUMULATIVE_RETURN\",\"params\":{},"
        " \"direction\":\"top\",\"count\":2,\"children\":["
        "  {\"type\":\"scale\",\"weight\":1,\"config\":{\"ticker\":\"SPY\",\"indicator\":\"RSI\","
        "    \"params\":{\"period\":14},\"rangeMin\":\"$lo\",\"rangeMax\":80},"
        "   \"fromChildren\":[{\"type\":\"ticker\",\"ticker\":\"SPY\"}],"
        "   \"toChildren\":[{\"type\":\"ticker\",\"ticker\":\"TLT\"}]},"
        "  {\"type\":\"ticker\",\"ticker\":\"GLD\",\"weight\":2},"
        "  {\"type\":\"sort\",\"weight\":1,\"indicator\":\"RETURN\",\"params\":{\"period\":40},"
        "   \"direction\":\"bottom\",\"count\":1,\"children\":["
        "    {\"type\":\"ticker\",\"ticker\":\"IEF\",\"weight\":1},"
        "    {\"type\":\"ticker\",\"ticker\":\"$t\",\"weight\":1}]}]}]}",
        "[{\"name\":\"lo\",\"values\":[\"20\",\"30\",\"40\"]},"
        " {\"name\":\"t\",\"values\":[\"QQQ\",\"EFA\"]}]");
    assert_true(out.stats.hits > 0);
    lv_market_free(market);
}

/* Sort branches that meet missing inputs: the warnings of runs using the memo's entries must
 * quote the same gaps. */
static void gaps_in_sort_branches_are_replayed(void **state)
{
    (void)state;
    struct lv_market *market = gappy_market();
    struct outcome out = compare_all(
        market,
        "{\"benchmark_symbol\":\"A\",\"elements\":["
        "{\"type\":\"sort\",\"indicator\":\"RETURN\",\"params\":{\"period\":5},"
        " \"direction\":\"top\",\"count\":1,\"children\":["
        "  "
        "{\"type\":\"gate\",\"weight\":1,\"conditionMode\":\"if\",\"conditions\":[{\"ticker\":"
        "\"C\","
        "    \"indicator\":\"CURRENT_PRICE\",\"operator\":\"gt\",\"compareTo\":\"threshold\","
        "    \"threshold\":50}],"
        "   \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"A\"}],"
        "   \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"B\"}]},"
        "  "
        "{\"type\":\"gate\",\"weight\":1,\"conditionMode\":\"if\",\"conditions\":[{\"ticker\":\"$"
        "x\","
        "    \"indicator\":\"SMA\",\"params\":{\"period\":3},\"operator\":\"lt\","
        "    \"compareTo\":\"threshold\",\"threshold\":\"$thr\"}],"
        "   \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"B\"}],"
        "   \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"C\"}]}]}]}",
        "[{\"name\":\"x\",\"values\":[\"A\",\"C\"]},"
        " {\"name\":\"thr\",\"values\":[\"45\",\"50\",\"55\"]}]");
    assert_true(out.stats.hits > 0);
    assert_int_equal(out.with_warnings, out.compared);
    lv_market_free(market);
}

/* Footprints: which variables each node's subtree reads. */
static void footprints_follow_the_subtrees(void **state)
{
    (void)state;
    json_t *doc = json_loads(
        "[{\"type\":\"weight\",\"weightMode\":\"defined\",\"children\":["
        "  {\"type\":\"ticker\",\"ticker\":\"$a\",\"weight\":\"$w\"},"
        "  {\"type\":\"gate\",\"weight\":1,\"conditionMode\":\"if\",\"conditions\":["
        "    {\"ticker\":\"SPY\",\"indicator\":\"SMA\",\"params\":{\"period\":\"$n\"},"
        "     \"operator\":\"gt\",\"compareTo\":\"threshold\",\"threshold\":\"$thr\"}],"
        "   \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"QQQ\"}],\"elseChildren\":[]},"
        "  {\"type\":\"ticker\",\"ticker\":\"GLD\",\"weight\":1}]}]",
        0, NULL);
    const char *names[] = {"a", "w", "n", "thr", "unused"};
    struct lv_strategy_template *t = NULL;
    struct lv_problems problems = {0};
    assert_int_equal(lv_strategy_template_compile(doc, names, 5, &t, NULL, &problems, NULL), 0);
    assert_int_equal(lv_strategy_template_n_nodes(t), 5);
    int vars[5];
    assert_int_equal(lv_strategy_template_node_vars(t, LV_ROOT, vars, 5), 4);
    assert_int_equal(lv_strategy_template_node_vars(t, 0, vars, 5), 4);
    assert_int_equal(lv_strategy_template_node_vars(t, 1, vars, 5), 2); /* $a, $w */
    assert_int_equal(vars[0], 0);
    assert_int_equal(vars[1], 1);
    assert_int_equal(lv_strategy_template_node_vars(t, 2, vars, 5), 2); /* $n, $thr */
    assert_int_equal(vars[0], 2);
    assert_int_equal(vars[1], 3);
    assert_int_equal(lv_strategy_template_node_vars(t, 3, vars, 5), 0);
    assert_int_equal(lv_strategy_template_node_vars(t, 4, vars, 5), 0);
    lv_strategy_template_free(t);
    lv_problems_free(&problems);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(footprints_follow_the_subtrees),
        cmocka_unit_test(variable_in_a_sort_child),
        cmocka_unit_test(variable_threshold_and_top_ticker),
        cmocka_unit_test(variable_scale_range_in_a_sort),
        cmocka_unit_test(gaps_in_sort_branches_are_replayed),
        cmocka_unit_test(sma_switch_batch_matches),
        cmocka_unit_test(complex_batch_matches),
    };
    return cmocka_run_group_tests_name("backtest_memo", tests, NULL, NULL);
}
