// The real-server adapter: reads what realserver/plan.ts needs of this host (links, addresses,
// /proc/sys values), carries out its steps through rtnetlink (net/addresses.ts, net/tunnel.ts)
// and /proc/sys writes (no `ip` or `sysctl` process), and keeps the record of undos. Decides
// nothing: every choice is the planner's.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { addAddress, deleteAddress, listAddresses } from '../net/addresses.js';
import { createTunnel, deleteLink, linkState, setLinkUp } from '../net/tunnel.js';
import type { HostState, RemoveStep, Step, Undo } from './plan.js';

const SYSCTL_DIR = '/proc/sys/net/ipv4/conf';

/** The state of the named links and of the sysctls `dev/name`. */
export function readHostState(links: readonly string[], sysctls: readonly string[]): HostState {
  const state: HostState = { links: {}, addresses: {}, sysctls: {} };
  for (const name of new Set(links)) {
    const l = linkState(name);
    state.links[name] = l;
    state.addresses[name] = l ? listAddressTexts(name) : undefined;
  }
  for (const key of new Set(sysctls)) state.sysctls[key] = readSysctl(key);
  return state;
}

/** A link's addresses as `address/prefixLen`. */
export function listAddressTexts(ifname: string): string[] {
  return listAddresses(ifname).map((a) => `${a.address}/${a.prefixLen}`);
}

export function readSysctl(key: string): number | undefined {
  let text: string;
  try { text = readFileSync(`${SYSCTL_DIR}/${key}`, 'utf8'); } catch { return undefined; }
  const v = Number(text.trim());
  return Number.isInteger(v) ? v : undefined;
}

function writeSysctl(key: string, value: number): void {
  writeFileSync(`${SYSCTL_DIR}/${key}`, `${value}\n`);
}

/** Carries out one step (setup or remove). Throws a SystemError (with its errno code) on failure. */
export function applyStep(s: Step | RemoveStep): void {
  switch (s.kind) {
    case 'create_tunnel': createTunnel(s.name, s.type, s.local); return;
    case 'delete_tunnel': deleteLink(s.name); return;
    case 'link_up': setLinkUp(s.ifname, true); return;
    case 'link_down': setLinkUp(s.ifname, false); return;
    case 'add_address': addAddress(s.ifname, s.address, s.prefixLen); return;
    case 'delete_address': deleteAddress(s.ifname, s.address, s.prefixLen); return;
    case 'set_sysctl': writeSysctl(s.key, s.to); return;
  }
}

/** What the record file holds. */
export interface RealServerRecord {
  version: 1;
  /** The config file it was made from (for the messages). */
  config: string;
  mode: 'DR' | 'TUN';
  /** Undos in the order the steps were taken; --remove runs them newest first. */
  undos: Undo[];
}

/** The record, undefined when there is none; throws on a file that is not one. */
export function readRecord(path: string): RealServerRecord | undefined {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const r = JSON.parse(text) as Partial<RealServerRecord>;
  if (r.version !== 1 || !Array.isArray(r.undos)) throw new Error(`${path} is not a tandem realserver record (version 1)`);
  return r as RealServerRecord;
}

/** Written whole (temporary file, then rename), so a crash leaves the old record or the new one. */
export function writeRecord(path: string, record: RealServerRecord): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
}

export function deleteRecord(path: string): void {
  rmSync(path, { force: true });
}
