// The state snapshot file (--state-file): rewritten atomically (write + rename) at once after a
// state change, and at most every 100 ms for counter changes, so tests and scripts can read the
// daemon's view without a control socket.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface StateFileWriter {
  changed(urgent: boolean): void;
  flush(): void;
  close(): void;
}

export function createStateFileWriter(path: string | undefined, snapshot: () => unknown, onError: (e: Error) => void): StateFileWriter {
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Immediate | undefined;
  const flush = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    if (soon) { clearImmediate(soon); soon = undefined; }
    if (!path) return;
    try {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(snapshot(), null, 2) + '\n');
      renameSync(tmp, path);
    } catch (e) {
      onError(e as Error);
    }
  };
  return {
    flush,
    changed(urgent) {
      if (!path) return;
      // Urgent (a transition) still waits for the current tick, so it never delays an advert.
      if (urgent) soon ??= setImmediate(flush);
      else if (!timer) timer = setTimeout(flush, 100);
    },
    close() {
      if (timer) clearTimeout(timer);
      if (soon) clearImmediate(soon);
      timer = undefined;
      soon = undefined;
    },
  };
}

/** The service keys a previous run recorded as its own (`lb.owned` in its state file); [] when
 *  there is no file or it says nothing usable (a damaged file must not stop a start). */
export function readOwnedServices(path: string | undefined): string[] {
  if (!path) return [];
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { lb?: { owned?: unknown } | null };
    const owned = doc.lb?.owned;
    return Array.isArray(owned) ? owned.filter((k): k is string => typeof k === 'string' && k.length < 200) : [];
  } catch {
    return [];
  }
}
