// ui.js: the page: lock and unlock, the codes (TOTP and HOTP) with search,
// adding by key, link or QR image, the clock check against the time kapu
// wrote into the page, backup and restore, HU | EN.

const MAX_IMAGE_SIDE = 4096;
/** Above this many seconds between this device and kapu, the page warns. */
const CLOCK_WARN_SECONDS = 10;

const $ = (id) => document.getElementById(id);
let lang = 'hu';

function t(key, params = {}) {
  const text = I18N[lang][key] ?? I18N.hu[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => {
    const v = params[name];
    return v instanceof UserError ? t(v.key, v.params) : String(v ?? '');
  });
}

const hasCrypto = !!(window.crypto && window.crypto.subtle);
const state = { accounts: [], vault: null };

// ---------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------
const shown = new Map(); // element id -> [key, params], re-translated on a language switch

function showError(id, error) {
  shown.set(id, error);
  $(id).textContent = t(error.key, error.params);
}

function clearError(id) {
  shown.delete(id);
  $(id).textContent = '';
}

function announce(key, params = {}) {
  showError('status', new UserError(key, params));
}

/** Show `error` under a form and mark the field it is about. */
function formError(errorId, error, fieldId) {
  const field = fieldId ? $(fieldId) : null;
  showError(errorId, error);
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    const described = (field.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(errorId)) field.setAttribute('aria-describedby', [...described, errorId].join(' '));
    field.focus();
  }
}

function resetFormError(form, errorId) {
  clearError(errorId);
  for (const node of form.querySelectorAll('[aria-invalid]')) {
    node.removeAttribute('aria-invalid');
    const described = (node.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== errorId);
    if (described.length) node.setAttribute('aria-describedby', described.join(' '));
    else node.removeAttribute('aria-describedby');
  }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'hidden') node.hidden = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

// ---------------------------------------------------------------------
// Lock and unlock
// ---------------------------------------------------------------------
let lastActivity = performance.now();

function showLocked() {
  const exists = hasVault();
  $('form-create').hidden = exists;
  $('form-unlock').hidden = !exists;
  $('unlocked').hidden = true;
  $('unlocked-tools').hidden = true;
  $('lock-section').hidden = false;
}

function showUnlocked() {
  $('lock-section').hidden = true;
  $('unlocked').hidden = false;
  $('unlocked-tools').hidden = false;
  renderAccounts();
}

async function save() {
  if (!state.vault) return;
  if (!(await state.vault.save(state.accounts))) showError('fatal', new UserError('errStorageFull'));
}

function lock(reason, params = {}) {
  state.vault = null;
  state.accounts = [];
  rows = [];
  $('accounts').replaceChildren();
  for (const id of ['unlock-pass', 'create-pass', 'create-pass2', 'restore-pass', 'key-secret', 'uri-text']) $(id).value = '';
  showLocked();
  announce(reason, params);
}

function touch() {
  lastActivity = performance.now();
}

for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) document.addEventListener(type, touch, { passive: true });

setInterval(() => {
  if (state.vault && performance.now() - lastActivity > IDLE_LOCK_MINUTES * 60_000) lock('lockedIdle', { n: IDLE_LOCK_MINUTES });
}, 1000);

function onSubmit(formId, errorId, handler) {
  const form = $(formId);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetFormError(form, errorId);
    try {
      await handler(form);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      formError(errorId, error, error.field);
    }
  });
}

function requireCrypto() {
  if (!hasCrypto) throw new UserError('errNoCrypto');
}

onSubmit('form-create', 'create-error', async () => {
  requireCrypto();
  const pass = $('create-pass').value;
  if (pass.length < MIN_PASSPHRASE) throw new UserError('errPassShort', {}, 'create-pass');
  if (pass !== $('create-pass2').value) throw new UserError('errPassMismatch', {}, 'create-pass2');
  const earlier = legacyAccounts() ?? [];
  state.vault = await createVault(pass, earlier);
  state.accounts = earlier;
  $('create-pass').value = '';
  $('create-pass2').value = '';
  touch();
  showUnlocked();
  announce(earlier.length ? 'migrated' : 'created', { n: earlier.length });
  $('codes-heading').focus();
});

onSubmit('form-unlock', 'unlock-error', async () => {
  requireCrypto();
  const pass = $('unlock-pass').value;
  try {
    const { vault, accounts } = await unlockVault(pass);
    state.vault = vault;
    state.accounts = accounts;
  } catch (e) {
    if (e instanceof UserError) e.field = 'unlock-pass';
    throw e;
  }
  $('unlock-pass').value = '';
  touch();
  showUnlocked();
  announce('unlocked');
  $('codes-heading').focus();
});

$('lock').addEventListener('click', () => lock('lockedNow'));

$('forget').addEventListener('click', () => {
  $('forget-confirm').hidden = false;
  $('forget-no').focus();
});
$('forget-no').addEventListener('click', () => {
  $('forget-confirm').hidden = true;
  $('forget').focus();
});
$('forget-yes').addEventListener('click', () => {
  forgetVault();
  $('forget-confirm').hidden = true;
  showLocked();
  announce('forgotten');
  $('create-pass').focus();
});

// ---------------------------------------------------------------------
// The list of accounts
// ---------------------------------------------------------------------
let rows = [];
let rowCounter = 0;

function accountRow(a) {
  const id = `acc-${++rowCounter}`;
  const name = displayName(a);
  const li = el('li', { class: `account c-${a.color}` });
  const names = el('p', { class: 'names', id: `${id}-name` },
    el('span', { class: 'issuer', text: a.issuer || a.account }),
    ...(a.issuer && a.account ? [' ', el('span', { class: 'account-name', text: a.account })] : []));
  const del = el('button', { type: 'button', class: 'danger small delete' },
    t('deleteBtn'), el('span', { class: 'visually-hidden', text: ` – ${name}` }));
  const question = el('p', { id: `${id}-question`, text: t('confirmDelete', { name }) });
  const yes = el('button', { type: 'button', class: 'danger solid small', 'aria-describedby': `${id}-question`, text: t('confirmYes') });
  const no = el('button', { type: 'button', class: 'secondary small', 'aria-describedby': `${id}-question`, text: t('confirmNo') });
  const confirm = el('div', { class: 'confirm', hidden: true }, question, yes, no);
  li.append(names, el('div', { class: 'row-actions' }, del));
  const row = { a, li, step: null, name };

  row.digitsEl = el('span', { class: 'digits', text: '–––' });
  row.codeBtn = el('button', { type: 'button', class: 'code', 'aria-describedby': 'codes-help' },
    row.digitsEl, el('span', { class: 'visually-hidden', text: t('copyName', { name }) }));
  row.copiedEl = el('span', { class: 'copied', hidden: true, text: t('copied') });
  row.codeBtn.addEventListener('click', () => copyCode(row));
  if (a.type === 'totp') {
    row.fillEl = el('span', { class: 'fill' });
    row.leftEl = el('span', { class: 'left' });
    row.nextCodeEl = el('span', { class: 'next-code' });
    row.nextEl = el('p', { class: 'next', hidden: true }, t('lowTime'), ' ', t('nextCode'), ' ', row.nextCodeEl);
    li.append(
      el('div', { class: 'code-row' }, row.codeBtn, row.copiedEl,
        el('span', { class: 'timer' }, el('span', { class: 'bar', 'aria-hidden': 'true' }, row.fillEl), row.leftEl)),
      row.nextEl);
  } else {
    row.counterEl = el('span', { class: 'timer', text: t('hotpCounter', { n: a.counter }) });
    const next = el('button', { type: 'button', class: 'secondary small hotp-next' },
      t('hotpNext'), el('span', { class: 'visually-hidden', text: ` – ${name}` }));
    next.addEventListener('click', () => nextHotp(row));
    li.append(el('div', { class: 'code-row' }, row.codeBtn, row.copiedEl, next, row.counterEl),
      el('p', { class: 'hint', text: t('hotpHint') }));
  }
  li.append(confirm);

  del.addEventListener('click', () => {
    confirm.hidden = false;
    del.hidden = true;
    no.focus();
  });
  const cancel = () => {
    confirm.hidden = true;
    del.hidden = false;
    del.focus();
  };
  no.addEventListener('click', cancel);
  confirm.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') cancel(); });
  yes.addEventListener('click', async () => {
    state.accounts = state.accounts.filter((x) => x !== a);
    await save();
    renderAccounts();
    announce('deleted', { name });
    $('codes-heading').focus();
  });
  return row;
}

/** HOTP: the code of the stored counter; the counter moves on and is saved before the code is shown. */
async function nextHotp(row) {
  const { a } = row;
  const code = await computeCode(a, a.counter);
  a.counter += 1;
  await save();
  row.code = code;
  row.digitsEl.textContent = grouped(code);
  row.counterEl.textContent = t('hotpCounter', { n: a.counter });
}

function applySearch() {
  const q = $('search').value.trim().toLowerCase();
  let visible = 0;
  for (const row of rows) {
    const match = !q || row.name.toLowerCase().includes(q);
    row.li.hidden = !match;
    if (match) visible += 1;
  }
  $('no-match').hidden = !(q && rows.length && visible === 0);
  $('no-match').textContent = t('searchNone', { q: $('search').value.trim() });
}

function renderAccounts() {
  rows = state.accounts.map(accountRow);
  $('accounts').replaceChildren(...rows.map((r) => r.li));
  $('empty').hidden = rows.length > 0;
  $('search-field').hidden = rows.length < 2;
  applySearch();
  tick();
}

$('search').addEventListener('input', applySearch);

async function copyCode(row) {
  const code = row.code;
  if (!code) return;
  let ok = false;
  try {
    await navigator.clipboard.writeText(code);
    ok = true;
  } catch {
    // No clipboard API here (no secure context, no permission): select the
    // digits so that Ctrl+C copies them, and try the old command.
    const range = document.createRange();
    range.selectNodeContents(row.digitsEl);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { ok = document.execCommand('copy'); } catch { ok = false; }
  }
  if (ok) {
    row.copiedEl.hidden = false;
    clearTimeout(row.copiedTimer);
    row.copiedTimer = setTimeout(() => { row.copiedEl.hidden = true; }, 2500);
    announce('copiedStatus', { name: row.name });
  } else {
    announce('copyFailed');
  }
}

// ---------------------------------------------------------------------
// The clock: this device's against the time kapu wrote into the page
// ---------------------------------------------------------------------
let lastClock = '';

function duration(seconds) {
  const n = Math.abs(seconds);
  if (n < 120) return t('seconds', { n });
  if (n < 3570) return t('minutes', { n, m: Math.round(n / 60) });
  if (n < 171_000) return t('hours', { n, m: Math.round(n / 3600) });
  return t('days', { n, m: Math.round(n / 86_400) });
}

/** Seconds this device is ahead of kapu (negative: behind), or null for a saved copy of the page. */
const clockOffset = (() => {
  const server = Number(document.querySelector('meta[name="kapu-server-time"]')?.content);
  // A saved copy carries the time it was served: stale, so no check there.
  if (!/^https?:$/.test(location.protocol) || !Number.isFinite(server) || server <= 0) return null;
  return Math.round((Date.now() - server) / 1000);
})();

function showClock() {
  const box = $('clock-check');
  if (clockOffset === null) {
    box.className = 'warning';
    $('clock-text').textContent = t('clockUnknown');
    $('clock-fix').hidden = true;
  } else if (Math.abs(clockOffset) > CLOCK_WARN_SECONDS) {
    box.className = 'fatal';
    $('clock-text').textContent = t(clockOffset > 0 ? 'clockAhead' : 'clockBehind', { d: duration(clockOffset) });
    $('clock-fix').hidden = false;
    $('clock-fix').textContent = t('clockFix');
  } else {
    box.className = 'status';
    $('clock-text').textContent = t('clockOk', { n: CLOCK_WARN_SECONDS });
    $('clock-fix').hidden = true;
  }
}

function tick() {
  const now = Date.now();
  const seconds = Math.floor(now / 1000);
  const clock = new Date(now).toLocaleString(lang === 'hu' ? 'hu-HU' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  if (clock !== lastClock) {
    lastClock = clock;
    $('device-time').textContent = clock;
  }
  if (!hasCrypto) return;
  for (const row of rows) {
    if (row.a.type !== 'totp') continue;
    const { period } = row.a;
    const step = Math.floor(seconds / period);
    const left = period - (seconds % period);
    const low = left <= LOW_SECONDS && period > LOW_SECONDS;
    const leftText = t('secondsLeft', { n: left });
    if (row.leftEl.textContent !== leftText) row.leftEl.textContent = leftText;
    row.fillEl.style.width = `${(100 * left) / period}%`;
    row.li.classList.toggle('low', low);
    row.nextEl.hidden = !low;
    if (row.step !== step) {
      row.step = step;
      computeCode(row.a, step).then((code) => {
        if (row.step !== step) return;
        row.code = code;
        row.digitsEl.textContent = grouped(code);
      }, () => { row.digitsEl.textContent = '–––'; });
      computeCode(row.a, step + 1).then((code) => { if (row.step === step) row.nextCodeEl.textContent = grouped(code); }, () => {});
    }
  }
}

// ---------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------
function applyLanguage(next) {
  lang = next === 'en' ? 'en' : 'hu';
  document.documentElement.lang = lang;
  document.title = t('docTitle');
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  for (const select of document.querySelectorAll('.color-select')) {
    const value = select.value || 'blue';
    select.replaceChildren(...COLORS.map((c) => el('option', { value: c, text: t(`color_${c}`) })));
    select.value = value;
  }
  $('lang-hu').setAttribute('aria-pressed', String(lang === 'hu'));
  $('lang-en').setAttribute('aria-pressed', String(lang === 'en'));
  for (const [id, error] of shown) $(id).textContent = t(error.key, error.params);
  lastClock = '';
  showClock();
  if (state.vault) renderAccounts();
}

for (const code of ['hu', 'en']) {
  $(`lang-${code}`).addEventListener('click', () => {
    try { storage?.setItem(LANG_KEY, code); } catch { /* not remembered */ }
    applyLanguage(code);
  });
}

// ---------------------------------------------------------------------
// Adding accounts (no form is ever submitted anywhere)
// ---------------------------------------------------------------------
async function addAccount(a) {
  const existing = state.accounts.find((x) => sameCodes(x, a));
  if (existing) throw new UserError('errDuplicate', { name: displayName(existing) });
  state.accounts.push(a);
  await save();
  renderAccounts();
  announce('added', { name: displayName(a) });
}

onSubmit('form-key', 'key-error', async () => {
  requireCrypto();
  const issuer = $('key-issuer').value.trim();
  const account = $('key-account').value.trim();
  const secretText = $('key-secret').value.trim();
  for (const [value, field] of [[issuer, 'key-issuer'], [account, 'key-account']]) {
    try { checkName(value); } catch (e) { e.field = field; throw e; }
  }
  if (!account) throw new UserError('errAccountRequired', {}, 'key-account');
  if (!secretText) throw new UserError('errSecretRequired', {}, 'key-secret');
  let secret;
  try { secret = canonicalSecret(secretText); } catch (e) { e.field = 'key-secret'; throw e; }
  let period;
  try { period = parsePeriod($('key-period').value.trim()); } catch (e) { e.field = 'key-period'; throw e; }
  const a = {
    issuer, account, secret, type: 'totp', algorithm: parseAlgorithm($('key-algorithm').value),
    digits: parseDigits($('key-digits').value), period, counter: 0, color: $('key-color').value,
  };
  try { await addAccount(a); } catch (e) { e.field = 'key-secret'; throw e; }
  for (const id of ['key-issuer', 'key-account', 'key-secret']) $(id).value = '';
});

onSubmit('form-uri', 'uri-error', async () => {
  requireCrypto();
  let a;
  try { a = parseOtpauth($('uri-text').value); } catch (e) { e.field = 'uri-text'; throw e; }
  a.color = $('uri-color').value;
  try { await addAccount(a); } catch (e) { e.field = 'uri-text'; throw e; }
  $('uri-text').value = '';
});

onSubmit('form-qr', 'qr-error', async () => {
  requireCrypto();
  const input = $('qr-file');
  const text = await readQr(input.files[0]);
  let a;
  try {
    a = parseOtpauth(text);
  } catch (e) {
    if (e.key === 'errUriScheme' || e.key === 'errUriEmpty') throw new UserError('errQrNotOtpauth', {}, 'qr-file');
    if (e.key === 'errUriMigration') { e.field = 'qr-file'; throw e; }
    throw new UserError('errQrUri', { detail: e }, 'qr-file');
  }
  a.color = $('qr-color').value;
  try { await addAccount(a); } catch (e) { e.field = 'qr-file'; throw e; }
  input.value = '';
});

// ---------------------------------------------------------------------
// QR codes in pictures, read here with jsQR
// ---------------------------------------------------------------------
function grey(image) {
  const { data, width, height } = image;
  const out = new Uint8ClampedArray(width * height);
  for (let i = 0; i < out.length; i++) out[i] = (data[4 * i] * 77 + data[4 * i + 1] * 150 + data[4 * i + 2] * 29) >> 8;
  return out;
}

/** Otsu's threshold of a grey picture. */
function otsu(g) {
  const histogram = new Array(256).fill(0);
  for (const v of g) histogram[v] += 1;
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * histogram[i];
  let below = 0;
  let sumBelow = 0;
  let best = -1;
  let level = 128;
  for (let i = 0; i < 256; i++) {
    below += histogram[i];
    const above = g.length - below;
    if (below === 0 || above === 0) continue;
    sumBelow += i * histogram[i];
    const between = below * above * (sumBelow / below - (sum - sumBelow) / above) ** 2;
    if (between > best) { best = between; level = i; }
  }
  return level;
}

/** RGBA pixels from a grey picture, stretched to black..white and optionally thresholded at Otsu's level. */
function rgba(g, threshold) {
  let lo = 255;
  let hi = 0;
  for (const v of g) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const range = Math.max(1, hi - lo);
  const level = threshold ? otsu(g) : -1;
  const out = new Uint8ClampedArray(g.length * 4);
  for (let i = 0; i < g.length; i++) {
    const v = threshold ? (g[i] > level ? 255 : 0) : ((g[i] - lo) * 255) / range;
    out[4 * i] = v; out[4 * i + 1] = v; out[4 * i + 2] = v; out[4 * i + 3] = 255;
  }
  return out;
}

/** The picture drawn at `scale` and rotated by `degrees`, on white. */
function draw(bitmap, scale, degrees) {
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const rad = (degrees * Math.PI) / 180;
  const cw = Math.round(Math.abs(w * Math.cos(rad)) + Math.abs(h * Math.sin(rad)));
  const ch = Math.round(Math.abs(w * Math.sin(rad)) + Math.abs(h * Math.cos(rad)));
  const canvas = document.createElement('canvas');
  canvas.width = cw;
  canvas.height = ch;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // Transparent pixels would read as black: put the image on white.
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, cw, ch);
  ctx.imageSmoothingQuality = 'high';
  ctx.translate(cw / 2, ch / 2);
  ctx.rotate(rad);
  ctx.drawImage(bitmap, -w / 2, -h / 2, w, h);
  return ctx.getImageData(0, 0, cw, ch);
}

/**
 * The text of a QR code in `bitmap`, trying as the terminal does (authenticator::qr): as it is, enlarged,
 * stretched and thresholded, shrunk, turned by 45°, until one is read. null if none is.
 */
function decodeBitmap(bitmap) {
  const side = Math.max(bitmap.width, bitmap.height);
  const fit = Math.min(1, MAX_IMAGE_SIDE / side);
  const attempts = [
    [fit, 0, 'plain'], [Math.min(2, 2400 / side), 0, 'threshold'], [fit, 0, 'threshold'], [Math.min(2, 2400 / side), 0, 'plain'],
    [Math.min(fit, 1000 / side), 0, 'plain'], [fit, 0, 'stretch'], [Math.min(fit, 1200 / side), 45, 'plain'],
    [Math.min(fit, 1200 / side), 45, 'threshold'], [Math.min(fit, 600 / side), 0, 'threshold'],
  ];
  for (const [scale, degrees, kind] of attempts) {
    const image = draw(bitmap, scale, degrees);
    const data = kind === 'plain' ? image.data : rgba(grey(image), kind === 'threshold');
    const found = window.jsQR(data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
    if (found && found.data) return found.data;
  }
  return null;
}

/** The text of the QR code in an image file. */
async function readQr(file) {
  if (!file) throw new UserError('errQrNoFile', {}, 'qr-file');
  if (typeof window.jsQR !== 'function') throw new UserError('errQrNoDecoder', {}, 'qr-file');
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new UserError('errQrNotImage', {}, 'qr-file');
  }
  const text = decodeBitmap(bitmap);
  bitmap.close?.();
  if (!text) throw new UserError('errQrNotFound', {}, 'qr-file');
  return text;
}

// ---------------------------------------------------------------------
// Backup and restore
// ---------------------------------------------------------------------
$('backup').addEventListener('click', () => {
  clearError('backup-error');
  const text = `${JSON.stringify(exportObject(state.accounts), null, 2)}\n`;
  const day = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  const file = `kapu-authenticator-${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}.json`;
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = el('a', { href: url, download: file });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  announce('backupDone', { file, n: state.accounts.length });
});

onSubmit('form-restore', 'restore-error', async () => {
  requireCrypto();
  const input = $('restore-file');
  const file = input.files[0];
  if (!file) throw new UserError('errRestoreNoFile', {}, 'restore-file');
  if (file.size > MAX_BACKUP_BYTES) throw new UserError('errRestoreTooBig', {}, 'restore-file');
  let data;
  try { data = JSON.parse(await file.text()); } catch { throw new UserError('errRestoreJson', {}, 'restore-file'); }
  let backup;
  if (isEncryptedBackup(data)) {
    const pass = $('restore-pass').value;
    if (!pass) throw new UserError('errRestorePass', {}, 'restore-pass');
    try { backup = await openEncryptedBackup(data, pass); } catch (e) { e.field = e.key === 'errRestoreWrongPass' ? 'restore-pass' : 'restore-file'; throw e; }
  } else {
    try { backup = parseBackupValue(data); } catch (e) { e.field = 'restore-file'; throw e; }
  }
  const counts = mergeBackup(state.accounts, backup.accounts);
  await save();
  renderAccounts();
  input.value = '';
  $('restore-pass').value = '';
  announce('restoreDone', { ...counts, skipped: backup.skipped.length });
  const details = [];
  if (backup.skipped.length) {
    details.push(t('restoreSkipped', {
      n: backup.skipped.length,
      list: backup.skipped.map((s) => `${s.n}. ${s.name}: ${t(s.error.key, s.error.params)}`).join('; '),
    }));
  }
  if (counts.apart.length) details.push(t('restoreApart', { list: counts.apart.map(displayName).join(', ') }));
  $('restore-details').textContent = details.join(' ');
});

// Another tab changed the accounts: read them again with the key we hold.
window.addEventListener('storage', async (ev) => {
  if (!state.vault || (ev.key !== VAULT_KEY && ev.key !== null)) return;
  try {
    state.accounts = await state.vault.load();
    renderAccounts();
  } catch (e) {
    if (e instanceof UserError) lock(e.key);
  }
});

// ---------------------------------------------------------------------
// Start: locked until the passphrase is given
// ---------------------------------------------------------------------
let savedLang = null;
try { savedLang = storage?.getItem(LANG_KEY); } catch { /* default */ }
applyLanguage(savedLang === 'en' ? 'en' : 'hu');
showLocked();
if (!hasCrypto) showError('fatal', new UserError('errNoCrypto'));
else if (!storage) showError('fatal', new UserError('errNoStorage'));
setInterval(tick, 250);
