/* files.c — reading a whole file into memory, with errors as values. */
#include "cli/files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *lv_read_file(const char *path, size_t *len, int *missing, struct lv_error *err)
{
    if (missing != NULL)
        *missing = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (missing != NULL)
            *missing = errno == ENOENT;
        lv_fail(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        used += fread(buf + used, 1, cap - used - 1, f);
        if (used < cap - 1)
            break; /* end of file or an error, told apart below */
        char *grown = realloc(buf, cap * 2);
        if (grown == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf == NULL) {
        fclose(f);
        lv_fail(err, "%s: out of memory", path);
        return NULL;
    }
    if (ferror(f)) {
        int saved = errno;
        fclose(f);
        free(buf);
        lv_fail(err, "%s: %s", path, strerror(saved));
        return NULL;
    }
    fclose(f);
    buf[used] = '\0';
    *len = used;
    return buf;
}
