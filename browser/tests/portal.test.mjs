// The citizen's journey through the portal, by the visible Hungarian labels,
// with an axe-core scan of every page visited; the registration is submitted
// with the keyboard alone. Each step depends on the one before: after a
// failure the rest are skipped, and browser/test-results/ gets the evidence.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkA11y, exactRe, fillByTab, labelRe, startsRe, launchBrowser, navigates, newPage, startKapu, steps, waitForText } from '../lib/harness.mjs';
import {
  assertVisible, bodyText, button, countdownSeconds, expectLoggedIn, expectLoginPage, field, h1, htmlLang, langButton, link, login,
  mailLink, menuLink, newCitizen,
} from '../lib/flows.mjs';

const MENU_LINKS = [
  'Regisztrációs adatok',
  'Jelszóváltoztatás',
  'Ügyfélkapu+ igénylése',
  'Beállítások',
  'Biztonsági napló',
  'Ügyintézés',
  'Tárhely',
  'Ügyfélkapu törlése',
];
const LOGOUT = 'Kijelentkezés az Ügyfélkapuból';

describe('portal: a citizen registers, logs in, changes the password, switches language, logs out', () => {
  const state = {};
  const citizen = newCitizen();
  const step = steps('portal', () => state, it);

  before(async () => {
    state.kapu = await startKapu();
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser);
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
  });

  step('1. / leads to the login page "AZONOSÍTÁS"', async () => {
    const { page, kapu } = state;
    await page.goto(`${kapu.url}/`);
    await expectLoginPage(page, { scan: false });
    assert.equal(await htmlLang(page), 'hu', '<html lang> of the Hungarian page');
    for (const name of ['Azonosítás megszakítása', 'Még nem regisztrált?', 'Elfelejtett jelszó']) {
      await assertVisible(link(page, name), `link "${name}"`);
    }
    await assertVisible(langButton(page, 'EN'), 'language button "EN"');
    await checkA11y(page, 'login page');
  });

  step('2. registration: a weak, mismatched password is refused with an error summary and per-field errors', async () => {
    const { page } = state;
    await navigates(page, () => link(page, 'Még nem regisztrált?').click());
    await waitForText(h1(page), /^\s*regisztráció\s*$/i);
    for (const label of ['Felhasználónév', 'Teljes név', 'E-mail-cím', 'Jelszó', 'Jelszó még egyszer']) {
      await assertVisible(field(page, label), `field "${label}"`);
    }
    await checkA11y(page, 'registration page');

    await field(page, 'Felhasználónév').fill(citizen.username);
    await field(page, 'Teljes név').fill(citizen.fullName);
    await field(page, 'E-mail-cím').fill(citizen.email);
    await field(page, 'Jelszó').fill('abc');
    await field(page, 'Jelszó még egyszer').fill('abd');
    await navigates(page, () => button(page, 'Regisztráció').click());

    await waitForText(h1(page), /^\s*regisztráció\s*$/i);
    // The error summary at the top: role="alert" (or a summary box), with
    // links to the fields in error.
    const summary = page.locator('[role="alert"]:visible, .error-summary:visible, #error-summary:visible').first();
    await assertVisible(summary, 'an error summary (role="alert")');
    const targets = await summary.locator('a[href^="#"]').evaluateAll((as) => as.map((a) => a.getAttribute('href').slice(1)));
    assert.ok(targets.length >= 1, 'the error summary links to the fields in error');
    const invalid = await page.locator('[aria-invalid="true"]').evaluateAll((els) => els.map((el) => ({
      id: el.id,
      description: (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean)
        .map((id) => document.getElementById(id)?.textContent.trim() ?? '').join(' ').trim(),
    })));
    assert.ok(invalid.length >= 1, 'fields in error carry aria-invalid="true"');
    for (const id of targets) {
      assert.ok(invalid.some((f) => f.id === decodeURIComponent(id)), `summary link #${id} points at a field with aria-invalid="true" (${JSON.stringify(invalid)})`);
    }
    for (const f of invalid) assert.ok(f.description, `field #${f.id} has its error message linked with aria-describedby`);
    const passwordIds = await Promise.all(['Jelszó', 'Jelszó még egyszer'].map((l) => field(page, l).getAttribute('id')));
    assert.ok(invalid.some((f) => passwordIds.includes(f.id)), 'a password field is marked in error');
    await checkA11y(page, 'registration page with errors');
  });

  step('2b. registration with the keyboard alone', async () => {
    const { page } = state;
    await navigates(page, () => fillByTab(page, [
      ['Felhasználónév', citizen.username],
      ['Teljes név', citizen.fullName],
      ['E-mail-cím', citizen.email],
      ['Jelszó', citizen.password],
      ['Jelszó még egyszer', citizen.password],
    ], { submit: 'Regisztráció' }));
    assert.equal(await page.locator('[aria-invalid="true"]').count(), 0,
      `no field in error after a correct registration; page text:\n${(await bodyText(page)).slice(0, 800)}`);
    await checkA11y(page, 'registration sent');
  });

  step('3. the link in the mail confirms the registration; the citizen logs in', async () => {
    const { page, kapu } = state;
    const { url } = await mailLink(kapu, { to: citizen.email, subjectIncludes: 'regisztráció' });
    await page.goto(url);
    await assertVisible(button(page, 'Regisztráció megerősítése'), 'button "Regisztráció megerősítése"');
    await checkA11y(page, 'registration confirm page');
    await navigates(page, () => button(page, 'Regisztráció megerősítése').click());
    await waitForText(page.locator('body'), /sikeres|megerősítve|megerősítettük/i);
    await checkA11y(page, 'registration confirmed');

    await page.goto(`${kapu.url}/`);
    await expectLoginPage(page, { scan: false });
    await login(page, citizen.username, citizen.password);
    await expectLoggedIn(page, citizen.fullName);
    state.portalUrl = page.url();
  });

  step('4. the portal: header, a running session countdown, the menu', async (t) => {
    const { page, kapu } = state;
    await waitForText(page.locator('body'), /munkamenet lejár:/i);
    const first = await countdownSeconds(page);
    await sleep(2_500);
    const second = await countdownSeconds(page);
    assert.ok(second < first, `the session countdown decreases (was ${first} s, 2.5 s later ${second} s)`);
    await checkA11y(page, 'portal');

    const logout = button(page, LOGOUT);
    await assertVisible(logout, `button "${LOGOUT}"`);
    assert.equal(await logout.evaluate((b) => b.form?.method), 'post', `"${LOGOUT}" submits a POST form`);

    const hrefs = {};
    for (const name of MENU_LINKS) {
      const a = menuLink(page, name).first();
      await assertVisible(a, `menu link "${name}"`);
      hrefs[name] = await a.getAttribute('href');
    }
    const origin = new URL(kapu.url).origin;
    for (const [name, href] of Object.entries(hrefs)) {
      const target = new URL(href, page.url());
      if (target.origin !== origin) {
        assert.match(href, /^https?:\/\/[^/]+/, `external menu link "${name}" has an absolute http(s) href`);
        t.diagnostic(`external: ${name} → ${href}`);
        continue;
      }
      const res = await page.goto(target.href);
      assert.ok(res && res.status() < 400, `"${name}" (${target.href}) answered ${res?.status()}`);
      await assertVisible(h1(page), `a heading on "${name}"`);
      await expectLoggedIn(page, citizen.fullName);
      await checkA11y(page, `menu: ${name}`);
    }
    await page.goto(state.portalUrl);
  });

  step('5. "Jelszóváltoztatás": the password is changed', async () => {
    const { page } = state;
    await navigates(page, () => menuLink(page, 'Jelszóváltoztatás').first().click());
    for (const label of ['Jelenlegi jelszó', 'Új jelszó', 'Új jelszó még egyszer']) {
      await assertVisible(field(page, label), `field "${label}"`);
    }
    await field(page, 'Jelenlegi jelszó').fill(citizen.password);
    await field(page, 'Új jelszó').fill(citizen.newPassword);
    await field(page, 'Új jelszó még egyszer').fill(citizen.newPassword);
    await navigates(page, () => button(page, 'Jelszó módosítása').click());
    await waitForText(page.locator('body'), /A jelszó megváltozott/i);
    await checkA11y(page, 'password changed');
  });

  step('6. HU | EN: the page switches to English and back', async () => {
    const { page } = state;
    const path = new URL(page.url()).pathname;
    await navigates(page, () => langButton(page, 'EN').click());
    assert.equal(await htmlLang(page), 'en', '<html lang> after "EN"');
    await waitForText(page.locator('body'), /logged in:/i);
    await assertVisible(menuLink(page, 'Change password'), 'menu link "Change password"');
    await checkA11y(page, 'English page');
    await navigates(page, () => langButton(page, 'HU').click());
    assert.equal(await htmlLang(page), 'hu', '<html lang> after "HU"');
    await assertVisible(menuLink(page, 'Jelszóváltoztatás'), 'menu link "Jelszóváltoztatás"');
    await expectLoggedIn(page, citizen.fullName);
    const now = new URL(page.url()).pathname;
    if (now !== path) console.log(`# note: the language switch went from ${path} to ${now}`);
  });

  step('7. logout; the old password no longer works, the new one does', async () => {
    const { page } = state;
    await navigates(page, () => button(page, LOGOUT).click());
    await expectLoginPage(page, { scan: 'login page after logout' });

    await login(page, citizen.username, citizen.password);
    await expectLoginPage(page, { scan: false });
    await assertVisible(page.locator('[role="alert"]:visible'), 'an error (role="alert") for the old password');
    await checkA11y(page, 'login refused');

    await login(page, citizen.username, citizen.newPassword);
    await expectLoggedIn(page, citizen.fullName);
  });
});

// Guards for the name matchers: a renamed button must not silently match a
// longer one ("Regisztráció" vs "Regisztráció megerősítése").
it('name matchers: exact, label with required marker, starts-with', () => {
  assert.ok(exactRe('Regisztráció').test(' Regisztráció '));
  assert.ok(!exactRe('Regisztráció').test('Regisztráció megerősítése'));
  assert.ok(labelRe('Jelszó').test('Jelszó (kötelező)'));
  assert.ok(labelRe('Jelszó').test('Jelszó *'));
  assert.ok(!labelRe('Jelszó').test('Jelszó még egyszer (kötelező)'));
  assert.ok(startsRe('EN').test('EN – Angol nyelvű oldal'));
  assert.ok(!startsRe('EN').test('ENGLISH'));
  assert.ok(startsRe('Ügyintézés').test('Ügyintézés (új ablakban nyílik)'));
  assert.ok(!startsRe('Tárhely').test('Tárhelyek'));
});
