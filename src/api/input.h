/* input.h — checks on JSON request bodies shared by the handlers: an object with only known
 * members, strings of bounded length without control characters. Every problem is
 * collected (JSON Pointer + message) so one 400 names every bad field at once. */
#ifndef LEVER_API_INPUT_H
#define LEVER_API_INPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/problems.h"
#include "http/http.h"

/* Adds a problem when `body` is not an object ("/": must be a JSON object), and one per
 * member whose name is not in `allowed` (NULL-terminated). Returns 0 when body is an
 * object, -1 otherwise. */
int lv_input_object(const json_t *body, const char *const *allowed, struct lv_problems *problems);

/* Reads member `field` of `body` as a string of min_chars..max_chars characters (UTF-8 code
 * points) with no control characters. Returns it (borrowed from body), or NULL when it is
 * absent (a problem only when `required`) or invalid (a problem naming the field). null
 * counts as absent. */
const char *lv_input_string(const json_t *body, const char *field, size_t min_chars,
                            size_t max_chars, bool required, struct lv_problems *problems);

/* Answers 400 validation_failed listing every problem, then frees the list. */
void lv_input_reject(struct lv_req *req, struct lv_problems *problems);

#endif
