#!/bin/sh
# Codec benchmark: mqws (bench_codec) and npm mqtt-packet on the same packets, in one run,
# with the ratio per case.
#
#   bench/run_codec.sh [--quick] [--build DIR]
#
# DIR (default build/bench) is configured with -Dbench=true -Doptimization=2 (gcc -O2, as the
# peers were measured) if it is missing, and bench_codec is (re)built. mqtt-packet comes from tests/interop/node (installed by
# scripts/bootstrap.sh); without Node the mqws numbers are printed alone.
set -eu
cd "$(dirname "$0")/.."
quick=
build=build/bench
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=--quick ;;
        --build) build=$2; shift ;;
        *) echo "usage: bench/run_codec.sh [--quick] [--build DIR]" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -f "$build/build.ninja" ]; then
    # -O2 like the peers in issue 2's table (meson's "release" would be -O3), no assertions.
    meson setup "$build" -Dbench=true -Doptimization=2 -Ddebug=false -Db_ndebug=true >/dev/null
fi
ninja -C "$build" bench/bench_codec >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== mqws ($build/bench/bench_codec $quick)"
"$build/bench/bench_codec" $quick | tee "$tmp/mqws" | grep -v '^RESULT'

node_ok=0
if command -v node >/dev/null 2>&1; then
    echo
    echo "== npm mqtt-packet (node bench/codec_mqtt_packet.js $quick)"
    if node bench/codec_mqtt_packet.js $quick >"$tmp/node"; then
        grep -v '^RESULT' "$tmp/node"
        node_ok=1
    else
        cat "$tmp/node"
    fi
else
    echo "node not found: mqtt-packet ratio skipped (run scripts/bootstrap.sh)"
fi

if [ $node_ok = 1 ]; then
    echo
    printf '%-22s %12s %14s %8s\n' case "mqws M/s" "mqtt-packet" ratio
    awk '$1 == "RESULT" { if (FILENAME ~ /mqws$/) a[$2] = $3; else b[$2] = $3 }
         END {
             n = split("pub311_encode pub311_decode pub5_encode pub5_decode sub311_decode sub5_decode", k, " ")
             for (i = 1; i <= n; i++)
                 if ((k[i] in a) && (k[i] in b) && b[k[i]] > 0)
                     printf "%-22s %12.1f %14.3f %7.0fx\n", k[i], a[k[i]], b[k[i]], a[k[i]] / b[k[i]]
         }' "$tmp/mqws" "$tmp/node"
fi
