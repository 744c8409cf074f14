#!/usr/bin/python3
"""Interop: Python paho-mqtt 1.6 clients against mqws-gateway, over TCP and WebSocket, with
MQTT 3.1.1 and 5.0. For each of the four combinations: QoS 0/1/2 delivery, retained, wildcard
and shared subscriptions, will on abnormal disconnect, session resume with queued QoS 1
messages, and (5.0) subscription identifiers and user properties delivered intact. Also checks
the HTTP side of the WebSocket port (/metrics, /, /stats.json).

usage: paho_matrix.py MQWS_GATEWAY
Exit 0: all passed; 1: a check failed; 77: paho-mqtt is missing (skipped).
SPDX-License-Identifier: MIT
"""
import os
import queue
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import SKIP, Gateway, Results, prometheus_problems, wait_for  # noqa: E402

try:
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions
except ImportError:
    print("SKIP: python3-paho-mqtt is missing (apt-get install python3-paho-mqtt)")
    sys.exit(SKIP)

WAIT = 5.0


class Client:
    def __init__(self, gw, transport, v5, client_id=None, clean=True, will=None, expiry=None):
        self.v5 = v5
        self.msgs = queue.Queue()
        self.connack = queue.Queue()
        self.subacks = queue.Queue()
        cid = client_id or "paho-" + uuid.uuid4().hex[:10]
        if v5:
            self.c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5, transport=transport)
        else:
            self.c = mqtt.Client(client_id=cid, clean_session=clean, protocol=mqtt.MQTTv311,
                                 transport=transport)
        if transport == "websockets":
            self.c.ws_set_options(path="/mqtt")
        if will:
            self.c.will_set(will[0], will[1], qos=1)
        self.c.on_message = lambda c, u, m: self.msgs.put(m)
        if v5:
            self.c.on_connect = lambda c, u, f, rc, p=None: self.connack.put((f, rc))
            self.c.on_subscribe = lambda c, u, mid, rcs, p=None: self.subacks.put(rcs)
        else:
            self.c.on_connect = lambda c, u, f, rc: self.connack.put((f, rc))
            self.c.on_subscribe = lambda c, u, mid, q: self.subacks.put(q)
        port = gw.ws if transport == "websockets" else gw.mqtt
        if v5:
            props = None
            if expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = expiry
            self.c.connect("127.0.0.1", port, keepalive=30, clean_start=clean, properties=props)
        else:
            self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        flags, rc = self.connack.get(timeout=WAIT)
        self.session_present = flags.get("session present", 0)
        if rc != 0:
            raise RuntimeError("CONNACK %s" % rc)

    def sub(self, topic, qos=2, sub_id=None):
        if self.v5:
            props = None
            if sub_id:
                props = Properties(PacketTypes.SUBSCRIBE)
                props.SubscriptionIdentifier = sub_id
            self.c.subscribe(topic, options=SubscribeOptions(qos=qos), properties=props)
        else:
            self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=WAIT)

    def pub(self, topic, payload, qos=0, retain=False, props=None):
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if qos:
            info.wait_for_publish(timeout=WAIT)
        return info

    def get(self, timeout=WAIT):
        try:
            return self.msgs.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self, settle=0.3, expect=0):
        """Wait (up to WAIT) until `expect` messages are there, then take everything that
        arrives until `settle` seconds pass without a message."""
        wait_for(lambda: self.msgs.qsize() >= expect, WAIT)
        out = []
        while True:
            m = self.get(timeout=settle)
            if m is None:
                return out
            out.append(m)

    def close(self):
        try:
            self.c.disconnect()
        except Exception:
            pass
        self.c.loop_stop()

    def kill(self):
        """Drop the TCP connection without DISCONNECT (an abnormal disconnect)."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            try:
                import socket as _s
                sock.shutdown(_s.SHUT_RDWR)
            except Exception:
                pass
            sock.close()


def suite(gw, res, transport, v5):
    tag = "%s %s " % ("ws" if transport == "websockets" else "tcp", "5.0" if v5 else "3.1.1")
    u = uuid.uuid4().hex[:6]

    # QoS 0/1/2 delivery at the subscription's QoS 2: each arrives once at its own QoS.
    s = Client(gw, transport, v5)
    p = Client(gw, transport, v5)
    s.sub("q/%s" % u, 2)
    for q in (0, 1, 2):
        p.pub("q/%s" % u, b"qos%d" % q, qos=q)
    got = s.drain(0.3, expect=3)
    ok = sorted((m.payload, m.qos) for m in got) == [(b"qos0", 0), (b"qos1", 1), (b"qos2", 2)]
    res.check(tag + "QoS 0/1/2 delivery", ok, repr([(m.payload, m.qos) for m in got]))

    # Retained: a later subscriber gets the last retained message with the retain flag.
    p.pub("r/%s" % u, b"old", qos=1, retain=True)
    p.pub("r/%s" % u, b"keep", qos=1, retain=True)
    time.sleep(0.1)
    s2 = Client(gw, transport, v5)
    s2.sub("r/%s" % u, 1)
    m = s2.get()
    res.check(tag + "retained", m is not None and m.payload == b"keep" and m.retain,
              repr(m and (m.payload, m.retain)))
    p.pub("r/%s" % u, b"", qos=1, retain=True)  # clear it
    s2.close()

    # Wildcards: + matches one level, # many; non-matching topics are not delivered.
    s.sub("w/%s/+/x" % u, 1)
    s.sub("w/%s/m/#" % u, 1)
    for t in ("w/%s/a/x" % u, "w/%s/a/b/x" % u, "w/%s/m/1/2" % u, "w/%s/z" % u):
        p.pub(t, t.encode(), qos=1)
    got = sorted(m.topic for m in s.drain(0.3, expect=2))
    res.check(tag + "wildcard subscriptions", got == sorted(["w/%s/a/x" % u, "w/%s/m/1/2" % u]),
              repr(got))

    # Shared subscription: each message goes to exactly one member of the group.
    a = Client(gw, transport, v5)
    b = Client(gw, transport, v5)
    a.sub("$share/g%s/sh/%s" % (u, u), 1)
    b.sub("$share/g%s/sh/%s" % (u, u), 1)
    for i in range(20):
        p.pub("sh/%s" % u, b"%d" % i, qos=1)
    wait_for(lambda: a.msgs.qsize() + b.msgs.qsize() >= 20, WAIT)
    ga, gb = a.drain(0.3), b.drain(0.1)
    allp = sorted(int(m.payload) for m in ga + gb)
    res.check(tag + "shared subscription", allp == list(range(20)),
              "a=%d b=%d %r" % (len(ga), len(gb), allp))
    a.close()
    b.close()

    # Will on abnormal disconnect (and none after a normal DISCONNECT).
    s.sub("will/%s/#" % u, 1)
    wc = Client(gw, transport, v5, will=("will/%s/a" % u, b"gone"))
    wn = Client(gw, transport, v5, will=("will/%s/n" % u, b"never"))
    time.sleep(0.1)
    wn.close()
    wc.kill()
    m = s.get()
    extra = s.drain(0.3)
    res.check(tag + "will on abnormal disconnect",
              m is not None and m.topic == "will/%s/a" % u and m.payload == b"gone" and not extra,
              repr(m and (m.topic, m.payload)) + " extra=%r" % [x.topic for x in extra])

    # Session resume: QoS 1 messages queued while offline arrive after reconnecting.
    cid = "paho-resume-" + u
    r = Client(gw, transport, v5, client_id=cid, clean=False, expiry=300 if v5 else None)
    r.sub("sess/%s" % u, 1)
    r.close()
    time.sleep(0.1)
    for i in range(3):
        p.pub("sess/%s" % u, b"queued%d" % i, qos=1)
    time.sleep(0.1)
    r = Client(gw, transport, v5, client_id=cid, clean=False, expiry=300 if v5 else None)
    got = [m.payload for m in r.drain(0.3, expect=3)]
    res.check(tag + "session resume with queued QoS 1",
              r.session_present and got == [b"queued0", b"queued1", b"queued2"],
              "session_present=%s got=%r" % (r.session_present, got))
    r.close()
    if v5:  # end the session
        r = Client(gw, transport, v5, client_id=cid, clean=True, expiry=0)
        r.close()

    # 5.0: subscription identifiers and user properties arrive intact.
    if v5:
        v = Client(gw, transport, v5)
        v.sub("sid/%s/#" % u, 1, sub_id=42)
        v.sub("sid/%s/+" % u, 1, sub_id=7)
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("k", "v"), ("k", "v2"), ("π", "ünïcode")]
        props.ContentType = "text/plain"
        p.pub("sid/%s/1" % u, b"props", qos=1, props=props)
        got = v.drain(0.3, expect=1)
        ids = sorted(i for m in got for i in (getattr(m.properties, "SubscriptionIdentifier",
                                                       None) or []))
        ups = [getattr(m.properties, "UserProperty", None) for m in got]
        ok = (len(got) >= 1 and ids in ([7, 42],) and
              all(x == [("k", "v"), ("k", "v2"), ("π", "ünïcode")] for x in ups) and
              all(getattr(m.properties, "ContentType", None) == "text/plain" for m in got))
        res.check(tag + "subscription identifiers and user properties", ok,
                  "ids=%r user=%r n=%d" % (ids, ups, len(got)))
        v.close()
    s.close()
    p.close()


def http_checks(gw, res):
    head, body = gw.http_get("/metrics")
    res.check("http GET /metrics", head.startswith("HTTP/1.1 200") and
              "# TYPE mqws_connections gauge" in body and
              'mqws_loop_pass_seconds_bucket{le="+Inf"}' in body and
              "mqws_process_resident_memory_bytes" in body, head.splitlines()[0])
    problems = prometheus_problems(body)
    res.check("http /metrics is valid Prometheus text format 0.0.4", not problems,
              "; ".join(problems[:5]))
    res.check("http /metrics content type", "text/plain; version=0.0.4" in head)
    head, body = gw.http_get("/")
    res.check("http GET / status page", head.startswith("HTTP/1.1 200") and
              "clients connected" in body and 'http-equiv="refresh"' in body)
    head, body = gw.http_get("/stats.json")
    res.check("http GET /stats.json", head.startswith("HTTP/1.1 200") and '"messages_in"' in body)
    head, _ = gw.http_get("/nope")
    res.check("http GET unknown path is 404", head.startswith("HTTP/1.1 404"))


def main():
    gwbin = sys.argv[1]
    res = Results("paho")
    with Gateway(gwbin) as gw:
        try:
            for transport in ("tcp", "websockets"):
                for v5 in (False, True):
                    try:
                        suite(gw, res, transport, v5)
                    except Exception as e:  # a client error is a failure, never a skip
                        res.check("%s %s suite ran" % (transport, "5.0" if v5 else "3.1.1"),
                                  False, repr(e))
            http_checks(gw, res)
            m = gw.metrics()
            res.check("metrics count messages", m.get("mqws_messages_received_total", 0) > 50,
                      repr(m.get("mqws_messages_received_total")))
            res.check("gateway alive", gw.alive())
        finally:
            rc = gw.stop()
        res.check("SIGTERM exits 0", rc == 0, "rc=%r" % rc)
        log = gw.read_log() if False else open(gw.log_path).read()
        res.check("logs connect lines with id, address, protocol",
                  "connect client=\"paho-" in log and "proto=5.0/ws" in log and
                  "proto=3.1.1/tcp" in log)
        if res.failed():
            print("---- gateway log (tail) ----\n" + "\n".join(log.splitlines()[-40:]))
    res.exit()


if __name__ == "__main__":
    main()
