/* test_strategy_support.c — helpers for the strategy tests (see test_strategy_support.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_strategy_support.h"

json_t *parse_quoted(const char *text)
{
    char *json_text = strdup(text);
    assert_non_null(json_text);
    for (char *c = json_text; *c; c++)
        if (*c == '\'')
            *c = '"';
    json_error_t error;
    json_t *doc = json_loads(json_text, JSON_DECODE_ANY, &error);
    if (doc == NULL)
        fail_msg("bad test JSON (%s at %d): %s", error.text, error.position, json_text);
    free(json_text);
    return doc;
}

static void print_problems(const struct lv_problems *problems)
{
    for (int i = 0; i < problems->count; i++)
        print_error("  %s: %s\n", problems->items[i].path, problems->items[i].message);
}

void run_open(struct run *run, const char *text)
{
    memset(run, 0, sizeof *run);
    json_t *doc = parse_quoted(text);
    struct lv_problems problems = {0};
    int rc = lv_strategy_compile(doc, &run->s, &problems, &run->warnings);
    json_decref(doc);
    if (rc != 0) {
        print_problems(&problems);
        lv_problems_free(&problems);
        fail_msg("strategy refused: %s", text);
    }
    lv_problems_free(&problems);
    run->ev = lv_evaluator_new(run->s);
    assert_non_null(run->ev);
    assert_int_equal(lv_alloc_init(&run->alloc, run->s), 0);
    run->values = malloc(((size_t)lv_strategy_n_series(run->s) + 1) * sizeof *run->values);
    assert_non_null(run->values);
    run_clear(run);
}

void run_close(struct run *run)
{
    free(run->values);
    lv_alloc_free(&run->alloc);
    lv_evaluator_free(run->ev);
    lv_strategy_free(run->s);
    lv_problems_free(&run->warnings);
}

void run_clear(struct run *run)
{
    for (int i = 0; i < lv_strategy_n_series(run->s); i++)
        run->values[i] = NAN;
}

int series_id(const struct lv_strategy *s, const char *spec)
{
    char ticker[LV_TICKER_MAX], ind_name[32], rest[128] = "";
    int n = sscanf(spec, "%15s %31s %127[^\n]", ticker, ind_name, rest);
    assert_true(n >= 2);
    enum lv_ind ind;
    assert_true(lv_ind_from_name(ind_name, &ind));
    struct lv_ind_params params;
    lv_ind_default_params(ind, &params);
    for (char *item = strtok(rest, " "); item != NULL; item = strtok(NULL, " ")) {
        char *eq = strchr(item, '=');
        assert_non_null(eq);
        *eq = '\0';
        int index = lv_ind_param_index(ind, item);
        assert_true(index >= 0);
        params.v[index] = strtod(eq + 1, NULL);
    }
    for (int id = 0; id < lv_strategy_n_series(s); id++) {
        const struct lv_series_key *key = lv_strategy_series(s, id);
        if (key->kind == LV_SERIES_INDICATOR && key->ind == ind &&
            strcmp(key->ticker, ticker) == 0 && lv_ind_params_equal(&key->params, &params))
            return id;
    }
    fail_msg("no series %s", spec);
    return -1;
}

int score_id(const struct lv_strategy *s, int sort, int child)
{
    const struct lv_sort_info *info = lv_strategy_sort(s, sort);
    assert_non_null(info);
    assert_true(child >= 0 && child < info->n_children);
    int id = info->score_series[child];
    const struct lv_series_key *key = lv_strategy_series(s, id);
    assert_int_equal(key->kind, LV_SERIES_SORT_SCORE);
    assert_int_equal(key->sort, sort);
    assert_int_equal(key->child, child);
    return id;
}

void run_set(struct run *run, const char *spec, double value)
{
    run->values[series_id(run->s, spec)] = value;
}

void run_set_score(struct run *run, int sort, int child, double value)
{
    run->values[score_id(run->s, sort, child)] = value;
}

void run_eval(struct run *run)
{
    lv_evaluate(run->ev, LV_ROOT, run->values, &run->alloc, &run->report);
}

void run_eval_node(struct run *run, int node)
{
    lv_evaluate(run->ev, node, run->values, &run->alloc, &run->report);
}

static void print_alloc(const struct run *run)
{
    print_error("  got:");
    for (int i = 0; i < run->alloc.n; i++)
        print_error(" %s %.6f", lv_strategy_ticker(run->s, run->alloc.ticker[i]),
                    100 * run->alloc.weight[i]);
    print_error(run->alloc.n ? "\n" : " (cash)\n");
}

void expect_alloc(const struct run *run, const char *expected)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", expected);
    int i = 0;
    for (char *item = strtok(buf, ","); item != NULL; item = strtok(NULL, ","), i++) {
        char ticker[LV_TICKER_MAX];
        double percent;
        assert_int_equal(sscanf(item, "%15s %lf", ticker, &percent), 2);
        if (i >= run->alloc.n) {
            print_alloc(run);
            fail_msg("expected %s: missing %s", expected, ticker);
        }
        const char *got = lv_strategy_ticker(run->s, run->alloc.ticker[i]);
        double got_percent = 100 * run->alloc.weight[i];
        if (strcmp(got, ticker) != 0 || fabs(got_percent - percent) > 5e-5) {
            print_alloc(run);
            fail_msg("expected %s", expected);
        }
    }
    if (i != run->alloc.n) {
        print_alloc(run);
        fail_msg("expected %s", *expected ? expected : "cash");
    }
}

struct lv_problems compile_refused(const char *text)
{
    json_t *doc = parse_quoted(text);
    struct lv_problems problems = {0};
    struct lv_strategy *s = NULL;
    int rc = lv_strategy_compile(doc, &s, &problems, NULL);
    json_decref(doc);
    if (rc == 0) {
        lv_strategy_free(s);
        fail_msg("strategy accepted: %s", text);
    }
    assert_null(s);
    assert_true(problems.count > 0);
    return problems;
}

void expect_problem(const struct lv_problems *problems, const char *path, const char *part)
{
    for (int i = 0; i < problems->count; i++)
        if (strcmp(problems->items[i].path, path) == 0 &&
            strstr(problems->items[i].message, part) != NULL)
            return;
    print_problems(problems);
    fail_msg("no problem at \"%s\" containing \"%s\"", path, part);
}
