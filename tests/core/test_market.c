/* test_market.c — bar CSV parsing (good files, every kind of bad row), the market store and
 * its date lookups, and the shared series cache (compute once, threads, alignment). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bars_csv.h"
#include "core/market.h"

static int parse(const char *text, const char *symbol, struct lv_bar_table *table,
                 struct lv_error *err)
{
    return lv_bars_csv_parse(text, strlen(text), "SPY.csv", symbol, table, err);
}

static void csv_good_file(void **state)
{
    (void)state;
    struct lv_bar_table t;
    struct lv_error err;
    const char *text = "\xEF\xBB\xBF"
                       "Date,Open,High,Low,Close,Volume\n"
                       "2024-01-02,10,11,9,10.5,1000\n"
                       "\n"
                       "2024-01-03, 10.5 ,12,10,\"11.25\",0\n";
    assert_int_equal(parse(text, "spy", &t, &err), 0);
    assert_int_equal(t.n_series, 1);
    assert_string_equal(t.series[0].symbol, "SPY");
    assert_int_equal(t.series[0].n, 2);
    assert_int_equal(t.series[0].day[1], lv_day_from_ymd(2024, 1, 3));
    assert_true(t.series[0].open[1] == 10.5);
    assert_true(t.series[0].close[1] == 11.25);
    assert_true(t.series[0].volume[1] == 0);
    lv_bar_table_free(&t);
}

static void csv_crlf_and_column_order(void **state)
{
    (void)state;
    struct lv_bar_table t;
    struct lv_error err;
    const char *text = "close,volume,date,high,low,open\r\n"
                       "10.5,1000,2024-01-02,11,9,10\r\n"
                       "11,2000,2024-01-03,12,10,10.5"; /* no final line end */
    assert_int_equal(parse(text, "QQQ", &t, &err), 0);
    assert_int_equal(t.series[0].n, 2);
    assert_true(t.series[0].close[0] == 10.5);
    assert_true(t.series[0].open[0] == 10);
    assert_true(t.series[0].high[1] == 12);
    assert_true(t.series[0].volume[1] == 2000);
    lv_bar_table_free(&t);
}

static void csv_symbol_column_groups_rows(void **state)
{
    (void)state;
    struct lv_bar_table t;
    struct lv_error err;
    const char *text = "date,symbol,open,high,low,close,volume\n"
                       "2024-01-02,spy,1,1,1,1,1\n"
                       "2024-01-02,TLT,2,2,2,2,2\n"
                       "2024-01-03,SPY,3,3,3,3,3\n"
                       "2024-01-03,tlt,4,4,4,4,4\n";
    assert_int_equal(lv_bars_csv_parse(text, strlen(text), "all.csv", NULL, &t, &err), 0);
    assert_int_equal(t.n_series, 2);
    assert_string_equal(t.series[0].symbol, "SPY");
    assert_string_equal(t.series[1].symbol, "TLT");
    assert_int_equal(t.series[0].n, 2);
    assert_true(t.series[0].close[1] == 3);
    assert_true(t.series[1].close[1] == 4);
    lv_bar_table_free(&t);
}

static void csv_bad_number_names_line_and_field(void **state)
{
    (void)state;
    struct lv_bar_table t;
    struct lv_error err;
    const char *text = "date,open,high,low,close,volume\n"
                       "2024-01-02,10,11,9,10.5,1000\n"
                       "2024-01-03,10,11,9,abc,1000\n"
                       "2024-01-04,10,11,9,0x10,1000\n";
    assert_int_equal(parse(text, "SPY", &t, &err), -1);
    assert_string_equal(err.message,
                        "SPY.csv:3: field close: \"abc\" is not a number (and 1 more bad lines)");
    assert_int_equal(t.n_series, 0);
    assert_null(t.series);
}

static void csv_each_rule(void **state)
{
    (void)state;
    struct lv_bar_table t;
    struct lv_error err;
    struct {
        const char *text, *message;
    } cases[] = {
        {"date,open,high,low,close,volume\n2024-01-03,1,1,1,1,1\n2024-01-03,1,1,1,1,1\n",
         "SPY.csv:3: field date: 2024-01-03 is not after the previous SPY row (2024-01-03)"},
        {"date,open,high,low,close,volume\n2024-01-03,1,1,1,1,1\n2024-01-02,1,1,1,1,1\n",
         "SPY.csv:3: field date: 2024-01-02 is not after the previous SPY row (2024-01-03)"},
        {"date,open,high,low,close,volume\n2024-02-30,1,1,1,1,1\n",
         "SPY.csv:2: field date: \"2024-02-30\" is not a date YYYY-MM-DD"},
        {"date,open,high,low,close,volume\n2024-01-02,1,1,0,1,1\n",
         "SPY.csv:2: field low: price 0 is not greater than 0"},
        {"date,open,high,low,close,volume\n2024-01-02,1,1,1,1,-5\n",
         "SPY.csv:2: field volume: volume -5 is negative"},
        {"date,open,high,low,close,volume\n2024-01-02,1,1,1,inf,1\n",
         "SPY.csv:2: field close: \"inf\" is not a number"},
        {"date,open,high,low,close,volume\n2024-01-02,1,1,1,1\n",
         "SPY.csv:2: expected 6 fields, got 5"},
        {"date,open,high,low,close,adj_close,volume\n",
         "SPY.csv:1: unknown column \"adj_close\" (expected date,open,high,low,close,volume and "
         "optionally symbol)"},
        {"date,open,high,low,volume\n", "SPY.csv:1: header has no \"close\" column"},
        {"date,open,high,low,close,volume\n", "SPY.csv: no rows after the header"},
        {"", "SPY.csv: empty file (expected a header date,open,high,low,close,volume)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(cases[i].text, "SPY", &t, &err), -1);
        assert_string_equal(err.message, cases[i].message);
    }
    /* A symbol column is needed when the caller names no symbol. */
    const char *text = "date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n";
    assert_int_equal(parse(text, NULL, &t, &err), -1);
    /* low above high is accepted on purpose (documented in bars_csv.h) */
    text = "date,open,high,low,close,volume\n2024-01-02,1,1,2,1,1\n";
    assert_int_equal(parse(text, "SPY", &t, &err), 0);
    lv_bar_table_free(&t);
}

/* ---- Market ------------------------------------------------------------------------------ */

/* A: 01-02, 01-03, 01-05 (misses 01-04); B: 01-02..01-05. Closes rise by 1 a day. */
static struct lv_market *small_market(void)
{
    struct lv_market_builder *b = lv_market_builder_new();
    lv_day a_days[] = {lv_day_from_ymd(2024, 1, 2), lv_day_from_ymd(2024, 1, 3),
                       lv_day_from_ymd(2024, 1, 5)};
    double a_px[] = {10, 11, 13};
    lv_day b_days[] = {lv_day_from_ymd(2024, 1, 2), lv_day_from_ymd(2024, 1, 3),
                       lv_day_from_ymd(2024, 1, 4), lv_day_from_ymd(2024, 1, 5)};
    double b_px[] = {20, 21, 22, 23};
    struct lv_error err;
    assert_int_equal(lv_market_builder_add(b, "b", b_days, b_px, b_px, b_px, b_px, b_px, 4, &err),
                     0);
    assert_int_equal(lv_market_builder_add(b, "A", a_days, a_px, a_px, a_px, a_px, a_px, 3, &err),
                     0);
    assert_int_equal(lv_market_builder_add(b, "B", b_days, b_px, b_px, b_px, b_px, b_px, 4, &err),
                     -1);
    assert_string_equal(err.message, "B: bars added twice");
    struct lv_market *m = lv_market_finalize(b, &err);
    assert_non_null(m);
    return m;
}

static void market_lookup_and_dates(void **state)
{
    (void)state;
    struct lv_market *m = small_market();
    assert_int_equal(lv_market_n_symbols(m), 2);
    assert_int_equal(lv_market_find(m, "a"), 0); /* ids are alphabetical */
    assert_int_equal(lv_market_find(m, "B"), 1);
    assert_int_equal(lv_market_find(m, "C"), -1);
    const struct lv_symbol_bars *a = lv_market_bars(m, 0);
    assert_string_equal(a->symbol, "A");
    assert_int_equal(lv_bars_index_of(a, lv_day_from_ymd(2024, 1, 3)), 1);
    assert_int_equal(lv_bars_index_of(a, lv_day_from_ymd(2024, 1, 4)), -1);
    assert_int_equal(lv_bars_at_or_before(a, lv_day_from_ymd(2024, 1, 4)), 1);
    assert_int_equal(lv_bars_at_or_before(a, lv_day_from_ymd(2024, 1, 1)), -1);
    assert_int_equal(lv_bars_at_or_before(a, lv_day_from_ymd(2030, 1, 1)), 2);
    lv_market_free(m);
}

static void builder_refuses_bad_input(void **state)
{
    (void)state;
    struct lv_market_builder *b = lv_market_builder_new();
    lv_day days[] = {5, 5};
    double px[] = {1, 1};
    struct lv_error err;
    assert_int_equal(lv_market_builder_add(b, "X", days, px, px, px, px, px, 2, &err), -1);
    assert_non_null(strstr(err.message, "not strictly ascending"));
    assert_int_equal(lv_market_builder_add(b, "bad symbol", days, px, px, px, px, px, 1, &err), -1);
    assert_int_equal(lv_market_builder_add(b, "X", days, px, px, px, px, px, 0, &err), -1);
    lv_market_builder_free(b);
}

static void alignment_carries_last_bar(void **state)
{
    (void)state;
    struct lv_market *m = small_market();
    struct lv_series_cache *cache = lv_series_cache_new(m);
    /* A on B's calendar 01-02..01-05: bars 0, 1, (1 carried), 2 */
    const int32_t *at = lv_series_cache_alignment(cache, 0, 1);
    assert_non_null(at);
    assert_int_equal(at[0], 0);
    assert_int_equal(at[1], 1);
    assert_int_equal(at[2], 1);
    assert_int_equal(at[3], 2);
    assert_ptr_equal(lv_series_cache_alignment(cache, 0, 1), at); /* computed once */
    lv_series_cache_free(cache);
    lv_market_free(m);
}

static void cache_computes_once(void **state)
{
    (void)state;
    struct lv_market *m = small_market();
    struct lv_series_cache *cache = lv_series_cache_new(m);
    struct lv_ind_params p;
    lv_ind_default_params(LV_IND_SMA, &p);
    p.v[0] = 2;
    struct lv_series s1, s2;
    struct lv_error err;
    assert_int_equal(lv_series_cache_get(cache, 1, LV_IND_SMA, &p, &s1, &err), 0);
    assert_int_equal(s1.n, 4);
    assert_int_equal(s1.first_defined, 1);
    assert_true(isnan(s1.values[0]));
    assert_true(s1.values[1] == 20.5); /* (20 + 21) / 2 */
    assert_int_equal(lv_series_cache_get(cache, 1, LV_IND_SMA, &p, &s2, &err), 0);
    assert_ptr_equal(s1.values, s2.values);
    p.v[0] = 3; /* other parameters: another series */
    assert_int_equal(lv_series_cache_get(cache, 1, LV_IND_SMA, &p, &s2, &err), 0);
    assert_ptr_not_equal(s1.values, s2.values);
    assert_int_equal(s2.first_defined, 2);
    /* too few bars for the period: a series with no defined value, not an error */
    p.v[0] = 10;
    assert_int_equal(lv_series_cache_get(cache, 0, LV_IND_SMA, &p, &s2, &err), 0);
    assert_int_equal(s2.first_defined, s2.n);
    lv_series_cache_free(cache);
    lv_market_free(m);
}

struct thread_arg {
    struct lv_series_cache *cache;
    const double *seen[64];
};

static void *hammer(void *p)
{
    struct thread_arg *arg = p;
    for (int i = 0; i < 64; i++) {
        struct lv_ind_params params;
        lv_ind_default_params(LV_IND_EMA, &params);
        params.v[0] = 2 + i % 16;
        struct lv_series s;
        struct lv_error err;
        arg->seen[i] = lv_series_cache_get(arg->cache, i % 2, LV_IND_EMA, &params, &s, &err) == 0
                           ? s.values
                           : NULL;
    }
    return NULL;
}

/* Four threads ask for the same 32 series at once: every one sees the same arrays. */
static void cache_is_shared_by_threads(void **state)
{
    (void)state;
    struct lv_market_builder *b = lv_market_builder_new();
    enum { N = 3000 };
    static lv_day days[N];
    static double px[N];
    for (int i = 0; i < N; i++) {
        days[i] = i;
        px[i] = 100 + sin(i * 0.1);
    }
    struct lv_error err;
    assert_int_equal(lv_market_builder_add(b, "X", days, px, px, px, px, px, N, &err), 0);
    assert_int_equal(lv_market_builder_add(b, "Y", days, px, px, px, px, px, N, &err), 0);
    struct lv_market *m = lv_market_finalize(b, &err);
    struct lv_series_cache *cache = lv_series_cache_new(m);
    pthread_t threads[4];
    static struct thread_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t].cache = cache;
        pthread_create(&threads[t], NULL, hammer, &args[t]);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(threads[t], NULL);
    for (int i = 0; i < 64; i++) {
        assert_non_null(args[0].seen[i]);
        for (int t = 1; t < 4; t++)
            assert_ptr_equal(args[t].seen[i], args[0].seen[i]);
    }
    lv_series_cache_free(cache);
    lv_market_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_good_file),
        cmocka_unit_test(csv_crlf_and_column_order),
        cmocka_unit_test(csv_symbol_column_groups_rows),
        cmocka_unit_test(csv_bad_number_names_line_and_field),
        cmocka_unit_test(csv_each_rule),
        cmocka_unit_test(market_lookup_and_dates),
        cmocka_unit_test(builder_refuses_bad_input),
        cmocka_unit_test(alignment_carries_last_bar),
        cmocka_unit_test(cache_computes_once),
        cmocka_unit_test(cache_is_shared_by_threads),
    };
    return cmocka_run_group_tests_name("market", tests, NULL, NULL);
}
