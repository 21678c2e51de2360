#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Export test (ctest: exports). The ABI of libunitypes.so is exactly what the
# public headers declare with UT_API:
#   - every name the headers declare with UT_API starts with ut_ and is
#     exported by the shared library (nm -D --defined-only);
#   - the library exports nothing else (bar the linker's own _init, _fini,
#     _edata, _end, __bss_start when present), so hidden visibility works and
#     no ut__ private symbol leaks;
#   - with GCC, every function the public headers declare carries UT_API
#     (collected with -aux-info, which lists each declaration and its file).
# Headers are found by glob at test time, so new modules are covered without
# registering anything.
#
# Names listed in the pending file (one per line, # comments) are declared
# but not implemented yet: they may be missing from the library. Once such a
# name is exported the test fails until its line is deleted, so the list
# cannot go stale.
#
# usage: check-exports.sh <library> <c-compiler> <pending-file> <include-dir>...
# Exit 77 (ctest: skipped) for a static library.
set -euo pipefail

lib=$1
cc=$2
pending_file=$3
shift 3

case $lib in
*.so | *.so.*) ;;
*)
    echo "exports: $lib is not a shared library (BUILD_SHARED_LIBS=OFF); skipped"
    exit 77
    ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
bad() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

dirs=()
headers=()
for dir in "$@"; do
    dir=$(cd "$dir" && pwd)
    dirs+=("$dir")
    for f in "$dir"/unitypes.h "$dir"/unitypes/*.h; do
        [ -f "$f" ] && headers+=("$f")
    done
done
[ ${#headers[@]} -gt 0 ] || {
    echo "no headers found under $*" >&2
    exit 2
}

# 1. Names declared with UT_API: drop comments and preprocessor lines, cut
#    the text into declarations at ; { and }, keep those containing UT_API,
#    and take the identifier before the first '(' (a function) or the last
#    identifier (a variable).
perl -0777 -ne '
    s{/\*.*?\*/}{ }gs;
    s{//[^\n]*}{}g;
    s{\\\n}{}g;
    s{^[ \t]*#[^\n]*}{}mg;
    for my $decl (split /[;{}]/) {
        next unless $decl =~ /\bUT_API\b(.*)$/s;
        my $rest = $1;
        if ($rest =~ /^([^(]*)\(/s) { $rest = $1; } else { $rest =~ s/[\[=].*$//s; }
        print "$1\n" if $rest =~ /([A-Za-z_][A-Za-z0-9_]*)\s*$/;
    }' "${headers[@]}" | sort -u >"$tmp/declared"

while read -r name; do
    case $name in
    ut_*) ;;
    *) bad "UT_API name $name does not start with ut_" ;;
    esac
done <"$tmp/declared"

# 2. With GCC (the given compiler, else gcc from PATH): every function
#    declared in a public header has UT_API.
is_gcc() { "$1" --version 2>/dev/null | grep -qi 'gcc\|free software foundation'; }
if ! is_gcc "$cc" && command -v gcc >/dev/null 2>&1 && is_gcc gcc; then
    cc=gcc
fi
if is_gcc "$cc"; then
    for f in "${headers[@]}"; do
        echo "#include \"$f\""
    done >"$tmp/all.c"
    incflags=()
    for d in "${dirs[@]}"; do incflags+=("-I$d"); done
    "$cc" -std=c99 "${incflags[@]}" -aux-info "$tmp/aux" -fsyntax-only "$tmp/all.c"
    : >"$tmp/functions"
    for d in "${dirs[@]}"; do
        grep -F "/* $d/" "$tmp/aux" | grep -v '^/\*[^*]*\*/ static ' |
            sed -n 's/.*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\) (.*/\1/p' >>"$tmp/functions" || true
    done
    sort -u -o "$tmp/functions" "$tmp/functions"
    for name in $(comm -23 "$tmp/functions" "$tmp/declared"); do
        bad "$name is declared in a public header without UT_API"
    done
else
    echo "note: no GCC found; skipping the every-declaration-has-UT_API check"
fi

# 3. What the shared object exports.
nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' |
    grep -Ev '^(_init|_fini|_edata|_end|__bss_start|__bss_start__|_bss_end__|__end__|__bss_end__)$' |
    sed 's/@.*//' | sort -u >"$tmp/exported"

sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$pending_file" | sort -u >"$tmp/pending"

for name in $(comm -13 "$tmp/declared" "$tmp/exported"); do
    bad "$name is exported but not declared with UT_API in a public header"
done
for name in $(comm -23 "$tmp/declared" "$tmp/exported" | comm -23 - "$tmp/pending"); do
    bad "$name is declared with UT_API but not exported (not implemented, or missing UT_API/visibility)"
done
for name in $(comm -12 "$tmp/pending" "$tmp/exported"); do
    bad "$name is exported now: delete it from $pending_file"
done
for name in $(comm -23 "$tmp/pending" "$tmp/declared"); do
    bad "$name is listed in $pending_file but no header declares it: delete it"
done

n_exp=$(wc -l <"$tmp/exported")
n_pend=$(comm -12 "$tmp/pending" "$tmp/declared" | wc -l)
if [ $failures -ne 0 ]; then
    echo "$failures export check(s) failed"
    exit 1
fi
echo "exports: $n_exp symbols exported = declared with UT_API ($n_pend declared, pending implementation)"
