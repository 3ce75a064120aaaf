// Table operations -> lines for `ipvsadm -R` (one ipvsadm command line per line), pure.
// Facts measured with ipvsadm 1.31 on Linux 6.1 (test/fixtures/ipvs/README.md):
// - feed the lines to `ipvsadm -R`, NOT to the `ipvsadm-restore` wrapper: the wrapper runs
//   `ipvsadm -C` first and flushes the whole table, foreign services included;
// - a line the kernel refuses ("Service already exists", "No such destination") is reported on
//   stderr and the batch goes on (exit status 255 at the end); a line ipvsadm cannot *parse*
//   ("illegal real server address[:port]") stops the batch there (exit status 2). So this module
//   refuses (throws RangeError) to render anything ipvsadm might not parse;
// - an IPv6 real server needs its port: `[2001:db8::1]` alone is refused, `[2001:db8::1]:0` works;
// - -E and -e replace every setting: -E without -p drops persistence, -e without --tun-type
//   resets the tunnel to ipip. So edits always carry the complete entry.
import { hostPort, type RealServer, type ServiceAddress, type VirtualService } from '../../config/lbModel.js';
import { prefixToNetmask } from '../../ip/address.js';
import type { TableOp } from '../reconcile.js';

const FORWARDING_FLAG = { NAT: '-m', DR: '-g', TUN: '-i' } as const;
const NAME = /^[a-z0-9][a-z0-9_-]{0,15}$/;
const MAX_PERSISTENCE_S = 86400 * 31;

export function renderOps(ops: readonly TableOp[]): string {
  return ops.map(renderOp).map((l) => `${l}\n`).join('');
}

export function renderOp(op: TableOp): string {
  switch (op.op) {
    case 'add_service': return `-A ${serviceArgs(op.service)}`;
    case 'edit_service': return `-E ${serviceArgs(op.service)}`;
    case 'delete_service': return `-D ${serviceSpec(op.service.id)}`;
    case 'add_dest': return `-a ${serviceSpec(op.service)} ${destArgs(op.service, op.dest)}`;
    case 'edit_dest': return `-e ${serviceSpec(op.service)} ${destArgs(op.service, op.dest)}`;
    case 'delete_dest': return `-d ${serviceSpec(op.service)} -r ${destAddress(op.dest)}`;
  }
}

/** `-t 192.0.2.10:80`, `-u [2001:db8::10]:53`, `--sctp-service ...`, `-f 1`, `-f 1 -6`. */
export function serviceSpec(id: ServiceAddress): string {
  if (id.kind === 'fwmark') {
    check(Number.isInteger(id.fwmark) && id.fwmark >= 1 && id.fwmark <= 0xffffffff, `fwmark ${id.fwmark}`);
    return id.family === 6 ? `-f ${id.fwmark} -6` : `-f ${id.fwmark}`;
  }
  checkPort(id.port, 1);
  checkAddress(id.address, id.family);
  const flag = id.protocol === 'TCP' ? '-t' : id.protocol === 'UDP' ? '-u' : '--sctp-service';
  return `${flag} ${hostPort(id.address, id.port)}`;
}

function serviceArgs(s: VirtualService): string {
  check(NAME.test(s.scheduler), `scheduler ${JSON.stringify(s.scheduler)}`);
  let out = `${serviceSpec(s.id)} -s ${s.scheduler}`;
  if (s.persistence) {
    const { timeoutS, netmaskPrefix } = s.persistence;
    check(Number.isInteger(timeoutS) && timeoutS >= 1 && timeoutS <= MAX_PERSISTENCE_S, `persistence timeout ${timeoutS}`);
    out += ` -p ${timeoutS}`;
    const full = s.id.family === 6 ? 128 : 32;
    check(Number.isInteger(netmaskPrefix) && netmaskPrefix >= (s.id.family === 6 ? 1 : 0) && netmaskPrefix <= full, `netmask /${netmaskPrefix}`);
    if (netmaskPrefix !== full) out += ` -M ${s.id.family === 6 ? netmaskPrefix : prefixToNetmask(netmaskPrefix)}`;
  }
  if (s.pe !== null) {
    check(NAME.test(s.pe), `persistence engine ${JSON.stringify(s.pe)}`);
    out += ` --pe ${s.pe}`;
  }
  if (s.ops) {
    // ipvsadm refuses -o for anything but UDP, and that refusal is a parse error (stops the batch).
    check(s.id.kind === 'inet' && s.id.protocol === 'UDP', 'one-packet scheduling on a non-UDP service');
    out += ' -o';
  }
  if (s.schedFlags.length > 0) {
    for (const f of s.schedFlags) check(/^[a-z0-9-]+$/.test(f), `scheduler flag ${JSON.stringify(f)}`);
    out += ` -b ${s.schedFlags.join(',')}`;
  }
  return out;
}

function destArgs(service: ServiceAddress, d: RealServer): string {
  check(Number.isInteger(d.weight) && d.weight >= 0 && d.weight <= 0x7fffffff, `weight ${d.weight}`);
  check(d.family === service.family || d.forwarding === 'TUN', `IPv${d.family} real server in an IPv${service.family} service`);
  let out = `-r ${destAddress(d)} ${FORWARDING_FLAG[d.forwarding]} -w ${d.weight}`;
  const t = d.tunnel;
  if (d.forwarding === 'TUN' && t && t.type !== 'ipip') {
    out += ` --tun-type ${t.type}`;
    if (t.type === 'gue') {
      checkPort(t.port, 1);
      out += ` --tun-port ${t.port}`;
    }
    out += ` --tun-${t.csum}`;
  }
  return out;
}

/** Always with the port: ipvsadm refuses a bracketed IPv6 address without one. */
function destAddress(d: RealServer): string {
  checkAddress(d.address, d.family);
  checkPort(d.port, 0);
  return hostPort(d.address, d.port);
}

function checkPort(port: number, min: number): void {
  check(Number.isInteger(port) && port >= min && port <= 65535, `port ${port}`);
}

function checkAddress(address: string, family: 4 | 6): void {
  const ok = family === 4 ? /^\d{1,3}(\.\d{1,3}){3}$/.test(address) : /^[0-9a-f:.]+$/.test(address) && address.includes(':');
  check(ok, `IPv${family} address ${JSON.stringify(address)}`);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`ipvsadm cannot take ${what}; refusing to render it (a line ipvsadm cannot parse stops the whole batch)`);
}
