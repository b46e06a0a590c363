/* qcow2 driver: writer round trips through memory (every compression and
 * cluster size, v2 and v3), the refcount check on what the writer made,
 * hostile headers and tables (clear errors, no crash), backing files,
 * compressed streams readable with a 4 KiB inflate window, and concurrent
 * pread through a small L2 cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/endian.h"
#include "image/image.h"
#include "image/qcow2/qcow2_int.h"

/* data, a long zero run, compressible text, a short odd tail */
#define DISK (3u * 1024 * 1024 + 512 * 7 + 5)

static uint8_t *make_disk(void)
{
	uint8_t *d = calloc(1, DISK);
	uint32_t x = 12345;
	for (size_t i = 0; i < (600u << 10); i++) {   /* random */
		x = x * 1103515245u + 12345u;
		d[i] = (uint8_t)(x >> 16);
	}
	for (size_t i = 2u << 20; i < (2u << 20) + (700u << 10); i++)
		d[i] = "compressible text! "[i % 19];
	memcpy(d + DISK - 5, "TAIL!", 5);
	return d;
}

/* Convert a memory disk to qcow2 with options kv; returns a malloc'd
 * copy of the file. */
static uint8_t *to_qcow2(const uint8_t *disk, size_t n, const char *sub,
			 const char *const *kv, size_t n_kv, size_t *out_len)
{
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_sink *k;
	struct vmie_open_opts oo = { .format = "raw" };
	assert_int_equal(vmie_src_open_mem(disk, n, false, "disk", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, &oo, &img, &e), 0);
	assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
	struct vmie_convert_opts o = { .format = "qcow2", .subformat = sub,
				       .kv = kv, .n_kv = n_kv, .threads = 3 };
	int r = vmie_convert_to_sink(img, k, &o, NULL, &e);
	if (r)
		fprintf(stderr, "convert: %s\n", e.msg);
	assert_int_equal(r, 0);
	size_t len;
	const uint8_t *p = vmie_sink_mem_data(k, &len);
	uint8_t *copy = malloc(len);
	memcpy(copy, p, len);
	*out_len = len;
	vmie_sink_free(k);
	vmie_image_close(img);
	vmie_src_unref(s);
	return copy;
}

/* Open a qcow2 held in memory (the buffer must outlive the image). */
static int open_mem(const uint8_t *buf, size_t len, bool info_only,
		    struct vmie_image **img, struct vmie_err *e)
{
	struct vmie_src *s;
	struct vmie_open_opts oo = { .info_only = info_only };
	assert_int_equal(vmie_src_open_mem(buf, len, false, "t.qcow2", &s, e), 0);
	int r = vmie_image_open_src(s, &oo, img, e);
	vmie_src_unref(s);
	return r;
}

/* The zero run 600 KiB..2 MiB holds whole clusters unless they are 2 MiB. */
static void roundtrip(const char *sub, const char *const *kv, size_t n_kv)
{
	bool big = false;
	for (size_t i = 0; i < n_kv; i++)
		big |= !strcmp(kv[i], "cluster_size=2M");
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	struct vmie_check_result cr;
	uint8_t *d = make_disk();
	size_t len;
	uint8_t *q = to_qcow2(d, DISK, sub, kv, n_kv, &len);
	assert_int_equal(open_mem(q, len, false, &img, &e), 0);
	assert_string_equal(img->drv->name, "qcow2");
	/* the size is rounded up to whole sectors, as qemu-img does */
	assert_true(img->size == ((DISK + 511) & ~511u));
	uint8_t *back = malloc(img->size);
	assert_int_equal(vmie_image_pread(img, back, img->size, 0, &e), 0);
	assert_memory_equal(back, d, DISK);
	for (size_t i = DISK; i < img->size; i++)
		assert_int_equal(back[i], 0);
	/* unaligned reads across cluster boundaries */
	assert_int_equal(vmie_image_pread(img, back, 70001, 2u << 20 | 333, &e), 0);
	assert_memory_equal(back, d + (2u << 20 | 333), 70001);
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	for (unsigned i = 0; i < cr.n_msgs; i++)
		fprintf(stderr, "check: %s\n", cr.msgs[i]);
	assert_true(cr.corruptions == 0);
	assert_true(cr.leaks == 0);
	assert_true(cr.tables_checked > 0);
	/* the zero run is a hole */
	uint64_t n;
	unsigned st;
	assert_int_equal(vmie_image_block_status(img, 1u << 20, DISK, &n, &st, &e), 0);
	assert_true(st == (big ? VMIE_BS_DATA : VMIE_BS_ZERO | VMIE_BS_HOLE));
	assert_true(n >= (512u << 10));
	assert_int_equal(vmie_image_block_status(img, 0, DISK, &n, &st, &e), 0);
	assert_true(st == VMIE_BS_DATA);
	vmie_image_close(img);
	free(back);
	free(q);
	free(d);
}

static void test_roundtrip_plain(void **state)
{
	(void)state;
	roundtrip(NULL, NULL, 0);
	roundtrip("v2", NULL, 0);
	const char *c512[] = { "cluster_size=512" };
	roundtrip(NULL, c512, 1);
	const char *c4k[] = { "cluster_size=4K" };
	roundtrip("v2", c4k, 1);
	const char *c2m[] = { "cluster_size=2M" };
	roundtrip(NULL, c2m, 1);
}

static void test_roundtrip_compressed(void **state)
{
	(void)state;
	const char *z[] = { "compression=zlib" };
	roundtrip(NULL, z, 1);
	roundtrip("v2", z, 1);
	const char *zs[] = { "compression=zstd" };
	roundtrip(NULL, zs, 1);
	const char *z512[] = { "compression=zlib", "cluster_size=512" };
	roundtrip(NULL, z512, 2);
	const char *zs2m[] = { "compression=zstd", "cluster_size=2M" };
	roundtrip(NULL, zs2m, 2);
	const char *z16k[] = { "compression=zlib", "cluster_size=16K" };
	roundtrip(NULL, z16k, 2);
}

static void test_writer_options(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_sink *k;
	static const uint8_t one[4096] = { 1 };
	struct vmie_open_opts oo = { .format = "raw" };
	assert_int_equal(vmie_src_open_mem(one, sizeof one, false, "d", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, &oo, &img, &e), 0);
	const char *bad[][1] = { { "bogus=1" }, { "cluster_size=3000" },
				 { "cluster_size=4M" }, { "compression=lzma" },
				 { "compat=2.0" } };
	const char *names[] = { "bogus", "cluster_size", "cluster_size",
				"compression", "compat" };
	for (size_t i = 0; i < 5; i++) {
		struct vmie_convert_opts o = { .format = "qcow2", .kv = bad[i],
					       .n_kv = 1, .threads = 1 };
		assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
		assert_int_equal(vmie_convert_to_sink(img, k, &o, NULL, &e),
				 VMIE_EINVAL);
		assert_non_null(strstr(e.msg, names[i]));
		vmie_sink_free(k);
	}
	/* zstd needs v3 */
	const char *zs[] = { "compression=zstd" };
	struct vmie_convert_opts o = { .format = "qcow2", .subformat = "v2",
				       .kv = zs, .n_kv = 1, .threads = 1 };
	assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
	assert_int_equal(vmie_convert_to_sink(img, k, &o, NULL, &e), VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "zstd"));
	vmie_sink_free(k);
	vmie_image_close(img);
	vmie_src_unref(s);
}

/* ---- hostile inputs: mutate a valid image ---- */

struct fixture {
	uint8_t *q;
	size_t len;
	uint64_t l1_off, l2_off;
	uint32_t cs;
};

static void make_fixture(struct fixture *f, bool compressed)
{
	uint8_t *d = make_disk();
	const char *z[] = { "compression=zlib" };
	f->q = to_qcow2(d, DISK, NULL, z, compressed ? 1 : 0, &f->len);
	free(d);
	f->cs = 1u << vmie_be32(f->q + 0x14);
	f->l1_off = vmie_be64(f->q + 0x28);
	f->l2_off = vmie_be64(f->q + f->l1_off) & QCOW2_L1E_OFFSET_MASK;
	assert_true(f->l2_off > 0);
}

/* Open must fail with code and a message containing want. */
static void expect_open_fail(const uint8_t *q, size_t len, int code,
			     const char *want)
{
	struct vmie_err e = { 0 };
	struct vmie_image *img = NULL;
	int r = open_mem(q, len, false, &img, &e);
	if (r != code || !strstr(e.msg, want))
		fprintf(stderr, "got %d '%s', want %d '%s'\n", r, e.msg, code,
			want);
	assert_int_equal(r, code);
	assert_non_null(strstr(e.msg, want));
}

/* Open succeeds but reading everything fails naming want; check finds
 * corruptions too unless the damage is inside data (check walks tables). */
static void expect_read_fail_ex(const uint8_t *q, size_t len, const char *want,
				bool in_tables)
{
	struct vmie_err e = { 0 };
	struct vmie_image *img = NULL;
	assert_int_equal(open_mem(q, len, false, &img, &e), 0);
	uint8_t *buf = malloc(img->size);
	int r = vmie_image_pread(img, buf, img->size, 0, &e);
	if (!r || !strstr(e.msg, want))
		fprintf(stderr, "got %d '%s', want '%s'\n", r, e.msg, want);
	assert_int_equal(r, VMIE_ECORRUPT);
	assert_string_equal(e.rule, "FMT-005");
	assert_non_null(strstr(e.msg, want));
	struct vmie_check_result cr;
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	if (in_tables)
		assert_true(cr.corruptions > 0);
	free(buf);
	vmie_image_close(img);
}

static void expect_read_fail(const uint8_t *q, size_t len, const char *want)
{
	expect_read_fail_ex(q, len, want, true);
}

static void test_hostile_header(void **state)
{
	(void)state;
	struct fixture f;
	make_fixture(&f, false);
	uint8_t *m = malloc(f.len);

	/* truncated: header cut, then the L1 table cut off */
	expect_open_fail(f.q, 50, VMIE_ECORRUPT, "too short");
	expect_open_fail(f.q, 100, VMIE_ECORRUPT, "too short");
	expect_open_fail(f.q, f.l1_off + 4, VMIE_ECORRUPT, "L1 table");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x14, 40);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "cluster_bits 40");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x24, 0x7fffffff);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "L1 table of 2147483647");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x24, 0);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "needs 1");

	memcpy(m, f.q, f.len);
	vmie_put_be64(m + 0x28, (uint64_t)f.len + f.cs * 4);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "past the end");

	memcpy(m, f.q, f.len);
	vmie_put_be64(m + 0x48, 1ull << 17);
	expect_open_fail(m, f.len, VMIE_EUNSUPP, "incompatible feature bit 17");

	memcpy(m, f.q, f.len);
	vmie_put_be64(m + 0x48, QCOW2_INCOMPAT_CORRUPT);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "marked corrupt");

	memcpy(m, f.q, f.len);
	vmie_put_be64(m + 0x48, QCOW2_INCOMPAT_DATA_FILE);
	expect_open_fail(m, f.len, VMIE_EUNSUPP, "external data file");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x20, 2);
	expect_open_fail(m, f.len, VMIE_EUNSUPP, "LUKS");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x04, 4);
	expect_open_fail(m, f.len, VMIE_EUNSUPP, "version 4");

	memcpy(m, f.q, f.len);
	vmie_put_be64(m + 0x18, 1ull << 62);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "virtual size");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x38, 1u << 20);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "refcount table");

	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 0x3c, 2000);
	vmie_put_be64(m + 0x40, f.len - f.cs);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "snapshot");

	/* a header extension that runs past the first cluster */
	memcpy(m, f.q, f.len);
	vmie_put_be32(m + 112, 0x12345678);
	vmie_put_be32(m + 116, f.cs);
	expect_open_fail(m, f.len, VMIE_ECORRUPT, "header extension");

	/* a dirty image is read (refcounts are not needed to read) */
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	memcpy(m, f.q, f.len);
	vmie_put_be64(m + 0x48, QCOW2_INCOMPAT_DIRTY);
	assert_int_equal(open_mem(m, f.len, false, &img, &e), 0);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	bool seen = false;
	for (unsigned i = 0; i < in.n_extra; i++)
		seen |= !strcmp(in.extra[i].key, "dirty");
	assert_true(seen);
	vmie_image_close(img);
	free(m);
	free(f.q);
}

static void test_hostile_tables(void **state)
{
	(void)state;
	struct fixture f;
	make_fixture(&f, false);
	uint8_t *m = malloc(f.len);

	/* L1 entry pointing past the end of the file */
	memcpy(m, f.q, f.len);
	vmie_put_be64(m + f.l1_off, ((uint64_t)f.len + 8 * f.cs) |
		      QCOW2_OFLAG_COPIED);
	expect_read_fail(m, f.len, "L1 entry 0: L2 table at");

	/* L1 entry not aligned */
	memcpy(m, f.q, f.len);
	vmie_put_be64(m + f.l1_off, f.l2_off + 512);
	expect_read_fail(m, f.len, "not cluster-aligned");

	/* L2 entry past the end of the file */
	memcpy(m, f.q, f.len);
	vmie_put_be64(m + f.l2_off + 8, ((uint64_t)f.len + 16 * f.cs) |
		      QCOW2_OFLAG_COPIED);
	expect_read_fail(m, f.len, "guest cluster 1 (L1 entry 0, L2 entry 1)");

	/* compressed entry past the end of the file */
	memcpy(m, f.q, f.len);
	vmie_put_be64(m + f.l2_off + 8, QCOW2_OFLAG_COMPRESSED |
		      ((uint64_t)f.len + 100));
	expect_read_fail(m, f.len, "compressed data at");
	free(m);
	free(f.q);

	/* garbage inside a compressed cluster */
	make_fixture(&f, true);
	m = malloc(f.len);
	memcpy(m, f.q, f.len);
	uint64_t e0 = 0;
	size_t i;
	for (i = 0; i < (1u << 13); i++) {
		e0 = vmie_be64(m + f.l2_off + i * 8);
		if (e0 & QCOW2_OFLAG_COMPRESSED)
			break;
	}
	assert_true(e0 & QCOW2_OFLAG_COMPRESSED);
	uint64_t coff = e0 & ((1ull << qcow2_csize_shift(16)) - 1);
	memset(m + coff, 0xff, 64);
	expect_read_fail_ex(m, f.len, "does not decompress", false);
	free(m);
	free(f.q);
}

static void test_backing_file(void **state)
{
	(void)state;
	struct fixture f;
	make_fixture(&f, false);
	/* put a backing file name in cluster 0 after the header */
	memcpy(f.q + 512, "base.qcow2", 10);
	vmie_put_be64(f.q + 0x08, 512);
	vmie_put_be32(f.q + 0x10, 10);
	expect_open_fail(f.q, f.len, VMIE_EUNSUPP, "backing file 'base.qcow2'");
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	assert_int_equal(open_mem(f.q, f.len, false, &img, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-004");
	assert_int_equal(open_mem(f.q, f.len, true, &img, &e), 0);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	assert_string_equal(in.parent, "base.qcow2");
	vmie_image_close(img);
	/* a name longer than the cluster allows */
	vmie_put_be32(f.q + 0x10, f.cs);
	expect_open_fail(f.q, f.len, VMIE_ECORRUPT, "backing file name");
	free(f.q);
}

/* The zlib streams the writer makes must inflate with a 4 KiB window even
 * when inflate has to keep its own window (small output steps). */
static void test_deflate_window(void **state)
{
	(void)state;
	enum { CS = 65536 };
	uint8_t *in = malloc(CS), *out = malloc(CS), *back = malloc(CS);
	uint32_t x = 7;
	for (size_t i = 0; i < 8192; i++) {
		x = x * 1103515245u + 12345u;
		in[i] = (uint8_t)(x >> 24) & 0x0f;   /* low entropy */
	}
	for (size_t i = 8192; i < CS; i++)
		in[i] = in[i - 8192];            /* repeats 8 KiB back */
	struct qcow2_cctx *c = qcow2_cctx_new(QCOW2_COMPRESS_ZLIB);
	assert_non_null(c);
	size_t n = qcow2_compress(c, in, CS, out, CS - 1);
	assert_true(n > 0 && n < CS);
	qcow2_cctx_free(c);
	z_stream z = { 0 };
	assert_int_equal(inflateInit2(&z, -12), Z_OK);
	z.next_in = out;
	z.avail_in = (uInt)n;
	int r = Z_OK;
	for (size_t done = 0; done < CS && r == Z_OK; done += 100) {
		z.next_out = back + done;
		z.avail_out = (uInt)(CS - done < 100 ? CS - done : 100);
		r = inflate(&z, Z_NO_FLUSH);
	}
	assert_true(r == Z_OK || r == Z_STREAM_END);
	assert_true(z.total_out == CS);
	inflateEnd(&z);
	assert_memory_equal(in, back, CS);
	/* and our reader agrees, with trailing garbage after the stream */
	const char *why;
	memset(out + n, 0xa5, 100);
	assert_int_equal(qcow2_decompress(QCOW2_COMPRESS_ZLIB, out, n + 100,
					  back, CS, &why), 0);
	assert_memory_equal(in, back, CS);
	/* truncated stream: an error, not a crash */
	assert_int_equal(qcow2_decompress(QCOW2_COMPRESS_ZLIB, out, n / 2,
					  back, CS, &why), -1);
	assert_int_equal(qcow2_decompress(QCOW2_COMPRESS_ZSTD, out, n,
					  back, CS, &why), -1);
	free(in);
	free(out);
	free(back);
}

/* ---- concurrent reads through a cache smaller than the L2 set ---- */

#define MT_DISK (40u << 20)    /* 512-byte clusters: 1280 L2 tables */

struct mt_arg {
	struct vmie_image *img;
	unsigned seed;
	int bad;
};

static uint8_t mt_byte(uint64_t off)
{
	return (uint8_t)(off * 2654435761u >> 13) | 1;
}

static void *mt_reader(void *p)
{
	struct mt_arg *a = p;
	struct vmie_err e = { 0 };
	uint8_t buf[3000];
	for (int i = 0; i < 3000; i++) {
		a->seed = a->seed * 1103515245u + 12345u;
		uint64_t off = (a->seed >> 3) % (MT_DISK - sizeof buf);
		if (vmie_image_pread(a->img, buf, sizeof buf, off, &e)) {
			a->bad++;
			continue;
		}
		for (size_t j = 0; j < sizeof buf; j++)
			if (buf[j] != mt_byte(off + j)) {
				a->bad++;
				break;
			}
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	uint8_t *d = malloc(MT_DISK);
	for (uint64_t i = 0; i < MT_DISK; i++)
		d[i] = mt_byte(i);
	const char *kv[] = { "cluster_size=512" };
	size_t len;
	uint8_t *q = to_qcow2(d, MT_DISK, NULL, kv, 1, &len);
	free(d);
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	assert_int_equal(open_mem(q, len, false, &img, &e), 0);
	pthread_t t[4];
	struct mt_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct mt_arg){ .img = img, .seed = 77u + (unsigned)i };
		pthread_create(&t[i], NULL, mt_reader, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	vmie_image_close(img);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_plain),
		cmocka_unit_test(test_roundtrip_compressed),
		cmocka_unit_test(test_writer_options),
		cmocka_unit_test(test_hostile_header),
		cmocka_unit_test(test_hostile_tables),
		cmocka_unit_test(test_backing_file),
		cmocka_unit_test(test_deflate_window),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
