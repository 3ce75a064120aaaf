// Runs a table tool (ipvsadm, nft) from an argv, no shell: its input on stdin, its output
// collected up to a bound, killed at a timeout. Both table backends that spawn a process use it;
// each turns a failure into its own error type through `fail`.
import { spawn } from 'node:child_process';

export interface ToolResult { code: number | null; stdout: string; stderr: string }

export type ToolFailure = 'spawn_failed' | 'timeout' | 'output_too_large';

export interface RunToolOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  /** The backend's error for a run that produced no exit status. */
  fail(code: ToolFailure, message: string, stderr: string): Error;
}

/** A table backend's error: what failed (the backend's code), the message and the tool's stderr.
 *  Each backend names its own subclass. */
export class ToolError<C extends string> extends Error {
  constructor(readonly code: C, message: string, readonly stderr = '') {
    super(message);
  }
}

export function runTool(bin: string, args: readonly string[], input: string | undefined, o: RunToolOptions): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(o.fail('spawn_failed', `cannot run ${bin}: ${(e as Error).message}`, ''));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let failed = false;
    // Killed for a timeout or too much output: settle at once and drop the pipes, rather than
    // wait for 'close', which a grandchild still holding them could postpone indefinitely.
    const abandon = (code: ToolFailure, message: string): void => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      child.stdin.destroy();
      reject(o.fail(code, message, Buffer.concat(err).toString('utf8')));
    };
    const timer = setTimeout(() => abandon('timeout', `${bin} ${args.join(' ')} took more than ${o.timeoutMs} ms`), o.timeoutMs);
    const collect = (into: Buffer[]) => (b: Buffer): void => {
      size += b.length;
      if (size > o.maxOutputBytes) {
        abandon('output_too_large', `${bin} printed more than ${o.maxOutputBytes} bytes`);
        return;
      }
      into.push(b);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    // EPIPE when the tool dies before reading its input: the exit status says what happened.
    child.stdin.on('error', () => {});
    child.once('error', (e) => {
      clearTimeout(timer);
      if (failed) return;
      failed = true;
      reject(o.fail('spawn_failed', `cannot run ${bin}: ${e.message}`, ''));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (failed) return;
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(input ?? '');
  });
}
