#!/usr/bin/python3
"""Synthetic check of a WebSocket endpoint, for a load balancer, cron or CI.

Opens a WebSocket to URL, sends one message carrying a random token and
waits for the answer. It accepts either of two:

  echo   the message itself comes back (an echo location, or a chat room
         that sends a client's messages to everyone, the sender included);
  json   the JSON control protocol (ws_protocol json) answers the request
         with its id: the message is a harmless request (unsubscribe from a
         channel it never joined), answered whatever the channels allowed.
         With --channel the check goes further: it subscribes to the
         channel, publishes the token to it and waits for the message.

--mode auto (the default) takes whichever answer comes. Prints one line and
exits 0 when the check passed, 1 when it did not, 2 on a usage error:

    OK ws://127.0.0.1:8080/echo connect 1.4 ms, round trip 0.3 ms
    OK ws://127.0.0.1:8080/ws connect 1.1 ms, round trip 0.2 ms (json)
    FAIL ws://127.0.0.1:8080/nowhere: server rejected WebSocket connection: HTTP 404

Usage: ws_check.py [--timeout SECONDS] [--insecure] [--mode auto|echo|json]
                   [--channel NAME] [--header 'Name: value']...
                   [--cookie name=value]... [--token JWT] [--origin ORIGIN] URL
       make check-endpoint URL=ws://127.0.0.1:8080/echo
Needs Debian's python3-websockets.
"""

import argparse
import asyncio
import json
import secrets
import ssl
import sys
import time

import websockets


class CheckFailed(Exception):
    pass


def parse_json(text):
    """The JSON object of a text message, or None."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def receive_until(ws, deadline, timeout, accept):
    """Messages until accept(message) says what it is; others are skipped
    (a chat room or a subscription may deliver other people's first)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CheckFailed(f"no answer within {timeout:g} s")
        try:
            reply = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            raise CheckFailed(f"no answer within {timeout:g} s") from None
        kind = accept(reply)
        if kind:
            return kind


def probe_answer(probe, token, mode):
    """What a reply to the probe shows: 'echo', 'json', or None."""
    def accept(reply):
        if reply == probe and mode in ("auto", "echo"):
            return "echo"
        answer = parse_json(reply)
        if (answer is not None and mode in ("auto", "json")
                and answer.get("id") == token
                and answer.get("op") in ("ack", "error")):
            return "json"
        return None
    return accept


async def channel_round_trip(ws, channel, token, deadline, timeout):
    """Subscribe, publish the token, wait for it: the protocol's own round
    trip through a channel. Returns the round trip's start."""
    def answer_to(request_id):
        def accept(reply):
            answer = parse_json(reply)
            if answer is None or answer.get("id") != request_id:
                return None
            if answer.get("op") == "error":
                raise CheckFailed(f"{answer.get('code')}: "
                                  f"{answer.get('message')}")
            return "ack"
        return accept

    await ws.send(json.dumps({"op": "subscribe", "channel": channel,
                              "id": token + " subscribe"}))
    await receive_until(ws, deadline, timeout,
                        answer_to(token + " subscribe"))

    def delivered(reply):
        answer = parse_json(reply)
        if answer is None:
            return None
        if answer.get("id") == token + " publish" \
                and answer.get("op") == "error":
            raise CheckFailed(f"{answer.get('code')}: "
                              f"{answer.get('message')}")
        if answer.get("op") == "message" and answer.get("data") == token:
            return "json"
        return None

    sent = time.monotonic()
    await ws.send(json.dumps({"op": "publish", "channel": channel,
                              "data": token, "id": token + " publish"}))
    await receive_until(ws, deadline, timeout, delivered)
    return sent


async def check(url, args):
    context = None
    if url.startswith("wss://"):
        context = ssl.create_default_context()
        if args.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE

    headers = list(args.header)
    if args.cookie:
        headers.append(("Cookie", "; ".join(args.cookie)))
    if args.token:
        headers.append(("Authorization", "Bearer " + args.token))

    token = "ngx_ws check " + secrets.token_hex(8)
    start = time.monotonic()
    async with websockets.connect(url, ssl=context, open_timeout=args.timeout,
                                  close_timeout=args.timeout,
                                  extra_headers=headers, origin=args.origin,
                                  ping_interval=None) as ws:
        opened = time.monotonic()
        deadline = opened + args.timeout
        if args.channel:
            sent = await channel_round_trip(ws, args.channel, token,
                                            deadline, args.timeout)
            kind = f"json, channel {args.channel}"
        else:
            probe = json.dumps({"op": "unsubscribe",
                                "channel": "ngx_ws_check", "id": token})
            sent = time.monotonic()
            await ws.send(probe)
            kind = await receive_until(ws, deadline, args.timeout,
                                       probe_answer(probe, token, args.mode))
        done = time.monotonic()
    return (opened - start) * 1000, (done - sent) * 1000, kind


def header(text):
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not 'Name: value': {text!r}")
    return (name.strip(), value.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="ws:// or wss:// URL of the endpoint")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds for the handshake and for the answer")
    parser.add_argument("--insecure", action="store_true",
                        help="do not verify the TLS certificate")
    parser.add_argument("--mode", choices=("auto", "echo", "json"),
                        default="auto",
                        help="the answer to accept (default: either)")
    parser.add_argument("--channel",
                        help="json: a round trip through this channel "
                             "(subscribe, publish, receive)")
    parser.add_argument("--header", type=header, action="append",
                        default=[], metavar="'NAME: VALUE'",
                        help="a request header (repeatable)")
    parser.add_argument("--cookie", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="a cookie (repeatable)")
    parser.add_argument("--token",
                        help="a token sent as 'Authorization: Bearer ...'")
    parser.add_argument("--origin", help="the Origin header")
    args = parser.parse_args()

    if args.channel and args.mode == "echo":
        parser.error("--channel is for the JSON protocol, not --mode echo")
    if not args.url.startswith(("ws://", "wss://")):
        print(f"FAIL {args.url}: not a ws:// or wss:// URL")
        return 1
    try:
        connect_ms, rtt_ms, kind = asyncio.run(check(args.url, args))
    except (CheckFailed, OSError, asyncio.TimeoutError,
            websockets.exceptions.WebSocketException) as err:
        print(f"FAIL {args.url}: {err or type(err).__name__}")
        return 1
    suffix = "" if kind == "echo" else f" ({kind})"
    print(f"OK {args.url} connect {connect_ms:.1f} ms, "
          f"round trip {rtt_ms:.1f} ms{suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
