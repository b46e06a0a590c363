#!/bin/sh
# Write the man page of vmie or of one of its commands with help2man, from
# the command's --help (man/meson.build runs this at build time).
#   mkman.sh HELP2MAN VMIE VERSION COMMAND|- INCLUDE|- OUT DATADIR DOCDIR UNITDIR
# COMMAND "-" is vmie(1) itself; the page of a command is vmie-COMMAND(1),
# as git names its pages.  Its one-line description is the one `vmie
# --help` gives.  Two conventions of vmie's --help texts become man
# sections: "Usage:" the SYNOPSIS, "Exit status:" EXIT STATUS.  INCLUDE
# (help2man's include format: EXAMPLES, FILES...) may use @DATADIR@,
# @DOCDIR@, @UNITDIR@ and @SEEALSO@ (every command's page); without a SEE
# ALSO section of its own the page gets one naming vmie(1) and the
# command's Markdown page.
set -eu
help2man=$1 vmie=$2 version=$3 cmd=$4 include=$5 out=$6 datadir=$7 docdir=$8 unitdir=$9
# ASan builds: a leak report on stderr must not end up in a page
ASAN_OPTIONS=detect_leaks=0
export ASAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmie-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ "$cmd" = - ]; then
	name=vmie
	desc="check, convert, import and export virtual machine disk images"
	set -- "$vmie"
else
	name=vmie-$cmd
	desc=$("$vmie" --help | awk -v c="$cmd" '$1 == c {
		sub(/^ *[^ ]+ +/, ""); print; exit }')
	[ -n "$desc" ] || { echo "mkman.sh: 'vmie --help' does not list $cmd" >&2; exit 1; }
	set -- "$vmie" "$cmd"
fi
# help2man runs "PROGRAM --help" and "PROGRAM --version": a wrapper named
# after the page
{
	echo '#!/bin/sh'
	echo 'case $1 in'
	printf -- '--version) echo "%s %s" ;;\n' "$name" "$version"
	printf -- '*) "%s" %s--help | awk -f "%s" ;;\n' \
		"$1" "${2:+$2 }" "$(dirname "$0")/usage.awk"
	echo 'esac'
} >"$tmp/$name"
chmod +x "$tmp/$name"
"$tmp/$name" --help >"$tmp/help"
[ -s "$tmp/help" ] || { echo "mkman.sh: '$*' --help printed nothing" >&2; exit 1; }
# the extra sections
"$vmie" --help | awk '/^  [a-z]/ { print $1 }' >"$tmp/commands"
seealso=$(sed -e 's/-/\\-/g' -e 's/^/.BR vmie\\-/' -e 's/$/ (1),/' \
	"$tmp/commands" | sed '$s/,$//')
: >"$tmp/include"
[ "$include" = - ] || cp "$include" "$tmp/include"
if ! grep -q '^\[SEE ALSO\]' "$tmp/include"; then
	page=$(sed -n 's|.*(docs/\(cmd-[a-z-]*\.md\)).*|\1|p' "$tmp/help" | head -1 | sed 's/-/\\-/g')
	printf '\n[SEE ALSO]\n.BR vmie (1)' >>"$tmp/include"
	[ -z "$page" ] || printf ';\n.I @DOCDIR@/%s' "$page" >>"$tmp/include"
	echo >>"$tmp/include"
fi
# paths in roff: every "-" a "\-"
datadir=$(echo "$datadir" | sed 's/-/\\-/g')
docdir=$(echo "$docdir" | sed 's/-/\\-/g')
unitdir=$(echo "$unitdir" | sed 's/-/\\-/g')
while IFS= read -r line; do
	case $line in
	@SEEALSO@) echo "$seealso" ;;
	*) echo "$line" | sed -e "s|@DATADIR@|$datadir|g" -e "s|@DOCDIR@|$docdir|g" \
		-e "s|@UNITDIR@|$unitdir|g" ;;
	esac
done <"$tmp/include" >"$tmp/include.h2m"
"$help2man" --no-info --name "$desc" --section 1 --manual "vmie Manual" \
	--source "vmie $version" --include "$tmp/include.h2m" \
	--output "$out.tmp" "$tmp/$name"
mv "$out.tmp" "$out"
