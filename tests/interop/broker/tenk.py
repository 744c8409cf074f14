#!/usr/bin/python3
"""10,000 concurrent connections: mqws-loadgen opens 10,000 MQTT 3.1.1 clients from 127.0.0.2..5,
each subscribes to one topic, one message is published and all 10,000 must receive it; the
gateway's /metrics must show 10,000 connected clients while they are held, and 0 after they
leave. Bounded: the load client gives up after 50 s, the whole test after 90 s.

usage: tenk.py MQWS_GATEWAY MQWS_LOADGEN [N]
SPDX-License-Identifier: MIT
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import Gateway, Results, wait_for  # noqa: E402


def main():
    gwbin, loadgen = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    res = Results("10k")
    ready = os.path.join(tempfile.mkdtemp(prefix="mqws-10k-"), "ready")
    with Gateway(gwbin, log_level="warn") as gw:
        base_kib = gw.rss_kib()
        t0 = time.time()
        lg = subprocess.Popen([loadgen, "hold", "--port", str(gw.mqtt), "--clients", str(n),
                               "--sources", "4", "--sub", "tenk/all", "--verify-pub",
                               "--hold", "-1", "--ready-file", ready, "--timeout", "50"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: os.path.exists(ready) or lg.poll() is not None, 70, 0.1)
            elapsed = time.time() - t0
            m = gw.metrics()
            held = m.get("mqws_clients_connected", 0)
            kib = gw.rss_kib()
            res.check("%d clients connected and subscribed in %.1f s" % (n, elapsed),
                      os.path.exists(ready) and held == n, "metrics say %d" % held)
            print("info: RSS %d KiB -> %d KiB with %d clients: %.0f bytes per subscribed client"
                  % (base_kib, kib, n, (kib - base_kib) * 1024.0 / max(n, 1)), flush=True)
            res.check("HTTP still answers with %d clients" % n,
                      m.get("mqws_process_open_fds", 0) >= n)
        finally:
            try:
                out, _ = lg.communicate(input="", timeout=30)
            except subprocess.TimeoutExpired:
                lg.kill()
                out, _ = lg.communicate()
        print(out.strip(), flush=True)
        res.check("every client received the fan-out message",
                  "received=%d " % n in out and lg.returncode == 0, out.strip())
        res.check("all connections released after the clients left",
                  wait_for(lambda: gw.metrics().get("mqws_clients_connected", -1) == 0 and
                           gw.metrics().get('mqws_connections{transport="tcp"}', -1) == 0, 20),
                  repr(gw.metrics().get("mqws_clients_connected")))
        res.check("gateway alive", gw.alive())
        rc = gw.stop()
        res.check("SIGTERM exits 0", rc == 0, "rc=%r" % rc)
    res.exit()


if __name__ == "__main__":
    main()
