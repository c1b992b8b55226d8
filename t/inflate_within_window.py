#!/usr/bin/python3
"""Inflates permessage-deflate payloads with a raw zlib window of 2^BITS
bytes, failing on any back-reference farther than that window.

zlib takes a reference from the output buffer of the current inflate call
without comparing its distance to the window size, so inflating a whole
message in one call checks nothing about the window (a 15-bit stream
inflates fine with wbits=-9). Here every call may write one byte, so every
reference is resolved from the window and one too far back fails with
"invalid distance too far back".

usage: inflate_within_window.py BITS [--fresh]
stdin: one compressed message a line, in hex (the 00 00 ff ff tail
removed, as on the wire). One inflater carries over from message to
message (context takeover), or a new one for each with --fresh.
stdout: one line per message: the inflated message in hex, or
"error: <why>" (and every later message of that context fails too).
"""

import sys
import zlib


def inflate_bytewise(inflater, payload):
    data = payload + b"\x00\x00\xff\xff"
    out = bytearray()
    while data:
        out += inflater.decompress(data, 1)
        data = inflater.unconsumed_tail
    return bytes(out)


def main():
    bits = int(sys.argv[1])
    fresh = "--fresh" in sys.argv[2:]
    inflater = zlib.decompressobj(-bits)
    broken = None
    for line in sys.stdin:
        if fresh:
            inflater = zlib.decompressobj(-bits)
            broken = None
        if broken is None:
            try:
                out = inflate_bytewise(inflater, bytes.fromhex(line.strip()))
                print(out.hex())
                continue
            except zlib.error as e:
                broken = str(e)
        print("error: " + broken)
    return 0


if __name__ == "__main__":
    sys.exit(main())
