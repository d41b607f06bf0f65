/* market.c — columnar bar storage, date lookups, and the compute-once series cache shared by
 * the threads of a batch. */
#include "core/market.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

bool lv_symbol_normalize(const char *text, size_t len, char out[LV_SYMBOL_MAX])
{
    if (len == 0 || len >= LV_SYMBOL_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = (char)toupper((unsigned char)text[i]);
        bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '^' || c == '/' || c == '_';
        if (!ok)
            return false;
        out[i] = c;
    }
    out[len] = '\0';
    return true;
}

long lv_bars_at_or_before(const struct lv_symbol_bars *bars, lv_day d)
{
    /* Binary search for the first bar dated after d; the one before it is the answer. */
    size_t lo = 0, hi = bars->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bars->day[mid] <= d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

long lv_bars_index_of(const struct lv_symbol_bars *bars, lv_day d)
{
    long i = lv_bars_at_or_before(bars, d);
    return i >= 0 && bars->day[i] == d ? i : -1;
}

struct lv_bars_view lv_bars_view_of(const struct lv_symbol_bars *bars)
{
    return (struct lv_bars_view){.open = bars->open,
                                 .high = bars->high,
                                 .low = bars->low,
                                 .close = bars->close,
                                 .volume = bars->volume,
                                 .n = bars->n};
}

/* ---- Market -------------------------------------------------------------------------------- */

/* One symbol's storage: the public view plus the single allocation its arrays live in. */
struct symbol_store {
    struct lv_symbol_bars bars;
    void *block; /* owns day[] and the five double arrays */
};

struct lv_market_builder {
    struct symbol_store *symbols;
    int n, cap;
};

struct lv_market {
    struct symbol_store *symbols; /* sorted by symbol, so ids are stable and lookups bisect */
    int n;
};

struct lv_market_builder *lv_market_builder_new(void)
{
    return calloc(1, sizeof(struct lv_market_builder));
}

static int builder_find(const struct lv_market_builder *b, const char *symbol)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->symbols[i].bars.symbol, symbol) == 0)
            return i;
    return -1;
}

int lv_market_builder_add(struct lv_market_builder *builder, const char *symbol, const lv_day *day,
                          const double *open, const double *high, const double *low,
                          const double *close, const double *volume, size_t n, struct lv_error *err)
{
    char name[LV_SYMBOL_MAX];
    if (!lv_symbol_normalize(symbol, strlen(symbol), name))
        return lv_fail(err, "\"%s\" is not a valid symbol", symbol);
    if (n == 0)
        return lv_fail(err, "%s: no bars", name);
    if (builder_find(builder, name) >= 0)
        return lv_fail(err, "%s: bars added twice", name);
    for (size_t i = 1; i < n; i++) {
        if (day[i] <= day[i - 1]) {
            char when[LV_DAY_TEXT];
            return lv_fail(err, "%s: dates not strictly ascending at %s", name,
                           lv_day_format(day[i], when));
        }
    }
    if (builder->n == builder->cap) {
        int cap = builder->cap ? builder->cap * 2 : 32;
        struct symbol_store *grown = realloc(builder->symbols, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return lv_fail(err, "out of memory");
        builder->symbols = grown;
        builder->cap = cap;
    }
    /* Doubles first so that every array stays aligned for its type. */
    char *block = malloc(n * (5 * sizeof(double) + sizeof(lv_day)));
    if (block == NULL)
        return lv_fail(err, "out of memory");
    double *cols = (double *)block;
    const double *src[5] = {open, high, low, close, volume};
    for (int c = 0; c < 5; c++)
        memcpy(cols + (size_t)c * n, src[c], n * sizeof(double));
    lv_day *days = (lv_day *)(cols + 5 * n);
    memcpy(days, day, n * sizeof(lv_day));

    struct symbol_store *s = &builder->symbols[builder->n++];
    memset(s, 0, sizeof *s);
    memcpy(s->bars.symbol, name, sizeof name);
    s->bars.n = n;
    s->bars.day = days;
    s->bars.open = cols;
    s->bars.high = cols + n;
    s->bars.low = cols + 2 * n;
    s->bars.close = cols + 3 * n;
    s->bars.volume = cols + 4 * n;
    s->block = block;
    return 0;
}

static int compare_symbols(const void *a, const void *b)
{
    const struct symbol_store *x = a, *y = b;
    return strcmp(x->bars.symbol, y->bars.symbol);
}

struct lv_market *lv_market_finalize(struct lv_market_builder *builder, struct lv_error *err)
{
    struct lv_market *market = malloc(sizeof *market);
    if (market == NULL) {
        lv_market_builder_free(builder);
        lv_fail(err, "out of memory");
        return NULL;
    }
    qsort(builder->symbols, (size_t)builder->n, sizeof *builder->symbols, compare_symbols);
    market->symbols = builder->symbols; /* ownership moves to the market */
    market->n = builder->n;
    free(builder);
    return market;
}

void lv_market_builder_free(struct lv_market_builder *builder)
{
    if (builder == NULL)
        return;
    for (int i = 0; i < builder->n; i++)
        free(builder->symbols[i].block);
    free(builder->symbols);
    free(builder);
}

void lv_market_free(struct lv_market *market)
{
    if (market == NULL)
        return;
    for (int i = 0; i < market->n; i++)
        free(market->symbols[i].block);
    free(market->symbols);
    free(market);
}

int lv_market_n_symbols(const struct lv_market *market)
{
    return market->n;
}

int lv_market_find(const struct lv_market *market, const char *symbol)
{
    char name[LV_SYMBOL_MAX];
    if (!lv_symbol_normalize(symbol, strlen(symbol), name))
        return -1;
    int lo = 0, hi = market->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int cmp = strcmp(market->symbols[mid].bars.symbol, name);
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const struct lv_symbol_bars *lv_market_bars(const struct lv_market *market, int id)
{
    return &market->symbols[id].bars;
}

/* ---- Series cache -------------------------------------------------------------------------- */

enum entry_kind { ENTRY_INDICATOR, ENTRY_ALIGNED_INDICATOR, ENTRY_ALIGNMENT, ENTRY_RETURNS };
enum entry_state { ENTRY_COMPUTING, ENTRY_READY, ENTRY_FAILED };

/* One cached item. Entries are allocated one by one and never move, so a pointer handed out
 * stays valid while the bucket array grows. */
struct cache_entry {
    struct cache_entry *next; /* bucket chain */
    uint64_t hash;
    enum entry_kind kind;
    int symbol;
    int other;    /* ENTRY_*INDICATOR: enum lv_ind; ENTRY_ALIGNMENT, _RETURNS: calendar id */
    int calendar; /* ENTRY_ALIGNED_INDICATOR: calendar symbol id; otherwise -1 */
    struct lv_ind_params params;
    enum entry_state state; /* written under the cache lock */
    double *values;         /* ENTRY_*INDICATOR, ENTRY_RETURNS, owned */
    size_t n, first_defined;
    int32_t *alignment; /* ENTRY_ALIGNMENT, owned */
    char *error;        /* ENTRY_FAILED, owned */
};

struct lv_series_cache {
    const struct lv_market *market;
    pthread_mutex_t lock;
    pthread_cond_t computed; /* broadcast whenever an entry leaves ENTRY_COMPUTING */
    struct cache_entry **buckets;
    size_t n_buckets, n_entries;
};

struct lv_series_cache *lv_series_cache_new(const struct lv_market *market)
{
    struct lv_series_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL)
        return NULL;
    cache->n_buckets = 256;
    cache->buckets = calloc(cache->n_buckets, sizeof *cache->buckets);
    if (cache->buckets == NULL) {
        free(cache);
        return NULL;
    }
    cache->market = market;
    pthread_mutex_init(&cache->lock, NULL);
    pthread_cond_init(&cache->computed, NULL);
    return cache;
}

void lv_series_cache_free(struct lv_series_cache *cache)
{
    if (cache == NULL)
        return;
    for (size_t b = 0; b < cache->n_buckets; b++) {
        struct cache_entry *e = cache->buckets[b];
        while (e != NULL) {
            struct cache_entry *next = e->next;
            free(e->values);
            free(e->alignment);
            free(e->error);
            free(e);
            e = next;
        }
    }
    free(cache->buckets);
    pthread_mutex_destroy(&cache->lock);
    pthread_cond_destroy(&cache->computed);
    free(cache);
}

static uint64_t hash_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

/* What identifies a cache entry. */
struct entry_key {
    enum entry_kind kind;
    int symbol, other, calendar;
    const struct lv_ind_params *params; /* NULL for ENTRY_ALIGNMENT */
};

static uint64_t entry_hash(const struct entry_key *key)
{
    const struct lv_ind_params *params = key->params;
    uint64_t h = hash_mix(hash_mix(0, (uint64_t)key->kind), (uint64_t)key->symbol);
    h = hash_mix(hash_mix(h, (uint64_t)key->other), (uint64_t)key->calendar);
    if (params != NULL) {
        for (int i = 0; i < LV_IND_MAX_PARAMS; i++) {
            double v = params->v[i] + 0.0; /* -0.0 and 0.0 hash alike, as they compare equal */
            uint64_t bits;
            memcpy(&bits, &v, sizeof bits);
            h = hash_mix(h, bits);
        }
    }
    return h;
}

static struct cache_entry *cache_lookup(struct lv_series_cache *cache, uint64_t hash,
                                        const struct entry_key *key)
{
    for (struct cache_entry *e = cache->buckets[hash % cache->n_buckets]; e; e = e->next) {
        if (e->hash == hash && e->kind == key->kind && e->symbol == key->symbol &&
            e->other == key->other && e->calendar == key->calendar &&
            (key->params == NULL || lv_ind_params_equal(&e->params, key->params)))
            return e;
    }
    return NULL;
}

/* Doubles the bucket array when the load factor passes 1. Called with the lock held; on
 * allocation failure the table simply stays as it is (chains get longer). */
static void cache_maybe_grow(struct lv_series_cache *cache)
{
    if (cache->n_entries < cache->n_buckets)
        return;
    size_t n = cache->n_buckets * 2;
    struct cache_entry **buckets = calloc(n, sizeof *buckets);
    if (buckets == NULL)
        return;
    for (size_t b = 0; b < cache->n_buckets; b++) {
        struct cache_entry *e = cache->buckets[b];
        while (e != NULL) {
            struct cache_entry *next = e->next;
            e->next = buckets[e->hash % n];
            buckets[e->hash % n] = e;
            e = next;
        }
    }
    free(cache->buckets);
    cache->buckets = buckets;
    cache->n_buckets = n;
}

/* Finds the entry for a key or inserts it in state ENTRY_COMPUTING. Called with the lock
 * held. *created tells the caller it must compute the entry (outside the lock) and publish
 * it with cache_publish. Returns NULL when out of memory. */
static struct cache_entry *cache_claim(struct lv_series_cache *cache, const struct entry_key *key,
                                       bool *created)
{
    uint64_t hash = entry_hash(key);
    struct cache_entry *e = cache_lookup(cache, hash, key);
    *created = false;
    if (e != NULL)
        return e;
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->hash = hash;
    e->kind = key->kind;
    e->symbol = key->symbol;
    e->other = key->other;
    e->calendar = key->calendar;
    if (key->params != NULL)
        e->params = *key->params;
    e->state = ENTRY_COMPUTING;
    cache_maybe_grow(cache);
    size_t b = hash % cache->n_buckets;
    e->next = cache->buckets[b];
    cache->buckets[b] = e;
    cache->n_entries++;
    *created = true;
    return e;
}

static void cache_publish(struct lv_series_cache *cache, struct cache_entry *e,
                          enum entry_state state)
{
    pthread_mutex_lock(&cache->lock);
    e->state = state;
    pthread_cond_broadcast(&cache->computed);
    pthread_mutex_unlock(&cache->lock);
}

static void cache_wait(struct lv_series_cache *cache, struct cache_entry *e)
{
    while (e->state == ENTRY_COMPUTING)
        pthread_cond_wait(&cache->computed, &cache->lock);
}

/* Computes an indicator entry's values; on failure stores the message in e->error. */
static enum entry_state compute_indicator(const struct lv_symbol_bars *bars, struct cache_entry *e)
{
    struct lv_error err = {{0}};
    enum lv_ind kind = (enum lv_ind)e->other;
    struct lv_bars_view view = lv_bars_view_of(bars);
    size_t scratch_n = lv_ind_scratch_size(kind, bars->n);
    double *scratch = scratch_n ? malloc(scratch_n * sizeof(double)) : NULL;
    e->values = malloc(bars->n * sizeof(double));
    int rc = -1;
    if (e->values == NULL || (scratch_n && scratch == NULL))
        lv_fail(&err, "out of memory");
    else
        rc = lv_ind_compute(kind, &e->params, &view, e->values, scratch, &err);
    free(scratch);
    if (rc != 0) {
        free(e->values);
        e->values = NULL;
        e->error = strdup(err.message);
        return ENTRY_FAILED;
    }
    e->n = bars->n;
    e->first_defined = 0;
    while (e->first_defined < e->n && isnan(e->values[e->first_defined]))
        e->first_defined++;
    return ENTRY_READY;
}

/* Finds or computes an entry: the first caller computes it outside the lock with `compute`,
 * later callers wait for it. Returns the published entry, or NULL when out of memory. */
static struct cache_entry *cache_get(struct lv_series_cache *cache, const struct entry_key *key,
                                     enum entry_state (*compute)(struct lv_series_cache *,
                                                                 struct cache_entry *))
{
    bool created;
    pthread_mutex_lock(&cache->lock);
    struct cache_entry *e = cache_claim(cache, key, &created);
    if (e != NULL && created) {
        pthread_mutex_unlock(&cache->lock);
        enum entry_state state = compute(cache, e);
        cache_publish(cache, e, state);
        pthread_mutex_lock(&cache->lock);
    }
    if (e != NULL)
        cache_wait(cache, e);
    pthread_mutex_unlock(&cache->lock);
    /* A published entry never changes again, so it can be read without the lock. */
    return e;
}

static enum entry_state compute_own_bars(struct lv_series_cache *cache, struct cache_entry *e)
{
    return compute_indicator(lv_market_bars(cache->market, e->symbol), e);
}

/* Copies an entry's result out, or its error. */
static int entry_result(const struct cache_entry *e, struct lv_series *out, struct lv_error *err)
{
    if (e == NULL || e->state == ENTRY_FAILED)
        return lv_fail(err, "%s", e && e->error ? e->error : "out of memory");
    *out = (struct lv_series){.values = e->values, .n = e->n, .first_defined = e->first_defined};
    return 0;
}

int lv_series_cache_get(struct lv_series_cache *cache, int symbol_id, enum lv_ind kind,
                        const struct lv_ind_params *params, struct lv_series *out,
                        struct lv_error *err)
{
    struct entry_key key = {ENTRY_INDICATOR, symbol_id, (int)kind, -1, params};
    return entry_result(cache_get(cache, &key, compute_own_bars), out, err);
}

/* Walks both calendars once: O(n_symbol + n_calendar). */
static int32_t *compute_alignment(const struct lv_symbol_bars *bars,
                                  const struct lv_symbol_bars *calendar)
{
    int32_t *at = malloc((calendar->n ? calendar->n : 1) * sizeof(int32_t));
    if (at == NULL)
        return NULL;
    long i = -1;
    for (size_t j = 0; j < calendar->n; j++) {
        while ((size_t)(i + 1) < bars->n && bars->day[i + 1] <= calendar->day[j])
            i++;
        at[j] = (int32_t)i;
    }
    return at;
}

static enum entry_state compute_alignment_entry(struct lv_series_cache *cache,
                                                struct cache_entry *e)
{
    e->alignment = compute_alignment(lv_market_bars(cache->market, e->symbol),
                                     lv_market_bars(cache->market, e->other));
    return e->alignment ? ENTRY_READY : ENTRY_FAILED;
}

const int32_t *lv_series_cache_alignment(struct lv_series_cache *cache, int symbol_id,
                                         int calendar_id)
{
    struct entry_key key = {ENTRY_ALIGNMENT, symbol_id, calendar_id, -1, NULL};
    const struct cache_entry *e = cache_get(cache, &key, compute_alignment_entry);
    return e != NULL ? e->alignment : NULL;
}

/* Spreads the series on the symbol's bars over the calendar's days (other cache entries,
 * fetched here outside the lock, may be computed on the way). */
static enum entry_state compute_aligned(struct lv_series_cache *cache, struct cache_entry *e)
{
    struct lv_series own;
    struct lv_error err;
    const struct lv_symbol_bars *bars = lv_market_bars(cache->market, e->symbol);
    const struct lv_symbol_bars *calendar = lv_market_bars(cache->market, e->calendar);
    if (lv_series_cache_get(cache, e->symbol, (enum lv_ind)e->other, &e->params, &own, &err) != 0) {
        e->error = strdup(err.message);
        return ENTRY_FAILED;
    }
    const int32_t *at = lv_series_cache_alignment(cache, e->symbol, e->calendar);
    e->values = malloc((calendar->n ? calendar->n : 1) * sizeof(double));
    if (at == NULL || e->values == NULL)
        return ENTRY_FAILED; /* e->error stays NULL: reported as out of memory */
    e->n = calendar->n;
    e->first_defined = calendar->n;
    for (size_t j = 0; j < calendar->n; j++) {
        int32_t i = at[j];
        e->values[j] = i >= 0 && bars->day[i] == calendar->day[j] ? own.values[i] : NAN;
        if (e->first_defined == calendar->n && !isnan(e->values[j]))
            e->first_defined = j;
    }
    return ENTRY_READY;
}

int lv_series_cache_get_aligned(struct lv_series_cache *cache, int symbol_id, enum lv_ind kind,
                                const struct lv_ind_params *params, int calendar_id,
                                struct lv_series *out, struct lv_error *err)
{
    struct entry_key key = {ENTRY_ALIGNED_INDICATOR, symbol_id, (int)kind, calendar_id, params};
    return entry_result(cache_get(cache, &key, compute_aligned), out, err);
}

/* The carried close of each calendar day, divided by the previous day's. */
static enum entry_state compute_returns(struct lv_series_cache *cache, struct cache_entry *e)
{
    const struct lv_symbol_bars *bars = lv_market_bars(cache->market, e->symbol);
    const struct lv_symbol_bars *calendar = lv_market_bars(cache->market, e->other);
    const int32_t *at = lv_series_cache_alignment(cache, e->symbol, e->other);
    e->values = malloc((calendar->n ? calendar->n : 1) * sizeof(double));
    if (at == NULL || e->values == NULL)
        return ENTRY_FAILED;
    e->n = calendar->n;
    double before = NAN;
    for (size_t j = 0; j < calendar->n; j++) {
        double after = at[j] >= 0 ? bars->close[at[j]] : NAN;
        e->values[j] = before > 0 && after > 0 ? after / before - 1 : 0;
        before = after;
    }
    return ENTRY_READY;
}

const double *lv_series_cache_returns(struct lv_series_cache *cache, int symbol_id, int calendar_id)
{
    struct entry_key key = {ENTRY_RETURNS, symbol_id, calendar_id, -1, NULL};
    const struct cache_entry *e = cache_get(cache, &key, compute_returns);
    return e != NULL && e->state == ENTRY_READY ? e->values : NULL;
}
