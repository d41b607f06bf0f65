/* batch.c — variables and batches (see batch.h): definitions, references, run decoding,
 * substitution, summary and CSV rows. Pure computation. */
#include "core/batch.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/market.h"

/* ---- Small text helpers ------------------------------------------------------------------- */

/* Bounds of `text` without leading and trailing white space. */
static void trim_bounds(const char *text, const char **start, size_t *len)
{
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *start = s;
    *len = n;
}

/* A whole string that is one finite decimal number, surrounding spaces allowed ("Infinity",
 * "NaN" and hex are refused, which strtod alone would accept). */
static bool is_decimal_number(const char *text)
{
    const char *s;
    size_t n;
    trim_bounds(text, &s, &n);
    if (n == 0 || n >= 64)
        return false;
    char copy[64];
    memcpy(copy, s, n);
    copy[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", copy[i]))
            return false;
    char *end;
    errno = 0;
    double v = strtod(copy, &end);
    return *end == '\0' && end != copy && errno != ERANGE && isfinite(v);
}

static void lower_copy(char *out, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[len] = '\0';
}

/* ---- Variable definitions ----------------------------------------------------------------- */

void lv_batch_vars_free(struct lv_batch_vars *vars)
{
    for (int k = 0; k < vars->n; k++) {
        for (int j = 0; j < vars->vars[k].n_values; j++)
            free(vars->vars[k].values[j]);
        free(vars->vars[k].values);
    }
    free(vars->vars);
    memset(vars, 0, sizeof *vars);
}

bool lv_batch_name_valid(const char *name, size_t len)
{
    if (len == 0 || len >= LV_BATCH_NAME_MAX)
        return false;
    if (!isalpha((unsigned char)name[0]) && name[0] != '_')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_')
            return false;
    return true;
}

int lv_batch_var_find(const struct lv_batch_vars *vars, const char *name, size_t len)
{
    for (int k = 0; k < vars->n; k++)
        if (strlen(vars->vars[k].name) == len && strncasecmp(vars->vars[k].name, name, len) == 0)
            return k;
    return -1;
}

/* One value of a definition as a trimmed string in out; false (with a problem) when bad. */
static bool read_value(const json_t *value, const char *path, char out[LV_BATCH_VALUE_MAX],
                       struct lv_problems *problems)
{
    if (json_is_integer(value)) {
        snprintf(out, LV_BATCH_VALUE_MAX, "%lld", (long long)json_integer_value(value));
        return true;
    }
    if (json_is_real(value)) {
        snprintf(out, LV_BATCH_VALUE_MAX, "%.17g", json_real_value(value));
        return true;
    }
    if (!json_is_string(value)) {
        lv_problems_add(problems, path, "must be a string or a number");
        return false;
    }
    const char *s;
    size_t n;
    trim_bounds(json_string_value(value), &s, &n);
    if (n == 0) {
        lv_problems_add(problems, path, "must not be empty");
        return false;
    }
    if (n >= LV_BATCH_VALUE_MAX) {
        lv_problems_add(problems, path, "is longer than %d characters", LV_BATCH_VALUE_MAX - 1);
        return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* Reads one {"name", "values"} item into var (values allocated). Returns false on a problem. */
static bool read_definition(const json_t *item, const char *path, struct lv_batch_var *var,
                            struct lv_problems *problems)
{
    char sub[LV_PATH_MAX + 32]; /* room for a suffix after a full-length path */
    if (!json_is_object(item)) {
        lv_problems_add(problems, path, "must be an object {\"name\": …, \"values\": […]}");
        return false;
    }
    const json_t *name = json_object_get(item, "name");
    const char *text = json_string_value(name);
    bool ok = true;
    snprintf(sub, sizeof sub, "%s/name", path);
    if (text == NULL) {
        lv_problems_add(problems, sub, "must be a string");
        ok = false;
    } else {
        const char *s;
        size_t n;
        trim_bounds(text, &s, &n);
        if (n > 0 && s[0] == '$')
            s++, n--;
        if (!lv_batch_name_valid(s, n)) {
            lv_problems_add(problems, sub,
                            "\"%s\" is not a variable name (a letter or _, then letters, digits "
                            "or _, at most %d characters)",
                            text, LV_BATCH_NAME_MAX - 1);
            ok = false;
        } else {
            lower_copy(var->name, s, n);
        }
    }
    const json_t *values = json_object_get(item, "values");
    snprintf(sub, sizeof sub, "%s/values", path);
    size_t count = json_array_size(values);
    if (!json_is_array(values) || count == 0) {
        lv_problems_add(problems, sub, "must be a non-empty array of values");
        return false;
    }
    if (count > LV_BATCH_MAX_VALUES) {
        lv_problems_add(problems, sub, "has %zu values; at most %d are allowed", count,
                        LV_BATCH_MAX_VALUES);
        return false;
    }
    var->values = calloc(count, sizeof *var->values);
    if (var->values == NULL) {
        lv_problems_add(problems, sub, "out of memory");
        return false;
    }
    for (size_t j = 0; j < count; j++) {
        char value[LV_BATCH_VALUE_MAX];
        snprintf(sub, sizeof sub, "%s/values/%zu", path, j);
        if (!read_value(json_array_get(values, j), sub, value, problems)) {
            ok = false;
            continue;
        }
        var->values[var->n_values] = strdup(value);
        if (var->values[var->n_values] == NULL) {
            lv_problems_add(problems, sub, "out of memory");
            return false;
        }
        var->n_values++;
    }
    return ok;
}

int lv_batch_vars_parse(const json_t *array, const char *pointer, struct lv_batch_vars *out,
                        struct lv_problems *problems)
{
    memset(out, 0, sizeof *out);
    int before = problems->count;
    if (!json_is_array(array)) {
        lv_problems_add(problems, pointer, "must be an array of {\"name\", \"values\"}");
        return -1;
    }
    size_t count = json_array_size(array);
    if (count > LV_BATCH_MAX_VARS) {
        lv_problems_add(problems, pointer, "has %zu variables; at most %d are allowed", count,
                        LV_BATCH_MAX_VARS);
        return -1;
    }
    out->vars = calloc(count ? count : 1, sizeof *out->vars);
    if (out->vars == NULL) {
        lv_problems_add(problems, pointer, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        char path[LV_PATH_MAX];
        snprintf(path, sizeof path, "%s/%zu", pointer, k);
        struct lv_batch_var *var = &out->vars[out->n++];
        read_definition(json_array_get(array, k), path, var, problems);
        if (var->name[0] != '\0' &&
            lv_batch_var_find(out, var->name, strlen(var->name)) < out->n - 1) {
            char sub[LV_PATH_MAX + 8];
            snprintf(sub, sizeof sub, "%s/name", path);
            lv_problems_add(problems, sub, "variable $%s is defined twice", var->name);
        }
    }
    if (problems->count > before) {
        lv_batch_vars_free(out);
        return -1;
    }
    return 0;
}

json_t *lv_batch_vars_to_json(const struct lv_batch_vars *vars)
{
    json_t *array = json_array();
    for (int k = 0; array != NULL && k < vars->n; k++) {
        const struct lv_batch_var *var = &vars->vars[k];
        json_t *values = json_array();
        for (int j = 0; values != NULL && j < var->n_values; j++)
            json_array_append_new(values, json_string(var->values[j]));
        json_t *item = json_pack("{s:s, s:o?, s:i}", "name", var->name, "values", values, "count",
                                 var->n_values);
        if (item == NULL || json_array_append_new(array, item) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

int lv_batch_type_parse(const char *text, enum lv_batch_type *out)
{
    static const char *const names[] = {"ticker", "number", "date"};
    for (int t = 0; text != NULL && t < 3; t++)
        if (strcmp(text, names[t]) == 0) {
            *out = (enum lv_batch_type)t;
            return 0;
        }
    return -1;
}

/* Normalises one typed value into out; false (with a problem naming it) when invalid. */
static bool typed_value(const json_t *value, enum lv_batch_type type, const char *path,
                        char out[LV_BATCH_VALUE_MAX], struct lv_problems *problems)
{
    if (json_is_number(value) && type == LV_BATCH_NUMBER)
        return read_value(value, path, out, problems);
    const char *text = json_string_value(value);
    if (text == NULL) {
        lv_problems_add(problems, path, "must be a string");
        return false;
    }
    const char *s;
    size_t n;
    trim_bounds(text, &s, &n);
    char symbol[LV_SYMBOL_MAX];
    lv_day day;
    switch (type) {
    case LV_BATCH_TICKER:
        if (!lv_symbol_normalize(s, n, symbol)) {
            lv_problems_add(problems, path, "\"%s\" is not a ticker", text);
            return false;
        }
        snprintf(out, LV_BATCH_VALUE_MAX, "%s", symbol);
        return true;
    case LV_BATCH_NUMBER:
        if (!is_decimal_number(text)) {
            lv_problems_add(problems, path, "\"%s\" is not a number", text);
            return false;
        }
        break;
    case LV_BATCH_DATE:
        if (n != 10 || !lv_day_parse(s, &day)) {
            lv_problems_add(problems, path, "\"%s\" is not a date YYYY-MM-DD", text);
            return false;
        }
        break;
    }
    snprintf(out, LV_BATCH_VALUE_MAX, "%.*s", (int)n, s);
    return true;
}

json_t *lv_batch_typed_values(const json_t *values, enum lv_batch_type type, const char *pointer,
                              struct lv_problems *problems)
{
    if (!json_is_array(values)) {
        lv_problems_add(problems, pointer, "must be an array");
        return NULL;
    }
    if (json_array_size(values) > LV_BATCH_MAX_VALUES) {
        lv_problems_add(problems, pointer, "has more than %d values", LV_BATCH_MAX_VALUES);
        return NULL;
    }
    int before = problems->count;
    json_t *out = json_array();
    size_t j;
    const json_t *value;
    json_array_foreach(values, j, value)
    {
        char path[LV_PATH_MAX + 24], text[LV_BATCH_VALUE_MAX];
        snprintf(path, sizeof path, "%s/%zu", pointer, j);
        if (typed_value(value, type, path, text, problems) && out != NULL &&
            json_array_append_new(out, json_string(text)) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    if (out == NULL && problems->count == before)
        lv_problems_add(problems, pointer, "out of memory");
    if (problems->count > before) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- References ---------------------------------------------------------------------------- */

bool lv_batch_reference(const char *text, const char **name, size_t *len)
{
    const char *s;
    size_t n;
    trim_bounds(text, &s, &n);
    if (n < 2 || s[0] != '$' || !lv_batch_name_valid(s + 1, n - 1))
        return false;
    *name = s + 1;
    *len = n - 1;
    return true;
}

/* Appends "/token" to a JSON Pointer, escaping '~' and '/' (RFC 6901). */
static void pointer_push(char *path, size_t cap, const char *token)
{
    size_t at = strlen(path);
    if (at + 1 < cap)
        path[at++] = '/';
    for (const char *c = token; *c != '\0' && at + 2 < cap; c++) {
        if (*c == '~' || *c == '/') {
            path[at++] = '~';
            path[at++] = *c == '~' ? '0' : '1';
        } else {
            path[at++] = *c;
        }
    }
    path[at] = '\0';
}

static void scan_value(const json_t *value, char *path, size_t cap,
                       const struct lv_batch_vars *vars, bool *used, struct lv_problems *problems)
{
    size_t mark = strlen(path);
    if (json_is_object(value)) {
        const char *key;
        const json_t *child;
        json_object_foreach((json_t *)value, key, child)
        {
            pointer_push(path, cap, key);
            scan_value(child, path, cap, vars, used, problems);
            path[mark] = '\0';
        }
    } else if (json_is_array(value)) {
        size_t i;
        const json_t *child;
        json_array_foreach(value, i, child)
        {
            char index[24];
            snprintf(index, sizeof index, "%zu", i);
            pointer_push(path, cap, index);
            scan_value(child, path, cap, vars, used, problems);
            path[mark] = '\0';
        }
    } else if (json_is_string(value)) {
        const char *name;
        size_t len;
        if (!lv_batch_reference(json_string_value(value), &name, &len))
            return;
        int k = lv_batch_var_find(vars, name, len);
        if (k >= 0)
            used[k] = true;
        else
            lv_problems_add(problems, path, "undefined variable $%.*s", (int)len, name);
    }
}

void lv_batch_scan(const json_t *doc, const char *pointer, const struct lv_batch_vars *vars,
                   bool *used, struct lv_problems *problems)
{
    char path[LV_PATH_MAX];
    snprintf(path, sizeof path, "%s", pointer);
    scan_value(doc, path, sizeof path, vars, used, problems);
}

int lv_batch_check_unused(const struct lv_batch_vars *vars, const bool *used, const char *pointer,
                          struct lv_problems *problems)
{
    int unused = 0;
    for (int k = 0; k < vars->n; k++) {
        if (used[k])
            continue;
        char path[LV_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%d/name", pointer, k);
        lv_problems_add(problems, path, "variable $%s is defined but not used", vars->vars[k].name);
        unused++;
    }
    return unused;
}

bool lv_batch_options_vary(const json_t *doc, const struct lv_batch_vars *vars)
{
    bool used[LV_BATCH_MAX_VARS] = {false};
    struct lv_problems ignored = {0}; /* undefined references are the caller's concern */
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)doc, key, value)
    {
        if (strcmp(key, "elements") != 0)
            lv_batch_scan(value, "", vars, used, &ignored);
    }
    lv_problems_free(&ignored);
    for (int k = 0; k < vars->n; k++)
        if (used[k])
            return true;
    return false;
}

/* ---- Runs ---------------------------------------------------------------------------------- */

long lv_batch_total(const struct lv_batch_vars *vars, long cap, bool *truncated)
{
    /* Saturates at cap + 1: only "more than cap" matters, and it cannot overflow. */
    long product = 1;
    for (int k = 0; k < vars->n; k++) {
        long n = vars->vars[k].n_values;
        product = n == 0 ? 0 : (product > (cap + 1) / n ? cap + 1 : product * n);
    }
    *truncated = product > cap;
    return product > cap ? cap : product;
}

void lv_batch_decode(const struct lv_batch_vars *vars, long run, int *value_index)
{
    for (int k = vars->n - 1; k >= 0; k--) {
        long n = vars->vars[k].n_values;
        value_index[k] = (int)(run % n);
        run /= n;
    }
}

json_t *lv_batch_assignment_json(const struct lv_batch_vars *vars, const int *value_index)
{
    json_t *obj = json_object();
    for (int k = 0; obj != NULL && k < vars->n; k++) {
        const struct lv_batch_var *var = &vars->vars[k];
        if (json_object_set_new(obj, var->name, json_string(var->values[value_index[k]])) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *lv_batch_preview(const struct lv_batch_vars *vars, long total)
{
    json_t *array = json_array();
    int idx[LV_BATCH_MAX_VARS];
    for (long run = 0; array != NULL && run < total && run < LV_BATCH_PREVIEW; run++) {
        lv_batch_decode(vars, run, idx);
        if (json_array_append_new(array, lv_batch_assignment_json(vars, idx)) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

/* The value a string must become, or NULL when it is not a defined reference. */
static const char *bound_value(const char *text, const struct lv_batch_vars *vars,
                               const int *value_index, int *var)
{
    const char *name;
    size_t len;
    if (!lv_batch_reference(text, &name, &len))
        return NULL;
    int k = lv_batch_var_find(vars, name, len);
    if (var != NULL)
        *var = k;
    return k >= 0 && value_index != NULL ? vars->vars[k].values[value_index[k]] : NULL;
}

json_t *lv_batch_substitute(const json_t *doc, const struct lv_batch_vars *vars,
                            const int *value_index)
{
    if (json_is_object(doc)) {
        json_t *copy = json_object();
        const char *key;
        const json_t *child;
        json_object_foreach((json_t *)doc, key, child)
        {
            if (copy == NULL ||
                json_object_set_new(copy, key, lv_batch_substitute(child, vars, value_index))) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    if (json_is_array(doc)) {
        json_t *copy = json_array();
        size_t i;
        const json_t *child;
        json_array_foreach(doc, i, child)
        {
            if (copy == NULL ||
                json_array_append_new(copy, lv_batch_substitute(child, vars, value_index))) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    if (json_is_string(doc)) {
        const char *value = bound_value(json_string_value(doc), vars, value_index, NULL);
        if (value != NULL)
            return json_string(value);
    }
    return json_deep_copy(doc);
}

/* ---- Template ------------------------------------------------------------------------------ */

struct lv_batch_slot {
    json_t *string; /* a string node inside the template's copy */
    int var;
};

struct lv_batch_template {
    const struct lv_batch_vars *vars; /* borrowed */
    json_t *doc;                      /* owned copy; its reference strings are rewritten */
    struct lv_batch_slot *slots;
    int n_slots, cap_slots;
};

static int collect_slots(struct lv_batch_template *t, json_t *value)
{
    if (json_is_object(value)) {
        const char *key;
        json_t *child;
        json_object_foreach(value, key, child)
        {
            if (collect_slots(t, child) != 0)
                return -1;
        }
        return 0;
    }
    if (json_is_array(value)) {
        size_t i;
        json_t *child;
        json_array_foreach(value, i, child)
        {
            if (collect_slots(t, child) != 0)
                return -1;
        }
        return 0;
    }
    int var = -1;
    if (!json_is_string(value))
        return 0;
    bound_value(json_string_value(value), t->vars, NULL, &var);
    if (var < 0)
        return 0;
    if (t->n_slots == t->cap_slots) {
        int cap = t->cap_slots ? 2 * t->cap_slots : 8;
        struct lv_batch_slot *grown = realloc(t->slots, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        t->slots = grown;
        t->cap_slots = cap;
    }
    t->slots[t->n_slots++] = (struct lv_batch_slot){.string = value, .var = var};
    return 0;
}

struct lv_batch_template *lv_batch_template_new(const json_t *doc, const struct lv_batch_vars *vars)
{
    struct lv_batch_template *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->vars = vars;
    t->doc = json_deep_copy(doc);
    if (t->doc == NULL || collect_slots(t, t->doc) != 0) {
        lv_batch_template_free(t);
        return NULL;
    }
    return t;
}

void lv_batch_template_free(struct lv_batch_template *t)
{
    if (t == NULL)
        return;
    json_decref(t->doc);
    free(t->slots);
    free(t);
}

const json_t *lv_batch_template_bind(struct lv_batch_template *t, const int *value_index)
{
    for (int i = 0; i < t->n_slots; i++) {
        const struct lv_batch_slot *slot = &t->slots[i];
        if (json_string_set(slot->string, t->vars->vars[slot->var].values[value_index[slot->var]]))
            return NULL;
    }
    return t->doc;
}

int lv_batch_template_uses(const struct lv_batch_template *t, int var)
{
    int uses = 0;
    for (int i = 0; i < t->n_slots; i++)
        uses += t->slots[i].var == var;
    return uses;
}

/* ---- Summary ------------------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int lv_batch_summarize(const struct lv_batch_outcome *outcomes, size_t n,
                       struct lv_batch_summary *out)
{
    *out = (struct lv_batch_summary){
        .best_run = -1,
        .worst_run = -1,
        .best_sharpe_run = -1,
        .best_return = NAN,
        .worst_return = NAN,
        .best_sharpe = NAN,
        .avg_return = NAN,
        .median_return = NAN,
    };
    double *returns = malloc((n ? n : 1) * sizeof *returns);
    if (returns == NULL)
        return -1;
    size_t n_returns = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const struct lv_batch_outcome *o = &outcomes[i];
        out->total_runs++;
        if (o->failed) {
            out->failed++;
            continue;
        }
        out->succeeded++;
        if (isfinite(o->sharpe) &&
            (out->best_sharpe_run < 0 || o->sharpe > out->best_sharpe ||
             (o->sharpe == out->best_sharpe && o->run < out->best_sharpe_run))) {
            out->best_sharpe = o->sharpe;
            out->best_sharpe_run = o->run;
        }
        if (!isfinite(o->total_return))
            continue;
        double r = o->total_return;
        returns[n_returns++] = r;
        sum += r;
        if (out->best_run < 0 || r > out->best_return ||
            (r == out->best_return && o->run < out->best_run)) {
            out->best_return = r;
            out->best_run = o->run;
        }
        if (out->worst_run < 0 || r < out->worst_return ||
            (r == out->worst_return && o->run < out->worst_run)) {
            out->worst_return = r;
            out->worst_run = o->run;
        }
    }
    if (n_returns > 0) {
        out->avg_return = sum / (double)n_returns;
        qsort(returns, n_returns, sizeof *returns, compare_doubles);
        size_t mid = n_returns / 2;
        out->median_return = n_returns % 2 ? returns[mid] : (returns[mid - 1] + returns[mid]) / 2.0;
    }
    free(returns);
    return 0;
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *lv_batch_summary_to_json(const struct lv_batch_summary *summary, const json_t *best,
                                 const json_t *worst)
{
    return json_pack(
        "{s:I, s:I, s:I, s:O, s:O, s:o, s:o, s:o}", "total_runs", (json_int_t)summary->total_runs,
        "succeeded", (json_int_t)summary->succeeded, "failed", (json_int_t)summary->failed, "best",
        best != NULL ? best : json_null(), "worst", worst != NULL ? worst : json_null(),
        "avg_return", number_or_null(summary->avg_return), "median_return",
        number_or_null(summary->median_return), "best_sharpe",
        number_or_null(summary->best_sharpe));
}

/* ---- CSV ----------------------------------------------------------------------------------- */

int lv_batch_buf_append(struct lv_batch_buf *buf, const char *text, size_t len)
{
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + len + 1)
            cap *= 2;
        char *grown = realloc(buf->data, cap);
        if (grown == NULL)
            return -1;
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, text, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

void lv_batch_buf_free(struct lv_batch_buf *buf)
{
    free(buf->data);
    memset(buf, 0, sizeof *buf);
}

static int append_str(struct lv_batch_buf *buf, const char *text)
{
    return lv_batch_buf_append(buf, text, strlen(text));
}

int lv_batch_csv_field(struct lv_batch_buf *buf, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL)
        return append_str(buf, text);
    size_t mark = buf->len;
    int rc = append_str(buf, "\"");
    for (const char *c = text; rc == 0 && *c != '\0'; c++) {
        const char *next = strchr(c, '"');
        size_t len = next != NULL ? (size_t)(next - c) + 1 : strlen(c);
        rc = lv_batch_buf_append(buf, c, len);
        if (rc == 0 && next != NULL)
            rc = append_str(buf, "\"");
        c += len - 1;
    }
    if (rc == 0)
        rc = append_str(buf, "\"");
    if (rc != 0)
        buf->len = mark;
    return rc ? -1 : 0;
}

int lv_batch_csv_header(struct lv_batch_buf *buf, const struct lv_batch_vars *vars)
{
    int rc = append_str(buf, "run_index");
    for (int k = 0; rc == 0 && k < vars->n; k++)
        rc = append_str(buf, ",") || lv_batch_csv_field(buf, vars->vars[k].name);
    for (int m = 0; rc == 0 && m < LV_METRIC_COUNT; m++)
        rc = append_str(buf, ",") || append_str(buf, lv_metric_names[m]);
    return rc || append_str(buf, ",error\r\n") ? -1 : 0;
}

/* A metric value as CSV text: shortest form that reads back exactly; "" for null. */
static void metric_text(const json_t *value, char *out, size_t cap)
{
    out[0] = '\0';
    if (json_is_integer(value)) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(value));
    } else if (json_is_real(value)) {
        double v = json_real_value(value);
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(out, cap, "%.*g", digits, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

int lv_batch_csv_row(struct lv_batch_buf *buf, const struct lv_batch_vars *vars, long run_index,
                     const json_t *assignment, const json_t *metrics)
{
    size_t mark = buf->len;
    char text[64];
    snprintf(text, sizeof text, "%ld", run_index);
    int rc = append_str(buf, text);
    for (int k = 0; rc == 0 && k < vars->n; k++) {
        const char *value = json_string_value(json_object_get(assignment, vars->vars[k].name));
        rc = append_str(buf, ",") || lv_batch_csv_field(buf, value != NULL ? value : "");
    }
    for (int m = 0; rc == 0 && m < LV_METRIC_COUNT; m++) {
        metric_text(json_object_get(metrics, lv_metric_names[m]), text, sizeof text);
        rc = append_str(buf, ",") || append_str(buf, text);
    }
    const char *error = json_string_value(json_object_get(metrics, "error"));
    if (rc == 0)
        rc = append_str(buf, ",") || lv_batch_csv_field(buf, error != NULL ? error : "") ||
             append_str(buf, "\r\n");
    if (rc != 0)
        buf->len = mark;
    return rc ? -1 : 0;
}
