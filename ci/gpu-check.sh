#!/usr/bin/env bash
# One check for a machine with a GPU (and for any other): builds lrncl with warnings as errors,
# runs the whole test suite, runs lrncl-bench in float32, float16 and NHWC with every peer this
# machine has (oneDNN on the CPU; cuDNN on an NVIDIA GPU, through the peer module built where
# CUDA and cuDNN are found), and writes one JSON report. It runs to completion without a GPU
# too: the report then says why the cuDNN peer is unavailable.
#
#   ci/gpu-check.sh [REPORT]        REPORT: the JSON file to write (default gpu-check.json)
#
# Environment: BUILD_DIR (default build), RUNS (bench runs per median, default 20),
# LRNCL_DEVICE=P:D (the OpenCL device, as `lrncl devices` numbers them; default the first),
# SKIP_TESTS=1 (bench only, for a second look). Exit status: 0 when the build, every test and
# every bench check passed; 1 otherwise (the report is written either way).
set -uo pipefail
cd "$(dirname "$0")/.."
REPORT="${1:-gpu-check.json}"
BUILD_DIR="${BUILD_DIR:-build}"
RUNS="${RUNS:-20}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$PWD/$BUILD_DIR" ;; esac
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$BUILD_DIR/pocl-cache}"
export POCL_SIGFPE_HANDLER="${POCL_SIGFPE_HANDLER:-0}"
# lrncl's own disk cache off unless asked for: nothing written under $HOME, as in the suites.
export LRNCL_CACHE_DIR="${LRNCL_CACHE_DIR:-off}"
mkdir -p "$POCL_CACHE_DIR"
status=0

# JSON string from stdin (escapes backslashes, quotes and control characters).
json_str() {
    local s
    s="$(cat)"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    s="${s//$'\t'/\\t}"
    s="${s//$'\r'/}"
    s="${s//$'\n'/\\n}"
    printf '"%s"' "$s"
}

started="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "gpu-check: building into $BUILD_DIR" >&2
build_rc=0
{ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLRNCL_WERROR=ON &&
  cmake --build "$BUILD_DIR" -j"$(nproc)"; } >"$WORK/build.log" 2>&1 || build_rc=$?
[ "$build_rc" -eq 0 ] || { status=1; echo "gpu-check: build FAILED (see the report)" >&2; }
peer_module="$(ls "$BUILD_DIR"/peers/liblrncl_cudnn_peer.so 2>/dev/null || true)"

devices="$("$BUILD_DIR"/tools/lrncl devices 2>&1 || true)"
if command -v nvidia-smi >/dev/null 2>&1; then
    gpu="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
else
    gpu="nvidia-smi: not found (no NVIDIA driver here)"
fi

tests_rc=null tests_summary="not run"
if [ "$build_rc" -eq 0 ] && [ "${SKIP_TESTS:-0}" != 1 ]; then
    echo "gpu-check: running the whole test suite" >&2
    (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 1800) >"$WORK/ctest.log" 2>&1
    tests_rc=$?
    tests_summary="$(grep -E 'tests passed|tests failed' "$WORK/ctest.log" | tail -1)"
    [ "$tests_rc" -eq 0 ] || { status=1; echo "gpu-check: tests FAILED: $tests_summary" >&2; }
fi

# lrncl-bench in each configuration; each writes a JSON array (or nothing, when it failed early).
bench_json() {
    local name="$1"; shift
    local rc=0
    if [ -x "$BUILD_DIR/tools/lrncl-bench" ]; then
        echo "gpu-check: lrncl-bench --json --runs $RUNS $*" >&2
        "$BUILD_DIR/tools/lrncl-bench" --json --runs "$RUNS" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" || rc=$?
    else
        echo "lrncl-bench was not built (oneDNN, libdnnl-dev, not found)" >"$WORK/$name.err"
        rc=127
    fi
    [ "$rc" -eq 0 ] || status=1
    echo "$rc" >"$WORK/$name.rc"
}
if [ "$build_rc" -eq 0 ]; then
    bench_json f32
    bench_json f16 --dtype f16
    bench_json nhwc --layout nhwc
fi

bench_entry() {
    local name="$1" rc out
    rc="$(cat "$WORK/$name.rc" 2>/dev/null || echo null)"
    out="$(cat "$WORK/$name.json" 2>/dev/null)"
    printf '"%s": {"exit_status": %s, "rows": %s, "stderr_tail": %s}' "$name" "$rc" "${out:-null}" \
        "$(tail -n 20 "$WORK/$name.err" 2>/dev/null | json_str)"
}
cudnn_peer="$(grep -o '"cudnn_peer": "[^"]*"' "$WORK/f32.json" 2>/dev/null | head -1 | sed 's/^"cudnn_peer": //')"

{
    printf '{\n'
    printf '  "started": "%s", "finished": "%s",\n' "$started" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    printf '  "commit": %s,\n' "$(git rev-parse --short HEAD 2>/dev/null | json_str)"
    printf '  "host": %s, "load": %s,\n' "$(uname -srm | json_str)" "$(uptime | json_str)"
    printf '  "nvidia_smi": %s,\n' "$(printf '%s' "$gpu" | json_str)"
    printf '  "opencl_devices": %s,\n' "$(printf '%s' "$devices" | json_str)"
    printf '  "build": {"exit_status": %s, "cudnn_peer_module": %s, "log_tail": %s},\n' "$build_rc" \
        "$(printf '%s' "${peer_module:-not built}" | json_str)" "$(tail -n 30 "$WORK/build.log" | json_str)"
    printf '  "cudnn_peer": %s,\n' "${cudnn_peer:-\"unknown (the bench did not run)\"}"
    printf '  "tests": {"exit_status": %s, "summary": %s, "failures": %s},\n' "$tests_rc" \
        "$(printf '%s' "$tests_summary" | json_str)" \
        "$(grep -E '\*\*\*Failed|\*\*\*Timeout|Not Run' "$WORK/ctest.log" 2>/dev/null | json_str)"
    printf '  "bench": {\n    %s,\n    %s,\n    %s\n  },\n' "$(bench_entry f32)" "$(bench_entry f16)" "$(bench_entry nhwc)"
    printf '  "status": "%s"\n}\n' "$([ "$status" -eq 0 ] && echo ok || echo FAILED)"
} >"$REPORT"
echo "gpu-check: report in $REPORT ($([ "$status" -eq 0 ] && echo ok || echo FAILED))" >&2
exit "$status"
