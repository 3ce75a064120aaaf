// Helpers for tests that run real scripts: a temp dir of /bin/sh scripts, and process liveness
// read from /proc (a zombie counts as gone: it runs nothing and only waits to be reaped).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class ScriptDir {
  readonly dir: string;
  constructor(prefix = 'tandem-alert-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    // mkdtemp makes it 0700; scripts run as another user (script_user) must reach their files.
    chmodSync(this.dir, 0o755);
  }
  /** Write an executable /bin/sh script; returns its path. */
  script(name: string, body: string, mode = 0o755): string {
    const p = join(this.dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, mode);
    return p;
  }
  path(name: string): string {
    return join(this.dir, name);
  }
  read(name: string): string {
    try {
      return readFileSync(join(this.dir, name), 'utf8');
    } catch {
      return '';
    }
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** true while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Poll until cond() or the deadline; bounded in time. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** Best-effort SIGKILL of a process (group with negative pid) a test started. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}
