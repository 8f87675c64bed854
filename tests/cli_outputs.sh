#!/usr/bin/env bash
# lrncl forward/backward write their outputs all or nothing: when one output cannot be written
# (a missing folder, a directory in its place, a read-only folder), the command exits 1 with one
# line on stderr and every output path holds exactly what it held before (or stays absent), with
# no temporary or backup files left beside it. A run that succeeds replaces both outputs.
# Usage: cli_outputs.sh path/to/lrncl
set -euo pipefail
lrncl=$1
golden=$(cd "$(dirname "$0")/golden/caffe_across_size3" && pwd)
dir=$(mktemp -d)
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
fail() { echo "cli_outputs: $*" >&2; exit 1; }
params=(--mode across --size 3 --alpha 0.1 --beta 0.5 --k 1)

printf 'the old y\n' > "$dir/y.npy"
printf 'the old scale\n' > "$dir/s.npy"
cp "$dir/y.npy" "$dir/y.before"
cp "$dir/s.npy" "$dir/s.before"

# expect_refused LABEL ARGS...: exit 1, one stderr line, y.npy and s.npy unchanged, no leftovers.
expect_refused() {
  local label=$1; shift
  local rc=0
  "$lrncl" "$@" > "$dir/out" 2> "$dir/err" || rc=$?
  [ "$rc" = 1 ] || fail "$label: exit $rc, expected 1 (stderr: $(cat "$dir/err"))"
  [ "$(wc -l < "$dir/err")" = 1 ] || fail "$label: expected one line on stderr, got: $(cat "$dir/err")"
  cmp -s "$dir/y.npy" "$dir/y.before" || fail "$label: y.npy was changed or removed"
  cmp -s "$dir/s.npy" "$dir/s.before" || fail "$label: s.npy was changed or removed"
  local extra
  extra=$(cd "$dir" && ls -A | grep -v -x -e y.npy -e s.npy -e y.before -e s.before -e out -e err \
          -e sub -e ro -e missing-ok || true)
  [ -z "$extra" ] || fail "$label: files left behind: $extra"
  [ -z "$(ls -A "$dir/ro" 2>/dev/null | grep -v -x s.npy || true)" ] || fail "$label: files left in ro/"
}

# The scale output in a folder that does not exist.
expect_refused "scale in a missing folder" forward "${params[@]}" --input "$golden/x.npy" \
  --output "$dir/y.npy" --scale-output "$dir/no/such/folder/s.npy"
# The scale output is a directory.
mkdir "$dir/sub"
expect_refused "scale is a directory" forward "${params[@]}" --input "$golden/x.npy" \
  --output "$dir/y.npy" --scale-output "$dir/sub"
# The first output is a directory, the second an existing file: neither may change.
expect_refused "output is a directory" forward "${params[@]}" --input "$golden/x.npy" \
  --output "$dir/sub" --scale-output "$dir/s.npy"
# The scale output in a read-only folder (skipped as root, who may write there anyway).
if [ "$(id -u)" != 0 ]; then
  mkdir "$dir/ro"
  cp "$dir/s.before" "$dir/ro/s.npy"
  chmod a-w "$dir/ro"
  expect_refused "scale in a read-only folder" forward "${params[@]}" --input "$golden/x.npy" \
    --output "$dir/y.npy" --scale-output "$dir/ro/s.npy"
  cmp -s "$dir/ro/s.npy" "$dir/s.before" || fail "the read-only folder's s.npy changed"
else
  echo "cli_outputs: running as root: the read-only folder case is skipped (root writes there anyway)"
fi
# Backward: dx where a directory is, with y.npy as --output of an earlier success untouched.
expect_refused "backward output is a directory" backward "${params[@]}" --input "$golden/x.npy" \
  --grad-output "$golden/dy.npy" --output "$dir/sub"

# Success replaces both.
"$lrncl" forward "${params[@]}" --input "$golden/x.npy" --output "$dir/y.npy" --scale-output "$dir/s.npy" \
  2> "$dir/err" || fail "the good run failed: $(cat "$dir/err")"
cmp -s "$dir/y.npy" "$dir/y.before" && fail "the good run left y.npy as it was"
cmp -s "$dir/s.npy" "$dir/s.before" && fail "the good run left s.npy as it was"
head -c 6 "$dir/y.npy" | grep -q NUMPY || fail "y.npy is not a .npy file after the good run"
head -c 6 "$dir/s.npy" | grep -q NUMPY || fail "s.npy is not a .npy file after the good run"
leftover=$(cd "$dir" && ls -A | grep -e '\.tmp-' -e '\.keep-' || true)
[ -z "$leftover" ] || fail "the good run left: $leftover"
echo "cli_outputs: ok"
