/* strategy_bind.c — batch templates (strategy-language.md §8): a document with $variables is
 * compiled once, then each run's values are bound into a copy of the compiled arrays. */
#include "core/strategy_fields.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The template's `base` is the document parsed in template mode (strategy_internal.h): its
 * series and held-ticker tables hold one entry per occurrence, variable fields hold
 * placeholders, and `slots` says where each variable goes. Binding copies `base`, writes the
 * values and checks them with the parser's own text rules (strategy_fields.h).
 *
 * Ids. A compile numbers series (and held tickers) by first appearance, so the bound tables
 * must be the distinct keys ordered by their first occurrence. Interning every occurrence
 * again would cost most of a bind, yet few keys depend on a value: the template groups the
 * constant occurrences once (a dedup plan), and a bind only looks up the varying ones, then
 * merges the few keys whose first occurrence moved (or that are new) into the constant
 * order.
 *
 * Problems are rare in a batch, and their messages belong to the parser, so the fast path
 * only decides accept or refuse; a refused run is compiled again from the substituted JSON
 * to report exactly what lv_strategy_compile reports.
 */

/* How the occurrences of one table (series or held tickers) group into ids. */
struct dedup_plan {
    int n_occurrences;
    int *canon; /* per occurrence: its constant key, or -1 when its key depends on a value */
    int n_const;
    int *first;   /* per constant key: its first occurrence (increasing) */
    int *varying; /* the occurrences whose key depends on a value, in order */
    int n_varying;
};

struct lv_strategy_template {
    struct lv_strategy base;
    struct lv_strategy consts; /* the constant keys interned, to look bound keys up */
    struct dedup_plan series_plan, ticker_plan;
    struct lv_slot *slots;
    int n_slots;
    char **names; /* owned copies of the variable names */
    int n_names;
    bool *in_elements; /* per name: it occurs under "elements" */
    bool needs_json;   /* bind by substituting into `doc` and compiling */
    json_t *doc;       /* owned copy of the document */
};

/* ---- Compiling a template ---------------------------------------------------------------- */

static void free_plan(struct dedup_plan *plan)
{
    free(plan->canon);
    free(plan->first);
    free(plan->varying);
}

static int alloc_plan(struct dedup_plan *plan, int n_occurrences)
{
    size_t n = (size_t)n_occurrences + 1;
    plan->n_occurrences = n_occurrences;
    plan->canon = malloc(n * sizeof *plan->canon);
    plan->first = malloc(n * sizeof *plan->first);
    plan->varying = malloc(n * sizeof *plan->varying);
    return plan->canon && plan->first && plan->varying ? 0 : -1;
}

/* Files occurrence `occurrence` under constant key `id` (-1 when out of memory); a key seen
 * for the first time (interning numbers keys in order) starts at this occurrence. */
static int plan_constant(struct dedup_plan *plan, int occurrence, int id)
{
    if (id < 0)
        return -1;
    if (id == plan->n_const)
        plan->first[plan->n_const++] = occurrence;
    plan->canon[occurrence] = id;
    return 0;
}

static void plan_varying(struct dedup_plan *plan, int occurrence)
{
    plan->canon[occurrence] = -1;
    plan->varying[plan->n_varying++] = occurrence;
}

/* Does a slot of this kind make its owner's key depend on a value? */
static bool slot_varies(const struct lv_slot *slot, enum lv_slot_owner owner, int target)
{
    return slot->owner == owner && slot->target == target &&
           (slot->field == LV_SLOT_TICKER || slot->field == LV_SLOT_PARAM ||
            slot->field == LV_SLOT_PERIOD_TEXT);
}

static bool occurrence_varies(const struct lv_strategy_template *t, enum lv_slot_owner owner,
                              int occurrence)
{
    for (int i = 0; i < t->n_slots; i++)
        if (slot_varies(&t->slots[i], owner, occurrence))
            return true;
    return false;
}

/* Groups the occurrences whose keys are constant, interning them in `consts`. Sort scores
 * are never shared: each is its own key. */
static int make_plans(struct lv_strategy_template *t)
{
    const struct lv_strategy *base = &t->base;
    struct lv_strategy *consts = &t->consts;
    if (alloc_plan(&t->series_plan, base->n_series) < 0 ||
        alloc_plan(&t->ticker_plan, base->n_tickers) < 0)
        return -1;
    for (int occurrence = 0; occurrence < base->n_series; occurrence++) {
        const struct lv_series_key *key = &base->series[occurrence];
        int id;
        if (occurrence_varies(t, LV_OWNER_SERIES, occurrence)) {
            plan_varying(&t->series_plan, occurrence);
            continue;
        }
        if (key->kind == LV_SERIES_INDICATOR)
            id = lv_strategy_intern_series(consts, key->ticker, key->ind, &key->params);
        else
            id =
                lv_strategy_add_score_series(consts, key->sort, key->child, key->ind, &key->params);
        if (plan_constant(&t->series_plan, occurrence, id) < 0)
            return -1;
    }
    for (int occurrence = 0; occurrence < base->n_tickers; occurrence++) {
        if (occurrence_varies(t, LV_OWNER_HELD, occurrence)) {
            plan_varying(&t->ticker_plan, occurrence);
            continue;
        }
        int id = lv_strategy_intern_ticker(consts, base->tickers[occurrence]);
        if (plan_constant(&t->ticker_plan, occurrence, id) < 0)
            return -1;
    }
    return 0;
}

static void append_problems(struct lv_problems *to, const struct lv_problems *from)
{
    for (int i = 0; to != NULL && i < from->count; i++)
        lv_problems_add(to, from->items[i].path, "%s", from->items[i].message);
}

static int copy_names(struct lv_strategy_template *t, const char *const *names, int n_names)
{
    t->n_names = n_names;
    t->names = calloc((size_t)n_names + 1, sizeof *t->names);
    t->in_elements = calloc((size_t)n_names + 1, sizeof *t->in_elements);
    if (t->names == NULL || t->in_elements == NULL)
        return -1;
    for (int k = 0; k < n_names; k++)
        if ((t->names[k] = strdup(names[k])) == NULL)
            return -1;
    return 0;
}

int lv_strategy_template_compile(const json_t *doc, const char *const *names, int n_names,
                                 struct lv_strategy_template **out, bool *used,
                                 struct lv_problems *problems, struct lv_problems *warnings)
{
    *out = NULL;
    for (int k = 0; used != NULL && k < n_names; k++)
        used[k] = false;
    struct lv_strategy_template *t = calloc(1, sizeof *t); /* owned here until *out */
    if (t == NULL || copy_names(t, names, n_names) < 0 || (t->doc = json_deep_copy(doc)) == NULL) {
        lv_problems_add(problems, "", "out of memory");
        lv_strategy_template_free(t);
        return -1;
    }
    struct lv_slots slots = {.names = (const char *const *)t->names,
                             .n_names = n_names,
                             .used = used,
                             .in_elements = t->in_elements};
    struct lv_problems found = {0}, noted = {0};
    int rc = lv_strategy_parse_with(doc, &t->base, &slots, &found, &noted);
    t->slots = slots.items;
    t->n_slots = slots.n;
    t->needs_json = slots.needs_json;
    /* With a variable deciding the shape, the parse could not see the whole tree: what it
     * found proves nothing, and each bind reports the real problems. */
    int problems_before = problems->count;
    if (!t->needs_json) {
        append_problems(problems, &found);
        append_problems(warnings, &noted);
        if (rc == 0 && (lv_strategy_finish(&t->base) < 0 || make_plans(t) < 0))
            lv_problems_add(problems, "", "out of memory");
    }
    append_problems(problems, &slots.undefined);
    bool failed = problems->count != problems_before || (rc != 0 && !t->needs_json);
    lv_problems_free(&found);
    lv_problems_free(&noted);
    lv_problems_free(&slots.undefined);
    if (failed) {
        lv_strategy_template_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void lv_strategy_template_free(struct lv_strategy_template *t)
{
    if (t == NULL)
        return;
    lv_strategy_release(&t->base);
    lv_strategy_release(&t->consts);
    free_plan(&t->series_plan);
    free_plan(&t->ticker_plan);
    free(t->slots);
    for (int k = 0; t->names != NULL && k < t->n_names; k++)
        free(t->names[k]);
    free(t->names);
    free(t->in_elements);
    json_decref(t->doc);
    free(t);
}

bool lv_strategy_template_needs_json(const struct lv_strategy_template *t)
{
    return t->needs_json;
}

/* ---- Binding by JSON (shape variables, and reporting problems) --------------------------- */

static int name_index(const struct lv_strategy_template *t, const char *text)
{
    char name[LV_VAR_NAME_MAX];
    if (!lv_variable_name(text, name))
        return -1;
    for (int k = 0; k < t->n_names; k++)
        if (strcasecmp(t->names[k], name) == 0)
            return k;
    return -1;
}

/* A deep copy of `value` with every reference to a defined name replaced by its value. */
static json_t *substitute(const struct lv_strategy_template *t, const json_t *value,
                          const char *const *values)
{
    if (json_is_string(value)) {
        int var = name_index(t, json_string_value(value));
        return var >= 0 ? json_string(values[var]) : json_deep_copy(value);
    }
    json_t *copy = json_is_object(value)  ? json_object()
                   : json_is_array(value) ? json_array()
                                          : NULL;
    if (copy == NULL)
        return json_deep_copy(value);
    const char *key;
    size_t i;
    json_t *member;
    if (json_is_object(value)) {
        json_object_foreach((json_t *)value, key, member)
        {
            if (json_object_set_new(copy, key, substitute(t, member, values)) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
    } else {
        json_array_foreach(value, i, member)
        {
            if (json_array_append_new(copy, substitute(t, member, values)) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
    }
    return copy;
}

static int bind_by_json(const struct lv_strategy_template *t, const char *const *values,
                        struct lv_strategy **out, struct lv_problems *problems)
{
    lv_strategy_free(*out);
    *out = NULL;
    json_t *doc = substitute(t, t->doc, values);
    if (doc == NULL) {
        lv_problems_add(problems, "", "out of memory");
        return -1;
    }
    int rc = lv_strategy_compile(doc, out, problems, NULL);
    json_decref(doc);
    return rc;
}

/* ---- Binding into compiled arrays -------------------------------------------------------- */

static int copy_array(void *dst_array, int *cap, const void *src, int n, size_t elem)
{
    void **dst = dst_array;
    if (lv_grow(dst, cap, n, elem) < 0)
        return -1;
    if (n > 0)
        memcpy(*dst, src, (size_t)n * elem);
    return 0;
}

/* Makes `s` a copy of the template's compiled arrays (series and held tickers still one per
 * occurrence), reusing its memory. A field added to struct lv_strategy must be copied here
 * (or rebuilt by the bind). */
static int copy_base(struct lv_strategy *s, const struct lv_strategy *base)
{
    if (copy_array(&s->nodes, &s->cap_nodes, base->nodes, base->n_nodes, sizeof *s->nodes) < 0 ||
        copy_array(&s->kids, &s->cap_kids, base->kids, base->n_kids, sizeof *s->kids) < 0 ||
        copy_array(&s->conds, &s->cap_conds, base->conds, base->n_conds, sizeof *s->conds) < 0 ||
        copy_array(&s->series, &s->cap_series, base->series, base->n_series, sizeof *s->series) <
            0 ||
        copy_array(&s->tickers, &s->cap_tickers, base->tickers, base->n_tickers,
                   sizeof *s->tickers) < 0 ||
        copy_array(&s->sorts, &s->cap_sorts, base->sorts, base->n_sorts, sizeof *s->sorts) < 0 ||
        copy_array(&s->sort_child_off, &s->cap_sort_child_off, base->sort_child_off, base->n_sorts,
                   sizeof *s->sort_child_off) < 0 ||
        copy_array(&s->sort_child_nodes, &s->cap_sort_child_nodes, base->sort_child_nodes,
                   base->n_sort_children, sizeof *s->sort_child_nodes) < 0 ||
        copy_array(&s->sort_score_series, &s->cap_sort_score_series, base->sort_score_series,
                   base->n_sort_children, sizeof *s->sort_score_series) < 0)
        return -1;
    s->n_nodes = base->n_nodes;
    s->n_kids = base->n_kids;
    s->top_off = base->top_off;
    s->top_len = base->top_len;
    s->n_conds = base->n_conds;
    s->n_series = base->n_series;
    s->n_tickers = base->n_tickers;
    s->n_ticker_nodes = base->n_ticker_nodes;
    s->n_sorts = base->n_sorts;
    s->n_sort_children = base->n_sort_children;
    /* nothing interns into a compiled strategy: a reused one needs no index */
    free(s->series_index.slots);
    free(s->ticker_index.slots);
    memset(&s->series_index, 0, sizeof s->series_index);
    memset(&s->ticker_index, 0, sizeof s->ticker_index);
    return 0;
}

static int set_name(struct lv_strategy *s, const char *name)
{
    if (name == s->name || (name && s->name && strcmp(name, s->name) == 0))
        return 0;
    free(s->name);
    s->name = name ? strdup(name) : NULL;
    return name && !s->name ? -1 : 0;
}

/* The indicator and parameters a PARAM or PERIOD_TEXT slot writes into. */
static struct lv_ind_params *slot_params(struct lv_strategy *s, const struct lv_slot *slot,
                                         enum lv_ind *ind)
{
    if (slot->owner == LV_OWNER_SORT) {
        struct lv_sort_info *sort = &s->sorts[s->nodes[slot->target].sort];
        *ind = sort->ind;
        return &sort->params;
    }
    *ind = s->series[slot->target].ind;
    return &s->series[slot->target].params;
}

/* A parameter set by a value: alone it must pass the checks the parser makes (the constant
 * ones passed when the template was compiled). */
static bool bind_params(struct lv_strategy *s, const struct lv_slot *slot, const char *text)
{
    enum lv_ind ind;
    struct lv_ind_params *params = slot_params(s, slot, &ind);
    bool given[LV_IND_MAX_PARAMS] = {false};
    if (slot->field == LV_SLOT_PARAM) {
        if (!lv_param_from_text(ind, slot->param, text, &params->v[slot->param],
                                &given[slot->param]))
            return false;
    } else if (!lv_period_from_text(ind, text, params, given)) {
        return false;
    }
    struct lv_error err;
    for (int i = 0; i < LV_IND_MAX_PARAMS; i++)
        if (given[i] && lv_param_check_alone(ind, params, i, &err) < 0)
            return false;
    return true;
}

/* Writes one value into its slot; false when the compile would refuse it. */
static bool bind_slot(struct lv_strategy *s, const struct lv_slot *slot, const char *text)
{
    double number;
    char ticker[LV_TICKER_MAX];
    switch (slot->field) {
    case LV_SLOT_WEIGHT:
        if (!lv_parse_decimal(text, &number) || number < 0)
            return false;
        s->nodes[slot->target].weight = number;
        s->nodes[slot->target].has_weight = true;
        return true;
    case LV_SLOT_COUNT:
        if (!lv_parse_decimal(text, &number) || number < 1 || number != floor(number))
            return false;
        s->nodes[slot->target].count = number > INT_MAX ? INT_MAX : (int)number;
        return true;
    case LV_SLOT_RANGE_MIN:
    case LV_SLOT_RANGE_MAX:
        if (!lv_parse_decimal(text, &number))
            return false;
        *(slot->field == LV_SLOT_RANGE_MIN ? &s->nodes[slot->target].range_min
                                           : &s->nodes[slot->target].range_max) = number;
        return true;
    case LV_SLOT_THRESHOLD:
        if (!lv_parse_decimal(text, &s->conds[slot->target].threshold))
            return false;
        return true;
    case LV_SLOT_TICKER:
        if (lv_ticker_from_text(text, ticker) != LV_TICKER_OK)
            return false;
        memcpy(slot->owner == LV_OWNER_HELD ? s->tickers[slot->target]
                                            : s->series[slot->target].ticker,
               ticker, sizeof ticker);
        return true;
    case LV_SLOT_PARAM:
    case LV_SLOT_PERIOD_TEXT:
        return bind_params(s, slot, text);
    case LV_SLOT_NAME:
        return true; /* see bind_fields */
    }
    return false;
}

/* Checks that need every value in place: a scale's range, a whole parameter set. A sort's
 * parameters are copied into its children's score series keys. */
static bool check_bound(struct lv_strategy *s, const struct lv_slot *slot)
{
    struct lv_error err;
    switch (slot->field) {
    case LV_SLOT_RANGE_MIN:
    case LV_SLOT_RANGE_MAX:
        return s->nodes[slot->target].range_min != s->nodes[slot->target].range_max;
    case LV_SLOT_PARAM:
    case LV_SLOT_PERIOD_TEXT: {
        enum lv_ind ind;
        const struct lv_ind_params *params = slot_params(s, slot, &ind);
        if (lv_ind_check_params(ind, params, &err) < 0)
            return false;
        if (slot->owner == LV_OWNER_SORT) {
            int sort = s->nodes[slot->target].sort;
            const int *scores = s->sort_score_series + s->sort_child_off[sort];
            for (int k = 0; k < s->sorts[sort].n_children; k++)
                s->series[scores[k]].params = *params;
        }
        return true;
    }
    default:
        return true;
    }
}

/* Writes every value; false when the compile would refuse one. -1 when out of memory. */
static int bind_fields(const struct lv_strategy_template *t, const char *const *values,
                       struct lv_strategy *s)
{
    const char *name = t->base.name;
    for (int i = 0; i < t->n_slots; i++) {
        const struct lv_slot *slot = &t->slots[i];
        if (slot->field == LV_SLOT_NAME)
            name = values[slot->var];
        else if (!bind_slot(s, slot, values[slot->var]))
            return 0;
    }
    for (int i = 0; i < t->n_slots; i++)
        if (!check_bound(s, &t->slots[i]))
            return 0;
    return set_name(s, name) < 0 ? -1 : 1;
}

/* How a bound key of a varying occurrence is found among the constant keys, and compared
 * with another varying occurrence's. */
struct key_ops {
    int (*find)(const struct lv_strategy *consts, const struct lv_strategy *s, int occurrence);
    bool (*same)(const struct lv_strategy *s, int a, int b);
};

static int find_series(const struct lv_strategy *consts, const struct lv_strategy *s, int occ)
{
    const struct lv_series_key *key = &s->series[occ];
    return lv_strategy_find_series(consts, key->ticker, key->ind, &key->params);
}

static bool same_series(const struct lv_strategy *s, int a, int b)
{
    const struct lv_series_key *x = &s->series[a], *y = &s->series[b];
    return x->ind == y->ind && strcmp(x->ticker, y->ticker) == 0 &&
           lv_ind_params_equal(&x->params, &y->params);
}

static int find_ticker(const struct lv_strategy *consts, const struct lv_strategy *s, int occ)
{
    return lv_strategy_find_ticker(consts, s->tickers[occ]);
}

static bool same_ticker(const struct lv_strategy *s, int a, int b)
{
    return strcmp(s->tickers[a], s->tickers[b]) == 0;
}

static const struct key_ops series_ops = {find_series, same_series};
static const struct key_ops ticker_ops = {find_ticker, same_ticker};

/* Working space of numbering one table; every array lives in the strategy's bind_scratch. */
struct numbering {
    int *occurrence_id; /* out: per occurrence, its id */
    int *order;         /* out: per id, its first occurrence (increasing) */
    int *const_first;   /* per constant key: its first occurrence once bound */
    int *const_id;
    int *thing;      /* per varying occurrence: its constant key, or -1 - its new key */
    int *new_id;     /* per new key */
    int *moved;      /* constant keys that start earlier once bound, and new keys: their */
    int *moved_what; /* first occurrence and what they are (as `thing`) */
};

static int carve_numbering(struct lv_strategy *s, const struct dedup_plan *plan,
                           struct numbering *num)
{
    int n_occ = plan->n_occurrences, n_const = plan->n_const, n_var = plan->n_varying;
    int need = n_occ + (n_const + n_var) + 2 * n_const + 4 * n_var + 1;
    if (lv_grow((void **)&s->bind_scratch, &s->cap_bind_scratch, need, sizeof(int)) < 0)
        return -1;
    int *next = s->bind_scratch;
    num->occurrence_id = next, next += n_occ;
    num->order = next, next += n_const + n_var;
    num->const_first = next, next += n_const;
    num->const_id = next, next += n_const;
    num->thing = next, next += n_var;
    num->new_id = next, next += n_var;
    num->moved = next, next += n_var;
    num->moved_what = next;
    return 0;
}

/* Finds what each varying occurrence's bound key is: a constant key (which may now start
 * earlier) or a new one. Lists the keys that moved or are new; returns how many. */
static int classify_varying(const struct lv_strategy_template *t, const struct lv_strategy *s,
                            const struct dedup_plan *plan, const struct key_ops *ops,
                            struct numbering *num)
{
    int n_moved = 0, n_new = 0;
    memcpy(num->const_first, plan->first, (size_t)plan->n_const * sizeof(int));
    for (int i = 0; i < plan->n_varying; i++) {
        int occ = plan->varying[i];
        int c = ops->find(&t->consts, s, occ);
        if (c >= 0) {
            num->thing[i] = c;
            if (occ < num->const_first[c]) { /* the first varying one is the earliest */
                num->const_first[c] = occ;
                num->moved[n_moved] = occ, num->moved_what[n_moved++] = c;
            }
            continue;
        }
        int same = 0;
        while (same < i && !(num->thing[same] < 0 && ops->same(s, plan->varying[same], occ)))
            same++;
        num->thing[i] = same < i ? num->thing[same] : -1 - n_new++;
        if (same == i)
            num->moved[n_moved] = occ, num->moved_what[n_moved++] = num->thing[i];
    }
    /* few entries: insertion sort by first occurrence */
    for (int i = 1; i < n_moved; i++)
        for (int j = i; j > 0 && num->moved[j - 1] > num->moved[j]; j--) {
            int occ = num->moved[j], what = num->moved_what[j];
            num->moved[j] = num->moved[j - 1], num->moved_what[j] = num->moved_what[j - 1];
            num->moved[j - 1] = occ, num->moved_what[j - 1] = what;
        }
    return n_moved;
}

/* Numbers the keys by first occurrence: the unmoved constant keys keep their relative order,
 * and the moved and new ones are merged in. Returns the number of ids. */
static int number_keys(const struct lv_strategy_template *t, const struct lv_strategy *s,
                       const struct dedup_plan *plan, const struct key_ops *ops,
                       struct numbering *num)
{
    int n_moved = classify_varying(t, s, plan, ops, num);
    int n_ids = 0, c = 0, m = 0;
    for (;;) {
        while (c < plan->n_const && num->const_first[c] != plan->first[c])
            c++; /* moved: comes from the merge list */
        bool have_const = c < plan->n_const, have_moved = m < n_moved;
        if (!have_const && !have_moved)
            break;
        if (have_const && (!have_moved || plan->first[c] < num->moved[m])) {
            num->order[n_ids] = plan->first[c];
            num->const_id[c++] = n_ids++;
            continue;
        }
        int what = num->moved_what[m];
        num->order[n_ids] = num->moved[m++];
        if (what >= 0)
            num->const_id[what] = n_ids++;
        else
            num->new_id[-1 - what] = n_ids++;
    }
    for (int occ = 0; occ < plan->n_occurrences; occ++)
        if (plan->canon[occ] >= 0)
            num->occurrence_id[occ] = num->const_id[plan->canon[occ]];
    for (int i = 0; i < plan->n_varying; i++) {
        int what = num->thing[i];
        num->occurrence_id[plan->varying[i]] =
            what >= 0 ? num->const_id[what] : num->new_id[-1 - what];
    }
    return n_ids;
}

/* Gives the series their ids and points every reader at them. Ids never exceed first
 * occurrences, so the table is compacted in place, front to back. */
static int number_series(const struct lv_strategy_template *t, struct lv_strategy *s)
{
    struct numbering num;
    if (carve_numbering(s, &t->series_plan, &num) < 0)
        return -1;
    int n_ids = number_keys(t, s, &t->series_plan, &series_ops, &num);
    for (int id = 0; id < n_ids; id++)
        if (num.order[id] != id)
            s->series[id] = s->series[num.order[id]];
    s->n_series = n_ids;
    const int *id_of = num.occurrence_id;
    for (int c = 0; c < s->n_conds; c++) {
        s->conds[c].left = id_of[s->conds[c].left];
        if (s->conds[c].right >= 0)
            s->conds[c].right = id_of[s->conds[c].right];
    }
    for (int i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].kind == LV_NODE_SCALE)
            s->nodes[i].series = id_of[s->nodes[i].series];
    for (int k = 0; k < s->n_sort_children; k++)
        if (s->sort_score_series[k] >= 0)
            s->sort_score_series[k] = id_of[s->sort_score_series[k]];
    return 0;
}

static int number_tickers(const struct lv_strategy_template *t, struct lv_strategy *s)
{
    struct numbering num;
    if (carve_numbering(s, &t->ticker_plan, &num) < 0)
        return -1;
    int n_ids = number_keys(t, s, &t->ticker_plan, &ticker_ops, &num);
    for (int id = 0; id < n_ids; id++)
        if (num.order[id] != id)
            memcpy(s->tickers[id], s->tickers[num.order[id]], LV_TICKER_MAX);
    s->n_tickers = n_ids;
    for (int i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].kind == LV_NODE_TICKER)
            s->nodes[i].ticker = num.occurrence_id[s->nodes[i].ticker];
    return 0;
}

/* A value that is itself a reference would be an unresolved variable once substituted. */
static bool values_are_plain(const struct lv_strategy_template *t, const char *const *values)
{
    char name[LV_VAR_NAME_MAX];
    for (int k = 0; k < t->n_names; k++)
        if (t->in_elements[k] && lv_variable_name(values[k], name))
            return false;
    return true;
}

int lv_strategy_template_bind(const struct lv_strategy_template *t, const char *const *values,
                              struct lv_strategy **out, struct lv_problems *problems)
{
    if (t->needs_json || !values_are_plain(t, values))
        return bind_by_json(t, values, out, problems);
    struct lv_strategy *s = *out != NULL ? *out : calloc(1, sizeof *s); /* the caller's */
    *out = s;
    int bound = s == NULL || copy_base(s, &t->base) < 0 ? -1 : bind_fields(t, values, s);
    if (bound == 0)
        return bind_by_json(t, values, out, problems); /* refused: report as the compile does */
    if (bound < 0 || number_series(t, s) < 0 || number_tickers(t, s) < 0 ||
        lv_strategy_link(s) < 0) {
        lv_strategy_free(s);
        *out = NULL;
        lv_problems_add(problems, "", "out of memory");
        return -1;
    }
    return 0;
}

/* ---- Variable footprints ----------------------------------------------------------------- */

int lv_strategy_template_n_nodes(const struct lv_strategy_template *t)
{
    return t->base.n_nodes;
}

/* The gate whose conditions include condition `cond`, or -1. */
static int gate_of_condition(const struct lv_strategy *base, int cond)
{
    for (int i = 0; i < base->n_nodes; i++) {
        const struct lv_node *node = &base->nodes[i];
        if (node->kind == LV_NODE_GATE && cond >= node->cond_off &&
            cond < node->cond_off + node->n_conds)
            return i;
    }
    return -1;
}

/* The ticker element of held-ticker occurrence `held` (in the template, one per element). */
static int node_of_held(const struct lv_strategy *base, int held)
{
    for (int i = 0; i < base->n_nodes; i++)
        if (base->nodes[i].kind == LV_NODE_TICKER && base->nodes[i].ticker == held)
            return i;
    return -1;
}

/* Does slot `slot` write into a node of [first, end)? A series occurrence belongs to the
 * nodes that read it (in the template each occurrence has its own series id). */
static bool slot_in_nodes(const struct lv_strategy *base, const struct lv_slot *slot, int first,
                          int end)
{
    int node = -1;
    switch (slot->owner) {
    case LV_OWNER_NODE:
    case LV_OWNER_SORT:
        node = slot->target;
        break;
    case LV_OWNER_COND:
        node = gate_of_condition(base, slot->target);
        break;
    case LV_OWNER_HELD:
        node = node_of_held(base, slot->target);
        break;
    case LV_OWNER_SERIES: {
        const struct lv_readers *readers = &base->series_readers;
        for (int r = readers->start[slot->target]; r < readers->start[slot->target + 1]; r++)
            if (readers->node[r] >= first && readers->node[r] < end)
                return true;
        return false;
    }
    case LV_OWNER_PENDING:
    case LV_OWNER_DOC:
        return false;
    }
    return node >= first && node < end;
}

int lv_strategy_template_node_vars(const struct lv_strategy_template *t, int node, int *vars,
                                   int cap)
{
    if (t->needs_json)
        return -1;
    const struct lv_strategy *base = &t->base;
    int first = node == LV_ROOT ? 0 : node;
    int end = node == LV_ROOT ? base->n_nodes : base->nodes[node].end;
    int n = 0;
    for (int var = 0; var < t->n_names; var++) {
        bool read = false;
        for (int i = 0; i < t->n_slots && !read; i++)
            read = t->slots[i].var == var && slot_in_nodes(base, &t->slots[i], first, end);
        if (read && n++ < cap)
            vars[n - 1] = var;
    }
    return n;
}
