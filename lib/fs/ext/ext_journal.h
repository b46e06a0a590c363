/*
 * Internal interface between ext.c (the driver and its io_manager) and
 * ext_journal.c (read-only jbd2 replay into an in-memory overlay).
 */
#ifndef VMIE_FS_EXT_EXT_JOURNAL_H
#define VMIE_FS_EXT_EXT_JOURNAL_H

#include <stdint.h>

#include <ext2fs/ext2fs.h>

#include "fs/ext/ext.h"
#include "image/image.h"

/* Block overlay: file system block -> the block in the image (inside the
 * journal) that holds its newest committed copy.  Immutable once built. */
struct extj_overlay;

/* Scan the internal journal of efs (opened on img without an overlay) and
 * build the overlay of its committed, unrevoked blocks.  Fills *info
 * (state, counts, problem).  *out is NULL when there is nothing to
 * replay.  Journal damage never fails: it ends the replay early or skips
 * it, and is told in info->problem.  Returns a VMIE_E* code only when
 * replay could not be attempted at all (out of memory). */
int extj_replay(ext2_filsys efs, struct vmie_image *img,
		struct extj_overlay **out, struct vmie_ext_journal *info,
		struct vmie_err *err);

/* Replace the parts of data (len bytes of the device at byte off) that the
 * overlay holds.  0, or -1 when reading a logged copy failed. */
int extj_overlay_apply(const struct extj_overlay *ov, struct vmie_image *img,
		       uint64_t off, uint8_t *data, uint64_t len);

void extj_overlay_free(struct extj_overlay *ov);

#endif
