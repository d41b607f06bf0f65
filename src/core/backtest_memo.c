/* backtest_memo.c — the batch memo (backtest_memo.h): node footprints taken from the template,
 * and a thread-safe compute-once table of byte-keyed entries under a memory budget. */
#include "core/backtest_memo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_BUCKETS 256

enum entry_state { ENTRY_COMPUTING, ENTRY_READY, ENTRY_FAILED };

struct lv_memo_entry {
    struct lv_memo_entry *next; /* bucket chain */
    uint64_t hash;
    enum entry_state state;
    void *payload; /* owned, READY only */
    size_t key_len;
    unsigned char key[]; /* key_len bytes */
};

struct lv_backtest_memo {
    /* Footprints, fixed at creation: node i reads variables vars[var_off[i] .. var_off[i+1]). */
    int n_nodes;
    int *var_off;
    int *vars;
    bool *shareable; /* per node: lv_memo_subtree_shareable */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t computed;
    struct lv_memo_entry **buckets;
    size_t n_buckets, n_entries;
    size_t bytes, budget;
    long hits, misses, refused;
};

/* ---- Footprints ---------------------------------------------------------------------------- */

static int load_footprints(struct lv_backtest_memo *memo, const struct lv_strategy_template *t)
{
    int n_nodes = lv_strategy_template_n_nodes(t);
    int n_vars = lv_strategy_template_node_vars(t, LV_ROOT, NULL, 0);
    if (n_vars < 0)
        return -1;
    memo->n_nodes = n_nodes;
    memo->var_off = malloc(((size_t)n_nodes + 1) * sizeof *memo->var_off);
    /* each node reads at most every variable under "elements" */
    memo->vars = malloc(((size_t)n_nodes * (size_t)n_vars + 1) * sizeof *memo->vars);
    if (memo->var_off == NULL || memo->vars == NULL)
        return -1;
    int used = 0;
    for (int i = 0; i < n_nodes; i++) {
        memo->var_off[i] = used;
        used += lv_strategy_template_node_vars(t, i, memo->vars + used, n_vars);
    }
    memo->var_off[n_nodes] = used;
    return 0;
}

/* Marks the nodes whose footprints allow few value combinations. */
static int mark_shareable(struct lv_backtest_memo *memo, const int *n_values)
{
    memo->shareable = calloc((size_t)memo->n_nodes + 1, sizeof *memo->shareable);
    if (memo->shareable == NULL)
        return -1;
    for (int i = 0; i < memo->n_nodes; i++) {
        long combinations = 1;
        for (int v = memo->var_off[i]; v < memo->var_off[i + 1]; v++) {
            long n = n_values != NULL ? n_values[memo->vars[v]] : LV_MEMO_SUBTREE_COMBINATIONS + 1;
            combinations =
                combinations > LV_MEMO_SUBTREE_COMBINATIONS ? combinations : combinations * n;
        }
        memo->shareable[i] = combinations <= LV_MEMO_SUBTREE_COMBINATIONS;
    }
    return 0;
}

bool lv_memo_subtree_shareable(const struct lv_backtest_memo *memo, int node)
{
    return memo->shareable[node];
}

struct lv_backtest_memo *lv_backtest_memo_new(const struct lv_strategy_template *t,
                                              const int *n_values, size_t budget_bytes)
{
    if (lv_strategy_template_needs_json(t))
        return NULL;
    struct lv_backtest_memo *memo = calloc(1, sizeof *memo); /* the caller's */
    if (memo == NULL)
        return NULL;
    memo->n_buckets = FIRST_BUCKETS;
    memo->buckets = calloc(memo->n_buckets, sizeof *memo->buckets);
    memo->budget = budget_bytes;
    if (memo->buckets == NULL || load_footprints(memo, t) != 0 ||
        mark_shareable(memo, n_values) != 0) {
        free(memo->buckets);
        free(memo->var_off);
        free(memo->vars);
        free(memo->shareable);
        free(memo);
        return NULL;
    }
    pthread_mutex_init(&memo->lock, NULL);
    pthread_cond_init(&memo->computed, NULL);
    return memo;
}

void lv_backtest_memo_free(struct lv_backtest_memo *memo)
{
    if (memo == NULL)
        return;
    for (size_t b = 0; b < memo->n_buckets; b++) {
        struct lv_memo_entry *e = memo->buckets[b];
        while (e != NULL) {
            struct lv_memo_entry *next = e->next;
            free(e->payload);
            free(e);
            e = next;
        }
    }
    free(memo->buckets);
    free(memo->var_off);
    free(memo->vars);
    free(memo->shareable);
    pthread_mutex_destroy(&memo->lock);
    pthread_cond_destroy(&memo->computed);
    free(memo);
}

void lv_backtest_memo_stats(struct lv_backtest_memo *memo, struct lv_backtest_memo_stats *out)
{
    pthread_mutex_lock(&memo->lock);
    *out = (struct lv_backtest_memo_stats){.hits = memo->hits,
                                           .misses = memo->misses,
                                           .refused = memo->refused,
                                           .bytes = memo->bytes,
                                           .entries = (long)memo->n_entries};
    pthread_mutex_unlock(&memo->lock);
}

/* ---- Keys ---------------------------------------------------------------------------------- */

void lv_memo_key_add(struct lv_memo_key *key, const void *data, size_t size)
{
    if (key->overflow || size > LV_MEMO_KEY_MAX - key->len) {
        key->overflow = true;
        return;
    }
    memcpy(key->bytes + key->len, data, size);
    key->len += size;
}

void lv_memo_key_start(struct lv_memo_key *key, int kind, int node)
{
    key->len = 0;
    key->overflow = false;
    lv_memo_key_add(key, &kind, sizeof kind);
    lv_memo_key_add(key, &node, sizeof node);
}

void lv_memo_key_add_footprint(const struct lv_backtest_memo *memo, struct lv_memo_key *key,
                               int node, const char *const *values)
{
    for (int i = memo->var_off[node]; i < memo->var_off[node + 1]; i++) {
        int var = memo->vars[i];
        lv_memo_key_add(key, &var, sizeof var);
        lv_memo_key_add(key, values[var], strlen(values[var]) + 1); /* NUL ends the value */
    }
}

/* FNV-1a: keys are short, and a hash table needs no more. */
static uint64_t key_hash(const struct lv_memo_key *key)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < key->len; i++)
        h = (h ^ key->bytes[i]) * 1099511628211ull;
    return h;
}

/* ---- The table ----------------------------------------------------------------------------- */

static struct lv_memo_entry *find(const struct lv_backtest_memo *memo, uint64_t hash,
                                  const struct lv_memo_key *key)
{
    for (struct lv_memo_entry *e = memo->buckets[hash % memo->n_buckets]; e; e = e->next)
        if (e->hash == hash && e->key_len == key->len && memcmp(e->key, key->bytes, key->len) == 0)
            return e;
    return NULL;
}

/* Doubles the buckets past a load factor of 1 (with the lock held); without memory for it,
 * chains just get longer. */
static void maybe_grow(struct lv_backtest_memo *memo)
{
    if (memo->n_entries < memo->n_buckets)
        return;
    size_t n = memo->n_buckets * 2;
    struct lv_memo_entry **buckets = calloc(n, sizeof *buckets);
    if (buckets == NULL)
        return;
    for (size_t b = 0; b < memo->n_buckets; b++) {
        struct lv_memo_entry *e = memo->buckets[b];
        while (e != NULL) {
            struct lv_memo_entry *next = e->next;
            e->next = buckets[e->hash % n];
            buckets[e->hash % n] = e;
            e = next;
        }
    }
    free(memo->buckets);
    memo->buckets = buckets;
    memo->n_buckets = n;
}

/* A new entry in state COMPUTING (with the lock held), or NULL when out of memory. */
static struct lv_memo_entry *insert(struct lv_backtest_memo *memo, uint64_t hash,
                                    const struct lv_memo_key *key)
{
    struct lv_memo_entry *e = malloc(sizeof *e + key->len); /* owned by the table */
    if (e == NULL)
        return NULL;
    *e = (struct lv_memo_entry){.hash = hash, .state = ENTRY_COMPUTING, .key_len = key->len};
    memcpy(e->key, key->bytes, key->len);
    maybe_grow(memo);
    size_t b = hash % memo->n_buckets;
    e->next = memo->buckets[b];
    memo->buckets[b] = e;
    memo->n_entries++;
    memo->bytes += sizeof *e + key->len;
    return e;
}

enum lv_memo_answer lv_memo_get(struct lv_backtest_memo *memo, const struct lv_memo_key *key,
                                struct lv_memo_entry **entry, const void **payload)
{
    *entry = NULL;
    *payload = NULL;
    if (key->overflow)
        return LV_MEMO_REFUSED;
    uint64_t hash = key_hash(key);
    enum lv_memo_answer answer = LV_MEMO_REFUSED;
    pthread_mutex_lock(&memo->lock);
    struct lv_memo_entry *e = find(memo, hash, key);
    if (e == NULL) {
        bool room = memo->budget == 0 || memo->bytes < memo->budget;
        e = room ? insert(memo, hash, key) : NULL;
        if (e != NULL) {
            memo->misses++;
            *entry = e;
            answer = LV_MEMO_CLAIMED;
        } else {
            memo->refused++;
        }
    } else {
        while (e->state == ENTRY_COMPUTING)
            pthread_cond_wait(&memo->computed, &memo->lock);
        if (e->state == ENTRY_READY) {
            memo->hits++;
            *payload = e->payload;
            answer = LV_MEMO_HIT;
        } else {
            memo->refused++;
        }
    }
    pthread_mutex_unlock(&memo->lock);
    /* A published entry never changes again, so its payload is read without the lock. */
    return answer;
}

void lv_memo_publish(struct lv_backtest_memo *memo, struct lv_memo_entry *entry, void *payload,
                     size_t bytes)
{
    pthread_mutex_lock(&memo->lock);
    entry->payload = payload;
    entry->state = payload != NULL ? ENTRY_READY : ENTRY_FAILED;
    if (payload != NULL)
        memo->bytes += bytes;
    pthread_cond_broadcast(&memo->computed);
    pthread_mutex_unlock(&memo->lock);
}
