#!/bin/bash
# Hostile and broken OVAs: each is refused with a message naming the
# problem (and its rule id), without a crash or a sanitizer report.
source "$SRCDIR/tests/functions.sh"
need tar python3
OVATOOL="python3 $SRCDIR/tests/ova/ovatool.py"
cd "$T"
head -c 64K /dev/urandom > disk.raw
$OVATOOL ovf vm.ovf --disk disk.raw:65536
$OVATOOL tar good.ova vm.ovf=vm.ovf disk.raw=disk.raw
"$VMIE" info good.ova > /dev/null || fail "the good OVA is refused"

bad() { # PATTERN OVA: info and convert must both refuse it
	expect_fail "$1" "$VMIE" info "$2"
	expect_fail "$1" "$VMIE" convert -O raw "$2" "$T/out.raw"
	[ ! -e "$T/out.raw" ] || fail "output left behind for $2"
}

# names that leave the archive, duplicates
$OVATOOL tar dotdot.ova vm.ovf=vm.ovf disk.raw=disk.raw ../evil=disk.raw
bad "tar member '../evil' contains '..': refused .*\[FMT-005\]" dotdot.ova
$OVATOOL tar dotdot2.ova vm.ovf=vm.ovf disk.raw=disk.raw a/../../evil=disk.raw
bad "contains '..'" dotdot2.ova
$OVATOOL tar abs.ova vm.ovf=vm.ovf disk.raw=disk.raw /abs=disk.raw
bad "tar member '/abs' is an absolute path: refused .*\[FMT-005\]" abs.ova
$OVATOOL tar dup.ova vm.ovf=vm.ovf disk.raw=disk.raw disk.raw=vm.ovf
bad "member 'disk.raw' appears twice .*\[FMT-005\]" dup.ova

# references: missing file, href leaving the archive, URL, chunks, gzip
$OVATOOL ovf miss.ovf --disk nothere.vmdk:65536
$OVATOOL tar missing.ova vm.ovf=miss.ovf disk.raw=disk.raw
bad "File 'file1' referenced by the OVF \('nothere.vmdk'\) is missing from the OVA \[FMT-005\]" missing.ova
$OVATOOL ovf up.ovf --disk ../disk.raw:65536
$OVATOOL tar up.ova vm.ovf=up.ovf disk.raw=disk.raw
bad "OVF File href '../disk.raw' contains '..'" up.ova
$OVATOOL ovf url.ovf --disk http://example.invalid/disk.vmdk:65536
$OVATOOL tar url.ova vm.ovf=url.ovf disk.raw=disk.raw
bad "is an external URL" url.ova
$OVATOOL ovf chunk.ovf --disk disk.raw:65536 --chunk 32768
$OVATOOL tar chunk.ova vm.ovf=chunk.ovf disk.raw.000000000=disk.raw
bad "chunked disk files are not supported.*\[FMT-001\]" chunk.ova
gzip -c disk.raw > disk.raw.gz
$OVATOOL ovf gz.ovf --disk disk.raw.gz:65536 --gzip
$OVATOOL tar gz.ova vm.ovf=gz.ovf disk.raw.gz=disk.raw.gz
bad "is compressed \(ovf:compression=\"gzip\"\).*\[FMT-001\]" gz.ova

# the descriptor: not first, external entity, entity bomb, size cap, junk
$OVATOOL tar notfirst.ova disk.raw=disk.raw vm.ovf=vm.ovf
bad "the OVF descriptor 'vm.ovf' is not the first member.*\[FMT-001\]" notfirst.ova
echo "VMIE-SECRET-MARKER-$$" > secret.txt
$OVATOOL ovf xxe.ovf --disk disk.raw:65536 --doctype
sed -i "s|file:///etc/passwd|file://$T/secret.txt|" xxe.ovf
$OVATOOL tar xxe.ova vm.ovf=xxe.ovf disk.raw=disk.raw
bad "has a DOCTYPE declaration: refused" xxe.ova
! grep -q SECRET-MARKER "$T/out" "$T/err" || fail "entity content leaked"
if command -v strace >/dev/null; then
	strace -f -e trace=open,openat -o trace.txt "$VMIE" info xxe.ova 2>/dev/null || true
	grep -q 'xxe.ova' trace.txt || fail "strace saw nothing"
	! grep -q secret.txt trace.txt || fail "the external entity was opened"
fi
# the same with /etc/passwd itself
$OVATOOL ovf xxe2.ovf --disk disk.raw:65536 --doctype
$OVATOOL tar xxe2.ova vm.ovf=xxe2.ovf disk.raw=disk.raw
bad "DOCTYPE declaration: refused" xxe2.ova
! grep -q 'root:' "$T/out" "$T/err" || fail "/etc/passwd leaked"
python3 - <<'PY'
x = '<?xml version="1.0"?>\n<!DOCTYPE Envelope [\n <!ENTITY l0 "lol">\n'
for i in range(1, 10):
    x += ' <!ENTITY l%d "%s">\n' % (i, ("&l%d;" % (i - 1)) * 10)
x += (']>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1">'
      '<VirtualSystem><Name>&l9;</Name></VirtualSystem></Envelope>\n')
open("lol.ovf", "w").write(x)
PY
$OVATOOL tar lol.ova vm.ovf=lol.ovf disk.raw=disk.raw
bad "DOCTYPE declaration: refused" lol.ova
$OVATOOL tar huge.ova vm.ovf@104857600 disk.raw=disk.raw
bad "OVF descriptor 'vm.ovf' is 104857600 bytes, more than the 16 MiB limit" huge.ova
echo '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><Refer' > junk.ovf
$OVATOOL tar junk.ova vm.ovf=junk.ovf disk.raw=disk.raw
bad "OVF descriptor is not valid XML \(line [0-9]+\)" junk.ova
echo '<Envelope xmlns="urn:not-ovf"/>' > notovf.ovf
$OVATOOL tar notovf.ova vm.ovf=notovf.ovf disk.raw=disk.raw
bad "not an OVF descriptor" notovf.ova

# the tar itself: truncated header, data past the end, bad checksum
size=$(stat -c %s good.ova)
ovf_end=$((512 + ($(stat -c %s vm.ovf) + 511) / 512 * 512))
head -c $((ovf_end + 100)) good.ova > cut-header.ova
bad "tar header at offset $ovf_end is cut short by the end of the file .*truncated" cut-header.ova
head -c $((ovf_end + 512 + 1000)) good.ova > cut-data.ova
bad "tar member at offset $ovf_end \(65536 bytes\) extends past the end of the file .*truncated" cut-data.ova
cp good.ova cksum.ova
printf 'Z' | dd of=cksum.ova bs=1 seek=$((ovf_end + 140)) conv=notrunc 2>/dev/null
bad "tar header at offset $ovf_end: checksum mismatch" cksum.ova
cp good.ova cksum0.ova
printf 'Z' | dd of=cksum0.ova bs=1 seek=140 conv=notrunc 2>/dev/null
# a broken first header: not recognised as an OVA, so not read as one
expect_fail "format not recognised|checksum" "$VMIE" info -f ova cksum0.ova
# an OVA inside an OVA
$OVATOOL ovf nest.ovf --disk good.ova:65536
$OVATOOL tar nest.ova vm.ovf=nest.ovf good.ova=good.ova
expect_fail "an OVA inside an OVA is not supported \[FMT-001\]" "$VMIE" convert -O raw nest.ova "$T/out.raw"
# a symbolic link as the disk
python3 - <<'PY'
import tarfile
with tarfile.open("link.ova", "w", format=tarfile.USTAR_FORMAT) as t:
    t.add("vm.ovf")
    ti = tarfile.TarInfo("disk.raw"); ti.type = tarfile.SYMTYPE
    ti.linkname = "/etc/passwd"; t.addfile(ti)
PY
bad "member 'disk.raw' \(File 'file1'\) is not a regular file" link.ova
# not a tar at all: the generic path answers
expect_fail "tar header at offset 0" "$VMIE" info -f ova disk.raw
echo ok
