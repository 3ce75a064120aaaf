// The kinds of hostile VRRP packet the wire fuzz sends, each with the drop reason the daemon's
// contract names for it (src/vrrp/validate.ts, in keepalived's check order). Every generated
// packet claims a priority above the master's, so one that got past the receive checks would
// make the master step down: the campaign checks the master's state throughout. Within a kind,
// every other field is drawn at random (seeded), so one kind covers many packets that should all
// fail the same check and no earlier one.
import { checksumAcceptable, encodeVrrp, type VrrpMessage } from './frames.js';

export type Rng = () => number;

/** The director under fuzz and the sender, as the lab sets them up (wire.ts). */
export interface WireTopology {
  masterIp4: string;        // lb1's address: the destination of unicast adverts
  masterIp6: string;
  attackerIp4: string;
  attackerIp6: string;      // global
  attackerLinkLocal: string;
}

/** What one generated packet is: IP addressing and the VRRP message bytes. */
export interface WirePacket {
  src: string;
  dst: string;
  ttl: number;
  payload: Uint8Array;
}

export interface WireKind {
  name: string;
  family: 4 | 6;
  /** The drop reason every packet of the kind must be counted under; null = random bytes,
   *  which may fail any check but must never be accepted. */
  reason: string | null;
  make(rng: Rng, t: WireTopology): WirePacket;
}

export const GROUP4 = '224.0.0.18';
export const GROUP6 = 'ff02::12';
export const PASS = 's3cret';

/** The instances the fuzzed master runs (wire.ts renders them for tandem). */
export const INSTANCES = {
  A: { name: 'VI_A', vrid: 51, version: 2 as const, advertInt: 1, vip: '192.0.2.100', unicast: false },
  B: { name: 'VI_B', vrid: 52, version: 3 as const, advertInt: 0.2, vip: '192.0.2.101', unicast: false },
  C: { name: 'VI_C', vrid: 53, version: 3 as const, advertInt: 0.2, vip: '192.0.2.102', unicast: true },
  D: { name: 'VI_D', vrid: 61, version: 3 as const, advertInt: 0.2, vip: '2001:db8::100', unicast: false },
  E: { name: 'VI_E', vrid: 62, version: 3 as const, advertInt: 0.2, vip: '2001:db8::102', unicast: true },
};
type Key = keyof typeof INSTANCES;
const OUR_VRIDS = new Set(Object.values(INSTANCES).map((i) => i.vrid));

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const bytes = (rng: Rng, n: number) => Uint8Array.from({ length: n }, () => int(rng, 0, 255));
/** A priority the master (150) must yield to if the advert were valid. */
const highPriority = (rng: Rng) => int(rng, 151, 254);

/** A valid advert for instance `k` (what its peer would send), with a high priority. */
function valid(rng: Rng, k: Key): VrrpMessage {
  const i = INSTANCES[k];
  return i.version === 2
    ? { version: 2, vrid: i.vrid, priority: highPriority(rng), advertInt: 1, authPass: PASS, addrs: [i.vip] }
    : { version: 3, vrid: i.vrid, priority: highPriority(rng), advertInt: Math.round(i.advertInt * 100), addrs: [i.vip] };
}

/** The addressing a peer of instance `k` would use. */
function route(k: Key, t: WireTopology): { src: string; dst: string } {
  const i = INSTANCES[k];
  const v6 = i.vip.includes(':');
  if (i.unicast) return v6 ? { src: t.attackerIp6, dst: t.masterIp6 } : { src: t.attackerIp4, dst: t.masterIp4 };
  return v6 ? { src: t.attackerLinkLocal, dst: GROUP6 } : { src: t.attackerIp4, dst: GROUP4 };
}

function packet(m: VrrpMessage, ip: { src: string; dst: string }, opts: { ttl?: number; corrupt?: number } = {}): WirePacket {
  return { ...ip, ttl: opts.ttl ?? 255, payload: encodeVrrp(m, ip, { corrupt: opts.corrupt }) };
}

/** A message for `k` with one field changed by `mutate`, sent the way its peer would. */
function variant(k: Key, mutate: (m: VrrpMessage, rng: Rng) => VrrpMessage, opts: { ttl?: (rng: Rng) => number } = {}) {
  return (rng: Rng, t: WireTopology): WirePacket => packet(mutate(valid(rng, k), rng), route(k, t), { ttl: opts.ttl?.(rng) });
}

const v4: Key[] = ['A', 'B', 'C'];
const v4multicast: Key[] = ['A', 'B'];

function kindsFor(family: 4 | 6): WireKind[] {
  const keys: Key[] = family === 4 ? v4 : ['D', 'E'];
  const multicast: Key[] = family === 4 ? v4multicast : ['D'];
  const sfx = family === 4 ? '' : '6';
  const group = family === 4 ? GROUP4 : GROUP6;
  const groupSrc = (t: WireTopology) => (family === 4 ? t.attackerIp4 : t.attackerLinkLocal);
  const ours = (rng: Rng) => pick(rng, keys);
  const list: WireKind[] = [
    {
      name: `too_short${sfx}`, family, reason: 'too_short',
      make: (rng, t) => ({ src: groupSrc(t), dst: group, ttl: 255, payload: bytes(rng, int(rng, 1, 7)) }),
    },
    {
      name: `unknown_vrid${sfx}`, family, reason: 'unknown_vrid',
      make: (rng, t) => {
        const k = ours(rng);
        let vrid = int(rng, 0, 255);
        while (OUR_VRIDS.has(vrid)) vrid = int(rng, 0, 255);
        return packet({ ...valid(rng, k), vrid }, route(k, t));
      },
    },
    {
      name: `bad_length${sfx}`, family, reason: 'bad_length',
      make: (rng, t) => {
        const k = ours(rng);
        const m = valid(rng, k);
        const ip = route(k, t);
        if (rng() < 0.5) {
          // The count says more or fewer addresses than the packet carries.
          let count = int(rng, 0, 255);
          while (count === m.addrs.length) count = int(rng, 0, 255);
          return packet({ ...m, count }, ip);
        }
        // Trailing bytes after a well-formed message (keepalived wants the exact length).
        const p = packet(m, ip);
        const extra = bytes(rng, int(rng, 1, 16));
        const payload = new Uint8Array(p.payload.length + extra.length);
        payload.set(p.payload);
        payload.set(extra, p.payload.length);
        return { ...p, payload };
      },
    },
    {
      // RFC 5798 §7.1: TTL / hop limit 255, checked on multicast instances only (keepalived).
      name: `bad_ttl${sfx}`, family, reason: 'bad_ttl',
      make: (rng, t) => {
        const k = pick(rng, multicast);
        return packet(valid(rng, k), route(k, t), { ttl: int(rng, 1, 254) });
      },
    },
    {
      name: `bad_version${sfx}`, family, reason: 'bad_version',
      make: (rng, t) => {
        const k = ours(rng);
        const m = valid(rng, k);
        let version = int(rng, 0, 15);
        while (version === m.version) version = int(rng, 0, 15);
        // The length rule follows the packet's own version nibble (keepalived
        // expected_vrrp_pkt_len): a v2 nibble over IPv4 carries the 8 auth bytes.
        return packet({ ...m, version }, route(k, t));
      },
    },
    {
      name: `bad_type${sfx}`, family, reason: 'bad_type',
      make: (rng, t) => {
        const k = ours(rng);
        let type = int(rng, 0, 15);
        while (type === 1) type = int(rng, 0, 15);
        return packet({ ...valid(rng, k), type }, route(k, t));
      },
    },
    {
      name: `bad_checksum${sfx}`, family, reason: 'bad_checksum',
      make: (rng, t) => {
        const k = ours(rng);
        const m = valid(rng, k);
        const ip = route(k, t);
        // A corruption that no accepted checksum form (with or without the pseudo-header, the
        // old unicast form) happens to match.
        for (let tries = 0; tries < 100; tries++) {
          const p = packet(m, ip, { corrupt: int(rng, 1, 0xffff) });
          if (!checksumAcceptable(p.payload, ip)) return p;
        }
        throw new Error('no bad checksum found in 100 tries');
      },
    },
    {
      // A multicast advert to a unicast instance, or a unicast one to a multicast instance.
      name: `unicast_multicast_mismatch${sfx}`, family, reason: 'unicast_multicast_mismatch',
      make: (rng, t) => {
        const k = ours(rng);
        const i = INSTANCES[k];
        const master = family === 4 ? t.masterIp4 : t.masterIp6;
        const ip = i.unicast ? { src: groupSrc(t), dst: group } : { src: family === 4 ? t.attackerIp4 : t.attackerIp6, dst: master };
        return packet(valid(rng, k), ip);
      },
    },
    {
      // No advert comes from the unspecified address (0.0.0.0 / ::). The kernel itself drops
      // multicast, broadcast and loopback sources before a raw socket sees them (martians,
      // RFC 1812 §5.3.7 / RFC 4291 §2.5.2), so the unspecified source is the one tandem sees.
      name: `bad_source${sfx}`, family, reason: 'bad_source',
      make: (rng) => {
        const k = pick(rng, multicast);
        return packet(valid(rng, k), { src: family === 4 ? '0.0.0.0' : '::', dst: group });
      },
    },
    {
      name: `random_bytes${sfx}`, family, reason: null,
      make: (rng, t) => {
        const k = ours(rng);
        const ip = route(k, t);
        const payload = bytes(rng, int(rng, 8, 96));
        // Half of them start like one of our adverts, so they get past the VRID lookup.
        if (rng() < 0.5) { payload[0] = (INSTANCES[k].version << 4) | 1; payload[1] = INSTANCES[k].vrid; }
        return { ...ip, ttl: 255, payload };
      },
    },
  ];
  if (family === 4) {
    // v2 only (RFC 3768 §5.3.6, §7.1): authentication and the advert interval.
    list.push(
      { name: 'invalid_auth_type', family, reason: 'invalid_auth_type', make: variant('A', (m, rng) => ({ ...m, authType: int(rng, 3, 255) })) },
      { name: 'auth_type_mismatch', family, reason: 'auth_type_mismatch', make: variant('A', (m, rng) => ({ ...m, authType: pick(rng, [0, 2]) })) },
      {
        name: 'bad_auth', family, reason: 'bad_auth',
        make: variant('A', (m, rng) => {
          let pass = '';
          while (pass === '' || pass === PASS) pass = Array.from({ length: int(rng, 1, 8) }, () => String.fromCharCode(int(rng, 33, 126))).join('');
          return { ...m, authPass: pass };
        }),
      },
      {
        name: 'advert_int_mismatch', family, reason: 'advert_int_mismatch',
        make: variant('A', (m, rng) => {
          let advertInt = int(rng, 0, 255);
          while (advertInt === 1) advertInt = int(rng, 0, 255);
          return { ...m, advertInt };
        }),
      },
    );
  }
  return list;
}

export const WIRE_KINDS: readonly WireKind[] = [...kindsFor(4), ...kindsFor(6)];

/** Valid adverts with the lowest priority: accepted, and the master keeps its role (it answers
 *  with an advert, RFC 9568 / keepalived). The control that proves the sender's frames reach the
 *  daemon's checks at all. */
export function controlPacket(rng: Rng, t: WireTopology): WirePacket {
  return packet({ ...valid(rng, 'B'), priority: 1 }, route('B', t));
}

/** An advert for VRID 250, which the master does not run: counted as unknown_vrid. Sent after
 *  each phase, because the kernel reports a socket's receive-buffer drops with the next packet it
 *  queues there. */
export function flushPacket(family: 4 | 6, t: WireTopology): WirePacket {
  const ip = family === 4 ? { src: t.attackerIp4, dst: GROUP4 } : { src: t.attackerLinkLocal, dst: GROUP6 };
  return packet({ version: 3, vrid: 250, priority: 100, advertInt: 100, addrs: [family === 4 ? '192.0.2.250' : '2001:db8::250'] }, ip);
}
