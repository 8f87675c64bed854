#!/usr/bin/env bash
# Installs packages, builds with warnings as errors and runs every test suite on the default
# OpenCL device (PoCL on a machine without a GPU). This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/build.sh
# PoCL shows zero devices when its kernel cache is not writable: give it one.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/build/pocl-cache}"
mkdir -p "$POCL_CACHE_DIR"
echo "OpenCL devices:"; build/tools/lrncl devices
cd build
ctest --output-on-failure --timeout 1200
