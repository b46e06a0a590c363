/*
 * Internal interfaces between the files of lib/ova: the OVF descriptor
 * writer (ovf_write.c) used by the OVA writer (ova_write.c).
 */
#ifndef VMIE_OVA_PRIV_H
#define VMIE_OVA_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* SCSI units per controller (unit 7 is the controller itself), and the
 * number of controllers the writer adds. */
#define OVFW_UNITS_PER_CTRL 15
#define OVFW_MAX_CTRL       4
#define OVFW_MAX_DISKS      (OVFW_UNITS_PER_CTRL * OVFW_MAX_CTRL)

struct ovfw_disk {
	const char *href;         /* member name of the VMDK */
	uint64_t file_size;       /* bytes of the member */
	uint64_t capacity;        /* virtual size, bytes */
	uint64_t populated;       /* bytes of data, 0 = not written */
};

struct ovfw {
	const char *vm_name;
	const char *os_id;        /* NULL = "1" (Other) */
	const char *os_type;      /* vmw:osType or NULL */
	const char *os_description;
	const char *firmware;     /* "bios", "efi" or NULL */
	unsigned vcpus;           /* 0 = 1 */
	uint64_t memory;          /* bytes, 0 = 1 GiB */
	unsigned n_nics;
	const struct ovfw_disk *disks;
	size_t n_disks;
};

/* An OVF 1.0 envelope (DSP0243 1.1, with VMware's namespaces) for o, as a
 * malloc'd string of *len bytes; NULL when out of memory. */
char *vmie_ovfw_build(const struct ovfw *o, size_t *len);

#endif
