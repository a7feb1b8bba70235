// Ügyfélkapu+ (two-step login with TOTP), by the visible Hungarian labels,
// with an axe-core scan of every new page: "Ügyfélkapu+ igénylése" → set-up
// (QR code, the key as text) → wrong password, wrong code, right values →
// "Törlőkód" (download, the box must be ticked, checked by the server) →
// "Sikeres beállítás" → log in with password + code (keyboard alone) → a code
// used once is refused → the next step's code works.
//
// The codes are computed here from the key the page shows (RFC 6238), the
// way an authenticator app would. A code is accepted once only, so each new
// login waits for the next 30-second step (at most ~30 s each, twice).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkA11y, exactRe, fillByTab, labelRe, launchBrowser, navigates, newPage, poll, startKapu, steps, waitForText,
} from '../lib/harness.mjs';
import {
  assertVisible, bodyText, button, expectLoggedIn, expectLoginPage, field, h1, link, login, menuLink, newCitizen,
  registerAndConfirm,
} from '../lib/flows.mjs';

// TOTP as an authenticator app computes it: the shared helpers.
import { TOTP_PERIOD_S, base32Decode, hotp, msLeftInStep, totp, totpStep } from '../lib/totp.mjs';

export { TOTP_PERIOD_S, base32Decode, hotp, totp, totpStep };


/**
 * The current code once the time step is after `afterStep` (a code already
 * used) and at least `minLeftMs` remain in it: waits for the next step when
 * needed, as a person would.
 */
async function freshCode(key, { afterStep = -Infinity, minLeftMs = 3_000, note = () => {} } = {}) {
  for (;;) {
    const now = Date.now();
    const step = totpStep(now);
    const left = msLeftInStep(now);
    if (step > afterStep && left >= minLeftMs) return { step, code: totp(key, { timeMs: now }), leftMs: left };
    const waitMs = (step > afterStep ? left : (afterStep + 1) * TOTP_PERIOD_S * 1000 - now) + 100;
    note(`waiting ${(waitMs / 1000).toFixed(1)} s for the next time step (step ${step}, ${(left / 1000).toFixed(1)} s left, last used ${afterStep})`);
    await sleep(Math.max(waitMs, 100));
  }
}

/** A 6-digit code that is none of the codes the server accepts now (steps −1, 0, +1). */
function wrongCode(key) {
  const step = totpStep();
  const valid = new Set([-2, -1, 0, 1, 2].map((d) => hotp(base32Decode(key), step + d)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

// ---------------------------------------------------------------------------
// page helpers
// ---------------------------------------------------------------------------

const LOGOUT = 'Kijelentkezés az Ügyfélkapuból';
const MENU_PLUS = 'Ügyfélkapu+ igénylése';
const MENU_PLUS_DEVICE = 'Ügyfélkapu+ beállítás másik eszközre';
const WRONG_PASSWORD_RE = /A megadott jelszó nem megfelelő/i;
const WRONG_CODE_RE = /A kód nem megfelelő/i;
const heading = (page, name, level) => page.getByRole('heading', { name: exactRe(name), ...(level ? { level } : {}) });
const checkbox = (page, name) => page.getByRole('checkbox', { name: labelRe(name) });

/**
 * The form error pattern: a visible role="alert" summary with a link to the
 * field's #id saying `message`; the field has aria-invalid="true" and its
 * aria-describedby includes the message.
 */
async function expectFieldError(page, locator, message, what) {
  const summary = page.locator('[role="alert"]:visible').first();
  await assertVisible(summary, `an error summary (role="alert") for ${what}`);
  const id = await locator.getAttribute('id');
  assert.ok(id, `${what} has an id`);
  const summaryLinks = await summary.locator('a[href^="#"]').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() })));
  const entry = summaryLinks.find((l) => decodeURIComponent(l.href.slice(1)) === id);
  assert.ok(entry, `the error summary links to #${id} (${what}); links: ${JSON.stringify(summaryLinks)}`);
  assert.match(entry.text, message, `the summary's message for ${what}`);
  assert.equal(await locator.getAttribute('aria-invalid'), 'true', `${what} has aria-invalid="true"`);
  const description = await locator.evaluate((el) => (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean)
    .map((ref) => document.getElementById(ref)?.textContent.trim() ?? '').join(' '));
  assert.match(description, message, `${what}'s aria-describedby message`);
}

async function expectNoFieldError(locator, what) {
  assert.notEqual(await locator.getAttribute('aria-invalid'), 'true', `${what} is not marked in error`);
}

/** The code page after a correct password: "Ügyfélkapu+ azonosító", field "Azonosító", the server's time. */
async function expectCodePage(page) {
  await waitForText(h1(page), /^\s*Ügyfélkapu\+ azonosító\s*$/i);
  await assertVisible(field(page, 'Azonosító'), 'field "Azonosító"');
  await assertVisible(button(page, 'Bejelentkezés'), 'button "Bejelentkezés"');
  assert.match(await bodyText(page), /A szerver ideje:\s*\S/i, 'the code page shows "A szerver ideje:"');
}

// ---------------------------------------------------------------------------
// the journey
// ---------------------------------------------------------------------------

describe('Ügyfélkapu+: set-up with a TOTP app, then login with password + code', () => {
  const state = {};
  const citizen = newCitizen();
  const step = steps('two-step', () => state, it);

  before(async () => {
    state.kapu = await startKapu();
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser);
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
  });

  step('1. register, confirm and log in (password only)', async () => {
    const { page, kapu } = state;
    await registerAndConfirm(page, kapu, citizen);
    await page.goto(`${kapu.url}/`);
    await login(page, citizen.username, citizen.password);
    await expectLoggedIn(page, citizen.fullName);
  });

  step('2. menu "Ügyfélkapu+ igénylése": the intro lists the authenticator apps', async () => {
    const { page } = state;
    await navigates(page, () => menuLink(page, MENU_PLUS).first().click());
    await waitForText(h1(page), /^\s*Ügyfélkapu\+ igénylése\s*$/i);
    const text = await bodyText(page);
    for (const app of ['NISZ Hitelesítő', 'Google Authenticator', 'Microsoft Authenticator']) {
      assert.ok(text.includes(app), `the intro lists "${app}"; page text:\n${text.slice(0, 1_500)}`);
    }
    await assertVisible(button(page, 'Tovább az Ügyfélkapu+ igényléséhez'), 'button "Tovább az Ügyfélkapu+ igényléséhez"');
    await checkA11y(page, 'Ügyfélkapu+ intro');
  });

  step('3. set-up page: the QR code; "Nem tudom beolvasni a kódot" shows the key; "Inkább kérem a QR-kódot"', async () => {
    const { page } = state;
    const qrResponse = page.waitForResponse((r) => new URL(r.url()).pathname === '/plus/setup/qr.svg', { timeout: 15_000 });
    await navigates(page, () => button(page, 'Tovább az Ügyfélkapu+ igényléséhez').click());
    await waitForText(h1(page), /^\s*Ügyfélkapu\+ igénylése\s*$/i);
    await assertVisible(heading(page, '1. QR-kód leolvasása', 2), 'heading "1. QR-kód leolvasása"');

    // The QR code: an <img> with a text alternative, served as SVG.
    const step1 = page.getByRole('region', { name: exactRe('1. QR-kód leolvasása') });
    const img = step1.getByRole('img');
    await assertVisible(img, 'the QR code image under "1. QR-kód leolvasása"');
    const src = await img.getAttribute('src');
    assert.equal(new URL(src, page.url()).pathname, '/plus/setup/qr.svg', 'the QR image src');
    assert.ok((await img.getAttribute('alt'))?.trim(), 'the QR image has alt text');
    const res = await qrResponse;
    assert.equal(res.status(), 200, 'GET /plus/setup/qr.svg status');
    assert.match(res.headers()['content-type'] ?? '', /^image\/svg\+xml\b/, 'GET /plus/setup/qr.svg content-type');
    assert.match((await res.text()).slice(0, 500), /<svg[\s>]/, 'the QR answer is an SVG document');
    await poll(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), { what: 'the QR image to be loaded and decoded' });
    await checkA11y(page, 'set-up: QR code');

    // The key as text.
    await navigates(page, () => link(page, 'Nem tudom beolvasni a kódot').click());
    const key = page.locator('#secret-key');
    const shown = (await waitForText(key, /\S/)).trim();
    assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/, 'the key: 32 base32 characters in groups of four');
    assert.match(await bodyText(page), /válassza a manuális beállítást/i, 'the manual-entry hint');
    assert.equal(await page.locator('img[src$="qr.svg"]').count(), 0, 'no QR image in the manual view');
    await checkA11y(page, 'set-up: key as text');

    // Back to the QR code, then the key again (the same one).
    await navigates(page, () => link(page, 'Inkább kérem a QR-kódot').click());
    await assertVisible(step1.getByRole('img'), 'the QR code image again');
    assert.equal(await page.locator('#secret-key').count(), 0, 'the key is not shown as text in the QR view');
    await navigates(page, () => link(page, 'Nem tudom beolvasni a kódot').click());
    const again = (await waitForText(page.locator('#secret-key'), /\S/)).trim();
    assert.equal(again, shown, 'the key does not change between the views');
    state.key = again;
  });

  step('4. "Tovább": a wrong password, then a wrong code, are refused; the right values go on', async (t) => {
    const { page, key } = state;
    await assertVisible(heading(page, '2. Ügyfélkapuhoz tartozó jelszó megadása', 2), 'heading "2. Ügyfélkapuhoz tartozó jelszó megadása"');
    await assertVisible(heading(page, '3. Mobilalkalmazásban kapott azonosító', 2), 'heading "3. Mobilalkalmazásban kapott azonosító"');
    const password = field(page, 'Ügyfélkapus jelszó');
    const code = field(page, 'Azonosító megadása');

    // A wrong password with the right code: the password is named as wrong.
    let current = await freshCode(key, { note: (m) => t.diagnostic(m) });
    await password.fill(`${citizen.password}-nem`);
    await code.fill(current.code);
    await navigates(page, () => button(page, 'Tovább').click());
    await waitForText(h1(page), /^\s*Ügyfélkapu\+ igénylése\s*$/i);
    await expectFieldError(page, password, WRONG_PASSWORD_RE, 'field "Ügyfélkapus jelszó"');
    await expectNoFieldError(code, 'field "Azonosító megadása" (its code was right)');
    await checkA11y(page, 'set-up: wrong password');

    // The right password with a wrong code: the code is named as wrong.
    const bad = wrongCode(key);
    await password.fill(citizen.password);
    await code.fill(bad);
    await navigates(page, () => button(page, 'Tovább').click());
    await waitForText(h1(page), /^\s*Ügyfélkapu\+ igénylése\s*$/i);
    await expectFieldError(page, code, WRONG_CODE_RE, `field "Azonosító megadása" (code ${bad})`);
    await expectNoFieldError(password, 'field "Ügyfélkapus jelszó" (the password was right)');
    await checkA11y(page, 'set-up: wrong code');

    // Both right.
    current = await freshCode(key, { note: (m) => t.diagnostic(m) });
    await password.fill(citizen.password);
    await code.fill(current.code);
    await navigates(page, () => button(page, 'Tovább').click());
    await waitForText(h1(page), /^\s*Törlőkód\s*$/i);
    state.usedStep = current.step;
    t.diagnostic(`set-up confirmed with the code of step ${current.step}`);
  });

  step('5. "Törlőkód": the code, its download, "Befejezés" only with the box ticked', async () => {
    const { page } = state;
    const code = (await waitForText(page.locator('#revocation-code'), /\d/)).trim();
    assert.match(code, /^\d{4} \d{4} \d{4} \d{4}$/, 'the revocation code: 16 digits in groups of four');
    await checkA11y(page, 'Törlőkód');

    // "Törlőkód mentése" downloads a text file with the same code.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      link(page, 'Törlőkód mentése').click(),
    ]);
    assert.match(download.suggestedFilename(), /\.txt$/, 'the downloaded file name');
    const file = await download.path();
    const saved = readFileSync(file, 'utf8');
    assert.ok(saved.includes(code), `the downloaded file contains the code ${code}:\n${saved}`);
    assert.ok(saved.includes(citizen.username), `the downloaded file names the user ${citizen.username}:\n${saved}`);

    const box = checkbox(page, 'A fenti törlőkód mentéséről gondoskodtam');
    await assertVisible(box, 'checkbox "A fenti törlőkód mentéséről gondoskodtam"');
    assert.equal(await box.isChecked(), false, 'the box starts unticked');
    assert.equal(await box.evaluate((el) => el.required), true, 'the box is marked required');

    // "Befejezés" unticked: the form is novalidate, so the server answers;
    // without novalidate the browser would block it (also acceptable).
    const noValidate = await box.evaluate((el) => el.form.noValidate);
    if (noValidate) {
      await navigates(page, () => button(page, 'Befejezés').click());
      await waitForText(h1(page), /^\s*Törlőkód\s*$/i);
      await expectFieldError(page, checkbox(page, 'A fenti törlőkód mentéséről gondoskodtam'), /törlőkódot elmentette/i, 'the unticked box');
    } else {
      await page.evaluate(() => { window.__kapuOldDocument = true; });
      await button(page, 'Befejezés').click();
      await sleep(1_000);
      assert.ok(await page.evaluate(() => window.__kapuOldDocument === true), 'the browser blocks "Befejezés" while the required box is unticked');
      assert.equal(await box.evaluate((el) => el.validity.valueMissing), true, 'the unticked box is reported as missing');
    }

    // The server checks it too: without the `required` attribute the
    // browser sends the form, and the server refuses.
    await checkbox(page, 'A fenti törlőkód mentéséről gondoskodtam').evaluate((el) => el.removeAttribute('required'));
    await navigates(page, () => button(page, 'Befejezés').click());
    await waitForText(h1(page), /^\s*Törlőkód\s*$/i);
    const boxAgain = checkbox(page, 'A fenti törlőkód mentéséről gondoskodtam');
    await expectFieldError(page, boxAgain, /A befejezéshez jelölje be, hogy a törlőkódot elmentette/i, 'the unticked box (server check)');
    assert.equal((await page.locator('#revocation-code').innerText()).trim(), code, 'the same revocation code after the error');
    await assertVisible(menuLink(page, MENU_PLUS), `menu link "${MENU_PLUS}" (not finished yet)`);
    await checkA11y(page, 'Törlőkód: box not ticked');

    // Ticked: done.
    await boxAgain.check();
    await navigates(page, () => button(page, 'Befejezés').click());
    await waitForText(h1(page), /^\s*Sikeres beállítás\s*$/i);
    await checkA11y(page, 'Sikeres beállítás');
    await assertVisible(menuLink(page, MENU_PLUS_DEVICE), `menu link "${MENU_PLUS_DEVICE}"`);
    assert.equal(await menuLink(page, MENU_PLUS).count(), 0, `menu link "${MENU_PLUS}" is gone`);
    await expectLoggedIn(page, citizen.fullName);
  });

  step('6. log out; log in with the keyboard alone: password, then the code page', async (t) => {
    const { page, key } = state;
    await navigates(page, () => button(page, LOGOUT).click());
    await expectLoginPage(page, { scan: false });

    await navigates(page, () => fillByTab(page, [
      ['Felhasználónév', citizen.username],
      ['Jelszó', citizen.password],
    ], { submit: 'Bejelentkezés' }));
    await expectCodePage(page);
    await checkA11y(page, 'code page');

    // The set-up used the code of state.usedStep: this login needs a later one.
    const current = await freshCode(key, { afterStep: state.usedStep, note: (m) => t.diagnostic(m) });
    await navigates(page, () => fillByTab(page, [['Azonosító', current.code]], { submit: 'Bejelentkezés' }));
    await expectLoggedIn(page, citizen.fullName);
    await checkA11y(page, 'portal after password + code');
    state.usedStep = current.step;
    state.usedCode = current.code;
    t.diagnostic(`logged in with the code of step ${current.step}`);
  });

  step('7. a code used once is refused as used ("Ezt a kódot már felhasználta"), not as wrong; the next step\'s code works', async (t) => {
    const { page, key } = state;
    await navigates(page, () => button(page, LOGOUT).click());
    await expectLoginPage(page, { scan: false });
    await login(page, citizen.username, citizen.password);
    await expectCodePage(page);

    // The same code again, while the server would still accept its step
    // (the current one or the one after): refused only because it was used.
    const behind = totpStep() - state.usedStep;
    assert.ok(behind <= 1, `the reused code is still within the server's window (${behind} steps old)`);
    await field(page, 'Azonosító').fill(state.usedCode);
    await navigates(page, () => button(page, 'Bejelentkezés').click());
    await expectCodePage(page);
    await expectFieldError(page, field(page, 'Azonosító'), /Ezt a kódot már felhasználta.*nem számít hibásnak/i, `field "Azonosító" (reused code ${state.usedCode})`);
    assert.doesNotMatch(await bodyText(page), /bejelentkezve:/i, 'not logged in with a reused code');
    await checkA11y(page, 'code page: code refused');

    // The next step's code, with the keyboard alone.
    const next = await freshCode(key, { afterStep: state.usedStep, note: (m) => t.diagnostic(m) });
    await navigates(page, () => fillByTab(page, [['Azonosító', next.code]], { submit: 'Bejelentkezés' }));
    await expectLoggedIn(page, citizen.fullName);
    t.diagnostic(`logged in again with the code of step ${next.step}`);
  });
});

// RFC 6238 appendix B, SHA-1: the key is the ASCII "12345678901234567890"
// (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ), T = 59 s → 94287082.
it('TOTP helper: RFC 6238 SHA-1 test vectors', () => {
  const ascii = Buffer.from('12345678901234567890', 'ascii');
  assert.deepEqual(base32Decode('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ'), ascii);
  assert.equal(totp(ascii, { timeMs: 59_000, digits: 8 }), '94287082');
  assert.equal(totp(ascii, { timeMs: 59_000 }), '287082');
  assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', { timeMs: 59_000 }), '287082');
  assert.equal(totp(ascii, { timeMs: 1_111_111_109_000, digits: 8 }), '07081804');
  assert.equal(totp(ascii, { timeMs: 1_234_567_890_000, digits: 8 }), '89005924');
  assert.equal(totp(ascii, { timeMs: 20_000_000_000_000, digits: 8 }), '65353130');
  assert.equal(totpStep(59_000), 1);
  assert.equal(totpStep(60_000), 2);
});
