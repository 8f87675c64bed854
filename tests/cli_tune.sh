#!/usr/bin/env bash
# lrncl tune: stores one entry per kernel under the plan's key, replaces its own entries on a
# second run (keeping the file's other lines), and lrncl bench (which runs lrncl-bench) then takes
# its tuning from the file. The file is replaced safely (a fresh temporary name, its mode kept,
# links written through). Bad command lines exit 2, an unwritable database 1.
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

# The database is replaced through a fresh temporary name (never a fixed FILE.tmp that a link
# could be planted at; as root the link belongs to another uid, as an attacker's would), keeps
# its mode, is written through a symbolic link, and two tunes at once do not trip each other.
printf 'secret\n' > "$dir/victim"
chmod 0600 "$dir/victim" "$db"
ln -s victim "$db.tmp"
if [ "$(id -u)" = 0 ]; then
  chown -h 4242:4242 "$db.tmp"
else
  echo "cli_tune: not root: the planted link is our own (only root may chown it to another uid)"
fi
"$lrncl" tune --case within-small --runs 1 --db "$db" > /dev/null 2> "$dir/err7" || fail "tune beside a planted link failed: $(cat "$dir/err7")"
[ "$(cat "$dir/victim")" = secret ] || fail "tune wrote through the link planted at $db.tmp"
[ -L "$db.tmp" ] || fail "tune replaced the link planted at $db.tmp"
[ "$(stat -c %a "$db")" = 600 ] || fail "the 0600 database became $(stat -c %a "$db")"
[ "$(entries)" = 3 ] || fail "after the run beside a planted link: $(entries) entries: $(cat "$db")"
rm "$db.tmp"
mv "$db" "$dir/real.db"
ln -s real.db "$db"
pids=()
for i in 1 2; do
  "$lrncl" tune --case within-small --runs 1 --db "$db" > /dev/null 2> "$dir/err-c$i" & pids+=($!)
done
for i in 1 2; do wait "${pids[$((i - 1))]}" || fail "concurrent tune $i failed: $(cat "$dir/err-c$i")"; done
[ -L "$db" ] || fail "tune replaced the database's symbolic link with a file"
[ "$(entries)" = 3 ] || fail "after two concurrent tunes: $(entries) entries: $(cat "$db")"
left=$(ls -A "$dir" | grep -e '\.tmp' || true)
[ -z "$left" ] || fail "temporary files left behind: $left"

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
