/* data.h — Lever's client for the Alpaca Market Data API v2 (external-apis.md §2): the daily
 * bars of several symbols through GET /v2/stocks/bars, every page followed, checked bar by bar.
 *
 * What is asked: timeframe=1Day, adjustment=all (split, dividend and spin-off adjusted, the
 * prices a backtest needs), limit=10000 per page, the symbols comma-separated (at most
 * LV_ALPACA_SYMBOLS_PER_REQUEST per request sequence), start and optionally end as
 * YYYY-MM-DD, and feed when one is chosen (Alpaca's default otherwise, sip for history).
 * A page's `next_page_token` is followed until it is null.
 *
 * Bar day: Alpaca stamps a daily bar with the start of its trading day, midnight in New York,
 * written in UTC: "2022-02-01T05:00:00Z" (EST) or "2022-08-16T04:00:00Z" (EDT). The day is
 * therefore the date as written in `t` (its first 10 characters), never `t` converted to the
 * host's local time, which would move every bar to the previous day west of UTC.
 *
 * Retries: 429 (rate limit) and 5xx answers are retried with the same request after 1 s, 2 s
 * and 4 s (LV_ALPACA_ATTEMPTS tries in all, so at most 7 s of waiting per page); Alpaca's 429
 * carries no Retry-After. Network failures and other statuses are reported at once.
 *
 * Checks on every bar: t starts with a real YYYY-MM-DD date followed by 'T'; o, h, l, c are
 * finite numbers > 0; v is a finite number >= 0; each symbol's days strictly ascend (across
 * pages too). Any bad bar fails the whole fetch, so a caller never stores half an answer. */
#ifndef LEVER_ALPACA_DATA_H
#define LEVER_ALPACA_DATA_H

#include "alpaca/client.h"
#include "core/bars_csv.h"
#include "core/calendar.h"

#define LV_ALPACA_SYMBOLS_PER_REQUEST 100
#define LV_ALPACA_ATTEMPTS            4
#define LV_ALPACA_PAGE_LIMIT          10000

/* One fetch. Zero-initialise, then fill. Everything is borrowed. */
struct lv_alpaca_bars_query {
    const char (*symbols)[LV_SYMBOL_MAX]; /* valid, upper-case (lv_symbol_normalize), distinct */
    int n_symbols;                        /* >= 1 */
    lv_day start;                         /* required */
    lv_day end;                           /* LV_DAY_NONE: up to the latest bar */
    const char *feed;                     /* "sip", "iex", or NULL for Alpaca's default */
    int first_retry_ms;                   /* pause before the first retry; 0 = 1000 */
};

/* GET {ref->base_url}/v2/stocks/bars for every symbol of `query` (ref->base_url is the data
 * host, ALPACA_DATA_URL). Returns:
 *   LV_ALPACA_OK        *out holds one series per symbol, in query order (free with
 *                       lv_bar_table_free);
 *   LV_ALPACA_NO_DATA   Alpaca answered but had no bars for some symbols; err names them
 *                       ("Alpaca has no daily bars for XYZ, ABC in 2000-01-01 .. latest");
 *   LV_ALPACA_REJECTED  401/403: the keys are wrong or lack the permission;
 *   LV_ALPACA_FAILED    network failure, another error status (after the retries above),
 *                       a malformed answer or a bar that fails the checks.
 * Except on LV_ALPACA_OK *out is empty and err says what happened in words fit for the user,
 * with Alpaca's own message when it sent one (never the secret). *http_status (may be NULL)
 * gets the last status seen, 0 when no answer came. */
enum lv_alpaca_result lv_alpaca_daily_bars(const struct lv_alpaca_account_ref *ref,
                                           const struct lv_alpaca_bars_query *query,
                                           struct lv_bar_table *out, long *http_status,
                                           struct lv_error *err);

/* The bar day of an Alpaca timestamp (see "Bar day" above): true and *day when `t` starts
 * with a real YYYY-MM-DD date followed by 'T'. */
bool lv_alpaca_bar_day(const char *t, lv_day *day);

#endif
