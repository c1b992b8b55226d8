#!/usr/bin/python3
"""Drives a fixed fan-out workload for an instruction-count profile.

Opens SUBS subscribers to ws://HOST:PORT/sub/CH, runs ZERO_CMD (zeroes the
profiler's counters), POSTs MESSAGES messages of SIZE bytes to
http://HOST:PORT/pub/CH over one keep-alive connection with INFLIGHT
requests pipelined, waits until every subscriber has every message, and
runs DUMP_CMD before any connection closes: the counters cover the
publishes and their deliveries only. See profile_fanout.sh.
"""

import asyncio
import os
import sys

import websockets

from profile_control import profiler

BASE = sys.argv[1]                       # host:port
SUBS = int(os.environ.get("SUBS", "1000"))
MESSAGES = int(os.environ.get("MESSAGES", "200"))
INFLIGHT = int(os.environ.get("INFLIGHT", "8"))
SIZE = int(os.environ.get("SIZE", "20"))
ZERO_CMD = os.environ.get("ZERO_CMD", "")
DUMP_CMD = os.environ.get("DUMP_CMD", "")


async def control(command):
    """Runs a callgrind_control command (profile_control.py). The nudge is
    a publish to a channel without subscribers, which ngx_ws and the
    uWebSockets peer both answer (the driver runs against either: the same
    /sub/CH and POST /pub/CH)."""
    host, port = BASE.split(":")
    await profiler(command, host, port,
                   f"POST /pub/nudge HTTP/1.1\r\nHost: {host}\r\n"
                   "Content-Length: 0\r\n\r\n".encode())


async def subscriber(ws):
    for _ in range(MESSAGES):
        message = await ws.recv()
        if len(message) != SIZE:
            raise SystemExit(f"message of {len(message)} bytes")


async def publish():
    host, port = BASE.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b"x" * SIZE
    request = (f"POST /pub/p HTTP/1.1\r\nHost: {host}\r\n"
               f"Content-Length: {SIZE}\r\n\r\n").encode() + body
    sent = answered = 0
    while answered < MESSAGES:
        while sent < MESSAGES and sent - answered < INFLIGHT:
            writer.write(request)
            sent += 1
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 2"):
            raise SystemExit(head.decode(errors="replace"))
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        await reader.readexactly(length[0] if length else 0)
        answered += 1
    writer.close()


async def main():
    subs = []
    for _ in range(SUBS):
        subs.append(await websockets.connect(
            f"ws://{BASE}/sub/p", compression=None, max_size=None,
            ping_interval=None))
    await control(ZERO_CMD)
    await asyncio.gather(publish(), *(subscriber(ws) for ws in subs))
    await control(DUMP_CMD)
    for ws in subs:
        await ws.close()
    print(f"{MESSAGES} messages to {SUBS} subscribers: "
          f"{MESSAGES * SUBS} deliveries")


asyncio.run(main())
