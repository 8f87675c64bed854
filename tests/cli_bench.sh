#!/usr/bin/env bash
# lrncl-bench's methods and peers, end to end: --method outside runs its processes and reports
# each one's medians; the cuDNN peer is loaded at run time or reported unavailable with the
# reason (a missing module must not stop the bench); bad command lines exit 2 with one line.
# With a stand-in peer module (tests/fake_cudnn_peer.c, no CUDA): the bench loads it, checks its
# outputs against the float64 reference (and fails when they are wrong), prints its table, and
# goes on where it refuses a case.
# Usage: cli_bench.sh path/to/lrncl-bench path/to/lrncl path/to/fake-peer.so
set -euo pipefail
bench=$1
lrncl=$2
fake=$3
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
# Each process's CPU wait during lrncl's runs (Linux schedstat): a number per process, and a
# count of queued runs between 0 and the 3 runs.
grep -q "\"pass\": \"fwd-infer\".*\"lrncl_cpu_wait_ms\": \[$num, $num\], \"lrncl_queued_runs\": \[[0-3], [0-3]\]" \
  "$dir/out" || fail "no fwd-infer row with two processes' CPU waits: $(cat "$dir/out")"
# The table says the same in words, with POCL_AFFINITY as this process has it.
POCL_AFFINITY=1 "$bench" --method outside --processes 2 --case within-small --runs 3 > "$dir/txt" 2> "$dir/err" ||
  fail "--method outside (table) failed: $(tail -5 "$dir/err")"
grep -q "POCL_AFFINITY=1" "$dir/txt" || fail "the setup does not give POCL_AFFINITY: $(head -8 "$dir/txt")"
grep -Eq "^within-small +fwd-infer +[0-9.]+ \[[0-3]\] +[0-9.]+ \[[0-3]\]$" "$dir/txt" ||
  fail "no CPU-wait row for two processes: $(tail -6 "$dir/txt")"

# The cuDNN peer: a module that is not there is reported, and the bench still runs and passes.
LRNCL_CUDNN_PEER=$dir/missing.so "$bench" --case within-small --runs 2 > "$dir/t1" 2> "$dir/e1" ||
  fail "bench failed without the cuDNN module: $(tail -5 "$dir/e1")"
grep -q "^cuDNN: *unavailable: .*missing.so" "$dir/t1" || fail "no unavailable line naming the module: $(grep cuDNN "$dir/t1")"
grep -q '^within-small .*fwd-infer' "$dir/t1" || fail "no table row without the module"
# On PoCL the header says whether POCL_AFFINITY is set, and why it matters when it is not.
if grep -q '^device: *Portable Computing Language' "$dir/t1"; then
  grep -q '^PoCL: *POCL_AFFINITY' "$dir/t1" || fail "the header does not name POCL_AFFINITY: $(head -14 "$dir/t1")"
fi
# Without the variable: either the peer runs (a GPU with cuDNN) or the reason is given.
"$bench" --case within-small --runs 2 --json > "$dir/t2" 2> "$dir/e2" || fail "bench failed: $(tail -5 "$dir/e2")"
grep -q '"cudnn_peer": "' "$dir/t2" || fail "the JSON rows do not say what became of the cuDNN peer"

# The stand-in peer: loaded, checked (float32 and float16), tabled, in the JSON rows.
for dtype in f32 f16; do
  LRNCL_CUDNN_PEER=$fake "$bench" --case alexnet-norm2 --runs 2 --dtype $dtype > "$dir/f1" 2> "$dir/fe1" ||
    fail "bench with the stand-in peer failed ($dtype): $(tail -5 "$dir/fe1")"
  grep -q '^cuDNN: *fake peer on the host' "$dir/f1" || fail "the stand-in peer was not loaded: $(grep cuDNN "$dir/f1")"
  grep -q 'cuDNN y [0-9.e-]*, cuDNN dx [0-9.e-]*' "$dir/fe1" || fail "cuDNN's outputs were not checked: $(grep check "$dir/fe1")"
  for pass in fwd-infer fwd-train backward; do
    grep -q "^alexnet-norm2 *$pass *0.500 .* 0.250 .* ok$" "$dir/f1" || fail "no cuDNN row for $pass ($dtype): $(cat "$dir/f1")"
  done
done
LRNCL_CUDNN_PEER=$fake "$bench" --case alexnet-norm2 --runs 2 --json > "$dir/f2" 2> /dev/null || fail "bench --json with the stand-in failed"
grep -q '"cudnn_ms": 0.5, "ratio_cudnn": [0-9.e+-]*, "cudnn_copy_ms": 0.25, "cudnn_peer": "fake peer' "$dir/f2" ||
  fail "no cuDNN fields in the JSON rows: $(head -3 "$dir/f2")"
# A case the peer refuses goes on without it, with the reason shown.
LRNCL_FAKE_PEER_REFUSE=nhwc LRNCL_CUDNN_PEER=$fake "$bench" --case alexnet-norm2 --runs 2 --layout nhwc > "$dir/f3" 2> "$dir/fe3" ||
  fail "a refused case stopped the bench: $(tail -5 "$dir/fe3")"
grep -q '^alexnet-norm2 *cuDNN did not run: forward float32: CUDNN_STATUS_NOT_SUPPORTED' "$dir/f3" ||
  fail "the refusal is not in the cuDNN table: $(cat "$dir/f3")"
grep -q '^alexnet-norm2 .*fwd-infer .* ok$' "$dir/f3" || fail "no lrncl row after the refusal"
# Wrong outputs from the peer fail the bench's check, as any contender's would.
set +e
LRNCL_FAKE_PEER_WRONG=1 LRNCL_CUDNN_PEER=$fake "$bench" --case alexnet-norm2 --runs 2 > "$dir/f4" 2> "$dir/fe4"
[ $? = 1 ] || fail "wrong cuDNN outputs did not fail the bench"
grep -q 'check FAILED: cuDNN y' "$dir/fe4" || fail "no failed check named for cuDNN: $(grep -i fail "$dir/fe4")"

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
