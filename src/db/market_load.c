/* market_load.c — reading `bars` into a struct lv_market and sharing it between threads. */
#include "db/market_load.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

/* Growable columns of one symbol while its rows stream in. */
struct columns {
    size_t n, cap;
    lv_day *day;
    double *open, *high, *low, *close, *volume;
};

static void columns_free(struct columns *c)
{
    free(c->day);
    free(c->open);
    free(c->high);
    free(c->low);
    free(c->close);
    free(c->volume);
    memset(c, 0, sizeof *c);
}

static int columns_push(struct columns *c, lv_day day, const double values[5])
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        double **fields[] = {&c->open, &c->high, &c->low, &c->close, &c->volume};
        lv_day *days = realloc(c->day, cap * sizeof *days);
        if (days == NULL)
            return -1;
        c->day = days;
        for (int f = 0; f < 5; f++) {
            double *grown = realloc(*fields[f], cap * sizeof **fields[f]);
            if (grown == NULL)
                return -1;
            *fields[f] = grown;
        }
        c->cap = cap;
    }
    c->day[c->n] = day;
    c->open[c->n] = values[0];
    c->high[c->n] = values[1];
    c->low[c->n] = values[2];
    c->close[c->n] = values[3];
    c->volume[c->n] = values[4];
    c->n++;
    return 0;
}

static int flush_symbol(struct lv_market_builder *builder, const char *symbol, struct columns *c,
                        struct lv_error *err)
{
    int rc = c->n == 0 ? 0
                       : lv_market_builder_add(builder, symbol, c->day, c->open, c->high, c->low,
                                               c->close, c->volume, c->n, err);
    c->n = 0;
    return rc;
}

struct lv_market *lv_market_load(PGconn *conn, struct lv_error *err)
{
    struct lv_db_error db_err;
    /* Day numbers come straight from SQL (days since 1970-01-01), saving a date parse. */
    PGresult *res = lv_db_query(conn,
                                "SELECT symbol, (day - DATE '1970-01-01')::int, open, high, low, "
                                "close, volume FROM bars ORDER BY symbol, day",
                                0, NULL, &db_err);
    if (res == NULL) {
        lv_fail(err, "cannot read bars: %s", db_err.message);
        return NULL;
    }
    int rows = PQntuples(res);
    if (rows == 0) {
        PQclear(res);
        lv_fail(err, "no bars in the database: import some with `lever bars import` or write "
                     "the sample universe with `lever bars synth`");
        return NULL;
    }
    struct lv_market_builder *builder = lv_market_builder_new();
    struct columns cols = {0};
    int failed = builder == NULL;
    char symbol[64] = "";
    for (int row = 0; row < rows && !failed; row++) {
        const char *row_symbol = PQgetvalue(res, row, 0);
        if (strcmp(row_symbol, symbol) != 0) {
            failed = flush_symbol(builder, symbol, &cols, err) != 0;
            snprintf(symbol, sizeof symbol, "%s", row_symbol);
        }
        double values[5];
        for (int f = 0; f < 5; f++)
            values[f] = strtod(PQgetvalue(res, row, 2 + f), NULL);
        if (!failed && columns_push(&cols, (lv_day)atoi(PQgetvalue(res, row, 1)), values) != 0)
            failed = lv_fail(err, "out of memory loading bars") != 0;
    }
    if (!failed)
        failed = flush_symbol(builder, symbol, &cols, err) != 0;
    PQclear(res);
    columns_free(&cols);
    if (failed) {
        lv_market_builder_free(builder);
        if (builder == NULL)
            lv_fail(err, "out of memory loading bars");
        return NULL;
    }
    return lv_market_finalize(builder, err);
}

/* ---- Holder ------------------------------------------------------------------------------ */

struct snapshot {
    struct lv_market_snapshot pub; /* first member: callers hold &pub */
    int refs;                      /* the holder's own reference counts as one */
};

struct lv_market_holder {
    pthread_mutex_t lock;
    struct snapshot *current;
};

struct lv_market_holder *lv_market_holder_new(void)
{
    struct lv_market_holder *holder = calloc(1, sizeof *holder);
    if (holder != NULL)
        pthread_mutex_init(&holder->lock, NULL);
    return holder;
}

static void snapshot_unref(struct snapshot *snap)
{
    if (snap != NULL && --snap->refs == 0) {
        lv_series_cache_free(snap->pub.cache);
        lv_market_free((struct lv_market *)snap->pub.market);
        free(snap);
    }
}

void lv_market_holder_free(struct lv_market_holder *holder)
{
    if (holder == NULL)
        return;
    snapshot_unref(holder->current);
    pthread_mutex_destroy(&holder->lock);
    free(holder);
}

static int read_version(PGconn *conn, int64_t *version, struct lv_error *err)
{
    char text[32];
    struct lv_db_error db_err;
    if (lv_db_query_value(conn, "SELECT version FROM market_data_version", 0, NULL, text,
                          sizeof text, &db_err) != 1)
        return lv_fail(err, "cannot read market_data_version: %s", db_err.message);
    *version = strtoll(text, NULL, 10);
    return 0;
}

static struct snapshot *load_snapshot(PGconn *conn, int64_t version, struct lv_error *err)
{
    struct snapshot *snap = calloc(1, sizeof *snap);
    if (snap == NULL) {
        lv_fail(err, "out of memory loading the market");
        return NULL;
    }
    struct lv_market *market = lv_market_load(conn, err);
    if (market == NULL) {
        free(snap);
        return NULL;
    }
    snap->pub.cache = lv_series_cache_new(market);
    if (snap->pub.cache == NULL) {
        lv_fail(err, "out of memory loading the market");
        lv_market_free(market);
        free(snap);
        return NULL;
    }
    snap->pub.market = market;
    snap->pub.version = version;
    snap->refs = 1;
    return snap;
}

const struct lv_market_snapshot *lv_market_acquire(struct lv_market_holder *holder, PGconn *conn,
                                                   struct lv_error *err)
{
    int64_t version;
    if (read_version(conn, &version, err) != 0)
        return NULL;
    pthread_mutex_lock(&holder->lock);
    struct snapshot *snap = holder->current;
    if (snap == NULL || snap->pub.version != version) {
        /* Loading under the lock: other callers wait rather than load the same data twice. */
        struct snapshot *fresh = load_snapshot(conn, version, err);
        if (fresh == NULL) {
            pthread_mutex_unlock(&holder->lock);
            return NULL;
        }
        snapshot_unref(holder->current);
        holder->current = snap = fresh;
    }
    snap->refs++;
    pthread_mutex_unlock(&holder->lock);
    return &snap->pub;
}

void lv_market_release(struct lv_market_holder *holder, const struct lv_market_snapshot *pub)
{
    if (pub == NULL)
        return;
    pthread_mutex_lock(&holder->lock);
    snapshot_unref((struct snapshot *)pub);
    pthread_mutex_unlock(&holder->lock);
}
