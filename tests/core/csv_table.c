/* csv_table.c — see csv_table.h. A straightforward reader: the files are small, well formed
 * and ours, so any surprise is reported and treated as a failed load. */
#include "csv_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits `line` in place at commas (the date cell is field 0); returns the field count. */
static size_t split_fields(char *line, char **fields, size_t max_fields)
{
    size_t count = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *cell = line; count < max_fields;) {
        fields[count++] = cell;
        char *comma = strchr(cell, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        cell = comma + 1;
    }
    return count;
}

static int parse_header(char *line, struct csv_table *table)
{
    char *fields[256];
    size_t count = split_fields(line, fields, 256);
    if (count < 2)
        return -1;
    table->n_cols = count - 1;
    table->names = calloc(table->n_cols, sizeof *table->names);
    table->column = calloc(table->n_cols, sizeof *table->column);
    if (table->names == NULL || table->column == NULL)
        return -1;
    for (size_t c = 0; c < table->n_cols; c++) {
        table->names[c] = strdup(fields[c + 1]);
        if (table->names[c] == NULL)
            return -1;
    }
    return 0;
}

static int grow_columns(struct csv_table *table, size_t capacity)
{
    for (size_t c = 0; c < table->n_cols; c++) {
        double *bigger = realloc(table->column[c], capacity * sizeof(double));
        if (bigger == NULL)
            return -1;
        table->column[c] = bigger;
    }
    return 0;
}

static int parse_row(char *line, struct csv_table *table, size_t row)
{
    char *fields[256];
    if (split_fields(line, fields, 256) != table->n_cols + 1)
        return -1;
    for (size_t c = 0; c < table->n_cols; c++) {
        const char *cell = fields[c + 1];
        char *end;
        double value = *cell == '\0' ? NAN : strtod(cell, &end);
        if (*cell != '\0' && *end != '\0')
            return -1;
        table->column[c][row] = value;
    }
    return 0;
}

int csv_table_load(const char *path, struct csv_table *table)
{
    memset(table, 0, sizeof *table);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t line_cap = 0, capacity = 0;
    int status = getline(&line, &line_cap, file) > 0 ? parse_header(line, table) : -1;
    while (status == 0 && getline(&line, &line_cap, file) > 0) {
        if (table->n_rows == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            status = grow_columns(table, capacity);
        }
        if (status == 0)
            status = parse_row(line, table, table->n_rows++);
    }
    if (status != 0)
        fprintf(stderr, "%s: malformed near data row %zu\n", path, table->n_rows);
    free(line);
    fclose(file);
    return status;
}

void csv_table_free(struct csv_table *table)
{
    for (size_t c = 0; c < table->n_cols; c++) {
        if (table->names != NULL)
            free(table->names[c]);
        if (table->column != NULL)
            free(table->column[c]);
    }
    free(table->names);
    free(table->column);
    memset(table, 0, sizeof *table);
}

const double *csv_table_column(const struct csv_table *table, const char *name)
{
    for (size_t c = 0; c < table->n_cols; c++) {
        if (strcmp(table->names[c], name) == 0)
            return table->column[c];
    }
    return NULL;
}

const char *csv_shared_path(const char *relative, char *buf, size_t size)
{
    const char *shared = getenv("LEVER_SHARED");
    const char *source_root = getenv("LEVER_SOURCE_ROOT");
    if (shared != NULL && *shared != '\0')
        snprintf(buf, size, "%s/%s", shared, relative);
    else if (source_root != NULL && *source_root != '\0')
        snprintf(buf, size, "%s/../shared/%s", source_root, relative);
    else
        snprintf(buf, size, "/work/shared/%s", relative);
    return buf;
}
