#!/usr/bin/python3
"""The demo's application backend: what ngx_ws's hooks call (docs/backends.md).

    demo_backend.py [HOST] [PORT]        (default 127.0.0.1 8092)

Python's standard library only: an HTTP/1.1 server with keepalive and
pipelining (pipelined_http.py, beside this file), one function per route.
NGINX holds the WebSockets; this process sees each connection arrive and
leave, and each chat message before the room does:

    GET  /connect        a handshake (the connect hook): let it in
    POST /close          a connection has ended (the close hook)
    POST /chat/message   a raw client's chat message (the message hook of
                           /chat/<room>), moderated (below): refused with
                           403 "not sent: <why>", the sender alone is told;
                           an action published as the text "* <id> waves";
                           anything else 304, published as it was
    POST /ws/rpc         the message hook of the JSON protocol's /ws, which
                           names the request in WS-Op:
                           publish: a chat line of chat.html (a string),
                           moderated as above: refused with 403 "<why>"
                           (the publisher's error says it), an action
                           published as {"action": "* <id> waves"}, the rest
                           304; data that is not a string passes (304)
                           rpc "whoami": the caller's connection id and user
                           (null unless the connect hook named one); other
                           methods are 404, a "rejected" error for the client
                           send: taken (204)

Moderation, the same for both: a line with the word "spam" is refused;
"/me waves" becomes the action "* <connection id> waves".

Each connect and close it is told of is printed on stdout, one line each
(`make run` writes them to build/demo/logs/backend.log). Add a route by
writing a function of (request) -> (status, headers, body) and naming it
in ROUTES.
"""

import json
import re
import sys
import time

from pipelined_http import serve

SPAM = re.compile(r"\bspam\b", re.IGNORECASE)


def log(line):
    print(time.strftime("%H:%M:%S"), line, flush=True)


def connect(request):
    log("connect %s %s from %s" % (request.connection_id,
                                   request.headers.get("X-Original-URI", "?"),
                                   request.headers.get("X-Real-IP", "?")))
    return 204, {}, b""


def close(request):
    event = json.loads(request.body or b"{}")
    log("close %s code=%s closed_by=%s after %s ms, %s in, %s out" % (
        event.get("connection_id"), event.get("code"),
        event.get("closed_by"), event.get("duration_ms"),
        event.get("messages_in"), event.get("messages_out")))
    return 204, {}, b""


TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def moderate(text, connection_id):
    """What the room takes of a chat line: ("refuse", why),
    ("action", line) or ("pass", None)."""
    if SPAM.search(text):
        return "refuse", "this room does not take spam"

    if text.startswith("/me "):
        return "action", "* %s %s" % (connection_id, text[4:])

    return "pass", None


def chat_message(request):
    verdict, what = moderate(request.body.decode("utf-8", "replace"),
                             request.connection_id)

    if verdict == "refuse":
        return 403, TEXT, ("not sent: " + what).encode()

    if verdict == "action":
        return 200, TEXT, what.encode()

    return 304, {}, b""


def ws_publish(request):
    data = json.loads(request.body or b"null")

    if not isinstance(data, str):
        return 304, {}, b""

    verdict, what = moderate(data, request.connection_id)

    if verdict == "refuse":
        return 403, TEXT, what.encode()

    if verdict == "action":
        return 200, {"Content-Type": "application/json"}, \
            json.dumps({"action": what}, separators=(",", ":")).encode()

    return 304, {}, b""


def ws_rpc(request):
    op = request.headers.get("WS-Op")
    method = request.headers.get("WS-Method")

    if op == "publish":
        return ws_publish(request)

    if op == "send":
        return 204, {}, b""

    if op == "rpc" and method == "whoami":
        answer = {"connection_id": request.connection_id,
                  "user": request.headers.get("WS-User")}
        return 200, {"Content-Type": "application/json"}, \
            json.dumps(answer, separators=(",", ":")).encode()

    return 404, TEXT, ("no method %r here" % method).encode()


ROUTES = {
    ("GET", "/connect"): connect,
    ("POST", "/close"): close,
    ("POST", "/chat/message"): chat_message,
    ("POST", "/ws/rpc"): ws_rpc,
}


def handle(request):
    route = ROUTES.get((request.method, request.path))
    if route is None:
        return 404, TEXT, b"no such route\n"
    return route(request)


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8092
    log("demo backend on http://%s:%d/" % (host, port))
    try:
        serve(host, port, handle)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
