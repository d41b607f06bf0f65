/* ratelimit.h — token-bucket rate limits kept in memory, keyed by a short string (a user id,
 * a client IP). Each key gets `burst` tokens that refill at `per_minute`; a request takes
 * one. Thread-safe. Limits are per process: N `lever serve` processes allow N times as much. */
#ifndef LEVER_API_RATELIMIT_H
#define LEVER_API_RATELIMIT_H

#include <stddef.h>

struct lv_ratelimit;

/* Longest key kept (longer keys are cut; IPv6 text is at most 45 characters). */
#define LV_RATELIMIT_KEY_MAX 64

/* A limiter of `per_minute` requests per minute with bursts of up to `burst`, tracking at
 * most `max_keys` keys (0 = 100,000). Returns NULL when per_minute <= 0 (no limit: every
 * lv_ratelimit_take on NULL allows) or when memory runs out. Free with lv_ratelimit_free. */
struct lv_ratelimit *lv_ratelimit_new(double per_minute, double burst, size_t max_keys);
void lv_ratelimit_free(struct lv_ratelimit *limiter);

/* Takes one token from `key`'s bucket at time `now_s` (seconds on a monotonic clock, see
 * lv_ratelimit_clock). Returns 0 when the request may proceed; otherwise the whole number
 * of seconds (>= 1) until a token is available again, for a Retry-After header.
 * Buckets that have refilled completely are forgotten when room is needed (they are the
 * same as new ones). When max_keys buckets are all in use, a new key is let through
 * untracked: the limiter never refuses for lack of memory. */
long lv_ratelimit_take(struct lv_ratelimit *limiter, const char *key, double now_s);

/* Seconds on CLOCK_MONOTONIC. */
double lv_ratelimit_clock(void);

/* Number of keys currently tracked (for tests). */
size_t lv_ratelimit_size(struct lv_ratelimit *limiter);

#endif
