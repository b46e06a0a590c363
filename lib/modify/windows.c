/*
 * The Windows changes of an import (modify.h): registry values, set in
 * the hives of the guest with hivex and written back through the NTFS
 * guest backend (guest_ntfs.c), each original kept beside its hive
 * (PREP-018) and every change in the journal (modify_int.h).
 *
 *   hive    file                                  change                rule
 *   SYSTEM  <SystemRoot>\System32\config\SYSTEM   in every control set  PREP-009
 *           on the OS's root volume               (ControlSetNNN, the
 *                                                 current one among
 *                                                 them): Control\
 *                                                 TimeZoneInformation\
 *                                                 RealTimeIsUniversal =
 *                                                 1 (REG_DWORD)
 *           the services of the target's disk     PREP-015
 *           drivers (policy windows_boot_drivers,
 *           where the guest has them): Services\
 *           <name>\Start = 0 (boot start), in a
 *           second pass (its own journal entry)
 *   BCD     \Boot\BCD on the active partition     in every object that  PREP-010
 *           (BIOS), or \EFI\Microsoft\Boot\BCD    enables EMS: element
 *           on the ESP (UEFI): where inspection   16000020 (bootems,
 *           read it (its "ems" evidence)          BcdLibraryBoolean_
 *                                                 EmsEnabled) and
 *                                                 260000b0 (ems,
 *                                                 BcdOSLoaderBoolean_
 *                                                 EmsEnabled) = false
 *
 * The seed documents name RealTimeIsUniversal and EMS (AWS sets the one
 * and disables the other) and "registry settings to make the VM
 * bootable", which is what the boot start of the target's disk drivers
 * is.  A BCD
 * boolean element is the "Element" value of key Objects\{id}\Elements\
 * <type>, REG_BINARY, one byte (0 false, 1 true): it is set to zeros of
 * its own length and type.  Element types: Microsoft's BcdLibrary-
 * ElementTypes and BcdOSLoaderElementTypes enumerations (class 1 library
 * / 2 application, format 6 boolean).
 *
 * A hive is read whole through the backend into an anonymous memory file
 * (memfd_create), opened by hivex as /proc/self/fd/N for writing,
 * changed, committed into a second memory file and written back through
 * the backend from a mapping of it: nothing of the guest is written to a
 * host file.  The original is copied to "<hive>.vmie-orig" by the backend
 * (a chunk at a time: hives are tens of MiB) before the hive is rewritten
 * in place (same MFT record, security descriptor and attributes).
 *
 * The base block of a hive (its first 4096 bytes; "Windows registry file
 * format specification", section "Base block"), as far as this file
 * reads it:
 *
 *   offset  size  meaning                          byte order
 *   0x000   4     signature "regf"
 *   0x004   4     primary sequence number          little-endian
 *   0x008   4     secondary sequence number        little-endian
 *
 * The two sequence numbers differ while Windows writes the hive: such a
 * hive is dirty, its newest data are in its .LOG1/.LOG2 transaction logs,
 * which vmie does not replay; it is left as it is and a note says why.
 * hivex_commit writes both numbers as the primary one + 1: the hive is
 * clean, and newer than what its logs hold, so Windows does not replay
 * them over the change.
 *
 * A BCD on the FAT ESP goes through the libguestfs appliance of the run
 * (guest_gfs.c), which mounts the ESP read-write in itself; it is started
 * only when EMS is on.
 *
 * Not changed (a note says so): a BCD on the FAT ESP when this build or
 * this host has no libguestfs (the note names the packages), a hive that
 * is dirty or larger than WIN_MAX_HIVE, a hive hivex cannot open.  A
 * volume the NTFS backend refuses (hibernated, fast startup, dirty)
 * fails the task: its message says what to do.
 */
#include "modify/modify_int.h"
#include "modify/modify.h"
#include "modify/guest.h"
#include "modify/bcd.h"
#include "modify/gpt2mbr.h"
#include "image/image.h"
#include "core/checked.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/util.h"
#include "inspect/inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hives read into memory (three copies live at once): refuse above. */
#define WIN_MAX_HIVE    ((size_t)256 << 20)
#define WIN_HIVE_MIN    4096
#define WIN_MAX_FS      2       /* the root volume and the BCD's */

#define REGF_SIG        0x000
#define REGF_SEQ1       0x004
#define REGF_SEQ2       0x008

/* BCD object types (Objects\{id}\Description\Type) named in the journal */
#define BCD_TYPE_BOOTMGR        0x10100002u
#define BCD_TYPE_OSLOADER       0x10200003u
#define BCD_TYPE_RESUME         0x10200004u

struct win_fs {
	unsigned fsi;
	struct vmie_guest *g;
};

struct win {
	struct mod *m;
	const struct vmie_inspection *in;
	const struct vmie_insp_os *os;
	struct win_fs fs[WIN_MAX_FS];
	unsigned n_fs;
	int failed;                 /* the first error that fails the task */
	struct vmie_err err;
	/* GPT -> MBR (BOOT-006, gpt2mbr.h): the plan, the MBR boot code,
	 * where the originals of the sectors are kept (set by win_bios) */
	bool g2m;
	struct vmie_g2m_plan plan;
	struct vmie_image *disk;
	uint8_t code[440];
	char code_from[200];
	char kept_prim[256], kept_back[256], kept_bs[4][256];
	char old_table[2048], new_table[2048];
};

/* What an editor changed: the journal's "what", and the lines of the
 * diff of the dry run (the values before and after, as text). */
struct win_edit {
	char what[480];
	size_t wlen;
	char *before, *after;
	size_t blen, alen, bcap, acap;
	unsigned n;                 /* values changed */
	bool oom;
};

typedef int (*win_edit_fn)(struct win *w, hive_h *h, struct win_edit *ed);

static void win_fail(struct win *w, const struct vmie_err *e)
{
	if (!w->failed) {
		w->failed = e->code ? e->code : VMIE_EIO;
		w->err = *e;
	}
}

static int win_fs_index(const struct vmie_inspection *in, const char *device)
{
	for (unsigned i = 0; i < in->n_fs; i++)
		if (!strcmp(in->fs[i].device, device))
			return (int)i;
	return -1;
}

/* The NTFS guest of file system device, opened once; NULL (and a note,
 * or the task failed) when it cannot be written. */
static struct vmie_guest *win_guest(struct win *w, const char *device,
				    const char *what)
{
	int i = win_fs_index(w->in, device);
	if (i < 0) {
		vmie_mod_note(w->m, "%s: %s not changed: no such file system",
			      device, what);
		return NULL;
	}
	for (unsigned k = 0; k < w->n_fs; k++)
		if (w->fs[k].fsi == (unsigned)i)
			return w->fs[k].g;
	if (w->n_fs >= WIN_MAX_FS)
		return NULL;
	struct win_fs *f = &w->fs[w->n_fs++];
	const struct vmie_insp_fs *fs = &w->in->fs[i];
	struct vmie_image *dev = vmie_inspection_device(w->in, (unsigned)i);
	struct vmie_err e = { 0 };
	f->fsi = (unsigned)i;
	f->g = NULL;
	if (strcmp(fs->probe.type, "ntfs")) {
		vmie_mod_note(w->m, "%s (%s): %s not changed: vmie writes NTFS "
			      "and ext2/3/4 only", device, fs->probe.type,
			      what);
	} else if (!dev) {
		vmie_mod_note(w->m, "%s: %s not changed: no device to write "
			      "through", device, what);
	} else if (vmie_guest_open_ntfs(dev, device, &f->g, &e)) {
		win_fail(w, &e);
	}
	return f->g;
}

/* ---- the edit record ---- */

static void win_add(char **buf, size_t *len, size_t *cap, bool *oom,
		    const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 2 > *cap) {
		size_t nc = (*len + n + 2) * 2;
		char *b = realloc(*buf, nc);
		if (!b) {
			*oom = true;
			return;
		}
		*buf = b;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = 0;
}

/* One value changed: "what" for the journal, the value before and after
 * as lines of the diff. */
static void win_changed(struct win_edit *ed, const char *what,
			const char *before, const char *after)
{
	ed->n++;
	if (ed->wlen + 8 < sizeof ed->what) {
		int k = snprintf(ed->what + ed->wlen, sizeof ed->what -
				 ed->wlen, "%s%s", ed->wlen ? "; " : "", what);
		if (k > 0)
			ed->wlen = vmie_min_u64(ed->wlen + (size_t)k,
						sizeof ed->what - 1);
		if (ed->wlen == sizeof ed->what - 1)
			memcpy(ed->what + sizeof ed->what - 4, "...", 4);
	}
	win_add(&ed->before, &ed->blen, &ed->bcap, &ed->oom, before);
	win_add(&ed->after, &ed->alen, &ed->acap, &ed->oom, after);
}

/* A value as text for the diff: "dword:00000001", "hex:01", "(unset)". */
static void win_value_text(hive_h *h, hive_value_h v, char *out, size_t size)
{
	hive_type t;
	size_t len;
	char *data;

	if (!v) {
		vmie_strlcpy(out, "(unset)", size);
		return;
	}
	data = hivex_value_value(h, v, &t, &len);
	if (!data) {
		vmie_strlcpy(out, "(unreadable)", size);
		return;
	}
	if (t == hive_t_REG_DWORD && len == 4) {
		snprintf(out, size, "dword:%08x",
			 vmie_le32((const uint8_t *)data));
	} else {
		size_t n = (size_t)snprintf(out, size, "hex(%d):", (int)t);
		for (size_t i = 0; i < len && n + 4 < size; i++)
			n += (size_t)snprintf(out + n, size - n, "%s%02x",
					      i ? "," : "",
					      (unsigned char)data[i]);
	}
	free(data);
}

/* ---- SYSTEM: RealTimeIsUniversal (PREP-009) ---- */

/* "ControlSet" and three digits, any case. */
static bool win_is_control_set(const char *name, unsigned *num)
{
	if (strncasecmp(name, "ControlSet", 10) || strlen(name) != 13)
		return false;
	for (int i = 10; i < 13; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	*num = (unsigned)strtoul(name + 10, NULL, 10);
	return true;
}

static int win_rtu(struct win *w, hive_h *h, struct win_edit *ed)
{
	hive_node_h root = hivex_root(h);
	hive_node_h *kids = hivex_node_children(h, root);
	hive_node_h sel;
	hive_value_h v;
	unsigned current = 0, found = 0;
	bool have_current = false;
	int r = 0;

	if (!kids)
		return -1;
	/* the current control set, to say when it is missing */
	sel = hivex_node_get_child(h, root, "Select");
	v = sel ? hivex_node_get_value(h, sel, "Current") : 0;
	if (v) {
		hive_type t;
		size_t len;
		if (!hivex_value_type(h, v, &t, &len) &&
		    t == hive_t_REG_DWORD && len == 4)
			current = (unsigned)hivex_value_dword(h, v);
	}
	for (size_t i = 0; kids[i]; i++) {
		char *name = hivex_node_name(h, kids[i]);
		unsigned num;
		if (!name || !win_is_control_set(name, &num)) {
			free(name);
			continue;
		}
		found++;
		if (num == current)
			have_current = true;
		hive_node_h ctl = hivex_node_get_child(h, kids[i], "Control");
		if (!ctl) {
			vmie_mod_note(w->m, "HKLM\\SYSTEM\\%s has no Control "
				      "key: RealTimeIsUniversal not set there",
				      name);
			free(name);
			continue;
		}
		hive_node_h tz = hivex_node_get_child(h, ctl,
						      "TimeZoneInformation");
		errno = 0;
		if (!tz && !(tz = hivex_node_add_child(h, ctl,
						       "TimeZoneInformation"))) {
			free(name);
			r = -1;
			break;
		}
		v = hivex_node_get_value(h, tz, "RealTimeIsUniversal");
		hive_type t = 0;
		size_t len = 0;
		if (v && !hivex_value_type(h, v, &t, &len) &&
		    t == hive_t_REG_DWORD && len == 4 &&
		    hivex_value_dword(h, v) == 1) {
			free(name);
			continue;       /* set already */
		}
		char was[64], what[160], before[200], after[200];
		win_value_text(h, v, was, sizeof was);
		static char one[4] = { 1, 0, 0, 0 };
		hive_set_value val = { .key = (char *)"RealTimeIsUniversal",
				       .t = hive_t_REG_DWORD, .len = 4,
				       .value = one };
		errno = 0;
		if (hivex_node_set_value(h, tz, &val, 0)) {
			free(name);
			r = -1;
			break;
		}
		snprintf(what, sizeof what, "%s\\Control\\TimeZoneInformation\\"
			 "RealTimeIsUniversal = 1 (REG_DWORD; was %s)", name,
			 was);
		snprintf(before, sizeof before, "HKLM\\SYSTEM\\%s\\Control\\"
			 "TimeZoneInformation \"RealTimeIsUniversal\"=%s", name,
			 was);
		snprintf(after, sizeof after, "HKLM\\SYSTEM\\%s\\Control\\"
			 "TimeZoneInformation \"RealTimeIsUniversal\"="
			 "dword:00000001", name);
		win_changed(ed, what, before, after);
		free(name);
	}
	free(kids);
	if (!r && !found)
		vmie_mod_note(w->m, "HKLM\\SYSTEM has no ControlSetNNN key: "
			      "RealTimeIsUniversal not set");
	else if (!r && current && !have_current)
		vmie_mod_note(w->m, "HKLM\\SYSTEM\\Select\\Current = %u, but "
			      "there is no ControlSet%03u", current, current);
	return r;
}

/* ---- SYSTEM: the target's disk drivers start at boot (PREP-015) ----
 *
 * A disk controller Windows has never booted from is served by a driver
 * whose service is not started at boot (Start = 3, on demand): on the
 * target's controller the boot volume is then not found (stop code
 * INACCESSIBLE_BOOT_DEVICE).  Where the guest has the service of a driver
 * the target needs (Services\<name> with an ImagePath or a Type), its
 * Start becomes 0 (SERVICE_BOOT_START), as Windows' own sysprep and
 * virt-v2v do.  A driver the guest does not have is a note: vmie does not
 * install drivers. */

/*
 * Windows before 8 (NT 6.1 and older) also needs a CriticalDeviceDatabase
 * entry for a boot controller it has never seen: Control\Critical-
 * DeviceDatabase\<hardware id> with Service (the driver) and ClassGUID
 * (the device class), which its kernel reads to start the driver before
 * Plug and Play has run.  Windows 8 and later find boot-start drivers by
 * their INF instead.  The hardware ids are QEMU/KVM's controllers (PCI
 * vendor and device ids as QEMU gives them); the classes are Microsoft's
 * "System-Defined Device Setup Classes".
 */
#define CLASS_HDC  "{4D36E96A-E325-11CE-BFC1-08002BE10318}"  /* IDE/ATA/AHCI */
#define CLASS_SCSI "{4D36E97B-E325-11CE-BFC1-08002BE10318}"  /* SCSIAdapter */
static const struct {
	const char *driver, *id, *cls;
} win_cdd[] = {
	{ "intelide", "pci#ven_8086&dev_7010", CLASS_HDC },   /* PIIX3 IDE */
	{ "intelide", "pci#ven_8086&dev_7111", CLASS_HDC },   /* PIIX4 IDE */
	{ "pciide",   "pci#cc_0101", CLASS_HDC },             /* any IDE */
	{ "atapi",    "primary_ide_channel", CLASS_HDC },
	{ "atapi",    "secondary_ide_channel", CLASS_HDC },
	{ "atapi",    "*pnp0600", CLASS_HDC },
	{ "msahci",   "pci#ven_8086&dev_2922&cc_0106", CLASS_HDC }, /* ICH9 */
	{ "msahci",   "pci#cc_0106", CLASS_HDC },             /* any AHCI */
	{ "viostor",  "pci#ven_1af4&dev_1001&subsys_00021af4&rev_00", CLASS_SCSI },
	{ "viostor",  "pci#ven_1af4&dev_1042&subsys_11001af4&rev_01", CLASS_SCSI },
	{ "vioscsi",  "pci#ven_1af4&dev_1004&subsys_00081af4&rev_00", CLASS_SCSI },
	{ "vioscsi",  "pci#ven_1af4&dev_1048&subsys_11001af4&rev_01", CLASS_SCSI },
};

/* A REG_SZ value of ASCII text: UTF-16LE with its terminating NUL. */
static void win_sz(hive_set_value *v, const char *key, const char *text,
		   char *buf, size_t size)
{
	size_t n = strlen(text);
	if (2 * (n + 1) > size)
		n = size / 2 - 1;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = text[i];
		buf[2 * i + 1] = 0;
	}
	buf[2 * n] = buf[2 * n + 1] = 0;
	v->key = (char *)key;
	v->t = hive_t_REG_SZ;
	v->len = 2 * (n + 1);
	v->value = buf;
}

/* The CriticalDeviceDatabase entries of driver drv in control set cs
 * (named name) that are missing; -1 on a hivex failure. */
static int win_cdd_add(struct win_edit *ed, hive_h *h, hive_node_h cs,
		       const char *name, const char *drv)
{
	hive_node_h ctl = hivex_node_get_child(h, cs, "Control");
	if (!ctl)
		return 0;
	hive_node_h db = hivex_node_get_child(h, ctl,
					      "CriticalDeviceDatabase");
	for (size_t i = 0; i < sizeof win_cdd / sizeof *win_cdd; i++) {
		if (strcasecmp(win_cdd[i].driver, drv))
			continue;
		if (!db) {
			errno = 0;
			if (!(db = hivex_node_add_child(h, ctl,
					"CriticalDeviceDatabase")))
				return -1;
		}
		if (hivex_node_get_child(h, db, win_cdd[i].id))
			continue;       /* the guest's own entry stays */
		errno = 0;
		hive_node_h k = hivex_node_add_child(h, db, win_cdd[i].id);
		if (!k)
			return -1;
		char b1[64], b2[96];
		hive_set_value vals[2];
		win_sz(&vals[0], "Service", drv, b1, sizeof b1);
		win_sz(&vals[1], "ClassGUID", win_cdd[i].cls, b2, sizeof b2);
		if (hivex_node_set_values(h, k, 2, vals, 0))
			return -1;
		char what[240], after[320];
		snprintf(what, sizeof what, "%s\\Control\\CriticalDevice"
			 "Database\\%s: Service = %s (created)", name,
			 win_cdd[i].id, drv);
		snprintf(after, sizeof after, "HKLM\\SYSTEM\\%s\\Control\\"
			 "CriticalDeviceDatabase\\%s \"Service\"=\"%s\" "
			 "\"ClassGUID\"=\"%s\"", name, win_cdd[i].id, drv,
			 win_cdd[i].cls);
		win_changed(ed, what, "", after);
	}
	return 0;
}

/* Windows before 8: NT 6.1 (7, 2008 R2) and older. */
static bool win_before_8(const struct vmie_insp_os *os)
{
	return os->major >= 0 && (os->major < 6 ||
				  (os->major == 6 && os->minor < 2));
}

static int win_bootdrv(struct win *w, hive_h *h, struct win_edit *ed)
{
	const char *const *drv = vmie_mod_opts(w->m)->win_boot_drivers;
	hive_node_h root = hivex_root(h);
	hive_node_h *kids = hivex_node_children(h, root);
	unsigned sets = 0;
	bool *have;
	size_t nd = 0;
	int r = 0;

	if (!kids)
		return -1;
	while (drv && drv[nd])
		nd++;
	if (!(have = calloc(nd + 1, sizeof *have))) {
		free(kids);
		return -1;
	}
	for (size_t i = 0; kids[i] && !r; i++) {
		char *name = hivex_node_name(h, kids[i]);
		unsigned num;
		if (!name || !win_is_control_set(name, &num)) {
			free(name);
			continue;
		}
		sets++;
		hive_node_h svcs = hivex_node_get_child(h, kids[i], "Services");
		for (size_t d = 0; svcs && d < nd; d++) {
			hive_node_h sv = hivex_node_get_child(h, svcs, drv[d]);
			if (!sv)
				continue;
			have[d] = true;
			if (win_before_8(w->os) &&
			    win_cdd_add(ed, h, kids[i], name, drv[d])) {
				r = -1;
				break;
			}
			hive_value_h v = hivex_node_get_value(h, sv, "Start");
			hive_type t = 0;
			size_t len = 0;
			if (v && !hivex_value_type(h, v, &t, &len) &&
			    t == hive_t_REG_DWORD && len == 4 &&
			    hivex_value_dword(h, v) == 0)
				continue;       /* starts at boot already */
			char was[64], what[200], before[240], after[240];
			win_value_text(h, v, was, sizeof was);
			static char zero[4];
			hive_set_value val = { .key = (char *)"Start",
					       .t = hive_t_REG_DWORD, .len = 4,
					       .value = zero };
			errno = 0;
			if (hivex_node_set_value(h, sv, &val, 0)) {
				r = -1;
				break;
			}
			snprintf(what, sizeof what, "%s\\Services\\%s\\Start = "
				 "0 (boot start; was %s)", name, drv[d], was);
			snprintf(before, sizeof before, "HKLM\\SYSTEM\\%s\\"
				 "Services\\%s \"Start\"=%s", name, drv[d],
				 was);
			snprintf(after, sizeof after, "HKLM\\SYSTEM\\%s\\"
				 "Services\\%s \"Start\"=dword:00000000", name,
				 drv[d]);
			win_changed(ed, what, before, after);
		}
		free(name);
	}
	for (size_t d = 0; !r && sets && d < nd; d++)
		if (!have[d])
			vmie_mod_note(w->m, "the guest has no %s driver (no "
				      "HKLM\\SYSTEM\\ControlSetNNN\\Services\\"
				      "%s): it may not find its boot disk on "
				      "the target's controller; install the "
				      "driver before export", drv[d], drv[d]);
	free(have);
	free(kids);
	return r;
}

/* ---- BCD: Emergency Management Services off (PREP-010) ---- */

static const struct {
	const char *key;        /* element type, as the key is named */
	const char *name;       /* as bcdedit names it */
} bcd_ems[] = {
	{ "16000020", "bootems" },      /* BcdLibraryBoolean_EmsEnabled */
	{ "260000b0", "ems" },          /* BcdOSLoaderBoolean_EmsEnabled */
};

static const char *bcd_type_name(uint32_t type)
{
	switch (type) {
	case BCD_TYPE_BOOTMGR: return "Windows Boot Manager";
	case BCD_TYPE_OSLOADER: return "Windows Boot Loader";
	case BCD_TYPE_RESUME: return "Resume from Hibernate";
	default: return NULL;
	}
}

static int win_ems(struct win *w, hive_h *h, struct win_edit *ed)
{
	hive_node_h objs = hivex_node_get_child(h, hivex_root(h), "Objects");
	hive_node_h *kids;
	int r = 0;

	(void)w;
	if (!objs)
		return 0;
	if (!(kids = hivex_node_children(h, objs)))
		return -1;
	for (size_t i = 0; kids[i] && !r; i++) {
		hive_node_h els = hivex_node_get_child(h, kids[i], "Elements");
		hive_node_h desc = hivex_node_get_child(h, kids[i],
							"Description");
		hive_value_h tv = desc ? hivex_node_get_value(h, desc, "Type") :
				  0;
		uint32_t type = 0;
		hive_type t;
		size_t len;
		if (tv && !hivex_value_type(h, tv, &t, &len) &&
		    t == hive_t_REG_DWORD && len == 4)
			type = (uint32_t)hivex_value_dword(h, tv);
		for (size_t k = 0; els && k < sizeof bcd_ems / sizeof *bcd_ems;
		     k++) {
			hive_node_h el = hivex_node_get_child(h, els,
							      bcd_ems[k].key);
			hive_value_h v = el ? hivex_node_get_value(h, el,
								   "Element") :
					 0;
			char *data;
			bool on = false;
			if (!v || !(data = hivex_value_value(h, v, &t, &len)))
				continue;
			for (size_t b = 0; b < len; b++)
				on = on || data[b];
			free(data);
			if (!on || !len)
				continue;
			char *zero = calloc(1, len);
			if (!zero) {
				errno = ENOMEM;
				r = -1;
				break;
			}
			hive_set_value val = { .key = (char *)"Element",
					       .t = t, .len = len,
					       .value = zero };
			char was[64], now[64];
			win_value_text(h, v, was, sizeof was);
			errno = 0;
			r = hivex_node_set_value(h, el, &val, 0);
			free(zero);
			if (r)
				break;
			v = hivex_node_get_value(h, el, "Element");
			win_value_text(h, v, now, sizeof now);
			char *id = hivex_node_name(h, kids[i]);
			const char *tn = bcd_type_name(type);
			char what[200], before[240], after[240], kind[48];
			if (tn)
				snprintf(kind, sizeof kind, "%s", tn);
			else
				snprintf(kind, sizeof kind, "type 0x%08x", type);
			snprintf(what, sizeof what, "%s (%s): %s (element %s) "
				 "on -> off", id ? id : "?", kind,
				 bcd_ems[k].name, bcd_ems[k].key);
			snprintf(before, sizeof before, "Objects\\%s\\Elements\\"
				 "%s \"Element\"=%s", id ? id : "?",
				 bcd_ems[k].key, was);
			snprintf(after, sizeof after, "Objects\\%s\\Elements\\"
				 "%s \"Element\"=%s", id ? id : "?",
				 bcd_ems[k].key, now);
			free(id);
			win_changed(ed, what, before, after);
		}
	}
	free(kids);
	return r;
}

/* ---- one hive ---- */

/*
 * Change the hive at rel on g (guest path shown as path, on device) with
 * fn; keep its original, write it back, journal it under rule.  What
 * cannot be done without writing anything is a note; a failure after
 * writing started fails the task.
 */
static void win_hive(struct win *w, struct vmie_guest *g, const char *device,
		     const char *rel, const char *rule, win_edit_fn fn)
{
	struct vmie_err e = { 0 };
	struct vmie_guest_stat st;
	struct win_edit ed = { 0 };
	char *buf = NULL, why[240] = "", p[64], kept[300];
	size_t len = 0, nlen = 0;
	uint32_t seq1, seq2;
	hive_h *h = NULL;
	int in = -1, out = -1;
	void *map = MAP_FAILED;
	struct stat ost;

	if (vmie_guest_stat(g, rel, &st, &e) || !st.exists || !st.is_reg) {
		vmie_mod_note(w->m, "%s:%s: not changed: %s", device, rel,
			      e.msg[0] ? e.msg : "not a regular file");
		return;
	}
	if (st.size > WIN_MAX_HIVE || st.size < WIN_HIVE_MIN) {
		vmie_mod_note(w->m, "%s:%s: not changed: %llu bytes (a hive "
			      "vmie changes has %u to %zu)", device, rel,
			      (unsigned long long)st.size, WIN_HIVE_MIN,
			      WIN_MAX_HIVE);
		return;
	}
	if (vmie_guest_read(g, rel, WIN_MAX_HIVE, &buf, &len, &e)) {
		vmie_mod_note(w->m, "%s:%s: not changed: %s", device, rel,
			      e.msg);
		return;
	}
	if (len < WIN_HIVE_MIN || memcmp(buf + REGF_SIG, "regf", 4)) {
		snprintf(why, sizeof why, "not a registry hive (no \"regf\")");
		goto note;
	}
	seq1 = vmie_le32((const uint8_t *)buf + REGF_SEQ1);
	seq2 = vmie_le32((const uint8_t *)buf + REGF_SEQ2);
	if (seq1 != seq2) {
		snprintf(why, sizeof why, "the hive is dirty (sequence numbers "
			 "%u and %u: its newest data are in its .LOG1/.LOG2 "
			 "files, which vmie does not replay); boot Windows "
			 "once and shut it down cleanly", seq1, seq2);
		goto note;
	}
	if ((in = vmie_memfd_from("vmie-hive", buf, len, why,
				   sizeof why)) < 0)
		goto note;
	snprintf(p, sizeof p, "/proc/self/fd/%d", in);
	errno = 0;
	if (!(h = hivex_open(p, HIVEX_OPEN_WRITE))) {
		snprintf(why, sizeof why, "hivex cannot open it (%s)",
			 errno ? strerror(errno) : "rejected");
		goto note;
	}
	errno = 0;
	if (fn(w, h, &ed)) {
		snprintf(why, sizeof why, "hivex: %s",
			 errno ? strerror(errno) : "failed");
		goto note;
	}
	if (ed.oom) {
		snprintf(why, sizeof why, "out of memory");
		goto note;
	}
	if (!ed.n)
		goto out;               /* nothing to change */
	if ((out = memfd_create("vmie-hive-new", MFD_CLOEXEC)) < 0) {
		snprintf(why, sizeof why, "memfd_create: %s", strerror(errno));
		goto note;
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d", out);
	errno = 0;
	if (hivex_commit(h, p, 0)) {
		snprintf(why, sizeof why, "hivex_commit: %s",
			 errno ? strerror(errno) : "failed");
		goto note;
	}
	hivex_close(h);
	h = NULL;
	if (fstat(out, &ost) || ost.st_size < WIN_HIVE_MIN ||
	    (uint64_t)ost.st_size > WIN_MAX_HIVE * 2) {
		snprintf(why, sizeof why, "the new hive has an odd size");
		goto note;
	}
	nlen = (size_t)ost.st_size;
	map = mmap(NULL, nlen, PROT_READ, MAP_SHARED, out, 0);
	if (map == MAP_FAILED) {
		snprintf(why, sizeof why, "mmap: %s", strerror(errno));
		goto note;
	}
	vmie_mod_diff(w->m, rel, ed.before ? ed.before : "", ed.blen,
		      ed.after ? ed.after : "", ed.alen);
	/* from here on the guest is written: a failure fails the task */
	if (vmie_mod_kept_name(g, rel, kept, sizeof kept)) {
		VMIE_ERR(&e, VMIE_EEXIST, "%s: %s: no free name to keep the "
			 "original under", device, rel);
		win_fail(w, &e);
		goto out;
	}
	if (vmie_guest_copy(g, rel, kept, &e) ||
	    vmie_guest_write(g, rel, map, nlen, 0644, &e)) {
		win_fail(w, &e);
		goto out;
	}
	if (vmie_mod_record(w->m, device, rel, rule, ed.what, kept, buf, len,
			    map, nlen)) {
		VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
		win_fail(w, &e);
	}
	goto out;
note:
	if (!strcmp(rule, "BOOT-006")) {
		/* the disk leaves GPT: with MountedDevices still naming its
		 * volumes by their GPT GUIDs, Windows would give C: another
		 * letter, and its services and profiles would not start */
		VMIE_ERR(&e, VMIE_EUNSUPP, "%s:%s: BOOT-006: the drive letters "
			 "cannot follow the disk from GPT to MBR "
			 "(MountedDevices not rewritten: %s); boot Windows once "
			 "and shut it down cleanly, or import it with boot mode "
			 "UEFI, which keeps the disk GPT", device, rel, why);
		win_fail(w, &e);
		goto out;
	}
	vmie_mod_note(w->m, "%s:%s: not changed: %s", device, rel, why);
out:
	if (h)
		hivex_close(h);
	if (map != MAP_FAILED)
		munmap(map, nlen);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	free(ed.before);
	free(ed.after);
}

/* ---- where things are ---- */

/* The guest path of the Windows directory: "C:\Windows" -> "/Windows". */
static void win_sysroot(const struct vmie_insp_os *os, char *out,
			size_t size)
{
	const char *s = os->systemroot;
	if (((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) &&
	    s[1] == ':')
		s += 2;
	size_t n = 0;
	if (s[0] != '\\' && s[0] != '/')
		out[n++] = '/';
	for (; *s && n + 1 < size; s++)
		out[n++] = *s == '\\' ? '/' : *s;
	out[n] = 0;
	while (n > 1 && out[n - 1] == '/')
		out[--n] = 0;
	if (!strcmp(out, "/"))
		vmie_strlcpy(out, "/Windows", size);
}

/* Where inspection read the BCD: its "ems" evidence says "device:/path".
 * false when it found none. */
static bool win_bcd_where(const struct vmie_insp_os *os, char *dev,
			  size_t dsize, char *path, size_t psize)
{
	for (unsigned i = 0; i < os->n_evidence; i++) {
		const struct vmie_evidence *ev = &os->evidence[i];
		const char *c = strstr(ev->where, ":/");
		if (strcmp(ev->fact, "ems") || !c)
			continue;
		snprintf(dev, dsize, "%.*s", (int)(c - ev->where), ev->where);
		vmie_strlcpy(path, c + 1, psize);
		return true;
	}
	return false;
}

/*
 * A BCD on the FAT ESP (UEFI): through the run's libguestfs appliance,
 * which mounts the ESP read-write in itself (vmie writes no FAT of its
 * own).  Only when EMS is on: the appliance takes seconds to start.  The
 * handle is synced and closed here; the appliance unmounts the ESP when
 * it stops at the end of the run.  No appliance (this build, this host):
 * a note naming the packages, the import goes on.
 */
static void win_bcd_esp(struct win *w, unsigned fsi, const char *dev,
			const char *path)
{
	const struct vmie_insp_fs *f = &w->in->fs[fsi];
	struct vmie_err e = { 0 };
	struct vmie_guest *g = NULL;
	struct vmie_gfs *s;
	char adev[64];

	if (!vmie_gfs_built()) {
		vmie_mod_note(w->m, "%s:%s: not changed, Emergency Management "
			      "Services stays on: vmie writes the FAT ESP "
			      "through libguestfs, and was built without it "
			      "(libguestfs-dev; at run time "
			      VMIE_GFS_PACKAGES ")", dev, path);
		return;
	}
	if (!(s = vmie_mod_gfs(w->m, &e))) {
		vmie_mod_note(w->m, "%s:%s: not changed, Emergency Management "
			      "Services stays on: no libguestfs appliance for "
			      "the FAT ESP (it needs " VMIE_GFS_PACKAGES
			      "): %s", dev, path, e.msg);
		return;
	}
	if (f->alias_of[0]) {
		int a = win_fs_index(w->in, f->alias_of);
		if (a >= 0)
			f = &w->in->fs[a];
	}
	if (vmie_gfs_device(s, f->disk, f->partition, f->lv[0] ? f->lv : NULL,
			    adev, sizeof adev, &e) ||
	    vmie_guest_open_gfs(s, adev, NULL, dev, &g, &e)) {
		vmie_mod_note(w->m, "%s:%s: not changed: %s", dev, path, e.msg);
		return;
	}
	win_hive(w, g, dev, path, "PREP-010", win_ems);
	if (!w->failed && vmie_guest_flush(g, &e))
		win_fail(w, &e);
	vmie_guest_close(g);
}

static void win_bcd(struct win *w)
{
	char dev[160], path[200];
	if (!win_bcd_where(w->os, dev, sizeof dev, path, sizeof path)) {
		if (w->os->ems_enabled != 0)
			vmie_mod_note(w->m, "%s: no BCD store found: Emergency "
				      "Management Services not checked",
				      w->os->root_device);
		return;
	}
	int i = win_fs_index(w->in, dev);
	if (i >= 0 && !strcmp(w->in->fs[i].probe.type, "vfat")) {
		/* EMS off needs no change: say nothing, start nothing */
		if (w->os->ems_enabled == 1)
			win_bcd_esp(w, (unsigned)i, dev, path);
		else if (w->os->ems_enabled != 0)
			vmie_mod_note(w->m, "%s:%s: not changed: whether "
				      "Emergency Management Services is on is "
				      "not known", dev, path);
		return;
	}
	struct vmie_guest *g = win_guest(w, dev, "the BCD");
	if (g && !w->failed)
		win_hive(w, g, dev, path, "PREP-010", win_ems);
}

/* ---- GPT -> MBR with a BIOS boot configuration (BOOT-006) ---- */

/*
 * HKLM\SYSTEM\MountedDevices gives each volume Windows has seen its drive
 * letter (\DosDevices\C:) and volume name (\??\Volume{...}).  The value
 * names a partition of a GPT disk as "DMIO:ID:" and its unique partition
 * GUID (24 bytes), of an MBR disk as the disk signature and the
 * partition's byte offset (12 bytes, little-endian).  After the
 * conversion no GPT GUID matches any more, and Windows would give the
 * system volume a new letter: every value that names a converted
 * partition is rewritten in the MBR form, so C: stays C:.
 */
#define WIN_MAX_MOUNTED 256     /* values of MountedDevices looked at */
static int win_mounted(struct win *w, hive_h *h, struct win_edit *ed)
{
	hive_node_h md = hivex_node_get_child(h, hivex_root(h),
					      "MountedDevices");
	if (!md)
		return 0;               /* a volume never mounted: nothing */
	hive_value_h *vals = hivex_node_values(h, md);
	if (!vals)
		return -1;
	/* first what to change: setting a value rewrites the key's value
	 * list, which ends the handles of vals */
	struct { char *key; unsigned k; } hit[WIN_MAX_MOUNTED];
	unsigned n = 0;
	int r = 0;
	for (size_t i = 0; vals[i] && n < WIN_MAX_MOUNTED; i++) {
		hive_type t;
		size_t len;
		if (hivex_value_type(h, vals[i], &t, &len) ||
		    t != hive_t_REG_BINARY || len != 24)
			continue;
		char *data = hivex_value_value(h, vals[i], &t, &len);
		for (unsigned k = 0; data && len == 24 && k < w->plan.n; k++) {
			uint8_t gpt[24];
			if (!vmie_g2m_mounted_gpt(w->plan.e[k].part_guid, gpt) ||
			    memcmp(data, gpt, 24))
				continue;
			char *key = hivex_value_key(h, vals[i]);
			if (!key) {
				r = -1;
				break;
			}
			hit[n].key = key;
			hit[n++].k = k;
			break;
		}
		free(data);
		if (r)
			break;
	}
	free(vals);
	for (unsigned i = 0; i < n; i++) {
		const struct vmie_g2m_entry *e = &w->plan.e[hit[i].k];
		uint8_t mbr[12];
		vmie_g2m_mounted_mbr(w->plan.signature, e->lba, mbr);
		hive_set_value v = { .key = hit[i].key, .t = hive_t_REG_BINARY,
				     .len = 12, .value = (char *)mbr };
		errno = 0;
		if (!r && hivex_node_set_value(h, md, &v, 0))
			r = -1;
		if (!r) {
			char what[240], before[200], after[200];
			unsigned long long off = e->lba * VMIE_G2M_SECTOR;
			snprintf(what, sizeof what, "MountedDevices\\%s: %s "
				 "(GPT partition %s) -> MBR signature 0x%08x, "
				 "offset %llu", hit[i].key, e->device,
				 e->part_guid, w->plan.signature, off);
			snprintf(before, sizeof before, "HKLM\\SYSTEM\\"
				 "MountedDevices \"%s\"=DMIO:ID:{%s}",
				 hit[i].key, e->part_guid);
			snprintf(after, sizeof after, "HKLM\\SYSTEM\\"
				 "MountedDevices \"%s\"=signature:%08x,"
				 "offset:%llu", hit[i].key, w->plan.signature,
				 off);
			win_changed(ed, what, before, after);
		}
		free(hit[i].key);
	}
	return r;
}

static const struct vmie_g2m_entry *win_active_entry(const struct win *w)
{
	for (unsigned i = 0; i < w->plan.n; i++)
		if (w->plan.e[i].active)
			return &w->plan.e[i];
	return NULL;
}

/* Put buf as path on g (device dev): the original kept when there is
 * one, journaled under BOOT-006.  0, or the task failed. */
static int win_put(struct win *w, struct vmie_guest *g, const char *dev,
		   const char *path, const void *buf, size_t len,
		   const char *what)
{
	struct vmie_err e = { 0 };
	struct vmie_guest_stat st;
	char kept[256] = "", *old = NULL;
	size_t olen = 0;

	if (vmie_guest_stat(g, path, &st, &e))
		goto fail;
	if (st.exists) {
		if (!st.is_reg) {
			VMIE_ERR(&e, VMIE_EEXIST, "%s:%s exists and is not a "
				 "regular file", dev, path);
			goto fail;
		}
		if (vmie_guest_read(g, path, WIN_MAX_HIVE, &old, &olen, &e))
			goto fail;
		if (vmie_mod_kept_name(g, path, kept, sizeof kept)) {
			VMIE_ERR(&e, VMIE_EEXIST, "%s: %s: no free name to keep "
				 "the original under", dev, path);
			goto fail;
		}
		if (vmie_guest_copy(g, path, kept, &e))
			goto fail;
	}
	if (vmie_guest_write(g, path, buf, len, 0644, &e))
		goto fail;
	if (vmie_mod_record(w->m, dev, path, "BOOT-006", what, kept,
			    st.exists ? (old ? old : "") : NULL, olen, buf,
			    len)) {
		VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
		goto fail;
	}
	free(old);
	return 0;
fail:
	free(old);
	win_fail(w, &e);
	return -1;
}

/* The disk sectors of [lba, lba + n) kept as a new file on g. */
static int win_keep_sectors(struct win *w, struct vmie_guest *g,
			    const char *dev, const char *base, uint64_t lba,
			    uint64_t n, char *kept, size_t ksize)
{
	struct vmie_err e = { 0 };
	size_t len = (size_t)n * VMIE_G2M_SECTOR;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
		goto fail;
	}
	if (vmie_image_pread(w->disk, buf, len, lba * VMIE_G2M_SECTOR, &e))
		goto fail;
	if (vmie_mod_kept_name(g, base, kept, ksize)) {
		VMIE_ERR(&e, VMIE_EEXIST, "%s: %s: no free name to keep the "
			 "sectors under", dev, base);
		goto fail;
	}
	if (vmie_guest_write(g, kept, buf, len, 0644, &e))
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	win_fail(w, &e);
	return -1;
}

/* Read a file of the guest whole (at most max bytes); NULL with a failed
 * task when it must be there (need) and is not. */
static char *win_slurp(struct win *w, struct vmie_guest *g, const char *dev,
		       const char *path, size_t max, size_t *len, bool need)
{
	struct vmie_err e = { 0 };
	char *buf = NULL;
	int r = vmie_guest_read(g, path, max, &buf, len, &e);
	if (!r)
		return buf;
	if (need) {
		if (r == VMIE_ENOENT)
			VMIE_ERR(&e, VMIE_ENOENT, "%s:%s is missing: a BIOS boot "
				 "needs it (BOOT-006)", dev, path);
		win_fail(w, &e);
	}
	return NULL;
}

/* The fonts of \Windows\Boot\Fonts (at most WIN_MAX_FONTS names). */
#define WIN_MAX_FONTS 64
#define WIN_MAX_FONT ((size_t)16 << 20)
struct win_fonts {
	char name[WIN_MAX_FONTS][96];
	unsigned n;
	bool more;
};

static int win_font_name(void *ctx, const char *name, bool is_dir)
{
	struct win_fonts *l = ctx;
	size_t nl = strlen(name);
	if (is_dir || nl < 5 || nl >= sizeof l->name[0] ||
	    strcasecmp(name + nl - 4, ".ttf") || strpbrk(name, "/\\:"))
		return 0;
	if (l->n == WIN_MAX_FONTS) {
		l->more = true;
		return 1;
	}
	memcpy(l->name[l->n++], name, nl + 1);
	return 0;
}

/* \Boot\Fonts: what bcdboot copies from \Windows\Boot\Fonts, so that the
 * boot manager's screens (Windows 8 and later draw them with these; East
 * Asian languages need them on every version) show text.  A guest
 * without the directory gets none. */
static int win_bios_fonts(struct win *w, struct vmie_guest *g,
			  const char *dev, const char *root)
{
	struct win_fonts *l = calloc(1, sizeof(*l));
	struct vmie_err e = { 0 };
	char src[320], dst[320], what[640];
	int r;

	if (!l) {
		VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
		win_fail(w, &e);
		return -1;
	}
	snprintf(src, sizeof src, "%s/Boot/Fonts", root);
	r = vmie_guest_readdir(g, src, win_font_name, l, &e);
	if (r == VMIE_ENOENT || (!r && !l->n)) {
		free(l);
		return 0;
	}
	if (r < 0) {
		free(l);
		win_fail(w, &e);
		return -1;
	}
	if (l->more)
		vmie_mod_note(w->m, "%s:%s: more than %d fonts: the first %d "
			      "copied to \\Boot\\Fonts", dev, src,
			      WIN_MAX_FONTS, WIN_MAX_FONTS);
	if (vmie_guest_mkdir(g, "/Boot/Fonts", &e)) {
		free(l);
		win_fail(w, &e);
		return -1;
	}
	for (unsigned i = 0; i < l->n; i++) {
		size_t len = 0;
		snprintf(src, sizeof src, "%s/Boot/Fonts/%s", root, l->name[i]);
		char *f = win_slurp(w, g, dev, src, WIN_MAX_FONT, &len, true);
		if (!f) {
			free(l);
			return -1;
		}
		snprintf(dst, sizeof dst, "/Boot/Fonts/%s", l->name[i]);
		snprintf(what, sizeof what, "a boot manager font: a copy of %s",
			 src);
		r = win_put(w, g, dev, dst, f, len, what);
		free(f);
		if (r) {
			free(l);
			return -1;
		}
	}
	free(l);
	return 0;
}

/*
 * The BIOS boot files on the active (Windows) volume: bootmgr from the
 * guest's own \Windows\Boot\PCAT, its language resources, and a new
 * \Boot\BCD (bcd.h) that starts winload.exe on this volume of the MBR
 * disk; with the originals of the sectors the conversion rewrites kept
 * as files beside them (the volume is written through the guest handle,
 * which is closed before the sectors are: see win_g2m_sectors).
 */
#define WIN_MAX_BOOTMGR ((size_t)8 << 20)
static void win_bios(struct win *w)
{
	const struct vmie_g2m_entry *act = win_active_entry(w);
	const struct vmie_insp_os *os = w->os;
	struct vmie_err e = { 0 };
	char root[160], path[320], dst[320], why[240] = "";
	size_t len = 0;

	struct vmie_guest *g = win_guest(w, act->device, "the BIOS boot files");
	if (!g) {
		if (!w->failed) {
			VMIE_ERR(&e, VMIE_EUNSUPP, "%s: cannot write the BIOS "
				 "boot files (BOOT-006)", act->device);
			win_fail(w, &e);
		}
		return;
	}
	/* the sectors' originals first: nothing else depends on them */
	char base[64];
	snprintf(base, sizeof base, "/%s-gpt-primary", w->plan.disk_name);
	if (win_keep_sectors(w, g, act->device, base, 0, w->plan.prim_count,
			     w->kept_prim, sizeof w->kept_prim))
		return;
	if (w->plan.back_count) {
		snprintf(base, sizeof base, "/%s-gpt-backup",
			 w->plan.disk_name);
		if (win_keep_sectors(w, g, act->device, base,
				     w->plan.back_lba, w->plan.back_count,
				     w->kept_back, sizeof w->kept_back))
			return;
	}
	for (unsigned i = 0; i < w->plan.n; i++) {
		const struct vmie_g2m_entry *x = &w->plan.e[i];
		if (!x->fix_hidden)
			continue;
		snprintf(base, sizeof base, "/%s-bootsector", x->device);
		if (win_keep_sectors(w, g, act->device, base, x->lba, 1,
				     w->kept_bs[i], sizeof w->kept_bs[i]))
			return;
	}

	win_sysroot(os, root, sizeof root);
	snprintf(path, sizeof path, "%s/Boot/PCAT/bootmgr", root);
	char *bm = win_slurp(w, g, act->device, path, WIN_MAX_BOOTMGR, &len,
			     true);
	if (!bm)
		return;
	char what[1024];
	snprintf(what, sizeof what, "BIOS boot manager: a copy of %s",
		 path);
	int r = win_put(w, g, act->device, "/bootmgr", bm, len, what);
	free(bm);
	if (r)
		return;
	if (vmie_guest_mkdir(g, "/Boot", &e)) {
		win_fail(w, &e);
		return;
	}
	const char *loc = os->install_language[0] ? os->install_language
						  : "en-US";
	/* the boot manager's messages in the guest's language, when the
	 * guest has them (bootmgr falls back on its built-in English) */
	snprintf(path, sizeof path, "%s/Boot/PCAT/%s/bootmgr.exe.mui", root,
		 loc);
	char *mui = win_slurp(w, g, act->device, path, WIN_MAX_BOOTMGR, &len,
			      false);
	if (mui) {
		snprintf(dst, sizeof dst, "/Boot/%s", loc);
		if (vmie_guest_mkdir(g, dst, &e)) {
			free(mui);
			win_fail(w, &e);
			return;
		}
		snprintf(dst, sizeof dst, "/Boot/%s/bootmgr.exe.mui", loc);
		snprintf(what, sizeof what, "the boot manager's %s messages: "
			 "a copy of %s", loc, path);
		r = win_put(w, g, act->device, dst, mui, len, what);
		free(mui);
		if (r)
			return;
	}
	if (win_bios_fonts(w, g, act->device, root))
		return;
	/* \Boot\BCD */
	char sysroot[160];
	size_t k = 0;
	for (const char *c = root; *c && k + 1 < sizeof sysroot; c++)
		sysroot[k++] = *c == '/' ? '\\' : *c;
	sysroot[k] = 0;
	struct vmie_bcd_bios b = {
		.disk_signature = w->plan.signature,
		.boot_part_offset = act->lba * VMIE_G2M_SECTOR,
		.os_part_offset = act->lba * VMIE_G2M_SECTOR,
		.systemroot = sysroot,
		.locale = loc,
		.description = os->product_name[0] ? os->product_name
						   : "Windows",
		.win8_or_later = !win_before_8(os),
	};
	void *bcd = NULL;
	size_t blen = 0;
	if (vmie_bcd_build_bios(&b, &bcd, &blen, why, sizeof why)) {
		VMIE_ERR(&e, VMIE_EIO, "%s: the BIOS boot configuration "
			 "(\\Boot\\BCD) could not be built: %s", act->device,
			 why);
		win_fail(w, &e);
		return;
	}
	snprintf(what, sizeof what, "BIOS boot configuration: boot manager "
		 "on %s and Windows Boot Loader %s\\system32\\winload.exe on "
		 "partition offset %llu of MBR disk 0x%08x; locale %s; EMS off",
		 act->device, sysroot,
		 (unsigned long long)(act->lba * VMIE_G2M_SECTOR),
		 w->plan.signature, loc);
	win_put(w, g, act->device, "/Boot/BCD", bcd, blen, what);
	free(bcd);
}

/* Write the sectors: the new MBR, the GPT cleared (so that no tool reads
 * the old table), the NTFS hidden-sectors fields; each journaled with
 * where its original is kept.  After the guest handles are closed. */
static void win_g2m_sectors(struct win *w)
{
	struct vmie_g2m_plan *p = &w->plan;
	const struct vmie_g2m_entry *act = win_active_entry(w);
	struct vmie_err e = { 0 };
	size_t plen = (size_t)p->prim_count * VMIE_G2M_SECTOR;
	size_t blen = (size_t)p->back_count * VMIE_G2M_SECTOR;
	uint8_t *old = malloc(plen), *neu = calloc(1, plen);
	uint8_t *bold = malloc(blen ? blen : 1), *bnew = calloc(1, blen ? blen : 1);
	char what[480], kept[480], path[96];

	if (!old || !neu || !bold || !bnew) {
		VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
		goto fail;
	}
	if (vmie_image_pread(w->disk, old, plen, 0, &e) ||
	    (blen && vmie_image_pread(w->disk, bold, blen,
				      p->back_lba * VMIE_G2M_SECTOR, &e)))
		goto fail;
	vmie_g2m_mbr(p, w->code, neu);
	if (vmie_image_pwrite(w->disk, neu, plen, 0, &e) ||
	    (blen && vmie_image_pwrite(w->disk, bnew, blen,
				       p->back_lba * VMIE_G2M_SECTOR, &e)))
		goto fail;
	int n = snprintf(what, sizeof what, "GPT -> MBR for a legacy BIOS "
			 "boot:");
	for (unsigned i = 0; i < p->n && n > 0 && (size_t)n < sizeof what; i++)
		n += snprintf(what + n, sizeof what - (size_t)n,
			      " %sp%u -> entry %u type 0x%02x%s;", p->disk_name,
			      p->e[i].gpt_number, i + 1, p->e[i].type,
			      p->e[i].active ? " active" : "");
	for (unsigned i = 0; i < p->n_dropped && n > 0 &&
	     (size_t)n < sizeof what; i++)
		n += snprintf(what + n, sizeof what - (size_t)n,
			      " dropped %s;", p->dropped[i]);
	if (n > 0 && (size_t)n < sizeof what)
		snprintf(what + n, sizeof what - (size_t)n, " disk signature "
			 "0x%08x; boot code from %s", p->signature,
			 w->code_from);
	snprintf(kept, sizeof kept, "%s:%s", act->device, w->kept_prim);
	snprintf(path, sizeof path, "sectors 0-%llu (MBR, primary GPT)",
		 (unsigned long long)(p->prim_count - 1));
	if (vmie_mod_record(w->m, p->disk_name, path, "BOOT-006", what, kept,
			    old, plen, neu, plen))
		goto oom;
	if (blen) {
		snprintf(kept, sizeof kept, "%s:%s", act->device, w->kept_back);
		snprintf(path, sizeof path, "sectors %llu-%llu (backup GPT)",
			 (unsigned long long)p->back_lba,
			 (unsigned long long)(p->back_lba + p->back_count - 1));
		if (vmie_mod_record(w->m, p->disk_name, path, "BOOT-006",
				    "backup GPT entries and header cleared",
				    kept, bold, blen, bnew, blen))
			goto oom;
	}
	for (unsigned i = 0; i < p->n; i++) {
		const struct vmie_g2m_entry *x = &p->e[i];
		uint8_t s[VMIE_G2M_SECTOR], t[VMIE_G2M_SECTOR];
		if (!x->fix_hidden)
			continue;
		for (int copy = 0; copy < 2; copy++) {
			uint64_t lba = copy ? x->backup_lba : x->lba;
			if (copy && !lba)
				break;
			if (vmie_image_pread(w->disk, s, sizeof s,
					     lba * VMIE_G2M_SECTOR, &e))
				goto fail;
			memcpy(t, s, sizeof t);
			vmie_put_le32(t + 28, (uint32_t)x->lba);
			if (vmie_image_pwrite(w->disk, t, sizeof t,
					      lba * VMIE_G2M_SECTOR, &e))
				goto fail;
			snprintf(what, sizeof what, "NTFS %sboot sector: hidden "
				 "sectors %u -> %llu (the partition's start)",
				 copy ? "backup " : "", x->hidden,
				 (unsigned long long)x->lba);
			snprintf(path, sizeof path, "sector %llu (%s boot "
				 "sector%s)", (unsigned long long)lba,
				 x->device, copy ? ", backup" : "");
			snprintf(kept, sizeof kept, "%s:%s", act->device,
				 copy ? "" : w->kept_bs[i]);
			if (vmie_mod_record(w->m, p->disk_name, path,
					    "BOOT-006", what, copy ? "" : kept,
					    s, sizeof s, t, sizeof t))
				goto oom;
		}
	}
	goto out;
oom:
	VMIE_ERR(&e, VMIE_ENOMEM, "out of memory");
fail:
	win_fail(w, &e);
out:
	free(old);
	free(neu);
	free(bold);
	free(bnew);
}

/* The plan, before anything is written: the task fails when the disk
 * cannot be converted or there is no MBR boot code to give it. */
static int win_g2m_plan(struct win *w, struct vmie_err *err)
{
	int fsi = win_fs_index(w->in, w->os->root_device);
	int disk = fsi >= 0 ? w->in->fs[fsi].disk : -1;
	struct vmie_err e = { 0 };
	int r;

	if (!(w->disk = vmie_mod_disk(w->m, disk)))
		return VMIE_ERR(err, VMIE_EINVAL, "BOOT-006: no disk to write "
				"the MBR of %s to", w->os->root_device);
	if ((r = vmie_g2m_plan(w->in, disk, w->os->root_device, w->disk,
			       &w->plan, &e)))
		return VMIE_ERR(err, r, "BOOT-006: the GPT boot disk cannot "
				"be converted to MBR: %s", e.msg);
	if ((r = vmie_g2m_boot_code(w->code, w->code_from,
				    sizeof w->code_from, &e)))
		return VMIE_ERR(err, r, "BOOT-006: %s", e.msg);
	if (vmie_g2m_old_text(w->in, &w->plan, w->old_table,
			      sizeof w->old_table) ||
	    vmie_g2m_new_text(&w->plan, w->new_table, sizeof w->new_table))
		return VMIE_ERR(err, VMIE_ENOMEM, "BOOT-006: the partition "
				"tables do not fit the text buffer");
	char name[64];
	snprintf(name, sizeof name, "%s (partition table)",
		 w->plan.disk_name);
	vmie_mod_diff(w->m, name, w->old_table, strlen(w->old_table),
		      w->new_table, strlen(w->new_table));
	w->g2m = true;
	return 0;
}

int vmie_modify_windows(struct mod *m, const struct vmie_inspection *in,
			const struct vmie_insp_os *os, struct vmie_err *err)
{
	struct win *w = calloc(1, sizeof *w);
	char root[160], rel[240];
	int r;

	if (!w)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	w->m = m;
	w->in = in;
	w->os = os;
	if (vmie_mod_opts(m)->gpt_to_mbr && (r = win_g2m_plan(w, err))) {
		free(w);
		return r;
	}
	win_sysroot(os, root, sizeof root);
	struct vmie_guest *g = win_guest(w, os->root_device,
					 "the registry");
	if (g && !w->failed) {
		snprintf(rel, sizeof rel, "%s/System32/config/SYSTEM", root);
		win_hive(w, g, os->root_device, rel, "PREP-009", win_rtu);
		/* a second pass, so that each journal entry has one rule:
		 * its original is the hive as PREP-009 left it */
		const char *const *bd = vmie_mod_opts(m)->win_boot_drivers;
		if (!w->failed && bd && bd[0])
			win_hive(w, g, os->root_device, rel, "PREP-015",
				 win_bootdrv);
		if (!w->failed && w->g2m)
			win_hive(w, g, os->root_device, rel, "BOOT-006",
				 win_mounted);
	}
	if (!w->failed && w->g2m)
		win_bios(w);
	else if (!w->failed)
		win_bcd(w);
	for (unsigned k = 0; k < w->n_fs; k++) {
		struct vmie_err e = { 0 };
		if (!w->fs[k].g)
			continue;
		if (!w->failed && vmie_guest_flush(w->fs[k].g, &e))
			win_fail(w, &e);
		vmie_guest_close(w->fs[k].g);
		w->fs[k].g = NULL;
	}
	/* the sectors last: the NTFS handles are closed, nothing of theirs
	 * is cached over the boot sectors */
	if (!w->failed && w->g2m)
		win_g2m_sectors(w);
	if (w->failed && err)
		*err = w->err;
	r = w->failed;
	free(w);
	return r;
}
