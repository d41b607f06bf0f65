/* test_strategy_support.h — helpers for the strategy tests: compile JSON written with single
 * quotes, find series ids, set a day's values, evaluate and compare allocations. */
#ifndef LEVER_TEST_STRATEGY_SUPPORT_H
#define LEVER_TEST_STRATEGY_SUPPORT_H

#include "core/strategy.h"

/* Tree shorthand of the reference §6.1, as string literals: T(X,w) ticker, W(mode,[…],w)
 * weight node, G(mode,[conds],[then],[else],w) gate, S(dir,count,[…],w) sort by
 * CUMULATIVE_RETURN with params {}, SC(ticker,IND,p,min,max,[from],[to],w) scale,
 * C(TICK,IND,p,op,thr) condition. Quotes are written ' and turned into " before parsing. */
#define T(x, w) "{'type':'ticker','ticker':'" x "','weight':" #w "}"
#define TN(x)   "{'type':'ticker','ticker':'" x "'}"
#define W(mode, kids, w)                                                                           \
    "{'type':'weight','weightMode':'" mode "','weight':" #w ",'children':[" kids "]}"
#define G(mode, conds, then, otherwise, w)                                                         \
    "{'type':'gate','name':'G','weight':" #w ",'conditionMode':'" mode "','conditions':[" conds    \
    "],'thenChildren':[" then "],'elseChildren':[" otherwise "]}"
#define S(dir, count, kids, w)                                                                     \
    "{'type':'sort','direction':'" dir "','count':" #count                                         \
    ",'indicator':'CUMULATIVE_RETURN','params':{},'weight':" #w ",'children':[" kids "]}"
#define SC(tick, ind, p, lo, hi, from, to, w)                                                      \
    "{'type':'scale','weight':" #w ",'config':{'ticker':'" tick "','indicator':'" ind              \
    "','params':{'period':'" p "'},'rangeMin':'" lo "','rangeMax':'" hi "'},'fromChildren':[" from \
    "],'toChildren':[" to "]}"
#define C(tick, ind, p, op, thr)                                                                   \
    "{'ticker':'" tick "','indicator':'" ind "','params':{'period':'" p "'},'period':'" p          \
    "','operator':'" op "','compareTo':'threshold','threshold':'" thr "'}"

/* A compiled strategy with everything needed to evaluate it on one day. */
struct run {
    struct lv_strategy *s;
    struct lv_evaluator *ev;
    double *values; /* one per series, NaN (missing) until set */
    struct lv_alloc alloc;
    struct lv_eval_report report;
    struct lv_problems warnings;
};

/* Parses JSON text whose quotes may be written '. Returns a new reference (never NULL). */
json_t *parse_quoted(const char *text);

/* Compiles `text`; fails the test, listing the problems, if it does not compile. */
void run_open(struct run *run, const char *text);
void run_close(struct run *run);

/* Series id by "TICKER INDICATOR name=value ..." (canonical: unlisted parameters take their
 * defaults); fails the test if the strategy has no such series. */
int series_id(const struct lv_strategy *s, const char *spec);
/* Series id of child `child`'s score in sort `sort` (index in the deepest-first table). */
int score_id(const struct lv_strategy *s, int sort, int child);

void run_set(struct run *run, const char *spec, double value);
void run_set_score(struct run *run, int sort, int child, double value);
void run_clear(struct run *run); /* every value back to missing */

/* Evaluates the whole tree, or one node alone. */
void run_eval(struct run *run);
void run_eval_node(struct run *run, int node);

/* Checks the last allocation against "SPY 60, TLT 40" (percent, in output order, within
 * 5e-5) or "" for cash. */
void expect_alloc(const struct run *run, const char *expected);

/* Compiles `text`, expecting a refusal; returns the problems (free with lv_problems_free). */
struct lv_problems compile_refused(const char *text);
/* Asserts that `problems` holds one at exactly `path` whose message contains `part`. */
void expect_problem(const struct lv_problems *problems, const char *path, const char *part);

#endif
