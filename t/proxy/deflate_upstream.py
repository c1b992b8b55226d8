#!/usr/bin/python3
"""An upstream for ws_proxy_deflate on Python's `websockets` (the library,
not our code), which agrees to permessage-deflate as a server by default:
usage deflate_upstream.py PORT.

  /echo     echoes every message, text as text, binary as binary; the
            message "stats" is answered instead with JSON: the extensions
            agreed ("extensions"), the offer the proxy made ("offer", null
            for none) and how many messages so far came compressed (RSV1
            set on their first frame: "compressed_in")
  /bomb     sends, after the first message, 10 MiB of zeros (about 10 KiB
            compressed), then echoes
"""
import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ServerPerMessageDeflateFactory,
)

PORT = int(sys.argv[1])


class CountingFactory(ServerPerMessageDeflateFactory):
    """The library's own permessage-deflate, counting the messages that
    arrive compressed on the extension it agrees to."""

    def process_request_params(self, params, accepted_extensions):
        answer, extension = super().process_request_params(
            params, accepted_extensions)
        extension.compressed_in = 0
        decode = extension.decode

        def counting_decode(frame, *, max_size=None):
            if frame.rsv1:
                extension.compressed_in += 1
            return decode(frame, max_size=max_size)

        extension.decode = counting_decode
        return answer, extension


def route(path):
    return "/" + path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


async def handler(ws, full_path):
    path = route(full_path)
    if path == "/bomb":
        await ws.recv()
        await ws.send(b"\0" * (10 << 20))
    try:
        async for msg in ws:
            if msg == "stats":
                ext = ws.extensions[0] if ws.extensions else None
                await ws.send(json.dumps({
                    "extensions": [e.name for e in ws.extensions],
                    "offer": ws.request_headers.get(
                        "Sec-WebSocket-Extensions"),
                    "compressed_in":
                        getattr(ext, "compressed_in", 0) if ext else 0,
                }))
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(handler, "127.0.0.1", PORT,
                                max_size=64 << 20,
                                extensions=[CountingFactory(
                                    server_max_window_bits=12,
                                    client_max_window_bits=12)]):
        print("listening", flush=True)
        await asyncio.Future()


asyncio.run(main())
