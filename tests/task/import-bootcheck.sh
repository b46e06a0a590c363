#!/bin/bash
# import-image --boot-check (issue 11): the converted volume booted under
# QEMU (TCG) until a login prompt shows on the serial console.  The guest
# is the phony centos7 of tests/inspect/mkguest.py (it passes the rules)
# with a tiny program of our own in the code area of its MBR (bytes
# 0..439; the partition table and GRUB's strings stay, so inspection still
# sees GRUB 2): 16-bit real-mode code that writes a line to COM1 and
# halts.  One prints "vmie-test login: " (the check passes, the log holds
# the prompt, the stored volume is what the boot read), one prints no
# prompt (the task fails with a timeout that names the log; nothing is
# registered), one resets the machine (QEMU ends: the check fails at
# once).  Also: the policy's devices (target_disk_bus, target_nic), bad
# options, --dry-run never boots, a cancel during the boot.
source "$SRCDIR/tests/functions.sh"
source "$SRCDIR/tests/task/task.sh"
need qemu-system-x86_64

c7=$(guest centos7)

# mbr_prog OUT MESSAGE [reset]: a copy of the centos7 disk whose MBR code
# writes MESSAGE to COM1 (port 0x3f8) and halts (with "reset": resets the
# machine through the keyboard controller instead, which -no-reboot turns
# into QEMU's end)
mbr_prog() {
	cp --sparse=always "$c7" "$1"
	"$PY" - "$1" "$2" "${3:-halt}" <<'EOF'
import sys
path, msg, end = sys.argv[1], sys.argv[2].encode() + b'\0', sys.argv[3]
# org 0x7c00; the message at 0x7c00 + 32, after the code
code = bytes([
    0xFA,                   # cli
    0x31, 0xC0,             # xor ax, ax
    0x8E, 0xD8,             # mov ds, ax
    0xFC,                   # cld
    0xBE, 0x20, 0x7C,       # mov si, 0x7c20 (the message)
    0xBA, 0xF8, 0x03,       # mov dx, 0x3f8 (COM1 data)
    0xAC,                   # next: lodsb
    0x84, 0xC0,             # test al, al
    0x74, 0x03,             # jz done
    0xEE,                   # out dx, al
    0xEB, 0xF8,             # jmp next
])
if end == 'reset':
    code += bytes([0xB0, 0xFE,      # done: mov al, 0xfe
                   0xE6, 0x64])     # out 0x64, al (pulse the reset line)
code += bytes([0xFA, 0xF4, 0xEB, 0xFC])   # cli; hlt; jmp $-2
code = code.ljust(32, b'\x90')
body = code + msg
assert len(code) == 32 and len(body) < 0x180, 'GRUB 2 strings stay at 0x180'
with open(path, 'r+b') as f:
    mbr = bytearray(f.read(512))
    assert mbr[510:512] == b'\x55\xaa'
    mbr[0:len(body)] = body
    f.seek(0)
    f.write(mbr)
EOF
}

mbr_prog "$T/prompt.raw" $'\r\nvmie-test login: '
mbr_prog "$T/silent.raw" $'\r\nvmie-test: no prompt here\r\n'
mbr_prog "$T/reset.raw" $'\r\nvmie-test: resetting\r\n' reset

# record ID: the task's stored record (with its Vmie member) into $T/rec
record() {
	sqlite3 "$ST/vmie.db" "select doc from records where kind='import-image' and id='$1'" > "$T/rec"
	[ -s "$T/rec" ] || fail "no record of $1"
}
rget() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$T/rec" "$1"
}
n_images() {
	"$VMIE" describe-images --store "$ST" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["Images"]))'
}

# --- a prompt: the check passes, the image is registered ---
sum_before=$(sha256sum < "$T/prompt.raw")
vt import-image --boot-check --boot-check-timeout 120 \
	--disk-containers "Format=RAW,Url=$T/prompt.raw"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "boot check with a prompt: exit $RC"; }
[ "$(jget 'd["Status"]')" = completed ] || fail "prompt: not completed"
task=$(jget 'd["ImportTaskId"]')
ami=$(jget 'd["ImageId"]')
snap=$(jget 'd["SnapshotDetails"][0]["SnapshotId"]')
record "$task"
[ "$(rget 'd["Vmie"]["BootCheck"]["Result"]')" = pass ] || fail "prompt: Result $(rget 'd["Vmie"]["BootCheck"]')"
[ "$(rget 'd["Vmie"]["BootCheck"]["Prompt"]')" = "vmie-test login:" ] ||
	fail "prompt: Prompt '$(rget 'd["Vmie"]["BootCheck"]["Prompt"]')'"
[ "$(rget 'd["Vmie"]["BootCheck"]["Firmware"]')" = legacy-bios ] || fail "prompt: Firmware"
[ "$(rget 'd["Vmie"]["BootCheck"]["DiskBus"]')" = virtio ] || fail "prompt: DiskBus"
[ "$(rget 'd["Vmie"]["BootCheck"]["Nic"]')" = virtio-net-pci ] || fail "prompt: Nic"
[ "$(rget '"bootcheck" in d["Vmie"]["StageTimes"]')" = true ] || fail "prompt: no StageTimes.bootcheck"
log=$(rget 'd["Vmie"]["BootCheck"]["Log"]')
[ "$log" = "$(cd "$ST" && pwd -P)/logs/$task.boot.log" ] || fail "prompt: log path '$log'"
grep -q 'vmie-test login: ' "$log" || { cat "$log" >&2; fail "prompt: the log has no prompt"; }
grep -q -- '--- vmie boot check: a login prompt after' "$log" || fail "prompt: the log has no verdict"
# the boot did not change the stored volume (the guest changes of the
# update stage did not touch the MBR: its code is the one we wrote)
cmp -n 440 "$T/prompt.raw" "$ST/volumes/$snap.raw" || fail "prompt: the volume's MBR code differs"
[ "$(sha256sum < "$T/prompt.raw")" = "$sum_before" ] || fail "prompt: the source changed"
sum_vol=$(sha256sum < "$ST/volumes/$snap.raw")
vt describe-images --image-ids "$ami"
jget 'd["Images"][0]["Tags"]' | grep -q '"vmie:boot-check", "Value": "pass in' ||
	fail "prompt: no vmie:boot-check tag: $(jget 'd["Images"][0]["Tags"]')"
pgrep -f "qemu-system.*-name $task" && fail "prompt: QEMU left running"

# the same with a qcow2 volume and the policy's devices (nvme, e1000)
sed -e 's/^name .*/name bootcheck-nvme/' "$SRCDIR/policies/aws-current" > "$T/nvme.policy"
sed -i -e '/^allow target_disk_bus/d' -e '/^allow target_nic/d' "$T/nvme.policy"
printf 'allow target_disk_bus nvme\nallow target_nic e1000\n' >> "$T/nvme.policy"
vt import-image --boot-check --boot-check-timeout 120 --volume-format qcow2 \
	--policy "$T/nvme.policy" --disk-containers "Format=RAW,Url=$T/prompt.raw"
[ "$RC" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "nvme + qcow2: exit $RC"; }
record "$(jget 'd["ImportTaskId"]')"
[ "$(rget 'd["Vmie"]["BootCheck"]["DiskBus"]')" = nvme ] || fail "nvme: DiskBus"
[ "$(rget 'd["Vmie"]["BootCheck"]["Nic"]')" = e1000 ] || fail "nvme: Nic"
[ "$(rget 'd["Vmie"]["BootCheck"]["Result"]')" = pass ] || fail "nvme: $(rget 'd["Vmie"]["BootCheck"]')"
# a policy naming an unknown bus is refused where it says so
printf 'allow target_disk_bus floppy\n' >> "$T/nvme.policy"
vt import-image --boot-check --policy "$T/nvme.policy" --disk-containers "Format=RAW,Url=$T/prompt.raw"
[ "$RC" = 254 ] && grep -q 'target_disk_bus' "$T/err" || fail "bad target_disk_bus: $RC $(cat "$T/err")"

# --- no prompt: the task fails on the timeout, nothing is registered ---
imgs=$(n_images)
t0=$(date +%s)
vt import-image --boot-check --boot-check-timeout 15 \
	--disk-containers "Format=RAW,Url=$T/silent.raw"
t1=$(date +%s)
[ "$RC" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "no prompt: exit $RC"; }
[ "$(jget 'd["Status"]')" = deleted ] || fail "no prompt: not deleted"
msg=$(jget 'd["StatusMessage"]')
task=$(jget 'd["ImportTaskId"]')
log="$(cd "$ST" && pwd -P)/logs/$task.boot.log"
case "$msg" in
"ClientError: the boot check failed: no login prompt on the serial console within 15 s (serial log: $log); last lines: vmie-test: no prompt here") ;;
*) fail "no prompt: message '$msg'" ;;
esac
[ $((t1 - t0)) -lt 60 ] || fail "no prompt: took $((t1 - t0)) s"
grep -q 'vmie-test: no prompt here' "$log" || fail "no prompt: log"
[ "$(n_images)" = "$imgs" ] || fail "no prompt: an image was registered"
record "$task"
[ "$(rget 'd["Vmie"]["BootCheck"]["Result"]')" = fail ] || fail "no prompt: Result"
[ "$(rget 'd.get("ImageId")')" = null ] || fail "no prompt: ImageId"
store_clean "no prompt"

# --- the machine resets: QEMU ends (-no-reboot), the check fails at once ---
t0=$(date +%s)
vt import-image --boot-check --boot-check-timeout 300 \
	--disk-containers "Format=RAW,Url=$T/reset.raw"
t1=$(date +%s)
[ "$RC" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "reset: exit $RC"; }
jget 'd["StatusMessage"]' | grep -q 'ClientError: the boot check failed: QEMU ended (exit status 0) before a login prompt' ||
	fail "reset: message '$(jget 'd["StatusMessage"]')'"
[ $((t1 - t0)) -lt 120 ] || fail "reset: took $((t1 - t0)) s"
[ "$(n_images)" = "$imgs" ] || fail "reset: an image was registered"

# --- bad options; --dry-run never boots ---
vt import-image --boot-check-timeout 0 --disk-containers "Format=RAW,Url=$T/prompt.raw"
[ "$RC" = 254 ] && grep -q 'boot check timeout' "$T/err" || fail "timeout 0 accepted: $RC"
vt import-image --boot-check-timeout abc --disk-containers "Format=RAW,Url=$T/prompt.raw"
[ "$RC" = 252 ] || fail "timeout abc: $RC"
vt import-image --dry-run --boot-check --disk-containers "Format=RAW,Url=$T/silent.raw"
[ "$RC" = 0 ] && [ "$(jget 'd["WouldPass"]')" = true ] || fail "dry run: $RC $(cat "$T/err")"
ls "$ST/logs" | grep -c . > "$T/nlogs"
[ "$(cat "$T/nlogs")" = 4 ] || fail "dry run: a boot log was written ($(ls "$ST/logs"))"

# --- cancel during the boot: QEMU is stopped, the task ends deleted ---
vt import-image --no-wait --boot-check --boot-check-timeout 300 \
	--disk-containers "Format=RAW,Url=$T/silent.raw"
[ "$RC" = 0 ] || fail "no-wait: $RC"
task=$(jget 'd["ImportTaskId"]')
for i in $(seq 1 300); do
	vt describe-import-image-tasks --import-task-ids "$task"
	[ "$(jget 'd["ImportImageTasks"][0].get("StatusMessage")')" = booting ] && break
	sleep 0.2
done
[ "$(jget 'd["ImportImageTasks"][0].get("StatusMessage")')" = booting ] || fail "cancel: never booting"
sleep 1
vt cancel-import-task --import-task-id "$task"
[ "$RC" = 0 ] || fail "cancel: $RC $(cat "$T/err")"
for i in $(seq 1 100); do
	vt describe-import-image-tasks --import-task-ids "$task"
	[ "$(jget 'd["ImportImageTasks"][0]["Status"]')" = deleted ] && break
	sleep 0.2
done
[ "$(jget 'd["ImportImageTasks"][0]["Status"]')" = deleted ] || fail "cancel: not deleted"
jget 'd["ImportImageTasks"][0]["StatusMessage"]' | grep -q 'cancelled' || fail "cancel: message"
sleep 1
pgrep -f "qemu-system.*-name $task" && fail "cancel: QEMU left running"
[ "$(n_images)" = "$imgs" ] || fail "cancel: an image was registered"
store_clean "boot check"
echo ok
