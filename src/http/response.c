/* response.c — building answers: JSON, the error envelope, text, files and streamed bodies.
 * Each lv_resp_* creates the libmicrohttpd response; the server queues it after the handler. */
#include "http/request.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 64 KiB pieces keep a streamed CSV moving without holding more than one piece per
 * connection in memory. */
#define STREAM_BLOCK_SIZE (64 * 1024)

/* Fifteen significant digits print 0.1 as 0.1; seventeen would print 0.10000000000000001. */
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* Stores `response` as the request's answer. Consumes `response` (may be NULL, meaning its
 * creation failed) in every case. */
static int set_response(struct lv_req *req, int status, struct MHD_Response *response,
                        const char *content_type)
{
    if (response == NULL)
        return -1;
    if (req->response != NULL || req->queued) {
        MHD_destroy_response(response);
        return -1;
    }
    if (content_type != NULL &&
        MHD_add_response_header(response, "Content-Type", content_type) != MHD_YES) {
        MHD_destroy_response(response);
        return -1;
    }
    req->response = response;
    req->status = status;
    return 0;
}

static bool is_token(const char *name)
{
    if (name[0] == '\0')
        return false;
    size_t len = strlen(name);
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        "!#$%&'*+-.^_`|~") == len;
}

int lv_resp_header(struct lv_req *req, const char *name, const char *value)
{
    if (!is_token(name) || strpbrk(value, "\r\n") != NULL)
        return -1;
    if (req->header_count == req->header_cap) {
        int cap = req->header_cap ? req->header_cap * 2 : 4;
        struct lv_resp_header *grown = realloc(req->headers, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        req->headers = grown;
        req->header_cap = cap;
    }
    char *name_copy = strdup(name);
    char *value_copy = strdup(value);
    if (name_copy == NULL || value_copy == NULL) {
        free(name_copy);
        free(value_copy);
        return -1;
    }
    req->headers[req->header_count++] = (struct lv_resp_header){name_copy, value_copy};
    return 0;
}

int lv_resp_bytes(struct lv_req *req, int status, const char *content_type, const void *data,
                  size_t len)
{
    void *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, len);
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback(len, copy, free);
    if (response == NULL)
        free(copy);
    return set_response(req, status, response, content_type);
}

int lv_resp_text(struct lv_req *req, int status, const char *content_type, const char *text)
{
    return lv_resp_bytes(req, status, content_type, text, strlen(text));
}

int lv_resp_empty(struct lv_req *req, int status)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return set_response(req, status, response, NULL);
}

int lv_resp_json(struct lv_req *req, int status, json_t *body)
{
    if (body == NULL)
        return -1;
    char *text = json_dumps(body, JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL)
        return -1;
    /* json_dumps allocates with malloc (Lever never installs other jansson allocators). */
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (response == NULL)
        free(text);
    return set_response(req, status, response, "application/json");
}

int lv_resp_error(struct lv_req *req, int status, const char *code, const char *message,
                  json_t *details)
{
    if (details == NULL)
        details = json_array();
    json_t *body = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message", message,
                             "details", details);
    return lv_resp_json(req, status, body);
}

json_t *lv_problems_to_details(const struct lv_problems *problems)
{
    json_t *details = json_array();
    for (int i = 0; details != NULL && i < problems->count; i++) {
        json_t *item = json_pack("{s:s, s:s}", "path", problems->items[i].path, "message",
                                 problems->items[i].message);
        if (json_array_append_new(details, item) != 0) {
            json_decref(details);
            return NULL;
        }
    }
    return details;
}

int lv_resp_file(struct lv_req *req, int status, const char *content_type, int fd, uint64_t size)
{
    struct MHD_Response *response = MHD_create_response_from_fd64(size, fd);
    if (response == NULL)
        close(fd);
    return set_response(req, status, response, content_type);
}

/* What a streamed response owns, handed to libmicrohttpd as the callback's closure. */
struct stream {
    lv_stream_read read;
    void *ctx;
    void (*free_ctx)(void *ctx);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream *stream = cls;
    ssize_t got = stream->read(stream->ctx, buf, max);
    if (got > 0)
        return got;
    return got == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    struct stream *stream = cls;
    if (stream->free_ctx != NULL)
        stream->free_ctx(stream->ctx);
    free(stream);
}

int lv_resp_stream(struct lv_req *req, int status, const char *content_type, lv_stream_read read,
                   void *ctx, void (*free_ctx)(void *ctx))
{
    struct stream *stream = malloc(sizeof *stream);
    if (stream == NULL) {
        if (free_ctx != NULL)
            free_ctx(ctx);
        return -1;
    }
    *stream = (struct stream){read, ctx, free_ctx};
    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, stream, stream_free);
    if (response == NULL)
        stream_free(stream);
    return set_response(req, status, response, content_type);
}
