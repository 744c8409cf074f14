#!/usr/bin/env bash
# `make run`: start the example gateway with its embedded defaults:
#   MQTT over TCP        127.0.0.1:1883
#   MQTT over WebSocket  127.0.0.1:8080 (any path; /mqtt documented), with GET /metrics and /
# Extra arguments are passed to mqws-gateway (see `mqws-gateway --help`). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
shift || true
gw="$build/examples/gateway/mqws-gateway"
[ -x "$gw" ] || { echo "run: $gw was not built" >&2; exit 1; }
echo "mqws-gateway: MQTT on 127.0.0.1:1883, MQTT over WebSocket on ws://127.0.0.1:8080/mqtt,"
echo "              metrics on http://127.0.0.1:8080/metrics; Ctrl-C to stop"
exec "$gw" "$@"
