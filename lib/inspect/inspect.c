/*
 * vmie_inspect(): what is inside the disks of one VM.
 *
 * For each disk: the partition table (lib/part); for each partition, or
 * the whole disk when there is no table, a file system probe (lib/fs);
 * LVM physical volumes of all disks are assembled together and their
 * logical volumes probed too; so are the volumes of Windows dynamic disks
 * (LDM disk groups), whose container partitions are then not read.  Every readable file system is opened and
 * looked at for an operating system root (Linux: linux.c, Windows:
 * windows.c).  Then the VM-wide facts: dual boot, boot modes.
 *
 * Nothing here fails because of what is in a guest: an unreadable table or
 * file system is recorded (vmie_insp_disk.error, vmie_insp_fs.error,
 * inspection warnings) and the rest goes on.  Only bad arguments and
 * running out of memory are errors.
 */
#include "inspect/insp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"
#include "fs/fs.h"
#include "fs/ext/ext.h"
#include "fs/ntfs/ntfs.h"
#include "ova/ova.h"
#include "part/part.h"

void vmie_insp_evidence(struct vmie_insp_os *os, const char *fact,
			const char *where, const char *fmt, ...)
{
	struct vmie_evidence *e;
	va_list ap;

	if (os->n_evidence >= VMIE_INSP_MAX_EVIDENCE)
		return;
	e = &os->evidence[os->n_evidence++];
	vmie_strlcpy(e->fact, fact, sizeof e->fact);
	vmie_strlcpy(e->where, where, sizeof e->where);
	va_start(ap, fmt);
	vsnprintf(e->value, sizeof e->value, fmt, ap);
	va_end(ap);
}

const struct vmie_evidence *vmie_insp_find_evidence(const struct vmie_insp_os *os,
						    const char *fact)
{
	for (unsigned i = 0; i < os->n_evidence; i++)
		if (!strcmp(os->evidence[i].fact, fact))
			return &os->evidence[i];
	return NULL;
}

static void insp_warn(struct vmie_inspection *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void insp_warn(struct vmie_inspection *in, const char *fmt, ...)
{
	va_list ap;

	if (in->n_warnings >= sizeof in->warnings / sizeof *in->warnings)
		return;
	va_start(ap, fmt);
	vsnprintf(in->warnings[in->n_warnings++], sizeof in->warnings[0], fmt,
		  ap);
	va_end(ap);
}

void vmie_inspection_free(struct vmie_inspection *in)
{
	if (!in)
		return;
	for (unsigned i = 0; i < in->n_disks; i++)
		vmie_ptable_free(&in->disks[i].pt);
	for (unsigned i = 0; i < in->n_os; i++) {
		free(in->os[i].kernels);
		free(in->os[i].fstab);
		free(in->os[i].netifs);
	}
	free(in->disks);
	free(in->fs);
	free(in->os);
	free(in);
}

void vmie_insp_vm_from_ovf(const struct vmie_ovf *ovf, struct vmie_insp_vm *v)
{
	memset(v, 0, sizeof *v);
	v->present = true;
	vmie_strlcpy(v->name, ovf->name ? ovf->name : "", sizeof v->name);
	vmie_strlcpy(v->os_id, ovf->os_type ? ovf->os_type :
		     ovf->os_description ? ovf->os_description :
		     ovf->os_id ? ovf->os_id : "", sizeof v->os_id);
	vmie_strlcpy(v->cim_os_id, ovf->os_id ? ovf->os_id : "",
		     sizeof v->cim_os_id);
	vmie_strlcpy(v->firmware, ovf->firmware ? ovf->firmware : "",
		     sizeof v->firmware);
	v->n_nics = (unsigned)ovf->n_nics;
	for (size_t i = 0; i < ovf->n_removables; i++)
		if (ovf->removables[i].kind == VMIE_OVF_CDROM)
			v->n_cdroms++;
	v->n_disks = (unsigned)ovf->n_disks;
}

/* ---- the file system list ---- */

static int insp_add_fs(struct insp_ctx *c, struct vmie_image *dev,
		       bool owned, int disk, int part, const char *lv,
		       const char *device)
{
	struct vmie_inspection *in = c->in;
	struct vmie_insp_fs *f;

	if (in->n_fs == c->cap) {
		unsigned nc = c->cap ? c->cap * 2 : 8;
		void *a = realloc(in->fs, nc * sizeof *in->fs);
		if (!a)
			return VMIE_ENOMEM;
		in->fs = a;
		a = realloc(c->devs, nc * sizeof *c->devs);
		if (!a)
			return VMIE_ENOMEM;
		c->devs = a;
		a = realloc(c->dev_owned, nc * sizeof *c->dev_owned);
		if (!a)
			return VMIE_ENOMEM;
		c->dev_owned = a;
		a = realloc(c->fss, nc * sizeof *c->fss);
		if (!a)
			return VMIE_ENOMEM;
		c->fss = a;
		c->cap = nc;
	}
	f = &in->fs[in->n_fs];
	memset(f, 0, sizeof *f);
	vmie_strlcpy(f->device, device, sizeof f->device);
	f->disk = disk;
	if (disk >= 0 && disk < 64)
		f->disk_mask = (uint64_t)1 << disk;
	f->partition = part;
	if (lv)
		vmie_strlcpy(f->lv, lv, sizeof f->lv);
	c->devs[in->n_fs] = dev;
	c->dev_owned[in->n_fs] = owned;
	c->fss[in->n_fs] = NULL;
	in->n_fs++;
	return 0;
}

struct vmie_fs *insp_fs(struct insp_ctx *c, unsigned i)
{
	return i < c->in->n_fs ? c->fss[i] : NULL;
}

const struct vmie_partition *insp_part(struct insp_ctx *c, unsigned i)
{
	const struct vmie_insp_fs *f = &c->in->fs[i];
	const struct vmie_ptable *pt;

	if (f->disk < 0 || f->partition <= 0 ||
	    (unsigned)f->disk >= c->in->n_disks)
		return NULL;
	pt = &c->in->disks[f->disk].pt;
	for (unsigned k = 0; k < pt->n_parts; k++)
		if (pt->parts[k].number == (unsigned)f->partition)
			return &pt->parts[k];
	return NULL;
}

/* Open the file system of entry i (probe already done). */
static void insp_open_fs(struct insp_ctx *c, unsigned i)
{
	struct vmie_insp_fs *f = &c->in->fs[i];
	struct vmie_err e = { 0 };
	struct vmie_fs *fs = NULL;

	if (f->error[0])
		return;         /* set aside (an LDM container) */
	if (!f->probe.type[0]) {
		vmie_strlcpy(f->error, "no known file system", sizeof f->error);
		return;
	}
	if (!f->probe.readable) {
		vmie_insp_fmt(f->error, sizeof f->error, "%s%s: no reader",
			 f->probe.type, f->probe.encrypted ? " (encrypted)" :
			 "");
		return;
	}
	if (vmie_fs_open(c->devs[i], &fs, &e)) {
		vmie_insp_fmt(f->error, sizeof f->error, "%s", e.msg[0] ? e.msg :
			 vmie_strerror(e.code));
		return;
	}
	c->fss[i] = fs;
	f->opened = true;
	/* the open may know more than the probe (free space) */
	if (fs->info.free != UINT64_MAX && f->probe.free == UINT64_MAX)
		f->probe.free = fs->info.free;
	if (fs->info.size && !f->probe.size)
		f->probe.size = fs->info.size;
	/* not shut down cleanly: the journal replayed, a dirty or
	 * hibernated NTFS (reported; the rules warn) */
	struct vmie_ext_journal j;
	struct vmie_ntfs_state ns;
	if (!vmie_ext_journal_info(fs, &j)) {
		vmie_strlcpy(f->journal, vmie_ext_journal_state_name(j.state),
			     sizeof f->journal);
		f->journal_transactions = j.transactions;
		f->journal_blocks = j.blocks;
		if (j.problem.code)
			vmie_strlcpy(f->journal_problem, j.problem.msg,
				     sizeof f->journal_problem);
	} else if (!vmie_ntfs_state(fs, &ns)) {
		f->dirty = ns.dirty;
		f->hibernated = ns.hibernated;
	}
	insp_btrfs_info(c, i);
}

/* ---- spec resolution (fstab) ---- */

static int insp_find(struct insp_ctx *c, const char *kind, const char *val)
{
	struct vmie_inspection *in = c->in;

	for (unsigned i = 0; i < in->n_fs; i++) {
		const struct vmie_insp_fs *f = &in->fs[i];
		const struct vmie_partition *p = insp_part(c, i);
		if (!strcmp(kind, "UUID") && f->probe.uuid[0] &&
		    !strcasecmp(f->probe.uuid, val))
			return (int)i;
		if (!strcmp(kind, "LABEL") && f->probe.label[0] &&
		    !strcmp(f->probe.label, val))
			return (int)i;
		if (!strcmp(kind, "PARTLABEL") && p && p->name[0] &&
		    !strcmp(p->name, val))
			return (int)i;
		if (!strcmp(kind, "PARTUUID") && p) {
			char mbr[40];
			if (p->part_guid[0] && !strcasecmp(p->part_guid, val))
				return (int)i;
			/* MBR: "<disk id hex>-<partition number hex, 2>" */
			const struct vmie_ptable *pt =
				&in->disks[f->disk].pt;
			if (pt->type == VMIE_PT_MBR) {
				vmie_insp_fmt(mbr, sizeof mbr, "%08x-%02x",
					 pt->mbr_disk_id, p->number);
				if (!strcasecmp(mbr, val))
					return (int)i;
			}
		}
	}
	return -1;
}

/* vmie's disk for the guest's disk number g (see insp_resolve_spec). */
static int insp_guest_disk(struct insp_ctx *c, int g, int root_disk,
			   int root_guest)
{
	unsigned n = c->in->n_disks;
	int k;

	if (root_disk < 0 || (unsigned)root_disk >= n)
		return g >= 0 && (unsigned)g < n ? g : -1;
	if (g == root_guest)
		return root_disk;
	/* the guest's other disks are ours without the root's, in order */
	k = g - (g > root_guest ? 1 : 0);
	for (unsigned d = 0; d < n; d++) {
		if ((int)d == root_disk)
			continue;
		if (k-- == 0)
			return (int)d;
	}
	return -1;
}

int insp_resolve_spec(struct insp_ctx *c, const char *spec, int root_disk,
		      int root_guest)
{
	static const struct { const char *p; const char *kind; } pre[] = {
		{ "UUID=", "UUID" }, { "LABEL=", "LABEL" },
		{ "PARTUUID=", "PARTUUID" }, { "PARTLABEL=", "PARTLABEL" },
		{ "/dev/disk/by-uuid/", "UUID" },
		{ "/dev/disk/by-label/", "LABEL" },
		{ "/dev/disk/by-partuuid/", "PARTUUID" },
		{ "/dev/disk/by-partlabel/", "PARTLABEL" },
	};
	struct vmie_inspection *in = c->in;
	char vg[128], lv[128], want[260], val[200];
	int disk, part;

	for (size_t k = 0; k < sizeof pre / sizeof *pre; k++) {
		size_t l = strlen(pre[k].p);
		if (strncmp(spec, pre[k].p, l))
			continue;
		vmie_strlcpy(val, spec + l, sizeof val);
		/* LABEL="x" is allowed by mount(8) */
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			memmove(val, val + 1, vl - 2);
			val[vl - 2] = '\0';
		}
		return insp_find(c, pre[k].kind, val);
	}
	if (vmie_insp_parse_lvname(spec, vg, sizeof vg, lv, sizeof lv)) {
		vmie_insp_fmt(want, sizeof want, "%s/%s", vg, lv);
		for (unsigned i = 0; i < in->n_fs; i++)
			if (in->fs[i].lv[0] && !strcmp(in->fs[i].lv, want))
				return (int)i;
		return -1;
	}
	if (vmie_insp_parse_devname(spec, &disk, &part)) {
		/* the guest named its disks in its own order */
		disk = insp_guest_disk(c, disk, root_disk, root_guest);
		if (disk < 0)
			return -1;
		for (unsigned i = 0; i < in->n_fs; i++)
			if (in->fs[i].disk == disk &&
			    in->fs[i].partition == part && !in->fs[i].lv[0])
				return (int)i;
	}
	return -1;
}

/* ---- ESP ---- */

static bool insp_is_esp(struct insp_ctx *c, unsigned i)
{
	const struct vmie_partition *p = insp_part(c, i);

	if (!p || !c->fss[i] || strcmp(c->in->fs[i].probe.type, "vfat"))
		return false;
	/* the type GUID is checked here too, not only the kind part names */
	return !strcmp(p->kind, "esp") || p->mbr_type == 0xef ||
	       !strcasecmp(p->type_guid, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
}

int insp_find_esp(struct insp_ctx *c, int disk)
{
	int any = -1;

	for (unsigned i = 0; i < c->in->n_fs; i++) {
		if (!insp_is_esp(c, i))
			continue;
		if (c->in->fs[i].disk == disk)
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}

struct insp_ci {
	const char *want;
	char found[256];
};

static int insp_ci_cb(void *ctx, const struct vmie_dirent *d)
{
	struct insp_ci *m = ctx;

	if (strcasecmp(d->name, m->want))
		return 0;
	vmie_strlcpy(m->found, d->name, sizeof m->found);
	return 1;
}

bool insp_exists_ci(struct vmie_fs *fs, const char *path)
{
	struct vmie_stat st;
	struct vmie_err e = { 0 };
	char cur[512] = "";
	const char *p = path;

	if (!vmie_fs_stat(fs, path, &st, &e))
		return st.type == VMIE_FT_REG;
	/* walk component by component, matching names case-insensitively */
	while (*p) {
		struct insp_ci m = { 0 };
		char comp[256];
		size_t l, cl;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		l = strcspn(p, "/");
		if (l >= sizeof comp)
			return false;
		memcpy(comp, p, l);
		comp[l] = '\0';
		p += l;
		m.want = comp;
		vmie_err_clear(&e);
		if (vmie_fs_readdir(fs, cur[0] ? cur : "/", insp_ci_cb, &m,
				    &e) != 1)
			return false;
		cl = strlen(cur);
		if (cl + 1 + strlen(m.found) + 1 > sizeof cur)
			return false;
		cur[cl] = '/';
		strcpy(cur + cl + 1, m.found);
	}
	vmie_err_clear(&e);
	return !vmie_fs_stat(fs, cur, &st, &e) && st.type == VMIE_FT_REG;
}

/* ---- the orchestration ---- */

static double insp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int insp_new_os(struct vmie_inspection *in, struct vmie_insp_os **out)
{
	struct vmie_insp_os *a = realloc(in->os, (in->n_os + 1) * sizeof *a);
	struct vmie_insp_os *os;

	if (!a)
		return VMIE_ENOMEM;
	in->os = a;
	os = &a[in->n_os];
	memset(os, 0, sizeof *os);
	os->major = os->minor = -1;
	os->root_free = UINT64_MAX;
	os->grub_timeout = -1;
	os->efi_fallback = -1;
	os->initrd_read = -1;
	os->ssh_installed = os->ssh_enabled = -1;
	os->dhcp_client = -1;
	os->current_control_set = -1;
	os->realtime_is_universal = -1;
	os->paging_auto = -1;
	os->rdp_enabled = os->rdp_firewall = os->autologon = -1;
	os->vmware_tools = os->pending_reboot = os->ems_enabled = -1;
	*out = os;
	return 0;
}

/* Scan one disk: table, then a device per partition (or the disk). */
static int insp_disk(struct insp_ctx *c, unsigned d, struct vmie_image *img)
{
	struct vmie_insp_disk *disk = &c->in->disks[d];
	struct vmie_err e = { 0 };
	char name[64];
	int rc;

	if (vmie_ptable_read(img, &disk->pt, &e)) {
		vmie_insp_fmt(disk->error, sizeof disk->error, "%s", e.msg);
		memset(&disk->pt, 0, sizeof disk->pt);
		disk->pt.type = VMIE_PT_NONE;
		disk->pt.disk_size = img->size;
	}
	disk->has_boot_code = disk->pt.mbr_boot_code;
	for (unsigned k = 0; k < disk->pt.n_parts; k++)
		if (!strcmp(disk->pt.parts[k].kind, "bios-boot"))
			disk->has_boot_code = true;
	if (disk->pt.type == VMIE_PT_NONE || !disk->pt.n_parts) {
		vmie_insp_fmt(name, sizeof name, "disk%u", d);
		return insp_add_fs(c, img, false, (int)d, 0, NULL, name);
	}
	for (unsigned k = 0; k < disk->pt.n_parts; k++) {
		const struct vmie_partition *p = &disk->pt.parts[k];
		struct vmie_image *w = NULL;
		if (p->extended || !p->size)
			continue;
		vmie_insp_fmt(name, sizeof name, "disk%up%u", d, p->number);
		vmie_err_clear(&e);
		if (vmie_image_window(img, p->start, p->size, name, &w, &e)) {
			insp_warn(c->in, "%s: %s", name, e.msg);
			continue;
		}
		rc = insp_add_fs(c, w, true, (int)d, (int)p->number, NULL,
				 name);
		if (rc) {
			vmie_image_close(w);
			return rc;
		}
	}
	return 0;
}

/* Which disks each LV has extents on.  lib/part does not say, but it
 * reports an LV whose PV is missing as unassembled: scanning again without
 * the PVs of disk d tells which LVs use disk d.  Metadata only, so cheap;
 * done only when the PVs are on several disks. */
static int insp_lv_disks(struct insp_ctx *c, struct vmie_image **pvs,
			 const int *pv_disk, unsigned npv, uint64_t *masks)
{
	struct vmie_image **sub = calloc(npv, sizeof *sub);
	uint64_t seen = 0;

	if (!sub)
		return VMIE_ENOMEM;
	for (unsigned i = 0; i < npv; i++) {
		int d = pv_disk[i];
		struct vmie_lvm without = { 0 };
		struct vmie_err e = { 0 };
		unsigned ns = 0;
		if (d < 0 || d >= 64 || (seen & (uint64_t)1 << d))
			continue;
		seen |= (uint64_t)1 << d;
		for (unsigned j = 0; j < npv; j++)
			if (pv_disk[j] != d)
				sub[ns++] = pvs[j];
		if (ns && vmie_lvm_scan(sub, ns, &without, &e)) {
			vmie_lvm_free(&without);
			continue;       /* cannot tell: no bit for d */
		}
		for (unsigned k = 0; k < c->lvm->n_lvs; k++) {
			const struct vmie_lvm_lv *lv = &c->lvm->lvs[k];
			bool still = false;
			for (unsigned m = 0; ns && m < without.n_lvs; m++)
				if (!strcmp(without.lvs[m].vg, lv->vg) &&
				    !strcmp(without.lvs[m].name, lv->name))
					still = without.lvs[m].dev != NULL;
			if (!still)
				masks[k] |= (uint64_t)1 << d;
		}
		vmie_lvm_free(&without);
	}
	free(sub);
	return 0;
}

static int insp_lvm(struct insp_ctx *c)
{
	struct vmie_inspection *in = c->in;
	struct vmie_image **pvs = NULL;
	int *pv_disk = NULL;
	uint64_t *masks = NULL;
	unsigned npv = 0, n_fs = in->n_fs;
	int one_disk = -2, rc = 0;
	struct vmie_err e = { 0 };

	pvs = calloc(n_fs ? n_fs : 1, sizeof *pvs);
	pv_disk = calloc(n_fs ? n_fs : 1, sizeof *pv_disk);
	if (!pvs || !pv_disk) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n_fs; i++) {
		if (strcmp(in->fs[i].probe.type, "LVM2_member") &&
		    !(!in->fs[i].probe.type[0] && vmie_lvm_is_pv(c->devs[i])))
			continue;
		pv_disk[npv] = in->fs[i].disk;
		pvs[npv++] = c->devs[i];
		if (one_disk == -2)
			one_disk = in->fs[i].disk;
		else if (one_disk != in->fs[i].disk)
			one_disk = -1;
	}
	if (!npv)
		goto out;
	c->lvm = calloc(1, sizeof *c->lvm);
	if (!c->lvm) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	if (vmie_lvm_scan(pvs, npv, c->lvm, &e)) {
		insp_warn(in, "LVM: %s", e.msg);
		goto out;
	}
	for (unsigned k = 0; k < c->lvm->n_warnings; k++)
		insp_warn(in, "LVM: %s", c->lvm->warnings[k]);
	in->n_lvs = c->lvm->n_lvs;
	masks = calloc(c->lvm->n_lvs ? c->lvm->n_lvs : 1, sizeof *masks);
	if (!masks) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	if (one_disk < 0) {
		rc = insp_lv_disks(c, pvs, pv_disk, npv, masks);
		if (rc)
			goto out;
	}
	for (unsigned k = 0; k < c->lvm->n_lvs; k++) {
		struct vmie_lvm_lv *lv = &c->lvm->lvs[k];
		char lvname[260], dev[160];
		int disk = one_disk;
		vmie_insp_fmt(lvname, sizeof lvname, "%s/%s", lv->vg, lv->name);
		if (!lv->dev) {
			insp_warn(in, "LVM %s: %s", lvname, lv->error);
			continue;
		}
		/* on one disk only: that disk */
		if (disk < 0 && masks[k] && !(masks[k] & (masks[k] - 1)))
			for (disk = 0; !(masks[k] & (uint64_t)1 << disk); disk++)
				;
		if (disk >= 0)
			vmie_insp_fmt(dev, sizeof dev, "disk%d:%s", disk, lvname);
		else
			vmie_insp_fmt(dev, sizeof dev, "lvm:%s", lvname);
		rc = insp_add_fs(c, lv->dev, false, disk, -1, lvname, dev);
		if (rc)
			goto out;
		if (disk < 0)
			in->fs[in->n_fs - 1].disk_mask = masks[k];
		vmie_fs_probe(lv->dev, &in->fs[in->n_fs - 1].probe);
	}
out:
	free(pvs);
	free(pv_disk);
	free(masks);
	return rc;
}

/* Windows dynamic disks: the volumes of their LDM disk groups (over all
 * the disks), each added and probed like a partition: "disk0:ldm:Volume1"
 * when its extents are all on disk 0, "ldm:Volume1" over several disks.
 * The partitions holding the LDM data (MBR 0x42, GPT LDM) of a disk whose
 * database was read are set aside: their contents are those volumes. */
static int insp_ldm(struct insp_ctx *c, struct vmie_image *const *disks)
{
	struct vmie_inspection *in = c->in;
	struct vmie_image **devs = NULL;
	const struct vmie_ptable **pts = NULL;
	unsigned *map = NULL, nl = 0, n_fs = in->n_fs;
	struct vmie_ldm l = { 0 };
	struct vmie_err e = { 0 };
	int rc = 0;

	for (unsigned d = 0; d < in->n_disks; d++)
		nl += in->disks[d].pt.ldm;
	if (!nl)
		return 0;
	devs = calloc(nl, sizeof *devs);
	pts = calloc(nl, sizeof *pts);
	map = calloc(nl, sizeof *map);
	if (!devs || !pts || !map) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	nl = 0;
	for (unsigned d = 0; d < in->n_disks; d++) {
		if (!in->disks[d].pt.ldm)
			continue;
		devs[nl] = disks[d];
		pts[nl] = &in->disks[d].pt;
		map[nl++] = d;
	}
	if (vmie_ldm_scan(devs, pts, nl, &l, &e)) {
		if (e.code == VMIE_ENOMEM)
			rc = VMIE_ENOMEM;
		else
			insp_warn(in, "LDM: %s", e.msg);
		goto out;
	}
	for (unsigned k = 0; k < l.n_warnings; k++)
		insp_warn(in, "%s", l.warnings[k]);
	for (unsigned i = 0; i < n_fs; i++) {
		struct vmie_insp_fs *f = &in->fs[i];
		const struct vmie_partition *p = insp_part(c, i);
		if (!p || !in->disks[f->disk].pt.ldm_db ||
		    strncmp(p->kind, "ldm", 3))
			continue;
		memset(&f->probe, 0, sizeof f->probe);
		vmie_insp_fmt(f->error, sizeof f->error, "Windows dynamic disk "
			      "(LDM) %s partition: its volumes are listed as "
			      "ldm:<volume>", p->kind);
	}
	for (unsigned k = 0; k < l.n_volumes; k++) {
		struct vmie_ldm_volume *v = &l.volumes[k];
		uint64_t mask = 0;
		int disk = -1;
		char dev[160];
		if (!v->dev) {
			insp_warn(in, "LDM volume %s: %s", v->name, v->error);
			continue;
		}
		for (unsigned b = 0; b < nl && b < 64; b++)
			if ((v->dev_mask & (uint64_t)1 << b) && map[b] < 64)
				mask |= (uint64_t)1 << map[b];
		if (mask && !(mask & (mask - 1)))
			for (disk = 0; !(mask & (uint64_t)1 << disk); disk++)
				;
		if (disk >= 0)
			vmie_insp_fmt(dev, sizeof dev, "disk%d:ldm:%s", disk,
				      v->name);
		else
			vmie_insp_fmt(dev, sizeof dev, "ldm:%s", v->name);
		rc = insp_add_fs(c, v->dev, true, disk, -1, NULL, dev);
		if (rc)
			goto out;
		v->dev = NULL;          /* closed with the other devices */
		in->fs[in->n_fs - 1].disk_mask = mask;
		vmie_fs_probe(c->devs[in->n_fs - 1], &in->fs[in->n_fs - 1].probe);
	}
out:
	vmie_ldm_free(&l);
	free(devs);
	free(pts);
	free(map);
	return rc;
}

/* Boot modes of an OS from the facts gathered (BOOT-001). */
static void insp_boot_modes(struct insp_ctx *c, struct vmie_insp_os *os)
{
	if (!strcmp(os->type, "windows")) {
		os->can_bios = os->bootmgr_bios;
		os->can_uefi = os->bootmgr_efi;
		return;
	}
	bool syslinux_bios = (!strcmp(os->bootloader, "syslinux") ||
			      !strcmp(os->bootloader, "extlinux")) &&
			     os->root_disk >= 0 &&
			     c->in->disks[os->root_disk].has_boot_code;
	os->can_bios = os->grub2_bios || os->grub_legacy || syslinux_bios;
	os->can_uefi = os->grub2_efi ||
		       !strcmp(os->bootloader, "systemd-boot") ||
		       (os->efi_fallback == 1 && os->esp_device[0]);
}

int vmie_inspect(struct vmie_image *const *disks, const char *const *names,
		 unsigned n, const struct vmie_inspect_opts *o,
		 struct vmie_inspection **out, struct vmie_err *err)
{
	static const struct vmie_inspect_opts defaults = { 0 };
	struct insp_ctx c = { 0 };
	struct vmie_inspection *in;
	double t0 = insp_now();
	int rc = 0;

	*out = NULL;
	if (!disks || !n)
		return VMIE_ERR(err, VMIE_EINVAL, "inspect: no disks given");
	in = calloc(1, sizeof *in);
	if (!in)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	c.in = in;
	c.o = o ? o : &defaults;
	in->disks = calloc(n, sizeof *in->disks);
	if (!in->disks) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	in->n_disks = n;
	for (unsigned d = 0; d < n; d++) {
		struct vmie_insp_disk *disk = &in->disks[d];
		struct vmie_image_info info = { 0 };
		struct vmie_err e = { 0 };
		vmie_strlcpy(disk->path, names && names[d] ? names[d] :
			     disks[d]->name ? disks[d]->name : "", sizeof disk->path);
		disk->virtual_size = disks[d]->size;
		if (!vmie_image_info(disks[d], &info, &e)) {
			vmie_strlcpy(disk->format, info.format,
				     sizeof disk->format);
			vmie_strlcpy(disk->subformat, info.subformat,
				     sizeof disk->subformat);
		} else if (disks[d]->drv) {
			vmie_strlcpy(disk->format, disks[d]->drv->name,
				     sizeof disk->format);
			vmie_strlcpy(disk->subformat, disks[d]->subformat,
				     sizeof disk->subformat);
		}
		rc = insp_disk(&c, d, disks[d]);
		if (rc)
			goto out;
	}
	for (unsigned i = 0; i < in->n_fs; i++)
		vmie_fs_probe(c.devs[i], &in->fs[i].probe);
	rc = insp_lvm(&c);
	if (rc)
		goto out;
	rc = insp_ldm(&c, disks);
	if (rc)
		goto out;
	for (unsigned i = 0; i < in->n_fs; i++)
		insp_open_fs(&c, i);

	/* operating system roots, in file system order */
	for (unsigned i = 0; i < in->n_fs; i++) {
		struct vmie_fs *fs = c.fss[i];
		struct vmie_insp_os *os;
		char sysroot[64];
		if (!fs)
			continue;
		if (vmie_insp_is_windows_root(fs, sysroot, sizeof sysroot)) {
			rc = insp_new_os(in, &os);
			if (rc)
				goto out;
			in->n_os++;
			rc = vmie_insp_windows(&c, i, sysroot, &in->os[in->n_os - 1]);
		} else {
			/* at the root the file system opened with (Btrfs:
			 * the default subvolume), else in another Btrfs
			 * subvolume (Fedora's "root", Ubuntu's "@") */
			uint64_t sv = 0;
			if (vmie_insp_is_linux_root(fs, "") ||
			    insp_btrfs_linux_root(&c, i, &sv)) {
				rc = insp_new_os(in, &os);
				if (rc)
					goto out;
				in->n_os++;
				rc = vmie_insp_linux(&c, i, sv,
						     &in->os[in->n_os - 1]);
			}
		}
		if (rc)
			goto out;
	}
	for (unsigned k = 0; k < in->n_os; k++)
		insp_boot_modes(&c, &in->os[k]);
	in->dual_boot = in->n_os > 1;
out:
	insp_subvols_close(&c);
	for (unsigned i = 0; i < in->n_fs; i++) {
		vmie_fs_close(c.fss ? c.fss[i] : NULL);
		if (c.dev_owned && c.dev_owned[i])
			vmie_image_close(c.devs[i]);
	}
	if (c.lvm) {
		vmie_lvm_free(c.lvm);
		free(c.lvm);
	}
	free(c.devs);
	free(c.dev_owned);
	free(c.fss);
	if (rc) {
		vmie_inspection_free(in);
		return VMIE_ERR(err, rc, "inspect: %s", rc == VMIE_ENOMEM ?
				"out of memory" : vmie_strerror(rc));
	}
	in->seconds = insp_now() - t0;
	*out = in;
	return 0;
}
