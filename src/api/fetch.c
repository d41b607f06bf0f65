/* fetch.c — lv_fetch on a fresh libcurl easy handle per request: no shared state between
 * threads, no redirects, no protocols other than HTTP(S). */
#include "api/fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    struct lv_fetch_response *out = userdata;
    size_t len = size * count;
    if (out->body_len + len > LV_FETCH_BODY_MAX)
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    char *grown = realloc(out->body, out->body_len + len + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + out->body_len, data, len);
    out->body = grown;
    out->body_len += len;
    out->body[out->body_len] = '\0';
    return len;
}

static struct curl_slist *header_list(const char *const *headers)
{
    struct curl_slist *list = NULL;
    for (; headers != NULL && *headers != NULL; headers++) {
        struct curl_slist *grown = curl_slist_append(list, *headers);
        if (grown == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = grown;
    }
    /* curl would otherwise send "Expect: 100-continue" for larger POSTs and wait for it. */
    struct curl_slist *grown = curl_slist_append(list, "Expect:");
    if (grown == NULL)
        curl_slist_free_all(list);
    return grown;
}

int lv_fetch(const struct lv_fetch_request *request, struct lv_fetch_response *out,
             struct lv_error *err)
{
    memset(out, 0, sizeof *out);
    out->body = calloc(1, 1);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = header_list(request->headers);
    if (out->body == NULL || curl == NULL || headers == NULL) {
        curl_easy_cleanup(curl);
        curl_slist_free_all(headers);
        return lv_fail(err, "out of memory preparing a request to %s", request->url);
    }
    const char *method = request->method != NULL ? request->method : "GET";
    long timeout_ms = request->timeout_ms > 0 ? request->timeout_ms : 10000;
    char curl_message[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* required with several threads */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lever/" LEVER_VERSION);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_message);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (request->body != NULL) {
        size_t len = request->body_len > 0 ? request->body_len : strlen(request->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(curl);
    int result = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    } else {
        result = lv_fail(err, "%s %s failed: %s", method, request->url,
                         curl_message[0] != '\0' ? curl_message : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    return result;
}

void lv_fetch_response_free(struct lv_fetch_response *response)
{
    free(response->body);
    response->body = NULL;
    response->body_len = 0;
}

int lv_url_encode(const char *text, char *out, size_t out_cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        int plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~';
        size_t need = plain ? 1 : 3;
        if (used + need >= out_cap)
            return -1;
        if (plain) {
            out[used++] = (char)*c;
        } else {
            out[used++] = '%';
            out[used++] = hex[*c >> 4];
            out[used++] = hex[*c & 15];
        }
    }
    if (out_cap == 0)
        return -1;
    out[used] = '\0';
    return (int)used;
}
