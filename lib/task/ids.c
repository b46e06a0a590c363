/*
 * Record kinds and ids of the task store (store.h): the EC2 id forms
 * "ami-0123456789abcdef0" (prefix, '-', 17 lowercase hex digits; the old
 * form had 8), drawn from getrandom(2).
 */
#include "task/store.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ID_HEX_DIGITS 17
#define ID_HEX_DIGITS_OLD 8

static const struct {
	const char *name;
	const char *prefix;
} rec_kinds[VMIE_REC_N] = {
	[VMIE_REC_IMPORT_IMAGE]    = { "import-image",    "import-ami" },
	[VMIE_REC_IMPORT_SNAPSHOT] = { "import-snapshot", "import-snap" },
	[VMIE_REC_EXPORT_IMAGE]    = { "export-image",    "export-ami" },
	[VMIE_REC_IMAGE]           = { "image",           "ami" },
	[VMIE_REC_SNAPSHOT]        = { "snapshot",        "snap" },
};

static bool kind_ok(enum vmie_rec_kind k)
{
	return (unsigned)k < VMIE_REC_N;
}

const char *vmie_rec_kind_name(enum vmie_rec_kind k)
{
	return kind_ok(k) ? rec_kinds[k].name : "unknown";
}

const char *vmie_rec_id_prefix(enum vmie_rec_kind k)
{
	return kind_ok(k) ? rec_kinds[k].prefix : "unknown";
}

/* Length of "<prefix>-" when id starts with it, else 0. */
static size_t ids_prefix_len(enum vmie_rec_kind k, const char *id)
{
	size_t n = strlen(rec_kinds[k].prefix);
	if (strncmp(id, rec_kinds[k].prefix, n) != 0 || id[n] != '-')
		return 0;
	return n + 1;
}

int vmie_rec_kind_of_id(const char *id)
{
	if (!id)
		return -1;
	/* No prefix is another's prefix once the '-' is included, so the
	 * first match is the only one. */
	for (int k = 0; k < VMIE_REC_N; k++)
		if (ids_prefix_len(k, id))
			return k;
	return -1;
}

/* Last resort when the kernel gives no randomness (getrandom and
 * /dev/urandom both failed): ids need to be unique, not secret, so mix
 * the clock, the pid, the address space and a counter (splitmix64). */
static void ids_weak_random(uint8_t *buf, size_t len)
{
	static uint64_t counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	x ^= (uint64_t)getpid() << 32;
	x ^= (uint64_t)(uintptr_t)&counter;
	x += __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) *
	     0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0) {
			x += 0x9e3779b97f4a7c15ull;
			uint64_t z = x;
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			x = z ^ (z >> 31);
		}
		buf[i] ^= (uint8_t)(x >> (8 * (i % 8)));
	}
}

/* Fill buf from getrandom(2), retrying on EINTR and short reads; falls
 * back to /dev/urandom (kernels without the call, seccomp filters). */
static void ids_random(uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (got == len)
		return;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		while (got < len) {
			ssize_t n = read(fd, buf + got, len - got);
			if (n > 0)
				got += (size_t)n;
			else if (!(n < 0 && errno == EINTR))
				break;
		}
		close(fd);
	}
	if (got < len)
		ids_weak_random(buf + got, len - got);
}

void vmie_rec_new_id(enum vmie_rec_kind k, char *out)
{
	uint8_t rnd[(ID_HEX_DIGITS + 1) / 2];
	char hex[2 * sizeof rnd + 1];
	int saved = errno;
	memset(rnd, 0, sizeof rnd);
	ids_random(rnd, sizeof rnd);
	vmie_hex(hex, rnd, sizeof rnd);
	hex[ID_HEX_DIGITS] = 0;
	/* prefix (at most 11) + '-' + 17 + NUL fits VMIE_ID_MAX */
	size_t n = strlen(vmie_rec_id_prefix(k));
	memcpy(out, vmie_rec_id_prefix(k), n);
	out[n] = '-';
	memcpy(out + n + 1, hex, ID_HEX_DIGITS + 1);
	errno = saved;
}

bool vmie_rec_id_valid(enum vmie_rec_kind k, const char *id)
{
	if (!kind_ok(k) || !id)
		return false;
	size_t p = ids_prefix_len(k, id);
	if (!p)
		return false;
	size_t n = 0;
	for (const char *c = id + p; *c; c++, n++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return n == ID_HEX_DIGITS || n == ID_HEX_DIGITS_OLD;
}

json_t *vmie_rec_public(const json_t *rec)
{
	if (!rec)
		return NULL;
	if (!json_is_object(rec))
		return json_deep_copy(rec);
	/* Copy member by member (in order) so that the Vmie member, which
	 * may hold a long journal, is never copied. */
	json_t *out = json_object();
	const char *key;
	json_t *v;
	if (!out)
		return NULL;
	json_object_foreach((json_t *)rec, key, v) {
		if (strcmp(key, "Vmie") == 0)
			continue;
		if (json_object_set_new(out, key, json_deep_copy(v)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
