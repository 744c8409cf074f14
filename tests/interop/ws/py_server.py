"""Interop: a python3-websockets echo server for mqws's client role (client_role.c).

usage: /usr/bin/python3 py_server.py PATH/TO/ws_client_interop
Starts the server on a free port, runs the client against it with a timeout, stops the
server. Exit 0 on success, 1 on failure, 77 if python3-websockets is missing.
SPDX-License-Identifier: MIT
"""
import asyncio
import sys

try:
    import websockets
except ImportError:
    print("SKIP: python3-websockets is not installed (apt-get install python3-websockets)")
    sys.exit(77)


async def echo(ws, path=None):
    async for msg in ws:
        if msg == "please close":
            await ws.close(4001, "going")
            return
        await ws.send(msg)


async def main(client):
    async with websockets.serve(echo, "127.0.0.1", 0, subprotocols=["mqtt"],
                                max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(client, str(port))
        try:
            return await asyncio.wait_for(proc.wait(), 60)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            print("FAIL: client timed out")
            return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
