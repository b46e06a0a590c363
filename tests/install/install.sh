#!/bin/sh
# make install, staged under DESTDIR (docs/install.md): the tree meson
# installs for this build's prefix holds a binary that runs and finds its
# policies there (never in the source tree or the current directory), a man
# page per command of `vmie --help` that renders without a warning, a
# systemd unit systemd-analyze accepts, and `make uninstall` removes all of
# it.
. "$SRCDIR/tests/functions.sh"
need meson man col
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

opt() {
	meson introspect --buildoptions "$BUILDDIR" | "$PY" -c '
import json, sys
print([o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]][0])' "$1"
}
prefix=$(opt prefix)
bindir=$prefix/$(opt bindir)
datadir=$prefix/$(opt datadir)
mandir=$prefix/$(opt mandir)
unitdir=$(opt systemdunitdir)
[ -n "$unitdir" ] || unitdir=$prefix/lib/systemd/system
version=$(meson introspect --projectinfo "$BUILDDIR" | "$PY" -c '
import json, sys; print(json.load(sys.stdin)["version"])')
D=$T/dest

meson install -C "$BUILDDIR" --no-rebuild --quiet --destdir "$D" \
	>"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "meson install"; }

# ---- the tree
for f in "$bindir/vmie" "$datadir/vmie/policies/aws-current" \
	 "$datadir/vmie/policies/aws-legacy" "$datadir/doc/vmie/README.md" \
	 "$datadir/doc/vmie/install.md" "$datadir/doc/vmie/cmd-check.md" \
	 "$unitdir/vmie-serve.service" "$prefix/lib/sysusers.d/vmie.conf" \
	 "$mandir/man1/vmie.1"; do
	[ -f "$D$f" ] || fail "not installed: $f"
done
[ -x "$D$bindir/vmie" ] || fail "$bindir/vmie is not executable"
cmp -s "$D$datadir/vmie/policies/aws-legacy" "$SRCDIR/policies/aws-legacy" ||
	fail "the installed aws-legacy differs from the source's"
grep -q '^u vmie ' "$D$prefix/lib/sysusers.d/vmie.conf" ||
	fail "sysusers.d/vmie.conf does not create the user vmie"

# ---- the binary runs and finds its policies where they were installed
V=$D$bindir/vmie
[ "$("$V" --version)" = "vmie $version" ] || fail "--version: $("$V" --version)"
truncate -s 64M "$T/disk.raw"
# the installed copy, renamed, so that its use shows; a decoy in the
# current directory that must not be read
sed 's/^name .*/name installed-copy/' "$SRCDIR/policies/aws-current" \
	>"$D$datadir/vmie/policies/aws-current"
mkdir -p "$T/cwd/policies"
sed 's/^name .*/name cwd-decoy/' "$SRCDIR/policies/aws-current" \
	>"$T/cwd/policies/aws-current"
cd "$T/cwd"
unset VMIE_POLICY_DIR
"$V" check --policy aws-current "$T/disk.raw" >"$T/out" 2>&1 || true
grep -q '^policy: installed-copy$' "$T/out" || {
	cat "$T/out"; fail "the installed binary did not read $datadir/vmie/policies/aws-current"; }
"$V" check "$T/disk.raw" >"$T/out" 2>&1 || true
grep -q '^policy: installed-copy$' "$T/out" || fail "the default policy is not the installed aws-current"
"$V" check --policy aws-legacy "$T/disk.raw" >"$T/out" 2>&1 || true
grep -q '^policy: aws-legacy$' "$T/out" || { cat "$T/out"; fail "aws-legacy not found"; }
# VMIE_POLICY_DIR comes first
VMIE_POLICY_DIR=$T/cwd/policies "$V" check "$T/disk.raw" >"$T/out" 2>&1 || true
grep -q '^policy: cwd-decoy$' "$T/out" || fail "VMIE_POLICY_DIR was not searched first"
# the binary alone, away from its tree: only $prefix/share/vmie/policies,
# which this machine may or may not have; never the source tree
mkdir -p "$T/alone"
cp "$V" "$T/alone/vmie"
"$T/alone/vmie" check "$T/disk.raw" >"$T/out" 2>&1 && rc=0 || rc=$?
if [ -f "$datadir/vmie/policies/aws-current" ]; then
	want=$(sed -n 's/^name //p' "$datadir/vmie/policies/aws-current")
	grep -q "^policy: $want\$" "$T/out" || fail "a lone binary did not read $datadir/vmie/policies"
else
	[ "$rc" = 2 ] && grep -q "policy 'aws-current' not found.*$datadir/vmie/policies" "$T/out" || {
		cat "$T/out"; fail "a lone binary found a policy outside $datadir/vmie/policies"; }
fi
cd "$T"

# ---- man pages: vmie(1) and vmie-COMMAND(1) for each command, no others
"$V" --help | awk '/^  [a-z]/ { print $1 }' >"$T/commands"
[ "$(wc -l <"$T/commands")" -ge 20 ] || fail "vmie --help lists $(wc -l <"$T/commands") commands"
(echo vmie.1; sed 's/.*/vmie-&.1/' "$T/commands") | sort >"$T/want"
ls "$D$mandir/man1" | sort >"$T/have"
diff "$T/want" "$T/have" >"$T/diff" || { cat "$T/diff"; fail "man pages and commands differ (< no page, > no command; man/meson.build lists them)"; }
while read -r page; do
	f=$D$mandir/man1/$page
	MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>"$T/warn" | col -b >"$T/page"
	[ ! -s "$T/warn" ] || fail "$page renders with warnings: $(cat "$T/warn")"
	[ -s "$T/page" ] || fail "man -l $page printed nothing"
	name=${page%.1}
	grep -q "^ *$name - [a-z]" "$T/page" || fail "$page: no NAME line for $name"
	for s in SYNOPSIS DESCRIPTION "SEE ALSO"; do
		grep -q "^$s" "$T/page" || fail "$page: no $s section"
	done
	[ "$name" = vmie ] && continue
	grep -q "^EXIT STATUS" "$T/page" || fail "$page: no EXIT STATUS section"
	# every option of the command's --help is in its page
	"$V" "${name#vmie-}" --help |
		sed -n 's/^  \(-[-a-zA-Z0-9]*\).*/\1/p' | while read -r o; do
		grep -q -- "$o" "$T/page" || fail "$page: $o missing"
	done
done <"$T/want"
MANWIDTH=80 man -E UTF-8 -l "$D$mandir/man1/vmie-check.1" | col -b |
	grep -q "$datadir/vmie/policies" || fail "vmie-check(1) does not name the installed policies"

# ---- the systemd unit
U=$D$unitdir/vmie-serve.service
grep -qx "ExecStart=$bindir/vmie serve --config /etc/vmie/serve.json" "$U" ||
	fail "unit: ExecStart"
for k in User=vmie ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	 NoNewPrivileges=yes CapabilityBoundingSet= KillSignal=SIGTERM \
	 Restart=on-failure SystemCallFilter=@system-service \
	 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"; do
	grep -qx "$k" "$U" || fail "unit: no $k"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# the unit as installed, but with the binary where DESTDIR put it
	mkdir -p "$T/unit"
	sed "s|^ExecStart=$bindir/vmie|ExecStart=$D$bindir/vmie|" "$U" \
		>"$T/unit/vmie-serve.service"
	MANPATH=$D$mandir systemd-analyze verify "$T/unit/vmie-serve.service" \
		>"$T/verify" 2>&1 || { cat "$T/verify"; fail "systemd-analyze verify"; }
	[ ! -s "$T/verify" ] || { cat "$T/verify"; fail "systemd-analyze verify warns"; }
	if systemd-analyze security --offline=yes "$T/unit/vmie-serve.service" \
			>"$T/security" 2>&1; then
		level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/security")
		[ -n "$level" ] || { tail -3 "$T/security"; fail "no exposure level"; }
		awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }' ||
			fail "exposure level $level (> 3.0)"
		echo "systemd-analyze security: exposure $level"
	fi
else
	echo "no systemd-analyze here: the unit was not verified"
fi

# ---- make uninstall removes everything it installed
make -s -C "$SRCDIR" uninstall BUILD="$BUILDDIR" PREFIX="$prefix" \
	DESTDIR="$D" >"$T/uninstall.log" 2>&1 || { cat "$T/uninstall.log"; fail "make uninstall"; }
left=$(find "$D" -type f)
[ -z "$left" ] || fail "left after make uninstall: $left"
for d in "$datadir/vmie" "$datadir/doc/vmie"; do
	[ ! -e "$D$d" ] || fail "left after make uninstall: $d"
done
echo "installed $(wc -l <"$T/want") man pages, the unit and the policies; uninstalled"
