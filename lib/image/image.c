/* The image framework: probing, opening, bounds-checked access, info and
 * output-format parsing.  Drivers live in their own files; see image.h. */
#include "image.h"
#include "../core/checked.h"
#include "../core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROBE_HEAD (64 * 1024)

void vmie_info_add(struct vmie_image_info *info, const char *key,
		   const char *fmt, ...)
{
	va_list ap;
	if (info->n_extra >= VMIE_INFO_MAX_EXTRA)
		return;
	vmie_strlcpy(info->extra[info->n_extra].key, key,
		     sizeof info->extra[0].key);
	va_start(ap, fmt);
	vsnprintf(info->extra[info->n_extra].val, sizeof info->extra[0].val,
		  fmt, ap);
	va_end(ap);
	info->n_extra++;
}

void vmie_check_add(struct vmie_check_result *r, bool corruption,
		    const char *fmt, ...)
{
	va_list ap;
	if (corruption)
		r->corruptions++;
	else
		r->leaks++;
	if (r->n_msgs >= VMIE_CHECK_MAX_MSGS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->msgs[r->n_msgs], sizeof r->msgs[0], fmt, ap);
	va_end(ap);
	r->n_msgs++;
}

const char *vmie_create_opt(const struct vmie_create_opts *o, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; o && i < o->n_kv; i++)
		if (!strncmp(o->kv[i], key, kl) && o->kv[i][kl] == '=')
			return o->kv[i] + kl + 1;
	return NULL;
}

const struct vmie_image_driver *vmie_image_driver_find(const char *name)
{
	if (!strcasecmp(name, "vpc"))
		name = "vhd";
	for (size_t i = 0; vmie_image_drivers[i]; i++)
		if (!strcasecmp(vmie_image_drivers[i]->name, name))
			return vmie_image_drivers[i];
	return NULL;
}

/* Signatures checked when no driver claims a file (raw always would):
 * formats vmie refuses (driver NULL), and formats it reads whose driver
 * rejected the header (driver name: the file is corrupt, not raw). */
static const struct {
	const char *magic;
	size_t off, len;
	const char *what;
	const char *driver;
	const char *name;         /* short format name for reports */
} known_magics[] = {
	{ "<<< ", 0, 4, "VirtualBox VDI", NULL, "vdi" },   /* "<<< Oracle VM VirtualBox..." */
	{ "QFI\xfb", 0, 4, "qcow", "qcow2", "qcow" },
	{ "COWD", 0, 4, "VMware ESX vmfsSparse (COWD)", NULL, "vmdk" },
	{ "QED\0", 0, 4, "QED", NULL, "qed" },
	{ "WithoutFreeSpace", 0, 16, "Parallels", NULL, "parallels" },
	{ "WithouFreSpacExt", 0, 16, "Parallels", NULL, "parallels" },
	{ "conectix", 0, 8, "VHD", "vhd", "vhd" },
	{ "vhdxfile", 0, 8, "VHDX", "vhdx", "vhdx" },
	{ "KDMV", 0, 4, "VMDK", "vmdk", "vmdk" },
};

/* Index in known_magics of the signature at the start of head, or -1. */
static int image_known_magic(const uint8_t *head, size_t n)
{
	int k = -1;
	for (size_t i = 0; i < sizeof known_magics / sizeof *known_magics; i++)
		if (n >= known_magics[i].off + known_magics[i].len &&
		    !memcmp(head + known_magics[i].off, known_magics[i].magic,
			    known_magics[i].len))
			k = (int)i;
	return k;
}

const char *vmie_image_refused_format(struct vmie_src *src, char *name,
				      size_t size)
{
	uint8_t head[16];
	size_t n = src->size < sizeof head ? (size_t)src->size : sizeof head;
	if (!n || vmie_src_pread(src, head, n, 0, NULL))
		return NULL;
	int k = image_known_magic(head, n);
	if (k < 0 || known_magics[k].driver)
		return NULL;
	vmie_strlcpy(name, known_magics[k].name, size);
	return known_magics[k].what;
}

const struct vmie_image_driver *vmie_image_probe(struct vmie_src *src,
						 struct vmie_err *err)
{
	size_t n = src->size < PROBE_HEAD ? (size_t)src->size : PROBE_HEAD;
	uint8_t *head = malloc(n ? n : 1);
	const struct vmie_image_driver *best = NULL;
	int best_score = 0;
	if (!head) {
		VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		return NULL;
	}
	if (n && vmie_src_pread(src, head, n, 0, err)) {
		free(head);
		return NULL;
	}
	for (size_t i = 0; vmie_image_drivers[i]; i++) {
		const struct vmie_image_driver *d = vmie_image_drivers[i];
		if (!d->probe)
			continue;
		int s = d->probe(src, head, n);
		if (s > best_score) {
			best_score = s;
			best = d;
		}
	}
	/* Raw takes anything (score 1): first make sure the file is not a
	 * format vmie recognises only to refuse it (VDI, qcow v1, QED...). */
	if (!best || best_score <= 1) {
		int k = image_known_magic(head, n);
		if (k >= 0 && !known_magics[k].driver) {
			VMIE_ERR_RULE(err, VMIE_EFORMAT, "FMT-001",
				      "%s: looks like %s, which vmie cannot read "
				      "(import formats: OVA, VMDK, VHD, VHDX, "
				      "raw; also qcow2; -f raw reads it as a "
				      "raw disk anyway)", src->name,
				      known_magics[k].what);
			best = NULL;
		} else if (k >= 0) {
			VMIE_CORRUPT(err, "%s: has a %s signature but its header "
				     "does not validate ('vmie info -f %s' names "
				     "the problem; -f raw reads it as raw)",
				     src->name, known_magics[k].what,
				     known_magics[k].driver);
			best = NULL;
		} else if (!best) {
			VMIE_ERR_RULE(err, VMIE_EFORMAT, "FMT-001",
				      "%s: format not recognised (use -f raw to "
				      "read it as a raw disk)", src->name);
		}
	}
	free(head);
	return best;
}

int vmie_image_open_src(struct vmie_src *src, const struct vmie_open_opts *o,
			struct vmie_image **out, struct vmie_err *err)
{
	static const struct vmie_open_opts defaults;
	const struct vmie_image_driver *d;
	int r;
	if (!o)
		o = &defaults;
	if (o->format) {
		d = vmie_image_driver_find(o->format);
		if (!d)
			return VMIE_ERR(err, VMIE_EINVAL,
					"unknown format '%s'", o->format);
		if (!d->open)
			return VMIE_ERR(err, VMIE_EUNSUPP,
					"format '%s' cannot be read", d->name);
	} else {
		d = vmie_image_probe(src, err);
		if (!d)
			return err ? err->code : VMIE_EFORMAT;
	}
	struct vmie_image *img = calloc(1, sizeof *img);
	if (!img || !(img->name = strdup(src->name))) {
		free(img);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	img->drv = d;
	img->src = src;
	vmie_src_ref(src);
	img->budget = o->budget ? o->budget : src->budget;
	if (img->budget)
		vmie_budget_ref(img->budget);
	else if (!(img->budget = vmie_budget_new())) {
		vmie_src_unref(img->src);
		free(img->name);
		free(img);
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	}
	if (!src->budget) {
		src->budget = img->budget;
		vmie_budget_ref(src->budget);
	}
	r = d->open(img, o, err);
	if (r) {
		if (err && !strstr(err->msg, d->name))
			vmie_err_prefix(err, "%s", d->name);
		vmie_src_unref(img->src);
		vmie_budget_unref(img->budget);
		free(img->name);
		free(img);
		return r;
	}
	if (img->size > VMIE_MAX_VIRTUAL_SIZE) {
		r = VMIE_CORRUPT(err, "%s: virtual size %llu bytes is absurd "
				 "(limit %llu)", img->name,
				 (unsigned long long)img->size,
				 (unsigned long long)VMIE_MAX_VIRTUAL_SIZE);
		vmie_image_close(img);
		return r;
	}
	*out = img;
	return 0;
}

int vmie_image_open(const char *path, const struct vmie_open_opts *o,
		    struct vmie_image **out, struct vmie_err *err)
{
	struct vmie_src *src;
	int r = vmie_src_open_file(path, &src, err);
	if (r)
		return r;
	r = vmie_image_open_src(src, o, out, err);
	vmie_src_unref(src);
	return r;
}

void vmie_image_close(struct vmie_image *img)
{
	if (!img)
		return;
	if (img->drv->close)
		img->drv->close(img);
	vmie_src_unref(img->src);
	vmie_budget_unref(img->budget);
	free(img->name);
	free(img);
}

void vmie_image_share_budget(struct vmie_image *img,
			     const struct vmie_image *base, bool meter)
{
	img->budget = base->budget;
	vmie_budget_ref(img->budget);
	if (meter)
		img->flags |= VMIE_IMAGE_METERED;
}

int vmie_image_pread(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	if (vmie_range_outside(off, len, img->size))
		return VMIE_ERR(err, VMIE_ERANGE,
				"%s: read of %zu bytes at %llu is past the end "
				"of the disk (%llu bytes)", img->name, len,
				(unsigned long long)off,
				(unsigned long long)img->size);
	if (!len)
		return 0;
	/* A metered read is counted once, by the outermost metered device
	 * (a window on a volume on a window reads through all three). */
	static _Thread_local int meter_depth;
	if (!(img->flags & VMIE_IMAGE_METERED) || meter_depth)
		return img->drv->pread(img, buf, len, off, err);
	struct vmie_err e2;
	if (vmie_budget_read(img->budget, len, img->name, err ? err : &e2))
		return VMIE_ELIMIT;
	meter_depth++;
	int r = img->drv->pread(img, buf, len, off, err);
	meter_depth--;
	return r;
}

int vmie_image_pwrite(struct vmie_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	if (!img->drv->pwrite)
		return VMIE_ERR(err, VMIE_EUNSUPP,
				"%s: %s images are read-only here (use an "
				"overlay)", img->name, img->drv->name);
	if (vmie_range_outside(off, len, img->size))
		return VMIE_ERR(err, VMIE_ERANGE,
				"%s: write past the end of the disk", img->name);
	return img->drv->pwrite(img, buf, len, off, err);
}

int vmie_image_block_status(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err)
{
	if (off >= img->size)
		return VMIE_ERR(err, VMIE_ERANGE, "%s: block status past the end",
				img->name);
	if (max_len > img->size - off)
		max_len = img->size - off;
	if (!img->drv->block_status) {
		*pnum = max_len;
		*status = VMIE_BS_DATA;
		return 0;
	}
	int r = img->drv->block_status(img, off, max_len, pnum, status, err);
	if (!r && (*pnum == 0 || *pnum > max_len))
		return VMIE_ERR(err, VMIE_EIO, "%s: driver %s returned a bad "
				"block status length", img->name, img->drv->name);
	return r;
}

int vmie_image_info(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err)
{
	memset(info, 0, sizeof *info);
	vmie_strlcpy(info->format, img->drv->name, sizeof info->format);
	vmie_strlcpy(info->subformat, img->subformat, sizeof info->subformat);
	info->virtual_size = img->size;
	info->file_size = img->src->size;
	info->allocated = UINT64_MAX;
	if (img->drv->info)
		return img->drv->info(img, info, err);
	return 0;
}

int vmie_image_check(struct vmie_image *img, struct vmie_check_result *res,
		     struct vmie_err *err)
{
	memset(res, 0, sizeof *res);
	if (!img->drv->check)
		return 0;
	return img->drv->check(img, res, err);
}

int vmie_parse_output_format(const char *spec,
			     const struct vmie_image_driver **drv,
			     char *sub, size_t sub_size, struct vmie_err *err)
{
	char name[32];
	const char *comma = strchr(spec, ',');
	size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
	if (n >= sizeof name)
		return VMIE_ERR(err, VMIE_EINVAL, "unknown format '%s'", spec);
	memcpy(name, spec, n);
	name[n] = 0;
	const struct vmie_image_driver *d = vmie_image_driver_find(name);
	if (!d)
		return VMIE_ERR(err, VMIE_EINVAL, "unknown output format '%s'",
				name);
	if (!d->writer)
		return VMIE_ERR(err, VMIE_EUNSUPP, "format '%s' cannot be "
				"written", d->name);
	const char *want = comma ? comma + 1 : NULL;
	const char *const *subs = d->write_subformats;
	if (!want || !*want) {
		vmie_strlcpy(sub, subs && subs[0] ? subs[0] : "", sub_size);
	} else {
		bool found = false;
		for (size_t i = 0; subs && subs[i]; i++)
			if (!strcasecmp(subs[i], want)) {
				vmie_strlcpy(sub, subs[i], sub_size);
				found = true;
			}
		if (!found) {
			char list[256] = "";
			for (size_t i = 0; subs && subs[i]; i++) {
				strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
				strncat(list, subs[i], sizeof list - strlen(list) - 1);
			}
			return VMIE_ERR(err, VMIE_EINVAL,
					"%s: unknown subformat '%s' (known: %s)",
					d->name, want, list[0] ? list : "none");
		}
	}
	*drv = d;
	return 0;
}
