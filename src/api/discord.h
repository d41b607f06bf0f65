/* discord.h — Discord OAuth2 login (authorization-code flow, external-apis.md §3): the
 * authorize URL, the code exchange, the /users/@me profile, the avatar URL and the login
 * whitelist. The network calls go through lv_fetch; everything else is pure. */
#ifndef LEVER_API_DISCORD_H
#define LEVER_API_DISCORD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* The application as registered with Discord, and where Discord lives. Borrowed strings. */
struct lv_discord_app {
    const char *api_url;       /* DISCORD_API_URL, unversioned: "https://discord.com/api" */
    const char *authorize_url; /* DISCORD_AUTHORIZE_URL: "https://discord.com/oauth2/authorize" */
    const char *client_id;
    const char *client_secret;
    const char *redirect_uri; /* must equal the one registered with Discord */
};

#define LV_DISCORD_TOKEN_MAX 256

/* The fields of Discord's user object that Lever keeps. */
struct lv_discord_user {
    char id[24]; /* snowflake, decimal digits only */
    char username[64];
    char discriminator[8]; /* "0" for users on unique usernames */
    char avatar[64];       /* avatar hash, "" when the user has none */
    char email[256];       /* "" when absent (no `email` scope, or no email on the account) */
    bool verified;         /* Discord's "email verified" flag */
};

enum lv_discord_result {
    LV_DISCORD_OK = 0,
    LV_DISCORD_INVALID_GRANT,  /* code unknown, expired, already used, or redirect mismatch */
    LV_DISCORD_INVALID_CLIENT, /* Discord refused DISCORD_CLIENT_ID / _SECRET */
    LV_DISCORD_UNAVAILABLE,    /* network failure, timeout, 5xx, 429, malformed answer */
};

/* Writes the URL the browser is sent to: authorize_url?response_type=code&client_id=…
 * &scope=identify%20email&state=…&redirect_uri=…. Returns 0, or -1 when it does not
 * fit in out_cap. */
int lv_discord_authorize_url(const struct lv_discord_app *app, const char *state, char *out,
                             size_t out_cap);

/* POST {api_url}/v10/oauth2/token (form-encoded, client id and secret as form fields) and
 * copies the access token. err says what went wrong otherwise (never the secret). */
enum lv_discord_result lv_discord_exchange_code(const struct lv_discord_app *app, const char *code,
                                                char access_token[LV_DISCORD_TOKEN_MAX],
                                                struct lv_error *err);

/* GET {api_url}/v10/users/@me with the access token, parsed into *user. */
enum lv_discord_result lv_discord_fetch_user(const struct lv_discord_app *app,
                                             const char *access_token, struct lv_discord_user *user,
                                             struct lv_error *err);

/* Parses a /users/@me body. Returns 0, or -1 with err naming the field that is missing,
 * of the wrong type, or out of the expected form (an id that is not a snowflake, …). */
int lv_discord_parse_user(const char *json, struct lv_discord_user *user, struct lv_error *err);

/* The user's avatar per Discord's CDN rules: .../avatars/{id}/{hash}.png (.gif when the hash
 * starts with "a_"), or the default avatar .../embed/avatars/{index}.png when there is no
 * hash. Returns 0, or -1 when it does not fit. */
int lv_discord_avatar_url(const struct lv_discord_user *user, char *out, size_t out_cap);

/* The login whitelist (LEVER_ALLOWED_*): comma-separated lists, any of them may be "". */
struct lv_login_whitelist {
    const char *discord_ids;
    const char *emails;
    const char *email_domains; /* "example.com" (a leading "@" is ignored); exact match only,
                                * sub-domains are not included */
};

/* Decides whether `user` may log in. Returns NULL when allowed, otherwise the error code
 * the login ends with:
 *   "email_required"   an email rule is set and Discord gave no email,
 *   "email_unverified" an email rule is set and Discord says the email is not verified,
 *   "not_allowed"      no rule matches.
 * With every list empty, every Discord user is allowed. A listed Discord id is allowed
 * whatever its email. Emails and domains compare case-insensitively. */
const char *lv_login_refusal(const struct lv_login_whitelist *whitelist,
                             const struct lv_discord_user *user);

#endif
