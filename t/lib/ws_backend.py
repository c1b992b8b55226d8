#!/usr/bin/python3
"""An HTTP backend for the backend-hook tests: Python's own http.server,
HTTP/1.1 with keepalive, and no logic of its own about WebSockets.

    ws_backend.py PORT LOG_FILE

Every request is appended to LOG_FILE as one JSON line: method, path,
headers (name -> list of values, names lowercase), body, and the port the
request came from plus how many requests that TCP connection carried
before it (keepalive shows as the same port, count > 0).

The answer is whatever the request asks for, so that a test says in its
WebSocket handshake (whose headers the connect hook forwards) what the
backend should do:

    X-Answer-Status: 401                       the status (default 200)
    X-Answer-Header: WWW-Authenticate: Bearer  a header of the answer
                                               (repeat for more)
    X-Answer-Delay: 2.5                        seconds to wait first
    X-Answer-Body: text                        a body (default none)
    X-Answer-Body-Size: 9000                   or that many bytes of "b"
    X-Answer-Echo: prefix                      or the prefix, then the
                                               request's own body
    X-Answer-Delay-Max: 0.02                   a random wait up to this

stdout says "listening" once the port is open.
"""

import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.served = 0

    def log_message(self, format, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""

        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)

        record = {
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "port": self.client_address[1],
            "served_before": self.served,
        }
        self.served += 1

        with log_lock:
            with open(sys.argv[2], "a") as log:
                log.write(json.dumps(record) + "\n")

        delay = float(self.headers.get("X-Answer-Delay") or 0)
        delay += random.uniform(
            0, float(self.headers.get("X-Answer-Delay-Max") or 0))
        if delay:
            time.sleep(delay)

        status = int(self.headers.get("X-Answer-Status") or 200)
        out = (self.headers.get("X-Answer-Body") or "").encode()
        out += b"b" * int(self.headers.get("X-Answer-Body-Size") or 0)
        if self.headers.get("X-Answer-Echo") is not None:
            out = self.headers.get("X-Answer-Echo").encode() + body

        self.send_response(status)
        for line in self.headers.get_all("X-Answer-Header") or []:
            name, _, value = line.partition(":")
            self.send_header(name.strip(), value.strip())
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = answer
    do_POST = answer


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
