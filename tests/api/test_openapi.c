/* test_openapi.c — the OpenAPI document cannot drift from the router: every route has a
 * documentation entry and every entry a route; the document served at /api/v1/openapi.json
 * is well formed (OpenAPI 3, declared path parameters, unique operation ids, public routes
 * marked as such) and describes exactly the routes of the running binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/openapi.h"
#include "api_call.h"
#include "http/router.h"
#include "lever_proc.h"

/* Collects "METHOD pattern" lines for the failure messages. */
struct listing {
    char text[8192];
    int count;
};

static void note(struct listing *list, const char *method, const char *pattern)
{
    size_t used = strlen(list->text);
    snprintf(list->text + used, sizeof list->text - used, "\n  %s %s", method, pattern);
    list->count++;
}

static void find_undocumented(const char *method, const char *pattern, unsigned flags, void *ctx)
{
    (void)flags;
    if (lv_openapi_find(method, pattern) == NULL)
        note(ctx, method, pattern);
}

struct route_search {
    const char *method;
    const char *pattern;
    int found;
};

static void match_route(const char *method, const char *pattern, unsigned flags, void *ctx)
{
    (void)flags;
    struct route_search *search = ctx;
    if (strcmp(search->method, method) == 0 && strcmp(search->pattern, pattern) == 0)
        search->found = 1;
}

struct stale_search {
    const struct lv_router *router;
    struct listing *stale;
};

static void find_stale(const struct lv_api_doc *doc, void *ctx)
{
    struct stale_search *search = ctx;
    struct route_search route = {doc->method, doc->pattern, 0};
    lv_router_each(search->router, match_route, &route);
    if (!route.found)
        note(search->stale, doc->method, doc->pattern);
}

static void every_route_is_documented(void **state)
{
    (void)state;
    struct lv_error err;
    struct lv_router *router = lv_api_router(&err);
    assert_non_null(router);
    struct listing undocumented = {.count = 0};
    lv_router_each(router, find_undocumented, &undocumented);
    if (undocumented.count > 0)
        fail_msg("%d route(s) without an entry in docs[] of src/api/openapi.c:%s",
                 undocumented.count, undocumented.text);
    lv_router_free(router);
}

static void every_entry_has_a_route(void **state)
{
    (void)state;
    struct lv_error err;
    struct lv_router *router = lv_api_router(&err);
    assert_non_null(router);
    struct listing stale = {.count = 0};
    struct stale_search search = {router, &stale};
    lv_openapi_each_doc(find_stale, &search);
    lv_router_free(router);
    if (stale.count > 0)
        fail_msg("%d entr(ies) in docs[] of src/api/openapi.c name no route:%s", stale.count,
                 stale.text);
}

/* Every {name} of a path is declared as a required path parameter. */
static void check_path_parameters(const char *path, const json_t *op)
{
    for (const char *open = strchr(path, '{'); open != NULL; open = strchr(open + 1, '{')) {
        size_t len = strcspn(open + 1, "}");
        int declared = 0;
        size_t i;
        const json_t *param;
        json_array_foreach(json_object_get(op, "parameters"), i, param)
        {
            const char *name = json_string_value(json_object_get(param, "name"));
            declared |= name != NULL && strlen(name) == len && strncmp(name, open + 1, len) == 0 &&
                        strcmp(json_string_value(json_object_get(param, "in")), "path") == 0 &&
                        json_is_true(json_object_get(param, "required"));
        }
        if (!declared)
            fail_msg("%s: path parameter %.*s is not declared", path, (int)len, open + 1);
    }
}

/* Every "$ref" points at a schema the document defines. */
static void check_refs(const json_t *node, const json_t *schemas)
{
    if (json_is_object(node)) {
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        const char *prefix = "#/components/schemas/";
        if (ref != NULL) {
            if (strncmp(ref, prefix, strlen(prefix)) != 0 ||
                json_object_get(schemas, ref + strlen(prefix)) == NULL)
                fail_msg("dangling $ref %s", ref);
        }
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)node, key, value)
        {
            check_refs(value, schemas);
        }
    } else if (json_is_array(node)) {
        size_t i;
        const json_t *item;
        json_array_foreach(node, i, item)
        {
            check_refs(item, schemas);
        }
    }
}

static void count_route(const char *method, const char *pattern, unsigned flags, void *ctx)
{
    (void)method, (void)pattern, (void)flags;
    (*(int *)ctx)++;
}

static void served_document_is_well_formed(void **state)
{
    (void)state;
    struct lever_proc server;
    assert_int_equal(lever_proc_start(&server, NULL), 0);
    json_t *doc = api_expect(&server, NULL, "GET", "/api/v1/openapi.json", NULL, 200);
    assert_int_equal(lever_proc_stop(&server), 0);

    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    assert_non_null(json_object_get(json_object_get(doc, "info"), "version"));
    const json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    assert_true(json_is_object(schemas));
    check_refs(doc, schemas);

    /* The served paths are exactly the router's (the binary and this test link the same
     * route table), each documented. */
    struct lv_error err;
    struct lv_router *router = lv_api_router(&err);
    assert_non_null(router);
    json_t *operation_ids = json_object();
    int operations = 0;
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            char upper[16];
            size_t n = 0;
            for (; method[n] != '\0' && n + 1 < sizeof upper; n++)
                upper[n] = (char)toupper((unsigned char)method[n]);
            upper[n] = '\0';
            struct route_search route = {upper, path, 0};
            lv_router_each(router, match_route, &route);
            if (!route.found)
                fail_msg("the document lists %s %s, which the router does not have", upper, path);
            if (json_is_true(json_object_get(op, "x-lever-undocumented")))
                fail_msg("%s %s is served undocumented", upper, path);
            const char *id = json_string_value(json_object_get(op, "operationId"));
            assert_non_null(id);
            if (json_object_get(operation_ids, id) != NULL)
                fail_msg("operationId %s is used twice", id);
            json_object_set_new(operation_ids, id, json_true());
            assert_true(json_object_size(json_object_get(op, "responses")) >= 2);
            check_path_parameters(path, op);
            /* Public routes say so; the others inherit the bearer requirement. */
            const json_t *security = json_object_get(op, "security");
            if (strcmp(path, "/api/v1/healthz") == 0 || strcmp(path, "/api/v1/openapi.json") == 0)
                assert_true(json_is_array(security) && json_array_size(security) == 0);
            if (strcmp(path, "/api/v1/strategies/{id}") == 0)
                assert_null(security);
            operations++;
        }
    }
    int routes = 0;
    lv_router_each(router, count_route, &routes);
    lv_router_free(router);
    assert_int_equal(operations, routes); /* and none is missing */
    assert_true(operations >= 15);
    /* The strategy routes are described with their schemas. */
    const json_t *create = json_object_get(
        json_object_get(json_object_get(doc, "paths"), "/api/v1/strategies"), "post");
    assert_non_null(json_object_get(create, "requestBody"));
    assert_non_null(json_object_get(json_object_get(create, "responses"), "201"));
    const json_t *list = json_object_get(
        json_object_get(json_object_get(doc, "paths"), "/api/v1/strategies"), "get");
    assert_int_equal(json_array_size(json_object_get(list, "parameters")), 7);
    json_decref(operation_ids);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_documented),
        cmocka_unit_test(every_entry_has_a_route),
        cmocka_unit_test(served_document_is_well_formed),
    };
    return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
