/*
 * Internal interface between the files of lib/part (not for other layers):
 * the warning list and partition array of struct vmie_ptable, the type →
 * kind tables, the GPT reader called by the MBR dispatcher, and the LVM
 * text-metadata parser used by the LVM scanner.
 */
#ifndef VMIE_PART_PART_INT_H
#define VMIE_PART_PART_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "part.h"

/* Most partitions one table may list (GPT allows 8192 entries here; MBR
 * has 4 primaries and at most PART_MAX_LOGICAL logicals). */
#define PART_MAX_PARTS      8192
#define PART_MAX_LOGICAL    128

/* Append a warning (kept up to VMIE_PT_MAX_WARN; the last slot says more
 * were dropped). */
void part_warn(struct vmie_ptable *pt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append a copy of p to pt->parts. */
int part_add(struct vmie_ptable *pt, const struct vmie_partition *p,
	     struct vmie_err *err);
/* Warn about partitions that overlap each other or run past the disk. */
void part_check_layout(struct vmie_ptable *pt);

/* Volumes made of pieces of other images (LVM logical volumes, LDM
 * volumes): locate maps a volume offset to the device holding it, the
 * offset there and how many bytes (at most max) continue contiguously. */
typedef int (*part_locate_fn)(struct vmie_image *img, uint64_t off,
			      uint64_t max, struct vmie_image **dev,
			      uint64_t *at, uint64_t *run,
			      struct vmie_err *err);
/* pread and block status of such a volume, piece by piece (window.c). */
int part_mapped_pread(struct vmie_image *img, part_locate_fn locate,
		      void *buf, size_t len, uint64_t off,
		      struct vmie_err *err);
/* The same for writes (a guest change through a logical volume into the
 * copy-on-write overlays of its disks); fails where a device refuses
 * writes. */
int part_mapped_pwrite(struct vmie_image *img, part_locate_fn locate,
		       const void *buf, size_t len, uint64_t off,
		       struct vmie_err *err);
int part_mapped_block_status(struct vmie_image *img, part_locate_fn locate,
			     uint64_t off, uint64_t max_len, uint64_t *pnum,
			     unsigned *status, struct vmie_err *err);

/* Layouts (window.c): append the layout of [off, off + len) of img to l,
 * following windows, LVM and LDM volumes down to top-level images. */
int part_layout_walk(struct vmie_layout *l, struct vmie_image *img,
		     uint64_t off, uint64_t len, unsigned depth,
		     struct vmie_err *err);
/* The header of a striped range (see struct vmie_layout_rec); the
 * caller then walks each column between part_layout_barrier calls. */
int part_layout_stripes(struct vmie_layout *l, uint64_t off, uint64_t len,
			uint64_t chunk, unsigned n, struct vmie_err *err);
void part_layout_barrier(struct vmie_layout *l);
/* The layout of an LVM / LDM volume: 1 when img is not one, else 0 or
 * an error (lvm.c, ldm.c). */
int part_lvm_layout(struct vmie_layout *l, struct vmie_image *img,
		    uint64_t off, uint64_t len, unsigned depth,
		    struct vmie_err *err);
int part_ldm_layout(struct vmie_layout *l, struct vmie_image *img,
		    uint64_t off, uint64_t len, unsigned depth,
		    struct vmie_err *err);

const char *part_mbr_kind(uint8_t type);
const char *part_gpt_kind(const char *type_guid);

/* Look for a GPT (LBA 1 at 512 then 4096-byte sectors, backup at the last
 * LBA).  Returns 0 with *found = false when neither header is a GPT
 * header; 0 with *found = true and pt filled (type, partitions, GUIDs,
 * warnings) when one copy is good; an error when GPT headers exist but
 * none is usable. */
int part_gpt_read(struct vmie_image *disk, struct vmie_ptable *pt,
		  bool *found, struct vmie_err *err);

/* ---- Windows dynamic disks (ldm.c) ---- */

/* Read the LDM database of a disk whose table said it is dynamic
 * (pt->ldm): fill pt's ldm_* fields, or pt->ldm_error and a warning when
 * the database is unreadable.  Fails only on I/O or memory errors. */
int part_ldm_read(struct vmie_image *disk, struct vmie_ptable *pt,
		  struct vmie_err *err);
/* Free what part_ldm_read put in pt. */
void part_ldm_free(struct vmie_ptable *pt);

/* ---- LVM2 text metadata (lvm_text.c) ---- */

enum lvm_vtype { LVM_V_SECTION, LVM_V_INT, LVM_V_STR, LVM_V_ARRAY,
		 LVM_V_FLOAT };

/* One node of the parsed tree.  A section has children (key = value
 * nodes and subsections); an array has unnamed value children. */
struct lvm_node {
	char *key;              /* NULL inside arrays */
	enum lvm_vtype type;
	int64_t i;
	char *s;
	struct lvm_node *child, *next;
};

/* Limits of the parser. */
#define LVM_TEXT_MAX_DEPTH  16
#define LVM_TEXT_MAX_NODES  200000

/* Parse len bytes of LVM text metadata (may contain a trailing NUL) into
 * a tree whose root is an unnamed section.  Errors name the line. */
int lvm_text_parse(const char *text, size_t len, struct lvm_node **root,
		   struct vmie_err *err);
void lvm_text_free(struct lvm_node *n);
/* Child of a section by key, or NULL. */
const struct lvm_node *lvm_find(const struct lvm_node *sec, const char *key);
/* Typed lookups: false when missing or of another type. */
bool lvm_get_int(const struct lvm_node *sec, const char *key, int64_t *v);
const char *lvm_get_str(const struct lvm_node *sec, const char *key);
/* True if the array sec.key contains the string flag. */
bool lvm_has_flag(const struct lvm_node *sec, const char *key,
		  const char *flag);

/* LVM's CRC-32 (initial LVM_INITIAL_CRC, no final inversion). */
uint32_t lvm_crc(uint32_t crc, const void *buf, size_t len);

#endif
