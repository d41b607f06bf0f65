/* session.h — browser login sessions: a random token in an HttpOnly cookie, stored only as
 * its SHA-256, with an idle and an absolute expiry, revoked by logout. Also the small
 * helpers for random secrets, their hashes and cookies that the login flow shares. */
#ifndef LEVER_API_SESSION_H
#define LEVER_API_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "api/auth.h"
#include "db/db.h"

#define LV_SESSION_COOKIE "lever_session"

/* How long sessions live (LEVER_SESSION_IDLE_HOURS, LEVER_SESSION_MAX_DAYS). */
struct lv_session_policy {
    int idle_hours;
    int max_days;
};

/* Starts a session for user_id and writes its token (for the cookie; never stored) into
 * token_out. ip and user_agent (may be NULL; truncated) are kept for display only.
 * Also deletes sessions that expired more than a day ago. Returns 0 or -1. */
int lv_session_create(PGconn *conn, int user_id, const struct lv_session_policy *policy,
                      const char *ip, const char *user_agent, char token_out[LV_SECRET_TEXT],
                      struct lv_db_error *err);

/* Looks a presented token up: returns 1 and *user_id for a live session (not revoked, used
 * within idle_hours, younger than its absolute expiry), 0 otherwise, -1 on a database
 * error. Moves last_seen_at forward at most once a minute, so the common case is a read. */
int lv_session_authenticate(PGconn *conn, const char *token, const struct lv_session_policy *policy,
                            int *user_id, struct lv_db_error *err);

/* Revokes the session of `token`. Returns 1 when a live session was revoked, 0 when there
 * was none, -1 on a database error. */
int lv_session_revoke(PGconn *conn, const char *token, struct lv_db_error *err);

/* Copies the value of cookie `name` from a Cookie request header ("a=1; b=2") into out.
 * Returns 1 when found and it fits, 0 otherwise (out = ""). */
int lv_cookie_get(const char *cookie_header, const char *name, char *out, size_t out_cap);

/* Formats a Set-Cookie value: name=value; Path=path; Max-Age=max_age_s; HttpOnly;
 * SameSite=Lax, plus Secure when `secure`. max_age_s 0 deletes the cookie. Returns 0, or -1
 * when it does not fit. */
int lv_cookie_format(char *out, size_t out_cap, const char *name, const char *value,
                     const char *path, long max_age_s, bool secure);

#endif
