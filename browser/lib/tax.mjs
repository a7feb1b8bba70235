// The demo tax-return service "Bevallás" (crates/demo-tax) for the browser
// tests: a free port, its registration at kapu, starting and stopping it;
// and kapu's own set-up steps the tests that use it share.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, kapuBin, navigates, waitForText } from './harness.mjs';
import { button, field, h1, link, menuLink } from './flows.mjs';
import { freshCode } from './totp.mjs';

const run = promisify(execFile);

/** Path of the tax service binary: $KAPU_TAX_BIN or <repo>/target/debug/kapu-demo-tax. */
export const taxBin = () => (process.env.KAPU_TAX_BIN ? resolve(process.env.KAPU_TAX_BIN) : join(REPO_ROOT, 'target', 'debug', 'kapu-demo-tax'));

/** A TCP port that was free a moment ago (the service needs it before kapu knows its redirect URI). */
export async function freePort() {
  const server = createServer();
  await new Promise((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', res));
  const { port } = server.address();
  await new Promise((res) => server.close(res));
  return port;
}

/** `kapu admin client add ... --json` on kapu's data directory: { client_id, client_secret }. */
export async function registerService(kapu, baseUrl) {
  const args = ['admin', 'client', 'add', '--data-dir', kapu.dataDir, '--name', 'Bevallás',
    '--redirect-uri', `${baseUrl}/callback`, '--post-logout-uri', `${baseUrl}/`,
    // PAR required: kapu refuses an authorization request the service did
    // not push first, so every login below proves the service uses PAR.
    '--par-required',
    // It files returns on a taxpayer's behalf too (the act claim).
    '--delegation-matters', 'adobevallas', '--json'];
  const { stdout } = await run(kapuBin(), args, { env: { ...process.env, NO_COLOR: '1' } });
  const answer = JSON.parse(stdout.trim().split('\n').find((l) => l.startsWith('{')) ?? stdout);
  assert.equal(answer.ok, true, `kapu admin client add: ${stdout}`);
  assert.ok(answer.client_id && answer.client_secret, `a client id and secret: ${stdout}`);
  return answer;
}

const LISTENING = /kapu-demo-tax listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** Start kapu-demo-tax on 127.0.0.1:<port> and wait for "kapu-demo-tax listening on http://...". */
export async function startTaxService({ port, issuer, clientId, clientSecret, timeoutMs = 30_000 }) {
  const bin = taxBin();
  if (!existsSync(bin)) throw new Error(`kapu-demo-tax not found at ${bin}: run \`cargo build --bin kapu-demo-tax\` or set KAPU_TAX_BIN`);
  const root = mkdtempSync(join(tmpdir(), 'kapu-tax-browser-'));
  const args = ['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--client-id', clientId, '--data-dir', join(root, 'data')];
  const child = spawn(bin, args, {
    cwd: root,
    // The secret through the environment, not the command line.
    env: { ...process.env, NO_COLOR: '1', RUST_BACKTRACE: '1', KAPU_TAX_CLIENT_SECRET: clientSecret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', killOnExit);
  let output = '';
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); rej(new Error(`kapu-demo-tax did not start within ${timeoutMs} ms:\n${output}`)); }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      if (process.env.KAPU_TEST_VERBOSE) process.stderr.write(chunk);
      const m = LISTENING.exec(output);
      if (m) { clearTimeout(timer); res(m[1]); }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', (err) => { clearTimeout(timer); rej(err); });
    exited.then(({ code, signal }) => { clearTimeout(timer); rej(new Error(`kapu-demo-tax exited (code ${code}, signal ${signal}):\n${output}`)); });
  }).catch((err) => { rmSync(root, { recursive: true, force: true }); throw err; });
  return {
    url,
    log: () => output,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]))) { child.kill('SIGKILL'); await exited; }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** `kapu admin ... --json` on kapu's data directory; the parsed answer (ok asserted). */
export async function kapuAdmin(kapu, args) {
  const { stdout } = await run(kapuBin(), [...args, '--data-dir', kapu.dataDir, '--json'], { env: { ...process.env, NO_COLOR: '1' } });
  const answer = JSON.parse(stdout.trim().split('\n').find((l) => l.startsWith('{')) ?? stdout);
  assert.equal(answer.ok, true, `kapu ${args.join(' ')}: ${stdout}`);
  return answer;
}

/**
 * Ügyfélkapu+ set up through the pages for the logged-in citizen of `page`
 * (manual key entry); returns { key, step } (the TOTP step used).
 */
export async function enableTwoStep(page, citizen, note) {
  await navigates(page, () => menuLink(page, 'Ügyfélkapu+ igénylése').first().click());
  await navigates(page, () => button(page, 'Tovább az Ügyfélkapu+ igényléséhez').click());
  await navigates(page, () => link(page, 'Nem tudom beolvasni a kódot').click());
  const key = (await waitForText(page.locator('#secret-key'), /\S/)).trim();
  const current = await freshCode(key, { note });
  await field(page, 'Ügyfélkapus jelszó').fill(citizen.password);
  await field(page, 'Azonosító megadása').fill(current.code);
  await navigates(page, () => button(page, 'Tovább').click());
  await waitForText(h1(page), /^\s*Törlőkód\s*$/i);
  await page.getByRole('checkbox', { name: /A fenti törlőkód mentéséről gondoskodtam/ }).check();
  await navigates(page, () => button(page, 'Befejezés').click());
  await waitForText(h1(page), /^\s*Sikeres beállítás\s*$/i);
  return { key, step: current.step };
}
