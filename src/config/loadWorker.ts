// The worker side of loadOffThread.ts: load and validate one file, post the result back, with
// both backends' located errors (for global.backend: auto, src/config/lbBackend.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { deferredBackendErrors } from './lbBackend.js';
import { loadConfigFile } from './load.js';

const loaded = loadConfigFile((workerData as { path: string }).path);
parentPort!.postMessage({ loaded, backendErrors: loaded.ok ? deferredBackendErrors(loaded.config) : null });
