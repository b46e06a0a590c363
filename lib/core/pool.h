/*
 * A small fixed-size thread pool with a bounded FIFO job queue.
 *
 * vmie_pool_submit() blocks while the queue is full, which is how callers
 * keep memory bounded.  Jobs must not call back into the same pool's wait.
 * Used by the convert engine to decompress/compress chunks in parallel.
 */
#ifndef VMIE_CORE_POOL_H
#define VMIE_CORE_POOL_H

#include <stddef.h>

struct vmie_pool;

typedef void (*vmie_job_fn)(void *arg);

/* nthreads 0 = number of online CPUs.  queue_max 0 = 2 * nthreads. */
struct vmie_pool *vmie_pool_new(unsigned nthreads, unsigned queue_max);
/* Queue a job; blocks while the queue is full.  Returns 0 or VMIE_ENOMEM. */
int vmie_pool_submit(struct vmie_pool *p, vmie_job_fn fn, void *arg);
/* Wait until every submitted job has finished. */
void vmie_pool_wait(struct vmie_pool *p);
/* Wait for all jobs, stop the threads and free the pool.  NULL is fine. */
void vmie_pool_free(struct vmie_pool *p);
unsigned vmie_pool_threads(const struct vmie_pool *p);
/* Number of online CPUs (at least 1). */
unsigned vmie_cpu_count(void);

#endif
