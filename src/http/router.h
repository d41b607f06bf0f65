/* router.h — the route table behind lv_router_add: matching a method and a raw path to a
 * route, with decoded "{param}" values. Used by the server; the application uses http.h. */
#ifndef LEVER_HTTP_ROUTER_H
#define LEVER_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

#define LV_ROUTE_MAX_SEGMENTS 16
#define LV_ROUTE_MAX_PARAMS   8
#define LV_ROUTE_ALLOW_MAX    128

struct lv_route;

enum lv_match_result {
    LV_MATCH_FOUND,
    LV_MATCH_NOT_FOUND,  /* no route has this path: 404 */
    LV_MATCH_BAD_METHOD, /* the path exists with other methods: 405 + allow */
    LV_MATCH_BAD_PATH,   /* malformed percent-encoding or an encoded NUL: 400 */
};

/* The outcome of one lookup. Owns the decoded parameter values; release with
 * lv_route_match_clear. Names point into the route and live as long as the router. */
struct lv_route_match {
    enum lv_match_result result;
    const struct lv_route *route;   /* set when result is LV_MATCH_FOUND */
    char allow[LV_ROUTE_ALLOW_MAX]; /* "GET, HEAD, POST" when result is LV_MATCH_BAD_METHOD */
    int param_count;
    const char *param_names[LV_ROUTE_MAX_PARAMS];
    char *param_values[LV_ROUTE_MAX_PARAMS];
};

/* Looks up `method` and `path` (the raw request path, without the query string). Fills
 * `match` (which need not be initialised) and returns match->result. */
enum lv_match_result lv_router_match(const struct lv_router *router, const char *method,
                                     const char *path, struct lv_route_match *match);
void lv_route_match_clear(struct lv_route_match *match);

/* The value of a matched placeholder, NULL when there is none of that name. */
const char *lv_route_match_param(const struct lv_route_match *match, const char *name);

const char *lv_route_pattern(const struct lv_route *route);
unsigned lv_route_flags(const struct lv_route *route);
lv_handler lv_route_handler(const struct lv_route *route);

/* Percent-decodes `len` bytes of `in` into a new NUL-terminated string (*out, caller
 * frees). With `plus_is_space` (query strings) '+' becomes ' '. Fails on a malformed
 * escape ("%4", "%zz") and on an encoded NUL ("%00"), which no caller could represent. */
int lv_url_decode(const char *in, size_t len, bool plus_is_space, char **out);

/* Calls fn once per route, in the order the routes were added (the OpenAPI document and the
 * isolation test enumerate the API with it). `flags` are the route's flags. */
void lv_router_each(const struct lv_router *router,
                    void (*fn)(const char *method, const char *pattern, unsigned flags, void *ctx),
                    void *ctx);

#endif
