/*
 * Windows dynamic disks: the Logical Disk Manager (LDM) database and the
 * "ldm" image driver that exposes its volumes.  Layouts and sources:
 * ldm_disk.h.
 *
 * Per disk (part_ldm_read, called by vmie_ptable_read for MBR type 0x42
 * and GPT LDM partitions): the PRIVHEAD (sector 6, or the last sector of
 * the GPT "LDM metadata" partition) and its two copies inside the
 * database, the TOCBLOCKs (up to four copies), the VMDB header and the
 * VBLK records, with fragmented records joined by record id and fragment
 * number.  The records are cross-linked (partition -> component ->
 * volume, partition -> disk) and the volume list is kept in the ptable.
 *
 * Across the disks of one VM (vmie_ldm_scan): disks are matched by the
 * disk GUID of their PRIVHEAD against the disk records of the database
 * with the highest committed sequence number of the group, and every
 * volume whose extents are present is opened as an image: simple and
 * spanned (extents joined by their volume offset), striped (RAID-0 over
 * its columns, in index order), mirrored (the first plex whose disks are
 * all present).  RAID-5 volumes are listed, with an error, not read.
 *
 * Everything read from the disk is untrusted: every offset and size is
 * checked against the disk, the database and the LDM_MAX_* limits below
 * before it is used; records are bounded by their length; fragments that
 * repeat (a loop), are missing or claim absurd counts, duplicate object
 * ids, dangling references and counts that do not match the VMDB are
 * refused with a message naming the slot or the record (FMT-005).
 */
#include "part.h"
#include "part_int.h"
#include "ldm_disk.h"
#include "../core/checked.h"
#include "../core/endian.h"
#include "../core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LDM_MAX_CONFIG      ((uint64_t)1 << 16)    /* database, sectors */
#define LDM_MAX_AREA        ((uint64_t)4 << 20)    /* VMDB+VBLKs, bytes */
#define LDM_MIN_VBLK        32
#define LDM_MAX_VBLK        4096
#define LDM_MAX_SLOTS       32768
#define LDM_MAX_FRAGS       16                     /* VBLKs per record */
#define LDM_MAX_EXTENTS     1024                   /* per volume */
#define LDM_MAX_PLEXES      32                     /* per volume */
#define LDM_MAX_DEVS        1024
#define LDM_MAX_GROUPS      64
#define LDM_MAX_DBWARN      4

enum { LDM_OK = 0, LDM_BAD = 1 };

/* One VBLK record (volume, component, partition, disk or disk group). */
struct ldm_obj {
	uint64_t id;
	uint8_t kind, flags;
	unsigned slot;          /* first VBLK slot, for messages */
	char name[64];
	char guid[37];          /* disk */
	uint8_t vguid[16];      /* volume */
	uint64_t start, vol_off, size;   /* partition; size also volume */
	uint64_t parent;        /* partition: component; component: volume */
	uint64_t disk_id;       /* partition */
	uint64_t index;         /* partition: column (flag 0x08) */
	uint8_t type;           /* component 1/2/3, volume 3/4 */
	uint64_t n_children;    /* volume: components; component: parts */
	uint64_t chunk, columns;         /* component (flag 0x10) */
	uint8_t part_type;      /* volume */
	char hint[16];          /* volume (flag 0x02) */
	int child, sibling;     /* links, indices, -1 none */
};

struct vmie_ldm_db {
	uint32_t ss;
	unsigned ver_minor;
	char disk_guid[37], group_guid[37], group_name[64];
	uint64_t data_start, data_size, config_start, config_size; /* sectors */
	uint64_t seq;
	unsigned n_obj;
	struct ldm_obj *obj;    /* sorted by id */
	unsigned n_warn;
	char warn[LDM_MAX_DBWARN][160];
};

/* A disk of a group that is present among the devices. */
struct ldm_member {
	const char *guid;
	struct vmie_image *img; /* NULL: no image (ptable summary) */
	int dev;
	uint32_t ss;
	uint64_t data_start, data_size;  /* sectors */
	uint64_t disk_size;              /* bytes */
};

static void ldm_db_warn(struct vmie_ldm_db *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ldm_db_warn(struct vmie_ldm_db *db, const char *fmt, ...)
{
	va_list ap;
	if (db->n_warn >= LDM_MAX_DBWARN)
		return;
	va_start(ap, fmt);
	vsnprintf(db->warn[db->n_warn++], sizeof db->warn[0], fmt, ap);
	va_end(ap);
}

static void ldm_db_free(struct vmie_ldm_db *db)
{
	if (!db)
		return;
	free(db->obj);
	free(db);
}

/* ---- small decoders ---- */

/* A text GUID of up to max bytes, NUL padded: lower case into out. */
static bool ldm_guid_text(const uint8_t *p, size_t max, char out[37])
{
	size_t n = 0;
	while (n < max && p[n])
		n++;
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = (char)p[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !((c >= '0' && c <= '9') ||
					(c >= 'a' && c <= 'f') ||
					(c >= 'A' && c <= 'F')))
			return false;
		out[i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
	}
	out[36] = 0;
	return true;
}

/* Text from the disk into out: stops at NUL, control bytes become '?'. */
static void ldm_text(char *out, size_t out_len, const uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && p[i] && o + 1 < out_len; i++)
		out[o++] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
	out[o] = 0;
}

/* A bounded cursor over a record body. */
struct ldm_cur {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static bool ldm_need(struct ldm_cur *c, size_t n)
{
	if (c->bad || n > c->len - c->pos) {
		c->bad = true;
		return false;
	}
	return true;
}

static void ldm_skip(struct ldm_cur *c, size_t n)
{
	if (ldm_need(c, n))
		c->pos += n;
}

static uint8_t ldm_u8(struct ldm_cur *c)
{
	return ldm_need(c, 1) ? c->p[c->pos++] : 0;
}

static uint64_t ldm_be64(struct ldm_cur *c)
{
	uint64_t v = 0;
	if (ldm_need(c, 8)) {
		v = vmie_be64(c->p + c->pos);
		c->pos += 8;
	}
	return v;
}

static uint64_t ldm_vnum(struct ldm_cur *c)
{
	uint64_t v = 0;
	uint8_t n = ldm_u8(c);
	if (n > 8) {
		c->bad = true;
		return 0;
	}
	if (!ldm_need(c, n))
		return 0;
	for (uint8_t i = 0; i < n; i++)
		v = v << 8 | c->p[c->pos++];
	return v;
}

static void ldm_vstr(struct ldm_cur *c, char *out, size_t out_len)
{
	uint8_t n = ldm_u8(c);
	if (out)
		out[0] = 0;
	if (!ldm_need(c, n))
		return;
	if (out)
		ldm_text(out, out_len, c->p + c->pos, n);
	c->pos += n;
}

/* ---- records ---- */

static const char *ldm_kind_name(unsigned kind)
{
	switch (kind) {
	case LDM_KIND_VOLUME: return "volume";
	case LDM_KIND_COMPONENT: return "component";
	case LDM_KIND_PARTITION: return "partition";
	case LDM_KIND_DISK: return "disk";
	case LDM_KIND_GROUP: return "disk group";
	default: return "unknown";
	}
}

/* Decode one record (the joined payload of its fragments) into o.
 * Returns LDM_OK, or LDM_BAD with why; o->kind 0 for a blank record. */
static int ldm_rec_parse(const uint8_t *rec, size_t len, unsigned slot,
			 struct ldm_obj *o, char *why, size_t wl)
{
	struct ldm_cur c;
	uint8_t type, rev;
	uint32_t blen;
	char tmp[40];

	memset(o, 0, sizeof *o);
	o->slot = slot;
	o->child = o->sibling = -1;
	if (len < LDM_REC_HEAD) {
		snprintf(why, wl, "VBLK slot %u: record shorter than its "
			 "header", slot);
		return LDM_BAD;
	}
	type = rec[LDM_REC_TYPE];
	rev = type >> 4;
	o->flags = rec[LDM_REC_FLAGS];
	blen = vmie_be32(rec + LDM_REC_LEN);
	if (blen > len - LDM_REC_HEAD) {
		snprintf(why, wl, "VBLK slot %u: record body of %u bytes is "
			 "longer than the record (%zu bytes)", slot, blen,
			 len - LDM_REC_HEAD);
		return LDM_BAD;
	}
	c = (struct ldm_cur){ rec + LDM_REC_HEAD, blen, 0, false };
	o->kind = type & 0x0f;
	if (!o->kind)
		return LDM_OK;          /* a blank record */
	o->id = ldm_vnum(&c);
	ldm_vstr(&c, o->name, sizeof o->name);
	switch (o->kind) {
	case LDM_KIND_VOLUME:
		if (rev != 5)
			goto unsupported;
		ldm_vstr(&c, NULL, 0);                  /* "gen", "raid5" */
		ldm_vstr(&c, NULL, 0);                  /* unknown */
		ldm_skip(&c, LDM_VOL_STATE_LEN);
		o->type = ldm_u8(&c);
		ldm_skip(&c, 1 + 1 + 3 + 1);            /* ?, number, 0, flags */
		o->n_children = ldm_vnum(&c);
		ldm_skip(&c, 8 + 8);                    /* commit id, id */
		o->size = ldm_vnum(&c);
		ldm_skip(&c, 4);
		o->part_type = ldm_u8(&c);
		if (ldm_need(&c, 16)) {
			memcpy(o->vguid, c.p + c.pos, 16);
			c.pos += 16;
		}
		if (o->flags & LDM_VOL_F_ID1)
			ldm_vstr(&c, NULL, 0);
		if (o->flags & LDM_VOL_F_ID2)
			ldm_vstr(&c, NULL, 0);
		if (o->flags & LDM_VOL_F_SIZE2)
			ldm_vnum(&c);
		if (o->flags & LDM_VOL_F_HINT)
			ldm_vstr(&c, o->hint, sizeof o->hint);
		break;
	case LDM_KIND_COMPONENT:
		if (rev != 3)
			goto unsupported;
		ldm_vstr(&c, NULL, 0);                  /* state */
		o->type = ldm_u8(&c);
		ldm_skip(&c, 4);
		o->n_children = ldm_vnum(&c);
		ldm_skip(&c, 8 + 8);
		o->parent = ldm_vnum(&c);
		ldm_skip(&c, 1);
		if (o->flags & LDM_COMP_F_STRIPE) {
			o->chunk = ldm_vnum(&c);
			o->columns = ldm_vnum(&c);
		}
		break;
	case LDM_KIND_PARTITION:
		if (rev != 3)
			goto unsupported;
		ldm_skip(&c, 4 + 8);
		o->start = ldm_be64(&c);
		o->vol_off = ldm_be64(&c);
		o->size = ldm_vnum(&c);
		o->parent = ldm_vnum(&c);
		o->disk_id = ldm_vnum(&c);
		if (o->flags & LDM_PART_F_INDEX)
			o->index = ldm_vnum(&c);
		break;
	case LDM_KIND_DISK:
		if (rev == 3) {
			uint8_t n = ldm_u8(&c);
			if (ldm_need(&c, n) &&
			    !ldm_guid_text(c.p + c.pos, n, o->guid)) {
				ldm_text(tmp, sizeof tmp, c.p + c.pos, n);
				snprintf(why, wl, "VBLK slot %u: disk record "
					 "'%s' has an invalid GUID '%s'", slot,
					 o->name, tmp);
				return LDM_BAD;
			}
			ldm_skip(&c, n);
		} else if (rev == 4) {
			if (ldm_need(&c, 16)) {
				vmie_uuid_be(o->guid, c.p + c.pos);
				c.pos += 16;
			}
		} else {
			goto unsupported;
		}
		break;
	case LDM_KIND_GROUP:
		if (rev != 3 && rev != 4)
			goto unsupported;
		break;
	default:
		snprintf(why, wl, "VBLK slot %u: unknown record type 0x%02x",
			 slot, type);
		return LDM_BAD;
	}
	if (c.bad) {
		snprintf(why, wl, "VBLK slot %u: %s record '%s' is truncated "
			 "or has a number longer than 8 bytes", slot,
			 ldm_kind_name(o->kind), o->name);
		return LDM_BAD;
	}
	return LDM_OK;
unsupported:
	snprintf(why, wl, "VBLK slot %u: %s record revision %u is not "
		 "supported", slot, ldm_kind_name(o->kind), rev);
	return LDM_BAD;
}

/* ---- the database of one disk ---- */

struct ldm_frag {
	uint32_t group;
	uint16_t num, total;
	unsigned slot;
	const uint8_t *payload;
};

static int ldm_frag_cmp(const void *a, const void *b)
{
	const struct ldm_frag *x = a, *y = b;
	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int ldm_obj_cmp(const void *a, const void *b)
{
	const struct ldm_obj *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int ldm_find(const struct vmie_ldm_db *db, uint64_t id, unsigned kind)
{
	unsigned lo = 0, hi = db->n_obj;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (db->obj[mid].id < id)
			lo = mid + 1;
		else if (db->obj[mid].id > id)
			hi = mid;
		else
			return db->obj[mid].kind == kind ? (int)mid : -1;
	}
	return -1;
}

static int ldm_add_obj(struct vmie_ldm_db *db, unsigned *cap,
		       const struct ldm_obj *o, struct vmie_err *err)
{
	if (db->n_obj == *cap) {
		unsigned nc = *cap ? *cap * 2 : 32;
		struct ldm_obj *n = realloc(db->obj, nc * sizeof *n);
		if (!n)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		db->obj = n;
		*cap = nc;
	}
	db->obj[db->n_obj++] = *o;
	return 0;
}

/* Parse the PRIVHEAD in s (one sector) into db. */
static int ldm_ph_parse(const uint8_t *s, uint64_t lba, struct vmie_ldm_db *db,
			char *why, size_t wl)
{
	unsigned maj, min;
	if (memcmp(s, LDM_PH_MAGIC, 8)) {
		snprintf(why, wl, "no PRIVHEAD at sector %llu",
			 (unsigned long long)lba);
		return LDM_BAD;
	}
	maj = vmie_be16(s + LDM_PH_VER_MAJOR);
	min = vmie_be16(s + LDM_PH_VER_MINOR);
	if (maj != 2 || (min != 11 && min != 12)) {
		snprintf(why, wl, "PRIVHEAD at sector %llu: version %u.%u is "
			 "not supported (2.11 or 2.12)",
			 (unsigned long long)lba, maj, min);
		return LDM_BAD;
	}
	db->ver_minor = min;
	if (!ldm_guid_text(s + LDM_PH_DISK_GUID, LDM_PH_GUID_LEN,
			   db->disk_guid) ||
	    !ldm_guid_text(s + LDM_PH_GROUP_GUID, LDM_PH_GUID_LEN,
			   db->group_guid)) {
		snprintf(why, wl, "PRIVHEAD at sector %llu: invalid disk or "
			 "disk group GUID", (unsigned long long)lba);
		return LDM_BAD;
	}
	ldm_text(db->group_name, sizeof db->group_name, s + LDM_PH_GROUP_NAME,
		 LDM_PH_NAME_LEN);
	db->data_start = vmie_be64(s + LDM_PH_DATA_START);
	db->data_size = vmie_be64(s + LDM_PH_DATA_SIZE);
	db->config_start = vmie_be64(s + LDM_PH_CONFIG_START);
	db->config_size = vmie_be64(s + LDM_PH_CONFIG_SIZE);
	return LDM_OK;
}

/* The "config" bitmap of the TOCBLOCK in s: start and size (sectors). */
static bool ldm_toc_parse(const uint8_t *s, uint64_t *start, uint64_t *size)
{
	static const unsigned at[2] = { LDM_TOC_BITMAP1, LDM_TOC_BITMAP2 };
	if (memcmp(s, LDM_TOC_MAGIC, 8))
		return false;
	for (unsigned i = 0; i < 2; i++) {
		const uint8_t *b = s + at[i];
		if (memcmp(b + LDM_TOC_B_NAME, "config\0", 7))
			continue;
		*start = vmie_be64(b + LDM_TOC_B_START);
		*size = vmie_be64(b + LDM_TOC_B_SIZE);
		return true;
	}
	return false;
}

/* Join fragmented records and parse them. */
static int ldm_join(struct vmie_ldm_db *db, struct ldm_frag *f, unsigned nf,
		    size_t pay, unsigned *cap, char *why, size_t wl,
		    struct vmie_err *err)
{
	uint8_t *buf = NULL;
	int r = LDM_OK;

	if (!nf)
		return LDM_OK;
	qsort(f, nf, sizeof *f, ldm_frag_cmp);
	buf = malloc(LDM_MAX_FRAGS * pay);
	if (!buf)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (unsigned i = 0; i < nf;) {
		unsigned j = i;
		uint16_t total = f[i].total;
		struct ldm_obj o;
		while (j < nf && f[j].group == f[i].group)
			j++;
		for (unsigned k = i; k < j; k++) {
			if (f[k].total != total) {
				snprintf(why, wl, "VBLK record %u: slot %u says "
					 "%u fragments, slot %u says %u",
					 f[i].group, f[i].slot, total,
					 f[k].slot, f[k].total);
				r = LDM_BAD;
				goto out;
			}
			if (k > i && f[k].num == f[k - 1].num) {
				snprintf(why, wl, "VBLK record %u: fragment %u "
					 "appears twice (slots %u and %u): the "
					 "fragment chain loops", f[i].group,
					 f[k].num, f[k - 1].slot, f[k].slot);
				r = LDM_BAD;
				goto out;
			}
			if (f[k].num != k - i) {
				snprintf(why, wl, "VBLK record %u: fragment %u "
					 "of %u is missing", f[i].group, k - i,
					 total);
				r = LDM_BAD;
				goto out;
			}
		}
		if (j - i != total) {
			snprintf(why, wl, "VBLK record %u: fragment %u of %u is "
				 "missing", f[i].group, j - i, total);
			r = LDM_BAD;
			goto out;
		}
		for (unsigned k = i; k < j; k++)
			memcpy(buf + (k - i) * pay, f[k].payload, pay);
		r = ldm_rec_parse(buf, (size_t)total * pay, f[i].slot, &o, why,
				  wl);
		if (r)
			goto out;
		if (o.kind) {
			r = ldm_add_obj(db, cap, &o, err);
			if (r)
				goto out;
		}
		i = j;
	}
out:
	free(buf);
	return r;
}

/* Cross-link the records and check them against the VMDB counts. */
static int ldm_link(struct vmie_ldm_db *db, const uint32_t want[4],
		    char *why, size_t wl)
{
	static const unsigned kinds[4] = { LDM_KIND_VOLUME, LDM_KIND_COMPONENT,
					   LDM_KIND_PARTITION, LDM_KIND_DISK };
	unsigned have[4] = { 0 };
	bool self = false;

	qsort(db->obj, db->n_obj, sizeof *db->obj, ldm_obj_cmp);
	for (unsigned i = 0; i < db->n_obj; i++) {
		if (i && db->obj[i].id == db->obj[i - 1].id) {
			snprintf(why, wl, "object id %llu is used twice (VBLK "
				 "slots %u and %u)",
				 (unsigned long long)db->obj[i].id,
				 db->obj[i - 1].slot, db->obj[i].slot);
			return LDM_BAD;
		}
		for (unsigned k = 0; k < 4; k++)
			have[k] += db->obj[i].kind == kinds[k];
	}
	for (unsigned k = 0; k < 4; k++)
		if (have[k] != want[k]) {
			snprintf(why, wl, "VMDB lists %u %s records, the VBLKs "
				 "hold %u", want[k], ldm_kind_name(kinds[k]),
				 have[k]);
			return LDM_BAD;
		}
	/* backwards, so that children lists come out in id order */
	for (unsigned i = db->n_obj; i-- > 0;) {
		struct ldm_obj *o = &db->obj[i];
		int p;
		if (o->kind == LDM_KIND_DISK && !strcmp(o->guid, db->disk_guid))
			self = true;
		if (o->kind == LDM_KIND_PARTITION) {
			if (ldm_find(db, o->disk_id, LDM_KIND_DISK) < 0) {
				snprintf(why, wl, "partition '%s' (slot %u) is "
					 "on disk %llu, which is not in the "
					 "database", o->name, o->slot,
					 (unsigned long long)o->disk_id);
				return LDM_BAD;
			}
			p = ldm_find(db, o->parent, LDM_KIND_COMPONENT);
		} else if (o->kind == LDM_KIND_COMPONENT) {
			p = ldm_find(db, o->parent, LDM_KIND_VOLUME);
		} else {
			continue;
		}
		if (p < 0) {
			snprintf(why, wl, "%s '%s' (slot %u): its parent %llu "
				 "is not in the database", ldm_kind_name(o->kind),
				 o->name, o->slot,
				 (unsigned long long)o->parent);
			return LDM_BAD;
		}
		o->sibling = db->obj[p].child;
		db->obj[p].child = (int)i;
	}
	for (unsigned i = 0; i < db->n_obj; i++) {
		const struct ldm_obj *o = &db->obj[i];
		uint64_t n = 0;
		if (o->kind != LDM_KIND_VOLUME && o->kind != LDM_KIND_COMPONENT)
			continue;
		for (int c = o->child; c >= 0; c = db->obj[c].sibling)
			n++;
		if (n != o->n_children) {
			snprintf(why, wl, "%s '%s' (slot %u) says it has %llu "
				 "%s, the database holds %llu",
				 ldm_kind_name(o->kind), o->name, o->slot,
				 (unsigned long long)o->n_children,
				 o->kind == LDM_KIND_VOLUME ? "components" :
				 "partitions", (unsigned long long)n);
			return LDM_BAD;
		}
	}
	if (!self) {
		snprintf(why, wl, "the disk's own GUID %s is not in its "
			 "database", db->disk_guid);
		return LDM_BAD;
	}
	return LDM_OK;
}

/* Read the VMDB and the VBLK slots of the config area (area, len bytes). */
static int ldm_vblks(struct vmie_ldm_db *db, const uint8_t *area, size_t len,
		     uint64_t area_lba, char *why, size_t wl,
		     struct vmie_err *err)
{
	struct ldm_frag *frags = NULL;
	unsigned nf = 0, cap = 0, bad_seq = 0;
	uint32_t vsize, first, n_slots, want[4];
	size_t pay;
	char gguid[37];
	int r = LDM_BAD;

	if (len < LDM_VMDB_LEN || memcmp(area, LDM_VMDB_MAGIC, 4)) {
		snprintf(why, wl, "no VMDB at the start of the config area "
			 "(sector %llu)", (unsigned long long)area_lba);
		return LDM_BAD;
	}
	if (vmie_be16(area + LDM_VMDB_VER_MAJOR) != 4 ||
	    vmie_be16(area + LDM_VMDB_VER_MINOR) != 10) {
		snprintf(why, wl, "VMDB version %u.%u is not supported (4.10)",
			 vmie_be16(area + LDM_VMDB_VER_MAJOR),
			 vmie_be16(area + LDM_VMDB_VER_MINOR));
		return LDM_BAD;
	}
	if (vmie_be16(area + LDM_VMDB_STATUS) != 1)
		ldm_db_warn(db, "VMDB update status %u: a transaction was in "
			    "progress; the committed records are used",
			    vmie_be16(area + LDM_VMDB_STATUS));
	if (!ldm_guid_text(area + LDM_VMDB_GROUP_GUID, 64, gguid) ||
	    strcmp(gguid, db->group_guid)) {
		snprintf(why, wl, "VMDB disk group GUID does not match the "
			 "PRIVHEAD's (%s)", db->group_guid);
		return LDM_BAD;
	}
	if (!db->group_name[0])
		ldm_text(db->group_name, sizeof db->group_name,
			 area + LDM_VMDB_GROUP_NAME, 31);
	db->seq = vmie_be64(area + LDM_VMDB_SEQ);
	vsize = vmie_be32(area + LDM_VMDB_VBLK_SIZE);
	first = vmie_be32(area + LDM_VMDB_FIRST);
	n_slots = vmie_be32(area + LDM_VMDB_N_SLOTS);
	if (vsize < LDM_MIN_VBLK || vsize > LDM_MAX_VBLK) {
		snprintf(why, wl, "VMDB: VBLK size %u is out of range "
			 "(%u..%u)", vsize, LDM_MIN_VBLK, LDM_MAX_VBLK);
		return LDM_BAD;
	}
	if ((uint64_t)n_slots * vsize > len || n_slots > LDM_MAX_SLOTS) {
		snprintf(why, wl, "VMDB: %u VBLK slots of %u bytes do not fit "
			 "in the config area (%zu bytes, at most %u slots)",
			 n_slots, vsize, len, LDM_MAX_SLOTS);
		return LDM_BAD;
	}
	if (first < LDM_VMDB_LEN || first % vsize) {
		snprintf(why, wl, "VMDB: first VBLK offset %u is invalid "
			 "(inside the VMDB header or not a multiple of the "
			 "VBLK size %u)", first, vsize);
		return LDM_BAD;
	}
	want[0] = vmie_be32(area + LDM_VMDB_N_VOL);
	want[1] = vmie_be32(area + LDM_VMDB_N_COMP);
	want[2] = vmie_be32(area + LDM_VMDB_N_PART);
	want[3] = vmie_be32(area + LDM_VMDB_N_DISK);
	for (unsigned k = 0; k < 4; k++)
		if (want[k] > n_slots) {
			snprintf(why, wl, "VMDB: %u %s records claimed, more "
				 "than its %u VBLK slots", want[k],
				 ldm_kind_name(k == 0 ? LDM_KIND_VOLUME :
					       k == 1 ? LDM_KIND_COMPONENT :
					       k == 2 ? LDM_KIND_PARTITION :
					       LDM_KIND_DISK), n_slots);
			return LDM_BAD;
		}
	pay = vsize - LDM_VBLK_HEAD;
	frags = malloc((n_slots ? n_slots : 1) * sizeof *frags);
	if (!frags)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (unsigned k = first / vsize; k < n_slots; k++) {
		const uint8_t *v = area + (size_t)k * vsize;
		uint16_t num = vmie_be16(v + LDM_VBLK_FRAG);
		uint16_t total = vmie_be16(v + LDM_VBLK_NFRAGS);
		if (memcmp(v, LDM_VBLK_MAGIC, 4)) {
			snprintf(why, wl, "VBLK slot %u (config offset 0x%zx) "
				 "has no VBLK magic", k, (size_t)k * vsize);
			goto out;
		}
		if (vmie_be32(v + LDM_VBLK_SEQ) != k && !bad_seq++)
			ldm_db_warn(db, "VBLK slot %u carries sequence number "
				    "%u", k, vmie_be32(v + LDM_VBLK_SEQ));
		if (!total)
			continue;       /* slot not in use */
		if (total > LDM_MAX_FRAGS || num >= total) {
			snprintf(why, wl, "VBLK slot %u: fragment %u of %u "
				 "(a record has at most %u fragments)", k, num,
				 total, LDM_MAX_FRAGS);
			goto out;
		}
		if (total == 1) {
			struct ldm_obj o;
			r = ldm_rec_parse(v + LDM_VBLK_HEAD, pay, k, &o, why, wl);
			if (!r && o.kind)
				r = ldm_add_obj(db, &cap, &o, err);
			if (r)
				goto out;
			r = LDM_BAD;
			continue;
		}
		frags[nf++] = (struct ldm_frag){ vmie_be32(v + LDM_VBLK_GROUP),
						 num, total, k,
						 v + LDM_VBLK_HEAD };
	}
	r = ldm_join(db, frags, nf, pay, &cap, why, wl, err);
	if (!r)
		r = ldm_link(db, want, why, wl);
out:
	free(frags);
	return r;
}

/* Read and check the PRIVHEAD copy at lba against db (a warning only). */
static int ldm_ph_copy(struct vmie_image *disk, struct vmie_ldm_db *db,
		       uint64_t lba, uint8_t *s, struct vmie_err *err)
{
	struct vmie_ldm_db c = { 0 };
	char why[160];
	int r;

	if (vmie_range_outside(lba * db->ss, db->ss, disk->size)) {
		ldm_db_warn(db, "PRIVHEAD copy at sector %llu is past the end "
			    "of the disk", (unsigned long long)lba);
		return 0;
	}
	r = vmie_image_pread(disk, s, db->ss, lba * db->ss, err);
	if (r)
		return r;
	if (ldm_ph_parse(s, lba, &c, why, sizeof why))
		ldm_db_warn(db, "%s (a copy; the first PRIVHEAD is used)", why);
	else if (strcmp(c.disk_guid, db->disk_guid) ||
		 strcmp(c.group_guid, db->group_guid) ||
		 c.data_start != db->data_start ||
		 c.data_size != db->data_size ||
		 c.config_start != db->config_start ||
		 c.config_size != db->config_size)
		ldm_db_warn(db, "PRIVHEAD copy at sector %llu differs from "
			    "the first one (which is used)",
			    (unsigned long long)lba);
	return 0;
}

/* The sector of the PRIVHEAD used: sector 6 of an MBR disk, the last
 * sector of the LDM metadata partition of a GPT disk. */
static bool ldm_ph_where(const struct vmie_ptable *pt, uint64_t *lba,
			 char *why, size_t wl)
{
	if (pt->type != VMIE_PT_GPT) {
		*lba = LDM_PH_SECTOR_MBR;
		return true;
	}
	for (unsigned i = 0; i < pt->n_parts; i++) {
		const struct vmie_partition *p = &pt->parts[i];
		if (strcmp(p->kind, "ldm-metadata") || p->size < pt->sector_size)
			continue;
		*lba = (p->start + p->size) / pt->sector_size - 1;
		return true;
	}
	snprintf(why, wl, "GPT disk with LDM partitions but no LDM metadata "
		 "partition");
	return false;
}

static int ldm_db_read(struct vmie_image *disk, const struct vmie_ptable *pt,
		       struct vmie_ldm_db **out, char *why, size_t wl,
		       struct vmie_err *err)
{
	struct vmie_ldm_db *db = NULL;
	uint8_t *s = NULL, *area = NULL;
	uint64_t lba, cs, ce, ds, de, toc_start = 0, toc_size = 0, n_sect;
	static const int tocs[4] = { 1, 2, -3, -2 };
	unsigned good = 0;
	int r = LDM_BAD;

	*out = NULL;
	db = calloc(1, sizeof *db);
	if (!db)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	db->ss = pt->sector_size ? pt->sector_size : 512;
	n_sect = disk->size / db->ss;
	s = malloc(db->ss);
	if (!s) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	if (!ldm_ph_where(pt, &lba, why, wl))
		goto out;
	if (lba >= n_sect) {
		snprintf(why, wl, "PRIVHEAD sector %llu is past the end of the "
			 "disk", (unsigned long long)lba);
		goto out;
	}
	r = vmie_image_pread(disk, s, db->ss, lba * db->ss, err);
	if (r)
		goto out;
	r = ldm_ph_parse(s, lba, db, why, wl);
	if (r)
		goto out;
	r = LDM_BAD;
	cs = db->config_start;
	ds = db->data_start;
	if (db->config_size < 8 || db->config_size > LDM_MAX_CONFIG ||
	    vmie_add_u64(cs, db->config_size, &ce) || ce > n_sect) {
		snprintf(why, wl, "PRIVHEAD: database at sectors %llu+%llu is "
			 "outside the disk (%llu sectors) or of an invalid "
			 "size", (unsigned long long)cs,
			 (unsigned long long)db->config_size,
			 (unsigned long long)n_sect);
		goto out;
	}
	if (!db->data_size || vmie_add_u64(ds, db->data_size, &de) ||
	    de > n_sect || (ds < ce && cs < de)) {
		snprintf(why, wl, "PRIVHEAD: data area at sectors %llu+%llu is "
			 "empty, outside the disk (%llu sectors) or over the "
			 "database at %llu", (unsigned long long)ds,
			 (unsigned long long)db->data_size,
			 (unsigned long long)n_sect, (unsigned long long)cs);
		goto out;
	}
	/* the PRIVHEAD copies inside the database */
	{
		uint64_t copies[2] = { cs + LDM_PH_COPY1, ce - 1 };
		for (unsigned i = 0; i < 2; i++) {
			if (copies[i] == lba || copies[i] >= ce)
				continue;
			r = ldm_ph_copy(disk, db, copies[i], s, err);
			if (r)
				goto out;
		}
		if (db->config_size != LDM_DB_SIZE_USUAL)
			ldm_db_warn(db, "database is %llu sectors, not the "
				    "usual %u", (unsigned long long)
				    db->config_size, LDM_DB_SIZE_USUAL);
		r = LDM_BAD;
	}
	/* TOCBLOCKs: the first good one is used, the others compared */
	for (unsigned i = 0; i < 4; i++) {
		uint64_t at = tocs[i] > 0 ? cs + (uint64_t)tocs[i] :
			      ce - (uint64_t)-tocs[i];
		uint64_t st, sz;
		r = vmie_image_pread(disk, s, db->ss, at * db->ss, err);
		if (r)
			goto out;
		r = LDM_BAD;
		if (!ldm_toc_parse(s, &st, &sz))
			continue;
		if (!good++) {
			toc_start = st;
			toc_size = sz;
		} else if (st != toc_start || sz != toc_size) {
			ldm_db_warn(db, "TOCBLOCK at sector %llu places the "
				    "config area at %llu+%llu, the first one at "
				    "%llu+%llu (the first is used)",
				    (unsigned long long)at,
				    (unsigned long long)st,
				    (unsigned long long)sz,
				    (unsigned long long)toc_start,
				    (unsigned long long)toc_size);
		}
	}
	if (!good) {
		snprintf(why, wl, "no TOCBLOCK with a config area at database "
			 "sectors 1, 2, %llu or %llu",
			 (unsigned long long)db->config_size - 3,
			 (unsigned long long)db->config_size - 2);
		goto out;
	}
	if (toc_start < 3 || !toc_size || toc_size > db->config_size ||
	    toc_start > db->config_size - toc_size ||
	    toc_size * db->ss > LDM_MAX_AREA) {
		snprintf(why, wl, "TOCBLOCK: config area %llu+%llu is outside "
			 "the database (%llu sectors) or larger than %llu "
			 "bytes", (unsigned long long)toc_start,
			 (unsigned long long)toc_size,
			 (unsigned long long)db->config_size,
			 (unsigned long long)LDM_MAX_AREA);
		goto out;
	}
	area = malloc(toc_size * db->ss);
	if (!area) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	r = vmie_image_pread(disk, area, toc_size * db->ss,
			     (cs + toc_start) * db->ss, err);
	if (r)
		goto out;
	/* every VBLK slot of the area is looked at */
	r = vmie_budget_entries(disk->budget, toc_size * db->ss / LDM_MIN_VBLK,
				"ldm: VBLK records", err);
	if (r)
		goto out;
	r = ldm_vblks(db, area, toc_size * db->ss, cs + toc_start, why, wl,
		      err);
out:
	free(s);
	free(area);
	if (r) {
		ldm_db_free(db);
		return r;
	}
	*out = db;
	return 0;
}

/* ---- the ldm image driver ---- */

struct ldm_piece {
	uint64_t start, len;    /* volume bytes (linear pieces) */
	struct vmie_image *dev;
	uint64_t off;           /* byte offset on dev */
};

struct ldm_map {
	unsigned n;
	struct ldm_piece *p;    /* linear: sorted by start; striped: columns */
	uint64_t chunk;         /* striped: bytes per chunk, 0 if linear */
	/* writes go through (the import's guest changes, into the overlays
	 * under the volume): simple, spanned and striped volumes; not a
	 * mirror (one plex written would leave the other stale) nor RAID-5
	 * (its parity would not follow) */
	bool writable;
	char type[16];
};

static int ldm_locate(struct vmie_image *img, uint64_t off, uint64_t max,
		      struct vmie_image **dev, uint64_t *at, uint64_t *run,
		      struct vmie_err *err)
{
	const struct ldm_map *m = img->priv;
	if (m->chunk) {
		uint64_t c = off / m->chunk, in = off % m->chunk;
		const struct ldm_piece *p = &m->p[c % m->n];
		*dev = p->dev;
		*at = p->off + (c / m->n) * m->chunk + in;
		*run = vmie_min_u64(max, m->chunk - in);
		return 0;
	}
	unsigned lo = 0, hi = m->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct ldm_piece *p = &m->p[mid];
		if (off < p->start) {
			hi = mid;
		} else if (off - p->start >= p->len) {
			lo = mid + 1;
		} else {
			*dev = p->dev;
			*at = p->off + (off - p->start);
			*run = vmie_min_u64(max, p->len - (off - p->start));
			return 0;
		}
	}
	return VMIE_ERR(err, VMIE_ERANGE, "%s: offset %llu is not mapped",
			img->name, (unsigned long long)off);
}

static int ldm_pread(struct vmie_image *img, void *buf, size_t len,
		     uint64_t off, struct vmie_err *err)
{
	return part_mapped_pread(img, ldm_locate, buf, len, off, err);
}

static int ldm_pwrite(struct vmie_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmie_err *err)
{
	const struct ldm_map *m = img->priv;
	if (!m->writable)
		return VMIE_ERR(err, VMIE_EUNSUPP, "%s: a %s dynamic volume is "
				"not written (its other copies or its parity "
				"would not follow)", img->name, m->type);
	if (off > img->size || len > img->size - off)
		return VMIE_ERR(err, VMIE_ERANGE, "%s: write past the end of "
				"the dynamic volume", img->name);
	return part_mapped_pwrite(img, ldm_locate, buf, len, off, err);
}

static int ldm_block_status(struct vmie_image *img, uint64_t off,
			    uint64_t max_len, uint64_t *pnum, unsigned *status,
			    struct vmie_err *err)
{
	return part_mapped_block_status(img, ldm_locate, off, max_len, pnum,
					status, err);
}

static void ldm_map_free(struct ldm_map *m)
{
	if (m)
		free(m->p);
	free(m);
}

static void ldm_close(struct vmie_image *img)
{
	ldm_map_free(img->priv);
	img->priv = NULL;
}

static int ldm_info(struct vmie_image *img, struct vmie_image_info *info,
		    struct vmie_err *err)
{
	const struct ldm_map *m = img->priv;
	(void)err;
	if (m->chunk) {
		vmie_info_add(info, "columns", "%u", m->n);
		vmie_info_add(info, "stripe_size", "%llu",
			      (unsigned long long)m->chunk);
	} else {
		vmie_info_add(info, "extents", "%u", m->n);
	}
	return 0;
}

static const struct vmie_image_driver ldm_driver = {
	.name = "ldm",
	.description = "Windows dynamic disk (LDM) volume",
	.pread = ldm_pread,
	.pwrite = ldm_pwrite,
	.block_status = ldm_block_status,
	.info = ldm_info,
	.close = ldm_close,
};

int part_ldm_layout(struct vmie_layout *l, struct vmie_image *img,
		    uint64_t off, uint64_t len, unsigned depth,
		    struct vmie_err *err)
{
	const struct ldm_map *m;
	uint64_t end = off + len;   /* inside the volume: checked by the walk */
	int r = 0;

	if (img->drv != &ldm_driver)
		return 1;
	m = img->priv;
	if (m->chunk) {
		r = part_layout_stripes(l, off, len, m->chunk, m->n, err);
		for (unsigned k = 0; !r && k < m->n; k++) {
			r = part_layout_walk(l, m->p[k].dev, m->p[k].off,
					     m->p[k].len, depth + 1, err);
			part_layout_barrier(l);
		}
		return r;
	}
	for (unsigned i = 0; !r && i < m->n && off < end; i++) {
		const struct ldm_piece *p = &m->p[i];
		if (off < p->start || off - p->start >= p->len)
			continue;
		uint64_t n = vmie_min_u64(end - off, p->len - (off - p->start));
		r = part_layout_walk(l, p->dev, p->off + (off - p->start), n,
				     depth + 1, err);
		off += n;
	}
	return r;
}

/* ---- volumes ---- */

static void ldm_volume_clear(struct vmie_ldm_volume *v)
{
	if (v->dev)
		vmie_image_close(v->dev);
	free(v->extents);
	v->dev = NULL;
	v->extents = NULL;
}

static int ldm_ext_vol_cmp(const void *a, const void *b)
{
	const struct vmie_ldm_extent *x = a, *y = b;
	if (x->plex != y->plex)
		return x->plex < y->plex ? -1 : 1;
	if (x->vol_off != y->vol_off)
		return x->vol_off < y->vol_off ? -1 : 1;
	return x->column < y->column ? -1 : x->column > y->column;
}

static int ldm_ext_col_cmp(const void *a, const void *b)
{
	const struct vmie_ldm_extent *x = a, *y = b;
	if (x->plex != y->plex)
		return x->plex < y->plex ? -1 : 1;
	return x->column < y->column ? -1 : x->column > y->column;
}

/* Check the layout of plex k (extents e[0..n), sorted): on success the
 * plex maps vol_size bytes; else why. */
static bool ldm_plex_ok(const struct vmie_ldm_volume *v,
			const struct vmie_ldm_extent *e, unsigned n,
			uint64_t chunk, char *why, size_t wl)
{
	if (!n) {
		snprintf(why, wl, "a component has no partitions");
		return false;
	}
	if (chunk) {
		uint64_t rows;
		for (unsigned i = 0; i < n; i++)
			if (e[i].column != i || e[i].size != e[0].size) {
				snprintf(why, wl, "stripe columns are not 0..%u "
					 "of one size ('%s')", n - 1,
					 e[i].name);
				return false;
			}
		rows = e[0].size / chunk;
		if (rows > UINT64_MAX / chunk / n || v->size > rows * chunk * n) {
			snprintf(why, wl, "%u columns of %llu bytes in %llu-byte "
				 "stripes do not hold the volume (%llu bytes)",
				 n, (unsigned long long)e[0].size,
				 (unsigned long long)chunk,
				 (unsigned long long)v->size);
			return false;
		}
		return true;
	}
	uint64_t next = 0;
	for (unsigned i = 0; i < n && next < v->size; i++) {
		if (e[i].vol_off != next) {
			snprintf(why, wl, "extent '%s' sits at volume offset "
				 "%llu, expected %llu (a gap or an overlap)",
				 e[i].name, (unsigned long long)e[i].vol_off,
				 (unsigned long long)next);
			return false;
		}
		if (vmie_add_u64(next, e[i].size, &next)) {
			snprintf(why, wl, "extent '%s' is too large", e[i].name);
			return false;
		}
	}
	if (next < v->size) {
		snprintf(why, wl, "extents cover %llu of the volume's %llu "
			 "bytes", (unsigned long long)next,
			 (unsigned long long)v->size);
		return false;
	}
	return true;
}

/* Open the plex e[0..n) as an image named name. */
static int ldm_open_plex(struct vmie_ldm_volume *v,
			 const struct vmie_ldm_extent *e, unsigned n,
			 uint64_t chunk, const struct ldm_member *mem,
			 const unsigned *mem_of, struct vmie_err *err)
{
	struct ldm_map *m = calloc(1, sizeof *m);
	struct vmie_image *img = NULL;
	char name[160];

	if (!m || !(m->p = calloc(n, sizeof *m->p)))
		goto nomem;
	m->chunk = chunk;
	vmie_strlcpy(m->type, v->type, sizeof m->type);
	m->writable = v->n_plexes == 1 && strcmp(v->type, "raid5") &&
		      strcmp(v->type, "mirrored");
	for (unsigned i = 0; i < n; i++) {
		const struct ldm_member *d = &mem[mem_of[i]];
		if (!chunk && (e[i].vol_off >= v->size ||
			       (m->n && m->p[m->n - 1].start +
				m->p[m->n - 1].len >= v->size)))
			break;
		m->p[m->n].dev = d->img;
		m->p[m->n].off = e[i].start;
		m->p[m->n].start = e[i].vol_off;
		m->p[m->n].len = chunk ? e[i].size :
				 vmie_min_u64(e[i].size, v->size - e[i].vol_off);
		m->n++;
	}
	img = calloc(1, sizeof *img);
	snprintf(name, sizeof name, "ldm:%s/%s", v->group, v->name);
	if (!img || !(img->name = strdup(name)))
		goto nomem;
	img->drv = &ldm_driver;
	img->src = m->p[0].dev->src;
	if (img->src)
		vmie_src_ref(img->src);
	img->size = v->size;
	img->priv = m;
	vmie_image_share_budget(img, m->p[0].dev, true);
	vmie_strlcpy(img->subformat, v->type, sizeof img->subformat);
	v->dev = img;
	return 0;
nomem:
	free(img);
	ldm_map_free(m);
	return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
}

/* Fill v from volume record vi of db.  mem[0..n_mem) are the disks
 * present; with open, the volume is opened as an image when its extents
 * allow.  Problems go to v->error; fails only for lack of memory. */
static int ldm_volume_build(const struct vmie_ldm_db *db, unsigned vi,
			    const struct ldm_member *mem, unsigned n_mem,
			    bool open, struct vmie_ldm_volume *v,
			    struct vmie_err *err)
{
	const struct ldm_obj *vo = &db->obj[vi];
	unsigned n = 0, plexes = 0, *mem_of = NULL;
	uint8_t ctype = 0;
	uint64_t chunk = 0, columns = 0;
	int r = 0;

	memset(v, 0, sizeof *v);
	vmie_strlcpy(v->group, db->group_name, sizeof v->group);
	vmie_strlcpy(v->group_guid, db->group_guid, sizeof v->group_guid);
	vmie_strlcpy(v->name, vo->name, sizeof v->name);
	vmie_uuid_be(v->guid, vo->vguid);
	vmie_strlcpy(v->hint, vo->hint, sizeof v->hint);
	v->part_type = vo->part_type;
	vmie_strlcpy(v->type, "simple", sizeof v->type);
	if (vmie_mul_u64(vo->size, db->ss, &v->size) ||
	    v->size > VMIE_MAX_VIRTUAL_SIZE) {
		v->size = 0;
		snprintf(v->error, sizeof v->error, "size of %llu sectors is "
			 "too large", (unsigned long long)vo->size);
		return 0;
	}
	if (!v->size) {
		snprintf(v->error, sizeof v->error, "volume record (slot %u) "
			 "gives a size of 0 sectors", vo->slot);
		return 0;
	}
	/* count the extents and look at the components */
	for (int c = vo->child; c >= 0; c = db->obj[c].sibling) {
		const struct ldm_obj *co = &db->obj[c];
		if (plexes++ && co->type != ctype) {
			snprintf(v->error, sizeof v->error, "components of "
				 "different types");
			return 0;
		}
		ctype = co->type;
		chunk = co->chunk;
		columns = co->columns;
		for (int p = co->child; p >= 0; p = db->obj[p].sibling)
			n++;
	}
	v->n_plexes = plexes;
	if (!plexes || plexes > LDM_MAX_PLEXES || n > LDM_MAX_EXTENTS) {
		snprintf(v->error, sizeof v->error, "%u components and %u "
			 "partitions (1..%u and at most %u)", plexes, n,
			 LDM_MAX_PLEXES, LDM_MAX_EXTENTS);
		return 0;
	}
	if (ctype == LDM_COMP_STRIPED && plexes == 1 &&
	    vo->type == LDM_VOL_TYPE_GEN) {
		vmie_strlcpy(v->type, "striped", sizeof v->type);
	} else if (ctype == LDM_COMP_RAID5 && plexes == 1 &&
		   vo->type == LDM_VOL_TYPE_RAID5) {
		vmie_strlcpy(v->type, "raid5", sizeof v->type);
	} else if (ctype == LDM_COMP_SPANNED && vo->type == LDM_VOL_TYPE_GEN) {
		vmie_strlcpy(v->type, plexes > 1 ? "mirrored" : n > 1 ?
			     "spanned" : "simple", sizeof v->type);
	} else {
		snprintf(v->error, sizeof v->error, "unsupported layout: volume "
			 "type %u with %u component(s) of type %u", vo->type,
			 plexes, ctype);
		return 0;
	}
	if (ctype != LDM_COMP_SPANNED) {
		if (!chunk || vmie_mul_u64(chunk, db->ss, &v->stripe_size) ||
		    v->stripe_size > ((uint64_t)1 << 30) ||
		    (columns && columns != n)) {
			snprintf(v->error, sizeof v->error, "stripe size %llu "
				 "sectors or %llu columns over %u partitions "
				 "is invalid", (unsigned long long)chunk,
				 (unsigned long long)columns, n);
			v->stripe_size = 0;
			return 0;
		}
		v->columns = n;
	}
	v->extents = calloc(n, sizeof *v->extents);
	mem_of = calloc(n, sizeof *mem_of);
	if (!v->extents || !mem_of) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	plexes = 0;
	for (int c = vo->child; c >= 0; c = db->obj[c].sibling, plexes++) {
		for (int p = db->obj[c].child; p >= 0; p = db->obj[p].sibling) {
			const struct ldm_obj *po = &db->obj[p];
			const struct ldm_obj *dk =
				&db->obj[ldm_find(db, po->disk_id,
						  LDM_KIND_DISK)];
			struct vmie_ldm_extent *e = &v->extents[v->n_extents];
			uint64_t end;
			vmie_strlcpy(e->name, po->name, sizeof e->name);
			vmie_strlcpy(e->disk_guid, dk->guid, sizeof e->disk_guid);
			vmie_strlcpy(e->disk_name, dk->name, sizeof e->disk_name);
			e->plex = plexes;
			e->column = po->index > UINT32_MAX ? UINT32_MAX :
				    (unsigned)po->index;
			e->dev = -1;
			if (vmie_mul_u64(po->start, db->ss, &e->data_off) ||
			    vmie_mul_u64(po->size, db->ss, &e->size) ||
			    vmie_mul_u64(po->vol_off, db->ss, &e->vol_off) ||
			    !po->size) {
				snprintf(v->error, sizeof v->error, "partition "
					 "'%s' has an invalid size or offset",
					 po->name);
				e->data_off = e->size = e->vol_off = 0;
			}
			for (unsigned m = 0; m < n_mem; m++) {
				const struct ldm_member *d = &mem[m];
				if (strcmp(d->guid, dk->guid))
					continue;
				mem_of[v->n_extents] = m;
				e->dev = d->dev;
				if (vmie_add_u64(po->start, po->size, &end) ||
				    end > d->data_size ||
				    vmie_add_u64(d->data_start, po->start,
						 &end) ||
				    vmie_mul_u64(end, d->ss, &e->start) ||
				    vmie_range_outside(e->start, e->size,
						       d->disk_size)) {
					if (!v->error[0])
						snprintf(v->error,
							 sizeof v->error,
							 "partition '%.32s' "
							 "(sectors %llu+%llu of "
							 "%.32s's data area) runs "
							 "past the end of the "
							 "disk or of its data "
							 "area (%llu sectors)",
							 po->name,
							 (unsigned long long)
							 po->start,
							 (unsigned long long)
							 po->size, dk->name,
							 (unsigned long long)
							 d->data_size);
					e->start = 0;
					e->dev = -1;
				}
				break;
			}
			if (e->dev >= 0 && e->dev < 64)
				v->dev_mask |= (uint64_t)1 << e->dev;
			v->n_extents++;
		}
	}
	if (v->error[0])
		goto out;
	/* sort the extents (plex, then volume offset or column), keeping
	 * mem_of in step: sort an index (n <= LDM_MAX_EXTENTS) */
	{
		struct vmie_ldm_extent *tmp = malloc(n * sizeof *tmp);
		unsigned *mt = malloc(n * sizeof *mt);
		unsigned *ord = malloc(n * sizeof *ord);
		if (!tmp || !mt || !ord) {
			free(tmp);
			free(mt);
			free(ord);
			r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(tmp, v->extents, n * sizeof *tmp);
		for (unsigned i = 0; i < n; i++) {
			unsigned j = i;
			while (j > 0 && (v->columns ?
			       ldm_ext_col_cmp(&tmp[ord[j - 1]], &tmp[i]) :
			       ldm_ext_vol_cmp(&tmp[ord[j - 1]], &tmp[i])) > 0) {
				ord[j] = ord[j - 1];
				j--;
			}
			ord[j] = i;
		}
		for (unsigned i = 0; i < n; i++) {
			v->extents[i] = tmp[ord[i]];
			mt[i] = mem_of[ord[i]];
		}
		memcpy(mem_of, mt, n * sizeof *mt);
		free(tmp);
		free(mt);
		free(ord);
	}
	/* check every plex; open the first complete one */
	{
		unsigned i = 0;
		char why[200] = "";
		bool opened = false;
		while (i < n) {
			unsigned j = i;
			bool present = true;
			while (j < n && v->extents[j].plex == v->extents[i].plex)
				j++;
			if (!ldm_plex_ok(v, v->extents + i, j - i,
					 v->columns ? v->stripe_size : 0, why,
					 sizeof why)) {
				snprintf(v->error, sizeof v->error, "%s", why);
				goto out;
			}
			for (unsigned k = i; k < j; k++)
				if (v->extents[k].dev < 0) {
					if (!why[0])
						snprintf(why, sizeof why, "disk "
							 "%s (%s) is missing",
							 v->extents[k].disk_name,
							 v->extents[k].disk_guid);
					present = false;
				}
			if (open && present && !opened &&
			    strcmp(v->type, "raid5")) {
				r = ldm_open_plex(v, v->extents + i, j - i,
						  v->columns ? v->stripe_size : 0,
						  mem, mem_of + i, err);
				if (r)
					goto out;
				opened = true;
				v->dev_mask = 0;
				for (unsigned k = i; k < j; k++)
					if (v->extents[k].dev < 64)
						v->dev_mask |= (uint64_t)1 <<
							       v->extents[k].dev;
			}
			i = j;
		}
		if (open && !opened)
			snprintf(v->error, sizeof v->error, "%s",
				 !strcmp(v->type, "raid5") ? "RAID-5 volumes are "
				 "reported, not read" : why);
	}
out:
	free(mem_of);
	return r;
}

static int ldm_add_volume(struct vmie_ldm_volume **arr, unsigned *n,
			  struct vmie_ldm_volume **v, struct vmie_err *err)
{
	if ((*n & (*n - 1)) == 0) {
		unsigned cap = *n ? *n * 2 : 4;
		struct vmie_ldm_volume *a = realloc(*arr, cap * sizeof *a);
		if (!a)
			return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		*arr = a;
	}
	*v = &(*arr)[(*n)++];
	memset(*v, 0, sizeof **v);
	return 0;
}

/* ---- per disk: the summary in the ptable ---- */

int part_ldm_read(struct vmie_image *disk, struct vmie_ptable *pt,
		  struct vmie_err *err)
{
	struct vmie_ldm_db *db = NULL;
	struct ldm_member self;
	char why[200] = "";
	int r;

	r = ldm_db_read(disk, pt, &db, why, sizeof why, err);
	if (r < 0)
		return r;
	if (r) {
		vmie_strlcpy(pt->ldm_error, why, sizeof pt->ldm_error);
		part_warn(pt, "ldm: database unreadable: %s", why);
		return 0;
	}
	for (unsigned i = 0; i < db->n_warn; i++)
		part_warn(pt, "ldm: %s", db->warn[i]);
	pt->ldm_db = db;
	vmie_strlcpy(pt->ldm_disk_guid, db->disk_guid, sizeof pt->ldm_disk_guid);
	vmie_strlcpy(pt->ldm_group, db->group_name, sizeof pt->ldm_group);
	vmie_strlcpy(pt->ldm_group_guid, db->group_guid,
		     sizeof pt->ldm_group_guid);
	self = (struct ldm_member){ db->disk_guid, NULL, 0, db->ss,
				    db->data_start, db->data_size, disk->size };
	for (unsigned i = 0; i < db->n_obj; i++) {
		struct vmie_ldm_volume *v;
		if (db->obj[i].kind != LDM_KIND_VOLUME)
			continue;
		r = ldm_add_volume(&pt->ldm_volumes, &pt->n_ldm_volumes, &v,
				   err);
		if (!r)
			r = ldm_volume_build(db, i, &self, 1, false, v, err);
		if (r) {
			part_ldm_free(pt);
			return r;
		}
		if (v->error[0])
			part_warn(pt, "ldm: volume %s: %s", v->name, v->error);
	}
	return 0;
}

void part_ldm_free(struct vmie_ptable *pt)
{
	for (unsigned i = 0; i < pt->n_ldm_volumes; i++)
		ldm_volume_clear(&pt->ldm_volumes[i]);
	free(pt->ldm_volumes);
	pt->ldm_volumes = NULL;
	pt->n_ldm_volumes = 0;
	ldm_db_free(pt->ldm_db);
	pt->ldm_db = NULL;
}

/* ---- across disks ---- */

static void ldm_warn(struct vmie_ldm *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ldm_warn(struct vmie_ldm *l, const char *fmt, ...)
{
	va_list ap;
	if (l->n_warnings >= VMIE_PT_MAX_WARN) {
		vmie_strlcpy(l->warnings[VMIE_PT_MAX_WARN - 1],
			     "(more warnings not shown)", sizeof l->warnings[0]);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(l->warnings[l->n_warnings], sizeof l->warnings[0], fmt, ap);
	va_end(ap);
	l->n_warnings++;
}

/* Build the group whose members are the disks i with grp[i] == g. */
static int ldm_build_group(struct vmie_ldm *out, struct vmie_image *const *devs,
			   const struct vmie_ldm_db *const *dbs, const int *grp,
			   unsigned n, int g, struct vmie_err *err)
{
	const struct vmie_ldm_db *best = NULL;
	struct ldm_member *mem = NULL;
	struct vmie_ldm_group *gr;
	unsigned n_mem = 0;
	int r = 0;

	for (unsigned i = 0; i < n; i++)
		if (grp[i] == g && (!best || dbs[i]->seq > best->seq))
			best = dbs[i];
	mem = calloc(n, sizeof *mem);
	if (!mem)
		return VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		if (grp[i] != g)
			continue;
		if (dbs[i]->seq != best->seq)
			ldm_warn(out, "ldm: %s holds an older copy of the "
				 "database of disk group %s (sequence %llu, "
				 "newest %llu); the newest is used",
				 devs[i]->name, best->group_name,
				 (unsigned long long)dbs[i]->seq,
				 (unsigned long long)best->seq);
		mem[n_mem++] = (struct ldm_member){ dbs[i]->disk_guid, devs[i],
						    (int)i, dbs[i]->ss,
						    dbs[i]->data_start,
						    dbs[i]->data_size,
						    devs[i]->size };
	}
	gr = realloc(out->groups, (out->n_groups + 1) * sizeof *gr);
	if (!gr) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	out->groups = gr;
	gr = &out->groups[out->n_groups++];
	memset(gr, 0, sizeof *gr);
	vmie_strlcpy(gr->name, best->group_name, sizeof gr->name);
	vmie_strlcpy(gr->guid, best->group_guid, sizeof gr->guid);
	gr->seq = best->seq;
	for (unsigned i = 0; i < best->n_obj; i++) {
		if (best->obj[i].kind != LDM_KIND_DISK)
			continue;
		gr->n_disks++;
		for (unsigned m = 0; m < n_mem; m++)
			if (!strcmp(mem[m].guid, best->obj[i].guid)) {
				gr->n_present++;
				break;
			}
	}
	for (unsigned m = 0; m < n_mem; m++)
		if (mem[m].ss != best->ss) {
			ldm_warn(out, "ldm: disk group %s: its disks have "
				 "different sector sizes; volumes not opened",
				 best->group_name);
			n_mem = 0;
			break;
		}
	for (unsigned i = 0; i < best->n_obj; i++) {
		struct vmie_ldm_volume *v;
		if (best->obj[i].kind != LDM_KIND_VOLUME)
			continue;
		r = ldm_add_volume(&out->volumes, &out->n_volumes, &v, err);
		if (!r)
			r = ldm_volume_build(best, i, mem, n_mem, true, v, err);
		if (r)
			goto out;
	}
out:
	free(mem);
	return r;
}

int vmie_ldm_scan(struct vmie_image *const *devs,
		  const struct vmie_ptable *const *pts, unsigned n,
		  struct vmie_ldm *out, struct vmie_err *err)
{
	struct vmie_ptable *own = NULL;
	const struct vmie_ldm_db **dbs = NULL;
	int *grp = NULL, n_grp = 0;
	struct vmie_err first = { 0 };
	unsigned problems = 0;
	int r = 0;

	memset(out, 0, sizeof *out);
	if (n > LDM_MAX_DEVS)
		return VMIE_ERR(err, VMIE_EINVAL, "ldm: %u devices to scan "
				"(limit %u)", n, LDM_MAX_DEVS);
	dbs = calloc(n ? n : 1, sizeof *dbs);
	grp = calloc(n ? n : 1, sizeof *grp);
	if (!pts)
		own = calloc(n ? n : 1, sizeof *own);
	if (!dbs || !grp || (!pts && !own)) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct vmie_ptable *pt = pts ? pts[i] : &own[i];
		grp[i] = -1;
		if (!pts) {
			struct vmie_err e = { 0 };
			r = vmie_ptable_read(devs[i], &own[i], &e);
			if (r == VMIE_ENOMEM || r == VMIE_EIO) {
				if (err)
					*err = e;
				goto out;
			}
			r = 0;
		}
		if (!pt || !pt->ldm)
			continue;
		if (!pt->ldm_db) {
			ldm_warn(out, "ldm: %s: database unreadable: %s",
				 devs[i]->name, pt->ldm_error);
			if (!problems++)
				VMIE_CORRUPT(&first, "ldm: %s: %s",
					     devs[i]->name, pt->ldm_error);
			continue;
		}
		dbs[i] = pt->ldm_db;
		for (unsigned j = 0; j < i; j++)
			if (dbs[j] && !strcmp(dbs[j]->disk_guid,
					      dbs[i]->disk_guid)) {
				ldm_warn(out, "ldm: %s and %s carry the same disk "
					 "GUID %s; using %s", devs[j]->name,
					 devs[i]->name, dbs[i]->disk_guid,
					 devs[j]->name);
				dbs[i] = NULL;
				break;
			}
	}
	for (unsigned i = 0; i < n; i++) {
		if (!dbs[i] || grp[i] >= 0)
			continue;
		if (n_grp >= LDM_MAX_GROUPS) {
			ldm_warn(out, "ldm: more than %u disk groups; the rest "
				 "are ignored", LDM_MAX_GROUPS);
			break;
		}
		for (unsigned j = i; j < n; j++)
			if (dbs[j] && !strcmp(dbs[j]->group_guid,
					      dbs[i]->group_guid))
				grp[j] = n_grp;
		r = ldm_build_group(out, devs, dbs, grp, n, n_grp, err);
		if (r)
			goto out;
		n_grp++;
	}
	if (!out->n_groups && problems) {
		if (err)
			*err = first;
		r = first.code ? first.code : VMIE_ECORRUPT;
	}
out:
	if (own)
		for (unsigned i = 0; i < n; i++)
			vmie_ptable_free(&own[i]);
	free(own);
	free(dbs);
	free(grp);
	if (r)
		vmie_ldm_free(out);
	return r;
}

void vmie_ldm_free(struct vmie_ldm *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n_volumes; i++)
		ldm_volume_clear(&l->volumes[i]);
	free(l->volumes);
	free(l->groups);
	l->volumes = NULL;
	l->groups = NULL;
	l->n_volumes = l->n_groups = 0;
}
