#!/usr/bin/env bash
# subproject.sh SOURCE_DIR C_COMPILER: lrncl pulled into an engine's build with add_subdirectory
# (as FetchContent_MakeAvailable does) builds and installs the library only: no lrncl or
# lrncl-bench program, no cuDNN peer, no examples, no tests. The engine's program links
# lrncl::lrncl and runs one forward checked against the float64 reference (tests/consumer).
# Then LRNCL_BUILD_TOOLS=ON asks for the tools, and they appear.
set -euo pipefail
src=$1 cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/engine"
cat > "$tmp/engine/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(engine LANGUAGES C)
add_subdirectory("$src" lrncl)
add_executable(engine "$src/tests/consumer/consumer.c")
target_link_libraries(engine PRIVATE lrncl::lrncl)
EOF

# Unix Makefiles: its `help` target lists every target of the build tree.
configure() { # BUILD_DIR [cmake args...]
  local dir=$1; shift
  cmake -G "Unix Makefiles" -S "$tmp/engine" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release "$@" \
    > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  cmake --build "$dir" --target help > "$dir.targets"
}

echo "== add_subdirectory(lrncl), defaults"
configure "$tmp/build"
# Every target but CMake's own and the engine's must be one of the library's.
built=$(sed -n 's/^\.\.\. \([A-Za-z0-9_]*\)$/\1/p' "$tmp/build.targets" |
        grep -v -x -E 'all|clean|depend|edit_cache|install|rebuild_cache|list_install_components|engine' | sort || true)
[[ $built == "$(printf '%s\n' lrncl_objects lrncl_shared lrncl_static)" ]] ||
  { echo "a subproject build has targets beyond the library:"; echo "$built"; exit 1; }

cmake --build "$tmp/build" -j2 > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
"$tmp/build/engine"
cmake --install "$tmp/build" --prefix "$tmp/prefix" > "$tmp/install.log"
installed=$(cd "$tmp/prefix" && find . ! -type d | sed 's|^\./||' | sort)
# The SONAME carries major.minor while the major is 0 (README, "ABI policy"), the major after.
version=$(sed -n 's/^project(lrncl VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
soversion=${version%%.*}; [[ $soversion == 0 ]] && soversion=${version%.*}
expected=$(printf '%s\n' include/lrncl.h lib/liblrncl.a lib/liblrncl.so "lib/liblrncl.so.$soversion" "lib/liblrncl.so.$version" \
  lib/cmake/lrncl/lrnclConfig.cmake lib/cmake/lrncl/lrnclConfigVersion.cmake \
  lib/cmake/lrncl/lrnclTargets.cmake lib/cmake/lrncl/lrnclTargets-release.cmake \
  lib/pkgconfig/lrncl.pc | sort)
[[ $installed == "$expected" ]] || {
  echo "a subproject installs more (or less) than the library:"; diff <(echo "$expected") <(echo "$installed"); exit 1; }

echo "== add_subdirectory(lrncl) with LRNCL_BUILD_TOOLS=ON"
configure "$tmp/build-tools" -DLRNCL_BUILD_TOOLS=ON
[[ $(cat "$tmp/build-tools.targets") == *"... lrncl_cli"* ]] ||
  { echo "LRNCL_BUILD_TOOLS=ON gave no lrncl_cli target"; cat "$tmp/build-tools.targets"; exit 1; }
echo "subproject: library only by default, tools when asked: ok"
