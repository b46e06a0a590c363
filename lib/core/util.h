/*
 * Small shared helpers: zero detection, CRC-32C and CRC-32, hex, string
 * copying, GUID formatting.  Every driver uses these instead of its own.
 */
#ifndef VMIE_CORE_UTIL_H
#define VMIE_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when all len bytes are zero (fast, word-at-a-time). */
bool vmie_is_zero(const void *buf, size_t len);

/* CRC-32C (Castagnoli), as used by VHDX and Btrfs.  Start with crc = 0. */
uint32_t vmie_crc32c(uint32_t crc, const void *buf, size_t len);
/* CRC-32 (IEEE, zlib's crc32), as used by GPT. Start with crc = 0. */
uint32_t vmie_crc32(uint32_t crc, const void *buf, size_t len);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void vmie_hex(char *out, const void *buf, size_t len);
/* The value of a hex digit (any case), or -1. */
int vmie_hexval(char c);

/* snprintf-like bounded copy that always terminates; returns dst. */
char *vmie_strlcpy(char *dst, const char *src, size_t size);

/* Format a 16-byte GUID stored in Microsoft mixed-endian order (first three
 * fields little-endian) as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". out: 37 B */
void vmie_guid_ms(char *out, const uint8_t guid[16]);
/* Same for a big-endian (RFC 4122 byte order) UUID, as ext4/XFS store. */
void vmie_uuid_be(char *out, const uint8_t uuid[16]);
/* The inverse of vmie_guid_ms: "xxxxxxxx-xxxx-..." (any case, exactly 36
 * characters) into the 16 bytes as Microsoft stores them; false when the
 * text is not a GUID. */
bool vmie_guid_ms_parse(const char *text, uint8_t guid[16]);

/* An anonymous memory file (memfd_create, close-on-exec) holding the len
 * bytes of buf, for libraries that want a path ("/proc/self/fd/N"): its
 * fd, or -1 with why filled.  Nothing is written to a host file. */
int vmie_memfd_from(const char *name, const void *buf, size_t len,
		    char *why, size_t wsize);

/* Parse a human size "10G", "512M", "4096", "1T" into bytes; -1 on error. */
int vmie_parse_size(const char *s, uint64_t *out);
/* Print bytes as "4 GiB", "1.5 MiB"... into buf. */
const char *vmie_human_size(char *buf, size_t size, uint64_t bytes);

#endif
