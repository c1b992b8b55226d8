// The Node `ws` echo server wsload measures ngx_ws against: Debian's node-ws,
// same opcode back. No compression unless the second argument is "deflate"
// (then ws's own permessage-deflate with its defaults: what an app that
// compresses itself runs).
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: process.argv[3] === 'deflate' ? {} : false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`node ws echo on 127.0.0.1:${wss.address().port}`));
