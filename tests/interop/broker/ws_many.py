#!/usr/bin/python3
"""Many WebSocket clients at once: N (default 1,000) Python `websockets` clients open
ws://.../mqtt with the `mqtt` subprotocol, CONNECT (3.1.1, raw bytes in binary frames) and
SUBSCRIBE; one message published over TCP must reach all of them; /metrics must count them as
WebSocket connections while they are open and none after they close. Bounded: 60 s.

usage: ws_many.py MQWS_GATEWAY [N]
Exit 0: passed; 1: failed; 77: python3-websockets is missing (skipped).
SPDX-License-Identifier: MIT
"""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (SKIP, Gateway, Results, connect_packet, publish_packet,  # noqa: E402
                   raw_client, subscribe_packet, wait_for)

try:
    import websockets
except ImportError:
    print("SKIP: python3-websockets is missing (apt-get install python3-websockets)")
    sys.exit(SKIP)


async def one(port, i, subscribed, start, got, sem):
    """One client. `sem` bounds the handshakes in flight: released once subscribed."""
    held = True
    await sem.acquire()
    try:
        async with websockets.connect("ws://127.0.0.1:%d/mqtt" % port, subprotocols=["mqtt"],
                                      max_size=None, open_timeout=30, close_timeout=5) as ws:
            await ws.send(connect_packet("ws-many-%d" % i))
            ack = await ws.recv()
            if ack[:2] != b"\x20\x02" or ack[3] != 0:
                raise RuntimeError("CONNACK %r" % ack)
            await ws.send(subscribe_packet(1, "wsmany/all", 0))
            await ws.recv()  # SUBACK
            subscribed.append(i)
            sem.release()
            held = False
            await start.wait()
            data = b""
            while b"hello-ws" not in data:
                data += await asyncio.wait_for(ws.recv(), 20)
            got.append(i)
            await start_close.wait()
    finally:
        if held:
            sem.release()


start_close = None


async def run(gw, n, res):
    global start_close
    subscribed, got = [], []
    start, start_close = asyncio.Event(), asyncio.Event()
    sem = asyncio.Semaphore(200)  # handshakes in flight

    t0 = time.time()
    tasks = [asyncio.create_task(one(gw.ws, i, subscribed, start, got, sem)) for i in range(n)]
    while len(subscribed) < n and time.time() - t0 < 40 and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    res.check("%d WebSocket clients connected and subscribed (%.1f s)"
              % (n, time.time() - t0), len(subscribed) == n, "%d of %d" % (len(subscribed), n))
    m = await asyncio.get_running_loop().run_in_executor(None, gw.metrics)
    res.check("/metrics counts them as WebSocket connections",
              m.get('mqws_connections{transport="ws"}', 0) >= n,
              repr(m.get('mqws_connections{transport="ws"}')))
    pub = raw_client(gw.mqtt, "ws-many-pub")
    start.set()
    pub.sendall(publish_packet("wsmany/all", b"hello-ws"))
    t1 = time.time()
    while len(got) < len(subscribed) and time.time() - t1 < 20:
        await asyncio.sleep(0.05)
    res.check("the fan-out message reached every WebSocket client", len(got) == n,
              "%d of %d" % (len(got), n))
    pub.close()
    start_close.set()
    await asyncio.wait(tasks, timeout=20)
    for t in tasks:
        if not t.done():
            t.cancel()


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    res = Results("ws-many")
    with Gateway(sys.argv[1], log_level="warn") as gw:
        try:
            asyncio.run(asyncio.wait_for(run(gw, n, res), 60))
        except Exception as e:
            res.check("run finished", False, repr(e))
        res.check("all released after they closed",
                  wait_for(lambda: gw.metrics().get('mqws_connections{transport="ws"}', -1) <= 1,
                           15))
        res.check("gateway alive", gw.alive())
        res.check("SIGTERM exits 0", gw.stop() == 0)
    res.exit()


if __name__ == "__main__":
    main()
