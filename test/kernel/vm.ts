// The kernel test tier's harness. This host's kernel has no IPVS, so tests that need the real
// IPVS table boot Debian's kernel (linux-image-amd64, which builds ip_vs as modules) under QEMU
// with software emulation (KVM fails here), mount the host's root read-only over 9p, `chroot`
// into it and run a shell script there as root: the host's node, ipvsadm, iproute2 and the
// project itself (same path) run unchanged against a kernel that has IPVS.
//
// Pieces: the kernel choice (newest /boot/vmlinuz-* whose modules include ip_vs), an initramfs
// (busybox-static, /init, the modules `modprobe --show-depends` lists, in its order) built once
// per kernel and input hash under /var/tmp/tandem-vm/, and `runInVm()` which boots it. Results
// come back through a second, writable 9p share (mount_tag=out): the script's stdout, stderr and
// exit code are separate files, so nothing has to be parsed out of the serial console, which is
// kept only for diagnostics and the boot-time marker.
//
// QEMU never outlives the test: a hard timeout SIGKILLs it, a process 'exit'/signal handler kills
// every live one, and it is started under `setpriv --pdeathsig KILL` so even a SIGKILLed node
// takes it down. The VM has no network device: its only traffic is inside namespaces the script
// makes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync,
  renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// What goes into the VM.

/** Every IPVS scheduler tandem's config accepts (keepalived's lb_algo values). */
export const IPVS_SCHEDULERS = [
  'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'sed', 'nq', 'fo', 'ovf', 'twos',
] as const;
export type IpvsScheduler = (typeof IPVS_SCHEDULERS)[number];

/**
 * Modules loaded at boot, besides the schedulers: the 9p/virtio stack that mounts the host, IPVS
 * and conntrack, and the link types tests build topologies from (ipip for lb_kind TUN).
 * Their dependencies come from `modprobe --show-depends`.
 */
export const VM_BASE_MODULES = [
  'virtio_pci', '9pnet_virtio', '9p', 'nf_conntrack', 'ip_vs', 'veth', 'bridge', 'dummy', 'ipip',
] as const;

/** Where initramfs images are cached, one sub-directory per kernel version. */
export const VM_CACHE_DIR = process.env.TANDEM_VM_CACHE ?? '/var/tmp/tandem-vm';

const PROJECT_ROOT = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
const QEMU = 'qemu-system-x86_64';
const BUSYBOX = '/bin/busybox';
/** Mount point of the writable share inside the chroot (/run is a tmpfs there). */
const GUEST_OUT = '/run/tandem-vm';
const BOOT_MARKER = 'TANDEM-VM-BOOTED';
const ERROR_MARKER = 'TANDEM-VM-ERROR';
const CONSOLE_KEEP_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Kernel choice and preconditions.

/** Orders kernel versions like `sort -V` (numeric runs compared as numbers). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

function ipvsModuleFile(kver: string): string | undefined {
  const dir = `/lib/modules/${kver}/kernel/net/netfilter/ipvs`;
  if (!existsSync(dir)) return undefined;
  const f = readdirSync(dir).find((n) => /^ip_vs\.ko(\.(xz|zst|gz))?$/.test(n));
  return f === undefined ? undefined : join(dir, f);
}

/** The newest /boot/vmlinuz-* whose /lib/modules has ip_vs (same rule as scripts/vm-deps.sh). */
export function chooseKernel(): string | undefined {
  if (!existsSync('/boot')) return undefined;
  const versions = readdirSync('/boot')
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .filter((v) => ipvsModuleFile(v) !== undefined)
    .sort(compareVersions);
  return versions.at(-1);
}

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** True when the ELF file has no PT_INTERP program header (needs no dynamic loader). */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Whether the VM can boot here, and with which kernel; `why` names what is missing. */
export function vmAvailable(): { ok: true; kernel: string } | { ok: false; why: string } {
  const fix = 'run scripts/vm-deps.sh (apt-get install qemu-system-x86 linux-image-amd64 busybox-static ipvsadm)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, why: 'the VM harness needs root (it shares / into the VM)' };
  if (!onPath(QEMU)) return { ok: false, why: `${QEMU} is not installed: ${fix}` };
  if (!onPath('setpriv')) return { ok: false, why: 'setpriv (util-linux) is not installed' };
  if (!onPath('modprobe')) return { ok: false, why: 'modprobe (kmod) is not installed' };
  if (!onPath('ipvsadm')) return { ok: false, why: `ipvsadm is not installed: ${fix}` };
  const kernel = chooseKernel();
  if (kernel === undefined) return { ok: false, why: `no /boot/vmlinuz-* with ip_vs modules under /lib/modules: ${fix}` };
  if (!existsSync(BUSYBOX) || !isStaticElf(BUSYBOX)) return { ok: false, why: `${BUSYBOX} is missing or not statically linked: ${fix}` };
  return { ok: true, kernel };
}

function requireVm(): string {
  const a = vmAvailable();
  if (!a.ok) throw new Error(`kernel test tier cannot run: ${a.why}`);
  return a.kernel;
}

/** Schedulers whose CONFIG_IP_VS_<NAME> is built (=m or =y) in the kernel's /boot/config. */
export function schedulersBuilt(kver: string): IpvsScheduler[] {
  const config = readFileSync(`/boot/config-${kver}`, 'utf8');
  return IPVS_SCHEDULERS.filter((s) => new RegExp(`^CONFIG_IP_VS_${s.toUpperCase()}=[my]$`, 'm').test(config));
}

// ---------------------------------------------------------------------------------------------
// The initramfs.

interface ModuleLoad { file: string; args: string }

/** `modprobe --show-depends` for each module, in load order, each file once. */
function modulePlan(kver: string, modules: readonly string[]): ModuleLoad[] {
  const plan: ModuleLoad[] = [];
  const seen = new Set<string>();
  for (const m of modules) {
    const r = spawnSync('modprobe', ['-S', kver, '--show-depends', m], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`modprobe -S ${kver} --show-depends ${m} failed: ${r.stderr.trim()}`);
    for (const line of r.stdout.split('\n')) {
      const t = line.trim();
      if (t.startsWith('builtin ') || t === '') continue;
      const mm = /^insmod (\S+)\s*(.*)$/.exec(t);
      if (!mm) throw new Error(`unexpected modprobe output for ${m}: ${t}`);
      const file = mm[1]!;
      if (seen.has(file)) continue;
      seen.add(file);
      plan.push({ file, args: mm[2]!.trim() });
    }
  }
  return plan;
}

/** The module as an uncompressed .ko (busybox insmod takes the plain ELF). */
function moduleBytes(file: string): Buffer {
  if (file.endsWith('.ko')) return readFileSync(file);
  if (file.endsWith('.ko.gz')) return gunzipSync(readFileSync(file));
  const tool = file.endsWith('.ko.xz') ? 'xz' : file.endsWith('.ko.zst') ? 'zstd' : undefined;
  if (tool === undefined) throw new Error(`unknown module format: ${file}`);
  const r = spawnSync(tool, ['-dc', file], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${tool} -dc ${file} failed (is ${tool} installed?)`);
  return r.stdout;
}

/**
 * PID 1 inside the VM (busybox sh). It loads the modules, mounts the host read-only at /host and
 * the result share at /host/run/tandem-vm, gives the chroot its own proc/sys/dev and tmpfs
 * /tmp, /run, /var/tmp, brings loopback up, runs the host-written wrapper in the chroot, then
 * powers off. Any failure is printed with ERROR_MARKER and ends the VM at once.
 * The host share is read-only, so cache=loose is safe for one boot and it matters: measured under
 * TCG, a second `node -e 1` took 0.5 s with it and 5.5 s without (every lookup a 9p round trip).
 */
const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /host /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
fail() { echo "${ERROR_MARKER} $*"; sync; poweroff -f; sleep 5; }
mount -t proc proc /proc || fail mount proc
mount -t sysfs sysfs /sys || fail mount sysfs
mount -t devtmpfs devtmpfs /dev || fail mount devtmpfs
while read -r ko args; do
  insmod "/modules/$ko" $args || fail "insmod $ko"
done < /modules/order
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $o,ro,cache=loose host /host || fail "mount 9p host"
mount -t proc proc /host/proc || fail mount host proc
mount -t sysfs sysfs /host/sys || fail mount host sys
mount -t devtmpfs devtmpfs /host/dev || fail mount host dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts || fail mount devpts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm || fail mount shm
# A project checked out under /tmp, /var/tmp or /run (CI clones often are) would be hidden by the
# tmpfs mounts below: keep a bind mount of it aside and move it back on top afterwards.
proj=$(sed -n 's/.*tandem\\.project=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
case "$proj" in
  /tmp/*|/var/tmp/*|/run/*) mkdir -p /keep && mount -o bind "/host$proj" /keep || fail "bind $proj" ;;
  *) proj="" ;;
esac
mount -t tmpfs -o mode=1777 tmpfs /host/tmp || fail mount tmp
mount -t tmpfs -o mode=1777 tmpfs /host/var/tmp || fail mount var/tmp
mount -t tmpfs -o mode=755 tmpfs /host/run || fail mount run
if [ -n "$proj" ]; then mkdir -p "/host$proj" && mount -o move /keep "/host$proj" || fail "move $proj"; fi
mkdir -p /host${GUEST_OUT}
mount -t 9p -o $o out /host${GUEST_OUT} || fail "mount 9p out"
ip link set lo up || fail "lo up"
echo ${BOOT_MARKER}
chroot /host /bin/sh ${GUEST_OUT}/wrapper.sh || fail "chroot wrapper exited $?"
sync
poweroff -f
sleep 5
`;

/** A cpio "newc" archive (the kernel's initramfs format), written here to need no cpio tool. */
class CpioWriter {
  private readonly parts: Buffer[] = [];
  private ino = 1;

  dir(name: string): void { this.entry(name, 0o040755, Buffer.alloc(0)); }
  file(name: string, data: Buffer, mode = 0o100644): void { this.entry(name, mode, data); }
  symlink(name: string, target: string): void { this.entry(name, 0o120777, Buffer.from(target)); }
  charDevice(name: string, major: number, minor: number): void {
    this.entry(name, 0o020600, Buffer.alloc(0), major, minor);
  }

  finish(): Buffer {
    this.entry('TRAILER!!!', 0, Buffer.alloc(0));
    return Buffer.concat(this.parts);
  }

  private entry(name: string, mode: number, data: Buffer, rdevMajor = 0, rdevMinor = 0): void {
    const hex = (n: number): string => n.toString(16).padStart(8, '0');
    const nameBytes = Buffer.from(`${name}\0`);
    const header = '070701' + [
      this.ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0,
    ].map(hex).join('');
    this.parts.push(Buffer.from(header, 'ascii'), nameBytes, pad4(110 + nameBytes.length), data, pad4(data.length));
  }
}

function pad4(n: number): Buffer { return Buffer.alloc((4 - (n % 4)) % 4); }

export interface Initramfs { path: string; kernel: string; modules: number; built: boolean; buildMs: number }

/**
 * Returns the cached initramfs for `kver`, building it when no image matches the current inputs
 * (init script, module plan, busybox and module files). Concurrent builders are safe: each writes
 * a private temp file and renames it into place.
 */
export function ensureInitramfs(kver: string): Initramfs {
  const t0 = Date.now();
  const schedulers = schedulersBuilt(kver).map((s) => `ip_vs_${s}`);
  const plan = modulePlan(kver, [...VM_BASE_MODULES, ...schedulers]);
  const hash = createHash('sha256').update(INIT_SCRIPT);
  for (const f of [BUSYBOX, ...plan.map((p) => p.file)]) {
    const st = statSync(f);
    hash.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  for (const p of plan) hash.update(`${p.file} ${p.args}\n`);
  const dir = join(VM_CACHE_DIR, kver);
  const path = join(dir, `initramfs-${hash.digest('hex').slice(0, 16)}.cpio.gz`);
  if (existsSync(path)) return { path, kernel: kver, modules: plan.length, built: false, buildMs: Date.now() - t0 };

  const cpio = new CpioWriter();
  for (const d of ['bin', 'dev', 'proc', 'sys', 'host', 'modules', 'sbin', 'usr', 'usr/bin', 'usr/sbin']) cpio.dir(d);
  cpio.charDevice('dev/console', 5, 1);
  cpio.charDevice('dev/null', 1, 3);
  cpio.file('bin/busybox', readFileSync(BUSYBOX), 0o100755);
  cpio.symlink('bin/sh', 'busybox');
  cpio.file('init', Buffer.from(INIT_SCRIPT), 0o100755);
  const order: string[] = [];
  for (const p of plan) {
    const ko = basename(p.file).replace(/\.ko(\.\w+)?$/, '.ko');
    cpio.file(`modules/${ko}`, moduleBytes(p.file));
    order.push(p.args === '' ? ko : `${ko} ${p.args}`);
  }
  cpio.file('modules/order', Buffer.from(order.join('\n') + '\n'));
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, gzipSync(cpio.finish(), { level: 6 }));
  renameSync(tmp, path);
  // Images from older inputs are dead weight; an hour's grace spares one a concurrent run may boot.
  for (const name of readdirSync(dir)) {
    const old = join(dir, name);
    if (/^initramfs-\w+\.cpio\.gz$/.test(name) && old !== path && Date.now() - statSync(old).mtimeMs > 3_600_000) rmSync(old, { force: true });
  }
  return { path, kernel: kver, modules: plan.length, built: true, buildMs: Date.now() - t0 };
}

// ---------------------------------------------------------------------------------------------
// The kernel image.

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const PAYLOAD_FORMATS = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), argv: ['xz', '-dc', '--single-stream'] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), argv: ['zstd', '-dc'] },
  { magic: Buffer.from([0x1f, 0x8b, 0x08]), argv: ['gzip', '-dc'] },
] as const;

/**
 * The kernel as an uncompressed ELF `vmlinux`, extracted once from the bzImage and cached, or
 * the bzImage itself when that fails. Why: QEMU boots an ELF with a PVH note (CONFIG_PVH=y in
 * Debian's kernel) straight into 64-bit code, skipping the firmware's real-mode path and the
 * bzImage's own xz decompression, which under TCG took ~3 s of a ~6 s boot (measured: kernel
 * first line 3.4 s after spawn with the bzImage, 0.5 s with the vmlinux).
 */
export function ensureKernelImage(kver: string): string {
  const bz = `/boot/vmlinuz-${kver}`;
  const st = statSync(bz);
  const dir = join(VM_CACHE_DIR, kver);
  const path = join(dir, `vmlinux-${st.size}-${Math.floor(st.mtimeMs)}`);
  if (existsSync(path)) return path;
  const image = readFileSync(bz);
  for (const f of PAYLOAD_FORMATS) {
    // The payload is the first stream with this magic; stop at the first one that yields an ELF.
    for (let at = image.indexOf(f.magic); at >= 0; at = image.indexOf(f.magic, at + 1)) {
      const r = spawnSync(f.argv[0], f.argv.slice(1), { input: image.subarray(at), maxBuffer: 512 << 20 });
      const out = r.stdout;
      if (out && out.length > 1 << 20 && out.subarray(0, 4).equals(ELF_MAGIC)) {
        mkdirSync(dir, { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, out);
        renameSync(tmp, path);
        return path;
      }
    }
  }
  return bz;
}

// ---------------------------------------------------------------------------------------------
// Running a script in the VM.

export interface VmRunOptions {
  /** Hard limit for the whole run (boot included); QEMU is SIGKILLed when it passes. Default 120 s. */
  timeoutMs?: number;
  /** Guest memory. Default 1024 MiB. */
  memMb?: number;
  /** Extra environment for the script (names must be shell identifiers). */
  env?: Record<string, string>;
  /** Working directory inside the chroot. Default: the project root (same path as on the host). */
  cwd?: string;
  /** Guest CPUs. Default 2 (TCG runs one host thread per vCPU). */
  cpus?: number;
}

export interface VmRunResult {
  /** The script's exit status (bash's $?: 128+N when killed by signal N). */
  code: number;
  stdout: string;
  stderr: string;
  /** From spawning QEMU to the VM being ready to run the script. */
  bootMs: number;
  /** From spawning QEMU to QEMU's exit. */
  totalMs: number;
  /** The serial console (kernel and init messages), for diagnostics. */
  console: string;
}

/** Thrown when the VM could not run the script to its end; the message carries the console tail. */
export class VmError extends Error {
  constructor(message: string, readonly console: string, readonly stdout: string, readonly stderr: string) {
    super(`${message}\n--- stdout (tail) ---\n${tail(stdout)}\n--- stderr (tail) ---\n${tail(stderr)}\n--- VM console (tail) ---\n${tail(console)}`);
    this.name = 'VmError';
  }
}

function tail(s: string, lines = 40): string {
  return s.split('\n').slice(-lines).join('\n');
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script the chroot runs: environment, cwd, then the test script with its output in files. */
function wrapperScript(cwd: string, env: Record<string, string>): string {
  const exports = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`runInVm: bad environment variable name ${JSON.stringify(k)}`);
    return `export ${k}=${shellQuote(v)}`;
  });
  return [
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'export HOME=/tmp LANG=C.UTF-8 TANDEM_IN_VM=1',
    ...exports,
    `cd ${shellQuote(cwd)} || { echo "cd ${cwd} failed" > ${GUEST_OUT}/stderr; echo 127 > ${GUEST_OUT}/rc; exit 0; }`,
    `/bin/bash ${GUEST_OUT}/script.sh < /dev/null > ${GUEST_OUT}/stdout 2> ${GUEST_OUT}/stderr`,
    // rc is written last, through a rename, so its presence means the script finished.
    `echo $? > ${GUEST_OUT}/rc.tmp && mv ${GUEST_OUT}/rc.tmp ${GUEST_OUT}/rc`,
    '',
  ].join('\n');
}

const liveQemus = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let handlersInstalled = false;

function killAllVms(): void {
  for (const p of liveQemus) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
  liveQemus.clear();
  if (!process.env.TANDEM_TEST_KEEP) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllVms);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllVms();
      process.kill(process.pid, sig);
    });
  }
}

/** How many QEMU processes this process has running (for tests that check none leak). */
export function liveVmCount(): number { return liveQemus.size; }

/** Kills every QEMU this process started (for `after()` hooks; runs also happen on exit). */
export function killAllVmsNow(): void { killAllVms(); }

const OUT_DIR_PREFIX = 'tandem-vm-out-';

/** Removes result directories left by runs whose process died by SIGKILL (no handler ran). */
function removeStaleOutDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${OUT_DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function readIf(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/**
 * Boots the IPVS kernel, runs `script` with bash as root in a chroot of the host's root (the
 * project at the same path, /tmp /run /var/tmp writable tmpfs, loopback up) and returns its exit
 * code and output. Throws VmError if the VM fails to boot, dies, or passes `timeoutMs`, and a
 * plain Error if QEMU, the kernel or busybox-static is missing.
 */
export async function runInVm(script: string, opts: VmRunOptions = {}): Promise<VmRunResult> {
  const kernel = requireVm();
  const initrd = ensureInitramfs(kernel);
  const kernelImage = ensureKernelImage(kernel);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  installHandlers();
  removeStaleOutDirs();
  const outDir = mkdtempSync(join(tmpdir(), `${OUT_DIR_PREFIX}${process.pid}-`));
  liveDirs.add(outDir);
  writeFileSync(join(outDir, 'script.sh'), script);
  writeFileSync(join(outDir, 'wrapper.sh'), wrapperScript(opts.cwd ?? PROJECT_ROOT, opts.env ?? {}));

  const args = [
    '--pdeathsig', 'KILL', '--', QEMU,
    '-accel', 'tcg', '-cpu', 'max', '-smp', String(opts.cpus ?? 2), '-m', String(opts.memMb ?? 1024),
    // No default devices: no NIC (the VM's traffic stays in its own namespaces), no VGA, no disks.
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
    '-no-reboot',
    '-kernel', kernelImage, '-initrd', initrd.path,
    // tsc=reliable: no clocksource watchdog, which under TCG on a busy host can flag the TSC and
    // switch clocks mid-test; i8042.*: no PS/2 probing (there is no keyboard), which costs time.
    '-append', 'console=ttyS0 quiet loglevel=3 panic=-1 random.trust_cpu=on tsc=reliable no_timer_check i8042.noaux i8042.nokbd' +
      (/^\/[\w./-]+$/.test(PROJECT_ROOT) ? ` tandem.project=${PROJECT_ROOT}` : ''),
    '-virtfs', 'local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${outDir},mount_tag=out,security_model=none`,
  ];
  const t0 = Date.now();
  const child = spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveQemus.add(child);
  let consoleText = '';
  let bootMs = -1;
  let guestError: string | undefined;
  const onData = (chunk: Buffer): void => {
    consoleText += chunk.toString('utf8').replace(/\r/g, '');
    if (consoleText.length > CONSOLE_KEEP_BYTES * 2) consoleText = consoleText.slice(-CONSOLE_KEEP_BYTES);
    if (bootMs < 0 && consoleText.includes(BOOT_MARKER)) bootMs = Date.now() - t0;
    if (guestError === undefined) {
      const m = new RegExp(`${ERROR_MARKER} (.*)`).exec(consoleText);
      if (m) guestError = m[1];
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  let timedOut = false;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); resolve({ code: null, signal: null, spawnError: e }); });
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
  liveQemus.delete(child);
  const totalMs = Date.now() - t0;
  const stdout = readIf(join(outDir, 'stdout'));
  const stderr = readIf(join(outDir, 'stderr'));
  const rcText = readIf(join(outDir, 'rc')).trim();
  if (!process.env.TANDEM_TEST_KEEP) rmSync(outDir, { recursive: true, force: true });
  liveDirs.delete(outDir);

  if (exit.spawnError) throw new VmError(`could not start ${QEMU}: ${exit.spawnError.message}`, consoleText, stdout, stderr);
  if (timedOut) throw new VmError(`VM run passed its ${timeoutMs} ms limit and was killed (booted: ${bootMs >= 0 ? `${bootMs} ms` : 'no'})`, consoleText, stdout, stderr);
  if (guestError !== undefined) throw new VmError(`VM init failed: ${guestError}`, consoleText, stdout, stderr);
  if (!/^\d+$/.test(rcText)) {
    throw new VmError(`VM ended (qemu exit ${exit.code ?? exit.signal}) without the script's exit code`, consoleText, stdout, stderr);
  }
  return { code: Number(rcText), stdout, stderr, bootMs, totalMs, console: consoleText };
}

/**
 * Boots the VM, runs `script` (which starts an agent printing one `AGENT-RESULT {json}` line) and
 * returns the parsed result; fails loudly when the tier cannot run or the agent did not report.
 */
export async function runAgentInVm<T>(script: string, opts: VmRunOptions): Promise<T> {
  const a = vmAvailable();
  if (!a.ok) throw new Error(`kernel test tier cannot run: ${a.why}`);
  const run = await runInVm(script, opts);
  const m = /^AGENT-RESULT (.*)$/m.exec(run.stdout);
  if (run.code !== 0 || !m) {
    throw new Error(`exit ${run.code}\nstdout:\n${run.stdout.slice(-4000)}\nstderr:\n${run.stderr.slice(-4000)}`);
  }
  console.log(`# VM boot ${run.bootMs} ms, whole run ${run.totalMs} ms`);
  return JSON.parse(m[1]!) as T;
}
