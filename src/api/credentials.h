/* credentials.h — each user's Alpaca key pairs, one per mode ("paper", "live"), sealed with
 * LEVER_SECRET_KEY (api/secretbox.h) in user_alpaca_credentials. Only the key id's last 4
 * characters are kept in clear. Trading code loads a pair with lv_credentials_load. */
#ifndef LEVER_API_CREDENTIALS_H
#define LEVER_API_CREDENTIALS_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "api/secretbox.h"
#include "db/db.h"

#define LV_ALPACA_KEY_ID_MAX 128 /* characters */
#define LV_ALPACA_SECRET_MAX 256

/* True for "paper" and "live". */
bool lv_alpaca_mode_valid(const char *mode);

/* The Alpaca trading base URL configured for a mode (ALPACA_PAPER_URL / ALPACA_LIVE_URL). */
struct lv_config;
const char *lv_alpaca_mode_url(const struct lv_config *cfg, const char *mode);

/* Seals and stores (insert or replace) the pair of user_id for mode, with the outcome of
 * verifying it: verified, or the reason it was not (verification_error, may be NULL).
 * A fresh nonce is drawn for each field on every save. Returns 0 or -1. */
int lv_credentials_save(PGconn *conn, const unsigned char key[LV_SECRETBOX_KEY_BYTES], int user_id,
                        const char *mode, const char *key_id, const char *secret, bool verified,
                        const char *verification_error, struct lv_db_error *err);

/* Loads and opens the pair of user_id for mode into key_id and secret (NUL-terminated; the
 * caller wipes them with sodium_memzero after use). Returns 1 when found, 0 when the user
 * saved none for that mode, -1 on a database error or a box that does not open (wrong
 * LEVER_SECRET_KEY; err says so). */
int lv_credentials_load(PGconn *conn, const unsigned char key[LV_SECRETBOX_KEY_BYTES], int user_id,
                        const char *mode, char key_id[LV_ALPACA_KEY_ID_MAX + 1],
                        char secret[LV_ALPACA_SECRET_MAX + 1], struct lv_db_error *err);

/* Deletes the pair; returns 1 when there was one, 0 when not, -1 on error. */
int lv_credentials_delete(PGconn *conn, int user_id, const char *mode, struct lv_db_error *err);

#endif
