// The browser authenticator (GET /authenticator): one self-contained page in
// the style of totp.app. Its codes are cross-checked against the Rust core
// (crates/otp/examples/code.rs) at a time frozen with Playwright's clock; it
// must make no request after loading itself; a passphrase protects the keys
// (no base32 key readable in localStorage or IndexedDB), unlocked once per
// visit and locked after idle minutes; add by key, by otpauth:// URI and by a
// QR image file; HOTP; search; copy by click; backup to a file, restore (match
// by key and settings: rename + add, never delete; bad entries skipped), also
// the terminal's encrypted export; delete with confirmation; HU | EN; the
// clock warning with a skewed device clock; codes first on a phone; axe. The
// page saved as a file must work from disk just the same. The QR corpus of
// scripts/qr-corpus goes through the page's decoder: it must read every
// image zbarimg reads (its rates go to target/qr-corpus/page-results.tsv for
// the decode-rate benchmark).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import QRCode from 'qrcode';
import {
  REPO_ROOT, assertFocusVisible, checkA11y, exactRe, kapuBin, labelRe, launchBrowser, newPage, poll, startKapu, startsRe, steps, tabTo,
  waitForText,
} from '../lib/harness.mjs';

const PASS = 'egy hosszú jelmondat';

// A fixed instant: 10 s into a minute, so 20 s are left of a 30-s period and
// 50 s of a 60-s one.
const T = 1_797_999_970;
const KEY = 'JBSWY3DPEHPK3PXP';
const URI_KEY = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA'; // 32 bytes, the RFC 6238 SHA-256 key
const QR_KEY = 'KRUGS4ZANFZSAYLOEBQXK5DIMVXHI2LDMF2G64RAORSXG5A';
const NEW_KEY = 'GEZDGNBVGY3TQOJQ';
const HOTP_KEY = 'MFRGGZDFMZTWQ2LK';
const TERMINAL_KEY = 'ORSXG5BAMFRGGZDFORSXG5BAMFRGGZDF';

let codeBin;
/** The code of the Rust core (otp::Totp) at Unix time `time`. */
function rustCode(secret, algorithm, digits, period, time) {
  return execFileSync(codeBin, [secret, algorithm, String(digits), String(period), String(time)], { encoding: 'utf8' }).trim();
}

const form = (page, name) => page.getByRole('form', { name: exactRe(name) });
const field = (scope, label) => scope.getByLabel(labelRe(label));
const button = (scope, name) => scope.getByRole('button', { name: exactRe(name) });
const rows = (page) => page.locator('#accounts > li');
const row = (page, text) => rows(page).filter({ hasText: text });
/** The code shown in a row, as digits only (it is shown grouped: "123 456"). */
const shownCode = async (r) => (await r.locator('.digits').innerText()).replace(/\s/g, '');

async function waitForCode(r, expected, what) {
  let seen = '';
  await poll(async () => { seen = await shownCode(r); return seen === expected; }, { what: `${what}: code ${expected} (shown: ${seen})` });
}

/** Sets the passphrase on a fresh page (no vault yet). */
async function createPassphrase(page, pass = PASS) {
  const f = form(page, 'A kulcsok védelme jelmondattal');
  await field(f, 'Jelmondat').fill(pass);
  await field(f, 'A jelmondat még egyszer').fill(pass);
  await button(f, 'Jelmondat beállítása').click();
  await waitForText(page.getByRole('status'), /A jelmondat beállítva|titkosítva tárolódik/);
}

/** Unlocks the stored vault after a (re)load. */
async function unlock(page, pass = PASS) {
  const f = form(page, 'A kulcsok zárolva vannak');
  await field(f, 'Jelmondat').fill(pass);
  await button(f, 'Feloldás').click();
  await waitForText(page.getByRole('status'), /Feloldva/);
}

/** Every value the page keeps in localStorage and the names of its IndexedDB databases. */
const storedText = (page) => page.evaluate(async () => {
  const values = Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`);
  const dbs = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
  return { text: values.join('\n'), dbs };
});

/** No form of `key` (base32 as typed, canonical, lower case, or its bytes as hex/base64) is readable in storage. */
async function assertNoKeyStored(page, keys) {
  const { text, dbs } = await storedText(page);
  assert.deepEqual(dbs, [], 'no IndexedDB database');
  for (const key of keys) {
    const bytes = Buffer.from(key.replace(/=+$/, '').split('').reduce((acc, c) => acc + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(c).toString(2).padStart(5, '0'), '').match(/.{8}/g).map((b) => parseInt(b, 2)));
    for (const form of [key, key.toLowerCase(), key.slice(0, 12), bytes.toString('hex'), bytes.toString('base64')]) {
      assert.ok(!text.includes(form), `${form} is readable in localStorage`);
    }
  }
  assert.match(text, /"format":"kapu-authenticator-browser"/);
  assert.match(text, /"name":"PBKDF2-SHA-256","iterations":600000/);
}

async function downloadBackup(page, dir, name) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), button(page, 'Mentés fájlba').click()]);
  const file = join(dir, name);
  await download.saveAs(file);
  return { file, suggested: download.suggestedFilename(), json: JSON.parse(readFileSync(file, 'utf8')) };
}

describe('browser authenticator: codes from WebCrypto equal the Rust core; no network; backup and restore', () => {
  const state = {};
  const step = steps('authenticator', () => state, it);
  const requests = [];

  before(async () => {
    execFileSync('cargo', ['build', '-q', '-p', 'otp', '--example', 'code'], { cwd: REPO_ROOT, stdio: 'inherit' });
    codeBin = join(REPO_ROOT, 'target', 'debug', 'examples', 'code');
    state.dir = mkdtempSync(join(tmpdir(), 'kapu-authenticator-'));
    state.kapu = await startKapu();
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser);
    state.url = `${state.kapu.url}/authenticator`;
    await state.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: state.kapu.url });
    state.page.on('request', (r) => requests.push(`${r.method()} ${r.resourceType()} ${r.url()}`));
    await state.page.clock.setFixedTime(new Date(T * 1000));
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });

  step('1. the page loads alone, with a hash-based CSP that forbids connections; Hungarian; clock warning', async () => {
    const { page } = state;
    const response = await page.goto(state.url);
    assert.equal(response.status(), 200);
    state.html = await response.text();
    const csp = response.headers()['content-security-policy'];
    assert.ok(csp, 'a Content-Security-Policy header');
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(' ')]));
    assert.equal(directives['connect-src'], "'none'");
    assert.equal(directives['default-src'], "'none'");
    assert.equal(directives['form-action'], "'none'");
    assert.equal(directives['frame-ancestors'], "'none'");
    assert.match(directives['script-src'], /^'sha256-[A-Za-z0-9+/]{43}=' 'sha256-[A-Za-z0-9+/]{43}='$/);
    assert.match(directives['style-src'], /^'sha256-[A-Za-z0-9+/]{43}='$/);
    assert.match(state.html, /<meta http-equiv="Content-Security-Policy" content="[^"]*connect-src 'none'/);

    await waitForText(page.getByRole('heading', { level: 1 }), /böngészős hitelesítő/i);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'hu');
    // The page runs its scripts (the CSP hashes match): the device time shows.
    await waitForText(page.locator('#device-time'), /\d{2}:\d{2}:\d{2}/);
    assert.match(state.html, /<meta name="kapu-server-time" content="\d{13}">/, 'kapu wrote its time into the page');
    // Playwright's clock stands at T, weeks away from kapu's: the page says so.
    await waitForText(page.locator('#clock-check'), /a készülék órája \d+ másodperccel \(kb\. \d+ nappal\) (siet|késik)/);
    await checkA11y(page, 'authenticator, no passphrase yet');
    await createPassphrase(page);
    await waitForText(page.locator('body'), /Még nincs fiók/);
    assert.equal(await rows(page).count(), 0);
    assert.deepEqual(requests, [`GET document ${state.url}`], 'only the page itself was requested');
    await checkA11y(page, 'authenticator, empty');
  });

  step('2. add by key (spaces, lower case): the code equals the Rust core\'s at that instant; countdown', async () => {
    const { page } = state;
    const f = form(page, 'Kulccsal');
    await field(f, 'Szolgáltatás').fill('Ügyfélkapu');
    await field(f, 'Fiók').fill('imre');
    await field(f, 'Kulcs').fill('jbsw y3dp ehpk 3pxp');
    await field(f, 'Szín').selectOption({ label: 'zöld' });
    await button(f, 'Hozzáadás').click();
    await waitForText(page.getByRole('status'), /Hozzáadva: Ügyfélkapu \(imre\)/);
    const r = row(page, 'Ügyfélkapu');
    await waitForCode(r, rustCode(KEY, 'SHA1', 6, 30, T), 'key account');
    assert.match(await r.locator('.digits').innerText(), /^\d{3} \d{3}$/, 'shown as "123 456"');
    await waitForText(r, /még 20 mp/);
    assert.equal(await field(f, 'Kulcs').inputValue(), '', 'the form is emptied');
    // Stored encrypted: the key is nowhere readable.
    await assertNoKeyStored(page, [KEY]);
  });

  step('3. add by otpauth:// URI (SHA256, 8 digits, period 60; issuer parameter wins, "+" is a space)', async () => {
    const { page } = state;
    const f = form(page, 'otpauth:// hivatkozással');
    await field(f, 'otpauth:// hivatkozás').fill(
      `otpauth://totp/Old%20Name:alice%40example.hu?secret=${URI_KEY.toLowerCase()}&issuer=ACME+Co&algorithm=SHA256&digits=8&period=60`);
    await field(f, 'Szín').selectOption('purple');
    await button(f, 'Hozzáadás').click();
    await waitForText(page.getByRole('status'), /Hozzáadva: ACME Co \(alice@example\.hu\)/);
    const r = row(page, 'ACME Co');
    assert.equal(await row(page, 'Old Name').count(), 0, 'the label prefix lost to the issuer parameter');
    await waitForCode(r, rustCode(URI_KEY, 'SHA256', 8, 60, T), 'URI account');
    assert.match(await r.locator('.digits').innerText(), /^\d{4} \d{4}$/);
    await waitForText(r, /még 50 mp/);
  });

  step('4. a wrong key, URI or duplicate shows a clear error and adds nothing', async () => {
    const { page } = state;
    const key = form(page, 'Kulccsal');
    await field(key, 'Fiók').fill('hibás');
    await field(key, 'Kulcs').fill('JBSWY3DPEHPK3PX0');
    await button(key, 'Hozzáadás').click();
    await waitForText(key.getByRole('alert'), /Érvénytelen karakter a kulcs 16\. helyén: „0”.*O betűre/);
    assert.equal(await field(key, 'Kulcs').getAttribute('aria-invalid'), 'true');
    await field(key, 'Kulcs').fill(KEY);
    await button(key, 'Hozzáadás').click();
    await waitForText(key.getByRole('alert'), /már szerepel a listában \(Ügyfélkapu \(imre\) néven\)/);
    await field(key, 'Fiók').fill('');

    const uri = form(page, 'otpauth:// hivatkozással');
    for (const [text, error] of [
      [`otpauth://totp/x:y?secret=${KEY}&digits=9`, /6, 7 vagy 8 számjegyű lehet, nem „9”/],
      [`otpauth://hotp/x:y?secret=${KEY}`, /hiányzik a számláló/],
      [`otpauth://totp/x:y?secret=${KEY}&algorithm=MD5`, /Ismeretlen algoritmus: „MD5”/],
      ['https://example.hu/', /nem otpauth:\/\/ hivatkozás/],
      ['otpauth://totp/x:y?issuer=x', /hiányzik a kulcs/],
    ]) {
      await field(uri, 'otpauth:// hivatkozás').fill(text);
      await button(uri, 'Hozzáadás').click();
      await waitForText(uri.getByRole('alert'), error);
    }
    await field(uri, 'otpauth:// hivatkozás').fill('');
    assert.equal(await rows(page).count(), 2, 'nothing was added');
  });

  step('5. add by a QR image file (decoded in the page); a picture without a QR code is refused', async () => {
    const { page } = state;
    const f = form(page, 'QR-kód képéből');
    const blank = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    await field(f, 'A QR-kód képe').setInputFiles({ name: 'blank.png', mimeType: 'image/png', buffer: blank });
    await button(f, 'Hozzáadás').click();
    await waitForText(f.getByRole('alert'), /nem található olvasható QR-kód/);
    await field(f, 'A QR-kód képe').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await button(f, 'Hozzáadás').click();
    await waitForText(f.getByRole('alert'), /nem olvasható képként/);
    const hello = await QRCode.toBuffer('hello', { type: 'png', scale: 6 });
    await field(f, 'A QR-kód képe').setInputFiles({ name: 'hello.png', mimeType: 'image/png', buffer: hello });
    await button(f, 'Hozzáadás').click();
    await waitForText(f.getByRole('alert'), /nem otpauth:\/\/ hivatkozást tartalmaz/);

    const uri = `otpauth://totp/Adó%C3%BCgy:kovacs.janos?secret=${QR_KEY}&issuer=NAV%20%C3%81NYK`;
    const png = await QRCode.toBuffer(uri, { type: 'png', scale: 6, margin: 4 });
    await field(f, 'A QR-kód képe').setInputFiles({ name: 'qr.png', mimeType: 'image/png', buffer: png });
    await field(f, 'Szín').selectOption({ label: 'narancssárga' });
    await button(f, 'Hozzáadás').click();
    await waitForText(page.getByRole('status'), /Hozzáadva: NAV ÁNYK \(kovacs\.janos\)/);
    assert.equal(await page.locator('#qr-error').textContent(), '', 'the earlier error is gone');
    await waitForCode(row(page, 'NAV ÁNYK'), rustCode(QR_KEY, 'SHA1', 6, 30, T), 'QR account');
    assert.equal(await rows(page).count(), 3);
    await checkA11y(page, 'authenticator with three accounts');
  });

  step('6. click a code: the clipboard holds it, "Másolva" shows and is announced; Enter on the keyboard too', async () => {
    const { page } = state;
    const r = row(page, 'ACME Co');
    const expected = rustCode(URI_KEY, 'SHA256', 8, 60, T);
    await r.locator('button.code').click();
    await waitForText(r, /Másolva/);
    await waitForText(page.getByRole('status'), /Másolva: a\(z\) ACME Co \(alice@example\.hu\) kódja a vágólapon van/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), expected);

    await page.evaluate(() => navigator.clipboard.writeText('-'));
    const first = row(page, 'Ügyfélkapu').getByRole('button', { name: startsRe(await row(page, 'Ügyfélkapu').locator('.digits').innerText()) });
    await page.locator('#lang-hu').focus();
    await tabTo(page, first, { what: 'the first code' });
    await assertFocusVisible(page, 'the code button');
    await page.keyboard.press('Enter');
    await poll(async () => (await page.evaluate(() => navigator.clipboard.readText())) === rustCode(KEY, 'SHA1', 6, 30, T),
      { what: 'the first code on the clipboard after Enter' });
  });

  step('7. fewer than 7 s left: the countdown warns and shows the next code', async () => {
    const { page } = state;
    await page.clock.setFixedTime(new Date((T + 15) * 1000)); // 5 s left of 30
    const r = row(page, 'Ügyfélkapu');
    await waitForText(r, /még 5 mp/);
    await waitForText(r, /Következő kód:/);
    const next = (await r.locator('.next-code').innerText()).replace(/\s/g, '');
    assert.equal(next, rustCode(KEY, 'SHA1', 6, 30, T + 30));
    assert.equal(await shownCode(r), rustCode(KEY, 'SHA1', 6, 30, T + 15));
    await page.clock.setFixedTime(new Date(T * 1000));
    await waitForText(r, /még 20 mp/);
    assert.ok(await r.locator('.next').isHidden());
  });

  step('8. backup downloads a file in the kapu-authenticator format', async () => {
    const { page } = state;
    const { json, suggested } = await downloadBackup(page, state.dir, 'backup1.json');
    assert.match(suggested, /^kapu-authenticator-\d{4}-\d{2}-\d{2}\.json$/);
    assert.deepEqual(Object.keys(json), ['format', 'version', 'accounts']);
    assert.equal(json.format, 'kapu-authenticator');
    assert.equal(json.version, 1);
    assert.deepEqual(json.accounts, [
      { issuer: 'Ügyfélkapu', account: 'imre', secret: KEY, type: 'totp', algorithm: 'SHA1', digits: 6, period: 30, counter: 0, color: 'green' },
      { issuer: 'ACME Co', account: 'alice@example.hu', secret: URI_KEY, type: 'totp', algorithm: 'SHA256', digits: 8, period: 60, counter: 0, color: 'purple' },
      { issuer: 'NAV ÁNYK', account: 'kovacs.janos', secret: QR_KEY, type: 'totp', algorithm: 'SHA1', digits: 6, period: 30, counter: 0, color: 'orange' },
    ]);
    for (const a of json.accounts) assert.deepEqual(Object.keys(a), ['issuer', 'account', 'secret', 'type', 'algorithm', 'digits', 'period', 'counter', 'color']);
    await waitForText(page.getByRole('status'), /A mentés letöltve: kapu-authenticator-.*\.json \(3 fiók\)/);
    state.backup1 = json;
  });

  step('9. cleared storage + reload: empty; restore from the file: the accounts are back; a bad entry is skipped', async () => {
    const { page } = state;
    await assertNoKeyStored(page, [KEY, URI_KEY, QR_KEY]);
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await createPassphrase(page);
    await waitForText(page.locator('body'), /Még nincs fiók/);
    assert.equal(await rows(page).count(), 0);

    const f = form(page, 'Visszaállítás mentésből');
    writeFileSync(join(state.dir, 'broken.json'), '{"format": "something-else", "version": 1, "accounts": []}');
    await field(f, 'Mentésfájl').setInputFiles(join(state.dir, 'broken.json'));
    await button(f, 'Visszaállítás').click();
    await waitForText(f.getByRole('alert'), /nem a hitelesítő mentése/);
    const bad = { ...state.backup1, accounts: [state.backup1.accounts[0], { ...state.backup1.accounts[1], secret: 'ABC1' }] };
    writeFileSync(join(state.dir, 'bad.json'), JSON.stringify(bad));
    await field(f, 'Mentésfájl').setInputFiles(join(state.dir, 'bad.json'));
    await button(f, 'Visszaállítás').click();
    await waitForText(page.getByRole('status'), /0 átnevezve, 1 hozzáadva, 0 változatlan, 1 kihagyva/);
    await waitForText(page.locator('#restore-details'), /Kihagyva \(1\): 2\. ACME Co:alice@example\.hu: A mentés 2\. fiókjának „secret” mezője hibás/);
    assert.equal(await rows(page).count(), 1, 'the good entry of a backup with a bad one is restored');

    await field(f, 'Mentésfájl').setInputFiles(join(state.dir, 'backup1.json'));
    await button(f, 'Visszaállítás').click();
    await waitForText(page.getByRole('status'), /0 átnevezve, 2 hozzáadva, 1 változatlan, 0 kihagyva/);
    assert.equal(await rows(page).count(), 3);
    await waitForCode(row(page, 'Ügyfélkapu'), rustCode(KEY, 'SHA1', 6, 30, T), 'restored key account');
    await waitForCode(row(page, 'ACME Co'), rustCode(URI_KEY, 'SHA256', 8, 60, T), 'restored URI account');
  });

  step('10. restore matches by key: one renamed, new ones added, nothing deleted; HOTP codes on request', async () => {
    const { page } = state;
    const hotp = { issuer: 'Régi', account: 'számláló', secret: HOTP_KEY, type: 'hotp', algorithm: 'SHA1', digits: 6, period: 30, counter: 7, color: 'grey' };
    const fresh = { issuer: 'Tárhely', account: 'imre', secret: NEW_KEY, type: 'totp', algorithm: 'SHA512', digits: 7, period: 30, counter: 0, color: 'yellow' };
    const renamed = { ...state.backup1.accounts[0], issuer: 'Kapu', account: 'szucs.imre', color: 'red' };
    const unchanged = state.backup1.accounts[2];
    writeFileSync(join(state.dir, 'backup2.json'), JSON.stringify({ format: 'kapu-authenticator', version: 1, accounts: [renamed, unchanged, fresh, hotp] }));
    const f = form(page, 'Visszaállítás mentésből');
    await field(f, 'Mentésfájl').setInputFiles(join(state.dir, 'backup2.json'));
    await button(f, 'Visszaállítás').click();
    await waitForText(page.getByRole('status'), /1 átnevezve, 2 hozzáadva, 1 változatlan, 0 kihagyva\. Semmi sem törlődött/);
    assert.equal(await rows(page).count(), 5, 'nothing deleted');
    assert.equal(await row(page, 'Ügyfélkapu').count(), 0, 'the old name is gone');
    await waitForCode(row(page, 'szucs.imre'), rustCode(KEY, 'SHA1', 6, 30, T), 'renamed account keeps its key');
    assert.ok(await row(page, 'ACME Co').isVisible(), 'an account missing from the backup is kept');
    await waitForCode(row(page, 'Tárhely'), rustCode(NEW_KEY, 'SHA512', 7, 30, T), 'new SHA512/7-digit account');
    await waitForText(row(page, 'Régi'), /HOTP, számláló: 7/);

    const { json } = await downloadBackup(page, state.dir, 'backup3.json');
    assert.deepEqual(json.accounts.map((a) => a.secret), [KEY, URI_KEY, QR_KEY, NEW_KEY, HOTP_KEY]);
    assert.deepEqual(json.accounts[0], renamed);
    assert.deepEqual(json.accounts[4], hotp, 'the hotp entry is exported unchanged');
    // HOTP: the code of counter 7 (the Rust core's: TOTP with a 1-s period at t = 7), then counter 8.
    const r = row(page, 'Régi');
    await r.getByRole('button', { name: startsRe('Következő kód') }).click();
    await waitForCode(r, rustCode(HOTP_KEY, 'SHA1', 6, 1, 7), 'HOTP code 7');
    await waitForText(r, /HOTP, számláló: 8/);
    await r.getByRole('button', { name: startsRe('Következő kód') }).click();
    await waitForCode(r, rustCode(HOTP_KEY, 'SHA1', 6, 1, 8), 'HOTP code 8');
    await checkA11y(page, 'authenticator after restore');
  });

  step('11. delete asks first: "Mégse" keeps the account, "Igen, törlöm" deletes it', async () => {
    const { page } = state;
    const r = row(page, 'Tárhely');
    await r.getByRole('button', { name: startsRe('Törlés') }).click();
    await waitForText(r, /Biztosan törli: Tárhely \(imre\)\?/);
    await checkA11y(page, 'delete confirmation');
    await button(r, 'Mégse').click();
    assert.ok(await r.getByRole('button', { name: startsRe('Törlés') }).isVisible());
    assert.equal(await rows(page).count(), 5);
    await r.getByRole('button', { name: startsRe('Törlés') }).click();
    await button(r, 'Igen, törlöm').click();
    await waitForText(page.getByRole('status'), /Törölve: Tárhely \(imre\)/);
    assert.equal(await rows(page).count(), 4);
    await page.reload();
    assert.equal(await rows(page).count(), 0, 'locked after a reload: nothing shown');
    const f = form(page, 'A kulcsok zárolva vannak');
    await field(f, 'Jelmondat').fill('not the passphrase');
    await button(f, 'Feloldás').click();
    await waitForText(f.getByRole('alert'), /Hibás jelmondat/);
    await unlock(page);
    assert.equal(await rows(page).count(), 4, 'deleted for good (storage)');
    // The HOTP counter was saved before its code was shown.
    await waitForText(row(page, 'Régi'), /HOTP, számláló: 9/);
  });

  step('12. HU | EN switch: every label in English, remembered across a reload, and back', async () => {
    const { page } = state;
    await page.getByRole('button', { name: startsRe('EN') }).click();
    await waitForText(page.getByRole('heading', { level: 1 }), /browser authenticator/i);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await waitForText(page.locator('#clock-check'), /this device's clock is \d+ seconds \(about \d+ days\) ahead of the kapu server/);
    const f = form(page, 'By key');
    for (const label of ['Service', 'Account', 'Key', 'Colour']) assert.ok(await field(f, label).isVisible(), `field "${label}"`);
    await waitForText(row(page, 'ACME Co'), /50 s left/);
    await page.reload();
    await waitForText(page.getByRole('heading', { level: 1 }), /browser authenticator/i);
    const f2 = form(page, 'Your keys are locked');
    await field(f2, 'Passphrase').fill(PASS);
    await button(f2, 'Unlock').click();
    await waitForText(page.getByRole('status'), /Unlocked/);
    assert.equal(await page.getByRole('button', { name: startsRe('EN') }).getAttribute('aria-pressed'), 'true');
    await checkA11y(page, 'authenticator in English');
    await page.getByRole('button', { name: startsRe('HU') }).click();
    await waitForText(page.getByRole('heading', { level: 1 }), /böngészős hitelesítő/i);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'hu');
  });

  step('13. no request was made after loading: only the page itself, once per (re)load', async () => {
    // Steps 9, 11 and 12 reload the page; the downloads are blob: URLs made in the page.
    assert.equal(requests.length, 4, `requests: ${JSON.stringify(requests)}`);
    assert.deepEqual([...new Set(requests)], [`GET document ${state.url}`], `requests: ${JSON.stringify(requests)}`);
  });

  step('14. the page saved as a file works from disk, as locked down, without any request', async () => {
    const file = join(state.dir, 'hitelesito.html');
    writeFileSync(file, state.html);
    const url = pathToFileURL(file).href;
    const page = await newPage(state.browser);
    state.savedPage = page;
    const seen = [];
    page.on('request', (r) => seen.push(r.url()));
    await page.clock.setFixedTime(new Date(T * 1000));
    await page.goto(url);
    await waitForText(page.locator('#device-time'), /\d{2}:\d{2}:\d{2}/);
    await waitForText(page.locator('#clock-check'), /A lementett oldal nem tudja ellenőrizni az órát/);
    await createPassphrase(page);
    const f = form(page, 'Kulccsal');
    await field(f, 'Fiók').fill('imre');
    await field(f, 'Kulcs').fill(KEY);
    await button(f, 'Hozzáadás').click();
    await waitForCode(row(page, 'imre'), rustCode(KEY, 'SHA1', 6, 30, T), 'saved copy');
    // The <meta> policy forbids connections from the saved copy too.
    const blocked = await page.evaluate(async (target) => {
      try { await fetch(target); return 'fetched'; } catch (err) { return `blocked: ${err.name}`; }
    }, `${state.kapu.url}/healthz`);
    assert.match(blocked, /^blocked/);
    page.problems.splice(0).forEach((p) => assert.match(p, /Content Security Policy|connect-src/, `unexpected problem: ${p}`));
    assert.deepEqual(seen.filter((u) => u !== `${state.kapu.url}/healthz`), [url], 'only the file itself');
    await page.context().close();
  });

  step('15. restore the terminal\'s encrypted export (`kapu otp export --encrypted`, scrypt N = 2^17) with its password', async () => {
    const { page } = state;
    const env = { ...process.env, KAPU_VAULT: join(state.dir, 'terminal.vault'), KAPU_VAULT_PASSPHRASE: 'terminal vault pass',
      KAPU_VAULT_KDF_LOG_N: '10', LANG: 'C.UTF-8' };
    const kapu = (args, extra = {}) => execFileSync(kapuBin(), ['otp', ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    kapu(['add', '--issuer', 'Terminál', '--account', 'anna', '--key', TERMINAL_KEY, '--digits', '8']);
    kapu(['add', '--uri', `otpauth://hotp/Bank:bob?secret=${HOTP_KEY}&issuer=Bank&counter=3`]);
    const file = join(state.dir, 'terminal-export.json');
    kapu(['export', '--encrypted', '-o', file], { KAPU_BACKUP_PASSPHRASE: 'terminal backup pass' });
    const f = form(page, 'Visszaállítás mentésből');
    await field(f, 'Mentésfájl').setInputFiles(file);
    await button(f, 'Visszaállítás').click();
    await waitForText(f.getByRole('alert'), /titkosított mentés: adja meg a jelszavát/);
    await field(f, 'A mentés jelszava (csak titkosított mentéshez)').fill('wrong password');
    await button(f, 'Visszaállítás').click();
    await waitForText(f.getByRole('alert'), /Hibás jelszó a titkosított mentéshez/, { timeoutMs: 30_000 });
    await field(f, 'Mentésfájl').setInputFiles(file);
    await field(f, 'A mentés jelszava (csak titkosított mentéshez)').fill('terminal backup pass');
    await button(f, 'Visszaállítás').click();
    // HOTP_KEY is here already, with counter 9 and 6 digits, SHA1: the same settings, so it is matched and renamed.
    await waitForText(page.getByRole('status'), /1 átnevezve, 1 hozzáadva, 0 változatlan, 0 kihagyva/, { timeoutMs: 30_000 });
    await waitForCode(row(page, 'Terminál'), rustCode(TERMINAL_KEY, 'SHA1', 8, 30, T), 'restored from the terminal');
    await waitForText(row(page, 'Bank'), /HOTP, számláló: 9/, { timeoutMs: 5_000 });
    await assertNoKeyStored(page, [KEY, URI_KEY, QR_KEY, TERMINAL_KEY]);
  });

  step('16. search narrows the list; nothing found says so', async () => {
    const { page } = state;
    const search = page.getByLabel('Keresés a fiókok között');
    await search.fill('acme');
    await poll(async () => (await rows(page).locator('visible=true').count()) === 1, { what: 'one row left' });
    assert.ok(await row(page, 'ACME Co').isVisible());
    await search.fill('nincs ilyen');
    await waitForText(page.locator('#no-match'), /Egy fiók sem felel meg ennek: „nincs ilyen”/);
    await search.fill('');
    await poll(async () => (await rows(page).locator('visible=true').count()) === 5, { what: 'all rows back' });
  });

  step('17. the clock: right on a right device, an hour fast on a skewed one, with how to fix it', async () => {
    const right = await newPage(state.browser);
    await right.goto(state.url);
    await waitForText(right.locator('#clock-check'), /A készülék órája pontos/);
    await right.context().close();
    const skewed = await newPage(state.browser);
    await skewed.clock.setFixedTime(new Date(Date.now() + 3600_000));
    await skewed.goto(state.url);
    await waitForText(skewed.locator('#clock-check'), /a készülék órája (359\d|360\d) másodperccel \(kb\. 1 órával\) siet/);
    await waitForText(skewed.locator('#clock-check'), /automatikus időbeállítást/);
    await skewed.context().close();
    const slow = await newPage(state.browser);
    await slow.clock.setFixedTime(new Date(Date.now() - 45_000));
    await slow.goto(state.url);
    await waitForText(slow.locator('#clock-check'), /4\d másodperccel késik/);
    await slow.context().close();
  });

  step('18. on a phone the codes come first; the keys lock after 5 idle minutes', async () => {
    const phone = await newPage(state.browser, { viewport: { width: 390, height: 844 } });
    await phone.clock.install({ time: new Date(T * 1000) });
    await phone.goto(state.url);
    await createPassphrase(phone);
    const f = form(phone, 'Kulccsal');
    await field(f, 'Fiók').fill('telefon');
    await field(f, 'Kulcs').fill(KEY);
    await button(f, 'Hozzáadás').click();
    await waitForCode(row(phone, 'telefon'), rustCode(KEY, 'SHA1', 6, 30, T), 'phone');
    await phone.evaluate(() => window.scrollTo(0, 0));
    const code = await row(phone, 'telefon').locator('button.code').boundingBox();
    assert.ok(code.y + code.height <= 844, `the first code is on the first screen (at ${code.y})`);
    const intro = await phone.locator('[data-i18n="intro"]').boundingBox();
    assert.ok(code.y < intro.y, 'the codes come before the introduction');
    await checkA11y(phone, 'authenticator on a phone');
    await phone.clock.runFor(5 * 60_000 + 2_000);
    await waitForText(phone.getByRole('status'), /5 perc tétlenség után zárolta/);
    assert.equal(await rows(phone).count(), 0, 'no code left on the screen');
    assert.ok(await form(phone, 'A kulcsok zárolva vannak').isVisible());
    await phone.context().close();
  });

  step('19. the QR corpus through the page\'s decoder: every image zbarimg reads', async () => {
    const corpus = join(REPO_ROOT, 'target', 'qr-corpus');
    if (!existsSync(join(corpus, 'manifest.tsv'))) {
      // Built by the terminal's test (scripts/test runs it before this suite).
      execFileSync('cargo', ['test', '-q', '-p', 'kapu-cli', '--test', 'otp', '--', 'corpus'], { cwd: REPO_ROOT, stdio: 'inherit' });
    }
    const manifest = readFileSync(join(corpus, 'manifest.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const page = await newPage(state.browser);
    await page.goto(state.url);
    await createPassphrase(page);
    const f = form(page, 'QR-kód képéből');
    const results = [];
    const missed = [];
    for (const [file, group, transform, source] of manifest) {
      const expected = readFileSync(join(corpus, 'expected', `${source}.txt`), 'utf8');
      await page.evaluate(() => { document.getElementById('qr-error').textContent = ''; document.getElementById('status').textContent = ''; });
      await field(f, 'A QR-kód képe').setInputFiles(join(corpus, file));
      await button(f, 'Hozzáadás').click();
      let outcome = '';
      await poll(async () => {
        outcome = `${await page.locator('#status').textContent()}|${await page.locator('#qr-error').textContent()}`;
        return outcome !== '|';
      }, { what: `an outcome for ${file}`, timeoutMs: 30_000 });
      // Read: added, already there, or a Google export (which the page names as such).
      const read = /Hozzáadva|már szerepel|Google Hitelesítő exportja/.test(outcome);
      let zbar = false;
      try {
        zbar = execFileSync('zbarimg', ['-q', '--raw', '-Sdisable', '-Sqrcode.enable', join(corpus, file)], { encoding: 'utf8' })
          .split('\n').includes(expected);
      } catch { zbar = false; }
      results.push(`${file}\t${read ? 1 : 0}`);
      if (zbar && !read) missed.push(`${file} (${group}: ${transform}): ${outcome}`);
    }
    writeFileSync(join(corpus, 'page-results.tsv'), `${results.join('\n')}\n`);
    const readCount = results.filter((r) => r.endsWith('\t1')).length;
    console.log(`page decoder: ${readCount}/${results.length} corpus images read`);
    await page.context().close();
    assert.deepEqual(missed, [], 'zbarimg reads these and the page does not');
  }, { timeoutMs: 300_000 }); // 120 images, ~0.5 s each on 2 busy cores
});
