/*
 * Windows lookup tables: language identifiers (LCIDs, [MS-LCID] "Language
 * Code Identifier Reference", the common ones), the .NET Framework 4.5+
 * "Release" values (Microsoft, "Determine which .NET Framework versions
 * are installed": minimum Release per version) and the PagingFiles value of
 * Session Manager\Memory Management ("path min max" per line; "?:\" means
 * every drive, sizes 0 0 or none mean system-managed).
 */
#include "inspect/insp_int.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	unsigned lcid;
	const char *name;
} win_lcids[] = {
	{ 0x0401, "ar-SA" }, { 0x0402, "bg-BG" }, { 0x0403, "ca-ES" },
	{ 0x0404, "zh-TW" }, { 0x0405, "cs-CZ" }, { 0x0406, "da-DK" },
	{ 0x0407, "de-DE" }, { 0x0408, "el-GR" }, { 0x0409, "en-US" },
	{ 0x040a, "es-ES_tradnl" }, { 0x040b, "fi-FI" }, { 0x040c, "fr-FR" },
	{ 0x040d, "he-IL" }, { 0x040e, "hu-HU" }, { 0x040f, "is-IS" },
	{ 0x0410, "it-IT" }, { 0x0411, "ja-JP" }, { 0x0412, "ko-KR" },
	{ 0x0413, "nl-NL" }, { 0x0414, "nb-NO" }, { 0x0415, "pl-PL" },
	{ 0x0416, "pt-BR" }, { 0x0418, "ro-RO" }, { 0x0419, "ru-RU" },
	{ 0x041a, "hr-HR" }, { 0x041b, "sk-SK" }, { 0x041d, "sv-SE" },
	{ 0x041e, "th-TH" }, { 0x041f, "tr-TR" }, { 0x0421, "id-ID" },
	{ 0x0422, "uk-UA" }, { 0x0424, "sl-SI" }, { 0x0425, "et-EE" },
	{ 0x0426, "lv-LV" }, { 0x0427, "lt-LT" }, { 0x042a, "vi-VN" },
	{ 0x0439, "hi-IN" }, { 0x043e, "ms-MY" }, { 0x0804, "zh-CN" },
	{ 0x0807, "de-CH" }, { 0x0809, "en-GB" }, { 0x080a, "es-MX" },
	{ 0x080c, "fr-BE" }, { 0x0810, "it-CH" }, { 0x0813, "nl-BE" },
	{ 0x0816, "pt-PT" }, { 0x081a, "sr-Latn-CS" }, { 0x0c04, "zh-HK" },
	{ 0x0c07, "de-AT" }, { 0x0c09, "en-AU" }, { 0x0c0a, "es-ES" },
	{ 0x0c0c, "fr-CA" }, { 0x1009, "en-CA" }, { 0x100c, "fr-CH" },
	{ 0x1409, "en-NZ" }, { 0x1809, "en-IE" }, { 0x241a, "sr-Latn-RS" },
	{ 0x4009, "en-IN" },
};

const char *vmie_insp_lcid_name(unsigned lcid)
{
	for (size_t i = 0; i < sizeof win_lcids / sizeof *win_lcids; i++)
		if (win_lcids[i].lcid == lcid)
			return win_lcids[i].name;
	return NULL;
}

const char *vmie_insp_dotnet_release(uint32_t release)
{
	static const struct {
		uint32_t min;
		const char *v;
	} rel[] = {
		{ 533320, "4.8.1" }, { 528040, "4.8" }, { 461808, "4.7.2" },
		{ 461308, "4.7.1" }, { 460798, "4.7" }, { 394802, "4.6.2" },
		{ 394254, "4.6.1" }, { 393295, "4.6" }, { 379893, "4.5.2" },
		{ 378675, "4.5.1" }, { 378389, "4.5" },
	};
	for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
		if (release >= rel[i].min)
			return rel[i].v;
	return NULL;
}

int vmie_insp_paging_auto(const char *joined)
{
	const char *p = joined;
	bool any = false;

	char line[300];
	while (vmie_insp_next_line(&p, line, sizeof line)) {
		char *s = vmie_insp_trim(line);
		if (!s[0])
			continue;
		any = true;
		if (s[0] == '?')
			return 1;
		/* "C:\pagefile.sys 1024 4096": sizes after the path */
		char *sp = strchr(s, ' ');
		if (!sp)
			return 1;
		char *end;
		unsigned long mn = strtoul(sp, &end, 10);
		unsigned long mx = strtoul(end, NULL, 10);
		if (!mn && !mx)
			return 1;
	}
	return any ? 0 : 1;
}
