/* vmie inspect [--json] [--no-initrd] [-f FORMAT] IMAGE... : what is inside
 * the disks of one VM (several disk images, or one OVA).  Exit 0 when the
 * inspection ran (even if no OS was found), 2 when the images could not be
 * opened, 1 on other errors. */
#include "cli.h"
#include "core/util.h"
#include "image/image.h"
#include "inspect/inspect.h"
#include "io/io.h"
#include "ova/ova.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void inspect_usage(FILE *f)
{
	fprintf(f, "Usage: vmie inspect [--json] [--no-initrd] [-f FORMAT] "
		"IMAGE...\n"
		"Find the partitions, volumes, file systems and operating "
		"systems of a VM's\ndisks (IMAGE...: its disks, in order, or "
		"one OVA), with the evidence for\neach fact; nothing is "
		"written (docs/cmd-inspect.md).\n\n"
		"Options:\n"
		"  --json        machine-readable output (docs/inspect-json.md)\n"
		"  --no-initrd   do not read the initramfs (faster)\n"
		"  -f FORMAT     do not probe the image format\n\n"
		"Exit status:\n"
		"  0  inspected (even if no operating system was found)\n"
		"  1  other errors\n"
		"  2  the images could not be opened\n");
}

static const char *tri(int v)
{
	return v < 0 ? "unknown" : v ? "yes" : "no";
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? cli_safe(s) : "-";
}

static void print_linux(const struct vmie_insp_os *os)
{
	unsigned dev = 0, custom = 0;

	printf("  kernel:        %s (%u installed", or_dash(os->default_kernel),
	       os->n_kernels);
	for (unsigned i = 0; i < os->n_kernels; i++)
		if (os->kernels[i].is_default && os->kernels[i].custom)
			custom = 1;
	printf("%s)\n", custom ? ", default looks custom" : "");
	printf("  boot loader:   %s%s%s%s, default '%s', timeout %d\n",
	       or_dash(os->bootloader), os->grub2_bios ? " grub2-bios" : "",
	       os->grub2_efi ? " grub2-efi" : "",
	       os->grub_legacy ? " grub-legacy" : "", cli_safe(os->grub_default),
	       os->grub_timeout);
	if (os->esp_device[0])
		printf("  ESP:           %s, EFI/BOOT/BOOTX64.EFI %s\n",
		       os->esp_device, os->efi_fallback == 1 ? "present" :
		       "missing");
	printf("  initramfs:     %s%s%s, drivers: %s\n",
	       os->initrd_read == 1 ? "read" : os->initrd_read == 0 ?
	       "NOT read" : "not looked at",
	       os->initrd_compression[0] ? " " : "", cli_safe(os->initrd_compression),
	       or_dash(os->initrd_drivers));
	if (os->initrd_error[0])
		printf("                 (%s)\n", cli_safe(os->initrd_error));
	for (unsigned i = 0; i < os->n_fstab; i++)
		if (os->fstab[i].spec_kind == VMIE_SPEC_DEVICE &&
		    !os->fstab[i].stable_name)
			dev++;
	printf("  fstab:         %u entries, %u by device name\n", os->n_fstab,
	       dev);
	for (unsigned i = 0; i < os->n_fstab; i++) {
		const struct vmie_insp_fstab *f = &os->fstab[i];
		printf("    %-28s %-12s %-6s -> %s%s%s%s\n", cli_safe(f->spec),
		       cli_safe(f->mountpoint), cli_safe(f->type), or_dash(f->resolves_to),
		       f->subvolume_missing ? " (no subvolume " :
		       f->subvolume[0] ? " subvolume " : "", cli_safe(f->subvolume),
		       f->subvolume_missing ? ")" : "");
	}
	printf("  network:      ");
	for (unsigned i = 0; i < os->n_netifs; i++)
		printf(" %s=%s%s%s", cli_safe(os->netifs[i].name),
		       os->netifs[i].dhcp == 1 ? "dhcp" :
		       os->netifs[i].dhcp == 0 ? "static" : "?",
		       os->netifs[i].address[0] ? ":" : "",
		       cli_safe(os->netifs[i].address));
	printf("%s\n", os->n_netifs ? "" : " none configured");
	printf("  dhcp client:   %s\n", tri(os->dhcp_client));
	printf("  ssh:           installed %s, enabled %s; users with keys: "
	       "%s\n", tri(os->ssh_installed), tri(os->ssh_enabled),
	       or_dash(os->users_with_keys));
}

static void print_windows(const struct vmie_insp_os *os)
{
	printf("  edition:       %s (%s), build %u%s%s\n", or_dash(os->edition),
	       or_dash(os->installation_type), os->build,
	       os->service_pack[0] ? ", " : "", cli_safe(os->service_pack));
	printf("  language:      %s (default %s), packs: %s\n",
	       or_dash(os->install_language), or_dash(os->default_language),
	       or_dash(os->language_packs));
	printf("  systemroot:    %s, control set %d\n", or_dash(os->systemroot),
	       os->current_control_set);
	printf("  boot files:    bootmgr BIOS %s, UEFI %s%s\n",
	       os->bootmgr_bios ? "yes" : "no", os->bootmgr_efi ? "yes" : "no",
	       os->bios_after_mbr ? "; BIOS boot files on the Windows volume "
	       "(BIOS after GPT-to-MBR)" : "");
	printf("  paging files:  %s (automatic: %s)\n",
	       or_dash(os->paging_files), tri(os->paging_auto));
	printf("  RDP:           enabled %s, firewall rule %s\n",
	       tri(os->rdp_enabled), tri(os->rdp_firewall));
	printf("  autologon %s, VMware Tools %s, pending reboot %s, EMS %s, "
	       "RealTimeIsUniversal %s, .NET %s\n", tri(os->autologon),
	       tri(os->vmware_tools), tri(os->pending_reboot),
	       tri(os->ems_enabled), tri(os->realtime_is_universal),
	       or_dash(os->dotnet_version));
	/* a hive that could not be read explains every "-" above */
	for (unsigned e = 0; e < os->n_evidence; e++)
		if (!strcmp(os->evidence[e].fact, "registry"))
			printf("  registry:      %s: %s\n",
			       cli_safe(os->evidence[e].where),
			       cli_safe(os->evidence[e].value));
}

static void print_text(const struct vmie_inspection *in)
{
	char h[32];

	for (unsigned d = 0; d < in->n_disks; d++) {
		const struct vmie_insp_disk *k = &in->disks[d];
		printf("disk%u: %s (%s%s%s, %s), %s%s%s%s\n", d, k->path,
		       k->format, k->subformat[0] ? " " : "", k->subformat,
		       vmie_human_size(h, sizeof h, k->virtual_size),
		       k->pt.type == VMIE_PT_MBR ? "MBR" :
		       k->pt.type == VMIE_PT_GPT ? "GPT" : "no partition table",
		       k->pt.boot_code[0] ? ", boot code " : "", cli_safe(k->pt.boot_code),
		       k->pt.ldm ? ", dynamic disk (LDM)" : "");
		if (k->error[0])
			printf("  error: %s\n", cli_safe(k->error));
	}
	for (unsigned i = 0; i < in->n_fs; i++) {
		const struct vmie_insp_fs *f = &in->fs[i];
		printf("  %-16s %-11s %9s %s%s%s%s%s\n", cli_safe(f->device),
		       or_dash(f->probe.type),
		       f->probe.size ? vmie_human_size(h, sizeof h,
						       f->probe.size) : "-",
		       cli_safe(f->probe.uuid), f->probe.label[0] ? " label=" : "",
		       cli_safe(f->probe.label), f->mountpoint[0] ? " on " : "",
		       cli_safe(f->mountpoint));
		if (f->alias_of[0])
			printf("  %-16s (alias of %s: %s; not inspected "
			       "again)\n", "", cli_safe(f->alias_of),
			       f->alias_exact ? "the same bytes" :
			       "starts at the same byte");
		else if (f->error[0] && f->probe.type[0])
			printf("  %-16s (%s)\n", "", cli_safe(f->error));
		if (f->n_subvolumes)
			printf("  %-16s (%u Btrfs subvolume(s): %s%s%s)\n", "",
			       f->n_subvolumes, cli_safe(f->subvolume_paths),
			       f->default_subvolume[0] ? "; default " : "",
			       cli_safe(f->default_subvolume));
		if (!strcmp(f->journal, "replayed"))
			printf("  %-16s (not cleanly unmounted: journal replayed "
			       "in memory, %u transaction(s), %llu block(s))\n",
			       "", f->journal_transactions,
			       (unsigned long long)f->journal_blocks);
		else if (!strcmp(f->journal, "skipped"))
			printf("  %-16s (needs journal recovery, not replayed: "
			       "contents may be stale: %s)\n", "",
			       cli_safe(f->journal_problem));
		if (f->hibernated || f->dirty)
			printf("  %-16s (%s%s%s)\n", "",
			       f->hibernated ? "hibernated: hiberfil.sys holds "
			       "a hibernation image" : "",
			       f->hibernated && f->dirty ? "; " : "",
			       f->dirty ? "volume marked dirty" : "");
	}
	for (unsigned i = 0; i < in->n_warnings; i++)
		printf("warning: %s\n", cli_safe(in->warnings[i]));
	if (in->vm.present)
		printf("VM: %s, %u NIC(s), %u CD-ROM(s), %u disk(s), OS %s, "
		       "firmware %s\n", or_dash(in->vm.name), in->vm.n_nics,
		       in->vm.n_cdroms, in->vm.n_disks, or_dash(in->vm.os_id),
		       or_dash(in->vm.firmware));
	if (!in->n_os)
		printf("no operating system found\n");
	for (unsigned k = 0; k < in->n_os; k++) {
		const struct vmie_insp_os *os = &in->os[k];
		printf("OS %u: %s on %s%s%s\n", k + 1, os->type,
		       cli_safe(os->root_device), os->root_subvolume[0] ?
		       ", Btrfs subvolume " : "", cli_safe(os->root_subvolume));
		printf("  product:       %s\n", or_dash(os->product_name));
		printf("  distro:        %s %s%s%s, arch %s\n", cli_safe(os->distro),
		       or_dash(os->version), os->service_pack[0] &&
		       !strcmp(os->type, "linux") ? " " : "",
		       !strcmp(os->type, "linux") ? os->service_pack : "",
		       or_dash(os->arch));
		printf("  hostname:      %s\n", or_dash(os->hostname));
		if (os->root_free != UINT64_MAX)
			printf("  root free:     %s\n", vmie_human_size(h,
			       sizeof h, os->root_free));
		printf("  boot modes:    BIOS %s, UEFI %s\n",
		       os->can_bios ? "yes" : "no", os->can_uefi ? "yes" : "no");
		if (!strcmp(os->type, "linux"))
			print_linux(os);
		else
			print_windows(os);
	}
	if (in->dual_boot)
		printf("dual boot: %u operating systems\n", in->n_os);
	printf("inspected in %.3f s\n", in->seconds);
}

/* If path is an OVA, open it and its disks. 1 = OVA opened, 0 = not an
 * OVA, -1 = error (printed). */
static int open_ova(const char *path, struct vmie_ova **ova,
		    struct vmie_image ***imgs, char ***names, unsigned *n)
{
	struct vmie_err err = { 0 };
	struct vmie_src *src;
	bool first_ovf = false, is;

	if (cli_open_src(path, &src, &err))
		return 0;      /* let the image path report it */
	is = vmie_ova_probe(src, &first_ovf);
	if (!is) {
		vmie_src_unref(src);
		return 0;
	}
	int r = vmie_ova_open_src(src, ova, &err);
	vmie_src_unref(src);
	if (r) {
		cli_error(&err);
		return -1;
	}
	size_t nd = (*ova)->ovf->n_disks;
	*imgs = calloc(nd ? nd : 1, sizeof **imgs);
	*names = calloc(nd ? nd : 1, sizeof **names);
	if (!*imgs || !*names)
		return -1;
	for (size_t i = 0; i < nd; i++) {
		const struct vmie_ovf_disk *dk = &(*ova)->ovf->disks[i];
		const char *member = dk->file_index >= 0 ?
			(*ova)->ovf->files[dk->file_index].href : dk->disk_id;
		vmie_err_clear(&err);
		if (vmie_ova_open_disk(*ova, i, NULL, &(*imgs)[*n], &err)) {
			cli_error(&err);
			return -1;
		}
		size_t l = strlen(path) + strlen(member ? member : "") + 2;
		(*names)[*n] = malloc(l);
		if ((*names)[*n])
			snprintf((*names)[*n], l, "%s:%s", path,
				 member ? member : "");
		(*n)++;
	}
	return 1;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-initrd", no_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vmie_inspect_opts io = { 0 };
	struct vmie_open_opts oo = { .budget = cli_budget };
	struct vmie_inspection *in = NULL;
	struct vmie_err err = { 0 };
	struct vmie_image **imgs = NULL;
	char **names = NULL;
	struct vmie_ova *ova = NULL;
	unsigned n = 0;
	bool json = false;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "jnf:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': io.skip_initrd = true; break;
		case 'f': oo.format = optarg; break;
		case 'h': inspect_usage(stdout); return 0;
		default: inspect_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		inspect_usage(stderr);
		return 2;
	}
	int nargs = argc - optind;
	if (nargs == 1 && (!oo.format || !strcmp(oo.format, "ova"))) {
		int r = open_ova(argv[optind], &ova, &imgs, &names, &n);
		if (r < 0) {
			status = 2;
			goto out;
		}
	}
	if (!ova) {
		imgs = calloc((size_t)nargs, sizeof *imgs);
		names = calloc((size_t)nargs, sizeof *names);
		if (!imgs || !names) {
			cli_errorf("out of memory");
			status = 1;
			goto out;
		}
		for (int i = 0; i < nargs; i++) {
			vmie_err_clear(&err);
			if (vmie_image_open(argv[optind + i], &oo, &imgs[n], &err)) {
				cli_error(&err);
				status = 2;
				goto out;
			}
			names[n] = strdup(argv[optind + i]);
			n++;
		}
	}
	if (vmie_inspect(imgs, (const char *const *)names, n, &io, &in, &err)) {
		cli_error(&err);
		status = 1;
		goto out;
	}
	if (ova)
		vmie_insp_vm_from_ovf(ova->ovf, &in->vm);
	if (json) {
		json_t *o = vmie_inspection_to_json(in);
		cli_print_json(o);
		json_decref(o);
	} else {
		print_text(in);
	}
out:
	vmie_inspection_free(in);
	for (unsigned i = 0; imgs && i < n; i++)
		vmie_image_close(imgs[i]);
	for (unsigned i = 0; names && i < n; i++)
		free(names[i]);
	free(imgs);
	free(names);
	vmie_ova_close(ova);
	return status;
}
