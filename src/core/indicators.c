/* indicators.c — the indicator catalogue: names, parameters and their checks, lookbacks and
 * scratch sizes, and lv_ind_compute, which hands each family to its own file. */
#include "core/indicators.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/indicators_internal.h"

/* Parameter kinds, as table rows: {name, default, minimum, integer, boolean, optional}. Every
 * MA-type parameter's name ends in "matype" (see is_matype). */
// clang-format off
#define PERIOD(name, def, min)     {name, def, min, true, false, false}
#define OPTIONAL_PERIOD(name, min) {name, 0, min, true, false, true}
#define MATYPE(name)               {name, 0, 0, true, false, false}
#define FACTOR(name, def)          {name, def, 0, false, false, false}
#define FLAG(name, def)            {name, def, 0, false, true, false}

#define MACD_PARAMS 3, {PERIOD("fastperiod", 12, 2), PERIOD("slowperiod", 26, 2), \
                        PERIOD("signalperiod", 9, 2)}
/* The spec gives the three PPO outputs one parameter list; PPO_LINE ignores signalperiod. */
#define PPO_PARAMS 4, {PERIOD("fastperiod", 12, 2), PERIOD("slowperiod", 26, 2), \
                       MATYPE("matype"), PERIOD("signalperiod", 9, 2)}
#define BBANDS_PARAMS 4, {PERIOD("period", 20, 2), FACTOR("nbdevup", 2), \
                          FACTOR("nbdevdn", 2), MATYPE("matype")}
#define AROON_PARAMS 1, {PERIOD("period", 25, 2)}
// clang-format on

static const struct lv_ind_spec ind_specs[LV_IND_COUNT] = {
    [LV_IND_CURRENT_PRICE] = {"CURRENT_PRICE", LV_INPUT_CLOSE, 0, {{0}}},
    [LV_IND_SMA] = {"SMA", LV_INPUT_CLOSE, 1, {PERIOD("period", 20, 2)}},
    [LV_IND_EMA] = {"EMA", LV_INPUT_CLOSE, 1, {PERIOD("period", 20, 2)}},
    [LV_IND_RSI] = {"RSI", LV_INPUT_CLOSE, 1, {PERIOD("period", 14, 2)}},
    [LV_IND_MACD] = {"MACD", LV_INPUT_CLOSE, MACD_PARAMS},
    [LV_IND_MACD_LINE] = {"MACD_LINE", LV_INPUT_CLOSE, MACD_PARAMS},
    [LV_IND_MACD_SIGNAL] = {"MACD_SIGNAL", LV_INPUT_CLOSE, MACD_PARAMS},
    [LV_IND_MACD_HIST] = {"MACD_HIST", LV_INPUT_CLOSE, MACD_PARAMS},
    [LV_IND_PPO_LINE] = {"PPO_LINE", LV_INPUT_CLOSE, PPO_PARAMS},
    [LV_IND_PPO_SIGNAL] = {"PPO_SIGNAL", LV_INPUT_CLOSE, PPO_PARAMS},
    [LV_IND_PPO_HIST] = {"PPO_HIST", LV_INPUT_CLOSE, PPO_PARAMS},
    [LV_IND_BBANDS_UPPER] = {"BBANDS_UPPER", LV_INPUT_CLOSE, BBANDS_PARAMS},
    [LV_IND_BBANDS_MIDDLE] = {"BBANDS_MIDDLE", LV_INPUT_CLOSE, BBANDS_PARAMS},
    [LV_IND_BBANDS_LOWER] = {"BBANDS_LOWER", LV_INPUT_CLOSE, BBANDS_PARAMS},
    [LV_IND_ATR] = {"ATR", LV_INPUT_HLC, 1, {PERIOD("period", 14, 1)}},
    [LV_IND_ADX] = {"ADX", LV_INPUT_HLC, 1, {PERIOD("period", 14, 2)}},
    [LV_IND_MFI] = {"MFI", LV_INPUT_HLCV, 1, {PERIOD("period", 14, 2)}},
    [LV_IND_STOCH_K] = {"STOCH_K",
                        LV_INPUT_HLC,
                        5,
                        {PERIOD("fastk_period", 14, 1), PERIOD("slowk_period", 3, 1),
                         MATYPE("slowk_matype"), PERIOD("slowd_period", 3, 1),
                         MATYPE("slowd_matype")}},
    [LV_IND_AROON_UP] = {"AROON_UP", LV_INPUT_HL, AROON_PARAMS},
    [LV_IND_AROON_DOWN] = {"AROON_DOWN", LV_INPUT_HL, AROON_PARAMS},
    [LV_IND_AROONOSC] = {"AROONOSC", LV_INPUT_HL, AROON_PARAMS},
    [LV_IND_OBV] = {"OBV", LV_INPUT_CV, 0, {{0}}},
    [LV_IND_RETURN] = {"RETURN", LV_INPUT_CLOSE, 1, {PERIOD("period", 200, 1)}},
    [LV_IND_CUMULATIVE_RETURN] = {"CUMULATIVE_RETURN",
                                  LV_INPUT_CLOSE,
                                  1,
                                  {OPTIONAL_PERIOD("period", 1)}},
    [LV_IND_VOLATILITY] = {"VOLATILITY",
                           LV_INPUT_CLOSE,
                           2,
                           {PERIOD("period", 20, 2), FLAG("annualize", 1)}},
};

/* Names the reference's indicator service also accepted. */
static const struct {
    const char *alias;
    enum lv_ind kind;
} ind_aliases[] = {
    {"PRICE", LV_IND_CURRENT_PRICE}, {"CLOSE", LV_IND_CURRENT_PRICE},
    {"LAST", LV_IND_CURRENT_PRICE},  {"MACD-HIST", LV_IND_MACD_HIST},
    {"PPO", LV_IND_PPO_LINE},
};

static bool valid_kind(enum lv_ind kind)
{
    return (unsigned)kind < LV_IND_COUNT;
}

const struct lv_ind_spec *lv_ind_spec(enum lv_ind kind)
{
    return valid_kind(kind) ? &ind_specs[kind] : NULL;
}

bool lv_ind_from_name(const char *name, enum lv_ind *out)
{
    if (name == NULL)
        return false;
    for (int k = 0; k < LV_IND_COUNT; k++) {
        if (strcasecmp(name, ind_specs[k].name) == 0) {
            *out = (enum lv_ind)k;
            return true;
        }
    }
    for (size_t a = 0; a < sizeof ind_aliases / sizeof ind_aliases[0]; a++) {
        if (strcasecmp(name, ind_aliases[a].alias) == 0) {
            *out = ind_aliases[a].kind;
            return true;
        }
    }
    return false;
}

void lv_ind_default_params(enum lv_ind kind, struct lv_ind_params *out)
{
    memset(out, 0, sizeof *out);
    if (!valid_kind(kind))
        return;
    for (int i = 0; i < ind_specs[kind].n_params; i++)
        out->v[i] = ind_specs[kind].params[i].default_val;
}

int lv_ind_param_index(enum lv_ind kind, const char *param_name)
{
    if (!valid_kind(kind) || param_name == NULL)
        return -1;
    for (int i = 0; i < ind_specs[kind].n_params; i++) {
        if (strcmp(param_name, ind_specs[kind].params[i].name) == 0)
            return i;
    }
    return -1;
}

static bool is_matype(const struct lv_ind_param_spec *param)
{
    size_t len = strlen(param->name);
    return len >= 6 && strcmp(param->name + len - 6, "matype") == 0;
}

static int check_param(const struct lv_ind_spec *spec, const struct lv_ind_param_spec *param,
                       double value, struct lv_error *err)
{
    if (!isfinite(value))
        return lv_fail(err, "%s: parameter \"%s\" must be a finite number", spec->name,
                       param->name);
    if (param->optional && value == 0)
        return 0;
    if (param->boolean) {
        if (value != 0 && value != 1)
            return lv_fail(err, "%s: parameter \"%s\" must be true or false", spec->name,
                           param->name);
        return 0;
    }
    if (param->integer && value != floor(value))
        return lv_fail(err, "%s: parameter \"%s\" must be a whole number, got %g", spec->name,
                       param->name, value);
    if (value < param->min_val)
        return lv_fail(err, "%s: parameter \"%s\" must be at least %g, got %g", spec->name,
                       param->name, param->min_val, value);
    if (is_matype(param)) {
        if (value != LV_MATYPE_SMA && value != LV_MATYPE_EMA)
            return lv_fail(err,
                           "%s: parameter \"%s\" = %g is not supported (0 = SMA and 1 = EMA "
                           "are; TA-Lib's other MA types are not implemented yet)",
                           spec->name, param->name, value);
        return 0;
    }
    if (param->integer && value > LV_IND_MAX_PERIOD)
        return lv_fail(err, "%s: parameter \"%s\" must be at most %d, got %g", spec->name,
                       param->name, LV_IND_MAX_PERIOD, value);
    return 0;
}

int lv_ind_check_params(enum lv_ind kind, const struct lv_ind_params *params, struct lv_error *err)
{
    if (!valid_kind(kind))
        return lv_fail(err, "unknown indicator (%d)", (int)kind);
    const struct lv_ind_spec *spec = &ind_specs[kind];
    for (int i = 0; i < spec->n_params; i++) {
        if (check_param(spec, &spec->params[i], params->v[i], err) != 0)
            return -1;
    }
    return 0;
}

bool lv_ind_params_equal(const struct lv_ind_params *a, const struct lv_ind_params *b)
{
    for (int i = 0; i < LV_IND_MAX_PARAMS; i++) {
        if (a->v[i] != b->v[i])
            return false;
    }
    return true;
}

/* The longer of MACD's or PPO's two periods: TA-Lib swaps them when fast > slow. */
static int slow_period(const double *p)
{
    return (int)fmax(p[0], p[1]);
}

int lv_ind_lookback(enum lv_ind kind, const struct lv_ind_params *params)
{
    const double *p = params->v;
    switch (kind) {
    case LV_IND_CURRENT_PRICE:
    case LV_IND_OBV:
        return 0;
    case LV_IND_SMA:
    case LV_IND_EMA:
    case LV_IND_BBANDS_UPPER:
    case LV_IND_BBANDS_MIDDLE:
    case LV_IND_BBANDS_LOWER:
        return (int)p[0] - 1;
    case LV_IND_RSI:
    case LV_IND_ATR:
    case LV_IND_MFI:
    case LV_IND_AROON_UP:
    case LV_IND_AROON_DOWN:
    case LV_IND_AROONOSC:
    case LV_IND_RETURN:
    case LV_IND_CUMULATIVE_RETURN: /* 0 when the period is unset */
    case LV_IND_VOLATILITY:
        return (int)p[0];
    case LV_IND_ADX:
        return 2 * (int)p[0] - 1;
    case LV_IND_MACD:
    case LV_IND_MACD_LINE:
    case LV_IND_MACD_SIGNAL:
    case LV_IND_MACD_HIST:
        /* TA-Lib emits all three outputs from the signal's first value. */
        return slow_period(p) - 1 + (int)p[2] - 1;
    case LV_IND_PPO_LINE:
        return slow_period(p) - 1;
    case LV_IND_PPO_SIGNAL:
    case LV_IND_PPO_HIST:
        return slow_period(p) - 1 + (int)p[3] - 1;
    case LV_IND_STOCH_K:
        /* Slow %K is emitted from slow %D's first value, as TA-Lib does. */
        return (int)p[0] - 1 + (int)p[1] - 1 + (int)p[3] - 1;
    case LV_IND_COUNT:
        break;
    }
    return 0;
}

size_t lv_ind_scratch_size(enum lv_ind kind, size_t n)
{
    switch (kind) {
    case LV_IND_MFI:        /* typical prices */
    case LV_IND_VOLATILITY: /* daily returns */
        return n;
    case LV_IND_AROON_UP: /* the two extreme windows */
    case LV_IND_AROON_DOWN:
    case LV_IND_AROONOSC:
        return 2 * n;
    case LV_IND_STOCH_K: /* fast %K and the two extreme windows */
        return 3 * n;
    default:
        return 0;
    }
}

static int check_inputs(const struct lv_ind_spec *spec, const struct lv_bars_view *bars,
                        struct lv_error *err)
{
    bool has_hl = bars->high != NULL && bars->low != NULL;
    bool ok;
    switch (spec->input) {
    case LV_INPUT_CLOSE:
        ok = bars->close != NULL;
        break;
    case LV_INPUT_HL:
        ok = has_hl;
        break;
    case LV_INPUT_HLC:
        ok = has_hl && bars->close != NULL;
        break;
    case LV_INPUT_HLCV:
        ok = has_hl && bars->close != NULL && bars->volume != NULL;
        break;
    case LV_INPUT_CV:
        ok = bars->close != NULL && bars->volume != NULL;
        break;
    default:
        ok = false;
    }
    if (ok || bars->n == 0)
        return 0;
    static const char *const needs[] = {
        [LV_INPUT_CLOSE] = "closing prices",
        [LV_INPUT_HL] = "high and low prices",
        [LV_INPUT_HLC] = "high, low and closing prices",
        [LV_INPUT_HLCV] = "high, low and closing prices and volumes",
        [LV_INPUT_CV] = "closing prices and volumes",
    };
    return lv_fail(err, "%s needs %s, which this series does not have", spec->name,
                   needs[spec->input]);
}

static void dispatch(enum lv_ind kind, const double *p, const struct lv_bars_view *bars,
                     double *out, double *scratch)
{
    const double *close = bars->close;
    size_t n = bars->n;
    switch (kind) {
    case LV_IND_CURRENT_PRICE:
        memcpy(out, close, n * sizeof *out);
        break;
    case LV_IND_SMA:
    case LV_IND_EMA:
        lv_ind_moving_average(kind, p, close, n, out);
        break;
    case LV_IND_RSI:
        lv_ind_rsi(p, close, n, out);
        break;
    case LV_IND_MACD:
    case LV_IND_MACD_LINE:
    case LV_IND_MACD_SIGNAL:
    case LV_IND_MACD_HIST:
        lv_ind_macd(kind, p, close, n, out);
        break;
    case LV_IND_PPO_LINE:
    case LV_IND_PPO_SIGNAL:
    case LV_IND_PPO_HIST:
        lv_ind_ppo(kind, p, close, n, out);
        break;
    case LV_IND_BBANDS_UPPER:
    case LV_IND_BBANDS_MIDDLE:
    case LV_IND_BBANDS_LOWER:
        lv_ind_bbands(kind, p, close, n, out);
        break;
    case LV_IND_ATR:
        lv_ind_atr(p, bars, out);
        break;
    case LV_IND_ADX:
        lv_ind_adx(p, bars, out);
        break;
    case LV_IND_MFI:
        lv_ind_mfi(p, bars, out, scratch);
        break;
    case LV_IND_STOCH_K:
        lv_ind_stoch_k(p, bars, out, scratch);
        break;
    case LV_IND_AROON_UP:
    case LV_IND_AROON_DOWN:
    case LV_IND_AROONOSC:
        lv_ind_aroon(kind, p, bars, out, scratch);
        break;
    case LV_IND_OBV:
        lv_ind_obv(bars, out);
        break;
    case LV_IND_RETURN:
        lv_ind_return((int)p[0], close, n, out);
        break;
    case LV_IND_CUMULATIVE_RETURN:
        if (p[0] == 0)
            lv_ind_cumulative_return(close, n, out);
        else
            lv_ind_return((int)p[0], close, n, out);
        break;
    case LV_IND_VOLATILITY:
        lv_ind_volatility(p, close, n, out, scratch);
        break;
    case LV_IND_COUNT:
        break;
    }
}

int lv_ind_compute(enum lv_ind kind, const struct lv_ind_params *params,
                   const struct lv_bars_view *bars, double *out, double *scratch,
                   struct lv_error *err)
{
    if (lv_ind_check_params(kind, params, err) != 0)
        return -1;
    const struct lv_ind_spec *spec = &ind_specs[kind];
    if (check_inputs(spec, bars, err) != 0)
        return -1;
    if (scratch == NULL && lv_ind_scratch_size(kind, bars->n) > 0)
        return lv_fail(err, "%s needs %zu doubles of scratch space", spec->name,
                       lv_ind_scratch_size(kind, bars->n));

    /* Below the lookback nothing is defined; the family functions only run when at least
     * one value is, so they may index back `lookback` bars without checking. */
    size_t lookback = (size_t)lv_ind_lookback(kind, params);
    size_t undefined = lookback < bars->n ? lookback : bars->n;
    for (size_t i = 0; i < undefined; i++)
        out[i] = NAN;
    if (bars->n > lookback)
        dispatch(kind, params->v, bars, out, scratch);
    return 0;
}
