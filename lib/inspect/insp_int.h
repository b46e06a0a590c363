/*
 * Internal interface of lib/inspect: the pure parsers (text and byte
 * buffers in, facts out) that the Linux and Windows inspectors apply to
 * files read from a guest.  They never touch a file system, so the unit
 * tests (tests/inspect/test_parsers.c) call them on literal text.
 *
 * Formats: os-release(5), lsb_release(1), the one-line release files of
 * Red Hat-like distributions, SuSE-release, fstab(5), GRUB 2 grub.cfg and
 * grubenv, the Boot Loader Specification entries, GRUB legacy menu.lst,
 * ifcfg (initscripts and SUSE wicked), interfaces(5), netplan YAML,
 * NetworkManager keyfiles, passwd(5), ELF (System V ABI, "ELF header") and
 * PE/COFF (Microsoft PE format, "COFF File Header").
 */
#ifndef VMIE_INSPECT_INSP_INT_H
#define VMIE_INSPECT_INSP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/inspect.h"

/* Per-guest limits on what is read (bigger files are skipped). */
#define INSP_MAX_TEXT      ((size_t)4 << 20)   /* any config text file */
#define INSP_MAX_FSTAB_ENTRIES 256
#define INSP_MAX_NETIFS    64
#define INSP_MAX_KERNELS   64
#define INSP_MAX_DIRENTS   4096                /* entries looked at per dir */

/* ---- text helpers (parse_text.c) ---- */

/* Value of a shell-style assignment KEY=value (os-release, lsb-release,
 * ifcfg, /etc/sysconfig/network, grubenv): quotes stripped, the last
 * assignment wins.  False when absent. */
bool vmie_insp_shvar(const char *text, const char *key, char *out,
		     size_t size);
/* Trim spaces and tabs at both ends, in place; returns s. */
char *vmie_insp_trim(char *s);
/* Copy the next line of the text at *p into line (truncated to size - 1,
 * without the newline) and advance *p past it (to NULL after the last).
 * Returns false when there is no line left. */
bool vmie_insp_next_line(const char **p, char *line, size_t size);
/* strverscmp-like comparison of two version strings. */
int vmie_insp_vercmp(const char *a, const char *b);
/* "12.5" -> 12, 5; "7" -> 7, -1; "" -> -1, -1. */
void vmie_insp_split_version(const char *v, int *major, int *minor);
/* Append item to a comma-separated list held in buf (unless present). */
void vmie_insp_list_add(char *buf, size_t size, const char *item);
bool vmie_insp_list_has(const char *list, const char *item);
/* Bounded formatting that truncates silently (messages, evidence). */
void vmie_insp_fmt(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- distribution release files (parse_release.c) ---- */

struct vmie_insp_release {
	char distro[32];        /* "debian", "rhel", ... (os-release ID) */
	char product[160];      /* PRETTY_NAME or the release line */
	char version[32];
	int major, minor;
	char service_pack[48];  /* SLES: "SP4" */
	char codename[32];
};

int vmie_insp_parse_os_release(const char *text, struct vmie_insp_release *r);
int vmie_insp_parse_lsb_release(const char *text,
				struct vmie_insp_release *r);
/* "Red Hat Enterprise Linux Server release 5.11 (Tikanga)", "CentOS Linux
 * release 7.9.2009 (Core)", "Fedora release 18", "Oracle Linux Server
 * release 6.10", "Enterprise Linux Enterprise Linux Server release 5.11",
 * "Amazon Linux release 2 (Karoo)", "Amazon Linux AMI release 2018.03". */
int vmie_insp_parse_redhat_release(const char *text,
				   struct vmie_insp_release *r);
/* SLES 11 /etc/SuSE-release: first line, VERSION and PATCHLEVEL. */
int vmie_insp_parse_suse_release(const char *text,
				 struct vmie_insp_release *r);
int vmie_insp_parse_debian_version(const char *text,
				   struct vmie_insp_release *r);
/* Normalise an os-release ID or a vendor name to vmie's distro names. */
const char *vmie_insp_distro_id(const char *id);

/* ---- kernels and boot loader configuration (parse_boot.c) ---- */

/* Version from a kernel image path: "/boot/vmlinuz-5.10.0-28-amd64" ->
 * "5.10.0-28-amd64".  "" when the name is not a kernel image. */
void vmie_insp_kernel_version(const char *path, char *ver, size_t size);
/* The custom-kernel heuristic (docs/inspect-json.md, "custom"). */
bool vmie_insp_kernel_is_custom(const char *distro, const char *kver);

/* One boot entry of a boot loader configuration. */
struct vmie_insp_bootent {
	char title[160];
	char id[160];           /* GRUB --id / BLS file name */
	char kernel[200];       /* "linux" / "kernel" path as written */
	char version[96];       /* BLS "version", else from kernel */
	int top, sub;           /* position: top-level index, index inside
				   its submenu (-1 at top level) */
	char ptitle[160];       /* title and id of the enclosing submenu */
	char pid[160];
};

struct vmie_insp_bootcfg {
	char default_spec[96];  /* what "default" says, as written */
	int timeout;            /* -1 unknown */
	bool uses_bls;          /* grub.cfg runs blscfg */
	bool saved;             /* default is the saved entry */
	int default_index;      /* index in ents of the default, -1 none */
	unsigned n;
	struct vmie_insp_bootent ents[32];
};

/* GRUB 2 grub.cfg: menu entries (submenu entries flattened with "N>M"
 * ids recorded), "set default", "set timeout".  saved_entry is grubenv's
 * value (or NULL).  Returns 0, or -1 when the text has no entries and no
 * blscfg. */
int vmie_insp_parse_grub_cfg(const char *text, const char *saved_entry,
			     struct vmie_insp_bootcfg *c);
/* GRUB legacy menu.lst / grub.conf: title, kernel, default=N, timeout. */
int vmie_insp_parse_menu_lst(const char *text, const char *saved_default,
			     struct vmie_insp_bootcfg *c);
/* One BLS entry file (/boot/loader/entries/<id>.conf). */
int vmie_insp_parse_bls_entry(const char *text, const char *id,
			      struct vmie_insp_bootent *e);
/* Choose the default entry among BLS entries (saved_entry, or the
 * highest version, as grub's blscfg sorts them). */
void vmie_insp_bls_default(struct vmie_insp_bootcfg *c,
			   const char *saved_entry);

/* ---- fstab (parse_fstab.c) ---- */

/* Parse fstab text into a malloc'd array (at most max entries; comments,
 * blank and malformed lines skipped).  Returns 0 or VMIE_ENOMEM. */
int vmie_insp_parse_fstab(const char *text, unsigned max,
			  struct vmie_insp_fstab **out, unsigned *n);
enum vmie_fstab_spec vmie_insp_spec_kind(const char *spec, bool *stable);
/* "/dev/sdb2", "/dev/vda1", "/dev/xvda1", "/dev/hda3", "/dev/nvme1n1p2",
 * "/dev/sda" -> disk index (letter or nvme number), partition (0 whole). */
bool vmie_insp_parse_devname(const char *dev, int *disk, int *part);
/* "/dev/mapper/vg-lv" (with "--" for "-") or "/dev/vg/lv" -> vg, lv. */
bool vmie_insp_parse_lvname(const char *dev, char *vg, size_t vgsize,
			    char *lv, size_t lvsize);

/* ---- network configuration (parse_net.c) ---- */

/* Each adds interfaces to os->netifs (source names the file).  Return 0
 * or VMIE_ENOMEM. */
int vmie_insp_add_netif(struct vmie_insp_os *os, const char *name, int dhcp,
			const char *address, const char *source);
/* ifcfg-NAME (RHEL initscripts) and SUSE's ifcfg-NAME: BOOTPROTO. */
int vmie_insp_parse_ifcfg(struct vmie_insp_os *os, const char *fname,
			  const char *text, const char *source);
int vmie_insp_parse_interfaces(struct vmie_insp_os *os, const char *text,
			       const char *source);
int vmie_insp_parse_netplan(struct vmie_insp_os *os, const char *text,
			    const char *source);
int vmie_insp_parse_nmconnection(struct vmie_insp_os *os, const char *text,
				 const char *source);

/* ---- users (parse_net.c) ---- */

struct vmie_insp_user {
	char name[64];
	char home[200];
	unsigned uid;
};
/* Accounts with uid >= min_uid and a login shell, into a malloc'd array. */
int vmie_insp_parse_passwd(const char *text, unsigned min_uid,
			   struct vmie_insp_user **out, unsigned *n);

/* ---- binaries (parse_bin.c) ---- */

/* Architecture of an ELF file from its header: "x86_64", "i386",
 * "aarch64", "arm", "ppc64le", "s390x", "riscv64"...; -1 if not ELF. */
int vmie_insp_elf_arch(const uint8_t *buf, size_t len, char *arch,
		       size_t size);
/* Architecture of a PE image (MZ + PE headers): "x86_64", "i386",
 * "aarch64"; -1 if not PE. */
int vmie_insp_pe_arch(const uint8_t *buf, size_t len, char *arch,
		      size_t size);

/* ---- Windows tables (parse_win.c) ---- */

/* LCID (0x0409) -> "en-US", or NULL when not in the table. */
const char *vmie_insp_lcid_name(unsigned lcid);
/* .NET Framework 4 "Release" DWORD -> "4.8" etc., NULL below 4.5. */
const char *vmie_insp_dotnet_release(uint32_t release);
/* PagingFiles REG_MULTI_SZ entries joined by '\n': 1 automatic ("?:\"
 * or sizes 0 0 or empty), 0 fixed sizes. */
int vmie_insp_paging_auto(const char *joined);

/* ---- initramfs (initrd.c) ---- */

/* Read callback: read up to len bytes at off, *got = bytes read (0 at
 * EOF).  Returns 0 or a VMIE_E* code. */
typedef int (*vmie_insp_read_fn)(void *ctx, void *buf, size_t len,
				 uint64_t off, size_t *got,
				 struct vmie_err *err);

struct vmie_insp_initrd {
	char drivers[256];        /* comma list (see struct vmie_insp_os) */
	char builtin[256];        /* of those, listed in modules.builtin */
	char compression[32];     /* "none+zstd"... */
	unsigned n_archives;      /* cpio archives (concatenated) */
	uint64_t n_files;
	bool stopped_early;     /* every driver looked for was found: the rest
				   of the archive was not decompressed */
	uint64_t bytes_out;       /* uncompressed bytes scanned */
};

/* Scan an initramfs of size bytes: cpio "newc"/"crc" archives, each
 * optionally compressed (gzip, xz, zstd, lz4 frame or legacy),
 * concatenated with zero padding between.  Streams: memory stays small
 * whatever the size.  Errors name the offset. */
int vmie_insp_initrd_scan(vmie_insp_read_fn rd, void *ctx, uint64_t size,
			  struct vmie_insp_initrd *res, struct vmie_err *err);
/* The same, drawing decompressed bytes (inflate) and cpio members and
 * streams (entries) from budget (NULL: none); one initramfs inflates to
 * at most 16 times its size (at least 256 MiB, at most 1 GiB). */
struct vmie_budget;
int vmie_insp_initrd_scan_budget(vmie_insp_read_fn rd, void *ctx,
				 uint64_t size, struct vmie_budget *budget,
				 struct vmie_insp_initrd *res,
				 struct vmie_err *err);
/* Add the drivers named in a modules.builtin text to a comma list. */
void vmie_insp_builtin_drivers(const char *text, size_t len, char *list,
			       size_t size);
/* If a module file name ("virtio_blk.ko.zst") is one of the drivers the
 * import cares about, its canonical name ("virtio_blk"), else NULL. */
const char *vmie_insp_driver_name(const char *base);

/* ---- orchestration (inspect.c), shared with linux.c and windows.c ---- */

struct vmie_fs;
struct vmie_lvm;

struct insp_ctx {
	struct vmie_inspection *in;
	const struct vmie_inspect_opts *o;
	struct vmie_image **devs;   /* per in->fs entry: its block device */
	bool *dev_owned;            /* a window this code opened */
	struct vmie_fs **fss;       /* per in->fs entry: the open fs or NULL */
	unsigned cap;
	struct vmie_lvm *lvm;
	struct insp_alias *alias;   /* layouts and aliases (inspect.c) */
	/* Btrfs (subvol.c): further handles on a file system, each rooted
	 * in one subvolume, and each file system's subvolume list */
	struct insp_subvol_fs *svfs;
	unsigned n_svfs;
	struct insp_subvol_list *svl;
	unsigned n_svl;
};

/* The file system of in->fs[i], or NULL when it could not be opened. */
struct vmie_fs *insp_fs(struct insp_ctx *c, unsigned i);
/* Index of the file system an fstab spec names, or -1.  Kernel names
 * (/dev/sdb1, /dev/vdb1, /dev/nvme1n1p1) are mapped to vmie's disks this
 * way: the guest's disk root_guest (the one its fstab names for "/", else
 * its first disk) is root_disk; its other disks, in the guest's order, are
 * vmie's other disks in the order given. */
int insp_resolve_spec(struct insp_ctx *c, const char *spec, int root_disk,
		      int root_guest);
/* Index of the EFI System Partition (an opened FAT fs with the ESP type),
 * preferring the given disk; -1 if none. */
int insp_find_esp(struct insp_ctx *c, int disk);
/* The partition entry behind fs entry i, or NULL (whole disk, LV). */
const struct vmie_partition *insp_part(struct insp_ctx *c, unsigned i);
/* Case-insensitive lookup of a path on a FAT ESP ("/EFI/BOOT/BOOTX64.EFI"):
 * true when it exists as a regular file. */
bool insp_exists_ci(struct vmie_fs *fs, const char *path);

/* Inspect the Linux root on fs entry fsi: in its Btrfs subvolume subvol,
 * or (0) at the root the file system opened with. */
int vmie_insp_linux(struct insp_ctx *c, unsigned fsi, uint64_t subvol,
		    struct vmie_insp_os *os);
int vmie_insp_windows(struct insp_ctx *c, unsigned fsi,
		      const char *sysroot, struct vmie_insp_os *os);
/* The Linux root checks: base is "" or a directory holding the root. */
bool vmie_insp_is_linux_root(struct vmie_fs *fs, const char *base);
/* Windows: "/Windows" or "/WINNT" when fs holds a system root. */
bool vmie_insp_is_windows_root(struct vmie_fs *fs, char *sysroot,
			       size_t size);

/* ---- Btrfs subvolumes (subvol.c) ---- */

#define INSP_MAX_SUBVOL_FS   32   /* subvolume handles per inspection */
#define INSP_MAX_ROOT_TRIES  32   /* subvolumes looked at for a root */

/* Fill n_subvolumes, subvolume_paths and default_subvolume of fs entry i
 * (an opened Btrfs file system; nothing otherwise). */
void insp_btrfs_info(struct insp_ctx *c, unsigned i);
/* A handle on Btrfs fs entry fsi rooted in subvolume id (as mount -o
 * subvolid=): opened once, kept until insp_subvols_close.  NULL when it
 * cannot be opened (or past INSP_MAX_SUBVOL_FS). */
struct vmie_fs *insp_subvol_fs(struct insp_ctx *c, unsigned fsi, uint64_t id);
void insp_subvols_close(struct insp_ctx *c);
/* When the root of Btrfs fs entry fsi (its default subvolume) holds no
 * Linux root: the subvolume that does, most likely first ("@", "root",
 * "@rootfs", "rootfs", then other subvolumes, snapshots last; at most
 * INSP_MAX_ROOT_TRIES).  True and *id when found. */
bool insp_btrfs_linux_root(struct insp_ctx *c, unsigned fsi, uint64_t *id);
/* The path from the top level of subvolume id of fs entry fsi ("" for the
 * top level or when unknown). */
void insp_btrfs_subvol_path(struct insp_ctx *c, unsigned fsi, uint64_t id,
			    char *path, size_t size);
/* The subvolume an fstab entry with these mount options mounts from
 * Btrfs fs entry fsi: subvolid=, else subvol= (from the top level), else
 * the default subvolume.  0 and *id, VMIE_ENOENT when the option names
 * no subvolume of the file system (path then holds what it names). */
int insp_btrfs_fstab_subvol(struct insp_ctx *c, unsigned fsi,
			    const char *options, uint64_t *id, char *path,
			    size_t size);

#endif
