/* VMDK driver unit tests, all in memory: write stream-optimized and
 * monolithicSparse images through the convert engine, read them back, the
 * descriptor parser, writer options, and hostile headers and tables (each
 * must fail with a message naming the problem). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "image/image.h"
#include "image/vmdk/vmdk_int.h"

/* 5 MiB + 3 sectors: random, text-like, zeros, data in the odd tail */
#define DISK ((size_t)5 * 1024 * 1024 + 3 * 512)

static uint8_t *make_disk(void)
{
	uint8_t *d = calloc(1, DISK);
	uint32_t x = 12345;
	for (size_t i = 0; i < (1u << 20); i++) {      /* incompressible */
		x = x * 1103515245u + 12345u;
		d[i] = (uint8_t)(x >> 24);
	}
	for (size_t i = 1u << 20; i < (2u << 20); i++) /* text-like */
		d[i] = (uint8_t)("the quick brown fox "[i % 20] + (i >> 14) % 3);
	memset(d + (3u << 20) + 4096, 0x5a, 100000);   /* unaligned run */
	memcpy(d + DISK - 3, "END", 3);
	return d;
}

static struct vmie_image *open_raw(uint8_t *d, size_t len)
{
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_open_opts o = { .format = "raw" };
	assert_int_equal(vmie_src_open_mem(d, len, false, "raw", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, &o, &img, &e), 0);
	vmie_src_unref(s);
	return img;
}

/* Convert d to VMDK in memory; returns a malloc'd copy of the file. */
static uint8_t *to_vmdk(uint8_t *d, size_t len, const char *sub,
			const char *const *kv, size_t nkv, size_t *out_len,
			int expect, struct vmie_err *e)
{
	struct vmie_image *img = open_raw(d, len);
	struct vmie_sink *k;
	struct vmie_convert_opts co = { .format = "vmdk", .subformat = sub,
					.kv = kv, .n_kv = nkv, .threads = 2 };
	uint8_t *copy = NULL;
	assert_int_equal(vmie_sink_open_mem(&k, e), 0);
	int r = vmie_convert_to_sink(img, k, &co, NULL, e);
	assert_int_equal(r, expect);
	if (!r) {
		size_t n;
		const uint8_t *p = vmie_sink_mem_data(k, &n);
		copy = malloc(n);
		memcpy(copy, p, n);
		*out_len = n;
	}
	vmie_sink_free(k);
	vmie_image_close(img);
	return copy;
}

static int open_vmdk(uint8_t *f, size_t n, bool info_only,
		     struct vmie_image **img, struct vmie_err *e)
{
	struct vmie_src *s;
	struct vmie_open_opts o = { .info_only = info_only };
	assert_int_equal(vmie_src_open_mem(f, n, false, "mem.vmdk", &s, e), 0);
	int r = vmie_image_open_src(s, &o, img, e);
	vmie_src_unref(s);
	return r;
}

static const char *info_extra(const struct vmie_image_info *in, const char *k)
{
	for (unsigned i = 0; i < in->n_extra; i++)
		if (!strcmp(in->extra[i].key, k))
			return in->extra[i].val;
	return NULL;
}

static void roundtrip(const char *sub)
{
	struct vmie_err e = { 0 };
	uint8_t *d = make_disk();
	size_t n;
	uint8_t *f = to_vmdk(d, DISK, sub, NULL, 0, &n, 0, &e);
	struct vmie_image *img;
	assert_int_equal(open_vmdk(f, n, false, &img, &e), 0);
	assert_string_equal(img->drv->name, "vmdk");
	assert_string_equal(img->subformat, sub);
	assert_true(img->size == DISK);
	uint8_t *back = malloc(DISK);
	/* odd-sized reads across grain boundaries */
	for (size_t off = 0; off < DISK; ) {
		size_t len = 70001;
		if (len > DISK - off)
			len = DISK - off;
		assert_int_equal(vmie_image_pread(img, back + off, len, off, &e), 0);
		off += len;
	}
	assert_memory_equal(back, d, DISK);
	uint64_t pnum;
	unsigned st;
	assert_int_equal(vmie_image_block_status(img, 2u << 20, 1u << 20,
						 &pnum, &st, &e), 0);
	assert_true(st & VMIE_BS_ZERO);
	assert_true(pnum == 1u << 20);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	assert_int_equal(in.cluster_size, 65536);
	assert_string_equal(info_extra(&in, "adapter type"), "lsilogic");
	assert_string_equal(info_extra(&in, "hw version"), "4");
	assert_non_null(info_extra(&in, "long content id"));
	struct vmie_check_result cr;
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.corruptions == 0);
	assert_true(cr.tables_checked > 0);
	vmie_image_close(img);
	free(back);
	free(f);
	free(d);
}

static void test_stream_roundtrip(void **state)
{
	(void)state;
	roundtrip("streamOptimized");
}

static void test_sparse_roundtrip(void **state)
{
	(void)state;
	roundtrip("monolithicSparse");
}

static void test_stream_layout(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	uint8_t *d = make_disk();
	size_t n;
	uint8_t *f = to_vmdk(d, DISK, "streamOptimized", NULL, 0, &n, 0, &e);
	/* header: version 3, compressed + markers, GD at end */
	assert_int_equal(vmie_le32(f), VMDK_MAGIC);
	assert_int_equal(vmie_le32(f + 4), 3);
	assert_int_equal(vmie_le32(f + 8), 0x30001);
	assert_true(vmie_le64(f + 0x38) == UINT64_MAX);
	assert_int_equal(vmie_le16(f + 0x4d), 1);
	/* footer marker, footer, end-of-stream */
	assert_int_equal(n % 512, 0);
	assert_int_equal(vmie_le32(f + n - 1536 + 12), VMDK_MARKER_FOOTER);
	assert_int_equal(vmie_le32(f + n - 1024), VMDK_MAGIC);
	assert_true(vmie_le64(f + n - 1024 + 0x38) < n / 512);
	for (size_t i = n - 512; i < n; i++)
		assert_int_equal(f[i], 0);
	/* descriptor */
	assert_non_null(strstr((char *)f + 512, "createType=\"streamOptimized\""));
	/* VMware's SCSI geometry of a disk under 1 GiB: 64 heads x 32
	 * sectors (10243 sectors / 2048 = 5 cylinders); a stream extent is
	 * RDONLY; the longContentID ends with the CID */
	assert_non_null(strstr((char *)f + 512, "ddb.geometry.heads = \"64\""));
	assert_non_null(strstr((char *)f + 512, "ddb.geometry.sectors = \"32\""));
	assert_non_null(strstr((char *)f + 512,
			       "ddb.geometry.cylinders = \"5\""));
	assert_non_null(strstr((char *)f + 512, "\nRDONLY 10243 SPARSE \""));
	const char *cid = strstr((char *)f + 512, "\nCID=");
	const char *lcid = strstr((char *)f + 512, "ddb.longContentID = \"");
	assert_non_null(cid);
	assert_non_null(lcid);
	assert_memory_equal(cid + 5, lcid + 21 + 24, 8);
	/* the descriptor text ends inside descriptorSize with a NUL */
	assert_true(strlen((char *)f + 512) < vmie_le64(f + 0x24) * 512);
	/* zeros are not stored, random data is stored with little overhead */
	assert_true(n < 3u << 20);
	free(f);
	free(d);
}

static void test_options(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	uint8_t *d = make_disk();
	size_t n;
	const char *bad[] = { "nosuchkey=1" };
	to_vmdk(d, DISK, "streamOptimized", bad, 1, &n, VMIE_EINVAL, &e);
	assert_non_null(strstr(e.msg, "nosuchkey"));
	const char *bad2[] = { "adapter_type=scsi" };
	to_vmdk(d, DISK, "streamOptimized", bad2, 1, &n, VMIE_EINVAL, &e);
	assert_non_null(strstr(e.msg, "adapter_type"));
	const char *bad3[] = { "hwversion=x1" };
	to_vmdk(d, DISK, "streamOptimized", bad3, 1, &n, VMIE_EINVAL, &e);
	assert_non_null(strstr(e.msg, "hwversion"));
	const char *bad4[] = { "toolsversion=2147483648" };
	to_vmdk(d, DISK, "streamOptimized", bad4, 1, &n, VMIE_EINVAL, &e);
	assert_non_null(strstr(e.msg, "toolsversion"));
	const char *bad5[] = { "hwversion=0" };
	to_vmdk(d, DISK, "streamOptimized", bad5, 1, &n, VMIE_EINVAL, &e);
	assert_non_null(strstr(e.msg, "hwversion"));
	const char *tools[] = { "toolsversion=12352" };
	uint8_t *f = to_vmdk(d, DISK, "streamOptimized", tools, 1, &n, 0, &e);
	assert_non_null(strstr((char *)f + 512,
			       "ddb.toolsVersion = \"12352\"\n"));
	free(f);
	const char *notools[] = { "toolsversion=none" };
	f = to_vmdk(d, DISK, "streamOptimized", notools, 1, &n, 0, &e);
	assert_null(strstr((char *)f + 512, "ddb.toolsVersion"));
	assert_non_null(strstr((char *)f + 512, "ddb.uuid = \"60 00 C2 "));
	free(f);
	const char *good[] = { "adapter_type=ide", "hwversion=13" };
	f = to_vmdk(d, DISK, "monolithicSparse", good, 2, &n, 0, &e);
	assert_non_null(strstr((char *)f + 512, "ddb.adapterType = \"ide\""));
	assert_non_null(strstr((char *)f + 512, "ddb.virtualHWVersion = \"13\""));
	assert_non_null(strstr((char *)f + 512, "ddb.geometry.heads = \"16\""));
	assert_non_null(strstr((char *)f + 512, "ddb.geometry.sectors = \"63\""));
	assert_non_null(strstr((char *)f + 512, "\nRW 10243 SPARSE \""));
	free(f);
	free(d);
}

static void test_desc_parser(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmdk_desc d;
	const char *t =
		"# Disk DescriptorFile\r\n"
		"version=1\r\n"
		"CID=0000abcd\r\n"
		"parentCID=ffffffff\r\n"
		"createType=\"twoGbMaxExtentFlat\"\r\n"
		"RW 4096 FLAT \"a b-f001.vmdk\" 16\r\n"
		"RDONLY 100 ZERO\r\n"
		"NOACCESS 8 SPARSE \"c.vmdk\"\r\n"
		"ddb.adapterType = \"lsilogic\"\r\n";
	assert_int_equal(vmdk_desc_parse(&d, t, strlen(t), "t", &e), 0);
	assert_int_equal(d.n_extents, 3);
	assert_string_equal(d.extents[0].file, "a b-f001.vmdk");
	assert_true(d.extents[0].offset == 16);
	assert_int_equal(d.extents[1].type, VMDK_EXT_ZERO);
	assert_int_equal(d.extents[1].access, VMDK_RDONLY);
	assert_int_equal(d.extents[2].access, VMDK_NOACCESS);
	assert_true(d.cid == 0xabcd);
	assert_string_equal(d.create_type, "twoGbMaxExtentFlat");
	assert_string_equal(vmdk_desc_ddb(&d, "ddb.adapterType"), "lsilogic");
	vmdk_desc_free(&d);

	const char *bad[] = {
		"version=1\nRW 0 FLAT \"x\" 0\n",
		"version=1\nRW 10 BOGUS \"x\"\n",
		"version=1\nRW 10 SPARSE x.vmdk\n",
		"version=9\n",
		"CID=1\n",
		"version=1\nRW 99999999999999999999 FLAT \"x\"\n",
	};
	const char *want[] = { "extent size", "unknown extent type",
			       "not quoted", "version", "no 'version='",
			       "extent size" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(vmdk_desc_parse(&d, bad[i], strlen(bad[i]),
						 "t", &e), VMIE_ECORRUPT);
		if (!strstr(e.msg, want[i]))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, want[i]);
	}
}

/* A descriptor file in a memory source: refusals happen before any
 * extent is opened. */
static int open_desc(const char *text, bool info_only, struct vmie_err *e)
{
	struct vmie_image *img = NULL;
	int r = open_vmdk((uint8_t *)text, strlen(text), info_only, &img, e);
	if (!r)
		vmie_image_close(img);
	return r;
}

static void test_desc_refusals(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	const char *hdr = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n";
	char t[1024];

	snprintf(t, sizeof t, "%sparentCID=ffffffff\ncreateType=\"seSparse\"\n"
		 "RW 1048576 SESPARSE \"s.vmdk\"\n", hdr);
	assert_int_equal(open_desc(t, false, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-002");
	snprintf(t, sizeof t, "%sparentCID=ffffffff\ncreateType=\"vmfsSparse\"\n"
		 "RW 1048576 VMFSSPARSE \"s.vmdk\"\n", hdr);
	assert_int_equal(open_desc(t, false, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-002");
	snprintf(t, sizeof t, "%sparentCID=ffffffff\n"
		 "createType=\"vmfsPassthroughRawDeviceMap\"\n"
		 "RW 1048576 VMFSRDM \"r.vmdk\"\n", hdr);
	assert_int_equal(open_desc(t, false, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-003");
	snprintf(t, sizeof t, "%sparentCID=12345678\n"
		 "parentFileNameHint=\"base.vmdk\"\n"
		 "createType=\"monolithicFlat\"\nRW 100 FLAT \"x-flat.vmdk\" 0\n",
		 hdr);
	assert_int_equal(open_desc(t, false, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-004");
	assert_non_null(strstr(e.msg, "base.vmdk"));
	snprintf(t, sizeof t, "%sparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
		 "RW 100 FLAT \"../x\" 0\n", hdr);
	assert_int_equal(open_desc(t, false, &e), VMIE_EPERM);
	assert_non_null(strstr(e.msg, "../x"));
	snprintf(t, sizeof t, "%sparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
		 "RW 100 FLAT \"/etc/passwd\" 0\n", hdr);
	assert_int_equal(open_desc(t, false, &e), VMIE_EPERM);
	assert_non_null(strstr(e.msg, "/etc/passwd"));
	/* ZERO extents need no file: opens from memory */
	snprintf(t, sizeof t, "%sparentCID=ffffffff\ncreateType=\"custom\"\n"
		 "RW 100 ZERO\n", hdr);
	assert_int_equal(open_desc(t, false, &e), 0);
}

/* Patch the embedded descriptor of a monolithicSparse file. */
static void test_embedded_parent(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	uint8_t *d = make_disk();
	size_t n;
	uint8_t *f = to_vmdk(d, DISK, "monolithicSparse", NULL, 0, &n, 0, &e);
	char *p = strstr((char *)f + 512, "parentCID=ffffffff");
	assert_non_null(p);
	memcpy(p, "parentCID=0badcafe", 18);
	struct vmie_image *img;
	assert_int_equal(open_vmdk(f, n, false, &img, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-004");
	assert_int_equal(open_vmdk(f, n, true, &img, &e), 0);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	assert_non_null(strstr(in.parent, "0badcafe"));
	vmie_image_close(img);
	free(f);
	free(d);
}

static void expect_open_fail(uint8_t *f, size_t n, int code, const char *msg)
{
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	int r = open_vmdk(f, n, false, &img, &e);
	if (r != code || !strstr(e.msg, msg))
		fail_msg("open gave %d '%s', wanted %d '%s'", r, e.msg, code,
			 msg);
}

/* Read the whole disk; must fail with msg. */
static void expect_read_fail(uint8_t *f, size_t n, const char *msg)
{
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	assert_int_equal(open_vmdk(f, n, false, &img, &e), 0);
	uint8_t *b = malloc(img->size);
	int r = vmie_image_pread(img, b, img->size, 0, &e);
	if (!r || !strstr(e.msg, msg))
		fail_msg("read gave %d '%s', wanted '%s'", r, e.msg, msg);
	free(b);
	vmie_image_close(img);
}

static void test_hostile_sparse(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	uint8_t *d = make_disk();
	size_t n;
	uint8_t *f = to_vmdk(d, DISK, "monolithicSparse", NULL, 0, &n, 0, &e);
	uint8_t *m = malloc(n);
	uint64_t gd = vmie_le64(f + 0x38) * 512;
	uint32_t gt0 = vmie_le32(f + gd);

#define MUT(stmt, code, msg) do { memcpy(m, f, n); stmt; \
	expect_open_fail(m, n, code, msg); } while (0)
	MUT(vmie_put_le32(m + 0x2c, 1024), VMIE_ECORRUPT, "numGTEsPerGT");
	MUT(vmie_put_le64(m + 0x0c, UINT64_MAX / 2), VMIE_ECORRUPT, "capacity");
	MUT(vmie_put_le64(m + 0x14, 100), VMIE_ECORRUPT, "grain size");
	MUT(vmie_put_le64(m + 0x14, 1u << 20), VMIE_ECORRUPT, "grain size");
	MUT(vmie_put_le32(m + 4, 7), VMIE_EUNSUPP, "version 7");
	MUT(vmie_put_le64(m + 0x38, n / 512 + 10), VMIE_ECORRUPT,
	    "grain directory");
	MUT(vmie_put_le64(m + 0x24, 100000), VMIE_ECORRUPT, "descriptor");
	MUT(vmie_put_le32(m + gd, (uint32_t)(n / 512 + 1)), VMIE_ECORRUPT,
	    "points past the end");
	/* a grain directory entry pointing back at the directory (a loop) */
	MUT(vmie_put_le32(m + gd, (uint32_t)(gd / 512)), VMIE_ECORRUPT,
	    "inside the grain directory");
#undef MUT
	/* grain table entry past EOF: open works, the read names it */
	memcpy(m, f, n);
	vmie_put_le32(m + (uint64_t)gt0 * 512, (uint32_t)(n / 512 + 100));
	expect_read_fail(m, n, "points past the end");
	/* two table entries naming one grain: check() counts it */
	memcpy(m, f, n);
	vmie_put_le32(m + (uint64_t)gt0 * 512 + 4,
		      vmie_le32(m + (uint64_t)gt0 * 512));
	struct vmie_image *img;
	assert_int_equal(open_vmdk(m, n, false, &img, &e), 0);
	struct vmie_check_result cr;
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.corruptions > 0);
	vmie_image_close(img);
	/* truncated in the grains */
	expect_read_fail(f, n - 70000, "past the end");
	free(m);
	free(f);
	free(d);
}

static void test_hostile_stream(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	uint8_t *d = make_disk();
	size_t n;
	uint8_t *f = to_vmdk(d, DISK, "streamOptimized", NULL, 0, &n, 0, &e);
	uint8_t *m = malloc(n);

	/* cut in the middle of a grain, cut just before the footer */
	expect_open_fail(f, 300000, VMIE_ECORRUPT, "footer");
	expect_open_fail(f, n - 1536, VMIE_ECORRUPT, "footer");
	expect_open_fail(f, 1000, VMIE_ECORRUPT, "footer");
	/* first grain: bad LBA, absurd size, broken zlib */
	uint64_t g = vmie_le64(f + 0x40) * 512;
	memcpy(m, f, n);
	vmie_put_le64(m + g, 999);
	expect_read_fail(m, n, "marker for sector 999");
	memcpy(m, f, n);
	vmie_put_le32(m + g + 8, 0x7fffffff);
	expect_read_fail(m, n, "compressed size");
	memcpy(m, f, n);
	memset(m + g + 12 + 100, 0xff, 64);
	expect_read_fail(m, n, "does not inflate");
	/* footer names a grain directory past the end */
	memcpy(m, f, n);
	vmie_put_le64(m + n - 1024 + 0x38, n);
	expect_open_fail(m, n, VMIE_ECORRUPT, "grain directory");
	free(m);
	free(f);
	free(d);
}

static void test_big_sparse_stream(void **state)
{
	(void)state;
	/* 3 TiB virtual with a little data: fast because holes are skipped;
	 * a memory source cannot be 3 TiB, so go through the writer directly
	 * with a raw image whose reads are served by an overlay on a ZERO
	 * extent descriptor. */
	struct vmie_err e = { 0 };
	const char *t = "version=1\nCID=1\nparentCID=ffffffff\n"
			"createType=\"custom\"\nRW 6442450944 ZERO\n";
	struct vmie_image *base, *ov;
	assert_int_equal(open_vmdk((uint8_t *)t, strlen(t), false, &base, &e), 0);
	assert_true(base->size == (uint64_t)3 << 40);
	assert_int_equal(vmie_overlay_open(base, &ov, &e), 0);
	uint8_t blk[65536];
	memset(blk, 0xab, sizeof blk);
	uint64_t where[] = { 0, (uint64_t)1 << 40, ((uint64_t)3 << 40) - 65536,
			     ((uint64_t)2 << 40) + 12345 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(vmie_image_pwrite(ov, blk, sizeof blk - 1000,
						   where[i], &e), 0);
	struct vmie_sink *k;
	struct vmie_convert_opts co = { .format = "vmdk", .threads = 2 };
	assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
	assert_int_equal(vmie_convert_to_sink(ov, k, &co, NULL, &e), 0);
	size_t n;
	const uint8_t *p = vmie_sink_mem_data(k, &n);
	assert_true(n < (1u << 20));
	uint8_t *f = malloc(n);
	memcpy(f, p, n);
	vmie_sink_free(k);
	struct vmie_image *img;
	assert_int_equal(open_vmdk(f, n, false, &img, &e), 0);
	assert_true(img->size == (uint64_t)3 << 40);
	uint8_t a[70000], b[70000];
	for (size_t i = 0; i < 4; i++) {
		uint64_t at = where[i] > 2000 ? where[i] - 2000 : 0;
		size_t len = (size_t)(at + sizeof a > img->size ? img->size - at
							      : sizeof a);
		assert_int_equal(vmie_image_pread(ov, a, len, at, &e), 0);
		assert_int_equal(vmie_image_pread(img, b, len, at, &e), 0);
		assert_memory_equal(a, b, len);
	}
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	assert_true(in.allocated <= 8 * 65536);
	vmie_image_close(img);
	vmie_image_close(ov);
	vmie_image_close(base);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_roundtrip),
		cmocka_unit_test(test_sparse_roundtrip),
		cmocka_unit_test(test_stream_layout),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_desc_parser),
		cmocka_unit_test(test_desc_refusals),
		cmocka_unit_test(test_embedded_parent),
		cmocka_unit_test(test_hostile_sparse),
		cmocka_unit_test(test_hostile_stream),
		cmocka_unit_test(test_big_sparse_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
