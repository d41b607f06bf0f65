/* routes_bars.c — market data coverage: which symbols Lever holds bars for, over which days,
 * and where they came from (synthetic sample data is always labelled as such). */
#include <stdlib.h>

#include "api/app.h"
#include "db/bars.h"

static void list_bars(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    struct lv_bars_coverage *coverage = NULL;
    int n = 0;
    struct lv_db_error err;
    int rc = lv_bars_coverage_list(conn, &coverage, &n, &err);
    lv_db_release(app->pool, conn);
    if (rc != 0) {
        lv_api_db_failure(req, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        char first[LV_DAY_TEXT], last[LV_DAY_TEXT];
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "symbol", coverage[i].symbol,
                             "first_day", lv_day_format(coverage[i].first_day, first), "last_day",
                             lv_day_format(coverage[i].last_day, last), "bars",
                             (json_int_t)coverage[i].rows, "sources", coverage[i].sources,
                             "synthetic", lv_bars_sources_synthetic(coverage[i].sources)));
    }
    free(coverage);
    lv_resp_json(req, 200, json_pack("{s:o}", "items", items));
}

int lv_routes_bars(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/api/v1/bars", list_bars, 0, err);
}
