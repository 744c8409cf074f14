#!/usr/bin/env bash
# `make bench`: the micro-benchmarks (codec with npm mqtt-packet in the same run, topic index,
# WebSocket frames, session engine), each on one core, in an -O2 build (build/bench).
# `make bench COMPARE=1` adds the side-by-side gateway runs against mosquitto
# (bench/gateway_compare.sh, bench/compare.sh; several minutes).
# Timings on a shared machine are noisy: each benchmark reports medians; see bench/RESULTS.md
# for recorded numbers, the machine and the commands.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench
if [ ! -f $build/build.ninja ]; then
    meson setup $build -Dbench=true -Doptimization=2 -Ddebug=false -Db_ndebug=true >/dev/null
fi
ninja -C $build >/dev/null
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== codec (mqws vs mqtt-packet)"
bench/run_codec.sh --runs 3 --build $build
echo "== topic index"
$build/bench/bench_topic
echo "== WebSocket frames"
$build/bench/bench_ws
echo "== session engine"
$build/bench/bench_session 0.5 3
if [ "${COMPARE:-0}" = 1 ]; then
    echo "== gateway vs mosquitto (loadgen)"
    bench/gateway_compare.sh $build 3
    echo "== mqws-bench scenarios vs mosquitto"
    BENCH=$build/examples/bench/mqws-bench GATEWAY=$build/examples/gateway/mqws-gateway \
        bench/compare.sh
fi
