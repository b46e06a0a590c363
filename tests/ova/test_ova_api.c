/* lib/ova API: capacity units, tar sizes past 8 GiB (pax and GNU base-256)
 * on sparse files, the multi-disk writer vmie_ova_write read back through
 * vmie_ova_open / vmie_ova_open_disk / the "ova" driver with ova_disk, and
 * manifest verification catching a changed byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "ova/ova.h"
#include "ova/tar.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/vmie-ova-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_units(void **state)
{
	uint64_t m;
	(void)state;
	assert_int_equal(vmie_ovf_parse_units("byte * 2^30", &m), 0);
	assert_true(m == (uint64_t)1 << 30);
	assert_int_equal(vmie_ovf_parse_units("byte*2^20", &m), 0);
	assert_true(m == (uint64_t)1 << 20);
	assert_int_equal(vmie_ovf_parse_units("byte", &m), 0);
	assert_true(m == 1);
	assert_int_equal(vmie_ovf_parse_units("byte * 10^9", &m), 0);
	assert_true(m == 1000000000ull);
	assert_int_equal(vmie_ovf_parse_units("MegaBytes", &m), 0);
	assert_true(m == (uint64_t)1 << 20);
	assert_int_equal(vmie_ovf_parse_units("byte * 1024", &m), 0);
	assert_true(m == 1024);
	assert_int_equal(vmie_ovf_parse_units("byte * 2^64", &m), -1);
	assert_int_equal(vmie_ovf_parse_units("hertz * 10^6", &m), -1);
	assert_int_equal(vmie_ovf_parse_units("byte * ", &m), -1);
}

/* A tar of one sparse member of size bytes whose header is hdr. */
static void write_sparse_tar(const char *path, const uint8_t *hdr,
			     size_t hdr_len, uint64_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, hdr, hdr_len, 0), (ssize_t)hdr_len);
	assert_int_equal(ftruncate(fd, (off_t)(hdr_len + vmie_tar_pad(size) +
					       1024)), 0);
	close(fd);
}

static void check_big(const char *path, const char *name, uint64_t size,
		      uint64_t data_off)
{
	struct vmie_src *src;
	struct vmie_tar *t;
	struct vmie_err err = { 0 };
	assert_int_equal(vmie_src_open_file(path, &src, &err), 0);
	assert_int_equal(vmie_tar_open(src, 16, &t, &err), 0);
	assert_int_equal(t->n, 1);
	assert_string_equal(t->m[0].name, name);
	assert_true(t->m[0].size == size);
	assert_true(t->m[0].data_off == data_off);
	assert_true(t->has_end);
	vmie_tar_free(t);
	vmie_src_unref(src);
}

static void test_tar_big(void **state)
{
	uint8_t hdr[3 * TAR_BLOCK];
	char path[300];
	struct vmie_err err = { 0 };
	const uint64_t big = ((uint64_t)9 << 30) + 12345;
	(void)state;

	/* pax: our writer picks it for a size over 8 GiB */
	assert_int_equal(vmie_tar_header_len("disk.vmdk", big), 3 * TAR_BLOCK);
	assert_int_equal(vmie_tar_encode_header(hdr, 3 * TAR_BLOCK,
						"disk.vmdk", big, 0, &err), 0);
	snprintf(path, sizeof path, "%s/pax.tar", dir);
	write_sparse_tar(path, hdr, sizeof hdr, big);
	check_big(path, "disk.vmdk", big, 3 * TAR_BLOCK);

	/* GNU base-256 size in a plain header */
	assert_int_equal(vmie_tar_encode_header(hdr, TAR_BLOCK, "disk.vmdk",
						1, 0, &err), 0);
	memset(hdr + TAR_OFF_SIZE, 0, TAR_LEN_SIZE);
	hdr[TAR_OFF_SIZE] = 0x80;
	for (int i = 0; i < 8; i++)
		hdr[TAR_OFF_SIZE + 11 - i] = (uint8_t)(big >> (8 * i));
	memset(hdr + TAR_OFF_CHKSUM, ' ', TAR_LEN_CHKSUM);
	unsigned sum = 0;
	for (unsigned i = 0; i < TAR_BLOCK; i++)
		sum += hdr[i];
	snprintf((char *)hdr + TAR_OFF_CHKSUM, 8, "%06o", sum);
	snprintf(path, sizeof path, "%s/gnu.tar", dir);
	write_sparse_tar(path, hdr, TAR_BLOCK, big);
	check_big(path, "disk.vmdk", big, TAR_BLOCK);

	/* a long name goes into a pax path record */
	char longname[300];
	memset(longname, 'n', 250);
	strcpy(longname + 250, ".vmdk");
	assert_int_equal(vmie_tar_header_len(longname, 10), 3 * TAR_BLOCK);
	assert_int_equal(vmie_tar_encode_header(hdr, 3 * TAR_BLOCK, longname,
						10, 0, &err), 0);
	snprintf(path, sizeof path, "%s/long.tar", dir);
	write_sparse_tar(path, hdr, sizeof hdr, 10);
	check_big(path, longname, 10, 3 * TAR_BLOCK);
}

static void make_raw(const char *path, uint64_t size, uint8_t seed)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (uint64_t i = 0; i < size; i++)
		fputc(i < size / 2 ? (int)((i * 7 + seed) & 0xff) : 0, f);
	fclose(f);
}

static void test_write_multi(void **state)
{
	char raw[2][300], ova_path[300];
	struct vmie_image *img[2], *d;
	struct vmie_err err = { 0 };
	struct vmie_ova *ova;
	(void)state;
	const struct vmie_image_driver *vmdk = vmie_image_driver_find("vmdk");
	if (!vmdk || !vmdk->writer)
		skip();
	for (int i = 0; i < 2; i++) {
		snprintf(raw[i], sizeof raw[i], "%s/d%d.raw", dir, i);
		make_raw(raw[i], (uint64_t)(1 + i) << 20, (uint8_t)(i + 1));
		assert_int_equal(vmie_image_open(raw[i], NULL, &img[i], &err), 0);
	}
	struct vmie_ova_write_disk disks[2] = {
		{ .img = img[0] }, { .img = img[1], .file_name = "data.vmdk" },
	};
	struct vmie_ova_write_opts wo = {
		.vm_name = "multi", .os_id = "101",
		.os_type = "otherLinux64Guest", .os_description = "Linux <64>",
		.vcpus = 4, .memory = (uint64_t)3 << 30, .firmware = "efi",
		.n_nics = 2, .disks = disks, .n_disks = 2, .threads = 2,
		.sink_flags = VMIE_SINK_NOSYNC,
	};
	snprintf(ova_path, sizeof ova_path, "%s/multi.ova", dir);
	int r = vmie_ova_write(ova_path, &wo, &err);
	if (r)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(r, 0);

	assert_int_equal(vmie_ova_open(ova_path, &ova, &err), 0);
	const struct vmie_ovf *o = ova->ovf;
	assert_string_equal(ova->ovf_member, "multi.ovf");
	assert_string_equal(o->name, "multi");
	assert_string_equal(o->os_id, "101");
	assert_string_equal(o->os_description, "Linux <64>");
	assert_string_equal(o->firmware, "efi");
	assert_int_equal(o->vcpus, 4);
	assert_true(o->memory == (uint64_t)3 << 30);
	assert_int_equal(o->n_disks, 2);
	assert_int_equal(o->n_nics, 2);
	assert_true(o->disks[0].capacity == 1 << 20);
	assert_true(o->disks[1].capacity == 2 << 20);
	assert_int_equal(o->disks[1].at.bus, VMIE_OVF_BUS_SCSI);
	assert_int_equal(o->disks[1].at.address_on_parent, 1);
	assert_string_equal(o->files[o->disks[1].file_index].href, "data.vmdk");
	assert_string_equal(o->disks[0].format_name, "vmdk-streamOptimized");
	assert_string_equal(ova->mf_name, "multi.mf");
	assert_int_equal(ova->n_warn, 0);

	struct vmie_ova_verify v;
	assert_int_equal(vmie_ova_verify_manifest(ova, &v, NULL, &err), 0);
	assert_true(v.present);
	assert_int_equal(v.n_entries, 3);
	assert_int_equal(v.n_ok, 3);
	assert_int_equal(v.n_unlisted, 0);

	/* disk 1 reads as the second source */
	uint8_t *a = malloc(2 << 20), *b = malloc(2 << 20);
	assert_int_equal(vmie_ova_open_disk(ova, 1, NULL, &d, &err), 0);
	assert_string_equal(d->drv->name, "vmdk");
	assert_true(d->size == 2 << 20);
	assert_int_equal(vmie_image_pread(d, a, 2 << 20, 0, &err), 0);
	assert_int_equal(vmie_image_pread(img[1], b, 2 << 20, 0, &err), 0);
	assert_memory_equal(a, b, 2 << 20);
	vmie_image_close(d);
	assert_int_not_equal(vmie_ova_open_disk(ova, 2, NULL, &d, &err), 0);
	assert_non_null(strstr(err.msg, "the OVA has 2 disks"));
	uint64_t moff, msize;
	assert_int_equal(vmie_ova_disk_member(ova, 0, &moff, &msize, &err), 0);
	vmie_ova_close(ova);

	/* the image driver, disk 1 */
	struct vmie_open_opts oo = { .ova_disk = 1 };
	assert_int_equal(vmie_image_open(ova_path, &oo, &d, &err), 0);
	assert_string_equal(d->drv->name, "ova");
	assert_string_equal(d->subformat, "vmdk,streamOptimized");
	memset(a, 0xee, 4096);
	assert_int_equal(vmie_image_pread(d, a, 4096, 4096, &err), 0);
	assert_memory_equal(a, b + 4096, 4096);
	struct vmie_image_info info;
	assert_int_equal(vmie_image_info(d, &info, &err), 0);
	assert_string_equal(info.format, "ova");
	vmie_image_close(d);

	/* change one byte inside the first VMDK: the manifest catches it */
	int fd = open(ova_path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t byte;
	assert_int_equal(pread(fd, &byte, 1, (off_t)(moff + msize / 2)), 1);
	byte ^= 0x55;
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)(moff + msize / 2)), 1);
	close(fd);
	assert_int_equal(vmie_ova_open(ova_path, &ova, &err), 0);
	vmie_err_clear(&err);
	assert_int_equal(vmie_ova_verify_manifest(ova, &v, NULL, &err),
			 VMIE_ECORRUPT);
	assert_non_null(strstr(err.msg, "digest of 'multi-disk1.vmdk' does "
			       "not match"));
	assert_string_equal(err.rule, "FMT-005");
	vmie_ova_close(ova);
	free(a);
	free(b);
	vmie_image_close(img[0]);
	vmie_image_close(img[1]);
}

static void test_manifest_parse(void **state)
{
	struct vmie_mf *mf;
	struct vmie_err err = { 0 };
	(void)state;
	const char *good =
		"SHA1(a.ovf)= 0123456789abcdef0123456789ABCDEF01234567\r\n"
		"\n"
		"SHA256(dir/b c.vmdk) = "
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
	assert_int_equal(vmie_mf_parse(good, strlen(good), "t.mf", &mf, &err), 0);
	assert_int_equal(mf->n, 2);
	assert_string_equal(mf->e[0].alg, "SHA1");
	assert_string_equal(mf->e[0].file, "a.ovf");
	assert_string_equal(mf->e[0].hex, "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(mf->e[1].file, "dir/b c.vmdk");
	vmie_mf_free(mf);
	const char *bad[] = {
		"SHA1(a.ovf)= 0123\n",
		"SHA1 a.ovf = 0123456789abcdef0123456789abcdef01234567\n",
		"CRC(a)= 00\n",
		"SHA1()= 0123456789abcdef0123456789abcdef01234567\n",
		"SHA1(a)= 0123456789abcdef0123456789abcdef0123456z\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		vmie_err_clear(&err);
		assert_int_equal(vmie_mf_parse(bad[i], strlen(bad[i]), "t.mf",
					       &mf, &err), VMIE_ECORRUPT);
		assert_non_null(strstr(err.msg, "t.mf: line 1"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test_setup_teardown(test_tar_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_multi, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
