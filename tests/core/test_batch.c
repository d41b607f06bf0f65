/* test_batch.c — variables and batches (core/batch.h): definitions, references, odometer
 * decoding, substitution, summary and CSV rows, including the reference cases B-1…B-7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (doc == NULL)
        fail_msg("bad test JSON: %s", err.text);
    return doc;
}

/* Parses a variables array that must be valid. */
static void vars_of(const char *text, struct lv_batch_vars *vars)
{
    json_t *doc = parse(text);
    struct lv_problems problems = {0};
    int rc = lv_batch_vars_parse(doc, "/variables", vars, &problems);
    if (rc != 0)
        fail_msg("unexpected problem %s: %s", problems.items[0].path, problems.items[0].message);
    lv_problems_free(&problems);
    json_decref(doc);
}

static bool has_problem(const struct lv_problems *p, const char *path, const char *needle)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->items[i].path, path) == 0 && strstr(p->items[i].message, needle) != NULL)
            return true;
    return false;
}

static void definitions_are_read_and_normalised(void **state)
{
    (void)state;
    struct lv_batch_vars vars;
    vars_of("[{\"name\": \" $Ticker \", \"values\": [\" SPY\", \"QQQ \"], \"count\": 9},"
            " {\"name\": \"n\", \"values\": [10, 2.5, \"20\"]}]",
            &vars);
    assert_int_equal(vars.n, 2);
    assert_string_equal(vars.vars[0].name, "ticker");
    assert_int_equal(vars.vars[0].n_values, 2);
    assert_string_equal(vars.vars[0].values[0], "SPY");
    assert_string_equal(vars.vars[0].values[1], "QQQ");
    assert_string_equal(vars.vars[1].values[0], "10");
    assert_string_equal(vars.vars[1].values[1], "2.5");
    assert_int_equal(lv_batch_var_find(&vars, "TICKER", 6), 0);
    assert_int_equal(lv_batch_var_find(&vars, "N", 1), 1);
    assert_int_equal(lv_batch_var_find(&vars, "x", 1), -1);
    json_t *stored = lv_batch_vars_to_json(&vars);
    char *text = json_dumps(stored, JSON_COMPACT);
    assert_string_equal(text, "[{\"name\":\"ticker\",\"values\":[\"SPY\",\"QQQ\"],\"count\":2},"
                              "{\"name\":\"n\",\"values\":[\"10\",\"2.5\",\"20\"],\"count\":3}]");
    free(text);
    json_decref(stored);
    lv_batch_vars_free(&vars);
}

static void bad_definitions_name_every_offender(void **state)
{
    (void)state;
    json_t *doc = parse("[{\"name\": \"1x\", \"values\": [\"a\"]},"
                        " {\"name\": \"ok\", \"values\": []},"
                        " {\"name\": \"OK\", \"values\": [\"a\", \"  \", {}]},"
                        " 7]");
    struct lv_batch_vars vars;
    struct lv_problems problems = {0};
    assert_int_equal(lv_batch_vars_parse(doc, "/variables", &vars, &problems), -1);
    assert_int_equal(vars.n, 0);
    assert_true(has_problem(&problems, "/variables/0/name", "not a variable name"));
    assert_true(has_problem(&problems, "/variables/1/values", "non-empty"));
    assert_true(has_problem(&problems, "/variables/2/name", "defined twice"));
    assert_true(has_problem(&problems, "/variables/2/values/1", "empty"));
    assert_true(has_problem(&problems, "/variables/2/values/2", "string or a number"));
    assert_true(has_problem(&problems, "/variables/3", "object"));
    lv_problems_free(&problems);
    json_decref(doc);

    doc = parse("{\"name\": \"x\"}");
    assert_int_equal(lv_batch_vars_parse(doc, "/variables", &vars, &problems), -1);
    assert_true(has_problem(&problems, "/variables", "array"));
    lv_problems_free(&problems);
    json_decref(doc);
}

/* B-5: whole trimmed strings only; B-1's composite "12-$s-9" is not a reference. */
static void references_are_whole_trimmed_strings(void **state)
{
    (void)state;
    const char *name;
    size_t len;
    assert_true(lv_batch_reference(" $TICKER ", &name, &len));
    assert_int_equal(len, 6);
    assert_memory_equal(name, "TICKER", 6);
    assert_true(lv_batch_reference("$_a1", &name, &len));
    assert_false(lv_batch_reference("12-$s-9", &name, &len));
    assert_false(lv_batch_reference("$1x", &name, &len));
    assert_false(lv_batch_reference("$", &name, &len));
    assert_false(lv_batch_reference("$a b", &name, &len));
    assert_false(lv_batch_reference("Gate $n", &name, &len));
}

static void undefined_and_unused_variables_are_reported(void **state)
{
    (void)state;
    struct lv_batch_vars vars;
    vars_of(
        "[{\"name\": \"t\", \"values\": [\"SPY\"]}, {\"name\": \"unused\", \"values\": [\"1\"]}]",
        &vars);
    json_t *doc = parse("{\"elements\": [{\"type\": \"ticker\", \"ticker\": \"$T\"},"
                        " {\"type\": \"gate\", \"conditions\": [{\"threshold\": \"$x\","
                        " \"params\": {\"a/b\": \"$y\"}}], \"name\": \"Gate $n\"}]}");
    bool used[2] = {false, false};
    struct lv_problems problems = {0};
    lv_batch_scan(doc, "/strategy", &vars, used, &problems);
    assert_true(used[0]);
    assert_false(used[1]);
    assert_int_equal(problems.count, 2);
    assert_true(has_problem(&problems, "/strategy/elements/1/conditions/0/threshold",
                            "undefined variable $x"));
    assert_true(has_problem(&problems, "/strategy/elements/1/conditions/0/params/a~1b",
                            "undefined variable $y"));
    assert_int_equal(lv_batch_check_unused(&vars, used, "/variables", &problems), 1);
    assert_true(has_problem(&problems, "/variables/1/name", "$unused is defined but not used"));
    lv_problems_free(&problems);
    json_decref(doc);
    lv_batch_vars_free(&vars);
}

/* B-2: odometer order, first variable slowest. */
static void runs_decode_in_odometer_order(void **state)
{
    (void)state;
    struct lv_batch_vars vars;
    vars_of("[{\"name\": \"x\", \"values\": [\"30\", \"50\"]},"
            " {\"name\": \"t\", \"values\": [\"XLK\", \"XLE\", \"XLF\"]}]",
            &vars);
    bool truncated = true;
    assert_int_equal(lv_batch_total(&vars, LV_BATCH_DEFAULT_CAP, &truncated), 6);
    assert_false(truncated);
    static const char *const expected[6][2] = {{"30", "XLK"}, {"30", "XLE"}, {"30", "XLF"},
                                               {"50", "XLK"}, {"50", "XLE"}, {"50", "XLF"}};
    int idx[LV_BATCH_MAX_VARS];
    for (long run = 0; run < 6; run++) {
        lv_batch_decode(&vars, run, idx);
        assert_string_equal(vars.vars[0].values[idx[0]], expected[run][0]);
        assert_string_equal(vars.vars[1].values[idx[1]], expected[run][1]);
    }
    json_t *preview = lv_batch_preview(&vars, 6);
    char *text = json_dumps(json_array_get(preview, 4), JSON_COMPACT);
    assert_string_equal(text, "{\"x\":\"50\",\"t\":\"XLE\"}");
    assert_int_equal(json_array_size(preview), 6);
    free(text);
    json_decref(preview);
    lv_batch_vars_free(&vars);
}

/* B-3: a cap truncates in odometer order; products far beyond a long do not overflow. */
static void total_is_capped_and_flags_truncation(void **state)
{
    (void)state;
    struct lv_batch_vars vars;
    vars_of("[{\"name\": \"a\", \"values\": [\"1\", \"2\", \"3\"]},"
            " {\"name\": \"b\", \"values\": [\"1\", \"2\", \"3\"]}]",
            &vars);
    bool truncated = false;
    assert_int_equal(lv_batch_total(&vars, 4, &truncated), 4);
    assert_true(truncated);
    int idx[LV_BATCH_MAX_VARS];
    lv_batch_decode(&vars, 3, idx);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 0);
    assert_int_equal(lv_batch_total(&vars, 9, &truncated), 9);
    assert_false(truncated);
    lv_batch_vars_free(&vars);

    /* 20 variables of 100 values: 10^40 combinations. */
    json_t *many = json_array();
    for (int k = 0; k < 20; k++) {
        json_t *values = json_array();
        for (int j = 0; j < 100; j++)
            json_array_append_new(values, json_integer(j));
        char name[8];
        snprintf(name, sizeof name, "v%d", k);
        json_array_append_new(many, json_pack("{s:s, s:o}", "name", name, "values", values));
    }
    struct lv_problems problems = {0};
    assert_int_equal(lv_batch_vars_parse(many, "/variables", &vars, &problems), 0);
    assert_int_equal(lv_batch_total(&vars, LV_BATCH_DEFAULT_CAP, &truncated), LV_BATCH_DEFAULT_CAP);
    assert_true(truncated);
    lv_batch_decode(&vars, LV_BATCH_DEFAULT_CAP - 1, idx); /* 999999 = digits 99 99 99 */
    assert_int_equal(idx[19], 99);
    assert_int_equal(idx[17], 99);
    assert_int_equal(idx[16], 0);
    lv_batch_vars_free(&vars);
    json_decref(many);
}

/* The sample batch defines 10 × 10 × 2000 = 200,000 runs. */
static void sample_batch_has_200000_runs(void **state)
{
    (void)state;
    const char *shared = getenv("LEVER_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/strategies/batch-sma-switch-variables.json",
             shared != NULL ? shared : "../shared");
    json_error_t jerr;
    json_t *file = json_load_file(path, 0, &jerr);
    if (file == NULL)
        skip();
    struct lv_batch_vars vars;
    struct lv_problems problems = {0};
    assert_int_equal(
        lv_batch_vars_parse(json_object_get(file, "variables"), "/variables", &vars, &problems), 0);
    bool truncated;
    assert_int_equal(lv_batch_total(&vars, LV_BATCH_DEFAULT_CAP, &truncated), 200000);
    int idx[LV_BATCH_MAX_VARS];
    lv_batch_decode(&vars, 199999, idx);
    assert_string_equal(vars.vars[0].values[idx[0]], "EWJ");
    assert_string_equal(vars.vars[1].values[idx[1]], "DBC");
    assert_string_equal(vars.vars[2].values[idx[2]], "2009");
    lv_batch_vars_free(&vars);
    json_decref(file);
}

/* B-5: substitution replaces defined references only and never numbers. */
static void substitution_and_template_agree(void **state)
{
    (void)state;
    struct lv_batch_vars vars;
    vars_of("[{\"name\": \"ticker\", \"values\": [\"XLK\", \"XLE\"]},"
            " {\"name\": \"p\", \"values\": [\"14\", \"21\"]}]",
            &vars);
    json_t *doc = parse("{\"elements\": [{\"ticker\": \" $TICKER \", \"weight\": 100,"
                        " \"x\": \"$unknown\", \"y\": \"12-$s-9\","
                        " \"params\": {\"period\": \"$p\"}, \"other\": [\"$ticker\"]}]}");
    int idx[2] = {1, 0};
    json_t *copy = lv_batch_substitute(doc, &vars, idx);
    char *text = json_dumps(copy, JSON_COMPACT);
    assert_string_equal(text, "{\"elements\":[{\"ticker\":\"XLE\",\"weight\":100,"
                              "\"x\":\"$unknown\",\"y\":\"12-$s-9\","
                              "\"params\":{\"period\":\"14\"},\"other\":[\"XLE\"]}]}");

    struct lv_batch_template *t = lv_batch_template_new(doc, &vars);
    assert_non_null(t);
    assert_int_equal(lv_batch_template_uses(t, 0), 2);
    assert_int_equal(lv_batch_template_uses(t, 1), 1);
    int first[2] = {0, 1};
    lv_batch_template_bind(t, first); /* a previous run leaves nothing behind */
    const json_t *bound = lv_batch_template_bind(t, idx);
    assert_true(json_equal((json_t *)bound, copy));
    /* The caller's document is untouched. */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "elements"), 0), "ticker")),
                        " $TICKER ");
    lv_batch_template_free(t);
    free(text);
    json_decref(copy);
    json_decref(doc);
    lv_batch_vars_free(&vars);
}

static void typed_values_are_checked_with_their_index(void **state)
{
    (void)state;
    struct lv_problems problems = {0};
    json_t *in = parse("[\" spy \", \"brk.b\"]");
    json_t *out = lv_batch_typed_values(in, LV_BATCH_TICKER, "/values", &problems);
    char *text = json_dumps(out, JSON_COMPACT);
    assert_string_equal(text, "[\"SPY\",\"BRK.B\"]");
    free(text);
    json_decref(out);
    json_decref(in);

    in = parse("[\"SPY\", \"NOT A TICKER\", 5]");
    assert_null(lv_batch_typed_values(in, LV_BATCH_TICKER, "/values", &problems));
    assert_true(has_problem(&problems, "/values/1", "\"NOT A TICKER\" is not a ticker"));
    assert_true(has_problem(&problems, "/values/2", "must be a string"));
    json_decref(in);

    in = parse("[\"1.5\", 3, \" -2e3 \", \"50abc\", \"Infinity\", \"0x10\"]");
    assert_null(lv_batch_typed_values(in, LV_BATCH_NUMBER, "/values", &problems));
    assert_true(has_problem(&problems, "/values/3", "50abc"));
    assert_true(has_problem(&problems, "/values/4", "Infinity"));
    assert_true(has_problem(&problems, "/values/5", "0x10"));
    assert_int_equal(problems.count, 5);
    json_decref(in);

    in = parse("[\"2020-02-29\", \"2021-02-29\", \"2020-1-1\"]");
    assert_null(lv_batch_typed_values(in, LV_BATCH_DATE, "/values", &problems));
    assert_true(has_problem(&problems, "/values/1", "2021-02-29"));
    assert_true(has_problem(&problems, "/values/2", "2020-1-1"));
    assert_int_equal(problems.count, 7);
    json_decref(in);
    lv_problems_free(&problems);

    enum lv_batch_type type;
    assert_int_equal(lv_batch_type_parse("date", &type), 0);
    assert_int_equal(type, LV_BATCH_DATE);
    assert_int_equal(lv_batch_type_parse("Date", &type), -1);
}

/* B-7 (plus median and best sharpe): failures count in total_runs only. */
static void summary_ignores_failed_runs(void **state)
{
    (void)state;
    struct lv_batch_outcome outcomes[] = {
        {.run = 0, .total_return = 0.1, .sharpe = 0.5},
        {.run = 1, .failed = true, .total_return = NAN, .sharpe = NAN},
        {.run = 2, .total_return = 0.3, .sharpe = 0.4},
        {.run = 3, .total_return = 0.3, .sharpe = NAN},
    };
    struct lv_batch_summary s;
    assert_int_equal(lv_batch_summarize(outcomes, 4, &s), 0);
    assert_int_equal(s.total_runs, 4);
    assert_int_equal(s.succeeded, 3);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.best_run, 2); /* tie with run 3: the lowest index wins */
    assert_int_equal(s.worst_run, 0);
    assert_int_equal(s.best_sharpe_run, 0);
    assert_near(s.avg_return, 0.7 / 3);
    assert_near(s.median_return, 0.3);
    assert_near(s.best_sharpe, 0.5);

    assert_int_equal(lv_batch_summarize(outcomes, 3, &s), 0);
    assert_near(s.median_return, 0.2); /* even count: mean of the middle two */

    assert_int_equal(lv_batch_summarize(&outcomes[1], 1, &s), 0);
    assert_int_equal(s.best_run, -1);
    assert_true(isnan(s.avg_return));
    json_t *json = lv_batch_summary_to_json(&s, NULL, NULL);
    char *text = json_dumps(json, JSON_COMPACT);
    assert_string_equal(text, "{\"total_runs\":1,\"succeeded\":0,\"failed\":1,\"best\":null,"
                              "\"worst\":null,\"avg_return\":null,\"median_return\":null,"
                              "\"best_sharpe\":null}");
    free(text);
    json_decref(json);
}

/* B-6 fixed: RFC 4180 quoting, §8 column order, empty cells for null metrics. */
static void csv_rows_follow_the_layout(void **state)
{
    (void)state;
    struct lv_batch_vars vars;
    vars_of(
        "[{\"name\": \"t\", \"values\": [\"XLK\"]}, {\"name\": \"label\", \"values\": [\"x\"]}]",
        &vars);
    struct lv_batch_buf buf = {0};
    assert_int_equal(lv_batch_csv_header(&buf, &vars), 0);
    assert_string_equal(buf.data,
                        "run_index,t,label,total_return,cagr,volatility,sharpe,sortino,"
                        "max_drawdown,max_drawdown_days,calmar,win_rate,best_day,worst_day,beta,"
                        "alpha,correlation,exposure,turnover,trades,error\r\n");
    buf.len = 0;
    json_t *assignment = parse("{\"t\": \"XLK\", \"label\": \"a \\\"b\\\", c\"}");
    json_t *metrics = parse("{\"total_return\": 0.07000000000000006, \"cagr\": null,"
                            " \"max_drawdown_days\": 12, \"trades\": 3, \"sharpe\": 1.5}");
    assert_int_equal(lv_batch_csv_row(&buf, &vars, 7, assignment, metrics), 0);
    assert_string_equal(buf.data, "7,XLK,\"a \"\"b\"\", c\",0.07000000000000006,,,1.5,,,12,,,,,,,,,"
                                  ",3,\r\n");
    buf.len = 0;
    json_t *failed = parse("{\"error\": \"no bars for BAD, sorry\\nreally\"}");
    assert_int_equal(lv_batch_csv_row(&buf, &vars, 8, assignment, failed), 0);
    assert_string_equal(buf.data, "8,XLK,\"a \"\"b\"\", c\",,,,,,,,,,,,,,,,,,"
                                  "\"no bars for BAD, sorry\nreally\"\r\n");
    lv_batch_buf_free(&buf);
    json_decref(failed);
    json_decref(metrics);
    json_decref(assignment);
    lv_batch_vars_free(&vars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(definitions_are_read_and_normalised),
        cmocka_unit_test(bad_definitions_name_every_offender),
        cmocka_unit_test(references_are_whole_trimmed_strings),
        cmocka_unit_test(undefined_and_unused_variables_are_reported),
        cmocka_unit_test(runs_decode_in_odometer_order),
        cmocka_unit_test(total_is_capped_and_flags_truncation),
        cmocka_unit_test(sample_batch_has_200000_runs),
        cmocka_unit_test(substitution_and_template_agree),
        cmocka_unit_test(typed_values_are_checked_with_their_index),
        cmocka_unit_test(summary_ignores_failed_runs),
        cmocka_unit_test(csv_rows_follow_the_layout),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
