/*
 * Windows guest inspection through the registry (hivex): product, edition,
 * installation type, version and build, service pack, architecture,
 * languages, control set, time, paging files, RDP and its firewall rule,
 * autologon, VMware Tools, pending reboot, .NET, computer name; EMS from
 * the BCD store; boot files (bootmgr on the active partition, bootmgfw.efi
 * on the ESP).
 *
 * Keys read (HKLM\SOFTWARE = the SOFTWARE hive, HKLM\SYSTEM = SYSTEM):
 *   SOFTWARE\Microsoft\Windows NT\CurrentVersion: ProductName, EditionID,
 *     InstallationType, CurrentVersion, CurrentMajorVersionNumber,
 *     CurrentMinorVersionNumber, CurrentBuildNumber, CSDVersion, SystemRoot
 *   SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon: AutoAdminLogon
 *   SOFTWARE\VMware, Inc.\VMware Tools
 *   SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\
 *     RebootPending; ...\WindowsUpdate\Auto Update\RebootRequired
 *   SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full: Release
 *   SYSTEM\Select: Current
 *   SYSTEM\ControlSetNNN\Control\: Session Manager\Environment
 *     (PROCESSOR_ARCHITECTURE), Session Manager (PendingFileRename-
 *     Operations), Session Manager\Memory Management (PagingFiles),
 *     Nls\Language (InstallLanguage, Default), MUI\UILanguages,
 *     TimeZoneInformation (RealTimeIsUniversal), Terminal Server
 *     (fDenyTSConnections), ComputerName\ComputerName (ComputerName)
 *   SYSTEM\ControlSetNNN\Services\SharedAccess\Parameters\FirewallPolicy\
 *     FirewallRules (values "v2.x|Action=Allow|Active=TRUE|Dir=In|
 *     Protocol=6|LPort=3389|...")
 *   BCD: Objects\{id}\Elements\16000020 (bootems, BcdLibraryBoolean_
 *     EmsEnabled) and 260000b0 (ems, BcdOSLoaderBoolean_EmsEnabled).
 *
 * hivex opens files by path only.  A hive is copied from the guest into an
 * anonymous memory file (memfd_create) and opened as /proc/self/fd/N;
 * where that is impossible the hive is reported unreadable: vmie never
 * writes guest data to a host file (no temporary files).
 */
#include "inspect/insp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/budget.h"
#include "core/checked.h"
#include "core/util.h"
#include "fs/fs.h"
#include "part/part.h"

#define WIN_MAX_HIVE ((uint64_t)512 << 20)

bool vmie_insp_is_windows_root(struct vmie_fs *fs, char *sysroot,
			       size_t size)
{
	static const char *const roots[] = { "/Windows", "/WINNT" };
	char p[128];

	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		vmie_insp_fmt(p, sizeof p, "%s/System32/config/SYSTEM", roots[i]);
		if (!vmie_fs_exists(fs, p))
			continue;
		vmie_insp_fmt(p, sizeof p, "%s/System32/config/SOFTWARE", roots[i]);
		if (!vmie_fs_exists(fs, p))
			continue;
		vmie_strlcpy(sysroot, roots[i], size);
		return true;
	}
	return false;
}

/* Copy a guest file into fd. */
static int win_copy(struct vmie_fs *fs, const char *path, int fd,
		    char *why, size_t wsize)
{
	struct vmie_err e = { 0 };
	struct vmie_stat st;
	vmie_ino_t ino;
	uint8_t *buf;
	uint64_t off = 0;
	int rc = 0;

	if (vmie_fs_resolve(fs, path, true, &ino, &e) ||
	    fs->drv->stat(fs, ino, &st, &e)) {
		vmie_insp_fmt(why, wsize, "%s", e.msg);
		return -1;
	}
	if (st.size > WIN_MAX_HIVE || st.size < 4096) {
		vmie_insp_fmt(why, wsize, "%s: size %llu out of range", path,
			 (unsigned long long)st.size);
		return -1;
	}
	buf = malloc(1 << 20);
	if (!buf)
		return -1;
	while (off < st.size) {
		size_t want = (size_t)vmie_min_u64(1 << 20, st.size - off), got = 0;
		if (fs->drv->read(fs, ino, buf, want, off, &got, &e) || !got) {
			vmie_insp_fmt(why, wsize, "%s: read failed at %llu: %s", path,
				 (unsigned long long)off, e.msg);
			rc = -1;
			break;
		}
		for (size_t w = 0; w < got;) {
			ssize_t n = write(fd, buf + w, got - w);
			if (n <= 0) {
				vmie_insp_fmt(why, wsize, "copy of %s: %s", path,
					 strerror(errno));
				rc = -1;
				goto out;
			}
			w += (size_t)n;
		}
		off += got;
	}
out:
	free(buf);
	return rc;
}

/* Open a hive of the guest: copied into an anonymous memory file that
 * hivex opens as /proc/self/fd/N.  Nothing of the guest is ever written to
 * the host's file systems: without memfd or /proc the hive is unreadable,
 * and says why.  The copy is charged to the image's metadata memory
 * budget while the hive is open (*charged, released by win_close_hive). */
static hive_h *win_open_hive(struct vmie_fs *fs, const char *path,
			     char *why, size_t wsize, uint64_t *charged)
{
	struct vmie_budget *b = fs->dev ? fs->dev->budget : NULL;
	struct vmie_err e = { 0 };
	struct vmie_stat st;
	char p[64];
	hive_h *h = NULL;
	int fd;

	why[0] = '\0';
	*charged = 0;
	if (vmie_fs_stat(fs, path, &st, &e)) {
		vmie_insp_fmt(why, wsize, "%s", e.msg);
		return NULL;
	}
	if (st.size <= WIN_MAX_HIVE && st.size >= 4096) {
		if (vmie_budget_alloc(b, st.size, path, &e)) {
			vmie_insp_fmt(why, wsize, "%s", e.msg);
			return NULL;
		}
		*charged = st.size;
	}
	fd = memfd_create("vmie-hive", MFD_CLOEXEC);
	if (fd < 0) {
		vmie_insp_fmt(why, wsize, "%s: cannot hold the hive in memory "
			      "(memfd_create: %s); vmie writes no guest data "
			      "to host files", path, strerror(errno));
		goto fail;
	}
	if (!win_copy(fs, path, fd, why, wsize)) {
		vmie_insp_fmt(p, sizeof p, "/proc/self/fd/%d", fd);
		errno = 0;
		h = hivex_open(p, 0);
		if (!h) {
			int en = errno;
			struct stat pst;
			if (stat(p, &pst))
				vmie_insp_fmt(why, wsize, "%s: cannot open the "
					"in-memory copy (%s: %s); vmie writes "
					"no guest data to host files", path, p,
					strerror(errno));
			else
				vmie_insp_fmt(why, wsize, "%s: not a valid "
					"registry hive (%s)", path,
					en ? strerror(en) : "rejected by hivex");
		}
	}
	close(fd);
	if (h)
		return h;
fail:
	if (!why[0])
		vmie_insp_fmt(why, wsize, "%s: not a valid registry hive", path);
	vmie_budget_release(b, *charged);
	*charged = 0;
	return NULL;
}

static void win_close_hive(struct vmie_fs *fs, hive_h *h, uint64_t charged)
{
	hivex_close(h);
	vmie_budget_release(fs->dev ? fs->dev->budget : NULL, charged);
}

/* Walk a backslash-separated key path from node; 0 if absent. */
static hive_node_h win_key(hive_h *h, hive_node_h node, const char *path)
{
	char comp[256];

	while (node && *path) {
		size_t l = strcspn(path, "\\");
		if (l >= sizeof comp)
			return 0;
		memcpy(comp, path, l);
		comp[l] = '\0';
		path += l;
		if (*path == '\\')
			path++;
		if (!l)
			continue;
		node = hivex_node_get_child(h, node, comp);
	}
	return node;
}

static bool win_str(hive_h *h, hive_node_h node, const char *name, char *out,
		    size_t size)
{
	hive_value_h v;
	hive_type t;
	size_t len;
	char *s;

	out[0] = '\0';
	if (!node || !(v = hivex_node_get_value(h, node, name)))
		return false;
	if (hivex_value_type(h, v, &t, &len) ||
	    (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ))
		return false;
	s = hivex_value_string(h, v);
	if (!s)
		return false;
	vmie_strlcpy(out, s, size);
	free(s);
	return true;
}

static bool win_dword(hive_h *h, hive_node_h node, const char *name,
		      uint32_t *out)
{
	hive_value_h v;
	hive_type t;
	size_t len;

	if (!node || !(v = hivex_node_get_value(h, node, name)))
		return false;
	if (hivex_value_type(h, v, &t, &len))
		return false;
	if (t == hive_t_REG_DWORD || t == hive_t_REG_DWORD_BIG_ENDIAN) {
		*out = (uint32_t)hivex_value_dword(h, v);
		return true;
	}
	if (t == hive_t_REG_SZ) {   /* some tools write numbers as text */
		char b[32];
		if (!win_str(h, node, name, b, sizeof b) || !b[0])
			return false;
		*out = (uint32_t)strtoul(b, NULL, 0);
		return true;
	}
	return false;
}

/* REG_MULTI_SZ joined with sep. */
static bool win_multi(hive_h *h, hive_node_h node, const char *name,
		      const char *sep, char *out, size_t size)
{
	hive_value_h v;
	char **ss;

	out[0] = '\0';
	if (!node || !(v = hivex_node_get_value(h, node, name)))
		return false;
	ss = hivex_value_multiple_strings(h, v);
	if (!ss)
		return false;
	for (size_t i = 0; ss[i]; i++) {
		size_t l = strlen(out);
		if (i && l + strlen(sep) < size)
			strcat(out, sep);
		l = strlen(out);
		vmie_strlcpy(out + l, ss[i], size - l);
		free(ss[i]);
	}
	free(ss);
	return true;
}

static void win_lang(const char *hex, char *out, size_t size)
{
	unsigned long lcid = strtoul(hex, NULL, 16);
	const char *n = vmie_insp_lcid_name((unsigned)lcid);

	if (n)
		vmie_strlcpy(out, n, size);
	else
		vmie_insp_fmt(out, size, "lcid-%04lx", lcid);
}

static void win_software(hive_h *h, struct vmie_insp_os *os)
{
	static const char cv_path[] = "Microsoft\\Windows NT\\CurrentVersion";
	static const char where[] =
		"HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
	hive_node_h root = hivex_root(h), cv, n;
	char b[160];
	uint32_t maj, min, d;

	cv = win_key(h, root, cv_path);
	if (!cv)
		return;
	if (win_str(h, cv, "ProductName", os->product_name,
		    sizeof os->product_name))
		vmie_insp_evidence(os, "product", where, "ProductName=%s",
				   os->product_name);
	if (win_str(h, cv, "EditionID", os->edition, sizeof os->edition))
		vmie_insp_evidence(os, "edition", where, "EditionID=%s",
				   os->edition);
	if (win_str(h, cv, "InstallationType", os->installation_type,
		    sizeof os->installation_type))
		vmie_insp_evidence(os, "installation_type", where,
				   "InstallationType=%s",
				   os->installation_type);
	else
		vmie_strlcpy(os->installation_type,
			     strstr(os->product_name, "Server") ? "Server" :
			     "Client", sizeof os->installation_type);
	if (win_dword(h, cv, "CurrentMajorVersionNumber", &maj) &&
	    win_dword(h, cv, "CurrentMinorVersionNumber", &min)) {
		vmie_insp_fmt(os->version, sizeof os->version, "%u.%u", maj, min);
		vmie_insp_evidence(os, "version", where,
				   "CurrentMajorVersionNumber=%u, "
				   "CurrentMinorVersionNumber=%u", maj, min);
	} else if (win_str(h, cv, "CurrentVersion", os->version,
			   sizeof os->version)) {
		vmie_insp_evidence(os, "version", where, "CurrentVersion=%s",
				   os->version);
	}
	vmie_insp_split_version(os->version, &os->major, &os->minor);
	if (win_str(h, cv, "CurrentBuildNumber", b, sizeof b) ||
	    win_str(h, cv, "CurrentBuild", b, sizeof b)) {
		os->build = (unsigned)strtoul(b, NULL, 10);
		vmie_insp_evidence(os, "build", where, "CurrentBuildNumber=%s",
				   b);
	}
	if (win_str(h, cv, "CSDVersion", os->service_pack,
		    sizeof os->service_pack))
		vmie_insp_evidence(os, "service_pack", where, "CSDVersion=%s",
				   os->service_pack);
	win_str(h, cv, "SystemRoot", os->systemroot, sizeof os->systemroot);
	/* Windows 11 still calls itself "Windows 10" in ProductName */
	if (os->build >= 22000 && !strncmp(os->product_name, "Windows 10", 10)) {
		char fixed[160];
		vmie_insp_fmt(fixed, sizeof fixed, "Windows 11%s",
			 os->product_name + 10);
		vmie_strlcpy(os->product_name, fixed, sizeof os->product_name);
		vmie_insp_evidence(os, "product", where, "build %u >= 22000: "
				   "Windows 11", os->build);
	}

	n = win_key(h, cv, "Winlogon");
	os->autologon = win_str(h, n, "AutoAdminLogon", b, sizeof b) &&
			!strcmp(b, "1");
	vmie_insp_evidence(os, "autologon", "HKLM\\SOFTWARE\\Microsoft\\"
			   "Windows NT\\CurrentVersion\\Winlogon",
			   "AutoAdminLogon=%s", b[0] ? b : "(unset)");

	n = win_key(h, root, "VMware, Inc.\\VMware Tools");
	os->vmware_tools = n != 0;
	if (n)
		vmie_insp_evidence(os, "vmware_tools", "HKLM\\SOFTWARE\\VMware, "
				   "Inc.\\VMware Tools", "present");

	os->pending_reboot = 0;
	if (win_key(h, root, "Microsoft\\Windows\\CurrentVersion\\Component "
		    "Based Servicing\\RebootPending")) {
		os->pending_reboot = 1;
		vmie_insp_evidence(os, "pending_reboot", "HKLM\\SOFTWARE\\"
				   "Microsoft\\Windows\\CurrentVersion\\"
				   "Component Based Servicing\\RebootPending",
				   "present");
	}
	if (win_key(h, root, "Microsoft\\Windows\\CurrentVersion\\"
		    "WindowsUpdate\\Auto Update\\RebootRequired")) {
		os->pending_reboot = 1;
		vmie_insp_evidence(os, "pending_reboot", "HKLM\\SOFTWARE\\"
				   "Microsoft\\Windows\\CurrentVersion\\"
				   "WindowsUpdate\\Auto Update\\RebootRequired",
				   "present");
	}

	n = win_key(h, root, "Microsoft\\NET Framework Setup\\NDP\\v4\\Full");
	if (win_dword(h, n, "Release", &d) && vmie_insp_dotnet_release(d)) {
		vmie_strlcpy(os->dotnet_version, vmie_insp_dotnet_release(d),
			     sizeof os->dotnet_version);
		vmie_insp_evidence(os, "dotnet", "HKLM\\SOFTWARE\\Microsoft\\"
				   "NET Framework Setup\\NDP\\v4\\Full",
				   "Release=%u", d);
	} else {
		static const struct { const char *k, *v; } old[] = {
			{ "Microsoft\\NET Framework Setup\\NDP\\v4\\Full", "4.0" },
			{ "Microsoft\\NET Framework Setup\\NDP\\v3.5", "3.5" },
			{ "Microsoft\\NET Framework Setup\\NDP\\v3.0", "3.0" },
			{ "Microsoft\\NET Framework Setup\\NDP\\v2.0.50727",
			  "2.0" },
		};
		for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
			n = win_key(h, root, old[i].k);
			if (win_dword(h, n, "Install", &d) && d == 1) {
				vmie_strlcpy(os->dotnet_version, old[i].v,
					     sizeof os->dotnet_version);
				vmie_insp_evidence(os, "dotnet", old[i].k,
						   "Install=1");
				break;
			}
		}
	}
}

struct win_fw {
	hive_h *h;
	char rule[160];
};

static void win_system(hive_h *h, const char *sysroot_path,
		       struct vmie_fs *fs, struct vmie_insp_os *os)
{
	hive_node_h root = hivex_root(h), cs, ctl, n;
	char path[64], where[160], b[256];
	uint32_t cur = 1, d;

	if (win_dword(h, win_key(h, root, "Select"), "Current", &cur)) {
		os->current_control_set = (int)cur;
		vmie_insp_evidence(os, "control_set", "HKLM\\SYSTEM\\Select",
				   "Current=%u", cur);
	}
	vmie_insp_fmt(path, sizeof path, "ControlSet%03u", cur);
	cs = win_key(h, root, path);
	if (!cs)
		return;
	ctl = win_key(h, cs, "Control");

	n = win_key(h, ctl, "Session Manager\\Environment");
	if (win_str(h, n, "PROCESSOR_ARCHITECTURE", b, sizeof b)) {
		const char *a = !strcasecmp(b, "AMD64") ? "x86_64" :
				!strcasecmp(b, "x86") ? "i386" :
				!strcasecmp(b, "ARM64") ? "aarch64" :
				!strcasecmp(b, "IA64") ? "ia64" : b;
		vmie_strlcpy(os->arch, a, sizeof os->arch);
		vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control\\"
			 "Session Manager\\Environment", path);
		vmie_insp_evidence(os, "arch", where,
				   "PROCESSOR_ARCHITECTURE=%s", b);
	}
	if (!os->arch[0]) {
		uint8_t hdr[4096];
		size_t got = 0;
		char k[128];
		struct vmie_err e = { 0 };
		vmie_insp_fmt(k, sizeof k, "%s/System32/ntoskrnl.exe", sysroot_path);
		if (!vmie_fs_pread(fs, k, hdr, sizeof hdr, 0, &got, &e) &&
		    !vmie_insp_pe_arch(hdr, got, os->arch, sizeof os->arch))
			vmie_insp_evidence(os, "arch", k, "PE machine: %s",
					   os->arch);
	}

	n = win_key(h, ctl, "Nls\\Language");
	vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control\\Nls\\"
		 "Language", path);
	if (win_str(h, n, "InstallLanguage", b, sizeof b) && b[0]) {
		win_lang(b, os->install_language, sizeof os->install_language);
		vmie_insp_evidence(os, "language", where, "InstallLanguage=%s "
				   "(%s)", b, os->install_language);
	}
	if (win_str(h, n, "Default", b, sizeof b) && b[0]) {
		win_lang(b, os->default_language, sizeof os->default_language);
		vmie_insp_evidence(os, "default_language", where,
				   "Default=%s (%s)", b, os->default_language);
	}
	n = win_key(h, ctl, "MUI\\UILanguages");
	if (n) {
		hive_node_h *kids = hivex_node_children(h, n);
		for (size_t i = 0; kids && kids[i]; i++) {
			char *nm = hivex_node_name(h, kids[i]);
			if (nm) {
				vmie_insp_list_add(os->language_packs,
					sizeof os->language_packs, nm);
				free(nm);
			}
		}
		free(kids);
		if (os->language_packs[0]) {
			vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control"
				 "\\MUI\\UILanguages", path);
			vmie_insp_evidence(os, "language_packs", where, "%s",
					   os->language_packs);
		}
	}

	n = win_key(h, ctl, "SystemInformation");
	bool has_mfr = win_str(h, n, "SystemManufacturer",
			       os->system_manufacturer,
			       sizeof os->system_manufacturer);
	bool has_prod = win_str(h, n, "SystemProductName", os->system_product,
				sizeof os->system_product);
	if (has_mfr || has_prod) {
		vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control"
			 "\\SystemInformation", path);
		vmie_insp_evidence(os, "system_manufacturer", where,
				   "SystemManufacturer=%s SystemProductName=%s",
				   os->system_manufacturer, os->system_product);
	}

	n = win_key(h, ctl, "TimeZoneInformation");
	os->realtime_is_universal = win_dword(h, n, "RealTimeIsUniversal", &d) &&
				    d == 1;
	vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control\\"
		 "TimeZoneInformation", path);
	vmie_insp_evidence(os, "realtime_is_universal", where,
			   "RealTimeIsUniversal=%s",
			   os->realtime_is_universal ? "1" : "(unset or 0)");

	n = win_key(h, ctl, "Session Manager\\Memory Management");
	{
		char joined[512];
		win_multi(h, n, "PagingFiles", "\n", joined, sizeof joined);
		os->paging_auto = vmie_insp_paging_auto(joined);
		win_multi(h, n, "PagingFiles", "; ", os->paging_files,
			  sizeof os->paging_files);
		vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control\\"
			 "Session Manager\\Memory Management", path);
		vmie_insp_evidence(os, "paging_files", where, "PagingFiles=%s",
				   os->paging_files[0] ? os->paging_files :
				   "(empty)");
	}
	n = win_key(h, ctl, "Session Manager");
	{
		char pf[256];
		if (win_multi(h, n, "PendingFileRenameOperations", ";", pf,
			      sizeof pf) && pf[0]) {
			os->pending_reboot = 1;
			vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control"
				 "\\Session Manager", path);
			vmie_insp_evidence(os, "pending_reboot", where,
					   "PendingFileRenameOperations set");
		}
	}

	n = win_key(h, ctl, "Terminal Server");
	if (win_dword(h, n, "fDenyTSConnections", &d)) {
		os->rdp_enabled = d == 0;
		vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control\\"
			 "Terminal Server", path);
		vmie_insp_evidence(os, "rdp", where, "fDenyTSConnections=%u", d);
	}
	n = win_key(h, cs, "Services\\SharedAccess\\Parameters\\"
		    "FirewallPolicy\\FirewallRules");
	if (n) {
		hive_value_h *vals = hivex_node_values(h, n);
		os->rdp_firewall = 0;
		for (size_t i = 0; vals && vals[i] && os->rdp_firewall != 1;
		     i++) {
			hive_type t;
			size_t len;
			if (hivex_value_type(h, vals[i], &t, &len) ||
			    t != hive_t_REG_SZ)
				continue;
			char *s = hivex_value_string(h, vals[i]);
			if (!s)
				continue;
			if (strstr(s, "|LPort=3389|") &&
			    strstr(s, "|Action=Allow|") &&
			    strstr(s, "|Active=TRUE|") && strstr(s, "|Dir=In|")) {
				char *k = hivex_value_key(h, vals[i]);
				os->rdp_firewall = 1;
				vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\"
					 "Services\\SharedAccess\\Parameters\\"
					 "FirewallPolicy\\FirewallRules", path);
				vmie_insp_evidence(os, "rdp_firewall", where,
						   "%s", k ? k : "LPort=3389");
				free(k);
			}
			free(s);
		}
		free(vals);
	}
	n = win_key(h, cs, "Services\\SharedAccess\\Parameters\\"
		    "FirewallPolicy\\StandardProfile\\GloballyOpenPorts\\List");
	if (n && os->rdp_firewall != 1) {
		/* Windows 2003: "3389:TCP" = "3389:TCP:*:Enabled:..." */
		if (win_str(h, n, "3389:TCP", b, sizeof b) &&
		    strstr(b, ":Enabled:")) {
			os->rdp_firewall = 1;
			vmie_insp_evidence(os, "rdp_firewall", "GloballyOpenPorts"
					   "\\List", "3389:TCP=%s", b);
		} else if (os->rdp_firewall < 0) {
			os->rdp_firewall = 0;
		}
	}

	n = win_key(h, ctl, "ComputerName\\ComputerName");
	if (win_str(h, n, "ComputerName", os->hostname, sizeof os->hostname)) {
		vmie_insp_fmt(where, sizeof where, "HKLM\\SYSTEM\\%s\\Control\\"
			 "ComputerName\\ComputerName", path);
		vmie_insp_evidence(os, "hostname", where, "ComputerName=%s",
				   os->hostname);
	}
}

/* EMS in a BCD store: any object with bootems or ems set. */
static void win_bcd(hive_h *h, const char *where, struct vmie_insp_os *os)
{
	hive_node_h objs = win_key(h, hivex_root(h), "Objects");
	hive_node_h *kids;

	if (!objs)
		return;
	os->ems_enabled = 0;
	kids = hivex_node_children(h, objs);
	for (size_t i = 0; kids && kids[i]; i++) {
		static const char *const els[] = { "16000020", "260000b0" };
		for (size_t k = 0; k < 2; k++) {
			char p[64];
			vmie_insp_fmt(p, sizeof p, "Elements\\%s", els[k]);
			hive_node_h el = win_key(h, kids[i], p);
			hive_value_h v = el ? hivex_node_get_value(h, el,
								   "Element") : 0;
			hive_type t;
			size_t len;
			char *data;
			if (!v)
				continue;
			data = hivex_value_value(h, v, &t, &len);
			if (data && len >= 1 && data[0]) {
				os->ems_enabled = 1;
				vmie_insp_evidence(os, "ems", where,
						   "element %s = 1", els[k]);
			}
			free(data);
		}
	}
	free(kids);
	if (!os->ems_enabled)
		vmie_insp_evidence(os, "ems", where, "not enabled");
}

/* The active partition on a disk, as an fs index, or -1. */
static int win_active(struct insp_ctx *c, int disk)
{
	for (unsigned i = 0; i < c->in->n_fs; i++) {
		const struct vmie_partition *p = insp_part(c, i);
		if (p && c->in->fs[i].disk == disk && p->bootable &&
		    insp_fs(c, i))
			return (int)i;
	}
	return -1;
}

/* GPT: does the Windows volume hold what a BIOS boot needs once the disk
 * is MBR?  bcdboot makes a BIOS system partition from
 * <SystemRoot>\Boot\PCAT (bootmgr and its resources) and the BIOS boot
 * application is <SystemRoot>\System32\winload.exe (winload.efi is the
 * UEFI one).  Both are needed (names matched case-insensitively); the
 * evidence names both, or says which one is missing. */
static void win_bios_files(struct insp_ctx *c, unsigned fsi,
			   const char *sysroot, struct vmie_insp_os *os)
{
	struct vmie_fs *fs = insp_fs(c, fsi);
	char pcat[128], winload[128];

	if (!fs)
		return;
	vmie_insp_fmt(pcat, sizeof pcat, "%s/Boot/PCAT/bootmgr", sysroot);
	vmie_insp_fmt(winload, sizeof winload, "%s/System32/winload.exe",
		      sysroot);
	bool has_pcat = insp_exists_ci(fs, pcat);
	bool has_winload = insp_exists_ci(fs, winload);
	if (has_pcat && has_winload) {
		os->bios_after_mbr = true;
		vmie_insp_evidence(os, "bios_after_mbr", c->in->fs[fsi].device,
				   "%s and %s (BIOS after GPT-to-MBR "
				   "conversion)", pcat, winload);
	} else {
		vmie_insp_evidence(os, "bios_after_mbr", c->in->fs[fsi].device,
				   "no BIOS boot files: %s %s, %s %s", pcat,
				   has_pcat ? "present" : "missing", winload,
				   has_winload ? "present" : "missing");
	}
}

static void win_boot(struct insp_ctx *c, unsigned fsi, const char *sysroot,
		     struct vmie_insp_os *os)
{
	const struct vmie_insp_fs *f = &c->in->fs[fsi];
	int disk = f->disk, act, esp;
	char why[200];
	struct vmie_fs *bcd_fs = NULL;
	const char *bcd_path = NULL;
	char bcd_where[200] = "";

	if (disk >= 0 && (unsigned)disk < c->in->n_disks &&
	    c->in->disks[disk].pt.type == VMIE_PT_MBR) {
		act = win_active(c, disk);
		if (act < 0)
			act = (int)fsi;
		struct vmie_fs *afs = insp_fs(c, (unsigned)act);
		if (afs && (insp_exists_ci(afs, "/bootmgr") ||
			    insp_exists_ci(afs, "/ntldr"))) {
			os->bootmgr_bios = true;
			vmie_insp_evidence(os, "bootmgr_bios",
					   c->in->fs[act].device, "%s",
					   insp_exists_ci(afs, "/bootmgr") ?
					   "bootmgr" : "ntldr");
			if (insp_exists_ci(afs, "/Boot/BCD")) {
				bcd_fs = afs;
				bcd_path = "/Boot/BCD";
				vmie_insp_fmt(bcd_where, sizeof bcd_where, "%s:/Boot/BCD",
					 c->in->fs[act].device);
			}
		}
	}
	if (disk >= 0 && (unsigned)disk < c->in->n_disks &&
	    c->in->disks[disk].pt.type == VMIE_PT_GPT)
		win_bios_files(c, fsi, sysroot, os);
	esp = insp_find_esp(c, disk);
	if (esp >= 0) {
		struct vmie_fs *efs = insp_fs(c, (unsigned)esp);
		vmie_strlcpy(os->esp_device, c->in->fs[esp].device,
			     sizeof os->esp_device);
		if (insp_exists_ci(efs, "/EFI/Microsoft/Boot/bootmgfw.efi")) {
			os->bootmgr_efi = true;
			vmie_insp_evidence(os, "bootmgr_efi", os->esp_device,
					   "/EFI/Microsoft/Boot/bootmgfw.efi");
		}
		os->efi_fallback = insp_exists_ci(efs, "/EFI/BOOT/BOOTX64.EFI");
		/* GPT: `bcdboot /f ALL` also leaves the BIOS boot files
		 * (bootmgr, Boot/BCD) on the ESP.  Such a guest boots with
		 * legacy BIOS once its GPT boot volume is converted to MBR
		 * (BOOT-006), so it is compatible with both modes. */
		if (!os->bootmgr_bios && disk >= 0 &&
		    (unsigned)disk < c->in->n_disks &&
		    c->in->disks[disk].pt.type == VMIE_PT_GPT &&
		    insp_exists_ci(efs, "/bootmgr")) {
			os->bootmgr_bios = true;
			vmie_insp_evidence(os, "bootmgr_bios", os->esp_device,
					   "bootmgr on the ESP of a GPT disk "
					   "(BIOS after GPT-to-MBR conversion)");
			if (!bcd_fs && insp_exists_ci(efs, "/Boot/BCD")) {
				bcd_fs = efs;
				bcd_path = "/Boot/BCD";
				vmie_insp_fmt(bcd_where, sizeof bcd_where,
					      "%s:/Boot/BCD", os->esp_device);
			}
		}
		if (!bcd_fs && insp_exists_ci(efs, "/EFI/Microsoft/Boot/BCD")) {
			bcd_fs = efs;
			bcd_path = "/EFI/Microsoft/Boot/BCD";
			vmie_insp_fmt(bcd_where, sizeof bcd_where,
				 "%s:/EFI/Microsoft/Boot/BCD", os->esp_device);
		}
	}
	if (bcd_fs) {
		/* FAT is case-insensitive: the fs resolves "BCD" itself */
		uint64_t ch;
		hive_h *h = win_open_hive(bcd_fs, bcd_path, why, sizeof why,
					  &ch);
		if (h) {
			win_bcd(h, bcd_where, os);
			win_close_hive(bcd_fs, h, ch);
		} else {
			vmie_insp_evidence(os, "ems", bcd_where, "BCD unreadable: "
					   "%s", why);
		}
	}
}

int vmie_insp_windows(struct insp_ctx *c, unsigned fsi,
		      const char *sysroot, struct vmie_insp_os *os)
{
	struct vmie_fs *fs = insp_fs(c, fsi);
	const struct vmie_insp_fs *f = &c->in->fs[fsi];
	char p[160], why[200];
	uint64_t ch;
	hive_h *h;

	vmie_strlcpy(os->type, "windows", sizeof os->type);
	vmie_strlcpy(os->distro, "windows", sizeof os->distro);
	vmie_strlcpy(os->root_device, f->device, sizeof os->root_device);
	os->root_disk = f->disk;
	os->root_free = f->probe.free;
	vmie_insp_fmt(p, sizeof p, "%s/System32/config/SOFTWARE", sysroot);
	h = win_open_hive(fs, p, why, sizeof why, &ch);
	if (h) {
		win_software(h, os);
		win_close_hive(fs, h, ch);
	} else {
		vmie_insp_evidence(os, "registry", p, "unreadable: %s", why);
	}
	vmie_insp_fmt(p, sizeof p, "%s/System32/config/SYSTEM", sysroot);
	h = win_open_hive(fs, p, why, sizeof why, &ch);
	if (h) {
		win_system(h, sysroot, fs, os);
		win_close_hive(fs, h, ch);
	} else {
		vmie_insp_evidence(os, "registry", p, "unreadable: %s", why);
	}
	if (!os->systemroot[0])
		vmie_insp_fmt(os->systemroot, sizeof os->systemroot, "%s", sysroot);
	win_boot(c, fsi, sysroot, os);
	if (os->root_free != UINT64_MAX)
		vmie_insp_evidence(os, "root_free", os->root_device,
				   "%llu bytes free",
				   (unsigned long long)os->root_free);
	return 0;
}
