/*
 * qcow2 on-disk layout, versions 2 and 3.
 *
 * Spec: qemu docs/interop/qcow2.txt ("qcow2 image format"), sections
 * "Header", "Header extensions", "Feature name table", "Host cluster
 * management", "Cluster mapping", "Extended L2 Entries", "Snapshots".
 * Every integer is big-endian.  Decode and encode byte by byte with
 * lib/core/endian.h; never cast a buffer to these structs.
 *
 * The file is made of clusters of 2^cluster_bits bytes (9..21 here, as in
 * qemu).  Cluster 0 holds the header, the header extensions and the backing
 * file name:
 *
 *   off   size  field
 *   0x00  4     magic "QFI\xfb"
 *   0x04  4     version (2 or 3)
 *   0x08  8     backing_file_offset (0 = none)
 *   0x10  4     backing_file_size (<= 1023)
 *   0x14  4     cluster_bits
 *   0x18  8     size (virtual disk bytes)
 *   0x20  4     crypt_method (0 none, 1 AES, 2 LUKS)
 *   0x24  4     l1_size (entries of the active L1 table)
 *   0x28  8     l1_table_offset
 *   0x30  8     refcount_table_offset
 *   0x38  4     refcount_table_clusters
 *   0x3c  4     nb_snapshots
 *   0x40  8     snapshots_offset
 *   ---- version 3 only ----
 *   0x48  8     incompatible_features
 *   0x50  8     compatible_features
 *   0x58  8     autoclear_features
 *   0x60  4     refcount_order (refcount_bits = 1 << order; v2: 4)
 *   0x64  4     header_length (>= 104, multiple of 8; v2: 72)
 *   0x68  1     compression_type (0 zlib, 1 zstd), if header_length > 0x68
 *
 * Address translation: guest offset -> L1 entry -> L2 table (one cluster)
 * -> L2 entry -> host cluster.  Refcounts: refcount table -> refcount
 * blocks (one cluster each) -> refcount_bits-wide counters.
 */
#ifndef VMIE_IMAGE_QCOW2_DISK_H
#define VMIE_IMAGE_QCOW2_DISK_H

#include <stdint.h>
#include <string.h>

#include "../../core/endian.h"

#define QCOW2_MAGIC             0x514649fbu   /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN     72u
#define QCOW2_V3_HEADER_LEN     104u          /* minimum for version 3 */
#define QCOW2_V3_HEADER_LEN_CT  112u          /* with compression_type */

#define QCOW2_MIN_CLUSTER_BITS  9u
#define QCOW2_MAX_CLUSTER_BITS  21u           /* qemu's limit: 2 MiB */
#define QCOW2_MIN_EXT_L2_BITS   14u           /* extended L2 needs >= 16K */
#define QCOW2_MAX_BACKING_NAME  1023u
#define QCOW2_MAX_L1_BYTES      ((uint64_t)32 << 20)  /* qemu: 32 MiB */
#define QCOW2_MAX_REFT_BYTES    ((uint64_t)8 << 20)   /* qemu: 8 MiB */
#define QCOW2_MAX_SNAPSHOTS     65536u
#define QCOW2_MAX_SNAPTAB_BYTES ((uint64_t)64 << 20)
#define QCOW2_MAX_REFCOUNT_ORDER 6u

/* crypt_method */
#define QCOW2_CRYPT_NONE        0u
#define QCOW2_CRYPT_AES         1u
#define QCOW2_CRYPT_LUKS        2u

/* incompatible_features bits */
#define QCOW2_INCOMPAT_DIRTY        (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN        0x1full
/* compatible_features bits */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
/* autoclear_features bits */
#define QCOW2_AUTOCLEAR_BITMAPS     (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW    (1ull << 1)

/* compression_type */
#define QCOW2_COMPRESS_ZLIB     0u
#define QCOW2_COMPRESS_ZSTD     1u

/* Header extension types ("Header extensions"): {u32 type, u32 len, data,
 * padding to 8}, ending with type 0. */
#define QCOW2_EXT_END           0x00000000u
#define QCOW2_EXT_BACKING_FMT   0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u
#define QCOW2_EXT_BITMAPS       0x23852875u
#define QCOW2_EXT_CRYPTO        0x0537be77u
#define QCOW2_EXT_DATA_FILE     0x44415441u
/* Feature name table entry: u8 type (0 incompat, 1 compat, 2 autoclear),
 * u8 bit, char name[46] (zero padded, maybe not terminated). */
#define QCOW2_FEATURE_ENTRY_LEN 48u
#define QCOW2_FEATURE_NAME_LEN  46u

/* L1 entry: bits 9..55 = L2 table offset; bit 63 = "copied" (refcount 1). */
#define QCOW2_L1E_OFFSET_MASK   0x00fffffffffffe00ull
#define QCOW2_OFLAG_COPIED      (1ull << 63)
/* L2 entry (standard): bit 0 = reads as zeros (v3, not with extended L2);
 * bits 9..55 = host cluster offset; bit 62 = compressed; bit 63 = copied. */
#define QCOW2_OFLAG_COMPRESSED  (1ull << 62)
#define QCOW2_OFLAG_ZERO        1ull
#define QCOW2_L2E_OFFSET_MASK   0x00fffffffffffe00ull
/* L2 entry (compressed), x = 62 - (cluster_bits - 8): bits 0..x-1 = host
 * byte offset, bits x..61 = additional 512-byte sectors. */
static inline unsigned qcow2_csize_shift(unsigned cluster_bits)
{
	return 62u - (cluster_bits - 8u);
}
static inline uint64_t qcow2_csize_mask(unsigned cluster_bits)
{
	return (1ull << (cluster_bits - 8u)) - 1;
}
/* Extended L2 entries: 16 bytes, the second word holds 32 "allocated" bits
 * (0..31) and 32 "reads as zeros" bits (32..63), one per subcluster. */
#define QCOW2_SUBCLUSTERS       32u

/* Refcount table entry: bits 9..63 = refcount block offset. */
#define QCOW2_REFT_OFFSET_MASK  0xfffffffffffffe00ull

/* Snapshot table entry (fixed part, 40 bytes), then extra_data_size bytes
 * of extra data (v3: at least 16: u64 vm_state_size, u64 disk_size), the
 * id string, the name string, padding to a multiple of 8. */
#define QCOW2_SNAP_FIXED_LEN    40u

struct qcow2_header_disk {
	/*0x00*/ uint32_t magic;
	/*0x04*/ uint32_t version;
	/*0x08*/ uint64_t backing_file_offset;
	/*0x10*/ uint32_t backing_file_size;
	/*0x14*/ uint32_t cluster_bits;
	/*0x18*/ uint64_t size;
	/*0x20*/ uint32_t crypt_method;
	/*0x24*/ uint32_t l1_size;
	/*0x28*/ uint64_t l1_table_offset;
	/*0x30*/ uint64_t refcount_table_offset;
	/*0x38*/ uint32_t refcount_table_clusters;
	/*0x3c*/ uint32_t nb_snapshots;
	/*0x40*/ uint64_t snapshots_offset;
	/*0x48*/ uint64_t incompatible_features;
	/*0x50*/ uint64_t compatible_features;
	/*0x58*/ uint64_t autoclear_features;
	/*0x60*/ uint32_t refcount_order;
	/*0x64*/ uint32_t header_length;
	/*0x68*/ uint8_t compression_type;
};

/* Decode the header from the first bytes of the file (len >= 72).  Fields
 * a version 2 header lacks get their implied values; compression_type is
 * read only when header_length covers it. */
static inline void qcow2_header_decode(struct qcow2_header_disk *h,
				       const uint8_t *b, size_t len)
{
	memset(h, 0, sizeof *h);
	h->magic = vmie_be32(b + 0x00);
	h->version = vmie_be32(b + 0x04);
	h->backing_file_offset = vmie_be64(b + 0x08);
	h->backing_file_size = vmie_be32(b + 0x10);
	h->cluster_bits = vmie_be32(b + 0x14);
	h->size = vmie_be64(b + 0x18);
	h->crypt_method = vmie_be32(b + 0x20);
	h->l1_size = vmie_be32(b + 0x24);
	h->l1_table_offset = vmie_be64(b + 0x28);
	h->refcount_table_offset = vmie_be64(b + 0x30);
	h->refcount_table_clusters = vmie_be32(b + 0x38);
	h->nb_snapshots = vmie_be32(b + 0x3c);
	h->snapshots_offset = vmie_be64(b + 0x40);
	if (h->version < 3 || len < QCOW2_V3_HEADER_LEN) {
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
		return;
	}
	h->incompatible_features = vmie_be64(b + 0x48);
	h->compatible_features = vmie_be64(b + 0x50);
	h->autoclear_features = vmie_be64(b + 0x58);
	h->refcount_order = vmie_be32(b + 0x60);
	h->header_length = vmie_be32(b + 0x64);
	if (h->header_length > 0x68 && len > 0x68)
		h->compression_type = b[0x68];
}

/* Encode h into b (header_length bytes; the caller zeroes b first). */
static inline void qcow2_header_encode(uint8_t *b,
				       const struct qcow2_header_disk *h)
{
	vmie_put_be32(b + 0x00, h->magic);
	vmie_put_be32(b + 0x04, h->version);
	vmie_put_be64(b + 0x08, h->backing_file_offset);
	vmie_put_be32(b + 0x10, h->backing_file_size);
	vmie_put_be32(b + 0x14, h->cluster_bits);
	vmie_put_be64(b + 0x18, h->size);
	vmie_put_be32(b + 0x20, h->crypt_method);
	vmie_put_be32(b + 0x24, h->l1_size);
	vmie_put_be64(b + 0x28, h->l1_table_offset);
	vmie_put_be64(b + 0x30, h->refcount_table_offset);
	vmie_put_be32(b + 0x38, h->refcount_table_clusters);
	vmie_put_be32(b + 0x3c, h->nb_snapshots);
	vmie_put_be64(b + 0x40, h->snapshots_offset);
	if (h->version < 3)
		return;
	vmie_put_be64(b + 0x48, h->incompatible_features);
	vmie_put_be64(b + 0x50, h->compatible_features);
	vmie_put_be64(b + 0x58, h->autoclear_features);
	vmie_put_be32(b + 0x60, h->refcount_order);
	vmie_put_be32(b + 0x64, h->header_length);
	if (h->header_length > 0x68)
		b[0x68] = h->compression_type;
}

struct qcow2_snapshot_disk {
	/*0x00*/ uint64_t l1_table_offset;
	/*0x08*/ uint32_t l1_size;
	/*0x0c*/ uint16_t id_str_size;
	/*0x0e*/ uint16_t name_size;
	/*0x10*/ uint32_t date_sec;
	/*0x14*/ uint32_t date_nsec;
	/*0x18*/ uint64_t vm_clock_nsec;
	/*0x20*/ uint32_t vm_state_size;
	/*0x24*/ uint32_t extra_data_size;
};
_Static_assert(QCOW2_SNAP_FIXED_LEN == 0x28, "snapshot entry fixed part");

static inline void qcow2_snapshot_decode(struct qcow2_snapshot_disk *s,
					 const uint8_t *b)
{
	s->l1_table_offset = vmie_be64(b + 0x00);
	s->l1_size = vmie_be32(b + 0x08);
	s->id_str_size = vmie_be16(b + 0x0c);
	s->name_size = vmie_be16(b + 0x0e);
	s->date_sec = vmie_be32(b + 0x10);
	s->date_nsec = vmie_be32(b + 0x14);
	s->vm_clock_nsec = vmie_be64(b + 0x18);
	s->vm_state_size = vmie_be32(b + 0x20);
	s->extra_data_size = vmie_be32(b + 0x24);
}

/* Bitmaps extension data (24 bytes): u32 nb_bitmaps, u32 reserved,
 * u64 bitmap_directory_size, u64 bitmap_directory_offset.  A directory
 * entry: u64 bitmap_table_offset, u32 bitmap_table_size (entries),
 * u32 flags, u8 type, u8 granularity_bits, u16 name_size,
 * u32 extra_data_size, extra data, name, padding to 8.  A bitmap table
 * entry: bits 9..55 = offset of a data cluster (0 = all zeros or ones). */
#define QCOW2_BITMAPS_EXT_LEN   24u
#define QCOW2_BITMAP_DIR_FIXED  24u
#define QCOW2_MAX_BITMAPS       65535u
#define QCOW2_BME_OFFSET_MASK   0x00fffffffffffe00ull

#endif
