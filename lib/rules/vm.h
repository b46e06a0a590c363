/*
 * A VM as the rules see it: the inputs a user named (disk images, or one
 * OVA whose OVF lists the disks), each opened or refused by rule, the
 * images that opened (in input order, which is inspection's disk order),
 * and what verification proved of each.  `vmie check` and the import
 * pipeline (lib/task) assemble it the same way:
 *
 *   vmie_vm_add_src() for each source in the order given (the boot disk
 *   first); an OVA must come alone;
 *   vmie_vm_finish() puts the inputs that opened first (input i of the
 *   rules is inspection disk i, refused inputs after them) and verifies
 *   every opened disk as convert will read it (lib/image/verify.c): a
 *   failure by rule (corrupt tables or data, a budget exceeded) becomes
 *   that input's refusal (FMT-005), and the disk is still inspected;
 *   then inputs/n go to vmie_check_opts, imgs/names/n_img to
 *   vmie_inspect, ova's OVF to vmie_insp_vm_from_ovf.
 *
 * A refusal by rule is not an error: it is recorded on the input
 * (open_error, open_rule) for the rules to report.  The functions fail
 * (negative VMIE_E*) only when the check cannot run at all (out of memory,
 * an I/O error that names no rule, a cancellation).
 */
#ifndef VMIE_RULES_VM_H
#define VMIE_RULES_VM_H

#include <stdbool.h>

#include "image/image.h"
#include "rules/rules.h"

struct vmie_src;
struct vmie_ova;

struct vmie_vm {
	unsigned n, cap;                 /* inputs */
	struct vmie_check_input *inputs;
	char **in_names;                 /* name per input ("x.ova:member") */
	int *in_img;                     /* image index per input, -1 refused */
	unsigned n_img;                  /* opened images, in input order */
	struct vmie_image **imgs;
	char **names;
	struct vmie_ova *ova;            /* when the VM is an OVA */
	char *ova_name;                  /* its name */
	struct vmie_verify_result *vr;   /* per input (after finish) */
	bool quick;                      /* verify tables only */
};

/* Add the disks of src, named name in messages: one disk image, or every
 * disk of an OVA (with verify_manifest, every digest of its manifest is
 * checked too: a mismatch is FMT-005 on the disk it names).  VMIE_EINVAL
 * when an OVA comes with other inputs ("an OVA is a whole VM"). */
int vmie_vm_add_src(struct vmie_vm *vm, const char *name,
		    struct vmie_src *src, bool verify_manifest,
		    volatile int *cancel, struct vmie_err *err);
/* Order the inputs and verify the opened disks (o may be NULL: a full
 * verification; vm->quick makes it tables only). */
int vmie_vm_finish(struct vmie_vm *vm, const struct vmie_verify_opts *o,
		   struct vmie_err *err);
/* The disk image that input i opened as, or NULL when it was refused. */
struct vmie_image *vmie_vm_input_image(const struct vmie_vm *vm, unsigned i);
/* Close everything; *vm is zeroed. */
void vmie_vm_free(struct vmie_vm *vm);

#endif
