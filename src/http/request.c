/* request.c — the life of one request: creation from a connection (id, peer address, query),
 * body accumulation under the size limit, the accessors of http.h, and freeing. */
#include "http/request.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* A client-chosen request id is echoed only when it is short and harmless in logs. */
static bool valid_request_id(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > LV_REQUEST_ID_MAX)
        return false;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static void random_request_id(char *out)
{
    unsigned char bytes[16];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes) {
        /* Ids only correlate log lines, so a weak fallback beats failing the request. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        memcpy(bytes, &now, sizeof bytes < sizeof now ? sizeof bytes : sizeof now);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * sizeof bytes] = '\0';
}

static void peer_address(struct MHD_Connection *conn, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL)
        return;
    const struct sockaddr *addr = info->client_addr;
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, out, (socklen_t)size);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, out, (socklen_t)size);
}

struct lv_req *lv_req_new(struct MHD_Connection *conn, const char *method, const char *path,
                          size_t body_limit)
{
    struct lv_req *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    req->conn = conn;
    req->body_limit = body_limit;
    req->method = strdup(method);
    req->path = strdup(path);
    if (req->method == NULL || req->path == NULL) {
        lv_req_free(req);
        return NULL;
    }
    const char *client_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (client_id != NULL && valid_request_id(client_id))
        snprintf(req->id, sizeof req->id, "%s", client_id);
    else
        random_request_id(req->id);
    peer_address(conn, req->remote_ip, sizeof req->remote_ip);
    return req;
}

struct query_walk {
    struct lv_req *req;
    int failed;
};

static enum MHD_Result add_query_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    struct query_walk *walk = cls;
    struct lv_req *req = walk->req;
    if (req->query_count % 8 == 0) {
        struct lv_query_param *grown =
            realloc(req->query, (size_t)(req->query_count + 8) * sizeof *grown);
        if (grown == NULL) {
            walk->failed = 1;
            return MHD_NO;
        }
        req->query = grown;
    }
    struct lv_query_param *param = &req->query[req->query_count];
    const char *raw_value = value != NULL ? value : "";
    if (lv_url_decode(key, strlen(key), true, &param->name) != 0) {
        walk->failed = 1;
        return MHD_NO;
    }
    if (lv_url_decode(raw_value, strlen(raw_value), true, &param->value) != 0) {
        free(param->name);
        walk->failed = 1;
        return MHD_NO;
    }
    req->query_count++;
    return MHD_YES;
}

int lv_req_parse_query(struct lv_req *req)
{
    struct query_walk walk = {.req = req};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_query_param, &walk);
    return walk.failed ? -1 : 0;
}

int lv_req_append_body(struct lv_req *req, const char *data, size_t len)
{
    if (req->body_too_large || len > req->body_limit - req->body_len) {
        req->body_too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return 0;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(req->body, cap);
        if (grown == NULL)
            return -1;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

void lv_req_free(struct lv_req *req)
{
    if (req == NULL)
        return;
    if (req->free_user != NULL)
        req->free_user(req->user);
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    for (int i = 0; i < req->header_count; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    json_decref(req->json);
    free(req->body);
    for (int i = 0; i < req->query_count; i++) {
        free(req->query[i].name);
        free(req->query[i].value);
    }
    free(req->query);
    lv_route_match_clear(&req->match);
    free(req->method);
    free(req->path);
    free(req);
}

static bool has_header(const struct lv_req *req, const char *name)
{
    for (int i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

int lv_req_decorate_response(const struct lv_req *req, struct MHD_Response *response, bool closing)
{
    /* The API answers JSON only, so the strictest policy costs nothing; a handler serving
     * HTML (the web UI) sets its own Content-Security-Policy and Cache-Control. */
    static const struct {
        const char *name;
        const char *value;
    } standard[] = {
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
        {"Cache-Control", "no-store"},
    };
    int failed = 0;
    failed |= MHD_add_response_header(response, "X-Request-Id", req->id) != MHD_YES;
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
        if (!has_header(req, standard[i].name))
            failed |=
                MHD_add_response_header(response, standard[i].name, standard[i].value) != MHD_YES;
    for (int i = 0; i < req->header_count; i++)
        failed |= MHD_add_response_header(response, req->headers[i].name, req->headers[i].value) !=
                  MHD_YES;
    if (closing)
        failed |= MHD_add_response_header(response, "Connection", "close") != MHD_YES;
    return failed ? -1 : 0;
}

/* ---- accessors ---- */

const char *lv_req_method(const struct lv_req *req)
{
    return req->method;
}

const char *lv_req_path(const struct lv_req *req)
{
    return req->path;
}

const char *lv_req_pattern(const struct lv_req *req)
{
    return req->match.route != NULL ? lv_route_pattern(req->match.route) : NULL;
}

unsigned lv_req_route_flags(const struct lv_req *req)
{
    return req->match.route != NULL ? lv_route_flags(req->match.route) : 0;
}

const char *lv_req_param(const struct lv_req *req, const char *name)
{
    return lv_route_match_param(&req->match, name);
}

const char *lv_req_query(const struct lv_req *req, const char *name)
{
    for (int i = 0; i < req->query_count; i++)
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    return NULL;
}

const char *lv_req_header(const struct lv_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *lv_req_remote_ip(const struct lv_req *req)
{
    return req->remote_ip;
}

const char *lv_req_id(const struct lv_req *req)
{
    return req->id;
}

json_t *lv_req_json(const struct lv_req *req)
{
    return req->json;
}

json_t *lv_req_json_required(struct lv_req *req)
{
    if (req->json == NULL)
        lv_resp_error(req, 400, "invalid_json", "a JSON body is required", NULL);
    return req->json;
}

const char *lv_req_body(const struct lv_req *req, size_t *len)
{
    if (len != NULL)
        *len = req->body_len;
    return req->body != NULL ? req->body : "";
}

int lv_req_query_long(struct lv_req *req, const char *name, long fallback, long min, long max,
                      long *out)
{
    const char *text = lv_req_query(req, name);
    if (text == NULL) {
        *out = fallback;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    /* strtol alone would also take " 5" and "+5"; a query value is exactly the digits. */
    bool is_integer =
        (isdigit((unsigned char)text[0]) || text[0] == '-') && *end == '\0' && errno == 0;
    if (is_integer && value >= min && value <= max) {
        *out = value;
        return 0;
    }
    char path[LV_PATH_MAX];
    char message[LV_PROBLEM_MSG];
    snprintf(path, sizeof path, "?%s", name);
    snprintf(message, sizeof message, "must be an integer from %ld to %ld", min, max);
    json_t *details = json_pack("[{s:s, s:s}]", "path", path, "message", message);
    char summary[LV_PROBLEM_MSG + 64];
    snprintf(summary, sizeof summary, "query parameter %s %s", name, message);
    lv_resp_error(req, 400, "bad_request", summary, details);
    return -1;
}

void lv_req_set_user(struct lv_req *req, void *user, void (*free_user)(void *user))
{
    if (req->free_user != NULL && req->user != user)
        req->free_user(req->user);
    req->user = user;
    req->free_user = free_user;
}

void *lv_req_user(const struct lv_req *req)
{
    return req->user;
}
