// The worker side of loadOffThread.ts: load and validate one file, post the result back (plain
// data: both backends' located errors for global.backend auto travel in it, backendIssues).
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfigFile } from './load.js';

const loaded = loadConfigFile((workerData as { path: string }).path);
parentPort!.postMessage({ loaded });
