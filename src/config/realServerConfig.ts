// `tandem realserver -f FILE`: the real server's own small config (issue 16 §5), loaded like the
// director's: YAML with positions, every key validated by config/fields.ts, every error located
// `file:line:col` (config/errors.ts), and a bad file refused whole. What the keys mean and why:
// src/realserver/plan.ts and README ("Real servers for LVS-DR and LVS-TUN").
//
//   mode: DR | TUN               required
//   interface: eth0              required: where the director's packets arrive (arp sysctls)
//   vips: [192.0.2.10, ...]      required: host addresses (/32, /128, or bare)
//   tunnel:                      TUN only
//     name: tunl0                default tunl0 (family 4) / ip6tnl0 (family 6): the kernel's
//                                fallback device, which receives every tunnelled packet no other
//                                tunnel claims; another name is a device tandem creates
//     family: 4                  the outer (director -> real server) family: 4 ipip, 6 ip6tnl
//     local: 198.51.100.11       this server's address the director tunnels to: required for a
//                                device tandem creates (a second wildcard tunnel would clash with
//                                the fallback device: the kernel refuses it, EEXIST)
//   record_file: PATH            default /run/tandem/realserver.json: what --remove undoes
import { isAbsolute } from 'node:path';
import { LineCounter, parseDocument } from './yaml.js';
import type { Node } from 'yaml';
import { inFileOrder, type ConfigIssue } from './errors.js';
import { cidr, field, integer, ipAddress, list, nodeOf, object, oneOf, report, string, type Ctx } from './fields.js';
import { readConfigText } from './readText.js';
import { displayName } from './load.js';

export type RealServerMode = 'DR' | 'TUN';

export interface RealServerVip { address: string; family: 4 | 6; prefixLen: 32 | 128 }

export interface RealServerTunnel {
  name: string;
  /** Outer family: 4 = an ipip device, 6 = an ip6tnl device. */
  family: 4 | 6;
  kind: 'ipip' | 'ip6tnl';
  /** The kernel's fallback device of that kind (tunl0, ip6tnl0): exists once the module is loaded,
   *  is never created nor deleted by tandem. */
  fallback: boolean;
  local?: string;
}

export interface RealServerConfig {
  file: string;
  mode: RealServerMode;
  interface: string;
  vips: RealServerVip[];
  /** Present exactly when mode is TUN. */
  tunnel?: RealServerTunnel;
  recordFile: string;
}

export type RealServerLoad =
  | { ok: true; config: RealServerConfig }
  | { ok: false; errors: ConfigIssue[] };

export const DEFAULT_RECORD_FILE = '/run/tandem/realserver.json';
/** The kernel's fallback tunnel devices (net/ipv4/ipip.c ipip_init_net, net/ipv6/ip6_tunnel.c ip6_tnl_init_net). */
export const FALLBACK_TUNNELS = { 4: 'tunl0', 6: 'ip6tnl0' } as const;

const ifname = string({ pattern: /^[A-Za-z0-9_.:@-]{1,15}$/, what: 'an interface name (1..15 characters)' });

const tunnelShape = object({
  name: field(ifname),
  family: field(integer(4, 6)),
  local: field(ipAddress),
});

const realServerShape = object({
  mode: field(oneOf(['DR', 'TUN'] as const), { required: true }),
  interface: field(ifname, { required: true }),
  vips: field(list(cidr, { min: 1 }), { required: true }),
  tunnel: field(tunnelShape),
  record_file: field(string({ what: 'an absolute path' })),
});

export function loadRealServerFile(path: string): RealServerLoad {
  const shown = displayName(path);
  const read = readConfigText(path, shown);
  if (!read.ok) return { ok: false, errors: [read.issue] };
  return loadRealServerText(read.text, shown);
}

export function loadRealServerText(text: string, file: string): RealServerLoad {
  const lineCounter = new LineCounter();
  const ctx: Ctx = { file, lineCounter, issues: [] };
  const refused = (): RealServerLoad => ({ ok: false, errors: inFileOrder(ctx.issues.filter((i) => i.severity === 'error')) });
  // uniqueKeys off: object() reports a duplicate key itself, at the key, with its path.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  for (const e of doc.errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    ctx.issues.push({ severity: 'error', file, line, col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
  }
  if (ctx.issues.length) return refused();
  const root = doc.contents as Node | null;
  if (root === null) {
    return { ok: false, errors: [{ severity: 'error', file, path: '', message: text.trim() === '' ? 'the file is empty' : 'the file has only comments' }] };
  }
  const raw = realServerShape({ node: root, path: '' }, ctx);
  if (!raw) return refused();

  const vips: RealServerVip[] = [];
  const seen = new Set<string>();
  const vipNodes = nodeOf(root, 'vips') as { items?: Node[] } | undefined;
  raw.vips.forEach((v, i) => {
    const at = vipNodes?.items?.[i];
    const host = v.family === 4 ? 32 : 128;
    if (v.prefixLen !== host) {
      // A wider prefix on lo makes the whole subnet local to this server (every address of it is
      // answered here and never routed): the LVS recipe is the host address alone.
      report(ctx, at, `vips[${i}]`, `a VIP on a real server is a host address: /${host} (or the bare address), got /${v.prefixLen}`);
    } else if (seen.has(v.address)) {
      report(ctx, at, `vips[${i}]`, `${v.address} is listed twice`);
    } else {
      seen.add(v.address);
      vips.push({ address: v.address, family: v.family, prefixLen: host });
    }
  });

  const tunnelNode = nodeOf(root, 'tunnel');
  let tunnel: RealServerTunnel | undefined;
  if (raw.mode === 'DR' && raw.tunnel) {
    report(ctx, tunnelNode, 'tunnel', 'only for mode TUN (a DR real server takes the VIPs on lo)');
  }
  if (raw.mode === 'TUN') tunnel = tunnelOf(raw.tunnel ?? {}, tunnelNode, vips, ctx);

  const recordFile = raw.record_file ?? DEFAULT_RECORD_FILE;
  if (!isAbsolute(recordFile)) report(ctx, nodeOf(root, 'record_file'), 'record_file', `expected an absolute path, got ${JSON.stringify(recordFile)}`);
  if (raw.mode === 'DR' && raw.interface === 'lo') {
    report(ctx, nodeOf(root, 'interface'), 'interface', 'the interface the director\'s packets arrive on (its arp sysctls are set), not lo');
  }
  if (ctx.issues.some((i) => i.severity === 'error')) return refused();
  return { ok: true, config: { file, mode: raw.mode, interface: raw.interface, vips, tunnel, recordFile } };
}

function tunnelOf(t: { name?: string; family?: number; local?: { address: string; family: 4 | 6 } }, node: Node | undefined,
  vips: readonly RealServerVip[], ctx: Ctx): RealServerTunnel | undefined {
  const at = (key: string) => nodeOf(node, key) ?? node;
  if (t.family !== undefined && t.family !== 4 && t.family !== 6) {
    report(ctx, at('family'), 'tunnel.family', `expected 4 (ipip) or 6 (ip6tnl), got ${t.family}`);
    return undefined;
  }
  const family: 4 | 6 = (t.family as 4 | 6 | undefined) ?? t.local?.family ?? 4;
  const kind = family === 4 ? 'ipip' : 'ip6tnl';
  const name = t.name ?? FALLBACK_TUNNELS[family];
  const fallback = name === FALLBACK_TUNNELS[family];
  let ok = true;
  if (name === FALLBACK_TUNNELS[family === 4 ? 6 : 4] || name === 'lo') {
    report(ctx, at('name'), 'tunnel.name', `${name} is not an ${kind} device`);
    ok = false;
  }
  if (t.local && t.local.family !== family) {
    report(ctx, at('local'), 'tunnel.local', `an IPv${t.local.family} address for an IPv${family} (${kind}) tunnel`);
    ok = false;
  }
  if (fallback && t.local) {
    report(ctx, at('local'), 'tunnel.local', `${name} is the kernel's fallback device: it has no local address (name another device to have one created with it)`);
    ok = false;
  }
  if (!fallback && !t.local) {
    report(ctx, node, 'tunnel', `a device tandem creates (${name}) needs local: (this server's address the director tunnels to); ` +
      `a wildcard one would clash with the kernel's ${FALLBACK_TUNNELS[family]}`);
    ok = false;
  }
  vips.forEach((v, i) => {
    // ipip carries IPv4 only (IPPROTO_IPIP; IPv6 in IPv4 is sit). The fallback ip6tnl0 takes
    // IPv6-in-IPv6 only (net/ipv6/ip6_tunnel.c ip6_fb_tnl_dev_init: proto IPPROTO_IPV6); a device
    // tandem creates is "mode any" (proto 0) and carries both.
    if (v.family === 6 && family === 4) {
      report(ctx, node, `vips[${i}]`, `${v.address}: an ipip tunnel carries IPv4 only (use tunnel family 6)`);
      ok = false;
    } else if (v.family === 4 && family === 6 && fallback) {
      report(ctx, node, `vips[${i}]`, `${v.address}: ${name} carries IPv6-in-IPv6 only (name another ip6tnl device, with local:, to carry IPv4 too)`);
      ok = false;
    }
  });
  if (!ok) return undefined;
  return { name, family, kind, fallback, ...(t.local ? { local: t.local.address } : {}) };
}
