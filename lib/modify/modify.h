/*
 * The guest changes of an import (the pipeline's update stage): what a
 * cloud needs changed in a guest for it to boot, made in the copy-on-write
 * overlay through a guest backend (guest.h), each recorded in the change
 * journal.
 *
 * Linux (an OS of the inspection whose root is on ext2/3/4):
 *   /etc/fstab                         device names -> UUID=, nofail,
 *                                      shares commented out (PREP-013)
 *   network configuration              static -> DHCP, any NIC (PREP-003)
 *     ifupdown, RHEL/SUSE ifcfg, NetworkManager keyfiles, netplan;
 *     persistent-net udev rules set aside
 *   GRUB                               root=/resume= device names ->
 *     grub.cfg, /etc/default/grub,     UUID=, net.ifnames=0, the default
 *     menu.lst, BLS entries, grubenv   kernel and a timeout (PREP-014)
 * Windows (an OS of the inspection whose root is NTFS; windows.c):
 *   SYSTEM hive                        RealTimeIsUniversal = 1 in every
 *                                      control set (PREP-009)
 *   BCD store (on the active NTFS      EMS off: bootems/ems elements set
 *     partition of a BIOS guest, or    to false (PREP-010); the FAT ESP
 *     on the FAT ESP of a UEFI one)    through the libguestfs appliance,
 *                                      a note when there is none
 *   boot disk, when the rules decided  GPT -> MBR (gpt2mbr.c): the MSR
 *     GPT-to-MBR (BOOT-006,            dropped, the other partitions at
 *     o->gpt_to_mbr)                   their offsets, Windows active,
 *                                      syslinux's generic MBR code; the
 *                                      old GPT sectors and boot sectors
 *                                      kept as files on the Windows
 *                                      volume; \bootmgr from \Windows\
 *                                      Boot\PCAT, a new \Boot\BCD (bcd.c),
 *                                      MountedDevices rewritten for the
 *                                      MBR disk, NTFS hidden sectors set
 *   SYSTEM hive, Windows before 8      CriticalDeviceDatabase entries of
 *                                      the policy's boot drivers (PREP-015)
 * Every changed file's original is kept beside it as "<name>.vmie-orig"
 * (".vmie-orig.2"... when taken), PREP-018; a file set aside is renamed
 * to its kept name.  The journal entry says which file, which rule asked,
 * what changed, the kept name and the SHA-256 of the content before and
 * after.
 *
 * The file systems are opened again on the devices the inspection kept
 * (vmie_inspect_opts.keep_devices), which read and write through the
 * overlays (ext2/3/4 through guest_ext.c, NTFS through guest_ntfs.c).
 * XFS, Btrfs and JFS go through a libguestfs appliance over the whole
 * disks (guest_gfs.c): the task fails, naming the packages, when this
 * build or this host has no libguestfs.  FAT is left as it is (a note).
 *
 * initramfs (PREP-015, with o->policy): when the default kernel's
 * initramfs lacks a driver of the policy's set linux_initrd_drivers that
 * is neither built into the kernel (modules.builtin) nor absent from its
 * modules (modules.dep), the guest's own tool rebuilds it in the
 * libguestfs appliance with the guest's file systems mounted as its
 * fstab says: update-initramfs (the modules added to
 * /etc/initramfs-tools/modules), dracut --add-drivers, or the old SUSE
 * mkinitrd.  The old initramfs is kept beside it (PREP-018) and the
 * journal records both.  An initramfs inspection could not read is not
 * rebuilt blindly: a note says so.
 *
 * With o->diff, a unified diff of every change is built too (the dry
 * run prints it; the overlays are thrown away).
 */
#ifndef VMIE_MODIFY_MODIFY_H
#define VMIE_MODIFY_MODIFY_H

#include <stdbool.h>
#include <stddef.h>

struct vmie_err;
struct vmie_image;
struct vmie_inspection;
struct vmie_policy;

struct vmie_change {
	char device[160];       /* the file system: "disk0p1" */
	char path[256];         /* "/etc/fstab" */
	char rule[16];          /* "PREP-013" */
	char what[480];         /* the edits, "; "-separated */
	char kept_as[256];      /* the original's new path, "" if created */
	char sha256_before[65]; /* "" when the file was created */
	char sha256_after[65];  /* "" when the file was set aside */
};

struct vmie_modify_opts {
	const char *default_kernel; /* the entry to boot by default, or NULL */
	int timeout;                /* GRUB timeout, -1 keep */
	bool net_ifnames;           /* net.ifnames=0 biosdevname=0 */
	bool serial_console;        /* console=ttyS0 as well */
	bool diff;                  /* build res->diff */
	/* Windows: the services of the target's disk controller that must
	 * start at boot (policy set windows_boot_drivers, e.g. "stornvme"
	 * for NVMe, "viostor" for virtio): NULL-terminated, or NULL */
	const char *const *win_boot_drivers;
	/* Windows: the rules decided that the GPT boot disk becomes MBR
	 * with a BIOS boot configuration (BOOT-006; windows.c, gpt2mbr.c) */
	bool gpt_to_mbr;
	/* The import's policy: its set linux_initrd_drivers is what the
	 * initramfs must hold (PREP-015); NULL: the initramfs is left as
	 * it is. */
	const struct vmie_policy *policy;
	/* The whole disks (the overlays the inspection read, in its
	 * order), for the libguestfs appliance; NULL: found from the
	 * devices the inspection kept. */
	struct vmie_image *const *disks;
	unsigned n_disks;
};

#define VMIE_MODIFY_MAX_NOTES 16

struct vmie_modify_result {
	unsigned n;
	struct vmie_change *changes;
	char *diff;                 /* unified diff (o->diff), or NULL */
	size_t diff_len;
	unsigned n_notes;
	char notes[VMIE_MODIFY_MAX_NOTES][240];  /* what was not done, why */
};

/* Make the changes of every Linux and Windows OS of in (see above).  0, or an error
 * when a change could not be written (the overlay is then to be thrown
 * away: the task fails). */
int vmie_modify_guest(const struct vmie_inspection *in,
		      const struct vmie_modify_opts *o,
		      struct vmie_modify_result *res, struct vmie_err *err);
void vmie_modify_result_free(struct vmie_modify_result *res);

/* The unified diff of two texts (a and b named path), appended to *buf
 * (malloc'd, grown; *len updated).  Bounded: files of more than 20000
 * lines are shown as one hunk that replaces everything. */
int vmie_diff_append(char **buf, size_t *len, const char *path,
		     const char *a, size_t alen, const char *b, size_t blen);

#endif
