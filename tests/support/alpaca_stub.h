/* alpaca_stub.h — a local stand-in for one Alpaca Trading API host (paper or live), run in
 * the test process on a loopback port. For now: GET /v2/account with Alpaca's key headers
 * and its documented answers (external-apis.md §1.3, §1.4). */
#ifndef LEVER_TESTS_ALPACA_STUB_H
#define LEVER_TESTS_ALPACA_STUB_H

/*
 * GET /v2/account
 *   APCA-API-KEY-ID + APCA-API-SECRET-KEY of the account -> 200 Account object (money as
 *     strings, account_number, status ACTIVE, …);
 *   a header missing, an unknown key id or a wrong secret
 *     -> 401 {"code":40110000,"message":"request is not authorized"};
 *   a key id registered with alpaca_stub_add_foreign_key (keys of the other environment,
 *     e.g. paper keys sent to the live host) -> 403 {"message":"forbidden."}.
 */

struct alpaca_stub;

/* Starts a host whose one account has this key pair. NULL on failure. */
struct alpaca_stub *alpaca_stub_start(const char *key_id, const char *secret);
void alpaca_stub_stop(struct alpaca_stub *stub);

/* "http://127.0.0.1:PORT" (the base URL; paths start with /v2). */
const char *alpaca_stub_url(const struct alpaca_stub *stub);

/* A key id this host knows but refuses with 403. */
void alpaca_stub_add_foreign_key(struct alpaca_stub *stub, const char *key_id);

/* Number of GET /v2/account requests answered so far. */
int alpaca_stub_account_requests(struct alpaca_stub *stub);

#endif
