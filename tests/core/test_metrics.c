/* test_metrics.c — the §7 metrics against values worked out by hand (the arithmetic is in the
 * comments), degenerate curves that must give null, and the JSON form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

/* Equal within 1e-9, relative to the expected value when it is above 1. */
static void assert_close(double actual, double expected)
{
    assert_true(fabs(actual - expected) <= 1e-9 * fmax(1.0, fabs(expected)));
}

static lv_day jan(int day)
{
    return lv_day_from_ymd(2024, 1, day);
}

/* Equity 100, 110, 99, 108.9, 108.9 on 2024-01-01..05 → r = +0.1, −0.1, +0.1, 0 (n = 4).
 * Benchmark 100, 105, 105, 110.25, 99.225 → b = +0.05, 0, +0.05, −0.1. */
static void hand_computed_curve(void **state)
{
    (void)state;
    const double equity[] = {100, 110, 99, 108.9, 108.9};
    const double bench[] = {100, 105, 105, 110.25, 99.225};
    const lv_day days[] = {jan(1), jan(2), jan(3), jan(4), jan(5)};
    const struct lv_trading_stats trading = {.invested_days = 3, .turnover = 1.5, .trades = 7};
    struct lv_metrics m;
    lv_metrics_compute(equity, days, 5, bench, &trading, &m);

    /* 108.9/100 − 1 */
    assert_close(m.value[LV_METRIC_TOTAL_RETURN], 0.089);
    /* 1.089^(252/4) − 1 = 1.089^63 − 1 */
    assert_close(m.value[LV_METRIC_CAGR], 214.15746790375783);
    /* mean = 0.1/4 = 0.025; deviations .075 −.125 .075 −.025; Σ² = .0275; var = .0275/3;
     * sd = 0.0957427; × √252 */
    assert_close(m.value[LV_METRIC_VOLATILITY], 1.519868415357067);
    /* 0.025 / 0.0957427 × √252 */
    assert_close(m.value[LV_METRIC_SHARPE], 4.145095678246552);
    /* downside √((0.1²)/4) = 0.05; 0.025/0.05 × √252 = 0.5 × 15.8745 */
    assert_close(m.value[LV_METRIC_SORTINO], 7.93725393319379);
    /* peak 110 on 01-02, trough 99: 99/110 − 1 */
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN], -0.1);
    /* never regains 110: from the peak 01-02 to the last date 01-05 */
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN_DAYS], 3);
    /* cagr / 0.1 */
    assert_close(m.value[LV_METRIC_CALMAR], 2141.5746790375783);
    /* 2 up days of 3 non-zero days */
    assert_close(m.value[LV_METRIC_WIN_RATE], 2.0 / 3.0);
    assert_close(m.value[LV_METRIC_BEST_DAY], 0.1);
    assert_close(m.value[LV_METRIC_WORST_DAY], -0.1);
    /* mean b = 0; cov = (.075·.05 + 0 + .075·.05 + (−.025)(−.1))/3 = .01/3;
     * var b = (.0025 + 0 + .0025 + .01)/3 = .005; beta = (.01/3)/.005 = 2/3 */
    assert_close(m.value[LV_METRIC_BETA], 2.0 / 3.0);
    /* (0.025 − 2/3 · 0) · 252 */
    assert_close(m.value[LV_METRIC_ALPHA], 6.3);
    /* (.01/3) / √(.0275/3 · .005) */
    assert_close(m.value[LV_METRIC_CORRELATION], 0.4923659639173311);
    /* 3 invested days of 4; 1.5 / (4/252); 7 trades */
    assert_close(m.value[LV_METRIC_EXPOSURE], 0.75);
    assert_close(m.value[LV_METRIC_TURNOVER], 94.5);
    assert_close(m.value[LV_METRIC_TRADES], 7);
}

/* Drawdown spans are calendar days from the peak's date to the date the peak is regained. */
static void drawdown_days_to_recovery(void **state)
{
    (void)state;
    struct lv_metrics m;
    /* peak 100 on 01-01, regained exactly on 01-04: 3 days; the later dip 01-05 is shorter */
    const double equity[] = {100, 90, 95, 100, 99, 101};
    const lv_day days[] = {jan(1), jan(2), jan(3), jan(4), jan(5), jan(6)};
    lv_metrics_compute(equity, days, 6, NULL, NULL, &m);
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN_DAYS], 3);
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN], -0.1);
    /* over a weekend: peak Friday 01-05, regained Tuesday 01-09 = 4 calendar days */
    const double weekend[] = {100, 99, 100};
    const lv_day weekend_days[] = {jan(5), jan(8), jan(9)};
    lv_metrics_compute(weekend, weekend_days, 3, NULL, NULL, &m);
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN_DAYS], 4);
    /* without benchmark or trading statistics, those metrics are undefined */
    assert_true(isnan(m.value[LV_METRIC_BETA]));
    assert_true(isnan(m.value[LV_METRIC_EXPOSURE]));
}

/* Flat equity: no variance, no losing day, no drawdown, no non-zero day. */
static void flat_curve_is_undefined_not_zero(void **state)
{
    (void)state;
    const double flat[] = {100, 100, 100};
    const lv_day days[] = {jan(1), jan(2), jan(3)};
    struct lv_metrics m;
    lv_metrics_compute(flat, days, 3, flat, NULL, &m);
    assert_close(m.value[LV_METRIC_TOTAL_RETURN], 0);
    assert_close(m.value[LV_METRIC_CAGR], 0);
    assert_close(m.value[LV_METRIC_VOLATILITY], 0);
    assert_true(isnan(m.value[LV_METRIC_SHARPE]));
    assert_true(isnan(m.value[LV_METRIC_SORTINO]));
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN], 0);
    assert_close(m.value[LV_METRIC_MAX_DRAWDOWN_DAYS], 0);
    assert_true(isnan(m.value[LV_METRIC_CALMAR]));
    assert_true(isnan(m.value[LV_METRIC_WIN_RATE]));
    assert_true(isnan(m.value[LV_METRIC_BETA])); /* var(b) = 0 */
    assert_true(isnan(m.value[LV_METRIC_CORRELATION]));
}

/* Only gains: sortino has no downside; 100 → 101 → 103 has r = .01, .0198 so sharpe exists. */
static void no_losing_day(void **state)
{
    (void)state;
    const double up[] = {100, 101, 103};
    const lv_day days[] = {jan(1), jan(2), jan(3)};
    struct lv_metrics m;
    lv_metrics_compute(up, days, 3, NULL, NULL, &m);
    assert_true(isnan(m.value[LV_METRIC_SORTINO]));
    assert_false(isnan(m.value[LV_METRIC_SHARPE]));
    assert_close(m.value[LV_METRIC_WIN_RATE], 1);
}

/* One point: nothing is defined. Two points (n = 1): no sample deviation yet. */
static void too_short(void **state)
{
    (void)state;
    const double two[] = {100, 102};
    const lv_day days[] = {jan(1), jan(2)};
    struct lv_metrics m;
    lv_metrics_compute(two, days, 1, NULL, NULL, &m);
    for (int i = 0; i < LV_METRIC_COUNT; i++)
        assert_true(isnan(m.value[i]));
    lv_metrics_compute(two, days, 2, two, NULL, &m);
    assert_close(m.value[LV_METRIC_TOTAL_RETURN], 0.02);
    /* 1.02^252 − 1 */
    assert_close(m.value[LV_METRIC_CAGR], pow(1.02, 252) - 1);
    assert_true(isnan(m.value[LV_METRIC_VOLATILITY]));
    assert_true(isnan(m.value[LV_METRIC_SHARPE]));
    assert_true(isnan(m.value[LV_METRIC_BETA]));
    assert_close(m.value[LV_METRIC_BEST_DAY], 0.02);
}

static void json_has_every_key_in_order_and_null_for_nan(void **state)
{
    (void)state;
    const double flat[] = {100, 100, 100};
    const lv_day days[] = {jan(1), jan(2), jan(3)};
    const struct lv_trading_stats trading = {.invested_days = 0, .turnover = 0, .trades = 0};
    struct lv_metrics m;
    lv_metrics_compute(flat, days, 3, NULL, &trading, &m);
    json_t *obj = lv_metrics_to_json(&m);
    assert_non_null(obj);
    assert_int_equal(json_object_size(obj), LV_METRIC_COUNT);
    const char *key;
    json_t *value;
    int i = 0;
    json_object_foreach(obj, key, value)
    {
        assert_string_equal(key, lv_metric_names[i++]);
    }
    assert_true(json_is_null(json_object_get(obj, "sharpe")));
    assert_true(json_is_integer(json_object_get(obj, "trades")));
    assert_true(json_is_integer(json_object_get(obj, "max_drawdown_days")));
    assert_true(json_is_real(json_object_get(obj, "total_return")));
    char *text = json_dumps(obj, 0);
    assert_null(strstr(text, "NaN"));
    assert_string_equal(lv_metric_names[0], "total_return");
    assert_string_equal(lv_metric_names[LV_METRIC_TRADES], "trades");
    free(text);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed_curve),
        cmocka_unit_test(drawdown_days_to_recovery),
        cmocka_unit_test(flat_curve_is_undefined_not_zero),
        cmocka_unit_test(no_losing_day),
        cmocka_unit_test(too_short),
        cmocka_unit_test(json_has_every_key_in_order_and_null_for_nan),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
