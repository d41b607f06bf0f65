/* worker.h — batch workers of one process (inside `lever serve`, or `lever worker` alone):
 * a coordinator thread that claims chunks from the queue, and compute threads that run the
 * chunk's runs in parallel; the coordinator stores the chunk with COPY and finishes jobs.
 *
 * The coordinator has two connections of its own: one for the queue, one that LISTENs on
 * LV_QUEUE_CHANNEL so that an idle worker wakes as soon as a job is queued (it also looks
 * every second, for expired leases). While a chunk runs it renews the lease and looks at the
 * job's status every 250 ms: a cancelled job stops its runs within that time, and the runs of
 * the chunk in flight are dropped (stored runs stay). */
#ifndef LEVER_JOBS_WORKER_H
#define LEVER_JOBS_WORKER_H

#include <stddef.h>

#include "app/config.h"
#include "core/error.h"

struct lv_worker_config {
    const char *database_url; /* required */
    int threads;              /* compute threads; <= 0 = number of online CPUs */
    int lease_s;              /* claim lease in seconds; <= 0 = LV_WORKER_DEFAULT_LEASE_S */
    size_t memory_budget;     /* resident bytes above which a job's series cache is dropped
                               * between chunks; 0 = LV_WORKER_DEFAULT_MEMORY_BUDGET */
};

#define LV_WORKER_DEFAULT_LEASE_S       30
#define LV_WORKER_DEFAULT_MEMORY_BUDGET ((size_t)1024 * 1024 * 1024)

/* Fills cfg from the process configuration (DATABASE_URL, LEVER_WORKERS, LEVER_BATCH_LEASE_S,
 * LEVER_BATCH_MEMORY_MB, all validated by lv_config_load). `app` must outlive the workers.
 * Returns 0. */
int lv_worker_config_init(struct lv_worker_config *cfg, const struct lv_config *app,
                          struct lv_error *err);

struct lv_workers;

/* Connects and starts the threads. Returns NULL with err set when the database cannot be
 * reached or threads cannot start. */
struct lv_workers *lv_workers_start(const struct lv_worker_config *cfg, struct lv_error *err);

/* Stops: the chunk in flight is given back to the queue (another worker takes it at once),
 * threads are joined, connections closed, everything freed. NULL is ignored. */
void lv_workers_stop(struct lv_workers *workers);

#endif
