/* bench_api.c — benchmark (d): the round trip of POST /api/v1/backtests for complex.json over
 * the full ETF history, against a real `lever serve` and PostgreSQL (make bench). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_client.h"
#include "lever_proc.h"

#define ROUNDS 50

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    if (text != NULL && fread(text, 1, (size_t)size, f) == (size_t)size)
        text[size] = '\0';
    fclose(f);
    return text;
}

int main(void)
{
    const char *shared = lever_test_env("LEVER_SHARED");
    char etf_dir[512], strategy_path[512];
    snprintf(etf_dir, sizeof etf_dir, "%s/data/etf", shared);
    snprintf(strategy_path, sizeof strategy_path, "%s/data/strategies/complex.json", shared);
    struct lever_proc server;
    if (lever_proc_start(&server, NULL) != 0)
        return 1;
    const char *import[] = {"bars", "import", etf_dir, NULL};
    char token[128], err[4096];
    if (lever_run(import, NULL, NULL, 0, err, sizeof err) != 0 ||
        lever_create_user("bench", token, sizeof token) < 0) {
        fprintf(stderr, "setup failed: %s\n", err);
        lever_proc_stop(&server);
        return 1;
    }
    char *strategy = read_file(strategy_path);
    size_t body_cap = strlen(strategy) + 64;
    char *body = malloc(body_cap);
    snprintf(body, body_cap, "{\"strategy\": %s}", strategy);
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/backtests", server.base_url);

    double times[ROUNDS], first_ms = 0;
    int failures = 0;
    for (int round = -1; round < ROUNDS; round++) {
        struct http_client_response res;
        double start = now_ms();
        int rc = http_client_json("POST", url, token, body, &res);
        double elapsed = now_ms() - start;
        if (rc != 0 || res.status != 201) {
            failures++;
            if (failures == 1)
                fprintf(stderr, "POST failed (%ld): %.300s\n", res.status, res.body);
        }
        if (round < 0)
            first_ms = elapsed; /* loads the market and computes every series */
        else
            times[round] = elapsed;
        http_client_response_free(&res);
    }
    qsort(times, ROUNDS, sizeof times[0], compare_doubles);
    double sum = 0;
    for (int i = 0; i < ROUNDS; i++)
        sum += times[i];
    printf("(d) POST /api/v1/backtests, complex.json, full ETF history, %d rounds\n", ROUNDS);
    printf("    first (loads bars + indicators): %.1f ms\n", first_ms);
    printf("    warm: mean %.2f ms, median %.2f ms, p95 %.2f ms (target < 20 ms)\n", sum / ROUNDS,
           times[ROUNDS / 2], times[ROUNDS * 95 / 100]);
    if (failures)
        printf("    %d requests failed\n", failures);
    free(body);
    free(strategy);
    lever_proc_stop(&server);
    return failures ? 1 : 0;
}
