#!/usr/bin/env bash
# Installs the Debian packages lrncl builds and tests with. Idempotent: installs only what is
# missing, and runs apt-get update only then. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3                   # python3: ci/host-layers.py (CTest host_layers)
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo   # OpenCL: ICD loader, headers, CPU device
  libclblast-dev                                             # CLBlast
  libcriterion-dev                                           # test framework
  zlib1g-dev                                                 # crc32 of the program cache's entries
  libdnnl-dev                                                # oneDNN: the CPU peer of lrncl bench
  clang libclang-rt-14-dev                                   # ci/sanitize.sh, ci/fuzz.sh: ASan, UBSan, libFuzzer
  libopencv-dev                                              # examples/opencv: the OpenCV DNN layer and its test
  oclgrind python3-venv                                      # ci/portability.sh: Oclgrind; venvs for Intel's runtimes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "install-deps: all packages present"; exit 0; }

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
