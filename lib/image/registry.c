/* The list of image drivers, in probe order.  Adding a format: one file
 * defining a struct vmie_image_driver, one line here. */
#include "image.h"

extern const struct vmie_image_driver vmie_drv_ova;
extern const struct vmie_image_driver vmie_drv_vmdk;
extern const struct vmie_image_driver vmie_drv_vhdx;
extern const struct vmie_image_driver vmie_drv_vhd;
extern const struct vmie_image_driver vmie_drv_qcow2;
extern const struct vmie_image_driver vmie_drv_raw;

const struct vmie_image_driver *const vmie_image_drivers[] = {
	&vmie_drv_ova,
	&vmie_drv_vmdk,
	&vmie_drv_vhdx,
	&vmie_drv_vhd,
	&vmie_drv_qcow2,
	&vmie_drv_raw,    /* last: scores 1 on anything */
	NULL,
};
