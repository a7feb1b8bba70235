// The demo tax-return service "Bevallás" (crates/demo-tax) beside kapu: a
// citizen with Ügyfélkapu+ files a return, and EVERY submission sends them
// through kapu's login pages again (max_age=0): username + password + a
// code, each time a new one (a code is accepted once). Then a submission
// cancelled at kapu ("Azonosítás megszakítása") files nothing. axe-core
// scans every page of the tax service.
//
// The service is registered with `kapu admin client add --par-required`
// (it pushes each login request to /par first); its redirect URI
// must be known first, so the test picks a free port for it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkA11y, launchBrowser, navigates, newPage, startKapu, steps, waitForText,
} from '../lib/harness.mjs';
import {
  assertVisible, bodyText, button, expectLoggedIn, expectLoginPage, field, h1, link, login, newCitizen,
  registerAndConfirm,
} from '../lib/flows.mjs';
import { freshCode } from '../lib/totp.mjs';
import { enableTwoStep, freePort, registerService, startTaxService } from '../lib/tax.mjs';

// ---------------------------------------------------------------------------
// the tax service's pages
// ---------------------------------------------------------------------------

const SUBMIT = 'Bevallás beadása';
const CANCELLED = 'Az azonosítást megszakította; a bevallást nem adtuk be.';

/** The rows of "Beadott bevallások": [érkeztetési szám, adóév, összeg, ...]. */
async function filedReturns(page) {
  await assertVisible(page.getByRole('heading', { name: 'Beadott bevallások' }), 'heading "Beadott bevallások"');
  return page.locator('table tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim())));
}

/** The code page after a correct password (kapu's "Ügyfélkapu+ azonosító"). */
async function expectCodePage(page) {
  await waitForText(h1(page), /^\s*Ügyfélkapu\+ azonosító\s*$/i);
  await assertVisible(field(page, 'Azonosító'), 'field "Azonosító"');
}

/** kapu's login page, asked for by the tax service (it names it). */
async function expectServiceLogin(page, kapu) {
  assert.equal(new URL(page.url()).origin, kapu.url, `at kapu (${page.url()})`);
  await expectLoginPage(page, { scan: false });
  assert.match(await bodyText(page), /„Bevallás” szolgáltatás azonosítást kér/, 'the login page names the service');
  await assertVisible(link(page, 'Azonosítás megszakítása'), 'link "Azonosítás megszakítása"');
}

describe('Bevallás: every tax return needs a fresh login with a code', () => {
  const state = {};
  const citizen = newCitizen();
  // Evidence on failure: the page and both servers' logs.
  const step = steps('tax', () => ({ page: state.page, kapu: { log: () => `${state.kapu?.log() ?? ''}\n--- kapu-demo-tax ---\n${state.tax?.log() ?? ''}` } }), it);

  before(async () => {
    state.kapu = await startKapu();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const client = await registerService(state.kapu, base);
    state.tax = await startTaxService({ port, issuer: state.kapu.url, clientId: client.client_id, clientSecret: client.client_secret });
    assert.equal(state.tax.url, base);
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser);
  });
  after(async () => {
    await state.browser?.close();
    await state.tax?.stop();
    await state.kapu?.stop();
  });

  step('1. a citizen registers at kapu and turns on Ügyfélkapu+', async (t) => {
    const { page, kapu } = state;
    await registerAndConfirm(page, kapu, citizen);
    await page.goto(`${kapu.url}/`);
    await login(page, citizen.username, citizen.password);
    await expectLoggedIn(page, citizen.fullName);

    const { key, step } = await enableTwoStep(page, citizen, (m) => t.diagnostic(m));
    state.key = key;
    state.usedStep = step;
    // The kapu session stays open: max_age=0 must still ask for everything.
  });

  step('2. the tax service: the form, its errors, nothing filed yet', async () => {
    const { page, tax } = state;
    await page.goto(`${tax.url}/`);
    await waitForText(h1(page), /^\s*Bevallás beadása\s*$/);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'hu');
    await assertVisible(field(page, 'Adóév'), 'field "Adóév"');
    await assertVisible(field(page, 'Összevont adóalap (Ft)'), 'field "Összevont adóalap (Ft)"');
    await assertVisible(button(page, SUBMIT), `button "${SUBMIT}"`);
    assert.deepEqual(await page.locator('table tbody tr').count(), 0, 'no returns listed');
    await checkA11y(page, 'tax: form');

    // An empty amount: the error pattern, and no trip to kapu.
    await navigates(page, () => button(page, SUBMIT).click());
    assert.equal(new URL(page.url()).origin, tax.url, 'still at the tax service');
    const summary = page.locator('[role="alert"]:visible').first();
    await waitForText(summary, /Adja meg az összevont adóalapot/);
    assert.equal(await summary.locator('a[href="#amount"]').count(), 1, 'the summary links to the field');
    assert.equal(await field(page, 'Összevont adóalap (Ft)').getAttribute('aria-invalid'), 'true');
    await checkA11y(page, 'tax: form errors');
  });

  step('3. first return: kapu asks for username, password and a code; the return is accepted', async (t) => {
    const { page, kapu, key } = state;
    await field(page, 'Összevont adóalap (Ft)').fill('4 850 000');
    await navigates(page, () => button(page, SUBMIT).click());
    await expectServiceLogin(page, kapu);
    await checkA11y(page, 'kapu: login for the tax service');
    await login(page, citizen.username, citizen.password);
    await expectCodePage(page);
    const current = await freshCode(key, { afterStep: state.usedStep, note: (m) => t.diagnostic(m) });
    await field(page, 'Azonosító').fill(current.code);
    await navigates(page, () => button(page, 'Bejelentkezés').click());
    state.usedStep = current.step;

    assert.equal(new URL(page.url()).origin, state.tax.url, `back at the tax service (${page.url()})`);
    await waitForText(page.locator('[role="status"]'), /A bevallását befogadtuk/);
    const rows = await filedReturns(page);
    assert.equal(rows.length, 1, `one return listed: ${JSON.stringify(rows)}`);
    assert.match(rows[0][0], /^BEV-/, 'a filing number');
    assert.match(rows[0][2], /4\s850\s000/, 'the amount');
    assert.match(await page.locator('[role="status"]').innerText(), new RegExp(rows[0][0]), 'the notice names the filing number');
    assert.match(await bodyText(page), new RegExp(`Bejelentkezve:\\s*${citizen.fullName.toLocaleUpperCase('hu-HU')}`, 'i'));
    await checkA11y(page, 'tax: accepted');
    state.firstRef = rows[0][0];
  });

  step('4. a second return right after: username, password and a NEW code again; accepted', async (t) => {
    const { page, kapu, key } = state;
    await field(page, 'Összevont adóalap (Ft)').fill('1 200 000');
    await navigates(page, () => button(page, SUBMIT).click());
    // The kapu session is seconds old, yet max_age=0 brings the login page back.
    await expectServiceLogin(page, kapu);
    await login(page, citizen.username, citizen.password);
    await expectCodePage(page);
    const next = await freshCode(key, { afterStep: state.usedStep, note: (m) => t.diagnostic(m) });
    await field(page, 'Azonosító').fill(next.code);
    await navigates(page, () => button(page, 'Bejelentkezés').click());
    state.usedStep = next.step;

    assert.equal(new URL(page.url()).origin, state.tax.url, `back at the tax service (${page.url()})`);
    await waitForText(page.locator('[role="status"]'), /A bevallását befogadtuk/);
    const rows = await filedReturns(page);
    assert.equal(rows.length, 2, `two returns listed: ${JSON.stringify(rows)}`);
    assert.notEqual(rows[0][0], state.firstRef, 'a new filing number, newest first');
    assert.equal(rows[1][0], state.firstRef);
    state.filed = rows.length;

    // On a phone the returns stack instead of scrolling the page sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the returns table at 390 px scrolls the page sideways by ${overflow} px`);
    assert.equal((await filedReturns(page)).length, 2, 'both returns still listed at 390 px');
    await checkA11y(page, 'tax: returns at 390 px');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  step('5. a third return, cancelled at kapu: nothing is filed, the draft is kept', async () => {
    const { page, kapu } = state;
    await field(page, 'Összevont adóalap (Ft)').fill('999 999');
    await navigates(page, () => button(page, SUBMIT).click());
    await expectServiceLogin(page, kapu);
    await navigates(page, () => link(page, 'Azonosítás megszakítása').click());

    assert.equal(new URL(page.url()).origin, state.tax.url, `back at the tax service (${page.url()})`);
    await waitForText(page.locator('[role="alert"]').first(), new RegExp(CANCELLED.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await page.locator('[role="status"]').count(), 0, 'no "accepted" notice');
    assert.equal((await filedReturns(page)).length, state.filed, 'still only the two returns');
    assert.equal(await field(page, 'Összevont adóalap (Ft)').inputValue(), '999999', 'the draft is kept in the form');
    await checkA11y(page, 'tax: cancelled');
  });

  step('6. "Kijelentkezés" ends the tax session and kapu\'s', async () => {
    const { page, kapu, tax } = state;
    await navigates(page, () => button(page, 'Kijelentkezés').click());
    assert.equal(page.url(), `${tax.url}/`, 'back at the tax service\'s front page');
    await waitForText(h1(page), /^\s*Bevallás beadása\s*$/);
    assert.doesNotMatch(await bodyText(page), /Bejelentkezve:/i, 'no longer identified at the tax service');
    await page.goto(`${kapu.url}/`);
    await expectLoginPage(page, { scan: false });
  });
});
