/* Decisions an import takes, as pure functions (unit-tested as tables):
 * Windows product and edition from inspection facts, the BOOT-006 boot-mode
 * choice and GPT-to-MBR conversion, and the LIC license resolution. */
#include "rules/rules.h"
#include "core/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool vmie_windows_is_server(const struct vmie_insp_os *os)
{
	if (os->installation_type[0])
		return strncasecmp(os->installation_type, "Server", 6) == 0 ||
		       !strcasecmp(os->installation_type, "Nano Server");
	return strcasestr(os->product_name, "Server") != NULL;
}

void vmie_windows_product(const struct vmie_insp_os *os, char *out, size_t size)
{
	const char *p = "";
	bool server = vmie_windows_is_server(os);
	bool r2 = strstr(os->product_name, "R2") != NULL;
	int maj = os->major, min = os->minor;
	if (maj < 0 && os->version[0])
		sscanf(os->version, "%d.%d", &maj, &min);
	if (server) {
		if (maj == 5 && min == 2)
			p = r2 ? "server-2003-r2" : "server-2003";
		else if (maj == 6 && min == 0)
			p = "server-2008";
		else if (maj == 6 && min == 1)
			p = "server-2008-r2";
		else if (maj == 6 && min == 2)
			p = "server-2012";
		else if (maj == 6 && min == 3)
			p = "server-2012-r2";
		else if (maj == 10) {
			unsigned b = os->build;
			p = b >= 26100 ? "server-2025" : b >= 20348 ? "server-2022" :
			    b >= 17763 ? "server-2019" : b >= 17134 ? "server-1803" :
			    b >= 16299 ? "server-1709" : b >= 14393 ? "server-2016" :
			    b ? "server-2016" : "";
			/* without a build number, trust the product name */
			if (!b) {
				if (strstr(os->product_name, "2019")) p = "server-2019";
				else if (strstr(os->product_name, "2022")) p = "server-2022";
				else if (strstr(os->product_name, "2016")) p = "server-2016";
			}
		}
	} else {
		if (maj == 5 && (min == 1 || min == 2))
			p = "xp";
		else if (maj == 6 && min == 0)
			p = "vista";
		else if (maj == 6 && min == 1)
			p = "7";
		else if (maj == 6 && min == 2)
			p = "8";
		else if (maj == 6 && min == 3)
			p = "8.1";
		else if (maj == 10)
			p = os->build >= 22000 ? "11" :
			    (!os->build && strstr(os->product_name, "Windows 11")) ? "11" : "10";
	}
	vmie_strlcpy(out, p, size);
}

void vmie_windows_edition(const struct vmie_insp_os *os, char *out, size_t size)
{
	static const struct { const char *key, *ed; } map[] = {
		{ "ServerStandard", "standard" }, { "ServerDatacenter", "datacenter" },
		{ "ServerEnterprise", "enterprise" }, { "ServerWeb", "web" },
		{ "ServerFoundation", "foundation" }, { "ServerSolution", "essentials" },
		{ "ServerEssentials", "essentials" },
		{ "Professional", "professional" }, { "Enterprise", "enterprise" },
		{ "Ultimate", "ultimate" }, { "Education", "education" },
		{ "HomePremium", "home" }, { "HomeBasic", "home" }, { "Core", "home" },
		{ "CoreSingleLanguage", "home" }, { "Home", "home" },
		{ "Standard", "standard" }, { "Datacenter", "datacenter" },
		{ "Web", "web" },
	};
	const char *e = os->edition;
	/* strip trailing N / KN / Eval variants: "ProfessionalN", "ServerStandardEval" */
	char base[64];
	vmie_strlcpy(base, e, sizeof base);
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, "Eval"))
		base[n -= 4] = 0;
	if (n > 2 && !strcmp(base + n - 2, "KN"))
		base[n -= 2] = 0;
	else if (n > 1 && base[n - 1] == 'N' && strcmp(base, "Education"))
		base[--n] = 0;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (!strcasecmp(base, map[i].key)) {
			vmie_strlcpy(out, map[i].ed, size);
			return;
		}
	/* fall back on the product name's words */
	static const char *const words[] = { "Datacenter", "Standard", "Enterprise",
		"Web", "Professional", "Pro", "Ultimate", "Education", "Home", NULL };
	for (int i = 0; words[i]; i++)
		if (strcasestr(os->product_name, words[i])) {
			const char *w = !strcmp(words[i], "Pro") ? "professional" : words[i];
			char low[32];
			vmie_strlcpy(low, w, sizeof low);
			for (char *c = low; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			vmie_strlcpy(out, low, size);
			return;
		}
	/* NT 5.x has no EditionID; Server 2003 Standard has no ProductSuite
	 * word either (Enterprise, DataCenter and Blade/Web do), so a 5.x
	 * server with no edition named anywhere is Standard. */
	if (os->major == 5 && vmie_windows_is_server(os)) {
		vmie_strlcpy(out, "standard", size);
		return;
	}
	vmie_strlcpy(out, "", size);
}

#define TIB ((uint64_t)1 << 40)
/* the GPT-to-MBR conversion: "no more than three primary partitions" */
#define B6_MAX_CONVERTED 3

/* Why the GPT boot volume cannot become MBR (seed 000: "the image format
 * is VHDX, the uncompressed size is 2 TiB or smaller, there are no more
 * than three primary partitions, and the volume is not a dynamic disk";
 * and an MBR must be able to describe every partition), into buf; ""
 * when it can. */
static void b6_conv_limit(const struct vmie_boot006_in *in, char *buf,
			  size_t n)
{
	buf[0] = 0;
	if (!in->vhdx)
		snprintf(buf, n, "not VHDX");
	else if (in->disk_size > 2 * TIB)
		snprintf(buf, n, "disk larger than 2 TiB");
	else if (in->dynamic_disk)
		snprintf(buf, n, "dynamic disk");
	else if (in->primary_partitions > B6_MAX_CONVERTED)
		snprintf(buf, n, "%u partitions would be in the MBR%s, more "
			 "than %d", in->primary_partitions,
			 in->dropped_partitions ? " (the MSR not counted)" : "",
			 B6_MAX_CONVERTED);
	else if (in->not_convertible)
		snprintf(buf, n, "%s", in->not_convertible);
}

/* The limits that held, for the reason of a conversion. */
static void b6_conv_ok(const struct vmie_boot006_in *in, char *buf, size_t n)
{
	snprintf(buf, n, "VHDX, at most 2 TiB, %u partition%s in the MBR "
		 "(at most %d%s), not dynamic", in->primary_partitions,
		 in->primary_partitions == 1 ? "" : "s", B6_MAX_CONVERTED,
		 in->dropped_partitions ? "; the MSR not counted" : "");
}

static void b6_set(struct vmie_boot006_out *out, const char *mode,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void b6_set(struct vmie_boot006_out *out, const char *mode,
		   const char *fmt, ...)
{
	va_list ap;
	out->mode = mode;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
}

/* Legacy BIOS on a GPT disk: only through the conversion. */
static void b6_gpt_bios(const struct vmie_boot006_in *in,
			struct vmie_boot006_out *out, const char *why)
{
	char lim[sizeof out->limit], ok[160];
	b6_conv_limit(in, lim, sizeof lim);
	if (lim[0]) {
		vmie_strlcpy(out->limit, lim, sizeof out->limit);
		b6_set(out, NULL, "%s; legacy BIOS needs the GPT boot volume "
		       "converted to MBR, which is not possible: %s", why, lim);
		return;
	}
	b6_conv_ok(in, ok, sizeof ok);
	out->gpt_to_mbr = true;
	b6_set(out, "legacy-bios", "%s; %s: legacy BIOS", why, ok);
}

void vmie_boot006_decide(const struct vmie_boot006_in *in,
			 struct vmie_boot006_out *out)
{
	/* BIOS files on GPT count only for a version that can boot with
	 * BIOS; an installed boot manager counts as it is */
	bool files = in->gpt && in->bios_after_mbr;
	bool bios = in->can_bios || (files && !in->uefi_only);
	bool refused = files && in->uefi_only && !in->can_bios;
	const char *uefi_only = "the BIOS boot files are there, but this "
				"Windows version boots with UEFI only";

	out->gpt_to_mbr = false;
	out->mode = NULL;
	out->reason[0] = 0;
	out->limit[0] = 0;
	if (in->requested) {
		bool uefi = !strcmp(in->requested, "uefi");
		if ((uefi && !in->can_uefi) || (!uefi && !bios)) {
			b6_set(out, NULL, "the requested boot mode is not "
			       "supported by the guest%s%s",
			       !uefi && refused ? ": " : "",
			       !uefi && refused ? uefi_only : "");
			return;
		}
		if (!uefi && in->gpt) {
			b6_gpt_bios(in, out, "requested with --boot-mode");
			return;
		}
		b6_set(out, uefi ? "uefi" : "legacy-bios",
		       "requested with --boot-mode");
	} else if (bios && in->can_uefi && in->gpt) {
		/* legacy BIOS when its criteria (under 2 TiB, at most 4
		 * primaries, not dynamic, VHDX) and the conversion's hold */
		char lim[sizeof out->limit], ok[160];
		b6_conv_limit(in, lim, sizeof lim);
		if (!lim[0] && !(in->disk_size < 2 * TIB))
			snprintf(lim, sizeof lim, "disk of 2 TiB or more");
		if (lim[0]) {
			b6_set(out, "uefi", "compatible with both; the GPT boot "
			       "volume stays GPT: %s: UEFI", lim);
		} else {
			b6_conv_ok(in, ok, sizeof ok);
			out->gpt_to_mbr = true;
			b6_set(out, "legacy-bios", "compatible with both; %s: "
			       "legacy BIOS", ok);
		}
	} else if (bios && in->can_uefi) {
		/* 2 TB here is the MBR limit, 2^32 sectors of 512 bytes */
		bool small = in->disk_size < 2 * TIB;
		bool few = in->primary_partitions <= 4;
		if (small && few && !in->dynamic_disk && in->vhdx) {
			b6_set(out, "legacy-bios", "compatible with both; disk "
			       "under 2 TiB, at most 4 primary partitions, not "
			       "dynamic, VHDX: legacy BIOS");
		} else {
			b6_set(out, "uefi", "%s", !in->vhdx ?
			       "compatible with both; not VHDX: UEFI" : !small ?
			       "compatible with both; disk of 2 TiB or more: UEFI" :
			       !few ? "compatible with both; more than 4 primary "
			       "partitions: UEFI" :
			       "compatible with both; dynamic disk: UEFI");
		}
	} else if (in->can_uefi) {
		b6_set(out, "uefi", "%s", refused ? uefi_only :
		       "the guest boots with UEFI only");
	} else if (bios && in->gpt) {
		b6_gpt_bios(in, out, "the guest boots with legacy BIOS only");
	} else if (bios) {
		b6_set(out, "legacy-bios", "the guest boots with legacy BIOS only");
	} else {
		b6_set(out, NULL, "no boot loader found for either mode");
	}
}

const char *vmie_license_decide(bool windows, bool server,
				const char *requested, const char **rule)
{
	bool aws = requested && !strcasecmp(requested, "AWS");
	bool byol = requested && !strcasecmp(requested, "BYOL");
	bool is_auto = !requested || !strcasecmp(requested, "Auto");
	if (!aws && !byol && !is_auto) {
		*rule = "LIC-001";
		return NULL;
	}
	if (!windows) {
		*rule = "LIC-002";
		return aws ? NULL : "BYOL";
	}
	if (!server) {
		*rule = "LIC-003";
		return aws ? NULL : "BYOL";
	}
	*rule = "LIC-004";
	return byol ? "BYOL" : "AWS";
}
