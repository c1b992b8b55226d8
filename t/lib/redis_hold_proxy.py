#!/usr/bin/python3
"""A TCP proxy between NGINX and Redis that holds back the answer to a
history read until the test says so.

    redis_hold_proxy.py LISTEN_PORT REDIS_PORT

Every connection is passed through both ways, except on the server side
of a connection whose client sent a history read (an EVALSHA of the
script that calls XREVRANGE, ngx_http_ws_redis.c; its SHA1 is learnt from
the SCRIPT LOAD that precedes it): Redis's reply to that request,
and whatever Redis sends after it on that connection, is held until a
line "release" comes on stdin. Replies to the requests before it are
passed on as they come. Requests are counted as RESP values on the way
in and replies on the way out (Redis answers a connection's requests in
order), so the reply held is that of the history read, not a reply that
happens to be in flight.

stdout says "listening" once the port is open and "held" each time a
reply is held. The proxy exits when stdin closes (the test ended).
"""

import asyncio
import hashlib
import sys

HISTORY_READ = b"XREVRANGE"

# hex SHA1s of the scripts that read history, as EVALSHA names them
history_scripts = set()


def bulk_strings(request):
    """The arguments of a RESP2 array of bulk strings."""
    args = []
    nl = request.find(b"\r\n")
    pos = nl + 2
    for _ in range(int(request[1:nl])):
        nl = request.find(b"\r\n", pos)
        n = int(request[pos + 1:nl])
        args.append(request[nl + 2:nl + 2 + n])
        pos = nl + 2 + n + 2
    return args


def reads_history(request):
    """Whether a request runs the history script (and learns its SHA1)."""
    args = bulk_strings(request)
    name = args[0].upper() if args else b""
    if name == b"SCRIPT" and len(args) == 3 and HISTORY_READ in args[2]:
        history_scripts.add(hashlib.sha1(args[2]).hexdigest().encode())
        return False
    if name == b"EVALSHA" and len(args) > 1:
        return args[1].lower() in history_scripts
    return name == b"EVAL" and len(args) > 1 and HISTORY_READ in args[1]


def resp_end(buf, pos=0):
    """End of the RESP2 value that starts at pos, or None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    kind = buf[pos:pos + 1]
    if kind in (b"+", b"-", b":"):
        return nl + 2
    n = int(buf[pos + 1:nl])
    if kind == b"$":
        end = nl + 2 if n < 0 else nl + 2 + n + 2
        return end if len(buf) >= end else None
    if kind == b"*":
        p = nl + 2
        for _ in range(max(n, 0)):
            p = resp_end(buf, p)
            if p is None:
                return None
        return p
    raise ValueError("not RESP2: %r" % buf[pos:nl])


class Connection:
    def __init__(self):
        self.requests = 0
        self.replies = 0
        self.hold_at = set()     # numbers of the requests that read history


async def to_redis(reader, writer, conn):
    buf = b""
    while True:
        data = await reader.read(65536)
        if not data:
            break
        buf += data
        # counted before they are forwarded: their replies come later
        while (end := resp_end(buf)) is not None:
            if reads_history(buf[:end]):
                conn.hold_at.add(conn.requests)
            conn.requests += 1
            buf = buf[end:]
        writer.write(data)
        await writer.drain()
    writer.close()


async def from_redis(reader, writer, conn, releases):
    buf = b""
    while True:
        data = await reader.read(65536)
        if not data:
            break
        buf += data
        out = b""
        while (end := resp_end(buf)) is not None:
            if conn.replies in conn.hold_at:
                writer.write(out)
                await writer.drain()
                out = b""
                print("held", flush=True)
                await releases.get()
            conn.replies += 1
            out += buf[:end]
            buf = buf[end:]
        writer.write(out)
        await writer.drain()
    writer.close()


async def main(listen_port, redis_port):
    releases = asyncio.Queue()

    async def accept(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1",
                                                             redis_port)
        except OSError:
            cwriter.close()
            return
        conn = Connection()
        try:
            await asyncio.gather(to_redis(creader, swriter, conn),
                                 from_redis(sreader, cwriter, conn, releases))
        except (OSError, ValueError):
            pass
        finally:
            cwriter.close()
            swriter.close()

    server = await asyncio.start_server(accept, "127.0.0.1", listen_port)
    print("listening", flush=True)

    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    while True:
        line = await stdin.readline()
        if not line:
            break
        if line.strip() == b"release":
            releases.put_nowait(True)

    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
