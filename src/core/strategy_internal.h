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
 * Batches (strategy_bind.c). Every value a `$variable` may feed is a plain field here: a
 * threshold (lv_cond.threshold), a weight (lv_node.weight), a sort count (lv_node.count), a
 * scale range (lv_node.range_min/max), a ticker (the held-ticker table and the `ticker` of
 * series keys) and indicator parameters (series keys' and sorts' `params`). A template is
 * parsed once with a `struct lv_slots` recorder: for every variable occurrence the parser
 * records a slot (which field of which node, condition, held ticker, series or sort), and
 * interns nothing, so that the series table holds one entry per occurrence ("occurrence
 * ids"). Binding one run copies the compiled arrays, writes each value into its slot,
 * re-checks it with the parser's own rules, and re-deduplicates the series and ticker
 * tables in occurrence order, which gives exactly the ids a compile of the substituted
 * document would give. None of this needs the JSON again.
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

    int *bind_scratch; /* binding's working space (strategy_bind.c), kept for the next bind */
    int cap_bind_scratch;
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

/* ---- Batch templates (strategy_bind.c) -------------------------------------------------- */

/* What a variable occurrence feeds. */
enum lv_slot_field {
    LV_SLOT_WEIGHT,      /* lv_node.weight (and has_weight) */
    LV_SLOT_COUNT,       /* lv_node.count of a sort */
    LV_SLOT_RANGE_MIN,   /* lv_node.range_min of a scale */
    LV_SLOT_RANGE_MAX,   /* lv_node.range_max of a scale */
    LV_SLOT_THRESHOLD,   /* lv_cond.threshold */
    LV_SLOT_TICKER,      /* a held ticker or a series key's ticker */
    LV_SLOT_PARAM,       /* one value of a `params` object (lv_slot.param = its index) */
    LV_SLOT_PERIOD_TEXT, /* the deprecated `period` string, read when `params` is empty */
    LV_SLOT_NAME,        /* the document's name */
};

/* Where the field lives. Readers record a slot as PENDING while the thing it belongs to does
 * not exist yet (a series is interned after its ticker and parameters are read); the parser
 * then claims the pending slots for it. */
enum lv_slot_owner {
    LV_OWNER_PENDING,
    LV_OWNER_NODE,   /* target = node index */
    LV_OWNER_COND,   /* target = condition index */
    LV_OWNER_HELD,   /* target = held-ticker occurrence (ticker elements in preorder) */
    LV_OWNER_SERIES, /* target = series occurrence id */
    LV_OWNER_SORT,   /* target = node index of the sort element */
    LV_OWNER_DOC,
};

struct lv_slot {
    int var; /* index into the template's variable names */
    enum lv_slot_field field;
    enum lv_slot_owner owner;
    int target;
    int param; /* LV_SLOT_PARAM: parameter index of the owner's indicator */
};

/* The recorder of a template parse. The parser fills `items` and the flags; everything else
 * is set by the caller. */
struct lv_slots {
    const char *const *names; /* the defined variables, matched case-insensitively */
    int n_names;
    bool *used;        /* n_names flags set for every name found in the document, or NULL */
    bool *in_elements; /* n_names flags: the name occurs under "elements" */
    struct lv_problems undefined; /* one problem per reference to an undefined name */
    bool scanning_elements;       /* the scan is inside "elements" */
    bool needs_json; /* a variable decides structure (a type, mode, operator, indicator) */
    bool out_of_memory;
    struct lv_slot *items;
    int n, cap;
};

/* lv_strategy_parse in template mode when `slots` is not NULL (see above). */
int lv_strategy_parse_with(const json_t *doc, struct lv_strategy *s, struct lv_slots *slots,
                           struct lv_problems *problems, struct lv_problems *warnings);

/* Appends without deduplicating (template mode): one id per occurrence. -1 when out of
 * memory. */
int lv_strategy_append_series(struct lv_strategy *s, const char *ticker, enum lv_ind ind,
                              const struct lv_ind_params *params);
int lv_strategy_append_ticker(struct lv_strategy *s, const char *ticker);

/* The id of an interned series or held ticker, or -1 when there is none. */
int lv_strategy_find_series(const struct lv_strategy *s, const char *ticker, enum lv_ind ind,
                            const struct lv_ind_params *params);
int lv_strategy_find_ticker(const struct lv_strategy *s, const char *ticker);

/* Orders the sorts deepest first, then links (below): what follows parsing. -1 when out of
 * memory. */
int lv_strategy_finish(struct lv_strategy *s);

/* Links the sort records to the child arrays and (re)builds the reader lists: the last
 * step of a compile, once ids and sort order are final. -1 when out of memory. */
int lv_strategy_link(struct lv_strategy *s);

#endif
