/* bars_csv.c — strict daily-bar CSV parsing: split lines and fields, check every row, group
 * the rows by symbol into columnar arrays. */
#include "core/bars_csv.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum column { COL_DATE, COL_OPEN, COL_HIGH, COL_LOW, COL_CLOSE, COL_VOLUME, COL_SYMBOL, N_COLUMNS };

static const char *const column_names[N_COLUMNS] = {"date",  "open",   "high",  "low",
                                                    "close", "volume", "symbol"};

#define MAX_FIELDS  16
#define FIELD_SHOWN 40 /* longest field quoted back in a message */

/* A field: a slice of the input, trimmed and unquoted. */
struct field {
    const char *text;
    size_t len;
};

/* Parser state. `table` grows as rows arrive; `first_error` and `bad_lines` collect problems
 * so that the whole file is checked before anything is returned. */
struct parser {
    const char *file_name;
    struct lv_bar_table table;
    int *caps;                /* capacity of each series' arrays, parallel to table.series */
    int series_cap;           /* capacity of table.series and caps */
    int last_hit;             /* series of the previous row: files are usually grouped by symbol */
    int column_of[N_COLUMNS]; /* field index of each column, -1 when absent */
    int n_columns;
    char default_symbol[LV_SYMBOL_MAX];
    long line;
    long bad_lines;
    bool out_of_memory;
    struct lv_error first_error;
};

static void row_error(struct parser *p, const char *field_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a problem on the current line; only the first one keeps its message. */
static void row_error(struct parser *p, const char *field_name, const char *fmt, ...)
{
    if (p->bad_lines++ > 0)
        return;
    char detail[LV_ERROR_MSG / 2];
    va_list args;
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    if (field_name != NULL)
        lv_fail(&p->first_error, "%s:%ld: field %s: %s", p->file_name, p->line, field_name, detail);
    else
        lv_fail(&p->first_error, "%s:%ld: %s", p->file_name, p->line, detail);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits one line (without its line end) on commas, honouring double quotes around a
 * field. Returns the number of fields, or -1 for a quote that is not closed or is followed
 * by something other than a comma. */
static int split_fields(const char *line, size_t len, struct field *fields, int max_fields)
{
    int n = 0;
    size_t i = 0;
    for (;;) {
        while (i < len && is_space(line[i]))
            i++;
        struct field f = {line + i, 0};
        if (i < len && line[i] == '"') {
            const char *close = memchr(line + i + 1, '"', len - i - 1);
            if (close == NULL)
                return -1;
            f.text = line + i + 1;
            f.len = (size_t)(close - f.text);
            i = (size_t)(close - line) + 1;
            while (i < len && is_space(line[i]))
                i++;
            if (i < len && line[i] != ',')
                return -1;
        } else {
            size_t start = i;
            while (i < len && line[i] != ',')
                i++;
            size_t end = i;
            while (end > start && is_space(line[end - 1]))
                end--;
            f.len = end - start;
        }
        if (n < max_fields)
            fields[n] = f;
        n++;
        if (i >= len)
            return n;
        i++; /* skip the comma */
    }
}

static bool field_is(const struct field *f, const char *name)
{
    size_t len = strlen(name);
    if (f->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((f->text[i] | 0x20) != name[i])
            return false;
    return true;
}

/* Reads the header line into p->column_of. Returns false (with p->first_error set) when a
 * column is unknown, repeated or missing. */
static bool read_header(struct parser *p, const struct field *fields, int n)
{
    for (int c = 0; c < N_COLUMNS; c++)
        p->column_of[c] = -1;
    if (n > MAX_FIELDS) {
        row_error(p, NULL,
                  "header has %d columns; expected date,open,high,low,close,volume "
                  "and optionally symbol",
                  n);
        return false;
    }
    for (int i = 0; i < n; i++) {
        int c = 0;
        while (c < N_COLUMNS && !field_is(&fields[i], column_names[c]))
            c++;
        int shown = fields[i].len > FIELD_SHOWN ? FIELD_SHOWN : (int)fields[i].len;
        if (c == N_COLUMNS) {
            row_error(p, NULL,
                      "unknown column \"%.*s\" (expected date,open,high,low,close,"
                      "volume and optionally symbol)",
                      shown, fields[i].text);
            return false;
        }
        if (p->column_of[c] >= 0) {
            row_error(p, NULL, "column \"%s\" appears twice", column_names[c]);
            return false;
        }
        p->column_of[c] = i;
    }
    for (int c = 0; c < COL_SYMBOL; c++) {
        if (p->column_of[c] < 0) {
            row_error(p, NULL, "header has no \"%s\" column", column_names[c]);
            return false;
        }
    }
    if (p->column_of[COL_SYMBOL] < 0 && p->default_symbol[0] == '\0') {
        row_error(p, NULL, "no symbol column and no symbol given for this file");
        return false;
    }
    p->n_columns = n;
    return true;
}

/* Parses a plain decimal number (digits, sign, point, exponent: no hex, inf or nan). */
static bool parse_number(const struct field *f, double *out)
{
    char buf[64];
    if (f->len == 0 || f->len >= sizeof buf)
        return false;
    for (size_t i = 0; i < f->len; i++) {
        char c = f->text[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return false;
    }
    memcpy(buf, f->text, f->len);
    buf[f->len] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0' && isfinite(*out);
}

/* Series for a symbol, created on first sight. Returns -1 when out of memory. */
static int series_for(struct parser *p, const char *symbol)
{
    if (p->last_hit >= 0 && strcmp(p->table.series[p->last_hit].symbol, symbol) == 0)
        return p->last_hit;
    for (int i = 0; i < p->table.n_series; i++)
        if (strcmp(p->table.series[i].symbol, symbol) == 0)
            return p->last_hit = i;
    if (p->table.n_series == p->series_cap) {
        int cap = p->series_cap ? p->series_cap * 2 : 4;
        struct lv_bar_series *series = realloc(p->table.series, (size_t)cap * sizeof *series);
        if (series == NULL)
            return -1;
        p->table.series = series;
        int *caps = realloc(p->caps, (size_t)cap * sizeof *caps);
        if (caps == NULL)
            return -1;
        p->caps = caps;
        p->series_cap = cap;
    }
    int i = p->table.n_series++;
    memset(&p->table.series[i], 0, sizeof p->table.series[i]);
    memcpy(p->table.series[i].symbol, symbol, LV_SYMBOL_MAX);
    p->caps[i] = 0;
    return p->last_hit = i;
}

/* Makes room for one more row in series i. */
static bool series_reserve(struct parser *p, int i)
{
    struct lv_bar_series *s = &p->table.series[i];
    if ((int)s->n < p->caps[i])
        return true;
    size_t cap = p->caps[i] ? (size_t)p->caps[i] * 2 : 1024;
    lv_day *day = realloc(s->day, cap * sizeof *day);
    if (day == NULL)
        return false;
    s->day = day;
    double **cols[5] = {&s->open, &s->high, &s->low, &s->close, &s->volume};
    for (int c = 0; c < 5; c++) {
        double *grown = realloc(*cols[c], cap * sizeof(double));
        if (grown == NULL)
            return false;
        *cols[c] = grown;
    }
    p->caps[i] = (int)cap;
    return true;
}

/* Checks one data row and appends it to its symbol's series. */
static void read_row(struct parser *p, const struct field *fields, int n)
{
    if (n != p->n_columns) {
        row_error(p, NULL, "expected %d fields, got %d", p->n_columns, n);
        return;
    }
    const char *symbol = p->default_symbol;
    char symbol_buf[LV_SYMBOL_MAX];
    if (p->column_of[COL_SYMBOL] >= 0) {
        const struct field *f = &fields[p->column_of[COL_SYMBOL]];
        if (!lv_symbol_normalize(f->text, f->len, symbol_buf)) {
            int shown = f->len > FIELD_SHOWN ? FIELD_SHOWN : (int)f->len;
            row_error(p, "symbol", "\"%.*s\" is not a valid symbol", shown, f->text);
            return;
        }
        symbol = symbol_buf;
    }

    const struct field *date_field = &fields[p->column_of[COL_DATE]];
    char date_text[LV_DAY_TEXT] = "";
    lv_day day;
    if (date_field->len < sizeof date_text)
        memcpy(date_text, date_field->text, date_field->len), date_text[date_field->len] = 0;
    if (date_field->len >= sizeof date_text || !lv_day_parse(date_text, &day)) {
        int shown = date_field->len > FIELD_SHOWN ? FIELD_SHOWN : (int)date_field->len;
        row_error(p, "date", "\"%.*s\" is not a date YYYY-MM-DD", shown, date_field->text);
        return;
    }

    double value[COL_SYMBOL];
    for (int c = COL_OPEN; c <= COL_VOLUME; c++) {
        const struct field *f = &fields[p->column_of[c]];
        int shown = f->len > FIELD_SHOWN ? FIELD_SHOWN : (int)f->len;
        if (!parse_number(f, &value[c])) {
            row_error(p, column_names[c], "\"%.*s\" is not a number", shown, f->text);
            return;
        }
        if (c != COL_VOLUME && !(value[c] > 0)) {
            row_error(p, column_names[c], "price %.*s is not greater than 0", shown, f->text);
            return;
        }
        if (c == COL_VOLUME && value[c] < 0) {
            row_error(p, column_names[c], "volume %.*s is negative", shown, f->text);
            return;
        }
    }

    int i = series_for(p, symbol);
    if (i < 0 || !series_reserve(p, i)) {
        p->out_of_memory = true;
        return;
    }
    struct lv_bar_series *s = &p->table.series[i];
    if (s->n > 0 && day <= s->day[s->n - 1]) {
        char prev[LV_DAY_TEXT];
        row_error(p, "date", "%s is not after the previous %s row (%s)", date_text, s->symbol,
                  lv_day_format(s->day[s->n - 1], prev));
        return;
    }
    s->day[s->n] = day;
    s->open[s->n] = value[COL_OPEN];
    s->high[s->n] = value[COL_HIGH];
    s->low[s->n] = value[COL_LOW];
    s->close[s->n] = value[COL_CLOSE];
    s->volume[s->n] = value[COL_VOLUME];
    s->n++;
}

static bool is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(line[i]))
            return false;
    return true;
}

void lv_bar_table_free(struct lv_bar_table *table)
{
    for (int i = 0; i < table->n_series; i++) {
        struct lv_bar_series *s = &table->series[i];
        free(s->day);
        free(s->open);
        free(s->high);
        free(s->low);
        free(s->close);
        free(s->volume);
    }
    free(table->series);
    memset(table, 0, sizeof *table);
}

int lv_bars_csv_parse(const char *text, size_t len, const char *file_name,
                      const char *default_symbol, struct lv_bar_table *out, struct lv_error *err)
{
    memset(out, 0, sizeof *out);
    struct parser p = {.file_name = file_name ? file_name : "(input)", .last_hit = -1};
    if (default_symbol != NULL &&
        !lv_symbol_normalize(default_symbol, strlen(default_symbol), p.default_symbol))
        return lv_fail(err, "%s: \"%s\" is not a valid symbol", p.file_name, default_symbol);

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    bool have_header = false;
    long rows = 0;
    const char *pos = text, *end = text + len;
    while (pos < end && !p.out_of_memory) {
        const char *newline = memchr(pos, '\n', (size_t)(end - pos));
        const char *line_end = newline ? newline : end;
        size_t line_len = (size_t)(line_end - pos);
        if (line_len > 0 && pos[line_len - 1] == '\r')
            line_len--;
        p.line++;
        if (!is_blank(pos, line_len)) {
            struct field fields[MAX_FIELDS];
            int n = split_fields(pos, line_len, fields, MAX_FIELDS);
            if (n < 0) {
                row_error(&p, NULL, "unbalanced double quote");
                if (!have_header)
                    break;
            } else if (!have_header) {
                if (!read_header(&p, fields, n))
                    break;
                have_header = true;
            } else {
                read_row(&p, fields, n > MAX_FIELDS ? MAX_FIELDS + 1 : n);
                rows++;
            }
        }
        pos = newline ? newline + 1 : end;
    }

    int rc = 0;
    if (p.out_of_memory)
        rc = lv_fail(err, "%s: out of memory", p.file_name);
    else if (p.bad_lines == 1)
        rc = lv_fail(err, "%s", p.first_error.message);
    else if (p.bad_lines > 1)
        rc = lv_fail(err, "%s (and %ld more bad lines)", p.first_error.message, p.bad_lines - 1);
    else if (!have_header)
        rc = lv_fail(err, "%s: empty file (expected a header date,open,high,low,close,volume)",
                     p.file_name);
    else if (rows == 0)
        rc = lv_fail(err, "%s: no rows after the header", p.file_name);
    free(p.caps);
    if (rc != 0) {
        lv_bar_table_free(&p.table);
        return rc;
    }
    *out = p.table;
    return 0;
}
