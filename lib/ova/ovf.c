/*
 * OVF descriptor parser (DMTF DSP0243 1.x and 2.x): References/File,
 * DiskSection/Disk, VirtualSystem (Name, OperatingSystemSection,
 * VirtualHardwareSection Items by CIM ResourceType) and VMware's
 * vmw:Config firmware key, into struct vmie_ovf.
 *
 * The document comes from an untrusted OVA, so libxml2 is run with
 * XML_PARSE_NONET and without XML_PARSE_NOENT / XML_PARSE_DTDLOAD, errors
 * are collected rather than printed, and any DOCTYPE stops the parser at
 * once (a SAX hook), which refuses external entities (XXE) and entity
 * expansion bombs before any declaration is read.
 *
 * CIM ResourceType values used (CIM_ResourceAllocationSettingData):
 * 3 processor, 4 memory, 5 IDE controller, 6 parallel SCSI HBA,
 * 10 Ethernet adapter, 14 floppy, 15 CD drive, 16 DVD drive, 17 disk,
 * 20 other storage device (VMware: SATA AHCI and NVMe controllers).
 */
#include "ova.h"
#include "../core/budget.h"
#include "../core/checked.h"
#include "../core/xml.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OVF_NS1  "http://schemas.dmtf.org/ovf/envelope/1"
#define OVF_NS2  "http://schemas.dmtf.org/ovf/envelope/2"
#define VMW_NS   "http://www.vmware.com/schema/ovf"

const char *vmie_ovf_bus_name(enum vmie_ovf_bus b)
{
	switch (b) {
	case VMIE_OVF_BUS_IDE: return "ide";
	case VMIE_OVF_BUS_SCSI: return "scsi";
	case VMIE_OVF_BUS_SATA: return "sata";
	case VMIE_OVF_BUS_NVME: return "nvme";
	case VMIE_OVF_BUS_OTHER: return "other";
	default: return "none";
	}
}

/* One hardware Item, as text, before it is resolved. */
struct ovf_item {
	char *instance_id, *subtype, *address, *aop, *parent, *host;
	char *connection, *element_name, *quantity, *units;
	int type;
};

static void ovf_free_attach(struct vmie_ovf_attach *a)
{
	free(a->controller_subtype);
}

void vmie_ovf_free(struct vmie_ovf *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_files; i++) {
		free(o->files[i].id);
		free(o->files[i].href);
		free(o->files[i].compression);
	}
	for (size_t i = 0; i < o->n_disks; i++) {
		struct vmie_ovf_disk *d = &o->disks[i];
		free(d->disk_id);
		free(d->file_ref);
		free(d->format);
		free(d->format_name);
		free(d->element_name);
		ovf_free_attach(&d->at);
	}
	for (size_t i = 0; i < o->n_nics; i++) {
		free(o->nics[i].connection);
		free(o->nics[i].subtype);
		free(o->nics[i].mac);
		free(o->nics[i].element_name);
	}
	for (size_t i = 0; i < o->n_removables; i++) {
		free(o->removables[i].subtype);
		ovf_free_attach(&o->removables[i].at);
	}
	free(o->files);
	free(o->disks);
	free(o->nics);
	free(o->removables);
	free(o->name);
	free(o->system_id);
	free(o->os_id);
	free(o->os_type);
	free(o->os_description);
	free(o->firmware);
	free(o->hw_family);
	free(o);
}

/* Copy an xmlChar string into a trimmed malloc'd string and free it. */
static char *ovf_take(xmlChar *x)
{
	if (!x)
		return NULL;
	const char *s = (const char *)x;
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *r = strndup(s, n);
	xmlFree(x);
	return r;
}

static bool ovf_is(const xmlNode *n, const char *local)
{
	return n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, local);
}

/* An attribute in the OVF namespace (either version), or unqualified. */
static char *ovf_attr(xmlNode *n, const char *local)
{
	xmlChar *v = xmlGetNsProp(n, BAD_CAST local, BAD_CAST OVF_NS1);
	if (!v)
		v = xmlGetNsProp(n, BAD_CAST local, BAD_CAST OVF_NS2);
	if (!v)
		v = xmlGetNoNsProp(n, BAD_CAST local);
	return ovf_take(v);
}

static char *ovf_child_text(xmlNode *n, const char *local)
{
	for (xmlNode *c = n->children; c; c = c->next)
		if (ovf_is(c, local))
			return ovf_take(xmlNodeGetContent(c));
	return NULL;
}

static xmlNode *ovf_child(xmlNode *n, const char *local)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (ovf_is(c, local))
			return c;
	return NULL;
}

/* Strict decimal unsigned 64-bit. */
static int ovf_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || vmie_mul_u64(r, 10, &r) ||
		    vmie_add_u64(r, (uint64_t)(*s - '0'), &r))
			return -1;
	}
	*v = r;
	return 0;
}

static int ovf_int(const char *s)
{
	uint64_t v;
	if (ovf_u64(s, &v) || v > 0x7fffffff)
		return -1;
	return (int)v;
}

int vmie_ovf_parse_units(const char *units, uint64_t *mult)
{
	char c[64];
	size_t k = 0;
	if (!units || !*units) {
		*mult = 1;
		return 0;
	}
	for (const char *p = units; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (k + 1 >= sizeof c)
			return -1;
		c[k++] = (char)tolower((unsigned char)*p);
	}
	c[k] = 0;
	static const struct { const char *name; unsigned shift; } words[] = {
		{ "bytes", 0 }, { "kilobytes", 10 }, { "megabytes", 20 },
		{ "gigabytes", 30 }, { "terabytes", 40 }, { "kb", 10 },
		{ "mb", 20 }, { "gb", 30 }, { "tb", 40 },
	};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (!strcmp(c, words[i].name)) {
			*mult = (uint64_t)1 << words[i].shift;
			return 0;
		}
	if (strncmp(c, "byte", 4))
		return -1;
	const char *p = c + 4;
	uint64_t m = 1;
	while (*p) {
		uint64_t base = 0, exp = 1, term = 1;
		if (*p++ != '*')
			return -1;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (base > 1000000)
				return -1;
			base = base * 10 + (uint64_t)(*p++ - '0');
		}
		if (*p == '^') {
			p++;
			exp = 0;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p)) {
				if (exp > 100)
					return -1;
				exp = exp * 10 + (uint64_t)(*p++ - '0');
			}
		}
		for (uint64_t i = 0; i < exp; i++)
			if (vmie_mul_u64(term, base, &term))
				return -1;
		if (vmie_mul_u64(m, term, &m))
			return -1;
	}
	*mult = m;
	return 0;
}

/* "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
 * -> "vmdk-streamOptimized". */
static char *ovf_format_name(const char *uri)
{
	char buf[96] = "";
	if (uri) {
		const char *frag = strchr(uri, '#');
		char low[256];
		size_t i;
		for (i = 0; uri[i] && i + 1 < sizeof low; i++)
			low[i] = (char)tolower((unsigned char)uri[i]);
		low[i] = 0;
		const char *kind = strstr(low, "vmdk") ? "vmdk" :
				   strstr(low, "vhdx") ? "vhdx" :
				   strstr(low, "vhd") ? "vhd" :
				   strstr(low, "qcow2") ? "qcow2" :
				   strstr(low, "raw") ? "raw" : "";
		if (*kind && frag && frag[1])
			snprintf(buf, sizeof buf, "%s-%.60s", kind, frag + 1);
		else
			snprintf(buf, sizeof buf, "%s", kind);
	}
	return strdup(buf);
}

/* Grow an array by one element (zeroed); NULL when over max. */
static void *ovf_push(void **arr, size_t *n, size_t elem, size_t max)
{
	if (*n >= max)
		return NULL;
	void *p = realloc(*arr, (*n + 1) * elem);
	if (!p)
		return NULL;
	*arr = p;
	memset((char *)p + *n * elem, 0, elem);
	return (char *)p + (*n)++ * elem;
}

static int ovf_parse_references(struct vmie_ovf *o, xmlNode *refs,
				const char *name, struct vmie_err *err)
{
	for (xmlNode *c = refs->children; c; c = c->next) {
		if (!ovf_is(c, "File"))
			continue;
		struct vmie_ovf_file *f = ovf_push((void **)&o->files,
						   &o->n_files, sizeof *f,
						   VMIE_OVF_MAX_FILES);
		if (!f)
			return VMIE_CORRUPT(err, "%s: more than %d File "
					    "references (or out of memory)",
					    name, VMIE_OVF_MAX_FILES);
		f->id = ovf_attr(c, "id");
		f->href = ovf_attr(c, "href");
		if (!f->id || !f->href || !*f->id || !*f->href)
			return VMIE_CORRUPT(err, "%s: References/File at line "
					    "%ld has no ovf:id or ovf:href",
					    name, (long)xmlGetLineNo(c));
		char *s = ovf_attr(c, "size");
		if (s) {
			if (ovf_u64(s, &f->size)) {
				free(s);
				return VMIE_CORRUPT(err, "%s: File '%s': "
						    "ovf:size is not a "
						    "number", name, f->id);
			}
			f->has_size = true;
			free(s);
		}
		f->compression = ovf_attr(c, "compression");
		if (f->compression && (!*f->compression ||
				       !strcmp(f->compression, "identity"))) {
			free(f->compression);
			f->compression = NULL;
		}
		s = ovf_attr(c, "chunkSize");
		if (s) {
			if (ovf_u64(s, &f->chunk_size) || !f->chunk_size) {
				free(s);
				return VMIE_CORRUPT(err, "%s: File '%s': "
						    "ovf:chunkSize is not a "
						    "positive number", name,
						    f->id);
			}
			free(s);
		}
		for (size_t i = 0; i + 1 < o->n_files; i++)
			if (!strcmp(o->files[i].id, f->id))
				return VMIE_CORRUPT(err, "%s: two File "
						    "references have the id "
						    "'%s'", name, f->id);
	}
	return 0;
}

static int ovf_parse_disks(struct vmie_ovf *o, xmlNode *sec,
			   const char *name, struct vmie_err *err)
{
	for (xmlNode *c = sec->children; c; c = c->next) {
		if (!ovf_is(c, "Disk"))
			continue;
		struct vmie_ovf_disk *d = ovf_push((void **)&o->disks,
						   &o->n_disks, sizeof *d,
						   VMIE_OVF_MAX_DISKS);
		if (!d)
			return VMIE_CORRUPT(err, "%s: more than %d disks (or "
					    "out of memory)", name,
					    VMIE_OVF_MAX_DISKS);
		d->file_index = -1;
		d->at.controller_address = d->at.address_on_parent = -1;
		d->disk_id = ovf_attr(c, "diskId");
		if (!d->disk_id || !*d->disk_id)
			return VMIE_CORRUPT(err, "%s: DiskSection/Disk at line "
					    "%ld has no ovf:diskId", name,
					    (long)xmlGetLineNo(c));
		for (size_t i = 0; i + 1 < o->n_disks; i++)
			if (!strcmp(o->disks[i].disk_id, d->disk_id))
				return VMIE_CORRUPT(err, "%s: two disks have "
						    "the id '%s'", name,
						    d->disk_id);
		d->file_ref = ovf_attr(c, "fileRef");
		if (d->file_ref && !*d->file_ref) {
			free(d->file_ref);
			d->file_ref = NULL;
		}
		if (d->file_ref) {
			for (size_t i = 0; i < o->n_files; i++)
				if (!strcmp(o->files[i].id, d->file_ref))
					d->file_index = (int)i;
			if (d->file_index < 0)
				return VMIE_CORRUPT(err, "%s: disk '%s' refers "
						    "to File '%s', which is "
						    "not in References", name,
						    d->disk_id, d->file_ref);
		}
		d->format = ovf_attr(c, "format");
		d->format_name = ovf_format_name(d->format);
		char *cap = ovf_attr(c, "capacity");
		char *units = ovf_attr(c, "capacityAllocationUnits");
		uint64_t v, mult;
		int bad = 0;
		if (cap && !ovf_u64(cap, &v)) {
			if (vmie_ovf_parse_units(units, &mult))
				bad = 1;
			else if (vmie_mul_u64(v, mult, &d->capacity))
				bad = 2;
		}
		/* a non-numeric capacity (a ${property}) stays unknown */
		if (bad) {
			int r = VMIE_CORRUPT(err, "%s: disk '%s': capacity "
					     "'%s' with units '%s' %s", name,
					     d->disk_id, cap,
					     units ? units : "",
					     bad == 1 ? "has units vmie does "
					     "not understand" : "overflows");
			free(cap);
			free(units);
			return r;
		}
		free(cap);
		free(units);
		char *pop = ovf_attr(c, "populatedSize");
		if (pop && ovf_u64(pop, &d->populated_size))
			d->populated_size = 0;
		free(pop);
	}
	return 0;
}

static void ovf_free_items(struct ovf_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(it[i].instance_id);
		free(it[i].subtype);
		free(it[i].address);
		free(it[i].aop);
		free(it[i].parent);
		free(it[i].host);
		free(it[i].connection);
		free(it[i].element_name);
		free(it[i].quantity);
		free(it[i].units);
	}
	free(it);
}

static void ovf_attach(const struct ovf_item *items, size_t n,
		       const struct ovf_item *it, struct vmie_ovf_attach *at)
{
	at->address_on_parent = ovf_int(it->aop);
	at->controller_address = -1;
	if (!it->parent)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct ovf_item *p = &items[i];
		if (!p->instance_id || strcmp(p->instance_id, it->parent))
			continue;
		switch (p->type) {
		case 5: at->bus = VMIE_OVF_BUS_IDE; break;
		case 6: at->bus = VMIE_OVF_BUS_SCSI; break;
		case 20:
			at->bus = p->subtype && strcasestr(p->subtype, "nvme")
				  ? VMIE_OVF_BUS_NVME : VMIE_OVF_BUS_SATA;
			break;
		default: at->bus = VMIE_OVF_BUS_OTHER; break;
		}
		at->controller_address = ovf_int(p->address);
		if (p->subtype)
			at->controller_subtype = strdup(p->subtype);
		return;
	}
}

static int ovf_parse_hardware(struct vmie_ovf *o, xmlNode *hw,
			      const char *name, struct vmie_err *err)
{
	struct ovf_item *items = NULL;
	size_t n = 0;
	int r = 0;
	for (xmlNode *c = hw->children; c; c = c->next) {
		if (ovf_is(c, "System")) {
			if (!o->hw_family)
				o->hw_family = ovf_child_text(c,
						"VirtualSystemType");
			continue;
		}
		if (ovf_is(c, "Config") && c->ns && c->ns->href &&
		    !strcmp((const char *)c->ns->href, VMW_NS)) {
			char *key = ovf_take(xmlGetNsProp(c, BAD_CAST "key",
							  BAD_CAST VMW_NS));
			if (key && !strcmp(key, "firmware") && !o->firmware)
				o->firmware = ovf_take(xmlGetNsProp(c,
						BAD_CAST "value",
						BAD_CAST VMW_NS));
			free(key);
			continue;
		}
		if (!ovf_is(c, "Item") && !ovf_is(c, "StorageItem") &&
		    !ovf_is(c, "EthernetPortItem"))
			continue;
		struct ovf_item *it = ovf_push((void **)&items, &n,
					       sizeof *it, VMIE_OVF_MAX_ITEMS);
		if (!it) {
			r = VMIE_CORRUPT(err, "%s: more than %d hardware "
					 "items (or out of memory)", name,
					 VMIE_OVF_MAX_ITEMS);
			goto out;
		}
		char *type = ovf_child_text(c, "ResourceType");
		it->type = ovf_int(type);
		free(type);
		it->instance_id = ovf_child_text(c, "InstanceID");
		it->subtype = ovf_child_text(c, "ResourceSubType");
		it->address = ovf_child_text(c, "Address");
		it->aop = ovf_child_text(c, "AddressOnParent");
		it->parent = ovf_child_text(c, "Parent");
		it->host = ovf_child_text(c, "HostResource");
		it->connection = ovf_child_text(c, "Connection");
		it->element_name = ovf_child_text(c, "ElementName");
		it->quantity = ovf_child_text(c, "VirtualQuantity");
		it->units = ovf_child_text(c, "AllocationUnits");
		if (!it->units)
			it->units = ovf_child_text(c, "VirtualQuantityUnits");
	}
	for (size_t i = 0; i < n; i++) {
		struct ovf_item *it = &items[i];
		uint64_t q, mult;
		switch (it->type) {
		case 3:
			if (!o->vcpus && !ovf_u64(it->quantity, &q) &&
			    q < 1u << 20)
				o->vcpus = (unsigned)q;
			break;
		case 4:
			if (o->memory || ovf_u64(it->quantity, &q))
				break;
			/* no units: megabytes, as VMware means it */
			if (!it->units)
				mult = (uint64_t)1 << 20;
			else if (vmie_ovf_parse_units(it->units, &mult))
				break;
			if (vmie_mul_u64(q, mult, &o->memory))
				o->memory = 0;
			break;
		case 17: {
			const char *h = it->host, *id = NULL;
			if (h && !strncmp(h, "ovf:", 4))
				h += 4;
			if (h && !strncmp(h, "/disk/", 6))
				id = h + 6;
			struct vmie_ovf_disk *d = NULL;
			for (size_t k = 0; id && k < o->n_disks; k++)
				if (!strcmp(o->disks[k].disk_id, id))
					d = &o->disks[k];
			if (!d && id) {
				r = VMIE_CORRUPT(err, "%s: hard disk item '%s' "
						 "refers to disk '%s', which "
						 "is not in the DiskSection",
						 name, it->element_name ?
						 it->element_name : "?", id);
				goto out;
			}
			if (!d || d->attached)
				break;
			d->attached = true;
			if (it->element_name)
				d->element_name = strdup(it->element_name);
			ovf_attach(items, n, it, &d->at);
			break;
		}
		case 10: {
			struct vmie_ovf_nic *nic = ovf_push((void **)&o->nics,
							    &o->n_nics,
							    sizeof *nic, 64);
			if (!nic)
				break;
			nic->connection = it->connection ?
					  strdup(it->connection) : NULL;
			nic->subtype = it->subtype ? strdup(it->subtype)
						   : NULL;
			nic->mac = it->address ? strdup(it->address) : NULL;
			nic->element_name = it->element_name ?
					    strdup(it->element_name) : NULL;
			break;
		}
		case 14: case 15: case 16: {
			struct vmie_ovf_removable *rm =
				ovf_push((void **)&o->removables,
					 &o->n_removables, sizeof *rm, 64);
			if (!rm)
				break;
			rm->kind = it->type == 14 ? VMIE_OVF_FLOPPY
						  : VMIE_OVF_CDROM;
			rm->subtype = it->subtype ? strdup(it->subtype) : NULL;
			ovf_attach(items, n, it, &rm->at);
			break;
		}
		default:
			break;
		}
	}
out:
	ovf_free_items(items, n);
	return r;
}

static xmlNode *ovf_find_system(xmlNode *n, unsigned *count, int depth)
{
	xmlNode *first = NULL;
	for (xmlNode *c = n->children; c; c = c->next) {
		if (ovf_is(c, "VirtualSystem")) {
			(*count)++;
			if (!first)
				first = c;
		} else if (ovf_is(c, "VirtualSystemCollection") && depth < 4) {
			xmlNode *f = ovf_find_system(c, count, depth + 1);
			if (!first)
				first = f;
		}
	}
	return first;
}

/*
 * Count, before libxml2 sees the document, the nodes its tree would hold:
 * tags, comments, processing instructions and CDATA sections, and the
 * attributes of each tag (core/xml.h says why).
 */
static int ovf_count_nodes(const char *p, size_t len, const char *name,
			   uint64_t *nodes, struct vmie_err *err)
{
	struct vmie_xml_shape sh = { .attrs_limit = VMIE_OVF_MAX_ATTRS };

	vmie_xml_shape(p, len, &sh);
	if (sh.attrs_over)
		return VMIE_CORRUPT(err, "%s: an element at byte %zu has %u "
				    "attributes (limit %d)", name,
				    sh.attrs_over_at, sh.attrs_over,
				    VMIE_OVF_MAX_ATTRS);
	*nodes = sh.tags + sh.attrs;
	if (*nodes > VMIE_OVF_MAX_NODES)
		return VMIE_CORRUPT(err, "%s: the OVF descriptor has more than "
				    "%d elements, attributes and comments",
				    name, VMIE_OVF_MAX_NODES);
	return 0;
}

int vmie_ovf_parse(const void *buf, size_t len, const char *name,
		   struct vmie_ovf **out, struct vmie_err *err)
{
	return vmie_ovf_parse_budget(buf, len, name, NULL, out, err);
}

int vmie_ovf_parse_budget(const void *buf, size_t len, const char *name,
			  struct vmie_budget *budget, struct vmie_ovf **out,
			  struct vmie_err *err)
{
	uint64_t nodes = 0;
	xmlDocPtr doc = NULL;
	struct vmie_ovf *o = NULL;
	int r = 0;

	if (len > VMIE_OVF_MAX_BYTES)
		return VMIE_ERR_RULE(err, VMIE_ENOMEM, "FMT-005",
				     "%s: OVF descriptor is %zu bytes, more "
				     "than the %llu MiB limit", name, len,
				     (unsigned long long)
				     (VMIE_OVF_MAX_BYTES >> 20));
	if (len > 0x7fffffff)
		return VMIE_ERR(err, VMIE_EINVAL, "%s: too large", name);
	r = vmie_budget_read(budget, len, "OVF descriptor", err);
	if (!r)
		r = ovf_count_nodes(buf, len, name, &nodes, err);
	/* every node of the tree is a structure visited */
	if (!r)
		r = vmie_budget_entries(budget, nodes, "OVF descriptor nodes",
					err);
	if (r)
		return r;
	char msg[200];
	int line;
	switch (vmie_xml_read(buf, len, false, &doc, msg, sizeof(msg), &line)) {
	case VMIE_XML_OK:
		break;
	case VMIE_XML_NOMEM:
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	case VMIE_XML_DOCTYPE:
		return VMIE_ERR_RULE(err, VMIE_EPERM, "FMT-005",
				     "%s: OVF descriptor has a DOCTYPE "
				     "declaration: refused (DTDs and entities "
				     "are not allowed in OVF; they can read "
				     "local files or expand without bound)",
				     name);
	default:
		return VMIE_CORRUPT(err, "%s: OVF descriptor is not valid XML "
				    "(line %d): %s", name, line, msg);
	}
	xmlNode *root = xmlDocGetRootElement(doc);
	const char *ns = root && root->ns && root->ns->href ?
			 (const char *)root->ns->href : "";
	if (!root || !ovf_is(root, "Envelope") ||
	    (strcmp(ns, OVF_NS1) && strcmp(ns, OVF_NS2))) {
		r = VMIE_CORRUPT(err, "%s: not an OVF descriptor (the root "
				 "element is not an OVF 1.x/2.x Envelope in "
				 "namespace %s)", name, OVF_NS1);
		goto out;
	}
	o = calloc(1, sizeof *o);
	if (!o) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	o->version = strcmp(ns, OVF_NS2) ? 1 : 2;
	xmlNode *refs = ovf_child(root, "References");
	if (refs && (r = ovf_parse_references(o, refs, name, err)))
		goto out;
	for (xmlNode *c = root->children; c; c = c->next)
		if (ovf_is(c, "DiskSection") &&
		    (r = ovf_parse_disks(o, c, name, err)))
			goto out;
	xmlNode *vs = ovf_find_system(root, &o->n_systems, 0);
	if (vs) {
		o->system_id = ovf_attr(vs, "id");
		o->name = ovf_child_text(vs, "Name");
		if (!o->name || !*o->name) {
			free(o->name);
			o->name = o->system_id ? strdup(o->system_id) : NULL;
		}
		/* a DiskSection may also sit inside the VirtualSystem */
		for (xmlNode *c = vs->children; c; c = c->next)
			if (ovf_is(c, "DiskSection") &&
			    (r = ovf_parse_disks(o, c, name, err)))
				goto out;
		xmlNode *os = ovf_child(vs, "OperatingSystemSection");
		if (os) {
			o->os_id = ovf_attr(os, "id");
			o->os_type = ovf_take(xmlGetNsProp(os,
					BAD_CAST "osType", BAD_CAST VMW_NS));
			o->os_description = ovf_child_text(os, "Description");
		}
		xmlNode *hw = ovf_child(vs, "VirtualHardwareSection");
		if (hw && (r = ovf_parse_hardware(o, hw, name, err)))
			goto out;
	}
out:
	if (doc)
		xmlFreeDoc(doc);
	if (r) {
		vmie_ovf_free(o);
		return r;
	}
	*out = o;
	return 0;
}
