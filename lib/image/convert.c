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
 * Two variants take the data writes off the main thread when the sink
 * accepts writes from several threads (vmie_sink_parallel):
 *  - VMIE_WRITER_ANY_ORDER (raw, fixed VHD/VHDX): the worker calls
 *    writer->write itself right after the zero test; the main thread only
 *    retires the slot.
 *  - VMIE_WRITER_DEFER_DATA (dynamic VHD/VHDX, qcow2): writer->write still
 *    runs in order on the main thread (allocation and tables stay
 *    deterministic), but it writes through a queueing sink: pwrites from
 *    inside the chunk's buffer are recorded and a worker does them; the
 *    slot is reused only once they are done.
 *
 * Only one thread writes to the sink at a time (ctx->wlock): parallel
 * buffered writes to one file serialize on its inode lock in the kernel
 * anyway, and a waiter there spins.  A worker that finds the lock taken
 * leaves its chunk to the main thread and goes on reading.
 *
 * Zero copy: for drivers known to read their container straight into the
 * caller's buffer (raw, VMDK, VHD, VHDX, qcow2), workers read with
 * vmie_src_capture: when a chunk lies contiguously in a regular file, the
 * chunk points into a private mapping of the file and the bytes are copied
 * once (mapping -> sink) instead of twice (file -> buffer -> sink).  For
 * ANY_ORDER writers without encode() (raw, fixed VHD/VHDX) a chunk made of
 * several pieces (VHD blocks behind their sector bitmaps, clusters or
 * grains out of order, holes of the container file) is written piece by
 * piece the same way: mapped data pieces, the file's holes skipped without
 * being touched.  The mapped pages of a chunk are dropped (MADV_DONTNEED)
 * once it is written, so the resident size stays bounded.
 *
 * Chunks are aligned to the chunk size (a multiple of the writer's granule,
 * about 1 MiB, 4 MiB when the workers write).  A bounded number of slots is
 * in flight, so memory is bounded whatever the disk size (slots x chunk
 * size, capped at 128 MiB).  Zero chunks, and ranges the source reports as
 * zero, are never written.
 */
#include "image.h"
#include "../core/checked.h"
#include "../core/pool.h"
#include "../core/util.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_CHUNK          ((size_t)1 << 20)
#define TARGET_CHUNK_PARALLEL ((size_t)4 << 20)
#define MAX_INFLIGHT_BYTES    ((size_t)128 << 20)

/* Drivers whose pread writes each byte of the caller's buffer once and
 * never reads it back: safe with vmie_src_capture. */
static const char *const convert_capture_drivers[] = {
	"raw", "vmdk", "vhd", "vhdx", "qcow2", NULL
};

enum { SLOT_FREE, SLOT_READING, SLOT_READ, SLOT_WRITING };

/* One data write queued by write() in DEFER_DATA mode. */
struct wpiece {
	const uint8_t *buf;
	size_t len;
	uint64_t off;
};

struct slot {
	struct vmie_chunk c;
	struct convert_ctx *ctx;
	uint8_t *buf;
	int state;          /* SLOT_*; changed by workers under ctx->lock */
	int rc;             /* read, encode (and ANY_ORDER write) result */
	bool zero;
	bool written;       /* ANY_ORDER: the worker wrote it */
	/* ctx->pieces: the chunk as pieces (npc > 0) instead of c.data */
	struct vmie_src_piece pc[2 * VMIE_CAPTURE_MAX + 1];
	bool pzero[2 * VMIE_CAPTURE_MAX + 1];
	size_t npc;
	struct vmie_err err;
	/* DEFER_DATA: writes queued by write(), done by convert_write_job */
	struct wpiece *q;
	size_t nq, capq;
	int wrc;
	struct vmie_err werr;
};

struct convert_ctx {
	struct vmie_image *img;
	struct vmie_writer *w;
	struct vmie_sink *real;   /* the caller's sink */
	struct slot *slots;
	size_t nslots;
	struct slot *cur;         /* DEFER_DATA: chunk in write(), or NULL */
	size_t writing;           /* slots in SLOT_WRITING */
	bool any_order;
	bool capture;             /* read with vmie_src_capture */
	bool pieces;              /* ... and write chunks piece by piece */
	uint64_t gran;
	pthread_mutex_t wlock;    /* held around data writes to the sink */
	pthread_mutex_t lock;
	pthread_cond_t done;
	volatile int *cancel;
};

static uintptr_t convert_page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);
	return n > 0 ? (uintptr_t)n : 4096;
}

/* Drop the mapped file pages of [p, p+len) (only whole pages inside it:
 * neighbours may be in use), so that the resident size does not grow with
 * the disk. */
static void convert_unmap(const uint8_t *p, size_t len)
{
	uintptr_t pg = convert_page_size();
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t b = ((uintptr_t)p + len) & ~(pg - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

static bool convert_in_buf(const struct slot *s, const uint8_t *p)
{
	return p >= s->buf && p < s->buf + s->c.len;
}

/* The chunk was captured as pieces: test each for zeros.  When a piece
 * boundary is not on a granule (the writer's unit), copy the pieces into
 * the buffer instead and go on with the chunk as one piece. */
static bool convert_pieces(struct convert_ctx *ctx, struct slot *s)
{
	bool zero = true, aligned = true;
	for (size_t i = 1; i < s->npc; i++)
		if ((s->c.off + s->pc[i].at) % ctx->gran)
			aligned = false;
	if (s->npc == 1 && !s->pc[0].data) {     /* a hole of the file */
		s->npc = 0;
		return true;
	}
	if (!aligned || s->npc == 1) {
		for (size_t i = 0; i < s->npc; i++) {
			struct vmie_src_piece *q = &s->pc[i];
			if (!q->data) {
				memset(s->buf + q->at, 0, q->len);
			} else if (s->npc == 1) {
				s->c.data = (uint8_t *)q->data;
			} else if (!convert_in_buf(s, q->data)) {
				memcpy(s->buf + q->at, q->data, q->len);
				convert_unmap(q->data, q->len);
			}
		}
		s->npc = 0;
		return vmie_is_zero(s->c.data, s->c.len);
	}
	for (size_t i = 0; i < s->npc; i++) {
		struct vmie_src_piece *q = &s->pc[i];
		s->pzero[i] = !q->data || vmie_is_zero(q->data, q->len);
		zero = zero && s->pzero[i];
	}
	return zero;
}

/* write() the chunk of slot s: whole, or its non-zero pieces. */
static int convert_write(struct convert_ctx *ctx, struct slot *s,
			 struct vmie_err *err)
{
	struct vmie_writer *w = ctx->w;
	if (!s->npc)
		return w->ops->write(w, &s->c, err);
	for (size_t i = 0; i < s->npc; i++) {
		struct vmie_src_piece *q = &s->pc[i];
		if (s->pzero[i])
			continue;
		struct vmie_chunk c = {
			.off = s->c.off + q->at,
			.len = q->len,
			.data = (uint8_t *)q->data,
		};
		int r = w->ops->write(w, &c, err);
		if (r)
			return r;
	}
	return 0;
}

static void convert_job(void *arg)
{
	struct slot *s = arg;
	struct convert_ctx *ctx = s->ctx;
	int rc = 0;
	bool zero = false, written = false;
	if (ctx->cancel && *ctx->cancel) {
		rc = VMIE_ERR(&s->err, VMIE_EINTR, "%s: interrupted",
			      ctx->real->name);
		goto out;
	}
	if (ctx->capture) {
		struct vmie_src_capture cap;
		vmie_src_capture_begin(&cap, s->buf, s->c.len);
		rc = vmie_image_pread(ctx->img, s->buf, s->c.len, s->c.off,
				      &s->err);
		if (!rc && ctx->pieces) {
			vmie_src_capture_end_pieces(&cap, s->pc, &s->npc);
		} else {
			uint8_t *d = vmie_src_capture_end(&cap,
							  rc ? NULL : &s->err);
			if (!rc && !d)
				rc = s->err.code ? s->err.code : VMIE_EIO;
			s->c.data = d ? d : s->buf;
		}
	} else {
		rc = vmie_image_pread(ctx->img, s->buf, s->c.len, s->c.off,
				      &s->err);
	}
	if (rc)
		goto out;
	zero = s->npc ? convert_pieces(ctx, s) :
			vmie_is_zero(s->c.data, s->c.len);
	if (!zero && ctx->w->ops->encode)
		rc = ctx->w->ops->encode(ctx->w, &s->c, &s->err);
	/* write it now unless another thread is writing: then the main
	 * thread will, when it retires the slot */
	if (!rc && !zero && ctx->any_order &&
	    !pthread_mutex_trylock(&ctx->wlock)) {
		rc = convert_write(ctx, s, &s->err);
		pthread_mutex_unlock(&ctx->wlock);
		s->c.enc = NULL;
		written = true;
	}
out:
	pthread_mutex_lock(&ctx->lock);
	s->rc = rc;
	s->zero = zero;
	s->written = written;
	s->state = SLOT_READ;
	pthread_cond_broadcast(&ctx->done);
	pthread_mutex_unlock(&ctx->lock);
}

/* The chunk is on the sink: drop the mapped file pages it pointed at. */
static void convert_release(struct slot *s)
{
	for (size_t i = 0; i < s->npc; i++)
		if (s->pc[i].data && !convert_in_buf(s, s->pc[i].data))
			convert_unmap(s->pc[i].data, s->pc[i].len);
	s->npc = 0;
	if (s->c.data == s->buf || !s->c.data)
		return;
	convert_unmap(s->c.data, s->c.len);
	s->c.data = s->buf;
}

/* Do the writes queued for slot s. */
static int convert_run_queue(struct convert_ctx *ctx, struct slot *s,
			     struct vmie_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < s->nq && !rc; i++)
		rc = vmie_sink_pwrite(ctx->real, s->q[i].buf, s->q[i].len,
				      s->q[i].off, err);
	s->nq = 0;
	return rc;
}

static void convert_write_job(void *arg)
{
	struct slot *s = arg;
	struct convert_ctx *ctx = s->ctx;
	int rc;
	if (ctx->cancel && *ctx->cancel) {
		s->nq = 0;
		rc = VMIE_ERR(&s->werr, VMIE_EINTR, "%s: interrupted",
			      ctx->real->name);
	} else {
		pthread_mutex_lock(&ctx->wlock);
		rc = convert_run_queue(ctx, s, &s->werr);
		pthread_mutex_unlock(&ctx->wlock);
	}
	convert_release(s);
	pthread_mutex_lock(&ctx->lock);
	s->wrc = rc;
	s->state = SLOT_FREE;
	ctx->writing--;
	pthread_cond_broadcast(&ctx->done);
	pthread_mutex_unlock(&ctx->lock);
}

/* First error of a finished queued write, or 0. */
static int convert_write_error(struct convert_ctx *ctx, struct vmie_err *err)
{
	for (size_t i = 0; i < ctx->nslots; i++)
		if (ctx->slots[i].wrc) {
			if (err)
				*err = ctx->slots[i].werr;
			return ctx->slots[i].wrc;
		}
	return 0;
}

/* Wait until every queued write is on the sink (before reading it back or
 * changing its length). */
static int convert_drain(struct convert_ctx *ctx, struct vmie_err *err)
{
	int rc = 0;
	if (ctx->cur) {
		pthread_mutex_lock(&ctx->wlock);
		rc = convert_run_queue(ctx, ctx->cur, err);
		pthread_mutex_unlock(&ctx->wlock);
	}
	pthread_mutex_lock(&ctx->lock);
	while (ctx->writing)
		pthread_cond_wait(&ctx->done, &ctx->lock);
	pthread_mutex_unlock(&ctx->lock);
	return rc ? rc : convert_write_error(ctx, err);
}

/* ---- the queueing sink handed to DEFER_DATA writers ---- */

static int defer_pwrite(struct vmie_sink *k, const void *buf, size_t len,
			uint64_t off, struct vmie_err *err)
{
	struct convert_ctx *ctx = k->priv;
	struct slot *s = ctx->cur;
	uintptr_t b = (uintptr_t)buf, lo = s ? (uintptr_t)s->c.data : 0;
	if (!s || b < lo || b - lo > s->c.len || len > s->c.len - (b - lo))
		return vmie_sink_pwrite(ctx->real, buf, len, off, err);
	if (s->nq) {
		struct wpiece *l = &s->q[s->nq - 1];
		if (l->buf + l->len == (const uint8_t *)buf &&
		    l->off + l->len == off) {
			l->len += len;
			return 0;
		}
	}
	if (s->nq == s->capq) {
		size_t cap = s->capq ? 2 * s->capq : 16;
		struct wpiece *q = realloc(s->q, cap * sizeof *q);
		if (!q)
			return VMIE_ERR(err, VMIE_ENOMEM, "%s: out of memory "
					"for the write queue", k->name);
		s->q = q;
		s->capq = cap;
	}
	s->q[s->nq++] = (struct wpiece){ buf, len, off };
	return 0;
}

static int defer_truncate(struct vmie_sink *k, uint64_t len,
			  struct vmie_err *err)
{
	struct convert_ctx *ctx = k->priv;
	int rc = convert_drain(ctx, err);
	return rc ? rc : vmie_sink_truncate(ctx->real, len, err);
}

static int defer_pread(struct vmie_sink *k, void *buf, size_t len,
		       uint64_t off, struct vmie_err *err)
{
	struct convert_ctx *ctx = k->priv;
	int rc = convert_drain(ctx, err);
	return rc ? rc : vmie_sink_pread(ctx->real, buf, len, off, err);
}

static const struct vmie_sink_ops defer_sink_ops = {
	.pwrite = defer_pwrite,
	.truncate = defer_truncate,
	.pread = defer_pread,
};

static size_t pick_chunk(size_t granule, size_t target)
{
	if (!granule)
		granule = 512;
	if (granule >= target)
		return granule;
	return granule * ((target + granule - 1) / granule);
}

/* Hand slot s (read, not zero) to write(); queue its data writes. */
static int convert_retire(struct convert_ctx *ctx, struct slot *s,
			  struct vmie_err *err)
{
	struct vmie_writer *w = ctx->w;
	bool defer = w->sink != ctx->real;
	int r;
	if (s->written)
		return 0;
	ctx->cur = defer ? s : NULL;
	/* ANY_ORDER writers write data here: keep to one writer at a time */
	if (ctx->any_order)
		pthread_mutex_lock(&ctx->wlock);
	r = convert_write(ctx, s, err);
	if (ctx->any_order)
		pthread_mutex_unlock(&ctx->wlock);
	ctx->cur = NULL;
	s->c.enc = NULL;
	if (r) {
		s->nq = 0;
		return r;
	}
	if (!s->nq)
		return 0;
	pthread_mutex_lock(&ctx->lock);
	s->state = SLOT_WRITING;
	ctx->writing++;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

int vmie_convert_to_sink(struct vmie_image *img, struct vmie_sink *sink,
			 const struct vmie_convert_opts *o,
			 struct vmie_convert_stats *stats, struct vmie_err *err)
{
	const struct vmie_image_driver *d;
	struct vmie_writer w = { 0 };
	struct vmie_create_opts co = { 0 };
	struct convert_ctx ctx = { 0 };
	struct vmie_sink dsink = { 0 };
	struct vmie_pool *pool = NULL;
	struct slot *slots = NULL;
	size_t nslots = 0, head = 0, inflight = 0;
	struct vmie_convert_stats st = { 0 };
	bool writer_created = false, parallel;
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

	ctx.img = img;
	ctx.w = &w;
	ctx.real = sink;
	ctx.cancel = o->cancel;
	pthread_mutex_init(&ctx.lock, NULL);
	pthread_mutex_init(&ctx.wlock, NULL);
	pthread_cond_init(&ctx.done, NULL);
	/* an overlay reads each byte once too (its own clusters copied in,
	 * the rest in one base read per run): as safe as its base */
	const struct vmie_image *cap_img = img;
	while (vmie_overlay_base((struct vmie_image *)cap_img))
		cap_img = vmie_overlay_base((struct vmie_image *)cap_img);
	for (size_t i = 0; convert_capture_drivers[i]; i++)
		if (!strcmp(cap_img->drv->name, convert_capture_drivers[i]))
			ctx.capture = true;
	/* zeros that a vanished mapping gave us are not the file's */
	unsigned long lost_before = vmie_src_mappings_lost();
	parallel = vmie_sink_parallel(sink);
	ctx.any_order = parallel && (w.flags & VMIE_WRITER_ANY_ORDER);
	if (parallel && !ctx.any_order && (w.flags & VMIE_WRITER_DEFER_DATA)) {
		dsink.ops = &defer_sink_ops;
		dsink.name = sink->name;
		dsink.priv = &ctx;
		dsink.committed = true;
		w.sink = &dsink;
	}
	bool workers_write = ctx.any_order || w.sink == &dsink;
	/* Flagged writers take chunks cut at data/zero boundaries (on
	 * granules): holes inside a chunk are then neither read nor
	 * tested, and a chunk of data is more often one piece of the
	 * container file (zero copy). */
	bool cut = workers_write;
	uint64_t gran = w.granule ? w.granule : 512;
	ctx.gran = gran;
	ctx.pieces = ctx.capture && ctx.any_order && !w.ops->encode;
	size_t chunk = pick_chunk(w.granule, workers_write ?
				  TARGET_CHUNK_PARALLEL : TARGET_CHUNK);
	nslots = 2 * (size_t)threads + 2;
	if (w.sink == &dsink)     /* slots also wait for their writes */
		nslots += threads;
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
	ctx.slots = slots;
	ctx.nslots = nslots;
	pool = vmie_pool_new(threads, (unsigned)nslots);
	if (!pool) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "cannot start worker threads");
		goto out;
	}

	uint64_t off = 0, last_progress = 0, data_until = 0;
	r = 0;
	while ((off < img->size || inflight) && !r) {
		if (o->cancel && *o->cancel) {
			r = VMIE_ERR(err, VMIE_EINTR, "%s: interrupted",
				     sink->name);
			break;
		}
		/* Retire the oldest slot when all are busy or input is done. */
		if (inflight == nslots || off >= img->size) {
			struct slot *s = &slots[head];
			pthread_mutex_lock(&ctx.lock);
			while (s->state != SLOT_READ)
				pthread_cond_wait(&ctx.done, &ctx.lock);
			pthread_mutex_unlock(&ctx.lock);
			if (s->rc) {
				r = s->rc;
				if (err)
					*err = s->err;
			} else if (!s->zero) {
				st.bytes_read += s->c.len;
				r = convert_retire(&ctx, s, err);
			} else {
				st.bytes_skipped += s->c.len;
			}
			if (s->c.enc && w.ops->discard)
				w.ops->discard(&w, &s->c);
			s->c.enc = NULL;
			if (s->state == SLOT_WRITING) {
				vmie_pool_submit(pool, convert_write_job, s);
			} else {
				convert_release(s);
				s->state = SLOT_FREE;
			}
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
					   : end - end % (cut ? gran : chunk);
			if (skip_to > off) {
				st.bytes_skipped += skip_to - off;
				off = skip_to;
				continue;
			}
		}
		size_t idx = (head + inflight) % nslots;
		struct slot *s = &slots[idx];
		/* its previous chunk's queued writes must be done */
		pthread_mutex_lock(&ctx.lock);
		while (s->state == SLOT_WRITING)
			pthread_cond_wait(&ctx.done, &ctx.lock);
		pthread_mutex_unlock(&ctx.lock);
		if (s->wrc) {
			r = s->wrc;
			if (err)
				*err = s->werr;
			break;
		}
		memset(&s->c, 0, sizeof s->c);
		s->c.off = off;
		uint64_t lim = off - off % chunk + chunk;
		if (cut && data_until > off)    /* stop where the data does */
			lim = vmie_min_u64(lim, data_until +
					   (gran - data_until % gran) % gran);
		s->c.len = (size_t)(vmie_min_u64(lim, img->size) - off);
		s->c.data = s->buf;
		s->npc = 0;
		s->state = SLOT_READING;
		s->rc = 0;
		s->written = false;
		vmie_err_clear(&s->err);
		inflight++;
		off += s->c.len;
		vmie_pool_submit(pool, convert_job, s);
	}
	if (pool) {
		vmie_pool_wait(pool);
		if (!r)
			r = convert_write_error(&ctx, err);
		/* release encoded output of chunks never written */
		for (size_t i = 0; i < nslots; i++)
			if (slots[i].state == SLOT_READ && slots[i].c.enc &&
			    w.ops->discard)
				w.ops->discard(&w, &slots[i].c);
	}
	if (!r && ctx.capture && vmie_src_mappings_lost() != lost_before)
		r = vmie_src_check_size(cap_img->src, err);
	if (!r && ctx.capture && vmie_src_mappings_lost() != lost_before)
		r = VMIE_CORRUPT(err, "%s: a source file shrank while it was "
				 "being read", img->name);
	if (!r)
		r = w.ops->finish(&w, err);
	if (!r && o->progress)
		o->progress(o->progress_ctx, img->size, img->size);
	st.out_size = sink->written_end;
	st.populated = w.populated;
out:
	vmie_pool_free(pool);
	if (slots) {
		for (size_t i = 0; i < nslots; i++) {
			free(slots[i].buf);
			free(slots[i].q);
		}
		free(slots);
	}
	if (ctx.img) {
		pthread_mutex_destroy(&ctx.lock);
		pthread_mutex_destroy(&ctx.wlock);
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
