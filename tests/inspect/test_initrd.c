/* lib/inspect: initramfs scanning (cpio newc, concatenated, compressed),
 * on archives built in memory; corrupt and hostile ones too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lz4.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "inspect/insp_config.h"
#if INSP_HAVE_LZMA
#include <lzma.h>
#endif
#include "inspect/insp_int.h"

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (!n)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 1024;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void pad4(struct buf *b)
{
	static const uint8_t z[4];
	put(b, z, (4 - (b->n & 3)) & 3);
}

static void cpio_entry(struct buf *b, const char *name, unsigned mode,
		       const void *data, size_t len)
{
	char h[128];
	unsigned nl = (unsigned)strlen(name) + 1;
	snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X"
		 "%08X%08X%08X", 1u, mode & 0xfffffu, 0u, 0u, 1u, 0u,
		 (unsigned)len & 0xfffffffu, 0u, 0u, 0u, 0u, nl & 0xfffu, 0u);
	put(b, h, 110);
	put(b, name, nl);
	pad4(b);
	put(b, data, len);
	pad4(b);
}

static void cpio_trailer(struct buf *b)
{
	static const uint8_t z[512];
	cpio_entry(b, "TRAILER!!!", 0, NULL, 0);
	put(b, z, (512 - (b->n & 511)) & 511);
}

static struct buf main_archive(void)
{
	struct buf b = { 0 };
	const char mb[] = "kernel/drivers/net/virtio_net.ko\n";
	cpio_entry(&b, "usr", 040755, NULL, 0);
	cpio_entry(&b, "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block/"
		   "virtio_blk.ko", 0100644, "ELFxxxx", 7);
	cpio_entry(&b, "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/nvme/"
		   "host/nvme.ko.xz", 0100644, "xz", 2);
	cpio_entry(&b, "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/scsi/"
		   "sd_mod.ko", 0100644, "x", 1);
	cpio_entry(&b, "usr/lib/modules/6.1.0-13-amd64/modules.builtin",
		   0100644, mb, sizeof mb - 1);
	cpio_trailer(&b);
	return b;
}

static struct buf microcode(void)
{
	struct buf b = { 0 };
	cpio_entry(&b, "kernel/x86/microcode/GenuineIntel.bin", 0100644,
		   "\x01\x02\x03", 3);
	cpio_trailer(&b);
	return b;
}

struct mem {
	const uint8_t *p;
	size_t n;
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off,
		    size_t *got, struct vmie_err *err)
{
	struct mem *m = ctx;
	(void)err;
	*got = 0;
	if (off >= m->n)
		return 0;
	if (len > m->n - off)
		len = m->n - off;
	memcpy(buf, m->p + off, len);
	*got = len;
	return 0;
}

static int scan(const struct buf *b, struct vmie_insp_initrd *r,
		struct vmie_err *e)
{
	struct mem m = { b->p, b->n };
	memset(e, 0, sizeof *e);
	return vmie_insp_initrd_scan(mem_read, &m, b->n, r, e);
}

static struct buf gz(const struct buf *in)
{
	struct buf o = { 0 };
	z_stream z = { 0 };
	o.cap = compressBound(in->n) + 64;
	o.p = malloc(o.cap);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = in->p;
	z.avail_in = in->n;
	z.next_out = o.p;
	z.avail_out = o.cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	o.n = o.cap - z.avail_out;
	deflateEnd(&z);
	return o;
}

static struct buf zst(const struct buf *in)
{
	struct buf o = { 0 };
	o.cap = ZSTD_compressBound(in->n);
	o.p = malloc(o.cap);
	o.n = ZSTD_compress(o.p, o.cap, in->p, in->n, 3);
	assert_false(ZSTD_isError(o.n));
	return o;
}

static struct buf lz4f(const struct buf *in)
{
	struct buf o = { 0 };
	o.cap = LZ4F_compressFrameBound(in->n, NULL);
	o.p = malloc(o.cap);
	o.n = LZ4F_compressFrame(o.p, o.cap, in->p, in->n, NULL);
	assert_false(LZ4F_isError(o.n));
	return o;
}

static struct buf lz4legacy(const struct buf *in)
{
	struct buf o = { 0 };
	uint8_t magic[4] = { 0x02, 0x21, 0x4c, 0x18 };
	int bound = LZ4_compressBound((int)in->n);
	char *tmp = malloc((size_t)bound);
	put(&o, magic, 4);
	int n = LZ4_compress_default((const char *)in->p, tmp, (int)in->n,
				     bound);
	assert_true(n > 0);
	uint8_t sz[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
			  (uint8_t)(n >> 24) };
	put(&o, sz, 4);
	put(&o, tmp, (size_t)n);
	free(tmp);
	return o;
}

static void check_main(const struct vmie_insp_initrd *r)
{
	assert_true(vmie_insp_list_has(r->drivers, "virtio_blk"));
	assert_true(vmie_insp_list_has(r->drivers, "nvme"));
	assert_true(vmie_insp_list_has(r->drivers, "virtio_net"));
	assert_false(vmie_insp_list_has(r->drivers, "ena"));
	assert_string_equal(r->builtin, "virtio_net");
}

static struct buf gz(const struct buf *in);

/* Once every driver looked for is found, the rest is not decompressed:
 * garbage after them (which would otherwise be an error) is never read. */
static void test_stop_early(void **state)
{
	(void)state;
	static const char *const mods[] = { "block/virtio_blk.ko",
		"scsi/virtio_scsi.ko", "net/virtio_net.ko", "nvme/host/nvme.ko",
		"block/xen-blkfront.ko", "net/xen-netfront.ko",
		"net/ethernet/amazon/ena/ena.ko" };
	struct buf b = { 0 };
	char path[200];
	for (size_t i = 0; i < sizeof mods / sizeof *mods; i++) {
		snprintf(path, sizeof path, "usr/lib/modules/6.1.0/kernel/drivers/%s", mods[i]);
		cpio_entry(&b, path, 0100644, "ELF", 3);
	}
	cpio_entry(&b, "usr/lib/modules/6.1.0/kernel/fs/ext4.ko", 0100644, "ELF", 3);
	cpio_trailer(&b);
	struct buf g = gz(&b);
	put(&g, "this is not a compressed stream, and would be refused", 52);
	struct vmie_insp_initrd r;
	struct vmie_err e;
	assert_int_equal(scan(&g, &r, &e), 0);
	assert_true(r.stopped_early);
	for (size_t i = 0; i < sizeof mods / sizeof *mods; i++) {
		const char *base = strrchr(mods[i], '/') + 1;
		char name[32];
		snprintf(name, sizeof name, "%.*s", (int)(strcspn(base, ".")), base);
		assert_true(vmie_insp_list_has(r.drivers, name));
	}
	/* with drivers missing, the garbage is reached and refused */
	struct buf c = { 0 };
	cpio_entry(&c, "usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko", 0100644, "ELF", 3);
	cpio_trailer(&c);
	struct buf h = gz(&c);
	put(&h, "this is not a compressed stream, and would be refused", 52);
	assert_int_not_equal(scan(&h, &r, &e), 0);
	assert_false(r.stopped_early);
	free(b.p);
	free(c.p);
	free(g.p);
	free(h.p);
}

static void test_plain(void **state)
{
	(void)state;
	struct buf b = main_archive();
	struct vmie_insp_initrd r;
	struct vmie_err e;
	assert_int_equal(scan(&b, &r, &e), 0);
	check_main(&r);
	assert_string_equal(r.compression, "none");
	assert_int_equal(r.n_archives, 1);
	assert_int_equal(r.n_files, 5);
	free(b.p);
}

static void run_compressed(struct buf (*cmp)(const struct buf *),
			   const char *want)
{
	struct buf a = main_archive(), c = cmp(&a), u = microcode(), all = { 0 };
	struct vmie_insp_initrd r;
	struct vmie_err e;
	static const uint8_t z[1000];

	assert_int_equal(scan(&c, &r, &e), 0);
	check_main(&r);
	assert_string_equal(r.compression, want);
	/* early microcode first, zero padding, then the compressed one */
	put(&all, u.p, u.n);
	put(&all, z, sizeof z);
	put(&all, c.p, c.n);
	put(&all, z, 3);
	assert_int_equal(scan(&all, &r, &e), 0);
	check_main(&r);
	assert_int_equal(r.n_archives, 2);
	char both[32];
	snprintf(both, sizeof both, "none+%s", want);
	assert_string_equal(r.compression, both);
	/* truncated compressed stream: an error naming the format */
	all.n -= c.n / 2 + 3;
	assert_int_not_equal(scan(&all, &r, &e), 0);
	assert_non_null(strstr(e.msg, "initramfs"));
	/* flipped bytes in the middle of the compressed data */
	c.p[c.n / 2] ^= 0x55;
	c.p[c.n / 2 + 1] ^= 0xaa;
	scan(&c, &r, &e);        /* may or may not fail, must not crash */
	free(a.p);
	free(c.p);
	free(u.p);
	free(all.p);
}

static void test_gzip(void **state) { (void)state; run_compressed(gz, "gzip"); }
static void test_zstd(void **state) { (void)state; run_compressed(zst, "zstd"); }
static void test_lz4(void **state) { (void)state; run_compressed(lz4f, "lz4"); }
static void test_lz4_legacy(void **state)
{
	(void)state;
	run_compressed(lz4legacy, "lz4");
}

#if INSP_HAVE_LZMA
static struct buf xz(const struct buf *in)
{
	struct buf o = { 0 };
	o.cap = lzma_stream_buffer_bound(in->n);
	o.p = malloc(o.cap);
	size_t pos = 0;
	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL,
		in->p, in->n, o.p, &pos, o.cap), LZMA_OK);
	o.n = pos;
	return o;
}
static void test_xz(void **state) { (void)state; run_compressed(xz, "xz"); }
#endif

static void test_hostile(void **state)
{
	(void)state;
	struct vmie_insp_initrd r;
	struct vmie_err e;
	struct buf b = { 0 };

	/* not an initramfs at all */
	put(&b, "hello world, not cpio", 21);
	assert_int_not_equal(scan(&b, &r, &e), 0);
	assert_non_null(strstr(e.msg, "unknown data"));
	free(b.p);
	/* a name size of 0xffffffff */
	memset(&b, 0, sizeof b);
	char h[128];
	snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X"
		 "%08X%08X%08X", 0u, 0100644u, 0u, 0u, 1u, 0u, 4u, 0u, 0u, 0u,
		 0u, 0xffffffffu, 0u);
	put(&b, h, 110);
	assert_int_not_equal(scan(&b, &r, &e), 0);
	assert_non_null(strstr(e.msg, "name size"));
	free(b.p);
	/* a file size past the end: truncated */
	memset(&b, 0, sizeof b);
	snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X"
		 "%08X%08X%08X", 0u, 0100644u, 0u, 0u, 1u, 0u, 0x7fffffffu, 0u,
		 0u, 0u, 0u, 2u, 0u);
	put(&b, h, 110);
	put(&b, "a\0", 2);
	put(&b, "data", 4);
	assert_int_not_equal(scan(&b, &r, &e), 0);
	assert_non_null(strstr(e.msg, "truncated"));
	free(b.p);
	/* non-hex header field */
	memset(&b, 0, sizeof b);
	memset(h, 'Z', 110);
	memcpy(h, "070701", 6);
	put(&b, h, 110);
	assert_int_not_equal(scan(&b, &r, &e), 0);
	assert_non_null(strstr(e.msg, "non-hex"));
	free(b.p);
	/* only zeros */
	memset(&b, 0, sizeof b);
	static const uint8_t z[4096];
	put(&b, z, sizeof z);
	assert_int_not_equal(scan(&b, &r, &e), 0);
	assert_non_null(strstr(e.msg, "no cpio"));
	free(b.p);
	/* a gzip bomb-like stream of zeros inside gzip: zeros between
	 * archives are skipped, the scan ends */
	struct buf zeros = { 0 }, a = main_archive();
	uint8_t *big = calloc(1, 1 << 22);
	put(&zeros, a.p, a.n);
	put(&zeros, big, 1 << 22);
	struct buf c = gz(&zeros);
	assert_int_equal(scan(&c, &r, &e), 0);
	check_main(&r);
	free(big);
	free(zeros.p);
	free(a.p);
	free(c.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_stop_early),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_lz4),
		cmocka_unit_test(test_lz4_legacy),
#if INSP_HAVE_LZMA
		cmocka_unit_test(test_xz),
#endif
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
