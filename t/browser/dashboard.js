// The dashboard page of conf_examples in headless Chromium: it loads without
// console errors, its figures follow WebSockets that a second tab opens,
// its "try it" panel echoes a message, and a screenshot is saved.
// Usage: node dashboard.js <url of the dashboard> <screenshot.png>
"use strict";
const { launchChromium } = require("./launch");

const [url, screenshot] = process.argv.slice(2);

async function text(page, id) {
  return page.$eval(`#${id}`, (el) => el.textContent);
}

async function waitText(page, id, want, what) {
  await page.waitForFunction(
    ([id, want]) => document.getElementById(id).textContent === want,
    [id, want], { timeout: 15000 }).catch(async () => {
      throw new Error(`${what}: #${id} is "${await text(page, id)}", want "${want}"`);
    });
  console.log(`${what}: #${id} = ${want}`);
}

async function main() {
  const browser = await launchChromium();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(url);
    await waitText(page, "connections", "0", "first figures");

    // a second tab holds three chat clients in one room
    const other = await browser.newPage();
    await other.goto(url);
    await other.evaluate(() => new Promise((resolve, reject) => {
      window.clients = [];
      let open = 0;
      for (let i = 0; i < 3; i++) {
        const ws = new WebSocket(`ws://${location.host}/chat/lobby`);
        ws.onopen = () => { if (++open === 3) resolve(); };
        ws.onerror = () => reject(new Error("chat client failed"));
        window.clients.push(ws);
      }
    }));
    await waitText(page, "connections", "3", "three chat clients");
    await page.waitForFunction(
      () => [...document.querySelectorAll("#channels td")]
              .some((td) => td.textContent === "room:lobby"),
      null, { timeout: 15000 });
    console.log("top channels: room:lobby");

    // the try-it panel: connect to /echo, send, get the echo
    await page.click("#try-connect");
    await waitText(page, "try-status", "connected to /echo", "try it");
    await page.fill("#try-text", "hello dashboard");
    await page.click("#try-say");
    await page.waitForFunction(
      () => [...document.querySelectorAll("#try-log p")]
              .some((p) => p.textContent === "< hello dashboard"),
      null, { timeout: 15000 });
    console.log("try it: echo received");
    await waitText(page, "connections", "4", "try-it connection counted");

    // messages flow: the rate tile leaves 0 while a chat client talks
    await other.evaluate(() => {
      window.talk = setInterval(() => window.clients[0].send("tick"), 50);
    });
    await page.waitForFunction(
      () => Number(document.getElementById("rate-out").textContent) > 0,
      null, { timeout: 15000 });
    console.log(`message rate out: ${await text(page, "rate-out")} / s`);

    // closes by code: the try-it socket closes with 1000
    await page.click("#try-connect");
    await page.waitForFunction(
      () => [...document.querySelectorAll("#closes tr")]
              .some((tr) => /^1000client\d+$/.test(tr.textContent)),
      null, { timeout: 15000 });
    console.log("closes by code: 1000 by client");

    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
    await other.evaluate(() => {
      clearInterval(window.talk);
      window.clients.forEach((ws) => ws.close(1000));
    });
    await waitText(page, "connections", "0", "all closed");
  } finally {
    await browser.close();
  }
  if (errors.length) {
    throw new Error(`console errors: ${errors.join("; ")}`);
  }
  console.log("no console errors");
}

main().then(() => process.exit(0), (err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
