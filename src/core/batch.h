/* batch.h — variables and batches (strategy-language.md §8), the pure part: variable
 * definitions, `$name` references, run decoding, substitution, summary and CSV rows.
 *
 * A batch is a strategy document whose string fields may hold `$name` references, plus an
 * ordered list of variables, each with a list of values. Run i of the batch is the i-th
 * assignment of the cartesian product in odometer order (the first variable changes
 * slowest); it is decoded from i alone, so the product is never materialised.
 *
 * Typical use (one worker thread):
 *
 *     struct lv_batch_vars vars = {0};
 *     lv_batch_vars_parse(variables_json, "/variables", &vars, &problems);
 *     lv_batch_check_references(doc, "/strategy", &vars, &problems); // defined and used
 *     struct lv_batch_template *t = lv_batch_template_new(doc, &vars);
 *     int idx[LV_BATCH_MAX_VARS];
 *     for (long run = first; run < end; run++) {
 *         lv_batch_decode(&vars, run, idx);
 *         const json_t *bound = lv_batch_template_bind(t, idx); // doc with run's values
 *         ... compile and run `bound` ...
 *     }
 *     lv_batch_template_free(t);
 *     lv_batch_vars_free(&vars);
 */
#ifndef LEVER_CORE_BATCH_H
#define LEVER_CORE_BATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"
#include "core/problems.h"

#define LV_BATCH_NAME_MAX    64      /* longest variable name + NUL */
#define LV_BATCH_VALUE_MAX   256     /* longest value + NUL */
#define LV_BATCH_MAX_VARS    64      /* most variables in one batch */
#define LV_BATCH_MAX_VALUES  100000  /* most values in one variable */
#define LV_BATCH_DEFAULT_CAP 1000000 /* most runs in one batch unless the server says otherwise */
#define LV_BATCH_PREVIEW     25      /* assignments shown in assignments_preview */

/* ---- Variable definitions ----------------------------------------------------------------- */

struct lv_batch_var {
    char name[LV_BATCH_NAME_MAX]; /* lower case, without '$' */
    int n_values;
    char **values; /* owned, trimmed; never empty strings */
};

/* Zero-initialise; free with lv_batch_vars_free. */
struct lv_batch_vars {
    int n;
    struct lv_batch_var *vars;
};

void lv_batch_vars_free(struct lv_batch_vars *vars);

/* True when `name` (len bytes) is a valid variable name: [A-Za-z_][A-Za-z0-9_]*, at most
 * LV_BATCH_NAME_MAX - 1 characters. */
bool lv_batch_name_valid(const char *name, size_t len);

/* Reads `[{"name": "ticker", "values": ["SPY", "QQQ"]}, …]` (a leading '$' on a name is
 * accepted; values are strings or numbers; "count" is ignored, it is derived). Every bad item
 * adds a problem under `pointer` ("/variables/1/values/3"): not an array, bad or duplicate
 * name (case-insensitive), no values, a value that is empty, too long or not a string/number,
 * too many variables or values. Returns 0, or -1 when any problem was added (out is then
 * empty). */
int lv_batch_vars_parse(const json_t *array, const char *pointer, struct lv_batch_vars *out,
                        struct lv_problems *problems);

/* Index of the variable named `name` (len bytes, any case), or -1. */
int lv_batch_var_find(const struct lv_batch_vars *vars, const char *name, size_t len);

/* The variables as stored in batch_jobs.variables: [{"name", "values", "count"}, …]. */
json_t *lv_batch_vars_to_json(const struct lv_batch_vars *vars);

/* Typed values (variable lists): "ticker" (1–15 of A-Z 0-9 . - ^ / _ after upper-casing),
 * "number" (a finite decimal number, spaces around allowed) or "date" (YYYY-MM-DD, a real
 * day). */
enum lv_batch_type { LV_BATCH_TICKER, LV_BATCH_NUMBER, LV_BATCH_DATE };

/* Parses "ticker" | "number" | "date". Returns 0, or -1 for anything else. */
int lv_batch_type_parse(const char *text, enum lv_batch_type *out);

/* Checks and normalises a typed list's values: each must be a string (numbers are accepted
 * for "number") valid for the type; each bad one adds a problem at `pointer`/INDEX naming
 * the value. Returns a new array of the normalised strings (tickers upper-cased, values
 * trimmed), or NULL when any problem was added (or memory ran out: then a problem says so). */
json_t *lv_batch_typed_values(const json_t *values, enum lv_batch_type type, const char *pointer,
                              struct lv_problems *problems);

/* ---- References ---------------------------------------------------------------------------- */

/* When the whole trimmed `text` is `$name` with a valid name, sets *name and *len to the name
 * (inside text, without '$') and returns true. */
bool lv_batch_reference(const char *text, const char **name, size_t *len);

/* Walks `doc` (any JSON) and, for every string that is a reference: marks used[var] when the
 * variable is defined, or adds a problem "undefined variable $x" at its JSON Pointer
 * (`pointer` + the path inside doc). `used` has vars->n entries. */
void lv_batch_scan(const json_t *doc, const char *pointer, const struct lv_batch_vars *vars,
                   bool *used, struct lv_problems *problems);

/* Adds a problem at `pointer`/INDEX/name for each variable not marked used. Returns the
 * number of unused variables. */
int lv_batch_check_unused(const struct lv_batch_vars *vars, const bool *used, const char *pointer,
                          struct lv_problems *problems);

/* True when a top-level member of `doc` other than "elements" (start_date, end_date, other
 * options) holds a defined variable, so that options differ from run to run. */
bool lv_batch_options_vary(const json_t *doc, const struct lv_batch_vars *vars);

/* ---- Runs ---------------------------------------------------------------------------------- */

/* The number of runs: min(product of value counts, cap); *truncated = product > cap. With no
 * variables the product is 1 (one run of the plain strategy). */
long lv_batch_total(const struct lv_batch_vars *vars, long cap, bool *truncated);

/* Run `run`'s assignment as value indices, value_index[k] for variable k (mixed radix, the
 * last variable is the least significant digit). */
void lv_batch_decode(const struct lv_batch_vars *vars, long run, int *value_index);

/* The assignment as a JSON object {"name": "value", …} in definition order. */
json_t *lv_batch_assignment_json(const struct lv_batch_vars *vars, const int *value_index);

/* The first min(total, LV_BATCH_PREVIEW) assignments as a JSON array. */
json_t *lv_batch_preview(const struct lv_batch_vars *vars, long total);

/* Deep copy of `doc` with every reference string replaced by its variable's value (strings
 * naming undefined variables are kept as they are). Returns a new reference, or NULL when out
 * of memory. */
json_t *lv_batch_substitute(const json_t *doc, const struct lv_batch_vars *vars,
                            const int *value_index);

/* A private copy of a document that knows where its references are, so that binding a run
 * rewrites those strings in place instead of copying the document again. One per thread. */
struct lv_batch_template;

/* Returns NULL when out of memory. `vars` is borrowed and must outlive the template. */
struct lv_batch_template *lv_batch_template_new(const json_t *doc,
                                                const struct lv_batch_vars *vars);
void lv_batch_template_free(struct lv_batch_template *t);

/* Writes run values into the copy and returns it (borrowed, valid until the next bind or
 * the free; do not modify). Returns NULL when out of memory. */
const json_t *lv_batch_template_bind(struct lv_batch_template *t, const int *value_index);

/* How many reference strings the template rewrites for variable `var` (0 = unused). */
int lv_batch_template_uses(const struct lv_batch_template *t, int var);

/* ---- Summary ------------------------------------------------------------------------------- */

/* What the summary needs from one run. */
struct lv_batch_outcome {
    long run;
    bool failed;
    double total_return; /* NaN when the metric is undefined */
    double sharpe;       /* NaN when undefined */
};

struct lv_batch_summary {
    long total_runs, succeeded, failed;
    long best_run, worst_run, best_sharpe_run; /* -1 when there is none */
    double best_return, worst_return, best_sharpe;
    double avg_return, median_return; /* NaN without a successful run with a return */
};

/* Computes the summary of n outcomes (reorders nothing; allocates a scratch copy of the
 * returns for the median). Ties keep the lowest run index. Returns 0, or -1 when out of
 * memory. */
int lv_batch_summarize(const struct lv_batch_outcome *outcomes, size_t n,
                       struct lv_batch_summary *out);

/* The §8 summary object: total_runs, succeeded, failed, best and worst ({"run_index",
 * "variables", "metrics"} from `best` / `worst`, null when absent; both borrowed), avg_return,
 * median_return, best_sharpe (null when undefined). New reference or NULL. */
json_t *lv_batch_summary_to_json(const struct lv_batch_summary *summary, const json_t *best,
                                 const json_t *worst);

/* ---- CSV (§8 layout, RFC 4180) --------------------------------------------------------------- */

/* A growable text buffer. Zero-initialise; free with lv_batch_buf_free. Appends never fail
 * silently: they return -1 when out of memory and leave the buffer as it was. */
struct lv_batch_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len, cap;
};

int lv_batch_buf_append(struct lv_batch_buf *buf, const char *text, size_t len);
void lv_batch_buf_free(struct lv_batch_buf *buf);

/* Appends one field, quoted when it holds a comma, a quote, CR or LF (quotes doubled). */
int lv_batch_csv_field(struct lv_batch_buf *buf, const char *text);

/* Appends the header line: run_index, the variable names in definition order, the metric
 * keys of §7, error; ends with CRLF. */
int lv_batch_csv_header(struct lv_batch_buf *buf, const struct lv_batch_vars *vars);

/* Appends one row: run_index, the values of `assignment` for each variable (by name; empty
 * when absent), each metric of `metrics` (numbers printed in shortest round-trip form,
 * empty when null or absent), then metrics' "error" string if any; ends with CRLF. */
int lv_batch_csv_row(struct lv_batch_buf *buf, const struct lv_batch_vars *vars, long run_index,
                     const json_t *assignment, const json_t *metrics);

#endif
