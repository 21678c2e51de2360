#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install test (ctest label "install"). Proves that what `cmake --install`
# produces can be consumed the three documented ways, from a prefix chosen at
# install time, after being moved elsewhere:
#   1. builds libunitypes shared and static (tests off, a multiarch libdir,
#      CMAKE_INSTALL_PREFIX pointing nowhere) and installs both into one
#      prefix with `cmake --install --prefix P`;
#   2. checks the layout (no version.h.in, SONAME libunitypes.so.0, no
#      RPATH/RUNPATH in any installed ELF file, no absolute path of P in the
#      .pc file or the CMake package);
#   3. builds and runs consumers: pkg-config (shared), pkg-config --static
#      (fully static), find_package (default = shared; COMPONENTS static;
#      unitypes_SHARED_LIBS=OFF; BUILD_SHARED_LIBS=OFF; version 1.0 refused;
#      a static-only prefix);
#   4. moves P to another directory and repeats pkg-config and find_package;
#   5. reinstalls with an absolute CMAKE_INSTALL_LIBDIR, and with DESTDIR and
#      UNITYPES_PC_RELOCATABLE=OFF, and checks libunitypes.pc's paths;
#   6. builds a parent project that add_subdirectory()s the source tree.
#
# usage: run.sh <source-dir> <work-dir> <cmake> <c-compiler> <generator> [werror ON|OFF]
set -euo pipefail

src=$(cd "$1" && pwd -P)
work=$2
cmake=$3
cc=$4
generator=$5
werror=${6:-OFF}
here="$src/tests/install"

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd -P)

step() { printf '\n== install test: %s\n' "$*"; }
fail() {
    printf 'install test FAILED: %s\n' "$*" >&2
    exit 1
}

arch=$("$cc" -print-multiarch 2>/dev/null || true)
libdir=lib${arch:+/$arch}
version=$(sed -n 's/^project(unitypes VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "cannot read the project version from CMakeLists.txt"

# Configure + build + install one variant of the library into a prefix
# chosen only now (the configure-time prefix points nowhere on purpose).
build_lib() { # <shared ON|OFF> <build-dir> <prefix> [extra configure args...]
    local shared=$1 bdir=$2 prefix=$3
    shift 3
    "$cmake" -S "$src" -B "$bdir" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS="$shared" \
        -DUNITYPES_BUILD_TESTS=OFF -DUNITYPES_BUILD_TOOLS=OFF -DUNITYPES_WERROR="$werror" \
        -DCMAKE_INSTALL_PREFIX=/nonexistent/configure-time-prefix \
        -DCMAKE_INSTALL_LIBDIR="$libdir" "$@" >"$bdir.log" 2>&1 ||
        { cat "$bdir.log"; fail "configure $bdir"; }
    "$cmake" --build "$bdir" -j2 >>"$bdir.log" 2>&1 || { cat "$bdir.log"; fail "build $bdir"; }
    "$cmake" --install "$bdir" --prefix "$prefix" >>"$bdir.log" 2>&1 ||
        { cat "$bdir.log"; fail "install $bdir"; }
}

# Configure, build and run the find_package consumer against a prefix.
find_package_consumer() { # <name> <prefix> <expect SHARED|STATIC> [configure args...]
    local name=$1 prefix=$2 expect=$3
    shift 3
    local b="$work/fp-$name"
    "$cmake" -S "$here/find_package" -B "$b" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_PREFIX_PATH="$prefix" -DUT_EXPECT="$expect" "$@" >"$b.log" 2>&1 ||
        { cat "$b.log"; fail "find_package consumer '$name': configure"; }
    "$cmake" --build "$b" -j2 >>"$b.log" 2>&1 || { cat "$b.log"; fail "find_package consumer '$name': build"; }
    "$b/consumer" || fail "find_package consumer '$name': run"
    if [ "$expect" = SHARED ]; then
        readelf -d "$b/consumer" | grep -q 'NEEDED.*\[libunitypes\.so\.0\]' ||
            fail "find_package consumer '$name' does not need libunitypes.so.0"
    else
        ! readelf -d "$b/consumer" | grep -q 'libunitypes' ||
            fail "find_package consumer '$name' should be linked statically"
    fi
    grep -q "unitypes $version ($expect) from $prefix/" "$b.log" ||
        fail "find_package consumer '$name': package not found under $prefix"
}

# Build and run the Makefile consumer with pkg-config against a prefix.
pkgconfig_consumers() { # <name> <prefix>
    local name=$1 prefix=$2
    local b="$work/pc-$name"
    mkdir -p "$b"
    export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
    [ "$(pkg-config --modversion libunitypes)" = "$version" ] ||
        fail "pkg-config --modversion is not $version"
    (cd "$b" && make -s -f "$here/pkgconfig/Makefile" CC="$cc" consumer-shared consumer-static) ||
        fail "pkg-config consumers ($name): build"
    LD_LIBRARY_PATH="$prefix/$libdir" "$b/consumer-shared" || fail "pkg-config consumer ($name): run"
    readelf -d "$b/consumer-shared" | grep -q 'NEEDED.*\[libunitypes\.so\.0\]' ||
        fail "pkg-config consumer ($name) does not need libunitypes.so.0"
    "$b/consumer-static" || fail "pkg-config --static consumer ($name): run"
    ! readelf -d "$b/consumer-static" 2>/dev/null | grep -q NEEDED ||
        fail "pkg-config --static consumer ($name) is not fully static"
    unset PKG_CONFIG_PATH
}

P="$work/prefix"
step "build shared and static, install both into $P"
build_lib ON "$work/build-shared" "$P"
build_lib OFF "$work/build-static" "$P"

step "installed layout"
for f in include/unitypes.h include/unitypes/common.h include/unitypes/version.h \
    "$libdir/libunitypes.so" "$libdir/libunitypes.so.0" "$libdir/libunitypes.a" \
    "$libdir/pkgconfig/libunitypes.pc" "$libdir/cmake/unitypes/unitypesConfig.cmake" \
    "$libdir/cmake/unitypes/unitypesConfigVersion.cmake" \
    "$libdir/cmake/unitypes/unitypes-shared-targets.cmake" \
    "$libdir/cmake/unitypes/unitypes-static-targets.cmake"; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
[ -z "$(find "$P" -name '*.in')" ] || fail "templates installed: $(find "$P" -name '*.in')"
[ -L "$P/$libdir/libunitypes.so" ] || fail "libunitypes.so is not a symlink"
soname=$(readelf -d "$P/$libdir/libunitypes.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libunitypes.so.0 ] || fail "SONAME is '$soname', expected libunitypes.so.0"
while IFS= read -r -d '' f; do
    if head -c 4 "$f" | grep -q 'ELF'; then
        ! readelf -d "$f" | grep -Eq '\((RPATH|RUNPATH)\)' || fail "$f carries an RPATH/RUNPATH"
    fi
done < <(find "$P" -type f -print0)
if grep -rl -- "$work" "$P/$libdir/pkgconfig" "$P/$libdir/cmake"; then
    fail "the .pc file or the CMake package records the install prefix (not relocatable)"
fi
echo "ok: layout, SONAME $soname, no RPATH, nothing records $P"

step "consumers against $P"
pkgconfig_consumers orig "$P"
find_package_consumer default "$P" SHARED
find_package_consumer component-static "$P" STATIC -DUT_COMPONENTS=static
find_package_consumer shared-libs-off "$P" STATIC -Dunitypes_SHARED_LIBS=OFF
find_package_consumer build-shared-off "$P" STATIC -DBUILD_SHARED_LIBS=OFF
b="$work/fp-too-new"
if "$cmake" -S "$here/find_package" -B "$b" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$P" -DUT_COMPONENTS="shared;static" >"$b.log" 2>&1; then
    fail "find_package(unitypes COMPONENTS shared static) should fail"
fi
b="$work/fp-wrong-major"
if "$cmake" -S "$here/find_package" -B "$b" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$P" -DUT_VERSION=1.0 >"$b.log" 2>&1; then
    fail "find_package(unitypes 1.0) should refuse $version (SameMajorVersion)"
fi
echo "ok: COMPONENTS shared static and version 1.0 are refused"

S="$work/static-only"
"$cmake" --install "$work/build-static" --prefix "$S" >/dev/null || fail "install static-only prefix"
find_package_consumer static-only "$S" STATIC
b="$work/fp-static-only-want-shared"
if "$cmake" -S "$here/find_package" -B "$b" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$S" -Dunitypes_SHARED_LIBS=ON >"$b.log" 2>&1; then
    fail "unitypes_SHARED_LIBS=ON should fail when only the static library is installed"
fi
echo "ok: a static-only prefix falls back to static, unless shared is demanded"

step "move $P elsewhere; .pc and CMake package must still work"
M="$work/moved/somewhere/else"
mkdir -p "$(dirname "$M")"
mv "$P" "$M"
pkgconfig_consumers moved "$M"
find_package_consumer moved-default "$M" SHARED
find_package_consumer moved-static "$M" STATIC -DUT_COMPONENTS=static

step "absolute CMAKE_INSTALL_LIBDIR, and DESTDIR staging"
A="$work/abs-prefix"
absdir="$work/abs-libdir"
"$cmake" -S "$src" -B "$work/build-shared" -DCMAKE_INSTALL_LIBDIR="$absdir" >/dev/null ||
    fail "reconfigure with an absolute libdir"
"$cmake" --install "$work/build-shared" --prefix "$A" >/dev/null || fail "install (absolute libdir)"
pc="$absdir/pkgconfig/libunitypes.pc"
grep -qx "libdir=$absdir" "$pc" || fail "absolute libdir not in $pc"
grep -qx "prefix=$A" "$pc" || fail "install-time prefix not in $pc"
cflags=$(PKG_CONFIG_PATH=$absdir/pkgconfig pkg-config --cflags libunitypes)
[ "${cflags% }" = "-I$A/include" ] ||
    fail "pkg-config --cflags with an absolute libdir"
"$cmake" -S "$src" -B "$work/build-shared" -DCMAKE_INSTALL_LIBDIR="$libdir" \
    -DUNITYPES_PC_RELOCATABLE=OFF >/dev/null
DESTDIR="$work/stage" "$cmake" --install "$work/build-shared" --prefix /usr/local >/dev/null ||
    fail "DESTDIR install"
pc="$work/stage/usr/local/$libdir/pkgconfig/libunitypes.pc"
[ -f "$pc" ] || fail "DESTDIR not honoured"
[ -f "$work/stage/usr/local/$libdir/libunitypes.so.0" ] || fail "DESTDIR not honoured"
grep -qx "prefix=/usr/local" "$pc" || fail "UNITYPES_PC_RELOCATABLE=OFF with DESTDIR: wrong prefix in $pc"
echo "ok: absolute libdir, DESTDIR, UNITYPES_PC_RELOCATABLE=OFF"

step "add_subdirectory() of the source tree"
b="$work/subdir"
"$cmake" -S "$here/subdir" -B "$b" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DUNITYPES_SOURCE_DIR="$src" -DBUILD_SHARED_LIBS=ON >"$b.log" 2>&1 ||
    { cat "$b.log"; fail "add_subdirectory consumer: configure"; }
"$cmake" --build "$b" -j2 >>"$b.log" 2>&1 || { cat "$b.log"; fail "add_subdirectory consumer: build"; }
"$b/consumer" || fail "add_subdirectory consumer: run"
"$cmake" --install "$b" --prefix "$work/subdir-prefix" >>"$b.log" 2>&1 ||
    { cat "$b.log"; fail "add_subdirectory consumer: install"; }
extra=$(cd "$work/subdir-prefix" && find . -type f ! -path ./bin/consumer)
[ -z "$extra" ] || fail "add_subdirectory consumer installed libunitypes files: $extra"
(cd "$b" && "$(dirname "$cmake")/ctest" -N | grep -q 'Total Tests: 0') || fail "add_subdirectory consumer got libunitypes tests"

printf '\ninstall test: all checks passed\n'
