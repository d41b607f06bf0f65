/* auth.h — API tokens: random secrets shown once, stored only as SHA-256 hashes, and the
 * lookup that turns an `Authorization: Bearer` header into a user id. */
#ifndef LEVER_API_AUTH_H
#define LEVER_API_AUTH_H

#include <libpq-fe.h>

#include "db/db.h"

/* A random secret: a 4-character prefix ("lvr_" tokens, "lvs_" sessions) + 43 base64url characters
 * (32 random bytes) + NUL fits in this many bytes. */
#define LV_SECRET_TEXT 64
/* The hex form of a SHA-256 as PostgreSQL reads a bytea parameter: "\x" + 64 digits + NUL. */
#define LV_SECRET_DIGEST_PARAM (2 + 64 + 1)

/* Writes `prefix` (at most 8 characters) followed by 32 random bytes in base64url. */
void lv_secret_new(const char *prefix, char out[LV_SECRET_TEXT]);

/* The SHA-256 of `secret`, formatted as a bytea parameter ("\x…") for $n::bytea. */
void lv_secret_digest_param(const char *secret, char out[LV_SECRET_DIGEST_PARAM]);

/* Looks a secret up with `lookup_sql`, whose single row is (user_id, stale) and whose $1 is
 * the secret's digest. On a hit returns 1 with *user_id and, when stale, runs `touch_sql`
 * with $1 only (best effort: a failed touch must not refuse a valid secret). Returns 0 when
 * no row came back, -1 on a database error. Shared by API tokens and sessions. */
int lv_secret_lookup(PGconn *conn, const char *lookup_sql, const char *touch_sql, int n_params,
                     const char *const *params, int *user_id, struct lv_db_error *err);

/* API tokens are secrets with the prefix "lvr_". */
#define LV_TOKEN_TEXT       LV_SECRET_TEXT
#define LV_TOKEN_PREFIX_LEN 12 /* "lvr_" + 8 characters: shown in listings to tell tokens apart */

/* Creates a token named `name` for user_id, writes its secret (shown once, never stored)
 * into secret_out and returns the new token's id, or -1. */
int lv_token_create(PGconn *conn, int user_id, const char *name, char secret_out[LV_TOKEN_TEXT],
                    struct lv_db_error *err);

/* Looks up a presented secret: returns 1 and *user_id for a live token (not revoked, not
 * expired), 0 for an unknown one, -1 on a database error. Marks the token used at most once
 * a minute so authentication stays a read in the common case. */
int lv_token_authenticate(PGconn *conn, const char *secret, int *user_id, struct lv_db_error *err);

/* Extracts the token from an Authorization header value ("Bearer <token>", case-insensitive
 * scheme). Returns NULL when the header is absent or of another form. */
const char *lv_bearer_token(const char *authorization);

/* Creates a local user (no Discord login needed). discord_id may be NULL: the user then gets
 * the placeholder "local:<random hex>" (the column is NOT NULL UNIQUE in the seed). Returns
 * the new user's id or -1 (a duplicate discord id reports SQLSTATE 23505). */
int lv_user_create_local(PGconn *conn, const char *username, const char *discord_id,
                         struct lv_db_error *err);

#endif
