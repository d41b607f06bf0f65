/* test_strategy_compile.c — the compiled form: deduplicated series with canonical parameters,
 * held tickers, sorts deepest first, subtree queries, single-node evaluation, big trees and
 * the real sample documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv_table.h"
#include "test_strategy_support.h"

#define RSI14_GT50 C("SPY", "RSI", "14", "gt", "50")

/* A condition comparing `indicator` with `params` (JSON text) on SPY to 0. */
#define PC(ind, params)                                                                            \
    "{'ticker':'SPY','indicator':'" ind "','params':" params ",'operator':'gt',"                   \
    "'threshold':'0'}"

/* clang-format off */
static const char keyed_conditions[] =
    /* one series: RSI 14 written four ways, the ticker in any case (BUG-3, BUG-4) */
    PC("RSI", "{}") ","
    PC("RSI", "{'period':'14'}") ","
    PC("rsi", "{'period':14}") ","
    "{'ticker':'spy','indicator':'RSI','period':'14','operator':'lt','threshold':'1'},"
    /* BUG-5: matype and annualize are part of the key */
    PC("BBANDS_UPPER", "{'matype':'0'}") ","
    PC("BBANDS_UPPER", "{'matype':'1'}") ","
    PC("VOLATILITY", "{}") ","
    PC("VOLATILITY", "{'annualize':'false'}") ","
    /* aliases name the same indicator */
    PC("CURRENT_PRICE", "{}") ","
    PC("PRICE", "{}");
/* clang-format on */

static void series_are_keyed_by_every_canonical_parameter(void **state)
{
    (void)state;
    char tree[4096];
    snprintf(tree, sizeof tree, "[" G("if_all", "%s", T("X", 100), T("Y", 100), 100) "]",
             keyed_conditions);
    struct run run;
    run_open(&run, tree);
    assert_int_equal(lv_strategy_n_series(run.s), 6);
    int rsi = series_id(run.s, "SPY RSI");
    assert_int_equal(series_id(run.s, "SPY RSI period=14"), rsi);
    int bb_sma = series_id(run.s, "SPY BBANDS_UPPER");
    int bb_ema = series_id(run.s, "SPY BBANDS_UPPER matype=1");
    int vol = series_id(run.s, "SPY VOLATILITY annualize=1");
    int vol_raw = series_id(run.s, "SPY VOLATILITY annualize=0");
    assert_true(bb_sma != bb_ema && vol != vol_raw);
    const struct lv_series_key *key = lv_strategy_series(run.s, bb_sma);
    assert_int_equal(key->kind, LV_SERIES_INDICATOR);
    assert_string_equal(key->ticker, "SPY");
    assert_true(key->params.v[0] == 20 && key->params.v[1] == 2 && key->params.v[2] == 2);
    series_id(run.s, "SPY CURRENT_PRICE");
    assert_null(lv_strategy_series(run.s, 6));
    run_close(&run);
}

static void held_tickers_in_first_appearance_order(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" G("if", C("QQQ", "RSI", "14", "gt", "50"), T("tlt", 100), T("SPY", 100),
                         50) "," T("TLT", 50) "]");
    assert_int_equal(lv_strategy_n_tickers(run.s), 2); /* QQQ is read, never held */
    assert_string_equal(lv_strategy_ticker(run.s, 0), "TLT");
    assert_string_equal(lv_strategy_ticker(run.s, 1), "SPY");
    assert_null(lv_strategy_ticker(run.s, 2));
    assert_int_equal(lv_strategy_n_nodes(run.s), 4);
    assert_int_equal(lv_strategy_node_ticker(run.s, 0), -1);
    assert_int_equal(lv_strategy_node_ticker(run.s, 1), 0);
    assert_int_equal(lv_strategy_node_ticker(run.s, 2), 1);
    assert_int_equal(lv_strategy_node_ticker(run.s, 3), 0);
    assert_int_equal(lv_strategy_node_ticker(run.s, 4), -1);
    run_close(&run);
}

/* outer(mid(inner(A, B), C), D), then other(E, F): nodes in preorder 0..11. */
#define NESTED_SORTS                                                                               \
    "[" S("top", 1,                                                                                \
          S("top", 1, S("bottom", 1, T("A", 100) "," T("B", 100), 100) "," T("C", 100),            \
            100) "," T("D", 100),                                                                  \
          50) "," S("top", 1, T("E", 100) "," T("F", 100), 50) "]"

static void sorts_are_ordered_deepest_first(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, NESTED_SORTS);
    assert_int_equal(lv_strategy_n_sorts(run.s), 4);
    static const struct {
        int node, depth, n_children;
        int child_nodes[2];
    } expected[] = {
        {2, 2, 2, {3, 4}}, /* inner */
        {1, 1, 2, {2, 5}}, /* mid */
        {0, 0, 2, {1, 6}}, /* outer */
        {7, 0, 2, {8, 9}}, /* other: same depth as outer, after it in the document */
    };
    for (int i = 0; i < 4; i++) {
        const struct lv_sort_info *sort = lv_strategy_sort(run.s, i);
        assert_int_equal(sort->node, expected[i].node);
        assert_int_equal(sort->depth, expected[i].depth);
        assert_int_equal(sort->n_children, expected[i].n_children);
        assert_int_equal(sort->ind, LV_IND_CUMULATIVE_RETURN);
        for (int k = 0; k < sort->n_children; k++) {
            assert_int_equal(sort->child_nodes[k], expected[i].child_nodes[k]);
            score_id(run.s, i, k); /* checks the key names this sort and child */
        }
    }
    assert_null(lv_strategy_sort(run.s, 4));

    /* Scores: inner picks the bottom (B), mid picks the inner sort, outer picks D, other E. */
    run_set_score(&run, 0, 0, 0.2);
    run_set_score(&run, 0, 1, 0.1);
    run_set_score(&run, 1, 0, 0.5);
    run_set_score(&run, 1, 1, 0.4);
    run_set_score(&run, 2, 0, 0.1);
    run_set_score(&run, 2, 1, 0.3);
    run_set_score(&run, 3, 0, 0.9);
    run_set_score(&run, 3, 1, 0.8);
    run_eval(&run);
    expect_alloc(&run, "D 50, E 50");
    run_set_score(&run, 2, 1, -1);
    run_eval(&run);
    expect_alloc(&run, "B 50, E 50");
    run_close(&run);
}

static void expect_ids(const int *ids, int n, const int *expected, int n_expected)
{
    assert_int_equal(n, n_expected);
    for (int i = 0; i < n; i++)
        assert_int_equal(ids[i], expected[i]);
}

static void subtree_queries(void **state)
{
    (void)state;
    struct run run;
    /* Nodes: 0 gate, 1 scale, 2 A, 3 B, 4 C, 5 A, 6 sort, 7 D, 8 E. */
    run_open(&run,
             "[" G("if", RSI14_GT50,
                   SC("QQQ", "RSI", "10", "0", "100", T("A", 100), T("B", 100), 100), T("C", 100),
                   40) "," T("A", 30) "," S("top", 1, T("D", 100) "," T("E", 100), 30) "]");
    int spy = series_id(run.s, "SPY RSI period=14"), qqq = series_id(run.s, "QQQ RSI period=10");
    int d_score = score_id(run.s, 0, 0), e_score = score_id(run.s, 0, 1);
    int ids[8];
    expect_ids(ids, lv_strategy_subtree_series(run.s, 0, ids, 8), (int[]){spy, qqq}, 2);
    expect_ids(ids, lv_strategy_subtree_series(run.s, 1, ids, 8), (int[]){qqq}, 1);
    expect_ids(ids, lv_strategy_subtree_series(run.s, 2, ids, 8), NULL, 0);
    expect_ids(ids, lv_strategy_subtree_series(run.s, 6, ids, 8), (int[]){d_score, e_score}, 2);
    assert_int_equal(lv_strategy_subtree_series(run.s, LV_ROOT, ids, 8), 4);
    assert_int_equal(lv_strategy_subtree_series(run.s, 0, ids, 1), 2); /* counts past cap */
    assert_int_equal(ids[0], spy);
    assert_int_equal(lv_strategy_subtree_series(run.s, 99, ids, 8), 0);

    int a = lv_strategy_node_ticker(run.s, 2), b = lv_strategy_node_ticker(run.s, 3);
    int c = lv_strategy_node_ticker(run.s, 4), d = lv_strategy_node_ticker(run.s, 7);
    int e = lv_strategy_node_ticker(run.s, 8);
    expect_ids(ids, lv_strategy_subtree_tickers(run.s, 0, ids, 8), (int[]){a, b, c}, 3);
    expect_ids(ids, lv_strategy_subtree_tickers(run.s, 5, ids, 8), (int[]){a}, 1);
    expect_ids(ids, lv_strategy_subtree_tickers(run.s, 6, ids, 8), (int[]){d, e}, 2);
    expect_ids(ids, lv_strategy_subtree_tickers(run.s, LV_ROOT, ids, 8), (int[]){a, b, c, d, e}, 5);
    assert_int_equal(lv_strategy_subtree_tickers(run.s, -7, ids, 8), 0);

    /* One node alone behaves as the only top-level element with weight 100. */
    run_set(&run, "SPY RSI period=14", 65);
    run_set(&run, "QQQ RSI period=10", 25);
    run_eval_node(&run, 1);
    expect_alloc(&run, "A 75, B 25");
    run_eval_node(&run, 0);
    expect_alloc(&run, "A 75, B 25");
    run_eval_node(&run, 7);
    expect_alloc(&run, "D 100");
    run_eval_node(&run, 6); /* scores missing: the sort fails, nothing is held */
    expect_alloc(&run, "");
    assert_int_equal(run.report.n_missing, 2);
    run_set(&run, "SPY RSI period=14", 35);
    run_eval(&run); /* 40 % to C, 30 % A, 30 % failed sort -> redistributed */
    expect_alloc(&run, "C 57.142857, A 42.857143");
    run_close(&run);
}

/* [W(equal, n × G(if, [T_i RSI 14 > 50], [A_i], [B_i]))], built as JSON values. */
static json_t *many_gates(int n)
{
    json_t *gates = json_array();
    for (int i = 0; i < n; i++) {
        char signal[16], then_ticker[16], else_ticker[16];
        snprintf(signal, sizeof signal, "S%d", i);
        snprintf(then_ticker, sizeof then_ticker, "A%d", i);
        snprintf(else_ticker, sizeof else_ticker, "B%d", i);
        json_array_append_new(
            gates, json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:s}, s:s, s:s}], s:[{s:s, s:s}],"
                             " s:[{s:s, s:s}]}",
                             "type", "gate", "conditionMode", "if", "conditions", "ticker", signal,
                             "indicator", "RSI", "params", "period", "14", "operator", "gt",
                             "threshold", "50", "thenChildren", "type", "ticker", "ticker",
                             then_ticker, "elseChildren", "type", "ticker", "ticker", else_ticker));
    }
    return json_pack("{s:[{s:s, s:s, s:o}]}", "elements", "type", "weight", "weightMode", "equal",
                     "children", gates);
}

static void ten_thousand_gates(void **state)
{
    (void)state;
    enum { N = 10000 };
    json_t *doc = many_gates(N);
    struct lv_problems problems = {0};
    struct lv_strategy *s = NULL;
    assert_int_equal(lv_strategy_compile(doc, &s, &problems, NULL), 0);
    json_decref(doc); /* evaluation never looks at the JSON */
    assert_int_equal(lv_strategy_n_nodes(s), 1 + 3 * N);
    assert_int_equal(lv_strategy_n_series(s), N);
    assert_int_equal(lv_strategy_n_tickers(s), 2 * N);

    struct lv_evaluator *ev = lv_evaluator_new(s);
    struct lv_alloc alloc;
    assert_non_null(ev);
    assert_int_equal(lv_alloc_init(&alloc, s), 0);
    double *values = malloc(N * sizeof *values);
    assert_non_null(values);
    for (int i = 0; i < N; i++) /* series ids follow the document: S0, S1, ... */
        values[i] = i % 3 == 0 ? 70 : i % 3 == 1 ? 30 : NAN;
    struct lv_eval_report report;
    lv_evaluate(ev, LV_ROOT, values, &alloc, &report);
    assert_int_equal(report.n_missing, N / 3);
    assert_int_equal(report.first_missing, 2);
    int expected_n = N - N / 3; /* every third gate fails; its share is spread equally */
    assert_int_equal(alloc.n, expected_n);
    double total = 0;
    for (int k = 0; k < alloc.n; k++) {
        int gate = k + k / 2; /* gates 0, 1, 3, 4, 6, ... */
        char name[16];
        snprintf(name, sizeof name, "%c%d", gate % 3 == 0 ? 'A' : 'B', gate);
        assert_string_equal(lv_strategy_ticker(s, alloc.ticker[k]), name);
        assert_true(fabs(alloc.weight[k] - 1.0 / expected_n) < 1e-12);
        total += alloc.weight[k];
    }
    assert_true(fabs(total - 1) < 1e-9);
    free(values);
    lv_alloc_free(&alloc);
    lv_evaluator_free(ev);
    lv_strategy_free(s);
}

static json_t *load_sample(const char *name)
{
    char relative[256], path[1024];
    snprintf(relative, sizeof relative, "data/strategies/%s", name);
    json_error_t error;
    return json_load_file(csv_shared_path(relative, path, sizeof path), 0, &error);
}

static int count_kind(const struct lv_strategy *s, enum lv_series_kind kind)
{
    int n = 0;
    for (int i = 0; i < lv_strategy_n_series(s); i++)
        n += lv_strategy_series(s, i)->kind == kind;
    return n;
}

/* complex.json: 628 elements, 147 gates, 3 nested sorts (12 children), 18 scales. */
static void complex_sample(void **state)
{
    (void)state;
    json_t *doc = load_sample("complex.json");
    if (doc == NULL)
        skip();
    struct lv_problems problems = {0}, warnings = {0};
    struct lv_strategy *s = NULL;
    assert_int_equal(lv_strategy_compile(doc, &s, &problems, &warnings), 0);
    json_decref(doc);
    assert_string_equal(lv_strategy_name(s), "Complex sample");
    assert_int_equal(lv_strategy_n_nodes(s), 628);
    assert_int_equal(lv_strategy_n_sorts(s), 3);
    assert_int_equal(count_kind(s, LV_SERIES_SORT_SCORE), 12);
    for (int i = 0; i < 3; i++) /* nested one inside the next: deepest first */
        assert_int_equal(lv_strategy_sort(s, i)->depth, 2 - i);
    assert_int_equal(lv_strategy_sort(s, 0)->ind, LV_IND_RETURN);
    assert_int_equal(lv_strategy_sort(s, 2)->ind, LV_IND_VOLATILITY);
    assert_true(lv_strategy_n_tickers(s) > 0 && lv_strategy_n_tickers(s) <= 21);

    /* A day where every input exists: positions sum to 1 and nothing is missing. */
    int n_series = lv_strategy_n_series(s);
    double *values = malloc((size_t)n_series * sizeof *values);
    assert_non_null(values);
    for (int i = 0; i < n_series; i++)
        values[i] = sin(i * 12.9898) * 60; /* deterministic, varied signs */
    struct lv_evaluator *ev = lv_evaluator_new(s);
    struct lv_alloc alloc;
    assert_int_equal(lv_alloc_init(&alloc, s), 0);
    struct lv_eval_report report;
    lv_evaluate(ev, LV_ROOT, values, &alloc, &report);
    assert_int_equal(report.n_missing, 0);
    assert_true(alloc.n > 0);
    double total = 0;
    for (int k = 0; k < alloc.n; k++)
        total += alloc.weight[k];
    assert_true(fabs(total - 1) < 1e-9);

    /* Time it (printed, not asserted: machines differ). */
    enum { ROUNDS = 20000 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < ROUNDS; r++) {
        values[r % n_series] = sin(r * 78.233) * 60;
        lv_evaluate(ev, LV_ROOT, values, &alloc, &report);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / ROUNDS;
    print_message("# complex.json: %.3f us per evaluation (%d series)\n", us, n_series);

    free(values);
    lv_alloc_free(&alloc);
    lv_evaluator_free(ev);
    lv_strategy_free(s);
    lv_problems_free(&warnings);
}

/* Every elements-format sample compiles; the batch templates are refused for their variables. */
static void other_samples(void **state)
{
    (void)state;
    static const char *const plain[] = {"sma-switch.json", "momentum-rotation.json"};
    for (int i = 0; i < 2; i++) {
        json_t *doc = load_sample(plain[i]);
        if (doc == NULL)
            skip();
        struct lv_problems problems = {0};
        struct lv_strategy *s = NULL;
        assert_int_equal(lv_strategy_compile(doc, &s, &problems, NULL), 0);
        lv_strategy_free(s);
        json_decref(doc);
    }
    json_t *doc = load_sample("batch-sma-switch.json");
    if (doc == NULL)
        skip();
    struct lv_problems problems = {0};
    struct lv_strategy *s = NULL;
    assert_int_equal(lv_strategy_compile(doc, &s, &problems, NULL), -1);
    expect_problem(&problems, "/elements/0/conditions/0/rightParams/period",
                   "unresolved variable $n");
    expect_problem(&problems, "/elements/0/elseChildren/0/ticker", "unresolved variable $safe");
    lv_problems_free(&problems);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(series_are_keyed_by_every_canonical_parameter),
        cmocka_unit_test(held_tickers_in_first_appearance_order),
        cmocka_unit_test(sorts_are_ordered_deepest_first),
        cmocka_unit_test(subtree_queries),
        cmocka_unit_test(ten_thousand_gates),
        cmocka_unit_test(complex_sample),
        cmocka_unit_test(other_samples),
    };
    return cmocka_run_group_tests_name("strategy compilation", tests, NULL, NULL);
}
