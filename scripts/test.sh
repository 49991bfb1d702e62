#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the normal build, then the same
# tests under AddressSanitizer + UndefinedBehaviorSanitizer, then the fuzz target for a
# bounded time. Idempotent; build trees live in build/ and build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTWATCH_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCERTWATCH_SANITIZE=ON -DCERTWATCH_WERROR=ON \
      -DCERTWATCH_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

bash scripts/fuzz.sh 90
