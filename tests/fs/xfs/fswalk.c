/*
 * fswalk: drive one file system driver (xfs, btrfs, jfs) through its vtable
 * on a raw image, without the lib/fs path framework, for the XFS and Btrfs
 * tests.
 *
 *   fswalk DRIVER IMAGE probe          type, version, uuid, label, size
 *   fswalk DRIVER IMAGE walk           every entry below the root, sorted:
 *       "d PATH" / "f PATH SIZE SHA256" / "l PATH TARGET" / "o PATH"
 *   fswalk DRIVER IMAGE walkmeta       the same with the inode's metadata
 *       appended to each line: " MODE UID GID NLINK MTIME" (mode in octal
 *       with the file type bits), and "o" lines name the type (p c b s)
 *   fswalk DRIVER IMAGE cat PATH       file contents to stdout
 *   fswalk DRIVER IMAGE ls PATH        entry names, one a line
 *   fswalk DRIVER IMAGE readlink PATH
 *   fswalk DRIVER IMAGE subvols        (btrfs) subvolume count and names
 *   fswalk DRIVER IMAGE bench PATH...  open + read the files N=100 times
 * Paths are resolved component by component with lookup (no symlinks).
 * Errors go to stderr as "fswalk: <message>" with exit status 1.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "fs/fs.h"
#include "fs/btrfs/btrfs.h"
#include "image/image.h"

extern const struct vmie_fs_driver vmie_fsdrv_xfs;
extern const struct vmie_fs_driver vmie_fsdrv_btrfs;
extern const struct vmie_fs_driver vmie_fsdrv_jfs;

static struct vmie_err e;
static struct vmie_image *img;
static struct vmie_fs gfs;

static int die(int r)
{
	fprintf(stderr, "fswalk: %s (%s)\n", e.msg, vmie_strerror(r));
	if (gfs.priv)
		gfs.drv->close(&gfs);
	vmie_image_close(img);
	exit(1);
}

static int resolve(struct vmie_fs *fs, const char *path, vmie_ino_t *out)
{
	char buf[4096], *save = NULL;
	vmie_ino_t cur = fs->root;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *c = strtok_r(buf, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		int r = fs->drv->lookup(fs, cur, c, &cur, &e);
		if (r)
			return r;
	}
	*out = cur;
	return 0;
}

struct names {
	char (*v)[256];
	enum vmie_ftype *t;
	vmie_ino_t *ino;
	size_t n, cap;
};

static int collect(void *ctx, const struct vmie_dirent *d)
{
	struct names *n = ctx;
	if (n->n == n->cap) {
		n->cap = n->cap ? 2 * n->cap : 64;
		n->v = realloc(n->v, n->cap * sizeof *n->v);
		n->t = realloc(n->t, n->cap * sizeof *n->t);
		n->ino = realloc(n->ino, n->cap * sizeof *n->ino);
	}
	memcpy(n->v[n->n], d->name, 256);
	n->t[n->n] = d->type;
	n->ino[n->n] = d->ino;
	n->n++;
	return 0;
}

static int sha_file(struct vmie_fs *fs, vmie_ino_t ino, uint64_t size,
		    char *hex, FILE *out)
{
	static unsigned char buf[1 << 20];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	uint64_t off = 0;
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while (off < size) {
		size_t got;
		int r = fs->drv->read(fs, ino, buf, sizeof buf, off, &got, &e);
		if (r) {
			EVP_MD_CTX_free(c);
			return r;
		}
		if (got == 0)
			break;
		if (out)
			fwrite(buf, 1, got, out);
		EVP_DigestUpdate(c, buf, got);
		off += got;
	}
	EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return 0;
}

static bool walk_meta;

/* " MODE UID GID NLINK MTIME" for walkmeta, "" otherwise */
static const char *meta(const struct vmie_stat *st)
{
	static const unsigned fmt[] = {
		[VMIE_FT_REG] = 0100000, [VMIE_FT_DIR] = 0040000,
		[VMIE_FT_LNK] = 0120000, [VMIE_FT_CHR] = 0020000,
		[VMIE_FT_BLK] = 0060000, [VMIE_FT_FIFO] = 0010000,
		[VMIE_FT_SOCK] = 0140000,
	};
	static char buf[128];
	if (!walk_meta)
		return "";
	snprintf(buf, sizeof buf, " %o %u %u %u %lld", fmt[st->type] | st->mode,
		 st->uid, st->gid, st->nlink, (long long)st->mtime);
	return buf;
}

static const char *other_type(const struct vmie_stat *st)
{
	if (!walk_meta)
		return "";
	switch (st->type) {
	case VMIE_FT_FIFO: return " p";
	case VMIE_FT_CHR: return " c";
	case VMIE_FT_BLK: return " b";
	case VMIE_FT_SOCK: return " s";
	default: return " ?";
	}
}

static int walk(struct vmie_fs *fs, vmie_ino_t dir, const char *prefix,
		int depth)
{
	struct names n = { 0 };
	int r = fs->drv->readdir(fs, dir, collect, &n, &e);
	if (r)
		return r;
	if (depth > 64) {
		fprintf(stderr, "fswalk: too deep at %s\n", prefix);
		exit(1);
	}
	for (size_t i = 0; i < n.n && !r; i++) {
		char path[4096];
		struct vmie_stat st;
		vmie_ino_t ino;
		snprintf(path, sizeof path, "%s/%s", prefix, n.v[i]);
		r = fs->drv->lookup(fs, dir, n.v[i], &ino, &e);
		if (r)
			break;
		if (ino != n.ino[i]) {
			fprintf(stderr, "fswalk: %s: lookup and readdir disagree\n",
				path);
			exit(1);
		}
		r = fs->drv->stat(fs, ino, &st, &e);
		if (r)
			break;
		if (n.t[i] != VMIE_FT_UNKNOWN && n.t[i] != st.type) {
			fprintf(stderr, "fswalk: %s: entry type %d, inode type "
				"%d\n", path, n.t[i], st.type);
			exit(1);
		}
		if (st.type == VMIE_FT_DIR) {
			printf("d %s%s\n", path, meta(&st));
			r = walk(fs, ino, path, depth + 1);
		} else if (st.type == VMIE_FT_REG) {
			char hex[65];
			r = sha_file(fs, ino, st.size, hex, NULL);
			if (!r)
				printf("f %s %llu %s%s\n", path,
				       (unsigned long long)st.size, hex,
				       meta(&st));
		} else if (st.type == VMIE_FT_LNK) {
			char t[4096];
			r = fs->drv->readlink(fs, ino, t, sizeof t, &e);
			if (!r)
				printf("l %s %s%s\n", path, t, meta(&st));
		} else {
			printf("o %s%s%s\n", path, other_type(&st),
			       meta(&st));
		}
	}
	free(n.v);
	free(n.t);
	free(n.ino);
	return r;
}

int main(int argc, char **argv)
{
	const struct vmie_fs_driver *drv = NULL;
	vmie_ino_t ino;
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: fswalk xfs|btrfs|jfs IMAGE CMD [PATH]\n");
		return 2;
	}
	if (!strcmp(argv[1], "xfs"))
		drv = &vmie_fsdrv_xfs;
	else if (!strcmp(argv[1], "btrfs"))
		drv = &vmie_fsdrv_btrfs;
	else if (!strcmp(argv[1], "jfs"))
		drv = &vmie_fsdrv_jfs;
	else
		return 2;
	r = vmie_image_open(argv[2], &(struct vmie_open_opts){ .format = "raw" },
			    &img, &e);
	if (r)
		die(r);
	gfs.drv = drv;
	gfs.dev = img;
	gfs.info.free = UINT64_MAX;
	int score = drv->probe(img, &gfs.info);
	if (!strcmp(argv[3], "probe")) {
		printf("score=%d type=%s version=%s uuid=%s label=%s size=%llu "
		       "free=%llu readable=%d\n", score, gfs.info.type,
		       gfs.info.version, gfs.info.uuid, gfs.info.label,
		       (unsigned long long)gfs.info.size,
		       (unsigned long long)gfs.info.free, gfs.info.readable);
		vmie_image_close(img);
		return score > 0 ? 0 : 1;
	}
	if (!drv->open) {
		fprintf(stderr, "fswalk: %s has no reader\n", drv->name);
		vmie_image_close(img);
		return 1;
	}
	if (!strcmp(argv[3], "bench")) {
		struct timespec t0, t1;
		char hex[65];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int k = 0; k < 100; k++) {
			if ((r = drv->open(&gfs, &e)))
				die(r);
			for (int i = 4; i < argc; i++) {
				struct vmie_stat st;
				if ((r = resolve(&gfs, argv[i], &ino)) ||
				    (r = drv->stat(&gfs, ino, &st, &e)) ||
				    (r = sha_file(&gfs, ino, st.size, hex, NULL)))
					die(r);
			}
			drv->close(&gfs);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("open + %d files: %.3f ms\n", argc - 4,
		       ((t1.tv_sec - t0.tv_sec) * 1e3 +
			(t1.tv_nsec - t0.tv_nsec) / 1e6) / 100);
		vmie_image_close(img);
		return 0;
	}
	if ((r = drv->open(&gfs, &e)))
		die(r);
	const char *path = argc > 4 ? argv[4] : "/";
	if (!strcmp(argv[3], "walk") || !strcmp(argv[3], "walkmeta")) {
		walk_meta = !strcmp(argv[3], "walkmeta");
		r = walk(&gfs, gfs.root, "", 0);
	} else if (!strcmp(argv[3], "subvols")) {
		char (*names)[256] = calloc(64, 256);
		unsigned cnt = 0;
		r = vmie_btrfs_subvolumes(&gfs, &cnt, names, 64);
		if (!r) {
			printf("%u\n", cnt);
			for (unsigned i = 0; i < cnt && i < 64; i++)
				printf("%s\n", names[i]);
		}
		free(names);
	} else if ((r = resolve(&gfs, path, &ino))) {
		/* error below */
	} else if (!strcmp(argv[3], "cat")) {
		struct vmie_stat st;
		char hex[65];
		r = drv->stat(&gfs, ino, &st, &e);
		if (!r)
			r = sha_file(&gfs, ino, st.size, hex, stdout);
	} else if (!strcmp(argv[3], "ls")) {
		struct names n = { 0 };
		r = drv->readdir(&gfs, ino, collect, &n, &e);
		for (size_t i = 0; !r && i < n.n; i++)
			printf("%s\n", n.v[i]);
		free(n.v);
		free(n.t);
		free(n.ino);
	} else if (!strcmp(argv[3], "readlink")) {
		char t[4096];
		r = drv->readlink(&gfs, ino, t, sizeof t, &e);
		if (!r)
			printf("%s\n", t);
	} else if (!strcmp(argv[3], "stat")) {
		struct vmie_stat st;
		r = drv->stat(&gfs, ino, &st, &e);
		if (!r)
			printf("type=%d size=%llu mode=%o uid=%u gid=%u "
			       "nlink=%u mtime=%lld\n", st.type,
			       (unsigned long long)st.size, st.mode, st.uid,
			       st.gid, st.nlink, (long long)st.mtime);
	} else {
		fprintf(stderr, "fswalk: unknown command %s\n", argv[3]);
		return 2;
	}
	if (r)
		die(r);
	drv->close(&gfs);
	gfs.priv = NULL;
	vmie_image_close(img);
	return 0;
}
