#!/bin/sh
# bench/compare.sh: the same mqws-bench scenarios against mqws-gateway and the Debian mosquitto
# broker, alternating, each run on a fresh broker; prints a table of ratios and writes it with
# the raw numbers and the exact command to bench/results/compare.md.
#
#   bench/compare.sh                 # 3 rounds, about 4 minutes on 2 cores
#   ROUNDS=1 bench/compare.sh        # quicker
#   bench/compare.sh --only idle,thr-1-1   # some scenarios
#   OUT=/tmp/compare.md bench/compare.sh
#
# Scenarios (docs/bench.md explains each number):
#   idle-19k   19,000 idle clients (clean sessions, keep alive 60 s): broker RSS delta / 19,000
#   thr-1-1    1 publisher -> 1 subscriber, QoS 0, 64 B, as fast as possible (pipelined)
#   thr-1-100  1 publisher -> 100 subscribers of one topic, QoS 0, 64 B, as fast as possible
#   p99-1k     1 -> 1 at a fixed 1,000 msg/s, QoS 1: latency percentiles
#   p99-chatty 1,000 publishers at 5 msg/s each (5,000 msg/s) -> 1 wildcard subscriber, QoS 1
# Each broker also reports its CPU time (utime + stime from /proc) per scenario, the steadier
# figure on a shared machine.
#
# Binaries: BENCH (default build/release/examples/bench/mqws-bench), GATEWAY (default
# build/release/examples/gateway/mqws-gateway), MOSQUITTO (default: mosquitto on PATH or
# /usr/sbin/mosquitto; installed with scripts/bootstrap.sh when missing). Unless BENCH and
# GATEWAY are both given, build/release (--buildtype=release) is configured if missing and the
# two targets are brought up to date.
#
# SPDX-License-Identifier: MIT
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CMDLINE="bench/compare.sh${*:+ $*}"
[ -n "${ROUNDS:-}" ] && CMDLINE="ROUNDS=$ROUNDS $CMDLINE"

if [ -z "${BENCH:-}" ] || [ -z "${GATEWAY:-}" ]; then
    # Default binaries: bring build/release up to date (incremental) so the numbers are HEAD's.
    if [ ! -d build/release ]; then
        meson setup build/release --buildtype=release >/dev/null
    fi
    targets=examples/bench/mqws-bench
    if [ -f examples/gateway/main.c ]; then
        targets="$targets examples/gateway/mqws-gateway"
    fi
    # shellcheck disable=SC2086
    ninja -C build/release $targets >/dev/null
fi
BENCH=${BENCH:-build/release/examples/bench/mqws-bench}
GATEWAY=${GATEWAY:-build/release/examples/gateway/mqws-gateway}
if [ ! -x "$GATEWAY" ]; then
    echo "compare.sh: no gateway binary at $GATEWAY: comparing mosquitto against nothing" >&2
fi

MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || true)}
[ -z "$MOSQUITTO" ] && [ -x /usr/sbin/mosquitto ] && MOSQUITTO=/usr/sbin/mosquitto
if [ -z "$MOSQUITTO" ]; then
    echo "compare.sh: mosquitto missing: running scripts/bootstrap.sh" >&2
    sh scripts/bootstrap.sh >&2
    MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
fi

export BENCH GATEWAY MOSQUITTO CMDLINE
exec python3 - "$@" <<'PYEOF'
import json, os, platform, signal, socket, statistics, subprocess, sys, tempfile, time

BENCH, GATEWAY, MOSQ = os.environ["BENCH"], os.environ["GATEWAY"], os.environ["MOSQUITTO"]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
OUT = os.environ.get("OUT", "bench/results/compare.md")
IDLE_N = int(os.environ.get("IDLE_CLIENTS", "19000"))
TICK = os.sysconf("SC_CLK_TCK")

SCENARIOS = [
    ("idle-19k", ["--conns", str(IDLE_N), "--pubs", "0", "--subs", "0", "--duration", "4",
                  "--max-connecting", "2000"]),
    ("thr-1-1", ["--pubs", "1", "--subs", "1", "--qos", "0", "--duration", "5"]),
    ("thr-1-100", ["--pubs", "1", "--subs", "100", "--qos", "0", "--duration", "5",
                   "--topic", "fan/all", "--sub-topic", "fan/all", "--window", "100"]),
    ("p99-1k", ["--pubs", "1", "--subs", "1", "--qos", "1", "--rate", "1000", "--duration", "5"]),
    ("p99-chatty", ["--preset", "chatty-telemetry", "--rate", "5", "--duration", "5",
                    "--connect-rate", "0"]),
]
only = None
if len(sys.argv) > 2 and sys.argv[1] == "--only":
    only = set(sys.argv[2].split(","))
    SCENARIOS = [s for s in SCENARIOS if any(s[0].startswith(o) for o in only)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Broker:
    def __init__(self, kind):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix="mqws-compare-")
        os.chmod(self.dir, 0o755)
        log = open(os.path.join(self.dir, "log"), "w")
        if kind == "mqws":
            pf = os.path.join(self.dir, "ports")
            self.proc = subprocess.Popen([GATEWAY, "--mqtt-port", "0", "--ws-port", "0",
                                          "--ports-file", pf, "--log-level", "warn"],
                                         stdout=log, stderr=subprocess.STDOUT)
            for _ in range(500):
                if os.path.exists(pf) and "ws=" in open(pf).read():
                    break
                time.sleep(0.02)
            self.port = int(dict(l.strip().split("=") for l in open(pf) if "=" in l)["mqtt"])
        else:
            self.port = free_port()
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                # Debian defaults except: no persistence, Nagle off like the gateway (a latency
                # comparison with Nagle on would measure Nagle), loopback listener.
                f.write("persistence false\nlog_dest stderr\nlog_type error\n"
                        "set_tcp_nodelay true\n"
                        "listener %d 127.0.0.1\nallow_anonymous true\n" % self.port)
            self.proc = subprocess.Popen([MOSQ, "-c", conf], stdout=log,
                                         stderr=subprocess.STDOUT)
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.02)
        time.sleep(0.3)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run(kind, name, flags):
    b = Broker(kind)
    try:
        pid = b.proc.pid
        rss0, cpu0 = rss_kib(pid), cpu_s(pid)
        ready = os.path.join(b.dir, "ready")
        cmd = [BENCH, "-p", str(b.port), "--json", "--no-progress", "--ready-file", ready] + flags
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rss1 = None
        if name.startswith("idle"):
            deadline = time.time() + 60
            while not os.path.exists(ready) and time.time() < deadline and p.poll() is None:
                time.sleep(0.05)
            time.sleep(1.5)  # let the broker settle after the last CONNACK
            rss1 = rss_kib(pid)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        cpu1 = cpu_s(pid)
        d = json.loads(out)
        d["_broker_cpu_s"] = cpu1 - cpu0
        d["_rss0"], d["_rss1"] = rss0, rss1
        d["_cmd"] = " ".join(cmd[:1] + ["-p", "PORT"] + cmd[3:])
        return d
    finally:
        b.stop()


def metric(name, d):
    """The headline number of a scenario: (value, unit, higher_is_better)."""
    m, lat = d["messages"], d["latency_us"]
    if name.startswith("idle"):
        n = max(1, d["connect"]["established"])
        return ((d["_rss1"] - d["_rss0"]) * 1024.0 / n, "bytes RSS / connection", False)
    if name.startswith("thr"):
        return (m["received_per_s"], "deliveries / s", True)
    return (lat["p99"] / 1000.0, "ms p99", False)


kinds = ["mqws", "mosquitto"] if os.access(GATEWAY, os.X_OK) else ["mosquitto"]
results = {}  # (scenario, kind) -> [json]
t_start = time.time()
load0 = open("/proc/loadavg").read().split()[:3]
for r in range(ROUNDS):
    for i, (name, flags) in enumerate(SCENARIOS):
        order = kinds if (r + i) % 2 == 0 else kinds[::-1]  # alternate who goes first
        for kind in order:
            d = run(kind, name, flags)
            results.setdefault((name, kind), []).append(d)
            v, unit, _ = metric(name, d)
            print("round %d  %-10s %-9s %12.1f %-22s lost %d  conns %d  broker cpu %.2f s" %
                  (r + 1, name, kind, v, unit, d["messages"]["lost"],
                   d["connect"]["established"], d["_broker_cpu_s"]), flush=True)
elapsed = time.time() - t_start
load1 = open("/proc/loadavg").read().split()[:3]


def work_cpu_us(name, d):
    """Broker CPU microseconds per unit of work: per connection for the idle scenario (accept,
    CONNECT, CONNACK, close), per delivered message otherwise."""
    units = d["connect"]["established"] if name.startswith("idle") else d["messages"]["received"]
    return d["_broker_cpu_s"] * 1e6 / max(1, units)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


rows = []
for name, flags in SCENARIOS:
    ds = {k: results.get((name, k), []) for k in kinds}
    vals = {k: med([metric(name, d)[0] for d in ds[k]]) for k in kinds}
    unit, hib = metric(name, ds[kinds[0]][0])[1:]
    cpu = {k: med([work_cpu_us(name, d) for d in ds[k]]) for k in kinds}
    ratio = vals["mqws"] / vals["mosquitto"] if "mqws" in vals and vals["mosquitto"] else float("nan")
    cratio = cpu["mqws"] / cpu["mosquitto"] if "mqws" in cpu and cpu["mosquitto"] else float("nan")
    rows.append((name, unit, hib, vals, ratio, cpu, cratio, ds))

hdr = ("| scenario | metric | mqws-gateway | mosquitto | ratio mqws/mosquitto | better | "
       "broker CPU us per connection or delivery, mqws / mosquitto (ratio) |")
lines = [hdr, "|---|---|---:|---:|---:|---|---|"]


def cell(name, ds, v):
    """Median, with the range over the rounds when there are several."""
    xs = [metric(name, d)[0] for d in ds]
    if len(xs) < 2:
        return "%.1f" % v
    return "%.1f (%.1f-%.1f)" % (v, min(xs), max(xs))


for name, unit, hib, vals, ratio, cpu, cratio, ds in rows:
    better = "higher" if hib else "lower"
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, unit, cell(name, ds["mqws"], vals["mqws"]) if "mqws" in vals else "n/a",
        cell(name, ds["mosquitto"], vals["mosquitto"]),
        "%.2f" % ratio if ratio == ratio else "n/a", better,
        ("%.2f / %.2f (%.2f)" % (cpu["mqws"], cpu["mosquitto"], cratio)) if "mqws" in cpu
        else "%.2f" % cpu["mosquitto"]))
table = "\n".join(lines)
print()
print(table)

def cpuinfo():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"

def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, timeout=5).stdout.decode().splitlines()[0]
    except Exception:
        return "?"

rev = version(["git", "rev-parse", "--short", "HEAD"])
if subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "lib", "include", "examples"]).returncode:
    rev += " + uncommitted changes in lib/include/examples"
md = []
md.append("# mqws-gateway vs mosquitto: compare.sh results\n")
md.append("Generated by `%s` (%s UTC, git %s) in %.0f s.\n" %
          (os.environ["CMDLINE"], time.strftime("%Y-%m-%d %H:%M", time.gmtime()), rev, elapsed))
md.append("Machine: %d CPU(s), %s, Linux %s; load average %s at the start, %s at the end "
          "(a shared machine: other builds ran meanwhile; broker CPU seconds are the steadier "
          "figure, per connection or per delivered message). %s; mosquitto `%s` with `set_tcp_nodelay true`, no persistence.\n" %
          (os.cpu_count(), cpuinfo(), platform.release(), " ".join(load0), " ".join(load1),
           "mqws-gateway " + GATEWAY if os.access(GATEWAY, os.X_OK) else "no mqws-gateway",
           version([MOSQ, "-h"]).strip()))
md.append("Each scenario runs on a fresh broker, the two brokers alternating (who goes first "
          "swaps every scenario and round); values are medians over %d round(s), the range over "
          "the rounds in brackets. Ratio < 1 is better for memory and p99, > 1 for throughput. "
          "p99 on a loaded 2-core machine is mostly scheduling noise: compare p50 (in the table "
          "of every run) and the CPU per delivery before reading anything into it.\n" % ROUNDS)
md.append(table + "\n")
md.append("## Scenarios (mqws-bench flags; `-p PORT --json --no-progress --ready-file F` added)\n")
for name, flags in SCENARIOS:
    md.append("- `%s`: `mqws-bench %s`" % (name, " ".join(flags)))
md.append("\n## Every run\n")
md.append("| round | scenario | broker | headline | sent/s | received/s | lost | dup | p50 ms | "
          "p99 ms | p99.9 ms | max ms | connect/s | broker CPU s | bench CPU s | broker RSS KiB before/after |")
md.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for name, unit, hib, vals, ratio, cpu, cratio, ds in rows:
    for k in kinds:
        for r, d in enumerate(ds[k]):
            m, lat, c = d["messages"], d["latency_us"], d["connect"]
            md.append("| %d | %s | %s | %.1f %s | %.0f | %.0f | %d | %d | %.3f | %.3f | %.3f | "
                      "%.3f | %.0f | %.2f | %.2f | %s |" % (
                          r + 1, name, k, metric(name, d)[0], unit, m["sent_per_s"],
                          m["received_per_s"], m["lost"], m["duplicates"], lat["p50"] / 1e3,
                          lat["p99"] / 1e3, lat["p999"] / 1e3, lat["max"] / 1e3, c["per_s"],
                          d["_broker_cpu_s"], d["cpu_s"]["user"] + d["cpu_s"]["system"],
                          "%d/%s" % (d["_rss0"], d["_rss1"] or "-")))
os.makedirs(os.path.dirname(OUT) or ".", exist_ok=True)
with open(OUT, "w") as f:
    f.write("\n".join(md) + "\n")
print("\nwritten to %s (%.0f s)" % (OUT, elapsed))
PYEOF
