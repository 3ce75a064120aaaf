// The client of listener-limits.test.ts, run inside the lab's client namespace:
//   node listener-flood-client.js '{"host":"192.0.2.1","port":9650,"silent":50,"halfSent":50,...}'
// Holds `silent` connections that send nothing and `halfSent` ones that send part of a request's
// headers and then nothing (slowloris), plus `keepAlive` ones that send one whole request, read the
// answer and then stay idle. With `reconnect`, a connection the server closes is opened again
// after `gapMs` (the flood is held); without, each is opened once (the timeout measurement).
// Stops at `stopFile`, `maxMs` or `maxAttempts`, whichever comes first: bounded in count and time.
// Output: one JSON line per connection the server closed {kind, lifetimeMs, gotResponse} (at most
// `reportMax` of them), then `DONE {attempts, connected, closedByServer, errors, stillOpen}`.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

interface Args {
  host: string;
  port: number;
  silent?: number;
  halfSent?: number;
  keepAlive?: number;
  reconnect?: boolean;
  gapMs?: number;
  stopFile?: string;
  maxMs: number;
  maxAttempts?: number;
  reportMax?: number;
}

type Kind = 'silent' | 'halfSent' | 'keepAlive';

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const t0 = Date.now();
const maxAttempts = a.maxAttempts ?? 50_000;
let attempts = 0;
let connected = 0;
let closedByServer = 0;
let errors = 0;
let reported = 0;
let stopping = false;
const open = new Set<Socket>();

function start(kind: Kind): void {
  if (stopping || attempts >= maxAttempts || Date.now() - t0 > a.maxMs) return;
  attempts++;
  const s = connect({ host: a.host, port: a.port });
  open.add(s);
  let connectedAt = 0;
  let gotResponse = false;
  s.on('connect', () => {
    connected++;
    connectedAt = Date.now();
    if (kind === 'halfSent') s.write('GET /metrics HTTP/1.1\r\nHost: flood\r\nX-Slow: ');
    if (kind === 'keepAlive') s.write('GET /metrics HTTP/1.1\r\nHost: flood\r\n\r\n');
  });
  s.on('data', () => { gotResponse = true; });
  s.on('error', () => { errors++; });
  s.on('close', () => {
    open.delete(s);
    if (stopping) return;
    if (connectedAt) {
      closedByServer++;
      if (reported < (a.reportMax ?? 200)) {
        reported++;
        process.stdout.write(JSON.stringify({ kind, lifetimeMs: Date.now() - connectedAt, gotResponse }) + '\n');
      }
    }
    if (a.reconnect) setTimeout(() => start(kind), a.gapMs ?? 20);
  });
}

function finish(): void {
  if (stopping) return;
  stopping = true;
  const stillOpen = open.size;
  for (const s of open) s.destroy();
  process.stdout.write(`DONE ${JSON.stringify({ attempts, connected, closedByServer, errors, stillOpen })}\n`);
  process.exit(0);
}

for (let i = 0; i < (a.silent ?? 0); i++) start('silent');
for (let i = 0; i < (a.halfSent ?? 0); i++) start('halfSent');
for (let i = 0; i < (a.keepAlive ?? 0); i++) start('keepAlive');
const tick = setInterval(() => {
  if ((a.stopFile && existsSync(a.stopFile)) || Date.now() - t0 > a.maxMs) finish();
  // Without reconnecting, done when the server has closed them all.
  if (!a.reconnect && open.size === 0 && attempts > 0) finish();
}, 50);
void tick;
process.on('SIGTERM', finish);
