/* csv_table.h — reads the shared test data's numeric CSV files (price and golden indicator
 * files: a date column, then numbers or empty cells) for tests and benchmarks only. */
#ifndef LEVER_TESTS_CSV_TABLE_H
#define LEVER_TESTS_CSV_TABLE_H

#include <stddef.h>

/* Every column after the date, column by column; an empty cell reads as NaN. */
struct csv_table {
    size_t n_rows, n_cols;
    char **names;    /* n_cols header names */
    double **column; /* n_cols arrays of n_rows values */
};

/* Reads the file at `path`. Returns 0, or -1 with a message on stderr. Free with
 * csv_table_free (also safe on a table whose load failed). */
int csv_table_load(const char *path, struct csv_table *table);
void csv_table_free(struct csv_table *table);

/* The values of the column named `name`, or NULL. */
const double *csv_table_column(const struct csv_table *table, const char *name);

/* Writes the path of `relative` inside the shared data directory: $LEVER_SHARED, else
 * $LEVER_SOURCE_ROOT/../shared, else /work/shared. Returns buf. */
const char *csv_shared_path(const char *relative, char *buf, size_t size);

#endif
