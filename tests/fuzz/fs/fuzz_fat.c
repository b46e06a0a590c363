/* Fuzz target for the FAT driver: the input is a device; the FAT driver is
 * used directly (whatever the other drivers think), then the tree is walked
 * through the framework. */
#include <stdint.h>
#include <stdlib.h>

#include "fs_walk.h"

extern const struct vmie_fs_driver vmie_fsdrv_fat;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmie_image *img = fuzz_fs_image(data, size);
	struct vmie_fs fs = { .drv = &vmie_fsdrv_fat };
	if (!img)
		return 0;
	fs.info.free = UINT64_MAX;
	if (vmie_fsdrv_fat.probe(img, &fs.info) > 0) {
		fs.dev = img;
		if (!vmie_fsdrv_fat.open(&fs, NULL)) {
			fuzz_fs_walk(&fs, "/", 0);
			vmie_fs_exists(&fs, "/EFI/BOOT/BOOTX64.EFI");
			vmie_fsdrv_fat.close(&fs);
		}
	}
	vmie_image_close(img);
	return 0;
}
