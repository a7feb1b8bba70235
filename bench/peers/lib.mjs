// Shared helpers for the peer load generators: a bounded closed-loop phase
// runner, percentiles, a keep-alive HTTP client and the figure JSON.
// Loopback only: every generator refuses a target that is not 127.0.0.1.
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';

export function env(name, dflt) {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : v;
}
export const num = (name, dflt) => Number(env(name, dflt));

export function log(...a) {
  process.stderr.write(a.join(' ') + '\n');
}

export function loopbackOnly(host) {
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    throw new Error(`refusing non-loopback target ${host}`);
  }
}

// One keep-alive agent per generator; maxSockets bounds the connections.
export function makeClient({ host = '127.0.0.1', port, hostHeader, maxSockets = 256 }) {
  loopbackOnly(host);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  function req(method, path, { headers = {}, body, timeoutMs = 30000 } = {}) {
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      if (hostHeader) h.host = hostHeader;
      if (body !== undefined) {
        if (!h['content-type']) h['content-type'] = 'application/x-www-form-urlencoded';
        h['content-length'] = Buffer.byteLength(body);
      }
      const r = http.request({ host, port, method, path, agent, headers: h }, (s) => {
        let d = '';
        s.setEncoding('utf8');
        s.on('data', (c) => (d += c));
        s.on('end', () => resolve({ status: s.statusCode, headers: s.headers, body: d }));
        s.on('error', reject);
      });
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
      r.on('error', reject);
      if (body !== undefined) r.write(body);
      r.end();
    });
  }
  return { req, agent, close: () => agent.destroy() };
}

// A cookie jar per simulated browser.
export function cookieJar() {
  const jar = new Map();
  return {
    take(res) {
      let sc = res.headers['set-cookie'] || [];
      if (!Array.isArray(sc)) sc = [sc];
      for (const c of sc) {
        const [kv] = c.split(';');
        const i = kv.indexOf('=');
        if (i > 0) jar.set(kv.slice(0, i).trim(), kv.slice(i + 1));
      }
    },
    header() {
      return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    },
  };
}

export const form = (o) => new URLSearchParams(o).toString();

export function pct(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
const r1 = (x) => (x === null ? null : Math.round(x * 100) / 100);

// CPU seconds (user + system) used so far by every live process of the given
// sessions (run.sh starts each server with setsid and passes SERVER_SIDS), from
// /proc; null when /proc cannot tell. Assumes 100 clock ticks a second.
export function sessionCpu(sids = (process.env.SERVER_SIDS || '').split(/[ ,]+/).filter(Boolean).map(Number)) {
  if (!sids.length) return null;
  let ticks = 0;
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(d)) continue;
      let st;
      try {
        st = readFileSync(`/proc/${d}/stat`, 'utf8');
      } catch {
        continue;
      }
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      // f[0] is field 3 (state): session is field 6, utime 14, stime 15.
      if (sids.includes(Number(f[3]))) ticks += Number(f[11]) + Number(f[12]);
    }
  } catch {
    return null;
  }
  return ticks / 100;
}

// Closed loop: `conc` workers call fn(i) back to back until `seconds` have
// passed or `maxN` calls have started, whichever comes first. fn resolves for
// a success and throws for a failure. Latencies of successes only.
export async function phase({ name, seconds = 15, maxN = Infinity, conc, fn }) {
  const lat = [];
  const errors = new Map();
  let started = 0;
  let failed = 0;
  const cpu0 = sessionCpu();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  async function worker() {
    while (started < maxN && performance.now() < deadline) {
      const i = started++;
      const s = performance.now();
      try {
        await fn(i);
        lat.push(performance.now() - s);
      } catch (e) {
        failed++;
        const m = String((e && e.message) || e).slice(0, 160);
        errors.set(m, (errors.get(m) || 0) + 1);
      }
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = sessionCpu();
  lat.sort((a, b) => a - b);
  const res = {
    name,
    ok: lat.length,
    failed,
    elapsed_s: elapsed,
    per_s: lat.length / elapsed,
    p50_ms: r1(pct(lat, 50)),
    p99_ms: r1(pct(lat, 99)),
    server_cpu_s: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    errors: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([m, c]) => `${c}x ${m}`),
  };
  log(
    `[${name}] conc=${conc} ok=${res.ok} failed=${failed} ${elapsed.toFixed(2)}s ` +
      `${res.per_s.toFixed(1)}/s p50=${res.p50_ms}ms p99=${res.p99_ms}ms` +
      (res.server_cpu_s === null ? '' : ` server-cpu=${res.server_cpu_s.toFixed(2)}s (${((100 * res.server_cpu_s) / elapsed).toFixed(0)}% of a core)`) +
      (res.errors.length ? ` errors: ${res.errors.join(' | ')}` : ''),
  );
  return res;
}

// The figure; the note gains the server's CPU time per success, which other
// load on the machine moves much less than the rate.
export function figure(id, ph, conc, note, unit = 'req/s') {
  if (ph.failed > 0 && ph.errors.length) note += ` (${ph.errors.join('; ')})`;
  if (ph.server_cpu_s !== null && ph.ok > 0) {
    const ms = (1000 * ph.server_cpu_s) / ph.ok;
    note +=
      `; server CPU ${ms.toFixed(2)} ms per success (${(1000 / ms).toFixed(0)}/s if it had a whole core), ` +
      `the server used ${((100 * ph.server_cpu_s) / ph.elapsed_s).toFixed(0)}% of a core during the phase`;
  }
  return {
    id,
    value: Math.round(ph.per_s * 10) / 10,
    unit,
    // The server's CPU (user + system) per success, for kapu's CPU-time ratios.
    cpu_ms_per_op: ph.server_cpu_s !== null && ph.ok > 0 ? (1000 * ph.server_cpu_s) / ph.ok : null,
    p50_ms: ph.p50_ms,
    p99_ms: ph.p99_ms,
    n: ph.ok,
    concurrency: conc,
    note,
  };
}

// A phase whose successes are too few, or whose failures are too many, is no figure.
export function checkPhase(ph, { minOk = 20, maxFailFrac = 0.01 } = {}) {
  if (ph.ok < minOk) {
    throw new Error(`${ph.name}: only ${ph.ok} successes (${ph.failed} failed${ph.errors.length ? ': ' + ph.errors[0] : ''})`);
  }
  if (ph.failed > maxFailFrac * (ph.ok + ph.failed)) {
    throw new Error(`${ph.name}: ${ph.failed} of ${ph.ok + ph.failed} failed (${ph.errors[0] || '?'})`);
  }
}

// Print the result (figures array) as the one line on stdout.
export function emit(figures) {
  process.stdout.write(JSON.stringify({ figures }) + '\n');
}

export async function main(fn) {
  try {
    await fn();
    process.exit(0);
  } catch (e) {
    process.stderr.write(`load: ${String((e && e.stack) || e)}\n`);
    process.stdout.write(JSON.stringify({ error: String((e && e.message) || e).split('\n')[0].slice(0, 300) }) + '\n');
    process.exit(1);
  }
}
