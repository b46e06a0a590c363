/* Fuzz target for file system probing: every driver and every container
 * signature (swap, LUKS, BitLocker, LVM2, MD RAID) on a memory device, then
 * open and a shallow walk of whatever was recognised. */
#include <stdint.h>
#include <stdlib.h>

#include "fs_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_image *img = fuzz_fs_image(data, size);
	struct vmie_fs_probe p;
	struct vmie_fs *fs = NULL;
	if (!img)
		return 0;
	vmie_fs_probe(img, &p);
	if (!vmie_fs_open(img, &fs, NULL)) {
		fuzz_fs_walk(fs, "/", 2);
		vmie_fs_exists(fs, "/etc/os-release");
		vmie_fs_close(fs);
	}
	vmie_image_close(img);
	return 0;
}
