/*
 * part-tool: a test helper that prints what lib/part reads, in a line
 * format the shell tests compare with sfdisk --json, blkid and lvs.
 *
 *   part-tool pt IMG            the partition table:
 *       table <dos|gpt|none> <id> <sector_size>
 *       flags key=value ...
 *       part <n> <start> <size> <type> <uuid> <bootable> <kind> <name>
 *          (start and size in sectors; type: MBR hex byte or GPT GUID)
 *       warn <text>
 *   part-tool pcat N IMG        partition N's bytes to stdout (window)
 *   part-tool lvm IMG...        VGs and LVs over all disks (partitions or
 *                               whole disks):
 *       vg <name>
 *       lv <vg>/<name> <size> <segtype> <ok|error text>
 *       warn <text>
 *   part-tool lvcat VG/LV IMG...  the LV's bytes to stdout
 * Exit status 0, or 1 with "error: <message>" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "part/part.h"

#define MAX_DISKS 8

static int die(const struct vmie_err *e)
{
	fprintf(stderr, "error: %s\n", e->msg);
	return 1;
}

static int open_raw(const char *path, struct vmie_image **img,
		    struct vmie_err *e)
{
	struct vmie_open_opts o = { .format = "raw" };
	return vmie_image_open(path, &o, img, e);
}

static void print_pt(const struct vmie_ptable *pt)
{
	uint32_t ss = pt->sector_size;
	if (pt->type == VMIE_PT_GPT)
		printf("table gpt %s %u\n", pt->gpt_disk_guid, ss);
	else if (pt->type == VMIE_PT_MBR)
		printf("table dos %08x %u\n", pt->mbr_disk_id, ss);
	else
		printf("table none - %u\n", ss);
	printf("flags sig=%d bootcode=%d loader=%s n_primary=%u ldm=%d "
	       "protective=%d hybrid=%d primary_ok=%d backup_ok=%d\n",
	       pt->mbr_signature, pt->mbr_boot_code,
	       pt->boot_code[0] ? pt->boot_code : "-", pt->n_primary, pt->ldm,
	       pt->protective_mbr, pt->hybrid_mbr, pt->gpt_primary_ok,
	       pt->gpt_backup_ok);
	for (unsigned i = 0; i < pt->n_parts; i++) {
		const struct vmie_partition *p = &pt->parts[i];
		char type[40];
		if (pt->type == VMIE_PT_GPT)
			snprintf(type, sizeof type, "%s", p->type_guid);
		else
			snprintf(type, sizeof type, "%x", p->mbr_type);
		printf("part %u %llu %llu %s %s %d %s %s\n", p->number,
		       (unsigned long long)(p->start / ss),
		       (unsigned long long)(p->size / ss), type,
		       p->part_guid[0] ? p->part_guid : "-", p->bootable,
		       p->kind, p->name[0] ? p->name : "-");
	}
	for (unsigned i = 0; i < pt->n_warnings; i++)
		printf("warn %s\n", pt->warnings[i]);
}

/* Open disks, read their tables and collect the devices to scan. */
struct disks {
	unsigned n, n_devs;
	struct vmie_image *disk[MAX_DISKS];
	struct vmie_ptable pt[MAX_DISKS];
	struct vmie_image *devs[MAX_DISKS * 64];
};

static void disks_free(struct disks *d)
{
	for (unsigned i = 0; i < d->n_devs; i++) {
		bool is_disk = false;
		for (unsigned k = 0; k < d->n; k++)
			is_disk |= d->devs[i] == d->disk[k];
		if (!is_disk)
			vmie_image_close(d->devs[i]);
	}
	for (unsigned k = 0; k < d->n; k++) {
		vmie_ptable_free(&d->pt[k]);
		vmie_image_close(d->disk[k]);
	}
}

static int disks_open(struct disks *d, char **paths, int n,
		      struct vmie_err *e)
{
	memset(d, 0, sizeof *d);
	for (int i = 0; i < n && i < MAX_DISKS; i++) {
		int r = open_raw(paths[i], &d->disk[d->n], e);
		if (r)
			return r;
		d->n++;
		r = vmie_ptable_read(d->disk[i], &d->pt[i], e);
		if (r)
			return r;
		if (!d->pt[i].n_parts) {
			d->devs[d->n_devs++] = d->disk[i];
			continue;
		}
		for (unsigned k = 0; k < d->pt[i].n_parts && k < 64; k++) {
			const struct vmie_partition *p = &d->pt[i].parts[k];
			char name[64];
			if (p->extended)
				continue;
			snprintf(name, sizeof name, "disk%dp%u", i, p->number);
			if (vmie_image_window(d->disk[i], p->start, p->size,
					      name, &d->devs[d->n_devs], e))
				continue;   /* past the end: skip it */
			d->n_devs++;
		}
	}
	return 0;
}

static int copy_out(struct vmie_image *img, struct vmie_err *e)
{
	static char buf[1 << 20];
	for (uint64_t off = 0; off < img->size;) {
		size_t n = img->size - off < sizeof buf ?
			   (size_t)(img->size - off) : sizeof buf;
		if (vmie_image_pread(img, buf, n, off, e))
			return 1;
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		off += n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vmie_err e = { 0 };
	int rc = 0;
	if (argc >= 3 && !strcmp(argv[1], "pt")) {
		struct vmie_image *img;
		struct vmie_ptable pt;
		if (open_raw(argv[2], &img, &e))
			return die(&e);
		if (vmie_ptable_read(img, &pt, &e)) {
			vmie_image_close(img);
			return die(&e);
		}
		print_pt(&pt);
		vmie_ptable_free(&pt);
		vmie_image_close(img);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "pcat")) {
		struct vmie_image *img, *w = NULL;
		struct vmie_ptable pt;
		unsigned n = (unsigned)atoi(argv[2]);
		if (open_raw(argv[3], &img, &e))
			return die(&e);
		if (vmie_ptable_read(img, &pt, &e)) {
			vmie_image_close(img);
			return die(&e);
		}
		for (unsigned i = 0; i < pt.n_parts; i++)
			if (pt.parts[i].number == n &&
			    vmie_image_window(img, pt.parts[i].start,
					      pt.parts[i].size, NULL, &w, &e))
				rc = die(&e);
		if (!rc && !w) {
			fprintf(stderr, "error: no partition %u\n", n);
			rc = 1;
		}
		if (w && copy_out(w, &e))
			rc = die(&e);
		vmie_image_close(w);
		vmie_ptable_free(&pt);
		vmie_image_close(img);
		return rc;
	}
	if (argc >= 3 && (!strcmp(argv[1], "lvm") ||
			  (!strcmp(argv[1], "lvcat") && argc >= 4))) {
		bool cat = !strcmp(argv[1], "lvcat");
		struct disks *d = calloc(1, sizeof *d);
		struct vmie_lvm l = { 0 };
		int first = cat ? 3 : 2;
		bool found = false;
		if (!d)
			return 1;
		if (disks_open(d, argv + first, argc - first, &e) ||
		    vmie_lvm_scan(d->devs, d->n_devs, &l, &e)) {
			for (unsigned i = 0; i < l.n_warnings; i++)
				fprintf(stderr, "warn %s\n", l.warnings[i]);
			rc = die(&e);
			goto lvm_out;
		}
		for (unsigned i = 0; i < l.n_lvs && !cat; i++) {
			if (i == 0)
				for (unsigned k = 0; k < l.n_vgs; k++)
					printf("vg %s\n", l.vgs[k]);
			printf("lv %s/%s %llu %s %s\n", l.lvs[i].vg,
			       l.lvs[i].name,
			       (unsigned long long)l.lvs[i].size,
			       l.lvs[i].segtype,
			       l.lvs[i].dev ? "ok" : l.lvs[i].error);
		}
		if (!cat && !l.n_lvs)
			for (unsigned k = 0; k < l.n_vgs; k++)
				printf("vg %s\n", l.vgs[k]);
		for (unsigned i = 0; i < l.n_warnings && !cat; i++)
			printf("warn %s\n", l.warnings[i]);
		for (unsigned i = 0; i < l.n_lvs && cat; i++) {
			char name[260];
			snprintf(name, sizeof name, "%s/%s", l.lvs[i].vg,
				 l.lvs[i].name);
			if (strcmp(name, argv[2]))
				continue;
			found = true;
			if (!l.lvs[i].dev) {
				fprintf(stderr, "error: %s\n", l.lvs[i].error);
				rc = 1;
			} else if (copy_out(l.lvs[i].dev, &e)) {
				rc = die(&e);
			}
		}
		if (cat && !found) {
			fprintf(stderr, "error: no LV %s\n", argv[2]);
			rc = 1;
		}
lvm_out:
		vmie_lvm_free(&l);
		disks_free(d);
		free(d);
		return rc;
	}
	fprintf(stderr, "usage: part-tool pt IMG | pcat N IMG | lvm IMG... | "
		"lvcat VG/LV IMG...\n");
	return 2;
}
