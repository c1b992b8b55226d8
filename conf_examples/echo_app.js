// The WebSocket application `make run` puts behind the demo's proxy
// (ws://127.0.0.1:8080/proxy/echo, conf_examples/demo.conf): a plain
// Node `ws` echo on 127.0.0.1, text back as text and binary as binary,
// messages up to 16 MiB, no compression of its own (the proxy compresses
// for clients that ask). Usage: node echo_app.js [port], default 8091.
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 8091);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: 16 * 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => console.log(`echo app on 127.0.0.1:${port}`));
wss.on('error', (err) => {
  console.error(`echo app: ${err.message}`);
  process.exit(1);
});
