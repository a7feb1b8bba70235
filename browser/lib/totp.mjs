// TOTP (RFC 6238 over RFC 4226 HOTP, SHA-1, 30 s, 6 digits), as an
// authenticator app computes it, for tests that log in with a code.
// The same functions as in tests/two-step.test.mjs, in a library so that
// other test files can import them without also running that file's tests.

import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const TOTP_PERIOD_S = 30;

/** RFC 4648 base32 (spaces, hyphens and padding ignored, case-insensitive) to bytes. */
export function base32Decode(text) {
  const clean = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  const out = [];
  let value = 0;
  let bits = 0;
  for (const ch of clean) {
    const i = BASE32.indexOf(ch);
    if (i < 0) throw new Error(`not a base32 character: ${JSON.stringify(ch)} in ${JSON.stringify(text)}`);
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP with HMAC-SHA1: dynamic truncation, `digits` decimal digits. */
export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The RFC 6238 time step of `timeMs`: floor(unix seconds / 30). */
export const totpStep = (timeMs = Date.now()) => Math.floor(timeMs / 1000 / TOTP_PERIOD_S);

/** RFC 6238 TOTP (SHA-1, 30 s): `key` is base32 text or bytes. */
export function totp(key, { timeMs = Date.now(), digits = 6 } = {}) {
  return hotp(typeof key === 'string' ? base32Decode(key) : key, totpStep(timeMs), digits);
}

/** Milliseconds left in the current time step. */
export const msLeftInStep = (timeMs = Date.now()) => (totpStep(timeMs) + 1) * TOTP_PERIOD_S * 1000 - timeMs;

/**
 * The current code once the time step is after `afterStep` (a code already
 * used: the server accepts a code once only) and at least `minLeftMs` remain
 * in it: waits for the next step when needed, as a person would.
 * @returns {Promise<{ step: number, code: string, leftMs: number }>}
 */
export async function freshCode(key, { afterStep = -Infinity, minLeftMs = 3_000, note = () => {} } = {}) {
  for (;;) {
    const now = Date.now();
    const step = totpStep(now);
    const left = msLeftInStep(now);
    if (step > afterStep && left >= minLeftMs) return { step, code: totp(key, { timeMs: now }), leftMs: left };
    const waitMs = (step > afterStep ? left : (afterStep + 1) * TOTP_PERIOD_S * 1000 - now) + 100;
    note(`waiting ${(waitMs / 1000).toFixed(1)} s for the next time step (step ${step}, ${(left / 1000).toFixed(1)} s left, last used ${afterStep})`);
    await sleep(Math.max(waitMs, 100));
  }
}
