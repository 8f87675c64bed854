#!/usr/bin/env bash
# The lrncl command explains itself: --version (exit 0, the program's and the library's
# version), `lrncl COMMAND --help` (exit 0, that command's own usage, not the general one) for
# every command, and `lrncl tune --shape NxCxHxW` with the problem flags of forward (it tunes
# that problem: entries under its own shape and window). Bad command lines exit 2.
# Usage: cli_help.sh path/to/lrncl PROJECT_VERSION
set -euo pipefail
lrncl=$1 version=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_help: $*" >&2; exit 1; }

# lrncl tune measures the NDRange kernels' launches. Where lrncl gives this device the FPGA
# kernels, which have none (an accelerator, or LRNCL_DEVICE_CLASS=fpga), it tunes the CPU
# kernels instead, as LRNCL_DEVICE_CLASS=cpu asks (the FPGA refusal is checked below).
if LRNCL_CACHE_DIR=off "$lrncl" explain --shape 1x4x4x4 | grep -q '^device class: *fpga'; then
  echo "cli_help: this device takes the FPGA kernels, which have no launch tuning: tuning the CPU kernels"
  export LRNCL_DEVICE_CLASS=cpu
fi

"$lrncl" --version > "$dir/v" || fail "--version exited $?"
grep -qx "lrncl $version" "$dir/v" || fail "--version does not say 'lrncl $version': $(cat "$dir/v")"
grep -q "^library: liblrncl $version " "$dir/v" || fail "--version does not give the library's version: $(cat "$dir/v")"
set +e; "$lrncl" --version extra > /dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] || fail "--version with an argument exited $rc, not 2"

"$lrncl" --help > "$dir/general" || fail "--help exited $?"
for cmd in devices forward backward demo bench tune; do
  for flag in --help -h; do
    "$lrncl" $cmd $flag > "$dir/$cmd" 2> "$dir/$cmd.err" || fail "$cmd $flag exited $?: $(cat "$dir/$cmd.err")"
    head -1 "$dir/$cmd" | grep -Eq "^usage: lrncl(-bench| $cmd)" || fail "$cmd $flag: not its own usage: $(head -3 "$dir/$cmd")"
    cmp -s "$dir/$cmd" "$dir/general" && fail "$cmd $flag prints the general usage"
    [ -s "$dir/$cmd.err" ] && fail "$cmd $flag wrote to stderr: $(cat "$dir/$cmd.err")"
  done
done
# --help wins wherever it stands, even after other options
"$lrncl" forward --size 3 --help > "$dir/f2" || fail "forward --size 3 --help exited $?"
cmp -s "$dir/f2" "$dir/forward" || fail "forward --size 3 --help differs from forward --help"
grep -q -- '--scale-output' "$dir/forward" || fail "forward --help does not list --scale-output"
grep -q -- '--grad-output' "$dir/backward" || fail "backward --help does not list --grad-output"
grep -q -- '--shape' "$dir/tune" || fail "tune --help does not list --shape"

# tune --shape: a within-channel problem, and PyTorch's even window (lo 2, hi 1 under that key)
db=$dir/tuning.db
"$lrncl" tune --shape 2x8x5x6 --mode within --size 3 --alpha 0.5 --runs 1 --db "$db" > "$dir/t1" 2> "$dir/t1.err" ||
  fail "tune --shape (within) failed: $(cat "$dir/t1.err")"
for pass in fwd fwd-train bwd; do
  grep -q $'\twithin\t'"$pass"$'\tf32\tnchw\t2x8x5x6\t1:1\t[0-9]*\t[0-9]*$' "$db" || fail "no $pass entry for 2x8x5x6: $(cat "$db")"
done
grep -q '^2x8x5x6 *fwd-infer' "$dir/t1" || fail "no table row for the problem: $(cat "$dir/t1")"
"$lrncl" tune --shape=1x12x3x3 --convention pytorch --size 4 --k 2 --layout nhwc --runs 1 --db "$db" > /dev/null 2> "$dir/t2.err" ||
  fail "tune --shape (pytorch, nhwc) failed: $(cat "$dir/t2.err")"
[ "$(grep -c $'\tacross\t[a-z-]*\tf32\tnhwc\t1x12x3x3\t2:1\t' "$db")" = 3 ] || fail "no pytorch size-4 entries (window 2:1): $(cat "$db")"
[ "$(grep -vc '^#' "$db")" = 6 ] || fail "expected 6 entries: $(cat "$db")"

# bad command lines: exit 2, one line on stderr
bad() {
  set +e; "$lrncl" "$@" > /dev/null 2> "$dir/bad.err"; local rc=$?; set -e
  [ $rc = 2 ] || fail "'$*' exited $rc, not 2"
  [ "$(wc -l < "$dir/bad.err")" = 1 ] || fail "'$*': not one line on stderr: $(cat "$dir/bad.err")"
}
bad tune --mode within
bad tune --shape 0x8x5x6
bad tune --shape 2x8x5
bad tune --shape 2x8x5x6x
bad tune --shape 2x8x5x6 --shape 2x8x5x6
bad tune --shape 2x8x5x6 --case googlenet
bad tune --shape 2x8x5x6 --mode sideways
bad tune --shape 2x8x5x6 --input x.npy
bad forward --shape 2x8x5x6
bad nosuchcommand
echo "cli_help: ok"
