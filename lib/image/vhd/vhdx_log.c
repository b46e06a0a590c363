/*
 * vhdx log replay, in memory, following [MS-VHDX] section 2.3 ("Log") and
 * 2.3.3 ("Log Replay").  Layouts are in vhdx_disk.h.
 *
 * A VHDX whose active header has a non-zero log GUID may have metadata
 * updates (BAT pages, metadata items, ...) that reached the log but not
 * their final place.  They must be applied before anything but the headers
 * is read.  The user's file is never written: this file builds a byte
 * source that reads the original source with the replayed writes laid on
 * top, and the driver parses region table, metadata and BAT through it.
 *
 *   1. Read the whole log (at most VHDX_LOG_MAX bytes) into memory.
 *   2. Scan it 4 KiB sector by sector for valid entries: "loge" signature,
 *      our log GUID, sane lengths, valid descriptors ("zero"/"desc" with the
 *      entry's sequence number, 4 KiB aligned), data sectors with "data" and
 *      the sequence number, and finally the CRC-32C over the entire entry.
 *      Entries may wrap around the end of the circular log.
 *   3. The active sequence: take valid entries from the highest sequence
 *      number down; the first whose tail field leads, through entries with
 *      consecutive sequence numbers, to itself is the head.  Entries newer
 *      than it, and torn entries, are ignored (they were never committed).
 *   4. Apply the descriptors of the sequence in order (tail to head); where
 *      writes overlap, the later one wins.  The result is a sorted list of
 *      disjoint extents consulted by the source's pread.
 * The CRC work is bounded (a hostile log cannot make the scan quadratic in
 * CRC bytes beyond a fixed budget).
 */
#include "core/checked.h"
#include "core/util.h"
#include "vhdx_disk.h"
#include "vhdx_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of CRC-32C the scan may compute, as a multiple of the log size. */
#define VHDXLOG_CRC_BUDGET 16u

struct vhdxlog_entry {
	uint32_t pos;              /* offset in the log */
	uint32_t sectors;          /* entry length / 4 KiB */
	struct vhdx_log_header_disk h;
};

/* One write of the replay, in log order. */
struct vhdxlog_write {
	uint64_t off, end;
	const uint8_t *data;       /* 4 KiB sector, or NULL for zeros */
};

/* One extent of the final map. */
struct vhdxlog_ext {
	uint64_t off, end;
	const uint8_t *data;       /* data for [off, end), or NULL: zeros */
};

struct vhdxlog_src {
	struct vmie_src *base;
	struct vhdxlog_ext *ext;
	size_t n_ext;
	uint8_t *sectors;          /* replayed data sectors */
};

static const uint8_t *vhdxlog_sector(const uint8_t *log, uint64_t len,
				     uint64_t pos, uint64_t k)
{
	return log + (pos + k * VHDX_LOG_SECTOR) % len;
}

/* Validate the entry at pos; on success fill *e.  *budget counts down the
 * CRC bytes the scan may still spend. */
static bool vhdxlog_entry_valid(const uint8_t *log, uint64_t len,
				uint32_t pos, const uint8_t guid[16],
				struct vhdxlog_entry *e, uint64_t *budget,
				bool *torn)
{
	struct vhdx_log_header_disk h;
	uint64_t nsec, dsec, ndata = 0;
	*torn = false;
	vhdx_log_header_decode(&h, log + pos);
	if (memcmp(h.signature, "loge", 4) || memcmp(h.log_guid, guid, 16))
		return false;
	if (h.entry_length % VHDX_LOG_SECTOR || !h.entry_length ||
	    h.entry_length > len || !h.sequence)
		goto bad;
	nsec = h.entry_length / VHDX_LOG_SECTOR;
	dsec = vhdx_log_desc_sectors(h.descriptor_count);
	if (dsec > nsec)
		goto bad;
	for (uint64_t i = 0; i < h.descriptor_count; i++) {
		uint64_t at = 64 + 32 * i;
		const uint8_t *p = vhdxlog_sector(log, len, pos,
						  at / VHDX_LOG_SECTOR) +
				   at % VHDX_LOG_SECTOR;
		struct vhdx_log_desc_disk d;
		vhdx_log_desc_decode(&d, p);
		if (d.sequence != h.sequence || d.file_offset % VHDX_LOG_SECTOR)
			goto bad;
		if (!memcmp(d.signature, "zero", 4)) {
			if (d.leading_bytes % VHDX_LOG_SECTOR)
				goto bad;
		} else if (!memcmp(d.signature, "desc", 4)) {
			const uint8_t *s;
			if (dsec + ndata >= nsec)
				goto bad;
			s = vhdxlog_sector(log, len, pos, dsec + ndata);
			if (memcmp(s, "data", 4) ||
			    vmie_le32(s + 4) != (uint32_t)(h.sequence >> 32) ||
			    vmie_le32(s + 4092) != (uint32_t)h.sequence)
				goto bad;
			ndata++;
		} else {
			goto bad;
		}
	}
	/* CRC-32C over the whole entry, checksum field as zero. */
	if (*budget < h.entry_length)
		goto bad;
	*budget -= h.entry_length;
	{
		static const uint8_t zero[4];
		const uint8_t *s0 = log + pos;
		uint32_t c = vmie_crc32c(0, s0, 4);
		c = vmie_crc32c(c, zero, 4);
		c = vmie_crc32c(c, s0 + 8, VHDX_LOG_SECTOR - 8);
		for (uint64_t k = 1; k < nsec; k++)
			c = vmie_crc32c(c, vhdxlog_sector(log, len, pos, k),
					VHDX_LOG_SECTOR);
		if (c != h.checksum)
			goto bad;
	}
	e->pos = pos;
	e->sectors = (uint32_t)nsec;
	e->h = h;
	return true;
bad:
	*torn = true;
	return false;
}

static int vhdxlog_find(const struct vhdxlog_entry *v, size_t n, uint32_t pos)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].pos == pos ? (int)lo : -1;
}

static int vhdxlog_seq_desc(const void *a, const void *b)
{
	const struct vhdxlog_entry *x = *(const struct vhdxlog_entry *const *)a;
	const struct vhdxlog_entry *y = *(const struct vhdxlog_entry *const *)b;
	return x->h.sequence > y->h.sequence ? -1 : x->h.sequence < y->h.sequence;
}

/* Sweep events for building the final map. */
struct vhdxlog_ev {
	uint64_t at;
	uint32_t idx;
	bool start;
};

static int vhdxlog_ev_cmp(const void *a, const void *b)
{
	const struct vhdxlog_ev *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Max-heap of write indexes, with lazy deletion. */
static void vhdxlog_heap_push(uint32_t *h, size_t *n, uint32_t v)
{
	size_t i = (*n)++;
	h[i] = v;
	while (i && h[(i - 1) / 2] < h[i]) {
		uint32_t t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void vhdxlog_heap_pop(uint32_t *h, size_t *n)
{
	size_t i = 0;
	h[0] = h[--(*n)];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *n && h[l] > h[m])
			m = l;
		if (r < *n && h[r] > h[m])
			m = r;
		if (m == i)
			break;
		uint32_t t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Turn writes (in order; later wins) into sorted disjoint extents. */
static int vhdxlog_flatten(const struct vhdxlog_write *w, size_t n,
			   struct vhdxlog_ext **out, size_t *n_out,
			   struct vmie_err *err)
{
	struct vhdxlog_ev *ev = malloc((2 * n + 1) * sizeof *ev);
	uint32_t *heap = malloc((n + 1) * sizeof *heap);
	bool *active = calloc(n + 1, sizeof *active);
	struct vhdxlog_ext *ext = malloc((2 * n + 1) * sizeof *ext);
	size_t ne = 0, nh = 0, nx = 0;
	int r = 0;
	if (!ev || !heap || !active || !ext) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory replaying "
			     "the log");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ev[ne++] = (struct vhdxlog_ev){ w[i].off, (uint32_t)i, true };
		ev[ne++] = (struct vhdxlog_ev){ w[i].end, (uint32_t)i, false };
	}
	qsort(ev, ne, sizeof *ev, vhdxlog_ev_cmp);
	for (size_t i = 0; i < ne;) {
		uint64_t at = ev[i].at;
		for (; i < ne && ev[i].at == at; i++) {
			active[ev[i].idx] = ev[i].start;
			if (ev[i].start)
				vhdxlog_heap_push(heap, &nh, ev[i].idx);
		}
		while (nh && !active[heap[0]])
			vhdxlog_heap_pop(heap, &nh);
		if (!nh || i == ne)
			continue;
		const struct vhdxlog_write *top = &w[heap[0]];
		uint64_t end = ev[i].at;
		const uint8_t *d = top->data ? top->data + (at - top->off) : NULL;
		if (nx && ext[nx - 1].end == at &&
		    ((!d && !ext[nx - 1].data) ||
		     (d && ext[nx - 1].data &&
		      ext[nx - 1].data + (at - ext[nx - 1].off) == d))) {
			ext[nx - 1].end = end;
			continue;
		}
		ext[nx++] = (struct vhdxlog_ext){ at, end, d };
	}
	*out = ext;
	*n_out = nx;
	ext = NULL;
out:
	free(ev);
	free(heap);
	free(active);
	free(ext);
	return r;
}

static int vhdxlog_pread(struct vmie_src *s, void *buf, size_t len,
			 uint64_t off, struct vmie_err *err)
{
	struct vhdxlog_src *ls = s->priv;
	uint8_t *p = buf;
	size_t lo = 0, hi = ls->n_ext;
	if (vmie_range_outside(off, len, s->size))
		return VMIE_CORRUPT(err, "%s: read of %zu bytes at %llu is past "
				    "the end (%llu bytes): truncated", s->name,
				    len, (unsigned long long)off,
				    (unsigned long long)s->size);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ls->ext[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (len) {
		const struct vhdxlog_ext *e = lo < ls->n_ext ? &ls->ext[lo] : NULL;
		size_t n;
		if (e && e->off <= off) {
			n = (size_t)vmie_min_u64(len, e->end - off);
			if (e->data)
				memcpy(p, e->data + (off - e->off), n);
			else
				memset(p, 0, n);
			lo++;
		} else {
			n = (size_t)vmie_min_u64(len, e ? e->off - off : len);
			/* the replayed file may be longer than the source */
			size_t in = off >= ls->base->size ? 0 :
				    (size_t)vmie_min_u64(n, ls->base->size - off);
			if (in) {
				int r = vmie_src_pread(ls->base, p, in, off, err);
				if (r)
					return r;
			}
			memset(p + in, 0, n - in);
		}
		p += n, off += n, len -= n;
	}
	return 0;
}

static void vhdxlog_close(struct vmie_src *s)
{
	struct vhdxlog_src *ls = s->priv;
	vmie_src_unref(ls->base);
	free(ls->ext);
	free(ls->sectors);
	free(ls);
}

static const struct vmie_src_ops vhdxlog_ops = {
	.kind = "vhdx-log-replay",
	.pread = vhdxlog_pread,
	.close = vhdxlog_close,
};

int vmie_vhdx_log_replay(struct vmie_src *src, const char *name,
			 const uint8_t log_guid[16], uint64_t log_off,
			 uint64_t log_len, struct vmie_src **out,
			 struct vhdx_log_result *res, struct vmie_err *err)
{
	uint8_t *log = NULL;
	struct vhdxlog_entry *ents = NULL, **order = NULL, **seq = NULL;
	struct vhdxlog_write *w = NULL;
	struct vhdxlog_src *ls = NULL;
	size_t n_ents = 0, n_seq = 0, n_w = 0, n_data = 0;
	uint64_t budget, new_size = src->size;
	int r = 0;

	memset(res, 0, sizeof *res);
	*out = NULL;
	if (log_off < VHDX_MiB || log_off % VHDX_MiB || log_len % VHDX_MiB ||
	    !log_len)
		return VMIE_CORRUPT(err, "vhdx: %s: log at offset 0x%llx, "
				    "length %llu is not in whole MiB", name,
				    (unsigned long long)log_off,
				    (unsigned long long)log_len);
	if (log_len > VHDX_LOG_MAX)
		return VMIE_ERR(err, VMIE_EUNSUPP, "vhdx: %s: the log is %llu "
				"MiB; vmie replays logs of up to %u MiB",
				name, (unsigned long long)(log_len >> 20),
				VHDX_LOG_MAX >> 20);
	if (vmie_range_outside(log_off, log_len, src->size))
		return VMIE_CORRUPT(err, "vhdx: %s: log at offset 0x%llx (%llu "
				    "bytes) extends past the end of the file "
				    "(%llu bytes)", name,
				    (unsigned long long)log_off,
				    (unsigned long long)log_len,
				    (unsigned long long)src->size);
	log = malloc(log_len);
	ents = malloc(log_len / VHDX_LOG_SECTOR * sizeof *ents);
	if (!log || !ents) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory for the log");
		goto out;
	}
	/* the whole log is read once; each 4 KiB sector may start an entry */
	r = vmie_budget_read(src->budget, log_len, "vhdx: log", err);
	if (!r)
		r = vmie_budget_entries(src->budget, log_len / VHDX_LOG_SECTOR,
					"vhdx: log entries", err);
	if (!r)
		r = vmie_src_pread(src, log, log_len, log_off, err);
	if (r)
		goto out;

	/* 2. valid entries, in log order */
	budget = VHDXLOG_CRC_BUDGET * log_len;
	for (uint64_t pos = 0; pos < log_len;) {
		bool torn;
		if (vhdxlog_entry_valid(log, log_len, (uint32_t)pos, log_guid,
					&ents[n_ents], &budget, &torn)) {
			pos += (uint64_t)ents[n_ents].sectors * VHDX_LOG_SECTOR;
			n_ents++;
		} else {
			res->ignored += torn;
			pos += VHDX_LOG_SECTOR;
		}
	}
	if (!n_ents)
		goto out;

	/* 3. the active sequence */
	order = malloc(n_ents * sizeof *order);
	seq = malloc(n_ents * sizeof *seq);
	if (!order || !seq) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory for the log");
		goto out;
	}
	for (size_t i = 0; i < n_ents; i++)
		order[i] = &ents[i];
	qsort(order, n_ents, sizeof *order, vhdxlog_seq_desc);
	for (size_t c = 0; c < n_ents && !n_seq; c++) {
		const struct vhdxlog_entry *head = order[c];
		int at;
		if (head->h.tail % VHDX_LOG_SECTOR || head->h.tail >= log_len)
			continue;
		at = vhdxlog_find(ents, n_ents, head->h.tail);
		if (at < 0)
			continue;
		n_seq = 0;
		seq[n_seq++] = &ents[at];
		while (seq[n_seq - 1] != head && n_seq < n_ents) {
			const struct vhdxlog_entry *cur = seq[n_seq - 1];
			uint32_t next = (uint32_t)((cur->pos + (uint64_t)cur->sectors
					* VHDX_LOG_SECTOR) % log_len);
			at = vhdxlog_find(ents, n_ents, next);
			if (at < 0 || ents[at].h.sequence != cur->h.sequence + 1)
				break;
			seq[n_seq++] = &ents[at];
		}
		if (seq[n_seq - 1] != head)
			n_seq = 0;
		else
			res->ignored += (unsigned)c;
	}
	if (!n_seq)
		goto out;
	res->entries = (unsigned)n_seq;
	res->first_seq = seq[0]->h.sequence;
	res->last_seq = seq[n_seq - 1]->h.sequence;
	if (seq[n_seq - 1]->h.flushed_file_offset > src->size) {
		r = VMIE_CORRUPT(err, "vhdx: %s: the log says the file was at "
				 "least %llu bytes long, but it is %llu bytes "
				 "(truncated)", name,
				 (unsigned long long)
				 seq[n_seq - 1]->h.flushed_file_offset,
				 (unsigned long long)src->size);
		goto out;
	}
	if (seq[n_seq - 1]->h.last_file_offset > new_size)
		new_size = seq[n_seq - 1]->h.last_file_offset;

	/* 4. collect the writes */
	size_t n_desc = 0;
	for (size_t i = 0; i < n_seq; i++)
		n_desc += seq[i]->h.descriptor_count;
	w = malloc((n_desc + 1) * sizeof *w);
	ls = calloc(1, sizeof *ls);
	if (!w || !ls) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory for the log");
		goto out;
	}
	ls->sectors = malloc(n_desc ? n_desc * VHDX_LOG_SECTOR : 1);
	if (!ls->sectors) {
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory for the log");
		goto out;
	}
	for (size_t i = 0; i < n_seq; i++) {
		const struct vhdxlog_entry *e = seq[i];
		uint64_t dsec = vhdx_log_desc_sectors(e->h.descriptor_count);
		uint64_t k = 0;
		for (uint64_t j = 0; j < e->h.descriptor_count; j++) {
			uint64_t at = 64 + 32 * j;
			struct vhdx_log_desc_disk d;
			vhdx_log_desc_decode(&d, vhdxlog_sector(log, log_len,
					     e->pos, at / VHDX_LOG_SECTOR) +
					     at % VHDX_LOG_SECTOR);
			uint64_t len = VHDX_LOG_SECTOR, end;
			const uint8_t *data = NULL;
			if (!memcmp(d.signature, "zero", 4)) {
				len = d.leading_bytes;
			} else {
				const uint8_t *s = vhdxlog_sector(log, log_len,
						e->pos, dsec + k++);
				uint8_t *dst = ls->sectors + n_data *
					       VHDX_LOG_SECTOR;
				vmie_put_le64(dst, d.leading_bytes);
				memcpy(dst + 8, s + 8, 4084);
				vmie_put_le32(dst + 4092, d.trailing_bytes);
				data = dst;
				n_data++;
			}
			if (!len)
				continue;
			if (vmie_add_u64(d.file_offset, len, &end) ||
			    end > VMIE_MAX_VIRTUAL_SIZE) {
				r = VMIE_CORRUPT(err, "vhdx: %s: log entry %llu "
						 "writes at 0x%llx+%llu, past "
						 "any possible file size", name,
						 (unsigned long long)e->h.sequence,
						 (unsigned long long)d.file_offset,
						 (unsigned long long)len);
				goto out;
			}
			if (end > new_size)
				new_size = end;
			w[n_w++] = (struct vhdxlog_write){ d.file_offset, end,
							   data };
		}
	}
	res->descriptors = (unsigned)n_w;
	res->replayed_size = new_size;
	r = vhdxlog_flatten(w, n_w, &ls->ext, &ls->n_ext, err);
	if (r)
		goto out;

	struct vmie_src *s = calloc(1, sizeof *s);
	char *nm = malloc(strlen(name) + 20);
	if (!s || !nm) {
		free(s);
		free(nm);
		r = VMIE_ERR(err, VMIE_ENOMEM, "vhdx: out of memory");
		goto out;
	}
	sprintf(nm, "%s (log replayed)", name);
	s->ops = &vhdxlog_ops;
	s->size = new_size;
	s->name = nm;
	s->refs = 1;
	s->priv = ls;
	ls->base = src;
	vmie_src_ref(src);
	ls = NULL;
	*out = s;
out:
	if (ls) {
		free(ls->ext);
		free(ls->sectors);
		free(ls);
	}
	free(w);
	free(seq);
	free(order);
	free(ents);
	free(log);
	return r;
}
