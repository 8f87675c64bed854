#!/usr/bin/env bash
# ci/portability.sh: lrncl on three OpenCL implementations beside PoCL, and docs/portability.md.
#
#   Intel's CPU runtime   the core suites on each class of kernels (LRNCL_DEVICE_CLASS=cpu, gpu,
#                         fpga), the portability and matrix suites
#   Intel's FPGA emulator an ACCELERATOR device: the suites on the FPGA kernels it is given, the
#                         FPGA suite (those kernels against the CPU kernels, bit for bit),
#                         `lrncl demo`, and the bundle flow (tests/cli_fpga_bundle.sh: compile on
#                         it, run from the bundle alone with LRNCL_CACHE_DIR=off, bitwise the
#                         source builds)
#   Oclgrind              the matrix suite (every class of kernels over tiny cases) under
#                         `oclgrind --data-races --check-api`: any report fails
#
# The runtimes come from the package registries at pinned versions, into virtual environments
# under build/portability/ (reinstalled only when the versions change; pip's cache makes that
# quick), each registered in its own ICD folder (OCL_ICD_VENDORS) with its libraries on
# LD_LIBRARY_PATH; Oclgrind is Debian's (ci/install-deps.sh). Every run has a time limit scaled
# to its implementation; a run that times out fails. Writes docs/portability.md (implementation x
# suite x result, versions, date) and exits 1 if any run failed. Needs the build (ci/build.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=$root/build/portability
logs=$port/logs
intel_cpu_version=2026.2.0 # intel-opencl-rt and intel-cmplr-lib-rt
fpga_emu_version=2025.0.5  # intel-opencl-fpga-emu-rt; it needs intel-opencl-rt of the same version
mkdir -p "$port" "$logs"

[ -x build/tests/test_matrix ] && [ -x build/tools/lrncl ] || bash ci/build.sh || exit 1
command -v oclgrind > /dev/null || bash ci/install-deps.sh || exit 1

# venv NAME PACKAGE...: a virtual environment holding exactly these pinned packages.
venv() {
  local name=$1 dir=$port/$1
  shift
  if [ "$(cat "$dir/.packages" 2> /dev/null)" != "$*" ]; then
    echo "portability: installing $* into build/portability/$name"
    rm -rf "$dir"
    python3 -m venv "$dir" && "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" &&
      echo "$*" > "$dir/.packages" || { echo "portability: pip install failed" >&2; exit 1; }
  fi
}
venv intel-cpu "intel-opencl-rt==$intel_cpu_version" "intel-cmplr-lib-rt==$intel_cpu_version"
venv fpga-emu "intel-opencl-fpga-emu-rt==$fpga_emu_version" "intel-opencl-rt==$fpga_emu_version" \
  "intel-cmplr-lib-rt==$fpga_emu_version"
mkdir -p "$port/icd-intel-cpu" "$port/icd-fpga-emu"
echo "$port/intel-cpu/lib/libintelocl.so" > "$port/icd-intel-cpu/intel-cpu.icd"
echo "$port/fpga-emu/lib/libintelocl_emu.so" > "$port/icd-fpga-emu/intel-fpga-emu.icd"

# Each implementation: how to reach it, and how much longer than PoCL its runs may take (Intel's
# compiler builds a CPU-kernel program in 2-12 s where PoCL takes 1-1.5 s; Oclgrind simulates).
run_env() { # IMPL: the environment a program needs to see only that implementation
  case $1 in
    intel-cpu) echo "OCL_ICD_VENDORS=$port/icd-intel-cpu LD_LIBRARY_PATH=$port/intel-cpu/lib" ;;
    fpga-emu) echo "OCL_ICD_VENDORS=$port/icd-fpga-emu LD_LIBRARY_PATH=$port/fpga-emu/lib" ;;
    oclgrind) echo "" ;;
  esac
}
declare -A limit=([intel-cpu]=600 [fpga-emu]=300 [oclgrind]=600)

rows=() failed=0 t0=$SECONDS
# record IMPL WHAT CLASS RC SECONDS LOG DETAIL
record() {
  local result
  case $4 in
    0) result=pass ;;
    124 | 137) result="**timeout** (${limit[$1]} s)"; failed=1 ;;
    *) result="**FAIL** (exit $4)"; failed=1 ;;
  esac
  local detail=$7 skips
  skips=$(grep -c 'skipped:' "$6" 2> /dev/null) || skips=0
  [ "$skips" -gt 0 ] && detail="$detail; $skips skipped (each says why in the log)"
  rows+=("| $1 | $2 | $3 | $result | $detail | $5 |")
  printf 'portability: %-9s %-28s %-8s %s (%s s)\n' "$1" "$2" "$3" "$result" "$5"
}

# suite IMPL SUITE [CLASS]: build/tests/test_SUITE on IMPL (CLASS: LRNCL_DEVICE_CLASS, else
# the class lrncl chooses for the device).
suite() {
  local impl=$1 name=$2 cls=${3:-} log=$logs/$1-$2-${3:-default}.log start=$SECONDS rc
  # shellcheck disable=SC2046
  env $(run_env "$impl") LRNCL_CACHE_DIR=off LRNCL_DEVICE_CLASS="$cls" \
    timeout -k 10 "${limit[$impl]}" "build/tests/test_$name" > "$log" 2>&1
  rc=$?
  local synth
  synth=$(grep -o 'Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' "$log" | tail -1)
  [ -n "$synth" ] || synth="no summary"
  record "$impl" "$name" "${cls:-chosen}" $rc $((SECONDS - start)) "$log" "${synth//|/,}"
}

# command IMPL WHAT CMD...: a command line on IMPL.
command_run() {
  local impl=$1 what=$2 log=$logs/$1-${2// /_}.log start=$SECONDS rc
  shift 2
  # shellcheck disable=SC2046
  env $(run_env "$impl") LRNCL_CACHE_DIR=off timeout -k 10 "${limit[$impl]}" "$@" > "$log" 2>&1
  rc=$?
  record "$impl" "$what" "chosen" $rc $((SECONDS - start)) "$log" "$(tail -1 "$log" | cut -c1-80)"
}

# grind CLASS: the matrix suite's CLASS test under Oclgrind; any line Oclgrind logs fails it.
grind() {
  local cls=$1 log=$logs/oclgrind-matrix-$1.log olog=$logs/oclgrind-matrix-$1.oclgrind start=$SECONDS rc
  rm -f "$olog"
  LRNCL_CACHE_DIR=off timeout -k 10 "${limit[oclgrind]}" oclgrind --data-races --check-api --log "$olog" \
    build/tests/test_matrix --filter "matrix/${cls}_kernels" > "$log" 2>&1
  rc=$?
  local reports=0
  [ -s "$olog" ] && reports=$(grep -c . "$olog")
  if [ $rc = 0 ] && [ "$reports" != 0 ]; then
    rc=1
    { echo "Oclgrind reported:"; head -40 "$olog"; } >> "$log"
  fi
  local synth
  synth=$(grep -o 'Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' "$log" | tail -1)
  record oclgrind "matrix, --data-races --check-api" "$cls" $rc $((SECONDS - start)) "$log" \
    "${synth//|/,}; $reports lines from Oclgrind"
}

device_of() { # IMPL: the default device as lrncl lists it
  # shellcheck disable=SC2046
  if [ "$1" = oclgrind ]; then oclgrind build/tools/lrncl devices; else env $(run_env "$1") build/tools/lrncl devices; fi |
    head -1 | sed 's/^[0-9]*:[0-9]* *//; s/ *\[default\]$//'
}

echo "portability: devices"
for impl in intel-cpu fpga-emu oclgrind; do echo "  $impl: $(device_of $impl)"; done

# Intel's CPU runtime: each class of kernels. conventions builds the most programs (about 4 min
# on the CPU kernels here, where Intel's compiler takes 2-12 s a program): once, on the cpu class.
for cls in cpu gpu fpga; do
  for s in golden zero_k; do suite intel-cpu $s $cls; done
done
suite intel-cpu conventions cpu
for cls in cpu gpu; do
  for s in tuning workspace; do suite intel-cpu $s $cls; done
done
suite intel-cpu fpga
suite intel-cpu portability
suite intel-cpu matrix

# Intel's FPGA emulator: the FPGA kernels it is given, the FPGA flow.
for s in golden conventions zero_k fpga portability; do suite fpga-emu $s; done
command_run fpga-emu "lrncl demo" build/tools/lrncl demo
command_run fpga-emu "bundle flow (cli_fpga_bundle.sh)" bash tests/cli_fpga_bundle.sh build/tools/lrncl tests/golden

# Oclgrind: every class of kernels, every access checked.
for cls in cpu gpu fpga; do grind $cls; done

# docs/portability.md
{
  cat << EOF
# Portability: lrncl on four OpenCL implementations

Written by \`ci/portability.sh\` (run by \`.ci/run\`) on $(date -u +%Y-%m-%d), $(nproc) CPU(s): $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //').
PoCL, the fourth, runs every suite in \`ci/test.sh\`. What makes the bits agree everywhere, and
where they need not, is in docs/design.md ("Guarantees").

| implementation | version | device (as \`lrncl devices\` lists it) |
|---|---|---|
| Intel's CPU runtime | PyPI \`intel-opencl-rt\` and \`intel-cmplr-lib-rt\` $intel_cpu_version | $(device_of intel-cpu) |
| Intel's FPGA Emulation Platform | PyPI \`intel-opencl-fpga-emu-rt\` $fpga_emu_version (with \`intel-opencl-rt\` $fpga_emu_version) | $(device_of fpga-emu) |
| Oclgrind | Debian \`oclgrind\` $(dpkg-query -W -f='${Version}' oclgrind 2> /dev/null) | $(device_of oclgrind) |
| PoCL | Debian \`pocl-opencl-icd\` $(dpkg-query -W -f='${Version}' pocl-opencl-icd 2> /dev/null) | (ci/test.sh) |

Class: the kernels the run asked for with \`LRNCL_DEVICE_CLASS\` (cpu: 8-wide vectors; gpu: scalar
work-items; fpga: single work-item pipelines), or "chosen": those lrncl chooses for the device
(Intel's CPU runtime: cpu; the emulator, an ACCELERATOR: fpga). Suites are the Criterion suites
of \`tests/\`; a test that skips prints why in its log (\`build/portability/logs/\`). Not run here:
the \`_portable\` entries (Intel's and Oclgrind's compilers target SPIR, so every kernel there is
already the portable code), the store and command-line suites (about the program store and the
command, not the device; PoCL runs them, and they follow the class of kernels lrncl chooses), and
the random and gradcheck suites (long; golden, conventions and zero_k cover the same kernels);
on Intel's CPU runtime, conventions on the gpu and fpga classes (its many programs took 1-3
minutes to build there on the cpu class, by load; the matrix and portability suites cover those
classes' layouts and dtypes).

| implementation | suite | class | result | tests | seconds |
|---|---|---|---|---|---|
EOF
  printf '%s\n' "${rows[@]}"
  echo
  echo "Total: $((SECONDS - t0)) s."
} > docs/portability.md
echo "portability: docs/portability.md written ($((SECONDS - t0)) s)"
[ $failed = 0 ] || { echo "portability: FAILED (logs in build/portability/logs)" >&2; exit 1; }
echo "portability: ok"
