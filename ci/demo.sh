#!/usr/bin/env bash
# Installs packages, builds, and runs the main job: `lrncl demo` on the default OpenCL device.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/build.sh
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/build/pocl-cache}"
mkdir -p "$POCL_CACHE_DIR"
exec build/tools/lrncl demo
