/* metrics.h — performance metrics of an equity curve (strategy-language.md §7): daily returns,
 * 252 periods a year, QuantStats conventions; an undefined metric is NaN here, null in JSON. */
#ifndef LEVER_CORE_METRICS_H
#define LEVER_CORE_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "core/calendar.h"

/* In the order of §7, which is also the column order of the batch CSV. */
enum lv_metric {
    LV_METRIC_TOTAL_RETURN,
    LV_METRIC_CAGR,
    LV_METRIC_VOLATILITY,
    LV_METRIC_SHARPE,
    LV_METRIC_SORTINO,
    LV_METRIC_MAX_DRAWDOWN,
    LV_METRIC_MAX_DRAWDOWN_DAYS,
    LV_METRIC_CALMAR,
    LV_METRIC_WIN_RATE,
    LV_METRIC_BEST_DAY,
    LV_METRIC_WORST_DAY,
    LV_METRIC_BETA,
    LV_METRIC_ALPHA,
    LV_METRIC_CORRELATION,
    LV_METRIC_EXPOSURE,
    LV_METRIC_TURNOVER,
    LV_METRIC_TRADES,
    LV_METRIC_COUNT
};

/* snake_case keys, indexed by enum lv_metric ("total_return", …, "trades"). */
extern const char *const lv_metric_names[LV_METRIC_COUNT];

/* True for the metrics that are whole numbers (max_drawdown_days, trades). */
int lv_metric_is_integer(enum lv_metric m);

struct lv_metrics {
    double value[LV_METRIC_COUNT]; /* NaN = undefined */
};

/* What the simulation knows about its trading, beyond the equity curve. */
struct lv_trading_stats {
    long invested_days; /* return days (of n) during which any position was held */
    double turnover; /* Σ over trades of Σ|target − drifted weight| / 2 (not yet annualised) */
    long trades;     /* (trade date, ticker) pairs with |target − drifted weight| > 1e-12 */
};

/* Computes every metric from an equity curve of n_points values dated days[] (ascending;
 * r has n = n_points − 1 daily returns). `benchmark` (n_points values on the same days, may
 * be NULL) gives beta, alpha and correlation; `trading` (may be NULL) gives exposure,
 * turnover and trades. Whatever cannot be computed is NaN: everything when n_points < 2;
 * volatility, sharpe and the benchmark statistics when n < 2; sharpe with zero variance;
 * sortino without a losing day; calmar without a drawdown; win_rate without a non-zero day.
 * Definitions (r = daily returns, mean/std over n, std with n − 1):
 *   total_return = E[last]/E[0] − 1          cagr = (E[last]/E[0])^(252/n) − 1
 *   volatility = std(r)·√252                 sharpe = mean(r)/std(r)·√252
 *   sortino = mean(r)/√(Σ min(r,0)²/n)·√252  max_drawdown = min(E/running peak − 1) ≤ 0
 *   max_drawdown_days = longest calendar-day span from a peak's date to the date equity first
 *     regains that peak, or to the last date when it never does (0 without a drawdown)
 *   calmar = cagr/|max_drawdown|             win_rate = #(r>0)/#(r≠0)
 *   best_day = max r, worst_day = min r
 *   beta = cov(r,b)/var(b), alpha = (mean r − beta·mean b)·252, correlation = Pearson(r,b)
 *   exposure = invested_days/n, turnover = turnover/(n/252), trades = trades. */
void lv_metrics_compute(const double *equity, const lv_day *days, size_t n_points,
                        const double *benchmark, const struct lv_trading_stats *trading,
                        struct lv_metrics *out);

/* A new JSON object {"total_return": …, …} in the order of §7; NaN and ±Inf become null,
 * whole-number metrics become JSON integers. Returns NULL when out of memory. */
json_t *lv_metrics_to_json(const struct lv_metrics *metrics);

#endif
