/* http_client.h — a small blocking libcurl client for integration tests: send one request
 * (method, URL, headers, body) and get back status, headers and body. */
#ifndef LEVER_TESTS_HTTP_CLIENT_H
#define LEVER_TESTS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_CLIENT_MAX_HEADERS 64

/* One request. Zero-initialise and set what you need. */
struct http_client_request {
    const char *method;         /* default "GET" */
    const char *url;            /* required, e.g. "http://127.0.0.1:8080/api/v1/me" */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* may be NULL (no body) */
    size_t body_len;            /* 0 with a body means strlen(body) */
    bool chunked;               /* send the body with Transfer-Encoding: chunked */
    long timeout_ms;            /* whole request; default 30000 */
};

struct http_client_header {
    char *name;  /* owned */
    char *value; /* owned, without surrounding whitespace */
};

/* The answer. Owns everything; release with http_client_response_free. */
struct http_client_response {
    long status;
    char *body; /* NUL-terminated (may also contain NULs) */
    size_t body_len;
    struct http_client_header headers[HTTP_CLIENT_MAX_HEADERS];
    int header_count;
};

/* Sends the request and waits for the whole answer. Returns 0, or -1 with a message in
 * `error` (size `error_cap`, may be NULL) when no HTTP answer came (connection refused,
 * timeout, reset). Initialises `out` in both cases. Safe to call from several threads at
 * once (call curl_global_init once first, before starting threads). */
int http_client_send(const struct http_client_request *request, struct http_client_response *out,
                     char *error, size_t error_cap);

/* Shortcut for JSON APIs: `json_body` (may be NULL) is sent with Content-Type
 * application/json; `bearer` (may be NULL) adds "Authorization: Bearer TOKEN". */
int http_client_json(const char *method, const char *url, const char *bearer, const char *json_body,
                     struct http_client_response *out);

/* A response header by case-insensitive name (the first if repeated); NULL if absent. */
const char *http_client_header(const struct http_client_response *response, const char *name);

void http_client_response_free(struct http_client_response *response);

#endif
