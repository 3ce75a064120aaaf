// /proc/net/ip_vs as the kernel-tier and benchmark agents read it inside the VM, and their
// bounded wait for a condition.
import { readFileSync } from 'node:fs';

/** Services and real servers in /proc/net/ip_vs, and the dest keys (hex, as the kernel prints them). */
export function procTable(): { services: number; dests: number; has: (svc: string, dest: string) => boolean } {
  const text = readFileSync('/proc/net/ip_vs', 'utf8');
  const entries = new Set<string>();
  let services = 0;
  let dests = 0;
  let current = '';
  for (const line of text.split('\n')) {
    const s = /^(TCP|UDP|SCTP)\s+([0-9A-F]+:[0-9A-F]+)\s/.exec(line);
    if (s) { services++; current = s[2]!; continue; }
    const d = /^\s+->\s+([0-9A-F]+:[0-9A-F]+)\s/.exec(line);
    if (d) { dests++; entries.add(`${current} ${d[1]}`); }
  }
  return { services, dests, has: (svc, dest) => entries.has(`${svc} ${dest}`) };
}

/** "192.0.2.58", 80 -> "C000023A:0050", the /proc/net/ip_vs spelling. */
export function procAddr(address: string, port: number): string {
  const hex = address.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).join('');
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Polls `cond` every `pollMs` until it holds; an error naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, pollMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
