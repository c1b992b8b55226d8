// A message-hook backend for the tests, on Node's own http module with
// keepalive: each WebSocket message a test client sends is a JSON
// instruction for the answer to its own call, so one connection can try
// every kind of answer in turn.
//
//     node message_backend.js PORT
//
// The POSTed message (the hook's body) is one of:
//   {"status":200,"headers":{"WS-Publish":"a"},"body":"text"}
//       that answer (body default none; headers may be arrays)
//   {"delay_ms":N, ...}     the same, after N ms
//   {"hang":true}           no answer at all (the hook's timeout decides)
//   {"garbage":true}        bytes that are not HTTP, then the socket closed
//   {"body_size":N, ...}    a body of N bytes of "b"
// Anything that is not JSON is answered 200 with "re:" and the message
// (what an echoing backend does), after a random wait of up to N ms when
// the hook's URL says ?jitter=N. stdout says "listening" once the port
// is open; every call is counted and GET /count says how many there were
// and how many ran at once at most, and how many connections were opened.
'use strict';

const http = require('http');

let calls = 0;
let running = 0;
let most = 0;
let sockets = 0;

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        const body = Buffer.concat(chunks);

        if (req.method === 'GET' && req.url === '/count') {
            res.end(JSON.stringify({ calls, most, sockets }));
            return;
        }

        calls++;
        running++;
        most = Math.max(most, running);

        let order;
        try {
            order = JSON.parse(body.toString('utf8'));
        } catch (e) {
            order = null;
        }

        if (order === null || typeof order !== 'object') {
            const jitter = /[?&]jitter=(\d+)/.exec(req.url);
            order = { status: 200, body: 're:' + body.toString('utf8'),
                      delay_ms: jitter ? Math.random() * Number(jitter[1])
                                       : 0 };
        }

        const answer = () => {
            running--;

            if (order.garbage) {
                req.socket.end('this is not HTTP\r\n\r\n');
                return;
            }

            if (order.hang) {
                return;
            }

            let out = order.body !== undefined ? Buffer.from(order.body)
                                               : Buffer.alloc(0);
            if (order.body_size) {
                out = Buffer.alloc(order.body_size, 'b');
            }

            res.writeHead(order.status || 200, order.headers || {});
            res.end(out);
        };

        if (order.delay_ms) {
            setTimeout(answer, order.delay_ms);
        } else {
            answer();
        }
    });
});

server.on('connection', () => { sockets++; });
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2]), '127.0.0.1', () => {
    console.log('listening');
});
