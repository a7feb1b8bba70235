// LemonLDAP::NG: the flow of shared/peers/lemonldap-flow.mjs, timed whole:
// login form, login POST (Demo backend, dwho/dwho), OIDC authorize (consent
// bypassed), token (RS256 ID token). node:http, since the portal needs the
// Host header of its configured URL.
//
// env: PORT, HOST_HEADER (auth.example.com:PORT), CONC, WARM_S, SECONDS, FCGI_PROCS (for the note)
// stdout: {"figures":[...]} or {"error":"..."}; progress on stderr.
import { checkPhase, cookieJar, emit, env, figure, form, log, main, makeClient, num, phase } from './lib.mjs';

const PORT = num('PORT', 18103);
const CONC = num('CONC', 8);
const WARM_S = num('WARM_S', 5);
const SECONDS = num('SECONDS', 15);
const REDIRECT = 'http://127.0.0.1:9999/cb';
const BASIC = 'Basic ' + Buffer.from('rp1:rp1-secret-0123456789').toString('base64');

const c = makeClient({ port: PORT, hostHeader: env('HOST_HEADER', `auth.example.com:${PORT}`) });

async function oneFlow() {
  const jar = cookieJar();
  let r = await c.req('GET', '/', { headers: { cookie: jar.header() } });
  jar.take(r);
  const m = /name="token" value="([^"]+)"/.exec(r.body);
  if (r.status !== 200 || !m) throw new Error(`login form: HTTP ${r.status}, no form token`);
  r = await c.req('POST', '/', { headers: { cookie: jar.header(), accept: 'application/json' }, body: form({ token: m[1], user: 'dwho', password: 'dwho' }) });
  jar.take(r);
  let lj;
  try {
    lj = JSON.parse(r.body);
  } catch {
    throw new Error(`login: HTTP ${r.status}, not JSON`);
  }
  if (lj.result !== 1) throw new Error('login refused: ' + r.body.slice(0, 120));
  const q = form({ response_type: 'code', client_id: 'rp1', scope: 'openid profile email', redirect_uri: REDIRECT, state: 's', nonce: 'n' });
  r = await c.req('GET', '/oauth2/authorize?' + q, { headers: { cookie: jar.header() } });
  const loc = r.headers.location || '';
  if (!loc.startsWith(REDIRECT)) throw new Error(`authorize: HTTP ${r.status} ${loc.slice(0, 100)}`);
  const code = new URL(loc).searchParams.get('code');
  if (!code) throw new Error('authorize: no code in ' + loc.slice(0, 100));
  r = await c.req('POST', '/oauth2/token', { headers: { authorization: BASIC }, body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }) });
  let j;
  try {
    j = JSON.parse(r.body);
  } catch {
    throw new Error(`token: HTTP ${r.status}, not JSON`);
  }
  if (r.status !== 200 || !j.id_token) throw new Error(`token: HTTP ${r.status} ${r.body.slice(0, 120)}`);
  return j.id_token;
}

await main(async () => {
  const idt = await oneFlow();
  const hdr = JSON.parse(Buffer.from(idt.split('.')[0], 'base64url').toString());
  log('id_token header:', JSON.stringify(hdr));
  if (hdr.alg !== 'RS256') throw new Error('ID token alg is ' + hdr.alg + ', not RS256');
  checkPhase(await phase({ name: 'login + OIDC flow warm-up', seconds: WARM_S, conc: CONC, fn: oneFlow }), { minOk: 1 });
  const ph = await phase({ name: 'login + OIDC flow', seconds: SECONDS, conc: CONC, fn: oneFlow });
  // Seen: now and then a login POST answers PE_TOKENEXPIRED (82) for a form
  // token made a moment before (its token cache is shared by the FastCGI
  // processes); counted as a failure and named in the note.
  checkPhase(ph, { maxFailFrac: 0.02 });
  c.close();
  emit([
    figure(
      'login_oidc_flow_per_s',
      ph,
      CONC,
      `flows/s of login form + login POST (Demo backend: no password hashing) + OIDC authorize (consent bypassed) + token with an RS256 ID token (LL::NG 2.16 signs ID tokens with RSA only; no ES256), 4 HTTP requests each, no TOTP step; ` +
        `nginx (1 worker) + llng-fastcgi-server (${env('FCGI_PROCS', '?')} processes) on core 0, sessions in files; ` +
        `load ${CONC} concurrent keep-alive clients on core 1 for ${SECONDS} s after ${WARM_S} s warm-up; failures ${ph.failed}`,
      'flows/s',
    ),
  ]);
});
