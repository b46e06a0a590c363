/*
 * ntfs_fixture: populate an NTFS image (made by mkntfs) without FUSE,
 * through libntfs-3g directly.  Test fixture builder only.
 *
 *   ntfs_fixture IMAGE OP...
 *     mkdir:/A/B              create a directory (parent must exist)
 *     file:/A/B/name=HOST     create a file with the contents of HOST
 *     symlink:/A/link=TARGET  Windows symlink reparse point (relative when
 *                             TARGET does not start with "X:\" or "\")
 *     junction:/A/j=TARGET    directory junction (mount point) to TARGET
 *     dirty:                  set the $Volume dirty flag (VOLUME_IS_DIRTY)
 */
#define HAVE_STDINT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDIO_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_ENDIAN_H 1
#define HAVE_BYTESWAP_H 1
#define HAVE_TIME_H 1

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/reparse.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "ntfs_fixture: %s %s: %s\n", what, arg,
		strerror(errno));
	exit(1);
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, unsigned v)
{
	put16(p, v & 0xFFFF);
	put16(p + 2, v >> 16);
}

/* Build reparse data for a symlink or a junction; returns its length. */
static size_t reparse(unsigned char *buf, const char *target, bool junction)
{
	char sub[1024];
	bool abs = target[0] == '\\' || (target[0] && target[1] == ':');
	ntfschar *us = NULL, *up = NULL;
	snprintf(sub, sizeof sub, "%s%s", abs && target[1] == ':' ?
		 "\\??\\" : "", target);
	int ls = ntfs_mbstoucs(sub, &us), lp = ntfs_mbstoucs(target, &up);
	if (ls < 0 || lp < 0)
		die("name", target);
	size_t hdr = junction ? 8 : 12;
	size_t dlen = hdr + 2 * (size_t)(ls + lp);
	put32(buf, junction ? 0xA0000003u : 0xA000000Cu);
	put16(buf + 4, (unsigned)dlen);
	put16(buf + 6, 0);
	unsigned char *d = buf + 8;
	put16(d, 0);
	put16(d + 2, 2 * (unsigned)ls);
	put16(d + 4, 2 * (unsigned)ls);
	put16(d + 6, 2 * (unsigned)lp);
	if (!junction)
		put32(d + 8, abs ? 0 : 1);
	memcpy(d + hdr, us, 2 * (size_t)ls);
	memcpy(d + hdr + 2 * (size_t)ls, up, 2 * (size_t)lp);
	free(us);
	free(up);
	return 8 + dlen;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ntfs_fixture IMAGE OP...\n");
		return 2;
	}
	ntfs_volume *vol = ntfs_mount(argv[1], NTFS_MNT_NONE);
	if (!vol)
		die("mount", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "dirty:")) {
			if (ntfs_volume_write_flags(vol, vol->flags |
						    VOLUME_IS_DIRTY))
				die("set dirty flag", argv[1]);
			continue;
		}
		char *op = strdup(argv[i]), *path = strchr(op, ':'), *arg;
		if (!path)
			die("bad op", argv[i]);
		*path++ = 0;
		arg = strchr(path, '=');
		if (arg)
			*arg++ = 0;
		char *slash = strrchr(path, '/');
		if (!slash)
			die("path must be absolute", path);
		*slash = 0;
		const char *base = slash + 1;
		ntfs_inode *dir = ntfs_pathname_to_inode(vol, NULL,
							 *path ? path : "/");
		if (!dir)
			die("parent of", base);
		ntfschar *uname = NULL;
		int ulen = ntfs_mbstoucs(base, &uname);
		if (ulen < 0)
			die("name", base);
		bool isdir = !strcmp(op, "mkdir") || !strcmp(op, "junction");
		ntfs_inode *ni = ntfs_create(dir, const_cpu_to_le32(0), uname,
					     (u8)ulen, isdir ? S_IFDIR :
					     S_IFREG);
		if (!ni)
			die("create", base);
		if (!strcmp(op, "file")) {
			FILE *f = fopen(arg, "rb");
			if (!f)
				die("open", arg);
			ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED,
						       0);
			if (!na)
				die("attr", base);
			char buf[65536];
			size_t n;
			s64 off = 0;
			while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
				if (ntfs_attr_pwrite(na, off, (s64)n, buf) !=
				    (s64)n)
					die("write", base);
				off += (s64)n;
			}
			fclose(f);
			ntfs_attr_close(na);
		} else if (!strcmp(op, "symlink") || !strcmp(op, "junction")) {
			unsigned char rp[4096];
			size_t len = reparse(rp, arg, op[0] == 'j');
			if (ntfs_set_ntfs_reparse_data(ni, (char *)rp, len, 0))
				die("reparse", base);
		} else if (strcmp(op, "mkdir")) {
			die("unknown op", op);
		}
		/* the file's index entry in dir is updated on close: close it
		 * through the open directory inode, or the update is lost */
		if (ntfs_inode_close_in_dir(ni, dir) || ntfs_inode_close(dir))
			die("close", base);
		free(uname);
		free(op);
	}
	if (ntfs_umount(vol, FALSE))
		die("umount", argv[1]);
	return 0;
}
