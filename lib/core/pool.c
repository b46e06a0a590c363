/* Thread pool: see pool.h. */
#include "pool.h"
#include "err.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct pool_job {
	vmie_job_fn fn;
	void *arg;
};

struct vmie_pool {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, idle;
	struct pool_job *ring;
	unsigned cap, head, count;
	unsigned running;      /* jobs being executed now */
	unsigned nthreads;
	int stopping;
	pthread_t *threads;
};

unsigned vmie_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void *pool_worker(void *vp)
{
	struct vmie_pool *p = vp;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->count && !p->stopping)
			pthread_cond_wait(&p->not_empty, &p->lock);
		if (!p->count && p->stopping)
			break;
		struct pool_job job = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		p->running++;
		pthread_cond_signal(&p->not_full);
		pthread_mutex_unlock(&p->lock);
		job.fn(job.arg);
		pthread_mutex_lock(&p->lock);
		p->running--;
		if (!p->count && !p->running)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct vmie_pool *vmie_pool_new(unsigned nthreads, unsigned queue_max)
{
	struct vmie_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (!nthreads)
		nthreads = vmie_cpu_count();
	if (!queue_max)
		queue_max = 2 * nthreads;
	p->cap = queue_max;
	p->ring = calloc(queue_max, sizeof *p->ring);
	p->threads = calloc(nthreads, sizeof *p->threads);
	if (!p->ring || !p->threads)
		goto fail;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->not_empty, NULL);
	pthread_cond_init(&p->not_full, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, pool_worker, p))
			break;
		p->nthreads++;
	}
	if (!p->nthreads) {
		vmie_pool_free(p);
		return NULL;
	}
	return p;
fail:
	free(p->ring);
	free(p->threads);
	free(p);
	return NULL;
}

int vmie_pool_submit(struct vmie_pool *p, vmie_job_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	while (p->count == p->cap)
		pthread_cond_wait(&p->not_full, &p->lock);
	p->ring[(p->head + p->count) % p->cap] = (struct pool_job){ fn, arg };
	p->count++;
	pthread_cond_signal(&p->not_empty);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void vmie_pool_wait(struct vmie_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->count || p->running)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

unsigned vmie_pool_threads(const struct vmie_pool *p)
{
	return p->nthreads;
}

void vmie_pool_free(struct vmie_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->not_empty);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->not_empty);
	pthread_cond_destroy(&p->not_full);
	pthread_cond_destroy(&p->idle);
	free(p->ring);
	free(p->threads);
	free(p);
}
