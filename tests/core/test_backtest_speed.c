/* test_backtest_speed.c — the shortcuts taken for speed change no result: a metrics-only run
 * (batch rows) gives the metrics of a full run bit for bit, and the gate-change days that let
 * a backtest keep an allocation are exactly the days on which a gate's outcome moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backtest.h"
#include "core/bars_csv.h"
#include "csv_table.h"
#include "sample_data.h"

/* data/strategies/NAME.json, compiled. */
static struct lv_strategy *sample_strategy(const char *name)
{
    char relative[256], path[1024];
    snprintf(relative, sizeof relative, "data/strategies/%s.json", name);
    csv_shared_path(relative, path, sizeof path);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    struct lv_strategy *s = NULL;
    struct lv_problems problems = {0};
    assert_int_equal(lv_strategy_compile(doc, &s, &problems, NULL), 0);
    lv_problems_free(&problems);
    json_decref(doc);
    return s;
}

/* ---- Metrics-only runs ---------------------------------------------------------------------- */

static void assert_metrics_only_same(const char *name, enum lv_rebalance rebalance, double cost_bps)
{
    struct lv_market *market = sample_etf_market();
    struct lv_series_cache *cache = lv_series_cache_new(market);
    struct lv_strategy *strategy = sample_strategy(name);
    struct lv_backtest_options options;
    lv_backtest_options_init(&options);
    options.rebalance = rebalance;
    options.cost_bps = cost_bps;
    struct lv_backtest_workspace *full_ws = lv_backtest_workspace_new(),
                                 *lean_ws = lv_backtest_workspace_new();
    lv_backtest_workspace_metrics_only(lean_ws, true);
    struct lv_backtest_result full = {0}, lean = {0};
    struct lv_error err;
    assert_int_equal(lv_backtest_run(strategy, market, cache, &options, full_ws, &full, &err), 0);
    assert_int_equal(lv_backtest_run(strategy, market, cache, &options, lean_ws, &lean, &err), 0);

    assert_memory_equal(&full.metrics, &lean.metrics, sizeof full.metrics);
    assert_true(full.n_positions > 0);
    assert_int_equal(lean.n_positions, 0);
    assert_int_equal(lean.n_warnings, 0);
    for (int m = 0; m < LV_METRIC_COUNT; m++)
        assert_true(isnan(lean.benchmark_metrics.value[m]));
    assert_int_equal(full.window_start, lean.window_start);
    assert_int_equal(full.window_end, lean.window_end);

    /* The flag belongs to the workspace: turned off, the same workspace runs in full again. */
    lv_backtest_workspace_metrics_only(lean_ws, false);
    assert_int_equal(lv_backtest_run(strategy, market, cache, &options, lean_ws, &lean, &err), 0);
    assert_int_equal(lean.n_positions, full.n_positions);
    assert_memory_equal(&full.benchmark_metrics, &lean.benchmark_metrics,
                        sizeof full.benchmark_metrics);

    lv_backtest_result_free(&full);
    lv_backtest_result_free(&lean);
    lv_backtest_workspace_free(full_ws);
    lv_backtest_workspace_free(lean_ws);
    lv_strategy_free(strategy);
    lv_series_cache_free(cache);
    lv_market_free(market);
}

static void test_metrics_only_complex(void **state)
{
    (void)state;
    assert_metrics_only_same("complex", LV_REBALANCE_DAILY, 0);
    assert_metrics_only_same("complex", LV_REBALANCE_WEEKLY, 5);
}

static void test_metrics_only_small(void **state)
{
    (void)state;
    assert_metrics_only_same("sma-switch", LV_REBALANCE_DAILY, 0);
    assert_metrics_only_same("momentum-rotation", LV_REBALANCE_MONTHLY, 10);
}

/* ---- Gate changes ------------------------------------------------------------------------- */

#define N_DAYS 8

/* sma-switch (one gate: SPY price > SMA(200)) on hand-made columns: price against 2. */
static void test_gate_changes_follow_outcomes(void **state)
{
    (void)state;
    struct lv_strategy *s = sample_strategy("sma-switch");
    assert_int_equal(lv_strategy_n_series(s), 2);
    static const double price[N_DAYS] = {1, 1, 3, 3, NAN, 3, 1, 1};
    static const double level[N_DAYS] = {2, 2, 2, 2, 2, 2, 2, 2};
    const double *cols[2];
    for (int id = 0; id < 2; id++)
        cols[id] = lv_strategy_series(s, id)->ind == LV_IND_CURRENT_PRICE ? price : level;
    struct lv_evaluator *ev = lv_evaluator_new(s);
    assert_non_null(ev);
    unsigned char changed[N_DAYS];

    /* Without a table nothing is known. */
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, cols, 0, N_DAYS, changed), -1);

    assert_int_equal(lv_evaluator_prepare_gates(ev, cols, 0, N_DAYS), 0);
    /* else, else, then, then, missing, then, else, else */
    static const unsigned char expected[N_DAYS] = {1, 0, 1, 0, 1, 1, 1, 0};
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, cols, 0, N_DAYS, changed), 0);
    assert_memory_equal(changed, expected, N_DAYS);
    assert_int_equal(lv_evaluator_gate_changes(ev, 0, cols, 0, N_DAYS, changed), 0);
    assert_memory_equal(changed, expected, N_DAYS);

    /* A later range starts with a change, whatever the day before it. */
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, cols, 3, 7, changed), 0);
    static const unsigned char later[4] = {1, 1, 1, 1};
    assert_memory_equal(changed, later, 4);
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, cols, 1, 4, changed), 0);
    static const unsigned char early[3] = {1, 1, 0};
    assert_memory_equal(changed, early, 3);

    /* Other columns, or days past the table: unknown. */
    const double *other[2] = {cols[1], cols[0]};
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, other, 0, N_DAYS, changed), -1);
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, cols, 0, N_DAYS + 1, changed), -1);

    lv_evaluator_free(ev);
    lv_strategy_free(s);
}

/* A sort reads scores, not gates: its walk can change any day. */
static void test_gate_changes_refuse_sorts(void **state)
{
    (void)state;
    struct lv_strategy *s = sample_strategy("momentum-rotation");
    int n = lv_strategy_n_series(s);
    double *values = calloc((size_t)N_DAYS, sizeof *values);
    const double **cols = calloc((size_t)n, sizeof *cols);
    assert_non_null(values);
    assert_non_null(cols);
    for (int id = 0; id < n; id++)
        cols[id] = values;
    struct lv_evaluator *ev = lv_evaluator_new(s);
    assert_non_null(ev);
    assert_int_equal(lv_evaluator_prepare_gates(ev, cols, 0, N_DAYS), 0);
    unsigned char changed[N_DAYS];
    assert_int_equal(lv_evaluator_gate_changes(ev, LV_ROOT, cols, 0, N_DAYS, changed), -1);
    lv_evaluator_free(ev);
    free(cols);
    free(values);
    lv_strategy_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_only_complex),
        cmocka_unit_test(test_metrics_only_small),
        cmocka_unit_test(test_gate_changes_follow_outcomes),
        cmocka_unit_test(test_gate_changes_refuse_sorts),
    };
    return cmocka_run_group_tests_name("backtest_speed", tests, NULL, NULL);
}
