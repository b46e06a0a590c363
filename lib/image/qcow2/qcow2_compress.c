/*
 * qcow2 compressed clusters: decompression for the reader, compression for
 * the writer.
 *
 * Spec: qemu docs/interop/qcow2.txt, "Compressed Clusters Descriptor" and
 * the compression_type header field.  Type 0 is a raw deflate stream
 * (RFC 1951, no zlib or gzip wrapper) whose match distances stay within a
 * 4 KiB window, because qemu inflates with windowBits -12; type 1 is one
 * or more zstd frames.  The stored bytes run to the end of a 512-byte
 * sector, so a stream is followed by padding or by the next cluster's
 * data: decoding stops when a whole cluster has been produced.
 *
 * Reading: libdeflate first (fast, whole buffer, trailing bytes allowed),
 * zlib's inflate as the fallback for streams libdeflate will not take
 * (no final block: qemu accepts a stream that fills the cluster).
 * Writing: ISA-L level 1 with a 4 KiB history (hist_bits = 12) for zlib,
 * so qemu can read it back; zstd at its default level.
 */
#include "qcow2_int.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#define QCOW2_DEFLATE_HIST_BITS 12
#define QCOW2_ZSTD_LEVEL        3

static int qcow2_inflate_zlib(const uint8_t *in, size_t in_len, uint8_t *out,
			      size_t out_len, const char **why)
{
	z_stream zs = { 0 };
	int r;
	if (inflateInit2(&zs, -QCOW2_DEFLATE_HIST_BITS) != Z_OK) {
		*why = "cannot start inflate";
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = out;
	zs.avail_out = (uInt)out_len;
	r = inflate(&zs, Z_FINISH);
	if (r != Z_STREAM_END && zs.avail_out == 0 && r != Z_DATA_ERROR &&
	    r != Z_MEM_ERROR) {
		/* The cluster is full: one more byte out means the stream
		 * inflates past the cluster (never more than that byte). */
		uint8_t extra;
		zs.next_out = &extra;
		zs.avail_out = 1;
		r = inflate(&zs, Z_FINISH);
		if (zs.avail_out == 0) {
			inflateEnd(&zs);
			*why = "deflate stream inflates past the cluster";
			return -1;
		}
		zs.avail_out = 0;
	}
	inflateEnd(&zs);
	if ((r == Z_STREAM_END || r == Z_BUF_ERROR) && zs.avail_out == 0)
		return 0;
	if (r == Z_STREAM_END || r == Z_BUF_ERROR)
		*why = "deflate stream ends before the cluster is complete";
	else
		*why = zs.msg ? zs.msg : "invalid deflate data";
	return -1;
}

static int qcow2_inflate(const uint8_t *in, size_t in_len, uint8_t *out,
			 size_t out_len, const char **why)
{
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	size_t used_in = 0, used_out = 0;
	enum libdeflate_result r = LIBDEFLATE_BAD_DATA;
	if (d) {
		r = libdeflate_deflate_decompress_ex(d, in, in_len, out,
						     out_len, &used_in,
						     &used_out);
		libdeflate_free_decompressor(d);
	}
	if (r == LIBDEFLATE_SUCCESS && used_out == out_len)
		return 0;
	return qcow2_inflate_zlib(in, in_len, out, out_len, why);
}

static int qcow2_unzstd(const uint8_t *in, size_t in_len, uint8_t *out,
			size_t out_len, const char **why)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_len, 0 };
	int rc = 0;
	if (!d) {
		*why = "cannot start zstd";
		return -1;
	}
	size_t r = 1;
	while (ob.pos < ob.size) {
		size_t in0 = ib.pos, out0 = ob.pos;
		r = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(r)) {
			*why = ZSTD_getErrorName(r);
			rc = -1;
			break;
		}
		if (ib.pos <= in0 && ob.pos <= out0) {
			*why = "zstd data ends before the cluster is complete";
			rc = -1;
			break;
		}
	}
	/* The cluster is full: the frame must end here (as qemu requires);
	 * one more byte out means it inflates past the cluster. */
	while (!rc && r != 0) {
		uint8_t extra;
		ZSTD_outBuffer xb = { &extra, 1, 0 };
		size_t in0 = ib.pos;
		r = ZSTD_decompressStream(d, &xb, &ib);
		if (ZSTD_isError(r)) {
			*why = ZSTD_getErrorName(r);
			rc = -1;
		} else if (xb.pos) {
			*why = "zstd frame inflates past the cluster";
			rc = -1;
		} else if (r && ib.pos <= in0) {
			*why = "zstd frame does not end with the cluster";
			rc = -1;
		}
	}
	ZSTD_freeDCtx(d);
	return rc;
}

int qcow2_decompress(unsigned type, const uint8_t *in, size_t in_len,
		     uint8_t *out, size_t out_len, const char **why)
{
	*why = "unknown compression type";
	if (type == QCOW2_COMPRESS_ZLIB)
		return qcow2_inflate(in, in_len, out, out_len, why);
	if (type == QCOW2_COMPRESS_ZSTD)
		return qcow2_unzstd(in, in_len, out, out_len, why);
	return -1;
}

/* ---- compression (writer, one context per worker job) ---- */

struct qcow2_cctx {
	unsigned type;
	uint8_t *level_buf;      /* ISA-L level 1 work area */
	ZSTD_CCtx *zc;
};

struct qcow2_cctx *qcow2_cctx_new(unsigned type)
{
	struct qcow2_cctx *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->type = type;
	if (type == QCOW2_COMPRESS_ZLIB)
		c->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
	else if (type == QCOW2_COMPRESS_ZSTD)
		c->zc = ZSTD_createCCtx();
	if (!c->level_buf && !c->zc) {
		qcow2_cctx_free(c);
		return NULL;
	}
	return c;
}

void qcow2_cctx_free(struct qcow2_cctx *c)
{
	if (!c)
		return;
	free(c->level_buf);
	ZSTD_freeCCtx(c->zc);
	free(c);
}

size_t qcow2_compress(struct qcow2_cctx *c, const uint8_t *in, size_t len,
		      uint8_t *out, size_t out_max)
{
	if (c->type == QCOW2_COMPRESS_ZSTD) {
		size_t r = ZSTD_compressCCtx(c->zc, out, out_max, in, len,
					     QCOW2_ZSTD_LEVEL);
		return ZSTD_isError(r) ? 0 : r;
	}
	struct isal_zstream s;
	isal_deflate_stateless_init(&s);
	s.level = 1;
	s.level_buf = c->level_buf;
	s.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	s.hist_bits = QCOW2_DEFLATE_HIST_BITS;
	s.gzip_flag = IGZIP_DEFLATE;
	s.end_of_stream = 1;
	s.flush = NO_FLUSH;
	s.next_in = (uint8_t *)(uintptr_t)in;
	s.avail_in = (uint32_t)len;
	s.next_out = out;
	s.avail_out = (uint32_t)out_max;
	if (isal_deflate_stateless(&s) != COMP_OK)
		return 0;
	return s.total_out;
}
