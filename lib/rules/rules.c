/*
 * Rule evaluation: one function per group of rules (FMT, DSK, FS, OS, BOOT,
 * LIC, PREP, EXP), each adding results in REQUIREMENTS.md order.  The
 * numbers, sets and matrices come from the policy; the facts from the
 * inspection; the decisions (boot mode, license) from decide.c.
 */
#include "rules/rules.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define TIB ((uint64_t)1 << 40)

struct ctx {
	const struct vmie_inspection *in;
	const struct vmie_check_opts *o;
	const struct vmie_policy *p;
	struct vmie_check_report *r;
	const struct vmie_insp_os *os;    /* the OS being imported, or NULL */
	bool linux_os, windows_os;
	int boot_disk;                    /* disk index holding the boot code */
	unsigned cap;
	int failed_alloc;
};

/* Every rule id of REQUIREMENTS.md that the engine reports, in catalogue
 * order (SVC rules are the service's, not a check's).  Add ids, never
 * renumber. */
static const char *const rule_ids[] = {
	"FMT-001", "FMT-002", "FMT-003", "FMT-004", "FMT-005", "FMT-006",
	"DSK-001", "DSK-002", "DSK-003", "DSK-004", "DSK-005", "DSK-006",
	"FS-001", "FS-002", "FS-003", "FS-004", "FS-005",
	"OS-001", "OS-002", "OS-003", "OS-004", "OS-005", "OS-006", "OS-007",
	"OS-008", "OS-009", "OS-010",
	"BOOT-001", "BOOT-002", "BOOT-003", "BOOT-004", "BOOT-005", "BOOT-006",
	"BOOT-007", "BOOT-008",
	"LIC-001", "LIC-002", "LIC-003", "LIC-004", "LIC-005",
	"PREP-001", "PREP-002", "PREP-003", "PREP-004", "PREP-005", "PREP-006",
	"PREP-007", "PREP-008", "PREP-009", "PREP-010", "PREP-011", "PREP-012",
	"PREP-013", "PREP-014", "PREP-015", "PREP-016", "PREP-017", "PREP-018",
	"EXP-001", "EXP-002", "EXP-003",
};

bool vmie_rule_known(const char *id)
{
	for (size_t i = 0; i < sizeof rule_ids / sizeof *rule_ids; i++)
		if (!strcmp(rule_ids[i], id))
			return true;
	return false;
}

const char *vmie_verdict_name(enum vmie_verdict v)
{
	switch (v) {
	case VMIE_V_PASS: return "pass";
	case VMIE_V_INFO: return "info";
	case VMIE_V_WARN: return "warn";
	case VMIE_V_NA: return "n/a";
	case VMIE_V_FAIL: return "fail";
	}
	return "?";
}

static struct vmie_rule_result *add(struct ctx *c, const char *id,
				    const char *title, enum vmie_verdict v,
				    const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static struct vmie_rule_result dummy_result;

static struct vmie_rule_result *add(struct ctx *c, const char *id,
				    const char *title, enum vmie_verdict v,
				    const char *fmt, ...)
{
	struct vmie_check_report *r = c->r;
	if (r->n_results == c->cap) {
		unsigned ncap = c->cap ? c->cap * 2 : 64;
		void *g = realloc(r->results, ncap * sizeof *r->results);
		if (!g) {
			c->failed_alloc = 1;
			return &dummy_result;
		}
		r->results = g;
		c->cap = ncap;
	}
	struct vmie_rule_result *x = &r->results[r->n_results++];
	memset(x, 0, sizeof *x);
	vmie_strlcpy(x->id, id, sizeof x->id);
	vmie_strlcpy(x->title, title, sizeof x->title);
	/* a rule switched off in the policy is not applicable */
	x->verdict = vmie_policy_rule_on(c->p, id) ? v : VMIE_V_NA;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->evidence, sizeof x->evidence, fmt, ap);
	va_end(ap);
	if (!vmie_policy_rule_on(c->p, id)) {
		char e[sizeof x->evidence];
		snprintf(e, sizeof e, "not part of policy %s", c->p->name);
		vmie_strlcpy(x->evidence, e, sizeof x->evidence);
	}
	return x;
}

static void fix(struct vmie_rule_result *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fix(struct vmie_rule_result *x, const char *fmt, ...)
{
	va_list ap;
	if (x->verdict == VMIE_V_PASS || x->verdict == VMIE_V_NA)
		return;
	va_start(ap, fmt);
	vsnprintf(x->fix, sizeof x->fix, fmt, ap);
	va_end(ap);
}

static void status(struct vmie_rule_result *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void status(struct vmie_rule_result *x, const char *fmt, ...)
{
	va_list ap;
	if (x->verdict != VMIE_V_FAIL)
		return;
	va_start(ap, fmt);
	vsnprintf(x->status_message, sizeof x->status_message, fmt, ap);
	va_end(ap);
}

static const char *hsize(char *b, size_t n, uint64_t v)
{
	return vmie_human_size(b, n, v);
}

static const struct vmie_insp_fs *find_fs(const struct vmie_inspection *in,
					  const char *device)
{
	for (unsigned i = 0; i < in->n_fs; i++)
		if (!strcmp(in->fs[i].device, device))
			return &in->fs[i];
	return NULL;
}

static const struct vmie_insp_disk *boot_disk(const struct ctx *c)
{
	if (c->boot_disk < 0 || (unsigned)c->boot_disk >= c->in->n_disks)
		return NULL;
	return &c->in->disks[c->boot_disk];
}

static const char *pt_name(enum vmie_pt_type t)
{
	return t == VMIE_PT_MBR ? "mbr" : t == VMIE_PT_GPT ? "gpt" : "none";
}

/* ---- FMT ---- */

static void rules_fmt(struct ctx *c)
{
	const struct vmie_check_opts *o = c->o;
	struct vmie_rule_result *x;
	char ev[400] = "", bad[300] = "";
	const char *bad_fmt = NULL;     /* format of the first refused disk */
	bool fail = false;
	for (unsigned i = 0; i < o->n_inputs; i++) {
		const struct vmie_check_input *d = &o->inputs[i];
		char key[80];
		size_t n;
		if (d->open_error[0] && !strcmp(d->open_rule, "FMT-001")) {
			/* refused as not an import format (VDI, unknown) */
			fail = true;
			if (!bad_fmt)
				bad_fmt = d->format;
			n = strlen(ev);
			snprintf(ev + n, sizeof ev - n, "%sdisk%u: %s", n ? "; " : "",
				 i, d->open_error);
			n = strlen(bad);
			snprintf(bad + n, sizeof bad - n, "%s%s", n ? ", " : "",
				 d->format[0] ? d->format : "unrecognised");
			continue;
		}
		if (d->open_error[0])
			continue;
		snprintf(key, sizeof key, "%s:%s", d->format, d->subformat);
		bool ok = vmie_policy_allows(c->p, "input_formats", key) ||
			  (!d->subformat[0] &&
			   vmie_policy_allows(c->p, "input_formats", d->format));
		n = strlen(ev);
		snprintf(ev + n, sizeof ev - n, "%sdisk%u: %s%s%s", n ? "; " : "",
			 i, d->format, d->subformat[0] ? " " : "", d->subformat);
		if (!ok) {
			fail = true;
			if (!bad_fmt)
				bad_fmt = d->format;
			n = strlen(bad);
			snprintf(bad + n, sizeof bad - n, "%s%s%s%s", n ? ", " : "",
				 d->format, d->subformat[0] ? " " : "", d->subformat);
		}
	}
	x = add(c, "FMT-001", "the image is OVA, stream-optimized VMDK, VHD/VHDX "
		"(fixed or dynamic) or raw", fail ? VMIE_V_FAIL : VMIE_V_PASS,
		"%s", ev[0] ? ev : "no disk could be opened");
	fix(x, "convert first: vmie convert -O vmdk,streamOptimized SRC DST "
	    "(or -O vhdx,dynamic / raw)");
	/* the service's words: a VMDK of another kind and an OVA it cannot
	 * read have messages of their own; other formats name themselves */
	if (bad_fmt && !strcmp(bad_fmt, "vmdk"))
		status(x, "ClientError: Disk validation failed [Unsupported VMDK File Format]");
	else if (bad_fmt && !strcmp(bad_fmt, "ova"))
		status(x, "ClientError: Disk validation failed [Unsupported OVA format]");
	else
		status(x, "ClientError: Disk validation failed [Unsupported image format: %s]", bad);

	static const struct { const char *id, *title, *msg, *fix; } refusals[] = {
		{ "FMT-002", "not a VMware SEsparse delta disk",
		  "ClientError: Disk validation failed [Unsupported VMDK File Format]",
		  "consolidate the snapshot chain in vSphere and export the VM as OVF/OVA" },
		{ "FMT-003", "not a Raw Device Mapping",
		  "ClientError: Disk validation failed [Raw Device Mapping disks are not supported]",
		  "copy the mapped LUN into a virtual disk (storage vMotion to a VMDK) before export" },
		{ "FMT-004", "not a differencing disk (no parent)",
		  "ClientError: Disk validation failed [Differencing disks with a parent are not supported]",
		  "merge the disk with its parent (vmie convert reads the merged chain from the hypervisor's export, or qemu-img commit)" },
		{ "FMT-005", "the image is intact",
		  "ClientError: Disk validation failed [Invalid or corrupt disk image]",
		  "re-export the disk; vmie info --check names the broken structure" },
	};
	for (size_t k = 0; k < sizeof refusals / sizeof *refusals; k++) {
		char e[400] = "";
		bool f = false;
		for (unsigned i = 0; i < o->n_inputs; i++)
			if (!strcmp(o->inputs[i].open_rule, refusals[k].id)) {
				size_t n = strlen(e);
				snprintf(e + n, sizeof e - n, "%sdisk%u: %s", n ? "; " : "",
					 i, o->inputs[i].open_error);
				f = true;
			}
		x = add(c, refusals[k].id, refusals[k].title,
			f ? VMIE_V_FAIL : VMIE_V_PASS, "%s",
			f ? e : "every disk opened and validated");
		fix(x, "%s", refusals[k].fix);
		status(x, "%s", refusals[k].msg);
	}
	/* FMT-006 (legacy): VMDKs made by an OVF export are stream-optimized */
	bool vmdk_other = false;
	char e6[200] = "no VMDK disks";
	for (unsigned i = 0; i < o->n_inputs; i++)
		if (!strcmp(o->inputs[i].format, "vmdk")) {
			if (strcasecmp(o->inputs[i].subformat, "streamOptimized")) {
				vmdk_other = true;
				snprintf(e6, sizeof e6, "disk%u: createType %s", i,
					 o->inputs[i].subformat);
			} else if (!vmdk_other) {
				snprintf(e6, sizeof e6, "disk%u: createType streamOptimized", i);
			}
		}
	x = add(c, "FMT-006", "VMDKs come from an OVF export (stream-optimized)",
		vmdk_other ? VMIE_V_FAIL : VMIE_V_PASS, "%s", e6);
	fix(x, "export the VM as OVF/OVA from VMware, or vmie convert -O vmdk,streamOptimized");
	status(x, "ClientError: Disk validation failed [Unsupported VMDK File Format]");
}

/* ---- DSK ---- */

static void rules_dsk(struct ctx *c)
{
	const struct vmie_check_opts *o = c->o;
	struct vmie_rule_result *x;
	char a[32], b[32], ev[400] = "";
	uint64_t maxd = vmie_policy_limit(c->p, "max_disk_size", 16 * TIB);
	uint64_t man = vmie_policy_limit(c->p, "manifest_threshold", 8 * TIB);
	int too_big = -1, needs_manifest = -1;
	for (unsigned i = 0; i < o->n_inputs; i++) {
		uint64_t s = o->inputs[i].virtual_size;
		if (s >= maxd && too_big < 0)
			too_big = (int)i;
		if (s > man && needs_manifest < 0)
			needs_manifest = (int)i;
	}
	if (too_big >= 0)
		snprintf(ev, sizeof ev, "disk%d is %s (limit: smaller than %s)", too_big,
			 hsize(a, sizeof a, o->inputs[too_big].virtual_size),
			 hsize(b, sizeof b, maxd));
	else
		snprintf(ev, sizeof ev, "%u disk(s), all smaller than %s", o->n_inputs,
			 hsize(b, sizeof b, maxd));
	x = add(c, "DSK-001", "each disk image is smaller than the size limit",
		too_big >= 0 ? VMIE_V_FAIL : VMIE_V_PASS, "%s", ev);
	fix(x, "shrink the file systems and the disk below %s, or move data to another disk", b);
	status(x, "ClientError: Disk size exceeds the maximum of %s", b);

	bool mfail = needs_manifest >= 0 && !o->manifest;
	if (needs_manifest >= 0)
		snprintf(ev, sizeof ev, "disk%d is %s, over %s; manifest %s", needs_manifest,
			 hsize(a, sizeof a, o->inputs[needs_manifest].virtual_size),
			 hsize(b, sizeof b, man), o->manifest ? "given" : "not given");
	else
		snprintf(ev, sizeof ev, "no disk over %s", hsize(b, sizeof b, man));
	x = add(c, "DSK-002", "a disk over the manifest threshold comes with an import manifest",
		mfail ? VMIE_V_FAIL : VMIE_V_PASS, "%s", ev);
	fix(x, "import the disk with an import manifest (a manifest URL instead of a single object)");
	status(x, "ClientError: Disks larger than %s require an import manifest", b);

	uint64_t maxv = vmie_policy_limit(c->p, "max_volumes", 21);
	unsigned nv = o->n_inputs ? o->n_inputs : c->in->n_disks;
	x = add(c, "DSK-003", "the VM has no more volumes than the limit",
		nv > maxv ? VMIE_V_FAIL : VMIE_V_PASS, "%u volume(s), limit %llu",
		nv, (unsigned long long)maxv);
	fix(x, "import the boot disk with the VM and the other disks one by one with import-snapshot");
	status(x, "ClientError: The VM has %u volumes; at most %llu are supported in one import",
	       nv, (unsigned long long)maxv);

	/* DSK-004: root on the boot-code disk */
	const struct vmie_insp_os *os = c->os;
	if (!os) {
		add(c, "DSK-004", "the root partition is on the disk with the boot loader",
		    VMIE_V_NA, "no operating system found");
	} else {
		bool same = os->root_disk < 0 || os->root_disk == c->boot_disk;
		x = add(c, "DSK-004", "the root partition is on the disk with the boot loader",
			same ? VMIE_V_PASS : VMIE_V_WARN,
			"root %s on disk%d; boot code on disk%d", os->root_device,
			os->root_disk, c->boot_disk);
		fix(x, "move /boot or the boot loader to the root disk (the instance may not boot)");
	}

	/* DSK-005: at least one valid partition or whole-disk fs on the boot disk */
	const struct vmie_insp_disk *bd = boot_disk(c);
	if (!bd) {
		x = add(c, "DSK-005", "the boot disk has a valid partition or a whole-disk file system",
			VMIE_V_FAIL, "no disk could be read");
	} else {
		unsigned nfs = 0;
		for (unsigned i = 0; i < c->in->n_fs; i++)
			if (c->in->fs[i].disk == c->boot_disk && c->in->fs[i].probe.type[0])
				nfs++;
		bool ok = nfs > 0 || (bd->pt.n_parts > 0 && c->os);
		x = add(c, "DSK-005", "the boot disk has a valid partition or a whole-disk file system",
			ok ? VMIE_V_PASS : VMIE_V_FAIL,
			"disk%d: %s table, %u partition(s), %u file system(s)",
			c->boot_disk, pt_name(bd->pt.type), bd->pt.n_parts, nfs);
	}
	fix(x, "the disk looks empty: check that the right disk was exported");
	status(x, "ClientError: No valid partitions. Not a valid volume.");

	/* DSK-006 */
	uint64_t bmax = vmie_policy_limit(c->p, "boot_volume_max", 2 * TIB);
	if (!bd) {
		add(c, "DSK-006", "the boot volume is at most 2 TiB", VMIE_V_NA, "no boot disk");
	} else {
		x = add(c, "DSK-006", "the boot volume is at most the MBR limit",
			bd->virtual_size > bmax ? VMIE_V_FAIL : VMIE_V_PASS,
			"boot disk%d is %s (limit %s)", c->boot_disk,
			hsize(a, sizeof a, bd->virtual_size), hsize(b, sizeof b, bmax));
		fix(x, "shrink the boot disk to %s or less; keep data on other disks", b);
		status(x, "ClientError: The boot volume exceeds %s", b);
	}
}

/* ---- FS ---- */

static void rules_fs(struct ctx *c)
{
	struct vmie_rule_result *x;
	const struct vmie_insp_os *os = c->os;
	const struct vmie_insp_fs *root = os ? find_fs(c->in, os->root_device) : NULL;
	const struct vmie_insp_disk *bd = boot_disk(c);
	const char *pt = bd ? pt_name(bd->pt.type) : "none";

	if (!c->linux_os) {
		add(c, "FS-001", "Linux root file system is ext2/3/4, Btrfs, JFS or XFS",
		    VMIE_V_NA, "not a Linux guest");
		add(c, "FS-002", "no Btrfs subvolumes", VMIE_V_NA, "not a Linux guest");
		add(c, "FS-003", "Linux boot disk partitioning is supported", VMIE_V_NA,
		    "not a Linux guest");
	} else {
		const char *t = root ? root->probe.type : "";
		bool ok = t[0] && vmie_policy_allows(c->p, "linux_filesystems", t);
		/* a journal whose replay would break the root file system is
		 * not trusted: what inspection saw is the disk before the
		 * last writes, so every later verdict may be stale */
		bool untrusted = ok && root->journal_untrusted;
		x = add(c, "FS-001", "Linux root file system is ext2/3/4, Btrfs, JFS or XFS",
			!ok ? VMIE_V_FAIL : untrusted ? VMIE_V_WARN : VMIE_V_PASS,
			"root %s is %s%s%.200s", os->root_device,
			t[0] ? t : "unknown", untrusted ? "; " : "",
			untrusted ? root->journal_problem : "");
		if (untrusted)
			fix(x, "shut the VM down cleanly (or run e2fsck on the root file "
			    "system) before exporting it: its journal needs recovery "
			    "and replaying it would corrupt the file system");
		else
			fix(x, "move the root file system to ext4 or XFS");
		status(x, "ClientError: Unsupported root file system %s", t[0] ? t : "(unknown)");
		/* FS-002: every Btrfs file system of the VM, not only the root
		 * (a /home on Btrfs with subvolumes is imported too) */
		char sev[400] = "";
		unsigned nbtrfs = 0, nwith = 0, nunknown = 0;
		for (unsigned i = 0; i < c->in->n_fs; i++) {
			const struct vmie_insp_fs *f = &c->in->fs[i];
			if (strcmp(f->probe.type, "btrfs"))
				continue;
			nbtrfs++;
			nwith += f->n_subvolumes > 0;
			bool unknown = !f->opened || f->subvolumes_unknown;
			nunknown += unknown && !f->n_subvolumes;
			size_t n = strlen(sev);
			char cnt[16];
			snprintf(cnt, sizeof cnt, "%u", f->n_subvolumes);
			snprintf(sev + n, sizeof sev - n, "%s%.60s%s: %s subvolume(s)%s%s%.150s%s",
				 n ? "; " : "", f->device, f == root ? " (root)" : "",
				 unknown && !f->n_subvolumes ? "unknown" : cnt,
				 !f->opened ? " (not readable)" :
				 f->subvolumes_unknown ? " (root tree damaged)" : "",
				 f->subvolume_paths[0] ? " (" : "", f->subvolume_paths,
				 f->subvolume_paths[0] ? ")" : "");
		}
		x = add(c, "FS-002", "no Btrfs subvolumes",
			!nbtrfs ? VMIE_V_NA : nwith ? VMIE_V_FAIL :
			nunknown ? VMIE_V_WARN : VMIE_V_PASS,
			"%s", nbtrfs ? sev : "no Btrfs file system");
		fix(x, "move the contents of each subvolume into the top level of its file "
		    "system (or onto another file system) and delete the subvolumes, "
		    "snapshots included (btrfs subvolume delete)");
		status(x, "ClientError: Btrfs subvolumes are not supported");
		bool ptok = vmie_policy_allows(c->p, "linux_partition_tables", pt);
		x = add(c, "FS-003", "Linux boot disk partitioning is supported",
			ptok ? VMIE_V_PASS : VMIE_V_FAIL, "boot disk%d uses %s", c->boot_disk, pt);
		fix(x, "convert the boot disk to MBR partitioning (sgdisk --gpttombr) if it has at most 4 partitions");
		status(x, "ClientError: Unsupported partition table %s on the boot volume", pt);
	}

	if (!c->windows_os) {
		add(c, "FS-004", "Windows uses NTFS on MBR or GPT", VMIE_V_NA, "not a Windows guest");
	} else {
		const char *t = root ? root->probe.type : "";
		bool ntfs = !strcmp(t, "ntfs");
		bool ptok = vmie_policy_allows(c->p, "windows_partition_tables", pt);
		bool gptfmt = true;
		const char *fmt = c->o->n_inputs ? c->o->inputs[c->boot_disk >= 0 ? c->boot_disk : 0].format : "";
		if (bd && bd->pt.type == VMIE_PT_GPT)
			gptfmt = vmie_policy_allows(c->p, "windows_gpt_formats", fmt);
		bool ok = ntfs && ptok && gptfmt;
		x = add(c, "FS-004", "Windows uses NTFS on MBR or GPT", ok ? VMIE_V_PASS : VMIE_V_FAIL,
			"system volume %s is %s on %s (image format %s)", os->root_device,
			t[0] ? t : "unknown", pt, fmt);
		if (!gptfmt)
			fix(x, "export a GPT Windows boot disk as VHDX (vmie convert -O vhdx,dynamic)");
		else
			fix(x, "the Windows system volume must be NTFS");
		status(x, "ClientError: %s", !ntfs ? "Unsupported Windows file system" :
		       "GPT Windows boot volumes are supported only in VHDX images");
	}

	/* FS-005: dynamic disks, named with what their LDM database says
	 * (group, volumes with type, size and drive letter). */
	char ev[400] = "";
	size_t n = 0;
	int ndyn = 0;
	for (unsigned i = 0; i < c->in->n_disks; i++) {
		const struct vmie_ptable *dpt = &c->in->disks[i].pt;
		if (!dpt->ldm)
			continue;
		ndyn++;
		if (n < sizeof ev)
			n += (size_t)snprintf(ev + n, sizeof ev - n, "%sdisk%u: "
				"Windows dynamic disk (LDM", n ? "; " : "", i);
		if (n < sizeof ev && dpt->ldm_group[0])
			n += (size_t)snprintf(ev + n, sizeof ev - n,
					      " group %s", dpt->ldm_group);
		if (n < sizeof ev)
			n += (size_t)snprintf(ev + n, sizeof ev - n, ")");
		if (n < sizeof ev && dpt->ldm_error[0])
			n += (size_t)snprintf(ev + n, sizeof ev - n,
					      ": database unreadable: %s",
					      dpt->ldm_error);
		/* a group's volumes are named once, at its first disk */
		bool seen = false;
		for (unsigned j = 0; j < i && dpt->ldm_group_guid[0]; j++)
			if (c->in->disks[j].pt.ldm &&
			    !strcmp(c->in->disks[j].pt.ldm_group_guid,
				    dpt->ldm_group_guid))
				seen = true;
		for (unsigned v = 0; !seen && v < dpt->n_ldm_volumes &&
		     n < sizeof ev; v++) {
			const struct vmie_ldm_volume *lv = &dpt->ldm_volumes[v];
			n += (size_t)snprintf(ev + n, sizeof ev - n,
					      "%s %s %s %llu MiB%s%s",
					      v ? "," : ":", lv->name, lv->type,
					      (unsigned long long)(lv->size >> 20),
					      lv->hint[0] ? " " : "", lv->hint);
		}
	}
	x = add(c, "FS-005", "Windows dynamic disks are detected (they change the boot-mode choice)",
		ndyn ? VMIE_V_WARN : VMIE_V_PASS, "%s",
		ndyn ? ev : "no dynamic disks");
	fix(x, "convert dynamic disks to basic before export if possible; the boot mode will be UEFI (BOOT-006)");
}

/* ---- OS ---- */

static const struct vmie_policy_windows *windows_row(const struct ctx *c,
						     const char *product)
{
	for (unsigned i = 0; i < c->p->n_windows; i++)
		if (!strcmp(c->p->windows_rows[i].product, product))
			return &c->p->windows_rows[i];
	return NULL;
}

static int sles_sp(const struct vmie_insp_os *os)
{
	/* version "12.3" -> SP3; "11" + evidence of PATCHLEVEL */
	const char *dot = strchr(os->version, '.');
	if (os->minor >= 0)
		return os->minor;
	return dot ? atoi(dot + 1) : 0;
}

static void rules_os_linux(struct ctx *c)
{
	const struct vmie_insp_os *os = c->os;
	struct vmie_rule_result *x;
	const char *kernel = os->default_kernel[0] ? os->default_kernel :
			     os->n_kernels ? os->kernels[0].version : "";
	/* find the matrix rows for this distribution and version */
	bool distro_known = false, version_ok = false, kernel_ok = false, sp_ok = false;
	char want[300] = "";
	for (unsigned i = 0; i < c->p->n_linux; i++) {
		const struct vmie_policy_linux *row = &c->p->linux_rows[i];
		if (strcmp(row->distro, os->distro))
			continue;
		distro_known = true;
		if (!vmie_policy_linux_version_ok(row, os->version))
			continue;
		bool this_sp = !row->n_sp;
		int sp = sles_sp(os);
		for (unsigned k = 0; k < row->n_sp; k++)
			if (row->sp[k] == sp)
				this_sp = true;
		if (!this_sp)
			continue;
		version_ok = true;
		sp_ok = true;
		bool kok = row->kernel_any;
		for (unsigned k = 0; k < row->n_kernels && !kok; k++)
			kok = row->kernel_suffix ? strstr(kernel, row->kernels[k]) != NULL
						 : vmie_kernel_matches(row->kernels[k], kernel);
		if (kok)
			kernel_ok = true;
		size_t n = strlen(want);
		for (unsigned k = 0; k < row->n_kernels; k++) {
			snprintf(want + n, sizeof want - n, "%s%s", n ? ", " : "", row->kernels[k]);
			n = strlen(want);
		}
	}
	(void)sp_ok;
	enum vmie_verdict v = distro_known && version_ok && kernel_ok ? VMIE_V_PASS : VMIE_V_FAIL;
	x = add(c, "OS-002", "the OS, version and kernel are in the support matrix", v,
		"%s %s (%s), kernel %s", os->distro, os->version, os->product_name,
		kernel[0] ? kernel : "not found");
	/* The service words every Linux matrix failure by the kernel
	 * ("Unsupported kernel version 4.19.90-23.8.v2101.ky10.x86_64" for a
	 * distribution it does not list, as for a kernel it does not list);
	 * the evidence and the fix say which part of the matrix failed. */
	if (!distro_known) {
		size_t n = strlen(x->evidence);
		snprintf(x->evidence + n, sizeof x->evidence - n,
			 "; distribution %s is not in the matrix", os->distro);
		fix(x, "%s is not a supported distribution under policy %s", os->distro, c->p->name);
	} else if (!version_ok) {
		size_t n = strlen(x->evidence);
		snprintf(x->evidence + n, sizeof x->evidence - n,
			 "; %s %s is not a listed version", os->distro, os->version);
		fix(x, "upgrade or downgrade to a listed %s version (see the policy's linux rows)", os->distro);
	} else if (kernel[0]) {
		fix(x, "boot a distribution kernel of the listed series (%s) and make it the default", want);
	}
	if (!kernel[0]) {
		if (distro_known && version_ok)
			fix(x, "install a distribution kernel of the listed series (%s) with its "
			    "/boot/vmlinuz-VERSION and make it the boot loader's default", want);
		status(x, "ClientError: Unable to determine kernel version.");
	} else {
		status(x, "ClientError: Unsupported kernel version %s", kernel);
	}

	bool is64 = !strcmp(os->arch, "x86_64") || !strcmp(os->arch, "aarch64");
	bool arch_mismatch = c->o->architecture && os->arch[0] &&
		strcmp(c->o->architecture, os->arch) &&
		!(!strcmp(c->o->architecture, "arm64") && !strcmp(os->arch, "aarch64"));
	x = add(c, "OS-003", "Linux images are 64-bit",
		!os->arch[0] ? VMIE_V_WARN : (!is64 || arch_mismatch) ? VMIE_V_FAIL : VMIE_V_PASS,
		"architecture %s%s%s", os->arch[0] ? os->arch : "unknown",
		arch_mismatch ? ", but --architecture " : "",
		arch_mismatch ? c->o->architecture : "");
	fix(x, arch_mismatch ? "pass the architecture the guest has" :
	    "only 64-bit Linux can be imported: migrate the workload to a 64-bit install");
	status(x, "ClientError: Unsupported architecture %s: Linux images must be 64-bit",
	       os->arch);

	bool custom = false;
	for (unsigned i = 0; i < os->n_kernels; i++)
		if (os->kernels[i].custom && (os->kernels[i].is_default ||
		    !strcmp(os->kernels[i].version, kernel)))
			custom = true;
	x = add(c, "OS-004", "the kernel is a distribution default kernel",
		custom ? VMIE_V_WARN : VMIE_V_PASS, "default kernel %s%s",
		kernel[0] ? kernel : "unknown", custom ? " looks custom-built" : "");
	fix(x, "install the distribution's kernel package and make it the default");
}

static bool has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 0x7f)
			return true;
	return false;
}

static void rules_os_windows(struct ctx *c)
{
	const struct vmie_insp_os *os = c->os;
	struct vmie_rule_result *x;
	char product[24], edition[24];
	vmie_windows_product(os, product, sizeof product);
	vmie_windows_edition(os, edition, sizeof edition);
	const struct vmie_policy_windows *row = product[0] ? windows_row(c, product) : NULL;
	bool is64 = !strcmp(os->arch, "x86_64") || !os->arch[0];
	bool ed_ok = false;
	if (row)
		for (unsigned i = 0; i < row->n_editions; i++)
			if (!strcmp(row->editions[i], edition))
				ed_ok = true;
	bool bits_ok = row && (is64 ? row->bits64 : row->bits32);
	int sp = 0;
	if (os->service_pack[0]) {
		const char *d = os->service_pack + strcspn(os->service_pack, "0123456789");
		sp = atoi(d);
	}
	bool sp_ok = !row || !row->min_sp || sp >= row->min_sp;
	bool ok = row && ed_ok && bits_ok && sp_ok;
	x = add(c, "OS-002", "the OS, edition, bitness and service pack are in the support matrix",
		ok ? VMIE_V_PASS : VMIE_V_FAIL,
		"%s (product %s, edition %s, %s, build %u%s%s)", os->product_name,
		product[0] ? product : "unknown", edition[0] ? edition : "unknown",
		os->arch[0] ? os->arch : "arch unknown", os->build,
		os->service_pack[0] ? ", " : "", os->service_pack);
	if (!row) {
		fix(x, "this Windows version is not supported under policy %s", c->p->name);
		status(x, "ClientError: Unsupported Windows OS: %s", os->product_name);
	} else if (!ed_ok) {
		fix(x, "supported editions of this version: see the policy's windows row (line %u)", row->line);
		status(x, "ClientError: Unsupported Windows edition %s", os->edition);
	} else if (!bits_ok) {
		fix(x, "only the 64-bit version of %s is supported", os->product_name);
		status(x, "ClientError: Unsupported Windows architecture: 32-bit %s", os->product_name);
	} else {
		fix(x, "install service pack %d or later", row->min_sp);
		status(x, "ClientError: Windows service pack %d or later is required", row->min_sp);
	}

	add(c, "OS-003", "Linux images are 64-bit", VMIE_V_NA, "not a Linux guest");
	add(c, "OS-004", "the kernel is a distribution default kernel", VMIE_V_NA,
	    "not a Linux guest");

	/* OS-005: language */
	bool need_en = row && row->us_english;
	const char *lang = os->install_language[0] ? os->install_language : os->default_language;
	bool en = !strcasecmp(lang, "en-US");
	bool nonascii = has_non_ascii(os->language_packs);
	enum vmie_verdict v = nonascii ? VMIE_V_FAIL :
			      (need_en && lang[0] && !en) ? VMIE_V_FAIL :
			      (need_en && !lang[0]) ? VMIE_V_WARN : VMIE_V_PASS;
	x = add(c, "OS-005", "the OS language is US English where required; language packs use ASCII names",
		v, "install language %s, default %s, language packs: %s%s",
		os->install_language[0] ? os->install_language : "unknown",
		os->default_language[0] ? os->default_language : "unknown",
		os->language_packs[0] ? os->language_packs : "none",
		need_en ? " (US English required for this version)" : "");
	fix(x, "set the system language to English (United States) and remove other language packs");
	status(x, "ClientError: Unsupported Windows language %s: only US English is supported for %s",
	       lang, os->product_name);

	bool nano = !strcasecmp(os->installation_type, "Nano Server");
	x = add(c, "OS-006", "not Windows Nano Server", nano ? VMIE_V_FAIL : VMIE_V_PASS,
		"installation type %s", os->installation_type[0] ? os->installation_type : "unknown");
	fix(x, "Nano Server cannot be imported: use a Server Core or Desktop Experience installation");
	status(x, "ClientError: Nano Server installations are not supported");

	bool r32 = row && !is64 && (row->default_regions_only || row->bit32_default_regions_only);
	bool rall = row && row->default_regions_only;
	v = (r32 || rall) ? (c->o->non_default_region ? VMIE_V_FAIL : VMIE_V_INFO) : VMIE_V_PASS;
	x = add(c, "OS-008", "32-bit Windows only in default regions", v,
		"%s %s%s", os->product_name, is64 ? "64-bit" : "32-bit",
		(r32 || rall) ? ": available in default regions only" : "");
	fix(x, "import into a default (not opt-in) region, or use a 64-bit Windows");
	status(x, "ClientError: %s is not available in opt-in regions", os->product_name);
}

/* OS-010: a P2V image is an installation made on a physical machine and
 * copied into a disk image.  What an offline check can see of that machine
 * is what its vendor left on the disk: utility, diagnostics, recovery and
 * hibernation partitions, known by their MBR type byte, GPT type GUID or
 * volume label / GPT name.  Each of the three lists is policy data
 * (p2v_mbr_types, p2v_gpt_types, p2v_labels); these are the defaults.
 * Deliberately absent: MBR 0x27 and the GPT Windows RE type (Windows setup
 * creates its recovery partition with them in VMs too), 0xfe (also old
 * Linux LVM), and generic labels such as "Recovery". */
static const struct {
	const char *key, *what;
} p2v_defaults[] = {
	{ "12", "Compaq/HP diagnostics and configuration partition" },
	{ "84", "hibernation / Intel Rapid Start partition" },
	{ "a0", "laptop hibernation partition" },
	{ "de", "Dell utility partition" },
	{ "d3bfe2de-3daf-11df-ba40-e3a556d89593", "Intel Rapid Start (iFFS) partition" },
	{ "bfbfafe7-a34f-448a-9a5b-6213eb736c22", "Lenovo boot partition" },
	{ "f4019732-066e-4e12-8273-346c5641494f", "Sony system partition" },
	{ "HP_TOOLS", "HP tools partition" },
	{ "HP_RECOVERY", "HP recovery partition" },
	{ "DellUtility", "Dell utility partition" },
	{ "PQSERVICE", "Acer/Packard Bell/Gateway recovery partition" },
	{ "SONYSYS", "Sony VAIO system partition" },
	{ "SYSTEM_DRV", "Lenovo system partition" },
	{ "WINRE_DRV", "Lenovo recovery tools partition" },
	{ "Lenovo_Recovery", "Lenovo recovery partition" },
	{ "SAMSUNG_REC", "Samsung recovery partition" },
};

/* Whether value is a P2V sign of policy set key (or of the defaults when
 * the policy has no such set); *what names it. */
static bool p2v_sign(const struct ctx *c, const char *key, const char *value,
		     const char **what)
{
	*what = NULL;
	if (!value[0])
		return false;
	for (size_t i = 0; i < sizeof p2v_defaults / sizeof *p2v_defaults; i++)
		if (!strcasecmp(p2v_defaults[i].key, value))
			*what = p2v_defaults[i].what;
	if (vmie_policy_has_set(c->p, key)) {
		if (!vmie_policy_allows(c->p, key, value))
			return false;
		if (!*what)
			*what = "listed as a P2V sign by the policy";
		return true;
	}
	if (!*what)
		return false;
	/* a default of the right kind only: "de" is not a label */
	if (!strcmp(key, "p2v_mbr_types"))
		return strlen(value) == 2;
	if (!strcmp(key, "p2v_gpt_types"))
		return strlen(value) == 36;
	return strlen(value) != 2 && strlen(value) != 36;
}

/* SMBIOS manufacturer / product names of virtual platforms (as Windows
 * records them): any of these words, case-insensitively. */
static bool p2v_virtual_platform(const struct vmie_insp_os *os)
{
	static const char *const words[] = {
		"VMware", "innotek", "VirtualBox", "QEMU", "KVM", "Xen",
		"Red Hat", "Amazon EC2", "Google", "Parallels", "Nutanix",
		"OpenStack", "Bochs", "Virtual Machine", "HVM domU",
		"Standard PC", "Proxmox", "oVirt", "DigitalOcean", "Hetzner",
		"Scaleway", "Alibaba Cloud", "Apple Virtualization",
	};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strcasestr(os->system_manufacturer, words[i]) ||
		    strcasestr(os->system_product, words[i]))
			return true;
	return false;
}

static void rules_p2v(struct ctx *c)
{
	const struct vmie_inspection *in = c->in;
	struct vmie_rule_result *x;
	char ev[400] = "";
	unsigned nsigns = 0;

	for (unsigned d = 0; d < in->n_disks; d++) {
		const struct vmie_ptable *pt = &in->disks[d].pt;
		for (unsigned i = 0; i < pt->n_parts; i++) {
			const struct vmie_partition *pa = &pt->parts[i];
			const char *what = NULL;
			char key[8] = "", how[80] = "";
			if (pt->type == VMIE_PT_MBR && pa->mbr_type) {
				snprintf(key, sizeof key, "%02x", pa->mbr_type);
				if (p2v_sign(c, "p2v_mbr_types", key, &what))
					snprintf(how, sizeof how, "MBR type 0x%s", key);
			}
			if (!how[0] && pa->type_guid[0] &&
			    p2v_sign(c, "p2v_gpt_types", pa->type_guid, &what))
				snprintf(how, sizeof how, "GPT type %s", pa->type_guid);
			if (!how[0] && pa->name[0] &&
			    p2v_sign(c, "p2v_labels", pa->name, &what))
				snprintf(how, sizeof how, "GPT name %.60s", pa->name);
			/* the label of the file system on the partition */
			for (unsigned k = 0; !how[0] && k < in->n_fs; k++)
				if (in->fs[k].disk == (int)d &&
				    in->fs[k].partition == (int)pa->number &&
				    p2v_sign(c, "p2v_labels", in->fs[k].probe.label, &what))
					snprintf(how, sizeof how, "label %.60s",
						 in->fs[k].probe.label);
			if (!how[0])
				continue;
			size_t n = strlen(ev);
			snprintf(ev + n, sizeof ev - n, "%sdisk%up%u: %s (%s)", n ? "; " : "",
				 d, pa->number, what, how);
			nsigns++;
		}
	}
	/* whole-disk file systems and LVs have labels too */
	for (unsigned k = 0; k < in->n_fs; k++) {
		const char *what;
		if (in->fs[k].partition > 0 ||
		    !p2v_sign(c, "p2v_labels", in->fs[k].probe.label, &what))
			continue;
		size_t n = strlen(ev);
		snprintf(ev + n, sizeof ev - n, "%s%.60s: %s (label %.40s)", n ? "; " : "",
			 in->fs[k].device, what, in->fs[k].probe.label);
		nsigns++;
	}
	/* Windows keeps the SMBIOS names of the machine it last ran on; a
	 * physical vendor there (not a hypervisor) is the strongest sign */
	for (unsigned k = 0; k < in->n_os; k++) {
		const struct vmie_insp_os *os = &in->os[k];
		if (!os->system_manufacturer[0] || p2v_virtual_platform(os))
			continue;
		size_t n = strlen(ev);
		snprintf(ev + n, sizeof ev - n, "%s%.40s last ran on \"%.60s\" "
			 "\"%.60s\" (SystemInformation), not a hypervisor",
			 n ? "; " : "", os->root_device, os->system_manufacturer,
			 os->system_product);
		nsigns++;
	}
	if (!nsigns)
		snprintf(ev, sizeof ev, "no vendor utility, diagnostics, recovery or "
			 "hibernation partition on %u disk(s)%s", in->n_disks,
			 in->n_os && in->os[0].system_manufacturer[0] ?
			 "; Windows last ran on a virtual machine" : "");
	x = add(c, "OS-010", "not a P2V conversion of a physical machine (heuristic)",
		nsigns ? VMIE_V_WARN : VMIE_V_PASS, "%s%s", ev,
		nsigns ? ": left by the vendor of a physical machine" : "");
	fix(x, "P2V images are not supported: if this disk was copied from a physical "
	    "machine, reinstall the OS in a VM and migrate the workload; if not, "
	    "the vendor partitions can be deleted before export");
}

static void rules_os(struct ctx *c)
{
	struct vmie_rule_result *x;
	const struct vmie_inspection *in = c->in;
	x = add(c, "OS-001", "an operating system is found", in->n_os ? VMIE_V_PASS : VMIE_V_FAIL,
		"%s on %s", in->n_os ? in->os[0].product_name : "",
		in->n_os ? in->os[0].root_device : "");
	if (!in->n_os) {
		snprintf(x->evidence, sizeof x->evidence,
			 "no operating system root found on %u file system(s)", in->n_fs);
		for (unsigned i = 0; i < in->n_fs && strlen(x->evidence) < 300; i++) {
			size_t n = strlen(x->evidence);
			snprintf(x->evidence + n, sizeof x->evidence - n, "%s%s %s%s%s",
				 i ? ", " : ": ", in->fs[i].device,
				 in->fs[i].probe.type[0] ? in->fs[i].probe.type : "unknown",
				 in->fs[i].error[0] ? " (" : "", in->fs[i].error[0] ? "unreadable)" : "");
		}
	}
	fix(x, "check that the boot disk was exported, and that its file systems are supported");
	status(x, "ClientError: Unknown OS / Missing OS files.");

	if (c->linux_os) {
		rules_os_linux(c);
		add(c, "OS-005", "Windows language is US English", VMIE_V_NA, "not a Windows guest");
		add(c, "OS-006", "not Windows Nano Server", VMIE_V_NA, "not a Windows guest");
	} else if (c->windows_os) {
		rules_os_windows(c);
	} else {
		static const char *const ids[] = { "OS-002", "OS-003", "OS-004", "OS-005", "OS-006" };
		for (size_t i = 0; i < 5; i++)
			add(c, ids[i], "operating system facts", VMIE_V_NA, "no operating system found");
	}

	x = add(c, "OS-007", "not a dual-boot configuration", in->dual_boot || in->n_os > 1 ?
		VMIE_V_FAIL : VMIE_V_PASS, "%u operating system root(s)", in->n_os);
	if (in->n_os > 1) {
		size_t n = strlen(x->evidence);
		for (unsigned i = 0; i < in->n_os; i++) {
			snprintf(x->evidence + n, sizeof x->evidence - n, "%s%s on %s",
				 i ? ", " : ": ", in->os[i].product_name, in->os[i].root_device);
			n = strlen(x->evidence);
		}
	}
	fix(x, "remove the other operating systems or import each from its own disk");
	status(x, "ClientError: Dual-boot configurations are not supported");

	if (!c->windows_os) {
		add(c, "OS-008", "32-bit Windows only in default regions", VMIE_V_NA, "not a Windows guest");
	}

	/* OS-009 is evaluated with the boot mode (rules_boot) */

	rules_p2v(c);
}

/* ---- BOOT ---- */

/* The boot disk as an MBR would hold it (BOOT-006, GPT-to-MBR): the
 * partitions kept and the ones dropped (the MSR), the first one no MBR
 * entry can describe (a type without an MBR byte, or past 2^32 sectors),
 * and the list "p1 EFI system partition 0xef, p2 MSR dropped, ..." */
struct b6_gpt {
	unsigned kept, dropped;
	char bad[160];
	char desc[240];
};

static void b6_gpt_scan(const struct ctx *c, const struct vmie_insp_disk *bd,
			struct b6_gpt *g)
{
	const struct vmie_inspection *in = c->in;
	uint64_t ss = bd->pt.sector_size ? bd->pt.sector_size : 512;
	size_t n = 0;

	memset(g, 0, sizeof *g);
	/* the converter (lib/modify/gpt2mbr.c) writes an MBR of 512-byte
	 * sectors: a GPT of 4096-byte sectors (a 4Kn disk) stays GPT */
	if (ss != 512)
		snprintf(g->bad, sizeof g->bad, "the GPT has %llu-byte sectors "
			 "(a 4Kn disk); vmie converts disks of 512-byte sectors",
			 (unsigned long long)ss);
	for (unsigned i = 0; i < bd->pt.n_parts; i++) {
		const struct vmie_partition *p = &bd->pt.parts[i];
		const struct vmie_insp_fs *f = NULL;
		const char *what;
		uint8_t t;
		for (unsigned k = 0; k < in->n_fs && !f; k++)
			if (in->fs[k].disk == c->boot_disk &&
			    in->fs[k].partition == (int)p->number)
				f = &in->fs[k];
		int m = vmie_gpt_mbr_type(p->type_guid, f ? f->probe.type : NULL,
					  f ? f->probe.version : NULL, &t, &what);
		/* the last sector must fit the MBR's 32-bit LBA fields */
		uint64_t end = p->start / ss + p->size / ss + (p->size % ss != 0);
		if (m == VMIE_GPT_MBR_KEEP) {
			g->kept++;
			if (end > (uint64_t)1 << 32 && !g->bad[0])
				snprintf(g->bad, sizeof g->bad, "partition %u "
					 "(%s) ends beyond 2^32 sectors, where "
					 "an MBR cannot reach", p->number, what);
		} else if (m == VMIE_GPT_MBR_DROP) {
			g->dropped++;
		} else if (!g->bad[0]) {
			snprintf(g->bad, sizeof g->bad, "partition %u (%s, type "
				 "%s) has no MBR type", p->number, what,
				 p->type_guid[0] ? p->type_guid : "?");
		}
		if (n < sizeof g->desc)
			snprintf(g->desc + n, sizeof g->desc - n, "%sp%u %s",
				 n ? ", " : "", p->number,
				 m == VMIE_GPT_MBR_DROP ? "MSR dropped" : what);
		n = strlen(g->desc);
		if (m == VMIE_GPT_MBR_KEEP && n < sizeof g->desc)
			snprintf(g->desc + n, sizeof g->desc - n, " 0x%02x", t);
		n = strlen(g->desc);
	}
}

/* The Windows version boots with UEFI only: Windows 11 (Microsoft's
 * requirement), or the policy's row says "uefi" (OS-009). */
static bool windows_uefi_only(const struct ctx *c, const char *product)
{
	const struct vmie_policy_windows *row = product[0] ?
		windows_row(c, product) : NULL;
	return !strcmp(product, "11") || (row && row->uefi_required);
}

static void rules_boot(struct ctx *c)
{
	struct vmie_rule_result *x;
	const struct vmie_insp_os *os = c->os;
	const struct vmie_check_opts *o = c->o;
	struct vmie_check_report *r = c->r;
	const struct vmie_insp_disk *bd = boot_disk(c);
	const char *req = o->boot_mode;

	if (!os) {
		static const char *const ids[] = { "BOOT-001", "BOOT-002", "BOOT-003",
			"BOOT-004", "BOOT-005", "BOOT-006", "BOOT-008" };
		for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
			add(c, ids[i], "boot mode", VMIE_V_NA, "no operating system found");
		add(c, "OS-009", "Windows 11 boots with UEFI", VMIE_V_NA, "no operating system found");
	} else {
		/* Windows: BIOS boot files on a GPT disk (and no installed
		 * boot manager) do not count for a UEFI-only version */
		char product[24] = "";
		if (c->windows_os)
			vmie_windows_product(os, product, sizeof product);
		bool uefi_only = c->windows_os && windows_uefi_only(c, product);
		bool files_only = c->windows_os && os->bios_after_mbr &&
				  !os->bootmgr_bios;
		bool can_bios = os->can_bios && !(files_only && uefi_only);
		x = add(c, "BOOT-001", "the boot modes the guest supports are detected",
			can_bios || os->can_uefi ? VMIE_V_INFO : VMIE_V_FAIL,
			"legacy BIOS: %s, UEFI: %s%s%s%s", can_bios ? "yes" : "no",
			os->can_uefi ? "yes" : "no",
			c->linux_os ? "; boot loader " : "",
			c->linux_os ? (os->bootloader[0] ? os->bootloader : "none found") : "",
			files_only ? (uefi_only ? "; the BIOS boot files on the GPT disk do not "
			 "count: this Windows version boots with UEFI only" :
			 "; legacy BIOS after GPT-to-MBR conversion (BIOS boot "
			 "files on the Windows volume)") : "");
		if (x->verdict == VMIE_V_FAIL)   /* info names the modes found */
			fix(x, "install a boot loader (GRUB 2 for Linux) so that the guest can boot");
		status(x, "ClientError: No bootable partition / boot loader found");

		bool req_ok = !req || (!strcmp(req, "uefi") ? os->can_uefi :
				       !strcmp(req, "legacy-bios") ? can_bios : false);
		bool req_valid = !req || !strcmp(req, "uefi") || !strcmp(req, "legacy-bios");
		x = add(c, "BOOT-002", "a requested --boot-mode is one the guest supports",
			!req ? VMIE_V_NA : req_ok ? VMIE_V_PASS : VMIE_V_FAIL,
			req ? "requested %s; guest supports%s%s" : "no --boot-mode given%.0s%.0s%.0s",
			req ? req : "", can_bios ? " legacy-bios" : "",
			os->can_uefi ? " uefi" : "");
		if (req && !req_valid)
			snprintf(x->evidence, sizeof x->evidence,
				 "--boot-mode %s is neither legacy-bios nor uefi", req);
		fix(x, "omit --boot-mode, or request a mode the guest supports");
		status(x, req_valid ? "ClientError: The requested boot mode %s is not supported by the image" :
		       "ClientError: Invalid boot mode %s", req ? req : "");

		/* decide the boot mode */
		const char *mode = NULL, *mode_rule = "BOOT-001", *reason = "";
		char b6_reason[240];  /* vmie_boot006_out.reason */
		if (c->windows_os) {
			struct vmie_boot006_in bi = {
				/* an installed boot manager; the BIOS files
				 * on GPT are bios_after_mbr */
				.can_bios = os->can_bios && !files_only,
				.can_uefi = os->can_uefi,
				.bios_after_mbr = os->bios_after_mbr,
				.uefi_only = uefi_only,
				.requested = req_valid ? req : NULL,
				.disk_size = bd ? bd->virtual_size : 0,
				.dynamic_disk = bd && bd->pt.ldm,
				.gpt = bd && bd->pt.type == VMIE_PT_GPT,
				.vhdx = o->n_inputs && !strcmp(o->inputs[c->boot_disk >= 0 ? c->boot_disk : 0].format, "vhdx"),
			};
			struct b6_gpt gs = { 0 };
			if (bd && bd->pt.type == VMIE_PT_GPT) {
				/* the partitions the MBR would hold: the MSR
				 * is dropped, the ESP kept (type 0xEF) */
				b6_gpt_scan(c, bd, &gs);
				bi.primary_partitions = gs.kept;
				bi.dropped_partitions = gs.dropped;
				bi.not_convertible = gs.bad[0] ? gs.bad : NULL;
			} else if (bd) {
				unsigned prim = 0;
				for (unsigned i = 0; i < bd->pt.n_parts; i++)
					if (!bd->pt.parts[i].logical && !bd->pt.parts[i].extended)
						prim++;
				bi.primary_partitions = bd->pt.type == VMIE_PT_MBR ? bd->pt.n_primary : prim;
			}
			struct vmie_boot006_out bo;
			vmie_boot006_decide(&bi, &bo);
			mode = bo.mode;
			mode_rule = "BOOT-006";
			r->gpt_to_mbr = bo.gpt_to_mbr;
			bool on = vmie_policy_rule_on(c->p, "BOOT-006");
			x = add(c, "BOOT-006", "Windows boot mode choice and GPT-to-MBR conversion",
				mode ? VMIE_V_INFO : VMIE_V_FAIL,
				"%s -> %s%s%s%s", bo.reason, mode ? mode : "none",
				bo.gpt_to_mbr ? "; the GPT boot volume will be converted to MBR" : "",
				gs.desc[0] ? "; GPT partitions: " : "", gs.desc);
			vmie_strlcpy(b6_reason, bo.reason, sizeof b6_reason);
			reason = b6_reason;
			if (!on) {
				/* older policy: no automatic choice and no
				 * conversion, BIOS when possible */
				mode = req_valid && req ? (req_ok ? req : NULL) :
				       can_bios ? "legacy-bios" : os->can_uefi ? "uefi" : NULL;
				reason = "legacy policy: legacy BIOS unless only UEFI is possible";
				mode_rule = "BOOT-008";
				r->gpt_to_mbr = false;
			}
			if (x->verdict != VMIE_V_FAIL) {
				/* a decision taken: nothing to fix */
			} else if (bo.limit[0]) {
				fix(x, "import with --boot-mode uefi, or meet the conversion's "
				    "limits (VHDX, at most 2 TiB, at most 3 partitions besides "
				    "the MSR, a basic disk)");
				status(x, "ClientError: Legacy BIOS needs the GPT boot volume "
				       "converted to MBR, which is not possible: %s", bo.limit);
			} else {
				fix(x, "the guest has no boot loader for the requested or any mode");
				status(x, "ClientError: Unable to determine the boot mode");
			}
		} else {
			add(c, "BOOT-006", "Windows boot mode choice", VMIE_V_NA, "not a Windows guest");
			if (req_valid && req && req_ok) {
				mode = req;
				reason = "requested with --boot-mode";
				mode_rule = "BOOT-002";
			} else if (os->can_bios) {
				mode = "legacy-bios";
				reason = os->can_uefi ? "hybrid guest: legacy BIOS by default" :
					 "the guest boots with legacy BIOS only";
			} else if (os->can_uefi) {
				mode = "uefi";
				reason = "the guest boots with UEFI only";
				mode_rule = "BOOT-003";
			}
		}
		if (mode) {
			vmie_strlcpy(r->boot_mode, mode, sizeof r->boot_mode);
			vmie_strlcpy(r->boot_mode_rule, mode_rule, sizeof r->boot_mode_rule);
			vmie_strlcpy(r->boot_mode_reason, reason, sizeof r->boot_mode_reason);
		}
		bool uefi = mode && !strcmp(mode, "uefi");

		if (c->linux_os) {
			x = add(c, "BOOT-003", "Linux UEFI: EFI/BOOT/BOOTX64.EFI exists on the ESP",
				!uefi ? VMIE_V_NA : os->efi_fallback == 1 ? VMIE_V_PASS : VMIE_V_FAIL,
				!uefi ? "the boot mode is not UEFI" : os->efi_fallback == 1 ?
				"EFI/BOOT/BOOTX64.EFI found on %s" : "EFI/BOOT/BOOTX64.EFI not found on the ESP %s",
				os->esp_device[0] ? os->esp_device : "(none)");
			fix(x, "install the fallback loader: grub-install --removable, or copy shimx64.efi/grubx64.efi to EFI/BOOT/BOOTX64.EFI");
			status(x, "ClientError: UEFI boot requires the fallback EFI binary EFI/BOOT/BOOTX64.EFI on the EFI System Partition");
			bool hybrid = os->grub2_bios && os->grub2_efi;
			x = add(c, "BOOT-004", "GRUB 2 is set up for BIOS or UEFI, not both",
				hybrid ? VMIE_V_WARN : VMIE_V_PASS, "GRUB 2 BIOS: %s, UEFI: %s",
				os->grub2_bios ? "yes" : "no", os->grub2_efi ? "yes" : "no");
			fix(x, "hybrid images import, but cannot be exported again (EXP-003): remove one of the two GRUB installs");
			bool blok = os->bootloader[0] &&
				    vmie_policy_allows(c->p, "linux_bootloaders", os->bootloader);
			x = add(c, "BOOT-005", "the boot loader is GRUB legacy or GRUB 2",
				blok ? VMIE_V_PASS : VMIE_V_FAIL, "boot loader: %s",
				os->bootloader[0] ? os->bootloader : "none found");
			fix(x, "install GRUB 2 (grub-install and update-grub / grub2-mkconfig)");
			status(x, "ClientError: Unsupported boot loader %s: GRUB legacy or GRUB 2 is required",
			       os->bootloader[0] ? os->bootloader : "(none)");
		} else {
			add(c, "BOOT-003", "Linux UEFI fallback binary", VMIE_V_NA, "not a Linux guest");
			add(c, "BOOT-004", "GRUB 2 for one mode only", VMIE_V_NA, "not a Linux guest");
			add(c, "BOOT-005", "GRUB boot loader", VMIE_V_NA, "not a Linux guest");
		}

		/* OS-009: Windows 11 needs UEFI */
		const struct vmie_policy_windows *row = product[0] ? windows_row(c, product) : NULL;
		bool need = row && row->uefi_required;
		x = add(c, "OS-009", "Windows 11 boots with UEFI",
			!need ? VMIE_V_NA : uefi ? VMIE_V_PASS : VMIE_V_FAIL,
			need ? "%s; boot mode %s" : "%s does not require UEFI%.0s",
			c->windows_os ? os->product_name : "the guest", mode ? mode : "undecided");
		fix(x, "import with --boot-mode uefi (the guest must have a UEFI boot loader)");
		status(x, "ClientError: Windows 11 requires the UEFI boot mode");

		/* BOOT-008 (legacy): UEFI only for Windows boot volumes in VHDX */
		bool vhdx = o->n_inputs && !strcmp(o->inputs[c->boot_disk >= 0 ? c->boot_disk : 0].format, "vhdx");
		bool gpt_boot = bd && bd->pt.type == VMIE_PT_GPT;
		bool b8fail = (uefi || gpt_boot) && !(c->windows_os && vhdx);
		x = add(c, "BOOT-008", "UEFI/GPT boot volumes only for Windows in VHDX; otherwise MBR",
			b8fail ? VMIE_V_FAIL : VMIE_V_PASS, "%s guest, boot disk %s, boot mode %s, format %s",
			c->windows_os ? "Windows" : "Linux", bd ? pt_name(bd->pt.type) : "?",
			mode ? mode : "undecided",
			o->n_inputs ? o->inputs[c->boot_disk >= 0 ? c->boot_disk : 0].format : "?");
		fix(x, "use an MBR boot disk (Linux: convert with sgdisk --gpttombr; Windows: export as VHDX)");
		/* the older service's words for a UEFI boot volume */
		if (uefi)
			status(x, "ClientError: EFI partition detected. UEFI booting is not supported in EC2.");
		else
			status(x, "ClientError: GPT boot volumes are supported only for Windows in VHDX images");
	}

	/* BOOT-007 */
	bool uefi = !strcmp(r->boot_mode, "uefi") || (req && !strcmp(req, "uefi"));
	bool bad = uefi && (o->encrypted || o->license_configuration ||
			    (o->snapshot && !o->platform));
	x = add(c, "BOOT-007", "a UEFI import does not ask for encryption, a license configuration, "
		"or a snapshot without a platform",
		!uefi ? VMIE_V_NA : bad ? VMIE_V_FAIL : VMIE_V_PASS,
		"boot mode %s; encrypted %s, license configuration %s, snapshot %s, platform %s",
		r->boot_mode[0] ? r->boot_mode : (req ? req : "undecided"),
		o->encrypted ? "yes" : "no", o->license_configuration ? "yes" : "no",
		o->snapshot ? "yes" : "no", o->platform ? o->platform : "unset");
	fix(x, "drop --encrypted / --license-specifications, or give --platform with a snapshot");
	status(x, "ClientError: UEFI imports cannot use %s",
	       o->encrypted ? "encryption" : o->license_configuration ?
	       "a license configuration" : "a snapshot without a platform");
}

/* ---- LIC ---- */

static void rules_lic(struct ctx *c)
{
	struct vmie_rule_result *x;
	const struct vmie_check_opts *o = c->o;
	struct vmie_check_report *r = c->r;
	const char *req = o->license_type;
	bool valid = !req || !strcasecmp(req, "Auto") || !strcasecmp(req, "AWS") ||
		     !strcasecmp(req, "BYOL");
	x = add(c, "LIC-001", "--license-type is Auto, AWS or BYOL", valid ? VMIE_V_PASS : VMIE_V_FAIL,
		"--license-type %s", req ? req : "unset (Auto)");
	fix(x, "use --license-type AWS or BYOL, or leave it unset");
	status(x, "ClientError: Invalid license type %s", req ? req : "");

	if (!c->os) {
		add(c, "LIC-002", "Linux: BYOL only", VMIE_V_NA, "no operating system found");
		add(c, "LIC-003", "Windows client: BYOL only", VMIE_V_NA, "no operating system found");
		add(c, "LIC-004", "Windows Server: AWS or BYOL", VMIE_V_NA, "no operating system found");
		add(c, "LIC-005", "the license type is compatible with the OS", VMIE_V_NA,
		    "no operating system found");
		return;
	}
	bool server = c->windows_os && vmie_windows_is_server(c->os);
	const char *rule = "";
	const char *lic = valid ? vmie_license_decide(c->windows_os, server, req, &rule) : NULL;
	if (lic) {
		vmie_strlcpy(r->license_type, lic, sizeof r->license_type);
		vmie_strlcpy(r->license_rule, rule, sizeof r->license_rule);
	}
	const char *d = c->os->distro;
	if (!valid) {
		/* an invalid value is LIC-001's failure, not a license decision */
		static const char *const ids[] = { "LIC-002", "LIC-003", "LIC-004" };
		for (size_t i = 0; i < 3; i++)
			add(c, ids[i], "license type for this OS", VMIE_V_NA,
			    "--license-type %s is not a license type (LIC-001)", req);
	} else if (c->linux_os) {
		bool rhel = !strcmp(d, "rhel"), sles = !strcmp(d, "sles");
		x = add(c, "LIC-002", "Linux supports BYOL only; Auto means BYOL",
			lic ? (rhel || sles ? VMIE_V_INFO : VMIE_V_PASS) : VMIE_V_FAIL,
			"%s: license %s%s", c->os->product_name, lic ? lic : "incompatible",
			rhel ? "; RHEL needs Red Hat Cloud Access (BYOL)" :
			sles ? "; SUSE needs SUSE Public Cloud BYOS" : "");
		fix(x, rhel ? "enrol the subscription in Red Hat Cloud Access" :
		    sles ? "register the instance with the SUSE Public Cloud Program (BYOS)" :
		    "use --license-type BYOL or leave it unset");
		status(x, "ClientError: Linux operating systems support only BYOL licenses");
		add(c, "LIC-003", "Windows client: BYOL only", VMIE_V_NA, "not a Windows guest");
		add(c, "LIC-004", "Windows Server: AWS or BYOL", VMIE_V_NA, "not a Windows guest");
	} else {
		add(c, "LIC-002", "Linux: BYOL only", VMIE_V_NA, "not a Linux guest");
		x = add(c, "LIC-003", "Windows client editions support BYOL only",
			server ? VMIE_V_NA : lic ? VMIE_V_PASS : VMIE_V_FAIL,
			"%s is a %s edition; license %s", c->os->product_name,
			server ? "server" : "client", lic ? lic : "incompatible");
		fix(x, "use --license-type BYOL or leave it unset");
		status(x, "ClientError: Windows client operating systems support only BYOL licenses");
		x = add(c, "LIC-004", "Windows Server supports AWS or BYOL; Auto means AWS",
			!server ? VMIE_V_NA : VMIE_V_PASS, "%s: license %s", c->os->product_name,
			lic ? lic : "?");
	}
	/* usage operation */
	const char *usage = "";
	if (lic) {
		if (c->windows_os)
			usage = !strcmp(lic, "AWS") ? "RunInstances:0002" : "RunInstances:0800";
		else if (!strcmp(d, "rhel"))
			usage = "RunInstances:00g0";
		else
			usage = "RunInstances";
		vmie_strlcpy(r->usage_operation, usage, sizeof r->usage_operation);
	}
	vmie_strlcpy(r->platform, c->windows_os ? "Windows" : "Linux", sizeof r->platform);
	bool plat_bad = o->platform && strcasecmp(o->platform, r->platform);
	bool usage_bad = o->usage_operation && lic && strcmp(o->usage_operation, usage);
	x = add(c, "LIC-005", "the license type is compatible with the OS",
		(!lic && valid) || usage_bad || plat_bad ? VMIE_V_FAIL :
		!valid ? VMIE_V_NA : VMIE_V_PASS,
		"license %s, usage operation %s%s%s%s%s",
		lic ? lic : (req ? req : "?"), usage[0] ? usage : "none",
		usage_bad ? "; --usage-operation " : "", usage_bad ? o->usage_operation : "",
		plat_bad ? "; --platform " : "", plat_bad ? o->platform : "");
	fix(x, usage_bad ? "pass the usage operation that matches the license, or leave it unset" :
	    plat_bad ? "--platform must match the guest" : "choose a license type the OS supports");
	status(x, "ClientError: %s", plat_bad ? "The platform does not match the image" :
	       usage_bad ? "The usage operation does not match the license type" :
	       c->windows_os ? "Windows client operating systems support only BYOL licenses" :
	       "Linux operating systems support only BYOL licenses");
}

/* ---- PREP ---- */

/* Whether word is an item of a comma (or blank) separated list. */
static bool has_token(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; n && (p = strstr(p, word)); p += n) {
		bool start = p == list || p[-1] == ',' || p[-1] == ' ';
		bool end = !p[n] || p[n] == ',' || p[n] == ' ';
		if (start && end)
			return true;
	}
	return false;
}

static bool fstab_nonstandard(const char *t)
{
	static const char *const odd[] = { "cifs", "smbfs", "smb3", "vboxsf", "sshfs",
		"fuse.sshfs", "vmhgfs", "fuse.vmhgfs-fuse", "9p", "nfs", "nfs4", "glusterfs", NULL };
	for (int i = 0; odd[i]; i++)
		if (!strcmp(t, odd[i]))
			return true;
	return false;
}

static void rules_prep(struct ctx *c)
{
	struct vmie_rule_result *x;
	const struct vmie_insp_os *os = c->os;
	char a[32], b[32];
	bool lx = c->linux_os, win = c->windows_os;
	const char *nl = "not a Linux guest", *nw = "not a Windows guest";

	if (!os) {
		for (int i = 1; i <= 18; i++) {
			char id[16];
			snprintf(id, sizeof id, "PREP-%03d", i);
			if (i == 11 || i == 12)
				continue;
			add(c, id, "preparation", VMIE_V_NA, "no operating system found");
		}
	}
	if (os && lx) {
		uint64_t min = vmie_policy_limit(c->p, "linux_min_free", 250 * MIB);
		bool known = os->root_free != UINT64_MAX;
		x = add(c, "PREP-001", "Linux: enough free space on the root volume",
			!known ? VMIE_V_WARN : os->root_free < min ? VMIE_V_WARN : VMIE_V_PASS,
			known ? "%s free on %s (needs %s)" : "free space on %s unknown%.0s (needs %s)",
			known ? hsize(a, sizeof a, os->root_free) : os->root_device,
			os->root_device, hsize(b, sizeof b, min));
		fix(x, "free at least %s on the root file system for drivers", b);
	} else if (os) {
		add(c, "PREP-001", "Linux free space", VMIE_V_NA, "%s", nl);
	}
	if (os && win) {
		uint64_t min = vmie_policy_limit(c->p, "windows_min_free", 6 * GIB);
		bool known = os->root_free != UINT64_MAX;
		bool low = known && os->root_free < min;
		x = add(c, "PREP-002", "Windows: enough free space and a fixed page file",
			low || os->paging_auto == 1 || !known ? VMIE_V_WARN : VMIE_V_PASS,
			"%s free on C: (needs %s); page file %s", known ? hsize(a, sizeof a, os->root_free) : "unknown",
			hsize(b, sizeof b, min), os->paging_auto == 1 ? "automatically managed" :
			os->paging_files[0] ? os->paging_files : "unknown");
		fix(x, "free %s on C: and set a fixed page file size (automatic management may create a 16 GB pagefile.sys)", b);
	} else if (os) {
		add(c, "PREP-002", "Windows free space and page file", VMIE_V_NA, "%s", nw);
	}
	if (os) {
		unsigned nstatic = 0;
		char ifs[240] = "";
		for (unsigned i = 0; i < os->n_netifs; i++)
			if (os->netifs[i].dhcp == 0) {
				size_t n = strlen(ifs);
				snprintf(ifs + n, sizeof ifs - n, "%s%.31s %.63s (%.100s)", n ? ", " : "",
					 os->netifs[i].name, os->netifs[i].address, os->netifs[i].source);
				nstatic++;
			}
		x = add(c, "PREP-003", "a DHCP client is present; static IPs become DHCP",
			os->dhcp_client == 0 ? VMIE_V_WARN : nstatic ? VMIE_V_INFO : VMIE_V_PASS,
			"DHCP client %s; %u interface(s), %u static%s%s",
			os->dhcp_client == 1 ? "present" : os->dhcp_client == 0 ? "not found" : "unknown",
			os->n_netifs, nstatic, nstatic ? ": " : "", ifs);
		fix(x, os->dhcp_client == 0 ? "install and enable a DHCP client (dhclient, NetworkManager or systemd-networkd)" :
		    "static addresses will be replaced by DHCP at import");
		if (lx) {
			bool ok = os->ssh_installed == 1 && os->ssh_enabled != 0;
			x = add(c, "PREP-004", "remote access is enabled (SSH)", ok ? VMIE_V_PASS : VMIE_V_WARN,
				"sshd %s, %s", os->ssh_installed == 1 ? "installed" : "not found",
				os->ssh_enabled == 1 ? "enabled" : os->ssh_enabled == 0 ? "disabled" : "enablement unknown");
			fix(x, "install and enable the OpenSSH server, and allow port 22 in the guest firewall");
		} else {
			bool ok = os->rdp_enabled == 1;
			x = add(c, "PREP-004", "remote access is enabled (RDP with a firewall rule)",
				ok ? VMIE_V_PASS : VMIE_V_WARN, "RDP %s, firewall rule %s",
				os->rdp_enabled == 1 ? "enabled" : os->rdp_enabled == 0 ? "disabled" : "unknown",
				os->rdp_firewall == 1 ? "present" : os->rdp_firewall == 0 ? "missing" : "unknown");
			fix(x, "enable Remote Desktop and allow it in Windows Firewall");
		}
		x = add(c, "PREP-005", "hypervisor guest tools (VMware Tools) are uninstalled",
			os->vmware_tools == 1 ? VMIE_V_WARN : VMIE_V_PASS, "VMware Tools %s",
			os->vmware_tools == 1 ? "installed" : os->vmware_tools == 0 ? "not installed" : "not found");
		fix(x, "uninstall VMware Tools before export");
	}
	if (os && win) {
		x = add(c, "PREP-006", "Windows autologon is disabled", os->autologon == 1 ? VMIE_V_WARN : VMIE_V_PASS,
			"AutoAdminLogon %s", os->autologon == 1 ? "enabled" : "disabled");
		fix(x, "disable autologon (Winlogon AutoAdminLogon = 0)");
		/* a system volume that was not shut down cleanly (hibernated
		 * by Fast Startup, or dirty) is as unsafe as a pending reboot:
		 * the seed says to shut the VM down before exporting it */
		const struct vmie_insp_fs *sysfs = NULL;
		for (unsigned i = 0; i < c->in->n_fs; i++)
			if (!strcmp(c->in->fs[i].device, os->root_device))
				sysfs = &c->in->fs[i];
		bool hib = sysfs && sysfs->hibernated, dirty = sysfs && sysfs->dirty;
		x = add(c, "PREP-007", "no pending updates or reboot", os->pending_reboot == 1 || hib || dirty ? VMIE_V_WARN : VMIE_V_PASS,
			"pending reboot: %s%s%s", os->pending_reboot == 1 ? "yes" : os->pending_reboot == 0 ? "no" : "unknown",
			hib ? "; the system volume holds a hibernation image (hiberfil.sys: hibernated or Fast Startup)" : "",
			dirty ? "; the system volume is marked dirty (not shut down cleanly)" : "");
		if (hib || dirty)
			fix(x, "%sshut Windows down fully before export (disable Fast Startup: powercfg /h off, then shutdown /s /t 0)",
			    os->pending_reboot == 1 ? "install pending updates and reboot, then " : "");
		else
			fix(x, "install pending updates and reboot before export");
		char product[24];
		vmie_windows_product(os, product, sizeof product);
		const char *min = NULL;
		for (unsigned i = 0; i < c->p->n_dotnet; i++)
			if (!strcmp(c->p->dotnet_rows[i].product, product))
				min = c->p->dotnet_rows[i].min_version;
		bool ok = !min || (os->dotnet_version[0] && vmie_version_cmp(os->dotnet_version, min) >= 0);
		x = add(c, "PREP-008", "the .NET Framework version meets the table",
			!min ? VMIE_V_NA : ok ? VMIE_V_PASS : VMIE_V_WARN,
			min ? ".NET %s installed; %s needs %s or later" : "no .NET requirement for %s%.0s%.0s",
			min ? (os->dotnet_version[0] ? os->dotnet_version : "not found") : product,
			product, min ? min : "");
		fix(x, "install .NET Framework %s or later (the import installs 4.5 if required)", min ? min : "");
		x = add(c, "PREP-009", "RealTimeIsUniversal is set",
			os->realtime_is_universal == 1 ? VMIE_V_PASS : VMIE_V_INFO,
			"RealTimeIsUniversal %s", os->realtime_is_universal == 1 ? "= 1" : "not set");
		fix(x, "the import sets HKLM\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation\\RealTimeIsUniversal = 1");
		x = add(c, "PREP-010", "Emergency Management Services is disabled",
			os->ems_enabled == 1 ? VMIE_V_INFO : VMIE_V_PASS, "EMS %s",
			os->ems_enabled == 1 ? "enabled in the BCD" : "not enabled");
		fix(x, "the import disables EMS in the BCD");
	} else if (os) {
		add(c, "PREP-006", "Windows autologon", VMIE_V_NA, "%s", nw);
		add(c, "PREP-007", "Windows pending reboot", VMIE_V_NA, "%s", nw);
		add(c, "PREP-008", ".NET Framework", VMIE_V_NA, "%s", nw);
		add(c, "PREP-009", "RealTimeIsUniversal", VMIE_V_NA, "%s", nw);
		add(c, "PREP-010", "Emergency Management Services", VMIE_V_NA, "%s", nw);
	}
	/* VM definition */
	const struct vmie_insp_vm *vm = &c->in->vm;
	x = add(c, "PREP-011", "one network interface (only one remains after import)",
		!vm->present ? VMIE_V_NA : vm->n_nics > 1 ? VMIE_V_WARN : VMIE_V_PASS,
		vm->present ? "the VM definition has %u network interface(s)" :
		"no VM definition (OVF) to read%.0u", vm->n_nics);
	fix(x, "only one interface remains after import; add others to the instance later");
	x = add(c, "PREP-012", "no CD-ROM drive attached",
		!vm->present ? VMIE_V_NA : vm->n_cdroms ? VMIE_V_WARN : VMIE_V_PASS,
		vm->present ? "the VM definition has %u CD/DVD drive(s)" :
		"no VM definition (OVF) to read%.0u", vm->n_cdroms);
	fix(x, "disconnect CD-ROM drives before export");

	if (os && lx) {
		unsigned ndev = 0, nomatch = 0, odd = 0;
		char ev[400] = "";
		for (unsigned i = 0; i < os->n_fstab; i++) {
			const struct vmie_insp_fstab *f = &os->fstab[i];
			bool special = !strcmp(f->type, "swap") || !strcmp(f->type, "proc") ||
				       !strcmp(f->type, "tmpfs") || !strcmp(f->type, "sysfs") ||
				       !strcmp(f->type, "devpts") || !strcmp(f->type, "none");
			if (fstab_nonstandard(f->type)) {
				odd++;
			} else if (f->spec_kind == VMIE_SPEC_DEVICE && !special) {
				ndev++;
			}
			if (!special && !fstab_nonstandard(f->type) && !f->resolves_to[0] &&
			    f->spec_kind != VMIE_SPEC_OTHER)
				nomatch++;
		}
		snprintf(ev, sizeof ev, "%u fstab entries: %u by device name (become UUIDs), "
			 "%u matching no file system (get nofail), %u non-standard types (disabled)",
			 os->n_fstab, ndev, nomatch, odd);
		x = add(c, "PREP-013", "/etc/fstab uses UUIDs; stale and network entries are handled",
			nomatch ? VMIE_V_WARN : (ndev || odd) ? VMIE_V_INFO : VMIE_V_PASS, "%s", ev);
		fix(x, "refer to file systems by UUID= in /etc/fstab; remove entries of disks that are not imported");
		/* PREP-014: what GRUB says (set default / saved_entry / default=N,
		 * and the timeout), and the kernel that entry boots */
		bool def = os->grub_default[0] != 0, tmo = os->grub_timeout >= 0;
		char tbuf[16] = "not set";
		if (tmo)
			snprintf(tbuf, sizeof tbuf, "%d s", os->grub_timeout);
		x = add(c, "PREP-014", "GRUB default entry and timeout are set",
			def && tmo ? VMIE_V_PASS : VMIE_V_INFO,
			"GRUB default entry %s, timeout %s; default kernel %s",
			def ? os->grub_default : "not set", tbuf,
			os->default_kernel[0] ? os->default_kernel : "not found");
		fix(x, "the import sets the GRUB default entry and timeout");
		/* the drivers the target needs are policy data (aws-current:
		 * nvme and ena; aws-legacy: the Xen PV drivers) */
		static const char *const def_drivers[] = { "virtio_blk", "virtio_net", "nvme",
			"ena", "xen-blkfront", "xen-netfront" };
		const struct vmie_policy_set *ds = vmie_policy_get_set(c->p, "linux_initrd_drivers");
		unsigned nd = ds ? ds->n : sizeof def_drivers / sizeof *def_drivers;
		char missing[200] = "", need[200] = "";
		for (unsigned i = 0; i < nd; i++) {
			const char *drv = ds ? ds->values[i] : def_drivers[i];
			size_t k = strlen(need);
			snprintf(need + k, sizeof need - k, "%s%s", k ? ", " : "", drv);
			if (!has_token(os->initrd_drivers, drv)) {
				size_t n = strlen(missing);
				snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", drv);
			}
		}
		x = add(c, "PREP-015", "the initramfs holds the block and network drivers the target needs",
			os->initrd_read == 0 ? VMIE_V_WARN : missing[0] ? VMIE_V_INFO : VMIE_V_PASS,
			os->initrd_read == 0 ? "the default initramfs could not be read%.0s%.0s%.0s" :
			"initramfs drivers: %s; the target needs: %s; missing: %s",
			os->initrd_drivers[0] ? os->initrd_drivers : "none", need,
			missing[0] ? missing : "none");
		fix(x, "the import adds the missing drivers to the initramfs (or install them: dracut --add-drivers / update-initramfs)");
		x = add(c, "PREP-017", "a non-root user with an SSH public key exists",
			os->users_with_keys[0] ? VMIE_V_PASS : VMIE_V_WARN,
			os->users_with_keys[0] ? "users with authorized_keys: %s" : "no non-root user has ~/.ssh/authorized_keys%.0s",
			os->users_with_keys);
		fix(x, "create a non-root user with an SSH public key (no account is created by the import)");
	} else if (os) {
		add(c, "PREP-013", "Linux fstab", VMIE_V_NA, "%s", nl);
		add(c, "PREP-014", "GRUB settings", VMIE_V_NA, "%s", nl);
		add(c, "PREP-015", "initramfs drivers", VMIE_V_NA, "%s", nl);
		add(c, "PREP-017", "SSH user", VMIE_V_NA, "%s", nl);
	}
	if (os) {
		char product[24] = "";
		if (win)
			vmie_windows_product(os, product, sizeof product);
		bool r2 = !strcmp(product, "server-2012-r2");
		add(c, "PREP-016", "Windows Server 2012 R2: SR-IOV drivers are installed",
		    r2 ? VMIE_V_INFO : VMIE_V_NA, r2 ? "the import installs the SR-IOV (enhanced networking) drivers" :
		    "not Windows Server 2012 R2");
		char files[300];
		snprintf(files, sizeof files, lx ? "files the import may change (originals kept beside them "
			 "under a new name): /etc/fstab, network configuration, GRUB configuration, initramfs" :
			 "the import changes the SYSTEM and SOFTWARE registry hives and the BCD "
			 "(originals kept beside them under a new name)");
		add(c, "PREP-018", "every changed file is kept under a new name", VMIE_V_INFO, "%s", files);
	}
}

/* ---- EXP ---- */

static void rules_exp(struct ctx *c)
{
	struct vmie_rule_result *x;
	add(c, "EXP-001", "export formats: VMDK, VHD, raw; OVA for a VM", VMIE_V_NA,
	    "evaluated by export-image");
	add(c, "EXP-002", "the image being exported exists", VMIE_V_NA, "evaluated by export-image");
	bool hybrid = c->os && c->linux_os && c->os->grub2_bios && c->os->grub2_efi;
	x = add(c, "EXP-003", "hybrid BIOS+UEFI GRUB 2 images cannot be exported",
		!c->linux_os ? VMIE_V_NA : hybrid ? VMIE_V_WARN : VMIE_V_PASS,
		hybrid ? "GRUB 2 is installed for both BIOS and UEFI" : "not a hybrid GRUB 2 setup");
	fix(x, "the import will pass, but a later export of this image will fail: keep GRUB 2 for one mode");
}

/* ---- driver ---- */

static int pick_boot_disk(const struct vmie_inspection *in, const struct vmie_insp_os *os)
{
	/* the disk with boot code, an ESP or bootmgr; else the root's disk; else 0 */
	for (unsigned i = 0; i < in->n_disks; i++)
		if (in->disks[i].has_boot_code)
			return (int)i;
	if (os && os->esp_device[0]) {
		const struct vmie_insp_fs *f = find_fs(in, os->esp_device);
		if (f && f->disk >= 0)
			return f->disk;
	}
	if (os && os->root_disk >= 0)
		return os->root_disk;
	return in->n_disks ? 0 : -1;
}

int vmie_rules_check(const struct vmie_inspection *in,
		     const struct vmie_check_opts *o,
		     const struct vmie_policy *p,
		     struct vmie_check_report **out, struct vmie_err *err)
{
	struct ctx c = { .in = in, .o = o, .p = p };
	c.r = calloc(1, sizeof *c.r);
	if (!c.r)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	vmie_strlcpy(c.r->policy, p->name, sizeof c.r->policy);
	c.os = in->n_os ? &in->os[0] : NULL;
	c.linux_os = c.os && !strcmp(c.os->type, "linux");
	c.windows_os = c.os && !strcmp(c.os->type, "windows");
	c.boot_disk = pick_boot_disk(in, c.os);
	if (c.os)
		snprintf(c.r->os_summary, sizeof c.r->os_summary, "%.100s%s%s%s%.60s",
			 c.os->product_name[0] ? c.os->product_name : c.os->distro,
			 c.os->arch[0] ? " " : "", c.os->arch,
			 c.os->default_kernel[0] ? ", kernel " : "", c.os->default_kernel);

	rules_fmt(&c);
	rules_dsk(&c);
	rules_fs(&c);
	rules_os(&c);
	rules_boot(&c);
	rules_lic(&c);
	rules_prep(&c);
	rules_exp(&c);

	if (c.failed_alloc) {
		vmie_check_report_free(c.r);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	c.r->would_pass = true;
	for (unsigned i = 0; i < c.r->n_results; i++)
		if (c.r->results[i].verdict == VMIE_V_FAIL) {
			if (c.r->would_pass)
				vmie_strlcpy(c.r->status_message, c.r->results[i].status_message,
					     sizeof c.r->status_message);
			c.r->would_pass = false;
		}
	*out = c.r;
	return 0;
}

void vmie_check_report_free(struct vmie_check_report *r)
{
	if (!r)
		return;
	free(r->results);
	free(r);
}

const struct vmie_rule_result *vmie_report_find(const struct vmie_check_report *r,
						const char *id)
{
	for (unsigned i = 0; i < r->n_results; i++)
		if (!strcmp(r->results[i].id, id))
			return &r->results[i];
	return NULL;
}

#include <jansson.h>

void *vmie_check_report_to_json(const struct vmie_check_report *r)
{
	json_t *o = json_object(), *res = json_array(), *dec = json_object();
	json_object_set_new(o, "schema_version", json_integer(1));
	json_object_set_new(o, "policy", json_string(r->policy));
	json_object_set_new(o, "would_pass", json_boolean(r->would_pass));
	json_object_set_new(o, "status_message", r->status_message[0] ?
			    json_string(r->status_message) : json_null());
	json_object_set_new(o, "os", json_string(r->os_summary));
	json_object_set_new(dec, "platform", json_string(r->platform));
	json_object_set_new(dec, "boot_mode", r->boot_mode[0] ? json_string(r->boot_mode) : json_null());
	json_object_set_new(dec, "boot_mode_rule", json_string(r->boot_mode_rule));
	json_object_set_new(dec, "boot_mode_reason", json_string(r->boot_mode_reason));
	json_object_set_new(dec, "gpt_to_mbr", json_boolean(r->gpt_to_mbr));
	json_object_set_new(dec, "license_type", r->license_type[0] ? json_string(r->license_type) : json_null());
	json_object_set_new(dec, "license_rule", json_string(r->license_rule));
	json_object_set_new(dec, "usage_operation", r->usage_operation[0] ?
			    json_string(r->usage_operation) : json_null());
	json_object_set_new(o, "decisions", dec);
	unsigned counts[5] = { 0 };
	for (unsigned i = 0; i < r->n_results; i++) {
		const struct vmie_rule_result *x = &r->results[i];
		json_t *j = json_object();
		counts[x->verdict]++;
		json_object_set_new(j, "id", json_string(x->id));
		json_object_set_new(j, "verdict", json_string(vmie_verdict_name(x->verdict)));
		json_object_set_new(j, "title", json_string(x->title));
		json_object_set_new(j, "evidence", json_string(x->evidence));
		json_object_set_new(j, "fix", x->fix[0] ? json_string(x->fix) : json_null());
		json_object_set_new(j, "status_message", x->status_message[0] ?
				    json_string(x->status_message) : json_null());
		json_array_append_new(res, j);
	}
	json_t *cnt = json_object();
	for (int v = 0; v < 5; v++)
		json_object_set_new(cnt, vmie_verdict_name((enum vmie_verdict)v), json_integer(counts[v]));
	json_object_set_new(o, "counts", cnt);
	json_object_set_new(o, "results", res);
	return o;
}
