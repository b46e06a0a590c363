/*
 * Test helper of nbd-server.sh: serves a copy-on-write overlay of a raw
 * file over lib/io/nbd_server.c.  Prints the socket path, then reads
 * commands on stdin:
 *   dump FILE   write the overlay's whole content to FILE
 *   quit        stop the server and exit (as EOF does)
 * Usage: nbd_serve IMAGE [readonly]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "image/image.h"
#include "io/nbd_server.h"

static int dump(struct vmie_image *img, const char *path)
{
	FILE *f = fopen(path, "wb");
	static char buf[1 << 20];
	struct vmie_err e = { 0 };
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

int main(int argc, char **argv)
{
	struct vmie_open_opts oo = { .format = "raw" };
	struct vmie_image *base, *ov;
	struct vmie_nbd_server *s;
	struct vmie_err e = { 0 };
	char line[600];

	if (argc < 2)
		return 2;
	if (vmie_image_open(argv[1], &oo, &base, &e) ||
	    vmie_overlay_open(base, &ov, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	struct vmie_nbd_export x = { .name = "disk0", .img = ov,
				     .readonly = argc > 2 };
	if (vmie_nbd_start(&x, 1, &s, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	printf("%s\n", vmie_nbd_socket(s));
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "dump ", 5)) {
			printf("%s\n", dump(ov, line + 5) ? "error" : "ok");
			fflush(stdout);
		} else if (!strcmp(line, "quit")) {
			break;
		}
	}
	vmie_nbd_stop(s);
	vmie_image_close(ov);
	vmie_image_close(base);
	return 0;
}
