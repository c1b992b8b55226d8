"""A small HTTP/1.1 server for the demo backend: one thread, one event loop.

    serve(host, port, handle)     handle(Request) -> (status, headers, body)

Python's standard library only. Why not http.server: it answers each
request with a write of its own, one thread per connection. NGINX's
direct hook client pipelines: one connection carries many calls written
together, so the answers to all the requests that arrived in one read are
sent here in one write, and NGINX reads them in one. A connection is
read again only once its answers are out (back-pressure), and a request
is read whole before it is handled.

What a request may be: a request line and header fields of up to 16 KiB
(else 431), a body of up to 1 MiB (else 413) given by Content-Length or
chunked (any other transfer coding: 501); anything else malformed is
answered 400. Those answers close the connection, as does a request
saying "Connection: close" (or HTTP/1.0 without keep-alive), once the
answer is sent. An exception in handle() is a 500 for that request.
"""

import re
import selectors
import socket
import sys
import traceback
from http import HTTPStatus

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
READ_SIZE = 64 * 1024
# Above this much unsent, a connection is not read until it drains.
MAX_UNSENT = 1024 * 1024

# Only ASCII digits: str.isdigit() and int() take other scripts' digits too.
DECIMAL = re.compile(r"[0-9]+")
HEXADECIMAL = re.compile(rb"[0-9A-Fa-f]+")


class BadRequest(Exception):
    def __init__(self, status, why):
        super().__init__(why)
        self.status = status


class Headers:
    """Header fields by lower-cased name; a repeated field's values are
    joined with ", " (RFC 9110, 5.3)."""

    def __init__(self):
        self.fields = {}

    def add(self, name, value):
        key = name.lower()
        if key in self.fields:
            self.fields[key] += ", " + value
        else:
            self.fields[key] = value

    def get(self, name, default=None):
        return self.fields.get(name.lower(), default)


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.path = target.split("?", 1)[0]
        self.version = version
        self.headers = headers
        self.body = body
        self.connection_id = headers.get("WS-Connection-Id", "?")

    def keep_alive(self):
        tokens = [t.strip().lower()
                  for t in self.headers.get("Connection", "").split(",")]
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


def parse_head(head):
    """The request line and fields of a head (bytes, without the blank
    line): (method, target, version, Headers)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:        # latin-1 decodes any byte
        raise BadRequest(400, "undecodable head")

    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise BadRequest(400, "bad request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(505 if version.startswith("HTTP/") else 400,
                         "bad version")

    headers = Headers()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        # no folded lines, no space before the colon (RFC 9112, 5)
        if not colon or not name or name != name.strip() or " " in name:
            raise BadRequest(400, "bad header line")
        headers.add(name, value.strip(" \t"))
    return method, target, version, headers


def take_chunked(buf, start):
    """A chunked body from buf[start:]: (body, end) once it is all there
    (trailer fields skipped), None before."""
    body = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > 1024:
                raise BadRequest(400, "bad chunk size line")
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        if not HEXADECIMAL.fullmatch(size_text):
            raise BadRequest(400, "bad chunk size")
        size = int(size_text, 16)
        if len(body) + size > MAX_BODY:
            raise BadRequest(413, "body too large")
        pos = eol + 2
        if size == 0:
            # trailer fields, then an empty line
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return bytes(body), eol + 2
                pos = eol + 2
        if len(buf) < pos + size + 2:
            return None
        if buf[pos + size:pos + size + 2] != b"\r\n":
            raise BadRequest(400, "chunk not followed by CRLF")
        body += buf[pos:pos + size]
        pos += size + 2


def take_request(buf, start):
    """The first whole request in buf from start: (Request, where it
    ends), or None while it is incomplete."""
    end = buf.find(b"\r\n\r\n", start)
    if end < 0:
        if len(buf) - start > MAX_HEAD:
            raise BadRequest(431, "head too large")
        return None
    if end - start > MAX_HEAD:
        raise BadRequest(431, "head too large")

    method, target, version, headers = parse_head(bytes(buf[start:end]))
    body_start = end + 4
    coding = headers.get("Transfer-Encoding")
    length = headers.get("Content-Length")

    if coding is not None:
        if coding.lower() != "chunked" or length is not None:
            raise BadRequest(501 if length is None else 400,
                             "unsupported transfer coding")
        taken = take_chunked(buf, body_start)
        if taken is None:
            return None
        body, request_end = taken
    else:
        if length is None:
            size = 0
        elif DECIMAL.fullmatch(length):
            size = int(length)
        else:
            raise BadRequest(400, "bad Content-Length")
        if size > MAX_BODY:
            raise BadRequest(413, "body too large")
        if len(buf) < body_start + size:
            return None
        body = bytes(buf[body_start:body_start + size])
        request_end = body_start + size

    return Request(method, target, version, headers, body), request_end


def answer(status, headers, body, close):
    """An answer's bytes. 1xx, 204 and 304 carry no body (RFC 9110, 6.4.1)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: ngx_ws-demo-backend"]
    for name, value in headers.items():
        lines.append("%s: %s" % (name, value))
    bodyless = status < 200 or status in (204, 304)
    if not bodyless:
        lines.append("Content-Length: %d" % len(body))
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if bodyless else head + body


class Connection:
    def __init__(self, loop, sock):
        self.loop = loop
        self.sock = sock
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.closing = False       # close once outbuf is sent
        self.events = selectors.EVENT_READ
        loop.selector.register(sock, self.events, self)

    def on_event(self, mask):
        if mask & selectors.EVENT_WRITE:
            self.flush()
        if mask & selectors.EVENT_READ and not self.closing and self.sock:
            self.read()

    def read(self):
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return

        self.inbuf += data
        taken = 0
        try:
            while not self.closing:
                parsed = take_request(self.inbuf, taken)
                if parsed is None:
                    break
                request, taken = parsed
                self.respond(request)
        except BadRequest as bad:
            self.outbuf += answer(bad.status, {"Content-Type": "text/plain"},
                                  (str(bad) + "\n").encode(), True)
            self.closing = True
        del self.inbuf[:taken]
        self.flush()

    def respond(self, request):
        close = not request.keep_alive()
        try:
            status, headers, body = self.loop.handle(request)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            status, headers, body = 500, {}, b""
        self.outbuf += answer(status, headers, body, close)
        if close:
            self.closing = True

    def flush(self):
        while self.outbuf:
            try:
                sent = self.sock.send(self.outbuf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.close()
                return
            del self.outbuf[:sent]

        if not self.outbuf and self.closing:
            self.close()
            return

        wanted = 0
        if self.outbuf:
            wanted |= selectors.EVENT_WRITE
        if len(self.outbuf) <= MAX_UNSENT and not self.closing:
            wanted |= selectors.EVENT_READ
        if wanted != self.events:
            self.events = wanted
            self.loop.selector.modify(self.sock, wanted, self)

    def close(self):
        if self.sock is None:
            return
        self.loop.selector.unregister(self.sock)
        self.sock.close()
        self.sock = None


class Loop:
    def __init__(self, host, port, handle):
        self.handle = handle
        self.selector = selectors.DefaultSelector()
        self.listener = socket.create_server((host, port), backlog=4096)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, None)

    def accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:          # out of descriptors: try again later
                return
            sock.setblocking(False)
            # answers go out whole and at once, not held for an ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Connection(self, sock)

    def run(self):
        while True:
            for key, mask in self.selector.select():
                if key.data is None:
                    self.accept()
                    continue
                try:
                    key.data.on_event(mask)
                except Exception:
                    # a fault of this server's own: that connection ends,
                    # the others go on
                    traceback.print_exc(file=sys.stderr)
                    key.data.close()


def serve(host, port, handle):
    Loop(host, port, handle).run()
