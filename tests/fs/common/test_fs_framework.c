/* lib/fs/fs.c: path resolution over a mock driver (symlinks inside the
 * guest, "..", loops, limits) and probing of the containers vmie
 * recognises without a reader (swap, LUKS, BitLocker, LVM2, MD RAID). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "fs/fs.h"
#include "io/io.h"

/* ---- a mock file system: a fixed table of inodes ---- */
struct mock_ino {
	vmie_ino_t ino, parent;
	const char *name;
	enum vmie_ftype type;
	const char *data;       /* file contents or link target */
};

static const struct mock_ino mock_tab[] = {
	{ 1, 1, "", VMIE_FT_DIR, NULL },
	{ 2, 1, "etc", VMIE_FT_DIR, NULL },
	{ 3, 1, "abs", VMIE_FT_LNK, "/etc/passwd" },
	{ 4, 1, "loop1", VMIE_FT_LNK, "loop2" },
	{ 5, 1, "loop2", VMIE_FT_LNK, "loop1" },
	{ 6, 1, "up", VMIE_FT_LNK, "../../../etc" },
	{ 7, 1, "self", VMIE_FT_LNK, "." },
	{ 8, 2, "passwd", VMIE_FT_REG, "root:x:0:0::/root:/bin/sh\n" },
	{ 9, 2, "rel", VMIE_FT_LNK, "../etc/passwd" },
	{ 10, 2, "parent", VMIE_FT_LNK, ".." },
	{ 11, 1, "hostescape", VMIE_FT_LNK, "/../../../../proc/self" },
	{ 12, 1, "selfloop", VMIE_FT_LNK, "selfloop/x" },
	{ 13, 1, "empty", VMIE_FT_LNK, "" },
};
#define MOCK_N (sizeof mock_tab / sizeof mock_tab[0])

static const struct mock_ino *mock_get(vmie_ino_t ino)
{
	for (size_t i = 0; i < MOCK_N; i++)
		if (mock_tab[i].ino == ino)
			return &mock_tab[i];
	return NULL;
}

static int mock_lookup(struct vmie_fs *fs, vmie_ino_t dir, const char *name,
		       vmie_ino_t *out, struct vmie_err *err)
{
	(void)fs;
	for (size_t i = 1; i < MOCK_N; i++)
		if (mock_tab[i].parent == dir &&
		    !strcmp(mock_tab[i].name, name)) {
			*out = mock_tab[i].ino;
			return 0;
		}
	return VMIE_ERR(err, VMIE_ENOENT, "mock: %s", name);
}

static int mock_stat(struct vmie_fs *fs, vmie_ino_t ino, struct vmie_stat *st,
		     struct vmie_err *err)
{
	(void)fs;
	const struct mock_ino *m = mock_get(ino);
	if (!m)
		return VMIE_ERR(err, VMIE_ECORRUPT, "mock: ino");
	memset(st, 0, sizeof *st);
	st->type = m->type;
	st->ino = ino;
	st->size = m->data ? strlen(m->data) : 0;
	return 0;
}

static int mock_read(struct vmie_fs *fs, vmie_ino_t ino, void *buf,
		     size_t len, uint64_t off, size_t *got,
		     struct vmie_err *err)
{
	(void)fs, (void)err;
	const struct mock_ino *m = mock_get(ino);
	size_t sz = strlen(m->data);
	*got = 0;
	if (off >= sz)
		return 0;
	/* short reads on purpose: the framework must loop */
	size_t n = sz - (size_t)off < len ? sz - (size_t)off : len;
	if (n > 5)
		n = 5;
	memcpy(buf, m->data + off, n);
	*got = n;
	return 0;
}

static int mock_readdir(struct vmie_fs *fs, vmie_ino_t dir, vmie_dirent_cb cb,
			void *ctx, struct vmie_err *err)
{
	(void)fs, (void)err;
	for (size_t i = 1; i < MOCK_N; i++) {
		if (mock_tab[i].parent != dir)
			continue;
		struct vmie_dirent d = { .type = mock_tab[i].type,
					 .ino = mock_tab[i].ino };
		snprintf(d.name, sizeof d.name, "%s", mock_tab[i].name);
		int r = cb(ctx, &d);
		if (r)
			return r;
	}
	return 0;
}

static int mock_readlink(struct vmie_fs *fs, vmie_ino_t ino, char *buf,
			 size_t size, struct vmie_err *err)
{
	(void)fs, (void)err;
	snprintf(buf, size, "%s", mock_get(ino)->data);
	return 0;
}

static const struct vmie_fs_driver mock_drv = {
	.name = "mock", .lookup = mock_lookup, .stat = mock_stat,
	.read = mock_read, .readdir = mock_readdir,
	.readlink = mock_readlink,
};

static struct vmie_fs mock_fs = {
	.drv = &mock_drv, .info = { .type = "mock" }, .root = 1,
};

static vmie_ino_t res(const char *path, bool follow, int *rc)
{
	struct vmie_err err = { 0 };
	vmie_ino_t ino = 0;
	*rc = vmie_fs_resolve(&mock_fs, path, follow, &ino, &err);
	return ino;
}

static void test_resolve_basic(void **state)
{
	(void)state;
	int rc;
	assert_int_equal(res("/", true, &rc), 1);
	assert_int_equal(rc, 0);
	assert_int_equal(res("/etc/passwd", true, &rc), 8);
	assert_int_equal(res("//etc///./passwd", true, &rc), 8);
	assert_int_equal(res("etc/passwd", true, &rc), 8);
	assert_int_equal(res("/etc/../etc/passwd", true, &rc), 8);
	/* ".." at the root stays at the root */
	assert_int_equal(res("/../../../etc/passwd", true, &rc), 8);
	assert_int_equal(rc, 0);
	res("/etc/nothere", true, &rc);
	assert_int_equal(rc, VMIE_ENOENT);
	/* a file used as a directory */
	res("/etc/passwd/x", true, &rc);
	assert_int_equal(rc, VMIE_ENOENT);
}

static void test_resolve_links(void **state)
{
	(void)state;
	int rc;
	assert_int_equal(res("/abs", true, &rc), 8);
	assert_int_equal(res("/abs", false, &rc), 3);
	assert_int_equal(res("/etc/rel", true, &rc), 8);
	assert_int_equal(res("/up/passwd", true, &rc), 8);
	assert_int_equal(res("/self/self/etc/parent/etc/rel", true, &rc), 8);
	assert_int_equal(rc, 0);
	/* an absolute target is relative to the guest root, never the host */
	res("/hostescape", true, &rc);
	assert_int_equal(rc, VMIE_ENOENT);
	/* loops end with an error */
	struct vmie_err err = { 0 };
	vmie_ino_t ino;
	rc = vmie_fs_resolve(&mock_fs, "/loop1", true, &ino, &err);
	assert_int_equal(rc, VMIE_ERANGE);
	assert_non_null(strstr(err.msg, "symbolic links"));
	res("/selfloop", true, &rc);
	assert_int_equal(rc, VMIE_ERANGE);
	res("/empty", true, &rc);
	assert_int_equal(rc, VMIE_ENOENT);
	/* lstat of the loop itself works */
	assert_int_equal(res("/loop1", false, &rc), 4);
	assert_int_equal(rc, 0);
}

static void test_resolve_limits(void **state)
{
	(void)state;
	int rc;
	char big[5000];
	memset(big, 'a', 300);
	big[0] = '/';
	big[300] = 0;
	res(big, true, &rc);
	assert_int_equal(rc, VMIE_ERANGE);
	memset(big, '/', sizeof big - 1);
	big[sizeof big - 1] = 0;
	res(big, true, &rc);
	assert_int_equal(rc, VMIE_ERANGE);
	/* many ".." and "." are fine */
	char *p = big;
	for (int i = 0; i < 500; i++)
		p += sprintf(p, "/etc/..");
	strcpy(p, "/etc/passwd");
	assert_int_equal(res(big, true, &rc), 8);
	assert_int_equal(rc, 0);
}

static void test_path_ops(void **state)
{
	(void)state;
	struct vmie_err err = { 0 };
	char *buf;
	size_t len;
	assert_int_equal(vmie_fs_read_file(&mock_fs, "/abs", 1024, &buf, &len,
					   &err), 0);
	assert_int_equal(len, 26);
	assert_string_equal(buf, "root:x:0:0::/root:/bin/sh\n");
	free(buf);
	assert_int_equal(vmie_fs_read_file(&mock_fs, "/abs", 10, &buf, &len,
					   &err), VMIE_ENOMEM);
	assert_int_equal(vmie_fs_read_file(&mock_fs, "/etc", 10, &buf, &len,
					   &err), VMIE_EINVAL);
	char b[8];
	size_t got;
	assert_int_equal(vmie_fs_pread(&mock_fs, "/etc/passwd", b, 8, 19,
				       &got, &err), 0);
	assert_int_equal(got, 7);
	assert_memory_equal(b, "bin/sh\n", 7);
	char t[64];
	assert_int_equal(vmie_fs_readlink(&mock_fs, "/etc/rel", t, sizeof t,
					  &err), 0);
	assert_string_equal(t, "../etc/passwd");
	assert_int_equal(vmie_fs_readlink(&mock_fs, "/etc/passwd", t,
					  sizeof t, &err), VMIE_EINVAL);
	assert_true(vmie_fs_exists(&mock_fs, "/loop1"));
	assert_false(vmie_fs_exists(&mock_fs, "/nope"));
	assert_true(vmie_fs_is_dir(&mock_fs, "/up"));
	assert_false(vmie_fs_is_dir(&mock_fs, "/abs"));
	struct vmie_stat st;
	assert_int_equal(vmie_fs_stat(&mock_fs, "/abs", &st, &err), 0);
	assert_int_equal(st.type, VMIE_FT_REG);
	assert_int_equal(vmie_fs_lstat(&mock_fs, "/abs", &st, &err), 0);
	assert_int_equal(st.type, VMIE_FT_LNK);
}

/* ---- probing of the unreadable containers ---- */

static struct vmie_image *mem_image(uint8_t *buf, size_t len)
{
	struct vmie_src *src;
	struct vmie_image *img;
	assert_int_equal(vmie_src_open_mem(buf, len, false, "mem", &src, NULL),
			 0);
	assert_int_equal(vmie_image_open_src(src, &(struct vmie_open_opts){
					     .format = "raw" }, &img, NULL), 0);
	vmie_src_unref(src);
	return img;
}

static void probe_buf(uint8_t *buf, size_t len, struct vmie_fs_probe *p)
{
	struct vmie_image *img = mem_image(buf, len);
	vmie_fs_probe(img, p);
	struct vmie_fs *fs = NULL;
	struct vmie_err err = { 0 };
	int r = vmie_fs_open(img, &fs, &err);
	if (p->type[0]) {
		assert_int_equal(r, VMIE_EUNSUPP);
		assert_non_null(strstr(err.msg, p->type));
	} else {
		assert_int_equal(r, VMIE_EFORMAT);
	}
	assert_null(fs);
	vmie_image_close(img);
}

static void test_probe_containers(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	uint8_t *b = calloc(1, len);
	struct vmie_fs_probe p;

	probe_buf(b, len, &p);
	assert_string_equal(p.type, "");

	memcpy(b + 4096 - 10, "SWAPSPACE2", 10);
	vmie_put_le32(b + 1024, 1);
	vmie_put_le32(b + 1028, 255);
	for (int i = 0; i < 16; i++)
		b[1036 + i] = (uint8_t)(0x10 + i);
	memcpy(b + 1052, "myswap", 6);
	probe_buf(b, len, &p);
	assert_string_equal(p.type, "swap");
	assert_string_equal(p.uuid, "10111213-1415-1617-1819-1a1b1c1d1e1f");
	assert_string_equal(p.label, "myswap");
	assert_int_equal(p.size, 256 * 4096);
	assert_false(p.readable);
	memset(b, 0, 8192);

	memcpy(b, "LUKS\xba\xbe\x00\x02", 8);
	memcpy(b + 24, "secret", 6);
	memcpy(b + 168, "0f1e2d3c-0000-4000-8000-0123456789ab", 36);
	probe_buf(b, len, &p);
	assert_string_equal(p.type, "crypto_LUKS");
	assert_string_equal(p.version, "2");
	assert_string_equal(p.label, "secret");
	assert_string_equal(p.uuid, "0f1e2d3c-0000-4000-8000-0123456789ab");
	assert_true(p.encrypted);
	memset(b, 0, 8192);

	memcpy(b + 3, "-FVE-FS-", 8);
	probe_buf(b, len, &p);
	assert_string_equal(p.type, "BitLocker");
	assert_true(p.encrypted);
	memset(b, 0, 8192);

	memcpy(b + 512, "LABELONE", 8);
	vmie_put_le32(b + 512 + 20, 32);
	memcpy(b + 512 + 24, "LVM2 001", 8);
	memcpy(b + 512 + 32, "abcdefghijklmnopqrstuvwxyz012345", 32);
	probe_buf(b, len, &p);
	assert_string_equal(p.type, "LVM2_member");
	assert_string_equal(p.uuid,
			    "abcdef-ghij-klmn-opqr-stuv-wxyz-012345");
	memset(b, 0, 8192);

	vmie_put_le32(b + 4096, 0xa92b4efc);
	vmie_put_le32(b + 4100, 1);
	for (int i = 0; i < 16; i++)
		b[4096 + 16 + i] = (uint8_t)i;
	memcpy(b + 4096 + 32, "host:0", 6);
	probe_buf(b, len, &p);
	assert_string_equal(p.type, "linux_raid_member");
	assert_string_equal(p.version, "1.2");
	assert_string_equal(p.label, "host:0");
	assert_string_equal(p.uuid, "00010203-0405-0607-0809-0a0b0c0d0e0f");
	memset(b, 0, 8192);

	/* 0.90 at the end */
	size_t off = len - 65536;
	vmie_put_le32(b + off, 0xa92b4efc);
	probe_buf(b, len, &p);
	assert_string_equal(p.type, "linux_raid_member");
	assert_string_equal(p.version, "0.90.0");
	memset(b + off, 0, 8);

	/* too small for anything: no crash, nothing found */
	probe_buf(b, 100, &p);
	assert_string_equal(p.type, "");
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_basic),
		cmocka_unit_test(test_resolve_links),
		cmocka_unit_test(test_resolve_limits),
		cmocka_unit_test(test_path_ops),
		cmocka_unit_test(test_probe_containers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
