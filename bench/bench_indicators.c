/* bench_indicators.c — nanoseconds per bar of every indicator (default parameters) on SPY's
 * full history. Usage: bench_indicators [shared-dir]  (else $LEVER_SHARED, else defaults). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/indicators.h"
#include "csv_table.h"

/* Enough repetitions for ~10^7 bars per indicator: timings stable to a few percent. */
#define REPETITIONS 1200

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Times REPETITIONS computations of one indicator; returns ns per bar, or -1 on error. */
static double time_indicator(enum lv_ind kind, const struct lv_bars_view *bars, double *out,
                             double *scratch)
{
    struct lv_ind_params params;
    struct lv_error err;
    lv_ind_default_params(kind, &params);
    if (lv_ind_compute(kind, &params, bars, out, scratch, &err) != 0) { /* warm-up */
        fprintf(stderr, "%s: %s\n", lv_ind_spec(kind)->name, err.message);
        return -1;
    }
    double start = now_ns();
    for (int r = 0; r < REPETITIONS; r++)
        lv_ind_compute(kind, &params, bars, out, scratch, NULL);
    return (now_ns() - start) / ((double)REPETITIONS * (double)bars->n);
}

int main(int argc, char **argv)
{
    char path[1024];
    if (argc > 1)
        snprintf(path, sizeof path, "%s/data/etf/SPY.csv", argv[1]);
    else
        csv_shared_path("data/etf/SPY.csv", path, sizeof path);
    struct csv_table prices;
    if (csv_table_load(path, &prices) != 0) {
        csv_table_free(&prices);
        return 1;
    }
    struct lv_bars_view bars = {
        .open = csv_table_column(&prices, "open"),
        .high = csv_table_column(&prices, "high"),
        .low = csv_table_column(&prices, "low"),
        .close = csv_table_column(&prices, "close"),
        .volume = csv_table_column(&prices, "volume"),
        .n = prices.n_rows,
    };
    /* Owned here: one output and the largest scratch any indicator asks for. */
    double *out = malloc(bars.n * sizeof *out);
    double *scratch = malloc(3 * bars.n * sizeof *scratch);
    if (out == NULL || scratch == NULL || bars.close == NULL) {
        fprintf(stderr, "out of memory or malformed %s\n", path);
        return 1;
    }

    printf("%zu bars of SPY, %d repetitions, default parameters\n", bars.n, REPETITIONS);
    double total = 0;
    int status = 0;
    for (int k = 0; k < LV_IND_COUNT; k++) {
        double ns = time_indicator((enum lv_ind)k, &bars, out, scratch);
        if (ns < 0) {
            status = 1;
            continue;
        }
        printf("%-18s %6.2f ns/bar\n", lv_ind_spec((enum lv_ind)k)->name, ns);
        total += ns;
    }
    printf("%-18s %6.2f ns/bar (target <= 10)\n", "average", total / LV_IND_COUNT);
    free(out);
    free(scratch);
    csv_table_free(&prices);
    return status;
}
