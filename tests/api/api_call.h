/* api_call.h — shared by the library, isolation and OpenAPI suites: JSON calls to a running
 * `lever serve`, status checks that print the answer when they fail, and one-value SQL reads. */
#ifndef LEVER_TESTS_API_CALL_H
#define LEVER_TESTS_API_CALL_H

#include <jansson.h>
#include <stdbool.h>

#include "lever_proc.h"

/* Sends `body` (may be NULL) as JSON with `token` (may be NULL) to proc's base URL + path.
 * Stores the status and returns the parsed answer (new reference; NULL when the body is
 * empty or not JSON). Fails the test when no HTTP answer came. */
json_t *api_call(const struct lever_proc *proc, const char *token, const char *method,
                 const char *path, const char *body, long *status);

/* The same, failing the test (with the answer in the message) unless the status is
 * `expected`. */
json_t *api_expect(const struct lever_proc *proc, const char *token, const char *method,
                   const char *path, const char *body, long expected);

/* printf-style path, for ids: api_path(buf, "/api/v1/strategies/%d", id). Returns buf. */
char *api_path(char buf[512], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when `answer` is the error envelope with this code and a details item at `path`
 * (path NULL: the code alone is checked). */
bool api_error_has(const json_t *answer, const char *code, const char *path);

/* Runs one SQL statement with up to one parameter on DATABASE_URL and returns the first
 * column of the first row as an integer (fails the test on any error). */
long db_long(const char *sql, const char *param);

/* Runs one SQL statement with up to one parameter on DATABASE_URL (fails the test on error). */
void db_exec(const char *sql, const char *param);

#endif
