#!/bin/bash
# Rule coverage of the end-to-end tests of `vmie check` (issue 4): every
# rule id of ../shared/REQUIREMENTS.md that `vmie check` evaluates must be
# seen, in some e2e check that asserts it, both succeeding (pass) and
# failing (fail or warn) on a real image or option set -- under each policy
# where the catalogue says the rule differs (policy column other than
# "both").  The exceptions are the allow-list below, each with its reason.
#
# The verdicts come from the e2e tests themselves (e2e.sh records every
# report in test-cache/rules-coverage/NAME.seen, keyed by what made it):
# a fresh record is reused, a missing or stale one is made by running that
# test here.  Registered last and alone (priority, is_parallel false), so a
# full suite run reuses every record.  Prints the coverage matrix.
FIXTURE=${1:-}
source "$SRCDIR/tests/rules/e2e/e2e.sh"
REQ="$SHARED/REQUIREMENTS.md"
[ -r "$REQ" ] || skip "no $REQ"

# ---- allow-list: rules that cannot have the usual pair of verdicts ----
# RULE[@POLICY] SUCCESS FAILURE   ("-": none exists); SUCCESS and FAILURE
# are comma lists of verdicts that count.  Default: pass / fail,warn.
cat > "$T/allow" <<'EOF'
# detection, not a requirement: the modes found are information; it fails
# when the guest has no boot loader for either mode
BOOT-001 info fail
# a decision: the chosen mode and the GPT-to-MBR conversion are
# information; it fails when no mode can be chosen
BOOT-006 info fail
# Windows Server takes AWS and BYOL alike: nothing to refuse (an invalid
# value is LIC-001's failure, Windows client editions LIC-003's)
LIC-004 pass -
# changes the import makes itself: information when it will make them
PREP-009 pass info
PREP-010 pass info
PREP-014 pass info
# information only: SR-IOV drivers on Server 2012 R2 (n/a elsewhere), and
# the list of files an import may change
PREP-016 info -
PREP-018 info -
# evaluated by export-image; `vmie check` reports them n/a
EXP-001 - -
EXP-002 - -
# aws-current allows MBR, GPT and no table for Linux: nothing to fail
# (the failure is covered under aws-legacy and by a policy file in
# check-linux)
FS-003@aws-current pass -
EOF

# ---- the e2e records: reuse the fresh ones, make the others ----
tests=()
for f in "$E2E"/check-*.sh; do tests+=("$(basename "$f" .sh)"); done
skipped=()
fresh() { [ -f "$COVDIR/$1.seen" ] &&
	[ "$(head -1 "$COVDIR/$1.seen")" = "# key $(e2e_key "$1")" ]; }
: > "$T/all.seen"
for n in "${tests[@]}"; do
	if ! fresh "$n"; then
		echo "running $n (no fresh record)"
		rc=0
		env -u CHECK_E2E_SEEN bash "$E2E/$n.sh" "$FIXTURE" > "$T/$n.log" \
			2>&1 || rc=$?
		if [ "$rc" -eq 77 ]; then
			skipped+=("$n")
			# a test that skips part way keeps what it ran
			fresh "$n" || continue
		elif [ "$rc" -ne 0 ]; then
			tail -30 "$T/$n.log" >&2
			fail "$n failed: its verdicts cannot count"
		fi
		fresh "$n" || fail "$n ran but left no fresh record"
	fi
	grep -v '^#' "$COVDIR/$n.seen" >> "$T/all.seen" || true
done

# ---- the matrix ----
rc=0
"$PY" - "$REQ" "$T/allow" "$T/all.seen" "$SRCDIR/policies" <<'EOF' || rc=$?
import os, re, sys
req, allow_f, seen_f, pdir = sys.argv[1:5]
text = open(req).read()
rules = []                                  # (id, policies needing pairs)
for m in re.finditer(r'^\| ((?:FMT|DSK|FS|OS|BOOT|LIC|PREP|EXP)-\d{3}) \|'
                     r'(.*)$', text, re.M):
    cols = [c.strip() for c in m.group(2).split('|')]
    pol = cols[1] if len(cols) > 2 else ''
    if pol in ('', 'both'):
        need = ['*']
    elif pol.startswith('000'):
        need = ['aws-current']
    elif pol.startswith('legacy'):
        need = ['aws-legacy']
    elif 'differ' in pol:
        need = ['aws-current', 'aws-legacy']
    else:
        sys.exit('REQUIREMENTS.md: policy column %r of %s not understood'
                 % (pol, m.group(1)))
    rules.append((m.group(1), need))
if len(rules) < 50:
    sys.exit('REQUIREMENTS.md: only %d rules found' % len(rules))
allow = {}
for line in open(allow_f):
    line = line.split('#')[0].split()
    if line:
        allow[line[0]] = (line[1], line[2])
known = {r for r, _ in rules}
for k in allow:
    if k.split('@')[0] not in known:
        sys.exit('allow-list names %s, which REQUIREMENTS.md does not have' % k)
seen = {}                                   # (rule, policy, verdict) -> label
for line in open(seen_f):
    p = line.rstrip('\n').split(' ', 4)
    if len(p) == 5 and p[3] == '1':
        seen.setdefault((p[0], p[1], p[2]), p[4])
        seen.setdefault((p[0], '*', p[2]), p[4] + ' [' + p[1] + ']')
missing = []
print('%-10s %-12s %-44s %s' % ('rule', 'policy', 'succeeds in', 'fails in'))
for rid, need in rules:
    for pol in need:
        good, badv = allow.get(rid + '@' + pol, allow.get(rid, ('pass', 'fail,warn')))
        cells = []
        for want in (good, badv):
            if want == '-':
                cells.append('- (allow-list)')
                continue
            hit = None
            for v in want.split(','):
                if seen.get((rid, pol, v)):
                    hit = '%s: %s' % (v, seen[(rid, pol, v)])
                    break
            if not hit:
                missing.append('%s %s: no asserted %s' % (rid, pol, want))
            cells.append(hit or 'MISSING (%s)' % want)
        print('%-10s %-12s %-44.44s %s' % (rid, pol, cells[0], cells[1]))
for m in missing:
    print('NOT COVERED: ' + m)
sys.exit(3 if missing else 0)
EOF
case $rc in
0) echo "every rule covered" ;;
3) if [ ${#skipped[@]} -gt 0 ]; then
	skip "not every rule covered, and ${skipped[*]} skipped here"
   fi
   fail "rules not covered end to end (see NOT COVERED above)" ;;
*) fail "coverage analysis failed" ;;
esac
