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
    struct lv_slots *slots; /* template mode (strategy_internal.h), or NULL */
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

/* Text checks shared by the field readers and by binding (strategy_bind.c). */

/* A ticker: trimmed, upper-cased, printable ASCII without spaces, shorter than
 * LV_TICKER_MAX. */
enum lv_ticker_status { LV_TICKER_OK, LV_TICKER_EMPTY, LV_TICKER_TOO_LONG, LV_TICKER_BAD_CHAR };
enum lv_ticker_status lv_ticker_from_text(const char *text, char out[LV_TICKER_MAX]);

/* One value of a `params` object given as text, for parameter `index` of `ind`: false when it
 * is not a number (or not "true"/"false" for a boolean parameter). *given is false when the
 * text is blank, which keeps the default. */
bool lv_param_from_text(enum lv_ind ind, int index, const char *text, double *out, bool *given);

/* The deprecated period string: one number, or numbers joined by '-' for the indicators that
 * take several (e.g. MACD "12-26-9"). Sets given[i] for each parameter it sets; false when
 * a part is not a number. */
bool lv_period_from_text(enum lv_ind ind, const char *text, struct lv_ind_params *params,
                         bool given[LV_IND_MAX_PARAMS]);

/* Parameter `index` checked on its own, the others at their defaults: a problem then points
 * at the value that causes it. */
int lv_param_check_alone(enum lv_ind ind, const struct lv_ind_params *params, int index,
                         struct lv_error *err);

/* Field readers. Each reports a wrong value itself, at the field's pointer. A field holding a
 * $variable counts as LV_FIELD_VARIABLE without a problem of its own: lv_scan_variables
 * reports it, or in template mode the caller records a slot for it. */
enum lv_field_status { LV_FIELD_ABSENT, LV_FIELD_OK, LV_FIELD_INVALID, LV_FIELD_VARIABLE };

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

/* Template mode (no-ops otherwise). lv_record_slot records the variable that `value` (a
 * string) names as a pending slot (an undefined name records nothing: the scan reports
 * it); lv_claim_slots gives the pending slots their owner; lv_drop_slots forgets them after
 * a problem; lv_note_structural marks a variable that decides the tree's shape. */
void lv_record_slot(struct lv_parse *p, const json_t *value, enum lv_slot_field field, int param);
void lv_claim_slots(struct lv_parse *p, enum lv_slot_owner owner, int target);
void lv_drop_slots(struct lv_parse *p);
void lv_note_structural(struct lv_parse *p);
/* True when the weight of `node` is a variable. */
bool lv_weight_is_variable(const struct lv_parse *p, int node);

/* Reports every $variable under `value` as unresolved (strings only; keys never are); in
 * template mode, marks defined names used and reports undefined ones. `depth` is the JSON
 * nesting depth of `value`; deeper than the tree limit allows is not scanned. */
void lv_scan_variables(struct lv_parse *p, const json_t *value, int depth);

#endif
