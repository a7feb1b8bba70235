// backup.js: our backup format, shared with `kapu otp export/import`: the
// plain JSON, the passphrase-encrypted file of the terminal authenticator
// (scrypt + AES-256-GCM, docs/authenticator.md), and the restore rule.

const MAX_BACKUP_BYTES = 5 * 1024 * 1024;
const ENCRYPTED_FORMAT = 'kapu-authenticator-encrypted';

function entry(a) {
  return {
    issuer: a.issuer, account: a.account, secret: a.secret, type: a.type, algorithm: a.algorithm,
    digits: a.digits, period: a.period, counter: a.counter, color: a.color,
  };
}

const exportObject = (accounts) => ({ format: FORMAT, version: VERSION, accounts: accounts.map(entry) });

/**
 * One account of a backup, read as `kapu otp import` reads it: lenient where it is safe (missing fields take
 * the otpauth defaults, unknown fields are ignored), strict where a guess would give wrong codes.
 */
function importEntry(e, n) {
  const bad = (field, detail = new UserError('errRestoreField')) => new UserError('errRestoreEntry', { n, field, detail });
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad('-');
  const text = (field) => {
    const v = e[field] ?? '';
    if (typeof v !== 'string') throw bad(field);
    try { return checkName(v); } catch (err) { throw bad(field, err); }
  };
  const issuer = text('issuer');
  const account = text('account');
  if (typeof e.secret !== 'string') throw bad('secret');
  let secret;
  try { secret = canonicalSecret(e.secret); } catch (err) { throw bad('secret', err); }
  const type = typeof e.type === 'string' ? e.type.toLowerCase() : e.type ?? 'totp';
  if (type !== 'totp' && type !== 'hotp') throw bad('type');
  let algorithm;
  try { algorithm = parseAlgorithm(e.algorithm ?? 'SHA1'); } catch (err) { throw bad('algorithm', err); }
  const digits = e.digits ?? 6;
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw bad('digits');
  const period = e.period ?? 30;
  if (!Number.isInteger(period) || period < 1 || period > MAX_PERIOD) throw bad('period');
  const counter = e.counter ?? 0;
  if (!Number.isSafeInteger(counter) || counter < 0) throw bad('counter');
  // An unknown colour is cosmetic: keep the account, make it blue (as `kapu otp import` does).
  const color = COLORS.includes(e.color) ? e.color : 'blue';
  return { issuer, account, secret, type, algorithm, digits, period, counter, color };
}

/** The backup's name for entry `e`, for messages (never trusted as HTML: shown with textContent). */
function entryName(e) {
  const issuer = typeof e?.issuer === 'string' ? e.issuer : '';
  const account = typeof e?.account === 'string' ? e.account : '';
  return issuer && account ? `${issuer}:${account}` : issuer || account || '?';
}

/**
 * A plain backup: its accounts, and the entries that cannot be used (each with why). Only a file that is not a
 * backup at all is an error: one bad entry does not stop the others (as `kapu otp import`).
 */
function parseBackup(text) {
  let data;
  try { data = JSON.parse(text); } catch { throw new UserError('errRestoreJson'); }
  return parseBackupValue(data);
}

function parseBackupValue(data) {
  if (data === null || typeof data !== 'object' || data.format !== FORMAT) throw new UserError('errRestoreFormat');
  if (data.version !== VERSION) throw new UserError('errRestoreVersion', { v: JSON.stringify(data.version) ?? '' });
  if (!Array.isArray(data.accounts)) throw new UserError('errRestoreAccounts');
  const accounts = [];
  const skipped = [];
  data.accounts.forEach((e, i) => {
    try { accounts.push(importEntry(e, i + 1)); } catch (err) { skipped.push({ n: i + 1, name: entryName(e), error: err }); }
  });
  return { accounts, skipped };
}

/**
 * The restore rule of `kapu otp import` (authenticator::merge): matched by what makes the codes (key, type,
 * algorithm, digits, period), each existing account at most once and a namesake first; a match takes the
 * backup's names and colour (and the larger HOTP counter), a missing one is added, nothing is deleted. Changes
 * `accounts` in place and says what it did.
 */
function mergeBackup(accounts, incoming) {
  const before = accounts.length;
  const taken = new Array(before).fill(false);
  const counts = { renamed: 0, added: 0, unchanged: 0, apart: [] };
  for (const b of incoming) {
    const free = (i) => !taken[i] && sameCodes(accounts[i], b);
    const indices = [...Array(before).keys()];
    const i = indices.find((j) => free(j) && accounts[j].issuer === b.issuer && accounts[j].account === b.account)
      ?? indices.find(free);
    if (i === undefined) {
      if (accounts.slice(0, before).some((a) => a.secret === b.secret)) counts.apart.push(b);
      accounts.push({ ...b });
      counts.added += 1;
      continue;
    }
    taken[i] = true;
    const a = accounts[i];
    if (a.type === 'hotp') a.counter = Math.max(a.counter, b.counter);
    if (a.issuer !== b.issuer || a.account !== b.account || a.color !== b.color) {
      Object.assign(a, { issuer: b.issuer, account: b.account, color: b.color });
      counts.renamed += 1;
    } else {
      counts.unchanged += 1;
    }
  }
  return counts;
}

// ---------------------------------------------------------------------
// base64, and scrypt (RFC 7914) over WebCrypto's PBKDF2-HMAC-SHA256
// ---------------------------------------------------------------------
function base64Decode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new UserError('errRestoreFormat');
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function base64Encode(bytes) {
  let raw = '';
  for (let i = 0; i < bytes.length; i += 0x8000) raw += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(raw);
}

async function pbkdf2Sha256(password, salt, iterations, length) {
  const key = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, length * 8));
}

function salsa20_8(b) {
  const x = b.slice();
  const r = (a, n) => (a << n) | (a >>> (32 - n));
  for (let i = 0; i < 8; i += 2) {
    x[4] ^= r(x[0] + x[12], 7); x[8] ^= r(x[4] + x[0], 9); x[12] ^= r(x[8] + x[4], 13); x[0] ^= r(x[12] + x[8], 18);
    x[9] ^= r(x[5] + x[1], 7); x[13] ^= r(x[9] + x[5], 9); x[1] ^= r(x[13] + x[9], 13); x[5] ^= r(x[1] + x[13], 18);
    x[14] ^= r(x[10] + x[6], 7); x[2] ^= r(x[14] + x[10], 9); x[6] ^= r(x[2] + x[14], 13); x[10] ^= r(x[6] + x[2], 18);
    x[3] ^= r(x[15] + x[11], 7); x[7] ^= r(x[3] + x[15], 9); x[11] ^= r(x[7] + x[3], 13); x[15] ^= r(x[11] + x[7], 18);
    x[1] ^= r(x[0] + x[3], 7); x[2] ^= r(x[1] + x[0], 9); x[3] ^= r(x[2] + x[1], 13); x[0] ^= r(x[3] + x[2], 18);
    x[6] ^= r(x[5] + x[4], 7); x[7] ^= r(x[6] + x[5], 9); x[4] ^= r(x[7] + x[6], 13); x[5] ^= r(x[4] + x[7], 18);
    x[11] ^= r(x[10] + x[9], 7); x[8] ^= r(x[11] + x[10], 9); x[9] ^= r(x[8] + x[11], 13); x[10] ^= r(x[9] + x[8], 18);
    x[12] ^= r(x[15] + x[14], 7); x[13] ^= r(x[12] + x[15], 9); x[14] ^= r(x[13] + x[12], 13); x[15] ^= r(x[14] + x[13], 18);
  }
  for (let i = 0; i < 16; i++) b[i] = (b[i] + x[i]) | 0;
}

/** scrypt's BlockMix over `b` (2r blocks of 16 words), using `y` as scratch. */
function blockMix(b, y, r) {
  const x = b.slice((2 * r - 1) * 16, 2 * r * 16);
  for (let i = 0; i < 2 * r; i++) {
    for (let j = 0; j < 16; j++) x[j] ^= b[i * 16 + j];
    salsa20_8(x);
    y.set(x, i * 16);
  }
  for (let i = 0; i < r; i++) {
    b.set(y.subarray(2 * i * 16, 2 * i * 16 + 16), i * 16);
    b.set(y.subarray((2 * i + 1) * 16, (2 * i + 1) * 16 + 16), (r + i) * 16);
  }
}

/** scrypt(password, salt, N = 2^logN, r, p) → `length` bytes (RFC 7914). */
async function scrypt(password, salt, logN, r, p, length) {
  const n = 2 ** logN;
  const words = 32 * r;
  const b = await pbkdf2Sha256(password, salt, 1, p * 128 * r);
  const view = new DataView(b.buffer);
  const v = new Uint32Array(words * n);
  const x = new Uint32Array(words);
  const y = new Uint32Array(words);
  for (let block = 0; block < p; block++) {
    for (let i = 0; i < words; i++) x[i] = view.getUint32(block * 128 * r + i * 4, true);
    for (let i = 0; i < n; i++) {
      v.set(x, i * words);
      blockMix(x, y, r);
    }
    for (let i = 0; i < n; i++) {
      const j = x[(2 * r - 1) * 16] & (n - 1);
      for (let k = 0; k < words; k++) x[k] ^= v[j * words + k];
      blockMix(x, y, r);
    }
    for (let i = 0; i < words; i++) view.setUint32(block * 128 * r + i * 4, x[i], true);
  }
  return pbkdf2Sha256(password, b, 1, length);
}

/** Whether `data` (parsed JSON) is the terminal's encrypted file. */
const isEncryptedBackup = (data) => data !== null && typeof data === 'object' && data.format === ENCRYPTED_FORMAT;

/**
 * Opens `kapu otp export --encrypted` (or a copy of the vault): dk = scrypt(passphrase, salt, N, r, p, 64);
 * dk[32..64] must equal key_check; AES-256-GCM with key dk[0..32] gives the plain backup.
 */
async function openEncryptedBackup(data, passphrase) {
  if (data.version !== 1) throw new UserError('errRestoreVersion', { v: JSON.stringify(data.version) ?? '' });
  const kdf = data.kdf ?? {};
  const { log_n: logN, r, p } = kdf;
  if (kdf.name !== 'scrypt' || data.cipher !== 'AES-256-GCM') throw new UserError('errRestoreParams');
  // The same bounds as envelope::KdfParams: a hostile file cannot make us allocate gigabytes.
  if (![logN, r, p].every(Number.isInteger) || logN < 10 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 16
    || 128 * r * 2 ** logN > 2 ** 30) throw new UserError('errRestoreParams');
  const salt = base64Decode(kdf.salt);
  const check = base64Decode(data.key_check);
  const iv = base64Decode(data.nonce);
  const ciphertext = base64Decode(data.ciphertext);
  if (salt.length !== 32 || check.length !== 32 || iv.length !== 12 || ciphertext.length < 16) throw new UserError('errRestoreFormat');
  const dk = await scrypt(new TextEncoder().encode(passphrase), salt, logN, r, p, 64);
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= dk[32 + i] ^ check[i];
  if (diff !== 0) throw new UserError('errRestoreWrongPass');
  const key = await crypto.subtle.importKey('raw', dk.subarray(0, 32), 'AES-GCM', false, ['decrypt']);
  dk.fill(0);
  let plain;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ciphertext);
  } catch {
    throw new UserError('errRestoreDamaged');
  }
  let value;
  try { value = JSON.parse(new TextDecoder().decode(plain)); } catch { throw new UserError('errRestoreDamaged'); }
  return parseBackupValue(value);
}
