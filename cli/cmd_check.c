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
#include "rules/vm.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void check_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmie check [OPTION]... IMAGE...\n"
		"Preflight an import offline: evaluate every VM Import/Export "
		"rule of a policy\non a VM's disks (IMAGE...: boot disk first, "
		"or one OVA) and print each\nverdict with its evidence and a fix "
		"(docs/cmd-check.md).\n\n"
		"Options:\n"
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
		"  --all                    also list rules that pass or do not apply\n\n"
		"Exit status:\n"
		"  0  the import would pass\n"
		"  1  it would fail\n"
		"  2  the check could not run\n");
}

/* What the data pass did for input i, for the report. */
static const char *verify_note(const struct vmie_vm *vm, unsigned i,
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
			 const struct vmie_vm *vm,
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
			   const struct vmie_vm *vm)
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
			   const struct vmie_vm *vm,
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
	struct vmie_vm vm = { 0 };
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
		int r;
		vmie_err_clear(&err);
		if (cli_open_src(path, &src, &err)) {
			cli_error(&err);
			goto out;
		}
		r = vmie_vm_add_src(&vm, path, src, verify, &cli_interrupted,
				    &err);
		vmie_src_unref(src);
		if (r) {
			if (r == VMIE_EINVAL)
				cli_errorf("check: %s", err.msg);
			else
				cli_error(&err);
			goto out;
		}
	}
	struct vmie_verify_opts vo = { .cancel = &cli_interrupted };
	if (vmie_vm_finish(&vm, &vo, &err)) {
		cli_error(&err);
		goto out;
	}
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
	vmie_vm_free(&vm);
	vmie_policy_free(pol);
	return status;
}
