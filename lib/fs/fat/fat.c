/* fat file system driver: placeholder until the driver lands. */
#include "fs/fs.h"

const struct vmie_fs_driver vmie_fsdrv_fat = {
	.name = "fat",
};
