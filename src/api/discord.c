/* discord.c — the Discord side of a login: URLs, the two HTTP calls, parsing the answers,
 * the avatar rules and the whitelist. */
#include "api/discord.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/fetch.h"

#define DISCORD_CDN "https://cdn.discordapp.com"

int lv_discord_authorize_url(const struct lv_discord_app *app, const char *state, char *out,
                             size_t out_cap)
{
    char client_id[768], redirect[3 * 512 + 1], state_enc[256];
    if (lv_url_encode(app->client_id, client_id, sizeof client_id) < 0 ||
        lv_url_encode(app->redirect_uri, redirect, sizeof redirect) < 0 ||
        lv_url_encode(state, state_enc, sizeof state_enc) < 0)
        return -1;
    int len = snprintf(out, out_cap,
                       "%s%sresponse_type=code&client_id=%s&scope=identify%%20email&state=%s"
                       "&redirect_uri=%s",
                       app->authorize_url, strchr(app->authorize_url, '?') ? "&" : "?", client_id,
                       state_enc, redirect);
    return len < 0 || (size_t)len >= out_cap ? -1 : 0;
}

/* "name=value&" with the value percent-encoded, appended to form. */
static int form_add(char *form, size_t cap, const char *name, const char *value)
{
    size_t used = strlen(form);
    int len = snprintf(form + used, cap - used, "%s%s=", used > 0 ? "&" : "", name);
    if (len < 0 || (size_t)len >= cap - used)
        return -1;
    used += (size_t)len;
    return lv_url_encode(value, form + used, cap - used) < 0 ? -1 : 0;
}

/* Maps a token-endpoint failure (RFC 6749 error body) to a result, with a message. */
static enum lv_discord_result token_failure(const struct lv_fetch_response *response,
                                            struct lv_error *err)
{
    json_t *doc = json_loads(response->body, 0, NULL);
    const char *error = json_string_value(json_object_get(doc, "error"));
    char code[64];
    snprintf(code, sizeof code, "%s", error != NULL ? error : "");
    json_decref(doc);
    /* Older Discord answers used invalid_request for a bad code; both mean "start over". */
    if (response->status == 400 &&
        (strcmp(code, "invalid_grant") == 0 || strcmp(code, "invalid_request") == 0)) {
        lv_fail(err, "Discord refused the authorization code (%s)", code);
        return LV_DISCORD_INVALID_GRANT;
    }
    if (response->status == 401 || strcmp(code, "invalid_client") == 0) {
        lv_fail(err,
                "Discord refused the client credentials (HTTP %ld %s): check "
                "DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET",
                response->status, code);
        return LV_DISCORD_INVALID_CLIENT;
    }
    lv_fail(err, "Discord token endpoint answered HTTP %ld %s", response->status, code);
    return LV_DISCORD_UNAVAILABLE;
}

enum lv_discord_result lv_discord_exchange_code(const struct lv_discord_app *app, const char *code,
                                                char access_token[LV_DISCORD_TOKEN_MAX],
                                                struct lv_error *err)
{
    access_token[0] = '\0';
    char url[1024], form[4096] = "";
    snprintf(url, sizeof url, "%s/v10/oauth2/token", app->api_url);
    if (form_add(form, sizeof form, "grant_type", "authorization_code") != 0 ||
        form_add(form, sizeof form, "code", code) != 0 ||
        form_add(form, sizeof form, "redirect_uri", app->redirect_uri) != 0 ||
        form_add(form, sizeof form, "client_id", app->client_id) != 0 ||
        form_add(form, sizeof form, "client_secret", app->client_secret) != 0) {
        lv_fail(err, "the token request does not fit in %zu bytes", sizeof form);
        return LV_DISCORD_INVALID_GRANT;
    }
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", NULL};
    struct lv_fetch_request request = {
        .method = "POST", .url = url, .headers = headers, .body = form};
    struct lv_fetch_response response;
    int sent = lv_fetch(&request, &response, err);
    sodium_memzero(form, sizeof form); /* it held the client secret */
    if (sent != 0) {
        lv_fetch_response_free(&response);
        return LV_DISCORD_UNAVAILABLE;
    }
    enum lv_discord_result result = LV_DISCORD_OK;
    if (response.status != 200) {
        result = token_failure(&response, err);
    } else {
        json_t *doc = json_loads(response.body, 0, NULL);
        const char *token = json_string_value(json_object_get(doc, "access_token"));
        if (token == NULL || token[0] == '\0' || strlen(token) >= LV_DISCORD_TOKEN_MAX) {
            lv_fail(err, "Discord's token answer has no usable access_token");
            result = LV_DISCORD_UNAVAILABLE;
        } else {
            memcpy(access_token, token, strlen(token) + 1);
        }
        json_decref(doc);
    }
    lv_fetch_response_free(&response);
    return result;
}

enum lv_discord_result lv_discord_fetch_user(const struct lv_discord_app *app,
                                             const char *access_token, struct lv_discord_user *user,
                                             struct lv_error *err)
{
    char url[1024], authorization[LV_DISCORD_TOKEN_MAX + 32];
    snprintf(url, sizeof url, "%s/v10/users/@me", app->api_url);
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", access_token);
    const char *headers[] = {authorization, "Accept: application/json", NULL};
    struct lv_fetch_request request = {.url = url, .headers = headers};
    struct lv_fetch_response response;
    int sent = lv_fetch(&request, &response, err);
    sodium_memzero(authorization, sizeof authorization);
    enum lv_discord_result result = LV_DISCORD_UNAVAILABLE;
    if (sent == 0 && response.status != 200)
        lv_fail(err, "Discord /users/@me answered HTTP %ld", response.status);
    else if (sent == 0 && lv_discord_parse_user(response.body, user, err) == 0)
        result = LV_DISCORD_OK;
    lv_fetch_response_free(&response);
    return result;
}

/* Copies a string member into out. Absent or null gives "" (allowed unless required). */
static int copy_member(json_t *doc, const char *name, bool required, char *out, size_t cap,
                       struct lv_error *err)
{
    json_t *value = json_object_get(doc, name);
    out[0] = '\0';
    if (value == NULL || json_is_null(value))
        return required ? lv_fail(err, "Discord user has no %s", name) : 0;
    if (!json_is_string(value))
        return lv_fail(err, "Discord user's %s is not a string", name);
    const char *text = json_string_value(value);
    if (strlen(text) >= cap || (required && text[0] == '\0'))
        return lv_fail(err, "Discord user's %s has an unexpected length", name);
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

static bool all_chars(const char *text, int (*accept)(int))
{
    for (; *text != '\0'; text++)
        if (!accept((unsigned char)*text))
            return false;
    return true;
}

static int is_hash_char(int c)
{
    return isalnum(c) || c == '_';
}

int lv_discord_parse_user(const char *json, struct lv_discord_user *user, struct lv_error *err)
{
    memset(user, 0, sizeof *user);
    json_t *doc = json_loads(json, 0, NULL);
    int rc = -1;
    if (!json_is_object(doc))
        lv_fail(err, "Discord's /users/@me answer is not a JSON object");
    else if (copy_member(doc, "id", true, user->id, sizeof user->id, err) != 0 ||
             copy_member(doc, "username", true, user->username, sizeof user->username, err) != 0 ||
             copy_member(doc, "discriminator", false, user->discriminator,
                         sizeof user->discriminator, err) != 0 ||
             copy_member(doc, "avatar", false, user->avatar, sizeof user->avatar, err) != 0 ||
             copy_member(doc, "email", false, user->email, sizeof user->email, err) != 0)
        ; /* err says which */
    else if (!all_chars(user->id, isdigit))
        lv_fail(err, "Discord user id \"%s\" is not a snowflake", user->id);
    else if (!all_chars(user->discriminator, isdigit))
        lv_fail(err, "Discord discriminator \"%s\" is not a number", user->discriminator);
    else if (!all_chars(user->avatar, is_hash_char))
        lv_fail(err, "Discord avatar hash has unexpected characters");
    else
        rc = 0;
    if (rc == 0) {
        if (user->discriminator[0] == '\0')
            strcpy(user->discriminator, "0");
        user->verified = json_is_true(json_object_get(doc, "verified"));
    }
    json_decref(doc);
    return rc;
}

int lv_discord_avatar_url(const struct lv_discord_user *user, char *out, size_t out_cap)
{
    int len;
    if (user->avatar[0] != '\0') {
        bool animated = strncmp(user->avatar, "a_", 2) == 0;
        len = snprintf(out, out_cap, DISCORD_CDN "/avatars/%s/%s.%s", user->id, user->avatar,
                       animated ? "gif" : "png");
    } else {
        unsigned long discriminator = strtoul(user->discriminator, NULL, 10);
        unsigned index = discriminator == 0 ? (unsigned)((strtoull(user->id, NULL, 10) >> 22) % 6)
                                            : (unsigned)(discriminator % 5);
        len = snprintf(out, out_cap, DISCORD_CDN "/embed/avatars/%u.png", index);
    }
    return len < 0 || (size_t)len >= out_cap ? -1 : 0;
}

/* True when `item` equals one of the comma-separated entries of `list` (entries trimmed,
 * compared case-insensitively, a leading `strip` character ignored on either side). */
static bool list_contains(const char *list, const char *item, char strip)
{
    if (strip != '\0' && *item == strip)
        item++;
    size_t item_len = strlen(item);
    while (list != NULL && *list != '\0') {
        size_t len = strcspn(list, ",");
        const char *start = list, *end = list + len;
        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (strip != '\0' && start < end && *start == strip)
            start++;
        if ((size_t)(end - start) == item_len && item_len > 0 &&
            strncasecmp(start, item, item_len) == 0)
            return true;
        list += len + (list[len] == ',');
    }
    return false;
}

/* True when the list has at least one non-blank entry. */
static bool list_set(const char *list)
{
    for (; list != NULL && *list != '\0'; list++)
        if (!isspace((unsigned char)*list) && *list != ',')
            return true;
    return false;
}

const char *lv_login_refusal(const struct lv_login_whitelist *whitelist,
                             const struct lv_discord_user *user)
{
    bool ids_set = list_set(whitelist->discord_ids);
    bool email_rule = list_set(whitelist->emails) || list_set(whitelist->email_domains);
    if (!ids_set && !email_rule)
        return NULL;
    if (list_contains(whitelist->discord_ids, user->id, '\0'))
        return NULL;
    if (!email_rule)
        return "not_allowed";
    if (user->email[0] == '\0')
        return "email_required";
    if (!user->verified)
        return "email_unverified";
    const char *at = strrchr(user->email, '@');
    if (list_contains(whitelist->emails, user->email, '\0') ||
        (at != NULL && list_contains(whitelist->email_domains, at + 1, '@')))
        return NULL;
    return "not_allowed";
}
