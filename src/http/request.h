/* request.h — private to src/http: the layout of struct lv_req, shared by the server (which
 * fills it from libmicrohttpd), the accessors and the response builders. */
#ifndef LEVER_HTTP_REQUEST_H
#define LEVER_HTTP_REQUEST_H

#include <microhttpd.h>
#include <stdbool.h>
#include <time.h>

#include "http/http.h"
#include "http/router.h"

#define LV_REQUEST_ID_MAX 64
#define LV_REMOTE_IP_MAX  64 /* INET6_ADDRSTRLEN is 46 */

struct lv_query_param {
    char *name;  /* owned, decoded */
    char *value; /* owned, decoded; "" for "?flag" */
};

struct lv_resp_header {
    char *name;  /* owned */
    char *value; /* owned */
};

struct lv_req {
    struct MHD_Connection *conn; /* borrowed from libmicrohttpd for the request's life */
    struct timespec started;     /* CLOCK_MONOTONIC, when the headers were complete */
    char *method;                /* owned copy */
    char *path;                  /* owned copy, raw */
    struct lv_route_match match; /* owns the decoded placeholder values */
    char id[LV_REQUEST_ID_MAX + 1];
    char remote_ip[LV_REMOTE_IP_MAX];

    struct lv_query_param *query; /* owned array */
    int query_count;

    size_t body_limit;
    char *body; /* owned, NUL-terminated; NULL until a byte arrives */
    size_t body_len;
    size_t body_cap;
    bool body_too_large; /* a chunked body outgrew the limit; the rest is drained */
    json_t *json;        /* owned reference, NULL when no JSON body */

    struct lv_resp_header *headers; /* owned: extra response headers from lv_resp_header */
    int header_count;
    int header_cap;
    struct MHD_Response *response; /* owned until queued; NULL until answered */
    int status;                    /* status of `response` */
    bool queued;                   /* `response` was handed to libmicrohttpd */

    void *user;
    void (*free_user)(void *user);
};

/* Creates the request for a connection whose headers just arrived. Returns NULL when out
 * of memory. Fails no other way: problems with the path or query are answered later. */
struct lv_req *lv_req_new(struct MHD_Connection *conn, const char *method, const char *path,
                          size_t body_limit);
/* Fills req->query from the connection's raw query arguments. -1 on malformed encoding. */
int lv_req_parse_query(struct lv_req *req);
/* Appends body bytes, or only counts them once the limit is passed. -1 when out of memory. */
int lv_req_append_body(struct lv_req *req, const char *data, size_t len);
/* Frees the request and everything it owns, including the user slot. NULL is ignored. */
void lv_req_free(struct lv_req *req);

/* Adds the headers every response carries and the request's extra headers to `response`.
 * `closing` adds "Connection: close" (the server is stopping). */
int lv_req_decorate_response(const struct lv_req *req, struct MHD_Response *response, bool closing);

#endif
