/* indicators_internal.h — the building blocks shared by the indicator files: TA-Lib's moving
 * averages as streaming state, sliding-window extremes, and one compute function per family. */
#ifndef LEVER_CORE_INDICATORS_INTERNAL_H
#define LEVER_CORE_INDICATORS_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/indicators.h"

/* TA-Lib 0.6 counts a magnitude below 1e-14 as zero (TA_IS_ZERO / TA_IS_ZERO_OR_NEG). */
#define LV_IND_EPSILON 1e-14

static inline bool lv_is_zero(double v)
{
    return -LV_IND_EPSILON < v && v < LV_IND_EPSILON;
}

/* MA types of TA-Lib that Lever supports so far, plus the identity TA_MA uses for period 1. */
enum { LV_MATYPE_IDENTITY = -1, LV_MATYPE_SMA = 0, LV_MATYPE_EMA = 1 };

/* ---- Moving averages, in TA-Lib's exact order of operations ------------------------------
 * The golden files hold TA-Lib's own doubles, so the arithmetic is spelled as TA-Lib spells
 * it: a running total that adds the new value, divides, then drops the trailing one; an EMA
 * seeded with the plain mean of its first `period` inputs and then advanced as
 * ((x - ema) * k) + ema. Changing the order changes the low bits. */

struct lv_sma {
    int period;
    size_t first; /* index of the first input fed */
    double total; /* sum of the inputs still in the window, minus the newest one's successor */
};

static inline void lv_sma_init(struct lv_sma *s, int period, size_t first)
{
    s->period = period;
    s->first = first;
    s->total = 0.0;
}

/* Feeds x[i] (call with i = first, first + 1, ...); returns the mean of x[i-period+1..i] once
 * `period` inputs have been fed, NaN before. Reads x[i-period+1] to drop it from the total. */
static inline double lv_sma_push(struct lv_sma *s, const double *x, size_t i)
{
    s->total += x[i];
    if (i - s->first + 1 < (size_t)s->period)
        return NAN;
    double window_total = s->total;
    s->total -= x[i + 1 - (size_t)s->period];
    return window_total / s->period;
}

struct lv_ema {
    int period;
    int fed;      /* inputs seen, capped at period */
    double k;     /* 2 / (period + 1) */
    double value; /* the sum of the inputs while fed < period, then the average */
};

static inline void lv_ema_init(struct lv_ema *e, int period)
{
    e->period = period;
    e->fed = 0;
    e->k = 2.0 / (double)(period + 1);
    e->value = 0.0;
}

/* Feeds the next input; returns true once e->value holds the average. */
static inline bool lv_ema_push(struct lv_ema *e, double x)
{
    if (e->fed < e->period) {
        e->value += x;
        if (++e->fed < e->period)
            return false;
        e->value /= e->period;
        return true;
    }
    e->value = ((x - e->value) * e->k) + e->value;
    return true;
}

/* A moving average of type LV_MATYPE_SMA or LV_MATYPE_EMA over an array. Period 1 is the
 * identity whatever the type, as in TA_MA. */
struct lv_movavg {
    int matype;
    struct lv_sma sma;
    struct lv_ema ema;
};

static inline void lv_movavg_init(struct lv_movavg *m, int matype, int period, size_t first)
{
    m->matype = period == 1 ? LV_MATYPE_IDENTITY : matype;
    lv_sma_init(&m->sma, period, first);
    lv_ema_init(&m->ema, period);
}

/* Feeds x[i]; returns the average, or NaN until `period` inputs have been fed. */
static inline double lv_movavg_push(struct lv_movavg *m, const double *x, size_t i)
{
    if (m->matype == LV_MATYPE_SMA)
        return lv_sma_push(&m->sma, x, i);
    if (m->matype == LV_MATYPE_EMA)
        return lv_ema_push(&m->ema, x[i]) ? m->ema.value : NAN;
    return x[i];
}

/* ---- Sliding-window extremes ---------------------------------------------------------------
 * A monotonic deque of bar indices: the front is the index of the window's highest (or
 * lowest) value, the latest one on ties, as TA-Lib's AROON resolves them. Each index enters
 * and leaves once, so a pass over n bars costs O(n) and the storage is n slots of the
 * caller's scratch (indices are stored as doubles: exact below 2^53). */
struct lv_extreme_window {
    double *slot;
    size_t head, tail;
    bool want_max;
};

static inline void lv_extreme_init(struct lv_extreme_window *w, double *storage, bool want_max)
{
    w->slot = storage;
    w->head = w->tail = 0;
    w->want_max = want_max;
}

/* Adds bar i, whose value is v[i]. */
static inline void lv_extreme_push(struct lv_extreme_window *w, const double *v, size_t i)
{
    /* A value that is not better than the newcomer can never be the extreme again. */
    while (w->tail > w->head) {
        double older = v[(size_t)w->slot[w->tail - 1]];
        if (w->want_max ? !(older <= v[i]) : !(older >= v[i]))
            break;
        w->tail--;
    }
    w->slot[w->tail++] = (double)i;
}

/* Index of the extreme among the bars pushed so far that are not older than `oldest`. */
static inline size_t lv_extreme_front(struct lv_extreme_window *w, size_t oldest)
{
    while ((size_t)w->slot[w->head] < oldest)
        w->head++;
    return (size_t)w->slot[w->head];
}

/* ---- One compute function per family -------------------------------------------------------
 * Each writes out[i] for every i >= its lookback (NaN where undefined) and may leave out[i]
 * below the lookback untouched: lv_ind_compute has already filled those with NaN. Parameters
 * have been checked; `p` is params->v. */

/* indicators_trend.c */
void lv_ind_moving_average(enum lv_ind kind, const double *p, const double *close, size_t n,
                           double *out);
void lv_ind_macd(enum lv_ind kind, const double *p, const double *close, size_t n, double *out);
void lv_ind_ppo(enum lv_ind kind, const double *p, const double *close, size_t n, double *out);
void lv_ind_bbands(enum lv_ind kind, const double *p, const double *close, size_t n, double *out);

/* indicators_oscillators.c */
void lv_ind_rsi(const double *p, const double *close, size_t n, double *out);
void lv_ind_atr(const double *p, const struct lv_bars_view *bars, double *out);
void lv_ind_adx(const double *p, const struct lv_bars_view *bars, double *out);
void lv_ind_mfi(const double *p, const struct lv_bars_view *bars, double *out, double *scratch);
void lv_ind_stoch_k(const double *p, const struct lv_bars_view *bars, double *out, double *scratch);
void lv_ind_aroon(enum lv_ind kind, const double *p, const struct lv_bars_view *bars, double *out,
                  double *scratch);
void lv_ind_obv(const struct lv_bars_view *bars, double *out);

/* indicators_returns.c */
void lv_ind_return(int period, const double *close, size_t n, double *out);
void lv_ind_cumulative_return(const double *close, size_t n, double *out);
void lv_ind_volatility(const double *p, const double *close, size_t n, double *out,
                       double *scratch);

#endif
