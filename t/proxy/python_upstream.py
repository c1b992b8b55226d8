#!/usr/bin/python3
"""A WebSocket application for the proxy tests, on Python's `websockets`
(the library, not our code): usage python_upstream.py PORT [CERT KEY]
(with a certificate and key it speaks wss://).

  /echo       echoes every message, text as text, binary as binary
  /headers    answers the first message with the handshake's headers (JSON)
  /close4000  closes with 4000 "app bye" after the first message
  /refuse     refuses the handshake with 403
  /notfound   refuses the handshake with 404
  /peer       tells its port (which peer of a group answered)
  /record     records the close code the client (the proxy) sent, then
              /record-last tells it
  /flood      sends 1000 binary messages of 64 KiB as fast as the
              connection takes them; /flood-count tells how many went

Subprotocols "chat" and "superchat" are offered to the handshake; the
first one the client offers is chosen.
"""
import asyncio
import http
import json
import logging
import socket
import ssl
import sys

import websockets

PORT = int(sys.argv[1])
last_close = {"code": None}
flood = {"sent": 0}


def route(path):
    """The last segment of the path: the proxy may keep a prefix."""
    return "/" + path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


async def refuse(path, headers):
    path = route(path)
    if path == "/refuse":
        return http.HTTPStatus.FORBIDDEN, [], b"no\n"
    if path == "/notfound":
        return http.HTTPStatus.NOT_FOUND, [], b"none\n"
    return None


async def handler(ws, full_path):
    path = route(full_path)
    if path == "/headers":
        await ws.recv()
        await ws.send(json.dumps({"path": full_path,
                                  "headers": dict(ws.request_headers)}))
        await ws.wait_closed()
    elif path == "/close4000":
        await ws.recv()
        await ws.close(4000, "app bye")
    elif path == "/peer":
        async for _ in ws:
            await ws.send(str(PORT))
    elif path == "/record":
        try:
            async for msg in ws:
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            last_close["code"] = ws.close_code
    elif path == "/flood":
        flood["sent"] = 0
        chunk = bytes(range(256)) * 256
        for _ in range(1000):
            await ws.send(chunk)
            flood["sent"] += 1
        await ws.wait_closed()
    elif path == "/flood-count":
        await ws.recv()
        await ws.send(str(flood["sent"]))
    elif path == "/record-last":
        await ws.recv()
        await ws.send(str(last_close["code"]))
    else:
        try:
            async for msg in ws:
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass


async def main():
    # a close code other than 1000/1001 is an exception in the library's
    # loop; the tests send such codes on purpose
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    # small socket buffers, so that back-pressure shows within megabytes
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    sock.bind(("127.0.0.1", PORT))
    tls = None
    if len(sys.argv) > 3:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[2], sys.argv[3])
    async with websockets.serve(handler, sock=sock, ssl=tls,
                                subprotocols=["chat", "superchat"],
                                process_request=refuse,
                                max_size=32 * 1024 * 1024,
                                compression=None):
        print("listening", flush=True)
        await asyncio.Future()


asyncio.run(main())
