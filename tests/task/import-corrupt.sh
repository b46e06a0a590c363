#!/bin/bash
# A corrupt grain in an OVA's disk, on the import's single read (issue 13):
# the validate stage no longer walks every grain (over S3 that was a second
# full read of the object); the conversion reads each grain once and checks
# it as the walk did.  So:
#  - a grain that does not inflate, where inspection does not read, fails
#    the import in the convert stage with FMT-005 naming the grain, and
#    nothing is registered (no image, no snapshot, no volume);
#  - the same where inspection reads (a file system's superblock) is still
#    refused as FMT-005 naming the grain, not as "Unknown OS": when the
#    rules refuse, the walk runs and says why;
#  - the intact OVA imports, validate reading no grain;
#  - --dry-run still walks, and refuses the corrupt grain by FMT-005.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"

# the centos7 guest with 64 KiB of data at 120 MiB, past its partitions
# (inspection never reads there)
c7=$(guest centos7)
cp --sparse=always "$c7" "$T/c7.raw"
"$PY" -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(120 << 20)
f.write(bytes((i * 7 + 13) & 255 for i in range(65536)))' "$T/c7.raw"
"$VMIE" convert -O ova "$T/c7.raw" "$BK/imports/good.ova" >/dev/null ||
	fail "cannot make the OVA"

# corrupt OUT SECTOR: good.ova with the deflate stream of the grain holding
# SECTOR flipped in its middle; prints the grain's number
corrupt() {
	"$PY" - "$BK/imports/good.ova" "$BK/imports/$1" "$2" <<'PY'
import struct, sys, tarfile
src, out, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, "rb").read())
with tarfile.open(src) as t:
    base = [m for m in t.getmembers() if m.name.endswith(".vmdk")][0].offset_data
off = base + struct.unpack_from("<Q", b, base + 0x40)[0] * 512  # overHead
while True:
    lba, size = struct.unpack_from("<QI", b, off)
    if size:                      # a grain: LBA, compressed size, data
        if lba <= want < lba + 128:
            mid = off + 12 + size // 2
            for i in range(16):
                b[mid + i] ^= 0x5a
            open(out, "wb").write(b)
            print(lba // 128)
            break
        off = (off + 12 + size + 511) // 512 * 512
    else:                         # a marker: sectors, 0, type
        if struct.unpack_from("<I", b, off + 12)[0] == 0:
            sys.exit("no grain holds sector %d" % want)
        off += 512 + lba * 512
PY
}
g_end=$(corrupt bad-end.ova $((120 * 2048))) || fail "bad-end.ova"
g_fs=$(corrupt bad-fs.ova 67584) || fail "bad-fs.ova"   # partition 2's start
assert_eq "$g_end $g_fs" "1920 528" "grains corrupted"

# stages: the stages the last import went through, in order
stages() {
	sqlite3 "$ST/vmie.db" "select json_extract(doc, '\$.Vmie.StageTimes')
		from records where kind = 'import-image' order by rowid desc
		limit 1" | "$PY" -c 'import json, sys; print(" ".join(json.load(sys.stdin)))'
}
registered() {
	sqlite3 "$ST/vmie.db" "select count(*) from records where kind in
		('image', 'snapshot')"
}
ova() { echo "Format=OVA,UserBucket={S3Bucket=imports,S3Key=$1}"; }

# --- the intact OVA ---
vt import-image --disk-containers "$(ova good.ova)"
[ "$RC" = 0 ] && [ "$(jget 'd["Status"]')" = completed ] ||
	{ cat "$T/out" "$T/err" >&2; fail "good.ova: not imported"; }
[ "$(registered)" = 2 ] || fail "good.ova: $(registered) records, not an image and a snapshot"

# --- a corrupt grain inspection does not read: refused in convert ---
rm -rf "$ST"
vt import-image --disk-containers "$(ova bad-end.ova)"
[ "$RC" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "bad-end.ova: exit $RC"; }
[ "$(jget 'd["Status"]')" = deleted ] || fail "bad-end.ova: not deleted"
msg=$(jget 'd["StatusMessage"]')
echo "$msg" | grep -qE "^ClientError: Disk validation failed: .*compressed grain $g_end at offset [0-9]+ does not inflate \(bad zlib data\) \[FMT-005\]" ||
	fail "bad-end.ova: StatusMessage is '$msg'"
s=$(stages)
case " $s " in *" validated "*" convert "*) ;;
	*) fail "bad-end.ova: refused before convert (stages: $s)" ;; esac
[ "$(registered)" = 0 ] || fail "bad-end.ova: $(registered) image/snapshot records"
[ -z "$(ls -A "$ST/volumes")" ] || fail "bad-end.ova: a volume was left"
store_clean bad-end.ova

# --- a corrupt grain inspection reads: FMT-005, not "Unknown OS" ---
rm -rf "$ST"
vt import-image --disk-containers "$(ova bad-fs.ova)"
[ "$RC" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "bad-fs.ova: exit $RC"; }
msg=$(jget 'd["StatusMessage"]')
echo "$msg" | grep -qE "^ClientError: Disk validation failed .*\[FMT-005: .*compressed grain $g_fs at offset [0-9]+ does not inflate" ||
	fail "bad-fs.ova: StatusMessage is '$msg'"
s=$(stages)
case " $s " in *" convert "*) fail "bad-fs.ova: converted (stages: $s)" ;; esac
[ "$(registered)" = 0 ] || fail "bad-fs.ova: $(registered) image/snapshot records"
store_clean bad-fs.ova

# --- the dry run walks the tables: the grain is found without converting ---
rm -rf "$ST"
vt import-image --dry-run --disk-containers "$(ova bad-end.ova)"
[ "$(jget 'd["WouldPass"]')" = false ] ||
	{ cat "$T/out" "$T/err" >&2; fail "dry run of bad-end.ova would pass"; }
grep -qE "FMT-005.*compressed grain $g_end .*does not inflate|compressed grain $g_end .*does not inflate.*FMT-005" "$T/out" ||
	{ cat "$T/out" >&2; fail "dry run of bad-end.ova: no FMT-005 naming grain $g_end"; }
echo "ok"
