// `ipvsadm-save -n` (= `ipvsadm -S -n`) output -> LbTable, pure. The format, as ipvsadm 1.31
// prints it (ipvsadm.c print_service_entry() with FMT_RULE; golden samples captured from the real
// tool on a real IPVS kernel in test/fixtures/ipvs/):
//   -A -t 192.0.2.101:443 -s rr -p 300
//   -A -t 192.0.2.102:80 -s lc -p 600 -M 255.255.255.0
//   -A -u 192.0.2.100:53 -s wlc -o
//   -A -u 192.0.2.103:5060 -s rr -p 60 --pe sip
//   -A --sctp-service 192.0.2.104:3868 -s sh -b sh-fallback,sh-port
//   -A -f 2 -6 -s rr -p 120 -M 64
//   -a -t 192.0.2.100:80 -r 198.51.100.12:8080 -m -w 3
//   -a -t 192.0.2.102:80 -r 198.51.100.32:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
//   -a -f 2 -6 -r [2001:db8:1::11]:0 -g -w 1
// Hand-written rule files (ipvsadm -R input) are accepted too: `#` comments, an optional leading
// `ipvsadm`, long options, and ipvsadm's defaults for what is left out (scheduler wlc,
// forwarding DR, weight 1, `-p` alone = 360 s). A line that cannot be understood is reported in
// `problems` and skipped; it never throws.
import { canonicalIp, type Family, netmaskToPrefix } from '../../ip/address.js';
import {
  destKey, type Forwarding, type Protocol, type RealServer, type ServiceAddress, serviceKey, type Tunnel,
  type TunnelCsum, type VirtualService,
} from '../../config/lbModel.js';
import type { LbTable, ServiceEntry } from '../model.js';

export interface ParseProblem {
  line: number; // 1-based
  text: string;
  reason: string;
}

export interface ParseResult {
  table: LbTable;
  problems: ParseProblem[];
}

/** ipvsadm's default persistence timeout for a bare `-p` (ipvsadm 1.31 prints `-p 360`). */
const DEFAULT_PERSISTENCE_S = 360;

export function parseIpvsSave(text: string): ParseResult {
  const table = new Map<string, ServiceEntry>();
  const problems: ParseProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const r = parseLine(line);
    if ('problem' in r) {
      problems.push({ line: i + 1, text: line, reason: r.problem });
      return;
    }
    const key = serviceKey(r.service);
    if (r.kind === 'service') {
      if (table.has(key)) problems.push({ line: i + 1, text: line, reason: `${key} appears twice` });
      else table.set(key, { service: r.value, dests: new Map() });
      return;
    }
    const entry = table.get(key);
    if (!entry) {
      problems.push({ line: i + 1, text: line, reason: `real server of ${key}, which is not defined before it` });
      return;
    }
    (entry.dests as Map<string, RealServer>).set(destKey(r.value), r.value);
  });
  return { table, problems };
}

type Parsed =
  | { kind: 'service'; service: ServiceAddress; value: VirtualService }
  | { kind: 'dest'; service: ServiceAddress; value: RealServer }
  | { problem: string };

const LONG: Record<string, string> = {
  '--add-service': '-A', '--add-server': '-a', '--tcp-service': '-t', '--udp-service': '-u',
  '--fwmark-service': '-f', '--ipv6': '-6', '--scheduler': '-s', '--persistent': '-p', '--netmask': '-M',
  '--real-server': '-r', '--masquerading': '-m', '--gatewaying': '-g', '--ipip': '-i', '--weight': '-w',
  '--u-threshold': '-x', '--l-threshold': '-y', '--ops': '-o', 'ops': '-o', '--sched-flags': '-b', 'pe': '--pe',
};

function parseLine(line: string): Parsed {
  const words = line.split(/\s+/);
  if (words[0] === 'ipvsadm') words.shift();
  let command: '-A' | '-a' | undefined;
  let proto: Protocol | undefined, serviceText: string | undefined, fwmark: number | undefined, v6 = false;
  let scheduler = 'wlc', timeoutS: number | undefined, netmask: string | undefined, pe: string | null = null;
  let ops = false, schedFlags: string[] = [];
  let destText: string | undefined, forwarding: Forwarding = 'DR', weight = 1;
  let tunType: string | undefined, tunPort: number | undefined, tunCsum: TunnelCsum | undefined;

  for (let i = 0; i < words.length; i++) {
    const w = LONG[words[i]!] ?? words[i]!;
    const arg = (): string | undefined => words[++i];
    switch (w) {
      case '-A': case '-a':
        if (command) return { problem: 'more than one command' };
        command = w;
        break;
      case '-t': proto = 'TCP'; serviceText = arg(); break;
      case '-u': proto = 'UDP'; serviceText = arg(); break;
      case '--sctp-service': proto = 'SCTP'; serviceText = arg(); break;
      case '-f': {
        const n = uint(arg());
        if (n === undefined || n < 1 || n > 0xffffffff) return { problem: 'bad fwmark' };
        fwmark = n;
        break;
      }
      case '-6': v6 = true; break;
      case '-s': { const s = arg(); if (!s) return { problem: 'missing scheduler' }; scheduler = s; break; }
      case '-p': {
        // The timeout is optional (popt POPT_ARGFLAG_OPTIONAL): take the next word only if numeric.
        const next = words[i + 1];
        if (next !== undefined && /^\d+$/.test(next)) { timeoutS = Number(next); i++; } else timeoutS = DEFAULT_PERSISTENCE_S;
        break;
      }
      case '-M': netmask = arg(); break;
      case '--pe': { const s = arg(); if (!s) return { problem: 'missing persistence engine' }; pe = s; break; }
      case '-o': ops = true; break;
      case '-b': schedFlags = (arg() ?? '').split(',').filter((f) => f !== '').sort(); break;
      case '-r': destText = arg(); break;
      case '-m': forwarding = 'NAT'; break;
      case '-g': forwarding = 'DR'; break;
      case '-i': forwarding = 'TUN'; break;
      case '-w': {
        const n = uint(arg());
        if (n === undefined) return { problem: 'bad weight' };
        weight = n;
        break;
      }
      case '-x': case '-y': if (uint(arg()) === undefined) return { problem: `bad ${w} threshold` }; break;
      case '--tun-type': tunType = arg(); break;
      case '--tun-port': tunPort = uint(arg()); if (tunPort === undefined) return { problem: 'bad tunnel port' }; break;
      case '--tun-nocsum': tunCsum = 'nocsum'; break;
      case '--tun-csum': tunCsum = 'csum'; break;
      case '--tun-remcsum': tunCsum = 'remcsum'; break;
      default:
        return { problem: `unknown option ${JSON.stringify(words[i])}` };
    }
  }
  if (!command) return { problem: 'not an -A (service) or -a (real server) line' };

  let service: ServiceAddress;
  if (fwmark !== undefined) {
    if (serviceText !== undefined) return { problem: 'both a fwmark and an address' };
    service = { kind: 'fwmark', family: v6 ? 6 : 4, fwmark };
  } else {
    if (!proto || serviceText === undefined) return { problem: 'no service (-t, -u, --sctp-service or -f)' };
    const hp = hostPortOf(serviceText);
    if (!hp || hp.port === 0) return { problem: `bad service address ${JSON.stringify(serviceText)}` };
    service = { kind: 'inet', family: hp.family, protocol: proto, address: hp.address, port: hp.port };
  }

  if (command === '-A') {
    let persistence: VirtualService['persistence'] = null;
    if (timeoutS !== undefined) {
      const full = service.family === 6 ? 128 : 32;
      let prefix = full;
      if (netmask !== undefined) {
        const p = service.family === 6 ? (/^\d+$/.test(netmask) ? Number(netmask) : undefined) : netmaskToPrefix(netmask);
        if (p === undefined || p > full) return { problem: `bad netmask ${JSON.stringify(netmask)}` };
        prefix = p;
      }
      persistence = { timeoutS, netmaskPrefix: prefix };
    }
    return { kind: 'service', service, value: { id: service, scheduler, persistence, pe, ops, schedFlags } };
  }

  if (destText === undefined) return { problem: 'real server line without -r' };
  const d = hostPortOf(destText);
  if (!d) return { problem: `bad real server address ${JSON.stringify(destText)}` };
  let tunnel: Tunnel | null = null;
  if (forwarding === 'TUN') {
    if (tunType === undefined || tunType === 'ipip') tunnel = { type: 'ipip' };
    else if (tunType === 'gue') tunnel = { type: 'gue', port: tunPort ?? 0, csum: tunCsum ?? 'nocsum' };
    else if (tunType === 'gre') tunnel = { type: 'gre', csum: tunCsum ?? 'nocsum' };
    else return { problem: `unknown tunnel type ${JSON.stringify(tunType)}` };
  }
  // ipvsadm itself gives a DR or TUN real server the service's port ("The destination port must
  // be equal to the service port"), so a rule file and the saved table agree.
  const port = forwarding !== 'NAT' && service.kind === 'inet' ? service.port : d.port;
  return { kind: 'dest', service, value: { family: d.family, address: d.address, port, forwarding, weight, tunnel } };
}

/** `192.0.2.1:80`, `[2001:db8::1]:80`, `192.0.2.1`, `2001:db8::1` (no port = 0). */
function hostPortOf(s: string): { address: string; family: Family; port: number } | undefined {
  let host: string, port = 0;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (s.split(':').length === 2) {
    const [h, p] = s.split(':') as [string, string];
    if (!/^\d+$/.test(p)) return undefined;
    host = h;
    port = Number(p);
  } else host = s;
  if (port > 65535) return undefined;
  const ip = canonicalIp(host);
  if (!ip || (v6 && ip.family !== 6)) return undefined;
  return { ...ip, port };
}

function uint(s: string | undefined): number | undefined {
  return s !== undefined && /^\d{1,10}$/.test(s) ? Number(s) : undefined;
}
