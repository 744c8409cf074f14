#!/bin/bash
# bench/gateway_compare.sh: mqws-gateway against the Debian mosquitto broker, in one run,
# alternating which goes first each round, with the same load client (bench/loadgen.c).
#
#   bench/gateway_compare.sh [BUILD_DIR] [ROUNDS]
#
# BUILD_DIR holds examples/gateway/mqws-gateway and examples/gateway/mqws-loadgen (default
# build/release; configure it with `meson setup build/release --buildtype=release`).
# ROUNDS defaults to 3; medians are reported. Per broker and round:
#   idle    RSS per idle connected client at 19,000 clients (4 source addresses 127.0.0.2..5;
#           (VmRSS with clients - VmRSS before) / 19,000)
#   1to1    QoS 0, 64-byte payloads, one publisher pipelining to one subscriber, msg/s
#   1to100  the same fanned out to 100 subscribers, deliveries/s
#   lat     p50 / p99 latency at 50,000 msg/s 1->1 (QoS 0, 64 bytes)
#   cpu     broker CPU time (user + system, /proc/PID/stat) per message 1->1 and per delivery
#           1->100: on a shared machine the rates follow the scheduler, CPU per message less so
# The load client runs on the same machine; results go to stdout (markdown table) and, with
# RESULTS=FILE, are appended to FILE.
#
# SPDX-License-Identifier: MIT
set -eu

BUILD=${1:-build/release}
ROUNDS=${2:-3}
CLIENTS=${CLIENTS:-19000}
SECONDS_PER=${SECONDS_PER:-5}
GW=$BUILD/examples/gateway/mqws-gateway
LG=$BUILD/examples/gateway/mqws-loadgen
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}

for p in "$GW" "$LG" "$MOSQ"; do
    if [ ! -x "$p" ]; then
        echo "gateway_compare: $p not found (build: meson setup $BUILD --buildtype=release &&" \
            "ninja -C $BUILD examples/gateway/mqws-gateway examples/gateway/mqws-loadgen;" \
            "mosquitto: scripts/bootstrap.sh)" >&2
        exit 1
    fi
done

TMP=$(mktemp -d /tmp/mqws-gwbench.XXXXXX)
BPID=
cleanup() {
    [ -n "$BPID" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Broker CPU time (user + system) in clock ticks: the steadier figure on a shared machine.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

start_broker() { # $1 = gateway|mosquitto; sets PORT and BPID
    PORT=$(free_port)
    if [ "$1" = gateway ]; then
        "$GW" --mqtt-port "$PORT" --ws-port -1 --log-level warn --sys-interval 0 \
            >"$TMP/broker.log" 2>&1 &
    else
        # Same conditions as the gateway: loopback listener, Nagle off, no persistence.
        printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nlog_type error\nmax_connections -1\nsys_interval 0\n' \
            "$PORT" >"$TMP/mosquitto.conf"
        "$MOSQ" -c "$TMP/mosquitto.conf" >"$TMP/broker.log" 2>&1 &
    fi
    BPID=$!
    i=0
    while ! (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "broker $1 did not start" >&2
            cat "$TMP/broker.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    sleep 0.3
}

stop_broker() {
    kill "$BPID" 2>/dev/null || true
    wait "$BPID" 2>/dev/null || true
    BPID=
    sleep 1 # let TIME_WAIT and the scheduler settle
}

measure() { # $1 = broker name, $2 = round
    name=$1
    start_broker "$name"
    r0=$(rss_kib "$BPID")
    rm -f "$TMP/ready"
    # The load client holds its connections until its stdin closes.
    mkfifo "$TMP/hold.in"
    "$LG" hold --port "$PORT" --clients "$CLIENTS" --sources 4 --hold -1 \
        --ready-file "$TMP/ready" --timeout 120 <"$TMP/hold.in" >"$TMP/hold.out" 2>&1 &
    LGPID=$!
    exec 9>"$TMP/hold.in"
    i=0
    while [ ! -f "$TMP/ready" ] && [ $i -lt 1300 ]; do sleep 0.1; i=$((i + 1)); done
    sleep 2
    r1=$(rss_kib "$BPID")
    exec 9>&-
    wait $LGPID || true
    rm -f "$TMP/hold.in"
    held=$(sed -n 's/.*connected=\([0-9]*\).*/\1/p' "$TMP/hold.out")
    idle=$(( (r1 - r0) * 1024 / (held > 0 ? held : 1) ))
    sleep 1
    c0=$(cpu_ticks "$BPID")
    out=$("$LG" throughput --port "$PORT" --subs 1 --seconds "$SECONDS_PER")
    c1=$(cpu_ticks "$BPID")
    one=$(echo "$out" | sed -n 's/.*msg_per_s=\([0-9]*\).*/\1/p')
    n=$(echo "$out" | sed -n 's/.*delivered=\([0-9]*\).*/\1/p')
    one_cpu=$(awk -v t=$((c1 - c0)) -v n="$n" -v u=$TICK_US 'BEGIN {printf "%.3f", n ? t * u / n : 0}')
    c0=$(cpu_ticks "$BPID")
    out=$("$LG" throughput --port "$PORT" --subs 100 --seconds "$SECONDS_PER")
    c1=$(cpu_ticks "$BPID")
    fan=$(echo "$out" | sed -n 's/.*deliveries_per_s=\([0-9]*\).*/\1/p')
    n=$(echo "$out" | sed -n 's/.*delivered=\([0-9]*\).*/\1/p')
    fan_cpu=$(awk -v t=$((c1 - c0)) -v n="$n" -v u=$TICK_US 'BEGIN {printf "%.3f", n ? t * u / n : 0}')
    lat=$("$LG" latency --port "$PORT" --rate 50000 --seconds "$SECONDS_PER")
    p50=$(echo "$lat" | sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p')
    p99=$(echo "$lat" | sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p')
    recv=$(echo "$lat" | sed -n 's/.*received=\([0-9]*\).*/\1/p')
    stop_broker
    echo "$name $2 $held $idle $one $fan $p50 $p99 $recv $one_cpu $fan_cpu" >>"$TMP/raw"
    echo "round $2 $name: clients=$held idle_B_per_client=$idle 1to1_msg_s=$one" \
        "1to100_deliv_s=$fan p50_us=$p50 p99_us=$p99 lat_received=$recv" \
        "cpu_us_per_msg_1to1=$one_cpu cpu_us_per_delivery_1to100=$fan_cpu" >&2
}

: >"$TMP/raw"
r=1
while [ $r -le "$ROUNDS" ]; do
    if [ $((r % 2)) -eq 1 ]; then
        measure gateway $r
        measure mosquitto $r
    else
        measure mosquitto $r
        measure gateway $r
    fi
    r=$((r + 1))
done

# Medians per broker and the gateway / mosquitto ratios.
/usr/bin/python3 - "$TMP/raw" "$ROUNDS" "$SECONDS_PER" <<'EOF' | tee -a "${RESULTS:-/dev/null}"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(name, i):
    v = [float(r[i]) for r in rows if r[0] == name and r[i] not in ("", "nan")]
    return statistics.median(v) if v else float("nan")
g = {i: med("gateway", i) for i in range(2, 11)}
m = {i: med("mosquitto", i) for i in range(2, 11)}
def ratio(a, b):
    return a / b if b else float("nan")
print("| metric (median of %s rounds) | mqws-gateway | mosquitto | gateway / mosquitto |" % sys.argv[2])
print("|---|---:|---:|---:|")
print("| clients held | %.0f | %.0f | |" % (g[2], m[2]))
print("| RSS per idle client (bytes) | %.0f | %.0f | %.2f |" % (g[3], m[3], ratio(g[3], m[3])))
print("| QoS 0 64 B 1->1 (msg/s) | %.0f | %.0f | %.1f |" % (g[4], m[4], ratio(g[4], m[4])))
print("| QoS 0 64 B 1->100 (deliveries/s) | %.0f | %.0f | %.1f |" % (g[5], m[5], ratio(g[5], m[5])))
print("| p50 latency at 50 k msg/s (us) | %.0f | %.0f | %.2f |" % (g[6], m[6], ratio(g[6], m[6])))
print("| p99 latency at 50 k msg/s (us) | %.0f | %.0f | %.2f |" % (g[7], m[7], ratio(g[7], m[7])))
print("| broker CPU per message 1->1 (us) | %.3f | %.3f | %.3f |" % (g[9], m[9], ratio(g[9], m[9])))
print("| broker CPU per delivery 1->100 (us) | %.3f | %.3f | %.3f |"
      % (g[10], m[10], ratio(g[10], m[10])))
print("| 1->1 msg/s per broker CPU second (1 / CPU per message) | %.0f | %.0f | %.1f |"
      % (1e6 / g[9], 1e6 / m[9], m[9] / g[9]))
print("| 1->100 deliveries/s per broker CPU second | %.0f | %.0f | %.1f |"
      % (1e6 / g[10], 1e6 / m[10], m[10] / g[10]))
print("| latency messages received (of %d sent) | %.0f | %.0f | |"
      % (50000 * int(float(sys.argv[3])), g[8], m[8]))
print()
print("raw rows (broker round clients idle_B 1to1 1to100 p50_us p99_us lat_received "
      "cpu_us_1to1 cpu_us_1to100):")
for r in rows:
    print("    " + " ".join(r))
EOF
