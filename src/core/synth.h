/* synth.h — a deterministic synthetic market: the 21 ETF symbols of the sample data with
 * correlated daily moves (equity, rates and commodity factors), so Lever can backtest out of
 * the box without shipping anyone's price data. Always labelled "synthetic" where shown. */
#ifndef LEVER_CORE_SYNTH_H
#define LEVER_CORE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/calendar.h"

/* One symbol's generated bars (arrays of n values, oldest first). */
struct lv_synth_series {
    const char *symbol; /* static string */
    size_t n;
    lv_day *day;
    double *open, *high, *low, *close, *volume;
};

/* The synthetic universe: every symbol shares one weekday calendar (New Year's Day,
 * Independence Day and Christmas closed) from `first` to `last` inclusive. The same seed
 * always gives the same bars, bit for bit. */
struct lv_synth_market {
    size_t n_symbols;
    struct lv_synth_series *series;
};

#define LV_SYNTH_DEFAULT_SEED 20260101u

/* Generates the universe. Returns 0, or -1 when memory runs out. Free with lv_synth_free. */
int lv_synth_generate(lv_day first, lv_day last, uint64_t seed, struct lv_synth_market *out);
void lv_synth_free(struct lv_synth_market *market);

#endif
