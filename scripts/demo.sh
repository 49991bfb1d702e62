#!/usr/bin/env bash
# certwatch demo: installs what is missing, builds, makes a small PKI under demo/ with
# `certwatch pki`, writes demo/certwatch.yaml and runs the agent in the foreground on
# 127.0.0.1:9793 (CERTWATCH_DEMO_PORT overrides). Idempotent: an existing demo/ is reused.
# Ctrl-C stops the agent. Try, in another terminal:
#   curl -s 127.0.0.1:9793/metrics | grep ^certwatch_cert_not_after
#   curl -s 127.0.0.1:9793/api/v1/certificates
#   open http://127.0.0.1:9793/ in a browser
#   touch/replace/delete files under demo/certs and watch /metrics follow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

port="${CERTWATCH_DEMO_PORT:-9793}"
build="${CERTWATCH_BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target certwatch >/dev/null
bin="$PWD/$build/agent/certwatch"

demo="$PWD/demo"
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
YAML

# The renewal loop (issue #11), when mosquitto is installed: a local broker whose server
# certificate lives 5 minutes and is renewed by the agent about every 3 minutes (SIGHUP
# through the broker's pid file, the new serial proven by a handshake before it counts).
mqtt_port="${CERTWATCH_DEMO_MQTT_PORT:-18883}"
renewed="$demo/renewed"
broker_pid=""
if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
  mkdir -p "$renewed"
  cat >>"$demo/certwatch.yaml" <<YAML
endpoints:
  - target: "127.0.0.1:$mqtt_port"
    interval: 30s
    expect_file: renewed/broker.chain.pem
issuers:
  - {name: server-ca, pki_dir: pki}
managed:
  - name: demo-broker
    issuer: server-ca
    subject: /O=certwatch demo/CN=mqtt.demo.local
    sans: [DNS:mqtt.demo.local, IP:127.0.0.1]
    validity: 5m
    cert: renewed/broker.cert.pem
    key: renewed/broker.key.pem
    chain: renewed/broker.chain.pem
    reload: {signal: HUP, pid_file: renewed/mosquitto.pid}
    verify_endpoint: "127.0.0.1:$mqtt_port"
YAML
  # Bootstrap before the broker's first start (no pid file yet: nothing to reload).
  "$bin" renew -c "$demo/certwatch.yaml" demo-broker >/dev/null
  cat >"$renewed/mosquitto.conf" <<CONF
user $(id -un)
persistence false
pid_file $renewed/mosquitto.pid
log_dest file $renewed/mosquitto.log
listener $mqtt_port 127.0.0.1
allow_anonymous true
certfile $renewed/broker.chain.pem
keyfile $renewed/broker.key.pem
CONF
  PATH="$PATH:/usr/sbin" mosquitto -c "$renewed/mosquitto.conf" &
  broker_pid=$!
  trap '[ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null' EXIT
  cat >&2 <<TEXT

renewal: mosquitto on 127.0.0.1:$mqtt_port serves $renewed/broker.chain.pem (5 minutes)
  schedule:     curl -s http://127.0.0.1:$port/metrics | grep ^certwatch_renewal
  served:       curl -s http://127.0.0.1:$port/metrics | grep 'certwatch_cert_not_after.*endpoint'
  by hand:      $bin renew -c $demo/certwatch.yaml demo-broker --force
TEXT
fi

cat >&2 <<TEXT

certwatch demo: watching $demo/certs (config $demo/certwatch.yaml)
  metrics:      curl -s http://127.0.0.1:$port/metrics | grep '^certwatch_'
  time left:    curl -s http://127.0.0.1:$port/metrics | grep ^certwatch_cert_not_after
  inventory:    curl -s http://127.0.0.1:$port/api/v1/certificates
  status page:  http://127.0.0.1:$port/
  health:       curl -s http://127.0.0.1:$port/healthz
  reload:       kill -HUP <pid>   (edit $demo/certwatch.yaml first)
Change files under $demo/certs and /metrics follows within a second. Ctrl-C stops.

TEXT
"$bin" agent -c "$demo/certwatch.yaml"
