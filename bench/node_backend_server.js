// The Node `ws` peer of the backend workload: what a user writes by hand to
// have an HTTP backend see every client message. Each message is POSTed to
// the backend with a keep-alive http.Agent, and the answer is read with the
// message hook's rules (docs/backends.md): 200 with a body replaces the
// message, 304 keeps it, 204 drops it; the result goes back to the sender.
//
//     node node_backend_server.js PORT BACKEND_HOST:PORT BACKEND_PATH [KEEPALIVE]
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const [backendHost, backendPort] = process.argv[3].split(':');
const backendPath = process.argv[4];
// Idle connections kept to the backend: the same number as the NGINX
// servers' `keepalive` in their upstream {} block.
const agent = new http.Agent({
  keepAlive: true,
  maxFreeSockets: Number(process.argv[5] || 1024),
});

const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const req = http.request({
      agent,
      host: backendHost,
      port: Number(backendPort),
      path: backendPath,
      method: 'POST',
      headers: {
        'Content-Type': isBinary ? 'application/octet-stream' : 'text/plain; charset=utf-8',
        'Content-Length': data.length,
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        if (ws.readyState !== ws.OPEN) return;
        if (res.statusCode === 304) {
          ws.send(data, { binary: isBinary });
        } else if (res.statusCode >= 200 && res.statusCode < 300 && res.statusCode !== 204) {
          const body = Buffer.concat(chunks);
          if (body.length > 0) ws.send(body, { binary: isBinary });
        }
      });
    });
    req.on('error', () => {});
    req.end(data);
  });
});
wss.on('listening', () => console.log(`node ws backend forwarder on 127.0.0.1:${port}`));
