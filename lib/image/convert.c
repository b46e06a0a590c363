/*
 * The convert engine: one streaming pass from any readable image to any
 * writer.
 *
 *   main thread                     worker threads (lib/core/pool)
 *   -----------                     ------------------------------
 *   block status -> skip zero runs
 *   chunk i -> slot  ------------>  pread (decompresses), zero test,
 *                                   writer->encode (compresses)
 *   slot of chunk j (in order) <--  done
 *   writer->write(chunk j)
 *
 * Chunks are aligned to the chunk size (a multiple of the writer's granule,
 * about 1 MiB).  A bounded number of slots is in flight, so memory is
 * bounded whatever the disk size (slots x chunk size, capped at 128 MiB).
 * Zero chunks, and ranges the source reports as zero, are never written.
 */
#include "image.h"
#include "../core/checked.h"
#include "../core/pool.h"
#include "../core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_CHUNK   ((size_t)1 << 20)
#define MAX_INFLIGHT_BYTES ((size_t)128 << 20)

struct slot {
	struct vmie_chunk c;
	struct convert_ctx *ctx;
	uint8_t *buf;
	int state;          /* 0 free, 1 queued, 2 done */
	int rc;
	bool zero;
	struct vmie_err err;
};

struct convert_ctx {
	struct vmie_image *img;
	struct vmie_writer *w;
	pthread_mutex_t lock;
	pthread_cond_t done;
	volatile int *cancel;
};

static void convert_job(void *arg)
{
	struct slot *s = arg;
	struct convert_ctx *ctx = s->ctx;
	int rc = 0;
	bool zero = false;
	if (ctx->cancel && *ctx->cancel) {
		rc = VMIE_ERR(&s->err, VMIE_EINTR, "interrupted");
		goto out;
	}
	rc = vmie_image_pread(ctx->img, s->buf, s->c.len, s->c.off, &s->err);
	if (rc)
		goto out;
	zero = vmie_is_zero(s->buf, s->c.len);
	if (!zero && ctx->w->ops->encode)
		rc = ctx->w->ops->encode(ctx->w, &s->c, &s->err);
out:
	pthread_mutex_lock(&ctx->lock);
	s->rc = rc;
	s->zero = zero;
	s->state = 2;
	pthread_cond_broadcast(&ctx->done);
	pthread_mutex_unlock(&ctx->lock);
}

static size_t pick_chunk(size_t granule)
{
	if (!granule)
		granule = 512;
	if (granule >= TARGET_CHUNK)
		return granule;
	return granule * ((TARGET_CHUNK + granule - 1) / granule);
}

int vmie_convert_to_sink(struct vmie_image *img, struct vmie_sink *sink,
			 const struct vmie_convert_opts *o,
			 struct vmie_convert_stats *stats, struct vmie_err *err)
{
	const struct vmie_image_driver *d;
	struct vmie_writer w = { 0 };
	struct vmie_create_opts co = { 0 };
	struct convert_ctx ctx = { 0 };
	struct vmie_pool *pool = NULL;
	struct slot *slots = NULL;
	size_t nslots = 0, head = 0, inflight = 0;
	struct vmie_convert_stats st = { 0 };
	bool writer_created = false;
	int r;

	d = vmie_image_driver_find(o->format);
	if (!d || !d->writer)
		return VMIE_ERR(err, VMIE_EINVAL, "cannot write format '%s'",
				o->format ? o->format : "(none)");
	unsigned threads = o->threads ? o->threads : vmie_cpu_count();
	w.drv = d;
	w.ops = d->writer;
	w.sink = sink;
	w.size = img->size;
	w.source_name = img->name;
	vmie_strlcpy(w.subformat, o->subformat ? o->subformat :
		     (d->write_subformats && d->write_subformats[0] ?
		      d->write_subformats[0] : ""), sizeof w.subformat);
	co.subformat = w.subformat;
	co.size = img->size;
	co.threads = threads;
	co.kv = o->kv;
	co.n_kv = o->n_kv;
	co.cancel = o->cancel;
	r = w.ops->create(&w, &co, err);
	if (r)
		goto out;
	writer_created = true;

	size_t chunk = pick_chunk(w.granule);
	nslots = 2 * (size_t)threads + 2;
	if (nslots * chunk > MAX_INFLIGHT_BYTES)
		nslots = MAX_INFLIGHT_BYTES / chunk;
	if (nslots < 2)
		nslots = 2;
	slots = calloc(nslots, sizeof *slots);
	if (!slots) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nslots; i++) {
		slots[i].buf = malloc(chunk);
		slots[i].ctx = &ctx;
		if (!slots[i].buf) {
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory for "
				     "%zu conversion buffers of %zu bytes",
				     nslots, chunk);
			goto out;
		}
	}
	pool = vmie_pool_new(threads, (unsigned)nslots);
	if (!pool) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "cannot start worker threads");
		goto out;
	}
	ctx.img = img;
	ctx.w = &w;
	ctx.cancel = o->cancel;
	pthread_mutex_init(&ctx.lock, NULL);
	pthread_cond_init(&ctx.done, NULL);

	uint64_t off = 0, last_progress = 0, data_until = 0;
	r = 0;
	while ((off < img->size || inflight) && !r) {
		if (o->cancel && *o->cancel) {
			r = VMIE_ERR(err, VMIE_EINTR, "interrupted");
			break;
		}
		/* Retire the oldest slot when all are busy or input is done. */
		if (inflight == nslots || off >= img->size) {
			struct slot *s = &slots[head];
			pthread_mutex_lock(&ctx.lock);
			while (s->state != 2)
				pthread_cond_wait(&ctx.done, &ctx.lock);
			pthread_mutex_unlock(&ctx.lock);
			if (s->rc) {
				r = s->rc;
				if (err)
					*err = s->err;
			} else if (!s->zero) {
				st.bytes_read += s->c.len;
				r = w.ops->write(&w, &s->c, err);
				s->c.enc = NULL;
			} else {
				st.bytes_skipped += s->c.len;
			}
			if (s->c.enc && w.ops->discard)
				w.ops->discard(&w, &s->c);
			s->c.enc = NULL;
			s->state = 0;
			head = (head + 1) % nslots;
			inflight--;
			if (o->progress && s->c.off + s->c.len - last_progress >= (16u << 20)) {
				last_progress = s->c.off + s->c.len;
				o->progress(o->progress_ctx, last_progress, img->size);
			}
			continue;
		}
		/* Skip runs the source reports as zero, whole chunks at a time.
		 * A data run already reported is not asked about again (block
		 * status can be costly: lseek on tmpfs, table walks). */
		uint64_t pnum = 0;
		unsigned bs = VMIE_BS_DATA;
		if (off >= data_until) {
			r = vmie_image_block_status(img, off, img->size - off,
						    &pnum, &bs, err);
			if (r)
				break;
			if (bs & VMIE_BS_DATA)
				data_until = off + pnum;
		}
		if ((bs & VMIE_BS_ZERO) && !(bs & VMIE_BS_DATA)) {
			uint64_t end = off + pnum;
			uint64_t skip_to = end >= img->size ? img->size
							    : end - end % chunk;
			if (skip_to > off) {
				st.bytes_skipped += skip_to - off;
				off = skip_to;
				continue;
			}
		}
		size_t idx = (head + inflight) % nslots;
		struct slot *s = &slots[idx];
		memset(&s->c, 0, sizeof s->c);
		s->c.off = off;
		s->c.len = (size_t)vmie_min_u64(chunk, img->size - off);
		s->c.data = s->buf;
		s->state = 1;
		s->rc = 0;
		vmie_err_clear(&s->err);
		inflight++;
		off += s->c.len;
		vmie_pool_submit(pool, convert_job, s);
	}
	if (pool) {
		vmie_pool_wait(pool);
		/* release encoded output of chunks never written */
		for (size_t i = 0; i < nslots; i++)
			if (slots[i].state == 2 && slots[i].c.enc && w.ops->discard)
				w.ops->discard(&w, &slots[i].c);
	}
	if (!r)
		r = w.ops->finish(&w, err);
	if (!r && o->progress)
		o->progress(o->progress_ctx, img->size, img->size);
	st.out_size = sink->written_end;
out:
	vmie_pool_free(pool);
	if (slots) {
		for (size_t i = 0; i < nslots; i++)
			free(slots[i].buf);
		free(slots);
	}
	if (ctx.img) {
		pthread_mutex_destroy(&ctx.lock);
		pthread_cond_destroy(&ctx.done);
	}
	if (writer_created && w.ops->free)
		w.ops->free(&w);
	if (stats)
		*stats = st;
	return r;
}

int vmie_convert(struct vmie_image *img, const char *dst,
		 const struct vmie_convert_opts *o,
		 struct vmie_convert_stats *stats, struct vmie_err *err)
{
	struct vmie_sink *sink;
	int r = vmie_sink_open_file(dst, o->sink_flags, &sink, err);
	if (r)
		return r;
	r = vmie_convert_to_sink(img, sink, o, stats, err);
	if (!r)
		r = vmie_sink_commit(sink, err);
	vmie_sink_free(sink);     /* removes the temp file unless committed */
	return r;
}
