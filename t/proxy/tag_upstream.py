#!/usr/bin/python3
"""A WebSocket application on Python's `websockets` that answers each
message with "up:" and the message (text as text, binary as binary), so
a test client tells what went through the upstream from what NGINX sent
it itself. usage: tag_upstream.py PORT

  /count   answers any message with how many messages the app received
           on every other path so far, and the close codes their
           connections ended with ("3 1000,4000")
"""
import asyncio
import logging
import sys

import websockets

PORT = int(sys.argv[1])
seen = {"messages": 0, "codes": []}


async def handler(ws, path):
    if path.split("?")[0].endswith("/count"):
        async for _ in ws:
            await ws.send("%d %s" % (seen["messages"],
                                     ",".join(map(str, seen["codes"]))))
        return
    try:
        async for msg in ws:
            seen["messages"] += 1
            await ws.send(("up:" + msg) if isinstance(msg, str)
                          else b"up:" + msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        seen["codes"].append(ws.close_code)


async def main():
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    async with websockets.serve(handler, "127.0.0.1", PORT,
                                max_size=32 * 1024 * 1024, compression=None):
        print("listening", flush=True)
        await asyncio.Future()


asyncio.run(main())
