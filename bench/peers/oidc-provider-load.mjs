// node-oidc-provider: the authorization-code + PKCE flow of
// shared/peers/oidc-provider-flow.mjs (authorize -> dev login -> consent ->
// token, ES256 ID token), timed whole; then the token exchange alone: codes
// are collected with flows first (not timed) and exchanged concurrently.
//
// env: PORT, CONC, WARM_S, SECONDS, CODES
// stdout: {"figures":[...]} or {"error":"..."}; progress on stderr.
import { createHash, randomBytes } from 'node:crypto';
import { checkPhase, cookieJar, emit, figure, form, log, main, makeClient, num, phase } from './lib.mjs';

const PORT = num('PORT', 18102);
const CONC = num('CONC', 16);
const WARM_S = num('WARM_S', 3);
const SECONDS = num('SECONDS', 15);
const CODES = num('CODES', 3000);
const REDIRECT = 'http://127.0.0.1:9999/cb';
const BASIC = 'Basic ' + Buffer.from('rp:rp-secret-0123456789').toString('base64');
const b64u = (b) => b.toString('base64url');

const c = makeClient({ port: PORT });
const pathOf = (loc) => {
  if (!loc) throw new Error('no redirect');
  const u = new URL(loc, `http://127.0.0.1:${PORT}`);
  return u.pathname + u.search;
};

// authorize -> login -> consent -> code (5 requests); returns the code and verifier.
async function toCode() {
  const jar = cookieJar();
  const go = async (method, path, body) => {
    const r = await c.req(method, path, { headers: { cookie: jar.header() }, body });
    jar.take(r);
    if (r.status !== 302 && r.status !== 303) throw new Error(`${method} ${path.split('?')[0]}: HTTP ${r.status} ${r.body.slice(0, 120)}`);
    return r;
  };
  const verifier = b64u(randomBytes(32));
  const challenge = b64u(createHash('sha256').update(verifier).digest());
  const q = form({ client_id: 'rp', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', state: b64u(randomBytes(8)), nonce: b64u(randomBytes(8)) });
  let r = await go('GET', '/auth?' + q); // -> /interaction/:uid (login)
  r = await go('POST', pathOf(r.headers.location), form({ prompt: 'login', login: 'user' + Math.floor(Math.random() * 1000), password: 'x' }));
  r = await go('GET', pathOf(r.headers.location)); // /auth/:uid -> consent interaction
  r = await go('POST', pathOf(r.headers.location), form({ prompt: 'consent' }));
  r = await go('GET', pathOf(r.headers.location)); // /auth/:uid -> redirect_uri?code=
  const loc = r.headers.location || '';
  if (!loc.startsWith(REDIRECT)) throw new Error('not redirected to the RP: ' + loc.slice(0, 120));
  const code = new URL(loc).searchParams.get('code');
  if (!code) throw new Error('no code: ' + loc.slice(0, 120));
  return { code, verifier };
}

// POST /token (1 request); returns the ID token.
async function exchange({ code, verifier }) {
  const r = await c.req('POST', '/token', {
    headers: { authorization: BASIC },
    body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
  });
  let j;
  try {
    j = JSON.parse(r.body);
  } catch {
    throw new Error(`token: HTTP ${r.status}, not JSON`);
  }
  if (r.status !== 200 || !j.id_token) throw new Error(`token: HTTP ${r.status} ${JSON.stringify(j).slice(0, 120)}`);
  return j.id_token;
}

const fullFlow = async () => exchange(await toCode());

await main(async () => {
  const idt = await fullFlow();
  const hdr = JSON.parse(Buffer.from(idt.split('.')[0], 'base64url').toString());
  log('id_token header:', JSON.stringify(hdr));
  if (hdr.alg !== 'ES256') throw new Error('ID token alg is ' + hdr.alg + ', not ES256');

  checkPhase(await phase({ name: 'full flow warm-up', seconds: WARM_S, conc: CONC, fn: fullFlow }), { minOk: 1 });
  const full = await phase({ name: 'full flow', seconds: SECONDS, conc: CONC, fn: fullFlow });
  checkPhase(full);

  // Codes live 60 s: collect for at most 25 s, then exchange them all at once.
  const codes = [];
  const col = await phase({ name: 'collect codes (not timed)', seconds: 25, maxN: CODES, conc: CONC, fn: async () => codes.push(await toCode()) });
  checkPhase(col, { minOk: 100 });
  const ex = await phase({ name: 'token exchange', seconds: 30, maxN: codes.length, conc: CONC, fn: (i) => exchange(codes[i]) });
  checkPhase(ex, { minOk: 100 });
  c.close();

  const common = `node-oidc-provider, in-memory store, 1 Node process on core 0; load ${CONC} concurrent keep-alive clients on core 1`;
  emit([
    figure(
      'full_flow_per_s',
      full,
      CONC,
      `flows/s of the whole code + PKCE flow, 6 HTTP requests each (authorize, dev login POST, authorize resume, consent POST, authorize resume, token), ES256 ID token; ` +
        `${common}, ${SECONDS} s after ${WARM_S} s warm-up; its dev login checks no password (no hashing); failures ${full.failed}`,
      'flows/s',
    ),
    figure(
      'token_exchange_per_s',
      ex,
      CONC,
      `POST /token authorization_code + PKCE with client_secret_basic, ES256 ID token + opaque access token; ${ex.ok} codes collected by flows first (not timed), then exchanged, only the exchanges timed; ` +
        `${common}; failures ${ex.failed}`,
    ),
  ]);
});
