#!/usr/bin/python3
"""Interop: mqws's client role (mqws-pub / mqws-sub) against the Debian mosquitto broker.

Starts mosquitto on free loopback ports with a generated configuration (TCP, WebSocket, and a
listener that refuses anonymous clients), runs every case for MQTT 3.1.1 and 5.0, and
cross-checks with mosquitto_pub / mosquitto_sub in both directions. Every subprocess has a
timeout; the broker is always killed. Exit 0: all passed; 1: a case failed; 77: a peer program
is missing (skipped).

usage: mosquitto_interop.py MQWS_PUB MQWS_SUB [--resume-driver CLIENT_RESUME] [CASE-SUBSTRING...]
SPDX-License-Identifier: MIT
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

TIMEOUT = 20  # seconds, for any single client process


def find(prog, extra=()):
    path = shutil.which(prog)
    if path:
        return path
    for d in extra:
        p = os.path.join(d, prog)
        if os.access(p, os.X_OK):
            return p
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, exe):
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="mqws-interop-")
        # Started as root, mosquitto drops to its own user: it must be able to read our files.
        os.chmod(self.dir, 0o755)
        self.tcp, self.ws, self.auth = free_port(), free_port(), free_port()
        while len({self.tcp, self.ws, self.auth}) < 3:
            self.ws, self.auth = free_port(), free_port()
        self.proc = None
        self.has_user = False

    def start(self):
        pwfile = os.path.join(self.dir, "users.pw")
        open(pwfile, "w").close()
        passwd = find("mosquitto_passwd")
        if passwd:  # one known user for the credentials case; without it, that case skips
            subprocess.run([passwd, "-b", pwfile, "alice", "s3cret"], timeout=10,
                           capture_output=True, check=True)
            self.has_user = True
        os.chmod(pwfile, 0o644)
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(
                "per_listener_settings true\n"
                "persistence false\n"
                "log_dest stderr\n"
                "log_type error\n"
                "log_type warning\n"
                "max_queued_messages 1000\n"
                f"listener {self.tcp} 127.0.0.1\n"
                "allow_anonymous true\n"
                f"listener {self.ws} 127.0.0.1\n"
                "protocol websockets\n"
                "allow_anonymous true\n"
                f"listener {self.auth} 127.0.0.1\n"
                "allow_anonymous false\n"
                f"password_file {pwfile}\n"
            )
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "w")
        self.proc = subprocess.Popen([self.exe, "-c", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        pending = {self.tcp, self.ws, self.auth}
        while pending and time.time() < deadline:
            if self.proc.poll() is not None:
                break
            for p in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.5).close()
                    pending.discard(p)
                except OSError:
                    pass
            time.sleep(0.05)
        if pending:
            log = self.logtext()
            self.stop()
            raise RuntimeError("mosquitto did not start: " + log)

    def logtext(self):
        try:
            with open(os.path.join(self.dir, "mosquitto.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class Ctx:
    def __init__(self, pub, sub, mpub, msub, broker):
        self.pub, self.sub, self.mpub, self.msub, self.b = pub, sub, mpub, msub, broker
        self.bg = []
        self.resume = None

    def run(self, argv, stdin=None, timeout=TIMEOUT):
        try:
            r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"timed out after {timeout}s: {argv}") from e
        return r

    def start(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.bg.append(p)
        return p

    def cleanup(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError):
                pass
        self.bg = []


def vflag(v):
    return ["-V", "311" if v == 4 else "5"]


def mflag(v):
    return ["-V", "mqttv311" if v == 4 else "mqttv5"]


def uniq(name):
    return f"interop/{name}/{uuid.uuid4().hex[:10]}"


def read_until(proc, marker, timeout):
    """Bytes from proc.stdout up to and including `marker`, within timeout, or None."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.time() + timeout
    fd = proc.stdout.fileno()
    while time.time() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.time())):
            break
        ch = os.read(fd, 1)
        if not ch:
            break
        buf += ch
        if buf.endswith(marker):
            return buf
    return None


class Subscriber:
    """A subscriber (ours or mosquitto_sub) that is known to be subscribed: it also subscribes
    to a probe topic holding a retained message, and is ready once it prints that message.
    The probe is never cleared while subscribers listen: clearing a retained message publishes
    an empty message to current subscribers."""

    def __init__(self, ctx, ours, v, topic, qos=0, count=1, extra=(), port=None):
        self.probe = uniq("probe")
        mp = ctx.run([ctx.mpub, "-p", str(ctx.b.tcp), "-t", self.probe, "-m", "ready", "-r",
                      "-q", "1"])
        assert mp.returncode == 0, mp.stderr
        port = port or ctx.b.tcp
        if ours:
            argv = [ctx.sub, "-p", str(port)] + vflag(v)
        else:
            argv = [ctx.msub, "-p", str(port)] + mflag(v)
        argv += ["-t", topic, "-t", self.probe, "-q", str(qos), "-v", "-C", str(count + 1),
                 "-W", str(TIMEOUT)] + list(extra)
        self.proc = ctx.start(argv)
        line = read_until(self.proc, b"ready" if "-N" in extra else b"ready\n", 10)
        if line is None or not line.startswith(self.probe.encode()):
            self.proc.kill()
            out, err = self.proc.communicate(timeout=5)
            raise AssertionError(f"subscriber not ready: {line!r} {out!r} {err!r}")

    def finish(self):
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=5)
            raise AssertionError(f"subscriber did not finish: {out!r} {err!r}")
        return self.proc.returncode, out, err


# ------------------------------------------------------------------------------------------
# Cases. Each takes (ctx, v) with v = 4 (3.1.1) or 5 and raises AssertionError on failure.

def case_qos_ours_to_ours(ctx, v):
    for qos in (0, 1, 2):
        t = uniq(f"q{qos}")
        s = Subscriber(ctx, True, v, t, qos=qos)
        r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) +
                    ["-t", t, "-q", str(qos), "-m", f"hello q{qos}"])
        assert r.returncode == 0, (qos, r.returncode, r.stderr)
        rc, out, err = s.finish()
        assert rc == 0, (qos, rc, err)
        assert out == f"{t} hello q{qos}\n".encode(), (qos, out)


def case_qos_ours_pub_mosquitto_sub(ctx, v):
    for qos in (0, 1, 2):
        t = uniq(f"mq{qos}")
        s = Subscriber(ctx, False, v, t, qos=qos)
        r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) +
                    ["-t", t, "-q", str(qos), "-m", f"to mosquitto q{qos}"])
        assert r.returncode == 0, (qos, r.returncode, r.stderr)
        rc, out, err = s.finish()
        assert rc == 0 and out == f"{t} to mosquitto q{qos}\n".encode(), (qos, rc, out, err)


def case_qos_mosquitto_pub_ours_sub(ctx, v):
    for qos in (0, 1, 2):
        t = uniq(f"om{qos}")
        s = Subscriber(ctx, True, v, t, qos=qos, count=3)
        for k in range(3):
            r = ctx.run([ctx.mpub, "-p", str(ctx.b.tcp)] + mflag(v) +
                        ["-t", t, "-q", str(qos), "-m", f"m{k}"])
            assert r.returncode == 0, r.stderr
        rc, out, err = s.finish()
        assert rc == 0, (qos, rc, err)
        assert out == b"".join(f"{t} m{k}\n".encode() for k in range(3)), (qos, out)


def case_large_payload_file_qos1(ctx, v):
    t = uniq("big")
    data = bytes((i * 7 + 3) & 0xFF for i in range(300 * 1024))
    path = os.path.join(ctx.b.dir, "big.bin")
    with open(path, "wb") as f:
        f.write(data)
    s = Subscriber(ctx, True, v, t, qos=1, extra=["-N"])
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-q", "1", "-f", path])
    assert r.returncode == 0, r.stderr
    rc, out, err = s.finish()
    assert rc == 0, err
    assert out == (t + " ").encode() + data, (len(out), err)


def case_stdin_lines(ctx, v):
    t = uniq("lines")
    s = Subscriber(ctx, False, v, t, qos=1, count=3)
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-q", "1", "-l"],
                stdin=b"one\ntwo\r\nthree\n")
    assert r.returncode == 0, r.stderr
    rc, out, err = s.finish()
    assert rc == 0 and out == f"{t} one\n{t} two\n{t} three\n".encode(), (rc, out, err)


def case_retained(ctx, v):
    t = uniq("retained")
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) +
                ["-t", t, "-q", "1", "-r", "-m", "kept"])
    assert r.returncode == 0, r.stderr
    # ours reads it back, and so does mosquitto_sub
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-v", "-C", "1", "-W", "10"])
    assert r.returncode == 0 and r.stdout == f"{t} kept\n".encode(), (r.returncode, r.stdout, r.stderr)
    r = ctx.run([ctx.msub, "-p", str(ctx.b.tcp)] + mflag(v) + ["-t", t, "-v", "-C", "1", "-W", "10"])
    assert r.returncode == 0 and r.stdout == f"{t} kept\n".encode(), (r.returncode, r.stdout)
    # -R hides stale (retained) messages: nothing printed within the timeout
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-R", "-C", "1", "-W", "1"])
    assert r.returncode == 5 and r.stdout == b"", (r.returncode, r.stdout)
    # a retained message set by mosquitto_pub reaches ours
    r = ctx.run([ctx.mpub, "-p", str(ctx.b.tcp)] + mflag(v) + ["-t", t, "-r", "-m", "theirs"])
    assert r.returncode == 0
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-C", "1", "-W", "10"])
    assert r.stdout == b"theirs\n", r.stdout
    # clear it with an empty retained message from ours
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-r", "-n"])
    assert r.returncode == 0
    r = ctx.run([ctx.msub, "-p", str(ctx.b.tcp), "-t", t, "-C", "1", "-W", "1"])
    assert r.returncode == 27 and r.stdout == b"", (r.returncode, r.stdout)


def case_will_on_abnormal_disconnect(ctx, v):
    wt = uniq("will")
    watcher = Subscriber(ctx, False, v, wt, qos=1)
    ours = ctx.start([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) +
                     ["-t", uniq("idle"), "-d", "--will-topic", wt, "--will-payload", "gone",
                      "--will-qos", "1", "-k", "5"])
    wait_stderr(ours, b"SUBACK", 10)
    ours.kill()  # no DISCONNECT: the broker must publish the will
    ours.wait(5)
    rc, out, err = watcher.finish()
    assert rc == 0 and out == f"{wt} gone\n".encode(), (rc, out, err)


def case_no_will_on_clean_disconnect(ctx, v):
    wt = uniq("nowill")
    watcher = Subscriber(ctx, True, v, wt, qos=1)
    ours = ctx.start([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) +
                     ["-t", uniq("idle"), "-d", "--will-topic", wt, "--will-payload", "gone"])
    wait_stderr(ours, b"SUBACK", 10)
    ours.send_signal(signal.SIGINT)  # graceful: DISCONNECT 0x00 discards the will
    try:
        ours.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError("mqws-sub did not exit on SIGINT")
    assert ours.returncode == 0, ours.returncode
    time.sleep(1.0)
    watcher.proc.send_signal(signal.SIGINT)
    rc, out, err = watcher.finish()
    assert out == b"", out


def case_session_resume_queued_qos1(ctx, v):
    t = uniq("resume")
    cid = "mqws-resume-" + uuid.uuid4().hex[:8]
    persist = ["-c", "-i", cid] + (["-x", "300"] if v == 5 else [])
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) + persist + ["-t", t, "-q", "1", "-E"])
    assert r.returncode == 0, r.stderr
    for k in range(3):  # queued by the broker while we are away (ours and theirs publish)
        pub = ctx.pub if k % 2 == 0 else ctx.mpub
        fl = vflag(v) if pub == ctx.pub else mflag(v)
        r = ctx.run([pub, "-p", str(ctx.b.tcp)] + fl + ["-t", t, "-q", "1", "-m", f"queued{k}"])
        assert r.returncode == 0, r.stderr
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) + persist +
                ["-t", t, "-q", "1", "-v", "-C", "3", "-W", "10", "-d"])
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == b"".join(f"{t} queued{k}\n".encode() for k in range(3)), r.stdout
    assert b"session present 1" in r.stderr, r.stderr
    # a clean start afterwards finds no session
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) +
                ["-i", cid, "-t", t, "-E", "-d"])
    assert r.returncode == 0 and b"session present 0" in r.stderr, r.stderr


def case_mosquitto_sub_resume_from_ours(ctx, v):
    t = uniq("mresume")
    cid = "mosq-resume-" + uuid.uuid4().hex[:8]
    persist = ["-c", "-i", cid] + (["-x", "300"] if v == 5 else [])
    r = ctx.run([ctx.msub, "-p", str(ctx.b.tcp)] + mflag(v) + persist + ["-t", t, "-q", "1", "-E"])
    assert r.returncode == 0, r.stderr
    for k in range(2):
        r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", t, "-q", "1", "-m", f"q{k}"])
        assert r.returncode == 0, r.stderr
    r = ctx.run([ctx.msub, "-p", str(ctx.b.tcp)] + mflag(v) + persist +
                ["-t", t, "-q", "1", "-C", "2", "-W", "10"])
    assert r.returncode == 0 and r.stdout == b"q0\nq1\n", (r.returncode, r.stdout)


def case_client_role_resend_dup_on_resume(ctx, v):
    """Our session drops the connection before any acknowledgement, reconnects over a new
    socket and resends with DUP: QoS 1 arrives at least once, QoS 2 exactly once."""
    if not ctx.resume:
        raise AssertionError("client_resume driver not given")
    for qos in (1, 2):
        t = uniq(f"dup{qos}")
        s = Subscriber(ctx, False, v, t, qos=2, count=2)
        r = ctx.run([ctx.resume, str(ctx.b.tcp), str(v), str(qos), t,
                     "mqws-dup-" + uuid.uuid4().hex[:8]])
        assert r.returncode == 0, (qos, r.returncode, r.stderr)
        time.sleep(1.0)  # room for a duplicate to show up
        s.proc.send_signal(signal.SIGINT)
        rc, out, err = s.finish()
        lines = out.splitlines()
        want = f"{t} resume-msg".encode()
        if qos == 2:
            assert lines == [want], (qos, lines)
        else:
            assert 1 <= len(lines) <= 2 and all(x == want for x in lines), (qos, lines)


def case_user_properties_v5(ctx, v):
    if v != 5:
        return "n/a for 3.1.1"
    t = uniq("props")
    s = Subscriber(ctx, False, v, t, extra=["-F", "%t %P %p"])
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp), "-V", "5", "-t", t, "-m", "x",
                 "-D", "publish", "user-property", "k1", "v1",
                 "-D", "publish", "user-property", "k2", "v2",
                 "-D", "connect", "user-property", "who", "me"])
    assert r.returncode == 0, r.stderr
    rc, out, err = s.finish()
    # -F replaces -v; the probe line format differs but it was read already
    assert out == f"{t} k1:v1 k2:v2 x\n".encode(), out
    s = Subscriber(ctx, True, v, t, extra=["--print-user-props"])
    r = ctx.run([ctx.mpub, "-p", str(ctx.b.tcp), "-V", "5", "-t", t, "-m", "y",
                 "-D", "publish", "user-property", "a", "b"])
    assert r.returncode == 0
    rc, out, err = s.finish()
    assert rc == 0 and out == f"{t} [a=b] y\n".encode(), (rc, out, err)
    # properties with 3.1.1 are a usage error
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp), "-V", "311", "-t", t, "-m", "x",
                 "-D", "publish", "user-property", "k", "v"])
    assert r.returncode == 1 and r.stderr, r.returncode


def case_keepalive_pings(ctx, v):
    """mosquitto closes a client silent for 1.5x its keep alive (its check is coarse: a raw
    client with keep alive 1 s and no PINGREQ is dropped after ~5 s here); ours pings, so a
    message published after 7.5 s of silence with a 1 s keep alive still arrives."""
    t = uniq("keepalive")
    s = Subscriber(ctx, True, v, t, qos=1, extra=["-k", "1"])
    time.sleep(7.5)
    assert s.proc.poll() is None, "mqws-sub exited: keepalive not honoured"
    r = ctx.run([ctx.mpub, "-p", str(ctx.b.tcp)] + mflag(v) + ["-t", t, "-q", "1", "-m", "alive"])
    assert r.returncode == 0
    rc, out, err = s.finish()
    assert rc == 0 and out == f"{t} alive\n".encode(), (rc, out, err)


def case_credentials(ctx, v):
    if not ctx.b.has_user:
        return "skipped: mosquitto_passwd missing"
    t = uniq("auth")
    r = ctx.run([ctx.pub, "-p", str(ctx.b.auth)] + vflag(v) +
                ["-u", "alice", "-P", "s3cret", "-t", t, "-q", "1", "-m", "x"])
    assert r.returncode == 0, (r.returncode, r.stderr)
    r = ctx.run([ctx.sub, "-p", str(ctx.b.auth)] + vflag(v) +
                ["-u", "alice", "-P", "wrong", "-t", t, "-W", "5"])
    assert r.returncode == 3 and b"refused" in r.stderr, (r.returncode, r.stderr)


def case_websocket(ctx, v):
    t = uniq("ws")
    url = f"ws://127.0.0.1:{ctx.b.ws}/mqtt"
    # ours over WebSocket -> mosquitto_sub over TCP
    s = Subscriber(ctx, False, v, t, qos=1)
    r = ctx.run([ctx.pub, "-w", url] + vflag(v) + ["-t", t, "-q", "1", "-m", "via ws"])
    assert r.returncode == 0, (r.returncode, r.stderr)
    rc, out, err = s.finish()
    assert rc == 0 and out == f"{t} via ws\n".encode(), (rc, out)
    # mosquitto_pub over TCP -> ours over WebSocket (--ws with -p), QoS 2
    s = Subscriber(ctx, True, v, t, qos=2, extra=["--ws"], port=ctx.b.ws)
    r = ctx.run([ctx.mpub, "-p", str(ctx.b.tcp)] + mflag(v) + ["-t", t, "-q", "2", "-m", "to ws"])
    assert r.returncode == 0
    rc, out, err = s.finish()
    assert rc == 0 and out == f"{t} to ws\n".encode(), (rc, out, err)


def case_exit_codes(ctx, v):
    # usage errors
    for argv in ([ctx.pub], [ctx.pub, "-t", "a"], [ctx.pub, "-t", "a", "-m", "x", "-q", "3"],
                 [ctx.sub], [ctx.sub, "-t", "a", "-V", "7"], [ctx.pub, "-t", "a", "-m", "x", "-c"],
                 [ctx.sub, "-t", "a", "-w", "http://x/"], [ctx.pub, "--bogus"]):
        r = ctx.run(argv)
        assert r.returncode == 1 and r.stderr, (argv, r.returncode, r.stderr)
    r = ctx.run([ctx.pub, "--help"])
    assert r.returncode == 0 and b"Usage" in r.stdout
    # invalid topic for a PUBLISH (wildcard): refused by the library, a usage error
    r = ctx.run([ctx.pub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", "a/#", "-m", "x"])
    assert r.returncode == 1, (r.returncode, r.stderr)
    # nothing listening
    dead = free_port()
    r = ctx.run([ctx.pub, "-p", str(dead), "-t", "a", "-m", "x"])
    assert r.returncode == 2 and r.stderr, (r.returncode, r.stderr)
    # refused: the auth listener allows no anonymous clients (CONNACK 0x87 / 3.1.1 0x05)
    r = ctx.run([ctx.pub, "-p", str(ctx.b.auth)] + vflag(v) + ["-t", "a", "-m", "x"])
    assert r.returncode == 3 and b"refused" in r.stderr, (r.returncode, r.stderr)
    r = ctx.run([ctx.sub, "-p", str(ctx.b.auth)] + vflag(v) + ["-u", "nobody", "-P", "bad",
                                                               "-t", "a", "-W", "5"])
    assert r.returncode == 3, (r.returncode, r.stderr)
    # timeout with nothing arriving
    r = ctx.run([ctx.sub, "-p", str(ctx.b.tcp)] + vflag(v) + ["-t", uniq("quiet"), "-W", "1"])
    assert r.returncode == 5, (r.returncode, r.stderr)


def wait_stderr(proc, marker, timeout):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    buf = b""
    deadline = time.time() + timeout
    while marker not in buf and time.time() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.time())):
            break
        ch = os.read(proc.stderr.fileno(), 4096)
        if not ch:
            break
        buf += ch
    if marker not in buf:
        proc.kill()
        raise AssertionError(f"no {marker!r} from {proc.args}: {buf!r}")


CASES = [
    case_qos_ours_to_ours,
    case_qos_ours_pub_mosquitto_sub,
    case_qos_mosquitto_pub_ours_sub,
    case_large_payload_file_qos1,
    case_stdin_lines,
    case_retained,
    case_will_on_abnormal_disconnect,
    case_no_will_on_clean_disconnect,
    case_session_resume_queued_qos1,
    case_mosquitto_sub_resume_from_ours,
    case_client_role_resend_dup_on_resume,
    case_user_properties_v5,
    case_keepalive_pings,
    case_credentials,
    case_websocket,
    case_exit_codes,
]


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    pub, sub = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    only = sys.argv[3:]
    resume = None
    if only[:1] == ["--resume-driver"] and len(only) >= 2:
        resume, only = os.path.abspath(only[1]), only[2:]
    mosq = find("mosquitto", ("/usr/sbin", "/usr/local/sbin"))
    mpub, msub = find("mosquitto_pub"), find("mosquitto_sub")
    if not (mosq and mpub and msub):
        print("SKIP: mosquitto and mosquitto-clients are needed "
              "(apt-get install mosquitto mosquitto-clients, or scripts/bootstrap.sh)")
        return 77
    broker = Broker(mosq)
    failed = 0
    n = 0
    try:
        broker.start()
        ctx = Ctx(pub, sub, mpub, msub, broker)
        ctx.resume = resume
        for case in CASES:
            for v in (4, 5):
                name = f"{case.__name__[5:]} [{'3.1.1' if v == 4 else '5.0'}]"
                if only and not any(o in name for o in only):
                    continue
                n += 1
                t0 = time.time()
                try:
                    note = case(ctx, v)
                    print(f"ok {n} - {name} ({time.time() - t0:.2f}s)"
                          + (f" # {note}" if note else ""), flush=True)
                except Exception as e:  # noqa: BLE001 - report every failure the same way
                    failed += 1
                    print(f"not ok {n} - {name}: {type(e).__name__}: {e}", flush=True)
                finally:
                    ctx.cleanup()
                if broker.proc.poll() is not None:
                    print("broker died: " + broker.logtext())
                    return 1
    finally:
        log = broker.logtext()
        broker.stop()
    print(f"1..{n}")
    if failed:
        print(f"{failed} of {n} failed; broker log tail:\n{log}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
