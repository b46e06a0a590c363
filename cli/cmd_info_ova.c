/*
 * OVA section of `vmie info`: the OVF summary (VM name, OS, firmware,
 * CPUs, memory), every disk (its member in the tar, its format and
 * virtual size, where it is attached), NICs, removable media, the
 * manifest and certificate, and the warnings found while opening.
 * --check also verifies the manifest digests (and the certificate's
 * signature) and walks every disk's tables.
 * Exit status like `vmie info`: 0 ok, 1 error, 2 corruption found by
 * --check (including a digest mismatch), 3 leaks only.
 */
#include "cli.h"
#include "core/util.h"
#include "image/image.h"
#include "ova/ova.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct disk_report {
	bool opened;
	struct vmie_image_info info;
	uint64_t member_off, member_size;
	bool has_member;
	char error[VMIE_ERR_MSG_MAX + 24];
	bool checked;
	int check_rc;
	struct vmie_check_result cr;
	char check_error[VMIE_ERR_MSG_MAX];
};

static void fmt_err(char *out, size_t n, const struct vmie_err *e)
{
	if (e->rule[0])
		snprintf(out, n, "%s [%s]", e->msg, e->rule);
	else
		snprintf(out, n, "%s", e->msg[0] ? e->msg :
			 vmie_strerror(e->code));
}

static void collect_disk(struct vmie_ova *ova, size_t i, bool check,
			 struct disk_report *d)
{
	struct vmie_err err = { 0 };
	struct vmie_image *img = NULL;
	if (!vmie_ova_disk_member(ova, i, &d->member_off, &d->member_size,
				  NULL))
		d->has_member = true;
	if (vmie_ova_open_disk(ova, i, NULL, &img, &err) ||
	    vmie_image_info(img, &d->info, &err)) {
		fmt_err(d->error, sizeof d->error, &err);
		vmie_image_close(img);
		return;
	}
	d->opened = true;
	if (check) {
		d->checked = true;
		vmie_err_clear(&err);
		d->check_rc = vmie_image_check(img, &d->cr, &err);
		if (d->check_rc)
			fmt_err(d->check_error, sizeof d->check_error, &err);
	}
	vmie_image_close(img);
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *attach_json(const struct vmie_ovf_attach *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "bus", json_string(vmie_ovf_bus_name(a->bus)));
	json_object_set_new(o, "controller_subtype",
			    jstr(a->controller_subtype));
	json_object_set_new(o, "controller_address",
			    a->controller_address < 0 ? json_null() :
			    json_integer(a->controller_address));
	json_object_set_new(o, "address_on_parent",
			    a->address_on_parent < 0 ? json_null() :
			    json_integer(a->address_on_parent));
	return o;
}

static void attach_text(const struct vmie_ovf_attach *a)
{
	printf("%s", vmie_ovf_bus_name(a->bus));
	if (a->controller_address >= 0)
		printf(" controller %d", a->controller_address);
	if (a->controller_subtype)
		printf(" (%s)", a->controller_subtype);
	if (a->address_on_parent >= 0)
		printf(" slot %d", a->address_on_parent);
}

int cli_info_ova(const char *path, bool json, bool check)
{
	struct vmie_src *src = NULL;
	struct vmie_ova *ova = NULL;
	struct vmie_err err = { 0 };
	struct disk_report *disks = NULL;
	struct vmie_ova_verify v = { 0 };
	char verify_error[VMIE_ERR_MSG_MAX + 24] = "";
	int verify_rc = 0, status = 0;
	bool first_ovf;
	char h[32];

	if (cli_open_src(path, &src, &err))
		return -1;          /* the generic path reports it */
	if (!vmie_ova_probe(src, &first_ovf)) {
		vmie_src_unref(src);
		return -1;
	}
	if (vmie_ova_open_src(src, &ova, &err)) {
		cli_error(&err);
		vmie_src_unref(src);
		return 1;
	}
	const struct vmie_ovf *ovf = ova->ovf;
	disks = calloc(ovf->n_disks ? ovf->n_disks : 1, sizeof *disks);
	if (!disks) {
		cli_errorf("out of memory");
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < ovf->n_disks; i++) {
		collect_disk(ova, i, check, &disks[i]);
		if (!disks[i].opened) {
			cli_errorf("disk %zu: %s", i, disks[i].error);
			status = 1;
		} else if (disks[i].checked) {
			if (disks[i].check_rc)
				status = 1;
			else if (disks[i].cr.corruptions && status != 1)
				status = 2;
			else if (disks[i].cr.leaks && !status)
				status = 3;
		}
	}
	if (check) {
		verify_rc = vmie_ova_verify_manifest(ova, &v, &cli_interrupted,
						     &err);
		if (verify_rc) {
			fmt_err(verify_error, sizeof verify_error, &err);
			if (status != 1)
				status = verify_rc == VMIE_ECORRUPT ? 2 : 1;
		}
	}
	unsigned n_cd = 0, n_fd = 0;
	for (size_t i = 0; i < ovf->n_removables; i++) {
		if (ovf->removables[i].kind == VMIE_OVF_CDROM)
			n_cd++;
		else
			n_fd++;
	}

	if (json) {
		json_t *o = json_object(), *ja = json_array();
		json_object_set_new(o, "filename", json_string(path));
		json_object_set_new(o, "format", json_string("ova"));
		json_object_set_new(o, "file_size",
				    json_integer((json_int_t)src->size));
		json_object_set_new(o, "ovf", json_string(ova->ovf_member));
		json_object_set_new(o, "ovf_size",
				    json_integer((json_int_t)ova->ovf_size));
		json_object_set_new(o, "ovf_version",
				    json_integer(ovf->version));
		json_object_set_new(o, "vm_name", jstr(ovf->name));
		json_object_set_new(o, "os_id", jstr(ovf->os_id));
		json_object_set_new(o, "os_type", jstr(ovf->os_type));
		json_object_set_new(o, "os_description",
				    jstr(ovf->os_description));
		json_object_set_new(o, "firmware", jstr(ovf->firmware));
		json_object_set_new(o, "hardware_family", jstr(ovf->hw_family));
		json_object_set_new(o, "vcpus", json_integer(ovf->vcpus));
		json_object_set_new(o, "memory",
				    json_integer((json_int_t)ovf->memory));
		for (size_t i = 0; i < ovf->n_disks; i++) {
			const struct vmie_ovf_disk *od = &ovf->disks[i];
			const struct disk_report *d = &disks[i];
			json_t *jd = json_object();
			json_object_set_new(jd, "index", json_integer((json_int_t)i));
			json_object_set_new(jd, "disk_id", json_string(od->disk_id));
			json_object_set_new(jd, "file", od->file_index < 0 ?
				json_null() :
				json_string(ovf->files[od->file_index].href));
			json_object_set_new(jd, "compression", od->file_index < 0 ?
				json_null() :
				jstr(ovf->files[od->file_index].compression));
			json_object_set_new(jd, "ovf_format", jstr(od->format));
			json_object_set_new(jd, "ovf_capacity",
					    json_integer((json_int_t)od->capacity));
			json_object_set_new(jd, "populated_size",
					    json_integer((json_int_t)od->populated_size));
			json_object_set_new(jd, "attach", attach_json(&od->at));
			if (d->has_member) {
				json_object_set_new(jd, "member_offset",
					json_integer((json_int_t)d->member_off));
				json_object_set_new(jd, "member_size",
					json_integer((json_int_t)d->member_size));
			}
			if (d->opened) {
				json_object_set_new(jd, "format",
					json_string(d->info.format));
				json_object_set_new(jd, "subformat",
					json_string(d->info.subformat));
				json_object_set_new(jd, "virtual_size",
					json_integer((json_int_t)d->info.virtual_size));
			} else {
				json_object_set_new(jd, "error",
						    json_string(d->error));
			}
			if (d->checked) {
				json_t *ck = json_object();
				if (d->check_rc) {
					json_object_set_new(ck, "error",
						json_string(d->check_error));
				} else {
					json_object_set_new(ck, "corruptions",
						json_integer((json_int_t)d->cr.corruptions));
					json_object_set_new(ck, "leaks",
						json_integer((json_int_t)d->cr.leaks));
				}
				json_object_set_new(jd, "check", ck);
			}
			json_array_append_new(ja, jd);
		}
		json_object_set_new(o, "disks", ja);
		ja = json_array();
		for (size_t i = 0; i < ovf->n_nics; i++) {
			json_t *jn = json_object();
			json_object_set_new(jn, "network",
					    jstr(ovf->nics[i].connection));
			json_object_set_new(jn, "model",
					    jstr(ovf->nics[i].subtype));
			json_object_set_new(jn, "mac", jstr(ovf->nics[i].mac));
			json_array_append_new(ja, jn);
		}
		json_object_set_new(o, "nics", ja);
		ja = json_array();
		for (size_t i = 0; i < ovf->n_removables; i++) {
			const struct vmie_ovf_removable *rm =
				&ovf->removables[i];
			json_t *jr = json_object();
			json_object_set_new(jr, "type", json_string(
				rm->kind == VMIE_OVF_CDROM ? "cdrom" : "floppy"));
			json_object_set_new(jr, "subtype", jstr(rm->subtype));
			json_object_set_new(jr, "attach", attach_json(&rm->at));
			json_array_append_new(ja, jr);
		}
		json_object_set_new(o, "removables", ja);
		json_t *jm = json_object();
		json_object_set_new(jm, "member", ova->mf ?
				    json_string(ova->mf_name) : json_null());
		if (check && verify_rc) {
			json_object_set_new(jm, "verified", json_false());
			json_object_set_new(jm, "error",
					    json_string(verify_error));
		} else if (check && v.present) {
			json_object_set_new(jm, "verified", json_true());
			json_object_set_new(jm, "algorithm", json_string(v.alg));
			json_object_set_new(jm, "entries",
					    json_integer(v.n_entries));
			json_object_set_new(jm, "unlisted",
					    json_integer(v.n_unlisted));
			json_object_set_new(jm, "duplicate_lines",
					    json_integer(v.n_duplicates));
			json_object_set_new(jm, "digests_computed",
					    json_integer(v.n_digested));
			json_object_set_new(jm, "digested_bytes",
					    json_integer((json_int_t)v.bytes_digested));
		} else {
			json_object_set_new(jm, "verified", json_null());
		}
		json_object_set_new(o, "manifest", jm);
		json_t *jc = json_object();
		json_object_set_new(jc, "member", ova->cert ?
				    json_string(ova->cert_name) : json_null());
		if (check && v.cert_present && !verify_rc)
			json_object_set_new(jc, "status",
					    json_string(v.cert_status));
		json_object_set_new(o, "certificate", jc);
		ja = json_array();
		for (unsigned i = 0; i < ova->n_warn; i++)
			json_array_append_new(ja, json_string(ova->warn[i]));
		json_object_set_new(o, "warnings", ja);
		cli_print_json(o);
		json_decref(o);
		goto out;
	}

	printf("image: %s\n", path);
	printf("file format: ova\n");
	printf("file size: %s (%llu bytes)\n",
	       vmie_human_size(h, sizeof h, src->size),
	       (unsigned long long)src->size);
	printf("ovf: %s (%llu bytes, OVF %d.x)\n", ova->ovf_member,
	       (unsigned long long)ova->ovf_size, ovf->version);
	printf("vm name: %s\n", str_or(ovf->name, "(none)"));
	printf("os: %s", str_or(ovf->os_id, "?"));
	if (ovf->os_type)
		printf(" %s", ovf->os_type);
	if (ovf->os_description)
		printf(" (%s)", ovf->os_description);
	putchar('\n');
	if (ovf->firmware)
		printf("firmware: %s\n", ovf->firmware);
	if (ovf->vcpus)
		printf("vcpus: %u\n", ovf->vcpus);
	if (ovf->memory)
		printf("memory: %s (%llu bytes)\n",
		       vmie_human_size(h, sizeof h, ovf->memory),
		       (unsigned long long)ovf->memory);
	printf("disks: %zu\n", ovf->n_disks);
	for (size_t i = 0; i < ovf->n_disks; i++) {
		const struct vmie_ovf_disk *od = &ovf->disks[i];
		const struct disk_report *d = &disks[i];
		printf("disk %zu: %s", i, od->disk_id);
		if (od->file_index >= 0)
			printf(", file %s", ovf->files[od->file_index].href);
		if (d->has_member)
			printf(" (%llu bytes at offset %llu)",
			       (unsigned long long)d->member_size,
			       (unsigned long long)d->member_off);
		printf(", on ");
		attach_text(&od->at);
		putchar('\n');
		if (od->capacity)
			printf("  ovf capacity: %s (%llu bytes)\n",
			       vmie_human_size(h, sizeof h, od->capacity),
			       (unsigned long long)od->capacity);
		if (od->format_name && od->format_name[0])
			printf("  ovf format: %s\n", od->format_name);
		if (!d->opened) {
			printf("  error: %s\n", d->error);
			continue;
		}
		printf("  format: %s\n", d->info.format);
		if (d->info.subformat[0])
			printf("  subformat: %s\n", d->info.subformat);
		printf("  virtual size: %s (%llu bytes)\n",
		       vmie_human_size(h, sizeof h, d->info.virtual_size),
		       (unsigned long long)d->info.virtual_size);
		if (od->capacity && od->capacity != d->info.virtual_size)
			printf("  warning: the OVF capacity differs from the "
			       "image's virtual size\n");
		if (d->checked && d->check_rc)
			printf("  check: error: %s\n", d->check_error);
		else if (d->checked)
			printf("  check: %llu corruptions, %llu leaks%s\n",
			       (unsigned long long)d->cr.corruptions,
			       (unsigned long long)d->cr.leaks,
			       d->cr.corruptions || d->cr.leaks ? "" :
			       ": no errors found");
		for (unsigned k = 0; d->checked && k < d->cr.n_msgs; k++)
			printf("  check: %s\n", d->cr.msgs[k]);
	}
	printf("nics: %zu\n", ovf->n_nics);
	for (size_t i = 0; i < ovf->n_nics; i++)
		printf("nic %zu: network \"%s\" model %s\n", i,
		       str_or(ovf->nics[i].connection, ""),
		       str_or(ovf->nics[i].subtype, "?"));
	printf("cdroms: %u\n", n_cd);
	if (n_fd)
		printf("floppies: %u\n", n_fd);
	for (size_t i = 0; i < ovf->n_removables; i++) {
		const struct vmie_ovf_removable *rm = &ovf->removables[i];
		printf("%s %zu: ", rm->kind == VMIE_OVF_CDROM ? "cdrom"
							       : "floppy", i);
		attach_text(&rm->at);
		putchar('\n');
	}
	if (!ova->mf)
		printf("manifest: none\n");
	else if (!check)
		printf("manifest: %s (not verified; use --check)\n",
		       ova->mf_name);
	else if (verify_rc)
		printf("manifest: %s: FAILED: %s\n", ova->mf_name,
		       verify_error);
	else
		printf("manifest: %s: verified, %u of %u %s digests match%s%s"
		       "%s\n", v.manifest, v.n_ok, v.n_entries, v.alg,
		       v.n_unlisted ? "; not listed: " : "",
		       v.n_unlisted ? v.unlisted : "",
		       v.n_duplicates ? " (repeated lines ignored)" : "");
	if (ova->cert)
		printf("certificate: %s: %s\n", ova->cert_name,
		       check && !verify_rc ? v.cert_status :
		       "present, signature not checked (use --check)");
	for (unsigned i = 0; i < ova->n_warn; i++)
		printf("warning: %s\n", ova->warn[i]);
	if (check && verify_rc)
		cli_errorf("%s", verify_error);
out:
	free(disks);
	vmie_ova_close(ova);
	vmie_src_unref(src);
	return status;
}
