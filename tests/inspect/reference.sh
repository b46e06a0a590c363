#!/bin/bash
# Independent reference: on phony guests, the file systems vmie inspect
# reports have the UUIDs and types blkid finds at the same offsets, and the
# facts read from files equal what debugfs reads from the same ext4.
source "$SRCDIR/tests/functions.sh"
need blkid debugfs python3
HERE="$SRCDIR/tests/inspect"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
KEY=$(cat "$HERE/mkguest.py" "$HERE/guestlib.py" | sha256sum | cut -c1-12)
CACHE="$BUILDDIR/inspect-guests/$KEY"
for n in debian12 ubuntu2204-hybrid centos7; do
	img=$("$PY" "$HERE/mkguest.py" build "$CACHE" "$n") || fail "build $n"
	"$VMIE" inspect --json "$img" > "$T/j" || fail "inspect $n"
	# partition start/size and our type/uuid, one line per partition fs
	"$PY" - "$T/j" > "$T/parts" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
parts = {p['number']: p for p in d['disks'][0]['partition_table']['partitions']}
for f in d['filesystems']:
    if f['partition'] > 0 and f['type']:
        p = parts[f['partition']]
        print(f['device'], p['start'], p['size'], f['type'], f['uuid'] or '-')
PY
	[ -s "$T/parts" ] || fail "$n: no file systems reported"
	while read -r dev start size type uuid; do
		dd if="$img" of="$T/p" bs=1M skip=$((start >> 20)) count=$((size >> 20)) status=none
		btype=$(blkid -p -o value -s TYPE "$T/p")
		buuid=$(blkid -p -o value -s UUID "$T/p")
		assert_eq "$type" "$btype" "$n $dev type vs blkid"
		assert_eq "$uuid" "${buuid:--}" "$n $dev uuid vs blkid"
		if [ "$type" = ext4 ] && debugfs -R 'stat /etc/hostname' "$T/p" >/dev/null 2>&1 &&
			debugfs -R 'stat /etc/hostname' "$T/p" 2>/dev/null | grep -q 'Type: regular'; then
			want=$(debugfs -R 'cat /etc/hostname' "$T/p" 2>/dev/null | head -1)
			got=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["operating_systems"][0]["hostname"])' "$T/j")
			assert_eq "$got" "$want" "$n hostname vs debugfs"
		fi
		if [ "$type" = ext4 ] && debugfs -R 'ls /boot' "$T/p" >/dev/null 2>&1; then
			want=$(debugfs -R 'ls -p /boot' "$T/p" 2>/dev/null | awk -F/ '$6 ~ /^vmlinuz-/ { sub(/^vmlinuz-/, "", $6); print $6 }' | sort | tr '\n' ' ')
			if [ -n "$want" ]; then
				got=$("$PY" -c 'import json,sys; print(" ".join(sorted(k["version"] for k in json.load(open(sys.argv[1]))["operating_systems"][0]["linux"]["kernels"])) + " ")' "$T/j")
				assert_eq "$got" "$want" "$n kernels vs debugfs ls /boot"
			fi
		fi
	done < "$T/parts"
done
echo ok
