/* discord_stub.h — a local stand-in for Discord's OAuth2 (external-apis.md §3), run inside
 * the test process on a loopback port: the authorize page (auto-approving as a chosen user,
 * or refusing), the token endpoint and /users/@me, with Discord's real request checks,
 * answer shapes and error bodies. */
#ifndef LEVER_TESTS_DISCORD_STUB_H
#define LEVER_TESTS_DISCORD_STUB_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Routes (base = discord_stub_url):
 *   GET  /oauth2/authorize?response_type=code&client_id&scope&state&redirect_uri
 *        -> 302 redirect_uri?code=…&state=… as the current user, or
 *           302 redirect_uri?error=access_denied&error_description=…&state=… after
 *           discord_stub_refuse_next; 400 for a wrong client_id / response_type.
 *   POST /api/oauth2/token and /api/v10/oauth2/token (form-encoded only)
 *        client auth by HTTP Basic or client_id/client_secret form fields:
 *        wrong -> 401 {"error":"invalid_client"};
 *        grant_type other than authorization_code -> 400 unsupported_grant_type;
 *        code unknown, used, older than 100 s, or redirect_uri differing from the authorize
 *        step -> 400 {"error":"invalid_grant","error_description":"Invalid \"code\" in request."};
 *        else 200 {access_token, token_type, expires_in, refresh_token, scope}.
 *   GET  /api/users/@me and /api/v10/users/@me with Authorization: Bearer
 *        -> the user object; `email` and `verified` only when the `email` scope was
 *           granted; bad token -> 401 {"message":"401: Unauthorized","code":0}.
 */

/* A Discord account. Strings are copied; avatar and email may be NULL. */
struct discord_stub_user {
    const char *id;
    const char *username;
    const char *discriminator;
    const char *avatar;
    const char *email;
    bool verified;
};

struct discord_stub;

/* Starts the stand-in for an application with this id and secret. NULL on failure. */
struct discord_stub *discord_stub_start(const char *client_id, const char *client_secret);
void discord_stub_stop(struct discord_stub *stub);

/* "http://127.0.0.1:PORT": authorize is at URL/oauth2/authorize, the API base is URL/api. */
const char *discord_stub_url(const struct discord_stub *stub);

/* The account that approves the next authorizations. */
void discord_stub_set_user(struct discord_stub *stub, const struct discord_stub_user *user);

/* The next authorization is refused by the user (Cancel on Discord's page). */
void discord_stub_refuse_next(struct discord_stub *stub);

/* Scopes granted from now on instead of the requested ones (e.g. "identify" to model an
 * application that asked for less); NULL goes back to granting what was asked. */
void discord_stub_grant_scopes(struct discord_stub *stub, const char *scopes);

/* Makes every code issued so far older than Discord's 100-second lifetime. */
void discord_stub_expire_codes(struct discord_stub *stub);

/* Number of token-endpoint requests so far, and the body of the last one. */
int discord_stub_token_requests(struct discord_stub *stub, char *last_form, size_t cap);

#endif
