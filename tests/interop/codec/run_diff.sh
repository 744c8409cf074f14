#!/bin/sh
# Runs diff_mqtt_packet.js, or skips (77) when Node or the locked npm packages are missing.
# usage: run_diff.sh MQWS_INSPECT NODE_DIR [diff_mqtt_packet.js options]
here=$(dirname "$0")
inspect=$1
node_dir=$2
shift 2
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (run scripts/bootstrap.sh)"
    exit 77
fi
if [ ! -d "$node_dir/node_modules/mqtt-packet" ]; then
    echo "SKIP: $node_dir/node_modules/mqtt-packet is missing (run scripts/bootstrap.sh)"
    exit 77
fi
exec node "$here/diff_mqtt_packet.js" "$inspect" "$node_dir" "$@"
