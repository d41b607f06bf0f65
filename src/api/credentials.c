/* credentials.c — sealing Alpaca keys into bytea columns and opening them again. Each box's
 * additional data names its owner, mode and field, so a box moved to another row or column
 * does not open. */
#include "api/credentials.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"

bool lv_alpaca_mode_valid(const char *mode)
{
    return mode != NULL && (strcmp(mode, "paper") == 0 || strcmp(mode, "live") == 0);
}

const char *lv_alpaca_mode_url(const struct lv_config *cfg, const char *mode)
{
    return strcmp(mode, "live") == 0 ? cfg->alpaca_live_url : cfg->alpaca_paper_url;
}

static void box_context(char *out, size_t cap, int user_id, const char *mode, const char *field)
{
    snprintf(out, cap, "lever/alpaca-credentials/user=%d/mode=%s/%s", user_id, mode, field);
}

/* Seals text into a bytea hex parameter ("\x…"); malloc'ed, NULL when out of memory. */
static char *seal_param(const unsigned char key[LV_SECRETBOX_KEY_BYTES], const char *context,
                        const char *text)
{
    size_t box_len;
    unsigned char *box = lv_secretbox_seal(key, context, text, strlen(text), &box_len);
    char *param = box != NULL ? malloc(2 + 2 * box_len + 1) : NULL;
    if (param != NULL) {
        param[0] = '\\';
        param[1] = 'x';
        sodium_bin2hex(param + 2, 2 * box_len + 1, box, box_len);
    }
    free(box);
    return param;
}

int lv_credentials_save(PGconn *conn, const unsigned char key[LV_SECRETBOX_KEY_BYTES], int user_id,
                        const char *mode, const char *key_id, const char *secret, bool verified,
                        const char *verification_error, struct lv_db_error *err)
{
    char key_context[128], secret_context[128], user[16];
    box_context(key_context, sizeof key_context, user_id, mode, "key_id");
    box_context(secret_context, sizeof secret_context, user_id, mode, "secret");
    snprintf(user, sizeof user, "%d", user_id);
    size_t key_len = strlen(key_id);
    const char *last4 = key_id + (key_len > 4 ? key_len - 4 : 0);
    char *sealed_key = seal_param(key, key_context, key_id);
    char *sealed_secret = seal_param(key, secret_context, secret);
    int rc = -1;
    if (sealed_key == NULL || sealed_secret == NULL) {
        lv_db_fail(err, "out of memory sealing credentials");
    } else {
        const char *params[] = {user,
                                mode,
                                sealed_key,
                                sealed_secret,
                                last4,
                                verified ? "true" : "false",
                                verification_error};
        rc = lv_db_exec(
            conn,
            "INSERT INTO user_alpaca_credentials (user_id, mode, key_id_sealed, secret_sealed, "
            "key_id_last4, verified, verified_at, verification_error) "
            "VALUES ($1, $2, $3::bytea, $4::bytea, $5, $6::bool, "
            "CASE WHEN $6::bool THEN CURRENT_TIMESTAMP END, left($7, 255)) "
            "ON CONFLICT (user_id, mode) DO UPDATE SET key_id_sealed = EXCLUDED.key_id_sealed, "
            "secret_sealed = EXCLUDED.secret_sealed, key_id_last4 = EXCLUDED.key_id_last4, "
            "saved_at = CURRENT_TIMESTAMP, verified = EXCLUDED.verified, "
            "verified_at = EXCLUDED.verified_at, "
            "verification_error = EXCLUDED.verification_error",
            7, params, err);
    }
    free(sealed_key);
    free(sealed_secret);
    return rc;
}

/* Opens a bytea column value (text form "\x…") into out (cap bytes with the NUL). */
static int open_column(const unsigned char key[LV_SECRETBOX_KEY_BYTES], const char *context,
                       const char *hex, char *out, size_t cap, struct lv_db_error *err)
{
    size_t hex_len = strlen(hex);
    if (hex_len < 2 || hex[0] != '\\' || hex[1] != 'x')
        return lv_db_fail(err, "sealed credentials are not in bytea hex form");
    size_t box_cap = (hex_len - 2) / 2, box_len = 0;
    unsigned char *box = malloc(box_cap > 0 ? box_cap : 1);
    if (box == NULL)
        return lv_db_fail(err, "out of memory opening credentials");
    struct lv_error open_err;
    size_t plain_len = 0;
    char *plain = NULL;
    if (sodium_hex2bin(box, box_cap, hex + 2, hex_len - 2, NULL, &box_len, NULL) == 0)
        plain = lv_secretbox_open(key, context, box, box_len, &plain_len, &open_err);
    else
        snprintf(open_err.message, sizeof open_err.message, "sealed credentials are not hex");
    free(box);
    if (plain == NULL)
        return lv_db_fail(err, "%s", open_err.message);
    int rc = 0;
    if (plain_len >= cap || strlen(plain) != plain_len)
        rc = lv_db_fail(err, "opened credentials are longer than expected");
    else
        memcpy(out, plain, plain_len + 1);
    sodium_memzero(plain, plain_len);
    free(plain);
    return rc;
}

int lv_credentials_load(PGconn *conn, const unsigned char key[LV_SECRETBOX_KEY_BYTES], int user_id,
                        const char *mode, char key_id[LV_ALPACA_KEY_ID_MAX + 1],
                        char secret[LV_ALPACA_SECRET_MAX + 1], struct lv_db_error *err)
{
    key_id[0] = secret[0] = '\0';
    char user[16], key_context[128], secret_context[128];
    snprintf(user, sizeof user, "%d", user_id);
    box_context(key_context, sizeof key_context, user_id, mode, "key_id");
    box_context(secret_context, sizeof secret_context, user_id, mode, "secret");
    const char *params[] = {user, mode};
    PGresult *res = lv_db_query(conn,
                                "SELECT key_id_sealed, secret_sealed FROM user_alpaca_credentials "
                                "WHERE user_id = $1 AND mode = $2",
                                2, params, err);
    if (res == NULL)
        return -1;
    int rc = PQntuples(res) == 1;
    if (rc == 1 && (open_column(key, key_context, PQgetvalue(res, 0, 0), key_id,
                                LV_ALPACA_KEY_ID_MAX + 1, err) != 0 ||
                    open_column(key, secret_context, PQgetvalue(res, 0, 1), secret,
                                LV_ALPACA_SECRET_MAX + 1, err) != 0)) {
        sodium_memzero(key_id, LV_ALPACA_KEY_ID_MAX + 1);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int lv_credentials_delete(PGconn *conn, int user_id, const char *mode, struct lv_db_error *err)
{
    char user[16], deleted[16];
    snprintf(user, sizeof user, "%d", user_id);
    const char *params[] = {user, mode};
    int rc = lv_db_query_value(conn,
                               "WITH d AS (DELETE FROM user_alpaca_credentials "
                               "WHERE user_id = $1 AND mode = $2 RETURNING 1) "
                               "SELECT count(*) FROM d",
                               2, params, deleted, sizeof deleted, err);
    return rc < 0 ? -1 : atoi(deleted) > 0;
}
