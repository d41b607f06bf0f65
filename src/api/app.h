/* app.h — the Lever HTTP application: the route table under /api/v1, authentication in the
 * router's before hook, and the shared state (configuration, database pool) handlers use. */
#ifndef LEVER_API_APP_H
#define LEVER_API_APP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "app/config.h"
#include "db/db.h"
#include "db/market_load.h"
#include "http/http.h"

/* Shared by every request thread; everything here is thread-safe or read-only. */
struct lv_app {
    const struct lv_config *cfg;     /* borrowed */
    struct lv_db_pool *pool;         /* borrowed */
    struct lv_market_holder *market; /* borrowed: bars shared by every backtest */
    /* Accounts and security (docs/security.md); each NULL = off. All borrowed. */
    struct lv_ratelimit *user_limits; /* requests per user */
    struct lv_ratelimit *ip_limits;   /* requests per client IP */
    struct lv_usage_log *usage_log;   /* api_usage_logs writer */
};

/* The caller of an authenticated route (lv_req_user). */
struct lv_caller {
    int user_id;
    bool via_session; /* authenticated by the login cookie rather than a Bearer token */
};

/* Builds the route table of the whole API (caller frees with lv_router_free). */
struct lv_router *lv_api_router(struct lv_error *err);

/* The before hook: applies the per-IP rate limit, lets public routes through, answers 401
 * for the others unless a valid `Authorization: Bearer` token or session cookie names the
 * caller, refuses cookie-authenticated state changes without a JSON Content-Type (415, the
 * CSRF defence), then applies the per-user rate limit (429 with Retry-After). */
int lv_api_authenticate(struct lv_req *req, void *app);

/* The after hook: queues the request for api_usage_logs (never touches the database). */
void lv_api_after(const struct lv_req *req, int status, double duration_ms, void *app);

/* True when a state-changing request (POST, PUT, PATCH, DELETE) lacks a JSON Content-Type,
 * which cookie-authenticated requests must send (a cross-site form cannot). */
bool lv_api_csrf_suspect(const struct lv_req *req);

/* The authenticated caller's user id (only valid on non-public routes). */
int lv_api_user_id(const struct lv_req *req);

/* Takes a pooled connection for a handler, or answers 503 and returns NULL. */
PGconn *lv_api_db(struct lv_req *req, struct lv_app *app);

/* Runs a query whose single row and column is a JSON document (built in SQL with
 * json_build_object / json_agg) and returns it parsed. Returns NULL with *found = 0 when no
 * row came back, NULL with *found = -1 (after logging the cause) on an error. */
json_t *lv_api_query_json(PGconn *conn, const char *sql, int n_params, const char *const *params,
                          int *found, struct lv_db_error *err);

/* The caller's user id as SQL parameter text. */
void lv_api_caller_text(const struct lv_req *req, char out[16]);

/* The {id} path parameter when it is a row id (plain digits, 1 .. 2^31-1); otherwise answers
 * 404 with `not_found_message` (ids are never guessable text) and returns NULL. */
const char *lv_api_path_id(struct lv_req *req, const char *not_found_message);

/* One page of a list: ?limit= (1..max_limit) and ?offset=, also as SQL parameter text. */
struct lv_page {
    long limit, offset;
    char limit_text[24], offset_text[24];
};

/* Reads ?limit= (default_limit when absent) and ?offset= (default 0). Answers 400 naming the
 * parameter and returns -1 when one is not a whole number in range. */
int lv_api_read_page(struct lv_req *req, long default_limit, long max_limit, struct lv_page *page);

/* Runs a page query whose single row and column is a JSON array, releases conn, and answers
 * {"items": [...], "limit": L, "offset": O} (or the database failure). */
void lv_api_send_page(struct lv_req *req, struct lv_app *app, PGconn *conn, const char *sql,
                      int n_params, const char *const *params, const struct lv_page *page);

/* The caller's strategy `id`, or another user's public one, as a strategy document
 * {name, elements, benchmark_symbol, start_date, end_date} (null fields left out). Answers
 * 404 (or the database failure) itself and returns NULL when there is none. New reference. */
json_t *lv_api_readable_strategy(struct lv_req *req, PGconn *conn, const char *id);

/* Answers 400 bad_request for query parameter `name` ("?name" in the details). */
void lv_api_bad_query(struct lv_req *req, const char *name, const char *message);

/* Answers 500 for an unexpected database error without leaking its text. */
void lv_api_db_failure(struct lv_req *req, const struct lv_db_error *err);

/* Route registration of each resource module (api/routes_*.c). */
int lv_routes_system(struct lv_router *router, struct lv_error *err);
int lv_routes_me(struct lv_router *router, struct lv_error *err);
int lv_routes_strategies(struct lv_router *router, struct lv_error *err);
int lv_routes_openapi(struct lv_router *router, struct lv_error *err);
int lv_routes_backtests(struct lv_router *router, struct lv_error *err);
int lv_routes_bars(struct lv_router *router, struct lv_error *err);
int lv_routes_auth(struct lv_router *router, struct lv_error *err);
int lv_routes_tokens(struct lv_router *router, struct lv_error *err);
int lv_routes_credentials(struct lv_router *router, struct lv_error *err);
/* Batch jobs and variable lists (issue 4). */
int lv_routes_batch(struct lv_router *router, struct lv_error *err);
int lv_routes_variable_lists(struct lv_router *router, struct lv_error *err);
/* The web UI: GET / and GET /static/{file} from cfg->static_dir (public routes). */
int lv_routes_static(struct lv_router *router, struct lv_error *err);

#endif
