/* test_backtest_fast.c — the fast paths of a backtest give exactly what the plain ones give:
 * column evaluation and the prepared gate table against lv_evaluate, evaluator re-binding,
 * the shared cache's daily returns, and a reused workspace across different strategies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backtest.h"

enum { N_DAYS = 301 }; /* odd, and not a multiple of 64: the gate table's blocks end short */

/* Every gate mode and operator, a threshold of exactly some inputs' values (ties), a scale, a
 * sort with ties, weights, nesting, and an empty weight. */
static const char *const MIXED =
    "[{\"type\":\"weight\",\"weightMode\":\"defined\",\"children\":["
    " {\"type\":\"gate\",\"weight\":3,\"conditionMode\":\"if_all\",\"conditions\":["
    "   {\"ticker\":\"A\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"gte\","
    "    \"compareTo\":\"threshold\",\"threshold\":50},"
    "   {\"ticker\":\"A\",\"indicator\":\"SMA\",\"params\":{\"period\":3},\"operator\":\"neq\","
    "    \"compareTo\":\"indicator\",\"rightTicker\":\"B\",\"rightIndicator\":\"SMA\","
    "    \"rightParams\":{\"period\":3}}],"
    "  \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"A\",\"weight\":70},"
    "   {\"type\":\"ticker\",\"ticker\":\"B\",\"weight\":30}],"
    "  \"elseChildren\":[{\"type\":\"gate\",\"conditionMode\":\"if_none\",\"conditions\":["
    "   {\"ticker\":\"B\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"lt\","
    "    \"compareTo\":\"threshold\",\"threshold\":40},"
    "   {\"ticker\":\"C\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"eq\","
    "    \"compareTo\":\"threshold\",\"threshold\":60}],"
    "   \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"C\"}],"
    "   \"elseChildren\":[]}]},"
    " {\"type\":\"gate\",\"weight\":2,\"conditionMode\":\"if_any\",\"conditions\":["
    "   {\"ticker\":\"C\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"lte\","
    "    \"compareTo\":\"threshold\",\"threshold\":45},"
    "   {\"ticker\":\"A\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"gt\","
    "    \"compareTo\":\"indicator\",\"rightTicker\":\"C\",\"rightIndicator\":\"CURRENT_PRICE\"}],"
    "  \"thenChildren\":[{\"type\":\"scale\",\"config\":{\"ticker\":\"B\","
    "    \"indicator\":\"CURRENT_PRICE\",\"rangeMin\":40,\"rangeMax\":60},"
    "    \"fromChildren\":[{\"type\":\"ticker\",\"ticker\":\"A\"}],"
    "    \"toChildren\":[{\"type\":\"ticker\",\"ticker\":\"B\",\"weight\":1},"
    "     {\"type\":\"weight\",\"weight\":1}]}],"
    "  \"elseChildren\":[{\"type\":\"sort\",\"indicator\":\"RETURN\",\"params\":{\"period\":2},"
    "    \"direction\":\"top\",\"count\":1,\"children\":["
    "    {\"type\":\"ticker\",\"ticker\":\"A\",\"weight\":2},"
    "    {\"type\":\"ticker\",\"ticker\":\"C\",\"weight\":1}]}]},"
    " {\"type\":\"gate\",\"weight\":1,\"conditionMode\":\"if\",\"conditions\":["
    "   {\"ticker\":\"C\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"gt\","
    "    \"compareTo\":\"threshold\",\"threshold\":55}],"
    "  \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"B\"}],"
    "  \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"C\"}]}]}]";

static const char *const SIMPLE = "[{\"type\":\"ticker\",\"ticker\":\"B\"}]";

static struct lv_strategy *compile(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    struct lv_strategy *s = NULL;
    struct lv_problems problems = {0};
    int rc = lv_strategy_compile(doc, &s, &problems, NULL);
    if (rc != 0)
        fail_msg("%s: %s", problems.count ? problems.items[0].path : "",
                 problems.count ? problems.items[0].message : "");
    lv_problems_free(&problems);
    json_decref(doc);
    return s;
}

/* A deterministic walk of integer prices (so thresholds tie), NaN on a few days. */
static double value_on(int series, int day)
{
    if ((day * 7 + series * 3) % 41 == 0)
        return NAN;
    if ((day + series) % 97 == 0)
        return INFINITY;
    return 30 + (double)((day * (series + 3) + series * 11) % 31);
}

struct columns {
    double **data;
    int n;
};

static void columns_fill(struct columns *c, int n_series)
{
    c->n = n_series;
    c->data = calloc((size_t)n_series, sizeof *c->data);
    for (int id = 0; id < n_series; id++) {
        c->data[id] = malloc(N_DAYS * sizeof(double));
        for (int d = 0; d < N_DAYS; d++)
            c->data[id][d] = value_on(id, d);
    }
}

static void columns_free(struct columns *c)
{
    for (int id = 0; id < c->n; id++)
        free(c->data[id]);
    free(c->data);
}

static void assert_same_alloc(const struct lv_alloc *want, const struct lv_eval_report *want_r,
                              const struct lv_alloc *got, const struct lv_eval_report *got_r)
{
    assert_int_equal(got->n, want->n);
    for (int i = 0; i < want->n; i++) {
        assert_int_equal(got->ticker[i], want->ticker[i]);
        assert_memory_equal(&got->weight[i], &want->weight[i], sizeof(double)); /* bit-exact */
    }
    assert_int_equal(got_r->n_missing, want_r->n_missing);
    assert_int_equal(got_r->first_missing, want_r->first_missing);
}

/* Every root (the tree and each node alone) on every day: lv_evaluate on a copied row, and
 * lv_evaluate_day in place, without and then with the gate table. */
static void column_evaluation_matches_lv_evaluate(void **state)
{
    (void)state;
    struct lv_strategy *s = compile(MIXED);
    int n_series = lv_strategy_n_series(s);
    struct columns cols;
    columns_fill(&cols, n_series);
    struct lv_evaluator *plain = lv_evaluator_new(s), *fast = lv_evaluator_new(s);
    struct lv_alloc want, got;
    assert_int_equal(lv_alloc_init(&want, s), 0);
    assert_int_equal(lv_alloc_init(&got, s), 0);
    double *row = malloc((size_t)n_series * sizeof *row);
    int missing_days = 0, gates_then = 0;
    for (int tabled = 0; tabled < 2; tabled++) {
        if (tabled)
            assert_int_equal(
                lv_evaluator_prepare_gates(fast, (const double *const *)cols.data, 1, N_DAYS), 0);
        for (int root = LV_ROOT; root < lv_strategy_n_nodes(s); root++) {
            for (int d = 0; d < N_DAYS; d++) {
                for (int id = 0; id < n_series; id++)
                    row[id] = cols.data[id][d];
                struct lv_eval_report want_r, got_r;
                lv_evaluate(plain, root, row, &want, &want_r);
                lv_evaluate_day(fast, root, (const double *const *)cols.data, (size_t)d, &got,
                                &got_r);
                assert_same_alloc(&want, &want_r, &got, &got_r);
                missing_days += root == LV_ROOT && want_r.n_missing > 0;
                gates_then += root == LV_ROOT && want.n > 1;
            }
        }
    }
    /* The data exercises both missing inputs and real allocations. */
    assert_true(missing_days > 10);
    assert_true(gates_then > 10);
    free(row);
    lv_alloc_free(&want);
    lv_alloc_free(&got);
    lv_evaluator_free(plain);
    lv_evaluator_free(fast);
    columns_free(&cols);
    lv_strategy_free(s);
}

/* Gate subtrees below a scale (walked with base 1, then scaled) and beside it (kept with their
 * fixed base), with gates that hold for ten days at a time: the cached walks. */
static const char *const SCALED_GATES =
    "[{\"type\":\"scale\",\"config\":{\"ticker\":\"S\",\"indicator\":\"CURRENT_PRICE\","
    "  \"rangeMin\":35,\"rangeMax\":55},"
    " \"fromChildren\":[{\"type\":\"gate\",\"conditionMode\":\"if\",\"conditions\":["
    "   {\"ticker\":\"A\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"gt\","
    "    \"compareTo\":\"threshold\",\"threshold\":44}],"
    "  \"thenChildren\":[{\"type\":\"weight\",\"children\":[{\"type\":\"ticker\",\"ticker\":\"A\"},"
    "    {\"type\":\"ticker\",\"ticker\":\"B\"},{\"type\":\"ticker\",\"ticker\":\"C\"}]}],"
    "  \"elseChildren\":[{\"type\":\"gate\",\"conditionMode\":\"if_any\",\"conditions\":["
    "   {\"ticker\":\"B\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"lt\","
    "    \"compareTo\":\"threshold\",\"threshold\":40},"
    "   {\"ticker\":\"C\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"gte\","
    "    \"compareTo\":\"indicator\",\"rightTicker\":\"A\",\"rightIndicator\":\"CURRENT_PRICE\"}],"
    "   \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"B\",\"weight\":3},"
    "    {\"type\":\"ticker\",\"ticker\":\"C\",\"weight\":7}],"
    "   \"elseChildren\":[]}]}],"
    " \"toChildren\":[{\"type\":\"weight\",\"weightMode\":\"defined\",\"children\":["
    "   {\"type\":\"gate\",\"weight\":2,\"conditionMode\":\"if_none\",\"conditions\":["
    "    {\"ticker\":\"C\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"lte\","
    "     \"compareTo\":\"threshold\",\"threshold\":47}],"
    "    \"thenChildren\":[{\"type\":\"ticker\",\"ticker\":\"A\"}],"
    "    \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"C\"}]},"
    "   {\"type\":\"ticker\",\"ticker\":\"B\",\"weight\":1}]}]},"
    " {\"type\":\"gate\",\"conditionMode\":\"if_all\",\"conditions\":["
    "   {\"ticker\":\"B\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"gt\","
    "    \"compareTo\":\"threshold\",\"threshold\":38},"
    "   {\"ticker\":\"A\",\"indicator\":\"CURRENT_PRICE\",\"operator\":\"neq\","
    "    \"compareTo\":\"threshold\",\"threshold\":50}],"
    "  \"thenChildren\":[{\"type\":\"weight\",\"children\":[{\"type\":\"ticker\",\"ticker\":\"C\"},"
    "    {\"type\":\"ticker\",\"ticker\":\"B\"}]}],"
    "  \"elseChildren\":[{\"type\":\"ticker\",\"ticker\":\"A\"}]}]";

/* Values that move every day for series 0 (the scale's, interned first) and every ten days
 * for the others, missing on a few days. */
static double slow_value_on(int series, int day)
{
    if ((day * 7 + series * 3) % 61 == 0)
        return NAN;
    int step = series == 0 ? day : day / 10;
    return 30 + (double)((step * (series + 3) + series * 11) % 31);
}

/* The days of one pass, in the order a test walks them: forward daily, forward every fifth
 * day (a weekly rebalance), then backward (a later pass starting earlier). */
static int day_of_pass(int pass, int i)
{
    return pass == 0 ? i : pass == 1 ? (i * 5) % N_DAYS : N_DAYS - 1 - i;
}

/* With the gate table, kept walks are replayed only while their gates keep their outcomes:
 * every root on every day, in several orders, gives lv_evaluate's allocation bit for bit. */
static void cached_walks_match_plain_walks(void **state)
{
    (void)state;
    struct lv_strategy *s = compile(SCALED_GATES);
    int n_series = lv_strategy_n_series(s);
    struct columns cols;
    cols.n = n_series;
    cols.data = calloc((size_t)n_series, sizeof *cols.data);
    for (int id = 0; id < n_series; id++) {
        cols.data[id] = malloc(N_DAYS * sizeof(double));
        for (int d = 0; d < N_DAYS; d++)
            cols.data[id][d] = slow_value_on(id, d);
    }
    struct lv_evaluator *plain = lv_evaluator_new(s), *fast = lv_evaluator_new(s);
    struct lv_alloc want, got;
    assert_int_equal(lv_alloc_init(&want, s), 0);
    assert_int_equal(lv_alloc_init(&got, s), 0);
    assert_int_equal(lv_evaluator_prepare_gates(fast, (const double *const *)cols.data, 0, N_DAYS),
                     0);
    double *row = malloc((size_t)n_series * sizeof *row);
    int changes = 0;
    for (int pass = 0; pass < 3; pass++) {
        for (int root = LV_ROOT; root < lv_strategy_n_nodes(s); root++) {
            double last_first_weight = -1;
            for (int i = 0; i < N_DAYS; i++) {
                int d = day_of_pass(pass, i);
                for (int id = 0; id < n_series; id++)
                    row[id] = cols.data[id][d];
                struct lv_eval_report want_r, got_r;
                lv_evaluate(plain, root, row, &want, &want_r);
                lv_evaluate_day(fast, root, (const double *const *)cols.data, (size_t)d, &got,
                                &got_r);
                assert_same_alloc(&want, &want_r, &got, &got_r);
                if (root == LV_ROOT && want.n > 0) {
                    changes += want.weight[0] != last_first_weight;
                    last_first_weight = want.weight[0];
                }
            }
        }
    }
    assert_true(changes > 100); /* the scale moves the allocation nearly every day */
    free(row);
    lv_alloc_free(&want);
    lv_alloc_free(&got);
    lv_evaluator_free(plain);
    lv_evaluator_free(fast);
    columns_free(&cols);
    lv_strategy_free(s);
}

/* An evaluator bound to one strategy, then another, evaluates like a new one, and its gate
 * table is dropped by the re-binding (the columns may mean other series now). */
static void rebinding_behaves_like_a_new_evaluator(void **state)
{
    (void)state;
    struct lv_strategy *mixed = compile(MIXED), *simple = compile(SIMPLE);
    struct columns cols;
    columns_fill(&cols, lv_strategy_n_series(mixed));
    struct lv_evaluator *reused = lv_evaluator_new(mixed);
    assert_int_equal(
        lv_evaluator_prepare_gates(reused, (const double *const *)cols.data, 0, N_DAYS), 0);
    struct lv_alloc alloc;
    assert_int_equal(lv_alloc_init(&alloc, mixed), 0);
    struct lv_eval_report report;

    assert_int_equal(lv_evaluator_bind(reused, simple), 0);
    lv_evaluate_day(reused, LV_ROOT, (const double *const *)cols.data, 5, &alloc, &report);
    assert_int_equal(alloc.n, 1);
    assert_int_equal(alloc.ticker[0], 0);
    assert_true(alloc.weight[0] == 1.0);

    assert_int_equal(lv_evaluator_bind(reused, mixed), 0);
    struct lv_evaluator *fresh = lv_evaluator_new(mixed);
    struct lv_alloc want;
    assert_int_equal(lv_alloc_init(&want, mixed), 0);
    for (int d = 0; d < N_DAYS; d++) {
        struct lv_eval_report want_r;
        lv_evaluate_day(fresh, LV_ROOT, (const double *const *)cols.data, (size_t)d, &want,
                        &want_r);
        lv_evaluate_day(reused, LV_ROOT, (const double *const *)cols.data, (size_t)d, &alloc,
                        &report);
        assert_same_alloc(&want, &want_r, &alloc, &report);
    }
    lv_alloc_free(&want);
    lv_alloc_free(&alloc);
    lv_evaluator_free(fresh);
    lv_evaluator_free(reused);
    columns_free(&cols);
    lv_strategy_free(mixed);
    lv_strategy_free(simple);
}

/* ---- Backtests ------------------------------------------------------------------------------ */

static lv_day day_at(int i)
{
    return lv_day_from_ymd(2020, 1, 1) + i;
}

/* SPY every day; A, B, C with a few missing bars each. */
static struct lv_market *market_new(void)
{
    struct lv_market_builder *b = lv_market_builder_new();
    const char *symbols[] = {"SPY", "A", "B", "C"};
    for (int s = 0; s < 4; s++) {
        lv_day days[N_DAYS];
        double close[N_DAYS], volume[N_DAYS];
        size_t n = 0;
        for (int i = 0; i < N_DAYS; i++) {
            if (s > 0 && i > 10 && (i * (s + 2)) % 53 == 0)
                continue; /* a data gap */
            days[n] = day_at(i);
            close[n] = 40 + 15 * sin(i / (7.0 + s)) + s + (i % 5);
            volume[n++] = 1000 + i;
        }
        struct lv_error err;
        assert_int_equal(
            lv_market_builder_add(b, symbols[s], days, close, close, close, close, volume, n, &err),
            0);
    }
    struct lv_error err;
    return lv_market_finalize(b, &err);
}

/* Entry j of the cached returns is the carried close of day j over that of day j − 1. */
static void cached_returns_carry_the_last_close(void **state)
{
    (void)state;
    struct lv_market *market = market_new();
    struct lv_series_cache *cache = lv_series_cache_new(market);
    int spy = lv_market_find(market, "SPY"), c = lv_market_find(market, "C");
    const struct lv_symbol_bars *grid = lv_market_bars(market, spy);
    const struct lv_symbol_bars *bars = lv_market_bars(market, c);
    const double *returns = lv_series_cache_returns(cache, c, spy);
    assert_non_null(returns);
    assert_ptr_equal(lv_series_cache_returns(cache, c, spy), returns); /* computed once */
    assert_true(returns[0] == 0);
    int gaps = 0;
    for (size_t j = 1; j < grid->n; j++) {
        long before = lv_bars_at_or_before(bars, grid->day[j - 1]);
        long after = lv_bars_at_or_before(bars, grid->day[j]);
        double expected = bars->close[after] / bars->close[before] - 1;
        assert_memory_equal(&returns[j], &expected, sizeof expected);
        gaps += lv_bars_index_of(bars, grid->day[j]) < 0;
        if (lv_bars_index_of(bars, grid->day[j]) < 0)
            assert_true(returns[j] == 0);
    }
    assert_true(gaps > 0);
    lv_series_cache_free(cache);
    lv_market_free(market);
}

static void assert_same_result(const struct lv_backtest_result *want,
                               const struct lv_backtest_result *got)
{
    assert_int_equal(got->n_days, want->n_days);
    assert_memory_equal(got->equity, want->equity, want->n_days * sizeof(double));
    assert_int_equal(got->n_positions, want->n_positions);
    for (size_t i = 0; i < want->n_positions; i++) {
        assert_int_equal(got->positions[i].day, want->positions[i].day);
        assert_string_equal(got->positions[i].ticker, want->positions[i].ticker);
        assert_memory_equal(&got->positions[i].weight, &want->positions[i].weight, sizeof(double));
    }
    assert_int_equal(got->n_warnings, want->n_warnings);
    for (int i = 0; i < want->n_warnings; i++)
        assert_string_equal(got->warnings[i], want->warnings[i]);
}

/* One workspace running two strategies in turn (as a batch thread does) gives exactly the
 * results of fresh workspaces, whatever the rebalancing. */
static void reused_workspace_matches_fresh_ones(void **state)
{
    (void)state;
    struct lv_market *market = market_new();
    struct lv_series_cache *cache = lv_series_cache_new(market);
    struct lv_strategy *strategies[] = {compile(MIXED), compile(SIMPLE)};
    struct lv_backtest_workspace *reused = lv_backtest_workspace_new();
    struct lv_backtest_result reused_result = {0};
    const char *schedules[] = {"daily", "weekly", "threshold:0.05"};
    struct lv_error err;
    for (int round = 0; round < 2; round++) {
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < 2; i++) {
                struct lv_backtest_options options;
                lv_backtest_options_init(&options);
                options.cost_bps = 5;
                assert_int_equal(
                    lv_rebalance_parse(schedules[r], &options.rebalance, &options.threshold, &err),
                    0);
                struct lv_backtest_workspace *fresh = lv_backtest_workspace_new();
                struct lv_backtest_result want = {0};
                assert_int_equal(
                    lv_backtest_run(strategies[i], market, cache, &options, fresh, &want, &err), 0);
                assert_int_equal(lv_backtest_run(strategies[i], market, cache, &options, reused,
                                                 &reused_result, &err),
                                 0);
                assert_same_result(&want, &reused_result);
                assert_true(want.n_positions > 0);
                lv_backtest_result_free(&want);
                lv_backtest_workspace_free(fresh);
            }
        }
    }
    lv_backtest_result_free(&reused_result);
    lv_backtest_workspace_free(reused);
    lv_strategy_free(strategies[0]);
    lv_strategy_free(strategies[1]);
    lv_series_cache_free(cache);
    lv_market_free(market);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(column_evaluation_matches_lv_evaluate),
        cmocka_unit_test(cached_walks_match_plain_walks),
        cmocka_unit_test(rebinding_behaves_like_a_new_evaluator),
        cmocka_unit_test(cached_returns_carry_the_last_close),
        cmocka_unit_test(reused_workspace_matches_fresh_ones),
    };
    return cmocka_run_group_tests_name("backtest_fast", tests, NULL, NULL);
}
