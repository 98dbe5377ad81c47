// driver.mjs — drives Debian's Firefox ESR, headless, over WebDriver BiDi
// (puppeteer-core) for mediad's Go end-to-end tests
// (server/firefox_e2e_test.go). It reads one JSON command a line on stdin
// and answers each with one JSON line on stdout:
//
//   {"op":"open","url":U}          -> {"tab":N}
//   {"op":"eval","tab":N,"js":S}   -> {"value":V}  (S is an expression; a promise is awaited)
//   {"op":"close","tab":N}         -> {}
//
// Any failure answers {"error":"..."}; end of input closes the browser.
// FIREFOX overrides the browser's path (default /usr/bin/firefox-esr).
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  // A fake camera and microphone, no permission prompt, ICE over loopback
  // with plain host addresses (no mDNS names): what a test on 127.0.0.1 needs.
  extraPrefsFirefox: {
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    'media.peerconnection.ice.loopback': true,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
  },
});

const tabs = new Map();
let nextTab = 1;

async function run(cmd) {
  switch (cmd.op) {
    case 'open': {
      const page = await browser.newPage();
      page.on('console', (m) => process.stderr.write(`firefox console: ${m.text()}\n`));
      page.on('pageerror', (e) => process.stderr.write(`firefox page error: ${e.message || e}\n`));
      await page.goto(cmd.url, { waitUntil: 'load' });
      const id = nextTab++;
      tabs.set(id, page);
      return { tab: id };
    }
    case 'eval': {
      const page = tabs.get(cmd.tab);
      if (!page) throw new Error(`no tab ${cmd.tab}`);
      // The page evaluates the expression; JSON keeps the value plain.
      const s = await page.evaluate(`(async () => JSON.stringify((await (${cmd.js})) ?? null))()`);
      return { value: JSON.parse(s) };
    }
    case 'close': {
      const page = tabs.get(cmd.tab);
      tabs.delete(cmd.tab);
      if (page) await page.close();
      return {};
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  }
}

const version = await browser.version();
process.stdout.write(JSON.stringify({ ready: version }) + '\n');

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    answer = await run(JSON.parse(line));
  } catch (err) {
    answer = { error: String((err && err.message) || err) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
await browser.close();
