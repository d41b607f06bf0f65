/* bars.c — writes parsed bars into the `bars` table with COPY (replacing the days they cover)
 * and reads back per-symbol coverage. */
#include "db/bars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lv_bars_source_valid(const char *source)
{
    return source != NULL &&
           (strcmp(source, LV_BARS_SOURCE_CSV) == 0 || strcmp(source, LV_BARS_SOURCE_ALPACA) == 0 ||
            strcmp(source, LV_BARS_SOURCE_SYNTHETIC) == 0);
}

/* COPY data is sent in chunks of about this size (one round of PQputCopyData each). */
#define COPY_CHUNK 65536

/* Appends one bar as a COPY text line. %.17g keeps every double exactly. Symbols and sources
 * are validated names (no tab, newline or backslash), so they need no escaping. */
static int format_row(char *out, size_t size, const struct lv_bar_series *s, size_t i,
                      const char *source)
{
    char day[LV_DAY_TEXT];
    return snprintf(out, size, "%s\t%s\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%s\n", s->symbol,
                    lv_day_format(s->day[i], day), s->open[i], s->high[i], s->low[i], s->close[i],
                    s->volume[i], source);
}

static int copy_rows(PGconn *conn, const struct lv_bar_series *s, const char *source,
                     struct lv_db_error *err)
{
    if (lv_db_copy_begin(conn,
                         "COPY bars (symbol, day, open, high, low, close, volume, source) "
                         "FROM STDIN",
                         err) != 0)
        return -1;
    char *buf = malloc(COPY_CHUNK); /* owned here */
    if (buf == NULL) {
        lv_db_copy_end(conn, NULL);
        return lv_db_fail(err, "out of memory");
    }
    size_t used = 0;
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        char line[256];
        int len = format_row(line, sizeof line, s, i, source);
        if (len < 0 || (size_t)len >= sizeof line) {
            rc = lv_db_fail(err, "bar %s row %zu does not fit a COPY line", s->symbol, i + 1);
            break;
        }
        if (used + (size_t)len > COPY_CHUNK) {
            rc = lv_db_copy_put(conn, buf, used, err);
            used = 0;
        }
        memcpy(buf + used, line, (size_t)len);
        used += (size_t)len;
    }
    if (rc == 0 && used > 0)
        rc = lv_db_copy_put(conn, buf, used, err);
    free(buf);
    if (rc != 0) {
        lv_db_copy_end(conn, NULL);
        return -1;
    }
    return lv_db_copy_end(conn, err);
}

int lv_bars_replace_range(PGconn *conn, const struct lv_bar_series *series, lv_day from, lv_day to,
                          const char *source, struct lv_bars_stored *stored,
                          struct lv_db_error *err)
{
    if (series->n == 0)
        return lv_db_fail(err, "%s: no bars to store", series->symbol);
    if (!lv_bars_source_valid(source))
        return lv_db_fail(err, "unknown bars source \"%s\" (csv, alpaca or synthetic)", source);
    if ((from != LV_DAY_NONE && series->day[0] < from) ||
        (to != LV_DAY_NONE && series->day[series->n - 1] > to))
        return lv_db_fail(err, "%s: bars outside the range they replace", series->symbol);
    /* NULL bounds (LV_DAY_NONE) leave that side open. */
    char first[LV_DAY_TEXT], last[LV_DAY_TEXT];
    const char *const range[] = {series->symbol,
                                 from != LV_DAY_NONE ? lv_day_format(from, first) : NULL,
                                 to != LV_DAY_NONE ? lv_day_format(to, last) : NULL};
    PGresult *res = lv_db_query(conn,
                                "DELETE FROM bars WHERE symbol = $1 "
                                "AND ($2::date IS NULL OR day >= $2::date) "
                                "AND ($3::date IS NULL OR day <= $3::date)",
                                3, range, err);
    if (res == NULL)
        return lv_db_error_prefix(err, "replacing %s: ", series->symbol);
    long replaced = atol(PQcmdTuples(res));
    PQclear(res);
    if (copy_rows(conn, series, source, err) != 0)
        return lv_db_error_prefix(err, "storing %s: ", series->symbol);
    if (stored != NULL) {
        stored->inserted = (long)series->n;
        stored->replaced = replaced;
    }
    return 0;
}

int lv_bars_store_series(PGconn *conn, const struct lv_bar_series *series, const char *source,
                         struct lv_bars_stored *stored, struct lv_db_error *err)
{
    if (series->n == 0)
        return lv_db_fail(err, "%s: no bars to store", series->symbol);
    return lv_bars_replace_range(conn, series, series->day[0], series->day[series->n - 1], source,
                                 stored, err);
}

int lv_bars_write_tx(PGconn *conn, void *arg, struct lv_db_error *err)
{
    struct lv_bars_write *write = arg;
    write->rows = write->replaced = 0;
    for (int i = 0; i < write->table->n_series; i++) {
        const struct lv_bar_series *series = &write->table->series[i];
        struct lv_bars_stored stored;
        int rc = write->whole_range
                     ? lv_bars_replace_range(conn, series, write->from, write->to, write->source,
                                             &stored, err)
                     : lv_bars_store_series(conn, series, write->source, &stored, err);
        if (rc != 0)
            return -1;
        write->rows += stored.inserted;
        write->replaced += stored.replaced;
    }
    return 0;
}

int lv_bars_coverage_list(PGconn *conn, struct lv_bars_coverage **out, int *n,
                          struct lv_db_error *err)
{
    *out = NULL;
    *n = 0;
    PGresult *res = lv_db_query(
        conn,
        "SELECT symbol, to_char(min(day), 'YYYY-MM-DD'), to_char(max(day), 'YYYY-MM-DD'), "
        "count(*), "
        "string_agg(DISTINCT source, ',' ORDER BY source) "
        "FROM bars GROUP BY symbol ORDER BY symbol",
        0, NULL, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    struct lv_bars_coverage *list = rows > 0 ? calloc((size_t)rows, sizeof *list) : NULL;
    if (rows > 0 && list == NULL) {
        PQclear(res);
        return lv_db_fail(err, "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        struct lv_bars_coverage *c = &list[i];
        snprintf(c->symbol, sizeof c->symbol, "%s", PQgetvalue(res, i, 0));
        if (!lv_day_parse(PQgetvalue(res, i, 1), &c->first_day) ||
            !lv_day_parse(PQgetvalue(res, i, 2), &c->last_day)) {
            /* Dates outside 0001..9999 print differently; Lever never stores such bars. */
            c->first_day = c->last_day = LV_DAY_NONE;
        }
        c->rows = atol(PQgetvalue(res, i, 3));
        snprintf(c->sources, sizeof c->sources, "%s", PQgetvalue(res, i, 4));
    }
    PQclear(res);
    *out = list;
    *n = rows;
    return 0;
}

bool lv_bars_sources_synthetic(const char *sources)
{
    return strstr(sources, LV_BARS_SOURCE_SYNTHETIC) != NULL;
}

int lv_bars_synthetic_among(PGconn *conn, const char (*symbols)[LV_SYMBOL_MAX], int n, char *out,
                            size_t out_size, struct lv_db_error *err)
{
    /* The symbols travel as one text-array parameter: {"SPY","TLT"}. */
    size_t cap = (size_t)n * (LV_SYMBOL_MAX + 3) + 3;
    char *array = malloc(cap);
    if (array == NULL)
        return lv_db_fail(err, "out of memory");
    size_t used = 0;
    array[used++] = '{';
    for (int i = 0; i < n; i++)
        used +=
            (size_t)snprintf(array + used, cap - used, "%s\"%s\"", i > 0 ? "," : "", symbols[i]);
    snprintf(array + used, cap - used, "}");
    const char *params[] = {array};
    int rc =
        lv_db_query_value(conn,
                          "SELECT COALESCE(string_agg(DISTINCT symbol, ',' ORDER BY symbol), "
                          "'') FROM bars WHERE source = 'synthetic' AND symbol = ANY($1::text[])",
                          1, params, out, out_size, err);
    free(array);
    return rc < 0 ? -1 : 0;
}
