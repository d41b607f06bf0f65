/* test_server.c — the HTTP layer end to end: a real server on 127.0.0.1 (ephemeral port)
 * with test handlers, driven by the libcurl test client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "http/http.h"

#define MiB          (1024 * 1024)
#define STREAM_LINES 100000

/* What the handlers and hooks share: the `app` of these tests. */
struct test_app {
    atomic_bool slow_started;
    atomic_int after_calls;
    pthread_mutex_t lock; /* guards the fields below */
    char last_id[80];
    int last_status;
    char last_pattern[80];
    double last_duration_ms;
};

struct fixture {
    struct test_app app;
    struct lv_router *router;
    struct lv_http_server *server;
    FILE *log;
    char base[64];
};

/* ---- handlers ---- */

static void post_echo(struct lv_req *req, void *app)
{
    (void)app;
    json_t *body = lv_req_json_required(req);
    if (body != NULL)
        lv_resp_json(req, 200, json_incref(body));
}

static void get_item(struct lv_req *req, void *app)
{
    (void)app;
    long limit = 0;
    if (lv_req_query_long(req, "limit", 50, 1, 1000, &limit) != 0)
        return;
    const char *q = lv_req_query(req, "q");
    lv_resp_header(req, "Location", "/items/elsewhere");
    lv_resp_json(req, 200,
                 json_pack("{s:s, s:s?, s:i, s:s, s:s, s:s}", "id", lv_req_param(req, "id"), "q", q,
                           "limit", (int)limit, "ip", lv_req_remote_ip(req), "request_id",
                           lv_req_id(req), "pattern", lv_req_pattern(req)));
}

struct line_stream {
    int next;
    int total;
    int *freed; /* set to 1 by free_line_stream, so a test can see the context was freed */
};

static ssize_t read_lines(void *ctx, char *buf, size_t max)
{
    struct line_stream *stream = ctx;
    size_t used = 0;
    while (stream->next < stream->total) {
        char line[32];
        int len = snprintf(line, sizeof line, "line %d\n", stream->next);
        if (used + (size_t)len > max)
            break;
        memcpy(buf + used, line, (size_t)len);
        used += (size_t)len;
        stream->next++;
    }
    return (ssize_t)used;
}

static void free_line_stream(void *ctx)
{
    free(ctx);
}

static void get_stream(struct lv_req *req, void *app)
{
    (void)app;
    struct line_stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL) {
        lv_resp_error(req, 500, "internal_error", "out of memory", NULL);
        return;
    }
    stream->total = STREAM_LINES;
    lv_resp_stream(req, 200, "text/csv", read_lines, stream, free_line_stream);
}

/* Produces one piece, then fails: the client must see a broken transfer, not a short one. */
static ssize_t read_then_fail(void *ctx, char *buf, size_t max)
{
    int *calls = ctx;
    if ((*calls)++ > 0 || max < 5)
        return -1;
    memcpy(buf, "part\n", 5);
    return 5;
}

static void get_broken_stream(struct lv_req *req, void *app)
{
    (void)app;
    int *calls = calloc(1, sizeof *calls);
    lv_resp_stream(req, 200, "text/plain", read_then_fail, calls, free);
}

static void get_slow(struct lv_req *req, void *app)
{
    struct test_app *test = app;
    atomic_store(&test->slow_started, true);
    usleep(500 * 1000);
    lv_resp_text(req, 200, "text/plain", "finally");
}

static void get_forgetful(struct lv_req *req, void *app)
{
    (void)req;
    (void)app;
}

static void get_twice(struct lv_req *req, void *app)
{
    (void)app;
    /* cmocka must not assert off the main thread: the outcome travels in headers, which
     * are applied when the (first) answer is queued. */
    int first = lv_resp_text(req, 201, "text/plain", "first");
    int second = lv_resp_json(req, 500, json_pack("{s:s}", "second", "loses"));
    lv_resp_header(req, "X-First", first == 0 ? "accepted" : "refused");
    lv_resp_header(req, "X-Second", second == 0 ? "accepted" : "refused");
}

static void get_numbers(struct lv_req *req, void *app)
{
    (void)app;
    lv_resp_json(req, 200,
                 json_pack("{s:o, s:o, s:o, s:o}", "nan", lv_json_number(NAN), "inf",
                           lv_json_number(-INFINITY), "tenth", lv_json_number(0.1), "big",
                           lv_json_number(1234567.25)));
}

static void post_raw(struct lv_req *req, void *app)
{
    (void)app;
    size_t len = 0;
    const char *body = lv_req_body(req, &len);
    const char *type = lv_req_header(req, "Content-Type");
    lv_resp_json(req, 200,
                 json_pack("{s:I, s:s?, s:b, s:s#}", "length", (json_int_t)len, "type", type,
                           "parsed", lv_req_json(req) != NULL, "head", body, len < 8 ? len : 8));
}

static void get_private(struct lv_req *req, void *app)
{
    (void)app;
    lv_resp_json(req, 200, json_pack("{s:s}", "user", (const char *)lv_req_user(req)));
}

static void post_validate(struct lv_req *req, void *app)
{
    (void)app;
    struct lv_problems problems = {0};
    lv_problems_add(&problems, "/elements/0/threshold", "must be a number, got \"%s\"", "50abc");
    lv_problems_add(&problems, "/name", "must not be empty");
    lv_resp_error(req, 400, "validation_failed", "the strategy has 2 problems",
                  lv_problems_to_details(&problems));
    lv_problems_free(&problems);
}

static void delete_empty(struct lv_req *req, void *app)
{
    (void)app;
    lv_resp_empty(req, 204);
}

/* ---- hooks ---- */

/* Routes marked LV_ROUTE_APP_FLAG(0) need "Authorization: Bearer ok". */
static int before(struct lv_req *req, void *app)
{
    (void)app;
    if (!(lv_req_route_flags(req) & LV_ROUTE_APP_FLAG(0)))
        return 0;
    const char *auth = lv_req_header(req, "authorization");
    if (auth == NULL || strcmp(auth, "Bearer ok") != 0) {
        lv_resp_header(req, "WWW-Authenticate", "Bearer");
        lv_resp_error(req, 401, "unauthorized", "a token is required", NULL);
        return 1;
    }
    lv_req_set_user(req, strdup("alice"), free);
    return 0;
}

static void after(const struct lv_req *req, int status, double duration_ms, void *app)
{
    struct test_app *test = app;
    pthread_mutex_lock(&test->lock);
    test->last_duration_ms = duration_ms;
    snprintf(test->last_id, sizeof test->last_id, "%s", lv_req_id(req));
    test->last_status = status;
    const char *pattern = lv_req_pattern(req);
    snprintf(test->last_pattern, sizeof test->last_pattern, "%s", pattern ? pattern : "-");
    pthread_mutex_unlock(&test->lock);
    atomic_fetch_add(&test->after_calls, 1);
}

/* ---- fixture ---- */

static struct lv_router *test_router(void)
{
    struct lv_router *router = lv_router_new();
    struct lv_error err;
    assert_non_null(router);
    assert_int_equal(lv_router_add(router, "POST", "/echo", post_echo, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/items/{id}", get_item, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/stream", get_stream, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/slow", get_slow, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/broken", get_broken_stream, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/forgetful", get_forgetful, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/twice", get_twice, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "GET", "/numbers", get_numbers, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "POST", "/raw", post_raw, LV_ROUTE_RAW_BODY, &err), 0);
    assert_int_equal(
        lv_router_add(router, "GET", "/private", get_private, LV_ROUTE_APP_FLAG(0), &err), 0);
    assert_int_equal(
        lv_router_add(router, "POST", "/private", post_echo, LV_ROUTE_APP_FLAG(0), &err), 0);
    assert_int_equal(lv_router_add(router, "DELETE", "/items/{id}", delete_empty, 0, &err), 0);
    assert_int_equal(lv_router_add(router, "POST", "/validate", post_validate, 0, &err), 0);
    return router;
}

static struct lv_http_server *start_server(struct fixture *f, FILE *log)
{
    struct lv_http_config cfg = {
        .listen = "127.0.0.1:0", .threads = 4, .log = log, .before = before, .after = after};
    struct lv_error err = {{0}};
    struct lv_http_server *server = lv_http_start(&cfg, f->router, &f->app, &err);
    if (server == NULL)
        fail_msg("lv_http_start: %s", err.message);
    assert_true(lv_http_port(server) > 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", lv_http_port(server));
    return server;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->app.lock, NULL);
    f->router = test_router();
    f->log = tmpfile();
    f->server = start_server(f, f->log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lv_http_stop(f->server);
    lv_router_free(f->router);
    fclose(f->log);
    pthread_mutex_destroy(&f->app.lock);
    free(f);
    return 0;
}

/* ---- request helpers ---- */

static struct http_client_response send_request(const struct fixture *f, const char *method,
                                                const char *path, const char *const *headers,
                                                const char *body, size_t body_len)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    struct http_client_request request = {
        .method = method, .url = url, .headers = headers, .body = body, .body_len = body_len};
    struct http_client_response response;
    char error[512];
    if (http_client_send(&request, &response, error, sizeof error) != 0)
        fail_msg("%s", error);
    return response;
}

static struct http_client_response send_json(const struct fixture *f, const char *method,
                                             const char *path, const char *body)
{
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    return send_request(f, method, path, body ? json_headers : NULL, body, 0);
}

static json_t *parse_body(const struct http_client_response *response)
{
    json_error_t error;
    json_t *body = json_loadb(response->body, response->body_len, 0, &error);
    if (body == NULL)
        fail_msg("response is not JSON (%s): %.200s", error.text, response->body);
    return body;
}

/* Checks the envelope's shape and returns its code (valid while `body` lives). */
static const char *error_code(json_t *body)
{
    json_t *error = json_object_get(body, "error");
    assert_true(json_is_object(error));
    assert_int_equal(json_object_size(body), 1);
    assert_true(json_is_string(json_object_get(error, "message")));
    assert_true(strlen(json_string_value(json_object_get(error, "message"))) > 0);
    json_t *details = json_object_get(error, "details");
    assert_true(json_is_array(details));
    size_t i;
    json_t *item;
    json_array_foreach(details, i, item)
    {
        assert_true(json_is_string(json_object_get(item, "path")));
        assert_true(json_is_string(json_object_get(item, "message")));
    }
    assert_true(json_is_string(json_object_get(error, "code")));
    return json_string_value(json_object_get(error, "code"));
}

static void expect_error(struct http_client_response *response, long status, const char *code)
{
    assert_int_equal(response->status, status);
    assert_string_equal(http_client_header(response, "Content-Type"), "application/json");
    json_t *body = parse_body(response);
    assert_string_equal(error_code(body), code);
    json_decref(body);
}

/* ---- tests ---- */

static void json_is_echoed_with_standard_headers(void **state)
{
    struct fixture *f = *state;
    const char *doc = "{\"a\":[1,2.5,\"x\",null,true],\"b\":{\"c\":\"\\u00e9\"}}";
    struct http_client_response r = send_json(f, "POST", "/echo", doc);
    assert_int_equal(r.status, 200);
    json_t *sent = json_loads(doc, 0, NULL);
    json_t *got = parse_body(&r);
    assert_true(json_equal(sent, got));
    json_decref(sent);
    json_decref(got);
    assert_string_equal(http_client_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_client_header(&r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(http_client_header(&r, "Referrer-Policy"), "no-referrer");
    assert_string_equal(http_client_header(&r, "X-Frame-Options"), "DENY");
    assert_string_equal(http_client_header(&r, "Cache-Control"), "no-store");
    assert_non_null(
        strstr(http_client_header(&r, "Content-Security-Policy"), "default-src 'none'"));
    http_client_response_free(&r);

    /* Media type parameters and case do not matter. */
    static const char *const charset[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
    r = send_request(f, "POST", "/echo", charset, "[1]", 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "[1]");
    http_client_response_free(&r);
}

static void unknown_path_is_404_envelope(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "GET", "/nothing/here", NULL);
    expect_error(&r, 404, "not_found");
    assert_non_null(http_client_header(&r, "X-Request-Id"));
    http_client_response_free(&r);

    r = send_json(f, "GET", "/items/%zz", NULL);
    expect_error(&r, 400, "bad_request");
    http_client_response_free(&r);
}

static void wrong_method_is_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "PUT", "/items/3", "{}");
    expect_error(&r, 405, "method_not_allowed");
    assert_string_equal(http_client_header(&r, "Allow"), "GET, HEAD, DELETE");
    http_client_response_free(&r);

    r = send_json(f, "GET", "/echo", NULL);
    expect_error(&r, 405, "method_not_allowed");
    assert_string_equal(http_client_header(&r, "Allow"), "POST");
    http_client_response_free(&r);
}

static void non_json_body_is_415(void **state)
{
    struct fixture *f = *state;
    static const char *const text[] = {"Content-Type: text/plain", NULL};
    struct http_client_response r = send_request(f, "POST", "/echo", text, "{}", 0);
    expect_error(&r, 415, "unsupported_media_type");
    http_client_response_free(&r);

    static const char *const lookalike[] = {"Content-Type: application/jsonp", NULL};
    r = send_request(f, "POST", "/echo", lookalike, "{}", 0);
    expect_error(&r, 415, "unsupported_media_type");
    http_client_response_free(&r);

    /* curl's default for a POST body is application/x-www-form-urlencoded. */
    r = send_request(f, "POST", "/echo", NULL, "{}", 0);
    expect_error(&r, 415, "unsupported_media_type");
    http_client_response_free(&r);

    /* A raw-body route takes anything and never parses it. */
    static const char *const csv[] = {"Content-Type: text/csv", NULL};
    r = send_request(f, "POST", "/raw", csv, "date,open\n", 0);
    assert_int_equal(r.status, 200);
    json_t *body = parse_body(&r);
    assert_int_equal(json_integer_value(json_object_get(body, "length")), 10);
    assert_string_equal(json_string_value(json_object_get(body, "type")), "text/csv");
    assert_false(json_is_true(json_object_get(body, "parsed")));
    json_decref(body);
    http_client_response_free(&r);
}

static void malformed_json_names_line_and_column(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "POST", "/echo", "{\n  \"a\": 1,\n  \"b\": }\n");
    expect_error(&r, 400, "invalid_json");
    json_t *body = parse_body(&r);
    json_t *error = json_object_get(body, "error");
    assert_non_null(strstr(json_string_value(json_object_get(error, "message")), "line 3"));
    json_t *detail = json_array_get(json_object_get(error, "details"), 0);
    assert_int_equal(json_integer_value(json_object_get(detail, "line")), 3);
    assert_int_equal(json_integer_value(json_object_get(detail, "column")), 8);
    assert_string_equal(json_string_value(json_object_get(detail, "path")), "");
    json_decref(body);
    http_client_response_free(&r);
}

static void problems_become_details(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "POST", "/validate", "{}");
    expect_error(&r, 400, "validation_failed");
    json_t *body = parse_body(&r);
    json_t *expected = json_pack("[{s:s, s:s}, {s:s, s:s}]", "path", "/elements/0/threshold",
                                 "message", "must be a number, got \"50abc\"", "path", "/name",
                                 "message", "must not be empty");
    assert_true(json_equal(json_object_get(json_object_get(body, "error"), "details"), expected));
    json_decref(expected);
    json_decref(body);
    http_client_response_free(&r);
}

static void missing_body_is_400_when_required(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_request(f, "POST", "/echo", NULL, NULL, 0);
    expect_error(&r, 400, "invalid_json");
    http_client_response_free(&r);
}

static char *filled_buffer(size_t len)
{
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    memset(buf, ' ', len);
    buf[0] = '[';
    buf[len - 1] = ']';
    buf[len] = '\0';
    return buf;
}

static void oversized_body_is_413(void **state)
{
    struct fixture *f = *state;
    size_t big = 11 * MiB;
    char *body = filled_buffer(big);
    static const char *const json[] = {"Content-Type: application/json", NULL};

    /* Declared by Content-Length: refused before the body is read. */
    struct http_client_response r = send_request(f, "POST", "/echo", json, body, big);
    expect_error(&r, 413, "payload_too_large");
    http_client_response_free(&r);

    /* The same from a client that does not wait for "100 Continue" but sends at once. */
    static const char *const eager[] = {"Content-Type: application/json", "Expect:", NULL};
    r = send_request(f, "POST", "/echo", eager, body, big);
    expect_error(&r, 413, "payload_too_large");
    http_client_response_free(&r);

    /* Chunked: only discovered while reading, drained, then refused. */
    char url[128];
    snprintf(url, sizeof url, "%s/echo", f->base);
    struct http_client_request chunked = {.method = "POST",
                                          .url = url,
                                          .headers = json,
                                          .body = body,
                                          .body_len = big,
                                          .chunked = true};
    char error[512];
    if (http_client_send(&chunked, &r, error, sizeof error) != 0)
        fail_msg("%s", error);
    expect_error(&r, 413, "payload_too_large");
    http_client_response_free(&r);

    /* Exactly the limit is accepted, also chunked. */
    static const char *const octets[] = {"Content-Type: application/octet-stream", NULL};
    r = send_request(f, "POST", "/raw", octets, body, 10 * MiB);
    assert_int_equal(r.status, 200);
    json_t *answer = parse_body(&r);
    assert_int_equal(json_integer_value(json_object_get(answer, "length")), 10 * MiB);
    json_decref(answer);
    http_client_response_free(&r);
    chunked.url = url;
    snprintf(url, sizeof url, "%s/raw", f->base);
    chunked.headers = octets;
    chunked.body_len = 10 * MiB;
    if (http_client_send(&chunked, &r, error, sizeof error) != 0)
        fail_msg("%s", error);
    assert_int_equal(r.status, 200);
    http_client_response_free(&r);
    free(body);
}

static void request_id_is_generated_or_echoed(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "GET", "/items/1", NULL);
    const char *id = http_client_header(&r, "X-Request-Id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    json_t *body = parse_body(&r);
    assert_string_equal(json_string_value(json_object_get(body, "request_id")), id);
    json_decref(body);

    struct http_client_response again = send_json(f, "GET", "/items/1", NULL);
    assert_string_not_equal(http_client_header(&again, "X-Request-Id"), id);
    http_client_response_free(&again);
    http_client_response_free(&r);

    static const char *const mine[] = {"X-Request-Id: client-42.a_b", NULL};
    r = send_request(f, "GET", "/nothing", mine, NULL, 0);
    assert_string_equal(http_client_header(&r, "X-Request-Id"), "client-42.a_b");
    http_client_response_free(&r);

    static const char *const hostile[] = {"X-Request-Id: <script>", NULL};
    r = send_request(f, "GET", "/items/1", hostile, NULL, 0);
    assert_int_equal(strlen(http_client_header(&r, "X-Request-Id")), 32);
    http_client_response_free(&r);
}

static void params_and_query_are_decoded(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r =
        send_json(f, "GET", "/items/a%2Fb%20c/?q=x+y%26z&limit=7&limit=9", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_client_header(&r, "Location"), "/items/elsewhere");
    json_t *body = parse_body(&r);
    assert_string_equal(json_string_value(json_object_get(body, "id")), "a/b c");
    assert_string_equal(json_string_value(json_object_get(body, "q")), "x y&z");
    assert_int_equal(json_integer_value(json_object_get(body, "limit")), 7);
    assert_string_equal(json_string_value(json_object_get(body, "ip")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(body, "pattern")), "/items/{id}");
    json_decref(body);
    http_client_response_free(&r);

    r = send_json(f, "GET", "/items/1", NULL);
    body = parse_body(&r);
    assert_int_equal(json_integer_value(json_object_get(body, "limit")), 50);
    assert_true(json_is_null(json_object_get(body, "q")));
    json_decref(body);
    http_client_response_free(&r);

    static const char *const bad_limits[] = {"/items/1?limit=abc", "/items/1?limit=5000",
                                             "/items/1?limit=", "/items/1?limit=+5"};
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        r = send_json(f, "GET", bad_limits[i], NULL);
        expect_error(&r, 400, "bad_request");
        body = parse_body(&r);
        json_t *detail =
            json_array_get(json_object_get(json_object_get(body, "error"), "details"), 0);
        assert_string_equal(json_string_value(json_object_get(detail, "path")), "?limit");
        json_decref(body);
        http_client_response_free(&r);
    }

    r = send_json(f, "GET", "/items/1?q=%zz", NULL);
    expect_error(&r, 400, "bad_request");
    http_client_response_free(&r);
}

static void large_output_is_streamed(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "GET", "/stream", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_client_header(&r, "Content-Type"), "text/csv");
    assert_string_equal(http_client_header(&r, "Transfer-Encoding"), "chunked");
    assert_non_null(http_client_header(&r, "X-Request-Id"));
    int lines = 0;
    for (size_t i = 0; i < r.body_len; i++)
        lines += r.body[i] == '\n';
    assert_int_equal(lines, STREAM_LINES);
    assert_memory_equal(r.body, "line 0\nline 1\n", 14);
    const char *last = "line 99999\n";
    assert_string_equal(r.body + r.body_len - strlen(last), last);
    http_client_response_free(&r);

    char url[128];
    snprintf(url, sizeof url, "%s/broken", f->base);
    struct http_client_request broken = {.url = url};
    assert_int_equal(http_client_send(&broken, &r, NULL, 0), -1);
    http_client_response_free(&r);
}

static void handler_mistakes_are_contained(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "GET", "/forgetful", NULL);
    expect_error(&r, 500, "internal_error");
    http_client_response_free(&r);

    r = send_json(f, "GET", "/twice", NULL);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "first");
    assert_string_equal(http_client_header(&r, "X-First"), "accepted");
    assert_string_equal(http_client_header(&r, "X-Second"), "refused");
    http_client_response_free(&r);
}

static void non_finite_numbers_become_null(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "GET", "/numbers", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"nan\":null"));
    assert_non_null(strstr(r.body, "\"inf\":null"));
    assert_non_null(strstr(r.body, "\"tenth\":0.1"));
    assert_non_null(strstr(r.body, "\"big\":1234567.25"));
    http_client_response_free(&r);
}

static void head_and_empty_responses(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "HEAD", "/items/5", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_non_null(http_client_header(&r, "X-Request-Id"));
    http_client_response_free(&r);

    r = send_json(f, "DELETE", "/items/5", NULL);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(http_client_header(&r, "X-Frame-Options"), "DENY");
    http_client_response_free(&r);
}

static void before_hook_guards_routes(void **state)
{
    struct fixture *f = *state;
    struct http_client_response r = send_json(f, "GET", "/private", NULL);
    expect_error(&r, 401, "unauthorized");
    assert_string_equal(http_client_header(&r, "WWW-Authenticate"), "Bearer");
    http_client_response_free(&r);

    /* Refused from the headers alone: the 2 MiB body is never accepted. */
    char *body = filled_buffer(2 * MiB);
    static const char *const json[] = {"Content-Type: application/json", NULL};
    r = send_request(f, "POST", "/private", json, body, 2 * MiB);
    expect_error(&r, 401, "unauthorized");
    http_client_response_free(&r);
    free(body);

    static const char *const token[] = {"Authorization: Bearer ok", NULL};
    r = send_request(f, "GET", "/private", token, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"user\":\"alice\"}");
    http_client_response_free(&r);
}

/* The after hook runs once the response is out, so the client may see it first. */
static bool wait_for_after_hook(struct test_app *app, const char *id, int *status, char *pattern,
                                size_t pattern_cap)
{
    for (int tries = 0; tries < 200; tries++) {
        pthread_mutex_lock(&app->lock);
        bool seen = strcmp(app->last_id, id) == 0;
        *status = app->last_status;
        snprintf(pattern, pattern_cap, "%s", app->last_pattern);
        pthread_mutex_unlock(&app->lock);
        if (seen)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

static void after_hook_and_log_see_every_request(void **state)
{
    struct fixture *f = *state;
    char pattern[80];
    int status = 0;
    static const char *const miss[] = {"X-Request-Id: after-404", NULL};
    struct http_client_response r = send_request(f, "GET", "/nope", miss, NULL, 0);
    http_client_response_free(&r);
    assert_true(wait_for_after_hook(&f->app, "after-404", &status, pattern, sizeof pattern));
    assert_int_equal(status, 404);
    assert_string_equal(pattern, "-");

    static const char *const hit[] = {"X-Request-Id: after-200", NULL};
    r = send_request(f, "GET", "/items/9", hit, NULL, 0);
    http_client_response_free(&r);
    assert_true(wait_for_after_hook(&f->app, "after-200", &status, pattern, sizeof pattern));
    assert_int_equal(status, 200);
    assert_string_equal(pattern, "/items/{id}");

    /* One line per request: method, pattern, status, duration, id. */
    fflush(f->log);
    rewind(f->log);
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f->log) != NULL)
        found |= strstr(line, "http GET /items/{id} 200 ") != NULL &&
                 strstr(line, "ms after-200\n") != NULL;
    fseek(f->log, 0, SEEK_END);
    assert_true(found);
}

struct hammer {
    const struct fixture *f;
    int thread;
    int ok; /* requests answered correctly */
};

static void *hammer_items(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 50; i++) {
        char path[64];
        char expect[64];
        snprintf(path, sizeof path, "/items/t%d-%d", h->thread, i);
        snprintf(expect, sizeof expect, "\"id\":\"t%d-%d\"", h->thread, i);
        char url[128];
        snprintf(url, sizeof url, "%s%s", h->f->base, path);
        struct http_client_request request = {.url = url};
        struct http_client_response r;
        if (http_client_send(&request, &r, NULL, 0) == 0 && r.status == 200 &&
            strstr(r.body, expect) != NULL)
            h->ok++;
        http_client_response_free(&r);
    }
    return NULL;
}

static void concurrent_requests(void **state)
{
    struct fixture *f = *state;
    enum { THREADS = 8 };
    pthread_t threads[THREADS];
    struct hammer hammers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        hammers[t] = (struct hammer){.f = f, .thread = t};
        assert_int_equal(pthread_create(&threads[t], NULL, hammer_items, &hammers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(hammers[t].ok, 50);
    }
}

struct slow_call {
    const char *url;
    struct http_client_response response;
    int rc;
};

static void *call_slow(void *arg)
{
    struct slow_call *call = arg;
    struct http_client_request request = {.url = call->url};
    call->rc = http_client_send(&request, &call->response, NULL, 0);
    return NULL;
}

static void *stop_server(void *server)
{
    lv_http_stop(server);
    return NULL;
}

static void stop_finishes_requests_in_flight(void **state)
{
    (void)state;
    struct fixture local = {0};
    pthread_mutex_init(&local.app.lock, NULL);
    local.router = test_router();
    struct lv_http_server *server = start_server(&local, NULL);

    char url[128];
    snprintf(url, sizeof url, "%s/slow", local.base);
    struct slow_call call = {.url = url};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, call_slow, &call), 0);
    for (int tries = 0; tries < 500 && !atomic_load(&local.app.slow_started); tries++)
        usleep(1000);
    assert_true(atomic_load(&local.app.slow_started));

    pthread_t stopper;
    assert_int_equal(pthread_create(&stopper, NULL, stop_server, server), 0);
    usleep(100 * 1000);
    /* Stopping: new connections are refused while the slow request is still running. */
    struct http_client_request probe = {.url = url, .timeout_ms = 2000};
    struct http_client_response r;
    assert_int_equal(http_client_send(&probe, &r, NULL, 0), -1);
    http_client_response_free(&r);
    assert_int_equal(atomic_load(&local.app.after_calls), 0);
    pthread_join(stopper, NULL);
    /* lv_http_stop returned only after the request finished and its after hook ran. */
    assert_int_equal(atomic_load(&local.app.after_calls), 1);
    pthread_join(thread, NULL);
    assert_int_equal(call.rc, 0);
    assert_int_equal(call.response.status, 200);
    assert_string_equal(call.response.body, "finally");
    assert_string_equal(http_client_header(&call.response, "Connection"), "close");
    http_client_response_free(&call.response);

    /* Nobody is listening any more. */
    struct http_client_request request = {.url = url, .timeout_ms = 2000};
    assert_int_equal(http_client_send(&request, &r, NULL, 0), -1);
    http_client_response_free(&r);

    lv_router_free(local.router);
    pthread_mutex_destroy(&local.app.lock);
}

static void bad_listen_addresses_fail_cleanly(void **state)
{
    struct fixture *f = *state;
    struct lv_http_config cfg = {0};
    struct lv_error err = {{0}};
    static const char *const bad[] = {"localhost",       "127.0.0.1:",   ":80",
                                      "127.0.0.1:70000", "127.0.0.1:8x", "no.such.host.invalid:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.listen = bad[i];
        assert_null(lv_http_start(&cfg, f->router, &f->app, &err));
        assert_true(strlen(err.message) > 0);
    }
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", lv_http_port(f->server));
    cfg.listen = taken;
    assert_null(lv_http_start(&cfg, f->router, &f->app, &err));
    assert_non_null(strstr(err.message, taken));

    cfg.listen = "[::1]:0";
    struct lv_http_server *v6 = lv_http_start(&cfg, f->router, &f->app, &err);
    if (v6 != NULL) { /* IPv6 may be disabled on the test machine */
        char url[128];
        snprintf(url, sizeof url, "http://[::1]:%u/items/6", lv_http_port(v6));
        struct http_client_response r;
        assert_int_equal(http_client_json("GET", url, NULL, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "\"ip\":\"::1\""));
        http_client_response_free(&r);
        lv_http_stop(v6);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_is_echoed_with_standard_headers),
        cmocka_unit_test(unknown_path_is_404_envelope),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(non_json_body_is_415),
        cmocka_unit_test(malformed_json_names_line_and_column),
        cmocka_unit_test(missing_body_is_400_when_required),
        cmocka_unit_test(problems_become_details),
        cmocka_unit_test(oversized_body_is_413),
        cmocka_unit_test(request_id_is_generated_or_echoed),
        cmocka_unit_test(params_and_query_are_decoded),
        cmocka_unit_test(large_output_is_streamed),
        cmocka_unit_test(handler_mistakes_are_contained),
        cmocka_unit_test(non_finite_numbers_become_null),
        cmocka_unit_test(head_and_empty_responses),
        cmocka_unit_test(before_hook_guards_routes),
        cmocka_unit_test(after_hook_and_log_see_every_request),
        cmocka_unit_test(concurrent_requests),
        cmocka_unit_test(stop_finishes_requests_in_flight),
        cmocka_unit_test(bad_listen_addresses_fail_cleanly),
    };
    int failed = cmocka_run_group_tests_name("http server", tests, setup, teardown);
    curl_global_cleanup();
    return failed;
}
