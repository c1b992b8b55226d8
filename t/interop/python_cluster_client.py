"""A real client (Python websockets) against the two-node cluster example:
a raw chat client on node 1 and a JSON-protocol client on node 2 both get
what is published on either node, with the same sequence numbers; then the
JSON client reconnects to the other node with last_seq and gets what it
missed. Prints "ok ..." and exits 0 when everything holds.

    python_cluster_client.py <node1 host:port> <node2 host:port>
"""

import asyncio
import json
import sys
import urllib.request

import websockets


def publish(node, room, text):
    req = urllib.request.Request(f"http://{node}/pub/{room}", data=text.encode(),
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())["seq"]


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), 5)


async def main(node1, node2):
    room = "pyroom"
    async with websockets.connect(f"ws://{node1}/chat/{room}") as raw, \
            websockets.connect(f"ws://{node2}/ws") as js:
        await js.send(json.dumps({"op": "subscribe", "channel": f"room:{room}", "id": 1}))
        assert json.loads(await recv(js))["op"] == "ack"
        # the 101 may reach the raw client before its worker subscribed it
        for _ in range(100):
            with urllib.request.urlopen(f"http://{node1}/pub/{room}", timeout=10) as res:
                if json.loads(res.read())["subscribers"] >= 1:
                    break
            await asyncio.sleep(0.05)

        seqs = [publish(node2, room, "from node 2"), publish(node1, room, "from node 1")]
        assert seqs[1] == seqs[0] + 1, seqs
        assert [await recv(raw), await recv(raw)] == ["from node 2", "from node 1"]
        got = [json.loads(await recv(js)) for _ in seqs]
        assert [m["seq"] for m in got] == seqs, got
        assert [m["data"] for m in got] == ["from node 2", "from node 1"], got
        last = seqs[-1]

    # gone for a while; three messages published meanwhile, on node 1
    missed = [publish(node1, room, f"missed {i}") for i in range(3)]
    # answered once Redis numbered them; node 1 has them a moment later
    for _ in range(100):
        with urllib.request.urlopen(f"http://{node1}/pub/{room}", timeout=10) as res:
            if json.loads(res.read())["seq"] >= missed[-1]:
                break
        await asyncio.sleep(0.05)
    async with websockets.connect(f"ws://{node1}/ws") as js:
        await js.send(json.dumps({"op": "subscribe", "channel": f"room:{room}",
                                  "last_seq": last, "id": 2}))
        ack = json.loads(await recv(js))
        assert ack["op"] == "ack" and ack["seq"] == missed[-1], ack
        got = [json.loads(await recv(js)) for _ in missed]
        assert [m["seq"] for m in got] == missed, got
        assert [m["data"] for m in got] == [f"missed {i}" for i in range(3)], got
    print(f"ok cross-node delivery and resume on the other node (seq {seqs[0]}..{missed[-1]})")


asyncio.run(main(sys.argv[1], sys.argv[2]))
