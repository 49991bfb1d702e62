#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and runs each for
# its share of a bounded total time on seed corpora made here: certificates from openssl, and
# the hostile cases of issue 15 from fuzz_seeds. Every run has a per-input -timeout, so an
# input that makes a target slow is a failure like a crash. Usage: scripts/fuzz.sh [SECONDS]
# (total, default 90: load 30%, chain 25%, config 20%, http 25%), or scripts/fuzz.sh --build
# to build the targets and stop (scripts/test.sh builds them while other tests run).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-90}
bash scripts/setup.sh
# Line tables only: crash reports keep file:line, the build skips full debug info.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" -DCERTWATCH_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target load_fuzz chain_fuzz config_fuzz http_fuzz fuzz_seeds
[ "$seconds" != "--build" ] || exit 0

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
./build-fuzz/tests/fuzz/fuzz_seeds "$corpus"
(
  cd "$corpus/load"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -subj /CN=FuzzRoot -days 30 -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
    -subj /CN=mqtt.lab.local -out leaf.csr 2>/dev/null
  printf 'subjectAltName=DNS:mqtt.lab.local\nextendedKeyUsage=serverAuth\n' > ext.cnf
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 \
    -extfile ext.cnf -out leaf.pem 2>/dev/null
  cat leaf.pem ca.pem > chain.pem
  cat ca.pem leaf.pem > reversed.pem
  openssl x509 -in leaf.pem -outform DER -out leaf.der
  openssl crl2pkcs7 -nocrl -certfile chain.pem -out chain.p7b 2>/dev/null
  openssl crl2pkcs7 -nocrl -certfile chain.pem -outform DER -out chain.p7b.der 2>/dev/null
  rm -f ca.srl leaf.csr ext.cnf
)
cp config/examples/*.yaml "$corpus/config/"
mkdir -p build-fuzz/artifacts

# run TARGET SHARE_PERCENT MAX_LEN TIMEOUT_SECONDS
run() {
  local target=$1 share=$2 max_len=$3 timeout=$4
  local t=$(( seconds * share / 100 ))
  [ "$t" -ge 1 ] || t=1
  echo "fuzz: $target for ${t}s (-timeout=${timeout})"
  "./build-fuzz/tests/fuzz/$target" -max_total_time="$t" -max_len="$max_len" -timeout="$timeout" \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target-" \
    "$corpus/${target%_fuzz}" 2>&1 | tail -n 6
}
# Each target is one process on one core: they run side by side, as many at a time as there
# are cores (CI has 2), so each keeps its share of the fuzzing time and the wall time shrinks.
# A target's output is shown when it ends; any failure fails the script after all have run.
pending=()
failed=0
finish() {
  local entry
  for entry in "${pending[@]}"; do
    wait "${entry%%:*}" || { echo "fuzz: ${entry#*:} FAILED"; failed=1; }
    cat "build-fuzz/artifacts/${entry#*:}.log"
  done
  pending=()
}
start() {
  run "$@" >"build-fuzz/artifacts/$1.log" 2>&1 &
  pending+=("$!:$1")
  [ "${#pending[@]}" -lt "$(nproc)" ] || finish
}
start load_fuzz 30 16384 10
start http_fuzz 25 16384 5
start chain_fuzz 25 4096 5   # up to 4095 certificates per input: past every bound
start config_fuzz 20 65536 5
finish
[ "$failed" -eq 0 ] || exit 1
echo "fuzz: every target ran its share of ${seconds}s with no crash and no slow input"
