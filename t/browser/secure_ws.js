// Headless Chromium's own WebSocket against a guarded endpoint: a page of
// an allowed origin connects with its token in Sec-WebSocket-Protocol
// ("bearer.<token>" next to the real protocol "chat") and gets an echo;
// a page of another origin, with the same token, is refused.
// Usage: node secure_ws.js <allowed page url> <other page url> <ws url> <token>
"use strict";
const { launchChromium } = require("./launch");

const [allowedPage, otherPage, wsUrl, token] = process.argv.slice(2);

// Runs in the page: opens the WebSocket, sends one message, reports.
function attempt([url, token]) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ["chat", "bearer." + token]);
    const done = (result) => { try { ws.close(); } catch (e) {} resolve(result); };
    ws.onopen = () => ws.send("hello from the browser");
    ws.onmessage = (ev) => done({ opened: true, protocol: ws.protocol, echo: ev.data });
    ws.onclose = (ev) => done({ opened: false, code: ev.code });
    setTimeout(() => done({ opened: false, timeout: true }), 8000);
  });
}

async function main() {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(allowedPage);
    const good = await page.evaluate(attempt, [wsUrl, token]);
    console.log("allowed origin: " + JSON.stringify(good));
    if (!good.opened || good.protocol !== "chat"
        || good.echo !== "hello from the browser") {
      throw new Error("the allowed page did not get its echo");
    }

    const other = await browser.newPage();
    await other.goto(otherPage);
    const bad = await other.evaluate(attempt, [wsUrl, token]);
    console.log("other origin: " + JSON.stringify(bad));
    if (bad.opened) {
      throw new Error("a page of another origin opened the WebSocket");
    }
    console.log("ok: origin and token enforced in the browser");
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
