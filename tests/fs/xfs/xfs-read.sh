#!/bin/bash
# XFS v4 and v5 images populated from a host tree with mkfs.xfs -p (no
# mount): every file, directory listing and symlink read by vmie equals the
# host original; uuid/label/type equal blkid's; the directories really are
# in short-form, block, leaf and node/B-tree form (checked with xfs_db).
source "$SRCDIR/tests/functions.sh"
need mkfs.xfs python3
FSWALK="$BUILDDIR/tests/fs/xfs/fswalk"
D="$SRCDIR/tests/fs/xfs"
shas() { sha256sum | cut -d' ' -f1; }

"$D/mktree.sh" "$T/tree"
python3 "$D/hostwalk.py" "$T/tree" > "$T/host.txt"
python3 "$D/mkproto.py" "$T/tree" > "$T/proto"

for v in v5 v4; do
	img="$T/$v.img"
	truncate -s 320M "$img"
	if [ $v = v4 ]; then
		mkfs.xfs -q -f -m crc=0 -i size=256 -L xfs-$v -p "$T/proto" "$img" 2>/dev/null
	else
		mkfs.xfs -q -f -L xfs-$v -p "$T/proto" "$img"
	fi
	"$FSWALK" xfs "$img" walk | sort > "$T/$v.txt"
	diff -u "$T/host.txt" "$T/$v.txt" || fail "$v: tree differs from the host"
	[ "$(wc -l < "$T/$v.txt")" -gt 3000 ] || fail "$v: walk too short"

	# identity, against blkid
	p=$("$FSWALK" xfs "$img" probe)
	echo "$p"
	case "$p" in *"type=xfs version=$v "*) ;; *) fail "$v: probe: $p" ;; esac
	if command -v blkid >/dev/null; then
		u=$(blkid -o value -s UUID "$img")
		l=$(blkid -o value -s LABEL "$img")
		case "$p" in *"uuid=$u label=$l "*) ;; *) fail "$v: blkid says $u/$l" ;; esac
	fi

	# single files, listings, links
	assert_eq "$("$FSWALK" xfs "$img" cat /etc/os-release | shas)" \
		"$(sha "$T/tree/etc/os-release")" "$v os-release"
	assert_eq "$("$FSWALK" xfs "$img" readlink /link-abs)" "/etc/os-release"
	assert_eq "$("$FSWALK" xfs "$img" ls /dir3000 | sort | sha256sum)" \
		"$(ls "$T/tree/dir3000" | sort | sha256sum)" "$v dir3000 listing"
	expect_fail "no entry 'nope'" "$FSWALK" xfs "$img" cat /etc/nope

	# the directory forms are the ones this test means to cover
	if command -v xfs_db >/dev/null; then
		fmt() { xfs_db -r "$img" -c "path $1" -c "p core.format core.nextents" 2>/dev/null | tr '\n' ' '; }
		case "$(fmt /dir3)" in *local*) ;; *) fail "dir3 not short-form" ;; esac
		case "$(fmt /dir40)" in *"extents"*"nextents = 1 "*) ;; *) fail "dir40 not a block dir: $(fmt /dir40)" ;; esac
		case "$(fmt /dir3000)" in *btree*) ;; *) fail "dir3000 not B-tree: $(fmt /dir3000)" ;; esac
		case "$(fmt /link-long)" in *extents*) ;; *) fail "link-long not remote" ;; esac
	fi
done

# the framework tool, when the fs engineer's fsread exists
FSREAD="$BUILDDIR/tests/fs/common/fsread"
if [ -x "$FSREAD" ]; then
	assert_eq "$("$FSREAD" "$T/v5.img" cat /link-dir/deep.txt)" "deep file" "fsread"
fi
echo OK
