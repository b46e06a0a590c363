#!/bin/bash
# lib/io/nbd_server.c against independent NBD clients (qemu-img, qemu-io):
# what a client reads is the image; what it writes lands in the
# copy-on-write overlay (the helper dumps it) and never in the file served;
# a read-only export refuses writes; a request past the end is refused.
source "$SRCDIR/tests/functions.sh"
need qemu-img qemu-io cmp head
SERVE="$BUILDDIR/tests/modify/nbd_serve"
[ -x "$SERVE" ] || skip "no nbd_serve helper"

head -c $((8 << 20)) /dev/urandom > "$T/base.raw"
truncate -s 24M "$T/base.raw"      # a tail of holes
sum=$(sha256sum < "$T/base.raw")

coproc SRV { "$SERVE" "$T/base.raw"; }
read -r sock <&"${SRV[0]}" || fail "the server did not start"
[ -S "$sock" ] || fail "no socket at $sock"
[ "$(stat -c %a "$(dirname "$sock")")" = 700 ] || fail "socket directory is not 0700"
url="nbd+unix:///disk0?socket=$sock"

# reads: the whole disk, through two connections at once
qemu-img convert -f raw -O raw "$url" "$T/out1.raw" &
qemu-img convert -f raw -O raw "$url" "$T/out2.raw"
wait $! || fail "qemu-img convert (first)"
cmp "$T/base.raw" "$T/out1.raw" || fail "read back differs"
cmp "$T/base.raw" "$T/out2.raw" || fail "read back differs (second connection)"

# writes, zeroes and discards land in the overlay
qemu-io -f raw -c 'write -P 0xab 4096 65536' -c 'write -z 1048576 131072' \
	-c 'discard 2097152 65536' -c 'write -P 0xcd 20971520 512' -c flush \
	"$url" > "$T/io.log" 2>&1 || { cat "$T/io.log" >&2; fail "qemu-io write"; }
# a read past the end is refused, not answered with garbage
qemu-io -f raw -c 'read 25165312 1024' "$url" > "$T/io2.log" 2>&1 || true
grep -qi 'error\|invalid\|out of\|past' "$T/io2.log" || { cat "$T/io2.log" >&2; fail "read past the end accepted"; }
[ "$(sha256sum < "$T/base.raw")" = "$sum" ] || fail "the served file was written"
echo "dump $T/ov.raw" >&"${SRV[1]}"
read -r ans <&"${SRV[0]}"
[ "$ans" = ok ] || fail "dump: $ans"
cp "$T/base.raw" "$T/want.raw"
python3 - "$T/want.raw" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(4096); f.write(b'\xab' * 65536)
    f.seek(1048576); f.write(b'\0' * 131072)
    f.seek(2097152); f.write(b'\0' * 65536)
    f.seek(20971520); f.write(b'\xcd' * 512)
PY
cmp "$T/want.raw" "$T/ov.raw" || fail "the overlay does not hold the writes"
# and a client sees its own writes
qemu-img convert -f raw -O raw "$url" "$T/out3.raw" || fail "qemu-img convert (after writes)"
cmp "$T/want.raw" "$T/out3.raw" || fail "read after write differs"
echo quit >&"${SRV[1]}"
wait "$SRV_PID" || fail "server exit"
[ ! -e "$sock" ] && [ ! -e "$(dirname "$sock")" ] || fail "socket directory left behind"

# read-only export
coproc RO { "$SERVE" "$T/base.raw" readonly; }
read -r sock <&"${RO[0]}" || fail "the read-only server did not start"
if qemu-io -f raw -c 'write -P 1 0 512' "nbd+unix:///disk0?socket=$sock" > "$T/io3.log" 2>&1 &&
   ! grep -qi 'error\|read-only\|denied\|not permitted' "$T/io3.log"; then
	cat "$T/io3.log" >&2
	fail "a read-only export accepted a write"
fi
echo quit >&"${RO[1]}"
wait "$RO_PID" || true
[ "$(sha256sum < "$T/base.raw")" = "$sum" ] || fail "the served file was written"
echo ok
