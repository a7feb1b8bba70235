// The citizen's steps shared by the browser tests, written against the
// VISIBLE HUNGARIAN LABELS of the pages (accessible names), never CSS classes.

import assert from 'node:assert/strict';
import { checkA11y, exactRe, labelRe, latestMail, navigates, startsRe, waitForText } from './harness.mjs';

/** A fresh citizen per run (unique username and address). */
export function newCitizen() {
  const n = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  return {
    username: `kovacsj${n}`,
    fullName: 'Kovács János',
    email: `kovacs.janos.${n}@example.hu`,
    password: 'Tavaszi-szel-2025-vizet-araszt',
    newPassword: 'Oszi-level-2026-hullik-csendben',
  };
}

export const field = (page, label) => page.getByLabel(labelRe(label));
export const button = (page, name) => page.getByRole('button', { name: exactRe(name) });
export const link = (page, name) => page.getByRole('link', { name: exactRe(name) });
/** A menu link: its name may go on after the visible text ("Ügyintézés (új ablakban nyílik)"). */
export const menuLink = (page, name) => page.getByRole('link', { name: startsRe(name) });
/** The HU | EN buttons: the name may go on after the visible code ("EN – Angol nyelvű oldal"). */
export const langButton = (page, code) => page.getByRole('button', { name: startsRe(code) });
export const h1 = (page) => page.getByRole('heading', { level: 1 });

/** Everything visible on the page as a person reads it (text-transform applied). */
export const bodyText = (page) => page.locator('body').innerText();

export async function htmlLang(page) {
  return page.evaluate(() => document.documentElement.lang);
}

export async function assertVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: 5_000 });
  } catch {
    assert.fail(`${what} is not on the page`);
  }
}

/** The login page "AZONOSÍTÁS" with its fields, button and links. */
export async function expectLoginPage(page, { scan = 'login page' } = {}) {
  await waitForText(h1(page), /^\s*azonosítás\s*$/i);
  await assertVisible(field(page, 'Felhasználónév'), 'field "Felhasználónév"');
  await assertVisible(field(page, 'Jelszó'), 'field "Jelszó"');
  await assertVisible(button(page, 'Bejelentkezés'), 'button "Bejelentkezés"');
  if (scan) await checkA11y(page, scan);
}

export async function login(page, username, password) {
  await field(page, 'Felhasználónév').fill(username);
  await field(page, 'Jelszó').fill(password);
  await navigates(page, () => button(page, 'Bejelentkezés').click());
}

/** Logged in: "BEJELENTKEZVE:" then the full name in upper case. */
export async function expectLoggedIn(page, fullName) {
  const text = await bodyText(page);
  const m = /bejelentkezve:\s*([^\n]+)/i.exec(text);
  assert.ok(m, `"BEJELENTKEZVE:" not on the page (${page.url()}); page text:\n${text.slice(0, 800)}`);
  assert.equal(m[1].trim(), fullName.toLocaleUpperCase('hu-HU'), 'the full name after "BEJELENTKEZVE:" in upper case');
}

/** Seconds left on the session countdown (#session-countdown shows mm:ss). */
export async function countdownSeconds(page) {
  const text = await page.locator('#session-countdown').innerText({ timeout: 5_000 });
  const m = /(\d{1,3}):([0-5]\d)/.exec(text);
  assert.ok(m, `#session-countdown shows no mm:ss: ${JSON.stringify(text)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * The link of the newest mail to `to` whose subject contains `subjectIncludes`,
 * re-pointed at this kapu (the path and query are kept).
 */
export async function mailLink(kapu, { to, subjectIncludes }) {
  const mail = await latestMail(kapu.outboxDir, { to, subjectIncludes });
  const own = mail.links.filter((l) => l.startsWith(kapu.url));
  const chosen = own[0] ?? mail.links[0];
  assert.ok(chosen, `mail "${mail.subject}" (${mail.file}) has no link:\n${mail.text}`);
  const u = new URL(chosen);
  return { mail, url: new URL(u.pathname + u.search, kapu.url).href };
}

/** Register through the UI (mouse), confirm from the mail, without scans: for tests that only need an account. */
export async function registerAndConfirm(page, kapu, citizen) {
  await page.goto(`${kapu.url}/`);
  await navigates(page, () => link(page, 'Még nem regisztrált?').click());
  await field(page, 'Felhasználónév').fill(citizen.username);
  await field(page, 'Teljes név').fill(citizen.fullName);
  await field(page, 'E-mail-cím').fill(citizen.email);
  await field(page, 'Jelszó').fill(citizen.password);
  await field(page, 'Jelszó még egyszer').fill(citizen.password);
  await navigates(page, () => button(page, 'Regisztráció').click());
  const { url } = await mailLink(kapu, { to: citizen.email, subjectIncludes: 'regisztráció' });
  await page.goto(url);
  await navigates(page, () => button(page, 'Regisztráció megerősítése').click());
  await waitForText(page.locator('body'), /sikeres|megerősítve|megerősítettük/i);
}
