// The session-expiry warning: with a 125-second idle timeout the dialog
// "A munkamenet hamarosan lejár" appears within seconds of logging in (it is
// shown in the last two minutes); "Bejelentkezve maradok" closes it and the
// countdown jumps back up. The dialog says the time left in words, and a live
// region announces it at intervals.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, exactRe, launchBrowser, navigates, newPage, poll, startKapu, steps } from '../lib/harness.mjs';
import { assertVisible, countdownSeconds, expectLoggedIn, login, newCitizen, registerAndConfirm } from '../lib/flows.mjs';

describe('session expiry warning', () => {
  const state = {};
  const citizen = newCitizen();
  const step = steps('session-expiry', () => state, it, { timeoutMs: 90_000 });

  before(async () => {
    state.kapu = await startKapu({ configToml: '[session]\nidle_timeout_seconds = 125\n' });
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser);
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
  });

  step('register and log in', async () => {
    const { page, kapu } = state;
    await registerAndConfirm(page, kapu, citizen);
    await page.goto(`${kapu.url}/`);
    await login(page, citizen.username, citizen.password);
    await expectLoggedIn(page, citizen.fullName);
  });

  step('the warning dialog appears; "Bejelentkezve maradok" extends the session', async () => {
    const { page } = state;
    const dialog = page.getByRole('dialog').filter({ hasText: /A munkamenet hamarosan lejár/i });
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    const stay = dialog.getByRole('button', { name: exactRe('Bejelentkezve maradok') });
    await assertVisible(stay, 'button "Bejelentkezve maradok" in the dialog');
    await assertVisible(dialog.getByRole('button', { name: exactRe('Kijelentkezés') }), 'button "Kijelentkezés" in the dialog');
    await checkA11y(page, 'session expiry dialog');

    // The time left, in words, in the dialog (GOV.UK's timeout pattern) and
    // said to screen readers when it opens, then every 15 s, not every second.
    const inWords = (text) => {
      const m = /^Hátralévő idő: (?:(\d+) perc)? ?(?:(\d+) másodperc)?$/.exec(text.trim());
      assert.ok(m && (m[1] || m[2]), `the dialog's time left in words: ${JSON.stringify(text)}`);
      return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
    };
    const left = dialog.locator('#session-dialog-left');
    const live = page.locator('#session-dialog-live');
    assert.equal(await live.getAttribute('aria-live'), 'assertive', 'the announcement region is live');
    const shown = inWords(await left.innerText());
    const countdown = await countdownSeconds(page);
    assert.ok(Math.abs(shown - countdown) <= 2, `the dialog (${shown} s) agrees with the countdown (${countdown} s)`);
    // Said a second after opening (once the dialog itself has been read).
    const said = await poll(async () => (await live.textContent()) || false, { timeoutMs: 3_000, what: 'the first announcement' });
    assert.ok(Math.abs(inWords(said) - shown) <= 3, `the first announcement says the time left: ${JSON.stringify(said)}`);
    await poll(async () => inWords(await left.innerText()) <= shown - 3, { timeoutMs: 6_000, what: 'the time left in the dialog to count down' });
    assert.equal(await live.textContent(), said, 'not announced every second');
    await poll(async () => (await live.textContent()) !== said, { timeoutMs: 20_000, what: 'the next announcement (15 s after the first)' });
    assert.ok(inWords(await live.textContent()) <= inWords(said) - 14, 'the next announcement says the time left then');

    const before = await countdownSeconds(page);
    assert.ok(before <= 125, `countdown within the 125 s idle timeout (${before} s)`);
    await stay.click();
    await dialog.waitFor({ state: 'hidden', timeout: 3_000 });
    const after = await poll(async () => { const s = await countdownSeconds(page); return s > before + 1 && s; },
      { timeoutMs: 5_000, what: `the countdown to jump back up from ${before} s` });
    assert.ok(after <= 125, `countdown after extension ${after} s`);
  });

  step('"Kijelentkezés" in the dialog logs out', async () => {
    const { page } = state;
    const dialog = page.getByRole('dialog').filter({ hasText: /A munkamenet hamarosan lejár/i });
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    await navigates(page, () => dialog.getByRole('button', { name: exactRe('Kijelentkezés') }).click());
    const heading = await page.getByRole('heading', { level: 1 }).innerText();
    assert.match(heading, /^\s*azonosítás\s*$/i, 'back on the login page');
  });
});
