/* backtest_memo.h — a batch job's memo: results that many runs of one strategy template share,
 * computed once by whichever run needs them first and reused by the others.
 *
 * In a sweep most of the tree does not depend on any variable. A sort child's synthetic series
 * and scores, or the daily outcome of a subtree, depend only on the values of the variables
 * its subtree reads (its footprint, strategy.h) and on a few options; runs that agree on those
 * values get the very same numbers. The memo keeps them under a key made of exactly those
 * things, so a 200,000-run batch computes each once per distinct key instead of once per run.
 *
 * Reuse is exact: an entry holds what the run would have computed, bit for bit, and a run
 * with the memo gives the same result (metrics, curves, positions, warnings) as without it.
 *
 * Threads: one memo is shared by every thread running the job's runs; an entry being computed
 * by one thread is waited for by the others, never computed twice. Memory is bounded: past
 * the budget no new entry is kept (runs then compute those parts themselves, as without a
 * memo). A memo belongs to one market: drop it when the market or series cache goes. */
#ifndef LEVER_CORE_BACKTEST_MEMO_H
#define LEVER_CORE_BACKTEST_MEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strategy.h"

struct lv_backtest_memo;

/* A memo for the runs of template `t` (borrowed: it must outlive the memo), whose variable k
 * takes n_values[k] values in the job (n_values NULL: unknown), keeping at most about
 * `budget_bytes` of entries (0: no limit). Returns NULL when the template binds through JSON
 * (node numbers are not stable from run to run: nothing can be shared) or when out of memory;
 * run without a memo then. */
struct lv_backtest_memo *lv_backtest_memo_new(const struct lv_strategy_template *t,
                                              const int *n_values, size_t budget_bytes);
void lv_backtest_memo_free(struct lv_backtest_memo *memo);

struct lv_backtest_memo_stats {
    long hits;    /* lookups answered from an entry */
    long misses;  /* entries computed (one per distinct key) */
    long refused; /* lookups past the budget, computed without keeping the result */
    size_t bytes; /* memory held by the entries */
    long entries;
};
void lv_backtest_memo_stats(struct lv_backtest_memo *memo, struct lv_backtest_memo_stats *out);

/* ---- For the backtest (backtest.c): keys and entries ----------------------------------- */

#define LV_MEMO_KEY_MAX 512 /* a longer key is not memoised */

/* A key: what the entry's numbers depend on, as bytes. Start it with its kind and node. */
struct lv_memo_key {
    unsigned char bytes[LV_MEMO_KEY_MAX];
    size_t len;
    bool overflow; /* too long: the lookup answers LV_MEMO_REFUSED */
};

void lv_memo_key_start(struct lv_memo_key *key, int kind, int node);
void lv_memo_key_add(struct lv_memo_key *key, const void *data, size_t size);

/* Appends the values (values[k] = text of variable k) of the variables node's subtree reads. */
void lv_memo_key_add_footprint(const struct lv_backtest_memo *memo, struct lv_memo_key *key,
                               int node, const char *const *values);

/* Subtrees whose footprint allows at most this many value combinations get their daily
 * outcomes recorded: few enough entries, each reused by many runs. */
#define LV_MEMO_SUBTREE_COMBINATIONS 32

/* Does node's footprint allow at most LV_MEMO_SUBTREE_COMBINATIONS combinations? */
bool lv_memo_subtree_shareable(const struct lv_backtest_memo *memo, int node);

enum lv_memo_answer {
    LV_MEMO_HIT,     /* *payload is the entry's (read-only, valid until the memo is freed) */
    LV_MEMO_CLAIMED, /* compute it, then lv_memo_publish(*entry, ...) — every time */
    LV_MEMO_REFUSED, /* over budget, key too long, or its computation failed: compute it
                        without publishing */
};

struct lv_memo_entry;

/* Looks key up; waits while another thread computes it. */
enum lv_memo_answer lv_memo_get(struct lv_backtest_memo *memo, const struct lv_memo_key *key,
                                struct lv_memo_entry **entry, const void **payload);

/* Publishes a claimed entry: `payload` (one malloc'd block of `bytes`, owned by the memo from
 * now on), or NULL when its computation failed (later lookups of the key are refused). */
void lv_memo_publish(struct lv_backtest_memo *memo, struct lv_memo_entry *entry, void *payload,
                     size_t bytes);

#endif
