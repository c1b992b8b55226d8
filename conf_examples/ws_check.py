#!/usr/bin/python3
"""Synthetic check of a WebSocket endpoint, for a load balancer, cron or CI.

Opens a WebSocket to URL, sends one text message with a random token and
waits for it to come back (an echo location, or a chat room that sends a
client's messages to everyone, the sender included). Prints one line and
exits 0 when the round trip worked, 1 when it did not:

    OK ws://127.0.0.1:8080/echo connect 1.4 ms, round trip 0.3 ms
    FAIL ws://127.0.0.1:8080/nowhere: server rejected WebSocket connection: HTTP 426

Usage: ws_check.py [--timeout SECONDS] [--insecure] URL
       make check-endpoint URL=ws://127.0.0.1:8080/echo
Needs Debian's python3-websockets.
"""

import argparse
import asyncio
import secrets
import ssl
import sys
import time

import websockets


class CheckFailed(Exception):
    pass


async def round_trip(url, timeout, insecure):
    context = None
    if url.startswith("wss://"):
        context = ssl.create_default_context()
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE

    token = "ngx_ws check " + secrets.token_hex(8)
    start = time.monotonic()
    async with websockets.connect(url, ssl=context, open_timeout=timeout,
                                  close_timeout=timeout,
                                  ping_interval=None) as ws:
        opened = time.monotonic()
        await ws.send(token)
        # a chat room may deliver other people's messages first
        while True:
            left = timeout - (time.monotonic() - opened)
            if left <= 0:
                raise CheckFailed(f"no echo within {timeout:g} s")
            try:
                reply = await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                raise CheckFailed(f"no echo within {timeout:g} s") from None
            if reply == token:
                break
        done = time.monotonic()
    return (opened - start) * 1000, (done - opened) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="ws:// or wss:// URL of the endpoint")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds for the handshake and for the echo")
    parser.add_argument("--insecure", action="store_true",
                        help="do not verify the TLS certificate")
    args = parser.parse_args()

    if not args.url.startswith(("ws://", "wss://")):
        print(f"FAIL {args.url}: not a ws:// or wss:// URL")
        return 1
    try:
        connect_ms, rtt_ms = asyncio.run(
            round_trip(args.url, args.timeout, args.insecure))
    except (CheckFailed, OSError, asyncio.TimeoutError,
            websockets.exceptions.WebSocketException) as err:
        print(f"FAIL {args.url}: {err or type(err).__name__}")
        return 1
    print(f"OK {args.url} connect {connect_ms:.1f} ms, "
          f"round trip {rtt_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
