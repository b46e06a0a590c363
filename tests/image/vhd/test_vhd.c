/* VHD and VHDX drivers, in memory: writer round trips (both subformats,
 * sizes that are not a multiple of the block), writer option errors,
 * hostile images built by patching good ones (checksums, truncation, BAT
 * entries past the end, overlapping blocks, absurd sizes, region tables,
 * metadata), VHDX log replay (several entries, overlapping writes, wrap
 * around the circular log, torn entries, refusal when replay is off), and
 * concurrent reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "core/util.h"
#include "image/image.h"
#include "image/vhd/vhd_disk.h"
#include "image/vhd/vhdx_disk.h"

#define MiB (1u << 20)

struct blob {
	uint8_t *p;
	size_t n;
};

/* A disk with data in some blocks, zero runs and a non-zero tail. */
static uint8_t *mkdisk(size_t size)
{
	uint8_t *d = calloc(1, size);
	uint32_t x = 12345;
	for (size_t i = 0; i < size && i < 3 * MiB; i++) {
		x = x * 1103515245u + 12345u;
		d[i] = (uint8_t)(x >> 16);
	}
	if (size >= 4 * MiB)
		memset(d + 3 * MiB, 0, MiB);   /* an explicit zero run */
	if (size > 9 * MiB)
		memset(d + 9 * MiB + 4096, 0x5a, 70000);
	memcpy(d + size - 5, "tail!", 5);
	return d;
}

static int open_mem(const uint8_t *p, size_t n, const char *fmt,
		    const struct vmie_open_opts *oo, struct vmie_image **img,
		    struct vmie_err *e)
{
	struct vmie_src *s;
	struct vmie_open_opts o = { 0 };
	if (oo)
		o = *oo;
	o.format = fmt;
	int r = vmie_src_open_mem(p, n, false, "mem", &s, e);
	if (r)
		return r;
	r = vmie_image_open_src(s, &o, img, e);
	vmie_src_unref(s);
	return r;
}

/* Write disk d (size bytes) as fmt/sub with options kv. */
static int write_img(const uint8_t *d, size_t size, const char *fmt,
		     const char *sub, const char **kv, size_t n_kv,
		     struct blob *out, struct vmie_err *e)
{
	struct vmie_image *raw;
	struct vmie_sink *k;
	int r = open_mem(d, size, "raw", NULL, &raw, e);
	if (r)
		return r;
	r = vmie_sink_open_mem(&k, e);
	if (r) {
		vmie_image_close(raw);
		return r;
	}
	struct vmie_convert_opts o = { .format = fmt, .subformat = sub,
				       .kv = kv, .n_kv = n_kv, .threads = 2 };
	r = vmie_convert_to_sink(raw, k, &o, NULL, e);
	if (!r) {
		size_t n;
		const uint8_t *p = vmie_sink_mem_data(k, &n);
		out->p = malloc(n);
		memcpy(out->p, p, n);
		out->n = n;
	}
	vmie_sink_free(k);
	vmie_image_close(raw);
	return r;
}

static void assert_reads(struct vmie_image *img, const uint8_t *d,
			 size_t size)
{
	struct vmie_err e = { 0 };
	uint8_t *b = malloc(size);
	assert_true(img->size == size);
	assert_int_equal(vmie_image_pread(img, b, size, 0, &e), 0);
	assert_memory_equal(b, d, size);
	free(b);
}

static void roundtrip(const char *fmt, const char *sub, size_t size,
		      const char **kv, size_t n_kv, bool sparse)
{
	struct vmie_err e = { 0 };
	struct blob b;
	struct vmie_image *img;
	uint8_t *d = mkdisk(size);
	assert_int_equal(write_img(d, size, fmt, sub, kv, n_kv, &b, &e), 0);
	/* probed, not forced */
	assert_int_equal(open_mem(b.p, b.n, NULL, NULL, &img, &e), 0);
	assert_string_equal(img->drv->name, fmt);
	assert_string_equal(img->subformat, sub);
	assert_reads(img, d, size);
	struct vmie_check_result cr;
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.corruptions == 0 && cr.leaks == 0);
	/* zero blocks were not stored */
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	if (sparse)
		assert_true(in.allocated < size);
	else
		assert_true(in.allocated == size);
	uint64_t pnum;
	unsigned st;
	assert_int_equal(vmie_image_block_status(img, 0, size, &pnum, &st,
						 &e), 0);
	assert_true(st & VMIE_BS_DATA);
	vmie_image_close(img);
	free(b.p);
	free(d);
}

static void test_vhd_roundtrip(void **state)
{
	(void)state;
	roundtrip("vhd", "dynamic", 11 * MiB + 512 * 3, NULL, 0, true);
	roundtrip("vhd", "fixed", 11 * MiB + 512 * 3, NULL, 0, false);
	roundtrip("vhd", "dynamic", 4 * MiB, NULL, 0, false);
}

static void test_vhdx_roundtrip(void **state)
{
	(void)state;
	const char *bs[] = { "block_size=1M" };
	const char *l4k[] = { "logical_sector_size=4096", "block_size=2M" };
	roundtrip("vhdx", "dynamic", 11 * MiB + 512 * 3, NULL, 0, false);
	roundtrip("vhdx", "fixed", 11 * MiB + 512 * 3, NULL, 0, false);
	roundtrip("vhdx", "dynamic", 11 * MiB + 512 * 3, bs, 1, true);
	roundtrip("vhdx", "fixed", 12 * MiB, l4k, 2, false);
}

/* The exact size survives, and the geometry is the specification's. */
static void test_vhd_exact_size(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct blob b;
	size_t size = 5 * MiB + 512;    /* not a CHS product */
	uint8_t *d = mkdisk(size);
	struct vhd_footer_disk f;
	assert_int_equal(write_img(d, size, "vhd", "dynamic", NULL, 0, &b, &e),
			 0);
	vhd_footer_decode(&f, b.p + b.n - 512);
	assert_true(f.current_size == size && f.original_size == size);
	assert_memory_equal(f.creator_app, "qem2", 4);
	assert_true((uint64_t)f.cylinders * f.heads * f.sectors * 512 < size);
	/* the copy at 0 is the same footer */
	assert_memory_equal(b.p, b.p + b.n - 512, 512);
	struct vhd_dyn_header_disk h;
	vhd_dyn_decode(&h, b.p + 512);
	assert_true(h.data_offset == UINT64_MAX);
	assert_true(h.block_size == 2 * MiB);
	free(b.p);
	free(d);

	/* the geometry algorithm, checked against the specification's
	 * examples: 4 GiB and a 127 GiB Hyper-V disk */
	uint16_t c;
	uint8_t hh, s;
	vhd_geometry(4294967296ull / 512, &c, &hh, &s);
	assert_true(c == 8322 && hh == 16 && s == 63);
	vhd_geometry(136365211648ull / 512, &c, &hh, &s);
	assert_true(c == 65278 && hh == 16 && s == 255);
}

static void test_writer_options(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct blob b;
	size_t size = 3 * MiB + 4096;
	uint8_t *d = mkdisk(size);
	const char *on[] = { "azure=on" }, *rnd[] = { "azure=round" };
	const char *bad[] = { "bogus=1" }, *bs3[] = { "block_size=3M" };

	assert_int_equal(write_img(d, size, "vhd", "fixed", on, 1, &b, &e),
			 VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "whole number of MiB"));
	assert_non_null(strstr(e.msg, "azure=round"));
	assert_int_equal(write_img(d, size, "vhd", "dynamic", on, 1, &b, &e),
			 VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "fixed"));
	assert_int_equal(write_img(d, size, "vhd", "dynamic", bad, 1, &b, &e),
			 VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "bogus"));
	assert_int_equal(write_img(d, size, "vhdx", "dynamic", bs3, 1, &b, &e),
			 VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "power of two"));
	/* azure=round pads to 4 MiB, on request only */
	assert_int_equal(write_img(d, size, "vhd", "fixed", rnd, 1, &b, &e), 0);
	assert_int_equal(b.n, 4 * MiB + 512);
	struct vmie_image *img;
	assert_int_equal(open_mem(b.p, b.n, NULL, NULL, &img, &e), 0);
	assert_true(img->size == 4 * MiB);
	uint8_t *z = malloc(4 * MiB);
	assert_int_equal(vmie_image_pread(img, z, 4 * MiB, 0, &e), 0);
	assert_memory_equal(z, d, size);
	assert_true(vmie_is_zero(z + size, 4 * MiB - size));
	free(z);
	vmie_image_close(img);
	free(b.p);
	/* a size that is not whole sectors is refused, not rounded */
	assert_int_equal(write_img(d, size - 100, "vhd", "dynamic", NULL, 0,
				   &b, &e), VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "multiple of 512"));
	assert_int_equal(write_img(d, size - 100, "vhdx", "dynamic", NULL, 0,
				   &b, &e), VMIE_EINVAL);
	free(d);
}

/* ---- hostile VHDs ---- */

static void vhd_fix_footer(uint8_t *f)
{
	vmie_put_be32(f + 0x40, vhd_checksum(f, 512, 0x40));
}

static void vhd_fix_dyn(uint8_t *h)
{
	vmie_put_be32(h + 0x24, vhd_checksum(h, 1024, 0x24));
}

static struct blob good_vhd(const char *sub, uint8_t **disk, size_t *size)
{
	struct vmie_err e = { 0 };
	struct blob b;
	*size = 11 * MiB;
	*disk = mkdisk(*size);
	assert_int_equal(write_img(*disk, *size, "vhd", sub, NULL, 0, &b, &e),
			 0);
	return b;
}

static void expect_open_fail(const uint8_t *p, size_t n, const char *fmt,
			     int code, const char *msg)
{
	struct vmie_err e = { 0 };
	struct vmie_image *img = NULL;
	int r = open_mem(p, n, fmt, NULL, &img, &e);
	if (r != code || !strstr(e.msg, msg))
		fail_msg("expected %d /%s/, got %d: %s", code, msg, r, e.msg);
	if (code == VMIE_ECORRUPT)
		assert_string_equal(e.rule, "FMT-005");
}

static void test_vhd_hostile(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	uint8_t *d;
	size_t size;
	struct blob b = good_vhd("dynamic", &d, &size);
	uint8_t *c = malloc(b.n);
	uint32_t bat0;

	/* both footers with a bad checksum: refused, naming both values */
	memcpy(c, b.p, b.n);
	c[b.n - 512 + 0x30] ^= 1;
	c[0x30] ^= 1;
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT, "bad checksum: stored");
	/* only the trailing one bad: the copy at 0 is used, with a warning */
	memcpy(c, b.p, b.n);
	c[b.n - 512 + 0x50] ^= 1;
	assert_int_equal(open_mem(c, b.n, NULL, NULL, &img, &e), 0);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	bool warned = false;
	for (unsigned i = 0; i < in.n_extra; i++)
		warned |= !strcmp(in.extra[i].key, "warning") &&
			  strstr(in.extra[i].val, "bad checksum");
	assert_true(warned);
	assert_reads(img, d, size);
	vmie_image_close(img);

	/* dynamic header checksum */
	memcpy(c, b.p, b.n);
	c[512 + 0x20] ^= 0x10;
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT,
			 "dynamic header at offset 0x200 has a bad checksum");
	/* block size not a power of two (checksum fixed) */
	memcpy(c, b.p, b.n);
	vmie_put_be32(c + 512 + 0x20, 3 * MiB);
	vhd_fix_dyn(c + 512);
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT, "not a power of two");
	/* truncated in the middle of the data: the last block is past EOF */
	expect_open_fail(b.p, b.n - 3 * MiB, "vhd", VMIE_ECORRUPT,
			 "points past end of file");
	/* truncated to less than a footer */
	expect_open_fail(b.p, 100, "vhd", VMIE_EFORMAT, "too small");
	/* BAT entry far past the end */
	memcpy(c, b.p, b.n);
	vmie_put_be32(c + 1536 + 4, 0x7fffffff);
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT,
			 "BAT entry 1 points past end of file");
	/* BAT table offset past the end */
	memcpy(c, b.p, b.n);
	vmie_put_be64(c + 512 + 0x10, (uint64_t)1 << 40);
	vhd_fix_dyn(c + 512);
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT, "does not fit");
	/* absurd size in both footers */
	memcpy(c, b.p, b.n);
	for (int k = 0; k < 2; k++) {
		uint8_t *f = k ? c + b.n - 512 : c;
		vmie_put_be64(f + 0x30, (uint64_t)1 << 62);
		vhd_fix_footer(f);
	}
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT, "absurd");
	/* a size the BAT cannot cover */
	memcpy(c, b.p, b.n);
	for (int k = 0; k < 2; k++) {
		uint8_t *f = k ? c + b.n - 512 : c;
		vmie_put_be64(f + 0x30, (uint64_t)1 << 40);
		vhd_fix_footer(f);
	}
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT, "BAT has 6 entries");
	/* overlapping blocks: opens (reads stay inside the file), check
	 * reports the corruption */
	memcpy(c, b.p, b.n);
	bat0 = vmie_be32(c + 1536);
	vmie_put_be32(c + 1536 + 4, bat0 + 8);
	assert_int_equal(open_mem(c, b.n, "vhd", NULL, &img, &e), 0);
	struct vmie_check_result cr;
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.corruptions >= 1);
	assert_non_null(strstr(cr.msgs[0], "overlaps"));
	vmie_image_close(img);
	/* differencing: refused with FMT-004 unless info only */
	memcpy(c, b.p, b.n);
	for (int k = 0; k < 2; k++) {
		uint8_t *f = k ? c + b.n - 512 : c;
		vmie_put_be32(f + 0x3c, 4);
		vhd_fix_footer(f);
	}
	c[512 + 0x40 + 1] = 'P';
	vhd_fix_dyn(c + 512);
	assert_int_equal(open_mem(c, b.n, "vhd", NULL, &img, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-004");
	assert_non_null(strstr(e.msg, "\"P\""));
	struct vmie_open_opts io = { .info_only = true };
	assert_int_equal(open_mem(c, b.n, "vhd", &io, &img, &e), 0);
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	assert_string_equal(in.parent, "P");
	vmie_image_close(img);
	/* unknown disk type */
	memcpy(c, b.p, b.n);
	for (int k = 0; k < 2; k++) {
		uint8_t *f = k ? c + b.n - 512 : c;
		vmie_put_be32(f + 0x3c, 9);
		vhd_fix_footer(f);
	}
	expect_open_fail(c, b.n, "vhd", VMIE_ECORRUPT, "unknown disk type 9");
	free(c);
	free(b.p);
	free(d);

	/* fixed: truncated data */
	b = good_vhd("fixed", &d, &size);
	c = malloc(b.n);
	memcpy(c, b.p + MiB, b.n - MiB);
	expect_open_fail(c, b.n - MiB, "vhd", VMIE_ECORRUPT,
			 "only 10485760 bytes of data");
	/* no footer at all: with -f vhd, a clear refusal; probing says raw */
	expect_open_fail(b.p, b.n - 1000, "vhd", VMIE_EFORMAT, "conectix");
	assert_int_equal(open_mem(b.p, b.n - 1000, NULL, NULL, &img, &e), 0);
	assert_string_equal(img->drv->name, "raw");
	vmie_image_close(img);
	free(c);
	free(b.p);
	free(d);
}

/* ---- hostile VHDXs ---- */

static struct blob good_vhdx(const char *sub, uint8_t **disk, size_t *size)
{
	struct vmie_err e = { 0 };
	struct blob b;
	const char *kv[] = { "block_size=1M" };
	*size = 11 * MiB;
	*disk = mkdisk(*size);
	assert_int_equal(write_img(*disk, *size, "vhdx", sub, kv, 1, &b, &e),
			 0);
	return b;
}

static void vhdx_fix_header(uint8_t *h)
{
	vmie_put_le32(h + 4, vhdx_crc(h, VHDX_HEADER_SIZE, 4));
}

static void vhdx_fix_region(uint8_t *r)
{
	vmie_put_le32(r + 4, vhdx_crc(r, VHDX_REGION_SIZE, 4));
}

#define META (2 * MiB)
#define BAT  (3 * MiB)

static void test_vhdx_hostile(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	struct vmie_check_result cr;
	uint8_t *d;
	size_t size;
	struct blob b = good_vhdx("dynamic", &d, &size);
	uint8_t *c = malloc(b.n);
	uint8_t *h1 = c + VHDX_HEADER1_OFF, *h2 = c + VHDX_HEADER2_OFF;
	uint8_t *r1 = c + VHDX_REGION1_OFF, *r2 = c + VHDX_REGION2_OFF;

	/* truncated header section */
	expect_open_fail(b.p, 200000, "vhdx", VMIE_ECORRUPT, "too small");
	/* truncated data: the last blocks point past the end */
	expect_open_fail(b.p, b.n - 2 * MiB, "vhdx", VMIE_ECORRUPT,
			 "points past end of file");
	/* one bad header: the other one is used */
	memcpy(c, b.p, b.n);
	h2[0x50] ^= 1;
	assert_int_equal(open_mem(c, b.n, "vhdx", NULL, &img, &e), 0);
	assert_reads(img, d, size);
	vmie_image_close(img);
	/* both bad */
	h1[0x50] ^= 1;
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT,
			 "both headers are invalid");
	/* equal sequence numbers: fine when identical, refused otherwise */
	memcpy(c, b.p, b.n);
	vmie_put_le64(h2 + 8, vmie_le64(h1 + 8));
	vhdx_fix_header(h2);
	assert_int_equal(open_mem(c, b.n, "vhdx", NULL, &img, &e), 0);
	vmie_image_close(img);
	h2[0x60] = 1;
	vhdx_fix_header(h2);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "but differ");
	/* region table with 5000 entries */
	memcpy(c, b.p, b.n);
	vmie_put_le32(r1 + 8, 5000);
	vhdx_fix_region(r1);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "5000 entries");
	/* a damaged first region table: the copy is used */
	memcpy(c, b.p, b.n);
	r1[100] ^= 1;
	assert_int_equal(open_mem(c, b.n, "vhdx", NULL, &img, &e), 0);
	vmie_image_close(img);
	r2[100] ^= 1;
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT,
			 "both region tables are invalid");
	/* an unknown required region: refused; not required: ignored */
	memcpy(c, b.p, b.n);
	vmie_put_le32(r1 + 8, 3);
	memset(r1 + 80, 0x42, 16);
	vmie_put_le64(r1 + 96, 40 * (uint64_t)MiB);
	vmie_put_le32(r1 + 104, MiB);
	vmie_put_le32(r1 + 108, 1);
	vhdx_fix_region(r1);
	expect_open_fail(c, b.n, "vhdx", VMIE_EUNSUPP, "marked required");
	vmie_put_le32(r1 + 108, 0);
	vmie_put_le64(r1 + 96, 4 * (uint64_t)MiB);
	vhdx_fix_region(r1);
	assert_int_equal(open_mem(c, b.n, "vhdx", NULL, &img, &e), 0);
	vmie_image_close(img);
	/* overlapping regions */
	memcpy(c, b.p, b.n);
	vmie_put_le64(r1 + 48 + 16, BAT);     /* metadata at the BAT */
	vhdx_fix_region(r1);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "overlaps");
	/* region past the end of the file */
	memcpy(c, b.p, b.n);
	vmie_put_le64(r1 + 16 + 16, (uint64_t)1 << 40);
	vhdx_fix_region(r1);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "past the end");
	/* block size not a power of two */
	memcpy(c, b.p, b.n);
	vmie_put_le32(c + META + 65536, 3 * MiB);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "block size 3145728");
	/* bad logical sector size */
	memcpy(c, b.p, b.n);
	vmie_put_le32(c + META + 65536 + 16, 1000);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT,
			 "logical sector size 1000");
	/* absurd virtual size */
	memcpy(c, b.p, b.n);
	vmie_put_le64(c + META + 65536 + 8, (uint64_t)1 << 60);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "up to 64 TiB");
	/* a size whose BAT does not fit its region */
	memcpy(c, b.p, b.n);
	vmie_put_le64(c + META + 65536 + 8, (uint64_t)60 << 40);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "the BAT needs");
	/* metadata item outside its region */
	memcpy(c, b.p, b.n);
	vmie_put_le32(c + META + 32 + 16, 2 * MiB);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "outside the metadata");
	/* metadata table with too many entries */
	memcpy(c, b.p, b.n);
	vmie_put_le16(c + META + 10, 3000);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "3000 entries");
	/* a missing required item */
	memcpy(c, b.p, b.n);
	vmie_put_le16(c + META + 10, 4);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "page 83 data");
	/* has parent: FMT-004 */
	memcpy(c, b.p, b.n);
	vmie_put_le32(c + META + 65536 + 4, VHDX_PARAM_HAS_PARENT);
	assert_int_equal(open_mem(c, b.n, "vhdx", NULL, &img, &e), VMIE_EUNSUPP);
	assert_string_equal(e.rule, "FMT-004");
	/* info only: opens; check skips the differencing BAT's padding
	 * entries (payload entries past the last block) */
	vmie_put_le64(c + BAT + 8 * 20, (4 * (uint64_t)MiB) | 6);
	struct vmie_open_opts io = { .info_only = true };
	assert_int_equal(open_mem(c, b.n, "vhdx", &io, &img, &e), 0);
	assert_string_equal(img->subformat, "differencing");
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.tables_checked == 4097);
	assert_true(cr.corruptions == 0);
	vmie_image_close(img);
	/* BAT entry past the end, invalid state, partially present */
	memcpy(c, b.p, b.n);
	vmie_put_le64(c + BAT, ((uint64_t)1 << 40) | 6);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT,
			 "block 0 points past end of file");
	vmie_put_le64(c + BAT, 5);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "invalid state 5");
	vmie_put_le64(c + BAT, (5 * (uint64_t)MiB) | 7);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "partially present");
	vmie_put_le64(c + BAT, 6);
	expect_open_fail(c, b.n, "vhdx", VMIE_ECORRUPT, "header section");
	/* overlapping blocks, and a block over the metadata: check */
	memcpy(c, b.p, b.n);
	vmie_put_le64(c + BAT + 8, vmie_le64(c + BAT));
	vmie_put_le64(c + BAT + 16, (uint64_t)META | 6);
	assert_int_equal(open_mem(c, b.n, "vhdx", NULL, &img, &e), 0);
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.corruptions == 2);
	assert_non_null(strstr(cr.msgs[0], "overlaps"));
	vmie_image_close(img);
	free(c);
	free(b.p);
	free(d);
}

/* ---- VHDX log replay ---- */

struct logw {
	bool zero;
	uint64_t off, len;        /* len: zero descriptors only */
	const uint8_t *data;      /* 4 KiB */
};

/* Write a log entry at pos of the circular log; returns its length. */
static size_t put_entry(uint8_t *log, size_t log_len, size_t pos,
			uint64_t seq, uint32_t tail, const uint8_t *guid,
			const struct logw *w, size_t n, uint64_t fsize)
{
	size_t nd = 0;
	for (size_t i = 0; i < n; i++)
		nd += !w[i].zero;
	size_t dsec = (n + 2 + 127) / 128, len = (dsec + nd) * 4096;
	uint8_t *ent = calloc(1, len);
	memcpy(ent, "loge", 4);
	vmie_put_le32(ent + 8, (uint32_t)len);
	vmie_put_le32(ent + 12, tail);
	vmie_put_le64(ent + 16, seq);
	vmie_put_le32(ent + 24, (uint32_t)n);
	memcpy(ent + 32, guid, 16);
	vmie_put_le64(ent + 48, fsize);
	vmie_put_le64(ent + 56, fsize);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *dp = ent + 64 + 32 * i;
		vmie_put_le64(dp + 16, w[i].off);
		vmie_put_le64(dp + 24, seq);
		if (w[i].zero) {
			memcpy(dp, "zero", 4);
			vmie_put_le64(dp + 8, w[i].len);
			continue;
		}
		memcpy(dp, "desc", 4);
		memcpy(dp + 4, w[i].data + 4092, 4);
		memcpy(dp + 8, w[i].data, 8);
		uint8_t *s = ent + (dsec + k++) * 4096;
		memcpy(s, "data", 4);
		vmie_put_le32(s + 4, (uint32_t)(seq >> 32));
		memcpy(s + 8, w[i].data + 8, 4084);
		vmie_put_le32(s + 4092, (uint32_t)seq);
	}
	vmie_put_le32(ent + 4, vhdx_crc(ent, len, 4));
	for (size_t i = 0; i < len; i++)
		log[(pos + i) % log_len] = ent[i];
	free(ent);
	return len;
}

/* A VHDX (1 MiB blocks, 4 blocks: data in 0 and 2) plus 1 MiB of pattern
 * 0xC3 appended at 6 MiB that no BAT entry references yet. */
static struct blob log_base(uint8_t **disk)
{
	struct vmie_err e = { 0 };
	struct blob b;
	const char *kv[] = { "block_size=1M" };
	uint8_t *d = calloc(1, 4 * MiB);
	memset(d, 0xa1, MiB);
	memset(d + 2 * MiB, 0xb2, MiB);
	assert_int_equal(write_img(d, 4 * MiB, "vhdx", "dynamic", kv, 1, &b,
				   &e), 0);
	assert_int_equal(b.n, 6 * MiB);
	b.p = realloc(b.p, 7 * MiB);
	memset(b.p + 6 * MiB, 0xc3, MiB);
	b.n = 7 * MiB;
	*disk = d;
	return b;
}

static void set_log_guid(uint8_t *p, const uint8_t *guid)
{
	for (int i = 0; i < 2; i++) {
		uint8_t *h = p + (i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF);
		memcpy(h + 0x30, guid, 16);
		vhdx_fix_header(h);
	}
}

static void test_vhdx_log(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	uint8_t *d, guid[16], bat1[4096], bat2[4096];
	struct blob b = log_base(&d);
	uint8_t *log = b.p + MiB;
	memset(guid, 0x77, sizeof guid);

	/* BAT sector as entry 1 writes it: block 1 -> 6 MiB */
	memcpy(bat1, b.p + BAT, 4096);
	vmie_put_le64(bat1 + 8, (6 * (uint64_t)MiB) | 6);
	/* entry 2: block 3 -> 6 MiB as well (later write wins) */
	memcpy(bat2, bat1, 4096);
	vmie_put_le64(bat2 + 24, (6 * (uint64_t)MiB) | 6);

	struct logw w1[] = {
		{ .off = BAT, .data = bat1 },
		{ .zero = true, .off = 4 * (uint64_t)MiB, .len = 8192 },
	};
	struct logw w2[] = { { .off = BAT, .data = bat2 } };
	/* entry 1 starts near the end of the log and wraps around */
	size_t pos1 = MiB - 4096;
	size_t l1 = put_entry(log, MiB, pos1, 41, (uint32_t)pos1, guid, w1, 2,
			      b.n);
	size_t pos2 = (pos1 + l1) % MiB;
	put_entry(log, MiB, pos2, 42, (uint32_t)pos1, guid, w2, 1, b.n);

	uint8_t *orig = malloc(b.n);
	memcpy(orig, b.p, b.n);
	/* the log GUID is not set yet: nothing replayed */
	assert_int_equal(open_mem(b.p, b.n, "vhdx", NULL, &img, &e), 0);
	assert_reads(img, d, 4 * MiB);
	vmie_image_close(img);

	set_log_guid(b.p, guid);
	memcpy(orig, b.p, b.n);
	uint8_t *want = malloc(4 * MiB);
	memcpy(want, d, 4 * MiB);
	memset(want, 0, 8192);
	memset(want + MiB, 0xc3, MiB);
	memset(want + 3 * MiB, 0xc3, MiB);
	assert_int_equal(open_mem(b.p, b.n, "vhdx", NULL, &img, &e), 0);
	assert_reads(img, want, 4 * MiB);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	bool seen = false;
	for (unsigned i = 0; i < in.n_extra; i++)
		seen |= !strcmp(in.extra[i].key, "log") &&
			strstr(in.extra[i].val, "2 entries (sequence 41..42)");
	assert_true(seen);
	vmie_image_close(img);
	/* the source was not written */
	assert_memory_equal(orig, b.p, b.n);

	/* replay turned off: a clear refusal */
	struct vmie_open_opts nr = { .no_log_replay = true };
	assert_int_equal(open_mem(b.p, b.n, "vhdx", &nr, &img, &e),
			 VMIE_EUNSUPP);
	assert_non_null(strstr(e.msg, "log"));

	/* entry 2 torn (bad CRC-32C): only entry 1 applies */
	b.p[MiB + pos2 + 4096 + 100] ^= 1;
	memset(want + 3 * MiB, 0, MiB);
	assert_int_equal(open_mem(b.p, b.n, "vhdx", NULL, &img, &e), 0);
	assert_reads(img, want, 4 * MiB);
	struct vmie_check_result cr;
	assert_int_equal(vmie_image_check(img, &cr, &e), 0);
	assert_true(cr.corruptions == 0 && cr.leaks == 1);
	assert_non_null(strstr(cr.msgs[0], "ignored"));
	vmie_image_close(img);

	/* entry 1 torn too: no valid sequence, nothing to replay */
	b.p[MiB + 100] ^= 1;
	assert_int_equal(open_mem(b.p, b.n, "vhdx", NULL, &img, &e), 0);
	assert_reads(img, d, 4 * MiB);
	vmie_image_close(img);
	b.p[MiB + 100] ^= 1;

	/* a log claiming the file was longer than it is: truncated */
	b.p[MiB + pos2 + 4096 + 100] ^= 1;
	memcpy(orig, b.p, b.n);
	expect_open_fail(b.p, 6 * MiB, "vhdx", VMIE_ECORRUPT, "truncated");

	/* a log region outside the file */
	memcpy(b.p, orig, b.n);
	for (int i = 0; i < 2; i++) {
		uint8_t *h = b.p + (i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF);
		vmie_put_le64(h + 0x48, 64 * (uint64_t)MiB);
		vhdx_fix_header(h);
	}
	expect_open_fail(b.p, b.n, "vhdx", VMIE_ECORRUPT, "log at offset");
	free(orig);
	free(want);
	free(b.p);
	free(d);
}

/* ---- concurrent reads ---- */

struct rd_arg {
	struct vmie_image *img;
	const uint8_t *want;
	size_t size;
	unsigned seed;
	int bad;
};

static void *rd_thread(void *p)
{
	struct rd_arg *a = p;
	uint8_t *buf = malloc(300000);
	unsigned x = a->seed;
	for (int i = 0; i < 300; i++) {
		x = x * 1103515245u + 12345u;
		size_t len = 1 + (x >> 8) % 300000;
		x = x * 1103515245u + 12345u;
		size_t off = ((size_t)x << 4) % (a->size - len);
		struct vmie_err e = { 0 };
		if (vmie_image_pread(a->img, buf, len, off, &e) ||
		    memcmp(buf, a->want + off, len))
			a->bad++;
	}
	free(buf);
	return NULL;
}

static void threaded(const char *fmt, const char *sub)
{
	struct vmie_err e = { 0 };
	struct blob b;
	size_t size = 11 * MiB;
	uint8_t *d = mkdisk(size);
	struct vmie_image *img;
	const char *kv[] = { "block_size=1M" };
	assert_int_equal(write_img(d, size, fmt, sub, kv,
				   !strcmp(fmt, "vhdx"), &b, &e), 0);
	assert_int_equal(open_mem(b.p, b.n, fmt, NULL, &img, &e), 0);
	pthread_t t[4];
	struct rd_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct rd_arg){ img, d, size, (unsigned)i * 77 + 1, 0 };
		pthread_create(&t[i], NULL, rd_thread, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	vmie_image_close(img);
	free(b.p);
	free(d);
}

static void test_threads(void **state)
{
	(void)state;
	threaded("vhd", "dynamic");
	threaded("vhdx", "dynamic");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vhd_roundtrip),
		cmocka_unit_test(test_vhdx_roundtrip),
		cmocka_unit_test(test_vhd_exact_size),
		cmocka_unit_test(test_writer_options),
		cmocka_unit_test(test_vhd_hostile),
		cmocka_unit_test(test_vhdx_hostile),
		cmocka_unit_test(test_vhdx_log),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
