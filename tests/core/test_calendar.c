/* test_calendar.c — day numbers, parsing and the period boundaries used by rebalancing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/calendar.h"

static void epoch_and_round_trip(void **state)
{
    (void)state;
    assert_int_equal(lv_day_from_ymd(1970, 1, 1), 0);
    assert_int_equal(lv_day_from_ymd(2000, 3, 1), 11017);
    char buf[LV_DAY_TEXT];
    for (lv_day d = -800000; d < 800000; d += 97) {
        int y, m, dd;
        lv_day_to_ymd(d, &y, &m, &dd);
        assert_int_equal(lv_day_from_ymd(y, m, dd), d);
    }
    assert_string_equal(lv_day_format(lv_day_from_ymd(2025, 9, 26), buf), "2025-09-26");
}

static void parse_is_strict(void **state)
{
    (void)state;
    lv_day d;
    assert_true(lv_day_parse("2024-02-29", &d));
    assert_int_equal(d, lv_day_from_ymd(2024, 2, 29));
    assert_false(lv_day_parse("2023-02-29", &d));
    assert_false(lv_day_parse("2023-13-01", &d));
    assert_false(lv_day_parse("2023-1-01", &d));
    assert_false(lv_day_parse("2023-01-01x", &d));
    assert_false(lv_day_parse("20230101", &d));
    assert_false(lv_day_parse("", &d));
}

static void weekdays_and_iso_weeks(void **state)
{
    (void)state;
    int iso_year;
    assert_int_equal(lv_day_weekday(lv_day_from_ymd(1970, 1, 1)), 4);
    assert_int_equal(lv_day_weekday(lv_day_from_ymd(2026, 11, 23)), 1);
    /* 2021-01-03 is a Sunday in week 53 of 2020. */
    assert_int_equal(lv_day_iso_week(lv_day_from_ymd(2021, 1, 3), &iso_year), 53);
    assert_int_equal(iso_year, 2020);
    assert_int_equal(lv_day_iso_week(lv_day_from_ymd(2021, 1, 4), &iso_year), 1);
    assert_int_equal(iso_year, 2021);
    /* 2024-12-30 (Monday) is week 1 of 2025. */
    assert_int_equal(lv_day_iso_week(lv_day_from_ymd(2024, 12, 30), &iso_year), 1);
    assert_int_equal(iso_year, 2025);
}

static void period_boundaries(void **state)
{
    (void)state;
    lv_day fri = lv_day_from_ymd(2024, 3, 29), mon = lv_day_from_ymd(2024, 4, 1);
    assert_true(lv_day_new_week(fri, mon));
    assert_true(lv_day_new_month(fri, mon));
    assert_true(lv_day_new_quarter(fri, mon));
    assert_false(lv_day_new_year(fri, mon));
    lv_day tue = lv_day_from_ymd(2024, 4, 2);
    assert_false(lv_day_new_week(mon, tue));
    assert_false(lv_day_new_month(mon, tue));
    assert_true(lv_day_new_year(lv_day_from_ymd(2024, 12, 31), lv_day_from_ymd(2025, 1, 2)));
    /* Same ISO week across the new year: not a new week. */
    assert_false(lv_day_new_week(lv_day_from_ymd(2024, 12, 31), lv_day_from_ymd(2025, 1, 2)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_and_round_trip),
        cmocka_unit_test(parse_is_strict),
        cmocka_unit_test(weekdays_and_iso_weeks),
        cmocka_unit_test(period_boundaries),
    };
    return cmocka_run_group_tests_name("calendar", tests, NULL, NULL);
}
