/* market_load.h — the in-memory market (core/market.h) filled from the `bars` table, and a
 * holder that shares one loaded market between all threads of a process and swaps in a fresh
 * one when the bars change (migration 0020 counts every change in market_data_version). */
#ifndef LEVER_DB_MARKET_LOAD_H
#define LEVER_DB_MARKET_LOAD_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/error.h"
#include "core/market.h"

/* Loads every symbol's bars. Returns a new market (caller frees with lv_market_free), or
 * NULL with err set. An empty bars table gives NULL with "no bars in the database …". */
struct lv_market *lv_market_load(PGconn *conn, struct lv_error *err);

/* A loaded market, its indicator cache and the data version it was loaded at. Snapshots are
 * reference-counted: one taken with lv_market_acquire stays valid until released, even when
 * a reload replaces it meanwhile. */
struct lv_market_snapshot {
    const struct lv_market *market;
    struct lv_series_cache *cache;
    int64_t version;
};

struct lv_market_holder;

struct lv_market_holder *lv_market_holder_new(void);

/* Frees the holder and its current snapshot; every acquired snapshot must be released. */
void lv_market_holder_free(struct lv_market_holder *holder);

/* Returns the current snapshot, first (re)loading it from conn when none is loaded yet or
 * market_data_version moved. Thread-safe; a reload happens once while other callers wait.
 * Returns NULL with err set when the bars cannot be loaded. */
const struct lv_market_snapshot *lv_market_acquire(struct lv_market_holder *holder, PGconn *conn,
                                                   struct lv_error *err);

void lv_market_release(struct lv_market_holder *holder, const struct lv_market_snapshot *snap);

#endif
