/*
 * Network configuration for the target (rule PREP-003: static addresses
 * become DHCP; PREP-011: the target has one NIC).
 *
 * The target's one NIC is eth0 (the kernel command line gets
 * net.ifnames=0 biosdevname=0, edit_grub.c) and its MAC address is new,
 * so, per format:
 *   interfaces(5)      Debian ifupdown: the first ethernet interface that
 *                      has an "inet" stanza becomes eth0 (its iface, auto
 *                      and allow-* lines; none when one already is eth0);
 *                      "inet static" -> "inet dhcp", "inet6 static" ->
 *                      "inet6 auto", their address options commented out;
 *                      hwaddress commented out.  Loopback, bridges, bonds,
 *                      VLANs, wireless, aliases and enslaved NICs are left
 *                      as they are (and reported).
 *   ifcfg-NAME         initscripts (RHEL 5-8) and SUSE wicked: see
 *                      vmie_edit_ifcfg in edit.h.
 *   keyfile            NetworkManager .nmconnection (ini): see edit.h.
 *   netplan            YAML, read with libyaml: a new document with one
 *                      ethernet that matches any NIC by name, DHCP.
 * Lines are commented out with EDIT_MARK in front and otherwise kept byte
 * for byte; a changed line differs only in the word or value changed.
 */
#include "modify/edit_int.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/yaml.h"

#include "core/err.h"
#include "core/util.h"

#define NET_RULE        "PREP-003"
#define NET_RULE_NICS   "PREP-011"
#define NET_NIC         "eth0"

static bool net_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool net_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

struct net_word {
	size_t off, len;
};

/* Up to max whitespace-separated words of s; returns how many. */
static unsigned net_split(const char *s, struct net_word *w, unsigned max)
{
	unsigned n = 0;
	size_t i = 0;

	while (n < max) {
		while (s[i] && net_ws(s[i]))
			i++;
		if (!s[i])
			break;
		w[n].off = i;
		while (s[i] && !net_ws(s[i]))
			i++;
		w[n].len = i - w[n].off;
		n++;
	}
	return n;
}

static bool net_word_is(const char *s, const struct net_word *w,
			const char *v)
{
	return w->len == strlen(v) && !memcmp(s + w->off, v, w->len);
}

/* The line with the bytes [off, off+n) replaced by rep. */
static void net_replace(struct edit_buf *b, const struct edit_line *l,
			size_t off, size_t n, const char *rep)
{
	edit_buf_add(b, l->p, off);
	edit_buf_str(b, rep);
	edit_buf_add(b, l->p + off + n, l->len - off - n + (l->nl ? 1 : 0));
}

/* ================= Debian ifupdown: interfaces(5) ================= */

#define IFACES_MAX_NAMES 256

enum ifk {
	IFK_ETHER, IFK_LOOP, IFK_BRIDGE, IFK_BOND, IFK_VLAN, IFK_WIFI,
	IFK_VIRTUAL, IFK_ALIAS,
};

static const char *const ifk_names[] = {
	"ethernet", "loopback", "bridge", "bond", "VLAN", "wireless",
	"virtual", "alias",
};

struct ifname {
	char name[64];
	enum ifk kind;
	bool enslaved;          /* a port of a bridge, bond or VLAN */
	bool has_inet;          /* an "inet static|dhcp" stanza */
	bool reported;
};

struct ifaces {
	struct ifname *v;
	unsigned n;
	int primary;            /* index of the NIC that becomes eth0 */
};

static enum ifk ifaces_kind_of_name(const char *n)
{
	static const char *const virt[] = {
		"team", "tun", "tap", "ppp", "wg", "veth", "docker", "lxc",
		"dummy", "sit", "gre", "ib", "vnet", "ip6tnl", NULL,
	};

	if (!strcmp(n, "lo"))
		return IFK_LOOP;
	if (strchr(n, ':'))
		return IFK_ALIAS;
	if (strchr(n, '.') || net_prefix(n, "vlan"))
		return IFK_VLAN;
	if (net_prefix(n, "br") || net_prefix(n, "vmbr") ||
	    net_prefix(n, "virbr"))
		return IFK_BRIDGE;
	if (net_prefix(n, "bond"))
		return IFK_BOND;
	if (net_prefix(n, "wl"))
		return IFK_WIFI;
	for (const char *const *p = virt; *p; p++)
		if (net_prefix(n, *p))
			return IFK_VIRTUAL;
	return IFK_ETHER;
}

/* Index of the name (added when new and there is room), -1 otherwise. */
static int ifaces_find(struct ifaces *t, const char *s, size_t len, bool add)
{
	for (unsigned i = 0; i < t->n; i++)
		if (strlen(t->v[i].name) == len &&
		    !memcmp(t->v[i].name, s, len))
			return (int)i;
	if (!add || t->n >= IFACES_MAX_NAMES || !len ||
	    len >= sizeof t->v[0].name)
		return -1;
	struct ifname *n = &t->v[t->n];
	memset(n, 0, sizeof *n);
	memcpy(n->name, s, len);
	n->name[len] = '\0';
	n->kind = ifaces_kind_of_name(n->name);
	return (int)t->n++;
}

/* A line that starts a stanza other than iface (ends the current one). */
static bool ifaces_other_stanza(const char *s, const struct net_word *w)
{
	static const char *const kw[] = {
		"auto", "mapping", "source", "source-directory", "source-dir",
		"rename", "no-auto-down", "no-scripts", "template", NULL,
	};
	char k[32];

	if (w->len >= sizeof k)
		return false;
	memcpy(k, s + w->off, w->len);
	k[w->len] = '\0';
	return edit_word_in(k, kw) || net_prefix(k, "allow-");
}

/* Pass 1: names, kinds, ports, which NIC becomes eth0. */
static void ifaces_scan(const char *text, size_t len, struct ifaces *t,
			char *s)
{
	struct edit_line l = { 0 };
	size_t pos = 0;
	int cur = -1;

	while (edit_next_line(text, len, &pos, &l)) {
		struct net_word w[16];
		unsigned nw;

		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1))
			continue;
		nw = net_split(s, w, 16);
		if (!nw || s[w[0].off] == '#')
			continue;
		if (net_word_is(s, &w[0], "iface")) {
			cur = nw >= 2 ? ifaces_find(t, s + w[1].off, w[1].len,
						    true) : -1;
			if (cur >= 0 && nw >= 4 && net_word_is(s, &w[2], "inet") &&
			    (net_word_is(s, &w[3], "static") ||
			     net_word_is(s, &w[3], "dhcp")))
				t->v[cur].has_inet = true;
			continue;
		}
		if (ifaces_other_stanza(s, &w[0])) {
			cur = -1;
			continue;
		}
		if (cur < 0)
			continue;
		struct ifname *n = &t->v[cur];
		const char *k = s + w[0].off;
		size_t kl = w[0].len;
#define KEY(lit) (kl == sizeof lit - 1 && !memcmp(k, lit, kl))
		bool ports = false;
		if (KEY("bridge_ports") || KEY("bridge-ports")) {
			n->kind = IFK_BRIDGE;
			ports = true;
		} else if (KEY("bond-slaves") || KEY("bond_slaves") ||
			   KEY("slaves")) {
			n->kind = IFK_BOND;
			ports = true;
		} else if (KEY("bond-mode") || KEY("bond_mode")) {
			n->kind = IFK_BOND;
		} else if (KEY("bond-master") || KEY("bond_master")) {
			n->enslaved = true;
		} else if (KEY("vlan-raw-device") || KEY("vlan_raw_device")) {
			n->kind = IFK_VLAN;
			ports = true;
		} else if ((kl > 4 && !memcmp(k, "wpa-", 4)) ||
			   (kl > 9 && !memcmp(k, "wireless-", 9))) {
			n->kind = IFK_WIFI;
		}
#undef KEY
		for (unsigned i = 1; ports && i < nw; i++) {
			if (net_word_is(s, &w[i], "none") ||
			    net_word_is(s, &w[i], "all") ||
			    net_word_is(s, &w[i], "regex"))
				continue;
			int p = ifaces_find(t, s + w[i].off, w[i].len, true);
			if (p >= 0)
				t->v[p].enslaved = true;
		}
	}
	/* eth0 when it is there (and none when that eth0 is not a NIC of
	 * its own: a second eth0 would clash), else the first NIC */
	t->primary = -1;
	for (unsigned i = 0; i < t->n; i++) {
		const struct ifname *n = &t->v[i];
		bool nic = n->kind == IFK_ETHER && !n->enslaved && n->has_inet;
		if (!strcmp(n->name, NET_NIC)) {
			t->primary = nic ? (int)i : -1;
			return;
		}
		if (nic && t->primary < 0)
			t->primary = (int)i;
	}
}

/* Options of a converted stanza that name the old network. */
static bool ifaces_static_opt(const char *s, const struct net_word *w)
{
	static const char *const opts[] = {
		"address", "netmask", "gateway", "broadcast", "network",
		"pointopoint", NULL,
	};
	char k[32];

	if (w->len >= sizeof k)
		return false;
	memcpy(k, s + w->off, w->len);
	k[w->len] = '\0';
	return edit_word_in(k, opts) || net_prefix(k, "dns-") ||
	       net_prefix(k, "dns_");
}

int vmie_edit_interfaces(const char *text, size_t len, struct vmie_edit *out)
{
	struct ifaces t = { 0 };
	struct edit_buf b = { 0 };
	struct edit_line l = { 0 };
	size_t pos = 0;
	char *s;
	int cur = -1;
	bool convert = false, ether = false;
	char show[96];

	memset(out, 0, sizeof *out);
	s = malloc(EDIT_MAX_LINE + 1);
	t.v = calloc(IFACES_MAX_NAMES, sizeof *t.v);
	if (!s || !t.v) {
		free(s);
		free(t.v);
		return VMIE_ENOMEM;
	}
	ifaces_scan(text, len, &t, s);
	const char *old = t.primary >= 0 && strcmp(t.v[t.primary].name, NET_NIC)
			  ? t.v[t.primary].name : NULL;

	while (edit_next_line(text, len, &pos, &l)) {
		struct net_word w[16];
		unsigned nw;

		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1)) {
			edit_buf_line(&b, &l);
			continue;
		}
		nw = net_split(s, w, 16);
		if (!nw || s[w[0].off] == '#') {
			edit_buf_line(&b, &l);
			continue;
		}
		if (net_word_is(s, &w[0], "iface")) {
			convert = ether = false;
			cur = nw >= 2 ? ifaces_find(&t, s + w[1].off, w[1].len,
						    false) : -1;
			if (cur < 0 || nw < 4) {
				edit_buf_line(&b, &l);
				continue;
			}
			struct ifname *n = &t.v[cur];
			bool inet = net_word_is(s, &w[2], "inet");
			bool inet6 = net_word_is(s, &w[2], "inet6");
			bool stat = net_word_is(s, &w[3], "static");
			if (n->kind != IFK_ETHER || n->enslaved) {
				edit_buf_line(&b, &l);
				if (n->kind != IFK_LOOP && !n->reported) {
					n->reported = true;
					edit_note(out, NET_RULE, "line %u: %s "
						  "(%s%s) left unchanged",
						  l.no, n->name,
						  ifk_names[n->kind],
						  n->enslaved ? ", a port" :
						  "");
				}
				cur = -1;
				continue;
			}
			ether = true;
			convert = stat && (inet || inet6);
			bool rename = old && cur == t.primary;
			if (cur != t.primary && n->has_inet && !n->reported) {
				n->reported = true;
				edit_note(out, NET_RULE_NICS, "line %u: %s is not"
					  " the target's one NIC (" NET_NIC
					  "): left named %s", l.no, n->name,
					  n->name);
			}
			if (!rename && !convert) {
				edit_buf_line(&b, &l);
				continue;
			}
			/* iface NAME FAMILY METHOD [rest] */
			edit_buf_add(&b, s, w[1].off);
			edit_buf_str(&b, rename ? NET_NIC : n->name);
			edit_buf_add(&b, s + w[1].off + w[1].len,
				     w[3].off - w[1].off - w[1].len);
			edit_buf_str(&b, !convert ? "" : inet ? "dhcp" : "auto");
			if (!convert)
				edit_buf_add(&b, s + w[3].off, w[3].len);
			edit_buf_add(&b, l.p + w[3].off + w[3].len,
				     l.len - w[3].off - w[3].len +
				     (l.nl ? 1 : 0));
			if (rename)
				edit_change(out, NET_RULE, "line %u: iface %s "
					    "-> " NET_NIC, l.no, n->name);
			if (convert)
				edit_change(out, NET_RULE, "line %u: %s %s "
					    "static -> %s", l.no, n->name,
					    inet ? "inet" : "inet6",
					    inet ? "dhcp" : "auto");
			continue;
		}
		if (ifaces_other_stanza(s, &w[0])) {
			cur = -1;
			convert = ether = false;
			bool any = false;
			for (unsigned i = 1; old && i < nw; i++)
				if (net_word_is(s, &w[i], old))
					any = true;
			if (!any || (!net_word_is(s, &w[0], "auto") &&
				     !net_prefix(s + w[0].off, "allow-"))) {
				edit_buf_line(&b, &l);
				continue;
			}
			size_t at = 0;
			for (unsigned i = 1; i < nw; i++) {
				if (!net_word_is(s, &w[i], old))
					continue;
				edit_buf_add(&b, s + at, w[i].off - at);
				edit_buf_str(&b, NET_NIC);
				at = w[i].off + w[i].len;
			}
			edit_buf_add(&b, l.p + at, l.len - at + (l.nl ? 1 : 0));
			edit_show(show, sizeof show, s + w[0].off, w[0].len);
			edit_change(out, NET_RULE, "line %u: %s %s -> " NET_NIC,
				    l.no, show, old);
			continue;
		}
		/* an option of the current stanza */
		if (cur >= 0 && ether &&
		    ((convert && ifaces_static_opt(s, &w[0])) ||
		     net_word_is(s, &w[0], "hwaddress"))) {
			edit_buf_comment(&b, &l);
			edit_show(show, sizeof show, s + w[0].off, w[0].len);
			edit_change(out, NET_RULE, "line %u: %s of %s commented "
				    "out", l.no, show, t.v[cur].name);
			continue;
		}
		edit_buf_line(&b, &l);
	}
	free(s);
	free(t.v);
	return edit_finish(out, &b);
}

/* ================= ifcfg-NAME: initscripts and SUSE wicked ========= */

/* KEY=value, optionally after "export"; offsets into the line. */
struct shvar {
	size_t ks, kl;          /* the key */
	size_t vs, ve;          /* the value, quotes included */
	char q;                 /* its quote, or 0 */
	char v[128];            /* the value without quotes (truncated) */
};

static bool sh_parse(const char *s, struct shvar *v)
{
	size_t i = 0, n;

	while (s[i] == ' ' || s[i] == '\t')
		i++;
	if (!strncmp(s + i, "export", 6) && (s[i + 6] == ' ' ||
					     s[i + 6] == '\t')) {
		i += 6;
		while (s[i] == ' ' || s[i] == '\t')
			i++;
	}
	if (!isalpha((unsigned char)s[i]) && s[i] != '_')
		return false;
	v->ks = i;
	while (isalnum((unsigned char)s[i]) || s[i] == '_')
		i++;
	v->kl = i - v->ks;
	if (s[i] != '=')
		return false;
	v->vs = ++i;
	v->q = 0;
	if (s[i] == '\'' || s[i] == '"') {
		const char *e;
		v->q = s[i];
		e = strchr(s + i + 1, v->q);
		while (e && v->q == '"' && e[-1] == '\\')
			e = strchr(e + 1, '"');
		v->ve = e ? (size_t)(e - s) + 1 : strlen(s);
		i++;
		n = (e ? (size_t)(e - s) : v->ve) - i;
	} else {
		while (s[i] && !net_ws(s[i]) && s[i] != '#' && s[i] != ';')
			i++;
		v->ve = i;
		i = v->vs;
		n = v->ve - v->vs;
	}
	if (n >= sizeof v->v)
		n = sizeof v->v - 1;
	memcpy(v->v, s + i, n);
	v->v[n] = '\0';
	return true;
}

static bool sh_key(const char *s, const struct shvar *v, const char *k)
{
	return v->kl == strlen(k) && !memcmp(s + v->ks, k, v->kl);
}

/* KEY, KEY<digits> or KEY_<anything>: IPADDR, IPADDR1, IPADDR_0... */
static bool sh_key_family(const char *s, const struct shvar *v,
			  const char *base)
{
	size_t bl = strlen(base);

	if (v->kl < bl || memcmp(s + v->ks, base, bl))
		return false;
	if (v->kl == bl)
		return true;
	if (s[v->ks + bl] == '_')
		return true;
	for (size_t i = bl; i < v->kl; i++)
		if (!isdigit((unsigned char)s[v->ks + i]))
			return false;
	return true;
}

static bool sh_yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	       !strcmp(v, "1");
}

static bool sh_no(const char *v)
{
	return !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	       !strcmp(v, "0");
}

/* The keys whose line is commented out: addresses of the old network
 * and the MAC address. */
static bool ifcfg_drop(const char *s, const struct shvar *v)
{
	static const char *const fam[] = {
		"IPADDR", "NETMASK", "PREFIX", "PREFIXLEN", "GATEWAY", "DNS",
		"BROADCAST", "NETWORK", "REMOTE_IPADDR", "IPV6ADDR",
		"IPV6ADDR_SECONDARIES", "IPV6_DEFAULTGW", NULL,
	};
	static const char *const mac[] = { "HWADDR", "MACADDR", "LLADDR",
					   NULL };

	for (const char *const *p = fam; *p; p++)
		if (sh_key_family(s, v, *p))
			return true;
	for (const char *const *p = mac; *p; p++)
		if (sh_key(s, v, *p))
			return true;
	/* "no" here would keep DHCP's DNS servers or default route out */
	return (sh_key(s, v, "PEERDNS") || sh_key(s, v, "PEERROUTES") ||
		sh_key(s, v, "DEFROUTE")) && sh_no(v->v);
}

/* The value in the line's quoting style (SUSE's when none). */
static void ifcfg_value(char *dst, size_t size, char q, bool suse,
			const char *v)
{
	if (!q && suse)
		q = '\'';
	if (q)
		snprintf(dst, size, "%c%s%c", q, v, q);
	else
		snprintf(dst, size, "%s", v);
}

int vmie_edit_ifcfg(const char *text, size_t len, bool suse,
		    struct vmie_edit *out, char *new_name)
{
	struct edit_buf b = { 0 };
	struct edit_line l = { 0 };
	size_t pos = 0;
	char *s;
	const char *why = NULL;
	char dev[64] = "", type[32] = "", show[96], val[160];
	bool has_proto = false, has_dev = false, has_onboot = false,
	     has_start = false;

	memset(out, 0, sizeof *out);
	if (new_name)
		new_name[0] = '\0';
	s = malloc(EDIT_MAX_LINE + 1);
	if (!s)
		return VMIE_ENOMEM;

	/* what it configures */
	while (edit_next_line(text, len, &pos, &l)) {
		struct shvar v;
		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1) || !sh_parse(s, &v))
			continue;
		if (sh_key(s, &v, "DEVICE"))
			vmie_strlcpy(dev, v.v, sizeof dev);
		else if (sh_key(s, &v, "TYPE"))
			vmie_strlcpy(type, v.v, sizeof type);
		if ((sh_key(s, &v, "DEVICE") || sh_key(s, &v, "NAME")) &&
		    !strcmp(v.v, "lo"))
			why = "loopback";
		else if (sh_key_family(s, &v, "IPADDR") &&
			 net_prefix(v.v, "127."))
			why = "loopback";
		else if (sh_key(s, &v, "MASTER") || sh_key(s, &v, "TEAM_MASTER")
			 || (sh_key(s, &v, "SLAVE") && sh_yes(v.v)) ||
			 (sh_key(s, &v, "BRIDGE") && v.v[0] && !sh_yes(v.v) &&
			  !sh_no(v.v)))
			why = why ? why : "a port of a bond or bridge";
		else if (sh_key(s, &v, "BONDING_OPTS") ||
			 (sh_key(s, &v, "BONDING_MASTER") && sh_yes(v.v)) ||
			 sh_key_family(s, &v, "BONDING_SLAVE"))
			why = why ? why : "a bond";
		else if ((sh_key(s, &v, "BRIDGE") && sh_yes(v.v)) ||
			 sh_key(s, &v, "BRIDGE_PORTS"))
			why = why ? why : "a bridge";
		else if ((sh_key(s, &v, "VLAN") && sh_yes(v.v)) ||
			 sh_key(s, &v, "ETHERDEVICE") || sh_key(s, &v, "PHYSDEV")
			 || sh_key(s, &v, "VLAN_ID"))
			why = why ? why : "a VLAN";
		else if (sh_key(s, &v, "ESSID") || sh_key(s, &v, "TUNNEL") ||
			 (v.kl > 9 && !memcmp(s + v.ks, "WIRELESS_", 9)))
			why = why ? why : "not ethernet";
	}
	if (!why && type[0] && strcasecmp(type, "Ethernet"))
		why = "not ethernet";
	if (!why && (strchr(dev, ':') || strchr(dev, '.')))
		why = "an alias or VLAN";
	if (why) {
		edit_show(show, sizeof show, dev, strlen(dev));
		edit_note(out, NET_RULE, "ifcfg%s%s: %s%s%s: left unchanged",
			  show[0] ? " " : "", show, why, type[0] ? ", TYPE=" :
			  "", type);
		free(s);
		return 0;
	}
	if (new_name)
		snprintf(new_name, 64, "ifcfg-" NET_NIC);

	pos = 0;
	while (edit_next_line(text, len, &pos, &l)) {
		struct shvar v;
		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1) || !sh_parse(s, &v)) {
			edit_buf_line(&b, &l);
			continue;
		}
		edit_show(show, sizeof show, s + v.ks, v.kl);
		const char *want = NULL;
		if (sh_key(s, &v, "BOOTPROTO")) {
			has_proto = true;
			if (strncasecmp(v.v, "dhcp", 4))
				want = "dhcp";
		} else if (sh_key(s, &v, "DEVICE")) {
			has_dev = true;
			if (strcmp(v.v, NET_NIC))
				want = NET_NIC;
		} else if (!suse && sh_key(s, &v, "NAME")) {
			if (strcmp(v.v, NET_NIC))
				want = NET_NIC;
		} else if (!suse && sh_key(s, &v, "ONBOOT")) {
			has_onboot = true;
			if (!sh_yes(v.v))
				want = "yes";
		} else if (suse && sh_key(s, &v, "STARTMODE")) {
			has_start = true;
			if (strcmp(v.v, "auto"))
				want = "auto";
		} else if (ifcfg_drop(s, &v)) {
			edit_buf_comment(&b, &l);
			edit_change(out, NET_RULE, "line %u: %s commented out",
				    l.no, show);
			continue;
		}
		if (!want) {
			edit_buf_line(&b, &l);
			continue;
		}
		ifcfg_value(val, sizeof val, v.q, false, want);
		net_replace(&b, &l, v.vs, v.ve - v.vs, val);
		char was[96];
		edit_show(was, sizeof was, v.v, strlen(v.v));
		edit_change(out, NET_RULE, "line %u: %s=%s -> %s", l.no, show,
			    was, want);
	}
	const char *add[3];
	unsigned na = 0;
	if (!has_dev && !suse)
		add[na++] = "DEVICE=" NET_NIC;
	if (!has_proto)
		add[na++] = "BOOTPROTO=dhcp";
	if (!has_onboot && !suse)
		add[na++] = "ONBOOT=yes";
	if (!has_start && suse)
		add[na++] = "STARTMODE=auto";
	for (unsigned i = 0; i < na; i++) {
		const char *eq = strchr(add[i], '=');
		char key[32];
		snprintf(key, sizeof key, "%.*s", (int)(eq - add[i]), add[i]);
		ifcfg_value(val, sizeof val, 0, suse, eq + 1);
		edit_buf_endline(&b);
		edit_buf_str(&b, key);
		edit_buf_str(&b, "=");
		edit_buf_str(&b, val);
		edit_buf_str(&b, "\n");
		edit_change(out, NET_RULE, "%s=%s added", key, val);
	}
	free(s);
	return edit_finish(out, &b);
}

/* ================= NetworkManager keyfile ========================= */

enum nm_sect {
	NM_OTHER, NM_CONNECTION, NM_ETHERNET, NM_IPV4, NM_IPV6, NM_MATCH,
};

/* "[name]" -> its kind; false when the line is no section header. */
static bool nm_section(const char *s, enum nm_sect *k)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '[')
		return false;
	const char *e = strchr(s, ']');
	if (!e)
		return false;
	size_t n = (size_t)(e - s - 1);
	s++;
#define SECT(lit) (n == sizeof lit - 1 && !memcmp(s, lit, n))
	*k = SECT("connection") ? NM_CONNECTION :
	     SECT("ethernet") || SECT("802-3-ethernet") ? NM_ETHERNET :
	     SECT("ipv4") ? NM_IPV4 : SECT("ipv6") ? NM_IPV6 :
	     SECT("match") ? NM_MATCH : NM_OTHER;
#undef SECT
	return true;
}

struct nm_kv {
	char key[64];
	size_t vs, ve;          /* the value in the line, spaces trimmed */
	char v[128];
};

static bool nm_kv(const char *s, struct nm_kv *kv)
{
	size_t i = 0, ks, ke;

	while (s[i] == ' ' || s[i] == '\t')
		i++;
	if (!s[i] || s[i] == '#' || s[i] == ';' || s[i] == '[')
		return false;
	ks = i;
	const char *eq = strchr(s + i, '=');
	if (!eq)
		return false;
	ke = (size_t)(eq - s);
	while (ke > ks && net_ws(s[ke - 1]))
		ke--;
	if (ke == ks || ke - ks >= sizeof kv->key)
		return false;
	memcpy(kv->key, s + ks, ke - ks);
	kv->key[ke - ks] = '\0';
	i = (size_t)(eq - s) + 1;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	kv->vs = i;
	kv->ve = strlen(s);
	while (kv->ve > kv->vs && net_ws(s[kv->ve - 1]))
		kv->ve--;
	size_t n = kv->ve - kv->vs;
	if (n >= sizeof kv->v)
		n = sizeof kv->v - 1;
	memcpy(kv->v, s + kv->vs, n);
	kv->v[n] = '\0';
	return true;
}

/* address1, addresses, addresses3... */
static bool nm_key_num(const char *k, const char *base)
{
	size_t bl = strlen(base);

	if (strncmp(k, base, bl))
		return false;
	for (k += bl; *k; k++)
		if (!isdigit((unsigned char)*k))
			return false;
	return true;
}

int vmie_edit_nmconnection(const char *text, size_t len,
			   struct vmie_edit *out)
{
	struct edit_buf b = { 0 };
	struct edit_line l = { 0 };
	size_t pos = 0;
	char *s;
	char type[64] = "", port[64] = "", show[96];
	bool has_ether = false, manual4 = false, manual6 = false;
	enum nm_sect sect = NM_OTHER;

	memset(out, 0, sizeof *out);
	s = malloc(EDIT_MAX_LINE + 1);
	if (!s)
		return VMIE_ENOMEM;
	while (edit_next_line(text, len, &pos, &l)) {
		struct nm_kv kv;
		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1))
			continue;
		if (nm_section(s, &sect)) {
			has_ether |= sect == NM_ETHERNET;
			continue;
		}
		if (!nm_kv(s, &kv))
			continue;
		if (sect == NM_CONNECTION && !strcmp(kv.key, "type"))
			vmie_strlcpy(type, kv.v, sizeof type);
		else if (sect == NM_CONNECTION && (!strcmp(kv.key, "master") ||
			 !strcmp(kv.key, "controller")) && kv.v[0])
			vmie_strlcpy(port, kv.v, sizeof port);
		else if ((sect == NM_IPV4 || sect == NM_IPV6) &&
			 !strcmp(kv.key, "method"))
			*(sect == NM_IPV4 ? &manual4 : &manual6) =
				!strcmp(kv.v, "manual");
	}
	bool ether = !strcmp(type, "ethernet") ||
		     !strcmp(type, "802-3-ethernet") || (!type[0] && has_ether);
	if (!ether || port[0]) {
		edit_show(show, sizeof show, port[0] ? port : type,
			  strlen(port[0] ? port : type));
		edit_note(out, NET_RULE, "keyfile: %s %s: left unchanged",
			  port[0] ? "a port of" : "a connection of type",
			  show[0] ? show : "(none)");
		free(s);
		return 0;
	}

	pos = 0;
	sect = NM_OTHER;
	while (edit_next_line(text, len, &pos, &l)) {
		struct nm_kv kv;
		if (!edit_line_str(&l, s, EDIT_MAX_LINE + 1)) {
			edit_buf_line(&b, &l);
			continue;
		}
		if (nm_section(s, &sect) || !nm_kv(s, &kv)) {
			edit_buf_line(&b, &l);
			continue;
		}
		const char *k = kv.key, *want = NULL;
		bool drop = false, conv = sect == NM_IPV4 ? manual4 : manual6;
		switch (sect) {
		case NM_CONNECTION:
			drop = !strcmp(k, "interface-name");
			if (!strcmp(k, "autoconnect") && (sh_no(kv.v)))
				want = "true";
			break;
		case NM_ETHERNET:
			drop = !strcmp(k, "mac-address") ||
			       !strcmp(k, "cloned-mac-address") ||
			       !strcmp(k, "assigned-mac-address");
			break;
		case NM_MATCH:
			drop = !strcmp(k, "interface-name") ||
			       !strcmp(k, "driver") || !strcmp(k, "path");
			break;
		case NM_IPV4:
		case NM_IPV6:
			if (!strcmp(k, "method") && !strcmp(kv.v, "manual"))
				want = "auto";
			drop = nm_key_num(k, "address") ||
			       nm_key_num(k, "addresses") ||
			       !strcmp(k, "gateway") ||
			       (conv && (!strcmp(k, "dns") ||
					 ((!strcmp(k, "ignore-auto-dns") ||
					   !strcmp(k, "ignore-auto-routes") ||
					   !strcmp(k, "never-default")) &&
					  sh_yes(kv.v))));
			break;
		case NM_OTHER:
			break;
		}
		edit_show(show, sizeof show, k, strlen(k));
		if (drop) {
			edit_buf_comment(&b, &l);
			edit_change(out, NET_RULE, "line %u: %s commented out",
				    l.no, show);
		} else if (want) {
			char was[96];
			edit_show(was, sizeof was, kv.v, strlen(kv.v));
			net_replace(&b, &l, kv.vs, kv.ve - kv.vs, want);
			edit_change(out, NET_RULE, "line %u: %s=%s -> %s", l.no,
				    show, was, want);
		} else {
			edit_buf_line(&b, &l);
		}
	}
	free(s);
	return edit_finish(out, &b);
}

/* ================= netplan (YAML) ================================= */

/* Limits on what is loaded: core/yaml.h; netplan files are a few dozen
 * nodes. */
#define NP_MAX_MEMBERS  256

static bool np_nonempty(yaml_node_t *n)
{
	if (!n)
		return false;
	if (n->type == YAML_SEQUENCE_NODE)
		return n->data.sequence.items.top > n->data.sequence.items.start;
	if (n->type == YAML_SCALAR_NODE)
		return n->data.scalar.length && strcmp(vmie_yaml_str(n), "~") &&
		       strcmp(vmie_yaml_str(n), "null");
	return n->type == YAML_MAPPING_NODE &&
	       n->data.mapping.pairs.top > n->data.mapping.pairs.start;
}

/* A netplan id usable as a key in the document we write. */
static bool np_plain_id(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-@", s[i]))
			return false;
	return isalpha((unsigned char)s[0]);
}

/* Already DHCP on whatever NIC the target has: dhcp4 true, no static
 * address, no set-name, matched by nothing but a name glob that eth0
 * matches (or named eth0 and no match). */
static bool np_any_dhcp(struct vmie_yaml_walk *w, const char *name,
			yaml_node_t *e)
{
	yaml_node_t *m = vmie_yaml_get(w, e, "match");

	if (!vmie_yaml_true(vmie_yaml_str(vmie_yaml_get(w, e, "dhcp4"))) ||
	    np_nonempty(vmie_yaml_get(w, e, "addresses")) ||
	    vmie_yaml_get(w, e, "set-name"))
		return false;
	if (!m)
		return !strcmp(name, NET_NIC);
	bool ok = false;
	VMIE_YAML_PAIRS(w, m, pr) {
		const char *k = vmie_yaml_str(vmie_yaml_node(w, pr->key));
		const char *v = vmie_yaml_str(vmie_yaml_node(w, pr->value));
		if (!k || strcmp(k, "name") || !v ||
		    fnmatch(v, NET_NIC, 0))
			return false;
		ok = true;
	}
	return ok;
}

static bool np_member(const char *const *mem, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(mem[i], name))
			return true;
	return false;
}

/* Length of the UTF-8 sequence at s[0..n) when it is one character that
 * YAML allows in a comment (not a control or a line break: NEL, LS, PS),
 * else 0. */
static size_t np_utf8_ok(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t k;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (n < k)
		return 0;
	c = s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	if (c < 0xa0 || (c >= 0xd800 && c < 0xe000) || c == 0x2028 ||
	    c == 0x2029 || c == 0xfffe || c == 0xffff)
		return 0;
	return k;
}

/* The line commented out, as one YAML comment: bytes that YAML refuses
 * or reads as a line break become '?' (a '\r' before the '\n' stays).
 * Returns how many bytes were replaced. */
static unsigned np_comment(struct edit_buf *b, const struct edit_line *l)
{
	const unsigned char *s = (const unsigned char *)l->p;
	size_t n = l->len, i = 0, run = 0;
	unsigned bad = 0;

	if (n && s[n - 1] == '\r')
		n--;
	edit_buf_str(b, EDIT_MARK);
	while (i < n) {
		size_t k = s[i] == '\t' || (s[i] >= 0x20 && s[i] < 0x7f) ? 1 :
			   np_utf8_ok(s + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		edit_buf_add(b, s + run, i - run);
		edit_buf_add(b, "?", 1);
		bad++;
		run = ++i;
	}
	edit_buf_add(b, s + run, l->len - run);
	edit_buf_add(b, "\n", 1);
	return bad;
}

int vmie_edit_netplan(const char *text, size_t len, struct vmie_edit *out)
{
	static const char *const virt[] = {
		"bonds", "bridges", "vlans", "wifis", "tunnels", "vrfs",
		"modems", "dummy-devices", "virtual-ethernets", NULL,
	};
	yaml_document_t doc;
	struct vmie_yaml_walk w = { &doc, VMIE_YAML_MAX_VISITS };
	struct edit_buf b = { 0 };
	struct edit_line l = { 0 };
	const char *mem[NP_MAX_MEMBERS], *first = NULL, *renderer = NULL;
	unsigned nmem = 0;
	bool change = false, dhcp6 = false;
	char show[96];
	int rc;

	memset(out, 0, sizeof *out);
	rc = vmie_yaml_load(text, len, &doc);
	if (rc < 0)
		return rc;
	if (rc == 2)
		return 0;
	if (rc) {
		edit_note(out, NET_RULE, "netplan: not YAML that vmie reads "
			  "(or over its limits): left unchanged");
		return 0;
	}
	yaml_node_t *net = vmie_yaml_get(&w, yaml_document_get_root_node(&doc),
				  "network");
	yaml_node_t *eths = vmie_yaml_get(&w, net, "ethernets");
	renderer = vmie_yaml_str(vmie_yaml_get(&w, net, "renderer"));

	/* ports of bonds and bridges, links of VLANs: not the NIC */
	VMIE_YAML_PAIRS(&w, net, pr) {
		const char *k = vmie_yaml_str(vmie_yaml_node(&w, pr->key));
		yaml_node_t *v = vmie_yaml_node(&w, pr->value);
		if (!k || !edit_word_in(k, virt) || !np_nonempty(v))
			continue;
		VMIE_YAML_PAIRS(&w, v, dev) {
			yaml_node_t *d = vmie_yaml_node(&w, dev->value);
			const char *link = vmie_yaml_str(vmie_yaml_get(&w, d, "link"));
			if (link && nmem < NP_MAX_MEMBERS)
				mem[nmem++] = link;
			yaml_node_t *ports = vmie_yaml_get(&w, d, "interfaces");
			VMIE_YAML_ITEMS(&w, ports, it) {
				const char *p = vmie_yaml_str(vmie_yaml_node(&w, *it));
				if (p && nmem < NP_MAX_MEMBERS)
					mem[nmem++] = p;
			}
		}
	}
	VMIE_YAML_PAIRS(&w, eths, pr) {
		const char *name = vmie_yaml_str(vmie_yaml_node(&w, pr->key));
		yaml_node_t *e = vmie_yaml_node(&w, pr->value);
		if (!name || np_member(mem, nmem, name))
			continue;
		if (!first)
			first = name;
		dhcp6 |= vmie_yaml_true(vmie_yaml_str(vmie_yaml_get(&w, e, "dhcp6")));
		if (np_any_dhcp(&w, name, e))
			continue;
		change = true;
		edit_show(show, sizeof show, name, strlen(name));
		yaml_node_t *a = vmie_yaml_get(&w, e, "addresses");
		const char *a0 = NULL;
		VMIE_YAML_ITEMS(&w, a, it) {
			yaml_node_t *n = vmie_yaml_node(&w, *it);
			a0 = vmie_yaml_str(n);
			if (!a0 && n && n->type == YAML_MAPPING_NODE &&
			    n->data.mapping.pairs.top > n->data.mapping.pairs.start)
				a0 = vmie_yaml_str(vmie_yaml_node(&w,
					n->data.mapping.pairs.start->key));
			break;
		}
		char addr[64];
		edit_show(addr, sizeof addr, a0 ? a0 : "", a0 ? strlen(a0) : 0);
		edit_change(out, NET_RULE, "netplan: ethernet %s%s%s -> DHCP "
			    "on any NIC (" NET_NIC ")", show,
			    a0 ? ", static " : "", addr);
	}
	VMIE_YAML_PAIRS(&w, net, pr) {
		const char *k = vmie_yaml_str(vmie_yaml_node(&w, pr->key));
		if (k && edit_word_in(k, virt) &&
		    np_nonempty(vmie_yaml_node(&w, pr->value)))
			edit_note(out, NET_RULE, "netplan: %s %s", k, change ?
				  "left out of the new configuration" :
				  "left unchanged");
	}
	if (!w.visits) {
		/* aliases made it bigger than it looks: leave it */
		yaml_document_delete(&doc);
		memset(out, 0, sizeof *out);
		edit_note(out, NET_RULE, "netplan: over vmie's limits: left "
			  "unchanged");
		return 0;
	}
	if (change) {
		edit_buf_str(&b, EDIT_MARK "replaced by DHCP on any NIC ("
			     NET_RULE "); the original follows, commented "
			     "out\nnetwork:\n  version: 2\n");
		if (renderer && np_plain_id(renderer)) {
			edit_buf_str(&b, "  renderer: ");
			edit_buf_str(&b, renderer);
			edit_buf_str(&b, "\n");
		}
		edit_buf_str(&b, "  ethernets:\n    ");
		edit_buf_str(&b, first && np_plain_id(first) ? first : NET_NIC);
		edit_buf_str(&b, ":\n      match:\n        name: \"e*\"\n"
			     "      dhcp4: true\n");
		if (dhcp6)
			edit_buf_str(&b, "      dhcp6: true\n");
		size_t pos = 0;
		unsigned bad = 0;
		while (edit_next_line(text, len, &pos, &l))
			bad += np_comment(&b, &l);
		if (bad)
			edit_note(out, NET_RULE, "netplan: %u byte(s) of the "
				  "original that YAML does not allow in a "
				  "comment shown as '?'", bad);
	}
	yaml_document_delete(&doc);
	return edit_finish(out, &b);
}
