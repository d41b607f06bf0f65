/* error.c — formatting of error values. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

int lv_fail(struct lv_error *err, const char *fmt, ...)
{
    if (err != NULL) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, args);
        va_end(args);
    }
    return -1;
}
