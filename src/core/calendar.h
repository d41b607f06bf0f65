/* calendar.h — civil dates as day numbers (days since 1970-01-01, UTC, proleptic Gregorian).
 * Every date inside Lever is an lv_day; text only appears at the edges (CSV, JSON, SQL). */
#ifndef LEVER_CORE_CALENDAR_H
#define LEVER_CORE_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

typedef int32_t lv_day;

/* Sentinel for "no date" (e.g. an absent start date). */
#define LV_DAY_NONE INT32_MIN

/* Length of "YYYY-MM-DD" plus the terminating NUL. */
#define LV_DAY_TEXT 11

lv_day lv_day_from_ymd(int year, int month, int day);
void lv_day_to_ymd(lv_day d, int *year, int *month, int *day);

/* Parses exactly "YYYY-MM-DD" (a real calendar date). Returns true on success. */
bool lv_day_parse(const char *text, lv_day *out);

/* Writes "YYYY-MM-DD" into buf (at least LV_DAY_TEXT bytes). Returns buf. */
char *lv_day_format(lv_day d, char *buf);

/* ISO weekday: 1 = Monday … 7 = Sunday. */
int lv_day_weekday(lv_day d);

/* ISO-8601 week number (1..53); *iso_year receives the week-based year. */
int lv_day_iso_week(lv_day d, int *iso_year);

/* True when a and b fall in different periods of the given length, used by the
 * rebalancing schedules: a new ISO week, month, quarter or year. */
bool lv_day_new_week(lv_day prev, lv_day cur);
bool lv_day_new_month(lv_day prev, lv_day cur);
bool lv_day_new_quarter(lv_day prev, lv_day cur);
bool lv_day_new_year(lv_day prev, lv_day cur);

#endif
