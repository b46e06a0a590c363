#!/bin/sh
# The Debian package (debian/, docs/install.md): dpkg-buildpackage -b in a
# copy of the tree makes a .deb that installs (binary, user vmie, a
# configuration root:vmie 0640, the unit, the man pages, the policies),
# whose server, started by hand as the user vmie with the unit's command
# line (no systemd here), answers a signed request from the AWS CLI, and
# that dpkg -P removes with its configuration and store.  Minutes: the
# package build compiles the tree.  Needs root; changes this machine's
# packages, and puts them back.
. "$SRCDIR/tests/functions.sh"
[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i)"
need dpkg-buildpackage dh dpkg-parsechangelog setpriv git curl
if dpkg-query -W -f='${Status}' vmie 2>/dev/null | grep -q "ok installed"; then
	skip "a vmie package is installed here already; not replacing it"
fi
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
version=$(meson introspect --projectinfo "$BUILDDIR" | "$PY" -c '
import json, sys; print(json.load(sys.stdin)["version"])')

# dpkg, waiting up to 10 minutes for the lock another apt or dpkg holds
dpkg_wait() {
	local i=0 out="$T/dpkg.out"
	while :; do
		dpkg "$@" >"$out" 2>&1 && { cat "$out"; return 0; }
		grep -q "dpkg frontend lock\|dpkg status database is locked" "$out" &&
			[ $i -lt 300 ] || { cat "$out"; return 1; }
		i=$((i + 1))
		sleep 2
	done
}

user_before=false
getent passwd vmie >/dev/null && user_before=true
pid=""
cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	if dpkg-query -W -f='${Status}' vmie 2>/dev/null | grep -q "installed"; then
		dpkg_wait -P vmie >/dev/null 2>&1 || true
	fi
	if ! $user_before && getent passwd vmie >/dev/null; then
		userdel vmie 2>/dev/null || true
		getent group vmie >/dev/null && groupdel vmie 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# ---- build, in a copy of the tree (the files git knows, committed or not)
[ "$(dpkg-parsechangelog -l "$SRCDIR/debian/changelog" -S Version)" = "$version" ] ||
	fail "debian/changelog's version is not meson.build's $version"
mkdir -p "$T/src/vmie"
git -C "$SRCDIR" ls-files -co --exclude-standard -z |
	(cd "$SRCDIR" && xargs -0 cp --parents -t "$T/src/vmie")
(cd "$T/src/vmie" &&
 DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -us -uc) \
	>"$T/build.log" 2>&1 || { tail -30 "$T/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$T"/src/vmie_"$version"_*.deb)
[ -f "$deb" ] || fail "no .deb"
dpkg-deb -c "$deb" >"$T/contents"
for f in ./usr/bin/vmie ./usr/share/vmie/policies/aws-current \
	 ./lib/systemd/system/vmie-serve.service ./usr/lib/sysusers.d/vmie.conf \
	 ./usr/share/man/man1/vmie.1.gz ./usr/share/man/man1/vmie-serve.1.gz \
	 ./usr/share/doc/vmie/copyright ./usr/share/doc/vmie/install.md; do
	grep -q " $f\$" "$T/contents" || fail "the package lacks $f"
done
dpkg-deb -f "$deb" Depends | grep -q adduser || fail "Depends: no adduser"

# ---- install
dpkg_wait -i "$deb" >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "dpkg -i"; }
grep -q "AKIA\|secret" "$T/install.log" && fail "the installation printed the secret key"
[ -x /usr/bin/vmie ] || fail "no /usr/bin/vmie"
[ "$(/usr/bin/vmie --version)" = "vmie $version" ] || fail "vmie --version"
getent passwd vmie >"$T/pw" || fail "no user vmie"
uid=$(cut -d: -f3 "$T/pw")
[ "$uid" -lt 1000 ] || fail "vmie is not a system user (uid $uid)"
case $(cut -d: -f7 "$T/pw") in */nologin|*/false) ;; *) fail "vmie has a login shell";; esac
[ "$(stat -c '%U:%G %a' /etc/vmie/serve.json)" = "root:vmie 640" ] ||
	fail "/etc/vmie/serve.json is $(stat -c '%U:%G %a' /etc/vmie/serve.json)"
[ "$(stat -c '%U:%G %a' /etc/vmie)" = "root:vmie 750" ] || fail "/etc/vmie mode"
for d in /var/lib/vmie/store /var/lib/vmie/buckets; do
	[ "$(stat -c '%U' "$d")" = vmie ] || fail "$d is not vmie's"
done
grep -qx 'ExecStart=/usr/bin/vmie serve --config /etc/vmie/serve.json' \
	/lib/systemd/system/vmie-serve.service || fail "unit ExecStart"
[ -L /etc/systemd/system/multi-user.target.wants/vmie-serve.service ] ||
	fail "vmie-serve.service is not enabled"
# the policies from /usr/share, wherever vmie runs
truncate -s 64M "$T/disk.raw"
(cd / && /usr/bin/vmie check "$T/disk.raw") >"$T/check" 2>&1 || true
grep -q '^policy: aws-current$' "$T/check" || { cat "$T/check"; fail "vmie check: no policy"; }
MANWIDTH=80 man --warnings -E UTF-8 vmie-serve 2>&1 >/dev/null | grep . &&
	fail "man vmie-serve warns"
man -w vmie-check >/dev/null || fail "man vmie-check: not found"

# ---- the server, as the unit starts it, by hand
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# as the unit runs it: user and group vmie, no new privileges, in /, the
# user's home; setpriv execs, so $pid is the server (runuser would stand
# between it and the signal)
as_vmie() {
	env -C / HOME=/var/lib/vmie setpriv --reuid=vmie --regid=vmie \
		--init-groups --no-new-privs -- "$@"
}
# others may read the file: refused
chmod 0644 /etc/vmie/serve.json
if as_vmie /usr/bin/vmie serve --config /etc/vmie/serve.json \
	--listen "127.0.0.1:$port" >"$T/refused" 2>&1; then
	fail "vmie serve accepted a world-readable configuration"
fi
grep -q "other users may read it" "$T/refused" || { cat "$T/refused"; fail "no reason for the refusal"; }
chmod 0640 /etc/vmie/serve.json
# (not through the function: sh would run it in a subshell of its own)
env -C / HOME=/var/lib/vmie setpriv --reuid=vmie --regid=vmie --init-groups \
	--no-new-privs -- /usr/bin/vmie serve --config /etc/vmie/serve.json \
	--listen "127.0.0.1:$port" >"$T/serve.log" 2>&1 &
pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do
	i=$((i + 1))
	kill -0 "$pid" 2>/dev/null || { cat "$T/serve.log"; fail "vmie serve died"; }
	[ $i -lt 100 ] || { cat "$T/serve.log"; fail "vmie serve did not listen"; }
	sleep 0.1
done
[ "$(cat "/proc/$pid/comm")" = vmie ] && [ "$(stat -c %U "/proc/$pid")" = vmie ] ||
	fail "process $pid is not the server running as vmie"
if command -v aws >/dev/null 2>&1; then
	eval "$("$PY" -c '
import json
u = json.load(open("/etc/vmie/serve.json"))["users"][0]["access_keys"][0]
print("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s" % (u["id"], u["secret"]))')"
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	aws ec2 describe-import-image-tasks --region us-east-1 \
		--endpoint-url "http://127.0.0.1:$port" --output json \
		>"$T/aws.out" 2>&1 || { cat "$T/aws.out" "$T/serve.log"; fail "aws ec2 describe-import-image-tasks"; }
	grep -q '"ImportImageTasks"' "$T/aws.out" || { cat "$T/aws.out"; fail "no ImportImageTasks"; }
	# a wrong secret is refused
	AWS_SECRET_ACCESS_KEY=wrong AWS_CONFIG_FILE=/dev/null \
	AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	aws ec2 describe-import-image-tasks --region us-east-1 \
		--endpoint-url "http://127.0.0.1:$port" >"$T/aws.bad" 2>&1 &&
		fail "a wrong secret was accepted"
	grep -q "AuthFailure\|SignatureDoesNotMatch" "$T/aws.bad" || { cat "$T/aws.bad"; fail "wrong secret: $(cat "$T/aws.bad")"; }
else
	echo "no aws CLI here: the signed request was not made"
fi
# the store is where the unit's configuration says, written as vmie
[ -n "$(find /var/lib/vmie/store -user vmie -type f | head -1)" ] ||
	fail "the server wrote nothing in /var/lib/vmie/store"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || { cat "$T/serve.log"; fail "vmie serve exited $rc after SIGTERM"; }

# ---- purge
dpkg_wait -P vmie >"$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "dpkg -P"; }
! dpkg-query -W -f='${Status}' vmie 2>/dev/null | grep -q "ok installed" ||
	fail "still installed"
for f in /usr/bin/vmie /usr/share/vmie /etc/vmie /var/lib/vmie \
	 /lib/systemd/system/vmie-serve.service \
	 /etc/systemd/system/multi-user.target.wants/vmie-serve.service; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || fail "left after dpkg -P: $f"
done
echo "built $(basename "$deb"), installed, served as vmie, purged"
