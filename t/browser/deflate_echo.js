// Headless Chromium's own WebSocket (which always offers permessage-deflate)
// against an echo location with ws_deflate on: the extension must be agreed
// and JSON messages small and large must come back unchanged.
// Usage: node deflate_echo.js <ws url>; exit 0 when every check passed.
"use strict";
const { launchChromium } = require("./launch");

const url = process.argv[2];

async function main() {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const result = await page.evaluate(async (url) => {
      const line = (seq) => JSON.stringify({ op: "message", channel: "room:lobby",
        seq, data: { user: "carol", text: "hello everyone, how is it going?" } });
      const sizes = [100, 2000, 30000, 1000000];
      const messages = sizes.map((n) => {
        let s = "";
        for (let i = 0; s.length < n; i++) s += line(i);
        return s.slice(0, n);
      });
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("connection failed"));
      });
      const echoed = [];
      for (const m of messages) {
        const got = new Promise((resolve, reject) => {
          ws.onmessage = (e) => resolve(e.data);
          ws.onclose = (e) => reject(new Error(`closed with ${e.code}`));
        });
        ws.send(m);
        echoed.push((await got) === m);
      }
      const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e.code); });
      ws.close(1000);
      return { extensions: ws.extensions, echoed, closeCode: await closed,
               sizes: messages.map((m) => m.length) };
    }, url);
    console.log(`extensions: ${result.extensions}`);
    if (!/^permessage-deflate/.test(result.extensions)) {
      throw new Error("permessage-deflate was not agreed");
    }
    result.echoed.forEach((ok, i) => {
      console.log(`${ok ? "ok" : "FAILED"} echo of ${result.sizes[i]} bytes`);
      if (!ok) throw new Error(`echo of ${result.sizes[i]} bytes differs`);
    });
    if (result.closeCode !== 1000) throw new Error(`closed with ${result.closeCode}`);
    console.log("all echoes compressed and unchanged");
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
