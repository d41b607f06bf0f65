/* indicators_returns.c — Lever's own statistics on closes: RETURN, CUMULATIVE_RETURN and
 * VOLATILITY (strategy-language.md §4; not TA-Lib functions, none of them lagged). */
#include <math.h>

#include "core/indicators_internal.h"

/* close[i]/base − 1; undefined (NaN) when the base price is not positive, as in the
 * reference's service. */
static double simple_return(double close, double base)
{
    return base > 0 ? close / base - 1 : NAN;
}

void lv_ind_return(int period, const double *close, size_t n, double *out)
{
    for (size_t i = (size_t)period; i < n; i++)
        out[i] = simple_return(close[i], close[i - (size_t)period]);
}

void lv_ind_cumulative_return(const double *close, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = simple_return(close[i], close[0]);
}

/* Sums of the window's returns measured from a shift near their mean. Plain running sums of
 * r and r² would lose digits to cancellation (the variance is a small difference of large
 * sums) and drift over thousands of bars. Instead every `period` bars the sums are rebuilt
 * exactly around the window's current mean, so between rebuilds they carry at most `period`
 * additions and removals of small, centred terms: O(1) amortised per bar, and a series of
 * identical returns gives exactly 0. */
struct centred_sums {
    double shift;       /* the window mean at the last rebuild */
    double deviations;  /* Σ (r − shift) */
    double squares;     /* Σ (r − shift)² */
    size_t since_build; /* bars added since the last rebuild */
};

static void centred_rebuild(struct centred_sums *s, const double *window, size_t count)
{
    double total = 0.0;
    for (size_t j = 0; j < count; j++)
        total += window[j];
    s->shift = total / (double)count;
    s->deviations = 0.0;
    s->squares = 0.0;
    for (size_t j = 0; j < count; j++) {
        double d = window[j] - s->shift;
        s->deviations += d;
        s->squares += d * d;
    }
    s->since_build = 0;
}

static void centred_slide(struct centred_sums *s, double entering, double leaving)
{
    double d_in = entering - s->shift, d_out = leaving - s->shift;
    s->deviations += d_in - d_out;
    s->squares += d_in * d_in - d_out * d_out;
    s->since_build++;
}

/* Sample standard deviation (divisor n − 1) of the `period` daily returns ending at bar i,
 * × √252 when annualised. Scratch holds the daily returns (scratch[j] for bar j ≥ 1). */
void lv_ind_volatility(const double *p, const double *close, size_t n, double *out, double *scratch)
{
    size_t period = (size_t)p[0];
    double scale = p[1] != 0 ? sqrt(252.0) : 1.0;
    double *daily = scratch;
    for (size_t j = 1; j < n; j++)
        daily[j] = close[j] / close[j - 1] - 1;

    struct centred_sums sums = {0};
    for (size_t i = period; i < n; i++) {
        const double *window = daily + i + 1 - period;
        if (i == period || sums.since_build == period)
            centred_rebuild(&sums, window, period);
        else
            centred_slide(&sums, daily[i], daily[i - period]);
        double count = (double)period;
        double variance = (sums.squares - sums.deviations * sums.deviations / count) / (count - 1);
        if (variance < 0) /* rounding on a (nearly) constant window */
            variance = 0;
        out[i] = sqrt(variance) * scale;
    }
}
