/*
 * Tar archives, as OVAs use them: the on-disk header layout, a reader over
 * a byte source and helpers to write headers.  Internal to lib/ova.
 *
 * Specs: POSIX.1-2008 "pax" utility, sections "ustar Interchange Format"
 * and "pax Interchange Format" (extended header records "len key=value\n",
 * keys path and size); GNU tar manual, "Basic Tar Format" (type 'L' long
 * names, 'K' long link names, base-256 numeric fields: first byte 0x80).
 *
 * The 512-byte header block (all numbers are ASCII octal, NUL or space
 * terminated, unless the first byte has bit 7 set = GNU base-256):
 *
 *   offset  size  field
 *   0x000 100  name
 *   0x064   8  mode
 *   0x06c   8  uid
 *   0x074   8  gid
 *   0x07c  12  size         (octal: at most 8 GiB - 1)
 *   0x088  12  mtime
 *   0x094   8  chksum       (sum of the 512 bytes, this field as
 *                               spaces; octal)
 *   0x09c   1  typeflag     ('0'/NUL file, '5' dir, 'x' pax, 'g' pax
 *                               global, 'L'/'K' GNU long name/link)
 *   0x09d 100  linkname
 *   0x101   6  magic        "ustar\0" (POSIX) or "ustar " (GNU)
 *   0x107   2  version      "00" (POSIX) or " \0" (GNU)
 *   0x109  32  uname
 *   0x129  32  gname
 *   0x149   8  devmajor
 *   0x151   8  devminor
 *   0x159 155  prefix       (POSIX only: name = prefix "/" name)
 *   0x1f4  12  (pad)
 *
 * A member's data follows its header, padded to 512 bytes.  The archive
 * ends with two zero blocks.
 */
#ifndef VMIE_OVA_TAR_H
#define VMIE_OVA_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../io/io.h"

#define TAR_BLOCK        512u
#define TAR_OFF_NAME     0x000
#define TAR_OFF_MODE     0x064
#define TAR_OFF_UID      0x06c
#define TAR_OFF_GID      0x074
#define TAR_OFF_SIZE     0x07c
#define TAR_OFF_MTIME    0x088
#define TAR_OFF_CHKSUM   0x094
#define TAR_OFF_TYPE     0x09c
#define TAR_OFF_LINKNAME 0x09d
#define TAR_OFF_MAGIC    0x101
#define TAR_OFF_VERSION  0x107
#define TAR_OFF_UNAME    0x109
#define TAR_OFF_GNAME    0x129
#define TAR_OFF_PREFIX   0x159
#define TAR_LEN_NAME     100
#define TAR_LEN_SIZE     12
#define TAR_LEN_CHKSUM   8
#define TAR_LEN_PREFIX   155
/* Largest size the 11 octal digits of a ustar size field can hold. */
#define TAR_USTAR_MAX_SIZE  (((uint64_t)1 << 33) - 1)

/* Limits on metadata members (refused above). */
#define TAR_MAX_PAX_BYTES   ((uint64_t)1 << 20)
#define TAR_MAX_LONGNAME    4096

struct vmie_tar_member {
	char *name;               /* full name (pax path / GNU 'L' / prefix) */
	uint64_t hdr_off;         /* first header block (incl. 'x'/'L') */
	uint64_t data_off;        /* first data byte */
	uint64_t size;
	char type;                /* typeflag; NUL is stored as '0' */
};

struct vmie_tar {
	struct vmie_src *src;     /* one reference */
	struct vmie_tar_member *m;
	size_t n;
	bool has_end;             /* ended with a zero block */
	uint64_t end_off;         /* offset after the last member */
};

/* Validate one header block: checksum (unsigned, or the historic signed
 * sum) and a known magic or a v7 header.  Returns 0 or VMIE_ECORRUPT
 * naming the offset. */
int vmie_tar_check_header(const uint8_t blk[TAR_BLOCK], uint64_t off,
			  const char *what, struct vmie_err *err);

/* Read the whole member list of src (headers only; data is never read
 * except pax and GNU long-name records).  max_members caps the count. */
int vmie_tar_open(struct vmie_src *src, size_t max_members,
		  struct vmie_tar **out, struct vmie_err *err);
/* Same, but stop quietly after max_members members (for probing). */
int vmie_tar_open_head(struct vmie_src *src, size_t max_members,
		       struct vmie_tar **out, struct vmie_err *err);
void vmie_tar_free(struct vmie_tar *t);
const struct vmie_tar_member *vmie_tar_find(const struct vmie_tar *t,
					    const char *name);
/* A window source onto a member's data (read in place). */
int vmie_tar_member_src(struct vmie_tar *t, const struct vmie_tar_member *m,
			struct vmie_src **out, struct vmie_err *err);
/* Read a whole (small) member into a new NUL-terminated buffer; refuses a
 * member larger than max. */
int vmie_tar_read_member(struct vmie_tar *t, const struct vmie_tar_member *m,
			 uint64_t max, uint8_t **buf, size_t *len,
			 struct vmie_err *err);

/* ---- writing (tar_write.c) ---- */

/* Bytes of headers needed before a member's data: 512 for ustar, 1536
 * when the name or the size needs a pax extended header. */
size_t vmie_tar_header_len(const char *name, uint64_t size);
/* Encode the header(s) for a regular file into out (hdr_len bytes, as
 * vmie_tar_header_len returned; a larger value is allowed only if it is
 * 1536: the pax header is then written even if not needed). */
int vmie_tar_encode_header(uint8_t *out, size_t hdr_len, const char *name,
			   uint64_t size, uint64_t mtime,
			   struct vmie_err *err);
/* Round up to a whole block. */
static inline uint64_t vmie_tar_pad(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

#endif
