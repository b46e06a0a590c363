/*
 * Declarations shared between the files of the VHDX driver: vhdx.c (open,
 * read, info, check), vhdx_log.c (log replay into memory) and vhdx_write.c
 * (the writer).  Not part of the public image API.
 */
#ifndef VMIE_IMAGE_VHDX_INT_H
#define VMIE_IMAGE_VHDX_INT_H

#include <stdint.h>

#include "../image.h"

/* Largest log vmie replays (Hyper-V and qemu write 1 MiB logs). */
#define VHDX_LOG_MAX (32u << 20)

struct vhdx_log_result {
	unsigned entries;          /* entries in the active sequence */
	unsigned descriptors;      /* writes applied */
	uint64_t first_seq, last_seq;
	unsigned ignored;          /* entries that looked like ours but were
				      invalid (bad CRC-32C...) or newer than
				      the active sequence */
	uint64_t replayed_size;    /* file size after replay */
};

/*
 * Replay the log [log_off, log_off + log_len) of src in memory.  On success
 * *out is a new source that reads src with the active sequence's writes
 * applied (src is not modified), or NULL when the log holds no valid
 * sequence (nothing to replay).  res is filled either way.
 */
int vmie_vhdx_log_replay(struct vmie_src *src, const char *name,
			 const uint8_t log_guid[16], uint64_t log_off,
			 uint64_t log_len, struct vmie_src **out,
			 struct vhdx_log_result *res, struct vmie_err *err);

extern const struct vmie_writer_ops vmie_vhdx_writer_ops;

#endif
