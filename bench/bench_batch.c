/* bench_batch.c — the batch benchmarks of issue 4, end to end: HTTP create → every run stored
 * in PostgreSQL, on the full ETF history, for the two sample 200,000-run batches and a
 * 10,000-run slice of each. Prints runs/s, seconds and the server's peak resident memory.
 *
 * Each case gets a fresh `lever serve` (workers = cores) so its peak memory is its own. A case
 * still running after LEVER_BENCH_TIMEOUT_S (default 300) is cancelled and reported with its
 * rate and the time the whole batch would take at that rate. Usage: bench_batch [FILTER]
 * (only the cases whose label contains FILTER, e.g. "10k"). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "lever_proc.h"

struct bench_case {
    const char *label;
    const char *file; /* data/strategies/NAME.json and NAME-variables.json */
    int last_values;  /* keep this many values of the last variable; 0 = all */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

/* The create request of a case: the strategy and its variables (the last one sliced). */
static char *request_body(const struct bench_case *c)
{
    const char *shared = lever_test_env("LEVER_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/strategies/%s.json", shared, c->file);
    json_t *strategy = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, "%s/data/strategies/%s-variables.json", shared, c->file);
    json_t *file = json_load_file(path, 0, NULL);
    json_t *variables = json_incref(json_object_get(file, "variables"));
    json_decref(file);
    if (strategy == NULL || variables == NULL) {
        json_decref(strategy);
        json_decref(variables);
        return NULL;
    }
    json_t *last =
        json_object_get(json_array_get(variables, json_array_size(variables) - 1), "values");
    while (c->last_values > 0 && json_array_size(last) > (size_t)c->last_values)
        json_array_remove(last, json_array_size(last) - 1);
    json_t *body = json_pack("{s:o, s:o}", "strategy", strategy, "variables", variables);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static json_t *call(const struct lever_proc *server, const char *token, const char *method,
                    const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", server->base_url, path);
    struct http_client_response response;
    if (http_client_json(method, url, token, body, &response) != 0)
        return NULL;
    json_t *doc = json_loads(response.body, 0, NULL);
    http_client_response_free(&response);
    return doc;
}

static int run_case(const struct bench_case *c, const char *token, double timeout_s)
{
    struct lever_proc server;
    if (lever_proc_start(&server, NULL) != 0)
        return -1;
    char *body = request_body(c);
    double start = now_s();
    json_t *job = body != NULL ? call(&server, token, "POST", "/api/v1/batch-jobs", body) : NULL;
    free(body);
    const char *id = json_string_value(json_object_get(job, "id"));
    if (id == NULL) {
        fprintf(stderr, "bench_batch: %s: creation failed\n", c->label);
        json_decref(job);
        lever_proc_stop(&server);
        return -1;
    }
    char path[256];
    snprintf(path, sizeof path, "/api/v1/batch-jobs/%s", id);
    long total = (long)json_integer_value(json_object_get(job, "total")), completed = 0;
    const char *status = "queued";
    json_t *state = NULL;
    while (strcmp(status, "finished") != 0 && strcmp(status, "failed") != 0 &&
           now_s() - start < timeout_s) {
        usleep(100 * 1000);
        json_decref(state);
        state = call(&server, token, "GET", path, NULL);
        status = state != NULL ? json_string_value(json_object_get(state, "status")) : "?";
        status = status != NULL ? status : "?";
        completed = (long)json_integer_value(json_object_get(state, "completed"));
    }
    double seconds = now_s() - start;
    long rss_kb = peak_rss_kb(server.pid);
    double rate = completed / seconds;
    if (strcmp(status, "finished") == 0)
        printf("%-28s %7ld runs  %7.1f s  %8.0f runs/s  peak RSS %6.0f MiB\n", c->label, total,
               seconds, rate, rss_kb / 1024.0);
    else
        printf("%-28s %7ld of %ld runs in %.1f s (%s)  %8.0f runs/s  peak RSS %6.0f MiB  "
               "-> whole batch ~%.0f s\n",
               c->label, completed, total, seconds, status, rate, rss_kb / 1024.0,
               rate > 0 ? total / rate : 0.0);
    fflush(stdout);
    snprintf(path, sizeof path, "/api/v1/batch-jobs/%s/cancel", id);
    json_decref(call(&server, token, "POST", path, NULL));
    json_decref(state);
    json_decref(job);
    lever_proc_stop(&server);
    return 0;
}

int main(int argc, char **argv)
{
    const char *timeout_text = getenv("LEVER_BENCH_TIMEOUT_S");
    double timeout_s = timeout_text != NULL ? atof(timeout_text) : 300;
    char etf[1024], token[128];
    snprintf(etf, sizeof etf, "%s/data/etf", lever_test_env("LEVER_SHARED"));
    const char *migrate[] = {"migrate", NULL}, *import[] = {"bars", "import", etf, NULL};
    if (lever_run(migrate, NULL, NULL, 0, NULL, 0) != 0 ||
        lever_run(import, NULL, NULL, 0, NULL, 0) != 0 ||
        lever_create_user("bench-batch", token, sizeof token) < 0) {
        fprintf(stderr, "bench_batch: cannot migrate, import bars or create the user\n");
        return 1;
    }
    static const struct bench_case cases[] = {
        {"sma-switch 10k slice", "batch-sma-switch", 100},
        {"sma-switch 200k", "batch-sma-switch", 0},
        {"complex-batch 10k slice", "complex-batch", 5},
        {"complex-batch 200k", "complex-batch", 0},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (argc < 2 || strstr(cases[i].label, argv[1]) != NULL) /* a filter, e.g. "10k" */
            rc |= run_case(&cases[i], token, timeout_s) != 0;
    return rc;
}
