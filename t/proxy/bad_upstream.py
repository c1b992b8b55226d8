#!/usr/bin/python3
"""An upstream that breaks RFC 6455 on purpose, over a raw socket (no
library would): usage bad_upstream.py PORT. It answers the handshake
properly unless the path says otherwise, then by path:

  /invalid-utf8   sends a text message that is not UTF-8
  /masked         sends a masked frame (servers must not mask)
  /die            sends the first fragment of a message, then closes TCP
  /bad-accept     answers 101 with a wrong Sec-WebSocket-Accept
  /bad-protocol   answers 101 with a subprotocol nobody offered
  /bad-extension  answers 101 with permessage-deflate, which was not offered
  /no-upgrade     answers 101 without Upgrade: websocket
  /silent         never answers the handshake
  /big-reserved   sends a frame with RSV2 set
  /stall          never reads after the handshake
  /frames         reads one message and answers with the lengths of the
                  frames it came in, as text ("65536,65536,...")
  /fragmented-ping  sends a ping without FIN (control frames must not be
                  fragmented)
  /bad-close-code sends a close frame with code 999
  /slow-close     answers a close 0.5 s late, with its code and "slow"
  /no-close-answer  never answers a close
  /close-first    closes with 4002 "up bye" itself, then waits for the
                  answer
  /last-close     answers its first message with the close code (and
                  how many ms the answer took, for /close-first) that the
                  last connection's close frame carried

and, for the proxy's permessage-deflate offer (ws_proxy_deflate), answers
101 with the Sec-WebSocket-Extensions of EXTENSIONS by path:

  /unoffered      x-unoffered-ext, an extension nobody offered
  /bad-bits       permessage-deflate; client_max_window_bits=20 (8..15 only)
  /no-value       permessage-deflate; server_max_window_bits (needs a value)
  /unknown        permessage-deflate; mystery_param
  /twice          permessage-deflate, permessage-deflate
  /good           permessage-deflate; server_max_window_bits=10;
                  server_no_context_takeover, then it sends "hello deflate"
                  compressed within that window
"""
import base64
import hashlib
import socket
import sys
import threading
import time
import zlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
last = {"close": "none", "waited": 0}
EXTENSIONS = {
    "/bad-extension": "permessage-deflate",
    "/unoffered": "x-unoffered-ext",
    "/bad-bits": "permessage-deflate; client_max_window_bits=20",
    "/no-value": "permessage-deflate; server_max_window_bits",
    "/unknown": "permessage-deflate; mystery_param",
    "/twice": "permessage-deflate, permessage-deflate",
    "/good": "permessage-deflate; server_max_window_bits=10; "
             "server_no_context_takeover",
}


def recv_exactly(conn, n):
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


def read_frame(conn):
    """One frame: (opcode, fin, unmasked payload)."""
    b0, b1 = recv_exactly(conn, 2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exactly(conn, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exactly(conn, 8), "big")
    key = recv_exactly(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
    data = recv_exactly(conn, n)
    return b0 & 0x0F, b0 >> 7, bytes(b ^ key[i % 4] for i, b in
                                     enumerate(data))


def until_close(conn):
    """Reads up to the proxy's close frame; its code, or "none"."""
    while True:
        op, _, data = read_frame(conn)
        if op == 8:
            code = str(int.from_bytes(data[:2], "big")) if data else "none"
            last["close"] = code
            return data


def close_frame(payload):
    return bytes([0x88, len(payload)]) + payload


def read_frames(conn):
    """The payload lengths of the frames of one data message (pings are
    skipped)."""
    sizes = []
    while True:
        op, fin, data = read_frame(conn)
        if op >= 8:
            continue
        sizes.append(len(data))
        if fin:
            return sizes


def text_frame(text):
    data = text.encode()
    if len(data) < 126:
        return bytes([0x81, len(data)]) + data
    return bytes([0x81, 126]) + len(data).to_bytes(2, "big") + data


def serve(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode()
    # the last segment: the proxy keeps its location's prefix
    path = "/" + head.split(" ")[1].split("?")[0].rsplit("/", 1)[-1]
    key = ""
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    if path == "/silent":
        time.sleep(30)
        return
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode())
                              .digest()).decode()
    if path == "/bad-accept":
        accept = base64.b64encode(b"x" * 20).decode()
    extra = ""
    if path == "/bad-protocol":
        extra = "Sec-WebSocket-Protocol: nope\r\n"
    elif path in EXTENSIONS:
        extra = "Sec-WebSocket-Extensions: %s\r\n" % EXTENSIONS[path]
    upgrade = "" if path == "/no-upgrade" else "Upgrade: websocket\r\n"
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\n%s"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
                  % (upgrade, accept, extra)).encode())
    if path == "/good":
        z = zlib.compressobj(6, zlib.DEFLATED, -10)
        payload = z.compress(b"hello deflate") + z.flush(zlib.Z_SYNC_FLUSH)
        payload = payload[:-4]
        conn.sendall(bytes([0xC1, len(payload)]) + payload)
    elif path == "/invalid-utf8":
        conn.sendall(b"\x81\x02\xff\xfe")
    elif path == "/masked":
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(b"hello"))
        conn.sendall(b"\x81\x85" + key + payload)
    elif path == "/die":
        conn.sendall(b"\x01\x03abc")
        time.sleep(0.2)
        conn.close()
        return
    elif path == "/big-reserved":
        conn.sendall(b"\xa1\x02hi")
    elif path == "/stall":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        time.sleep(60)
        return
    elif path == "/fragmented-ping":
        conn.sendall(b"\x09\x01x")
    elif path == "/bad-close-code":
        conn.sendall(b"\x88\x02" + (999).to_bytes(2, "big"))
    elif path == "/slow-close":
        data = until_close(conn)
        time.sleep(0.5)
        conn.sendall(close_frame(data[:2] + b"slow"))
        time.sleep(0.2)
        conn.close()
        return
    elif path == "/no-close-answer":
        until_close(conn)
        time.sleep(10)
        return
    elif path == "/close-first":
        last["close"] = "none"
        t0 = time.time()
        conn.sendall(close_frame((4002).to_bytes(2, "big") + b"up bye"))
        until_close(conn)
        last["waited"] = int((time.time() - t0) * 1000)
        conn.close()
        return
    elif path == "/last-close":
        read_frame(conn)
        conn.sendall(text_frame("%s %d" % (last["close"], last["waited"])))
    elif path == "/frames":
        conn.sendall(text_frame(",".join(str(n) for n in read_frames(conn))))
    # read until the proxy closes, noting its close code for /last-close
    if path != "/last-close":
        last["close"] = "none"
    try:
        until_close(conn)
        while conn.recv(4096):
            pass
    except (OSError, EOFError):
        pass


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(64)
    print("listening", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
