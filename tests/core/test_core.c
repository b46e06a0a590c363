/* lib/core: endian helpers, checked arithmetic, CRCs, sizes, errors, pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/checked.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/util.h"

static void test_endian_roundtrip(void **state)
{
	(void)state;
	uint8_t b[8];
	vmie_put_le32(b, 0x11223344);
	assert_int_equal(b[0], 0x44);
	assert_int_equal(vmie_le32(b), 0x11223344);
	vmie_put_be64(b, 0x0102030405060708ull);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[7], 8);
	assert_true(vmie_be64(b) == 0x0102030405060708ull);
	assert_true(vmie_le64(b) == 0x0807060504030201ull);
	vmie_put_be16(b, 0xabcd);
	assert_int_equal(vmie_be16(b), 0xabcd);
	assert_int_equal(vmie_le16(b), 0xcdab);
}

static void test_checked(void **state)
{
	(void)state;
	uint64_t r;
	assert_false(vmie_add_u64(1, 2, &r));
	assert_int_equal(r, 3);
	assert_true(vmie_add_u64(UINT64_MAX, 1, &r));
	assert_true(vmie_mul_u64(UINT64_MAX / 2 + 1, 2, &r));
	assert_false(vmie_mul_u64(1u << 20, 512, &r));
	assert_true(vmie_range_outside(10, 10, 19));
	assert_false(vmie_range_outside(10, 10, 20));
	assert_true(vmie_range_outside(UINT64_MAX, 2, UINT64_MAX));
	assert_false(vmie_align_up_u64(1, 512, &r));
	assert_int_equal(r, 512);
	assert_true(vmie_align_up_u64(UINT64_MAX - 3, 512, &r));
	assert_true(vmie_is_pow2(4096));
	assert_false(vmie_is_pow2(0));
	assert_false(vmie_is_pow2(3 << 10));
}

static void test_crc(void **state)
{
	(void)state;
	/* the standard check values for "123456789" */
	assert_int_equal(vmie_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(vmie_crc32(0, "123456789", 9), 0xCBF43926u);
	/* incremental equals one-shot, across the 8-byte fast path */
	char buf[1000];
	for (int i = 0; i < 1000; i++)
		buf[i] = (char)(i * 7);
	uint32_t one = vmie_crc32c(0, buf, sizeof buf);
	uint32_t inc = vmie_crc32c(vmie_crc32c(0, buf, 333), buf + 333, 667);
	assert_int_equal(one, inc);
}

static void test_is_zero(void **state)
{
	(void)state;
	static uint8_t buf[4096 + 3];
	assert_true(vmie_is_zero(buf, sizeof buf));
	assert_true(vmie_is_zero(buf + 1, 0));
	for (size_t i = 0; i < sizeof buf; i += 511) {
		buf[i] = 1;
		assert_false(vmie_is_zero(buf, sizeof buf));
		assert_false(vmie_is_zero(buf + (i > 5 ? i - 5 : 0), 6 + (i < 5 ? i : 0)));
		buf[i] = 0;
	}
	buf[sizeof buf - 1] = 9;
	assert_false(vmie_is_zero(buf + 1, sizeof buf - 1));
}

static void test_sizes(void **state)
{
	(void)state;
	uint64_t v;
	char h[32];
	assert_int_equal(vmie_parse_size("4G", &v), 0);
	assert_true(v == 4ull << 30);
	assert_int_equal(vmie_parse_size("512MiB", &v), 0);
	assert_true(v == 512ull << 20);
	assert_int_equal(vmie_parse_size("100", &v), 0);
	assert_true(v == 100);
	assert_int_equal(vmie_parse_size("1X", &v), -1);
	assert_int_equal(vmie_parse_size("-1", &v), -1);
	assert_int_equal(vmie_parse_size("99999999999999P", &v), -1);
	assert_string_equal(vmie_human_size(h, sizeof h, 4ull << 30), "4 GiB");
	assert_string_equal(vmie_human_size(h, sizeof h, 1536ull << 10), "1.50 MiB");
}

static void test_guid(void **state)
{
	(void)state;
	/* EFI System Partition type GUID as stored on disk */
	const uint8_t esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				  0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
	char s[37];
	vmie_guid_ms(s, esp);
	assert_string_equal(s, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
}

static void test_err(void **state)
{
	(void)state;
	struct vmie_err e = { 0 };
	int r = VMIE_CORRUPT(&e, "vhd: BAT entry %d points past end", 12);
	assert_int_equal(r, VMIE_ECORRUPT);
	assert_string_equal(e.rule, "FMT-005");
	assert_string_equal(e.msg, "vhd: BAT entry 12 points past end");
	assert_non_null(strstr(e.file, "test_core.c"));
	vmie_err_prefix(&e, "disk %s", "a.vhd");
	assert_string_equal(e.msg, "disk a.vhd: vhd: BAT entry 12 points past end");
	/* NULL err is allowed */
	assert_int_equal(VMIE_ERR(NULL, VMIE_EINVAL, "x"), VMIE_EINVAL);
}

static int counter;
static void inc_job(void *arg)
{
	__atomic_add_fetch(&counter, (int)(intptr_t)arg, __ATOMIC_RELAXED);
}

static void test_pool(void **state)
{
	(void)state;
	struct vmie_pool *p = vmie_pool_new(3, 2);
	assert_non_null(p);
	assert_int_equal(vmie_pool_threads(p), 3);
	counter = 0;
	for (int i = 1; i <= 1000; i++)
		vmie_pool_submit(p, inc_job, (void *)(intptr_t)i);
	vmie_pool_wait(p);
	assert_int_equal(counter, 500500);
	vmie_pool_free(p);
	vmie_pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endian_roundtrip),
		cmocka_unit_test(test_checked),
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_is_zero),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_guid),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
