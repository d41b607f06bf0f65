/* test_strategy_validate.c — validation (strategy-language.md §2): every rule refuses with a
 * JSON Pointer to the field, all problems are reported at once, and warnings are notes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_strategy_support.h"

#define RSI14_GT50 C("SPY", "RSI", "14", "gt", "50")
#define X_THEN     T("X", 100)
#define Y_ELSE     T("Y", 100)

/* Compiles `text`, expecting exactly one problem, at `path`, containing `part`. */
static void refused_once(const char *text, const char *path, const char *part)
{
    struct lv_problems problems = compile_refused(text);
    expect_problem(&problems, path, part);
    if (problems.count != 1)
        fail_msg("%d problems for %s", problems.count, text);
    lv_problems_free(&problems);
}

/* A one-gate strategy whose single condition is `cond`. */
static void refused_condition(const char *cond, const char *path, const char *part)
{
    char text[2048];
    snprintf(text, sizeof text, "{'elements':[" G("if", "%s", X_THEN, Y_ELSE, 100) "]}", cond);
    refused_once(text, path, part);
}

static void accepted(const char *text)
{
    struct run run;
    run_open(&run, text);
    run_close(&run);
}

static void documents(void **state)
{
    (void)state;
    struct run run;
    run_open(&run, "{'name':'Trend','description':'d','benchmark_symbol':'SPY','startDate':'max',"
                   "'ui':{'zoom':2},'elements':[" T("SPY", 100) "]}");
    assert_string_equal(lv_strategy_name(run.s), "Trend");
    run_close(&run);
    run_open(&run, "[" T("spy", 100) "]"); /* a bare array; tickers are upper-cased */
    assert_null(lv_strategy_name(run.s));
    assert_string_equal(lv_strategy_ticker(run.s, 0), "SPY");
    run_close(&run);

    refused_once("{'name':'x'}", "/elements", "missing");
    refused_once("{'elements':{}}", "/elements", "must be an array");
    refused_once("{'elements':[]}", "/elements", "at least one element");
    refused_once("'SPY'", "", "must be an object with \"elements\" or an array");
}

static void element_types_and_weights(void **state)
{
    (void)state;
    refused_once("[{'type':'stock','ticker':'SPY'}," T("A", 100) "]", "/0/type",
                 "unknown element type \"stock\"");
    refused_once("[{'ticker':'SPY'}," T("A", 100) "]", "/0/type", "missing");
    refused_once("[" T("SPY", -5) "]", "/0/weight", "must be at least 0, got -5");
    refused_once("[{'type':'ticker','ticker':'SPY','weight':'ten'}]", "/0/weight",
                 "must be a number, got \"ten\"");
    refused_once("[{'type':'ticker','ticker':''}]", "/0/ticker", "must not be empty");
    refused_once("[{'type':'ticker','ticker':'TOO_LONG_TICKER_X'}]", "/0/ticker", "too long");
    refused_once("[{'type':'ticker'}]", "/0/ticker", "missing");
    refused_once("[" T("SPY", 100) ",3]", "/1", "must be an element object");
    accepted("[{'type':'ticker','ticker':' spy ','weight':' 60 '}]"); /* numeric string */
}

static void missing_weights(void **state)
{
    (void)state;
    /* C-28: a defined child without a weight. */
    refused_once("[" W("defined", T("A", 50) "," TN("B"), 100) "]", "/0/children/1/weight",
                 "missing");
    refused_once("[" G("if", RSI14_GT50, T("A", 50) "," TN("B"), T("C", 100), 100) "]",
                 "/0/thenChildren/1/weight", "missing");
    refused_once(
        "[" SC("SPY", "RSI", "10", "0", "100", T("A", 100), TN("B") "," T("C", 1), 100) "]",
        "/0/toChildren/0/weight", "missing");
    refused_once("[" S("top", 1, TN("A") "," T("B", 100), 100) "]", "/0/children/0/weight",
                 "missing");
    /* One child takes everything; equal nodes and the top level need no weights. */
    accepted("[" G("if", RSI14_GT50, TN("A"), TN("B"), 100) "]");
    accepted("[" W("equal", TN("A") "," TN("B"), 100) "," TN("C") "]");
    accepted("[" S("top", 1, TN("A"), 100) "]");
}

static void gates(void **state)
{
    (void)state;
    refused_once("[" G("if", , X_THEN, Y_ELSE, 100) "]", "/0/conditions", "at least one condition");
    refused_once("[{'type':'gate','thenChildren':[" T("A", 100) "]}]", "/0/conditions",
                 "at least one condition");
    refused_once("[" G("maybe", RSI14_GT50, X_THEN, Y_ELSE, 100) "]", "/0/conditionMode",
                 "must be one of \"if\", \"if_all\", \"if_any\", \"if_none\", got \"maybe\"");
    refused_condition(C("SPY", "RSI", "14", "above", "50"), "/elements/0/conditions/0/operator",
                      "got \"above\"");
    refused_condition("{'ticker':'SPY','indicator':'RSI','threshold':'50'}",
                      "/elements/0/conditions/0/operator", "missing");
    refused_condition("{'ticker':'SPY','indicator':'RSI','operator':'gt','compareTo':'other',"
                      "'threshold':'50'}",
                      "/elements/0/conditions/0/compareTo", "got \"other\"");
    refused_condition("{'ticker':'SPY','indicator':'RSI','operator':'gt','compareTo':'value'}",
                      "/elements/0/conditions/0/threshold", "missing");
    refused_condition("{'ticker':'SPY','indicator':'RSI','operator':'gt',"
                      "'compareTo':'indicator','rightIndicator':'SMA'}",
                      "/elements/0/conditions/0/rightTicker", "missing");
    refused_condition("{'ticker':'SPY','indicator':'RSI','operator':'gt',"
                      "'compareTo':'indicator','rightTicker':'SPY'}",
                      "/elements/0/conditions/0/rightIndicator", "missing");
    refused_condition("{'indicator':'RSI','operator':'gt','threshold':'1'}",
                      "/elements/0/conditions/0/ticker", "missing");
    refused_condition("{'ticker':'SPY','operator':'gt','threshold':'1'}",
                      "/elements/0/conditions/0/indicator", "missing");
    refused_once("[" G("if", "7", X_THEN, Y_ELSE, 100) "]", "/0/conditions/0",
                 "must be a condition object");
}

static void thresholds(void **state)
{
    (void)state;
    static const struct {
        const char *threshold;
        const char *message;
    } bad[] = {
        {"abc", "must be a number, got \"abc\""},     /* C-43 */
        {"50abc", "must be a number, got \"50abc\""}, /* C-43b */
        {"Infinity", "must be a number, got \"Infinity\""},
        {"NaN", "must be a number, got \"NaN\""},
        {"", "must be a number, got \"\""},
        {"0x10", "got \"0x10\""},
        {"1e999", "got \"1e999\""},
        {"5 0", "got \"5 0\""},
        {".", "got \".\""},
        {"1e", "got \"1e\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(
            text, sizeof text,
            "[" T("A", 50) "," G("if", C("SPY", "RSI", "14", "gt", "%s"), X_THEN, Y_ELSE, 50) "]",
            bad[i].threshold);
        refused_once(text, "/1/conditions/0/threshold", bad[i].message);
    }
    struct run run; /* surrounding spaces, signs, exponents and JSON numbers are numbers */
    /* clang-format off */
    run_open(&run, "["
        G("if", C("SPY", "RSI", "14", "gt", " 50 "), X_THEN, Y_ELSE, 100) ","
        G("if", C("SPY", "RSI", "14", "gt", "-.5e+2"), X_THEN, Y_ELSE, 100) ","
        "{'type':'gate','conditions':[{'ticker':'SPY','indicator':'RSI','operator':'lt',"
        "'threshold':7.5}],'thenChildren':[" T("Z", 1) "]}]");
    /* clang-format on */
    run_set(&run, "SPY RSI", 6);
    run_eval(&run);
    expect_alloc(&run, "Y 42.8571, X 42.8571, Z 14.2857"); /* 100, 100 and 100/3 shares */
    run_close(&run);
}

static void sorts(void **state)
{
    (void)state;
    refused_once("[" S("top", 0, T("A", 100), 100) "]", "/0/count",
                 "must be a whole number of at least 1, got 0"); /* C-19b */
    refused_once("[" S("top", 1.5, T("A", 100), 100) "]", "/0/count", "got 1.5");
    refused_once("[" S("top", 'NaN', T("A", 100), 100) "]", "/0/count",
                 "must be a number, got \"NaN\""); /* C-36 */
    refused_once("[{'type':'sort','indicator':'RSI','children':[" T("A", 100) "]}]", "/0/count",
                 "missing");
    refused_once("[{'type':'sort','count':1,'children':[" T("A", 100) "]}]", "/0/indicator",
                 "missing");
    refused_once("[{'type':'sort','count':1,'direction':'up','indicator':'RSI','children':[" T(
                     "A", 100) "]}]",
                 "/0/direction", "got \"up\"");
    accepted("[" S("bottom", '2', T("A", 100) "," T("B", 100), 100) "]");

    /* Non-ticker children are ranked on an equity curve: close-based indicators only. */
    refused_once("[{'type':'sort','count':1,'indicator':'ATR','params':{'period':'14'},"
                 "'children':[" T("A", 100) "," W("equal", T("B", 100), 100) "]}]",
                 "/0/indicator", "child 1 is a weight");
    accepted("[{'type':'sort','count':1,'indicator':'ATR','params':{'period':'14'},"
             "'children':[" T("A", 100) "," T("B", 100) "]}]");
}

static void scales(void **state)
{
    (void)state;
    refused_once("[{'type':'scale','fromChildren':[" T("A", 100) "]}]", "/0/config", "missing");
    refused_once("[{'type':'scale','config':[],'fromChildren':[" T("A", 100) "]}]", "/0/config",
                 "must be an object");
    refused_once("[" SC("SPY", "RSI", "10", "80", "80", T("A", 100), T("B", 100), 100) "]",
                 "/0/config/rangeMax", "must differ from rangeMin"); /* C-25b */
    refused_once("[" SC("SPY", "RSI", "10", "-Infinity", "80", T("A", 100), T("B", 100), 100) "]",
                 "/0/config/rangeMin", "must be a number");
    refused_once("[{'type':'scale','config':{'ticker':'SPY','indicator':'RSI','rangeMin':1},"
                 "'fromChildren':[" T("A", 100) "]}]",
                 "/0/config/rangeMax", "missing");
    refused_once("[{'type':'scale','config':{'indicator':'RSI','rangeMin':1,'rangeMax':2},"
                 "'fromChildren':[" T("A", 100) "]}]",
                 "/0/config/ticker", "missing");
    refused_once("[{'type':'scale','config':{'ticker':'SPY','indicator':'FOO','rangeMin':1,"
                 "'rangeMax':2},'fromChildren':[" T("A", 100) "]}]",
                 "/0/config/indicator", "unknown indicator \"FOO\"");
    accepted("[" SC("SPY", "RSI", "10", "1", "2", , T("B", 100), 100) "]"); /* empty branch */
}

static void indicators_and_parameters(void **state)
{
    (void)state;
    const char *prefix = "/elements/0/conditions/0";
    char path[128];
    refused_condition(C("SPY", "RSX", "14", "gt", "50"), "/elements/0/conditions/0/indicator",
                      "unknown indicator \"RSX\"");
    snprintf(path, sizeof path, "%s/params/period", prefix);
    refused_condition(C("SPY", "RSI", "14.5", "gt", "50"), path, "whole number");
    refused_condition(C("SPY", "RSI", "1", "gt", "50"), path, "at least 2");
    refused_condition(C("SPY", "RSI", "fourteen", "gt", "50"), path,
                      "must be a number, got \"fourteen\"");
    refused_condition(C("SPY", "RETURN", "0", "gt", "50"), path, "at least 1");
    refused_condition(C("SPY", "VOLATILITY", "1", "gt", "50"), path, "at least 2");
    snprintf(path, sizeof path, "%s/params/length", prefix);
    refused_condition("{'ticker':'SPY','indicator':'RSI','params':{'length':'14'},"
                      "'operator':'gt','threshold':'50'}",
                      path, "unknown parameter \"length\" for RSI");
    snprintf(path, sizeof path, "%s/params/a~1b~0c", prefix); /* RFC 6901 escapes */
    refused_condition("{'ticker':'SPY','indicator':'RSI','params':{'a/b~c':'1'},"
                      "'operator':'gt','threshold':'50'}",
                      path, "unknown parameter");
    snprintf(path, sizeof path, "%s/params/annualize", prefix);
    refused_condition("{'ticker':'SPY','indicator':'VOLATILITY','params':{'annualize':'yes'},"
                      "'operator':'gt','threshold':'50'}",
                      path, "must be true or false, got \"yes\"");
    refused_condition("{'ticker':'SPY','indicator':'VOLATILITY','params':{'annualize':1},"
                      "'operator':'gt','threshold':'50'}",
                      path, "must be true or false, got 1");
    snprintf(path, sizeof path, "%s/params/matype", prefix);
    refused_condition("{'ticker':'SPY','indicator':'BBANDS_UPPER','params':{'matype':'3'},"
                      "'operator':'gt','threshold':'50'}",
                      path, "not supported");
    snprintf(path, sizeof path, "%s/period", prefix); /* the deprecated string is checked too */
    refused_condition("{'ticker':'SPY','indicator':'RSI','period':'1','operator':'gt',"
                      "'threshold':'50'}",
                      path, "at least 2");
    refused_condition("{'ticker':'SPY','indicator':'MACD','period':'12-x-9','operator':'gt',"
                      "'threshold':'50'}",
                      path, "numbers joined by");
    snprintf(path, sizeof path, "%s/rightParams/period", prefix);
    refused_condition("{'ticker':'SPY','indicator':'CURRENT_PRICE','operator':'gt',"
                      "'compareTo':'indicator','rightTicker':'SPY','rightIndicator':'SMA',"
                      "'rightParams':{'period':'0'}}",
                      path, "at least 2");
    snprintf(path, sizeof path, "%s/params", prefix);
    refused_condition("{'ticker':'SPY','indicator':'RSI','params':'14','operator':'gt',"
                      "'threshold':'50'}",
                      path, "must be an object");
    accepted(
        "[" G("if", C("SPY", "ATR", "1", "gt", "50"), X_THEN, Y_ELSE, 100) "]"); /* ATR allows 1 */
    accepted("[" G("if",
                   "{'ticker':'SPY','indicator':'VOLATILITY','params':{'annualize':false},"
                   "'operator':'gt','threshold':'0.2'}",
                   X_THEN, Y_ELSE, 100) "]");
}

static void reachable_ticker_depth_and_size(void **state)
{
    (void)state;
    refused_once("[" W("equal", , 100) "]", "", "no ticker anywhere");
    refused_once("{'elements':[" G("if", RSI14_GT50, , , 100) "]}", "/elements",
                 "no ticker anywhere");

    /* A chain of equal weight nodes: 256 levels are fine, 257 are not. */
    for (int depth = 256; depth <= 257; depth++) {
        size_t cap = (size_t)depth * 80 + 128;
        char *text = malloc(cap);
        assert_non_null(text);
        text[0] = '\0';
        for (int i = 1; i < depth; i++)
            strcat(text, "[{'type':'weight','weightMode':'equal','children':");
        strcat(text, "[" T("SPY", 100));
        for (int i = 1; i < depth; i++)
            strcat(text, "]}");
        strcat(text, "]");
        if (depth == 256) {
            accepted(text);
        } else {
            struct lv_problems problems = compile_refused(text);
            assert_int_equal(problems.count, 2); /* too deep, and so no ticker is reachable */
            assert_non_null(strstr(problems.items[0].message, "deeper than 256"));
            lv_problems_free(&problems);
        }
        free(text);
    }
}

/* Builds [W(equal, n tickers)]: n + 1 elements. */
static json_t *wide_tree(int n_tickers)
{
    json_t *children = json_array();
    for (int i = 0; i < n_tickers; i++)
        json_array_append_new(children, json_pack("{s:s, s:s}", "type", "ticker", "ticker", "SPY"));
    json_t *root =
        json_pack("{s:s, s:s, s:o}", "type", "weight", "weightMode", "equal", "children", children);
    return json_pack("[o]", root);
}

static void size_limit(void **state)
{
    (void)state;
    json_t *doc = wide_tree(99999); /* exactly 100,000 elements */
    struct lv_problems problems = {0};
    struct lv_strategy *s = NULL;
    assert_int_equal(lv_strategy_compile(doc, &s, &problems, NULL), 0);
    assert_int_equal(lv_strategy_n_nodes(s), 100000);
    assert_int_equal(lv_strategy_n_tickers(s), 1);
    lv_strategy_free(s);
    json_decref(doc);

    doc = wide_tree(100000);
    assert_int_equal(lv_strategy_compile(doc, &s, &problems, NULL), -1);
    assert_null(s);
    assert_int_equal(problems.count, 1);
    assert_string_equal(problems.items[0].path, "/0/children/99999");
    assert_non_null(strstr(problems.items[0].message, "more than 100000 elements"));
    lv_problems_free(&problems);
    json_decref(doc);
}

static void variables_are_unresolved_outside_a_batch(void **state)
{
    (void)state;
    struct lv_problems problems = compile_refused(
        "{'elements':[{'type':'gate','weight':'$w','conditions':[{'ticker':' $risk ',"
        "'indicator':'SMA','params':{'period':'$n'},'operator':'gt','threshold':'$Thr_1'}],"
        "'thenChildren':[{'type':'ticker','ticker':'$risk'}],'elseChildren':[" T("TLT",
                                                                                 100) "]}]}");
    expect_problem(&problems, "/elements/0/weight", "unresolved variable $w");
    expect_problem(&problems, "/elements/0/conditions/0/ticker", "unresolved variable $risk");
    expect_problem(&problems, "/elements/0/conditions/0/params/period", "unresolved variable $n");
    expect_problem(&problems, "/elements/0/conditions/0/threshold", "unresolved variable $Thr_1");
    expect_problem(&problems, "/elements/0/thenChildren/0/ticker", "unresolved variable $risk");
    assert_int_equal(problems.count, 5); /* each once: no "must be a number" as well */
    lv_problems_free(&problems);
    /* Not variables: a '$' inside text, or a name that cannot be one. */
    accepted("[{'type':'ticker','ticker':'SPY','name':'costs $5'},{'type':'ticker',"
             "'ticker':'TLT','name':'$1'}]");
}

static void all_problems_are_reported(void **state)
{
    (void)state;
    /* clang-format off */
    struct lv_problems problems = compile_refused("{'elements':["
        T("A", -1) ","
        G("sometimes", C("SPY", "RSI", "1", "gt", "50abc"), T("B", 1) "," TN("C"), , 100) ","
        S("top", 0, T("D", 1), 100) "]}");
    /* clang-format on */
    expect_problem(&problems, "/elements/0/weight", "at least 0");
    expect_problem(&problems, "/elements/1/conditionMode", "must be one of");
    expect_problem(&problems, "/elements/1/conditions/0/params/period", "at least 2");
    expect_problem(&problems, "/elements/1/conditions/0/threshold", "50abc");
    expect_problem(&problems, "/elements/1/thenChildren/1/weight", "missing");
    expect_problem(&problems, "/elements/2/count", "at least 1");
    assert_int_equal(problems.count, 6);
    lv_problems_free(&problems);
}

static void warnings_are_not_errors(void **state)
{
    (void)state;
    struct run run;
    /* clang-format off */
    run_open(&run, "{'elements':["
        T("SPY", 30) "," T("TLT", 30) ","
        W("defined", T("A", 1) "," T("B", 1), 40) ","
        W("equal", , 10) "]}");
    /* clang-format on */
    assert_int_equal(run.warnings.count, 3);
    expect_problem(&run.warnings, "/elements", "weights sum to 110, not 100");
    expect_problem(&run.warnings, "/elements/2/children", "sum to 2, not 100");
    expect_problem(&run.warnings, "/elements/3/children", "places nothing");
    run_close(&run);

    run_open(&run, "[" T("SPY", 60) "," W("defined", T("A", 0) "," T("B", 0), 40) "]");
    expect_problem(&run.warnings, "/1/children", "sum to 0");
    run_eval(&run); /* the zero group places nothing; SPY takes it all */
    expect_alloc(&run, "SPY 100");
    run_close(&run);

    run_open(&run, "[" T("SPY", 0) "," T("TLT", 0) "]");
    run_eval(&run); /* a top level summing to 0 holds nothing: cash */
    expect_alloc(&run, "");
    run_close(&run);
}

static void deprecated_period_strings(void **state)
{
    (void)state;
    struct run run;
    /* Read only when params is absent or empty. */
    run_open(&run, "[" G("if_all",
                         "{'ticker':'SPY','indicator':'RSI','period':'10',"
                         "'operator':'gt','threshold':'1'},"
                         "{'ticker':'SPY','indicator':'RSI','params':{},'period':'11',"
                         "'operator':'gt','threshold':'1'},"
                         "{'ticker':'SPY','indicator':'RSI','params':{'period':'12'},"
                         "'period':'99','operator':'gt','threshold':'1'},"
                         "{'ticker':'SPY','indicator':'MACD_SIGNAL','period':'10-20-5',"
                         "'operator':'gt','threshold':'1'},"
                         "{'ticker':'SPY','indicator':'STOCH_K','period':'5-2-4-1-0',"
                         "'operator':'gt','threshold':'1'},"
                         "{'ticker':'SPY','indicator':'RSI','params':{'period':''},"
                         "'operator':'gt','threshold':'1'}",
                         X_THEN, Y_ELSE, 100) "]");
    assert_int_equal(lv_strategy_n_series(run.s), 6);
    series_id(run.s, "SPY RSI period=10");
    series_id(run.s, "SPY RSI period=11");
    series_id(run.s, "SPY RSI period=12");
    series_id(run.s, "SPY MACD_SIGNAL fastperiod=10 slowperiod=20 signalperiod=5");
    series_id(run.s, "SPY STOCH_K fastk_period=5 slowk_period=2 slowd_period=4 slowk_matype=1");
    series_id(run.s, "SPY RSI period=14"); /* an empty value takes the default */
    run_close(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(documents),
        cmocka_unit_test(element_types_and_weights),
        cmocka_unit_test(missing_weights),
        cmocka_unit_test(gates),
        cmocka_unit_test(thresholds),
        cmocka_unit_test(sorts),
        cmocka_unit_test(scales),
        cmocka_unit_test(indicators_and_parameters),
        cmocka_unit_test(reachable_ticker_depth_and_size),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(variables_are_unresolved_outside_a_batch),
        cmocka_unit_test(all_problems_are_reported),
        cmocka_unit_test(warnings_are_not_errors),
        cmocka_unit_test(deprecated_period_strings),
    };
    return cmocka_run_group_tests_name("strategy validation", tests, NULL, NULL);
}
