/* problems.h — a growable list of (JSON Pointer, message) pairs: validation reports every
 * problem at once rather than stopping at the first. */
#ifndef LEVER_CORE_PROBLEMS_H
#define LEVER_CORE_PROBLEMS_H

#define LV_PATH_MAX    256
#define LV_PROBLEM_MSG 256

struct lv_problem {
    char path[LV_PATH_MAX];       /* JSON Pointer, e.g. "/elements/0/conditions/1/threshold" */
    char message[LV_PROBLEM_MSG]; /* plain sentence, e.g. must be a number, got "50abc" */
};

/* Zero-initialise before use; owns its items (free with lv_problems_free). */
struct lv_problems {
    struct lv_problem *items;
    int count;
    int cap;
};

/* Appends a problem. On allocation failure the problem is dropped (the list keeps what
 * it has); callers refuse input whenever count > 0. */
void lv_problems_add(struct lv_problems *list, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lv_problems_free(struct lv_problems *list);

#endif
