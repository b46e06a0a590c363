/* lib/image framework: probing, raw driver, bounds, overlay, the convert
 * engine (raw -> raw through a memory sink) and compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define DISK (5u * 1024 * 1024 + 4096 + 3)   /* not a multiple of anything */

static uint8_t *make_disk(void)
{
	uint8_t *d = calloc(1, DISK);
	/* data, a zero run over 2 MiB, data at the odd tail */
	for (size_t i = 0; i < 1u << 20; i++)
		d[i] = (uint8_t)(i * 131 + (i >> 9));
	memset(d + (3u << 20), 0x5a, 12345);
	memcpy(d + DISK - 3, "END", 3);
	return d;
}

static void test_raw_open_and_bounds(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	uint8_t *d = make_disk(), b[4];
	assert_int_equal(vmie_src_open_mem(d, DISK, true, "disk", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, NULL, &img, &e), 0);
	vmie_src_unref(s);
	assert_string_equal(img->drv->name, "raw");
	assert_true(img->size == DISK);
	assert_int_equal(vmie_image_pread(img, b, 3, DISK - 3, &e), 0);
	assert_memory_equal(b, "END", 3);
	assert_int_equal(vmie_image_pread(img, b, 4, DISK - 3, &e), VMIE_ERANGE);
	assert_int_equal(vmie_image_pwrite(img, b, 1, 0, &e), VMIE_EUNSUPP);
	struct vmie_image_info in;
	assert_int_equal(vmie_image_info(img, &in, &e), 0);
	assert_string_equal(in.format, "raw");
	vmie_image_close(img);
}

static void test_forced_format_unknown(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *img;
	struct vmie_open_opts o = { .format = "nosuch" };
	assert_int_equal(vmie_src_open_mem("x", 1, false, "m", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, &o, &img, &e), VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "nosuch"));
	vmie_src_unref(s);
}

static void test_output_format_parse(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	const struct vmie_image_driver *d;
	char sub[48];
	assert_int_equal(vmie_parse_output_format("raw", &d, sub, sizeof sub, &e), 0);
	assert_string_equal(d->name, "raw");
	assert_int_equal(vmie_parse_output_format("raw,bogus", &d, sub, sizeof sub, &e),
			 VMIE_EINVAL);
	assert_int_equal(vmie_parse_output_format("nope", &d, sub, sizeof sub, &e),
			 VMIE_EINVAL);
}

static void test_overlay(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s;
	struct vmie_image *base, *ov;
	uint8_t *d = make_disk();
	uint8_t *orig = malloc(DISK);
	memcpy(orig, d, DISK);
	assert_int_equal(vmie_src_open_mem(d, DISK, true, "disk", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, NULL, &base, &e), 0);
	vmie_src_unref(s);
	assert_int_equal(vmie_overlay_open(base, &ov, &e), 0);
	/* a write that straddles a 64 KiB cluster boundary */
	uint8_t w[100];
	memset(w, 0xee, sizeof w);
	assert_int_equal(vmie_image_pwrite(ov, w, 100, 65536 - 50, &e), 0);
	uint8_t r[300];
	assert_int_equal(vmie_image_pread(ov, r, 300, 65536 - 150, &e), 0);
	assert_memory_equal(r, orig + 65536 - 150, 100);
	assert_memory_equal(r + 100, w, 100);
	assert_memory_equal(r + 200, orig + 65536 + 50, 100);
	/* the base is untouched */
	assert_int_equal(vmie_image_pread(base, r, 100, 65536 - 50, &e), 0);
	assert_memory_equal(r, orig + 65536 - 50, 100);
	assert_true(vmie_overlay_bytes(ov) == 2 * 65536);
	/* write into the last, partial cluster */
	assert_int_equal(vmie_image_pwrite(ov, "end", 3, DISK - 3, &e), 0);
	assert_int_equal(vmie_image_pread(ov, r, 3, DISK - 3, &e), 0);
	assert_memory_equal(r, "end", 3);
	uint64_t n;
	unsigned st;
	assert_int_equal(vmie_image_block_status(ov, 65536, DISK - 65536, &n, &st, &e), 0);
	assert_true(st & VMIE_BS_DATA);
	assert_true(n >= 65536);
	vmie_image_close(ov);
	vmie_image_close(base);
	free(orig);
}

static void test_convert_and_compare(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	struct vmie_src *s, *s2;
	struct vmie_image *img, *img2;
	struct vmie_sink *k;
	uint8_t *d = make_disk();
	assert_int_equal(vmie_src_open_mem(d, DISK, false, "disk", &s, &e), 0);
	assert_int_equal(vmie_image_open_src(s, NULL, &img, &e), 0);
	assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
	struct vmie_convert_opts o = { .format = "raw", .threads = 3 };
	struct vmie_convert_stats st;
	assert_int_equal(vmie_convert_to_sink(img, k, &o, &st, &e), 0);
	size_t len;
	const uint8_t *out = vmie_sink_mem_data(k, &len);
	assert_int_equal(len, DISK);
	assert_memory_equal(out, d, DISK);
	/* zero chunks were skipped, not written */
	assert_true(st.bytes_skipped >= (1u << 20));
	assert_true(st.bytes_read + st.bytes_skipped == DISK);

	/* compare: equal, then a one-byte difference is found exactly */
	uint8_t *d2 = malloc(DISK);
	memcpy(d2, out, DISK);
	vmie_sink_free(k);
	assert_int_equal(vmie_src_open_mem(d2, DISK, true, "disk2", &s2, &e), 0);
	assert_int_equal(vmie_image_open_src(s2, NULL, &img2, &e), 0);
	uint64_t at;
	assert_int_equal(vmie_compare(img, img2, true, &at, &e), 0);
	assert_true(at == UINT64_MAX);
	d2[4u << 20] = 1;
	assert_int_equal(vmie_compare(img, img2, true, &at, &e), 0);
	assert_true(at == 4u << 20);

	/* an unknown writer option is an error that names it */
	assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
	const char *kv[] = { "bogus=1" };
	o.kv = kv;
	o.n_kv = 1;
	assert_int_equal(vmie_convert_to_sink(img, k, &o, &st, &e), VMIE_EINVAL);
	assert_non_null(strstr(e.msg, "bogus"));
	vmie_sink_free(k);

	/* cancellation stops with EINTR */
	volatile int cancel = 1;
	o.n_kv = 0;
	o.cancel = &cancel;
	assert_int_equal(vmie_sink_open_mem(&k, &e), 0);
	assert_int_equal(vmie_convert_to_sink(img, k, &o, &st, &e), VMIE_EINTR);
	vmie_sink_free(k);

	vmie_image_close(img2);
	vmie_src_unref(s2);
	vmie_image_close(img);
	vmie_src_unref(s);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_open_and_bounds),
		cmocka_unit_test(test_forced_format_unknown),
		cmocka_unit_test(test_output_format_parse),
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_convert_and_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
