/* fetch.h — the outbound HTTP client Lever uses to call other services (Discord, Alpaca):
 * one blocking libcurl request with hard timeouts and a bounded response body. */
#ifndef LEVER_API_FETCH_H
#define LEVER_API_FETCH_H

#include <stddef.h>

#include "core/error.h"

/* Largest response body kept; a longer answer fails the request (no service Lever talks to
 * sends that much for the calls made through here). */
#define LV_FETCH_BODY_MAX ((size_t)4 * 1024 * 1024)

/* Zero-initialise and set what you need. */
struct lv_fetch_request {
    const char *method;         /* default "GET" */
    const char *url;            /* http:// or https:// only; redirects are not followed */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;            /* 0 with a body means strlen(body) */
    long timeout_ms;            /* whole request; default 10000 (connecting: at most 5000) */
};

/* Owns body; release with lv_fetch_response_free. */
struct lv_fetch_response {
    long status;
    char *body; /* NUL-terminated; "" when the answer had none */
    size_t body_len;
};

/* Sends the request and waits for the whole answer. Returns 0 with any HTTP status in
 * out->status, or -1 with err set when no complete HTTP answer came (refused, timeout,
 * reset, body over LV_FETCH_BODY_MAX). Thread-safe once curl_global_init has been called
 * (lever serve does that at start). `out` is initialised in both cases. */
int lv_fetch(const struct lv_fetch_request *request, struct lv_fetch_response *out,
             struct lv_error *err);

void lv_fetch_response_free(struct lv_fetch_response *response);

/* Percent-encodes `text` for a query string or form value (RFC 3986 unreserved characters
 * stay as they are). Returns the length written, or -1 when out_cap is too small. */
int lv_url_encode(const char *text, char *out, size_t out_cap);

#endif
