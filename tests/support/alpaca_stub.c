/* alpaca_stub.c — the Alpaca stand-in on Lever's own HTTP layer (src/http). */
#include "alpaca_stub.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "http/http.h"

#define STUB_SYMBOLS 16

struct stub_bar {
    lv_day day;
    double o, h, l, c, v;
};

/* The bars of one symbol. */
struct stub_series {
    char symbol[16];
    struct stub_bar *bars; /* owned */
    int n;
};

struct alpaca_stub {
    struct lv_router *router;
    struct lv_http_server *server;
    char url[64];
    char key_id[128], secret[256], foreign_key_id[128];
    pthread_mutex_t lock; /* guards everything below */
    int account_requests;
    struct stub_series series[STUB_SYMBOLS];
    int page_size;
    int fail_status, fail_times;
    int bars_requests;
    char last_bars_query[1024];
};

static json_t *account_object(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, "
        "s:b, s:b, s:i, s:s, s:s}",
        "id", "1d9eed04-8bd8-4c2a-9b6a-4f2f2b1f6f10", "account_number", "PALPACA_123", "status",
        "ACTIVE", "crypto_status", "ACTIVE", "currency", "USD", "cash", "122086.5",
        "portfolio_value", "123346.11", "equity", "123346.11", "last_equity", "122011.09",
        "buying_power", "245432.61", "long_market_value", "1259.61", "short_market_value", "0",
        "multiplier", "2", "pattern_day_trader", 0, "trading_blocked", 0, "transfers_blocked", 0,
        "account_blocked", 0, "shorting_enabled", 1, "daytrade_count", 0, "balance_asof",
        "2026-01-02", "created_at", "2023-01-01T18:20:20.272275Z");
}

/* Answers 401/403 as Alpaca does and returns true when the key headers are not the
 * account's. */
static bool refused(struct alpaca_stub *stub, struct lv_req *req)
{
    const char *key_id = lv_req_header(req, "APCA-API-KEY-ID");
    const char *secret = lv_req_header(req, "APCA-API-SECRET-KEY");
    if (key_id != NULL && stub->foreign_key_id[0] != '\0' &&
        strcmp(key_id, stub->foreign_key_id) == 0) {
        lv_resp_json(req, 403, json_pack("{s:s}", "message", "forbidden."));
        return true;
    }
    if (key_id == NULL || secret == NULL || strcmp(key_id, stub->key_id) != 0 ||
        strcmp(secret, stub->secret) != 0) {
        lv_resp_json(
            req, 401,
            json_pack("{s:i, s:s}", "code", 40110000, "message", "request is not authorized"));
        return true;
    }
    return false;
}

static void get_account(struct lv_req *req, void *ctx)
{
    struct alpaca_stub *stub = ctx;
    pthread_mutex_lock(&stub->lock);
    stub->account_requests++;
    pthread_mutex_unlock(&stub->lock);
    if (!refused(stub, req))
        lv_resp_json(req, 200, account_object());
}

/* ---- GET /v2/stocks/bars ------------------------------------------------------------------ */

/* The n-th Sunday of a month (n = 1, 2). */
static lv_day nth_sunday(int year, int month, int n)
{
    lv_day first = lv_day_from_ymd(year, month, 1);
    return first + (7 - lv_day_weekday(first)) % 7 + 7 * (n - 1);
}

/* "YYYY-MM-DDTHH:00:00Z": midnight New York in UTC. US daylight time runs from the second
 * Sunday of March to the first Sunday of November (switching at 2 am, so both Sundays'
 * midnights belong to the time before the switch). */
static void bar_time(lv_day day, char out[32])
{
    int year, month, mday;
    lv_day_to_ymd(day, &year, &month, &mday);
    bool daylight = day > nth_sunday(year, 3, 2) && day <= nth_sunday(year, 11, 1);
    snprintf(out, 32, "%04d-%02d-%02dT0%d:00:00Z", year, month, mday, daylight ? 4 : 5);
}

/* A YYYY-MM-DD or RFC 3339 parameter as its date; true when absent (*day = LV_DAY_NONE). */
static bool date_param(const char *text, lv_day *day)
{
    *day = LV_DAY_NONE;
    if (text == NULL)
        return true;
    char date[LV_DAY_TEXT];
    size_t len = strlen(text);
    if (len < 10 || (len > 10 && text[10] != 'T'))
        return false;
    memcpy(date, text, 10);
    date[10] = '\0';
    return lv_day_parse(date, day);
}

static bool one_of(const char *value, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++)
        if (strcmp(value, *allowed) == 0)
            return true;
    return false;
}

static void refuse_param(struct lv_req *req, int status, const char *message)
{
    lv_resp_json(
        req, status,
        json_pack("{s:i, s:s}", "code", status == 400 ? 40010000 : 42210000, "message", message));
}

/* The checked parameters of one request. */
struct bars_params {
    char symbols[STUB_SYMBOLS][16]; /* sorted, distinct */
    int n_symbols;
    lv_day start, end;
    long limit;
    char after_symbol[16], after_t[32]; /* from page_token; "" on the first page */
};

static int compare_symbols(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Reads symbols=A,B,… sorted and without repeats; false when empty or malformed. */
static bool read_symbols(const char *list, struct bars_params *p)
{
    p->n_symbols = 0;
    while (list != NULL && *list != '\0') {
        size_t len = strcspn(list, ",");
        if (len == 0 || len >= 16 || p->n_symbols == STUB_SYMBOLS)
            return false;
        memcpy(p->symbols[p->n_symbols], list, len);
        p->symbols[p->n_symbols][len] = '\0';
        bool seen = false;
        for (int i = 0; i < p->n_symbols; i++)
            seen |= strcmp(p->symbols[i], p->symbols[p->n_symbols]) == 0;
        p->n_symbols += !seen;
        list += len + (list[len] == ',');
    }
    qsort(p->symbols, (size_t)p->n_symbols, sizeof p->symbols[0], compare_symbols);
    return p->n_symbols > 0;
}

/* Decodes base64("SYMBOL|D|t"); false when it is not one of ours. */
static bool read_token(const char *token, struct bars_params *p)
{
    p->after_symbol[0] = p->after_t[0] = '\0';
    if (token == NULL)
        return true;
    char plain[64];
    size_t len = 0;
    if (sodium_base642bin((unsigned char *)plain, sizeof plain - 1, token, strlen(token), NULL,
                          &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    plain[len] = '\0';
    return sscanf(plain, "%15[^|]|D|%31s", p->after_symbol, p->after_t) == 2;
}

/* Checks every parameter; answers the error itself and returns false on a bad one. */
static bool read_params(struct lv_req *req, struct bars_params *p)
{
    static const char *const timeframes[] = {"1Day", "1D", NULL};
    static const char *const adjustments[] = {"raw", "split", "dividend", "spin-off", "all", NULL};
    static const char *const feeds[] = {"sip", "iex", "otc", "boats", NULL};
    const char *timeframe = lv_req_query(req, "timeframe");
    const char *adjustment = lv_req_query(req, "adjustment");
    const char *feed = lv_req_query(req, "feed");
    const char *limit = lv_req_query(req, "limit");
    char *rest = NULL;
    p->limit = limit != NULL ? strtol(limit, &rest, 10) : 1000;
    const char *problem = NULL;
    int status = 422;
    if (!read_symbols(lv_req_query(req, "symbols"), p))
        problem = "invalid symbols";
    else if (timeframe == NULL || !one_of(timeframe, timeframes))
        problem = "invalid timeframe";
    else if (adjustment != NULL && !one_of(adjustment, adjustments))
        problem = "invalid adjustment", status = 400;
    else if (feed != NULL && !one_of(feed, feeds))
        problem = "invalid feed";
    else if ((limit != NULL && (*limit == '\0' || *rest != '\0')) || p->limit < 1 ||
             p->limit > 10000)
        problem = "invalid limit";
    else if (!date_param(lv_req_query(req, "start"), &p->start))
        problem = "invalid start";
    else if (!date_param(lv_req_query(req, "end"), &p->end))
        problem = "invalid end";
    else if (!read_token(lv_req_query(req, "page_token"), p))
        problem = "invalid page token";
    if (problem != NULL)
        refuse_param(req, status, problem);
    return problem == NULL;
}

static void record_query(struct alpaca_stub *stub, struct lv_req *req)
{
    static const char *const names[] = {"symbols", "timeframe", "adjustment", "limit", "start",
                                        "end",     "feed",      "page_token", NULL};
    size_t used = 0;
    stub->last_bars_query[0] = '\0';
    for (int i = 0; names[i] != NULL && used < sizeof stub->last_bars_query; i++) {
        const char *value = lv_req_query(req, names[i]);
        used +=
            (size_t)snprintf(stub->last_bars_query + used, sizeof stub->last_bars_query - used,
                             "%s%s=%s", i > 0 ? " " : "", names[i], value != NULL ? value : "-");
    }
}

static json_t *bar_json(const struct stub_bar *bar, const char *t)
{
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:i, s:f}", "t", t, "o", bar->o, "h", bar->h,
                     "l", bar->l, "c", bar->c, "v", (json_int_t)bar->v, "n", 1000, "vw",
                     (bar->h + bar->l + bar->c) / 3);
}

static const struct stub_series *find_series(const struct alpaca_stub *stub, const char *symbol)
{
    for (int i = 0; i < STUB_SYMBOLS; i++)
        if (stub->series[i].n > 0 && strcmp(stub->series[i].symbol, symbol) == 0)
            return &stub->series[i];
    return NULL;
}

/* Builds one page (caller holds the lock). Returns NULL when the token matched no bar. */
static json_t *bars_page(const struct alpaca_stub *stub, const struct bars_params *p)
{
    long room = p->limit < stub->page_size ? p->limit : stub->page_size;
    bool skipping = p->after_symbol[0] != '\0';
    json_t *bars = json_object();
    const char *last_symbol = NULL;
    char last_t[32] = "";
    bool more = false;
    for (int s = 0; s < p->n_symbols && !more; s++) {
        const struct stub_series *series = find_series(stub, p->symbols[s]);
        for (int i = 0; series != NULL && i < series->n; i++) {
            const struct stub_bar *bar = &series->bars[i];
            if ((p->start != LV_DAY_NONE && bar->day < p->start) ||
                (p->end != LV_DAY_NONE && bar->day > p->end))
                continue;
            char t[32];
            bar_time(bar->day, t);
            if (skipping) {
                skipping =
                    !(strcmp(series->symbol, p->after_symbol) == 0 && strcmp(t, p->after_t) == 0);
                continue;
            }
            if (room == 0) {
                more = true;
                break;
            }
            json_t *list = json_object_get(bars, series->symbol);
            if (list == NULL)
                json_object_set_new(bars, series->symbol, list = json_array());
            json_array_append_new(list, bar_json(bar, t));
            last_symbol = series->symbol;
            snprintf(last_t, sizeof last_t, "%s", t);
            room--;
        }
    }
    if (skipping) {
        json_decref(bars);
        return NULL;
    }
    json_t *token = json_null();
    if (more) {
        char plain[64], encoded[128];
        int len = snprintf(plain, sizeof plain, "%s|D|%s", last_symbol, last_t);
        sodium_bin2base64(encoded, sizeof encoded, (const unsigned char *)plain, (size_t)len,
                          sodium_base64_VARIANT_ORIGINAL);
        token = json_string(encoded);
    }
    return json_pack("{s:o, s:o}", "bars", bars, "next_page_token", token);
}

static void get_bars(struct lv_req *req, void *ctx)
{
    struct alpaca_stub *stub = ctx;
    pthread_mutex_lock(&stub->lock);
    stub->bars_requests++;
    record_query(stub, req);
    pthread_mutex_unlock(&stub->lock);
    struct bars_params params;
    if (refused(stub, req) || !read_params(req, &params))
        return;
    pthread_mutex_lock(&stub->lock);
    int fail_status = stub->fail_times > 0 ? stub->fail_status : 0;
    stub->fail_times -= stub->fail_times > 0;
    json_t *page = fail_status == 0 ? bars_page(stub, &params) : NULL;
    pthread_mutex_unlock(&stub->lock);
    if (fail_status == 429)
        lv_resp_json(req, 429,
                     json_pack("{s:i, s:s}", "code", 42910000, "message", "rate limit exceeded"));
    else if (fail_status != 0)
        lv_resp_json(req, fail_status,
                     json_pack("{s:i, s:s}", "code", 50010000, "message", "internal server error"));
    else if (page == NULL)
        refuse_param(req, 422, "invalid page token");
    else
        lv_resp_json(req, 200, page);
}

struct alpaca_stub *alpaca_stub_start(const char *key_id, const char *secret)
{
    struct alpaca_stub *stub = calloc(1, sizeof *stub);
    struct lv_error err;
    if (stub == NULL || (stub->router = lv_router_new()) == NULL) {
        free(stub);
        return NULL;
    }
    pthread_mutex_init(&stub->lock, NULL);
    snprintf(stub->key_id, sizeof stub->key_id, "%s", key_id);
    snprintf(stub->secret, sizeof stub->secret, "%s", secret);
    stub->page_size = 10000;
    struct lv_http_config cfg = {.listen = "127.0.0.1:0", .threads = 2};
    if (lv_router_add(stub->router, "GET", "/v2/account", get_account, 0, &err) != 0 ||
        lv_router_add(stub->router, "GET", "/v2/stocks/bars", get_bars, 0, &err) != 0 ||
        (stub->server = lv_http_start(&cfg, stub->router, stub, &err)) == NULL) {
        fprintf(stderr, "alpaca stub: %s\n", err.message);
        alpaca_stub_stop(stub);
        return NULL;
    }
    snprintf(stub->url, sizeof stub->url, "http://127.0.0.1:%u",
             (unsigned)lv_http_port(stub->server));
    return stub;
}

void alpaca_stub_stop(struct alpaca_stub *stub)
{
    if (stub == NULL)
        return;
    lv_http_stop(stub->server);
    lv_router_free(stub->router);
    for (int i = 0; i < STUB_SYMBOLS; i++)
        free(stub->series[i].bars);
    pthread_mutex_destroy(&stub->lock);
    free(stub);
}

const char *alpaca_stub_url(const struct alpaca_stub *stub)
{
    return stub->url;
}

void alpaca_stub_add_foreign_key(struct alpaca_stub *stub, const char *key_id)
{
    pthread_mutex_lock(&stub->lock);
    snprintf(stub->foreign_key_id, sizeof stub->foreign_key_id, "%s", key_id);
    pthread_mutex_unlock(&stub->lock);
}

int alpaca_stub_account_requests(struct alpaca_stub *stub)
{
    pthread_mutex_lock(&stub->lock);
    int count = stub->account_requests;
    pthread_mutex_unlock(&stub->lock);
    return count;
}

/* The slot of `symbol`: its own, else a free one (caller holds the lock). */
static struct stub_series *series_slot(struct alpaca_stub *stub, const char *symbol)
{
    struct stub_series *free_slot = NULL;
    for (int i = 0; i < STUB_SYMBOLS; i++) {
        struct stub_series *s = &stub->series[i];
        if (s->n > 0 && strcmp(s->symbol, symbol) == 0)
            return s;
        if (s->n == 0 && free_slot == NULL)
            free_slot = s;
    }
    return free_slot;
}

static void store_bars(struct alpaca_stub *stub, const char *symbol, struct stub_bar *bars, int n)
{
    pthread_mutex_lock(&stub->lock);
    struct stub_series *slot = series_slot(stub, symbol);
    if (slot == NULL) {
        fprintf(stderr, "alpaca stub: more than %d symbols\n", STUB_SYMBOLS);
        abort();
    }
    free(slot->bars);
    snprintf(slot->symbol, sizeof slot->symbol, "%s", symbol);
    slot->bars = bars; /* now owned by the stub */
    slot->n = n;
    pthread_mutex_unlock(&stub->lock);
}

void alpaca_stub_set_bars(struct alpaca_stub *stub, const char *symbol,
                          const struct alpaca_stub_bar *bars, int n)
{
    struct stub_bar *copy = n > 0 ? calloc((size_t)n, sizeof *copy) : NULL;
    for (int i = 0; i < n; i++) {
        if (copy == NULL || !lv_day_parse(bars[i].day, &copy[i].day)) {
            fprintf(stderr, "alpaca stub: bad bar day for %s\n", symbol);
            abort();
        }
        copy[i].o = bars[i].o;
        copy[i].h = bars[i].h;
        copy[i].l = bars[i].l;
        copy[i].c = bars[i].c;
        copy[i].v = bars[i].v;
    }
    store_bars(stub, symbol, copy, n);
}

void alpaca_stub_set_daily_bars(struct alpaca_stub *stub, const char *symbol, const char *first_day,
                                int n, double first_close)
{
    struct stub_bar *bars = calloc((size_t)n, sizeof *bars);
    lv_day day;
    if (bars == NULL || !lv_day_parse(first_day, &day)) {
        fprintf(stderr, "alpaca stub: bad first day %s\n", first_day);
        abort();
    }
    for (int i = 0; i < n; i++, day++) {
        while (lv_day_weekday(day) > 5)
            day++;
        double close = first_close + i;
        bars[i] = (struct stub_bar){day, close - 0.5, close + 1, close - 1, close, 1000000 + i};
    }
    store_bars(stub, symbol, bars, n);
}

void alpaca_stub_set_bars_page_size(struct alpaca_stub *stub, int page_size)
{
    pthread_mutex_lock(&stub->lock);
    stub->page_size = page_size;
    pthread_mutex_unlock(&stub->lock);
}

void alpaca_stub_fail_bars(struct alpaca_stub *stub, int status, int times)
{
    pthread_mutex_lock(&stub->lock);
    stub->fail_status = status;
    stub->fail_times = times;
    pthread_mutex_unlock(&stub->lock);
}

int alpaca_stub_bars_requests(struct alpaca_stub *stub)
{
    pthread_mutex_lock(&stub->lock);
    int count = stub->bars_requests;
    pthread_mutex_unlock(&stub->lock);
    return count;
}

void alpaca_stub_last_bars_query(struct alpaca_stub *stub, char *out, size_t cap)
{
    pthread_mutex_lock(&stub->lock);
    snprintf(out, cap, "%s", stub->last_bars_query);
    pthread_mutex_unlock(&stub->lock);
}
