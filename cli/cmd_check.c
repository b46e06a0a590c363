/* vmie check: the import preflight.  Opens the disks of one VM (several
 * images, boot disk first, or one OVA with all its disks), inspects them,
 * and evaluates every rule of a policy (lib/rules, docs/cmd-check.md).
 *
 * A disk that the image layer refuses by rule (SEsparse FMT-002, RDM
 * FMT-003, differencing FMT-004, corrupt FMT-005, not an import format
 * FMT-001) is a verdict, not an error: the report says which rule fails.
 * Exit status: 0 the import would pass, 1 it would fail, 2 the check could
 * not run (missing or unreadable file, bad options, bad policy). */
#include "cli.h"
#include "core/endian.h"
#include "core/util.h"
#include "image/image.h"
#include "inspect/inspect.h"
#include "io/io.h"
#include "ova/ova.h"
#include "rules/rules.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: vmie check [OPTIONS] IMAGE...\n"
		"  IMAGE...                 the disks of one VM (boot disk first), or one OVA\n"
		"  --policy NAME|FILE       aws-current (default), aws-legacy, or a policy file\n"
		"  --boot-mode MODE         legacy-bios | uefi\n"
		"  --license-type TYPE      AWS | BYOL (default: Auto)\n"
		"  --platform P             Windows | Linux\n"
		"  --architecture A         x86_64 | i386 | arm64\n"
		"  --encrypted              the import asks for encrypted snapshots\n"
		"  --license-configuration  a license configuration is given\n"
		"  --snapshot               importing from an EBS snapshot\n"
		"  --usage-operation OP     e.g. RunInstances:0002\n"
		"  --manifest               an import manifest is given (disks > threshold)\n"
		"  --non-default-region     the target region is an opt-in region\n"
		"  --verify-manifest        OVA: check every digest of its manifest (reads\n"
		"                           the whole OVA; a mismatch fails FMT-005)\n"
		"  --quick                  walk the tables but do not read the data (the\n"
		"                           report then says the data was not read)\n"
		"  --json                   machine-readable report (docs/check-json.md)\n"
		"  --all                    also list rules that pass or do not apply\n"
		"exit: 0 the import would pass, 1 it would fail, 2 the check could not run\n");
}

/* The disks of the VM being checked: one vmie_check_input per disk (the
 * rules see refused disks too), and the images that opened (inspected).
 * The rules index inputs by inspection disk number (the boot disk's format
 * for BOOT-006, FS-004, BOOT-008), so vm_order() puts the inputs of the
 * inspected disks first, in order, and the refused ones after them. */
struct check_vm {
	unsigned n, cap;                 /* inputs */
	struct vmie_check_input *inputs;
	char **in_names;                 /* path (or "x.ova:member") per input */
	int *in_img;                     /* image index per input, -1 refused */
	unsigned n_img;                  /* opened images, in input order */
	struct vmie_image **imgs;
	char **names;
	struct vmie_ova *ova;            /* when the VM is an OVA */
	struct vmie_verify_result *vr;   /* per input (after vm_order) */
	bool quick;                      /* --quick: tables only */
};

static struct vmie_check_input *vm_add(struct check_vm *vm, const char *name)
{
	if (vm->n == vm->cap) {
		unsigned ncap = vm->cap ? vm->cap * 2 : 8;
		void *a = realloc(vm->inputs, ncap * sizeof *vm->inputs);
		if (!a)
			return NULL;
		vm->inputs = a;
		a = realloc(vm->imgs, ncap * sizeof *vm->imgs);
		if (!a)
			return NULL;
		vm->imgs = a;
		a = realloc(vm->names, ncap * sizeof *vm->names);
		if (!a)
			return NULL;
		vm->names = a;
		a = realloc(vm->in_names, ncap * sizeof *vm->in_names);
		if (!a)
			return NULL;
		vm->in_names = a;
		a = realloc(vm->in_img, ncap * sizeof *vm->in_img);
		if (!a)
			return NULL;
		vm->in_img = a;
		vm->cap = ncap;
	}
	if (!(vm->in_names[vm->n] = strdup(name)))
		return NULL;
	vm->in_img[vm->n] = -1;
	struct vmie_check_input *ci = &vm->inputs[vm->n++];
	memset(ci, 0, sizeof *ci);
	return ci;
}

/* Record the image of the last input (inspected as disk vm->n_img). */
static int vm_add_image(struct check_vm *vm, struct vmie_image *img)
{
	vm->imgs[vm->n_img] = img;
	vm->names[vm->n_img] = strdup(vm->in_names[vm->n - 1]);
	if (!vm->names[vm->n_img]) {
		vmie_image_close(img);
		cli_errorf("out of memory");
		return -1;
	}
	vm->in_img[vm->n - 1] = (int)vm->n_img++;
	return 0;
}

/* Inspected inputs first (input i of the rules is inspection disk i), the
 * refused ones after them; each group keeps the order given. */
static int vm_order(struct check_vm *vm)
{
	struct vmie_check_input *in = malloc((vm->n ? vm->n : 1) * sizeof *in);
	char **nm = malloc((vm->n ? vm->n : 1) * sizeof *nm);
	int *im = malloc((vm->n ? vm->n : 1) * sizeof *im);
	unsigned k = 0;
	if (!in || !nm || !im) {
		free(in), free(nm), free(im);
		cli_errorf("out of memory");
		return -1;
	}
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < vm->n; i++)
			if ((vm->in_img[i] >= 0) == !pass) {
				in[k] = vm->inputs[i];
				nm[k] = vm->in_names[i];
				im[k++] = vm->in_img[i];
			}
	memcpy(vm->inputs, in, vm->n * sizeof *in);
	memcpy(vm->in_names, nm, vm->n * sizeof *nm);
	memcpy(vm->in_img, im, vm->n * sizeof *im);
	free(in), free(nm), free(im);
	return 0;
}

static void vm_free(struct check_vm *vm)
{
	for (unsigned i = 0; i < vm->n_img; i++) {
		vmie_image_close(vm->imgs[i]);
		free(vm->names[i]);
	}
	for (unsigned i = 0; i < vm->n; i++)
		free(vm->in_names[i]);
	free(vm->imgs);
	free(vm->names);
	free(vm->in_names);
	free(vm->in_img);
	free(vm->inputs);
	free(vm->vr);
	vmie_ova_close(vm->ova);
}

/* Record a refusal by rule as the input's verdict material. */
static void input_refused(struct vmie_check_input *ci, const char *format,
			  const struct vmie_err *err)
{
	if (format && !ci->format[0])
		vmie_strlcpy(ci->format, format, sizeof ci->format);
	vmie_strlcpy(ci->open_error, err->msg, sizeof ci->open_error);
	vmie_strlcpy(ci->open_rule, err->rule, sizeof ci->open_rule);
}

/* Open one image file as one disk.  Returns 0 (the disk is an input, opened
 * or refused by rule) or -1 (the check cannot run: message printed). */
static int open_disk(struct check_vm *vm, const char *path,
		     struct vmie_src *src)
{
	struct vmie_err err = { 0 };
	struct vmie_image *img = NULL;
	struct vmie_check_input *ci = vm_add(vm, path);
	char fmt[16] = "";
	const char *what;

	if (!ci) {
		cli_errorf("out of memory");
		return -1;
	}
	if (vmie_image_open_src(src, NULL, &img, &err)) {
		if (!err.rule[0]) {
			cli_error(&err);
			return -1;
		}
		/* name the refused format in FMT-001's list */
		if (!strcmp(err.rule, "FMT-001")) {
			input_refused(ci, vmie_image_refused_format(src, fmt, sizeof fmt) ?
				      fmt : "unrecognised", &err);
		} else {
			const struct vmie_image_driver *d = vmie_image_probe(src, NULL);
			input_refused(ci, d ? d->name : NULL, &err);
		}
		return 0;
	}
	if (!strcmp(img->drv->name, "raw") &&
	    (what = vmie_image_refused_format(src, fmt, sizeof fmt))) {
		snprintf(err.msg, sizeof err.msg, "%s: looks like %s, which is "
			 "not an import format", path, what);
		vmie_strlcpy(err.rule, "FMT-001", sizeof err.rule);
		input_refused(ci, fmt, &err);
		vmie_image_close(img);
		return 0;
	}
	vmie_strlcpy(ci->format, img->drv->name, sizeof ci->format);
	vmie_strlcpy(ci->subformat, img->subformat, sizeof ci->subformat);
	ci->virtual_size = img->size;
	return vm_add_image(vm, img);
}

/* --verify-manifest: stream every member of the OVA through its manifest
 * digest.  A mismatch is FMT-005 on the disk whose file it names (the disk
 * is still inspected: its data can be read, it is just not what was
 * exported), or on the first disk when it names the descriptor.  Returns 0
 * or -1 (message printed). */
static int verify_ova(struct check_vm *vm, unsigned first)
{
	const struct vmie_ovf *ovf = vm->ova->ovf;
	struct vmie_ova_verify v;
	struct vmie_err err = { 0 };
	unsigned at = first;

	if (!vmie_ova_verify_manifest(vm->ova, &v, &cli_interrupted, &err))
		return 0;
	if (!err.rule[0] || first >= vm->n) {
		cli_error(&err);
		return -1;
	}
	for (size_t i = 0; i < ovf->n_disks && first + i < vm->n; i++) {
		const struct vmie_ovf_disk *dk = &ovf->disks[i];
		char q[300];
		if (dk->file_index < 0)
			continue;
		snprintf(q, sizeof q, "'%s'", ovf->files[dk->file_index].href);
		if (strstr(err.msg, q)) {
			at = first + (unsigned)i;
			break;
		}
	}
	if (!vm->inputs[at].open_rule[0])
		input_refused(&vm->inputs[at], NULL, &err);
	return 0;
}

/* Open an OVA as the whole VM: every disk of its OVF.  Returns 0 or -1
 * (message printed). */
static int open_ova(struct check_vm *vm, const char *path,
		    struct vmie_src *src, bool verify)
{
	struct vmie_err err = { 0 };
	struct vmie_check_input *ci;

	if (vmie_ova_open_src(src, &vm->ova, &err)) {
		if (!err.rule[0]) {
			cli_error(&err);
			return -1;
		}
		/* a broken or unsupported OVA: one input refused by rule */
		if (!(ci = vm_add(vm, path))) {
			cli_errorf("out of memory");
			return -1;
		}
		input_refused(ci, "ova", &err);
		return 0;
	}
	const struct vmie_ovf *ovf = vm->ova->ovf;
	unsigned first = vm->n;
	if (!ovf->n_disks) {
		if (!(ci = vm_add(vm, path))) {
			cli_errorf("out of memory");
			return -1;
		}
		snprintf(err.msg, sizeof err.msg, "%s: the OVF describes no "
			 "disks", path);
		vmie_strlcpy(err.rule, "FMT-001", sizeof err.rule);
		input_refused(ci, "ova", &err);
		return 0;
	}
	for (size_t i = 0; i < ovf->n_disks; i++) {
		const struct vmie_ovf_disk *dk = &ovf->disks[i];
		const char *member = dk->file_index >= 0 ?
			ovf->files[dk->file_index].href : dk->disk_id;
		struct vmie_image *img = NULL;
		char name[512];

		snprintf(name, sizeof name, "%s:%s", path, member ? member : "?");
		if (!(ci = vm_add(vm, name))) {
			cli_errorf("out of memory");
			return -1;
		}
		vmie_err_clear(&err);
		if (vmie_ova_open_disk(vm->ova, i, NULL, &img, &err)) {
			if (!err.rule[0]) {
				cli_error(&err);
				return -1;
			}
			input_refused(ci, !strcmp(err.rule, "FMT-001") ?
				      "unrecognised" : NULL, &err);
			continue;
		}
		vmie_strlcpy(ci->format, img->drv->name, sizeof ci->format);
		vmie_strlcpy(ci->subformat, img->subformat,
			     sizeof ci->subformat);
		ci->virtual_size = img->size;
		if (vm_add_image(vm, img))
			return -1;
	}
	return verify ? verify_ova(vm, first) : 0;
}

/* Verify every disk that opened as convert will read it (tables, then,
 * unless --quick, every data range; lib/image/verify.c).  A failure by
 * rule (corrupt table or data, budget exceeded: FMT-005) becomes the
 * disk's FMT-005 verdict with the message as evidence; the disk is still
 * inspected.  Returns 0 or -1 (the check cannot run: message printed). */
static int verify_disks(struct check_vm *vm)
{
	struct vmie_verify_opts vo = { .quick = vm->quick,
				       .cancel = &cli_interrupted };
	vm->vr = calloc(vm->n ? vm->n : 1, sizeof *vm->vr);
	if (!vm->vr) {
		cli_errorf("out of memory");
		return -1;
	}
	for (unsigned i = 0; i < vm->n; i++) {
		struct vmie_err err = { 0 };
		if (vm->in_img[i] < 0 || vm->inputs[i].open_rule[0])
			continue;
		if (!vmie_image_verify(vm->imgs[vm->in_img[i]], &vo,
				       &vm->vr[i], &err))
			continue;
		if (!err.rule[0]) {
			cli_error(&err);
			return -1;
		}
		input_refused(&vm->inputs[i], NULL, &err);
	}
	return 0;
}

/* What the data pass did for input i, for the report. */
static const char *verify_note(const struct check_vm *vm, unsigned i,
			       char *buf, size_t size)
{
	const struct vmie_verify_result *v = vm->vr ? &vm->vr[i] : NULL;
	char h[32];
	if (!v || !v->tables_walked)
		return "";
	if (!v->data_read)
		return vm->quick ? "; tables walked, data NOT read (--quick)"
				 : "";
	snprintf(buf, size, "; tables walked, %s of data read",
		 vmie_human_size(h, sizeof h, v->data_bytes));
	return buf;
}

static const char *color(enum vmie_verdict v, bool tty)
{
	if (!tty)
		return "";
	switch (v) {
	case VMIE_V_FAIL: return "\033[1;31m";
	case VMIE_V_WARN: return "\033[33m";
	case VMIE_V_INFO: return "\033[36m";
	case VMIE_V_PASS: return "\033[32m";
	default: return "\033[2m";
	}
}

static void print_report(const struct vmie_check_report *r,
			 const struct check_vm *vm,
			 const struct vmie_inspection *in, bool all)
{
	bool tty = isatty(1);
	const char *reset = tty ? "\033[0m" : "";
	static const enum vmie_verdict order[] = { VMIE_V_FAIL, VMIE_V_WARN, VMIE_V_INFO,
						   VMIE_V_PASS, VMIE_V_NA };
	char h[32], note[96];
	printf("policy: %s\n", r->policy);
	if (in->vm.present)
		printf("VM: %s (%u disk(s), %u NIC(s), %u CD-ROM(s)%s%s%s%s)\n",
		       in->vm.name[0] ? cli_safe(in->vm.name) : "unnamed", in->vm.n_disks,
		       in->vm.n_nics, in->vm.n_cdroms, in->vm.os_id[0] ? ", " : "",
		       cli_safe(in->vm.os_id), in->vm.firmware[0] ? ", firmware " : "",
		       cli_safe(in->vm.firmware));
	for (unsigned i = 0; i < vm->n; i++) {
		const struct vmie_check_input *ci = &vm->inputs[i];
		if (ci->open_rule[0] && vm->in_img[i] < 0)
			printf("disk%u: %s: %s%srefused [%s]: %s\n", i,
			       vm->in_names[i], ci->format,
			       ci->format[0] ? " " : "", ci->open_rule,
			       cli_safe(ci->open_error));
		else
			printf("disk%u: %s: %s%s%s, %s%s%s%s%s\n", i,
			       vm->in_names[i], ci->format,
			       ci->subformat[0] ? " " : "", ci->subformat,
			       vmie_human_size(h, sizeof h, ci->virtual_size),
			       ci->open_rule[0] ? " [" : "", ci->open_rule,
			       ci->open_rule[0] ? "]" : "",
			       verify_note(vm, i, note, sizeof note));
	}
	if (vm->quick)
		printf("data: NOT read (--quick): the tables were walked, but "
		       "compressed data was not inflated; the conversion may "
		       "still fail\n");
	if (r->os_summary[0])
		printf("guest: %s\n", cli_safe(r->os_summary));
	printf("decisions:\n");
	printf("  boot mode:       %s%s%s%s%s\n", r->boot_mode[0] ? r->boot_mode : "undecided",
	       r->boot_mode_rule[0] ? "  [" : "", r->boot_mode_rule,
	       r->boot_mode_rule[0] ? "] " : "", r->boot_mode_reason);
	if (r->gpt_to_mbr)
		printf("  GPT boot volume: converted to MBR  [BOOT-006]\n");
	printf("  license type:    %s%s%s%s\n", r->license_type[0] ? r->license_type : "none",
	       r->license_rule[0] ? "  [" : "", r->license_rule, r->license_rule[0] ? "]" : "");
	printf("  usage operation: %s\n", r->usage_operation[0] ? r->usage_operation : "none");
	printf("\n");
	unsigned hidden = 0;
	for (size_t k = 0; k < sizeof order / sizeof *order; k++)
		for (unsigned i = 0; i < r->n_results; i++) {
			const struct vmie_rule_result *x = &r->results[i];
			if (x->verdict != order[k])
				continue;
			if (!all && (x->verdict == VMIE_V_PASS || x->verdict == VMIE_V_NA)) {
				hidden++;
				continue;
			}
			cli_sgr(color(x->verdict, tty));
			printf("%-4s", vmie_verdict_name(x->verdict));
			cli_sgr(reset);
			printf(" %-9s %s\n", x->id, x->title);
			printf("               found: %s\n", cli_safe(x->evidence));
			if (x->fix[0])
				printf("               fix:   %s\n", x->fix);
			if (x->status_message[0])
				printf("               task:  %s\n", x->status_message);
		}
	if (hidden)
		printf("(%u rules pass or do not apply: --all lists them)\n", hidden);
	printf("\n");
	cli_sgr(color(r->would_pass ? VMIE_V_PASS : VMIE_V_FAIL, tty));
	printf("the import would %s", r->would_pass ? "pass" : "FAIL");
	cli_sgr(reset);
	printf("\n");
	if (!r->would_pass)
		printf("the task would end with: %s\n", r->status_message);
}

/* --quick: FMT-005 passing must not read as "the data is intact". */
static void quick_evidence(struct vmie_check_report *r,
			   const struct check_vm *vm)
{
	for (unsigned i = 0; vm->quick && i < r->n_results; i++) {
		struct vmie_rule_result *x = &r->results[i];
		if (strcmp(x->id, "FMT-005") || x->verdict != VMIE_V_PASS)
			continue;
		snprintf(x->evidence, sizeof x->evidence, "every disk opened "
			 "and its tables were walked; the data was NOT read "
			 "(--quick): a compressed grain or cluster that does "
			 "not inflate would only show in the conversion");
	}
}

/* The report's JSON (docs/check-json.md) plus what was checked: "inputs"
 * (one per disk) and "vm" (the OVF facts, or null). */
static json_t *report_json(const struct vmie_check_report *r,
			   const struct check_vm *vm,
			   const struct vmie_inspection *in)
{
	json_t *o = vmie_check_report_to_json(r);
	json_t *a = json_array();
	for (unsigned i = 0; i < vm->n; i++) {
		const struct vmie_check_input *ci = &vm->inputs[i];
		json_t *d = json_object();
		json_object_set_new(d, "index", json_integer(i));
		json_object_set_new(d, "path", json_string(vm->in_names[i]));
		json_object_set_new(d, "inspected", json_boolean(vm->in_img[i] >= 0));
		json_object_set_new(d, "format", json_string(ci->format));
		json_object_set_new(d, "subformat", json_string(ci->subformat));
		json_object_set_new(d, "virtual_size",
				    json_integer((json_int_t)ci->virtual_size));
		json_object_set_new(d, "refused_by", ci->open_rule[0] ?
				    json_string(ci->open_rule) : json_null());
		json_object_set_new(d, "error", ci->open_rule[0] ?
				    json_string(ci->open_error) : json_null());
		const struct vmie_verify_result *v = vm->vr ? &vm->vr[i] : NULL;
		json_t *jv = json_object();
		json_object_set_new(jv, "tables_walked",
				    json_boolean(v && v->tables_walked));
		json_object_set_new(jv, "data_read", json_boolean(v && v->data_read));
		json_object_set_new(jv, "data_bytes", json_integer(v ?
				    (json_int_t)v->data_bytes : 0));
		json_object_set_new(d, "verify", jv);
		json_array_append_new(a, d);
	}
	json_object_set_new(o, "inputs", a);
	json_object_set_new(o, "data_read", json_boolean(!vm->quick));
	if (in->vm.present) {
		json_t *v = json_object();
		json_object_set_new(v, "name", json_string(in->vm.name));
		json_object_set_new(v, "os_id", json_string(in->vm.os_id));
		json_object_set_new(v, "nics", json_integer(in->vm.n_nics));
		json_object_set_new(v, "cdroms", json_integer(in->vm.n_cdroms));
		json_object_set_new(v, "disks", json_integer(in->vm.n_disks));
		json_object_set_new(v, "firmware", in->vm.firmware[0] ?
				    json_string(in->vm.firmware) : json_null());
		json_object_set_new(o, "vm", v);
	} else {
		json_object_set_new(o, "vm", json_null());
	}
	return o;
}

int cmd_check(int argc, char **argv)
{
	enum { O_POLICY = 256, O_BOOT, O_LIC, O_PLAT, O_ARCH, O_ENC, O_LICCONF, O_SNAP,
	       O_USAGE, O_MANIFEST, O_REGION, O_JSON, O_ALL, O_VERIFY, O_QUICK };
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, O_POLICY },
		{ "boot-mode", required_argument, NULL, O_BOOT },
		{ "license-type", required_argument, NULL, O_LIC },
		{ "platform", required_argument, NULL, O_PLAT },
		{ "architecture", required_argument, NULL, O_ARCH },
		{ "encrypted", no_argument, NULL, O_ENC },
		{ "license-configuration", no_argument, NULL, O_LICCONF },
		{ "license-specifications", no_argument, NULL, O_LICCONF },
		{ "snapshot", no_argument, NULL, O_SNAP },
		{ "usage-operation", required_argument, NULL, O_USAGE },
		{ "manifest", no_argument, NULL, O_MANIFEST },
		{ "non-default-region", no_argument, NULL, O_REGION },
		{ "verify-manifest", no_argument, NULL, O_VERIFY },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "json", no_argument, NULL, O_JSON },
		{ "all", no_argument, NULL, O_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vmie_check_opts co = { 0 };
	const char *policy = "aws-current";
	bool json = false, all = false, verify = false;
	int c, status = 2;
	struct vmie_err err = { 0 };
	struct vmie_policy *pol = NULL;
	struct check_vm vm = { 0 };
	struct vmie_inspection *in = NULL;
	struct vmie_check_report *rep = NULL;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_POLICY: policy = optarg; break;
		case O_BOOT: co.boot_mode = optarg; break;
		case O_LIC: co.license_type = optarg; break;
		case O_PLAT: co.platform = optarg; break;
		case O_ARCH: co.architecture = optarg; break;
		case O_ENC: co.encrypted = true; break;
		case O_LICCONF: co.license_configuration = true; break;
		case O_SNAP: co.snapshot = true; break;
		case O_USAGE: co.usage_operation = optarg; break;
		case O_MANIFEST: co.manifest = true; break;
		case O_REGION: co.non_default_region = true; break;
		case O_VERIFY: verify = true; break;
		case O_QUICK: vm.quick = true; break;
		case O_JSON: json = true; break;
		case O_ALL: all = true; break;
		case 'h': check_usage(stdout); return 0;
		default: check_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		check_usage(stderr);
		return 2;
	}
	if (co.boot_mode && strcmp(co.boot_mode, "legacy-bios") && strcmp(co.boot_mode, "uefi")) {
		cli_errorf("check: --boot-mode must be legacy-bios or uefi, not '%s'", co.boot_mode);
		return 2;
	}
	if (co.platform && strcasecmp(co.platform, "Windows") && strcasecmp(co.platform, "Linux")) {
		cli_errorf("check: --platform must be Windows or Linux, not '%s'", co.platform);
		return 2;
	}
	if (co.architecture && strcmp(co.architecture, "x86_64") &&
	    strcmp(co.architecture, "i386") && strcmp(co.architecture, "arm64")) {
		cli_errorf("check: --architecture must be x86_64, i386 or arm64, not '%s'",
			   co.architecture);
		return 2;
	}
	if (vmie_policy_load(policy, &pol, &err)) {
		cli_error(&err);
		return 2;
	}
	unsigned nargs = (unsigned)(argc - optind);
	for (unsigned i = 0; i < nargs; i++) {
		const char *path = argv[optind + i];
		struct vmie_src *src = NULL;
		bool first_ovf = false;
		int r;
		vmie_err_clear(&err);
		if (cli_open_src(path, &src, &err)) {
			cli_error(&err);
			goto out;
		}
		if (vmie_ova_probe(src, &first_ovf)) {
			if (nargs > 1) {
				vmie_src_unref(src);
				cli_errorf("check: %s is an OVA, a whole VM: check it "
					   "on its own, not with other disks", path);
				goto out;
			}
			r = open_ova(&vm, path, src, verify);
		} else {
			r = open_disk(&vm, path, src);
		}
		vmie_src_unref(src);
		if (r)
			goto out;
	}
	if (vm_order(&vm) || verify_disks(&vm))
		goto out;
	co.inputs = vm.inputs;
	co.n_inputs = vm.n;
	if (vm.n_img) {
		if (vmie_inspect(vm.imgs, (const char *const *)vm.names, vm.n_img,
				 NULL, &in, &err)) {
			cli_error(&err);
			goto out;
		}
	} else if (!(in = calloc(1, sizeof *in))) {
		/* every disk was refused: the rules still report why */
		cli_errorf("out of memory");
		goto out;
	}
	if (vm.ova)     /* the VM definition: PREP-011, PREP-012 */
		vmie_insp_vm_from_ovf(vm.ova->ovf, &in->vm);
	if (vmie_rules_check(in, &co, pol, &rep, &err)) {
		cli_error(&err);
		goto out;
	}
	quick_evidence(rep, &vm);
	if (json) {
		json_t *j = report_json(rep, &vm, in);
		cli_print_json(j);
		json_decref(j);
	} else {
		print_report(rep, &vm, in, all);
	}
	status = rep->would_pass ? 0 : 1;
out:
	vmie_check_report_free(rep);
	vmie_inspection_free(in);
	vm_free(&vm);
	vmie_policy_free(pol);
	return status;
}
