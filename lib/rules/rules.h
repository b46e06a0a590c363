/*
 * The rules engine: every requirement of ../shared/REQUIREMENTS.md (FMT,
 * DSK, FS, OS, BOOT, LIC, PREP, EXP) evaluated by id against an inspection,
 * the import options and a policy, with a verdict, the evidence, a fix hint
 * and, for failures, the status message the import task would end with.
 *
 * The engine also takes the decisions an import makes: the boot mode, the
 * Windows GPT-to-MBR conversion, the license type that Auto resolves to and
 * the usage operation, each with the rule that drove it.
 */
#ifndef VMIE_RULES_RULES_H
#define VMIE_RULES_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "inspect/inspect.h"
#include "rules/policy.h"

enum vmie_verdict {
	VMIE_V_PASS = 0,
	VMIE_V_INFO,
	VMIE_V_WARN,
	VMIE_V_NA,          /* not applicable (other OS, rule off in policy) */
	VMIE_V_FAIL,
};
const char *vmie_verdict_name(enum vmie_verdict v);

/* The options of import-image that change the outcome. */
struct vmie_check_opts {
	const char *boot_mode;          /* NULL, "legacy-bios", "uefi" */
	const char *license_type;       /* NULL (= Auto), "AWS", "BYOL" */
	const char *platform;           /* NULL, "Windows", "Linux" */
	const char *architecture;       /* NULL, "x86_64", "i386", "arm64" */
	bool encrypted;
	bool license_configuration;     /* --license-specifications given */
	bool snapshot;                  /* importing from an EBS snapshot */
	const char *usage_operation;    /* NULL or "RunInstances:0002"... */
	bool manifest;                  /* an import manifest was given */
	bool non_default_region;        /* target is an opt-in region */
	/* the source containers, one per disk, as the image layer saw them */
	unsigned n_inputs;
	struct vmie_check_input {
		char format[16];        /* "ova", "vmdk", "vhd", "vhdx", "raw", ... */
		char subformat[48];
		uint64_t virtual_size;
		/* an error that stopped the disk from opening (refusal by
		 * rule FMT-002/3/4/5...), "" if it opened */
		char open_error[300];
		char open_rule[16];
	} *inputs;
};

struct vmie_rule_result {
	char id[16];               /* "BOOT-006" */
	char title[120];           /* what the rule requires */
	enum vmie_verdict verdict;
	char evidence[400];        /* what was found, and where */
	char fix[300];             /* what to do about it ("" on pass) */
	char status_message[240];  /* "ClientError: ..." when it fails */
};

struct vmie_check_report {
	char policy[64];
	unsigned n_results;
	struct vmie_rule_result *results;
	bool would_pass;           /* no FAIL verdicts */
	/* decisions */
	char boot_mode[16];        /* "legacy-bios", "uefi", "" if undecided */
	char boot_mode_rule[16];
	char boot_mode_reason[200];
	bool gpt_to_mbr;           /* Windows GPT boot volume converted */
	char license_type[8];      /* "AWS", "BYOL", "" */
	char license_rule[16];
	char usage_operation[32];  /* "RunInstances", "RunInstances:0002"... */
	char platform[16];         /* "Linux", "Windows", "" */
	char os_summary[200];      /* "Debian GNU/Linux 12 x86_64 kernel ..." */
	char status_message[240];  /* first failure's message, or "" */
};

/* Evaluate every rule.  Returns 0 when the evaluation ran (the verdicts say
 * whether the import would pass). */
int vmie_rules_check(const struct vmie_inspection *in,
		     const struct vmie_check_opts *o,
		     const struct vmie_policy *p,
		     struct vmie_check_report **out, struct vmie_err *err);
void vmie_check_report_free(struct vmie_check_report *r);
/* jansson json_t * (as void *) following docs/check-json.md */
void *vmie_check_report_to_json(const struct vmie_check_report *r);
/* Find a result by rule id, or NULL. */
const struct vmie_rule_result *vmie_report_find(const struct vmie_check_report *r,
						const char *id);

/* ---- pieces that are unit-tested on their own ---- */

/* Windows product key used by policies ("server-2019", "10", "11"...),
 * from version/build/installation type/product name; "" if unknown. */
void vmie_windows_product(const struct vmie_insp_os *os, char *out, size_t size);
/* Normalised edition ("standard", "datacenter", "professional"...). */
void vmie_windows_edition(const struct vmie_insp_os *os, char *out, size_t size);
bool vmie_windows_is_server(const struct vmie_insp_os *os);

/* BOOT-006: the boot mode of a Windows guest, and whether its GPT boot
 * volume is converted to MBR (docs/windows-boot.md).  "Compatible with
 * both" is can_uefi && (can_bios || (bios_after_mbr && !uefi_only)).  On
 * a GPT disk legacy BIOS is only possible through the conversion, so it is chosen (or granted to
 * --boot-mode legacy-bios) only when the conversion's limits hold: VHDX,
 * at most 2 TiB, at most 3 partitions in the MBR, not dynamic, every
 * partition carried by an MBR entry. */
struct vmie_boot006_in {
	/* can_bios: a BIOS boot manager is installed (the active MBR
	 * partition, or the ESP of a GPT disk after `bcdboot /f ALL`);
	 * bios_after_mbr: GPT, the Windows volume holds the BIOS boot files
	 * (inspection's fact of that name) */
	bool can_bios, can_uefi, bios_after_mbr;
	/* the Windows version boots with UEFI only (Windows 11, a policy
	 * row with "uefi"): its BIOS files do not make it compatible with
	 * both (an installed boot manager still does: it boots today, and
	 * OS-009 judges the mode) */
	bool uefi_only;
	const char *requested;     /* NULL, "legacy-bios", "uefi" */
	uint64_t disk_size;        /* boot disk virtual size */
	/* MBR: primary entries.  GPT: the partitions the MBR would hold
	 * (vmie_gpt_mbr_type KEEP); the ones it drops (the MSR) are in
	 * dropped_partitions and are not counted against the limit of 3 */
	unsigned primary_partitions;
	unsigned dropped_partitions;
	bool dynamic_disk;
	bool vhdx;                 /* the image format is VHDX */
	bool gpt;                  /* the boot disk is GPT */
	/* GPT: why no MBR can describe the disk ("partition 5 (Storage
	 * Spaces) has no MBR type", "partition 4 ends beyond 2^32
	 * sectors"), or NULL */
	const char *not_convertible;
};
struct vmie_boot006_out {
	const char *mode;          /* "legacy-bios", "uefi" or NULL (error) */
	bool gpt_to_mbr;
	/* the choice and why, with the limit and the counts */
	char reason[240];
	/* mode NULL because legacy BIOS needs the GPT-to-MBR conversion and
	 * this limit forbids it ("not VHDX", "4 partitions in the MBR (the
	 * MSR not counted), more than 3"...); "" otherwise */
	char limit[160];
};
void vmie_boot006_decide(const struct vmie_boot006_in *in,
			 struct vmie_boot006_out *out);

/* LIC-001..005: resolve --license-type for an OS.  Returns the license
 * ("AWS"/"BYOL") or NULL when incompatible, with the rule id in *rule. */
const char *vmie_license_decide(bool windows, bool server,
				const char *requested, const char **rule);

#endif
