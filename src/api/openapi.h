/* openapi.h — the OpenAPI 3 description of the API, served at GET /api/v1/openapi.json.
 * Its paths come from the route table itself; openapi.c adds one documentation entry per route.
 *
 * Adding a route? Add its entry to `docs[]` in openapi.c (method, pattern, tag, summary, query
 * parameters, request and response schemas). tests/api/test_openapi fails for a route without
 * an entry and for an entry without a route, so the document cannot drift from the router. */
#ifndef LEVER_API_OPENAPI_H
#define LEVER_API_OPENAPI_H

#include <jansson.h>

#include "http/http.h"

/* How one operation is described. */
struct lv_api_doc {
    const char *method;   /* "GET", "POST", … as given to lv_router_add */
    const char *pattern;  /* "/api/v1/strategies/{id}" */
    const char *tag;      /* groups operations: "strategies", "backtests", … */
    const char *summary;  /* one line */
    const char *query;    /* space-separated query parameter names, or NULL */
    const char *request;  /* name of the component schema of the JSON body, or NULL */
    int status;           /* the success status: 200, 201, 204, 302 … */
    const char *response; /* component schema of the success body, a media type such as
                           * "text/csv" for a non-JSON body, or NULL for none (204, 302) */
};

/* The documentation entry of a route, or NULL when it has none. */
const struct lv_api_doc *lv_openapi_find(const char *method, const char *pattern);

/* Calls fn for every documentation entry (tests check each has a route). */
void lv_openapi_each_doc(void (*fn)(const struct lv_api_doc *doc, void *ctx), void *ctx);

/* Builds the whole document for the routes of `router` (new reference, NULL when out of
 * memory). A route without an entry is still listed, flagged "x-lever-undocumented": true. */
json_t *lv_openapi_document(const struct lv_router *router);

#endif
