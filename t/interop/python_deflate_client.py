#!/usr/bin/python3
"""permessage-deflate interop: the Python `websockets` library (Debian
python3-websockets), which offers the extension by default, talks to an
echo endpoint with ws_deflate on. Run with /usr/bin/python3.

    python_deflate_client.py URL [URL...] [--cafile cert.pem]

For every URL the default offer and an offer with every parameter set
(both no_context_takeover, both window sizes 10) must be accepted, and
text (JSON chat lines, 0 B to 1 MiB), binary (repetitive and random) and
fragmented messages must come back unchanged. Prints one line per check;
exit code 0 = every check passed.
"""

import argparse
import asyncio
import json
import random
import ssl
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory)


def chat_lines(size):
    """JSON chat messages, one after another, cut to size bytes."""
    out, n = [], 0
    while n < size:
        line = json.dumps({"op": "message", "channel": "room:lobby",
                           "seq": 1000 + len(out),
                           "data": {"user": "alice", "ts": 1700000000,
                                    "text": "hello everyone, how is it going?"}})
        out.append(line)
        n += len(line)
    return "".join(out)[:size]


def random_bytes(size):
    rng = random.Random(size)
    return bytes(rng.getrandbits(8) for _ in range(size))


OFFERS = {
    "default offer": None,
    "every parameter": [ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True,
        server_max_window_bits=10, client_max_window_bits=10)],
}


async def check(url, cafile, name, extensions):
    failures = 0
    context = None
    if url.startswith("wss://"):
        context = ssl.create_default_context(cafile=cafile)
        context.check_hostname = False

    def report(ok, what):
        nonlocal failures
        print(("ok     " if ok else "FAILED ") + f"{url} {name}: {what}",
              flush=True)
        failures += 0 if ok else 1

    kwargs = {"ssl": context, "max_size": None, "open_timeout": 5}
    if extensions is not None:
        kwargs["extensions"] = extensions
    async with websockets.connect(url, **kwargs) as ws:
        answer = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        report(answer.startswith("permessage-deflate")
               and len(ws.extensions) == 1,
               f"negotiated ({answer})")
        messages = [chat_lines(n) for n in (0, 10, 200, 5000, 70000, 1 << 20)]
        messages += [chat_lines(3000).encode(), random_bytes(100000)]
        for sent in messages:
            await ws.send(sent)
            got = await asyncio.wait_for(ws.recv(), 10)
            report(got == sent, f"{type(sent).__name__} {len(sent)} bytes "
                                "round-trip")
        # A fragmented compressed message: RSV1 on the first frame only.
        parts = [chat_lines(3000), chat_lines(10), chat_lines(20000)]
        await ws.send(iter(parts))
        got = await asyncio.wait_for(ws.recv(), 10)
        report(got == "".join(parts), "fragmented message round-trip")
        await ws.close(1000)
        report(ws.close_code == 1000, "close 1000 answered")
    return failures


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--cafile")
    args = parser.parse_args()
    failures = 0
    for url in args.urls:
        for name, extensions in OFFERS.items():
            failures += await check(url, args.cafile, name, extensions)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
