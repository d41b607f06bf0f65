/* strategy_eval.c — the allocation of one decision date (strategy-language.md §3, reference
 * §1.3–§1.11): a recursive walk of the flat tree that allocates nothing. */
#include "core/strategy_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

struct lv_evaluator {
    const struct lv_strategy *s;
    const double *values; /* the day's series values, set by lv_evaluate */
    struct position *positions;
    int n_positions;      /* capacity: the number of ticker elements, each placed at most once */
    struct ranked *ranks; /* per sort: n_children to order plus n_children of merge scratch */
    int *rank_off;        /* per sort: its offset in `ranks` */
    int *slot;            /* per ticker id: its entry in the output, or -1 */
    int n_missing;
    int first_missing;
};

struct lv_evaluator *lv_evaluator_new(const struct lv_strategy *s)
{
    struct lv_evaluator *ev = calloc(1, sizeof *ev); /* owned by the caller */
    if (ev == NULL)
        return NULL;
    ev->s = s;
    /* +1 keeps every size positive, so NULL always means failure */
    ev->positions = malloc(((size_t)s->n_ticker_nodes + 1) * sizeof *ev->positions);
    ev->ranks = malloc((2 * (size_t)s->n_sort_children + 1) * sizeof *ev->ranks);
    ev->rank_off = malloc(((size_t)s->n_sorts + 1) * sizeof *ev->rank_off);
    ev->slot = malloc(((size_t)s->n_tickers + 1) * sizeof *ev->slot);
    if (!ev->positions || !ev->ranks || !ev->rank_off || !ev->slot) {
        lv_evaluator_free(ev);
        return NULL;
    }
    int offset = 0;
    for (int i = 0; i < s->n_sorts; i++) {
        ev->rank_off[i] = offset;
        offset += 2 * s->sorts[i].n_children;
    }
    for (int i = 0; i < s->n_tickers; i++)
        ev->slot[i] = -1;
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
    free(ev);
}

/* A series value on the decision date. A missing one (NaN; any non-finite value is treated
 * alike) is counted, and the node reading it fails. */
static bool read_value(struct lv_evaluator *ev, int series, double *out)
{
    double value = ev->values[series];
    if (isfinite(value)) {
        *out = value;
        return true;
    }
    if (ev->n_missing++ == 0)
        ev->first_missing = series;
    return false;
}

/* The local redistribution rule (§1.10): a container whose descendants wrote positions
 * [first, n_positions) and left `unallocated` restores its own share in proportion to what
 * they hold, if they hold anything; otherwise it passes the amount up. */
static double redistribute(struct lv_evaluator *ev, int first, double unallocated)
{
    if (!(unallocated > 0))
        return unallocated;
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

static double eval_node(struct lv_evaluator *ev, int id, double base);

/* Evaluates children sharing `amount` equally or by relative weight, then applies the local
 * rule. Weights summing to 0 place nothing: the whole amount is unallocated. */
static double eval_shares(struct lv_evaluator *ev, const int *kids, int n, double amount,
                          bool by_weight)
{
    const struct lv_node *nodes = ev->s->nodes;
    double sum = n;
    if (by_weight) {
        sum = 0;
        for (int k = 0; k < n; k++)
            sum += nodes[kids[k]].weight;
        if (!(sum > 0))
            return amount;
    }
    int first = ev->n_positions;
    double unallocated = 0;
    for (int k = 0; k < n; k++) {
        double share = by_weight ? nodes[kids[k]].weight / sum : 1.0 / n;
        unallocated += eval_node(ev, kids[k], amount * share);
    }
    return redistribute(ev, first, unallocated);
}

/* A gate or scale branch: empty leaves its amount unallocated; one child takes it all;
 * several share it by weight. */
static double eval_branch(struct lv_evaluator *ev, const struct lv_node *node, int group,
                          double amount)
{
    int n = node->group_len[group];
    if (n == 0)
        return amount;
    return eval_shares(ev, ev->s->kids + node->group_off[group], n, amount, n > 1);
}

static double eval_weight(struct lv_evaluator *ev, const struct lv_node *node, double base)
{
    int n = node->group_len[0];
    if (n == 0)
        return 0; /* not unallocated: the final normalisation spreads it (C-32) */
    return eval_shares(ev, ev->s->kids + node->group_off[0], n, base, node->defined);
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
static double eval_gate(struct lv_evaluator *ev, const struct lv_node *node, double base)
{
    bool complete = true, first_met = false;
    int n_met = 0;
    for (int c = 0; c < node->n_conds; c++) {
        const struct lv_cond *cond = &ev->s->conds[node->cond_off + c];
        double left, right = cond->threshold;
        bool have_left = read_value(ev, cond->left, &left);
        bool have_right = cond->right < 0 || read_value(ev, cond->right, &right);
        if (!have_left || !have_right) {
            complete = false;
            continue;
        }
        bool met = compare(cond->op, left, right);
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
    return eval_branch(ev, node, met ? 0 : 1, base);
}

/* FROM gets base·(1−f), TO gets base·f; each branch redistributes only its own positions and
 * the scale passes what is left to its parent (C-24b). */
static double eval_scale(struct lv_evaluator *ev, const struct lv_node *node, double base)
{
    double value;
    if (!read_value(ev, node->series, &value))
        return base;
    double fraction = (value - node->range_min) / (node->range_max - node->range_min);
    fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    double unallocated = eval_branch(ev, node, 0, base * (1 - fraction));
    return unallocated + eval_branch(ev, node, 1, base * fraction);
}

static bool ranks_before(const struct ranked *a, const struct ranked *b, bool top)
{
    return top ? a->score > b->score : a->score < b->score;
}

/* Stable bottom-up merge sort (best first); `scratch` holds n items. */
static void sort_ranks(struct ranked *items, struct ranked *scratch, int n, bool top)
{
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

static double eval_sort(struct lv_evaluator *ev, const struct lv_node *node, double base)
{
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

/* Evaluates node `id` with `base` (a fraction of the portfolio) and returns what it could
 * not place. Recursion depth is bounded by validation (LV_STRATEGY_MAX_DEPTH). */
static double eval_node(struct lv_evaluator *ev, int id, double base)
{
    const struct lv_node *node = &ev->s->nodes[id];
    switch (node->kind) {
    case LV_NODE_TICKER:
        ev->positions[ev->n_positions++] = (struct position){node->ticker, base};
        return 0;
    case LV_NODE_WEIGHT:
        return eval_weight(ev, node, base);
    case LV_NODE_GATE:
        return eval_gate(ev, node, base);
    case LV_NODE_SORT:
        return eval_sort(ev, node, base);
    case LV_NODE_SCALE:
        return eval_scale(ev, node, base);
    }
    return base;
}

/* Top-level shares: the weight as written, 100/n when missing, relative to the sum (§3). */
static double eval_top_level(struct lv_evaluator *ev)
{
    const struct lv_strategy *s = ev->s;
    const int *kids = s->kids + s->top_off;
    int n = s->top_len;
    double sum = 0, unallocated = 0;
    for (int k = 0; k < n; k++)
        sum += s->nodes[kids[k]].has_weight ? s->nodes[kids[k]].weight : 100.0 / n;
    if (!(sum > 0))
        return 0;
    for (int k = 0; k < n; k++) {
        const struct lv_node *node = &s->nodes[kids[k]];
        double weight = node->has_weight ? node->weight : 100.0 / n;
        unallocated += eval_node(ev, kids[k], weight / sum);
    }
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
    for (int i = 0; i < out->n; i++)
        out->weight[i] /= total;
}

void lv_evaluate(struct lv_evaluator *ev, int root, const double *values, struct lv_alloc *out,
                 struct lv_eval_report *report)
{
    ev->values = values;
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
