// The typed, resolved model of `virtual_servers` (issue 3): what the checkers, the desired-table
// computation and the API consume. Every default is already applied and every duration is in
// milliseconds (Ms); inheritance (virtual server -> real server -> check) is resolved.
import type { Family } from '../ip/address.js';

// The virtual service and real server vocabulary, shared by the config, the LB tables (lb/model.ts)
// and the alert events.
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
/** NAT = masquerading (-m), DR = direct routing / gatewaying (-g), TUN = IP tunnelling (-i). */
export type Forwarding = 'NAT' | 'DR' | 'TUN';

/** Every IPVS scheduler Linux has (net/netfilter/ipvs/ip_vs_*.c). `twos` needs Linux 6.2+;
 *  Debian 12's 6.1 kernel lacks it (CONFIG_IP_VS_TWOS is not set). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'sed', 'nq', 'fo', 'ovf', 'twos'] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

/** What identifies a virtual service in the kernel: (family, protocol, address, port) or
 *  (family, fwmark). */
export type ServiceAddress =
  | { kind: 'inet'; family: Family; protocol: Protocol; address: string; port: number }
  | { kind: 'fwmark'; family: Family; fwmark: number };

export interface Persistence {
  /** ipvsadm -p: 1..2678400 seconds. */
  timeoutS: number;
  /** ipvsadm -M as a prefix length (/32 or /128 = per client address, the kernel's default). */
  netmaskPrefix: number;
}

export interface VirtualService {
  id: ServiceAddress;
  /** A string, not Scheduler: a foreign service may use a scheduler tandem does not know. */
  scheduler: string;
  persistence: Persistence | null;
  /** Persistence engine (ipvsadm --pe), e.g. `sip`. */
  pe: string | null;
  /** One-packet scheduling (ipvsadm -o), UDP only. */
  ops: boolean;
  /** Scheduler flags (ipvsadm -b), sorted: sh-fallback, sh-port, mh-fallback, mh-port, flag-N. */
  schedFlags: readonly string[];
  /** tandem-only, nft backend only (`nft_masquerade`): also SNAT (masquerade) the client's
   *  connections to the real servers, like LVS FULLNAT. Absent = false. */
  masquerade?: boolean;
}

export type TunnelCsum = 'nocsum' | 'csum' | 'remcsum';
/** Tunnel encapsulation of a TUN real server (ipvsadm --tun-type, Linux 5.3+). */
export type Tunnel =
  | { type: 'ipip' }
  | { type: 'gue'; port: number; csum: TunnelCsum }
  | { type: 'gre'; csum: TunnelCsum };

export interface RealServer {
  family: Family;
  address: string;
  /** 0 for a real server of a fwmark service given without a port. */
  port: number;
  forwarding: Forwarding;
  /** 0..65535 here; 0 = in the table but given no new connections (inhibit_on_failure). */
  weight: number;
  /** TUN only; null for NAT and DR. */
  tunnel: Tunnel | null;
}

/** The service's name as `ipvsadm -Ln` prints it: `TCP 192.0.2.10:80`, `UDP [2001:db8::1]:53`,
 *  `FWM 1`, `FWM 1 IPv6`. Used as the map key, in logs, in plans and in the API. */
export function serviceKey(id: ServiceAddress): string {
  if (id.kind === 'fwmark') return id.family === 6 ? `FWM ${id.fwmark} IPv6` : `FWM ${id.fwmark}`;
  return `${id.protocol} ${hostPort(id.address, id.port)}`;
}

/** keepalived's format_vs() for a block that names a virtual_server_group (check/check_data.c):
 *  `[NAME]` (keepalived adds `:PORT`, the block's own port, which a group block leaves at 0). */
export function groupLabel(name: string): string {
  return `[${name}]`;
}

/** `198.51.100.11:80`, `[2001:db8::11]:80`. */
export function destKey(d: { address: string; port: number }): string {
  return hostPort(d.address, d.port);
}

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The schedulers the nft backend renders (lb/nft/render.ts's header says how). Here, beside
 *  SCHEDULERS, because the config checks a service against it (config/lbBackend.ts). */
export const NFT_SCHEDULERS = ['rr', 'wrr', 'sh', 'dh'] as const;

export const CHECK_KINDS = [
  'tcp_check', 'http_get', 'ssl_get', 'dns_check', 'smtp_check', 'misc_check', 'ping_check', 'udp_check',
] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;
export type DnsType = (typeof DNS_TYPES)[number];

/** Parameters every checker shares (keepalived's checker keywords). */
export interface CheckCommon {
  kind: CheckKind;
  /** Where the probe connects: connect_ip / connect_port, defaulting to the real server. */
  connectIp: string;
  connectPort: number;
  /** bindto / bind_port: local source of the probe. */
  bindTo: string | undefined;
  bindPort: number | undefined;
  /** connect_timeout (misc_check: misc_timeout). The probe gives up after this. */
  timeoutMs: number;
  /** Failed probes retried (delay_before_retry apart) before the check is declared down. */
  retry: number;
  delayBeforeRetryMs: number;
  delayLoopMs: number;
  /** The first probe waits a random time in [0, warmupMs) (keepalived `warmup`). */
  warmupMs: number;
  /** keepalived `alpha`: the check starts down and needs a success to come up. */
  alpha: boolean;
  /** Successes in a row needed to come back up (tandem extension; 1 = keepalived). */
  rise: number;
}

export interface HttpUrl {
  path: string;
  /** Inclusive ranges; keepalived's default is any 2xx. */
  statusCodes: ReadonlyArray<readonly [number, number]>;
  /** MD5 of the body, lower-case hex (what keepalived's genhash prints). */
  digest: string | undefined;
  virtualhost: string | undefined;
}

export type CheckConfig =
  | (CheckCommon & { kind: 'tcp_check' })
  | (CheckCommon & {
    kind: 'http_get' | 'ssl_get';
    urls: HttpUrl[];
    virtualhost: string | undefined;
    httpProtocol: '1.0' | '1.0C' | '1.1';
    /** ssl_get only (false for http_get): send the virtualhost as TLS SNI. */
    enableSni: boolean;
    /** ssl_get only: verify the server certificate (keepalived never does). */
    verifyCertificate: boolean;
  })
  | (CheckCommon & { kind: 'dns_check'; queryType: DnsType; queryName: string })
  | (CheckCommon & { kind: 'smtp_check'; heloName: string })
  | (CheckCommon & {
    kind: 'misc_check';
    /** Run without a shell. */
    argv: string[];
    /** misc_dynamic: exit 2..255 means up with weight exit-2. */
    dynamic: boolean;
    /** The check's own `user` (name or numeric uid), looked up when it runs. */
    user: string | undefined;
    /** Without a `user` of its own: global script_user's ids (keepalived check_misc.c
     *  misc_check_handler() starts every checker with default_script_uid/gid); undefined = as
     *  tandem itself. */
    defaultIds: { uid: number; gid: number } | undefined;
  })
  | (CheckCommon & { kind: 'ping_check' })
  | (CheckCommon & {
    kind: 'udp_check';
    /** Bytes sent, lower-case hex ('' = an empty datagram). Hex, not Uint8Array: the config is
     *  deep-frozen and a typed array with elements cannot be frozen. */
    payloadHex: string;
    /** false: up unless an ICMP error comes back; true: a reply is required. */
    requireReply: boolean;
    /** With requireReply: the reply must start with these bytes (hex). */
    replyPrefixHex: string | undefined;
  });

export interface RealServerConfig {
  /** realServerId(): `<service key> -> <dest key>`, e.g. `TCP 192.0.2.100:80 -> 198.51.100.11:80`. */
  id: string;
  /** The kernel entry this server becomes while up, with its configured weight. */
  dest: RealServer;
  inhibitOnFailure: boolean;
  checks: CheckConfig[];
  /** keepalived smtp_alert for this server's up/down, resolved by the loader. Optional only so
   *  hand-built models need not set it; absent means keepalived's default (on). */
  smtpAlert?: boolean;
  /** keepalived notify_up / notify_down: argv run without a shell (src/config/notifyScripts.ts). */
  notifyUp?: readonly string[];
  notifyDown?: readonly string[];
}

export interface SorryServerConfig {
  dest: RealServer;
  /** Kept in the table with weight 0 while not in use (keepalived sorry_server_inhibit). */
  inhibit: boolean;
}

export interface VirtualServerConfig {
  /** serviceKey(service.id): `TCP 192.0.2.100:80`, `FWM 1`. */
  key: string;
  family: Family;
  /** The kernel entry (scheduler, persistence ...). */
  service: VirtualService;
  /** Sum of the weights of live real servers needed for the real servers to be used. */
  quorum: number;
  hysteresis: number;
  sorryServer: SorryServerConfig | null;
  realServers: RealServerConfig[];
  /** keepalived smtp_alert for quorum changes, resolved by the loader; absent means off. */
  smtpAlert?: boolean;
  /** keepalived quorum_up / quorum_down: argv run without a shell (src/config/notifyScripts.ts). */
  quorumUp?: readonly string[];
  quorumDown?: readonly string[];
  /** The virtual_server_groups name this service is a member of (config/virtualServerGroups.ts):
   *  the group's services share their real servers' checks and raise one set of alerts. */
  group?: string;
}

/** `<service key> -> <dest key>`: one real server of one virtual service. */
export function realServerId(serviceKey: string, destKey: string): string {
  return `${serviceKey} -> ${destKey}`;
}
