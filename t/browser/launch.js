// How the browser tests start Chromium: headless through playwright-core
// (found by NODE_PATH), without the sandbox (CI runs as root), and with
// nothing that talks to the network on its own, so that the only traffic
// is the test's. CHROMIUM names another binary.
"use strict";
const { chromium } = require("playwright-core");

function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync"],
  });
}

module.exports = { launchChromium };
