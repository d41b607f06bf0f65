/* market.h — the in-memory market: each symbol's daily bars as columnar arrays, immutable once
 * built, plus a thread-safe cache of indicator series computed on those bars. */
#ifndef LEVER_CORE_MARKET_H
#define LEVER_CORE_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/calendar.h"
#include "core/error.h"
#include "core/indicators.h"

/* Longest symbol + NUL. Equal to strategy.h's LV_TICKER_MAX (checked in backtest.c). */
#define LV_SYMBOL_MAX 16

/* Upper-cases and checks a symbol: 1..15 characters from A-Z 0-9 . - ^ / _ after upper-casing.
 * `len` bytes of `text` are read (text need not be NUL-terminated). Returns false when the
 * symbol is empty, too long or holds another character. */
bool lv_symbol_normalize(const char *text, size_t len, char out[LV_SYMBOL_MAX]);

/* One symbol's bars, oldest first, dates strictly ascending. Read-only views into the market. */
struct lv_symbol_bars {
    char symbol[LV_SYMBOL_MAX];
    size_t n;
    const lv_day *day;
    const double *open, *high, *low, *close, *volume;
};

/* Index of the bar dated exactly `d`, or -1. O(log n). */
long lv_bars_index_of(const struct lv_symbol_bars *bars, lv_day d);

/* Index of the last bar dated on or before `d`, or -1 when every bar is later. O(log n). */
long lv_bars_at_or_before(const struct lv_symbol_bars *bars, lv_day d);

/* The bars as the indicator functions read them. */
struct lv_bars_view lv_bars_view_of(const struct lv_symbol_bars *bars);

/* ---- Building a market ------------------------------------------------------------------ */

struct lv_market_builder; /* collects symbols; consumed by lv_market_finalize */
struct lv_market;         /* immutable: share it read-only between threads */

struct lv_market_builder *lv_market_builder_new(void);

/* Copies n bars of one symbol into the builder. The symbol is normalised (upper case); adding
 * one twice, dates that are not strictly ascending, or n == 0 is an error (nothing added). */
int lv_market_builder_add(struct lv_market_builder *builder, const char *symbol, const lv_day *day,
                          const double *open, const double *high, const double *low,
                          const double *close, const double *volume, size_t n,
                          struct lv_error *err);

/* Turns the builder into a market (the builder is freed, even on failure, which can only be
 * out of memory). Free the market with lv_market_free. */
struct lv_market *lv_market_finalize(struct lv_market_builder *builder, struct lv_error *err);
void lv_market_builder_free(struct lv_market_builder *builder); /* abandon without finalising */
void lv_market_free(struct lv_market *market);

int lv_market_n_symbols(const struct lv_market *market);

/* Symbol id (0..n-1, in alphabetical order) by name, case-insensitive; -1 when absent. */
int lv_market_find(const struct lv_market *market, const char *symbol);

/* The bars of symbol `id`. */
const struct lv_symbol_bars *lv_market_bars(const struct lv_market *market, int id);

/* ---- Shared series cache ---------------------------------------------------------------- */

/* Indicator series of one market, computed on demand and kept for the cache's lifetime, so
 * that every backtest of a batch computes each (symbol, indicator, parameters) series once.
 * Thread-safe: any number of threads may call the functions below at once; a series being
 * computed by one thread is waited for, never computed twice. */
struct lv_series_cache;

/* An indicator series on a symbol's own bars: values[i] belongs to bars.day[i]. */
struct lv_series {
    const double *values; /* n values, NaN where undefined; owned by the cache */
    size_t n;
    size_t first_defined; /* index of the first non-NaN value; n when there is none */
};

struct lv_series_cache *lv_series_cache_new(const struct lv_market *market);
void lv_series_cache_free(struct lv_series_cache *cache);

/* Gets (computing it the first time) indicator `kind` with canonical `params` over symbol
 * `symbol_id`'s bars. Returns 0 and fills *out (valid until the cache is freed), or -1 with
 * the indicator's error message (failures are remembered too). */
int lv_series_cache_get(struct lv_series_cache *cache, int symbol_id, enum lv_ind kind,
                        const struct lv_ind_params *params, struct lv_series *out,
                        struct lv_error *err);

/* The same series aligned to the calendar of symbol `calendar_id` (e.g. the benchmark), so a
 * backtest reads it with one load per day: out->n = that calendar's bar count, values[j] is the
 * series' value on the calendar's day j when the symbol has a bar that very day, else NaN
 * (a data gap reads as a missing input, never as a stale value); first_defined is a calendar
 * index. Computed once per (series, calendar), like lv_series_cache_get. */
int lv_series_cache_get_aligned(struct lv_series_cache *cache, int symbol_id, enum lv_ind kind,
                                const struct lv_ind_params *params, int calendar_id,
                                struct lv_series *out, struct lv_error *err);

/* Alignment of symbol `symbol_id` to the calendar of symbol `calendar_id` (e.g. the
 * benchmark): an array of lv_market_bars(calendar_id)->n entries where entry j is the index
 * of the symbol's last bar dated on or before the calendar's day j, or -1. Computed once,
 * owned by the cache. Returns NULL only when out of memory. */
const int32_t *lv_series_cache_alignment(struct lv_series_cache *cache, int symbol_id,
                                         int calendar_id);

/* Daily returns of symbol `symbol_id` held over the calendar of symbol `calendar_id`: entry j
 * is c[j] / c[j−1] − 1, where c[j] is the close of the symbol's last bar dated on or before the
 * calendar's day j (a day without a bar carries the last close: 0 % that day); 0 when either
 * close is missing or not positive, so entry 0 is 0. lv_market_bars(calendar_id)->n entries,
 * computed once, owned by the cache. Returns NULL only when out of memory. */
const double *lv_series_cache_returns(struct lv_series_cache *cache, int symbol_id,
                                      int calendar_id);

#endif
