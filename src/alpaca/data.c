/* data.c — daily bars from Alpaca's GET /v2/stocks/bars: URL building, bounded retries,
 * paging by next_page_token, and the checks that turn each page into columnar series. */
#include "alpaca/data.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/fetch.h"

#define PAGE_TIMEOUT_MS 30000  /* a full page is about 1 MB */
#define TOKEN_MAX       1024   /* longest next_page_token kept (observed: about 60 characters) */
#define MAX_PAGES       100000 /* a runaway token chain stops here, not in an endless loop */

/* The table under construction: one series per query symbol, in query order. */
struct fetch {
    const struct lv_alpaca_bars_query *query;
    struct lv_bar_table table;
    size_t *caps; /* capacity of each series' arrays, parallel to table.series; owned */
    long status;  /* last HTTP status seen */
};

static void fetch_free(struct fetch *f)
{
    lv_bar_table_free(&f->table);
    free(f->caps);
    f->caps = NULL;
}

static int fetch_init(struct fetch *f, const struct lv_alpaca_bars_query *query)
{
    memset(f, 0, sizeof *f);
    f->query = query;
    f->table.series = calloc((size_t)query->n_symbols, sizeof *f->table.series);
    f->caps = calloc((size_t)query->n_symbols, sizeof *f->caps);
    if (f->table.series == NULL || f->caps == NULL) {
        fetch_free(f);
        return -1;
    }
    f->table.n_series = query->n_symbols;
    for (int i = 0; i < query->n_symbols; i++)
        snprintf(f->table.series[i].symbol, LV_SYMBOL_MAX, "%s", query->symbols[i]);
    return 0;
}

/* ---- One bar ------------------------------------------------------------------------------ */

bool lv_alpaca_bar_day(const char *t, lv_day *day)
{
    char date[LV_DAY_TEXT];
    if (t == NULL || strlen(t) < 11 || t[10] != 'T')
        return false;
    memcpy(date, t, 10);
    date[10] = '\0';
    return lv_day_parse(date, day);
}

static int grow_series(struct lv_bar_series *s, size_t *cap)
{
    if (s->n < *cap)
        return 0;
    size_t new_cap = *cap > 0 ? *cap * 2 : 256;
    double **columns[] = {&s->open, &s->high, &s->low, &s->close, &s->volume};
    lv_day *days = realloc(s->day, new_cap * sizeof *days);
    if (days == NULL)
        return -1;
    s->day = days;
    for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) {
        double *grown = realloc(*columns[c], new_cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        *columns[c] = grown;
    }
    *cap = new_cap;
    return 0;
}

/* Reads number `key` of `bar` into *out; returns false when it is missing, not a number, not
 * finite, or below the minimum (> 0 for prices, >= 0 for the volume). */
static bool read_number(const json_t *bar, const char *key, bool price, double *out)
{
    const json_t *value = json_object_get(bar, key);
    if (!json_is_number(value))
        return false;
    *out = json_number_value(value);
    return isfinite(*out) && (price ? *out > 0 : *out >= 0);
}

/* Checks one bar object and appends it to series `s`. */
static enum lv_alpaca_result add_bar(struct lv_bar_series *s, size_t *cap, const json_t *bar,
                                     struct lv_error *err)
{
    static const char *const keys[] = {"o", "h", "l", "c", "v"};
    const char *t = json_string_value(json_object_get(bar, "t"));
    lv_day day;
    if (!json_is_object(bar) || !lv_alpaca_bar_day(t, &day)) {
        lv_fail(err, "Alpaca sent a malformed bar for %s (bar %zu): no timestamp t", s->symbol,
                s->n + 1);
        return LV_ALPACA_FAILED;
    }
    if (s->n > 0 && day <= s->day[s->n - 1]) {
        char previous[LV_DAY_TEXT];
        lv_fail(err, "Alpaca sent %s bars out of order: %s is not after %s", s->symbol, t,
                lv_day_format(s->day[s->n - 1], previous));
        return LV_ALPACA_FAILED;
    }
    double values[5];
    for (int k = 0; k < 5; k++)
        if (!read_number(bar, keys[k], k < 4, &values[k])) {
            lv_fail(err, "Alpaca sent a bad %s bar at %s: field %s must be a finite number %s",
                    s->symbol, t, keys[k], k < 4 ? "> 0" : ">= 0");
            return LV_ALPACA_FAILED;
        }
    if (grow_series(s, cap) != 0) {
        lv_fail(err, "out of memory reading Alpaca bars");
        return LV_ALPACA_FAILED;
    }
    s->day[s->n] = day;
    s->open[s->n] = values[0];
    s->high[s->n] = values[1];
    s->low[s->n] = values[2];
    s->close[s->n] = values[3];
    s->volume[s->n] = values[4];
    s->n++;
    return LV_ALPACA_OK;
}

/* ---- One page ----------------------------------------------------------------------------- */

static int series_of(const struct fetch *f, const char *symbol)
{
    for (int i = 0; i < f->table.n_series; i++)
        if (strcmp(f->table.series[i].symbol, symbol) == 0)
            return i;
    return -1;
}

/* Adds the bars of one page ({"bars": {SYMBOL: [bar…]}, "next_page_token": …}) and copies
 * the token into next ("" when the last page). */
static enum lv_alpaca_result add_page(struct fetch *f, const char *body, char next[TOKEN_MAX],
                                      struct lv_error *err)
{
    json_t *doc = json_loads(body, 0, NULL);
    const json_t *bars = json_object_get(doc, "bars");
    const json_t *token = json_object_get(doc, "next_page_token");
    enum lv_alpaca_result result = LV_ALPACA_OK;
    if (!json_is_object(doc) || !(json_is_object(bars) || json_is_null(bars)) ||
        !(token == NULL || json_is_null(token) || json_is_string(token))) {
        lv_fail(err, "Alpaca answered with something other than a bars page");
        result = LV_ALPACA_FAILED;
    } else if (json_is_string(token) && strlen(json_string_value(token)) >= TOKEN_MAX) {
        lv_fail(err, "Alpaca sent a next_page_token longer than %d characters", TOKEN_MAX - 1);
        result = LV_ALPACA_FAILED;
    } else {
        snprintf(next, TOKEN_MAX, "%s", json_is_string(token) ? json_string_value(token) : "");
    }
    const char *symbol;
    const json_t *list;
    json_object_foreach((json_t *)bars, symbol, list)
    {
        if (result != LV_ALPACA_OK)
            break;
        int i = series_of(f, symbol);
        if (i < 0 || !json_is_array(list)) {
            lv_fail(err, "Alpaca answered bars for \"%.20s\", which were not asked for", symbol);
            result = LV_ALPACA_FAILED;
            break;
        }
        size_t k;
        const json_t *bar;
        json_array_foreach(list, k, bar)
        {
            result = add_bar(&f->table.series[i], &f->caps[i], bar, err);
            if (result != LV_ALPACA_OK)
                break;
        }
    }
    json_decref(doc);
    return result;
}

/* ---- Requests ----------------------------------------------------------------------------- */

/* The URL of one page for symbols [first, first + count) (caller frees), or NULL when out of
 * memory. Every value is percent-encoded: page tokens are base64 ('+', '/', '='). */
static char *page_url(const char *base_url, const struct lv_alpaca_bars_query *q, int first,
                      int count, const char *token)
{
    char *url = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&url, &len);
    if (out == NULL)
        return NULL;
    fprintf(out, "%s/v2/stocks/bars?symbols=", base_url);
    for (int i = first; i < first + count; i++)
        fprintf(out, "%s%s", i > first ? "%2C" : "", q->symbols[i]); /* symbols need no encoding */
    char start[LV_DAY_TEXT], end[LV_DAY_TEXT];
    fprintf(out, "&timeframe=1Day&adjustment=all&limit=%d&start=%s", LV_ALPACA_PAGE_LIMIT,
            lv_day_format(q->start, start));
    if (q->end != LV_DAY_NONE)
        fprintf(out, "&end=%s", lv_day_format(q->end, end));
    char encoded[TOKEN_MAX * 3];
    if (q->feed != NULL && lv_url_encode(q->feed, encoded, sizeof encoded) >= 0)
        fprintf(out, "&feed=%s", encoded);
    if (token[0] != '\0' && lv_url_encode(token, encoded, sizeof encoded) >= 0)
        fprintf(out, "&page_token=%s", encoded);
    if (fclose(out) != 0) {
        free(url);
        return NULL;
    }
    return url;
}

static void pause_ms(int ms)
{
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0)
        continue; /* interrupted by a signal: sleep the rest */
}

/* GETs one page, retrying 429 and 5xx (see data.h). On LV_ALPACA_OK *response holds the 2xx
 * answer (caller frees); otherwise it is freed. */
static enum lv_alpaca_result get_page(const struct lv_alpaca_account_ref *ref, const char *url,
                                      struct fetch *f, struct lv_fetch_response *response,
                                      struct lv_error *err)
{
    int wait_ms = f->query->first_retry_ms > 0 ? f->query->first_retry_ms : 1000;
    for (int attempt = 1;; attempt++) {
        if (lv_alpaca_get(ref, url, PAGE_TIMEOUT_MS, response, err) != 0)
            return LV_ALPACA_FAILED;
        f->status = response->status;
        if (response->status >= 200 && response->status <= 299)
            return LV_ALPACA_OK;
        bool transient = response->status == 429 || response->status >= 500;
        if (!transient || attempt == LV_ALPACA_ATTEMPTS) {
            struct lv_error why;
            enum lv_alpaca_result result = lv_alpaca_status_error(response, &why);
            lv_fetch_response_free(response);
            if (transient)
                lv_fail(err, "%s, still after %d attempts", why.message, attempt);
            else
                *err = why;
            return result;
        }
        lv_fetch_response_free(response);
        pause_ms(wait_ms);
        wait_ms *= 2;
    }
}

/* Follows the pages of symbols [first, first + count) to the end. */
static enum lv_alpaca_result fetch_symbols(const struct lv_alpaca_account_ref *ref, struct fetch *f,
                                           int first, int count, struct lv_error *err)
{
    char token[TOKEN_MAX] = "", next[TOKEN_MAX];
    for (int page = 0; page < MAX_PAGES; page++) {
        char *url = page_url(ref->base_url, f->query, first, count, token);
        if (url == NULL) {
            lv_fail(err, "out of memory building an Alpaca request");
            return LV_ALPACA_FAILED;
        }
        struct lv_fetch_response response;
        enum lv_alpaca_result result = get_page(ref, url, f, &response, err);
        free(url);
        if (result != LV_ALPACA_OK)
            return result;
        result = add_page(f, response.body, next, err);
        lv_fetch_response_free(&response);
        if (result != LV_ALPACA_OK)
            return result;
        if (next[0] == '\0')
            return LV_ALPACA_OK;
        if (strcmp(next, token) == 0) {
            lv_fail(err, "Alpaca sent the same next_page_token twice");
            return LV_ALPACA_FAILED;
        }
        memcpy(token, next, sizeof token);
    }
    lv_fail(err, "Alpaca kept sending pages (more than %d)", MAX_PAGES);
    return LV_ALPACA_FAILED;
}

/* LV_ALPACA_NO_DATA naming every symbol without bars, or LV_ALPACA_OK. */
static enum lv_alpaca_result check_all_present(const struct fetch *f, struct lv_error *err)
{
    char names[LV_ERROR_MSG / 2] = "";
    size_t used = 0;
    int missing = 0;
    for (int i = 0; i < f->table.n_series; i++) {
        if (f->table.series[i].n > 0)
            continue;
        if (used + LV_SYMBOL_MAX + 8 < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                     missing > 0 ? ", " : "", f->table.series[i].symbol);
        else if (used + 5 < sizeof names && names[used - 1] != '.')
            used += (size_t)snprintf(names + used, sizeof names - used, ", ...");
        missing++;
    }
    if (missing == 0)
        return LV_ALPACA_OK;
    char start[LV_DAY_TEXT], end[LV_DAY_TEXT];
    lv_fail(err, "Alpaca has no daily bars for %s from %s to %s%s%s", names,
            lv_day_format(f->query->start, start),
            f->query->end != LV_DAY_NONE ? lv_day_format(f->query->end, end) : "today",
            f->query->feed != NULL ? " on feed " : "",
            f->query->feed != NULL ? f->query->feed : "");
    return LV_ALPACA_NO_DATA;
}

enum lv_alpaca_result lv_alpaca_daily_bars(const struct lv_alpaca_account_ref *ref,
                                           const struct lv_alpaca_bars_query *query,
                                           struct lv_bar_table *out, long *http_status,
                                           struct lv_error *err)
{
    memset(out, 0, sizeof *out);
    if (http_status != NULL)
        *http_status = 0;
    struct fetch f;
    if (query->n_symbols < 1 || fetch_init(&f, query) != 0) {
        lv_fail(err, query->n_symbols < 1 ? "no symbols to fetch" : "out of memory");
        return LV_ALPACA_FAILED;
    }
    enum lv_alpaca_result result = LV_ALPACA_OK;
    for (int first = 0; first < query->n_symbols && result == LV_ALPACA_OK;
         first += LV_ALPACA_SYMBOLS_PER_REQUEST) {
        int count = query->n_symbols - first;
        if (count > LV_ALPACA_SYMBOLS_PER_REQUEST)
            count = LV_ALPACA_SYMBOLS_PER_REQUEST;
        result = fetch_symbols(ref, &f, first, count, err);
    }
    if (result == LV_ALPACA_OK)
        result = check_all_present(&f, err);
    if (http_status != NULL)
        *http_status = f.status;
    if (result == LV_ALPACA_OK) {
        *out = f.table;
        f.table = (struct lv_bar_table){0};
    }
    fetch_free(&f);
    return result;
}
