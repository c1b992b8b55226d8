#!/usr/bin/python3
"""Drives a fixed echo workload for an instruction-count profile.

Sends MESSAGES binary messages of SIZE bytes over CONNS connections, in
batches of BATCH per connection (send a batch, wait for its echoes), and
checks every echo. The batching is fixed so that two profiles of the
server see the same reads and writes; see profile_echo.sh.
"""

import asyncio
import os
import sys

import websockets

URL = sys.argv[1]
MESSAGES = int(os.environ.get("MESSAGES", "100000"))
CONNS = int(os.environ.get("CONNS", "4"))
SIZE = int(os.environ.get("SIZE", "64"))
BATCH = int(os.environ.get("BATCH", "50"))


async def one_connection(index, count):
    async with websockets.connect(URL, compression=None,
                                  max_size=None) as ws:
        sent = 0
        while sent < count:
            batch = [bytes([(index + sent + i) & 0xFF]) * SIZE
                     for i in range(min(BATCH, count - sent))]
            for message in batch:
                await ws.send(message)
            for message in batch:
                echo = await ws.recv()
                if echo != message:
                    raise SystemExit(f"conn {index}: wrong echo")
            sent += len(batch)


async def main():
    per_conn = MESSAGES // CONNS
    await asyncio.gather(*(one_connection(i, per_conn)
                           for i in range(CONNS)))
    print(f"{per_conn * CONNS} messages echoed")


asyncio.run(main())
