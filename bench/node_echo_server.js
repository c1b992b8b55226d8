// The Node `ws` echo server wsload measures ngx_ws against: Debian's node-ws,
// no compression (wsload does not negotiate it), same opcode back.
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`node ws echo on 127.0.0.1:${wss.address().port}`));
