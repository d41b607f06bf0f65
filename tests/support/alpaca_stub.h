/* alpaca_stub.h — a local stand-in for one Alpaca host, run in the test process on a loopback
 * port: GET /v2/account of the Trading API (external-apis.md §1.3, §1.4) and GET
 * /v2/stocks/bars of the Market Data API (§2.2), with Alpaca's key headers and answers. */
#ifndef LEVER_TESTS_ALPACA_STUB_H
#define LEVER_TESTS_ALPACA_STUB_H

#include <stddef.h>

/*
 * GET /v2/account
 *   APCA-API-KEY-ID + APCA-API-SECRET-KEY of the account -> 200 Account object (money as
 *     strings, account_number, status ACTIVE, …);
 *   a header missing, an unknown key id or a wrong secret
 *     -> 401 {"code":40110000,"message":"request is not authorized"};
 *   a key id registered with alpaca_stub_add_foreign_key (keys of the other environment,
 *     e.g. paper keys sent to the live host) -> 403 {"message":"forbidden."}.
 */

/*
 * GET /v2/stocks/bars (the same key checks first: 401 / 403 as above)
 *   symbols (comma-separated, required), timeframe (1Day or 1D only), start and end
 *   (YYYY-MM-DD or RFC 3339; compared by their date, both inclusive), limit (1..10000,
 *   default 1000), adjustment (raw split dividend spin-off all), feed (sip iex otc boats),
 *   page_token. A bad value -> 422 {"code":42210000,"message":"invalid timeframe"} and the
 *   like (adjustment: 400 {"code":40010000,...}, as documented).
 *   -> 200 {"bars": {SYMBOL: [{"t","o","h","l","c","v","n","vw"}...]}, "next_page_token"}:
 *   sorted by symbol then time, at most min(limit, page size) bars per page in all, a symbol
 *   with no bars simply missing; the token is opaque base64 of "SYMBOL|D|<last t>", null on
 *   the last page. `t` is midnight New York in UTC: "...T05:00:00Z" in winter (EST),
 *   "...T04:00:00Z" in summer (EDT).
 *   alpaca_stub_fail_bars makes the next requests answer 429 {"code":42910000,"message":
 *   "rate limit exceeded"} (no Retry-After, as Alpaca) or 500 {"code":50010000,...}.
 */

struct alpaca_stub;

/* One daily bar to serve; `day` is "YYYY-MM-DD" (its t is computed as described above). */
struct alpaca_stub_bar {
    const char *day;
    double o, h, l, c, v;
};

/* Starts a host whose one account has this key pair. NULL on failure. */
struct alpaca_stub *alpaca_stub_start(const char *key_id, const char *secret);
void alpaca_stub_stop(struct alpaca_stub *stub);

/* "http://127.0.0.1:PORT" (the base URL; paths start with /v2). */
const char *alpaca_stub_url(const struct alpaca_stub *stub);

/* A key id this host knows but refuses with 403. */
void alpaca_stub_add_foreign_key(struct alpaca_stub *stub, const char *key_id);

/* Number of GET /v2/account requests answered so far. */
int alpaca_stub_account_requests(struct alpaca_stub *stub);

/* Sets the bars served for `symbol` (copied, served in the given order; n = 0 removes them).
 * At most 16 symbols. */
void alpaca_stub_set_bars(struct alpaca_stub *stub, const char *symbol,
                          const struct alpaca_stub_bar *bars, int n);

/* Sets `n` bars on consecutive weekdays from `first_day` ("YYYY-MM-DD", a weekday), closes
 * first_close, first_close + 1, … (open = close - 0.5, high = close + 1, low = close - 1). */
void alpaca_stub_set_daily_bars(struct alpaca_stub *stub, const char *symbol, const char *first_day,
                                int n, double first_close);

/* Largest page the host sends whatever the limit asked (default 10000), so tests page. */
void alpaca_stub_set_bars_page_size(struct alpaca_stub *stub, int page_size);

/* The next `times` bars requests (after the key check) answer `status` (429 or 5xx). */
void alpaca_stub_fail_bars(struct alpaca_stub *stub, int status, int times);

/* Number of GET /v2/stocks/bars requests received so far (refused ones included). */
int alpaca_stub_bars_requests(struct alpaca_stub *stub);

/* The parameters of the latest bars request, decoded: "symbols=A,B timeframe=1Day
 * adjustment=all limit=10000 start=2000-01-01 end=- feed=- page_token=-" ("-": absent). */
void alpaca_stub_last_bars_query(struct alpaca_stub *stub, char *out, size_t cap);

#endif
