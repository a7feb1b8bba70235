// privacyIDEA: enrol TOTP tokens (known keys, no PIN) for the users of the
// passwd-file resolver, then load POST /validate/check with a correct code that
// has not been used yet (privacyIDEA refuses a replayed code): every check goes
// to a user whose code for the current 30 s step is still unused.
//
// MODE=enrol: env PORT, USERS_FILE (one username a line), ADMIN_USER,
//   ADMIN_PASS, ENROL_CONC, KEYS_FILE (written: "user hexkey" a line).
// MODE=check: env PORT, KEYS_FILE, CONC, WARM_S, SECONDS, WORKERS and DB (for
//   the note).
// stdout: {"figures":[...]} or {"error":"..."}; progress on stderr.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { checkPhase, emit, env, figure, form, log, main, makeClient, num, phase } from './lib.mjs';

const PORT = num('PORT', 18101);
const CONC = num('CONC', 4);
const ENROL_CONC = num('ENROL_CONC', 4);
const WARM_S = num('WARM_S', 3);
const SECONDS = num('SECONDS', 15);
const STEP = 30;

function totp(key, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[19] & 0xf;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1e6).padStart(6, '0');
}

async function json(c, method, path, opts) {
  const r = await c.req(method, path, opts);
  let j;
  try {
    j = JSON.parse(r.body);
  } catch {
    throw new Error(`${method} ${path}: HTTP ${r.status}, not JSON: ${r.body.slice(0, 120)}`);
  }
  if (r.status !== 200 || !j.result || j.result.status !== true) {
    throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(j.result || j).slice(0, 200)}`);
  }
  return j;
}

// Enrol one TOTP token (key known to us, no PIN) per user of USERS_FILE through
// the admin API; write "user hexkey" lines to KEYS_FILE.
async function enrol(c) {
  const users = readFileSync(env('USERS_FILE'), 'utf8').split('\n').filter(Boolean);
  const auth = await json(c, 'POST', '/auth', { body: form({ username: env('ADMIN_USER', 'admin'), password: env('ADMIN_PASS') }) });
  const A = { authorization: auth.result.value.token };
  // New tokens get this fail counter limit, so that load never locks one.
  await json(c, 'POST', '/system/setConfig', {
    headers: { ...A, 'content-type': 'application/json' },
    body: JSON.stringify({ DefaultMaxFailCount: '1000000' }),
  });
  const keys = users.map(() => randomBytes(20));
  const en = await phase({
    name: 'enrol (not timed)',
    seconds: num('ENROL_MAX_S', 600),
    maxN: users.length,
    conc: ENROL_CONC,
    fn: async (i) => {
      const j = await json(c, 'POST', '/token/init', {
        headers: A,
        body: form({ type: 'totp', otpkey: keys[i].toString('hex'), genkey: '0', otplen: '6', hashlib: 'sha1', timeStep: '30', user: users[i], realm: env('REALM', 'realm1') }),
      });
      if (!j.detail || !j.detail.serial) throw new Error('no serial for ' + users[i]);
    },
  });
  if (en.ok !== users.length) throw new Error(`enrolled ${en.ok} of ${users.length} users: ${en.errors[0] || 'time limit'}`);
  const tk = await json(c, 'GET', '/token/?' + form({ user: users[0] }), { headers: A });
  const maxfail = tk.result.value.tokens[0].maxfail;
  log(`enrolled ${users.length} users; max_failcount of a token: ${maxfail}`);
  if (Number(maxfail) < 1000) throw new Error(`max_failcount stayed at ${maxfail}`);
  writeFileSync(env('KEYS_FILE'), users.map((u, i) => `${u} ${keys[i].toString('hex')}\n`).join(''), { mode: 0o600 });
  c.close();
  emit([]);
}

await main(async () => {
  const c = makeClient({ port: PORT });
  if (env('MODE', 'check') === 'enrol') {
    await enrol(c);
    return;
  }
  // KEYS_FILE: "user hexkey" a line, written by the enrol mode.
  const rows = readFileSync(env('KEYS_FILE'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
  const users = rows.map((r) => r[0]);
  const keys = rows.map((r) => Buffer.from(r[1], 'hex'));
  if (!users.length) throw new Error('no users in ' + env('KEYS_FILE'));

  // Each check takes the next user whose code for the current step is unused.
  const last = new Int32Array(users.length).fill(-1);
  let cursor = 0;
  const starvedSteps = new Set();
  async function pick() {
    for (;;) {
      const now = Date.now() / 1000;
      const step = Math.floor(now / STEP);
      for (let k = 0; k < users.length; k++) {
        const u = cursor;
        cursor = (cursor + 1) % users.length;
        if (last[u] < step) {
          last[u] = step;
          return { u, code: totp(keys[u], step) };
        }
      }
      // Every user's current code is spent: wait for the next step.
      const wait = ((step + 1) * STEP - now) * 1000 + 5;
      starvedSteps.add(step);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  const check = async () => {
    const { u, code } = await pick();
    const r = await c.req('POST', '/validate/check', { body: form({ user: users[u], pass: code }) });
    let j;
    try {
      j = JSON.parse(r.body);
    } catch {
      throw new Error(`HTTP ${r.status}, not JSON`);
    }
    if (r.status !== 200 || !j.result || j.result.value !== true) {
      throw new Error(`HTTP ${r.status} value=${j.result && j.result.value} ${(j.detail && j.detail.message) || ''}`.trim());
    }
  };

  const warm = await phase({ name: 'validate_check warm-up', seconds: WARM_S, conc: CONC, fn: check });
  checkPhase(warm, { minOk: 1, maxFailFrac: 0.05 });
  starvedSteps.clear();
  const ph = await phase({ name: 'validate_check', seconds: SECONDS, conc: CONC, fn: check });
  checkPhase(ph, { minOk: 10, maxFailFrac: 0.05 });
  if (starvedSteps.size) {
    throw new Error(`all ${users.length} users' codes were spent before a 30 s step ended, so the rate is capped by the user pool: enrol more users (KAPU_PEER_USERS)`);
  }
  c.close();
  const workers = env('WORKERS', '?');
  const note =
    `POST /validate/check, correct fresh TOTP code, no PIN; ${users.length} users (passwd-file resolver), ` +
    `each code used once; gunicorn ${workers} sync worker(s) on core 0, ${env('DB', 'SQLite')}, audit log on (signed); ` +
    `load ${CONC} concurrent keep-alive clients on core 1 for ${SECONDS} s after ${WARM_S} s warm-up; ` +
    `only "value": true counted; failures ${ph.failed}`;
  emit([figure('validate_check_per_s', ph, CONC, note)]);
});
