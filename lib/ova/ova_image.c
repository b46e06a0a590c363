/*
 * The "ova" image driver: an OVA (DSP0243 tar of an OVF descriptor, disks,
 * manifest) seen as one of its disks.  open() validates the whole OVA
 * (ova.c), then opens disk opts->ova_disk in place, as a window onto its
 * tar member, under the driver its content probes as (stream-optimized
 * VMDK normally).  Reads, block status and checks go to that inner image;
 * info adds the OVF summary.  The writer is in ova_write.c.
 */
#include "ova.h"
#include "tar.h"
#include "../core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ova_state {
	struct vmie_ova *ova;
	struct vmie_image *inner;
	size_t disk;
};

static int ova_img_probe(struct vmie_src *src, const uint8_t *head,
			 size_t len)
{
	bool first_ovf;
	(void)head, (void)len;
	if (!vmie_ova_probe(src, &first_ovf))
		return 0;
	/* a tar without an .ovf first still comes here, to be refused with
	 * a clear message rather than read as a raw disk */
	return first_ovf ? 100 : 20;
}

static void ova_img_close(struct vmie_image *img)
{
	struct ova_state *s = img->priv;
	if (!s)
		return;
	vmie_image_close(s->inner);
	vmie_ova_close(s->ova);
	free(s);
	img->priv = NULL;
}

static int ova_img_open(struct vmie_image *img, const struct vmie_open_opts *o,
			struct vmie_err *err)
{
	struct ova_state *s = calloc(1, sizeof *s);
	int r;
	if (!s)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	img->priv = s;
	r = vmie_ova_open_src(img->src, &s->ova, err);
	if (r)
		goto out;
	if (!s->ova->ovf->n_disks) {
		r = VMIE_ERR_RULE(err, VMIE_EFORMAT, "FMT-001",
				  "%s: the OVF describes no disks", img->name);
		goto out;
	}
	s->disk = o ? o->ova_disk : 0;
	r = vmie_ova_open_disk(s->ova, s->disk, o, &s->inner, err);
	if (r)
		goto out;
	img->size = s->inner->size;
	snprintf(img->subformat, sizeof img->subformat, "%.8s%s%.38s",
		 s->inner->drv->name, s->inner->subformat[0] ? "," : "",
		 s->inner->subformat);
out:
	if (r)
		ova_img_close(img);
	return r;
}

static int ova_img_pread(struct vmie_image *img, void *buf, size_t len,
			 uint64_t off, struct vmie_err *err)
{
	struct ova_state *s = img->priv;
	return vmie_image_pread(s->inner, buf, len, off, err);
}

static int ova_img_block_status(struct vmie_image *img, uint64_t off,
				uint64_t max_len, uint64_t *pnum,
				unsigned *status, struct vmie_err *err)
{
	struct ova_state *s = img->priv;
	return vmie_image_block_status(s->inner, off, max_len, pnum, status,
				       err);
}

static int ova_img_check(struct vmie_image *img, struct vmie_check_result *res,
			 struct vmie_err *err)
{
	struct ova_state *s = img->priv;
	return vmie_image_check(s->inner, res, err);
}

static int ova_img_info(struct vmie_image *img, struct vmie_image_info *info,
			struct vmie_err *err)
{
	struct ova_state *s = img->priv;
	const struct vmie_ovf *ovf = s->ova->ovf;
	const struct vmie_ovf_disk *d = &ovf->disks[s->disk];
	struct vmie_image_info in;
	char h[32];
	int r = vmie_image_info(s->inner, &in, err);
	if (r)
		return r;
	info->allocated = in.allocated;
	info->cluster_size = in.cluster_size;
	vmie_strlcpy(info->creator, in.creator, sizeof info->creator);
	vmie_info_add(info, "ovf", "%s", s->ova->ovf_member);
	vmie_info_add(info, "vm name", "%s", ovf->name ? ovf->name : "");
	vmie_info_add(info, "os", "%s%s%s%s%s", ovf->os_id ? ovf->os_id : "?",
		      ovf->os_type ? " " : "", ovf->os_type ? ovf->os_type : "",
		      ovf->os_description ? ": " : "",
		      ovf->os_description ? ovf->os_description : "");
	if (ovf->firmware)
		vmie_info_add(info, "firmware", "%s", ovf->firmware);
	vmie_info_add(info, "disks", "%zu", ovf->n_disks);
	vmie_info_add(info, "disk", "%zu: %s (%s) on %s, inner format %s%s%s",
		      s->disk, d->disk_id, s->inner->src->name,
		      vmie_ovf_bus_name(d->at.bus), in.format,
		      in.subformat[0] ? " " : "", in.subformat);
	if (d->capacity && d->capacity != img->size)
		vmie_info_add(info, "warning", "the OVF capacity of disk %zu "
			      "is %s, the image holds %llu bytes", s->disk,
			      vmie_human_size(h, sizeof h, d->capacity),
			      (unsigned long long)img->size);
	vmie_info_add(info, "nics", "%zu", ovf->n_nics);
	unsigned cd = 0;
	for (size_t i = 0; i < ovf->n_removables; i++)
		cd += ovf->removables[i].kind == VMIE_OVF_CDROM;
	vmie_info_add(info, "cdroms", "%u", cd);
	vmie_info_add(info, "manifest", "%s", s->ova->mf ?
		      s->ova->mf->name : "none");
	if (s->ova->cert)
		vmie_info_add(info, "certificate", "%s", s->ova->cert->name);
	for (unsigned i = 0; i < s->ova->n_warn; i++)
		vmie_info_add(info, "warning", "%s", s->ova->warn[i]);
	for (unsigned i = 0; i < in.n_extra; i++)
		vmie_info_add(info, in.extra[i].key, "%s", in.extra[i].val);
	return 0;
}

extern const struct vmie_writer_ops vmie_ova_writer_ops;
static const char *const ova_subformats[] = { "", NULL };

const struct vmie_image_driver vmie_drv_ova = {
	.name = "ova",
	.description = "OVA: tar of an OVF descriptor and its disks "
		       "(read in place)",
	.probe = ova_img_probe,
	.open = ova_img_open,
	.pread = ova_img_pread,
	.block_status = ova_img_block_status,
	.info = ova_img_info,
	.check = ova_img_check,
	.close = ova_img_close,
	.writer = &vmie_ova_writer_ops,
	.write_subformats = ova_subformats,
};
