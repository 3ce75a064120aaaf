// The loopback endpoints the check benchmarks use (bench:checks, its engine-only variant and
// bench:vrrp-load): one address per endpoint, one listener each in `--role server`.

/** Endpoint i -> 127.(10+a).b.c, c in 1..250: avoids .0 and .255, 62,500 addresses per /16. */
export function endpointAddress(i: number): string {
  const c = 1 + (i % 250);
  const rest = Math.floor(i / 250);
  return `127.${10 + Math.floor(rest / 250)}.${rest % 250}.${c}`;
}
