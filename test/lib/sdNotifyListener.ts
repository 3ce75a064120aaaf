// A systemd-style NOTIFY_SOCKET for tests: Node has no AF_UNIX datagram sockets, so a small
// python3 process binds one (a path, or '@name' for an abstract socket in its network namespace)
// and prints every datagram it receives as one JSON line. When given a state file it reads that
// file the moment each datagram arrives, so a test can tell what the daemon had written before it
// sent, e.g., READY=1, and each datagram carries its arrival time. The helper exits by itself
// after `lifetimeS` (bounded) and is killed by close().
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './netns.js';

const LISTENER_PY = `
import json, socket, sys, time
path, state_path, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + path[1:] if path.startswith('@') else path)
print(json.dumps({"listening": True}), flush=True)
deadline = time.monotonic() + lifetime
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data = s.recv(65536)
    except socket.timeout:
        break
    state = None
    if state_path:
        try:
            with open(state_path) as f:
                state = f.read()
        except OSError:
            state = None
    print(json.dumps({"msg": data.decode("utf-8", "replace"), "state": state, "at": time.monotonic() * 1000}), flush=True)
`;

export interface NotifyMessage {
  /** The datagram as sent. */
  raw: string;
  /** Its KEY=value assignments (sd_notify(3): one per line). */
  fields: Record<string, string>;
  /** The state file's text when the datagram arrived (null if absent or not asked). */
  stateAtArrival: string | null;
  /** When it arrived: the listener's CLOCK_MONOTONIC, ms. */
  at: number;
}

export class NotifyListener {
  readonly messages: NotifyMessage[] = [];
  private stderr = '';
  private exited = false;

  private constructor(readonly socketPath: string, private readonly child: ChildProcess) {}

  static async start(socketPath: string, opts: { statePath?: string; lifetimeS?: number } = {}): Promise<NotifyListener> {
    const child = spawn('python3', ['-u', '-c', LISTENER_PY, socketPath, opts.statePath ?? '', String(opts.lifetimeS ?? 120)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const l = new NotifyListener(socketPath, child);
    let listening = false;
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const o = JSON.parse(line) as { listening?: boolean; msg?: string; state?: string | null; at?: number };
        if (o.listening) { listening = true; continue; }
        const raw = o.msg ?? '';
        const fields: Record<string, string> = {};
        for (const a of raw.split('\n')) {
          const eq = a.indexOf('=');
          if (eq > 0) fields[a.slice(0, eq)] = a.slice(eq + 1);
        }
        l.messages.push({ raw, fields, stateAtArrival: o.state ?? null, at: o.at ?? 0 });
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => { l.stderr += c; });
    child.on('exit', () => { l.exited = true; });
    try {
      await waitFor(() => {
        if (l.exited) throw new Error(`python3 listener exited: ${l.stderr}`);
        return listening;
      }, { timeoutMs: 10_000, what: `notify listener on ${socketPath}` });
    } catch (e) {
      l.close();
      throw e;
    }
    return l;
  }

  /** Index of the first message (from `from`) matching `pred`; throws after timeoutMs. */
  async waitFor(pred: (m: NotifyMessage) => boolean, timeoutMs: number, what: string, from = 0): Promise<number> {
    return (await waitFor(() => {
      const i = this.messages.findIndex((m, idx) => idx >= from && pred(m));
      return i >= 0 ? i + 1 : null;
    }, { timeoutMs, intervalMs: 20, what: `${what} on ${this.socketPath} (got ${JSON.stringify(this.messages.map((m) => m.raw))})` })) - 1;
  }

  close(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
