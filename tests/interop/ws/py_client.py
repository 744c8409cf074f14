"""Interop: python3-websockets client (and raw-socket protocol checks) against mqws-ws-echo.

usage: /usr/bin/python3 py_client.py PATH/TO/mqws-ws-echo
Exit 0 on success, 1 on failure, 77 if python3-websockets is missing.
SPDX-License-Identifier: MIT
"""
import asyncio
import base64
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_server import EchoServer  # noqa: E402

try:
    import websockets
except ImportError:
    print("SKIP: python3-websockets is not installed (apt-get install python3-websockets)")
    sys.exit(77)

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


async def messages(port):
    uri = "ws://127.0.0.1:%d/" % port
    async with websockets.connect(uri, max_size=None, open_timeout=5, close_timeout=5) as ws:
        # browsers and websockets offer permessage-deflate; it must be declined
        check(not ws.extensions, "permessage-deflate declined")
        for n in SIZES:
            payload = os.urandom(n)
            await ws.send(payload)
            got = await asyncio.wait_for(ws.recv(), 10)
            check(got == payload, "binary %d bytes echoed" % n)
            text = ("é" * (n // 2))[: n // 2]
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 10)
            check(got == text, "text %d chars echoed" % len(text))
        await ws.send(["frag", "mented ", "téxt"])
        check(await asyncio.wait_for(ws.recv(), 5) == "fragmented téxt", "fragmented text")
        await ws.send([b"\x00\x01", b"", b"\x02" * 70000])
        got = await asyncio.wait_for(ws.recv(), 5)
        check(got == b"\x00\x01" + b"\x02" * 70000, "fragmented binary")
        for data in (b"", b"x" * 125, b"ping!"):
            waiter = await ws.ping(data)
            await asyncio.wait_for(waiter, 5)
            check(True, "ping %d bytes answered" % len(data))
        await ws.close(4000, "bye")
        check(ws.close_code == 4000, "close code 4000 echoed (got %s)" % ws.close_code)
    for code in (1000, 1001, 3000, 4999):
        async with websockets.connect(uri, open_timeout=5, close_timeout=5) as ws:
            await ws.close(code)
            check(ws.close_code == code, "close code %d echoed" % code)


async def subprotocols(port):
    uri = "ws://127.0.0.1:%d/mqtt" % port
    async with websockets.connect(uri, subprotocols=["foo", "mqtt"], open_timeout=5) as ws:
        check(ws.subprotocol == "mqtt", "subprotocol mqtt selected")


def raw_handshake(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed during handshake")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, head.split(b"\r\n\r\n", 1)[1]


def masked(b0, payload, length=None):
    key = os.urandom(4)
    n = len(payload) if length is None else length
    if n < 126:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def expect_close(port, frames, code, what):
    """Send raw frames; the server must answer a close with `code` and then close TCP."""
    s, rest = raw_handshake(port)
    try:
        s.sendall(frames)
        data = rest
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        ok = len(data) >= 4 and data[0] == 0x88 and struct.unpack("!H", data[2:4])[0] == code
        check(ok, "%s -> close %d, server closes TCP (got %r)" % (what, code, data[:8]))
    except socket.timeout:
        check(False, "%s: timed out" % what)
    finally:
        s.close()


def protocol_errors(port):
    expect_close(port, bytes([0x82, 0x01, 0x41]), 1002, "unmasked client frame")
    expect_close(port, masked(0xC2, b"x"), 1002, "RSV1 without extension")
    expect_close(port, masked(0x83, b"x"), 1002, "reserved opcode 3")
    expect_close(port, masked(0x80, b"x"), 1002, "continuation without start")
    expect_close(port, masked(0x09, b"x"), 1002, "fragmented ping")
    expect_close(port, masked(0x81, b"ok\xff"), 1007, "invalid UTF-8 text")
    expect_close(port, masked(0x88, struct.pack("!H", 1005)), 1002, "close code 1005 on wire")
    s, rest = raw_handshake(port)
    s.sendall(masked(0x88, b""))
    data = rest
    while True:
        chunk = s.recv(100)
        if not chunk:
            break
        data += chunk
    s.close()
    check(data == b"\x88\x00", "empty close answered with empty close (got %r)" % data)


def too_big(port):
    # announce 2 MiB against --max-message 1048576: refused from the header alone
    expect_close(port, masked(0x82, b"", length=2 << 20)[:14], 1009, "frame above limit")


def plain_http(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    check(data.startswith(b"HTTP/1.1 200 "), "plain HTTP request served")


def main():
    exe = sys.argv[1]
    with EchoServer(exe, "--max-message", str(1 << 20)) as srv:
        asyncio.run(asyncio.wait_for(messages(srv.port), 120))
        protocol_errors(srv.port)
        too_big(srv.port)
        plain_http(srv.port)
        rc = srv.stop()
        check(rc == 0, "server exits 0 on SIGTERM (rc=%s)" % rc)
    with EchoServer(exe, "--subprotocol", "mqtt") as srv:
        asyncio.run(asyncio.wait_for(subprotocols(srv.port), 30))
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
