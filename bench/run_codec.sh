#!/bin/sh
# Codec benchmark: mqws (bench_codec) and npm mqtt-packet on the same packets, in one run,
# with the ratio per case.
#
#   bench/run_codec.sh [--quick] [--runs N] [--build DIR]
#
# DIR (default build/bench) is configured with -Dbench=true -Doptimization=2 (gcc -O2, as the
# peers were measured) if it is missing, and bench_codec is (re)built. With --runs N (default 1)
# both benchmarks run N times, alternating, and the table gives the median per case.
# mqtt-packet comes from tests/interop/node (installed by scripts/bootstrap.sh); without Node
# the mqws numbers are printed alone.
set -eu
cd "$(dirname "$0")/.."
quick=
runs=1
build=build/bench
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=--quick ;;
        --runs) runs=$2; shift ;;
        --build) build=$2; shift ;;
        *) echo "usage: bench/run_codec.sh [--quick] [--runs N] [--build DIR]" >&2; exit 2 ;;
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

node_ok=0
command -v node >/dev/null 2>&1 && node_ok=1
i=1
while [ $i -le "$runs" ]; do
    echo "== run $i/$runs: mqws ($build/bench/bench_codec $quick)"
    "$build/bench/bench_codec" $quick | tee "$tmp/mqws.$i" | grep -v '^RESULT'
    if [ $node_ok = 1 ]; then
        echo
        echo "== run $i/$runs: npm mqtt-packet (node bench/codec_mqtt_packet.js $quick)"
        if node bench/codec_mqtt_packet.js $quick >"$tmp/node.$i"; then
            grep -v '^RESULT' "$tmp/node.$i"
        else
            cat "$tmp/node.$i"
            node_ok=0
        fi
    else
        echo "node or mqtt-packet not found: ratio skipped (run scripts/bootstrap.sh)"
    fi
    echo
    i=$((i + 1))
done

# Median per case over the runs (RESULT lines), and the ratio.
cat "$tmp"/mqws.* | awk '$1 == "RESULT" { print "mqws", $2, $3 }' >"$tmp/all"
if [ $node_ok = 1 ]; then
    cat "$tmp"/node.* | awk '$1 == "RESULT" { print "node", $2, $3 }' >>"$tmp/all"
fi
echo "== median of $runs run(s), M packets/s (CPU time)"
sort -k1,1 -k2,2 -k3,3g "$tmp/all" | awk -v runs="$runs" '
    { key = $1 " " $2; v[key, ++n[key]] = $3; if (!(key in seen)) { seen[key] = 1; order[++k] = $2 } }
    function med(key) { m = n[key]; if (m == 0) return -1; return v[key, int((m + 1) / 2)] }
    END {
        printf "%-22s %10s %13s %8s\n", "case", "mqws", "mqtt-packet", "ratio"
        for (i = 1; i <= k; i++) {
            c = order[i]
            if (done[c]++) continue
            a = med("mqws " c); b = med("node " c)
            if (b > 0)
                printf "%-22s %10.1f %13.3f %7.0fx\n", c, a, b, a / b
            else if (a >= 0)
                printf "%-22s %10.1f %13s %8s\n", c, a, "-", "-"
        }
    }'
