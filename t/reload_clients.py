#!/usr/bin/python3
"""Clients of a reload test: they publish and subscribe while NGINX reloads,
and tell whether every subscriber got, before its 1001, every message that
was acknowledged before that 1001.

"Before" is judged by the kernel, not by this process: every socket has
SO_TIMESTAMPNS, so each read says when its bytes reached the socket. A
publish's acknowledgement and a subscriber's close frame are both dated so,
on one clock, however late this single process gets round to reading them
(with a thousand sockets it reads some of them tens of milliseconds late).

Raw subscribers (a ws_subscribe location) see payloads, which name the
publish ("p<n>"); its acknowledgement gave the sequence number. JSON
subscribers (ws_protocol json) see the numbers themselves, publish too
(acknowledged with their number), and after their 1001 come back and
resume from the last_seq the 1001 gave them.

Prints one JSON object of figures and of the violations found; the test
file decides. Usage: reload_clients.py '<json options>'.
"""

import json
import os
import random
import resource
import selectors
import signal
import socket
import struct
import sys
import time
import base64

SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
CMSG_SPACE = socket.CMSG_SPACE(16)

opt = json.loads(sys.argv[1])
PORT = int(opt['port'])
MASTER = int(opt['master'])
RAW = opt.get('raw', 0)              # raw subscribers of /sub
JSON_CLIENTS = opt.get('json', 0)    # control-protocol clients of /ws
ROOMS = opt.get('rooms', 1)
RELOADS = opt.get('reloads', 1)
PUB_INTERVAL = opt.get('pub_interval', 0.01)   # HTTP publisher, seconds
CLIENT_PUBS = opt.get('client_pubs', 0)        # per JSON client per second
SETTLE = opt.get('settle', 0.5)      # publishing before each reload
SOURCES = opt.get('sources', 1)      # 127.0.0.2 .. : source addresses
WAIT = opt.get('wait', 20)           # for every 1001 of a round, seconds
SAMPLE = opt.get('sample')           # callback: zone/RSS figures per round

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = max(soft, min(hard, 20000))
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
except (ValueError, OSError):
    pass

sel = selectors.DefaultSelector()


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


def stamped_recv(sock):
    """(bytes, kernel receive time in ns) or (b'', None) at EOF."""
    data, anc, _flags, _addr = sock.recvmsg(262144, CMSG_SPACE)
    ts = None
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack('qq', raw[:16])
            ts = sec * 1000000000 + nsec
    if data and ts is None:
        ts = now_ns()
    return data, ts


def new_socket(i=None):
    """Clients spread over SOURCES addresses; None: 127.0.0.1 itself (the
    publisher, which an allow list may restrict)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    if SOURCES > 1 and i is not None:
        s.bind(('127.0.0.%d' % (2 + i % SOURCES), 0))
    s.connect(('127.0.0.1', PORT))
    return s


def mask(payload):
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return key, body


def frame(op, payload):
    n = len(payload)
    head = bytes([0x80 | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack('!H', n)
    else:
        head += bytes([0x80 | 127]) + struct.pack('!Q', n)
    key, body = mask(payload)
    return head + key + body


class Client:
    """One WebSocket: handshake, then server frames, each dated."""

    def __init__(self, i, uri, kind):
        self.i = i
        self.kind = kind
        self.uri = uri
        self.buf = b''
        self.open = False
        self.closed = None     # (code, reason, kernel ns)
        self.worker = None
        self.events = []       # (kind, value, ns)
        self.sock = new_socket(i)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            'GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n'
            'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
            'Sec-WebSocket-Version: 13\r\n\r\n' % (uri, key)).encode())
        self.sock.setblocking(False)
        sel.register(self.sock, selectors.EVENT_READ, self)

    def send(self, text):
        self.sock.setblocking(True)
        self.sock.sendall(frame(1, text.encode()))
        self.sock.setblocking(False)

    def readable(self):
        try:
            data, ts = stamped_recv(self.sock)
        except BlockingIOError:
            return
        except ConnectionError:
            data, ts = b'', None
        if not data:
            self.finish()
            return
        self.buf += data
        if not self.open:
            end = self.buf.find(b'\r\n\r\n')
            if end < 0:
                return
            head = self.buf[:end].decode('latin1')
            self.buf = self.buf[end + 4:]
            if ' 101 ' not in head.split('\r\n')[0]:
                self.events.append(('refused', head.split('\r\n')[0], ts))
                self.finish()
                return
            for line in head.split('\r\n')[1:]:
                k, _, v = line.partition(':')
                if k.lower() == 'x-worker':
                    self.worker = int(v.strip())
            self.open = True
            self.on_open()
        while True:
            if len(self.buf) < 2:
                return
            op = self.buf[0] & 0x0f
            n = self.buf[1] & 0x7f
            at = 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n = struct.unpack('!H', self.buf[2:4])[0]
                at = 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n = struct.unpack('!Q', self.buf[2:10])[0]
                at = 10
            if len(self.buf) < at + n:
                return
            payload = self.buf[at:at + n]
            self.buf = self.buf[at + n:]
            if op == 8:
                code = struct.unpack('!H', payload[:2])[0] if n >= 2 else 1005
                self.closed = (code, payload[2:].decode(), ts)
                try:
                    self.sock.sendall(frame(8, payload[:2]))
                except OSError:
                    pass
                self.finish()
                return
            if op == 1:
                self.on_text(payload.decode(), ts)

    def finish(self):
        if self.sock is None:
            return
        sel.unregister(self.sock)
        self.sock.close()
        self.sock = None
        self.on_finish()

    def on_open(self):
        pass

    def on_text(self, text, ts):
        self.events.append(('text', text, ts))

    def on_finish(self):
        pass


# The acknowledged publishes: (room, seq) -> kernel ns of the ack
acks = {}
top_seq = {}                # room -> highest acknowledged number
failed_publishes = []


def acked(room, seq, ts):
    acks[(room, seq)] = ts
    if seq > top_seq.get(room, 0):
        top_seq[room] = seq


class Publisher:
    """POSTs to /pub/<room> on one keep-alive connection, dated acks."""

    def __init__(self):
        self.sock = None
        self.n = 0
        self.payload_seq = {}   # "p<n>" -> seq

    def post(self, room):
        self.n += 1
        body = 'p%d' % self.n
        req = ('POST %s HTTP/1.1\r\nHost: localhost\r\n'
               'Content-Length: %d\r\n\r\n%s'
               % (opt.get('pub_path', '/pub/room:%s') % room, len(body),
                  body))
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self.sock = new_socket()
                self.sock.sendall(req.encode())
                data = b''
                while True:
                    chunk, ts = stamped_recv(self.sock)
                    if not chunk:
                        raise ConnectionError('closed')
                    data += chunk
                    end = data.find(b'\r\n\r\n')
                    if end < 0:
                        continue
                    head = data[:end].decode('latin1')
                    length = 0
                    for line in head.split('\r\n'):
                        k, _, v = line.partition(':')
                        if k.lower() == 'content-length':
                            length = int(v)
                    if len(data) >= end + 4 + length:
                        break
                status = int(head.split()[1])
                if status != 200:
                    failed_publishes.append(status)
                    return
                seq = json.loads(data[end + 4:end + 4 + length])['seq']
                acked(room, seq, ts)
                self.payload_seq[body] = seq
                if 'connection: close' in head.lower():
                    self.sock.close()
                    self.sock = None
                return
            except (ConnectionError, OSError):
                # an old worker closing its keep-alive connection: again
                if self.sock:
                    self.sock.close()
                self.sock = None
        failed_publishes.append(0)


class Raw(Client):
    """Subscribed before the round's first publish: gets every message
    after the number its channel had then (the HTTP publisher alone
    publishes to it, each publish acknowledged before the next)."""

    def __init__(self, i):
        super().__init__(i, opt.get('raw_uri', '/sub'), 'raw')
        self.first = top_seq.get('0', 0) + 1


class Json(Client):
    """Subscribes to its room (resuming after the last 1001's cut), and
    publishes into it; its acks count as acknowledged publishes."""

    def __init__(self, i, room, last_seq=None):
        super().__init__(i, '/ws', 'json')
        self.room = room
        self.last_seq = last_seq
        self.pending = {}       # id -> True
        self.ids = 0

    def on_open(self):
        msg = {'op': 'subscribe', 'channel': 'room:%s' % self.room, 'id': 0}
        if self.last_seq is not None:
            msg['last_seq'] = self.last_seq
        self.send(json.dumps(msg))

    def publish(self):
        if not self.open or self.sock is None or self.closed:
            return
        self.ids += 1
        self.pending[self.ids] = True
        self.send(json.dumps({'op': 'publish', 'channel': 'room:%s'
                              % self.room, 'data': 'c%d' % self.i,
                              'id': self.ids}))

    def on_text(self, text, ts):
        m = json.loads(text)
        if m.get('op') == 'ack' and m.get('id', 0) in self.pending:
            del self.pending[m['id']]
            acked(self.room, m['seq'], ts)
        self.events.append(('json', m, ts))


def pump(timeout):
    for key, _ in sel.select(timeout):
        key.data.readable()


def pump_for(seconds, publisher=None, rooms=(), clients=()):
    end = time.monotonic() + seconds
    next_pub = time.monotonic()
    while True:
        t = time.monotonic()
        if t >= end:
            return
        if publisher and t >= next_pub:
            for room in rooms:
                publisher.post(room)
            next_pub = t + PUB_INTERVAL
        if CLIENT_PUBS and clients:
            # each client publishes CLIENT_PUBS a second on average
            for c in random.sample(clients, max(1, int(len(clients)
                                   * CLIENT_PUBS * 0.01))):
                c.publish()
        pump(0.005)


def judge(c, acked_rooms, result):
    """Checks one finished connection; adds violations to result."""
    if c.closed is None:
        result['no_close'] += 1
        return
    code, reason, t_close = c.closed
    if code != 1001:
        result['bad_code'].append(code)
        return
    result['closes'] += 1
    if c.kind == 'raw':
        room = acked_rooms[0]
        cut = None
        if ', last_seq=' in reason:
            cut = int(reason.rsplit('=', 1)[1])
        got = [pub.payload_seq.get(v) for k, v, _ in c.events if k == 'text']
        first = c.first
    else:
        room = c.room
        cut = None
        got = []
        first = None
        for k, m, _ in c.events:
            if k != 'json':
                continue
            op = m.get('op')
            if op == 'ack' and m.get('id') == 0:
                first = (m.get('seq') or 0) + 1
                if c.last_seq is not None:
                    first = c.last_seq + 1
            elif op == 'message':
                got.append(m['seq'])
            elif op == 'gap':
                result['gaps'] += 1
            elif op == 'going_away':
                cut = m['last_seq']
    if cut is None:
        # a server that names no cut: judged from what arrived
        result['no_cut'] += 1
        cut = max([x for x in got if x is not None] or [0])
    if first is None:
        result['no_ack'] += 1
        return
    want = list(range(first, cut + 1))
    if got != want:
        missing = sorted(set(want) - set(x for x in got if x is not None))
        result['order'].append({'conn': c.i, 'kind': c.kind,
                                'first': first, 'cut': cut,
                                'missing': missing[:10],
                                'got_tail': got[-5:]})
    result['delivered'] += len(got)
    # acknowledged before the 1001 reached this socket: must be <= cut
    for seq in range(max(cut + 1, first), top_seq.get(room, 0) + 1):
        t_ack = acks.get((room, seq))
        if t_ack is not None and t_ack < t_close:
            lead = (t_close - t_ack) / 1e6
            result['late'].append({'conn': c.i, 'seq': seq, 'cut': cut,
                                   'ack_before_close_ms': round(lead, 3)})


def http_get(path):
    s = new_socket()
    s.sendall(('GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close'
               '\r\n\r\n' % path).encode())
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b'\r\n\r\n', 1)[1]


def worker_rss():
    """The master's children (its workers), and their RSS in KiB."""
    out = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                st = f.read()
            if int(st.rsplit(')', 1)[1].split()[1]) != MASTER:
                continue
            with open('/proc/%s/status' % pid) as f:
                rss = [l for l in f if l.startswith('VmRSS:')]
            out[int(pid)] = int(rss[0].split()[1]) if rss else 0
        except (OSError, IndexError, ValueError):
            continue
    return out


def rss(pid):
    with open('/proc/%d/status' % pid) as f:
        for l in f:
            if l.startswith('VmRSS:'):
                return int(l.split()[1])
    return 0


def zone_free():
    return json.loads(http_get('/metrics?format=json'))['zone']['free']


def main():
    global pub
    random.seed(1)
    rooms = [str(r) for r in range(ROOMS)]
    pub = Publisher()
    result = {'closes': 0, 'no_close': 0, 'bad_code': [], 'no_cut': 0,
              'no_ack': 0, 'order': [], 'late': [], 'gaps': 0,
              'delivered': 0, 'rounds': [], 'workers_per_round': [],
              'refused': 0}
    current = []
    last_cut = {}

    def connect_all():
        cs = []
        for i in range(RAW):
            cs.append(Raw(i))
        for i in range(JSON_CLIENTS):
            room = rooms[i % ROOMS]
            cs.append(Json(RAW + i, room, last_cut.get(RAW + i)))
        return cs

    # the history of every room filled to its bound, before anything is
    # measured: the zone is at its steady state from here on
    for _ in range(opt.get('warmup', 0)):
        for room in rooms:
            pub.post(room)
    if opt.get('warmup'):
        time.sleep(0.3)
        result['zone_free_before'] = zone_free()
        result['master_rss_before'] = rss(MASTER)
    result['worker_rss'] = []
    result['zone_free'] = []
    result['master_rss'] = []
    result['old_gone_s'] = []
    result['old_left'] = 0

    for rnd in range(RELOADS):
        current = connect_all()
        # every handshake answered, every JSON subscribe acknowledged
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            pump(0.05)
            if all(c.open or c.sock is None for c in current) and all(
                    any(k == 'json' and m.get('op') == 'ack'
                        and m.get('id') == 0 for k, m, _ in c.events)
                    for c in current if c.kind == 'json'):
                break
        workers = sorted(set(c.worker for c in current if c.worker))
        result['workers_per_round'].append(len(workers))
        t0 = time.monotonic()
        pump_for(SETTLE, pub, rooms, [c for c in current
                                      if c.kind == 'json'])
        old = worker_rss()
        result['worker_rss'].append(sorted(old.values()))
        os.kill(MASTER, signal.SIGHUP)
        t_hup = time.monotonic()
        # publishing goes on (through the new workers) until every
        # client of this round has its 1001, and a little after
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and any(
                c.sock is not None for c in current):
            pump_for(0.02, pub, rooms, [c for c in current
                                        if c.kind == 'json'])
        pump_for(0.1, pub, rooms)
        for c in current:
            if c.sock is not None:
                c.finish()
            if any(k == 'refused' for k, _, _ in c.events):
                result['refused'] += 1
        for c in current:
            judge(c, rooms, result)
            if c.kind == 'json':
                for k, m, _ in c.events:
                    if k == 'json' and m.get('op') == 'going_away':
                        last_cut[c.i] = m['last_seq']
        result['rounds'].append(round(time.monotonic() - t0, 3))
        # the next round's clients come once every old worker is gone
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and set(old) & set(worker_rss()):
            time.sleep(0.01)
        if set(old) & set(worker_rss()):
            result['old_left'] += 1
        result['old_gone_s'].append(round(time.monotonic() - t_hup, 3))
        if opt.get('warmup'):
            # quiet: no client, queues empty, the history as full as ever
            time.sleep(0.1)
            result['zone_free'].append(zone_free())
            result['master_rss'].append(rss(MASTER))

    if opt.get('warmup'):
        # quiet: no client, queues empty; the history as full as before
        time.sleep(0.5)
        result['zone_free_after'] = zone_free()
        result['master_rss_after'] = rss(MASTER)
    result['acked'] = len(acks)
    result['failed_publishes'] = failed_publishes
    result["late_count"] = len(result["late"])
    result["late_conns"] = len(set(x["conn"] for x in result["late"]))
    result['late'] = result['late'][:10]
    result['order_count'] = len(result['order'])
    result['order'] = result['order'][:5]
    print(json.dumps(result), flush=True)


main()
