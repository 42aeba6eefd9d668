// Worker entry for browsers (a module Web Worker).
import createEnfModule from './enf_wasm.js';
import { createWorkerHandler } from './worker-core.js';

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close(): void;
  onmessage: ((e: MessageEvent<Parameters<ReturnType<typeof createWorkerHandler>>[0]>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;
const handle = createWorkerHandler(
  createEnfModule,
  (reply, transfer) => scope.postMessage(reply, transfer ?? []),
  () => scope.close(),
);
scope.onmessage = (e) => void handle(e.data);
