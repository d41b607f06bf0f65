/* test_indicators.c — every indicator against TA-Lib's own values (data/golden), plus the
 * catalogue (names, parameters, lookbacks) and the edge cases the golden files do not reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/indicators.h"
#include "csv_table.h"

/* ---- Fixture: SPY and TLT prices with their golden columns ------------------------------- */

struct symbol_data {
    const char *symbol;
    struct csv_table prices, golden;
    struct lv_bars_view bars;
};

struct fixture {
    struct symbol_data symbols[2];
};

static int load_symbol(struct symbol_data *data, const char *symbol)
{
    char path[1024], name[64];
    data->symbol = symbol;
    snprintf(name, sizeof name, "data/etf/%s.csv", symbol);
    if (csv_table_load(csv_shared_path(name, path, sizeof path), &data->prices) != 0)
        return -1;
    snprintf(name, sizeof name, "data/golden/%s.csv", symbol);
    if (csv_table_load(csv_shared_path(name, path, sizeof path), &data->golden) != 0)
        return -1;
    data->bars = (struct lv_bars_view){
        .open = csv_table_column(&data->prices, "open"),
        .high = csv_table_column(&data->prices, "high"),
        .low = csv_table_column(&data->prices, "low"),
        .close = csv_table_column(&data->prices, "close"),
        .volume = csv_table_column(&data->prices, "volume"),
        .n = data->prices.n_rows,
    };
    if (data->bars.close == NULL || data->bars.volume == NULL ||
        data->golden.n_rows != data->bars.n) {
        fprintf(stderr, "%s: unexpected price or golden file layout\n", symbol);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    *state = fx;
    if (load_symbol(&fx->symbols[0], "SPY") != 0 || load_symbol(&fx->symbols[1], "TLT") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    for (int s = 0; s < 2; s++) {
        csv_table_free(&fx->symbols[s].prices);
        csv_table_free(&fx->symbols[s].golden);
    }
    free(fx);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

/* cmocka 1.1.7 has no floating-point assertion. */
#define assert_near(got, want, tolerance)                                                          \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        if (!(fabs(got_ - want_) <= (tolerance)))                                                  \
            fail_msg("%s = %.17g, want %.17g", #got, got_, want_);                                 \
    } while (0)

/* Computes an indicator into a new array (caller frees); fails the test on error. */
static double *compute(enum lv_ind kind, const struct lv_ind_params *params,
                       const struct lv_bars_view *bars)
{
    double *out = malloc((bars->n + 1) * sizeof *out);
    size_t scratch_n = lv_ind_scratch_size(kind, bars->n);
    double *scratch = scratch_n ? malloc(scratch_n * sizeof *scratch) : NULL;
    assert_non_null(out);
    struct lv_error err = {{0}};
    int rc = lv_ind_compute(kind, params, bars, out, scratch, &err);
    if (rc != 0)
        fail_msg("%s: %s", lv_ind_spec(kind)->name, err.message);
    free(scratch);
    return out;
}

static struct lv_ind_params params_of(enum lv_ind kind, int n_values, ...)
{
    struct lv_ind_params params;
    lv_ind_default_params(kind, &params);
    va_list args;
    va_start(args, n_values);
    for (int i = 0; i < n_values; i++)
        params.v[i] = va_arg(args, double);
    va_end(args);
    return params;
}

/* The golden README's metric: 1e-9 relative, or 1e-9 absolute where |want| < 1. Absolute
 * near zero is right for these columns: oscillators and returns cross zero, and an error of
 * 1e-9 there is far below anything a strategy threshold can see, while the README's cross-
 * check shows a correct implementation lands within ~1e-12 everywhere. */
static bool close_enough(double got, double want)
{
    return fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want));
}

/* Compares a computed series with a golden column over every row: the same empty cells
 * (NaN), and close_enough elsewhere. Also checks the first defined row is the lookback. */
static void expect_series(const struct symbol_data *data, const char *column, const double *got,
                          int lookback)
{
    const double *want = csv_table_column(&data->golden, column);
    if (want == NULL)
        fail_msg("golden column %s missing", column);
    size_t first_defined = data->bars.n;
    for (size_t i = 0; i < data->bars.n; i++) {
        if (isnan(want[i]) != isnan(got[i]))
            fail_msg("%s %s row %zu: got %.17g, want %.17g", data->symbol, column, i, got[i],
                     want[i]);
        if (!isnan(want[i]) && !close_enough(got[i], want[i]))
            fail_msg("%s %s row %zu: got %.17g, want %.17g (diff %.3g)", data->symbol, column, i,
                     got[i], want[i], got[i] - want[i]);
        if (!isnan(got[i]) && first_defined == data->bars.n)
            first_defined = i;
    }
    assert_int_equal(first_defined, (size_t)lookback);
}

/* Checks one indicator with the given parameters against a golden column of both symbols. */
static void expect_golden(void **state, enum lv_ind kind, struct lv_ind_params params,
                          const char *column)
{
    struct fixture *fx = *state;
    for (int s = 0; s < 2; s++) {
        double *got = compute(kind, &params, &fx->symbols[s].bars);
        expect_series(&fx->symbols[s], column, got, lv_ind_lookback(kind, &params));
        free(got);
    }
}

/* ---- Golden comparisons, one test per family ----------------------------------------------- */

static void golden_sma(void **state)
{
    expect_golden(state, LV_IND_SMA, params_of(LV_IND_SMA, 1, 20.0), "SMA_20");
    expect_golden(state, LV_IND_SMA, params_of(LV_IND_SMA, 1, 200.0), "SMA_200");
}

static void golden_ema(void **state)
{
    expect_golden(state, LV_IND_EMA, params_of(LV_IND_EMA, 1, 20.0), "EMA_20");
    expect_golden(state, LV_IND_EMA, params_of(LV_IND_EMA, 1, 50.0), "EMA_50");
}

static void golden_rsi(void **state)
{
    expect_golden(state, LV_IND_RSI, params_of(LV_IND_RSI, 1, 14.0), "RSI_14");
    expect_golden(state, LV_IND_RSI, params_of(LV_IND_RSI, 1, 2.0), "RSI_2");
}

static void golden_macd(void **state)
{
    struct lv_ind_params p = params_of(LV_IND_MACD, 3, 12.0, 26.0, 9.0);
    expect_golden(state, LV_IND_MACD_LINE, p, "MACD_LINE_12_26_9");
    expect_golden(state, LV_IND_MACD_SIGNAL, p, "MACD_SIGNAL_12_26_9");
    expect_golden(state, LV_IND_MACD_HIST, p, "MACD_HIST_12_26_9");
    expect_golden(state, LV_IND_MACD, p, "MACD_HIST_12_26_9"); /* plain MACD = histogram */
    /* TA-Lib swaps a fast period longer than the slow one. */
    expect_golden(state, LV_IND_MACD_LINE, params_of(LV_IND_MACD, 3, 26.0, 12.0, 9.0),
                  "MACD_LINE_12_26_9");
}

static void golden_ppo(void **state)
{
    struct lv_ind_params p = params_of(LV_IND_PPO_LINE, 4, 12.0, 26.0, 0.0, 9.0);
    expect_golden(state, LV_IND_PPO_LINE, p, "PPO_LINE_12_26_0");
    expect_golden(state, LV_IND_PPO_SIGNAL, p, "PPO_SIGNAL_12_26_0_9");
    expect_golden(state, LV_IND_PPO_HIST, p, "PPO_HIST_12_26_0_9");
}

static void golden_bbands(void **state)
{
    struct lv_ind_params p = params_of(LV_IND_BBANDS_MIDDLE, 4, 20.0, 2.0, 2.0, 0.0);
    expect_golden(state, LV_IND_BBANDS_UPPER, p, "BBANDS_UPPER_20_2_2_0");
    expect_golden(state, LV_IND_BBANDS_MIDDLE, p, "BBANDS_MIDDLE_20_2_2_0");
    expect_golden(state, LV_IND_BBANDS_LOWER, p, "BBANDS_LOWER_20_2_2_0");
}

static void golden_atr(void **state)
{
    expect_golden(state, LV_IND_ATR, params_of(LV_IND_ATR, 1, 14.0), "ATR_14");
}

static void golden_adx(void **state)
{
    expect_golden(state, LV_IND_ADX, params_of(LV_IND_ADX, 1, 14.0), "ADX_14");
}

static void golden_mfi(void **state)
{
    expect_golden(state, LV_IND_MFI, params_of(LV_IND_MFI, 1, 14.0), "MFI_14");
}

static void golden_stoch(void **state)
{
    /* Column STOCH_K_14_3_0_3_0 = fastk, slowk, slowk MA type, slowd, slowd MA type: the
     * same order as the parameters. */
    expect_golden(state, LV_IND_STOCH_K, params_of(LV_IND_STOCH_K, 5, 14.0, 3.0, 0.0, 3.0, 0.0),
                  "STOCH_K_14_3_0_3_0");
}

static void golden_aroon(void **state)
{
    struct lv_ind_params p = params_of(LV_IND_AROON_UP, 1, 25.0);
    expect_golden(state, LV_IND_AROON_UP, p, "AROON_UP_25");
    expect_golden(state, LV_IND_AROON_DOWN, p, "AROON_DOWN_25");
    expect_golden(state, LV_IND_AROONOSC, p, "AROONOSC_25");
}

static void golden_obv(void **state)
{
    expect_golden(state, LV_IND_OBV, params_of(LV_IND_OBV, 0), "OBV");
}

static void golden_return(void **state)
{
    expect_golden(state, LV_IND_RETURN, params_of(LV_IND_RETURN, 1, 200.0), "RETURN_200");
    expect_golden(state, LV_IND_RETURN, params_of(LV_IND_RETURN, 1, 20.0), "RETURN_20");
    /* With a period, CUMULATIVE_RETURN is RETURN. */
    expect_golden(state, LV_IND_CUMULATIVE_RETURN, params_of(LV_IND_CUMULATIVE_RETURN, 1, 20.0),
                  "RETURN_20");
}

static void golden_volatility(void **state)
{
    expect_golden(state, LV_IND_VOLATILITY, params_of(LV_IND_VOLATILITY, 2, 20.0, 1.0),
                  "VOLATILITY_20_ANNUAL");
    expect_golden(state, LV_IND_VOLATILITY, params_of(LV_IND_VOLATILITY, 2, 20.0, 0.0),
                  "VOLATILITY_20_RAW");
}

/* ---- MA-type variants the golden files do not cover: against textbook formulas ------------ */

/* EMA of x[from..n) seeded with the mean of its first `period` values; NaN before. */
static void naive_ema(const double *x, size_t from, size_t n, int period, double *out)
{
    double k = 2.0 / (period + 1), value = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = NAN;
        if (i < from + (size_t)period - 1)
            continue;
        if (i == from + (size_t)period - 1) {
            value = 0;
            for (size_t j = from; j <= i; j++)
                value += x[j];
            value /= period;
        } else {
            value = value + k * (x[i] - value);
        }
        out[i] = value;
    }
}

static void expect_near_series(const double *got, const double *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) != isnan(want[i]))
            fail_msg("row %zu: got %.17g, want %.17g", i, got[i], want[i]);
        if (!isnan(want[i]) && !close_enough(got[i], want[i]))
            fail_msg("row %zu: got %.17g, want %.17g", i, got[i], want[i]);
    }
}

static void ema_matype_variants(void **state)
{
    const struct lv_bars_view *bars = &((struct fixture *)*state)->symbols[0].bars;
    size_t n = bars->n;
    double *fast = calloc(n, sizeof *fast), *slow = calloc(n, sizeof *slow);
    double *want = calloc(n, sizeof *want);
    assert_true(fast != NULL && slow != NULL && want != NULL);

    /* PPO with EMAs: both standalone EMAs from bar 0 (unlike MACD). */
    naive_ema(bars->close, 0, n, 12, fast);
    naive_ema(bars->close, 0, n, 26, slow);
    for (size_t i = 0; i < n; i++)
        want[i] = 100 * (fast[i] - slow[i]) / slow[i];
    struct lv_ind_params p = params_of(LV_IND_PPO_LINE, 4, 12.0, 26.0, 1.0, 9.0);
    double *got = compute(LV_IND_PPO_LINE, &p, bars);
    expect_near_series(got, want, n);
    free(got);

    /* Bollinger middle = EMA, bands = EMA ± 2·population deviation around the SMA. */
    naive_ema(bars->close, 0, n, 20, fast);
    p = params_of(LV_IND_BBANDS_UPPER, 4, 20.0, 2.0, 2.0, 1.0);
    got = compute(LV_IND_BBANDS_UPPER, &p, bars);
    for (size_t i = 0; i < n; i++) {
        want[i] = NAN;
        if (i < 19)
            continue;
        double mean = 0, squares = 0;
        for (size_t j = i - 19; j <= i; j++)
            mean += bars->close[j] / 20;
        for (size_t j = i - 19; j <= i; j++)
            squares += (bars->close[j] - mean) * (bars->close[j] - mean);
        want[i] = fast[i] + 2 * sqrt(squares / 20);
    }
    expect_near_series(got, want, n);
    free(got);

    /* Slow %K with an EMA(3) of fast %K (fast %K from bar 13), emitted from bar 15 + 2. */
    double *fast_k = calloc(n, sizeof *fast_k);
    assert_non_null(fast_k);
    for (size_t i = 13; i < n; i++) {
        double high = bars->high[i], low = bars->low[i];
        for (size_t j = i - 13; j < i; j++) {
            high = fmax(high, bars->high[j]);
            low = fmin(low, bars->low[j]);
        }
        fast_k[i] = high > low ? 100 * (bars->close[i] - low) / (high - low) : 0;
    }
    naive_ema(fast_k, 13, n, 3, want);
    for (size_t i = 0; i < 17; i++)
        want[i] = NAN;
    p = params_of(LV_IND_STOCH_K, 5, 14.0, 3.0, 1.0, 3.0, 0.0);
    got = compute(LV_IND_STOCH_K, &p, bars);
    expect_near_series(got, want, n);
    free(got);
    free(fast_k);
    free(fast);
    free(slow);
    free(want);
}

/* ---- Sliding extremes against a plain scan, on data full of ties --------------------------- */

static void aroon_and_stoch_with_ties(void **state)
{
    (void)state;
    enum { N = 600 };
    double high[N], low[N], close[N], volume[N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        low[i] = (double)((seed >> 16) % 5); /* few distinct values: many ties */
        high[i] = low[i] + (double)((seed >> 8) % 3);
        close[i] = (low[i] + high[i]) / 2;
        volume[i] = 1000;
    }
    struct lv_bars_view bars = {.high = high, .low = low, .close = close, .volume = volume, .n = N};
    const int period = 7;
    struct lv_ind_params p = params_of(LV_IND_AROON_UP, 1, (double)period);
    double *up = compute(LV_IND_AROON_UP, &p, &bars);
    double *down = compute(LV_IND_AROON_DOWN, &p, &bars);
    double *osc = compute(LV_IND_AROONOSC, &p, &bars);
    struct lv_ind_params stoch_p = params_of(LV_IND_STOCH_K, 5, 5.0, 1.0, 0.0, 1.0, 0.0);
    double *stoch = compute(LV_IND_STOCH_K, &stoch_p, &bars);
    for (int i = 0; i < N; i++) {
        if (i < period) {
            assert_true(isnan(up[i]) && isnan(down[i]) && isnan(osc[i]));
        } else {
            int high_at = i - period, low_at = i - period;
            for (int j = i - period; j <= i; j++) {
                if (high[j] >= high[high_at])
                    high_at = j; /* latest on ties */
                if (low[j] <= low[low_at])
                    low_at = j;
            }
            assert_near(up[i], 100.0 * (period - (i - high_at)) / period, 1e-12);
            assert_near(down[i], 100.0 * (period - (i - low_at)) / period, 1e-12);
            assert_near(osc[i], up[i] - down[i], 1e-12);
        }
        if (i < 4) {
            assert_true(isnan(stoch[i]));
        } else {
            double hh = high[i], ll = low[i];
            for (int j = i - 4; j < i; j++) {
                hh = fmax(hh, high[j]);
                ll = fmin(ll, low[j]);
            }
            assert_near(stoch[i], hh > ll ? 100 * (close[i] - ll) / (hh - ll) : 0, 1e-9);
        }
    }
    free(up);
    free(down);
    free(osc);
    free(stoch);
}

/* ---- Flat prices: every zero-denominator branch --------------------------------------------- */

static void flat_prices(void **state)
{
    (void)state;
    enum { N = 120 };
    double price[N], volume[N];
    for (int i = 0; i < N; i++) {
        price[i] = 42.5;
        volume[i] = 1e6;
    }
    struct lv_bars_view bars = {price, price, price, price, volume, N};
    static const struct {
        enum lv_ind kind;
        double value;
    } expected[] = {
        {LV_IND_RSI, 0},
        {LV_IND_STOCH_K, 0},
        {LV_IND_ADX, 0},
        {LV_IND_MFI, 0},
        {LV_IND_ATR, 0},
        {LV_IND_AROON_UP, 100},
        {LV_IND_AROON_DOWN, 100},
        {LV_IND_AROONOSC, 0},
        {LV_IND_BBANDS_UPPER, 42.5},
        {LV_IND_BBANDS_LOWER, 42.5},
        {LV_IND_VOLATILITY, 0},
        {LV_IND_PPO_LINE, 0},
        {LV_IND_MACD_LINE, 0},
        {LV_IND_RETURN, 0},
        {LV_IND_OBV, 1e6},
    };
    for (size_t e = 0; e < sizeof expected / sizeof expected[0]; e++) {
        struct lv_ind_params p;
        lv_ind_default_params(expected[e].kind, &p);
        if (expected[e].kind == LV_IND_RETURN)
            p.v[0] = 10;
        double *got = compute(expected[e].kind, &p, &bars);
        int lookback = lv_ind_lookback(expected[e].kind, &p);
        for (int i = lookback; i < N; i++) {
            if (got[i] != expected[e].value)
                fail_msg("%s bar %d: got %.17g, want %g", lv_ind_spec(expected[e].kind)->name, i,
                         got[i], expected[e].value);
        }
        free(got);
    }
}

/* TA-Lib's thresholds, where a textbook formula would give another answer: money flow below
 * 1.0 in total, RSI averages and Bollinger variances below 1e-14. */
static void tiny_denominators(void **state)
{
    (void)state;
    enum { N = 40 };
    double rising[N], tiny_steps[N], volume[N];
    for (int i = 0; i < N; i++) {
        rising[i] = 100 + i;
        tiny_steps[i] = 1e-3 + i * 1e-16;
        volume[i] = 0.0005; /* 14 bars of flow ~0.05 each: total 0.7 < 1 */
    }
    struct lv_bars_view bars = {rising, rising, rising, rising, volume, N};
    struct lv_ind_params p;
    lv_ind_default_params(LV_IND_MFI, &p);
    double *mfi = compute(LV_IND_MFI, &p, &bars);
    for (int i = 14; i < N; i++)
        assert_true(mfi[i] == 0);
    free(mfi);
    for (int i = 0; i < N; i++)
        volume[i] = 0.01; /* total 14: every flow positive */
    mfi = compute(LV_IND_MFI, &p, &bars);
    for (int i = 14; i < N; i++)
        assert_true(mfi[i] == 100);
    free(mfi);

    lv_ind_default_params(LV_IND_RSI, &p);
    double *rsi = compute(LV_IND_RSI, &p, &bars);
    assert_true(rsi[20] == 100);
    free(rsi);
    bars.close = tiny_steps; /* gains of ~1e-16 a bar count as no movement at all */
    rsi = compute(LV_IND_RSI, &p, &bars);
    for (int i = 14; i < N; i++)
        assert_true(rsi[i] == 0);
    free(rsi);

    lv_ind_default_params(LV_IND_BBANDS_UPPER, &p);
    double *upper = compute(LV_IND_BBANDS_UPPER, &p, &bars);
    double *middle = compute(LV_IND_BBANDS_MIDDLE, &p, &bars);
    for (int i = 19; i < N; i++)
        assert_true(upper[i] == middle[i]);
    free(upper);
    free(middle);
}

/* No look-ahead: a value depends only on the bars up to its own, so computing on a prefix
 * gives the same doubles, and a NaN bar after the prefix (not expected from callers, but it
 * must not crash) changes nothing before it. */
static void causal_and_nan_tolerant(void **state)
{
    const struct lv_bars_view *full = &((struct fixture *)*state)->symbols[0].bars;
    enum { PREFIX = 500, N = 900 };
    double high[N], low[N], close[N], volume[N];
    memcpy(high, full->high, sizeof high);
    memcpy(low, full->low, sizeof low);
    memcpy(close, full->close, sizeof close);
    memcpy(volume, full->volume, sizeof volume);
    high[PREFIX] = low[PREFIX] = close[PREFIX] = volume[PREFIX] = NAN;
    struct lv_bars_view prefix = *full, with_nan = {NULL, high, low, close, volume, N};
    prefix.n = PREFIX;
    for (int k = 0; k < LV_IND_COUNT; k++) {
        struct lv_ind_params p;
        lv_ind_default_params((enum lv_ind)k, &p);
        double *whole = compute((enum lv_ind)k, &p, full);
        double *part = compute((enum lv_ind)k, &p, &prefix);
        double *gap = compute((enum lv_ind)k, &p, &with_nan);
        for (size_t i = 0; i < PREFIX; i++) {
            bool same_part = (isnan(whole[i]) && isnan(part[i])) || whole[i] == part[i];
            bool same_gap = (isnan(whole[i]) && isnan(gap[i])) || whole[i] == gap[i];
            if (!same_part || !same_gap)
                fail_msg("%s bar %zu: %.17g, on a prefix %.17g, before a NaN %.17g",
                         lv_ind_spec((enum lv_ind)k)->name, i, whole[i], part[i], gap[i]);
        }
        free(whole);
        free(part);
        free(gap);
    }
}

/* ---- Series shorter than (or just reaching) the lookback ------------------------------------ */

static void short_series(void **state)
{
    (void)state;
    enum { N = 60 };
    double high[N], low[N], close[N], volume[N];
    for (int i = 0; i < N; i++) {
        close[i] = 100 + 10 * sin(i * 0.7);
        high[i] = close[i] + 1;
        low[i] = close[i] - 1.5;
        volume[i] = 1000 + i;
    }
    for (int k = 0; k < LV_IND_COUNT; k++) {
        struct lv_ind_params p;
        lv_ind_default_params((enum lv_ind)k, &p);
        if (k == LV_IND_RETURN)
            p.v[0] = 20; /* the default 200 exceeds the test series */
        size_t lookback = (size_t)lv_ind_lookback((enum lv_ind)k, &p);
        assert_true(lookback + 2 <= N);
        for (size_t n = 0; n <= lookback + 1; n++) {
            /* Exact-size heap buffers, so ASan sees any access past n. */
            double *h = malloc((n + 1) * sizeof *h), *l = malloc((n + 1) * sizeof *l);
            double *c = malloc((n + 1) * sizeof *c), *v = malloc((n + 1) * sizeof *v);
            memcpy(h, high, n * sizeof *h);
            memcpy(l, low, n * sizeof *l);
            memcpy(c, close, n * sizeof *c);
            memcpy(v, volume, n * sizeof *v);
            struct lv_bars_view bars = {NULL, h, l, c, v, n};
            double *got = compute((enum lv_ind)k, &p, &bars);
            for (size_t i = 0; i < n; i++) {
                if (isnan(got[i]) != (i < lookback))
                    fail_msg("%s n=%zu bar %zu: %g", lv_ind_spec((enum lv_ind)k)->name, n, i,
                             got[i]);
            }
            free(got);
            free(h);
            free(l);
            free(c);
            free(v);
        }
    }
}

/* ---- Catalogue ------------------------------------------------------------------------------ */

static void lookbacks(void **state)
{
    (void)state;
    static const struct {
        enum lv_ind kind;
        int lookback;
    } defaults[] = {
        {LV_IND_CURRENT_PRICE, 0},  {LV_IND_SMA, 19},
        {LV_IND_EMA, 19},           {LV_IND_RSI, 14},
        {LV_IND_MACD, 33},          {LV_IND_MACD_LINE, 33},
        {LV_IND_MACD_SIGNAL, 33},   {LV_IND_MACD_HIST, 33},
        {LV_IND_PPO_LINE, 25},      {LV_IND_PPO_SIGNAL, 33},
        {LV_IND_PPO_HIST, 33},      {LV_IND_BBANDS_UPPER, 19},
        {LV_IND_BBANDS_MIDDLE, 19}, {LV_IND_BBANDS_LOWER, 19},
        {LV_IND_ATR, 14},           {LV_IND_ADX, 27},
        {LV_IND_MFI, 14},           {LV_IND_STOCH_K, 17},
        {LV_IND_AROON_UP, 25},      {LV_IND_AROON_DOWN, 25},
        {LV_IND_AROONOSC, 25},      {LV_IND_OBV, 0},
        {LV_IND_RETURN, 200},       {LV_IND_CUMULATIVE_RETURN, 0},
        {LV_IND_VOLATILITY, 20},
    };
    assert_int_equal(sizeof defaults / sizeof defaults[0], LV_IND_COUNT);
    for (size_t d = 0; d < sizeof defaults / sizeof defaults[0]; d++) {
        struct lv_ind_params p;
        lv_ind_default_params(defaults[d].kind, &p);
        assert_int_equal(lv_ind_lookback(defaults[d].kind, &p), defaults[d].lookback);
    }
    struct lv_ind_params p = params_of(LV_IND_STOCH_K, 5, 5.0, 1.0, 1.0, 4.0, 1.0);
    assert_int_equal(lv_ind_lookback(LV_IND_STOCH_K, &p), 4 + 0 + 3);
    p = params_of(LV_IND_PPO_SIGNAL, 4, 30.0, 10.0, 1.0, 5.0);
    assert_int_equal(lv_ind_lookback(LV_IND_PPO_SIGNAL, &p), 29 + 4);
    p = params_of(LV_IND_ADX, 1, 5.0);
    assert_int_equal(lv_ind_lookback(LV_IND_ADX, &p), 9);
    p = params_of(LV_IND_CUMULATIVE_RETURN, 1, 5.0);
    assert_int_equal(lv_ind_lookback(LV_IND_CUMULATIVE_RETURN, &p), 5);
}

/* Checks that params are refused and that the message names `param`. */
static void expect_refused(enum lv_ind kind, struct lv_ind_params p, const char *param)
{
    struct lv_error err = {{0}};
    assert_int_equal(lv_ind_check_params(kind, &p, &err), -1);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", param);
    if (strstr(err.message, quoted) == NULL)
        fail_msg("message does not name %s: %s", param, err.message);
    /* lv_ind_compute refuses them too. */
    double close[3] = {1, 2, 3}, out[3];
    struct lv_bars_view bars = {close, close, close, close, close, 3};
    double scratch[9];
    assert_int_equal(lv_ind_compute(kind, &p, &bars, out, scratch, NULL), -1);
}

static void expect_accepted(enum lv_ind kind, struct lv_ind_params p)
{
    struct lv_error err = {{0}};
    if (lv_ind_check_params(kind, &p, &err) != 0)
        fail_msg("%s refused: %s", lv_ind_spec(kind)->name, err.message);
}

static void params_check(void **state)
{
    (void)state;
    for (int k = 0; k < LV_IND_COUNT; k++) {
        struct lv_ind_params p;
        lv_ind_default_params((enum lv_ind)k, &p);
        expect_accepted((enum lv_ind)k, p);
    }
    expect_refused(LV_IND_SMA, params_of(LV_IND_SMA, 1, 2.5), "period");
    expect_refused(LV_IND_SMA, params_of(LV_IND_SMA, 1, 1.0), "period");
    expect_refused(LV_IND_SMA, params_of(LV_IND_SMA, 1, NAN), "period");
    expect_refused(LV_IND_SMA, params_of(LV_IND_SMA, 1, 1e9), "period");
    expect_refused(LV_IND_RSI, params_of(LV_IND_RSI, 1, 1.0), "period");
    expect_accepted(LV_IND_ATR, params_of(LV_IND_ATR, 1, 1.0));
    expect_refused(LV_IND_ATR, params_of(LV_IND_ATR, 1, 0.0), "period");
    expect_refused(LV_IND_ADX, params_of(LV_IND_ADX, 1, 1.0), "period");
    expect_accepted(LV_IND_STOCH_K, params_of(LV_IND_STOCH_K, 5, 1.0, 1.0, 0.0, 1.0, 0.0));
    expect_refused(LV_IND_STOCH_K, params_of(LV_IND_STOCH_K, 5, 14.0, 3.0, 2.0, 3.0, 0.0),
                   "slowk_matype");
    expect_refused(LV_IND_STOCH_K, params_of(LV_IND_STOCH_K, 5, 14.0, 3.0, 0.0, 3.0, 8.0),
                   "slowd_matype");
    expect_refused(LV_IND_PPO_LINE, params_of(LV_IND_PPO_LINE, 3, 12.0, 26.0, 2.0), "matype");
    expect_refused(LV_IND_BBANDS_UPPER, params_of(LV_IND_BBANDS_UPPER, 4, 20.0, 2.0, 2.0, 2.0),
                   "matype");
    expect_accepted(LV_IND_BBANDS_UPPER, params_of(LV_IND_BBANDS_UPPER, 4, 20.0, 1.5, 2.5, 1.0));
    expect_refused(LV_IND_MACD, params_of(LV_IND_MACD, 3, 12.0, 26.0, 1.0), "signalperiod");
    expect_refused(LV_IND_MACD, params_of(LV_IND_MACD, 3, 12.5, 26.0, 9.0), "fastperiod");
    expect_refused(LV_IND_VOLATILITY, params_of(LV_IND_VOLATILITY, 2, 1.0, 1.0), "period");
    expect_refused(LV_IND_VOLATILITY, params_of(LV_IND_VOLATILITY, 2, 20.0, 2.0), "annualize");
    expect_accepted(LV_IND_VOLATILITY, params_of(LV_IND_VOLATILITY, 2, 2.0, 0.0));
    expect_accepted(LV_IND_RETURN, params_of(LV_IND_RETURN, 1, 1.0));
    expect_refused(LV_IND_RETURN, params_of(LV_IND_RETURN, 1, 0.0), "period");
    expect_accepted(LV_IND_CUMULATIVE_RETURN, params_of(LV_IND_CUMULATIVE_RETURN, 1, 0.0));
    expect_accepted(LV_IND_CUMULATIVE_RETURN, params_of(LV_IND_CUMULATIVE_RETURN, 1, 3.0));
    expect_refused(LV_IND_CUMULATIVE_RETURN, params_of(LV_IND_CUMULATIVE_RETURN, 1, 0.5), "period");
}

static void names_and_aliases(void **state)
{
    (void)state;
    enum lv_ind kind;
    for (int k = 0; k < LV_IND_COUNT; k++) {
        assert_true(lv_ind_from_name(lv_ind_spec((enum lv_ind)k)->name, &kind));
        assert_int_equal(kind, k);
    }
    static const struct {
        const char *name;
        enum lv_ind kind;
    } cases[] = {
        {"sma", LV_IND_SMA},
        {"Macd_Signal", LV_IND_MACD_SIGNAL},
        {"price", LV_IND_CURRENT_PRICE},
        {"CLOSE", LV_IND_CURRENT_PRICE},
        {"Last", LV_IND_CURRENT_PRICE},
        {"macd-hist", LV_IND_MACD_HIST},
        {"MACD", LV_IND_MACD},
        {"ppo", LV_IND_PPO_LINE},
        {"aroonosc", LV_IND_AROONOSC},
        {"cumulative_return", LV_IND_CUMULATIVE_RETURN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        assert_true(lv_ind_from_name(cases[c].name, &kind));
        assert_int_equal(kind, cases[c].kind);
    }
    assert_false(lv_ind_from_name("WILLR", &kind));
    assert_false(lv_ind_from_name("", &kind));
    assert_false(lv_ind_from_name("SMA ", &kind));
    assert_false(lv_ind_from_name("PPO-HIST", &kind));
    assert_null(lv_ind_spec(LV_IND_COUNT));
    assert_int_equal(lv_ind_spec(LV_IND_OBV)->input, LV_INPUT_CV);
    assert_int_equal(lv_ind_spec(LV_IND_MFI)->input, LV_INPUT_HLCV);
    assert_int_equal(lv_ind_spec(LV_IND_AROON_UP)->input, LV_INPUT_HL);
}

static void param_index(void **state)
{
    (void)state;
    assert_int_equal(lv_ind_param_index(LV_IND_SMA, "period"), 0);
    assert_int_equal(lv_ind_param_index(LV_IND_MACD_SIGNAL, "signalperiod"), 2);
    assert_int_equal(lv_ind_param_index(LV_IND_PPO_HIST, "matype"), 2);
    assert_int_equal(lv_ind_param_index(LV_IND_PPO_HIST, "signalperiod"), 3);
    assert_int_equal(lv_ind_param_index(LV_IND_BBANDS_LOWER, "nbdevdn"), 2);
    assert_int_equal(lv_ind_param_index(LV_IND_STOCH_K, "slowd_matype"), 4);
    assert_int_equal(lv_ind_param_index(LV_IND_VOLATILITY, "annualize"), 1);
    assert_int_equal(lv_ind_param_index(LV_IND_SMA, "timeperiod"), -1);
    assert_int_equal(lv_ind_param_index(LV_IND_CURRENT_PRICE, "period"), -1);
    assert_int_equal(lv_ind_param_index(LV_IND_OBV, "period"), -1);
    assert_true(lv_ind_spec(LV_IND_VOLATILITY)->params[1].boolean);
    assert_true(lv_ind_spec(LV_IND_CUMULATIVE_RETURN)->params[0].optional);
}

static void params_equality(void **state)
{
    (void)state;
    struct lv_ind_params a, b;
    lv_ind_default_params(LV_IND_MACD, &a);
    assert_true(a.v[0] == 12 && a.v[1] == 26 && a.v[2] == 9 && a.v[3] == 0 && a.v[4] == 0);
    lv_ind_default_params(LV_IND_MACD, &b);
    assert_true(lv_ind_params_equal(&a, &b));
    b.v[2] = 10;
    assert_false(lv_ind_params_equal(&a, &b));
    lv_ind_default_params(LV_IND_VOLATILITY, &a);
    assert_true(a.v[0] == 20 && a.v[1] == 1);
    b = params_of(LV_IND_VOLATILITY, 2, 20.0, 0.0);
    assert_false(lv_ind_params_equal(&a, &b));
    lv_ind_default_params(LV_IND_STOCH_K, &a);
    b = params_of(LV_IND_STOCH_K, 5, 14.0, 3.0, 0.0, 3.0, 0.0);
    assert_true(lv_ind_params_equal(&a, &b));
    lv_ind_default_params(LV_IND_CUMULATIVE_RETURN, &a);
    assert_true(a.v[0] == 0);
}

static void cumulative_return(void **state)
{
    (void)state;
    double close[6] = {50, 55, 40, 50, 100, 75};
    struct lv_bars_view bars = {.close = close, .n = 6};
    struct lv_ind_params p;
    lv_ind_default_params(LV_IND_CUMULATIVE_RETURN, &p);
    double *from_start = compute(LV_IND_CUMULATIVE_RETURN, &p, &bars);
    p.v[0] = 2;
    double *with_period = compute(LV_IND_CUMULATIVE_RETURN, &p, &bars);
    double *plain = compute(LV_IND_RETURN, &p, &bars);
    for (int i = 0; i < 6; i++) {
        assert_near(from_start[i], close[i] / 50 - 1, 1e-15);
        if (i < 2) {
            assert_true(isnan(with_period[i]) && isnan(plain[i]));
        } else {
            assert_near(with_period[i], close[i] / close[i - 2] - 1, 1e-15);
            assert_true(with_period[i] == plain[i]);
        }
    }
    assert_true(from_start[0] == 0 && from_start[4] == 1);
    free(from_start);
    free(with_period);
    free(plain);
}

static void missing_inputs(void **state)
{
    (void)state;
    double close[40];
    for (int i = 0; i < 40; i++)
        close[i] = 10 + i;
    struct lv_bars_view bars = {.close = close, .n = 40};
    double out[40], scratch[120];
    struct lv_ind_params p;
    struct lv_error err = {{0}};
    lv_ind_default_params(LV_IND_ATR, &p);
    assert_int_equal(lv_ind_compute(LV_IND_ATR, &p, &bars, out, NULL, &err), -1);
    assert_non_null(strstr(err.message, "ATR"));
    lv_ind_default_params(LV_IND_OBV, &p);
    assert_int_equal(lv_ind_compute(LV_IND_OBV, &p, &bars, out, NULL, &err), -1);
    lv_ind_default_params(LV_IND_AROON_UP, &p);
    bars.high = bars.low = close;
    assert_int_equal(lv_ind_compute(LV_IND_AROON_UP, &p, &bars, out, NULL, &err), -1);
    assert_non_null(strstr(err.message, "scratch"));
    assert_int_equal(lv_ind_compute(LV_IND_AROON_UP, &p, &bars, out, scratch, &err), 0);
    assert_true(isnan(out[24]) && out[25] == 100 && out[39] == 100);
    lv_ind_default_params(LV_IND_SMA, &p);
    assert_int_equal(lv_ind_scratch_size(LV_IND_SMA, 40), 0);
    assert_int_equal(lv_ind_compute(LV_IND_SMA, &p, &bars, out, NULL, &err), 0);
    assert_near(out[19], 19.5, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_sma),
        cmocka_unit_test(golden_ema),
        cmocka_unit_test(golden_rsi),
        cmocka_unit_test(golden_macd),
        cmocka_unit_test(golden_ppo),
        cmocka_unit_test(golden_bbands),
        cmocka_unit_test(golden_atr),
        cmocka_unit_test(golden_adx),
        cmocka_unit_test(golden_mfi),
        cmocka_unit_test(golden_stoch),
        cmocka_unit_test(golden_aroon),
        cmocka_unit_test(golden_obv),
        cmocka_unit_test(golden_return),
        cmocka_unit_test(golden_volatility),
        cmocka_unit_test(ema_matype_variants),
        cmocka_unit_test(aroon_and_stoch_with_ties),
        cmocka_unit_test(flat_prices),
        cmocka_unit_test(tiny_denominators),
        cmocka_unit_test(causal_and_nan_tolerant),
        cmocka_unit_test(short_series),
        cmocka_unit_test(lookbacks),
        cmocka_unit_test(params_check),
        cmocka_unit_test(names_and_aliases),
        cmocka_unit_test(param_index),
        cmocka_unit_test(params_equality),
        cmocka_unit_test(cumulative_return),
        cmocka_unit_test(missing_inputs),
    };
    return cmocka_run_group_tests_name("indicators", tests, setup, teardown);
}
