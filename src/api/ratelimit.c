/* ratelimit.c — a chained hash table of token buckets under one mutex. The critical section
 * is a hash lookup and a few arithmetic operations, so one lock is enough. */
#include "api/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKET_SLOTS 4096 /* hash slots; chains stay short up to ~100k keys */

struct bucket {
    struct bucket *next;
    double tokens;    /* tokens left at `updated_s` */
    double updated_s; /* when `tokens` was computed */
    char key[LV_RATELIMIT_KEY_MAX];
};

struct lv_ratelimit {
    pthread_mutex_t lock;
    double rate_per_s;
    double burst;
    size_t max_keys;
    size_t count;
    double last_sweep_s; /* sweeps are O(keys): at most one a second, even under a flood */
    struct bucket *slots[BUCKET_SLOTS];
};

struct lv_ratelimit *lv_ratelimit_new(double per_minute, double burst, size_t max_keys)
{
    if (!(per_minute > 0))
        return NULL;
    struct lv_ratelimit *limiter = calloc(1, sizeof *limiter);
    if (limiter == NULL)
        return NULL;
    pthread_mutex_init(&limiter->lock, NULL);
    limiter->rate_per_s = per_minute / 60.0;
    limiter->burst = burst >= 1 ? burst : 1;
    limiter->max_keys = max_keys > 0 ? max_keys : 100000;
    return limiter;
}

void lv_ratelimit_free(struct lv_ratelimit *limiter)
{
    if (limiter == NULL)
        return;
    for (size_t i = 0; i < BUCKET_SLOTS; i++)
        for (struct bucket *b = limiter->slots[i], *next; b != NULL; b = next) {
            next = b->next;
            free(b);
        }
    pthread_mutex_destroy(&limiter->lock);
    free(limiter);
}

static uint32_t hash_key(const char *key)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (; *key != '\0'; key++)
        hash = (hash ^ (unsigned char)*key) * 16777619u;
    return hash;
}

/* Tokens in b at now_s, capped at the burst. */
static double refilled(const struct lv_ratelimit *limiter, const struct bucket *b, double now_s)
{
    double elapsed = now_s > b->updated_s ? now_s - b->updated_s : 0;
    double tokens = b->tokens + elapsed * limiter->rate_per_s;
    return tokens < limiter->burst ? tokens : limiter->burst;
}

/* Forgets every bucket that has refilled: it behaves exactly like a missing one. */
static void sweep(struct lv_ratelimit *limiter, double now_s)
{
    for (size_t i = 0; i < BUCKET_SLOTS; i++) {
        struct bucket **link = &limiter->slots[i];
        while (*link != NULL) {
            struct bucket *b = *link;
            if (refilled(limiter, b, now_s) >= limiter->burst) {
                *link = b->next;
                free(b);
                limiter->count--;
            } else {
                link = &b->next;
            }
        }
    }
}

static struct bucket *find_or_add(struct lv_ratelimit *limiter, const char *key, double now_s)
{
    char cut[LV_RATELIMIT_KEY_MAX];
    snprintf(cut, sizeof cut, "%s", key);
    uint32_t slot = hash_key(cut) % BUCKET_SLOTS;
    for (struct bucket *b = limiter->slots[slot]; b != NULL; b = b->next)
        if (strcmp(b->key, cut) == 0)
            return b;
    if (limiter->count >= limiter->max_keys && now_s - limiter->last_sweep_s >= 1) {
        limiter->last_sweep_s = now_s;
        sweep(limiter, now_s);
    }
    if (limiter->count >= limiter->max_keys)
        return NULL;
    struct bucket *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    memcpy(b->key, cut, sizeof cut);
    b->tokens = limiter->burst;
    b->updated_s = now_s;
    b->next = limiter->slots[slot];
    limiter->slots[slot] = b;
    limiter->count++;
    return b;
}

long lv_ratelimit_take(struct lv_ratelimit *limiter, const char *key, double now_s)
{
    if (limiter == NULL)
        return 0;
    long retry_after = 0;
    pthread_mutex_lock(&limiter->lock);
    struct bucket *b = find_or_add(limiter, key, now_s);
    if (b != NULL) {
        double tokens = refilled(limiter, b, now_s);
        if (tokens >= 1) {
            b->tokens = tokens - 1;
        } else {
            b->tokens = tokens;
            retry_after = (long)ceil((1 - tokens) / limiter->rate_per_s);
            if (retry_after < 1)
                retry_after = 1;
        }
        b->updated_s = now_s > b->updated_s ? now_s : b->updated_s;
    }
    pthread_mutex_unlock(&limiter->lock);
    return retry_after;
}

double lv_ratelimit_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t lv_ratelimit_size(struct lv_ratelimit *limiter)
{
    if (limiter == NULL)
        return 0;
    pthread_mutex_lock(&limiter->lock);
    size_t count = limiter->count;
    pthread_mutex_unlock(&limiter->lock);
    return count;
}
