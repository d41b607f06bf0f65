/* alpaca_stub.c — the Alpaca stand-in on Lever's own HTTP layer (src/http). */
#include "alpaca_stub.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

struct alpaca_stub {
    struct lv_router *router;
    struct lv_http_server *server;
    char url[64];
    char key_id[128], secret[256], foreign_key_id[128];
    pthread_mutex_t lock;
    int account_requests;
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

static void get_account(struct lv_req *req, void *ctx)
{
    struct alpaca_stub *stub = ctx;
    const char *key_id = lv_req_header(req, "APCA-API-KEY-ID");
    const char *secret = lv_req_header(req, "APCA-API-SECRET-KEY");
    pthread_mutex_lock(&stub->lock);
    stub->account_requests++;
    pthread_mutex_unlock(&stub->lock);
    if (key_id != NULL && stub->foreign_key_id[0] != '\0' &&
        strcmp(key_id, stub->foreign_key_id) == 0) {
        lv_resp_json(req, 403, json_pack("{s:s}", "message", "forbidden."));
        return;
    }
    if (key_id == NULL || secret == NULL || strcmp(key_id, stub->key_id) != 0 ||
        strcmp(secret, stub->secret) != 0) {
        lv_resp_json(
            req, 401,
            json_pack("{s:i, s:s}", "code", 40110000, "message", "request is not authorized"));
        return;
    }
    lv_resp_json(req, 200, account_object());
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
    struct lv_http_config cfg = {.listen = "127.0.0.1:0", .threads = 2};
    if (lv_router_add(stub->router, "GET", "/v2/account", get_account, 0, &err) != 0 ||
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
