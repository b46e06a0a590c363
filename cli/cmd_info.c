/* vmie info [--json] [--check] [-f FMT] IMAGE */
#include "cli.h"
#include "core/util.h"
#include "image/image.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void info_usage(FILE *f)
{
	fprintf(f, "Usage: vmie info [--json] [--check] [-f FORMAT] IMAGE\n"
		"Show an image's format and subformat, its virtual, file and "
		"allocated sizes,\ncluster size, creator and parent; for an "
		"OVA, its disks (docs/cmd-info.md).\n\n"
		"Options:\n"
		"  --json      machine-readable output\n"
		"  --check     walk every table (like qemu-img check)\n"
		"  -f FORMAT   do not probe: raw, vmdk, vhd, vhdx, qcow2, ova\n\n"
		"Exit status:\n"
		"  0  ok\n"
		"  1  an error (the image could not be read)\n"
		"  2  corruption found by --check\n"
		"  3  leaked clusters only, found by --check\n");
}

static void print_text(const char *path, const struct vmie_image_info *in)
{
	char h[64];
	printf("image: %s\n", path);
	printf("file format: %s\n", in->format);
	if (in->subformat[0])
		printf("subformat: %s\n", in->subformat);
	printf("virtual size: %s (%llu bytes)\n",
	       vmie_human_size(h, sizeof h, in->virtual_size),
	       (unsigned long long)in->virtual_size);
	printf("file size: %s (%llu bytes)\n",
	       vmie_human_size(h, sizeof h, in->file_size),
	       (unsigned long long)in->file_size);
	if (in->allocated != UINT64_MAX)
		printf("allocated: %s (%llu bytes)\n",
		       vmie_human_size(h, sizeof h, in->allocated),
		       (unsigned long long)in->allocated);
	if (in->cluster_size)
		printf("cluster size: %u\n", in->cluster_size);
	if (in->creator[0])
		printf("creator: %s\n", in->creator);
	if (in->parent[0])
		printf("parent: %s\n", in->parent);
	for (unsigned i = 0; i < in->n_extra; i++)
		printf("%s: %s\n", in->extra[i].key, in->extra[i].val);
}

static json_t *info_json(const char *path, const struct vmie_image_info *in)
{
	json_t *o = json_object(), *x = json_object();
	json_object_set_new(o, "filename", json_string(path));
	json_object_set_new(o, "format", json_string(in->format));
	json_object_set_new(o, "subformat", json_string(in->subformat));
	json_object_set_new(o, "virtual_size", json_integer((json_int_t)in->virtual_size));
	json_object_set_new(o, "file_size", json_integer((json_int_t)in->file_size));
	json_object_set_new(o, "allocated", in->allocated == UINT64_MAX ? json_null() :
			    json_integer((json_int_t)in->allocated));
	json_object_set_new(o, "cluster_size", json_integer(in->cluster_size));
	json_object_set_new(o, "creator", json_string(in->creator));
	json_object_set_new(o, "parent", in->parent[0] ? json_string(in->parent) : json_null());
	for (unsigned i = 0; i < in->n_extra; i++)
		json_object_set_new(x, in->extra[i].key, json_string(in->extra[i].val));
	json_object_set_new(o, "extra", x);
	return o;
}

int cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool json = false, check = false;
	struct vmie_open_opts oo = { .budget = cli_budget };
	struct vmie_err err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "jcf:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'c': check = true; break;
		case 'f': oo.format = optarg; break;
		case 'h': info_usage(stdout); return 0;
		default: info_usage(stderr); return 1;
		}
	}
	if (optind != argc - 1) {
		info_usage(stderr);
		return 1;
	}
	const char *path = argv[optind];
	if (!oo.format || !strcmp(oo.format, "ova")) {
		int r = cli_info_ova(path, json, check);
		if (r >= 0)
			return r;
	}
	oo.info_only = true;   /* show parents instead of refusing them */
	struct vmie_image *img;
	if (vmie_image_open(path, &oo, &img, &err)) {
		cli_error(&err);
		return 1;
	}
	struct vmie_image_info in;
	int status = 0;
	if (vmie_image_info(img, &in, &err)) {
		cli_error(&err);
		vmie_image_close(img);
		return 1;
	}
	struct vmie_check_result cr;
	int check_rc = 0;
	if (check) {
		check_rc = vmie_image_check(img, &cr, &err);
		if (!check_rc)
			status = cr.corruptions ? 2 : cr.leaks ? 3 : 0;
		else
			status = 1;
	}
	if (json) {
		json_t *o = info_json(path, &in);
		if (check) {
			json_t *ck = json_object(), *msgs = json_array();
			if (check_rc) {
				json_object_set_new(ck, "error", json_string(err.msg));
			} else {
				json_object_set_new(ck, "tables_checked", json_integer((json_int_t)cr.tables_checked));
				json_object_set_new(ck, "corruptions", json_integer((json_int_t)cr.corruptions));
				json_object_set_new(ck, "leaks", json_integer((json_int_t)cr.leaks));
				for (unsigned i = 0; i < cr.n_msgs; i++)
					json_array_append_new(msgs, json_string(cr.msgs[i]));
			}
			json_object_set_new(ck, "messages", msgs);
			json_object_set_new(o, "check", ck);
		}
		cli_print_json(o);
		json_decref(o);
	} else {
		print_text(path, &in);
		if (check && check_rc) {
			cli_error(&err);
		} else if (check) {
			for (unsigned i = 0; i < cr.n_msgs; i++)
				printf("check: %s\n", cr.msgs[i]);
			printf("check: %llu table entries checked, %llu "
			       "corruptions, %llu leaks%s\n",
			       (unsigned long long)cr.tables_checked,
			       (unsigned long long)cr.corruptions,
			       (unsigned long long)cr.leaks,
			       cr.corruptions || cr.leaks ? "" :
			       ": no errors found");
		}
	}
	vmie_image_close(img);
	return status;
}
