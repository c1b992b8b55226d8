// The chat page (conf_examples/chat.html with ws_client.js) in headless
// Chromium while its server is reloaded (close 1001), has its worker
// killed (1006), and is stopped and started again (zone lost): the page
// reconnects by itself with backoff, resumes its room with last_seq, and
// shows every message published while it was away once, in order; after
// the restart it says the server forgot the room. Then a client of an
// endpoint answering 503 with Retry-After waits that long.
// Usage: node reconnect.js <chat url> <publish url> <busy ws url>
//        <reload cmd> <kill-worker cmd> <stop cmd> <start cmd>
"use strict";
const { launchChromium } = require("./launch");
const { execSync } = require("child_process");
const http = require("http");

const [chatUrl, pubUrl, busyUrl, reloadCmd, killCmd, stopCmd, startCmd] =
  process.argv.slice(2);

function post(body) {
  return new Promise((resolve) => {
    const req = http.request(pubUrl, { method: "POST",
      headers: { "Content-Length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// publishes until the server takes it (a worker may be starting)
async function publish(text) {
  for (let i = 0; i < 100; i++) {
    if (await post(text) === 200) return Date.now();
    await sleep(50);
  }
  throw new Error(`could not publish ${text}`);
}

async function shown(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("#log p.message")].map((p) => p.textContent));
}

async function waitShown(page, n) {
  await page.waitForFunction((n) =>
    document.querySelectorAll("#log p.message").length >= n, n, { timeout: 20000 });
}

// until the page's client reached state (counting events from index from)
async function waitFor(page, state, from) {
  await page.waitForFunction(([state, from]) =>
    events.slice(from).some((e) => e.s === state), [state, from],
    { timeout: 20000 });
}

function check(cond, what) {
  if (!cond) throw new Error(what);
  console.log(`ok: ${what}`);
}

async function main() {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${chatUrl}?reconnect_min=1500&reconnect_max=4000`);
    await page.waitForFunction(() =>
      document.getElementById("status").textContent === "in room lobby",
      null, { timeout: 10000 });
    await page.evaluate(() => {
      window.events = [];
      chatClient.on("state", (s, d) => events.push(Object.assign({ s, t: Date.now() }, d)));
    });
    for (const m of ["m1", "m2", "m3"]) await publish(m);
    await waitShown(page, 3);

    // 1. a reload: the old worker says 1001; published before the page is back
    const before1 = await page.evaluate(() => events.length);
    execSync(reloadCmd);
    await waitFor(page, "waiting", before1);   // the page is away
    let last = 0;
    for (const m of ["m4", "m5", "m6"]) last = await publish(m);
    await waitShown(page, 6);
    let ev = (await page.evaluate(() => events)).slice(before1);
    const wait1 = ev.find((e) => e.s === "waiting");
    const open1 = ev.find((e) => e.s === "open");
    check(wait1 && wait1.code === 1001, `reload: closed with 1001 (${wait1 && wait1.code})`);
    check(wait1.delay >= 1500, `after 1001 it waited at least reconnect_min (${Math.round(wait1.delay)} ms)`);
    check(open1 && open1.t > last,
          "m4-m6 were all published before the page was back: they came by resume");

    // 2. the worker killed: 1006, no close frame
    const before2 = await page.evaluate(() => events.length);
    execSync(killCmd);
    await waitFor(page, "waiting", before2);
    for (const m of ["m7", "m8", "m9"]) await publish(m);
    await waitShown(page, 9);
    ev = (await page.evaluate(() => events)).slice(before2);
    const wait2 = ev.find((e) => e.s === "waiting");
    check(wait2 && wait2.code === 1006, `worker killed: 1006 (${wait2 && wait2.code})`);

    // 3. stopped, then started: the zone and its numbers are gone
    const before3 = await page.evaluate(() => events.length);
    execSync(stopCmd);
    // down until the page has failed to come back twice (connection refused)
    await page.waitForFunction((from) =>
      events.slice(from).filter((e) => e.s === "waiting").length >= 3,
      before3, { timeout: 30000 });
    execSync(startCmd);
    await page.waitForFunction(() =>
      document.querySelector("#log p.reset") !== null, null, { timeout: 20000 });
    await page.waitForFunction(() =>
      document.getElementById("status").textContent === "in room lobby",
      null, { timeout: 20000 });
    ev = (await page.evaluate(() => events)).slice(before3);
    const waits = ev.filter((e) => e.s === "waiting");
    check(waits.length >= 3, `retried while the server was down (${waits.length} waits: `
          + waits.map((w) => `${Math.round(w.delay)} ms`).join(", ") + ")");
    check(waits.every((w) => w.delay <= 4000 + 1500),
          "no wait above reconnect_max (plus the 1001 floor)");
    await publish("m10");
    await waitShown(page, 10);

    const texts = await shown(page);
    check(JSON.stringify(texts) === JSON.stringify(
      ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"]),
      `every message once, in order: ${texts.join(" ")}`);
    check(await page.evaluate(() => document.querySelectorAll("#log p.gap").length) === 0,
          "no gap reported: the server had everything the page missed");

    // 4. an endpoint that answers 503 with Retry-After: 2
    const busy = await page.evaluate(async (url) => {
      const seen = [];
      const c = new NgxWsClient(url, { minDelay: 50, maxDelay: 100 });
      c.on("state", (s, d) => seen.push(Object.assign({ s, t: Date.now() }, d)));
      await new Promise((r) => setTimeout(r, 3500));
      c.close();
      return seen;
    }, busyUrl);
    const firstWait = busy.find((e) => e.s === "waiting");
    const attempts = busy.filter((e) => e.s === "connecting" || e.s === "reconnecting");
    check(firstWait && firstWait.retryAfter === 2000 && firstWait.delay >= 2000,
          `refused: waited for Retry-After (${firstWait && Math.round(firstWait.delay)} ms)`);
    check(attempts.length >= 2 && attempts[1].t - attempts[0].t >= 2000,
          `the second attempt came ${attempts.length >= 2 ? attempts[1].t - attempts[0].t : "-"} ms after the first`);
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
