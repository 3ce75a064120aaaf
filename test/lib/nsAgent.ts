// A node process inside a network namespace that obeys JSON lines: `{ seq, op, ...args }` on
// its stdin, `{ seq, ok, result | error }` replies and `{ event, ... }` lines on its stdout.
// Integration tests run the real adapters (the addon's sockets, rtnetlink) in one, as root,
// inside a namespace they created: test/integration/native.test.ts, routes-native.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface AgentError extends Error { code?: string }

export class NsAgent<E extends { event: string }> {
  private readonly proc: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  events: E[] = [];
  private waiters: Array<() => void> = [];
  stderr = '';

  /** `nodeArgs`: what follows `node` (a script path, or `--input-type=module -e SOURCE`). */
  constructor(readonly ns: string, nodeArgs: string[]) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, ...nodeArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      let msg: { seq?: number; ok?: boolean; result?: unknown; error?: { name?: string; message: string; code?: string } } & E;
      try { msg = JSON.parse(line); } catch { this.stderr += `(non-JSON) ${line}\n`; return; }
      if (typeof msg.seq === 'number') {
        const p = this.pending.get(msg.seq);
        this.pending.delete(msg.seq);
        if (msg.ok) p?.resolve(msg.result);
        else {
          const err: AgentError = Object.assign(new Error(msg.error!.message), { code: msg.error!.code });
          if (msg.error!.name) err.name = msg.error!.name;
          p?.reject(err);
        }
      } else {
        this.events.push(msg);
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.proc.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`agent in ${ns} exited: ${this.stderr}`));
      this.pending.clear();
    });
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`agent in ${this.ns}: ${op} timed out; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.proc.stdin!.write(`${JSON.stringify({ seq, op, ...args })}\n`);
    });
  }

  /** Takes (removes) the first event matching `pred`, waiting at most `timeoutMs`. */
  async waitEvent(pred: (e: E) => boolean, timeoutMs: number, what: string): Promise<E> {
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; round < 10_000; round++) {
      const i = this.events.findIndex(pred);
      if (i >= 0) return this.events.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    throw new Error(`agent in ${this.ns}: no event '${what}' within ${timeoutMs} ms; ` +
      `pending events: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`);
  }

  dropEvents(): void { this.events = []; }

  /** Ends its stdin (it exits), SIGKILL after 2 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }
}
