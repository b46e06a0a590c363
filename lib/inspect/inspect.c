/*
 * vmie_inspect(): what is inside the disks of one VM.
 *
 * For each disk: the partition table (lib/part); for each partition, or
 * the whole disk when there is no table, a file system probe (lib/fs);
 * LVM physical volumes of all disks are assembled together and their
 * logical volumes probed too; so are the volumes of Windows dynamic disks
 * (LDM disk groups), whose container partitions are then not read.
 * Every readable file system is opened and looked at for an operating
 * system root (Linux: linux.c, Windows: windows.c).  Then the VM-wide
 * facts: dual boot, boot modes.
 *
 * Each distinct file system is visited once: every device (partition,
 * logical volume, dynamic-disk volume) is reduced to its layout, the runs
 * of the disks its bytes come from (vmie_image_layout), and a device whose
 * layout equals an earlier one's, or that starts at the same byte of the
 * same disk, is an alias of it: reported (vmie_insp_fs.alias_of) with the
 * earlier one's facts, and neither probed nor opened again.  All reads go
 * through metered devices (a window over each whole disk), so the budget
 * of the disks counts them.
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

#include "core/budget.h"
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

/* What keep_devices keeps: the devices of the fs entries, the LVM state
 * their volumes read through and the whole-disk windows under them
 * (closed in that order). */
struct insp_kept {
	unsigned n;
	struct vmie_image **devs;
	bool *owned;
	int *rep;                 /* alias representative, or -1 */
	struct vmie_lvm *lvm;
	unsigned n_whole;
	struct vmie_image **whole;
};

struct vmie_image *vmie_inspection_device(const struct vmie_inspection *in,
					  unsigned i)
{
	const struct insp_kept *k = in ? in->kept : NULL;
	if (!k || i >= k->n)
		return NULL;
	if (k->rep[i] >= 0 && (unsigned)k->rep[i] < k->n)
		i = (unsigned)k->rep[i];
	return k->devs[i];
}

static void insp_kept_free(struct insp_kept *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++)
		if (k->owned[i])
			vmie_image_close(k->devs[i]);
	if (k->lvm) {
		vmie_lvm_free(k->lvm);
		free(k->lvm);
	}
	for (unsigned d = 0; d < k->n_whole; d++)
		vmie_image_close(k->whole[d]);
	free(k->whole);
	free(k->devs);
	free(k->owned);
	free(k->rep);
	free(k);
}

void vmie_inspection_free(struct vmie_inspection *in)
{
	if (!in)
		return;
	insp_kept_free(in->kept);
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

/* ---- layouts and aliases ---- */

struct insp_alias {
	struct vmie_image *const *disks;   /* the top-level disks */
	unsigned n_disks;
	struct vmie_image **whole;  /* per disk: a metered window over it */
	unsigned cap;
	struct vmie_layout *lay;    /* per fs entry (n == 0: none) */
	int *rep;                   /* per fs entry: the entry it aliases, or
				       -1 */
	/* open addressing, fs index + 1 (0: empty), keyed by the layout
	 * hash and by where byte 0 lies */
	unsigned *by_lay, *by_start;
	unsigned tab_size, tab_used;
	unsigned n_overlap;         /* opened file systems that overlap an
				       earlier one */
	struct vmie_err limit;      /* the first budget refusal (ELIMIT) */
};

/* Keep the first budget refusal: the inspection then fails with it. */
static void insp_limit(struct insp_ctx *c, const struct vmie_err *e)
{
	if (c->alias && e->code == VMIE_ELIMIT && !c->alias->limit.code)
		c->alias->limit = *e;
}

/* Opened file systems that may overlap others (entries that overlap:
 * a corrupt or hostile table); the rest are reported, not opened. */
#define INSP_MAX_OVERLAP 8

static uint64_t insp_start_key(const struct vmie_layout *l)
{
	uint64_t h = (uint64_t)(uintptr_t)l->start_disk * 0x9e3779b97f4a7c15ull;
	h ^= l->start_off + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static void insp_tab_put(struct insp_alias *a, unsigned *tab, uint64_t key,
			 unsigned i)
{
	unsigned m = a->tab_size - 1, k = (unsigned)key & m;
	while (tab[k])
		k = (k + 1) & m;
	tab[k] = i + 1;
}

/* Make room for one more representative in the hash tables. */
static int insp_tab_grow(struct insp_alias *a, unsigned n_fs)
{
	unsigned ns, *nl, *nst;

	if ((a->tab_used + 1) * 2 <= a->tab_size)
		return 0;
	ns = a->tab_size ? a->tab_size * 2 : 64;
	nl = calloc(ns, sizeof *nl);
	nst = calloc(ns, sizeof *nst);
	if (!nl || !nst) {
		free(nl);
		free(nst);
		return VMIE_ENOMEM;
	}
	free(a->by_lay);
	free(a->by_start);
	a->by_lay = nl;
	a->by_start = nst;
	a->tab_size = ns;
	for (unsigned i = 0; i < n_fs; i++) {
		const struct vmie_layout *l = &a->lay[i];
		if (a->rep[i] >= 0 || !l->n)
			continue;
		insp_tab_put(a, a->by_lay, l->hash, i);
		if (l->start_disk)
			insp_tab_put(a, a->by_start, insp_start_key(l), i);
	}
	return 0;
}

/* Entry i has just been added: its layout (given, else computed), and
 * whether it aliases an earlier entry. */
static int insp_alias_check(struct insp_ctx *c, unsigned i,
			    struct vmie_layout *given)
{
	struct insp_alias *a = c->alias;
	struct vmie_insp_fs *f = &c->in->fs[i];
	struct vmie_layout *l = &a->lay[i];
	struct vmie_err e = { 0 };
	unsigned m, k;
	int rc;

	a->rep[i] = -1;
	memset(l, 0, sizeof *l);
	if (given) {
		*l = *given;
		memset(given, 0, sizeof *given);
	} else if (vmie_image_layout(c->devs[i], l, &e)) {
		/* not compared: inspected on its own (and within the budget) */
		insp_limit(c, &e);
		if (e.code != VMIE_ENOMEM)
			return 0;
		return VMIE_ENOMEM;
	}
	if (!l->n)
		return 0;
	if (a->tab_size) {
		m = a->tab_size - 1;
		for (k = (unsigned)l->hash & m; a->by_lay[k]; k = (k + 1) & m) {
			unsigned j = a->by_lay[k] - 1;
			if (vmie_layout_equal(&a->lay[j], l)) {
				a->rep[i] = (int)j;
				f->alias_exact = true;
				break;
			}
		}
		if (a->rep[i] < 0 && l->start_disk)
			for (k = (unsigned)insp_start_key(l) & m; a->by_start[k];
			     k = (k + 1) & m) {
				unsigned j = a->by_start[k] - 1;
				if (a->lay[j].start_disk == l->start_disk &&
				    a->lay[j].start_off == l->start_off) {
					a->rep[i] = (int)j;
					break;
				}
			}
	}
	if (a->rep[i] >= 0) {
		vmie_strlcpy(f->alias_of, c->in->fs[a->rep[i]].device,
			     sizeof f->alias_of);
		c->in->n_aliases++;
		vmie_layout_free(l);    /* the representative's is kept */
		return 0;
	}
	rc = insp_tab_grow(a, i);
	if (rc)
		return rc;
	insp_tab_put(a, a->by_lay, l->hash, i);
	if (l->start_disk)
		insp_tab_put(a, a->by_start, insp_start_key(l), i);
	a->tab_used++;
	return 0;
}

/* The entry fs entry i aliases, or -1. */
static int insp_alias_rep(const struct insp_ctx *c, unsigned i)
{
	return c->alias && i < c->in->n_fs ? c->alias->rep[i] : -1;
}

/* The disks (bit d: disks[d]) that layout l reads. */
static uint64_t insp_layout_disks(const struct insp_ctx *c,
				  const struct vmie_layout *l)
{
	uint64_t mask = 0;
	for (unsigned k = 0; k < l->n; k++)
		for (unsigned d = 0; l->r[k].disk && d < c->alias->n_disks &&
		     d < 64; d++)
			if (l->r[k].disk == c->alias->disks[d])
				mask |= (uint64_t)1 << d;
	return mask;
}

/* Probe entry i, or copy the probe of the entry it aliases. */
static void insp_probe(struct insp_ctx *c, unsigned i)
{
	int j = insp_alias_rep(c, i);
	if (j >= 0)
		c->in->fs[i].probe = c->in->fs[j].probe;
	else
		vmie_fs_probe(c->devs[i], &c->in->fs[i].probe);
}

/* An alias repeats what was found on the entry it aliases. */
static void insp_alias_copy(struct insp_ctx *c, unsigned i)
{
	struct vmie_insp_fs *f = &c->in->fs[i];
	const struct vmie_insp_fs *g;
	int j = insp_alias_rep(c, i);

	if (j < 0)
		return;
	g = &c->in->fs[j];
	f->probe = g->probe;
	f->opened = g->opened;
	if (!f->error[0])
		vmie_strlcpy(f->error, g->error, sizeof f->error);
	f->n_subvolumes = g->n_subvolumes;
	f->subvolumes_unknown = g->subvolumes_unknown;
	vmie_strlcpy(f->subvolume_paths, g->subvolume_paths,
		     sizeof f->subvolume_paths);
	vmie_strlcpy(f->default_subvolume, g->default_subvolume,
		     sizeof f->default_subvolume);
	vmie_strlcpy(f->journal, g->journal, sizeof f->journal);
	f->journal_transactions = g->journal_transactions;
	f->journal_blocks = g->journal_blocks;
	f->journal_untrusted = g->journal_untrusted;
	vmie_strlcpy(f->journal_problem, g->journal_problem,
		     sizeof f->journal_problem);
	f->dirty = g->dirty;
	f->hibernated = g->hibernated;
}

/* Does entry i share bytes with an entry opened before it?  Then *j is
 * that one.  Each pair of pieces compared draws on the budget. */
static bool insp_overlaps(struct insp_ctx *c, unsigned i, unsigned *j)
{
	const struct insp_alias *a = c->alias;
	const struct vmie_layout *li = &a->lay[i];
	struct vmie_err e = { 0 };

	for (unsigned k = 0; k < i && li->n; k++) {
		const struct vmie_layout *lk = &a->lay[k];
		if (!c->fss[k] || !lk->n)
			continue;
		if (vmie_budget_entries(c->devs[i]->budget,
					(uint64_t)li->n * lk->n,
					"inspect: overlapping volumes", &e))
			return false;   /* the budget is spent: reads fail */
		for (unsigned x = 0; x < li->n; x++) {
			const struct vmie_layout_rec *p = &li->r[x];
			if (!p->disk)
				continue;
			for (unsigned y = 0; y < lk->n; y++) {
				const struct vmie_layout_rec *q = &lk->r[y];
				if (q->disk == p->disk && p->off < q->off + q->len &&
				    q->off < p->off + p->len) {
					*j = k;
					return true;
				}
			}
		}
	}
	return false;
}

static void insp_alias_free(struct insp_ctx *c, unsigned n_fs)
{
	struct insp_alias *a = c->alias;
	if (!a)
		return;
	for (unsigned i = 0; i < n_fs && a->lay; i++)
		vmie_layout_free(&a->lay[i]);
	free(a->lay);
	free(a->rep);
	free(a->by_lay);
	free(a->by_start);
	for (unsigned d = 0; a->whole && d < a->n_disks; d++)
		vmie_image_close(a->whole[d]);
	free(a->whole);
	free(a);
	c->alias = NULL;
}

/* ---- the file system list ---- */

static int insp_add_fs(struct insp_ctx *c, struct vmie_image *dev,
		       bool owned, int disk, int part, const char *lv,
		       const char *device, struct vmie_layout *lay)
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
		a = realloc(c->alias->lay, nc * sizeof *c->alias->lay);
		if (!a)
			return VMIE_ENOMEM;
		c->alias->lay = a;
		a = realloc(c->alias->rep, nc * sizeof *c->alias->rep);
		if (!a)
			return VMIE_ENOMEM;
		c->alias->rep = a;
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
	memset(&c->alias->lay[in->n_fs], 0, sizeof *c->alias->lay);
	c->alias->rep[in->n_fs] = -1;
	in->n_fs++;
	return insp_alias_check(c, in->n_fs - 1, lay);
}

struct vmie_fs *insp_fs(struct insp_ctx *c, unsigned i)
{
	int j = insp_alias_rep(c, i);
	if (j >= 0)
		i = (unsigned)j;        /* an alias reads as what it aliases */
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

	if (f->error[0] || insp_alias_rep(c, i) >= 0)
		return;         /* set aside (an LDM container), an alias */
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
	unsigned over;
	if (insp_overlaps(c, i, &over)) {
		if (++c->alias->n_overlap > INSP_MAX_OVERLAP) {
			vmie_insp_fmt(f->error, sizeof f->error, "overlaps %s: "
				      "not inspected (more than %u file "
				      "systems overlap others)",
				      c->in->fs[over].device, INSP_MAX_OVERLAP);
			return;
		}
		if (c->alias->n_overlap == 1)
			insp_warn(c->in, "%s overlaps %s: the table's entries "
				  "share bytes", f->device, c->in->fs[over].device);
	}
	if (vmie_fs_open(c->devs[i], &fs, &e)) {
		insp_limit(c, &e);
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
		f->journal_untrusted = j.untrusted;
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

/* Scan one disk: table, then a device per partition (or the disk).  All
 * of it is read through a metered window over the whole disk. */
static int insp_disk(struct insp_ctx *c, unsigned d, struct vmie_image *disk_img)
{
	struct vmie_insp_disk *disk = &c->in->disks[d];
	struct vmie_err e = { 0 };
	struct vmie_image *img;
	char name[64];
	int rc;

	vmie_insp_fmt(name, sizeof name, "disk%u", d);
	if (vmie_image_window(disk_img, 0, disk_img->size, name,
			      &c->alias->whole[d], &e))
		return e.code == VMIE_ENOMEM ? VMIE_ENOMEM : VMIE_EINVAL;
	img = c->alias->whole[d];
	if (vmie_ptable_read(img, &disk->pt, &e)) {
		insp_limit(c, &e);
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
		return insp_add_fs(c, img, false, (int)d, 0, NULL, name, NULL);
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
				 name, NULL);
		if (rc) {
			vmie_image_close(w);
			return rc;
		}
	}
	return 0;
}

static int insp_lvm(struct insp_ctx *c)
{
	struct vmie_inspection *in = c->in;
	struct vmie_image **pvs = NULL;
	unsigned npv = 0, n_fs = in->n_fs;
	int one_disk = -2, rc = 0;
	struct vmie_err e = { 0 };

	pvs = calloc(n_fs ? n_fs : 1, sizeof *pvs);
	if (!pvs) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n_fs; i++) {
		if (insp_alias_rep(c, i) >= 0)
			continue;       /* the PV is scanned once */
		if (strcmp(in->fs[i].probe.type, "LVM2_member") &&
		    !(!in->fs[i].probe.type[0] && vmie_lvm_is_pv(c->devs[i])))
			continue;
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
		insp_limit(c, &e);
		insp_warn(in, "LVM: %s", e.msg);
		goto out;
	}
	for (unsigned k = 0; k < c->lvm->n_warnings; k++)
		insp_warn(in, "LVM: %s", c->lvm->warnings[k]);
	in->n_lvs = c->lvm->n_lvs;
	for (unsigned k = 0; k < c->lvm->n_lvs; k++) {
		struct vmie_lvm_lv *lv = &c->lvm->lvs[k];
		struct vmie_layout lay = { 0 };
		char lvname[260], dev[160];
		int disk = one_disk;
		uint64_t mask = 0;
		vmie_insp_fmt(lvname, sizeof lvname, "%s/%s", lv->vg, lv->name);
		if (!lv->dev) {
			insp_warn(in, "LVM %s: %s", lvname, lv->error);
			continue;
		}
		/* the disks it has extents on, from where its bytes lie */
		vmie_err_clear(&e);
		if (!vmie_image_layout(lv->dev, &lay, &e))
			mask = insp_layout_disks(c, &lay);
		else
			insp_limit(c, &e);
		if (e.code == VMIE_ENOMEM) {
			rc = VMIE_ENOMEM;
			goto out;
		}
		/* on one disk only: that disk */
		if (disk < 0 && mask && !(mask & (mask - 1)))
			for (disk = 0; !(mask & (uint64_t)1 << disk); disk++)
				;
		if (disk >= 0)
			vmie_insp_fmt(dev, sizeof dev, "disk%d:%s", disk, lvname);
		else
			vmie_insp_fmt(dev, sizeof dev, "lvm:%s", lvname);
		rc = insp_add_fs(c, lv->dev, false, disk, -1, lvname, dev,
				 lay.n ? &lay : NULL);
		vmie_layout_free(&lay);
		if (rc)
			goto out;
		if (disk < 0)
			in->fs[in->n_fs - 1].disk_mask = mask;
		insp_probe(c, in->n_fs - 1);
	}
out:
	free(pvs);
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
		insp_limit(c, &e);
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
		rc = insp_add_fs(c, v->dev, true, disk, -1, NULL, dev, NULL);
		if (rc) {
			if (in->n_fs && c->devs[in->n_fs - 1] == v->dev)
				v->dev = NULL;  /* closed with the others */
			goto out;
		}
		v->dev = NULL;          /* closed with the other devices */
		in->fs[in->n_fs - 1].disk_mask = mask;
		insp_probe(c, in->n_fs - 1);
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
		/* on a GPT disk both mean: BIOS after GPT-to-MBR */
		os->can_bios = os->bootmgr_bios || os->bios_after_mbr;
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
	c.alias = calloc(1, sizeof *c.alias);
	if (!c.alias || !(c.alias->whole = calloc(n, sizeof *c.alias->whole))) {
		rc = VMIE_ENOMEM;
		goto out;
	}
	c.alias->disks = disks;
	c.alias->n_disks = n;
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
		insp_probe(&c, i);
	rc = insp_lvm(&c);
	if (rc)
		goto out;
	rc = insp_ldm(&c, c.alias->whole);
	if (rc)
		goto out;
	for (unsigned i = 0; i < in->n_fs; i++)
		insp_open_fs(&c, i);
	for (unsigned i = 0; i < in->n_fs; i++)
		insp_alias_copy(&c, i);

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
	/* A budget that ran out leaves the facts partial: the inspection
	 * fails with the first refusal (FMT-005), or with the counter that
	 * is over its limit when a reader swallowed the refusal. */
	if (!c.alias->limit.code)
		for (unsigned d = 0; d < n; d++) {
			struct vmie_budget *b = disks[d]->budget;
			for (int k = 0; b && k < VMIE_BUDGET_N; k++)
				if (k != VMIE_BUDGET_MEM && b->limit[k] &&
				    vmie_budget_used(b, k) > b->limit[k]) {
					vmie_budget_draw(b, k, 0, "inspect",
							 &c.alias->limit);
					break;
				}
			if (c.alias->limit.code)
				break;
		}
	if (c.alias->limit.code)
		rc = VMIE_ELIMIT;
	if (!rc && c.o->keep_devices) {
		/* hand the devices to the result: nothing below closes them */
		struct insp_kept *k = calloc(1, sizeof *k);
		unsigned nf = in->n_fs ? in->n_fs : 1;
		if (!k || !(k->rep = calloc(nf, sizeof *k->rep))) {
			free(k);
			rc = VMIE_ENOMEM;
			goto out;
		}
		for (unsigned i = 0; i < in->n_fs; i++)
			k->rep[i] = insp_alias_rep(&c, i);
		k->n = in->n_fs;
		k->devs = c.devs;
		k->owned = c.dev_owned;
		k->lvm = c.lvm;
		k->n_whole = c.alias->n_disks;
		k->whole = c.alias->whole;
		c.dev_owned = NULL;       /* the loop below closes none */
		c.devs = NULL;
		c.lvm = NULL;
		c.alias->whole = NULL;
		for (unsigned i = 0; i < in->n_fs; i++) {
			vmie_fs_close(c.fss[i]);
			c.fss[i] = NULL;
		}
		in->kept = k;
	}
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
	if (rc == VMIE_ELIMIT && c.alias && c.alias->limit.code) {
		if (err)
			*err = c.alias->limit;
	} else if (rc) {
		VMIE_ERR(err, rc, "inspect: %s", rc == VMIE_ENOMEM ?
			 "out of memory" : vmie_strerror(rc));
	}
	insp_alias_free(&c, in->n_fs);    /* the whole-disk windows last */
	if (rc) {
		vmie_inspection_free(in);
		return rc;
	}
	in->seconds = insp_now() - t0;
	*out = in;
	return 0;
}
