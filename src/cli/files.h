/* files.h — whole-file reading for the command line (src/core never touches files).
 * Used to load strategy documents and bar CSV files. */
#ifndef LEVER_CLI_FILES_H
#define LEVER_CLI_FILES_H

#include <stddef.h>

#include "core/error.h"

/* Reads the whole file at `path` into a new NUL-terminated buffer (free it with free());
 * *len receives its size without the NUL. Returns NULL with a message naming the file and
 * the system's reason ("data/XYZ.csv: No such file or directory"); *missing (may be NULL)
 * tells a file that does not exist apart from one that cannot be read. */
char *lv_read_file(const char *path, size_t *len, int *missing, struct lv_error *err);

#endif
