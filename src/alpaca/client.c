/* client.c — Alpaca Trading API calls over lv_fetch, and the request and error handling every
 * Alpaca call shares (errors become short messages from Alpaca's {"code", "message"}). */
#include "alpaca/client.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/fetch.h"

/* Alpaca's error message from a body like {"code":40110000,"message":"..."}, or "". */
static const char *alpaca_message(const char *body, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *doc = json_loads(body, 0, NULL);
    const char *message = json_string_value(json_object_get(doc, "message"));
    if (message != NULL)
        snprintf(out, cap, "%s", message);
    json_decref(doc);
    return out;
}

int lv_alpaca_get(const struct lv_alpaca_account_ref *ref, const char *url, long timeout_ms,
                  struct lv_fetch_response *response, struct lv_error *err)
{
    char key_header[512], secret_header[512];
    snprintf(key_header, sizeof key_header, "APCA-API-KEY-ID: %s", ref->key_id);
    snprintf(secret_header, sizeof secret_header, "APCA-API-SECRET-KEY: %s", ref->secret);
    const char *headers[] = {key_header, secret_header, "Accept: application/json", NULL};
    struct lv_fetch_request request = {.url = url, .headers = headers, .timeout_ms = timeout_ms};
    struct lv_error fetch_err;
    int sent = lv_fetch(&request, response, &fetch_err);
    /* The header buffer holds the secret: wipe it before anything else can fail. */
    sodium_memzero(secret_header, sizeof secret_header);
    if (sent != 0) {
        lv_fetch_response_free(response);
        return lv_fail(err, "Alpaca could not be reached: %s", fetch_err.message);
    }
    return 0;
}

enum lv_alpaca_result lv_alpaca_status_error(const struct lv_fetch_response *response,
                                             struct lv_error *err)
{
    char message[200];
    alpaca_message(response->body, message, sizeof message);
    const char *sep = message[0] != '\0' ? ": " : "";
    if (response->status == 401 || response->status == 403) {
        lv_fail(err, "Alpaca rejected the keys (HTTP %ld%s%s)", response->status, sep, message);
        return LV_ALPACA_REJECTED;
    }
    lv_fail(err, "Alpaca answered HTTP %ld%s%s", response->status, sep, message);
    return LV_ALPACA_FAILED;
}

enum lv_alpaca_result lv_alpaca_get_account(const struct lv_alpaca_account_ref *ref,
                                            json_t **account, long *http_status,
                                            struct lv_error *err)
{
    if (account != NULL)
        *account = NULL;
    if (http_status != NULL)
        *http_status = 0;
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/account", ref->base_url);
    struct lv_fetch_response response;
    if (lv_alpaca_get(ref, url, 0, &response, err) != 0)
        return LV_ALPACA_FAILED;
    if (http_status != NULL)
        *http_status = response.status;
    enum lv_alpaca_result result = LV_ALPACA_FAILED;
    if (response.status < 200 || response.status > 299) {
        result = lv_alpaca_status_error(&response, err);
    } else {
        json_t *doc = json_loads(response.body, 0, NULL);
        if (json_is_object(doc)) {
            result = LV_ALPACA_OK;
            if (account != NULL)
                *account = json_incref(doc);
        } else {
            lv_fail(err, "Alpaca answered with something other than an account object");
        }
        json_decref(doc);
    }
    lv_fetch_response_free(&response);
    return result;
}
