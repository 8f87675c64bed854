#!/usr/bin/env bash
# Installs packages, builds with warnings as errors and runs every test suite on the default
# OpenCL device (PoCL on a machine without a GPU). This is the README's test command.
#
# The suites that do not test caching share one PoCL kernel cache: POCL_CACHE_DIR when it is set
# (a folder kept from run to run, or shared by several build trees, is warm: PoCL then loads each
# program instead of compiling it), else build/pocl-cache. CTest runs one entry per CPU at once.
set -euo pipefail
cd "$(dirname "$0")/.."
# PoCL shows zero devices when its kernel cache is not writable: give it one.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/build/pocl-cache}"
mkdir -p "$POCL_CACHE_DIR"
bash ci/build.sh
cmake -S . -B build -DLRNCL_TEST_POCL_CACHE="$POCL_CACHE_DIR" > /dev/null
echo "OpenCL devices:"; build/tools/lrncl devices
cd build
ctest --output-on-failure --timeout 1200 -j"$(nproc)"
