#!/usr/bin/env bash
# `make run`: until the gateway lands (issue 6), decode a sample MQTT 5 capture with
# mqws-inspect and print one JSON object per packet.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
sample=tests/data/sample-v5.hex
echo "mqws $(git describe --always 2>/dev/null || echo dev): decoding $sample with mqws-inspect"
exec "$build/examples/inspect/mqws-inspect" --hex "$sample"
