/*
 * VMDK on-disk layouts: the sparse extent header, stream markers, grain
 * directory and grain table entries, and the SEsparse / COWD magics that are
 * recognised only to be refused.
 *
 * Spec: VMware "Virtual Disk Format 5.0" (2011), sections "Hosted Sparse
 * Extent Header" (SparseExtentHeader), "Grain Directories and Grain Tables",
 * "Stream-Optimized Compressed Sparse Extents" (markers, footer,
 * end-of-stream).  All integers are little-endian; every field is decoded
 * byte by byte with lib/core/endian.h (never by casting a buffer).
 *
 * SparseExtentHeader, 512 bytes (one sector):
 *
 *   off   size  field               meaning
 *   0x00  4     magicNumber         "KDMV" (0x564d444b little-endian)
 *   0x04  4     version             1, 2 (zeroed-grain GTEs), 3 (CBT; ESXi
 *                                   wants 3 for stream-optimized)
 *   0x08  4     flags               bit 0 valid newline test, bit 1 use
 *                                   redundant grain table, bit 2 zeroed-grain
 *                                   GTE, bit 16 compressed grains, bit 17
 *                                   metadata markers
 *   0x0c  8     capacity            virtual size in 512-byte sectors
 *   0x14  8     grainSize           sectors per grain (power of two, >= 8)
 *   0x1c  8     descriptorOffset    sector of the embedded descriptor, 0 none
 *   0x24  8     descriptorSize      sectors of the embedded descriptor
 *   0x2c  4     numGTEsPerGT        grain table entries per table (512)
 *   0x30  8     rgdOffset           sector of the redundant grain directory
 *   0x38  8     gdOffset            sector of the grain directory; all ones
 *                                   (GD_AT_END) = read the footer
 *   0x40  8     overHead            sectors of metadata before the grains
 *   0x48  1     uncleanShutdown
 *   0x49  1     singleEndLineChar   '\n'
 *   0x4a  1     nonEndLineChar      ' '
 *   0x4b  1     doubleEndLineChar1  '\r'
 *   0x4c  1     doubleEndLineChar2  '\n'
 *   0x4d  2     compressAlgorithm   0 none, 1 deflate (zlib streams)
 *   0x4f  433   pad                 zeros
 *
 * Grain directory (GD): uint32 per grain table, the sector of that table,
 * 0 = table absent (all its grains unallocated).  Grain table (GT):
 * numGTEsPerGT uint32 entries, the sector of each grain, 0 = unallocated
 * (reads as zeros, no parent is supported), 1 = zeroed grain.
 *
 * Stream-optimized (compressed, with markers), every structure starts on a
 * sector boundary:
 *
 *   grain:     0x00 uint64 LBA (sector of the grain in the virtual disk)
 *              0x08 uint32 size of the compressed data (> 0)
 *              0x0c        zlib stream, then zero padding to 512 bytes
 *   metadata:  0x00 uint64 number of sectors that follow the marker sector
 *              0x08 uint32 0
 *              0x0c uint32 type: 0 end-of-stream, 1 grain table,
 *                                2 grain directory, 3 footer
 *              0x10        zeros to 512 bytes, then the metadata sectors
 *
 * A stream file ends with: footer marker (512 B), footer (a copy of the
 * header whose gdOffset is real, 512 B), end-of-stream marker (512 B).
 */
#ifndef VMIE_IMAGE_VMDK_DISK_H
#define VMIE_IMAGE_VMDK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../core/endian.h"

#define VMDK_SECTOR             512u
#define VMDK_MAGIC              0x564d444bu   /* "KDMV" as LE uint32 */
#define VMDK_COWD_MAGIC         0x44574f43u   /* "COWD": vmfsSparse */
#define VMDK_SESPARSE_MAGIC     0x00000000cafebabeull

#define VMDK_FLAG_NL_DETECT     (1u << 0)
#define VMDK_FLAG_RGD           (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN    (1u << 2)
#define VMDK_FLAG_COMPRESSED    (1u << 16)
#define VMDK_FLAG_MARKERS       (1u << 17)

#define VMDK_COMPRESS_NONE      0
#define VMDK_COMPRESS_DEFLATE   1

#define VMDK_GD_AT_END          UINT64_MAX

#define VMDK_MARKER_EOS         0u
#define VMDK_MARKER_GT          1u
#define VMDK_MARKER_GD          2u
#define VMDK_MARKER_FOOTER      3u

#define VMDK_GTE_ZEROED         1u
#define VMDK_MAX_GTES           512u          /* more is invalid */
#define VMDK_MARKER_HDR         12u           /* LBA + size of a grain */

/* Limits vmie applies to values read from a file. */
#define VMDK_MIN_GRAIN_SECTORS  8u            /* 4 KiB */
#define VMDK_MAX_GRAIN_SECTORS  2048u         /* 1 MiB */
#define VMDK_MAX_DESC_BYTES     (1u << 20)    /* descriptor text */
#define VMDK_MAX_EXTENTS        4096u

/* The decoded SparseExtentHeader (magic checked separately). */
struct vmdk_header_disk {
	/*0x00*/ uint32_t magic;
	/*0x04*/ uint32_t version;
	/*0x08*/ uint32_t flags;
	/*0x0c*/ uint64_t capacity;
	/*0x14*/ uint64_t grain_size;
	/*0x1c*/ uint64_t desc_offset;
	/*0x24*/ uint64_t desc_size;
	/*0x2c*/ uint32_t num_gtes;
	/*0x30*/ uint64_t rgd_offset;
	/*0x38*/ uint64_t gd_offset;
	/*0x40*/ uint64_t overhead;
	/*0x48*/ uint8_t unclean;
	/*0x49*/ uint8_t nl_chars[4];
	/*0x4d*/ uint16_t compress;
};

static inline void vmdk_header_decode(struct vmdk_header_disk *h,
				      const uint8_t *b)
{
	h->magic = vmie_le32(b + 0x00);
	h->version = vmie_le32(b + 0x04);
	h->flags = vmie_le32(b + 0x08);
	h->capacity = vmie_le64(b + 0x0c);
	h->grain_size = vmie_le64(b + 0x14);
	h->desc_offset = vmie_le64(b + 0x1c);
	h->desc_size = vmie_le64(b + 0x24);
	h->num_gtes = vmie_le32(b + 0x2c);
	h->rgd_offset = vmie_le64(b + 0x30);
	h->gd_offset = vmie_le64(b + 0x38);
	h->overhead = vmie_le64(b + 0x40);
	h->unclean = b[0x48];
	memcpy(h->nl_chars, b + 0x49, 4);
	h->compress = vmie_le16(b + 0x4d);
}

/* Encode into a zeroed 512-byte sector; the newline test bytes are set. */
static inline void vmdk_header_encode(uint8_t *b,
				      const struct vmdk_header_disk *h)
{
	memset(b, 0, VMDK_SECTOR);
	vmie_put_le32(b + 0x00, VMDK_MAGIC);
	vmie_put_le32(b + 0x04, h->version);
	vmie_put_le32(b + 0x08, h->flags);
	vmie_put_le64(b + 0x0c, h->capacity);
	vmie_put_le64(b + 0x14, h->grain_size);
	vmie_put_le64(b + 0x1c, h->desc_offset);
	vmie_put_le64(b + 0x24, h->desc_size);
	vmie_put_le32(b + 0x2c, h->num_gtes);
	vmie_put_le64(b + 0x30, h->rgd_offset);
	vmie_put_le64(b + 0x38, h->gd_offset);
	vmie_put_le64(b + 0x40, h->overhead);
	b[0x48] = h->unclean;
	b[0x49] = '\n';
	b[0x4a] = ' ';
	b[0x4b] = '\r';
	b[0x4c] = '\n';
	vmie_put_le16(b + 0x4d, h->compress);
}

/* A stream marker, grain or metadata. */
struct vmdk_marker_disk {
	/*0x00*/ uint64_t val;     /* LBA (grain) or sectors that follow */
	/*0x08*/ uint32_t size;    /* compressed bytes (grain), 0 (metadata) */
	/*0x0c*/ uint32_t type;    /* metadata only */
};

static inline void vmdk_marker_decode(struct vmdk_marker_disk *m,
				      const uint8_t *b)
{
	m->val = vmie_le64(b);
	m->size = vmie_le32(b + 8);
	m->type = vmie_le32(b + 12);
}

/* Encode a metadata marker into a zeroed 512-byte sector. */
static inline void vmdk_marker_encode_meta(uint8_t *b, uint64_t sectors,
					   uint32_t type)
{
	memset(b, 0, VMDK_SECTOR);
	vmie_put_le64(b, sectors);
	vmie_put_le32(b + 12, type);
}

#endif
