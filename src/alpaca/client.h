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
};

/* GET {base_url}/v2/account. On LV_ALPACA_OK, *account (may be NULL when not wanted) gets
 * the Account object (new reference). Otherwise err says what happened in words fit for the
 * user (never containing the secret); *http_status (may be NULL) gets the status, 0 when no
 * answer came. */
enum lv_alpaca_result lv_alpaca_get_account(const struct lv_alpaca_account_ref *ref,
                                            json_t **account, long *http_status,
                                            struct lv_error *err);

#endif
