/* routes_strategies.c — the strategy library (platform.md §3–§4): create, list, read, replace,
 * patch, delete, duplicate, export and import strategies. Public ones are readable by all. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/calendar.h"
#include "core/strategy.h"

/*
 * Access rules, applied by every statement below (never by a check before it):
 *   read  (GET, export, duplicate): the caller's own strategies and everyone's public ones;
 *   write (PUT, PATCH, DELETE):     the caller's own only.
 * A write refused for lack of ownership answers 403 when the strategy is public (its existence
 * is no secret) and 404 otherwise, exactly as for an id that does not exist.
 */

#define NAME_MAX_CHARS        500 /* strategies.name is VARCHAR(500) */
#define DESCRIPTION_MAX_CHARS 10000
#define SYMBOL_MAX_CHARS      50 /* strategies.benchmark_symbol is VARCHAR(50) */
#define TAG_MAX_CHARS         255
#define TAGS_MAX              50
#define QUERY_MAX_CHARS       500
#define LIST_DEFAULT_LIMIT    50
#define LIST_MAX_LIMIT        1000
#define DEFAULT_BENCHMARK     "SPY"
#define IMPORTED_NAME         "Imported strategy"
#define COPY_SUFFIX           " (copy)"

/* Dates outside this range are certainly typing mistakes for daily market data. */
#define DATE_MIN "1900-01-01"
#define DATE_MAX "2199-12-31"

/* ---- SQL ------------------------------------------------------------------------------------
 * One strategy as the API shows it; `s` is the strategies row, `caller` the parameter holding
 * the caller's id. Timestamps are UTC (the server's session time zone). */
#define UTC_ISO "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"
#define STRATEGY_PAIRS(caller)                                                                     \
    "'id', s.id, 'name', s.name, 'description', s.description, "                                   \
    "'benchmark_symbol', s.benchmark_symbol, 'start_date', s.start_date, "                         \
    "'end_date', s.end_date, 'tags', COALESCE(to_json(s.tags), '[]'::json), "                      \
    "'is_public', COALESCE(s.is_public, false), 'is_archived', COALESCE(s.is_archived, false), "   \
    "'is_owner', s.user_id = " caller ", "                                                         \
    "'created_at', to_char(s.created_at, " UTC_ISO "), "                                           \
    "'updated_at', to_char(s.updated_at, " UTC_ISO ")"
#define STRATEGY_JSON(caller)                                                                      \
    "json_build_object(" STRATEGY_PAIRS(caller) ", 'elements', s.elements)"
/* Lists leave the (possibly large) elements out: GET /strategies/{id} has them. */
#define STRATEGY_SUMMARY(caller) "json_build_object(" STRATEGY_PAIRS(caller) ")"

/* Tags from the normalised input `v` (a JSON array of strings), in their order. */
#define TAGS_FROM_INPUT                                                                            \
    "ARRAY(SELECT t FROM jsonb_array_elements_text(v->'tags') WITH ORDINALITY AS x(t, n) "         \
    "ORDER BY n)::varchar(255)[]"

/* $1 caller, $2 normalised input (every column present, see complete_fields). */
static const char insert_sql[] =
    "INSERT INTO strategies AS s (user_id, name, description, elements, benchmark_symbol, "
    "start_date, end_date, tags, is_public, is_archived) "
    "SELECT $1::int, v->>'name', v->>'description', v->'elements', v->>'benchmark_symbol', "
    "(v->>'start_date')::date, (v->>'end_date')::date, " TAGS_FROM_INPUT ", "
    "(v->>'is_public')::boolean, (v->>'is_archived')::boolean "
    "FROM (SELECT $2::jsonb AS v) AS input "
    "RETURNING " STRATEGY_JSON("$1::int");

/* $1 id, $2 caller, $3 normalised input (only the columns to change). The row is locked
 * before the merge so that two concurrent PATCHes of different fields both survive; the
 * merged dates must stay in order (a PATCH may send only one of them). */
static const char update_sql[] =
    "WITH input AS (SELECT $3::jsonb AS v), merged AS ("
    " SELECT s.id,"
    " CASE WHEN v ? 'name' THEN v->>'name' ELSE s.name END AS name,"
    " CASE WHEN v ? 'description' THEN v->>'description' ELSE s.description END AS description,"
    " CASE WHEN v ? 'elements' THEN v->'elements' ELSE s.elements END AS elements,"
    " CASE WHEN v ? 'benchmark_symbol' THEN v->>'benchmark_symbol'"
    "  ELSE s.benchmark_symbol END AS benchmark_symbol,"
    " CASE WHEN v ? 'start_date' THEN (v->>'start_date')::date ELSE s.start_date END"
    "  AS start_date,"
    " CASE WHEN v ? 'end_date' THEN (v->>'end_date')::date ELSE s.end_date END AS end_date,"
    " CASE WHEN v ? 'tags' THEN " TAGS_FROM_INPUT " ELSE s.tags END AS tags,"
    " CASE WHEN v ? 'is_public' THEN (v->>'is_public')::boolean ELSE s.is_public END"
    "  AS is_public,"
    " CASE WHEN v ? 'is_archived' THEN (v->>'is_archived')::boolean ELSE s.is_archived END"
    "  AS is_archived"
    " FROM strategies s, input WHERE s.id = $1::int AND s.user_id = $2::int FOR UPDATE OF s) "
    "UPDATE strategies AS s SET name = m.name, description = m.description, "
    "elements = m.elements, benchmark_symbol = m.benchmark_symbol, start_date = m.start_date, "
    "end_date = m.end_date, tags = m.tags, is_public = m.is_public, is_archived = m.is_archived "
    "FROM merged m WHERE s.id = m.id "
    "AND (m.start_date IS NULL OR m.end_date IS NULL OR m.start_date <= m.end_date) "
    "RETURNING " STRATEGY_JSON("$2::int");

/* $1 id, $2 caller. Deleting would cascade to deployments (seed: ON DELETE CASCADE), so a
 * strategy that is still deployed (any status but stopped) is kept. */
static const char delete_sql[] =
    "DELETE FROM strategies s WHERE s.id = $1::int AND s.user_id = $2::int "
    "AND NOT EXISTS (SELECT 1 FROM active_strategies a "
    "WHERE a.strategy_id = s.id AND a.status <> 'stopped') RETURNING s.id";

/* $1 id, $2 caller: why a write touched no row ("owned", "public" or nothing). */
static const char ownership_sql[] =
    "SELECT CASE WHEN user_id = $2::int THEN 'owned' WHEN is_public THEN 'public' END "
    "FROM strategies WHERE id = $1::int";

/* $1 id, $2 caller. */
static const char read_sql[] = "SELECT " STRATEGY_JSON(
    "$2::int") " FROM strategies s "
               "WHERE s.id = $1::int AND (s.user_id = $2::int OR s.is_public)";

/* $1 id, $2 caller: the strategy document, as import reads it back. */
static const char export_sql[] =
    "SELECT json_build_object('name', s.name, 'description', s.description, "
    "'benchmark_symbol', s.benchmark_symbol, 'start_date', s.start_date, 'end_date', "
    "s.end_date, 'tags', COALESCE(to_json(s.tags), '[]'::json), 'elements', s.elements) "
    "FROM strategies s WHERE s.id = $1::int AND (s.user_id = $2::int OR s.is_public)";

/* $1 id, $2 caller, $3 new name or NULL. The copy is the caller's, private, not archived. */
static const char duplicate_sql[] =
    "INSERT INTO strategies AS s (user_id, name, description, elements, benchmark_symbol, "
    "start_date, end_date, tags, is_public, is_archived) "
    "SELECT $2::int, COALESCE($3::text, left(src.name, " /* room for the suffix */
    "500 - length('" COPY_SUFFIX "')) || '" COPY_SUFFIX "'), src.description, src.elements, "
    "src.benchmark_symbol, src.start_date, src.end_date, src.tags, false, false "
    "FROM strategies src WHERE src.id = $1::int AND (src.user_id = $2::int OR src.is_public) "
    "RETURNING " STRATEGY_JSON("$2::int");

/* $1 caller, $2 include others' public ones, $3 tag or NULL, $4 archived (NULL = both),
 * $5 name search or NULL, $6 sort key (one of sort_keys), $7 limit, $8 offset. */
static const char list_sql[] =
    "WITH matching AS (SELECT s.* FROM strategies s "
    " WHERE (s.user_id = $1::int OR ($2::boolean AND s.is_public))"
    " AND ($3::text IS NULL OR s.tags @> ARRAY[$3::varchar])"
    " AND ($4::boolean IS NULL OR COALESCE(s.is_archived, false) = $4::boolean)"
    " AND ($5::text IS NULL OR strpos(lower(s.name), lower($5::text)) > 0)), "
    "page AS (SELECT s.*, row_number() OVER (ORDER BY"
    " CASE WHEN $6 = 'name' THEN lower(s.name) END ASC,"
    " CASE WHEN $6 = '-name' THEN lower(s.name) END DESC,"
    " CASE WHEN $6 = 'created_at' THEN s.created_at END ASC,"
    " CASE WHEN $6 = '-created_at' THEN s.created_at END DESC,"
    " CASE WHEN $6 = 'updated_at' THEN s.updated_at END ASC,"
    " CASE WHEN $6 = '-updated_at' THEN s.updated_at END DESC,"
    " CASE WHEN left($6, 1) = '-' THEN s.id END DESC, s.id ASC) AS position"
    " FROM matching s ORDER BY position LIMIT $7::int OFFSET $8::int) "
    "SELECT json_build_object('items', COALESCE((SELECT json_agg(" STRATEGY_SUMMARY(
        "$1::int") " ORDER BY s.position) FROM page s), '[]'::json), "
                   "'total', (SELECT count(*) FROM matching), 'limit', $7::int, 'offset', $8::int)";

static const char *const sort_keys[] = {
    "-updated_at", "updated_at", "-created_at", "created_at", "name", "-name", "id", "-id", NULL,
};

/* ---- Reading request fields -----------------------------------------------------------------
 * A request body is read into a normalised object keyed by column name, collecting every
 * problem (JSON Pointers into the request body) so that one answer lists them all. */

enum input_kind {
    INPUT_CREATE,  /* POST: name and elements required, unknown fields refused */
    INPUT_REPLACE, /* PUT: the same; absent optional fields go back to their defaults */
    INPUT_PATCH,   /* PATCH: every field optional, unknown fields refused */
    INPUT_IMPORT,  /* a strategy document: camelCase aliases read, unknown fields ignored */
};

struct input {
    enum input_kind kind;
    const char *prefix;          /* JSON Pointer of the document inside the request body */
    json_t *fields;              /* owned: normalised column values */
    struct lv_problems problems; /* owned */
    struct lv_problems warnings; /* owned */
};

typedef void (*field_reader)(struct input *in, const char *column, const json_t *value,
                             const char *path);

/* Writes prefix + "/" + key into out as a JSON Pointer ('~' and '/' escaped). */
static void member_path(char *out, size_t out_size, const char *prefix, const char *key)
{
    size_t len = (size_t)snprintf(out, out_size, "%s/", prefix);
    for (; *key != '\0' && len + 3 < out_size; key++) {
        if (*key == '~' || *key == '/') {
            out[len++] = '~';
            out[len++] = *key == '~' ? '0' : '1';
        } else {
            out[len++] = *key;
        }
    }
    out[len < out_size ? len : out_size - 1] = '\0';
}

/* Characters, not bytes: the VARCHAR limits count characters (jansson strings are UTF-8). */
static size_t utf8_chars(const char *text)
{
    size_t chars = 0;
    for (; *text != '\0'; text++)
        chars += ((unsigned char)*text & 0xC0) != 0x80;
    return chars;
}

/* Query parameters are percent-decoded bytes; PostgreSQL refuses invalid UTF-8 (overlong
 * forms, surrogates, code points past U+10FFFF included). */
static bool utf8_valid(const char *text)
{
    static const unsigned long min_of_length[] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *c = (const unsigned char *)text;
    while (*c != '\0') {
        int extra = *c < 0x80             ? 0
                    : (*c & 0xE0) == 0xC0 ? 1
                    : (*c & 0xF0) == 0xE0 ? 2
                    : (*c & 0xF8) == 0xF0 ? 3
                                          : -1;
        if (extra < 0)
            return false;
        unsigned long code = *c++ & (0x7F >> extra);
        for (int i = 0; i < extra; i++, c++) {
            if ((*c & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (*c & 0x3F);
        }
        if (code < min_of_length[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return false;
    }
    return true;
}

static bool has_control_char(const char *text)
{
    for (; *text != '\0'; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7F)
            return true;
    return false;
}

/* A copy of text without surrounding white space (caller frees), NULL when out of memory. */
static char *trimmed_copy(const char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    return strndup(text, len);
}

/* Checks a one-line label (name, tag, symbol): non-empty once trimmed, at most max_chars,
 * no control characters. Returns the trimmed copy (caller frees) or NULL after a problem. */
static char *read_label(struct input *in, const json_t *value, const char *path, size_t max_chars)
{
    if (!json_is_string(value)) {
        lv_problems_add(&in->problems, path, "must be a string");
        return NULL;
    }
    char *label = trimmed_copy(json_string_value(value));
    if (label == NULL) {
        lv_problems_add(&in->problems, path, "out of memory");
        return NULL;
    }
    const char *why = NULL;
    if (label[0] == '\0')
        why = "must not be empty";
    else if (has_control_char(label))
        why = "must not contain control characters";
    if (why == NULL && utf8_chars(label) > max_chars) {
        lv_problems_add(&in->problems, path, "must be at most %zu characters", max_chars);
        free(label);
        return NULL;
    }
    if (why != NULL) {
        lv_problems_add(&in->problems, path, "%s", why);
        free(label);
        return NULL;
    }
    return label;
}

static void read_name(struct input *in, const char *column, const json_t *value, const char *path)
{
    char *name = read_label(in, value, path, NAME_MAX_CHARS);
    if (name != NULL)
        json_object_set_new(in->fields, column, json_string(name));
    free(name);
}

static void read_description(struct input *in, const char *column, const json_t *value,
                             const char *path)
{
    if (json_is_null(value)) {
        json_object_set_new(in->fields, column, json_null());
    } else if (!json_is_string(value)) {
        lv_problems_add(&in->problems, path, "must be a string or null");
    } else if (utf8_chars(json_string_value(value)) > DESCRIPTION_MAX_CHARS) {
        lv_problems_add(&in->problems, path, "must be at most %d characters",
                        DESCRIPTION_MAX_CHARS);
    } else {
        json_object_set(in->fields, column, (json_t *)value);
    }
}

/* Ticker-like: letters, digits and . - / ^ _ (BRK.B, BF-B, ^GSPC), upper-cased. */
static void read_symbol(struct input *in, const char *column, const json_t *value, const char *path)
{
    if (json_is_null(value)) {
        json_object_set_new(in->fields, column, json_string(DEFAULT_BENCHMARK));
        return;
    }
    char *symbol = read_label(in, value, path, SYMBOL_MAX_CHARS);
    if (symbol == NULL)
        return;
    for (char *c = symbol; *c != '\0'; c++) {
        if (!isalnum((unsigned char)*c) && strchr(".-/^_", *c) == NULL) {
            lv_problems_add(&in->problems, path,
                            "must be a ticker symbol (letters, digits and . - / ^ _)");
            free(symbol);
            return;
        }
        *c = (char)toupper((unsigned char)*c);
    }
    json_object_set_new(in->fields, column, json_string(symbol));
    free(symbol);
}

/* "YYYY-MM-DD", or null / "max" (strategy-language.md §1: as far as the data allows). */
static void read_date(struct input *in, const char *column, const json_t *value, const char *path)
{
    const char *text = json_string_value(value);
    lv_day day;
    if (json_is_null(value) || (text != NULL && strcmp(text, "max") == 0)) {
        json_object_set_new(in->fields, column, json_null());
    } else if (text == NULL || !lv_day_parse(text, &day)) {
        lv_problems_add(&in->problems, path, "must be a date YYYY-MM-DD, \"max\" or null");
    } else if (strcmp(text, DATE_MIN) < 0 || strcmp(text, DATE_MAX) > 0) {
        lv_problems_add(&in->problems, path, "must be between " DATE_MIN " and " DATE_MAX);
    } else {
        json_object_set_new(in->fields, column, json_string(text));
    }
}

static bool tags_contain(const json_t *tags, const char *tag)
{
    size_t i;
    const json_t *item;
    json_array_foreach(tags, i, item)
    {
        if (strcmp(json_string_value(item), tag) == 0)
            return true;
    }
    return false;
}

/* An array of labels; null means none. Repeated tags are kept once. */
static void read_tags(struct input *in, const char *column, const json_t *value, const char *path)
{
    if (json_is_null(value)) {
        json_object_set_new(in->fields, column, json_array());
        return;
    }
    if (!json_is_array(value)) {
        lv_problems_add(&in->problems, path, "must be an array of strings");
        return;
    }
    if (json_array_size(value) > TAGS_MAX) {
        lv_problems_add(&in->problems, path, "must hold at most %d tags", TAGS_MAX);
        return;
    }
    json_t *tags = json_array();
    int problems_before = in->problems.count;
    size_t i;
    const json_t *item;
    json_array_foreach(value, i, item)
    {
        char item_path[LV_PATH_MAX];
        snprintf(item_path, sizeof item_path, "%s/%zu", path, i);
        char *tag = read_label(in, item, item_path, TAG_MAX_CHARS);
        if (tag != NULL && !tags_contain(tags, tag))
            json_array_append_new(tags, json_string(tag));
        free(tag);
    }
    if (in->problems.count == problems_before)
        json_object_set_new(in->fields, column, tags);
    else
        json_decref(tags);
}

static void read_flag(struct input *in, const char *column, const json_t *value, const char *path)
{
    if (json_is_boolean(value))
        json_object_set(in->fields, column, (json_t *)value);
    else
        lv_problems_add(&in->problems, path, "must be true or false");
}

/* Variables are resolved by a batch job (strategy-language.md §8), so a library strategy may
 * hold them: the compiler reports each as a problem of its own with this message. */
#define UNRESOLVED_VARIABLE "unresolved variable $"

/* Validates the elements with the strategy compiler; every problem and warning is moved
 * under `path`. A strategy whose only problems are $variables is kept, with a warning. */
static void read_elements(struct input *in, const char *column, const json_t *value,
                          const char *path)
{
    if (!json_is_array(value)) {
        lv_problems_add(&in->problems, path, "must be an array of elements");
        return;
    }
    struct lv_problems problems = {0}, warnings = {0};
    struct lv_strategy *strategy = NULL;
    lv_strategy_compile(value, &strategy, &problems, &warnings);
    lv_strategy_free(strategy);
    for (int i = 0; i < problems.count; i++) {
        const struct lv_problem *p = &problems.items[i];
        char full[LV_PATH_MAX];
        snprintf(full, sizeof full, "%s%s", path, p->path);
        bool variable = strncmp(p->message, UNRESOLVED_VARIABLE, strlen(UNRESOLVED_VARIABLE)) == 0;
        if (variable)
            lv_problems_add(&in->warnings, full, "%s (runs only in a batch job that defines it)",
                            p->message);
        else
            lv_problems_add(&in->problems, full, "%s", p->message);
    }
    for (int i = 0; i < warnings.count; i++) {
        char full[LV_PATH_MAX];
        snprintf(full, sizeof full, "%s%s", path, warnings.items[i].path);
        lv_problems_add(&in->warnings, full, "%s", warnings.items[i].message);
    }
    lv_problems_free(&problems);
    lv_problems_free(&warnings);
    json_object_set(in->fields, column, (json_t *)value);
}

/* Every field a strategy request may carry, and the reader that checks and normalises it. */
static const struct field {
    const char *column;
    const char *alias; /* the builder's camelCase spelling, read on import only */
    field_reader read;
    bool importable; /* visibility is never taken from an imported document */
} fields[] = {
    {"name", NULL, read_name, true},
    {"description", NULL, read_description, true},
    {"elements", NULL, read_elements, true},
    {"benchmark_symbol", "benchmarkSymbol", read_symbol, true},
    {"start_date", "startDate", read_date, true},
    {"end_date", "endDate", read_date, true},
    {"tags", NULL, read_tags, true},
    {"is_public", NULL, read_flag, false},
    {"is_archived", NULL, read_flag, false},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static const struct field *find_field(const char *key, bool aliases)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].column, key) == 0 ||
            (aliases && fields[i].alias != NULL && strcmp(fields[i].alias, key) == 0))
            return &fields[i];
    return NULL;
}

/* Fills the defaults of every column the input left out (create, replace, import). */
static void complete_fields(struct input *in)
{
    static const char *const nulls[] = {"description", "start_date", "end_date", NULL};
    for (const char *const *column = nulls; *column != NULL; column++)
        if (json_object_get(in->fields, *column) == NULL)
            json_object_set_new(in->fields, *column, json_null());
    if (json_object_get(in->fields, "benchmark_symbol") == NULL)
        json_object_set_new(in->fields, "benchmark_symbol", json_string(DEFAULT_BENCHMARK));
    if (json_object_get(in->fields, "tags") == NULL)
        json_object_set_new(in->fields, "tags", json_array());
    if (json_object_get(in->fields, "is_public") == NULL)
        json_object_set_new(in->fields, "is_public", json_false());
    if (json_object_get(in->fields, "is_archived") == NULL)
        json_object_set_new(in->fields, "is_archived", json_false());
}

/* Reads `doc` (an object) into `in`. The snake_case spelling of a field wins over its
 * camelCase alias when a document has both. */
static void read_object(struct input *in, const json_t *doc)
{
    bool import = in->kind == INPUT_IMPORT;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)doc, key, value)
    {
        char path[LV_PATH_MAX];
        member_path(path, sizeof path, in->prefix, key);
        const struct field *field = find_field(key, import);
        if (field == NULL || (import && !field->importable)) {
            if (!import)
                lv_problems_add(&in->problems, path, "unknown field");
            continue;
        }
        bool is_alias = strcmp(key, field->column) != 0;
        if (is_alias && json_object_get(doc, field->column) != NULL)
            continue;
        field->read(in, field->column, value, path);
    }
}

static void require_field(struct input *in, const json_t *doc, const char *column)
{
    if (json_object_get(in->fields, column) != NULL)
        return;
    const struct field *field = find_field(column, false);
    bool given =
        json_object_get(doc, column) != NULL || (in->kind == INPUT_IMPORT && field->alias != NULL &&
                                                 json_object_get(doc, field->alias) != NULL);
    if (!given) { /* a field given but invalid has its problem already */
        char path[LV_PATH_MAX];
        member_path(path, sizeof path, in->prefix, column);
        lv_problems_add(&in->problems, path, "required");
    }
}

static int input_init(struct input *in, enum input_kind kind, const char *prefix)
{
    memset(in, 0, sizeof *in);
    in->kind = kind;
    in->prefix = prefix;
    in->fields = json_object();
    if (in->fields == NULL) {
        lv_problems_add(&in->problems, "", "out of memory");
        return -1;
    }
    return 0;
}

/* Reads a request body (or, for import, a strategy document) into `in` (which the caller
 * frees with input_free in every case). Returns 0 when there is no problem; otherwise
 * in->problems lists them all. */
static int read_input(struct input *in, enum input_kind kind, const json_t *doc, const char *prefix)
{
    if (input_init(in, kind, prefix) != 0)
        return -1;
    if (kind == INPUT_IMPORT && json_is_array(doc)) { /* a bare elements array */
        read_elements(in, "elements", doc, prefix);
    } else if (!json_is_object(doc)) {
        lv_problems_add(&in->problems, prefix,
                        kind == INPUT_IMPORT ? "must be a strategy document or an elements array"
                                             : "must be a JSON object");
        return -1;
    } else {
        read_object(in, doc);
        if (kind != INPUT_PATCH) {
            if (kind != INPUT_IMPORT)
                require_field(in, doc, "name");
            require_field(in, doc, "elements");
        }
    }
    if (kind == INPUT_IMPORT && json_object_get(in->fields, "name") == NULL)
        json_object_set_new(in->fields, "name", json_string(IMPORTED_NAME));
    const char *start = json_string_value(json_object_get(in->fields, "start_date"));
    const char *end = json_string_value(json_object_get(in->fields, "end_date"));
    if (start != NULL && end != NULL && strcmp(start, end) > 0) {
        char path[LV_PATH_MAX];
        member_path(path, sizeof path, prefix, "end_date");
        lv_problems_add(&in->problems, path, "must not be before start_date (%s)", start);
    }
    if (kind != INPUT_PATCH)
        complete_fields(in);
    return in->problems.count == 0 ? 0 : -1;
}

static void input_free(struct input *in)
{
    json_decref(in->fields);
    lv_problems_free(&in->problems);
    lv_problems_free(&in->warnings);
}

/* ---- Answers -------------------------------------------------------------------------------- */

static void answer_invalid(struct lv_req *req, const struct input *in)
{
    lv_resp_error(req, 400, "validation_failed", "the strategy is invalid",
                  lv_problems_to_details(&in->problems));
}

static void answer_not_found(struct lv_req *req)
{
    lv_resp_error(req, 404, "not_found", "no such strategy", NULL);
}

/* Sends a stored strategy with the input's warnings (weight sums, $variables). */
static void answer_strategy(struct lv_req *req, int status, json_t *strategy,
                            const struct input *in)
{
    json_object_set_new(strategy, "warnings", lv_problems_to_details(&in->warnings));
    if (status == 201) {
        char location[64];
        snprintf(location, sizeof location, "/api/v1/strategies/%lld",
                 (long long)json_integer_value(json_object_get(strategy, "id")));
        lv_resp_header(req, "Location", location);
    }
    lv_resp_json(req, status, strategy);
}

/* The {id} of the path, or NULL after answering 404. */
static const char *path_id(struct lv_req *req)
{
    return lv_api_path_id(req, "no such strategy");
}

/* ---- Handlers ------------------------------------------------------------------------------- */

/* Runs a statement returning one JSON row; answers 500/503 itself when it fails (or, which
 * cannot happen for the statements here, returns no row when one was expected). */
static json_t *query_row(struct lv_req *req, PGconn *conn, const char *sql, int n_params,
                         const char *const *params, int *found)
{
    struct lv_db_error err;
    json_t *row = lv_api_query_json(conn, sql, n_params, params, found, &err);
    if (*found < 0)
        lv_api_db_failure(req, &err);
    return row;
}

/* Inserts normalised fields (insert_sql) and answers 201 with the new strategy. */
static void insert_fields(struct lv_req *req, struct lv_app *app, const struct input *in)
{
    char *fields_text = json_dumps(in->fields, JSON_COMPACT);
    if (fields_text == NULL) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn != NULL) {
        char caller[16];
        lv_api_caller_text(req, caller);
        const char *params[] = {caller, fields_text};
        int found;
        json_t *row = query_row(req, conn, insert_sql, 2, params, &found);
        lv_db_release(app->pool, conn);
        if (found == 1)
            answer_strategy(req, 201, row, in);
        else if (found == 0)
            lv_resp_error(req, 500, "internal_error", "internal error", NULL);
    }
    free(fields_text);
}

static void create_strategy(struct lv_req *req, void *app)
{
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    struct input in;
    if (read_input(&in, INPUT_CREATE, body, "") == 0)
        insert_fields(req, app, &in);
    else
        answer_invalid(req, &in);
    input_free(&in);
}

/* Accepts a strategy document (our export, the builder's document with its UI fields, or a
 * bare elements array), or a wrapper holding one under "strategy". */
static void import_strategy(struct lv_req *req, void *app)
{
    json_t *body = lv_req_json_required(req);
    if (body == NULL)
        return;
    const json_t *wrapped = json_object_get(body, "strategy");
    bool is_wrapper = json_object_get(body, "elements") == NULL &&
                      (json_is_object(wrapped) || json_is_array(wrapped));
    struct input in;
    if (read_input(&in, INPUT_IMPORT, is_wrapper ? wrapped : body, is_wrapper ? "/strategy" : "") ==
        0)
        insert_fields(req, app, &in);
    else
        answer_invalid(req, &in);
    input_free(&in);
}

enum refusal {
    REFUSED_OWNED,   /* the caller's own strategy: the statement's own condition refused */
    REFUSED_ANSWERED /* 403, 404 or a database failure, already answered */
};

/* Explains a write that touched no row: someone else's public strategy gets 403, an unknown
 * or private one 404 (never reveal it exists); the caller's own is left to the caller. */
static enum refusal answer_refused_write(struct lv_req *req, PGconn *conn, const char *id,
                                         const char *caller)
{
    const char *params[] = {id, caller};
    char ownership[16];
    struct lv_db_error err;
    int found =
        lv_db_query_value(conn, ownership_sql, 2, params, ownership, sizeof ownership, &err);
    if (found < 0)
        lv_api_db_failure(req, &err);
    else if (strcmp(ownership, "owned") == 0)
        return REFUSED_OWNED;
    else if (strcmp(ownership, "public") == 0)
        lv_resp_error(req, 403, "forbidden",
                      "this public strategy belongs to another user: duplicate it to change it",
                      NULL);
    else
        answer_not_found(req);
    return REFUSED_ANSWERED;
}

/* The merged dates of a PATCH came out in the wrong order; the path names the date sent. */
static void answer_dates_out_of_order(struct lv_req *req, const struct input *in)
{
    bool sent_end = json_object_get(in->fields, "end_date") != NULL;
    lv_resp_error(req, 400, "validation_failed", "the strategy is invalid",
                  json_pack("[{s:s, s:s}]", "path", sent_end ? "/end_date" : "/start_date",
                            "message",
                            sent_end ? "must not be before the strategy's start_date"
                                     : "must not be after the strategy's end_date"));
}

/* PUT (whole strategy) and PATCH (some fields). */
static void update_strategy(struct lv_req *req, struct lv_app *app, enum input_kind kind)
{
    const char *id = path_id(req);
    json_t *body = id != NULL ? lv_req_json_required(req) : NULL;
    if (body == NULL)
        return;
    struct input in;
    char *fields_text = NULL;
    if (read_input(&in, kind, body, "") != 0) {
        answer_invalid(req, &in);
    } else if ((fields_text = json_dumps(in.fields, JSON_COMPACT)) == NULL) {
        lv_resp_error(req, 500, "internal_error", "internal error", NULL);
    } else {
        PGconn *conn = lv_api_db(req, app);
        if (conn != NULL) {
            char caller[16];
            lv_api_caller_text(req, caller);
            const char *params[] = {id, caller, fields_text};
            int found;
            json_t *row = query_row(req, conn, update_sql, 3, params, &found);
            if (found == 1)
                answer_strategy(req, 200, row, &in);
            else if (found == 0 && answer_refused_write(req, conn, id, caller) == REFUSED_OWNED)
                answer_dates_out_of_order(req, &in);
            lv_db_release(app->pool, conn);
        }
    }
    free(fields_text);
    input_free(&in);
}

static void replace_strategy(struct lv_req *req, void *app)
{
    update_strategy(req, app, INPUT_REPLACE);
}

static void patch_strategy(struct lv_req *req, void *app)
{
    update_strategy(req, app, INPUT_PATCH);
}

static void delete_strategy(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = path_id(req);
    PGconn *conn = id != NULL ? lv_api_db(req, app) : NULL;
    if (conn == NULL)
        return;
    char caller[16], deleted[16];
    lv_api_caller_text(req, caller);
    const char *params[] = {id, caller};
    struct lv_db_error err;
    int found = lv_db_query_value(conn, delete_sql, 2, params, deleted, sizeof deleted, &err);
    if (found == 1)
        lv_resp_empty(req, 204);
    else if (found < 0)
        lv_api_db_failure(req, &err);
    else if (answer_refused_write(req, conn, id, caller) == REFUSED_OWNED)
        lv_resp_error(req, 409, "strategy_deployed",
                      "the strategy is deployed: stop its active strategies before deleting "
                      "it (or archive it)",
                      NULL);
    lv_db_release(app->pool, conn);
}

/* Runs a read statement taking ($1 id, $2 caller) and returns its JSON, or NULL after
 * answering 404 or a database failure. */
static json_t *read_readable(struct lv_req *req, struct lv_app *app, const char *sql)
{
    const char *id = path_id(req);
    PGconn *conn = id != NULL ? lv_api_db(req, app) : NULL;
    if (conn == NULL)
        return NULL;
    char caller[16];
    lv_api_caller_text(req, caller);
    const char *params[] = {id, caller};
    int found;
    json_t *doc = query_row(req, conn, sql, 2, params, &found);
    lv_db_release(app->pool, conn);
    if (found == 0)
        answer_not_found(req);
    return doc;
}

static void get_strategy(struct lv_req *req, void *app)
{
    json_t *strategy = read_readable(req, app, read_sql);
    if (strategy != NULL)
        lv_resp_json(req, 200, strategy);
}

/* The strategy document as a download; POST /strategies/import reads it back. */
static void export_strategy(struct lv_req *req, void *app)
{
    json_t *doc = read_readable(req, app, export_sql);
    if (doc == NULL)
        return;
    char disposition[80];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"strategy-%s.json\"",
             lv_req_param(req, "id"));
    lv_resp_header(req, "Content-Disposition", disposition);
    lv_resp_json(req, 200, doc);
}

/* The optional body of a duplicate: {"name": "..."} names the copy; nothing else is read. */
static int read_duplicate_body(struct input *in, const json_t *body)
{
    if (input_init(in, INPUT_PATCH, "") != 0)
        return -1;
    if (body != NULL && !json_is_object(body)) {
        lv_problems_add(&in->problems, "", "must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        char path[LV_PATH_MAX];
        member_path(path, sizeof path, "", key);
        if (strcmp(key, "name") == 0)
            read_name(in, key, value, path);
        else
            lv_problems_add(&in->problems, path, "unknown field (only name may be given)");
    }
    return in->problems.count == 0 ? 0 : -1;
}

/* Copies a readable strategy (the caller's own or a public one) into the caller's library. */
static void duplicate_strategy(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *id = path_id(req);
    if (id == NULL)
        return;
    struct input in;
    if (read_duplicate_body(&in, lv_req_json(req)) != 0) {
        answer_invalid(req, &in);
        input_free(&in);
        return;
    }
    PGconn *conn = lv_api_db(req, app);
    if (conn != NULL) {
        char caller[16];
        lv_api_caller_text(req, caller);
        const char *params[] = {id, caller, json_string_value(json_object_get(in.fields, "name"))};
        int found;
        json_t *row = query_row(req, conn, duplicate_sql, 3, params, &found);
        lv_db_release(app->pool, conn);
        if (found == 1)
            answer_strategy(req, 201, row, &in);
        else if (found == 0)
            answer_not_found(req);
    }
    input_free(&in);
}

/* Reads a true/false query parameter; `all` (when allowed) gives NULL = no filter. Answers
 * 400 and returns -1 on anything else. */
static int query_flag(struct lv_req *req, const char *name, const char *fallback, bool allow_all,
                      const char **out)
{
    const char *value = lv_req_query(req, name);
    if (value == NULL)
        value = fallback;
    if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
        *out = value;
        return 0;
    }
    if (allow_all && strcmp(value, "all") == 0) {
        *out = NULL;
        return 0;
    }
    lv_api_bad_query(req, name, allow_all ? "must be true, false or all" : "must be true or false");
    return -1;
}

/* Reads an optional text query parameter of at most max_chars characters ("" = absent). */
static int query_text(struct lv_req *req, const char *name, size_t max_chars, const char **out)
{
    const char *value = lv_req_query(req, name);
    *out = value != NULL && value[0] != '\0' ? value : NULL;
    if (*out == NULL || (utf8_valid(*out) && utf8_chars(*out) <= max_chars))
        return 0;
    char message[64];
    if (utf8_valid(*out))
        snprintf(message, sizeof message, "must be at most %zu characters", max_chars);
    else
        snprintf(message, sizeof message, "must be UTF-8 text");
    lv_api_bad_query(req, name, message);
    return -1;
}

static int query_sort(struct lv_req *req, const char **out)
{
    const char *value = lv_req_query(req, "sort");
    *out = value != NULL ? value : sort_keys[0];
    for (const char *const *key = sort_keys; *key != NULL; key++)
        if (strcmp(*out, *key) == 0)
            return 0;
    lv_api_bad_query(req, "sort",
                     "must be one of updated_at, created_at, name, id, each optionally "
                     "prefixed with - for descending order");
    return -1;
}

/* GET /strategies?tag=&archived=false|true|all&public=false|true&q=&sort=&limit=&offset= */
static void list_strategies(struct lv_req *req, void *app_ptr)
{
    struct lv_app *app = app_ptr;
    const char *include_public, *archived, *tag, *search, *sort;
    struct lv_page page;
    if (query_flag(req, "public", "false", false, &include_public) != 0 ||
        query_flag(req, "archived", "false", true, &archived) != 0 ||
        query_text(req, "tag", TAG_MAX_CHARS, &tag) != 0 ||
        query_text(req, "q", QUERY_MAX_CHARS, &search) != 0 || query_sort(req, &sort) != 0 ||
        lv_api_read_page(req, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &page) != 0)
        return;
    PGconn *conn = lv_api_db(req, app);
    if (conn == NULL)
        return;
    char caller[16];
    lv_api_caller_text(req, caller);
    const char *params[] = {caller,          include_public,  tag, archived, search, sort,
                            page.limit_text, page.offset_text};
    struct lv_db_error err;
    int found;
    json_t *items = lv_api_query_json(conn, list_sql, 8, params, &found, &err);
    lv_db_release(app->pool, conn);
    if (found == 1)
        lv_resp_json(req, 200, items);
    else
        lv_api_db_failure(req, &err);
}

int lv_routes_strategies(struct lv_router *router, struct lv_error *err)
{
    const char *one = "/api/v1/strategies/{id}";
    return lv_router_add(router, "POST", "/api/v1/strategies", create_strategy, 0, err) ||
           lv_router_add(router, "GET", "/api/v1/strategies", list_strategies, 0, err) ||
           lv_router_add(router, "POST", "/api/v1/strategies/import", import_strategy, 0, err) ||
           lv_router_add(router, "GET", one, get_strategy, 0, err) ||
           lv_router_add(router, "PUT", one, replace_strategy, 0, err) ||
           lv_router_add(router, "PATCH", one, patch_strategy, 0, err) ||
           lv_router_add(router, "DELETE", one, delete_strategy, 0, err) ||
           lv_router_add(router, "POST", "/api/v1/strategies/{id}/duplicate", duplicate_strategy, 0,
                         err) ||
           lv_router_add(router, "GET", "/api/v1/strategies/{id}/export", export_strategy, 0, err);
}
