/* http.h — Lever's HTTP layer: a router, a libmicrohttpd server, request accessors and JSON
 * responses with the error envelope of platform.md §2. The application builds on this. */
#ifndef LEVER_HTTP_HTTP_H
#define LEVER_HTTP_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/json_number.h"
#include "core/problems.h"

/*
 * How a request flows
 * -------------------
 * 1. Headers arrive. The router matches method + path:
 *      no route for the path          -> 404 not_found
 *      path known, method not         -> 405 method_not_allowed, with an Allow header
 *      path not decodable (%zz, %00)  -> 400 bad_request
 * 2. Still before any body byte is read:
 *      Content-Length over the limit  -> 413 payload_too_large (the body is never read)
 *      a body whose Content-Type is not application/json (parameters such as
 *      "; charset=utf-8" are fine)    -> 415 unsupported_media_type
 *                                        (skipped for routes flagged LV_ROUTE_RAW_BODY)
 *    then the `before` hook runs (authentication, rate limits). It sees method, path,
 *    params, query and headers, but not the body yet, so a refused client never gets to
 *    upload 10 MiB. Requests answered in steps 1–2 never reach the before hook.
 * 3. The body is received into memory up to the limit. A chunked body that turns out to be
 *    larger is drained without being kept and answered with 413.
 * 4. A non-empty JSON body is parsed; malformed JSON -> 400 invalid_json whose details name
 *    the line and column. A route flagged LV_ROUTE_RAW_BODY gets the raw bytes only.
 * 5. The handler runs and answers with exactly one lv_resp_* call. A handler that returns
 *    without answering produces 500 internal_error (and a log line saying so).
 * 6. When the response has been sent (or the client went away), the `after` hook runs
 *    with the final status and duration, one log line is written, and the request is freed.
 *
 * Every response carries X-Request-Id (the client's own when it is 1–64 characters of
 * [A-Za-z0-9._-], otherwise 32 random hex digits), X-Content-Type-Options: nosniff,
 * Referrer-Policy: no-referrer, X-Frame-Options: DENY, and — unless the handler set its own
 * with lv_resp_header — Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
 * and Cache-Control: no-store.
 *
 * Threads: handlers and hooks run on libmicrohttpd's pool threads, several at once. The
 * router is read-only once the server is started; the `app` pointer is shared by all
 * requests, so whatever it points to must be thread-safe. A struct lv_req belongs to one
 * thread and is valid only until the handler (or hook) returns — except in the `after`
 * hook, which gets it once more at the end.
 *
 * Error codes used by this layer (the application adds its own, same envelope):
 *   bad_request, invalid_json, not_found, method_not_allowed, payload_too_large,
 *   unsupported_media_type, internal_error.
 *
 * JSON output: jansson cannot hold NaN or ±Infinity (json_real() returns NULL for them and
 * json_object_set_new() then silently drops the key), so build numbers that may be
 * non-finite with lv_json_number(), which gives JSON null instead. Reals are written with 15
 * significant digits (0.1 prints as 0.1, not 0.10000000000000001).
 */

struct lv_req;
struct lv_router;
struct lv_http_server;

/* ---------------------------------------------------------------------------------------
 * Router
 * ------------------------------------------------------------------------------------- */

/* Answers one request with exactly one lv_resp_* call. `app` is lv_http_start()'s app. */
typedef void (*lv_handler)(struct lv_req *req, void *app);

/* Route flags. Bits 0–7 belong to this layer; bits 8–31 are free for the application
 * (e.g. #define API_ROUTE_ADMIN (1u << 8)) and are only ever read back by it. */
#define LV_ROUTE_PUBLIC      (1u << 0) /* needs no authentication (read by the before hook) */
#define LV_ROUTE_RAW_BODY    (1u << 1) /* any Content-Type accepted, body never parsed as JSON */
#define LV_ROUTE_APP_FLAG(n) (1u << (8 + (n)))

/* A route table. Owns copies of the patterns; free with lv_router_free. */
struct lv_router *lv_router_new(void);
void lv_router_free(struct lv_router *router);

/* Adds a route. `method` is an upper-case HTTP method ("GET", "POST", …); a GET route also
 * answers HEAD. `pattern` is an absolute path whose segments are literals or "{name}"
 * placeholders matching one non-empty segment: "/api/v1/batch-jobs/{id}/runs".
 * Literal segments win over placeholders when both could match. A trailing slash in the
 * request path is ignored ("/api/v1/strategies/" matches "/api/v1/strategies").
 * Fails on a malformed pattern or a duplicate method + pattern. Not thread-safe: build the
 * router before lv_http_start. */
int lv_router_add(struct lv_router *router, const char *method, const char *pattern,
                  lv_handler handler, unsigned flags, struct lv_error *err);

/* ---------------------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------------------- */

/* Runs before the handler (see "How a request flows", step 2). Returns 0 to let the
 * request through, or non-zero after answering it itself (e.g. 401 with lv_resp_error).
 * Returning non-zero without answering sends 500. */
typedef int (*lv_before_hook)(struct lv_req *req, void *app);

/* Runs once per request after its response, for every request including 404s and errors.
 * `status` is the status sent (0 when the connection failed before any response).
 * Must not answer or block for long: it runs on the pool thread that served the request. */
typedef void (*lv_after_hook)(const struct lv_req *req, int status, double duration_ms, void *app);

/* Zero-initialise, then set what you need; every zero field takes its default. */
struct lv_http_config {
    const char *listen;       /* "HOST:PORT", HOST an IPv4/IPv6 literal ("[::1]") or a
                               * name; port 0 picks a free port (see lv_http_port).
                               * Default "127.0.0.1:8080". */
    unsigned threads;         /* pool threads; default: number of online CPUs */
    size_t body_limit;        /* largest accepted request body in bytes; default 10 MiB */
    unsigned idle_timeout_s;  /* idle connections are closed after this; default 60 */
    unsigned stop_timeout_ms; /* lv_http_stop waits this long for in-flight requests;
                               * default 30000 */
    FILE *log;                /* one line per request, "http GET /api/v1/strategies/{id}
                               * 200 3.1ms REQUEST_ID" ("-" for an unmatched path), plus
                               * libmicrohttpd's own errors; NULL = silent (the default) */
    lv_before_hook before;    /* optional */
    lv_after_hook after;      /* optional */
};

#define LV_HTTP_DEFAULT_LISTEN     "127.0.0.1:8080"
#define LV_HTTP_DEFAULT_BODY_LIMIT ((size_t)10 * 1024 * 1024)

/* Starts serving `router` in background threads and returns at once. The router and `app`
 * are borrowed and must outlive the server. Returns NULL with err set when the address
 * cannot be parsed or bound. */
struct lv_http_server *lv_http_start(const struct lv_http_config *cfg,
                                     const struct lv_router *router, void *app,
                                     struct lv_error *err);

/* The TCP port actually bound (useful after asking for port 0). */
uint16_t lv_http_port(const struct lv_http_server *server);

/* Graceful stop: stops accepting connections, waits (up to stop_timeout_ms) for requests
 * in flight — streamed responses included — to finish, then closes everything and frees
 * the server. Answers sent while stopping carry "Connection: close", so keep-alive clients
 * go away. After the timeout, handlers still running are waited for but their answers are
 * dropped. Call it from an ordinary thread (e.g. after sigwait for SIGTERM), never from a
 * handler. NULL is ignored. */
void lv_http_stop(struct lv_http_server *server);

/* ---------------------------------------------------------------------------------------
 * Request accessors. Returned strings are owned by the request and live as long as it.
 * ------------------------------------------------------------------------------------- */

const char *lv_req_method(const struct lv_req *req);
/* The path as sent, without the query string and still percent-encoded. */
const char *lv_req_path(const struct lv_req *req);
/* The matched route's pattern ("/api/v1/strategies/{id}"), NULL when no route matched. */
const char *lv_req_pattern(const struct lv_req *req);
/* The matched route's flags, 0 when no route matched. */
unsigned lv_req_route_flags(const struct lv_req *req);

/* A "{name}" placeholder's value, percent-decoded; NULL when the pattern has no such name. */
const char *lv_req_param(const struct lv_req *req, const char *name);
/* The first value of a query parameter, decoded ('+' is a space); "" for "?flag" or
 * "?flag="; NULL when absent. */
const char *lv_req_query(const struct lv_req *req, const char *name);
/* A request header by case-insensitive name; NULL when absent. */
const char *lv_req_header(const struct lv_req *req, const char *name);

/* The peer's address as text ("127.0.0.1", "::1"). */
const char *lv_req_remote_ip(const struct lv_req *req);
/* This request's id, as sent back in X-Request-Id. */
const char *lv_req_id(const struct lv_req *req);

/* The parsed JSON body (borrowed: do not decref), or NULL when the body was empty or the
 * route is LV_ROUTE_RAW_BODY. Any JSON value is accepted; check the type you expect. */
json_t *lv_req_json(const struct lv_req *req);
/* The same, but when the body is missing answers 400 invalid_json ("a JSON body is
 * required") and returns NULL, so a handler can write
 *     json_t *body = lv_req_json_required(req); if (body == NULL) return; */
json_t *lv_req_json_required(struct lv_req *req);
/* The raw body bytes (NUL-terminated for convenience, may contain NULs); "" with *len 0
 * when there was none. `len` may be NULL. */
const char *lv_req_body(const struct lv_req *req, size_t *len);

/* Reads an integer query parameter. Absent -> *out = fallback. Present and an integer in
 * [min, max] -> *out = value. Otherwise answers 400 bad_request whose details item has the
 * path "?name", and returns -1 (the handler just returns). */
int lv_req_query_long(struct lv_req *req, const char *name, long fallback, long min, long max,
                      long *out);

/* A per-request slot for the application (typically the authenticated user, filled in by
 * the before hook). `free_user`, when not NULL, is called on `user` after the after hook,
 * or when the slot is set again to something else. */
void lv_req_set_user(struct lv_req *req, void *user, void (*free_user)(void *user));
void *lv_req_user(const struct lv_req *req);

/* ---------------------------------------------------------------------------------------
 * Responses. Call exactly one lv_resp_* (other than lv_resp_header) per request, from the
 * handler or the before hook, on the thread that called it. Each returns 0, or -1 when the
 * request was already answered (the first answer stands) or memory ran out (the request
 * then gets 500).
 * ------------------------------------------------------------------------------------- */

/* Adds a header to the coming response (e.g. "Retry-After", "Location", "Set-Cookie").
 * Call before the lv_resp_* that answers. Name and value are copied; a value containing
 * CR or LF is refused. */
int lv_resp_header(struct lv_req *req, const char *name, const char *value);

/* Sends `body` as application/json. Steals the reference, also on failure; NULL body
 * (e.g. a failed json_pack) sends 500. */
int lv_resp_json(struct lv_req *req, int status, json_t *body);

/* Sends the error envelope
 *     {"error": {"code": code, "message": message, "details": details}}
 * `details` (stolen; NULL = []) is an array of {"path": JSON Pointer, "message": ...}
 * objects; extra keys in an item are allowed. */
int lv_resp_error(struct lv_req *req, int status, const char *code, const char *message,
                  json_t *details);

/* Builds a details array from a problem list (new reference; [] for an empty list). */
json_t *lv_problems_to_details(const struct lv_problems *problems);

/* Sends an empty body (e.g. 204). */
int lv_resp_empty(struct lv_req *req, int status);
/* Sends a copy of `text` / `len` bytes of `data` with the given Content-Type. */
int lv_resp_text(struct lv_req *req, int status, const char *content_type, const char *text);
int lv_resp_bytes(struct lv_req *req, int status, const char *content_type, const void *data,
                  size_t len);

/* Sends `size` bytes of the open file `fd` from its start, e.g. a static asset. Takes
 * ownership of fd (closed when sent, also on failure). */
int lv_resp_file(struct lv_req *req, int status, const char *content_type, int fd, uint64_t size);

/* Fills `buf` with up to `max` bytes of a streamed body. Returns the number of bytes
 * written (> 0), 0 at the end of the stream, or -1 on an error (the connection is then
 * cut, so the client sees a truncated body rather than a false end). Called on a pool
 * thread after the handler returned, so it must not touch the request. */
typedef ssize_t (*lv_stream_read)(void *ctx, char *buf, size_t max);

/* Sends a body produced piece by piece by `read` (chunked transfer encoding), so large
 * outputs (a 200,000-row CSV) are never held in memory. `ctx` is owned by the response:
 * `free_ctx` (may be NULL) is called once when the response is done, also on failure. */
int lv_resp_stream(struct lv_req *req, int status, const char *content_type, lv_stream_read read,
                   void *ctx, void (*free_ctx)(void *ctx));

/* ---------------------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------------------- */

/* lv_json_number (core/json_number.h): a JSON number, or null when not finite. */

#endif
