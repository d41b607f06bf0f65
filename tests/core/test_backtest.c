/* test_backtest.c — the daily simulation on the synthetic data of the reference §6.3, with the
 * expectations adjusted to Lever's semantics and worked out in docs/simulation-cases.md:
 * S1–S7, sorts over branches, rebalancing schedules, costs, data gaps, window start, errors,
 * the positions list, options and the result JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backtest.h"

/* 10 weekdays from Monday 2024-01-01 (no holiday modelled); o = h = l = c, volume 1000. */
enum { N_DAYS = 10 };
static const int day_of_month[N_DAYS] = {1, 2, 3, 4, 5, 8, 9, 10, 11, 12};
static const double spy_px[N_DAYS] = {100, 101, 102, 101, 103, 104, 105, 104, 106, 107};
static const double a_px[N_DAYS] = {10, 11, 12, 11, 13, 12, 14, 15, 14, 16};
static const double b_px[N_DAYS] = {20, 20, 21, 22, 22, 23, 22, 24, 25, 24};

static lv_day jan(int day)
{
    return lv_day_from_ymd(2024, 1, day);
}

struct fixture {
    struct lv_market *market;
    struct lv_series_cache *cache;
    struct lv_backtest_workspace *ws;
    struct lv_backtest_result result;
    struct lv_strategy *strategy;
    struct lv_backtest_options options;
    struct lv_error err;
};

/* Adds a symbol, leaving out the bar of day index `skip` (-1: none). */
static void add_symbol(struct lv_market_builder *b, const char *symbol, const double *px, int skip)
{
    lv_day days[N_DAYS];
    double close[N_DAYS], volume[N_DAYS];
    size_t n = 0;
    for (int i = 0; i < N_DAYS; i++) {
        if (i == skip)
            continue;
        days[n] = jan(day_of_month[i]);
        close[n] = px[i];
        volume[n++] = 1000;
    }
    struct lv_error err;
    assert_int_equal(
        lv_market_builder_add(b, symbol, days, close, close, close, close, volume, n, &err), 0);
}

/* The market of §6.3; `a_skip` drops one of A's bars. */
static struct fixture *fixture_new(int a_skip)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct lv_market_builder *b = lv_market_builder_new();
    add_symbol(b, "SPY", spy_px, -1);
    add_symbol(b, "A", a_px, a_skip);
    add_symbol(b, "B", b_px, -1);
    f->market = lv_market_finalize(b, &f->err);
    f->cache = lv_series_cache_new(f->market);
    f->ws = lv_backtest_workspace_new();
    lv_backtest_options_init(&f->options);
    return f;
}

static int setup(void **state)
{
    *state = fixture_new(-1);
    return 0;
}

static int setup_a_gap(void **state)
{
    *state = fixture_new(3); /* A has no bar on 2024-01-04 */
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lv_strategy_free(f->strategy);
    lv_backtest_result_free(&f->result);
    lv_backtest_workspace_free(f->ws);
    lv_series_cache_free(f->cache);
    lv_market_free(f->market);
    free(f);
    return 0;
}

/* Compiles a strategy document and reads its options (on top of f->options). */
static void compile(struct fixture *f, const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    struct lv_problems problems = {0};
    lv_strategy_free(f->strategy);
    f->strategy = NULL;
    int rc = lv_strategy_compile(doc, &f->strategy, &problems, NULL);
    if (rc != 0)
        fail_msg("%s: %s", problems.items[0].path, problems.items[0].message);
    assert_int_equal(lv_backtest_options_read(doc, &f->options, &problems), 0);
    lv_problems_free(&problems);
    json_decref(doc);
}

static int run(struct fixture *f)
{
    return lv_backtest_run(f->strategy, f->market, f->cache, &f->options, f->ws, &f->result,
                           &f->err);
}

static void run_ok(struct fixture *f, const char *text)
{
    compile(f, text);
    if (run(f) != 0)
        fail_msg("run failed: %s", f->err.message);
}

static void assert_near(double actual, double expected)
{
    if (fabs(actual - expected) > 1e-6 * fmax(1.0, fabs(expected)))
        fail_msg("expected %.10g, got %.10g", expected, actual);
}

/* The window starts on 2024-01-`first_day` and the equity curve is `expected`. */
static void assert_curve(const struct fixture *f, int first_day, const double *expected, size_t n)
{
    assert_int_equal(f->result.n_days, n);
    assert_int_equal(f->result.window_start, jan(first_day));
    assert_int_equal(f->result.days[0], jan(first_day));
    assert_int_equal(f->result.window_end, jan(12));
    for (size_t i = 0; i < n; i++)
        assert_near(f->result.equity[i], expected[i]);
}

struct row {
    int day;
    const char *ticker;
    double weight;
};

static void assert_positions(const struct fixture *f, const struct row *rows, size_t n)
{
    if (f->result.n_positions != n)
        fail_msg("expected %zu position rows, got %zu", n, f->result.n_positions);
    for (size_t i = 0; i < n; i++) {
        const struct lv_position *p = &f->result.positions[i];
        assert_int_equal(p->day, jan(rows[i].day));
        assert_string_equal(p->ticker, rows[i].ticker);
        assert_near(p->weight, rows[i].weight);
    }
}

#define T(sym) "{\"type\":\"ticker\",\"ticker\":\"" sym "\",\"weight\":100}"
#define EQUAL(kids)                                                                                \
    "{\"type\":\"weight\",\"weightMode\":\"equal\",\"weight\":100,\"children\":[" kids "]}"
#define GATE_SPY_ABOVE(thr, then_kids, else_kids)                                                  \
    "{\"type\":\"gate\",\"weight\":100,\"conditionMode\":\"if\",\"conditions\":[{\"ticker\":"      \
    "\"SPY\",\"indicator\":\"CURRENT_PRICE\",\"params\":{},\"operator\":\"gt\",\"compareTo\":"     \
    "\"threshold\",\"threshold\":\"" thr "\"}],\"thenChildren\":[" then_kids                       \
    "],\"elseChildren\":[" else_kids "]}"
#define SORT_TOP1(ind, params, kids)                                                               \
    "{\"type\":\"sort\",\"weight\":100,\"direction\":\"top\",\"count\":1,\"indicator\":\"" ind     \
    "\",\"params\":" params ",\"children\":[" kids "]}"

static const char *const S2 = "[" GATE_SPY_ABOVE("101.5", T("A"), T("B")) "]";

/* ---- S1–S7 ------------------------------------------------------------------------------- */

/* S1: hold SPY. Equity = 100000 × SPY/100; one trade (SPY stays at weight 1 without drift). */
static void s1_hold_spy(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" T("SPY") "]");
    const double eq[] = {100000, 101000, 102000, 101000, 103000,
                         104000, 105000, 104000, 106000, 107000};
    assert_curve(f, 1, eq, 10);
    for (int i = 0; i < 10; i++)
        assert_near(f->result.benchmark[i], eq[i]);
    assert_string_equal(f->result.start_reason, "SPY: first bar on 2024-01-01");
    const struct row rows[] = {{1, "SPY", 1}};
    assert_positions(f, rows, 1);
    const double *m = f->result.metrics.value;
    assert_near(m[LV_METRIC_TOTAL_RETURN], 0.07);
    assert_near(m[LV_METRIC_CAGR], pow(1.07, 252.0 / 9) - 1); /* n = 9 returns */
    assert_near(m[LV_METRIC_MAX_DRAWDOWN], 101.0 / 102 - 1);
    assert_near(m[LV_METRIC_TRADES], 1);
    assert_near(m[LV_METRIC_EXPOSURE], 1);
    assert_near(m[LV_METRIC_TURNOVER], 0.5 / (9.0 / 252)); /* 14 */
    assert_near(m[LV_METRIC_BETA], 1);
    assert_near(m[LV_METRIC_CORRELATION], 1);
    assert_near(m[LV_METRIC_ALPHA], 0);
    assert_int_equal(f->result.n_warnings, 0);
}

/* S2: SPY close > 101.5 at the decision close → A, else B. Same path as the reference,
 * since both decide at the close of d[k−1]. */
static void s2_gate_on_price(void **state)
{
    struct fixture *f = *state;
    run_ok(f, S2);
    const double eq[] = {100000,
                         100000,
                         105000,
                         96250,
                         96250,
                         88846.15384615384,
                         103653.84615384616,
                         111057.69230769231,
                         103653.84615384616,
                         118461.53846153845};
    assert_curve(f, 1, eq, 10);
    /* listed on 01-01 and on each change; a ticker that leaves gets weight 0 */
    const struct row rows[] = {{1, "B", 1}, {3, "A", 1}, {3, "B", 0}, {4, "B", 1},
                               {4, "A", 0}, {5, "A", 1}, {5, "B", 0}};
    assert_positions(f, rows, 7);
    /* trades: 01-01 B; 01-03, 01-04, 01-05 two each */
    assert_near(f->result.metrics.value[LV_METRIC_TRADES], 7);
    assert_near(f->result.metrics.value[LV_METRIC_MAX_DRAWDOWN], 88846.15384615384 / 105000 - 1);
    assert_string_equal(f->result.start_reason, "SPY CURRENT_PRICE: first value on 2024-01-01");
}

/* S3: top 1 of A, B by CUMULATIVE_RETURN measured from S = 01-01, unlagged. Ties on 01-01
 * (both 0) and 01-04 (both +10 %) split 50/50. */
static void s3_sort_cumulative_return(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" SORT_TOP1("CUMULATIVE_RETURN", "{}", T("A") "," T("B")) "]");
    const double eq[] = {100000,
                         105000,
                         114545.45454545454,
                         105000,
                         114545.45454545454,
                         105734.26573426573,
                         123356.64335664337,
                         132167.83216783218,
                         123356.64335664337,
                         140979.02097902098};
    assert_curve(f, 1, eq, 10);
    const struct row rows[] = {{1, "A", 0.5}, {1, "B", 0.5}, {2, "A", 1}, {2, "B", 0},
                               {4, "A", 0.5}, {4, "B", 0.5}, {5, "A", 1}, {5, "B", 0}};
    assert_positions(f, rows, 8);
}

/* S4: top 1 by RETURN(2): scores exist from S + 2 = 01-03, so the window starts there. */
static void s4_sort_return_window(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" SORT_TOP1("RETURN", "{\"period\":\"2\"}", T("A") "," T("B")) "]");
    const double eq[] = {100000,
                         91666.66666666666,
                         91666.66666666666,
                         84615.38461538461,
                         98717.94871794872,
                         105769.23076923077,
                         98717.94871794872,
                         94769.23076923077};
    assert_curve(f, 3, eq, 8);
    assert_string_equal(f->result.start_reason,
                        "score of child 1 of sort by RETURN(period=2) over A, B: first value on "
                        "2024-01-03");
    /* benchmark bought on 01-03 at 102 */
    assert_near(f->result.benchmark[0], 100000);
    assert_near(f->result.benchmark[7], 100000 * 107.0 / 102);
    const struct row rows[] = {{3, "A", 1}, {4, "B", 1},  {4, "A", 0}, {5, "A", 1},
                               {5, "B", 0}, {11, "B", 1}, {11, "A", 0}};
    assert_positions(f, rows, 7);
}

/* S5: SPY SMA(3) > 102 → A else B. SMA(3) first exists on 01-03 (lookback 2); on 01-05 it is
 * exactly 102, not above. */
static void s5_gate_on_sma_window(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[{\"type\":\"gate\",\"weight\":100,\"conditionMode\":\"if\",\"conditions\":[{"
              "\"ticker\":\"SPY\",\"indicator\":\"SMA\",\"params\":{\"period\":\"3\"},"
              "\"operator\":\"gt\",\"compareTo\":\"threshold\",\"threshold\":\"102\"}],"
              "\"thenChildren\":[" T("A") "],\"elseChildren\":[" T("B") "]}]");
    const double eq[] = {100000,
                         104761.90476190476,
                         104761.90476190476,
                         109523.80952380953,
                         127777.7777777778,
                         136904.76190476192,
                         127777.7777777778,
                         146031.74603174604};
    assert_curve(f, 3, eq, 8);
    assert_string_equal(f->result.start_reason, "SPY SMA(period=3): first value on 2024-01-03");
    const struct row rows[] = {{3, "B", 1}, {8, "A", 1}, {8, "B", 0}};
    assert_positions(f, rows, 3);
}

/* S7: scale on SPY's close from 100 (all A) to 104 (all B). */
static void s7_scale(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[{\"type\":\"scale\",\"weight\":100,\"config\":{\"ticker\":\"SPY\",\"indicator\":"
              "\"CURRENT_PRICE\",\"params\":{},\"rangeMin\":\"100\",\"rangeMax\":\"104\"},"
              "\"fromChildren\":[" T("A") "],\"toChildren\":[" T("B") "]}]");
    const double eq[] = {100000,
                         110000,
                         118875,
                         116752.23214285714,
                         132672.99107142858,
                         134644.5302744131,
                         128790.42026248209,
                         140498.64028634407,
                         146352.7502982751,
                         140498.64028634407};
    assert_curve(f, 1, eq, 10);
    const struct row rows[] = {{1, "A", 1},    {2, "A", 0.75}, {2, "B", 0.25}, {3, "A", 0.5},
                               {3, "B", 0.5},  {4, "A", 0.75}, {4, "B", 0.25}, {5, "A", 0.25},
                               {5, "B", 0.75}, {8, "B", 1},    {8, "A", 0}};
    assert_positions(f, rows, 11);
}

/* ---- Sorts over branches ------------------------------------------------------------------ */

/* Top 1 of [A, equal(A, B)] by CUMULATIVE_RETURN. The branch's series is its own daily-
 * rebalanced equity from S: 1, 1.05, 1.12398, 1.10391, … On 01-04 it scores +10.39 % against
 * A's +10 % and wins; buy-and-hold would have tied at +10 %. */
static void sort_scores_a_branch_by_its_simulated_equity(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" SORT_TOP1("CUMULATIVE_RETURN", "{}", T("A") "," EQUAL(T("A") "," T("B"))) "]");
    const double eq[] = {100000,
                         107500,
                         117272.72727272728,
                         107500,
                         117272.72727272726,
                         108251.74825174826,
                         126293.7062937063,
                         135314.6853146853,
                         126293.70629370629,
                         144335.66433566433};
    assert_curve(f, 1, eq, 10);
    const struct row rows[] = {{1, "A", 0.75}, {1, "B", 0.25}, {2, "A", 1}, {2, "B", 0},
                               {4, "A", 0.5},  {4, "B", 0.5},  {5, "A", 1}, {5, "B", 0}};
    assert_positions(f, rows, 8);
}

/* ---- Rebalancing and costs ----------------------------------------------------------------- */

/* Weekly: trades at the window start (Mon 01-01) and Mon 01-08 only; the 01-01 decision (B)
 * is held all week: 100000 × 23/20 = 115000, then A: × 16/12 = 153333.33. */
static void weekly_gate(void **state)
{
    struct fixture *f = *state;
    f->options.rebalance = LV_REBALANCE_WEEKLY;
    run_ok(f, S2);
    assert_near(f->result.equity[5], 115000);
    assert_near(f->result.equity[9], 153333.33333333334);
    const struct row rows[] = {{1, "B", 1}, {8, "A", 1}, {8, "B", 0}};
    assert_positions(f, rows, 3);
    assert_near(f->result.metrics.value[LV_METRIC_TRADES], 3);
}

/* Monthly: one trade on 01-01, B held to the end: 100000 × 24/20. */
static void monthly_gate(void **state)
{
    struct fixture *f = *state;
    compile(f, S2);
    f->options.rebalance = LV_REBALANCE_MONTHLY;
    assert_int_equal(run(f), 0);
    assert_near(f->result.equity[9], 120000);
    assert_near(f->result.metrics.value[LV_METRIC_TRADES], 1);
}

/* Weekly 50/50 A, B: weights drift all week. 01-08: A 50000 × 12/10 = 60000, B 50000 × 23/20
 * = 57500, equity 117500, A at 0.510638; rebalancing moves 2 × 0.010638 = 0.021277. Then
 * 117500 × (0.5 × 16/12 + 0.5 × 24/23) = 139637.68. */
static void weekly_drift(void **state)
{
    struct fixture *f = *state;
    f->options.rebalance = LV_REBALANCE_WEEKLY;
    run_ok(f, "[" EQUAL(T("A") "," T("B")) "]");
    assert_near(f->result.equity[5], 117500);
    assert_near(f->result.equity[9], 139637.6811594203);
    /* turnover: (1 + 0.0212766) / 2 over 9/252 years */
    assert_near(f->result.metrics.value[LV_METRIC_TURNOVER],
                (1 + 0.021276595744680826) / 2 / (9.0 / 252));
    assert_near(f->result.metrics.value[LV_METRIC_TRADES], 4);
    /* the target never changed: listed once */
    const struct row rows[] = {{1, "A", 0.5}, {1, "B", 0.5}};
    assert_positions(f, rows, 2);
}

/* Threshold 0.05 on 50/50 A, B: A's drifted weight is 0.5238, 0.5333, 0.5, 0.5417, 0.5106
 * (no trade) then 70000/125000 = 0.56 on 01-09: off by 0.06 > 0.05 → trade. */
static void threshold_drift(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "{\"rebalance\":{\"threshold\":0.05},\"elements\":[" EQUAL(T("A") "," T("B")) "]}");
    assert_int_equal(f->options.rebalance, LV_REBALANCE_THRESHOLD);
    const double eq[] = {100000,
                         105000,
                         112500,
                         110000,
                         120000,
                         117500,
                         125000,
                         135146.1038961039,
                         133522.7272727273,
                         139610.3896103896};
    assert_curve(f, 1, eq, 10);
    assert_near(f->result.metrics.value[LV_METRIC_TRADES], 4);
}

/* 10 bps: the first buy moves weight 1 → 100000 × 1 × 0.001 = 100 is charged at the 01-01
 * close. equity_curve[0] is the capital before it; then 99900 × SPY/100. */
static void costs_are_charged_at_trades(void **state)
{
    struct fixture *f = *state;
    f->options.cost_bps = 10;
    run_ok(f, "[" T("SPY") "]");
    assert_near(f->result.equity[0], 100000);
    assert_near(f->result.equity[1], 100899);
    assert_near(f->result.equity[9], 106893);
    /* S2 with costs: each switch moves weight 2 (sell 1, buy 1) */
    run_ok(f, S2);
    /* 01-01 buy B: 100000 → 99900; B flat → 99900; × 21/20 = 104895; 01-03 switch costs
     * 0.2 %: 104685.21 × 11/12 = 95961.44 */
    assert_near(f->result.equity[1], 99900);
    assert_near(f->result.equity[2], 104895);
    assert_near(f->result.equity[3], 104895 * (1 - 0.002) * 11 / 12);
}

/* ---- Data gaps, window start, errors ----------------------------------------------------------
 */

/* A has no bar on 01-04: held, it keeps its 01-03 close (0 % that day) and resumes from it
 * (13/12 on 01-05); its indicator is missing that day, and the gate reading it places
 * nothing (a cash day, noted with the date). */
static void held_ticker_missing_a_bar(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" T("A") "]");
    const double eq[] = {100000, 110000, 120000, 120000, 130000,
                         120000, 140000, 150000, 140000, 160000};
    assert_curve(f, 1, eq, 10);
    assert_int_equal(f->result.n_warnings, 1);
    assert_non_null(strstr(f->result.warnings[0], "2024-01-04 A"));

    run_ok(f, "[{\"type\":\"gate\",\"weight\":100,\"conditionMode\":\"if\",\"conditions\":[{"
              "\"ticker\":\"A\",\"indicator\":\"CURRENT_PRICE\",\"params\":{},\"operator\":\"gt\","
              "\"compareTo\":\"threshold\",\"threshold\":\"0\"}],\"thenChildren\":[" T(
                  "B") "],\"elseChildren\":[]}]");
    /* decision 01-04 has no A value: cash from 01-04 to 01-05 (B 22 → 22 anyway, so check
     * the exposure: 8 invested days of 9) */
    assert_near(f->result.metrics.value[LV_METRIC_EXPOSURE], 8.0 / 9);
    assert_int_equal(f->result.n_warnings, 1);
    assert_non_null(strstr(f->result.warnings[0], "missing inputs on 1 day"));
    assert_non_null(strstr(f->result.warnings[0], "2024-01-04 A CURRENT_PRICE"));
    /* going to cash lists B at 0 on 01-04, and B again on 01-05 */
    const struct row rows[] = {{1, "B", 1}, {4, "B", 0}, {5, "B", 1}};
    assert_positions(f, rows, 3);
}

static void requested_start_wins_when_later(void **state)
{
    struct fixture *f = *state;
    f->options.start = jan(6); /* a Saturday: the window starts on the next trading day */
    run_ok(f, "[" T("SPY") "]");
    assert_int_equal(f->result.window_start, jan(8));
    assert_string_equal(f->result.start_reason, "requested start 2024-01-06");
    assert_near(f->result.equity[4], 100000 * 107.0 / 104);
    /* an earlier request does not move the start before the data allows */
    f->options.start = lv_day_from_ymd(2023, 1, 1);
    run_ok(f, "[" SORT_TOP1("RETURN", "{\"period\":\"2\"}", T("A") "," T("B")) "]");
    assert_int_equal(f->result.window_start, jan(3));
}

static void missing_symbol_is_named(void **state)
{
    struct fixture *f = *state;
    compile(f, "[" T("ZZZ") "," GATE_SPY_ABOVE("1", T("QQQ"), T("A")) "]");
    assert_int_equal(run(f), -1);
    assert_string_equal(f->err.message, "no bars for symbols QQQ, ZZZ");
    f->options = (struct lv_backtest_options){0};
    lv_backtest_options_init(&f->options);
    strcpy(f->options.benchmark, "IWM");
    compile(f, "[" T("A") "]");
    assert_int_equal(run(f), -1);
    assert_string_equal(f->err.message, "no bars for benchmark symbol IWM");
}

static void too_few_days_is_an_error(void **state)
{
    struct fixture *f = *state;
    f->options.end = jan(1);
    compile(f, "[" T("SPY") "]");
    assert_int_equal(run(f), -1);
    assert_non_null(strstr(f->err.message, "fewer than 2 trading days"));
    /* SMA(20) never exists on 10 bars */
    f->options.end = LV_DAY_NONE;
    compile(f, "[{\"type\":\"gate\",\"weight\":100,\"conditionMode\":\"if\",\"conditions\":[{"
               "\"ticker\":\"SPY\",\"indicator\":\"SMA\",\"params\":{},\"operator\":\"gt\","
               "\"compareTo\":\"threshold\",\"threshold\":\"1\"}],\"thenChildren\":[" T(
                   "A") "],\"elseChildren\":[]}]");
    assert_int_equal(run(f), -1);
    assert_string_equal(f->err.message, "SPY SMA(period=20) has no value on or before 2024-01-12");
}

static void end_date_cuts_the_grid(void **state)
{
    struct fixture *f = *state;
    f->options.end = jan(7); /* Sunday: the last grid day is Friday 01-05 */
    compile(f, "[" T("SPY") "]");
    assert_int_equal(run(f), 0);
    assert_int_equal(f->result.n_days, 5);
    assert_int_equal(f->result.window_end, jan(5));
}

/* ---- Options and JSON ----------------------------------------------------------------------- */

static void options_from_documents(void **state)
{
    (void)state;
    struct lv_backtest_options o;
    lv_backtest_options_init(&o);
    struct lv_problems problems = {0};
    json_t *doc = json_loads("{\"benchmarkSymbol\":\"qqq\",\"start_date\":\"2020-01-02\","
                             "\"endDate\":\"max\",\"initial_capital\":\"5000\","
                             "\"rebalance\":\"Monthly\",\"cost_bps\":2.5}",
                             0, NULL);
    assert_int_equal(lv_backtest_options_read(doc, &o, &problems), 0);
    assert_string_equal(o.benchmark, "QQQ");
    assert_int_equal(o.start, lv_day_from_ymd(2020, 1, 2));
    assert_int_equal(o.end, LV_DAY_NONE);
    assert_near(o.initial_capital, 5000);
    assert_int_equal(o.rebalance, LV_REBALANCE_MONTHLY);
    assert_near(o.cost_bps, 2.5);
    json_decref(doc);
    /* a request overrides the document */
    doc = json_loads("{\"start_date\":\"max\",\"rebalance\":{\"threshold\":\"0.1\"}}", 0, NULL);
    assert_int_equal(lv_backtest_options_read(doc, &o, &problems), 0);
    assert_int_equal(o.start, LV_DAY_NONE);
    assert_int_equal(o.rebalance, LV_REBALANCE_THRESHOLD);
    assert_near(o.threshold, 0.1);
    json_decref(doc);
    /* every bad field reported with its pointer; good ones still read */
    doc = json_loads("{\"start_date\":\"2020-13-01\",\"endDate\":5,\"initial_capital\":0,"
                     "\"rebalance\":\"hourly\",\"cost_bps\":\"1e\",\"benchmark_symbol\":\"S P\"}",
                     0, NULL);
    assert_int_equal(lv_backtest_options_read(doc, &o, &problems), -1);
    assert_int_equal(problems.count, 6);
    assert_string_equal(problems.items[0].path, "/benchmark_symbol");
    assert_string_equal(problems.items[1].path, "/start_date");
    assert_string_equal(problems.items[1].message,
                        "must be a date YYYY-MM-DD or \"max\", got \"2020-13-01\"");
    assert_string_equal(problems.items[2].path, "/endDate");
    assert_string_equal(problems.items[3].path, "/initial_capital");
    assert_string_equal(problems.items[4].path, "/rebalance");
    assert_string_equal(problems.items[5].path, "/cost_bps");
    assert_string_equal(o.benchmark, "QQQ");
    lv_problems_free(&problems);
    json_decref(doc);

    enum lv_rebalance kind;
    double threshold = 0;
    struct lv_error err;
    assert_int_equal(lv_rebalance_parse("threshold:0.05", &kind, &threshold, &err), 0);
    assert_int_equal(kind, LV_REBALANCE_THRESHOLD);
    assert_near(threshold, 0.05);
    assert_int_equal(lv_rebalance_parse("threshold:1.5", &kind, &threshold, &err), -1);
    assert_int_equal(lv_rebalance_parse("Quarterly", &kind, &threshold, &err), 0);
    assert_int_equal(kind, LV_REBALANCE_QUARTERLY);
}

static void symbols_a_run_needs(void **state)
{
    struct fixture *f = *state;
    compile(f, "[" T("B") "," GATE_SPY_ABOVE("1", T("A"), "") "]");
    char symbols[8][LV_SYMBOL_MAX];
    assert_int_equal(lv_backtest_symbols(f->strategy, &f->options, symbols, 8), 3);
    assert_string_equal(symbols[0], "A");
    assert_string_equal(symbols[1], "B");
    assert_string_equal(symbols[2], "SPY");
}

static void result_json_has_the_spec_shape(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" T("SPY") "]");
    json_t *obj = lv_backtest_result_to_json(&f->result);
    assert_non_null(obj);
    const char *keys[] = {"metrics",   "benchmark_metrics", "equity_curve", "benchmark_curve",
                          "positions", "warnings",          "window",       "timing"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(json_object_get(obj, keys[i]));
    json_t *point = json_array_get(json_object_get(obj, "equity_curve"), 9);
    assert_string_equal(json_string_value(json_object_get(point, "date")), "2024-01-12");
    assert_near(json_number_value(json_object_get(point, "value")), 107000);
    json_t *row = json_array_get(json_object_get(obj, "positions"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "ticker")), "SPY");
    json_t *window = json_object_get(obj, "window");
    assert_string_equal(json_string_value(json_object_get(window, "start")), "2024-01-01");
    assert_string_equal(json_string_value(json_object_get(window, "end")), "2024-01-12");
    assert_non_null(json_object_get(json_object_get(obj, "timing"), "total_ms"));
    /* SPY never loses against itself: sortino is null in JSON, never NaN */
    char *text = json_dumps(obj, 0);
    assert_null(strstr(text, "NaN"));
    assert_null(strstr(text, "nan"));
    free(text);
    json_decref(obj);
}

/* A second run on the same workspace and result gives the same answer (buffers reused). */
static void runs_are_repeatable(void **state)
{
    struct fixture *f = *state;
    run_ok(f, "[" SORT_TOP1("CUMULATIVE_RETURN", "{}", T("A") "," EQUAL(T("A") "," T("B"))) "]");
    double first = f->result.equity[9];
    run_ok(f, "[" T("SPY") "]");
    run_ok(f, "[" SORT_TOP1("CUMULATIVE_RETURN", "{}", T("A") "," EQUAL(T("A") "," T("B"))) "]");
    assert_true(f->result.equity[9] == first);
    assert_int_equal(f->result.n_positions, 8);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(s1_hold_spy),
        TEST(s2_gate_on_price),
        TEST(s3_sort_cumulative_return),
        TEST(s4_sort_return_window),
        TEST(s5_gate_on_sma_window),
        TEST(s7_scale),
        TEST(sort_scores_a_branch_by_its_simulated_equity),
        TEST(weekly_gate),
        TEST(monthly_gate),
        TEST(weekly_drift),
        TEST(threshold_drift),
        TEST(costs_are_charged_at_trades),
        cmocka_unit_test_setup_teardown(held_ticker_missing_a_bar, setup_a_gap, teardown),
        TEST(requested_start_wins_when_later),
        TEST(missing_symbol_is_named),
        TEST(too_few_days_is_an_error),
        TEST(end_date_cuts_the_grid),
        cmocka_unit_test(options_from_documents),
        TEST(symbols_a_run_needs),
        TEST(result_json_has_the_spec_shape),
        TEST(runs_are_repeatable),
    };
    return cmocka_run_group_tests_name("backtest", tests, NULL, NULL);
}
