/* account_helpers.c — see account_helpers.h. */
#include "account_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void api_send(const char *base, const char *method, const char *path, const char *const *headers,
              const char *body, struct http_client_response *out)
{
    char url[8192], error[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct http_client_request request = {
        .method = method, .url = url, .headers = headers, .body = body};
    if (http_client_send(&request, out, error, sizeof error) != 0)
        fail_msg("%s %s: no answer: %s", method, path, error);
}

json_t *api_cookie_call(const struct lever_proc *proc, const char *session, const char *method,
                        const char *path, const char *body, long *status)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie, "Cookie: lever_session=%s", session);
    const char *headers[] = {cookie, "Content-Type: application/json", NULL};
    struct http_client_response res;
    api_send(proc->base_url, method, path, headers, body, &res);
    *status = res.status;
    json_t *doc = res.body_len > 0 ? json_loads(res.body, 0, NULL) : NULL;
    http_client_response_free(&res);
    return doc;
}

const char *set_cookie_of(const struct http_client_response *res, const char *name, char *value,
                          size_t cap)
{
    size_t name_len = strlen(name);
    for (int i = 0; i < res->header_count; i++) {
        const char *header = res->headers[i].value;
        if (strcasecmp(res->headers[i].name, "Set-Cookie") != 0 ||
            strncmp(header, name, name_len) != 0 || header[name_len] != '=')
            continue;
        if (value != NULL)
            snprintf(value, cap, "%.*s", (int)strcspn(header + name_len + 1, ";"),
                     header + name_len + 1);
        return header;
    }
    return NULL;
}

long db_wait_long(const char *sql, const char *param, long want, int timeout_ms)
{
    long value = db_long(sql, param);
    for (int waited = 0; value < want && waited < timeout_ms; waited += 50) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
        value = db_long(sql, param);
    }
    return value;
}

void random_secret_key(char out[64])
{
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    sodium_bin2base64(out, 64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
}
