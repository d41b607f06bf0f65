/* auth.c — API token generation, hashing and lookup; local user creation. */
#include "api/auth.h"

#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lv_secret_new(const char *prefix, char out[LV_SECRET_TEXT])
{
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    size_t prefix_len = strnlen(prefix, 8);
    memcpy(out, prefix, prefix_len);
    sodium_bin2base64(out + prefix_len, LV_SECRET_TEXT - prefix_len, random, sizeof random,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(random, sizeof random);
}

void lv_secret_digest_param(const char *secret, char out[LV_SECRET_DIGEST_PARAM])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)secret, strlen(secret));
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, LV_SECRET_DIGEST_PARAM - 2, digest, sizeof digest);
}

int lv_token_create(PGconn *conn, int user_id, const char *name, char secret_out[LV_TOKEN_TEXT],
                    struct lv_db_error *err)
{
    char hash[LV_SECRET_DIGEST_PARAM], user[16], prefix[LV_TOKEN_PREFIX_LEN + 1];
    lv_secret_new("lvr_", secret_out);
    lv_secret_digest_param(secret_out, hash);
    snprintf(user, sizeof user, "%d", user_id);
    snprintf(prefix, sizeof prefix, "%s", secret_out);
    const char *params[] = {user, name, hash, prefix};
    char id[32];
    if (lv_db_query_value(conn,
                          "INSERT INTO api_tokens (user_id, name, token_hash, token_prefix) "
                          "VALUES ($1, $2, $3::bytea, $4) RETURNING id",
                          4, params, id, sizeof id, err) != 1)
        return -1;
    return atoi(id);
}

int lv_secret_lookup(PGconn *conn, const char *lookup_sql, const char *touch_sql, int n_params,
                     const char *const *params, int *user_id, struct lv_db_error *err)
{
    PGresult *res = lv_db_query(conn, lookup_sql, n_params, params, err);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    bool stale = false;
    if (found) {
        *user_id = atoi(PQgetvalue(res, 0, 0));
        stale = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    if (stale)
        lv_db_exec(conn, touch_sql, 1, params, NULL);
    return found;
}

int lv_token_authenticate(PGconn *conn, const char *secret, int *user_id, struct lv_db_error *err)
{
    char hash[LV_SECRET_DIGEST_PARAM];
    lv_secret_digest_param(secret, hash);
    const char *params[] = {hash};
    return lv_secret_lookup(conn,
                            "SELECT user_id, last_used_at IS NULL OR "
                            "last_used_at < CURRENT_TIMESTAMP - interval '1 minute' "
                            "FROM api_tokens WHERE token_hash = $1::bytea "
                            "AND revoked_at IS NULL "
                            "AND (expires_at IS NULL OR expires_at > CURRENT_TIMESTAMP)",
                            "UPDATE api_tokens SET last_used_at = CURRENT_TIMESTAMP "
                            "WHERE token_hash = $1::bytea",
                            1, params, user_id, err);
}

const char *lv_bearer_token(const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    return *token != '\0' ? token : NULL;
}

int lv_user_create_local(PGconn *conn, const char *username, const char *discord_id,
                         struct lv_db_error *err)
{
    char placeholder[6 + 33];
    if (discord_id == NULL) {
        unsigned char random[16];
        randombytes_buf(random, sizeof random);
        memcpy(placeholder, "local:", 6);
        sodium_bin2hex(placeholder + 6, sizeof placeholder - 6, random, sizeof random);
        discord_id = placeholder;
    }
    const char *params[] = {discord_id, username};
    char id[32];
    if (lv_db_query_value(conn,
                          "INSERT INTO users (discord_id, username) VALUES ($1, $2) RETURNING id",
                          2, params, id, sizeof id, err) != 1)
        return -1;
    return atoi(id);
}
