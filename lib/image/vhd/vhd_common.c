/*
 * Helpers shared by the VHD and VHDX drivers: UTF-16 string fields and
 * random identifiers.  See vhd_common.h.
 */
#include "vhd_common.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static size_t vhdc_put_utf8(char *out, size_t pos, size_t size, uint32_t cp)
{
	char tmp[4];
	size_t n;
	if (cp < 0x20 || cp == 0x7f)
		cp = '?';
	if (cp < 0x80) {
		tmp[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = (char)(0xc0 | cp >> 6);
		tmp[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (char)(0xe0 | cp >> 12);
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		tmp[0] = (char)(0xf0 | cp >> 18);
		tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (pos + n >= size)
		return pos;
	memcpy(out + pos, tmp, n);
	return pos + n;
}

void vmie_vhd_utf16_to_utf8(const uint8_t *in, size_t n_units, bool be,
			    char *out, size_t out_size)
{
	size_t pos = 0;
	if (!out_size)
		return;
	for (size_t i = 0; i < n_units; i++) {
		const uint8_t *p = in + 2 * i;
		uint32_t u = be ? (uint32_t)(p[0] << 8 | p[1])
				: (uint32_t)(p[1] << 8 | p[0]);
		if (!u)
			break;
		if (u >= 0xd800 && u < 0xdc00 && i + 1 < n_units) {
			const uint8_t *q = p + 2;
			uint32_t v = be ? (uint32_t)(q[0] << 8 | q[1])
					: (uint32_t)(q[1] << 8 | q[0]);
			if (v >= 0xdc00 && v < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (v - 0xdc00);
				i++;
			} else {
				u = 0xfffd;
			}
		} else if (u >= 0xd800 && u < 0xe000) {
			u = 0xfffd;
		}
		pos = vhdc_put_utf8(out, pos, out_size, u);
	}
	out[pos] = 0;
}

void vmie_vhd_ascii_to_utf16le(const char *s, uint8_t *out, size_t n_units)
{
	memset(out, 0, 2 * n_units);
	for (size_t i = 0; s[i] && i < n_units; i++)
		out[2 * i] = (uint8_t)s[i];
}

void vmie_vhd_random(void *buf, size_t len)
{
	uint8_t *b = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(b + got, len - got, GRND_NONBLOCK);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len) {
		struct timespec ts;
		uint64_t x;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec;
		for (; got < len; got++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b[got] = (uint8_t)x;
		}
	}
}

void vmie_vhd_new_guid(uint8_t guid[16])
{
	vmie_vhd_random(guid, 16);
	/* Microsoft order: the version is in the high nibble of the
	 * little-endian third field (byte 7); the variant in byte 8. */
	guid[7] = (uint8_t)((guid[7] & 0x0f) | 0x40);
	guid[8] = (uint8_t)((guid[8] & 0x3f) | 0x80);
}
