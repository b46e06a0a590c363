/*
 * Test helper of gfs-changes.sh: the update stage of an import on its
 * own.  Opens raw disks under copy-on-write overlays, inspects them
 * (keeping the devices), makes the guest changes (vmie_modify_guest)
 * with the policy given, prints the journal (one line per change:
 * device path rule kept_as sha256_before sha256_after, "-" for empty)
 * and the notes ("note: ..."), then writes each overlay's whole content
 * to OUT.N (the disks as changed); the disks given are never written.
 * Usage: modify_run POLICY OUT DISK...   (POLICY "-": none)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "image/image.h"
#include "inspect/inspect.h"
#include "modify/modify.h"
#include "rules/policy.h"

static int dump(struct vmie_image *img, const char *path)
{
	static char buf[1 << 20];
	struct vmie_err e = { 0 };
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	for (uint64_t off = 0; off < img->size;) {
		size_t n = img->size - off < sizeof buf ? img->size - off :
			   sizeof buf;
		if (vmie_image_pread(img, buf, n, off, &e) ||
		    fwrite(buf, 1, n, f) != n) {
			fclose(f);
			return -1;
		}
		off += n;
	}
	return fclose(f);
}

static const char *dash(const char *s)
{
	return s && s[0] ? s : "-";
}

int main(int argc, char **argv)
{
	struct vmie_open_opts oo = { .format = "raw" };
	struct vmie_image *base[8], *ov[8];
	struct vmie_inspect_opts io = { .keep_devices = true };
	struct vmie_inspection *in = NULL;
	struct vmie_policy *pol = NULL;
	struct vmie_modify_result res;
	struct vmie_err e = { 0 };
	int n = argc - 3, rc = 0;

	if (n < 1 || n > 8)
		return 2;
	if (strcmp(argv[1], "-") && vmie_policy_load(argv[1], &pol, &e)) {
		fprintf(stderr, "policy: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (vmie_image_open(argv[3 + i], &oo, &base[i], &e) ||
		    vmie_overlay_open(base[i], &ov[i], &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
	if (vmie_inspect(ov, (const char *const *)argv + 3, (unsigned)n, &io,
			 &in, &e)) {
		fprintf(stderr, "inspect: %s\n", e.msg);
		return 1;
	}
	struct vmie_modify_opts mo = { .timeout = 1, .net_ifnames = true,
				       .serial_console = true, .policy = pol };
	if (vmie_modify_guest(in, &mo, &res, &e)) {
		fprintf(stderr, "modify: %s%s%s\n", e.rule[0] ? e.rule : "",
			e.rule[0] ? ": " : "", e.msg);
		rc = 1;
	}
	for (unsigned i = 0; i < res.n; i++) {
		const struct vmie_change *c = &res.changes[i];
		printf("%s %s %s %s %s %s\n", c->device, c->path, c->rule,
		       dash(c->kept_as), dash(c->sha256_before),
		       dash(c->sha256_after));
	}
	for (unsigned i = 0; i < res.n_notes; i++)
		printf("note: %s\n", res.notes[i]);
	vmie_modify_result_free(&res);
	vmie_inspection_free(in);
	for (int i = 0; i < n; i++) {
		char p[600];
		snprintf(p, sizeof p, "%s.%d", argv[2], i);
		if (!rc && dump(ov[i], p))
			rc = 1;
		vmie_image_close(ov[i]);
		vmie_image_close(base[i]);
	}
	vmie_policy_free(pol);
	return rc;
}
