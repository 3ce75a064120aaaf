// A director pair on one bridge with a client and the wire observer: the fixture that the
// failover and interop tests share. Directors lb1 (192.0.2.1, 2001:db8::1) and lb2 (.2, ::2),
// client (.50, ::50); each director runs tandem or keepalived from the same DirectorSpec.
import assert from 'node:assert/strict';
import type { DirectorSpec, VrrpInstanceSpec } from './director-spec.js';
import { Keepalived } from './keepalived.js';
import { Lab, requireLabTools, waitFor, type LabNode } from './netns.js';
import { Observer, masterDownIntervalS } from './observer.js';
import { Tandem, requireTandemBuilt } from './tandem.js';

export interface Profile {
  id: string;
  family: 4 | 6;
  version: 2 | 3;
  /** Seconds. */
  advertInt: number;
  vip: string;
  vipCidr: string;
  authPass?: string;
  /** Unicast adverts between the directors' IPv4 addresses instead of multicast. */
  unicast?: boolean;
}

export const V2_IPV4: Profile = { id: 'v2 IPv4', family: 4, version: 2, advertInt: 1, vip: '192.0.2.100', vipCidr: '192.0.2.100/24', authPass: 's3cret' };
export const V3_IPV4: Profile = { id: 'v3 IPv4', family: 4, version: 3, advertInt: 0.5, vip: '192.0.2.100', vipCidr: '192.0.2.100/24' };
export const V3_IPV6: Profile = { id: 'v3 IPv6', family: 6, version: 3, advertInt: 0.5, vip: '2001:db8::100', vipCidr: '2001:db8::100/64' };
export const V3_IPV4_UNICAST: Profile = { ...V3_IPV4, id: 'v3 IPv4 unicast', unicast: true };

export class Pair {
  private constructor(
    readonly lab: Lab,
    readonly obs: Observer,
    readonly profile: Profile,
    readonly lb1: LabNode,
    readonly lb2: LabNode,
    readonly client: LabNode,
  ) {}

  static async create(profile: Profile, prefix = 'tC'): Promise<Pair> {
    requireLabTools('tcpdump', 'ping');
    const lab = await Lab.create({
      prefix,
      nodes: [
        { name: 'lb1', ipv4: ['192.0.2.1/24'], ipv6: ['2001:db8::1/64'] },
        { name: 'lb2', ipv4: ['192.0.2.2/24'], ipv6: ['2001:db8::2/64'] },
        { name: 'client', ipv4: ['192.0.2.50/24'], ipv6: ['2001:db8::50/64'] },
      ],
    });
    try {
      const obs = await Observer.start(lab);
      return new Pair(lab, obs, profile, lab.node('lb1'), lab.node('lb2'), lab.node('client'));
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  get directors(): LabNode[] {
    return [this.lb1, this.lb2];
  }

  other(node: LabNode): LabNode {
    return node === this.lb1 ? this.lb2 : this.lb1;
  }

  /** The director's VRRP instance VI_1 for this profile, at `priority`, plus overrides. */
  spec(node: LabNode, priority: number, extra: Partial<VrrpInstanceSpec> = {}): DirectorSpec {
    const p = this.profile;
    const peer = this.other(node);
    return {
      routerId: node.name,
      instances: [{
        name: 'VI_1', vrid: 51, version: p.version, priority, advertInt: p.advertInt,
        ...(p.authPass !== undefined ? { authPass: p.authPass } : {}),
        ...(p.unicast ? { unicastSrcIp: node.ipv4[0]!, unicastPeers: [peer.ipv4[0]!] } : {}),
        vips: [p.vipCidr],
        ...extra,
      }],
    };
  }

  async startTandem(node: LabNode, priority: number, extra: Partial<VrrpInstanceSpec> = {}): Promise<Tandem> {
    requireTandemBuilt();
    return Tandem.start(this.lab, node, this.spec(node, priority, extra));
  }

  async startKeepalived(node: LabNode, priority: number, extra: Partial<VrrpInstanceSpec> = {}): Promise<Keepalived> {
    return Keepalived.start(this.lab, node, this.spec(node, priority, extra));
  }

  /** Source address of a director's adverts (v3 over IPv6 uses the link-local, RFC 5798 §5.1.2.1). */
  src(node: LabNode): string {
    return this.profile.family === 4 ? node.ipv4[0]! : node.linkLocal;
  }

  /** Master_Down_Interval in ms for a backup at `priority`. */
  mdiMs(priority: number): number {
    return masterDownIntervalS(this.profile.version, priority, this.profile.advertInt) * 1000;
  }

  /** A generous bound for a takeover by a backup at `priority` (a correctness test, not timing). */
  takeoverMs(priority: number): number {
    return this.mdiMs(priority) + 5000;
  }

  /**
   * Asserts that the VIP is on exactly `expected` (or on none of the directors when null),
   * giving the daemons a few seconds to finish adding/removing it after a state change.
   */
  async expectVipOn(expected: LabNode | null, step: string): Promise<void> {
    const want = expected ? [expected.name] : [];
    let holders: string[] = [];
    try {
      await waitFor(async () => {
        holders = await this.lab.holders(this.profile.vip, this.directors);
        return holders.join(',') === want.join(',');
      }, { timeoutMs: 5000, intervalMs: 50, what: `VIP on [${want.join(',')}]` });
    } catch {
      assert.fail(`${step}: VIP ${this.profile.vip} should be on exactly [${want.join(', ')}], is on [${holders.join(', ')}]`);
    }
  }

  /** The client talks to the VIP once, so it has a neighbour entry for it. */
  async clientPingsVip(): Promise<void> {
    const r = await this.lab.exec(this.client, ['ping', '-c', '1', '-W', '2', this.profile.vip], { allowFail: true });
    assert.equal(r.code, 0, `client could not ping the VIP ${this.profile.vip}: ${r.stdout}${r.stderr}`);
  }

  /**
   * Waits until the client's neighbour entry for the VIP carries `node`'s MAC. Only the new
   * master's gratuitous ARP / unsolicited NA can change an existing entry without the client
   * sending anything.
   */
  async expectClientNeighbour(node: LabNode, step: string, timeoutMs = 5000): Promise<void> {
    let last: unknown = null;
    try {
      await waitFor(async () => {
        last = await this.lab.neighbour(this.client, this.profile.vip);
        return (last as { lladdr: string | null } | null)?.lladdr === node.mac;
      }, { timeoutMs, intervalMs: 50, what: `client neighbour entry -> ${node.name}` });
    } catch {
      assert.fail(`${step}: client's neighbour entry for ${this.profile.vip} should be ${node.name}'s MAC ${node.mac}, is ${JSON.stringify(last)}`);
    }
  }

  /** A crash leaves the VIP behind; a rebooted director would come back without it. */
  async forgetVip(node: LabNode): Promise<void> {
    await this.lab.removeAddress(node, this.profile.vipCidr);
  }

  async destroy(): Promise<void> {
    await this.obs.stop().catch(() => undefined);
    await this.lab.destroy();
  }
}
