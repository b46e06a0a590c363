# Rewrite the first paragraph of a vmie --help text (its usage lines) into
# the form help2man reads as the SYNOPSIS: "Usage: vmie CMD ...", each
# further form (an indented "vmie CMD ...") on a line "  or: vmie CMD ...",
# the other indented lines that follow joined to the form they continue.  The
# rest is passed through, with "Exit status:" made help2man's section
# marker "*Exit status*".
NR == 1 { sub(/^usage:/, "Usage:") }
usage && !/^ / { print line; usage = 0 }
usage && /^ *vmie / { print line; sub(/^ */, ""); line = "  or: " $0; next }
usage { sub(/^ */, ""); line = line " " $0; next }
NR == 1 && /^Usage:/ { usage = 1; line = $0; next }
/^Exit status:$/ { print "*Exit status*"; next }
{ print }
END { if (usage) print line }
