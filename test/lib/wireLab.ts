// The lab of the wire tests (wire-input, wire-source, wire-flood): a tandem master `lb1` and a
// `client` that sends crafted packets, on one bridge, after the same preconditions.
import type { DirectorSpec } from './director-spec.js';
import { Lab, requireLabTools } from './netns.js';
import { Tandem, requireTandemBuilt } from './tandem.js';

/** Root, ip, sysctl and `tools`, a built tandem, then the lab: lb1 192.0.2.1/24 and client
 *  192.0.2.50/24, with 2001:db8::1/64 and 2001:db8::50/64 as well when `ipv6`. */
export async function wireLab(o: { ipv6: boolean; tools?: string[] }): Promise<Lab> {
  requireLabTools(...(o.tools ?? []));
  requireTandemBuilt();
  return Lab.create({
    prefix: 'tC',
    nodes: [
      { name: 'lb1', ipv4: ['192.0.2.1/24'], ...(o.ipv6 ? { ipv6: ['2001:db8::1/64'] } : {}) },
      { name: 'client', ipv4: ['192.0.2.50/24'], ...(o.ipv6 ? { ipv6: ['2001:db8::50/64'] } : {}) },
    ],
  });
}

/** tandem on lb1 (router id lb1) with these instances, once every one of them is MASTER. */
export async function startWireMaster(lab: Lab, instances: DirectorSpec['instances']): Promise<Tandem> {
  const tandem = await Tandem.start(lab, lab.node('lb1'), { routerId: 'lb1', instances });
  for (const i of instances) await tandem.waitForState(i.name, 'MASTER', 15_000);
  return tandem;
}
