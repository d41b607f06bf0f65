/* routes_batch.c — batch jobs (strategy-language.md §8, platform.md §5): create (validate,
 * store the job and its chunks), list, get with progress, cancel, runs (sorted and filtered in
 * SQL), runs.csv (streamed), heatmap. The work itself is done by src/jobs. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/app.h"
#include "api/input.h"
#include "core/backtest.h"
#include "core/batch.h"
#include "core/strategy.h"
#include "jobs/queue.h"

/* Progress is computed in SQL: runs per second since the first claim, ETA from that rate. */
#define RATE_SQL                                                                                   \
    "(completed / GREATEST(EXTRACT(EPOCH FROM (COALESCE(completed_at, now()::timestamp) - "        \
    "started_at)), 0.001))"
#define JOB_JSON                                                                                   \
    "json_build_object('id', id, 'name', name, 'kind', kind, 'status', status, 'strategy_id', "    \
    "strategy_id, 'total', total, 'completed', completed, 'truncated', truncated, 'variables', "   \
    "variables, 'start_date', start_date, 'end_date', end_date, 'benchmark_symbol', "              \
    "benchmark_symbol, 'options', options, 'assignments_preview', assignments_preview, "           \
    "'summary', summary, 'error', error, 'created_at', created_at, 'updated_at', updated_at, "     \
    "'started_at', started_at, 'completed_at', completed_at, 'runs_per_second', CASE WHEN "        \
    "started_at IS NOT NULL AND completed > 0 THEN round(" RATE_SQL "::numeric, 1) END, "          \
    "'eta_seconds', CASE WHEN status = 'running' AND completed > 0 THEN round(((total - "          \
    "completed) / " RATE_SQL ")::numeric, 1) END, 'view_url', '/api/v1/batch-jobs/' || id, "       \
    "'csv_url', '/api/v1/batch-jobs/' || id || '/runs.csv')"

/* Request fields that are backtest options (§6); they override the strategy document's. */
static const char *const option_fields[] = {
    "start_date",      "startDate",       "end_date",  "endDate",  "benchmark_symbol",
    "benchmarkSymbol", "initial_capital", "rebalance", "cost_bps", NULL,
};
static const char *const create_fields[] = {
    "name",     "strategy", "strategy_id",      "variables",       "start_date",      "startDate",
    "end_date", "endDate",  "benchmark_symbol", "benchmarkSymbol", "initial_capital", "rebalance",
    "cost_bps", NULL,
};

/* Most compiles spent checking each variable value at creation (beyond that, a bad value
 * shows up as failed runs instead of a 400). */
#define VALUE_CHECK_BUDGET 20000

/* A job id from the path: "batch-" and hex digits, else 404. */
static const char *job_path_id(struct lv_req *req)
{
    const char *id = lv_req_param(req, "id");
    if (id == NULL || strlen(id) > 64 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(id)) {
        lv_resp_error(req, 404, "not_found", "no such batch job", NULL);
        return NULL;
    }
    return id;
}

/* ---- Creation: the strategy document ------------------------------------------------------ */

/* The request's strategy: inline (object or bare elements array) or a stored one by id.
 * Adds a problem or answers 404 itself (*answered) when there is none. New reference. */
static json_t *request_strategy(struct lv_req *req, PGconn *conn, json_t *body,
                                char strategy_id[16], struct lv_problems *problems, bool *answered)
{
    json_t *inline_doc = json_object_get(body, "strategy");
    json_t *id_value = json_object_get(body, "strategy_id");
    if (inline_doc != NULL && id_value != NULL) {
        lv_problems_add(problems, "/strategy", "give either strategy or strategy_id, not both");
        return NULL;
    }
    if (id_value == NULL) {
        if (json_is_object(inline_doc) || json_is_array(inline_doc))
            return json_incref(inline_doc);
        lv_problems_add(problems, "/strategy",
                        "required: a strategy document (object or elements array), or "
                        "strategy_id");
        return NULL;
    }
    if (!json_is_integer(id_value) || json_integer_value(id_value) <= 0 ||
        json_integer_value(id_value) > 2147483647) {
        lv_problems_add(problems, "/strategy_id", "must be a positive integer");
        return NULL;
    }
    snprintf(strategy_id, 16, "%lld", (long long)json_integer_value(id_value));
    json_t *doc = lv_api_readable_strategy(req, conn, strategy_id);
    *answered = doc == NULL;
    return doc;
}

/* The run document: the strategy's top level (elements included) overridden by the request's
 * options. New reference, or NULL when out of memory. */
static json_t *run_document(const json_t *strategy, const json_t *body)
{
    json_t *doc = json_is_array(strategy) ? json_pack("{s:O}", "elements", strategy)
                                          : json_deep_copy(strategy);
    for (const char *const *f = option_fields; doc != NULL && *f != NULL; f++) {
        json_t *value = json_object_get(body, *f);
        if (value != NULL)
            json_object_set(doc, *f, value);
    }
    return doc;
}

/* ---- Creation: variables ------------------------------------------------------------------ */

/* Values of the caller's list `name` (new reference), or NULL (with a problem at `path`). */
static json_t *list_values(PGconn *conn, const char *user_id, const char *name, const char *path,
                           struct lv_problems *problems, struct lv_db_error *err, bool *db_failed)
{
    const char *params[] = {user_id, name};
    int found;
    json_t *values = lv_api_query_json(
        conn,
        "SELECT values FROM variable_lists WHERE user_id = $1::int AND lower(name) = lower($2)", 2,
        params, &found, err);
    if (found < 0)
        *db_failed = true;
    else if (found == 0)
        lv_problems_add(problems, path, "no variable list named \"%s\"", name);
    return values;
}

/* The request's variables with list references replaced by their values: items are
 * {"name", "values"}, {"name"?, "list": LIST} or a bare "LIST". New reference. */
static json_t *resolve_variables(PGconn *conn, const char *user_id, const json_t *variables,
                                 struct lv_problems *problems, struct lv_db_error *err,
                                 bool *db_failed)
{
    if (variables == NULL)
        return json_array();
    if (!json_is_array(variables))
        return json_incref((json_t *)variables); /* lv_batch_vars_parse reports it */
    json_t *out = json_array();
    size_t i;
    const json_t *item;
    json_array_foreach(variables, i, item)
    {
        char path[64];
        const char *list = json_string_value(item);
        const char *name = list;
        if (json_is_object(item) && json_object_get(item, "list") != NULL) {
            snprintf(path, sizeof path, "/variables/%zu/list", i);
            list = json_string_value(json_object_get(item, "list"));
            name = json_string_value(json_object_get(item, "name"));
            if (list == NULL) {
                lv_problems_add(problems, path, "must be the name of one of your variable lists");
                continue;
            }
            if (name == NULL)
                name = list;
        } else {
            snprintf(path, sizeof path, "/variables/%zu", i);
        }
        if (list == NULL) {
            json_array_append(out, (json_t *)item);
            continue;
        }
        json_t *values = list_values(conn, user_id, list, path, problems, err, db_failed);
        if (*db_failed) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_pack("{s:s, s:o}", "name", name, "values",
                                             values != NULL ? values : json_array()));
    }
    return out;
}

/* Every `$name` defined, every variable used: the strategy under /strategy (or the stored
 * strategy's own paths), the request's options under their field names. */
static void check_references(const json_t *strategy, bool stored, const json_t *body,
                             const struct lv_batch_vars *vars, struct lv_problems *problems)
{
    bool used[LV_BATCH_MAX_VARS] = {false};
    lv_batch_scan(strategy, stored ? "" : "/strategy", vars, used, problems);
    for (const char *const *f = option_fields; *f != NULL; f++) {
        char path[64];
        snprintf(path, sizeof path, "/%s", *f);
        json_t *value = json_object_get(body, *f);
        if (value != NULL)
            lv_batch_scan(value, path, vars, used, problems);
    }
    lv_batch_check_unused(vars, used, "/variables", problems);
}

/* ---- Creation: validation by compiling ---------------------------------------------------- */

/* Compiles the document bound to `value_index` and reads its options. Returns 0, or -1 with
 * the first problem in *first. */
static int try_assignment(struct lv_batch_template *t, const int *value_index,
                          struct lv_backtest_options *options, struct lv_problems *problems)
{
    const json_t *doc = lv_batch_template_bind(t, value_index);
    if (doc == NULL) {
        lv_problems_add(problems, "", "out of memory");
        return -1;
    }
    struct lv_strategy *strategy = NULL;
    lv_backtest_options_init(options);
    int before = problems->count;
    lv_strategy_compile(doc, &strategy, problems, NULL);
    lv_backtest_options_read(doc, options, problems);
    lv_strategy_free(strategy);
    return problems->count > before ? -1 : 0;
}

/* Run 0 must compile; then each value of each variable is tried with the others as in run 0,
 * so a value that can never work (period "1", ticker "X Y") is named in the 400. */
static void check_assignments(const json_t *doc, const struct lv_batch_vars *vars,
                              struct lv_backtest_options *first_options,
                              struct lv_problems *problems)
{
    struct lv_batch_template *t = lv_batch_template_new(doc, vars);
    if (t == NULL) {
        lv_problems_add(problems, "", "out of memory");
        return;
    }
    int idx[LV_BATCH_MAX_VARS];
    lv_batch_decode(vars, 0, idx);
    if (try_assignment(t, idx, first_options, problems) != 0) {
        lv_batch_template_free(t);
        return;
    }
    int budget = VALUE_CHECK_BUDGET;
    for (int k = 0; k < vars->n && budget > 0; k++) {
        for (int j = 1; j < vars->vars[k].n_values && budget-- > 0; j++) {
            idx[k] = j;
            struct lv_problems found = {0};
            struct lv_backtest_options options;
            if (try_assignment(t, idx, &options, &found) != 0) {
                char path[64];
                snprintf(path, sizeof path, "/variables/%d/values/%d", k, j);
                lv_problems_add(problems, path, "$%s = \"%s\": %s: %s", vars->vars[k].name,
                                vars->vars[k].values[j], found.items[0].path,
                                found.items[0].message);
            }
            lv_problems_free(&found);
        }
        idx[k] = 0;
    }
    lv_batch_template_free(t);
}

/* ---- Creation: storing -------------------------------------------------------------------- */

struct new_job {
    char id[64];
    const char *user_id, *strategy_id, *name;
    long total;
    bool truncated;
    char *variables, *elements, *options, *preview; /* JSON texts, owned */
    char start[16], end[16];                        /* "" = NULL */
    const char *benchmark;
};

static void new_job_free(struct new_job *job)
{
    free(job->variables);
    free(job->elements);
    free(job->options);
    free(job->preview);
}

static int insert_job(PGconn *conn, struct new_job *job, struct lv_db_error *err)
{
    char total_text[24];
    snprintf(total_text, sizeof total_text, "%ld", job->total);
    const char *params[] = {job->id,
                            job->user_id,
                            job->strategy_id,
                            job->name,
                            total_text,
                            job->truncated ? "true" : "false",
                            job->variables,
                            job->elements,
                            job->start[0] ? job->start : NULL,
                            job->end[0] ? job->end : NULL,
                            job->benchmark,
                            job->preview,
                            job->options};
    if (lv_db_exec(conn, "BEGIN", 0, NULL, err) != 0)
        return -1;
    int rc = lv_db_exec(conn,
                        "INSERT INTO batch_jobs (id, user_id, strategy_id, name, kind, status, "
                        "total, truncated, variables, strategy_elements, start_date, end_date, "
                        "benchmark_symbol, assignments_preview, options) VALUES ($1, $2::int, "
                        "$3::int, $4, 'server', 'queued', $5::int, $6::boolean, $7::jsonb, "
                        "$8::jsonb, $9::date, $10::date, $11, $12::jsonb, $13::jsonb)",
                        13, params, err);
    if (rc == 0)
        rc = lv_queue_add_chunks(conn, job->id, job->total, err);
    if (rc == 0)
        rc = lv_db_exec(conn, "COMMIT", 0, NULL, err);
    if (rc != 0)
        lv_db_exec(conn, "ROLLBACK", 0, NULL, NULL);
    return rc;
}

static void random_job_id(char out[64])
{
    unsigned char bytes[12];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        memset(bytes, 0, sizeof bytes); /* never happens on Linux ≥ 3.17 once booted */
    int at = snprintf(out, 64, "batch-");
    for (size_t i = 0; i < sizeof bytes; i++)
        at += snprintf(out + at, 64 - (size_t)at, "%02x", bytes[i]);
}

static void day_text(lv_day day, char out[16])
{
    out[0] = '\0';
    if (day != LV_DAY_NONE)
        lv_day_format(day, out);
}

/* Fills the stored texts of a validated job. Returns 0, or -1 when out of memory. */
static int describe_job(struct new_job *job, const json_t *doc, const struct lv_batch_vars *vars,
                        const struct lv_backtest_options *options, bool options_vary)
{
    json_t *stored_vars = lv_batch_vars_to_json(vars);
    json_t *preview = lv_batch_preview(vars, job->total);
    json_t *rest = json_deep_copy(doc);
    json_object_del(rest, "elements");
    job->variables = stored_vars ? json_dumps(stored_vars, JSON_COMPACT) : NULL;
    job->preview = preview ? json_dumps(preview, JSON_COMPACT) : NULL;
    job->options = rest ? json_dumps(rest, JSON_COMPACT) : NULL;
    job->elements = json_dumps(json_object_get(doc, "elements"), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(stored_vars);
    json_decref(preview);
    json_decref(rest);
    if (!options_vary) {
        day_text(options->start, job->start);
        day_text(options->end, job->end);
    }
    job->benchmark = options_vary ? NULL : options->benchmark;
    return job->variables && job->preview && job->options && job->elements ? 0 : -1;
}

/* Answers with the stored job (status 202 after a creation). */
static void answer_job(struct lv_req *req, PGconn *conn, const char *id, int status)
{
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    int found;
    json_t *job = lv_api_query_json(conn,
                                    "SELECT " JOB_JSON " FROM batch_jobs "
                                    "WHERE id = $1 AND user_id = $2::int",
                                    2, params, &found, &err);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no such batch job", NULL);
    else
        lv_resp_json(req, status, job);
}

/* Validates everything, then stores the job; answers. */
static void create_job_with(struct lv_req *req, struct lv_app *app, PGconn *conn, json_t *body,
                            struct lv_problems *problems)
{
    char strategy_id[16] = "", user_id[16];
    lv_api_caller_text(req, user_id);
    bool answered = false, db_failed = false, options_vary = false;
    struct lv_db_error err;
    struct lv_batch_vars vars = {0};
    struct new_job job = {.user_id = user_id};
    json_t *doc = NULL, *variables = NULL;
    json_t *strategy = request_strategy(req, conn, body, strategy_id, problems, &answered);
    if (answered)
        goto done;
    job.name = lv_input_string(body, "name", 1, 500, false, problems);
    variables = resolve_variables(conn, user_id, json_object_get(body, "variables"), problems, &err,
                                  &db_failed);
    if (db_failed) {
        lv_api_db_failure(req, &err);
        goto done;
    }
    if (strategy == NULL || problems->count > 0 ||
        lv_batch_vars_parse(variables, "/variables", &vars, problems) != 0)
        goto rejected;
    check_references(strategy, strategy_id[0] != '\0', body, &vars, problems);
    if (problems->count > 0)
        goto rejected;
    doc = run_document(strategy, body);
    struct lv_backtest_options options;
    if (doc == NULL) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        goto done;
    }
    check_assignments(doc, &vars, &options, problems);
    if (problems->count > 0)
        goto rejected;
    job.total = lv_batch_total(&vars, app->cfg->batch_cap, &job.truncated);
    options_vary = lv_batch_options_vary(doc, &vars);
    random_job_id(job.id);
    job.strategy_id = strategy_id[0] ? strategy_id : NULL;
    if (job.name == NULL) {
        const char *strategy_name = json_string_value(json_object_get(doc, "name"));
        job.name = strategy_name != NULL ? strategy_name : "Batch";
    }
    if (describe_job(&job, doc, &vars, &options, options_vary) != 0) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        goto done;
    }
    if (insert_job(conn, &job, &err) != 0)
        lv_api_db_failure(req, &err);
    else
        answer_job(req, conn, job.id, 202);
    goto done;
rejected:
    lv_resp_error(req, 400, "validation_failed",
                  problems->count == 1 ? problems->items[0].message
                                       : "the batch is invalid; see details",
                  lv_problems_to_details(problems));
done:
    new_job_free(&job);
    lv_batch_vars_free(&vars);
    json_decref(doc);
    json_decref(variables);
    json_decref(strategy);
}

static void create_job(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    struct lv_problems problems = {0};
    if (lv_input_object(body, create_fields, &problems) != 0 || problems.count > 0) {
        lv_input_reject(req, &problems);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn != NULL) {
        create_job_with(req, app, conn, body, &problems);
        lv_db_release(app->pool, conn);
    }
    lv_problems_free(&problems);
}

/* ---- Reading jobs ------------------------------------------------------------------------- */

static void get_job(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = job_path_id(req);
    if (id == NULL)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    answer_job(req, conn, id, 200);
    lv_db_release(app->pool, conn);
}

static bool valid_status(const char *status)
{
    static const char *const statuses[] = {"queued", "running",   "finished",
                                           "failed", "cancelled", NULL};
    for (const char *const *s = statuses; *s != NULL; s++)
        if (strcmp(*s, status) == 0)
            return true;
    return false;
}

static void list_jobs(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    struct lv_page page;
    if (lv_api_read_page(req, 50, 1000, &page) != 0)
        return;
    const char *status = lv_req_query(req, "status");
    if (status != NULL && !valid_status(status)) {
        lv_api_bad_query(req, "status", "must be queued, running, finished, failed or cancelled");
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {user_id, status, page.limit_text, page.offset_text};
    lv_api_send_page(
        req, app, conn,
        "SELECT COALESCE(json_agg(j ORDER BY created_at DESC, id DESC), '[]') FROM "
        "(SELECT " JOB_JSON
        " AS j, created_at, id FROM batch_jobs WHERE user_id = $1::int AND ($2::text "
        "IS NULL OR status = $2) ORDER BY created_at DESC, id DESC LIMIT $3::int OFFSET "
        "$4::int) AS page",
        4, params, &page);
}

static void cancel_job(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = job_path_id(req);
    if (id == NULL)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char user_id[16], status[32];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    /* Workers see the status at their next heartbeat (250 ms) and stop. */
    int rc = lv_db_exec(conn,
                        "UPDATE batch_jobs SET status = 'cancelled', completed_at = now() "
                        "WHERE id = $1 AND user_id = $2::int AND status IN ('queued', 'running')",
                        2, params, &err);
    int found = rc == 0 ? lv_db_query_value(conn,
                                            "SELECT status FROM batch_jobs WHERE id = $1 AND "
                                            "user_id = $2::int",
                                            2, params, status, sizeof status, &err)
                        : -1;
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no such batch job", NULL);
    else if (strcmp(status, "cancelled") != 0)
        lv_resp_error(req, 409, "conflict", "the batch job has already ended", NULL);
    else
        answer_job(req, conn, id, 200);
    lv_db_release(app->pool, conn);
}

/* ---- Runs ----------------------------------------------------------------------------------- */

/* A metric by name, or -1. */
static int metric_index(const char *name, size_t len)
{
    for (int m = 0; m < LV_METRIC_COUNT; m++)
        if (strlen(lv_metric_names[m]) == len && strncmp(lv_metric_names[m], name, len) == 0)
            return m;
    return -1;
}

#define MAX_FILTERS 8

struct run_query {
    int sort_metric; /* -1 = run_index */
    bool descending;
    int n_filters;
    int filter_metric[MAX_FILTERS];
    const char *filter_op[MAX_FILTERS];
    char filter_value[MAX_FILTERS][32];
};

/* Parses sort=[-]KEY and where=KEY OP NUMBER,… into q; adds problems for anything else. */
static void parse_run_query(const char *sort, const char *where, struct run_query *q,
                            struct lv_problems *problems)
{
    memset(q, 0, sizeof *q);
    q->sort_metric = -1;
    if (sort != NULL && sort[0] != '\0') {
        q->descending = sort[0] == '-';
        const char *key = sort + (sort[0] == '-' || sort[0] == '+');
        q->sort_metric = strcmp(key, "run_index") == 0 ? -1 : metric_index(key, strlen(key));
        if (q->sort_metric < 0 && strcmp(key, "run_index") != 0)
            lv_problems_add(problems, "?sort", "unknown metric \"%s\"", key);
    }
    static const char *const ops[] = {">=", "<=", "!=", ">", "<", "=", NULL};
    for (const char *item = where; item != NULL && *item != '\0';) {
        const char *comma = strchr(item, ',');
        size_t len = comma != NULL ? (size_t)(comma - item) : strlen(item);
        size_t name_len = strcspn(item, "<>=!");
        const char *op = NULL;
        for (const char *const *o = ops; name_len < len && *o != NULL && op == NULL; o++)
            if (strncmp(item + name_len, *o, strlen(*o)) == 0)
                op = *o;
        int m = metric_index(item, name_len);
        const char *number = op != NULL ? item + name_len + strlen(op) : NULL;
        size_t number_len = number != NULL ? len - (size_t)(number - item) : 0;
        char value[32] = "";
        char *end = NULL;
        if (number != NULL && number_len > 0 && number_len < sizeof value) {
            memcpy(value, number, number_len);
            value[number_len] = '\0';
            double v = strtod(value, &end);
            if (!isfinite(v))
                end = NULL;
        }
        if (m < 0 || op == NULL || end == NULL || *end != '\0' || q->n_filters == MAX_FILTERS)
            lv_problems_add(problems, "?where",
                            "\"%.*s\" is not METRIC OP NUMBER (OP one of > >= < <= = !=, at "
                            "most %d conditions)",
                            (int)len, item, MAX_FILTERS);
        else {
            q->filter_metric[q->n_filters] = m;
            q->filter_op[q->n_filters] = op;
            snprintf(q->filter_value[q->n_filters], sizeof q->filter_value[0], "%s", value);
            q->n_filters++;
        }
        item = comma != NULL ? comma + 1 : NULL;
    }
}

/* Appends " AND (metrics->>'KEY')::float8 OP $n::float8" per filter. Metric names and
 * operators come from this file's tables, never from the request; values are parameters. */
static void append_filters(char *sql, size_t cap, const struct run_query *q, int first_param)
{
    for (int i = 0; i < q->n_filters; i++) {
        size_t at = strlen(sql);
        snprintf(sql + at, cap - at, " AND (metrics->>'%s')::double precision %s $%d::float8",
                 lv_metric_names[q->filter_metric[i]], q->filter_op[i], first_param + i);
    }
}

/* Checks that the caller owns job `id`, reading its variables when `vars` is not NULL.
 * Returns 0, or -1 after answering (404, 500). */
static int load_job_vars(struct lv_req *req, PGconn *conn, const char *id,
                         struct lv_batch_vars *vars)
{
    char user_id[16];
    lv_api_caller_text(req, user_id);
    const char *params[] = {id, user_id};
    struct lv_db_error err;
    int found;
    json_t *stored = lv_api_query_json(conn,
                                       "SELECT variables FROM batch_jobs WHERE id = $1 AND "
                                       "user_id = $2::int",
                                       2, params, &found, &err);
    struct lv_problems problems = {0};
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (found == 0)
        lv_resp_error(req, 404, "not_found", "no such batch job", NULL);
    else if (vars != NULL && lv_batch_vars_parse(stored, "/variables", vars, &problems) != 0)
        found = -1, lv_resp_error(req, 500, "internal_error", "internal error", NULL);
    lv_problems_free(&problems);
    json_decref(stored);
    return found == 1 ? 0 : -1;
}

static void list_runs(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = job_path_id(req);
    struct lv_page page;
    if (id == NULL || lv_api_read_page(req, 100, 1000, &page) != 0)
        return;
    struct run_query q;
    struct lv_problems problems = {0};
    parse_run_query(lv_req_query(req, "sort"), lv_req_query(req, "where"), &q, &problems);
    if (problems.count > 0) {
        lv_resp_error(req, 400, "bad_request", problems.items[0].message,
                      lv_problems_to_details(&problems));
        lv_problems_free(&problems);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    if (load_job_vars(req, conn, id, NULL) != 0) {
        lv_db_release(app->pool, conn);
        return;
    }
    char order[160] = "run_index";
    if (q.sort_metric >= 0)
        snprintf(order, sizeof order, "(metrics->>'%s')::double precision %s NULLS LAST, run_index",
                 lv_metric_names[q.sort_metric], q.descending ? "DESC" : "ASC");
    else if (q.descending)
        snprintf(order, sizeof order, "run_index DESC");
    char where[1024] = "";
    append_filters(where, sizeof where, &q, 4);
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT json_build_object('items', COALESCE((SELECT json_agg(r ORDER BY n) FROM "
             "(SELECT json_build_object('run_index', run_index, 'variables', variables, 'metrics', "
             "metrics) AS r, row_number() OVER (ORDER BY %s) AS n FROM batch_job_runs WHERE "
             "batch_job_id = $1%s ORDER BY %s LIMIT $2::int OFFSET $3::int) AS page), '[]'), "
             "'total', (SELECT count(*) FROM batch_job_runs WHERE batch_job_id = $1%s))",
             order, where, order, where);
    const char *params[3 + MAX_FILTERS] = {id, page.limit_text, page.offset_text};
    for (int i = 0; i < q.n_filters; i++)
        params[3 + i] = q.filter_value[i];
    struct lv_db_error err;
    int found;
    json_t *runs = lv_api_query_json(conn, sql, 3 + q.n_filters, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found < 0) {
        lv_api_db_failure(req, &err);
        return;
    }
    json_object_set_new(runs, "limit", json_integer(page.limit));
    json_object_set_new(runs, "offset", json_integer(page.offset));
    lv_resp_json(req, 200, runs);
}

/* ---- CSV, streamed -------------------------------------------------------------------------- */

#define CSV_PAGE 2000 /* runs fetched per query while streaming */

struct csv_stream {
    struct lv_app *app;
    PGconn *conn; /* held for the whole response */
    char job_id[72];
    struct lv_batch_vars vars;
    long next_run; /* keyset: the next page starts after this run_index */
    bool header_sent, finished;
    struct lv_batch_buf pending; /* formatted bytes not yet handed out */
    size_t pending_off;
};

static void csv_free(void *ctx)
{
    struct csv_stream *s = ctx;
    if (s->conn != NULL)
        lv_db_release(s->app->pool, s->conn);
    lv_batch_vars_free(&s->vars);
    lv_batch_buf_free(&s->pending);
    free(s);
}

/* Formats the next page of runs into s->pending. Returns 0, or -1 on a database error. */
static int csv_fill(struct csv_stream *s)
{
    s->pending.len = 0;
    s->pending_off = 0;
    if (!s->header_sent) {
        s->header_sent = true;
        return lv_batch_csv_header(&s->pending, &s->vars);
    }
    char after[24], page[16];
    snprintf(after, sizeof after, "%ld", s->next_run);
    snprintf(page, sizeof page, "%d", CSV_PAGE);
    const char *params[] = {s->job_id, after, page};
    struct lv_db_error err;
    PGresult *res = lv_db_query(s->conn,
                                "SELECT run_index, variables::text, metrics::text FROM "
                                "batch_job_runs WHERE batch_job_id = $1 AND run_index > $2::int "
                                "ORDER BY run_index LIMIT $3::int",
                                3, params, &err);
    if (res == NULL) {
        fprintf(stderr, "lever: streaming batch %s CSV: %s\n", s->job_id, err.message);
        return -1;
    }
    int n = PQntuples(res);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        long run = atol(PQgetvalue(res, i, 0));
        json_t *assignment = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        json_t *metrics = json_loads(PQgetvalue(res, i, 2), 0, NULL);
        rc = lv_batch_csv_row(&s->pending, &s->vars, run, assignment, metrics);
        json_decref(assignment);
        json_decref(metrics);
        s->next_run = run;
    }
    PQclear(res);
    if (n < CSV_PAGE)
        s->finished = true;
    return rc;
}

static ssize_t csv_read(void *ctx, char *buf, size_t max)
{
    struct csv_stream *s = ctx;
    while (s->pending_off == s->pending.len) {
        if (s->finished && s->header_sent)
            return 0;
        if (csv_fill(s) != 0)
            return -1;
    }
    size_t n = s->pending.len - s->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, s->pending.data + s->pending_off, n);
    s->pending_off += n;
    return (ssize_t)n;
}

static void runs_csv(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = job_path_id(req);
    if (id == NULL)
        return;
    struct csv_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        return;
    }
    s->app = app;
    s->next_run = -1;
    snprintf(s->job_id, sizeof s->job_id, "%s", id);
    s->conn = lv_api_db(req, app);
    if (s->conn == NULL || load_job_vars(req, s->conn, id, &s->vars) != 0) {
        csv_free(s);
        return;
    }
    char disposition[128];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.csv\"", id);
    lv_resp_header(req, "Content-Disposition", disposition);
    lv_resp_stream(req, 200, "text/csv; charset=utf-8", csv_read, s, csv_free);
}

/* ---- Heatmap -------------------------------------------------------------------------------- */

static int value_position(const struct lv_batch_var *var, const char *value)
{
    for (int j = 0; j < var->n_values; j++)
        if (strcmp(var->values[j], value) == 0)
            return j;
    return -1;
}

/* The matrix of `metric` over variables x and y (rows = y values, columns = x values), other
 * variables averaged; failed runs and null metrics are left out of each mean. */
static json_t *heatmap_json(PGresult *res, const struct lv_batch_vars *vars, int x, int y,
                            const char *metric)
{
    const struct lv_batch_var *xv = &vars->vars[x], *yv = &vars->vars[y];
    json_t *values = json_array(), *counts = json_array();
    for (int r = 0; r < yv->n_values; r++) {
        json_t *row = json_array(), *count_row = json_array();
        for (int c = 0; c < xv->n_values; c++) {
            json_array_append_new(row, json_null());
            json_array_append_new(count_row, json_integer(0));
        }
        json_array_append_new(values, row);
        json_array_append_new(counts, count_row);
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int c = value_position(xv, PQgetvalue(res, i, 0));
        int r = value_position(yv, PQgetvalue(res, i, 1));
        if (c < 0 || r < 0)
            continue;
        if (!PQgetisnull(res, i, 2))
            json_array_set_new(json_array_get(values, (size_t)r), (size_t)c,
                               lv_json_number(strtod(PQgetvalue(res, i, 2), NULL)));
        json_array_set_new(json_array_get(counts, (size_t)r), (size_t)c,
                           json_integer(atol(PQgetvalue(res, i, 3))));
    }
    json_t *others = json_array();
    for (int k = 0; k < vars->n; k++)
        if (k != x && k != y)
            json_array_append_new(others, json_string(vars->vars[k].name));
    json_t *stored = lv_batch_vars_to_json(vars);
    json_t *out = json_pack(
        "{s:s, s:{s:s, s:O}, s:{s:s, s:O}, s:s, s:o, s:o, s:o}", "metric", metric, "x", "name",
        xv->name, "values", json_object_get(json_array_get(stored, (size_t)x), "values"), "y",
        "name", yv->name, "values", json_object_get(json_array_get(stored, (size_t)y), "values"),
        "aggregate", "mean", "aggregated_over", others, "values", values, "counts", counts);
    json_decref(stored);
    return out;
}

static void heatmap(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = job_path_id(req);
    if (id == NULL)
        return;
    const char *x_name = lv_req_query(req, "x"), *y_name = lv_req_query(req, "y");
    const char *metric = lv_req_query(req, "metric");
    if (metric == NULL)
        metric = "total_return";
    struct lv_problems problems = {0};
    if (metric_index(metric, strlen(metric)) < 0)
        lv_problems_add(&problems, "?metric", "unknown metric \"%s\"", metric);
    if (x_name == NULL)
        lv_problems_add(&problems, "?x", "required: a variable of the job");
    if (y_name == NULL)
        lv_problems_add(&problems, "?y", "required: a variable of the job");
    if (problems.count > 0) {
        lv_resp_error(req, 400, "bad_request", problems.items[0].message,
                      lv_problems_to_details(&problems));
        lv_problems_free(&problems);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    struct lv_batch_vars vars = {0};
    int owned = load_job_vars(req, conn, id, &vars) == 0 ? 1 : -1;
    int x = owned == 1 ? lv_batch_var_find(&vars, x_name, strlen(x_name)) : -1;
    int y = owned == 1 ? lv_batch_var_find(&vars, y_name, strlen(y_name)) : -1;
    if (owned == 1 && (x < 0 || y < 0 || x == y)) {
        lv_problems_add(&problems, x < 0 ? "?x" : "?y",
                        x == y && x >= 0 ? "x and y must be two different variables"
                                         : "not a variable of this job");
        lv_resp_error(req, 400, "bad_request", problems.items[0].message,
                      lv_problems_to_details(&problems));
    } else if (owned == 1) {
        const char *params[] = {id, vars.vars[x].name, vars.vars[y].name, metric};
        struct lv_db_error err;
        PGresult *res = lv_db_query(
            conn,
            "SELECT variables->>$2, variables->>$3, avg((metrics->>$4)::double precision), "
            "count((metrics->>$4)::double precision) FROM batch_job_runs "
            "WHERE batch_job_id = $1 GROUP BY 1, 2",
            4, params, &err);
        if (res == NULL)
            lv_api_db_failure(req, &err);
        else
            lv_resp_json(req, 200, heatmap_json(res, &vars, x, y, metric));
        PQclear(res);
    }
    lv_db_release(app->pool, conn);
    lv_batch_vars_free(&vars);
    lv_problems_free(&problems);
}

int lv_routes_batch(struct lv_router *router, struct lv_error *err)
{
    static const struct {
        const char *method, *pattern;
        lv_handler handler;
    } routes[] = {
        {"POST", "/api/v1/batch-jobs", create_job},
        {"GET", "/api/v1/batch-jobs", list_jobs},
        {"GET", "/api/v1/batch-jobs/{id}", get_job},
        {"POST", "/api/v1/batch-jobs/{id}/cancel", cancel_job},
        {"GET", "/api/v1/batch-jobs/{id}/runs", list_runs},
        {"GET", "/api/v1/batch-jobs/{id}/runs.csv", runs_csv},
        {"GET", "/api/v1/batch-jobs/{id}/heatmap", heatmap},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (lv_router_add(router, routes[i].method, routes[i].pattern, routes[i].handler, 0, err))
            return -1;
    return 0;
}
