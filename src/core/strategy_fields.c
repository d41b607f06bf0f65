/* strategy_fields.c — reading the typed fields of a strategy document with their JSON
 * Pointers (see strategy_fields.h): numbers, choices, tickers, indicators and parameters. */
#include "core/strategy_fields.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The variable scan walks raw JSON, about two levels per element level plus a condition's. */
#define SCAN_MAX_DEPTH (2 * LV_STRATEGY_MAX_DEPTH + 8)

/* ---- Paths and problems ------------------------------------------------------------------ */

/* Appends "/segment", escaped per RFC 6901; returns the length to restore with lv_path_pop. */
size_t lv_path_push(struct lv_parse *p, const char *segment)
{
    size_t saved = p->path_len, len = p->path_len;
    if (len + 1 < LV_PARSE_PATH_CAP)
        p->path[len++] = '/';
    for (const char *c = segment; *c != '\0' && len + 2 < LV_PARSE_PATH_CAP; c++) {
        if (*c == '~' || *c == '/') {
            p->path[len++] = '~';
            p->path[len++] = *c == '~' ? '0' : '1';
        } else {
            p->path[len++] = *c;
        }
    }
    p->path[len] = '\0';
    p->path_len = len;
    return saved;
}

size_t lv_path_push_index(struct lv_parse *p, size_t index)
{
    char segment[24];
    snprintf(segment, sizeof segment, "%zu", index);
    return lv_path_push(p, segment);
}

void lv_path_pop(struct lv_parse *p, size_t saved)
{
    p->path_len = saved;
    p->path[saved] = '\0';
}

static void vnote(struct lv_parse *p, struct lv_problems *list, const char *field, const char *fmt,
                  va_list args)
{
    if (list == NULL)
        return;
    char message[LV_PROBLEM_MSG];
    vsnprintf(message, sizeof message, fmt, args);
    size_t saved = p->path_len;
    if (field != NULL)
        lv_path_push(p, field);
    lv_problems_add(list, p->path, "%s", message);
    lv_path_pop(p, saved);
}

/* Reports a problem at the current path, extended by `field` unless it is NULL. */
void lv_parse_problem(struct lv_parse *p, const char *field, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vnote(p, p->problems, field, fmt, args);
    va_end(args);
}

void lv_parse_warning(struct lv_parse *p, const char *field, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vnote(p, p->warnings, field, fmt, args);
    va_end(args);
}

/* A JSON value as a message shows it: "50abc" (quoted, shortened), 1.5, an object, null. */
void lv_describe_json(const json_t *value, char *buf, size_t cap)
{
    switch (json_typeof(value)) {
    case JSON_STRING: {
        const char *text = json_string_value(value);
        snprintf(buf, cap, "\"%.40s%s\"", text, strlen(text) > 40 ? "..." : "");
        break;
    }
    case JSON_INTEGER:
    case JSON_REAL:
        snprintf(buf, cap, "%.17g", json_number_value(value));
        break;
    case JSON_OBJECT:
        snprintf(buf, cap, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, cap, "an array");
        break;
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        break;
    default:
        snprintf(buf, cap, "null");
        break;
    }
}

/* ---- Text -------------------------------------------------------------------------------- */

static const char *skip_space(const char *c)
{
    while (isspace((unsigned char)*c))
        c++;
    return c;
}

static const char *skip_digits(const char *c, int *n_digits)
{
    while (isdigit((unsigned char)*c)) {
        c++;
        (*n_digits)++;
    }
    return c;
}

/* A whole string that is one finite decimal number, surrounding spaces allowed. strtod alone
 * would take "50abc", "inf", "nan" and hex; the grammar is checked first. */
bool lv_parse_decimal(const char *text, double *out)
{
    const char *c = skip_space(text), *start = c;
    int n_digits = 0, n_exp_digits = 0;
    if (*c == '+' || *c == '-')
        c++;
    c = skip_digits(c, &n_digits);
    if (*c == '.')
        c = skip_digits(c + 1, &n_digits);
    if (n_digits == 0)
        return false;
    if (*c == 'e' || *c == 'E') {
        c++;
        if (*c == '+' || *c == '-')
            c++;
        c = skip_digits(c, &n_exp_digits);
        if (n_exp_digits == 0)
            return false;
    }
    if (*skip_space(c) != '\0')
        return false;
    double value = strtod(start, NULL);
    if (!isfinite(value))
        return false;
    *out = value + 0.0; /* folds -0 into +0, so equal parameters hash alike */
    return true;
}

/* True when the whole trimmed string is a $variable reference (strategy-language.md §8);
 * copies the name, without the '$'. */
bool lv_variable_name(const char *text, char name[LV_VAR_NAME_MAX])
{
    const char *c = skip_space(text);
    if (*c++ != '$' || !(isalpha((unsigned char)*c) || *c == '_'))
        return false;
    size_t len = 0;
    while (isalnum((unsigned char)c[len]) || c[len] == '_')
        len++;
    if (*skip_space(c + len) != '\0')
        return false;
    snprintf(name, LV_VAR_NAME_MAX, "%.*s", (int)len, c);
    return true;
}

bool lv_is_variable(const json_t *value)
{
    char name[LV_VAR_NAME_MAX];
    return json_is_string(value) && lv_variable_name(json_string_value(value), name);
}

/* ---- Field readers ----------------------------------------------------------------------- */

/* The value of a number field (see lv_read_number). */
static enum lv_field_status number_value(struct lv_parse *p, const json_t *value, const char *field,
                                         double *out)
{
    if (json_is_number(value)) {
        *out = json_number_value(value) + 0.0; /* jansson numbers are always finite */
        return LV_FIELD_OK;
    }
    if (lv_is_variable(value))
        return LV_FIELD_VARIABLE;
    if (json_is_string(value) && lv_parse_decimal(json_string_value(value), out))
        return LV_FIELD_OK;
    char got[64];
    lv_describe_json(value, got, sizeof got);
    lv_parse_problem(p, field, "must be a number, got %s", got);
    return LV_FIELD_INVALID;
}

/* A number written as a JSON number or a numeric string; null counts as absent. */
enum lv_field_status lv_read_number(struct lv_parse *p, const json_t *obj, const char *field,
                                    double *out)
{
    const json_t *value = json_object_get(obj, field);
    if (value == NULL || json_is_null(value))
        return LV_FIELD_ABSENT;
    return number_value(p, value, field, out);
}

/* A string field naming one of `names`; returns its index, `fallback` when absent (a
 * "missing" problem when fallback < 0), or -1 after a problem. */
int lv_read_choice(struct lv_parse *p, const json_t *obj, const char *field,
                   const char *const *names, int n_names, int fallback)
{
    const json_t *value = json_object_get(obj, field);
    if (value == NULL || json_is_null(value)) {
        if (fallback < 0)
            lv_parse_problem(p, field, "missing");
        return fallback;
    }
    if (lv_is_variable(value)) {
        lv_note_structural(p);
        return -1;
    }
    if (json_is_string(value))
        for (int i = 0; i < n_names; i++)
            if (strcmp(json_string_value(value), names[i]) == 0)
                return i;
    char got[64], expected[160] = "";
    lv_describe_json(value, got, sizeof got);
    for (int i = 0; i < n_names; i++) {
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof expected - used, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    lv_parse_problem(p, field, "must be one of %s, got %s", expected, got);
    return -1;
}

enum lv_ticker_status lv_ticker_from_text(const char *text, char out[LV_TICKER_MAX])
{
    text = skip_space(text);
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0)
        return LV_TICKER_EMPTY;
    if (len >= LV_TICKER_MAX)
        return LV_TICKER_TOO_LONG;
    for (size_t i = 0; i < len; i++) {
        if (!isgraph((unsigned char)text[i]))
            return LV_TICKER_BAD_CHAR;
        out[i] = (char)toupper((unsigned char)text[i]);
    }
    out[len] = '\0';
    return LV_TICKER_OK;
}

/* A ticker symbol: trimmed, upper-cased, printable ASCII without spaces. In template mode a
 * variable reads as an empty placeholder, to be bound later. */
bool lv_read_ticker(struct lv_parse *p, const json_t *obj, const char *field,
                    char out[LV_TICKER_MAX])
{
    const json_t *value = json_object_get(obj, field);
    if (value == NULL || json_is_null(value)) {
        lv_parse_problem(p, field, "missing");
        return false;
    }
    if (lv_is_variable(value)) {
        lv_record_slot(p, value, LV_SLOT_TICKER, -1);
        out[0] = '\0';
        return p->slots != NULL;
    }
    if (!json_is_string(value)) {
        char got[64];
        lv_describe_json(value, got, sizeof got);
        lv_parse_problem(p, field, "must be a ticker symbol, got %s", got);
        return false;
    }
    const char *text = json_string_value(value);
    switch (lv_ticker_from_text(text, out)) {
    case LV_TICKER_OK:
        return true;
    case LV_TICKER_EMPTY:
        lv_parse_problem(p, field, "must not be empty");
        return false;
    case LV_TICKER_TOO_LONG:
        lv_parse_problem(p, field, "is too long: a ticker has at most %d characters",
                         LV_TICKER_MAX - 1);
        return false;
    case LV_TICKER_BAD_CHAR:
        break;
    }
    text = skip_space(text);
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    lv_parse_problem(p, field, "must be a ticker symbol, got \"%.*s\"", (int)len, text);
    return false;
}

bool lv_read_indicator(struct lv_parse *p, const json_t *obj, const char *field, enum lv_ind *out)
{
    const json_t *value = json_object_get(obj, field);
    if (value == NULL || json_is_null(value)) {
        lv_parse_problem(p, field, "missing");
        return false;
    }
    if (lv_is_variable(value)) {
        lv_note_structural(p);
        return false;
    }
    char name[48] = "";
    if (json_is_string(value)) {
        const char *text = skip_space(json_string_value(value));
        snprintf(name, sizeof name, "%s", text);
        for (size_t len = strlen(name); len > 0 && isspace((unsigned char)name[len - 1]); len--)
            name[len - 1] = '\0';
        if (lv_ind_from_name(name, out))
            return true;
    }
    char got[64];
    lv_describe_json(value, got, sizeof got);
    lv_parse_problem(p, field, "unknown indicator %s", got);
    return false;
}

/* ---- Indicator parameters ---------------------------------------------------------------- */

/* Where a parameter value came from, to point a later range check at it. */
struct param_source {
    const char *field; /* "params" or "period" (or their right-hand / config twins) */
    const char *key;   /* the key inside `params`, or NULL for the period string */
};

/* The parameters the deprecated `period` string lists, in the reference's order (§1.12). */
static int period_string_names(enum lv_ind ind, const char **names)
{
    static const char *const macd[] = {"fastperiod", "slowperiod", "signalperiod"};
    static const char *const bbands[] = {"period", "nbdevup", "nbdevdn"};
    static const char *const stoch[] = {"fastk_period", "slowk_period", "slowd_period",
                                        "slowk_matype", "slowd_matype"};
    static const char *const single[] = {"period"};
    const char *const *list = single;
    int n = 1;
    switch (ind) {
    case LV_IND_MACD:
    case LV_IND_MACD_LINE:
    case LV_IND_MACD_SIGNAL:
    case LV_IND_MACD_HIST:
    case LV_IND_PPO_SIGNAL:
    case LV_IND_PPO_HIST:
        list = macd, n = 3;
        break;
    case LV_IND_PPO_LINE:
        list = macd, n = 2;
        break;
    case LV_IND_BBANDS_UPPER:
    case LV_IND_BBANDS_MIDDLE:
    case LV_IND_BBANDS_LOWER:
        list = bbands, n = 3;
        break;
    case LV_IND_STOCH_K:
        list = stoch, n = 5;
        break;
    default:
        break;
    }
    for (int i = 0; i < n; i++)
        names[i] = list[i];
    return n;
}

static void set_param(struct lv_ind_params *params, struct param_source *sources, int index,
                      double value, struct param_source source)
{
    params->v[index] = value;
    sources[index] = source;
}

bool lv_param_from_text(enum lv_ind ind, int index, const char *text, double *out, bool *given)
{
    *given = *skip_space(text) != '\0';
    if (!*given)
        return true;
    if (!lv_ind_spec(ind)->params[index].boolean)
        return lv_parse_decimal(text, out);
    bool on = strcmp(text, "true") == 0;
    *out = on ? 1.0 : 0.0;
    return on || strcmp(text, "false") == 0;
}

/* One value of a `params` object into its slot; an empty string keeps the default. */
static void read_param_value(struct lv_parse *p, enum lv_ind ind, const char *key,
                             const json_t *value, struct lv_ind_params *params,
                             struct param_source *sources, const char *field)
{
    int index = lv_ind_param_index(ind, key);
    if (index < 0) {
        lv_parse_problem(p, key, "unknown parameter \"%s\" for %s", key, lv_ind_spec(ind)->name);
        return;
    }
    if (lv_is_variable(value)) {
        lv_record_slot(p, value, LV_SLOT_PARAM, index);
        return;
    }
    bool boolean = lv_ind_spec(ind)->params[index].boolean, given = true, ok;
    double number = 0;
    if (json_is_string(value))
        ok = lv_param_from_text(ind, index, json_string_value(value), &number, &given);
    else if (boolean)
        ok = json_is_boolean(value), number = json_is_true(value) ? 1.0 : 0.0;
    else
        ok = json_is_number(value), number = json_number_value(value) + 0.0;
    if (ok && given) {
        set_param(params, sources, index, number, (struct param_source){field, key});
    } else if (!ok) {
        char got[64];
        lv_describe_json(value, got, sizeof got);
        lv_parse_problem(
            p, key, boolean ? "must be true or false, got %s" : "must be a number, got %s", got);
    }
}

bool lv_period_from_text(enum lv_ind ind, const char *text, struct lv_ind_params *params,
                         bool given[LV_IND_MAX_PARAMS])
{
    const char *names[LV_IND_MAX_PARAMS];
    int n_names = period_string_names(ind, names);
    double number;
    if (lv_parse_decimal(text, &number)) {
        int index = lv_ind_param_index(ind, names[0]);
        if (index >= 0)
            params->v[index] = number, given[index] = true;
        return true;
    }
    const char *part = text;
    for (int i = 0; i < n_names && part != NULL; i++) {
        const char *dash = strchr(part, '-');
        char piece[64];
        snprintf(piece, sizeof piece, "%.*s", dash ? (int)(dash - part) : (int)strlen(part), part);
        part = dash ? dash + 1 : NULL;
        if (*skip_space(piece) == '\0')
            continue;
        if (!lv_parse_decimal(piece, &number))
            return false;
        int index = lv_ind_param_index(ind, names[i]);
        if (index >= 0)
            params->v[index] = number, given[index] = true;
    }
    return true;
}

/* The deprecated period string (see lv_period_from_text), or a plain JSON number. */
static void read_period_string(struct lv_parse *p, const json_t *obj, const char *field,
                               enum lv_ind ind, struct lv_ind_params *params,
                               struct param_source *sources)
{
    const json_t *value = json_object_get(obj, field);
    if (value == NULL || json_is_null(value) || lv_ind_spec(ind)->n_params == 0)
        return;
    if (lv_is_variable(value)) {
        lv_record_slot(p, value, LV_SLOT_PERIOD_TEXT, -1);
        return;
    }
    struct param_source source = {field, NULL};
    if (!json_is_string(value)) {
        const char *names[LV_IND_MAX_PARAMS];
        period_string_names(ind, names);
        int index = lv_ind_param_index(ind, names[0]);
        double number;
        if (number_value(p, value, field, &number) == LV_FIELD_OK && index >= 0)
            set_param(params, sources, index, number, source);
        return;
    }
    struct lv_ind_params read = *params;
    bool given[LV_IND_MAX_PARAMS] = {false};
    if (!lv_period_from_text(ind, json_string_value(value), &read, given)) {
        lv_parse_problem(p, field, "must be a number, or numbers joined by \"-\", got \"%s\"",
                         json_string_value(value));
        return;
    }
    for (int i = 0; i < LV_IND_MAX_PARAMS; i++)
        if (given[i])
            set_param(params, sources, i, read.v[i], source);
}

int lv_param_check_alone(enum lv_ind ind, const struct lv_ind_params *params, int index,
                         struct lv_error *err)
{
    struct lv_ind_params alone;
    lv_ind_default_params(ind, &alone);
    alone.v[index] = params->v[index];
    return lv_ind_check_params(ind, &alone, err);
}

/* Checks each given parameter on its own (against defaults for the rest) so that a problem
 * points at the value that causes it, then the whole set unless some values are variables
 * still to be bound (binding checks it then). */
static bool check_params(struct lv_parse *p, enum lv_ind ind, const struct lv_ind_params *params,
                         const struct param_source *sources, const char *params_field,
                         bool has_variables)
{
    struct lv_error err;
    bool ok = true;
    for (int i = 0; i < lv_ind_spec(ind)->n_params; i++) {
        if (sources[i].field == NULL)
            continue;
        if (lv_param_check_alone(ind, params, i, &err) < 0) {
            size_t saved = lv_path_push(p, sources[i].field);
            lv_parse_problem(p, sources[i].key, "%s", err.message);
            lv_path_pop(p, saved);
            ok = false;
        }
    }
    if (ok && !has_variables && lv_ind_check_params(ind, params, &err) < 0) {
        lv_parse_problem(p, params_field, "%s", err.message);
        ok = false;
    }
    return ok;
}

/* Canonical parameters of `ind`: defaults, overridden by `params_field` when it is a
 * non-empty object, else by the deprecated `period_field` string. */
bool lv_read_params(struct lv_parse *p, const json_t *obj, const char *params_field,
                    const char *period_field, enum lv_ind ind, struct lv_ind_params *out)
{
    struct param_source sources[LV_IND_MAX_PARAMS] = {{NULL, NULL}};
    int problems_before = p->problems->count;
    int slots_before = p->slots ? p->slots->n : 0;
    lv_ind_default_params(ind, out);
    const json_t *params = json_object_get(obj, params_field);
    if (params != NULL && !json_is_null(params) && !json_is_object(params)) {
        char got[64];
        lv_describe_json(params, got, sizeof got);
        lv_parse_problem(p, params_field, "must be an object of parameters, got %s", got);
    } else if (params != NULL && json_object_size(params) > 0) {
        size_t saved = lv_path_push(p, params_field);
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)params, key, value)
            read_param_value(p, ind, key, value, out, sources, params_field);
        lv_path_pop(p, saved);
    } else {
        read_period_string(p, obj, period_field, ind, out, sources);
    }
    if (p->problems->count != problems_before)
        return false;
    bool has_variables = p->slots != NULL && p->slots->n != slots_before;
    return check_params(p, ind, out, sources, params_field, has_variables);
}

/* ---- Series ------------------------------------------------------------------------------ */

/* The series named by a ticker, an indicator and its parameters, interned. -1 after a
 * problem (every field is still checked, so all problems are reported). */
int lv_read_series(struct lv_parse *p, const json_t *obj, const char *ticker_field,
                   const char *ind_field, const char *params_field, const char *period_field)
{
    char ticker[LV_TICKER_MAX];
    enum lv_ind ind;
    struct lv_ind_params params;
    bool ticker_ok = lv_read_ticker(p, obj, ticker_field, ticker);
    bool ind_ok = lv_read_indicator(p, obj, ind_field, &ind);
    if (!ind_ok || !lv_read_params(p, obj, params_field, period_field, ind, &params) ||
        !ticker_ok) {
        lv_drop_slots(p);
        return -1;
    }
    /* a template keeps every occurrence apart: binding deduplicates */
    int id = p->slots ? lv_strategy_append_series(p->s, ticker, ind, &params)
                      : lv_strategy_intern_series(p->s, ticker, ind, &params);
    if (id < 0)
        p->out_of_memory = true;
    else
        lv_claim_slots(p, LV_OWNER_SERIES, id);
    return id;
}

/* ---- Template mode ----------------------------------------------------------------------- */

static int find_name(const struct lv_slots *slots, const char *name)
{
    for (int k = 0; k < slots->n_names; k++)
        if (strcasecmp(slots->names[k], name) == 0)
            return k;
    return -1;
}

void lv_record_slot(struct lv_parse *p, const json_t *value, enum lv_slot_field field, int param)
{
    struct lv_slots *slots = p->slots;
    char name[LV_VAR_NAME_MAX];
    if (slots == NULL || !lv_variable_name(json_string_value(value), name))
        return;
    int var = find_name(slots, name);
    if (var < 0)
        return;
    if (lv_grow((void **)&slots->items, &slots->cap, slots->n + 1, sizeof *slots->items) < 0) {
        slots->out_of_memory = true;
        return;
    }
    slots->items[slots->n++] = (struct lv_slot){
        .var = var, .field = field, .owner = LV_OWNER_PENDING, .target = -1, .param = param};
}

/* Pending slots are always the last ones: each is claimed as soon as its owner exists. */
void lv_claim_slots(struct lv_parse *p, enum lv_slot_owner owner, int target)
{
    struct lv_slots *slots = p->slots;
    for (int i = slots ? slots->n - 1 : -1; i >= 0 && slots->items[i].owner == LV_OWNER_PENDING;
         i--) {
        slots->items[i].owner = owner;
        slots->items[i].target = target;
    }
}

void lv_drop_slots(struct lv_parse *p)
{
    struct lv_slots *slots = p->slots;
    while (slots && slots->n > 0 && slots->items[slots->n - 1].owner == LV_OWNER_PENDING)
        slots->n--;
}

void lv_note_structural(struct lv_parse *p)
{
    if (p->slots != NULL)
        p->slots->needs_json = true;
}

bool lv_weight_is_variable(const struct lv_parse *p, int node)
{
    const struct lv_slots *slots = p->slots;
    for (int i = 0; slots != NULL && i < slots->n; i++)
        if (slots->items[i].field == LV_SLOT_WEIGHT && slots->items[i].target == node)
            return true;
    return false;
}

/* A reference found by the scan: defined names are marked, undefined ones reported. */
static void note_reference(struct lv_parse *p, const char *name)
{
    struct lv_slots *slots = p->slots;
    int var = find_name(slots, name);
    if (var < 0) {
        lv_problems_add(&slots->undefined, p->path, "undefined variable $%s", name);
        return;
    }
    if (slots->used != NULL)
        slots->used[var] = true;
    if (slots->scanning_elements)
        slots->in_elements[var] = true;
}

/* Reports every $variable under `value` (strings only; keys are never variables). */
void lv_scan_variables(struct lv_parse *p, const json_t *value, int depth)
{
    if (depth > SCAN_MAX_DEPTH)
        return;
    char name[LV_VAR_NAME_MAX];
    if (json_is_string(value) && lv_variable_name(json_string_value(value), name)) {
        if (p->slots != NULL)
            note_reference(p, name);
        else
            lv_parse_problem(p, NULL, "unresolved variable $%s", name);
    } else if (json_is_object(value)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)value, key, member)
        {
            size_t saved = lv_path_push(p, key);
            lv_scan_variables(p, member, depth + 1);
            lv_path_pop(p, saved);
        }
    } else if (json_is_array(value)) {
        size_t i;
        const json_t *item;
        json_array_foreach(value, i, item)
        {
            size_t saved = lv_path_push_index(p, i);
            lv_scan_variables(p, item, depth + 1);
            lv_path_pop(p, saved);
        }
    }
}
