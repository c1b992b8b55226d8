#!/usr/bin/env node
// permessage-deflate interop: the Node `ws` library (Debian node-ws), whose
// client offers the extension by default, talks to an echo endpoint with
// ws_deflate on. Run with NODE_PATH=/usr/share/nodejs.
//
//     node_deflate_client.js URL [URL...] [--cafile cert.pem]
//
// For every URL the default offer and one with every parameter set must be
// accepted, and JSON text (0 B .. 1 MiB), binary and a fragmented message
// must come back unchanged. Prints one line per check; exit code 0 = every
// check passed.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');

function chatLines(size) {
    let s = '';
    for (let seq = 1000; s.length < size; seq++) {
        s += JSON.stringify({ op: 'message', channel: 'room:lobby', seq,
            data: { user: 'bob', ts: 1700000000,
                    text: 'hello everyone, how is it going?' } });
    }
    return s.slice(0, size);
}

const OFFERS = {
    'default offer': true,
    'every parameter': { serverNoContextTakeover: true,
                         clientNoContextTakeover: true,
                         serverMaxWindowBits: 10, clientMaxWindowBits: 10,
                         threshold: 0 },
};

function check(url, ca, name, perMessageDeflate) {
    return new Promise((resolve) => {
        let failures = 0;
        const report = (ok, what) => {
            console.log((ok ? 'ok     ' : 'FAILED ') + `${url} ${name}: ${what}`);
            if (!ok) failures++;
        };
        const opts = { perMessageDeflate, maxPayload: 0, handshakeTimeout: 5000 };
        if (url.startsWith('wss://')) {
            opts.ca = ca;
            opts.checkServerIdentity = () => undefined;
        }
        const ws = new WebSocket(url, opts);
        const steps = [0, 10, 200, 5000, 70000, 1 << 20].map(chatLines);
        steps.push(Buffer.from(chatLines(3000)), crypto.randomBytes(100000));
        const fragments = [chatLines(3000), chatLines(10), chatLines(20000)];
        steps.push(fragments);
        let current = null;
        const timer = setTimeout(() => {
            report(false, 'finished within 30s');
            ws.terminate();
        }, 30000);

        const next = () => {
            current = steps.shift();
            if (current === undefined) {
                ws.close(1000, 'done');
            } else if (Array.isArray(current)) {
                current.forEach((part, i) => ws.send(part,
                    { fin: i === current.length - 1, compress: true }));
            } else {
                ws.send(current, { compress: true });
            }
        };

        let answer = '';
        ws.on('upgrade', (res) => {
            answer = res.headers['sec-websocket-extensions'] || '';
        });
        ws.on('open', () => {
            // ws.extensions names the extension; the header has the rest
            const want = perMessageDeflate === true ? /^permessage-deflate/
                : /^permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10$/;
            report(ws.extensions === 'permessage-deflate' && want.test(answer),
                   `negotiated (${answer})`);
            next();
        });
        ws.on('message', (data, isBinary) => {
            let same;
            if (Array.isArray(current)) {
                same = !isBinary && data.toString('utf8') === current.join('');
                report(same, 'fragmented message round-trip');
            } else if (typeof current === 'string') {
                same = !isBinary && data.toString('utf8') === current;
                report(same, `text ${current.length} bytes round-trip`);
            } else {
                same = isBinary && Buffer.compare(data, current) === 0;
                report(same, `binary ${current.length} bytes round-trip`);
            }
            next();
        });
        ws.on('close', (code) => {
            clearTimeout(timer);
            report(code === 1000, `close answered with ${code}`);
            resolve(failures);
        });
        ws.on('error', (err) => report(false, `error: ${err.message}`));
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
    for (const url of urls)
        for (const [name, offer] of Object.entries(OFFERS))
            failures += await check(url, ca, name, offer);
    process.exit(failures ? 1 : 0);
})();
