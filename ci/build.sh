#!/usr/bin/env bash
# Configures and builds lrncl into build/ with warnings as errors (after installing packages).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLRNCL_WERROR=ON -DLRNCL_REQUIRE_OPENCV=ON
cmake --build build -j"$(nproc)"
