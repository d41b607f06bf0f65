/* strategy_fields.h — reading the typed fields of a strategy document (strategy-language.md
 * §1–§2) while tracking the JSON Pointer of each, so that every problem names its field. */
#ifndef LEVER_CORE_STRATEGY_FIELDS_H
#define LEVER_CORE_STRATEGY_FIELDS_H

#include "core/strategy_internal.h"

/* Deep trees make long pointers (about 12 bytes a level); problems.h keeps the first
 * LV_PATH_MAX - 1 bytes of each. */
#define LV_PARSE_PATH_CAP 8192
#define LV_VAR_NAME_MAX   64

/* The state of one parse: where it is, what it builds, and what it found. */
struct lv_parse {
    struct lv_strategy *s;
    struct lv_problems *problems;
    struct lv_problems *warnings; /* may be NULL */
    char path[LV_PARSE_PATH_CAP]; /* JSON Pointer of the value being read */
    size_t path_len;
    bool reported_depth; /* the depth and size limits are reported once, not per element */
    bool reported_size;
    bool out_of_memory;
};

/* Appends "/segment" (escaped per RFC 6901) or "/index" to the path; each returns the length
 * to restore with lv_path_pop. */
size_t lv_path_push(struct lv_parse *p, const char *segment);
size_t lv_path_push_index(struct lv_parse *p, size_t index);
void lv_path_pop(struct lv_parse *p, size_t saved);

/* Reports a problem (or a warning) at the current path, extended by `field` unless NULL. */
void lv_parse_problem(struct lv_parse *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lv_parse_warning(struct lv_parse *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A JSON value as a message shows it: "50abc" (quoted, shortened), 1.5, an object, null. */
void lv_describe_json(const json_t *value, char *buf, size_t cap);

/* A whole string that is one finite decimal number, surrounding spaces allowed ("50abc",
 * "Infinity", "NaN", hex and "" are not). -0 is read as +0. */
bool lv_parse_decimal(const char *text, double *out);

/* A $variable reference (§8): the whole trimmed string is "$" + [A-Za-z_][A-Za-z0-9_]*.
 * lv_variable_name copies the name without the '$'. */
bool lv_variable_name(const char *text, char name[LV_VAR_NAME_MAX]);
bool lv_is_variable(const json_t *value);

/* Field readers. Each reports a wrong value itself, at the field's pointer. A field holding a
 * $variable counts as invalid without a problem of its own: lv_scan_variables reports it. */
enum lv_field_status { LV_FIELD_ABSENT, LV_FIELD_OK, LV_FIELD_INVALID };

/* A number written as a JSON number or a numeric string; null counts as absent. */
enum lv_field_status lv_read_number(struct lv_parse *p, const json_t *obj, const char *field,
                                    double *out);
/* A string naming one of `names`: its index, `fallback` when absent (a "missing" problem
 * when fallback < 0), or -1 after a problem. */
int lv_read_choice(struct lv_parse *p, const json_t *obj, const char *field,
                   const char *const *names, int n_names, int fallback);
/* A ticker: trimmed, upper-cased, printable ASCII without spaces, shorter than
 * LV_TICKER_MAX. Absent is a problem. */
bool lv_read_ticker(struct lv_parse *p, const json_t *obj, const char *field,
                    char out[LV_TICKER_MAX]);
/* An indicator name (indicators.h, case-insensitive, with aliases). Absent is a problem. */
bool lv_read_indicator(struct lv_parse *p, const json_t *obj, const char *field, enum lv_ind *out);
/* Canonical parameters of `ind`: defaults, overridden by `params_field` when it is a
 * non-empty object, else by the deprecated `period_field` string; then range-checked. */
bool lv_read_params(struct lv_parse *p, const json_t *obj, const char *params_field,
                    const char *period_field, enum lv_ind ind, struct lv_ind_params *out);
/* The series named by a ticker, an indicator and its parameters, interned; -1 after a
 * problem (every field is still checked, so all problems are reported). */
int lv_read_series(struct lv_parse *p, const json_t *obj, const char *ticker_field,
                   const char *ind_field, const char *params_field, const char *period_field);

/* Reports every $variable under `value` as unresolved (strings only; keys never are).
 * `depth` is the JSON nesting depth of `value`; deeper than the tree limit allows is not
 * scanned. */
void lv_scan_variables(struct lv_parse *p, const json_t *value, int depth);

#endif
