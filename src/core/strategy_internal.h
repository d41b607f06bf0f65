/* strategy_internal.h — the compiled form of a strategy, shared by the compiler
 * (strategy_parse.c, strategy.c) and the evaluator (strategy_eval.c). Not a public API. */
#ifndef LEVER_CORE_STRATEGY_INTERNAL_H
#define LEVER_CORE_STRATEGY_INTERNAL_H

#include <stdint.h>

#include "core/strategy.h"

#define LV_STRATEGY_MAX_DEPTH 256    /* deepest element nesting accepted (top level = 1) */
#define LV_STRATEGY_MAX_NODES 100000 /* most elements accepted in one tree */

/*
 * Layout. Nodes are stored in document preorder, so the subtree of node i is exactly the
 * index range [i, nodes[i].end). Each node has up to two child groups (a weight or sort node
 * uses group 0; a gate has then = 0, else = 1; a scale has from = 0, to = 1); a group is a
 * range of `kids`, which holds child node indices. Gate conditions are a range of `conds`.
 * Conditions and scales name the values they read by series id; sorts name their ranking
 * scores by series id too (one series per sort and child). Evaluation reads only these
 * arrays: nothing JSON survives compilation.
 *
 * Batches (not implemented yet). Every value a `$variable` may feed is a plain field here:
 * a threshold (lv_cond.threshold), a weight (lv_node.weight), a sort count (lv_node.count),
 * a scale range (lv_node.range_min/max), a ticker (the held-ticker table and the `ticker` of
 * series keys) and indicator parameters (series keys' `params`). The batch layer will
 * compile the template once while recording, for every variable occurrence, a "slot"
 * (which table, which index, which field). Binding one run's assignment then means copying
 * the compiled arrays, writing the variable's value into each slot, re-checking the bound
 * values with the same rules the parser uses (numbers, period minimums, count >= 1, ...),
 * and re-deduplicating the series and ticker tables, since binding can make two series equal
 * (the same key) or a ticker appear twice; ids are then remapped in conds/nodes/sorts. None
 * of this needs the JSON again.
 */

enum lv_node_kind { LV_NODE_TICKER, LV_NODE_WEIGHT, LV_NODE_GATE, LV_NODE_SORT, LV_NODE_SCALE };

enum lv_gate_mode { LV_GATE_IF, LV_GATE_IF_ALL, LV_GATE_IF_ANY, LV_GATE_IF_NONE };

enum lv_cmp_op { LV_OP_GT, LV_OP_LT, LV_OP_GTE, LV_OP_LTE, LV_OP_EQ, LV_OP_NEQ };

struct lv_node {
    enum lv_node_kind kind;
    bool has_weight; /* false when the document gives no weight */
    double weight;   /* as written (a relative share; only >= 0 is accepted) */
    int end;         /* one past the last node of this subtree */
    int group_off[2];
    int group_len[2];

    int ticker;   /* TICKER: held-ticker id */
    bool defined; /* WEIGHT: weightMode "defined" (else "equal") */
    enum lv_gate_mode gate_mode;
    int cond_off;                /* GATE: first condition */
    int n_conds;                 /* GATE */
    bool top;                    /* SORT: direction "top" (highest score first) */
    int count;                   /* SORT: how many tie groups win */
    int sort;                    /* SORT: index into the (deepest-first) sort table */
    int series;                  /* SCALE: the value that places the blend */
    double range_min, range_max; /* SCALE */
};

struct lv_cond {
    int left;         /* series id */
    int right;        /* series id, or -1 to compare with `threshold` */
    double threshold; /* compareTo threshold/value */
    enum lv_cmp_op op;
};

/* For each id (series or held ticker), the sorted preorder indices of the nodes that read it:
 * ids used under node i are those with a reader in [i, nodes[i].end). */
struct lv_readers {
    int *start; /* n_ids + 1 offsets into `node` */
    int *node;
};

/* Open-addressing set of ids keyed by a caller-computed hash (series keys, tickers). */
struct lv_id_slot {
    uint64_t hash;
    int id; /* -1 = empty */
};
struct lv_id_table {
    struct lv_id_slot *slots;
    int cap; /* power of two, or 0 */
    int used;
};

struct lv_strategy {
    char *name; /* NULL when absent */

    struct lv_node *nodes;
    int n_nodes, cap_nodes;
    int *kids;
    int n_kids, cap_kids;
    int top_off, top_len; /* the top-level elements, a range of kids */
    struct lv_cond *conds;
    int n_conds, cap_conds;

    struct lv_series_key *series;
    int n_series, cap_series;
    struct lv_id_table series_index; /* indicator series only; sort scores are never shared */

    char (*tickers)[LV_TICKER_MAX];
    int n_tickers, cap_tickers;
    struct lv_id_table ticker_index;
    int n_ticker_nodes; /* most positions one evaluation can produce */

    /* Sorts: the public table, ordered deepest first once compiled. Each sort's children and
     * score series are the ranges [child_off, child_off + n_children) of the two arrays. */
    struct lv_sort_info *sorts;
    int *sort_child_off;
    int n_sorts, cap_sorts, cap_sort_child_off;
    int *sort_child_nodes;
    int *sort_score_series;
    int n_sort_children, cap_sort_child_nodes, cap_sort_score_series;

    struct lv_readers series_readers;
    struct lv_readers ticker_readers;
};

/* Grows *array (of `elem` bytes each) so that it holds at least `need` items. */
int lv_grow(void **array, int *cap, int need, size_t elem);

/* Parses and validates `doc` into `s` (zero-initialised), adding every problem found. Leaves
 * `s` in the parse layout: sorts in document order, readers not built. Returns 0 when no
 * problem was found. */
int lv_strategy_parse(const json_t *doc, struct lv_strategy *s, struct lv_problems *problems,
                      struct lv_problems *warnings);

/* Series and ticker interning (deduplicated). Return the id, or -1 when out of memory. */
int lv_strategy_intern_series(struct lv_strategy *s, const char *ticker, enum lv_ind ind,
                              const struct lv_ind_params *params);
int lv_strategy_add_score_series(struct lv_strategy *s, int sort, int child, enum lv_ind ind,
                                 const struct lv_ind_params *params);
int lv_strategy_intern_ticker(struct lv_strategy *s, const char *ticker);

/* Releases everything `s` owns, but not `s` itself. */
void lv_strategy_release(struct lv_strategy *s);

#endif
