/* strategy_parse.c — reading and validating a strategy document (strategy-language.md §1–§2):
 * the element tree is checked and laid out in preorder; fields are read by strategy_fields.c. */
#include "core/strategy_fields.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WEIGHT_SUM_TOLERANCE 0.01

/* How a child group's members need their own `weight`. */
enum weight_rule {
    WEIGHTS_IGNORED,    /* equal weight node: shares are 1/n */
    WEIGHTS_ALWAYS,     /* defined weight node */
    WEIGHTS_IF_SEVERAL, /* gate/scale branch: one child takes everything, several share */
    WEIGHTS_SORT,       /* sort: as a branch, but only the winners' weights are compared */
};

static int parse_element(struct lv_parse *p, const json_t *el, int depth, int sort_depth,
                         const char *weight_needed);

/* Template mode: the variable in `field` of `obj` feeds `slot_field` of `owner` `target`. */
static void note_slot(struct lv_parse *p, const json_t *obj, const char *field,
                      enum lv_slot_field slot_field, enum lv_slot_owner owner, int target)
{
    lv_record_slot(p, json_object_get(obj, field), slot_field, -1);
    lv_claim_slots(p, owner, target);
}

static int new_node(struct lv_parse *p, enum lv_node_kind kind)
{
    struct lv_strategy *s = p->s;
    if (lv_grow((void **)&s->nodes, &s->cap_nodes, s->n_nodes + 1, sizeof *s->nodes) < 0) {
        p->out_of_memory = true;
        return -1;
    }
    struct lv_node *node = &s->nodes[s->n_nodes];
    memset(node, 0, sizeof *node);
    node->kind = kind;
    node->ticker = node->sort = node->series = -1;
    node->end = s->n_nodes + 1;
    return s->n_nodes++;
}

/* Parses the array at the current path as sibling elements. Their subtrees are consecutive
 * in preorder, so the group is described by its first node and its size. */
static int parse_siblings(struct lv_parse *p, const json_t *array, int depth, int sort_depth,
                          enum weight_rule rule, int *first)
{
    /* why a missing weight is a problem, or NULL */
    const char *weight_needed = NULL;
    if (rule == WEIGHTS_ALWAYS)
        weight_needed = "every child of a \"defined\" weight node needs a weight";
    else if (rule != WEIGHTS_IGNORED && json_array_size(array) > 1)
        weight_needed = "each of several children needs a weight, to share by";
    *first = p->s->n_nodes;
    int n = 0;
    size_t i;
    const json_t *child;
    json_array_foreach(array, i, child)
    {
        size_t saved = lv_path_push_index(p, i);
        if (parse_element(p, child, depth, sort_depth, weight_needed) >= 0)
            n++;
        lv_path_pop(p, saved);
    }
    return n;
}

/* Records a group of sibling nodes as a range of `kids`; returns its offset, or -1 when out
 * of memory. */
static int append_kids(struct lv_parse *p, int first, int n)
{
    struct lv_strategy *s = p->s;
    if (lv_grow((void **)&s->kids, &s->cap_kids, s->n_kids + n, sizeof *s->kids) < 0) {
        p->out_of_memory = true;
        return -1;
    }
    int offset = s->n_kids;
    for (int k = 0, node = first; k < n; k++, node = s->nodes[node].end)
        s->kids[s->n_kids++] = node;
    return offset;
}

/* Weights are relative shares (§3): a sum other than 100 works but deserves a note. */
static void check_weight_sum(struct lv_parse *p, int kid_off, int n, double missing_share)
{
    double sum = 0;
    for (int k = 0; k < n; k++) {
        int child_node = p->s->kids[kid_off + k];
        const struct lv_node *child = &p->s->nodes[child_node];
        if (!child->has_weight && missing_share < 0)
            return; /* already a problem */
        if (lv_weight_is_variable(p, child_node))
            return; /* the sum is only known once bound */
        sum += child->has_weight ? child->weight : missing_share;
    }
    if (sum == 0)
        lv_parse_warning(p, NULL, "weights sum to 0: this group places nothing");
    else if (fabs(sum - 100) > WEIGHT_SUM_TOLERANCE)
        lv_parse_warning(p, NULL,
                         "weights sum to %g, not 100: each is used as its share of the sum", sum);
}

/* Parses child array `field` of element `node` into its group `group`. */
static void parse_group(struct lv_parse *p, const json_t *el, const char *field, int node,
                        int group, int depth, int sort_depth, enum weight_rule rule)
{
    const json_t *array = json_object_get(el, field);
    size_t saved = lv_path_push(p, field);
    int first = p->s->n_nodes, n = 0;
    if (array != NULL && !json_is_null(array) && !json_is_array(array))
        lv_parse_problem(p, NULL, "must be an array of elements");
    else if (array != NULL)
        n = parse_siblings(p, array, depth + 1, sort_depth, rule, &first);
    int offset = append_kids(p, first, n);
    if (offset < 0)
        offset = n = 0; /* out of memory: the compile fails; the group stays empty */
    p->s->nodes[node].group_off[group] = offset;
    p->s->nodes[node].group_len[group] = n;
    if ((rule == WEIGHTS_ALWAYS && n > 0) || (rule == WEIGHTS_IF_SEVERAL && n > 1))
        check_weight_sum(p, offset, n, -1);
    lv_path_pop(p, saved);
}

static void parse_ticker(struct lv_parse *p, const json_t *el, int node)
{
    char ticker[LV_TICKER_MAX];
    p->s->n_ticker_nodes++;
    if (!lv_read_ticker(p, el, "ticker", ticker))
        return;
    /* a template keeps every occurrence apart: binding deduplicates */
    int id = p->slots ? lv_strategy_append_ticker(p->s, ticker)
                      : lv_strategy_intern_ticker(p->s, ticker);
    if (id < 0)
        p->out_of_memory = true;
    else
        lv_claim_slots(p, LV_OWNER_HELD, id);
    p->s->nodes[node].ticker = id;
}

static void parse_weight(struct lv_parse *p, const json_t *el, int node, int depth, int sort_depth)
{
    static const char *const modes[] = {"equal", "defined"};
    int mode = lv_read_choice(p, el, "weightMode", modes, 2, 0);
    p->s->nodes[node].defined = mode == 1;
    parse_group(p, el, "children", node, 0, depth, sort_depth,
                mode == 1 ? WEIGHTS_ALWAYS : WEIGHTS_IGNORED);
    if (p->s->nodes[node].group_len[0] == 0)
        lv_parse_warning(p, "children", "no children: this weight node places nothing");
}

static void parse_condition(struct lv_parse *p, const json_t *c)
{
    static const char *const operators[] = {"gt", "lt", "gte", "lte", "eq", "neq"};
    static const char *const compare_to[] = {"threshold", "value", "indicator"};
    if (!json_is_object(c)) {
        lv_parse_problem(p, NULL, "must be a condition object");
        return;
    }
    struct lv_cond cond = {.right = -1};
    cond.left = lv_read_series(p, c, "ticker", "indicator", "params", "period");
    cond.op = (enum lv_cmp_op)lv_read_choice(p, c, "operator", operators, 6, -1);
    int compare = lv_read_choice(p, c, "compareTo", compare_to, 3, 0);
    if (compare == 2) {
        bool has_ticker = json_object_get(c, "rightTicker") != NULL;
        bool has_ind = json_object_get(c, "rightIndicator") != NULL;
        if (!has_ticker)
            lv_parse_problem(p, "rightTicker",
                             "missing: compareTo \"indicator\" needs a right ticker");
        if (!has_ind)
            lv_parse_problem(p, "rightIndicator",
                             "missing: compareTo \"indicator\" needs a right indicator");
        if (has_ticker && has_ind)
            cond.right =
                lv_read_series(p, c, "rightTicker", "rightIndicator", "rightParams", "rightPeriod");
    } else if (compare >= 0) {
        enum lv_field_status status = lv_read_number(p, c, "threshold", &cond.threshold);
        if (status == LV_FIELD_ABSENT)
            lv_parse_problem(p, "threshold", "missing: compareTo \"%s\" needs a threshold",
                             compare_to[compare]);
        else if (status == LV_FIELD_VARIABLE)
            lv_record_slot(p, json_object_get(c, "threshold"), LV_SLOT_THRESHOLD, -1);
    }
    struct lv_strategy *s = p->s;
    if (lv_grow((void **)&s->conds, &s->cap_conds, s->n_conds + 1, sizeof *s->conds) < 0) {
        p->out_of_memory = true;
        return;
    }
    s->conds[s->n_conds++] = cond;
    lv_claim_slots(p, LV_OWNER_COND, s->n_conds - 1);
}

/* `conditions`, or the legacy singular `condition` read as a one-item list. */
static void parse_conditions(struct lv_parse *p, const json_t *el, int node)
{
    const json_t *list = json_object_get(el, "conditions");
    const json_t *legacy = json_object_get(el, "condition");
    int first = p->s->n_conds;
    bool list_empty =
        list == NULL || json_is_null(list) || (json_is_array(list) && json_array_size(list) == 0);
    if (list_empty && legacy != NULL && !json_is_null(legacy)) {
        size_t saved = lv_path_push(p, "condition");
        parse_condition(p, legacy);
        lv_path_pop(p, saved);
    } else if (list != NULL && !json_is_null(list) && !json_is_array(list)) {
        lv_parse_problem(p, "conditions", "must be an array of conditions");
    } else if (list_empty) {
        lv_parse_problem(p, "conditions", "a gate needs at least one condition");
    } else {
        size_t saved = lv_path_push(p, "conditions"), i;
        const json_t *c;
        json_array_foreach(list, i, c)
        {
            size_t item = lv_path_push_index(p, i);
            parse_condition(p, c);
            lv_path_pop(p, item);
        }
        lv_path_pop(p, saved);
    }
    p->s->nodes[node].cond_off = first;
    p->s->nodes[node].n_conds = p->s->n_conds - first;
}

static void parse_gate(struct lv_parse *p, const json_t *el, int node, int depth, int sort_depth)
{
    static const char *const modes[] = {"if", "if_all", "if_any", "if_none"};
    int mode = lv_read_choice(p, el, "conditionMode", modes, 4, 0);
    p->s->nodes[node].gate_mode = mode < 0 ? LV_GATE_IF : (enum lv_gate_mode)mode;
    parse_conditions(p, el, node);
    parse_group(p, el, "thenChildren", node, 0, depth, sort_depth, WEIGHTS_IF_SEVERAL);
    parse_group(p, el, "elseChildren", node, 1, depth, sort_depth, WEIGHTS_IF_SEVERAL);
}

static int new_sort(struct lv_parse *p, int node, int depth, enum lv_ind ind,
                    const struct lv_ind_params *params)
{
    struct lv_strategy *s = p->s;
    if (lv_grow((void **)&s->sorts, &s->cap_sorts, s->n_sorts + 1, sizeof *s->sorts) < 0 ||
        lv_grow((void **)&s->sort_child_off, &s->cap_sort_child_off, s->n_sorts + 1,
                sizeof *s->sort_child_off) < 0) {
        p->out_of_memory = true;
        return -1;
    }
    struct lv_sort_info *sort = &s->sorts[s->n_sorts];
    memset(sort, 0, sizeof *sort);
    sort->node = node;
    sort->depth = depth;
    sort->ind = ind;
    sort->params = *params;
    s->sort_child_off[s->n_sorts] = 0;
    return s->n_sorts++;
}

/* Records the sort's children and gives each its score series. */
static void add_sort_children(struct lv_parse *p, int sort_index, int node, bool ind_ok)
{
    struct lv_strategy *s = p->s;
    int n = s->nodes[node].group_len[0], need = s->n_sort_children + n;
    if (lv_grow((void **)&s->sort_child_nodes, &s->cap_sort_child_nodes, need, sizeof(int)) < 0 ||
        lv_grow((void **)&s->sort_score_series, &s->cap_sort_score_series, need, sizeof(int)) < 0) {
        p->out_of_memory = true;
        return;
    }
    struct lv_sort_info *sort = &s->sorts[sort_index];
    s->sort_child_off[sort_index] = s->n_sort_children;
    sort->n_children = n;
    for (int k = 0; k < n; k++) {
        int score =
            ind_ok ? lv_strategy_add_score_series(s, sort_index, k, sort->ind, &sort->params) : -1;
        if (ind_ok && score < 0)
            p->out_of_memory = true;
        s->sort_child_nodes[s->n_sort_children] = s->kids[s->nodes[node].group_off[0] + k];
        s->sort_score_series[s->n_sort_children++] = score;
    }
}

/* Children other than tickers are ranked on an equity curve, which only has a close (§5). */
static void check_sort_input(struct lv_parse *p, int node, enum lv_ind ind)
{
    static const char *const kinds[] = {"ticker", "weight", "gate", "sort", "scale"};
    const struct lv_strategy *s = p->s;
    if (lv_ind_spec(ind)->input == LV_INPUT_CLOSE)
        return;
    for (int k = 0; k < s->nodes[node].group_len[0]; k++) {
        const struct lv_node *child = &s->nodes[s->kids[s->nodes[node].group_off[0] + k]];
        if (child->kind != LV_NODE_TICKER) {
            lv_parse_problem(p, "indicator",
                             "%s needs more than closing prices: child %d is a %s, ranked on its "
                             "equity curve, so only close-based indicators can be used",
                             lv_ind_spec(ind)->name, k, kinds[child->kind]);
            return;
        }
    }
}

static void parse_sort(struct lv_parse *p, const json_t *el, int node, int depth, int sort_depth)
{
    static const char *const directions[] = {"top", "bottom"};
    struct lv_node *sort_node = &p->s->nodes[node];
    sort_node->top = lv_read_choice(p, el, "direction", directions, 2, 0) != 1;
    double count;
    enum lv_field_status count_status = lv_read_number(p, el, "count", &count);
    if (count_status == LV_FIELD_ABSENT)
        lv_parse_problem(p, "count", "missing");
    else if (count_status == LV_FIELD_OK && (count < 1 || count != floor(count)))
        lv_parse_problem(p, "count", "must be a whole number of at least 1, got %g", count);
    else if (count_status == LV_FIELD_OK)
        sort_node->count = count > INT_MAX ? INT_MAX : (int)count;
    else if (count_status == LV_FIELD_VARIABLE)
        note_slot(p, el, "count", LV_SLOT_COUNT, LV_OWNER_NODE, node);

    enum lv_ind ind = LV_IND_CUMULATIVE_RETURN;
    struct lv_ind_params params;
    bool ind_ok = lv_read_indicator(p, el, "indicator", &ind) &&
                  lv_read_params(p, el, "params", "period", ind, &params);
    if (!ind_ok) {
        lv_ind_default_params(ind, &params);
        lv_drop_slots(p);
    }
    int sort_index = new_sort(p, node, sort_depth, ind, &params);
    if (sort_index < 0)
        return;
    lv_claim_slots(p, LV_OWNER_SORT, node);
    p->s->nodes[node].sort = sort_index;
    parse_group(p, el, "children", node, 0, depth, sort_depth + 1, WEIGHTS_SORT);
    add_sort_children(p, sort_index, node, ind_ok);
    if (ind_ok)
        check_sort_input(p, node, ind);
    if (p->s->nodes[node].group_len[0] == 0)
        lv_parse_warning(p, "children", "no children: this sort places nothing");
}

static void parse_scale(struct lv_parse *p, const json_t *el, int node, int depth, int sort_depth)
{
    const json_t *config = json_object_get(el, "config");
    if (config == NULL || json_is_null(config)) {
        lv_parse_problem(p, "config", "missing");
    } else if (!json_is_object(config)) {
        lv_parse_problem(p, "config", "must be an object");
    } else {
        size_t saved = lv_path_push(p, "config");
        struct lv_node *scale = &p->s->nodes[node];
        scale->series = lv_read_series(p, config, "ticker", "indicator", "params", "period");
        enum lv_field_status min_status = lv_read_number(p, config, "rangeMin", &scale->range_min);
        enum lv_field_status max_status = lv_read_number(p, config, "rangeMax", &scale->range_max);
        if (min_status == LV_FIELD_ABSENT)
            lv_parse_problem(p, "rangeMin", "missing");
        if (max_status == LV_FIELD_ABSENT)
            lv_parse_problem(p, "rangeMax", "missing");
        if (min_status == LV_FIELD_VARIABLE)
            note_slot(p, config, "rangeMin", LV_SLOT_RANGE_MIN, LV_OWNER_NODE, node);
        if (max_status == LV_FIELD_VARIABLE)
            note_slot(p, config, "rangeMax", LV_SLOT_RANGE_MAX, LV_OWNER_NODE, node);
        if (min_status == LV_FIELD_OK && max_status == LV_FIELD_OK &&
            scale->range_min == scale->range_max)
            lv_parse_problem(p, "rangeMax", "must differ from rangeMin (both are %g)",
                             scale->range_min);
        lv_path_pop(p, saved);
    }
    parse_group(p, el, "fromChildren", node, 0, depth, sort_depth, WEIGHTS_IF_SEVERAL);
    parse_group(p, el, "toChildren", node, 1, depth, sort_depth, WEIGHTS_IF_SEVERAL);
}

/* Element kinds by their `type`, in enum lv_node_kind order. */
static const char *const element_types[] = {"ticker", "weight", "gate", "sort", "scale"};

static int read_type(struct lv_parse *p, const json_t *el)
{
    const json_t *type = json_object_get(el, "type");
    if (type == NULL || json_is_null(type)) {
        lv_parse_problem(p, "type", "missing");
        return -1;
    }
    if (lv_is_variable(type) && p->slots != NULL) {
        lv_note_structural(p);
        return -1;
    }
    for (int i = 0; i < 5 && json_is_string(type); i++)
        if (strcmp(json_string_value(type), element_types[i]) == 0)
            return i;
    char got[64];
    lv_describe_json(type, got, sizeof got);
    lv_parse_problem(p, "type", "unknown element type %s", got);
    return -1;
}

/* Parses one element (depth 1 = top level) and its subtree; returns its node index, or -1
 * when it could not become a node. Limits are checked before recursing. `weight_needed`
 * says why the element must have a weight (NULL when it need not). */
static int parse_element(struct lv_parse *p, const json_t *el, int depth, int sort_depth,
                         const char *weight_needed)
{
    if (depth > LV_STRATEGY_MAX_DEPTH) {
        if (!p->reported_depth)
            lv_parse_problem(p, NULL, "the tree is nested deeper than %d levels",
                             LV_STRATEGY_MAX_DEPTH);
        p->reported_depth = true;
        return -1;
    }
    if (p->s->n_nodes >= LV_STRATEGY_MAX_NODES) {
        if (!p->reported_size)
            lv_parse_problem(p, NULL, "the tree has more than %d elements", LV_STRATEGY_MAX_NODES);
        p->reported_size = true;
        return -1;
    }
    if (!json_is_object(el)) {
        lv_parse_problem(p, NULL, "must be an element object");
        return -1;
    }
    int kind = read_type(p, el);
    int node = kind < 0 ? -1 : new_node(p, (enum lv_node_kind)kind);
    if (node < 0)
        return -1;

    double weight = 0;
    enum lv_field_status status = lv_read_number(p, el, "weight", &weight);
    if (status == LV_FIELD_OK && weight < 0)
        lv_parse_problem(p, "weight", "must be at least 0, got %g", weight);
    else if (status == LV_FIELD_ABSENT && weight_needed != NULL)
        lv_parse_problem(p, "weight", "missing: %s", weight_needed);
    else if (status == LV_FIELD_VARIABLE)
        note_slot(p, el, "weight", LV_SLOT_WEIGHT, LV_OWNER_NODE, node);
    p->s->nodes[node].has_weight = status == LV_FIELD_OK;
    p->s->nodes[node].weight = status == LV_FIELD_OK ? weight : 0;

    switch ((enum lv_node_kind)kind) {
    case LV_NODE_TICKER:
        parse_ticker(p, el, node);
        break;
    case LV_NODE_WEIGHT:
        parse_weight(p, el, node, depth, sort_depth);
        break;
    case LV_NODE_GATE:
        parse_gate(p, el, node, depth, sort_depth);
        break;
    case LV_NODE_SORT:
        parse_sort(p, el, node, depth, sort_depth);
        break;
    case LV_NODE_SCALE:
        parse_scale(p, el, node, depth, sort_depth);
        break;
    }
    p->s->nodes[node].end = p->s->n_nodes;
    return node;
}

/* The top level: a group whose missing weights mean 100/n (§3). */
static void parse_top_level(struct lv_parse *p, const json_t *elements)
{
    size_t n_elements = json_array_size(elements);
    if (n_elements == 0) {
        lv_parse_problem(p, NULL, "must contain at least one element");
        return;
    }
    int first;
    int n = parse_siblings(p, elements, 1, 0, WEIGHTS_IGNORED, &first);
    p->s->top_off = append_kids(p, first, n);
    p->s->top_len = p->s->top_off < 0 ? 0 : n;
    if (p->s->top_len == (int)n_elements)
        check_weight_sum(p, p->s->top_off, n, 100.0 / n);
    if (p->s->n_ticker_nodes == 0)
        lv_parse_problem(p, NULL, "no ticker anywhere: the strategy could never hold anything");
    if (p->slots != NULL)
        p->slots->scanning_elements = true;
    lv_scan_variables(p, elements, 1);
    if (p->slots != NULL)
        p->slots->scanning_elements = false;
}

/* Template mode: the references outside "elements" (a name, dates) count as used too. */
static void scan_document_fields(struct lv_parse *p, const json_t *doc)
{
    const char *key;
    json_t *member;
    lv_path_pop(p, 0);
    json_object_foreach((json_t *)doc, key, member)
    {
        if (strcmp(key, "elements") == 0)
            continue;
        size_t saved = lv_path_push(p, key);
        lv_scan_variables(p, member, 1);
        lv_path_pop(p, saved);
    }
}

int lv_strategy_parse(const json_t *doc, struct lv_strategy *s, struct lv_problems *problems,
                      struct lv_problems *warnings)
{
    return lv_strategy_parse_with(doc, s, NULL, problems, warnings);
}

int lv_strategy_parse_with(const json_t *doc, struct lv_strategy *s, struct lv_slots *slots,
                           struct lv_problems *problems, struct lv_problems *warnings)
{
    struct lv_parse *p = calloc(1, sizeof *p); /* the path buffer is too big for the stack */
    if (p == NULL) {
        lv_problems_add(problems, "", "out of memory");
        return -1;
    }
    p->s = s;
    p->problems = problems;
    p->warnings = warnings;
    p->slots = slots;
    int problems_before = problems->count;

    const json_t *elements = doc;
    if (json_is_object(doc)) {
        const json_t *name = json_object_get(doc, "name");
        if (json_is_string(name) && (s->name = strdup(json_string_value(name))) == NULL)
            p->out_of_memory = true;
        if (lv_is_variable(name))
            note_slot(p, doc, "name", LV_SLOT_NAME, LV_OWNER_DOC, 0);
        elements = json_object_get(doc, "elements");
        lv_path_push(p, "elements");
    }
    if (json_is_array(elements))
        parse_top_level(p, elements);
    else if (json_is_object(doc) && elements == NULL)
        lv_parse_problem(p, NULL, "missing");
    else if (json_is_object(doc))
        lv_parse_problem(p, NULL, "must be an array of elements");
    else
        lv_parse_problem(p, NULL,
                         "a strategy must be an object with \"elements\" or an array of elements");
    if (slots != NULL && json_is_object(doc))
        scan_document_fields(p, doc);
    if (slots != NULL && slots->out_of_memory)
        p->out_of_memory = true;

    if (p->out_of_memory)
        lv_problems_add(problems, "", "out of memory");
    int failed = problems->count != problems_before || p->out_of_memory;
    free(p);
    return failed ? -1 : 0;
}
