// The test page (www/) end to end: the real relay serves it, Debian's
// headless Chromium runs it, and we look at what a person would see.
//
// usage: node browser.test.mjs WSRELAY_BIN WWW_DIR ARTIFACT_DIR
// Writes ARTIFACT_DIR/screenshot.png, screenshot-phone.png and relay.log.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";

const [relayBin, wwwDir, artifactDir] = process.argv.slice(2);
if (!relayBin || !wwwDir || !artifactDir) {
  console.error("usage: node browser.test.mjs WSRELAY_BIN WWW_DIR ARTIFACT_DIR");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
// Small, so the test never holds many of the relay's one-thread-per-client workers.
const MAX_CONNECTIONS = 32;
// Small, so the page can provoke a close 1009 with one message.
const MAX_MESSAGE_BYTES = 4096;
const WAIT_MS = 15000;

let relay; // { child, port, dir, log() }
let browser;
const consoleErrors = [];

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function relayConfig(port, extra = []) {
  // JSON strings are valid YAML double-quoted scalars.
  return [
    "server:",
    `  listen: "127.0.0.1:${port}"`,
    `  max_connections: ${MAX_CONNECTIONS}`,
    `  max_message_bytes: ${MAX_MESSAGE_BYTES}`,
    `  document_root: ${JSON.stringify(path.resolve(wwwDir))}`,
    // The page must work with the origin check on, as in production.
    `  allowed_origins: ["http://127.0.0.1:${port}"]`,
    "metrics:",
    "  enabled: false",
    "logging:",
    '  level: "info"',
    ...extra,
    "",
  ].join("\n");
}

// Resolves "ready", or { code } if the relay exited first, or "timeout".
function waitForListening(child, port, getLog) {
  return new Promise((resolve) => {
    const done = (value) => {
      clearTimeout(timer);
      child.stderr.off("data", check);
      child.off("exit", exited);
      resolve(value);
    };
    const check = () => {
      if (getLog().includes(`listening on ws://127.0.0.1:${port}/`)) done("ready");
    };
    const exited = (code) => done({ code });
    const timer = setTimeout(() => done("timeout"), WAIT_MS);
    child.stderr.on("data", check);
    child.on("exit", exited);
    check();
  });
}

// extra(dir): more config lines, given the relay's temporary folder.
async function startRelay(extra = () => []) {
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wsrelay-browser-"));
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, relayConfig(port, extra(dir)));
    const child = spawn(relayBin, ["--config-file", config], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
    });
    const outcome = await waitForListening(child, port, () => log);
    if (outcome === "ready") return { child, port, dir, log: () => log };
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
    // Exit 1 naming our port: someone took it between our probe and the bind.
    const raced = outcome.code === 1 && log.includes(String(port));
    if (!raced || attempt >= 4) {
      throw new Error(`the relay did not start (${JSON.stringify(outcome)}):\n${log}`);
    }
  }
}

async function stopRelay(which = relay, logName = "relay.log") {
  if (!which) return;
  const { child, dir } = which;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    // Unreferenced, so a pending timer does not keep node alive afterwards.
    const timeout = sleep(WAIT_MS, "timeout", { ref: false });
    const winner = await Promise.race([exited, timeout]);
    if (winner === "timeout") {
      child.kill("SIGKILL");
      await exited;
    }
  }
  fs.writeFileSync(path.join(artifactDir, logName), which.log());
  fs.rmSync(dir, { recursive: true, force: true });
}

function count(haystack, needle) {
  return haystack.split(needle).length - 1;
}

async function waitForRelayLog(needle, atLeast) {
  const deadline = Date.now() + WAIT_MS;
  while (count(relay.log(), needle) < atLeast) {
    if (Date.now() > deadline) {
      assert.fail(`the relay logged "${needle}" fewer than ${atLeast} times:\n${relay.log()}`);
    }
    await sleep(50);
  }
}

async function openPage(name, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(`${name}: console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => consoleErrors.push(`${name}: uncaught: ${err.message}`));
  await page.goto(`http://127.0.0.1:${relay.port}/`);
  await page.locator('#status[data-state="open"]').waitFor();
  return { name, context, page };
}

async function sendFromPage(page, text) {
  await page.locator("#message").fill(text);
  await page.locator("#message").press("Enter");
}

// The log entry a person would read, e.g. "12:00:00.123 ← received text hi".
async function waitForLogEntry(page, direction, text) {
  const entry = page.locator(`#log li.${direction}`, { hasText: text }).last();
  await entry.waitFor();
  return entry.innerText();
}

let a; // the main page, desktop size
let b; // a second page, phone size

before(async () => {
  fs.mkdirSync(artifactDir, { recursive: true });
  relay = await startRelay();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Playwright gives every launch a fresh temporary profile of its own.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  a = await openPage("page A", { width: 1000, height: 900 });
  b = await openPage("page B", { width: 360, height: 740 });
});

after(async () => {
  await browser?.close();
  await stopRelay();
});

test("a message sent from one page shows in both logs", async () => {
  const text = "hello from A " + Math.random().toString(36).slice(2, 8);
  await sendFromPage(a.page, text);
  const sent = await waitForLogEntry(a.page, "sent", text);
  assert.match(sent, /^\d\d:\d\d:\d\d\.\d{3} → sent text hello from A/);
  const echo = await waitForLogEntry(a.page, "received", text);
  assert.match(echo, /← received text hello from A \w+ \(echo after [\d.]+ ms\)/);
  const other = await waitForLogEntry(b.page, "received", text);
  assert.match(other, /← received text hello from A \w+$/);
  assert.equal(await a.page.locator("#message").inputValue(), "", "the send box is emptied");
});

test("the sender's live panel counts messages and shows the round trip", async () => {
  assert.match(await a.page.locator("#stat-rtt").innerText(), /^\d+(\.\d)? ms$/);
  assert.match(await a.page.locator("#stat-rtt-avg").innerText(), /^\d+(\.\d)? ms$/);
  assert.equal(await a.page.locator("#stat-sent").innerText(), "1");
  assert.equal(await a.page.locator("#stat-received").innerText(), "1");
  assert.equal(await a.page.locator("#stat-echoes").innerText(), "1");
  // B only received: no round trip to show.
  assert.equal(await b.page.locator("#stat-sent").innerText(), "0");
  assert.equal(await b.page.locator("#stat-received").innerText(), "1");
  assert.equal(await b.page.locator("#stat-rtt").innerText(), "–");
});

test("binary mode sends the text's UTF-8 bytes", async () => {
  await b.page.locator('label[for="mode-binary"]').click();
  assert.equal(await b.page.locator("#mode-binary").isChecked(), true);
  await sendFromPage(b.page, "bïn");
  const seen = await waitForLogEntry(a.page, "received", "62 c3 af 6e");
  assert.match(seen, /← received binary 4 bytes: 62 c3 af 6e = "bïn"$/);
  await waitForLogEntry(b.page, "received", "62 c3 af 6e");
  assert.match(await b.page.locator("#stat-rtt").innerText(), /^\d+(\.\d)? ms$/);
});

test("a close by the relay shows its code and reason, then the page reconnects", async () => {
  const connected = count(relay.log(), "client connected:");
  await sendFromPage(a.page, "x".repeat(MAX_MESSAGE_BYTES + 1));
  const closed = await waitForLogEntry(a.page, "info", "closed (1009");
  assert.match(closed, /closed \(1009 message too big\)$/);
  // The oversized message itself is shown shortened.
  const huge = await waitForLogEntry(a.page, "sent", "characters in all");
  assert.ok(huge.endsWith(`x … (${MAX_MESSAGE_BYTES + 1} characters in all)`), huge);
  await a.page.locator('#status[data-state="open"]').waitFor();
  await waitForRelayLog("client connected:", connected + 1);
  // The new connection works both ways.
  await sendFromPage(a.page, "back again");
  await waitForLogEntry(b.page, "received", "back again");
  await waitForLogEntry(a.page, "received", "back again");
});

test("Disconnect closes with 1000 and does not reconnect; Connect does", async () => {
  await a.page.locator("#disconnect").click();
  await a.page.locator('#status[data-state="closed"]').waitFor();
  assert.equal(await a.page.locator("#status").innerText(), "closed (1000 normal closure): you disconnected");
  assert.equal(await a.page.locator("#reconnect-info").innerText(), "");
  assert.equal(await a.page.locator("#send").isDisabled(), true);
  await a.page.locator("#connect").click();
  await a.page.locator('#status[data-state="open"]').waitFor();
  assert.equal(await a.page.locator("#send").isDisabled(), false);
});

test("the page is usable at phone width and every control has a label", async () => {
  const layout = await b.page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    unlabelled: Array.from(document.querySelectorAll("input, button"))
      .filter((e) => e.tagName === "INPUT" ? e.labels.length === 0 : !e.textContent.trim())
      .map((e) => e.id),
    logRole: document.getElementById("log").getAttribute("role"),
    logLive: document.getElementById("log").getAttribute("aria-live"),
  }));
  assert.ok(layout.scrollWidth <= layout.innerWidth, `no sideways scrolling: ${JSON.stringify(layout)}`);
  assert.deepEqual(layout.unlabelled, []);
  assert.equal(layout.logRole, "log");
  assert.equal(layout.logLive, "polite");
  const phoneShot = path.join(artifactDir, "screenshot-phone.png");
  await b.page.screenshot({ path: phoneShot, fullPage: true });
  console.log(`phone screenshot: ${phoneShot}`);
});

test("closing a page is seen by the relay", async () => {
  const before = count(relay.log(), "client disconnected:");
  await b.context.close();
  await waitForRelayLog("client disconnected:", before + 1);
});

test("screenshot of the sender's page", async () => {
  const shot = path.join(artifactDir, "screenshot.png");
  await a.page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 0);
  console.log(`screenshot: ${shot}`);
});

// An HS256 token made here with node's crypto: a third signer, besides the
// relay's verifier and the tests' PyJWT.
function hs256(secret, claims) {
  const part = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
  const input = part({ alg: "HS256", typ: "JWT" }) + "." + part(claims);
  return input + "." + crypto.createHmac("sha256", secret).update(input).digest("base64url");
}

test("with access control, the token field connects and a refusal is explained", async () => {
  const secret = "browser-test-secret-" + Math.random().toString(36).slice(2);
  const locked = await startRelay((dir) => {
    fs.writeFileSync(path.join(dir, "secret"), secret);
    return ["auth:", '  mode: "jwt"', "  jwt:", `    secret_file: ${JSON.stringify(path.join(dir, "secret"))}`];
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const uncaught = [];
    page.on("pageerror", (err) => uncaught.push(err.message));
    await page.goto(`http://127.0.0.1:${locked.port}/`);
    // No token: refused before the upgrade (a browser only sees 1006).
    await page.locator('#status[data-state="closed"]').waitFor();
    assert.match(await page.locator("#status").innerText(), /refused before opening; if this relay requires a token/);
    await page.locator("#auto-reconnect").uncheck();
    const token = hs256(secret, { sub: "browser", exp: Math.floor(Date.now() / 1000) + 600 });
    await page.locator("#ws-token").fill(token);
    await page.locator("#connect").click();
    await page.locator('#status[data-state="open"]').waitFor();
    const shown = await page.locator("#ws-url").innerText();
    assert.match(shown, /\?access_token=\*\*\*$/);
    assert.ok(!shown.includes(token.split(".")[2]), "the token is never displayed");
    await sendFromPage(page, "with a token");
    await waitForLogEntry(page, "received", "with a token");
    assert.deepEqual(uncaught, []);
    assert.ok(!locked.log().includes(token.split(".")[2]), "the token is never logged");
  } finally {
    await context.close();
    await stopRelay(locked, "relay-auth.log");
  }
});

test("no console errors on any page", () => {
  assert.deepEqual(consoleErrors, []);
});
