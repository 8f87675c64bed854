#!/usr/bin/env bash
# install_consumer.sh BUILD_DIR SOURCE_DIR C_COMPILER: installs the built lrncl into a temporary
# prefix, then builds and runs a small program against it through both routes an engine uses:
# find_package(lrncl) (lrncl::lrncl and lrncl::lrncl_static, and an OpenCL 3.0 engine built with
# -Werror) and pkg-config (shared, and static with --static). Each program runs one forward and
# checks it against the float64 reference.
set -euo pipefail
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
tools=(); [[ -x $build/tools/lrncl ]] && tools=(bin/lrncl)
for f in include/lrncl.h lib/liblrncl.a lib/liblrncl.so lib/liblrncl.so.0.2 "${tools[@]}" \
         lib/cmake/lrncl/lrnclConfig.cmake lib/cmake/lrncl/lrnclConfigVersion.cmake lib/pkgconfig/lrncl.pc; do
  [[ -e $prefix/$f ]] || { echo "not installed: $f"; ls -R "$prefix"; exit 1; }
done
soname=$(objdump -p "$prefix/lib/liblrncl.so" | awk '/SONAME/ {print $2}')
[[ $soname == liblrncl.so.0.2 ]] || { echo "SONAME is '$soname', expected liblrncl.so.0.2"; exit 1; }

echo "== find_package(lrncl)"
cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/cmake-build" > "$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
"$tmp/cmake-build/consumer_shared"
"$tmp/cmake-build/consumer_static"
"$tmp/cmake-build/consumer_cl3"
# The shared program must load the installed library, the static one none. ldd's output is read
# whole first: `ldd | grep -q` under pipefail fails when grep exits early and ldd gets SIGPIPE.
libs_shared=$(ldd "$tmp/cmake-build/consumer_shared")
libs_static=$(ldd "$tmp/cmake-build/consumer_static")
[[ $libs_shared == *"$prefix/lib/liblrncl.so.0.2"* ]] ||
  { echo "consumer_shared does not load $prefix/lib/liblrncl.so.0.2"; echo "$libs_shared"; exit 1; }
if [[ $libs_static == *liblrncl* ]]; then
  echo "consumer_static loads a shared liblrncl"; echo "$libs_static"; exit 1
fi

echo "== pkg-config lrncl"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[[ $(pkg-config --modversion lrncl) == "$(sed -n 's/^project(lrncl VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" ]]
# The program makes its own queue and buffers: `Requires: OpenCL` lets lrncl's module alone link it.
# shellcheck disable=SC2046
"$cc" -o "$tmp/pc_shared" "$src/tests/consumer/consumer.c" $(pkg-config --cflags --libs lrncl) \
      -Wl,-rpath,"$(pkg-config --variable=libdir lrncl)"
"$tmp/pc_shared"
# An OpenCL 3.0 engine with warnings as errors, through pkg-config.
# shellcheck disable=SC2046
"$cc" -o "$tmp/pc_cl3" "$src/tests/consumer/consumer.c" -DCL_TARGET_OPENCL_VERSION=300 -DLRNCL_CONSUMER_EXPECT_CL=300 \
      -Wall -Wextra -Werror $(pkg-config --cflags --libs lrncl) -Wl,-rpath,"$(pkg-config --variable=libdir lrncl)"
"$tmp/pc_cl3"
# Static: the archive by name (-l:liblrncl.a, as -llrncl would take the .so), the rest exactly as
# `pkg-config --static` says (Libs.private: -lm and the threads flag; OpenCL and zlib from Requires).
static_libs=$(pkg-config --static --libs lrncl | sed 's/-llrncl\b/-l:liblrncl.a/')
# shellcheck disable=SC2046,SC2086
"$cc" -o "$tmp/pc_static" "$src/tests/consumer/consumer.c" $(pkg-config --cflags lrncl) $static_libs
"$tmp/pc_static"
echo "install and both consumer routes: ok"
