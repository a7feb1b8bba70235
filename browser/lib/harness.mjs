// Test harness for kapu's headless-Chromium tests.
//
// - startKapu():     run the real `kapu serve` binary on a free port with a
//                    throw-away data directory.
// - launchBrowser(): Debian's /usr/bin/chromium driven by playwright-core
//                    (which never downloads a browser of its own).
// - newPage():       a page that records JS errors, console errors and failed
//                    sub-resources, so that they fail the test.
// - latestMail():    read the mails kapu writes to <data-dir>/outbox/*.eml.
// - checkA11y():     axe-core scan; serious/critical violations fail.
// - fillByTab():     fill and submit a form with the keyboard alone.
// - steps():         sequential test steps that take a screenshot, the page's
//                    HTML and the server log into browser/test-results/ when
//                    one fails, and skip the remaining ones.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const BROWSER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BROWSER_DIR, '..');
export const RESULTS_DIR = join(BROWSER_DIR, 'test-results');

/** Path of the kapu binary: $KAPU_BIN (relative to the current directory) or <repo>/target/debug/kapu. */
export function kapuBin() {
  return process.env.KAPU_BIN ? resolve(process.env.KAPU_BIN) : join(REPO_ROOT, 'target', 'debug', 'kapu');
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// ---------------------------------------------------------------------------
// kapu server
// ---------------------------------------------------------------------------

const LISTENING = /kapu listening on (http:\/\/127\.0\.0\.1:\d+)/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const running = new Set();

const killAll = () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { killAll(); process.exit(128 + (signal === 'SIGINT' ? 2 : 15)); });
}

/**
 * Start `kapu serve --listen 127.0.0.1:0 --data-dir <tmp>/data [--config <tmp>/kapu.toml]`
 * and wait for the stdout line `kapu listening on http://127.0.0.1:<port>`.
 *
 * @param {{ configToml?: string, env?: Record<string,string>, timeoutMs?: number, bin?: string, args?: string[] }} [opts]
 * @returns {Promise<{ url: string, dataDir: string, outboxDir: string, log: () => string, stop: () => Promise<void> }>}
 */
export async function startKapu(opts = {}) {
  const { configToml, env = {}, timeoutMs = 30_000, bin = kapuBin(), args: extraArgs = [] } = opts;
  const root = mkdtempSync(join(tmpdir(), 'kapu-browser-'));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  if (configToml !== undefined) {
    const configFile = join(root, 'kapu.toml');
    writeFileSync(configFile, configToml);
    args.push('--config', configFile);
  }
  args.push(...extraArgs);

  const cleanup = () => rmSync(root, { recursive: true, force: true });
  if (!existsSync(bin)) {
    cleanup();
    throw new Error(`kapu binary not found at ${bin}: run \`cargo build --bin kapu\` or set KAPU_BIN`);
  }

  let output = ''; // stdout and stderr interleaved, for failure messages
  let stderr = '';
  const child = spawn(bin, args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', RUST_BACKTRACE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise((res) => child.once('exit', (code, signal) => { running.delete(child); res({ code, signal }); }));

  const url = await new Promise((res, rej) => {
    let buffered = '';
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) rej(err); else res(value);
    };
    const describe = () =>
      `command: ${bin} ${args.join(' ')}\n--- kapu stderr ---\n${tail(stderr) || '(empty)'}\n--- kapu output ---\n${tail(output) || '(empty)'}`;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`kapu did not print "kapu listening on http://127.0.0.1:<port>" within ${timeoutMs} ms\n${describe()}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (process.env.KAPU_TEST_VERBOSE) process.stderr.write(chunk);
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        const m = LISTENING.exec(line.replace(ANSI, ''));
        if (m) finish(null, m[1]);
      }
    });
    let bufferedErr = '';
    child.stderr.on('data', (chunk) => {
      output += chunk;
      stderr += chunk;
      if (process.env.KAPU_TEST_VERBOSE) process.stderr.write(chunk);
      // The contract is stdout; a log line on stderr is accepted too.
      bufferedErr += chunk;
      const lines = bufferedErr.split('\n');
      bufferedErr = lines.pop();
      for (const line of lines) {
        const m = LISTENING.exec(line.replace(ANSI, ''));
        if (m) finish(null, m[1]);
      }
    });
    child.once('error', (err) => finish(new Error(`cannot start kapu: ${err.message}\n${describe()}`)));
    exited.then(({ code, signal }) =>
      finish(new Error(`kapu exited (code ${code}, signal ${signal}) before it was listening\n${describe()}`)));
  }).catch((err) => { cleanup(); throw err; });

  let stopped = false;
  return {
    url,
    dataDir,
    outboxDir: join(dataDir, 'outbox'),
    log: () => output,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
        if (!killed) { child.kill('SIGKILL'); await exited; }
      }
      cleanup();
    },
  };
}

function tail(text, max = 4_000) {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

// ---------------------------------------------------------------------------
// browser and pages
// ---------------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * A new context + page (Hungarian locale, 1280×900; `permissions` such as
 * 'clipboard-read') that records problems:
 * uncaught JS errors, console errors (CSP violations included) and
 * sub-resources (CSS, JS, images) that failed or answered ≥ 400.
 * `page.problems` holds them; `assertNoPageErrors(page)` fails on any.
 */
export async function newPage(browser, { locale = 'hu-HU', viewport = { width: 1280, height: 900 }, permissions = [] } = {}) {
  const context = await browser.newContext({ locale, viewport, permissions });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.setDefaultNavigationTimeout(15_000);
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`JS error on ${page.url()}: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Covered with its URL by the 'response' handler below; and the main
    // document of a form re-shown with errors may legitimately be 4xx.
    if (/^Failed to load resource/.test(msg.text())) return;
    page.problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on('response', (res) => {
    const req = res.request();
    if (res.status() >= 400 && req.resourceType() !== 'document' && !/\/favicon\.ico$/.test(res.url())) {
      page.problems.push(`${req.resourceType()} ${res.url()} answered ${res.status()}`);
    }
  });
  page.on('requestfailed', (req) => {
    // ERR_ABORTED: the page went on (a form posted, a link followed) while a
    // script's fetch was still running; the browser cancelled it, nothing failed.
    if (req.failure()?.errorText === 'net::ERR_ABORTED' && ['fetch', 'xhr'].includes(req.resourceType())) return;
    if (req.resourceType() !== 'document' && !/\/favicon\.ico$/.test(req.url())) {
      page.problems.push(`${req.resourceType()} ${req.url()} failed: ${req.failure()?.errorText}`);
    }
  });
  return page;
}

export function assertNoPageErrors(page) {
  const problems = [...new Set(page.problems.splice(0))];
  if (problems.length) {
    throw new Error(`the page reported ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Poll `fn` (errors count as "not yet", e.g. while a navigation replaces the
 * document) until it returns a truthy value; throws with `what` on timeout.
 */
export async function poll(fn, { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message.split('\n')[0] : JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Run `action` (a click, an Enter…) and wait until it has loaded a NEW
 * document (form POST + redirect, link): the old document is marked first.
 */
export async function navigates(page, action, { timeoutMs = 15_000 } = {}) {
  await page.evaluate(() => { window.__kapuOldDocument = true; });
  await action();
  await poll(() => page.evaluate(() => !window.__kapuOldDocument && document.readyState === 'complete'),
    { timeoutMs, what: 'a new page to load' });
}

/** innerText (CSS text-transform applied, as a person sees it) of the first match, once it matches `re`. */
export async function waitForText(locator, re, { timeoutMs = 10_000 } = {}) {
  let seen = '';
  try {
    return await poll(async () => { seen = await locator.first().innerText({ timeout: 1_000 }); return re.test(seen) && seen; },
      { timeoutMs, what: `${locator} to show ${re}` });
  } catch (err) {
    err.message += `\n  text was: ${JSON.stringify(seen.slice(0, 500))}`;
    throw err;
  }
}

// ---------------------------------------------------------------------------
// accessibility (axe-core)
// ---------------------------------------------------------------------------

let axeSource;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/**
 * Run axe-core on the current page. The pages have a strict CSP
 * (script-src 'self'), so axe is injected with page.evaluate(), which CSP
 * does not govern, instead of an inline <script>.
 * Fails with a readable list for serious/critical violations; logs the rest.
 */
export async function checkA11y(page, label = page.url()) {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axeSource);
  }
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const line = (v) => `${v.id} [${v.impact}] ${v.help} — ${v.nodes.length} node(s), first: ${JSON.stringify(v.nodes[0]?.target)}`
    + (v.nodes[0]?.failureSummary ? `\n      ${v.nodes[0].failureSummary.replace(/\n/g, '\n      ')}` : '');
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = results.violations.filter((v) => !blocking.includes(v));
  for (const v of minor) console.log(`# axe (${label}): ${line(v)}`);
  if (blocking.length) {
    throw new Error(`axe: ${blocking.length} serious/critical accessibility violation(s) on ${label} (${page.url()}):\n  - ${blocking.map(line).join('\n  - ')}`);
  }
  return results;
}

// ---------------------------------------------------------------------------
// keyboard only
// ---------------------------------------------------------------------------

/** Press Tab until `locator` has the focus (at most maxTabs presses). */
export async function tabTo(page, locator, { maxTabs = 60, what = String(locator) } = {}) {
  for (let i = 0; i <= maxTabs; i++) {
    if (await locator.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    if (i < maxTabs) await page.keyboard.press('Tab');
  }
  const active = await page.evaluate(() => {
    const el = document.activeElement;
    return el ? `<${el.tagName.toLowerCase()} id="${el.id}" name="${el.getAttribute('name') ?? ''}">` : 'nothing';
  });
  throw new Error(`keyboard: ${what} not reached with ${maxTabs} × Tab (focus is on ${active})`);
}

/**
 * The focused element shows a focus indicator (WCAG 2.4.7): an outline or a
 * box-shadow, or else any visible style that differs from its unfocused state.
 */
export async function assertFocusVisible(page, what = 'focused element') {
  const result = await page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { visible: false, focused: 'nothing' };
    const props = ['outlineStyle', 'outlineWidth', 'outlineColor', 'boxShadow', 'borderColor', 'backgroundColor', 'textDecorationLine'];
    const snap = () => { const cs = getComputedStyle(el); return Object.fromEntries(props.map((p) => [p, cs[p]])); };
    const focused = snap();
    if ((focused.outlineStyle !== 'none' && focused.outlineWidth !== '0px') || focused.boxShadow !== 'none') return { visible: true };
    el.blur();
    const blurred = snap();
    el.focus();
    return { visible: props.some((p) => focused[p] !== blurred[p]), focused, blurred };
  });
  if (!result.visible) throw new Error(`keyboard: ${what} has no visible focus indicator (${JSON.stringify(result)})`);
}

/**
 * Fill a form with the keyboard alone: for each [label, value] Tab to the
 * field labelled `label`, select its content and type `value`. Then Tab to the
 * button named `submit` and press Enter (or, with submit omitted, press Enter
 * in the last field).
 * @param {import('playwright-core').Page} page
 * @param {Array<[string|RegExp, string]>} values
 */
export async function fillByTab(page, values, { submit, checkFocus = true } = {}) {
  for (const [label, value] of values) {
    const field = page.getByLabel(typeof label === 'string' ? labelRe(label) : label);
    await tabTo(page, field, { what: `field "${label}"` });
    if (checkFocus) await assertFocusVisible(page, `field "${label}"`);
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(value);
  }
  if (submit) {
    const button = page.getByRole('button', { name: exactRe(submit) });
    await tabTo(page, button, { what: `button "${submit}"` });
    if (checkFocus) await assertFocusVisible(page, `button "${submit}"`);
  }
  await page.keyboard.press('Enter');
}

// ---------------------------------------------------------------------------
// name matching
// ---------------------------------------------------------------------------

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whole accessible name, case-insensitive, surrounding whitespace ignored. */
export const exactRe = (text) => new RegExp(`^\\s*${escapeRe(text)}\\s*$`, 'i');

/**
 * An accessible name that STARTS with the visible text, as WCAG 2.5.3 "label
 * in name" allows: "EN – Angol nyelvű oldal" for the button showing "EN",
 * "Ügyintézés (új ablakban nyílik)" for a link showing "Ügyintézés ↗".
 */
export const startsRe = (text) => new RegExp(`^\\s*${escapeRe(text)}(?![\\p{L}\\p{N}])`, 'iu');

/** A field label: the text, optionally followed by a required marker: "*" and/or "(kötelező)". */
export const labelRe = (text) => new RegExp(`^\\s*${escapeRe(text)}\\s*\\*?\\s*(\\([^)]*\\))?\\s*$`, 'i');

// ---------------------------------------------------------------------------
// mail outbox
// ---------------------------------------------------------------------------

/**
 * The newest mail in `outboxDir` (files *.eml) matching the filters; polls
 * until one appears (timeoutMs, default 10 s).
 * @returns {Promise<{ file: string, subject: string, to: string, headers: Record<string,string>, text: string, links: string[] }>}
 */
export async function latestMail(outboxDir, { to, subjectIncludes, since = 0, timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let seen = [];
  for (;;) {
    let files = [];
    try {
      files = readdirSync(outboxDir)
        .filter((f) => f.endsWith('.eml'))
        .map((f) => ({ file: join(outboxDir, f), mtime: statSync(join(outboxDir, f)).mtimeMs }))
        .filter((f) => f.mtime >= since)
        .sort((a, b) => b.mtime - a.mtime || b.file.localeCompare(a.file));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    seen = [];
    for (const { file } of files) {
      let mail;
      try { mail = parseMail(readFileSync(file, 'utf8')); } catch { continue; } // half-written
      seen.push(`${file}: to=${mail.to} subject=${mail.subject}`);
      if (to && !mail.to.toLowerCase().includes(to.toLowerCase())) continue;
      if (subjectIncludes && !mail.subject.toLowerCase().includes(subjectIncludes.toLowerCase())) continue;
      return { file, ...mail };
    }
    if (Date.now() >= deadline) break;
    await sleep(200);
  }
  throw new Error(`no mail${to ? ` to ${to}` : ''}${subjectIncludes ? ` with subject containing "${subjectIncludes}"` : ''} in ${outboxDir} within ${timeoutMs} ms; found:\n  ${seen.join('\n  ') || '(none)'}`);
}

/** Parse an RFC 5322 message: headers (RFC 2047 decoded), text body (8bit, 7bit, quoted-printable, base64; multipart: text/plain preferred), links. */
export function parseMail(raw) {
  const { headers, body } = splitMessage(raw);
  if (!('subject' in headers) && !('to' in headers)) throw new Error('not a mail');
  const text = bodyText(headers, body);
  const subject = decodeWords(headers.subject ?? '');
  const to = decodeWords(headers.to ?? '');
  const links = [...new Set((text.match(/https?:\/\/[^\s<>"')\]]+/g) ?? []).map((u) => u.replace(/[.,;:!?]+$/, '')))];
  return { subject, to, headers, text, links };
}

function splitMessage(raw) {
  const src = raw.replace(/\r\n/g, '\n');
  const cut = src.indexOf('\n\n');
  const head = cut < 0 ? src : src.slice(0, cut);
  const body = cut < 0 ? '' : src.slice(cut + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function bodyText(headers, body) {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const parts = body.split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--'))
      .map((p) => splitMessage(p.replace(/^\n/, '')));
    const pick = parts.find((p) => /^text\/plain/i.test(p.headers['content-type'] ?? 'text/plain'))
      ?? parts.find((p) => /^(text|multipart)\//i.test(p.headers['content-type'] ?? ''));
    if (!pick) return '';
    const t = bodyText(pick.headers, pick.body);
    return /^text\/html/i.test(pick.headers['content-type'] ?? '') ? t.replace(/<[^>]+>/g, ' ') : t;
  }
  const charset = (/charset="?([^";]+)"?/i.exec(type)?.[1] ?? 'utf-8').toLowerCase();
  const cte = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (cte === 'base64') return decodeBytes(Buffer.from(body.replace(/\s+/g, ''), 'base64'), charset);
  if (cte === 'quoted-printable') return decodeBytes(qpBytes(body.replace(/=\n/g, '')), charset);
  return body;
}

function qpBytes(s, underscoreIsSpace = false) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '_' && underscoreIsSpace) {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

function decodeBytes(buf, charset) {
  try { return new TextDecoder(charset).decode(buf); } catch { return buf.toString('utf8'); }
}

/** RFC 2047 encoded words (=?charset?B|Q?...?=); whitespace between adjacent encoded words is dropped. */
export function decodeWords(value) {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset, enc, data) =>
      decodeBytes(enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : qpBytes(data, true), charset.toLowerCase()));
}

// ---------------------------------------------------------------------------
// steps with evidence on failure
// ---------------------------------------------------------------------------

const slug = (s) => s.normalize('NFKD').replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80);

/**
 * Sequential steps sharing state. `step(name, fn)` registers a node:test
 * test (use inside describe()); if a step fails, the page's screenshot, HTML
 * and the server log are written to browser/test-results/ and later steps are
 * skipped. After each step, JS/console/resource errors on the page fail it.
 * @param {string} prefix file name prefix for the evidence
 * @param {() => { page?: import('playwright-core').Page, kapu?: { log: () => string } }} getState
 * @param {(name: string, opts: object, fn: Function) => void} it node:test's it/test
 */
export function steps(prefix, getState, it, { timeoutMs = 60_000 } = {}) {
  let failed = null;
  // A step that does much more than the others (a corpus of images) may
  // give its own limit: step(name, fn, { timeoutMs }).
  return function step(name, fn, { timeoutMs: limit = timeoutMs } = {}) {
    // node:test's own timeout is a backstop; ours fires first so that the
    // evidence is saved and the later steps are skipped.
    it(name, { timeout: limit + 20_000 }, async (t) => {
      if (failed) { t.skip(`an earlier step failed: ${failed}`); return; }
      const { page } = getState();
      let timer;
      try {
        await Promise.race([
          fn(t),
          new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`step timed out after ${limit} ms`)), limit); }),
        ]);
        if (page) assertNoPageErrors(page);
      } catch (err) {
        failed = name;
        const evidence = await saveEvidence(`${prefix}-${name}`, getState());
        const problems = page?.problems?.length ? `\n  page problems:\n    - ${page.problems.join('\n    - ')}` : '';
        const extra = `\n  page: ${page && !page.isClosed() ? page.url() : '(none)'}${problems}${evidence}`;
        if (err instanceof Error) {
          const original = err.message;
          err.message += extra;
          // reporters print the stack, which was fixed when the error was made
          if (typeof err.stack === 'string') err.stack = err.stack.replace(original, err.message);
          throw err;
        }
        throw new Error(`${String(err)}${extra}`);
      } finally {
        clearTimeout(timer);
      }
    });
  };
}

export async function saveEvidence(name, { page, kapu } = {}) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = join(RESULTS_DIR, slug(name));
  const saved = [];
  if (page && !page.isClosed()) {
    try { await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 5_000 }); saved.push(`${base}.png`); } catch { /* page gone */ }
    try { writeFileSync(`${base}.html`, await page.content()); saved.push(`${base}.html`); } catch { /* page gone */ }
  }
  if (kapu?.log) { writeFileSync(`${base}.server.log`, kapu.log()); saved.push(`${base}.server.log`); }
  return saved.length ? `\n  evidence: ${saved.join(', ')}` : '';
}
