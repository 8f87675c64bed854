#!/usr/bin/env bash
# The FPGA flow end to end, with PoCL's own program binaries in place of a vendor's .aocx or
# .xclbin: `lrncl compile` with LRNCL_DEVICE_CLASS=fpga makes a bundle of the FPGA kernels'
# programs (fpga-* variants), and `lrncl forward` / `backward --binaries` run from it alone with
# the disk cache off, giving bitwise the files of a source build of the FPGA kernels and of the
# CPU kernels; explain reports the single work-item launch and the bundle as the source.
# Usage: cli_fpga_bundle.sh path/to/lrncl path/to/golden
set -euo pipefail
lrncl=$1
golden=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_fpga_bundle: $*" >&2; exit 1; }
export LRNCL_CACHE_DIR=off
b=$dir/bundle

for mode in across within; do
  case $mode in
    across) x=$golden/caffe_across_alexnet1/x.npy; dy=$golden/caffe_across_alexnet1/dy.npy ;;
    within) x=$golden/caffe_within_basic/x.npy; dy=$golden/caffe_within_basic/dy.npy ;;
  esac
  LRNCL_DEVICE_CLASS=fpga "$lrncl" compile --mode $mode --input "$x" --output "$b" > /dev/null 2> "$dir/err" \
    || fail "$mode: compile failed: $(cat "$dir/err")"
  ls "$b"/fpga-$mode-*.bin > /dev/null 2>&1 || fail "$mode: no fpga-$mode binary in the bundle: $(ls "$b")"
  for cls in fpga cpu; do
    LRNCL_DEVICE_CLASS=$cls "$lrncl" forward --mode $mode --input "$x" --output "$dir/y_$cls.npy" \
      --scale-output "$dir/s_$cls.npy"
    LRNCL_DEVICE_CLASS=$cls "$lrncl" backward --mode $mode --input "$x" --grad-output "$dy" --output "$dir/dx_$cls.npy"
  done
  LRNCL_DEVICE_CLASS=fpga "$lrncl" forward --binaries "$b" --mode $mode --input "$x" --output "$dir/y_bin.npy" \
    --scale-output "$dir/s_bin.npy" 2> "$dir/err" || fail "$mode: forward --binaries failed: $(cat "$dir/err")"
  LRNCL_DEVICE_CLASS=fpga "$lrncl" backward --binaries "$b" --mode $mode --input "$x" --grad-output "$dy" \
    --output "$dir/dx_bin.npy" 2> "$dir/err" || fail "$mode: backward --binaries failed: $(cat "$dir/err")"
  for f in y s dx; do
    cmp -s "$dir/${f}_bin.npy" "$dir/${f}_fpga.npy" || fail "$mode: $f from the bundle differs from the FPGA source build"
    cmp -s "$dir/${f}_bin.npy" "$dir/${f}_cpu.npy" || fail "$mode: $f from the bundle differs from the CPU kernels"
  done
  LRNCL_DEVICE_CLASS=fpga "$lrncl" explain --binaries "$b" --mode $mode --input "$x" > "$dir/explain" \
    || fail "$mode: explain --binaries failed"
  grep -q 'from: *bundle' "$dir/explain" || fail "$mode: explain: not from the bundle: $(cat "$dir/explain")"
  grep -q "lrn_fpga_${mode}_fwd *global 1x1 *local 1x1" "$dir/explain" || fail "$mode: explain: $(cat "$dir/explain")"
  grep -q '^device class: fpga' "$dir/explain" || fail "$mode: explain: no fpga device class"
done
echo "cli_fpga_bundle: ok"
