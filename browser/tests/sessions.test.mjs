// "Aktív munkamenetek" (active sessions), under "Biztonsági napló": a
// citizen logged in on a laptop and a phone sees both, this browser marked,
// ends the phone's session from the laptop, and the phone is logged out. The
// page passes axe at desktop and phone widths and does not scroll sideways.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, launchBrowser, navigates, newPage, startKapu, steps, waitForText } from '../lib/harness.mjs';
import { bodyText, button, expectLoggedIn, h1, link, login, menuLink, newCitizen, registerAndConfirm } from '../lib/flows.mjs';

describe('active sessions', () => {
  const state = {};
  const citizen = newCitizen();
  const step = steps('sessions', () => state, it, { timeoutMs: 60_000 });

  before(async () => {
    state.kapu = await startKapu();
    state.browser = await launchBrowser();
    state.laptop = await newPage(state.browser);
    state.phone = await newPage(state.browser, { viewport: { width: 375, height: 740 } });
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
  });

  step('the citizen logs in on a laptop and on a phone', async () => {
    const { laptop, phone, kapu } = state;
    await registerAndConfirm(laptop, kapu, citizen);
    for (const page of [phone, laptop]) {
      await page.goto(`${kapu.url}/`);
      await login(page, citizen.username, citizen.password);
      await expectLoggedIn(page, citizen.fullName);
    }
  });

  step('"Biztonsági napló" leads to "Aktív munkamenetek", which lists both', async () => {
    const { laptop } = state;
    await navigates(laptop, () => menuLink(laptop, 'Biztonsági napló').first().click());
    await navigates(laptop, () => link(laptop, 'Aktív munkamenetek').click());
    await waitForText(h1(laptop), /^\s*aktív munkamenetek\s*$/i);
    const rows = laptop.locator('table.sessions tbody tr');
    assert.equal(await rows.count(), 2, 'two sessions');
    assert.equal(await rows.filter({ hasText: /ez a böngésző/ }).count(), 1, 'one is this browser');
    assert.equal(await rows.filter({ hasText: /ez a böngésző/ }).getByRole('button').count(), 0,
      'this browser is not ended from here');
    await checkA11y(laptop, 'active sessions, desktop');
  });

  step('at phone width the page does not scroll sideways and passes axe', async () => {
    const { laptop } = state;
    await laptop.setViewportSize({ width: 320, height: 700 });
    const overflow = await laptop.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 320px screen`);
    await checkA11y(laptop, 'active sessions, phone width');
    await laptop.setViewportSize({ width: 1280, height: 900 });
  });

  step('"Lezárás" ends the phone\'s session; the phone is logged out', async () => {
    const { laptop, phone, kapu } = state;
    const other = laptop.locator('table.sessions tbody tr').filter({ hasNotText: /ez a böngésző/ });
    await navigates(laptop, () => other.getByRole('button', { name: /^\s*Lezárás/ }).click());
    await waitForText(laptop.getByRole('status'), /Lezárt munkamenetek: 1\./);
    assert.equal(await laptop.locator('table.sessions tbody tr').count(), 1, 'only this browser is left');
    assert.equal(await button(laptop, 'Az összes többi lezárása').count(), 0, 'nothing else to end');
    await phone.goto(`${kapu.url}/`);
    await waitForText(h1(phone), /^\s*azonosítás\s*$/i);
    assert.match(await bodyText(phone), /lejárt|lezárult|jelentkezzen be/i, 'the phone is told why');
    await laptop.reload();
    await expectLoggedIn(laptop, citizen.fullName);
  });
});
