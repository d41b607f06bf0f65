/* backtest.h — one backtest of a compiled strategy on an in-memory market (strategy-language.md
 * §5–§7): options, the daily simulation with sort scores, and the result object as JSON.
 *
 * Built for batches: the strategy, the market and the series cache are shared read-only by any
 * number of threads; each thread owns one workspace and one result and reuses them for every
 * run, so a run allocates almost nothing once the buffers have grown. */
#ifndef LEVER_CORE_BACKTEST_H
#define LEVER_CORE_BACKTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/calendar.h"
#include "core/error.h"
#include "core/market.h"
#include "core/metrics.h"
#include "core/problems.h"
#include "core/strategy.h"

/* ---- Options ------------------------------------------------------------------------------ */

enum lv_rebalance {
    LV_REBALANCE_DAILY,
    LV_REBALANCE_WEEKLY,    /* first trading day of each ISO week */
    LV_REBALANCE_MONTHLY,   /* … of each month */
    LV_REBALANCE_QUARTERLY, /* … of each quarter */
    LV_REBALANCE_YEARLY,    /* … of each year */
    LV_REBALANCE_THRESHOLD, /* when a drifted weight is off its target by more than threshold */
};

struct lv_backtest_options {
    lv_day start; /* LV_DAY_NONE: as early as the data allows */
    lv_day end;   /* LV_DAY_NONE: as late as the data allows */
    char benchmark[LV_SYMBOL_MAX];
    double initial_capital;
    enum lv_rebalance rebalance;
    double threshold; /* LV_REBALANCE_THRESHOLD only, a fraction: 0.05 = 5 points */
    double cost_bps;  /* charged on Σ|target − drifted weight| at every trade */
};

/* Defaults: no start or end, benchmark SPY, 100000, daily, no costs. */
void lv_backtest_options_init(struct lv_backtest_options *options);

/* Overrides options with the fields present in `obj` (a strategy document's top level, or a
 * request): benchmark_symbol|benchmarkSymbol, start_date|startDate, end_date|endDate ("max",
 * "" or null = no limit), initial_capital, rebalance ("daily" … "yearly", {"threshold": x}
 * or "threshold:x"), cost_bps. Numbers may be numeric strings. Call it once per source, in
 * order of precedence (document first, then request). Each bad field adds a problem with its
 * JSON Pointer and leaves that option unchanged; returns -1 when any was added. */
int lv_backtest_options_read(const json_t *obj, struct lv_backtest_options *options,
                             struct lv_problems *problems);

/* Parses "daily", "weekly", "monthly", "quarterly", "yearly" (any case) or "threshold:X"
 * with 0 <= X < 1. Returns 0, or -1 with a message. */
int lv_rebalance_parse(const char *text, enum lv_rebalance *kind, double *threshold,
                       struct lv_error *err);

/* The symbols a run of `strategy` reads: held tickers, indicator tickers and the benchmark,
 * each once, sorted. Writes at most `cap` (symbols may be NULL when cap is 0) and returns how
 * many there are; when that exceeds cap it may overcount, so call again with that capacity.
 * A loader (files, database) fetches exactly these. */
int lv_backtest_symbols(const struct lv_strategy *strategy,
                        const struct lv_backtest_options *options, char (*symbols)[LV_SYMBOL_MAX],
                        int cap);

/* ---- Result ------------------------------------------------------------------------------- */

/* One row of the positions list: the target chosen at the close of `day`. */
struct lv_position {
    lv_day day;
    char ticker[LV_SYMBOL_MAX];
    double weight;
};

struct lv_backtest_timing {
    double load_ms;       /* set by the caller that loaded the data (0 otherwise) */
    double indicators_ms; /* series from the cache (computed when cold) and sort scores */
    double simulate_ms;   /* the daily loop and the metrics */
    double total_ms;      /* the run's own time; a caller that sets load_ms adds it here */
};

/* Zero-initialise before the first run; the arrays are owned and reused by later runs. */
struct lv_backtest_result {
    struct lv_metrics metrics, benchmark_metrics;
    size_t n_days;     /* grid days of the window */
    lv_day *days;      /* n_days dates */
    double *equity;    /* equity in dollars at each close, before that close's trade */
    double *benchmark; /* the benchmark bought with the capital at the window start */
    size_t n_positions;
    struct lv_position *positions;
    int n_warnings;
    char **warnings; /* each owned */
    lv_day window_start, window_end;
    char start_reason[256]; /* e.g. "SPY SMA(period=200): first value on 1993-11-12" */
    struct lv_backtest_timing timing;
    size_t days_cap, positions_cap; /* capacities, for reuse */
    int warnings_cap;
};

void lv_backtest_result_free(struct lv_backtest_result *result);

/* Appends a warning (e.g. the strategy compiler's notes). Dropped when out of memory. */
void lv_backtest_result_warn(struct lv_backtest_result *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The §6 result object: metrics, benchmark_metrics, equity_curve, benchmark_curve, positions,
 * warnings, window {start, end, start_reason}, timing. Never NaN: undefined numbers are null.
 * Returns a new reference, or NULL when out of memory. */
json_t *lv_backtest_result_to_json(const struct lv_backtest_result *result);

/* The same object without its three large arrays (equity_curve, benchmark_curve, positions),
 * for callers that write those as text with the two functions below. New reference or NULL. */
json_t *lv_backtest_result_summary_json(const struct lv_backtest_result *result);

/* The large arrays as compact JSON text, written straight from the result's arrays (a
 * complex strategy has tens of thousands of positions: building them as JSON objects first
 * costs more than the backtest). Numbers have 15 significant digits, undefined ones are
 * null. New NUL-terminated strings (the caller frees them), or NULL when out of memory. */
char *lv_backtest_curve_text(const struct lv_backtest_result *result, bool benchmark);
char *lv_backtest_positions_text(const struct lv_backtest_result *result);

/* ---- Running ------------------------------------------------------------------------------ */

/* Per-thread scratch buffers, grown as needed and reused by every run. */
struct lv_backtest_workspace;
struct lv_backtest_workspace *lv_backtest_workspace_new(void);
void lv_backtest_workspace_free(struct lv_backtest_workspace *ws);

/* Runs with this workspace fill only what a batch row stores: result->metrics (and the
 * window and curves they are computed from). No positions, no benchmark_metrics (left NaN),
 * no warnings. The metrics are bit for bit those of a full run. Off by default. */
void lv_backtest_workspace_metrics_only(struct lv_backtest_workspace *ws, bool metrics_only);

/* Runs one backtest. `cache` must belong to `market`. On success returns 0 and fills
 * `result` (its previous contents are replaced). Returns -1 with a message for a run that
 * cannot happen: a needed symbol without bars, an indicator that fails, an input never
 * defined before the end, fewer than 2 trading days in the window. */
int lv_backtest_run(const struct lv_strategy *strategy, const struct lv_market *market,
                    struct lv_series_cache *cache, const struct lv_backtest_options *options,
                    struct lv_backtest_workspace *ws, struct lv_backtest_result *result,
                    struct lv_error *err);

/* The same for one run of a batch: `strategy` is `memo`'s template bound with `values`
 * (values[k] = text of variable k), and what this run shares with the job's other runs (sort
 * children's series and scores, subtrees' daily outcomes: backtest_memo.h) is taken from
 * `memo` or computed once and left there. The result is exactly lv_backtest_run's. `memo`
 * (or `values`) NULL: lv_backtest_run. */
struct lv_backtest_memo;
int lv_backtest_run_memo(const struct lv_strategy *strategy, const char *const *values,
                         struct lv_backtest_memo *memo, const struct lv_market *market,
                         struct lv_series_cache *cache, const struct lv_backtest_options *options,
                         struct lv_backtest_workspace *ws, struct lv_backtest_result *result,
                         struct lv_error *err);

#endif
