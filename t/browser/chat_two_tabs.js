// Two headless Chromium tabs open the chat page from conf_examples and
// exchange messages through NGINX: the browser's own WebSocket, our page.
// Usage: node chat_two_tabs.js <url of chat.html>; exit 0 when both
// messages went both ways.
"use strict";
const { launchChromium } = require("./launch");

const url = process.argv[2];

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
    console.log("both tabs joined room lobby");

    await one.fill("#text", "hello from one");
    await one.click("#say");
    await two.waitForFunction(
      () => [...document.querySelectorAll("#log p.message")]
              .some((p) => p.textContent === "hello from one"),
      null, { timeout: 10000 });
    console.log("tab two got the message of tab one");

    await two.fill("#text", "hello from two");
    await two.press("#text", "Enter");
    await one.waitForFunction(
      () => [...document.querySelectorAll("#log p.message")]
              .some((p) => p.textContent === "hello from two"),
      null, { timeout: 10000 });
    console.log("tab one got the message of tab two");
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
