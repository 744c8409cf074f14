#!/usr/bin/env python3
"""Smoke run of every mqws-bench preset, scaled down, against mqws-gateway.

Starts the gateway on ports chosen by the kernel, runs each preset for a few seconds with small
numbers (--json), checks the summary (every connection established, nothing lost at QoS 1,
latency recorded, the reconnect storm reconnected everyone), then stops the gateway. Every
subprocess has a timeout; the gateway is always killed. Without a gateway binary the run goes
against the Debian mosquitto broker instead (and says so); exits 77 when neither exists.

usage: smoke.py MQWS_BENCH GATEWAY_BINARY

SPDX-License-Identifier: MIT
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77

# (name, extra flags): each preset scaled to a few seconds and a few hundred connections.
RUNS = [
    ("sleepy-sensors", ["--conns", "500", "--duration", "3", "--rate", "0.5"]),
    ("chatty-telemetry", ["--conns", "200", "--duration", "3"]),
    ("fan-out", ["--conns", "200", "--duration", "3"]),
    ("burst-connect", ["--conns", "1000", "--duration", "3", "--storm-at", "1"]),
    # transport and protocol variants on one preset
    ("chatty-telemetry", ["--conns", "50", "--duration", "2", "--ws", "-V", "311"]),
    ("fan-out", ["--conns", "20", "--duration", "2", "--qos", "2", "-V", "5", "--ws"]),
    # overload: 3 publishers pipelining 100k QoS 1 / QoS 2 (window 1000) to 2 subscribers; the
    # broker pauses publishers instead of dropping for connected subscribers: lost must be 0
    # (about 1 s each)
    ("chatty-telemetry", ["--conns", "5", "--pubs", "3", "--subs", "2", "-q", "1", "--rate", "0",
                          "--size", "64", "-t", "bench/%i", "-T", "bench/#", "-C", "100000",
                          "-D", "10", "--interval", "100"]),
    ("chatty-telemetry", ["--conns", "5", "--pubs", "3", "--subs", "2", "-q", "2", "--rate", "0",
                          "--size", "64", "-t", "bench/%i", "-T", "bench/#", "-C", "100000",
                          "-D", "10", "--interval", "100"]),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, gateway):
        self.dir = tempfile.mkdtemp(prefix="mqws-bench-smoke-")
        os.chmod(self.dir, 0o755)  # mosquitto started as root drops privileges
        self.log_path = os.path.join(self.dir, "broker.log")
        self.log = open(self.log_path, "w")
        if gateway and os.access(gateway, os.X_OK):
            self.name = "mqws-gateway"
            ports_file = os.path.join(self.dir, "ports")
            self.proc = subprocess.Popen(
                [gateway, "--mqtt-port", "0", "--ws-port", "0", "--ports-file", ports_file,
                 "--log-level", "warn"], stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while not os.path.exists(ports_file) and time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("gateway exited at start:\n" + self.logtext())
                time.sleep(0.02)
            time.sleep(0.05)
            ports = dict(l.strip().split("=") for l in open(ports_file) if "=" in l)
            self.tcp, self.ws = int(ports["mqtt"]), int(ports["ws"])
        else:
            exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                               if os.path.exists("/usr/sbin/mosquitto") else None)
            if not exe:
                print("neither mqws-gateway (%s) nor mosquitto found: skipped" % gateway)
                sys.exit(SKIP)
            self.name = "mosquitto"
            print("NOTE: no gateway binary at %s: running against mosquitto" % gateway)
            self.tcp, self.ws = free_port(), free_port()
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write("per_listener_settings true\npersistence false\nlog_dest stderr\n"
                        "log_type error\nmax_queued_messages 100000\n"
                        f"listener {self.tcp} 127.0.0.1\nallow_anonymous true\n"
                        f"listener {self.ws} 127.0.0.1\nprotocol websockets\n"
                        "allow_anonymous true\n")
            self.proc = subprocess.Popen([exe, "-c", conf], stdout=self.log,
                                         stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.tcp), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.05)

    def logtext(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()[-3000:]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def check(name, flags, summary):
    problems = []
    c, m, lat = summary["connect"], summary["messages"], summary["latency_us"]
    if c["established"] != summary["connections"]:
        problems.append("established %d of %d" % (c["established"], summary["connections"]))
    if c["failed"] or c["lost"] or c["subscribe_refused"]:
        problems.append("failed %d, lost %d, subscribe refused %d" %
                        (c["failed"], c["lost"], c["subscribe_refused"]))
    if m["sent"] == 0 or m["expected"] == 0:
        problems.append("nothing sent")
    if summary["qos"] > 0 and (m["lost"] or m["unique"] != m["expected"]):
        problems.append("QoS %d lost %d (unique %d, expected %d)" %
                        (summary["qos"], m["lost"], m["unique"], m["expected"]))
    if summary["qos"] > 0 and m["acked"] != m["sent"]:
        problems.append("acked %d of %d" % (m["acked"], m["sent"]))
    if m["foreign"] or m["publish_failed"]:
        problems.append("foreign %d, publish failed %d" % (m["foreign"], m["publish_failed"]))
    if lat["count"] != m["received"] - m["foreign"]:
        problems.append("latency samples %d for %d messages" % (lat["count"], m["received"]))
    if lat["count"] == 0 or not (0 < lat["p50"] <= lat["p99"] <= lat["max"]):
        problems.append("latency not recorded: %r" % lat)
    if summary["connect_us"]["count"] == 0:
        problems.append("connect latency not recorded")
    if "--storm-at" in flags:
        if c["storm_dropped"] == 0 or c["reconnects"] != c["storm_dropped"]:
            problems.append("storm: dropped %d, reconnected %d" %
                            (c["storm_dropped"], c["reconnects"]))
    if len(summary["timeline"]) < 2:
        problems.append("timeline has %d samples" % len(summary["timeline"]))
    return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bench, gateway = sys.argv[1], sys.argv[2]
    broker = Broker(gateway)
    failed = 0
    try:
        for name, flags in RUNS:
            port = broker.ws if "--ws" in flags else broker.tcp
            with tempfile.TemporaryDirectory() as tmp:
                svg = os.path.join(tmp, "plot.svg")
                cmd = [bench, "--preset", name, "-p", str(port), "--json", "--no-progress",
                       "--drain", "5", "--plot", svg] + flags
                label = " ".join([name] + flags)
                t0 = time.time()
                try:
                    r = subprocess.run(cmd, capture_output=True, timeout=60)
                except subprocess.TimeoutExpired:
                    print("FAIL %s: timed out" % label)
                    failed += 1
                    continue
                try:
                    summary = json.loads(r.stdout)
                except ValueError:
                    print("FAIL %s: exit %d, no JSON:\n%s%s" %
                          (label, r.returncode, r.stdout.decode()[-2000:],
                           r.stderr.decode()[-2000:]))
                    failed += 1
                    continue
                problems = check(name, flags, summary)
                if r.returncode != 0:
                    problems.append("exit status %d" % r.returncode)
                if not os.path.exists(svg) or b"</svg>" not in open(svg, "rb").read():
                    problems.append("no SVG written")
                if not broker.alive():
                    problems.append("%s died:\n%s" % (broker.name, broker.logtext()))
                m, lat = summary["messages"], summary["latency_us"]
                status = "FAIL" if problems else "ok  "
                print("%s %-60s %5.1fs  conns %5d  sent %6d  recv %7d  lost %d  p99 %.0f us" %
                      (status, label, time.time() - t0, summary["connect"]["established"],
                       m["sent"], m["received"], m["lost"], lat["p99"]))
                for p in problems:
                    print("     - " + p)
                if problems:
                    failed += 1
                    if summary.get("error"):
                        print("     first error: " + summary["error"])
                if not broker.alive():
                    break
    finally:
        broker.stop()
    print("%d runs against %s, %d failed" % (len(RUNS), broker.name, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
