/*
 * Helpers shared by the VHD and VHDX drivers (lib/image/vhd/): UTF-16 name
 * fields (VHD parent names are UTF-16BE, VHDX strings UTF-16LE) and random
 * identifiers for the writers.  Not part of the public image API.
 */
#ifndef VMIE_IMAGE_VHD_COMMON_H
#define VMIE_IMAGE_VHD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Convert at most n_units UTF-16 code units (big-endian if be) to UTF-8,
 * stopping at a NUL unit.  Invalid surrogates become U+FFFD; control
 * characters become '?'.  out is always terminated (truncated to fit). */
void vmie_vhd_utf16_to_utf8(const uint8_t *in, size_t n_units, bool be,
			    char *out, size_t out_size);

/* Encode ASCII s as UTF-16LE into out (n_units units, zero-padded). */
void vmie_vhd_ascii_to_utf16le(const char *s, uint8_t *out, size_t n_units);

/* Fill buf with random bytes (getrandom, falling back to the clock: these
 * are identifiers, not secrets). */
void vmie_vhd_random(void *buf, size_t len);

/* Make a random RFC 4122 version-4 GUID in Microsoft byte order. */
void vmie_vhd_new_guid(uint8_t guid[16]);

#endif
