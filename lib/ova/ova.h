/*
 * OVA and OVF: the public API of lib/ova.
 *
 * An OVA is a tar archive (POSIX.1-2001 ustar/pax, or GNU) whose first
 * member is an OVF descriptor (DMTF DSP0243, "Open Virtualization Format
 * Specification" 1.x/2.x, section 5.3: the .ovf first, then the files it
 * references, then an optional manifest (.mf) and certificate (.cert)).
 *
 * Reading: vmie_ova_open() checks the tar (header checksums, every size and
 * offset against the file size, member names), parses the descriptor with
 * libxml2 with networking, entity expansion and DTDs off, and checks every
 * File the descriptor references.  Disks are read IN PLACE: a disk is a
 * window source onto its tar member, under the image driver its content
 * probes as (stream-optimized VMDK normally; VHD or raw are also seen).
 *
 * Writing: vmie_ova_write() puts one stream-optimized VMDK per disk, an OVF
 * 1.0 descriptor (first) and a SHA-256 manifest (last) into a new tar.
 * The single-disk `vmie convert -O ova` path is the ova driver's writer.
 *
 * Refusals carry rule ids: FMT-001 (chunked or compressed disk files, OVF
 * not first, nested OVA), FMT-005 (broken tar, member names that are paths
 * out of the archive, duplicates, missing files, bad descriptor, digest
 * mismatch).
 */
#ifndef VMIE_OVA_OVA_H
#define VMIE_OVA_OVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../io/io.h"
#include "../image/image.h"

/* Limits (refused above). */
#define VMIE_OVF_MAX_BYTES     ((uint64_t)16 << 20) /* descriptor size */
#define VMIE_OVF_MAX_FILES     1024
#define VMIE_OVF_MAX_DISKS     256
#define VMIE_OVF_MAX_ITEMS     4096
#define VMIE_OVF_MAX_NODES     262144   /* elements + attributes + comments */
#define VMIE_OVF_MAX_ATTRS     256      /* attributes of one element */
#define VMIE_OVA_MAX_MEMBERS   8192
#define VMIE_OVA_MAX_MANIFEST  ((uint64_t)1 << 20)

/* ---- the parsed descriptor (ovf.c) ---- */

enum vmie_ovf_bus {
	VMIE_OVF_BUS_NONE = 0,    /* no parent controller recorded */
	VMIE_OVF_BUS_IDE,         /* ResourceType 5 */
	VMIE_OVF_BUS_SCSI,        /* ResourceType 6 */
	VMIE_OVF_BUS_SATA,        /* ResourceType 20 (vmware.sata.ahci) */
	VMIE_OVF_BUS_NVME,        /* ResourceType 20, subtype vmware.nvme.* */
	VMIE_OVF_BUS_OTHER,       /* any other ResourceType as parent */
};
const char *vmie_ovf_bus_name(enum vmie_ovf_bus b);   /* "scsi", "ide"... */

/* A References/File element. */
struct vmie_ovf_file {
	char *id;                 /* ovf:id */
	char *href;               /* ovf:href: member name inside the OVA */
	uint64_t size;            /* ovf:size, if has_size */
	bool has_size;
	char *compression;        /* ovf:compression ("gzip"), or NULL */
	uint64_t chunk_size;      /* ovf:chunkSize, 0 if absent */
};

/* Where a device sits: its parent controller Item. */
struct vmie_ovf_attach {
	enum vmie_ovf_bus bus;
	char *controller_subtype; /* rasd:ResourceSubType of the controller:
				     "lsilogic", "lsilogicsas", "VirtualSCSI",
				     "buslogic", "PIIX4", "vmware.sata.ahci"
				     ... or NULL */
	int controller_address;   /* rasd:Address of the controller, -1 */
	int address_on_parent;    /* rasd:AddressOnParent (slot/unit), -1 */
};

/* A DiskSection/Disk, with the hardware Item that attaches it. */
struct vmie_ovf_disk {
	char *disk_id;            /* ovf:diskId */
	char *file_ref;           /* ovf:fileRef, NULL for an empty disk */
	int file_index;           /* index in ovf->files, -1 if none */
	char *format;             /* ovf:format URI, or NULL */
	char *format_name;        /* "vmdk-streamOptimized", "vhd", "raw"...
				     derived from the URI ("" if unknown) */
	uint64_t capacity;        /* bytes (units applied); 0 if unknown */
	uint64_t populated_size;  /* bytes, 0 if absent */
	char *element_name;       /* rasd:ElementName of the Item, or NULL */
	bool attached;            /* an Item (ResourceType 17) refers to it */
	struct vmie_ovf_attach at;
};

struct vmie_ovf_nic {
	char *connection;         /* rasd:Connection (network name) or NULL */
	char *subtype;            /* rasd:ResourceSubType: "E1000",
				     "VmxNet3"... or NULL */
	char *mac;                /* rasd:Address or NULL */
	char *element_name;
};

enum vmie_ovf_removable_kind { VMIE_OVF_CDROM, VMIE_OVF_FLOPPY };
struct vmie_ovf_removable {
	enum vmie_ovf_removable_kind kind;   /* 15/16 CD/DVD, 14 floppy */
	char *subtype;            /* "vmware.cdrom.iso"... or NULL */
	struct vmie_ovf_attach at;
};

struct vmie_ovf {
	int version;              /* 1 or 2 (envelope namespace) */
	char *name;               /* VirtualSystem/Name, else ovf:id */
	char *system_id;          /* VirtualSystem/@ovf:id */
	char *os_id;              /* OperatingSystemSection/@ovf:id (CIM OS
				     type number, as text) or NULL */
	char *os_type;            /* vmw:osType or NULL */
	char *os_description;     /* OperatingSystemSection/Description */
	char *firmware;           /* vmw:Config firmware: "bios", "efi", NULL */
	char *hw_family;          /* vssd:VirtualSystemType ("vmx-10") */
	unsigned vcpus;           /* ResourceType 3 VirtualQuantity, 0 = ? */
	uint64_t memory;          /* ResourceType 4, bytes, 0 = unknown */
	unsigned n_systems;       /* VirtualSystem elements found (1 = VM) */

	struct vmie_ovf_file *files;
	size_t n_files;
	struct vmie_ovf_disk *disks;          /* DiskSection order */
	size_t n_disks;
	struct vmie_ovf_nic *nics;
	size_t n_nics;
	struct vmie_ovf_removable *removables;
	size_t n_removables;
};

/* Parse a descriptor held in memory.  name is used in messages.  Refuses a
 * DOCTYPE (no DTD, no entities: XML_PARSE_NONET, no NOENT, no DTDLOAD) and
 * documents larger than VMIE_OVF_MAX_BYTES. */
int vmie_ovf_parse(const void *buf, size_t len, const char *name,
		   struct vmie_ovf **out, struct vmie_err *err);
/* The same, drawing on a budget (lib/core/budget.h, NULL = none): the
 * descriptor's bytes as "read", its nodes as "entries".  Both refuse more
 * than VMIE_OVF_MAX_NODES nodes or VMIE_OVF_MAX_ATTRS attributes on one
 * element before libxml2 builds anything. */
struct vmie_budget;
int vmie_ovf_parse_budget(const void *buf, size_t len, const char *name,
			  struct vmie_budget *budget, struct vmie_ovf **out,
			  struct vmie_err *err);
void vmie_ovf_free(struct vmie_ovf *ovf);
/* Parse a capacity / allocation units string ("byte * 2^30", "byte",
 * "MegaBytes") into a multiplier; -1 if not understood. */
int vmie_ovf_parse_units(const char *units, uint64_t *mult);

/* ---- manifest (manifest.c) ---- */

struct vmie_mf_entry {
	char alg[8];              /* "SHA1", "SHA256", "SHA512" */
	char *file;
	char hex[129];            /* lower-case digest */
};
struct vmie_mf {
	struct vmie_mf_entry *e;
	size_t n;
};
/* Parse "SHA256(file)= hex" lines ("SHA1(file) = hex" too). */
int vmie_mf_parse(const void *buf, size_t len, const char *name,
		  struct vmie_mf **out, struct vmie_err *err);
void vmie_mf_free(struct vmie_mf *mf);

/* ---- the OVA (ova.c) ---- */

struct vmie_tar;
struct vmie_tar_member;

#define VMIE_OVA_MAX_WARN 8
struct vmie_ova {
	struct vmie_src *src;     /* the whole .ova (one reference) */
	struct vmie_tar *tar;
	char *ovf_member;         /* member name of the descriptor */
	uint64_t ovf_size;
	struct vmie_ovf *ovf;
	const struct vmie_tar_member *mf;    /* manifest member or NULL */
	const struct vmie_tar_member *cert;  /* certificate member or NULL */
	const char *mf_name;      /* their names (NULL if absent) */
	const char *cert_name;
	/* The member of each ovf->files[i] (NULL only while opening). */
	const struct vmie_tar_member **file_members;
	/* The file members sorted by name (lookups in O(log n), whatever
	 * the number of names a manifest or descriptor lists). */
	const struct vmie_tar_member **by_name;
	size_t n_by_name;
	unsigned n_warn;
	char warn[VMIE_OVA_MAX_WARN][200];   /* non-fatal findings */
};

/* The regular or sparse file member named name (no path resolution:
 * the exact member name), or NULL.  Directories are not returned. */
const struct vmie_tar_member *vmie_ova_find(const struct vmie_ova *ova,
					    const char *name);

/* Open and validate an OVA (takes a reference on src).  Draws on
 * src->budget (lib/core/budget.h): tar headers and descriptor bytes as
 * "read", members and descriptor nodes as "entries". */
int vmie_ova_open_src(struct vmie_src *src, struct vmie_ova **out,
		      struct vmie_err *err);
int vmie_ova_open(const char *path, struct vmie_ova **out,
		  struct vmie_err *err);
void vmie_ova_close(struct vmie_ova *ova);

/* True when the first bytes of src look like a tar archive (a valid
 * header checksum); *first_is_ovf tells whether its first file member ends
 * in ".ovf".  Reads at most a few headers. */
bool vmie_ova_probe(struct vmie_src *src, bool *first_is_ovf);

/* The tar member holding disk i (offset and size inside the OVA). */
int vmie_ova_disk_member(struct vmie_ova *ova, size_t i, uint64_t *off,
			 uint64_t *size, struct vmie_err *err);
/* A window source onto disk i's file (refuses gzip and chunked files). */
int vmie_ova_disk_src(struct vmie_ova *ova, size_t i, struct vmie_src **out,
		      struct vmie_err *err);
/* Open disk i as an image: its format is probed on the member window (a
 * nested OVA is refused).  o may be NULL; o->format and o->ova_disk are
 * ignored. */
int vmie_ova_open_disk(struct vmie_ova *ova, size_t i,
		       const struct vmie_open_opts *o, struct vmie_image **out,
		       struct vmie_err *err);

struct vmie_ova_verify {
	bool present;             /* the OVA has a manifest */
	char manifest[128];       /* its member name */
	char alg[8];              /* algorithm of the first entry */
	unsigned n_entries;
	unsigned n_ok;            /* entries whose digest matched */
	unsigned n_duplicates;    /* lines repeating an earlier one (same
				     file, algorithm and digest): ignored */
	unsigned n_digested;      /* digests computed: one per distinct
				     (member, algorithm), never more */
	uint64_t bytes_digested;  /* bytes read to compute them */
	unsigned n_unlisted;      /* members (other than .mf/.cert) the
				     manifest does not cover */
	char unlisted[128];       /* the first of them */
	bool cert_present;
	char cert[128];
	char cert_status[160];    /* what was done with the certificate */
};
/* Verify every digest in the manifest by streaming the members.  A digest
 * mismatch, or an entry naming a missing member, is VMIE_ECORRUPT (FMT-005)
 * naming the file and both digests.  Each member is digested at most once
 * per algorithm: a line repeating an earlier one is counted and skipped, a
 * line giving the same file and algorithm another digest is refused
 * (FMT-005) before any member is read.  No manifest: 0 with !present. */
int vmie_ova_verify_manifest(struct vmie_ova *ova, struct vmie_ova_verify *v,
			     volatile int *cancel, struct vmie_err *err);

/* ---- writing (ova_write.c) ---- */

struct vmie_ova_write_disk {
	struct vmie_image *img;   /* source disk (any readable format) */
	const char *file_name;    /* member name, NULL = "<vm>-disk<N>.vmdk" */
};

struct vmie_ova_write_opts {
	const char *vm_name;      /* NULL = from the output name */
	const char *os_id;        /* CIM OS type number (ovf:id), NULL = "1"
				     (Other) */
	const char *os_type;      /* vmw:osType, e.g. "otherLinux64Guest",
				     or NULL */
	const char *os_description;
	unsigned vcpus;           /* 0 = 1 */
	uint64_t memory;          /* bytes, 0 = 1 GiB */
	const char *firmware;     /* "bios", "efi" or NULL (not written) */
	unsigned n_nics;          /* E1000 NICs on network "VM Network" */
	const struct vmie_ova_write_disk *disks;
	size_t n_disks;
	unsigned threads;         /* convert worker threads, 0 = CPUs */
	unsigned sink_flags;      /* VMIE_SINK_* */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	volatile int *cancel;
};

/* Write a whole-VM OVA at path (temporary name, renamed when complete).
 * Needs the VMDK driver's stream-optimized writer. */
int vmie_ova_write(const char *path, const struct vmie_ova_write_opts *o,
		   struct vmie_err *err);
/* The same into an open sink (not committed here: the caller publishes
 * it, e.g. a bucket object). */
struct vmie_sink;
int vmie_ova_write_to_sink(struct vmie_sink *sink,
			   const struct vmie_ova_write_opts *o,
			   struct vmie_err *err);

#endif
