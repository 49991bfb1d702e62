#!/usr/bin/env bash
# Installs what certwatch needs to build and test on Debian 12 (idempotent). Uses sudo only
# when not root. Prints nothing when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev openssl libboost-dev libboost-program-options-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev catch2 libyaml-cpp-dev libspdlog-dev libfmt-dev
  libsystemd-dev libsqlite3-dev zlib1g-dev
  nlohmann-json3-dev  # the ACME client's JSON (agent/acme/)
  libp11-dev  # CA keys in PKCS#11 tokens (pki/sign/)
  libidn2-dev  # internationalised host names to A-labels (base/idna)
  # tests
  mosquitto mosquitto-clients prometheus faketime nginx-light systemd curl procps
  bsdutils  # script(1): the colour test runs check on a pseudo-terminal
  sqlite3   # the ledger migration test writes a version 1 ledger
  # the client-family differential test: real clients against openssl s_server
  gnutls-bin golang-go libmbedtls-dev
  clang-format  # the format test: product files match .clang-format (Debian 12: version 14)
  lintian   # the Debian package test: no error-severity findings
  chromium  # the status page test renders / in headless Chromium
  python3   # JSON oracle: the API must stay valid UTF-8 JSON for any file name
  # real STARTTLS servers for the probe on loopback ports: FTP AUTH TLS, nginx's mail proxy
  vsftpd libnginx-mod-mail
  # the baseline of bench/probe_throughput (built with the tests, run by hand)
  prometheus-blackbox-exporter
  # the ACME client's tests: pebble (RFC 8555 test server) and pebble-challtestsrv
  pebble
  # PKCS#11 tests: a software token (SoftHSM2) and pkcs11-tool (opensc) to make EC keys in it
  softhsm2 opensc
  # the fuzz target and sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Services from these packages (mosquitto, nginx, prometheus, blackbox, vsftpd) must not keep running: the
# tests start their own on free loopback ports.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for svc in mosquitto nginx prometheus prometheus-node-exporter prometheus-blackbox-exporter vsftpd; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
