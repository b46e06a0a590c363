/* vhd driver: placeholder until the driver lands (not registered for
 * probing; opening says so). */
#include "../image.h"

static int ph_open(struct vmie_image *img, const struct vmie_open_opts *o,
		   struct vmie_err *err)
{
	(void)o;
	return VMIE_ERR(err, VMIE_EUNSUPP, "%s: vhd support is not built yet",
			img->name);
}

const struct vmie_image_driver vmie_drv_vhd = {
	.name = "vhd",
	.open = ph_open,
};
