/* routes_system.c — routes about the service itself: health. */
#include <string.h>

#include "api/app.h"

/* 200 when the database answers, 503 otherwise; public so load balancers can probe it. */
static void get_healthz(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct lv_db_error err;
    int db_ok = lv_db_ping(app->pool, &err) == 0;
    lv_resp_json(req, db_ok ? 200 : 503,
                 json_pack("{s:s, s:s, s:s}", "status", db_ok ? "ok" : "degraded", "db",
                           db_ok ? "ok" : "unreachable", "version", LEVER_VERSION));
}

int lv_routes_system(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/api/v1/healthz", get_healthz, LV_ROUTE_PUBLIC, err);
}
