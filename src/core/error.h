/* error.h — errors returned as values: a status code plus a message a person can act on.
 * Functions that can fail take a `struct lv_error *` (may be NULL) and return 0 or -1. */
#ifndef LEVER_CORE_ERROR_H
#define LEVER_CORE_ERROR_H

#define LV_ERROR_MSG 512

struct lv_error {
    char message[LV_ERROR_MSG];
};

/* Formats the message into err (when err is not NULL) and returns -1, so callers can write
 * `return lv_fail(err, "symbol %s has no bars", sym);`. */
int lv_fail(struct lv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
