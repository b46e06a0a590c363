/*
 * A Boot Configuration Data store (\Boot\BCD) for a Windows guest that
 * boots with legacy BIOS: what `bcdboot C:\Windows /s C: /f BIOS` would
 * write, built from nothing in memory.  The store is a registry hive;
 * bcd.c writes a minimal hive by the registry file format and fills it
 * with hivex.  docs/windows-bcd.md lists every object and element, the
 * device element layout and the sources it comes from.
 */
#ifndef VMIE_MODIFY_BCD_H
#define VMIE_MODIFY_BCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the BIOS store points at.  Offsets are in bytes from the start of
 * the disk (a multiple of 512, not 0); the signature is the MBR's disk
 * signature (bytes 0x1B8..0x1BB, little-endian), not 0. */
struct vmie_bcd_bios {
	uint32_t disk_signature;
	uint64_t boot_part_offset;   /* holds \bootmgr and \Boot\BCD */
	uint64_t os_part_offset;     /* holds Windows (usually the same) */
	const char *systemroot;      /* "\\Windows" (NULL: that) */
	const char *locale;          /* "en-US" (NULL: that) */
	const char *description;     /* UTF-8, "Windows 10 Enterprise"
	                                (NULL: "Windows") */
	bool win8_or_later;          /* bootmenupolicy Standard (8 and
	                                later); none before (Legacy) */
};

/*
 * A complete BIOS BCD hive in *out (malloc'd, *len bytes).  Two calls
 * with the same input give the same bytes: timestamps are fixed and the
 * Windows Boot Loader object's GUID is derived from the input (see
 * vmie_bcd_loader_guid).  Returns 0, or a negative VMIE_E* code with the
 * reason in why.
 */
int vmie_bcd_build_bios(const struct vmie_bcd_bios *b, void **out,
			size_t *len, char *why, size_t wsize);

/* The "{xxxxxxxx-...}" GUID (39 bytes with the NUL) of the Windows Boot
 * Loader object vmie_bcd_build_bios writes for this disk signature and
 * Windows partition offset: an RFC 4122 version 5 (SHA-1, name-based)
 * UUID in the URL namespace of the name
 * "urn:vmie:bcd:bios-loader:<signature as 8 hex digits>:<offset>". */
void vmie_bcd_loader_guid(uint32_t disk_signature, uint64_t os_part_offset,
			  char out[39]);

/* Device element values (REG_BINARY of an ...\Elements\x1000001 key). */
enum {
	VMIE_BCD_DEVICE_LEN = 0x58,     /* the partition form, in bytes */
	VMIE_BCD_DEV_PARTITION = 6,     /* device type of a partition */
	VMIE_BCD_DEV_BOOT = 5,          /* "boot": the device booted from */
	VMIE_BCD_STYLE_GPT = 0,
	VMIE_BCD_STYLE_MBR = 1,
};

struct vmie_bcd_device {
	uint8_t options[16];         /* additional options object, as stored
	                                (all zero for a plain partition) */
	bool has_options;
	uint32_t type;               /* device type (VMIE_BCD_DEV_*) */
	uint32_t flags;
	uint32_t size;               /* the descriptor's size field */
	/* for type VMIE_BCD_DEV_PARTITION: */
	bool partition;
	uint32_t style;              /* VMIE_BCD_STYLE_MBR or _GPT */
	uint64_t part_offset;        /* MBR: partition's byte offset */
	uint32_t disk_signature;     /* MBR */
	uint8_t part_guid[16];       /* GPT: as stored (mixed endian) */
	uint8_t disk_guid[16];       /* GPT: as stored */
};

/* The MBR partition device value (VMIE_BCD_DEVICE_LEN bytes) for a
 * partition at part_offset on the disk with signature sig. */
void vmie_bcd_device_mbr(uint8_t out[VMIE_BCD_DEVICE_LEN], uint32_t sig,
			 uint64_t part_offset);

/* Decode a device element value of len bytes.  0, or VMIE_ECORRUPT when
 * the value is too short for what its fields say. */
int vmie_bcd_device_decode(const void *val, size_t len,
			   struct vmie_bcd_device *d);

/* "partition mbr signature=0x1234abcd offset=1048576" and the like, for
 * evidence in `vmie inspect` and test logs. */
void vmie_bcd_device_format(const struct vmie_bcd_device *d, char *buf,
			    size_t size);

#endif
