#!/usr/bin/env bash
# Builds the agent of an earlier commit, for the upgrade test (tests/integration/
# alerts_upgrade_test.cpp): `build_old_agent.sh REV DEST` exports REV from this checkout's git
# history into DEST/src and builds only its `certwatch` binary into DEST/build (no tests, no
# benchmarks, -O0 without debug info: the quickest build that runs). Idempotent: a binary
# already built from REV is kept. Prints the binary's path.
set -euo pipefail
rev=${1:?usage: build_old_agent.sh REV DEST}
dest=${2:?usage: build_old_agent.sh REV DEST}
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$dest/build/agent/certwatch"
if [ -x "$bin" ] && [ "$(cat "$dest/rev" 2>/dev/null)" = "$rev" ]; then
  echo "$bin"
  exit 0
fi
if ! git -C "$root" cat-file -e "$rev^{commit}" 2>/dev/null; then
  echo "build_old_agent: commit $rev is not in $root's history (a shallow clone?)" >&2
  exit 1
fi
rm -rf "$dest"
mkdir -p "$dest/src"
git -C "$root" archive "$rev" | tar -x -C "$dest/src"
cmake -S "$dest/src" -B "$dest/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g0" \
  -DCERTWATCH_TESTS=OFF -DCERTWATCH_BENCH=OFF >"$dest/cmake.log" 2>&1 || { tail -n 40 "$dest/cmake.log" >&2; exit 1; }
cmake --build "$dest/build" -j "$(nproc)" --target certwatch >"$dest/build.log" 2>&1 ||
  { tail -n 40 "$dest/build.log" >&2; exit 1; }
echo "$rev" >"$dest/rev"
echo "$bin"
