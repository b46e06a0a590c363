#!/bin/bash
# vmie check, the command: exit status 2 when the check cannot run (missing
# or unreadable input, bad options, bad policy file named with its line and
# field), and the readable report (failures first, the decisions with their
# rules, colour only on a terminal).
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"

c7=$(cguest centos7-xfs)

# could not run: exit 2 and a message naming the problem
expect2() { # PATTERN ARGS...
	local pat=$1
	shift
	expect_rc 2 "$T/out" "$VMIE" check "$@"
	grep -qE -- "$pat" "$T/out.err" || { cat "$T/out.err" >&2; fail "no /$pat/: $*"; }
	[ ! -s "$T/out" ] || fail "a report was printed: $*"
}
expect2 'missing\.img.*No such file' "$T/missing.img"
expect2 'missing\.img.*No such file' "$c7" "$T/missing.img"
expect2 'not a regular file' "$T"
expect2 'usage' 
expect2 'usage' --no-such-option "$c7"
expect2 'boot-mode must be legacy-bios or uefi' --boot-mode efi "$c7"
expect2 'platform must be Windows or Linux' --platform BSD "$c7"
expect2 'architecture must be' --architecture sparc "$c7"
expect2 "policy 'nope' not found" --policy nope "$c7"
expect2 'no-such\.policy' --policy "$T/no-such.policy" "$c7"
# a policy file with a mistake: file, line and field
sed 's/^limit max_volumes 21 .*/limit max_volumes lots/' \
	"$SRCDIR/policies/aws-current" > "$T/my.policy"
line=$(grep -n '^limit max_volumes lots' "$T/my.policy" | cut -d: -f1)
[ -n "$line" ] || fail "could not make the bad policy"
expect2 "my\.policy:$line: field 3 \('lots'\)" --policy "$T/my.policy" "$c7"
# a misspelt key is refused, not silently ignored (its rule would keep
# the built-in default)
sed 's/^allow linux_filesystems /allow linux_filesytems /' \
	"$SRCDIR/policies/aws-current" > "$T/typo.policy"
line=$(grep -n '^allow linux_filesytems' "$T/typo.policy" | cut -d: -f1)
expect2 "typo\.policy:$line: field 2 \('linux_filesytems'\): unknown set" \
	--policy "$T/typo.policy" "$c7"
printf 'name x\nrule BOOT-042 off\nlinux debian 11 kernel 5.10\n' > "$T/rule.policy"
expect2 "rule\.policy:2: field 2 \('BOOT-042'\): no such rule" \
	--policy "$T/rule.policy" "$c7"
printf 'name x\nwindows 11 editions home bits 128\n' > "$T/bits.policy"
expect2 'bits\.policy:2' --policy "$T/bits.policy" "$c7"
# a correct copy of a policy file works like the built-in one
cp "$SRCDIR/policies/aws-current" "$T/copy.policy"
check "policy from a file" --policy "$T/copy.policy" "$c7" -- exit=0 \
	policy=aws-current
# the options' help
"$VMIE" check --help | grep -q -- '--boot-mode' || fail "--help"

# the readable report: failures first, then warnings, decisions shown
rc=0
"$VMIE" check --license-type AWS --boot-mode uefi "$c7" > "$T/txt" || rc=$?
assert_eq "$rc" 1 "text report exit status"
grep -q '^policy: aws-current$' "$T/txt" || fail "policy line"
grep -qF "disk0: $c7: raw, 340 MiB" "$T/txt" || fail "disk line"
grep -q '^  license type:    none' "$T/txt" || fail "licence decision"
grep -q '^the import would FAIL$' "$T/txt" || fail "verdict line"
grep -q '^the task would end with: ClientError: ' "$T/txt" || fail "task line"
verdicts=$(grep -oE '^(fail|warn|info|pass|n/a) ' "$T/txt" | uniq | tr -d ' \n')
case "$verdicts" in
fail*) ;;
*) fail "failures are not listed first: $verdicts" ;;
esac
[ "$(grep -c '^fail' "$T/txt")" -ge 3 ] || fail "BOOT-002, LIC-002, LIC-005"
grep -q $'\033\\[' "$T/txt" && fail "colour codes when not on a terminal"
"$VMIE" check "$c7" > "$T/ok.txt" || fail "passing guest: not exit 0"
grep -q '^  boot mode:       legacy-bios  \[BOOT-001\]' "$T/ok.txt" ||
	fail "boot mode decision with its rule"
grep -q '^the import would pass$' "$T/ok.txt" || fail "pass line"
grep -q '^pass' "$T/ok.txt" && fail "passing rules listed without --all"
"$VMIE" check --all "$c7" | grep -q '^pass OS-002 ' || fail "--all"
# colour on a terminal (script(1) gives the command a pty)
if command -v script >/dev/null 2>&1; then
	script -qec "$VMIE check --boot-mode uefi $c7" /dev/null > "$T/tty" \
		2>&1 || true
	grep -q $'\033\\[1;31mfail' "$T/tty" || fail "no colour on a terminal"
fi
checks_done
