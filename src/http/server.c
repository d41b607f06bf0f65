/* server.c — libmicrohttpd glue: binds the listen address, walks each request through the
 * steps documented in http.h, queues the answer, runs the after hook, and stops gracefully. */
#include "http/request.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct lv_http_server {
    struct MHD_Daemon *daemon;
    struct lv_http_config cfg; /* with defaults filled in */
    const struct lv_router *router;
    void *app;
    uint16_t port;
    atomic_int in_flight; /* requests between their first byte of headers and completion */
    atomic_bool stopping; /* lv_http_stop has begun: answers close their connection */
};

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* "application/json", any case, optionally followed by parameters. */
static bool is_json_media_type(const char *content_type)
{
    static const char json[] = "application/json";
    if (content_type == NULL || strncasecmp(content_type, json, sizeof json - 1) != 0)
        return false;
    char next = content_type[sizeof json - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* Whether the request announces a body, and its declared length (0 when chunked). */
static bool announces_body(struct MHD_Connection *conn, uint64_t *declared_len)
{
    *declared_len = 0;
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (length != NULL) {
        /* libmicrohttpd has already refused a malformed Content-Length. */
        *declared_len = strtoull(length, NULL, 10);
        return *declared_len > 0;
    }
    const char *encoding = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    return encoding != NULL && strcasestr(encoding, "chunked") != NULL;
}

static void answer_route_miss(struct lv_req *req)
{
    switch (req->match.result) {
    case LV_MATCH_BAD_METHOD:
        lv_resp_header(req, "Allow", req->match.allow);
        lv_resp_error(req, 405, "method_not_allowed", "this path does not accept that method",
                      NULL);
        break;
    case LV_MATCH_BAD_PATH:
        lv_resp_error(req, 400, "bad_request", "the path has a malformed percent-encoding", NULL);
        break;
    default:
        lv_resp_error(req, 404, "not_found", "no such resource", NULL);
        break;
    }
}

/* Step 1 and 2 of http.h: everything decided from the headers alone. Leaves the request
 * answered when it must not go further. */
static void on_headers(struct lv_http_server *server, struct lv_req *req)
{
    if (lv_router_match(server->router, req->method, req->path, &req->match) != LV_MATCH_FOUND) {
        answer_route_miss(req);
        return;
    }
    if (lv_req_parse_query(req) != 0) {
        lv_resp_error(req, 400, "bad_request", "the query string has a malformed percent-encoding",
                      NULL);
        return;
    }
    uint64_t declared_len = 0;
    bool has_body = announces_body(req->conn, &declared_len);
    if (declared_len > server->cfg.body_limit) {
        char message[128];
        snprintf(message, sizeof message, "the request body is larger than %zu bytes",
                 server->cfg.body_limit);
        lv_resp_error(req, 413, "payload_too_large", message, NULL);
        return;
    }
    bool raw_body = lv_route_flags(req->match.route) & LV_ROUTE_RAW_BODY;
    if (has_body && !raw_body && !is_json_media_type(lv_req_header(req, "Content-Type"))) {
        lv_resp_error(req, 415, "unsupported_media_type",
                      "the request body must be application/json", NULL);
        return;
    }
    if (server->cfg.before != NULL && server->cfg.before(req, server->app) != 0 &&
        req->response == NULL)
        lv_resp_error(req, 500, "internal_error", "internal server error", NULL);
}

/* Steps 3–5: the whole body is in; check it, parse it and run the handler. */
static void on_body_complete(struct lv_http_server *server, struct lv_req *req)
{
    if (req->body_too_large) {
        char message[128];
        snprintf(message, sizeof message, "the request body is larger than %zu bytes",
                 server->cfg.body_limit);
        lv_resp_error(req, 413, "payload_too_large", message, NULL);
        return;
    }
    bool raw_body = lv_route_flags(req->match.route) & LV_ROUTE_RAW_BODY;
    if (req->body_len > 0 && !raw_body) {
        json_error_t error;
        req->json = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &error);
        if (req->json == NULL) {
            char message[JSON_ERROR_TEXT_LENGTH + 96];
            snprintf(message, sizeof message,
                     "the request body is not valid JSON: %s at line %d, column %d", error.text,
                     error.line, error.column);
            json_t *details = json_pack("[{s:s, s:s, s:i, s:i}]", "path", "", "message", error.text,
                                        "line", error.line, "column", error.column);
            lv_resp_error(req, 400, "invalid_json", message, details);
            return;
        }
    }
    lv_route_handler(req->match.route)(req, server->app);
    if (req->response == NULL) {
        if (server->cfg.log != NULL)
            fprintf(server->cfg.log, "http %s %s: handler sent no response (request %s)\n",
                    req->method, lv_req_pattern(req), req->id);
        lv_resp_error(req, 500, "internal_error", "internal server error", NULL);
    }
}

/* Hands the request's answer to libmicrohttpd. A request with no usable answer (out of
 * memory everywhere) gets its connection closed. */
static enum MHD_Result queue_answer(struct lv_http_server *server, struct lv_req *req)
{
    if (req->response == NULL)
        return MHD_NO;
    enum MHD_Result rc = MHD_NO;
    if (lv_req_decorate_response(req, req->response, atomic_load(&server->stopping)) == 0)
        rc = MHD_queue_response(req->conn, (unsigned)req->status, req->response);
    MHD_destroy_response(req->response); /* libmicrohttpd keeps its own reference */
    req->response = NULL;
    req->queued = rc == MHD_YES;
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct lv_http_server *server = cls;
    struct lv_req *req = *con_cls;
    if (req == NULL) {
        req = lv_req_new(conn, method, url, server->cfg.body_limit);
        if (req == NULL)
            return MHD_NO;
        atomic_fetch_add(&server->in_flight, 1);
        *con_cls = req;
        on_headers(server, req);
        return req->response != NULL ? queue_answer(server, req) : MHD_YES;
    }
    if (req->queued) {
        *upload_data_size = 0; /* answered early: drain whatever still arrives */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (lv_req_append_body(req, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    on_body_complete(server, req);
    return queue_answer(server, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct lv_http_server *server = cls;
    struct lv_req *req = *con_cls;
    if (req == NULL)
        return;
    *con_cls = NULL;
    double duration_ms = elapsed_ms(&req->started);
    int status = req->queued ? req->status : 0;
    if (server->cfg.after != NULL)
        server->cfg.after(req, status, duration_ms, server->app);
    if (server->cfg.log != NULL) {
        const char *pattern = lv_req_pattern(req);
        fprintf(server->cfg.log, "http %s %s %d %.1fms %s\n", req->method,
                pattern != NULL ? pattern : "-", status, duration_ms, req->id);
    }
    lv_req_free(req);
    atomic_fetch_sub(&server->in_flight, 1); /* last: lv_http_stop may now proceed */
}

/* We decode the path per segment and the query per parameter ourselves: libmicrohttpd's
 * own decoding would turn "%2F" inside a placeholder into a path separator. */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *text)
{
    (void)cls;
    (void)conn;
    return strlen(text);
}

static void log_mhd_error(void *cls, const char *fmt, va_list args)
{
    FILE *log = cls;
    fputs("http: libmicrohttpd: ", log);
    vfprintf(log, fmt, args);
}

/* Resolves "HOST:PORT" into `addr`. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addr_len,
                        struct lv_error *err)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0')
        return lv_fail(err, "listen address \"%s\" must be HOST:PORT", listen);
    char host[256];
    size_t host_len = (size_t)(colon - listen);
    if (listen[0] == '[' && colon[-1] == ']') {
        listen++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof host)
        return lv_fail(err, "listen address \"%s\" must be HOST:PORT", listen);
    memcpy(host, listen, host_len);
    host[host_len] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return lv_fail(err, "listen port \"%s\" must be a number from 0 to 65535", colon + 1);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &found);
    if (rc != 0)
        return lv_fail(err, "cannot resolve listen host \"%s\": %s", host, gai_strerror(rc));
    memcpy(addr, found->ai_addr, found->ai_addrlen);
    *addr_len = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

static uint16_t bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info != NULL ? info->port : 0;
}

static void apply_defaults(struct lv_http_config *cfg)
{
    if (cfg->listen == NULL)
        cfg->listen = LV_HTTP_DEFAULT_LISTEN;
    if (cfg->threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->threads = cpus > 0 ? (unsigned)cpus : 2;
    }
    if (cfg->body_limit == 0)
        cfg->body_limit = LV_HTTP_DEFAULT_BODY_LIMIT;
    if (cfg->idle_timeout_s == 0)
        cfg->idle_timeout_s = 60;
    if (cfg->stop_timeout_ms == 0)
        cfg->stop_timeout_ms = 30000;
}

struct lv_http_server *lv_http_start(const struct lv_http_config *cfg,
                                     const struct lv_router *router, void *app,
                                     struct lv_error *err)
{
    struct lv_http_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        lv_fail(err, "out of memory");
        return NULL;
    }
    server->cfg = *cfg;
    apply_defaults(&server->cfg);
    server->router = router;
    server->app = app;
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    if (parse_listen(server->cfg.listen, &addr, &addr_len, err) != 0) {
        free(server);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (server->cfg.log != NULL)
        flags |= MHD_USE_ERROR_LOG;
    /* The logger goes first: libmicrohttpd reports problems with the options after it. */
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server, MHD_OPTION_EXTERNAL_LOGGER, log_mhd_error,
        server->cfg.log, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, server->cfg.threads, MHD_OPTION_CONNECTION_TIMEOUT,
        server->cfg.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, server,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL, MHD_OPTION_END);
    if (server->daemon == NULL) {
        lv_fail(err, "cannot listen on %s (address in use or not available)", server->cfg.listen);
        free(server);
        return NULL;
    }
    server->port = bound_port(server->daemon);
    return server;
}

uint16_t lv_http_port(const struct lv_http_server *server)
{
    return server->port;
}

void lv_http_stop(struct lv_http_server *server)
{
    if (server == NULL)
        return;
    atomic_store(&server->stopping, true);
    MHD_socket listen_fd = MHD_quiesce_daemon(server->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    for (unsigned waited_ms = 0;
         atomic_load(&server->in_flight) > 0 && waited_ms < server->cfg.stop_timeout_ms;
         waited_ms += 10)
        nanosleep(&pause, NULL);
    /* Whatever is still in flight now is cut off; its after hook still runs. */
    MHD_stop_daemon(server->daemon);
    free(server);
}
