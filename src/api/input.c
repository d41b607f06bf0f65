/* input.c — body checks for the account routes (see input.h). */
#include "api/input.h"

#include <stdio.h>
#include <string.h>

/* The JSON Pointer of a member name: "/" + name with "~" as "~0" and "/" as "~1",
 * truncated to fit. */
static void pointer_to(const char *name, char *out, size_t cap)
{
    size_t used = 0;
    out[used++] = '/';
    while (*name != '\0') {
        unsigned char lead = (unsigned char)*name;
        size_t char_len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (*name == '~' || *name == '/') {
            if (used + 2 >= cap)
                break;
            out[used++] = '~';
            out[used++] = *name == '~' ? '0' : '1';
            name++;
            continue;
        }
        if (used + char_len >= cap) /* never cut a character in half */
            break;
        for (size_t i = 0; i < char_len && *name != '\0'; i++)
            out[used++] = *name++;
    }
    out[used] = '\0';
}

int lv_input_object(const json_t *body, const char *const *allowed, struct lv_problems *problems)
{
    if (!json_is_object(body)) {
        lv_problems_add(problems, "", "must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        bool known = false;
        for (const char *const *name = allowed; *name != NULL && !known; name++)
            known = strcmp(key, *name) == 0;
        if (!known) {
            char path[LV_PATH_MAX];
            pointer_to(key, path, sizeof path);
            lv_problems_add(problems, path, "is not a known field");
        }
    }
    return 0;
}

/* Number of UTF-8 code points of a valid UTF-8 string (jansson only holds valid ones). */
static size_t utf8_chars(const char *text)
{
    size_t count = 0;
    for (; *text != '\0'; text++)
        count += ((unsigned char)*text & 0xC0) != 0x80;
    return count;
}

static bool has_control_char(const char *text)
{
    for (; *text != '\0'; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7F)
            return true;
    return false;
}

const char *lv_input_string(const json_t *body, const char *field, size_t min_chars,
                            size_t max_chars, bool required, struct lv_problems *problems)
{
    char path[LV_PATH_MAX];
    pointer_to(field, path, sizeof path);
    json_t *value = json_object_get(body, field);
    if (value == NULL || json_is_null(value)) {
        if (required)
            lv_problems_add(problems, path, "is required");
        return NULL;
    }
    if (!json_is_string(value)) {
        lv_problems_add(problems, path, "must be a string");
        return NULL;
    }
    const char *text = json_string_value(value);
    size_t chars = utf8_chars(text);
    if (strlen(text) != json_string_length(value) || has_control_char(text)) {
        lv_problems_add(problems, path, "must not contain control characters");
        return NULL;
    }
    if (chars < min_chars || chars > max_chars) {
        lv_problems_add(problems, path, "must be %zu to %zu characters long, got %zu", min_chars,
                        max_chars, chars);
        return NULL;
    }
    return text;
}

void lv_input_reject(struct lv_req *req, struct lv_problems *problems)
{
    const char *message =
        problems->count == 1 ? problems->items[0].message : "the request has invalid fields";
    char summary[LV_PATH_MAX + LV_PROBLEM_MSG + 4];
    if (problems->count == 1 && problems->items[0].path[0] != '\0')
        snprintf(summary, sizeof summary, "%s: %s", problems->items[0].path, message);
    else
        snprintf(summary, sizeof summary, "%s", message);
    lv_resp_error(req, 400, "validation_failed", summary, lv_problems_to_details(problems));
    lv_problems_free(problems);
}
