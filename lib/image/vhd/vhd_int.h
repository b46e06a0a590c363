/*
 * Declarations shared between the files of the VHD driver (vhd.c reads,
 * vhd_write.c writes).  Not part of the public image API.
 */
#ifndef VMIE_IMAGE_VHD_INT_H
#define VMIE_IMAGE_VHD_INT_H

#include "../image.h"

/* Largest dynamic-disk block size vmie accepts when reading. */
#define VHD_MAX_BLOCK (256u << 20)
/* Block size vmie writes (the specification's default). */
#define VHD_WRITE_BLOCK (2u << 20)

extern const struct vmie_writer_ops vmie_vhd_writer_ops;

/* pwrite the parts of data that are not all zeros, in 4 KiB pieces
 * (aligned to data), at file offset at.  Shared by the VHD and VHDX
 * writers: skipped pieces stay holes in a sparse output. */
int vmie_vhd_write_nonzero(struct vmie_sink *k, const uint8_t *data,
			   size_t len, uint64_t at, struct vmie_err *err);

#endif
