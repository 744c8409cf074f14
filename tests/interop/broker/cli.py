#!/usr/bin/python3
"""mqws-gateway as a program: flags, config file, clean errors (bad flags, port in use, too
many open files), authentication (password file, loopback-only default), signals (SIGINT/SIGTERM: DISCONNECT 0x8B to 5.0 clients, exit 0), log lines
and levels, and writev batching (far fewer writev calls than messages when pipelining).

usage: cli.py MQWS_GATEWAY
SPDX-License-Identifier: MIT
"""
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (Gateway, Results, connect_packet, mstr, publish_packet,  # noqa: E402
                   raw_client, recv_exact, recv_packet, subscribe_packet, varint, wait_for)


def run(gwbin, *args, timeout=10):
    return subprocess.run([gwbin] + list(args), capture_output=True, text=True, timeout=timeout)


def main():
    gwbin = sys.argv[1]
    res = Results("cli")
    tmp = tempfile.mkdtemp(prefix="mqws-gw-cli-")

    r = run(gwbin, "--help")
    res.check("--help exits 0 with usage", r.returncode == 0 and "--mqtt-port" in r.stdout and
              "--config" in r.stdout)
    r = run(gwbin, "--no-such-flag")
    res.check("unknown flag: exit 2, says which, prints usage",
              r.returncode == 2 and "--no-such-flag" in r.stderr and "usage:" in r.stderr,
              r.stderr[:200])
    r = run(gwbin, "--mqtt-port", "http")
    res.check("bad value: exit 2", r.returncode == 2 and "mqtt-port" in r.stderr, r.stderr[:200])
    r = run(gwbin, "--mqtt-port")
    res.check("missing value: exit 2", r.returncode == 2 and "needs a value" in r.stderr)

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    r = run(gwbin, "--mqtt-port", str(port), "--ws-port", "0")
    res.check("port in use: exit 1 with a clear message",
              r.returncode == 1 and "already in use" in r.stderr and str(port) in r.stderr,
              r.stderr[:300])
    busy.close()

    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("# comment\nmqtt-port = 0\nws-prot = 0\n")
    r = run(gwbin, "--config", bad)
    res.check("config file: unknown key reported with file:line, exit 2",
              r.returncode == 2 and "bad.conf:3" in r.stderr and "ws-prot" in r.stderr,
              r.stderr[:200])

    conf = os.path.join(tmp, "gw.conf")
    ports = os.path.join(tmp, "ports")
    with open(conf, "w") as f:
        f.write("# test config\nmqtt-host = 127.0.0.1\nmqtt-port = 0   # any free port\n"
                "ws-port = 0\nports-file = %s\nlog-level = debug\nmax-connections = 3\n" % ports)
    p = subprocess.Popen([gwbin, "--config", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        started = wait_for(lambda: os.path.exists(ports) or p.poll() is not None, 10)
        pm = dict(line.strip().split("=") for line in open(ports)) if os.path.exists(ports) \
            else {}
        res.check("config file: listeners and ports file", started and int(pm.get("mqtt", 0)) > 0)
        # max-connections = 3 from the file: the 4th client is refused with CONNACK 0x03.
        cl = [raw_client(int(pm["mqtt"]), "c%d" % i) for i in range(3)]
        s = socket.create_connection(("127.0.0.1", int(pm["mqtt"])), timeout=5)
        s.sendall(connect_packet("c4"))
        ack = recv_exact(s, 4)
        res.check("config file: max-connections applied (CONNACK 0x03 Server unavailable)",
                  ack[3] == 0x03, repr(ack))
        s.close()
        for c in cl:
            c.close()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    res.check("SIGINT exits 0", p.returncode == 0, repr(p.returncode))
    res.check("debug log level shows accepts", "debug accept addr=127.0.0.1:" in err)
    res.check("refusal logged with reason", "refused client=\"c4\"" in err and "reason=0x" in err,
              err[-500:])

    # Shutdown: a connected 5.0 client gets DISCONNECT 0x8B Server shutting down.
    with Gateway(gwbin) as gw:
        s = socket.create_connection(("127.0.0.1", gw.mqtt), timeout=5)
        s.sendall(connect_packet("v5shut", level=5))
        recv_packet(s)
        gw.proc.send_signal(signal.SIGTERM)
        try:
            h, body = recv_packet(s)
        except (OSError, EOFError):
            h, body = 0, b""
        res.check("SIGTERM: 5.0 client gets DISCONNECT 0x8B", h == 0xE0 and body[:1] == b"\x8b",
                  "%02x %r" % (h, body))
        rc = gw.stop()
        res.check("SIGTERM with clients exits 0", rc == 0, repr(rc))
        log = gw.read_log()
        res.check("disconnect line has id, address, protocol, reason",
                  'disconnect client="v5shut" addr=127.0.0.1:' in log and "proto=5.0/tcp" in log
                  and "reason=0x8b" in log, log[-600:])

    # Log level: warn hides connect lines.
    with Gateway(gwbin, log_level="warn") as gw:
        raw_client(gw.mqtt, "quietlog").close()
        time.sleep(0.2)
        gw.stop()
        res.check("--log-level warn hides connect lines", "connect client" not in gw.read_log())

    # Too many open files: with RLIMIT_NOFILE 32 the gateway says so, stays up, and recovers.
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
    d = tempfile.mkdtemp(prefix="mqws-gw-emfile-")
    pf = os.path.join(d, "ports")
    logf = open(os.path.join(d, "log"), "w")
    p = subprocess.Popen([gwbin, "--mqtt-port", "0", "--ws-port", "0", "--ports-file", pf],
                         stdout=logf, stderr=subprocess.STDOUT, preexec_fn=low_limit)
    socks = []
    try:
        wait_for(lambda: os.path.exists(pf) or p.poll() is not None, 10)
        mport = int(dict(x.strip().split("=") for x in open(pf))["mqtt"])
        for _ in range(40):
            try:
                socks.append(socket.create_connection(("127.0.0.1", mport), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        for s in socks:
            s.close()
        socks = []
        time.sleep(0.3)
        ok_after = False
        try:
            raw_client(mport, "after-emfile").close()
            ok_after = True
        except (OSError, EOFError, RuntimeError):
            pass
        log = open(os.path.join(d, "log")).read()
        res.check("EMFILE: says the limit and how to raise it",
                  "too many open files: the limit is 32" in log and "ulimit -n" in log, log[-400:])
        res.check("EMFILE: gateway stays up and serves again", p.poll() is None and ok_after)
    finally:
        for s in socks:
            s.close()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        logf.close()

    # Authentication: password file, loopback-only default, allow-remote.
    pw = os.path.join(tmp, "passwords")
    with open(pw, "w") as f:
        f.write("# user:password\nalice:s3cret\nbob:pw:with:colons\n")

    def connack(port, user=None, password=None, host="127.0.0.1"):
        body = mstr("MQTT") + bytes([4, 0x02 | (0x80 if user else 0) |
                                     (0x40 if password else 0)]) + (60).to_bytes(2, "big")
        body += mstr("authtest") + (mstr(user) if user else b"") + \
            (mstr(password) if password else b"")
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(b"\x10" + varint(len(body)) + body)
                return recv_exact(s, 4)[3]
        except (OSError, EOFError) as e:
            return repr(e)

    with Gateway(gwbin, "--password-file", pw) as gw:
        codes = [connack(gw.mqtt), connack(gw.mqtt, "alice", "s3cret"),
                 connack(gw.mqtt, "alice", "nope"), connack(gw.mqtt, "bob", "pw:with:colons"),
                 connack(gw.mqtt, "carol", "x")]
        res.check("password file: only known user:password pairs connect (3.1.1 codes)",
                  codes == [4, 0, 4, 0, 4], repr(codes))
        gw.stop()
    remote = None
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
        remote = next((a for a in out.split() if "." in a and not a.startswith("127.")), None)
    except (OSError, subprocess.SubprocessError):
        pass
    if remote:
        with Gateway(gwbin, "--mqtt-host", "0.0.0.0") as gw:
            res.check("clients not on loopback are refused by default (0x05)",
                      connack(gw.mqtt, host=remote) == 5 and connack(gw.mqtt) == 0,
                      "%r via %s" % (connack(gw.mqtt, host=remote), remote))
            gw.stop()
        with Gateway(gwbin, "--mqtt-host", "0.0.0.0", "--allow-remote", "yes") as gw:
            res.check("--allow-remote yes lets them in",
                      connack(gw.mqtt, host=remote) == 0)
            gw.stop()
    else:
        print("info: no non-loopback IPv4 address here; remote-client checks not run")

    # writev batching: 10,000 pipelined QoS 0 messages reach one subscriber in far fewer writes.
    with Gateway(gwbin, log_level="warn") as gw:
        sub = raw_client(gw.mqtt, "wsub")
        sub.sendall(subscribe_packet(1, "batch/t", 0))
        recv_packet(sub)
        pub = raw_client(gw.mqtt, "wpub")
        w0 = gw.metrics().get("mqws_writev_calls_total", 0)
        n = 10000  # 750 KB: under out-high (1 MiB), so nothing needs dropping
        d0 = gw.metrics().get("mqws_messages_dropped_total", 0)
        pub.sendall(publish_packet("batch/t", b"x" * 64) * n)
        one = len(publish_packet("batch/t", b"x" * 64))
        got = 0
        sub.settimeout(10)
        try:
            while got < (n - (gw.metrics().get("mqws_messages_dropped_total", 0) - d0)) * one:
                chunk = sub.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except OSError:
            pass
        w1 = gw.metrics().get("mqws_writev_calls_total", 0)
        dropped = gw.metrics().get("mqws_messages_dropped_total", 0) - d0
        res.check("writev batching: %d messages in %d writev calls (%d dropped)"
                  % (n, w1 - w0, dropped),
                  got == (n - dropped) * one and w1 - w0 < n / 20 and dropped < n / 2,
                  "bytes %d of %d" % (got, n * one))
        sub.close()
        pub.close()
        res.check("SIGTERM exits 0 (batching run)", gw.stop() == 0)
    res.exit()


if __name__ == "__main__":
    main()
