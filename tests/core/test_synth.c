/* test_synth.c — the synthetic sample market: deterministic, well-formed bars, and the
 * correlations that make it a useful stand-in for the real ETFs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/synth.h"

static const struct lv_synth_series *find(const struct lv_synth_market *m, const char *symbol)
{
    for (size_t k = 0; k < m->n_symbols; k++)
        if (strcmp(m->series[k].symbol, symbol) == 0)
            return &m->series[k];
    return NULL;
}

static double return_correlation(const struct lv_synth_series *a, const struct lv_synth_series *b)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    size_t n = a->n - 1;
    for (size_t i = 1; i < a->n; i++) {
        double ra = a->close[i] / a->close[i - 1] - 1, rb = b->close[i] / b->close[i - 1] - 1;
        sa += ra, sb += rb, saa += ra * ra, sbb += rb * rb, sab += ra * rb;
    }
    double cov = sab / n - sa / n * sb / n;
    return cov / sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
}

static void twenty_years_of_21_symbols(void **state)
{
    (void)state;
    struct lv_synth_market m;
    assert_int_equal(lv_synth_generate(lv_day_from_ymd(2005, 1, 1), lv_day_from_ymd(2024, 12, 31),
                                       LV_SYNTH_DEFAULT_SEED, &m),
                     0);
    assert_int_equal(m.n_symbols, 21);
    const struct lv_synth_series *spy = find(&m, "SPY");
    assert_non_null(spy);
    /* 20 years of weekdays less three holidays a year (when they fall on weekdays). */
    assert_in_range(spy->n, 5150, 5230);
    for (size_t k = 0; k < m.n_symbols; k++) {
        const struct lv_synth_series *s = &m.series[k];
        assert_int_equal(s->n, spy->n);
        for (size_t i = 0; i < s->n; i++) {
            assert_true(s->low[i] > 0);
            assert_true(s->low[i] <= s->open[i] && s->open[i] <= s->high[i]);
            assert_true(s->low[i] <= s->close[i] && s->close[i] <= s->high[i]);
            assert_true(s->volume[i] >= 0);
            assert_true(i == 0 || s->day[i] > s->day[i - 1]);
            assert_true(lv_day_weekday(s->day[i]) <= 5);
        }
    }
    assert_true(return_correlation(spy, find(&m, "QQQ")) > 0.7);
    assert_true(return_correlation(spy, find(&m, "TLT")) < 0.0);
    assert_true(return_correlation(find(&m, "GLD"), find(&m, "DBC")) > 0.3);
    lv_synth_free(&m);
}

static void same_seed_same_bars(void **state)
{
    (void)state;
    struct lv_synth_market a, b, c;
    lv_day first = lv_day_from_ymd(2020, 1, 1), last = lv_day_from_ymd(2020, 12, 31);
    assert_int_equal(lv_synth_generate(first, last, 7, &a), 0);
    assert_int_equal(lv_synth_generate(first, last, 7, &b), 0);
    assert_int_equal(lv_synth_generate(first, last, 8, &c), 0);
    for (size_t k = 0; k < a.n_symbols; k++) {
        assert_memory_equal(a.series[k].close, b.series[k].close, a.series[k].n * sizeof(double));
        assert_memory_equal(a.series[k].volume, b.series[k].volume, a.series[k].n * sizeof(double));
    }
    assert_true(a.series[0].close[10] != c.series[0].close[10]);
    lv_synth_free(&a);
    lv_synth_free(&b);
    lv_synth_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twenty_years_of_21_symbols),
        cmocka_unit_test(same_seed_same_bars),
    };
    return cmocka_run_group_tests_name("synth", tests, NULL, NULL);
}
