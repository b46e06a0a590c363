/* lib/modify bcd.c: the BIOS \Boot\BCD store of a Windows guest moved
 * from GPT/UEFI to MBR/BIOS (issue 14).  The store is written to a temp
 * file and read back with hivex's reader; bcd.sh checks the same store
 * with hivexget, hivexregedit and libregf's regfexport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/endian.h"
#include "core/err.h"
#include "modify/bcd.h"

#define BOOTMGR "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
#define GLOBALS "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}"
#define LDRSETS "{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}"
#define DBGSETS "{4636856e-540f-4170-a130-a84776f4c654}"
#define EMSSETS "{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}"
#define BADMEM  "{5189b25c-5558-4bf2-bca4-289b11bd29e2}"
#define HVSETS  "{7ff607e0-4395-11db-b0de-0800200c9a66}"

/* The device element of a real Windows 8.1 store on an MBR disk
 * ("partition=C:"), as published by mistyprojects.co.uk ("BCDEdit -
 * Devices Partition - Data"): signature b3eba8f1, partition at byte
 * 0x15f00000.  Our encoder must give exactly these bytes. */
static const uint8_t win81_device[88] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x48, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xf0, 0x15, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xf1, 0xa8, 0xeb, 0xb3, 0x00, 0x00, 0x00, 0x00,
	[88 - 1] = 0x00,
};

static void device_matches_real_store(void **state)
{
	(void)state;
	uint8_t d[VMIE_BCD_DEVICE_LEN];
	assert_int_equal(VMIE_BCD_DEVICE_LEN, sizeof win81_device);
	vmie_bcd_device_mbr(d, 0xb3eba8f1, 0x15f00000);
	assert_memory_equal(d, win81_device, sizeof d);

	/* and the documented offsets, field by field */
	vmie_bcd_device_mbr(d, 0x11223344, 0x0000012345678000ULL);
	assert_int_equal(vmie_le32(d + 0x10), 6);
	assert_int_equal(vmie_le32(d + 0x14), 0);
	assert_int_equal(vmie_le32(d + 0x18), 0x48);
	assert_true(vmie_le64(d + 0x20) == 0x0000012345678000ULL);
	assert_int_equal(vmie_le32(d + 0x30), 0);
	assert_int_equal(vmie_le32(d + 0x34), 1);
	assert_int_equal(vmie_le32(d + 0x38), 0x11223344);
	for (size_t i = 0; i < 0x10; i++)
		assert_int_equal(d[i], 0);
	for (size_t i = 0x3C; i < sizeof d; i++)
		assert_int_equal(d[i], 0);
}

static void device_decode(void **state)
{
	(void)state;
	struct vmie_bcd_device d;
	char text[200];
	assert_int_equal(vmie_bcd_device_decode(win81_device,
						sizeof win81_device, &d), 0);
	assert_true(d.partition);
	assert_false(d.has_options);
	assert_int_equal(d.type, VMIE_BCD_DEV_PARTITION);
	assert_int_equal(d.size, 0x48);
	assert_int_equal(d.style, VMIE_BCD_STYLE_MBR);
	assert_true(d.part_offset == 0x15f00000);
	assert_int_equal(d.disk_signature, 0xb3eba8f1);
	vmie_bcd_device_format(&d, text, sizeof text);
	assert_string_equal(text, "partition mbr signature=0xb3eba8f1 "
			    "offset=368050176");

	/* a GPT partition device (the UEFI form the guest had before) */
	uint8_t g[88] = { 0 };
	memcpy(g, win81_device, 0x20);
	for (int i = 0; i < 16; i++) {
		g[0x20 + i] = (uint8_t)(0xA0 + i);
		g[0x38 + i] = (uint8_t)(0x10 + i);
	}
	assert_int_equal(vmie_bcd_device_decode(g, sizeof g, &d), 0);
	assert_true(d.partition);
	assert_int_equal(d.style, VMIE_BCD_STYLE_GPT);
	assert_int_equal(d.part_guid[0], 0xA0);
	assert_int_equal(d.disk_guid[15], 0x1F);
	vmie_bcd_device_format(&d, text, sizeof text);
	assert_string_equal(text, "partition gpt disk={13121110-1514-1716-"
			    "1819-1a1b1c1d1e1f} partition={a3a2a1a0-a5a4-"
			    "a7a6-a8a9-aaabacadaeaf}");

	/* "boot" and an options object (ramdisk-like) */
	uint8_t bt[88];
	memcpy(bt, win81_device, sizeof bt);
	vmie_put_le32(bt + 0x10, VMIE_BCD_DEV_BOOT);
	bt[0] = 0xc8;
	assert_int_equal(vmie_bcd_device_decode(bt, sizeof bt, &d), 0);
	assert_false(d.partition);
	assert_true(d.has_options);
	vmie_bcd_device_format(&d, text, sizeof text);
	assert_string_equal(text, "boot options={000000c8-0000-0000-"
			    "0000-000000000000}");

	/* too short for what it says */
	assert_int_equal(vmie_bcd_device_decode(win81_device, 0x1F, &d),
			 VMIE_ECORRUPT);
	assert_int_equal(vmie_bcd_device_decode(win81_device, 0x57, &d),
			 VMIE_ECORRUPT);       /* size 0x48 needs 0x58 */
	uint8_t s[88];
	memcpy(s, win81_device, sizeof s);
	vmie_put_le32(s + 0x18, 0x20);         /* ends before the signature */
	assert_int_equal(vmie_bcd_device_decode(s, sizeof s, &d),
			 VMIE_ECORRUPT);
	vmie_put_le32(s + 0x18, 0xFFFFFFF0);
	assert_int_equal(vmie_bcd_device_decode(s, sizeof s, &d),
			 VMIE_ECORRUPT);
	memcpy(s, win81_device, sizeof s);
	vmie_put_le32(s + 0x34, 7);            /* unknown style */
	assert_int_equal(vmie_bcd_device_decode(s, sizeof s, &d), 0);
	assert_false(d.partition);
	assert_int_equal(vmie_bcd_device_decode(NULL, 88, &d), VMIE_ECORRUPT);
}

static void loader_guid(void **state)
{
	(void)state;
	char g[39], h[39];
	/* Python: uuid.uuid5(uuid.NAMESPACE_URL,
	 *                    "urn:vmie:bcd:bios-loader:b3eba8f1:1048576") */
	vmie_bcd_loader_guid(0xb3eba8f1, 1048576, g);
	assert_string_equal(g, "{051804d9-4b83-51b2-bd06-49c315862992}");
	vmie_bcd_loader_guid(0xb3eba8f1, 2097152, h);
	assert_string_not_equal(g, h);
	vmie_bcd_loader_guid(0xb3eba8f2, 1048576, h);
	assert_string_not_equal(g, h);
	assert_int_equal(h[15], '5');          /* version 5 */
}

/* ---- the whole store, read back with hivex ---- */

struct store {
	char path[64];
	hive_h *h;
	void *buf;
	size_t len;
};

static void store_build(struct store *s, const struct vmie_bcd_bios *b)
{
	char why[256] = "unset";
	memset(s, 0, sizeof *s);
	int rc = vmie_bcd_build_bios(b, &s->buf, &s->len, why, sizeof why);
	if (rc)
		fail_msg("build: %s", why);
	snprintf(s->path, sizeof s->path, "/tmp/vmie-test-bcd.XXXXXX");
	int fd = mkstemp(s->path);
	assert_true(fd >= 0);
	assert_true(write(fd, s->buf, s->len) == (ssize_t)s->len);
	close(fd);

	/* hivex's own open, verbose: it must report success and nothing
	 * else (no warning, no "bad", no "trailing garbage") */
	char log[] = "/tmp/vmie-test-bcd-log.XXXXXX";
	int lfd = mkstemp(log);
	assert_true(lfd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(lfd, 2);
	s->h = hivex_open(s->path, HIVEX_OPEN_VERBOSE);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char text[4096] = "";
	ssize_t n = pread(lfd, text, sizeof text - 1, 0);
	close(lfd);
	unlink(log);
	assert_non_null(s->h);
	assert_true(n > 0);
	text[n] = 0;
	assert_non_null(strstr(text, "successfully read Windows Registry "
			       "hive file"));
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "hivex:", 6) &&
		    !strstr(line, "successfully read") &&
		    !strstr(line, "hivex_close"))
			fail_msg("hivex said: %s", line);
}

static void store_free(struct store *s)
{
	if (s->h)
		hivex_close(s->h);
	unlink(s->path);
	free(s->buf);
}

/* the node at a backslash path below the root, or 0 */
static hive_node_h node_at(hive_h *h, const char *path)
{
	char p[256], *save = NULL;
	hive_node_h n = hivex_root(h);
	snprintf(p, sizeof p, "%s", path);
	for (char *c = strtok_r(p, "\\", &save); c && n;
	     c = strtok_r(NULL, "\\", &save))
		n = hivex_node_get_child(h, n, c);
	return n;
}

/* Objects\obj\Elements\type's Element: its bytes (malloc'd) */
static char *elem(hive_h *h, const char *obj, const char *type,
		  hive_type *t, size_t *len)
{
	char p[128];
	snprintf(p, sizeof p, "Objects\\%s\\Elements\\%s", obj, type);
	hive_node_h n = node_at(h, p);
	if (!n)
		return NULL;
	hive_value_h v = hivex_node_get_value(h, n, "Element");
	if (!v)
		fail_msg("%s has no Element", p);
	char *val = hivex_value_value(h, v, t, len);
	assert_non_null(val);
	return val;
}

static void want_string(hive_h *h, const char *obj, const char *type,
			  const char *want)
{
	hive_type t;
	size_t len;
	char *v = elem(h, obj, type, &t, &len);
	if (!v)
		fail_msg("%s\\%s missing", obj, type);
	assert_int_equal(t, hive_t_REG_SZ);
	char p[128];
	snprintf(p, sizeof p, "Objects\\%s\\Elements\\%s", obj, type);
	char *s = hivex_value_string(h, hivex_node_get_value(h,
					node_at(h, p), "Element"));
	assert_non_null(s);
	assert_string_equal(s, want);
	assert_int_equal(len, (strlen(want) + 1) * 2);
	free(s);
	free(v);
}

static uint64_t want_int(hive_h *h, const char *obj, const char *type)
{
	hive_type t;
	size_t len;
	char *v = elem(h, obj, type, &t, &len);
	if (!v)
		fail_msg("%s\\%s missing", obj, type);
	assert_int_equal(t, hive_t_REG_BINARY);
	assert_int_equal(len, 8);
	uint64_t x = vmie_le64(v);
	free(v);
	return x;
}

static int want_bool(hive_h *h, const char *obj, const char *type)
{
	hive_type t;
	size_t len;
	char *v = elem(h, obj, type, &t, &len);
	if (!v)
		fail_msg("%s\\%s missing", obj, type);
	assert_int_equal(t, hive_t_REG_BINARY);
	assert_int_equal(len, 1);
	int x = (unsigned char)v[0];
	free(v);
	return x;
}

/* the object list, joined with spaces */
static void want_list(hive_h *h, const char *obj, const char *type,
			const char *want)
{
	char p[128], got[512] = "";
	snprintf(p, sizeof p, "Objects\\%s\\Elements\\%s", obj, type);
	hive_node_h n = node_at(h, p);
	if (!n)
		fail_msg("%s missing", p);
	hive_value_h v = hivex_node_get_value(h, n, "Element");
	hive_type t;
	size_t len;
	assert_int_equal(hivex_value_type(h, v, &t, &len), 0);
	assert_int_equal(t, hive_t_REG_MULTI_SZ);
	char **l = hivex_value_multiple_strings(h, v);
	assert_non_null(l);
	/* hivex 1.3 reports the list's closing NUL as one more, empty,
	 * string: skip it, and check the size of the raw value instead */
	size_t units = 1;
	for (size_t i = 0; l[i]; i++) {
		if (l[i][0]) {
			if (got[0])
				strcat(got, " ");
			strcat(got, l[i]);
			units += strlen(l[i]) + 1;
		}
		free(l[i]);
	}
	free(l);
	assert_string_equal(got, want);
	assert_int_equal(len, units * 2);
}

static void want_device(hive_h *h, const char *obj, const char *type,
			  uint32_t sig, uint64_t off)
{
	hive_type t;
	size_t len;
	struct vmie_bcd_device d;
	char *v = elem(h, obj, type, &t, &len);
	if (!v)
		fail_msg("%s\\%s missing", obj, type);
	assert_int_equal(t, hive_t_REG_BINARY);
	assert_int_equal(len, VMIE_BCD_DEVICE_LEN);
	assert_int_equal(vmie_bcd_device_decode(v, len, &d), 0);
	assert_true(d.partition);
	assert_int_equal(d.style, VMIE_BCD_STYLE_MBR);
	assert_int_equal(d.disk_signature, sig);
	assert_true(d.part_offset == off);
	free(v);
}

static uint32_t object_type(hive_h *h, const char *obj)
{
	char p[128];
	snprintf(p, sizeof p, "Objects\\%s\\Description", obj);
	hive_node_h n = node_at(h, p);
	if (!n)
		fail_msg("%s missing", p);
	hive_value_h v = hivex_node_get_value(h, n, "Type");
	assert_true(v != 0);
	hive_type t;
	size_t len;
	assert_int_equal(hivex_value_type(h, v, &t, &len), 0);
	assert_int_equal(t, hive_t_REG_DWORD);
	return (uint32_t)hivex_value_dword(h, v);
}

static bool has_elem(hive_h *h, const char *obj, const char *type)
{
	char p[128];
	snprintf(p, sizeof p, "Objects\\%s\\Elements\\%s", obj, type);
	return node_at(h, p) != 0;
}

static const struct vmie_bcd_bios win10 = {
	.disk_signature = 0x5eed1e55,
	.boot_part_offset = 1048576,           /* System Reserved */
	.os_part_offset = 0x1F500000,          /* C: */
	.systemroot = "\\Windows",
	.locale = "de-DE",
	.description = "Windows 10 Enterprise",
	.win8_or_later = true,
};

static void store_contents(void **state)
{
	(void)state;
	struct store s;
	char loader[39];
	store_build(&s, &win10);
	hive_h *h = s.h;
	vmie_bcd_loader_guid(win10.disk_signature, win10.os_part_offset,
			     loader);

	char *root = hivex_node_name(h, hivex_root(h));
	assert_string_equal(root, "NewStoreRoot");
	free(root);
	hive_node_h d = node_at(h, "Description");
	assert_true(d != 0);
	char *kn = hivex_value_string(h, hivex_node_get_value(h, d,
							       "KeyName"));
	assert_string_equal(kn, "BCD00000000");
	free(kn);
	assert_int_equal(hivex_value_dword(h, hivex_node_get_value(h, d,
								  "System")), 1);
	/* exactly the eight objects */
	hive_node_h *objs = hivex_node_children(h, node_at(h, "Objects"));
	size_t nobj = 0;
	while (objs[nobj])
		nobj++;
	free(objs);
	assert_int_equal(nobj, 8);

	/* {bootmgr} */
	assert_int_equal(object_type(h, BOOTMGR), 0x10100002);
	want_device(h, BOOTMGR, "11000001", 0x5eed1e55, 1048576);
	assert_false(has_elem(h, BOOTMGR, "12000002"));    /* no path */
	want_string(h, BOOTMGR, "12000004", "Windows Boot Manager");
	want_string(h, BOOTMGR, "12000005", "de-DE");
	want_list(h, BOOTMGR, "14000006", GLOBALS);
	want_string(h, BOOTMGR, "23000003", loader);
	want_list(h, BOOTMGR, "24000001", loader);
	assert_int_equal(want_int(h, BOOTMGR, "25000004"), 30);

	/* the Windows Boot Loader */
	assert_int_equal(object_type(h, loader), 0x10200003);
	want_device(h, loader, "11000001", 0x5eed1e55, 0x1F500000);
	want_device(h, loader, "21000001", 0x5eed1e55, 0x1F500000);
	want_string(h, loader, "12000002", "\\Windows\\system32\\winload.exe");
	want_string(h, loader, "12000004", "Windows 10 Enterprise");
	want_string(h, loader, "12000005", "de-DE");
	want_list(h, loader, "14000006", LDRSETS);
	want_string(h, loader, "22000002", "\\Windows");
	assert_int_equal(want_int(h, loader, "25000020"), 0);   /* OptIn */
	assert_int_equal(want_int(h, loader, "250000c2"), 1);   /* Standard */
	assert_int_equal(want_int(h, loader, "17000077"), 0x15000075);
	assert_int_equal(want_bool(h, loader, "260000b0"), 0);  /* ems off */
	assert_false(has_elem(h, loader, "23000003"));    /* no resume */
	assert_false(has_elem(h, loader, "14000008"));    /* no recovery */

	/* the inherited settings */
	assert_int_equal(object_type(h, GLOBALS), 0x20100000);
	want_string(h, GLOBALS, "12000005", "de-DE");
	want_list(h, GLOBALS, "14000006", DBGSETS " " EMSSETS " " BADMEM);
	assert_int_equal(object_type(h, LDRSETS), 0x20200003);
	want_list(h, LDRSETS, "14000006", GLOBALS " " HVSETS);
	assert_int_equal(object_type(h, DBGSETS), 0x20100000);
	assert_int_equal(want_int(h, DBGSETS, "15000011"), 0);
	assert_int_equal(want_int(h, DBGSETS, "15000013"), 1);
	assert_int_equal(want_int(h, DBGSETS, "15000014"), 115200);
	assert_int_equal(object_type(h, EMSSETS), 0x20100000);
	assert_int_equal(want_bool(h, EMSSETS, "16000020"), 0);
	assert_int_equal(object_type(h, BADMEM), 0x20100000);
	assert_true(node_at(h, "Objects\\" BADMEM "\\Elements") != 0);
	assert_int_equal(object_type(h, HVSETS), 0x20200003);
	assert_int_equal(want_int(h, HVSETS, "250000f3"), 0);
	assert_int_equal(want_int(h, HVSETS, "250000f4"), 1);
	assert_int_equal(want_int(h, HVSETS, "250000f5"), 115200);
	store_free(&s);
}

/* Vista and 7: no bootmenupolicy, no allowedinmemorysettings */
static void store_legacy(void **state)
{
	(void)state;
	struct vmie_bcd_bios b = win10;
	struct store s;
	char loader[39];
	b.win8_or_later = false;
	b.os_part_offset = b.boot_part_offset;
	b.systemroot = NULL;
	b.locale = NULL;
	b.description = "Windows 7 Professional";
	store_build(&s, &b);
	vmie_bcd_loader_guid(b.disk_signature, b.os_part_offset, loader);
	assert_false(has_elem(s.h, loader, "250000c2"));
	assert_false(has_elem(s.h, loader, "17000077"));
	want_string(s.h, loader, "12000005", "en-US");
	want_string(s.h, loader, "22000002", "\\Windows");
	want_device(s.h, BOOTMGR, "11000001", b.disk_signature,
		      b.boot_part_offset);
	want_device(s.h, loader, "21000001", b.disk_signature,
		      b.boot_part_offset);
	store_free(&s);
}

/* the base block and the first bin, by the format specification */
static void store_header(void **state)
{
	(void)state;
	void *buf;
	size_t len;
	char why[256];
	assert_int_equal(vmie_bcd_build_bios(&win10, &buf, &len, why,
					     sizeof why), 0);
	const uint8_t *p = buf;
	assert_true(len >= 8192 && len % 4096 == 0);
	assert_memory_equal(p, "regf", 4);
	assert_int_equal(vmie_le32(p + 4), vmie_le32(p + 8));
	assert_int_equal(vmie_le32(p + 20), 1);
	assert_int_equal(vmie_le32(p + 24), 5);
	assert_int_equal(vmie_le32(p + 40), len - 4096);
	uint32_t sum = 0;
	for (size_t i = 0; i < 508; i += 4)
		sum ^= vmie_le32(p + i);
	assert_int_equal(vmie_le32(p + 508), sum);
	assert_memory_equal(p + 4096, "hbin", 4);
	uint32_t root = vmie_le32(p + 36);
	const uint8_t *nk = p + 4096 + root + 4;
	assert_memory_equal(nk, "nk", 2);
	assert_int_equal(vmie_le16(nk + 2) & 0x0004, 0x0004);  /* hive root */
	assert_int_equal(vmie_le16(nk + 72), 12);
	assert_memory_equal(nk + 76, "NewStoreRoot", 12);
	/* the root's security cell */
	const uint8_t *sk = p + 4096 + vmie_le32(nk + 44) + 4;
	assert_memory_equal(sk, "sk", 2);
	assert_true(vmie_le32(sk + 12) > 1);      /* every key refers to it */
	/* every hbin is where its header says, back to back, and its cells
	 * fill it exactly; what Windows relies on and hivex does not check:
	 * every key uses the one security cell (so its count is the number
	 * of keys), and "lh" subkey lists hold the hash of the upper-case
	 * name (spec: H = 37 * H + c) in sorted order */
	uint32_t sk_off = vmie_le32(nk + 44);
	size_t nks = 0, lhs = 0;
	for (size_t off = 4096; off < len;) {
		assert_memory_equal(p + off, "hbin", 4);
		assert_int_equal(vmie_le32(p + off + 4), off - 4096);
		uint32_t sz = vmie_le32(p + off + 8);
		assert_true(sz >= 4096 && sz % 4096 == 0 && off + sz <= len);
		size_t c = off + 32;
		while (c < off + sz) {
			int32_t cs = (int32_t)vmie_le32(p + c);
			size_t n = (size_t)(cs < 0 ? -(int64_t)cs : cs);
			assert_true(n >= 8 && n % 8 == 0 && c + n <= off + sz);
			const uint8_t *r = p + c + 4;
			if (cs < 0 && !memcmp(r, "nk", 2)) {
				nks++;
				assert_int_equal(vmie_le32(r + 44), sk_off);
			}
			if (cs < 0 && !memcmp(r, "lh", 2)) {
				lhs++;
				char prev[64] = "";
				for (size_t i = 0; i < vmie_le16(r + 2); i++) {
					const uint8_t *k = p + 4096 + 4 +
						vmie_le32(r + 4 + 8 * i);
					size_t kl = vmie_le16(k + 72);
					char name[64];
					uint32_t hash = 0;
					assert_memory_equal(k, "nk", 2);
					assert_true(kl < sizeof name);
					for (size_t j = 0; j < kl; j++) {
						char u = (char)k[76 + j];
						if (u >= 'a' && u <= 'z')
							u = (char)(u - 32);
						name[j] = u;
						hash = 37 * hash + (uint8_t)u;
					}
					name[kl] = 0;
					assert_int_equal(vmie_le32(r + 8 + 8 * i),
							 hash);
					assert_true(strcmp(prev, name) < 0);
					memcpy(prev, name, kl + 1);
				}
			}
			c += n;
		}
		assert_int_equal(c, off + sz);
		off += sz;
	}
	/* root, Description, Objects; per object 3 keys and its elements:
	 * bootmgr 7, loader 11, global 2, bootloader 1, dbg 3, ems 1,
	 * badmemory 0, hypervisor 3 */
	assert_int_equal(nks, 3 + 8 * 3 + 7 + 11 + 2 + 1 + 3 + 1 + 0 + 3);
	assert_int_equal(vmie_le32(sk + 12), nks);
	/* one list per key with subkeys: the root, Objects, the 8 objects,
	 * 7 Elements keys ({badmemory}'s is empty) */
	assert_int_equal(lhs, 1 + 1 + 8 + 7);
	free(buf);
}

static void store_reproducible(void **state)
{
	(void)state;
	void *a, *b, *c;
	size_t la, lb, lc;
	char why[256];
	struct vmie_bcd_bios other = win10;
	other.disk_signature++;
	assert_int_equal(vmie_bcd_build_bios(&win10, &a, &la, why,
					     sizeof why), 0);
	assert_int_equal(vmie_bcd_build_bios(&win10, &b, &lb, why,
					     sizeof why), 0);
	assert_int_equal(vmie_bcd_build_bios(&other, &c, &lc, why,
					     sizeof why), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_true(la != lc || memcmp(a, c, la));
	free(a);
	free(b);
	free(c);
}

static void want_refused(const struct vmie_bcd_bios *b, const char *what)
{
	void *out = (void *)1;
	size_t len = 1;
	char why[256] = "";
	assert_int_equal(vmie_bcd_build_bios(b, &out, &len, why, sizeof why),
			 VMIE_EINVAL);
	assert_null(out);
	assert_int_equal(len, 0);
	if (!strstr(why, what))
		fail_msg("'%s' does not name '%s'", why, what);
}

static void bad_input(void **state)
{
	(void)state;
	struct vmie_bcd_bios b;

	b = win10; b.disk_signature = 0;
	want_refused(&b, "signature is 0");
	b = win10; b.boot_part_offset = 0;
	want_refused(&b, "offset 0");
	b = win10; b.os_part_offset = 1048576 + 100;
	want_refused(&b, "1048676");
	b = win10; b.os_part_offset = 512ULL << 32;   /* past 2 TiB */
	want_refused(&b, "2 TiB");
	b = win10; b.systemroot = "Windows";
	want_refused(&b, "system root");
	b = win10; b.systemroot = "\\Windows\\";
	want_refused(&b, "system root");
	b = win10; b.systemroot = "C:\\Windows";
	want_refused(&b, "system root");
	b = win10; b.locale = "en US";
	want_refused(&b, "locale");
	b = win10; b.locale = "";
	want_refused(&b, "locale");
	b = win10; b.description = "Windows\n10";
	want_refused(&b, "description");
	b = win10; b.description = "Windows \xff";
	want_refused(&b, "description");
	b = win10; b.description = "\xc0\xaf";        /* overlong '/' */
	want_refused(&b, "description");
	b = win10; b.description = "\xed\xa0\x80";    /* a surrogate */
	want_refused(&b, "description");
	b = win10; b.description = "";
	want_refused(&b, "description");

	char why[64];
	size_t len;
	assert_int_equal(vmie_bcd_build_bios(NULL, NULL, &len, why,
					     sizeof why), VMIE_EINVAL);

	/* non-ASCII that is fine: kept as UTF-16 */
	struct store s;
	char loader[39];
	b = win10;
	b.description = "Windows 10 \xc3\x89" "ducation \xf0\x9f\x98\x80";
	store_build(&s, &b);
	vmie_bcd_loader_guid(b.disk_signature, b.os_part_offset, loader);
	hive_type t;
	size_t n;
	char *v = elem(s.h, loader, "12000004", &t, &n);
	assert_non_null(v);
	/* É is U+00C9, the emoji the pair D83D DE00 */
	assert_int_equal(vmie_le16(v + 22), 0x00C9);
	assert_int_equal(vmie_le16(v + 42), 0xD83D);
	assert_int_equal(vmie_le16(v + 44), 0xDE00);
	assert_int_equal(n, 48);
	free(v);
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_matches_real_store),
		cmocka_unit_test(device_decode),
		cmocka_unit_test(loader_guid),
		cmocka_unit_test(store_contents),
		cmocka_unit_test(store_legacy),
		cmocka_unit_test(store_header),
		cmocka_unit_test(store_reproducible),
		cmocka_unit_test(bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
