/*
 * Guest inspection: what is inside the disks of one VM, found without
 * booting or mounting anything.  The result (struct vmie_inspection) is the
 * set of facts that the rules engine (lib/rules) turns into verdicts and
 * that the import pipeline acts on; its JSON form (vmie inspect --json) is
 * documented in docs/inspect-json.md and is a stable schema.
 *
 * Detection is ordered tables of { file to look for, parser }, most
 * specific first; one struct vmie_insp_os per root file system found.
 * Inspection never fails on a strange guest: an unreadable file system is
 * recorded with its error and the rest goes on.  Every fact that a rule
 * may cite carries evidence (file and value, or registry key and value).
 *
 * Strings are fixed-size, NUL-terminated, "" when unknown.  Booleans that
 * may be unknown are tri-state ints: -1 unknown, 0 no, 1 yes.
 */
#ifndef VMIE_INSPECT_INSPECT_H
#define VMIE_INSPECT_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fs.h"
#include "image/image.h"
#include "part/part.h"

/* One piece of evidence: which fact, where it was found, what it said. */
struct vmie_evidence {
	char fact[32];          /* "version", "kernel", "arch", "language"... */
	char where[160];        /* "/etc/os-release", "HKLM\\SOFTWARE\\...\\CurrentVersion" */
	char value[160];        /* "VERSION_ID=12", "ProductName=Windows 10 Pro" */
};

struct vmie_insp_disk {
	char path[512];         /* as given by the user, or "vm.ova:disk1.vmdk" */
	char format[16];        /* image driver: "vmdk", "vhdx", "raw"... */
	char subformat[48];
	uint64_t virtual_size;
	struct vmie_ptable pt;  /* partition table (owned) */
	bool has_boot_code;     /* MBR boot code or a BIOS boot partition */
	char error[400];        /* why the partition table could not be
				   read, or "" (the disk is then scanned as a
				   whole-disk file system) */
};

/* A file system found on a partition, a whole disk or an LVM volume. */
struct vmie_insp_fs {
	char device[160];       /* "disk0p1", "disk1", "disk0:vg0/root" */
	int disk;               /* disk index, -1 for an LV spanning disks */
	uint64_t disk_mask;     /* bit d set: the fs has bytes on disk d
				   (d < 64); an LV over several disks has
				   one bit per disk it has extents on */
	int partition;          /* partition number, 0 whole disk, -1 LV */
	char lv[260];           /* "vg/lv" when on LVM */
	struct vmie_fs_probe probe;
	/* Another entry reads the same bytes: a table that lists one
	 * partition twice, logical or dynamic-disk volumes over the same
	 * extents.  alias_of is the device name of the first such entry,
	 * which alone was probed, opened and inspected; this entry repeats
	 * its facts (probe, opened, error, journal, subvolumes).
	 * alias_exact: the very same bytes; false: it starts at the same
	 * byte but with another size or layout (overlapping entries).
	 * "" when the entry is no alias. */
	char alias_of[160];
	bool alias_exact;
	bool opened;            /* vmie read it (through alias_of, for an
				   alias) */
	char error[200];        /* why it could not be read, or "" */
	unsigned n_subvolumes;  /* Btrfs subvolumes other than the top level */
	bool subvolumes_unknown;   /* Btrfs: the subvolumes could not be
				      counted (damaged root tree) */
	/* Btrfs: the paths of those subvolumes from the top level, in id
	 * order, comma-separated ("@,@home"; as many as fit), and the path
	 * of the default subvolume ("" when it is the top level, 5) */
	char subvolume_paths[256];
	char default_subvolume[128];
	char mountpoint[160];   /* from the guest's fstab, if known */
	/* Was the file system shut down cleanly?  ext3/4: "none" (ext2),
	 * "clean", "replayed" (needs_recovery: the journal's committed
	 * transactions were replayed in memory), "skipped" (needs_recovery
	 * but not replayed: metadata may be stale, see journal_problem).
	 * "" for other types. */
	char journal[12];
	unsigned journal_transactions;
	uint64_t journal_blocks;
	char journal_problem[200];
	bool journal_untrusted; /* "skipped": the replay was discarded
				   because it broke the file system */
	/* NTFS: the volume's dirty flag, and a hibernation image in
	 * hiberfil.sys (hibernated, or Windows fast startup). */
	bool dirty;
	bool hibernated;
};

struct vmie_insp_kernel {
	char version[96];       /* "5.10.0-28-amd64", "4.18.0-372.el8.x86_64" */
	char path[200];         /* "/boot/vmlinuz-5.10.0-28-amd64" */
	char initrd[200];       /* matching initramfs path, or "" */
	bool has_modules;       /* /lib/modules/<version> exists */
	bool is_default;        /* the boot loader's default entry */
	bool custom;            /* not a distribution kernel (heuristic) */
};

enum vmie_fstab_spec { VMIE_SPEC_DEVICE, VMIE_SPEC_UUID, VMIE_SPEC_LABEL,
		       VMIE_SPEC_PARTUUID, VMIE_SPEC_PARTLABEL, VMIE_SPEC_OTHER };

struct vmie_insp_fstab {
	char spec[200];         /* first field as written */
	char mountpoint[200];
	char type[32];
	char options[200];
	enum vmie_fstab_spec spec_kind;
	char resolves_to[160];  /* device name of the matching file system,
				   "" when it matches none */
	bool stable_name;       /* survives a disk rename: UUID=, LABEL=,
				   PARTUUID=, PARTLABEL=, /dev/disk/by-*,
				   LVM names (/dev/mapper/vg-lv, /dev/vg/lv) */
	bool nofail;            /* options contain nofail or noauto */
	/* Btrfs: the subvolume the entry mounts (subvolid=, else subvol=,
	 * else the default subvolume), as its path from the top level; ""
	 * for the top level or when not Btrfs.  subvolume_missing: the
	 * option names a subvolume the file system does not have. */
	char subvolume[128];
	bool subvolume_missing;
};

struct vmie_insp_netif {
	char name[32];          /* "eth0", "ens192", connection id... */
	int dhcp;               /* tri-state */
	char address[64];       /* static address when configured */
	char source[200];       /* file that configures it */
};

#define VMIE_INSP_MAX_EVIDENCE 64

struct vmie_insp_os {
	/* where */
	char root_device[160];  /* a device name of struct vmie_insp_fs */
	/* Btrfs: the subvolume holding the root, as its path from the top
	 * level ("root", "@", "@/.snapshots/1/snapshot"), "" when the root
	 * is the top level (5) or the fs is not Btrfs; its id, 0 if none */
	char root_subvolume[128];
	uint64_t root_subvolume_id;
	int root_disk;          /* disk index holding the root (-1: LV over
				   several disks) */
	char type[16];          /* "linux", "windows" */
	char distro[32];        /* "amzn", "centos", "debian", "fedora", "ol",
				   "rhel", "sles", "ubuntu", "windows", ... */
	char product_name[160]; /* "Debian GNU/Linux 12 (bookworm)",
				   "Windows Server 2019 Datacenter" */
	char version[32];       /* "12", "8.6", "6.3" (Windows NT version) */
	int major, minor;       /* -1 when unknown */
	char arch[16];          /* "x86_64", "i386", "aarch64", "" */
	char hostname[128];
	uint64_t root_free;     /* free bytes on the root fs, UINT64_MAX unknown */

	/* Linux */
	unsigned n_kernels;
	struct vmie_insp_kernel *kernels;
	char default_kernel[96];  /* version of the default kernel, or "" */
	char grub_default[96];  /* GRUB "set default" / saved_entry /
				   default=N as written, "" if none */
	int grub_timeout;       /* GRUB timeout in seconds, -1 unknown */
	char bootloader[24];    /* "grub2", "grub-legacy", "syslinux",
				   "systemd-boot", "extlinux", "" */
	bool grub2_bios;        /* GRUB 2 for BIOS: boot code + i386-pc dir */
	bool grub2_efi;         /* GRUB 2 for UEFI on the ESP */
	bool grub_legacy;
	int efi_fallback;       /* EFI/BOOT/BOOTX64.EFI on the ESP (tri) */
	char esp_device[160];   /* the EFI System Partition, or "" */
	unsigned n_fstab;
	struct vmie_insp_fstab *fstab;
	unsigned n_netifs;
	struct vmie_insp_netif *netifs;
	char initrd_drivers[256]; /* found in the default initramfs, comma
				     list among: virtio_blk, virtio_scsi,
				     virtio_net, nvme, xen-blkfront,
				     xen-netfront, ena */
	int initrd_read;        /* the initramfs could be read (tri) */
	char initrd_compression[32]; /* "gzip", "zstd", "xz", "lz4",
					"none"; "+"-joined for several */
	char initrd_error[160]; /* why it could not be read, or "" */
	int ssh_installed, ssh_enabled;     /* tri */
	char users_with_keys[256];  /* non-root users with authorized_keys */
	int dhcp_client;        /* a DHCP client is installed (tri) */

	/* Windows */
	char edition[64];       /* EditionID: "ServerDatacenter", "Professional" */
	char installation_type[32]; /* "Server", "Client", "Server Core",
				       "Nano Server" */
	unsigned build;         /* CurrentBuildNumber */
	char service_pack[48];  /* CSDVersion ("Service Pack 1"), SLES "SP4";
				   "" for none */
	char install_language[16]; /* "en-US" (from InstallLanguage LCID) */
	char default_language[16];
	char language_packs[256];  /* comma list of installed UI languages */
	char systemroot[64];    /* "C:\\Windows" / "/Windows" path on the fs */
	int current_control_set;
	int realtime_is_universal;  /* tri */
	/* The machine Windows last ran on, as its firmware (SMBIOS) named it:
	 * SYSTEM\<ControlSet>\Control\SystemInformation (Vista and later):
	 * "VMware, Inc." / "VMware7,1", "Dell Inc." / "OptiPlex 7010"... */
	char system_manufacturer[96];
	char system_product[96];
	char paging_files[256];
	int paging_auto;        /* "automatically manage" (tri) */
	int rdp_enabled, rdp_firewall, autologon, vmware_tools;  /* tri */
	int pending_reboot;     /* tri */
	char dotnet_version[32];  /* "4.8", "3.5"... */
	int ems_enabled;        /* tri */
	bool bootmgr_bios;      /* bootmgr on the active partition */
	bool bootmgr_efi;       /* EFI/Microsoft/Boot/bootmgfw.efi on the ESP */
	/* GPT disk: the Windows volume holds what a BIOS boot needs once the
	 * disk is MBR (<SystemRoot>\Boot\PCAT\bootmgr, the boot manager
	 * bcdboot copies to a BIOS system partition, and
	 * <SystemRoot>\System32\winload.exe), so the GPT-to-MBR conversion
	 * of BOOT-006 can make it boot with legacy BIOS.  Whether its
	 * version may boot that way (Windows 11: no) is for the rules. */
	bool bios_after_mbr;

	/* the boot modes this guest can use (BOOT-001).  Windows: can_bios
	 * is bootmgr_bios || bios_after_mbr (on GPT, BIOS after conversion) */
	bool can_bios, can_uefi;

	unsigned n_evidence;
	struct vmie_evidence evidence[VMIE_INSP_MAX_EVIDENCE];
};

/* What the VM definition says (OVA/OVF), when there is one. */
struct vmie_insp_vm {
	bool present;           /* an OVF was read */
	char name[128];
	char os_id[64];         /* OVF OperatingSystemSection: vmw:osType,
				   else its Description, else its ovf:id */
	unsigned n_nics;
	unsigned n_cdroms;
	unsigned n_disks;
	char cim_os_id[16];     /* OperatingSystemSection ovf:id (CIM number) */
	char firmware[16];      /* vmw:Config firmware: "bios", "efi", "" */
};

struct vmie_ovf;
/* Fill v from a parsed OVF descriptor (lib/ova). */
void vmie_insp_vm_from_ovf(const struct vmie_ovf *ovf, struct vmie_insp_vm *v);

struct vmie_inspection {
	unsigned n_disks;
	struct vmie_insp_disk *disks;
	unsigned n_fs;
	struct vmie_insp_fs *fs;
	unsigned n_os;
	struct vmie_insp_os *os;
	struct vmie_insp_vm vm;
	bool dual_boot;         /* more than one OS root (OS-007) */
	unsigned n_warnings;    /* VM-wide oddities (LVM, unreadable disks) */
	char warnings[16][200];
	unsigned n_lvs;         /* LVM logical volumes found */
	unsigned n_aliases;     /* file system entries that are aliases of
				   another (vmie_insp_fs.alias_of) */
	double seconds;         /* time the inspection took */
	/* With vmie_inspect_opts.keep_devices: the block device of each
	 * fs entry, kept open (see vmie_inspection_device). */
	struct insp_kept *kept;
};

struct vmie_inspect_opts {
	bool skip_initrd;       /* do not unpack initramfs (faster) */
	/* Keep the block device of every file system entry open with the
	 * result (partition windows, LVM volumes over the disks given), so
	 * that a later stage can open a file system again on the same
	 * device: the import's update stage inspects the copy-on-write
	 * overlays and writes the guest changes through these devices. */
	bool keep_devices;
};

/* The device of file system entry i (an alias: the device of what it
 * aliases), when the inspection kept them; NULL otherwise.  Owned by the
 * inspection: valid until vmie_inspection_free. */
struct vmie_image *vmie_inspection_device(const struct vmie_inspection *in,
					  unsigned i);

/* Inspect the disks of one VM (in the order of the VM definition). */
int vmie_inspect(struct vmie_image *const *disks, const char *const *names,
		 unsigned n, const struct vmie_inspect_opts *o,
		 struct vmie_inspection **out, struct vmie_err *err);
void vmie_inspection_free(struct vmie_inspection *in);

/* Record evidence on an OS (dropped silently when full). */
void vmie_insp_evidence(struct vmie_insp_os *os, const char *fact,
			const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* First evidence for a fact, or NULL. */
const struct vmie_evidence *vmie_insp_find_evidence(const struct vmie_insp_os *os,
						    const char *fact);

/* JSON (jansson json_t *, declared as void * to keep jansson out of
 * this header): the documented schema of docs/inspect-json.md. */
void *vmie_inspection_to_json(const struct vmie_inspection *in);

#endif
