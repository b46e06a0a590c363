/* Test helper: parse an OVF descriptor file with vmie_ovf_parse and print
 * what was found in the layout of virt-v2v's --print-source (the lines the
 * virt-v2v-ovf .expected files hold), so tests can compare the two.
 * usage: ovf_dump FILE.ovf      exit 1 (message on stderr) if refused */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "ova/ova.h"

static void ovf_dump_model(const char *s)
{
	for (; *s; s++)
		putchar(tolower((unsigned char)*s));
}

int main(int argc, char **argv)
{
	struct vmie_err err = { 0 };
	struct vmie_ovf *o;
	if (argc != 2) {
		fprintf(stderr, "usage: ovf_dump FILE.ovf\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	size_t cap = 1 << 16, n = 0, k;
	char *buf = malloc(cap);
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		return 2;
	if (vmie_ovf_parse(buf, n, argv[1], &o, &err)) {
		fprintf(stderr, "ovf_dump: %s [%s]\n", err.msg, err.rule);
		free(buf);
		return 1;
	}
	free(buf);
	printf("source name: %s\n", o->name ? o->name : "");
	printf("memory: %llu (bytes)\n", (unsigned long long)o->memory);
	printf("nr vCPUs: %u\n", o->vcpus);
	printf("firmware: %s\n", !o->firmware ? "unknown" :
	       !strcmp(o->firmware, "efi") ? "uefi" : o->firmware);
	printf("disks:\n");
	for (size_t i = 0; i < o->n_disks; i++) {
		printf("\t%zu", i);
		if (o->disks[i].at.bus)
			printf(" [%s]", vmie_ovf_bus_name(o->disks[i].at.bus));
		putchar('\n');
	}
	printf("removable media:\n");
	for (size_t i = 0; i < o->n_removables; i++) {
		const struct vmie_ovf_removable *r = &o->removables[i];
		printf("\t%s", r->kind == VMIE_OVF_CDROM ? "CD-ROM" : "Floppy");
		if (r->at.bus)
			printf(" [%s]", vmie_ovf_bus_name(r->at.bus));
		if (r->at.address_on_parent >= 0)
			printf(" in slot %d", r->at.address_on_parent);
		putchar('\n');
	}
	printf("NICs:\n");
	for (size_t i = 0; i < o->n_nics; i++) {
		const struct vmie_ovf_nic *c = &o->nics[i];
		if (c->connection)
			printf("\tBridge \"%s\"", c->connection);
		else
			printf("\tNetwork \"eth%zu\"", i);
		if (c->subtype) {
			printf(" [");
			ovf_dump_model(c->subtype);
			printf("]");
		}
		putchar('\n');
	}
	/* facts virt-v2v does not print, for the other assertions */
	printf("x-os: %s|%s|%s\n", o->os_id ? o->os_id : "",
	       o->os_type ? o->os_type : "",
	       o->os_description ? o->os_description : "");
	for (size_t i = 0; i < o->n_disks; i++) {
		const struct vmie_ovf_disk *d = &o->disks[i];
		const struct vmie_ovf_file *fl = d->file_index >= 0 ?
			&o->files[d->file_index] : NULL;
		printf("x-disk: %s file=%s size=%llu capacity=%llu "
		       "format=%s ctrl=%s addr=%d unit=%d gzip=%d\n",
		       d->disk_id, fl ? fl->href : "-",
		       fl ? (unsigned long long)fl->size : 0ull,
		       (unsigned long long)d->capacity, d->format_name,
		       d->at.controller_subtype ? d->at.controller_subtype : "-",
		       d->at.controller_address, d->at.address_on_parent,
		       fl && fl->compression ? 1 : 0);
	}
	vmie_ovf_free(o);
	return 0;
}
