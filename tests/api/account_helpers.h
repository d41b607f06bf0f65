/* account_helpers.h — what the account and security suites (test_auth, test_tokens,
 * test_credentials, test_ratelimit, test_profile) add to api_call.h: requests with any
 * headers, calls authenticated by the session cookie, Set-Cookie lookup, waiting for rows
 * written in the background. */
#ifndef LEVER_TESTS_ACCOUNT_HELPERS_H
#define LEVER_TESTS_ACCOUNT_HELPERS_H

#include <jansson.h>
#include <stddef.h>

#include "api_call.h"
#include "http_client.h"

/* Sends METHOD base+path (base may be "" with an absolute URL as path). `headers` ("Name:
 * value", NULL-terminated) may be NULL; a `body` goes with whatever Content-Type the headers
 * say. Fails the test when no HTTP answer comes. The caller frees `out`. */
void api_send(const char *base, const char *method, const char *path, const char *const *headers,
              const char *body, struct http_client_response *out);

/* api_call with the session cookie instead of a token (and Content-Type: application/json,
 * as the web UI sends). */
json_t *api_cookie_call(const struct lever_proc *proc, const char *session, const char *method,
                        const char *path, const char *body, long *status);

/* The whole Set-Cookie header of cookie `name` in the response (NULL when none); its value
 * is copied into value (may be NULL). */
const char *set_cookie_of(const struct http_client_response *res, const char *name, char *value,
                          size_t cap);

/* Polls db_long(sql, param) until it returns at least `want`, for up to timeout_ms.
 * Returns the last value read. */
long db_wait_long(const char *sql, const char *param, long want, int timeout_ms);

/* A fresh LEVER_SECRET_KEY value (32 random bytes in base64, 44 characters). */
void random_secret_key(char out[64]);

#endif
