#!/usr/bin/env bash
# Runs the full client-family differential matrix (tests/integration/clients_test.cpp with
# CERTWATCH_CLIENT_MATRIX=full): every chain served by openssl s_server on 127.0.0.1 and
# judged by openssl s_client, gnutls-cli, a Go client and the mbedTLS 2.28 client, each
# outcome compared with `certwatch check --clients`' prediction. Prints one line per verdict
# and the tally (cases, agreements, disagreements) recorded in bench/RESULTS.md.
# Usage: bash scripts/client_matrix.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bash scripts/setup.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j 2 --target certwatch integration_tests mbedtls_client
CERTWATCH_CLIENT_MATRIX=full "$build/tests/integration_tests" "client-family predictions equal the real clients' outcomes" -s \
  | grep -E '^(agree|DISAGREE|    real output|client matrix)'
