/*
 * Guest configuration edits as pure text transformations: each function
 * takes the text of one file of the guest and returns the new text and
 * the reason for every change, or says that nothing needs to change.  No
 * I/O: the orchestrator (modify.c) reads the files through a guest
 * backend, calls these, writes the results into the copy-on-write
 * overlay and records each change in the journal (path, rule, what, the
 * original kept as, SHA-256 before and after).
 *
 * The text comes from the guest: every function bounds its work by the
 * input's length (lines and line lengths capped, no recursion on input),
 * keeps lines it does not understand unchanged, and never fails on
 * strange input (only on out of memory: VMIE_ENOMEM).
 *
 * The target has one NIC and disks whose names differ from the source
 * hypervisor's: so device names become UUID=, static addresses become
 * DHCP, interface names are made not to matter (the kernel command line
 * gets net.ifnames=0 biosdevname=0, so the NIC is eth0 whatever the
 * kernel; configurations that can match any NIC do so instead), shares of
 * the old hypervisor or network are commented out.
 */
#ifndef VMIE_MODIFY_EDIT_H
#define VMIE_MODIFY_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#define VMIE_EDIT_MAX_NOTES 32

struct vmie_edit_note {
	char rule[16];          /* "PREP-013"... the rule that asks for it */
	char what[240];         /* "line 3: /dev/sda1 -> UUID=..." */
};

struct vmie_edit {
	char *text;             /* the new content (malloc, NUL-terminated),
				   or NULL when nothing changes */
	size_t len;
	unsigned n_notes;       /* notes beyond the max are counted, not kept */
	unsigned n_changes;
	struct vmie_edit_note notes[VMIE_EDIT_MAX_NOTES];
};
void vmie_edit_free(struct vmie_edit *e);

/* Maps a device spec found in the guest ("/dev/sda1", "/dev/xvda1",
 * "/dev/disk/by-id/...", "/dev/disk/by-path/...", "/dev/nvme0n1p2",
 * "/dev/hda1", "/dev/vdb1", "/dev/mapper/x"...) to a stable spec
 * ("UUID=...") of the imported file system it names, writing it to out;
 * false when it names no imported file system (or already is stable). */
typedef bool (*vmie_edit_resolve_fn)(void *ctx, const char *spec, char *out,
				     size_t size);

/* ---- fstab (edit_fstab.c) ---- */
/* Device names become the resolver's stable spec (PREP-013); entries of
 * local devices that match no imported file system get "nofail" (so boot
 * goes on without them; never "/", not noauto entries); cifs, smbfs,
 * smb3, vboxsf, vmhgfs, fuse.vmhgfs-fuse, prl_fs, virtiofs, 9p, sshfs and
 * fuse.sshfs lines are commented out ("# vmie: ..."; NFS stays), swap on
 * a device name is resolved like the rest.  UUID=, LABEL=, PART*= and
 * LVM names are not changed.  Comments, blank lines, spacing of
 * untouched lines kept as they were. */
int vmie_edit_fstab(const char *text, size_t len, vmie_edit_resolve_fn res,
		    void *ctx, struct vmie_edit *out);

/* ---- network (edit_net.c) ---- */
/* Debian ifupdown (/etc/network/interfaces and interfaces.d/...): every
 * "iface X inet static" of an ethernet interface becomes "inet dhcp"
 * (address, netmask, gateway, broadcast, network, dns-* lines commented
 * out; "inet6 static" becomes "inet6 auto"), hwaddress commented out;
 * the first such X (none when the file has an eth0 already) becomes
 * eth0 (and "auto"/"allow-hotplug" lines follow), others keep their
 * names (PREP-011 note); loopback, bridges/bonds/vlans and their ports
 * left alone but reported.  One file at a time: two files that each
 * name a NIC both get an eth0. */
int vmie_edit_interfaces(const char *text, size_t len, struct vmie_edit *out);
/* RHEL/SUSE ifcfg-NAME (shell variables): BOOTPROTO=dhcp (SUSE:
 * 'dhcp'), IPADDR*, NETMASK*, PREFIX*, GATEWAY*, DNS* commented out,
 * HWADDR/MACADDR removed (commented), DEVICE=eth0 / NAME=eth0 set,
 * ONBOOT=yes (SUSE: STARTMODE='auto').  *new_name (may be NULL)
 * receives the file name it should have ("ifcfg-eth0"), 64 bytes, ""
 * when the file is left as it is (loopback, bond, bridge, VLAN, a port
 * of one, alias, not ethernet: reported in a note). */
int vmie_edit_ifcfg(const char *text, size_t len, bool suse,
		    struct vmie_edit *out, char *new_name);
/* NetworkManager keyfile (.nmconnection, ini): [ipv4] method=auto,
 * address*= and gateway= commented out, interface-name= and
 * mac-address= of [connection]/[ethernet] removed so it applies to any
 * ethernet NIC; autoconnect=true.  Also: [ipv6] like [ipv4],
 * cloned-mac-address=, [match] interface-name/driver/path; dns= and
 * ignore-auto-dns/-routes, never-default=true of a section that was
 * manual.  Connections that are not ethernet or are ports of a bond or
 * bridge are left alone, reported. */
int vmie_edit_nmconnection(const char *text, size_t len,
			   struct vmie_edit *out);
/* netplan (YAML, read with libyaml): every ethernet with static
 * addresses or dhcp4 false becomes DHCP; the result is a new document
 * that matches any NIC: network: {version: 2, ethernets: {<name>:
 * {match: {name: "e*"}, dhcp4: true}}} with the renderer kept, <name>
 * the first ethernet's; the original follows it, every line commented
 * out with "# vmie: " (bytes YAML refuses in a comment shown as '?'; the
 * orchestrator keeps the old file under its kept name).  Ethernets that
 * are ports of bonds/bridges/VLANs do not count; bonds/bridges reported
 * (and left out of a new document).  Unchanged when every ethernet
 * already is DHCP matching eth0; not YAML, or a document over the
 * limits (100000 events, depth 64, 1000 anchors/aliases): unchanged,
 * with a note. */
int vmie_edit_netplan(const char *text, size_t len, struct vmie_edit *out);

/* ---- GRUB (edit_grub.c) ---- */
struct vmie_grub_opts {
	/* the default entry to select: a kernel version ("5.10.0-23-amd64")
	 * whose entry becomes the default, or NULL to keep the default */
	const char *default_kernel;
	int timeout;                /* seconds, -1 = keep */
	bool net_ifnames;           /* add net.ifnames=0 biosdevname=0 */
	bool serial_console;        /* add console=tty0 console=ttyS0,115200 */
};
/* grub.cfg (GRUB 2): "linux"/"linux16"/"linuxefi" lines: root=, resume=
 * device names through the resolver, options added; "set default=" to
 * the wanted entry (by its menuentry title or id, see
 * vmie_edit_grub_entry_spec), "set timeout="; each added before the first
 * entry when the file has none.  A default taken from grubenv
 * ("${saved_entry}") or a one-time "${next_entry}" is left alone. */
int vmie_edit_grub_cfg(const char *text, size_t len,
		       const struct vmie_grub_opts *o,
		       vmie_edit_resolve_fn res, void *ctx,
		       struct vmie_edit *out);
/* The name GRUB 2 gives the entry of kernel version kver in this
 * grub.cfg, as "set default", GRUB_DEFAULT and grubenv's saved_entry
 * take it: "0" for the first top-level entry, else its title, inside a
 * submenu "Submenu title>Entry title" (the --id, or the "N>M" position,
 * where a title cannot be used).  Recovery and rescue entries only when
 * nothing else boots kver.  *from_env (may be NULL) tells that grub.cfg
 * takes its default from grubenv (set default="${saved_entry}"):
 * vmie_edit_grub_cfg then leaves the default to grubenv and the caller
 * sets saved_entry with vmie_edit_grubenv.  False when no entry (of the
 * first 32) boots kver, as when the entries are BLS files (the
 * saved_entry of a BLS entry is its file name without ".conf"), or when
 * the name does not fit in size (320 is always enough). */
bool vmie_edit_grub_entry_spec(const char *text, size_t len,
			       const char *kver, char *spec, size_t size,
			       bool *from_env);
/* /etc/default/grub: GRUB_CMDLINE_LINUX(_DEFAULT) options and device
 * names, GRUB_TIMEOUT, GRUB_DEFAULT (so a later update-grub keeps it).
 * This file does not say which entry boots o->default_kernel: this
 * function leaves GRUB_DEFAULT alone; vmie_edit_default_grub_entry sets
 * it to entry (from vmie_edit_grub_entry_spec) unless it is "saved"
 * (grubenv's saved_entry decides). */
int vmie_edit_default_grub(const char *text, size_t len,
			   const struct vmie_grub_opts *o,
			   vmie_edit_resolve_fn res, void *ctx,
			   struct vmie_edit *out);
int vmie_edit_default_grub_entry(const char *text, size_t len,
				 const struct vmie_grub_opts *o,
				 const char *entry, vmie_edit_resolve_fn res,
				 void *ctx, struct vmie_edit *out);
/* GRUB legacy menu.lst / grub.conf: "kernel" lines (not a hypervisor's:
 * xen.gz), "default N" (N counts the titles from 0; "default saved"
 * becomes a number too), "timeout N". */
int vmie_edit_menu_lst(const char *text, size_t len,
		       const struct vmie_grub_opts *o,
		       vmie_edit_resolve_fn res, void *ctx,
		       struct vmie_edit *out);
/* A BLS entry (/boot/loader/entries/ *.conf): its "options" lines.  An
 * entry whose options use $kernelopts (RHEL 8) gets no options added:
 * they go to grubenv's kernelopts (vmie_edit_grubenv). */
int vmie_edit_bls_entry(const char *text, size_t len,
			const struct vmie_grub_opts *o,
			vmie_edit_resolve_fn res, void *ctx,
			struct vmie_edit *out);
/* grubenv (exactly 1024 bytes, "# GRUB Environment Block" then
 * key=value lines, '#' padding): set saved_entry (and kernelopts=, where
 * RHEL 8 keeps the command line) keeping the block 1024 bytes; a block
 * that would not fit is left unchanged with a note.  saved_entry NULL
 * keeps it; when it is set, a pending next_entry is cleared (it would
 * win once).  kernelopts is edited only when present. */
int vmie_edit_grubenv(const char *text, size_t len, const char *saved_entry,
		      const struct vmie_grub_opts *o, vmie_edit_resolve_fn res,
		      void *ctx, struct vmie_edit *out);

#endif
