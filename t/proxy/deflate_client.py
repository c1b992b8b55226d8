#!/usr/bin/python3
"""A client with permessage-deflate of its own (Python's `websockets`
agrees to it by default): usage deflate_client.py URL. Sends a text and a
binary message, checks their echoes, asks the upstream for its "stats"
(t/proxy/deflate_upstream.py) and prints what it saw as JSON."""
import asyncio
import json
import sys

import websockets


async def main():
    async with websockets.connect(sys.argv[1], max_size=None) as ws:
        text = "compress me " * 1000
        binary = bytes(range(256)) * 40
        await ws.send(text)
        text_back = await ws.recv()
        await ws.send(binary)
        binary_back = await ws.recv()
        await ws.send("stats")
        stats = json.loads(await ws.recv())
        print(json.dumps({
            "client_extensions": [e.name for e in ws.extensions],
            "text_ok": text_back == text,
            "binary_ok": binary_back == binary,
            "upstream": stats}))


asyncio.run(main())
