// Checker merge (keepalived's open requests #2111 and #2358), the pure part: which checks are the
// same probe, and where each distinct probe's first run falls in its warmup window. A real server
// that appears in 20 virtual services with the same check is one target probed once per
// delay_loop, not 20 times; check/scheduler.ts runs one SharedCheck per distinct key and a Member
// per real server per service that reads its checks' verdicts.
//
// No clock, no timers, no I/O (the architecture test's rule for cores applies in spirit).
import type { CheckConfig } from '../config/lbModel.js';

/**
 * The identity of a probe: two checks with equal keys connect to the same place the same way and
 * are judged by the same rules, so one probe schedule and one per-check verdict serve both.
 *
 * It is the whole resolved CheckConfig, keys sorted: the loader has already resolved connect_ip /
 * connect_port to the real server's address when they are not given (config/virtualServers.ts),
 * so the target is in the check itself, with bindto / bind_port; and every other field either
 * changes what is sent and how the answer is judged (kind, url path/digest/status codes,
 * virtualhost, SNI, certificate checks, DNS query, HELO name, misc argv/user/uid, UDP payload)
 * or the verdict's timing (connect_timeout, retry, delay_before_retry, delay_loop, warmup, alpha,
 * rise, misc_dynamic). Nothing of the real server outside its check enters a probe (runProbe()
 * takes only the CheckConfig), so nothing else belongs in the key; in particular two services'
 * different weights or inhibit flags for the same server still share the probe.
 */
export function checkKey(check: CheckConfig): string {
  return stableJson(check);
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  // undefined fields are left out, as JSON.stringify does: `bindTo: undefined` and no bindTo
  // are the same probe.
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}

/**
 * The warmup jitter (verdict.ts `start`: the first probe runs at now + floor(jitter x warmupMs))
 * of the `position`-th of `count` checks starting together, given one draw `r` in [0, 1).
 *
 * Stratified: check k lands in the k-th of `count` equal slices of its window, at a random point
 * inside it, so `count` probes started at once are spread evenly over the window instead of
 * clumping as independent draws do (10,000 uniform draws over one second put up to ~25 starts in
 * some millisecond, against a mean of 10). HAProxy spreads the same way: src/check.c
 * start_check_task() sets each check's first expiry to `mininter * srvpos / nbcheck` (plus
 * spread-checks' random part in newer versions); keepalived draws warmup uniformly
 * (check_api.c register_checkers_thread()), which stratification keeps per check (each slice is
 * uniform and a check's slice is its position) while bounding the bursts. With count 1 it is
 * keepalived's draw unchanged.
 */
export function spreadJitter(position: number, count: number, r: number): number {
  if (count <= 0) return 0;
  const within = Math.min(Math.max(r, 0), 1 - Number.EPSILON);
  return Math.min((position + within) / count, 1 - Number.EPSILON);
}
