#!/usr/bin/env bash
# lrncl-bench's methods and peers, end to end: --method outside runs its processes and reports
# each one's medians; the cuDNN peer is loaded at run time or reported unavailable with the
# reason (a missing module must not stop the bench); bad command lines exit 2 with one line.
# Usage: cli_bench.sh path/to/lrncl-bench path/to/lrncl
set -euo pipefail
bench=$1
lrncl=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_bench: $*" >&2; exit 1; }

# --method outside: 2 processes, 3 passes of one case, each row with both processes' medians.
"$bench" --method outside --processes 2 --case within-small --runs 3 --json > "$dir/out" 2> "$dir/err" ||
  fail "--method outside failed: $(tail -5 "$dir/err")"
rows=$(grep -c '"method": "outside"' "$dir/out" || true)
[ "$rows" = 3 ] || fail "expected 3 outside rows, got $rows: $(cat "$dir/out")"
num='[0-9][0-9.e+-]*'
grep -q "\"pass\": \"fwd-infer\".*\"processes\": 2, \"runs\": 3, \"lrncl_ms\": \[$num, $num\], \"onednn_ms\": \[$num, $num\]" \
  "$dir/out" || fail "no fwd-infer row with two processes' medians: $(cat "$dir/out")"
grep -q '"check": "ok"' "$dir/out" || fail "no row passed its check"
! grep -q '"check": "FAIL"' "$dir/out" || fail "a row failed its check"
[ "$(grep -c 'outside method: process . of 2' "$dir/err")" = 2 ] || fail "did not run 2 processes: $(cat "$dir/err")"

# The cuDNN peer: a module that is not there is reported, and the bench still runs and passes.
LRNCL_CUDNN_PEER=$dir/missing.so "$bench" --case within-small --runs 2 > "$dir/t1" 2> "$dir/e1" ||
  fail "bench failed without the cuDNN module: $(tail -5 "$dir/e1")"
grep -q "^cuDNN: *unavailable: .*missing.so" "$dir/t1" || fail "no unavailable line naming the module: $(grep cuDNN "$dir/t1")"
grep -q '^within-small .*fwd-infer' "$dir/t1" || fail "no table row without the module"
# Without the variable: either the peer runs (a GPU with cuDNN) or the reason is given.
"$bench" --case within-small --runs 2 --json > "$dir/t2" 2> "$dir/e2" || fail "bench failed: $(tail -5 "$dir/e2")"
grep -q '"cudnn_peer": "' "$dir/t2" || fail "the JSON rows do not say what became of the cuDNN peer"

set +e
for args in "--processes 2" "--method inside" "--method outside --processes 0" "--method outside --processes x" \
            "--method outside --method outside"; do
  # shellcheck disable=SC2086
  "$bench" $args > /dev/null 2> "$dir/bad"
  rc=$?
  [ $rc = 2 ] || fail "'$args' exited $rc, not 2"
  [ "$(wc -l < "$dir/bad")" = 1 ] || fail "'$args' did not give one line on stderr: $(cat "$dir/bad")"
done
"$lrncl" tune --method outside > /dev/null 2>&1; [ $? = 2 ] || fail "tune --method did not exit 2"
"$lrncl" tune --processes 2 > /dev/null 2>&1; [ $? = 2 ] || fail "tune --processes did not exit 2"
echo "cli_bench: ok"
