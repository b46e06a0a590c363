/*
 * S3 objects as vmie byte sources and sinks (s3.h, "objects"): head,
 * delete, a cached ranged-GET source pinned to its ETag, a spooled
 * multipart-upload sink, and the listings that find leftover uploads.
 *
 * Spec: Amazon S3 API Reference: GetObject (Range, If-Match: 412
 * Precondition Failed when the ETag differs), CreateMultipartUpload,
 * UploadPart (parts 1..10000, each but the last at least 5 MiB),
 * CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads,
 * ListObjectsV2.
 */
#include "s3.h"
#include "s3_xml.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/util.h"

#define S3_BLOCK      (4u << 20)   /* bytes per cached GET */
#define S3_SLOTS      16           /* cached blocks */
#define S3_AHEAD      8            /* blocks read ahead */
#define S3_RA_THREADS 2            /* GETs of the read-ahead at once */
#define S3_RA_MAX     16           /* ... at most (VMIE_S3_READAHEAD) */
#define S3_QUEUE      (2 * S3_AHEAD) /* blocks queued for read-ahead */
#define S3_PART_MIN   (8ull << 20)
#define S3_PARTS_MAX  10000
#define S3_UP_THREADS 4

/* ---- head, delete ---- */

static void s3_name(char *out, size_t size, const char *bucket,
		    const char *key)
{
	snprintf(out, size, "s3://%s%s%s", bucket, key ? "/" : "",
		 key ? key : "");
}

/* Parse the XML of a reply to op on what (s3_xml.h); its errors begin
 * "s3: <op> <what> at <endpoint>: the reply ...". */
static int s3_reply_xml(struct vmie_s3 *s, const char *op, const char *what,
			const struct vmie_s3_resp *rs, struct vmie_s3_xml **x,
			struct vmie_err *err)
{
	char ctx[2048];
	snprintf(ctx, sizeof(ctx), "s3: %s %s at %s", op, what,
		 vmie_s3_endpoint(s));
	return vmie_s3_xml_parse(rs->body, rs->body_len, ctx, x, err);
}

/* An element of a listing's reply missing, or longer than vmie keeps. */
static int s3_reply_bad(struct vmie_s3 *s, const char *op, const char *what,
			const char *elem, int got, size_t size,
			struct vmie_err *err)
{
	if (got == VMIE_S3_XML_LONG)
		return VMIE_ERR(err, VMIE_EIO, "s3: %s %s at %s: the reply "
				"has a %s longer than %zu bytes", op, what,
				vmie_s3_endpoint(s), elem, size - 1);
	return VMIE_ERR(err, VMIE_EIO, "s3: %s %s at %s: the reply has an "
			"empty or missing %s", op, what, vmie_s3_endpoint(s),
			elem);
}

int vmie_s3_head_bucket(struct vmie_s3 *s, const char *bucket,
			struct vmie_err *err)
{
	struct vmie_s3_req rq = { .method = "HEAD", .bucket = bucket };
	struct vmie_s3_resp rs;
	char what[1200];
	int r = vmie_s3_request(s, &rq, &rs, err);

	if (r)
		return r;
	vmie_s3_resp_free(&rs);
	if (rs.status == 404)
		return VMIE_ERR(err, VMIE_ENOENT, "s3: bucket %s does not "
				"exist at %s", bucket, vmie_s3_endpoint(s));
	s3_name(what, sizeof(what), bucket, NULL);
	if (rs.status == 403 && !rs.code[0]) {
		/* no body to say why: a listing of nothing tells a wrong
		 * secret from a denial */
		struct vmie_s3_param qp[2] = { { "list-type", "2" },
					       { "max-keys", "0" } };
		struct vmie_s3_req g = { .method = "GET", .bucket = bucket,
					 .params = qp, .nparams = 2 };
		struct vmie_s3_resp gr;
		if (vmie_s3_request(s, &g, &gr, err) == 0) {
			vmie_s3_resp_free(&gr);
			if (gr.status >= 300)
				return vmie_s3_fail(s, "HEAD", what, &gr, err);
		}
	}
	if (rs.status >= 300)
		return vmie_s3_fail(s, "HEAD", what, &rs, err);
	return 0;
}

int vmie_s3_head(struct vmie_s3 *s, const char *bucket, const char *key,
		 uint64_t *size, char *etag, struct vmie_err *err)
{
	struct vmie_s3_req rq = { .method = "HEAD", .bucket = bucket,
				  .key = key };
	struct vmie_s3_resp rs;
	char what[1200];
	int r = vmie_s3_request(s, &rq, &rs, err);

	if (r)
		return r;
	vmie_s3_resp_free(&rs);
	s3_name(what, sizeof(what), bucket, key);
	if (rs.status == 404) {
		/* HEAD has no body to say which is missing: ask */
		struct vmie_err e2 = { 0 };
		if (vmie_s3_head_bucket(s, bucket, &e2) == VMIE_ENOENT)
			return VMIE_ERR(err, VMIE_ENOENT, "s3: bucket %s does "
					"not exist at %s", bucket,
					vmie_s3_endpoint(s));
		return VMIE_ERR(err, VMIE_ENOENT, "s3: no object %s at %s",
				what, vmie_s3_endpoint(s));
	}
	if (rs.status == 403 && !rs.code[0]) {
		/* again no body: a GET tells a wrong secret from a denial */
		char one[1];
		struct vmie_s3_req g = { .method = "GET", .bucket = bucket,
					 .key = key, .range_off = 0,
					 .range_len = 1, .out = one };
		struct vmie_s3_resp gr;
		if (vmie_s3_request(s, &g, &gr, err) == 0) {
			vmie_s3_resp_free(&gr);
			if (gr.status >= 300)
				return vmie_s3_fail(s, "HEAD", what, &gr, err);
		}
	}
	if (rs.status >= 300)
		return vmie_s3_fail(s, "HEAD", what, &rs, err);
	if (!rs.have_length)
		return VMIE_ERR(err, VMIE_EIO, "s3: HEAD %s: no Content-Length "
				"in the answer", what);
	*size = rs.content_length;
	if (etag)
		vmie_strlcpy(etag, rs.etag, 130);
	return 0;
}

int vmie_s3_delete(struct vmie_s3 *s, const char *bucket, const char *key,
		   struct vmie_err *err)
{
	struct vmie_s3_req rq = { .method = "DELETE", .bucket = bucket,
				  .key = key };
	struct vmie_s3_resp rs;
	char what[1200];
	int r = vmie_s3_request(s, &rq, &rs, err);

	if (r)
		return r;
	vmie_s3_resp_free(&rs);
	if (rs.status >= 300 && rs.status != 404) {
		s3_name(what, sizeof(what), bucket, key);
		return vmie_s3_fail(s, "DELETE", what, &rs, err);
	}
	return 0;
}

/* ---- the source ---- */

/*
 * The cache: S3_SLOTS buffers of one S3_BLOCK each.  A slot holds the
 * bytes [lo, hi) of block idx: the whole block (what a stream of reads
 * fetches, S3_AHEAD blocks ahead on ra_max threads) or one
 * S3_PIECE-aligned piece of it around a read that is not part of a
 * stream (a grain table, a file system's metadata during inspection):
 * a GET of a few hundred KiB instead of 4 MiB.
 *
 * A read belongs to a stream when it starts within S3_NEAR of where the
 * stream's last read ended (the conversion's workers read a little
 * behind and ahead of each other); other reads are random and leave the
 * streams where they were (a stream-optimized VMDK's grain table, read
 * after its grains, does not break the conversion's stream).  A random
 * read starting within S3_NEAR of the previous random one starts a
 * stream, in place of the one used least recently (S3_STREAMS are
 * followed).  Blocks are read ahead only once a stream has gone from one
 * block into the next: a few reads in the first block of an OVA (tar
 * headers, the descriptor) fetch nothing more.
 */
#define S3_PIECE   (256u << 10)
#define S3_NEAR    ((uint64_t)S3_BLOCK)
#define S3_STREAMS 2

enum { SLOT_EMPTY, SLOT_LOADING, SLOT_READY };

struct s3_slot {
	uint64_t idx;
	size_t lo, hi;       /* the bytes of the block held (or loading) */
	int state;
	uint8_t *data;       /* S3_BLOCK bytes; data[lo..hi) are valid */
	uint64_t used;       /* LRU clock */
};

struct s3_src {
	struct vmie_s3 *s3;
	char *bucket, *key;
	char etag[130];
	uint64_t size;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct s3_slot slot[S3_SLOTS];
	uint64_t clock;
	struct {
		bool on;
		uint64_t end;    /* where its last read ended */
		uint64_t used;   /* p->clock of its last read */
	} st[S3_STREAMS];
	uint64_t random_end;     /* where the last random read ended */
	bool have_random;
	/* read-ahead: the blocks wanted next, fetched by the threads in
	 * the order queued (a ring of S3_QUEUE) */
	uint64_t q[S3_QUEUE];
	unsigned qhead, qlen;
	pthread_t ra[S3_RA_MAX];
	unsigned nra, ra_max;    /* threads started, allowed */
	bool stop;
	struct vmie_err ra_err;  /* last read-ahead failure (reported by a
				    reader that needs the block) */
};

/* Fetch len bytes at off into buf. */
static int s3src_fetch(struct s3_src *p, uint64_t off, void *buf, size_t len,
		       struct vmie_err *err)
{
	struct vmie_s3_req rq = { .method = "GET", .bucket = p->bucket,
				  .key = p->key, .range_off = off,
				  .range_len = len, .if_match = p->etag,
				  .out = buf };
	struct vmie_s3_resp rs;
	char what[1200];
	int r = vmie_s3_request(p->s3, &rq, &rs, err);

	if (r)
		return r;
	vmie_s3_resp_free(&rs);
	s3_name(what, sizeof(what), p->bucket, p->key);
	if (rs.status == 412)
		return VMIE_ERR(err, VMIE_ECORRUPT, "s3: %s was replaced while "
				"it was being read (its ETag is no longer %s): "
				"stopped rather than mix two objects; start "
				"again on the new object", what, p->etag);
	if (rs.status == 404)
		return VMIE_ERR(err, VMIE_ECORRUPT, "s3: %s was deleted while "
				"it was being read", what);
	if (rs.status != 206 && !(rs.status == 200 && off == 0 &&
				  len == p->size))
		return vmie_s3_fail(p->s3, "GET", what, &rs, err);
	return 0;
}

/* Bytes of block idx (the last one may be short). */
static size_t s3src_block_len(const struct s3_src *p, uint64_t idx)
{
	uint64_t off = idx * (uint64_t)S3_BLOCK;
	return p->size - off < S3_BLOCK ? (size_t)(p->size - off) : S3_BLOCK;
}

/* Does slot sl hold (or is it loading) byte in of block idx?  whole: the
 * whole block. */
static bool s3src_covers(const struct s3_src *p, const struct s3_slot *sl,
			 uint64_t idx, size_t in, bool whole)
{
	if (sl->state == SLOT_EMPTY || sl->idx != idx)
		return false;
	if (whole)
		return sl->lo == 0 && sl->hi == s3src_block_len(p, idx);
	return sl->lo <= in && in < sl->hi;
}

/* A slot holding byte in of block idx (the whole block when whole, else
 * at least the pieces of the want bytes from in), loading it if needed;
 * called and returns with the lock held; NULL on error (err set).  ahead:
 * a read-ahead thread (gives up rather than wait for a free slot or for
 * another load).  The bytes of the slot from in on are valid up to its
 * hi. */
static struct s3_slot *s3src_block(struct s3_src *p, uint64_t idx, size_t in,
				   size_t want, bool whole, bool ahead,
				   struct vmie_err *err)
{
	for (;;) {
		struct s3_slot *victim = NULL, *loading = NULL;
		for (unsigned i = 0; i < S3_SLOTS; i++) {
			struct s3_slot *sl = &p->slot[i];
			if (s3src_covers(p, sl, idx, in, whole)) {
				if (sl->state == SLOT_READY) {
					sl->used = ++p->clock;
					return sl;
				}
				loading = sl;
				continue;
			}
			if (sl->state == SLOT_LOADING)
				continue;
			if (!victim || (victim->state != SLOT_EMPTY &&
					(sl->state == SLOT_EMPTY ||
					 sl->used < victim->used)))
				victim = sl;
		}
		if (loading || !victim) {
			if (ahead)
				return NULL;
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		size_t blen = s3src_block_len(p, idx), lo = 0, hi = blen;
		if (!whole) {
			/* the pieces under [in, in + want) */
			lo = in / S3_PIECE * S3_PIECE;
			hi = (in + want + S3_PIECE - 1) / S3_PIECE * S3_PIECE;
			if (hi > blen)
				hi = blen;
		}
		victim->state = SLOT_LOADING;
		victim->idx = idx;
		victim->lo = lo;
		victim->hi = hi;
		if (!victim->data)
			victim->data = malloc(S3_BLOCK);
		uint8_t *data = victim->data;
		pthread_mutex_unlock(&p->lock);
		struct vmie_err e = { 0 };
		int r = data ? s3src_fetch(p, idx * (uint64_t)S3_BLOCK + lo,
					   data + lo, hi - lo, &e) :
			VMIE_ERR(&e, VMIE_ENOMEM, "s3: out of memory");
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->cond);
		if (r) {
			victim->state = SLOT_EMPTY;
			if (err)
				*err = e;
			else
				p->ra_err = e;
			return NULL;
		}
		victim->state = SLOT_READY;
		victim->used = ++p->clock;
		return victim;
	}
}

static void *s3src_ahead(void *arg)
{
	struct s3_src *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (!p->qlen) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		uint64_t idx = p->q[p->qhead];
		p->qhead = (p->qhead + 1) % S3_QUEUE;
		p->qlen--;
		/* every stream has gone past it (it jumped back, or a
		 * later block was read first): not worth a GET any more */
		bool behind = true;
		for (unsigned i = 0; i < S3_STREAMS; i++)
			if (p->st[i].on &&
			    (idx + 1) * (uint64_t)S3_BLOCK > p->st[i].end)
				behind = false;
		if (behind)
			continue;
		s3src_block(p, idx, 0, 0, true, true, NULL);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Is the whole of block idx cached, being fetched or queued?  (lock
 * held) */
static bool s3src_wanted(const struct s3_src *p, uint64_t idx)
{
	for (unsigned i = 0; i < S3_SLOTS; i++)
		if (s3src_covers(p, &p->slot[i], idx, 0, true))
			return true;
	for (unsigned i = 0; i < p->qlen; i++)
		if (p->q[(p->qhead + i) % S3_QUEUE] == idx)
			return true;
	return false;
}

/* The stream is in block idx: queue the S3_AHEAD blocks after it that are
 * neither cached nor on their way, so that up to ra_max GETs run
 * at once.  The queue is rebuilt from where the stream is, not from where
 * the last read-ahead stopped, so blocks the stream comes back to are
 * fetched again if they were dropped.  (lock held) */
static void s3src_queue_ahead(struct s3_src *p, uint64_t idx)
{
	uint64_t nblocks = (p->size + S3_BLOCK - 1) / S3_BLOCK;
	bool queued = false;

	for (uint64_t b = idx + 1; b <= idx + S3_AHEAD && b < nblocks; b++) {
		if (s3src_wanted(p, b))
			continue;
		if (p->qlen == S3_QUEUE) {
			/* drop the oldest wish: the stream is past it */
			p->qhead = (p->qhead + 1) % S3_QUEUE;
			p->qlen--;
		}
		p->q[(p->qhead + p->qlen++) % S3_QUEUE] = b;
		queued = true;
	}
	if (!queued)
		return;
	for (; p->nra < p->ra_max; p->nra++)
		if (pthread_create(&p->ra[p->nra], NULL, s3src_ahead, p))
			break;
	pthread_cond_broadcast(&p->cond);
}

static bool s3src_near(uint64_t off, uint64_t end)
{
	return off <= end ? end - off <= S3_NEAR : off - end <= S3_NEAR;
}

/* Is a read of [off, off + len) part of a stream?  Moves that stream or
 * the random cursor, and queues read-ahead when a stream enters a new
 * block.  (lock held) */
static bool s3src_classify(struct s3_src *p, uint64_t off, size_t len)
{
	uint64_t end = off + len;
	unsigned k = S3_STREAMS;

	for (unsigned i = 0; i < S3_STREAMS && k == S3_STREAMS; i++)
		if (p->st[i].on && s3src_near(off, p->st[i].end))
			k = i;
	if (k == S3_STREAMS) {
		if (!p->have_random || !s3src_near(off, p->random_end)) {
			p->random_end = end;
			p->have_random = true;
			return false;
		}
		/* two reads near each other: a new stream, in place of an
		 * unused one or of the one read least recently */
		k = 0;
		for (unsigned i = 1; i < S3_STREAMS; i++)
			if (p->st[k].on && (!p->st[i].on ||
					    p->st[i].used < p->st[k].used))
				k = i;
		p->st[k].on = true;
		p->st[k].end = off;
		p->have_random = false;
	}
	uint64_t was = p->st[k].end / S3_BLOCK;
	if (end > p->st[k].end)
		p->st[k].end = end;
	p->st[k].used = ++p->clock;
	uint64_t now = (end - 1) / S3_BLOCK;
	if (now > was)
		s3src_queue_ahead(p, now);
	return true;
}

static int s3src_pread(struct vmie_src *src, void *buf, size_t len,
		       uint64_t off, struct vmie_err *err)
{
	struct s3_src *p = src->priv;
	uint8_t *o = buf;
	int r = 0;

	if (off > p->size || len > p->size - off)
		return VMIE_ERR(err, VMIE_ECORRUPT, "%s: truncated (read of "
				"%zu bytes at %llu past its %llu bytes)",
				src->name, len, (unsigned long long)off,
				(unsigned long long)p->size);
	if (!len)
		return 0;
	pthread_mutex_lock(&p->lock);
	bool whole = s3src_classify(p, off, len);
	while (len) {
		uint64_t idx = off / S3_BLOCK;
		size_t in = (size_t)(off % S3_BLOCK);
		size_t want = S3_BLOCK - in < len ? S3_BLOCK - in : len;
		struct s3_slot *sl = s3src_block(p, idx, in, want, whole,
						 false, err);
		if (!sl) {
			r = err && err->code ? err->code : VMIE_EIO;
			break;
		}
		size_t n = sl->hi - in < len ? sl->hi - in : len;
		memcpy(o, sl->data + in, n);
		o += n;
		off += n;
		len -= n;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void s3src_close(struct vmie_src *src)
{
	struct s3_src *p = src->priv;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nra; i++)
		pthread_join(p->ra[i], NULL);
	for (unsigned i = 0; i < S3_SLOTS; i++)
		free(p->slot[i].data);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	vmie_s3_close(p->s3);
	free(p->bucket);
	free(p->key);
	free(p);
}

static int s3src_sibling(struct vmie_src *src, const char *name,
			 struct vmie_src **out, struct vmie_err *err)
{
	struct s3_src *p = src->priv;
	int r = vmie_check_member_name(name, "s3 sibling", err);
	if (r)
		return r;
	const char *slash = strrchr(p->key, '/');
	size_t dl = slash ? (size_t)(slash - p->key) + 1 : 0;
	char *key = malloc(dl + strlen(name) + 1);
	if (!key)
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	memcpy(key, p->key, dl);
	strcpy(key + dl, name);
	r = vmie_s3_src_open(p->s3, p->bucket, key, out, err);
	free(key);
	return r;
}

static const struct vmie_src_ops s3src_ops = {
	.kind = "s3",
	.pread = s3src_pread,
	.open_sibling = s3src_sibling,
	.close = s3src_close,
};

int vmie_s3_src_open(struct vmie_s3 *s, const char *bucket, const char *key,
		     struct vmie_src **out, struct vmie_err *err)
{
	struct s3_src *p;
	struct vmie_src *src;
	char name[1200];
	int r;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	src = calloc(1, sizeof(*src));
	if (!p || !src) {
		free(p);
		free(src);
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	}
	r = vmie_s3_head(s, bucket, key, &p->size, p->etag, err);
	if (r) {
		free(p);
		free(src);
		return r;
	}
	s3_name(name, sizeof(name), bucket, key);
	p->bucket = strdup(bucket);
	p->key = strdup(key);
	src->name = strdup(name);
	if (!p->bucket || !p->key || !src->name) {
		free(p->bucket);
		free(p->key);
		free(src->name);
		free(p);
		free(src);
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	}
	/* VMIE_S3_READAHEAD: GETs of the read-ahead at once, 0 to 16
	 * (anything else: the default) */
	const char *ra = getenv("VMIE_S3_READAHEAD");
	char *end = NULL;
	unsigned long nra = ra && *ra ? strtoul(ra, &end, 10) : S3_RA_MAX + 1;
	p->ra_max = end && !*end && nra <= S3_RA_MAX ? (unsigned)nra :
		S3_RA_THREADS;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	vmie_s3_ref(s);
	p->s3 = s;
	src->ops = &s3src_ops;
	src->size = p->size;
	src->priv = p;
	src->refs = 1;
	*out = src;
	return 0;
}

/* ---- the sink ---- */

struct s3_sink {
	struct vmie_s3 *s3;
	char *bucket, *key;
	int fd;                  /* the spool */
	char upload_id[512];     /* a multipart upload in progress, or "" */
	/* the parallel upload of parts */
	pthread_mutex_t lock;
	uint64_t size, part;
	unsigned nparts, next;
	char (*etags)[130];
	void (*on_free)(void *ctx, const char *key);
	void *on_free_ctx;
	unsigned test_delay_ms;  /* VMIE_TEST_S3_PART_MS: a pause after each
				    part, so that tests can stop the server
				    in the middle of an upload */
	bool failed;
	struct vmie_err err;
};

static int s3sink_pwrite(struct vmie_sink *k, const void *buf, size_t len,
			 uint64_t off, struct vmie_err *err)
{
	struct s3_sink *p = k->priv;
	const char *b = buf;

	while (len) {
		ssize_t n = pwrite(p->fd, b, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VMIE_ERR_SYS(err, "%s: cannot write the upload's "
					    "spool file", k->name);
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int s3sink_pread(struct vmie_sink *k, void *buf, size_t len,
			uint64_t off, struct vmie_err *err)
{
	struct s3_sink *p = k->priv;
	char *b = buf;

	while (len) {
		ssize_t n = pread(p->fd, b, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return VMIE_ERR_SYS(err, "%s: cannot read the upload's "
					    "spool file", k->name);
		if (n == 0) {       /* past the end: zeros */
			memset(b, 0, len);
			return 0;
		}
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int s3sink_truncate(struct vmie_sink *k, uint64_t len,
			   struct vmie_err *err)
{
	struct s3_sink *p = k->priv;
	if (ftruncate(p->fd, (off_t)len))
		return VMIE_ERR_SYS(err, "%s: cannot size the upload's spool "
				    "file", k->name);
	return 0;
}

static bool s3sink_parallel(struct vmie_sink *k)
{
	return true;
}

static int s3sink_read_range(struct s3_sink *p, uint8_t *buf, size_t len,
			     uint64_t off, struct vmie_err *err)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(p->fd, buf + got, len - got,
				  (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return VMIE_ERR_SYS(err, "s3: cannot read the spool "
					    "file");
		if (n == 0) {
			memset(buf + got, 0, len - got);
			break;
		}
		got += (size_t)n;
	}
	return 0;
}

static void *s3sink_uploader(void *arg)
{
	struct s3_sink *p = arg;
	uint8_t *buf = malloc(p->part);

	for (;;) {
		pthread_mutex_lock(&p->lock);
		unsigned i = p->next;
		bool stop = p->failed || i >= p->nparts || !buf;
		if (!buf && !p->failed) {
			p->failed = true;
			VMIE_ERR(&p->err, VMIE_ENOMEM, "s3: out of memory");
		}
		if (!stop)
			p->next++;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		uint64_t off = (uint64_t)i * p->part;
		size_t len = p->size - off < p->part ?
			(size_t)(p->size - off) : (size_t)p->part;
		struct vmie_err e = { 0 };
		char num[16];
		snprintf(num, sizeof(num), "%u", i + 1);
		struct vmie_s3_param qp[2] = {
			{ "partNumber", num }, { "uploadId", p->upload_id },
		};
		struct vmie_s3_req rq = { .method = "PUT", .bucket = p->bucket,
					  .key = p->key, .params = qp,
					  .nparams = 2, .body = buf,
					  .body_len = len };
		struct vmie_s3_resp rs;
		int r = s3sink_read_range(p, buf, len, off, &e);
		if (!r)
			r = vmie_s3_request(p->s3, &rq, &rs, &e);
		if (!r) {
			vmie_s3_resp_free(&rs);
			if (rs.status >= 300 || !rs.etag[0]) {
				char what[1200];
				snprintf(what, sizeof(what), "s3://%s/%s part "
					 "%u", p->bucket, p->key, i + 1);
				r = vmie_s3_fail(p->s3, "PUT", what, &rs, &e);
			} else {
				memcpy(p->etags[i], rs.etag, 130);
			}
			if (p->test_delay_ms) {
				struct timespec ts = {
					p->test_delay_ms / 1000,
					(long)(p->test_delay_ms % 1000) *
						1000000L };
				nanosleep(&ts, NULL);
			}
		}
		if (r) {
			pthread_mutex_lock(&p->lock);
			if (!p->failed) {
				p->failed = true;
				p->err = e;
			}
			pthread_mutex_unlock(&p->lock);
			break;
		}
	}
	free(buf);
	return NULL;
}

static int s3sink_abort_upload(struct s3_sink *p, struct vmie_err *err)
{
	struct vmie_s3_param qp[1] = { { "uploadId", p->upload_id } };
	struct vmie_s3_req rq = { .method = "DELETE", .bucket = p->bucket,
				  .key = p->key, .params = qp, .nparams = 1 };
	struct vmie_s3_resp rs;
	int r;

	if (!p->upload_id[0])
		return 0;
	r = vmie_s3_request(p->s3, &rq, &rs, err);
	if (r)
		return r;
	vmie_s3_resp_free(&rs);
	if (rs.status >= 300 && rs.status != 404) {
		char what[1200];
		snprintf(what, sizeof(what), "s3://%s/%s (abort upload)",
			 p->bucket, p->key);
		return vmie_s3_fail(p->s3, "DELETE", what, &rs, err);
	}
	p->upload_id[0] = '\0';
	return 0;
}

static int s3sink_multipart(struct vmie_sink *k, struct s3_sink *p,
			    struct vmie_err *err)
{
	char what[1200];
	struct vmie_s3_param up[1] = { { "uploads", "" } };
	struct vmie_s3_req rq = { .method = "POST", .bucket = p->bucket,
				  .key = p->key, .params = up, .nparams = 1 };
	struct vmie_s3_resp rs;
	struct vmie_s3_xml *rx = NULL;
	char *xml = NULL;
	int r;

	snprintf(what, sizeof(what), "s3://%s/%s", p->bucket, p->key);
	r = vmie_s3_request(p->s3, &rq, &rs, err);
	if (r)
		return r;
	if (rs.status >= 300) {
		r = vmie_s3_fail(p->s3, "POST ?uploads", what, &rs, err);
		vmie_s3_resp_free(&rs);
		return r;
	}
	r = s3_reply_xml(p->s3, "POST ?uploads", what, &rs, &rx, err);
	vmie_s3_resp_free(&rs);
	if (r)
		return r;
	int got = vmie_s3_xml_find(rx, "UploadId", p->upload_id,
				   sizeof(p->upload_id));
	vmie_s3_xml_free(rx);
	if (got == VMIE_S3_XML_LONG) {
		p->upload_id[0] = '\0';
		return VMIE_ERR(err, VMIE_EIO, "s3: POST ?uploads %s: the "
				"UploadId in the answer is longer than %zu "
				"bytes", what, sizeof(p->upload_id) - 1);
	}
	if (got != VMIE_S3_XML_FOUND || !p->upload_id[0])
		return VMIE_ERR(err, VMIE_EIO, "s3: POST ?uploads %s: no "
				"UploadId in the answer", what);

	p->etags = calloc(p->nparts, sizeof(*p->etags));
	if (!p->etags) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
		goto fail;
	}
	pthread_t th[S3_UP_THREADS];
	unsigned nth = 0;
	for (; nth < S3_UP_THREADS && nth < p->nparts; nth++)
		if (pthread_create(&th[nth], NULL, s3sink_uploader, p))
			break;
	if (!nth)
		s3sink_uploader(p);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (p->failed) {
		*err = p->err;
		r = err->code ? err->code : VMIE_EIO;
		goto fail;
	}

	size_t cap = 64 + (size_t)p->nparts * 200;
	xml = malloc(cap);
	if (!xml) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
		goto fail;
	}
	size_t n = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < p->nparts; i++)
		n += (size_t)snprintf(xml + n, cap - n, "<Part><PartNumber>%u"
				      "</PartNumber><ETag>%s</ETag></Part>",
				      i + 1, p->etags[i]);
	n += (size_t)snprintf(xml + n, cap - n, "</CompleteMultipartUpload>");
	struct vmie_s3_param cp[1] = { { "uploadId", p->upload_id } };
	struct vmie_s3_req cq = { .method = "POST", .bucket = p->bucket,
				  .key = p->key, .params = cp, .nparams = 1,
				  .body = xml, .body_len = n };
	r = vmie_s3_request(p->s3, &cq, &rs, err);
	if (r)
		goto fail;
	/* an error may come with status 200 and an <Error> body (S3 sends
	 * white space while it assembles the parts, then the result) */
	if (rs.status < 300) {
		r = s3_reply_xml(p->s3, "POST ?uploadId (complete)", what, &rs,
				 &rx, err);
		if (r) {
			vmie_s3_resp_free(&rs);
			goto fail;
		}
		if (strcmp(vmie_s3_xml_root_name(rx), "Error") == 0) {
			rs.status = 500;
			vmie_s3_xml_find(rx, "Code", rs.code, sizeof(rs.code));
			vmie_s3_xml_find(rx, "Message", rs.message,
					 sizeof(rs.message));
		}
		vmie_s3_xml_free(rx);
		rx = NULL;
	}
	if (rs.status >= 300) {
		r = vmie_s3_fail(p->s3, "POST ?uploadId (complete)", what, &rs,
				 err);
		vmie_s3_resp_free(&rs);
		goto fail;
	}
	vmie_s3_resp_free(&rs);
	p->upload_id[0] = '\0';
	free(xml);
	return 0;
fail:
	free(xml);
	{
		struct vmie_err e2 = { 0 };
		s3sink_abort_upload(p, &e2);  /* else remove_temps finds it */
	}
	return r;
}

static int s3sink_commit(struct vmie_sink *k, struct vmie_err *err)
{
	struct s3_sink *p = k->priv;
	struct stat st;
	int r;

	if (fstat(p->fd, &st))
		return VMIE_ERR_SYS(err, "%s: cannot stat the spool file",
				    k->name);
	p->size = (uint64_t)st.st_size;
	if (k->written_end > p->size)
		p->size = k->written_end;
	p->part = (p->size + S3_PARTS_MAX - 1) / S3_PARTS_MAX;
	p->part = (p->part + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	if (p->part < S3_PART_MIN)
		p->part = S3_PART_MIN;
	if (p->size > p->part) {
		p->nparts = (unsigned)((p->size + p->part - 1) / p->part);
		return s3sink_multipart(k, p, err);
	}
	uint8_t *buf = malloc(p->size ? p->size : 1);
	if (!buf)
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	r = s3sink_read_range(p, buf, (size_t)p->size, 0, err);
	if (!r) {
		struct vmie_s3_req rq = { .method = "PUT", .bucket = p->bucket,
					  .key = p->key, .body = buf,
					  .body_len = (size_t)p->size };
		struct vmie_s3_resp rs;
		r = vmie_s3_request(p->s3, &rq, &rs, err);
		if (!r) {
			vmie_s3_resp_free(&rs);
			if (rs.status >= 300)
				r = vmie_s3_fail(p->s3, "PUT", k->name, &rs,
						 err);
		}
	}
	free(buf);
	return r;
}

static void s3sink_abort(struct vmie_sink *k)
{
	struct s3_sink *p = k->priv;
	struct vmie_err e = { 0 };

	if (p)
		s3sink_abort_upload(p, &e);
}

static void s3sink_free(struct vmie_sink *k)
{
	struct s3_sink *p = k->priv;

	if (!p)
		return;
	if (p->on_free && p->key)
		p->on_free(p->on_free_ctx, p->key);
	if (p->fd >= 0)
		close(p->fd);
	vmie_s3_close(p->s3);
	pthread_mutex_destroy(&p->lock);
	free(p->etags);
	free(p->bucket);
	free(p->key);
	free(p);
}

static const struct vmie_sink_ops s3sink_ops = {
	.pwrite = s3sink_pwrite,
	.truncate = s3sink_truncate,
	.pread = s3sink_pread,
	.commit = s3sink_commit,
	.abort = s3sink_abort,
	.free = s3sink_free,
	.parallel = s3sink_parallel,
};

int vmie_s3_sink_open(struct vmie_s3 *s, const char *bucket,
		      const char *key, const char *spool_dir,
		      struct vmie_sink **out, struct vmie_err *err)
{
	char name[1200], tmpl[4096];
	struct s3_sink *p;
	struct vmie_sink *k;
	const char *dir = spool_dir;

	*out = NULL;
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	snprintf(tmpl, sizeof(tmpl), "%s/vmie-s3-spool-XXXXXX", dir);
	s3_name(name, sizeof(name), bucket, key);
	p = calloc(1, sizeof(*p));
	k = calloc(1, sizeof(*k));
	if (!p || !k) {
		free(p);
		free(k);
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	}
	p->fd = mkostemp(tmpl, O_CLOEXEC);
	if (p->fd < 0) {
		int e = errno;
		free(p);
		free(k);
		errno = e;
		return VMIE_ERR_SYS(err, "s3: cannot create a spool file in "
				    "%s for %s", dir, name);
	}
	unlink(tmpl);
	const char *td = getenv("VMIE_TEST_S3_PART_MS");
	p->test_delay_ms = td ? (unsigned)atoi(td) : 0;
	p->bucket = strdup(bucket);
	p->key = strdup(key);
	k->name = strdup(name);
	pthread_mutex_init(&p->lock, NULL);
	vmie_s3_ref(s);
	p->s3 = s;
	k->ops = &s3sink_ops;
	k->priv = p;
	if (!p->bucket || !p->key || !k->name) {
		vmie_sink_free(k);
		return VMIE_ERR(err, VMIE_ENOMEM, "s3: out of memory");
	}
	*out = k;
	return 0;
}

int vmie_s3_sink_spool_fd(struct vmie_sink *k)
{
	if (!k || k->ops != &s3sink_ops) {
		errno = EINVAL;
		return -1;
	}
	struct s3_sink *p = k->priv;
	return fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
}

void vmie_s3_sink_on_free(struct vmie_sink *k,
			  void (*fn)(void *ctx, const char *key), void *ctx)
{
	if (!k || k->ops != &s3sink_ops)
		return;
	struct s3_sink *p = k->priv;
	p->on_free = fn;
	p->on_free_ctx = ctx;
}

int vmie_s3_parse_url(const char *url, char **bucket, char **prefix,
		      struct vmie_err *err)
{
	*bucket = *prefix = NULL;
	if (!url || strncmp(url, "s3://", 5))
		return VMIE_ERR(err, VMIE_EINVAL, "'%.200s' is not an s3:// "
				"URL (s3://bucket/prefix)", url ? url : "");
	const char *b = url + 5;
	size_t bl = strcspn(b, "/");
	const char *pf = b + bl;
	while (*pf == '/')
		pf++;
	size_t pl = strlen(pf);
	while (pl && pf[pl - 1] == '/')
		pl--;
	if (!bl)
		return VMIE_ERR(err, VMIE_EINVAL, "'%.200s' names no bucket "
				"(s3://bucket/prefix)", url);
	*bucket = strndup(b, bl);
	*prefix = strndup(pf, pl);
	if (!*bucket || !*prefix) {
		free(*bucket);
		free(*prefix);
		*bucket = *prefix = NULL;
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- listings ---- */

/* A truncated listing's next marker (absent: ""); the same marker as the
 * page before (unless other_moved) would list that page again for ever. */
static int s3_next_marker(struct vmie_s3 *s, const struct vmie_s3_xml *x,
			  const char *op, const char *what, const char *elem,
			  char *marker, size_t size, bool other_moved,
			  struct vmie_err *err)
{
	char prev[2048];
	snprintf(prev, sizeof(prev), "%s", marker);
	int got = vmie_s3_xml_find(x, elem, marker, size);
	if (got == VMIE_S3_XML_LONG)
		return s3_reply_bad(s, op, what, elem, got, size, err);
	if (marker[0] && !other_moved && strcmp(marker, prev) == 0)
		return VMIE_ERR(err, VMIE_EIO, "s3: %s %s at %s: the reply is "
				"truncated but its %s does not move on (\"%s\")",
				op, what, vmie_s3_endpoint(s), elem, marker);
	return 0;
}

int vmie_s3_abort_uploads(struct vmie_s3 *s, const char *bucket,
			  const char *prefix, vmie_s3_keep_fn keep, void *ctx,
			  unsigned *n, struct vmie_err *err)
{
	char key_marker[1100] = "", id_marker[512] = "";
	unsigned count = 0;
	int r = 0;

	for (;;) {
		struct vmie_s3_param qp[4] = {
			{ "uploads", "" }, { "prefix", prefix },
			{ "key-marker", key_marker },
			{ "upload-id-marker", id_marker },
		};
		struct vmie_s3_req rq = { .method = "GET", .bucket = bucket,
					  .params = qp,
					  .nparams = key_marker[0] ? 4 : 2 };
		struct vmie_s3_resp rs;
		struct vmie_s3_xml *x = NULL;
		char what[1200], list[1200], trunc[16] = "";
		const char *op = "GET ?uploads";

		r = vmie_s3_request(s, &rq, &rs, err);
		if (r)
			break;
		s3_name(list, sizeof(list), bucket, NULL);
		if (rs.status >= 300 || !rs.body) {
			r = vmie_s3_fail(s, op, list, &rs, err);
			vmie_s3_resp_free(&rs);
			break;
		}
		r = s3_reply_xml(s, op, list, &rs, &x, err);
		vmie_s3_resp_free(&rs);
		if (r)
			break;
		for (const struct _xmlNode *u = NULL;
		     (u = vmie_s3_xml_each(x, u, "Upload"));) {
			char key[1100], id[512];
			int got = vmie_s3_xml_child(u, "Key", key, sizeof(key));
			if (got != VMIE_S3_XML_FOUND || !key[0]) {
				r = s3_reply_bad(s, op, list, "Upload Key", got,
						 sizeof(key), err);
				break;
			}
			got = vmie_s3_xml_child(u, "UploadId", id, sizeof(id));
			if (got != VMIE_S3_XML_FOUND || !id[0]) {
				r = s3_reply_bad(s, op, list, "UploadId", got,
						 sizeof(id), err);
				break;
			}
			bool drop = keep ? !keep(key, ctx) :
				strcmp(key, prefix) == 0;
			if (!drop)
				continue;
			struct vmie_s3_param ap[1] = { { "uploadId", id } };
			struct vmie_s3_req aq = { .method = "DELETE",
						  .bucket = bucket, .key = key,
						  .params = ap, .nparams = 1 };
			struct vmie_s3_resp ar;
			r = vmie_s3_request(s, &aq, &ar, err);
			if (r)
				break;
			vmie_s3_resp_free(&ar);
			if (ar.status >= 300 && ar.status != 404) {
				s3_name(what, sizeof(what), bucket, key);
				r = vmie_s3_fail(s, "abort upload of", what,
						 &ar, err);
				break;
			}
			count++;
		}
		vmie_s3_xml_find(x, "IsTruncated", trunc, sizeof(trunc));
		bool more = strcmp(trunc, "true") == 0;
		if (!r && more) {
			/* one key may have uploads on several pages: the
			 * pair of markers must move on */
			char prev_id[sizeof(id_marker)];
			memcpy(prev_id, id_marker, sizeof(prev_id));
			int got = vmie_s3_xml_find(x, "NextUploadIdMarker",
						   id_marker,
						   sizeof(id_marker));
			if (got == VMIE_S3_XML_LONG)
				r = s3_reply_bad(s, op, list,
						 "NextUploadIdMarker", got,
						 sizeof(id_marker), err);
			else
				r = s3_next_marker(s, x, op, list,
						   "NextKeyMarker", key_marker,
						   sizeof(key_marker),
						   strcmp(prev_id, id_marker)
						   != 0, err);
		}
		vmie_s3_xml_free(x);
		if (r || !more || !key_marker[0])
			break;
	}
	if (n)
		*n = count;
	return r;
}

/* An object's Size: decimal digits only. */
static bool s3_parse_size(const char *t, uint64_t *out)
{
	uint64_t v = 0;
	if (!*t)
		return false;
	for (; *t; t++) {
		if (*t < '0' || *t > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*t - '0');
	}
	*out = v;
	return true;
}

int vmie_s3_list(struct vmie_s3 *s, const char *bucket, const char *prefix,
		 int (*fn)(const char *key, uint64_t size, void *ctx),
		 void *ctx, struct vmie_err *err)
{
	char token[2048] = "";
	int r = 0;

	for (;;) {
		struct vmie_s3_param qp[3] = {
			{ "list-type", "2" }, { "prefix", prefix },
			{ "continuation-token", token },
		};
		struct vmie_s3_req rq = { .method = "GET", .bucket = bucket,
					  .params = qp,
					  .nparams = token[0] ? 3 : 2 };
		struct vmie_s3_resp rs;
		struct vmie_s3_xml *x = NULL;
		char what[1200], trunc[16] = "";
		const char *op = "GET ?list-type=2";

		r = vmie_s3_request(s, &rq, &rs, err);
		if (r)
			return r;
		s3_name(what, sizeof(what), bucket, NULL);
		if (rs.status >= 300 || !rs.body) {
			r = vmie_s3_fail(s, op, what, &rs, err);
			vmie_s3_resp_free(&rs);
			return r;
		}
		r = s3_reply_xml(s, op, what, &rs, &x, err);
		vmie_s3_resp_free(&rs);
		if (r)
			return r;
		for (const struct _xmlNode *c = NULL;
		     (c = vmie_s3_xml_each(x, c, "Contents"));) {
			char key[1100], sz[32];
			uint64_t size = 0;
			int got = vmie_s3_xml_child(c, "Key", key, sizeof(key));
			if (got != VMIE_S3_XML_FOUND || !key[0]) {
				r = s3_reply_bad(s, op, what, "Contents Key",
						 got, sizeof(key), err);
				break;
			}
			got = vmie_s3_xml_child(c, "Size", sz, sizeof(sz));
			if (got != VMIE_S3_XML_ABSENT &&
			    (got != VMIE_S3_XML_FOUND ||
			     !s3_parse_size(sz, &size))) {
				r = VMIE_ERR(err, VMIE_EIO, "s3: %s %s at %s: "
					     "the Size of %s in the reply is not "
					     "a number", op, what,
					     vmie_s3_endpoint(s), key);
				break;
			}
			r = fn(key, size, ctx);
			if (r)
				break;
		}
		vmie_s3_xml_find(x, "IsTruncated", trunc, sizeof(trunc));
		bool more = strcmp(trunc, "true") == 0;
		if (!r && more)
			r = s3_next_marker(s, x, op, what,
					   "NextContinuationToken", token,
					   sizeof(token), false, err);
		vmie_s3_xml_free(x);
		if (r || !more || !token[0])
			return r;
	}
}
