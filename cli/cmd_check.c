/* vmie check: the import preflight.  Opens the disks of one VM (or an OVA),
 * inspects them, and evaluates every rule of a policy.
 * Exit status: 0 the import would pass, 1 it would fail, 2 the check could
 * not run (unreadable file, bad options, bad policy). */
#include "cli.h"
#include "core/util.h"
#include "image/image.h"
#include "inspect/inspect.h"
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
		"  IMAGE...                 the disks of one VM (boot disk first), or an OVA\n"
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
		"  --json                   machine-readable report (docs/check-json.md)\n"
		"  --all                    also list rules that pass or do not apply\n"
		"exit: 0 the import would pass, 1 it would fail, 2 the check could not run\n");
}

struct opened {
	struct vmie_image *img;
	char name[512];
};

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

static void print_report(const struct vmie_check_report *r, bool all)
{
	bool tty = isatty(1);
	const char *reset = tty ? "\033[0m" : "";
	static const enum vmie_verdict order[] = { VMIE_V_FAIL, VMIE_V_WARN, VMIE_V_INFO,
						   VMIE_V_PASS, VMIE_V_NA };
	printf("policy: %s\n", r->policy);
	if (r->os_summary[0])
		printf("guest: %s\n", r->os_summary);
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
			printf("%s%-4s%s %-9s %s\n", color(x->verdict, tty),
			       vmie_verdict_name(x->verdict), reset, x->id, x->title);
			printf("               found: %s\n", x->evidence);
			if (x->fix[0])
				printf("               fix:   %s\n", x->fix);
			if (x->status_message[0])
				printf("               task:  %s\n", x->status_message);
		}
	if (hidden)
		printf("(%u rules pass or do not apply: --all lists them)\n", hidden);
	printf("\n%sthe import would %s%s\n", color(r->would_pass ? VMIE_V_PASS : VMIE_V_FAIL, tty),
	       r->would_pass ? "pass" : "FAIL", reset);
	if (!r->would_pass)
		printf("the task would end with: %s\n", r->status_message);
}

int cmd_check(int argc, char **argv)
{
	enum { O_POLICY = 256, O_BOOT, O_LIC, O_PLAT, O_ARCH, O_ENC, O_LICCONF, O_SNAP,
	       O_USAGE, O_MANIFEST, O_REGION, O_JSON, O_ALL };
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
		{ "json", no_argument, NULL, O_JSON },
		{ "all", no_argument, NULL, O_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vmie_check_opts co = { 0 };
	const char *policy = "aws-current";
	bool json = false, all = false;
	int c, status = 2;
	struct vmie_err err = { 0 };
	struct vmie_policy *pol = NULL;
	struct opened *disks = NULL;
	unsigned n = 0;
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
	if (vmie_policy_load(policy, &pol, &err)) {
		cli_error(&err);
		return 2;
	}
	unsigned nargs = (unsigned)(argc - optind);
	disks = calloc(nargs, sizeof *disks);
	co.inputs = calloc(nargs, sizeof *co.inputs);
	if (!disks || !co.inputs) {
		cli_errorf("out of memory");
		goto out;
	}
	co.n_inputs = nargs;
	struct vmie_image *imgs[64];
	const char *names[64];
	unsigned nimg = 0;
	for (unsigned i = 0; i < nargs; i++) {
		const char *path = argv[optind + i];
		struct vmie_check_input *ci = &co.inputs[i];
		struct vmie_image *img;
		vmie_err_clear(&err);
		if (vmie_image_open(path, NULL, &img, &err)) {
			/* refusals by a rule are verdicts; anything else stops */
			if (!err.rule[0]) {
				cli_error(&err);
				goto out;
			}
			if (!strcmp(err.rule, "FMT-001")) {
				vmie_strlcpy(ci->format, "unrecognised", sizeof ci->format);
				if (strstr(err.msg, "VDI"))
					vmie_strlcpy(ci->format, "vdi", sizeof ci->format);
				continue;
			}
			vmie_strlcpy(ci->open_error, err.msg, sizeof ci->open_error);
			vmie_strlcpy(ci->open_rule, err.rule, sizeof ci->open_rule);
			continue;
		}
		vmie_strlcpy(ci->format, img->drv->name, sizeof ci->format);
		vmie_strlcpy(ci->subformat, img->subformat, sizeof ci->subformat);
		ci->virtual_size = img->size;
		if (nimg < 64) {
			disks[n].img = img;
			vmie_strlcpy(disks[n].name, path, sizeof disks[n].name);
			imgs[nimg] = img;
			names[nimg++] = disks[n].name;
			n++;
		} else {
			vmie_image_close(img);
		}
	}
	if (vmie_inspect(imgs, names, nimg, NULL, &in, &err)) {
		cli_error(&err);
		goto out;
	}
	if (vmie_rules_check(in, &co, pol, &rep, &err)) {
		cli_error(&err);
		goto out;
	}
	if (json) {
		json_t *j = vmie_check_report_to_json(rep);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else {
		print_report(rep, all);
	}
	status = rep->would_pass ? 0 : 1;
out:
	vmie_check_report_free(rep);
	if (in)
		vmie_inspection_free(in);
	for (unsigned i = 0; i < n; i++)
		vmie_image_close(disks[i].img);
	free(disks);
	free(co.inputs);
	vmie_policy_free(pol);
	return status;
}
