/*
 * Fuzz target for lib/part: the input is a disk (a short prefix of one is
 * enough: the memory image is exactly as large as the input).  Reads the
 * partition table, opens a window on every partition that fits, scans the
 * disk and the partitions for LVM2 PVs, and reads the first, middle and
 * last bytes of every LV that could be assembled.  The input is also split
 * in two halves scanned together, to exercise VGs over two disks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "part/part.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEVS 40

static void fuzz_lvs(struct vmie_image *const *devs, unsigned n)
{
	struct vmie_lvm l;
	struct vmie_err e = { 0 };
	if (vmie_lvm_scan(devs, n, &l, &e))
		return;
	for (unsigned i = 0; i < l.n_lvs; i++) {
		struct vmie_image *d = l.lvs[i].dev;
		uint8_t b[600];
		uint64_t pnum;
		unsigned st;
		if (!d || !d->size)
			continue;
		size_t len = d->size < sizeof b ? (size_t)d->size : sizeof b;
		vmie_image_pread(d, b, len, 0, &e);
		vmie_image_pread(d, b, len, (d->size - len) / 2, &e);
		vmie_image_pread(d, b, len, d->size - len, &e);
		vmie_image_block_status(d, 0, d->size, &pnum, &st, &e);
	}
	vmie_lvm_free(&l);
}

static void fuzz_disk(const uint8_t *data, size_t size,
		      struct vmie_image **disk)
{
	struct vmie_err e = { 0 };
	struct vmie_src *src;
	struct vmie_open_opts o = { .format = "raw" };
	*disk = NULL;
	if (vmie_src_open_mem(data, size, false, "fuzz", &src, &e))
		return;
	vmie_image_open_src(src, &o, disk, &e);
	vmie_src_unref(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_image *disk, *halves[2];
	struct vmie_image *devs[MAX_DEVS];
	struct vmie_ptable pt;
	struct vmie_err e = { 0 };
	unsigned n = 0;

	fuzz_disk(data, size, &disk);
	if (!disk)
		return 0;
	devs[n++] = disk;
	if (!vmie_ptable_read(disk, &pt, &e)) {
		for (unsigned i = 0; i < pt.n_parts && n < MAX_DEVS; i++) {
			const struct vmie_partition *p = &pt.parts[i];
			uint8_t b[512];
			if (p->extended ||
			    vmie_image_window(disk, p->start, p->size, NULL,
					      &devs[n], &e))
				continue;
			if (devs[n]->size >= sizeof b)
				vmie_image_pread(devs[n], b, sizeof b,
						 devs[n]->size - sizeof b, &e);
			n++;
		}
		vmie_ptable_free(&pt);
	}
	vmie_lvm_is_pv(disk);
	fuzz_lvs(devs, n);
	for (unsigned i = 1; i < n; i++)
		vmie_image_close(devs[i]);

	/* two disks of one VM: the two halves of the input */
	fuzz_disk(data, size / 2, &halves[0]);
	fuzz_disk(data + size / 2, size - size / 2, &halves[1]);
	if (halves[0] && halves[1])
		fuzz_lvs(halves, 2);
	vmie_image_close(halves[0]);
	vmie_image_close(halves[1]);
	vmie_image_close(disk);
	return 0;
}
