// Self-tests of lib/harness.mjs: they need Chromium but not kapu, so a broken
// harness shows up as such and not as a failing portal journey.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertNoPageErrors, checkA11y, decodeWords, fillByTab, latestMail, launchBrowser, navigates, newPage, parseMail, poll, startKapu, waitForText,
} from '../lib/harness.mjs';

const CSP = "default-src 'self'; script-src 'self'";

const page = (body, { title = 'Teszt', lang = 'hu' } = {}) => `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="/app.js" defer></script></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`;

const PAGES = {
  '/good': page(`
    <form method="post" action="/submit">
      <p><label for="u">Felhasználónév</label> <input id="u" name="username" autocomplete="username"></p>
      <p><label for="p">Jelszó *</label> <input id="p" name="password" type="password" autocomplete="current-password"></p>
      <p><label for="p2">Jelszó még egyszer</label> <input id="p2" name="password2" type="password" autocomplete="new-password"></p>
      <button type="submit">Bejelentkezés</button>
    </form>`, { title: 'Azonosítás' }),
  '/bad': page(`<img src="/pixel.gif"><p><input name="x"></p>
    <p class="faint">halvány szöveg</p><link rel="stylesheet" href="/bad.css">`, { title: 'Rossz oldal' }),
  '/jserr': page('<p>hiba</p><script src="/boom.js"></script>', { title: 'JS hiba' }),
  '/focus': page(`<link rel="stylesheet" href="/focus.css">
    <p><label for="a">Rejtett fókusz</label> <input id="a" class="hidden-focus"></p>
    <p><label for="b">Keretes fókusz</label> <input id="b" class="border-focus"></p>`, { title: 'Fókusz' }),
  '/missing-css': page('<link rel="stylesheet" href="/nope.css"><p>x</p>', { title: 'Hiányzó CSS' }),
};

function staticServer() {
  return createServer((req, res) => {
    const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' };
    if (req.method === 'POST' && req.url === '/submit') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const fields = Object.fromEntries(new URLSearchParams(body));
        res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
        res.end(page(`<pre id="echo">${JSON.stringify(fields).replace(/</g, '&lt;')}</pre>`, { title: 'Elküldve' }));
      });
      return;
    }
    if (req.url === '/app.js') {
      res.writeHead(200, { ...headers, 'content-type': 'text/javascript' });
      res.end("document.documentElement.dataset.js = 'ok';");
    } else if (req.url === '/bad.css') {
      res.writeHead(200, { ...headers, 'content-type': 'text/css' });
      res.end('.faint { color: #ccc; background: #fff; }');
    } else if (req.url === '/focus.css') {
      res.writeHead(200, { ...headers, 'content-type': 'text/css' });
      res.end('input { outline: none; border: 2px solid #555; } .border-focus:focus { border-color: #0050b3; }');
    } else if (req.url === '/boom.js') {
      res.writeHead(200, { ...headers, 'content-type': 'text/javascript' });
      res.end("throw new Error('boom from boom.js');");
    } else if (req.url === '/pixel.gif') {
      res.writeHead(200, { ...headers, 'content-type': 'image/gif' });
      res.end(Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'));
    } else if (PAGES[req.url]) {
      res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGES[req.url]);
    } else {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
}

describe('harness: browser, CSP, axe, keyboard', { timeout: 120_000 }, () => {
  let server; let base; let browser; let p;

  before(async () => {
    server = staticServer();
    await new Promise((res) => server.listen(0, '127.0.0.1', res));
    base = `http://127.0.0.1:${server.address().port}`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  it('launches Debian Chromium through playwright-core', async () => {
    assert.match(browser.version(), /^\d+\./);
    p = await newPage(browser);
    await p.goto(`${base}/good`);
    assert.equal(await p.getByRole('heading', { level: 1 }).innerText(), 'Azonosítás');
  });

  it('the strict CSP is in force: own script runs, inline script is blocked', async () => {
    await p.waitForFunction(() => document.documentElement.dataset.js === 'ok');
    await p.addScriptTag({ content: 'window.inlineRan = true;' }).catch(() => {});
    assert.equal(await p.evaluate(() => window.inlineRan), undefined);
    assert.ok(p.problems.some((m) => /Content Security Policy/i.test(m)), `CSP violation recorded: ${p.problems}`);
    p.problems.length = 0;
  });

  it('injects axe-core despite the CSP and passes a clean page', async () => {
    const results = await checkA11y(p, 'good page');
    assert.ok(results.passes === undefined || Array.isArray(results.passes));
    assert.equal(await p.evaluate(() => typeof window.axe), 'object');
    assertNoPageErrors(p);
  });

  it('fails on serious/critical violations with a readable list', async () => {
    await p.goto(`${base}/bad`);
    await assert.rejects(checkA11y(p, 'bad page'), (err) => {
      assert.match(err.message, /serious\/critical accessibility violation/);
      assert.match(err.message, /image-alt \[critical\]/);
      assert.match(err.message, /label \[critical\]/);
      assert.match(err.message, /color-contrast \[serious\]/);
      return true;
    });
    assertNoPageErrors(p);
  });

  it('fills and submits a form with the keyboard alone', async () => {
    await p.goto(`${base}/good`);
    await p.getByLabel('Felhasználónév').fill('előre beírt'); // replaced, not appended
    await navigates(p, () => fillByTab(p, [['Felhasználónév', 'kovacsjanos'], ['Jelszó', 'Titkos-jelszó-123'], ['Jelszó még egyszer', 'Titkos-jelszó-123']],
      { submit: 'Bejelentkezés' }));
    assert.equal(p.url(), `${base}/submit`);
    await waitForText(p.getByRole('heading', { level: 1 }), /^elküldve$/i);
    await assert.rejects(navigates(p, async () => {}, { timeoutMs: 500 }), /timed out after 500 ms waiting for a new page to load/);
    await assert.rejects(waitForText(p.locator('h1'), /nincs/, { timeoutMs: 500 }), /text was: "Elküldve"/);
    assert.deepEqual(JSON.parse(await p.locator('#echo').innerText()),
      { username: 'kovacsjanos', password: 'Titkos-jelszó-123', password2: 'Titkos-jelszó-123' });
    assertNoPageErrors(p);
  });

  it('a focus indicator removed by CSS is caught; a changed border counts as one', async () => {
    await p.goto(`${base}/focus`);
    await assert.rejects(fillByTab(p, [['Rejtett fókusz', 'x']]), /field "Rejtett fókusz" has no visible focus indicator/);
    await fillByTab(p, [['Keretes fókusz', 'y']]);
    assert.equal(await p.getByLabel('Keretes fókusz').inputValue(), 'y');
    assertNoPageErrors(p);
  });

  it('records uncaught JS errors and failed sub-resources', async () => {
    await p.goto(`${base}/jserr`);
    await p.waitForTimeout(200);
    assert.throws(() => assertNoPageErrors(p), /boom from boom\.js/);
    await p.goto(`${base}/missing-css`);
    await p.waitForTimeout(200);
    assert.throws(() => assertNoPageErrors(p), /nope\.css/);
  });
});

describe('harness: mail outbox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kapu-outbox-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name, text, ageSeconds) => {
    const file = join(dir, name);
    writeFileSync(file, text.replace(/\n/g, '\r\n'));
    const t = Date.now() / 1000 - ageSeconds;
    utimesSync(file, t, t);
  };

  // What lettre writes: base64 subject, quoted-printable body with soft breaks.
  write('a.eml', `From: kapu <noreply@kapu.test>
To: =?utf-8?b?S292w6FjcyBKw6Fub3M=?= <janos@example.hu>
Subject: =?utf-8?b?UmVnaXN6dHLDoWNpw7M=?=
 =?utf-8?b?IG1lZ2VyxZFzw610w6lzZQ==?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Kedves Kov=C3=A1cs J=C3=A1nos!

A regisztr=C3=A1ci=C3=B3 meger=C5=91s=C3=ADt=C3=A9s=C3=A9hez nyissa meg: http://1=
27.0.0.1:4321/regisztracio/megerosites?token=3DAbC-123_x.
`, 30);
  write('b.eml', `From: kapu <noreply@kapu.test>
To: janos@example.hu
Subject: =?UTF-8?Q?Jelsz=C3=B3_megv=C3=A1ltozott?=
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

A jelszó megváltozott (https://kapu.example.hu/biztonsagi-naplo).
`, 10);
  write('c.eml', `To: other@example.hu
Subject: Multipart
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

${Buffer.from('Szia! http://127.0.0.1:1/x?a=1&b=2\n').toString('base64')}
--XYZ
Content-Type: text/html; charset=utf-8

<p>html</p>
--XYZ--
`, 0);
  writeFileSync(join(dir, 'notes.txt'), 'not a mail');

  it('decodes RFC 2047 words (B and Q, split over folded lines)', () => {
    assert.equal(decodeWords('=?utf-8?b?UmVnaXN6dHLDoWNpw7M=?= =?utf-8?b?IG1lZ2VyxZFzw610w6lzZQ==?='), 'Regisztráció megerősítése');
    assert.equal(decodeWords('=?UTF-8?Q?Jelsz=C3=B3_megv=C3=A1ltozott?='), 'Jelszó megváltozott');
    assert.equal(decodeWords('plain'), 'plain');
  });

  it('the newest mail by default; filters by recipient and subject', async () => {
    assert.equal((await latestMail(dir)).subject, 'Multipart');
    const reg = await latestMail(dir, { to: 'janos@example.hu', subjectIncludes: 'REGISZTRÁCIÓ' });
    assert.equal(reg.subject, 'Regisztráció megerősítése');
    assert.equal(reg.to, 'Kovács János <janos@example.hu>');
    assert.match(reg.text, /Kedves Kovács János!/);
    assert.deepEqual(reg.links, ['http://127.0.0.1:4321/regisztracio/megerosites?token=AbC-123_x']);
    const pw = await latestMail(dir, { to: 'janos@example.hu' });
    assert.equal(pw.subject, 'Jelszó megváltozott');
    assert.deepEqual(pw.links, ['https://kapu.example.hu/biztonsagi-naplo']);
    assert.deepEqual((await latestMail(dir, { to: 'other@' })).links, ['http://127.0.0.1:1/x?a=1&b=2']);
  });

  it('parses a real lettre 0.11 message (folded base64 subject, quoted-printable body, CRLF)', () => {
    const mail = parseMail(readFileSync(new URL('./fixtures/lettre-quoted-printable.eml', import.meta.url), 'utf8'));
    assert.equal(mail.subject, 'Ügyfélkapu+ regisztráció megerősítése — kérjük, erősítse meg a regisztrációját hosszú tárgy');
    assert.equal(mail.to, 'Kovács János Ödön Árvíztűrő <janos@example.hu>');
    assert.match(mail.text, /^Kedves Kovács János!\n\nA regisztráció megerősítéséhez nyissa meg ezt a hivatkozást: http/);
    assert.deepEqual(mail.links,
      ['http://127.0.0.1:43210/regisztracio/megerosites?token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz']);
  });

  it('waits for a mail that is not there yet, then times out readably', async () => {
    const later = join(dir, 'later');
    mkdirSync(later);
    setTimeout(() => writeFileSync(join(later, 'x.eml'), 'To: late@example.hu\nSubject: Late\n\nhttp://127.0.0.1:9/late\n'), 500);
    assert.equal((await latestMail(later, { timeoutMs: 5_000 })).subject, 'Late');
    await assert.rejects(latestMail(dir, { subjectIncludes: 'nincs ilyen', timeoutMs: 300 }),
      /no mail with subject containing "nincs ilyen" in .* within 300 ms; found:\n.*subject=Multipart/);
    await assert.rejects(latestMail(join(dir, 'does-not-exist'), { timeoutMs: 300 }), /no mail/);
  });
});

describe('harness: startKapu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kapu-fakebin-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name, text) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    chmodSync(file, 0o755);
    return file;
  };

  it('a missing binary is reported with the path and the fix', async () => {
    await assert.rejects(startKapu({ bin: join(dir, 'nope') }), /kapu binary not found at .*nope: run `cargo build --bin kapu`/);
  });

  it('a binary that exits early: the error carries its stderr', async () => {
    const bin = script('fail.sh', '#!/bin/sh\necho "error: unknown option --data-dir" >&2\nexit 2\n');
    await assert.rejects(startKapu({ bin }), (err) => {
      assert.match(err.message, /kapu exited \(code 2, signal null\) before it was listening/);
      assert.match(err.message, /error: unknown option --data-dir/);
      assert.match(err.message, /serve --listen 127\.0\.0\.1:0 --data-dir /);
      return true;
    });
  });

  it('a binary that never listens: bounded wait, then its stderr', async () => {
    const bin = script('hang.sh', '#!/bin/sh\necho "migrating…" >&2\nexec sleep 30\n');
    const t0 = Date.now();
    await assert.rejects(startKapu({ bin, timeoutMs: 1_000 }), /did not print "kapu listening on .*" within 1000 ms[^]*migrating…/);
    assert.ok(Date.now() - t0 < 5_000);
  });

  it('passes the arguments, the config file and env; stop() kills it and removes the data dir', async () => {
    // A stand-in for kapu: answers HTTP and reports what it was started with.
    const bin = script('fake-kapu.mjs', `#!/usr/bin/env node
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
const args = process.argv.slice(2);
const opt = (n) => args[args.indexOf(n) + 1];
const info = { args, config: args.includes('--config') ? readFileSync(opt('--config'), 'utf8') : null, env: process.env.KAPU_FAKE };
const server = createServer((req, res) => res.end(JSON.stringify(info)));
server.listen(0, '127.0.0.1', () => {
  console.log('\\x1b[32m INFO\\x1b[0m kapu listening on http://127.0.0.1:' + server.address().port);
});
`);
    const kapu = await startKapu({ bin, configToml: '[session]\nidle_timeout_seconds = 125\n', env: { KAPU_FAKE: 'igen' } });
    try {
      assert.match(kapu.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(kapu.outboxDir, join(kapu.dataDir, 'outbox'));
      assert.ok(existsSync(kapu.dataDir));
      const info = await (await fetch(kapu.url)).json();
      assert.deepEqual(info.args.slice(0, 5), ['serve', '--listen', '127.0.0.1:0', '--data-dir', kapu.dataDir]);
      assert.equal(info.args[5], '--config');
      assert.equal(info.config, '[session]\nidle_timeout_seconds = 125\n');
      assert.equal(info.env, 'igen');
    } finally {
      await kapu.stop();
    }
    assert.ok(!existsSync(kapu.dataDir), 'data dir removed');
    await assert.rejects(fetch(kapu.url), 'server stopped');
    assert.doesNotThrow(() => readFileSync(bin)); // the fake itself untouched
  });
});
