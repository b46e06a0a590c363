/* Shared helpers: see util.h. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

bool vmie_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	/* check the head byte-wise until aligned, then 64 bytes at a time */
	while (len && ((uintptr_t)p & 7)) {
		if (*p)
			return false;
		p++, len--;
	}
	while (len >= 64) {
		const uint64_t *w = (const uint64_t *)(const void *)p;
		if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
			return false;
		p += 64, len -= 64;
	}
	while (len--)
		if (*p++)
			return false;
	return true;
}

static uint32_t crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
				crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
	__atomic_store_n(&crc32c_ready, 1, __ATOMIC_RELEASE);
}

uint32_t vmie_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!__atomic_load_n(&crc32c_ready, __ATOMIC_ACQUIRE))
		crc32c_init();   /* idempotent: racing threads compute the same */
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^
		      crc32c_table[1][p[6]] ^ crc32c_table[0][p[7]];
		p += 8, len -= 8;
	}
	while (len--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t vmie_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = (uint32_t)crc32(crc, p, n);
		p += n, len -= n;
	}
	return crc;
}

void vmie_hex(char *out, const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = 0;
}

char *vmie_strlcpy(char *dst, const char *src, size_t size)
{
	if (size) {
		size_t n = strnlen(src, size - 1);
		memcpy(dst, src, n);
		dst[n] = 0;
	}
	return dst;
}

void vmie_guid_ms(char *out, const uint8_t g[16])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9],
		 g[10], g[11], g[12], g[13], g[14], g[15]);
}

void vmie_uuid_be(char *out, const uint8_t g[16])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9],
		 g[10], g[11], g[12], g[13], g[14], g[15]);
}

int vmie_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool vmie_guid_ms_parse(const char *t, uint8_t g[16])
{
	/* text byte i -> stored byte: the first three fields reversed */
	static const int at[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
				    8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned k = 0;
	if (!t || strlen(t) != 36)
		return false;
	for (unsigned i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (t[i] != '-')
				return false;
			continue;
		}
		int a = vmie_hexval(t[i]), b = vmie_hexval(t[i + 1]);
		if (a < 0 || b < 0 || k >= 16)
			return false;
		g[at[k++]] = (uint8_t)(a << 4 | b);
		i++;
	}
	return k == 16;
}

int vmie_memfd_from(const char *name, const void *buf, size_t len,
		    char *why, size_t wsize)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, wsize, "cannot hold it in memory (memfd_create: "
			 "%s)", strerror(errno));
		return -1;
	}
	const uint8_t *p = buf;
	for (size_t w = 0; w < len;) {
		ssize_t n = write(fd, p + w, len - w);
		if (n <= 0) {
			snprintf(why, wsize, "copy into memory: %s",
				 n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		w += (size_t)n;
	}
	return fd;
}

int vmie_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case 'P': shift = 50; break;
	case 'B': break;
	default: return -1;
	}
	if (*end) {
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *vmie_human_size(char *buf, size_t size, uint64_t b)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = 0;
	double v = (double)b;
	while (v >= 1024 && u < 6)
		v /= 1024, u++;
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)b);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, size, "%.0f %s", v, units[u]);
	else
		snprintf(buf, size, "%.2f %s", v, units[u]);
	return buf;
}
