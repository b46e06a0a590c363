/* The disks of a VM as the rules see them (vm.h).  The rules index inputs
 * by inspection disk number (the boot disk's format for BOOT-006, FS-004,
 * BOOT-008), so vmie_vm_finish() puts the inputs of the opened disks
 * first, in order, and the refused ones after them. */
#include "rules/vm.h"
#include "core/err.h"
#include "core/util.h"
#include "io/io.h"
#include "ova/ova.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vmie_check_input *vm_add(struct vmie_vm *vm, const char *name)
{
	if (vm->n == vm->cap) {
		unsigned ncap = vm->cap ? vm->cap * 2 : 8;
		void *a = realloc(vm->inputs, ncap * sizeof *vm->inputs);
		if (!a)
			return NULL;
		vm->inputs = a;
		a = realloc(vm->imgs, ncap * sizeof *vm->imgs);
		if (!a)
			return NULL;
		vm->imgs = a;
		a = realloc(vm->names, ncap * sizeof *vm->names);
		if (!a)
			return NULL;
		vm->names = a;
		a = realloc(vm->in_names, ncap * sizeof *vm->in_names);
		if (!a)
			return NULL;
		vm->in_names = a;
		a = realloc(vm->in_img, ncap * sizeof *vm->in_img);
		if (!a)
			return NULL;
		vm->in_img = a;
		vm->cap = ncap;
	}
	if (!(vm->in_names[vm->n] = strdup(name)))
		return NULL;
	vm->in_img[vm->n] = -1;
	struct vmie_check_input *ci = &vm->inputs[vm->n++];
	memset(ci, 0, sizeof *ci);
	return ci;
}

static int vm_nomem(struct vmie_err *err)
{
	return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
}

/* Record the image of the last input (inspected as disk vm->n_img). */
static int vm_add_image(struct vmie_vm *vm, struct vmie_image *img,
			struct vmie_err *err)
{
	vm->imgs[vm->n_img] = img;
	vm->names[vm->n_img] = strdup(vm->in_names[vm->n - 1]);
	if (!vm->names[vm->n_img]) {
		vmie_image_close(img);
		return vm_nomem(err);
	}
	vm->in_img[vm->n - 1] = (int)vm->n_img++;
	return 0;
}

/* Record a refusal by rule as the input's verdict material. */
static void input_refused(struct vmie_check_input *ci, const char *format,
			  const struct vmie_err *e)
{
	if (format && !ci->format[0])
		vmie_strlcpy(ci->format, format, sizeof ci->format);
	vmie_strlcpy(ci->open_error, e->msg, sizeof ci->open_error);
	vmie_strlcpy(ci->open_rule, e->rule, sizeof ci->open_rule);
}

/* One image file as one disk. */
static int vm_open_disk(struct vmie_vm *vm, const char *name,
			struct vmie_src *src, struct vmie_err *err)
{
	struct vmie_err e = { 0 };
	struct vmie_image *img = NULL;
	struct vmie_check_input *ci = vm_add(vm, name);
	char fmt[16] = "";
	const char *what;

	if (!ci)
		return vm_nomem(err);
	if (vmie_image_open_src(src, NULL, &img, &e)) {
		if (!e.rule[0]) {
			if (err)
				*err = e;
			return e.code ? e.code : VMIE_EIO;
		}
		/* name the refused format in FMT-001's list */
		if (!strcmp(e.rule, "FMT-001")) {
			input_refused(ci, vmie_image_refused_format(src, fmt, sizeof fmt) ?
				      fmt : "unrecognised", &e);
		} else {
			const struct vmie_image_driver *d = vmie_image_probe(src, NULL);
			input_refused(ci, d ? d->name : NULL, &e);
		}
		return 0;
	}
	if (!strcmp(img->drv->name, "raw") &&
	    (what = vmie_image_refused_format(src, fmt, sizeof fmt))) {
		snprintf(e.msg, sizeof e.msg, "%s: looks like %s, which is "
			 "not an import format", name, what);
		vmie_strlcpy(e.rule, "FMT-001", sizeof e.rule);
		input_refused(ci, fmt, &e);
		vmie_image_close(img);
		return 0;
	}
	vmie_strlcpy(ci->format, img->drv->name, sizeof ci->format);
	vmie_strlcpy(ci->subformat, img->subformat, sizeof ci->subformat);
	ci->virtual_size = img->size;
	return vm_add_image(vm, img, err);
}

/* Every digest of the OVA's manifest.  A mismatch is FMT-005 on the disk
 * whose file it names (the disk is still inspected: its data can be read,
 * it is just not what was exported), or on the first disk when it names
 * the descriptor. */
static int vm_verify_ova(struct vmie_vm *vm, unsigned first,
			 volatile int *cancel, struct vmie_err *err)
{
	const struct vmie_ovf *ovf = vm->ova->ovf;
	struct vmie_ova_verify v;
	struct vmie_err e = { 0 };
	unsigned at = first;

	if (!vmie_ova_verify_manifest(vm->ova, &v, cancel, &e))
		return 0;
	if (!e.rule[0] || first >= vm->n) {
		if (err)
			*err = e;
		return e.code ? e.code : VMIE_EIO;
	}
	for (size_t i = 0; i < ovf->n_disks && first + i < vm->n; i++) {
		const struct vmie_ovf_disk *dk = &ovf->disks[i];
		char q[300];
		if (dk->file_index < 0)
			continue;
		snprintf(q, sizeof q, "'%s'", ovf->files[dk->file_index].href);
		if (strstr(e.msg, q)) {
			at = first + (unsigned)i;
			break;
		}
	}
	if (!vm->inputs[at].open_rule[0])
		input_refused(&vm->inputs[at], NULL, &e);
	return 0;
}

/* An OVA as the whole VM: every disk of its OVF. */
static int vm_open_ova(struct vmie_vm *vm, const char *name,
		       struct vmie_src *src, bool verify,
		       volatile int *cancel, struct vmie_err *err)
{
	struct vmie_err e = { 0 };
	struct vmie_check_input *ci;

	if (vmie_ova_open_src(src, &vm->ova, &e)) {
		if (!e.rule[0]) {
			if (err)
				*err = e;
			return e.code ? e.code : VMIE_EIO;
		}
		/* a broken or unsupported OVA: one input refused by rule */
		if (!(ci = vm_add(vm, name)))
			return vm_nomem(err);
		input_refused(ci, "ova", &e);
		return 0;
	}
	const struct vmie_ovf *ovf = vm->ova->ovf;
	unsigned first = vm->n;
	if (!ovf->n_disks) {
		if (!(ci = vm_add(vm, name)))
			return vm_nomem(err);
		snprintf(e.msg, sizeof e.msg, "%s: the OVF describes no "
			 "disks", name);
		vmie_strlcpy(e.rule, "FMT-001", sizeof e.rule);
		input_refused(ci, "ova", &e);
		return 0;
	}
	for (size_t i = 0; i < ovf->n_disks; i++) {
		const struct vmie_ovf_disk *dk = &ovf->disks[i];
		const char *member = dk->file_index >= 0 ?
			ovf->files[dk->file_index].href : dk->disk_id;
		struct vmie_image *img = NULL;
		char dname[512];

		snprintf(dname, sizeof dname, "%s:%s", name,
			 member ? member : "?");
		if (!(ci = vm_add(vm, dname)))
			return vm_nomem(err);
		vmie_err_clear(&e);
		if (vmie_ova_open_disk(vm->ova, i, NULL, &img, &e)) {
			if (!e.rule[0]) {
				if (err)
					*err = e;
				return e.code ? e.code : VMIE_EIO;
			}
			input_refused(ci, !strcmp(e.rule, "FMT-001") ?
				      "unrecognised" : NULL, &e);
			continue;
		}
		vmie_strlcpy(ci->format, img->drv->name, sizeof ci->format);
		vmie_strlcpy(ci->subformat, img->subformat,
			     sizeof ci->subformat);
		ci->virtual_size = img->size;
		int r = vm_add_image(vm, img, err);
		if (r)
			return r;
	}
	return verify ? vm_verify_ova(vm, first, cancel, err) : 0;
}

int vmie_vm_add_src(struct vmie_vm *vm, const char *name,
		    struct vmie_src *src, bool verify_manifest,
		    volatile int *cancel, struct vmie_err *err)
{
	bool first_ovf = false;

	if (vmie_ova_probe(src, &first_ovf)) {
		if (vm->n || vm->ova)
			return VMIE_ERR(err, VMIE_EINVAL, "%s is an OVA, a "
					"whole VM: give it on its own, not with "
					"other disks", name);
		if (!(vm->ova_name = strdup(name)))
			return vm_nomem(err);
		return vm_open_ova(vm, name, src, verify_manifest, cancel,
				   err);
	}
	if (vm->ova_name)
		return VMIE_ERR(err, VMIE_EINVAL, "%s is an OVA, a whole VM: "
				"give it on its own, not with other disks "
				"(%s)", vm->ova_name, name);
	return vm_open_disk(vm, name, src, err);
}

/* Inspected inputs first (input i of the rules is inspection disk i), the
 * refused ones after them; each group keeps the order given. */
static int vm_order(struct vmie_vm *vm, struct vmie_err *err)
{
	size_t n = vm->n ? vm->n : 1;
	struct vmie_check_input *in = malloc(n * sizeof *in);
	char **nm = malloc(n * sizeof *nm);
	int *im = malloc(n * sizeof *im);
	unsigned k = 0;
	if (!in || !nm || !im) {
		free(in), free(nm), free(im);
		return vm_nomem(err);
	}
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < vm->n; i++)
			if ((vm->in_img[i] >= 0) == !pass) {
				in[k] = vm->inputs[i];
				nm[k] = vm->in_names[i];
				im[k++] = vm->in_img[i];
			}
	memcpy(vm->inputs, in, vm->n * sizeof *in);
	memcpy(vm->in_names, nm, vm->n * sizeof *nm);
	memcpy(vm->in_img, im, vm->n * sizeof *im);
	free(in), free(nm), free(im);
	return 0;
}

int vmie_vm_finish(struct vmie_vm *vm, const struct vmie_verify_opts *o,
		   struct vmie_err *err)
{
	struct vmie_verify_opts vo = { 0 };
	int r = vm_order(vm, err);
	if (r)
		return r;
	if (o)
		vo = *o;
	vo.quick = vo.quick || vm->quick;
	vm->vr = calloc(vm->n ? vm->n : 1, sizeof *vm->vr);
	if (!vm->vr)
		return vm_nomem(err);
	for (unsigned i = 0; i < vm->n; i++) {
		struct vmie_err e = { 0 };
		if (vm->in_img[i] < 0 || vm->inputs[i].open_rule[0])
			continue;
		if (!vmie_image_verify(vm->imgs[vm->in_img[i]], &vo,
				       &vm->vr[i], &e))
			continue;
		if (!e.rule[0]) {
			if (err)
				*err = e;
			return e.code ? e.code : VMIE_EIO;
		}
		input_refused(&vm->inputs[i], NULL, &e);
	}
	return 0;
}

struct vmie_image *vmie_vm_input_image(const struct vmie_vm *vm, unsigned i)
{
	if (i >= vm->n || vm->in_img[i] < 0)
		return NULL;
	return vm->imgs[vm->in_img[i]];
}

void vmie_vm_free(struct vmie_vm *vm)
{
	for (unsigned i = 0; i < vm->n_img; i++) {
		vmie_image_close(vm->imgs[i]);
		free(vm->names[i]);
	}
	for (unsigned i = 0; i < vm->n; i++)
		free(vm->in_names[i]);
	free(vm->imgs);
	free(vm->names);
	free(vm->in_names);
	free(vm->in_img);
	free(vm->inputs);
	free(vm->vr);
	vmie_ova_close(vm->ova);
	free(vm->ova_name);
	memset(vm, 0, sizeof *vm);
}
