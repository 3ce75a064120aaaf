// Loading a config in a worker thread, for a reload: parsing and validating YAML is CPU-bound
// (10,000 real servers take ~1.1 s here, ~20 s under QEMU's software emulation) and on the main
// thread it would hold back VRRP adverts for as long, long enough for a backup with a short
// advert_int to declare the master dead. The worker only reads and validates; the result comes
// back as plain data (structured clone) and is frozen again here.
import { Worker } from 'node:worker_threads';
import { deepFreeze } from './model.js';
import type { LoadResult } from './load.js';

export function loadConfigFileOffThread(path: string, timeoutMs = 120_000): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./loadWorker.js', import.meta.url), { workerData: { path } });
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
      void worker.terminate();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`loading ${path} took more than ${timeoutMs} ms`))), timeoutMs);
    worker.once('message', (m: { loaded: LoadResult }) => finish(() => {
      if (!m.loaded.ok) return resolve(m.loaded);
      resolve({ ...m.loaded, config: deepFreeze(m.loaded.config) });
    }));
    worker.once('error', (e) => finish(() => reject(e)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the config loader exited (${code}) without a result`))));
  });
}
