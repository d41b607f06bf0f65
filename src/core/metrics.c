/* metrics.c — the §7 metrics over an equity curve and its benchmark, in two passes over the
 * daily returns (means first, then deviations) for accuracy. */
#include "core/metrics.h"

#include <math.h>
#include <stdbool.h>

#define PERIODS 252.0

const char *const lv_metric_names[LV_METRIC_COUNT] = {
    "total_return", "cagr",         "volatility",        "sharpe",
    "sortino",      "max_drawdown", "max_drawdown_days", "calmar",
    "win_rate",     "best_day",     "worst_day",         "beta",
    "alpha",        "correlation",  "exposure",          "turnover",
    "trades",
};

int lv_metric_is_integer(enum lv_metric m)
{
    return m == LV_METRIC_MAX_DRAWDOWN_DAYS || m == LV_METRIC_TRADES;
}

/* Daily return k (1-based into the curve): E[k]/E[k−1] − 1. */
static double daily_return(const double *equity, size_t k)
{
    return equity[k] / equity[k - 1] - 1.0;
}

static double mean_return(const double *equity, size_t n_points)
{
    double sum = 0;
    for (size_t k = 1; k < n_points; k++)
        sum += daily_return(equity, k);
    return sum / (double)(n_points - 1);
}

/* Sample covariance (n − 1) of the daily returns of two curves with the given means. */
static double covariance(const double *a, double mean_a, const double *b, double mean_b,
                         size_t n_points)
{
    double sum = 0;
    for (size_t k = 1; k < n_points; k++)
        sum += (daily_return(a, k) - mean_a) * (daily_return(b, k) - mean_b);
    return sum / (double)(n_points - 2);
}

/* max_drawdown and max_drawdown_days in one walk over the curve. */
static void drawdowns(const double *equity, const lv_day *days, size_t n_points,
                      struct lv_metrics *out)
{
    double peak = equity[0], worst = 0;
    lv_day peak_day = days[0];
    long longest = 0;
    bool under = false;
    for (size_t k = 1; k < n_points; k++) {
        if (equity[k] >= peak) {
            if (under && days[k] - peak_day > longest)
                longest = days[k] - peak_day;
            under = false;
            peak = equity[k];
            peak_day = days[k];
        } else {
            under = true;
            double dd = equity[k] / peak - 1.0;
            if (dd < worst)
                worst = dd;
        }
    }
    if (under && days[n_points - 1] - peak_day > longest)
        longest = days[n_points - 1] - peak_day;
    out->value[LV_METRIC_MAX_DRAWDOWN] = worst;
    out->value[LV_METRIC_MAX_DRAWDOWN_DAYS] = (double)longest;
}

/* Metrics of the returns alone: their distribution and the win rate. */
static void return_statistics(const double *equity, size_t n_points, struct lv_metrics *out)
{
    size_t n = n_points - 1;
    double mean = mean_return(equity, n_points);
    double downside = 0, best = -INFINITY, worst = INFINITY;
    long up = 0, nonzero = 0;
    for (size_t k = 1; k < n_points; k++) {
        double r = daily_return(equity, k);
        if (r < 0)
            downside += r * r;
        up += r > 0;
        nonzero += r != 0;
        best = fmax(best, r);
        worst = fmin(worst, r);
    }
    out->value[LV_METRIC_BEST_DAY] = best;
    out->value[LV_METRIC_WORST_DAY] = worst;
    out->value[LV_METRIC_WIN_RATE] = nonzero > 0 ? (double)up / (double)nonzero : NAN;
    out->value[LV_METRIC_SORTINO] =
        downside > 0 ? mean / sqrt(downside / (double)n) * sqrt(PERIODS) : NAN;
    if (n >= 2) {
        double sd = sqrt(covariance(equity, mean, equity, mean, n_points));
        out->value[LV_METRIC_VOLATILITY] = sd * sqrt(PERIODS);
        out->value[LV_METRIC_SHARPE] = sd > 0 ? mean / sd * sqrt(PERIODS) : NAN;
    }
}

static void benchmark_statistics(const double *equity, const double *benchmark, size_t n_points,
                                 struct lv_metrics *out)
{
    if (n_points < 3)
        return;
    double mean_r = mean_return(equity, n_points), mean_b = mean_return(benchmark, n_points);
    double cov = covariance(equity, mean_r, benchmark, mean_b, n_points);
    double var_r = covariance(equity, mean_r, equity, mean_r, n_points);
    double var_b = covariance(benchmark, mean_b, benchmark, mean_b, n_points);
    if (var_b > 0) {
        double beta = cov / var_b;
        out->value[LV_METRIC_BETA] = beta;
        out->value[LV_METRIC_ALPHA] = (mean_r - beta * mean_b) * PERIODS;
    }
    if (var_b > 0 && var_r > 0)
        out->value[LV_METRIC_CORRELATION] = cov / sqrt(var_r * var_b);
}

void lv_metrics_compute(const double *equity, const lv_day *days, size_t n_points,
                        const double *benchmark, const struct lv_trading_stats *trading,
                        struct lv_metrics *out)
{
    for (int m = 0; m < LV_METRIC_COUNT; m++)
        out->value[m] = NAN;
    if (n_points < 2)
        return;
    double n = (double)(n_points - 1);
    double growth = equity[n_points - 1] / equity[0];
    out->value[LV_METRIC_TOTAL_RETURN] = growth - 1.0;
    out->value[LV_METRIC_CAGR] = pow(growth, PERIODS / n) - 1.0;
    drawdowns(equity, days, n_points, out);
    if (out->value[LV_METRIC_MAX_DRAWDOWN] < 0)
        out->value[LV_METRIC_CALMAR] =
            out->value[LV_METRIC_CAGR] / fabs(out->value[LV_METRIC_MAX_DRAWDOWN]);
    return_statistics(equity, n_points, out);
    if (benchmark != NULL)
        benchmark_statistics(equity, benchmark, n_points, out);
    if (trading != NULL) {
        out->value[LV_METRIC_EXPOSURE] = (double)trading->invested_days / n;
        out->value[LV_METRIC_TURNOVER] = trading->turnover / (n / PERIODS);
        out->value[LV_METRIC_TRADES] = (double)trading->trades;
    }
}

json_t *lv_json_number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *lv_metrics_to_json(const struct lv_metrics *metrics)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    for (int m = 0; m < LV_METRIC_COUNT; m++) {
        double v = metrics->value[m];
        json_t *value = lv_metric_is_integer(m) && isfinite(v) ? json_integer((json_int_t)v)
                                                               : lv_json_number_or_null(v);
        if (json_object_set_new(obj, lv_metric_names[m], value) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}
