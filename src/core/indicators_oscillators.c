/* indicators_oscillators.c — RSI and the indicators that read highs, lows or volumes (ATR,
 * ADX, MFI, slow stochastic %K, Aroon, OBV), following TA-Lib's algorithms step by step. */
#include <math.h>

#include "core/indicators_internal.h"

/* 100·gain/(gain + loss), or 0 when both averages are (nearly) zero: a flat series. */
static double rsi_value(double avg_gain, double avg_loss)
{
    double total = avg_gain + avg_loss;
    return lv_is_zero(total) ? 0.0 : 100.0 * (avg_gain / total);
}

/* Wilder's RSI: the first averages are plain means of the first `period` changes. */
void lv_ind_rsi(const double *p, const double *close, size_t n, double *out)
{
    size_t period = (size_t)p[0];
    double avg_gain = 0.0, avg_loss = 0.0;
    for (size_t i = 1; i <= period; i++) {
        double change = close[i] - close[i - 1];
        if (change < 0)
            avg_loss -= change;
        else
            avg_gain += change;
    }
    avg_loss /= (double)period;
    avg_gain /= (double)period;
    out[period] = rsi_value(avg_gain, avg_loss);

    for (size_t i = period + 1; i < n; i++) {
        double change = close[i] - close[i - 1];
        avg_loss *= (double)(period - 1);
        avg_gain *= (double)(period - 1);
        if (change < 0)
            avg_loss -= change;
        else
            avg_gain += change;
        avg_loss /= (double)period;
        avg_gain /= (double)period;
        out[i] = rsi_value(avg_gain, avg_loss);
    }
}

/* The largest of today's range and the distances from yesterday's close (TA-Lib's order). */
static double true_range(double high, double low, double prev_close)
{
    double range = high - low;
    double gap_to_high = fabs(prev_close - high);
    if (gap_to_high > range)
        range = gap_to_high;
    double gap_to_low = fabs(prev_close - low);
    if (gap_to_low > range)
        range = gap_to_low;
    return range;
}

static double true_range_at(const struct lv_bars_view *bars, size_t i)
{
    return true_range(bars->high[i], bars->low[i], bars->close[i - 1]);
}

/* ATR: the mean of the first `period` true ranges, then Wilder smoothing. Period 1 is the
 * true range itself (TA-Lib hands it to TRANGE). */
void lv_ind_atr(const double *p, const struct lv_bars_view *bars, double *out)
{
    size_t period = (size_t)p[0];
    if (period == 1) {
        for (size_t i = 1; i < bars->n; i++)
            out[i] = true_range_at(bars, i);
        return;
    }
    double atr = 0.0;
    for (size_t i = 1; i <= period; i++)
        atr += true_range_at(bars, i);
    atr /= (double)period;
    out[period] = atr;
    for (size_t i = period + 1; i < bars->n; i++) {
        atr *= (double)(period - 1);
        atr += true_range_at(bars, i);
        atr /= (double)period;
        out[i] = atr;
    }
}

/* ADX's running state: Wilder sums of −DM and +DM (kept side by side so the compiler can
 * divide both in one instruction: the divisions bound ADX's speed) and of the true range. */
enum { MINUS_DM, PLUS_DM };
struct dm_sums {
    double dm[2];
    double tr;
};

/* Adds bar i's directional movement and true range to the sums; when `decay` is set each
 * sum first loses 1/period of itself (S = S − S/n + x, in TA-Lib's order). */
static void dm_add_bar(struct dm_sums *s, const struct lv_bars_view *bars, size_t i, double period,
                       bool decay)
{
    double up_move = bars->high[i] - bars->high[i - 1];
    double down_move = bars->low[i - 1] - bars->low[i];
    /* Written as selects rather than if/else: the direction is a coin flip the branch
     * predictor loses, and adding 0.0 leaves a sum's bits unchanged. */
    bool falls = down_move > 0 && up_move < down_move;
    bool rises = !falls && up_move > 0 && up_move > down_move;
    double move[2] = {falls ? down_move : 0.0, rises ? up_move : 0.0};
    for (int d = 0; d < 2; d++) {
        if (decay)
            s->dm[d] -= s->dm[d] / period;
        s->dm[d] += move[d];
    }
    double tr = true_range(bars->high[i], bars->low[i], bars->close[i - 1]);
    s->tr = decay ? s->tr - (s->tr / period) + tr : s->tr + tr;
}

/* DX from the sums; false when TA-Lib skips it (no range, or no directional movement). */
static bool dm_dx(const struct dm_sums *s, double *dx)
{
    if (lv_is_zero(s->tr))
        return false;
    double di[2];
    for (int d = 0; d < 2; d++)
        di[d] = 100.0 * (s->dm[d] / s->tr);
    double di_total = di[MINUS_DM] + di[PLUS_DM];
    if (lv_is_zero(di_total))
        return false;
    *dx = 100.0 * (fabs(di[MINUS_DM] - di[PLUS_DM]) / di_total);
    return true;
}

/* ADX: sums seeded over bars 1..period−1, DX from bar `period` on; the first ADX (bar
 * 2·period−1) is the mean of `period` DX values (skipped ones count as 0), then Wilder
 * smoothing that keeps the previous ADX on bars whose DX is skipped. */
void lv_ind_adx(const double *p, const struct lv_bars_view *bars, double *out)
{
    size_t period = (size_t)p[0];
    double period_d = (double)period;
    struct dm_sums sums = {{0.0, 0.0}, 0.0};
    for (size_t i = 1; i < period; i++)
        dm_add_bar(&sums, bars, i, period_d, false);

    double dx, dx_total = 0.0;
    for (size_t i = period; i < 2 * period; i++) {
        dm_add_bar(&sums, bars, i, period_d, true);
        if (dm_dx(&sums, &dx))
            dx_total += dx;
    }
    double adx = dx_total / period_d;
    out[2 * period - 1] = adx;

    for (size_t i = 2 * period; i < bars->n; i++) {
        dm_add_bar(&sums, bars, i, period_d, true);
        if (dm_dx(&sums, &dx))
            adx = ((adx * (period_d - 1)) + dx) / period_d;
        out[i] = adx;
    }
}

/* MFI: money flow TP·V counts as positive on a bar whose typical price rose, negative when
 * it fell; 100·pos/(pos+neg) over the last `period` bars, 0 when pos+neg < 1 (TA-Lib).
 * scratch[i] keeps bar i's typical price so the bar leaving the window is subtracted with
 * exactly the flow that was added. */
struct money_flow {
    double positive, negative;
};

static struct money_flow money_flow_at(const double *typical, const double *volume, size_t i)
{
    struct money_flow flow = {0.0, 0.0};
    double change = typical[i] - typical[i - 1];
    double raw_flow = typical[i] * volume[i];
    if (change < 0)
        flow.negative = raw_flow;
    else if (change > 0)
        flow.positive = raw_flow;
    return flow;
}

static double mfi_value(double positive, double negative)
{
    double total = positive + negative;
    return total < 1.0 ? 0.0 : 100.0 * (positive / total);
}

void lv_ind_mfi(const double *p, const struct lv_bars_view *bars, double *out, double *scratch)
{
    size_t period = (size_t)p[0];
    double *typical = scratch;
    for (size_t i = 0; i < bars->n; i++)
        typical[i] = (bars->high[i] + bars->low[i] + bars->close[i]) / 3.0;

    double positive = 0.0, negative = 0.0;
    for (size_t i = 1; i <= period; i++) {
        struct money_flow flow = money_flow_at(typical, bars->volume, i);
        positive += flow.positive;
        negative += flow.negative;
    }
    out[period] = mfi_value(positive, negative);

    for (size_t i = period + 1; i < bars->n; i++) {
        struct money_flow leaving = money_flow_at(typical, bars->volume, i - period);
        positive -= leaving.positive;
        negative -= leaving.negative;
        struct money_flow flow = money_flow_at(typical, bars->volume, i);
        positive += flow.positive;
        negative += flow.negative;
        out[i] = mfi_value(positive, negative);
    }
}

/* Slow stochastic %K: fast %K = (C − lowest low)/((highest high − lowest low)/100) over
 * `fastk_period` bars (0 on a zero range), smoothed by an MA of `slowk_period`. TA-Lib emits
 * it from slow %D's first bar; %D itself is not needed. Scratch: fast %K, then the two
 * extreme windows. */
void lv_ind_stoch_k(const double *p, const struct lv_bars_view *bars, double *out, double *scratch)
{
    size_t fastk_period = (size_t)p[0];
    size_t n = bars->n;
    size_t first_out = (size_t)(p[0] - 1 + p[1] - 1 + p[3] - 1);
    double *fast_k = scratch;
    struct lv_extreme_window highest, lowest;
    lv_extreme_init(&highest, scratch + n, true);
    lv_extreme_init(&lowest, scratch + 2 * n, false);
    struct lv_movavg slow_k;
    lv_movavg_init(&slow_k, (int)p[2], (int)p[1], fastk_period - 1);

    for (size_t i = 0; i < n; i++) {
        lv_extreme_push(&highest, bars->high, i);
        lv_extreme_push(&lowest, bars->low, i);
        if (i + 1 < fastk_period)
            continue;
        size_t oldest = i + 1 - fastk_period;
        double high = bars->high[lv_extreme_front(&highest, oldest)];
        double low = bars->low[lv_extreme_front(&lowest, oldest)];
        double range_pct = (high - low) / 100.0;
        fast_k[i] = range_pct != 0.0 ? (bars->close[i] - low) / range_pct : 0.0;
        double smoothed = lv_movavg_push(&slow_k, fast_k, i);
        if (i >= first_out)
            out[i] = smoothed;
    }
}

/* Aroon over the period+1 bars i−period..i: up = 100·(period − bars since the highest high)/
 * period, down likewise with the lowest low, latest bar on ties; the oscillator is
 * factor·(high index − low index), as TA-Lib writes it. */
void lv_ind_aroon(enum lv_ind kind, const double *p, const struct lv_bars_view *bars, double *out,
                  double *scratch)
{
    size_t period = (size_t)p[0];
    double factor = 100.0 / (double)period;
    struct lv_extreme_window highest, lowest;
    lv_extreme_init(&highest, scratch, true);
    lv_extreme_init(&lowest, scratch + bars->n, false);

    for (size_t i = 0; i < bars->n; i++) {
        lv_extreme_push(&highest, bars->high, i);
        lv_extreme_push(&lowest, bars->low, i);
        if (i < period)
            continue;
        long high_at = (long)lv_extreme_front(&highest, i - period);
        long low_at = (long)lv_extreme_front(&lowest, i - period);
        long now = (long)i, span = (long)period;
        if (kind == LV_IND_AROON_UP)
            out[i] = factor * (double)(span - (now - high_at));
        else if (kind == LV_IND_AROON_DOWN)
            out[i] = factor * (double)(span - (now - low_at));
        else
            out[i] = factor * (double)(high_at - low_at);
    }
}

/* OBV starts from the first bar's volume (TA-Lib), then adds or subtracts each volume by the
 * direction of the close. */
void lv_ind_obv(const struct lv_bars_view *bars, double *out)
{
    double obv = bars->volume[0];
    out[0] = obv;
    for (size_t i = 1; i < bars->n; i++) {
        if (bars->close[i] > bars->close[i - 1])
            obv += bars->volume[i];
        else if (bars->close[i] < bars->close[i - 1])
            obv -= bars->volume[i];
        out[i] = obv;
    }
}
