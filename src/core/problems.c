/* problems.c — growable list of validation problems. */
#include "core/problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lv_problems_add(struct lv_problems *list, const char *path, const char *fmt, ...)
{
    if (list->count == list->cap) {
        int cap = list->cap ? list->cap * 2 : 8;
        struct lv_problem *items = realloc(list->items, (size_t)cap * sizeof *items);
        if (items == NULL)
            return; /* the list keeps what it has; callers refuse input on count > 0 */
        list->items = items;
        list->cap = cap;
    }
    struct lv_problem *p = &list->items[list->count++];
    snprintf(p->path, sizeof p->path, "%s", path);
    va_list args;
    va_start(args, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, args);
    va_end(args);
}

void lv_problems_free(struct lv_problems *list)
{
    free(list->items);
    memset(list, 0, sizeof *list);
}
