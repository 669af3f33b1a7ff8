#!/usr/bin/env bash
#
# deploy/man/help2man.sh PROGRAM SECTION NAME INCLUDE OUTPUT [HELP-OPTION]
#     Makes one manual page, OUTPUT and OUTPUT.gz (what is installed), from
#     PROGRAM's own HELP-OPTION (default --help) and --version output, with
#     the sections of INCLUDE (DESCRIPTION, EXAMPLES, EXIT STATUS, SEE
#     ALSO). CMakeLists.txt runs it at build time, so the pages say what
#     the programs built say.

set -euo pipefail

prog=$1 section=$2 name=$3 include=$4 out=$5 help_option=${6:---help}

# the version is --version's first line ("pgconvoy 0.1.0"): help2man would
# append the lines after it (the protocol version) to the page's last
# section
version=$("$prog" --version | sed -n '1s/^[^ ]* //p')
[[ -n $version ]] || {
    echo "help2man.sh: $prog --version printed no version" >&2
    exit 1
}
help2man --no-info --section="$section" --name="$name" \
    --include="$include" --help-option="$help_option" \
    --version-string="$version" --output="$out.tmp" "$prog"
mv "$out.tmp" "$out"
# -n: no name or time stamp in the .gz, so a rebuild makes the same bytes
gzip -9nc "$out" >"$out.gz"
