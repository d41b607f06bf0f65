/* test_strategy_bind.c — batch templates: binding a run's values into a template compiled once
 * must give exactly what compiling the substituted document gives (tables, problems, days). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "csv_table.h"
#include "test_strategy_support.h"

#define MAX_VARS 16

/* A batch: a document and, per variable, its name and values (borrowed from JSON or static). */
struct batch {
    json_t *doc;
    json_t *vars_json; /* owns the sample files' value strings */
    int n_vars;
    const char *names[MAX_VARS];
    int n_values[MAX_VARS];
    const char *values[MAX_VARS][4096];
};

/* ---- The oracle: substitute into JSON, then compile --------------------------------------- */

/* The variable a string refers to (§8: the whole trimmed value is $name), or -1. */
static int reference_of(const struct batch *b, const char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    if (*text != '$')
        return -1;
    char name[128];
    snprintf(name, sizeof name, "%s", text + 1);
    for (size_t len = strlen(name); len > 0 && isspace((unsigned char)name[len - 1]); len--)
        name[len - 1] = '\0';
    for (int k = 0; k < b->n_vars; k++)
        if (strcasecmp(b->names[k], name) == 0)
            return k;
    return -1;
}

static json_t *substitute(const struct batch *b, const json_t *value, const char *const *values)
{
    if (json_is_string(value)) {
        int k = reference_of(b, json_string_value(value));
        return k >= 0 ? json_string(values[k]) : json_deep_copy(value);
    }
    if (json_is_object(value)) {
        json_t *copy = json_object();
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)value, key, member)
            json_object_set_new(copy, key, substitute(b, member, values));
        return copy;
    }
    if (json_is_array(value)) {
        json_t *copy = json_array();
        size_t i;
        json_t *member;
        json_array_foreach(value, i, member)
            json_array_append_new(copy, substitute(b, member, values));
        return copy;
    }
    return json_deep_copy(value);
}

static int compile_substituted(const struct batch *b, const char *const *values,
                               struct lv_strategy **out, struct lv_problems *problems)
{
    json_t *doc = substitute(b, b->doc, values);
    assert_non_null(doc);
    int rc = lv_strategy_compile(doc, out, problems, NULL);
    json_decref(doc);
    return rc;
}

/* ---- Comparisons ---------------------------------------------------------------------------- */

static void expect_same_key(const struct lv_series_key *want, const struct lv_series_key *got)
{
    assert_int_equal(got->kind, want->kind);
    assert_int_equal(got->ind, want->ind);
    assert_true(lv_ind_params_equal(&got->params, &want->params));
    if (want->kind == LV_SERIES_INDICATOR) {
        assert_string_equal(got->ticker, want->ticker);
    } else {
        assert_int_equal(got->sort, want->sort);
        assert_int_equal(got->child, want->child);
    }
}

static void expect_same_ids(const struct lv_strategy *want, const struct lv_strategy *got, int node)
{
    int want_ids[4096], got_ids[4096];
    int n = lv_strategy_subtree_series(want, node, want_ids, 4096);
    assert_int_equal(lv_strategy_subtree_series(got, node, got_ids, 4096), n);
    assert_memory_equal(got_ids, want_ids, (size_t)(n < 4096 ? n : 4096) * sizeof(int));
    n = lv_strategy_subtree_tickers(want, node, want_ids, 4096);
    assert_int_equal(lv_strategy_subtree_tickers(got, node, got_ids, 4096), n);
    assert_memory_equal(got_ids, want_ids, (size_t)(n < 4096 ? n : 4096) * sizeof(int));
}

/* Same tables in the same order: series, held tickers, sorts, nodes, subtree queries. */
static void expect_same_tables(const struct lv_strategy *want, const struct lv_strategy *got)
{
    const char *want_name = lv_strategy_name(want), *got_name = lv_strategy_name(got);
    assert_true((want_name == NULL) == (got_name == NULL));
    if (want_name != NULL)
        assert_string_equal(got_name, want_name);
    assert_int_equal(lv_strategy_n_series(got), lv_strategy_n_series(want));
    for (int id = 0; id < lv_strategy_n_series(want); id++)
        expect_same_key(lv_strategy_series(want, id), lv_strategy_series(got, id));
    assert_int_equal(lv_strategy_n_tickers(got), lv_strategy_n_tickers(want));
    for (int id = 0; id < lv_strategy_n_tickers(want); id++)
        assert_string_equal(lv_strategy_ticker(got, id), lv_strategy_ticker(want, id));
    assert_int_equal(lv_strategy_n_sorts(got), lv_strategy_n_sorts(want));
    for (int i = 0; i < lv_strategy_n_sorts(want); i++) {
        const struct lv_sort_info *w = lv_strategy_sort(want, i), *g = lv_strategy_sort(got, i);
        assert_int_equal(g->node, w->node);
        assert_int_equal(g->depth, w->depth);
        assert_int_equal(g->ind, w->ind);
        assert_true(lv_ind_params_equal(&g->params, &w->params));
        assert_int_equal(g->n_children, w->n_children);
        assert_memory_equal(g->child_nodes, w->child_nodes, (size_t)w->n_children * sizeof(int));
        assert_memory_equal(g->score_series, w->score_series, (size_t)w->n_children * sizeof(int));
    }
    assert_int_equal(lv_strategy_n_nodes(got), lv_strategy_n_nodes(want));
    expect_same_ids(want, got, LV_ROOT);
    for (int node = 0; node < lv_strategy_n_nodes(want); node++) {
        assert_int_equal(lv_strategy_node_ticker(got, node), lv_strategy_node_ticker(want, node));
        expect_same_ids(want, got, node);
    }
}

static double random_unit(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (double)(*state >> 11) / 9007199254740992.0;
}

/* Identical allocations, bit for bit, for the whole tree and every node alone, on random
 * days (values spread over the thresholds' range, a few missing). */
static void expect_same_evaluations(const struct lv_strategy *want, const struct lv_strategy *got,
                                    uint64_t *rng, int days)
{
    struct lv_evaluator *want_ev = lv_evaluator_new(want), *got_ev = lv_evaluator_new(got);
    struct lv_alloc want_alloc, got_alloc;
    assert_true(want_ev && got_ev);
    assert_int_equal(lv_alloc_init(&want_alloc, want), 0);
    assert_int_equal(lv_alloc_init(&got_alloc, got), 0);
    int n = lv_strategy_n_series(want);
    double *values = malloc(((size_t)n + 1) * sizeof *values);
    assert_non_null(values);
    for (int day = 0; day < days; day++) {
        for (int id = 0; id < n; id++)
            values[id] = random_unit(rng) < 0.03 ? NAN : -50 + 150 * random_unit(rng);
        for (int root = LV_ROOT; root < lv_strategy_n_nodes(want); root++) {
            struct lv_eval_report want_report, got_report;
            lv_evaluate(want_ev, root, values, &want_alloc, &want_report);
            lv_evaluate(got_ev, root, values, &got_alloc, &got_report);
            assert_int_equal(got_alloc.n, want_alloc.n);
            assert_memory_equal(got_alloc.ticker, want_alloc.ticker,
                                (size_t)want_alloc.n * sizeof(int));
            assert_memory_equal(got_alloc.weight, want_alloc.weight,
                                (size_t)want_alloc.n * sizeof(double));
            assert_int_equal(got_report.n_missing, want_report.n_missing);
            assert_int_equal(got_report.first_missing, want_report.first_missing);
        }
    }
    free(values);
    lv_alloc_free(&want_alloc);
    lv_alloc_free(&got_alloc);
    lv_evaluator_free(want_ev);
    lv_evaluator_free(got_ev);
}

static void print_problems(const char *title, const struct lv_problems *problems)
{
    print_error("%s:\n", title);
    for (int i = 0; i < problems->count; i++)
        print_error("  %s: %s\n", problems->items[i].path, problems->items[i].message);
}

static void expect_same_problems(const struct lv_problems *want, const struct lv_problems *got)
{
    bool same = got->count == want->count;
    for (int i = 0; same && i < want->count; i++)
        same = strcmp(got->items[i].path, want->items[i].path) == 0 &&
               strcmp(got->items[i].message, want->items[i].message) == 0;
    if (!same) {
        print_problems("compile", want);
        print_problems("bind", got);
        fail_msg("different problems");
    }
}

/* Binds one assignment (reusing *bound) and checks it against the oracle. Returns whether
 * the run compiled. */
static bool check_assignment(const struct batch *b, const struct lv_strategy_template *t,
                             const char *const *values, struct lv_strategy **bound, uint64_t *rng,
                             int days)
{
    struct lv_problems want_problems = {0}, got_problems = {0};
    struct lv_strategy *want = NULL;
    int want_rc = compile_substituted(b, values, &want, &want_problems);
    int got_rc = lv_strategy_template_bind(t, values, bound, &got_problems);
    if (got_rc != want_rc) {
        for (int k = 0; k < b->n_vars; k++)
            print_error("  $%s = \"%s\"\n", b->names[k], values[k]);
        print_problems("compile", &want_problems);
        print_problems("bind", &got_problems);
        fail_msg("compile says %d, bind says %d", want_rc, got_rc);
    }
    if (want_rc == 0) {
        assert_int_equal(got_problems.count, 0);
        expect_same_tables(want, *bound);
        expect_same_evaluations(want, *bound, rng, days);
    } else {
        assert_null(*bound);
        expect_same_problems(&want_problems, &got_problems);
    }
    lv_strategy_free(want);
    lv_problems_free(&want_problems);
    lv_problems_free(&got_problems);
    return want_rc == 0;
}

static struct lv_strategy_template *compile_template(const struct batch *b, bool *used)
{
    struct lv_problems problems = {0};
    struct lv_strategy_template *t = NULL;
    if (lv_strategy_template_compile(b->doc, b->names, b->n_vars, &t, used, &problems, NULL) != 0) {
        print_problems("template", &problems);
        fail_msg("template refused");
    }
    lv_problems_free(&problems);
    return t;
}

/* Run `run`'s values in odometer order (the last variable changes fastest). */
static void decode_run(const struct batch *b, long run, const char **values)
{
    for (int k = b->n_vars - 1; k >= 0; k--) {
        values[k] = b->values[k][run % b->n_values[k]];
        run /= b->n_values[k];
    }
}

/* ---- The sample batches --------------------------------------------------------------------- */

static json_t *load_sample(const char *name)
{
    char relative[256], path[512];
    json_error_t error;
    snprintf(relative, sizeof relative, "data/strategies/%s", name);
    json_t *doc = json_load_file(csv_shared_path(relative, path, sizeof path), 0, &error);
    if (doc == NULL)
        fail_msg("cannot load %s: %s", path, error.text);
    return doc;
}

static void load_batch(struct batch *b, const char *doc_file, const char *vars_file)
{
    memset(b, 0, sizeof *b);
    b->doc = load_sample(doc_file);
    b->vars_json = load_sample(vars_file);
    const json_t *vars = json_object_get(b->vars_json, "variables");
    size_t k;
    const json_t *var;
    json_array_foreach(vars, k, var)
    {
        assert_true(k < MAX_VARS);
        b->names[k] = json_string_value(json_object_get(var, "name"));
        const json_t *values = json_object_get(var, "values");
        assert_true(json_array_size(values) <= 4096);
        for (size_t i = 0; i < json_array_size(values); i++)
            b->values[k][i] = json_string_value(json_array_get(values, i));
        b->n_values[k] = (int)json_array_size(values);
        b->n_vars = (int)k + 1;
    }
}

static void free_batch(struct batch *b)
{
    json_decref(b->doc);
    json_decref(b->vars_json);
}

static long total_runs(const struct batch *b)
{
    long total = 1;
    for (int k = 0; k < b->n_vars; k++)
        total *= b->n_values[k];
    return total;
}

/* The first runs, then a random sample of the rest. */
static void check_sample_batch(const char *doc_file, const char *vars_file, int n_random)
{
    static struct batch b;
    load_batch(&b, doc_file, vars_file);
    bool used[MAX_VARS];
    struct lv_strategy_template *t = compile_template(&b, used);
    assert_false(lv_strategy_template_needs_json(t));
    for (int k = 0; k < b.n_vars; k++)
        assert_true(used[k]);
    struct lv_strategy *bound = NULL;
    uint64_t rng = 42;
    long total = total_runs(&b);
    const char *values[MAX_VARS];
    for (long i = 0; i < 30 + n_random; i++) {
        long run = i < 30 ? i : (long)(random_unit(&rng) * (double)total);
        decode_run(&b, run, values);
        assert_true(check_assignment(&b, t, values, &bound, &rng, 3));
    }
    lv_strategy_free(bound);
    lv_strategy_template_free(t);
    free_batch(&b);
}

static void sma_switch_batch_binds_like_substitution(void **state)
{
    (void)state;
    check_sample_batch("batch-sma-switch.json", "batch-sma-switch-variables.json", 300);
}

static void complex_batch_binds_like_substitution(void **state)
{
    (void)state;
    check_sample_batch("complex-batch.json", "complex-batch-variables.json", 120);
}

/* ---- Variables in every kind of field ------------------------------------------------------- */

/* clang-format off */
static const char every_field[] =
    "{'name':'$nm','elements':[{'type':'weight','weightMode':'defined','weight':'$w',"
    "'children':["
    "{'type':'gate','weight':'$w2','conditionMode':'if_any','conditions':["
      "{'ticker':'$t1','indicator':'RSI','params':{'period':'$p'},'operator':'gt',"
      "'threshold':'$thr'},"
      "{'ticker':'SPY','indicator':'MACD_SIGNAL','params':{'fastperiod':'$fast',"
      "'slowperiod':'26','signalperiod':'$sig'},'operator':'lt','compareTo':'indicator',"
      "'rightTicker':'$t2','rightIndicator':'SMA','rightParams':{'period':'$p'}},"
      "{'ticker':'QQQ','indicator':'VOLATILITY','params':{'period':'20','annualize':'$ann'},"
      "'operator':'gt','threshold':'0.2'},"
      "{'ticker':'$T1','indicator':'MACD','period':'$macd','operator':'gt','threshold':'0'},"
      "{'ticker':'qqq','indicator':'RSI','params':{},'operator':'lt','threshold':'$thr'}],"
    "'thenChildren':[{'type':'ticker','ticker':'$t1','weight':'50'},"
                    "{'type':'ticker','ticker':'TLT','weight':'$w'}],"
    "'elseChildren':[{'type':'ticker','ticker':' $t2 '}]},"
    "{'type':'sort','weight':'40','direction':'top','count':'$n','indicator':'RETURN',"
    "'params':{'period':'$p'},'children':["
      "{'type':'ticker','ticker':'$t1','weight':'1'},{'type':'ticker','ticker':'$t2','weight':'1'},"
      "{'type':'weight','weightMode':'equal','weight':'1','children':["
        "{'type':'ticker','ticker':'GLD'},{'type':'ticker','ticker':'$t2'}]}]},"
    "{'type':'scale','weight':'60','config':{'ticker':'$t2','indicator':'RSI',"
    "'params':{'period':'$p'},'rangeMin':'$lo','rangeMax':'$hi'},"
    "'fromChildren':[{'type':'ticker','ticker':'SPY'}],"
    "'toChildren':[{'type':'ticker','ticker':'$t1'}]}"
    "]}]}";
/* clang-format on */

struct var_def {
    const char *name;
    const char *values[12];
};

/* Mostly good values, some bad in every way the parser refuses. */
static const struct var_def every_field_vars[] = {
    {"nm", {"run", "$w", "  "}},
    {"w", {"100", "0.5", " 2 ", "0", "-1", "abc"}},
    {"w2", {"60", "1e1", "Infinity"}},
    {"t1", {"SPY", "qqq", " tlt ", "GLD", "BRK.B", "", "TOO_LONG_TICKER_X", "A B", "$zz"}},
    {"t2", {"SPY", "TLT", "gld", "QQQ", "IEF"}},
    {"p", {"14", "2", "200", "10", "1", "1.5", "", "x"}},
    {"thr", {"50", "-0", "1e-3", "50abc", "NaN"}},
    {"fast", {"12", "30", "2", "1", ""}},
    {"sig", {"9", "2", "1"}},
    {"ann", {"true", "false", "1", "TRUE"}},
    {"macd", {"12-26-9", "5", "8-21", "12--9", "x-y", "1-26-9", "3"}},
    {"n", {"1", "2", "3", "0", "1.5", "1e12"}},
    {"lo", {"30", "70", "0"}},
    {"hi", {"70", "30", "100"}},
};

static void define_batch(struct batch *b, const char *text, const struct var_def *defs, int n)
{
    memset(b, 0, sizeof *b);
    b->doc = parse_quoted(text);
    b->n_vars = n;
    for (int k = 0; k < n; k++) {
        b->names[k] = defs[k].name;
        while (b->n_values[k] < 12 && defs[k].values[b->n_values[k]] != NULL) {
            b->values[k][b->n_values[k]] = defs[k].values[b->n_values[k]];
            b->n_values[k]++;
        }
    }
}

/* Random assignments: each variable mostly takes one of its first (good) values. */
static void check_random_assignments(const struct batch *b, const struct lv_strategy_template *t,
                                     int n_runs, int *n_ok)
{
    struct lv_strategy *bound = NULL;
    uint64_t rng = 7;
    const char *values[MAX_VARS];
    *n_ok = 0;
    for (int run = 0; run < n_runs; run++) {
        for (int k = 0; k < b->n_vars; k++) {
            int pick = random_unit(&rng) < 0.9 ? (int)(random_unit(&rng) * 3)
                                               : (int)(random_unit(&rng) * b->n_values[k]);
            values[k] = b->values[k][pick < b->n_values[k] ? pick : 0];
        }
        *n_ok += check_assignment(b, t, values, &bound, &rng, 2);
    }
    lv_strategy_free(bound);
}

static void every_field_binds_like_substitution(void **state)
{
    (void)state;
    static struct batch b;
    int n_vars = (int)(sizeof every_field_vars / sizeof *every_field_vars);
    define_batch(&b, every_field, every_field_vars, n_vars);
    bool used[MAX_VARS];
    struct lv_strategy_template *t = compile_template(&b, used);
    assert_false(lv_strategy_template_needs_json(t));
    for (int k = 0; k < n_vars; k++)
        assert_true(used[k]);
    int n_ok;
    check_random_assignments(&b, t, 1500, &n_ok);
    /* both outcomes are well represented */
    assert_true(n_ok > 200);
    assert_true(n_ok < 1300);
    lv_strategy_template_free(t);
    json_decref(b.doc);
}

/* Binding can merge what the template kept apart: two variables naming the same ticker make
 * one series and one held ticker, exactly as the compile's first-appearance order says. */
static void equal_values_share_series_and_tickers(void **state)
{
    (void)state;
    static struct batch b;
    static const struct var_def defs[] = {{"a", {"SPY"}}, {"b", {"spy"}}, {"p", {"14"}}};
    define_batch(&b,
                 "[" G("if",
                       "{'ticker':'$a','indicator':'RSI','params':{'period':'$p'},"
                       "'operator':'gt','threshold':'50'},"
                       "{'ticker':'$b','indicator':'RSI','params':{},'operator':'gt',"
                       "'threshold':'40'}",
                       T("$b", 100), T("TLT", 50) "," T("$a", 50), 100) "]",
                 defs, 3);
    struct lv_strategy_template *t = compile_template(&b, NULL);
    struct lv_strategy *bound = NULL;
    uint64_t rng = 1;
    const char *values[] = {"SPY", "spy", "14"};
    assert_true(check_assignment(&b, t, values, &bound, &rng, 5));
    assert_int_equal(lv_strategy_n_series(bound), 1);
    assert_int_equal(lv_strategy_n_tickers(bound), 2);
    assert_string_equal(lv_strategy_ticker(bound, 0), "SPY");
    assert_string_equal(lv_strategy_ticker(bound, 1), "TLT");
    /* rebinding the same strategy object to different values splits them again */
    const char *apart[] = {"QQQ", "IWM", "10"};
    assert_true(check_assignment(&b, t, apart, &bound, &rng, 5));
    assert_int_equal(lv_strategy_n_series(bound), 2);
    assert_int_equal(lv_strategy_n_tickers(bound), 3);
    lv_strategy_free(bound);
    lv_strategy_template_free(t);
    json_decref(b.doc);
}

/* Bound keys that equal a later constant (which then starts earlier), an earlier constant,
 * each other, or nothing: every combination numbers series and tickers as the compile does. */
static void first_appearance_order_survives_every_collision(void **state)
{
    (void)state;
    static struct batch b;
    static const struct var_def defs[] = {{"a", {"SPY", "QQQ", "IWM", "TLT"}},
                                          {"b", {"SPY", "QQQ", "IWM", "TLT"}},
                                          {"x", {"SPY", "QQQ", "IWM", "TLT"}},
                                          {"y", {"SPY", "QQQ", "IWM", "TLT"}},
                                          {"p", {"14", "10"}}};
    define_batch(
        &b,
        "[" G("if_any",
              C("$a", "RSI", "14", "gt", "50") "," C("SPY", "RSI", "14", "gt", "50") "," C(
                  "QQQ", "RSI", "$p", "gt", "50") "," C("$b", "RSI", "10", "gt",
                                                        "50") "," C("QQQ", "RSI", "14", "gt", "50"),
              T("$x", 20) "," T("SPY", 20) "," T("QQQ", 20) "," T("$y", 20) "," T("SPY", 20),
              S("top", 1, T("$y", 1) "," T("GLD", 1), 100), 100) "]",
        defs, 5);
    struct lv_strategy_template *t = compile_template(&b, NULL);
    struct lv_strategy *bound = NULL;
    uint64_t rng = 11;
    for (long run = 0; run < total_runs(&b); run++) {
        const char *values[5];
        decode_run(&b, run, values);
        assert_true(check_assignment(&b, t, values, &bound, &rng, 2));
    }
    lv_strategy_free(bound);
    lv_strategy_template_free(t);
    json_decref(b.doc);
}

/* ---- Template problems ---------------------------------------------------------------------- */

static void undefined_names_are_problems_and_used_is_reported(void **state)
{
    (void)state;
    json_t *doc = parse_quoted("{'description':'$note','elements':[" G(
        "if", C("$Risk", "RSI", "14", "gt", "$level"), T("$risk", 100), T("TLT", 100), 100) "]}");
    const char *names[] = {"risk", "unused", "note"};
    bool used[3];
    struct lv_problems problems = {0};
    struct lv_strategy_template *t = NULL;
    assert_int_equal(lv_strategy_template_compile(doc, names, 3, &t, used, &problems, NULL), -1);
    assert_null(t);
    assert_int_equal(problems.count, 1);
    expect_problem(&problems, "/elements/0/conditions/0/threshold", "undefined variable $level");
    assert_true(used[0]);
    assert_false(used[1]);
    assert_true(used[2]); /* outside "elements" counts too */
    lv_problems_free(&problems);
    json_decref(doc);
}

/* Problems that no value can fix are found once, at the same pointers as the compile's. */
static void constant_problems_are_reported_by_the_template(void **state)
{
    (void)state;
    json_t *doc = parse_quoted(
        "[" G("if", C("$t", "RSI", "1", "gt", "50abc"), T("$t", 100), T("TLT", -5), 100) "]");
    const char *names[] = {"t"};
    struct lv_problems problems = {0};
    struct lv_strategy_template *t = NULL;
    assert_int_equal(lv_strategy_template_compile(doc, names, 1, &t, NULL, &problems, NULL), -1);
    expect_problem(&problems, "/0/conditions/0/params/period", "at least 2");
    expect_problem(&problems, "/0/conditions/0/threshold", "must be a number, got \"50abc\"");
    expect_problem(&problems, "/0/elseChildren/0/weight", "must be at least 0");
    assert_int_equal(problems.count, 3);
    lv_problems_free(&problems);
    json_decref(doc);
}

/* A MACD whose periods are all variables is only checked as a whole once bound. */
static void composite_parameters_are_checked_when_bound(void **state)
{
    (void)state;
    static struct batch b;
    static const struct var_def defs[] = {
        {"f", {"12", "1", "40"}}, {"s", {"26", "5"}}, {"g", {"9", "1", ""}}};
    define_batch(&b,
                 "[" G("if",
                       "{'ticker':'SPY','indicator':'MACD_LINE','params':{'fastperiod':'$f',"
                       "'slowperiod':'$s','signalperiod':'$g'},'operator':'gt',"
                       "'threshold':'0'}",
                       T("SPY", 100), T("TLT", 100), 100) "]",
                 defs, 3);
    struct lv_strategy_template *t = compile_template(&b, NULL);
    struct lv_strategy *bound = NULL;
    uint64_t rng = 3;
    int n_ok = 0;
    for (long run = 0; run < total_runs(&b); run++) {
        const char *values[3];
        decode_run(&b, run, values);
        n_ok += check_assignment(&b, t, values, &bound, &rng, 2);
    }
    assert_int_equal(n_ok, 2 * 2 * 2); /* f in {12, 40}, s in {26, 5}, g in {9, ""} */
    lv_strategy_free(bound);
    lv_strategy_template_free(t);
    json_decref(b.doc);
}

/* ---- Variables that decide the shape -------------------------------------------------------- */

static void shape_variables_bind_through_json(void **state)
{
    (void)state;
    static struct batch b;
    static const struct var_def defs[] = {{"mode", {"equal", "defined", "bogus"}},
                                          {"op", {"gt", "lt", "between"}},
                                          {"ind", {"RSI", "sma", "NOPE"}},
                                          {"t", {"SPY", "QQQ", ""}}};
    define_batch(&b,
                 "[{'type':'weight','weightMode':'$mode','weight':100,'children':["
                 "{'type':'gate','weight':'50','conditions':[{'ticker':'$t','indicator':'$ind',"
                 "'operator':'$op','threshold':'50'}],'thenChildren':[" T(
                     "$t", 100) "],'elseChildren':[" T("TLT", 100) "]}," T("GLD", 50) "]}]",
                 defs, 4);
    struct lv_strategy_template *t = compile_template(&b, NULL);
    assert_true(lv_strategy_template_needs_json(t));
    struct lv_strategy *bound = NULL;
    uint64_t rng = 5;
    int n_ok = 0;
    for (long run = 0; run < total_runs(&b); run++) {
        const char *values[4];
        decode_run(&b, run, values);
        n_ok += check_assignment(&b, t, values, &bound, &rng, 3);
    }
    assert_int_equal(n_ok, 2 * 2 * 2 * 2);
    lv_strategy_free(bound);
    lv_strategy_template_free(t);
    json_decref(b.doc);
}

/* ---- Speed ---------------------------------------------------------------------------------- */

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* Prints the cost of one bind next to one compile of the substituted document; a bind must
 * at least beat the compile by far (the target is 20 us on complex-batch.json). */
static void binding_is_much_faster_than_compiling(void **state)
{
    (void)state;
    static struct batch b;
    load_batch(&b, "complex-batch.json", "complex-batch-variables.json");
    struct lv_strategy_template *t = compile_template(&b, NULL);
    struct lv_strategy *bound = NULL;
    struct lv_problems problems = {0};
    const char *values[MAX_VARS];
    long total = total_runs(&b);
    int n_binds = 20000, n_compiles = 300;
    double start = seconds_now();
    for (int i = 0; i < n_binds; i++) {
        decode_run(&b, (long)i * 7919 % total, values);
        assert_int_equal(lv_strategy_template_bind(t, values, &bound, &problems), 0);
    }
    double bind_us = (seconds_now() - start) / n_binds * 1e6;
    start = seconds_now();
    for (int i = 0; i < n_compiles; i++) {
        struct lv_strategy *s = NULL;
        decode_run(&b, (long)i * 7919 % total, values);
        assert_int_equal(compile_substituted(&b, values, &s, &problems), 0);
        lv_strategy_free(s);
    }
    double compile_us = (seconds_now() - start) / n_compiles * 1e6;
    print_message("complex-batch.json: bind %.2f us, substitute + compile %.1f us (%d nodes, "
                  "%d series)\n",
                  bind_us, compile_us, lv_strategy_n_nodes(bound), lv_strategy_n_series(bound));
    assert_true(bind_us * 5 < compile_us);
    lv_strategy_free(bound);
    lv_strategy_template_free(t);
    free_batch(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sma_switch_batch_binds_like_substitution),
        cmocka_unit_test(complex_batch_binds_like_substitution),
        cmocka_unit_test(every_field_binds_like_substitution),
        cmocka_unit_test(equal_values_share_series_and_tickers),
        cmocka_unit_test(first_appearance_order_survives_every_collision),
        cmocka_unit_test(undefined_names_are_problems_and_used_is_reported),
        cmocka_unit_test(constant_problems_are_reported_by_the_template),
        cmocka_unit_test(composite_parameters_are_checked_when_bound),
        cmocka_unit_test(shape_variables_bind_through_json),
        cmocka_unit_test(binding_is_much_faster_than_compiling),
    };
    return cmocka_run_group_tests_name("strategy_bind", tests, NULL, NULL);
}
