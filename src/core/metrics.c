/* metrics.c — the §7 metrics over an equity curve and its benchmark, in two passes over the
 * daily returns (means first, then deviations) for accuracy, each computing every sum. */
#include "core/metrics.h"

#include <math.h>
#include <stdbool.h>

#include "core/json_number.h"

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
static inline double daily_return(const double *equity, size_t k)
{
    return equity[k] / equity[k - 1] - 1.0;
}

/* Sums over the daily returns r of the curve and b of the benchmark (b = r without one).
 * Each sum adds its terms in day order, as a plain loop per sum would, so the results are
 * the same bit for bit; the sums only share the loop, which lets their additions overlap. */
struct return_sums {
    double sum_r, sum_b;          /* first pass */
    double downside, best, worst; /* first pass: Σ min(r,0)², max r, min r */
    long up, nonzero;             /* first pass: #(r>0), #(r≠0) */
    double dev_rr, dev_rb, dev_bb; /* second pass: Σ(r−r̄)², Σ(r−r̄)(b−b̄), Σ(b−b̄)² */
};

static void first_pass(const double *equity, const double *benchmark, size_t n_points,
                       struct return_sums *sums)
{
    double sum_r = 0, sum_b = 0, downside = 0, best = -INFINITY, worst = INFINITY;
    long up = 0, nonzero = 0;
    for (size_t k = 1; k < n_points; k++) {
        double r = daily_return(equity, k);
        sum_r += r;
        if (benchmark != NULL)
            sum_b += daily_return(benchmark, k);
        if (r < 0)
            downside += r * r;
        up += r > 0;
        nonzero += r != 0;
        /* as fmax/fmin (a NaN return is passed over), without a call: r is never −0 */
        best = r > best ? r : best;
        worst = r < worst ? r : worst;
    }
    sums->sum_r = sum_r;
    sums->sum_b = sum_b;
    sums->downside = downside;
    sums->best = best;
    sums->worst = worst;
    sums->up = up;
    sums->nonzero = nonzero;
}

static void second_pass(const double *equity, double mean_r, const double *benchmark, double mean_b,
                        size_t n_points, struct return_sums *sums)
{
    double dev_rr = 0, dev_rb = 0, dev_bb = 0;
    for (size_t k = 1; k < n_points; k++) {
        double dr = daily_return(equity, k) - mean_r;
        dev_rr += dr * dr;
        if (benchmark != NULL) {
            double db = daily_return(benchmark, k) - mean_b;
            dev_rb += dr * db;
            dev_bb += db * db;
        }
    }
    sums->dev_rr = dev_rr;
    sums->dev_rb = dev_rb;
    sums->dev_bb = dev_bb;
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

/* The metrics of the returns, and of the returns against the benchmark's (when given). Two
 * passes (means first, then deviations) for accuracy. */
static void return_statistics(const double *equity, const double *benchmark, size_t n_points,
                              struct lv_metrics *out)
{
    size_t n = n_points - 1;
    struct return_sums sums;
    first_pass(equity, benchmark, n_points, &sums);
    double mean_r = sums.sum_r / (double)n, mean_b = sums.sum_b / (double)n;
    out->value[LV_METRIC_BEST_DAY] = sums.best;
    out->value[LV_METRIC_WORST_DAY] = sums.worst;
    out->value[LV_METRIC_WIN_RATE] =
        sums.nonzero > 0 ? (double)sums.up / (double)sums.nonzero : NAN;
    out->value[LV_METRIC_SORTINO] =
        sums.downside > 0 ? mean_r / sqrt(sums.downside / (double)n) * sqrt(PERIODS) : NAN;
    if (n < 2)
        return;
    second_pass(equity, mean_r, benchmark, mean_b, n_points, &sums);
    double var_r = sums.dev_rr / (double)(n - 1); /* sample variance */
    double sd = sqrt(var_r);
    out->value[LV_METRIC_VOLATILITY] = sd * sqrt(PERIODS);
    out->value[LV_METRIC_SHARPE] = sd > 0 ? mean_r / sd * sqrt(PERIODS) : NAN;
    if (benchmark == NULL)
        return;
    double cov = sums.dev_rb / (double)(n - 1), var_b = sums.dev_bb / (double)(n - 1);
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
    return_statistics(equity, benchmark, n_points, out);
    if (trading != NULL) {
        out->value[LV_METRIC_EXPOSURE] = (double)trading->invested_days / n;
        out->value[LV_METRIC_TURNOVER] = trading->turnover / (n / PERIODS);
        out->value[LV_METRIC_TRADES] = (double)trading->trades;
    }
}

json_t *lv_metrics_to_json(const struct lv_metrics *metrics)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    for (int m = 0; m < LV_METRIC_COUNT; m++) {
        double v = metrics->value[m];
        json_t *value = lv_metric_is_integer(m) && isfinite(v) ? json_integer((json_int_t)v)
                                                               : lv_json_number(v);
        if (json_object_set_new(obj, lv_metric_names[m], value) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}
