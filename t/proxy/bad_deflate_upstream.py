#!/usr/bin/python3
"""An upstream whose 101 answers the proxy's permessage-deflate offer
wrongly (or rightly, for contrast), over a raw socket: usage
bad_deflate_upstream.py PORT. By path, its Sec-WebSocket-Extensions:

  /unoffered    x-unoffered-ext, an extension nobody offered
  /bad-bits     permessage-deflate; client_max_window_bits=20 (8..15 only)
  /no-value     permessage-deflate; server_max_window_bits (needs a value)
  /unknown      permessage-deflate; mystery_param
  /twice        permessage-deflate, permessage-deflate
  /good         permessage-deflate; server_max_window_bits=10;
                server_no_context_takeover, then it sends "hello deflate"
                compressed within that window and reads until closed
"""
import base64
import hashlib
import socket
import sys
import threading
import zlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ANSWERS = {
    "/unoffered": "x-unoffered-ext",
    "/bad-bits": "permessage-deflate; client_max_window_bits=20",
    "/no-value": "permessage-deflate; server_max_window_bits",
    "/unknown": "permessage-deflate; mystery_param",
    "/twice": "permessage-deflate, permessage-deflate",
    "/good": "permessage-deflate; server_max_window_bits=10; "
             "server_no_context_takeover",
}


def serve(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode()
    path = "/" + head.split(" ")[1].split("?")[0].rsplit("/", 1)[-1]
    key = ""
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode())
                              .digest()).decode()
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                  "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                  "Sec-WebSocket-Extensions: %s\r\n\r\n"
                  % (accept, ANSWERS.get(path, "x-unoffered-ext"))).encode())
    if path == "/good":
        z = zlib.compressobj(6, zlib.DEFLATED, -10)
        payload = z.compress(b"hello deflate") + z.flush(zlib.Z_SYNC_FLUSH)
        payload = payload[:-4]
        conn.sendall(bytes([0xC1, len(payload)]) + payload)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(16)
    print("listening", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=lambda c=conn: (serve(c), c.close()),
                         daemon=True).start()


main()
