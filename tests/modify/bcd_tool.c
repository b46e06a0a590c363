/* tests/modify bcd_tool: lib/modify/bcd.c from the shell, for bcd.sh.
 *
 *   bcd_tool build OUT SIGNATURE BOOT_OFFSET [OS_OFFSET] [legacy]
 *            [locale=X] [desc=X] [root=X]
 *       write a BIOS store to OUT; print the loader's GUID
 *   bcd_tool decode FILE
 *       decode the device element value held in FILE (raw bytes)
 *   bcd_tool guid SIGNATURE OS_OFFSET
 *       print the loader GUID for these
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modify/bcd.h"

static int usage(void)
{
	fprintf(stderr, "usage: bcd_tool build OUT SIG BOOT_OFF [OS_OFF] "
		"[legacy] [locale=X] [desc=X] [root=X] | decode FILE | "
		"guid SIG OS_OFF\n");
	return 2;
}

static int build(int argc, char **argv)
{
	struct vmie_bcd_bios b = { .win8_or_later = true };
	char why[256], guid[39];
	void *out;
	size_t len;

	if (argc < 5)
		return usage();
	b.disk_signature = (uint32_t)strtoul(argv[3], NULL, 0);
	b.boot_part_offset = strtoull(argv[4], NULL, 0);
	b.os_part_offset = b.boot_part_offset;
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "legacy"))
			b.win8_or_later = false;
		else if (!strncmp(argv[i], "locale=", 7))
			b.locale = argv[i] + 7;
		else if (!strncmp(argv[i], "desc=", 5))
			b.description = argv[i] + 5;
		else if (!strncmp(argv[i], "root=", 5))
			b.systemroot = argv[i] + 5;
		else
			b.os_part_offset = strtoull(argv[i], NULL, 0);
	}
	int rc = vmie_bcd_build_bios(&b, &out, &len, why, sizeof why);
	if (rc) {
		fprintf(stderr, "bcd_tool: %s (%d)\n", why, rc);
		return 1;
	}
	FILE *f = fopen(argv[2], "wb");
	if (!f || fwrite(out, 1, len, f) != len || fclose(f)) {
		perror(argv[2]);
		free(out);
		return 1;
	}
	free(out);
	vmie_bcd_loader_guid(b.disk_signature, b.os_part_offset, guid);
	printf("%s\n", guid);
	return 0;
}

static int decode(const char *path)
{
	unsigned char buf[4096];
	struct vmie_bcd_device d;
	char text[256];
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (vmie_bcd_device_decode(buf, n, &d)) {
		fprintf(stderr, "bcd_tool: %s: not a device value\n", path);
		return 1;
	}
	vmie_bcd_device_format(&d, text, sizeof text);
	printf("%s\n", text);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "build"))
		return build(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "decode"))
		return decode(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "guid")) {
		char g[39];
		vmie_bcd_loader_guid((uint32_t)strtoul(argv[2], NULL, 0),
				     strtoull(argv[3], NULL, 0), g);
		printf("%s\n", g);
		return 0;
	}
	return usage();
}
