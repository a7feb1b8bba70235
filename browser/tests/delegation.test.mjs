// Meghatalmazás in a real browser: two citizens verified at an office
// (`kapu admin identity verify --user`), the principal gives the agent her
// tax return on "Meghatalmazások" (the form's errors first), the agent
// accepts, then files a return at the demo tax service "Bevallás" choosing
// "Kinek a nevében jár el?" → the principal; the filed return names both.
// axe-core scans each new page.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, launchBrowser, navigates, newPage, startKapu, steps, waitForText } from '../lib/harness.mjs';
import {
  assertVisible, bodyText, button, expectLoggedIn, field, h1, login, menuLink, newCitizen, registerAndConfirm,
} from '../lib/flows.mjs';
import { freshCode } from '../lib/totp.mjs';
import { enableTwoStep, freePort, kapuAdmin, registerService, startTaxService } from '../lib/tax.mjs';

/** `kapu admin identity verify --user`: the office binds a verified identity at the counter. */
async function verifyAtOffice(kapu, username, { family, given, born }) {
  await kapuAdmin(kapu, ['admin', 'identity', 'verify', '--user', username,
    '--family-name', family, '--given-name', given, '--birth-family-name', family, '--birth-given-name', given,
    '--mother-birth-name', 'Nagy Erzsébet', '--place-of-birth', 'Szeged', '--birth-date', born,
    '--document-kind', 'id_card', '--document-number', `${born.slice(0, 4)}AB${username.length}`,
    '--clerk', 'Tóth Judit', '--office', 'Szegedi kormányablak', '--reason', 'személyesen, személyi igazolvánnyal']);
}

/** Today as kapu counts days (server.time_zone: Europe/Budapest). */
const today = () => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Budapest' }).format(new Date());
const inDays = (n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

describe('Meghatalmazás: an agent files a tax return on the principal\'s behalf', () => {
  const state = {};
  const principal = { ...newCitizen(), fullName: 'Kovács Anna' };
  const agent = { ...newCitizen(), fullName: 'Kiss Béla' };
  agent.username = `kiss${agent.username}`;
  agent.email = `kiss.${agent.email}`;
  const step = steps('delegation', () => ({
    page: state.page,
    kapu: { log: () => `${state.kapu?.log() ?? ''}\n--- kapu-demo-tax ---\n${state.tax?.log() ?? ''}` },
  }), it);

  before(async () => {
    state.kapu = await startKapu();
    const port = await freePort();
    const client = await registerService(state.kapu, `http://127.0.0.1:${port}`);
    state.tax = await startTaxService({ port, issuer: state.kapu.url, clientId: client.client_id, clientSecret: client.client_secret });
    state.browser = await launchBrowser();
  });
  after(async () => {
    await state.browser?.close();
    await state.tax?.stop();
    await state.kapu?.stop();
  });

  step('1. both register; the office verifies both; the agent turns on Ügyfélkapu+', async (t) => {
    const { kapu } = state;
    state.agentPage = await newPage(state.browser);
    state.page = await newPage(state.browser);
    await registerAndConfirm(state.page, kapu, principal);
    await registerAndConfirm(state.agentPage, kapu, agent);
    await verifyAtOffice(kapu, principal.username, { family: 'Kovács', given: 'Anna', born: '1970-01-02' });
    await verifyAtOffice(kapu, agent.username, { family: 'Kiss', given: 'Béla', born: '1985-06-30' });
    const page = state.agentPage;
    await page.goto(`${kapu.url}/`);
    await login(page, agent.username, agent.password);
    await expectLoggedIn(page, agent.fullName);
    const { key, step: used } = await enableTwoStep(page, agent, (m) => t.diagnostic(m));
    Object.assign(state, { key, usedStep: used });
  });

  step('2. the principal gives the tax return to the agent (errors first)', async () => {
    const { page, kapu } = state;
    await page.goto(`${kapu.url}/`);
    await login(page, principal.username, principal.password);
    await expectLoggedIn(page, principal.fullName);
    await navigates(page, () => menuLink(page, 'Meghatalmazások').first().click());
    await waitForText(h1(page), /^\s*Meghatalmazások\s*$/);
    await checkA11y(page, 'delegations: empty');
    await navigates(page, () => page.getByRole('link', { name: 'Új meghatalmazás' }).click());
    await waitForText(h1(page), /^\s*Új meghatalmazás\s*$/);
    await checkA11y(page, 'delegations: new');

    // A wrong date of birth: the one answer that names nobody.
    await field(page, 'A meghatalmazott felhasználóneve').fill(agent.username);
    await field(page, 'A meghatalmazott születési dátuma').fill('1985-06-29');
    await page.getByLabel('Ügytípus').selectOption({ label: 'Adóbevallás' });
    await page.getByLabel('Szolgáltatás').selectOption({ label: 'Bevallás' });
    await field(page, 'Érvényesség vége').fill(inDays(30));
    await navigates(page, () => button(page, 'Meghatalmazás rögzítése').click());
    const summary = page.locator('.error-summary');
    await waitForText(summary, /Nincs igazolt személyazonosságú ügyfél ezzel a felhasználónévvel/);
    assert.equal(await summary.locator('a[href="#agent_username"]').count(), 1, 'the summary links to the field');
    assert.equal(await field(page, 'Érvényesség kezdete').inputValue(), today(), 'what was typed is kept');
    await checkA11y(page, 'delegations: form errors');

    await field(page, 'A meghatalmazott születési dátuma').fill('1985-06-30');
    await navigates(page, () => button(page, 'Meghatalmazás rögzítése').click());
    await waitForText(page.locator('[role="status"]'), /A meghatalmazást rögzítettük/);
    assert.match(await bodyText(page), /Kiss Béla[\s\S]*Adóbevallás[\s\S]*Elfogadásra vár/);
  });

  step('3. the agent accepts it on "Meghatalmazások"', async () => {
    const page = state.agentPage;
    await navigates(page, () => menuLink(page, 'Meghatalmazások').first().click());
    await assertVisible(page.getByRole('heading', { name: 'Elfogadásra vár' }), 'heading "Elfogadásra vár"');
    await checkA11y(page, 'delegations: waiting for the agent');
    await navigates(page, () => page.getByRole('button', { name: /^Elfogadom/ }).click());
    await waitForText(page.locator('[role="status"]'), /Elfogadta a meghatalmazást/);
    assert.match(await bodyText(page), /Kovács Anna[\s\S]*Adóbevallás[\s\S]*Érvényes/);
    // On a phone the tables stack instead of scrolling sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the delegations at 390 px scroll the page sideways by ${overflow} px`);
    await checkA11y(page, 'delegations at 390 px');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  step('4. the agent files a return at Bevallás for the principal', async (t) => {
    const page = state.agentPage;
    state.page = page;
    const { kapu, tax } = state;
    await page.goto(`${tax.url}/`);
    await field(page, 'Összevont adóalap (Ft)').fill('3 100 000');
    await navigates(page, () => button(page, 'Bevallás beadása').click());
    assert.equal(new URL(page.url()).origin, kapu.url, `at kapu (${page.url()})`);
    await login(page, agent.username, agent.password);
    const next = await freshCode(state.key, { afterStep: state.usedStep, note: (m) => t.diagnostic(m) });
    await field(page, 'Azonosító').fill(next.code);
    await navigates(page, () => button(page, 'Bejelentkezés').click());

    await waitForText(h1(page), /^\s*Kinek a nevében jár el\?\s*$/);
    await assertVisible(button(page, 'Saját nevemben'), 'button "Saját nevemben"');
    await checkA11y(page, 'kapu: on whose behalf');
    await navigates(page, () => button(page, 'Kovács Anna nevében (Adóbevallás)').click());

    assert.equal(new URL(page.url()).origin, tax.url, `back at the tax service (${page.url()})`);
    const notice = page.locator('[role="status"]');
    await waitForText(notice, /A bevallását befogadtuk/);
    assert.match(await notice.innerText(), /Beadta: Kiss Béla, Kovács Anna nevében/);
    assert.match(await bodyText(page), /Bejelentkezve:\s*KOVÁCS ANNA/i, 'the tax service identifies the principal');
    const rows = await page.locator('table tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.textContent.trim())));
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.match(rows[0][2], /3\s100\s000/);
    assert.equal(rows[0][5], 'Kiss Béla', 'the return names who filed it');
    await checkA11y(page, 'tax: filed on behalf');
  });
});
