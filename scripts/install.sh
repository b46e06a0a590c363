#!/bin/sh
# make install / make uninstall (docs/install.md):
#   scripts/install.sh install|uninstall BUILD PREFIX [DESTDIR]
# install: configure BUILD for PREFIX (a new prefix recompiles only the two
# files that hold paths) and run `meson install`, staged under DESTDIR when
# given.  uninstall: remove every file that meson installs for this
# configuration (meson introspect --installed), under DESTDIR when given,
# then vmie's own directories when they are left empty.  Files vmie itself
# wrote at run time (/etc/vmie/serve.json, /var/lib/vmie) stay.
set -eu
what=$1 build=$2 prefix=$3 destdir=${4:-}
case $prefix in
/*) ;;
*) echo "install.sh: PREFIX must be an absolute path (got '$prefix')" >&2; exit 2 ;;
esac
[ -z "$destdir" ] || destdir=$(realpath -m "$destdir")
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=debugoptimized --prefix="$prefix" >/dev/null
fi
current=$(meson introspect --buildoptions "$build" | "$PY" -c '
import json, sys
print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
if [ "$current" != "$prefix" ]; then
	echo "install.sh: configuring $build for prefix $prefix (was $current)"
	meson configure "$build" -Dprefix="$prefix" >/dev/null
	ninja -C "$build" >/dev/null
fi

case $what in
install)
	if [ -n "$destdir" ]; then
		meson install -C "$build" --destdir "$destdir"
	else
		meson install -C "$build"
	fi
	;;
uninstall)
	# the installed paths, one a line; a directory installed whole
	# (install_subdir) is expanded to the files of its source
	meson introspect --installed "$build" | "$PY" -c '
import json, os, sys
for src, dst in sorted(json.load(sys.stdin).items()):
    if os.path.isdir(src):
        for d, _, files in os.walk(src):
            for f in files:
                rel = os.path.relpath(os.path.join(d, f), src)
                print(os.path.join(dst, rel))
    else:
        print(dst)' | while IFS= read -r f; do
		if [ -e "$destdir$f" ] || [ -L "$destdir$f" ]; then
			rm -f "$destdir$f" && echo "removed $destdir$f"
		fi
	done
	for d in "$prefix/share/vmie/policies" "$prefix/share/vmie" \
		 "$prefix/share/doc/vmie"; do
		rmdir "$destdir$d" 2>/dev/null && echo "removed $destdir$d/" || true
	done
	;;
*)
	echo "usage: install.sh install|uninstall BUILD PREFIX [DESTDIR]" >&2
	exit 2
	;;
esac
