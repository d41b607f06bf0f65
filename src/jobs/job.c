/* job.c — a batch job held by a worker process (see job.h): loading its document and
 * variables, and running one run into a COPY line. */
#include "jobs/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backtest_memo.h"
#include "core/strategy.h"

/* Most memory the job's memo keeps (sort scores and subtree outcomes shared by its runs);
 * past it, runs compute what is not kept. The complex sample batch needs about 200 MiB. */
#define JOB_MEMO_BUDGET ((size_t)512 * 1024 * 1024)

/* What one thread reuses from run to run. */
struct job_slot {
    struct lv_batch_template *doc; /* the run document with this thread's values bound */
    struct lv_strategy *strategy;  /* this thread's last bound strategy (memory reused) */
    struct lv_backtest_workspace *ws;
    struct lv_backtest_result result;
    char *escape; /* COPY-escaping scratch */
    size_t escape_cap;
};

struct lv_job {
    char id[256];
    struct lv_batch_vars vars;
    json_t *doc;       /* run document: top-level fields and options, plus "elements" */
    bool options_vary; /* some option (start_date, end_date, …) holds a variable */
    struct lv_backtest_options options;    /* the options of every run when !options_vary */
    struct lv_strategy_template *strategy; /* compiled once; each run binds its values */
    const struct lv_market *market;        /* borrowed */
    struct lv_series_cache *cache;         /* owned: this job's series in this process */
    struct lv_backtest_memo *memo;         /* owned: work shared by the runs; may be NULL */
    int n_slots;
    struct job_slot *slots;
};

const char *lv_job_id(const struct lv_job *job)
{
    return job->id;
}

void lv_job_free(struct lv_job *job)
{
    if (job == NULL)
        return;
    for (int i = 0; i < job->n_slots; i++) {
        lv_batch_template_free(job->slots[i].doc);
        lv_strategy_free(job->slots[i].strategy);
        lv_backtest_workspace_free(job->slots[i].ws);
        lv_backtest_result_free(&job->slots[i].result);
        free(job->slots[i].escape);
    }
    free(job->slots);
    lv_backtest_memo_free(job->memo);
    lv_strategy_template_free(job->strategy);
    lv_series_cache_free(job->cache);
    json_decref(job->doc);
    lv_batch_vars_free(&job->vars);
    free(job);
}

/* Builds the job from its row: elements, options (an object), variables (stored form). */
static int prepare(struct lv_job *job, const char *elements, const char *options,
                   const char *variables, int n_threads, struct lv_error *err)
{
    json_error_t jerr;
    job->doc = json_loads(options, 0, &jerr);
    json_t *els = json_loads(elements, 0, &jerr);
    json_t *vars = json_loads(variables, 0, &jerr);
    int rc = -1;
    struct lv_problems problems = {0};
    if (!json_is_object(job->doc) || els == NULL || vars == NULL) {
        lv_fail(err, "the job's stored document is not valid JSON");
        goto done;
    }
    json_object_set(job->doc, "elements", els);
    if (lv_batch_vars_parse(vars, "/variables", &job->vars, &problems) != 0) {
        lv_fail(err, "the job's variables are invalid: %s: %s", problems.items[0].path,
                problems.items[0].message);
        goto done;
    }
    const char *names[LV_BATCH_MAX_VARS];
    for (int k = 0; k < job->vars.n; k++)
        names[k] = job->vars.vars[k].name;
    if (lv_strategy_template_compile(job->doc, names, job->vars.n, &job->strategy, NULL, &problems,
                                     NULL) != 0) {
        lv_fail(err, "the job's strategy is invalid: %s: %s",
                problems.count ? problems.items[0].path : "",
                problems.count ? problems.items[0].message : "out of memory");
        goto done;
    }
    job->options_vary = lv_batch_options_vary(job->doc, &job->vars);
    lv_backtest_options_init(&job->options);
    if (!job->options_vary && lv_backtest_options_read(job->doc, &job->options, &problems) != 0) {
        lv_fail(err, "the job's options are invalid: %s: %s", problems.items[0].path,
                problems.items[0].message);
        goto done;
    }
    job->slots = calloc((size_t)n_threads, sizeof *job->slots);
    if (job->slots == NULL) {
        lv_fail(err, "out of memory");
        goto done;
    }
    job->n_slots = n_threads;
    for (int i = 0; i < n_threads; i++) {
        job->slots[i].doc = lv_batch_template_new(job->doc, &job->vars);
        job->slots[i].ws = lv_backtest_workspace_new();
        if (job->slots[i].doc == NULL || job->slots[i].ws == NULL) {
            lv_fail(err, "out of memory");
            goto done;
        }
        /* A batch row stores the run's metrics only. */
        lv_backtest_workspace_metrics_only(job->slots[i].ws, true);
    }
    rc = 0;
done:
    lv_problems_free(&problems);
    json_decref(els);
    json_decref(vars);
    return rc;
}

int lv_job_load(PGconn *conn, const char *job_id, const struct lv_market *market, int n_threads,
                struct lv_job **out, bool *db_failed, struct lv_error *err)
{
    *out = NULL;
    *db_failed = false;
    const char *params[] = {job_id};
    struct lv_db_error db_err;
    PGresult *res = lv_db_query(conn,
                                "SELECT strategy_elements::text, options::text, variables::text "
                                "FROM batch_jobs WHERE id = $1",
                                1, params, &db_err);
    if (res == NULL) {
        *db_failed = true;
        return lv_fail(err, "%s", db_err.message);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    struct lv_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        PQclear(res);
        return lv_fail(err, "out of memory");
    }
    snprintf(job->id, sizeof job->id, "%s", job_id);
    job->market = market;
    int rc = prepare(job, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                     n_threads, err);
    PQclear(res);
    if (rc == 0 && lv_job_reset_cache(job) != 0)
        rc = lv_fail(err, "out of memory");
    if (rc != 0) {
        lv_job_free(job);
        return -1;
    }
    *out = job;
    return 1;
}

int lv_job_reset_cache(struct lv_job *job)
{
    /* The memo goes too: it is the other big consumer, and belongs to the same market.
     * Without memory for a new one, runs simply share nothing. */
    int n_values[LV_BATCH_MAX_VARS];
    for (int k = 0; k < job->vars.n; k++)
        n_values[k] = job->vars.vars[k].n_values;
    lv_backtest_memo_free(job->memo);
    job->memo = lv_backtest_memo_new(job->strategy, n_values, JOB_MEMO_BUDGET);
    lv_series_cache_free(job->cache);
    job->cache = lv_series_cache_new(job->market);
    return job->cache != NULL ? 0 : -1;
}

/* Appends `text` escaped for COPY text format. */
static int append_copy_field(struct job_slot *slot, struct lv_batch_buf *line, const char *text)
{
    size_t need = 2 * strlen(text) + 1;
    if (need > slot->escape_cap) {
        char *grown = realloc(slot->escape, need);
        if (grown == NULL)
            return -1;
        slot->escape = grown;
        slot->escape_cap = need;
    }
    int len = lv_db_copy_escape(text, slot->escape, slot->escape_cap);
    return len < 0 ? -1 : lv_batch_buf_append(line, slot->escape, (size_t)len);
}

/* Runs one assignment; returns its metrics, or {"error": ...} (new reference). */
static json_t *run_assignment(struct lv_job *job, struct job_slot *slot, const int *value_index)
{
    struct lv_problems problems = {0};
    struct lv_backtest_options options = job->options;
    struct lv_error err;
    json_t *metrics = NULL;
    if (job->options_vary) {
        /* Date variables: the options come from this run's bound document. */
        const json_t *doc = lv_batch_template_bind(slot->doc, value_index);
        lv_backtest_options_init(&options);
        if (doc == NULL || lv_backtest_options_read(doc, &options, &problems) != 0) {
            lv_fail(&err, "invalid option %s: %s", problems.count ? problems.items[0].path : "",
                    problems.count ? problems.items[0].message : "out of memory");
            goto failed;
        }
    }
    const char *values[LV_BATCH_MAX_VARS];
    for (int k = 0; k < job->vars.n; k++)
        values[k] = job->vars.vars[k].values[value_index[k]];
    if (lv_strategy_template_bind(job->strategy, values, &slot->strategy, &problems) != 0) {
        lv_fail(&err, "invalid strategy: %s: %s", problems.count ? problems.items[0].path : "",
                problems.count ? problems.items[0].message : "out of memory");
        goto failed;
    }
    if (lv_backtest_run_memo(slot->strategy, values, job->memo, job->market, job->cache, &options,
                             slot->ws, &slot->result, &err) != 0)
        goto failed;
    metrics = lv_metrics_to_json(&slot->result.metrics);
    goto done;
failed:
    metrics = json_pack("{s:s}", "error", err.message);
done:
    lv_problems_free(&problems);
    return metrics;
}

int lv_job_run(struct lv_job *job, int slot_index, long run, struct lv_batch_buf *line)
{
    struct job_slot *slot = &job->slots[slot_index];
    int value_index[LV_BATCH_MAX_VARS];
    lv_batch_decode(&job->vars, run, value_index);
    json_t *assignment = lv_batch_assignment_json(&job->vars, value_index);
    json_t *metrics = run_assignment(job, slot, value_index);
    char *assignment_text = assignment ? json_dumps(assignment, JSON_COMPACT) : NULL;
    char *metrics_text = metrics ? json_dumps(metrics, JSON_COMPACT) : NULL;
    char run_text[32];
    snprintf(run_text, sizeof run_text, "\t%ld\t", run);
    int rc = -1;
    if (assignment_text != NULL && metrics_text != NULL)
        rc = append_copy_field(slot, line, job->id) ||
                     lv_batch_buf_append(line, run_text, strlen(run_text)) ||
                     append_copy_field(slot, line, assignment_text) ||
                     lv_batch_buf_append(line, "\t", 1) ||
                     append_copy_field(slot, line, metrics_text) ||
                     lv_batch_buf_append(line, "\n", 1)
                 ? -1
                 : 0;
    free(assignment_text);
    free(metrics_text);
    json_decref(assignment);
    json_decref(metrics);
    return rc;
}
