/* routes_me.c — the caller's own profile: read it, change username, avatar, preferences. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/input.h"

/* The SQL that renders one user as the API shows it (timestamps in UTC, ISO 8601). */
#define USER_JSON_SQL                                                                              \
    "SELECT json_build_object('id', id, 'discord_id', discord_id, 'username', username, "          \
    "'discriminator', discriminator, 'email', email, 'avatar_url', avatar_url, "                   \
    "'preferences', COALESCE(preferences, '{}'::jsonb), "                                          \
    "'created_at', to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                        \
    "'updated_at', to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                        \
    "'last_login_at', to_char(last_login_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "                  \
    "FROM users WHERE id = $1"

/* Answers with the caller's profile and releases conn. */
static void send_profile(struct lv_req *req, struct lv_app *app, PGconn *conn)
{
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id};
    struct lv_db_error err;
    int found;
    json_t *user = lv_api_query_json(conn, USER_JSON_SQL, 1, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0) /* the token outlived its user: treat like any unknown token */
        lv_resp_error(req, 401, "unauthorized", "invalid, expired or revoked token", NULL);
    else
        lv_resp_json(req, 200, user);
}

static void get_me(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    PGconn *conn = lv_api_db(req, app);
    if (conn != NULL)
        send_profile(req, app, conn);
}

/* ---- PATCH /api/v1/me: the fields a user may change ------------------------------------ */

#define USERNAME_MAX    64
#define AVATAR_URL_MAX  2048
#define PREFERENCES_MAX 65536 /* bytes of compact JSON */

static const char *const patch_fields[] = {"username", "avatar_url", "preferences", NULL};

/* A checked PATCH body; NULL members are left unchanged. */
struct profile_patch {
    const char *username;
    bool set_avatar;        /* avatar_url present: a URL, or null to go back to Discord's */
    const char *avatar_url; /* NULL with set_avatar = clear */
    char *preferences;      /* compact JSON text, malloc'ed */
};

static void read_avatar(const json_t *body, struct profile_patch *patch,
                        struct lv_problems *problems)
{
    json_t *value = json_object_get(body, "avatar_url");
    patch->set_avatar = value != NULL;
    if (value == NULL || json_is_null(value))
        return;
    patch->avatar_url = lv_input_string(body, "avatar_url", 9, AVATAR_URL_MAX, true, problems);
    if (patch->avatar_url != NULL && (strncmp(patch->avatar_url, "https://", 8) != 0 ||
                                      strpbrk(patch->avatar_url, " \"'<>") != NULL)) {
        lv_problems_add(problems, "/avatar_url", "must be an https:// URL, or null");
        patch->avatar_url = NULL;
    }
}

static void read_preferences(const json_t *body, struct profile_patch *patch,
                             struct lv_problems *problems)
{
    json_t *value = json_object_get(body, "preferences");
    if (value == NULL)
        return;
    if (!json_is_object(value)) {
        lv_problems_add(problems, "/preferences", "must be a JSON object");
        return;
    }
    patch->preferences = json_dumps(value, JSON_COMPACT);
    if (patch->preferences != NULL && strlen(patch->preferences) > PREFERENCES_MAX) {
        lv_problems_add(problems, "/preferences", "must be at most %d bytes of JSON",
                        PREFERENCES_MAX);
        free(patch->preferences);
        patch->preferences = NULL;
    }
}

static int read_patch(const json_t *body, struct profile_patch *patch, struct lv_problems *problems)
{
    memset(patch, 0, sizeof *patch);
    if (lv_input_object(body, patch_fields, problems) == 0) {
        patch->username = lv_input_string(body, "username", 1, USERNAME_MAX, false, problems);
        if (json_is_null(json_object_get(body, "username")))
            lv_problems_add(problems, "/username", "must be a string");
        read_avatar(body, patch, problems);
        read_preferences(body, patch, problems);
    }
    return problems->count > 0 ? -1 : 0;
}

static void patch_me(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    struct profile_patch patch;
    struct lv_problems problems = {0};
    if (read_patch(body, &patch, &problems) != 0) {
        free(patch.preferences);
        lv_input_reject(req, &problems);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL) {
        free(patch.preferences);
        return;
    }
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id, patch.username, patch.set_avatar ? "true" : "false",
                            patch.avatar_url, patch.preferences};
    struct lv_db_error err;
    int rc = lv_db_exec(conn,
                        "UPDATE users SET username = COALESCE($2, username), "
                        "username_set_by_user = username_set_by_user OR $2 IS NOT NULL, "
                        "avatar_url = CASE WHEN $3::bool THEN $4::text ELSE avatar_url END, "
                        "avatar_set_by_user = CASE WHEN $3::bool THEN $4::text IS NOT NULL "
                        "ELSE avatar_set_by_user END, "
                        "preferences = COALESCE($5::jsonb, preferences) WHERE id = $1",
                        5, params, &err);
    free(patch.preferences);
    if (rc != 0) {
        lv_db_release(app->pool, conn);
        lv_api_db_failure(req, &err);
        return;
    }
    send_profile(req, app, conn);
}

int lv_routes_me(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/api/v1/me", get_me, 0, err) ||
           lv_router_add(router, "PATCH", "/api/v1/me", patch_me, 0, err);
}
