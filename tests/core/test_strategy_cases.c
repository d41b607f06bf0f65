/* test_strategy_cases.c — the reference's executor cases C-01…C-45 (original-strategy-
 * engine.md §6.2), one test per case, with Lever's decided differences (strategy-language.md
 * §2–§3). Expected allocations are in percent, in output order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_strategy_support.h"

#define RSI14_GT50 C("SPY", "RSI", "14", "gt", "50")
#define X_THEN     T("X", 100)
#define Y_ELSE     T("Y", 100)

/* Compiles, evaluates with no values set, and compares. */
static void check_static(const char *tree, const char *expected)
{
    struct run run;
    run_open(&run, tree);
    run_eval(&run);
    expect_alloc(&run, expected);
    assert_int_equal(run.report.n_missing, 0);
    run_close(&run);
}

/* Compiles, sets one series, evaluates and compares. */
static void check_one(const char *tree, const char *spec, double value, const char *expected)
{
    struct run run;
    run_open(&run, tree);
    run_set(&run, spec, value);
    run_eval(&run);
    expect_alloc(&run, expected);
    assert_int_equal(run.report.n_missing, 0);
    run_close(&run);
}

/* Compiles a single-sort tree, sets the children's scores, evaluates and compares. */
static void check_sort(const char *tree, int n, const double *scores, const char *expected)
{
    struct run run;
    run_open(&run, tree);
    for (int k = 0; k < n; k++)
        run_set_score(&run, 0, k, scores[k]);
    run_eval(&run);
    expect_alloc(&run, expected);
    assert_int_equal(run.report.n_missing, 0);
    run_close(&run);
}

/* Expects `tree` to be refused with exactly one problem, at `path`, containing `part`. */
static void check_refused(const char *tree, const char *path, const char *part)
{
    struct lv_problems problems = compile_refused(tree);
    expect_problem(&problems, path, part);
    assert_int_equal(problems.count, 1);
    lv_problems_free(&problems);
}

static void c01_leaf(void **state)
{
    (void)state;
    check_static("[" T("SPY", 100) "]", "SPY 100");
}

static void c02_top_level_weights(void **state)
{
    (void)state;
    check_static("[" T("SPY", 60) "," T("TLT", 40) "]", "SPY 60, TLT 40");
}

static void c03_final_normalisation(void **state)
{
    (void)state;
    check_static("[" T("SPY", 30) "," T("TLT", 30) "]", "SPY 50, TLT 50");
}

/* Lever: an explicit top-level 0 gets 0 (the reference's 0 -> 100/n was a truthiness
 * accident). C-04: shares 0/50 and 50/50 -> SPY 0, TLT 100; C-04b: 0/80 and 80/80 -> the
 * same. The zero entry stays in the output, like C-31's (reference: 50/50 and 38.46/61.54). */
static void c04_top_level_zero_weight(void **state)
{
    (void)state;
    check_static("[" T("SPY", 0) "," T("TLT", 50) "]", "SPY 0, TLT 100");
    check_static("[" T("SPY", 0) "," T("TLT", 80) "]", "SPY 0, TLT 100");
}

static void c05_equal_ignores_child_weights(void **state)
{
    (void)state;
    check_static("[" W("equal", T("A", 10) "," T("B", 20) "," T("C", 70), 100) "]",
                 "A 33.3333, B 33.3333, C 33.3333");
}

static void c06_defined(void **state)
{
    (void)state;
    check_static("[" W("defined", T("A", 50) "," T("B", 30) "," T("C", 20), 100) "]",
                 "A 50, B 30, C 20");
}

/* Lever: defined weights are relative shares. C-07b: the outer equal node gives each child
 * 1/2; the inner defined node splits its 1/2 as 30/60 and 30/60 -> A = B = 25, C = 50. C-07c:
 * 60/120 each -> the same 25, 25, 50 (reference: 18.75/18.75/62.5 and 27.27/27.27/45.45). */
static void c07_defined_weights_are_relative(void **state)
{
    (void)state;
    check_static("[" W("defined", T("A", 30) "," T("B", 30), 100) "]", "A 50, B 50");
    check_static(
        "[" W("equal", W("defined", T("A", 30) "," T("B", 30), 100) "," T("C", 100), 100) "]",
        "A 25, B 25, C 50");
    check_static(
        "[" W("equal", W("defined", T("A", 60) "," T("B", 60), 100) "," T("C", 100), 100) "]",
        "A 25, B 25, C 50");
}

static void c08_gate_branches(void **state)
{
    (void)state;
    const char *tree = "[" G("if", RSI14_GT50, T("QQQ", 100), T("TLT", 100), 100) "]";
    check_one(tree, "SPY RSI period=14", 65, "QQQ 100");
    check_one(tree, "SPY RSI period=14", 35, "TLT 100");
    check_one(tree, "SPY RSI period=14", 50, "TLT 100"); /* C-08c: gt is strict */
}

static void c09_empty_else_goes_to_sibling(void **state)
{
    (void)state;
    const char *tree =
        "[" T("SPY", 50) "," G("if", C("BND", "RSI", "14", "gt", "50"), T("BND", 100), , 50) "]";
    check_one(tree, "BND RSI period=14", 35, "SPY 100");
    check_one(tree, "BND RSI period=14", 65, "SPY 50, BND 50");
}

static void c10_all_unallocated_is_cash(void **state)
{
    (void)state;
    check_one("[" G("if", RSI14_GT50, T("QQQ", 100), , 100) "]", "SPY RSI period=14", 35, "");
}

/* Lever: a multi-child branch divides by its sum. C-11: the gate's 1/2 is split 100/200 and
 * 100/200 -> SPY 50, A 25, B 25 (the reference's raw 200 % gave 33.33 each). */
static void c11_multi_child_branch(void **state)
{
    (void)state;
    check_one(
        "[" T("SPY", 50) "," G("if", RSI14_GT50, T("A", 100) "," T("B", 100), T("C", 100), 50) "]",
        "SPY RSI period=14", 65, "SPY 50, A 25, B 25");
    check_one("[" G("if", RSI14_GT50, T("A", 70) "," T("B", 30), T("C", 100), 100) "]",
              "SPY RSI period=14", 65, "A 70, B 30");
}

/* The truth table of §6.2.1 (X = then, Y = else). */
static void c12_condition_modes(void **state)
{
    (void)state;
    static const char *const modes[] = {"if", "if_all", "if_any", "if_none"};
    static const struct {
        double spy, qqq;
        const char *expected[4]; /* if, if_all, if_any, if_none */
    } rows[] = {
        {65, 65, {"X 100", "X 100", "X 100", "Y 100"}},
        {65, 35, {"X 100", "Y 100", "X 100", "Y 100"}},
        {35, 65, {"Y 100", "Y 100", "X 100", "Y 100"}},
        {35, 35, {"Y 100", "Y 100", "Y 100", "X 100"}},
    };
    for (int m = 0; m < 4; m++) {
        char tree[2048];
        snprintf(
            tree, sizeof tree,
            "[" G("%s", RSI14_GT50 "," C("QQQ", "RSI", "14", "gt", "50"), X_THEN, Y_ELSE, 100) "]",
            modes[m]);
        struct run run;
        run_open(&run, tree);
        for (int r = 0; r < 4; r++) {
            run_set(&run, "SPY RSI period=14", rows[r].spy);
            run_set(&run, "QQQ RSI period=14", rows[r].qqq);
            run_eval(&run);
            expect_alloc(&run, rows[r].expected[m]);
        }
        run_close(&run);
    }
}

static void c13_every_condition_is_read(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" T("SPY", 50) "," G("if", RSI14_GT50 "," C("QQQ", "RSI", "14", "gt", "50"),
                                          X_THEN, Y_ELSE, 50) "]");
    run_set(&run, "SPY RSI period=14", 65);
    run_eval(&run);
    expect_alloc(&run, "SPY 100");
    assert_int_equal(run.report.n_missing, 1);
    assert_int_equal(run.report.first_missing, series_id(run.s, "QQQ RSI period=14"));
    run_close(&run);
}

static void c14_exact_equality(void **state)
{
    (void)state;
    const char *tree = "[" G("if", C("SPY", "RSI", "14", "eq", "50"), X_THEN, Y_ELSE, 100) "]";
    check_one(tree, "SPY RSI period=14", 50, "X 100");
    check_one(tree, "SPY RSI period=14", 50.0000001, "Y 100");
}

static void c15_indicator_versus_indicator(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" G("if",
                         "{'ticker':'SPY','indicator':'CURRENT_PRICE','params':{},'operator':'gt',"
                         "'compareTo':'indicator','rightTicker':'SPY','rightIndicator':'SMA',"
                         "'rightParams':{'period':'200'}}",
                         T("QQQ", 100), T("TLT", 100), 100) "]");
    run_set(&run, "SPY CURRENT_PRICE", 450);
    run_set(&run, "SPY SMA period=200", 430);
    run_eval(&run);
    expect_alloc(&run, "QQQ 100");
    run_close(&run);
}

static void c16_failing_gate_is_an_empty_branch(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" W("equal",
                         T("A", 100) "," G("if", C("ZZZ", "RSI", "14", "gt", "50"), T("B", 100),
                                           T("C", 100), 100),
                         100) "]");
    run_eval(&run);
    expect_alloc(&run, "A 100");
    assert_int_equal(run.report.n_missing, 1);
    run_close(&run);

    run_open(&run,
             "[" G("if", C("ZZZ", "RSI", "14", "gt", "50"), T("B", 100), T("C", 100), 100) "]");
    run_eval(&run);
    expect_alloc(&run, "");
    assert_int_equal(run.report.n_missing, 1);
    assert_int_equal(run.report.first_missing, series_id(run.s, "ZZZ RSI period=14"));
    run_close(&run);
}

#define ABC T("A", 100) "," T("B", 100) "," T("C", 100)

static void c17_sort_direction_and_count(void **state)
{
    (void)state;
    const double scores[] = {0.10, 0.30, 0.20};
    check_sort("[" S("top", 1, ABC, 100) "]", 3, scores, "B 100");
    check_sort("[" S("bottom", 1, ABC, 100) "]", 3, scores, "A 100");
    check_sort("[" S("top", 2, ABC, 100) "]", 3, scores, "B 50, C 50");
}

static void c18_tie_groups(void **state)
{
    (void)state;
    check_sort("[" S("top", 1, ABC, 100) "]", 3, (double[]){0.3, 0.3, 0.2}, "A 50, B 50");
    check_sort("[" S("top", 1, ABC, 100) "]", 3, (double[]){0.3, 0.3 + 5e-10, 0.2}, "B 50, A 50");
    check_sort("[" S("top", 2, ABC "," T("D", 100), 100) "]", 4, (double[]){0.3, 0.3, 0.2, 0.1},
               "A 33.3333, B 33.3333, C 33.3333");
}

/* C-19b: count 0 (one group in the reference) is refused by validation. */
static void c19_count_above_children(void **state)
{
    (void)state;
    check_sort("[" S("top", 5, ABC, 100) "]", 3, (double[]){0.1, 0.3, 0.2},
               "B 33.3333, C 33.3333, A 33.3333");
    check_refused("[" S("top", 0, T("A", 100) "," T("B", 100), 100) "]", "/0/count",
                  "must be a whole number of at least 1, got 0");
}

static void c20_winner_weights(void **state)
{
    (void)state;
    check_sort("[" S("top", 2, T("A", 70) "," T("B", 30) "," T("C", 100), 100) "]", 3,
               (double[]){0.3, 0.2, 0.1}, "A 70, B 30");
    check_sort("[" S("top", 2, T("A", 100) "," T("B", 0), 100) "]", 2, (double[]){0.1, 0.3},
               "A 100");
    check_sort("[" S("top", 2, T("A", 0) "," T("B", 0), 100) "]", 2, (double[]){0.1, 0.3},
               "B 50, A 50");
}

#define EMPTY_ELSE_GATE G("if", RSI14_GT50, X_THEN, , 100)

static void c21_empty_winners(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" T("SPY", 50) "," S("top", 1, EMPTY_ELSE_GATE "," T("B", 100), 50) "]");
    run_set(&run, "SPY RSI period=14", 35);
    run_set_score(&run, 0, 0, 0.3);
    run_set_score(&run, 0, 1, 0.1);
    run_eval(&run);
    expect_alloc(&run, "SPY 100"); /* the sole winner placed nothing: up, not to the loser */
    run_close(&run);

    run_open(&run, "[" S("top", 2, EMPTY_ELSE_GATE "," T("B", 100) "," T("C", 100), 100) "]");
    run_set(&run, "SPY RSI period=14", 35);
    run_set_score(&run, 0, 0, 0.3);
    run_set_score(&run, 0, 1, 0.2);
    run_set_score(&run, 0, 2, 0.1);
    run_eval(&run);
    expect_alloc(&run, "B 100"); /* C-21b: the other winner takes it, not C, the loser */
    run_close(&run);

    run_open(&run, "[" T("SPY", 50) "," S("top", 1, T("A", 100) "," T("B", 100), 50) "]");
    run_set_score(&run, 0, 0, 0.3);
    run_eval(&run);
    expect_alloc(&run, "SPY 100"); /* C-21c: a missing score fails the sort */
    assert_int_equal(run.report.n_missing, 1);
    assert_int_equal(run.report.first_missing, score_id(run.s, 0, 1));
    run_close(&run);
}

#define SCALE_RSI10(lo, hi, from, to, w) SC("SPY", "RSI", "10", lo, hi, from, to, w)

static void c22_scale_interpolation(void **state)
{
    (void)state;
    static const struct {
        double rsi;
        const char *expected;
    } rows[] = {
        {70, "SPY 100, UVXY 0"},   {75, "SPY 100, UVXY 0"}, {80, "SPY 50, UVXY 50"},
        {82.5, "SPY 25, UVXY 75"}, {85, "SPY 0, UVXY 100"}, {90, "SPY 0, UVXY 100"},
    };
    struct run run;
    run_open(&run, "[" SCALE_RSI10("75", "85", T("SPY", 100), T("UVXY", 100), 100) "]");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        run_set(&run, "SPY RSI period=10", rows[i].rsi);
        run_eval(&run);
        expect_alloc(&run, rows[i].expected);
    }
    run_close(&run);
}

static void c23_reversed_range(void **state)
{
    (void)state;
    check_one("[" SCALE_RSI10("85", "75", T("SPY", 100), T("UVXY", 100), 100) "]",
              "SPY RSI period=10", 77.5, "SPY 25, UVXY 75");
}

static void c24_scale_empty_branch(void **state)
{
    (void)state;
    check_one("[" SCALE_RSI10("75", "85", T("SPY", 100), , 100) "]", "SPY RSI period=10", 80,
              "SPY 100");
    check_one("[" T("BIL", 50) "," SCALE_RSI10("75", "85", T("SPY", 100), , 50) "]",
              "SPY RSI period=10", 80, "BIL 66.6667, SPY 33.3333");
}

/* Lever: C-25's FROM branch (1/2 · (1 − 0.5) = 1/4 of the portfolio) is split 100/200 and
 * 100/200 -> A 12.5, B 12.5; TO gets 1/4 -> C 25; BIL keeps 50 (reference: 40/20/20/20).
 * C-25b (identical min and max) is refused by validation. */
static void c25_multi_child_scale_branch(void **state)
{
    (void)state;
    check_one("[" T("BIL", 50) "," SCALE_RSI10("75", "85", T("A", 100) "," T("B", 100), T("C", 100),
                                               50) "]",
              "SPY RSI period=10", 80, "BIL 50, A 12.5, B 12.5, C 25");
    check_refused("[" SCALE_RSI10("80", "80", T("A", 100), T("B", 100), 100) "]",
                  "/0/config/rangeMax", "must differ from rangeMin (both are 80)");
}

static void c26_aggregation(void **state)
{
    (void)state;
    check_one("[" W("equal",
                    T("SPY", 100) "," G("if", RSI14_GT50, T("SPY", 100), T("TLT", 100), 100),
                    100) "]",
              "SPY RSI period=14", 65, "SPY 100");
}

static void c27_redistribution_is_local(void **state)
{
    (void)state;
    check_one(
        "[" W("equal",
              W("equal", T("A", 100) "," G("if", RSI14_GT50, X_THEN, , 100), 100) "," T("B", 100),
              100) "]",
        "SPY RSI period=14", 35, "A 50, B 50");
}

/* Lever: a defined child without a weight is refused (the reference produced NaN weights). */
static void c28_missing_defined_weight(void **state)
{
    (void)state;
    check_refused("[" W("defined", T("A", 50) "," TN("B"), 100) "]", "/0/children/1/weight",
                  "missing");
}

/* Lever: the legacy singular `condition` is read as a one-item `conditions`, so the gate
 * works (the reference failed with "has no conditions"). */
static void c29_legacy_condition(void **state)
{
    (void)state;
    check_one("[{'type':'gate','weight':100,'conditionMode':'if','condition':" RSI14_GT50
              ",'thenChildren':[" X_THEN "],'elseChildren':[" Y_ELSE "]}]",
              "SPY RSI period=14", 65, "X 100");
}

static void c30_everything_unallocated(void **state)
{
    (void)state;
    check_one(
        "[" G("if", RSI14_GT50, , T("B", 100), 50) "," G("if", RSI14_GT50, , T("C", 100), 50) "]",
        "SPY RSI period=14", 65, "");
}

static void c31_zero_weights_survive(void **state)
{
    (void)state;
    check_static("[" W("defined", T("A", 100) "," T("B", 0), 100) "]", "A 100, B 0");
}

static void c32_empty_weight_node_versus_empty_gate(void **state)
{
    (void)state;
    /* The empty weight node returns nothing unallocated: its quarter is lost until the final
     * normalisation spreads it over A (1/4) and B (1/2) -> 33.33, 66.67. */
    check_static(
        "[" W("equal", W("equal", T("A", 100) "," W("equal", , 100), 100) "," T("B", 100), 100) "]",
        "A 33.3333, B 66.6667");
    /* C-32b: the empty gate branch returns its quarter unallocated: the inner node gives it
     * to A. */
    check_one("[" W("equal",
                    W("equal", T("A", 100) "," G("if", RSI14_GT50, , , 100), 100) "," T("B", 100),
                    100) "]",
              "SPY RSI period=14", 65, "A 50, B 50");
}

static void c33_scale_under_a_group(void **state)
{
    (void)state;
    check_one("[" W("equal",
                    SCALE_RSI10("0", "100", T("SPY", 100), T("TLT", 100), 100) "," T("GLD", 100),
                    100) "]",
              "SPY RSI period=10", 25, "SPY 37.5, TLT 12.5, GLD 50");
}

/* The TO branch has 0 %, but its gate is still evaluated (and fails on ZZZ). */
static void c34_zero_branch_still_evaluated(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" SCALE_RSI10("0", "100", T("SPY", 100),
                                   G("if", C("ZZZ", "RSI", "14", "gt", "50"), X_THEN, Y_ELSE, 100),
                                   100) "]");
    run_set(&run, "SPY RSI period=10", 0);
    run_eval(&run);
    expect_alloc(&run, "SPY 100");
    assert_int_equal(run.report.n_missing, 1);
    run_close(&run);
}

/* 100/3 each for A and B, 50 for C: 33.33/116.67 = 28.57 %. */
static void c35_missing_top_level_weight(void **state)
{
    (void)state;
    check_static("[" TN("A") "," TN("B") "," T("C", 50) "]", "A 28.5714, B 28.5714, C 42.8571");
}

/* Lever: a count that is not a number is refused (the reference selected no winner). */
static void c36_nan_count(void **state)
{
    (void)state;
    check_refused("[" S("top", 'NaN', T("A", 100) "," T("B", 100), 100) "]", "/0/count",
                  "must be a number, got \"NaN\"");
}

static void c37_all_tie(void **state)
{
    (void)state;
    check_sort("[" S("top", 1, ABC, 100) "]", 3, (double[]){0, 0, 0},
               "A 33.3333, B 33.3333, C 33.3333");
}

static void c38_tie_measured_from_first_member(void **state)
{
    (void)state;
    check_sort("[" S("top", 1, ABC, 100) "]", 3, (double[]){0.3, 0.3 - 8e-10, 0.3 - 1.6e-9},
               "A 50, B 50");
}

/* Twenty children: more than a sort orders by insertion, so the merge sort ranks them; ties
 * stay in child order either way. Scores are (7·i mod 20), with D tied to R at the top. */
#define FOUR(a, b, c, d) T(a, 100) "," T(b, 100) "," T(c, 100) "," T(d, 100)
#define TWENTY                                                                                     \
    FOUR("A", "B", "C", "D")                                                                       \
    "," FOUR("E", "F", "G", "H") "," FOUR("I", "J", "K", "L") "," FOUR(                            \
        "M", "N", "O", "P") "," FOUR("Q", "R", "S", "T")
static void many_children_rank_like_few(void **state)
{
    (void)state;
    double scores[20];
    for (int i = 0; i < 20; i++)
        scores[i] = (i * 7) % 20;
    scores[3] = 19; /* D ties R (child 17) */
    check_sort("[" S("top", 3, TWENTY, 100) "]", 20, scores, "D 25, R 25, O 25, L 25");
    check_sort("[" S("bottom", 2, TWENTY, 100) "]", 20, scores, "A 50, G 50");
}

static void c39_sort_indicator_with_params(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[{'type':'sort','direction':'top','count':1,'indicator':'RSI',"
                   "'params':{'period':'14'},'weight':100,'children':[" T("A", 100) "," T(
                       "B", 100) "]}]");
    const struct lv_series_key *key = lv_strategy_series(run.s, score_id(run.s, 0, 0));
    assert_int_equal(key->ind, LV_IND_RSI);
    assert_true(key->params.v[0] == 14);
    run_set_score(&run, 0, 0, 40);
    run_set_score(&run, 0, 1, 60);
    run_eval(&run);
    expect_alloc(&run, "B 100");
    run_close(&run);
}

static void c40_if_none_is_not(void **state)
{
    (void)state;
    check_one("[" G("if_none", RSI14_GT50, X_THEN, Y_ELSE, 100) "]", "SPY RSI period=14", 35,
              "X 100");
}

static void c41_neq(void **state)
{
    (void)state;
    check_one("[" G("if", C("SPY", "RSI", "14", "neq", "50"), X_THEN, Y_ELSE, 100) "]",
              "SPY RSI period=14", 50, "Y 100");
}

/* gte, and the two operators the table leaves out (lt, lte). */
static void c42_gte(void **state)
{
    (void)state;
    check_one("[" G("if", C("SPY", "RSI", "14", "gte", "50"), X_THEN, Y_ELSE, 100) "]",
              "SPY RSI period=14", 50, "X 100");
    check_one("[" G("if", C("SPY", "RSI", "14", "lt", "50"), X_THEN, Y_ELSE, 100) "]",
              "SPY RSI period=14", 49, "X 100");
    check_one("[" G("if", C("SPY", "RSI", "14", "lte", "50"), X_THEN, Y_ELSE, 100) "]",
              "SPY RSI period=14", 50.5, "Y 100");
}

/* Lever: a threshold must be entirely a number: "abc" (C-43) and "50abc" (C-43b, which JS
 * parseFloat read as 50) are refused. */
static void c43_invalid_threshold(void **state)
{
    (void)state;
    check_refused(
        "[" T("A", 50) "," G("if", C("SPY", "RSI", "14", "gt", "abc"), X_THEN, Y_ELSE, 50) "]",
        "/1/conditions/0/threshold", "must be a number, got \"abc\"");
    check_refused(
        "[" T("A", 50) "," G("if", C("SPY", "RSI", "14", "gt", "50abc"), X_THEN, Y_ELSE, 50) "]",
        "/1/conditions/0/threshold", "must be a number, got \"50abc\"");
}

/* BUG-2: RSI(10) and RSI(14) of SPY are two series, so each gate reads its own value. */
static void c44_parameter_sets_are_separate_series(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "[" W("equal",
                         G("if", C("SPY", "RSI", "10", "gt", "50"), T("A", 100), T("B", 100),
                           100) "," G("if", RSI14_GT50, T("C", 100), T("D", 100), 100),
                         100) "]");
    assert_int_equal(lv_strategy_n_series(run.s), 2);
    run_set(&run, "SPY RSI period=10", 70);
    run_set(&run, "SPY RSI period=14", 40);
    run_eval(&run);
    expect_alloc(&run, "A 50, D 50");
    run_close(&run);
}

/* BUG-1: nine sibling gates crashed the reference; here each is evaluated once. */
static void c45_many_sibling_gates(void **state)
{
    (void)state;
    char tree[8192] = "[{'type':'weight','weightMode':'equal','weight':100,'children':[";
    for (int i = 1; i <= 9; i++) {
        char gate[512];
        snprintf(gate, sizeof gate, "%s" G("if", RSI14_GT50, T("A%d", 100), T("B%d", 100), 100),
                 i > 1 ? "," : "", i, i);
        strcat(tree, gate);
    }
    strcat(tree, "]}]");
    struct run run;
    run_open(&run, tree);
    assert_int_equal(lv_strategy_n_series(run.s), 1);
    run_set(&run, "SPY RSI period=14", 65);
    run_eval(&run);
    expect_alloc(&run, "A1 11.1111, A2 11.1111, A3 11.1111, A4 11.1111, A5 11.1111, "
                       "A6 11.1111, A7 11.1111, A8 11.1111, A9 11.1111");
    run_close(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(c01_leaf),
        cmocka_unit_test(c02_top_level_weights),
        cmocka_unit_test(c03_final_normalisation),
        cmocka_unit_test(c04_top_level_zero_weight),
        cmocka_unit_test(c05_equal_ignores_child_weights),
        cmocka_unit_test(c06_defined),
        cmocka_unit_test(c07_defined_weights_are_relative),
        cmocka_unit_test(c08_gate_branches),
        cmocka_unit_test(c09_empty_else_goes_to_sibling),
        cmocka_unit_test(c10_all_unallocated_is_cash),
        cmocka_unit_test(c11_multi_child_branch),
        cmocka_unit_test(c12_condition_modes),
        cmocka_unit_test(c13_every_condition_is_read),
        cmocka_unit_test(c14_exact_equality),
        cmocka_unit_test(c15_indicator_versus_indicator),
        cmocka_unit_test(c16_failing_gate_is_an_empty_branch),
        cmocka_unit_test(c17_sort_direction_and_count),
        cmocka_unit_test(c18_tie_groups),
        cmocka_unit_test(c19_count_above_children),
        cmocka_unit_test(c20_winner_weights),
        cmocka_unit_test(c21_empty_winners),
        cmocka_unit_test(c22_scale_interpolation),
        cmocka_unit_test(c23_reversed_range),
        cmocka_unit_test(c24_scale_empty_branch),
        cmocka_unit_test(c25_multi_child_scale_branch),
        cmocka_unit_test(c26_aggregation),
        cmocka_unit_test(c27_redistribution_is_local),
        cmocka_unit_test(c28_missing_defined_weight),
        cmocka_unit_test(c29_legacy_condition),
        cmocka_unit_test(c30_everything_unallocated),
        cmocka_unit_test(c31_zero_weights_survive),
        cmocka_unit_test(c32_empty_weight_node_versus_empty_gate),
        cmocka_unit_test(c33_scale_under_a_group),
        cmocka_unit_test(c34_zero_branch_still_evaluated),
        cmocka_unit_test(c35_missing_top_level_weight),
        cmocka_unit_test(c36_nan_count),
        cmocka_unit_test(c37_all_tie),
        cmocka_unit_test(c38_tie_measured_from_first_member),
        cmocka_unit_test(many_children_rank_like_few),
        cmocka_unit_test(c39_sort_indicator_with_params),
        cmocka_unit_test(c40_if_none_is_not),
        cmocka_unit_test(c41_neq),
        cmocka_unit_test(c42_gte),
        cmocka_unit_test(c43_invalid_threshold),
        cmocka_unit_test(c44_parameter_sets_are_separate_series),
        cmocka_unit_test(c45_many_sibling_gates),
    };
    return cmocka_run_group_tests_name("strategy reference cases", tests, NULL, NULL);
}
