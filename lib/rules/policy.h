/*
 * Policies: the support matrix and limits of an import target, as data.
 *
 * A policy is a human-readable text file (see policies/aws-current for the
 * syntax) that a user can copy and change; vmie_policy_load() parses it and
 * reports mistakes with file, line and field.  The rules engine (rules.h)
 * evaluates the requirements of ../shared/REQUIREMENTS.md against an
 * inspection using the numbers, sets and matrices held here.
 */
#ifndef VMIE_RULES_POLICY_H
#define VMIE_RULES_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define VMIE_POLICY_MAX_WORDS 48

/* A set of words ("allow KEY VALUE..."). */
struct vmie_policy_set {
	char key[48];
	unsigned n;
	char (*values)[48];
};

struct vmie_policy_limit {
	char key[48];
	uint64_t value;
};

struct vmie_policy_rule_switch {
	char rule[16];
	bool on;
};

/* "linux DISTRO VERSIONS [sp N,..] kernel K... | kernel-suffix S..." */
struct vmie_policy_linux {
	char distro[32];
	char ver_lo[24], ver_hi[24];   /* "" = any; lo == hi for one version */
	bool ver_prefix;               /* single version "X": X and X.* */
	unsigned n_sp;                 /* 0 = any service pack */
	int sp[8];
	bool kernel_any;
	bool kernel_suffix;            /* kernels hold suffixes, not series */
	unsigned n_kernels;
	char kernels[16][32];
	unsigned line;
};

/* "windows PRODUCT editions E... bits B... [flags]" */
struct vmie_policy_windows {
	char product[24];              /* "server-2019", "10", "8.1"... */
	unsigned n_editions;
	char editions[8][24];          /* lower case: standard, datacenter, web,
					  enterprise, home, professional,
					  ultimate, education */
	bool bits32, bits64;
	int min_sp;                    /* 0 = any */
	bool us_english;               /* footnote 1 */
	bool uefi_required;            /* footnote 2 */
	bool default_regions_only;     /* not available in opt-in regions */
	bool bit32_default_regions_only;  /* footnote 4 */
	unsigned line;
};

struct vmie_policy_dotnet {
	char product[24];
	char min_version[16];
};

struct vmie_policy {
	char name[64];
	char description[200];
	char path[512];
	unsigned n_limits, n_sets, n_switches, n_linux, n_windows, n_dotnet;
	struct vmie_policy_limit *limits;
	struct vmie_policy_set *sets;
	struct vmie_policy_rule_switch *switches;
	struct vmie_policy_linux *linux_rows;
	struct vmie_policy_windows *windows_rows;
	struct vmie_policy_dotnet *dotnet_rows;
};

/* Load a policy by name ("aws-current", "aws-legacy": looked up in
 * $VMIE_POLICY_DIR, then, for a binary run from its build directory, the
 * source tree's policies/, then the installed directory next to the binary
 * (bin/../share/vmie/policies) and $prefix/share/vmie/policies; never the
 * current directory) or by path (anything containing '/').  Errors name
 * the file, line and field. */
int vmie_policy_load(const char *name_or_path, struct vmie_policy **out,
		     struct vmie_err *err);
/* Parse policy text (path only used in messages). */
int vmie_policy_parse(const char *text, const char *path,
		      struct vmie_policy **out, struct vmie_err *err);
void vmie_policy_free(struct vmie_policy *p);

/* The values of the sets target_disk_bus and target_nic: the devices
 * the boot check (lib/task/bootcheck.h) gives a guest.  NULL-ended. */
extern const char *const vmie_policy_disk_buses[];
extern const char *const vmie_policy_nics[];

/* Lookups: a missing limit gives def; a missing set means "not
 * configured" (has_set false). */
uint64_t vmie_policy_limit(const struct vmie_policy *p, const char *key,
			   uint64_t def);
bool vmie_policy_has_set(const struct vmie_policy *p, const char *key);
/* The set KEY itself (to list its values), or NULL when not configured. */
const struct vmie_policy_set *vmie_policy_get_set(const struct vmie_policy *p,
						  const char *key);
bool vmie_policy_allows(const struct vmie_policy *p, const char *key,
			const char *value);
/* Whether id is a rule id of REQUIREMENTS.md that the engine evaluates
 * (rules.c holds the list). */
bool vmie_rule_known(const char *id);
/* Whether a rule is evaluated (default on when not switched). */
bool vmie_policy_rule_on(const struct vmie_policy *p, const char *rule);

/* Version helpers used by the matrices.
 * vmie_version_cmp("5.11", "5.2") > 0; missing components count as 0. */
int vmie_version_cmp(const char *a, const char *b);
/* Whether a kernel version string belongs to a listed series:
 * ("4.18.0", "4.18.0-372.el8.x86_64") and ("3.2", "3.2.0-4-amd64") match,
 * ("4.1", "4.14.35-...") does not. */
bool vmie_kernel_matches(const char *series, const char *kernel);
/* Whether a distribution version is in a row's version range. */
bool vmie_policy_linux_version_ok(const struct vmie_policy_linux *row,
				  const char *version);

#endif
