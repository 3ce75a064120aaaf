// What the lab takes from conf/lab-lb1.yaml and conf/lab-lb2.yaml: the daemons run those files
// unchanged, so the lab reads from them what it must know (VIPs, the virtual server, the real
// servers, the status sockets and pages) and checks that they fit the network it builds
// (topology.ts). An edited config that no longer fits fails here, before anything is created,
// with a message that says what does not fit.
import { join } from 'node:path';
import { formatConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/model.js';
import { destKey } from '../config/lbModel.js';
import { ADDRESSES, type DirectorName } from './topology.js';

export interface DirectorPlan {
  name: DirectorName;
  configFile: string;
  statusSocket: string;
  /** `http://203.0.113.1:9650/`, or null without metrics_listen. */
  pageUrl: string | null;
  priority: number;
  instances: Array<{ name: string; interface: string; vips: string[] }>;
  /** global.backend: ipvs, nft or auto. */
  backend: string;
}

export interface LabPlan {
  directors: Record<DirectorName, DirectorPlan>;
  /** VIP and port of the virtual server the client uses. */
  vip: string;
  port: number;
  serviceKey: string;
  /** In the order of ADDRESSES.realServers: name rs1.., dest key as in the status document. */
  realServers: Array<{ name: string; address: string; port: number; destKey: string }>;
  /** The VIPs that move, with their interface and prefix length (for a director's "reboot"). */
  vipsByInterface: Array<{ ifname: string; cidr: string }>;
}

export class LabPlanError extends Error {}

/** The conf directory of this checkout (dist/src/lab/ -> repository root). */
export function defaultConfDir(): string {
  return new URL('../../../conf/', import.meta.url).pathname;
}

function load(file: string): Config {
  const r = loadConfigFile(file);
  if (!r.ok) {
    throw new LabPlanError(`${file} is not a valid tandem config:\n${r.errors.map((e) => `  ${formatConfigError(e)}`).join('\n')}`);
  }
  return r.config;
}

export function labPlan(confDir = defaultConfDir()): LabPlan {
  const files = { lb1: join(confDir, 'lab-lb1.yaml'), lb2: join(confDir, 'lab-lb2.yaml') };
  const configs = { lb1: load(files.lb1), lb2: load(files.lb2) };
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => { if (!ok) problems.push(what); };

  const directors = {} as Record<DirectorName, DirectorPlan>;
  for (const d of ['lb1', 'lb2'] as const) {
    const c = configs[d];
    const listen = c.global.metricsListen;
    need(!listen || listen.host === ADDRESSES[d].mgmt, `${files[d]}: metrics_listen should be on ${ADDRESSES[d].mgmt} (the lab's management address of ${d})`);
    directors[d] = {
      name: d,
      configFile: files[d],
      statusSocket: c.global.statusSocket,
      pageUrl: listen ? `http://${listen.host}:${listen.port}/` : null,
      priority: Math.max(...c.vrrpInstances.map((i) => i.priority)),
      instances: c.vrrpInstances.map((i) => ({ name: i.name, interface: i.interface, vips: i.vips.map((v) => v.address) })),
      backend: c.global.backend,
    };
  }
  need(directors.lb1.priority > directors.lb2.priority, `lb1 must have the higher priority (lb1 ${directors.lb1.priority}, lb2 ${directors.lb2.priority}): the lab expects lb1 to be the master`);
  need(directors.lb1.statusSocket !== directors.lb2.statusSocket, 'the two directors need different status_socket paths');

  const vs = configs.lb1.virtualServers[0];
  if (!vs || vs.service.id.kind === 'fwmark') throw new LabPlanError(`${files.lb1}: the lab needs a virtual server with an address and port`);
  const id = vs.service.id;
  const vipInstances = configs.lb1.vrrpInstances.filter((i) => i.vips.some((v) => v.address === id.address));
  need(vipInstances.length === 1 && vipInstances[0]!.interface === 'eth0', `${files.lb1}: the virtual server's address ${id.address} should be a VIP of one instance on eth0 (the front network)`);
  need(configs.lb1.vrrpInstances.some((i) => i.interface === 'eth1' && i.vips.some((v) => v.address === ADDRESSES.gateway)),
    `${files.lb1}: the real servers' gateway ${ADDRESSES.gateway} should be a VIP on eth1 (the back network)`);
  const rsAddresses = vs.realServers.map((r) => r.dest.address);
  need(rsAddresses.length === ADDRESSES.realServers.length && ADDRESSES.realServers.every((a) => rsAddresses.includes(a)),
    `${files.lb1}: the real servers should be ${ADDRESSES.realServers.join(', ')} (the lab's back network), got ${rsAddresses.join(', ')}`);
  need(JSON.stringify(configs.lb2.virtualServers.map((v) => v.key)) === JSON.stringify(configs.lb1.virtualServers.map((v) => v.key)),
    'lab-lb1.yaml and lab-lb2.yaml should have the same virtual servers');
  if (problems.length) throw new LabPlanError(`conf/lab-lb*.yaml do not fit the lab's network:\n${problems.map((p) => `  ${p}`).join('\n')}`);

  const realServers = ADDRESSES.realServers.map((address, i) => {
    const rs = vs.realServers.find((r) => r.dest.address === address)!;
    return { name: `rs${i + 1}`, address, port: rs.dest.port, destKey: destKey(rs.dest) };
  });
  const vipsByInterface = configs.lb1.vrrpInstances.flatMap((i) => i.vips.map((v) => ({ ifname: i.interface, cidr: `${v.address}/${v.prefixLen}` })));
  return { directors, vip: id.address, port: id.port, serviceKey: vs.key, realServers, vipsByInterface };
}
