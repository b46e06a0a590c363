/* The list of file system drivers, in probe order.  Adding a file system:
 * one directory with a struct vmie_fs_driver, one line here. */
#include "fs/fs.h"

extern const struct vmie_fs_driver vmie_fsdrv_ext;
extern const struct vmie_fs_driver vmie_fsdrv_xfs;
extern const struct vmie_fs_driver vmie_fsdrv_btrfs;
extern const struct vmie_fs_driver vmie_fsdrv_ntfs;
extern const struct vmie_fs_driver vmie_fsdrv_fat;
extern const struct vmie_fs_driver vmie_fsdrv_jfs;

const struct vmie_fs_driver *const vmie_fs_drivers[] = {
	&vmie_fsdrv_ext,
	&vmie_fsdrv_xfs,
	&vmie_fsdrv_btrfs,
	&vmie_fsdrv_ntfs,
	&vmie_fsdrv_fat,
	&vmie_fsdrv_jfs,
	NULL,
};
