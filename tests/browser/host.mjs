// The browser harness's driver (tests/browser/harness.py starts it): Debian's headless Chromium, driven by
// playwright-core, loads the minimal host page (host_page.mjs, bundled with esbuild at start) and lets a test drive
// the app it mounts. One process, one browser, for a test module; a page (a new browser context) per `open`.
//
//   node host.mjs            then one JSON request per line on stdin, one JSON answer per line on stdout:
//   {"id": 1, "op": "open", "url": "http://127.0.0.1:PORT/mcp", "tool": "...", "arguments": {...}, "theme": "light"}
//   -> {"id": 1, "ok": true, "value": {...}}   or   {"id": 1, "ok": false, "error": "...", "console": [...]}
//
// The first line it prints says whether the browser started: {"ready": true, "chromium": "...", "versions": {...}}.
// Operations (`where` is "app", the mounted iframe, by default, or "host", the page around it):
//   open      mount the tool's app: connect, read its ui:// resource, call the tool, deliver input and result
//   eval      {expression, where}: the value of a JavaScript expression (awaited when it is a promise)
//   waitFor   {expression, where, timeoutMs}: until the expression is truthy; its value
//   click | fill | press | select | check    {selector, value | key}: as a person would (Playwright's locators)
//   screenshot {path, target: "app" | "page"}: a PNG of the app's iframe, or of the whole page
//   appRequests: what the app asked of the server through the bridge, with the answers
//   waitForRequests {method, name, count, timeoutMs}: until that many such requests were answered
//   setTheme {theme}: the host context changes, as when a person switches the host's theme
//   console: what the pages logged; close: the page goes
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const EXECUTABLE = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps dialling out, and this machine's network refuses it.
// Playwright gives every launch a new empty profile (--user-data-dir in a temporary folder).
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const HOST_PATH = "/__mcp_apps_test_host__";
const DEFAULT_TIMEOUT_MS = 15_000;

function version(name) {
  return JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8")).version;
}

async function hostPage() {
  const built = await build({
    entryPoints: [join(HERE, "host_page.mjs")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    write: false,
    logLevel: "silent",
  });
  // `</script` cannot appear inside the inline script; the bundle escapes it in strings, this makes sure.
  const script = built.outputFiles[0].text.replaceAll("</script", "<\\/script");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MCP Apps test host</title>
<style>body{margin:0;padding:16px;background:#eee}iframe{display:block;width:100%;border:1px solid #bbb;
background:white;height:200px}</style></head><body><script type="module">${script}</script></body></html>`;
}

const state = { browser: null, html: "", context: null, page: null, app: null, console: [] };

function frame(where = "app") {
  if (!state.page) throw new Error("no app is open: call open first");
  return where === "host" ? state.page.mainFrame() : state.app;
}

async function open({ url, tool, arguments: args = {}, theme = "light", width = 900, height = 700 }) {
  await close();
  state.console = [];
  state.context = await state.browser.newContext({ viewport: { width, height }, colorScheme: theme });
  state.context.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
  const page = (state.page = await state.context.newPage());
  page.on("console", (message) => {
    // The bridge's transport logs every message at debug level: noise here.
    if (message.type() !== "debug") state.console.push(`${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => state.console.push(`pageerror: ${error.message}`));
  // The host page is served at the MCP server's own origin, so its client reaches the server without CORS.
  const hostUrl = new URL(HOST_PATH, url).href;
  await page.route(hostUrl, (route) => route.fulfill({ contentType: "text/html", body: state.html }));
  await page.goto(hostUrl);
  await page.waitForFunction(() => window.testHost !== undefined);
  const mounted = await page.evaluate((options) => window.testHost.mount(options), {
    url,
    tool,
    arguments: args,
    theme,
  });
  state.app = await (await page.$("iframe#app")).contentFrame();
  return mounted;
}

async function close() {
  if (state.context) await state.context.close();
  Object.assign(state, { context: null, page: null, app: null });
  return null;
}

async function waitForRequests({ method = "tools/call", name, count = 1, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  const done = await state.page.waitForFunction(
    ({ method, name, count }) => {
      const answered = window.testHost.appRequests.filter(
        (entry) =>
          entry.method === method &&
          (name === undefined || entry.params?.name === name) &&
          ("result" in entry || "error" in entry),
      );
      return answered.length >= count && answered;
    },
    { method, name, count },
    { timeout: timeoutMs },
  );
  return done.jsonValue();
}

// Polled from here: Playwright's waitForFunction evaluates a string with eval inside the page, which the app's
// Content-Security-Policy refuses; evaluate goes through the debugging protocol, which it does not.
async function waitFor({ expression, where, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await frame(where).evaluate(expression);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${expression}; it is ${value}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function screenshot({ path, target = "app" }) {
  // Chromium paints only what an iframe shows in the viewport: the viewport grows to the whole page first.
  const viewport = state.page.viewportSize();
  const height = await state.page.evaluate(() => document.documentElement.scrollHeight);
  if (height > viewport.height) await state.page.setViewportSize({ width: viewport.width, height });
  try {
    const image =
      target === "page"
        ? await state.page.screenshot({ path, fullPage: true })
        : await state.page.locator("iframe#app").screenshot({ path });
    return { path, bytes: image.length };
  } finally {
    if (height > viewport.height) await state.page.setViewportSize(viewport);
  }
}

const operations = {
  open,
  close,
  eval: ({ expression, where }) => frame(where).evaluate(expression),
  waitFor,
  click: ({ selector, where }) => frame(where).locator(selector).click().then(() => null),
  fill: ({ selector, value, where }) => frame(where).locator(selector).fill(value).then(() => null),
  press: ({ selector, key, where }) => frame(where).locator(selector).press(key).then(() => null),
  select: ({ selector, value, where }) => frame(where).locator(selector).selectOption(value),
  check: ({ selector, value = true, where }) => frame(where).locator(selector).setChecked(value).then(() => null),
  screenshot,
  appRequests: () => frame("host").evaluate(() => window.testHost.appRequests),
  waitForRequests,
  setTheme: async ({ theme }) => {
    await state.page.emulateMedia({ colorScheme: theme });
    return frame("host").evaluate((value) => window.testHost.setTheme(value), theme);
  },
  console: () => state.console,
};

async function answer(line) {
  let request;
  try {
    request = JSON.parse(line);
    const operation = operations[request.op];
    if (!operation) throw new Error(`unknown op ${JSON.stringify(request.op)}`);
    const value = await operation(request);
    return { id: request.id, ok: true, value: value ?? null };
  } catch (error) {
    return { id: request?.id ?? null, ok: false, error: String(error?.stack ?? error), console: state.console };
  }
}

async function main() {
  try {
    state.html = await hostPage();
    state.browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: FLAGS });
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ready: false, error: String(error?.message ?? error) })}\n`);
    process.exit(1);
  }
  const versions = Object.fromEntries(
    ["@modelcontextprotocol/ext-apps", "@modelcontextprotocol/client", "playwright-core", "esbuild"].map((name) => [
      name,
      version(name),
    ]),
  );
  process.stdout.write(`${JSON.stringify({ ready: true, chromium: state.browser.version(), versions })}\n`);
  // One request at a time, in order: a test is a sequence of steps.
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim()) process.stdout.write(`${JSON.stringify(await answer(line))}\n`);
  }
  await close();
  await state.browser.close();
}

await main();
