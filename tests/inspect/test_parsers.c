/* lib/inspect: the pure parsers, on literal guest text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/insp_int.h"

static void test_shvar(void **state)
{
	(void)state;
	char v[64];
	const char *t = "# c\nID=debian\nNAME=\"Debian GNU/Linux\"\n"
			"export X='a b'\nID=ubuntu # later wins\n";
	assert_true(vmie_insp_shvar(t, "ID", v, sizeof v));
	assert_string_equal(v, "ubuntu");
	assert_true(vmie_insp_shvar(t, "NAME", v, sizeof v));
	assert_string_equal(v, "Debian GNU/Linux");
	assert_true(vmie_insp_shvar(t, "X", v, sizeof v));
	assert_string_equal(v, "a b");
	assert_false(vmie_insp_shvar(t, "NOPE", v, sizeof v));
	assert_false(vmie_insp_shvar(t, "I", v, sizeof v));
}

static void test_os_release(void **state)
{
	(void)state;
	struct vmie_insp_release r;
	assert_int_equal(vmie_insp_parse_os_release(
		"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian "
		"GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n", &r), 0);
	assert_string_equal(r.distro, "debian");
	assert_string_equal(r.version, "12");
	assert_int_equal(r.major, 12);
	assert_int_equal(r.minor, -1);
	assert_string_equal(r.product, "Debian GNU/Linux 12 (bookworm)");
	assert_int_equal(vmie_insp_parse_os_release(
		"NAME=\"SLES\"\nVERSION=\"12-SP4\"\nVERSION_ID=\"12.4\"\n"
		"ID=\"sles\"\n", &r), 0);
	assert_string_equal(r.distro, "sles");
	assert_int_equal(r.major, 12);
	assert_int_equal(r.minor, 4);
	assert_string_equal(r.service_pack, "SP4");
	assert_int_equal(vmie_insp_parse_os_release(
		"ID=\"ol\"\nVERSION_ID=\"7.9\"\n", &r), 0);
	assert_string_equal(r.distro, "ol");
	assert_int_equal(vmie_insp_parse_os_release(
		"ID=\"amzn\"\nVERSION_ID=\"2\"\n", &r), 0);
	assert_string_equal(r.distro, "amzn");
	assert_int_equal(r.major, 2);
	assert_int_equal(vmie_insp_parse_os_release("NAME=x\n", &r), -1);
}

static void test_release_files(void **state)
{
	(void)state;
	struct vmie_insp_release r;
	assert_int_equal(vmie_insp_parse_redhat_release(
		"CentOS Linux release 7.9.2009 (Core)\n", &r), 0);
	assert_string_equal(r.distro, "centos");
	assert_string_equal(r.version, "7.9");
	assert_int_equal(r.minor, 9);
	assert_int_equal(vmie_insp_parse_redhat_release(
		"Red Hat Enterprise Linux Server release 5.11 (Tikanga)", &r), 0);
	assert_string_equal(r.distro, "rhel");
	assert_string_equal(r.version, "5.11");
	assert_int_equal(vmie_insp_parse_redhat_release(
		"Enterprise Linux Enterprise Linux Server release 5.11 "
		"(Carthage)\n", &r), 0);
	assert_string_equal(r.distro, "ol");
	assert_int_equal(vmie_insp_parse_redhat_release(
		"Amazon Linux release 2 (Karoo)\n", &r), 0);
	assert_string_equal(r.distro, "amzn");
	assert_string_equal(r.version, "2");
	assert_int_equal(vmie_insp_parse_redhat_release(
		"Fedora release 18 (Spherical Cow)\n", &r), 0);
	assert_string_equal(r.distro, "fedora");
	assert_int_equal(r.major, 18);
	assert_int_equal(vmie_insp_parse_redhat_release("Gentoo Base\n", &r),
			 -1);
	assert_int_equal(vmie_insp_parse_suse_release(
		"SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\n"
		"PATCHLEVEL = 4\n", &r), 0);
	assert_string_equal(r.distro, "sles");
	assert_string_equal(r.version, "11.4");
	assert_string_equal(r.service_pack, "SP4");
	assert_int_equal(vmie_insp_parse_lsb_release(
		"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\n"
		"DISTRIB_DESCRIPTION=\"Ubuntu 12.04.5 LTS\"\n", &r), 0);
	assert_string_equal(r.distro, "ubuntu");
	assert_string_equal(r.version, "12.04");
	assert_int_equal(r.minor, 4);
	assert_int_equal(vmie_insp_parse_debian_version("10.13\n", &r), 0);
	assert_string_equal(r.version, "10.13");
	assert_int_equal(vmie_insp_parse_debian_version("bookworm/sid\n", &r),
			 0);
	assert_string_equal(r.version, "");
}

static void test_kernels(void **state)
{
	(void)state;
	char v[96];
	vmie_insp_kernel_version("/boot/vmlinuz-5.10.0-28-amd64", v, sizeof v);
	assert_string_equal(v, "5.10.0-28-amd64");
	vmie_insp_kernel_version("vmlinuz-0-rescue-abc", v, sizeof v);
	assert_string_equal(v, "");
	vmie_insp_kernel_version(".vmlinuz-4.18.0.hmac", v, sizeof v);
	assert_string_equal(v, "");
	vmie_insp_kernel_version("/vmlinuz-4.18.0-372.el8.x86_64", v, sizeof v);
	assert_string_equal(v, "4.18.0-372.el8.x86_64");
	vmie_insp_kernel_version("config-5.10.0", v, sizeof v);
	assert_string_equal(v, "");

	assert_false(vmie_insp_kernel_is_custom("debian", "5.10.0-28-amd64"));
	assert_false(vmie_insp_kernel_is_custom("debian",
						"6.1.0-0.deb11.17-amd64"));
	assert_true(vmie_insp_kernel_is_custom("debian", "5.10.0"));
	assert_true(vmie_insp_kernel_is_custom("debian", "6.1.0-custom"));
	assert_true(vmie_insp_kernel_is_custom("debian", "6.1.0+"));
	assert_false(vmie_insp_kernel_is_custom("ubuntu", "5.15.0-91-generic"));
	assert_false(vmie_insp_kernel_is_custom("ubuntu", "3.2.0-23-virtual"));
	assert_false(vmie_insp_kernel_is_custom("rhel", "2.6.18-398.el5"));
	assert_false(vmie_insp_kernel_is_custom("centos",
						"4.18.0-193.el8.x86_64"));
	assert_true(vmie_insp_kernel_is_custom("centos", "5.4.0-mainline"));
	assert_false(vmie_insp_kernel_is_custom("ol",
				"4.14.35-1902.el7uek.x86_64"));
	assert_false(vmie_insp_kernel_is_custom("amzn",
				"4.14.336-257.562.amzn2.x86_64"));
	assert_true(vmie_insp_kernel_is_custom("amzn", "5.10.0-28-amd64"));
	assert_false(vmie_insp_kernel_is_custom("sles", "4.12.14-122.37-default"));
	assert_true(vmie_insp_kernel_is_custom("sles", "4.12.14-mine"));
	assert_false(vmie_insp_kernel_is_custom("fedora",
				"6.5.6-300.fc39.x86_64"));
	assert_false(vmie_insp_kernel_is_custom("gentoo", "6.1.0"));
}

static const char debian_grub_cfg[] =
	"if [ -s $prefix/grubenv ]; then\n  set have_grubenv=true\n  load_env\n"
	"fi\nif [ \"${next_entry}\" ] ; then\n   set default=\"${next_entry}\"\n"
	"   set next_entry=\n   save_env next_entry\nelse\n"
	"   set default=\"0\"\nfi\n"
	"function load_video {\n  insmod all_video\n}\n"
	"if [ x$feature_timeout_style = xy ] ; then\n  set timeout_style=menu\n"
	"  set timeout=5\nelse\n  set timeout=5\nfi\n"
	"menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option "
	"'gnulinux-simple-abc' {\n\tload_video\n\tinsmod gzio\n"
	"\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=abc ro quiet\n"
	"\tinitrd\t/boot/initrd.img-6.1.0-13-amd64\n}\n"
	"submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option "
	"'gnulinux-advanced-abc' {\n"
	"\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-13-amd64' --class "
	"debian $menuentry_id_option 'gnulinux-6.1.0-13-amd64-advanced-abc' {\n"
	"\t\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=abc ro quiet\n\t}\n"
	"\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-10-amd64' --class "
	"debian $menuentry_id_option 'gnulinux-6.1.0-10-amd64-advanced-abc' {\n"
	"\t\tlinux\t/boot/vmlinuz-6.1.0-10-amd64 root=UUID=abc ro quiet\n\t}\n"
	"}\n";

static void test_grub_cfg(void **state)
{
	(void)state;
	struct vmie_insp_bootcfg *c = malloc(sizeof *c);
	assert_non_null(c);
	assert_int_equal(vmie_insp_parse_grub_cfg(debian_grub_cfg, NULL, c), 0);
	assert_int_equal(c->n, 3);
	assert_int_equal(c->timeout, 5);
	assert_string_equal(c->default_spec, "0");
	assert_int_equal(c->default_index, 0);
	assert_string_equal(c->ents[0].version, "6.1.0-13-amd64");
	assert_int_equal(c->ents[2].top, 1);
	assert_int_equal(c->ents[2].sub, 1);
	/* the same file with a saved entry naming the older kernel */
	char *t = malloc(sizeof debian_grub_cfg + 64);
	assert_non_null(t);
	strcpy(t, debian_grub_cfg);
	char *d = strstr(t, "set default=\"0\"");
	memmove(d + 28, d + 15, strlen(d + 15) + 1);
	memcpy(d, "set default=\"${saved_entry}\"", 28);
	assert_int_equal(vmie_insp_parse_grub_cfg(t,
		"gnulinux-advanced-abc>gnulinux-6.1.0-10-amd64-advanced-abc", c),
		0);
	assert_true(c->saved);
	assert_int_equal(c->default_index, 2);
	assert_string_equal(c->ents[2].version, "6.1.0-10-amd64");
	assert_int_equal(vmie_insp_parse_grub_cfg(t, "1>0", c), 0);
	assert_int_equal(c->default_index, 1);
	assert_int_equal(vmie_insp_parse_grub_cfg(t,
		"Advanced options for Debian GNU/Linux>Debian GNU/Linux, with "
		"Linux 6.1.0-10-amd64", c), 0);
	assert_int_equal(c->default_index, 2);
	/* unknown saved entry: GRUB boots entry 0 */
	assert_int_equal(vmie_insp_parse_grub_cfg(t, "nonsense", c), 0);
	assert_int_equal(c->default_index, 0);
	free(t);
	assert_int_equal(vmie_insp_parse_grub_cfg("set timeout=5\n", NULL, c),
			 -1);
	assert_int_equal(vmie_insp_parse_grub_cfg(
		"set default=\"${saved_entry}\"\nload_env\nblscfg\n", NULL, c), 0);
	assert_true(c->uses_bls);
	free(c);
}

static void test_menu_lst_bls(void **state)
{
	(void)state;
	struct vmie_insp_bootcfg *c = malloc(sizeof *c);
	assert_non_null(c);
	assert_int_equal(vmie_insp_parse_menu_lst(
		"default=1\ntimeout=5\ntitle CentOS (2.6.18-398.el5)\n"
		"\troot (hd0,0)\n\tkernel /vmlinuz-2.6.18-398.el5 ro root=/dev/"
		"VolGroup00/LogVol00\n\tinitrd /initrd-2.6.18-398.el5.img\n"
		"title CentOS (2.6.18-371.el5)\n\tkernel /vmlinuz-2.6.18-371.el5 "
		"ro\n", NULL, c), 0);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->timeout, 5);
	assert_int_equal(c->default_index, 1);
	assert_string_equal(c->ents[1].version, "2.6.18-371.el5");
	assert_int_equal(vmie_insp_parse_menu_lst(
		"default saved\ntitle a\nkernel /vmlinuz-1.0-1\ntitle b\n"
		"kernel /vmlinuz-2.0-1\n", "1", c), 0);
	assert_int_equal(c->default_index, 1);

	c->n = 0;
	assert_int_equal(vmie_insp_parse_bls_entry(
		"title Red Hat Enterprise Linux (4.18.0-372.el8.x86_64) 8.6\n"
		"version 4.18.0-372.el8.x86_64\nlinux /vmlinuz-4.18.0-372.el8."
		"x86_64\ninitrd /initramfs-4.18.0-372.el8.x86_64.img\n",
		"abc-4.18.0-372.el8.x86_64", &c->ents[c->n]), 0);
	c->n++;
	assert_int_equal(vmie_insp_parse_bls_entry(
		"title old\nlinux /vmlinuz-4.18.0-305.el8.x86_64\n",
		"abc-4.18.0-305.el8.x86_64", &c->ents[c->n]), 0);
	assert_string_equal(c->ents[1].version, "4.18.0-305.el8.x86_64");
	c->n++;
	vmie_insp_bls_default(c, NULL);
	assert_int_equal(c->default_index, 0);
	vmie_insp_bls_default(c, "abc-4.18.0-305.el8.x86_64");
	assert_int_equal(c->default_index, 1);
	vmie_insp_bls_default(c, "1");
	assert_int_equal(c->default_index, 1);
	assert_int_equal(vmie_insp_parse_bls_entry("title x\n", "x",
						   &c->ents[0]), -1);
	free(c);
}

static void test_fstab(void **state)
{
	(void)state;
	struct vmie_insp_fstab *f;
	unsigned n;
	assert_int_equal(vmie_insp_parse_fstab(
		"# /etc/fstab\nUUID=1234-abcd / ext4 errors=remount-ro 0 1\n"
		"/dev/sda2 none swap sw 0 0\n\n"
		"LABEL=boot\\040x /boot ext4 defaults 0 2\n"
		"/dev/mapper/vg--sys-lv_root /srv xfs defaults,nofail 0 0\n"
		"proc /proc proc defaults 0 0\n"
		"//server/share /mnt/s cifs credentials=/x 0 0\n"
		"PARTUUID=0a1b2c3d-01 /data ext4 defaults 0 0\n"
		"/dev/disk/by-id/ata-X-part1 /x ext4 defaults 0 0\n"
		"justone\n", 100, &f, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(f[0].spec_kind, VMIE_SPEC_UUID);
	assert_true(f[0].stable_name);
	assert_int_equal(f[1].spec_kind, VMIE_SPEC_DEVICE);
	assert_false(f[1].stable_name);
	assert_string_equal(f[2].spec, "LABEL=boot x");
	assert_int_equal(f[2].spec_kind, VMIE_SPEC_LABEL);
	assert_int_equal(f[3].spec_kind, VMIE_SPEC_DEVICE);
	assert_true(f[3].stable_name);
	assert_true(f[3].nofail);
	assert_int_equal(f[4].spec_kind, VMIE_SPEC_OTHER);
	assert_int_equal(f[5].spec_kind, VMIE_SPEC_OTHER);
	assert_string_equal(f[5].type, "cifs");
	assert_int_equal(f[6].spec_kind, VMIE_SPEC_PARTUUID);
	assert_int_equal(f[7].spec_kind, VMIE_SPEC_DEVICE);
	assert_false(f[7].stable_name);
	free(f);
	/* the cap on entries */
	assert_int_equal(vmie_insp_parse_fstab("a /a\nb /b\nc /c\n", 2, &f, &n),
			 0);
	assert_int_equal(n, 2);
	free(f);
}

static void test_devnames(void **state)
{
	(void)state;
	int d, p;
	char vg[64], lv[64];
	assert_true(vmie_insp_parse_devname("/dev/sda1", &d, &p));
	assert_int_equal(d, 0);
	assert_int_equal(p, 1);
	assert_true(vmie_insp_parse_devname("/dev/vdb", &d, &p));
	assert_int_equal(d, 1);
	assert_int_equal(p, 0);
	assert_true(vmie_insp_parse_devname("/dev/xvdc12", &d, &p));
	assert_int_equal(d, 2);
	assert_int_equal(p, 12);
	assert_true(vmie_insp_parse_devname("/dev/sdaa3", &d, &p));
	assert_int_equal(d, 26);
	assert_true(vmie_insp_parse_devname("/dev/nvme1n1p2", &d, &p));
	assert_int_equal(d, 1);
	assert_int_equal(p, 2);
	assert_true(vmie_insp_parse_devname("/dev/hda", &d, &p));
	assert_false(vmie_insp_parse_devname("/dev/sda1x", &d, &p));
	assert_false(vmie_insp_parse_devname("/dev/mapper/x", &d, &p));
	assert_true(vmie_insp_parse_lvname("/dev/mapper/vg--sys-lv_root", vg,
					   sizeof vg, lv, sizeof lv));
	assert_string_equal(vg, "vg-sys");
	assert_string_equal(lv, "lv_root");
	assert_true(vmie_insp_parse_lvname("/dev/VolGroup00/LogVol00", vg,
					   sizeof vg, lv, sizeof lv));
	assert_string_equal(vg, "VolGroup00");
	assert_string_equal(lv, "LogVol00");
	assert_false(vmie_insp_parse_lvname("/dev/disk/by-id", vg, sizeof vg,
					    lv, sizeof lv));
	assert_false(vmie_insp_parse_lvname("/dev/sda1", vg, sizeof vg, lv,
					    sizeof lv));
}

static void test_network(void **state)
{
	(void)state;
	struct vmie_insp_os *os = calloc(1, sizeof *os);
	assert_non_null(os);
	assert_int_equal(vmie_insp_parse_ifcfg(os, "ifcfg-eth0",
		"DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n", "a"), 0);
	assert_int_equal(vmie_insp_parse_ifcfg(os, "ifcfg-eth1",
		"BOOTPROTO=none\nIPADDR=10.0.0.5\n", "b"), 0);
	assert_int_equal(vmie_insp_parse_ifcfg(os, "ifcfg-lo", "DEVICE=lo\n",
					       "c"), 0);
	assert_int_equal(vmie_insp_parse_ifcfg(os, "ifcfg-eth2",
		"BOOTPROTO='static'\nIPADDR='192.168.1.2/24'\n", "d"), 0);
	assert_int_equal(os->n_netifs, 3);
	assert_string_equal(os->netifs[0].name, "eth0");
	assert_int_equal(os->netifs[0].dhcp, 1);
	assert_string_equal(os->netifs[1].name, "eth1");
	assert_int_equal(os->netifs[1].dhcp, 0);
	assert_string_equal(os->netifs[1].address, "10.0.0.5");
	assert_string_equal(os->netifs[2].address, "192.168.1.2/24");

	assert_int_equal(vmie_insp_parse_interfaces(os,
		"auto lo\niface lo inet loopback\n\nallow-hotplug ens3\n"
		"iface ens3 inet dhcp\niface ens4 inet static\n  address "
		"10.1.1.1/24\n  gateway 10.1.1.254\niface ens4 inet6 auto\n",
		"e"), 0);
	assert_int_equal(os->n_netifs, 5);
	assert_string_equal(os->netifs[3].name, "ens3");
	assert_int_equal(os->netifs[3].dhcp, 1);
	assert_int_equal(os->netifs[4].dhcp, 0);
	assert_string_equal(os->netifs[4].address, "10.1.1.1/24");

	assert_int_equal(vmie_insp_parse_netplan(os,
		"# netplan\nnetwork:\n  version: 2\n  ethernets:\n    ens5:\n"
		"      dhcp4: true\n    ens6:\n      dhcp4: no\n      addresses:\n"
		"        - 172.16.0.9/16\n      routes: []\n    \"ens7\":\n"
		"      addresses: [10.9.9.9/8, \"fe80::1/64\"]\n  bonds:\n"
		"    bond0:\n      dhcp4: yes\n", "f"), 0);
	assert_int_equal(os->n_netifs, 9);
	assert_string_equal(os->netifs[5].name, "ens5");
	assert_int_equal(os->netifs[5].dhcp, 1);
	assert_int_equal(os->netifs[6].dhcp, 0);
	assert_string_equal(os->netifs[6].address, "172.16.0.9/16");
	assert_string_equal(os->netifs[7].name, "ens7");
	assert_string_equal(os->netifs[7].address, "10.9.9.9/8");
	assert_string_equal(os->netifs[8].name, "bond0");
	assert_int_equal(os->netifs[8].dhcp, 1);

	assert_int_equal(vmie_insp_parse_nmconnection(os,
		"[connection]\nid=Wired 1\ninterface-name=enp1s0\ntype=ethernet\n"
		"[ipv4]\nmethod=manual\naddress1=10.2.2.2/24,10.2.2.1\n", "g"), 0);
	assert_int_equal(vmie_insp_parse_nmconnection(os,
		"[connection]\nid=eth9\n[ipv4]\nmethod=auto\n", "h"), 0);
	assert_int_equal(os->n_netifs, 11);
	assert_string_equal(os->netifs[9].name, "enp1s0");
	assert_int_equal(os->netifs[9].dhcp, 0);
	assert_string_equal(os->netifs[9].address, "10.2.2.2/24");
	assert_string_equal(os->netifs[10].name, "eth9");
	assert_int_equal(os->netifs[10].dhcp, 1);
	free(os->netifs);
	free(os);
}

/* The addresses of "nameservers:" are the DNS servers, not the
 * interface's address; block and flow styles, nameservers before or
 * after the address, the netplan 0.105 "address: {options}" form. */
static void test_netplan_nameservers(void **state)
{
	(void)state;
	struct vmie_insp_os *os = calloc(1, sizeof *os);
	assert_non_null(os);
	assert_int_equal(vmie_insp_parse_netplan(os,
		"network:\n  version: 2\n  ethernets:\n    ens160:\n"
		"      addresses:\n      - 192.0.2.30/24\n"
		"      nameservers:\n        addresses:\n        - 192.0.2.53\n"
		"        search: [example.com]\n"
		"      routes:\n      - to: default\n        via: 192.0.2.1\n",
		"a"), 0);
	assert_int_equal(os->n_netifs, 1);
	assert_string_equal(os->netifs[0].name, "ens160");
	assert_int_equal(os->netifs[0].dhcp, 0);
	assert_string_equal(os->netifs[0].address, "192.0.2.30/24");

	assert_int_equal(vmie_insp_parse_netplan(os,
		"network:\n  ethernets:\n    ens5:\n      nameservers:\n"
		"        addresses: [192.0.2.53, 192.0.2.54]\n"
		"      addresses: [\"2001:db8::5/64\", 192.0.2.31/24]\n"
		"      dhcp4: false\n", "b"), 0);
	assert_int_equal(vmie_insp_parse_netplan(os,
		"network:\n  ethernets:\n    ens6:\n      dhcp4: true\n"
		"      nameservers:\n        addresses: [192.0.2.53]\n", "c"), 0);
	assert_int_equal(vmie_insp_parse_netplan(os,
		"network:\n  ethernets:\n    ens7:\n      addresses:\n"
		"        - 192.0.2.32/24:\n            label: ens7:1\n"
		"            lifetime: forever\n", "d"), 0);
	assert_int_equal(os->n_netifs, 4);
	assert_string_equal(os->netifs[1].address, "192.0.2.31/24");
	assert_int_equal(os->netifs[2].dhcp, 1);
	assert_string_equal(os->netifs[2].address, "");
	assert_string_equal(os->netifs[3].address, "192.0.2.32/24");

	/* not YAML, not netplan, over the limits: nothing, no error */
	assert_int_equal(vmie_insp_parse_netplan(os, "network: [\n", "e"), 0);
	assert_int_equal(vmie_insp_parse_netplan(os, "", "f"), 0);
	assert_int_equal(vmie_insp_parse_netplan(os, "- a\n- b\n", "g"), 0);
	char *deep = malloc(300001);
	assert_non_null(deep);
	memset(deep, '[', 300000);
	deep[300000] = '\0';
	assert_int_equal(vmie_insp_parse_netplan(os, deep, "h"), 0);
	free(deep);
	assert_int_equal(os->n_netifs, 4);
	free(os->netifs);
	free(os);
}

static void test_passwd(void **state)
{
	(void)state;
	struct vmie_insp_user *u;
	unsigned n;
	assert_int_equal(vmie_insp_parse_passwd(
		"root:x:0:0:root:/root:/bin/bash\n"
		"daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		"admin:x:1000:1000:Admin:/home/admin:/bin/bash\n"
		"old:x:500:500::/home/old:/bin/sh\n"
		"nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
		"svc:x:1001:1001::/srv/svc:/bin/false\nbroken:x\n", 1000, &u, &n),
		0);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].name, "admin");
	assert_string_equal(u[0].home, "/home/admin");
	free(u);
	assert_int_equal(vmie_insp_parse_passwd(
		"old:x:500:500::/home/old:/bin/sh\n", 500, &u, &n), 0);
	assert_int_equal(n, 1);
	free(u);
}

static void test_binaries(void **state)
{
	(void)state;
	uint8_t h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	char a[16];
	h[18] = 62;
	assert_int_equal(vmie_insp_elf_arch(h, sizeof h, a, sizeof a), 0);
	assert_string_equal(a, "x86_64");
	h[4] = 1;
	h[18] = 3;
	assert_int_equal(vmie_insp_elf_arch(h, sizeof h, a, sizeof a), 0);
	assert_string_equal(a, "i386");
	h[4] = 2;
	h[18] = 183;
	assert_int_equal(vmie_insp_elf_arch(h, sizeof h, a, sizeof a), 0);
	assert_string_equal(a, "aarch64");
	h[5] = 2;        /* big-endian: e_machine 0xb700 is unknown */
	assert_int_equal(vmie_insp_elf_arch(h, sizeof h, a, sizeof a), -1);
	assert_int_equal(vmie_insp_elf_arch(h, 10, a, sizeof a), -1);

	uint8_t pe[256] = { 'M', 'Z' };
	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0", 4);
	pe[0x84] = 0x64;
	pe[0x85] = 0x86;
	assert_int_equal(vmie_insp_pe_arch(pe, sizeof pe, a, sizeof a), 0);
	assert_string_equal(a, "x86_64");
	pe[0x84] = 0x4c;
	pe[0x85] = 0x01;
	assert_int_equal(vmie_insp_pe_arch(pe, sizeof pe, a, sizeof a), 0);
	assert_string_equal(a, "i386");
	pe[0x3c] = 0xfe;  /* e_lfanew past the buffer */
	assert_int_equal(vmie_insp_pe_arch(pe, sizeof pe, a, sizeof a), -1);
}

static void test_windows_tables(void **state)
{
	(void)state;
	assert_string_equal(vmie_insp_lcid_name(0x409), "en-US");
	assert_string_equal(vmie_insp_lcid_name(0x407), "de-DE");
	assert_null(vmie_insp_lcid_name(0x7777));
	assert_string_equal(vmie_insp_dotnet_release(528040), "4.8");
	assert_string_equal(vmie_insp_dotnet_release(528449), "4.8");
	assert_string_equal(vmie_insp_dotnet_release(394802), "4.6.2");
	assert_null(vmie_insp_dotnet_release(1000));
	assert_int_equal(vmie_insp_paging_auto("?:\\pagefile.sys"), 1);
	assert_int_equal(vmie_insp_paging_auto(""), 1);
	assert_int_equal(vmie_insp_paging_auto("C:\\pagefile.sys 0 0"), 1);
	assert_int_equal(vmie_insp_paging_auto("C:\\pagefile.sys 2048 4096"),
			 0);
	assert_int_equal(vmie_insp_paging_auto(
		"C:\\pagefile.sys 2048 4096\nD:\\pagefile.sys"), 1);
}

static void test_lists(void **state)
{
	(void)state;
	char l[16] = "";
	vmie_insp_list_add(l, sizeof l, "nvme");
	vmie_insp_list_add(l, sizeof l, "ena");
	vmie_insp_list_add(l, sizeof l, "nvme");
	assert_string_equal(l, "nvme,ena");
	vmie_insp_list_add(l, sizeof l, "virtio_blk");   /* does not fit */
	assert_string_equal(l, "nvme,ena");
	assert_true(vmie_insp_list_has(l, "ena"));
	assert_false(vmie_insp_list_has(l, "en"));
	assert_string_equal(vmie_insp_driver_name("virtio_blk.ko.zst"),
			    "virtio_blk");
	assert_string_equal(vmie_insp_driver_name("xen_blkfront.ko"),
			    "xen-blkfront");
	assert_null(vmie_insp_driver_name("nvme-core.ko"));
	assert_null(vmie_insp_driver_name("virtio_blk.c"));
	char b[64] = "";
	const char mb[] = "kernel/drivers/block/virtio_blk.ko\n"
			  "kernel/drivers/nvme/host/nvme.ko\nkernel/fs/ext4.ko\n";
	vmie_insp_builtin_drivers(mb, sizeof mb - 1, b, sizeof b);
	assert_string_equal(b, "virtio_blk,nvme");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shvar),
		cmocka_unit_test(test_os_release),
		cmocka_unit_test(test_release_files),
		cmocka_unit_test(test_kernels),
		cmocka_unit_test(test_grub_cfg),
		cmocka_unit_test(test_menu_lst_bls),
		cmocka_unit_test(test_fstab),
		cmocka_unit_test(test_devnames),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_netplan_nameservers),
		cmocka_unit_test(test_passwd),
		cmocka_unit_test(test_binaries),
		cmocka_unit_test(test_windows_tables),
		cmocka_unit_test(test_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
