#!/usr/bin/env node
// Interop driver: the Node `ws` library (Debian node-ws) talks to our echo
// endpoint. Run with NODE_PATH=/usr/share/nodejs.
//
//     node_client.js URL [URL...] [--cafile cert.pem]
//
// For every URL (ws:// or wss://) text and binary messages of 0, 125, 126,
// 65535, 65536 and 1 MiB bytes must come back unchanged, a ping must get its
// pong, and a close 1000 must be answered with 1000. Prints one line per
// check; exit code 0 = every check passed.
'use strict';

const fs = require('fs');
const WebSocket = require('ws');

const SIZES = [0, 125, 126, 65535, 65536, 1 << 20];

function payload(kind, size) {
    if (kind === 'text') {
        const pattern = 'abcdefghijklmnopqrstuvwxyz0123456789';
        return pattern.repeat(Math.floor(size / pattern.length) + 1).slice(0, size);
    }
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) buf[i] = ((i % 251) * 97 + 13) % 256;
    return buf;
}

function checkUrl(url, ca) {
    return new Promise((resolve) => {
        let failures = 0;
        const report = (ok, what) => {
            console.log((ok ? 'ok     ' : 'FAILED ') + url + ' ' + what);
            if (!ok) failures++;
        };
        const opts = { perMessageDeflate: false, maxPayload: 0, handshakeTimeout: 5000 };
        if (url.startsWith('wss://')) {
            if (ca) { opts.ca = ca; opts.checkServerIdentity = () => undefined; }
            else opts.rejectUnauthorized = false;
        }
        const ws = new WebSocket(url, opts);
        const steps = [];
        for (const kind of ['text', 'binary'])
            for (const size of SIZES) steps.push({ kind, size });
        let current = null;
        const timer = setTimeout(() => {
            report(false, 'finished within 30s');
            ws.terminate();
        }, 30000);

        const next = () => {
            current = steps.shift();
            if (current) {
                current.sent = payload(current.kind, current.size);
                ws.send(current.sent, { binary: current.kind === 'binary' });
                return;
            }
            ws.ping(Buffer.from('interop'));
        };

        ws.on('open', next);
        ws.on('message', (data, isBinary) => {
            if (!current) { report(false, 'unexpected message'); return; }
            const same = current.kind === 'text'
                ? !isBinary && data.toString('utf8') === current.sent
                : isBinary && Buffer.compare(data, current.sent) === 0;
            report(same, `${current.kind} ${current.size} bytes round-trip`);
            next();
        });
        ws.on('pong', (data) => {
            report(data.toString() === 'interop', 'ping answered');
            ws.close(1000, 'done');
        });
        ws.on('close', (code) => {
            clearTimeout(timer);
            report(code === 1000, `close answered with ${code}`);
            resolve(failures);
        });
        ws.on('error', (err) => {
            report(false, `error: ${err.message}`);
        });
    });
}

(async () => {
    const args = process.argv.slice(2);
    let ca = null;
    const urls = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--cafile') ca = fs.readFileSync(args[++i]);
        else urls.push(args[i]);
    }
    let failures = 0;
    for (const url of urls) failures += await checkUrl(url, ca);
    process.exit(failures ? 1 : 0);
})();
