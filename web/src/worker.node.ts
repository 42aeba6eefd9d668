// Worker entry for Node (worker_threads).
import { parentPort } from 'node:worker_threads';
import createEnfModule from './enf_wasm.js';
import { createWorkerHandler } from './worker-core.js';

const port = parentPort!;
const handle = createWorkerHandler(
  createEnfModule,
  (reply, transfer) => port.postMessage(reply, transfer as never),
  () => process.exit(70),
);
port.on('message', (m) => void handle(m));
