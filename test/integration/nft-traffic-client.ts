// The HTTP client of nft-traffic.test.ts, run inside the lab's client namespace:
//   node nft-traffic-client.js '{"host":"192.0.2.100","port":80,"count":600,...}'
// Every request is a new TCP connection (no agent, `Connection: close`), optionally from a given
// source address (the sh / persistence tests pick the client address this way). One JSON line per
// request on stdout: {i, src, t0, t1, ok, server?, peer?, err?} with t0/t1 in epoch ms (Date.now(), the
// same clock as the test process on this host), then `DONE {count}`.
// With `stopFile`, it keeps going (up to `count` requests and `maxMs`) until that file exists: the
// background load of the "a server leaves the table" test. Bounded in count and time either way.
import { existsSync } from 'node:fs';
import { request } from 'node:http';

interface Args {
  host: string;
  port: number;
  /** Upper bound on requests. */
  count: number;
  /** Requests in flight at once (each its own connection). */
  concurrency?: number;
  /** Source addresses; request i uses sources[i % sources.length]. */
  sources?: string[];
  /** Per request, ms (a SYN the director drops would otherwise hang for minutes). */
  timeoutMs?: number;
  /** Stop when this file exists. */
  stopFile?: string;
  /** Upper bound on the whole run. */
  maxMs?: number;
  /** Pause between requests of one worker, ms (background load). */
  gapMs?: number;
}

/** server, peer: the real server's answer `<its name> <the client address it saw>`. */
interface Result { i: number; src: string | null; t0: number; t1: number; ok: boolean; server?: string; peer?: string; err?: string }

function once(a: Args, i: number): Promise<Result> {
  const src = a.sources && a.sources.length > 0 ? a.sources[i % a.sources.length]! : null;
  const t0 = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<Result, 'i' | 'src' | 't0' | 't1'>): void => {
      if (settled) return;
      settled = true;
      resolve({ i, src, t0, t1: Date.now(), ...r });
    };
    const req = request({
      host: a.host, port: a.port, path: '/', method: 'GET', agent: false, headers: { Connection: 'close' },
      ...(src ? { localAddress: src } : {}), timeout: a.timeoutMs ?? 3000,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        const [server, peer] = body.trim().split(' ');
        done(res.statusCode === 200 && server ? { ok: true, server, ...(peer ? { peer } : {}) } : { ok: false, err: `status ${res.statusCode}` });
      });
      res.on('error', (e) => done({ ok: false, err: e.message }));
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, err: e.code ?? e.message }));
    req.end();
  });
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as Args;
  if (!a.host || !Number.isInteger(a.port) || !Number.isInteger(a.count) || a.count < 1 || a.count > 100_000) {
    throw new Error(`bad arguments: ${process.argv[2]}`);
  }
  const deadline = Date.now() + (a.maxMs ?? 120_000);
  let next = 0;
  let finished = 0;
  const worker = async (): Promise<void> => {
    while (next < a.count && Date.now() < deadline && !(a.stopFile && existsSync(a.stopFile))) {
      const r = await once(a, next++);
      finished++;
      process.stdout.write(`${JSON.stringify(r)}\n`);
      if (a.gapMs) await new Promise((res) => setTimeout(res, a.gapMs));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(64, a.concurrency ?? 1)) }, worker));
  process.stdout.write(`DONE ${finished}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(2);
});
