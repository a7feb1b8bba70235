// The office console in a real browser: a clerk (set by `kapu admin office
// add`) logs in with their own code, finds a citizen, verifies the
// citizen's identity (an error first), records a delegation the citizen
// makes in person, and resets their two-step login with a reason. axe-core
// scans each page of the console.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, launchBrowser, navigates, newPage, startKapu, steps, waitForText } from '../lib/harness.mjs';
import { button, expectLoggedIn, field, h1, link, login, newCitizen, registerAndConfirm } from '../lib/flows.mjs';
import { freshCode } from '../lib/totp.mjs';
import { enableTwoStep, kapuAdmin } from '../lib/tax.mjs';

describe('Ügyintézői felület: a clerk verifies a citizen and resets two-step login', () => {
  const state = {};
  const clerk = { ...newCitizen(), fullName: 'Tóth Judit' };
  clerk.username = `toth${clerk.username}`;
  clerk.email = `toth.${clerk.email}`;
  const citizen = newCitizen();
  const step = steps('office', () => state, it);

  before(async () => {
    state.kapu = await startKapu();
    state.browser = await launchBrowser();
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
  });

  step('1. a clerk and a citizen, both with Ügyfélkapu+; the clerk joins the office staff', async (t) => {
    const { kapu } = state;
    const citizenPage = await newPage(state.browser);
    await registerAndConfirm(citizenPage, kapu, citizen);
    await citizenPage.goto(`${kapu.url}/`);
    await login(citizenPage, citizen.username, citizen.password);
    await enableTwoStep(citizenPage, citizen, (m) => t.diagnostic(m));
    await citizenPage.close();

    state.page = await newPage(state.browser);
    const { page } = state;
    await registerAndConfirm(page, kapu, clerk);
    await page.goto(`${kapu.url}/`);
    await login(page, clerk.username, clerk.password);
    const { key, step: used } = await enableTwoStep(page, clerk, (m) => t.diagnostic(m));
    await kapuAdmin(kapu, ['admin', 'office', 'add', '--user', clerk.username, '--role', 'clerk', '--office', 'Szegedi kormányablak']);
    // A new login with the code: the console wants one.
    await navigates(page, () => button(page, 'Kijelentkezés az Ügyfélkapuból').first().click());
    await login(page, clerk.username, clerk.password);
    const next = await freshCode(key, { afterStep: used, note: (m) => t.diagnostic(m) });
    await field(page, 'Azonosító').fill(next.code);
    await navigates(page, () => button(page, 'Bejelentkezés').click());
    await expectLoggedIn(page, clerk.fullName);
  });

  step('2. the console: find the citizen, see the card', async () => {
    const { page, kapu } = state;
    await page.goto(`${kapu.url}/office`);
    await waitForText(h1(page), /^\s*Ügyintézői felület\s*$/);
    await checkA11y(page, 'office: search');
    await page.getByLabel('Felhasználónév').fill(citizen.username);
    await navigates(page, () => button(page, 'Keresés').click());
    await navigates(page, () => link(page, citizen.username).click());
    await waitForText(h1(page), /Ügyfél adatai/);
    assert.match(await page.locator('main').innerText(), new RegExp(citizen.email.replace(/[.]/g, '\\.')));
    await checkA11y(page, 'office: citizen card');
  });

  step('3. verify the identity (an error first)', async () => {
    const { page } = state;
    await navigates(page, () => link(page, 'Személyazonosság igazolása').click());
    await checkA11y(page, 'office: verify form');
    await field(page, 'Családi név').fill('Kovács');
    await field(page, 'Utónév').fill('János');
    await field(page, 'Születési családi név').fill('Kovács');
    await field(page, 'Születési utónév').fill('János');
    await field(page, 'Születési hely').fill('Szeged');
    await field(page, 'Születési idő').fill('1980-05-17');
    await page.getByLabel('Ellenőrzött okmány').selectOption('id_card');
    await field(page, 'Okmány száma').fill('123456AB');
    await field(page, 'Indoklás').fill('személyesen, személyi igazolvánnyal');
    await navigates(page, () => button(page, 'Igazolás rögzítése').click());
    const summary = page.locator('.error-summary');
    await waitForText(summary, /Töltse ki ezt a mezőt/);
    assert.equal(await summary.locator('a[href="#mother_birth_name"]').count(), 1);
    await checkA11y(page, 'office: verify form errors');
    await field(page, 'Anyja születési neve').fill('Nagy Ilona');
    await navigates(page, () => button(page, 'Igazolás rögzítése').click());
    await waitForText(page.locator('[role="status"]'), /A személyazonosságot igazoltuk/);
    assert.match(await page.locator('main').innerText(), /Nagy Ilona/);
    assert.doesNotMatch(await page.locator('main').innerText(), /123456AB/, 'the document number is never shown again');
  });

  step('4. record a delegation the citizen makes in person (reason missing first)', async () => {
    const { page, kapu } = state;
    const agent = { ...newCitizen(), fullName: 'Kiss Béla' };
    agent.username = `kiss${agent.username}`;
    agent.email = `kiss.${agent.email}`;
    const agentPage = await newPage(state.browser);
    await registerAndConfirm(agentPage, kapu, agent);
    await agentPage.close();
    await kapuAdmin(kapu, ['admin', 'identity', 'verify', '--user', agent.username, '--family-name', 'Kiss',
      '--given-name', 'Béla', '--birth-family-name', 'Kiss', '--birth-given-name', 'Béla',
      '--mother-birth-name', 'Szabó Éva', '--place-of-birth', 'Pécs', '--birth-date', '1985-06-30',
      '--document-kind', 'passport', '--document-number', 'BA1234567', '--clerk', 'Tóth Judit',
      '--office', 'Szegedi kormányablak', '--reason', 'személyesen']);
    await navigates(page, () => link(page, 'Meghatalmazás rögzítése').click());
    await checkA11y(page, 'office: record a delegation');
    await field(page, 'A meghatalmazott felhasználóneve').fill(agent.username);
    await field(page, 'A meghatalmazott születési dátuma').fill('1985-06-30');
    await page.getByLabel('Ügytípus').selectOption({ label: 'Adóbevallás' });
    await field(page, 'Érvényesség vége').fill(new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
    await navigates(page, () => button(page, 'Meghatalmazás rögzítése').click());
    await waitForText(page.locator('.error-summary'), /Adja meg az indoklást/);
    await checkA11y(page, 'office: record a delegation, reason missing');
    await field(page, 'Indoklás').fill('személyesen kérte');
    await navigates(page, () => button(page, 'Meghatalmazás rögzítése').click());
    await waitForText(page.locator('[role="status"]'), /A meghatalmazást rögzítettük/);
    assert.match(await page.locator('main').innerText(), /Kovács János → Kiss Béla: Adóbevallás/);
  });

  step('5. reset two-step login with a reason', async () => {
    const { page } = state;
    await navigates(page, () => button(page, 'Visszaállítás').click());
    await waitForText(page.locator('.error-summary'), /Adja meg az indoklást/);
    await checkA11y(page, 'office: reason missing');
    await page.locator('#reset_reason').fill('elvesztette a telefonját és a törlőkódját');
    await navigates(page, () => button(page, 'Visszaállítás').click());
    await waitForText(page.locator('[role="status"]'), /A kétlépcsős azonosítást visszaállítottuk/);
    assert.equal(await button(page, 'Visszaállítás').count(), 0, 'nothing left to reset');
    await checkA11y(page, 'office: after the reset');
  });
});
