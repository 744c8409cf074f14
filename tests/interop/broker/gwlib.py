"""Shared helpers of the gateway interop tests: start mqws-gateway on free loopback ports,
read its ports, always stop it, and tiny raw-MQTT helpers.

SPDX-License-Identifier: MIT
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Gateway:
    """mqws-gateway on ports chosen by the kernel (--mqtt-port 0 --ws-port 0)."""

    def __init__(self, binary, *extra, log_level="info"):
        self.dir = tempfile.mkdtemp(prefix="mqws-gw-test-")
        self.ports_file = os.path.join(self.dir, "ports")
        self.log_path = os.path.join(self.dir, "gateway.log")
        self.log = open(self.log_path, "w")
        args = [binary, "--mqtt-port", "0", "--ws-port", "0", "--ports-file",
                self.ports_file, "--log-level", log_level] + list(extra)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.ports_file):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited at start (%s):\n%s" %
                                   (self.proc.returncode, self.read_log()))
            time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError("gateway did not start in 10 s")
        ports = dict(line.strip().split("=") for line in open(self.ports_file) if "=" in line)
        self.mqtt = int(ports["mqtt"])
        self.ws = int(ports["ws"])

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def http_get(self, path, timeout=5):
        with socket.create_connection(("127.0.0.1", self.ws), timeout=timeout) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return head.decode(errors="replace"), body.decode(errors="replace")

    def metrics(self):
        _, body = self.http_get("/metrics")
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop the gateway; returns its exit status (None if it had to be killed)."""
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:
            rc = self.proc.returncode
        self.log.close()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def prometheus_problems(text):
    """Problems in a Prometheus text exposition (format 0.0.4): HELP and TYPE precede a
    family's samples, names and labels are well formed, values are numbers, counters end in
    _total, histogram buckets are cumulative and end with le="+Inf" equal to _count."""
    import math
    import re
    name_re = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                           r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (\S+)$')
    problems, types, helps, buckets, counts = [], {}, set(), {}, {}
    if not text.endswith("\n"):
        problems.append("no final newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary",
                                                     "untyped") or not name_re.match(parts[2]):
                problems.append("bad TYPE line: " + line)
            else:
                types[parts[2]] = parts[3]
        elif line.startswith("#") or not line:
            continue
        else:
            m = sample_re.match(line)
            if not m:
                problems.append("bad sample: " + line)
                continue
            name, value = m.group(1), m.group(5)
            try:
                v = float(value)
            except ValueError:
                problems.append("bad value: " + line)
                continue
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            fam = name if name in types else family
            if fam not in types or fam not in helps:
                problems.append("sample before HELP/TYPE: " + line)
                continue
            if types[fam] == "counter" and not fam.endswith("_total"):
                problems.append("counter without _total: " + fam)
            if types[fam] == "histogram":
                if name.endswith("_bucket"):
                    le = re.search(r'le="([^"]+)"', line)
                    if not le:
                        problems.append("bucket without le: " + line)
                        continue
                    bound = math.inf if le.group(1) == "+Inf" else float(le.group(1))
                    buckets.setdefault(fam, []).append((bound, v))
                elif name.endswith("_count"):
                    counts[fam] = v
    for fam, bs in buckets.items():
        if [b for b, _ in bs] != sorted(b for b, _ in bs) or bs[-1][0] != math.inf:
            problems.append("buckets of %s not ascending to +Inf" % fam)
        if any(bs[i][1] > bs[i + 1][1] for i in range(len(bs) - 1)):
            problems.append("buckets of %s not cumulative" % fam)
        if counts.get(fam) != bs[-1][1]:
            problems.append("%s_count != +Inf bucket" % fam)
    return problems


def wait_for(pred, timeout=10.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# Raw MQTT 3.1.1 bytes for tests that must misbehave on purpose.
def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s):
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


def connect_packet(client_id, keepalive=60, clean=True, level=4):
    body = mstr("MQTT") + bytes([level, 0x02 if clean else 0]) + keepalive.to_bytes(2, "big")
    if level == 5:
        body += b"\x00"
    body += mstr(client_id)
    return b"\x10" + varint(len(body)) + body


def subscribe_packet(pid, topic, qos=0):
    body = pid.to_bytes(2, "big") + mstr(topic) + bytes([qos])
    return b"\x82" + varint(len(body)) + body


def publish_packet(topic, payload, qos=0, pid=1):
    body = mstr(topic) + (pid.to_bytes(2, "big") if qos else b"") + payload
    return bytes([0x30 | (qos << 1)]) + varint(len(body)) + body


def raw_client(port, client_id, timeout=5):
    """A connected raw 3.1.1 client socket (CONNACK 0 checked)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(connect_packet(client_id))
    ack = recv_exact(s, 4)
    if ack[0] != 0x20 or ack[3] != 0:
        raise RuntimeError("CONNACK %r" % ack)
    return s


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def recv_packet(s):
    """(first byte, body) of the next packet."""
    h = recv_exact(s, 1)[0]
    n, mul = 0, 1
    while True:
        b = recv_exact(s, 1)[0]
        n += (b & 0x7F) * mul
        mul *= 128
        if not b & 0x80:
            break
    return h, recv_exact(s, n)


class Results:
    def __init__(self, name):
        self.name = name
        self.rows = []

    def check(self, label, ok, detail=""):
        self.rows.append((label, bool(ok), detail))
        print("%s %s: %s%s" % ("PASS" if ok else "FAIL", self.name, label,
                               (" (" + detail + ")") if detail and not ok else ""), flush=True)
        return ok

    def known(self, label, ok, why):
        """A check that fails for a known, reported reason (printed XFAIL, not counted); once it
        passes it is reported XPASS so the marker can be removed."""
        print("%s %s: %s (%s)" % ("XPASS" if ok else "XFAIL", self.name, label, why), flush=True)
        self.rows.append((label + " [known issue]", True, why))

    def failed(self):
        return [r for r in self.rows if not r[1]]

    def exit(self):
        bad = self.failed()
        print("%s: %d passed, %d failed" % (self.name, len(self.rows) - len(bad), len(bad)),
              flush=True)
        sys.exit(1 if bad else 0)
