#!/usr/bin/python3
"""Interop driver: the Python `websockets` library (Debian python3-websockets)
talks to our echo endpoint. Run with /usr/bin/python3.

    python_client.py URL [URL...] [--cafile cert.pem]

For every URL (ws:// or wss://) text and binary messages of 0, 125, 126,
65535, 65536 and 1 MiB bytes must come back unchanged, a ping must get its
pong, and a close 1000 must be answered with 1000. Prints one line per check;
exit code 0 = every check passed.
"""

import argparse
import asyncio
import ssl
import sys

import websockets

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]


def payload(kind, size):
    """Deterministic data: ASCII text, or bytes cycling through 0..250."""
    if kind == "text":
        pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
        return (pattern * (size // len(pattern) + 1))[:size]
    return bytes((i * 97 + 13) % 256 for i in range(251)) * (size // 251 + 1)


async def check_url(url, cafile):
    failures = 0
    context = None
    if url.startswith("wss://"):
        context = ssl.create_default_context(cafile=cafile)
        context.check_hostname = False
        if not cafile:
            context.verify_mode = ssl.CERT_NONE

    def report(ok, what):
        nonlocal failures
        print(("ok     " if ok else "FAILED ") + url + " " + what, flush=True)
        failures += 0 if ok else 1

    async with websockets.connect(url, ssl=context, max_size=None,
                                  compression=None, open_timeout=5) as ws:
        for kind in ("text", "binary"):
            for size in SIZES:
                sent = payload(kind, size)
                if kind == "binary":
                    sent = sent[:size]
                await ws.send(sent)
                got = await asyncio.wait_for(ws.recv(), 10)
                report(type(got) is type(sent) and got == sent,
                       f"{kind} {size} bytes round-trip")
        pong = await ws.ping(b"interop")
        try:
            await asyncio.wait_for(pong, 5)
            report(True, "ping answered")
        except asyncio.TimeoutError:
            report(False, "ping answered")
        await ws.close(1000, "done")
        report(ws.close_code == 1000, f"close answered with {ws.close_code}")
    return failures


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--cafile")
    args = parser.parse_args()
    failures = 0
    for url in args.urls:
        try:
            failures += await check_url(url, args.cafile)
        except Exception as exc:  # a failed connection is a failed check
            print(f"FAILED {url}: {type(exc).__name__}: {exc}", flush=True)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
