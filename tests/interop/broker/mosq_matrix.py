#!/usr/bin/python3
"""Interop: mosquitto_pub / mosquitto_sub (-V 31, 311, 5) against mqws-gateway over TCP.
For each version: QoS 0/1/2 delivery, retained, wildcard and shared subscriptions, will on
abnormal disconnect (the client is killed with SIGKILL), session resume with queued QoS 1
messages, and (5.0) subscription identifiers and user properties delivered intact.

usage: mosq_matrix.py MQWS_GATEWAY
Exit 0: all passed; 1: a check failed; 77: mosquitto clients are missing (skipped).
SPDX-License-Identifier: MIT
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import SKIP, Gateway, Results, wait_for  # noqa: E402

PUB = shutil.which("mosquitto_pub")
SUB = shutil.which("mosquitto_sub")
if not PUB or not SUB:
    print("SKIP: mosquitto_pub/mosquitto_sub missing (apt-get install mosquitto-clients)")
    sys.exit(SKIP)

TIMEOUT = 10


class Env:
    def __init__(self, gw):
        self.gw = gw
        self.procs = []

    def subs_now(self):
        return self.gw.metrics().get("mqws_subscriptions", 0)

    def sub(self, version, topics, extra=(), count=None, wait_s=5):
        """Start mosquitto_sub printing JSON lines; returns once its subscriptions exist."""
        before = self.subs_now()
        args = [SUB, "-p", str(self.gw.mqtt), "-V", version, "-F", "%j", "-W", str(wait_s)]
        for t in topics:
            args += ["-t", t]
        if count:
            args += ["-C", str(count)]
        args += list(extra)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        wait_for(lambda: self.subs_now() >= before + len(topics) or p.poll() is not None, 5)
        return p

    def pub(self, version, topic, msg, qos=0, extra=(), lines=None):
        args = [PUB, "-p", str(self.gw.mqtt), "-V", version, "-t", topic, "-q", str(qos)]
        args += ["-l"] if lines is not None else ["-m", msg]
        args += list(extra)
        r = subprocess.run(args, input="\n".join(lines) + "\n" if lines is not None else None,
                           capture_output=True, text=True, timeout=TIMEOUT)
        return r.returncode == 0

    @staticmethod
    def collect(p):
        try:
            out, _ = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        msgs = []
        for line in out.splitlines():
            try:
                msgs.append(json.loads(line))
            except ValueError:
                pass
        return msgs

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def suite(env, res, version):
    tag = "-V %s " % version
    u = uuid.uuid4().hex[:6]

    s = env.sub(version, ["q/" + u], ["-q", "2"], count=3)
    for q in (0, 1, 2):
        env.pub(version, "q/" + u, "qos%d" % q, q)
    got = sorted((m["payload"], m["qos"]) for m in env.collect(s))
    res.check(tag + "QoS 0/1/2 delivery", got == [("qos0", 0), ("qos1", 1), ("qos2", 2)],
              repr(got))

    env.pub(version, "r/" + u, "keep", 1, ["-r"])
    s = env.sub(version, ["r/" + u], ["-q", "1"], count=1)
    got = [(m["payload"], m["retain"]) for m in env.collect(s)]
    res.check(tag + "retained", got == [("keep", 1)], repr(got))
    env.pub(version, "r/" + u, "", 1, ["-r", "-n"])

    s = env.sub(version, ["w/%s/+/x" % u, "w/%s/m/#" % u], ["-q", "1"], wait_s=4)
    for t in ("w/%s/a/x" % u, "w/%s/a/b/x" % u, "w/%s/m/1/2" % u, "w/%s/z" % u):
        env.pub(version, t, t, 1)
    got = sorted(m["topic"] for m in env.collect(s))
    res.check(tag + "wildcard subscriptions", got == sorted(["w/%s/a/x" % u, "w/%s/m/1/2" % u]),
              repr(got))

    grp = "$share/g%s/sh/%s" % (u, u)
    a = env.sub(version, [grp], ["-q", "1"], wait_s=4)
    b = env.sub(version, [grp], ["-q", "1"], wait_s=4)
    env.pub(version, "sh/" + u, None, 1, lines=[str(i) for i in range(10)])
    ga, gb = env.collect(a), env.collect(b)
    allp = sorted(int(m["payload"]) for m in ga + gb)
    res.check(tag + "shared subscription", allp == list(range(10)),
              "a=%d b=%d %r" % (len(ga), len(gb), allp))

    s = env.sub(version, ["will/%s/#" % u], ["-q", "1"], count=1, wait_s=4)
    w = env.sub(version, ["idle/" + u],
                ["--will-topic", "will/%s/a" % u, "--will-payload", "gone", "--will-qos", "1"],
                wait_s=30)
    w.send_signal(signal.SIGKILL)
    w.wait()
    got = [(m["topic"], m["payload"]) for m in env.collect(s)]
    res.check(tag + "will on abnormal disconnect", got == [("will/%s/a" % u, "gone")], repr(got))

    cid = "mr" + u
    persist = ["-c", "-i", cid, "-q", "1"] + (["-x", "300"] if version == "5" else [])
    first = env.sub(version, ["sess/" + u], persist + ["-E"])
    env.collect(first)
    for i in range(3):
        env.pub(version, "sess/" + u, "queued%d" % i, 1)
    s = env.sub(version, ["sess/" + u], persist, count=3)
    got = [m["payload"] for m in env.collect(s)]
    res.check(tag + "session resume with queued QoS 1", got == ["queued0", "queued1", "queued2"],
              repr(got))
    env.collect(env.sub(version, ["sess/" + u], ["-i", cid, "-E"]))  # end the session

    if version == "5":
        s = env.sub(version, ["sid/%s/#" % u], ["-q", "1", "-D", "subscribe",
                                                "subscription-identifier", "42"], count=1)
        env.pub(version, "sid/%s/1" % u, "props", 1,
                ["-D", "publish", "user-property", "k", "v", "-D", "publish", "content-type",
                 "text/plain"])
        got = env.collect(s)
        props = got[0].get("properties", {}) if got else {}
        res.check(tag + "subscription identifiers and user properties",
                  props.get("subscription-identifier") == 42 and
                  props.get("user-properties") == {"k": "v"} and
                  props.get("content-type") == "text/plain", repr(got))


def main():
    res = Results("mosquitto-clients")
    with Gateway(sys.argv[1]) as gw:
        env = Env(gw)
        try:
            for version in ("31", "311", "5"):
                try:
                    suite(env, res, version)
                except Exception as e:
                    res.check("-V %s suite ran" % version, False, repr(e))
            res.check("gateway alive", gw.alive())
        finally:
            env.cleanup()
            rc = gw.stop()
        res.check("SIGTERM exits 0", rc == 0, "rc=%r" % rc)
        log = open(gw.log_path).read()
        res.check("3.1 clients logged as proto=3.1/tcp", "proto=3.1/tcp" in log)
        if res.failed():
            print("---- gateway log (tail) ----\n" + "\n".join(log.splitlines()[-40:]))
    res.exit()


if __name__ == "__main__":
    main()
