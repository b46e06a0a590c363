/*
 * struct vmie_inspection as JSON, following docs/inspect-json.md (schema
 * version 1).  Unknown strings are null, tri-state facts are true, false
 * or null, sizes are integers in bytes (null when unknown).  Strings from
 * a guest that are not valid UTF-8 have their bad bytes replaced by '?'.
 */
#include "inspect/insp_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INSP_JSON_SCHEMA 1

static json_t *js(const char *s)
{
	json_t *j;
	char *c;

	if (!s || !s[0])
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	c = strdup(s);
	if (!c)
		return json_null();
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j ? j : json_null();
}

static json_t *jtri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *ju64(uint64_t v)
{
	return v == UINT64_MAX || v > (uint64_t)INT64_MAX ? json_null() :
	       json_integer((json_int_t)v);
}

static json_t *jint_known(int v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* A comma-separated list as a JSON array. */
static json_t *jlist(const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char buf[256];
		if (l && l < sizeof buf) {
			memcpy(buf, p, l);
			buf[l] = '\0';
			json_array_append_new(a, js(buf));
		}
		p = c ? c + 1 : NULL;
	}
	return a;
}

static const char *pt_name(enum vmie_pt_type t)
{
	return t == VMIE_PT_MBR ? "mbr" : t == VMIE_PT_GPT ? "gpt" : "none";
}

static const char *spec_name(enum vmie_fstab_spec k)
{
	switch (k) {
	case VMIE_SPEC_DEVICE: return "device";
	case VMIE_SPEC_UUID: return "uuid";
	case VMIE_SPEC_LABEL: return "label";
	case VMIE_SPEC_PARTUUID: return "partuuid";
	case VMIE_SPEC_PARTLABEL: return "partlabel";
	default: return "other";
	}
}

/* A dynamic disk's LDM database: its disk group and every volume of the
 * group, with the extents (those on this disk have a start). */
static json_t *ldm_json(const struct vmie_ptable *pt)
{
	json_t *o = json_object(), *vols = json_array();

	json_object_set_new(o, "disk_guid", js(pt->ldm_disk_guid));
	json_object_set_new(o, "group", js(pt->ldm_group));
	json_object_set_new(o, "group_guid", js(pt->ldm_group_guid));
	json_object_set_new(o, "error", js(pt->ldm_error));
	for (unsigned i = 0; i < pt->n_ldm_volumes; i++) {
		const struct vmie_ldm_volume *v = &pt->ldm_volumes[i];
		json_t *j = json_object(), *ex = json_array();
		json_object_set_new(j, "name", js(v->name));
		json_object_set_new(j, "type", js(v->type));
		json_object_set_new(j, "size", ju64(v->size));
		json_object_set_new(j, "drive_hint", js(v->hint));
		json_object_set_new(j, "guid", js(v->guid));
		json_object_set_new(j, "partition_type",
				    json_integer(v->part_type));
		json_object_set_new(j, "stripe_size", v->stripe_size ?
				    ju64(v->stripe_size) : json_null());
		json_object_set_new(j, "columns", json_integer(v->columns));
		json_object_set_new(j, "plexes", json_integer(v->n_plexes));
		json_object_set_new(j, "error", js(v->error));
		for (unsigned k = 0; k < v->n_extents; k++) {
			const struct vmie_ldm_extent *e = &v->extents[k];
			json_t *x = json_object();
			json_object_set_new(x, "name", js(e->name));
			json_object_set_new(x, "disk_name", js(e->disk_name));
			json_object_set_new(x, "disk_guid", js(e->disk_guid));
			json_object_set_new(x, "on_this_disk",
					    json_boolean(e->dev == 0));
			json_object_set_new(x, "start", e->dev == 0 ?
					    ju64(e->start) : json_null());
			json_object_set_new(x, "size", ju64(e->size));
			json_object_set_new(x, "volume_offset", ju64(e->vol_off));
			json_object_set_new(x, "column", json_integer(e->column));
			json_object_set_new(x, "plex", json_integer(e->plex));
			json_array_append_new(ex, x);
		}
		json_object_set_new(j, "extents", ex);
		json_array_append_new(vols, j);
	}
	json_object_set_new(o, "volumes", vols);
	return o;
}

static json_t *disk_json(unsigned idx, const struct vmie_insp_disk *d)
{
	json_t *o = json_object(), *pt = json_object(), *parts = json_array();
	json_t *w = json_array();
	char id[16];

	json_object_set_new(o, "index", json_integer(idx));
	json_object_set_new(o, "path", js(d->path));
	json_object_set_new(o, "format", js(d->format));
	json_object_set_new(o, "subformat", js(d->subformat));
	json_object_set_new(o, "virtual_size", ju64(d->virtual_size));
	json_object_set_new(o, "has_boot_code", json_boolean(d->has_boot_code));
	json_object_set_new(o, "error", js(d->error));
	json_object_set_new(pt, "type", json_string(pt_name(d->pt.type)));
	json_object_set_new(pt, "protective_mbr",
			    json_boolean(d->pt.protective_mbr));
	json_object_set_new(pt, "hybrid_mbr", json_boolean(d->pt.hybrid_mbr));
	json_object_set_new(pt, "boot_code", js(d->pt.boot_code));
	snprintf(id, sizeof id, "0x%08x", d->pt.mbr_disk_id);
	json_object_set_new(pt, "mbr_disk_id", d->pt.type == VMIE_PT_NONE ?
			    json_null() : json_string(id));
	json_object_set_new(pt, "gpt_disk_guid", js(d->pt.gpt_disk_guid));
	json_object_set_new(pt, "ldm", json_boolean(d->pt.ldm));
	json_object_set_new(pt, "n_primary", json_integer(d->pt.n_primary));
	for (unsigned i = 0; i < d->pt.n_warnings && i < VMIE_PT_MAX_WARN; i++)
		json_array_append_new(w, js(d->pt.warnings[i]));
	json_object_set_new(pt, "warnings", w);
	for (unsigned i = 0; i < d->pt.n_parts; i++) {
		const struct vmie_partition *p = &d->pt.parts[i];
		json_t *j = json_object();
		json_object_set_new(j, "number", json_integer(p->number));
		json_object_set_new(j, "start", ju64(p->start));
		json_object_set_new(j, "size", ju64(p->size));
		json_object_set_new(j, "kind", js(p->kind));
		json_object_set_new(j, "mbr_type", json_integer(p->mbr_type));
		json_object_set_new(j, "type_guid", js(p->type_guid));
		json_object_set_new(j, "part_guid", js(p->part_guid));
		json_object_set_new(j, "name", js(p->name));
		json_object_set_new(j, "bootable", json_boolean(p->bootable));
		json_object_set_new(j, "logical", json_boolean(p->logical));
		json_object_set_new(j, "extended", json_boolean(p->extended));
		json_array_append_new(parts, j);
	}
	json_object_set_new(pt, "partitions", parts);
	if (d->pt.ldm)
		json_object_set_new(pt, "ldm_database", ldm_json(&d->pt));
	json_object_set_new(o, "partition_table", pt);
	return o;
}

static json_t *fs_json(const struct vmie_insp_fs *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "device", js(f->device));
	json_object_set_new(o, "disk", f->disk < 0 ? json_null() :
			    json_integer(f->disk));
	json_t *ds = json_array();
	for (unsigned d = 0; d < 64; d++)
		if (f->disk_mask & (uint64_t)1 << d)
			json_array_append_new(ds, json_integer(d));
	json_object_set_new(o, "disks", ds);
	json_object_set_new(o, "partition", json_integer(f->partition));
	json_object_set_new(o, "lv", js(f->lv));
	/* an LDM volume: "disk0:ldm:Volume1" or "ldm:Volume1" */
	const char *ldm = strstr(f->device, "ldm:");
	json_object_set_new(o, "ldm_volume", f->partition < 0 && ldm ?
			    js(ldm + 4) : json_null());
	json_object_set_new(o, "type", js(f->probe.type));
	json_object_set_new(o, "version", js(f->probe.version));
	json_object_set_new(o, "uuid", js(f->probe.uuid));
	json_object_set_new(o, "label", js(f->probe.label));
	json_object_set_new(o, "size", f->probe.size ? ju64(f->probe.size) :
			    json_null());
	json_object_set_new(o, "free", ju64(f->probe.free));
	json_object_set_new(o, "readable", json_boolean(f->probe.readable));
	json_object_set_new(o, "encrypted", json_boolean(f->probe.encrypted));
	json_object_set_new(o, "alias_of", f->alias_of[0] ? js(f->alias_of) :
			    json_null());
	json_object_set_new(o, "alias_exact", json_boolean(f->alias_of[0] &&
							   f->alias_exact));
	json_object_set_new(o, "opened", json_boolean(f->opened));
	json_object_set_new(o, "error", js(f->error));
	json_object_set_new(o, "subvolumes", f->subvolumes_unknown ?
			    json_null() : json_integer(f->n_subvolumes));
	json_object_set_new(o, "subvolume_paths", jlist(f->subvolume_paths));
	json_object_set_new(o, "default_subvolume", js(f->default_subvolume));
	json_object_set_new(o, "mountpoint", js(f->mountpoint));
	if (f->journal[0]) {
		json_t *j = json_object();
		json_object_set_new(j, "state", js(f->journal));
		json_object_set_new(j, "transactions",
				    json_integer(f->journal_transactions));
		json_object_set_new(j, "blocks", ju64(f->journal_blocks));
		json_object_set_new(j, "problem", js(f->journal_problem));
		json_object_set_new(j, "untrusted",
				    json_boolean(f->journal_untrusted));
		json_object_set_new(o, "journal", j);
	} else {
		json_object_set_new(o, "journal", json_null());
	}
	json_object_set_new(o, "dirty", json_boolean(f->dirty));
	json_object_set_new(o, "hibernated", json_boolean(f->hibernated));
	return o;
}

static json_t *linux_json(const struct vmie_insp_os *os)
{
	json_t *o = json_object(), *k = json_array(), *f = json_array();
	json_t *n = json_array(), *rd = json_object(), *ssh = json_object();

	for (unsigned i = 0; i < os->n_kernels; i++) {
		const struct vmie_insp_kernel *x = &os->kernels[i];
		json_t *j = json_object();
		json_object_set_new(j, "version", js(x->version));
		json_object_set_new(j, "path", js(x->path));
		json_object_set_new(j, "initrd", js(x->initrd));
		json_object_set_new(j, "has_modules",
				    json_boolean(x->has_modules));
		json_object_set_new(j, "is_default", json_boolean(x->is_default));
		json_object_set_new(j, "custom", json_boolean(x->custom));
		json_array_append_new(k, j);
	}
	json_object_set_new(o, "kernels", k);
	json_object_set_new(o, "default_kernel", js(os->default_kernel));
	for (unsigned i = 0; i < os->n_fstab; i++) {
		const struct vmie_insp_fstab *x = &os->fstab[i];
		json_t *j = json_object();
		json_object_set_new(j, "spec", js(x->spec));
		json_object_set_new(j, "mountpoint", js(x->mountpoint));
		json_object_set_new(j, "type", js(x->type));
		json_object_set_new(j, "options", js(x->options));
		json_object_set_new(j, "spec_kind",
				    json_string(spec_name(x->spec_kind)));
		json_object_set_new(j, "stable_name",
				    json_boolean(x->stable_name));
		json_object_set_new(j, "nofail", json_boolean(x->nofail));
		json_object_set_new(j, "resolves_to", js(x->resolves_to));
		json_object_set_new(j, "subvolume", js(x->subvolume));
		json_object_set_new(j, "subvolume_missing",
				    json_boolean(x->subvolume_missing));
		json_array_append_new(f, j);
	}
	json_object_set_new(o, "fstab", f);
	for (unsigned i = 0; i < os->n_netifs; i++) {
		const struct vmie_insp_netif *x = &os->netifs[i];
		json_t *j = json_object();
		json_object_set_new(j, "name", js(x->name));
		json_object_set_new(j, "dhcp", jtri(x->dhcp));
		json_object_set_new(j, "address", js(x->address));
		json_object_set_new(j, "source", js(x->source));
		json_array_append_new(n, j);
	}
	json_object_set_new(o, "netifs", n);
	json_object_set_new(rd, "read", jtri(os->initrd_read));
	json_object_set_new(rd, "drivers", jlist(os->initrd_drivers));
	json_object_set_new(rd, "compression", js(os->initrd_compression));
	json_object_set_new(rd, "error", js(os->initrd_error));
	json_object_set_new(o, "initrd", rd);
	json_object_set_new(ssh, "installed", jtri(os->ssh_installed));
	json_object_set_new(ssh, "enabled", jtri(os->ssh_enabled));
	json_object_set_new(o, "ssh", ssh);
	json_object_set_new(o, "users_with_keys", jlist(os->users_with_keys));
	json_object_set_new(o, "dhcp_client", jtri(os->dhcp_client));
	return o;
}

static json_t *windows_json(const struct vmie_insp_os *os)
{
	json_t *o = json_object();

	json_object_set_new(o, "edition", js(os->edition));
	json_object_set_new(o, "installation_type", js(os->installation_type));
	json_object_set_new(o, "build", os->build ? json_integer(os->build) :
			    json_null());
	json_object_set_new(o, "install_language", js(os->install_language));
	json_object_set_new(o, "default_language", js(os->default_language));
	json_object_set_new(o, "language_packs", jlist(os->language_packs));
	json_object_set_new(o, "systemroot", js(os->systemroot));
	json_object_set_new(o, "current_control_set",
			    jint_known(os->current_control_set));
	json_object_set_new(o, "realtime_is_universal",
			    jtri(os->realtime_is_universal));
	json_object_set_new(o, "system_manufacturer",
			    js(os->system_manufacturer));
	json_object_set_new(o, "system_product", js(os->system_product));
	json_object_set_new(o, "paging_files", js(os->paging_files));
	json_object_set_new(o, "paging_auto", jtri(os->paging_auto));
	json_object_set_new(o, "rdp_enabled", jtri(os->rdp_enabled));
	json_object_set_new(o, "rdp_firewall", jtri(os->rdp_firewall));
	json_object_set_new(o, "autologon", jtri(os->autologon));
	json_object_set_new(o, "vmware_tools", jtri(os->vmware_tools));
	json_object_set_new(o, "pending_reboot", jtri(os->pending_reboot));
	json_object_set_new(o, "dotnet_version", js(os->dotnet_version));
	json_object_set_new(o, "ems_enabled", jtri(os->ems_enabled));
	return o;
}

static json_t *os_json(const struct vmie_insp_os *os)
{
	json_t *o = json_object(), *b = json_object(), *ev = json_array();
	bool lin = !strcmp(os->type, "linux");

	json_object_set_new(o, "root_device", js(os->root_device));
	json_object_set_new(o, "root_disk", os->root_disk < 0 ? json_null() :
			    json_integer(os->root_disk));
	json_object_set_new(o, "root_subvolume", js(os->root_subvolume));
	json_object_set_new(o, "root_subvolume_id", os->root_subvolume_id ?
			    ju64(os->root_subvolume_id) : json_null());
	json_object_set_new(o, "type", js(os->type));
	json_object_set_new(o, "distro", js(os->distro));
	json_object_set_new(o, "product_name", js(os->product_name));
	json_object_set_new(o, "version", js(os->version));
	json_object_set_new(o, "major", jint_known(os->major));
	json_object_set_new(o, "minor", jint_known(os->minor));
	json_object_set_new(o, "service_pack", js(os->service_pack));
	json_object_set_new(o, "arch", js(os->arch));
	json_object_set_new(o, "hostname", js(os->hostname));
	json_object_set_new(o, "root_free", ju64(os->root_free));

	json_object_set_new(b, "can_bios", json_boolean(os->can_bios));
	json_object_set_new(b, "can_uefi", json_boolean(os->can_uefi));
	json_object_set_new(b, "esp_device", js(os->esp_device));
	json_object_set_new(b, "efi_fallback", jtri(os->efi_fallback));
	if (lin) {
		json_object_set_new(b, "bootloader", js(os->bootloader));
		json_object_set_new(b, "grub2_bios", json_boolean(os->grub2_bios));
		json_object_set_new(b, "grub2_efi", json_boolean(os->grub2_efi));
		json_object_set_new(b, "grub_legacy",
				    json_boolean(os->grub_legacy));
		json_object_set_new(b, "grub_default", js(os->grub_default));
		json_object_set_new(b, "grub_timeout",
				    os->grub_timeout < 0 ? json_null() :
				    json_integer(os->grub_timeout));
	} else {
		json_object_set_new(b, "bootmgr_bios",
				    json_boolean(os->bootmgr_bios));
		json_object_set_new(b, "bootmgr_efi",
				    json_boolean(os->bootmgr_efi));
		json_object_set_new(b, "bios_after_mbr",
				    json_boolean(os->bios_after_mbr));
	}
	json_object_set_new(o, "boot", b);
	json_object_set_new(o, "linux", lin ? linux_json(os) : json_null());
	json_object_set_new(o, "windows", !strcmp(os->type, "windows") ?
			    windows_json(os) : json_null());
	for (unsigned i = 0; i < os->n_evidence; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "fact", js(os->evidence[i].fact));
		json_object_set_new(e, "where", js(os->evidence[i].where));
		json_object_set_new(e, "value", js(os->evidence[i].value));
		json_array_append_new(ev, e);
	}
	json_object_set_new(o, "evidence", ev);
	return o;
}

void *vmie_inspection_to_json(const struct vmie_inspection *in)
{
	json_t *o = json_object(), *a, *w;

	json_object_set_new(o, "schema_version",
			    json_integer(INSP_JSON_SCHEMA));
	json_object_set_new(o, "seconds", json_real(in->seconds));
	json_object_set_new(o, "dual_boot", json_boolean(in->dual_boot));
	json_object_set_new(o, "n_lvs", json_integer(in->n_lvs));
	w = json_array();
	for (unsigned i = 0; i < in->n_warnings; i++)
		json_array_append_new(w, js(in->warnings[i]));
	json_object_set_new(o, "warnings", w);
	if (in->vm.present) {
		json_t *vm = json_object();
		json_object_set_new(vm, "name", js(in->vm.name));
		json_object_set_new(vm, "os_id", js(in->vm.os_id));
		json_object_set_new(vm, "nics", json_integer(in->vm.n_nics));
		json_object_set_new(vm, "cdroms", json_integer(in->vm.n_cdroms));
		json_object_set_new(vm, "disks", json_integer(in->vm.n_disks));
		json_object_set_new(vm, "cim_os_id", js(in->vm.cim_os_id));
		json_object_set_new(vm, "firmware", js(in->vm.firmware));
		json_object_set_new(o, "vm", vm);
	} else {
		json_object_set_new(o, "vm", json_null());
	}
	a = json_array();
	for (unsigned i = 0; i < in->n_disks; i++)
		json_array_append_new(a, disk_json(i, &in->disks[i]));
	json_object_set_new(o, "disks", a);
	a = json_array();
	for (unsigned i = 0; i < in->n_fs; i++)
		json_array_append_new(a, fs_json(&in->fs[i]));
	json_object_set_new(o, "filesystems", a);
	a = json_array();
	for (unsigned i = 0; i < in->n_os; i++)
		json_array_append_new(a, os_json(&in->os[i]));
	json_object_set_new(o, "operating_systems", a);
	return o;
}
