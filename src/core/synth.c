/* synth.c — factor-model price generator behind `lever bars synth`. Each symbol's daily
 * log-return is drift + its loadings on three shared factors + its own noise; the shared
 * factors are what make the symbols move together the way the real ETFs roughly do. */
#include "core/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct profile {
    const char *symbol;
    double annual_drift; /* expected log growth per year */
    double equity;       /* loading on the equity factor */
    double rates;        /* loading on the interest-rate factor (bonds up when rates fall) */
    double commodity;    /* loading on the commodity factor */
    double own_vol;      /* annualised idiosyncratic volatility */
    double start_price;
    double avg_volume;
};

/* Rough loadings chosen so that equities correlate strongly with each other, bonds
 * mildly negatively with equities, and GLD/DBC follow their own factor. */
static const struct profile profiles[] = {
    {"SPY", 0.08, 1.00, 0.00, 0.00, 0.02, 120.0, 8.0e7},
    {"QQQ", 0.10, 1.20, 0.00, 0.00, 0.08, 40.0, 5.0e7},
    {"IWM", 0.07, 1.15, 0.00, 0.05, 0.08, 65.0, 3.0e7},
    {"MDY", 0.08, 1.05, 0.00, 0.03, 0.06, 130.0, 1.5e6},
    {"VTI", 0.08, 1.02, 0.00, 0.00, 0.03, 60.0, 3.0e6},
    {"EFA", 0.05, 0.90, 0.00, 0.05, 0.09, 55.0, 2.0e7},
    {"EEM", 0.06, 1.10, 0.00, 0.15, 0.14, 35.0, 4.0e7},
    {"EWJ", 0.03, 0.75, 0.00, 0.00, 0.12, 12.0, 6.0e6},
    {"IEV", 0.05, 0.95, 0.00, 0.05, 0.09, 45.0, 5.0e5},
    {"IYR", 0.06, 1.00, 0.30, 0.00, 0.14, 55.0, 6.0e6},
    {"VNQ", 0.06, 1.00, 0.30, 0.00, 0.14, 55.0, 5.0e6},
    {"TLT", 0.03, -0.20, 1.00, 0.00, 0.03, 90.0, 1.0e7},
    {"IEF", 0.025, -0.10, 0.55, 0.00, 0.02, 85.0, 5.0e6},
    {"SHY", 0.015, -0.02, 0.12, 0.00, 0.005, 80.0, 3.0e6},
    {"AGG", 0.025, -0.05, 0.40, 0.00, 0.015, 100.0, 5.0e6},
    {"LQD", 0.03, 0.10, 0.55, 0.00, 0.03, 105.0, 5.0e6},
    {"TIP", 0.025, -0.05, 0.45, 0.10, 0.02, 100.0, 1.0e6},
    {"HYG", 0.04, 0.40, 0.20, 0.00, 0.04, 85.0, 1.5e7},
    {"BIL", 0.012, 0.00, 0.00, 0.00, 0.002, 45.0, 5.0e6},
    {"GLD", 0.05, 0.05, 0.25, 0.60, 0.12, 45.0, 8.0e6},
    {"DBC", 0.02, 0.35, 0.00, 1.00, 0.08, 25.0, 1.5e6},
};

#define N_PROFILES    (sizeof profiles / sizeof profiles[0])
#define DAYS_PER_YEAR 252.0

/* Factor volatilities (annualised). */
static const double equity_vol = 0.17, rates_vol = 0.12, commodity_vol = 0.20;

/* splitmix64: small, fast, and identical on every platform. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state)
{
    return ((double)(next_random(state) >> 11) + 0.5) / 9007199254740992.0;
}

/* Box-Muller; the second value is discarded to keep the sequence simple to reason about. */
static double normal(uint64_t *state)
{
    double u1 = uniform(state), u2 = uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int is_trading_day(lv_day d)
{
    if (lv_day_weekday(d) > 5)
        return 0;
    int year, month, day;
    lv_day_to_ymd(d, &year, &month, &day);
    return !((month == 1 && day == 1) || (month == 7 && day == 4) || (month == 12 && day == 25));
}

static int alloc_series(struct lv_synth_series *s, size_t n)
{
    s->day = malloc(n * sizeof *s->day);
    double *block = malloc(5 * n * sizeof *block); /* one block for the five fields */
    if (s->day == NULL || block == NULL) {
        free(s->day);
        free(block);
        s->day = NULL;
        return -1;
    }
    s->open = block;
    s->high = block + n;
    s->low = block + 2 * n;
    s->close = block + 3 * n;
    s->volume = block + 4 * n;
    return 0;
}

/* Writes bar i of one symbol from the day's log-return and two intraday draws. */
static void write_bar(struct lv_synth_series *s, const struct profile *p, size_t i,
                      double log_return, double daily_vol, uint64_t *rng)
{
    double prev_close = i == 0 ? p->start_price : s->close[i - 1];
    double gap = 0.2 * daily_vol * normal(rng);
    double open = prev_close * exp(gap);
    double close = prev_close * exp(log_return);
    double wick = fabs(normal(rng)) * daily_vol * 0.5;
    s->open[i] = open;
    s->close[i] = close;
    s->high[i] = fmax(open, close) * exp(wick);
    s->low[i] = fmin(open, close) * exp(-wick * 0.9);
    s->volume[i] = floor(p->avg_volume * exp(0.35 * normal(rng)));
}

int lv_synth_generate(lv_day first, lv_day last, uint64_t seed, struct lv_synth_market *out)
{
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (lv_day d = first; d <= last; d++)
        n += (size_t)is_trading_day(d);
    out->series = calloc(N_PROFILES, sizeof *out->series);
    if (out->series == NULL)
        return -1;
    out->n_symbols = N_PROFILES;
    for (size_t k = 0; k < N_PROFILES; k++) {
        out->series[k].symbol = profiles[k].symbol;
        out->series[k].n = n;
        if (alloc_series(&out->series[k], n) != 0) {
            lv_synth_free(out);
            return -1;
        }
    }
    uint64_t rng = seed;
    const double sqrt_dt = 1.0 / sqrt(DAYS_PER_YEAR);
    size_t i = 0;
    for (lv_day d = first; d <= last; d++) {
        if (!is_trading_day(d))
            continue;
        double equity = equity_vol * sqrt_dt * normal(&rng);
        double rates = rates_vol * sqrt_dt * normal(&rng);
        double commodity = commodity_vol * sqrt_dt * normal(&rng);
        for (size_t k = 0; k < N_PROFILES; k++) {
            const struct profile *p = &profiles[k];
            double own = p->own_vol * sqrt_dt * normal(&rng);
            double factor_part = p->equity * equity + p->rates * rates + p->commodity * commodity;
            double variance = pow(p->equity * equity_vol, 2) + pow(p->rates * rates_vol, 2) +
                              pow(p->commodity * commodity_vol, 2) + pow(p->own_vol, 2);
            /* Drift is corrected by half the variance so the median path grows at the
             * stated rate (a log-normal's mean exceeds its median). */
            double drift = (p->annual_drift - 0.5 * variance) / DAYS_PER_YEAR;
            out->series[k].day[i] = d;
            write_bar(&out->series[k], p, i, drift + factor_part + own, sqrt(variance) * sqrt_dt,
                      &rng);
        }
        i++;
    }
    return 0;
}

void lv_synth_free(struct lv_synth_market *market)
{
    for (size_t k = 0; market->series != NULL && k < market->n_symbols; k++) {
        free(market->series[k].day);
        free(market->series[k].open);
    }
    free(market->series);
    memset(market, 0, sizeof *market);
}
