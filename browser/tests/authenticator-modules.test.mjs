// The browser authenticator's modules (crates/kapu/static/authenticator/*.js)
// in Node, without a browser: the same files kapu concatenates into the page.
// HU/EN key parity; the test vectors the Rust otp crate reads too
// (crates/otp/tests/vectors.json); scrypt against RFC 7914; the terminal's
// real encrypted export (`kapu otp export --encrypted`) opened here; the
// restore rule.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { REPO_ROOT, kapuBin } from '../lib/harness.mjs';

const MODULES = join(REPO_ROOT, 'crates', 'kapu', 'static', 'authenticator');
const vectors = JSON.parse(readFileSync(join(REPO_ROOT, 'crates', 'otp', 'tests', 'vectors.json'), 'utf8'));

/** i18n, otp and backup in one strict function scope, as the page runs them (Node has WebCrypto, atob, btoa). */
function load() {
  const source = ['i18n.js', 'otp.js', 'backup.js'].map((f) => readFileSync(join(MODULES, f), 'utf8')).join('\n');
  // eslint-disable-next-line no-new-func
  return new Function(`'use strict';\n${source}\nreturn { I18N, UserError, base32Decode, canonicalSecret, parseOtpauth, computeCode,
    totpAt, parseBackup, mergeBackup, scrypt, isEncryptedBackup, openEncryptedBackup, exportObject };`)();
}

const m = load();
const hex = (bytes) => Buffer.from(bytes).toString('hex');

describe('browser authenticator modules', () => {
  it('compile together, in the order kapu concatenates them (web/authenticator.rs), in one strict scope', () => {
    const all = ['i18n.js', 'otp.js', 'backup.js', 'storage.js', 'ui.js'].map((f) => readFileSync(join(MODULES, f), 'utf8')).join('\n');
    // A name declared twice, or any syntax error, throws here.
    // eslint-disable-next-line no-new
    new vm.Script(`'use strict';\n(() => {\n${all}\n})();`);
  });

  it('has every text in Hungarian and English, with the same placeholders', () => {
    const hu = Object.keys(m.I18N.hu).sort();
    const en = Object.keys(m.I18N.en).sort();
    assert.deepEqual(hu.filter((k) => !en.includes(k)), [], 'Hungarian keys missing in English');
    assert.deepEqual(en.filter((k) => !hu.includes(k)), [], 'English keys missing in Hungarian');
    const holes = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort().join(',');
    for (const key of hu) assert.equal(holes(m.I18N.en[key]), holes(m.I18N.hu[key]), `placeholders of ${key}`);
    assert.ok(hu.length > 150, `${hu.length} keys`);
  });

  it('reads base32 keys as the Rust core does (shared vectors)', () => {
    for (const v of vectors.base32) {
      if (v.error) assert.throws(() => m.base32Decode(v.text), (e) => e instanceof m.UserError, JSON.stringify(v.text));
      else assert.equal(hex(m.base32Decode(v.text)), v.hex, v.text);
    }
  });

  it('reads otpauth:// URIs as the Rust core does (shared vectors)', () => {
    for (const v of vectors.uris) {
      if (v.error) {
        assert.throws(() => m.parseOtpauth(v.uri), (e) => e instanceof m.UserError, v.uri);
      } else {
        assert.deepEqual({ ...m.parseOtpauth(v.uri) }, v.ok, v.uri);
      }
    }
  });

  it('makes the codes of RFC 4226 and RFC 6238 (shared vectors)', async () => {
    for (const v of vectors.hotp) assert.equal(await m.computeCode({ ...v, type: 'hotp' }, v.counter), v.code, JSON.stringify(v));
    for (const v of vectors.totp) assert.equal(await m.totpAt({ ...v, type: 'totp' }, v.time), v.code, JSON.stringify(v));
  });

  it('computes scrypt as RFC 7914 says', async () => {
    for (const v of vectors.scrypt) {
      const out = await m.scrypt(new TextEncoder().encode(v.password), new TextEncoder().encode(v.salt), v.log_n, v.r, v.p, v.length);
      assert.equal(hex(out), v.hex);
    }
  });

  it('restores like `kapu otp import`: key and settings match, namesakes first, nothing deleted, bad entries skipped', () => {
    const a = (issuer, account, secret, extra = {}) => ({ issuer, account, secret, type: 'totp', algorithm: 'SHA1', digits: 6, period: 30, counter: 0, color: 'blue', ...extra });
    const accounts = [a('kapu', 'imre', 'JBSWY3DPEHPK3PXP'), a('only', 'here', 'GEZDGNBVGY3TQOJQ')];
    const { accounts: incoming, skipped } = m.parseBackup(JSON.stringify({ format: 'kapu-authenticator', version: 1, accounts: [
      a('Ügyfélkapu', 'imre', 'jbsw y3dp ehpk 3pxp'),
      a('kapu', 'imre', 'JBSWY3DPEHPK3PXP', { digits: 8, algorithm: 'SHA256' }),
      a('bad', 'key', 'ABC1'),
      a('evil\u001b]52;c;x\u0007', 'name', 'MFRGGZDFMZTWQ2LK'),
    ] }));
    assert.deepEqual(skipped.map((s) => [s.n, s.error.params.field]), [[3, 'secret'], [4, 'issuer']]);
    const counts = m.mergeBackup(accounts, incoming);
    assert.equal(counts.renamed, 1);
    assert.equal(counts.added, 1);
    assert.equal(counts.apart.length, 1, 'the same key with other settings is kept apart');
    assert.deepEqual(accounts.map((x) => `${x.issuer}:${x.account}:${x.digits}`), ['Ügyfélkapu:imre:6', 'only:here:6', 'kapu:imre:8']);
  });

  describe('the terminal\'s encrypted export', () => {
    let dir;
    let exported;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'kapu-modules-'));
      const env = { ...process.env, KAPU_VAULT: join(dir, 'vault'), KAPU_VAULT_PASSPHRASE: 'a vault passphrase', KAPU_VAULT_KDF_LOG_N: '10', LANG: 'C.UTF-8' };
      const kapu = (args, extra = {}) => execFileSync(kapuBin(), ['otp', ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
      kapu(['add', '--issuer', 'kapu', '--account', 'imre', '--key', 'JBSWY3DPEHPK3PXP']);
      kapu(['add', '--uri', 'otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQ&issuer=Bank&counter=3&digits=8']);
      // The real export, with the default scrypt cost (N = 2^17).
      exported = JSON.parse(kapu(['export', '--encrypted'], { KAPU_BACKUP_PASSPHRASE: 'backup passphrase' }));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('opens with its passphrase and gives the accounts', async () => {
      assert.ok(m.isEncryptedBackup(exported));
      assert.equal(exported.kdf.log_n, 17);
      const { accounts, skipped } = await m.openEncryptedBackup(exported, 'backup passphrase');
      assert.deepEqual(skipped, []);
      assert.deepEqual(accounts.map((a) => [a.issuer, a.account, a.secret, a.type, a.digits, a.counter]),
        [['kapu', 'imre', 'JBSWY3DPEHPK3PXP', 'totp', 6, 0], ['Bank', 'bob', 'GEZDGNBVGY3TQOJQ', 'hotp', 8, 3]]);
    });

    it('tells a wrong passphrase from a damaged file, and refuses hostile parameters', async () => {
      await assert.rejects(m.openEncryptedBackup(exported, 'wrong'), (e) => e.key === 'errRestoreWrongPass');
      const ct = Buffer.from(exported.ciphertext, 'base64');
      ct[0] ^= 1;
      await assert.rejects(m.openEncryptedBackup({ ...exported, ciphertext: ct.toString('base64') }, 'backup passphrase'),
        (e) => e.key === 'errRestoreDamaged');
      await assert.rejects(m.openEncryptedBackup({ ...exported, kdf: { ...exported.kdf, log_n: 30 } }, 'x'), (e) => e.key === 'errRestoreParams');
    });
  });
});
