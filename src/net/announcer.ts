// Announcement adapter: sends the frames built by announce.ts on one interface through one
// AF_PACKET socket that stays open (closing one waits ~12 ms for an RCU grace period, too slow
// for the first GARP that must follow the first advert within a millisecond).
import { readFileSync } from 'node:fs';
import { buildGarp, buildUnsolicitedNa, parseMac } from './announce.js';
import { linkInfo } from './addresses.js';
import { nativeAddon } from './native.js';

export interface Announcer {
  /** One gratuitous ARP for an IPv4 VIP. Throws a SystemError (e.g. ENETDOWN) on failure. */
  garp(ip: string): void;
  /** One unsolicited neighbour advertisement for an IPv6 VIP. */
  unsolicitedNa(ip: string): void;
  /** Idempotent; later sends throw EBADF. */
  close(): void;
}

/** Opens the socket and reads the interface's MAC once; reopen if the interface is recreated. */
export function openAnnouncer(ifname: string): Announcer {
  const link = linkInfo(ifname);
  if (link === undefined) {
    throw Object.assign(new Error(`openAnnouncer: no interface ${ifname}`), { code: 'ENODEV' });
  }
  const mac = parseMac(link.mac);
  const sock = new (nativeAddon().PacketSocket)(ifname);
  return {
    garp: (ip) => sock.send(buildGarp(mac, ip)),
    unsolicitedNa: (ip) => sock.send(buildUnsolicitedNa(mac, ip, { router: ipv6Forwarding(ifname) })),
    close: () => sock.close(),
  };
}

// Like keepalived (vrrp_ndisc.c), set the NA Router flag from the interface's forwarding
// setting, read at each send because an operator may change it: an LVS-NAT director is its
// real servers' default router, and R=0 would make them drop it (RFC 4861 §7.2.5).
function ipv6Forwarding(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
