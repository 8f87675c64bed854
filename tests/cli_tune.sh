#!/usr/bin/env bash
# lrncl tune: stores one entry per kernel under the plan's key, replaces its own entries on a
# second run (keeping the file's other lines), and lrncl bench (which runs lrncl-bench) then takes
# its tuning from the file. Bad command lines exit 2, an unwritable database 1.
# Usage: cli_tune.sh path/to/lrncl [with-bench]   (with-bench: lrncl-bench is built beside lrncl)
set -euo pipefail
lrncl=$1
with_bench=${2:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_tune: $*" >&2; exit 1; }
db=$dir/tuning.db
entries() { grep -vc '^#' "$db" || true; }

# lrncl tune measures the NDRange kernels' launches. Where lrncl gives this device the FPGA
# kernels, which have none (an accelerator, or LRNCL_DEVICE_CLASS=fpga), it tunes the CPU
# kernels instead, as LRNCL_DEVICE_CLASS=cpu asks (the FPGA refusal is checked below).
if LRNCL_CACHE_DIR=off "$lrncl" explain --shape 1x4x4x4 | grep -q '^device class: *fpga'; then
  echo "cli_tune: this device takes the FPGA kernels, which have no launch tuning: tuning the CPU kernels"
  export LRNCL_DEVICE_CLASS=cpu
fi

"$lrncl" tune --case within-small --runs 2 --db "$db" > "$dir/out1" 2> "$dir/err1" || fail "tune failed: $(cat "$dir/err1")"
[ "$(entries)" = 3 ] || fail "expected 3 entries after the first run, got $(entries): $(cat "$db")"
for pass in fwd fwd-train bwd; do
  grep -q $'\twithin\t'"$pass"$'\tf32\tnchw\t32x32x16x16\t1:1\t[0-9]*\t[0-9]*$' "$db" ||
    fail "no well-formed $pass entry: $(cat "$db")"
done
grep -q 'within-small *fwd-infer' "$dir/out1" || fail "no table row: $(cat "$dir/out1")"

echo "# a line of the user's" >> "$db"
"$lrncl" tune --case within-small --runs 2 --db "$db" > "$dir/out2" 2> "$dir/err2" || fail "second tune failed"
[ "$(entries)" = 3 ] || fail "the second run left $(entries) entries (want 3): $(cat "$db")"
grep -q "^# a line of the user's$" "$db" || fail "the second run dropped the file's other lines"

if [ "$with_bench" = with-bench ]; then
  LRNCL_TUNING_DB=$db "$lrncl" bench --case within-small --runs 2 > /dev/null 2> "$dir/err3" ||
    fail "bench failed: $(cat "$dir/err3")"
  grep -q 'tuning (local, block): forward .* (LRNCL_TUNING_DB); training .* (LRNCL_TUNING_DB); backward .* (LRNCL_TUNING_DB)' "$dir/err3" ||
    fail "bench did not take its tuning from the file: $(grep tuning "$dir/err3")"
else
  echo "cli_tune: lrncl-bench is not built (no oneDNN): the bench's use of the database is not checked"
fi

set +e
"$lrncl" tune --json > /dev/null 2>&1; [ $? = 2 ] || fail "tune --json did not exit 2"
if [ "$with_bench" = with-bench ]; then
  "$lrncl" bench --db "$db" > /dev/null 2>&1; [ $? = 2 ] || fail "bench --db did not exit 2"
else
  "$lrncl" bench > /dev/null 2> "$dir/err5"; [ $? = 1 ] || fail "lrncl bench without lrncl-bench did not exit 1"
  grep -q 'lrncl-bench is not installed' "$dir/err5" || fail "no reason given: $(cat "$dir/err5")"
fi
"$lrncl" tune --case within-small --runs 1 --db "$dir/no/such/dir/t.db" > /dev/null 2> "$dir/err4"
[ $? = 1 ] || fail "an unwritable database did not exit 1"
grep -q 'cannot write' "$dir/err4" || fail "no reason given for the unwritable database: $(cat "$dir/err4")"
cp "$db" "$dir/db.before"
LRNCL_DEVICE_CLASS=fpga "$lrncl" tune --case within-small --runs 1 --db "$db" > /dev/null 2> "$dir/err6"
[ $? = 1 ] || fail "tune on the FPGA kernels did not exit 1"
grep -q 'no launch tuning' "$dir/err6" || fail "no reason given for the FPGA kernels: $(cat "$dir/err6")"
cmp -s "$db" "$dir/db.before" || fail "tune on the FPGA kernels changed the database"
echo "cli_tune: ok"
