// The Node `ws` fan-out server wsload measures ngx_ws against: subscribers
// connect to /sub/<channel>, a backend POSTs to /pub/<channel> and the body
// goes to every subscriber of that channel, written the way the ws
// documentation's broadcast example does it (one send per client).
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const channels = new Map();  // channel name -> Set of sockets

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

const server = http.createServer((req, res) => {
  const match = /^\/pub\/([a-z0-9]+)$/.exec(req.url);
  if (req.method !== 'POST' || !match) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const subscribers = channels.get(match[1]) || new Set();
    for (const ws of subscribers) ws.send(body, { binary: false });
    res.writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ subscribers: subscribers.size }));
  });
});

server.on('upgrade', (req, socket, head) => {
  const match = /^\/sub\/([a-z0-9]+)$/.exec(req.url);
  if (!match) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const name = match[1];
    if (!channels.has(name)) channels.set(name, new Set());
    channels.get(name).add(ws);
    ws.on('close', () => channels.get(name).delete(ws));
  });
});

server.keepAliveTimeout = 0;  // the publisher keeps one connection for the run
server.listen(port, '127.0.0.1', () =>
  console.log(`node ws fan-out on 127.0.0.1:${server.address().port}`));
