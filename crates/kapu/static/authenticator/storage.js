// storage.js: the keys at rest, encrypted under the user's passphrase with
// WebCrypto: PBKDF2-HMAC-SHA256 at 600 000 iterations (OWASP's Password
// Storage Cheat Sheet for PBKDF2-HMAC-SHA256) derives a non-extractable
// AES-256-GCM key; each save has a fresh 96-bit IV. localStorage holds only
//
//   {"format": "kapu-authenticator-browser", "version": 1,
//    "kdf": {"name": "PBKDF2-SHA-256", "iterations": 600000, "salt": "<base64, 16 bytes>"},
//    "cipher": "AES-256-GCM", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>"}
//
// whose plaintext is the plain backup JSON. The key lives in memory while the
// page is unlocked and is dropped when it locks (after IDLE_LOCK_MINUTES
// without use, or by the Lock button). Earlier versions kept the clear JSON
// under "kapu-authenticator": it is encrypted at the first unlock and removed.

const VAULT_KEY = 'kapu-authenticator-vault';
const LEGACY_KEY = 'kapu-authenticator';
const LANG_KEY = 'kapu-authenticator-lang';
const VAULT_FORMAT = 'kapu-authenticator-browser';
const PBKDF2_ITERATIONS = 600_000;
const IDLE_LOCK_MINUTES = 5;
const MIN_PASSPHRASE = 8;

const storage = (() => {
  try {
    const s = window.localStorage;
    s.setItem('kapu-authenticator-probe', '1');
    s.removeItem('kapu-authenticator-probe');
    return s;
  } catch {
    return null;
  }
})();

/** A vault kept only in memory when the browser allows no storage (a private window). */
let memoryVault = null;

function readVault() {
  const raw = storage ? storage.getItem(VAULT_KEY) : memoryVault;
  if (raw === null || raw === undefined) return null;
  try {
    const v = JSON.parse(raw);
    if (v?.format !== VAULT_FORMAT || v.version !== 1) return 'damaged';
    return v;
  } catch {
    return 'damaged';
  }
}

const hasVault = () => readVault() !== null;

/** The accounts earlier versions stored in clear, or null. */
function legacyAccounts() {
  const raw = storage?.getItem(LEGACY_KEY);
  if (!raw) return null;
  try { return parseBackup(raw).accounts; } catch { return null; }
}

async function deriveKey(passphrase, salt, iterations) {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** The open vault: the key and the salt it was derived with. */
class OpenVault {
  constructor(key, salt, iterations) {
    this.key = key;
    this.salt = salt;
    this.iterations = iterations;
  }

  /** Encrypts `accounts` and stores them; false when the browser refused. */
  async save(accounts) {
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const plain = new TextEncoder().encode(JSON.stringify(exportObject(accounts)));
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, this.key, plain));
    plain.fill(0);
    const record = JSON.stringify({
      format: VAULT_FORMAT,
      version: 1,
      kdf: { name: 'PBKDF2-SHA-256', iterations: this.iterations, salt: base64Encode(this.salt) },
      cipher: 'AES-256-GCM',
      nonce: base64Encode(nonce),
      ciphertext: base64Encode(ciphertext),
    });
    if (!storage) {
      memoryVault = record;
      return true;
    }
    try {
      storage.setItem(VAULT_KEY, record);
      storage.removeItem(LEGACY_KEY);
      return true;
    } catch {
      return false;
    }
  }

  /** The stored accounts, decrypted (another tab may have saved). */
  async load() {
    const v = readVault();
    if (v === null) return [];
    if (v === 'damaged') throw new UserError('errVaultDamaged');
    return decryptRecord(v, this.key);
  }
}

async function decryptRecord(v, key) {
  let plain;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: base64Decode(v.nonce) }, key, base64Decode(v.ciphertext));
  } catch {
    throw new UserError('errPassWrong');
  }
  return parseBackup(new TextDecoder().decode(plain)).accounts;
}

/** A new vault under `passphrase`, holding `accounts` (earlier clear ones, or none). */
async function createVault(passphrase, accounts) {
  if (passphrase.length < MIN_PASSPHRASE) throw new UserError('errPassShort');
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const vault = new OpenVault(await deriveKey(passphrase, salt, PBKDF2_ITERATIONS), salt, PBKDF2_ITERATIONS);
  if (!(await vault.save(accounts))) throw new UserError('errStorageFull');
  return vault;
}

/** Opens the stored vault: the open vault and its accounts. */
async function unlockVault(passphrase) {
  const v = readVault();
  if (v === null || v === 'damaged') throw new UserError('errVaultDamaged');
  const iterations = v.kdf?.iterations;
  if (v.kdf?.name !== 'PBKDF2-SHA-256' || !Number.isInteger(iterations) || iterations < 100_000 || iterations > 10_000_000) {
    throw new UserError('errVaultDamaged');
  }
  const salt = base64Decode(v.kdf.salt);
  const key = await deriveKey(passphrase, salt, iterations);
  const accounts = await decryptRecord(v, key);
  return { vault: new OpenVault(key, salt, iterations), accounts };
}

/** Deletes the stored vault (the user forgot the passphrase). */
function forgetVault() {
  memoryVault = null;
  storage?.removeItem(VAULT_KEY);
  storage?.removeItem(LEGACY_KEY);
}
