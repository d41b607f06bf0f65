/* openapi.c — GET /api/v1/openapi.json: an OpenAPI 3 document built from the live route table
 * and the documentation entries below, so that no route can go undescribed unnoticed. */
#include "api/openapi.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "http/router.h" /* lv_router_each */

/* One entry per route (method + pattern as registered). Keep them grouped by module. */
static const struct lv_api_doc docs[] = {
    /* routes_system.c */
    {"GET", "/api/v1/healthz", "system", "Service health (public; 503 when the database is down)",
     NULL, NULL, 200, "Health"},
    {"GET", "/api/v1/openapi.json", "system", "This OpenAPI document (public)", NULL, NULL, 200,
     "Object"},

    /* routes_auth.c: browser login (outside /api/v1) */
    {"GET", "/auth/discord", "auth", "Start the Discord login: 302 to Discord's authorize page",
     NULL, NULL, 302, NULL},
    {"GET", "/auth/discord/callback", "auth",
     "Discord's redirect back: checks state, signs in, 302 to the UI (errors as ?auth_error=)",
     "code state error", NULL, 302, NULL},
    {"POST", "/auth/logout", "auth", "Revoke the browser session", NULL, NULL, 204, NULL},

    /* routes_static.c: the web UI (outside /api/v1, public) */
    {"GET", "/", "ui", "The web UI's page (HTML)", NULL, NULL, 200, "text/html"},
    {"GET", "/static/{file}", "ui",
     "One file of the web UI (its type follows the extension); 404 for anything else", NULL, NULL,
     200, NULL},

    /* routes_me.c */
    {"GET", "/api/v1/me", "me", "The caller's profile", NULL, NULL, 200, "User"},
    {"PATCH", "/api/v1/me", "me", "Change the caller's username, avatar or preferences", NULL,
     "ProfilePatch", 200, "User"},

    /* routes_credentials.c: never returns a secret */
    {"GET", "/api/v1/me/alpaca-credentials", "credentials",
     "The caller's saved Alpaca credentials per mode (key id's last 4 characters only)", NULL, NULL,
     200, "CredentialsList"},
    {"GET", "/api/v1/me/alpaca-credentials/{mode}", "credentials",
     "Saved Alpaca credentials of one mode (paper or live)", NULL, NULL, 200, "Credentials"},
    {"PUT", "/api/v1/me/alpaca-credentials/{mode}", "credentials",
     "Save (encrypted) and verify Alpaca credentials for paper or live", NULL, "CredentialsInput",
     200, "Credentials"},
    {"DELETE", "/api/v1/me/alpaca-credentials/{mode}", "credentials",
     "Forget the Alpaca credentials of one mode", NULL, NULL, 204, NULL},

    /* routes_tokens.c */
    {"POST", "/api/v1/api-tokens", "tokens", "Create a named API token (its secret shown once)",
     NULL, "TokenInput", 201, "Object"},
    {"GET", "/api/v1/api-tokens", "tokens", "The caller's API tokens (never their secrets)",
     "limit offset", NULL, 200, "Page"},
    {"DELETE", "/api/v1/api-tokens/{id}", "tokens", "Revoke an API token", NULL, NULL, 204, NULL},

    /* routes_batch.c (job ids are strings) */
    {"POST", "/api/v1/batch-jobs", "batch-jobs",
     "Queue a batch: a strategy with $variables run for every combination of their values", NULL,
     "BatchInput", 202, "Object"},
    {"GET", "/api/v1/batch-jobs", "batch-jobs", "The caller's batch jobs", "status limit offset",
     NULL, 200, "Page"},
    {"GET", "/api/v1/batch-jobs/{id}", "batch-jobs", "One batch job with its progress and summary",
     NULL, NULL, 200, "Object"},
    {"POST", "/api/v1/batch-jobs/{id}/cancel", "batch-jobs",
     "Cancel a batch job (finished runs are kept)", NULL, NULL, 200, "Object"},
    {"GET", "/api/v1/batch-jobs/{id}/runs", "batch-jobs",
     "Runs of a batch job, paginated, sorted and filtered by metric", "sort where limit offset",
     NULL, 200, "Page"},
    {"GET", "/api/v1/batch-jobs/{id}/runs.csv", "batch-jobs",
     "Every run as CSV (streamed, RFC 4180)", NULL, NULL, 200, "text/csv"},
    {"GET", "/api/v1/batch-jobs/{id}/heatmap", "batch-jobs",
     "Average of a metric over two variables", "x y metric", NULL, 200, "Object"},

    /* routes_variable_lists.c */
    {"GET", "/api/v1/variable-lists", "variable-lists", "The caller's variable lists",
     "type limit offset", NULL, 200, "Page"},
    {"POST", "/api/v1/variable-lists", "variable-lists",
     "Create a variable list (409 when the name is taken)", NULL, "VariableListInput", 201,
     "Object"},
    {"GET", "/api/v1/variable-lists/{id}", "variable-lists", "One variable list", NULL, NULL, 200,
     "Object"},
    {"PUT", "/api/v1/variable-lists/{id}", "variable-lists", "Change a variable list", NULL,
     "VariableListInput", 200, "Object"},
    {"DELETE", "/api/v1/variable-lists/{id}", "variable-lists", "Delete a variable list", NULL,
     NULL, 204, NULL},

    /* routes_strategies.c */
    {"POST", "/api/v1/strategies", "strategies", "Create a strategy", NULL, "StrategyInput", 201,
     "StrategyWritten"},
    {"GET", "/api/v1/strategies", "strategies",
     "List the caller's strategies (and others' public ones with public=true)",
     "tag archived public q sort limit offset", NULL, 200, "StrategyList"},
    {"POST", "/api/v1/strategies/import", "strategies",
     "Import a strategy document (an export, the builder's document, or a bare elements array)",
     NULL, "StrategyDocument", 201, "StrategyWritten"},
    {"GET", "/api/v1/strategies/{id}", "strategies", "One strategy (own or public)", NULL, NULL,
     200, "Strategy"},
    {"PUT", "/api/v1/strategies/{id}", "strategies",
     "Replace a strategy (absent optional fields return to their defaults)", NULL, "StrategyInput",
     200, "StrategyWritten"},
    {"PATCH", "/api/v1/strategies/{id}", "strategies", "Change some fields of a strategy", NULL,
     "StrategyPatch", 200, "StrategyWritten"},
    {"DELETE", "/api/v1/strategies/{id}", "strategies",
     "Delete a strategy (409 while it is deployed)", NULL, NULL, 204, NULL},
    {"POST", "/api/v1/strategies/{id}/duplicate", "strategies",
     "Copy a strategy (own or public) into the caller's library", NULL, "DuplicateInput", 201,
     "StrategyWritten"},
    {"GET", "/api/v1/strategies/{id}/export", "strategies",
     "Download the strategy document (what import reads)", NULL, NULL, 200, "StrategyDocument"},

    /* routes_backtests.c */
    {"POST", "/api/v1/backtests", "backtests",
     "Run a backtest of an inline strategy or a strategy_id and store it", NULL, "BacktestInput",
     201, "Object"},
    /* routes_bars.c */
    {"GET", "/api/v1/bars", "bars",
     "Market data coverage per symbol: first and last day, bars, sources (synthetic flagged)", NULL,
     NULL, 200, "Object"},
    {"POST", "/api/v1/bars/sync", "bars",
     "Fetch daily bars from Alpaca with the caller's stored keys of a mode and replace those "
     "symbols' history (one transaction; 409 without keys, 422 when Alpaca has no bars for a "
     "symbol, 502 when Alpaca fails)",
     NULL, "BarsSyncInput", 200, "BarsWritten"},
    {"POST", "/api/v1/bars/import", "bars",
     "Import daily bars from a CSV body (Content-Type: text/csv; header date,open,high,low,close,"
     "volume and optionally symbol, else ?symbol=); all or nothing, 400 names the line and field",
     "symbol", NULL, 200, "BarsWritten"},

    {"GET", "/api/v1/backtests", "backtests", "The caller's backtest history, newest first",
     "strategy_id limit offset", NULL, 200, "Page"},
    {"GET", "/api/v1/backtests/{id}", "backtests", "One stored backtest with its curves", NULL,
     NULL, 200, "Object"},
    {"POST", "/api/v1/strategies/{id}/backtests", "backtests",
     "Run a backtest of a stored strategy (own or public)", NULL, "BacktestInput", 201, "Object"},
    {"GET", "/api/v1/strategies/{id}/backtests", "backtests", "Backtests of one strategy",
     "limit offset", NULL, 200, "Page"},
    {"POST", "/api/v1/validate", "backtests",
     "Validate a strategy without running it: every problem and warning", NULL, "Object", 200,
     "Validation"},
};
#define N_DOCS (sizeof docs / sizeof docs[0])

/* Query parameters known by name; any other is documented as a plain string. */
static const struct {
    const char *name;
    const char *schema; /* JSON */
    const char *description;
} query_params[] = {
    {"limit", "{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000}", "page size"},
    {"offset", "{\"type\":\"integer\",\"minimum\":0}", "items to skip"},
    {"tag", "{\"type\":\"string\",\"maxLength\":255}", "only strategies carrying this tag"},
    {"archived",
     "{\"type\":\"string\",\"enum\":[\"false\",\"true\",\"all\"],\"default\":\"false\"}",
     "archived strategies: exclude (false), only (true) or include (all)"},
    {"public", "{\"type\":\"boolean\",\"default\":false}",
     "also list other users' public strategies"},
    {"q", "{\"type\":\"string\",\"maxLength\":500}", "case-insensitive search in the name"},
    {"sort",
     "{\"type\":\"string\",\"enum\":[\"-updated_at\",\"updated_at\",\"-created_at\","
     "\"created_at\",\"name\",\"-name\",\"id\",\"-id\"],\"default\":\"-updated_at\"}",
     "order; a leading - means descending"},
    {"strategy_id", "{\"type\":\"integer\",\"minimum\":1}", "only this strategy's items"},
    {"type", "{\"type\":\"string\",\"enum\":[\"ticker\",\"number\",\"date\"]}",
     "only lists of this type"},
    {"status", "{\"type\":\"string\"}", "only jobs in this status"},
    {"where", "{\"type\":\"string\"}", "a metric filter such as sharpe>1"},
    {"x", "{\"type\":\"string\"}", "the variable along the x axis"},
    {"y", "{\"type\":\"string\"}", "the variable along the y axis"},
    {"metric", "{\"type\":\"string\",\"default\":\"total_return\"}", "a metric key"},
    {"symbol", "{\"type\":\"string\"}", "the symbol of CSV rows without a symbol column"},
};

/* Reusable schemas (components.schemas). "Object" stands for a documented-elsewhere shape. */
static const char schemas_json[] =
    "{"
    "\"Object\": {\"type\": \"object\"},"
    "\"BarsSyncInput\": {\"type\": \"object\", \"additionalProperties\": false,"
    "  \"required\": [\"symbols\", \"mode\"], \"properties\": {"
    "  \"symbols\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 100,"
    "    \"items\": {\"type\": \"string\"}},"
    "  \"mode\": {\"type\": \"string\", \"enum\": [\"paper\", \"live\"]},"
    "  \"start\": {\"type\": \"string\", \"format\": \"date\", \"default\": \"2000-01-01\"},"
    "  \"end\": {\"type\": \"string\", \"format\": \"date\"},"
    "  \"feed\": {\"type\": \"string\", \"enum\": [\"sip\", \"iex\"]}}},"
    "\"BarsWritten\": {\"type\": \"object\", \"properties\": {"
    "  \"source\": {\"type\": \"string\"}, \"bars\": {\"type\": \"integer\"},"
    "  \"replaced\": {\"type\": \"integer\"}, \"items\": {\"type\": \"array\","
    "  \"items\": {\"type\": \"object\", \"properties\": {\"symbol\": {\"type\": \"string\"},"
    "  \"bars\": {\"type\": \"integer\"}, \"first_day\": {\"type\": \"string\"},"
    "  \"last_day\": {\"type\": \"string\"}}}}}},"
    "\"Problem\": {\"type\": \"object\", \"required\": [\"path\", \"message\"], \"properties\": {"
    "  \"path\": {\"type\": \"string\", \"description\": \"JSON Pointer into the request, or "
    "?name for a query parameter\"},"
    "  \"message\": {\"type\": \"string\"}}},"
    "\"Error\": {\"type\": \"object\", \"required\": [\"error\"], \"properties\": {"
    "  \"error\": {\"type\": \"object\", \"required\": [\"code\", \"message\", \"details\"],"
    "  \"properties\": {\"code\": {\"type\": \"string\"}, \"message\": {\"type\": \"string\"},"
    "  \"details\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/components/schemas/Problem\"}}"
    "}}}},"
    "\"Health\": {\"type\": \"object\", \"properties\": {\"status\": {\"type\": \"string\"},"
    "  \"db\": {\"type\": \"string\"}, \"version\": {\"type\": \"string\"}}},"
    "\"User\": {\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"integer\"},"
    "  \"discord_id\": {\"type\": \"string\"}, \"username\": {\"type\": \"string\"},"
    "  \"email\": {\"type\": \"string\", \"nullable\": true},"
    "  \"avatar_url\": {\"type\": \"string\", \"nullable\": true},"
    "  \"preferences\": {\"type\": \"object\"}}},"
    "\"ProfilePatch\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
    "  \"username\": {\"type\": \"string\"}, \"avatar_url\": {\"type\": \"string\", \"nullable\": "
    "true},"
    "  \"preferences\": {\"type\": \"object\"}}},"
    "\"Credentials\": {\"type\": \"object\", \"description\": \"never holds the secret\"},"
    "\"CredentialsList\": {\"type\": \"object\", \"properties\": {\"items\": {\"type\": \"array\","
    "  \"items\": {\"$ref\": \"#/components/schemas/Credentials\"}}}},"
    "\"CredentialsInput\": {\"type\": \"object\", \"additionalProperties\": false,"
    "  \"required\": [\"key_id\", \"secret\"], \"properties\": {"
    "  \"key_id\": {\"type\": \"string\"}, \"secret\": {\"type\": \"string\"}}},"
    "\"TokenInput\": {\"type\": \"object\", \"additionalProperties\": false,"
    "  \"properties\": {\"name\": {\"type\": \"string\"},"
    "  \"expires_in_days\": {\"type\": \"integer\"}}},"
    "\"VariableListInput\": {\"type\": \"object\", \"additionalProperties\": false,"
    "  \"properties\": {\"name\": {\"type\": \"string\"},"
    "  \"type\": {\"type\": \"string\", \"enum\": [\"ticker\", \"number\", \"date\"]},"
    "  \"values\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    "  \"description\": {\"type\": \"string\", \"nullable\": true},"
    "  \"is_shared\": {\"type\": \"boolean\"}}},"
    "\"BatchInput\": {\"type\": \"object\", \"properties\": {"
    "  \"name\": {\"type\": \"string\"},"
    "  \"strategy\": {\"description\": \"a strategy document or elements array\"},"
    "  \"strategy_id\": {\"type\": \"integer\"},"
    "  \"variables\": {\"type\": \"array\", \"items\": {\"type\": \"object\"}}}},"
    "\"Page\": {\"type\": \"object\", \"properties\": {\"items\": {\"type\": \"array\","
    "  \"items\": {\"type\": \"object\"}}, \"limit\": {\"type\": \"integer\"},"
    "  \"offset\": {\"type\": \"integer\"}}},"
    "\"Validation\": {\"type\": \"object\", \"properties\": {\"valid\": {\"type\": \"boolean\"},"
    "  \"problems\": {\"type\": \"array\", \"items\": {\"$ref\": "
    "\"#/components/schemas/Problem\"}},"
    "  \"warnings\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/components/schemas/Problem\"}}"
    "}},"
    "\"BacktestInput\": {\"type\": \"object\", \"properties\": {"
    "  \"strategy\": {\"description\": \"a strategy document or elements array\"},"
    "  \"strategy_id\": {\"type\": \"integer\"}, \"start_date\": {\"type\": \"string\"},"
    "  \"end_date\": {\"type\": \"string\"}, \"benchmark_symbol\": {\"type\": \"string\"},"
    "  \"initial_capital\": {\"type\": \"number\"}, \"rebalance\": {},"
    "  \"cost_bps\": {\"type\": \"number\"}}},"
    "\"Elements\": {\"type\": \"array\", \"items\": {\"type\": \"object\"}, \"description\": "
    "  \"the strategy tree (strategy-language.md); validated, every problem reported\"},"
    "\"StrategyFields\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
    "  \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 500},"
    "  \"description\": {\"type\": \"string\", \"nullable\": true, \"maxLength\": 10000},"
    "  \"elements\": {\"$ref\": \"#/components/schemas/Elements\"},"
    "  \"benchmark_symbol\": {\"type\": \"string\", \"nullable\": true, \"maxLength\": 50,"
    "    \"description\": \"upper-cased; null means SPY\"},"
    "  \"start_date\": {\"type\": \"string\", \"format\": \"date\", \"nullable\": true},"
    "  \"end_date\": {\"type\": \"string\", \"format\": \"date\", \"nullable\": true},"
    "  \"tags\": {\"type\": \"array\", \"maxItems\": 50, \"nullable\": true,"
    "    \"items\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 255}},"
    "  \"is_public\": {\"type\": \"boolean\"}, \"is_archived\": {\"type\": \"boolean\"}}},"
    "\"StrategyInput\": {\"allOf\": [{\"$ref\": \"#/components/schemas/StrategyFields\"},"
    "  {\"required\": [\"name\", \"elements\"]}]},"
    "\"StrategyPatch\": {\"$ref\": \"#/components/schemas/StrategyFields\"},"
    "\"DuplicateInput\": {\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
    "  \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 500}}},"
    "\"StrategyDocument\": {\"type\": \"object\", \"description\": \"unknown fields are ignored on "
    "import; camelCase benchmarkSymbol/startDate/endDate are read too\", \"properties\": {"
    "  \"name\": {\"type\": \"string\"}, \"description\": {\"type\": \"string\", \"nullable\": "
    "true},"
    "  \"benchmark_symbol\": {\"type\": \"string\", \"nullable\": true},"
    "  \"start_date\": {\"type\": \"string\", \"nullable\": true},"
    "  \"end_date\": {\"type\": \"string\", \"nullable\": true},"
    "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    "  \"elements\": {\"$ref\": \"#/components/schemas/Elements\"}}},"
    "\"StrategySummary\": {\"type\": \"object\", \"properties\": {"
    "  \"id\": {\"type\": \"integer\"}, \"name\": {\"type\": \"string\"},"
    "  \"description\": {\"type\": \"string\", \"nullable\": true},"
    "  \"benchmark_symbol\": {\"type\": \"string\", \"nullable\": true},"
    "  \"start_date\": {\"type\": \"string\", \"format\": \"date\", \"nullable\": true},"
    "  \"end_date\": {\"type\": \"string\", \"format\": \"date\", \"nullable\": true},"
    "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    "  \"is_public\": {\"type\": \"boolean\"}, \"is_archived\": {\"type\": \"boolean\"},"
    "  \"is_owner\": {\"type\": \"boolean\"},"
    "  \"created_at\": {\"type\": \"string\", \"format\": \"date-time\"},"
    "  \"updated_at\": {\"type\": \"string\", \"format\": \"date-time\"}}},"
    "\"Strategy\": {\"allOf\": [{\"$ref\": \"#/components/schemas/StrategySummary\"},"
    "  {\"type\": \"object\", \"properties\": {"
    "  \"elements\": {\"$ref\": \"#/components/schemas/Elements\"}}}]},"
    "\"StrategyWritten\": {\"allOf\": [{\"$ref\": \"#/components/schemas/Strategy\"},"
    "  {\"type\": \"object\", \"properties\": {\"warnings\": {\"type\": \"array\","
    "  \"items\": {\"$ref\": \"#/components/schemas/Problem\"}}}}]},"
    "\"StrategyList\": {\"type\": \"object\", \"properties\": {"
    "  \"items\": {\"type\": \"array\", \"items\": {\"$ref\": "
    "\"#/components/schemas/StrategySummary\"}},"
    "  \"total\": {\"type\": \"integer\"}, \"limit\": {\"type\": \"integer\"},"
    "  \"offset\": {\"type\": \"integer\"}}}"
    "}";

const struct lv_api_doc *lv_openapi_find(const char *method, const char *pattern)
{
    for (size_t i = 0; i < N_DOCS; i++)
        if (strcmp(docs[i].method, method) == 0 && strcmp(docs[i].pattern, pattern) == 0)
            return &docs[i];
    return NULL;
}

void lv_openapi_each_doc(void (*fn)(const struct lv_api_doc *doc, void *ctx), void *ctx)
{
    for (size_t i = 0; i < N_DOCS; i++)
        fn(&docs[i], ctx);
}

static json_t *schema_ref(const char *name)
{
    char ref[128];
    snprintf(ref, sizeof ref, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *query_parameter(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof query_params / sizeof query_params[0]; i++) {
        if (strlen(query_params[i].name) == len && strncmp(query_params[i].name, name, len) == 0)
            return json_pack("{s:s, s:s, s:s, s:o}", "name", query_params[i].name, "in", "query",
                             "description", query_params[i].description, "schema",
                             json_loads(query_params[i].schema, 0, NULL));
    }
    return json_pack("{s:s%, s:s, s:{s:s}}", "name", name, len, "in", "query", "schema", "type",
                     "string");
}

/* Path placeholders ("{id}") of the pattern, then the entry's query parameters. */
static json_t *parameters(const char *pattern, const struct lv_api_doc *doc)
{
    json_t *list = json_array();
    for (const char *open = strchr(pattern, '{'); open != NULL; open = strchr(open + 1, '{')) {
        const char *close = strchr(open, '}');
        if (close == NULL)
            break;
        json_array_append_new(list, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", open + 1,
                                              (size_t)(close - open - 1), "in", "path", "required",
                                              1, "schema", "type", "string"));
    }
    const char *query = doc != NULL && doc->query != NULL ? doc->query : "";
    while (*query != '\0') {
        size_t len = strcspn(query, " ");
        if (len > 0)
            json_array_append_new(list, query_parameter(query, len));
        query += len + (query[len] == ' ');
    }
    return list;
}

/* "get" + "/api/v1/strategies/{id}" -> "get_api_v1_strategies_id" (unique per route). */
static void operation_id(const char *method, const char *pattern, char *out, size_t out_size)
{
    size_t len = 0;
    for (const char *c = method; *c != '\0' && len + 1 < out_size; c++)
        out[len++] = (char)tolower((unsigned char)*c);
    for (const char *c = pattern; *c != '\0' && len + 1 < out_size; c++) {
        if (isalnum((unsigned char)*c))
            out[len++] = *c;
        else if (*c == '/' || *c == '-' || *c == '.')
            out[len++] = '_';
    }
    out[len] = '\0';
}

static json_t *error_response(const char *description)
{
    return json_pack("{s:s, s:o}", "description", description, "content",
                     json_content(schema_ref("Error")));
}

static json_t *responses(const char *pattern, unsigned flags, const struct lv_api_doc *doc)
{
    json_t *out = json_object();
    char status[8];
    snprintf(status, sizeof status, "%d", doc != NULL ? doc->status : 200);
    json_t *success = json_pack("{s:s}", "description", "success");
    const char *body = doc != NULL ? doc->response : "Object";
    if (body != NULL && strncmp(body, "text/", 5) == 0) /* a media type, not a schema */
        json_object_set_new(success, "content",
                            json_pack("{s:{s:{s:s}}}", body, "schema", "type", "string"));
    else if (body != NULL)
        json_object_set_new(success, "content", json_content(schema_ref(body)));
    json_object_set_new(out, status, success);
    json_object_set_new(out, "400", error_response("bad input: every problem is listed"));
    if (!(flags & LV_ROUTE_PUBLIC))
        json_object_set_new(out, "401", error_response("authentication required"));
    if (strchr(pattern, '{') != NULL)
        json_object_set_new(out, "404",
                            error_response("no such object, or another user's (never revealed)"));
    json_object_set_new(out, "429", error_response("rate limited (see Retry-After)"));
    json_object_set_new(out, "500", error_response("internal error (no details leaked)"));
    return out;
}

static json_t *operation(const char *method, const char *pattern, unsigned flags)
{
    const struct lv_api_doc *doc = lv_openapi_find(method, pattern);
    char id[256];
    operation_id(method, pattern, id, sizeof id);
    json_t *op = json_pack("{s:s, s:s, s:[s], s:o, s:o}", "operationId", id, "summary",
                           doc != NULL ? doc->summary : "(undocumented)", "tags",
                           doc != NULL ? doc->tag : "undocumented", "parameters",
                           parameters(pattern, doc), "responses", responses(pattern, flags, doc));
    if (op == NULL)
        return NULL;
    if (doc == NULL)
        json_object_set_new(op, "x-lever-undocumented", json_true());
    if (doc != NULL && doc->request != NULL)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:o}", "required", 1, "content",
                                      json_content(schema_ref(doc->request))));
    if (flags & LV_ROUTE_PUBLIC)
        json_object_set_new(op, "security", json_array()); /* overrides the global default */
    return op;
}

struct build {
    json_t *paths;
    int failed;
};

static void add_route(const char *method, const char *pattern, unsigned flags, void *ctx)
{
    struct build *build = ctx;
    json_t *path = json_object_get(build->paths, pattern);
    if (path == NULL) {
        path = json_object();
        json_object_set_new(build->paths, pattern, path);
    }
    char key[16];
    operation_id(method, "", key, sizeof key);
    json_t *op = operation(method, pattern, flags);
    if (op == NULL || json_object_set_new(path, key, op) != 0)
        build->failed = 1;
}

json_t *lv_openapi_document(const struct lv_router *router)
{
    struct build build = {.paths = json_object()};
    json_t *schemas = json_loads(schemas_json, 0, NULL);
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s, s:s}}, s:o}, s:[{s:[]}], s:[{s:s}]}",
        "openapi", "3.0.3", "info", "title", "Lever API", "version", LEVER_VERSION, "description",
        "Strategy platform for Alpaca. JSON in and out; errors use one envelope "
        "{\"error\": {\"code\", \"message\", \"details\": [{\"path\", \"message\"}]}}. "
        "Another user's object answers 404, never revealing that it exists.",
        "paths", build.paths, "components", "securitySchemes", "bearerAuth", "type", "http",
        "scheme", "bearer", "description",
        "an API token (lever user create, POST /api/v1/api-tokens) or the browser session cookie",
        "schemas", schemas, "security", "bearerAuth", "servers", "url", "/");
    if (doc == NULL)
        return NULL;
    lv_router_each(router, add_route, &build);
    if (build.failed) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Built per request from a fresh route table: it is asked for rarely, and this way it can
 * never describe anything but the routes this binary really serves. */
static void get_openapi(struct lv_req *req, void *app)
{
    (void)app;
    struct lv_error err;
    struct lv_router *router = lv_api_router(&err);
    json_t *doc = router != NULL ? lv_openapi_document(router) : NULL;
    lv_router_free(router);
    if (doc == NULL)
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
    else
        lv_resp_json(req, 200, doc);
}

int lv_routes_openapi(struct lv_router *router, struct lv_error *err)
{
    return lv_router_add(router, "GET", "/api/v1/openapi.json", get_openapi, LV_ROUTE_PUBLIC, err);
}
