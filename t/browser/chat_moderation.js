// The demo chat's moderation seen in Chromium: two tabs of chat.html in
// one room (the JSON protocol at /ws, through ws_client.js), the demo
// backend (conf_examples/demo_backend.py) behind the message hook, which
// filters each publish. Tab one's spam shows in tab one alone, as a
// refusal; its "/me waves" shows in tab two as the action "* <id> waves";
// a plain message passes.
// Usage: node chat_moderation.js <url of chat.html>; exit 0 when all held.
"use strict";
const { launchChromium } = require("./launch");

const url = process.argv[2];

function lines(page, kind) {
  return page.evaluate((k) => [...document.querySelectorAll(`#log p.${k}`)]
                                .map((p) => p.textContent), kind);
}

function waitLine(page, kind, pattern) {
  return page.waitForFunction(
    ([k, src]) => [...document.querySelectorAll(`#log p.${k}`)]
                    .some((p) => new RegExp(src).test(p.textContent)),
    [kind, pattern], { timeout: 10000 });
}

async function main() {
  const browser = await launchChromium();
  try {
    const one = await browser.newPage();
    const two = await browser.newPage();
    for (const page of [one, two]) {
      await page.goto(url);
      await page.waitForFunction(
        () => document.getElementById("status").textContent === "in room lobby",
        null, { timeout: 10000 });
    }

    await one.fill("#text", "buy cheap spam");
    await one.click("#say");
    await waitLine(one, "refused", "^not sent: this room does not take spam$");
    console.log("tab one shows the refusal of its spam");

    await one.fill("#text", "/me waves");
    await one.click("#say");
    await waitLine(two, "action", "^\\* \\d+ waves$");
    console.log("tab two shows the /me action rewritten");

    await one.fill("#text", "hello, no ads");
    await one.click("#say");
    await waitLine(two, "message", "^hello, no ads$");
    console.log("a plain message passes");

    // answers come in the order of the messages: what tab two has now is
    // all it will get of the three
    const seen = (await lines(two, "message")).concat(await lines(two, "refused"));
    if (seen.some((t) => /spam/.test(t))) {
      throw new Error(`tab two saw the spam: ${JSON.stringify(seen)}`);
    }
    if ((await lines(two, "refused")).length !== 0) {
      throw new Error("tab two shows a refusal that was not its own");
    }
    console.log("tab two never saw the spam");

    // closing the tabs, not only the browser, makes each page end its
    // WebSocket itself (1001) before Chromium's processes go away
    await one.close();
    await two.close();
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
