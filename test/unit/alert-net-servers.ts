// Shared helpers for the webhook and mail tests: a throwaway certificate made with openssl,
// a port nothing listens on, a bounded wait, a logger that records.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../src/log.js';
import { createSystemTimers, type Timers } from '../../src/timers.js';
import { ManualTimers } from '../lib/manualTimers.js';

export interface CertFiles {
  dir: string;
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
  remove(): void;
}

/** A self-signed certificate for 127.0.0.1 / localhost in a fresh temp dir (openssl req -x509). */
export function selfSignedCertFiles(prefix: string): CertFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl is needed to make the test certificate (apt-get install openssl): ${(e as Error).message}`);
  }
  return {
    dir, keyFile, certFile,
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A loopback port that was free a moment ago (listen on 0, close). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', () => resolve()); });
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Polls `cond` every 10 ms; throws with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000 && performance.now() < until; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (cond()) return;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
}

export function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ write: (l) => lines.push(l), level: 'debug', journald: false }), lines };
}

/** The largest gap between ticks of a 5 ms interval while `run` is pending: event-loop stalls. */
export async function maxLoopLagMs<T>(run: () => Promise<T>): Promise<{ result: T; lagMs: number }> {
  let last = performance.now();
  let lag = 0;
  const t = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last);
    last = now;
  }, 5);
  try {
    const result = await run();
    return { result, lagMs: lag };
  } finally {
    clearInterval(t);
  }
}

/**
 * Timers for a notifier talking to a real server: its next-turn pump runs on the real loop
 * (setImmediate), its timeouts, backoffs and clock are `clock`'s, a manual clock that moves only
 * when the test says. `waitFor` waits for a condition on the real sockets while moving the clock
 * 5 ms per poll, so retries and timeouts come as the clock reaches them.
 */
export function socketClock(): {
  clock: ManualTimers; timers: Timers;
  waitFor(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void>;
} {
  const clock = new ManualTimers();
  const system = createSystemTimers();
  const timers: Timers = {
    now: () => clock.now(), wallNow: () => clock.wallNow(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    setImmediate: (fn) => system.setImmediate(fn),
    // ManualTimers' handles are numbers; the system's are objects.
    clear: (h) => { if (typeof (h as unknown) === 'number') clock.clear(h); else system.clear(h); },
  };
  return {
    clock, timers,
    waitFor: (cond, timeoutMs, what) => waitFor(() => { if (cond()) return true; clock.advance(5); return cond(); }, timeoutMs, what),
  };
}
