/* indicators_trend.c — the close-only averages: SMA, EMA, MACD, PPO and Bollinger bands, each
 * in one streaming pass that reproduces TA-Lib's doubles. */
#include <math.h>

#include "core/indicators_internal.h"

void lv_ind_moving_average(enum lv_ind kind, const double *p, const double *close, size_t n,
                           double *out)
{
    struct lv_movavg avg;
    lv_movavg_init(&avg, kind == LV_IND_EMA ? LV_MATYPE_EMA : LV_MATYPE_SMA, (int)p[0], 0);
    for (size_t i = 0; i < n; i++)
        out[i] = lv_movavg_push(&avg, close, i);
}

/* MACD: both EMAs are seeded on the slow EMA's first bar, so the fast one starts `slow - fast`
 * bars in (it is not a standalone EMA(fast)); the signal is an EMA of the line. */
void lv_ind_macd(enum lv_ind kind, const double *p, const double *close, size_t n, double *out)
{
    int fast_period = (int)fmin(p[0], p[1]);
    int slow_period = (int)fmax(p[0], p[1]);
    size_t fast_start = (size_t)(slow_period - fast_period);
    struct lv_ema fast, slow, signal;
    lv_ema_init(&fast, fast_period);
    lv_ema_init(&slow, slow_period);
    lv_ema_init(&signal, (int)p[2]);

    for (size_t i = 0; i < n; i++) {
        bool slow_defined = lv_ema_push(&slow, close[i]);
        if (i >= fast_start)
            lv_ema_push(&fast, close[i]);
        if (!slow_defined)
            continue;
        double line = fast.value - slow.value;
        if (!lv_ema_push(&signal, line))
            continue;
        if (kind == LV_IND_MACD_LINE)
            out[i] = line;
        else if (kind == LV_IND_MACD_SIGNAL)
            out[i] = signal.value;
        else
            out[i] = line - signal.value;
    }
}

/* PPO: unlike MACD, TA-Lib runs both moving averages over the whole series from bar 0; the
 * signal is an EMA of the line from the line's first value. */
void lv_ind_ppo(enum lv_ind kind, const double *p, const double *close, size_t n, double *out)
{
    int fast_period = (int)fmin(p[0], p[1]);
    int slow_period = (int)fmax(p[0], p[1]);
    int matype = (int)p[2];
    struct lv_movavg fast, slow;
    struct lv_ema signal;
    lv_movavg_init(&fast, matype, fast_period, 0);
    lv_movavg_init(&slow, matype, slow_period, 0);
    lv_ema_init(&signal, (int)p[3]);

    for (size_t i = 0; i < n; i++) {
        double fast_avg = lv_movavg_push(&fast, close, i);
        double slow_avg = lv_movavg_push(&slow, close, i);
        if (i + 1 < (size_t)slow_period)
            continue;
        double line = lv_is_zero(slow_avg) ? 0.0 : ((fast_avg - slow_avg) / slow_avg) * 100.0;
        if (kind == LV_IND_PPO_LINE) {
            out[i] = line;
            continue;
        }
        if (!lv_ema_push(&signal, line))
            continue;
        out[i] = kind == LV_IND_PPO_SIGNAL ? signal.value : line - signal.value;
    }
}

/* Bollinger bands: the middle is the MA of the chosen type, the deviation is always the
 * population deviation around the simple mean, computed as TA-Lib does: sqrt(mean(x²) −
 * mean(x)²) from running sums, 0 when that difference is below 1e-14. */
void lv_ind_bbands(enum lv_ind kind, const double *p, const double *close, size_t n, double *out)
{
    int period = (int)p[0];
    double dev_up = p[1], dev_down = p[2];
    int matype = (int)p[3];
    struct lv_sma mean;
    struct lv_ema ema_middle;
    lv_sma_init(&mean, period, 0);
    lv_ema_init(&ema_middle, period);
    double squares_total = 0.0;

    for (size_t i = 0; i < n; i++) {
        double simple_mean = lv_sma_push(&mean, close, i);
        if (matype == LV_MATYPE_EMA)
            lv_ema_push(&ema_middle, close[i]);
        squares_total += close[i] * close[i];
        if (i + 1 < (size_t)period)
            continue;
        double mean_of_squares = squares_total / period;
        double trailing = close[i + 1 - (size_t)period];
        squares_total -= trailing * trailing;
        double middle = matype == LV_MATYPE_EMA ? ema_middle.value : simple_mean;
        if (kind == LV_IND_BBANDS_MIDDLE) {
            out[i] = middle;
            continue;
        }
        double variance = mean_of_squares - simple_mean * simple_mean;
        double deviation = variance < LV_IND_EPSILON ? 0.0 : sqrt(variance);
        out[i] = kind == LV_IND_BBANDS_UPPER ? middle + deviation * dev_up
                                             : middle - deviation * dev_down;
    }
}
