/* strategy.h — the strategy language (strategy-language.md §1–§3): a JSON document is
 * validated and compiled into a flat node array, then evaluated on one decision date. */
#ifndef LEVER_CORE_STRATEGY_H
#define LEVER_CORE_STRATEGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/indicators.h"
#include "core/problems.h"

#define LV_TICKER_MAX 16 /* longest ticker + NUL */

/* Passed as `root` to evaluate the whole strategy rather than one node. */
#define LV_ROOT (-1)

/* A time series the evaluator reads, one value per decision date. Series are deduplicated:
 * two conditions on the same ticker, indicator and canonical parameters share one id. */
enum lv_series_kind {
    LV_SERIES_INDICATOR,  /* indicator `ind` with `params` over `ticker`'s own bars */
    LV_SERIES_SORT_SCORE, /* indicator of sort `sort`'s child `child` on its synthetic series */
};

struct lv_series_key {
    enum lv_series_kind kind;
    char ticker[LV_TICKER_MAX]; /* LV_SERIES_INDICATOR only; upper case */
    enum lv_ind ind;
    struct lv_ind_params params; /* canonical: every default filled in */
    int sort;                    /* LV_SERIES_SORT_SCORE: index into the sort table */
    int child;                   /* LV_SERIES_SORT_SCORE: position of the child in the sort */
};

/* One sort node, as the simulator needs it to build the children's synthetic series (§5). */
struct lv_sort_info {
    int node;  /* node index of the sort element */
    int depth; /* nesting depth among sorts: 0 = no sort above it */
    enum lv_ind ind;
    struct lv_ind_params params;
    int n_children;
    const int *child_nodes;  /* node index of each child, in document order */
    const int *score_series; /* series id of each child's score, parallel to child_nodes */
};

struct lv_strategy; /* opaque, immutable once compiled: share it freely between threads */

/* Validates and compiles a strategy document (an object with "elements", or a bare array).
 * On success returns 0 and *out (free with lv_strategy_free). On failure returns -1 and
 * `problems` holds every problem found, each with its JSON Pointer. `warnings` (may be
 * NULL) receives non-fatal notes such as a weight group not summing to 100. */
int lv_strategy_compile(const json_t *doc, struct lv_strategy **out, struct lv_problems *problems,
                        struct lv_problems *warnings);
void lv_strategy_free(struct lv_strategy *strategy);

/* Document metadata (NULL when absent). */
const char *lv_strategy_name(const struct lv_strategy *s);

/* Series the tree reads, ids 0..n-1. */
int lv_strategy_n_series(const struct lv_strategy *s);
const struct lv_series_key *lv_strategy_series(const struct lv_strategy *s, int id);

/* Tickers that can be held (every `ticker` element), ids 0..n-1, upper case. */
int lv_strategy_n_tickers(const struct lv_strategy *s);
const char *lv_strategy_ticker(const struct lv_strategy *s, int id);

/* Sorts, ordered so that every sort comes after all sorts nested inside it (deepest first). */
int lv_strategy_n_sorts(const struct lv_strategy *s);
const struct lv_sort_info *lv_strategy_sort(const struct lv_strategy *s, int index);

/* Elements, numbered 0..n-1 in document preorder: a node's subtree is the node and the ones
 * after it up to its last descendant; the first top-level element is node 0. */
int lv_strategy_n_nodes(const struct lv_strategy *s);

/* One past the last node of `node`'s subtree. */
int lv_strategy_node_end(const struct lv_strategy *s, int node);

/* If `node` is a ticker element, its ticker id; otherwise -1. */
int lv_strategy_node_ticker(const struct lv_strategy *s, int node);

/* Series ids and held-ticker ids read anywhere under `node` (LV_ROOT = whole tree), each
 * listed once. Write at most `cap` ids and return how many exist. */
int lv_strategy_subtree_series(const struct lv_strategy *s, int node, int *ids, int cap);
int lv_strategy_subtree_tickers(const struct lv_strategy *s, int node, int *ids, int cap);

/* An allocation: target weights by ticker id, summing to 1, in order of first appearance.
 * n == 0 means cash. Zero-weight entries may appear (a scale branch at 0 %). */
struct lv_alloc {
    int n;
    int *ticker;    /* capacity lv_strategy_n_tickers() */
    double *weight; /* same capacity */
};

/* Per-thread scratch space for evaluation; allocate one per thread, reuse for every day. */
struct lv_evaluator;
struct lv_evaluator *lv_evaluator_new(const struct lv_strategy *s);
void lv_evaluator_free(struct lv_evaluator *ev);

/* Inputs missing during the last evaluation (a data gap or an indicator not yet defined):
 * the node that read them behaved like an empty branch (§3). */
struct lv_eval_report {
    int n_missing;     /* how many series reads found NaN */
    int first_missing; /* series id of the first one, or -1 */
};

/* Evaluates the tree (root = LV_ROOT) or one node alone as if it were the only top-level
 * element (used for sort children's synthetic series), on one decision date.
 * values[id] is the value of series id on that date, NaN when missing. `out` must have
 * capacity lv_strategy_n_tickers(). Never fails: bad days degrade to cash. */
void lv_evaluate(struct lv_evaluator *ev, int root, const double *values, struct lv_alloc *out,
                 struct lv_eval_report *report);

/* The same, reading the inputs in place from columns: series id's value on the decision date
 * is cols[id][day] (a backtest passes its grid-aligned series and the grid day), so nothing
 * is copied per day. Only the series read under `root` need a column. */
void lv_evaluate_day(struct lv_evaluator *ev, int root, const double *const *cols, size_t day,
                     struct lv_alloc *out, struct lv_eval_report *report);

/* Re-targets an evaluator at another strategy (e.g. the next run of a batch), reusing its
 * memory: the evaluator then behaves as lv_evaluator_new(s) would. Returns 0, or -1 when out
 * of memory (the evaluator is then only fit for lv_evaluator_free). */
int lv_evaluator_bind(struct lv_evaluator *ev, const struct lv_strategy *s);

/* Computes every gate's outcome for the days [from, end) of `cols` at once (a backtest's
 * whole range, before its daily loop), so that lv_evaluate_day with these very columns reads
 * one byte per gate on those days instead of comparing values. Only the condition columns
 * must be filled by then (sort scores may come later). The table is dropped by the next call
 * or lv_evaluator_bind. Returns 0, or -1 when out of memory (evaluation then reads values,
 * as without a table). */
int lv_evaluator_prepare_gates(struct lv_evaluator *ev, const double *const *cols, size_t from,
                               size_t end);

/* Which days' allocations can differ from the day before, for days [from, end) of the table
 * prepared on `cols`: changed[d − from] is 1 when some gate under `root` (LV_ROOT: the whole
 * tree) has another outcome on day d than on d − 1, or a missing input on d; day `from` is
 * always 1. On a run of 0 days the walk of root writes exactly what it wrote on the day before
 * (same positions, same report), so a backtest may keep that day's allocation. Returns 0, or
 * -1 when root's walk reads more than tabled gates (a scale or a sort under it, a gate outside
 * the table, recorded outcomes in use, days outside the table): then nothing is written. */
int lv_evaluator_gate_changes(const struct lv_evaluator *ev, int root, const double *const *cols,
                              size_t from, size_t end, unsigned char *changed);

/* ---- Reusing subtree outcomes (a batch's memo) --------------------------------------------
 *
 * In a batch most subtrees are the same in every run, and the walk of such a subtree on a
 * given day, reached with a given base, always writes the same positions and returns the same
 * unallocated amount. A batch memo records that outcome once per day (lv_evaluate_subtree) and
 * hands it to the evaluators of later runs (lv_evaluator_use_subtrees), whose walk then copies
 * it instead of descending: the same numbers in the same order, so results are bit-identical. */

/* One subtree's outcome on days [from, from + n_days), for one base. Tickers are given by a
 * code of the recorder's choosing (a market symbol id), translated for each run. */
struct lv_subtree_days {
    int node;
    double base; /* used only when the walk reaches the node with exactly this base */
    size_t from, n_days;
    const int32_t *pos_off;       /* n_days + 1: day d's positions are [pos_off[d], pos_off[d+1]) */
    const int32_t *pos_code;      /* per position: its ticker's code */
    const double *pos_weight;     /* per position */
    const double *unallocated;    /* per day: what the node returned */
    const int32_t *n_missing;     /* per day: missing reads counted under the node */
    const int32_t *first_missing; /* per day: index into missing_keys of the first, or -1 */
    const struct lv_series_key *missing_keys;
};

/* Lets the walk use recorded outcomes: by_node[i] (n_nodes entries; NULL = none) for node i,
 * ticker_of_code[c] the run's ticker id of code c. Both borrowed until the next call, which
 * may pass NULL to stop, or lv_evaluator_bind (which stops it). Gates under a node with an
 * outcome are left out of lv_evaluator_prepare_gates tables prepared after this call. */
void lv_evaluator_use_subtrees(struct lv_evaluator *ev,
                               const struct lv_subtree_days *const *by_node,
                               const int *ticker_of_code);

/* The base with which the walk reaches each node (n_nodes entries) whatever the day, assuming
 * every sort has a single winner; NaN where it varies (under a scale) or is never reached. */
void lv_evaluator_fixed_bases(const struct lv_evaluator *ev, double *base);

/* The walk of `node` alone on one day, as lv_evaluate_day's walk does when it reaches the node
 * with `base`: writes the positions in order into tickers/weights (one per ticker element
 * under the node at most: lv_strategy_n_nodes() entries suffice), what it returns into
 * *unallocated, and its missing reads into report. Returns the number of positions. Recorded
 * outcomes are not used. */
int lv_evaluate_subtree(struct lv_evaluator *ev, int node, double base, const double *const *cols,
                        size_t day, int *tickers, double *weights, double *unallocated,
                        struct lv_eval_report *report);

/* Allocates an lv_alloc with the right capacity for s (free with lv_alloc_free). */
int lv_alloc_init(struct lv_alloc *alloc, const struct lv_strategy *s);
void lv_alloc_free(struct lv_alloc *alloc);

/* ---- Batch templates (strategy-language.md §8) -------------------------------------------
 *
 * A batch runs one strategy document many times, each run with its own values for the
 * document's `$variables`. A template compiles the document once; binding a run then builds
 * its strategy from the compiled form without touching JSON (6 us instead of 1 ms for
 * complex-batch.json). The result is exactly what lv_strategy_compile would give for the
 * document with the values written into it: same series and ticker tables in the same
 * order, same sorts, same evaluation, same problems.
 *
 *     bool used[N];
 *     struct lv_strategy_template *t;
 *     if (lv_strategy_template_compile(doc, names, N, &t, used, &problems, NULL) != 0)
 *         ... refuse the batch (problems), also any name with !used[k] ...
 *     struct lv_strategy *s = NULL;                 // one per thread, reused
 *     for each run:
 *         if (lv_strategy_template_bind(t, run_values, &s, &run_problems) != 0)
 *             ... the run fails with run_problems (s is NULL again) ...
 *         ... backtest s ...
 *     lv_strategy_free(s);
 *     lv_strategy_template_free(t);
 */
struct lv_strategy_template; /* immutable once compiled: share it between threads */

/* Compiles `doc`, whose string fields may hold $variables from `names` (case-insensitive,
 * without the '$'; n_names of them). Every problem that does not depend on the values is
 * reported as by lv_strategy_compile (value-dependent checks are made by each bind), plus
 * "undefined variable $x" at each reference to a name not in `names`. `used` (n_names
 * entries, may be NULL) tells which names occur anywhere in `doc`. Returns 0 and *out (free
 * with lv_strategy_template_free), or -1 with problems.
 *
 * A variable that decides the tree's shape (an element's type, a mode, an operator,
 * compareTo, a direction, an indicator name) cannot be bound into compiled arrays: such a
 * template binds by substituting into its copy of the document and compiling, and only
 * undefined names are reported here (the rest by each bind). */
int lv_strategy_template_compile(const json_t *doc, const char *const *names, int n_names,
                                 struct lv_strategy_template **out, bool *used,
                                 struct lv_problems *problems, struct lv_problems *warnings);
void lv_strategy_template_free(struct lv_strategy_template *t);

/* True when binding substitutes into JSON (see above) rather than into compiled arrays. */
bool lv_strategy_template_needs_json(const struct lv_strategy_template *t);

/* Builds the strategy of one run: values[k] is the text of variable k, as written in the
 * variable list ("SPY", "14", "0.5"). Validates exactly what lv_strategy_compile would for
 * the document with the values written in (a bad number, a period below its minimum, a
 * malformed ticker, ...) and then reports the same problems, at the JSON Pointer of the
 * field that held the variable. *out may hold the previous result of this thread (or NULL):
 * its memory is reused. Returns 0 and *out (free with lv_strategy_free), or -1 with
 * problems and *out freed and NULL. Weight-sum warnings are not produced. */
int lv_strategy_template_bind(const struct lv_strategy_template *t, const char *const *values,
                              struct lv_strategy **out, struct lv_problems *problems);

/* ---- Variable footprints (for reusing work across the runs of a batch) ------------------
 *
 * Nodes of a bound strategy keep their template's numbering (unless the template needs
 * JSON), so "node i" means the same element in every run. A node's footprint is the set of
 * variables read anywhere in its subtree: its weight, thresholds, ranges, counts, tickers
 * and indicator parameters, and those of every node below it. Two runs whose values agree on
 * a node's footprint have identical subtrees there (same structure, same series keys, same
 * held tickers), whatever their other values. */

/* Nodes of the template's documents (every bound strategy has as many). */
int lv_strategy_template_n_nodes(const struct lv_strategy_template *t);

/* The footprint of `node` (LV_ROOT: every variable read under "elements"): the indices of
 * the variables (into the template's names), ascending. Writes at most `cap` and returns how
 * many there are, or -1 when the template binds through JSON (footprints are then unknown:
 * node numbers may change from run to run). */
int lv_strategy_template_node_vars(const struct lv_strategy_template *t, int node, int *vars,
                                   int cap);

#endif
