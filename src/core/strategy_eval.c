/* strategy_eval.c — the allocation of one decision date (strategy-language.md §3, reference
 * §1.3–§1.11): a recursive walk of the flat tree that allocates nothing.
 *
 * Speed matters here: a backtest evaluates the tree once per trading day and once more per day
 * for every sort child simulated alone, and a batch runs many backtests. So the walk reads the
 * series columns in place (no per-day copy of the inputs); every share that does not depend on
 * the day is divided out once when the evaluator is bound to a strategy; and a backtest can
 * have every gate's outcome computed for all its days at once (lv_evaluator_prepare_gates),
 * column by column, which the compiler vectorises, so that the walk reads one byte per gate.
 * The conditions compare the same values as the plain reading of §3, and the arithmetic on
 * weights is the same, in the same order, except below a scale, where a gate subtree is
 * walked with base 1 and scaled afterwards (struct walk_cache): a result may then differ
 * from the plain reading by an ulp, but never between evaluations with or without a table,
 * a cache or the batch memo. */
#include "core/strategy_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SORT_TIE_EPSILON 1e-9 /* scores this close to their group's first member tie */
#define SHARE_EPSILON    1e-9 /* a sort's unplaced remainder smaller than this is rounding */

/* One position produced while walking the tree; weights are fractions of the portfolio. */
struct position {
    int ticker;
    double weight;
};

/* A sort child with its score on the decision date. */
struct ranked {
    int child; /* position among the sort's children */
    double score;
};

/* Bits of lv_evaluator.placeless: a child group whose relative weights sum to 0 places
 * nothing, so the whole amount comes back unallocated. */
#define PLACELESS_GROUP(g) (1u << (g))

/* A gate's outcome on one day, as lv_evaluator_prepare_gates stores it. */
enum gate_outcome { GATE_ELSE = 0, GATE_THEN = 1, GATE_MISSING = 2 };

/*
 * Walk caches. A subtree with gates but no scale or sort below (a "cache root", taken as
 * large as possible) allocates the same way on every day its gates keep their outcomes: so
 * its walk is kept and replayed until one of its gates changes. Below a scale its base moves
 * every day; there the subtree is always walked with base 1 and its positions and unplaced
 * amount are then multiplied by the base (UNIT roots), whether or not the walk came from the
 * cache, so that the arithmetic never depends on what the cache held. Elsewhere the base is
 * fixed and the walk is kept with it (EXACT roots, replayed only for an equal base): those
 * results are the plain walk's, bit for bit.
 */
struct walk_cache {
    int node;
    bool unit;   /* below a scale: walked with base 1, then scaled */
    bool usable; /* every gate below is in the table (else: always walked) */
    int pos_off; /* its positions in cache_pos: at most one per node of the subtree */
    int n_pos;
    double base; /* EXACT: the base walked with */
    double unallocated;
    long filled; /* table day (from gates_from) of the kept walk, or -1 when none */
};

struct lv_evaluator {
    const struct lv_strategy *s;

    /* The decision date: series id's value is cols[id][day]. Set by each evaluation. */
    const double *const *cols;
    size_t day;

    struct position *positions; /* room for every ticker element, each placed at most once */
    int n_positions;
    struct ranked *ranks;      /* per sort: n_children to order plus n_children of merge scratch */
    int *rank_off;             /* per sort: its offset in `ranks` */
    int *slot;                 /* per ticker id: its entry in the output, or -1 */
    double *share;             /* per entry of s->kids: that child's fixed share of its group */
    unsigned char *placeless;  /* per node: PLACELESS_GROUP bits */
    bool top_placeless;        /* the top-level weights sum to 0 */
    const double **value_cols; /* lv_evaluate's columns: value_cols[id] = values + id */
    int n_missing;
    int first_missing;

    /* Gate outcomes of days [gates_from, gates_from + gates_days) on the columns gates_cols:
     * gate g's outcome on day d is gate_table[g * gates_days + d − gates_from]. */
    int *gate_index; /* per node: its gate number (preorder), or -1 */
    int n_gates;
    unsigned char *gate_table;
    const double *const *gates_cols; /* NULL: no table */
    size_t gates_from, gates_days;
    const unsigned char *gates_today; /* during a walk that uses the table: the day's column */
    size_t cap_gate_table;
    int *gate_row; /* per gate number: its row in the table, or -1 when not tabled */

    /* Walk caches: per node its cache (an index into caches) or -1. changed_rows holds, per
     * cache and table day, 1 when one of its gates changed outcome since the day before or
     * is missing that day: row c is changed_rows[c * gates_days ...]. */
    int *cache_of;
    struct walk_cache *caches;
    int n_caches;
    struct position *cache_pos;
    unsigned char *changed_rows;
    size_t cap_changed_rows;

    /* Recorded outcomes (lv_evaluator_use_subtrees), borrowed; NULL when none. */
    const struct lv_subtree_days *const *subtrees;
    const int *ticker_of_code;

    /* Capacities of the arrays above, so that binding another strategy reuses them. */
    int cap_positions, cap_ranks, cap_rank_off, cap_slot, cap_share, cap_placeless, cap_value_cols,
        cap_gate_index, cap_gate_row, cap_cache_of, cap_caches, cap_cache_pos;
};

/* ---- Binding: the shares that do not depend on the day ------------------------------------- */

/* Fills the shares of one child group, as the walk of §3 would compute them: equal (1/n) or
 * relative to the sum of the written weights. Marks the group placeless when by_weight and
 * the weights sum to 0. */
static void bind_group(struct lv_evaluator *ev, int node, int group, bool by_weight)
{
    const struct lv_strategy *s = ev->s;
    const struct lv_node *nodes = s->nodes;
    const int *kids = s->kids + nodes[node].group_off[group];
    double *share = ev->share + nodes[node].group_off[group];
    int n = nodes[node].group_len[group];
    double sum = n;
    if (by_weight) {
        sum = 0;
        for (int k = 0; k < n; k++)
            sum += nodes[kids[k]].weight;
        if (!(sum > 0)) {
            ev->placeless[node] |= PLACELESS_GROUP(group);
            return;
        }
    }
    for (int k = 0; k < n; k++)
        share[k] = by_weight ? nodes[kids[k]].weight / sum : 1.0 / n;
}

/* Top-level shares: the weight as written, 100/n when missing, relative to the sum (§3). A
 * sum that is not positive places nothing. */
static void bind_top_level(struct lv_evaluator *ev)
{
    const struct lv_strategy *s = ev->s;
    const int *kids = s->kids + s->top_off;
    double *share = ev->share + s->top_off;
    int n = s->top_len;
    double sum = 0;
    for (int k = 0; k < n; k++)
        sum += s->nodes[kids[k]].has_weight ? s->nodes[kids[k]].weight : 100.0 / n;
    ev->top_placeless = !(sum > 0);
    for (int k = 0; k < n && !ev->top_placeless; k++) {
        const struct lv_node *node = &s->nodes[kids[k]];
        double weight = node->has_weight ? node->weight : 100.0 / n;
        share[k] = weight / sum;
    }
}

static void bind_shares(struct lv_evaluator *ev)
{
    const struct lv_strategy *s = ev->s;
    memset(ev->placeless, 0, (size_t)s->n_nodes);
    for (int i = 0; i < s->n_nodes; i++) {
        const struct lv_node *node = &s->nodes[i];
        switch (node->kind) {
        case LV_NODE_WEIGHT:
            bind_group(ev, i, 0, node->defined);
            break;
        case LV_NODE_GATE:
        case LV_NODE_SCALE:
            bind_group(ev, i, 0, node->group_len[0] > 1);
            bind_group(ev, i, 1, node->group_len[1] > 1);
            break;
        case LV_NODE_TICKER:
        case LV_NODE_SORT: /* a sort's shares depend on the day's winners */
            break;
        }
    }
    bind_top_level(ev);
}

/* Finds the cache roots (see struct walk_cache): the largest subtrees that hold a gate and
 * no scale or sort. Counts kept as prefix sums make each subtree's test O(1). Returns -1
 * when out of memory. */
static int bind_caches(struct lv_evaluator *ev)
{
    const struct lv_strategy *s = ev->s;
    int n = s->n_nodes;
    int *n_mixed = malloc((size_t)(n + 1) * sizeof *n_mixed);     /* scales and sorts before i */
    int *n_gates = malloc((size_t)(n + 1) * sizeof *n_gates);     /* gates before i */
    int *scale_end = malloc((size_t)(n + 1) * sizeof *scale_end); /* open scales' ends */
    if (n_mixed == NULL || n_gates == NULL || scale_end == NULL) {
        free(n_mixed);
        free(n_gates);
        free(scale_end);
        return -1;
    }
    n_mixed[0] = n_gates[0] = 0;
    for (int i = 0; i < n; i++) {
        enum lv_node_kind kind = s->nodes[i].kind;
        n_mixed[i + 1] = n_mixed[i] + (kind == LV_NODE_SCALE || kind == LV_NODE_SORT);
        n_gates[i + 1] = n_gates[i] + (kind == LV_NODE_GATE);
    }
    ev->n_caches = 0;
    int pos_off = 0, n_open = 0;
    for (int i = 0; i < n; i++)
        ev->cache_of[i] = -1;
    for (int i = 0; i < n;) {
        int end = s->nodes[i].end;
        while (n_open > 0 && scale_end[n_open - 1] <= i)
            n_open--;
        if (n_mixed[end] == n_mixed[i] && n_gates[end] > n_gates[i]) {
            ev->cache_of[i] = ev->n_caches;
            ev->caches[ev->n_caches++] = (struct walk_cache){
                .node = i, .unit = n_open > 0, .pos_off = pos_off, .filled = -1};
            pos_off += end - i;
            i = end;
            continue;
        }
        if (s->nodes[i].kind == LV_NODE_SCALE)
            scale_end[n_open++] = end;
        i++;
    }
    free(n_mixed);
    free(n_gates);
    free(scale_end);
    return 0;
}

int lv_evaluator_bind(struct lv_evaluator *ev, const struct lv_strategy *s)
{
    /* +1 keeps every size positive, so a grown array is never NULL */
    if (lv_grow((void **)&ev->positions, &ev->cap_positions, s->n_ticker_nodes + 1,
                sizeof *ev->positions) != 0 ||
        lv_grow((void **)&ev->ranks, &ev->cap_ranks, 2 * s->n_sort_children + 1,
                sizeof *ev->ranks) != 0 ||
        lv_grow((void **)&ev->rank_off, &ev->cap_rank_off, s->n_sorts + 1, sizeof *ev->rank_off) !=
            0 ||
        lv_grow((void **)&ev->slot, &ev->cap_slot, s->n_tickers + 1, sizeof *ev->slot) != 0 ||
        lv_grow((void **)&ev->share, &ev->cap_share, s->n_kids + 1, sizeof *ev->share) != 0 ||
        lv_grow((void **)&ev->placeless, &ev->cap_placeless, s->n_nodes + 1,
                sizeof *ev->placeless) != 0 ||
        lv_grow((void **)&ev->value_cols, &ev->cap_value_cols, s->n_series + 1,
                sizeof *ev->value_cols) != 0 ||
        lv_grow((void **)&ev->gate_index, &ev->cap_gate_index, s->n_nodes + 1,
                sizeof *ev->gate_index) != 0 ||
        lv_grow((void **)&ev->gate_row, &ev->cap_gate_row, s->n_nodes + 1, sizeof *ev->gate_row) !=
            0 ||
        lv_grow((void **)&ev->cache_of, &ev->cap_cache_of, s->n_nodes + 1, sizeof *ev->cache_of) !=
            0 ||
        lv_grow((void **)&ev->caches, &ev->cap_caches, s->n_nodes + 1, sizeof *ev->caches) != 0 ||
        lv_grow((void **)&ev->cache_pos, &ev->cap_cache_pos, s->n_nodes + 1,
                sizeof *ev->cache_pos) != 0)
        return -1;
    ev->s = s;
    ev->gates_cols = NULL; /* a table belongs to one strategy */
    ev->subtrees = NULL;   /* so do recorded outcomes */
    ev->ticker_of_code = NULL;
    ev->n_gates = 0;
    for (int i = 0; i < s->n_nodes; i++)
        ev->gate_index[i] = s->nodes[i].kind == LV_NODE_GATE ? ev->n_gates++ : -1;
    int offset = 0;
    for (int i = 0; i < s->n_sorts; i++) {
        ev->rank_off[i] = offset;
        offset += 2 * s->sorts[i].n_children;
    }
    for (int i = 0; i < s->n_tickers; i++)
        ev->slot[i] = -1;
    bind_shares(ev);
    return bind_caches(ev);
}

struct lv_evaluator *lv_evaluator_new(const struct lv_strategy *s)
{
    struct lv_evaluator *ev = calloc(1, sizeof *ev); /* owned by the caller */
    if (ev == NULL)
        return NULL;
    if (lv_evaluator_bind(ev, s) != 0) {
        lv_evaluator_free(ev);
        return NULL;
    }
    return ev;
}

void lv_evaluator_free(struct lv_evaluator *ev)
{
    if (ev == NULL)
        return;
    free(ev->positions);
    free(ev->ranks);
    free(ev->rank_off);
    free(ev->slot);
    free(ev->share);
    free(ev->placeless);
    free(ev->value_cols);
    free(ev->gate_index);
    free(ev->gate_table);
    free(ev->gate_row);
    free(ev->cache_of);
    free(ev->caches);
    free(ev->cache_pos);
    free(ev->changed_rows);
    free(ev);
}

/* ---- The walk ------------------------------------------------------------------------------- */

/* Counts a missing series read (NaN; any non-finite value is treated alike). */
static void note_missing(struct lv_evaluator *ev, int series)
{
    if (ev->n_missing++ == 0)
        ev->first_missing = series;
}

/* A series value on the decision date; false (counted) when it is missing, and the node
 * reading it fails. */
static inline bool read_value(struct lv_evaluator *ev, int series, double *out)
{
    double value = ev->cols[series][ev->day];
    if (isfinite(value)) {
        *out = value;
        return true;
    }
    note_missing(ev, series);
    return false;
}

/* The local redistribution rule (§1.10): a container whose descendants wrote positions
 * [first, n_positions) and left `unallocated` restores its own share in proportion to what
 * they hold, if they hold anything; otherwise it passes the amount up. */
static double redistribute_slow(struct lv_evaluator *ev, int first, double unallocated)
{
    double held = 0;
    for (int i = first; i < ev->n_positions; i++)
        held += ev->positions[i].weight;
    if (!(held > 0))
        return unallocated;
    double factor = (held + unallocated) / held;
    for (int i = first; i < ev->n_positions; i++)
        ev->positions[i].weight *= factor;
    return 0;
}

/* Nearly every group places all it gets: keep that case a single test. */
static inline double redistribute(struct lv_evaluator *ev, int first, double unallocated)
{
    return unallocated > 0 ? redistribute_slow(ev, first, unallocated) : unallocated;
}

static double eval_node(struct lv_evaluator *ev, int id, double base);

/* The id of the series with this key in `s` (recorded outcomes name series by key: ids differ
 * from run to run). A linear search, made only for a day's first missing read. */
static int series_of_key(const struct lv_strategy *s, const struct lv_series_key *key)
{
    for (int id = 0; id < s->n_series; id++) {
        const struct lv_series_key *k = &s->series[id];
        if (k->kind == key->kind && k->ind == key->ind &&
            lv_ind_params_equal(&k->params, &key->params) &&
            (k->kind == LV_SERIES_INDICATOR ? strcmp(k->ticker, key->ticker) == 0
                                            : k->sort == key->sort && k->child == key->child))
            return id;
    }
    return -1;
}

/* Evaluates child group `group` of node `id` sharing `amount` by the bound shares, then
 * applies the local rule. An empty or placeless group leaves the whole amount unallocated. */
static double eval_group(struct lv_evaluator *ev, int id, int group, double amount)
{
    const struct lv_node *node = &ev->s->nodes[id];
    int n = node->group_len[group];
    if (n == 0 || (ev->placeless[id] & PLACELESS_GROUP(group)))
        return amount;
    const int *kids = ev->s->kids + node->group_off[group];
    const double *share = ev->share + node->group_off[group];
    const struct lv_node *nodes = ev->s->nodes;
    int first = ev->n_positions;
    double unallocated = 0;
    for (int k = 0; k < n; k++) {
        const struct lv_node *kid = &nodes[kids[k]];
        if (kid->kind == LV_NODE_TICKER) /* the commonest child, placed without a call */
            ev->positions[ev->n_positions++] = (struct position){kid->ticker, amount * share[k]};
        else
            unallocated += eval_node(ev, kids[k], amount * share[k]);
    }
    return redistribute(ev, first, unallocated);
}

static bool compare(enum lv_cmp_op op, double left, double right)
{
    switch (op) {
    case LV_OP_GT:
        return left > right;
    case LV_OP_LT:
        return left < right;
    case LV_OP_GTE:
        return left >= right;
    case LV_OP_LTE:
        return left <= right;
    case LV_OP_EQ:
        return left == right;
    case LV_OP_NEQ:
        return left != right;
    }
    return false;
}

/* Every condition is read whatever the mode, so one missing input fails the gate (C-13). */
static double eval_gate_reading(struct lv_evaluator *ev, int id, double base)
{
    const struct lv_node *node = &ev->s->nodes[id];
    const struct lv_cond *conds = ev->s->conds + node->cond_off;
    bool complete = true, first_met = false;
    int n_met = 0;
    for (int c = 0; c < node->n_conds; c++) {
        double left, right = conds[c].threshold;
        bool have_left = read_value(ev, conds[c].left, &left);
        bool have_right = conds[c].right < 0 || read_value(ev, conds[c].right, &right);
        if (!have_left || !have_right) {
            complete = false;
            continue;
        }
        bool met = compare(conds[c].op, left, right);
        n_met += met;
        if (c == 0)
            first_met = met;
    }
    if (!complete)
        return base;
    bool met = false;
    switch (node->gate_mode) {
    case LV_GATE_IF:
        met = first_met;
        break;
    case LV_GATE_IF_ALL:
        met = n_met == node->n_conds;
        break;
    case LV_GATE_IF_ANY:
        met = n_met > 0;
        break;
    case LV_GATE_IF_NONE:
        met = n_met == 0;
        break;
    }
    return eval_group(ev, id, met ? 0 : 1, base);
}

/* The same from the prepared table; a gate with a missing input is read again, so that the
 * missing reads are counted exactly as without a table. */
static double eval_gate(struct lv_evaluator *ev, int id, double base)
{
    int row = ev->gates_today != NULL ? ev->gate_row[ev->gate_index[id]] : -1;
    if (row < 0)
        return eval_gate_reading(ev, id, base);
    unsigned char outcome = ev->gates_today[(size_t)row * ev->gates_days];
    if (outcome == GATE_MISSING)
        return eval_gate_reading(ev, id, base);
    return eval_group(ev, id, outcome == GATE_THEN ? 0 : 1, base);
}

/* FROM gets base·(1−f), TO gets base·f; each branch redistributes only its own positions and
 * the scale passes what is left to its parent (C-24b). */
static double eval_scale(struct lv_evaluator *ev, int id, double base)
{
    const struct lv_node *node = &ev->s->nodes[id];
    double value;
    if (!read_value(ev, node->series, &value))
        return base;
    double fraction = (value - node->range_min) / (node->range_max - node->range_min);
    fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    double unallocated = eval_group(ev, id, 0, base * (1 - fraction));
    return unallocated + eval_group(ev, id, 1, base * fraction);
}

static bool ranks_before(const struct ranked *a, const struct ranked *b, bool top)
{
    return top ? a->score > b->score : a->score < b->score;
}

/* Sorts of a few children (the usual case) take a stable insertion sort: for scores that
 * are all finite, any stable sort gives the same order. */
#define INSERTION_SORT_MAX 16

/* Stable bottom-up merge sort (best first); `scratch` holds n items. */
static void sort_ranks(struct ranked *items, struct ranked *scratch, int n, bool top)
{
    if (n <= INSERTION_SORT_MAX) {
        for (int i = 1; i < n; i++) {
            struct ranked item = items[i];
            int at = i;
            for (; at > 0 && ranks_before(&item, &items[at - 1], top); at--)
                items[at] = items[at - 1];
            items[at] = item;
        }
        return;
    }
    struct ranked *from = items, *to = scratch;
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int left = lo, right = mid, out = lo;
            while (left < mid && right < hi)
                to[out++] =
                    ranks_before(&from[right], &from[left], top) ? from[right++] : from[left++];
            while (left < mid)
                to[out++] = from[left++];
            while (right < hi)
                to[out++] = from[right++];
        }
        struct ranked *swap = from;
        from = to;
        to = swap;
    }
    if (from != items)
        memcpy(items, from, (size_t)n * sizeof *items);
}

/* The winners: the first `count` tie groups of the ranking, with all their members. A score
 * joins a group when within SORT_TIE_EPSILON of the group's first member (C-38). */
static int count_winners(const struct ranked *ranked, int n, int count)
{
    int n_winners = 0, n_groups = 0;
    double group_first = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || fabs(ranked[i].score - group_first) > SORT_TIE_EPSILON) {
            if (n_groups == count)
                break;
            n_groups++;
            group_first = ranked[i].score;
        }
        n_winners++;
    }
    return n_winners;
}

static double winner_weight(const struct lv_node *child)
{
    return child->has_weight && child->weight > 0 ? child->weight : 0;
}

static double eval_sort(struct lv_evaluator *ev, int id, double base)
{
    const struct lv_node *node = &ev->s->nodes[id];
    const struct lv_sort_info *sort = &ev->s->sorts[node->sort];
    int n = sort->n_children;
    if (n == 0)
        return base;
    struct ranked *ranked = ev->ranks + ev->rank_off[node->sort];
    bool complete = true;
    for (int k = 0; k < n; k++) {
        ranked[k].child = k;
        complete &= read_value(ev, sort->score_series[k], &ranked[k].score);
    }
    if (!complete)
        return base;
    sort_ranks(ranked, ranked + n, n, node->top);
    int n_winners = count_winners(ranked, n, node->count > 1 ? node->count : 1);

    /* Winners share by weight; all-zero weights mean equal shares (C-20c). */
    const struct lv_node *nodes = ev->s->nodes;
    double sum = 0, placed = 0, unallocated = 0;
    for (int i = 0; i < n_winners; i++)
        sum += winner_weight(&nodes[sort->child_nodes[ranked[i].child]]);
    int first = ev->n_positions;
    for (int i = 0; i < n_winners; i++) {
        int child = sort->child_nodes[ranked[i].child];
        double share = sum > 0 ? winner_weight(&nodes[child]) / sum : 1.0 / n_winners;
        placed += share;
        if (share > 0)
            unallocated += eval_node(ev, child, base * share);
    }
    if (1 - placed > SHARE_EPSILON)
        unallocated += (1 - placed) * base;
    return redistribute(ev, first, unallocated);
}

/* Copies node id's recorded outcome of the day, when there is one for this base and day:
 * exactly what descending would write and count. */
static bool replay_subtree(struct lv_evaluator *ev, int id, double base, double *unallocated)
{
    const struct lv_subtree_days *rec = ev->subtrees[id];
    if (rec == NULL || rec->base != base || ev->day - rec->from >= rec->n_days)
        return false;
    size_t d = ev->day - rec->from;
    for (int32_t i = rec->pos_off[d]; i < rec->pos_off[d + 1]; i++)
        ev->positions[ev->n_positions++] =
            (struct position){ev->ticker_of_code[rec->pos_code[i]], rec->pos_weight[i]};
    if (rec->n_missing[d] > 0) {
        if (ev->n_missing == 0)
            ev->first_missing = series_of_key(ev->s, &rec->missing_keys[rec->first_missing[d]]);
        ev->n_missing += rec->n_missing[d];
    }
    *unallocated = rec->unallocated[d];
    return true;
}

/* Evaluates node `id` by its kind (no cache, no recorded outcome at `id` itself). */
static double eval_kind(struct lv_evaluator *ev, int id, double base)
{
    const struct lv_node *node = &ev->s->nodes[id];
    switch (node->kind) {
    case LV_NODE_TICKER:
        ev->positions[ev->n_positions++] = (struct position){node->ticker, base};
        return 0;
    case LV_NODE_WEIGHT:
        /* An empty weight is not unallocated: the final normalisation spreads it (C-32). */
        return node->group_len[0] == 0 ? 0 : eval_group(ev, id, 0, base);
    case LV_NODE_GATE:
        return eval_gate(ev, id, base);
    case LV_NODE_SORT:
        return eval_sort(ev, id, base);
    case LV_NODE_SCALE:
        return eval_scale(ev, id, base);
    }
    return base;
}

/* Whether cache c's kept walk is today's: kept with this base, and none of its gates changed
 * between the day kept and today (in either order: passes of a backtest restart earlier). */
static bool cache_holds(const struct lv_evaluator *ev, const struct walk_cache *c, int index,
                        double walk_base)
{
    if (c->filled < 0 || ev->gates_today == NULL || (!c->unit && c->base != walk_base))
        return false;
    long today = (long)(ev->day - ev->gates_from);
    long lo = today < c->filled ? today : c->filled, hi = today < c->filled ? c->filled : today;
    const unsigned char *row = ev->changed_rows + (size_t)index * ev->gates_days;
    return hi == lo || memchr(row + lo + 1, 1, (size_t)(hi - lo)) == NULL;
}

/* A cache root (struct walk_cache): its kept walk when it still holds, else walked and kept. */
static double eval_cached(struct lv_evaluator *ev, int index, double base)
{
    struct walk_cache *c = &ev->caches[index];
    double walk_base = c->unit ? 1.0 : base;
    struct position *kept = ev->cache_pos + c->pos_off;
    double unallocated;
    int first = ev->n_positions;
    if (cache_holds(ev, c, index, walk_base)) {
        memcpy(ev->positions + first, kept, (size_t)c->n_pos * sizeof *kept);
        ev->n_positions += c->n_pos;
        unallocated = c->unallocated;
    } else {
        int missing_before = ev->n_missing;
        unallocated = eval_kind(ev, c->node, walk_base);
        c->n_pos = ev->n_positions - first;
        memcpy(kept, ev->positions + first, (size_t)c->n_pos * sizeof *kept);
        c->unallocated = unallocated;
        c->base = walk_base;
        /* a walk with missing reads is not kept: replaying it would not count them */
        bool keep = c->usable && ev->gates_today != NULL && ev->n_missing == missing_before;
        c->filled = keep ? (long)(ev->day - ev->gates_from) : -1;
    }
    if (!c->unit)
        return unallocated;
    for (int i = first; i < ev->n_positions; i++)
        ev->positions[i].weight *= base;
    return unallocated * base;
}

/* Evaluates node `id` with `base` (a fraction of the portfolio) and returns what it could
 * not place. Recursion depth is bounded by validation (LV_STRATEGY_MAX_DEPTH). */
static double eval_node(struct lv_evaluator *ev, int id, double base)
{
    double unallocated;
    if (ev->subtrees != NULL && replay_subtree(ev, id, base, &unallocated))
        return unallocated;
    int cache = ev->cache_of[id];
    return cache >= 0 ? eval_cached(ev, cache, base) : eval_kind(ev, id, base);
}

static double eval_top_level(struct lv_evaluator *ev)
{
    const struct lv_strategy *s = ev->s;
    const int *kids = s->kids + s->top_off;
    const double *share = ev->share + s->top_off;
    double unallocated = 0;
    if (ev->top_placeless)
        return 0;
    for (int k = 0; k < s->top_len; k++)
        unallocated += eval_node(ev, kids[k], share[k]);
    return unallocated;
}

/* Sums positions by ticker in order of first appearance and normalises them to 1. */
static void aggregate(struct lv_evaluator *ev, struct lv_alloc *out)
{
    out->n = 0;
    for (int i = 0; i < ev->n_positions; i++) {
        const struct position *pos = &ev->positions[i];
        int slot = ev->slot[pos->ticker];
        if (slot < 0) {
            slot = ev->slot[pos->ticker] = out->n++;
            out->ticker[slot] = pos->ticker;
            out->weight[slot] = 0;
        }
        out->weight[slot] += pos->weight;
    }
    double total = 0;
    for (int i = 0; i < out->n; i++) {
        total += out->weight[i];
        ev->slot[out->ticker[i]] = -1;
    }
    if (!(total > 0)) {
        out->n = 0; /* nothing held: a cash day */
        return;
    }
    if (total == 1.0) /* the common case: dividing by 1 would change nothing */
        return;
    for (int i = 0; i < out->n; i++)
        out->weight[i] /= total;
}

/* ---- Gate outcomes for a range of days ------------------------------------------------------ */

/* Gate outcomes are computed 64 days at a time as bit words (bit i = day i of the block), one
 * condition at a time with the operator chosen once per block, then spread into the table's
 * bytes. The comparisons are C's (SSE2's are the same IEEE ones, NaN included) and a day with
 * an input that is not finite is marked missing, exactly as eval_gate_reading decides. */
#define GATE_BLOCK 64

/* Bits of met and not-finite inputs of one condition over m <= 64 days. */
struct cond_bits {
    uint64_t met, missing;
};

static bool not_finite(double x)
{
    return !isfinite(x);
}

#if defined(__SSE2__)
/* Lanes not finite: x − x is NaN exactly for NaN and ±inf. */
static inline int not_finite2(__m128d x)
{
    __m128d zero_or_nan = _mm_sub_pd(x, x);
    return _mm_movemask_pd(_mm_cmpunord_pd(zero_or_nan, zero_or_nan));
}

/* One loop per operator, two days per step; RIGHT(i) is the right value(s) of days i, i + 1. */
#define COND_LOOP(SSE_CMP, C_OP, RIGHT2, RIGHT1)                                                   \
    do {                                                                                           \
        for (; i + 1 < m; i += 2) {                                                                \
            __m128d l = _mm_loadu_pd(left + i), r = RIGHT2;                                        \
            miss |= (uint64_t)(not_finite2(l) | (right != NULL ? not_finite2(r) : 0)) << i;        \
            met |= (uint64_t)_mm_movemask_pd(SSE_CMP(l, r)) << i;                                  \
        }                                                                                          \
        for (; i < m; i++) {                                                                       \
            double r = RIGHT1;                                                                     \
            miss |= (uint64_t)(not_finite(left[i]) || (right != NULL && not_finite(r))) << i;      \
            met |= (uint64_t)(left[i] C_OP r) << i;                                                \
        }                                                                                          \
    } while (0)
#define COND_CASE(SSE_CMP, C_OP)                                                                   \
    if (right != NULL)                                                                             \
        COND_LOOP(SSE_CMP, C_OP, _mm_loadu_pd(right + i), right[i]);                               \
    else                                                                                           \
        COND_LOOP(SSE_CMP, C_OP, _mm_set1_pd(threshold), threshold);                               \
    break
#else
#define COND_CASE(SSE_CMP, C_OP)                                                                   \
    for (; i < m; i++) {                                                                           \
        double r = right != NULL ? right[i] : threshold;                                           \
        miss |= (uint64_t)(not_finite(left[i]) || (right != NULL && not_finite(r))) << i;          \
        met |= (uint64_t)(left[i] C_OP r) << i;                                                    \
    }                                                                                              \
    break
#endif

/* Condition (left OP right or threshold) over days [0, m) of the given columns. */
static struct cond_bits cond_block(enum lv_cmp_op op, const double *left, const double *right,
                                   double threshold, size_t m)
{
    uint64_t met = 0, miss = 0;
    size_t i = 0;
    switch (op) {
    case LV_OP_GT:
        COND_CASE(_mm_cmpgt_pd, >);
    case LV_OP_LT:
        COND_CASE(_mm_cmplt_pd, <);
    case LV_OP_GTE:
        COND_CASE(_mm_cmpge_pd, >=);
    case LV_OP_LTE:
        COND_CASE(_mm_cmple_pd, <=);
    case LV_OP_EQ:
        COND_CASE(_mm_cmpeq_pd, ==);
    case LV_OP_NEQ:
        COND_CASE(_mm_cmpneq_pd, !=);
    }
    return (struct cond_bits){met, miss};
}

/* Eight bits to eight bytes of 0 or 1 (byte k = bit k): seven copies of the low bits 7 apart
 * never overlap, so bit k of copy k lands alone on bit 8k. */
static uint64_t spread_byte(unsigned bits)
{
    return (((uint64_t)(bits & 0x7f) * 0x0002040810204081ULL) & 0x0101010101010101ULL) |
           ((uint64_t)(bits & 0x80) << 49);
}

/* Gate `node`'s outcome on days [from, from + m), m <= 64, into row[0..m). */
static void gate_block(const struct lv_strategy *s, const struct lv_node *node,
                       const double *const *cols, size_t from, size_t m, unsigned char *row)
{
    const struct lv_cond *conds = s->conds + node->cond_off;
    uint64_t first = 0, any = 0, all = ~(uint64_t)0, missing = 0;
    for (int c = 0; c < node->n_conds; c++) {
        const double *right = conds[c].right < 0 ? NULL : cols[conds[c].right] + from;
        struct cond_bits b =
            cond_block(conds[c].op, cols[conds[c].left] + from, right, conds[c].threshold, m);
        first = c == 0 ? b.met : first;
        any |= b.met;
        all &= b.met;
        missing |= b.missing;
    }
    uint64_t then = node->gate_mode == LV_GATE_IF       ? first
                    : node->gate_mode == LV_GATE_IF_ALL ? all
                    : node->gate_mode == LV_GATE_IF_ANY ? any
                                                        : ~any;
    for (size_t j = 0; j < m; j += 8) {
        /* GATE_ELSE 0, GATE_THEN 1, GATE_MISSING 2, for eight days at once */
        uint64_t t = spread_byte((unsigned)(then >> j) & 0xff);
        uint64_t lost = spread_byte((unsigned)(missing >> j) & 0xff);
        uint64_t bytes = (t & ~lost) | (lost << 1);
        size_t k_end = m - j < 8 ? m - j : 8;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (k_end == 8) { /* byte k of the word is day j + k */
            memcpy(row + j, &bytes, 8);
            continue;
        }
#endif
        for (size_t k = 0; k < k_end; k++)
            row[j + k] = (unsigned char)(bytes >> (8 * k));
    }
}

/* Gate `node`'s outcome on each day of [from, from + n) into row[0..n). */
static void gate_days(const struct lv_strategy *s, const struct lv_node *node,
                      const double *const *cols, size_t from, size_t n, unsigned char *row)
{
    for (size_t done = 0; done < n; done += GATE_BLOCK) {
        size_t m = n - done < GATE_BLOCK ? n - done : GATE_BLOCK;
        gate_block(s, node, cols, from + done, m, row + done);
    }
}

/* Numbers the table's rows: every gate, but those under a node with a recorded outcome (the
 * walk does not go there). Returns the number of rows. */
static int tabled_gates(struct lv_evaluator *ev)
{
    const struct lv_strategy *s = ev->s;
    int n_rows = 0;
    for (int i = 0; i < s->n_nodes;) {
        if (ev->subtrees != NULL && ev->subtrees[i] != NULL) {
            for (int j = i; j < s->nodes[i].end; j++)
                if (ev->gate_index[j] >= 0)
                    ev->gate_row[ev->gate_index[j]] = -1;
            i = s->nodes[i].end;
            continue;
        }
        if (ev->gate_index[i] >= 0)
            ev->gate_row[ev->gate_index[i]] = n_rows++;
        i++;
    }
    return n_rows;
}

/* Marks in row[1..n) the days on which a gate's outcome differs from the day before or is
 * missing (GATE_MISSING is the only outcome with bit 1), eight days per step: every
 * operation below stays within each byte. */
static void or_changes(unsigned char *row, const unsigned char *outcome, size_t n)
{
    const uint64_t low_bits = 0x0101010101010101ULL;
    size_t d = 1;
    for (; d + 8 <= n; d += 8) {
        uint64_t today, before, marks;
        memcpy(&today, outcome + d, 8);
        memcpy(&before, outcome + d - 1, 8);
        memcpy(&marks, row + d, 8);
        uint64_t differs = (today ^ before) | ((today >> 1) & low_bits);
        marks |= (differs | (differs >> 1)) & low_bits;
        memcpy(row + d, &marks, 8);
    }
    for (; d < n; d++)
        row[d] |= (outcome[d] != outcome[d - 1]) | (outcome[d] == GATE_MISSING);
}

/* Cache c's changed row over the table's n days (see lv_evaluator.changed_rows); marks the
 * cache unusable when one of its gates is not tabled. */
static void fill_changed_row(struct lv_evaluator *ev, struct walk_cache *c, unsigned char *row,
                             size_t n)
{
    const struct lv_strategy *s = ev->s;
    c->usable = true;
    for (int i = c->node; i < s->nodes[c->node].end; i++)
        if (ev->gate_index[i] >= 0 && ev->gate_row[ev->gate_index[i]] < 0)
            c->usable = false;
    if (!c->usable)
        return;
    memset(row, 0, n);
    row[0] = 1;
    for (int i = c->node; i < s->nodes[c->node].end; i++) {
        if (ev->gate_index[i] < 0)
            continue;
        or_changes(row, ev->gate_table + (size_t)ev->gate_row[ev->gate_index[i]] * n, n);
    }
}

/* Forgets every kept walk and rebuilds the caches' changed rows for a new table of n days. A
 * cache without room for its row is left unusable (always walked). */
static void prepare_caches(struct lv_evaluator *ev, size_t n)
{
    size_t bytes = (size_t)ev->n_caches * n;
    bool room = ev->cap_changed_rows >= bytes;
    if (!room) {
        unsigned char *grown = realloc(ev->changed_rows, bytes);
        if (grown != NULL) {
            ev->changed_rows = grown;
            ev->cap_changed_rows = bytes;
            room = true;
        }
    }
    for (int k = 0; k < ev->n_caches; k++) {
        struct walk_cache *c = &ev->caches[k];
        c->filled = -1;
        c->usable = false;
        if (room)
            fill_changed_row(ev, c, ev->changed_rows + (size_t)k * n, n);
    }
}

int lv_evaluator_prepare_gates(struct lv_evaluator *ev, const double *const *cols, size_t from,
                               size_t end)
{
    ev->gates_cols = NULL;
    for (int k = 0; k < ev->n_caches; k++)
        ev->caches[k].filled = -1; /* kept walks read the old table's days */
    if (end <= from)
        return 0;
    size_t n = end - from;
    int n_rows = tabled_gates(ev);
    size_t table = (size_t)n_rows * n;
    if (ev->cap_gate_table < table) {
        unsigned char *grown = realloc(ev->gate_table, table);
        if (grown == NULL)
            return -1;
        ev->gate_table = grown;
        ev->cap_gate_table = table;
    }
    for (int i = 0; i < ev->s->n_nodes; i++) {
        int row = ev->gate_index[i] >= 0 ? ev->gate_row[ev->gate_index[i]] : -1;
        if (row >= 0)
            gate_days(ev->s, &ev->s->nodes[i], cols, from, n, ev->gate_table + (size_t)row * n);
    }
    prepare_caches(ev, n);
    ev->gates_cols = cols;
    ev->gates_from = from;
    ev->gates_days = n;
    return 0;
}

int lv_evaluator_gate_changes(const struct lv_evaluator *ev, int root, const double *const *cols,
                              size_t from, size_t end, unsigned char *changed)
{
    if (ev->gates_cols == NULL || cols != ev->gates_cols || ev->subtrees != NULL || from >= end ||
        from < ev->gates_from || end - ev->gates_from > ev->gates_days)
        return -1;
    const struct lv_strategy *s = ev->s;
    int lo = root == LV_ROOT ? 0 : root, hi = root == LV_ROOT ? s->n_nodes : s->nodes[root].end;
    for (int i = lo; i < hi; i++) {
        enum lv_node_kind kind = s->nodes[i].kind;
        if (kind == LV_NODE_SCALE || kind == LV_NODE_SORT ||
            (kind == LV_NODE_GATE && ev->gate_row[ev->gate_index[i]] < 0))
            return -1;
    }
    size_t n = end - from;
    memset(changed, 0, n);
    changed[0] = 1;
    for (int i = lo; i < hi; i++) {
        if (s->nodes[i].kind != LV_NODE_GATE)
            continue;
        /* outcome[d] is the gate's outcome on day from + d */
        const unsigned char *outcome = ev->gate_table +
                                       (size_t)ev->gate_row[ev->gate_index[i]] * ev->gates_days +
                                       (from - ev->gates_from);
        for (size_t d = 1; d < n; d++)
            changed[d] |= (outcome[d] != outcome[d - 1]) | (outcome[d] == GATE_MISSING);
    }
    return 0;
}

void lv_evaluate_day(struct lv_evaluator *ev, int root, const double *const *cols, size_t day,
                     struct lv_alloc *out, struct lv_eval_report *report)
{
    ev->cols = cols;
    ev->day = day;
    bool tabled = cols == ev->gates_cols && day - ev->gates_from < ev->gates_days;
    ev->gates_today = tabled ? ev->gate_table + (day - ev->gates_from) : NULL;
    ev->n_positions = 0;
    ev->n_missing = 0;
    ev->first_missing = -1;
    double unallocated = 0;
    if (root == LV_ROOT)
        unallocated = eval_top_level(ev);
    else if (root >= 0 && root < ev->s->n_nodes)
        unallocated = eval_node(ev, root, 1.0);
    redistribute(ev, 0, unallocated);
    aggregate(ev, out);
    if (report != NULL) {
        report->n_missing = ev->n_missing;
        report->first_missing = ev->first_missing;
    }
}

void lv_evaluate(struct lv_evaluator *ev, int root, const double *values, struct lv_alloc *out,
                 struct lv_eval_report *report)
{
    for (int id = 0; id < ev->s->n_series; id++)
        ev->value_cols[id] = values + id;
    lv_evaluate_day(ev, root, ev->value_cols, 0, out, report);
}

/* ---- Recorded subtree outcomes ------------------------------------------------------------- */

void lv_evaluator_use_subtrees(struct lv_evaluator *ev,
                               const struct lv_subtree_days *const *by_node,
                               const int *ticker_of_code)
{
    ev->subtrees = by_node;
    ev->ticker_of_code = ticker_of_code;
}

/* Gives the kids of group `group` of `node` (reached with `base`) their fixed bases. */
static void fixed_group_bases(const struct lv_evaluator *ev, int node, int group, double base,
                              double *out)
{
    const struct lv_node *n = &ev->s->nodes[node];
    const int *kids = ev->s->kids + n->group_off[group];
    const double *share = ev->share + n->group_off[group];
    bool placeless = ev->placeless[node] & PLACELESS_GROUP(group);
    for (int k = 0; k < n->group_len[group]; k++)
        out[kids[k]] = placeless ? NAN : base * share[k]; /* as eval_group computes it */
}

void lv_evaluator_fixed_bases(const struct lv_evaluator *ev, double *base)
{
    const struct lv_strategy *s = ev->s;
    for (int i = 0; i < s->n_nodes; i++)
        base[i] = NAN;
    for (int k = 0; k < s->top_len; k++)
        base[s->kids[s->top_off + k]] = ev->top_placeless ? NAN : ev->share[s->top_off + k];
    /* Preorder: a parent's base is known before its children's. */
    for (int i = 0; i < s->n_nodes; i++) {
        const struct lv_node *node = &s->nodes[i];
        if (isnan(base[i]))
            continue;
        switch (node->kind) {
        case LV_NODE_WEIGHT:
            fixed_group_bases(ev, i, 0, base[i], base);
            break;
        case LV_NODE_GATE:
            fixed_group_bases(ev, i, 0, base[i], base);
            fixed_group_bases(ev, i, 1, base[i], base);
            break;
        case LV_NODE_SORT: {
            /* a single winner gets base · 1.0 (its weight over itself, or 1/1) */
            const struct lv_sort_info *sort = &s->sorts[node->sort];
            for (int k = 0; k < sort->n_children; k++)
                base[sort->child_nodes[k]] = base[i] * 1.0;
            break;
        }
        case LV_NODE_SCALE: /* the blend moves with the day's value */
        case LV_NODE_TICKER:
            break;
        }
    }
}

int lv_evaluate_subtree(struct lv_evaluator *ev, int node, double base, const double *const *cols,
                        size_t day, int *tickers, double *weights, double *unallocated,
                        struct lv_eval_report *report)
{
    const struct lv_subtree_days *const *subtrees = ev->subtrees;
    ev->subtrees = NULL;
    ev->cols = cols;
    ev->day = day;
    bool tabled = cols == ev->gates_cols && day - ev->gates_from < ev->gates_days;
    ev->gates_today = tabled ? ev->gate_table + (day - ev->gates_from) : NULL;
    ev->n_positions = 0;
    ev->n_missing = 0;
    ev->first_missing = -1;
    *unallocated = eval_node(ev, node, base);
    for (int i = 0; i < ev->n_positions; i++) {
        tickers[i] = ev->positions[i].ticker;
        weights[i] = ev->positions[i].weight;
    }
    report->n_missing = ev->n_missing;
    report->first_missing = ev->first_missing;
    ev->subtrees = subtrees;
    return ev->n_positions;
}

int lv_strategy_node_end(const struct lv_strategy *s, int node)
{
    return s->nodes[node].end;
}
