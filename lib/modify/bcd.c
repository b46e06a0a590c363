/*
 * lib/modify bcd.c: the \Boot\BCD store a Windows guest needs to boot
 * with legacy BIOS after its GPT disk became MBR (issue 14).
 *
 * A BCD store is a registry hive (root key "NewStoreRoot"):
 *
 *   Description                 KeyName "BCD00000000", System 1,
 *                               TreatAsSystem 1 (REG_SZ, REG_DWORDs)
 *   Objects\{guid}\Description  Type (REG_DWORD): the object type
 *   Objects\{guid}\Elements\<8 hex digits>
 *                               Element: the value; its registry type
 *                               follows the element type's format:
 *     format (bits 27..24)  registry value
 *     1 device              REG_BINARY (the layout below)
 *     2 string              REG_SZ
 *     3 object              REG_SZ "{guid}"
 *     4 object list         REG_MULTI_SZ of "{guid}"
 *     5 integer             REG_BINARY, 8 bytes little-endian
 *     6 boolean             REG_BINARY, 1 byte
 *     7 integer list        REG_BINARY, 8 bytes per integer
 *
 * What goes in (objects, elements, values) is listed and explained in
 * docs/windows-bcd.md.
 *
 * Device element, partition form, as written for "partition=C:" on an MBR
 * disk (88 bytes; all integers little-endian):
 *
 *   off   size  value            meaning
 *   0x00  16    0                GUID of an additional options object
 *                                (ramdisk and the like; zero here)  [M,O,R]
 *   0x10  4     6                device type: partition             [M,J,O,R]
 *   0x14  4     0                flags                              [M,J,R]
 *   0x18  4     0x48             size of the descriptor that starts
 *                                at 0x10 (0x10 + 0x48 = 0x58)       [M,J,B]
 *   0x1C  4     0                reserved                           [M,J,R]
 *   0x20  8     offset           partition start, in bytes from the
 *                                start of the disk (GPT: the 16-byte
 *                                partition GUID at 0x20 instead)    [M,J,O,B]
 *   0x28  8     0                rest of that 16-byte field         [M,J,O]
 *   0x30  4     0                local device type: hard disk       [M,J,R]
 *   0x34  4     1                partition style: 1 MBR, 0 GPT      [M,J,O,R]
 *   0x38  4     signature        MBR disk signature (MBR offset
 *                                0x1B8; GPT: the 16-byte disk GUID) [M,J,O,B]
 *   0x3C  28    0                rest of the disk identity area     [M,J]
 *
 * Sources (facts only; no code was taken from any of them):
 *   [M] mistyprojects.co.uk, "BCDEdit - Devices Partition - Data": a dump
 *       of a real Windows 8.1 BIOS/MBR store (partition=C: at 0x15f00000,
 *       signature b3eba8f1) with the offsets 0x10, 0x20, 0x38 explained.
 *   [J] github.com/jpz4085/BCD-SYS update_device.sh: writes MBR devices
 *       as 16 zero bytes, 06 0 48 0, the offset in 16 bytes, 0, 1, the
 *       signature in 16 bytes, 16 zero bytes (and GPT: 0, 0 at 0x30).
 *   [O] opsi's BCD module (Python over hivex): offset at 0x20, style at
 *       0x34 (1 MBR, 0 GPT), disk id at 0x38 (4 bytes MBR, GUID GPT),
 *       device type at 0x10, options GUID at 0x00.
 *   [R] ReactOS boot/environ/include/bl.h and bcd.h: BCD_DEVICE_OPTION
 *       (options GUID, then BL_DEVICE_DESCRIPTOR), the device types
 *       (PartitionDevice 6, BootDevice 5), BL_PARTITION_TYPE (Gpt 0,
 *       Mbr 1), BL_LOCAL_DEVICE_TYPE (LocalDevice 0), the element types.
 *   [B] a "BootRec" BCD fixer in C (BL_DEVICE_DESCRIPTOR with an Mbr
 *       {Offset, 3 reserved, 0x34, Signature at 0x38} view, Size 0x48).
 * Disagreements: ReactOS's bl.h has had the descriptor header in two
 * orders (Size, Flags, DeviceType in older copies; DeviceType, Flags,
 * Size in the current one) and lays its partition union out as
 * consecutive fields; [M] (a real store), [J] and [O] agree with the
 * DeviceType-first order and a 16-byte partition field, and so does
 * this file.  [B] calls the dword at 0x34 "DiskNumber" and writes 1 for
 * the first disk; [M], [J], [O] and [R]'s BL_PARTITION_TYPE make it the
 * partition style, which is 1 for MBR either way.
 *
 * The hive is written from nothing by the "Windows registry file format
 * specification" (github.com/msuhanov/regf): a 4096-byte base block and
 * one 4096-byte hive bin holding the root key node, one security cell
 * and a free cell; hivex then adds every key and value and writes the
 * result.  Nothing touches a host file: both hives live in memfds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hivex.h>
#include <openssl/evp.h>

#include "core/endian.h"
#include "core/err.h"
#include "core/util.h"
#include "modify/bcd.h"

/* ---- the empty hive ---------------------------------------------------- */

enum {
	HIVE_BASE_LEN = 4096,        /* base block */
	HIVE_BIN_LEN = 4096,         /* the one hive bin */
	HIVE_ROOT = 0x20,            /* root nk cell, from the bins' start */
	HIVE_SK = 0x80,              /* security cell */
	HIVE_FREE = 0x100,           /* free cell up to the end of the bin */
	HIVE_NK_LEN = 0x4C,          /* nk record before the name */
	HIVE_SK_LEN = 0x14,          /* sk record before the descriptor */
	HIVE_MAX = 1 << 20,          /* a BCD store is a few pages */
	NK_HIVE_ENTRY = 0x0004,
	NK_NO_DELETE = 0x0008,
	NK_COMP_NAME = 0x0020,
	NIL = 0xFFFFFFFFu,
};

/* 2020-01-01T00:00:00Z as a FILETIME: every timestamp of the store, so
 * that two builds give the same bytes (hivex copies a parent's time to a
 * new child and leaves the header's alone). */
#define BCD_FILETIME (13222310400ULL * 10000000ULL)

static const char bcd_root_name[] = "NewStoreRoot";

/* A self-relative security descriptor: owner BUILTIN\Administrators,
 * group SYSTEM, DACL allowing KEY_ALL_ACCESS to SYSTEM and to
 * Administrators (container inherit).  Returns its length (100). */
static size_t hive_sd(uint8_t *p)
{
	static const uint8_t sid_sy[12] = { 1, 1, 0, 0, 0, 0, 0, 5, 18 };
	static const uint8_t sid_ba[16] = { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0,
					    0, 0x20, 0x02 };
	const uint32_t key_all_access = 0x000F003F;
	size_t dacl = 20, ace1 = dacl + 8, ace2 = ace1 + 8 + sizeof sid_sy;
	size_t owner = ace2 + 8 + sizeof sid_ba, group = owner + sizeof sid_ba;
	size_t end = group + sizeof sid_sy;

	memset(p, 0, end);
	p[0] = 1;                                  /* revision */
	vmie_put_le16(p + 2, 0x8004);              /* self-relative, DACL */
	vmie_put_le32(p + 4, (uint32_t)owner);
	vmie_put_le32(p + 8, (uint32_t)group);
	vmie_put_le32(p + 16, (uint32_t)dacl);
	p[dacl] = 2;                               /* ACL revision */
	vmie_put_le16(p + dacl + 2, (uint16_t)(owner - dacl));
	vmie_put_le16(p + dacl + 4, 2);            /* ACEs */
	p[ace1 + 1] = 0x02;                        /* container inherit */
	vmie_put_le16(p + ace1 + 2, (uint16_t)(8 + sizeof sid_sy));
	vmie_put_le32(p + ace1 + 4, key_all_access);
	memcpy(p + ace1 + 8, sid_sy, sizeof sid_sy);
	p[ace2 + 1] = 0x02;
	vmie_put_le16(p + ace2 + 2, (uint16_t)(8 + sizeof sid_ba));
	vmie_put_le32(p + ace2 + 4, key_all_access);
	memcpy(p + ace2 + 8, sid_ba, sizeof sid_ba);
	memcpy(p + owner, sid_ba, sizeof sid_ba);
	memcpy(p + group, sid_sy, sizeof sid_sy);
	return end;
}

/* The empty store: base block, one hive bin with the root key
 * "NewStoreRoot" (no subkeys, no values), its security cell, a free cell.
 * buf holds HIVE_BASE_LEN + HIVE_BIN_LEN bytes. */
static void hive_empty(uint8_t *buf)
{
	uint8_t *base = buf, *bin = buf + HIVE_BASE_LEN;
	memset(buf, 0, HIVE_BASE_LEN + HIVE_BIN_LEN);

	memcpy(base, "regf", 4);
	vmie_put_le32(base + 4, 1);                /* sequence numbers */
	vmie_put_le32(base + 8, 1);
	vmie_put_le64(base + 12, BCD_FILETIME);
	vmie_put_le32(base + 20, 1);               /* version 1.5 */
	vmie_put_le32(base + 24, 5);
	vmie_put_le32(base + 28, 0);               /* primary file */
	vmie_put_le32(base + 32, 1);               /* direct memory load */
	vmie_put_le32(base + 36, HIVE_ROOT);
	vmie_put_le32(base + 40, HIVE_BIN_LEN);
	vmie_put_le32(base + 44, 1);               /* clustering factor */
	uint32_t sum = 0;
	for (size_t i = 0; i < 508; i += 4)
		sum ^= vmie_le32(base + i);
	vmie_put_le32(base + 508, sum);

	memcpy(bin, "hbin", 4);
	vmie_put_le32(bin + 4, 0);
	vmie_put_le32(bin + 8, HIVE_BIN_LEN);
	vmie_put_le64(bin + 20, BCD_FILETIME);

	size_t nlen = sizeof bcd_root_name - 1;
	size_t nk_cell = (4 + HIVE_NK_LEN + nlen + 7) & ~(size_t)7;
	uint8_t *c = bin + HIVE_ROOT, *nk = c + 4;
	vmie_put_le32(c, (uint32_t)-(int32_t)nk_cell);
	memcpy(nk, "nk", 2);
	vmie_put_le16(nk + 2, NK_HIVE_ENTRY | NK_NO_DELETE | NK_COMP_NAME);
	vmie_put_le64(nk + 4, BCD_FILETIME);
	vmie_put_le32(nk + 16, 0);                 /* parent: none */
	vmie_put_le32(nk + 28, NIL);               /* subkey lists */
	vmie_put_le32(nk + 32, NIL);
	vmie_put_le32(nk + 40, NIL);               /* value list */
	vmie_put_le32(nk + 44, HIVE_SK);
	vmie_put_le32(nk + 48, NIL);               /* class name */
	vmie_put_le16(nk + 72, (uint16_t)nlen);
	memcpy(nk + HIVE_NK_LEN, bcd_root_name, nlen);

	uint8_t sd[128];
	size_t sdlen = hive_sd(sd);
	size_t sk_cell = (4 + HIVE_SK_LEN + sdlen + 7) & ~(size_t)7;
	c = bin + HIVE_SK;
	uint8_t *sk = c + 4;
	vmie_put_le32(c, (uint32_t)-(int32_t)sk_cell);
	memcpy(sk, "sk", 2);
	vmie_put_le32(sk + 4, HIVE_SK);            /* the only one: flink */
	vmie_put_le32(sk + 8, HIVE_SK);            /* and blink to itself */
	vmie_put_le32(sk + 12, 1);                 /* used by the root */
	vmie_put_le32(sk + 16, (uint32_t)sdlen);
	memcpy(sk + HIVE_SK_LEN, sd, sdlen);

	vmie_put_le32(bin + HIVE_FREE, HIVE_BIN_LEN - HIVE_FREE);
}

_Static_assert(HIVE_ROOT + 4 + HIVE_NK_LEN + sizeof bcd_root_name <= HIVE_SK,
	       "root key node overlaps the security cell");
_Static_assert(HIVE_SK + 4 + HIVE_SK_LEN + 100 <= HIVE_FREE,
	       "security cell overlaps the free cell");

/* ---- the device element -------------------------------------------------- */

enum {
	DEV_OPTIONS = 0x00,
	DEV_TYPE = 0x10,
	DEV_FLAGS = 0x14,
	DEV_SIZE = 0x18,
	DEV_PART_ID = 0x20,          /* MBR offset (8) or GPT partition GUID */
	DEV_LOCAL_TYPE = 0x30,
	DEV_STYLE = 0x34,
	DEV_DISK_ID = 0x38,          /* MBR signature (4) or GPT disk GUID */
	DEV_DESC_LEN = VMIE_BCD_DEVICE_LEN - DEV_TYPE,    /* 0x48 */
};

void vmie_bcd_device_mbr(uint8_t out[VMIE_BCD_DEVICE_LEN], uint32_t sig,
			 uint64_t part_offset)
{
	memset(out, 0, VMIE_BCD_DEVICE_LEN);
	vmie_put_le32(out + DEV_TYPE, VMIE_BCD_DEV_PARTITION);
	vmie_put_le32(out + DEV_SIZE, DEV_DESC_LEN);
	vmie_put_le64(out + DEV_PART_ID, part_offset);
	vmie_put_le32(out + DEV_LOCAL_TYPE, 0);
	vmie_put_le32(out + DEV_STYLE, VMIE_BCD_STYLE_MBR);
	vmie_put_le32(out + DEV_DISK_ID, sig);
}

int vmie_bcd_device_decode(const void *val, size_t len,
			   struct vmie_bcd_device *d)
{
	const uint8_t *p = val;
	memset(d, 0, sizeof *d);
	if (!p || len < DEV_SIZE + 8)
		return VMIE_ECORRUPT;
	memcpy(d->options, p + DEV_OPTIONS, 16);
	for (size_t i = 0; i < 16; i++)
		d->has_options |= d->options[i] != 0;
	d->type = vmie_le32(p + DEV_TYPE);
	d->flags = vmie_le32(p + DEV_FLAGS);
	d->size = vmie_le32(p + DEV_SIZE);
	if (d->size < 16 || d->size > len - DEV_TYPE)
		return VMIE_ECORRUPT;
	if (d->type != VMIE_BCD_DEV_PARTITION)
		return 0;
	/* the partition form needs the style, and the 4- or 16-byte disk id */
	if (d->size < DEV_DISK_ID + 4 - DEV_TYPE)
		return VMIE_ECORRUPT;
	d->style = vmie_le32(p + DEV_STYLE);
	if (d->style == VMIE_BCD_STYLE_MBR) {
		d->part_offset = vmie_le64(p + DEV_PART_ID);
		d->disk_signature = vmie_le32(p + DEV_DISK_ID);
	} else if (d->style == VMIE_BCD_STYLE_GPT) {
		if (d->size < DEV_DISK_ID + 16 - DEV_TYPE)
			return VMIE_ECORRUPT;
		memcpy(d->part_guid, p + DEV_PART_ID, 16);
		memcpy(d->disk_guid, p + DEV_DISK_ID, 16);
	} else {
		return 0;                /* a style vmie does not know */
	}
	d->partition = true;
	return 0;
}

/* A GUID as stored in a BCD device (Data1..3 little-endian) as text. */
static void guid_le_text(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 vmie_le32(g), vmie_le16(g + 4), vmie_le16(g + 6), g[8], g[9],
		 g[10], g[11], g[12], g[13], g[14], g[15]);
}

void vmie_bcd_device_format(const struct vmie_bcd_device *d, char *buf,
			    size_t size)
{
	char a[37], b[37];
	if (!size)
		return;
	if (d->partition && d->style == VMIE_BCD_STYLE_MBR) {
		snprintf(buf, size, "partition mbr signature=0x%08x "
			 "offset=%llu", d->disk_signature,
			 (unsigned long long)d->part_offset);
	} else if (d->partition && d->style == VMIE_BCD_STYLE_GPT) {
		guid_le_text(d->disk_guid, a);
		guid_le_text(d->part_guid, b);
		snprintf(buf, size, "partition gpt disk={%s} partition={%s}",
			 a, b);
	} else if (d->type == VMIE_BCD_DEV_PARTITION) {
		snprintf(buf, size, "partition style=%u (unknown)", d->style);
	} else if (d->type == VMIE_BCD_DEV_BOOT) {
		snprintf(buf, size, "boot");
	} else {
		snprintf(buf, size, "device type=%u", d->type);
	}
	if (d->has_options) {
		size_t n = strlen(buf);
		guid_le_text(d->options, a);
		if (n < size)
			snprintf(buf + n, size - n, " options={%s}", a);
	}
}

/* ---- the loader's GUID -------------------------------------------------- */

void vmie_bcd_loader_guid(uint32_t disk_signature, uint64_t os_part_offset,
			  char out[39])
{
	/* RFC 4122 appendix C: the URL namespace */
	static const uint8_t ns_url[16] = {
		0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
		0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	char name[96];
	uint8_t in[16 + sizeof name], md[EVP_MAX_MD_SIZE], u[16];
	unsigned int mdlen = 0;
	int n = snprintf(name, sizeof name, "urn:vmie:bcd:bios-loader:%08x:%llu",
			 disk_signature, (unsigned long long)os_part_offset);

	memcpy(in, ns_url, 16);
	memcpy(in + 16, name, (size_t)n);
	if (!EVP_Digest(in, 16 + (size_t)n, md, &mdlen, EVP_sha1(), NULL) ||
	    mdlen < 16) {
		/* only if libcrypto refuses SHA-1 (a FIPS policy): still a
		 * stable answer, marked version 5 but not the RFC's value */
		memset(md, 0, sizeof md);
		for (int i = 0; i < n; i++)
			md[i % 16] = (uint8_t)(md[i % 16] * 31 + (uint8_t)name[i]);
	}
	memcpy(u, md, 16);
	u[6] = (uint8_t)((u[6] & 0x0F) | 0x50);    /* version 5 */
	u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);    /* RFC 4122 variant */
	snprintf(out, 39, "{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x}", u[0], u[1], u[2], u[3], u[4],
		 u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

/* ---- writing the store with hivex ------------------------------------- */

/* The well-known objects (phnt ntbcd.h; opsi's BCD module) */
#define G_BOOTMGR         "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
#define G_GLOBALSETTINGS  "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}"
#define G_BOOTLDRSETTINGS "{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}"
#define G_DBGSETTINGS     "{4636856e-540f-4170-a130-a84776f4c654}"
#define G_EMSSETTINGS     "{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}"
#define G_BADMEMORY       "{5189b25c-5558-4bf2-bca4-289b11bd29e2}"
#define G_HVSETTINGS      "{7ff607e0-4395-11db-b0de-0800200c9a66}"

/* Object types: class << 28 | image/inherit class << 20 | application */
enum {
	OBJ_BOOTMGR = 0x10100002,    /* application, firmware image, bootmgr */
	OBJ_OSLOADER = 0x10200003,   /* application, boot app, OS loader */
	OBJ_INHERIT_ANY = 0x20100000,        /* inheritable by any object */
	OBJ_INHERIT_OSLOADER = 0x20200003,   /* by OS loader objects */
};

/* Element types (BcdLibraryElementTypes, BcdBootMgrElementTypes,
 * BcdOSLoaderElementTypes; ReactOS bcd.h, Microsoft's BCD WMI docs) */
enum {
	E_DEVICE = 0x11000001,           /* device */
	E_PATH = 0x12000002,             /* path */
	E_DESCRIPTION = 0x12000004,      /* description */
	E_LOCALE = 0x12000005,           /* locale */
	E_INHERIT = 0x14000006,          /* inherit */
	E_DEBUGTYPE = 0x15000011,        /* debugtype */
	E_DEBUGPORT = 0x15000013,        /* debugport */
	E_BAUDRATE = 0x15000014,         /* baudrate */
	E_BOOTEMS = 0x16000020,          /* bootems */
	E_INMEMORY = 0x17000077,         /* allowedinmemorysettings */
	E_DISPLAYORDER = 0x24000001,     /* bootmgr: displayorder */
	E_DEFAULT = 0x23000003,          /* bootmgr: default */
	E_TIMEOUT = 0x25000004,          /* bootmgr: timeout */
	E_OSDEVICE = 0x21000001,         /* osloader: osdevice */
	E_SYSTEMROOT = 0x22000002,       /* osloader: systemroot */
	E_NX = 0x25000020,               /* osloader: nx */
	E_EMS = 0x260000b0,              /* osloader: ems */
	E_BOOTMENUPOLICY = 0x250000c2,   /* osloader: bootmenupolicy */
	E_HV_DEBUGTYPE = 0x250000f3,     /* hypervisordebugtype */
	E_HV_DEBUGPORT = 0x250000f4,     /* hypervisordebugport */
	E_HV_BAUDRATE = 0x250000f5,      /* hypervisorbaudrate */
};

struct bcd_w {
	hive_h *h;
	char *why;
	size_t wsize;
	int rc;                      /* first failure, 0 while none */
};

static void bcd_fail(struct bcd_w *w, int rc, const char *msg)
{
	if (w->rc)
		return;
	w->rc = rc;
	snprintf(w->why, w->wsize, "%s", msg);
}

/* hivex failed at what (errno set by hivex, or 0) */
static void bcd_hivex_fail(struct bcd_w *w, const char *what, const char *name)
{
	int e = errno;
	char m[200];
	snprintf(m, sizeof m, "hivex cannot %s %s (%s)", what, name,
		 e ? strerror(e) : "failed");
	bcd_fail(w, VMIE_EIO, m);
}

static hive_node_h bcd_key(struct bcd_w *w, hive_node_h parent,
			   const char *name)
{
	if (w->rc)
		return 0;
	errno = 0;
	hive_node_h n = hivex_node_add_child(w->h, parent, name);
	if (!n)
		bcd_hivex_fail(w, "add the key", name);
	return n;
}

static void bcd_values(struct bcd_w *w, hive_node_h node, const char *what,
		       size_t n, const hive_set_value *v)
{
	if (w->rc)
		return;
	errno = 0;
	if (hivex_node_set_values(w->h, node, n, v, 0))
		bcd_hivex_fail(w, "set the values of", what);
}

/* One element: Elements\<type>\Element = the len bytes of val. */
static void bcd_elem(struct bcd_w *w, hive_node_h elements, uint32_t type,
		     hive_type t, const void *val, size_t len)
{
	char name[9];
	snprintf(name, sizeof name, "%08x", type);
	hive_node_h k = bcd_key(w, elements, name);
	hive_set_value v = { .key = (char *)"Element", .t = t, .len = len,
			     .value = (char *)val };
	bcd_values(w, k, name, 1, &v);
}

/* UTF-8 s (printable: no control characters) as UTF-16LE with its NUL in
 * out (cap bytes); the byte count, or 0 when s is not valid UTF-8, has a
 * control character or does not fit. */
static size_t bcd_utf16(const char *s, uint8_t *out, size_t cap)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t o = 0;
	while (*p) {
		uint32_t c;
		int more;
		if (*p < 0x80) {
			c = *p;
			more = 0;
		} else if ((*p & 0xE0) == 0xC0) {
			c = *p & 0x1F;
			more = 1;
		} else if ((*p & 0xF0) == 0xE0) {
			c = *p & 0x0F;
			more = 2;
		} else if ((*p & 0xF8) == 0xF0) {
			c = *p & 0x07;
			more = 3;
		} else {
			return 0;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xC0) != 0x80)
				return 0;
			c = c << 6 | (*p & 0x3F);
		}
		static const uint32_t min[4] = { 0, 0x80, 0x800, 0x10000 };
		if (c < min[more] || c > 0x10FFFF ||
		    (c >= 0xD800 && c <= 0xDFFF) || c < 0x20 ||
		    (c >= 0x7F && c < 0xA0))
			return 0;
		if (c >= 0x10000) {
			if (o + 4 > cap)
				return 0;
			c -= 0x10000;
			vmie_put_le16(out + o, (uint16_t)(0xD800 | c >> 10));
			vmie_put_le16(out + o + 2,
				      (uint16_t)(0xDC00 | (c & 0x3FF)));
			o += 4;
		} else {
			if (o + 2 > cap)
				return 0;
			vmie_put_le16(out + o, (uint16_t)c);
			o += 2;
		}
	}
	if (o + 2 > cap)
		return 0;
	vmie_put_le16(out + o, 0);
	return o + 2;
}

static void bcd_string(struct bcd_w *w, hive_node_h el, uint32_t type,
		       const char *s)
{
	uint8_t buf[1024];
	size_t n = bcd_utf16(s, buf, sizeof buf);
	if (!n) {
		char m[160];
		snprintf(m, sizeof m, "'%.64s' is not a printable UTF-8 "
			 "string of at most 500 characters", s);
		bcd_fail(w, VMIE_EINVAL, m);
		return;
	}
	bcd_elem(w, el, type, hive_t_REG_SZ, buf, n);
}

/* n GUID strings as a REG_MULTI_SZ */
static void bcd_objlist(struct bcd_w *w, hive_node_h el, uint32_t type,
			size_t n, const char *const *guids)
{
	uint8_t buf[512];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = bcd_utf16(guids[i], buf + o, sizeof buf - 2 - o);
		if (!k) {
			bcd_fail(w, VMIE_EINVAL, "an object list too long");
			return;
		}
		o += k;
	}
	vmie_put_le16(buf + o, 0);
	bcd_elem(w, el, type, hive_t_REG_MULTI_SZ, buf, o + 2);
}

static void bcd_int(struct bcd_w *w, hive_node_h el, uint32_t type,
		    uint64_t v)
{
	uint8_t b[8];
	vmie_put_le64(b, v);
	bcd_elem(w, el, type, hive_t_REG_BINARY, b, sizeof b);
}

static void bcd_bool(struct bcd_w *w, hive_node_h el, uint32_t type, bool v)
{
	uint8_t b = v;
	bcd_elem(w, el, type, hive_t_REG_BINARY, &b, 1);
}

static void bcd_device(struct bcd_w *w, hive_node_h el, uint32_t type,
		       uint32_t sig, uint64_t offset)
{
	uint8_t d[VMIE_BCD_DEVICE_LEN];
	vmie_bcd_device_mbr(d, sig, offset);
	bcd_elem(w, el, type, hive_t_REG_BINARY, d, sizeof d);
}

/* Objects\{guid} with its Description\Type; returns its Elements key. */
static hive_node_h bcd_object(struct bcd_w *w, hive_node_h objects,
			      const char *guid, uint32_t otype)
{
	hive_node_h o = bcd_key(w, objects, guid);
	hive_node_h d = bcd_key(w, o, "Description");
	uint8_t t[4];
	vmie_put_le32(t, otype);
	hive_set_value v = { .key = (char *)"Type", .t = hive_t_REG_DWORD,
			     .len = 4, .value = (char *)t };
	bcd_values(w, d, guid, 1, &v);
	return bcd_key(w, o, "Elements");
}

/* The contents: see docs/windows-bcd.md for each element. */
static void bcd_fill(struct bcd_w *w, const struct vmie_bcd_bios *b,
		     const char *sysroot, const char *locale,
		     const char *desc, const char *loader)
{
	hive_node_h root = hivex_root(w->h);
	if (!root) {
		bcd_hivex_fail(w, "find the root key of", "the empty store");
		return;
	}

	/* Description: the store's name when Windows loads it, and "this is
	 * the system store" */
	hive_node_h d = bcd_key(w, root, "Description");
	uint8_t one[4], keyname[64];
	vmie_put_le32(one, 1);
	size_t kn = bcd_utf16("BCD00000000", keyname, sizeof keyname);
	hive_set_value dv[] = {
		{ (char *)"KeyName", hive_t_REG_SZ, kn, (char *)keyname },
		{ (char *)"System", hive_t_REG_DWORD, 4, (char *)one },
		{ (char *)"TreatAsSystem", hive_t_REG_DWORD, 4, (char *)one },
	};
	bcd_values(w, d, "Description", 3, dv);
	hive_node_h objs = bcd_key(w, root, "Objects");

	/* {bootmgr}: the BIOS boot manager (no path: \bootmgr is loaded by
	 * the volume boot record, not by the firmware) */
	hive_node_h el = bcd_object(w, objs, G_BOOTMGR, OBJ_BOOTMGR);
	bcd_device(w, el, E_DEVICE, b->disk_signature, b->boot_part_offset);
	bcd_string(w, el, E_DESCRIPTION, "Windows Boot Manager");
	bcd_string(w, el, E_LOCALE, locale);
	const char *inh_bm[] = { G_GLOBALSETTINGS };
	bcd_objlist(w, el, E_INHERIT, 1, inh_bm);
	bcd_string(w, el, E_DEFAULT, loader);
	const char *order[] = { loader };
	bcd_objlist(w, el, E_DISPLAYORDER, 1, order);
	bcd_int(w, el, E_TIMEOUT, 30);

	/* the Windows Boot Loader */
	char path[300];
	snprintf(path, sizeof path, "%s\\system32\\winload.exe", sysroot);
	el = bcd_object(w, objs, loader, OBJ_OSLOADER);
	bcd_device(w, el, E_DEVICE, b->disk_signature, b->os_part_offset);
	bcd_string(w, el, E_PATH, path);
	bcd_string(w, el, E_DESCRIPTION, desc);
	bcd_string(w, el, E_LOCALE, locale);
	const char *inh_ld[] = { G_BOOTLDRSETTINGS };
	bcd_objlist(w, el, E_INHERIT, 1, inh_ld);
	if (b->win8_or_later)
		bcd_int(w, el, E_INMEMORY, 0x15000075);
	bcd_device(w, el, E_OSDEVICE, b->disk_signature, b->os_part_offset);
	bcd_string(w, el, E_SYSTEMROOT, sysroot);
	bcd_int(w, el, E_NX, 0);                   /* OptIn */
	if (b->win8_or_later)
		bcd_int(w, el, E_BOOTMENUPOLICY, 1);   /* Standard */
	bcd_bool(w, el, E_EMS, false);

	/* the inherited settings */
	el = bcd_object(w, objs, G_GLOBALSETTINGS, OBJ_INHERIT_ANY);
	bcd_string(w, el, E_LOCALE, locale);
	const char *inh_gs[] = { G_DBGSETTINGS, G_EMSSETTINGS, G_BADMEMORY };
	bcd_objlist(w, el, E_INHERIT, 3, inh_gs);

	el = bcd_object(w, objs, G_BOOTLDRSETTINGS, OBJ_INHERIT_OSLOADER);
	const char *inh_bl[] = { G_GLOBALSETTINGS, G_HVSETTINGS };
	bcd_objlist(w, el, E_INHERIT, 2, inh_bl);

	el = bcd_object(w, objs, G_DBGSETTINGS, OBJ_INHERIT_ANY);
	bcd_int(w, el, E_DEBUGTYPE, 0);            /* Serial */
	bcd_int(w, el, E_DEBUGPORT, 1);
	bcd_int(w, el, E_BAUDRATE, 115200);

	el = bcd_object(w, objs, G_EMSSETTINGS, OBJ_INHERIT_ANY);
	bcd_bool(w, el, E_BOOTEMS, false);

	(void)bcd_object(w, objs, G_BADMEMORY, OBJ_INHERIT_ANY);

	el = bcd_object(w, objs, G_HVSETTINGS, OBJ_INHERIT_OSLOADER);
	bcd_int(w, el, E_HV_DEBUGTYPE, 0);         /* Serial */
	bcd_int(w, el, E_HV_DEBUGPORT, 1);
	bcd_int(w, el, E_HV_BAUDRATE, 115200);
}

/* ---- checks of the input ----------------------------------------------- */

static bool bcd_offset_ok(uint64_t off)
{
	/* an MBR entry holds a 32-bit sector number */
	return off && off % 512 == 0 && off / 512 <= 0xFFFFFFFFu;
}

/* \Windows, \WINNT\..., printable ASCII, no characters NTFS refuses */
static bool bcd_sysroot_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 200 || s[0] != '\\' || s[n - 1] == '\\')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7E || strchr("/:*?\"<>|", c) ||
		    (c == '\\' && s[i + 1] == '\\'))
			return false;
	}
	return true;
}

/* a locale name: "en-US", "zh-Hant-TW", "sr-Latn-RS" */
static bool bcd_locale_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 84 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c == '-' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

int vmie_bcd_build_bios(const struct vmie_bcd_bios *b, void **out,
			size_t *len, char *why, size_t wsize)
{
	char dummy[1], loader[39], p[64];
	uint8_t empty[HIVE_BASE_LEN + HIVE_BIN_LEN];
	struct bcd_w w = { .why = why, .wsize = wsize };
	int in = -1, res = -1, rc;
	uint8_t *buf = NULL;

	if (!why || !wsize) {
		why = dummy;
		wsize = sizeof dummy;
		w.why = why;
		w.wsize = wsize;
	}
	why[0] = 0;
	if (!b || !out || !len) {
		snprintf(why, wsize, "no store description or no place for "
			 "the store");
		return VMIE_EINVAL;
	}
	*out = NULL;
	*len = 0;
	const char *sysroot = b->systemroot ? b->systemroot : "\\Windows";
	const char *locale = b->locale ? b->locale : "en-US";
	const char *desc = b->description ? b->description : "Windows";
	uint8_t tmp[1024];
	if (!b->disk_signature) {
		snprintf(why, wsize, "the MBR disk signature is 0: Windows "
			 "finds its partitions by a non-zero signature");
		return VMIE_EINVAL;
	}
	if (!bcd_offset_ok(b->boot_part_offset) ||
	    !bcd_offset_ok(b->os_part_offset)) {
		snprintf(why, wsize, "partition offset %llu or %llu is not a "
			 "non-zero multiple of 512 below 2 TiB",
			 (unsigned long long)b->boot_part_offset,
			 (unsigned long long)b->os_part_offset);
		return VMIE_EINVAL;
	}
	if (!bcd_sysroot_ok(sysroot)) {
		snprintf(why, wsize, "system root '%.64s' is not a path like "
			 "\\Windows", sysroot);
		return VMIE_EINVAL;
	}
	if (!bcd_locale_ok(locale)) {
		snprintf(why, wsize, "locale '%.64s' is not a locale name "
			 "like en-US", locale);
		return VMIE_EINVAL;
	}
	if (!*desc || strlen(desc) > 256 || !bcd_utf16(desc, tmp, sizeof tmp)) {
		snprintf(why, wsize, "description '%.64s' is empty, longer "
			 "than 256 bytes, not UTF-8 or has control characters",
			 desc);
		return VMIE_EINVAL;
	}
	vmie_bcd_loader_guid(b->disk_signature, b->os_part_offset, loader);

	hive_empty(empty);
	if ((in = vmie_memfd_from("vmie-bcd", empty, sizeof empty, why,
				   wsize)) < 0)
		return VMIE_EIO;
	snprintf(p, sizeof p, "/proc/self/fd/%d", in);
	errno = 0;
	if (!(w.h = hivex_open(p, HIVEX_OPEN_WRITE))) {
		snprintf(why, wsize, "hivex cannot open the empty store (%s)",
			 errno ? strerror(errno) : "rejected");
		rc = VMIE_EIO;
		goto out;
	}
	bcd_fill(&w, b, sysroot, locale, desc, loader);
	if (w.rc) {
		rc = w.rc;
		goto out;
	}
	if ((res = memfd_create("vmie-bcd-new", MFD_CLOEXEC)) < 0) {
		snprintf(why, wsize, "memfd_create: %s", strerror(errno));
		rc = VMIE_EIO;
		goto out;
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d", res);
	errno = 0;
	if (hivex_commit(w.h, p, 0)) {
		snprintf(why, wsize, "hivex_commit: %s",
			 errno ? strerror(errno) : "failed");
		rc = VMIE_EIO;
		goto out;
	}
	struct stat st;
	if (fstat(res, &st)) {
		snprintf(why, wsize, "fstat of the new store: %s",
			 strerror(errno));
		rc = VMIE_EIO;
		goto out;
	}
	if (st.st_size < (off_t)sizeof empty || st.st_size > HIVE_MAX) {
		snprintf(why, wsize, "the new store has an odd size (%lld "
			 "bytes)", (long long)st.st_size);
		rc = VMIE_ECORRUPT;
		goto out;
	}
	size_t n = (size_t)st.st_size;
	if (!(buf = malloc(n))) {
		snprintf(why, wsize, "out of memory");
		rc = VMIE_ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < n;) {
		ssize_t k = pread(res, buf + r, n - r, (off_t)r);
		if (k <= 0) {
			snprintf(why, wsize, "read back the new store: %s",
				 k < 0 ? strerror(errno) : "short read");
			rc = VMIE_EIO;
			goto out;
		}
		r += (size_t)k;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	if (w.h)
		hivex_close(w.h);
	if (in >= 0)
		close(in);
	if (res >= 0)
		close(res);
	free(buf);
	return rc;
}
