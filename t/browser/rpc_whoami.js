// The JSON protocol's rpc from Chromium's own WebSocket: a page of the
// demo opens ws://.../ws, sends {"op":"rpc","method":"whoami","id":7} and
// reads the demo backend's answer; then an unknown method, answered as an
// error. Prints what it checked; exit 0 when all held.
// Usage: node rpc_whoami.js <url of a page on the server>
"use strict";
const { launchChromium } = require("./launch");

const url = process.argv[2];

async function main() {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    const replies = await page.evaluate(() => new Promise((resolve, reject) => {
      const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
      const got = [];
      const timer = setTimeout(() => reject(new Error("no replies")), 10000);
      ws.onopen = () => {
        ws.send(JSON.stringify({ op: "rpc", method: "whoami", id: 7 }));
        ws.send(JSON.stringify({ op: "rpc", method: "nope", id: 8 }));
      };
      ws.onmessage = (e) => {
        got.push(JSON.parse(e.data));
        if (got.length === 2) {
          clearTimeout(timer);
          ws.close(1000);
          resolve(got);
        }
      };
      ws.onerror = () => reject(new Error("websocket error"));
    }));
    const [me, nope] = replies;
    const fail = (why) => { throw new Error(why + ": " + JSON.stringify(replies)); };
    if (me.op !== "ack" || me.id !== 7) fail("whoami not acknowledged with id 7");
    if (!/^\d+$/.test(me.data && me.data.connection_id)) fail("no connection id");
    console.log(`whoami answered in the page: connection ${me.data.connection_id}`);
    if (nope.op !== "error" || nope.id !== 8 || nope.code !== "rejected"
        || nope.status !== 404) fail("unknown method not refused");
    console.log("an unknown method is refused with the backend's 404");
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
