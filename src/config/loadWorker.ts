// The worker side of loadOffThread.ts: load and validate one file, post the result back.
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfigFile } from './load.js';

parentPort!.postMessage(loadConfigFile((workerData as { path: string }).path));
