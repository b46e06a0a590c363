/* The convert engine's parallel paths (lib/image/convert.c) and zero-copy
 * reads (vmie_src_capture, lib/io/source.c):
 *  - raw output written from the worker threads (VMIE_WRITER_ANY_ORDER)
 *    is byte-exact, keeps holes as holes and writes the short last chunk;
 *  - dynamic VHD and qcow2 (VMIE_WRITER_DEFER_DATA) read back identical;
 *  - a sink write failing in a worker, or a cancel, fails the conversion
 *    with the error and leaves no output file;
 *  - captured reads return a pointer into the file only when one piece
 *    covers the whole buffer, copy otherwise, and refuse a file that
 *    shrank instead of touching its mapping;
 *  - captured reads as pieces: data of the file (mapped), holes of the
 *    file (zeros, never mapped) and bytes the reader wrote itself, in
 *    order; too many pieces fall back to plain reads;
 *  - back to raw from every container (pieces written one by one) is
 *    byte-exact and keeps the source's hole a hole;
 *  - a source file truncated by someone else during the conversion fails
 *    it with FMT-005 "shrank" (no crash: its mapping is never read past
 *    the new end) and leaves no output file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "image/image.h"

#define MiB (1024u * 1024)
/* data, a 3 MiB hole, data, a hole, odd tail: not a multiple of 512 */
#define DISK ((uint64_t)13 * MiB + 4096 * 3 + 1234)
#define HOLE1_OFF ((uint64_t)5 * MiB)
#define HOLE1_END ((uint64_t)8 * MiB)

static char dir[64];

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static uint8_t byte_at(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 9) + 1);
}

/* A sparse raw file: pattern in [0, 5M), hole [5M, 8M), pattern [8M,
 * 11M), hole, pattern in the last 5000 bytes.  Returns the content. */
static uint8_t *make_raw(const char *path, uint64_t size)
{
	uint8_t *d = calloc(1, (size_t)size);
	assert_non_null(d);
	for (uint64_t i = 0; i < size; i++) {
		bool data = i < HOLE1_OFF ||
			    (i >= HOLE1_END && i < 11 * (uint64_t)MiB) ||
			    i >= size - 5000;
		if (data)
			d[i] = byte_at(i);
	}
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	uint64_t runs[3][2] = { { 0, HOLE1_OFF },
				{ HOLE1_END, 11 * (uint64_t)MiB },
				{ size - 5000, size } };
	for (int k = 0; k < 3; k++) {
		size_t n = (size_t)(runs[k][1] - runs[k][0]);
		assert_true(pwrite(fd, d + runs[k][0], n, (off_t)runs[k][0]) ==
			    (ssize_t)n);
	}
	close(fd);
	return d;
}

static void check_file(const char *path, const uint8_t *want, uint64_t size)
{
	uint8_t *got = malloc((size_t)size + 1);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, got, (size_t)size + 1) == (ssize_t)size);
	assert_memory_equal(got, want, (size_t)size);
	/* the hole was not written (tmpfs, ext4, xfs, btrfs report holes) */
	off_t d = lseek(fd, (off_t)HOLE1_OFF, SEEK_DATA);
	assert_true(d < 0 || (uint64_t)d >= HOLE1_END);
	close(fd);
	free(got);
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/vmie-conv-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_raw_parallel_exact_and_sparse(void **state)
{
	(void)state;
	char src[128], dst[128];
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	path_in(src, sizeof src, "a.raw");
	path_in(dst, sizeof dst, "b.raw");
	uint8_t *d = make_raw(src, DISK);
	assert_int_equal(vmie_image_open(src, NULL, &img, &e), 0);
	for (unsigned threads = 1; threads <= 3; threads++) {
		struct vmie_convert_opts o = { .format = "raw",
			.threads = threads,
			.sink_flags = VMIE_SINK_NOSYNC | VMIE_SINK_OVERWRITE };
		struct vmie_convert_stats st;
		assert_int_equal(vmie_convert(img, dst, &o, &st, &e), 0);
		assert_true(st.out_size == DISK);
		assert_true(st.bytes_skipped >= HOLE1_END - HOLE1_OFF);
		check_file(dst, d, DISK);
	}
	vmie_image_close(img);
	free(d);
}

/* raw -> fmt -> compare with the source through the reader */
static void roundtrip(const char *fmt, const char *sub, uint64_t size)
{
	char src[128], dst[128];
	struct vmie_err e = { 0 };
	struct vmie_image *a, *b;
	path_in(src, sizeof src, "r.raw");
	path_in(dst, sizeof dst, "r.out");
	uint8_t *d = make_raw(src, size);
	assert_int_equal(vmie_image_open(src, NULL, &a, &e), 0);
	struct vmie_convert_opts o = { .format = fmt, .subformat = sub,
		.threads = 2,
		.sink_flags = VMIE_SINK_NOSYNC | VMIE_SINK_OVERWRITE };
	assert_int_equal(vmie_convert(a, dst, &o, NULL, &e), 0);
	struct vmie_open_opts oo = { .format = fmt };
	assert_int_equal(vmie_image_open(dst, &oo, &b, &e), 0);
	uint64_t at;
	assert_int_equal(vmie_compare(a, b, false, &at, &e), 0);
	assert_true(at == UINT64_MAX);
	/* and back to raw from the container (captured reads) */
	char back[128];
	path_in(back, sizeof back, "r.back");
	o.format = "raw";
	o.subformat = NULL;
	assert_int_equal(vmie_convert(b, back, &o, NULL, &e), 0);
	uint8_t *got = malloc((size_t)size);
	int fd = open(back, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, got, (size_t)size) == (ssize_t)size);
	assert_memory_equal(got, d, (size_t)size);
	/* the source's hole stays a hole (qcow2 rounds the size up to a
	 * sector: the file may be a little longer) */
	off_t h = lseek(fd, (off_t)HOLE1_OFF, SEEK_DATA);
	assert_true(h < 0 || (uint64_t)h >= HOLE1_END);
	close(fd);
	free(got);
	vmie_image_close(b);
	vmie_image_close(a);
	free(d);
}

static void test_vhd_dynamic_deferred(void **state)
{
	(void)state;
	roundtrip("vhd", "dynamic", DISK & ~(uint64_t)511);
}

static void test_vhd_fixed_any_order(void **state)
{
	(void)state;
	roundtrip("vhd", "fixed", DISK & ~(uint64_t)511);
}

static void test_vhdx_dynamic_deferred(void **state)
{
	(void)state;
	roundtrip("vhdx", "dynamic", DISK & ~(uint64_t)511);
}

static void test_qcow2_deferred(void **state)
{
	(void)state;
	roundtrip("qcow2", NULL, DISK);
}

/* ---- a file-like sink that accepts parallel writes and fails past an
 * offset ---- */

struct fail_sink {
	struct vmie_sink *real;
	uint64_t fail_at;
};

static int fail_pwrite(struct vmie_sink *k, const void *buf, size_t len,
		       uint64_t off, struct vmie_err *err)
{
	struct fail_sink *f = k->priv;
	if (off + len > f->fail_at)
		return VMIE_ERR(err, VMIE_EIO, "test sink: no space at %llu",
				(unsigned long long)off);
	return vmie_sink_pwrite(f->real, buf, len, off, err);
}

static int fail_truncate(struct vmie_sink *k, uint64_t len,
			 struct vmie_err *err)
{
	struct fail_sink *f = k->priv;
	return vmie_sink_truncate(f->real, len, err);
}

static bool fail_parallel(struct vmie_sink *k)
{
	(void)k;
	return true;
}

static const struct vmie_sink_ops fail_ops = {
	.pwrite = fail_pwrite,
	.truncate = fail_truncate,
	.parallel = fail_parallel,
};

static void failing(const char *fmt, const char *sub)
{
	char src[128], dst[128];
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	struct vmie_sink *real;
	path_in(src, sizeof src, "f.raw");
	path_in(dst, sizeof dst, "f.out");
	free(make_raw(src, DISK & ~(uint64_t)511));
	assert_int_equal(vmie_image_open(src, NULL, &img, &e), 0);
	assert_int_equal(vmie_sink_open_file(dst, VMIE_SINK_NOSYNC, &real, &e),
			 0);
	struct fail_sink fs = { real, 6 * (uint64_t)MiB };
	struct vmie_sink k = { .ops = &fail_ops, .name = "test",
			       .priv = &fs, .committed = true };
	struct vmie_convert_opts o = { .format = fmt, .subformat = sub,
				       .threads = 2 };
	int r = vmie_convert_to_sink(img, &k, &o, NULL, &e);
	if (r != VMIE_EIO)
		fail_msg("%s %s: got %d (%s)", fmt, sub ? sub : "", r, e.msg);
	assert_non_null(strstr(e.msg, "no space"));
	vmie_sink_free(real);           /* not committed: removed */
	struct stat st;
	assert_int_equal(stat(dst, &st), -1);
	vmie_image_close(img);
}

static void test_worker_write_error(void **state)
{
	(void)state;
	failing("raw", NULL);
	failing("vhd", "fixed");
	failing("vhd", "dynamic");
	failing("qcow2", NULL);
}

static void test_cancel_leaves_nothing(void **state)
{
	(void)state;
	char src[128], dst[128];
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	volatile int cancel = 1;
	path_in(src, sizeof src, "c.raw");
	path_in(dst, sizeof dst, "c.out");
	free(make_raw(src, DISK));
	assert_int_equal(vmie_image_open(src, NULL, &img, &e), 0);
	struct vmie_convert_opts o = { .format = "raw", .threads = 2,
				       .cancel = &cancel,
				       .sink_flags = VMIE_SINK_NOSYNC };
	assert_int_equal(vmie_convert(img, dst, &o, NULL, &e), VMIE_EINTR);
	struct stat st;
	assert_int_equal(stat(dst, &st), -1);
	vmie_image_close(img);
}

/* ---- the source truncated during the conversion ---- */

/* A sink that truncates the source file (as another process would) on
 * its first write.  The source is bigger than the most the engine can have
 * read ahead (MAX_INFLIGHT_BYTES, 128 MiB) by the first write, and it is
 * cut past that: the chunks read after the cut are the ones that find the
 * file shorter, whatever the threads' timing. */
#define SHRINK_DISK ((uint64_t)160 * MiB)
#define SHRINK_TO ((uint64_t)144 * MiB)

struct shrink_sink {
	struct vmie_sink *real;
	const char *src;
	int done;
};

static int shrink_pwrite(struct vmie_sink *k, const void *buf, size_t len,
			 uint64_t off, struct vmie_err *err)
{
	struct shrink_sink *f = k->priv;
	/* may run on a worker thread: no cmocka assert here */
	if (!__atomic_exchange_n(&f->done, 1, __ATOMIC_SEQ_CST) &&
	    truncate(f->src, (off_t)SHRINK_TO) != 0)
		return VMIE_ERR(err, VMIE_EIO, "test sink: truncate %s failed",
				f->src);
	return vmie_sink_pwrite(f->real, buf, len, off, err);
}

static int shrink_truncate(struct vmie_sink *k, uint64_t len,
			   struct vmie_err *err)
{
	struct shrink_sink *f = k->priv;
	return vmie_sink_truncate(f->real, len, err);
}

static const struct vmie_sink_ops shrink_ops = {
	.pwrite = shrink_pwrite,
	.truncate = shrink_truncate,
	.parallel = fail_parallel,
};

static void shrinking(const char *fmt, const char *sub, unsigned threads)
{
	char src[128], dst[128];
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	struct vmie_sink *real;
	path_in(src, sizeof src, "s.raw");
	path_in(dst, sizeof dst, "s.out");
	/* all data, nothing zero: every chunk is read from the file */
	int fd = open(src, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	uint8_t *blk = malloc(MiB);
	assert_non_null(blk);
	for (uint64_t o = 0; o < SHRINK_DISK; o += MiB) {
		for (size_t i = 0; i < MiB; i++)
			blk[i] = byte_at(o + i) | 1;
		assert_true(pwrite(fd, blk, MiB, (off_t)o) == (ssize_t)MiB);
	}
	free(blk);
	close(fd);
	assert_int_equal(vmie_image_open(src, NULL, &img, &e), 0);
	assert_int_equal(vmie_sink_open_file(dst, VMIE_SINK_NOSYNC, &real, &e),
			 0);
	struct shrink_sink ss = { real, src, 0 };
	struct vmie_sink k = { .ops = &shrink_ops, .name = "test",
			       .priv = &ss, .committed = true };
	struct vmie_convert_opts o = { .format = fmt, .subformat = sub,
				       .threads = threads };
	int r = vmie_convert_to_sink(img, &k, &o, NULL, &e);
	if (r != VMIE_ECORRUPT || !strstr(e.msg, "shrank"))
		fail_msg("%s %s, %u threads: got %d (%s)", fmt,
			 sub ? sub : "", threads, r, e.msg);
	assert_string_equal(e.rule, "FMT-005");
	vmie_sink_free(real);           /* not committed: removed */
	struct stat st;
	assert_int_equal(stat(dst, &st), -1);
	vmie_image_close(img);
	unlink(src);
}

static void test_source_shrinks(void **state)
{
	(void)state;
	shrinking("raw", NULL, 1);
	shrinking("raw", NULL, 2);
	shrinking("vhd", "dynamic", 2);
	shrinking("vmdk", "streamOptimized", 2);
}

/* ---- captured reads ---- */

static void test_capture(void **state)
{
	(void)state;
	char p[128];
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_src_capture c;
	uint8_t buf[3 * 4096];
	path_in(p, sizeof p, "cap.raw");
	uint8_t *d = make_raw(p, DISK);
	assert_int_equal(vmie_src_open_file(p, &s, &e), 0);

	/* one piece covering the buffer: a pointer into the file */
	vmie_src_capture_begin(&c, buf, sizeof buf);
	assert_int_equal(vmie_src_pread(s, buf, 4096, 8192, &e), 0);
	assert_int_equal(vmie_src_pread(s, buf + 4096, 8192, 12288, &e), 0);
	uint8_t *r = vmie_src_capture_end(&c, &e);
	assert_non_null(r);
	assert_ptr_not_equal(r, buf);
	assert_memory_equal(r, d + 8192, sizeof buf);

	/* two pieces, not contiguous in the file: copied into buf */
	memset(buf, 0xee, sizeof buf);
	vmie_src_capture_begin(&c, buf, sizeof buf);
	assert_int_equal(vmie_src_pread(s, buf, 4096, 0, &e), 0);
	memset(buf + 4096, 0, 4096);    /* a reader's own zeros */
	assert_int_equal(vmie_src_pread(s, buf + 8192, 4096, 65536, &e), 0);
	r = vmie_src_capture_end(&c, &e);
	assert_ptr_equal(r, buf);
	assert_memory_equal(buf, d, 4096);
	assert_true(vmie_is_zero(buf + 4096, 4096));
	assert_memory_equal(buf + 8192, d + 65536, 4096);

	/* a piece not covering the buffer: copied too */
	vmie_src_capture_begin(&c, buf, sizeof buf);
	assert_int_equal(vmie_src_pread(s, buf + 4096, 4096, 4096, &e), 0);
	memset(buf, 0, 4096);
	memset(buf + 8192, 0, 4096);
	r = vmie_src_capture_end(&c, &e);
	assert_ptr_equal(r, buf);
	assert_memory_equal(buf + 4096, d + 4096, 4096);

	/* reads outside the buffer are plain reads */
	uint8_t other[16];
	vmie_src_capture_begin(&c, buf, sizeof buf);
	assert_int_equal(vmie_src_pread(s, other, sizeof other, 100, &e), 0);
	assert_memory_equal(other, d + 100, sizeof other);
	vmie_src_capture_end(&c, &e);

	/* the file shrank: an error naming it, no SIGBUS */
	assert_int_equal(truncate(p, 4096), 0);
	vmie_src_capture_begin(&c, buf, sizeof buf);
	assert_int_equal(vmie_src_pread(s, buf, sizeof buf, 65536, &e),
			 VMIE_ECORRUPT);
	assert_non_null(strstr(e.msg, "shrank"));
	vmie_src_capture_end(&c, NULL);
	vmie_src_unref(s);
	free(d);
}

static void test_capture_pieces(void **state)
{
	(void)state;
	char p[128];
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_src_capture c;
	struct vmie_src_piece pc[2 * VMIE_CAPTURE_MAX + 1];
	size_t n;
	uint8_t *buf = malloc(4 * MiB);
	assert_non_null(buf);
	path_in(p, sizeof p, "pieces.raw");
	uint8_t *d = make_raw(p, DISK);
	assert_int_equal(vmie_src_open_file(p, &s, &e), 0);

	/* one read over data then the file's hole: a mapped piece, zeros */
	vmie_src_capture_begin(&c, buf, 4 * MiB);
	assert_int_equal(vmie_src_pread(s, buf, 4 * MiB, 4 * MiB, &e), 0);
	vmie_src_capture_end_pieces(&c, pc, &n);
	assert_int_equal(n, 2);
	assert_true(pc[0].at == 0 && pc[0].len == MiB);
	assert_non_null(pc[0].data);
	assert_true(pc[0].data < buf || pc[0].data >= buf + 4 * MiB);
	assert_memory_equal(pc[0].data, d + 4 * MiB, MiB);
	assert_true(pc[1].at == MiB && pc[1].len == 3 * MiB);
	assert_null(pc[1].data);

	/* the same through capture_end: copied, the hole as zeros */
	memset(buf, 0xee, 4 * MiB);
	vmie_src_capture_begin(&c, buf, 4 * MiB);
	assert_int_equal(vmie_src_pread(s, buf, 4 * MiB, 4 * MiB, &e), 0);
	assert_ptr_equal(vmie_src_capture_end(&c, &e), buf);
	assert_memory_equal(buf, d + 4 * MiB, 4 * MiB);

	/* file piece, the reader's own bytes, another file piece */
	vmie_src_capture_begin(&c, buf, 3 * 4096);
	assert_int_equal(vmie_src_pread(s, buf, 4096, 0, &e), 0);
	memset(buf + 4096, 0x5a, 4096);
	assert_int_equal(vmie_src_pread(s, buf + 8192, 4096, 65536, &e), 0);
	vmie_src_capture_end_pieces(&c, pc, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(pc[0].data, d, 4096);
	assert_ptr_equal(pc[1].data, buf + 4096);
	assert_true(pc[1].at == 4096 && pc[1].len == 4096);
	assert_true(pc[2].at == 8192 && pc[2].len == 4096);
	assert_memory_equal(pc[2].data, d + 65536, 4096);

	/* more pieces than recorded: read for real, one piece of buf */
	memset(buf, 0xee, 4 * MiB);
	vmie_src_capture_begin(&c, buf, (VMIE_CAPTURE_MAX + 8) * 512);
	for (size_t i = 0; i < VMIE_CAPTURE_MAX + 8; i++)
		assert_int_equal(vmie_src_pread(s, buf + i * 512, 512,
						i * 1024, &e), 0);
	vmie_src_capture_end_pieces(&c, pc, &n);
	assert_int_equal(n, 1);
	assert_ptr_equal(pc[0].data, buf);
	for (size_t i = 0; i < VMIE_CAPTURE_MAX + 8; i++)
		assert_memory_equal(buf + i * 512, d + i * 1024, 512);

	/* a read going back in buf stops recording too */
	vmie_src_capture_begin(&c, buf, 8192);
	assert_int_equal(vmie_src_pread(s, buf + 4096, 4096, 0, &e), 0);
	assert_int_equal(vmie_src_pread(s, buf, 4096, 8192, &e), 0);
	assert_ptr_equal(vmie_src_capture_end(&c, &e), buf);
	assert_memory_equal(buf + 4096, d, 4096);
	assert_memory_equal(buf, d + 8192, 4096);
	vmie_src_unref(s);
	free(d);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_parallel_exact_and_sparse),
		cmocka_unit_test(test_vhd_dynamic_deferred),
		cmocka_unit_test(test_vhd_fixed_any_order),
		cmocka_unit_test(test_vhdx_dynamic_deferred),
		cmocka_unit_test(test_qcow2_deferred),
		cmocka_unit_test(test_worker_write_error),
		cmocka_unit_test(test_cancel_leaves_nothing),
		cmocka_unit_test(test_source_shrinks),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_capture_pieces),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
