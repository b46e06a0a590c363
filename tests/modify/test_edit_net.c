/* lib/modify edit_net.c: network configuration for the target (PREP-003,
 * PREP-011): Debian interfaces(5), RHEL and SUSE ifcfg, NetworkManager
 * keyfiles, netplan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "modify/edit.h"

static bool has_note(const struct vmie_edit *e, const char *part)
{
	for (unsigned i = 0; i < e->n_notes && i < VMIE_EDIT_MAX_NOTES; i++)
		if (strstr(e->notes[i].what, part))
			return true;
	return false;
}

/* ---- interfaces(5) ---- */

static void ifaces(const char *in, struct vmie_edit *e)
{
	assert_int_equal(vmie_edit_interfaces(in, strlen(in), e), 0);
}

/* Debian 12 installed with a static address on VMware. */
static void test_interfaces_static(void **state)
{
	(void)state;
	struct vmie_edit e, e2;
	static const char in[] =
		"# This file describes the network interfaces available on your "
		"system\n"
		"# and how to activate them. For more information, see "
		"interfaces(5).\n"
		"\n"
		"source /etc/network/interfaces.d/*\n"
		"\n"
		"# The loopback network interface\n"
		"auto lo\n"
		"iface lo inet loopback\n"
		"\n"
		"# The primary network interface\n"
		"allow-hotplug ens192\n"
		"iface ens192 inet static\n"
		"\taddress 192.0.2.30/24\n"
		"\tgateway 192.0.2.1\n"
		"\t# dns-* options are implemented by the resolvconf package, if "
		"installed\n"
		"\tdns-nameservers 192.0.2.53\n"
		"\tdns-search example.com\n"
		"\thwaddress ether 00:50:56:8a:12:34\n"
		"\tmtu 1500\n"
		"\n"
		"# This is an autoconfigured IPv6 interface\n"
		"iface ens192 inet6 static\n"
		"    address 2001:db8::30\n"
		"    netmask 64\n";
	static const char want[] =
		"# This file describes the network interfaces available on your "
		"system\n"
		"# and how to activate them. For more information, see "
		"interfaces(5).\n"
		"\n"
		"source /etc/network/interfaces.d/*\n"
		"\n"
		"# The loopback network interface\n"
		"auto lo\n"
		"iface lo inet loopback\n"
		"\n"
		"# The primary network interface\n"
		"allow-hotplug eth0\n"
		"iface eth0 inet dhcp\n"
		"# vmie: \taddress 192.0.2.30/24\n"
		"# vmie: \tgateway 192.0.2.1\n"
		"\t# dns-* options are implemented by the resolvconf package, if "
		"installed\n"
		"# vmie: \tdns-nameservers 192.0.2.53\n"
		"# vmie: \tdns-search example.com\n"
		"# vmie: \thwaddress ether 00:50:56:8a:12:34\n"
		"\tmtu 1500\n"
		"\n"
		"# This is an autoconfigured IPv6 interface\n"
		"iface eth0 inet6 auto\n"
		"# vmie:     address 2001:db8::30\n"
		"# vmie:     netmask 64\n";

	ifaces(in, &e);
	assert_non_null(e.text);
	assert_string_equal(e.text, want);
	assert_true(has_note(&e, "line 11: allow-hotplug ens192 -> eth0"));
	assert_true(has_note(&e, "line 12: iface ens192 -> eth0"));
	assert_true(has_note(&e, "line 12: ens192 inet static -> dhcp"));
	assert_true(has_note(&e, "line 13: address of ens192 commented out"));
	assert_string_equal(e.notes[0].rule, "PREP-003");
	ifaces(e.text, &e2);
	assert_null(e2.text);
	vmie_edit_free(&e2);
	vmie_edit_free(&e);
}

static void test_interfaces_dhcp(void **state)
{
	(void)state;
	struct vmie_edit e;

	/* Debian cloud image: already eth0 and DHCP */
	ifaces("auto lo\niface lo inet loopback\n\nauto eth0\n"
	       "iface eth0 inet dhcp\n", &e);
	assert_null(e.text);
	assert_int_equal(e.n_changes, 0);
	assert_int_equal(e.n_notes, 0);
	vmie_edit_free(&e);

	/* DHCP under a predictable name: only the name changes */
	ifaces("auto lo ens3\niface lo inet loopback\niface ens3 inet dhcp\n"
	       "iface ens3 inet6 auto\n", &e);
	assert_string_equal(e.text, "auto lo eth0\niface lo inet loopback\n"
			    "iface eth0 inet dhcp\niface eth0 inet6 auto\n");
	assert_int_equal(e.n_changes, 3);
	vmie_edit_free(&e);

	/* Ubuntu 16.04 style, no newline at the end */
	ifaces("auto ens33\niface ens33 inet static\naddress 10.0.0.5\n"
	       "netmask 255.255.255.0\ngateway 10.0.0.1", &e);
	assert_string_equal(e.text, "auto eth0\niface eth0 inet dhcp\n"
			    "# vmie: address 10.0.0.5\n"
			    "# vmie: netmask 255.255.255.0\n"
			    "# vmie: gateway 10.0.0.1\n");
	vmie_edit_free(&e);
}

/* Two NICs: the first becomes eth0; the second keeps its name (it will
 * not exist: the target has one NIC) but is DHCP too. */
static void test_interfaces_two_nics(void **state)
{
	(void)state;
	struct vmie_edit e;

	ifaces("auto ens192 ens224\n"
	       "iface ens192 inet static\n  address 192.0.2.30/24\n"
	       "iface ens224 inet static\n  address 198.51.100.7/24\n", &e);
	assert_string_equal(e.text, "auto eth0 ens224\n"
			    "iface eth0 inet dhcp\n"
			    "# vmie:   address 192.0.2.30/24\n"
			    "iface ens224 inet dhcp\n"
			    "# vmie:   address 198.51.100.7/24\n");
	assert_true(has_note(&e, "ens224 is not the target's one NIC"));
	bool nics = false;
	for (unsigned i = 0; i < e.n_notes; i++)
		nics |= !strcmp(e.notes[i].rule, "PREP-011");
	assert_true(nics);
	vmie_edit_free(&e);

	/* an eth0 further down is the one NIC: nothing is renamed */
	ifaces("iface ens5 inet dhcp\niface eth0 inet static\n address 1.2.3.4\n",
	       &e);
	assert_string_equal(e.text, "iface ens5 inet dhcp\niface eth0 inet dhcp\n"
			    "# vmie:  address 1.2.3.4\n");
	vmie_edit_free(&e);
}

/* Bridges, bonds and VLANs (and the NICs in them) are left alone. */
static void test_interfaces_virtual(void **state)
{
	(void)state;
	struct vmie_edit e;
	static const char pve[] =
		"auto lo\n"
		"iface lo inet loopback\n\n"
		"iface eno1 inet manual\n\n"
		"auto vmbr0\n"
		"iface vmbr0 inet static\n"
		"        address 192.168.1.10/24\n"
		"        gateway 192.168.1.1\n"
		"        bridge-ports eno1\n"
		"        bridge-stp off\n"
		"        bridge-fd 0\n";
	ifaces(pve, &e);
	assert_null(e.text);
	assert_int_equal(e.n_changes, 0);
	assert_true(has_note(&e, "vmbr0 (bridge) left unchanged"));
	assert_true(has_note(&e, "eno1 (ethernet, a port) left unchanged"));
	vmie_edit_free(&e);

	ifaces("auto bond0\niface bond0 inet static\n  address 10.0.0.2/24\n"
	       "  bond-slaves ens1f0 ens1f1\n  bond-mode 802.3ad\n"
	       "iface ens1f0 inet manual\n  bond-master bond0\n"
	       "auto ens1f1.100\niface ens1f1.100 inet static\n"
	       "  address 10.1.0.2/24\n  vlan-raw-device ens1f1\n", &e);
	assert_null(e.text);
	assert_true(has_note(&e, "bond0 (bond) left unchanged"));
	assert_true(has_note(&e, "ens1f1.100 (VLAN) left unchanged"));
	vmie_edit_free(&e);

	/* an alias and a wireless interface */
	ifaces("iface ens3:0 inet static\n address 10.0.0.9\n"
	       "iface wlp2s0 inet dhcp\n wpa-ssid home\n", &e);
	assert_null(e.text);
	assert_true(has_note(&e, "ens3:0 (alias)"));
	assert_true(has_note(&e, "wlp2s0 (wireless)"));
	vmie_edit_free(&e);
}

/* ---- ifcfg ---- */

static void ifcfg(const char *in, bool suse, struct vmie_edit *e, char *nn)
{
	assert_int_equal(vmie_edit_ifcfg(in, strlen(in), suse, e, nn), 0);
}

/* RHEL 7 / 8, as NetworkManager's ifcfg-rh plugin writes it. */
static void test_ifcfg_rhel(void **state)
{
	(void)state;
	struct vmie_edit e, e2;
	char nn[64];
	static const char in[] =
		"TYPE=Ethernet\n"
		"PROXY_METHOD=none\n"
		"BROWSER_ONLY=no\n"
		"BOOTPROTO=none\n"
		"DEFROUTE=yes\n"
		"IPV4_FAILURE_FATAL=no\n"
		"IPV6INIT=yes\n"
		"IPV6_AUTOCONF=yes\n"
		"IPV6_DEFROUTE=yes\n"
		"IPV6_FAILURE_FATAL=no\n"
		"IPV6_ADDR_GEN_MODE=stable-privacy\n"
		"NAME=ens192\n"
		"UUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n"
		"DEVICE=ens192\n"
		"ONBOOT=yes\n"
		"IPADDR=192.0.2.30\n"
		"PREFIX=24\n"
		"GATEWAY=192.0.2.1\n"
		"DNS1=192.0.2.53\n"
		"DNS2=192.0.2.54\n"
		"DOMAIN=example.com\n"
		"PEERDNS=no\n"
		"HWADDR=00:50:56:8A:12:34\n";
	static const char want[] =
		"TYPE=Ethernet\n"
		"PROXY_METHOD=none\n"
		"BROWSER_ONLY=no\n"
		"BOOTPROTO=dhcp\n"
		"DEFROUTE=yes\n"
		"IPV4_FAILURE_FATAL=no\n"
		"IPV6INIT=yes\n"
		"IPV6_AUTOCONF=yes\n"
		"IPV6_DEFROUTE=yes\n"
		"IPV6_FAILURE_FATAL=no\n"
		"IPV6_ADDR_GEN_MODE=stable-privacy\n"
		"NAME=eth0\n"
		"UUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n"
		"DEVICE=eth0\n"
		"ONBOOT=yes\n"
		"# vmie: IPADDR=192.0.2.30\n"
		"# vmie: PREFIX=24\n"
		"# vmie: GATEWAY=192.0.2.1\n"
		"# vmie: DNS1=192.0.2.53\n"
		"# vmie: DNS2=192.0.2.54\n"
		"DOMAIN=example.com\n"
		"# vmie: PEERDNS=no\n"
		"# vmie: HWADDR=00:50:56:8A:12:34\n";

	ifcfg(in, false, &e, nn);
	assert_string_equal(e.text, want);
	assert_string_equal(nn, "ifcfg-eth0");
	assert_true(has_note(&e, "line 4: BOOTPROTO=none -> dhcp"));
	assert_true(has_note(&e, "line 14: DEVICE=ens192 -> eth0"));
	assert_true(has_note(&e, "line 23: HWADDR commented out"));
	ifcfg(e.text, false, &e2, nn);
	assert_null(e2.text);
	assert_string_equal(nn, "ifcfg-eth0");
	vmie_edit_free(&e2);
	vmie_edit_free(&e);
}

/* RHEL 5/6 with quotes, ONBOOT=no; keys missing and no final newline. */
static void test_ifcfg_rhel_old(void **state)
{
	(void)state;
	struct vmie_edit e;
	char nn[64];

	ifcfg("# Intel Corporation 82545EM Gigabit Ethernet Controller\n"
	      "DEVICE=\"eth0\"\nBOOTPROTO=\"static\"\n"
	      "HWADDR=\"00:0C:29:AB:CD:EF\"\nNM_CONTROLLED=\"yes\"\n"
	      "ONBOOT=\"no\"\nIPADDR=\"10.0.0.5\"\nNETMASK=\"255.255.255.0\"\n"
	      "BROADCAST=10.0.0.255\nNETWORK=10.0.0.0\n", false, &e, nn);
	assert_string_equal(e.text,
		"# Intel Corporation 82545EM Gigabit Ethernet Controller\n"
		"DEVICE=\"eth0\"\nBOOTPROTO=\"dhcp\"\n"
		"# vmie: HWADDR=\"00:0C:29:AB:CD:EF\"\nNM_CONTROLLED=\"yes\"\n"
		"ONBOOT=\"yes\"\n# vmie: IPADDR=\"10.0.0.5\"\n"
		"# vmie: NETMASK=\"255.255.255.0\"\n"
		"# vmie: BROADCAST=10.0.0.255\n# vmie: NETWORK=10.0.0.0\n");
	assert_string_equal(nn, "ifcfg-eth0");
	vmie_edit_free(&e);

	ifcfg("DEVICE=ens3\nIPADDR0=10.1.1.1\nPREFIX0=16", false, &e, nn);
	assert_string_equal(e.text, "DEVICE=eth0\n# vmie: IPADDR0=10.1.1.1\n"
			    "# vmie: PREFIX0=16\nBOOTPROTO=dhcp\nONBOOT=yes\n");
	assert_true(has_note(&e, "BOOTPROTO=dhcp added"));
	vmie_edit_free(&e);

	/* already right: nothing to write, the name still said */
	ifcfg("DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n", false, &e, nn);
	assert_null(e.text);
	assert_string_equal(nn, "ifcfg-eth0");
	vmie_edit_free(&e);
}

/* SLES 12/15 wicked, as YaST writes it. */
static void test_ifcfg_suse(void **state)
{
	(void)state;
	struct vmie_edit e;
	char nn[64];

	ifcfg("BOOTPROTO='static'\n"
	      "STARTMODE='auto'\n"
	      "BROADCAST=''\n"
	      "ETHTOOL_OPTIONS=''\n"
	      "IPADDR='192.0.2.40/24'\n"
	      "MTU=''\n"
	      "NAME='82545EM Gigabit Ethernet Controller (Copper)'\n"
	      "NETMASK=''\n"
	      "NETWORK=''\n"
	      "REMOTE_IPADDR=''\n"
	      "IPADDR_1='192.0.2.41/24'\n"
	      "LABEL_1='second'\n"
	      "LLADDR='00:50:56:8a:00:01'\n"
	      "ZONE=public\n", true, &e, nn);
	assert_string_equal(e.text,
		"BOOTPROTO='dhcp'\n"
		"STARTMODE='auto'\n"
		"# vmie: BROADCAST=''\n"
		"ETHTOOL_OPTIONS=''\n"
		"# vmie: IPADDR='192.0.2.40/24'\n"
		"MTU=''\n"
		"NAME='82545EM Gigabit Ethernet Controller (Copper)'\n"
		"# vmie: NETMASK=''\n"
		"# vmie: NETWORK=''\n"
		"# vmie: REMOTE_IPADDR=''\n"
		"# vmie: IPADDR_1='192.0.2.41/24'\n"
		"LABEL_1='second'\n"
		"# vmie: LLADDR='00:50:56:8a:00:01'\n"
		"ZONE=public\n");
	assert_string_equal(nn, "ifcfg-eth0");
	vmie_edit_free(&e);

	ifcfg("BOOTPROTO='dhcp'\nSTARTMODE='manual'\n", true, &e, nn);
	assert_string_equal(e.text, "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n");
	vmie_edit_free(&e);

	ifcfg("IPADDR='10.0.0.1/8'\n", true, &e, nn);
	assert_string_equal(e.text, "# vmie: IPADDR='10.0.0.1/8'\n"
			    "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n");
	vmie_edit_free(&e);

	/* SUSE's ifcfg-lo has no DEVICE: its address says what it is */
	ifcfg("IPADDR=127.0.0.1\nNETMASK=255.0.0.0\nNETWORK=127.0.0.0\n"
	      "STARTMODE=nfsroot\nBOOTPROTO=static\nUSERCONTROL=no\n"
	      "FIREWALL=no\n", true, &e, nn);
	assert_null(e.text);
	assert_string_equal(nn, "");
	vmie_edit_free(&e);

	/* a SUSE bridge */
	ifcfg("BOOTPROTO='static'\nBRIDGE='yes'\nBRIDGE_PORTS='eth0'\n"
	      "IPADDR='10.0.0.1/24'\nSTARTMODE='auto'\n", true, &e, nn);
	assert_null(e.text);
	assert_true(has_note(&e, "a bridge"));
	vmie_edit_free(&e);
}

static void test_ifcfg_not_ethernet(void **state)
{
	(void)state;
	struct vmie_edit e;
	char nn[64];

	ifcfg("DEVICE=lo\nIPADDR=127.0.0.1\nNETMASK=255.0.0.0\nONBOOT=yes\n"
	      "NAME=loopback\n", false, &e, nn);
	assert_null(e.text);
	assert_string_equal(nn, "");
	vmie_edit_free(&e);

	ifcfg("DEVICE=bond0\nNAME=bond0\nTYPE=Bond\nBONDING_MASTER=yes\n"
	      "IPADDR=10.0.0.2\nPREFIX=24\nBONDING_OPTS=\"mode=active-backup\"\n",
	      false, &e, nn);
	assert_null(e.text);
	assert_string_equal(nn, "");
	assert_true(has_note(&e, "ifcfg bond0: a bond, TYPE=Bond: left "
			     "unchanged"));
	vmie_edit_free(&e);

	ifcfg("TYPE=Ethernet\nDEVICE=ens1f0\nMASTER=bond0\nSLAVE=yes\n"
	      "ONBOOT=yes\n", false, &e, nn);
	assert_null(e.text);
	assert_true(has_note(&e, "a port of a bond or bridge"));
	vmie_edit_free(&e);

	ifcfg("DEVICE=br0\nTYPE=Bridge\nBOOTPROTO=static\nIPADDR=10.0.0.3\n",
	      false, &e, nn);
	assert_null(e.text);
	assert_true(has_note(&e, "TYPE=Bridge"));
	vmie_edit_free(&e);

	ifcfg("DEVICE=eth0:1\nIPADDR=10.0.0.4\n", false, &e, nn);
	assert_null(e.text);
	vmie_edit_free(&e);

	assert_int_equal(vmie_edit_ifcfg("X", 1, false, &e, NULL), 0);
	assert_non_null(e.text);
	vmie_edit_free(&e);
}

/* ---- NetworkManager keyfiles ---- */

static void nm(const char *in, struct vmie_edit *e)
{
	assert_int_equal(vmie_edit_nmconnection(in, strlen(in), e), 0);
}

/* RHEL 9 / Fedora: a static address, as nmcli writes it. */
static void test_nm_static(void **state)
{
	(void)state;
	struct vmie_edit e, e2;
	static const char in[] =
		"[connection]\n"
		"id=ens192\n"
		"uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n"
		"type=ethernet\n"
		"autoconnect-priority=-999\n"
		"interface-name=ens192\n"
		"timestamp=1700000000\n"
		"\n"
		"[ethernet]\n"
		"mac-address=00:50:56:8A:12:34\n"
		"\n"
		"[ipv4]\n"
		"address1=192.0.2.30/24,192.0.2.1\n"
		"dns=192.0.2.53;\n"
		"ignore-auto-dns=true\n"
		"method=manual\n"
		"\n"
		"[ipv6]\n"
		"addr-gen-mode=eui64\n"
		"method=auto\n"
		"\n"
		"[proxy]\n";
	static const char want[] =
		"[connection]\n"
		"id=ens192\n"
		"uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n"
		"type=ethernet\n"
		"autoconnect-priority=-999\n"
		"# vmie: interface-name=ens192\n"
		"timestamp=1700000000\n"
		"\n"
		"[ethernet]\n"
		"# vmie: mac-address=00:50:56:8A:12:34\n"
		"\n"
		"[ipv4]\n"
		"# vmie: address1=192.0.2.30/24,192.0.2.1\n"
		"# vmie: dns=192.0.2.53;\n"
		"# vmie: ignore-auto-dns=true\n"
		"method=auto\n"
		"\n"
		"[ipv6]\n"
		"addr-gen-mode=eui64\n"
		"method=auto\n"
		"\n"
		"[proxy]\n";

	nm(in, &e);
	assert_string_equal(e.text, want);
	assert_true(has_note(&e, "line 16: method=manual -> auto"));
	nm(e.text, &e2);
	assert_null(e2.text);
	vmie_edit_free(&e2);
	vmie_edit_free(&e);
}

/* Older keyfiles (Ubuntu 18.04 desktop): 802-3-ethernet, addresses1=,
 * gateway=, autoconnect=false, spaces around '='. */
static void test_nm_old(void **state)
{
	(void)state;
	struct vmie_edit e;

	nm("[connection]\nid=Wired connection 1\ntype=802-3-ethernet\n"
	   "autoconnect = false\npermissions=\n\n"
	   "[802-3-ethernet]\nmac-address=52:54:00:12:34:56;\n"
	   "cloned-mac-address=preserve\n\n"
	   "[ipv4]\nmethod = manual\naddresses1=10.0.0.5;24;10.0.0.1;\n"
	   "gateway=10.0.0.1\ndns=10.0.0.1;\n\n"
	   "[ipv6]\nmethod=ignore\n", &e);
	assert_string_equal(e.text,
		"[connection]\nid=Wired connection 1\ntype=802-3-ethernet\n"
		"autoconnect = true\npermissions=\n\n"
		"[802-3-ethernet]\n# vmie: mac-address=52:54:00:12:34:56;\n"
		"# vmie: cloned-mac-address=preserve\n\n"
		"[ipv4]\nmethod = auto\n# vmie: addresses1=10.0.0.5;24;10.0.0.1;\n"
		"# vmie: gateway=10.0.0.1\n# vmie: dns=10.0.0.1;\n\n"
		"[ipv6]\nmethod=ignore\n");
	vmie_edit_free(&e);

	/* DHCP and not tied to a NIC: nothing to do (DNS kept with auto) */
	nm("[connection]\nid=cloud\ntype=ethernet\n[ipv4]\nmethod=auto\n"
	   "dns=1.1.1.1;\n", &e);
	assert_null(e.text);
	assert_int_equal(e.n_changes, 0);
	vmie_edit_free(&e);

	/* [match] limits it to some NICs */
	nm("[connection]\nid=x\ntype=ethernet\n[match]\ninterface-name=ens*\n",
	   &e);
	assert_string_equal(e.text, "[connection]\nid=x\ntype=ethernet\n"
			    "[match]\n# vmie: interface-name=ens*\n");
	vmie_edit_free(&e);
}

static void test_nm_not_ethernet(void **state)
{
	(void)state;
	struct vmie_edit e;

	nm("[connection]\nid=br0\ntype=bridge\ninterface-name=br0\n[ipv4]\n"
	   "method=manual\naddress1=10.0.0.1/24\n", &e);
	assert_null(e.text);
	assert_true(has_note(&e, "a connection of type bridge"));
	vmie_edit_free(&e);

	nm("[connection]\nid=bond0-port1\ntype=ethernet\ninterface-name=ens1\n"
	   "master=bond0\nslave-type=bond\n", &e);
	assert_null(e.text);
	assert_true(has_note(&e, "a port of bond0"));
	vmie_edit_free(&e);

	nm("[connection]\nid=home\ntype=wifi\n[wifi]\nssid=home\n", &e);
	assert_null(e.text);
	vmie_edit_free(&e);
}

/* ---- netplan ---- */

static void netplan(const char *in, struct vmie_edit *e)
{
	assert_int_equal(vmie_edit_netplan(in, strlen(in), e), 0);
}

/* Ubuntu 22.04 server, as subiquity writes a static address. */
static void test_netplan_static(void **state)
{
	(void)state;
	struct vmie_edit e, e2;
	static const char in[] =
		"# This is the network config written by 'subiquity'\n"
		"network:\n"
		"  ethernets:\n"
		"    ens160:\n"
		"      addresses:\n"
		"      - 192.0.2.30/24\n"
		"      nameservers:\n"
		"        addresses:\n"
		"        - 192.0.2.53\n"
		"        search: []\n"
		"      routes:\n"
		"      - to: default\n"
		"        via: 192.0.2.1\n"
		"  version: 2\n";
	static const char want[] =
		"# vmie: replaced by DHCP on any NIC (PREP-003); the original "
		"follows, commented out\n"
		"network:\n"
		"  version: 2\n"
		"  ethernets:\n"
		"    ens160:\n"
		"      match:\n"
		"        name: \"e*\"\n"
		"      dhcp4: true\n"
		"# vmie: # This is the network config written by 'subiquity'\n"
		"# vmie: network:\n"
		"# vmie:   ethernets:\n"
		"# vmie:     ens160:\n"
		"# vmie:       addresses:\n"
		"# vmie:       - 192.0.2.30/24\n"
		"# vmie:       nameservers:\n"
		"# vmie:         addresses:\n"
		"# vmie:         - 192.0.2.53\n"
		"# vmie:         search: []\n"
		"# vmie:       routes:\n"
		"# vmie:       - to: default\n"
		"# vmie:         via: 192.0.2.1\n"
		"# vmie:   version: 2\n";

	netplan(in, &e);
	assert_string_equal(e.text, want);
	assert_int_equal(e.n_changes, 1);
	assert_true(has_note(&e, "ethernet ens160, static 192.0.2.30/24 -> "
			     "DHCP on any NIC"));
	assert_string_equal(e.notes[0].rule, "PREP-003");
	netplan(e.text, &e2);
	assert_null(e2.text);
	vmie_edit_free(&e2);
	vmie_edit_free(&e);

	/* no nameservers, flow style, dhcp4 false, NetworkManager kept */
	netplan("network:\n  version: 2\n  renderer: NetworkManager\n"
		"  ethernets:\n    enp1s0:\n      dhcp4: false\n"
		"      addresses: [10.0.0.5/24]\n      gateway4: 10.0.0.1\n"
		"      dhcp6: yes\n", &e);
	assert_non_null(e.text);
	static const char head[] =
		"network:\n  version: 2\n  renderer: NetworkManager\n"
		"  ethernets:\n    enp1s0:\n      match:\n        name: \"e*\"\n"
		"      dhcp4: true\n      dhcp6: true\n# vmie: network:\n";
	assert_memory_equal(strchr(e.text, '\n') + 1, head, sizeof head - 1);
	vmie_edit_free(&e);

	/* dhcp4 false and nothing else: no address at all on the target */
	netplan("network:\n  version: 2\n  ethernets:\n    ens3:\n"
		"      dhcp4: no\n", &e);
	assert_non_null(e.text);
	assert_true(has_note(&e, "ethernet ens3 -> DHCP"));
	vmie_edit_free(&e);
}

/* cloud-init: DHCP, but pinned to the old MAC address and renamed. */
static void test_netplan_cloud_init(void **state)
{
	(void)state;
	struct vmie_edit e;

	netplan("# This file is generated from information provided by the "
		"datasource.  Changes\n# to it will not persist across an "
		"instance reboot.\nnetwork:\n    ethernets:\n        ens5:\n"
		"            dhcp4: true\n            dhcp6: false\n"
		"            match:\n                macaddress: "
		"02:1f:8a:3b:4c:5d\n            set-name: ens5\n"
		"    version: 2\n", &e);
	assert_non_null(e.text);
	assert_non_null(strstr(e.text, "\n    ens5:\n      match:\n        "
				       "name: \"e*\"\n      dhcp4: true\n# vmie:"));
	vmie_edit_free(&e);
}

static void test_netplan_unchanged(void **state)
{
	(void)state;
	struct vmie_edit e;

	/* Ubuntu desktop: everything to NetworkManager */
	netplan("# Let NetworkManager manage all devices on this system\n"
		"network:\n  version: 2\n  renderer: NetworkManager\n", &e);
	assert_null(e.text);
	assert_int_equal(e.n_notes, 0);
	vmie_edit_free(&e);

	/* nothing but comments, or nothing */
	netplan("# network: {config: disabled}\n", &e);
	assert_null(e.text);
	assert_int_equal(e.n_notes, 0);
	vmie_edit_free(&e);
	netplan("", &e);
	assert_null(e.text);
	vmie_edit_free(&e);

	netplan("network:\n  version: 2\n  ethernets:\n    eth0:\n"
		"      dhcp4: true\n", &e);
	assert_null(e.text);
	vmie_edit_free(&e);

	netplan("network:\n  version: 2\n  ethernets:\n    any:\n"
		"      match:\n        name: \"en*\"\n      dhcp4: true\n"
		"    all:\n      match: {name: \"*\"}\n      dhcp4: yes\n", &e);
	assert_true(e.text != NULL);   /* "en*" does not match eth0 */
	vmie_edit_free(&e);
	netplan("network:\n  version: 2\n  ethernets:\n    all:\n"
		"      match: {name: \"e*\"}\n      dhcp4: yes\n", &e);
	assert_null(e.text);
	vmie_edit_free(&e);

	/* a bond over both NICs: left alone, reported */
	netplan("network:\n  version: 2\n  ethernets:\n    eno1: {}\n"
		"    eno2: {}\n  bonds:\n    bond0:\n      interfaces: [eno1, "
		"eno2]\n      addresses: [10.0.0.2/24]\n      parameters:\n"
		"        mode: active-backup\n", &e);
	assert_null(e.text);
	assert_true(has_note(&e, "bonds left unchanged"));
	vmie_edit_free(&e);

	/* a bridge, and a NIC of its own next to it */
	netplan("network:\n  version: 2\n  ethernets:\n    eno1:\n"
		"      dhcp4: false\n    eno2:\n      addresses: [10.9.0.2/16]\n"
		"  bridges:\n    br0:\n      interfaces: [eno1]\n"
		"      dhcp4: true\n", &e);
	assert_non_null(e.text);
	assert_non_null(strstr(e.text, "    eno2:\n      match:"));
	assert_true(has_note(&e, "bridges left out of the new configuration"));
	vmie_edit_free(&e);
}

static void test_netplan_hostile_yaml(void **state)
{
	(void)state;
	struct vmie_edit e;

	netplan("network:\n  ethernets: [unclosed\n", &e);
	assert_null(e.text);
	assert_true(has_note(&e, "left unchanged"));
	vmie_edit_free(&e);

	/* a billion laughs: nine levels of nine aliases */
	char *bomb = malloc(4096), *p = bomb;
	assert_non_null(bomb);
	p += sprintf(p, "a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		p += sprintf(p, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
			     "*a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1,
			     i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	p += sprintf(p, "network:\n  version: 2\n  ethernets:\n    ens3:\n"
		     "      addresses: *a9\n");
	netplan(bomb, &e);
	/* small enough to load; the walk stays within its budget */
	vmie_edit_free(&e);
	free(bomb);

	/* aliases over the limit: refused */
	size_t cap = 1100 * 8 + 64;
	char *many = malloc(cap);
	assert_non_null(many);
	p = many + sprintf(many, "x: &x [1]\ny: [");
	for (int i = 0; i < 1100; i++)
		p += sprintf(p, "*x, ");
	sprintf(p, "]\n");
	netplan(many, &e);
	assert_null(e.text);
	assert_true(has_note(&e, "over its limits"));
	vmie_edit_free(&e);
	free(many);

	/* deep nesting: refused without using the stack */
	size_t depth = 200000;
	char *deep = malloc(depth * 2 + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[depth * 2] = '\0';
	netplan(deep, &e);
	assert_null(e.text);
	vmie_edit_free(&e);
	free(deep);

	/* aliases that make the walk long: each of 1000 ethernets is the
	 * same mapping of 90000 keys */
	size_t bcap = 90000 * 12 + 1000 * 16 + 256;
	char *wide = malloc(bcap);
	assert_non_null(wide);
	p = wide + sprintf(wide, "big: &b\n");
	for (int i = 0; i < 90000 / 2; i++)
		p += sprintf(p, "  k%d: v\n", i);
	p += sprintf(p, "network:\n  ethernets:\n");
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "    e%d: *b\n", i);
	netplan(wide, &e);
	assert_null(e.text);
	vmie_edit_free(&e);
	free(wide);
}

/* ---- every format on hostile bytes ---- */

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 16);
}

enum fmt { F_IFACES, F_IFCFG, F_SUSE, F_NM, F_NETPLAN, F_N };

static int edit_fmt(enum fmt f, const char *in, size_t len,
		    struct vmie_edit *e)
{
	char nn[64];
	switch (f) {
	case F_IFACES: return vmie_edit_interfaces(in, len, e);
	case F_IFCFG: return vmie_edit_ifcfg(in, len, false, e, nn);
	case F_SUSE: return vmie_edit_ifcfg(in, len, true, e, nn);
	case F_NM: return vmie_edit_nmconnection(in, len, e);
	default: return vmie_edit_netplan(in, len, e);
	}
}

/* The output is NUL-terminated and a second edit changes nothing. */
static void check_hostile(enum fmt f, const char *in, size_t len)
{
	struct vmie_edit e, e2;

	assert_int_equal(edit_fmt(f, in, len, &e), 0);
	if (!e.text)
		return;
	assert_int_equal(e.text[e.len], '\0');
	assert_int_equal(edit_fmt(f, e.text, e.len, &e2), 0);
	if (e2.text) {
		fprintf(stderr, "format %d not idempotent on:\n%.*s\n--- "
			"gave:\n%s\n", f, (int)len, in, e.text);
		fail();
	}
	vmie_edit_free(&e2);
	vmie_edit_free(&e);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"iface ", "ens3", "eth0", " inet ", " inet6 ", "static", "dhcp",
		"auto ", "address 1.2.3.4", "hwaddress", "bridge_ports ",
		"BOOTPROTO=", "IPADDR=", "DEVICE=", "'", "\"", "ONBOOT=no",
		"STARTMODE=", "HWADDR=", "[connection]", "[ipv4]", "[ethernet]",
		"type=ethernet", "method=manual", "address1=", "interface-name=",
		"network:", "  ethernets:", "    ens3:", "      dhcp4: no",
		"addresses: [1.2.3.4/8]", "match:", "{", "}", "[", "]", "&a",
		"*a", " ", "\t", "\n", "\n", "\n", "#", "=", ":", "-", "\0",
		"\r", "\xc3", "lo", "bond0", "br0", ".", "127.0.0.1",
	};
	size_t cap = 1 << 20, len;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);

	for (int round = 0; round < 300; round++) {
		enum fmt f = (enum fmt)(round % F_N);
		len = rnd() % 2048;
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)rnd();
		check_hostile(f, buf, len);
		len = 0;
		size_t want = rnd() % 6000;
		while (len < want) {
			const char *pc = pieces[rnd() % (sizeof pieces /
							 sizeof *pieces)];
			size_t n = pc[0] ? strlen(pc) : 1;
			memcpy(buf + len, pc, n);
			len += n;
		}
		check_hostile(f, buf, len);
	}
	/* a 1 MiB line after a valid start, for every format */
	for (enum fmt f = 0; f < F_N; f++) {
		static const char *const start[] = {
			"iface ens3 inet static\naddress ",
			"BOOTPROTO=static\nIPADDR=", "IPADDR=",
			"[connection]\ntype=ethernet\n[ipv4]\nmethod=manual\n"
			"address1=", "network:\n  ethernets:\n    ens3:\n"
			"      addresses: [",
		};
		size_t n = strlen(start[f]);
		memset(buf, '7', cap);
		memcpy(buf, start[f], n);
		check_hostile(f, buf, cap);
	}
	/* 100000 lines */
	char *big = malloc(100000 * 40);
	assert_non_null(big);
	if (!big)
		return;
	for (enum fmt f = 0; f < F_N; f++) {
		static const char *const line[] = {
			"iface ens%d inet static\n", "IPADDR%d=10.0.0.1\n",
			"IPADDR_%d='10.0.0.1'\n", "address%d=10.0.0.1/8\n",
			"    - 10.0.%d.1/8\n",
		};
		len = 0;
		if (f == F_NM)
			len += (size_t)sprintf(big, "[connection]\ntype=ethernet\n"
					       "[ipv4]\n");
		if (f == F_NETPLAN)
			len += (size_t)sprintf(big, "network:\n  ethernets:\n"
					       "    ens3:\n      addresses:\n");
		for (int i = 0; i < 100000; i++)
			len += (size_t)sprintf(big + len, line[f], i);
		check_hostile(f, big, len);
	}
	free(big);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interfaces_static),
		cmocka_unit_test(test_interfaces_dhcp),
		cmocka_unit_test(test_interfaces_two_nics),
		cmocka_unit_test(test_interfaces_virtual),
		cmocka_unit_test(test_ifcfg_rhel),
		cmocka_unit_test(test_ifcfg_rhel_old),
		cmocka_unit_test(test_ifcfg_suse),
		cmocka_unit_test(test_ifcfg_not_ethernet),
		cmocka_unit_test(test_nm_static),
		cmocka_unit_test(test_nm_old),
		cmocka_unit_test(test_nm_not_ethernet),
		cmocka_unit_test(test_netplan_static),
		cmocka_unit_test(test_netplan_cloud_init),
		cmocka_unit_test(test_netplan_unchanged),
		cmocka_unit_test(test_netplan_hostile_yaml),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
