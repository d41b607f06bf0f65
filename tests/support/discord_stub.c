/* discord_stub.c — the Discord stand-in on Lever's own HTTP layer (src/http), with its state
 * (codes issued, tokens issued) under one mutex. */
#include "discord_stub.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/fetch.h"
#include "http/http.h"

#define MAX_GRANTS      128
#define CODE_LIFETIME_S 100 /* Discord staff: codes expire 100 seconds after creation */

struct account {
    char id[32], username[64], discriminator[8], avatar[64], email[128];
    bool has_avatar, has_email, verified;
};

/* One authorization: its code, then (once exchanged) its access token. */
struct grant {
    char code[40];
    char access_token[40];
    char redirect_uri[512];
    char scope[64];
    struct account account;
    time_t issued_at;
    bool code_used;
};

struct discord_stub {
    struct lv_router *router;
    struct lv_http_server *server;
    char url[64];
    char client_id[64], client_secret[128];
    pthread_mutex_t lock;
    struct account current;
    bool refuse_next;
    char granted_scopes[64]; /* "" = what was asked */
    struct grant grants[MAX_GRANTS];
    int grant_count;
    int token_requests;
    char last_form[2048];
};

static void random_text(char *out, size_t bytes)
{
    unsigned char random[16];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(out, bytes, random, (bytes - 1) / 2 < sizeof random ? (bytes - 1) / 2 : 16);
}

/* ---- authorize ---------------------------------------------------------------------------- */

static void authorize(struct lv_req *req, void *ctx)
{
    struct discord_stub *stub = ctx;
    const char *type = lv_req_query(req, "response_type");
    const char *client_id = lv_req_query(req, "client_id");
    const char *redirect = lv_req_query(req, "redirect_uri");
    const char *scope = lv_req_query(req, "scope");
    const char *state = lv_req_query(req, "state");
    if (type == NULL || strcmp(type, "code") != 0 || client_id == NULL ||
        strcmp(client_id, stub->client_id) != 0 || redirect == NULL || scope == NULL ||
        strstr(scope, "identify") == NULL || strlen(redirect) >= 512) {
        lv_resp_json(req, 400, json_pack("{s:s}", "error", "invalid_request"));
        return;
    }
    char state_enc[512] = "", location[2048];
    if (state != NULL && lv_url_encode(state, state_enc, sizeof state_enc) < 0)
        state_enc[0] = '\0';
    char sep = strchr(redirect, '?') != NULL ? '&' : '?';
    pthread_mutex_lock(&stub->lock);
    if (stub->refuse_next) {
        stub->refuse_next = false;
        pthread_mutex_unlock(&stub->lock);
        snprintf(location, sizeof location,
                 "%s%cerror=access_denied&error_description=The+resource+owner+or+"
                 "authorization+server+denied+the+request%s%s",
                 redirect, sep, state != NULL ? "&state=" : "", state_enc);
    } else {
        struct grant *grant = &stub->grants[stub->grant_count++ % MAX_GRANTS];
        memset(grant, 0, sizeof *grant);
        random_text(grant->code, 31);
        snprintf(grant->redirect_uri, sizeof grant->redirect_uri, "%s", redirect);
        snprintf(grant->scope, sizeof grant->scope, "%s",
                 stub->granted_scopes[0] != '\0' ? stub->granted_scopes : scope);
        grant->account = stub->current;
        grant->issued_at = time(NULL);
        snprintf(location, sizeof location, "%s%ccode=%s%s%s", redirect, sep, grant->code,
                 state != NULL ? "&state=" : "", state_enc);
        pthread_mutex_unlock(&stub->lock);
    }
    lv_resp_header(req, "Location", location);
    lv_resp_empty(req, 302);
}

/* ---- token -------------------------------------------------------------------------------- */

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Copies the decoded value of form field `name` (x-www-form-urlencoded) into out. */
static bool form_field(const char *form, const char *name, char *out, size_t cap)
{
    size_t name_len = strlen(name);
    for (const char *at = form; *at != '\0';) {
        size_t pair_len = strcspn(at, "&");
        if (pair_len > name_len && strncmp(at, name, name_len) == 0 && at[name_len] == '=') {
            size_t used = 0;
            for (size_t i = name_len + 1; i < pair_len && used + 1 < cap; i++) {
                if (at[i] == '+') {
                    out[used++] = ' ';
                } else if (at[i] == '%' && i + 2 < pair_len && hex_value(at[i + 1]) >= 0 &&
                           hex_value(at[i + 2]) >= 0) {
                    out[used++] = (char)(hex_value(at[i + 1]) * 16 + hex_value(at[i + 2]));
                    i += 2;
                } else {
                    out[used++] = at[i];
                }
            }
            out[used] = '\0';
            return true;
        }
        at += pair_len + (at[pair_len] == '&');
    }
    out[0] = '\0';
    return false;
}

/* Client authentication: HTTP Basic, or client_id + client_secret in the form. */
static bool client_ok(struct discord_stub *stub, const struct lv_req *req, const char *form)
{
    char id[512], secret[512];
    const char *basic = lv_req_header(req, "Authorization");
    if (basic != NULL && strncasecmp(basic, "Basic ", 6) == 0) {
        char decoded[512];
        size_t len = 0;
        if (sodium_base642bin((unsigned char *)decoded, sizeof decoded - 1, basic + 6,
                              strlen(basic + 6), NULL, &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            return false;
        decoded[len] = '\0';
        char *colon = strchr(decoded, ':');
        if (colon == NULL)
            return false;
        *colon = '\0';
        snprintf(id, sizeof id, "%s", decoded);
        snprintf(secret, sizeof secret, "%s", colon + 1);
    } else if (!form_field(form, "client_id", id, sizeof id) ||
               !form_field(form, "client_secret", secret, sizeof secret)) {
        return false;
    }
    return strcmp(id, stub->client_id) == 0 && strcmp(secret, stub->client_secret) == 0;
}

static void invalid_grant(struct lv_req *req)
{
    lv_resp_json(req, 400,
                 json_pack("{s:s, s:s}", "error", "invalid_grant", "error_description",
                           "Invalid \"code\" in request."));
}

static void token(struct lv_req *req, void *ctx)
{
    struct discord_stub *stub = ctx;
    const char *form = lv_req_body(req, NULL);
    const char *type = lv_req_header(req, "Content-Type");
    pthread_mutex_lock(&stub->lock);
    stub->token_requests++;
    snprintf(stub->last_form, sizeof stub->last_form, "%s", form);
    pthread_mutex_unlock(&stub->lock);
    char grant_type[64], code[64], redirect[512];
    form_field(form, "grant_type", grant_type, sizeof grant_type);
    if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
        /* Discord reads only form bodies: JSON looks like a request with no grant_type. */
        lv_resp_json(req, 400,
                     json_pack("{s:s, s:s}", "error", "unsupported_grant_type", "error_description",
                               "Grant type None is not supported"));
        return;
    }
    if (!client_ok(stub, req, form)) {
        lv_resp_json(req, 401, json_pack("{s:s}", "error", "invalid_client"));
        return;
    }
    if (strcmp(grant_type, "authorization_code") != 0) {
        lv_resp_json(req, 400, json_pack("{s:s}", "error", "unsupported_grant_type"));
        return;
    }
    form_field(form, "code", code, sizeof code);
    form_field(form, "redirect_uri", redirect, sizeof redirect);
    pthread_mutex_lock(&stub->lock);
    struct grant *grant = NULL;
    for (int i = 0; i < MAX_GRANTS && i < stub->grant_count; i++)
        if (strcmp(stub->grants[i].code, code) == 0)
            grant = &stub->grants[i];
    if (grant == NULL || grant->code_used || time(NULL) - grant->issued_at > CODE_LIFETIME_S ||
        strcmp(grant->redirect_uri, redirect) != 0) {
        pthread_mutex_unlock(&stub->lock);
        invalid_grant(req);
        return;
    }
    grant->code_used = true;
    random_text(grant->access_token, 31);
    json_t *answer = json_pack("{s:s, s:s, s:i, s:s, s:s}", "access_token", grant->access_token,
                               "token_type", "Bearer", "expires_in", 604800, "refresh_token",
                               "D43f5y0ahjqew82jZ4NViEr2YafMKhue", "scope", grant->scope);
    pthread_mutex_unlock(&stub->lock);
    lv_resp_json(req, 200, answer);
}

/* ---- users/@me ---------------------------------------------------------------------------- */

static json_t *user_object(const struct grant *grant)
{
    const struct account *a = &grant->account;
    json_t *user = json_pack("{s:s, s:s, s:s, s:n, s:i, s:i, s:s, s:b}", "id", a->id, "username",
                             a->username, "discriminator", a->discriminator, "global_name", "flags",
                             0, "public_flags", 0, "locale", "en-US", "mfa_enabled", 0);
    json_object_set_new(user, "avatar", a->has_avatar ? json_string(a->avatar) : json_null());
    /* Scopes are space-separated; "email" must be a whole word. */
    char scopes[80];
    snprintf(scopes, sizeof scopes, " %s ", grant->scope);
    if (strstr(scopes, " email ") != NULL) {
        json_object_set_new(user, "email", a->has_email ? json_string(a->email) : json_null());
        json_object_set_new(user, "verified", json_boolean(a->verified));
    }
    return user;
}

static void users_me(struct lv_req *req, void *ctx)
{
    struct discord_stub *stub = ctx;
    const char *auth = lv_req_header(req, "Authorization");
    json_t *user = NULL;
    pthread_mutex_lock(&stub->lock);
    for (int i = 0; auth != NULL && strncmp(auth, "Bearer ", 7) == 0 && i < MAX_GRANTS &&
                    i < stub->grant_count;
         i++)
        if (stub->grants[i].access_token[0] != '\0' &&
            strcmp(stub->grants[i].access_token, auth + 7) == 0)
            user = user_object(&stub->grants[i]);
    pthread_mutex_unlock(&stub->lock);
    if (user == NULL)
        lv_resp_json(req, 401, json_pack("{s:s, s:i}", "message", "401: Unauthorized", "code", 0));
    else
        lv_resp_json(req, 200, user);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

struct discord_stub *discord_stub_start(const char *client_id, const char *client_secret)
{
    struct discord_stub *stub = calloc(1, sizeof *stub);
    struct lv_error err;
    if (stub == NULL || (stub->router = lv_router_new()) == NULL) {
        free(stub);
        return NULL;
    }
    pthread_mutex_init(&stub->lock, NULL);
    snprintf(stub->client_id, sizeof stub->client_id, "%s", client_id);
    snprintf(stub->client_secret, sizeof stub->client_secret, "%s", client_secret);
    const struct discord_stub_user nobody = {"80351110224678912", "nelly", "0", NULL, NULL, false};
    discord_stub_set_user(stub, &nobody);
    if (lv_router_add(stub->router, "GET", "/oauth2/authorize", authorize, 0, &err) != 0 ||
        lv_router_add(stub->router, "POST", "/api/oauth2/token", token, LV_ROUTE_RAW_BODY, &err) !=
            0 ||
        lv_router_add(stub->router, "POST", "/api/v10/oauth2/token", token, LV_ROUTE_RAW_BODY,
                      &err) != 0 ||
        lv_router_add(stub->router, "GET", "/api/users/@me", users_me, 0, &err) != 0 ||
        lv_router_add(stub->router, "GET", "/api/v10/users/@me", users_me, 0, &err) != 0) {
        discord_stub_stop(stub);
        return NULL;
    }
    struct lv_http_config cfg = {.listen = "127.0.0.1:0", .threads = 2};
    stub->server = lv_http_start(&cfg, stub->router, stub, &err);
    if (stub->server == NULL) {
        fprintf(stderr, "discord stub: %s\n", err.message);
        discord_stub_stop(stub);
        return NULL;
    }
    snprintf(stub->url, sizeof stub->url, "http://127.0.0.1:%u",
             (unsigned)lv_http_port(stub->server));
    return stub;
}

void discord_stub_stop(struct discord_stub *stub)
{
    if (stub == NULL)
        return;
    lv_http_stop(stub->server);
    lv_router_free(stub->router);
    pthread_mutex_destroy(&stub->lock);
    free(stub);
}

const char *discord_stub_url(const struct discord_stub *stub)
{
    return stub->url;
}

void discord_stub_set_user(struct discord_stub *stub, const struct discord_stub_user *user)
{
    struct account a = {0};
    snprintf(a.id, sizeof a.id, "%s", user->id);
    snprintf(a.username, sizeof a.username, "%s", user->username);
    snprintf(a.discriminator, sizeof a.discriminator, "%s",
             user->discriminator != NULL ? user->discriminator : "0");
    a.has_avatar = user->avatar != NULL;
    snprintf(a.avatar, sizeof a.avatar, "%s", user->avatar != NULL ? user->avatar : "");
    a.has_email = user->email != NULL;
    snprintf(a.email, sizeof a.email, "%s", user->email != NULL ? user->email : "");
    a.verified = user->verified;
    pthread_mutex_lock(&stub->lock);
    stub->current = a;
    pthread_mutex_unlock(&stub->lock);
}

void discord_stub_refuse_next(struct discord_stub *stub)
{
    pthread_mutex_lock(&stub->lock);
    stub->refuse_next = true;
    pthread_mutex_unlock(&stub->lock);
}

void discord_stub_grant_scopes(struct discord_stub *stub, const char *scopes)
{
    pthread_mutex_lock(&stub->lock);
    snprintf(stub->granted_scopes, sizeof stub->granted_scopes, "%s", scopes != NULL ? scopes : "");
    pthread_mutex_unlock(&stub->lock);
}

void discord_stub_expire_codes(struct discord_stub *stub)
{
    pthread_mutex_lock(&stub->lock);
    for (int i = 0; i < MAX_GRANTS && i < stub->grant_count; i++)
        stub->grants[i].issued_at -= CODE_LIFETIME_S + 1;
    pthread_mutex_unlock(&stub->lock);
}

int discord_stub_token_requests(struct discord_stub *stub, char *last_form, size_t cap)
{
    pthread_mutex_lock(&stub->lock);
    int count = stub->token_requests;
    if (last_form != NULL)
        snprintf(last_form, cap, "%s", stub->last_form);
    pthread_mutex_unlock(&stub->lock);
    return count;
}
