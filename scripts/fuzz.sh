#!/usr/bin/env bash
# Builds the libFuzzer target (clang, -fsanitize=fuzzer,address,undefined) and runs it for a
# bounded time on a seed corpus of certificates generated here. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bash scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCERTWATCH_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target load_fuzz

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
(
  cd "$corpus"
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
mkdir -p build-fuzz/artifacts
./build-fuzz/tests/fuzz/load_fuzz -max_total_time="$seconds" -max_len=16384 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ "$corpus" \
  2>&1 | tail -n 15
echo "fuzz: load_fuzz ran ${seconds}s with no crash"
