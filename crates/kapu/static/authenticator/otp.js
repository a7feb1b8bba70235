// otp.js: the one-time-password core of the browser authenticator, the same
// rules as the Rust crate `otp`: RFC 4648 base32 (as lenient and as strict as
// otp::base32), names, parameters, otpauth:// URIs (Key Uri Format, TOTP and
// HOTP), and the codes of RFC 4226/6238 with WebCrypto's HMAC. Checked against
// crates/otp/tests/vectors.json, which the Rust tests read too.

const FORMAT = 'kapu-authenticator';
const VERSION = 1;
const COLORS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'grey'];
const HASHES = { SHA1: 'SHA-1', SHA256: 'SHA-256', SHA512: 'SHA-512' };
const LOW_SECONDS = 7;
const MAX_PERIOD = 999_999_999;
const MAX_NAME = 200;

/** An error to show to the user: an I18N key and its parameters. */
class UserError extends Error {
  constructor(key, params = {}, field = null) {
    super(key);
    this.key = key;
    this.params = params;
    this.field = field;
  }
}

// RFC 4648 base32, as lenient and as strict as the Rust core (otp::base32)
// ---------------------------------------------------------------------
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text) {
  const values = [];
  const positions = [];
  let padding = 0;
  let position = 0;
  for (const ch of text) {
    position += 1;
    if (ch === ' ' || ch === '\t') continue;
    if (ch === '=') { padding += 1; continue; }
    const upper = /^[a-z]$/.test(ch) ? ch.toUpperCase() : ch;
    const value = ALPHABET.indexOf(upper);
    if (value < 0 || upper.length !== 1) {
      const hint = ch === '0' ? 'hint0' : ch === '1' ? 'hint1' : ch === '8' ? 'hint8' : null;
      throw new UserError('errB32Char', { pos: position, ch, hint: hint ? new UserError(hint) : '' });
    }
    if (padding > 0) throw new UserError('errB32AfterPad', { pos: position, ch });
    values.push(value);
    positions.push([position, ch]);
  }
  const n = values.length;
  if (n === 0) throw new UserError('errB32Empty');
  if ([1, 3, 6].includes(n % 8)) throw new UserError('errB32Length', { n });
  const expected = (8 - (n % 8)) % 8;
  if (padding !== 0 && padding !== expected) throw new UserError('errB32Padding', { expected, found: padding });
  const bytes = new Uint8Array(Math.floor((n * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const value of values) {
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[index++] = (buffer >> bits) & 0xff;
    }
  }
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) {
    const [pos, ch] = positions[n - 1];
    throw new UserError('errB32Trailing', { pos, ch });
  }
  return bytes;
}

function base32Encode(bytes) {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** The canonical form kept and exported: upper case, no spaces or padding. */
const canonicalSecret = (text) => base32Encode(base32Decode(text));

// ---------------------------------------------------------------------
// Names, parameters
// ---------------------------------------------------------------------
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function checkName(name) {
  if (name.length > MAX_NAME) throw new UserError('errNameTooLong');
  if (FORBIDDEN.test(name)) throw new UserError('errNameForbidden');
  return name;
}

function parseAlgorithm(text) {
  const upper = String(text).toUpperCase();
  if (!Object.hasOwn(HASHES, upper)) throw new UserError('errAlgorithm', { v: text });
  return upper;
}

const decimal = (text) => (/^[0-9]{1,9}$/.test(text) ? Number(text) : NaN);

function parseDigits(text) {
  const d = decimal(String(text));
  if (!(d >= 6 && d <= 8)) throw new UserError('errDigits', { v: text });
  return d;
}

function parseCounter(text) {
  if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UserError('errUriCounterValue', { v: text });
  return Number(text);
}

function parsePeriod(text) {
  const p = decimal(String(text));
  if (!(p >= 1 && p <= MAX_PERIOD)) throw new UserError('errPeriod', { v: text });
  return p;
}

const displayName = (a) => (a.issuer && a.account ? `${a.issuer} (${a.account})` : a.issuer || a.account);

// ---------------------------------------------------------------------
// otpauth:// URIs (Key Uri Format), the same rules as otp::uri
// ---------------------------------------------------------------------
function decodeComponent(raw, plusIsSpace, part) {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new UserError('errUriEncoding', { v: part });
  try {
    return decodeURIComponent(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    throw new UserError('errUriEncoding', { v: part });
  }
}

function parseOtpauth(input) {
  const uri = input.trim();
  if (uri === '') throw new UserError('errUriEmpty');
  if (/^otpauth-migration:/i.test(uri)) throw new UserError('errUriMigration');
  if (!/^otpauth:\/\//i.test(uri)) throw new UserError('errUriScheme');
  let rest = uri.slice('otpauth://'.length);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const path = q >= 0 ? rest.slice(0, q) : rest;
  const query = q >= 0 ? rest.slice(q + 1) : '';
  const slash = path.indexOf('/');
  const kind = (slash >= 0 ? path.slice(0, slash) : path).toLowerCase();
  const rawLabel = slash >= 0 ? path.slice(slash + 1) : '';

  const params = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq >= 0 ? pair.slice(0, eq) : pair).toLowerCase();
    if (!['secret', 'issuer', 'algorithm', 'digits', 'period', 'counter'].includes(key)) continue;
    if (Object.hasOwn(params, key)) throw new UserError('errUriDuplicate', { v: key });
    params[key] = eq >= 0 ? pair.slice(eq + 1) : '';
  }

  if (kind !== 'totp' && kind !== 'hotp') throw new UserError('errUriType', { v: kind });
  // A period on an HOTP URI is ignored (as by otp::uri); HOTP needs its counter.
  const period = kind === 'totp' && params.period !== undefined ? parsePeriod(decodeComponent(params.period, true, 'period')) : 30;
  let counter = 0;
  if (kind === 'hotp') {
    if (params.counter === undefined) throw new UserError('errUriCounter');
    counter = parseCounter(decodeComponent(params.counter, true, 'counter'));
  }

  const label = decodeComponent(rawLabel, false, 'label');
  const colon = label.indexOf(':');
  const labelIssuer = colon >= 0 ? label.slice(0, colon) : '';
  const account = (colon >= 0 ? label.slice(colon + 1) : label).replace(/^ +/, '');
  if (account === '') throw new UserError('errUriNoAccount');
  const paramIssuer = params.issuer === undefined ? '' : decodeComponent(params.issuer, true, 'issuer');
  const issuer = paramIssuer || labelIssuer;
  for (const name of [account, issuer]) {
    try { checkName(name); } catch (e) { throw new UserError('errUriName', { detail: e }); }
  }

  if (params.secret === undefined) throw new UserError('errUriNoSecret');
  let secret;
  try {
    secret = canonicalSecret(decodeComponent(params.secret, true, 'secret'));
  } catch (e) {
    if (e instanceof UserError && e.key === 'errB32Empty') throw new UserError('errUriNoSecret');
    throw e instanceof UserError && e.key.startsWith('errB32') ? new UserError('errUriSecret', { detail: e }) : e;
  }
  const algorithm = params.algorithm === undefined ? 'SHA1' : parseAlgorithm(decodeComponent(params.algorithm, true, 'algorithm'));
  const digits = params.digits === undefined ? 6 : parseDigits(decodeComponent(params.digits, true, 'digits'));
  return { issuer, account, secret, type: kind, algorithm, digits, period, counter };
}

// ---------------------------------------------------------------------

// ---------------------------------------------------------------------
// HOTP (RFC 4226) and TOTP (RFC 6238) with WebCrypto
// ---------------------------------------------------------------------
const hmacKeys = new Map();

function hmacKey(a) {
  const id = `${a.algorithm}:${a.secret}`;
  if (!hmacKeys.has(id)) {
    hmacKeys.set(id, crypto.subtle.importKey('raw', base32Decode(a.secret), { name: 'HMAC', hash: HASHES[a.algorithm] }, false, ['sign']));
  }
  return hmacKeys.get(id);
}

/** The code of counter value `counter` (a TOTP step or an HOTP counter). */
async function computeCode(a, counter) {
  const message = new DataView(new ArrayBuffer(8));
  message.setUint32(0, Math.floor(counter / 2 ** 32));
  message.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(a), message.buffer));
  const offset = mac[mac.length - 1] & 0x0f;
  const value = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(value % 10 ** a.digits).padStart(a.digits, '0');
}

/** The TOTP code at Unix time `seconds`. */
const totpAt = (a, seconds) => computeCode(a, Math.floor(seconds / a.period));

const grouped = (code) => (code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : `${code.slice(0, 4)} ${code.slice(4)}`);

/** Whether two accounts make the same codes (as Account::same_codes_as). */
const sameCodes = (a, b) => a.secret === b.secret && a.type === b.type && a.algorithm === b.algorithm
  && a.digits === b.digits && (a.type === 'hotp' || a.period === b.period);
