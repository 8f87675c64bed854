#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer: builds lrncl with clang into build-sanitize/
# (-DLRNCL_SANITIZE=ON) and runs the api, errors, golden, tuning, guarantees, threads, npy and engine
# suites, then the lrncl command on every golden case (forward and backward). Any report fails.
#
# Leak checking is on. PoCL compiles kernels with LLVM, whose allocations LeakSanitizer reports
# at exit; the runs therefore use a warm PoCL cache (build/pocl-cache from ci/test.sh when it
# exists, else a first pass fills build-sanitize/pocl-cache with leak checking off), and
# ci/lsan.supp suppresses what PoCL and LLVM still hold (each entry says why).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
start=$(date +%s)
export CC=clang
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLRNCL_SANITIZE=ON -DLRNCL_WERROR=ON \
  -DLRNCL_TEST_POCL_CACHE="$PWD/build-sanitize/pocl-cache" \
  -DLRNCL_BENCH_ONEDNN=OFF -DLRNCL_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build-sanitize -j"$(nproc)" > build-sanitize/build.log 2>&1 || { tail -50 build-sanitize/build.log; exit 1; }

suites='^(api|errors|golden|tuning|guarantees|threads|npy|engine)$'
# CTest points each suite at build-sanitize/pocl-cache. Warm it: from ci/test.sh's cache when
# there is one (same kernels, same device; POCL_CACHE_DIR when set, as there), else by a first
# pass with leak checking off.
cache=$PWD/build-sanitize/pocl-cache
warm=${POCL_CACHE_DIR:-build/pocl-cache}
mkdir -p "$cache"
if [ -z "$(ls -A "$cache")" ]; then
  if [ -n "$(ls -A "$warm" 2>/dev/null)" ]; then
    cp -a "$warm"/. "$cache/"
  else
    echo "sanitize: warming the PoCL cache (leak checking off for this pass)"
    (cd build-sanitize && ASAN_OPTIONS=detect_leaks=0 POCL_SIGFPE_HANDLER=0 ctest -R "$suites" > /dev/null 2>&1 || true)
  fi
fi
export POCL_CACHE_DIR=$cache
export POCL_SIGFPE_HANDLER=0
# lrncl's own disk cache off: nothing written under $HOME, every program from PoCL as in the suites.
export LRNCL_CACHE_DIR=off
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23:strict_string_checks=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=suppressions=$PWD/ci/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=24

(cd build-sanitize && ctest --output-on-failure -R "$suites")

lrncl=build-sanitize/tools/lrncl
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
while read -r case; do
  [ -z "$case" ] && continue
  dir=tests/golden/$case
  # the case's top-level fields (the first occurrence: "canonical" repeats beta further down)
  field() { grep -m1 -o "\"$1\": *\"*[^,\"]*" "$dir/case.json" | sed 's/.*: *"*//'; }
  args="--mode $(field mode) --size $(field size) --alpha $(field alpha) --beta $(field beta) --k $(field k)"
  args="$args --convention $(field convention)"
  # shellcheck disable=SC2086
  "$lrncl" forward $args --input "$dir/x.npy" --output "$out/y.npy" --scale-output "$out/s.npy" ||
    { echo "sanitize: lrncl forward failed on $case" >&2; exit 1; }
  # shellcheck disable=SC2086
  "$lrncl" backward $args --input "$dir/x.npy" --grad-output "$dir/dy.npy" --output "$out/dx.npy" ||
    { echo "sanitize: lrncl backward failed on $case" >&2; exit 1; }
  n=$((n + 1))
done < tests/golden/CASES
echo "sanitize: lrncl forward and backward clean on $n golden cases"
echo "sanitize: done in $(( $(date +%s) - start )) s"
