#!/usr/bin/python3
"""Sends one large message through the proxy to an echo and reads it back,
with Python's `websockets` as the client: usage
big_message.py URL SIZE [--fragments N] [--text] [--read-delay S]

--fragments N sends the message in N frames; --read-delay S waits S
seconds after starting to send before reading anything (the proxy's queues
fill both ways meanwhile). Prints one line: "ok LEN" when the echo came
back byte for byte and of the same type, else what went wrong.
"""
import argparse
import asyncio
import hashlib
import sys

import websockets


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("size", type=int)
    ap.add_argument("--fragments", type=int, default=1)
    ap.add_argument("--text", action="store_true")
    ap.add_argument("--read-delay", type=float, default=0)
    a = ap.parse_args()

    unit = bytes((i * 97 + 13) % 256 for i in range(251))
    if a.text:
        unit = bytes(range(97, 123)) + "é".encode() + b"0123456789"
    data = (unit * (a.size // len(unit) + 1))[:a.size]
    if a.text:
        # never cut the two-byte letter at the end
        while True:
            try:
                msg = data.decode()
                break
            except UnicodeDecodeError:
                data = data[:-1]
    else:
        msg = data
    want = hashlib.sha256(data).hexdigest()

    async with websockets.connect(a.url, max_size=None, compression=None,
                                  ping_interval=None,
                                  close_timeout=10) as ws:
        if a.fragments > 1:
            step = len(msg) // a.fragments + 1
            pieces = [msg[i:i + step] for i in range(0, len(msg), step)]
            sender = asyncio.ensure_future(ws.send(pieces))
        else:
            sender = asyncio.ensure_future(ws.send(msg))
        if a.read_delay:
            await asyncio.sleep(a.read_delay)
        got = await asyncio.wait_for(ws.recv(), 60)
        await sender
        raw = got.encode() if isinstance(got, str) else got
        if isinstance(got, str) != a.text:
            print("wrong type", type(got).__name__)
        elif hashlib.sha256(raw).hexdigest() != want:
            print("different bytes: %d of %d" % (len(raw), len(data)))
        else:
            print("ok", len(raw))
        await ws.close(1000)


asyncio.run(main())
