/* sample_data.c — loading the shared ETF CSV files into a market for tests and benchmarks. */
#include "sample_data.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bars_csv.h"
#include "csv_table.h"

char *sample_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (text != NULL && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(f);
    if (text != NULL) {
        text[size] = '\0';
        *len = (size_t)size;
    }
    return text;
}

/* Adds one SYMBOL.csv to the builder. */
static int add_file(struct lv_market_builder *builder, const char *dir, const char *name)
{
    size_t len = strlen(name);
    char path[2048], symbol[LV_SYMBOL_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(symbol, sizeof symbol, "%.*s", (int)(len - 4), name);
    size_t size = 0;
    char *text = sample_read_file(path, &size);
    struct lv_bar_table table = {0};
    struct lv_error err = {""};
    int rc = text != NULL ? lv_bars_csv_parse(text, size, path, symbol, &table, &err) : -1;
    free(text);
    if (rc == 0) {
        const struct lv_bar_series *s = &table.series[0];
        rc = lv_market_builder_add(builder, symbol, s->day, s->open, s->high, s->low, s->close,
                                   s->volume, s->n, &err);
    }
    lv_bar_table_free(&table);
    if (rc != 0)
        fprintf(stderr, "sample data: %s: %s\n", path, text == NULL ? "unreadable" : err.message);
    return rc;
}

struct lv_market *sample_etf_market(void)
{
    char dir[1024];
    csv_shared_path("data/etf", dir, sizeof dir);
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "sample data: cannot open %s\n", dir);
        return NULL;
    }
    struct lv_market_builder *builder = lv_market_builder_new();
    struct dirent *entry;
    int failed = builder == NULL;
    while (!failed && (entry = readdir(d)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len >= 5 && strcmp(entry->d_name + len - 4, ".csv") == 0)
            failed = add_file(builder, dir, entry->d_name) != 0;
    }
    closedir(d);
    if (failed) {
        lv_market_builder_free(builder);
        return NULL;
    }
    struct lv_error err;
    struct lv_market *market = lv_market_finalize(builder, &err);
    if (market == NULL)
        fprintf(stderr, "sample data: %s\n", err.message);
    return market;
}
