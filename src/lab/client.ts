// The client of `tandem lab`: sends `GET URL` every INTERVAL ms (each on a new TCP connection, as
// new visitors would) and prints one JSON line per request when it ends:
//   {"seq":12,"sent":1700000000123,"ms":3,"ok":true,"rs":"rs2","err":null}
// Started inside the client's namespace as
//   node dist/src/lab/client.js URL INTERVAL_MS TIMEOUT_MS LAB
// TIMEOUT_MS is below TCP's first SYN retransmission (1 s), so a request whose SYN went into a
// dead director fails instead of succeeding late by retransmission: the lab measures an outage
// by when the requests that succeed were sent. Exits when the lab that started it is gone.
import { request } from 'node:http';

const [url = 'http://127.0.0.1/', intervalText = '75', timeoutText = '800'] = process.argv.slice(2);
const intervalMs = Number(intervalText);
const timeoutMs = Number(timeoutText);
let seq = 0;

function once(): void {
  const n = seq++;
  const sent = Date.now();
  let settled = false;
  const finish = (ok: boolean, rs: string | null, err: string | null): void => {
    if (settled) return;
    settled = true;
    process.stdout.write(JSON.stringify({ seq: n, sent, ms: Date.now() - sent, ok, rs, err }) + '\n');
  };
  const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { if (body.length < 256) body += c; });
    res.on('end', () => finish(res.statusCode === 200, res.statusCode === 200 ? body.trim() : null, res.statusCode === 200 ? null : `HTTP ${res.statusCode}`));
    res.on('error', (e) => finish(false, null, e.message));
  });
  // A hard deadline from the send (req.setTimeout only starts once the socket is connected, so
  // it would let a retransmitted SYN succeed late).
  const timer = setTimeout(() => req.destroy(new Error(`timeout ${timeoutMs} ms`)), timeoutMs);
  req.on('close', () => clearTimeout(timer));
  req.on('error', (e: NodeJS.ErrnoException) => finish(false, null, e.code ?? e.message));
  req.end();
}

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
  once();
}, intervalMs);
process.on('SIGTERM', () => process.exit(0));
