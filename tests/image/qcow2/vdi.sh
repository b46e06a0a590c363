#!/bin/bash
# A VirtualBox VDI (dissect.hypervisor/basic.vdi, made by qemu-img) is not
# an import format: `vmie info` and `vmie convert` must refuse it clearly
# (FMT-001, naming VDI) instead of reading it as a raw disk.
source "$SRCDIR/tests/functions.sh"
f=$(sample dissect.hypervisor/basic.vdi.gz)
expect_fail "VDI" "$VMIE" info "$f"
expect_fail "VDI" "$VMIE" convert -O raw "$f" "$T/out.raw"
[ ! -e "$T/out.raw" ] || fail "a raw copy of the VDI was written"
# forcing raw is the user's explicit choice and still works
"$VMIE" info -f raw "$f" > /dev/null || fail "-f raw on the VDI file"
echo "ok"
