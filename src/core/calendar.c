/* calendar.c — day-number arithmetic after Howard Hinnant's civil-date algorithms,
 * exact for every Gregorian date and free of time zones and locale. */
#include "core/calendar.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

lv_day lv_day_from_ymd(int year, int month, int day)
{
    year -= month <= 2;
    const int era = (year >= 0 ? year : year - 399) / 400;
    const int yoe = year - era * 400;
    const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (lv_day)(era * 146097 + doe - 719468);
}

void lv_day_to_ymd(lv_day d, int *year, int *month, int *day)
{
    const int z = d + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const int doe = z - era * 146097;
    const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int mp = (5 * doy + 2) / 153;
    const int m = mp + (mp < 10 ? 3 : -9);
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = m;
    *year = yoe + era * 400 + (m <= 2);
}

static int days_in_month(int year, int month)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : len[month - 1];
}

static int digits(const char *s, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

bool lv_day_parse(const char *text, lv_day *out)
{
    if (text == NULL || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return false;
    int year = digits(text, 4), month = digits(text + 5, 2), day = digits(text + 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    *out = lv_day_from_ymd(year, month, day);
    return true;
}

char *lv_day_format(lv_day d, char *buf)
{
    int year, month, day;
    lv_day_to_ymd(d, &year, &month, &day);
    /* Years outside 0..9999 cannot be written in this form; clamp rather than overflow. */
    unsigned y = year < 0 ? 0u : year > 9999 ? 9999u : (unsigned)year;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + month / 10);
    buf[6] = (char)('0' + month % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + day / 10);
    buf[9] = (char)('0' + day % 10);
    buf[10] = '\0';
    return buf;
}

int lv_day_weekday(lv_day d)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    int w = (int)((d % 7 + 7 + 3) % 7);
    return w + 1;
}

int lv_day_iso_week(lv_day d, int *iso_year)
{
    /* The ISO week belongs to the year that holds its Thursday. */
    lv_day thursday = d - lv_day_weekday(d) + 4;
    int year, month, day;
    lv_day_to_ymd(thursday, &year, &month, &day);
    *iso_year = year;
    return (thursday - lv_day_from_ymd(year, 1, 1)) / 7 + 1;
}

bool lv_day_new_week(lv_day prev, lv_day cur)
{
    int prev_year, cur_year;
    int prev_week = lv_day_iso_week(prev, &prev_year);
    int cur_week = lv_day_iso_week(cur, &cur_year);
    return prev_week != cur_week || prev_year != cur_year;
}

bool lv_day_new_month(lv_day prev, lv_day cur)
{
    int py, pm, pd, cy, cm, cd;
    lv_day_to_ymd(prev, &py, &pm, &pd);
    lv_day_to_ymd(cur, &cy, &cm, &cd);
    return py != cy || pm != cm;
}

bool lv_day_new_quarter(lv_day prev, lv_day cur)
{
    int py, pm, pd, cy, cm, cd;
    lv_day_to_ymd(prev, &py, &pm, &pd);
    lv_day_to_ymd(cur, &cy, &cm, &cd);
    return py != cy || (pm - 1) / 3 != (cm - 1) / 3;
}

bool lv_day_new_year(lv_day prev, lv_day cur)
{
    int py, pm, pd, cy, cm, cd;
    lv_day_to_ymd(prev, &py, &pm, &pd);
    lv_day_to_ymd(cur, &cy, &cm, &cd);
    return py != cy;
}
