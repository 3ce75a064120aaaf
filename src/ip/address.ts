// IPv4/IPv6 addresses, the one module for them: text <-> bytes, family, the canonical text that
// config, the VRRP codec, the LB backends (ipvsadm and nft output read back) and net/ compare,
// and netmask <-> prefix. Pure (no node:net), so every caller can be tested without sockets.
// The Internet checksum is beside it (ip/checksum.ts).

export type Family = 4 | 6;

/** The VRRP multicast groups: RFC 5798 §5.1.1.2 (224.0.0.18) and §5.1.2.2 (ff02::12). */
export const VRRP_GROUP4 = '224.0.0.18', VRRP_GROUP6 = 'ff02::12';

/** Parses a dotted-quad IPv4 address. Leading zeros are refused, as glibc inet_pton does
 *  (an octet like "010" is octal to some tools and decimal to others). */
function parseIp4(s: string, out: Uint8Array, at: number): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return false;
    const n = Number(p);
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

/** Parses IPv6 text (RFC 4291 §2.2: hex groups, one "::", an optional trailing dotted quad).
 *  Zone ids ("%eth0") are refused: VRRP addresses are carried without them. */
function parseIp6(s: string): Uint8Array | undefined {
  if (s.length > 45 || s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const fields = part.split(':');
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (i === fields.length - 1 && f.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIp4(f, v4, 0)) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(f)) return undefined;
        out.push(parseInt(f, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // A dotted quad may only end the address, never sit before "::".
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 0xff; });
  return bytes;
}

export function parseIp(s: string): { family: Family; bytes: Uint8Array } | undefined {
  if (s.includes(':')) {
    const bytes = parseIp6(s);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = new Uint8Array(4);
  return parseIp4(s, bytes, 0) ? { family: 4, bytes } : undefined;
}

/** Formats 4 or 16 bytes. IPv6 follows RFC 5952 §4: lowercase, no leading zeros, the longest
 *  run of two or more zero groups becomes "::" (the first on a tie); §5: an IPv4-mapped
 *  address (::ffff:0:0/96) ends in dotted-quad form. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new RangeError(`formatIp: expected 4 or 16 bytes, got ${b.length}`);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1, bestLen = 1; // a run must be at least 2 groups (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** The text glibc's and libuv's inet_ntop print (what ipvsadm and Node print, so what the
 *  config canonicalised with node:net before): RFC 5952 (formatIp), except that an
 *  IPv4-compatible address (RFC 4291 §2.5.5.1, deprecated: 96 zero bits then an IPv4 address
 *  that is not 0.0.0.0/16) keeps its dotted tail, `::192.0.2.1`. inet_ntop6's rule: the
 *  longest zero run starts at group 0 and is exactly 6 groups long. */
export function inetNtop(b: Uint8Array): string {
  if (b.length === 16 && b.subarray(0, 12).every((x) => x === 0) && (b[12] !== 0 || b[13] !== 0)) {
    return `::${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  return formatIp(b);
}

/** IPv6 text may carry a zone (`fe80::1%eth0`): Node's isIP accepts `%[0-9A-Za-z.:-]+` after an
 *  IPv6 address (lib/internal/net.js) and SocketAddress drops it, so the config always read
 *  `fe80::1%eth0` as `fe80::1`. canonicalIp keeps that; parseIp refuses zones. */
const ZONE = /%[0-9A-Za-z.:-]+$/;

/** Canonical text (inetNtop) and family of an address, or undefined when `s` is not one. The
 *  one canonicaliser: config values, ipvsadm and nft output read back, so canonical texts
 *  compare equal exactly when the addresses are equal. */
export function canonicalIp(s: string): { address: string; family: Family } | undefined {
  const zone = s.includes(':') ? ZONE.exec(s) : null;
  const p = parseIp(zone ? s.slice(0, zone.index) : s);
  return p ? { address: inetNtop(p.bytes), family: p.family } : undefined;
}

/** Prefix length of a contiguous dotted IPv4 netmask (`255.255.255.0` -> 24), else undefined. */
export function netmaskToPrefix(mask: string): number | undefined {
  const p = parseIp(mask);
  if (!p || p.family !== 4) return undefined;
  const n = ((p.bytes[0]! << 24) | (p.bytes[1]! << 16) | (p.bytes[2]! << 8) | p.bytes[3]!) >>> 0;
  const prefix = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : undefined;
}

export function prefixToNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** Compares two addresses of one family as unsigned numbers (network byte order), as the
 *  VRRP tie-break on equal priority needs: RFC 5798 §6.4.3 "the primary IPvX address of the
 *  sender is greater than the local primary IPvX address". Throws on bad text or mixed families. */
export function compareIp(a: string, b: string): number {
  const pa = parseIp(a), pb = parseIp(b);
  if (!pa || !pb) throw new TypeError(`compareIp: not an IP address: ${!pa ? a : b}`);
  if (pa.family !== pb.family) throw new TypeError(`compareIp: different families: ${a} vs ${b}`);
  for (let i = 0; i < pa.bytes.length; i++) {
    const d = pa.bytes[i]! - pb.bytes[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** 224.0.0.0/4 (RFC 5771) or ff00::/8 (RFC 4291 §2.7). Not an address: false. */
export function isMulticast(ip: string): boolean {
  const p = parseIp(ip);
  if (!p) return false;
  return p.family === 4 ? (p.bytes[0]! & 0xf0) === 0xe0 : p.bytes[0] === 0xff;
}

/** True when two address texts name the same address ("2001:DB8::1" equals "2001:db8:0::1"). */
export function sameIp(a: string, b: string): boolean {
  const pa = parseIp(a), pb = parseIp(b);
  if (!pa || !pb || pa.family !== pb.family) return false;
  return pa.bytes.every((x, i) => x === pb.bytes[i]);
}
