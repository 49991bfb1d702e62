#!/usr/bin/env bash
# Shows that a refactoring changed no behaviour: runs two certwatch binaries on the same
# inputs and compares what users see.
#   1. `check --json` over bench/check_throughput's corpus (N chain files): byte-identical;
#   2. the demo (scripts/demo.sh's PKI and config): /metrics and /api/v1/certificates of one
#      agent run per binary, identical apart from timestamps and seconds left;
#   3. every --help text (every command and `pki` sub-command): identical.
#
#   bench/compare_builds.sh OLD_BIN NEW_BIN [FILES] [CORPUS_TOOL]
#
# CORPUS_TOOL is a check_throughput binary (default build/bench/check_throughput). Exit 0
# when everything matches; the differences are printed otherwise. Uses 127.0.0.1 ports
# 19893/19894; leaves nothing running.
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2") files=${3:-10000}
tool=$(realpath "${4:-build/bench/check_throughput}")
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
status=0
same() {  # same LABEL FILE_A FILE_B
  if cmp -s "$2" "$3"; then echo "same: $1"; else echo "DIFFERENT: $1"; diff "$2" "$3" | head -20; status=1; fi
}

# 1. check --json on the corpus
"$tool" --files "$files" --dir "$work/corpus" --keep >/dev/null
for b in old new; do
  bin=$old; [ $b = new ] && bin=$new
  "$bin" check --json --ca-bundle "$work/corpus/trust.pem" "$work/corpus/chains" >"$work/check.$b.json" || true
done
same "check --json on $files chain files ($(wc -c <"$work/check.new.json") bytes)" "$work/check.old.json" "$work/check.new.json"

# 2. the demo: one PKI (made by the old binary, as scripts/demo.sh makes it), two agent runs
demo="$work/demo"
mkdir -p "$demo/certs/broker" "$demo/certs/devices"
past=(faketime -f "-10d")
"${past[@]}" "$old" pki init --dir "$demo/pki" --subject "/O=certwatch demo/CN=Demo Root CA" >/dev/null
"${past[@]}" "$old" pki ca --dir "$demo/pki" --name server-ca --subject "/O=certwatch demo/CN=Demo MQTT Server CA" >/dev/null
"${past[@]}" "$old" pki ca --dir "$demo/pki" --name device-ca --subject "/O=certwatch demo/CN=Demo Device CA" >/dev/null
"$old" pki issue --dir "$demo/pki" --ca server-ca --profile server --name mqtt --subject "/O=certwatch demo/CN=mqtt.demo.local" \
  --san DNS:mqtt.demo.local --san IP:127.0.0.1 --validity 90d --out "$demo/certs/broker" >/dev/null
"$old" pki issue --dir "$demo/pki" --ca device-ca --profile client --name sensor-1 --subject "/O=certwatch demo/CN=sensor-1.demo.local" \
  --san DNS:sensor-1.demo.local --validity 365d --out "$demo/certs/devices" >/dev/null
"${past[@]}" "$old" pki issue --dir "$demo/pki" --ca device-ca --profile client --name sensor-2 \
  --subject "/O=certwatch demo/CN=sensor-2.demo.local" --san DNS:sensor-2.demo.local --validity 11d --out "$demo/certs/devices" >/dev/null
cat "$demo/pki/server-ca/certs/server-ca.cert.pem" "$demo/certs/broker/mqtt.cert.pem" >"$demo/certs/broker/wrong-order.pem"
port=19893
for b in old new; do
  bin=$old; [ $b = new ] && bin=$new
  cat >"$demo/certwatch.$b.yaml" <<YAML
agent: {state_dir: state, rescan_interval: 10m, debounce: 200ms}
http: {listen: "127.0.0.1:$port"}
trust: [pki/ca-bundle.pem]
watch:
  - {path: certs/broker, host: mqtt.demo.local, purpose: server, exclude: ["*.cert.pem"]}
  - {path: certs/devices, purpose: client, trust: [pki/ca-bundle.pem, pki/device-ca/certs/device-ca.cert.pem]}
YAML
  "$bin" agent -c "$demo/certwatch.$b.yaml" 2>"$work/agent.$b.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  # Timestamps and seconds left move with the clock; everything else must not.
  curl -sf "http://127.0.0.1:$port/metrics" |
    grep -v -e '^certwatch_scan_duration_seconds' -e '^certwatch_last_scan_timestamp' \
      -e '^certwatch_config_last_reload_success_timestamp' >"$work/metrics.$b"
  curl -sf "http://127.0.0.1:$port/api/v1/certificates" |
    sed -E 's/"generated_at":[0-9]+/"generated_at":T/; s/"seconds_left":-?[0-9]+/"seconds_left":S/g' >"$work/api.$b"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
done
same "demo /metrics ($(grep -c '^certwatch_' "$work/metrics.new") series)" "$work/metrics.old" "$work/metrics.new"
same "demo /api/v1/certificates" "$work/api.old" "$work/api.new"

# 3. --help texts
helps=("--help" "agent --help" "check --help" "probe --help" "renew --help" "config --help" "config check --help" "pki --help")
for s in init ca issue import bundle list revoke crl; do helps+=("pki $s --help"); done
for h in "${helps[@]}"; do
  # shellcheck disable=SC2086
  "$old" $h >"$work/help.old" 2>&1 || true
  # shellcheck disable=SC2086
  "$new" $h >"$work/help.new" 2>&1 || true
  same "certwatch $h" "$work/help.old" "$work/help.new"
done
exit $status
