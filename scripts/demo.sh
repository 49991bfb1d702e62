#!/usr/bin/env bash
# certwatch demo: installs what is missing, builds, makes a small PKI under demo/ with
# `certwatch pki`, starts a Mosquitto broker serving the demo's chain on 127.0.0.1:18883
# (TLS, client certificates required; CERTWATCH_DEMO_MQTT_PORT overrides), writes
# demo/certwatch.yaml and runs the agent in the foreground on 127.0.0.1:9793
# (CERTWATCH_DEMO_PORT overrides): it watches the files and probes the broker. Idempotent: an
# existing demo/ is reused. Ctrl-C stops the agent and the broker. Try, in another terminal:
#   curl -s 127.0.0.1:9793/metrics | grep ^certwatch_cert_not_after
#   curl -s 127.0.0.1:9793/api/v1/certificates
#   open http://127.0.0.1:9793/ in a browser
#   touch/replace/delete files under demo/certs and watch /metrics follow
# A second broker on the next port serves a managed certificate of 5 minutes that the agent
# renews (issue #11): watch certwatch_renewal_* and the served serial change.
# For tests (tests/integration/demo_status_test.cpp): CERTWATCH_DEMO_DIR writes the demo there
# instead of demo/, and CERTWATCH_BIN runs that binary, skipping setup and build.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${CERTWATCH_DEMO_PORT:-9793}"
mqtt_port="${CERTWATCH_DEMO_MQTT_PORT:-18883}"
renew_port=$((mqtt_port + 1))
if [ -n "${CERTWATCH_BIN:-}" ]; then
  bin="$(realpath "$CERTWATCH_BIN")"
else
  bash scripts/setup.sh
  build="${CERTWATCH_BUILD_DIR:-build}"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$(nproc)" --target certwatch >/dev/null
  bin="$PWD/$build/agent/certwatch"
fi

demo="$(realpath -m "${CERTWATCH_DEMO_DIR:-$PWD/demo}")"
pki="$demo/pki"
broker="$demo/certs/broker"
devices="$demo/certs/devices"
mkdir -p "$broker" "$devices"

# The CAs are made "ten days ago" (with faketime, when installed) so that one device
# certificate can be shown close to its end.
past=()
command -v faketime >/dev/null && past=(faketime -f "-10d")
if [ ! -f "$pki/ca-bundle.pem" ]; then
  echo "demo: creating the PKI in $pki" >&2
  "${past[@]}" "$bin" pki init --dir "$pki" --subject "/O=certwatch demo/CN=Demo Root CA" >/dev/null
  "${past[@]}" "$bin" pki ca --dir "$pki" --name server-ca --subject "/O=certwatch demo/CN=Demo MQTT Server CA" >/dev/null
  "${past[@]}" "$bin" pki ca --dir "$pki" --name device-ca --subject "/O=certwatch demo/CN=Demo Device CA" >/dev/null
fi
issue() {  # issue CA PROFILE NAME CN OUT [extra args...]
  local ca=$1 profile=$2 name=$3 cn=$4 out=$5
  shift 5
  [ -f "$out/$name.cert.pem" ] && return 0
  "$bin" pki issue --dir "$pki" --ca "$ca" --profile "$profile" --name "$name" \
    --subject "/O=certwatch demo/CN=$cn" --san "DNS:$cn" --out "$out" "$@" >/dev/null
}
# The broker: a good chain file (leaf, server CA), as Mosquitto's certfile wants it.
issue server-ca server mqtt mqtt.demo.local "$broker" --san IP:127.0.0.1 --validity 90d
# Two devices: one fine, one issued ten days ago for eleven days (cert.expires_soon).
issue device-ca client sensor-1 sensor-1.demo.local "$devices" --validity 365d
if [ ! -f "$devices/sensor-2.cert.pem" ]; then
  "${past[@]}" "$bin" pki issue --dir "$pki" --ca device-ca --profile client --name sensor-2 \
    --subject "/O=certwatch demo/CN=sensor-2.demo.local" --san DNS:sensor-2.demo.local \
    --validity 11d --out "$devices" >/dev/null
fi
# The agent's own client certificate for probing the broker (it requires one), kept outside
# the watched directories.
issue device-ca client probe certwatch-probe.demo.local "$demo/probe" --validity 365d
# A classic mistake: the chain written CA first (Mosquitto then blames the key).
[ -f "$broker/wrong-order.pem" ] ||
  cat "$pki/server-ca/certs/server-ca.cert.pem" "$broker/mqtt.cert.pem" >"$broker/wrong-order.pem"

cat >"$demo/certwatch.yaml" <<YAML
# Written by scripts/demo.sh. Relative paths are relative to this file.
agent:
  state_dir: state
  rescan_interval: 10m
  debounce: 200ms
http:
  listen: "127.0.0.1:$port"
trust:
  - pki/ca-bundle.pem
watch:
  - path: certs/broker
    host: mqtt.demo.local
    purpose: server
    exclude: ["*.cert.pem"]     # the leaf alone; Mosquitto serves mqtt.chain.pem
  - path: certs/devices
    purpose: client
    # Devices keep only their leaf: their CA is trusted here as an intermediate.
    trust: [pki/ca-bundle.pem, pki/device-ca/certs/device-ca.cert.pem]
endpoints:
  # The broker below: the chain it serves is judged like the files, its CONNACK proves it
  # takes our client certificate, and expect_file catches a renewal it was not told about.
  - target: "127.0.0.1:$mqtt_port"
    sni: mqtt.demo.local
    protocol: mqtt
    interval: 15s
    timeout: 5s
    client_cert: probe/probe.cert.pem
    client_key: probe/probe.key.pem
    expect_file: certs/broker/mqtt.chain.pem
  # The renewal loop (issue #11): a second broker whose server certificate lives 5 minutes
  # and is renewed by the agent about every 3 minutes (SIGHUP through its pid file, the new
  # serial proven by a handshake before the renewal counts).
  - target: "127.0.0.1:$renew_port"
    interval: 30s
    expect_file: managed/broker.chain.pem
issuers:
  - {name: server-ca, pki_dir: pki}
managed:
  - name: demo-broker
    issuer: server-ca
    subject: /O=certwatch demo/CN=mqtt.demo.local
    sans: [DNS:mqtt.demo.local, IP:127.0.0.1]
    validity: 5m
    cert: managed/broker.cert.pem
    key: managed/broker.key.pem
    chain: managed/broker.chain.pem
    reload: {signal: HUP, pid_file: managed/mosquitto.pid}
    verify_endpoint: "127.0.0.1:$renew_port"
YAML

# Bootstrap the managed certificate before its broker's first start (no pid file yet:
# nothing to reload), then that broker on the deployed files.
managed="$demo/managed"
mkdir -p "$managed"
rm -f "$managed/mosquitto.pid"
"$bin" renew -c "$demo/certwatch.yaml" demo-broker >/dev/null
cat >"$managed/mosquitto.conf" <<CONF
# Written by scripts/demo.sh.
user $(id -un)
persistence false
pid_file $managed/mosquitto.pid
log_dest file $managed/mosquitto.log
listener $renew_port 127.0.0.1
allow_anonymous true
certfile $managed/broker.chain.pem
keyfile $managed/broker.key.pem
CONF
mosquitto -c "$managed/mosquitto.conf" &
renew_broker_pid=$!

# The broker, as Mosquitto runs on a broker host: the chain and key from certs/broker, client
# certificates from the device CA required. It runs as the current user (its key is 0600).
cat "$pki/ca-bundle.pem" "$pki/device-ca/certs/device-ca.cert.pem" >"$demo/mosquitto-clients-ca.pem"
cat >"$demo/mosquitto.conf" <<CONF
# Written by scripts/demo.sh.
user $(id -un)
persistence false
log_dest file $demo/mosquitto.log
listener $mqtt_port 127.0.0.1
require_certificate true
use_identity_as_username true
cafile $demo/mosquitto-clients-ca.pem
certfile $broker/mqtt.chain.pem
keyfile $broker/mqtt.key.pem
CONF
mosquitto -c "$demo/mosquitto.conf" &
mosquitto_pid=$!
echo "$mosquitto_pid" >"$demo/mosquitto.pid"
trap 'kill "$mosquitto_pid" "$renew_broker_pid" 2>/dev/null || true; rm -f "$demo/mosquitto.pid"' EXIT

cat >&2 <<TEXT

certwatch demo: watching $demo/certs and probing mosquitto on 127.0.0.1:$mqtt_port (config $demo/certwatch.yaml)
  metrics:      curl -s http://127.0.0.1:$port/metrics | grep '^certwatch_'
  time left:    curl -s http://127.0.0.1:$port/metrics | grep ^certwatch_cert_not_after
  inventory:    curl -s http://127.0.0.1:$port/api/v1/certificates
  status page:  http://127.0.0.1:$port/
  health:       curl -s http://127.0.0.1:$port/healthz
  reload:       kill -HUP <pid>   (edit $demo/certwatch.yaml first)
  probes:       curl -s http://127.0.0.1:$port/metrics | grep ^certwatch_probe
  renewals:     curl -s http://127.0.0.1:$port/metrics | grep ^certwatch_renewal
                curl -s http://127.0.0.1:$port/api/v1/renewals
  renew now:    $bin renew -c $demo/certwatch.yaml demo-broker --force
Change files under $demo/certs and /metrics follows within a second. Renew the broker's
certificate without telling mosquitto and the next probe raises endpoint.stale; then
  kill -HUP \$(cat $demo/mosquitto.pid)
and the next probe clears it (see README, "The demo"). Ctrl-C stops.

TEXT
# Not exec: the trap stops the broker when the agent ends.
"$bin" agent -c "$demo/certwatch.yaml"
