// Phone first: the second user guide's citizen, who has only a smartphone,
// sets up Ügyfélkapu+ at 390×844 with the keyboard alone — the QR code and
// then the key with its copy button inside the first screen, switching
// between them without losing the step, the key and the törlőkód copied to
// the clipboard — and later pastes that törlőkód on "Elveszett a telefonom".
// Then every page at 390×844 and 1280×900: axe-core, and no page scrolls
// sideways (a Biztonsági napló with many events included). Errors name the
// field, an informational notice does not look like a success, the home page
// says whether Ügyfélkapu+ is on and what to do next, and after the end of
// one-step login the menu lists only what the session may use.
//
// With KAPU_SCREENSHOTS=<dir> (scripts/screenshots) the steps also save the
// screenshots of docs/screenshots.md there.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkA11y, exactRe, fillByTab, launchBrowser, navigates, newPage, startKapu, steps, tabTo, waitForText } from '../lib/harness.mjs';
import {
  assertVisible, bodyText, button, expectLoggedIn, field, h1, langButton, link, login, menuLink, newCitizen,
  registerAndConfirm,
} from '../lib/flows.mjs';
import { freshCode } from '../lib/totp.mjs';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const LOGOUT = 'Kijelentkezés az Ügyfélkapuból';
const MENU_PLUS = 'Ügyfélkapu+ igénylése';

/** The page does not scroll sideways (scrollWidth ≤ innerWidth). */
async function assertNoSidewaysScroll(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${what} scrolls sideways: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

/** The element is wholly inside the window as it is now scrolled. */
async function assertInWindow(page, locator, what) {
  await assertVisible(locator, what);
  const box = await locator.first().boundingBox();
  const { height } = page.viewportSize();
  assert.ok(box && box.y >= -1 && box.y + box.height <= height + 1,
    `${what} is not inside the first screen (top ${box?.y?.toFixed(0)}, bottom ${(box?.y + box?.height).toFixed(0)}, window height ${height})`);
}

/** The menu's "Menü" button (a <details> summary: works without JavaScript). */
const menuButton = (page) => page.locator('summary', { hasText: exactRe('Menü') });

async function shot(page, name) {
  const dir = process.env.KAPU_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`) });
}

const clipboard = (page) => page.evaluate(() => navigator.clipboard.readText());

describe('phone first: set-up and lost phone at 390×844, every page at phone and desktop widths', () => {
  const state = {};
  const citizen = newCitizen();
  const step = steps('phone-first', () => state, it, { timeoutMs: 120_000 });

  before(async () => {
    state.kapu = await startKapu();
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser, { viewport: PHONE, permissions: ['clipboard-read', 'clipboard-write'] });
  });
  after(async () => {
    await state.browser?.close();
    await state.kapu?.stop();
  });

  step('1. a first visit is asked to log in by an information notice; an empty login form names each field', async () => {
    const { page, kapu } = state;
    await navigates(page, () => page.goto(`${kapu.url}/`));
    const asked = page.getByRole('status').filter({ hasText: /Az oldal megtekintéséhez jelentkezzen be/ });
    await assertVisible(asked, 'the notice "Az oldal megtekintéséhez jelentkezzen be."');
    const infoLook = await asked.evaluate((el) => getComputedStyle(el).borderLeftColor + ' ' + getComputedStyle(el).backgroundColor);
    await shot(page, 'phone-login');

    await navigates(page, () => button(page, 'Bejelentkezés').click());
    const summary = page.getByRole('alert');
    await assertVisible(summary, 'the error summary');
    const links = await summary.getByRole('link').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent.trim()]));
    assert.deepEqual(links, [['#username', 'Adja meg a felhasználónevet.'], ['#password', 'Adja meg a jelszavát.']],
      'each empty field is named, with a link to it');
    assert.equal(await field(page, 'Felhasználónév').getAttribute('aria-invalid'), 'true', 'Felhasználónév marked invalid');
    assert.equal(await field(page, 'Jelszó').getAttribute('aria-invalid'), 'true', 'Jelszó marked invalid');
    await checkA11y(page, 'login: empty form');
    await assertNoSidewaysScroll(page, 'login: empty form');

    // A success (logged out) does not look like that information.
    await navigates(page, () => page.goto(`${kapu.url}/login?msg=logged_out`));
    const done = page.getByRole('status').filter({ hasText: /Sikeresen kijelentkezett/ });
    const successLook = await done.evaluate((el) => getComputedStyle(el).borderLeftColor + ' ' + getComputedStyle(el).backgroundColor);
    assert.notEqual(infoLook, successLook, 'an informational notice is styled unlike a success');
  });

  step('2. register, confirm and log in on the phone: the home page says Ügyfélkapu+ is off, and the next step', async () => {
    const { page, kapu } = state;
    await registerAndConfirm(page, kapu, citizen);
    await navigates(page, () => page.goto(`${kapu.url}/`));
    await login(page, citizen.username, citizen.password);
    await expectLoggedIn(page, citizen.fullName);
    const main = page.getByRole('main');
    const text = await main.innerText();
    assert.match(text, /Ügyfélkapu\+ kétlépcsős azonosítás nincs bekapcsolva/, 'the home page says Ügyfélkapu+ is off');
    assert.match(text, /Korábbi bejelentkezése nincs a biztonsági naplóban/, 'the home page says there was no earlier login');
    assert.doesNotMatch(text, /bal oldali/, 'no "left-hand menu" on a phone');
    await assertInWindow(page, main.getByRole('link', { name: exactRe(MENU_PLUS) }), `the next step "${MENU_PLUS}" on the home page`);

    // The header: the name and HU | EN on one line, then the countdown.
    const header = page.getByRole('banner');
    const brand = await header.getByRole('link', { name: /ÜGYFÉLKAPU/ }).boundingBox();
    const lang = await langButton(page, 'EN').boundingBox();
    assert.ok(Math.abs((brand.y + brand.height / 2) - (lang.y + lang.height / 2)) < 12, 'ÜGYFÉLKAPU and HU | EN on one line');
    const headerBox = await header.boundingBox();
    assert.ok(headerBox.height <= 100, `the header is one line plus the countdown (${headerBox.height.toFixed(0)} px high)`);

    // The menu waits behind "Menü".
    await assertVisible(menuButton(page), 'the "Menü" button');
    assert.equal(await menuLink(page, 'Regisztrációs adatok').isVisible(), false, 'the menu is closed on a phone');
    await checkA11y(page, 'home at 390 px');
    await assertNoSidewaysScroll(page, 'home at 390 px');
    await shot(page, 'phone-home');
    await menuButton(page).click();
    await assertVisible(menuLink(page, 'Regisztrációs adatok'), 'menu link "Regisztrációs adatok" once opened');
    await checkA11y(page, 'home at 390 px, menu open');
    await shot(page, 'phone-menu');
  });

  step('3. keyboard only: "Menü" → "Ügyfélkapu+ igénylése" → the QR code inside the first screen', async () => {
    const { page, kapu } = state;
    await navigates(page, () => page.goto(`${kapu.url}/`));
    await tabTo(page, menuButton(page), { what: 'the "Menü" button' });
    await page.keyboard.press('Enter');
    const menu = page.getByRole('navigation', { name: exactRe('Menü') });
    await tabTo(page, menuLink(menu, MENU_PLUS), { what: `menu link "${MENU_PLUS}"` });
    await navigates(page, () => page.keyboard.press('Enter'));
    await waitForText(h1(page), /^\s*Ügyfélkapu\+ igénylése\s*$/i);
    await tabTo(page, button(page, 'Tovább az Ügyfélkapu+ igényléséhez'), { what: 'button "Tovább az Ügyfélkapu+ igényléséhez"' });
    await navigates(page, () => page.keyboard.press('Enter'));
    const qr = page.getByRole('img', { name: /QR-kód/ });
    await qr.evaluate((img) => img.decode());
    assert.equal(await page.evaluate(() => window.scrollY), 0, 'the set-up page opens at the top');
    await assertInWindow(page, qr, 'the QR code');
    await checkA11y(page, 'set-up: QR at 390 px');
    await assertNoSidewaysScroll(page, 'set-up: QR at 390 px');
    await shot(page, 'phone-setup-qr');
  });

  step('4. "Nem tudom beolvasni a kódot": the key and "Kulcs másolása" in the first screen; the button copies the key; back to the QR at the same step', async () => {
    const { page } = state;
    await tabTo(page, link(page, 'Nem tudom beolvasni a kódot'), { what: 'link "Nem tudom beolvasni a kódot"' });
    await navigates(page, () => page.keyboard.press('Enter'));
    const key = page.locator('#secret-key');
    const shown = (await waitForText(key, /\S/)).trim();
    assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/, 'the key in groups of four');
    await assertInWindow(page, key, 'the key');
    const copy = button(page, 'Kulcs másolása');
    await assertInWindow(page, copy, 'the button "Kulcs másolása"');
    await tabTo(page, copy, { what: 'button "Kulcs másolása"' });
    await page.keyboard.press('Enter');
    await assertVisible(page.getByRole('status').filter({ hasText: /Kimásolva a vágólapra/ }), 'the status "Kimásolva a vágólapra."');
    assert.equal(await clipboard(page), shown.replace(/ /g, ''), 'the clipboard holds the key');
    assert.equal(await key.evaluate((el) => getComputedStyle(el).userSelect), 'all', 'the key stays selectable as text');
    await checkA11y(page, 'set-up: key at 390 px');
    await assertNoSidewaysScroll(page, 'set-up: key at 390 px');
    await shot(page, 'phone-setup-key');

    // Without JavaScript the key is still there to select, and no button
    // that would do nothing is shown.
    const noScript = await state.browser.newContext({
      javaScriptEnabled: false, viewport: PHONE, storageState: await page.context().storageState(),
    });
    try {
      const plain = await noScript.newPage();
      await plain.goto(page.url());
      assert.equal((await plain.locator('#secret-key').innerText()).trim(), shown, 'the key without JavaScript');
      assert.equal(await plain.getByRole('button', { name: exactRe('Kulcs másolása') }).isVisible(), false,
        'no copy button without JavaScript');
    } finally {
      await noScript.close();
    }

    await tabTo(page, link(page, 'Inkább kérem a QR-kódot'), { what: 'link "Inkább kérem a QR-kódot"' });
    await navigates(page, () => page.keyboard.press('Enter'));
    const qr = page.getByRole('img', { name: /QR-kód/ });
    await qr.evaluate((img) => img.decode());
    await assertInWindow(page, page.getByRole('heading', { name: exactRe('1. QR-kód leolvasása') }), 'the step "1. QR-kód leolvasása"');
    await assertInWindow(page, qr, 'the QR code after switching back');
    state.key = shown.replace(/ /g, '');
  });

  step('5. keyboard only: password and code; "Törlőkód másolása" copies the code as shown; finished', async (t) => {
    const { page, key } = state;
    const codeField = field(page, 'Azonosító megadása');
    const width = (await codeField.boundingBox()).width;
    assert.ok(width <= 170, `the 6-digit code field is sized to its content (${width.toFixed(0)} px)`);
    const current = await freshCode(key, { note: (m) => t.diagnostic(m) });
    await navigates(page, () => fillByTab(page, [['Ügyfélkapus jelszó', citizen.password], ['Azonosító megadása', current.code]], { submit: 'Tovább' }));
    await waitForText(h1(page), /^\s*Törlőkód\s*$/i);
    state.usedStep = current.step;
    const shown = (await page.locator('#revocation-code').innerText()).trim();
    const copy = button(page, 'Törlőkód másolása');
    await assertInWindow(page, copy, 'the button "Törlőkód másolása"');
    await tabTo(page, copy, { what: 'button "Törlőkód másolása"' });
    await page.keyboard.press('Enter');
    await assertVisible(page.getByRole('status').filter({ hasText: /Kimásolva a vágólapra/ }), 'the status "Kimásolva a vágólapra."');
    assert.equal(await clipboard(page), shown, 'the clipboard holds the törlőkód as shown');
    await checkA11y(page, 'Törlőkód at 390 px');
    await assertNoSidewaysScroll(page, 'Törlőkód at 390 px');
    await shot(page, 'phone-revocation');

    await tabTo(page, page.getByRole('checkbox', { name: /A fenti törlőkód mentéséről gondoskodtam/ }), { what: 'the "saved" box' });
    await page.keyboard.press('Space');
    await tabTo(page, button(page, 'Befejezés'), { what: 'button "Befejezés"' });
    await navigates(page, () => page.keyboard.press('Enter'));
    await waitForText(h1(page), /^\s*Sikeres beállítás\s*$/i);
    state.revocation = shown;
  });

  step('6. "Elveszett a telefonom" from the code page keeps the username; the törlőkód pasted from the clipboard works', async () => {
    const { page, kapu } = state;
    await navigates(page, () => page.goto(`${kapu.url}/`));
    const main = await page.getByRole('main').innerText();
    assert.match(main, /Ügyfélkapu\+ kétlépcsős azonosítás be van kapcsolva/, 'the home page says Ügyfélkapu+ is on');
    await menuButton(page).click();
    await navigates(page, () => button(page, LOGOUT).click());
    await login(page, citizen.username, citizen.password);
    await waitForText(h1(page), /^\s*Ügyfélkapu\+ azonosító\s*$/i);
    await shot(page, 'phone-code');
    await navigates(page, () => link(page, 'Elveszett a telefonom').click());
    assert.equal(await field(page, 'Felhasználónév').inputValue(), citizen.username, 'the username just typed is kept');
    await field(page, 'Jelszó').fill(citizen.password);
    const code = field(page, 'Törlőkód');
    await code.focus();
    await page.keyboard.press('ControlOrMeta+V');
    assert.equal(await code.inputValue(), state.revocation, 'the törlőkód pasted as copied');
    await checkA11y(page, 'Elveszett a telefonom at 390 px');
    await assertNoSidewaysScroll(page, 'Elveszett a telefonom at 390 px');
    await shot(page, 'phone-lost');
    await navigates(page, () => button(page, 'Ügyfélkapu+ megszüntetése').click());
    await assertVisible(page.getByRole('status').filter({ hasText: /Az Ügyfélkapu\+ szolgáltatást megszüntettük/ }), 'the notice that Ügyfélkapu+ was cancelled');
  });

  step('7. a Biztonsági napló with many events stacks its rows at 390 px', async () => {
    const { page, kapu } = state;
    // Wrong passwords (below the slow-down) and a few logins add events.
    for (let i = 0; i < 4; i++) {
      await navigates(page, () => page.goto(`${kapu.url}/login`));
      await login(page, citizen.username, `${citizen.password}-nem-${i}`);
    }
    for (let i = 0; i < 3; i++) {
      await navigates(page, () => page.goto(`${kapu.url}/login`));
      await login(page, citizen.username, citizen.password);
      await expectLoggedIn(page, citizen.fullName);
      await menuButton(page).click();
      await navigates(page, () => button(page, LOGOUT).click());
    }
    await login(page, citizen.username, citizen.password);
    assert.match(await page.getByRole('main').innerText(), /Legutóbbi bejelentkezés: \S.*127\.0\.0\.1/, 'the home page shows the last login');
    await navigates(page, () => page.goto(`${kapu.url}/activity`));
    const rows = await page.getByRole('row').count();
    assert.ok(rows >= 15, `the log has many events (${rows} rows)`);
    await checkA11y(page, 'Biztonsági napló at 390 px');
    await assertNoSidewaysScroll(page, 'Biztonsági napló at 390 px');
    await shot(page, 'phone-activity');
  });

  step('8. every page at 390×844 and 1280×900: axe-core, no sideways scroll; on a desktop the menu is open beside the page', async () => {
    const { page, kapu } = state;
    const loggedIn = ['/', '/account', '/password/change', '/plus', '/settings', '/activity', '/activity/sessions',
      '/account/delete', '/help', '/contact', '/privacy', '/accessibility'];
    const loggedOut = ['/login', '/register', '/password/forgot', '/login/lost', '/help', '/contact', '/privacy', '/accessibility'];
    for (const viewport of [PHONE, DESKTOP]) {
      await page.setViewportSize(viewport);
      for (const path of loggedIn) {
        await navigates(page, () => page.goto(`${kapu.url}${path}`));
        const where = `${path} at ${viewport.width} px`;
        await checkA11y(page, where);
        await assertNoSidewaysScroll(page, where);
        if (viewport === DESKTOP) {
          await assertVisible(menuLink(page, 'Regisztrációs adatok'), `the menu beside ${where}`);
          assert.equal(await menuButton(page).isVisible(), false, `no "Menü" button at ${where}`);
        }
      }
    }
    await navigates(page, () => page.goto(`${kapu.url}/`));
    await shot(page, 'desktop-home');
    await navigates(page, () => button(page, LOGOUT).click());
    for (const viewport of [PHONE, DESKTOP]) {
      await page.setViewportSize(viewport);
      for (const path of loggedOut) {
        await navigates(page, () => page.goto(`${kapu.url}${path}`));
        const where = `${path} at ${viewport.width} px, logged out`;
        await checkA11y(page, where);
        await assertNoSidewaysScroll(page, where);
      }
    }
    await navigates(page, () => page.goto(`${kapu.url}/login`));
    await shot(page, 'desktop-login');
    await page.setViewportSize(PHONE);
  });

  step('9. the footer\'s pages in both languages: Súgó, Kapcsolat, Adatkezelési tájékoztató, Akadálymentességi nyilatkozat', async () => {
    const { page, kapu } = state;
    await navigates(page, () => page.goto(`${kapu.url}/login`));
    const footer = page.getByRole('contentinfo');
    const headings = {};
    for (const name of ['Súgó', 'Kapcsolat', 'Adatkezelési tájékoztató', 'Akadálymentességi nyilatkozat']) {
      await navigates(page, () => footer.getByRole('link', { name: exactRe(name) }).click());
      headings[name] = (await h1(page).innerText()).trim();
      assert.ok(headings[name], `"${name}" has a heading`);
      assert.ok((await bodyText(page)).length > 600, `"${name}" says something`);
    }
    await navigates(page, () => langButton(page, 'EN').click());
    const english = (await h1(page).innerText()).trim();
    assert.notEqual(english, headings['Akadálymentességi nyilatkozat'], 'the accessibility statement in English has its own heading');
    await assertVisible(page.getByRole('contentinfo').getByRole('link', { name: exactRe('Privacy notice') }), 'footer link "Privacy notice"');
    await navigates(page, () => langButton(page, 'HU').click());
  });

  step('10. after the end of one-step login the menu lists only what a password-only session may use', async () => {
    const { browser } = state;
    const cutOff = await startKapu({ configToml: '[two_step]\nlegacy_login_until = "2025-01-16"\n' });
    const page = await newPage(browser, { viewport: DESKTOP });
    try {
      const late = newCitizen();
      await registerAndConfirm(page, cutOff, late);
      await navigates(page, () => page.goto(`${cutOff.url}/login`));
      await login(page, late.username, late.password);
      await waitForText(h1(page), /^\s*Ügyfélkapu\+ igénylése\s*$/i);
      const items = await page.getByRole('navigation', { name: exactRe('Menü') }).getByRole('listitem').evaluateAll(
        (lis) => lis.map((li) => li.innerText.trim()));
      assert.deepEqual(items, [LOGOUT, 'Jelszóváltoztatás', MENU_PLUS], 'the menu after the cut-off');
      await checkA11y(page, 'restricted session');
    } finally {
      await page.context().close();
      await cutOff.stop();
    }
  });
});
