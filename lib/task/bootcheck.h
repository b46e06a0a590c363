/*
 * The boot check: boot the volumes an import wrote under QEMU and watch
 * the serial console for a login prompt (DESIGN.md, "an optional boot
 * check of the converted image under QEMU, with the serial log kept as
 * evidence"; docs/boot-check.md).
 *
 * QEMU runs with TCG only (never KVM), in its own process group, with
 * a clean argument vector built here: nothing that came from a guest is
 * on it.  The volumes are handed over as open read-only file descriptors
 * (-add-fd, /dev/fdset/N) and opened with snapshot=on, so the guest's
 * writes go to a throwaway overlay and the stored volume cannot change:
 * QEMU is given no descriptor it could write the volume through.  The
 * guest's network is QEMU's user network with restrict=on (DHCP, no way
 * out), and QEMU's seccomp sandbox is on.
 *
 * The check passes when a line of the serial console ends in "login:"
 * (case-insensitive, trailing blanks allowed: "debian login: ").  It
 * fails on the timeout, when QEMU ends first (the guest reset or powered
 * off: -no-reboot) or when the console writes more than log_max bytes.
 * Every outcome kills QEMU's process group and reaps it; the serial
 * output is written to log_path as it comes, and QEMU's own messages are
 * appended after a marker line.
 */
#ifndef VMIE_TASK_BOOTCHECK_H
#define VMIE_TASK_BOOTCHECK_H

#include <stdbool.h>
#include <stdint.h>

struct vmie_err;

#define VMIE_BOOTCHECK_MAX_DISKS 16
#define VMIE_BOOTCHECK_TIMEOUT 600          /* seconds, the default */
#define VMIE_BOOTCHECK_LOG_MAX (16u << 20)  /* bytes of serial log */

struct vmie_bootcheck_disk {
	int fd;                 /* open read-only; not closed here */
	const char *format;     /* "raw" or "qcow2" */
};

struct vmie_bootcheck_opts {
	const struct vmie_bootcheck_disk *disks;   /* the boot disk first */
	unsigned n_disks;
	bool uefi;              /* OVMF, else SeaBIOS */
	/* The target's devices, as a policy names them (target_disk_bus,
	 * target_nic: vmie_policy_disk_buses, vmie_policy_nics) */
	const char *disk_bus;   /* NULL = virtio */
	const char *nic;        /* NULL = virtio-net-pci; "none": no NIC */
	unsigned timeout;       /* seconds; 0 = VMIE_BOOTCHECK_TIMEOUT */
	unsigned memory_mib;    /* 0 = 1024 */
	uint64_t log_max;       /* 0 = VMIE_BOOTCHECK_LOG_MAX */
	const char *log_path;   /* created or truncated, kept */
	/* The VM's name for ps and QEMU's messages (-name), letters, digits
	 * and '-' (the task id); NULL: none. */
	const char *name;
	/* Polled about five times a second: nonzero stops the check
	 * (VMIE_EINTR).  May be NULL. */
	volatile int *cancel;
	/* NULL: "qemu-system-x86_64" looked up in PATH; OVMF's files under
	 * /usr/share/OVMF (the code read-only, a private copy of the
	 * variables). */
	const char *qemu;
	const char *ovmf_code, *ovmf_vars;
};

struct vmie_bootcheck_result {
	bool passed;
	double seconds;         /* from QEMU's start to the prompt or the end */
	uint64_t log_bytes;     /* serial bytes written to the log */
	char reason[400];       /* what happened, one line */
	char prompt[128];       /* the prompt's line (printable ASCII) */
	char tail[400];         /* the last console lines, " | " between
				   them (printable ASCII) */
};

/* Run the check.  0 when it ran to a verdict (res->passed, res->reason);
 * VMIE_EINTR when cancelled; VMIE_ENOENT when QEMU or the firmware is
 * missing; VMIE_EINVAL for bad options; other codes when the host fails
 * (a pipe, the log file).  QEMU is never left running. */
int vmie_boot_check(const struct vmie_bootcheck_opts *o,
		    struct vmie_bootcheck_result *res, struct vmie_err *err);

#endif
