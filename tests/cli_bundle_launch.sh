#!/usr/bin/env bash
# A bundle that `lrncl compile` makes holds PoCL's work-group functions: compile launches each
# kernel at the plan's work-group sizes before reading its binary, so runs from the bundle
# compile none at their launches (PoCL prints "workgroup" under POCL_DEBUG when it generates
# one; PoCL's own kernel cache is off, so nothing else could supply them). Forward inference and
# training, backward, both modes. Skipped (77) where the device is not PoCL.
# Usage: cli_bundle_launch.sh path/to/lrncl path/to/golden
set -euo pipefail
lrncl=$1
golden=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_bundle_launch: $*" >&2; exit 1; }
export LRNCL_CACHE_DIR=off POCL_KERNEL_CACHE=0
x=$golden/caffe_across_alexnet1/x.npy
dy=$golden/caffe_across_alexnet1/dy.npy
b=$dir/bundle

"$lrncl" devices | grep -qi 'portable computing language' ||
  { echo "cli_bundle_launch: skipped: the device is not PoCL: $("$lrncl" devices | head -3)"; exit 77; }
"$lrncl" compile --input "$x" --output "$b" > /dev/null || fail "compile (across) failed"
"$lrncl" compile --mode within --size 3 --input "$x" --output "$b" > /dev/null || fail "compile (within) failed"

# Runs one command from the bundle with PoCL's debug output, and fails on a work-group
# function generated at its launches.
check() {
  local name=$1
  shift
  POCL_DEBUG=all "$lrncl" "$@" --binaries "$b" > "$dir/$name.log" 2>&1 || fail "$name failed: $(tail -5 "$dir/$name.log")"
  grep -q 'POCL' "$dir/$name.log" || fail "$name: POCL_DEBUG printed nothing, so the check would prove nothing"
  if grep -qi 'workgroup' "$dir/$name.log"; then
    fail "$name: PoCL generated a work-group function at launch from the bundle: $(grep -i -m 3 'workgroup' "$dir/$name.log")"
  fi
}
check across-inference forward --input "$x" --output "$dir/y.npy"
check across-training forward --input "$x" --output "$dir/y.npy" --scale-output "$dir/s.npy"
check across-backward backward --input "$x" --grad-output "$dy" --output "$dir/dx.npy"
check within-forward forward --mode within --size 3 --input "$x" --output "$dir/y.npy"
check within-backward backward --mode within --size 3 --input "$x" --grad-output "$dy" --output "$dir/dx.npy"

# A grid wider than PoCL's small-grid specialisation (131072 work-items along dimension 0): its
# own work-group function, which compile's launches must cover too. A bundle of its own: a
# variant already in a bundle keeps the binary of the problem it was compiled for. Input: zeros.
wide=$dir/wide.npy
head='{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (1, 4, 1024, 1024), }'
head=$(printf '%-117s' "$head")
{ printf '\x93NUMPY\x01\x00\x76\x00%s\n' "$head"; head -c $((4 * 1024 * 1024 * 4)) /dev/zero; } > "$wide"
b=$dir/bundle-wide
"$lrncl" compile --input "$wide" --output "$b" > /dev/null || fail "compile (wide grid) failed"
check wide-grid forward --input "$wide" --output "$dir/yw.npy"
echo "cli_bundle_launch: no work-group function generated at launch from the bundle (6 runs)"
