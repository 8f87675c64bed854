#!/usr/bin/env bash
# lrncl compile / explain / --binaries, end to end: a bundle made by `lrncl compile` runs
# `lrncl forward` and `lrncl backward` with the disk cache off and gives bitwise the files a
# source build gives; a problem the bundle lacks fails with the command that makes it; compile
# adds to a bundle; --emit-source writes sources; explain reports where programs came from; each
# command has its own --help. Usage: cli_store.sh path/to/lrncl path/to/golden
set -euo pipefail
lrncl=$1
golden=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_store: $*" >&2; exit 1; }
x=$golden/caffe_across_alexnet1/x.npy
dy=$golden/caffe_across_alexnet1/dy.npy
b=$dir/bundle
export LRNCL_CACHE_DIR=$dir/cache
# The class of kernels lrncl chose for this device: the FPGA kernels' variant names start with
# fpga- and their kernels are lrn_fpga_*.
fam="" kfam=""
if LRNCL_CACHE_DIR=off "$lrncl" explain --input "$x" | grep -q '^device class: *fpga'; then
  fam="fpga-" kfam="fpga_"
fi

"$lrncl" compile --input "$x" --output "$b" > /dev/null 2> "$dir/err" || fail "compile failed: $(cat "$dir/err")"
ls "$b"/${fam}across-*.bin > /dev/null 2>&1 || fail "no binary in the bundle: $(ls "$b")"
grep -q $'^program\t'"${fam}across-" "$b/manifest.txt" || fail "no program line in the manifest"

# the source build, then the bundle alone (no disk cache): the same bits
LRNCL_CACHE_DIR=off "$lrncl" forward --input "$x" --output "$dir/y_src.npy" --scale-output "$dir/s_src.npy"
LRNCL_CACHE_DIR=off "$lrncl" forward --binaries "$b" --input "$x" --output "$dir/y_bin.npy" \
  --scale-output "$dir/s_bin.npy" 2> "$dir/err" || fail "forward --binaries failed: $(cat "$dir/err")"
cmp -s "$dir/y_src.npy" "$dir/y_bin.npy" || fail "forward --binaries: y differs from the source build"
cmp -s "$dir/s_src.npy" "$dir/s_bin.npy" || fail "forward --binaries: the scale differs from the source build"
LRNCL_CACHE_DIR=off "$lrncl" backward --input "$x" --grad-output "$dy" --output "$dir/dx_src.npy"
LRNCL_CACHE_DIR=off "$lrncl" backward --binaries "$b" --input "$x" --grad-output "$dy" --output "$dir/dx_bin.npy" \
  2> "$dir/err" || fail "backward --binaries failed: $(cat "$dir/err")"
cmp -s "$dir/dx_src.npy" "$dir/dx_bin.npy" || fail "backward --binaries: dx differs from the source build"

LRNCL_CACHE_DIR=off "$lrncl" explain --binaries "$b" --input "$x" > "$dir/explain" || fail "explain --binaries failed"
grep -q 'from: *bundle' "$dir/explain" || fail "explain --binaries: not from the bundle: $(cat "$dir/explain")"
grep -q "lrn_${kfam}across_fwd *global [0-9]*x[0-9]* *local [0-9]*x1" "$dir/explain" || fail "explain: no kernel line"
grep -q '^device class: ' "$dir/explain" || fail "explain: no device class"

# a problem the bundle lacks: exit 1, one line naming the variant and the command
set +e
LRNCL_CACHE_DIR=off "$lrncl" forward --binaries "$b" --mode within --input "$x" --output "$dir/yw.npy" 2> "$dir/err"
rc=$?
set -e
[ $rc = 1 ] || fail "a missing variant exited $rc, not 1"
[ "$(wc -l < "$dir/err")" = 1 ] || fail "not one line on stderr: $(cat "$dir/err")"
grep -q "${fam}within-lo2-hi2-.*lrncl compile --mode within --size 5" "$dir/err" || fail "no variant or command: $(cat "$dir/err")"
[ ! -e "$dir/yw.npy" ] || fail "an output was written on failure"

# compile adds to the bundle; the missing problem then runs from it
"$lrncl" compile --mode within --shape 1x3x8x8 --output "$b" > /dev/null || fail "second compile failed"
grep -q $'^program\t'"${fam}across-" "$b/manifest.txt" || fail "the second compile dropped the first variant"
grep -q $'^program\t'"${fam}within-" "$b/manifest.txt" || fail "the second compile added no line"
LRNCL_CACHE_DIR=off "$lrncl" forward --binaries "$b" --mode within --input "$x" --output "$dir/yw.npy" \
  || fail "the added variant does not run"

# the disk cache: a second process loads what the first built
"$lrncl" explain --input "$x" --mode within --size 3 > "$dir/e1"
"$lrncl" explain --input "$x" --mode within --size 3 > "$dir/e2"
grep -q 'from: *built' "$dir/e1" || fail "first explain did not build: $(cat "$dir/e1")"
grep -q 'from: *disk cache' "$dir/e2" || fail "second explain did not load from the disk cache: $(cat "$dir/e2")"

"$lrncl" compile --shape 2x8x4x4 --dtype f16 --output "$dir/src" --emit-source > /dev/null || fail "--emit-source failed"
ls "$dir"/src/${fam}across-*-f16-*.cl "$dir"/src/${fam}across-*-f16-*.options > /dev/null 2>&1 || fail "no sources: $(ls "$dir/src")"
! ls "$dir"/src/*.bin > /dev/null 2>&1 || fail "--emit-source wrote binaries"

for cmd in forward backward compile explain devices demo; do
  "$lrncl" $cmd --help > "$dir/help" || fail "$cmd --help exited non-zero"
  grep -q "^usage: lrncl $cmd" "$dir/help" || fail "$cmd --help is not its own usage: $(head -1 "$dir/help")"
done
set +e
"$lrncl" compile --input "$x" > /dev/null 2>&1; [ $? = 2 ] || fail "compile without --output did not exit 2"
"$lrncl" explain --input "$x" --shape 1x1x1x1 > /dev/null 2>&1; [ $? = 2 ] || fail "--input with --shape did not exit 2"
"$lrncl" explain --shape 1x0x1x1 > /dev/null 2>&1; [ $? = 2 ] || fail "a zero in --shape did not exit 2"
"$lrncl" compile --shape 1x2x3x4 --output "$dir/x" --emit-source=1 > /dev/null 2>&1; [ $? = 2 ] || fail "--emit-source=1 did not exit 2"
echo "cli_store: ok"
