/* backtest.c — one backtest (strategy-language.md §5–§6): inputs aligned to the benchmark's
 * trading grid, sort scores from synthetic series, the window start, and the daily loop.
 *
 * Grid day k is the benchmark's bar k; the "full grid" is every benchmark bar up to the end
 * date, so sort series can start before the requested start. Every series keeps its own bars;
 * an alignment array (cached per symbol) maps grid day k to the symbol's bar at or before it. */
#include "core/backtest.h"

#include "core/backtest_memo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(LV_SYMBOL_MAX == LV_TICKER_MAX, "symbols and tickers share one size");

#define GAPS_SHOWN      3     /* dates quoted in an aggregated warning */
#define WEIGHT_EPS      1e-12 /* weight differences below this are rounding, not trades */
#define DESCRIPTION     160
#define PREFETCH_DAYS   16 /* how far ahead prefetch_returns fetches */
#define PREFETCH_STRIDE 8  /* doubles per cache line */

/* ---- Workspace: per-thread buffers that only grow ------------------------------------------ */

enum ws_slot {
    WS_SOURCES,
    WS_HOLDINGS,
    WS_COLUMNS,
    WS_WEIGHTS,
    WS_SERIES_IDS,
    WS_TICKER_IDS,
    WS_SCORES,
    WS_CHILD_EQUITY,
    WS_SYNTHETIC,
    WS_IND_SCRATCH,
    WS_SYMBOLS,
    WS_SUBTREES,
    WS_BASES,
    WS_TICKER_OF_SYMBOL,
    WS_FILL_TICKERS,
    WS_FILL_WEIGHTS,
    WS_HELD_IDS,
    WS_CHANGED,
    WS_N_SLOTS
};

struct lv_backtest_workspace {
    void *buf[WS_N_SLOTS];
    size_t size[WS_N_SLOTS];
    bool metrics_only;              /* lv_backtest_workspace_metrics_only */
    struct lv_evaluator *evaluator; /* bound to each run's strategy; NULL until the first */
    struct lv_alloc alloc;
    int alloc_cap; /* tickers alloc has room for */
};

struct lv_backtest_workspace *lv_backtest_workspace_new(void)
{
    return calloc(1, sizeof(struct lv_backtest_workspace));
}

void lv_backtest_workspace_free(struct lv_backtest_workspace *ws)
{
    if (ws == NULL)
        return;
    for (int i = 0; i < WS_N_SLOTS; i++)
        free(ws->buf[i]);
    lv_evaluator_free(ws->evaluator);
    lv_alloc_free(&ws->alloc);
    free(ws);
}

void lv_backtest_workspace_metrics_only(struct lv_backtest_workspace *ws, bool metrics_only)
{
    ws->metrics_only = metrics_only;
}

/* Buffer `slot` with room for `bytes`; its contents are undefined. NULL when out of memory. */
static void *ws_get(struct lv_backtest_workspace *ws, enum ws_slot slot, size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (ws->size[slot] < bytes) {
        void *grown = realloc(ws->buf[slot], bytes);
        if (grown == NULL)
            return NULL;
        ws->buf[slot] = grown;
        ws->size[slot] = bytes;
    }
    return ws->buf[slot];
}

/* ---- Run state ----------------------------------------------------------------------------- */

/* One series on the grid: values[k] is its value on grid day k (NaN when undefined or when
 * its symbol has no bar that day). Indicators come aligned from the shared cache; sort
 * scores are computed into the workspace. */
struct source {
    const double *values;
    size_t first; /* first grid day with a value; n_grid when none (or not yet resolved, for
                     a sort score) */
};

/* A ticker the strategy can hold. */
struct holding {
    int symbol; /* market symbol id */
    const struct lv_symbol_bars *bars;
    const int32_t *align;
    const double *returns; /* per grid day, from the shared cache */
    size_t first;          /* first grid day on or after its first bar */
};

/* A kind of data gap, counted and quoted by its first few occurrences. */
struct gaps {
    long count;
    lv_day day[GAPS_SHOWN];
    int what[GAPS_SHOWN]; /* series id or ticker id */
};

struct run {
    const struct lv_strategy *strategy;
    struct lv_series_cache *cache;
    const struct lv_backtest_options *options;
    struct lv_backtest_workspace *ws;
    struct lv_backtest_result *out;
    struct lv_error *err;
    struct lv_backtest_memo *memo; /* NULL: a run on its own */
    const char *const *values;     /* with a memo: the values the strategy was bound with */

    const struct lv_symbol_bars *grid; /* the benchmark's bars */
    int grid_symbol;
    size_t n_grid; /* benchmark bars dated on or before the end */

    int n_series, n_tickers;
    struct source *sources;         /* n_series */
    const double **columns;         /* n_series: sources[id].values, as the evaluator reads */
    struct holding *holdings;       /* n_tickers */
    double *held, *target, *listed; /* n_tickers weights: drifted, chosen, last listed */
    /* The tickers whose held weight may be non-zero, ascending (all others hold exactly 0):
     * a strategy holds a few of its tickers, and hold() visits only these. */
    int *held_ids, n_held;
    bool metrics_only; /* the workspace's flag: no positions, benchmark metrics or warnings */
    int *series_ids, *ticker_ids; /* scratch for subtree queries */

    struct lv_evaluator *evaluator; /* the workspace's */
    struct lv_alloc *alloc;         /* the workspace's */
    size_t gates_from;              /* the evaluator's gate table covers [gates_from, n_grid) */
    struct gaps missing_inputs;     /* decisions of the main loop */
    struct gaps missing_in_sorts;   /* decisions of sort branches simulated alone */
    struct gaps held_without_bar;
};

/* One pass of the daily loop: the whole strategy, or a sort child alone (§5). */
struct sim {
    int root;           /* LV_ROOT or a node */
    const int *tickers; /* the tickers root can hold, ascending: the only weights it moves */
    int n_tickers;
    size_t first, last; /* grid days; decisions at first..last−1 */
    double capital;
    double *equity; /* out: last − first + 1 values */
    bool record;    /* the main run: list positions, count trades */
    struct lv_trading_stats stats;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* First grid day dated on or after d (n_grid when none). */
static size_t grid_index_from(const struct run *run, lv_day d)
{
    size_t k = (size_t)(lv_bars_at_or_before(run->grid, d - 1) + 1);
    return k < run->n_grid ? k : run->n_grid;
}

/* Close of a held ticker on grid day k, carried from its last bar when it has none that day. */
static double held_price(const struct holding *h, size_t k)
{
    int32_t i = h->align[k];
    return i >= 0 ? h->bars->close[i] : NAN;
}

static bool has_bar(const struct run *run, const struct holding *h, size_t k)
{
    int32_t i = h->align[k];
    return i >= 0 && h->bars->day[i] == run->grid->day[k];
}

static void note_gap(struct gaps *g, lv_day day, int what)
{
    if (g->count < GAPS_SHOWN) {
        g->day[g->count] = day;
        g->what[g->count] = what;
    }
    g->count++;
}

/* ---- Descriptions for messages ------------------------------------------------------------- */

/* Appends formatted text to buf (size bytes) at *len, never overflowing. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size)
        return;
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, args);
    va_end(args);
    if (n > 0)
        *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/* "SMA(period=200)", "CURRENT_PRICE", "VOLATILITY(period=20, annualize=true)". */
static void describe_indicator(enum lv_ind kind, const struct lv_ind_params *params, char *buf,
                               size_t size, size_t *len)
{
    const struct lv_ind_spec *spec = lv_ind_spec(kind);
    append(buf, size, len, "%s", spec->name);
    int shown = 0;
    for (int i = 0; i < spec->n_params; i++) {
        const struct lv_ind_param_spec *p = &spec->params[i];
        if (p->optional && params->v[i] == 0)
            continue;
        append(buf, size, len, "%s%s=", shown++ ? ", " : "(", p->name);
        if (p->boolean)
            append(buf, size, len, "%s", params->v[i] != 0 ? "true" : "false");
        else
            append(buf, size, len, "%g", params->v[i]);
    }
    if (shown)
        append(buf, size, len, ")");
}

/* "sort by RETURN(period=60) over SPY, QQQ, node 12". */
static void describe_sort(const struct run *run, const struct lv_sort_info *sort, char *buf,
                          size_t size, size_t *len)
{
    append(buf, size, len, "sort by ");
    describe_indicator(sort->ind, &sort->params, buf, size, len);
    append(buf, size, len, " over ");
    for (int c = 0; c < sort->n_children; c++) {
        int t = lv_strategy_node_ticker(run->strategy, sort->child_nodes[c]);
        if (t >= 0)
            append(buf, size, len, "%s%s", c ? ", " : "", lv_strategy_ticker(run->strategy, t));
        else
            append(buf, size, len, "%snode %d", c ? ", " : "", sort->child_nodes[c]);
    }
}

/* "SPY SMA(period=200)" or "score of child 2 of sort by …". */
static void describe_series(const struct run *run, int id, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    const struct lv_series_key *key = lv_strategy_series(run->strategy, id);
    if (key->kind == LV_SERIES_INDICATOR) {
        append(buf, size, &len, "%s ", key->ticker);
        describe_indicator(key->ind, &key->params, buf, size, &len);
    } else {
        append(buf, size, &len, "score of child %d of ", key->child + 1);
        describe_sort(run, lv_strategy_sort(run->strategy, key->sort), buf, size, &len);
    }
}

/* ---- Preparing the inputs ------------------------------------------------------------------ */

/* Every symbol the strategy reads must have bars: one error names all that are missing. */
static int check_symbols(struct run *run, const struct lv_market *market)
{
    int cap = run->n_tickers + run->n_series + 1;
    char(*symbols)[LV_SYMBOL_MAX] = ws_get(run->ws, WS_SYMBOLS, (size_t)cap * LV_SYMBOL_MAX);
    if (symbols == NULL)
        return lv_fail(run->err, "out of memory");
    int n = lv_backtest_symbols(run->strategy, run->options, symbols, cap);
    char missing[LV_ERROR_MSG - 64];
    size_t len = 0;
    int n_missing = 0;
    for (int i = 0; i < n; i++)
        if (lv_market_find(market, symbols[i]) < 0)
            append(missing, sizeof missing, &len, "%s%s", n_missing++ ? ", " : "", symbols[i]);
    if (n_missing == 0)
        return 0;
    return lv_fail(run->err, "no bars for %s %s", n_missing > 1 ? "symbols" : "symbol", missing);
}

/* Indicator series from the shared cache; sort scores get their grid slice, filled later. */
static int prepare_sources(struct run *run, const struct lv_market *market)
{
    double *scores = NULL;
    int n_scores = 0;
    for (int id = 0; id < run->n_series; id++)
        n_scores += lv_strategy_series(run->strategy, id)->kind == LV_SERIES_SORT_SCORE;
    if (n_scores > 0) {
        scores = ws_get(run->ws, WS_SCORES, (size_t)n_scores * run->n_grid * sizeof(double));
        if (scores == NULL)
            return lv_fail(run->err, "out of memory");
    }
    for (int id = 0; id < run->n_series; id++) {
        const struct lv_series_key *key = lv_strategy_series(run->strategy, id);
        struct source *src = &run->sources[id];
        memset(src, 0, sizeof *src);
        if (key->kind == LV_SERIES_SORT_SCORE) {
            src->values = run->columns[id] = scores;
            scores += run->n_grid;
            src->first = run->n_grid;
            continue;
        }
        int symbol = lv_market_find(market, key->ticker);
        struct lv_series series;
        struct lv_error why;
        if (lv_series_cache_get_aligned(run->cache, symbol, key->ind, &key->params,
                                        run->grid_symbol, &series, &why) != 0) {
            char name[DESCRIPTION];
            describe_series(run, id, name, sizeof name);
            return lv_fail(run->err, "%s: %s", name, why.message);
        }
        src->values = run->columns[id] = series.values;
        src->first = series.first_defined < run->n_grid ? series.first_defined : run->n_grid;
    }
    return 0;
}

static int prepare_holdings(struct run *run, const struct lv_market *market)
{
    for (int t = 0; t < run->n_tickers; t++) {
        int symbol = lv_market_find(market, lv_strategy_ticker(run->strategy, t));
        struct holding *h = &run->holdings[t];
        h->symbol = symbol;
        h->bars = lv_market_bars(market, symbol);
        h->align = lv_series_cache_alignment(run->cache, symbol, run->grid_symbol);
        h->returns = lv_series_cache_returns(run->cache, symbol, run->grid_symbol);
        if (h->align == NULL || h->returns == NULL)
            return lv_fail(run->err, "out of memory");
        h->first = grid_index_from(run, h->bars->day[0]);
    }
    return 0;
}

/* The input read under `node` that is defined last: its grid day, and which one it is
 * (*series >= 0 for a series, else *ticker >= 0 for a held ticker). */
static size_t latest_input(struct run *run, int node, int *series, int *ticker)
{
    size_t latest = 0;
    bool found = false;
    *series = *ticker = -1;
    int n = lv_strategy_subtree_series(run->strategy, node, run->series_ids, run->n_series);
    for (int i = 0; i < n; i++) {
        const struct source *src = &run->sources[run->series_ids[i]];
        if (!found || src->first > latest) {
            latest = src->first;
            *series = run->series_ids[i];
            found = true;
        }
    }
    n = lv_strategy_subtree_tickers(run->strategy, node, run->ticker_ids, run->n_tickers);
    for (int i = 0; i < n; i++) {
        size_t first = run->holdings[run->ticker_ids[i]].first;
        if (!found || first > latest) {
            latest = first;
            *series = -1;
            *ticker = run->ticker_ids[i];
            found = true;
        }
    }
    return latest;
}

/* ---- The daily loop ------------------------------------------------------------------------ */

static bool calendar_trade_day(enum lv_rebalance rebalance, lv_day prev, lv_day day)
{
    switch (rebalance) {
    case LV_REBALANCE_WEEKLY:
        return lv_day_new_week(prev, day);
    case LV_REBALANCE_MONTHLY:
        return lv_day_new_month(prev, day);
    case LV_REBALANCE_QUARTERLY:
        return lv_day_new_quarter(prev, day);
    case LV_REBALANCE_YEARLY:
        return lv_day_new_year(prev, day);
    default:
        return true;
    }
}

/* Evaluates sim->root with the values of grid day k into run->target. */
static void decide(struct run *run, const struct sim *sim, size_t k)
{
    struct lv_eval_report report = {0, -1};
    lv_evaluate_day(run->evaluator, sim->root, run->columns, k, run->alloc, &report);
    if (report.n_missing > 0)
        note_gap(&run->missing_inputs, run->grid->day[k], report.first_missing);
    /* Tickers outside sim->tickers are never chosen and stay 0. */
    for (int i = 0; i < sim->n_tickers; i++)
        run->target[sim->tickers[i]] = 0;
    for (int j = 0; j < run->alloc->n; j++)
        run->target[run->alloc->ticker[j]] += run->alloc->weight[j];
}

/* Appends one row to the result's positions list. */
static void add_position(struct run *run, lv_day day, int ticker, double weight)
{
    struct lv_backtest_result *out = run->out;
    if (out->n_positions == out->positions_cap) {
        size_t cap = out->positions_cap ? out->positions_cap * 2 : 64;
        struct lv_position *grown = realloc(out->positions, cap * sizeof *grown);
        if (grown == NULL)
            return;
        out->positions = grown;
        out->positions_cap = cap;
    }
    struct lv_position *p = &out->positions[out->n_positions++];
    p->day = day;
    const char *name = lv_strategy_ticker(run->strategy, ticker);
    size_t len = strnlen(name, sizeof p->ticker - 1);
    memcpy(p->ticker, name, len);
    p->ticker[len] = '\0';
    p->weight = weight;
}

/* Lists the target chosen on `day` when it is the first or differs from the last listed:
 * the tickers it holds in allocation order, then a weight-0 row for each one it dropped. */
static void list_positions(struct run *run, lv_day day, bool first)
{
    bool differs = first;
    for (int i = 0; i < run->n_tickers && !differs; i++)
        differs = fabs(run->target[i] - run->listed[i]) > WEIGHT_EPS;
    if (!differs)
        return;
    for (int j = 0; j < run->alloc->n; j++) {
        int t = run->alloc->ticker[j];
        if (run->alloc->weight[j] > 0)
            add_position(run, day, t, run->target[t]);
    }
    for (int t = 0; t < run->n_tickers; t++)
        if (run->listed[t] > 0 && run->target[t] <= 0)
            add_position(run, day, t, 0);
    memcpy(run->listed, run->target, (size_t)run->n_tickers * sizeof(double));
}

/* Moves the drifted weights to the target at the close of grid day k: charges the costs on
 * the weight moved, counts the trades. Returns the equity after costs. */
static double trade(struct run *run, struct sim *sim, size_t k, double equity)
{
    double moved = 0;
    run->n_held = 0;
    for (int i = 0; i < sim->n_tickers; i++) {
        int t = sim->tickers[i];
        double delta = fabs(run->target[t] - run->held[t]);
        moved += delta;
        sim->stats.trades += delta > WEIGHT_EPS;
        run->held[t] = run->target[t];
        run->held_ids[run->n_held] = t; /* kept when non-zero, without a branch */
        run->n_held += run->target[t] != 0;
    }
    sim->stats.turnover += moved / 2;
    if (sim->record && !run->metrics_only)
        list_positions(run, run->grid->day[k], k == sim->first);
    return equity - equity * moved * run->options->cost_bps / 10000.0;
}

/* Holds the drifted weights from the close of grid day k−1 to the close of k: returns the
 * equity at k and leaves the weights drifted by each ticker's move. Only the held tickers
 * are visited: a full scan would skip the others, or multiply their 0 by a finite rescale. */
static double hold(struct run *run, struct sim *sim, size_t k, double equity)
{
    double day_return = 0;
    bool invested = false, note_gaps = sim->record && !run->metrics_only;
    for (int i = 0; i < run->n_held; i++) {
        int t = run->held_ids[i];
        if (run->held[t] == 0)
            continue;
        const struct holding *h = &run->holdings[t];
        double r = h->returns[k];
        if (note_gaps && !has_bar(run, h, k))
            note_gap(&run->held_without_bar, run->grid->day[k], t);
        day_return += run->held[t] * r;
        run->held[t] *= 1 + r;
        invested = true;
    }
    if (invested) {
        double rescale = 1 / (1 + day_return); /* one division, not one per ticker */
        for (int i = 0; i < run->n_held; i++)
            run->held[run->held_ids[i]] *= rescale;
        if (!isfinite(rescale)) { /* 0 · ±inf is NaN: then every weight changes */
            for (int i = 0; i < sim->n_tickers; i++) {
                int t = sim->tickers[i];
                if (run->held[t] == 0) /* not multiplied above */
                    run->held[t] *= rescale;
                run->held_ids[i] = t;
            }
            run->n_held = sim->n_tickers;
        }
        sim->stats.invested_days++;
    }
    return equity * (1 + day_return);
}

/* The tickers' returns are read one day at a time from as many arrays as the sim holds
 * tickers: fetch each array's line of the days ahead early, one array in PREFETCH_STRIDE a
 * day (a 64-byte line holds 8 days). The evaluator's inputs need no such help: gates read
 * the gate table, which is small. */
static void prefetch_returns(const struct run *run, const struct sim *sim, size_t k)
{
    size_t ahead = k + PREFETCH_DAYS;
    if (ahead >= run->n_grid)
        return;
    for (int i = (int)(k % PREFETCH_STRIDE); i < sim->n_tickers; i += PREFETCH_STRIDE)
        __builtin_prefetch(run->holdings[sim->tickers[i]].returns + ahead);
}

/* Has the evaluator's gate table cover the days of `sim` (computed once per run, unless a
 * later pass starts earlier). Without memory for it, evaluation reads values instead. */
static void cover_gates(struct run *run, const struct sim *sim)
{
    if (sim->first >= run->gates_from)
        return;
    if (lv_evaluator_prepare_gates(run->evaluator, run->columns, sim->first, run->n_grid) == 0)
        run->gates_from = sim->first;
}

/* The days on which sim->root's allocation may differ from the day before (changed[k − first]),
 * when its walk depends on its gates' outcomes only; NULL otherwise (every decision walks). */
static const unsigned char *gate_changes(struct run *run, const struct sim *sim)
{
    unsigned char *changed = ws_get(run->ws, WS_CHANGED, sim->last - sim->first);
    if (changed == NULL || lv_evaluator_gate_changes(run->evaluator, sim->root, run->columns,
                                                     sim->first, sim->last, changed) != 0)
        return NULL;
    return changed;
}

static void simulate(struct run *run, struct sim *sim)
{
    const struct lv_backtest_options *o = run->options;
    cover_gates(run, sim);
    /* A sort child without scales or sorts below keeps its allocation for weeks: walk it only
     * when one of its gates changed since the last decision (the walk would repeat itself). */
    const unsigned char *changed = gate_changes(run, sim);
    bool stale = true; /* the allocation in run->alloc and run->target is not today's */
    const lv_day *day = run->grid->day;
    memset(run->held, 0, (size_t)run->n_tickers * sizeof(double));
    memset(run->target, 0, (size_t)run->n_tickers * sizeof(double));
    memset(run->listed, 0, (size_t)run->n_tickers * sizeof(double));
    run->n_held = 0;
    memset(&sim->stats, 0, sizeof sim->stats);
    double equity = sim->capital;
    for (size_t k = sim->first;; k++) {
        prefetch_returns(run, sim, k);
        if (k > sim->first)
            equity = hold(run, sim, k, equity);
        sim->equity[k - sim->first] = equity;
        if (k == sim->last)
            break;
        stale |= changed == NULL || changed[k - sim->first];
        bool first = k == sim->first;
        if (!first && !calendar_trade_day(o->rebalance, day[k - 1], day[k]))
            continue;
        if (stale)
            decide(run, sim, k);
        stale = false;
        if (!first && o->rebalance == LV_REBALANCE_THRESHOLD) {
            bool drifted = false;
            for (int i = 0; i < sim->n_tickers && !drifted; i++) {
                int t = sim->tickers[i];
                drifted = fabs(run->target[t] - run->held[t]) > o->threshold;
            }
            if (!drifted)
                continue;
        }
        equity = trade(run, sim, k, equity);
    }
}

/* ---- Sort scores (§5) ---------------------------------------------------------------------- */

/* First grid day on which a sort child can be evaluated. */
static size_t child_start(struct run *run, int node)
{
    int t = lv_strategy_node_ticker(run->strategy, node);
    if (t >= 0)
        return run->holdings[t].first;
    int series, ticker;
    return latest_input(run, node, &series, &ticker);
}

/* A ticker child's synthetic bars from grid day `from` to the end: its bars divided by its
 * close on S, a flat bar at the last close (volume 0) where it has none. Only the fields the
 * sort's indicator reads are built (no indicator reads the open); the others stay NULL. */
static int ticker_child_series(struct run *run, int ticker, size_t from, size_t s_day,
                               enum lv_ind_input input, struct lv_bars_view *view)
{
    const struct holding *h = &run->holdings[ticker];
    const struct lv_symbol_bars *own = h->bars;
    size_t n = run->n_grid - from;
    bool hl = input == LV_INPUT_HL || input == LV_INPUT_HLC || input == LV_INPUT_HLCV;
    bool volumes = input == LV_INPUT_HLCV || input == LV_INPUT_CV;
    double *bars = ws_get(run->ws, WS_SYNTHETIC, 4 * n * sizeof(double));
    if (bars == NULL)
        return lv_fail(run->err, "out of memory");
    double *close = bars, *high = hl ? bars + n : NULL, *low = hl ? bars + 2 * n : NULL,
           *volume = volumes ? bars + 3 * n : NULL;
    double scale = held_price(h, s_day);
    for (size_t k = from; k < run->n_grid; k++)
        close[k - from] = own->close[h->align[k]] / scale;
    if (hl || volumes) {
        for (size_t k = from; k < run->n_grid; k++) {
            size_t i = k - from;
            int32_t b = h->align[k];
            bool bar = has_bar(run, h, k);
            if (hl) {
                high[i] = bar ? own->high[b] / scale : close[i];
                low[i] = bar ? own->low[b] / scale : close[i];
            }
            if (volumes)
                volume[i] = bar ? own->volume[b] : 0;
        }
    }
    *view = (struct lv_bars_view){NULL, high, low, close, volume, n};
    return 0;
}

/* ---- Sharing with the other runs of a batch (backtest_memo.h) ------------------------------ */

/* What a memo entry is: the kinds of key. */
enum memo_kind { MEMO_CHILD_EQUITY = 1, MEMO_CHILD_SCORE, MEMO_SUBTREE };

/* Gaps noted while computing an entry, by series key: series ids differ from run to run. */
struct memo_gaps {
    long count;
    lv_day day[GAPS_SHOWN];
    struct lv_series_key key[GAPS_SHOWN];
};

/* A branch child's equity simulated alone from S, and the gaps its decisions met. */
struct equity_entry {
    struct memo_gaps gaps;
    size_t n;
    double equity[]; /* n values */
};

/* A sort child's score on the grid: n_grid values, the first defined one at `first`; and the
 * gaps its branch's decisions met. */
struct score_entry {
    struct memo_gaps gaps;
    size_t first;
    double values[];
};

static bool same_series_key(const struct lv_series_key *a, const struct lv_series_key *b)
{
    if (a->kind != b->kind || a->ind != b->ind || !lv_ind_params_equal(&a->params, &b->params))
        return false;
    return a->kind == LV_SERIES_INDICATOR ? strcmp(a->ticker, b->ticker) == 0
                                          : a->sort == b->sort && a->child == b->child;
}

/* This run's id of a series key (the memo's entries name series by key). */
static int series_id_of(const struct run *run, const struct lv_series_key *key)
{
    for (int id = 0; id < run->n_series; id++)
        if (same_series_key(lv_strategy_series(run->strategy, id), key))
            return id;
    return -1; /* not reached: an entry's subtree is the same in every run using it */
}

/* Notes gaps met elsewhere as if they had been met here, in order. */
static void merge_gaps(struct gaps *into, const struct gaps *met)
{
    long shown = met->count < GAPS_SHOWN ? met->count : GAPS_SHOWN;
    for (long i = 0; i < shown; i++)
        note_gap(into, met->day[i], met->what[i]);
    into->count += met->count - shown;
}

/* The same for gaps kept by an entry (by key). */
static void replay_gaps(struct run *run, struct gaps *into, const struct memo_gaps *met)
{
    struct gaps here = {.count = met->count};
    for (long i = 0; i < met->count && i < GAPS_SHOWN; i++) {
        here.day[i] = met->day[i];
        here.what[i] = series_id_of(run, &met->key[i]);
    }
    merge_gaps(into, &here);
}

static void gaps_to_keys(const struct run *run, const struct gaps *g, struct memo_gaps *out)
{
    memset(out, 0, sizeof *out);
    out->count = g->count;
    for (long i = 0; i < g->count && i < GAPS_SHOWN; i++) {
        out->day[i] = g->day[i];
        out->key[i] = *lv_strategy_series(run->strategy, g->what[i]);
    }
}

/* Starts the key of an entry about sort child `node`: its footprint's values and the options
 * a simulation reads. */
static void child_key(const struct run *run, struct lv_memo_key *key, enum memo_kind kind, int node,
                      size_t s_day)
{
    const struct lv_backtest_options *o = run->options;
    lv_memo_key_start(key, kind, node);
    lv_memo_key_add_footprint(run->memo, key, node, run->values);
    lv_memo_key_add(key, &s_day, sizeof s_day);
    lv_memo_key_add(key, &run->n_grid, sizeof run->n_grid);
    lv_memo_key_add(key, &run->grid_symbol, sizeof run->grid_symbol);
    lv_memo_key_add(key, &o->rebalance, sizeof o->rebalance);
    lv_memo_key_add(key, &o->threshold, sizeof o->threshold);
    lv_memo_key_add(key, &o->cost_bps, sizeof o->cost_bps);
}

/* ---- Sort scores (§5), continued ----------------------------------------------------------- */

/* Simulates a branch child alone from S into `equity`, starting at 1. */
static void simulate_child(struct run *run, int node, size_t s_day, double *equity)
{
    struct sim sim = {.root = node,
                      .tickers = run->ticker_ids,
                      .n_tickers = lv_strategy_subtree_tickers(run->strategy, node, run->ticker_ids,
                                                               run->n_tickers),
                      .first = s_day,
                      .last = run->n_grid - 1,
                      .capital = 1,
                      .equity = equity};
    simulate(run, &sim);
}

/* Simulates a branch child alone and publishes its equity and the gaps it met; leaves the
 * entry's equity in *view. */
static int publish_child_equity(struct run *run, struct lv_memo_entry *entry, int node,
                                size_t s_day, struct lv_bars_view *view)
{
    size_t n = run->n_grid - s_day, bytes = sizeof(struct equity_entry) + n * sizeof(double);
    struct equity_entry *made = malloc(bytes); /* the memo's once published */
    if (made == NULL) {
        lv_memo_publish(run->memo, entry, NULL, 0);
        return lv_fail(run->err, "out of memory");
    }
    struct gaps before = run->missing_inputs, met;
    memset(&run->missing_inputs, 0, sizeof run->missing_inputs);
    simulate_child(run, node, s_day, made->equity);
    met = run->missing_inputs;
    run->missing_inputs = before;
    merge_gaps(&run->missing_inputs, &met);
    gaps_to_keys(run, &met, &made->gaps);
    made->n = n;
    lv_memo_publish(run->memo, entry, made, bytes);
    *view = (struct lv_bars_view){.close = made->equity, .n = n};
    return 0;
}

/* A non-ticker child's synthetic series: its equity simulated alone from S, starting at 1.
 * Runs that agree on the child's footprint share it through the memo. */
static int branch_child_series(struct run *run, int node, size_t s_day, struct lv_bars_view *view)
{
    size_t n = run->n_grid - s_day;
    if (run->memo != NULL) {
        struct lv_memo_key key;
        struct lv_memo_entry *entry;
        const void *found;
        child_key(run, &key, MEMO_CHILD_EQUITY, node, s_day);
        enum lv_memo_answer answer = lv_memo_get(run->memo, &key, &entry, &found);
        if (answer == LV_MEMO_CLAIMED)
            return publish_child_equity(run, entry, node, s_day, view);
        if (answer == LV_MEMO_HIT) {
            const struct equity_entry *shared = found;
            replay_gaps(run, &run->missing_inputs, &shared->gaps);
            *view = (struct lv_bars_view){.close = shared->equity, .n = shared->n};
            return 0;
        }
    }
    double *equity = ws_get(run->ws, WS_CHILD_EQUITY, n * sizeof(double));
    if (equity == NULL)
        return lv_fail(run->err, "out of memory");
    simulate_child(run, node, s_day, equity);
    *view = (struct lv_bars_view){.close = equity, .n = n};
    return 0;
}

/* Computes child c's score into its source (a workspace column of n_grid values). */
static int compute_score(struct run *run, const struct lv_sort_info *sort, int c, size_t s_day,
                         const char *name)
{
    int lookback = lv_ind_lookback(sort->ind, &sort->params);
    /* CUMULATIVE_RETURN without a period measures from the series' first bar: make that S. */
    bool from_s = sort->ind == LV_IND_CUMULATIVE_RETURN && sort->params.v[0] == 0;
    int ticker = lv_strategy_node_ticker(run->strategy, sort->child_nodes[c]);
    size_t from = ticker >= 0 && !from_s ? run->holdings[ticker].first : s_day;
    struct lv_bars_view view;
    int rc = ticker >= 0 ? ticker_child_series(run, ticker, from, s_day,
                                               lv_ind_spec(sort->ind)->input, &view)
                         : branch_child_series(run, sort->child_nodes[c], s_day, &view);
    if (rc != 0)
        return rc;
    struct source *src = &run->sources[sort->score_series[c]];
    double *score = (double *)src->values;
    double *scratch = NULL;
    size_t scratch_n = lv_ind_scratch_size(sort->ind, view.n);
    if (scratch_n > 0) {
        scratch = ws_get(run->ws, WS_IND_SCRATCH, scratch_n * sizeof(double));
        if (scratch == NULL)
            return lv_fail(run->err, "out of memory");
    }
    struct lv_error why;
    if (lv_ind_compute(sort->ind, &sort->params, &view, score + from, scratch, &why) != 0)
        return lv_fail(run->err, "%s: %s", name, why.message);
    /* Scores exist from S + lookback, whatever the child's own history allows. */
    size_t defined_from = s_day + (size_t)lookback;
    for (size_t k = 0; k < defined_from && k < run->n_grid; k++)
        score[k] = NAN;
    src->first = run->n_grid;
    for (size_t k = defined_from; k < run->n_grid; k++) {
        if (!isnan(score[k])) {
            src->first = k;
            break;
        }
    }
    return 0;
}

/* Child c's score: from the memo when another run computed it (its key adds the sort's
 * indicator to the child's), else computed here and shared. */
static int resolve_child(struct run *run, const struct lv_sort_info *sort, int c, size_t s_day,
                         const char *name)
{
    struct source *src = &run->sources[sort->score_series[c]];
    if (run->memo == NULL)
        return compute_score(run, sort, c, s_day, name);
    struct lv_memo_key key;
    struct lv_memo_entry *entry;
    const void *found;
    child_key(run, &key, MEMO_CHILD_SCORE, sort->child_nodes[c], s_day);
    lv_memo_key_add(&key, &sort->ind, sizeof sort->ind);
    lv_memo_key_add(&key, &sort->params, sizeof sort->params);
    enum lv_memo_answer answer = lv_memo_get(run->memo, &key, &entry, &found);
    if (answer == LV_MEMO_HIT) {
        const struct score_entry *shared = found;
        replay_gaps(run, &run->missing_inputs, &shared->gaps);
        src->values = run->columns[sort->score_series[c]] = shared->values;
        src->first = shared->first;
        return 0;
    }
    if (answer != LV_MEMO_CLAIMED)
        return compute_score(run, sort, c, s_day, name);
    struct gaps before = run->missing_inputs, met;
    memset(&run->missing_inputs, 0, sizeof run->missing_inputs);
    int rc = compute_score(run, sort, c, s_day, name);
    met = run->missing_inputs;
    run->missing_inputs = before;
    merge_gaps(&run->missing_inputs, &met);
    size_t bytes = sizeof(struct score_entry) + run->n_grid * sizeof(double);
    struct score_entry *made = rc == 0 ? malloc(bytes) : NULL; /* the memo's once published */
    if (made != NULL) {
        gaps_to_keys(run, &met, &made->gaps);
        made->first = src->first;
        memcpy(made->values, src->values, run->n_grid * sizeof(double));
    }
    lv_memo_publish(run->memo, entry, made, bytes);
    return rc;
}

/* Computes the scores of one sort's children (its inner sorts are already resolved). */
static int resolve_sort(struct run *run, const struct lv_sort_info *sort)
{
    size_t s_day = 0;
    for (int c = 0; c < sort->n_children; c++) {
        size_t start = child_start(run, sort->child_nodes[c]);
        s_day = start > s_day ? start : s_day;
    }
    char name[DESCRIPTION];
    size_t len = 0;
    describe_sort(run, sort, name, sizeof name, &len);
    if (s_day + 1 >= run->n_grid)
        return lv_fail(run->err, "%s: its children have no common start before the end", name);
    for (int c = 0; c < sort->n_children; c++)
        if (resolve_child(run, sort, c, s_day, name) != 0)
            return -1;
    return 0;
}

/* ---- Subtrees' daily outcomes shared by the runs of a batch -------------------------------- */

/* The payload of a MEMO_SUBTREE entry: the outcome record and its arrays, in one block. */
struct subtree_entry {
    struct lv_subtree_days days;
    /* then: pos_off, pos_code, n_missing, first_missing (int32), pos_weight, unallocated
     * (double), missing_keys */
};

/* Rounds up to a multiple of 8, so that doubles and keys after int32 arrays stay aligned. */
static size_t align8(size_t bytes)
{
    return (bytes + 7) & ~(size_t)7;
}

/* What the fill of one entry collects, day by day (workspace buffers). */
struct subtree_fill {
    int32_t *pos_off, *n_missing, *first_missing;
    double *unallocated;
    int32_t *pos_code;
    double *pos_weight;
    size_t n_pos, cap_pos;
    int missing_ids[GAPS_SHOWN * 4]; /* series of the keys, by key index */
    int n_keys;
};

/* The index of series `id` among the fill's missing keys (added when new); -1 when full. */
static int32_t missing_key_index(struct subtree_fill *fill, int id)
{
    for (int i = 0; i < fill->n_keys; i++)
        if (fill->missing_ids[i] == id)
            return i;
    int cap = (int)(sizeof fill->missing_ids / sizeof fill->missing_ids[0]);
    if (fill->n_keys == cap)
        return -1;
    fill->missing_ids[fill->n_keys] = id;
    return fill->n_keys++;
}

/* Packs a fill into one block (the entry's payload); NULL when out of memory. */
static struct subtree_entry *pack_subtree(const struct run *run, const struct subtree_fill *fill,
                                          int node, double base, size_t from, size_t n_days,
                                          size_t *bytes)
{
    size_t off_pos_off = align8(sizeof(struct subtree_entry));
    size_t off_code = off_pos_off + (n_days + 1) * sizeof(int32_t);
    size_t off_missing = off_code + fill->n_pos * sizeof(int32_t);
    size_t off_first = off_missing + n_days * sizeof(int32_t);
    size_t off_weight = align8(off_first + n_days * sizeof(int32_t));
    size_t off_unallocated = off_weight + fill->n_pos * sizeof(double);
    size_t off_keys = align8(off_unallocated + n_days * sizeof(double));
    *bytes = off_keys + (size_t)fill->n_keys * sizeof(struct lv_series_key);
    unsigned char *block = malloc(*bytes); /* the memo's once published */
    if (block == NULL)
        return NULL;
    struct subtree_entry *entry = (struct subtree_entry *)block;
    struct lv_series_key *keys = (struct lv_series_key *)(block + off_keys);
    for (int i = 0; i < fill->n_keys; i++)
        keys[i] = *lv_strategy_series(run->strategy, fill->missing_ids[i]);
    memcpy(block + off_pos_off, fill->pos_off, (n_days + 1) * sizeof(int32_t));
    memcpy(block + off_code, fill->pos_code, fill->n_pos * sizeof(int32_t));
    memcpy(block + off_missing, fill->n_missing, n_days * sizeof(int32_t));
    memcpy(block + off_first, fill->first_missing, n_days * sizeof(int32_t));
    memcpy(block + off_weight, fill->pos_weight, fill->n_pos * sizeof(double));
    memcpy(block + off_unallocated, fill->unallocated, n_days * sizeof(double));
    entry->days = (struct lv_subtree_days){.node = node,
                                           .base = base,
                                           .from = from,
                                           .n_days = n_days,
                                           .pos_off = (const int32_t *)(block + off_pos_off),
                                           .pos_code = (const int32_t *)(block + off_code),
                                           .pos_weight = (const double *)(block + off_weight),
                                           .unallocated = (const double *)(block + off_unallocated),
                                           .n_missing = (const int32_t *)(block + off_missing),
                                           .first_missing = (const int32_t *)(block + off_first),
                                           .missing_keys = keys};
    return entry;
}

/* Makes room for `more` positions in the fill; false when out of memory. */
static bool fill_room(struct subtree_fill *fill, size_t more)
{
    if (fill->n_pos + more <= fill->cap_pos)
        return true;
    size_t cap = (fill->n_pos + more) * 2;
    int32_t *code = realloc(fill->pos_code, cap * sizeof *code);
    if (code == NULL)
        return false;
    fill->pos_code = code;
    double *weight = realloc(fill->pos_weight, cap * sizeof *weight);
    if (weight == NULL)
        return false;
    fill->pos_weight = weight;
    fill->cap_pos = cap;
    return true;
}

static void fill_free(struct subtree_fill *fill)
{
    free(fill->pos_off);
    free(fill->n_missing);
    free(fill->first_missing);
    free(fill->unallocated);
    free(fill->pos_code);
    free(fill->pos_weight);
}

/* Walks `node` alone with `base` on each decision day [from, n_grid − 1) and packs what it
 * writes (tickers as market symbol ids), returns and counts. NULL when out of memory or when
 * a day names more distinct missing series than an entry keeps. */
static struct subtree_entry *record_subtree(struct run *run, int node, double base, size_t from,
                                            size_t *bytes)
{
    size_t n_days = run->n_grid - 1 - from;
    int cap = lv_strategy_n_nodes(run->strategy);
    int *tickers = ws_get(run->ws, WS_FILL_TICKERS, (size_t)cap * sizeof(int));
    double *weights = ws_get(run->ws, WS_FILL_WEIGHTS, (size_t)cap * sizeof(double));
    struct subtree_fill fill = {.pos_off = malloc((n_days + 1) * sizeof(int32_t)),
                                .n_missing = malloc((n_days + 1) * sizeof(int32_t)),
                                .first_missing = malloc((n_days + 1) * sizeof(int32_t)),
                                .unallocated = malloc((n_days + 1) * sizeof(double))};
    struct subtree_entry *entry = NULL;
    bool ok = tickers && weights && fill.pos_off && fill.n_missing && fill.first_missing &&
              fill.unallocated;
    for (size_t d = 0; ok && d < n_days; d++) {
        struct lv_eval_report report;
        int n = lv_evaluate_subtree(run->evaluator, node, base, run->columns, from + d, tickers,
                                    weights, &fill.unallocated[d], &report);
        fill.pos_off[d] = (int32_t)fill.n_pos;
        fill.n_missing[d] = report.n_missing;
        fill.first_missing[d] =
            report.n_missing > 0 ? missing_key_index(&fill, report.first_missing) : -1;
        ok = fill_room(&fill, (size_t)n) && (report.n_missing == 0 || fill.first_missing[d] >= 0);
        for (int i = 0; ok && i < n; i++) {
            fill.pos_code[fill.n_pos] = run->holdings[tickers[i]].symbol;
            fill.pos_weight[fill.n_pos++] = weights[i];
        }
    }
    if (ok) {
        fill.pos_off[n_days] = (int32_t)fill.n_pos;
        entry = pack_subtree(run, &fill, node, base, from, n_days, bytes);
    }
    fill_free(&fill);
    return entry;
}

/* The recorded outcome of `node` for this run's values and base: from the memo, or recorded
 * now and shared. NULL when the memo keeps none (the walk then descends as usual). */
static const struct lv_subtree_days *shared_subtree(struct run *run, int node, double base)
{
    int series, ticker;
    size_t from = latest_input(run, node, &series, &ticker);
    if (from + 1 >= run->n_grid)
        return NULL;
    struct lv_memo_key key;
    struct lv_memo_entry *slot;
    const void *found;
    lv_memo_key_start(&key, MEMO_SUBTREE, node);
    lv_memo_key_add_footprint(run->memo, &key, node, run->values);
    lv_memo_key_add(&key, &base, sizeof base);
    lv_memo_key_add(&key, &from, sizeof from);
    lv_memo_key_add(&key, &run->n_grid, sizeof run->n_grid);
    lv_memo_key_add(&key, &run->grid_symbol, sizeof run->grid_symbol);
    enum lv_memo_answer answer = lv_memo_get(run->memo, &key, &slot, &found);
    if (answer == LV_MEMO_HIT)
        return &((const struct subtree_entry *)found)->days;
    if (answer == LV_MEMO_REFUSED)
        return NULL;
    size_t bytes = 0;
    struct subtree_entry *made = record_subtree(run, node, base, from, &bytes);
    lv_memo_publish(run->memo, slot, made, bytes);
    return made != NULL ? &made->days : NULL;
}

/* Gives the main loop's evaluator the recorded outcomes of the largest subtrees that few
 * value combinations reach and that the walk always reaches with the same base. */
static int use_shared_subtrees(struct run *run, const struct lv_market *market)
{
    int n_nodes = lv_strategy_n_nodes(run->strategy), n_symbols = lv_market_n_symbols(market);
    const struct lv_subtree_days **by_node =
        ws_get(run->ws, WS_SUBTREES, (size_t)n_nodes * sizeof *by_node);
    double *base = ws_get(run->ws, WS_BASES, (size_t)n_nodes * sizeof *base);
    int *ticker_of_symbol = ws_get(run->ws, WS_TICKER_OF_SYMBOL, (size_t)n_symbols * sizeof(int));
    if (by_node == NULL || base == NULL || ticker_of_symbol == NULL)
        return lv_fail(run->err, "out of memory");
    for (int i = 0; i < n_symbols; i++)
        ticker_of_symbol[i] = -1;
    for (int t = 0; t < run->n_tickers; t++)
        ticker_of_symbol[run->holdings[t].symbol] = t;
    lv_evaluator_fixed_bases(run->evaluator, base);
    bool any = false;
    for (int i = 0; i < n_nodes;) {
        by_node[i] = NULL;
        bool whole = lv_memo_subtree_shareable(run->memo, i);
        if (whole && lv_strategy_node_ticker(run->strategy, i) < 0 && isfinite(base[i]))
            by_node[i] = shared_subtree(run, i, base[i]);
        if (!whole) {
            i++;
            continue;
        }
        any |= by_node[i] != NULL;
        for (int j = i + 1; j < lv_strategy_node_end(run->strategy, i); j++)
            by_node[j] = NULL;
        i = lv_strategy_node_end(run->strategy, i);
    }
    if (any)
        lv_evaluator_use_subtrees(run->evaluator, by_node, ticker_of_symbol);
    return 0;
}

/* ---- The run ------------------------------------------------------------------------------- */

/* Sets the window's first grid day and result->start_reason. */
static int choose_window(struct run *run, size_t *first)
{
    char why[DESCRIPTION], when[LV_DAY_TEXT];
    int series, ticker;
    size_t start = latest_input(run, LV_ROOT, &series, &ticker);
    if (series >= 0) {
        describe_series(run, series, why, sizeof why);
        const struct source *src = &run->sources[series];
        if (src->first < run->n_grid)
            snprintf(run->out->start_reason, sizeof run->out->start_reason, "%s: first value on %s",
                     why, lv_day_format(run->grid->day[src->first], when));
        else
            return lv_fail(run->err, "%s has no value on or before %s", why,
                           lv_day_format(run->grid->day[run->n_grid - 1], when));
    } else if (ticker >= 0) {
        const struct holding *h = &run->holdings[ticker];
        if (h->first >= run->n_grid)
            return lv_fail(run->err, "%s has no bar on or before %s", h->bars->symbol,
                           lv_day_format(run->grid->day[run->n_grid - 1], when));
        snprintf(run->out->start_reason, sizeof run->out->start_reason, "%s: first bar on %s",
                 h->bars->symbol, lv_day_format(h->bars->day[0], when));
    } else {
        snprintf(run->out->start_reason, sizeof run->out->start_reason,
                 "benchmark %s: first bar on %s", run->grid->symbol,
                 lv_day_format(run->grid->day[0], when));
    }
    if (run->options->start != LV_DAY_NONE) {
        size_t requested = grid_index_from(run, run->options->start);
        if (requested >= start) {
            start = requested;
            snprintf(run->out->start_reason, sizeof run->out->start_reason, "requested start %s",
                     lv_day_format(run->options->start, when));
        }
    }
    if (start + 1 >= run->n_grid) {
        char end[LV_DAY_TEXT];
        return lv_fail(run->err,
                       "fewer than 2 trading days in the window: it cannot start before %s (%s) "
                       "and ends %s",
                       start < run->n_grid ? lv_day_format(run->grid->day[start], when) : "the end",
                       run->out->start_reason, lv_day_format(run->grid->day[run->n_grid - 1], end));
    }
    *first = start;
    return 0;
}

/* Quotes the first few dates of a gap list into a warning. */
static void warn_gaps(struct run *run, const struct gaps *g, bool series, const char *what,
                      const char *consequence)
{
    if (g->count == 0)
        return;
    char list[3 * (DESCRIPTION + 16)];
    size_t len = 0;
    for (long i = 0; i < g->count && i < GAPS_SHOWN; i++) {
        char name[DESCRIPTION], when[LV_DAY_TEXT];
        if (series)
            describe_series(run, g->what[i], name, sizeof name);
        else
            snprintf(name, sizeof name, "%s", lv_strategy_ticker(run->strategy, g->what[i]));
        append(list, sizeof list, &len, "%s%s %s", i ? "; " : "", lv_day_format(g->day[i], when),
               name);
    }
    lv_backtest_result_warn(run->out, "%s on %ld %s (first: %s%s): %s", what, g->count,
                            g->count == 1 ? "day" : "days", list,
                            g->count > GAPS_SHOWN ? "; …" : "", consequence);
}

/* Grows one result array to `bytes`; false when out of memory (the array is unchanged). */
static bool grow(void **array, size_t bytes)
{
    void *grown = realloc(*array, bytes);
    if (grown == NULL)
        return false;
    *array = grown;
    return true;
}

/* Copies the window's dates and benchmark curve into the result; *equity receives the
 * result's equity array for the loop to fill. */
static int fill_curves(struct run *run, size_t first, size_t n, double **equity)
{
    struct lv_backtest_result *out = run->out;
    if (out->days_cap < n) {
        if (!grow((void **)&out->days, n * sizeof *out->days) ||
            !grow((void **)&out->equity, n * sizeof *out->equity) ||
            !grow((void **)&out->benchmark, n * sizeof *out->benchmark))
            return lv_fail(run->err, "out of memory");
        out->days_cap = n;
    }
    out->n_days = n;
    const double *close = run->grid->close;
    for (size_t i = 0; i < n; i++) {
        out->days[i] = run->grid->day[first + i];
        out->benchmark[i] = run->options->initial_capital * close[first + i] / close[first];
    }
    *equity = out->equity;
    return 0;
}

static void reset_result(struct lv_backtest_result *out)
{
    for (int i = 0; i < out->n_warnings; i++)
        free(out->warnings[i]);
    out->n_warnings = 0;
    out->n_days = 0;
    out->n_positions = 0;
    out->window_start = out->window_end = LV_DAY_NONE;
    out->start_reason[0] = '\0';
    memset(&out->timing, 0, sizeof out->timing);
    for (int m = 0; m < LV_METRIC_COUNT; m++)
        out->metrics.value[m] = out->benchmark_metrics.value[m] = NAN;
}

/* Points the run's arrays into the workspace. */
static int bind_buffers(struct run *run)
{
    size_t ns = (size_t)run->n_series, nt = (size_t)run->n_tickers;
    run->sources = ws_get(run->ws, WS_SOURCES, ns * sizeof *run->sources);
    run->columns = ws_get(run->ws, WS_COLUMNS, ns * sizeof *run->columns);
    run->holdings = ws_get(run->ws, WS_HOLDINGS, nt * sizeof *run->holdings);
    double *weights = ws_get(run->ws, WS_WEIGHTS, 3 * nt * sizeof *weights);
    run->series_ids = ws_get(run->ws, WS_SERIES_IDS, ns * sizeof *run->series_ids);
    run->ticker_ids = ws_get(run->ws, WS_TICKER_IDS, nt * sizeof *run->ticker_ids);
    run->held_ids = ws_get(run->ws, WS_HELD_IDS, nt * sizeof *run->held_ids);
    if (!run->sources || !run->columns || !run->holdings || !weights || !run->series_ids ||
        !run->ticker_ids || !run->held_ids)
        return lv_fail(run->err, "out of memory");
    run->held = weights;
    run->target = weights + nt;
    run->listed = weights + 2 * nt;
    return 0;
}

/* Points the run at the workspace's evaluator and allocation, bound to this strategy. */
static int bind_evaluator(struct run *run)
{
    struct lv_backtest_workspace *ws = run->ws;
    if (ws->evaluator == NULL) {
        ws->evaluator = lv_evaluator_new(run->strategy);
        if (ws->evaluator == NULL)
            return -1;
    } else if (lv_evaluator_bind(ws->evaluator, run->strategy) != 0) {
        lv_evaluator_free(ws->evaluator); /* unusable now */
        ws->evaluator = NULL;
        return -1;
    }
    if (ws->alloc_cap < run->n_tickers || ws->alloc.ticker == NULL) {
        lv_alloc_free(&ws->alloc);
        ws->alloc_cap = 0;
        if (lv_alloc_init(&ws->alloc, run->strategy) != 0)
            return -1;
        ws->alloc_cap = run->n_tickers;
    }
    run->evaluator = ws->evaluator;
    run->alloc = &ws->alloc;
    return 0;
}

/* Everything before the main loop: grid, inputs, sort scores. */
static int prepare(struct run *run, const struct lv_market *market)
{
    const struct lv_backtest_options *o = run->options;
    run->grid_symbol = lv_market_find(market, o->benchmark);
    if (run->grid_symbol < 0)
        return lv_fail(run->err, "no bars for benchmark symbol %s", o->benchmark);
    if (check_symbols(run, market) != 0)
        return -1;
    run->grid = lv_market_bars(market, run->grid_symbol);
    run->n_grid = o->end == LV_DAY_NONE ? run->grid->n
                                        : (size_t)(lv_bars_at_or_before(run->grid, o->end) + 1);
    char when[LV_DAY_TEXT];
    if (o->start != LV_DAY_NONE && o->end != LV_DAY_NONE && o->start > o->end)
        return lv_fail(run->err, "the start %s is after the end", lv_day_format(o->start, when));
    if (run->n_grid < 2)
        return lv_fail(run->err, "fewer than 2 trading days: %s has %zu bars on or before %s",
                       o->benchmark, run->n_grid, lv_day_format(o->end, when));
    if (bind_buffers(run) != 0 || prepare_holdings(run, market) != 0 ||
        prepare_sources(run, market) != 0)
        return -1;
    if (bind_evaluator(run) != 0)
        return lv_fail(run->err, "out of memory");
    for (int i = 0; i < lv_strategy_n_sorts(run->strategy); i++)
        if (resolve_sort(run, lv_strategy_sort(run->strategy, i)) != 0)
            return -1;
    /* decide() notes gaps in missing_inputs: keep those met in sort branches apart. */
    run->missing_in_sorts = run->missing_inputs;
    memset(&run->missing_inputs, 0, sizeof run->missing_inputs);
    return 0;
}

/* The main loop over the window, its curves, metrics and warnings. */
static int simulate_window(struct run *run, const struct lv_market *market)
{
    struct lv_backtest_result *out = run->out;
    size_t first = 0;
    if (choose_window(run, &first) != 0)
        return -1;
    size_t n = run->n_grid - first;
    double *equity = NULL;
    if (fill_curves(run, first, n, &equity) != 0)
        return -1;
    struct sim sim = {.root = LV_ROOT,
                      .tickers = run->ticker_ids,
                      .n_tickers = lv_strategy_subtree_tickers(run->strategy, LV_ROOT,
                                                               run->ticker_ids, run->n_tickers),
                      .first = first,
                      .last = run->n_grid - 1,
                      .capital = run->options->initial_capital,
                      .equity = equity,
                      .record = true};
    if (run->memo != NULL && use_shared_subtrees(run, market) != 0)
        return -1;
    simulate(run, &sim);
    lv_evaluator_use_subtrees(run->evaluator, NULL, NULL);
    out->window_start = out->days[0];
    out->window_end = out->days[n - 1];

    lv_metrics_compute(equity, out->days, n, out->benchmark, &sim.stats, &out->metrics);
    if (run->metrics_only)
        return 0;
    /* The benchmark is bought once with all the capital and held. */
    struct lv_trading_stats bought = {.invested_days = (long)n - 1, .turnover = 0.5, .trades = 1};
    lv_metrics_compute(out->benchmark, out->days, n, out->benchmark, &bought,
                       &out->benchmark_metrics);

    warn_gaps(run, &run->missing_inputs, true, "missing inputs",
              "the nodes that read them were treated as empty branches");
    warn_gaps(run, &run->missing_in_sorts, true, "missing inputs in sort branches",
              "the nodes that read them were treated as empty branches");
    warn_gaps(run, &run->held_without_bar, false, "held tickers without a bar",
              "their last close was carried (0 % that day)");
    return 0;
}

int lv_backtest_run_memo(const struct lv_strategy *strategy, const char *const *values,
                         struct lv_backtest_memo *memo, const struct lv_market *market,
                         struct lv_series_cache *cache, const struct lv_backtest_options *options,
                         struct lv_backtest_workspace *ws, struct lv_backtest_result *result,
                         struct lv_error *err)
{
    double started = now_ms();
    reset_result(result);
    struct run run = {.strategy = strategy,
                      .cache = cache,
                      .options = options,
                      .ws = ws,
                      .out = result,
                      .err = err,
                      .memo = values != NULL ? memo : NULL,
                      .values = values,
                      .metrics_only = ws->metrics_only,
                      .n_series = lv_strategy_n_series(strategy),
                      .n_tickers = lv_strategy_n_tickers(strategy),
                      .gates_from = SIZE_MAX};
    int rc = prepare(&run, market);
    double prepared = now_ms();
    if (rc == 0)
        rc = simulate_window(&run, market);
    double finished = now_ms();
    result->timing.indicators_ms = prepared - started;
    result->timing.simulate_ms = finished - prepared;
    result->timing.total_ms = finished - started;
    return rc;
}

int lv_backtest_run(const struct lv_strategy *strategy, const struct lv_market *market,
                    struct lv_series_cache *cache, const struct lv_backtest_options *options,
                    struct lv_backtest_workspace *ws, struct lv_backtest_result *result,
                    struct lv_error *err)
{
    return lv_backtest_run_memo(strategy, NULL, NULL, market, cache, options, ws, result, err);
}
