/* session.c — session rows in PostgreSQL (hashed tokens, sliding idle expiry) and the
 * cookie text that carries them. */
#include "api/session.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lv_session_create(PGconn *conn, int user_id, const struct lv_session_policy *policy,
                      const char *ip, const char *user_agent, char token_out[LV_SECRET_TEXT],
                      struct lv_db_error *err)
{
    /* Housekeeping on the rare login path keeps the table small without a scheduler. */
    if (lv_db_exec(conn,
                   "DELETE FROM sessions WHERE expires_at < CURRENT_TIMESTAMP - interval '1 day' "
                   "OR revoked_at < CURRENT_TIMESTAMP - interval '1 day'",
                   0, NULL, err) != 0)
        return -1;
    char digest[LV_SECRET_DIGEST_PARAM], user[16], max_days[16], agent[512];
    lv_secret_new("lvs_", token_out);
    lv_secret_digest_param(token_out, digest);
    snprintf(user, sizeof user, "%d", user_id);
    snprintf(max_days, sizeof max_days, "%d", policy->max_days);
    /* Headers may hold any bytes; PostgreSQL refuses text that is not UTF-8, so keep only
     * printable ASCII of this display-only field. */
    snprintf(agent, sizeof agent, "%s", user_agent != NULL ? user_agent : "");
    for (char *c = agent; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7E)
            *c = '?';
    const char *params[] = {user, digest, max_days, ip, user_agent != NULL ? agent : NULL};
    return lv_db_exec(conn,
                      "INSERT INTO sessions (user_id, token_hash, expires_at, ip, user_agent) "
                      "VALUES ($1, $2::bytea, CURRENT_TIMESTAMP + $3::int * interval '1 day', "
                      "left($4, 64), $5)",
                      5, params, err);
}

int lv_session_authenticate(PGconn *conn, const char *token, const struct lv_session_policy *policy,
                            int *user_id, struct lv_db_error *err)
{
    char digest[LV_SECRET_DIGEST_PARAM], idle_hours[16];
    lv_secret_digest_param(token, digest);
    snprintf(idle_hours, sizeof idle_hours, "%d", policy->idle_hours);
    const char *params[] = {digest, idle_hours};
    return lv_secret_lookup(
        conn,
        "SELECT user_id, last_seen_at < CURRENT_TIMESTAMP - interval '1 minute' FROM sessions "
        "WHERE token_hash = $1::bytea AND revoked_at IS NULL "
        "AND expires_at > CURRENT_TIMESTAMP "
        "AND last_seen_at > CURRENT_TIMESTAMP - $2::int * interval '1 hour'",
        "UPDATE sessions SET last_seen_at = CURRENT_TIMESTAMP WHERE token_hash = $1::bytea", 2,
        params, user_id, err);
}

int lv_session_revoke(PGconn *conn, const char *token, struct lv_db_error *err)
{
    char digest[LV_SECRET_DIGEST_PARAM], revoked[16];
    lv_secret_digest_param(token, digest);
    const char *params[] = {digest};
    int rc = lv_db_query_value(conn,
                               "WITH r AS (UPDATE sessions SET revoked_at = CURRENT_TIMESTAMP "
                               "WHERE token_hash = $1::bytea AND revoked_at IS NULL "
                               "RETURNING 1) SELECT count(*) FROM r",
                               1, params, revoked, sizeof revoked, err);
    return rc < 0 ? -1 : atoi(revoked) > 0;
}

int lv_cookie_get(const char *cookie_header, const char *name, char *out, size_t out_cap)
{
    out[0] = '\0';
    size_t name_len = strlen(name);
    const char *at = cookie_header;
    while (at != NULL && *at != '\0') {
        while (*at == ' ' || *at == ';')
            at++;
        size_t pair_len = strcspn(at, ";");
        if (pair_len > name_len && strncmp(at, name, name_len) == 0 && at[name_len] == '=') {
            size_t value_len = pair_len - name_len - 1;
            while (value_len > 0 && at[name_len + 1 + value_len - 1] == ' ')
                value_len--;
            if (value_len == 0 || value_len >= out_cap)
                return 0;
            memcpy(out, at + name_len + 1, value_len);
            out[value_len] = '\0';
            return 1;
        }
        at += pair_len;
    }
    return 0;
}

int lv_cookie_format(char *out, size_t out_cap, const char *name, const char *value,
                     const char *path, long max_age_s, bool secure)
{
    int len = snprintf(out, out_cap, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name,
                       value, path, max_age_s, secure ? "; Secure" : "");
    return len < 0 || (size_t)len >= out_cap ? -1 : 0;
}
