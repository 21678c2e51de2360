#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Header test (ctest: headers_c, headers_cxx). Every public header -- found
# by glob at test time, so new modules' headers are picked up without
# registering them -- must:
#   c    compile alone as C99 with -Wall -Wextra -Wpedantic -Werror
#        -Wstrict-prototypes, included twice (include guard), and again after
#        <utmp.h> (whose UT_* / ut_* macros clash with careless names); follow
#        STYLE.md B: guard UNITYPES_<NAME>_H, only <stddef.h> <stdint.h>
#        <stdbool.h> and unitypes headers included, an extern "C" block
#        around UT_API declarations, and be reachable from <unitypes.h>;
#   cxx  compile alone as C++11 with the same warnings.
#
# usage: check-headers.sh c|cxx <compiler> <include-dir>...
# The include dirs are searched for unitypes.h and unitypes/*.h (the source
# include/ dir and the build tree's include/ holding the generated version.h).
# Exit 77 (ctest: skipped) when mode is cxx and no C++ compiler was found.
set -euo pipefail

mode=$1
compiler=$2
shift 2
if [ -z "$compiler" ] || [[ "$compiler" == *NOTFOUND ]]; then
    if [ "$mode" = cxx ]; then
        echo "headers_cxx: no C++ compiler found (install g++); skipped"
        exit 77
    fi
    echo "no C compiler given" >&2
    exit 2
fi

incflags=()
headers=()
declare -A path_of=()
for dir in "$@"; do
    incflags+=("-I$dir")
    for f in "$dir"/unitypes.h "$dir"/unitypes/*.h; do
        [ -f "$f" ] || continue
        rel=${f#"$dir"/}
        if [ -z "${path_of[$rel]+x}" ]; then
            path_of[$rel]=$f
            headers+=("$rel")
        fi
    done
done
if [ ${#headers[@]} -lt 2 ] || [ -z "${path_of[unitypes.h]+x}" ]; then
    echo "no public headers found under: $*" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
warn=(-Wall -Wextra -Wpedantic -Werror)
failures=0
bad() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

compile() { # <label> <source text> <compiler args...>
    local label=$1 text=$2
    shift 2
    printf '%s\n' "$text" >"$tmp/t.src"
    if ! "$@" "${incflags[@]}" -fsyntax-only "$tmp/t.src" >"$tmp/log" 2>&1; then
        bad "$label"
        sed 's/^/    /' "$tmp/log"
    fi
}

umbrella=${path_of[unitypes.h]}
for h in "${headers[@]}"; do
    f=${path_of[$h]}
    case $mode in
    c)
        compile "$h: alone, C99" "#include <$h>
#include <$h>
typedef int header_test_nonempty;" "$compiler" -x c -std=c99 "${warn[@]}" -Wstrict-prototypes
        compile "$h: after <utmp.h>" "#include <utmp.h>
#include <$h>
typedef int header_test_nonempty;" "$compiler" -x c -std=c99 -D_DEFAULT_SOURCE "${warn[@]}"

        name=$(basename "$h" .h | tr '[:lower:]' '[:upper:]')
        guard=UNITYPES_${name}_H
        [ "$h" = unitypes.h ] && guard=UNITYPES_H
        grep -Eq "^#[[:space:]]*ifndef[[:space:]]+$guard\$" "$f" || bad "$h: include guard is not $guard"
        grep -q 'SPDX-License-Identifier:' "$f" || bad "$h: no SPDX line"
        while read -r inc; do
            case $inc in
            '<stddef.h>' | '<stdint.h>' | '<stdbool.h>' | '"unitypes/'*) ;;
            *) bad "$h: includes $inc (allowed: <stddef.h> <stdint.h> <stdbool.h> \"unitypes/...\")" ;;
            esac
        done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f")
        if grep -q '^UT_API' "$f" && ! grep -q 'extern "C"' "$f"; then
            bad "$h: has UT_API declarations but no extern \"C\" block"
        fi
        if [ "$h" != unitypes.h ] && ! grep -q "^#[[:space:]]*include \"$h\"" "$umbrella"; then
            bad "$h: not included by unitypes.h"
        fi
        ;;
    cxx)
        compile "$h: alone, C++11" "#include <$h>
#include <$h>
int main() { return 0; }" "$compiler" -x c++ -std=c++11 "${warn[@]}"
        ;;
    *)
        echo "unknown mode $mode" >&2
        exit 2
        ;;
    esac
done

if [ $failures -ne 0 ]; then
    echo "$failures header check(s) failed"
    exit 1
fi
echo "headers ($mode): ${#headers[@]} headers ok: ${headers[*]}"
