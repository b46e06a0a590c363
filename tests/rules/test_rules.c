/* lib/rules: every rule id passes on a good guest and fails (or warns) on a
 * guest or option set made to break it, under both policies where they
 * differ; BOOT-006 and the license rules as full decision tables; the
 * policy parser's error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rules.h"

static struct vmie_policy *cur, *leg;

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define TIB ((uint64_t)1 << 40)

struct fixture {
	struct vmie_inspection in;
	struct vmie_insp_disk disks[24];
	struct vmie_partition parts[2][4];
	struct vmie_insp_fs fs[4];
	struct vmie_insp_os os[2];
	struct vmie_insp_kernel kern[2];
	struct vmie_insp_fstab fstab[3];
	struct vmie_insp_netif nif[1];
	struct vmie_check_opts o;
	struct vmie_check_input inputs[24];
};

static void base_disks(struct fixture *f, unsigned n, const char *fmt, const char *sub)
{
	f->in.n_disks = n;
	f->in.disks = f->disks;
	f->o.n_inputs = n;
	f->o.inputs = f->inputs;
	for (unsigned i = 0; i < n; i++) {
		struct vmie_insp_disk *d = &f->disks[i];
		snprintf(d->path, sizeof d->path, "disk%u", i);
		strcpy(d->format, fmt);
		strcpy(d->subformat, sub);
		d->virtual_size = 20 * GIB;
		d->pt.type = VMIE_PT_MBR;
		strcpy(f->inputs[i].format, fmt);
		strcpy(f->inputs[i].subformat, sub);
		f->inputs[i].virtual_size = d->virtual_size;
	}
	f->disks[0].has_boot_code = true;
	f->disks[0].pt.n_parts = 1;
	f->disks[0].pt.n_primary = 1;
	f->disks[0].pt.parts = f->parts[0];
	f->parts[0][0] = (struct vmie_partition){ .number = 1, .start = 1 << 20,
		.size = 20 * GIB - (1 << 20), .mbr_type = 0x83, .bootable = true };
	strcpy(f->parts[0][0].kind, "linux");
}

/* A Debian 11 guest on ext4/MBR that passes every rule of aws-current. */
static struct fixture *good_linux(void)
{
	struct fixture *f = calloc(1, sizeof *f);
	base_disks(f, 1, "vmdk", "streamOptimized");
	f->in.n_fs = 1;
	f->in.fs = f->fs;
	strcpy(f->fs[0].device, "disk0p1");
	f->fs[0].disk = 0;
	f->fs[0].partition = 1;
	strcpy(f->fs[0].probe.type, "ext4");
	f->fs[0].probe.free = 5 * GIB;
	f->fs[0].opened = true;
	f->in.n_os = 1;
	f->in.os = f->os;
	struct vmie_insp_os *os = &f->os[0];
	strcpy(os->root_device, "disk0p1");
	os->root_disk = 0;
	strcpy(os->type, "linux");
	strcpy(os->distro, "debian");
	strcpy(os->product_name, "Debian GNU/Linux 11 (bullseye)");
	strcpy(os->version, "11.7");
	os->major = 11;
	os->minor = 7;
	strcpy(os->arch, "x86_64");
	os->root_free = 5 * GIB;
	os->n_kernels = 1;
	os->kernels = f->kern;
	strcpy(f->kern[0].version, "5.10.0-23-amd64");
	f->kern[0].is_default = true;
	f->kern[0].has_modules = true;
	strcpy(os->default_kernel, "5.10.0-23-amd64");
	strcpy(os->grub_default, "0");
	os->grub_timeout = 5;
	strcpy(os->bootloader, "grub2");
	os->grub2_bios = true;
	os->efi_fallback = -1;
	os->can_bios = true;
	os->n_fstab = 1;
	os->fstab = f->fstab;
	strcpy(f->fstab[0].spec, "UUID=0b5a1f59-0000-4000-8000-000000000001");
	strcpy(f->fstab[0].mountpoint, "/");
	strcpy(f->fstab[0].type, "ext4");
	f->fstab[0].spec_kind = VMIE_SPEC_UUID;
	strcpy(f->fstab[0].resolves_to, "disk0p1");
	os->n_netifs = 1;
	os->netifs = f->nif;
	strcpy(f->nif[0].name, "eth0");
	f->nif[0].dhcp = 1;
	strcpy(os->initrd_drivers, "virtio_blk,virtio_net,nvme,ena,xen-blkfront,xen-netfront");
	os->initrd_read = 1;
	os->ssh_installed = os->ssh_enabled = 1;
	strcpy(os->users_with_keys, "admin");
	os->dhcp_client = 1;
	os->realtime_is_universal = os->paging_auto = os->rdp_enabled = -1;
	os->autologon = os->vmware_tools = os->pending_reboot = os->ems_enabled = -1;
	return f;
}

/* Windows Server 2019 Datacenter, NTFS on MBR, VHDX, BIOS only. */
static struct fixture *good_windows(void)
{
	struct fixture *f = calloc(1, sizeof *f);
	base_disks(f, 1, "vhdx", "dynamic");
	f->parts[0][0].mbr_type = 0x07;
	strcpy(f->parts[0][0].kind, "ntfs");
	f->in.n_fs = 1;
	f->in.fs = f->fs;
	strcpy(f->fs[0].device, "disk0p1");
	strcpy(f->fs[0].probe.type, "ntfs");
	f->fs[0].opened = true;
	f->in.n_os = 1;
	f->in.os = f->os;
	struct vmie_insp_os *os = &f->os[0];
	strcpy(os->root_device, "disk0p1");
	strcpy(os->type, "windows");
	strcpy(os->distro, "windows");
	strcpy(os->product_name, "Windows Server 2019 Datacenter");
	strcpy(os->version, "10.0");
	os->major = 10;
	os->minor = 0;
	os->build = 17763;
	strcpy(os->edition, "ServerDatacenter");
	strcpy(os->installation_type, "Server");
	strcpy(os->arch, "x86_64");
	strcpy(os->install_language, "en-US");
	strcpy(os->default_language, "en-US");
	os->root_free = 30 * GIB;
	os->realtime_is_universal = 1;
	os->paging_auto = 0;
	strcpy(os->paging_files, "C:\\pagefile.sys 4096 4096");
	os->rdp_enabled = os->rdp_firewall = 1;
	os->autologon = os->vmware_tools = os->pending_reboot = os->ems_enabled = 0;
	strcpy(os->dotnet_version, "4.7.2");
	os->bootmgr_bios = true;
	os->can_bios = true;
	os->dhcp_client = 1;
	os->ssh_installed = os->ssh_enabled = os->initrd_read = os->efi_fallback = -1;
	return f;
}

static struct vmie_check_report *run(struct fixture *f, struct vmie_policy *p)
{
	struct vmie_check_report *r = NULL;
	struct vmie_err e = { 0 };
	assert_int_equal(vmie_rules_check(&f->in, &f->o, p, &r, &e), 0);
	return r;
}

static enum vmie_verdict verdict(struct fixture *f, struct vmie_policy *p, const char *id)
{
	struct vmie_check_report *r = run(f, p);
	const struct vmie_rule_result *x = vmie_report_find(r, id);
	if (!x)
		fail_msg("rule %s not reported", id);
	enum vmie_verdict v = x->verdict;
	if (v == VMIE_V_FAIL && !x->status_message[0])
		fail_msg("rule %s fails without a status message", id);
	if ((v == VMIE_V_FAIL || v == VMIE_V_WARN) && !x->fix[0])
		fail_msg("rule %s: %s without a fix hint", id, vmie_verdict_name(v));
	vmie_check_report_free(r);
	return v;
}

#define PASSES(f, p, id) do { enum vmie_verdict v_ = verdict(f, p, id); \
	if (v_ == VMIE_V_FAIL || v_ == VMIE_V_WARN) fail_msg("%s expected to pass, got %s", id, vmie_verdict_name(v_)); } while (0)
#define FAILS(f, p, id) do { enum vmie_verdict v_ = verdict(f, p, id); \
	if (v_ != VMIE_V_FAIL) fail_msg("%s expected to fail, got %s", id, vmie_verdict_name(v_)); } while (0)
#define WARNS(f, p, id) do { enum vmie_verdict v_ = verdict(f, p, id); \
	if (v_ != VMIE_V_WARN) fail_msg("%s expected to warn, got %s", id, vmie_verdict_name(v_)); } while (0)
#define IS(f, p, id, want) do { enum vmie_verdict v_ = verdict(f, p, id); \
	if (v_ != (want)) fail_msg("%s expected %s, got %s", id, vmie_verdict_name(want), vmie_verdict_name(v_)); } while (0)

static void test_good_guests_pass(void **s)
{
	(void)s;
	struct fixture *l = good_linux(), *w = good_windows();
	struct vmie_check_report *r = run(l, cur);
	for (unsigned i = 0; i < r->n_results; i++)
		if (r->results[i].verdict == VMIE_V_FAIL || r->results[i].verdict == VMIE_V_WARN)
			fail_msg("linux: %s %s: %s", r->results[i].id,
				 vmie_verdict_name(r->results[i].verdict), r->results[i].evidence);
	assert_true(r->would_pass);
	assert_string_equal(r->boot_mode, "legacy-bios");
	assert_string_equal(r->license_type, "BYOL");
	assert_string_equal(r->usage_operation, "RunInstances");
	vmie_check_report_free(r);
	r = run(w, cur);
	for (unsigned i = 0; i < r->n_results; i++)
		if (r->results[i].verdict == VMIE_V_FAIL || r->results[i].verdict == VMIE_V_WARN)
			fail_msg("windows: %s %s: %s", r->results[i].id,
				 vmie_verdict_name(r->results[i].verdict), r->results[i].evidence);
	assert_string_equal(r->license_type, "AWS");
	assert_string_equal(r->usage_operation, "RunInstances:0002");
	vmie_check_report_free(r);
	free(l);
	free(w);
}

static void test_fmt(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	PASSES(f, cur, "FMT-001");
	strcpy(f->inputs[0].subformat, "monolithicSparse");
	FAILS(f, cur, "FMT-001");
	FAILS(f, leg, "FMT-006");
	strcpy(f->inputs[0].format, "qcow2");
	f->inputs[0].subformat[0] = 0;
	FAILS(f, cur, "FMT-001");
	strcpy(f->inputs[0].format, "ova");
	PASSES(f, cur, "FMT-001");
	IS(f, cur, "FMT-006", VMIE_V_NA);   /* 001 only */
	static const char *const ids[] = { "FMT-002", "FMT-003", "FMT-004", "FMT-005" };
	for (int i = 0; i < 4; i++) {
		struct fixture *g = good_linux();
		PASSES(g, cur, ids[i]);
		strcpy(g->inputs[0].open_rule, ids[i]);
		strcpy(g->inputs[0].open_error, "refused");
		FAILS(g, cur, ids[i]);
		FAILS(g, leg, ids[i]);
		free(g);
	}
	free(f);
}

static void test_dsk(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	PASSES(f, cur, "DSK-001");
	f->inputs[0].virtual_size = 17 * TIB;
	FAILS(f, cur, "DSK-001");
	f->inputs[0].virtual_size = 6 * TIB;
	PASSES(f, cur, "DSK-002");     /* 8 TiB threshold */
	FAILS(f, leg, "DSK-002");      /* 4 TiB threshold */
	f->o.manifest = true;
	PASSES(f, leg, "DSK-002");
	free(f);

	f = calloc(1, sizeof *f);
	struct fixture *g = good_linux();
	*f = *g;
	base_disks(f, 22, "vmdk", "streamOptimized");
	f->in.fs = f->fs;
	f->in.os = f->os;
	f->os[0].kernels = f->kern;
	f->os[0].fstab = f->fstab;
	f->os[0].netifs = f->nif;
	FAILS(f, cur, "DSK-003");      /* 21 */
	PASSES(f, leg, "DSK-003");     /* 22 */
	free(f);
	free(g);

	f = good_linux();
	PASSES(f, cur, "DSK-004");
	f->os[0].root_disk = 1;
	WARNS(f, cur, "DSK-004");
	free(f);

	f = good_linux();
	PASSES(f, cur, "DSK-005");
	f->in.n_fs = 0;
	f->in.n_os = 0;
	f->disks[0].pt.n_parts = 0;
	FAILS(f, cur, "DSK-005");
	free(f);

	f = good_linux();
	PASSES(f, cur, "DSK-006");
	f->disks[0].virtual_size = 3 * TIB;
	FAILS(f, cur, "DSK-006");
	free(f);
}

static void test_fs(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	PASSES(f, cur, "FS-001");
	strcpy(f->fs[0].probe.type, "reiserfs");
	FAILS(f, cur, "FS-001");
	strcpy(f->fs[0].probe.type, "btrfs");
	PASSES(f, cur, "FS-001");
	PASSES(f, cur, "FS-002");
	f->fs[0].n_subvolumes = 2;
	FAILS(f, cur, "FS-002");
	free(f);

	/* FS-002 looks at every Btrfs of the VM: a /home with subvolumes
	 * fails too; no Btrfs at all is not applicable */
	f = good_linux();
	IS(f, cur, "FS-002", VMIE_V_NA);
	f->in.n_fs = 2;
	strcpy(f->fs[1].device, "disk0p2");
	f->fs[1].partition = 2;
	strcpy(f->fs[1].probe.type, "btrfs");
	f->fs[1].opened = true;
	IS(f, cur, "FS-002", VMIE_V_PASS);
	f->fs[1].n_subvolumes = 1;
	FAILS(f, cur, "FS-002");
	FAILS(f, leg, "FS-002");
	struct vmie_check_report *r = run(f, cur);
	assert_non_null(strstr(vmie_report_find(r, "FS-002")->evidence,
			       "disk0p2: 1 subvolume(s)"));
	assert_string_equal(r->status_message,
			    "ClientError: Btrfs subvolumes are not supported");
	vmie_check_report_free(r);
	free(f);

	f = good_linux();
	f->disks[0].pt.type = VMIE_PT_GPT;
	PASSES(f, cur, "FS-003");
	FAILS(f, leg, "FS-003");
	free(f);

	f = good_windows();
	PASSES(f, cur, "FS-004");
	f->disks[0].pt.type = VMIE_PT_GPT;
	PASSES(f, cur, "FS-004");
	PASSES(f, leg, "FS-004");          /* VHDX */
	strcpy(f->inputs[0].format, "vhd");
	PASSES(f, cur, "FS-004");
	FAILS(f, leg, "FS-004");           /* GPT only with VHDX */
	strcpy(f->fs[0].probe.type, "vfat");
	FAILS(f, cur, "FS-004");
	free(f);

	f = good_windows();
	PASSES(f, cur, "FS-005");
	f->disks[0].pt.ldm = true;
	WARNS(f, cur, "FS-005");
	free(f);
}

static void test_os_linux(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	struct vmie_check_report *r;
	PASSES(f, cur, "OS-001");
	f->in.n_os = 0;
	FAILS(f, cur, "OS-001");
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Unknown OS / Missing OS files.");
	vmie_check_report_free(r);
	f->in.n_os = 1;

	/* the matrix: Debian 11 with 5.10 passes; 6.1 kernel fails; Debian 12 fails */
	PASSES(f, cur, "OS-002");
	strcpy(f->os[0].default_kernel, "6.1.0-13-amd64");
	strcpy(f->kern[0].version, "6.1.0-13-amd64");
	FAILS(f, cur, "OS-002");
	r = run(f, cur);
	assert_non_null(strstr(vmie_report_find(r, "OS-002")->status_message,
			       "Unsupported kernel version 6.1.0-13-amd64"));
	vmie_check_report_free(r);
	strcpy(f->os[0].version, "12.2");
	FAILS(f, cur, "OS-002");
	/* Debian 8 is only in the older edition */
	strcpy(f->os[0].version, "8.0.0");
	strcpy(f->os[0].default_kernel, "3.16.0-4-amd64");
	FAILS(f, cur, "OS-002");
	PASSES(f, leg, "OS-002");
	free(f);

	/* RHEL 8.6 with 4.18.0 passes; 8.8 fails */
	f = good_linux();
	strcpy(f->os[0].distro, "rhel");
	strcpy(f->os[0].version, "8.6");
	strcpy(f->os[0].default_kernel, "4.18.0-372.9.1.el8.x86_64");
	PASSES(f, cur, "OS-002");
	strcpy(f->os[0].version, "8.8");
	FAILS(f, cur, "OS-002");
	free(f);

	/* SLES 12 SP4 on 4.12 passes, SP4 on 4.4 fails */
	f = good_linux();
	strcpy(f->os[0].distro, "sles");
	strcpy(f->os[0].version, "12.4");
	f->os[0].major = 12;
	f->os[0].minor = 4;
	strcpy(f->os[0].default_kernel, "4.12.14-94.41-default");
	PASSES(f, cur, "OS-002");
	strcpy(f->os[0].default_kernel, "4.4.180-94.97-default");
	FAILS(f, cur, "OS-002");
	free(f);

	/* Oracle Linux 5 needs an el5uek kernel */
	f = good_linux();
	strcpy(f->os[0].distro, "ol");
	strcpy(f->os[0].version, "5.11");
	f->os[0].major = 5;
	f->os[0].minor = 11;
	strcpy(f->os[0].default_kernel, "2.6.39-400.215.10.el5uek");
	PASSES(f, cur, "OS-002");
	strcpy(f->os[0].default_kernel, "2.6.18-398.el5");
	FAILS(f, cur, "OS-002");
	free(f);

	f = good_linux();
	PASSES(f, cur, "OS-003");
	strcpy(f->os[0].arch, "i386");
	FAILS(f, cur, "OS-003");
	strcpy(f->os[0].arch, "x86_64");
	f->o.architecture = "i386";
	FAILS(f, cur, "OS-003");
	free(f);

	f = good_linux();
	PASSES(f, cur, "OS-004");
	f->kern[0].custom = true;
	WARNS(f, cur, "OS-004");
	free(f);

	f = good_linux();
	PASSES(f, cur, "OS-007");
	f->in.n_os = 2;
	f->os[1] = f->os[0];
	strcpy(f->os[1].root_device, "disk0p2");
	FAILS(f, cur, "OS-007");
	free(f);

	/* OS-010, the P2V heuristic: vendor partitions by MBR type, GPT type
	 * GUID, GPT name or file system label; the partitions Windows setup
	 * makes in VMs too (MBR 0x27, GPT Windows RE) are not signs */
	static const struct { bool gpt; uint8_t type; const char *guid, *name,
			      *label; enum vmie_verdict v; } p2v[] = {
		{ false, 0x83, "", "", "", VMIE_V_PASS },
		{ false, 0x27, "", "", "", VMIE_V_PASS },
		{ false, 0x27, "", "", "Recovery", VMIE_V_PASS },
		{ false, 0x27, "", "", "PQSERVICE", VMIE_V_WARN },
		{ false, 0xde, "", "", "", VMIE_V_WARN },
		{ false, 0x12, "", "", "", VMIE_V_WARN },
		{ false, 0x84, "", "", "", VMIE_V_WARN },
		{ false, 0xa0, "", "", "", VMIE_V_WARN },
		{ false, 0xfe, "", "", "", VMIE_V_PASS },
		{ false, 0x0c, "", "", "hp_tools", VMIE_V_WARN },
		{ true, 0, "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "Basic data partition", "", VMIE_V_PASS },
		{ true, 0, "bfbfafe7-a34f-448a-9a5b-6213eb736c22", "", "", VMIE_V_WARN },
		{ true, 0, "d3bfe2de-3daf-11df-ba40-e3a556d89593", "", "", VMIE_V_WARN },
		{ true, 0, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "DellUtility", "", VMIE_V_WARN },
		{ true, 0, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "de", "", VMIE_V_PASS },
	};
	for (size_t i = 0; i < sizeof p2v / sizeof *p2v; i++) {
		f = good_linux();
		f->disks[0].pt.type = p2v[i].gpt ? VMIE_PT_GPT : VMIE_PT_MBR;
		f->disks[0].pt.n_parts = 2;
		f->parts[0][1] = (struct vmie_partition){ .number = 2,
			.mbr_type = p2v[i].type };
		strcpy(f->parts[0][1].type_guid, p2v[i].guid);
		strcpy(f->parts[0][1].name, p2v[i].name);
		f->in.n_fs = 2;
		strcpy(f->fs[1].device, "disk0p2");
		f->fs[1].partition = 2;
		strcpy(f->fs[1].probe.type, "vfat");
		strcpy(f->fs[1].probe.label, p2v[i].label);
		enum vmie_verdict v = verdict(f, cur, "OS-010");
		if (v != p2v[i].v)
			fail_msg("OS-010 case %zu: %s, want %s", i, vmie_verdict_name(v),
				 vmie_verdict_name(p2v[i].v));
		assert_int_equal(verdict(f, leg, "OS-010"), p2v[i].v);
		free(f);
	}
	/* the lists are policy data: a policy may name its own signs */
	struct vmie_policy *p = NULL;
	struct vmie_err e = { 0 };
	assert_int_equal(vmie_policy_parse("name mine\nallow p2v_labels ACME_DIAG\n"
		"allow p2v_mbr_types 27\nlinux debian 11 kernel 5.10\n", "mine", &p, &e), 0);
	f = good_linux();
	f->disks[0].pt.n_parts = 2;
	f->parts[0][1] = (struct vmie_partition){ .number = 2, .mbr_type = 0xde };
	IS(f, p, "OS-010", VMIE_V_PASS);          /* not in this policy's list */
	f->parts[0][1].mbr_type = 0x27;
	WARNS(f, p, "OS-010");
	f->parts[0][1].mbr_type = 0x0c;
	f->in.n_fs = 2;
	strcpy(f->fs[1].device, "disk0p2");
	f->fs[1].partition = 2;
	strcpy(f->fs[1].probe.label, "acme_diag");
	WARNS(f, p, "OS-010");
	r = run(f, p);
	assert_non_null(strstr(vmie_report_find(r, "OS-010")->evidence,
			       "disk0p2: listed as a P2V sign by the policy"));
	vmie_check_report_free(r);
	free(f);
	vmie_policy_free(p);
}

static void test_os_windows(void **s)
{
	(void)s;
	struct fixture *f = good_windows();
	PASSES(f, cur, "OS-002");
	strcpy(f->os[0].edition, "ServerWeb");   /* 2019 has no Web edition */
	FAILS(f, cur, "OS-002");
	free(f);

	/* Windows Server 2022 is in no matrix */
	f = good_windows();
	f->os[0].build = 20348;
	strcpy(f->os[0].product_name, "Windows Server 2022 Datacenter");
	FAILS(f, cur, "OS-002");
	free(f);

	/* 32-bit Windows 8.1 is not supported; Server 2003 needs SP1 */
	f = good_windows();
	strcpy(f->os[0].product_name, "Windows 8.1 Pro");
	strcpy(f->os[0].installation_type, "Client");
	strcpy(f->os[0].edition, "Professional");
	f->os[0].major = 6;
	f->os[0].minor = 3;
	f->os[0].build = 9600;
	PASSES(f, cur, "OS-002");
	strcpy(f->os[0].arch, "i386");
	FAILS(f, cur, "OS-002");
	free(f);
	f = good_windows();
	strcpy(f->os[0].product_name, "Microsoft Windows Server 2003");
	strcpy(f->os[0].edition, "ServerStandard");
	f->os[0].major = 5;
	f->os[0].minor = 2;
	f->os[0].build = 3790;
	FAILS(f, cur, "OS-002");
	strcpy(f->os[0].service_pack, "Service Pack 2");
	PASSES(f, cur, "OS-002");
	/* OS-008: 32-bit 2003 is info in default regions, fails in opt-in ones */
	strcpy(f->os[0].arch, "i386");
	IS(f, cur, "OS-008", VMIE_V_INFO);
	f->o.non_default_region = true;
	FAILS(f, cur, "OS-008");
	IS(f, leg, "OS-008", VMIE_V_NA);
	free(f);

	/* OS-005: a German Windows 7 fails; a server may be German */
	f = good_windows();
	strcpy(f->os[0].product_name, "Windows 7 Professional");
	strcpy(f->os[0].installation_type, "Client");
	strcpy(f->os[0].edition, "Professional");
	f->os[0].major = 6;
	f->os[0].minor = 1;
	f->os[0].build = 7601;
	PASSES(f, cur, "OS-005");
	strcpy(f->os[0].install_language, "de-DE");
	strcpy(f->os[0].default_language, "de-DE");
	FAILS(f, cur, "OS-005");
	free(f);
	f = good_windows();
	strcpy(f->os[0].install_language, "de-DE");
	PASSES(f, cur, "OS-005");
	strcpy(f->os[0].language_packs, "en-US,\xe4\xb8\xad\xe6\x96\x87");
	FAILS(f, cur, "OS-005");
	free(f);

	f = good_windows();
	PASSES(f, cur, "OS-006");
	strcpy(f->os[0].installation_type, "Nano Server");
	FAILS(f, cur, "OS-006");
	free(f);

	/* OS-009: Windows 11 needs UEFI */
	f = good_windows();
	strcpy(f->os[0].product_name, "Windows 11 Pro");
	strcpy(f->os[0].installation_type, "Client");
	strcpy(f->os[0].edition, "Professional");
	f->os[0].build = 22621;
	FAILS(f, cur, "OS-009");          /* BIOS only guest */
	f->os[0].can_uefi = true;
	f->os[0].bootmgr_efi = true;
	f->o.boot_mode = "uefi";
	PASSES(f, cur, "OS-009");
	f->o.boot_mode = "legacy-bios";
	FAILS(f, cur, "OS-009");
	IS(f, leg, "OS-009", VMIE_V_NA);
	free(f);
}

static void test_boot(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	IS(f, cur, "BOOT-001", VMIE_V_INFO);
	f->os[0].can_bios = false;
	FAILS(f, cur, "BOOT-001");
	free(f);

	f = good_linux();
	IS(f, cur, "BOOT-002", VMIE_V_NA);
	f->o.boot_mode = "legacy-bios";
	PASSES(f, cur, "BOOT-002");
	f->o.boot_mode = "uefi";
	FAILS(f, cur, "BOOT-002");
	free(f);

	/* Linux UEFI needs the fallback loader */
	f = good_linux();
	f->os[0].can_bios = false;
	f->os[0].grub2_bios = false;
	f->os[0].can_uefi = true;
	f->os[0].grub2_efi = true;
	f->disks[0].pt.type = VMIE_PT_GPT;
	f->os[0].efi_fallback = 1;
	PASSES(f, cur, "BOOT-003");
	f->os[0].efi_fallback = 0;
	FAILS(f, cur, "BOOT-003");
	IS(f, leg, "BOOT-003", VMIE_V_NA);
	FAILS(f, leg, "BOOT-008");        /* legacy: UEFI only for Windows VHDX */
	free(f);

	f = good_linux();
	PASSES(f, cur, "BOOT-004");
	PASSES(f, cur, "EXP-003");
	f->os[0].grub2_efi = true;
	f->os[0].can_uefi = true;
	WARNS(f, cur, "BOOT-004");
	WARNS(f, cur, "EXP-003");
	free(f);

	f = good_linux();
	PASSES(f, cur, "BOOT-005");
	strcpy(f->os[0].bootloader, "syslinux");
	FAILS(f, cur, "BOOT-005");
	f->os[0].bootloader[0] = 0;
	FAILS(f, leg, "BOOT-005");
	free(f);

	/* BOOT-007 */
	f = good_windows();
	f->os[0].can_uefi = true;
	f->o.boot_mode = "uefi";
	PASSES(f, cur, "BOOT-007");
	f->o.encrypted = true;
	FAILS(f, cur, "BOOT-007");
	f->o.encrypted = false;
	f->o.license_configuration = true;
	FAILS(f, cur, "BOOT-007");
	f->o.license_configuration = false;
	f->o.snapshot = true;
	FAILS(f, cur, "BOOT-007");
	f->o.platform = "Windows";
	PASSES(f, cur, "BOOT-007");
	IS(f, leg, "BOOT-007", VMIE_V_NA);
	free(f);

	/* BOOT-008: Windows UEFI in VHDX passes the older rule, in VHD fails */
	f = good_windows();
	f->os[0].can_bios = false;
	f->os[0].can_uefi = true;
	f->disks[0].pt.type = VMIE_PT_GPT;
	PASSES(f, leg, "BOOT-008");
	strcpy(f->inputs[0].format, "vhd");
	FAILS(f, leg, "BOOT-008");
	IS(f, cur, "BOOT-008", VMIE_V_NA);
	free(f);
}

/* BOOT-006 as a full table: every combination of the inputs, with the
 * disk size on both sides of each threshold (2 TiB: "smaller than 2 TB"
 * picks BIOS, "2 TiB or smaller" converts) and 0 to 5 primary partitions
 * (4 and 3 are the limits).  The expected values are written out from the
 * seed's two sentences and docs/windows-boot.md, independently of
 * decide.c: compatible with both = UEFI and (a BIOS boot manager, or on
 * GPT the BIOS boot files of a version that may boot with BIOS); on GPT
 * legacy BIOS exists only through the conversion (VHDX, <= 2 TiB, <= 3
 * partitions in the MBR, not dynamic, every partition has an MBR type). */
static const uint64_t b6_sizes[] = { 100 * GIB, 2 * TIB - 512, 2 * TIB,
				     2 * TIB + 512, 3 * TIB };
#define B6_NSIZES (sizeof b6_sizes / sizeof *b6_sizes)

static void test_boot006_table(void **s)
{
	(void)s;
	const char *reqs[] = { NULL, "legacy-bios", "uefi" };
	unsigned n = 0, conversions = 0, bios_picks = 0, limits = 0;
	for (int bios = 0; bios < 2; bios++)
	for (int uefi = 0; uefi < 2; uefi++)
	for (int files = 0; files < 2; files++)
	for (int uonly = 0; uonly < 2; uonly++)
	for (int ri = 0; ri < 3; ri++)
	for (size_t si = 0; si < B6_NSIZES; si++)
	for (unsigned prim = 0; prim <= 5; prim++)
	for (int dyn = 0; dyn < 2; dyn++)
	for (int vhdx = 0; vhdx < 2; vhdx++)
	for (int gpt = 0; gpt < 2; gpt++)
	for (int fits = 0; fits < 2; fits++) {
		uint64_t size = b6_sizes[si];
		unsigned dropped = prim % 2;       /* an MSR, or none */
		struct vmie_boot006_in in = {
			.can_bios = bios, .can_uefi = uefi,
			.bios_after_mbr = files, .uefi_only = uonly,
			.requested = reqs[ri], .disk_size = size,
			.primary_partitions = prim, .dropped_partitions = dropped,
			.dynamic_disk = dyn, .vhdx = vhdx, .gpt = gpt,
			.not_convertible = fits ? NULL :
				"partition 5 (Storage Spaces) has no MBR type",
		};
		struct vmie_boot006_out out;
		vmie_boot006_decide(&in, &out);
		n++;
		bool b = bios || (gpt && files && !uonly);
		bool conv_ok = vhdx && size <= 2 * TIB && !dyn && prim <= 3 && fits;
		const char *want;
		bool conv = false, limited = false;
		if (ri == 2) {
			want = uefi ? "uefi" : NULL;
		} else if (ri == 1) {
			want = !b ? NULL : !gpt ? "legacy-bios" :
			       conv_ok ? "legacy-bios" : NULL;
			conv = b && gpt && conv_ok;
			limited = b && gpt && !conv_ok;
		} else if (b && uefi) {
			if (gpt) {
				conv = conv_ok && size < 2 * TIB;
				want = conv ? "legacy-bios" : "uefi";
			} else {
				want = size < 2 * TIB && prim <= 4 && !dyn && vhdx ?
				       "legacy-bios" : "uefi";
			}
		} else if (uefi) {
			want = "uefi";
		} else if (b) {
			want = !gpt || conv_ok ? "legacy-bios" : NULL;
			conv = gpt && conv_ok;
			limited = gpt && !conv_ok;
		} else {
			want = NULL;
		}
		if (!want) {
			if (out.mode)
				fail_msg("case %u: mode %s, want none", n, out.mode);
		} else if (!out.mode || strcmp(out.mode, want)) {
			fail_msg("case %u (bios %d uefi %d files %d uefi-only %d "
				 "req %s size %llu prim %u dyn %d vhdx %d gpt %d "
				 "fits %d): mode %s, want %s", n, bios, uefi, files,
				 uonly, reqs[ri] ? reqs[ri] : "-",
				 (unsigned long long)size, prim, dyn, vhdx, gpt,
				 fits, out.mode ? out.mode : "none", want);
		}
		if (out.gpt_to_mbr != conv)
			fail_msg("case %u: gpt_to_mbr %d, want %d", n, out.gpt_to_mbr, conv);
		/* a refusal by a conversion limit names the first one that
		 * fails, in the seed's order, with the count */
		if (limited != (out.limit[0] != 0))
			fail_msg("case %u: limit '%s', want %s", n, out.limit,
				 limited ? "one" : "none");
		if (limited) {
			const char *lim = !vhdx ? "not VHDX" : size > 2 * TIB ?
					  "larger than 2 TiB" : dyn ? "dynamic disk" :
					  prim > 3 ? "more than 3" : "Storage Spaces";
			if (!strstr(out.limit, lim) || !strstr(out.reason, lim))
				fail_msg("case %u: limit '%s' / reason '%s' lacks '%s'",
					 n, out.limit, out.reason, lim);
			if (prim > 3 && vhdx && size <= 2 * TIB && !dyn) {
				char cnt[32];
				snprintf(cnt, sizeof cnt, "%u partitions", prim);
				assert_non_null(strstr(out.limit, cnt));
				assert_true(!dropped ==
					    !strstr(out.limit, "MSR not counted"));
			}
			limits++;
		}
		if (conv)
			assert_non_null(strstr(out.reason, "in the MBR"));
		if (b && !bios && uefi && !ri && want && !strcmp(want, "uefi"))
			assert_null(strstr(out.reason, "UEFI only"));
		if (files && gpt && uonly && !bios && uefi && !ri)
			assert_non_null(strstr(out.reason, "UEFI only"));
		assert_true(out.reason[0] != 0);
		conversions += conv;
		bios_picks += !reqs[ri] && b && uefi && want && want[0] == 'l';
	}
	/* the loops are the whole input space */
	assert_int_equal(n, 2 * 2 * 2 * 2 * 3 * B6_NSIZES * 6 * 2 * 2 * 2 * 2);
	assert_true(conversions > 0 && bios_picks > 0 && limits > 0);
}

/* BOOT-006 through the engine: a Windows guest compatible with both
 * modes, over every image format, partitioning, partition count, size
 * and dynamic-disk flag of its boot disk: the report's decision is
 * vmie_boot006_decide's on the facts the engine must gather (the boot
 * disk's format, its partitions as an MBR would hold them: on GPT the
 * second partition is an MSR, dropped and not counted; its LDM flag). */
static void test_boot006_engine(void **s)
{
	(void)s;
	static const char *const fmts[] = { "vhdx", "vhd", "vmdk", "raw" };
	static const uint64_t sizes[] = { 100 * GIB, 2 * TIB, 3 * TIB };
	for (size_t fi = 0; fi < 4; fi++)
	for (int gpt = 0; gpt < 2; gpt++)
	for (unsigned np = 1; np <= 4; np++)
	for (size_t si = 0; si < 3; si++)
	for (int dyn = 0; dyn < 2; dyn++)
	for (int req = 0; req < 3; req++) {
		struct fixture *f = good_windows();
		strcpy(f->inputs[0].format, fmts[fi]);
		strcpy(f->disks[0].format, fmts[fi]);
		f->disks[0].virtual_size = f->inputs[0].virtual_size = sizes[si];
		f->disks[0].pt.type = gpt ? VMIE_PT_GPT : VMIE_PT_MBR;
		f->disks[0].pt.ldm = dyn;
		f->disks[0].pt.n_parts = np;
		f->disks[0].pt.n_primary = gpt ? 0 : np;
		for (unsigned i = 1; i < np; i++)
			f->parts[0][i] = (struct vmie_partition){ .number = i + 1,
				.mbr_type = gpt ? 0 : 0x07 };
		if (gpt) {
			for (unsigned i = 0; i < np; i++)
				strcpy(f->parts[0][i].type_guid, i == 1 ?
				       "e3c9e316-0b5c-4db8-817d-f92df00215ae" :
				       "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");
			f->parts[0][0].mbr_type = 0;
		}
		f->os[0].can_uefi = f->os[0].bootmgr_efi = true;
		f->o.boot_mode = req == 1 ? "legacy-bios" : req == 2 ? "uefi" : NULL;
		unsigned kept = gpt && np >= 2 ? np - 1 : np;
		struct vmie_boot006_in in = {
			.can_bios = true, .can_uefi = true, .requested = f->o.boot_mode,
			.disk_size = sizes[si], .primary_partitions = kept,
			.dropped_partitions = gpt && np >= 2,
			.dynamic_disk = dyn, .vhdx = fi == 0, .gpt = gpt,
		};
		struct vmie_boot006_out want;
		vmie_boot006_decide(&in, &want);
		struct vmie_check_report *r = run(f, cur);
		assert_string_equal(r->boot_mode, want.mode ? want.mode : "");
		assert_string_equal(r->boot_mode_rule, want.mode ? "BOOT-006" : "");
		assert_int_equal(r->gpt_to_mbr, want.gpt_to_mbr);
		const struct vmie_rule_result *x = vmie_report_find(r, "BOOT-006");
		assert_int_equal(x->verdict, want.mode ? VMIE_V_INFO : VMIE_V_FAIL);
		assert_non_null(strstr(x->evidence, want.reason));
		if (want.gpt_to_mbr)
			assert_non_null(strstr(x->evidence, "converted to MBR"));
		if (gpt)        /* the partitions as the MBR would hold them */
			assert_non_null(strstr(x->evidence, np >= 2 ?
				"p2 MSR dropped" : "p1 Microsoft basic data 0x07"));
		if (!want.mode) {
			/* only a conversion limit refuses a guest with both */
			assert_true(gpt && req == 1 && want.limit[0]);
			assert_non_null(strstr(x->status_message, want.limit));
			assert_non_null(strstr(x->status_message, "converted to MBR"));
		}
		vmie_check_report_free(r);
		/* the older policy has no automatic choice: BIOS unless asked */
		r = run(f, leg);
		assert_string_equal(r->boot_mode, req == 2 ? "uefi" : "legacy-bios");
		assert_string_equal(r->boot_mode_rule, "BOOT-008");
		assert_false(r->gpt_to_mbr);
		assert_int_equal(vmie_report_find(r, "BOOT-006")->verdict, VMIE_V_NA);
		vmie_check_report_free(r);
		free(f);
	}
}

/* BOOT-006 on facts a GPT Windows guest gives: the BIOS boot files on the
 * Windows volume (bios_after_mbr) make a Windows 10 compatible with both,
 * not a Windows 11; the partitions counted are those the MBR would hold
 * (ESP kept, MSR dropped); a partition no MBR can hold refuses the
 * conversion. */
static void test_boot006_gpt_facts(void **s)
{
	(void)s;
	static const char *const esp = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
		*msr = "e3c9e316-0b5c-4db8-817d-f92df00215ae",
		*data = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
		*rec = "de94bba4-06d1-4d40-a16a-bfd50179d6ac",
		*spaces = "e75caf8f-f680-4cee-afa3-b001e56efc2d";
	struct fixture *f = good_windows();
	strcpy(f->os[0].product_name, "Windows 10 Enterprise");
	strcpy(f->os[0].installation_type, "Client");
	strcpy(f->os[0].edition, "Enterprise");
	f->os[0].build = 19045;
	f->os[0].bootmgr_bios = false;
	f->os[0].bios_after_mbr = true;
	f->os[0].can_bios = true;      /* as inspection sets it */
	f->os[0].can_uefi = f->os[0].bootmgr_efi = true;
	f->disks[0].pt.type = VMIE_PT_GPT;
	f->disks[0].pt.n_parts = 4;
	const char *types[] = { esp, msr, data, rec };
	for (unsigned i = 0; i < 4; i++) {
		f->parts[0][i] = (struct vmie_partition){ .number = i + 1,
			.start = (1 + 64 * i) * MIB, .size = 64 * MIB };
		strcpy(f->parts[0][i].type_guid, types[i]);
	}
	struct vmie_check_report *r = run(f, cur);
	assert_string_equal(r->boot_mode, "legacy-bios");
	assert_true(r->gpt_to_mbr);
	const struct vmie_rule_result *x = vmie_report_find(r, "BOOT-006");
	assert_non_null(strstr(x->evidence, "3 partitions in the MBR (at most 3; the MSR not counted)"));
	assert_non_null(strstr(x->evidence, "p1 EFI system partition 0xef"));
	assert_non_null(strstr(x->evidence, "p4 Windows recovery 0x27"));
	assert_non_null(strstr(vmie_report_find(r, "BOOT-001")->evidence,
			       "after GPT-to-MBR conversion"));
	vmie_check_report_free(r);

	/* --boot-mode uefi: no conversion */
	f->o.boot_mode = "uefi";
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "uefi");
	assert_false(r->gpt_to_mbr);
	vmie_check_report_free(r);
	f->o.boot_mode = NULL;

	/* a fourth partition in the MBR: stays GPT; asked for BIOS: fails
	 * naming the limit */
	f->parts[0][1].type_guid[0] = 0;
	strcpy(f->parts[0][1].type_guid, data);
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "uefi");
	assert_false(r->gpt_to_mbr);
	assert_non_null(strstr(vmie_report_find(r, "BOOT-006")->evidence,
			       "4 partitions would be in the MBR, more than 3"));
	vmie_check_report_free(r);
	f->o.boot_mode = "legacy-bios";
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "");
	x = vmie_report_find(r, "BOOT-006");
	assert_int_equal(x->verdict, VMIE_V_FAIL);
	assert_non_null(strstr(x->status_message, "more than 3"));
	assert_null(strstr(x->status_message, "Unable to determine"));
	PASSES(f, cur, "BOOT-002");
	vmie_check_report_free(r);
	f->o.boot_mode = NULL;

	/* a type no MBR byte carries */
	strcpy(f->parts[0][1].type_guid, spaces);
	f->disks[0].pt.n_parts = 3;     /* ESP, Storage Spaces, C: */
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "uefi");
	assert_non_null(strstr(vmie_report_find(r, "BOOT-006")->evidence,
			       "partition 2 (Storage Spaces"));
	vmie_check_report_free(r);

	/* past 2^32 sectors: an MBR cannot reach it */
	strcpy(f->parts[0][1].type_guid, msr);
	f->parts[0][2].start = ((uint64_t)1 << 32) * 512 - MIB;
	f->parts[0][2].size = 2 * MIB;
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "uefi");
	assert_non_null(strstr(vmie_report_find(r, "BOOT-006")->evidence,
			       "partition 3 (Microsoft basic data) ends beyond 2^32"));
	vmie_check_report_free(r);
	f->parts[0][2].size = MIB;      /* its last sector is 2^32 - 1 */
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "legacy-bios");
	vmie_check_report_free(r);

	/* Windows 11 with the same files: UEFI only, BOOT-002 refuses BIOS */
	strcpy(f->os[0].product_name, "Windows 11 Pro");
	f->os[0].build = 22631;
	r = run(f, cur);
	assert_string_equal(r->boot_mode, "uefi");
	assert_false(r->gpt_to_mbr);
	assert_non_null(strstr(vmie_report_find(r, "BOOT-006")->evidence, "UEFI only"));
	assert_non_null(strstr(vmie_report_find(r, "BOOT-001")->evidence,
			       "legacy BIOS: no"));
	vmie_check_report_free(r);
	PASSES(f, cur, "OS-009");
	f->o.boot_mode = "legacy-bios";
	FAILS(f, cur, "BOOT-002");
	FAILS(f, cur, "BOOT-006");
	free(f);
}

static void test_gpt_mbr_type(void **s)
{
	(void)s;
	static const struct {
		const char *guid, *fs, *ver;
		int map;
		uint8_t type;
	} t[] = {
		{ "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "vfat", "FAT32", VMIE_GPT_MBR_KEEP, 0xef },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "ntfs", "", VMIE_GPT_MBR_KEEP, 0x07 },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "vfat", "FAT32", VMIE_GPT_MBR_KEEP, 0x0c },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "vfat", "FAT16", VMIE_GPT_MBR_KEEP, 0x0e },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "vfat", "FAT12", VMIE_GPT_MBR_KEEP, 0x01 },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", NULL, NULL, VMIE_GPT_MBR_KEEP, 0x07 },
		{ "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "ntfs", "", VMIE_GPT_MBR_KEEP, 0x27 },
		{ "e3c9e316-0b5c-4db8-817d-f92df00215ae", "", "", VMIE_GPT_MBR_DROP, 0 },
		{ "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", "", "", VMIE_GPT_MBR_NONE, 0 },
		{ "af9b60a0-1431-4f62-bc68-3311714a69ad", "", "", VMIE_GPT_MBR_NONE, 0 },
		{ "21686148-6449-6e6f-744e-656564454649", "", "", VMIE_GPT_MBR_NONE, 0 },
		{ "0fc63daf-8483-4772-8e79-3d69d8477de4", "ext4", "", VMIE_GPT_MBR_KEEP, 0x83 },
		{ "01234567-89ab-cdef-0123-456789abcdef", "ntfs", "", VMIE_GPT_MBR_NONE, 0 },
		{ "", "", "", VMIE_GPT_MBR_NONE, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		uint8_t b = 0x55;
		const char *what = NULL;
		int m = vmie_gpt_mbr_type(t[i].guid, t[i].fs, t[i].ver, &b, &what);
		if (m != t[i].map || b != t[i].type)
			fail_msg("%s %s: map %d type 0x%02x, want %d 0x%02x",
				 t[i].guid, t[i].fs ? t[i].fs : "-", m, b,
				 t[i].map, t[i].type);
		assert_non_null(what);
	}
	assert_int_equal(vmie_gpt_mbr_type(NULL, NULL, NULL, NULL, NULL),
			 VMIE_GPT_MBR_NONE);
}

/* vmie_license_decide over its whole input space: OS kind x every
 * spelling of the option (AWS and BYOL as the API writes them, the CLI's
 * lower case, Auto both ways, unset, and invalid values). */
static void test_license_decide_table(void **s)
{
	(void)s;
	static const char *const reqs[] = { NULL, "Auto", "auto", "AWS", "aws",
		"BYOL", "byol", "Byol", "Free", "", "BYOS" };
	for (int win = 0; win < 2; win++)
	for (int server = 0; server < 2; server++)
	for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
		const char *q = reqs[i], *rule = "", *want, *want_rule;
		bool aws = q && !strcasecmp(q, "AWS");
		bool byol = q && !strcasecmp(q, "BYOL");
		bool valid = !q || aws || byol || !strcasecmp(q, "Auto");
		if (!valid) {
			want = NULL, want_rule = "LIC-001";
		} else if (!win) {           /* Linux: BYOL only, Auto = BYOL */
			want = aws ? NULL : "BYOL", want_rule = "LIC-002";
		} else if (!server) {        /* Windows client: BYOL only */
			want = aws ? NULL : "BYOL", want_rule = "LIC-003";
		} else {                     /* Windows Server: Auto = AWS */
			want = byol ? "BYOL" : "AWS", want_rule = "LIC-004";
		}
		const char *got = vmie_license_decide(win, server, q, &rule);
		if (want)
			assert_string_equal(got, want);
		else
			assert_null(got);
		assert_string_equal(rule, want_rule);
	}
}

/* The license rules through the engine, every combination: five OS kinds
 * x every --license-type x --usage-operation (unset, the one the license
 * gives, another) x --platform (unset, the guest's, the other).  The
 * expected verdicts of LIC-001..005, the decided license and usage
 * operation are written out from seed 001's licensing section. */
static void test_license_engine_table(void **s)
{
	(void)s;
	enum { DEBIAN, RHEL, SLES, WIN_CLIENT, WIN_SERVER, NKINDS };
	static const char *const reqs[] = { NULL, "Auto", "AWS", "aws", "BYOL",
		"byol", "Free" };
	unsigned n = 0;
	for (int k = 0; k < NKINDS; k++)
	for (size_t li = 0; li < sizeof reqs / sizeof *reqs; li++)
	for (int ui = 0; ui < 3; ui++)
	for (int pi = 0; pi < 3; pi++) {
		struct fixture *f = k >= WIN_CLIENT ? good_windows() : good_linux();
		struct vmie_insp_os *os = &f->os[0];
		bool win = k >= WIN_CLIENT;
		if (k == RHEL) {
			strcpy(os->distro, "rhel");
			strcpy(os->product_name, "Red Hat Enterprise Linux 7.9");
			strcpy(os->version, "7.9");
			strcpy(os->default_kernel, "3.10.0-1160.el7.x86_64");
		} else if (k == SLES) {
			strcpy(os->distro, "sles");
			strcpy(os->product_name, "SUSE Linux Enterprise Server 12 SP4");
			strcpy(os->version, "12.4");
			os->major = 12, os->minor = 4;
			strcpy(os->default_kernel, "4.12.14-94.41-default");
		} else if (k == WIN_CLIENT) {
			strcpy(os->product_name, "Windows 10 Pro");
			strcpy(os->installation_type, "Client");
			strcpy(os->edition, "Professional");
			os->build = 19045;
		}
		const char *q = reqs[li];
		bool aws = q && !strcasecmp(q, "AWS"), byol = q && !strcasecmp(q, "BYOL");
		bool valid = !q || aws || byol || !strcasecmp(q, "Auto");
		const char *lic = !valid ? NULL : k == WIN_SERVER ? (byol ? "BYOL" : "AWS") :
				  aws ? NULL : "BYOL";
		const char *usage = !lic ? "" : win ? (!strcmp(lic, "AWS") ?
				    "RunInstances:0002" : "RunInstances:0800") :
				    k == RHEL ? "RunInstances:00g0" : "RunInstances";
		f->o.license_type = q;
		f->o.usage_operation = ui == 0 ? NULL : ui == 1 ? usage : "RunInstances:0010";
		if (ui == 1 && !lic)
			f->o.usage_operation = "RunInstances";
		f->o.platform = pi == 0 ? NULL : (pi == 1) == win ? "Windows" : "Linux";
		bool usage_bad = ui == 2 && lic;
		if (ui == 1 && !lic)
			usage_bad = false;     /* nothing to compare with */
		bool plat_bad = pi == 2;

		struct vmie_check_report *r = run(f, cur);
		n++;
#define V(id) (vmie_report_find(r, id)->verdict)
		assert_int_equal(V("LIC-001"), valid ? VMIE_V_PASS : VMIE_V_FAIL);
		enum vmie_verdict w2 = VMIE_V_NA, w3 = VMIE_V_NA, w4 = VMIE_V_NA;
		if (valid && !win)
			w2 = !lic ? VMIE_V_FAIL : k == RHEL || k == SLES ? VMIE_V_INFO : VMIE_V_PASS;
		if (valid && k == WIN_CLIENT)
			w3 = lic ? VMIE_V_PASS : VMIE_V_FAIL;
		if (valid && k == WIN_SERVER)
			w4 = VMIE_V_PASS;
		if (V("LIC-002") != w2 || V("LIC-003") != w3 || V("LIC-004") != w4)
			fail_msg("kind %d license %s: LIC-002/3/4 %s/%s/%s, want %s/%s/%s",
				 k, q ? q : "unset", vmie_verdict_name(V("LIC-002")),
				 vmie_verdict_name(V("LIC-003")), vmie_verdict_name(V("LIC-004")),
				 vmie_verdict_name(w2), vmie_verdict_name(w3), vmie_verdict_name(w4));
		enum vmie_verdict w5 = (valid && !lic) || usage_bad || plat_bad ?
				       VMIE_V_FAIL : !valid ? VMIE_V_NA : VMIE_V_PASS;
		if (V("LIC-005") != w5)
			fail_msg("kind %d license %s usage %d platform %d: LIC-005 %s, want %s",
				 k, q ? q : "unset", ui, pi, vmie_verdict_name(V("LIC-005")),
				 vmie_verdict_name(w5));
#undef V
		assert_string_equal(r->license_type, lic ? lic : "");
		assert_string_equal(r->license_rule, !lic ? "" : !win ? "LIC-002" :
				    k == WIN_CLIENT ? "LIC-003" : "LIC-004");
		assert_string_equal(r->usage_operation, usage);
		assert_string_equal(r->platform, win ? "Windows" : "Linux");
		bool fails = !valid || !lic || usage_bad || plat_bad;
		assert_int_equal(r->would_pass, !fails);
		if (fails)
			assert_non_null(strstr(r->status_message, "ClientError: "));
		vmie_check_report_free(r);
		free(f);
	}
	assert_int_equal(n, 5 * 7 * 3 * 3);
}

/* A few fixed cases of the license decision, with their messages. */
static void test_license_messages(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	f->o.license_type = "AWS";
	struct vmie_check_report *r = run(f, cur);
	assert_string_equal(vmie_report_find(r, "LIC-002")->status_message,
			    "ClientError: Linux operating systems support only BYOL licenses");
	vmie_check_report_free(r);
	f->o.license_type = "Cheap";
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Invalid license type Cheap");
	vmie_check_report_free(r);
	free(f);
	f = good_windows();
	strcpy(f->os[0].installation_type, "Client");
	strcpy(f->os[0].product_name, "Windows 10 Pro");
	strcpy(f->os[0].edition, "Professional");
	f->o.license_type = "AWS";
	r = run(f, cur);
	assert_string_equal(r->status_message,
			    "ClientError: Windows client operating systems support only BYOL licenses");
	vmie_check_report_free(r);
	free(f);
}

static void test_prep(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	PASSES(f, cur, "PREP-001");
	f->os[0].root_free = 100u << 20;
	WARNS(f, cur, "PREP-001");
	PASSES(f, cur, "PREP-003");
	f->os[0].dhcp_client = 0;
	WARNS(f, cur, "PREP-003");
	f->os[0].dhcp_client = 1;
	f->nif[0].dhcp = 0;
	strcpy(f->nif[0].address, "192.168.1.10/24");
	IS(f, cur, "PREP-003", VMIE_V_INFO);
	PASSES(f, cur, "PREP-004");
	f->os[0].ssh_installed = 0;
	WARNS(f, cur, "PREP-004");
	PASSES(f, cur, "PREP-013");
	f->os[0].n_fstab = 3;
	strcpy(f->fstab[1].spec, "/dev/sdb1");
	strcpy(f->fstab[1].type, "xfs");
	f->fstab[1].spec_kind = VMIE_SPEC_DEVICE;
	WARNS(f, cur, "PREP-013");       /* matches no file system: nofail */
	strcpy(f->fstab[1].resolves_to, "disk1p1");
	strcpy(f->fstab[2].type, "cifs");
	f->fstab[2].spec_kind = VMIE_SPEC_OTHER;
	IS(f, cur, "PREP-013", VMIE_V_INFO);
	IS(f, cur, "PREP-014", VMIE_V_PASS);
	f->os[0].grub_timeout = -1;
	IS(f, cur, "PREP-014", VMIE_V_INFO);
	f->os[0].grub_timeout = 5;
	f->os[0].grub_default[0] = 0;
	IS(f, cur, "PREP-014", VMIE_V_INFO);
	/* PREP-015: the drivers of the policy (current: nvme, ena; legacy:
	 * the Xen PV ones), whole names only */
	IS(f, cur, "PREP-015", VMIE_V_PASS);
	IS(f, leg, "PREP-015", VMIE_V_PASS);
	strcpy(f->os[0].initrd_drivers, "virtio_blk,nvme,ena");
	IS(f, cur, "PREP-015", VMIE_V_PASS);
	IS(f, leg, "PREP-015", VMIE_V_INFO);
	strcpy(f->os[0].initrd_drivers, "virtio_blk,nvme,xen-netfront");
	IS(f, cur, "PREP-015", VMIE_V_INFO);     /* no ena */
	strcpy(f->os[0].initrd_drivers, "nvme,enax");
	IS(f, cur, "PREP-015", VMIE_V_INFO);     /* "enax" is not "ena" */
	strcpy(f->os[0].initrd_drivers, "virtio_blk");
	IS(f, cur, "PREP-015", VMIE_V_INFO);
	f->os[0].initrd_read = 0;
	WARNS(f, cur, "PREP-015");
	PASSES(f, cur, "PREP-017");
	f->os[0].users_with_keys[0] = 0;
	WARNS(f, cur, "PREP-017");
	IS(f, cur, "PREP-018", VMIE_V_INFO);
	IS(f, cur, "PREP-011", VMIE_V_NA);
	f->in.vm.present = true;
	f->in.vm.n_nics = 1;
	PASSES(f, cur, "PREP-011");
	PASSES(f, cur, "PREP-012");
	f->in.vm.n_nics = 2;
	f->in.vm.n_cdroms = 1;
	WARNS(f, cur, "PREP-011");
	WARNS(f, cur, "PREP-012");
	free(f);

	f = good_windows();
	PASSES(f, cur, "PREP-002");
	f->os[0].paging_auto = 1;
	WARNS(f, cur, "PREP-002");
	f->os[0].paging_auto = 0;
	f->os[0].root_free = 2 * GIB;
	WARNS(f, cur, "PREP-002");
	PASSES(f, cur, "PREP-004");
	f->os[0].rdp_enabled = 0;
	WARNS(f, cur, "PREP-004");
	PASSES(f, cur, "PREP-005");
	f->os[0].vmware_tools = 1;
	WARNS(f, cur, "PREP-005");
	PASSES(f, cur, "PREP-006");
	f->os[0].autologon = 1;
	WARNS(f, cur, "PREP-006");
	PASSES(f, cur, "PREP-007");
	f->os[0].pending_reboot = 1;
	WARNS(f, cur, "PREP-007");
	IS(f, cur, "PREP-008", VMIE_V_NA);       /* current edition has no table */
	PASSES(f, leg, "PREP-008");
	strcpy(f->os[0].dotnet_version, "3.5");
	WARNS(f, leg, "PREP-008");
	PASSES(f, cur, "PREP-009");
	f->os[0].realtime_is_universal = 0;
	IS(f, cur, "PREP-009", VMIE_V_INFO);
	PASSES(f, cur, "PREP-010");
	f->os[0].ems_enabled = 1;
	IS(f, cur, "PREP-010", VMIE_V_INFO);
	IS(f, cur, "PREP-016", VMIE_V_NA);
	f->os[0].major = 6;
	f->os[0].minor = 3;
	f->os[0].build = 9600;
	strcpy(f->os[0].product_name, "Windows Server 2012 R2 Standard");
	IS(f, cur, "PREP-016", VMIE_V_INFO);
	free(f);
}

static void test_windows_product_names(void **s)
{
	(void)s;
	static const struct { const char *name, *inst, *ed; int maj, min; unsigned build;
			      const char *product, *edition; } t[] = {
		{ "Microsoft Windows Server 2003 R2", "", "ServerEnterprise", 5, 2, 3790, "server-2003-r2", "enterprise" },
		{ "Microsoft Windows Server 2003 R2", "", "", 5, 2, 3790, "server-2003-r2", "standard" },
		{ "Microsoft Windows Server 2003 Enterprise Edition", "", "", 5, 2, 3790, "server-2003", "enterprise" },
		{ "Windows Server 2008 R2 Standard", "Server", "ServerStandard", 6, 1, 7601, "server-2008-r2", "standard" },
		{ "Windows Server 2012 R2 Datacenter", "Server Core", "ServerDatacenter", 6, 3, 9600, "server-2012-r2", "datacenter" },
		{ "Windows Server 2016 Standard", "Server", "ServerStandard", 10, 0, 14393, "server-2016", "standard" },
		{ "Windows Server Datacenter", "Server Core", "ServerDatacenter", 10, 0, 17134, "server-1803", "datacenter" },
		{ "Windows 7 Ultimate", "Client", "Ultimate", 6, 1, 7601, "7", "ultimate" },
		{ "Windows 7 Home Premium", "Client", "HomePremium", 6, 1, 7601, "7", "home" },
		{ "Windows 10 Education", "Client", "Education", 10, 0, 19045, "10", "education" },
		{ "Windows 10 Pro N", "Client", "ProfessionalN", 10, 0, 19045, "10", "professional" },
		{ "Windows 10 Pro", "Client", "Professional", 10, 0, 22631, "11", "professional" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		struct vmie_insp_os os = { 0 };
		char p[24], e[24];
		strcpy(os.product_name, t[i].name);
		strcpy(os.installation_type, t[i].inst);
		strcpy(os.edition, t[i].ed);
		os.major = t[i].maj;
		os.minor = t[i].min;
		os.build = t[i].build;
		vmie_windows_product(&os, p, sizeof p);
		vmie_windows_edition(&os, e, sizeof e);
		assert_string_equal(p, t[i].product);
		assert_string_equal(e, t[i].edition);
	}
}

static void test_versions(void **s)
{
	(void)s;
	assert_true(vmie_version_cmp("5.11", "5.2") > 0);
	assert_true(vmie_version_cmp("7.8", "7.8.0") == 0);
	assert_true(vmie_version_cmp("6.0.8", "6.0.10") < 0);
	assert_true(vmie_kernel_matches("4.18.0", "4.18.0-372.el8.x86_64"));
	assert_true(vmie_kernel_matches("3.2", "3.2.0-4-amd64"));
	assert_true(vmie_kernel_matches("5.4", "5.4.0-150-generic"));
	assert_false(vmie_kernel_matches("4.1", "4.14.35-1902.el7uek"));
	assert_false(vmie_kernel_matches("5.1", "5.10.0-1"));
	assert_true(vmie_kernel_matches("3.0.101-63", "3.0.101-63-default"));
	/* whole components only, at every depth the matrices use */
	assert_true(vmie_kernel_matches("2.6.32.12", "2.6.32.12-0.7-default"));
	assert_false(vmie_kernel_matches("3.0.10", "3.0.101-63-default"));
	assert_true(vmie_kernel_matches("4.4", "4.4.180-94.97-default"));
	assert_false(vmie_kernel_matches("4.4", "4.14.35-1902.el7uek"));
	assert_true(vmie_kernel_matches("5.10", "5.10.102-99.473.amzn2.x86_64"));
	assert_true(vmie_kernel_matches("5.15", "5.15.0-91-generic"));
	assert_true(vmie_kernel_matches("3.10.0", "3.10.0"));
	assert_false(vmie_kernel_matches("3.10.0", "3.10"));
	assert_false(vmie_kernel_matches("4.18.0", ""));
	assert_true(vmie_kernel_matches("4.19", "4.19+105+deb10u1"));
	struct vmie_policy_linux row = { .ver_prefix = true };
	strcpy(row.ver_lo, "10");
	strcpy(row.ver_hi, "10");
	assert_true(vmie_policy_linux_version_ok(&row, "10.13"));
	assert_true(vmie_policy_linux_version_ok(&row, "10"));
	assert_false(vmie_policy_linux_version_ok(&row, "100"));
	assert_false(vmie_policy_linux_version_ok(&row, "11"));
}

static void test_policy_errors(void **s)
{
	(void)s;
	static const struct { const char *text, *want; } t[] = {
		{ "name x\nlinx debian 11 kernel 5.10\n", "x.pol:2: unknown statement 'linx'" },
		{ "name x\nlinux debian eleven kernel 5.10\n", "x.pol:2: field 3 ('eleven')" },
		{ "name x\nlinux debian 11 kernal 5.10\n", "x.pol:2: field 4 ('kernal')" },
		{ "name x\nlimit max_volumes many\nlinux debian 11 kernel 5\n", "x.pol:2: field 3 ('many')" },
		{ "name x\nrule BOOT-3 on\nlinux debian 11 kernel 5\n", "x.pol:2: field 2 ('BOOT-3')" },
		{ "name x\nwindows server-2099 editions standard bits 64\n", "x.pol:2: field 2 ('server-2099')" },
		{ "name x\nwindows 10 editions gold bits 64\n", "x.pol:2: field 4 ('gold')" },
		{ "name x\nwindows 10 editions home\n", "x.pol:2: no bits listed" },
		{ "linux debian 11 kernel 5\n", "no 'name' statement" },
		{ "name x\n", "lists no operating systems" },
		{ "name \"x\nlinux debian 11 kernel 5\n", "x.pol:1: unterminated" },
		{ "name x\nlinux debian 11-10 kernel 5\n", "range is backwards" },
		{ "name x\nlimit max_volumz 4\n", "x.pol:2: field 2 ('max_volumz'): unknown limit" },
		{ "name x\nallow linux_filesytems ext4\n", "x.pol:2: field 2 ('linux_filesytems'): unknown set" },
		{ "name x\nallow linux_filesystems ext4\nallow linux_filesystems xfs\n",
		  "x.pol:3: field 2 ('linux_filesystems'): set twice" },
		{ "name x\nallow p2v_labels AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		  "x.pol:2: field 3 ('AAAA" },
		{ "name x\nrule BOOT-099 on\n", "x.pol:2: field 2 ('BOOT-099'): no such rule" },
		{ "name x\nrule OS-008 on\nrule OS-008 off\n", "x.pol:3: field 2 ('OS-008'): rule switched twice" },
		{ "name x\nlimit max_volumes 4\nlimit max_volumes 5\n", "x.pol:3: field 2 ('max_volumes'): limit set twice" },
		{ "name x\nrule OS-008 maybe\n", "x.pol:2: field 3 ('maybe'): expected on or off" },
		{ "name x\ndotnet 10 four\n", "x.pol:2: field 3 ('four'): not a version" },
		{ "name x\nlinux debian 11 sp x kernel 5\n", "x.pol:2: field 5 ('x')" },
		{ "name x\nlinux debian 11 kernel\n", "needs at least one kernel" },
		{ "name x\nlinux debian 11 kernel v5\n", "x.pol:2: field 5 ('v5'): a kernel series starts with a digit" },
		/* the boot check's devices: one known value each */
		{ "name x\nallow target_disk_bus floppy\n", "x.pol:2: field 3 ('floppy'): not a disk bus" },
		{ "name x\nallow target_nic ena\n", "x.pol:2: field 3 ('ena'): not a NIC model" },
		{ "name x\nallow target_disk_bus virtio nvme\n", "x.pol:2: target_disk_bus takes one value" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		struct vmie_policy *p = NULL;
		struct vmie_err e = { 0 };
		assert_int_equal(vmie_policy_parse(t[i].text, "x.pol", &p, &e), VMIE_EINVAL);
		if (!strstr(e.msg, t[i].want))
			fail_msg("case %zu: '%s' does not contain '%s'", i, e.msg, t[i].want);
		assert_null(p);
	}
	/* a user's own policy: one distribution, own limits */
	struct vmie_policy *p = NULL;
	struct vmie_err e = { 0 };
	assert_int_equal(vmie_policy_parse("name mycloud\nlimit max_volumes 4\n"
		"linux debian 12 kernel 6.1\n", "mine", &p, &e), 0);
	struct fixture *f = good_linux();
	strcpy(f->os[0].version, "12.1");
	strcpy(f->os[0].default_kernel, "6.1.0-13-amd64");
	PASSES(f, p, "OS-002");
	FAILS(f, cur, "OS-002");
	free(f);
	vmie_policy_free(p);
	/* unknown policy name */
	assert_int_equal(vmie_policy_load("no-such-policy", &p, &e), VMIE_ENOENT);
	assert_non_null(strstr(e.msg, "aws-current"));
}

/* Status messages the service is known to end tasks with, word for word,
 * and the ones vmie words in the same style. */
static void test_status_messages(void **s)
{
	(void)s;
	struct fixture *f = good_linux();
	struct vmie_check_report *r;
	strcpy(f->os[0].default_kernel, "4.18.0-15-generic");
	strcpy(f->kern[0].version, "4.18.0-15-generic");
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Unsupported kernel version 4.18.0-15-generic");
	vmie_check_report_free(r);
	/* an unlisted distribution is worded by its kernel too */
	strcpy(f->os[0].distro, "kylin");
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Unsupported kernel version 4.18.0-15-generic");
	assert_non_null(strstr(vmie_report_find(r, "OS-002")->evidence,
			       "distribution kylin is not in the matrix"));
	vmie_check_report_free(r);
	strcpy(f->os[0].distro, "debian");
	f->os[0].default_kernel[0] = 0;
	f->os[0].n_kernels = 0;
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Unable to determine kernel version.");
	vmie_check_report_free(r);
	f->in.n_os = 0;
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Unknown OS / Missing OS files.");
	vmie_check_report_free(r);
	f->in.n_fs = 0;
	f->disks[0].pt.n_parts = 0;
	r = run(f, cur);
	assert_string_equal(vmie_report_find(r, "DSK-005")->status_message,
			    "ClientError: No valid partitions. Not a valid volume.");
	vmie_check_report_free(r);
	free(f);

	f = good_linux();
	strcpy(f->inputs[0].subformat, "monolithicSparse");
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Disk validation failed [Unsupported VMDK File Format]");
	vmie_check_report_free(r);
	strcpy(f->inputs[0].format, "ova");
	strcpy(f->inputs[0].open_rule, "FMT-001");
	strcpy(f->inputs[0].open_error, "x.ova: the first member is not an OVF");
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Disk validation failed [Unsupported OVA format]");
	vmie_check_report_free(r);
	strcpy(f->inputs[0].format, "vdi");
	r = run(f, cur);
	assert_string_equal(r->status_message, "ClientError: Disk validation failed [Unsupported image format: vdi]");
	vmie_check_report_free(r);
	free(f);

	/* the older service: a UEFI Linux boot volume */
	f = good_linux();
	f->os[0].can_bios = false;
	f->os[0].can_uefi = true;
	f->os[0].efi_fallback = 1;
	r = run(f, leg);
	assert_string_equal(vmie_report_find(r, "BOOT-008")->status_message,
			    "ClientError: EFI partition detected. UEFI booting is not supported in EC2.");
	vmie_check_report_free(r);
	free(f);
}

static void test_every_rule_reported(void **s)
{
	(void)s;
	static const char *const ids[] = {
		"FMT-001", "FMT-002", "FMT-003", "FMT-004", "FMT-005", "FMT-006",
		"DSK-001", "DSK-002", "DSK-003", "DSK-004", "DSK-005", "DSK-006",
		"FS-001", "FS-002", "FS-003", "FS-004", "FS-005",
		"OS-001", "OS-002", "OS-003", "OS-004", "OS-005", "OS-006", "OS-007",
		"OS-008", "OS-009", "OS-010",
		"BOOT-001", "BOOT-002", "BOOT-003", "BOOT-004", "BOOT-005", "BOOT-006",
		"BOOT-007", "BOOT-008",
		"LIC-001", "LIC-002", "LIC-003", "LIC-004", "LIC-005",
		"PREP-001", "PREP-002", "PREP-003", "PREP-004", "PREP-005", "PREP-006",
		"PREP-007", "PREP-008", "PREP-009", "PREP-010", "PREP-011", "PREP-012",
		"PREP-013", "PREP-014", "PREP-015", "PREP-016", "PREP-017", "PREP-018",
		"EXP-001", "EXP-002", "EXP-003",
	};
	struct fixture *fx[3] = { good_linux(), good_windows(), good_linux() };
	fx[2]->in.n_os = 0;
	for (int k = 0; k < 3; k++)
		for (int pi = 0; pi < 2; pi++) {
			struct vmie_check_report *r = run(fx[k], pi ? leg : cur);
			for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
				unsigned n = 0;
				for (unsigned j = 0; j < r->n_results; j++)
					n += !strcmp(r->results[j].id, ids[i]);
				if (n != 1)
					fail_msg("guest %d policy %d: %s reported %u times", k, pi, ids[i], n);
			}
			vmie_check_report_free(r);
		}
	for (int k = 0; k < 3; k++)
		free(fx[k]);
}

static int setup(void **s)
{
	(void)s;
	struct vmie_err e = { 0 };
	char path[600];
	snprintf(path, sizeof path, "%s/policies/aws-current", getenv("SRCDIR"));
	if (vmie_policy_load(path, &cur, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	snprintf(path, sizeof path, "%s/policies/aws-legacy", getenv("SRCDIR"));
	if (vmie_policy_load(path, &leg, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	vmie_policy_free(cur);
	vmie_policy_free(leg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_guests_pass),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_dsk),
		cmocka_unit_test(test_fs),
		cmocka_unit_test(test_os_linux),
		cmocka_unit_test(test_os_windows),
		cmocka_unit_test(test_boot),
		cmocka_unit_test(test_boot006_table),
		cmocka_unit_test(test_boot006_engine),
		cmocka_unit_test(test_boot006_gpt_facts),
		cmocka_unit_test(test_gpt_mbr_type),
		cmocka_unit_test(test_license_decide_table),
		cmocka_unit_test(test_license_engine_table),
		cmocka_unit_test(test_license_messages),
		cmocka_unit_test(test_prep),
		cmocka_unit_test(test_windows_product_names),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_status_messages),
		cmocka_unit_test(test_every_rule_reported),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
