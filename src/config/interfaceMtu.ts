// The MTU of a network interface on this machine, for the VIP limit (vipLimit.ts). sysfs shows
// the interfaces of the network namespace it was mounted for (`ip netns exec` mounts one for the
// namespace it enters), the same ones the daemon's sockets will use.
import { readFileSync } from 'node:fs';

/** The interface's MTU, or undefined when there is no interface by that name here. */
export function interfaceMtu(ifname: string): number | undefined {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..') return undefined;
  let text: string;
  try { text = readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8'); } catch { return undefined; }
  const mtu = Number(text.trim());
  return Number.isSafeInteger(mtu) && mtu > 0 ? mtu : undefined;
}
