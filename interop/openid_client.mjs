// A relying party built on panva's openid-client (the certified Node.js
// library), with its defaults, driven by crates/cli/tests/interop.rs over
// JSON lines on stdin/stdout; the test plays the citizen's browser.
//
//   → {"event":"ready","backchannel_uri":…,"jwks":…}     (jwks: for private_key_jwt)
//   ← {"issuer":…,"client_id":…,"client_secret":…,"auth_method":…,"redirect_uri":…,"post_logout_redirect_uri":…,"scope":…}
//   → {"event":"authorize","url":…}
//   ← {"callback":…}                                      (where kapu sent the browser)
//   → {"event":"logged_in","id_token_claims":…,"userinfo":…}
//   → {"event":"logout","url":…}
//   ← {"logged_out":…}
//   → {"event":"backchannel","claims":…}                  (the logout token, verified)
//   → {"event":"done"}

import http from 'node:http';
import readline from 'node:readline';
import * as client from 'openid-client';
import * as jose from 'jose';

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const hear = async () => JSON.parse((await lines.next()).value);

// Back-channel logout endpoint: the first logout token POSTed to it.
let logoutToken;
const gotLogout = new Promise((resolve) => {
  logoutToken = resolve;
});
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    logoutToken(new URLSearchParams(body).get('logout_token'));
    res.writeHead(200, { 'cache-control': 'no-store' }).end();
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const publicJwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: 'openid-client-1', alg: 'ES256', use: 'sig' };
delete publicJwk.key_ops;
delete publicJwk.ext;
say({ event: 'ready', backchannel_uri: `http://127.0.0.1:${server.address().port}/logout`, jwks: { keys: [publicJwk] } });

const reg = await hear();
const auth = {
  client_secret_basic: () => client.ClientSecretBasic(reg.client_secret),
  client_secret_post: () => client.ClientSecretPost(reg.client_secret),
  private_key_jwt: () => client.PrivateKeyJwt({ key: privateKey, kid: 'openid-client-1' }),
  none: () => client.None(),
}[reg.auth_method]();
// kapu runs on plain http in the test: the one setting that says so.
const config = await client.discovery(new URL(reg.issuer), reg.client_id, undefined, auth, {
  execute: [client.allowInsecureRequests],
});

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: reg.redirect_uri,
  scope: reg.scope ?? 'openid profile email',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});
say({ event: 'authorize', url: url.href });

const { callback } = await hear();
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
say({ event: 'logged_in', id_token_claims: claims, userinfo });

const end = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: reg.post_logout_redirect_uri,
  state: 'kijelentkezve',
});
say({ event: 'logout', url: end.href });
await hear();

const token = await Promise.race([gotLogout, new Promise((_, no) => setTimeout(() => no(new Error('no logout token in 15 s')), 15000))]);
const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri), { [jose.customFetch]: fetch });
const { payload } = await jose.jwtVerify(token, jwks, { issuer: reg.issuer, audience: reg.client_id, typ: 'logout+jwt' });
say({ event: 'backchannel', claims: payload });
say({ event: 'done' });
server.close();
process.exit(0);
