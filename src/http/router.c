/* router.c — a flat route table matched segment by segment. Lever has a few dozen routes, so
 * a linear scan is both fast enough and easy to follow. */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

struct lv_route {
    char *method;  /* owned */
    char *pattern; /* owned, as given */
    int segment_count;
    char *segments[LV_ROUTE_MAX_SEGMENTS]; /* owned; a placeholder is kept as its name */
    bool is_param[LV_ROUTE_MAX_SEGMENTS];
    lv_handler handler;
    unsigned flags;
};

struct lv_router {
    struct lv_route *routes; /* owned array */
    int count;
    int cap;
};

/* A request path cut into raw (still encoded) segments that point into a private copy. */
struct path_segments {
    char *buf; /* owned copy of the path */
    int count;
    const char *items[LV_ROUTE_MAX_SEGMENTS];
};

struct lv_router *lv_router_new(void)
{
    return calloc(1, sizeof(struct lv_router));
}

static void route_free(struct lv_route *route)
{
    free(route->method);
    free(route->pattern);
    for (int i = 0; i < route->segment_count; i++)
        free(route->segments[i]);
}

void lv_router_free(struct lv_router *router)
{
    if (router == NULL)
        return;
    for (int i = 0; i < router->count; i++)
        route_free(&router->routes[i]);
    free(router->routes);
    free(router);
}

/* Splits "/a/b/c" into "a","b","c" in place. A single trailing slash is dropped ("/a/" is
 * "/a"); "/" alone has no segments. Returns -1 for a path not starting with '/' or with
 * too many segments. */
static int split_path(char *path, const char **items, int *count)
{
    if (path[0] != '/')
        return -1;
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        path[len - 1] = '\0';
    *count = 0;
    if (path[1] == '\0')
        return 0;
    char *cursor = path + 1;
    for (;;) {
        if (*count == LV_ROUTE_MAX_SEGMENTS)
            return -1;
        items[(*count)++] = cursor;
        char *slash = strchr(cursor, '/');
        if (slash == NULL)
            return 0;
        *slash = '\0';
        cursor = slash + 1;
    }
}

static bool valid_method(const char *method)
{
    if (method[0] == '\0')
        return false;
    for (const char *c = method; *c != '\0'; c++)
        if (*c < 'A' || *c > 'Z')
            return false;
    return true;
}

/* Parses `pattern` into `route` (segments owned by route). */
static int parse_pattern(struct lv_route *route, const char *pattern, struct lv_error *err)
{
    char *copy = strdup(pattern);
    if (copy == NULL)
        return lv_fail(err, "out of memory");
    const char *items[LV_ROUTE_MAX_SEGMENTS];
    int count = 0;
    int params = 0;
    int rc = 0;
    if (split_path(copy, items, &count) != 0) {
        rc = lv_fail(err, "route pattern %s must start with '/' and have at most %d segments",
                     pattern, LV_ROUTE_MAX_SEGMENTS);
        goto done;
    }
    for (int i = 0; i < count && rc == 0; i++) {
        const char *seg = items[i];
        size_t len = strlen(seg);
        bool param = len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
        if (len == 0 || (param && len == 2) || (!param && strpbrk(seg, "{}%") != NULL)) {
            rc = lv_fail(err, "route pattern %s has a malformed segment \"%s\"", pattern, seg);
            break;
        }
        if (param && ++params > LV_ROUTE_MAX_PARAMS) {
            rc = lv_fail(err, "route pattern %s has more than %d placeholders", pattern,
                         LV_ROUTE_MAX_PARAMS);
            break;
        }
        route->segments[i] = param ? strndup(seg + 1, len - 2) : strdup(seg);
        route->is_param[i] = param;
        route->segment_count = i + 1;
        if (route->segments[i] == NULL)
            rc = lv_fail(err, "out of memory");
    }
done:
    free(copy);
    return rc;
}

/* Two patterns are the same route when they differ only in placeholder names. */
static bool same_shape(const struct lv_route *a, const struct lv_route *b)
{
    if (a->segment_count != b->segment_count)
        return false;
    for (int i = 0; i < a->segment_count; i++) {
        if (a->is_param[i] != b->is_param[i])
            return false;
        if (!a->is_param[i] && strcmp(a->segments[i], b->segments[i]) != 0)
            return false;
    }
    return true;
}

int lv_router_add(struct lv_router *router, const char *method, const char *pattern,
                  lv_handler handler, unsigned flags, struct lv_error *err)
{
    if (!valid_method(method))
        return lv_fail(err, "route method \"%s\" must be an upper-case HTTP method", method);
    if (handler == NULL)
        return lv_fail(err, "route %s %s has no handler", method, pattern);
    struct lv_route route = {.handler = handler, .flags = flags};
    if (parse_pattern(&route, pattern, err) != 0) {
        route_free(&route);
        return -1;
    }
    for (int i = 0; i < router->count; i++) {
        const struct lv_route *other = &router->routes[i];
        if (strcmp(other->method, method) == 0 && same_shape(other, &route)) {
            route_free(&route);
            return lv_fail(err, "route %s %s duplicates %s", method, pattern, other->pattern);
        }
    }
    if (router->count == router->cap) {
        int cap = router->cap ? router->cap * 2 : 16;
        struct lv_route *grown = realloc(router->routes, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            route_free(&route);
            return lv_fail(err, "out of memory");
        }
        router->routes = grown;
        router->cap = cap;
    }
    route.method = strdup(method);
    route.pattern = strdup(pattern);
    if (route.method == NULL || route.pattern == NULL) {
        route_free(&route);
        return lv_fail(err, "out of memory");
    }
    router->routes[router->count++] = route;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int lv_url_decode(const char *in, size_t len, bool plus_is_space, char **out)
{
    char *decoded = malloc(len + 1);
    if (decoded == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(decoded);
                return -1;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '\0') {
            free(decoded);
            return -1;
        }
        decoded[n++] = c;
    }
    decoded[n] = '\0';
    *out = decoded;
    return 0;
}

/* How specific a route is, for choosing between routes matching the same path: a literal
 * segment beats a placeholder, and earlier segments count more than later ones. */
static unsigned specificity(const struct lv_route *route)
{
    unsigned score = 0;
    for (int i = 0; i < route->segment_count; i++)
        if (!route->is_param[i])
            score |= 1u << (LV_ROUTE_MAX_SEGMENTS - 1 - i);
    return score;
}

static bool shape_matches(const struct lv_route *route, const struct path_segments *path,
                          char *const *decoded)
{
    if (route->segment_count != path->count)
        return false;
    for (int i = 0; i < path->count; i++) {
        if (route->is_param[i] ? decoded[i][0] == '\0'
                               : strcmp(route->segments[i], decoded[i]) != 0)
            return false;
    }
    return true;
}

/* Route methods answer for themselves; a GET route also answers HEAD. */
static bool method_matches(const struct lv_route *route, const char *method)
{
    return strcmp(route->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route->method, "GET") == 0);
}

static void allow_append(char *allow, const char *method)
{
    /* Methods are few and short; a duplicate check keeps "GET, HEAD" from repeating. */
    size_t mlen = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen)
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
    size_t used = strlen(allow);
    if (used + mlen + 3 > LV_ROUTE_ALLOW_MAX)
        return;
    if (used > 0)
        strcat(allow, ", ");
    strcat(allow, method);
}

static void fill_params(struct lv_route_match *match, const struct lv_route *route, char **decoded,
                        int count)
{
    for (int i = 0; i < count; i++) {
        if (!route->is_param[i])
            continue;
        match->param_names[match->param_count] = route->segments[i];
        match->param_values[match->param_count] = decoded[i];
        decoded[i] = NULL; /* ownership moves to the match */
        match->param_count++;
    }
}

enum lv_match_result lv_router_match(const struct lv_router *router, const char *method,
                                     const char *path, struct lv_route_match *match)
{
    memset(match, 0, sizeof *match);
    match->result = LV_MATCH_NOT_FOUND;
    struct path_segments segs = {.buf = strdup(path)};
    char *decoded[LV_ROUTE_MAX_SEGMENTS] = {0};
    if (segs.buf == NULL || split_path(segs.buf, segs.items, &segs.count) != 0)
        goto done;
    for (int i = 0; i < segs.count; i++) {
        if (lv_url_decode(segs.items[i], strlen(segs.items[i]), false, &decoded[i]) != 0) {
            match->result = LV_MATCH_BAD_PATH;
            goto done;
        }
    }
    const struct lv_route *best = NULL;
    for (int r = 0; r < router->count; r++) {
        const struct lv_route *route = &router->routes[r];
        if (!shape_matches(route, &segs, decoded))
            continue;
        if (!method_matches(route, method)) {
            allow_append(match->allow, route->method);
            if (strcmp(route->method, "GET") == 0)
                allow_append(match->allow, "HEAD");
            match->result = LV_MATCH_BAD_METHOD;
            continue;
        }
        if (best == NULL || specificity(route) > specificity(best))
            best = route;
    }
    if (best != NULL) {
        match->result = LV_MATCH_FOUND;
        match->route = best;
        match->allow[0] = '\0';
        fill_params(match, best, decoded, segs.count);
    }
done:
    for (int i = 0; i < segs.count; i++)
        free(decoded[i]);
    free(segs.buf);
    return match->result;
}

void lv_route_match_clear(struct lv_route_match *match)
{
    for (int i = 0; i < match->param_count; i++)
        free(match->param_values[i]);
    match->param_count = 0;
    match->route = NULL;
}

const char *lv_route_match_param(const struct lv_route_match *match, const char *name)
{
    for (int i = 0; i < match->param_count; i++)
        if (strcmp(match->param_names[i], name) == 0)
            return match->param_values[i];
    return NULL;
}

const char *lv_route_pattern(const struct lv_route *route)
{
    return route->pattern;
}

unsigned lv_route_flags(const struct lv_route *route)
{
    return route->flags;
}

lv_handler lv_route_handler(const struct lv_route *route)
{
    return route->handler;
}

void lv_router_each(const struct lv_router *router,
                    void (*fn)(const char *method, const char *pattern, unsigned flags, void *ctx),
                    void *ctx)
{
    for (int i = 0; i < router->count; i++)
        fn(router->routes[i].method, router->routes[i].pattern, router->routes[i].flags, ctx);
}
