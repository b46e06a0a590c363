/*
 * Verifying an image the way `vmie convert` will read it (`vmie check`).
 *
 * Opening an image proves its headers; converting it follows every table
 * entry and inflates every compressed grain or cluster.  A check that
 * passes must mean the conversion will read the whole disk, so
 * vmie_image_verify() does both passes a conversion relies on:
 *
 *   1. the table walk (the driver's check(), as `vmie info --check`):
 *      every grain directory and table, BAT, L1/L2 entry in range and
 *      consistent, within the image's budget;
 *   2. the data pass: every range block status reports as DATA is read
 *      through vmie_image_pread in 4 MiB chunks, by one job per thread of
 *      a pool (lib/core/pool.h), into per-thread buffers that are thrown
 *      away: every compressed unit is inflated and checked against its
 *      stated size by the driver, and nothing is written anywhere.  Zero
 *      and unallocated ranges are skipped, as convert skips them.
 *
 * The data pass costs about what a conversion to nowhere costs (time
 * proportional to the allocated size, memory = threads x 4 MiB); its reads
 * are data, not metadata, so they do not draw on the budget's "read"
 * counter (drivers still draw on it for the tables they load).  With
 * o->quick only the table walk runs and res->data_read stays false: the
 * caller must say so.
 *
 * The workers pull their next chunk from one shared cursor: block status
 * is asked under a lock for the run at the cursor, at most 4 MiB of a
 * DATA run is taken, the cursor advances and the read happens outside the
 * lock.  So no list of chunks is ever built, however fragmented the disk.
 */
#include "image.h"
#include "../core/budget.h"
#include "../core/pool.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_CHUNK        ((uint64_t)4 << 20)
/* progress is reported at most every this many bytes of the disk */
#define VERIFY_PROGRESS_STEP ((uint64_t)64 << 20)

struct verify_ctx {
	struct vmie_image *img;
	const struct vmie_verify_opts *o;
	struct vmie_verify_result *res;
	pthread_mutex_t lock;
	uint64_t cursor;          /* next offset to look at */
	uint64_t next_progress;
	bool stop;
	int rc;                   /* first error */
	struct vmie_err err;      /* its details */
};

/* Record the first error (lock held). */
static void verify_fail(struct verify_ctx *c, int rc, const struct vmie_err *e)
{
	if (c->rc)
		return;
	c->rc = rc;
	c->err = *e;
	c->stop = true;
}

/* Take the next chunk of data to read: [*off, *off + *len).  Returns 1
 * with a chunk, 0 at the end, or an error (lock held). */
static int verify_next(struct verify_ctx *c, uint64_t *off, size_t *len)
{
	struct vmie_image *img = c->img;
	while (!c->stop && c->cursor < img->size) {
		uint64_t pnum = 0, cur = c->cursor;
		unsigned st = 0;
		struct vmie_err e = { 0 };
		/* never past the next chunk boundary */
		uint64_t lim = VERIFY_CHUNK - cur % VERIFY_CHUNK;
		if (lim > img->size - cur)
			lim = img->size - cur;
		int r = vmie_image_block_status(img, cur, lim, &pnum, &st, &e);
		if (r) {
			vmie_err_prefix(&e, "block status at offset %llu",
					(unsigned long long)cur);
			verify_fail(c, r, &e);
			return r;
		}
		if (!pnum || pnum > lim) {
			VMIE_CORRUPT(&e, "%s: block status at offset %llu "
				     "reports a run of %llu bytes (asked at "
				     "most %llu)", img->name,
				     (unsigned long long)cur,
				     (unsigned long long)pnum,
				     (unsigned long long)lim);
			verify_fail(c, VMIE_ECORRUPT, &e);
			return VMIE_ECORRUPT;
		}
		c->cursor += pnum;
		if ((st & VMIE_BS_DATA) && !(st & VMIE_BS_ZERO)) {
			*off = cur;
			*len = (size_t)pnum;
			return 1;
		}
		c->res->zero_bytes += pnum;
	}
	return 0;
}

static void verify_progress(struct verify_ctx *c)
{
	const struct vmie_verify_opts *o = c->o;
	if (!o->progress || c->cursor < c->next_progress)
		return;
	c->next_progress = c->cursor + VERIFY_PROGRESS_STEP;
	o->progress(o->progress_ctx, c->cursor, c->img->size);
}

/* One worker: read chunks until there are none left or one fails. */
static void verify_job(void *arg)
{
	struct verify_ctx *c = arg;
	uint8_t *buf = malloc(VERIFY_CHUNK);
	struct vmie_err e = { 0 };
	pthread_mutex_lock(&c->lock);
	if (!buf) {
		VMIE_ERR(&e, VMIE_ENOMEM, "out of memory for a 4 MiB buffer");
		verify_fail(c, VMIE_ENOMEM, &e);
	}
	for (;;) {
		uint64_t off = 0;
		size_t len = 0;
		if (!c->stop && c->o->cancel && *c->o->cancel) {
			VMIE_ERR(&e, VMIE_EINTR, "interrupted");
			verify_fail(c, VMIE_EINTR, &e);
		}
		if (verify_next(c, &off, &len) != 1)
			break;
		pthread_mutex_unlock(&c->lock);
		vmie_err_clear(&e);
		int r = vmie_image_pread(c->img, buf, len, off, &e);
		pthread_mutex_lock(&c->lock);
		if (r) {
			vmie_err_prefix(&e, "%s: reading %zu bytes of data at "
					"offset %llu", c->img->name, len,
					(unsigned long long)off);
			/* a driver that cannot read its own data holds a
			 * corrupt image, whatever the code it gave */
			if (!e.rule[0] && r != VMIE_EINTR && r != VMIE_ENOMEM &&
			    r != VMIE_EIO)
				vmie_strlcpy(e.rule, "FMT-005", sizeof e.rule);
			verify_fail(c, r, &e);
			break;
		}
		c->res->data_bytes += len;
		c->res->data_chunks++;
		verify_progress(c);
	}
	pthread_mutex_unlock(&c->lock);
	free(buf);
}

static int verify_data(struct vmie_image *img,
		       const struct vmie_verify_opts *o,
		       struct vmie_verify_result *res, struct vmie_err *err)
{
	struct verify_ctx c = { .img = img, .o = o, .res = res };
	unsigned n = o->threads ? o->threads : vmie_cpu_count();
	struct vmie_pool *pool;
	int r = 0;
	if (n > 64)
		n = 64;
	/* never more workers than chunks */
	if ((uint64_t)n > img->size / VERIFY_CHUNK + 1)
		n = (unsigned)(img->size / VERIFY_CHUNK + 1);
	if (pthread_mutex_init(&c.lock, NULL))
		return VMIE_ERR(err, VMIE_ENOMEM, "cannot create a lock");
	pool = vmie_pool_new(n, n);
	if (!pool) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "cannot start %u threads", n);
		goto out;
	}
	res->threads = vmie_pool_threads(pool);
	for (unsigned i = 0; i < res->threads; i++)
		if ((r = vmie_pool_submit(pool, verify_job, &c))) {
			pthread_mutex_lock(&c.lock);
			c.stop = true;
			pthread_mutex_unlock(&c.lock);
			VMIE_ERR(err, r, "cannot queue a verify job");
			break;
		}
	vmie_pool_free(pool);
	if (r)
		goto out;
	if (c.rc) {
		r = c.rc;
		if (err)
			*err = c.err;
		goto out;
	}
	res->data_read = true;
	if (o->progress)
		o->progress(o->progress_ctx, img->size, img->size);
out:
	pthread_mutex_destroy(&c.lock);
	return r;
}

static int verify_run(struct vmie_image *img,
		      const struct vmie_verify_opts *o,
		      struct vmie_verify_result *res, struct vmie_err *err)
{
	int r;
	memset(res, 0, sizeof *res);
	if (o->open_only)
		return 0;
	r = vmie_image_check(img, &res->check, err);
	if (r)
		return r;
	res->tables_walked = true;
	if (res->check.corruptions)
		return VMIE_CORRUPT(err, "%s: %llu corrupt table entr%s (%llu "
				    "visited)%s%s", img->name,
				    (unsigned long long)res->check.corruptions,
				    res->check.corruptions == 1 ? "y" : "ies",
				    (unsigned long long)
				    res->check.tables_checked,
				    res->check.n_msgs ? ": " : "",
				    res->check.n_msgs ? res->check.msgs[0] : "");
	if (o->quick)
		return 0;
	return verify_data(img, o, res, err);
}

/* Verification is a phase of its own (lib/core/budget.h): what its walk
 * drew (a compressed image inflates up to the whole inflate limit) is not
 * taken from what inspection may read next. */
int vmie_image_verify(struct vmie_image *img,
		      const struct vmie_verify_opts *o,
		      struct vmie_verify_result *res, struct vmie_err *err)
{
	static const struct vmie_verify_opts none = { 0 };
	int r = verify_run(img, o ? o : &none, res, err);
	vmie_budget_new_phase(img->budget);
	return r;
}
