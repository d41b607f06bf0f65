/* client.h — Lever's client for the Alpaca Trading API v2 (external-apis.md §1). For now it
 * only reads the account, which is how a user's saved keys are verified; trading calls will
 * be added here. */
#ifndef LEVER_ALPACA_CLIENT_H
#define LEVER_ALPACA_CLIENT_H

#include <jansson.h>

#include "core/error.h"

/* Which account to talk to: the base URL of the mode (ALPACA_PAPER_URL or ALPACA_LIVE_URL,
 * no trailing /v2) and the key pair, sent as APCA-API-KEY-ID and APCA-API-SECRET-KEY.
 * Everything is borrowed. */
struct lv_alpaca_account_ref {
    const char *base_url;
    const char *key_id;
    const char *secret;
};

enum lv_alpaca_result {
    LV_ALPACA_OK = 0,       /* 2xx and a JSON object */
    LV_ALPACA_REJECTED = 1, /* 401 or 403: the keys are wrong, or for the other mode */
    LV_ALPACA_FAILED = -1,  /* network error, timeout, other status, malformed body */
    LV_ALPACA_NO_DATA = 2,  /* market data: answered, but nothing for some symbols (data.h) */
};

/* GET {base_url}/v2/account. On LV_ALPACA_OK, *account (may be NULL when not wanted) gets
 * the Account object (new reference). Otherwise err says what happened in words fit for the
 * user (never containing the secret); *http_status (may be NULL) gets the status, 0 when no
 * answer came. */
enum lv_alpaca_result lv_alpaca_get_account(const struct lv_alpaca_account_ref *ref,
                                            json_t **account, long *http_status,
                                            struct lv_error *err);

/* ---- Shared by the Alpaca calls (client.c, data.c) ---------------------------------------- */

struct lv_fetch_response;

/* Sends GET `url` with ref's key headers (the header buffers holding the secret are wiped
 * before returning) and waits up to timeout_ms (0 = lv_fetch's default). Returns 0 with any
 * HTTP status in *response (free it with lv_fetch_response_free), or -1 with err set to
 * "Alpaca could not be reached: …" when no answer came (*response is then already freed). */
int lv_alpaca_get(const struct lv_alpaca_account_ref *ref, const char *url, long timeout_ms,
                  struct lv_fetch_response *response, struct lv_error *err);

/* Classifies a non-2xx answer: LV_ALPACA_REJECTED for 401/403 ("Alpaca rejected the keys
 * (HTTP 401: request is not authorized)"), LV_ALPACA_FAILED otherwise ("Alpaca answered
 * HTTP 500: …"), with Alpaca's {"message"} when the body has one. */
enum lv_alpaca_result lv_alpaca_status_error(const struct lv_fetch_response *response,
                                             struct lv_error *err);

#endif
