#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, -DLRNCL_FUZZ=ON: ASan, UBSan and coverage)
# into build-fuzz/ and runs each for SECONDS (default 60) on a working corpus kept in
# build-fuzz/fuzz-corpus/<name>, seeded from tests/fuzz/corpus/<name>. A finding fails the run; the
# input that triggered it is in build-fuzz/fuzz-artifacts/<name>/ (rerun: build-fuzz/tests/fuzz/fuzz_<name> FILE).
# Every tests/fuzz/fuzz_<name>.c is a target. The CUDA peer is not part of this build (CMake
# leaves it out of sanitizer and fuzz builds).
# Usage: ci/fuzz.sh [SECONDS] [TARGET...]   (SECONDS: per target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
bash ci/install-deps.sh
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLRNCL_FUZZ=ON -DLRNCL_WERROR=ON \
  -DLRNCL_BUILD_TESTS=OFF -DLRNCL_BENCH_ONEDNN=OFF -DLRNCL_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build-fuzz -j"$(nproc)" > build-fuzz/build.log 2>&1 || { tail -40 build-fuzz/build.log; exit 1; }

export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/build-fuzz/pocl-cache}"
export POCL_SIGFPE_HANDLER=0
# lrncl's own disk cache off: nothing written under $HOME, every program from PoCL as in the suites.
export LRNCL_CACHE_DIR=off
mkdir -p "$POCL_CACHE_DIR"
# fuzz_npy writes each input to a file: in memory it runs about 45x faster (7,000 vs 160 a second).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
# Every target: each tests/fuzz/fuzz_<name>.c, found here, not listed. One whose build line
# (lrncl_fuzz_target in tests/fuzz/CMakeLists.txt) is missing fails instead of never running.
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do
    targets+=("$(basename "$src" .c | sed 's/^fuzz_//')")
  done
fi
for name in "${targets[@]}"; do
  [ -x "build-fuzz/tests/fuzz/fuzz_$name" ] ||
    { echo "fuzz: no target fuzz_$name was built: add lrncl_fuzz_target($name ...) to tests/fuzz/CMakeLists.txt" >&2; exit 1; }
done
status=0
for name in "${targets[@]}"; do
  bin=build-fuzz/tests/fuzz/fuzz_$name
  work=build-fuzz/fuzz-corpus/$name
  artifacts=build-fuzz/fuzz-artifacts/$name/
  mkdir -p "$work" "$artifacts"
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] || seeds=
  read -r -a flags < "$bin.flags" || flags=()
  log=build-fuzz/fuzz-$name.log
  rc=0
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts" "${flags[@]}" \
    "$work" $seeds > "$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $name: FINDING (exit $rc) after $execs runs; see $log and $artifacts"
    grep -m5 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log" || true
    status=1
  else
    echo "fuzz: $name: ${seconds}s, $execs runs, $cov, $(ls "$work" | wc -l) corpus files, no finding"
  fi
done
exit $status
