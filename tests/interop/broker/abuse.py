#!/usr/bin/python3
"""Abuse: mqws-gateway under malformed packets, half-open and silent connections, slowloris on
the WebSocket handshake, oversize packets, subscribe floods and a subscriber that never reads.
After each round: the gateway is up, a control publisher/subscriber pair still exchanges a
message promptly, and memory returns to its baseline (library heap from /metrics exactly back
to where it was; process RSS from /proc/PID/status within a small allowance, measured after a
warm-up round so allocator caches are already in place).

usage: abuse.py MQWS_GATEWAY
SPDX-License-Identifier: MIT
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (Gateway, Results, connect_packet, publish_packet,  # noqa: E402
                   raw_client, recv_packet, subscribe_packet, varint, wait_for)

RSS_SLACK_KIB = 1024


def closed_by_peer(s, timeout=5.0):
    """True when the gateway closes `s` (EOF or reset) within `timeout`."""
    s.settimeout(0.2)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def heap(gw):
    m = gw.metrics()
    return sum(v for k, v in m.items() if k.startswith("mqws_library_heap_bytes"))


class Control:
    """A subscriber and a publisher that must keep working during the abuse."""

    def __init__(self, gw):
        self.sub = raw_client(gw.mqtt, "ctl-sub")
        self.sub.sendall(subscribe_packet(1, "ctl/t", 0))
        recv_packet(self.sub)  # SUBACK
        self.pub = raw_client(gw.mqtt, "ctl-pub")
        self.n = 0

    def roundtrip(self, timeout=2.0):
        self.n += 1
        payload = b"ping%d" % self.n
        t0 = time.time()
        self.pub.sendall(publish_packet("ctl/t", payload))
        self.sub.settimeout(timeout)
        try:
            while True:
                h, body = recv_packet(self.sub)
                if h >> 4 == 3 and body.endswith(payload):
                    return time.time() - t0
        except (OSError, EOFError):
            return None


def malformed(gw):
    cases = [
        b"\x10\xff\xff\xff\xff\x7f",                              # 5-byte remaining length
        b"\x00\x00",                                              # reserved packet type 0
        b"\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c\x00\x00",          # bad protocol name
        b"\x10\x0c\x00\x04MQTT\x04\x03\x00\x3c\x00\x00",          # reserved connect flag set
        publish_packet("a/b", b"before connect"),                 # PUBLISH before CONNECT
        connect_packet("m1") + connect_packet("m1"),              # second CONNECT
        connect_packet("m2") + b"\x82\x05\x00\x01\x00\x00\x00",  # SUBSCRIBE, empty filter
        connect_packet("m3") + b"\x30\x05\x00\x03a/#x",           # wildcard in topic name
        connect_packet("m4") + b"\x30\x04\x00\x02\xc3\x28",       # invalid UTF-8 topic
        b"GET / HTTP/1.1\r\n\r\n",                                # HTTP on the MQTT port
    ]
    ok = 0
    for data in cases:
        s = socket.create_connection(("127.0.0.1", gw.mqtt), timeout=5)
        s.sendall(data)
        ok += closed_by_peer(s)
        s.close()
    # The same garbage inside WebSocket frames.
    ws = ws_connect(gw.ws)
    ws.sendall(ws_frame(b"\x10\xff\xff\xff\xff\x7f"))
    ok += closed_by_peer(ws)
    ws.close()
    return ok == len(cases) + 1, "%d of %d closed" % (ok, len(cases) + 1)


def ws_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Protocol: mqtt\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("no 101")
        data += chunk
    if not data.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(data[:40])
    return s


def ws_frame(payload, length=None):
    n = len(payload) if length is None else length
    if n < 126:
        head = bytes([0x82, 0x80 | n])
    elif n < 65536:
        head = bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x82, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload  # zero mask key: payload unchanged


def silent(gw, n=200):
    """TCP connections that never send CONNECT, and clients that go quiet after CONNECT."""
    socks = [socket.create_connection(("127.0.0.1", gw.mqtt), timeout=5) for _ in range(n)]
    quiet = []
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", gw.mqtt), timeout=5)
        s.sendall(connect_packet("quiet%d" % i, keepalive=1))
        recv_packet(s)
        quiet.append(s)
    t0 = time.time()
    closed = sum(closed_by_peer(s, 6) for s in socks + quiet)
    for s in socks + quiet:
        s.close()
    return closed == n + 20, "%d of %d closed in %.1f s" % (closed, n + 20, time.time() - t0)


def slowloris(gw, n=200):
    """Upgrade requests trickled one header line at a time: closed at the handshake timeout."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", gw.ws), timeout=5)
        s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    t0 = time.time()
    alive = list(socks)
    closed = 0
    i = 0
    while alive and time.time() - t0 < 8:
        for s in list(alive):
            try:
                s.sendall(b"X-Slow-%d: y\r\n" % i)
            except OSError:
                alive.remove(s)
                closed += 1
                continue
            s.settimeout(0.001)
            try:
                if s.recv(4096) == b"":
                    alive.remove(s)
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                alive.remove(s)
                closed += 1
        i += 1
        time.sleep(0.2)
    for s in socks:
        s.close()
    return closed == n, "%d of %d closed in %.1f s" % (closed, n, time.time() - t0)


def oversize(gw):
    """Packets over --max-packet-size (64 KiB here): refused from the fixed header."""
    ok = 0
    s = raw_client(gw.mqtt, "big1")
    s.sendall(b"\x30" + varint(200 * 1024 * 1024) + b"\x00\x01a")  # announces 200 MiB
    ok += closed_by_peer(s)
    s.close()
    s = raw_client(gw.mqtt, "big2")
    try:
        s.sendall(publish_packet("a", b"x" * (256 * 1024)))  # really sends 256 KiB
    except OSError:
        pass
    ok += closed_by_peer(s)
    s.close()
    ws = ws_connect(gw.ws)
    ws.sendall(ws_frame(b"", length=1 << 40)[:14])  # a 1 TiB frame header
    ok += closed_by_peer(ws)
    ws.close()
    # HTTP head larger than the handshake limit
    h = socket.create_connection(("127.0.0.1", gw.ws), timeout=5)
    try:
        h.sendall(b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 65536 + b"\r\n\r\n")
    except OSError:
        pass
    ok += closed_by_peer(h)
    h.close()
    return ok == 4, "%d of 4 closed" % ok


def subscribe_flood(gw, n=3000):
    """One client subscribes to n distinct filters (one SUBSCRIBE each, pipelined), then one
    SUBSCRIBE with 500 entries; it leaves and every subscription goes with it."""
    before = gw.metrics().get("mqws_subscriptions", 0)
    s = raw_client(gw.mqtt, "flood")
    s.sendall(b"".join(subscribe_packet(1 + i % 65000, "flood/%d/+/#" % i, 1) for i in range(n)))
    body = b"".join(len(t).to_bytes(2, "big") + t + b"\x01"
                    for t in (b"flood/many/%d" % i for i in range(500)))
    body = (7).to_bytes(2, "big") + body
    s.sendall(b"\x82" + varint(len(body)) + body)
    got = 0
    s.settimeout(10)
    try:
        while got < n + 1:
            h, _ = recv_packet(s)
            if h >> 4 == 9:
                got += 1
    except (OSError, EOFError):
        pass
    peak = gw.metrics().get("mqws_subscriptions", 0)
    s.sendall(b"\xe0\x00")  # DISCONNECT
    s.close()
    gone = wait_for(lambda: gw.metrics().get("mqws_subscriptions", -1) == before, 5)
    return got == n + 1 and peak >= before + n + 500 and gone, \
        "subacks=%d peak=%d before=%d" % (got, peak, before)


def slow_reader(gw):
    """A subscriber that never reads while 64 MiB of QoS 0 is published to it: the gateway's
    memory stays bounded (out-high), the excess is dropped and counted, the publisher is not
    disconnected."""
    before = gw.metrics().get("mqws_messages_dropped_total", 0)
    rss0 = gw.rss_kib()
    lazy = raw_client(gw.mqtt, "lazy")
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.sendall(subscribe_packet(1, "slow/t", 0))
    recv_packet(lazy)
    pub = raw_client(gw.mqtt, "fast")
    chunk = publish_packet("slow/t", b"z" * 16384) * 64  # 1 MiB per write
    for _ in range(64):
        pub.sendall(chunk)
    pub.sendall(b"\xc0\x00")  # PINGREQ: answered once everything before it was read
    pub.settimeout(20)
    ping_ok = recv_packet(pub)[0] == 0xD0
    peak_kib = gw.rss_kib()
    dropped = gw.metrics().get("mqws_messages_dropped_total", 0) - before
    lazy.close()
    pub.close()
    return ping_ok and dropped > 0 and peak_kib - rss0 < 16 * 1024, \
        "ping=%s dropped=%d rss %d -> %d KiB" % (ping_ok, dropped, rss0, peak_kib)


def slow_reader_qos1(gw, n=5000):
    """The same with QoS 1 (2 KiB payloads, 10 MiB in all): nothing accepted is lost, so the
    broker does not drop for a connected subscriber; once the lazy subscriber's session queue
    passes its high watermark the publisher is paused (not read, no more PUBACKs). When the lazy
    subscriber goes away the publisher resumes and gets every PUBACK; memory stays bounded."""
    import threading
    before = gw.metrics().get("mqws_messages_dropped_total", 0)
    rss0 = gw.rss_kib()
    lazy = raw_client(gw.mqtt, "lazy1")
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.sendall(subscribe_packet(1, "slow1/t", 1))
    recv_packet(lazy)
    pub = raw_client(gw.mqtt, "fast1")
    data = b"".join(publish_packet("slow1/t", b"q" * 2048, qos=1, pid=1 + i % 60000)
                    for i in range(n))
    sender = threading.Thread(target=pub.sendall, args=(data,), daemon=True)
    sender.start()
    acks = 0
    pub.settimeout(1.5)  # the publisher is paused: PUBACKs stop
    try:
        while acks < n:
            h, _ = recv_packet(pub)
            acks += h >> 4 == 4
    except (OSError, EOFError):
        pass
    acks_paused = acks
    peak_kib = gw.rss_kib()
    dropped_paused = gw.metrics().get("mqws_messages_dropped_total", 0) - before
    lazy.close()  # its session ends: the publisher goes on
    pub.settimeout(20)
    try:
        while acks < n:
            h, _ = recv_packet(pub)
            acks += h >> 4 == 4
    except (OSError, EOFError):
        pass
    sender.join(5)
    peak_kib = max(peak_kib, gw.rss_kib())
    pub.close()
    return acks_paused < n and acks == n and dropped_paused == 0 and \
        peak_kib - rss0 < 16 * 1024, \
        "pubacks while paused=%d, at the end=%d/%d dropped=%d rss %d -> %d KiB" % (
            acks_paused, acks, n, dropped_paused, rss0, peak_kib)


ROUNDS = [("malformed packets", malformed), ("silent and quiet connections", silent),
          ("slowloris on the WebSocket handshake", slowloris), ("oversize packets", oversize),
          ("subscribe flood", subscribe_flood), ("subscriber that never reads", slow_reader),
          ("QoS 1 subscriber that never reads", slow_reader_qos1)]


def main():
    res = Results("abuse")
    # $SYS off: its first retained statistics (10 s after start) would land in whichever round
    # is running then and look like a leak of that round.
    with Gateway(sys.argv[1], "--connect-timeout", "1000", "--ws-handshake-timeout", "1000",
                 "--max-packet-size", "65536", "--sys-interval", "0", log_level="warn") as gw:
        try:
            ctl = Control(gw)
            res.check("control round trip before", ctl.roundtrip() is not None)
            for name, fn in ROUNDS:
                heap_first = heap(gw)
                fn(gw)  # warm-up: allocator caches, socket buffers, index tables
                wait_for(lambda: gw.metrics().get('mqws_connections{transport="tcp"}', 99) <= 2 and
                         gw.metrics().get('mqws_connections{transport="ws"}', 99) <= 1, 10)
                heap0, rss0 = heap(gw), gw.rss_kib()
                ok, detail = fn(gw)
                res.check(name, ok, detail)
                rt = ctl.roundtrip()
                res.check(name + ": others unaffected", rt is not None and rt < 2.0, repr(rt))
                wait_for(lambda: gw.metrics().get('mqws_connections{transport="tcp"}', 99) <= 2 and
                         gw.metrics().get('mqws_connections{transport="ws"}', 99) <= 1, 10)
                heap1 = wait_for(lambda: heap(gw) <= heap0 + 256, 5) and heap(gw)
                rss1 = gw.rss_kib()
                res.check(name + ": memory back to baseline",
                          heap(gw) <= heap0 + 256 and rss1 <= rss0 + RSS_SLACK_KIB,
                          "heap %d -> %d B, rss %d -> %d KiB" % (heap0, heap(gw), rss0, rss1))
                print("info: %s: library heap %d before the warm-up round, %d before the "
                      "measured round, %s after it; RSS %d -> %d KiB"
                      % (name, heap_first, heap0, heap1, rss0, rss1), flush=True)
            res.check("gateway alive", gw.alive())
        except Exception as e:
            res.check("abuse rounds ran", False, repr(e))
        finally:
            rc = gw.stop()
        res.check("SIGTERM exits 0", rc == 0, "rc=%r" % rc)
        if res.failed():
            print("---- gateway log (tail) ----\n" + "\n".join(gw.read_log().splitlines()[-30:]))
    res.exit()


if __name__ == "__main__":
    main()
