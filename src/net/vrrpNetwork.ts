// The real VRRP network port (vrrp/network.ts): a thin object over the net/ adapters, built once
// by the daemon and handed to the VRRP router.
import type { VrrpNetwork } from '../vrrp/network.js';
import { addAddress, deleteAddress, linkInfo, listAddresses } from './addresses.js';
import { buildGarp, buildUnsolicitedNa } from './announce.js';
import { openAnnouncer } from './announcer.js';
import { watchNetlink } from './netlinkWatch.js';
import { openVrrpSocket, receiveBufferBytes } from './vrrpSocket.js';

export function createVrrpNetwork(): VrrpNetwork {
  return {
    openSocket: (req) => openVrrpSocket(req),
    receiveBufferBytes: (load) => receiveBufferBytes(load),
    openAnnouncer: (ifname) => openAnnouncer(ifname),
    addAddress: (ifname, address, prefixLen) => addAddress(ifname, address, prefixLen),
    deleteAddress: (ifname, address, prefixLen) => deleteAddress(ifname, address, prefixLen),
    listAddresses: (ifname) => listAddresses(ifname),
    linkInfo: (ifname) => linkInfo(ifname),
    warmUpAnnouncements: (addresses) => {
      for (const a of addresses) (a.family === 4 ? buildGarp : buildUnsolicitedNa)(new Uint8Array(6), a.address);
    },
    watch: (onEvent, onError) => watchNetlink(onEvent, onError),
  };
}
