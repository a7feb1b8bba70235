// A single-page application on another origin logs in through kapu with
// panva's oauth4webapi (interop/node_modules, code nobody here wrote), as a
// public client: discovery, the code flow with PKCE S256, the token request
// and userinfo all cross-origin, from the browser itself. kapu answers them
// with CORS only for the origin registered with the client
// (`kapu admin client add --auth-method none --web-origin ...`); the same
// application served from another origin cannot even read the discovery
// document.
//
// The citizen is made with `kapu admin seed` (password + Ügyfélkapu+ key),
// and logs in with the password and a real code. A logout form POSTed from
// the application's site shows that kapu's SameSite=Lax session reaches the
// logout question (kapu answers a cookieless POST by GET).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  REPO_ROOT, checkA11y, kapuBin, launchBrowser, newPage, poll, startKapu, steps, waitForText,
} from '../lib/harness.mjs';
import { button, field, h1, login } from '../lib/flows.mjs';
import { freshCode } from '../lib/totp.mjs';

const run = promisify(execFile);
const PASSWORD = 'tavaszi szel vizet araszt';
const OAUTH4WEBAPI = join(REPO_ROOT, 'interop', 'node_modules', 'oauth4webapi', 'build', 'index.js');

// The application: everything OpenID is oauth4webapi's; it writes what it
// got (or the error) into <pre id="out"> as JSON.
const APP = `
import * as oauth from '/oauth4webapi.mjs';
const out = document.getElementById('out');
const show = (o) => { out.textContent = JSON.stringify(o); out.dataset.done = o.step; };
try {
  const cfg = await (await fetch('/config.json')).json();
  const issuer = new URL(cfg.issuer);
  const http = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...http, algorithm: 'oidc' }));
  const client = { client_id: cfg.client_id };
  const redirectUri = location.origin + '/';
  const here = new URL(location.href);
  if (!here.searchParams.has('code') && !here.searchParams.has('error')) {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    sessionStorage.setItem('login', JSON.stringify({ verifier, state, nonce }));
    const authorize = new URL(as.authorization_endpoint);
    authorize.search = new URLSearchParams({
      client_id: client.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile email',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
    }).toString();
    location.assign(authorize.href);
  } else {
    const { verifier, state, nonce } = JSON.parse(sessionStorage.getItem('login'));
    const params = oauth.validateAuthResponse(as, client, here, state);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, http),
      { expectedNonce: nonce, requireIdToken: true });
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub,
      await oauth.userInfoRequest(as, client, tokens.access_token, http));
    history.replaceState(null, '', '/');
    show({ step: 'logged-in', claims, userinfo });
  }
} catch (e) {
  show({ step: 'error', error: String(e && e.message || e) });
}
`;

const PAGE = `<!doctype html>
<html lang="hu"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Önkormányzati ügyintézés</title></head>
<body><main><h1>Önkormányzati ügyintézés</h1><pre id="out" aria-live="polite"></pre></main>
<script type="module" src="/app.mjs"></script></body></html>`;

/** A static server for the application on 127.0.0.1 (its own origin). */
async function serveApp(config) {
  const library = readFileSync(OAUTH4WEBAPI);
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const send = (type, body) => { res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body); };
    if (path === '/') return send('text/html; charset=utf-8', PAGE);
    if (path === '/app.mjs') return send('text/javascript', APP);
    if (path === '/oauth4webapi.mjs') return send('text/javascript', library);
    if (path === '/config.json') return send('application/json', JSON.stringify(config()));
    // "Kijelentkezés": a form POSTed to kapu from this origin (cross-site).
    if (path === '/logout') {
      const { issuer, client_id: clientId } = config();
      const origin = `http://${req.headers.host}`;
      return send('text/html; charset=utf-8', `<!doctype html><html lang="hu"><head><meta charset="utf-8">
<title>Kijelentkezés</title></head><body><main><h1>Kijelentkezés</h1>
<form method="post" action="${issuer}/logout/oidc"><input type="hidden" name="client_id" value="${clientId}">
<input type="hidden" name="post_logout_redirect_uri" value="${origin}/"><input type="hidden" name="state" value="bye">
<button>Kijelentkezés</button></form></main></body></html>`);
    }
    res.writeHead(404).end();
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((res) => server.close(res)) };
}

/** The application's answer in <pre id="out">, once it has one. */
async function appResult(page) {
  await poll(async () => (await page.locator('#out').getAttribute('data-done')) !== null, { timeoutMs: 15_000, what: 'the application to finish' });
  return JSON.parse(await page.locator('#out').textContent());
}

describe('a single-page application on another origin (oauth4webapi, public client, CORS)', () => {
  const state = {};
  const step = steps('spa', () => ({ page: state.page, kapu: state.kapu }), it);

  before(async () => {
    state.kapu = await startKapu();
    const config = () => ({ issuer: state.kapu.url, client_id: state.clientId });
    state.app = await serveApp(config);
    state.other = await serveApp(config);
    const kapu = (args) => run(kapuBin(), [...args, '--data-dir', state.kapu.dataDir], { env: { ...process.env, NO_COLOR: '1' } });
    const { stdout } = await kapu(['admin', 'client', 'add', '--name', 'Önkormányzati ügyintézés',
      '--redirect-uri', `${state.app.origin}/`, '--post-logout-uri', `${state.app.origin}/`,
      '--auth-method', 'none', '--web-origin', state.app.origin, '--json']);
    const client = JSON.parse(stdout.trim().split('\n').find((l) => l.startsWith('{')));
    assert.equal(client.client_secret ?? null, null, `a public client has no secret: ${stdout}`);
    state.clientId = client.client_id;
    const scratch = mkdtempSync(join(tmpdir(), 'kapu-spa-'));
    state.scratch = scratch;
    writeFileSync(join(scratch, 'password'), PASSWORD);
    await kapu(['admin', 'seed', '--accounts', '1', '--prefix', 'spa', '--password-file', join(scratch, 'password'),
      '--secrets-out', join(scratch, 'keys.csv')]);
    [state.username, state.key] = readFileSync(join(scratch, 'keys.csv'), 'utf8').trim().split(',');
    state.browser = await launchBrowser();
    state.page = await newPage(state.browser);
  });
  after(async () => {
    await state.browser?.close();
    await state.app?.close();
    await state.other?.close();
    await state.kapu?.stop();
    if (state.scratch) rmSync(state.scratch, { recursive: true, force: true });
  });

  step('1. kapu answers CORS for the registered origin only', async () => {
    const { kapu, app, other } = state;
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const ok = await fetch(`${kapu.url}${path}`, { headers: { origin: app.origin } });
      assert.equal(ok.status, 200, path);
      assert.equal(ok.headers.get('access-control-allow-origin'), app.origin, `${path} for ${app.origin}`);
      const refused = await fetch(`${kapu.url}${path}`, { headers: { origin: other.origin } });
      assert.equal(refused.headers.get('access-control-allow-origin'), null, `${path} for ${other.origin}`);
    }
    // The preflight of a token request (a browser sends one for a form POST
    // with a non-simple header, as oauth4webapi's requests are).
    const preflight = await fetch(`${kapu.url}/token`, {
      method: 'OPTIONS',
      headers: { origin: app.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.ok(preflight.status === 200 || preflight.status === 204, `preflight status ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), app.origin);
  });

  step('2. the application sends the citizen to kapu; password and a code bring them back logged in', async (t) => {
    const { page, kapu, app } = state;
    await page.goto(`${app.origin}/`);
    await page.waitForURL((u) => u.origin === kapu.url && u.pathname === '/login', { timeout: 15_000 });
    assert.match(await page.locator('body').innerText(), /„Önkormányzati ügyintézés” szolgáltatás azonosítást kér/);
    await login(page, state.username, PASSWORD);
    await waitForText(h1(page), /Ügyfélkapu\+ azonosító/i);
    const current = await freshCode(state.key, { note: (m) => t.diagnostic(m) });
    await field(page, 'Azonosító').fill(current.code);
    await button(page, 'Bejelentkezés').click();
    await page.waitForURL((u) => u.origin === app.origin, { timeout: 15_000 });
    const result = await appResult(page);
    assert.equal(result.step, 'logged-in', JSON.stringify(result));
    assert.equal(result.claims.iss, kapu.url);
    assert.equal(result.claims.aud, state.clientId);
    assert.equal(result.claims.acr, 'ugyfelkapu-plus');
    assert.deepEqual(result.claims.amr, ['pwd', 'otp']);
    assert.equal(result.userinfo.sub, result.claims.sub);
    assert.equal(result.userinfo.email, `${state.username}@seed.invalid`);
    await checkA11y(page, 'spa: logged in');
  });

  step('3. a logout form POSTed from the application\'s site: kapu (its cookie is SameSite=Lax) asks by GET, then logs out', async () => {
    const { page, kapu, app } = state;
    await page.goto(`${app.origin}/logout`);
    await button(page, 'Kijelentkezés').click();
    // No id_token_hint: the citizen is asked, which needs their session, so
    // the question itself shows the session reached kapu.
    await page.waitForURL((u) => u.origin === kapu.url && u.pathname === '/logout/oidc', { timeout: 15_000 });
    assert.match(await page.locator('body').innerText(), /Kijelentkezik a\(z\) „Önkormányzati ügyintézés” szolgáltatásból és az Ügyfélkapuból\?/);
    await checkA11y(page, 'spa: logout question');
    await page.getByRole('main').getByRole('button', { name: 'Kijelentkezés az Ügyfélkapuból' }).click();
    // Back at the application (the URL as it arrived: the application goes
    // on at once to a new login).
    let back = null;
    await page.waitForURL((u) => { if (u.origin === app.origin) back = u; return back !== null; }, { timeout: 15_000 });
    assert.equal(back.searchParams.get('state'), 'bye');
    // Logged out at kapu: the application's new login is asked for the password.
    await page.waitForURL((u) => u.origin === kapu.url && u.pathname === '/login', { timeout: 15_000 });
    await waitForText(h1(page), /^\s*azonosítás\s*$/i);
    assert.doesNotMatch(await page.locator('body').innerText(), /bejelentkezve:/i, 'no longer logged in at kapu');
  });

  step('4. the same application from an unregistered origin cannot read kapu at all', async () => {
    const { page, other } = state;
    await page.goto(`${other.origin}/`);
    const result = await appResult(page);
    assert.equal(result.step, 'error', JSON.stringify(result));
    assert.match(result.error, /fetch/i, 'the discovery request failed in the browser');
    // What the page reported is expected here, and only that: Chromium's
    // CORS refusal of the discovery request.
    const problems = page.problems.splice(0);
    assert.ok(problems.some((e) => /blocked by CORS policy: No 'Access-Control-Allow-Origin'/.test(e)), `the browser blamed CORS: ${problems.join('\n')}`);
    for (const p of problems) assert.match(p, /openid-configuration/, `only the discovery request failed: ${p}`);
  });
});
