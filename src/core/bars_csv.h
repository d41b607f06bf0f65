/* bars_csv.h — strict parser for daily-bar CSV text already in memory (the files of
 * `lever bars import` and `lever backtest --data`). No I/O: the caller reads the file.
 *
 * Format: a header line naming the columns date, open, high, low, close, volume and optionally
 * symbol, in any order, case-insensitive (a UTF-8 byte-order mark is skipped); then one line
 * per bar. LF or CRLF line ends; blank lines are skipped; fields may be wrapped in double
 * quotes and are trimmed of spaces. Each row must have:
 *   - date: exactly YYYY-MM-DD, a real calendar date, strictly after the previous row of the
 *     same symbol (so no duplicates);
 *   - open, high, low, close: finite numbers > 0;
 *   - volume: a finite number >= 0;
 *   - symbol (when the column exists): a valid symbol (see lv_symbol_normalize), upper-cased.
 * The relation low <= open, close <= high is deliberately NOT checked: adjusted vendor data
 * breaks it by rounding, and no computation in Lever depends on it.
 * Unknown or duplicate columns are refused (a silently ignored "adj_close" would be worse).
 * Every row is checked; the error names the first bad one as FILE:LINE: field NAME: message
 * and says how many other lines are bad. On error nothing is returned (never half-filled). */
#ifndef LEVER_CORE_BARS_CSV_H
#define LEVER_CORE_BARS_CSV_H

#include <stddef.h>

#include "core/calendar.h"
#include "core/error.h"
#include "core/market.h"

/* One symbol's rows in file order (which is date order), as columnar arrays. */
struct lv_bar_series {
    char symbol[LV_SYMBOL_MAX];
    size_t n;
    lv_day *day;
    double *open, *high, *low, *close, *volume;
};

/* The parse result: one series per symbol, in order of first appearance. Owned by the caller:
 * free with lv_bar_table_free. */
struct lv_bar_table {
    struct lv_bar_series *series;
    int n_series;
};

/* Parses `len` bytes of `text`. `file_name` is used only in messages. `default_symbol` names
 * the rows when the file has no symbol column (e.g. "SPY" for SPY.csv; it is normalised);
 * it may be NULL when the file must carry a symbol column. Returns 0 and fills *out, or -1
 * with a message and *out empty. A file with a header but no rows is an error. */
int lv_bars_csv_parse(const char *text, size_t len, const char *file_name,
                      const char *default_symbol, struct lv_bar_table *out, struct lv_error *err);

void lv_bar_table_free(struct lv_bar_table *table);

#endif
