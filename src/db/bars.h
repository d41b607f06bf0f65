/* bars.h — the `bars` table: storing parsed daily bars (COPY) and reporting each symbol's
 * coverage. Reading bars into a market is market_load.h's job.
 *
 * Re-import rule: storing a symbol's series replaces that symbol's rows from the series'
 * first day to its last day (rows in that range that the new series lacks are deleted);
 * rows outside the range are kept. So a file covering 2020-2025 refreshes those years and
 * leaves 1993-2019 alone, and a full-history file replaces the whole history. */
#ifndef LEVER_DB_BARS_H
#define LEVER_DB_BARS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bars_csv.h"
#include "core/calendar.h"
#include "db/db.h"

/* Where bars came from; stored per row in bars.source (the UI marks synthetic data). */
#define LV_BARS_SOURCE_CSV       "csv"
#define LV_BARS_SOURCE_ALPACA    "alpaca"
#define LV_BARS_SOURCE_SYNTHETIC "synthetic"

/* True when source is one of the three names above. */
int lv_bars_source_valid(const char *source);

/* What storing one series did. */
struct lv_bars_stored {
    long inserted; /* rows written */
    long replaced; /* rows of the same range deleted first */
};

/* Stores one series (n >= 1, days ascending) under the re-import rule above, marking the rows
 * with `source`. Runs on the caller's connection and transaction: call it inside BEGIN …
 * COMMIT (lv_db_tx) so that several series are stored all-or-nothing. 0 or -1. */
int lv_bars_store_series(PGconn *conn, const struct lv_bar_series *series, const char *source,
                         struct lv_bars_stored *stored, struct lv_db_error *err);

/* Replaces the symbol's rows from `from` to `to` (inclusive) with `series`, whose days must
 * all lie in that range. LV_DAY_NONE on either side leaves that side open, so NONE..NONE
 * replaces the symbol's whole history — what `lever bars sync` does when no --start/--end is
 * given, since Alpaca's answer then is the history. lv_bars_store_series is this function
 * with the series' own first and last day. Same transaction rule; 0 or -1. */
int lv_bars_replace_range(PGconn *conn, const struct lv_bar_series *series, lv_day from, lv_day to,
                          const char *source, struct lv_bars_stored *stored,
                          struct lv_db_error *err);

/* Every series of one parsed or fetched table, stored the same way. */
struct lv_bars_write {
    const struct lv_bar_table *table; /* borrowed */
    const char *source;               /* LV_BARS_SOURCE_* */
    bool whole_range; /* false: the re-import rule (each series' own first..last day);
                       * true: every series replaces from..to (lv_bars_replace_range) */
    lv_day from, to;  /* used when whole_range */
    long rows;        /* out: rows written */
    long replaced;    /* out: rows deleted first */
};

/* An lv_db_tx body storing a struct lv_bars_write (arg) all-or-nothing:
 *     struct lv_bars_write write = {&table, LV_BARS_SOURCE_CSV};
 *     lv_db_tx(pool, lv_bars_write_tx, &write, &err); */
int lv_bars_write_tx(PGconn *conn, void *arg, struct lv_db_error *err);

/* One symbol's coverage in the bars table. */
struct lv_bars_coverage {
    char symbol[LV_SYMBOL_MAX];
    lv_day first_day, last_day;
    long rows;
    char sources[48]; /* the distinct sources, comma-separated, alphabetical: "csv,synthetic" */
};

/* True when a coverage `sources` list includes synthetic rows. */
bool lv_bars_sources_synthetic(const char *sources);

/* Of the `n` symbols given, those with any synthetic bars, as a comma-separated list in
 * `out` ("" when none). Returns 0 or -1. */
int lv_bars_synthetic_among(PGconn *conn, const char (*symbols)[LV_SYMBOL_MAX], int n, char *out,
                            size_t out_size, struct lv_db_error *err);

/* Every symbol's coverage, by symbol. On success *out is an array of *n entries owned by the
 * caller (free()); NULL with *n == 0 when the table is empty. 0 or -1. */
int lv_bars_coverage_list(PGconn *conn, struct lv_bars_coverage **out, int *n,
                          struct lv_db_error *err);

#endif
