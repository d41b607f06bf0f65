/* indicators.h — the indicators of strategy-language.md §4, computed over one symbol's own
 * bars in O(n), with their exact TA-Lib lookbacks. Pure computation: no allocation unless a
 * function says so, no I/O. */
#ifndef LEVER_CORE_INDICATORS_H
#define LEVER_CORE_INDICATORS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

enum lv_ind {
    LV_IND_CURRENT_PRICE,
    LV_IND_SMA,
    LV_IND_EMA,
    LV_IND_RSI,
    LV_IND_MACD, /* = histogram */
    LV_IND_MACD_LINE,
    LV_IND_MACD_SIGNAL,
    LV_IND_MACD_HIST,
    LV_IND_PPO_LINE,
    LV_IND_PPO_SIGNAL,
    LV_IND_PPO_HIST,
    LV_IND_BBANDS_UPPER,
    LV_IND_BBANDS_MIDDLE,
    LV_IND_BBANDS_LOWER,
    LV_IND_ATR,
    LV_IND_ADX,
    LV_IND_MFI,
    LV_IND_STOCH_K,
    LV_IND_AROON_UP,
    LV_IND_AROON_DOWN,
    LV_IND_AROONOSC,
    LV_IND_OBV,
    LV_IND_RETURN,
    LV_IND_CUMULATIVE_RETURN,
    LV_IND_VOLATILITY,
    LV_IND_COUNT
};

#define LV_IND_MAX_PARAMS 5

/* Largest accepted period (TA-Lib's own limit); keeps every lookback well inside an int. */
#define LV_IND_MAX_PERIOD 100000

/* Which bar fields an indicator reads. Sort scores (equity series) only have a close, so
 * only LV_INPUT_CLOSE indicators are valid there. */
enum lv_ind_input { LV_INPUT_CLOSE, LV_INPUT_HL, LV_INPUT_HLC, LV_INPUT_HLCV, LV_INPUT_CV };

/* Canonical parameters: every slot filled (defaults applied), in the order of the spec's
 * table. Two series are the same series iff kind and every value are equal, so this struct
 * can be compared with lv_ind_params_equal and hashed. Integers are stored as exact doubles;
 * booleans as 0/1. */
struct lv_ind_params {
    double v[LV_IND_MAX_PARAMS];
};

struct lv_ind_param_spec {
    const char *name;   /* as written in a strategy's "params" object, e.g. "fastperiod" */
    double default_val; /* used when absent or empty */
    double min_val;     /* smallest accepted value */
    bool integer;       /* must be a whole number */
    bool boolean;       /* accepts true/false/"true"/"false" only (annualize) */
    bool optional;      /* may stay unset (CUMULATIVE_RETURN's period): stored as 0 */
};

struct lv_ind_spec {
    const char *name; /* canonical upper-case name, e.g. "MACD_SIGNAL" */
    enum lv_ind_input input;
    int n_params;
    struct lv_ind_param_spec params[LV_IND_MAX_PARAMS];
};

/* The static description of one indicator. */
const struct lv_ind_spec *lv_ind_spec(enum lv_ind kind);

/* Looks up an indicator by name, case-insensitively, with the reference's aliases
 * (PRICE, CLOSE, LAST → CURRENT_PRICE; MACD-HIST → MACD_HIST; PPO → PPO_LINE).
 * Returns false for an unknown name. */
bool lv_ind_from_name(const char *name, enum lv_ind *out);

/* Fills every parameter with its default. */
void lv_ind_default_params(enum lv_ind kind, struct lv_ind_params *out);

/* Index of a parameter by name for this indicator, or -1. */
int lv_ind_param_index(enum lv_ind kind, const char *param_name);

/* Checks canonical values (integers, minimums, supported matype 0/1). Writes a message
 * naming the parameter on failure. */
int lv_ind_check_params(enum lv_ind kind, const struct lv_ind_params *params, struct lv_error *err);

bool lv_ind_params_equal(const struct lv_ind_params *a, const struct lv_ind_params *b);

/* Number of bars before the first defined value (TA-Lib's lookback: RSI n, SMA n-1,
 * MACD slow-1+signal-1, STOCH_K fastk-1+slowk-1+slowd-1, VOLATILITY n, RETURN n, …). */
int lv_ind_lookback(enum lv_ind kind, const struct lv_ind_params *params);

/* One symbol's bars, oldest first. Arrays the indicator does not read may be NULL. */
struct lv_bars_view {
    const double *open, *high, *low, *close, *volume;
    size_t n;
};

/* Computes the indicator for every bar: out[i] for i < lookback is NaN, and so is any value
 * the definition leaves undefined. out has room for bars->n values. Needs no allocation:
 * scratch must hold lv_ind_scratch_size(bars->n) doubles (may be NULL when that is 0).
 * Returns 0, or -1 with a message (e.g. missing high/low for an HLC indicator). */
size_t lv_ind_scratch_size(enum lv_ind kind, size_t n);
int lv_ind_compute(enum lv_ind kind, const struct lv_ind_params *params,
                   const struct lv_bars_view *bars, double *out, double *scratch,
                   struct lv_error *err);

#endif
