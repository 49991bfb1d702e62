#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the normal build, then the same
# tests under AddressSanitizer + UndefinedBehaviorSanitizer, then the fuzz targets for a
# bounded time. Idempotent; build trees live in build/, build-asan/ and build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
# Most integration tests wait on real programs (brokers, Prometheus, renewals) rather than
# compute, so ctest runs twice as many as there are cores; every wait in them is bounded.
test_jobs=$((jobs * 2))

# -O2 without debug info: -g costs a third of the compile time of the Beast/asio sources, and
# the stack traces worth having come from the sanitizer tree (line tables, -g1). The tests of
# both trees compile in unity batches (CERTWATCH_UNITY, CMakeLists.txt).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
      -DCERTWATCH_WERROR=ON -DCERTWATCH_UNITY=ON >/dev/null
cmake --build build -j "$jobs"

# The sanitizer tree and then the fuzz targets build in the background while the normal tests
# run (those mostly wait), and the fuzz targets while the sanitizer tests run. Build output goes
# to a log that is printed when a build fails.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DCERTWATCH_SANITIZE=ON -DCERTWATCH_WERROR=ON \
      -DCERTWATCH_BENCH=OFF -DCERTWATCH_UNITY=ON >/dev/null
mkdir -p build-asan/ci
rm -f build-asan/ci/*.rc
# The agent an upgrade starts from (tests/integration/alerts_upgrade_test.cpp): built from this
# checkout's history in the background too, and its test run last.
old_agent=7fba276
# Its own session (setsid), so that the trap below can stop the builds with their compilers.
setsid -w bash -c '
  rc=0; cmake --build build-asan -j "$1" >build-asan/ci/asan-build.log 2>&1 || rc=$?
  echo "$rc" >build-asan/ci/asan-build.rc
  rc=0; bash scripts/fuzz.sh --build >build-asan/ci/fuzz-build.log 2>&1 || rc=$?
  echo "$rc" >build-asan/ci/fuzz-build.rc
  rc=0; bash scripts/build_old_agent.sh "$2" "build/old-agent/$2" >build-asan/ci/old-agent-build.log 2>&1 || rc=$?
  echo "$rc" >build-asan/ci/old-agent-build.rc
' background-builds "$jobs" "$old_agent" &
background=$!
# Stops the background builds if this script ends early (a failing test).
trap 'kill -- "-$background" 2>/dev/null || true' EXIT

# waits for a background step, prints its log when it failed
await() {
  local step=$1 rc
  while [ ! -f "build-asan/ci/$step.rc" ]; do
    if ! kill -0 "$background" 2>/dev/null; then
      [ -f "build-asan/ci/$step.rc" ] && break
      echo "background builds ended before $step"
      exit 1
    fi
    sleep 1
  done
  rc=$(cat "build-asan/ci/$step.rc")
  if [ "$rc" != 0 ]; then
    tail -n 80 "build-asan/ci/$step.log"
    echo "$step failed (exit $rc)"
    exit 1
  fi
  echo "$step: done"
}

ctest --test-dir build --output-on-failure -j "$test_jobs" -LE upgrade

await asan-build
# The sanitizer tests (ASan+UBSan at -O0) share the cores with the fuzz build: one more than
# there are cores, since a third of their time is waiting on brokers and timers (on two cores:
# 311 s at -j2, 247 s at -j4, with the fuzz build beside them; that build then takes as long as
# they do, so more would not end the step sooner). The Debian package test ran above: building
# a .deb of the sanitizer tree would check nothing more; nor would the format test, which reads
# only sources.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$((jobs + 1))" -LE 'package|format|upgrade'

await fuzz-build
wait "$background"
bash scripts/fuzz.sh 90

await old-agent-build
ctest --test-dir build --output-on-failure -L upgrade
