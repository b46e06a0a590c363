#!/bin/bash
# Manifests: SHA1 and SHA256 lines, with and without a space before '=',
# are verified by `vmie info --check`; a wrong digest is refused naming the
# file and both digests; an entry naming a missing member is refused.
source "$SRCDIR/tests/functions.sh"
need tar python3
OVATOOL="python3 $SRCDIR/tests/ova/ovatool.py"
cd "$T"
head -c 1M /dev/urandom > disk.raw
$OVATOOL ovf vm.ovf --disk disk.raw:1048576
for alg in sha1 sha256 sha1:space sha256:space; do
	$OVATOOL mf vm.mf "$alg" vm.ovf=vm.ovf disk.raw=disk.raw
	tar --format=ustar -cf good.ova vm.ovf disk.raw vm.mf
	"$VMIE" info good.ova | grep -qx 'manifest: vm.mf (not verified; use --check)' ||
		fail "$alg: manifest not reported"
	"$VMIE" info --check good.ova > out || fail "$alg: good manifest refused"
	A=$(echo "${alg%:space}" | tr a-z A-Z)
	grep -qx "manifest: vm.mf: verified, 2 of 2 $A digests match" out ||
		{ cat out; fail "$alg: not verified"; }
	"$VMIE" info --check --json good.ova | grep -q '"verified": true' ||
		fail "$alg: json"
done
grep -q 'SHA256(vm.ovf) = ' vm.mf || fail "space syntax not produced"

# a wrong digest for the disk
$OVATOOL mf vm.mf sha256 vm.ovf=vm.ovf disk.raw=disk.raw
good=$(sed -n 's/^SHA256(disk.raw)= //p' vm.mf)
bad=$(echo "$good" | tr 0-9a-f 1-9a-f0)
sed -i "s/$good/$bad/" vm.mf
tar --format=ustar -cf bad.ova vm.ovf disk.raw vm.mf
rc=0; "$VMIE" info --check bad.ova > out 2> err || rc=$?
assert_eq "$rc" 2 "exit status of a digest mismatch"
grep -q "SHA256 digest of 'disk.raw' does not match: the manifest says $bad, the file has $good" err ||
	{ cat err; fail "mismatch message"; }
grep -q 'FMT-005' err || fail "rule id"
# without --check the OVA still opens (the manifest is not read)
"$VMIE" info bad.ova > /dev/null || fail "info without --check"

# an entry naming a file that is not in the OVA
printf 'SHA1(ghost.vmdk)= %040d\n' 0 > vm.mf
tar --format=ustar -cf ghost.ova vm.ovf disk.raw vm.mf
expect_fail "manifest lists 'ghost.vmdk', which is not in the OVA" "$VMIE" info --check ghost.ova
# a malformed line
printf 'MD5(disk.raw)= 0123\n' > vm.mf
tar --format=ustar -cf md5.ova vm.ovf disk.raw vm.mf
expect_fail "unknown digest algorithm 'MD5'" "$VMIE" info --check md5.ova

# a certificate signing the manifest: verified with its key
if command -v openssl >/dev/null; then
	$OVATOOL mf vm.mf sha256 vm.ovf=vm.ovf disk.raw=disk.raw
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
		-subj /CN=vmie-test -days 2 2>/dev/null
	sig=$(openssl dgst -sha256 -sign key.pem -hex vm.mf | sed 's/.*= //')
	{ echo "SHA256(vm.mf)= $sig"; cat cert.pem; } > vm.cert
	tar --format=ustar -cf signed.ova vm.ovf disk.raw vm.mf vm.cert
	"$VMIE" info --check signed.ova > out || { cat out; fail "signed OVA"; }
	grep -q 'certificate: vm.cert: SHA256 signature over the manifest verified' out ||
		{ cat out; fail "certificate not verified"; }
	echo "SHA256(vm.ovf)= $(sha vm.ovf)" > vm.mf     # manifest changed
	tar --format=ustar -cf resigned.ova vm.ovf disk.raw vm.mf vm.cert
	expect_fail "signature over the manifest does not verify" "$VMIE" info --check resigned.ova
fi
echo ok
