/*
 * Tar header writer for the OVA writer: POSIX ustar headers, with a pax
 * extended header (POSIX.1-2008 pax, "pax Interchange Format": records
 * "len key=value\n", keys path and size) when a name is longer than 100
 * bytes or a size does not fit the 11 octal digits (8 GiB and more).
 * Layout in tar.h.
 */
#include "tar.h"

#include <stdio.h>
#include <string.h>

static bool tarw_needs_pax(const char *name, uint64_t size)
{
	return strlen(name) > TAR_LEN_NAME || size > TAR_USTAR_MAX_SIZE;
}

size_t vmie_tar_header_len(const char *name, uint64_t size)
{
	return tarw_needs_pax(name, size) ? 3 * TAR_BLOCK : TAR_BLOCK;
}

/* Write v as zero-padded octal in a field of len bytes (len-1 digits and
 * a NUL). */
static void tarw_octal(uint8_t *f, size_t len, uint64_t v)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%0*llo", (int)(len - 1),
		 (unsigned long long)v);
	memcpy(f, tmp, len - 1);
	f[len - 1] = 0;
}

static void tarw_ustar(uint8_t *h, const char *name, char type, uint64_t size,
		       uint64_t mtime)
{
	memset(h, 0, TAR_BLOCK);
	size_t nl = strlen(name);
	if (nl > TAR_LEN_NAME)       /* the pax path record has the rest */
		name += nl - TAR_LEN_NAME, nl = TAR_LEN_NAME;
	memcpy(h + TAR_OFF_NAME, name, nl);
	tarw_octal(h + TAR_OFF_MODE, 8, 0644);
	tarw_octal(h + TAR_OFF_UID, 8, 0);
	tarw_octal(h + TAR_OFF_GID, 8, 0);
	tarw_octal(h + TAR_OFF_SIZE, TAR_LEN_SIZE,
		   size > TAR_USTAR_MAX_SIZE ? 0 : size);
	tarw_octal(h + TAR_OFF_MTIME, 12, mtime & 077777777777ull);
	h[TAR_OFF_TYPE] = (uint8_t)type;
	memcpy(h + TAR_OFF_MAGIC, "ustar\0", 6);
	memcpy(h + TAR_OFF_VERSION, "00", 2);
	memcpy(h + TAR_OFF_UNAME, "root", 4);
	memcpy(h + TAR_OFF_GNAME, "root", 4);
	memset(h + TAR_OFF_CHKSUM, ' ', TAR_LEN_CHKSUM);
	unsigned sum = 0;
	for (unsigned i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	char ck[8];
	snprintf(ck, sizeof ck, "%06o", sum);
	memcpy(h + TAR_OFF_CHKSUM, ck, 6);
	h[TAR_OFF_CHKSUM + 6] = 0;
	h[TAR_OFF_CHKSUM + 7] = ' ';
}

/* Append one pax record "len key=value\n" to buf (at *pos, cap bytes). */
static int tarw_pax_record(char *buf, size_t cap, size_t *pos,
			   const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3;  /* ' ', '=', '\n' */
	size_t len = body + 1;
	/* the length counts its own digits */
	for (;;) {
		char d[24];
		size_t n = body + (size_t)snprintf(d, sizeof d, "%zu", len);
		if (n == len)
			break;
		len = n;
	}
	if (*pos + len > cap)
		return -1;
	int w = snprintf(buf + *pos, cap - *pos + 1, "%zu %s=%s\n", len, key,
			 val);
	if (w < 0 || (size_t)w != len)
		return -1;
	*pos += len;
	return 0;
}

int vmie_tar_encode_header(uint8_t *out, size_t hdr_len, const char *name,
			   uint64_t size, uint64_t mtime,
			   struct vmie_err *err)
{
	if (hdr_len == TAR_BLOCK) {
		if (tarw_needs_pax(name, size))
			return VMIE_ERR(err, VMIE_EINVAL, "tar: '%s' (%llu "
					"bytes) needs a pax header", name,
					(unsigned long long)size);
		tarw_ustar(out, name, '0', size, mtime);
		return 0;
	}
	if (hdr_len != 3 * TAR_BLOCK)
		return VMIE_ERR(err, VMIE_EINVAL, "tar: bad header length %zu",
				hdr_len);
	char recs[TAR_BLOCK + 1];
	size_t pos = 0;
	char num[24];
	snprintf(num, sizeof num, "%llu", (unsigned long long)size);
	if (tarw_pax_record(recs, TAR_BLOCK, &pos, "path", name) ||
	    tarw_pax_record(recs, TAR_BLOCK, &pos, "size", num))
		return VMIE_ERR(err, VMIE_EINVAL, "tar: member name '%s' is "
				"too long", name);
	char pax_name[TAR_LEN_NAME + 1];
	const char *base = strrchr(name, '/');
	snprintf(pax_name, sizeof pax_name, "PaxHeaders/%.80s",
		 base ? base + 1 : name);
	tarw_ustar(out, pax_name, 'x', pos, mtime);
	memset(out + TAR_BLOCK, 0, TAR_BLOCK);
	memcpy(out + TAR_BLOCK, recs, pos);
	tarw_ustar(out + 2 * TAR_BLOCK, name, '0', size, mtime);
	return 0;
}
