"""Start and stop mqws-ws-echo for interop tests (shared by the Python scripts).

The server is started on port 0 and the port read from its "listening on HOST:PORT" line, so
tests never race for a free port. Every wait is bounded.
SPDX-License-Identifier: MIT
"""
import subprocess
import sys
import time


class EchoServer:
    def __init__(self, exe, *args):
        self.proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        deadline = time.monotonic() + 10
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("listening on ") or self.proc.poll() is not None:
                break
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("mqws-ws-echo did not start: %r" % line)
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the server must exit cleanly
            try:
                return self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
