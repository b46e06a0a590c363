/*
 * Network configuration of a Linux guest, per interface: static address or
 * DHCP.  Formats: initscripts ifcfg files (/etc/sysconfig/network-scripts/
 * ifcfg-NAME, BOOTPROTO and IPADDR; SUSE wicked's /etc/sysconfig/network/
 * ifcfg-NAME uses the same keys, quoted), Debian interfaces(5) ("iface NAME
 * inet dhcp|static", "address"), netplan YAML (network: ethernets, bonds,
 * bridges, vlans, wifis: NAME: dhcp4, addresses; read with libyaml, within
 * limits on size, depth and aliases), NetworkManager
 * keyfiles ([connection] id, interface-name; [ipv4] method, address1).
 * Also passwd(5), for the accounts that may hold SSH keys.
 */
#include "inspect/insp_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/yaml.h"

#include "core/util.h"

int vmie_insp_add_netif(struct vmie_insp_os *os, const char *name, int dhcp,
			const char *address, const char *source)
{
	struct vmie_insp_netif *n;

	if (os->n_netifs >= INSP_MAX_NETIFS)
		return 0;
	if (!(os->n_netifs & (os->n_netifs - 1)) || !os->netifs) {
		unsigned cap = os->n_netifs ? os->n_netifs * 2 : 4;
		n = realloc(os->netifs, cap * sizeof *n);
		if (!n)
			return VMIE_ENOMEM;
		os->netifs = n;
	}
	n = &os->netifs[os->n_netifs++];
	memset(n, 0, sizeof *n);
	vmie_strlcpy(n->name, name, sizeof n->name);
	n->dhcp = dhcp;
	vmie_strlcpy(n->address, address ? address : "", sizeof n->address);
	vmie_strlcpy(n->source, source, sizeof n->source);
	return 0;
}

int vmie_insp_parse_ifcfg(struct vmie_insp_os *os, const char *fname,
			  const char *text, const char *source)
{
	char name[64], proto[32], addr[64];
	int dhcp;

	if (!vmie_insp_shvar(text, "DEVICE", name, sizeof name) || !name[0]) {
		const char *b = strrchr(fname, '/');
		b = b ? b + 1 : fname;
		if (!strncmp(b, "ifcfg-", 6))
			b += 6;
		vmie_strlcpy(name, b, sizeof name);
	}
	if (!strcmp(name, "lo") || !name[0])
		return 0;
	if (!vmie_insp_shvar(text, "IPADDR", addr, sizeof addr) || !addr[0])
		if (!vmie_insp_shvar(text, "IPADDR0", addr, sizeof addr) ||
		    !addr[0])
			vmie_insp_shvar(text, "IPADDR_0", addr, sizeof addr);
	vmie_insp_shvar(text, "BOOTPROTO", proto, sizeof proto);
	if (!strncasecmp(proto, "dhcp", 4) || !strcasecmp(proto, "bootp"))
		dhcp = 1;
	else if (proto[0] || addr[0])
		dhcp = 0;       /* static, none (RHEL), or an address */
	else
		dhcp = -1;
	return vmie_insp_add_netif(os, name, dhcp, dhcp == 1 ? "" : addr,
				   source);
}

int vmie_insp_parse_interfaces(struct vmie_insp_os *os, const char *text,
			       const char *source)
{
	const char *p = text;
	int cur = -1, rc;

	char line[256], w1[64], w2[64], w3[64], w4[64];
	while (vmie_insp_next_line(&p, line, sizeof line)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		w1[0] = w2[0] = w3[0] = w4[0] = '\0';
		char *save = NULL, *t = strtok_r(line, " \t\r", &save);
		if (!t)
			continue;
		vmie_strlcpy(w1, t, sizeof w1);
		if ((t = strtok_r(NULL, " \t\r", &save)))
			vmie_strlcpy(w2, t, sizeof w2);
		if ((t = strtok_r(NULL, " \t\r", &save)))
			vmie_strlcpy(w3, t, sizeof w3);
		if ((t = strtok_r(NULL, " \t\r", &save)))
			vmie_strlcpy(w4, t, sizeof w4);
		if (!strcmp(w1, "iface")) {
			cur = -1;
			if (strcmp(w3, "inet") || !strcmp(w2, "lo") ||
			    !strcmp(w4, "loopback"))
				continue;
			int dhcp = !strcmp(w4, "dhcp") ? 1 :
				   !strcmp(w4, "static") ? 0 : -1;
			if (!strcmp(w4, "manual"))
				continue;
			rc = vmie_insp_add_netif(os, w2, dhcp, "", source);
			if (rc)
				return rc;
			cur = (int)os->n_netifs - 1;
		} else if (!strcmp(w1, "address") && cur >= 0 &&
			   (unsigned)cur < os->n_netifs) {
			vmie_strlcpy(os->netifs[cur].address, w2,
				     sizeof os->netifs[cur].address);
		} else if (!strcmp(w1, "auto") || !strcmp(w1, "allow-hotplug") ||
			   !strcmp(w1, "mapping") || !strcmp(w1, "source") ||
			   !strcmp(w1, "source-directory")) {
			cur = -1;
		}
	}
	return 0;
}

/* ---- netplan, read with libyaml (bounded: core/yaml.h) ---- */

/* The interface's own address: the first IPv4 entry of its "addresses"
 * (a plain "192.0.2.30/24", or the key of "- 192.0.2.30/24: {label: x}"),
 * else the first entry.  Only the interface's own key: the addresses of
 * "nameservers:" are not its address. */
static void net_yaml_address(struct vmie_yaml_walk *y, yaml_node_t *ifc,
			     char *out, size_t size)
{
	yaml_node_t *list = vmie_yaml_get(y, ifc, "addresses");
	const char *first = NULL;

	VMIE_YAML_ITEMS(y, list, it) {
		yaml_node_t *n = vmie_yaml_node(y, *it);
		const char *a = vmie_yaml_str(n);
		if (!a && n && n->type == YAML_MAPPING_NODE &&
		    n->data.mapping.pairs.top > n->data.mapping.pairs.start)
			a = vmie_yaml_str(vmie_yaml_node(y,
					n->data.mapping.pairs.start->key));
		if (!a || !a[0])
			continue;
		if (!first)
			first = a;
		if (!strchr(a, ':')) {
			first = a;
			break;
		}
	}
	vmie_strlcpy(out, first ? first : "", size);
}

int vmie_insp_parse_netplan(struct vmie_insp_os *os, const char *text,
			    const char *source)
{
	static const char *const sections[] = {
		"ethernets", "bonds", "bridges", "vlans", "wifis",
	};
	yaml_document_t doc;
	struct vmie_yaml_walk y = { &doc, VMIE_YAML_MAX_VISITS };
	int rc = vmie_yaml_load(text, strlen(text), &doc);

	if (rc)
		return rc < 0 ? rc : 0;         /* not YAML, empty: nothing */
	yaml_node_t *net = vmie_yaml_get(&y, yaml_document_get_root_node(&doc),
					"network");
	VMIE_YAML_PAIRS(&y, net, sp) {
		const char *k = vmie_yaml_str(vmie_yaml_node(&y, sp->key));
		yaml_node_t *devs = vmie_yaml_node(&y, sp->value);
		bool known = false;
		for (size_t i = 0; k && i < sizeof sections / sizeof *sections;
		     i++)
			known |= !strcmp(k, sections[i]);
		if (!known)
			continue;
		VMIE_YAML_PAIRS(&y, devs, dp) {
			const char *name = vmie_yaml_str(vmie_yaml_node(&y,
								dp->key));
			yaml_node_t *ifc = vmie_yaml_node(&y, dp->value);
			char addr[64];
			if (!name || !name[0])
				continue;
			int dhcp = vmie_yaml_true(vmie_yaml_str(
				vmie_yaml_get(&y, ifc, "dhcp4"))) ? 1 : 0;
			net_yaml_address(&y, ifc, addr, sizeof addr);
			rc = vmie_insp_add_netif(os, name, dhcp, addr, source);
			if (rc)
				goto out;
		}
	}
out:
	yaml_document_delete(&doc);
	return rc;
}

int vmie_insp_parse_nmconnection(struct vmie_insp_os *os, const char *text,
				 const char *source)
{
	char id[64] = "", ifname[64] = "", method[32] = "", addr[64] = "";
	char sect[32] = "";
	const char *p = text;

	char line[256];
	while (vmie_insp_next_line(&p, line, sizeof line)) {
		char *s = vmie_insp_trim(line);
		if (!s[0] || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[') {
			char *r = strchr(s, ']');
			if (r)
				*r = '\0';
			vmie_strlcpy(sect, s + 1, sizeof sect);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *k = vmie_insp_trim(s), *v = vmie_insp_trim(eq + 1);
		if (!strcmp(sect, "connection")) {
			if (!strcmp(k, "id"))
				vmie_strlcpy(id, v, sizeof id);
			else if (!strcmp(k, "interface-name"))
				vmie_strlcpy(ifname, v, sizeof ifname);
		} else if (!strcmp(sect, "ipv4")) {
			if (!strcmp(k, "method"))
				vmie_strlcpy(method, v, sizeof method);
			else if ((!strcmp(k, "address1") ||
				  !strcmp(k, "addresses1")) && !addr[0]) {
				char *c = strchr(v, ',');
				if (c)
					*c = '\0';
				vmie_strlcpy(addr, v, sizeof addr);
			}
		}
	}
	if (!id[0] && !ifname[0])
		return 0;
	if (!strcmp(method, "disabled") || !strcmp(method, "ignore"))
		return 0;
	/* NetworkManager's default IPv4 method is "auto". */
	int dhcp = !method[0] || !strcmp(method, "auto") ? 1 :
		   !strcmp(method, "manual") ? 0 : -1;
	return vmie_insp_add_netif(os, ifname[0] ? ifname : id, dhcp,
				   dhcp == 1 ? "" : addr, source);
}

int vmie_insp_parse_passwd(const char *text, unsigned min_uid,
			   struct vmie_insp_user **out, unsigned *n)
{
	static const char *const no_login[] = {
		"nologin", "false", "sync", "halt", "shutdown",
	};
	struct vmie_insp_user *v = NULL;
	unsigned cnt = 0, cap = 0;
	const char *p = text;

	*out = NULL;
	*n = 0;
	char line[512], *f[7];
	while (cnt < 4096 && vmie_insp_next_line(&p, line, sizeof line)) {
		vmie_insp_trim(line);
		int nf = 0;
		char *s = line;
		f[nf++] = s;
		while (nf < 7 && (s = strchr(s, ':'))) {
			*s++ = '\0';
			f[nf++] = s;
		}
		if (nf < 7 || !f[0][0] || !isdigit((unsigned char)f[2][0]))
			continue;
		unsigned long uid = strtoul(f[2], NULL, 10);
		if (uid < min_uid || uid >= 65534 || !f[5][0])
			continue;
		const char *sh = strrchr(f[6], '/');
		sh = sh ? sh + 1 : f[6];
		bool skip = false;
		for (size_t i = 0; i < sizeof no_login / sizeof *no_login; i++)
			if (!strcmp(sh, no_login[i]))
				skip = true;
		if (skip)
			continue;
		if (cnt == cap) {
			unsigned nc = cap ? cap * 2 : 8;
			struct vmie_insp_user *t = realloc(v, nc * sizeof *v);
			if (!t) {
				free(v);
				return VMIE_ENOMEM;
			}
			v = t;
			cap = nc;
		}
		vmie_strlcpy(v[cnt].name, f[0], sizeof v[cnt].name);
		vmie_strlcpy(v[cnt].home, f[5], sizeof v[cnt].home);
		v[cnt].uid = (unsigned)uid;
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}
