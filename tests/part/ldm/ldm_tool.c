/*
 * ldm-tool: what lib/part makes of Windows dynamic disks, for the tests.
 *
 *   ldm-tool scan DISK...        disk groups, volumes, extents, warnings
 *                                (vmie_ldm_scan over all the disks)
 *   ldm-tool pt DISK             one disk's table and LDM summary
 *                                (vmie_ptable_read)
 *   ldm-tool dump VOLUME DISK... the bytes of a volume, to stdout
 *
 * Lines are "kind key=value ..." (values without spaces, or last on the
 * line for error=).  Exit 0, or 2 with "error: ..." on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "part/part.h"

#define MAX_DISKS 16

static void print_volume(const struct vmie_ldm_volume *v)
{
	printf("volume %s type=%s size=%llu hint=%s guid=%s part_type=0x%02x "
	       "stripe=%llu columns=%u plexes=%u extents=%u mask=0x%llx "
	       "dev=%s group=%s error=%s\n", v->name, v->type,
	       (unsigned long long)v->size, v->hint[0] ? v->hint : "-",
	       v->guid, v->part_type, (unsigned long long)v->stripe_size,
	       v->columns, v->n_plexes, v->n_extents,
	       (unsigned long long)v->dev_mask, v->dev ? "yes" : "no",
	       v->group, v->error);
	for (unsigned i = 0; i < v->n_extents; i++) {
		const struct vmie_ldm_extent *e = &v->extents[i];
		printf("extent %s %s disk=%s guid=%s dev=%d start=%llu "
		       "data_off=%llu size=%llu voff=%llu column=%u plex=%u\n",
		       v->name, e->name, e->disk_name, e->disk_guid, e->dev,
		       (unsigned long long)e->start,
		       (unsigned long long)e->data_off,
		       (unsigned long long)e->size,
		       (unsigned long long)e->vol_off, e->column, e->plex);
	}
}

static int open_disks(char **paths, unsigned n, struct vmie_image **d)
{
	for (unsigned i = 0; i < n; i++) {
		struct vmie_err e = { 0 };
		struct vmie_open_opts o = { .format = "raw" };
		if (vmie_image_open(paths[i], &o, &d[i], &e)) {
			fprintf(stderr, "error: %s: %s\n", paths[i], e.msg);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vmie_image *d[MAX_DISKS] = { 0 };
	struct vmie_err e = { 0 };
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *want = NULL;
	char **paths;
	unsigned n;
	int rc = 0;

	if (!strcmp(cmd, "dump") && argc > 3) {
		want = argv[2];
		paths = argv + 3;
		n = (unsigned)argc - 3;
	} else if ((!strcmp(cmd, "scan") || !strcmp(cmd, "pt")) && argc > 2) {
		paths = argv + 2;
		n = (unsigned)argc - 2;
	} else {
		fprintf(stderr, "usage: ldm-tool scan|pt DISK... | dump VOLUME "
			"DISK...\n");
		return 2;
	}
	if (n > MAX_DISKS || open_disks(paths, n, d)) {
		rc = 2;
		goto out;
	}
	if (!strcmp(cmd, "pt")) {
		struct vmie_ptable pt;
		if (vmie_ptable_read(d[0], &pt, &e)) {
			fprintf(stderr, "error: %s\n", e.msg);
			rc = 2;
			goto out;
		}
		printf("pt type=%d ldm=%d parts=%u disk_guid=%s group=%s "
		       "group_guid=%s volumes=%u error=%s\n", pt.type, pt.ldm,
		       pt.n_parts, pt.ldm_disk_guid, pt.ldm_group,
		       pt.ldm_group_guid, pt.n_ldm_volumes, pt.ldm_error);
		for (unsigned i = 0; i < pt.n_ldm_volumes; i++)
			print_volume(&pt.ldm_volumes[i]);
		for (unsigned i = 0; i < pt.n_warnings; i++)
			printf("warning %s\n", pt.warnings[i]);
		vmie_ptable_free(&pt);
		goto out;
	}
	struct vmie_ldm l;
	if (vmie_ldm_scan(d, NULL, n, &l, &e)) {
		fprintf(stderr, "error: %s\n", e.msg);
		rc = 2;
		goto out;
	}
	if (want) {
		const struct vmie_ldm_volume *v = NULL;
		static char buf[1 << 20];
		for (unsigned i = 0; i < l.n_volumes; i++)
			if (!strcmp(l.volumes[i].name, want))
				v = &l.volumes[i];
		if (!v || !v->dev) {
			fprintf(stderr, "error: volume %s %s\n", want,
				v ? v->error : "not found");
			rc = 2;
		}
		for (uint64_t off = 0; !rc && off < v->size;) {
			size_t len = v->size - off < sizeof buf ?
				     (size_t)(v->size - off) : sizeof buf;
			if (vmie_image_pread(v->dev, buf, len, off, &e)) {
				fprintf(stderr, "error: %s\n", e.msg);
				rc = 2;
				break;
			}
			fwrite(buf, 1, len, stdout);
			off += len;
		}
	} else {
		for (unsigned i = 0; i < l.n_groups; i++)
			printf("group %s name=%s seq=%llu disks=%u present=%u\n",
			       l.groups[i].guid, l.groups[i].name,
			       (unsigned long long)l.groups[i].seq,
			       l.groups[i].n_disks, l.groups[i].n_present);
		for (unsigned i = 0; i < l.n_volumes; i++)
			print_volume(&l.volumes[i]);
		for (unsigned i = 0; i < l.n_warnings; i++)
			printf("warning %s\n", l.warnings[i]);
	}
	vmie_ldm_free(&l);
out:
	for (unsigned i = 0; i < n && i < MAX_DISKS; i++)
		vmie_image_close(d[i]);
	return rc;
}
