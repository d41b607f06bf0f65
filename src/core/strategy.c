/* strategy.c — compilation of a strategy document into its flat form (see strategy.h and
 * strategy_internal.h), the tables it exposes, and subtree queries. */
#include "core/strategy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lv_grow(void **array, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int new_cap = *cap ? *cap : 16;
    while (new_cap < need)
        new_cap *= 2;
    void *grown = realloc(*array, (size_t)new_cap * elem);
    if (grown == NULL)
        return -1;
    *array = grown;
    *cap = new_cap;
    return 0;
}

/* ---- Id tables --------------------------------------------------------------------------- */

/* Mixes one 64-bit word into a hash: a multiply spreads low bits up, the shift brings the
 * high bits back down to the ones a table index uses. Word-wise, because batches intern
 * every series of every run (strategy_bind.c). */
static uint64_t hash_word(uint64_t hash, uint64_t word)
{
    hash = (hash ^ word) * 0x9E3779B97F4A7C15u;
    return hash ^ (hash >> 32);
}

/* Copies a ticker (at most LV_TICKER_MAX - 1 characters) with its NUL. */
static void copy_ticker(char dst[LV_TICKER_MAX], const char *src)
{
    size_t len = strnlen(src, LV_TICKER_MAX - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static uint64_t hash_ticker(uint64_t hash, const char *ticker)
{
    char padded[LV_TICKER_MAX] = {0};
    uint64_t words[LV_TICKER_MAX / sizeof(uint64_t)];
    copy_ticker(padded, ticker);
    memcpy(words, padded, sizeof words);
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        hash = hash_word(hash, words[i]);
    return hash;
}

#define HASH_SEED 14695981039346656037u

/* Slot where `id` with `hash` lives or would go: probes until an empty slot or a slot whose id
 * `same` accepts. */
typedef bool (*lv_same_fn)(const struct lv_strategy *s, int id, const void *key);

static struct lv_id_slot *table_probe(const struct lv_id_table *table, uint64_t hash,
                                      lv_same_fn same, const struct lv_strategy *s, const void *key)
{
    size_t mask = (size_t)table->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct lv_id_slot *slot = &table->slots[i];
        if (slot->id < 0 || (slot->hash == hash && same(s, slot->id, key)))
            return slot;
    }
}

/* Keeps the table at most half full, so probes stay short and always find an empty slot. */
static int table_reserve(struct lv_id_table *table)
{
    if (2 * (table->used + 1) <= table->cap)
        return 0;
    int cap = table->cap ? table->cap * 2 : 64;
    struct lv_id_slot *slots = malloc((size_t)cap * sizeof *slots);
    if (slots == NULL)
        return -1;
    for (int i = 0; i < cap; i++)
        slots[i].id = -1;
    for (int i = 0; i < table->cap; i++) {
        struct lv_id_slot old = table->slots[i];
        if (old.id < 0)
            continue;
        size_t j = old.hash & (size_t)(cap - 1);
        while (slots[j].id >= 0)
            j = (j + 1) & (size_t)(cap - 1);
        slots[j] = old;
    }
    free(table->slots);
    table->slots = slots;
    table->cap = cap;
    return 0;
}

/* ---- Series and tickers ------------------------------------------------------------------ */

static uint64_t series_hash(const char *ticker, enum lv_ind ind, const struct lv_ind_params *p)
{
    uint64_t hash = hash_word(hash_ticker(HASH_SEED, ticker), (uint64_t)ind);
    for (int i = 0; i < LV_IND_MAX_PARAMS; i++) {
        uint64_t bits; /* canonical: -0 was folded into +0, so equal values hash alike */
        memcpy(&bits, &p->v[i], sizeof bits);
        hash = hash_word(hash, bits);
    }
    return hash;
}

struct series_probe {
    const char *ticker;
    enum lv_ind ind;
    const struct lv_ind_params *params;
};

static bool same_series(const struct lv_strategy *s, int id, const void *key)
{
    const struct series_probe *probe = key;
    const struct lv_series_key *have = &s->series[id];
    return have->ind == probe->ind && strcmp(have->ticker, probe->ticker) == 0 &&
           lv_ind_params_equal(&have->params, probe->params);
}

static int append_series(struct lv_strategy *s, const struct lv_series_key *key)
{
    if (lv_grow((void **)&s->series, &s->cap_series, s->n_series + 1, sizeof *s->series) < 0)
        return -1;
    s->series[s->n_series] = *key;
    return s->n_series++;
}

int lv_strategy_intern_series(struct lv_strategy *s, const char *ticker, enum lv_ind ind,
                              const struct lv_ind_params *params)
{
    if (table_reserve(&s->series_index) < 0)
        return -1;
    struct series_probe probe = {ticker, ind, params};
    uint64_t hash = series_hash(ticker, ind, params);
    struct lv_id_slot *slot = table_probe(&s->series_index, hash, same_series, s, &probe);
    if (slot->id >= 0)
        return slot->id;

    int id = lv_strategy_append_series(s, ticker, ind, params);
    if (id < 0)
        return -1;
    slot->hash = hash;
    slot->id = id;
    s->series_index.used++;
    return id;
}

int lv_strategy_append_series(struct lv_strategy *s, const char *ticker, enum lv_ind ind,
                              const struct lv_ind_params *params)
{
    struct lv_series_key key = {.kind = LV_SERIES_INDICATOR, .ind = ind, .sort = -1, .child = -1};
    copy_ticker(key.ticker, ticker);
    key.params = *params;
    return append_series(s, &key);
}

int lv_strategy_add_score_series(struct lv_strategy *s, int sort, int child, enum lv_ind ind,
                                 const struct lv_ind_params *params)
{
    struct lv_series_key key = {
        .kind = LV_SERIES_SORT_SCORE, .ind = ind, .sort = sort, .child = child};
    key.params = *params;
    return append_series(s, &key);
}

static bool same_ticker(const struct lv_strategy *s, int id, const void *key)
{
    return strcmp(s->tickers[id], key) == 0;
}

int lv_strategy_intern_ticker(struct lv_strategy *s, const char *ticker)
{
    if (table_reserve(&s->ticker_index) < 0)
        return -1;
    uint64_t hash = hash_ticker(HASH_SEED, ticker);
    struct lv_id_slot *slot = table_probe(&s->ticker_index, hash, same_ticker, s, ticker);
    if (slot->id >= 0)
        return slot->id;
    int id = lv_strategy_append_ticker(s, ticker);
    if (id < 0)
        return -1;
    slot->hash = hash;
    slot->id = id;
    s->ticker_index.used++;
    return slot->id;
}

int lv_strategy_append_ticker(struct lv_strategy *s, const char *ticker)
{
    if (lv_grow((void **)&s->tickers, &s->cap_tickers, s->n_tickers + 1, sizeof *s->tickers) < 0)
        return -1;
    copy_ticker(s->tickers[s->n_tickers], ticker);
    return s->n_tickers++;
}

int lv_strategy_find_series(const struct lv_strategy *s, const char *ticker, enum lv_ind ind,
                            const struct lv_ind_params *params)
{
    if (s->series_index.cap == 0)
        return -1;
    struct series_probe probe = {ticker, ind, params};
    uint64_t hash = series_hash(ticker, ind, params);
    return table_probe(&s->series_index, hash, same_series, s, &probe)->id;
}

int lv_strategy_find_ticker(const struct lv_strategy *s, const char *ticker)
{
    if (s->ticker_index.cap == 0)
        return -1;
    return table_probe(&s->ticker_index, hash_ticker(HASH_SEED, ticker), same_ticker, s, ticker)
        ->id;
}

/* ---- Finishing the compiled form --------------------------------------------------------- */

/* Reorders the sort table deepest first (document order among equals) and renumbers every
 * reference to a sort: nodes and score series keys. */
static int order_sorts(struct lv_strategy *s)
{
    int n = s->n_sorts;
    if (n == 0)
        return 0;
    int *order = malloc((size_t)n * sizeof *order);   /* new index -> old index */
    int *new_of = malloc((size_t)n * sizeof *new_of); /* old index -> new index */
    struct lv_sort_info *sorted = malloc((size_t)n * sizeof *sorted);
    int *sorted_off = malloc((size_t)n * sizeof *sorted_off);
    if (!order || !new_of || !sorted || !sorted_off) {
        free(order), free(new_of), free(sorted), free(sorted_off);
        return -1;
    }
    int max_depth = 0;
    for (int i = 0; i < n; i++)
        if (s->sorts[i].depth > max_depth)
            max_depth = s->sorts[i].depth;
    int next = 0;
    for (int depth = max_depth; depth >= 0; depth--)
        for (int i = 0; i < n; i++)
            if (s->sorts[i].depth == depth)
                order[next++] = i;
    for (int i = 0; i < n; i++) {
        new_of[order[i]] = i;
        sorted[i] = s->sorts[order[i]];
        sorted_off[i] = s->sort_child_off[order[i]];
    }
    for (int i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].kind == LV_NODE_SORT)
            s->nodes[i].sort = new_of[s->nodes[i].sort];
    for (int i = 0; i < s->n_series; i++)
        if (s->series[i].kind == LV_SERIES_SORT_SCORE)
            s->series[i].sort = new_of[s->series[i].sort];
    free(s->sorts);
    free(s->sort_child_off);
    s->sorts = sorted;
    s->sort_child_off = sorted_off;
    s->cap_sorts = s->cap_sort_child_off = n;
    free(order);
    free(new_of);
    return 0;
}

/* The public sort records point into the shared child arrays; done last, once no array moves. */
static void link_sort_arrays(struct lv_strategy *s)
{
    for (int i = 0; i < s->n_sorts; i++) {
        s->sorts[i].child_nodes = s->sort_child_nodes + s->sort_child_off[i];
        s->sorts[i].score_series = s->sort_score_series + s->sort_child_off[i];
    }
}

/* Calls visit(ctx, id) for every series id node `i` reads, in document order. */
static void for_each_series_read(const struct lv_strategy *s, int i,
                                 void (*visit)(void *ctx, int id), void *ctx)
{
    const struct lv_node *node = &s->nodes[i];
    switch (node->kind) {
    case LV_NODE_GATE:
        for (int c = node->cond_off; c < node->cond_off + node->n_conds; c++) {
            visit(ctx, s->conds[c].left);
            if (s->conds[c].right >= 0)
                visit(ctx, s->conds[c].right);
        }
        break;
    case LV_NODE_SCALE:
        visit(ctx, node->series);
        break;
    case LV_NODE_SORT: {
        const struct lv_sort_info *sort = &s->sorts[node->sort];
        for (int k = 0; k < sort->n_children; k++)
            visit(ctx, sort->score_series[k]);
        break;
    }
    default:
        break;
    }
}

struct reader_fill {
    struct lv_readers *readers;
    int *cursor; /* per id: next free place; NULL while counting */
    int node;
};

static void reader_visit(void *ctx, int id)
{
    struct reader_fill *fill = ctx;
    if (fill->cursor == NULL)
        fill->readers->start[id + 1]++;
    else
        fill->readers->node[fill->cursor[id]++] = fill->node;
}

/* Builds the reader lists of series (is_series) or held tickers in two passes: count, fill.
 * Nodes are visited in preorder, so each id's list comes out sorted. */
static int build_readers(const struct lv_strategy *s, struct lv_readers *readers, int n_ids,
                         bool is_series)
{
    readers->start = calloc((size_t)n_ids + 1, sizeof *readers->start);
    int *cursor = malloc(((size_t)n_ids + 1) * sizeof *cursor);
    if (readers->start == NULL || cursor == NULL) {
        free(cursor);
        return -1;
    }
    struct reader_fill fill = {readers, NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < s->n_nodes; i++) {
            fill.node = i;
            if (is_series)
                for_each_series_read(s, i, reader_visit, &fill);
            else if (s->nodes[i].kind == LV_NODE_TICKER)
                reader_visit(&fill, s->nodes[i].ticker);
        }
        if (pass == 0) {
            for (int id = 0; id < n_ids; id++)
                readers->start[id + 1] += readers->start[id];
            readers->node = malloc(((size_t)readers->start[n_ids] + 1) * sizeof *readers->node);
            if (readers->node == NULL) {
                free(cursor);
                return -1;
            }
            memcpy(cursor, readers->start, (size_t)n_ids * sizeof *cursor);
            fill.cursor = cursor;
        }
    }
    free(cursor);
    return 0;
}

static void release_readers(struct lv_readers *readers)
{
    free(readers->start);
    free(readers->node);
}

int lv_strategy_link(struct lv_strategy *s)
{
    link_sort_arrays(s);
    release_readers(&s->ticker_readers);
    release_readers(&s->series_readers);
    memset(&s->ticker_readers, 0, sizeof s->ticker_readers);
    memset(&s->series_readers, 0, sizeof s->series_readers);
    if (build_readers(s, &s->ticker_readers, s->n_tickers, false) < 0 ||
        build_readers(s, &s->series_readers, s->n_series, true) < 0)
        return -1;
    return 0;
}

int lv_strategy_finish(struct lv_strategy *s)
{
    return order_sorts(s) < 0 ? -1 : lv_strategy_link(s);
}

void lv_strategy_release(struct lv_strategy *s)
{
    free(s->name);
    free(s->nodes);
    free(s->kids);
    free(s->conds);
    free(s->series);
    free(s->series_index.slots);
    free(s->tickers);
    free(s->ticker_index.slots);
    free(s->sorts);
    free(s->sort_child_off);
    free(s->sort_child_nodes);
    free(s->sort_score_series);
    release_readers(&s->series_readers);
    release_readers(&s->ticker_readers);
    free(s->bind_scratch);
}

int lv_strategy_compile(const json_t *doc, struct lv_strategy **out, struct lv_problems *problems,
                        struct lv_problems *warnings)
{
    *out = NULL;
    struct lv_strategy *s = calloc(1, sizeof *s); /* owned here until handed to *out */
    if (s == NULL) {
        lv_problems_add(problems, "", "out of memory");
        return -1;
    }
    if (lv_strategy_parse(doc, s, problems, warnings) < 0) {
        lv_strategy_free(s);
        return -1;
    }
    if (lv_strategy_finish(s) < 0) {
        lv_problems_add(problems, "", "out of memory");
        lv_strategy_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void lv_strategy_free(struct lv_strategy *s)
{
    if (s == NULL)
        return;
    lv_strategy_release(s);
    free(s);
}

/* ---- Accessors --------------------------------------------------------------------------- */

const char *lv_strategy_name(const struct lv_strategy *s)
{
    return s->name;
}

int lv_strategy_n_series(const struct lv_strategy *s)
{
    return s->n_series;
}

const struct lv_series_key *lv_strategy_series(const struct lv_strategy *s, int id)
{
    return id >= 0 && id < s->n_series ? &s->series[id] : NULL;
}

int lv_strategy_n_tickers(const struct lv_strategy *s)
{
    return s->n_tickers;
}

const char *lv_strategy_ticker(const struct lv_strategy *s, int id)
{
    return id >= 0 && id < s->n_tickers ? s->tickers[id] : NULL;
}

int lv_strategy_n_sorts(const struct lv_strategy *s)
{
    return s->n_sorts;
}

const struct lv_sort_info *lv_strategy_sort(const struct lv_strategy *s, int index)
{
    return index >= 0 && index < s->n_sorts ? &s->sorts[index] : NULL;
}

int lv_strategy_node_ticker(const struct lv_strategy *s, int node)
{
    if (node < 0 || node >= s->n_nodes || s->nodes[node].kind != LV_NODE_TICKER)
        return -1;
    return s->nodes[node].ticker;
}

int lv_strategy_n_nodes(const struct lv_strategy *s)
{
    return s->n_nodes;
}

/* Ids whose reader list has a node inside [first, end): a binary search per id. */
static int ids_read_in(const struct lv_readers *readers, int n_ids, int first, int end, int *ids,
                       int cap)
{
    int found = 0;
    for (int id = 0; id < n_ids; id++) {
        int lo = readers->start[id], hi = readers->start[id + 1];
        while (lo < hi) { /* first reader >= first */
            int mid = lo + (hi - lo) / 2;
            if (readers->node[mid] < first)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < readers->start[id + 1] && readers->node[lo] < end) {
            if (found < cap)
                ids[found] = id;
            found++;
        }
    }
    return found;
}

static bool subtree_range(const struct lv_strategy *s, int node, int *first, int *end)
{
    if (node == LV_ROOT) {
        *first = 0;
        *end = s->n_nodes;
        return true;
    }
    if (node < 0 || node >= s->n_nodes)
        return false;
    *first = node;
    *end = s->nodes[node].end;
    return true;
}

int lv_strategy_subtree_series(const struct lv_strategy *s, int node, int *ids, int cap)
{
    int first, end;
    if (!subtree_range(s, node, &first, &end))
        return 0;
    return ids_read_in(&s->series_readers, s->n_series, first, end, ids, cap);
}

int lv_strategy_subtree_tickers(const struct lv_strategy *s, int node, int *ids, int cap)
{
    int first, end;
    if (!subtree_range(s, node, &first, &end))
        return 0;
    return ids_read_in(&s->ticker_readers, s->n_tickers, first, end, ids, cap);
}

/* ---- Allocations ------------------------------------------------------------------------- */

int lv_alloc_init(struct lv_alloc *alloc, const struct lv_strategy *s)
{
    size_t cap = s->n_tickers > 0 ? (size_t)s->n_tickers : 1;
    alloc->n = 0;
    alloc->ticker = malloc(cap * sizeof *alloc->ticker);
    alloc->weight = malloc(cap * sizeof *alloc->weight);
    if (alloc->ticker == NULL || alloc->weight == NULL) {
        lv_alloc_free(alloc);
        return -1;
    }
    return 0;
}

void lv_alloc_free(struct lv_alloc *alloc)
{
    free(alloc->ticker);
    free(alloc->weight);
    alloc->ticker = NULL;
    alloc->weight = NULL;
    alloc->n = 0;
}
