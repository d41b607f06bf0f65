/* http_client.c — the libcurl client of http_client.h: one easy handle per request, the
 * body and headers collected into the response as they arrive. */
#include "http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where an outgoing body is read from when it is sent chunked. */
struct upload {
    const char *data;
    size_t len;
    size_t sent;
};

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    struct http_client_response *out = userdata;
    size_t len = size * count;
    char *grown = realloc(out->body, out->body_len + len + 1);
    if (grown == NULL)
        return 0; /* makes curl fail the transfer */
    memcpy(grown + out->body_len, data, len);
    out->body = grown;
    out->body_len += len;
    out->body[out->body_len] = '\0';
    return len;
}

static char *trimmed_copy(const char *start, const char *end)
{
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    return strndup(start, (size_t)(end - start));
}

static size_t on_header(char *line, size_t size, size_t count, void *userdata)
{
    struct http_client_response *out = userdata;
    size_t len = size * count;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after "100 Continue"): forget the previous block. */
        for (int i = 0; i < out->header_count; i++) {
            free(out->headers[i].name);
            free(out->headers[i].value);
        }
        out->header_count = 0;
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || out->header_count == HTTP_CLIENT_MAX_HEADERS)
        return len;
    struct http_client_header *header = &out->headers[out->header_count];
    header->name = trimmed_copy(line, colon);
    header->value = trimmed_copy(colon + 1, line + len);
    if (header->name == NULL || header->value == NULL) {
        free(header->name);
        free(header->value);
        return 0;
    }
    out->header_count++;
    return len;
}

static size_t on_upload(char *buf, size_t size, size_t count, void *userdata)
{
    struct upload *upload = userdata;
    size_t room = size * count;
    size_t left = upload->len - upload->sent;
    size_t n = left < room ? left : room;
    memcpy(buf, upload->data + upload->sent, n);
    upload->sent += n;
    return n;
}

/* Builds the header list; NULL with *failed set on allocation failure. */
static struct curl_slist *header_list(const struct http_client_request *request, bool *failed)
{
    struct curl_slist *list = NULL;
    *failed = false;
    for (const char *const *h = request->headers; h != NULL && *h != NULL; h++) {
        struct curl_slist *grown = curl_slist_append(list, *h);
        if (grown == NULL) {
            *failed = true;
            break;
        }
        list = grown;
    }
    if (!*failed && request->chunked) {
        struct curl_slist *grown = curl_slist_append(list, "Transfer-Encoding: chunked");
        *failed = grown == NULL;
        list = grown != NULL ? grown : list;
    }
    return list;
}

int http_client_send(const struct http_client_request *request, struct http_client_response *out,
                     char *error, size_t error_cap)
{
    memset(out, 0, sizeof *out);
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(error, error != NULL ? error_cap : 0, "curl_easy_init failed");
        return -1;
    }
    const char *method = request->method != NULL ? request->method : "GET";
    bool headers_failed = false;
    struct curl_slist *headers = header_list(request, &headers_failed);
    struct upload upload = {.data = request->body};
    char curl_error[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     request->timeout_ms > 0 ? request->timeout_ms : 30000L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (request->body != NULL) {
        upload.len = request->body_len > 0 ? request->body_len : strlen(request->body);
        if (request->chunked) {
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_upload);
            curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        } else {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)upload.len);
        }
    }

    CURLcode rc = headers_failed ? CURLE_OUT_OF_MEMORY : curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    else if (error != NULL)
        snprintf(error, error_cap, "%s %s: %s", method, request->url,
                 curl_error[0] != '\0' ? curl_error : curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (out->body == NULL)
        out->body = calloc(1, 1);
    return rc == CURLE_OK && out->body != NULL ? 0 : -1;
}

int http_client_json(const char *method, const char *url, const char *bearer, const char *json_body,
                     struct http_client_response *out)
{
    char authorization[512];
    const char *headers[3] = {NULL, NULL, NULL};
    int count = 0;
    if (json_body != NULL)
        headers[count++] = "Content-Type: application/json";
    if (bearer != NULL) {
        snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", bearer);
        headers[count++] = authorization;
    }
    struct http_client_request request = {
        .method = method, .url = url, .headers = headers, .body = json_body};
    char error[512];
    int rc = http_client_send(&request, out, error, sizeof error);
    if (rc != 0)
        fprintf(stderr, "http_client: %s\n", error);
    return rc;
}

const char *http_client_header(const struct http_client_response *response, const char *name)
{
    for (int i = 0; i < response->header_count; i++)
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    return NULL;
}

void http_client_response_free(struct http_client_response *response)
{
    for (int i = 0; i < response->header_count; i++) {
        free(response->headers[i].name);
        free(response->headers[i].value);
    }
    free(response->body);
    memset(response, 0, sizeof *response);
}
