/* lib/modify edit_fstab.c: /etc/fstab for the target (PREP-013). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "modify/edit.h"

/* The imported file systems of the test guest, by the names the guest
 * uses for them. */
static const char *const fs_map[][2] = {
	{ "/dev/sda1", "UUID=0b1e7a46-2f0e-4c8e-9a4c-2f3d5b6e7f80" },
	{ "/dev/sda2", "UUID=9c1b4f1e-5c43-4b7f-a0a2-1d2e3f405162" },
	{ "/dev/sdb1", "UUID=3d7f9e1a-0c2b-4e5d-8f6a-7b8c9d0e1f23" },
	{ "/dev/xvda1", "UUID=5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d" },
	{ "/dev/nvme0n1p3", "UUID=7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b" },
	{ "/dev/disk/by-id/ata-VBOX_HARDDISK_VB5e9d5e8c-5a0c1c3d-part1",
	  "UUID=1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b" },
	{ "/dev/hda1", "LABEL=oldroot" },
	{ "/dev/disk/by-id/usb-My Disk-0:0-part1",
	  "UUID=2a3b4c5d-6e7f-4801-9a2b-3c4d5e6f7a8b" },
};

static unsigned resolver_calls;

static bool resolve(void *ctx, const char *spec, char *out, size_t size)
{
	(void)ctx;
	resolver_calls++;
	for (size_t i = 0; i < sizeof fs_map / sizeof *fs_map; i++)
		if (!strcmp(spec, fs_map[i][0])) {
			snprintf(out, size, "%s", fs_map[i][1]);
			return true;
		}
	return false;
}

/* Every /dev/ name resolves (for the hostile inputs). */
static bool resolve_all(void *ctx, const char *spec, char *out, size_t size)
{
	(void)ctx;
	if (strncmp(spec, "/dev/sd", 7))
		return false;
	snprintf(out, size, "UUID=%08zx", strlen(spec));
	return true;
}

/* A resolver that answers with something that is not one field. */
static bool resolve_bad(void *ctx, const char *spec, char *out, size_t size)
{
	(void)ctx;
	(void)spec;
	snprintf(out, size, "UUID=a b\n#");
	return true;
}

static void run(const char *in, vmie_edit_resolve_fn res,
		struct vmie_edit *e)
{
	assert_int_equal(vmie_edit_fstab(in, strlen(in), res, NULL, e), 0);
}

static bool has_note(const struct vmie_edit *e, const char *part)
{
	for (unsigned i = 0; i < e->n_notes && i < VMIE_EDIT_MAX_NOTES; i++)
		if (strstr(e->notes[i].what, part))
			return true;
	return false;
}

/* Debian 12's installer: UUID= everywhere, a CD-ROM with noauto. */
static void test_debian_unchanged(void **state)
{
	(void)state;
	struct vmie_edit e;
	run("# /etc/fstab: static file system information.\n"
	    "#\n"
	    "# Use 'blkid' to print the universally unique identifier for a\n"
	    "# device; this may be used with UUID= as a more robust way to "
	    "name devices\n"
	    "# that works even if disks are added and removed. See fstab(5).\n"
	    "#\n"
	    "# systemd generates mount units based on this file, see "
	    "systemd.mount(5).\n"
	    "# Please run 'systemctl daemon-reload' after making changes here.\n"
	    "#\n"
	    "# <file system> <mount point>   <type>  <options>       <dump>  "
	    "<pass>\n"
	    "# / was on /dev/sda1 during installation\n"
	    "UUID=0b1e7a46-2f0e-4c8e-9a4c-2f3d5b6e7f80 /               ext4    "
	    "errors=remount-ro 0       1\n"
	    "# swap was on /dev/sda5 during installation\n"
	    "UUID=9c1b4f1e-5c43-4b7f-a0a2-1d2e3f405162 none            swap    "
	    "sw              0       0\n"
	    "/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       "
	    "0\n", resolve, &e);
	assert_null(e.text);
	assert_int_equal(e.n_changes, 0);
	vmie_edit_free(&e);

	/* RHEL 8: LVM names and UUID= for /boot */
	run("/dev/mapper/rhel-root   /                       xfs     defaults"
	    "        0 0\n"
	    "UUID=1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b /boot                   "
	    "xfs     defaults        0 0\n"
	    "/dev/mapper/rhel-swap   swap                    swap    defaults"
	    "        0 0\n", resolve, &e);
	assert_null(e.text);
	assert_int_equal(e.n_changes, 0);
	assert_int_equal(e.n_notes, 0);
	vmie_edit_free(&e);
}

/* Device names of every kind, shares of every kind, pseudo file systems. */
static void test_device_names(void **state)
{
	(void)state;
	struct vmie_edit e;
	static const char in[] =
		"# static table\n"
		"/dev/sda1\t/\text4\terrors=remount-ro\t0 1\n"
		"/dev/sda2   none  swap  sw  0  0\n"
		"/dev/sdb1 /data xfs defaults 0 2\n"
		"\n"
		"/dev/xvda1 /srv ext4 noatime 0 2\n"
		"/dev/xvdc1 /scratch ext4 defaults,nofail 0 2\n"
		"/dev/disk/by-id/ata-VBOX_HARDDISK_VB5e9d5e8c-5a0c1c3d-part1 "
		"/var ext4 defaults 0 2\n"
		"/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0-part1 /opt ext4 "
		"defaults 0 2\n"
		"/dev/nvme0n1p3 /home ext4 defaults 0 2\n"
		"/dev/nvme1n1 /mnt/fast ext4 defaults 0 2\n"
		"/dev/hda1 /old ext3 defaults 0 2\n"
		"LABEL=boot /boot ext4 defaults 0 2\n"
		"UUID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee /mnt/gone ext4 "
		"defaults 0 2\n"
		"PARTUUID=12345678-01 /efi vfat umask=0077 0 1\n"
		"/dev/disk/by-uuid/aaaa /mnt/u ext4 defaults 0 2\n"
		"/dev/mapper/vg0-lv_home /home2 ext4 defaults 0 2\n"
		"proc /proc proc defaults 0 0\n"
		"tmpfs /tmp tmpfs defaults,size=1G 0 0\n"
		"nfsserver:/export /mnt/nfs nfs defaults,_netdev 0 0\n"
		"/dev/hdc /media/cdrom auto ro,noauto,user 0 0\n"
		"/dev/vdb1 /backup ext4\n"
		"/dev/sr0 /media/dvd iso9660 ro 0 0\n";
	static const char want[] =
		"# static table\n"
		"UUID=0b1e7a46-2f0e-4c8e-9a4c-2f3d5b6e7f80\t/\text4\t"
		"errors=remount-ro\t0 1\n"
		"UUID=9c1b4f1e-5c43-4b7f-a0a2-1d2e3f405162   none  swap  sw  0  0\n"
		"UUID=3d7f9e1a-0c2b-4e5d-8f6a-7b8c9d0e1f23 /data xfs defaults 0 2\n"
		"\n"
		"UUID=5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d /srv ext4 noatime 0 2\n"
		"/dev/xvdc1 /scratch ext4 defaults,nofail 0 2\n"
		"UUID=1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b /var ext4 defaults 0 2\n"
		"/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0-part1 /opt ext4 "
		"defaults,nofail 0 2\n"
		"UUID=7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b /home ext4 defaults 0 2\n"
		"/dev/nvme1n1 /mnt/fast ext4 defaults,nofail 0 2\n"
		"LABEL=oldroot /old ext3 defaults 0 2\n"
		"LABEL=boot /boot ext4 defaults 0 2\n"
		"UUID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee /mnt/gone ext4 "
		"defaults 0 2\n"
		"PARTUUID=12345678-01 /efi vfat umask=0077 0 1\n"
		"/dev/disk/by-uuid/aaaa /mnt/u ext4 defaults 0 2\n"
		"/dev/mapper/vg0-lv_home /home2 ext4 defaults 0 2\n"
		"proc /proc proc defaults 0 0\n"
		"tmpfs /tmp tmpfs defaults,size=1G 0 0\n"
		"nfsserver:/export /mnt/nfs nfs defaults,_netdev 0 0\n"
		"/dev/hdc /media/cdrom auto ro,noauto,user 0 0\n"
		"/dev/vdb1 /backup ext4 defaults,nofail\n"
		"/dev/sr0 /media/dvd iso9660 ro,nofail 0 0\n";

	resolver_calls = 0;
	run(in, resolve, &e);
	assert_non_null(e.text);
	assert_string_equal(e.text, want);
	assert_int_equal(e.len, strlen(want));
	/* 7 resolved, 4 nofail */
	assert_int_equal(e.n_changes, 11);
	assert_int_equal(e.n_notes, 11);
	for (unsigned i = 0; i < e.n_notes; i++)
		assert_string_equal(e.notes[i].rule, "PREP-013");
	assert_true(has_note(&e, "line 2: /dev/sda1 -> UUID=0b1e7a46"));
	assert_true(has_note(&e, "/dev/nvme1n1 (/mnt/fast) matches no "
			     "imported file system: nofail added"));
	/* stable names and pseudo file systems are not even asked about */
	assert_int_equal(resolver_calls, 14);

	/* running it again changes nothing */
	struct vmie_edit e2;
	run(e.text, resolve, &e2);
	assert_null(e2.text);
	assert_int_equal(e2.n_changes, 0);
	vmie_edit_free(&e2);
	vmie_edit_free(&e);
	assert_null(e.text);
}

static void test_shares(void **state)
{
	(void)state;
	struct vmie_edit e;
	static const char in[] =
		"UUID=0b1e7a46-2f0e-4c8e-9a4c-2f3d5b6e7f80 / ext4 defaults 0 1\n"
		"//fileserver/share /mnt/share cifs credentials=/root/.smb,"
		"uid=1000 0 0\n"
		"//nas/old /mnt/old smbfs username=x 0 0\n"
		"//nas/new /mnt/new smb3 guest 0 0\n"
		".host:/ /mnt/hgfs fuse.vmhgfs-fuse allow_other,defaults 0 0\n"
		".host:/shared /mnt/shared vmhgfs defaults 0 0\n"
		"vboxshare /media/sf_share vboxsf defaults,uid=1000 0 0\n"
		"sshfs#user@host:/remote /mnt/remote fuse defaults,_netdev 0 0\n"
		"user@host:/data /mnt/data fuse.sshfs defaults,_netdev 0 0\n"
		"user@host:/x /mnt/x sshfs defaults 0 0\n"
		"hostshare /mnt/9p 9p trans=virtio,version=9p2000.L 0 0\n"
		"nfsserver:/export /mnt/nfs nfs4 defaults 0 0\n";
	static const char want[] =
		"UUID=0b1e7a46-2f0e-4c8e-9a4c-2f3d5b6e7f80 / ext4 defaults 0 1\n"
		"# vmie: //fileserver/share /mnt/share cifs credentials=/root/.smb,"
		"uid=1000 0 0\n"
		"# vmie: //nas/old /mnt/old smbfs username=x 0 0\n"
		"# vmie: //nas/new /mnt/new smb3 guest 0 0\n"
		"# vmie: .host:/ /mnt/hgfs fuse.vmhgfs-fuse allow_other,defaults"
		" 0 0\n"
		"# vmie: .host:/shared /mnt/shared vmhgfs defaults 0 0\n"
		"# vmie: vboxshare /media/sf_share vboxsf defaults,uid=1000 0 0\n"
		"# vmie: sshfs#user@host:/remote /mnt/remote fuse defaults,_netdev"
		" 0 0\n"
		"# vmie: user@host:/data /mnt/data fuse.sshfs defaults,_netdev 0 0\n"
		"# vmie: user@host:/x /mnt/x sshfs defaults 0 0\n"
		"# vmie: hostshare /mnt/9p 9p trans=virtio,version=9p2000.L 0 0\n"
		"nfsserver:/export /mnt/nfs nfs4 defaults 0 0\n";

	run(in, resolve, &e);
	assert_string_equal(e.text, want);
	assert_int_equal(e.n_changes, 10);
	assert_true(has_note(&e, "line 2: cifs share //fileserver/share on "
			     "/mnt/share commented out"));
	assert_true(has_note(&e, "vboxsf share vboxshare"));
	vmie_edit_free(&e);
}

/* CRLF line ends, no final newline, the root that resolves to nothing,
 * a resolver that answers garbage, no resolver at all. */
static void test_odd_files(void **state)
{
	(void)state;
	struct vmie_edit e;

	run("/dev/sda1 / ext4 defaults 0 1\r\n/dev/sdz9 /d ext4 defaults 0 2\r\n",
	    resolve, &e);
	assert_string_equal(e.text, "UUID=0b1e7a46-2f0e-4c8e-9a4c-2f3d5b6e7f80 "
			    "/ ext4 defaults 0 1\r\n/dev/sdz9 /d ext4 "
			    "defaults,nofail 0 2\r\n");
	vmie_edit_free(&e);

	run("/dev/sdb1 /data xfs defaults 0 2", resolve, &e);
	assert_string_equal(e.text, "UUID=3d7f9e1a-0c2b-4e5d-8f6a-7b8c9d0e1f23 "
			    "/data xfs defaults 0 2");
	vmie_edit_free(&e);

	/* the root: never nofail, but said */
	run("/dev/sdq1 / ext4 defaults 0 1\n", resolve, &e);
	assert_null(e.text);
	assert_int_equal(e.n_changes, 0);
	assert_int_equal(e.n_notes, 1);
	assert_true(has_note(&e, "root file system /dev/sdq1"));
	vmie_edit_free(&e);

	/* a bad answer is not written: the entry is treated as unresolved */
	run("/dev/sdb1 /data xfs defaults 0 2\n", resolve_bad, &e);
	assert_string_equal(e.text, "/dev/sdb1 /data xfs defaults,nofail 0 2\n");
	vmie_edit_free(&e);

	run("/dev/sdb1 /data xfs defaults 0 2\n", NULL, &e);
	assert_string_equal(e.text, "/dev/sdb1 /data xfs defaults,nofail 0 2\n");
	vmie_edit_free(&e);

	/* octal escapes: the resolver gets the name decoded */
	run("/dev/disk/by-id/usb-My\\040Disk-0:0-part1 /mnt/usb\\040disk ext4 "
	    "defaults 0 2\n"
	    "/dev/disk/by-id/dm-name-vg0-data /data ext4 defaults 0 2\n"
	    "/dev/disk/by-id/dm-uuid-LVM-abc /d2 ext4 defaults 0 2\n", resolve,
	    &e);
	assert_string_equal(e.text, "UUID=2a3b4c5d-6e7f-4801-9a2b-3c4d5e6f7a8b "
			    "/mnt/usb\\040disk ext4 defaults 0 2\n"
			    "/dev/disk/by-id/dm-name-vg0-data /data ext4 "
			    "defaults 0 2\n"
			    "/dev/disk/by-id/dm-uuid-LVM-abc /d2 ext4 defaults "
			    "0 2\n");
	assert_int_equal(e.n_changes, 1);
	vmie_edit_free(&e);

	/* nothing at all */
	assert_int_equal(vmie_edit_fstab("", 0, resolve, NULL, &e), 0);
	assert_null(e.text);
	assert_int_equal(vmie_edit_fstab(NULL, 0, resolve, NULL, &e), 0);
	assert_null(e.text);
	vmie_edit_free(NULL);
}

/* More changes than notes: all counted, 32 kept. */
static void test_many_notes(void **state)
{
	(void)state;
	struct vmie_edit e;
	char *in = malloc(100 * 40), *p = in;
	assert_non_null(in);
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "/dev/sdc%d /m%d ext4 defaults 0 2\n", i, i);
	run(in, resolve, &e);
	assert_int_equal(e.n_changes, 100);
	assert_int_equal(e.n_notes, 100);
	assert_true(strstr(e.notes[VMIE_EDIT_MAX_NOTES - 1].what, "line 32:"));
	vmie_edit_free(&e);
	free(in);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 16);
}

/* The output of an edit is NUL-terminated and a second edit of it
 * changes nothing. */
static void check_hostile(const char *in, size_t len)
{
	struct vmie_edit e, e2;

	assert_int_equal(vmie_edit_fstab(in, len, resolve_all, NULL, &e), 0);
	if (!e.text)
		return;
	assert_int_equal(e.text[e.len], '\0');
	assert_int_equal(vmie_edit_fstab(e.text, e.len, resolve_all, NULL, &e2),
			 0);
	assert_null(e2.text);
	vmie_edit_free(&e2);
	vmie_edit_free(&e);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"/dev/sda1", "/dev/sdb", " ", "\t", "\n", "#", "/", "swap",
		"cifs", "defaults", "nofail", "noauto", ",", "\0", "\r",
		"/dev/xvda", "UUID=", "fuse", "sshfs#", "\xff", "0", "\\040",
	};
	size_t cap = 1 << 20, len;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);

	/* random bytes, then random fstab-ish pieces */
	for (int round = 0; round < 200; round++) {
		len = rnd() % 4096;
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)rnd();
		check_hostile(buf, len);
		len = 0;
		while (len < 8000) {
			const char *pc = pieces[rnd() % (sizeof pieces /
							 sizeof *pieces)];
			size_t n = pc[0] ? strlen(pc) : 1;
			memcpy(buf + len, pc, n);
			len += n;
		}
		check_hostile(buf, len);
	}
	/* one line of 1 MiB with a device name in front */
	memset(buf, 'x', cap);
	memcpy(buf, "/dev/sdb1 /data ext4 ", 21);
	check_hostile(buf, cap);
	/* a long line just under and just over the line limit */
	for (size_t n = 4090; n < 4100; n++) {
		memset(buf, 'o', n);
		memcpy(buf, "/dev/sdz1 /data ext4 ", 21);
		buf[n] = '\n';
		check_hostile(buf, n + 1);
	}
	/* 100000 lines, every one changed */
	len = 0;
	char *big = malloc(100000 * 32);
	assert_non_null(big);
	for (int i = 0; i < 100000; i++)
		len += (size_t)sprintf(big + len, "/dev/sdd%d /m ext4 rw 0 2\n",
				       i);
	struct vmie_edit e;
	assert_int_equal(vmie_edit_fstab(big, len, resolve_all, NULL, &e), 0);
	assert_int_equal(e.n_changes, 100000);
	assert_int_equal(e.n_notes, 100000);
	vmie_edit_free(&e);
	/* NULs inside: the line is kept as it is */
	static const char nul[] = "/dev/sdb1 /data\0 ext4 rw 0 2\n/dev/sdc1 / "
				  "ext4 rw 0 1\n";
	assert_int_equal(vmie_edit_fstab(nul, sizeof nul - 1, resolve_all, NULL,
					 &e), 0);
	size_t l1 = (size_t)((const char *)memchr(nul + 16, '\n',
						  sizeof nul - 16) - nul) + 1;
	static const char l2[] = "UUID=00000009 / ext4 rw 0 1\n";
	assert_int_equal(e.len, l1 + sizeof l2 - 1);
	assert_memory_equal(e.text, nul, l1);
	assert_memory_equal(e.text + l1, l2, sizeof l2 - 1);
	vmie_edit_free(&e);
	free(big);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_unchanged),
		cmocka_unit_test(test_device_names),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_odd_files),
		cmocka_unit_test(test_many_notes),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
